/* SPDX-License-Identifier: MIT */
/*
 * Tenant rewriting and templates. Each rule FROM -> TO is compiled once into the forms FROM can
 * take inside a request (raw, percent-encoded, form-encoded, and three JSON escapings); a scan
 * stops only on bytes that start one of those forms, and allocates only once something matched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <reprise/limits.h>
#include <reprise/rewrite.h>

#include "exchange_int.h"
#include "text_int.h"

/*
 * The forms a string takes in a request. F_JSON escapes only what JSON requires (quote,
 * backslash, control characters) and keeps UTF-8, as cJSON and JavaScript write it; F_JSON_U
 * also writes non-ASCII as \uXXXX, as Python does; F_JSON_U_SLASH also writes '/' as "\/", as
 * PHP does. The order matters: when several forms of FROM are the same bytes, the first one
 * that suits the place of the match decides how TO is written.
 */
enum form { F_RAW, F_PCT, F_FORM, F_JSON, F_JSON_U, F_JSON_U_SLASH, F_COUNT };

/* The most bytes one input byte takes in any form: a control character as \u00XX. */
#define FORM_GROWTH 6u

/* Where a text stands, which decides the form of TO when the forms of FROM coincide. */
enum place { PLACE_TEXT, PLACE_URL, PLACE_FORM, PLACE_JSON };

static const enum form place_form[] = {
    [PLACE_TEXT] = F_RAW,
    [PLACE_URL] = F_PCT,
    [PLACE_FORM] = F_FORM,
    [PLACE_JSON] = F_JSON,
};

/* One byte pattern to look for: one or more forms of one rule's FROM. */
struct variant {
    char *pat;
    size_t len;
    unsigned char *fold; /* NULL, or 1 for each byte that is a hex letter of an escape */
    unsigned forms;      /* bit f is set when form f of FROM is exactly pat */
    size_t rule;         /* index into rp_rewriter.rules */
    size_t order;        /* rule index * F_COUNT + first form: ties keep rule order */
};

struct rule {
    char *from;
    size_t from_len;
    char *to[F_COUNT]; /* TO in each form */
    size_t to_len[F_COUNT];
};

struct rp_rewriter {
    struct rule *rules;
    size_t nrules;
    struct variant *vars; /* sorted by first byte, then longest FROM first, then rule order */
    size_t nvars;
    size_t first[257]; /* byte c starts vars[first[c]] .. vars[first[c + 1] - 1] */
    bool starts[256];  /* first[c] != first[c + 1] */
    int only;          /* the one first byte all variants share, or -1 */
};

/* ----- characters ------------------------------------------------------------------------- */

static bool is_token(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static bool is_unreserved(unsigned char c)
{
    return is_token(c) || c == '.' || c == '~';
}

/* ----- encoding --------------------------------------------------------------------------- */

static size_t put_u(char *out, size_t o, unsigned v)
{
    return o + rp__json_u_write(v, out + o);
}

/* Writes a JSON-escaped ASCII byte at out[o]; returns the new length. */
static size_t put_json_ascii(char *out, size_t o, unsigned char c, bool slash)
{
    static const char short_esc[] = {
        ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
    if (c == '"' || c == '\\' || (c == '/' && slash)) {
        out[o++] = '\\';
        out[o++] = (char)c;
    } else if (c < 0x20 && c < sizeof(short_esc) && short_esc[c]) {
        out[o++] = '\\';
        out[o++] = short_esc[c];
    } else if (c < 0x20) {
        o = put_u(out, o, c);
    } else {
        out[o++] = (char)c;
    }
    return o;
}

/*
 * Writes form f of the n bytes at s (well-formed UTF-8) to out, which has room for
 * n * FORM_GROWTH + 1 bytes, NUL-terminates it and returns its length.
 */
static size_t encode(enum form f, const char *s, size_t n, char *out)
{
    size_t o = 0;
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (f == F_RAW) {
            out[o++] = (char)c;
            i++;
        } else if (f == F_PCT || f == F_FORM) {
            if (is_unreserved(c)) {
                out[o++] = (char)c;
            } else if (c == ' ' && f == F_FORM) {
                out[o++] = '+';
            } else {
                out[o++] = '%';
                out[o++] = rp__hex_upper[c >> 4];
                out[o++] = rp__hex_upper[c & 0xF];
            }
            i++;
        } else if (c < 0x80 || f == F_JSON) {
            o = put_json_ascii(out, o, c, f == F_JSON_U_SLASH);
            i++;
        } else {
            /* A whole UTF-8 sequence (validated when the rule was added) as \u escapes. */
            size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            unsigned cp = c & (len == 4 ? 0x07u : len == 3 ? 0x0Fu : 0x1Fu);
            for (size_t k = 1; k < len; k++) {
                cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3Fu);
            }
            o = put_u(out, o, cp); /* a surrogate pair past U+FFFF */
            i += len;
        }
    }
    out[o] = '\0';
    return o;
}

/*
 * Marks the hex letters of the escapes in pat (form f), which may come in either case in the
 * text; returns NULL when there are none.
 */
static unsigned char *fold_mask(enum form f, const char *pat, size_t len)
{
    unsigned char *fold = NULL;
    size_t i = 0;
    while (i < len) {
        size_t from = 0;
        size_t digits = 0;
        if ((f == F_PCT || f == F_FORM) && pat[i] == '%' && len - i >= 3) {
            from = i + 1;
            digits = 2;
        } else if (f >= F_JSON && pat[i] == '\\' && len - i >= 2) {
            if (pat[i + 1] == 'u' && len - i >= 6) {
                from = i + 2;
                digits = 4;
            } else {
                i += 2;
                continue;
            }
        } else {
            i++;
            continue;
        }
        for (size_t k = from; k < from + digits; k++) {
            unsigned char c = (unsigned char)pat[k];
            if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
                if (!fold) {
                    fold = rp_xcalloc(len, 1);
                }
                fold[k] = 1;
            }
        }
        i = from + digits;
    }
    return fold;
}

/* ----- rules ------------------------------------------------------------------------------ */

struct rp_rewriter *rp_rewriter_new(void)
{
    struct rp_rewriter *rw = rp_xcalloc(1, sizeof(*rw));
    rw->only = -1;
    return rw;
}

void rp_rewriter_free(struct rp_rewriter *rw)
{
    if (!rw) {
        return;
    }
    for (size_t i = 0; i < rw->nrules; i++) {
        free(rw->rules[i].from);
        for (size_t f = 0; f < F_COUNT; f++) {
            free(rw->rules[i].to[f]);
        }
    }
    for (size_t i = 0; i < rw->nvars; i++) {
        free(rw->vars[i].pat);
        free(rw->vars[i].fold);
    }
    free(rw->rules);
    free(rw->vars);
    free(rw);
}

size_t rp_rewriter_count(const struct rp_rewriter *rw)
{
    return rw ? rw->nrules : 0;
}

static int cmp_variant(const struct variant *a, const struct variant *b,
                       const struct rp_rewriter *rw)
{
    unsigned char ca = (unsigned char)a->pat[0];
    unsigned char cb = (unsigned char)b->pat[0];
    if (ca != cb) {
        return ca < cb ? -1 : 1;
    }
    size_t la = rw->rules[a->rule].from_len;
    size_t lb = rw->rules[b->rule].from_len;
    if (la != lb) {
        return la > lb ? -1 : 1;
    }
    return a->order < b->order ? -1 : a->order > b->order ? 1 : 0;
}

/*
 * Sorts the variants and rebuilds the first-byte index. Rules are few and added once, so a
 * plain insertion sort (stable, and free of qsort's lack of a context pointer) is enough.
 */
static void reindex(struct rp_rewriter *rw)
{
    for (size_t i = 1; i < rw->nvars; i++) {
        struct variant v = rw->vars[i];
        size_t j = i;
        while (j > 0 && cmp_variant(&rw->vars[j - 1], &v, rw) > 0) {
            rw->vars[j] = rw->vars[j - 1];
            j--;
        }
        rw->vars[j] = v;
    }
    size_t k = 0;
    int distinct = 0;
    for (unsigned c = 0; c < 256; c++) {
        rw->first[c] = k;
        while (k < rw->nvars && (unsigned char)rw->vars[k].pat[0] == c) {
            k++;
        }
        rw->starts[c] = rw->first[c] != k;
        if (rw->starts[c]) {
            distinct++;
            rw->only = (int)c;
        }
    }
    rw->first[256] = k;
    if (distinct != 1) {
        rw->only = -1;
    }
}

rp_code rp_rewriter_add(struct rp_rewriter *rw, const char *from, const char *to,
                        struct rp_error *err)
{
    if (!from || !to) {
        return rp_error_set(err, RP_EUSAGE, "a tenant rule needs both FROM and TO");
    }
    size_t from_len = strlen(from);
    size_t to_len = strlen(to);
    int shown = from_len > 64 ? 64 : (int)from_len;
    if (from_len > RP_MAX_TENANT_BYTES || to_len > RP_MAX_TENANT_BYTES) {
        return rp_error_set(err, RP_ETOOBIG, "tenant rule \"%.*s\": longer than %u bytes", shown,
                            from, RP_MAX_TENANT_BYTES);
    }
    bool any_token = false;
    for (size_t i = 0; i < from_len; i++) {
        any_token = any_token || is_token((unsigned char)from[i]);
    }
    if (!any_token) {
        return rp_error_set(err, RP_EUSAGE,
                            "tenant \"%.*s\" has no letter, digit, '_' or '-' to match", shown,
                            from);
    }
    if (!rp__utf8_text((const unsigned char *)from, from_len) ||
        !rp__utf8_text((const unsigned char *)to, to_len)) {
        return rp_error_set(err, RP_EUSAGE, "tenant rule \"%.*s\" is not UTF-8 text", shown, from);
    }
    for (size_t i = 0; i < rw->nrules; i++) {
        if (strcmp(rw->rules[i].from, from) == 0) {
            return rp_error_set(err, RP_EUSAGE, "tenant \"%.*s\" has two rules", shown, from);
        }
    }
    if (rw->nrules >= RP_MAX_REWRITE_RULES) {
        return rp_error_set(err, RP_ETOOBIG, "more than %u tenant rules", RP_MAX_REWRITE_RULES);
    }

    /* Lengths are capped above, so these products cannot overflow. */
    char *tmp = rp_xmalloc(from_len * FORM_GROWTH + 1);
    rw->rules = rp_xreallocarray(rw->rules, rw->nrules + 1, sizeof(*rw->rules));
    rw->vars = rp_xreallocarray(rw->vars, rw->nvars + F_COUNT, sizeof(*rw->vars));
    size_t ri = rw->nrules++;
    struct rule *r = &rw->rules[ri];
    r->from = rp_xstrndup(from, from_len);
    r->from_len = from_len;
    size_t first_var = rw->nvars;
    for (size_t f = 0; f < F_COUNT; f++) {
        r->to[f] = rp_xmalloc(to_len * FORM_GROWTH + 1);
        r->to_len[f] = encode((enum form)f, to, to_len, r->to[f]);
        size_t len = encode((enum form)f, from, from_len, tmp);
        /* A form identical to an earlier one joins that variant instead of being scanned for
         * twice. The variants of earlier rules are sorted and cannot be ours. */
        bool joined = false;
        for (size_t k = first_var; k < rw->nvars && !joined; k++) {
            struct variant *v = &rw->vars[k];
            if (v->len == len && memcmp(v->pat, tmp, len) == 0) {
                v->forms |= 1u << f;
                joined = true;
            }
        }
        if (!joined) {
            struct variant *v = &rw->vars[rw->nvars];
            v->pat = rp_xstrndup(tmp, len);
            v->len = len;
            v->fold = fold_mask((enum form)f, tmp, len);
            v->forms = 1u << f;
            v->rule = ri;
            v->order = ri * F_COUNT + f;
            rw->nvars++;
        }
    }
    free(tmp);
    reindex(rw);
    return RP_OK;
}

/* ----- matching --------------------------------------------------------------------------- */

/* True when s[j] is a backslash that starts an escape: the run of backslashes ending there is
 * odd. */
static bool escaping_backslash(const char *s, size_t j)
{
    size_t run = 0;
    while (s[j] == '\\') {
        run++;
        if (j == 0) {
            break;
        }
        j--;
    }
    return run % 2 == 1;
}

/*
 * True when the character before s[i] is not a token character. An escape counts as the
 * character it stands for: "%2Facme" and "\nacme" begin at a boundary, "%41acme" does not.
 */
static bool boundary_before(const char *s, size_t i)
{
    if (i == 0) {
        return true;
    }
    unsigned char c = (unsigned char)s[i - 1];
    int byte = i >= 3 && s[i - 3] == '%' ? rp__hex_byte(s + i - 2) : -1;
    if (byte >= 0) {
        return !is_token((unsigned)byte);
    }
    if (i >= 6 && s[i - 5] == 'u' && s[i - 6] == '\\' && escaping_backslash(s, i - 6)) {
        long cu = rp__hex4(s + i - 4);
        if (cu >= 0) {
            return !is_token((unsigned)cu);
        }
    }
    if ((c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') && i >= 2 && s[i - 2] == '\\' &&
        escaping_backslash(s, i - 2)) {
        return true;
    }
    return !is_token(c);
}

/* True when the character at s[e] (the first after a match) is not a token character. */
static bool boundary_after(const char *s, size_t n, size_t e)
{
    if (e == n) {
        return true;
    }
    unsigned char c = (unsigned char)s[e];
    if (c == '%' && n - e >= 3) {
        int byte = rp__hex_byte(s + e + 1);
        if (byte >= 0) {
            return !is_token((unsigned)byte);
        }
    }
    if (c == '\\' && n - e >= 6 && s[e + 1] == 'u') {
        long cu = rp__hex4(s + e + 2);
        if (cu >= 0) {
            return !is_token((unsigned)cu);
        }
    }
    return !is_token(c);
}

static bool same(const struct variant *v, const char *t)
{
    if (memcmp(v->pat, t, v->len) == 0) {
        return true;
    }
    if (!v->fold) {
        return false;
    }
    for (size_t k = 0; k < v->len; k++) {
        unsigned char a = (unsigned char)t[k];
        unsigned char b = (unsigned char)v->pat[k];
        if (a != b && !(v->fold[k] && (a | 0x20) == (b | 0x20))) {
            return false;
        }
    }
    return true;
}

/* The variant that matches as a whole token at s[i], longest FROM first, or NULL. */
static const struct variant *match_at(const struct rp_rewriter *rw, const char *s, size_t n,
                                      size_t i)
{
    if (!boundary_before(s, i)) {
        return NULL;
    }
    unsigned char c = (unsigned char)s[i];
    for (size_t k = rw->first[c]; k < rw->first[c + 1]; k++) {
        const struct variant *v = &rw->vars[k];
        if (v->len <= n - i && same(v, s + i) && boundary_after(s, n, i + v->len)) {
            return v;
        }
    }
    return NULL;
}

static enum form pick_form(unsigned forms, enum place place)
{
    enum form want = place_form[place];
    if (forms & (1u << want)) {
        return want;
    }
    for (unsigned f = 0; f < F_COUNT; f++) {
        if (forms & (1u << f)) {
            return (enum form)f;
        }
    }
    return F_RAW;
}

/*
 * Rewrites the n bytes at s in one pass, so replaced text is never looked at again. On success
 * *out is NULL when nothing matched, else new memory of *out_len bytes (at most max), and
 * *hits grows by the number of replacements. RP_ETOOBIG past max.
 */
static rp_code rewrite(const struct rp_rewriter *rw, const char *s, size_t n, enum place place,
                       size_t max, char **out, size_t *out_len, size_t *hits, struct rp_error *err)
{
    rp_code rc = RP_OK;
    struct rp_buf b;
    rp_buf_init(&b, max);
    size_t done = 0;
    size_t found = 0;
    size_t i = 0;
    while (rw->nvars > 0 && i < n) {
        if (rw->only >= 0) {
            const char *p = memchr(s + i, rw->only, n - i);
            if (!p) {
                break;
            }
            i = (size_t)(p - s);
        } else {
            while (i < n && !rw->starts[(unsigned char)s[i]]) {
                i++;
            }
            if (i == n) {
                break;
            }
        }
        const struct variant *v = match_at(rw, s, n, i);
        if (!v) {
            i++;
            continue;
        }
        const struct rule *r = &rw->rules[v->rule];
        enum form f = pick_form(v->forms, place);
        rc = rp_buf_add(&b, s + done, i - done, err);
        if (!rc) {
            rc = rp_buf_add(&b, r->to[f], r->to_len[f], err);
        }
        if (rc) {
            goto out;
        }
        i += v->len;
        done = i;
        found++;
    }
    rc = rp__part_finish(&b, found > 0, s, n, done, out, out_len, err);
    if (!rc) {
        *hits += found;
    }
    return rc;
out:
    rp_buf_cleanup(&b);
    return rc;
}

char *rp_rewrite_text(const struct rp_rewriter *rw, const char *s, size_t n, size_t *out_len)
{
    char *out = NULL;
    size_t len = 0;
    size_t hits = 0;
    /* No cap of our own here: the text is the caller's, and a rewrite only grows it by the
     * rules' TO lengths, which are capped. SIZE_MAX / 2 is never reached before malloc fails. */
    if (!rw || rewrite(rw, s, n, PLACE_TEXT, SIZE_MAX / 2, &out, &len, &hits, NULL)) {
        return NULL;
    }
    if (out && out_len) {
        *out_len = len;
    }
    return out;
}

/* Headers whose values are URLs. */
static enum place header_place(const struct rp_header *h)
{
    if (rp_strieq(h->name, h->name_len, "Referer") || rp_strieq(h->name, h->name_len, "Origin")) {
        return PLACE_URL;
    }
    return PLACE_TEXT;
}

/* What rewrite_part needs: the rewriter, the request's headers and the count so far. */
struct rewrite_ctx {
    const struct rp_rewriter *rw;
    const struct rp_headers *headers;
    size_t hits;
};

/* Rewrites one part of a request (an rp__part_fn). */
static rp_code rewrite_part(void *ud, enum rp__part part, const struct rp_header *h, const char *s,
                            size_t n, size_t max, char **out, size_t *out_len, struct rp_error *err)
{
    struct rewrite_ctx *c = ud;
    enum place place = PLACE_URL;
    if (part == RP__PART_HEADER) {
        place = header_place(h);
    } else if (part == RP__PART_BODY) {
        enum rp__body_form f = rp__body_form(c->headers);
        place = f == RP__BODY_JSON ? PLACE_JSON : f == RP__BODY_FORM ? PLACE_FORM : PLACE_TEXT;
    }
    rp_code rc = rewrite(c->rw, s, n, place, max, out, out_len, &c->hits, err);
    if (rc) {
        if (part == RP__PART_URL) {
            rp_error_prefix(err, "rewriting the URL");
        } else if (part == RP__PART_HEADER) {
            rp_error_prefix(err, "rewriting header %s", h->name);
        } else {
            rp_error_prefix(err, "rewriting the body");
        }
    }
    return rc;
}

rp_code rp_rewrite_request(const struct rp_rewriter *rw, struct rp_request *req, size_t *out_count,
                           struct rp_error *err)
{
    struct rewrite_ctx c = {rw, &req->headers, 0};
    rp_code rc = rp__request_transform(req, rewrite_part, &c, err);
    if (!rc && out_count) {
        *out_count = c.hits;
    }
    return rc;
}

/* ----- templates -------------------------------------------------------------------------- */

/* Fills buf with n random bytes from the kernel. */
static rp_code random_bytes(unsigned char *buf, size_t n, struct rp_error *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = getrandom(buf + got, n - got, 0);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            break;
        }
        got += (size_t)k;
    }
    if (got == n) {
        return RP_OK;
    }
    /* Kernels without getrandom(2) still have the device. */
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return rp_error_set(err, RP_ESYS, "no source of random numbers: %s", strerror(errno));
    }
    got = 0;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            break;
        }
        got += (size_t)k;
    }
    close(fd);
    if (got != n) {
        return rp_error_set(err, RP_ESYS, "could not read /dev/urandom");
    }
    return RP_OK;
}

static rp_code add_uuid(struct rp_buf *b, struct rp_error *err)
{
    unsigned char r[16];
    rp_code rc = random_bytes(r, sizeof(r), err);
    if (rc) {
        return rc;
    }
    r[6] = (unsigned char)((r[6] & 0x0F) | 0x40); /* version 4 */
    r[8] = (unsigned char)((r[8] & 0x3F) | 0x80); /* variant 10xx */
    char s[37];
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            s[o++] = '-';
        }
        s[o++] = rp__hex_lower[r[i] >> 4];
        s[o++] = rp__hex_lower[r[i] & 0xF];
    }
    return rp_buf_add(b, s, o, err);
}

static rp_code add_date(struct rp_buf *b, int64_t now_us, struct rp_error *err)
{
    int64_t secs = now_us / 1000000;
    if (now_us % 1000000 < 0) {
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    char s[32];
    if (!gmtime_r(&t, &tm) || strftime(s, sizeof(s), "%Y%m%d", &tm) == 0) {
        return rp_error_set(err, RP_EUSAGE, "{date}: time %lld is out of range", (long long)secs);
    }
    return rp_buf_adds(b, s, err);
}

static rp_code add_borrowed(struct rp_buf *b, const char *field, const char *value,
                            struct rp_error *err)
{
    if (!value) {
        return rp_error_set(err, RP_EUSAGE, "{%s} is not available here", field);
    }
    return rp_buf_adds(b, value, err);
}

/* Appends the value of the field {name} (len bytes, not NUL-terminated). */
static rp_code add_field(struct rp_buf *b, const char *name, size_t len,
                         const struct rp_template_ctx *ctx, struct rp_error *err)
{
    int shown = len > 64 ? 64 : (int)len;
    if (len == 3 && memcmp(name, "run", 3) == 0) {
        return add_borrowed(b, "run", ctx ? ctx->run_id : NULL, err);
    }
    if (len == 7 && memcmp(name, "session", 7) == 0) {
        return add_borrowed(b, "session", ctx ? ctx->session_id : NULL, err);
    }
    if (len == 6 && memcmp(name, "tenant", 6) == 0) {
        return add_borrowed(b, "tenant", ctx ? ctx->tenant : NULL, err);
    }
    if (len == 4 && memcmp(name, "uuid", 4) == 0) {
        return add_uuid(b, err);
    }
    if (len == 4 && memcmp(name, "date", 4) == 0) {
        if (!ctx) {
            return rp_error_set(err, RP_EUSAGE, "{date} is not available here");
        }
        return add_date(b, ctx->now_us, err);
    }
    if (len > 4 && memcmp(name, "env:", 4) == 0) {
        char *var = rp_xstrndup(name + 4, len - 4);
        const char *value = getenv(var);
        rp_code rc;
        if (!value) {
            rc = rp_error_set(err, RP_ENOSECRET, "environment variable %.64s is not set", var);
        } else {
            rc = rp_buf_adds(b, value, err);
        }
        free(var);
        return rc;
    }
    return rp_error_set(err, RP_EUSAGE, "unknown template field {%.*s}", shown, name);
}

rp_code rp_template_expand(const char *tmpl, const struct rp_template_ctx *ctx, char **out,
                           struct rp_error *err)
{
    rp_code rc = RP_OK;
    struct rp_buf b;
    rp_buf_init(&b, RP_MAX_TEMPLATE_BYTES);
    const char *p = tmpl;
    while (*p && !rc) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            rc = rp_buf_addc(&b, p[0], err);
            p += 2;
        } else if (p[0] == '{') {
            const char *close = strchr(p + 1, '}');
            if (!close) {
                rc = rp_error_set(err, RP_EUSAGE, "unclosed template field %.64s", p);
                goto out;
            }
            rc = add_field(&b, p + 1, (size_t)(close - p - 1), ctx, err);
            p = close + 1;
        } else {
            size_t run = strcspn(p + 1, "{}") + 1;
            rc = rp_buf_add(&b, p, run, err);
            p += run;
        }
    }
    if (rc) {
        if (rc == RP_ETOOBIG) {
            rp_error_set(err, RP_ETOOBIG, "template expands past %u bytes", RP_MAX_TEMPLATE_BYTES);
        }
        goto out;
    }
    *out = rp_buf_take(&b, NULL);
out:
    rp_buf_cleanup(&b);
    return rc;
}
