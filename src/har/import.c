/* SPDX-License-Identifier: MIT */
/*
 * HAR 1.2 import, the document: a HAR file read through a window (window.c) and walked as it
 * is read, each entry parsed alone with cJSON, converted, handed on in file order (to a callback
 * or to the recording pipeline, intake) and freed before the next is read. What is held is one
 * entry, not the file.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/har.h>

#include "../jscan_int.h"
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

/*
 * The document is read as cJSON would parse it whole, and fails where cJSON would (the same
 * error at the same line and column), but only one value at a time is held. The structure
 * around the entries (the root object, "log", "entries", and the commas, colons and keys
 * between them) is walked here, step by step as cJSON's parse_object and parse_array take it.
 * Every other value (an entry, "pages", "creator") is found whole by a scan that knows strings,
 * escapes and nesting, then parsed alone by cJSON inside as many "[" as enclose it in the
 * document, so that cJSON's nesting limit and its error offsets come out as in one parse of the
 * whole file. Only the first "log" and its first "entries" count, as cJSON's lookup has it.
 */

/* What the walk keeps while it goes. */
struct doc {
    struct rp__har_window w;
    size_t pos; /* the offset being read */
    const struct rp_har_import_opts *opts;
    rp_har_exchange_fn fn;
    void *ud;
    struct rp_har_stats st;
    struct rp_exchange ex;
    bool har; /* the first log is an object and its first entries an array */
};

/* The byte at d->pos into *out, or -1 when the text ends there. */
static rp_code peek(struct doc *d, int *out, struct rp_error *err)
{
    struct rp__har_window *w = &d->w;
    while (d->pos >= w->beg + w->len && !w->eof) {
        /* The byte before pos is kept: an error at the very end is reported there. */
        rp_code rc = rp__har_window_more(w, d->pos ? d->pos - 1 : 0, err);
        if (rc) {
            return rc;
        }
    }
    *out = d->pos < w->beg + w->len ? (unsigned char)w->buf[d->pos - w->beg] : -1;
    return RP_OK;
}

/* Skips what cJSON takes for white space: every byte up to 0x20. */
static rp_code skip_ws(struct doc *d, int *out_c, struct rp_error *err)
{
    for (;;) {
        rp_code rc = peek(d, out_c, err);
        if (rc || *out_c < 0 || *out_c > 0x20) {
            return rc;
        }
        d->pos++;
    }
}

/*
 * The error for invalid JSON at offset off. As cJSON does, an offset at or past the end of the
 * text is reported at its last byte.
 */
static rp_code syntax_error(struct doc *d, size_t off, bool after_doc, struct rp_error *err)
{
    struct rp__har_window *w = &d->w;
    while (off >= w->beg + w->len && !w->eof) {
        rp_code rc = rp__har_window_more(w, w->beg, err); /* is off past the end? */
        if (rc) {
            return rc;
        }
    }
    size_t n = w->beg + w->len;
    if (off >= n) {
        off = n ? n - 1 : 0;
    }
    size_t line, col;
    rp__har_window_position(w, off, &line, &col);
    return rp_error_set(err, RP_EFORMAT, "%s: invalid JSON at line %zu, column %zu%s", w->name,
                        line, col, after_doc ? " (text after the document)" : "");
}

/* One container level more, in a stack of up to CJSON_NESTING_LIMIT bits (1: an object). */
struct nest {
    size_t depth;
    unsigned char bits[(CJSON_NESTING_LIMIT + 7) / 8];
};

/*
 * Steps over byte c of a string or container value; *done when the value ends with it.
 * enclosing is the number of containers around the value in the document.
 */
static void scan_byte(char c, struct nest *st, bool *in_str, bool *esc, size_t enclosing,
                      bool *done)
{
    if (*in_str) {
        if (*esc) {
            *esc = false;
        } else if (c == '\\') {
            *esc = true;
        } else if (c == '"') {
            *in_str = false;
            *done = st->depth == 0;
        }
        return;
    }
    if (c == '"') {
        *in_str = true;
    } else if (c == '{' || c == '[') {
        if (enclosing + st->depth >= CJSON_NESTING_LIMIT) {
            *done = true; /* cJSON stops at this bracket: so does the value */
            return;
        }
        unsigned char bit = (unsigned char)(1u << (st->depth % 8));
        st->bits[st->depth / 8] = (unsigned char)(c == '{' ? st->bits[st->depth / 8] | bit
                                                           : st->bits[st->depth / 8] & ~bit);
        st->depth++;
    } else if (c == '}' || c == ']') {
        size_t top = st->depth - 1;
        bool obj = st->bits[top / 8] & (1u << (top % 8));
        if (obj != (c == '}')) {
            *done = true; /* a mismatch: cJSON stops here */
            return;
        }
        st->depth--;
        *done = st->depth == 0;
    }
}

/* True for a byte that ends a number or a literal (true, false, null) for the scan. */
static bool ends_scalar(unsigned char c)
{
    return c <= 0x20 || c == ',' || c == ']' || c == '}' || c == ':' || c == '"' || c == '[' ||
           c == '{';
}

/*
 * Finds where the value starting at d->pos ends, reading on as needed: *out_end is one past
 * its last byte, or the end of the text when it is cut short. It is not checked here.
 */
static rp_code value_end(struct doc *d, size_t enclosing, size_t *out_end, struct rp_error *err)
{
    struct rp__har_window *w = &d->w;
    size_t start = d->pos;
    unsigned char c0 = (unsigned char)w->buf[start - w->beg];
    bool scalar = c0 != '"' && c0 != '{' && c0 != '[';
    struct nest st = {0};
    bool in_str = false;
    bool esc = false;
    bool done = false;
    size_t i = start;
    for (;;) {
        if (i == w->beg + w->len) {
            if (w->eof) {
                *out_end = i;
                return RP_OK;
            }
            rp_code rc = rp__har_window_more(w, start, err);
            if (rc) {
                return rc;
            }
            continue;
        }
        const char *p = w->buf + (i - w->beg);
        const char *end = w->buf + w->len;
        while (p < end && !done) {
            if (scalar) {
                if (ends_scalar((unsigned char)*p)) {
                    *out_end = w->beg + (size_t)(p - w->buf);
                    return RP_OK;
                }
                p++;
                continue;
            }
            if (in_str && !esc) {
                p = rp__jscan_plain_run(p, end); /* the bulk of an entry */
                if (p == end) {
                    break;
                }
            }
            scan_byte(*p++, &st, &in_str, &esc, enclosing, &done);
        }
        i = w->beg + (size_t)(p - w->buf);
        if (done) {
            *out_end = i;
            return RP_OK;
        }
    }
}

/*
 * Parses the n bytes at text with cJSON inside enclosing "[" (or after one space at the top:
 * a byte order mark is skipped only at the very start). *out_root is the tree or NULL; *out_off
 * is where parsing stopped, as an offset into text (n past a whole value inside "[").
 */
static void parse_wrapped(const char *text, size_t n, size_t enclosing, cJSON **out_root,
                          size_t *out_off)
{
    size_t pre = enclosing ? enclosing : 1;
    size_t wlen = pre + n + enclosing;
    char *wrap = rp_xmalloc(wlen + 1);
    memset(wrap, enclosing ? '[' : ' ', pre);
    memcpy(wrap + pre, text, n);
    memset(wrap + pre + n, ']', enclosing);
    wrap[wlen] = '\0';
    const char *stop = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(wrap, wlen, &stop, false);
    size_t off = stop && stop >= wrap ? (size_t)(stop - wrap) : 0;
    free(wrap);
    if (root && enclosing && off != wlen) {
        cJSON_Delete(root); /* cannot happen: inside "[", cJSON wants a "," or "]" next */
        root = NULL;
    }
    /* At the top, a number or literal may end before the scan's end ("falsex"): the rest is
     * text after the document. */
    *out_off = off > pre ? off - pre : 0;
    if (root && enclosing) {
        *out_off = n;
    }
    *out_root = root;
}

/*
 * Reads the value at d->pos (a valid first byte is checked here) and moves past it. When out
 * is not NULL, *out_root is a new tree and *out the value in it; else the value is only
 * checked. With mask, NUL escapes are masked first (rp__har_mask_nuls), as bodies need.
 */
static rp_code read_value(struct doc *d, size_t enclosing, bool mask, cJSON **out_root,
                          const cJSON **out, struct rp_error *err)
{
    int c;
    rp_code rc = peek(d, &c, err);
    if (rc) {
        return rc;
    }
    /* What cJSON's parse_value takes a value to start with; at anything else it stops there. */
    if (c < 0 || c == '\0' || !strchr("{[\"-0123456789tfn", c)) {
        return syntax_error(d, d->pos, false, err);
    }
    size_t end = 0;
    rc = value_end(d, enclosing, &end, err);
    if (rc) {
        return rc;
    }
    struct rp__har_window *w = &d->w;
    const char *text = w->buf + (d->pos - w->beg);
    size_t n = end - d->pos;
    size_t masked_n = 0;
    char *masked = mask ? rp__har_mask_nuls(text, n, &masked_n) : NULL;
    cJSON *root = NULL;
    size_t off = 0;
    parse_wrapped(masked ? masked : text, masked ? masked_n : n, enclosing, &root, &off);
    if (!root && masked) {
        /* Positions are reported in the file as it is: parse that for them. */
        parse_wrapped(text, n, enclosing, &root, &off);
        cJSON_Delete(root);
        root = NULL;
    }
    free(masked);
    if (!root) {
        return syntax_error(d, d->pos + (off < n ? off : n), false, err);
    }
    d->pos = enclosing ? end : d->pos + (off < n ? off : n);
    if (!out_root) {
        cJSON_Delete(root);
        return RP_OK;
    }
    const cJSON *v = root;
    for (size_t i = 0; i < enclosing; i++) {
        v = v->child;
    }
    *out_root = root;
    *out = v;
    return RP_OK;
}

/* Converts one entry and hands it on; idx counts from 1. */
static rp_code one_entry(struct doc *d, const cJSON *e, size_t idx, struct rp_error *err)
{
    enum rp__har_fate fate = RP__HAR_DROPPED;
    const char *why = "";
    rp_exchange_cleanup(&d->ex);
    rp_code rc = rp__har_entry_to_exchange(e, &d->ex, &fate, &why, err);
    if (rc) {
        rp_error_prefix(err, "%s: entry %zu", d->w.name, idx);
        return rc;
    }
    if (fate == RP__HAR_DROPPED) {
        d->st.dropped++;
        log_line(d->opts, RP_LOG_DEBUG, "%s: entry %zu left out: %s", d->w.name, idx, why);
        return RP_OK;
    }
    d->ex.seq = d->st.exchanges + 1;
    rc = d->fn(d->ud, &d->ex, err);
    if (!rc) {
        d->st.exchanges++;
    }
    return rc;
}

/*
 * After an element of the container that close ends: its closing byte (consumed; *done set) or
 * a comma, and then the next element's first byte in *c, d->pos on it.
 */
static rp_code next_element(struct doc *d, int close, int *c, bool *done, struct rp_error *err)
{
    rp_code rc = skip_ws(d, c, err);
    if (rc) {
        return rc;
    }
    if (*c == close) {
        d->pos++;
        *done = true;
        return RP_OK;
    }
    if (*c != ',') {
        return syntax_error(d, d->pos, false, err);
    }
    d->pos++;
    return skip_ws(d, c, err);
}

/* log.entries, at its "[": each entry parsed, converted, handed on and freed in turn. */
static rp_code entries(struct doc *d, struct rp_error *err)
{
    d->har = true;
    d->pos++;
    int c;
    rp_code rc = skip_ws(d, &c, err);
    if (rc) {
        return rc;
    }
    if (c == ']') {
        d->pos++;
        return RP_OK;
    }
    if (c < 0) {
        return syntax_error(d, d->pos, false, err);
    }
    for (;;) {
        cJSON *root = NULL;
        const cJSON *e = NULL;
        rc = read_value(d, 3, true, &root, &e, err);
        if (rc) {
            return rc;
        }
        d->st.entries++;
        rc = one_entry(d, e, (size_t)d->st.entries, err);
        cJSON_Delete(root);
        bool done = false;
        if (!rc) {
            rc = next_element(d, ']', &c, &done, err);
        }
        if (rc || done) {
            return rc;
        }
    }
}

/* Reads a member's value at d->pos when it is the member looked for (the first of its key). */
typedef rp_code (*member_fn)(struct doc *d, struct rp_error *err);

/*
 * The object at d->pos (its "{"), enclosed by enclosing containers: every member's value is
 * checked and skipped, but that of the first member named want, which on_want reads.
 */
static rp_code object(struct doc *d, size_t enclosing, const char *want, member_fn on_want,
                      struct rp_error *err)
{
    d->pos++;
    int c;
    rp_code rc = skip_ws(d, &c, err);
    if (rc) {
        return rc;
    }
    if (c == '}') {
        d->pos++;
        return RP_OK;
    }
    bool seen = false;
    for (;;) {
        if (c != '"') {
            return syntax_error(d, d->pos + 1, false, err); /* cJSON stops one byte past */
        }
        cJSON *key = NULL;
        const cJSON *k = NULL;
        rc = read_value(d, enclosing + 1, true, &key, &k, err);
        if (rc) {
            return rc;
        }
        bool wanted = !seen && strcmp(k->valuestring, want) == 0;
        cJSON_Delete(key);
        rc = skip_ws(d, &c, err);
        if (rc) {
            return rc;
        }
        if (c != ':') {
            return syntax_error(d, d->pos, false, err);
        }
        d->pos++;
        rc = skip_ws(d, &c, err);
        if (!rc && wanted) {
            seen = true;
            rc = on_want(d, err);
        } else if (!rc) {
            rc = read_value(d, enclosing + 1, false, NULL, NULL, err);
        }
        bool done = false;
        if (!rc) {
            rc = next_element(d, '}', &c, &done, err);
        }
        if (rc || done) {
            return rc;
        }
    }
}

/* log.entries: read as it goes when it is an array, else only checked. */
static rp_code entries_member(struct doc *d, struct rp_error *err)
{
    int c;
    rp_code rc = peek(d, &c, err);
    if (rc) {
        return rc;
    }
    return c == '[' ? entries(d, err) : read_value(d, 2, false, NULL, NULL, err);
}

/* log: walked when it is an object, else only checked. */
static rp_code log_member(struct doc *d, struct rp_error *err)
{
    int c;
    rp_code rc = peek(d, &c, err);
    if (rc) {
        return rc;
    }
    return c == '{' ? object(d, 1, "entries", entries_member, err)
                    : read_value(d, 1, false, NULL, NULL, err);
}

/* The whole document: the root value, then nothing but white space. */
static rp_code walk(struct doc *d, struct rp_error *err)
{
    struct rp__har_window *w = &d->w;
    rp_code rc = rp__har_window_more(w, 0, err);
    while (!rc && w->len < 5 && !w->eof) {
        rc = rp__har_window_more(w, 0, err);
    }
    if (rc) {
        return rc;
    }
    /* cJSON skips a byte order mark of its own at the start of a text of 5 bytes or more. */
    if (w->len >= 5 && memcmp(w->buf, "\xEF\xBB\xBF", 3) == 0) {
        d->pos = 3;
    }
    int c;
    rc = skip_ws(d, &c, err);
    if (rc) {
        return rc;
    }
    if (c == '{') {
        rc = object(d, 0, "log", log_member, err);
    } else {
        rc = read_value(d, 0, false, NULL, NULL, err);
    }
    /* Only these may follow the document, as the whole-file parse allowed. */
    for (;;) {
        if (!rc) {
            rc = peek(d, &c, err);
        }
        if (rc || !(c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0')) {
            break;
        }
        d->pos++;
    }
    if (rc) {
        return rc;
    }
    if (c >= 0) {
        return syntax_error(d, d->pos, true, err);
    }
    if (!d->har) {
        return rp_error_set(err, RP_EFORMAT, "%s: not HAR: no log.entries", w->name);
    }
    return RP_OK;
}

/* Walks the document in w (taken: cleaned up here), handing on every entry in order. */
static rp_code read_doc(struct rp__har_window *w, const struct rp_har_import_opts *opts,
                        rp_har_exchange_fn fn, void *ud, struct rp_har_stats *out_stats,
                        struct rp_error *err)
{
    struct doc d = {.w = *w, .opts = opts, .fn = fn, .ud = ud};
    rp_exchange_init(&d.ex);
    rp_code rc = walk(&d, err);
    if (!rc && out_stats) {
        *out_stats = d.st;
    }
    rp_exchange_cleanup(&d.ex);
    rp__har_window_cleanup(&d.w);
    return rc;
}

static size_t read_size(const struct rp_har_import_opts *opts)
{
    return opts && opts->read_size ? opts->read_size : RP__HAR_READ_SIZE;
}

rp_code rp_har_read_mem(const char *data, size_t len, const char *name,
                        const struct rp_har_import_opts *opts, rp_har_exchange_fn fn, void *ud,
                        struct rp_har_stats *out_stats, struct rp_error *err)
{
    struct rp__har_window w;
    rp__har_window_mem(&w, data, len, name, read_size(opts));
    return read_doc(&w, opts, fn, ud, out_stats, err);
}

rp_code rp_har_read(const char *path, const struct rp_har_import_opts *opts, rp_har_exchange_fn fn,
                    void *ud, struct rp_har_stats *out_stats, struct rp_error *err)
{
    struct rp__har_window w;
    rp_code rc = rp__har_window_open(&w, path, read_size(opts), err);
    if (rc) {
        return rc;
    }
    return read_doc(&w, opts, fn, ud, out_stats, err);
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
    struct import_ctx c = {.in = in, .name = har_path};
    struct rp_har_stats st = {0};
    /* Entries are written as they are read: on an error, the caller's intake discards the
     * file it was writing. */
    rp_code rc = rp_har_read(har_path, opts, add_exchange, &c, &st, err);
    if (!rc && out_stats) {
        st.exchanges = c.recorded;
        *out_stats = st;
    }
    return rc;
}
