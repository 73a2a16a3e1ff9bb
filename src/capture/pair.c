/* SPDX-License-Identifier: MIT */
/*
 * HTTP on top of reassembled TCP: each connection gets a request parser and a response parser
 * (linked, so a response knows when its request was HEAD or CONNECT), and its whole responses
 * are paired with its whole requests in order, which is what HTTP/1.x pipelining and keep-alive
 * guarantee. Each pair becomes an exchange with an absolute URL, handed to the recording
 * pipeline (intake) at once.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <reprise/buf.h>

#include "capture/internal.h"

/* Whole messages of one direction waiting for their other half, oldest first (a ring). */
struct msgq {
    struct rp_http_message *v;
    size_t head, n, cap;
};

struct rp__conn {
    struct rp_http_parser *req, *resp;
    struct msgq reqs, resps;
    bool tunnel; /* the connection left HTTP: everything after is ignored */
    /* Bytes were lost between messages: whole messages may have gone, so pairing by order can
     * no longer be trusted and every later exchange on the connection is marked incomplete. */
    bool doubtful;
    bool fed[2]; /* by enum rp_http_dir: the parser has had bytes */
};

static void q_push(struct msgq *q, struct rp_http_message *m)
{
    if (q->n == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 4;
        struct rp_http_message *v = rp_xreallocarray(NULL, ncap, sizeof(*v));
        for (size_t i = 0; i < q->n; i++) {
            v[i] = q->v[(q->head + i) % q->cap];
        }
        free(q->v);
        q->v = v;
        q->cap = ncap;
        q->head = 0;
    }
    q->v[(q->head + q->n) % q->cap] = *m;
    q->n++;
    rp_http_message_init(m); /* moved into the queue */
}

static bool q_pop(struct msgq *q, struct rp_http_message *m)
{
    if (!q->n) {
        return false;
    }
    rp_http_message_cleanup(m);
    *m = q->v[q->head];
    q->head = (q->head + 1) % q->cap;
    q->n--;
    return true;
}

static void q_cleanup(struct msgq *q)
{
    struct rp_http_message m;
    rp_http_message_init(&m);
    while (q_pop(q, &m)) {
        rp_http_message_cleanup(&m);
    }
    free(q->v);
    memset(q, 0, sizeof(*q));
}

/* ----- exchanges -------------------------------------------------------------------------- */

static void format_addr(const struct rp__half *h, int family, struct rp_buf *out)
{
    char text[64];
    if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, h->addr, text, sizeof(text))) {
        snprintf(text, sizeof(text), "unknown");
    }
    if (family == 6) {
        rp_ignore(rp_buf_addf(out, NULL, "[%s]", text));
    } else {
        rp_ignore(rp_buf_adds(out, text, NULL));
    }
    if (h->port != 80) {
        rp_ignore(rp_buf_addf(out, NULL, ":%u", (unsigned)h->port));
    }
}

static bool starts_with_ci(const char *s, const char *prefix)
{
    return rp_strieq(s, strnlen(s, strlen(prefix)), prefix);
}

/* "http://" + Host (or the server's address) + the request target; an absolute-form target
 * (a request to a proxy) is already a URL, and CONNECT's authority-form names the host. */
static char *build_url(const struct rp__flow *f, const struct rp_http_message *req)
{
    struct rp_buf b;
    rp_buf_init(&b, RP_MAX_URL_BYTES + 1024);
    const char *target = req->target ? req->target : "/";
    if (starts_with_ci(target, "http://") || starts_with_ci(target, "https://")) {
        rp_ignore(rp_buf_adds(&b, target, NULL));
        return rp_buf_take(&b, NULL);
    }
    rp_ignore(rp_buf_adds(&b, "http://", NULL));
    if (req->method && strcmp(req->method, "CONNECT") == 0) {
        rp_ignore(rp_buf_adds(&b, target, NULL));
        return rp_buf_take(&b, NULL);
    }
    const struct rp_header *host = rp_headers_get(&req->headers, "Host", NULL);
    size_t hl = host ? host->value_len : 0;
    const char *hv = host ? host->value : "";
    while (hl && (hv[0] == ' ' || hv[0] == '\t')) {
        hv++;
        hl--;
    }
    while (hl && (hv[hl - 1] == ' ' || hv[hl - 1] == '\t')) {
        hl--;
    }
    if (hl && !memchr(hv, '/', hl) && !memchr(hv, ' ', hl)) {
        rp_ignore(rp_buf_add(&b, hv, hl, NULL));
    } else {
        int server = f->client >= 0 ? 1 - f->client : 1;
        format_addr(&f->h[server], f->family, &b);
    }
    if (target[0] != '/') {
        rp_ignore(rp_buf_addc(&b, '/', NULL));
    }
    rp_ignore(rp_buf_adds(&b, target, NULL));
    return rp_buf_take(&b, NULL);
}

/* Hands ex (borrowed) to the intake and counts it; stops the capture at max_exchanges or when
 * the recording cannot be written. */
static void deliver(struct rp__capture_ctx *cx, struct rp_exchange *ex)
{
    if (cx->write_rc || (cx->max_exchanges && cx->stats.exchanges >= cx->max_exchanges)) {
        return;
    }
    enum rp_intake_fate fate = RP_INTAKE_FAILED;
    struct rp_error e = {0};
    rp_code rc = rp_intake_add(cx->in, ex, &fate, &e);
    switch (fate) {
    case RP_INTAKE_RECORDED:
        cx->stats.exchanges++;
        cx->stats.incomplete += ex->incomplete ? 1 : 0;
        cx->stats.unanswered += ex->has_response ? 0 : 1;
        break;
    case RP_INTAKE_STATIC:
    case RP_INTAKE_OUTSIDE_PATHS:
        cx->stats.dropped++;
        break;
    case RP_INTAKE_DROPPED:
        cx->stats.dropped++;
        rp__capture_log(cx, RP_LOG_WARN, "connection %llu: %s %s: not recorded: %s",
                        (unsigned long long)ex->conn_id, ex->req.method, ex->req.url, e.msg);
        break;
    case RP_INTAKE_FAILED:
        cx->write_rc = rc ? rc : RP_EINTERNAL;
        cx->write_err = e;
        cx->stop = 1;
        break;
    }
    if (cx->max_exchanges && cx->stats.exchanges >= cx->max_exchanges) {
        cx->stop = 1;
    }
}

/* Writes one exchange; resp may be NULL (no answer was seen). Both messages are emptied. */
static void emit(struct rp__capture_ctx *cx, struct rp__flow *f, struct rp_http_message *req,
                 struct rp_http_message *resp)
{
    bool doubtful = f->conn && f->conn->doubtful && resp;
    unsigned flags = req->flags | (resp ? resp->flags : 0);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.conn_id = f->id;
    rp_http_to_exchange(&ex, req, resp, build_url(f, req), req->last_us, NULL);
    ex.incomplete = ex.incomplete || doubtful;
    if (ex.incomplete) {
        rp__capture_log(cx, RP_LOG_WARN, "connection %llu: %s %s: incomplete (%s)",
                        (unsigned long long)f->id, ex.req.method, ex.req.url,
                        flags & RP_HTTP_MSG_INCOMPLETE ? "bytes lost in the capture"
                        : doubtful                     ? "paired after messages were lost"
                                                       : "body could not be decoded");
    }
    deliver(cx, &ex);
    rp_exchange_cleanup(&ex);
}

/* ----- the connection --------------------------------------------------------------------- */

static bool looks_like_request(const unsigned char *d, size_t n)
{
    size_t i = 0;
    while (i < n && i < 16 && d[i] >= 'A' && d[i] <= 'Z') {
        i++;
    }
    return i >= 3 && i < n && d[i] == ' ';
}

/* Which end is the client, when no SYN said so: what it sends first, else the higher port. */
static void decide_client(struct rp__flow *f, int d, const unsigned char *data, size_t len)
{
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        f->client = 1 - d;
    } else if (looks_like_request(data, len)) {
        f->client = d;
    } else {
        f->client = f->h[d].port > f->h[1 - d].port ? d : 1 - d;
    }
}

static struct rp__conn *conn_get(struct rp__capture_ctx *cx, struct rp__flow *f)
{
    if (!f->conn) {
        struct rp__conn *c = rp_xcalloc(1, sizeof(*c));
        c->req = rp_http_parser_new(RP_HTTP_REQUEST);
        c->resp = rp_http_parser_new(RP_HTTP_RESPONSE);
        rp_http_parser_link(c->req, c->resp);
        /* A compressed body is inflated only up to what will be recorded of it. */
        rp_http_parser_set_max_body(c->req, rp_intake_max_body(cx->in));
        rp_http_parser_set_max_body(c->resp, rp_intake_max_body(cx->in));
        f->conn = c;
    }
    return f->conn;
}

/* The parser of direction d; on its first use, one that joined mid-stream hunts for a start. */
static struct rp_http_parser *parser_of(struct rp__capture_ctx *cx, struct rp__flow *f, int d)
{
    struct rp__conn *c = conn_get(cx, f);
    enum rp_http_dir role = d == f->client ? RP_HTTP_REQUEST : RP_HTTP_RESPONSE;
    struct rp_http_parser *p = role == RP_HTTP_REQUEST ? c->req : c->resp;
    if (!c->fed[role]) {
        c->fed[role] = true;
        if (!f->h[d].syn_seen) {
            rp_http_parser_hunt(p);
        }
    }
    return p;
}

/* Takes whole messages from both parsers and writes every pair that is complete. */
static void collect(struct rp__capture_ctx *cx, struct rp__flow *f)
{
    struct rp__conn *c = f->conn;
    struct rp_http_message m, r;
    rp_http_message_init(&m);
    rp_http_message_init(&r);
    while (rp_http_parser_next(c->req, &m)) {
        if (!c->tunnel) {
            q_push(&c->reqs, &m);
        }
    }
    while (rp_http_parser_next(c->resp, &m)) {
        if (!c->tunnel) {
            q_push(&c->resps, &m);
        }
    }
    while (c->reqs.n && c->resps.n) {
        q_pop(&c->reqs, &m);
        q_pop(&c->resps, &r);
        bool upgrade = (r.flags & RP_HTTP_MSG_UPGRADE) != 0;
        emit(cx, f, &m, &r);
        if (upgrade) {
            /* What the client sent after asking for the upgrade is the new protocol. */
            c->tunnel = true;
            q_cleanup(&c->reqs);
            q_cleanup(&c->resps);
        }
    }
    /* Bounded queues: a request unanswered past the pipeline cap is written without an answer,
     * a response with nothing to pair is dropped. */
    while (c->reqs.n > RP_HTTP_MAX_PIPELINE) {
        q_pop(&c->reqs, &m);
        emit(cx, f, &m, NULL);
    }
    while (c->resps.n > RP_HTTP_MAX_PIPELINE) {
        q_pop(&c->resps, &r);
        cx->stats.orphan_responses++;
    }
    rp_http_message_cleanup(&m);
    rp_http_message_cleanup(&r);
}

static const char *side(const struct rp__flow *f, int d)
{
    return d == f->client ? "client" : "server";
}

static void pair_data(void *ud, struct rp__flow *f, int d, const unsigned char *data, size_t len,
                      int64_t ts_us)
{
    struct rp__capture_ctx *cx = ud;
    if (f->conn && f->conn->tunnel) {
        return;
    }
    if (f->client < 0) {
        decide_client(f, d, data, len);
    }
    struct rp_http_parser *p = parser_of(cx, f, d);
    if (rp_http_parser_upgraded(p)) {
        return;
    }
    struct rp_error err = {0};
    if (rp_http_parser_feed(p, data, len, ts_us, NULL, &err)) {
        cx->stats.http_errors++;
        rp__capture_log(cx, RP_LOG_WARN, "connection %llu: %s: %s; skipping to the next message",
                        (unsigned long long)f->id, side(f, d), err.msg);
        rp_http_parser_hunt(p);
    }
    collect(cx, f);
}

static void pair_gap(void *ud, struct rp__flow *f, int d, uint64_t n, int64_t ts_us)
{
    struct rp__capture_ctx *cx = ud;
    if (f->conn && f->conn->tunnel) {
        return;
    }
    if (f->client < 0) {
        f->client = f->h[d].port > f->h[1 - d].port ? d : 1 - d;
    }
    struct rp_http_parser *p = parser_of(cx, f, d);
    if (rp_http_parser_upgraded(p)) {
        return;
    }
    bool in_step = rp_http_parser_gap(p, n, ts_us);
    if (!in_step) {
        f->conn->doubtful = true;
    }
    rp__capture_log(cx, RP_LOG_WARN, "connection %llu: %llu bytes lost from the %s's stream%s",
                    (unsigned long long)f->id, (unsigned long long)n, side(f, d),
                    in_step ? "" : "; skipping to the next message");
    collect(cx, f);
}

static void pair_eof(void *ud, struct rp__flow *f, int d, int64_t ts_us)
{
    struct rp__capture_ctx *cx = ud;
    if (!f->conn || f->client < 0) {
        return;
    }
    struct rp__conn *c = f->conn;
    rp_http_parser_finish(d == f->client ? c->req : c->resp, ts_us);
    collect(cx, f);
}

static void pair_end(void *ud, struct rp__flow *f, int64_t ts_us)
{
    struct rp__capture_ctx *cx = ud;
    struct rp__conn *c = f->conn;
    if (!c) {
        return;
    }
    rp_http_parser_finish(c->req, ts_us);
    rp_http_parser_finish(c->resp, ts_us);
    collect(cx, f);
    struct rp_http_message m;
    rp_http_message_init(&m);
    while (q_pop(&c->reqs, &m)) {
        emit(cx, f, &m, NULL);
    }
    if (c->resps.n) {
        cx->stats.orphan_responses += c->resps.n;
        rp__capture_log(cx, RP_LOG_WARN,
                        "connection %llu: %zu responses without a request (lost in the capture)",
                        (unsigned long long)f->id, c->resps.n);
    }
    rp_http_message_cleanup(&m);
    q_cleanup(&c->reqs);
    q_cleanup(&c->resps);
    rp_http_parser_free(c->req);
    rp_http_parser_free(c->resp);
    free(c);
    f->conn = NULL;
}

const struct rp__stream_ops rp__pair_ops = {
    .data = pair_data,
    .gap = pair_gap,
    .eof = pair_eof,
    .end = pair_end,
};
