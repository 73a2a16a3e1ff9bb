/* SPDX-License-Identifier: MIT */
/*
 * The recording writer. Exchanges are compressed into a gzip member that is finished and
 * written out whenever RP_WRITER_MEMBER_BYTES are pending or the member is RP_WRITER_FLUSH_MS
 * old. A background thread finishes old members when appends stop, so what was appended is on
 * disk within a second whatever the caller does next, and a file cut at any point is a run of
 * complete members followed by at most one partial one, which the reader handles.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include <reprise/limits.h>
#include <reprise/recording.h>

struct rp_writer {
    char *path;
    int fd;
    bool sync;
    unsigned flush_ms;

    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool thread_started;
    bool stopping;

    z_stream z;
    bool member_open;
    int64_t member_start_us;
    size_t member_in;   /* uncompressed bytes in the open member */
    struct rp_buf zout; /* compressed bytes of the open member */
    struct rp_buf line; /* scratch for one encoded exchange */

    uint64_t count;
    uint64_t next_seq;
    struct rp_error failed; /* sticky: set once a write fails */
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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

/* Runs deflate over the input set in w->z with flush mode mode, collecting output in zout. */
static rp_code pump(struct rp_writer *w, int mode, struct rp_error *err)
{
    unsigned char chunk[16384];
    for (;;) {
        w->z.next_out = chunk;
        w->z.avail_out = sizeof(chunk);
        int zr = deflate(&w->z, mode);
        if (zr == Z_STREAM_ERROR) {
            return rp_error_set(err, RP_EINTERNAL, "%s: deflate failed", w->path);
        }
        size_t have = sizeof(chunk) - w->z.avail_out;
        rp_code rc = rp_buf_add(&w->zout, chunk, have, err);
        if (rc) {
            return rc;
        }
        if (mode == Z_FINISH ? zr == Z_STREAM_END : (w->z.avail_in == 0 && w->z.avail_out != 0)) {
            return RP_OK;
        }
    }
}

/* Finishes the open member and writes it out. Called with the lock held. */
static rp_code finish_member(struct rp_writer *w, struct rp_error *err)
{
    if (w->failed.code) {
        if (err) {
            *err = w->failed;
        }
        return w->failed.code;
    }
    if (!w->member_open) {
        return RP_OK;
    }
    w->z.next_in = NULL;
    w->z.avail_in = 0;
    rp_code rc = pump(w, Z_FINISH, &w->failed);
    if (!rc) {
        rc = write_all(w, w->zout.data, w->zout.len, &w->failed);
    }
    if (!rc && w->sync && fdatasync(w->fd) != 0 && errno != EINVAL) {
        rc = rp_error_set(&w->failed, RP_EIO, "%s: fdatasync failed: %s", w->path, strerror(errno));
    }
    rp_buf_reset(&w->zout);
    deflateReset(&w->z);
    w->member_open = false;
    w->member_in = 0;
    if (rc) {
        if (err) {
            *err = w->failed;
        }
        return rc;
    }
    rp_error_clear(&w->failed);
    return RP_OK;
}

/* Adds n bytes to the open member, opening one if needed. Called with the lock held. */
static rp_code add_bytes(struct rp_writer *w, const char *p, size_t n, struct rp_error *err)
{
    if (w->failed.code) {
        if (err) {
            *err = w->failed;
        }
        return w->failed.code;
    }
    if (!w->member_open) {
        w->member_open = true;
        w->member_start_us = mono_us();
    }
    /* deflate's avail_in is a uInt: feed large lines in slices. */
    while (n > 0) {
        size_t take = n > (1u << 30) ? (1u << 30) : n;
        w->z.next_in = (Bytef *)(uintptr_t)p;
        w->z.avail_in = (uInt)take;
        rp_code rc = pump(w, Z_NO_FLUSH, err);
        if (rc) {
            return rc;
        }
        p += take;
        n -= take;
        w->member_in += take;
    }
    return RP_OK;
}

static void *flusher(void *arg)
{
    struct rp_writer *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long step_ns = (long)(w->flush_ms / 4 + 1) * 1000000L;
        until.tv_nsec += step_ns;
        while (until.tv_nsec >= 1000000000L) {
            until.tv_nsec -= 1000000000L;
            until.tv_sec++;
        }
        pthread_cond_timedwait(&w->wake, &w->lock, &until);
        if (w->member_open && mono_us() - w->member_start_us >= (int64_t)w->flush_ms * 1000) {
            /* A failure is sticky in w->failed; the next append or close reports it. */
            finish_member(w, NULL);
        }
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
    pthread_mutex_destroy(&w->lock);
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
    w->next_seq = 1;
    rp_buf_init(&w->zout, SIZE_MAX / 2);
    rp_buf_init(&w->line, RP_MAX_LINE_BYTES);
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    /* windowBits 15 + 16: gzip framing, each deflateReset starts a new member. */
    if (deflateInit2(&w->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        rc = rp_error_set(err, RP_EINTERNAL, "%s: cannot initialise zlib", path);
        goto out;
    }

    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        rc = rp_error_set(err, RP_EIO, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    rc = rp_recording_encode_meta(meta, &w->line, err);
    if (!rc) {
        rc = rp_buf_addc(&w->line, '\n', err);
    }
    if (!rc) {
        rc = add_bytes(w, w->line.data, w->line.len, err);
    }
    if (!rc) {
        rc = finish_member(w, err);
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
    if (rc) {
        return rp_error_prefix(err, "%s: exchange %llu", w->path, (unsigned long long)numbered.seq);
    }
    rc = rp_buf_addc(&w->line, '\n', err);
    if (rc) {
        return rp_error_prefix(err, "%s: exchange %llu", w->path, (unsigned long long)numbered.seq);
    }

    pthread_mutex_lock(&w->lock);
    rc = add_bytes(w, w->line.data, w->line.len, err);
    if (!rc) {
        w->count++;
        w->next_seq = numbered.seq + 1;
        if (w->member_in >= RP_WRITER_MEMBER_BYTES ||
            mono_us() - w->member_start_us >= (int64_t)w->flush_ms * 1000) {
            rc = finish_member(w, err);
        }
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

rp_code rp_writer_flush(struct rp_writer *w, struct rp_error *err)
{
    pthread_mutex_lock(&w->lock);
    rp_code rc = finish_member(w, err);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

uint64_t rp_writer_count(const struct rp_writer *w)
{
    return w->count;
}

rp_code rp_writer_close(struct rp_writer *w, struct rp_error *err)
{
    if (!w) {
        return RP_OK;
    }
    rp_code rc = rp_writer_flush(w, err);
    if (!rc && w->fd >= 0) {
        if (close(w->fd) != 0) {
            rc = rp_error_set(err, RP_EIO, "%s: close failed: %s", w->path, strerror(errno));
        }
        w->fd = -1;
    }
    writer_free(w);
    return rc;
}
