/* SPDX-License-Identifier: MIT */
/*
 * The proxy's header blocks: each one gathered, rewritten and relayed, its body framed by
 * http-parser; in forward mode the first block says where a connection goes (an absolute URL,
 * or CONNECT, intercepted or tunnelled).
 */
/* accept4() and SOCK_NONBLOCK | SOCK_CLOEXEC (Linux, the BSDs) are not in POSIX 2008. */
#define _GNU_SOURCE
/* accept4() and SOCK_NONBLOCK | SOCK_CLOEXEC (Linux, the BSDs) are not in POSIX 2008. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <reprise/limits.h>

#include "internal.h"

/* ----- header blocks ----------------------------------------------------------------------- */

/* ----- forward mode ------------------------------------------------------------------------ */

enum fwd {
    FWD_GO,   /* relay the request (to the origin now in c->fwd) */
    FWD_DONE, /* a CONNECT, answered or being connected: no request to relay */
    FWD_WAIT, /* another origin: wait until the answers owed on this connection are in */
    FWD_BAD,  /* refused: an error answer is queued */
};

static bool host_wanted(const struct rp_proxy *p, const char *host)
{
    if (p->o.n_only_hosts == 0) {
        return true;
    }
    for (size_t i = 0; i < p->o.n_only_hosts; i++) {
        if (fnmatch(p->o.only_hosts[i], host, FNM_CASEFOLD) == 0) {
            return true;
        }
    }
    return false;
}

static enum fwd refuse(struct rp__conn *c, const char *why)
{
    rp__proxy_queue_error(c, 400, "Bad Request", why);
    c->answered = true;
    c->closing = true;
    return FWD_BAD;
}

/*
 * Reads where a request on a forward-mode connection goes. An absolute URL names the origin
 * and *target gets its origin-form; CONNECT HOST:PORT is answered at once and intercepted, or
 * tunnelled once the upstream accepts. A connection may move to another origin between
 * requests (browsers reuse proxy connections across hosts) once nothing is owed on it.
 */
static enum fwd forward_head(struct rp_proxy *p, struct rp__conn *c, const char *blk, size_t len,
                             char **target)
{
    char *method = NULL;
    char *tgt = NULL;
    struct rp__origin next;
    memset(&next, 0, sizeof(next));
    enum fwd r = FWD_BAD;
    if (!rp__proxy_request_line(blk, len, &method, &tgt)) {
        r = refuse(c, "the request line is not METHOD TARGET VERSION");
        goto out;
    }
    bool connect = strcmp(method, "CONNECT") == 0;
    if (connect) {
        const char *colon = strrchr(tgt, ':');
        if (!colon || (tgt[0] == '[' && colon < strchr(tgt, ']')) ||
            !rp__origin_set(&next, true, tgt, strlen(tgt))) {
            r = refuse(c, "CONNECT wants HOST:PORT");
            goto out;
        }
    } else {
        const char *t = tgt;
        bool tls = false;
        if (strncmp(t, "http://", 7) == 0) {
            t += 7;
        } else if (strncmp(t, "https://", 8) == 0) {
            t += 8;
            tls = true;
        } else {
            r = refuse(c, "this is a forward proxy: a request names its absolute URL "
                          "(http://host/path), or CONNECT host:port");
            goto out;
        }
        size_t alen = strcspn(t, "/?#");
        if (!rp__origin_set(&next, tls, t, alen)) {
            r = refuse(c, "bad host or port in the request's URL");
            goto out;
        }
        const char *rest = t + alen;
        struct rp_buf b;
        rp_buf_init(&b, RP_MAX_URL_BYTES);
        if (rest[0] != '/') {
            rp_ignore(rp_buf_addc(&b, '/', NULL));
        }
        rp_ignore(rp_buf_add(&b, rest, strcspn(rest, "#"), NULL));
        *target = rp_buf_take(&b, NULL);
    }
    next.record = host_wanted(p, next.host);
    if (connect || !rp__origin_same(&c->fwd, &next)) {
        if (c->n_methods > 0) {
            free(*target);
            *target = NULL;
            r = FWD_WAIT;
            goto out;
        }
        rp__proxy_close_upstream(c);
        if (c->up != UP_CLOSED) {
            c->up = UP_NONE;
        }
        c->addr_idx = 0;
        rp__origin_cleanup(&c->fwd);
        c->fwd = next;
        memset(&next, 0, sizeof(next));
    }
    if (!c->fwd.record) {
        p->stats.skipped_host++;
    }
    if (!connect) {
        r = FWD_GO;
        goto out;
    }
    if (c->fwd.record) {
        rp__qbuf_add(&c->to_cl, RP__ESTABLISHED, sizeof(RP__ESTABLISHED) - 1);
        c->cl = CL_TLS_START;
        free(c->leaf_host);
        c->leaf_host = rp_xstrdup(c->fwd.host);
    } else {
        c->connect_tunnel = true;
        rp__proxy_start_upstream(p, c);
    }
    r = FWD_DONE;
out:
    rp__origin_cleanup(&next);
    free(method);
    free(tgt);
    return r;
}

static bool on_head(struct rp_proxy *p, struct rp__conn *c, bool is_req)
{
    struct rp__dir *d = is_req ? &c->req : &c->resp;
    const char *blk = d->head.data;
    size_t len = d->head.len;
    struct rp_buf rw;
    rp_buf_init(&rw, 2 * (size_t)RP_MAX_HEADER_BYTES);
    char *target = NULL;
    bool ok = false;

    if (is_req && p->o.forward && c->cl == CL_PLAIN) {
        switch (forward_head(p, c, blk, len, &target)) {
        case FWD_GO:
            break;
        case FWD_DONE:
            /* Bytes after a CONNECT are held: raw for a tunnel, or too early for TLS. */
            rp_buf_reset(&d->head);
            d->st = DIR_WAIT;
            ok = true;
            goto out;
        case FWD_WAIT:
            d->st = DIR_WAIT; /* the block stays in d->head and is read again later */
            ok = true;
            goto out;
        case FWD_BAD:
            goto out;
        }
    }

    d->msg_done = false;
    d->body_fed = d->body_gapped = 0;
    d->clen = 0;
    d->upgrade = false;
    size_t k = http_parser_execute(
        &d->hp, is_req ? &rp__proxy_req_settings : &rp__proxy_resp_settings, blk, len);
    if (!rp__proxy_framing_ok(&d->hp) || (k != len && !d->msg_done)) {
        goto out;
    }
    d->identity_len = d->clen != ULLONG_MAX &&
                      !rp__proxy_head_has(blk, len, "Transfer-Encoding", "") &&
                      !rp__proxy_head_has(blk, len, "Content-Encoding", "");
    if (is_req) {
        char *host = NULL;
        if (!rp__proxy_rewrite_request(c->org, p->o.forward, target, blk, len, &rw, &host)) {
            goto out;
        }
        if (host && strlen(host) <= 255) {
            free(c->client_host);
            c->client_host = host;
            host = NULL;
        }
        free(host);
        d->upgrade = d->hp.upgrade && rp__proxy_head_has(blk, len, "Upgrade", "");
        if (c->n_methods < RP_HTTP_MAX_PIPELINE) {
            c->methods = rp_xreallocarray(c->methods, c->n_methods + 1, sizeof(*c->methods));
            c->methods[c->n_methods++] = rp_xstrndup(blk, strcspn(blk, " "));
        }
        rp__qbuf_add(&c->to_up, rw.data, rw.len);
        rp__proxy_feed(p, c, d, rw.data, rw.len, false, d->head_us);
        if (c->up == UP_NONE) {
            rp__proxy_start_upstream(p, c);
        }
    } else {
        bool fits = p->o.forward
                        ? rp_buf_add(&rw, blk, len, NULL) == RP_OK
                        : rp__proxy_rewrite_response(c->org, c->client_host, blk, len, &rw);
        if (!fits) {
            goto out;
        }
        c->answered = true;
        rp__qbuf_add(&c->to_cl, rw.data, rw.len);
        rp__proxy_feed(p, c, d, blk, len, false, rp_now_us());
    }
    d->st = DIR_BODY;
    rp_buf_reset(&d->head);
    ok = true;
    if (d->msg_done) {
        ok = rp__proxy_end_message(p, c, is_req);
    }
out:
    free(target);
    rp_buf_cleanup(&rw);
    return ok;
}

bool rp__proxy_end_message(struct rp_proxy *p, struct rp__conn *c, bool is_req)
{
    struct rp__dir *d = is_req ? &c->req : &c->resp;
    d->msg_done = false;
    http_parser_pause(&d->hp, 0);
    if (is_req) {
        d->st = d->upgrade ? DIR_WAIT : DIR_HEAD;
        return true;
    }
    d->st = DIR_HEAD;
    unsigned status = d->hp.status_code;
    if (status < 200 && status != 101) {
        return true; /* an interim answer: the final one follows */
    }
    c->answered = false;
    if (c->n_methods) {
        free(c->methods[0]);
        memmove(c->methods, c->methods + 1, (c->n_methods - 1) * sizeof(*c->methods));
        c->n_methods--;
    }
    if (c->req.st != DIR_WAIT) {
        return true;
    }
    /* Bytes the client sent after asking to upgrade waited in its head buffer. */
    char *held = NULL;
    size_t n_held = 0;
    if (c->req.head.len) {
        held = rp_buf_take(&c->req.head, &n_held);
    }
    bool ok = true;
    c->req.st = DIR_HEAD;
    if (status == 101) {
        c->tunnel = true;
        rp__qbuf_add(&c->to_up, held, n_held);
    } else {
        ok = rp__proxy_process(p, c, true, held, n_held);
    }
    free(held);
    return ok;
}

/*
 * Takes n bytes that came from one side: header blocks are gathered, rewritten and queued for
 * the other side, bodies queued as they are. False when the bytes are not HTTP the proxy can
 * relay (the connection is then closed).
 */
bool rp__proxy_process(struct rp_proxy *p, struct rp__conn *c, bool is_req, const char *s, size_t n)
{
    struct rp__dir *d = is_req ? &c->req : &c->resp;
    struct rp__qbuf *out = is_req ? &c->to_up : &c->to_cl;
    while (n > 0) {
        if (c->tunnel) {
            rp__qbuf_add(out, s, n);
            return true;
        }
        if (d->st == DIR_WAIT) {
            return rp_buf_add(&d->head, s, n, NULL) == RP_OK;
        }
        if (d->st == DIR_HEAD) {
            if (d->head.len == 0) {
                while (n && (*s == '\r' || *s == '\n')) {
                    s++;
                    n--;
                }
                if (n == 0) {
                    break;
                }
                d->head_us = rp_now_us();
            }
            size_t old = d->head.len;
            size_t room = RP_MAX_HEADER_BYTES - old;
            size_t take = n < room ? n : room;
            if (take == 0 || rp_buf_add(&d->head, s, take, NULL)) {
                return false;
            }
            size_t from = old > 3 ? old - 3 : 0;
            size_t e = rp__proxy_head_end(d->head.data + from, d->head.len - from);
            if (e == 0) {
                s += take;
                n -= take;
                continue;
            }
            e += from;
            size_t used = e - old;
            d->head.len = e;
            d->head.data[e] = '\0';
            s += used;
            n -= used;
            if (!on_head(p, c, is_req)) {
                return false;
            }
            continue;
        }
        size_t k = http_parser_execute(
            &d->hp, is_req ? &rp__proxy_req_settings : &rp__proxy_resp_settings, s, n);
        if (!rp__proxy_framing_ok(&d->hp)) {
            return false;
        }
        rp__qbuf_add(out, s, k);
        rp__proxy_feed(p, c, d, s, k, true, rp_now_us());
        s += k;
        n -= k;
        if (d->msg_done) {
            if (!rp__proxy_end_message(p, c, is_req)) {
                return false;
            }
        } else if (k == 0) {
            return false;
        }
    }
    return true;
}
