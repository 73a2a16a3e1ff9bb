/* SPDX-License-Identifier: MIT */
/*
 * The recording side of the proxy: a request and its response, as the parsers read them from
 * the relayed bytes, become one exchange with the upstream's real URL, handed to the recording
 * pipeline (intake), which filters, scrubs and writes it.
 *
 * That work (decoding a compressed body, scrubbing, encoding the line, waiting for the writer)
 * can cost tens of milliseconds for a large body, so it runs on a thread of its own: the loop
 * queues each finished exchange, in order, and goes back to relaying. The queue is bounded
 * (RP_PROXY_RECORD_QUEUE_MAX exchanges, RP_PROXY_RECORD_QUEUE_BYTES): an exchange that finds
 * it full is not recorded, and is counted (stats.dropped) and logged, never dropped silently;
 * the relay never waits for the recorder. Once the loop has ended, queuing waits for room
 * instead, so what is still in flight at a stop is written.
 */
/* syscall(SYS_gettid), for a thread's own nice value (Linux), is not in POSIX 2008. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <reprise/limits.h>

#include "internal.h"

/* One finished exchange waiting for the recording thread. */
struct job {
    struct job *next;
    uint64_t conn_id;
    char *url;
    struct rp_http_message req;
    struct rp_http_message resp;
    bool has_resp;
    char *why;      /* without a response: why none came */
    int64_t end_us; /* when the loop saw it end */
    size_t bytes;   /* what it holds, for the queue's bound */
};

struct rp__recq {
    pthread_mutex_t lock;
    pthread_cond_t more; /* the thread waits for jobs */
    pthread_cond_t room; /* a queuer (once the loop has ended) waits for room */
    pthread_t th;
    struct job *head, *tail;
    size_t n;
    size_t bytes;
    bool closing;  /* no more jobs: the thread ends once the queue is empty */
    bool blocking; /* the loop has ended: queuing waits for room instead of dropping */
    uint64_t unanswered;
    uint64_t dropped;
};

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

/* Decodes, converts and hands one exchange to the intake; logs it and tells on_exchange. */
static void record_job(struct rp_proxy *p, struct job *j)
{
    uint64_t max = rp_intake_max_body(p->in);
    /* Bodies the loop kept as they came are decoded here, off the loop (what it cost is not
     * needed: it is bounded by the cap). */
    (void)rp_http_message_decode(&j->req, max);
    if (j->has_resp) {
        (void)rp_http_message_decode(&j->resp, max);
    }
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.conn_id = j->conn_id;
    const char *why = j->why;
    rp_http_to_exchange(&ex, &j->req, j->has_resp ? &j->resp : NULL, j->url, j->end_us,
                        why ? why : "no response");
    j->url = NULL; /* taken */

    enum rp_intake_fate fate = RP_INTAKE_FAILED;
    struct rp_error err = {0};
    rp_code rc = rp_intake_add(p->in, &ex, &fate, &err);
    /* Counted once it passed the filters: a favicon that failed is only a skipped asset. */
    if (!ex.has_response && fate != RP_INTAKE_STATIC && fate != RP_INTAKE_OUTSIDE_PATHS) {
        if (p->rec) {
            pthread_mutex_lock(&p->rec->lock);
            p->rec->unanswered++;
            pthread_mutex_unlock(&p->rec->lock);
        } else {
            p->stats.unanswered++;
        }
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

static void job_free(struct job *j)
{
    rp_http_message_cleanup(&j->req);
    rp_http_message_cleanup(&j->resp);
    free(j->url);
    free(j->why);
    free(j);
}

static size_t message_bytes(const struct rp_http_message *m)
{
    size_t n = m->body.len + sizeof(*m);
    for (size_t i = 0; i < m->headers.n; i++) {
        n += m->headers.v[i].name_len + m->headers.v[i].value_len + 32;
    }
    return n;
}

/* How much the recording thread yields to the loop when both want a CPU (a nice increment). */
#define RECORDER_NICE 10

/* The recording thread: jobs in the order they came, until closing and none is left. */
static void *recorder(void *arg)
{
    struct rp_proxy *p = arg;
    struct rp__recq *q = p->rec;
#if defined(__linux__) && defined(SYS_gettid)
    /* Recording is background work: on a busy machine the relay gets the CPU first (on Linux
     * each thread has its own nice value; elsewhere this is skipped). The queue absorbs the
     * delay, and what does not fit is counted. */
    errno = 0;
    int cur = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    if (errno == 0) {
        (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), cur + RECORDER_NICE);
    }
#endif
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->head && !q->closing) {
            pthread_cond_wait(&q->more, &q->lock);
        }
        struct job *j = q->head;
        if (!j) {
            break; /* closing, and the queue is empty */
        }
        pthread_mutex_unlock(&q->lock);
        record_job(p, j);
        pthread_mutex_lock(&q->lock);
        /* Taken off the queue only now: its bytes are held until it is written. */
        q->head = j->next;
        if (!q->head) {
            q->tail = NULL;
        }
        q->n--;
        q->bytes -= j->bytes;
        pthread_cond_broadcast(&q->room);
        pthread_mutex_unlock(&q->lock);
        job_free(j);
        pthread_mutex_lock(&q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

rp_code rp__proxy_rec_start(struct rp_proxy *p, struct rp_error *err)
{
    struct rp__recq *q = rp_xcalloc(1, sizeof(*q));
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->more, NULL);
    pthread_cond_init(&q->room, NULL);
    p->rec = q;
    if (pthread_create(&q->th, NULL, recorder, p) != 0) {
        p->rec = NULL;
        pthread_cond_destroy(&q->room);
        pthread_cond_destroy(&q->more);
        pthread_mutex_destroy(&q->lock);
        free(q);
        return rp_error_set(err, RP_ESYS, "cannot start the recording thread");
    }
    return RP_OK;
}

void rp__proxy_rec_blocking(struct rp_proxy *p)
{
    if (p->rec) {
        pthread_mutex_lock(&p->rec->lock);
        p->rec->blocking = true;
        pthread_mutex_unlock(&p->rec->lock);
    }
}

void rp__proxy_rec_finish(struct rp_proxy *p)
{
    struct rp__recq *q = p->rec;
    if (!q) {
        return;
    }
    pthread_mutex_lock(&q->lock);
    q->closing = true;
    pthread_cond_signal(&q->more);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->th, NULL);
    /* The thread's counts become the proxy's; from here on everything is on one thread. */
    p->stats.unanswered += q->unanswered;
    p->stats.dropped += q->dropped;
    p->rec = NULL;
    pthread_cond_destroy(&q->room);
    pthread_cond_destroy(&q->more);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

void rp__proxy_rec_stats(const struct rp_proxy *p, struct rp_proxy_stats *out)
{
    *out = p->stats;
    if (p->rec) {
        pthread_mutex_lock(&p->rec->lock);
        out->unanswered += p->rec->unanswered;
        out->dropped += p->rec->dropped;
        pthread_mutex_unlock(&p->rec->lock);
    }
}

/* Queues j for the recording thread: false (j not taken) when the queue is full. */
static bool enqueue(struct rp__recq *q, struct job *j)
{
    pthread_mutex_lock(&q->lock);
    for (;;) {
        bool fits = q->n == 0 || (q->n < RP_PROXY_RECORD_QUEUE_MAX &&
                                  j->bytes <= RP_PROXY_RECORD_QUEUE_BYTES - q->bytes);
        if (fits) {
            break;
        }
        if (!q->blocking) {
            q->dropped++;
            pthread_mutex_unlock(&q->lock);
            return false;
        }
        pthread_cond_wait(&q->room, &q->lock);
    }
    if (q->tail) {
        q->tail->next = j;
    } else {
        q->head = j;
    }
    q->tail = j;
    q->n++;
    q->bytes += j->bytes;
    pthread_cond_signal(&q->more);
    pthread_mutex_unlock(&q->lock);
    return true;
}

void rp__proxy_record(struct rp_proxy *p, const struct rp__conn *c, struct rp_http_message *req,
                      struct rp_http_message *resp, const char *why)
{
    struct job *j = rp_xcalloc(1, sizeof(*j));
    j->conn_id = c->id;
    j->url = absolute_url(c->org, req->target);
    j->req = *req;
    rp_http_message_init(req);
    j->has_resp = resp != NULL;
    rp_http_message_init(&j->resp);
    if (resp) {
        j->resp = *resp;
        rp_http_message_init(resp);
    }
    j->why = why ? rp_xstrdup(why) : NULL;
    j->end_us = rp_now_us();
    j->bytes = sizeof(*j) + message_bytes(&j->req) + (resp ? message_bytes(&j->resp) : 0);
    if (!p->rec) {
        record_job(p, j); /* no recording thread (a test's seam): at once, in order */
        job_free(j);
        return;
    }
    if (enqueue(p->rec, j)) {
        return;
    }
    if (p->o.log) {
        const char *t = j->req.target ? j->req.target : "";
        size_t tl = strlen(t);
        char line[512];
        snprintf(line, sizeof(line),
                 "%s %.*s%s not recorded: the recording queue is full (%u exchanges or %u MiB "
                 "waiting to be written)",
                 j->req.method ? j->req.method : "?", (int)(tl > 120 ? 120 : tl), t,
                 tl > 120 ? "..." : "", RP_PROXY_RECORD_QUEUE_MAX,
                 RP_PROXY_RECORD_QUEUE_BYTES / (1024u * 1024u));
        p->o.log(p->o.log_ud, RP_LOG_WARN, line);
    }
    job_free(j);
}
