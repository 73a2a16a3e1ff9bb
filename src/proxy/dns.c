/* SPDX-License-Identifier: MIT */
/*
 * Forward mode's name resolver: getaddrinfo() blocks, and a browser names new hosts all the
 * time, so lookups run on a thread of their own and the loop learns of each answer through a
 * pipe it polls. Address literals are answered at once; answers are kept RP_PROXY_DNS_TTL_MS
 * for the next connection to the same host (browsers open several). One lookup runs at a time:
 * a slow name server delays other new hosts, never the bytes of open connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <reprise/limits.h>

#include "internal.h"

/* The one clock of the proxy: the resolver's cache ages here, the loop's deadlines and idle
 * times. It lives with the resolver so that this file calls no other file of the proxy. */
struct job {
    struct job *next;
    uint64_t id;
    char *host;
    bool ok;
    char why[160];
    struct rp__addrs addrs;
};

struct cached {
    char *host;
    int64_t expires_ms;
    struct rp__addrs addrs;
};

struct rp__dns {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t th;
    int pipe[2];
    struct job *todo; /* oldest first */
    struct job *done; /* newest first: the loop takes them in any order */
    bool stop;
    int refs; /* the loop's and the thread's: the last one out frees */
    struct cached cache[RP_PROXY_DNS_CACHE];
    size_t n_cache;
};

static void job_free(struct job *j)
{
    free(j->host);
    free(j);
}

static void dns_destroy(struct rp__dns *d)
{
    for (struct job *j = d->todo, *next; j; j = next) {
        next = j->next;
        job_free(j);
    }
    for (struct job *j = d->done, *next; j; j = next) {
        next = j->next;
        job_free(j);
    }
    for (size_t i = 0; i < d->n_cache; i++) {
        free(d->cache[i].host);
    }
    for (size_t i = 0; i < 2; i++) {
        if (d->pipe[i] >= 0) {
            close(d->pipe[i]);
        }
    }
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->wake);
    free(d);
}

/* Drops a reference under the lock; the last one frees (the lock is then gone). */
static void unref_locked(struct rp__dns *d)
{
    bool last = --d->refs == 0;
    pthread_mutex_unlock(&d->lock);
    if (last) {
        dns_destroy(d);
    }
}

static void resolve(struct job *j)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(j->host, NULL, &hints, &res);
    if (g != 0) {
        snprintf(j->why, sizeof(j->why), "cannot resolve %s: %s", j->host, gai_strerror(g));
        return;
    }
    for (const struct addrinfo *ai = res; ai && j->addrs.n < RP_PROXY_MAX_ADDRS; ai = ai->ai_next) {
        if (ai->ai_addrlen <= sizeof(j->addrs.a[0])) {
            memcpy(&j->addrs.a[j->addrs.n], ai->ai_addr, ai->ai_addrlen);
            j->addrs.len[j->addrs.n++] = ai->ai_addrlen;
        }
    }
    freeaddrinfo(res);
    j->ok = j->addrs.n > 0;
    if (!j->ok) {
        snprintf(j->why, sizeof(j->why), "cannot resolve %s: no address", j->host);
    }
}

static void *dns_main(void *ud)
{
    struct rp__dns *d = ud;
    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (!d->todo && !d->stop) {
            pthread_cond_wait(&d->wake, &d->lock);
        }
        if (d->stop) {
            break;
        }
        struct job *j = d->todo;
        d->todo = j->next;
        pthread_mutex_unlock(&d->lock);
        resolve(j);
        pthread_mutex_lock(&d->lock);
        j->next = d->done;
        d->done = j;
        if (!d->stop) {
            (void)!write(d->pipe[1], "r", 1);
        }
    }
    unref_locked(d);
    return NULL;
}

rp_code rp__dns_new(struct rp__dns **out, struct rp_error *err)
{
    struct rp__dns *d = rp_xcalloc(1, sizeof(*d));
    d->pipe[0] = d->pipe[1] = -1;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    if (pipe(d->pipe) != 0) {
        rp_code rc = rp_error_set(err, RP_ESYS, "pipe: %s", strerror(errno));
        dns_destroy(d);
        return rc;
    }
    for (size_t i = 0; i < 2; i++) {
        fcntl(d->pipe[i], F_SETFL, O_NONBLOCK);
        fcntl(d->pipe[i], F_SETFD, FD_CLOEXEC);
    }
    d->refs = 2;
    int e = pthread_create(&d->th, NULL, dns_main, d);
    if (e != 0) {
        rp_code rc = rp_error_set(err, RP_ESYS, "cannot start the resolver: %s", strerror(e));
        dns_destroy(d);
        return rc;
    }
    pthread_detach(d->th);
    *out = d;
    return RP_OK;
}

int rp__dns_fd(const struct rp__dns *d)
{
    return d->pipe[0];
}

/* An address literal ("127.0.0.1", "::1") needs no lookup. */
static bool literal(const char *host, struct rp__addrs *out)
{
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
        memcpy(&out->a[0], &a4, sizeof(a4));
        out->len[0] = sizeof(a4);
    } else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
        memcpy(&out->a[0], &a6, sizeof(a6));
        out->len[0] = sizeof(a6);
    } else {
        return false;
    }
    out->n = 1;
    return true;
}

/* Host names compare without case ("Example.test" is "example.test"). */
static bool host_eq(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && rp_strieq(a, n, b);
}

int rp__dns_lookup(struct rp__dns *d, const char *host, uint64_t id, struct rp__addrs *out)
{
    if (literal(host, out)) {
        return 1;
    }
    int64_t now = rp__mono_ms();
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->n_cache; i++) {
        if (host_eq(d->cache[i].host, host) && d->cache[i].expires_ms > now) {
            *out = d->cache[i].addrs;
            pthread_mutex_unlock(&d->lock);
            return 1;
        }
    }
    struct job *j = rp_xcalloc(1, sizeof(*j));
    j->id = id;
    j->host = rp_xstrdup(host);
    struct job **tail = &d->todo;
    while (*tail) {
        tail = &(*tail)->next;
    }
    *tail = j;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    return 0;
}

/* Keeps an answer: replaces the host's old one, an expired one or the oldest. */
static void cache_put(struct rp__dns *d, const char *host, const struct rp__addrs *addrs)
{
    int64_t now = rp__mono_ms();
    size_t slot = d->n_cache;
    for (size_t i = 0; i < d->n_cache; i++) {
        if (host_eq(d->cache[i].host, host) || d->cache[i].expires_ms <= now) {
            slot = i;
            break;
        }
    }
    if (slot == RP_PROXY_DNS_CACHE) {
        slot = 0;
        for (size_t i = 1; i < d->n_cache; i++) {
            if (d->cache[i].expires_ms < d->cache[slot].expires_ms) {
                slot = i;
            }
        }
    }
    if (slot == d->n_cache) {
        d->n_cache++;
    } else {
        free(d->cache[slot].host);
    }
    d->cache[slot].host = rp_xstrdup(host);
    d->cache[slot].expires_ms = now + RP_PROXY_DNS_TTL_MS;
    d->cache[slot].addrs = *addrs;
}

bool rp__dns_next(struct rp__dns *d, uint64_t *id, bool *ok, struct rp__addrs *out, char *why,
                  size_t whysz)
{
    char b[64];
    while (read(d->pipe[0], b, sizeof(b)) > 0) {
        /* drained: every finished job is on the list */
    }
    pthread_mutex_lock(&d->lock);
    struct job *j = d->done;
    if (j) {
        d->done = j->next;
        if (j->ok) {
            cache_put(d, j->host, &j->addrs);
        }
    }
    pthread_mutex_unlock(&d->lock);
    if (!j) {
        return false;
    }
    *id = j->id;
    *ok = j->ok;
    *out = j->addrs;
    snprintf(why, whysz, "%s", j->why);
    job_free(j);
    return true;
}

void rp__dns_free(struct rp__dns *d)
{
    if (!d) {
        return;
    }
    pthread_mutex_lock(&d->lock);
    d->stop = true;
    pthread_cond_signal(&d->wake);
    unref_locked(d);
}
