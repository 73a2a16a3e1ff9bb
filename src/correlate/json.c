/* SPDX-License-Identifier: MIT */
/*
 * A small JSON scanner for correlation. cJSON would re-print a body it changed; this reads the
 * text in place instead, so a session can put a live id exactly where the recorded one stood
 * and leave every other byte of the request body as it was. It walks a document's scalars with
 * their paths ($.items[0].id), finds the value at a path, and canonicalises numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../jscan_int.h"
#include "internal.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Writes the canonical text of the number in n bytes at s: integers as written, other forms
 * that hold an exact integer (4.0, 4e0) as that integer, the rest as written. */
static bool canon_number(const char *s, size_t n, char *out, size_t outsz, size_t *out_len)
{
    bool plain = true;
    bool exponent = false;
    bool fraction = false; /* a digit other than 0 after the point */
    bool point = false;
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' || s[i] == 'e' || s[i] == 'E') {
            plain = false;
            exponent = exponent || s[i] != '.';
            point = point || s[i] == '.';
        } else if (s[i] >= '0' && s[i] <= '9') {
            digits++;
            fraction = fraction || (point && !exponent && s[i] != '0');
        }
    }
    /* 12.5 is no integer, and with at most 15 digits no rounding to a double makes it one: it
     * stays as written without a strtod. */
    bool surely_fraction = !exponent && fraction && digits <= 15;
    if (!plain && !surely_fraction && n < 64) {
        char tmp[64];
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        char *end = NULL;
        double d = strtod(tmp, &end);
        if (end == tmp + n && d > -9007199254740992.0 && d < 9007199254740992.0 &&
            d == (double)(long long)d) {
            int k = snprintf(out, outsz, "%lld", (long long)d);
            if (k < 0 || (size_t)k >= outsz) {
                return false;
            }
            *out_len = (size_t)k;
            return true;
        }
    }
    if (n >= outsz) {
        return false;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    *out_len = n;
    return true;
}

/* ----- walking ------------------------------------------------------------------------------ */

struct walk {
    const char *s;
    size_t n;
    size_t i;
    rp__json_leaf_fn fn;
    void *ud;
    bool stop; /* the callback asked to stop */
    char path[RP_CORRELATE_MAX_PATH];
    size_t path_len;
    char val[RP__CORR_VALUE_BUF];
};

/* A key is written ".key" unless that would be ambiguous; then ["key"] with JSON escapes. */
static bool key_needs_quotes(const char *k, size_t n)
{
    if (n == 0) {
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c == '.' || c == '[' || c == ']' || c == '"' || c == '\\' || c < 0x20) {
            return true;
        }
    }
    return false;
}

static bool path_add(struct walk *w, const char *p, size_t m)
{
    if (m >= sizeof(w->path) - w->path_len) {
        return false;
    }
    memcpy(w->path + w->path_len, p, m);
    w->path_len += m;
    w->path[w->path_len] = '\0';
    return true;
}

static bool path_add_key(struct walk *w, const char *k, size_t n)
{
    if (!key_needs_quotes(k, n)) {
        return path_add(w, ".", 1) && path_add(w, k, n);
    }
    struct rp_buf q;
    rp_buf_init(&q, RP_CORRELATE_MAX_PATH);
    bool ok = rp__correlate_json_quote(k, n, &q, NULL) == RP_OK && path_add(w, "[", 1) &&
              path_add(w, q.data, q.len) && path_add(w, "]", 1);
    rp_buf_cleanup(&q);
    return ok;
}

static bool path_add_index(struct walk *w, size_t idx)
{
    /* "[N]", written backwards from the end of b: cheaper than snprintf for every element. */
    char b[32];
    char *p = b + sizeof(b);
    *--p = ']';
    do {
        *--p = (char)('0' + idx % 10);
        idx /= 10;
    } while (idx);
    *--p = '[';
    return path_add(w, p, (size_t)(b + sizeof(b) - p));
}

static bool walk_value(struct walk *w, size_t depth, const char *key, size_t key_len, bool in_array,
                       const char *ctx, size_t ctx_len, bool report);

static bool walk_container(struct walk *w, size_t depth, const char *key, size_t key_len,
                           const char *ctx, size_t ctx_len, bool report)
{
    char open = w->s[w->i];
    char close = open == '{' ? '}' : ']';
    if (depth >= RP_MAX_JSON_DEPTH) {
        return false;
    }
    /* What a bare "id" inside belongs to: this container's key unless that is generic. */
    const char *child_ctx = ctx;
    size_t child_ctx_len = ctx_len;
    char noun[RP_CORRELATE_MAX_KEY + 1];
    if (open == '{' && key && rp__correlate_word_noun(key, key_len, noun, sizeof(noun)) > 0) {
        child_ctx = key;
        child_ctx_len = key_len;
    }
    w->i++;
    w->i = rp__jscan_ws(w->s, w->n, w->i);
    if (w->i < w->n && w->s[w->i] == close) {
        w->i++;
        return true;
    }
    size_t save = w->path_len;
    for (size_t idx = 0;; idx++) {
        bool ok;
        if (open == '{') {
            char kbuf[RP_CORRELATE_MAX_KEY + 1];
            size_t klen = 0;
            bool fits = false;
            w->i = rp__jscan_ws(w->s, w->n, w->i);
            if (w->i >= w->n || w->s[w->i] != '"' ||
                !rp__jscan_string(w->s, w->n, &w->i, kbuf, sizeof(kbuf), &klen, &fits)) {
                return false;
            }
            w->i = rp__jscan_ws(w->s, w->n, w->i);
            if (w->i >= w->n || w->s[w->i] != ':') {
                return false;
            }
            w->i++;
            bool here = report && fits && path_add_key(w, kbuf, klen);
            ok = walk_value(w, depth + 1, fits ? kbuf : NULL, fits ? klen : 0, false, child_ctx,
                            child_ctx_len, here);
        } else {
            bool here = report && path_add_index(w, idx);
            ok = walk_value(w, depth + 1, key, key_len, true, ctx, ctx_len, here);
        }
        w->path_len = save;
        w->path[save] = '\0';
        if (!ok) {
            return false;
        }
        w->i = rp__jscan_ws(w->s, w->n, w->i);
        if (w->i >= w->n) {
            return false;
        }
        if (w->s[w->i] == ',') {
            w->i++;
            continue;
        }
        if (w->s[w->i] == close) {
            w->i++;
            return true;
        }
        return false;
    }
}

static bool walk_value(struct walk *w, size_t depth, const char *key, size_t key_len, bool in_array,
                       const char *ctx, size_t ctx_len, bool report)
{
    if (!report) {
        return rp__jscan_value(w->s, w->n, &w->i, depth);
    }
    w->i = rp__jscan_ws(w->s, w->n, w->i);
    if (w->i >= w->n) {
        return false;
    }
    char c = w->s[w->i];
    if (c == '{' || c == '[') {
        return walk_container(w, depth, key, key_len, ctx, ctx_len, report);
    }
    struct rp__json_leaf leaf = {
        .path = w->path,
        .path_len = w->path_len,
        .key = key,
        .key_len = key_len,
        .in_array = in_array,
        .ctx = ctx,
        .ctx_len = ctx_len,
        .start = w->i,
    };
    bool fits = false;
    size_t len = 0;
    if (c == '"') {
        if (!rp__jscan_string(w->s, w->n, &w->i, w->val, sizeof(w->val), &len, &fits)) {
            return false;
        }
        leaf.type = RP__JSON_STRING;
    } else if (c == '-' || is_digit(c)) {
        if (!rp__jscan_number(w->s, w->n, &w->i)) {
            return false;
        }
        leaf.type = RP__JSON_NUMBER;
        fits = canon_number(w->s + leaf.start, w->i - leaf.start, w->val, sizeof(w->val), &len);
    } else if (rp__jscan_literal(w->s, w->n, &w->i, &leaf.type)) {
        len = w->i - leaf.start;
        memcpy(w->val, w->s + leaf.start, len);
        w->val[len] = '\0';
        fits = true;
    } else {
        return false;
    }
    leaf.end = w->i;
    leaf.value = fits ? w->val : NULL;
    leaf.value_len = fits ? len : 0;
    if (!w->fn(w->ud, &leaf)) {
        w->stop = true;
        return false;
    }
    return true;
}

bool rp__correlate_json_walk(const char *text, size_t n, rp__json_leaf_fn fn, void *ud)
{
    /* On the stack (some 5 KB): learning walks every response body, and a block this size from
     * malloc cost more than a small body's walk. */
    struct walk walk;
    struct walk *w = &walk;
    w->s = text;
    w->n = n;
    w->i = 0;
    w->fn = fn;
    w->ud = ud;
    w->stop = false;
    w->path[0] = '$';
    w->path[1] = '\0';
    w->path_len = 1;
    bool ok = walk_value(w, 0, NULL, 0, false, NULL, 0, true);
    if (ok) {
        w->i = rp__jscan_ws(text, n, w->i);
        ok = w->i == n;
    }
    return ok || w->stop;
}

/* ----- finding ------------------------------------------------------------------------------ */

bool rp__correlate_json_find(const char *text, size_t n, const char *path,
                             enum rp__json_type *out_type, size_t *out_start, size_t *out_end)
{
    if (!path || path[0] != '$') {
        return false;
    }
    size_t plen = strlen(path);
    size_t p = 1;
    size_t i = 0;
    for (size_t depth = 0;; depth++) {
        i = rp__jscan_ws(text, n, i);
        if (i >= n || depth > RP_MAX_JSON_DEPTH) {
            return false;
        }
        if (p == plen) {
            size_t start = i;
            enum rp__json_type type;
            char c = text[i];
            if (c == '{') {
                type = RP__JSON_OBJECT;
            } else if (c == '[') {
                type = RP__JSON_ARRAY;
            } else if (c == '"') {
                type = RP__JSON_STRING;
            } else if (c == '-' || is_digit(c)) {
                type = RP__JSON_NUMBER;
            } else {
                size_t j = i;
                if (!rp__jscan_literal(text, n, &j, &type)) {
                    return false;
                }
            }
            if (!rp__jscan_value(text, n, &i, depth)) {
                return false;
            }
            *out_type = type;
            *out_start = start;
            *out_end = i;
            return true;
        }
        if (path[p] == '.' || (path[p] == '[' && p + 1 < plen && path[p + 1] == '"')) {
            char want[RP_CORRELATE_MAX_KEY + 1];
            size_t want_len = 0;
            if (path[p] == '.') {
                size_t e = p + 1;
                while (e < plen && path[e] != '.' && path[e] != '[') {
                    e++;
                }
                want_len = e - p - 1;
                if (want_len >= sizeof(want)) {
                    return false;
                }
                memcpy(want, path + p + 1, want_len);
                want[want_len] = '\0';
                p = e;
            } else {
                size_t q = p + 1;
                bool fits = false;
                if (!rp__jscan_string(path, plen, &q, want, sizeof(want), &want_len, &fits) ||
                    !fits || q >= plen || path[q] != ']') {
                    return false;
                }
                p = q + 1;
            }
            if (text[i] != '{') {
                return false;
            }
            i++;
            for (;;) {
                char kbuf[RP_CORRELATE_MAX_KEY + 1];
                size_t klen = 0;
                bool fits = false;
                i = rp__jscan_ws(text, n, i);
                if (i >= n || text[i] != '"' ||
                    !rp__jscan_string(text, n, &i, kbuf, sizeof(kbuf), &klen, &fits)) {
                    return false;
                }
                i = rp__jscan_ws(text, n, i);
                if (i >= n || text[i] != ':') {
                    return false;
                }
                i++;
                if (fits && klen == want_len && memcmp(kbuf, want, klen) == 0) {
                    break;
                }
                if (!rp__jscan_next_member(text, n, &i, depth + 1)) {
                    return false;
                }
            }
        } else if (path[p] == '[') {
            size_t want = 0;
            size_t q = p + 1;
            if (q >= plen || !is_digit(path[q])) {
                return false;
            }
            while (q < plen && is_digit(path[q])) {
                if (want > (SIZE_MAX - 9) / 10) {
                    return false;
                }
                want = want * 10 + (size_t)(path[q] - '0');
                q++;
            }
            if (q >= plen || path[q] != ']') {
                return false;
            }
            p = q + 1;
            if (text[i] != '[') {
                return false;
            }
            i++;
            for (size_t k = 0; k < want; k++) {
                if (!rp__jscan_next_member(text, n, &i, depth + 1)) {
                    return false;
                }
            }
            i = rp__jscan_ws(text, n, i);
            if (i < n && text[i] == ']') {
                return false;
            }
        } else {
            return false;
        }
    }
}

bool rp__correlate_json_scalar(const char *text, size_t start, size_t end, enum rp__json_type type,
                               char *out, size_t outsz, size_t *out_len)
{
    if (type == RP__JSON_STRING) {
        size_t i = start;
        bool fits = false;
        size_t len = 0;
        if (!rp__jscan_string(text, end, &i, out, outsz, &len, &fits) || !fits) {
            return false;
        }
        *out_len = len;
        return true;
    }
    if (type == RP__JSON_NUMBER) {
        return canon_number(text + start, end - start, out, outsz, out_len);
    }
    return false;
}

bool rp__correlate_json_path_valid(const char *path)
{
    if (!path || path[0] != '$' || strlen(path) >= RP_CORRELATE_MAX_PATH) {
        return false;
    }
    const char *p = path + 1;
    while (*p) {
        if (*p == '.') {
            const char *start = ++p;
            while (*p && *p != '.' && *p != '[') {
                unsigned char c = (unsigned char)*p;
                if (c == ']' || c == '"' || c == '\\' || c < 0x20) {
                    return false;
                }
                p++;
            }
            if (p == start || (size_t)(p - start) > RP_CORRELATE_MAX_KEY) {
                return false;
            }
        } else if (*p == '[') {
            p++;
            if (!is_digit(*p) || (p[0] == '0' && is_digit(p[1]))) {
                return false;
            }
            size_t digits = 0;
            while (is_digit(*p)) {
                p++;
                digits++;
            }
            if (*p != ']' || digits > 9) {
                return false;
            }
            p++;
        } else {
            return false;
        }
    }
    return true;
}

bool rp__correlate_json_is_number(const char *s, size_t n)
{
    size_t i = 0;
    return rp__jscan_number(s, n, &i) && i == n;
}

rp_code rp__correlate_json_quote(const char *s, size_t n, struct rp_buf *out, struct rp_error *err)
{
    rp_code rc = rp_buf_addc(out, '"', err);
    if (!rc) {
        rc = rp__json_escape(out, s, n, err);
    }
    return rc ? rc : rp_buf_addc(out, '"', err);
}
