/* SPDX-License-Identifier: MIT */
/* The capture's public face: opens a source, reads packets through decoding, TCP reassembly
 * and pairing (wired together here), which hands exchanges to the recording pipeline, until
 * the source ends or the capture is stopped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/internal.h"

/* Flows are swept for idleness at most this often, in capture time. */
#define SWEEP_EVERY_US 1000000

struct rp_capture {
    struct rp__capture_ctx cx;
    const struct rp__source_ops *ops;
    void *src;
    char *name; /* the file or interface, for messages */
    uint64_t duration_ms;
    bool live;
};

rp_code rp_capture_open(const struct rp_capture_opts *opts, struct rp_capture **out,
                        struct rp_error *err)
{
    if (!opts->file == !opts->iface) {
        return rp_error_set(err, RP_EUSAGE, "capture needs a file or an interface, not both");
    }
    const struct rp__source_ops *ops = NULL;
    void *src = NULL;
    rp_code rc = opts->file ? rp__source_open_file(opts->file, opts->filter, &ops, &src, err)
                            : rp__source_open_live(opts->iface, opts->filter, &ops, &src, err);
    if (rc) {
        return rc;
    }
    struct rp_capture *c = rp_xcalloc(1, sizeof(*c));
    c->ops = ops;
    c->src = src;
    c->name = rp_xstrdup(opts->file ? opts->file : opts->iface);
    c->live = opts->iface != NULL;
    c->duration_ms = opts->duration_ms;
    c->cx.log = opts->log;
    c->cx.log_ud = opts->log_ud;
    c->cx.max_exchanges = opts->max_exchanges;
    *out = c;
    return RP_OK;
}

rp_code rp_capture_run(struct rp_capture *c, struct rp_intake *in, struct rp_error *err)
{
    struct rp__capture_ctx *cx = &c->cx;
    cx->in = in;
    struct rp__tcp *t = rp__tcp_new(cx, &rp__pair_ops);
    int linktype = c->ops->linktype(c->src);
    int64_t started = rp_now_us();
    int64_t last_ts = 0, last_sweep = 0;
    bool swept = false;
    rp_code rc = RP_OK;
    while (!cx->stop) {
        struct rp__packet pkt;
        enum rp__next what = RP__NEXT_END;
        struct rp_error e = {0};
        if (c->ops->next(c->src, &pkt, &what, &e)) {
            if (c->live) {
                rc = rp_error_set(err, e.code, "%s: %s", c->name, e.msg);
                break;
            }
            /* A file cut short (a capture killed mid-write) still gives what it holds. */
            rp__capture_log(cx, RP_LOG_WARN, "%s: stopped reading after %llu packets: %s", c->name,
                            (unsigned long long)cx->stats.packets, e.msg);
            break;
        }
        if (what == RP__NEXT_END) {
            break;
        }
        if (c->live && c->duration_ms && rp_now_us() - started >= (int64_t)c->duration_ms * 1000) {
            break;
        }
        if (what == RP__NEXT_NONE) {
            continue;
        }
        cx->stats.packets++;
        last_ts = pkt.ts_us;
        struct rp__segment seg;
        switch (rp__decode(linktype, &pkt, &seg)) {
        case RP__DEC_TCP:
            rp__tcp_segment(t, &seg);
            break;
        case RP__DEC_TRUNCATED:
            cx->stats.truncated++;
            break;
        case RP__DEC_FRAGMENT:
            if (!cx->stats.fragments) {
                rp__capture_log(cx, RP_LOG_WARN, "%s: IP fragments are not reassembled: skipped",
                                c->name);
            }
            cx->stats.fragments++;
            break;
        case RP__DEC_SKIP:
            cx->stats.skipped++;
            break;
        }
        if (!swept || pkt.ts_us - last_sweep >= SWEEP_EVERY_US || pkt.ts_us < last_sweep) {
            rp__tcp_sweep(t, pkt.ts_us);
            last_sweep = pkt.ts_us;
            swept = true;
        }
    }
    rp__tcp_free(t, last_ts);
    cx->in = NULL;
    if (!rc && cx->write_rc) {
        if (err) {
            *err = cx->write_err;
        }
        rc = cx->write_rc;
    }
    return rc;
}

void rp_capture_stop(struct rp_capture *c)
{
    c->cx.stop = 1;
    c->ops->breakloop(c->src);
}

void rp_capture_get_stats(const struct rp_capture *c, struct rp_capture_stats *out)
{
    *out = c->cx.stats;
}

void rp_capture_free(struct rp_capture *c)
{
    if (!c) {
        return;
    }
    c->ops->free(c->src);
    free(c->name);
    free(c);
}
