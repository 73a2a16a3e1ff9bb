/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the proxy's relay loop (src/proxy/loop.c, conn.c, relay.c, heads.c) and its
 * recording side (record.c, the HTTP parser, intake), driven as the real loop runs them. The
 * input is a script: a flags byte, then steps of one op byte, a two-byte length and that many
 * bytes. A step writes bytes to the proxy as the client or as the upstream, half-closes either
 * side, or closes both and starts a new connection; after each, the loop turns (poll() with no
 * wait) until it has nothing left to do, and what it sent either way is read and thrown away.
 * Reverse or forward mode; the upstream is never looked up or connected to: the proxy's
 * connect_seam gives each connection a socketpair as its upstream when the proxy would
 * connect. The sockets are socketpairs: no network port is opened, and nothing leaves the
 * process. Forward mode records hosts matching shop.test and *.shop.test, tunnels others, and
 * intercepts a CONNECT to a recorded host with a CA made once per process in a temporary
 * directory (removed at exit); the fuzzed client's TLS handshake then mostly fails, as it
 * should. The
 * recording goes to /dev/null (or $FUZZ_RELAY_OUT) through a fresh intake per input, recorded on
 * the loop's thread (no recording thread: the seam record.c keeps for this), so a run is
 * deterministic.
 *
 * Flags byte: bit 0 a 64-byte body cap (else the default), bit 1 secrets recorded as sent
 * (--no-redact), bit 2 --only-path "/api/…" (filtering), bit 3 static assets kept, bit 4
 * forward mode.
 * Op byte, low 3 bits: 0 client bytes, 1 upstream bytes, 2 client half-close, 3 upstream
 * half-close, 4 a new connection (the old one closed), 5-7 client bytes again (the common case).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <reprise/ca.h>
#include <reprise/intake.h>
#include <reprise/limits.h>

#include "proxy/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Turns of the loop after each step, at most: each moves at most READS_PER_TURN reads per
 * socket, so a step of up to 64 KiB needs a few. */
#define MAX_TURNS 64
/* Steps per input, at most. */
#define MAX_STEPS 64

struct harness {
    struct rp_proxy *p;
    int cl; /* the client's end of the client socketpair */
    int up; /* the upstream's end of the upstream socketpair; -1 until the proxy connects */
    char sink[65536];
};

/* The harness of the input being run: the connect seam has no user data of its own. */
static struct harness *g_h;

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void pair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        abort();
    }
    set_nonblock(sv[0]);
    set_nonblock(sv[1]);
}

/* Where the proxy would resolve and connect: a socketpair, open at once (any TLS to the
 * upstream skipped). A connection moving to another origin closed its old upstream first. */
static void connect_seam(struct rp_proxy *p, struct rp__conn *c)
{
    (void)p;
    int us[2];
    pair(us);
    if (g_h->up >= 0) {
        close(g_h->up);
    }
    c->ufd = us[0];
    g_h->up = us[1];
    rp__proxy_upstream_open(c);
}

/* A new client connection: a socketpair, the proxy's end non-blocking. */
static void conn_open(struct harness *h)
{
    int cs[2];
    pair(cs);
    (void)rp__proxy_conn_new(h->p, cs[0]);
    h->cl = cs[1];
}

static void conn_close(struct harness *h)
{
    if (h->cl >= 0) {
        close(h->cl);
    }
    if (h->up >= 0) {
        close(h->up);
    }
    h->cl = h->up = -1;
}

/* Reads and drops what the proxy wrote to fd; true when anything came. */
static bool drain(struct harness *h, int fd)
{
    bool got = false;
    for (int i = 0; i < 64 && fd >= 0; i++) {
        ssize_t k = recv(fd, h->sink, sizeof(h->sink), MSG_DONTWAIT);
        if (k <= 0) {
            break;
        }
        got = true;
    }
    return got;
}

/* Turns the loop until a turn changes nothing the harness can see (bounded). */
static void settle(struct harness *h)
{
    for (int i = 0; i < MAX_TURNS && h->p->conns; i++) {
        if (rp__proxy_turn(h->p, 0, NULL) < 0) {
            abort();
        }
        bool moved = drain(h, h->cl);
        moved = drain(h, h->up) || moved;
        if (!moved && i >= 2) {
            break;
        }
    }
}

/* Writes what fits of n bytes to fd (the proxy's queues are bounded: the rest is dropped). */
static void put(struct harness *h, int fd, const uint8_t *s, size_t n)
{
    while (fd >= 0 && n > 0) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k <= 0) {
            /* The proxy has not read yet, or has closed its end: let it turn, once. */
            settle(h);
            k = send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (k <= 0) {
                return;
            }
        }
        s += k;
        n -= (size_t)k;
    }
}

static struct rp_intake *intake_for(uint8_t flags)
{
    static const char *const only[] = {"/api/*"};
    /* FUZZ_RELAY_OUT=FILE keeps the recording of the (last) input run, to look at a seed. */
    const char *out = getenv("FUZZ_RELAY_OUT");
    struct rp_intake_opts io = {
        .output = out && *out ? out : "/dev/null",
        .source_kind = "proxy",
        .max_body = (flags & 1) ? 64 : 0,
        .no_redact = (flags & 2) != 0,
        .only_paths = (flags & 4) ? only : NULL,
        .n_only_paths = (flags & 4) ? 1 : 0,
        .include_static = (flags & 8) != 0,
    };
    struct rp_intake *in = NULL;
    if (rp_intake_new(&io, &in, NULL)) {
        abort();
    }
    return in;
}

static char ca_dir[] = "/tmp/fuzz_relay_ca.XXXXXX";

static void ca_dir_remove(void)
{
    DIR *d = opendir(ca_dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] != '.') {
            char path[sizeof(ca_dir) + 300];
            snprintf(path, sizeof(path), "%s/%s", ca_dir, e->d_name);
            unlink(path);
        }
    }
    if (d) {
        closedir(d);
    }
    rmdir(ca_dir);
}

/* The interception CA, made once per process. */
static struct rp_ca *the_ca(void)
{
    static struct rp_ca *ca;
    if (!ca) {
        bool created = false;
        if (!mkdtemp(ca_dir) || rp_ca_open(ca_dir, true, &ca, &created, NULL)) {
            abort();
        }
        atexit(ca_dir_remove);
    }
    return ca;
}

/* A proxy in reverse mode to http://shop.test:8080, or in forward mode, with no socket of its
 * own: no listen socket, no wake pipe, no resolver; connect_seam stands in for connecting. */
static struct rp_proxy *proxy_for(struct rp_intake *in, bool forward)
{
    static const char *const only[] = {"shop.test", "*.shop.test"};
    struct rp_proxy *p = rp_xcalloc(1, sizeof(*p));
    p->lfd = -1;
    p->wake[0] = p->wake[1] = -1;
    p->in = in;
    p->max_conns = 16;
    p->fd_limit = 1024;
    p->connect_seam = connect_seam;
    if (forward) {
        p->o.forward = true;
        p->o.only_hosts = only;
        p->o.n_only_hosts = 2;
        p->ca = the_ca();
        return p;
    }
    static const char up[] = "shop.test:8080";
    if (!rp__origin_set(&p->rev, false, up, sizeof(up) - 1)) {
        abort();
    }
    p->rev.record = true;
    p->rev.resolved = true;
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    if (!once) {
        signal(SIGPIPE, SIG_IGN);
        once = true;
    }
    if (size < 1) {
        return 0;
    }
    uint8_t flags = data[0];
    data++;
    size--;
    struct harness h = {.cl = -1, .up = -1};
    g_h = &h;
    struct rp_intake *in = intake_for(flags);
    h.p = proxy_for(in, (flags & 16) != 0);
    conn_open(&h);
    for (int step = 0; step < MAX_STEPS && size >= 3; step++) {
        uint8_t op = data[0] & 7;
        size_t n = (size_t)data[1] | ((size_t)data[2] << 8);
        data += 3;
        size -= 3;
        n = n < size ? n : size;
        if (!h.p->conns && op != 4) {
            conn_close(&h); /* the proxy closed the connection: a new one for what follows */
            conn_open(&h);
        }
        switch (op) {
        case 1:
            put(&h, h.up, data, n);
            break;
        case 2:
            (void)shutdown(h.cl, SHUT_WR);
            break;
        case 3:
            (void)shutdown(h.up, SHUT_WR);
            break;
        case 4:
            conn_close(&h);
            settle(&h); /* the proxy sees both ends go */
            while (h.p->conns) {
                rp__proxy_conn_free(h.p, h.p->conns, "the fuzz harness closed it");
            }
            conn_open(&h);
            break;
        default:
            put(&h, h.cl, data, n);
            break;
        }
        data += n;
        size -= n;
        settle(&h);
    }
    /* The end: both sides close, as at a stop, and every exchange in flight is recorded. */
    conn_close(&h);
    settle(&h);
    while (h.p->conns) {
        rp__proxy_conn_free(h.p, h.p->conns, "the proxy stopped before the answer");
    }
    free(h.p->pfd);
    free(h.p->who);
    h.p->ca = NULL; /* the process's, kept for the next input */
    rp_proxy_free(h.p);
    g_h = NULL;
    rp_ignore(rp_intake_close(in, NULL));
    rp_intake_free(in);
    return 0;
}
