/* SPDX-License-Identifier: MIT */
/*
 * The streaming recording reader. It inflates the file a chunk at a time across any number of
 * gzip members and hands out one line at a time, so its memory is bounded by the longest line.
 * A file that ends inside a member (a recorder killed mid-write) yields every whole line before
 * the cut and one warning; anything else that is not a well-formed recording is an error that
 * names FILE:LINE.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include <reprise/limits.h>
#include <reprise/recording.h>

#include "../common_int.h"

#define IN_CHUNK  (64u * 1024u)
#define OUT_CHUNK (64u * 1024u)

struct rp_reader {
    char *path;
    int fd;
    bool own_fd;
    rp_log_fn log;
    void *log_ud;

    z_stream z;
    bool z_ready;
    bool in_member; /* inflate has started a member that has not ended */
    bool eof;       /* read() returned 0 */
    bool done;      /* no more lines */
    bool truncated;
    unsigned char in[IN_CHUNK];
    unsigned char out[OUT_CHUNK];
    size_t out_pos; /* next unread byte in out */
    size_t out_len;

    struct rp_buf line;   /* the line being assembled, then the last one read */
    struct rp_buf header; /* the header line's text */
    struct rp_buf end;    /* the end record's object, once met (ended) */
    bool ended;
    uint64_t lineno;
    uint64_t exchanges;
    struct rp_rec_meta meta;
};

static void warn(struct rp_reader *r, const char *fmt, ...) RP_PRINTF(2, 3);

static void warn(struct rp_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rp__vlog(r->log, r->log_ud, RP_LOG_WARN, fmt, ap);
    va_end(ap);
}

/* Refills the input buffer. Sets r->eof at the end of the file. */
static rp_code fill(struct rp_reader *r, struct rp_error *err)
{
    for (;;) {
        ssize_t k = read(r->fd, r->in, sizeof(r->in));
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            return rp_error_set(err, RP_EIO, "%s: read failed: %s", r->path, strerror(errno));
        }
        if (k == 0) {
            r->eof = true;
        }
        r->z.next_in = r->in;
        r->z.avail_in = (uInt)k;
        return RP_OK;
    }
}

/*
 * Produces more decompressed bytes into r->out. Leaves out_len at 0 only at the end of the
 * data (clean, or truncated with r->truncated set).
 */
static rp_code inflate_more(struct rp_reader *r, struct rp_error *err)
{
    r->out_pos = 0;
    r->out_len = 0;
    while (r->out_len == 0) {
        if (r->z.avail_in == 0) {
            if (r->eof) {
                if (r->in_member) {
                    r->truncated = true;
                }
                return RP_OK;
            }
            rp_code rc = fill(r, err);
            if (rc) {
                return rc;
            }
            continue;
        }
        if (!r->in_member) {
            /* A new member must start with the gzip magic: anything else is not ours. */
            if (r->z.avail_in < 2 && !r->eof) {
                /* Too few bytes to check; read() on a regular file rarely splits here, but
                 * a pipe might. Move them to the front and top up. */
                unsigned char b0 = r->z.next_in[0];
                ssize_t k;
                do {
                    k = read(r->fd, r->in + 1, sizeof(r->in) - 1);
                } while (k < 0 && errno == EINTR);
                if (k < 0) {
                    return rp_error_set(err, RP_EIO, "%s: read failed: %s", r->path,
                                        strerror(errno));
                }
                r->in[0] = b0;
                r->z.next_in = r->in;
                r->z.avail_in = (uInt)k + 1;
                if (k == 0) {
                    r->eof = true;
                }
                continue;
            }
            if (r->z.avail_in < 2 && r->eof && r->lineno > 0 && r->z.next_in[0] == 0x1f) {
                /* Cut one byte into a new member: a truncation like any other. */
                r->z.avail_in = 0;
                r->truncated = true;
                return RP_OK;
            }
            if (r->z.avail_in < 2 || r->z.next_in[0] != 0x1f || r->z.next_in[1] != 0x8b) {
                if (r->lineno == 0) {
                    return rp_error_set(err, RP_EFORMAT,
                                        "%s: not a reprise recording (not gzip-compressed)",
                                        r->path);
                }
                return rp_error_set(err, RP_EFORMAT,
                                    "%s:%llu: unexpected bytes after a gzip member", r->path,
                                    (unsigned long long)r->lineno + 1);
            }
            inflateReset(&r->z);
            r->in_member = true;
        }
        r->z.next_out = r->out;
        r->z.avail_out = sizeof(r->out);
        int zr = inflate(&r->z, Z_NO_FLUSH);
        r->out_len = sizeof(r->out) - r->z.avail_out;
        if (zr == Z_STREAM_END) {
            r->in_member = false;
        } else if (zr == Z_BUF_ERROR && r->z.avail_in == 0) {
            /* Needs more input: the loop reads it. */
        } else if (zr != Z_OK) {
            return rp_error_set(err, RP_EFORMAT, "%s:%llu: corrupt gzip data (%s)", r->path,
                                (unsigned long long)r->lineno + 1,
                                r->z.msg ? r->z.msg : "inflate failed");
        }
    }
    return RP_OK;
}

/*
 * Reads the next line into r->line (without its newline). *out_got is false at the end.
 */
static rp_code next_line(struct rp_reader *r, bool *out_got, struct rp_error *err)
{
    rp_buf_reset(&r->line);
    if (r->done) {
        *out_got = false;
        return RP_OK;
    }
    for (;;) {
        if (r->out_pos == r->out_len) {
            rp_code rc = inflate_more(r, err);
            if (rc) {
                return rc;
            }
            if (r->out_len == 0) {
                r->done = true;
                if (r->truncated) {
                    /* A partial line at a cut is discarded: it cannot be trusted. */
                    warn(r,
                         "%s: truncated: the file ends inside a gzip member; read %llu "
                         "exchanges up to line %llu and dropped the rest",
                         r->path, (unsigned long long)r->exchanges, (unsigned long long)r->lineno);
                    rp_buf_reset(&r->line);
                    *out_got = false;
                    return RP_OK;
                }
                /* A last line without a newline still counts. */
                *out_got = r->line.len > 0;
                if (*out_got) {
                    r->lineno++;
                }
                return RP_OK;
            }
        }
        unsigned char *start = r->out + r->out_pos;
        size_t avail = r->out_len - r->out_pos;
        unsigned char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        rp_code rc = rp_buf_add(&r->line, start, take, err);
        if (rc) {
            return rp_error_set(err, RP_ETOOBIG, "%s:%llu: line is longer than %zu bytes", r->path,
                                (unsigned long long)r->lineno + 1, r->line.max);
        }
        r->out_pos += take;
        if (nl) {
            r->out_pos++;
            r->lineno++;
            *out_got = true;
            return RP_OK;
        }
    }
}

static bool blank(const struct rp_buf *b)
{
    for (size_t i = 0; i < b->len; i++) {
        char c = b->data[i];
        if (c != ' ' && c != '\t' && c != '\r') {
            return false;
        }
    }
    return true;
}

/*
 * The end record's object when the line is one ({"end":OBJECT}, as rp_writer_end writes it:
 * "end" its first key), else NULL; *out_len its length.
 */
static size_t skip_space(const struct rp_buf *b, size_t i)
{
    while (i < b->len && (b->data[i] == ' ' || b->data[i] == '\t')) {
        i++;
    }
    return i;
}

static const char *end_record(const struct rp_buf *b, size_t *out_len)
{
    static const char key[] = "\"end\"";
    size_t n = b->len;
    size_t i = skip_space(b, 0);
    if (i == n || b->data[i] != '{') {
        return NULL;
    }
    i = skip_space(b, i + 1);
    if (n - i < sizeof(key) - 1 || memcmp(b->data + i, key, sizeof(key) - 1) != 0) {
        return NULL;
    }
    i = skip_space(b, i + sizeof(key) - 1);
    if (i == n || b->data[i] != ':') {
        return NULL;
    }
    i = skip_space(b, i + 1);
    while (n > i && (b->data[n - 1] == ' ' || b->data[n - 1] == '\t' || b->data[n - 1] == '\r')) {
        n--;
    }
    if (n == i || b->data[n - 1] != '}') {
        return NULL;
    }
    n--; /* the record's closing brace, and the space before it */
    while (n > i && (b->data[n - 1] == ' ' || b->data[n - 1] == '\t')) {
        n--;
    }
    *out_len = n - i;
    return b->data + i;
}

void rp_reader_free(struct rp_reader *r)
{
    if (!r) {
        return;
    }
    if (r->z_ready) {
        inflateEnd(&r->z);
    }
    if (r->own_fd && r->fd >= 0) {
        close(r->fd);
    }
    rp_buf_cleanup(&r->line);
    rp_buf_cleanup(&r->header);
    rp_buf_cleanup(&r->end);
    rp_rec_meta_cleanup(&r->meta);
    free(r->path);
    free(r);
}

rp_code rp_reader_open(const char *path, const struct rp_reader_opts *opts, struct rp_reader **out,
                       struct rp_error *err)
{
    rp_code rc = RP_EIO;
    struct rp_reader *r = rp_xcalloc(1, sizeof(*r));
    r->path = rp_xstrdup(path);
    r->fd = -1;
    r->log = opts ? opts->log : NULL;
    r->log_ud = opts ? opts->log_ud : NULL;
    size_t max_line = opts && opts->max_line ? opts->max_line : RP_MAX_LINE_BYTES;
    rp_buf_init(&r->line, max_line);
    rp_buf_init(&r->header, max_line);
    rp_buf_init(&r->end, max_line);
    rp_rec_meta_init(&r->meta);

    if (strcmp(path, "-") == 0) {
        r->fd = STDIN_FILENO;
    } else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            rc = rp_error_set(err, errno == ENOENT ? RP_ENOTFOUND : RP_EIO, "%s: %s", path,
                              strerror(errno));
            goto out;
        }
        r->own_fd = true;
    }
    /* windowBits 15 + 16: gzip only. Members are handled one by one (inflateReset), so that
     * where one ends and whether the next is sound is ours to judge. */
    if (inflateInit2(&r->z, 15 + 16) != Z_OK) {
        rc = rp_error_set(err, RP_EINTERNAL, "%s: cannot initialise zlib", path);
        goto out;
    }
    r->z_ready = true;

    bool got = false;
    rc = next_line(r, &got, err);
    if (rc) {
        goto out;
    }
    if (!got) {
        rc = rp_error_set(err, r->truncated ? RP_ETRUNC : RP_EFORMAT, "%s: %s", path,
                          r->truncated ? "truncated before the end of the header line"
                                       : "empty file: no header line");
        goto out;
    }
    rc = rp_recording_decode_meta(r->line.data, r->line.len, &r->meta, err);
    if (rc) {
        rp_error_prefix(err, "%s:1", path);
        goto out;
    }
    rc = rp_buf_add(&r->header, r->line.data, r->line.len, err);
    if (rc) {
        goto out;
    }
    *out = r;
    r = NULL;
    rc = RP_OK;
out:
    rp_reader_free(r);
    return rc;
}

const struct rp_rec_meta *rp_reader_meta(const struct rp_reader *r)
{
    return &r->meta;
}

rp_code rp_reader_next(struct rp_reader *r, struct rp_exchange *ex, bool *out_got,
                       struct rp_error *err)
{
    for (;;) {
        bool got = false;
        rp_code rc = next_line(r, &got, err);
        if (rc) {
            return rc;
        }
        if (!got) {
            *out_got = false;
            return RP_OK;
        }
        if (blank(&r->line)) {
            continue;
        }
        if (r->ended) {
            return rp_error_set(err, RP_EFORMAT, "%s:%llu: a line after the end record", r->path,
                                (unsigned long long)r->lineno);
        }
        size_t end_len = 0;
        const char *end = end_record(&r->line, &end_len);
        if (end) {
            /* The file ends here: what follows is read only to check that nothing does. */
            rc = rp_buf_add(&r->end, end, end_len, err);
            if (rc) {
                return rp_error_prefix(err, "%s:%llu", r->path, (unsigned long long)r->lineno);
            }
            r->ended = true;
            continue;
        }
        rc = rp_recording_decode_exchange(r->line.data, r->line.len, ex, err);
        if (rc) {
            return rp_error_prefix(err, "%s:%llu", r->path, (unsigned long long)r->lineno);
        }
        r->exchanges++;
        *out_got = true;
        return RP_OK;
    }
}

const char *rp_reader_end_text(const struct rp_reader *r, size_t *out_len)
{
    *out_len = r->ended ? r->end.len : 0;
    return r->ended ? (r->end.data ? r->end.data : "") : NULL;
}

const char *rp_reader_line_text(const struct rp_reader *r, size_t *out_len)
{
    *out_len = r->line.len;
    return r->line.data ? r->line.data : "";
}

const char *rp_reader_meta_text(const struct rp_reader *r, size_t *out_len)
{
    *out_len = r->header.len;
    return r->header.data ? r->header.data : "";
}

uint64_t rp_reader_line(const struct rp_reader *r)
{
    return r->lineno;
}

bool rp_reader_truncated(const struct rp_reader *r)
{
    return r->truncated;
}

const char *rp_reader_path(const struct rp_reader *r)
{
    return r->path;
}
