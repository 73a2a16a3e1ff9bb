/* SPDX-License-Identifier: MIT */
/*
 * HAR 1.2 import, the document: a HAR file read and parsed whole with cJSON (at most
 * RP_MAX_HAR_BYTES) and its entries handed on in file order, to a callback or to the recording
 * pipeline (intake). Each entry is freed from the parsed tree as soon as it has been converted
 * and handed on, so the peak is the tree, not the tree plus the recording.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <reprise/har.h>
#include <reprise/limits.h>

#include "internal.h"

/* ----- the document ----------------------------------------------------------------------- */

static void log_line(const struct rp_har_import_opts *opts, enum rp_log_level lvl, const char *fmt,
                     ...) RP_PRINTF(3, 4);

static void log_line(const struct rp_har_import_opts *opts, enum rp_log_level lvl, const char *fmt,
                     ...)
{
    if (!opts) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    rp__vlog(opts->log, opts->log_ud, lvl, fmt, ap);
    va_end(ap);
}

/* "line L, column C" of the byte at offset off of the n bytes at s. */
static void position_of(const char *s, size_t n, size_t off, size_t *line, size_t *col)
{
    size_t l = 1;
    size_t last_nl = 0;
    bool any_nl = false;
    for (size_t i = 0; i < off && i < n; i++) {
        if (s[i] == '\n') {
            l++;
            last_nl = i;
            any_nl = true;
        }
    }
    *line = l;
    *col = any_nl ? off - last_nl : off + 1;
}

/* Parses the HAR text into *out_root (a new tree), checking it has log.entries. */
/*
 * Parses the n bytes at src into *root (NULL when not JSON); *off is where parsing stopped,
 * past trailing whitespace. True when the whole text is one JSON document.
 */
static bool parse_at(const char *src, size_t n, cJSON **root, size_t *off)
{
    const char *end = NULL;
    *root = cJSON_ParseWithLengthOpts(src, n, &end, false);
    size_t o = end && end >= src && end <= src + n ? (size_t)(end - src) : 0;
    if (*root) {
        while (o < n && (src[o] == ' ' || src[o] == '\t' || src[o] == '\r' || src[o] == '\n' ||
                         src[o] == '\0')) {
            o++;
        }
    }
    *off = o;
    return *root && o == n;
}

/* Parses the HAR text into *out_root (a new tree), checking it has log.entries. */
static rp_code parse_doc(const char *data, size_t len, const char *name, cJSON **out_root,
                         struct rp_error *err)
{
    size_t bom = len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    const char *text = data + bom;
    size_t n = len - bom;
    size_t masked_len = 0;
    char *masked = rp__har_mask_nuls(text, n, &masked_len);
    cJSON *root = NULL;
    size_t off = 0;
    bool whole =
        masked ? parse_at(masked, masked_len, &root, &off) : parse_at(text, n, &root, &off);
    if (!whole && masked) {
        /* Positions are reported in the file as it is: parse that for them. */
        cJSON_Delete(root);
        parse_at(text, n, &root, &off);
    }
    free(masked);
    if (!whole) {
        size_t line, col;
        position_of(text, n, off, &line, &col);
        rp_error_set(err, RP_EFORMAT, "%s: invalid JSON at line %zu, column %zu%s", name, line, col,
                     root ? " (text after the document)" : "");
        cJSON_Delete(root);
        return RP_EFORMAT;
    }
    const cJSON *log = member(root, "log");
    if (!cJSON_IsObject(root) || !cJSON_IsObject(log) || !cJSON_IsArray(member(log, "entries"))) {
        cJSON_Delete(root);
        return rp_error_set(err, RP_EFORMAT, "%s: not HAR: no log.entries", name);
    }
    *out_root = root;
    return RP_OK;
}

/*
 * Converts and hands on every entry of root (from parse_doc), in order. Each
 * entry leaves the tree as it is taken, so its memory goes as soon as it is done with.
 */
static rp_code each_entry(cJSON *root, const char *name, const struct rp_har_import_opts *opts,
                          rp_har_exchange_fn fn, void *ud, struct rp_har_stats *out_stats,
                          struct rp_error *err)
{
    rp_code rc = RP_OK;
    struct rp_har_stats st = {0};
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    cJSON *entries = cJSON_GetObjectItemCaseSensitive(member(root, "log"), "entries");
    st.entries = (uint64_t)cJSON_GetArraySize(entries);
    for (size_t idx = 1; entries->child; idx++) {
        cJSON *e = cJSON_DetachItemViaPointer(entries, entries->child);
        enum rp__har_fate fate = RP__HAR_DROPPED;
        const char *why = "";
        rp_exchange_cleanup(&ex);
        rc = rp__har_entry_to_exchange(e, &ex, &fate, &why, err);
        cJSON_Delete(e);
        if (rc) {
            rp_error_prefix(err, "%s: entry %zu", name, idx);
            goto out;
        }
        if (fate == RP__HAR_DROPPED) {
            st.dropped++;
            log_line(opts, RP_LOG_DEBUG, "%s: entry %zu left out: %s", name, idx, why);
            continue;
        }
        ex.seq = st.exchanges + 1;
        rc = fn(ud, &ex, err);
        if (rc) {
            goto out;
        }
        st.exchanges++;
    }
    if (out_stats) {
        *out_stats = st;
    }
out:
    rp_exchange_cleanup(&ex);
    return rc;
}

rp_code rp_har_read_mem(const char *data, size_t len, const char *name,
                        const struct rp_har_import_opts *opts, rp_har_exchange_fn fn, void *ud,
                        struct rp_har_stats *out_stats, struct rp_error *err)
{
    cJSON *root = NULL;
    rp_code rc = parse_doc(data, len, name, &root, err);
    if (!rc) {
        rc = each_entry(root, name, opts, fn, ud, out_stats, err);
    }
    cJSON_Delete(root);
    return rc;
}

/* Reads the whole file (or standard input for "-") into new memory, at most RP_MAX_HAR_BYTES. */
static rp_code read_file(const char *path, char **out, size_t *out_len, struct rp_error *err)
{
    rp_code rc = RP_EIO;
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    char *buf = NULL;
    if (fd < 0) {
        return rp_error_set(err, RP_EIO, "%s: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        rc = rp_error_set(err, RP_EIO, "%s: is a directory", path);
        goto out;
    }
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > RP_MAX_HAR_BYTES) {
        rc = rp_error_set(err, RP_ETOOBIG, "%s: larger than %u MiB (RP_MAX_HAR_BYTES)", path,
                          RP_MAX_HAR_BYTES / (1024u * 1024u));
        goto out;
    }
    size_t cap = 1u << 16;
    size_t len = 0;
    buf = rp_xmalloc(cap + 1);
    for (;;) {
        if (len > RP_MAX_HAR_BYTES) {
            break; /* standard input, or a file that grew: refused below */
        }
        if (len == cap) {
            /* Room for one byte past the cap, to tell a file at the cap from a larger one. */
            cap = cap < (RP_MAX_HAR_BYTES + 1u) / 2 ? cap * 2 : RP_MAX_HAR_BYTES + 1u;
            buf = rp_xrealloc(buf, cap + 1);
        }
        ssize_t k = read(fd, buf + len, cap - len);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = rp_error_set(err, RP_EIO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (k == 0) {
            break;
        }
        len += (size_t)k;
    }
    if (len > RP_MAX_HAR_BYTES) {
        rc = rp_error_set(err, RP_ETOOBIG, "%s: larger than %u MiB (RP_MAX_HAR_BYTES)", path,
                          RP_MAX_HAR_BYTES / (1024u * 1024u));
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = RP_OK;
out:
    free(buf);
    if (!is_stdin) {
        close(fd);
    }
    return rc;
}

/* Reads and parses the file at path; the file's text is freed once the tree is built. */
static rp_code read_doc(const char *path, cJSON **out_root, struct rp_error *err)
{
    char *data = NULL;
    size_t len = 0;
    rp_code rc = read_file(path, &data, &len, err);
    if (!rc) {
        rc = parse_doc(data, len, path, out_root, err);
    }
    free(data);
    return rc;
}

rp_code rp_har_read(const char *path, const struct rp_har_import_opts *opts, rp_har_exchange_fn fn,
                    void *ud, struct rp_har_stats *out_stats, struct rp_error *err)
{
    cJSON *root = NULL;
    rp_code rc = read_doc(path, &root, err);
    if (!rc) {
        rc = each_entry(root, path, opts, fn, ud, out_stats, err);
    }
    cJSON_Delete(root);
    return rc;
}

/* ----- import into a recording ------------------------------------------------------------ */

struct import_ctx {
    struct rp_intake *in;
    const char *name;
    uint64_t idx; /* exchanges handed on so far */
    uint64_t recorded;
};

static rp_code add_exchange(void *ud, struct rp_exchange *ex, struct rp_error *err)
{
    struct import_ctx *c = ud;
    enum rp_intake_fate fate = RP_INTAKE_FAILED;
    c->idx++;
    ex->seq = 0; /* the writer numbers what it writes, without the gaps filters leave */
    rp_code rc = rp_intake_add(c->in, ex, &fate, err);
    if (fate == RP_INTAKE_DROPPED) {
        rp_error_prefix(err, "%s: exchange %llu", c->name, (unsigned long long)c->idx);
    }
    if (fate == RP_INTAKE_RECORDED) {
        c->recorded++;
    }
    return rc;
}

rp_code rp_har_import(const char *har_path, struct rp_intake *in,
                      const struct rp_har_import_opts *opts, struct rp_har_stats *out_stats,
                      struct rp_error *err)
{
    cJSON *root = NULL;
    struct import_ctx c = {.in = in, .name = har_path};
    struct rp_har_stats st = {0};
    /* The HAR is read and parsed before anything is written. */
    rp_code rc = read_doc(har_path, &root, err);
    if (!rc) {
        rc = each_entry(root, har_path, opts, add_exchange, &c, &st, err);
    }
    cJSON_Delete(root);
    if (!rc && out_stats) {
        st.exchanges = c.recorded;
        *out_stats = st;
    }
    return rc;
}
