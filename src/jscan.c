/* SPDX-License-Identifier: MIT */
/*
 * The JSON scanner the library shares where it reads JSON text in place (see jscan_int.h):
 * string literals and their escapes, numbers, literals, skipping a value, and escaping text
 * for a JSON string.
 */
#include <reprise/limits.h>

#include "jscan_int.h"

bool rp__jscan_unescape(const char *p, size_t n, char *out, size_t *out_len)
{
    const char *end = p + n;
    size_t o = 0;
    while (p < end) {
        /* Byte by byte: between escapes in a JSON body the runs are a few bytes long. */
        if (*p != '\\') {
            out[o++] = *p++;
            continue;
        }
        uint32_t cp;
        size_t used = rp__jscan_escape(p, (size_t)(end - p), &cp);
        if (used == 0 || cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else {
            o += rp__utf8_encode(cp, out + o);
        }
        p += used;
    }
    out[o] = '\0';
    *out_len = o;
    return true;
}

/* Decoded string output: bytes go to out while they fit; fits turns false when they do not or
 * when a NUL is decoded. */
struct sink {
    char *out;
    size_t outsz;
    size_t len;
    bool fits;
};

static void put(struct sink *k, const char *p, size_t m)
{
    if (!k->out) {
        return;
    }
    if (!k->fits || k->len + m >= k->outsz) {
        k->fits = false;
        return;
    }
    memcpy(k->out + k->len, p, m);
    k->len += m;
}

bool rp__jscan_string(const char *s, size_t n, size_t *pi, char *out, size_t outsz, size_t *out_len,
                      bool *fits)
{
    struct sink k = {out, outsz, 0, out != NULL && outsz > 0};
    size_t i = *pi + 1;
    for (;;) {
        const char *run = rp__jscan_plain_run(s + i, s + n);
        put(&k, s + i, (size_t)(run - (s + i)));
        i = (size_t)(run - s);
        if (i >= n || (unsigned char)s[i] < 0x20) {
            return false;
        }
        if (s[i] == '"') {
            i++;
            break;
        }
        uint32_t cp;
        size_t used = rp__jscan_escape(s + i, n - i, &cp);
        if (used == 0) {
            return false;
        }
        i += used;
        if (cp == 0) {
            k.fits = false;
            continue;
        }
        char u[4];
        put(&k, u, rp__utf8_encode(cp, u)); /* a lone surrogate becomes U+FFFD */
    }
    if (out && outsz > 0) {
        out[k.fits ? k.len : 0] = '\0';
    }
    if (out_len) {
        *out_len = k.fits ? k.len : 0;
    }
    if (fits) {
        *fits = k.fits;
    }
    *pi = i;
    return true;
}

size_t rp__jscan_string_end(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] != '"') {
        i += s[i] == '\\' ? 2 : 1;
    }
    return i < n ? i : n;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Moves *pi past a run of digits; false when there is none. */
static bool digit_run(const char *s, size_t n, size_t *pi)
{
    size_t i = *pi;
    while (i < n && is_digit(s[i])) {
        i++;
    }
    if (i == *pi) {
        return false;
    }
    *pi = i;
    return true;
}

bool rp__jscan_number(const char *s, size_t n, size_t *pi)
{
    size_t i = *pi;
    if (i < n && s[i] == '-') {
        i++;
    }
    if (i < n && s[i] == '0') {
        i++;
    } else if (!digit_run(s, n, &i)) {
        return false;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (!digit_run(s, n, &i)) {
            return false;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        if (!digit_run(s, n, &i)) {
            return false;
        }
    }
    *pi = i;
    return true;
}

bool rp__jscan_literal(const char *s, size_t n, size_t *pi, enum rp__json_type *out_type)
{
    static const struct {
        const char *text;
        size_t len;
        enum rp__json_type type;
    } lits[] = {
        {"true", 4, RP__JSON_TRUE}, {"false", 5, RP__JSON_FALSE}, {"null", 4, RP__JSON_NULL}};
    for (size_t k = 0; k < sizeof(lits) / sizeof(lits[0]); k++) {
        if (*pi <= n && n - *pi >= lits[k].len && memcmp(s + *pi, lits[k].text, lits[k].len) == 0) {
            *pi += lits[k].len;
            *out_type = lits[k].type;
            return true;
        }
    }
    return false;
}

bool rp__jscan_value(const char *s, size_t n, size_t *pi, size_t depth)
{
    *pi = rp__jscan_ws(s, n, *pi);
    if (*pi >= n) {
        return false;
    }
    char c = s[*pi];
    if (c == '"') {
        return rp__jscan_string(s, n, pi, NULL, 0, NULL, NULL);
    }
    if (c == '-' || is_digit(c)) {
        return rp__jscan_number(s, n, pi);
    }
    if (c != '{' && c != '[') {
        enum rp__json_type t;
        return rp__jscan_literal(s, n, pi, &t);
    }
    if (depth >= RP_MAX_JSON_DEPTH) {
        return false;
    }
    char close = c == '{' ? '}' : ']';
    *pi = rp__jscan_ws(s, n, *pi + 1);
    if (*pi < n && s[*pi] == close) {
        (*pi)++;
        return true;
    }
    for (;;) {
        if (c == '{') {
            *pi = rp__jscan_ws(s, n, *pi);
            if (*pi >= n || s[*pi] != '"' || !rp__jscan_string(s, n, pi, NULL, 0, NULL, NULL)) {
                return false;
            }
            *pi = rp__jscan_ws(s, n, *pi);
            if (*pi >= n || s[*pi] != ':') {
                return false;
            }
            (*pi)++;
        }
        if (!rp__jscan_value(s, n, pi, depth + 1)) {
            return false;
        }
        *pi = rp__jscan_ws(s, n, *pi);
        if (*pi >= n) {
            return false;
        }
        if (s[*pi] == ',') {
            (*pi)++;
            continue;
        }
        if (s[*pi] == close) {
            (*pi)++;
            return true;
        }
        return false;
    }
}

bool rp__jscan_next_member(const char *s, size_t n, size_t *pi, size_t depth)
{
    if (!rp__jscan_value(s, n, pi, depth)) {
        return false;
    }
    *pi = rp__jscan_ws(s, n, *pi);
    if (*pi >= n || s[*pi] != ',') {
        return false;
    }
    (*pi)++;
    return true;
}

rp_code rp__json_escape(struct rp_buf *b, const char *s, size_t n, struct rp_error *err)
{
    static const char short_esc[0x20] = {
        ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        rp_code rc = rp_buf_add(b, s + run, i - run, err);
        if (rc) {
            return rc;
        }
        char esc[6] = {'\\', (char)c, '0', '0', 0, 0};
        size_t len = 2;
        if (c < 0x20 && short_esc[c]) {
            esc[1] = short_esc[c];
        } else if (c < 0x20) {
            esc[1] = 'u';
            esc[4] = rp__hex_lower[c >> 4];
            esc[5] = rp__hex_lower[c & 15];
            len = 6;
        }
        rc = rp_buf_add(b, esc, len, err);
        if (rc) {
            return rc;
        }
        run = i + 1;
    }
    return rp_buf_add(b, s + run, n - run, err);
}
