/* SPDX-License-Identifier: MIT */
/*
 * The recording writer. The appending thread only encodes each exchange to a JSON line and
 * queues it; the writer's own thread compresses what is queued into one complete gzip member
 * and writes it out whenever RP_WRITER_MEMBER_BYTES are queued, the oldest queued line is
 * flush_ms old, or someone asks (flush, close). So compression runs beside the recorder, on
 * another core, and what was appended is on disk within a second whatever the caller does
 * next: a file cut at any point is a run of complete members followed by at most one partial
 * one, which the reader handles.
 *
 * The queue is bounded (RP_WRITER_QUEUE_BYTES): an appender that gets ahead of compression
 * waits for it, so memory does not grow with the recording.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include <reprise/limits.h>
#include <reprise/recording.h>

#include "../time_int.h"

/* Lines queued for compression at most; an appender past it waits. */
#define RP_WRITER_QUEUE_BYTES (8u * 1024u * 1024u)

struct rp_writer {
    char *path;
    int fd;
    bool sync;
    unsigned flush_ms;
    rp_log_fn log;
    void *log_ud;
    off_t good_end; /* the file's size after the last member written whole */

    pthread_mutex_t lock;
    pthread_cond_t wake; /* the flush thread waits on it */
    pthread_cond_t done; /* appenders and flushers wait on it */
    pthread_t thread;
    bool thread_started;
    bool stopping;

    /* Guarded by lock. */
    struct rp_buf queue;     /* encoded lines not yet compressed */
    int64_t queued_since_us; /* monotonic time of the oldest queued line */
    uint64_t gen_asked;      /* flush generations asked for ... */
    uint64_t gen_done;       /* ... and written */
    struct rp_error failed;  /* sticky: set once a write fails */
    uint64_t count;
    uint64_t queued_lines; /* lines in queue */
    uint64_t written;      /* lines in members written whole */

    /* The flush thread's own (and the opener's, before the thread starts). */
    z_stream z;
    struct rp_buf work; /* the lines being compressed */
    struct rp_buf zout; /* the member being built */

    /* The appending thread's own. */
    struct rp_buf line;
    uint64_t next_seq;
};

static rp_code write_all(struct rp_writer *w, const char *p, size_t n, struct rp_error *err)
{
    while (n > 0) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            return rp_error_set(err, RP_EIO, "%s: write failed: %s", w->path, strerror(errno));
        }
        p += k;
        n -= (size_t)k;
    }
    return RP_OK;
}

/*
 * Compresses the n bytes at p into one complete gzip member and writes it out. Runs without
 * the lock: only the flush thread (or the opener, before it starts) touches z and zout.
 */
static rp_code write_member(struct rp_writer *w, const char *p, size_t n, struct rp_error *err)
{
    unsigned char chunk[65536];
    rp_buf_reset(&w->zout);
    deflateReset(&w->z);
    w->z.next_in = (Bytef *)(uintptr_t)p;
    /* deflate's avail_in is a uInt; a queue is far below that, a single huge line is not. */
    size_t left = n;
    for (;;) {
        uInt take = left > (1u << 30) ? (1u << 30) : (uInt)left;
        w->z.avail_in = take;
        left -= take;
        int mode = left ? Z_NO_FLUSH : Z_FINISH;
        int zr;
        do {
            w->z.next_out = chunk;
            w->z.avail_out = sizeof(chunk);
            zr = deflate(&w->z, mode);
            if (zr == Z_STREAM_ERROR) {
                return rp_error_set(err, RP_EINTERNAL, "%s: deflate failed", w->path);
            }
            rp_code rc = rp_buf_add(&w->zout, chunk, sizeof(chunk) - w->z.avail_out, err);
            if (rc) {
                return rc;
            }
        } while (mode == Z_FINISH ? zr != Z_STREAM_END : w->z.avail_out == 0);
        if (!left) {
            break;
        }
    }
    rp_code rc = write_all(w, w->zout.data, w->zout.len, err);
    if (!rc && w->sync && fdatasync(w->fd) != 0 && errno != EINVAL) {
        rc = rp_error_set(err, RP_EIO, "%s: fdatasync failed: %s", w->path, strerror(errno));
    }
    if (rc) {
        /* A member cut short would end the file in a truncation: the file is cut back to the
         * last whole member instead, so it reads cleanly with everything written before. */
        if (ftruncate(w->fd, w->good_end) == 0) {
            (void)lseek(w->fd, w->good_end, SEEK_SET);
        }
        return rc;
    }
    w->good_end += (off_t)w->zout.len;
    return RP_OK;
}

static bool due(const struct rp_writer *w, int64_t now)
{
    return w->queue.len > 0 &&
           (w->gen_asked > w->gen_done || w->queue.len >= RP_WRITER_MEMBER_BYTES || w->stopping ||
            now - w->queued_since_us >= (int64_t)w->flush_ms * 1000);
}

static void *flusher(void *arg)
{
    struct rp_writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        int64_t now = rp__mono_us();
        if (due(w, now) && w->failed.code) {
            /* After a failed write nothing more goes to the file: it ends at a whole member. */
            rp_buf_reset(&w->queue);
            w->queued_lines = 0;
            w->gen_done = w->gen_asked;
            pthread_cond_broadcast(&w->done);
            continue;
        }
        if (due(w, now)) {
            /* Take the queue and compress it with the lock released, so appenders go on. */
            struct rp_buf taken = w->queue;
            w->queue = w->work;
            rp_buf_reset(&w->queue);
            w->work = taken;
            uint64_t lines = w->queued_lines;
            w->queued_lines = 0;
            uint64_t gen = w->gen_asked;
            pthread_mutex_unlock(&w->lock);

            struct rp_error e = {0};
            rp_code rc = write_member(w, w->work.data, w->work.len, &e);
            rp_buf_reset(&w->work);
            if (rc && w->log) {
                /* Said at once, from this thread: the appender hears of it on its next call. */
                char msg[RP_ERROR_MSG_MAX + 64];
                snprintf(msg, sizeof(msg), "%s; the recording ends at the last whole write", e.msg);
                w->log(w->log_ud, RP_LOG_ERROR, msg);
            }

            pthread_mutex_lock(&w->lock);
            if (rc && !w->failed.code) {
                w->failed = e;
            }
            if (!rc) {
                w->written += lines;
            }
            w->gen_done = gen > w->gen_done ? gen : w->gen_done;
            pthread_cond_broadcast(&w->done);
            continue;
        }
        if (w->queue.len == 0 && w->gen_asked > w->gen_done) {
            /* Asked to flush with nothing queued: done already. */
            w->gen_done = w->gen_asked;
            pthread_cond_broadcast(&w->done);
        }
        if (w->stopping && w->queue.len == 0) {
            break;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t wait_us =
            w->queue.len ? w->queued_since_us + (int64_t)w->flush_ms * 1000 - now : 1000000;
        wait_us = wait_us < 1000 ? 1000 : wait_us;
        until.tv_sec += (time_t)(wait_us / 1000000);
        until.tv_nsec += (long)(wait_us % 1000000) * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_nsec -= 1000000000L;
            until.tv_sec++;
        }
        pthread_cond_timedwait(&w->wake, &w->lock, &until);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void writer_free(struct rp_writer *w)
{
    if (w->thread_started) {
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
    }
    deflateEnd(&w->z);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->done);
    pthread_mutex_destroy(&w->lock);
    rp_buf_cleanup(&w->queue);
    rp_buf_cleanup(&w->work);
    rp_buf_cleanup(&w->zout);
    rp_buf_cleanup(&w->line);
    if (w->fd >= 0) {
        close(w->fd);
    }
    free(w->path);
    free(w);
}

rp_code rp_writer_open(const char *path, const struct rp_rec_meta *meta,
                       const struct rp_writer_opts *opts, struct rp_writer **out,
                       struct rp_error *err)
{
    rp_code rc = RP_EIO;
    struct rp_writer *w = rp_xcalloc(1, sizeof(*w));
    w->path = rp_xstrdup(path);
    w->fd = -1;
    w->flush_ms = opts && opts->flush_ms ? opts->flush_ms : RP_WRITER_FLUSH_MS;
    w->sync = opts ? opts->sync : false;
    w->log = opts ? opts->log : NULL;
    w->log_ud = opts ? opts->log_ud : NULL;
    w->next_seq = 1;
    int level = opts && opts->level ? opts->level : Z_DEFAULT_COMPRESSION;
    if (level < Z_DEFAULT_COMPRESSION || level > Z_BEST_COMPRESSION) {
        level = Z_DEFAULT_COMPRESSION;
    }
    /* A single line can be as long as RP_MAX_LINE_BYTES: the queue holds at least one. */
    rp_buf_init(&w->queue, RP_WRITER_QUEUE_BYTES + RP_MAX_LINE_BYTES);
    rp_buf_init(&w->work, RP_WRITER_QUEUE_BYTES + RP_MAX_LINE_BYTES);
    rp_buf_init(&w->zout, SIZE_MAX / 2);
    rp_buf_init(&w->line, RP_MAX_LINE_BYTES);
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_cond_init(&w->done, &ca);
    pthread_condattr_destroy(&ca);
    /* windowBits 15 + 16: gzip framing; each deflateReset starts a new member. */
    if (deflateInit2(&w->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        rc = rp_error_set(err, RP_EINTERNAL, "%s: cannot initialise zlib", path);
        goto out;
    }

    /* "-" is standard output: a copy of it, so closing the recording leaves stdout open. */
    if (strcmp(path, "-") == 0) {
        w->fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
    } else {
        w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    if (w->fd < 0) {
        rc = rp_error_set(err, RP_EIO, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    /* The header goes out now, as a member of its own: a recording is never headless. */
    rc = rp_recording_encode_meta(meta, &w->line, err);
    if (!rc) {
        rc = rp_buf_addc(&w->line, '\n', err);
    }
    if (!rc) {
        rc = write_member(w, w->line.data, w->line.len, err);
    }
    if (rc) {
        goto out;
    }
    if (pthread_create(&w->thread, NULL, flusher, w) != 0) {
        rc = rp_error_set(err, RP_ESYS, "%s: cannot start the flush thread", path);
        goto out;
    }
    w->thread_started = true;
    *out = w;
    w = NULL;
    rc = RP_OK;
out:
    if (w) {
        writer_free(w);
    }
    return rc;
}

/* Returns the sticky failure, copying it to err. Called with the lock held. */
static rp_code failure(const struct rp_writer *w, struct rp_error *err)
{
    if (err && w->failed.code) {
        *err = w->failed;
    }
    return w->failed.code;
}

/* Queues the line in w->line for the flush thread; an exchange's (seq given) is counted. */
static rp_code enqueue(struct rp_writer *w, const uint64_t *seq, struct rp_error *err)
{
    pthread_mutex_lock(&w->lock);
    /* Past the queue's bound, wait for the flush thread to take it. */
    while (!w->failed.code && w->queue.len > 0 &&
           w->queue.len + w->line.len > RP_WRITER_QUEUE_BYTES) {
        pthread_cond_signal(&w->wake);
        pthread_cond_wait(&w->done, &w->lock);
    }
    rp_code rc = failure(w, err);
    if (!rc) {
        if (w->queue.len == 0) {
            w->queued_since_us = rp__mono_us();
        }
        rc = rp_buf_add(&w->queue, w->line.data, w->line.len, err);
    }
    if (!rc && seq) {
        w->count++;
        w->queued_lines++;
        w->next_seq = *seq + 1;
    }
    if (!rc && w->queue.len >= RP_WRITER_MEMBER_BYTES) {
        pthread_cond_signal(&w->wake);
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

rp_code rp_writer_end(struct rp_writer *w, const char *object, struct rp_error *err)
{
    rp_buf_reset(&w->line);
    rp_code rc = rp_buf_adds(&w->line, "{\"end\":", err);
    if (!rc) {
        rc = rp_buf_adds(&w->line, object, err);
    }
    if (!rc) {
        rc = rp_buf_adds(&w->line, "}\n", err);
    }
    if (rc) {
        return rp_error_prefix(err, "%s: end record", w->path);
    }
    return enqueue(w, NULL, err);
}

rp_code rp_writer_append(struct rp_writer *w, const struct rp_exchange *ex, struct rp_error *err)
{
    /* Encode outside the lock: it is the expensive part and touches only w->line, which
     * only the appending thread uses. An exchange without a number gets the writer's: a
     * shallow copy is enough, since encoding only reads. */
    struct rp_exchange numbered = *ex;
    if (numbered.seq == 0) {
        numbered.seq = w->next_seq;
    }
    rp_buf_reset(&w->line);
    rp_code rc = rp_recording_encode_exchange(&numbered, &w->line, err);
    if (!rc) {
        rc = rp_buf_addc(&w->line, '\n', err);
    }
    if (rc) {
        return rp_error_prefix(err, "%s: exchange %llu", w->path, (unsigned long long)numbered.seq);
    }
    return enqueue(w, &numbered.seq, err);
}

rp_code rp_writer_flush(struct rp_writer *w, struct rp_error *err)
{
    pthread_mutex_lock(&w->lock);
    uint64_t gen = ++w->gen_asked;
    pthread_cond_signal(&w->wake);
    while (w->gen_done < gen) {
        pthread_cond_wait(&w->done, &w->lock);
    }
    rp_code rc = failure(w, err);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

uint64_t rp_writer_count(const struct rp_writer *w)
{
    return w->count;
}

uint64_t rp_writer_written(struct rp_writer *w)
{
    pthread_mutex_lock(&w->lock);
    uint64_t n = w->written;
    pthread_mutex_unlock(&w->lock);
    return n;
}

rp_code rp_writer_close(struct rp_writer *w, struct rp_error *err)
{
    if (!w) {
        return RP_OK;
    }
    rp_code rc = rp_writer_flush(w, err);
    if (!rc && w->fd >= 0) {
        /* Stop the thread before closing its file. */
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        w->thread_started = false;
        if (close(w->fd) != 0) {
            rc = rp_error_set(err, RP_EIO, "%s: close failed: %s", w->path, strerror(errno));
        }
        w->fd = -1;
    }
    writer_free(w);
    return rc;
}
