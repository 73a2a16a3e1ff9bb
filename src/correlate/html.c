/* SPDX-License-Identifier: MIT */
/*
 * A forgiving scanner for the two HTML tags that carry server-given tokens into forms and
 * scripts: <meta name="csrf-token" content="..."> and <input type="hidden" name value>. It is
 * no HTML parser: it finds those tags in any case, with attributes in any order, quoted with
 * ' or " or not at all, skips comments, and decodes the common character references.
 */
#include <string.h>

#include "../text_int.h"
#include "internal.h"

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Appends the UTF-8 of cp to out; false when it does not fit. */
static bool put_cp(char *out, size_t outsz, size_t *o, unsigned long cp)
{
    char u[4];
    size_t m;
    /* NUL is no character a page can mean; the encoder replaces surrogates and the rest. */
    m = rp__utf8_encode(cp == 0 ? 0xFFFD : cp, u);
    if (*o + m >= outsz) {
        return false;
    }
    memcpy(out + *o, u, m);
    *o += m;
    return true;
}

/* The code point of the character reference in n bytes at e (between '&' and ';'), or 0. */
static unsigned long entity(const char *e, size_t n)
{
    static const struct {
        const char *name;
        unsigned long cp;
    } named[] = {{"amp", '&'},  {"lt", '<'},    {"gt", '>'},
                 {"quot", '"'}, {"apos", '\''}, {"nbsp", 0xA0}};
    for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
        if (n == strlen(named[k].name) && memcmp(e, named[k].name, n) == 0) {
            return named[k].cp;
        }
    }
    if (n < 2 || e[0] != '#') {
        return 0;
    }
    bool hex = e[1] == 'x' || e[1] == 'X';
    size_t i = hex ? 2 : 1;
    if (i >= n) {
        return 0;
    }
    unsigned long cp = 0;
    for (; i < n; i++) {
        char c = e[i];
        unsigned d;
        if (c >= '0' && c <= '9') {
            d = (unsigned)(c - '0');
        } else if (hex && c >= 'a' && c <= 'f') {
            d = (unsigned)(c - 'a' + 10);
        } else if (hex && c >= 'A' && c <= 'F') {
            d = (unsigned)(c - 'A' + 10);
        } else {
            return 0;
        }
        cp = cp * (hex ? 16 : 10) + d;
        if (cp > 0x10FFFF) {
            return 0xFFFD;
        }
    }
    return cp ? cp : 0xFFFD;
}

/* Decodes the character references of an attribute value into out (NUL-terminated). False
 * when the result does not fit or holds a NUL. */
static bool decode(const char *s, size_t n, char *out, size_t outsz, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '&') {
            size_t semi = i + 1;
            while (semi < n && semi - i <= 10 && s[semi] != ';') {
                semi++;
            }
            unsigned long cp = semi < n && s[semi] == ';' ? entity(s + i + 1, semi - i - 1) : 0;
            if (cp) {
                if (!put_cp(out, outsz, &o, cp)) {
                    return false;
                }
                i = semi;
                continue;
            }
        }
        if (s[i] == '\0' || o + 1 >= outsz) {
            return false;
        }
        out[o++] = s[i];
    }
    if (outsz == 0) {
        return false;
    }
    out[o] = '\0';
    *out_len = o;
    return true;
}

struct attr {
    size_t off;
    size_t len;
    bool has;
};

/* Hands one tag's name and value to fn; false when fn asked to stop. */
static bool emit(const char *s, enum rp_loc_kind kind, const struct attr *name,
                 const struct attr *value, rp__html_fn fn, void *ud)
{
    char nbuf[RP_CORRELATE_MAX_KEY + 1];
    char vbuf[RP__CORR_VALUE_BUF];
    size_t nlen = 0;
    size_t vlen = 0;
    if (!name->has || !value->has || !decode(s + name->off, name->len, nbuf, sizeof(nbuf), &nlen) ||
        !decode(s + value->off, value->len, vbuf, sizeof(vbuf), &vlen)) {
        return true;
    }
    return fn(ud, kind, nbuf, nlen, vbuf, vlen);
}

void rp__correlate_html_scan(const char *s, size_t n, rp__html_fn fn, void *ud)
{
    size_t i = 0;
    while (i < n) {
        const char *lt = memchr(s + i, '<', n - i);
        if (!lt) {
            return;
        }
        i = (size_t)(lt - s) + 1;
        if (n - i >= 3 && memcmp(s + i, "!--", 3) == 0) {
            size_t e = i + 3;
            while (e + 3 <= n && memcmp(s + e, "-->", 3) != 0) {
                e++;
            }
            if (e + 3 > n) {
                return;
            }
            i = e + 3;
            continue;
        }
        size_t t = i;
        while (i < n && is_alpha(s[i])) {
            i++;
        }
        bool meta = rp_strieq(s + t, i - t, "meta");
        bool input = rp_strieq(s + t, i - t, "input");
        if ((!meta && !input) || (i < n && !is_ws(s[i]) && s[i] != '/' && s[i] != '>')) {
            continue;
        }
        struct attr a_name = {0, 0, false};
        struct attr a_content = {0, 0, false};
        struct attr a_type = {0, 0, false};
        struct attr a_value = {0, 0, false};
        bool closed = false;
        while (i < n) {
            while (i < n && (is_ws(s[i]) || s[i] == '/')) {
                i++;
            }
            if (i >= n) {
                break;
            }
            if (s[i] == '>') {
                i++;
                closed = true;
                break;
            }
            size_t an = i;
            while (i < n && !is_ws(s[i]) && s[i] != '>' && s[i] != '=' && s[i] != '/') {
                i++;
            }
            size_t alen = i - an;
            if (alen == 0) {
                i++; /* a stray '=' */
                continue;
            }
            struct attr v = {i, 0, true};
            size_t j = i;
            while (j < n && is_ws(s[j])) {
                j++;
            }
            if (j < n && s[j] == '=') {
                j++;
                while (j < n && is_ws(s[j])) {
                    j++;
                }
                if (j < n && (s[j] == '"' || s[j] == '\'')) {
                    const char *q = memchr(s + j + 1, s[j], n - j - 1);
                    if (!q) {
                        return;
                    }
                    v.off = j + 1;
                    v.len = (size_t)(q - s) - v.off;
                    i = (size_t)(q - s) + 1;
                } else {
                    v.off = j;
                    while (j < n && !is_ws(s[j]) && s[j] != '>') {
                        j++;
                    }
                    v.len = j - v.off;
                    i = j;
                }
            }
            struct attr *slot = NULL;
            if (rp_strieq(s + an, alen, "name")) {
                slot = &a_name;
            } else if (rp_strieq(s + an, alen, "content")) {
                slot = &a_content;
            } else if (rp_strieq(s + an, alen, "type")) {
                slot = &a_type;
            } else if (rp_strieq(s + an, alen, "value")) {
                slot = &a_value;
            }
            /* As in browsers, the first of duplicate attributes counts. */
            if (slot && !slot->has) {
                *slot = v;
            }
        }
        if (!closed) {
            return;
        }
        if (meta && !emit(s, RP_LOC_HTML_META, &a_name, &a_content, fn, ud)) {
            return;
        }
        if (input && a_type.has && rp_strieq(s + a_type.off, a_type.len, "hidden") &&
            !emit(s, RP_LOC_HTML_INPUT, &a_name, &a_value, fn, ud)) {
            return;
        }
    }
}
