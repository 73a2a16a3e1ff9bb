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

/* Reads per socket per turn of the loop, so one fast connection cannot starve the others. */
#define READS_PER_TURN 4

/* ----- reading and writing ----------------------------------------------------------------- */

/* The upstream ended its side: a body delimited by the close ends, and every request still
 * waiting is unanswered. The client's side closes once what it is owed is written. */
static void upstream_eof(struct rp_proxy *p, struct rp__conn *c)
{
    c->up_eof = true;
    if (!c->tunnel) {
        if (c->resp.st == DIR_BODY) {
            (void)http_parser_execute(&c->resp.hp, &rp__proxy_resp_settings, NULL, 0);
            if (c->resp.msg_done) {
                (void)rp__proxy_end_message(p, c, false);
            }
        }
        rp_http_parser_finish(c->resp.rp, rp_now_us());
        rp__proxy_collect(p, c);
        if (c->n_pending) {
            rp__proxy_fail_upstream(p, c, "upstream closed the connection without answering");
        }
    }
    rp__proxy_close_upstream(c);
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
        if (!rp__proxy_process(p, c, true, p->scratch, (size_t)k)) {
            if (!c->answered && c->n_pending == 0) {
                rp__proxy_queue_error(c, 400, "Bad Request",
                                      "the request is not HTTP/1.x reprise can relay");
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
                rp__proxy_fail_upstream(p, c, "upstream reset the connection");
            }
            break;
        }
        if (!rp__proxy_process(p, c, false, p->scratch, (size_t)k)) {
            rp__proxy_fail_upstream(p, c, "upstream sent a response reprise cannot relay");
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
        rp__qbuf_consume(&c->to_cl, (size_t)k);
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
            rp__proxy_fail_upstream(p, c, "upstream reset the connection");
            return;
        }
        c->active_ms = rp__mono_ms();
        rp__qbuf_consume(&c->to_up, (size_t)k);
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
        rp__proxy_conn_free(p, c, "the client's TLS handshake failed");
        return false;
    }
    if (c->up == UP_CONNECTING && urev) {
        rp__proxy_upstream_connected(p, c);
    }
    if (c->up == UP_HANDSHAKE && (urev || c->ssl_want_write)) {
        char why[300];
        int r = rp__proxy_tls_handshake(c->ssl, &c->ssl_want_write, why, sizeof(why));
        if (r > 0) {
            rp__proxy_upstream_open(c);
        } else if (r < 0) {
            char msg[400];
            snprintf(msg, sizeof(msg), "upstream %s: %s", c->org->url, why);
            if (p->o.log) {
                p->o.log(p->o.log_ud, RP_LOG_ERROR, msg);
            }
            rp__proxy_fail_upstream(p, c, msg);
        }
    }
    if (crev && !read_client(p, c)) {
        rp__proxy_conn_free(p, c, "the client reset the connection");
        return false;
    }
    write_upstream(p, c);
    read_upstream(p, c);
    if (!write_client(c)) {
        rp__proxy_conn_free(p, c, "the client went away before the answer");
        return false;
    }
    if (c->cl == CL_TLS_START && !rp__qbuf_pending(&c->to_cl)) {
        if (!start_client_tls(p, c) || !client_handshake(p, c)) {
            rp__proxy_conn_free(p, c, "the client's TLS handshake failed");
            return false;
        }
    }
    /* After reading, the other side's queue may have room again: read what is waiting. */
    if (crev && client_readable(c) && !read_client(p, c)) {
        rp__proxy_conn_free(p, c, "the client reset the connection");
        return false;
    }
    write_upstream(p, c);
    if (c->closing && !rp__qbuf_pending(&c->to_cl)) {
        rp__proxy_conn_free(p, c, "the connection closed");
        return false;
    }
    if (c->client_eof && (conn_idle(c) || c->up == UP_CLOSED || c->tunnel)) {
        if (!c->tunnel || c->up_eof || c->up == UP_CLOSED) {
            rp__proxy_conn_free(p, c, "the client closed the connection");
            return false;
        }
    }
    return true;
}

/* ----- the loop ---------------------------------------------------------------------------- */

/* Answers a client the proxy does not take, and closes its socket. */
static void turn_away(int fd, const char *status, const char *why)
{
    char msg[512];
    int k = snprintf(msg, sizeof(msg),
                     "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\nreprise: %s\n",
                     status, strlen(why) + 10, why);
    if (k > 0 && (size_t)k < sizeof(msg)) {
        (void)!send(fd, msg, (size_t)k, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    /* A request left unread would make close() reset the connection, and the reset can
     * overtake the answer: what has come is read (not waited for) first. */
    char sink[4096];
    for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++) {
    }
    close(fd);
}

static void accept_clients(struct rp_proxy *p)
{
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(p->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            /* Out of descriptors (something beyond the connections used the spares): the
             * client waits in the backlog, and the loop does not spin on it meanwhile. */
            if (errno == EMFILE || errno == ENFILE) {
                p->accept_resume_ms = rp__mono_ms() + 100;
            }
            return;
        }
        if (!rp__allowed_client(p->allow, p->o.n_allow, (struct sockaddr *)&ss)) {
            p->stats.refused++;
            turn_away(fd, "403 Forbidden", "this address is not in the proxy's --allow");
            continue;
        }
        if (p->n_conns >= p->max_conns) {
            p->stats.busy++;
            if (!p->warned_full) { /* once: the summary counts them all */
                char msg[256];
                snprintf(msg, sizeof(msg),
                         "%zu connections, as many as the file limit (%zu) leaves room for: "
                         "new ones are answered 503",
                         p->n_conns, p->fd_limit);
                log_msg(p, RP_LOG_WARN, msg);
                p->warned_full = true;
            }
            turn_away(fd, "503 Service Unavailable",
                      "too many connections for the proxy's file limit; try again");
            continue;
        }
        rp__proxy_no_delay(fd);
        (void)rp__proxy_conn_new(p, fd);
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
            rp__proxy_fail_upstream(p, c, msg);
            continue;
        }
        c->org->addrs = addrs;
        c->org->resolved = true;
        c->addr_idx = 0;
        rp__proxy_start_upstream(p, c);
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

int rp__proxy_turn(struct rp_proxy *p, int timeout_ms, struct rp_error *err)
{
    int64_t now = rp__mono_ms();
    if (p->stopping) {
        for (struct rp__conn *c = p->conns, *next; c; c = next) {
            next = c->next;
            if (conn_idle(c) || c->tunnel) {
                rp__proxy_conn_free(p, c, "the proxy stopped");
            }
        }
        if (!p->conns || now >= p->drain_end) {
            return 0;
        }
    }
    for (struct rp__conn *c = p->conns, *next; c; c = next) {
        next = c->next;
        if ((c->up == UP_RESOLVING || c->up == UP_CONNECTING || c->up == UP_HANDSHAKE) &&
            now >= c->deadline_ms) {
            rp__proxy_fail_upstream(p, c, "upstream connect timed out");
        } else if (now - c->active_ms >= (int64_t)RP_PROXY_IDLE_MS) {
            rp__proxy_conn_free(p, c, "the connection was idle too long");
        }
    }
    size_t want = 3 + 2 * p->n_conns;
    if (want > p->pfd_cap) {
        p->pfd_cap = want * 2;
        p->pfd = rp_xreallocarray(p->pfd, p->pfd_cap, sizeof(*p->pfd));
        p->who = rp_xreallocarray(p->who, p->pfd_cap, sizeof(*p->who));
    }
    struct pollfd *pfd = p->pfd;
    struct rp__conn **who = p->who;
    size_t n = 0;
    pfd[n++] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
    bool accepting = !p->stopping && now >= p->accept_resume_ms;
    pfd[n++] = (struct pollfd){.fd = accepting ? p->lfd : -1, .events = POLLIN};
    pfd[n++] = (struct pollfd){.fd = p->dns ? rp__dns_fd(p->dns) : -1, .events = POLLIN};
    for (struct rp__conn *c = p->conns; c; c = c->next) {
        who[n] = c;
        pfd[n++] = (struct pollfd){.fd = c->cfd, .events = poll_client(c)};
        who[n] = c;
        pfd[n++] = (struct pollfd){.fd = c->ufd, .events = poll_upstream(c)};
    }
    int timeout = timeout_ms;
    for (struct rp__conn *c = p->conns; c; c = c->next) {
        if (tls_buffered(c)) {
            timeout = 0;
            break;
        }
    }
    int r = poll(pfd, (nfds_t)n, timeout);
    if (r < 0) {
        if (errno == EINTR) {
            return 1;
        }
        rp_error_set(err, RP_ESYS, "poll: %s", strerror(errno));
        return -1;
    }
    if (pfd[0].revents) {
        char b[16];
        ssize_t k = read(p->wake[0], b, sizeof(b));
        bool now_stop = k > 0 && memchr(b, 'n', (size_t)k);
        if (now_stop) {
            return 0;
        }
        if (k > 0 && !p->stopping) {
            p->stopping = true;
            p->drain_end = now + RP_PROXY_DRAIN_MS;
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
    if (accepting && pfd[1].revents) {
        accept_clients(p);
    }
    return 1;
}

rp_code rp_proxy_run(struct rp_proxy *p, struct rp_error *err)
{
    rp_code rc = rp__proxy_rec_start(p, err);
    if (rc) {
        return rc;
    }
    int r;
    do {
        r = rp__proxy_turn(p, 200, err);
    } while (r > 0);
    rc = r < 0 ? RP_ESYS : RP_OK;
    /* Nothing is relayed any more: what is still in flight waits for room in the queue. */
    rp__proxy_rec_blocking(p);
    while (p->conns) {
        rp__proxy_conn_free(p, p->conns, "the proxy stopped before the answer");
    }
    rp__proxy_rec_finish(p);
    if (rc == RP_OK && p->write_rc) {
        rc = rp_error_set(err, p->write_rc, "%s", p->write_err.msg);
    }
    free(p->pfd);
    free(p->who);
    p->pfd = NULL;
    p->who = NULL;
    p->pfd_cap = 0;
    return rc;
}

void rp_proxy_stop(struct rp_proxy *p, bool now)
{
    char b = now ? 'n' : 'g';
    (void)!write(p->wake[1], &b, 1);
}

void rp_proxy_stats(const struct rp_proxy *p, struct rp_proxy_stats *out)
{
    rp__proxy_rec_stats(p, out);
}

unsigned rp_proxy_port(const struct rp_proxy *p)
{
    return p->port;
}
