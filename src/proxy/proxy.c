/* SPDX-License-Identifier: MIT */
/*
 * Setting the proxy up and tearing it down: origins taken apart, the reverse mode's upstream
 * resolved once (getaddrinfo, blocking, at start), forward mode's CA opened and resolver
 * started, the listen socket bound, TLS prepared. The recording is the caller's intake.
 */
/* accept4() and SOCK_NONBLOCK | SOCK_CLOEXEC (Linux, the BSDs) are not in POSIX 2008. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <reprise/limits.h>

#include "internal.h"

bool rp__proxy_split_hostport(const char *s, size_t len, char **host, char **port)
{
    const char *e = s + len;
    const char *h = s;
    const char *he;
    const char *colon;
    if (len && s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        if (!rb) {
            return false;
        }
        h = s + 1;
        he = rb;
        colon = rb + 1 < e ? rb + 1 : NULL;
        if (colon && *colon != ':') {
            return false;
        }
    } else {
        colon = memchr(s, ':', len);
        he = colon ? colon : e;
    }
    if (he == h) {
        return false;
    }
    if (colon) {
        const char *ps = colon + 1;
        if (ps == e || (size_t)(e - ps) > 5 || strspn(ps, "0123456789") < (size_t)(e - ps)) {
            return false;
        }
        unsigned long v = strtoul(ps, NULL, 10);
        if (v > 65535) {
            return false;
        }
        *port = rp_xstrndup(ps, (size_t)(e - ps));
    } else {
        *port = NULL;
    }
    *host = rp_xstrndup(h, (size_t)(he - h));
    return true;
}

bool rp__origin_set(struct rp__origin *o, bool tls, const char *auth, size_t len)
{
    char *host = NULL;
    char *port = NULL;
    if (len == 0 || !rp__proxy_split_hostport(auth, len, &host, &port)) {
        return false;
    }
    unsigned dflt = tls ? 443 : 80;
    unsigned pn = port ? (unsigned)strtoul(port, NULL, 10) : dflt;
    free(port);
    /* A host is a name or an address literal: no spaces, slashes or other URL syntax. */
    if (pn == 0 || strlen(host) > 253 || strcspn(host, " \t/?#@%\\\"<>") != strlen(host)) {
        free(host);
        return false;
    }
    rp__origin_cleanup(o);
    o->tls = tls;
    o->host = host;
    o->port = pn;
    bool v6 = strchr(host, ':') != NULL;
    struct rp_buf b;
    rp_buf_init(&b, RP_MAX_URL_BYTES);
    rp_ignore(rp_buf_addf(&b, NULL, v6 ? "[%s]" : "%s", host));
    if (pn != dflt) {
        rp_ignore(rp_buf_addf(&b, NULL, ":%u", pn));
    }
    o->hostport = rp_buf_take(&b, NULL);
    rp_buf_init(&b, RP_MAX_URL_BYTES);
    rp_ignore(rp_buf_addf(&b, NULL, "%s://%s", tls ? "https" : "http", o->hostport));
    o->url = rp_buf_take(&b, NULL);
    return true;
}

void rp__origin_cleanup(struct rp__origin *o)
{
    free(o->host);
    free(o->hostport);
    free(o->url);
    memset(o, 0, sizeof(*o));
}

bool rp__origin_same(const struct rp__origin *a, const struct rp__origin *b)
{
    return a->host && b->host && a->tls == b->tls && a->port == b->port &&
           strlen(a->host) == strlen(b->host) && rp_strieq(a->host, strlen(a->host), b->host);
}

static rp_code parse_upstream(struct rp_proxy *p, const char *url, struct rp_error *err)
{
    const char *rest;
    bool tls;
    if (strncmp(url, "http://", 7) == 0) {
        rest = url + 7;
        tls = false;
    } else if (strncmp(url, "https://", 8) == 0) {
        rest = url + 8;
        tls = true;
    } else {
        return rp_error_set(err, RP_EUSAGE, "--upstream %s: want http://HOST[:PORT] or https://...",
                            url);
    }
    size_t len = strcspn(rest, "/?#");
    if (rest[len] && strcmp(rest + len, "/") != 0) {
        return rp_error_set(err, RP_EUSAGE,
                            "--upstream %s: a path is not supported, only an origin", url);
    }
    if (!rp__origin_set(&p->rev, tls, rest, len)) {
        return rp_error_set(err, RP_EUSAGE, "--upstream %s: bad host or port", url);
    }
    p->rev.record = true;
    return RP_OK;
}

static rp_code resolve_upstream(struct rp_proxy *p, struct rp_error *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
    struct addrinfo *res = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%u", p->rev.port);
    int g = getaddrinfo(p->rev.host, port, &hints, &res);
    if (g != 0) {
        return rp_error_set(err, RP_EDNS, "upstream %s: cannot resolve %s: %s", p->rev.url,
                            p->rev.host, gai_strerror(g));
    }
    struct rp__addrs *a = &p->rev.addrs;
    for (const struct addrinfo *ai = res; ai && a->n < RP_PROXY_MAX_ADDRS; ai = ai->ai_next) {
        if (ai->ai_addrlen <= sizeof(a->a[0])) {
            memcpy(&a->a[a->n], ai->ai_addr, ai->ai_addrlen);
            a->len[a->n++] = ai->ai_addrlen;
        }
    }
    freeaddrinfo(res);
    p->rev.resolved = true;
    return RP_OK;
}

static rp_code bind_listen(struct rp_proxy *p, const char *listen_at, struct rp_error *err)
{
    char *host = NULL;
    char *port = NULL;
    struct addrinfo *ai = NULL;
    int fd = -1;
    rp_code rc = RP_EUSAGE;
    if (!rp__proxy_split_hostport(listen_at, strlen(listen_at), &host, &port) || !port) {
        rp_error_set(err, RP_EUSAGE, "--listen %s: want HOST:PORT", listen_at);
        goto out;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g != 0) {
        rc = rp_error_set(err, RP_ESYS, "--listen %s: %s", listen_at, gai_strerror(g));
        goto out;
    }
    /* Forward mode beyond loopback would be an open proxy to anyone who can reach it. */
    if (p->o.forward && p->o.n_allow == 0 && !rp__addr_loopback(ai->ai_addr)) {
        rc = rp_error_set(err, RP_EUSAGE,
                          "--listen %s: forward mode on an address other hosts can reach needs "
                          "--allow CIDR (the clients it serves)",
                          listen_at);
        goto out;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 511) != 0) {
        rc = rp_error_set(err, RP_ESYS, "cannot listen on %s: %s", listen_at, strerror(errno));
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        rc = rp_error_set(err, RP_ESYS, "getsockname: %s", strerror(errno));
        goto out;
    }
    p->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    p->lfd = fd;
    fd = -1;
    rc = RP_OK;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (ai) {
        freeaddrinfo(ai);
    }
    free(host);
    free(port);
    return rc;
}

static char **copy_list(const char *const *v, size_t n)
{
    char **out = rp_xcalloc(n ? n : 1, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        out[i] = rp_xstrdup(v[i]);
    }
    return out;
}

static void free_list(char **v, size_t n)
{
    if (!v) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

static rp_code open_ca(struct rp_proxy *p, const char *dir, struct rp_error *err)
{
    char dflt[4096];
    if (!dir) {
        rp_code rc = rp_ca_default_dir(dflt, sizeof(dflt), err);
        if (rc) {
            return rc;
        }
        dir = dflt;
    }
    bool created = false;
    rp_code rc = rp_ca_open(dir, true, &p->ca, &created, err);
    if (rc == RP_OK && created && p->o.log) {
        char line[4200];
        snprintf(line, sizeof(line), "created a CA for HTTPS interception: %s (docs/ca.md)",
                 rp_ca_cert_path(p->ca));
        p->o.log(p->o.log_ud, RP_LOG_INFO, line);
    }
    return rc;
}

rp_code rp_proxy_new(const struct rp_proxy_opts *opts, struct rp_intake *in, struct rp_proxy **out,
                     struct rp_error *err)
{
    struct rp_proxy *p = rp_xcalloc(1, sizeof(*p));
    rp_code rc = RP_EUSAGE;
    p->lfd = -1;
    p->wake[0] = p->wake[1] = -1;
    p->o = *opts;
    p->in = in;
    if ((!opts->upstream) == !opts->forward || !in) {
        rp_error_set(err, RP_EUSAGE,
                     "an upstream or forward mode (one of them) and a recording are required");
        goto out;
    }
    if (opts->n_allow) {
        p->allow = rp_xcalloc(opts->n_allow, sizeof(*p->allow));
        for (size_t i = 0; i < opts->n_allow; i++) {
            if (!rp__cidr_parse(opts->allow[i], &p->allow[i])) {
                rp_error_set(err, RP_EUSAGE, "--allow %s: want ADDRESS or ADDRESS/BITS",
                             opts->allow[i]);
                goto out;
            }
        }
    }
    p->o.allow = NULL; /* p->allow holds them, parsed */
    p->only_hosts = copy_list(opts->only_hosts, opts->n_only_hosts);
    p->o.only_hosts = (const char *const *)p->only_hosts;
    p->cacert = opts->cacert ? rp_xstrdup(opts->cacert) : NULL;
    p->o.cacert = p->cacert;
    p->o.upstream = NULL;
    p->o.listen = NULL;
    p->o.ca_dir = NULL;

    if (opts->forward) {
        rc = open_ca(p, opts->ca_dir, err);
        if (rc) {
            goto out;
        }
        rc = rp__dns_new(&p->dns, err);
        if (rc) {
            goto out;
        }
    } else {
        rc = parse_upstream(p, opts->upstream, err);
        if (rc) {
            goto out;
        }
        rc = resolve_upstream(p, err);
        if (rc) {
            goto out;
        }
    }
    rc = bind_listen(p, opts->listen ? opts->listen : RP_PROXY_LISTEN, err);
    if (rc) {
        goto out;
    }
    if (opts->forward || p->rev.tls) {
        rc = rp__proxy_tls_init(p, err);
        if (rc) {
            goto out;
        }
    }
    if (pipe(p->wake) != 0) {
        rc = rp_error_set(err, RP_ESYS, "pipe: %s", strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < 2; i++) {
        fcntl(p->wake[i], F_SETFL, O_NONBLOCK);
        fcntl(p->wake[i], F_SETFD, FD_CLOEXEC);
    }
    p->max_conns = rp__proxy_fd_budget(&p->fd_limit);
    *out = p;
    p = NULL;
    rc = RP_OK;
out:
    rp_proxy_free(p);
    return rc;
}

void rp_proxy_free(struct rp_proxy *p)
{
    if (!p) {
        return;
    }
    /* rp_proxy_run() frees every connection before it returns: none is left here. */
    if (p->lfd >= 0) {
        close(p->lfd);
    }
    for (size_t i = 0; i < 2; i++) {
        if (p->wake[i] >= 0) {
            close(p->wake[i]);
        }
    }
    rp__dns_free(p->dns);
    rp_ca_free(p->ca);
    SSL_CTX_free(p->ssl_ctx);
    free_list(p->only_hosts, p->o.n_only_hosts);
    free(p->allow);
    free(p->cacert);
    rp__origin_cleanup(&p->rev);
    free(p);
}

const char *rp_proxy_ca_path(const struct rp_proxy *p)
{
    return p->ca ? rp_ca_cert_path(p->ca) : NULL;
}
