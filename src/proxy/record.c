/* SPDX-License-Identifier: MIT */
/*
 * The recording side of the proxy: a request and its response, as the parsers read them from
 * the relayed bytes, become one exchange with the upstream's real URL, handed to the recording
 * pipeline (intake), which filters, scrubs and writes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/limits.h>

#include "internal.h"

/* The absolute URL the upstream served: its origin and the request target. */
static char *absolute_url(const struct rp__origin *o, const char *target)
{
    if (!target || !*target) {
        target = "/";
    }
    if (strstr(target, "://")) {
        return rp_xstrdup(target); /* already absolute (a client that thinks we forward) */
    }
    struct rp_buf b;
    rp_buf_init(&b, SIZE_MAX);
    rp_ignore(rp_buf_adds(&b, o->url, NULL));
    if (target[0] != '/') {
        rp_ignore(rp_buf_addc(&b, '/', NULL));
    }
    rp_ignore(rp_buf_adds(&b, target, NULL));
    return rp_buf_take(&b, NULL);
}

/* The path of an absolute URL, for the live line. */
static const char *path_of(const char *url)
{
    const char *s = strstr(url, "://");
    s = s ? strchr(s + 3, '/') : NULL;
    return s ? s : "/";
}

/* The live line of one exchange, at RP_LOG_INFO: "POST /api/login 200 3.2 ms" (forward mode,
 * where hosts vary: the whole URL), or "GET /x no response: why (3.0 ms)". */
static void log_exchange(struct rp_proxy *p, const struct rp_exchange *ex, enum rp_intake_fate fate,
                         const char *why)
{
    if (!p->o.log) {
        return;
    }
    bool recorded = fate == RP_INTAKE_RECORDED;
    const char *url = p->o.forward ? ex->req.url : path_of(ex->req.url);
    double ms = (double)ex->duration_us / 1000.0;
    char line[1024];
    if (ex->has_response) {
        snprintf(line, sizeof(line), "%s %s %u %.1f ms%s", ex->req.method, url, ex->resp.status, ms,
                 recorded                   ? ""
                 : fate == RP_INTAKE_STATIC ? " (static, not recorded)"
                                            : " (not recorded)");
    } else {
        snprintf(line, sizeof(line), "%s %s no response: %s (%.1f ms)%s", ex->req.method, url,
                 why ? why : "no response", ms, recorded ? "" : " (not recorded)");
    }
    p->o.log(p->o.log_ud, RP_LOG_INFO, line);
}

void rp__proxy_record(struct rp_proxy *p, const struct rp__conn *c, struct rp_http_message *req,
                      struct rp_http_message *resp, const char *why)
{
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.conn_id = c->id;
    char *url = absolute_url(c->org, req->target);
    rp_http_to_exchange(&ex, req, resp, url, rp_now_us(), why ? why : "no response");

    enum rp_intake_fate fate = RP_INTAKE_FAILED;
    struct rp_error err = {0};
    rp_code rc = rp_intake_add(p->in, &ex, &fate, &err);
    /* Counted once it passed the filters: a favicon that failed is only a skipped asset. */
    if (!ex.has_response && fate != RP_INTAKE_STATIC && fate != RP_INTAKE_OUTSIDE_PATHS) {
        p->stats.unanswered++;
    }
    if (fate == RP_INTAKE_DROPPED && p->o.log) {
        char line[RP_ERROR_MSG_MAX + 64];
        snprintf(line, sizeof(line), "exchange not recorded: %s", err.msg);
        p->o.log(p->o.log_ud, RP_LOG_WARN, line);
    } else if (rc && fate == RP_INTAKE_FAILED) {
        if (p->write_rc == RP_OK) {
            /* Said at once, naming the file and why; no new exchange is taken from here on:
             * the proxy stops as on a first Ctrl-C, and what was written stays readable. */
            p->write_rc = rc;
            p->write_err = err;
            if (p->o.log) {
                char line[RP_ERROR_MSG_MAX + 128];
                snprintf(line, sizeof(line),
                         "recording stopped: %s; no new exchanges are taken, the ones in flight "
                         "finish",
                         err.msg);
                p->o.log(p->o.log_ud, RP_LOG_ERROR, line);
            }
            rp_proxy_stop(p, false);
        }
    }
    log_exchange(p, &ex, fate, why);
    if (p->o.on_exchange) {
        p->o.on_exchange(p->o.exchange_ud, &ex, fate);
    }
    rp_exchange_cleanup(&ex);
}
