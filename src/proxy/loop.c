/* SPDX-License-Identifier: MIT */
/*
 * The proxy's event loop: one thread, one poll() over the listen socket, a self-pipe for
 * stopping, the resolver's pipe (forward mode) and both sockets of every connection. Each
 * connection is a small state machine per direction (gather a header block, rewrite it, relay
 * the body as it comes, framed by http-parser); a copy of the bytes goes to the recording's
 * parsers. Buffers are bounded per direction and a side is not read while the other side's
 * queue is full, so a slow client or upstream holds back only its own connection. In forward
 * mode a connection's first header block says where it goes: an absolute URL (plain HTTP), or
 * CONNECT, answered and then either intercepted (TLS with the client, the CA's certificate) or
 * tunnelled as raw bytes for hosts outside --only.
 */
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

/* The answer to a CONNECT the proxy takes: intercepted at once, tunnelled once connected. */
#define RP__ESTABLISHED "HTTP/1.1 200 Connection Established\r\n\r\n"

/* Reads per socket per turn of the loop, so one fast connection cannot starve the others. */
#define READS_PER_TURN 4

int64_t rp__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static void qbuf_consume(struct rp__qbuf *q, size_t n)
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

static const http_parser_settings req_settings = {
    .on_headers_complete = on_req_headers,
    .on_message_complete = on_req_complete,
};

static const http_parser_settings resp_settings = {
    .on_headers_complete = on_resp_headers,
    .on_message_complete = on_resp_complete,
};

static bool framing_ok(const http_parser *hp)
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

static struct rp__conn *conn_new(struct rp_proxy *p, int cfd)
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
        rp__proxy_record(p, c, &c->pending[i], NULL, why);
        rp_http_message_cleanup(&c->pending[i]);
    }
    c->n_pending = 0;
}

static void close_upstream(struct rp__conn *c)
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

static void conn_free(struct rp_proxy *p, struct rp__conn *c, const char *why)
{
    record_unanswered(p, c, why);
    free(c->pending);
    for (size_t i = 0; i < c->n_methods; i++) {
        free(c->methods[i]);
    }
    free(c->methods);
    close_upstream(c);
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

/* Pairs the messages the recording parsers finished: requests in order, each answered by the
 * next final (or 101) response. */
static void collect(struct rp_proxy *p, struct rp__conn *c)
{
    struct rp_http_message m;
    rp_http_message_init(&m);
    while (rp_http_parser_next(c->req.rp, &m)) {
        fix_gapped(&c->req, &m);
        if (c->n_pending >= RP_PROXY_MAX_PIPELINE) {
            continue; /* a client that far ahead is not a browser: not recorded */
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
        rp__proxy_record(p, c, &c->pending[0], &m, NULL);
        rp_http_message_cleanup(&c->pending[0]);
        memmove(c->pending, c->pending + 1, (c->n_pending - 1) * sizeof(*c->pending));
        c->n_pending--;
    }
    rp_http_message_cleanup(&m);
}

/* Gives n bytes to a recording parser. Past the body cap, a body of known length and no coding
 * is skipped as a gap, so the parser never holds more than the cap (a 100 MB download costs
 * the recording --max-body bytes, not 32 MiB). */
static void feed_rp(struct rp_proxy *p, struct rp__conn *c, struct rp__dir *d, const char *s,
                    size_t n, bool body, int64_t now)
{
    if (!c->org->record) {
        return; /* forward mode, a host outside --only: relayed, not recorded */
    }
    uint64_t max = rp_intake_max_body(p->in);
    size_t fed = n;
    if (body && d->identity_len) {
        uint64_t room = d->body_fed >= max ? 0 : max - d->body_fed;
        fed = room < n ? (size_t)room : n;
    }
    if (fed) {
        /* A message the recorder cannot parse (past its caps) is left out of the recording;
         * the relay does not depend on it. */
        (void)rp_http_parser_feed(d->rp, s, fed, now, NULL, NULL);
    }
    if (body) {
        d->body_fed += fed;
    }
    if (fed < n) {
        (void)rp_http_parser_gap(d->rp, n - fed, now);
        d->body_gapped += n - fed;
    }
    collect(p, c);
}

/* ----- upstream ---------------------------------------------------------------------------- */

static void queue_error(struct rp__conn *c, unsigned status, const char *reason, const char *why)
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
static void fail_upstream(struct rp_proxy *p, struct rp__conn *c, const char *why)
{
    close_upstream(c);
    c->up = UP_CLOSED;
    if (c->req.st == DIR_BODY || rp_http_parser_busy(c->req.rp)) {
        rp_http_parser_finish(c->req.rp, rp_now_us());
        collect(p, c);
    }
    bool waiting = c->n_pending > 0 || c->req.st != DIR_HEAD || c->req.head.len > 0;
    record_unanswered(p, c, why);
    if (!c->answered && waiting) {
        queue_error(c, 502, "Bad Gateway", why);
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
static void no_delay(int fd)
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

static void start_upstream(struct rp_proxy *p, struct rp__conn *c)
{
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
    for (; c->addr_idx < o->addrs.n; c->addr_idx++) {
        const struct sockaddr *sa = (const struct sockaddr *)&o->addrs.a[c->addr_idx];
        int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(why, sizeof(why), "upstream %s: socket: %s", o->url, strerror(errno));
            continue;
        }
        no_delay(fd);
        if (connect(fd, sa, o->addrs.len[c->addr_idx]) == 0 || errno == EINPROGRESS) {
            c->ufd = fd;
            c->up = UP_CONNECTING;
            c->deadline_ms = rp__mono_ms() + RP_PROXY_CONNECT_MS;
            return;
        }
        snprintf(why, sizeof(why), "upstream %s: connect: %s", o->url, strerror(errno));
        close(fd);
    }
    fail_upstream(p, c, why[0] ? why : "upstream: no address");
}

/* The upstream is ready for bytes. A tunnelled CONNECT is answered now, and the bytes the
 * client sent after it (held in its head buffer) go first. */
static void upstream_open(struct rp__conn *c)
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
static void upstream_connected(struct rp_proxy *p, struct rp__conn *c)
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
        close_upstream(c);
        c->up = UP_NONE;
        c->addr_idx++;
        if (c->addr_idx < c->org->addrs.n) {
            start_upstream(p, c);
            return;
        }
        char why[300];
        snprintf(why, sizeof(why), "upstream %s: connect: %s", c->org->url, strerror(soerr));
        fail_upstream(p, c, why);
        return;
    }
    if (c->org->tls && !c->connect_tunnel) {
        rp__proxy_tls_start(p, c);
        c->up = UP_HANDSHAKE;
    } else {
        upstream_open(c);
    }
}

/* ----- header blocks ----------------------------------------------------------------------- */

static bool end_message(struct rp_proxy *p, struct rp__conn *c, bool is_req);
static bool process(struct rp_proxy *p, struct rp__conn *c, bool is_req, const char *s, size_t n);

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
    queue_error(c, 400, "Bad Request", why);
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
            (void)rp_buf_addc(&b, '/', NULL);
        }
        (void)rp_buf_add(&b, rest, strcspn(rest, "#"), NULL);
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
        close_upstream(c);
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
        start_upstream(p, c);
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
    size_t k = http_parser_execute(&d->hp, is_req ? &req_settings : &resp_settings, blk, len);
    if (!framing_ok(&d->hp) || (k != len && !d->msg_done)) {
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
        feed_rp(p, c, d, rw.data, rw.len, false, d->head_us);
        if (c->up == UP_NONE) {
            start_upstream(p, c);
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
        feed_rp(p, c, d, blk, len, false, rp_now_us());
    }
    d->st = DIR_BODY;
    rp_buf_reset(&d->head);
    ok = true;
    if (d->msg_done) {
        ok = end_message(p, c, is_req);
    }
out:
    free(target);
    rp_buf_cleanup(&rw);
    return ok;
}

static bool end_message(struct rp_proxy *p, struct rp__conn *c, bool is_req)
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
        ok = process(p, c, true, held, n_held);
    }
    free(held);
    return ok;
}

/*
 * Takes n bytes that came from one side: header blocks are gathered, rewritten and queued for
 * the other side, bodies queued as they are. False when the bytes are not HTTP the proxy can
 * relay (the connection is then closed).
 */
static bool process(struct rp_proxy *p, struct rp__conn *c, bool is_req, const char *s, size_t n)
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
        size_t k = http_parser_execute(&d->hp, is_req ? &req_settings : &resp_settings, s, n);
        if (!framing_ok(&d->hp)) {
            return false;
        }
        rp__qbuf_add(out, s, k);
        feed_rp(p, c, d, s, k, true, rp_now_us());
        s += k;
        n -= k;
        if (d->msg_done) {
            if (!end_message(p, c, is_req)) {
                return false;
            }
        } else if (k == 0) {
            return false;
        }
    }
    return true;
}

/* ----- reading and writing ----------------------------------------------------------------- */

/* The upstream ended its side: a body delimited by the close ends, and every request still
 * waiting is unanswered. The client's side closes once what it is owed is written. */
static void upstream_eof(struct rp_proxy *p, struct rp__conn *c)
{
    c->up_eof = true;
    if (!c->tunnel) {
        if (c->resp.st == DIR_BODY) {
            (void)http_parser_execute(&c->resp.hp, &resp_settings, NULL, 0);
            if (c->resp.msg_done) {
                (void)end_message(p, c, false);
            }
        }
        rp_http_parser_finish(c->resp.rp, rp_now_us());
        collect(p, c);
        if (c->n_pending) {
            fail_upstream(p, c, "upstream closed the connection without answering");
        }
    }
    close_upstream(c);
    c->up = UP_CLOSED;
    c->closing = true;
}

static bool client_readable(const struct rp__conn *c)
{
    return (c->cl == CL_PLAIN || c->cl == CL_TLS) && !c->client_eof && !c->closing &&
           c->req.st != DIR_WAIT && rp__qbuf_pending(&c->to_up) < RP_PROXY_RELAY_BYTES &&
           c->up != UP_CLOSED;
}

static bool upstream_readable(const struct rp__conn *c)
{
    return c->up == UP_OPEN && !c->up_eof && rp__qbuf_pending(&c->to_cl) < RP_PROXY_RELAY_BYTES;
}

/* Returns false when the connection must go at once. */
static bool read_client(struct rp_proxy *p, struct rp__conn *c)
{
    for (int i = 0; i < READS_PER_TURN && client_readable(c); i++) {
        size_t room = RP_PROXY_RELAY_BYTES - rp__qbuf_pending(&c->to_up);
        size_t want = room < sizeof(p->scratch) ? room : sizeof(p->scratch);
        long k = rp__proxy_sock_read(c->cfd, c->cssl, &c->cssl_want_write, p->scratch, want);
        if (k < 0) {
            return k == -1;
        }
        c->active_ms = rp__mono_ms();
        if (k == 0) {
            c->client_eof = true;
            break;
        }
        if (!process(p, c, true, p->scratch, (size_t)k)) {
            if (!c->answered && c->n_pending == 0) {
                queue_error(c, 400, "Bad Request", "the request is not HTTP/1.x reprise can relay");
            }
            c->closing = true;
            c->to_up.off = c->to_up.len = 0;
            break;
        }
    }
    return true;
}

static void read_upstream(struct rp_proxy *p, struct rp__conn *c)
{
    for (int i = 0; i < READS_PER_TURN && upstream_readable(c); i++) {
        size_t room = RP_PROXY_RELAY_BYTES - rp__qbuf_pending(&c->to_cl);
        size_t want = room < sizeof(p->scratch) ? room : sizeof(p->scratch);
        long k = rp__proxy_sock_read(c->ufd, c->ssl, &c->ssl_want_write, p->scratch, want);
        if (k == -1) {
            break;
        }
        c->active_ms = rp__mono_ms();
        if (k == 0) {
            upstream_eof(p, c);
            break;
        }
        if (k < 0) {
            if (c->tunnel || (c->n_pending == 0 && c->resp.st == DIR_HEAD && !c->resp.head.len)) {
                upstream_eof(p, c);
            } else {
                fail_upstream(p, c, "upstream reset the connection");
            }
            break;
        }
        if (!process(p, c, false, p->scratch, (size_t)k)) {
            fail_upstream(p, c, "upstream sent a response reprise cannot relay");
            break;
        }
    }
}

/* Returns false when the client is gone. */
static bool write_client(struct rp__conn *c)
{
    if (c->cl == CL_HANDSHAKE) {
        return true;
    }
    while (rp__qbuf_pending(&c->to_cl)) {
        long k = rp__proxy_sock_write(c->cfd, c->cssl, &c->cssl_want_write,
                                      c->to_cl.data + c->to_cl.off, rp__qbuf_pending(&c->to_cl));
        if (k < 0) {
            return k == -1;
        }
        c->active_ms = rp__mono_ms();
        qbuf_consume(&c->to_cl, (size_t)k);
    }
    return true;
}

static void write_upstream(struct rp_proxy *p, struct rp__conn *c)
{
    while (c->up == UP_OPEN && rp__qbuf_pending(&c->to_up)) {
        long k = rp__proxy_sock_write(c->ufd, c->ssl, &c->ssl_want_write,
                                      c->to_up.data + c->to_up.off, rp__qbuf_pending(&c->to_up));
        if (k == -1) {
            return;
        }
        if (k < 0) {
            fail_upstream(p, c, "upstream reset the connection");
            return;
        }
        c->active_ms = rp__mono_ms();
        qbuf_consume(&c->to_up, (size_t)k);
    }
    /* A client that closed its side after its last request: pass the close on (plain TCP;
     * over TLS the upstream simply answers and the connection ends after it). */
    if (c->up == UP_OPEN && c->client_eof && !rp__qbuf_pending(&c->to_up) && !c->up_shut &&
        !c->ssl) {
        shutdown(c->ufd, SHUT_WR);
        c->up_shut = true;
    }
}

/* True when nothing is in flight: no request waiting, no message half read, nothing queued. */
static bool conn_idle(const struct rp__conn *c)
{
    return !c->tunnel && c->n_pending == 0 && c->req.st == DIR_HEAD && c->req.head.len == 0 &&
           c->resp.st == DIR_HEAD && c->resp.head.len == 0 && !rp__qbuf_pending(&c->to_cl) &&
           !rp__qbuf_pending(&c->to_up) && !rp_http_parser_busy(c->req.rp);
}

static void log_msg(const struct rp_proxy *p, enum rp_log_level lvl, const char *msg)
{
    if (p->o.log) {
        p->o.log(p->o.log_ud, lvl, msg);
    }
}

/* "200 Connection Established" is out: the TLS handshake with the client begins, with a
 * certificate for the host the CONNECT named. False when the connection must go. */
static bool start_client_tls(struct rp_proxy *p, struct rp__conn *c)
{
    char msg[RP_ERROR_MSG_MAX + 128];
    if (c->req.head.len) {
        snprintf(msg, sizeof(msg), "CONNECT %s: the client sent bytes before the answer",
                 c->leaf_host);
        log_msg(p, RP_LOG_WARN, msg);
        return false;
    }
    SSL_CTX *ctx = NULL;
    struct rp_error err = {0};
    if (rp_ca_server_ctx(p->ca, c->leaf_host, &ctx, &err)) {
        snprintf(msg, sizeof(msg), "CONNECT %s: %s", c->leaf_host, err.msg);
        log_msg(p, RP_LOG_ERROR, msg);
        return false;
    }
    c->cssl = SSL_new(ctx);
    if (!c->cssl) {
        return false;
    }
    SSL_set_fd(c->cssl, c->cfd);
    SSL_set_accept_state(c->cssl);
    c->cl = CL_HANDSHAKE;
    c->req.st = DIR_HEAD;
    return true;
}

/* Drives the handshake with the client; false when it failed (the connection must go). */
static bool client_handshake(struct rp_proxy *p, struct rp__conn *c)
{
    char why[300];
    int r = rp__proxy_tls_handshake(c->cssl, &c->cssl_want_write, why, sizeof(why));
    if (r > 0) {
        c->cl = CL_TLS;
        return true;
    }
    if (r < 0) {
        /* A browser that refuses the certificate says so with an alert, and the usual cause
         * is that it does not trust the CA yet: say where it is. */
        char msg[1024];
        bool alert = strstr(why, "alert") != NULL;
        snprintf(msg, sizeof(msg), "https://%s: %s%s%s%s", c->leaf_host, why,
                 alert ? "; does the browser trust " : "", alert ? rp_ca_cert_path(p->ca) : "",
                 alert ? "?" : "");
        log_msg(p, RP_LOG_WARN, msg);
        return false;
    }
    return true;
}

/* One turn for one connection. Returns false when it was freed. */
static bool conn_step(struct rp_proxy *p, struct rp__conn *c, short crev, short urev)
{
    if (c->cl == CL_HANDSHAKE && crev && !client_handshake(p, c)) {
        conn_free(p, c, "the client's TLS handshake failed");
        return false;
    }
    if (c->up == UP_CONNECTING && urev) {
        upstream_connected(p, c);
    }
    if (c->up == UP_HANDSHAKE && (urev || c->ssl_want_write)) {
        char why[300];
        int r = rp__proxy_tls_handshake(c->ssl, &c->ssl_want_write, why, sizeof(why));
        if (r > 0) {
            upstream_open(c);
        } else if (r < 0) {
            char msg[400];
            snprintf(msg, sizeof(msg), "upstream %s: %s", c->org->url, why);
            if (p->o.log) {
                p->o.log(p->o.log_ud, RP_LOG_ERROR, msg);
            }
            fail_upstream(p, c, msg);
        }
    }
    if (crev && !read_client(p, c)) {
        conn_free(p, c, "the client reset the connection");
        return false;
    }
    write_upstream(p, c);
    read_upstream(p, c);
    if (!write_client(c)) {
        conn_free(p, c, "the client went away before the answer");
        return false;
    }
    if (c->cl == CL_TLS_START && !rp__qbuf_pending(&c->to_cl)) {
        if (!start_client_tls(p, c) || !client_handshake(p, c)) {
            conn_free(p, c, "the client's TLS handshake failed");
            return false;
        }
    }
    /* After reading, the other side's queue may have room again: read what is waiting. */
    if (crev && client_readable(c) && !read_client(p, c)) {
        conn_free(p, c, "the client reset the connection");
        return false;
    }
    write_upstream(p, c);
    if (c->closing && !rp__qbuf_pending(&c->to_cl)) {
        conn_free(p, c, "the connection closed");
        return false;
    }
    if (c->client_eof && (conn_idle(c) || c->up == UP_CLOSED || c->tunnel)) {
        if (!c->tunnel || c->up_eof || c->up == UP_CLOSED) {
            conn_free(p, c, "the client closed the connection");
            return false;
        }
    }
    return true;
}

/* ----- the loop ---------------------------------------------------------------------------- */

static void accept_clients(struct rp_proxy *p)
{
    for (int i = 0; i < 64; i++) {
        int fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        if (p->n_conns >= RP_PROXY_MAX_CONNS) {
            static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                       "Connection: close\r\n\r\n";
            (void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
            close(fd);
            continue;
        }
        no_delay(fd);
        (void)conn_new(p, fd);
    }
}

static short poll_client(const struct rp__conn *c)
{
    if (c->cl == CL_HANDSHAKE) {
        return c->cssl_want_write ? POLLOUT : POLLIN;
    }
    short ev = 0;
    if (client_readable(c)) {
        ev |= POLLIN;
    }
    if (rp__qbuf_pending(&c->to_cl) || (c->cssl && c->cssl_want_write)) {
        ev |= POLLOUT;
    }
    return ev;
}

/* TLS may hold decrypted bytes the socket no longer shows: they must not wait for poll(). */
static bool tls_buffered(const struct rp__conn *c)
{
    return (c->ssl && upstream_readable(c) && SSL_pending(c->ssl) > 0) ||
           (c->cssl && client_readable(c) && SSL_pending(c->cssl) > 0);
}

/* Hands the resolver's answers to the connections that asked. */
static void take_lookups(struct rp_proxy *p)
{
    uint64_t id;
    bool ok;
    struct rp__addrs addrs;
    char why[200];
    while (rp__dns_next(p->dns, &id, &ok, &addrs, why, sizeof(why))) {
        struct rp__conn *c = p->conns;
        while (c && c->id != id) {
            c = c->next;
        }
        if (!c || c->up != UP_RESOLVING) {
            continue; /* gone, or failed meanwhile */
        }
        c->up = UP_NONE;
        if (!ok) {
            char msg[400];
            snprintf(msg, sizeof(msg), "upstream %s: %s", c->org->url, why);
            fail_upstream(p, c, msg);
            continue;
        }
        c->org->addrs = addrs;
        c->org->resolved = true;
        c->addr_idx = 0;
        start_upstream(p, c);
    }
}

static short poll_upstream(const struct rp__conn *c)
{
    switch (c->up) {
    case UP_CONNECTING:
        return POLLOUT;
    case UP_HANDSHAKE:
        return c->ssl_want_write ? POLLOUT : POLLIN;
    case UP_OPEN: {
        short ev = 0;
        if (upstream_readable(c)) {
            ev |= POLLIN;
        }
        if (rp__qbuf_pending(&c->to_up) || c->ssl_want_write) {
            ev |= POLLOUT;
        }
        return ev;
    }
    default:
        return 0;
    }
}

rp_code rp_proxy_run(struct rp_proxy *p, struct rp_error *err)
{
    struct pollfd *pfd = NULL;
    struct rp__conn **who = NULL;
    size_t cap = 0;
    bool stopping = false;
    int64_t drain_end = 0;
    rp_code rc = RP_ESYS;

    for (;;) {
        int64_t now = rp__mono_ms();
        if (stopping) {
            for (struct rp__conn *c = p->conns, *next; c; c = next) {
                next = c->next;
                if (conn_idle(c) || c->tunnel) {
                    conn_free(p, c, "the proxy stopped");
                }
            }
            if (!p->conns || now >= drain_end) {
                break;
            }
        }
        for (struct rp__conn *c = p->conns, *next; c; c = next) {
            next = c->next;
            if ((c->up == UP_RESOLVING || c->up == UP_CONNECTING || c->up == UP_HANDSHAKE) &&
                now >= c->deadline_ms) {
                fail_upstream(p, c, "upstream connect timed out");
            } else if (now - c->active_ms >= (int64_t)RP_PROXY_IDLE_MS) {
                conn_free(p, c, "the connection was idle too long");
            }
        }
        size_t want = 3 + 2 * p->n_conns;
        if (want > cap) {
            cap = want * 2;
            pfd = rp_xreallocarray(pfd, cap, sizeof(*pfd));
            who = rp_xreallocarray(who, cap, sizeof(*who));
        }
        size_t n = 0;
        pfd[n++] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = stopping ? -1 : p->lfd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = p->dns ? rp__dns_fd(p->dns) : -1, .events = POLLIN};
        for (struct rp__conn *c = p->conns; c; c = c->next) {
            who[n] = c;
            pfd[n++] = (struct pollfd){.fd = c->cfd, .events = poll_client(c)};
            who[n] = c;
            pfd[n++] = (struct pollfd){.fd = c->ufd, .events = poll_upstream(c)};
        }
        int timeout = 200;
        for (struct rp__conn *c = p->conns; c; c = c->next) {
            if (tls_buffered(c)) {
                timeout = 0;
                break;
            }
        }
        int r = poll(pfd, (nfds_t)n, timeout);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            rp_error_set(err, RP_ESYS, "poll: %s", strerror(errno));
            goto out;
        }
        if (pfd[0].revents) {
            char b[16];
            ssize_t k = read(p->wake[0], b, sizeof(b));
            bool now_stop = k > 0 && memchr(b, 'n', (size_t)k);
            if (now_stop) {
                break;
            }
            if (k > 0 && !stopping) {
                stopping = true;
                drain_end = now + RP_PROXY_DRAIN_MS;
            }
        }
        /* Connections accepted now are polled from the next turn; the ones polled this turn are
         * stepped in order, skipping any freed on the way (a freed one is never revisited). */
        if (pfd[2].revents) {
            take_lookups(p);
        }
        for (size_t i = 3; i + 1 < n; i += 2) {
            struct rp__conn *c = who[i];
            short crev = pfd[i].revents;
            short urev = pfd[i + 1].revents;
            if (!crev && !urev && !tls_buffered(c)) {
                continue;
            }
            if (c->cssl && !crev && SSL_pending(c->cssl) > 0) {
                crev = POLLIN;
            }
            (void)conn_step(p, c, crev, urev); /* each connection is in who[] once */
        }
        if (!stopping && pfd[1].revents) {
            accept_clients(p);
        }
    }
    rc = RP_OK;
out:
    while (p->conns) {
        conn_free(p, p->conns, "the proxy stopped before the answer");
    }
    if (rc == RP_OK && p->write_rc) {
        rc = rp_error_set(err, p->write_rc, "%s", p->write_err.msg);
    }
    free(pfd);
    free(who);
    return rc;
}

void rp_proxy_stop(struct rp_proxy *p, bool now)
{
    char b = now ? 'n' : 'g';
    (void)!write(p->wake[1], &b, 1);
}

void rp_proxy_stats(const struct rp_proxy *p, struct rp_proxy_stats *out)
{
    *out = p->stats;
}

unsigned rp_proxy_port(const struct rp_proxy *p)
{
    return p->port;
}
