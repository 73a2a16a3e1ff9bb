/* SPDX-License-Identifier: MIT */
/*
 * HAR import's window: a HAR file's text read a chunk at a time, with the bytes the reader no
 * longer needs dropped as it moves on, and line breaks counted as they go so that an error far
 * into the file still has its line and column.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <reprise/limits.h>

#include "internal.h"

#define BOM "\xEF\xBB\xBF"

void rp__har_window_mem(struct rp__har_window *w, const char *data, size_t len, const char *name,
                        size_t chunk)
{
    *w = (struct rp__har_window){
        .fd = -1, .mem = data, .mem_len = len, .name = name, .chunk = chunk};
}

static rp_code too_big(const char *path, struct rp_error *err)
{
    return rp_error_set(err, RP_ETOOBIG, "%s: larger than %u MiB (RP_MAX_HAR_BYTES)", path,
                        RP_MAX_HAR_BYTES / (1024u * 1024u));
}

rp_code rp__har_window_open(struct rp__har_window *w, const char *path, size_t chunk,
                            struct rp_error *err)
{
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return rp_error_set(err, RP_EIO, "%s: %s", path, strerror(errno));
    }
    rp_code rc = RP_OK;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        rc = rp_error_set(err, RP_EIO, "%s: is a directory", path);
    } else if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
               (uint64_t)sb.st_size > RP_MAX_HAR_BYTES) {
        rc = too_big(path, err);
    }
    if (rc) {
        if (!is_stdin) {
            close(fd);
        }
        return rc;
    }
    *w = (struct rp__har_window){.fd = fd, .close_fd = !is_stdin, .name = path, .chunk = chunk};
    return RP_OK;
}

void rp__har_window_cleanup(struct rp__har_window *w)
{
    if (w->close_fd) {
        close(w->fd);
    }
    free(w->buf);
    *w = (struct rp__har_window){.fd = -1};
}

/* Counts the line breaks of the n bytes at p, which start at offset base. */
static void count_lines(const char *p, size_t n, size_t base, size_t *lines, size_t *last_nl)
{
    if (n == 0) {
        return;
    }
    const char *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            break;
        }
        (*lines)++;
        *last_nl = base + (size_t)(nl - (end - n));
        p = nl + 1;
    }
}

/* Drops the bytes before offset keep, counting their line breaks. */
static void drop(struct rp__har_window *w, size_t keep)
{
    if (keep <= w->beg) {
        return;
    }
    size_t n = keep - w->beg;
    if (n > w->len) {
        n = w->len;
    }
    if (n == 0) {
        return;
    }
    count_lines(w->buf, n, w->beg, &w->lines, &w->last_nl);
    memmove(w->buf, w->buf + n, w->len - n);
    w->beg += n;
    w->len -= n;
}

/* Reads up to one chunk into the window's free room (there is room). *out_n: bytes read. */
static rp_code read_some(struct rp__har_window *w, size_t *out_n, struct rp_error *err)
{
    if (w->fd < 0) {
        size_t n = w->mem_len - w->mem_off < w->chunk ? w->mem_len - w->mem_off : w->chunk;
        memcpy(w->buf + w->len, w->mem + w->mem_off, n);
        w->mem_off += n;
        *out_n = n;
        return RP_OK;
    }
    for (;;) {
        ssize_t k = read(w->fd, w->buf + w->len, w->chunk);
        if (k >= 0) {
            *out_n = (size_t)k;
            return RP_OK;
        }
        if (errno != EINTR) {
            return rp_error_set(err, RP_EIO, "%s: %s", w->name, strerror(errno));
        }
    }
}

rp_code rp__har_window_more(struct rp__har_window *w, size_t keep, struct rp_error *err)
{
    drop(w, keep);
    /* Until the first three bytes are in, a byte order mark cannot be told: read on. */
    do {
        if (w->eof) {
            return RP_OK;
        }
        if (w->chunk > SIZE_MAX / 2 - w->len) {
            return too_big(w->name, err);
        }
        if (w->cap - w->len < w->chunk) {
            size_t cap = w->cap ? w->cap : w->chunk;
            while (cap - w->len < w->chunk) {
                cap *= 2;
            }
            w->buf = rp_xrealloc(w->buf, cap);
            w->cap = cap;
        }
        size_t n = 0;
        rp_code rc = read_some(w, &n, err);
        if (rc) {
            return rc;
        }
        w->eof = n == 0;
        w->len += n;
        w->total += n;
        if (w->fd >= 0 && w->total > RP_MAX_HAR_BYTES) {
            return too_big(w->name, err); /* standard input, or a file that grew */
        }
        if (!w->bom_checked && (w->total >= 3 || w->eof)) {
            w->bom_checked = true;
            if (w->len >= 3 && memcmp(w->buf, BOM, 3) == 0) {
                memmove(w->buf, w->buf + 3, w->len - 3);
                w->len -= 3;
            }
        }
    } while (!w->bom_checked);
    return RP_OK;
}

void rp__har_window_position(const struct rp__har_window *w, size_t off, size_t *line, size_t *col)
{
    size_t lines = w->lines;
    size_t last_nl = w->last_nl;
    size_t n = off - w->beg < w->len ? off - w->beg : w->len;
    count_lines(w->buf, n, w->beg, &lines, &last_nl);
    *line = lines + 1;
    *col = lines ? off - last_nl : off + 1;
}
