/* SPDX-License-Identifier: MIT */
/*
 * The proxy's connections: byte queues, the framing callbacks, a connection's birth and
 * death, its messages handed to the recording side, and the connection to its upstream.
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

/* ----- byte queues --------------------------------------------------------------------------- */

void rp__qbuf_add(struct rp__qbuf *q, const void *p, size_t n)
{
    if (n == 0) {
        return;
    }
    if (q->off == q->len) {
        q->off = q->len = 0;
    }
    if (n > q->cap - q->len && q->off > 0) {
        memmove(q->data, q->data + q->off, q->len - q->off);
        q->len -= q->off;
        q->off = 0;
    }
    if (n > q->cap - q->len) {
        /* Callers add at most a read's worth past RP_PROXY_RELAY_BYTES: no overflow here. */
        size_t want = q->len + n;
        size_t cap = q->cap ? q->cap : 16 * 1024;
        while (cap < want) {
            cap *= 2;
        }
        q->data = rp_xrealloc(q->data, cap);
        q->cap = cap;
    }
    memcpy(q->data + q->len, p, n);
    q->len += n;
}

size_t rp__qbuf_pending(const struct rp__qbuf *q)
{
    return q->len - q->off;
}

void rp__qbuf_consume(struct rp__qbuf *q, size_t n)
{
    q->off += n;
    if (q->off == q->len) {
        q->off = q->len = 0;
    }
}

static void qbuf_free(struct rp__qbuf *q)
{
    free(q->data);
    memset(q, 0, sizeof(*q));
}

/* ----- framing callbacks ------------------------------------------------------------------- */

/* http-parser is paused at the end of each message, so execute() returns how many bytes the
 * message took and the next header block can be gathered (and rewritten) on its own. */
static int on_req_headers(http_parser *hp)
{
    struct rp__conn *c = hp->data;
    c->req.clen = hp->content_length;
    return 0;
}

static int on_req_complete(http_parser *hp)
{
    struct rp__conn *c = hp->data;
    c->req.msg_done = true;
    http_parser_pause(hp, 1);
    return 0;
}

static int on_resp_headers(http_parser *hp)
{
    struct rp__conn *c = hp->data;
    c->resp.clen = hp->content_length;
    /* The answer to HEAD has no body whatever its headers say. */
    bool head = hp->status_code >= 200 && c->n_methods && strcmp(c->methods[0], "HEAD") == 0;
    return head ? 1 : 0;
}

static int on_resp_complete(http_parser *hp)
{
    struct rp__conn *c = hp->data;
    c->resp.msg_done = true;
    http_parser_pause(hp, 1);
    return 0;
}

const http_parser_settings rp__proxy_req_settings = {
    .on_headers_complete = on_req_headers,
    .on_message_complete = on_req_complete,
};

const http_parser_settings rp__proxy_resp_settings = {
    .on_headers_complete = on_resp_headers,
    .on_message_complete = on_resp_complete,
};

bool rp__proxy_framing_ok(const http_parser *hp)
{
    enum http_errno e = HTTP_PARSER_ERRNO(hp);
    return e == HPE_OK || e == HPE_PAUSED;
}

/* ----- connections ------------------------------------------------------------------------- */

static void dir_init(struct rp__dir *d, struct rp__conn *c, enum rp_http_dir dir)
{
    memset(d, 0, sizeof(*d));
    d->st = DIR_HEAD;
    rp_buf_init(&d->head, RP_MAX_HEADER_BYTES);
    http_parser_init(&d->hp, dir == RP_HTTP_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE);
    d->hp.data = c;
    d->rp = rp_http_parser_new(dir);
}

struct rp__conn *rp__proxy_conn_new(struct rp_proxy *p, int cfd)
{
    struct rp__conn *c = rp_xcalloc(1, sizeof(*c));
    c->id = ++p->next_conn_id;
    c->cfd = cfd;
    c->ufd = -1;
    c->org = p->o.forward ? &c->fwd : &p->rev;
    c->active_ms = rp__mono_ms();
    dir_init(&c->req, c, RP_HTTP_REQUEST);
    dir_init(&c->resp, c, RP_HTTP_RESPONSE);
    rp_http_parser_link(c->req.rp, c->resp.rp);
    if (p->in) {
        /* A compressed body is inflated only up to what will be recorded of it. */
        rp_http_parser_set_max_body(c->req.rp, rp_intake_max_body(p->in));
        rp_http_parser_set_max_body(c->resp.rp, rp_intake_max_body(p->in));
        /* ... and not on the loop: the recording thread decodes it (record.c). */
        rp_http_parser_defer_decoding(c->req.rp, true);
        rp_http_parser_defer_decoding(c->resp.rp, true);
    }
    c->next = p->conns;
    if (p->conns) {
        p->conns->prev = c;
    }
    p->conns = c;
    p->n_conns++;
    return c;
}

/* Records every request still waiting for its answer as unanswered, saying why. */
static void record_unanswered(struct rp_proxy *p, struct rp__conn *c, const char *why)
{
    for (size_t i = 0; i < c->n_pending; i++) {
        if (c->pending[i].method) { /* a stand-in for an unreadable request was counted */
            rp__proxy_record(p, c, &c->pending[i], NULL, why);
        }
        rp_http_message_cleanup(&c->pending[i]);
    }
    c->n_pending = 0;
}

void rp__proxy_close_upstream(struct rp__conn *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->ufd >= 0) {
        close(c->ufd);
        c->ufd = -1;
    }
}

void rp__proxy_conn_free(struct rp_proxy *p, struct rp__conn *c, const char *why)
{
    record_unanswered(p, c, why);
    free(c->pending);
    for (size_t i = 0; i < c->n_methods; i++) {
        free(c->methods[i]);
    }
    free(c->methods);
    rp__proxy_close_upstream(c);
    if (c->cssl) {
        SSL_free(c->cssl);
    }
    if (c->cfd >= 0) {
        close(c->cfd);
    }
    rp__origin_cleanup(&c->fwd);
    free(c->leaf_host);
    struct rp__dir *dirs[2] = {&c->req, &c->resp};
    for (size_t i = 0; i < 2; i++) {
        rp_buf_cleanup(&dirs[i]->head);
        rp_http_parser_free(dirs[i]->rp);
    }
    qbuf_free(&c->to_up);
    qbuf_free(&c->to_cl);
    free(c->client_host);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        p->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    p->n_conns--;
    free(c);
}

/* ----- recording --------------------------------------------------------------------------- */

/* A body skipped past the recording cap came out of the parser as "incomplete"; it is whole on
 * the wire, so it is recorded as truncated instead, with its full size. */
static void fix_gapped(struct rp__dir *d, struct rp_http_message *m)
{
    if (d->body_gapped == 0) {
        return;
    }
    m->flags &= ~RP_HTTP_MSG_INCOMPLETE;
    m->body.truncated = true;
    m->body.orig_len = d->clen;
}

/* Counts one relayed exchange the recorder could not read and logs it with why. */
static void lost(struct rp_proxy *p, const char *method, const char *target, size_t tlen,
                 const char *why)
{
    p->stats.unreadable++;
    if (p->o.log) {
        char line[RP_ERROR_MSG_MAX + 256];
        snprintf(line, sizeof(line), "%s %.*s%s not recorded: %s", method ? method : "?",
                 (int)(tlen > 120 ? 120 : tlen), target ? target : "", tlen > 120 ? "..." : "",
                 why);
        p->o.log(p->o.log_ud, RP_LOG_WARN, line);
    }
}

/* Queues a stand-in for a request that is not recorded: its answer is dropped in turn. */
static void push_stand_in(struct rp__conn *c)
{
    c->pending = rp_xreallocarray(c->pending, c->n_pending + 1, sizeof(*c->pending));
    rp_http_message_init(&c->pending[c->n_pending++]);
}

static void pop_pending(struct rp__conn *c)
{
    rp_http_message_cleanup(&c->pending[0]);
    memmove(c->pending, c->pending + 1, (c->n_pending - 1) * sizeof(*c->pending));
    c->n_pending--;
}

/* Pairs the messages the recording parsers finished: requests in order, each answered by the
 * next final (or 101) response. */
void rp__proxy_collect(struct rp_proxy *p, struct rp__conn *c)
{
    struct rp_http_message m;
    rp_http_message_init(&m);
    while (rp_http_parser_next(c->req.rp, &m)) {
        fix_gapped(&c->req, &m);
        if (c->drop_reqs) {
            c->drop_reqs--; /* its answer could not be read: counted then */
            continue;
        }
        if (c->n_pending >= RP_PROXY_MAX_PIPELINE) {
            /* A client that far ahead is not a browser: not recorded, but counted. */
            lost(p, m.method, m.target, m.target ? strlen(m.target) : 0,
                 "more than RP_PROXY_MAX_PIPELINE requests ahead of their answers");
            push_stand_in(c);
            continue;
        }
        c->pending = rp_xreallocarray(c->pending, c->n_pending + 1, sizeof(*c->pending));
        c->pending[c->n_pending++] = m;
        rp_http_message_init(&m);
    }
    while (rp_http_parser_next(c->resp.rp, &m)) {
        fix_gapped(&c->resp, &m);
        if ((m.status < 200 && m.status != 101) || c->n_pending == 0) {
            continue;
        }
        if (c->pending[0].method) {
            rp__proxy_record(p, c, &c->pending[0], &m, NULL);
        }
        pop_pending(c);
    }
    rp_http_message_cleanup(&m);
}

/*
 * The recording parser of d gave up on a message (why): the exchange is counted and logged, and
 * the parser is reset at the next header block. A request is replaced by a stand-in so that its
 * answer is dropped; an answer takes its request (or the next one read) with it.
 */
static void give_up(struct rp_proxy *p, struct rp__conn *c, struct rp__dir *d, const char *s,
                    size_t n, bool body, const char *why)
{
    d->rec_failed = true;
    rp__proxy_collect(p, c);
    if (d == &c->req) {
        /* The head block's request line names it, when the failure came with it. */
        size_t ml = body ? 0 : strcspn(s, " \r\n");
        ml = ml < n ? ml : 0;
        const char *t = ml ? s + ml + 1 : "";
        size_t tl = ml ? strcspn(t, " \r\n") : 0;
        char method[RP_MAX_METHOD_BYTES];
        snprintf(method, sizeof(method), "%.*s", (int)(ml < sizeof(method) ? ml : 0), s);
        lost(p, method[0] ? method : NULL, t, tl, why);
        push_stand_in(c);
        return;
    }
    if (c->n_pending) {
        const struct rp_http_message *q = &c->pending[0];
        if (q->method) { /* a stand-in was counted when its request failed */
            lost(p, q->method, q->target, q->target ? strlen(q->target) : 0, why);
        }
        pop_pending(c);
    } else {
        lost(p, NULL, NULL, 0, why);
        c->drop_reqs++;
    }
}

/* Gives n bytes to a recording parser. Past the body cap, a body of known length and no coding
 * is skipped as a gap, so the parser never holds more than the cap (a 100 MB download costs
 * the recording --max-body bytes, not 32 MiB). A message the parser cannot read is counted
 * (give_up) and the parser starts again at the next header block. */
void rp__proxy_feed(struct rp_proxy *p, struct rp__conn *c, struct rp__dir *d, const char *s,
                    size_t n, bool body, int64_t now)
{
    if (!c->org->record) {
        return; /* forward mode, a host outside --only: relayed, not recorded */
    }
    if (d->rec_failed) {
        if (body) {
            return; /* the rest of a message the recorder gave up on */
        }
        rp_http_parser_reset(d->rp);
        d->rec_failed = false;
    }
    uint64_t max = rp_intake_max_body(p->in);
    size_t fed = n;
    if (body && d->identity_len) {
        uint64_t room = d->body_fed >= max ? 0 : max - d->body_fed;
        fed = room < n ? (size_t)room : n;
    }
    if (fed) {
        struct rp_error e = {0};
        if (rp_http_parser_feed(d->rp, s, fed, now, NULL, &e)) {
            give_up(p, c, d, s, fed, body, e.msg);
            return;
        }
    }
    if (body) {
        d->body_fed += fed;
    }
    if (fed < n) {
        (void)rp_http_parser_gap(d->rp, n - fed, now);
        d->body_gapped += n - fed;
    }
    rp__proxy_collect(p, c);
}

/* ----- upstream ---------------------------------------------------------------------------- */

void rp__proxy_queue_error(struct rp__conn *c, unsigned status, const char *reason, const char *why)
{
    char body[512];
    int bn = snprintf(body, sizeof(body), "reprise: %s\n", why);
    if (bn < 0 || (size_t)bn >= sizeof(body)) {
        bn = snprintf(body, sizeof(body), "reprise: %s\n", reason);
    }
    char head[256];
    int hn = snprintf(head, sizeof(head),
                      "HTTP/1.1 %u %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Length: %d\r\nConnection: close\r\n\r\n",
                      status, reason, bn);
    if (hn > 0 && (size_t)hn < sizeof(head) && bn > 0) {
        rp__qbuf_add(&c->to_cl, head, (size_t)hn);
        rp__qbuf_add(&c->to_cl, body, (size_t)bn);
    }
}

/*
 * The upstream refused, reset or timed out: every request waiting is recorded unanswered, the
 * client gets a 502 unless part of a response already went to it, and the connection closes.
 */
void rp__proxy_fail_upstream(struct rp_proxy *p, struct rp__conn *c, const char *why)
{
    rp__proxy_close_upstream(c);
    c->up = UP_CLOSED;
    if (c->req.st == DIR_BODY || rp_http_parser_busy(c->req.rp)) {
        rp_http_parser_finish(c->req.rp, rp_now_us());
        rp__proxy_collect(p, c);
    }
    bool waiting = c->n_pending > 0 || c->req.st != DIR_HEAD || c->req.head.len > 0;
    record_unanswered(p, c, why);
    if (!c->answered && waiting) {
        rp__proxy_queue_error(c, 502, "Bad Gateway", why);
    }
    c->to_up.off = c->to_up.len = 0;
    c->closing = true;
}

/*
 * Bytes are relayed as they come, often a header block and then its body in two writes. With
 * Nagle's algorithm the second waits for the peer's acknowledgement of the first, which the
 * peer delays (40 ms on Linux): every exchange would stall. The relay never writes small
 * pieces it could have joined, so it turns Nagle off on both sides.
 */
void rp__proxy_no_delay(int fd)
{
    int on = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

static void set_port(struct rp__addrs *a, unsigned port)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->a[i].ss_family == AF_INET6) {
            ((struct sockaddr_in6 *)&a->a[i])->sin6_port = htons((uint16_t)port);
        } else {
            ((struct sockaddr_in *)&a->a[i])->sin_port = htons((uint16_t)port);
        }
    }
}

void rp__proxy_start_upstream(struct rp_proxy *p, struct rp__conn *c)
{
    if (p->connect_seam) {
        p->connect_seam(p, c);
        return;
    }
    struct rp__origin *o = c->org;
    char why[300] = "";
    if (!o->resolved) {
        /* Forward mode: the host is looked up first (a literal or a cached name at once). */
        if (rp__dns_lookup(p->dns, o->host, c->id, &o->addrs) == 0) {
            c->up = UP_RESOLVING;
            c->deadline_ms = rp__mono_ms() + RP_PROXY_CONNECT_MS;
            return;
        }
        o->resolved = true;
        c->addr_idx = 0;
    }
    set_port(&o->addrs, o->port);
    bool refused = false;
    for (; c->addr_idx < o->addrs.n; c->addr_idx++) {
        const struct sockaddr *sa = (const struct sockaddr *)&o->addrs.a[c->addr_idx];
        if (p->o.forward && !p->o.allow_local && rp__addr_local(sa)) {
            refused = true; /* this machine's or the link's services: only with --allow-local */
            continue;
        }
        int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(why, sizeof(why), "upstream %s: socket: %s", o->url, strerror(errno));
            continue;
        }
        rp__proxy_no_delay(fd);
        if (connect(fd, sa, o->addrs.len[c->addr_idx]) == 0 || errno == EINPROGRESS) {
            c->ufd = fd;
            c->up = UP_CONNECTING;
            c->deadline_ms = rp__mono_ms() + RP_PROXY_CONNECT_MS;
            return;
        }
        snprintf(why, sizeof(why), "upstream %s: connect: %s", o->url, strerror(errno));
        close(fd);
    }
    if (refused && !why[0]) {
        snprintf(why, sizeof(why),
                 "upstream %s: a loopback or link-local address, which forward mode reaches "
                 "only with --allow-local",
                 o->url);
        p->stats.refused++;
        if (!c->answered) {
            rp__proxy_queue_error(c, 403, "Forbidden", why);
            c->answered = true; /* the 403, not a 502 */
        }
    }
    rp__proxy_fail_upstream(p, c, why[0] ? why : "upstream: no address");
}

/* The upstream is ready for bytes. A tunnelled CONNECT is answered now, and the bytes the
 * client sent after it (held in its head buffer) go first. */
void rp__proxy_upstream_open(struct rp__conn *c)
{
    c->up = UP_OPEN;
    if (!c->connect_tunnel) {
        return;
    }
    c->connect_tunnel = false;
    c->tunnel = true;
    rp__qbuf_add(&c->to_cl, RP__ESTABLISHED, sizeof(RP__ESTABLISHED) - 1);
    rp__qbuf_add(&c->to_up, c->req.head.data, c->req.head.len);
    rp_buf_reset(&c->req.head);
    c->req.st = DIR_HEAD;
}

/* The non-blocking connect finished (or failed): go on with TLS, or with the next address. */
void rp__proxy_upstream_connected(struct rp_proxy *p, struct rp__conn *c)
{
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
        soerr = errno;
    }
    if (soerr == EINPROGRESS || soerr == EALREADY) {
        return;
    }
    if (soerr) {
        rp__proxy_close_upstream(c);
        c->up = UP_NONE;
        c->addr_idx++;
        if (c->addr_idx < c->org->addrs.n) {
            rp__proxy_start_upstream(p, c);
            return;
        }
        char why[300];
        snprintf(why, sizeof(why), "upstream %s: connect: %s", c->org->url, strerror(soerr));
        rp__proxy_fail_upstream(p, c, why);
        return;
    }
    if (c->org->tls && !c->connect_tunnel) {
        rp__proxy_tls_start(p, c);
        c->up = UP_HANDSHAKE;
    } else {
        rp__proxy_upstream_open(c);
    }
}
