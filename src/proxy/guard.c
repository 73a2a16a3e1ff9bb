/* SPDX-License-Identifier: MIT */
/*
 * Who may use the proxy and where it may go. Clients are matched against the --allow address
 * ranges (CIDR); forward mode does not relay or tunnel to this machine's own services
 * (loopback, the unspecified address) or to link-local ones (cloud metadata at 169.254.169.254)
 * unless --allow-local says so, since a proxy reachable from elsewhere would otherwise open
 * them to anyone who can reach it. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are read as the
 * IPv4 address they carry. Also the descriptor budget: the soft file limit raised to the hard
 * one, and how many connections fit in it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <reprise/limits.h>

#include "internal.h"

/* An address as 16 bytes: IPv4 in the first four (family AF_INET), IPv6 in all of them. */
struct addr16 {
    int family;
    unsigned char b[16];
};

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool addr_of(const struct sockaddr *sa, struct addr16 *out)
{
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET) {
        out->family = AF_INET;
        memcpy(out->b, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const unsigned char *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
        if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
            out->family = AF_INET;
            memcpy(out->b, a + 12, 4);
        } else {
            out->family = AF_INET6;
            memcpy(out->b, a, 16);
        }
        return true;
    }
    return false;
}

/* True when the first bits of a and b are the same. */
static bool prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned whole = bits / 8;
    if (memcmp(a, b, whole) != 0) {
        return false;
    }
    unsigned rest = bits % 8;
    if (rest == 0) {
        return true;
    }
    unsigned char mask = (unsigned char)(0xff00u >> rest);
    return (a[whole] & mask) == (b[whole] & mask);
}

bool rp__cidr_parse(const char *s, struct rp__cidr *out)
{
    char host[64];
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    if (hl == 0 || hl >= sizeof(host)) {
        return false;
    }
    memcpy(host, s, hl);
    host[hl] = '\0';
    struct rp__cidr c;
    memset(&c, 0, sizeof(c));
    unsigned max;
    if (inet_pton(AF_INET, host, c.b) == 1) {
        c.family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, host, c.b) == 1) {
        c.family = AF_INET6;
        max = 128;
        if (memcmp(c.b, v4mapped, sizeof(v4mapped)) == 0) {
            return false; /* ::ffff:a.b.c.d/N: write a.b.c.d/N-96 */
        }
    } else {
        return false;
    }
    c.bits = max;
    if (slash) {
        const char *d = slash + 1;
        size_t dl = strlen(d);
        if (dl == 0 || dl > 3 || strspn(d, "0123456789") != dl) {
            return false;
        }
        unsigned long v = strtoul(d, NULL, 10);
        if (v > max) {
            return false;
        }
        c.bits = (unsigned)v;
    }
    *out = c;
    return true;
}

bool rp__cidr_match(const struct rp__cidr *c, const struct sockaddr *sa)
{
    struct addr16 a;
    return addr_of(sa, &a) && a.family == c->family && prefix_eq(a.b, c->b, c->bits);
}

bool rp__allowed_client(const struct rp__cidr *allow, size_t n, const struct sockaddr *sa)
{
    if (n == 0) {
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        if (rp__cidr_match(&allow[i], sa)) {
            return true;
        }
    }
    return false;
}

bool rp__addr_loopback(const struct sockaddr *sa)
{
    static const unsigned char v6lo[16] = {[15] = 1};
    struct addr16 a;
    if (!addr_of(sa, &a)) {
        return false;
    }
    return a.family == AF_INET ? a.b[0] == 127 : memcmp(a.b, v6lo, 16) == 0;
}

bool rp__addr_local(const struct sockaddr *sa)
{
    static const unsigned char zero[16] = {0};
    struct addr16 a;
    if (!addr_of(sa, &a)) {
        return true; /* not IP: nothing the proxy should reach */
    }
    if (rp__addr_loopback(sa)) {
        return true;
    }
    if (a.family == AF_INET) {
        /* 0.0.0.0/8 reaches this machine; 169.254/16 is link-local. */
        return a.b[0] == 0 || (a.b[0] == 169 && a.b[1] == 254);
    }
    /* :: (unspecified, reaches this machine) and fe80::/10 (link-local). */
    return memcmp(a.b, zero, 16) == 0 || (a.b[0] == 0xfe && (a.b[1] & 0xc0) == 0x80);
}

/* ----- the descriptor budget --------------------------------------------------------------- */

/* Descriptors open now, counted up to the first RP__FD_SCAN (those are all a process that just
 * started holds). */
#define RP__FD_SCAN 4096

static size_t fds_open(size_t limit)
{
    size_t n = 0;
    size_t top = limit < RP__FD_SCAN ? limit : RP__FD_SCAN;
    for (size_t fd = 0; fd < top; fd++) {
        if (fcntl((int)fd, F_GETFD) != -1 || errno != EBADF) {
            n++;
        }
    }
    return n;
}

size_t rp__proxy_fd_budget(size_t *limit_out)
{
    struct rlimit rl;
    size_t limit = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur != RLIM_INFINITY &&
            (rl.rlim_max == RLIM_INFINITY || rl.rlim_cur < rl.rlim_max)) {
            struct rlimit up = rl;
            up.rlim_cur = rl.rlim_max;
            /* An unlimited hard limit is not a soft limit the kernel takes (nr_open caps it):
             * then a generous finite one. */
            if (setrlimit(RLIMIT_NOFILE, &up) != 0) {
                up.rlim_cur =
                    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
                if (up.rlim_cur > rl.rlim_cur) {
                    (void)setrlimit(RLIMIT_NOFILE, &up); /* on failure the old limit stays */
                }
            }
            if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
                rl.rlim_cur = 1024;
            }
        }
        limit = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > SIZE_MAX / 2 ? SIZE_MAX / 2
                                                                           : (size_t)rl.rlim_cur;
    }
    *limit_out = limit;
    /* What is open now stays open; the rest of the headroom is for what opens later: the file
     * a refused client is answered on, the resolver's sockets, certificate files TLS reads. */
    size_t reserve = fds_open(limit) + RP_PROXY_FD_SPARE;
    size_t conns = limit > reserve ? (limit - reserve) / RP_PROXY_FDS_PER_CONN : 0;
    if (conns > RP_PROXY_MAX_CONNS) {
        conns = RP_PROXY_MAX_CONNS;
    }
    return conns ? conns : 1;
}
