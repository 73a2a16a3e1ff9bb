/* SPDX-License-Identifier: MIT */
/*
 * A forgiving scanner for the HTML that carries server-given values back to the server: <meta
 * name="csrf-token" content="...">, the values a server filled into a form (hidden and text
 * inputs, checked radio buttons and checkboxes, the selected option of a <select>) and the URLs
 * of links, forms and resources (href, action, formaction, src, data-*). It is no HTML parser:
 * it finds tags in any case, with attributes in any order, quoted with ' or " or not at all,
 * skips comments, and decodes the common character references. Every loop moves forward.
 */
#include <stdlib.h>
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

/* The attributes of one tag that matter here. */
struct tag {
    char name[16]; /* lower case; "" when longer */
    struct attr a_name;
    struct attr a_content;
    struct attr a_type;
    struct attr a_value;
    bool checked;
    bool selected;
};

/* A <select> being read: its name and the value it will submit. */
struct select_state {
    bool open;
    bool done; /* a value was given to the callback */
    bool have_first;
    char name[RP_CORRELATE_MAX_KEY + 1];
    size_t name_len;
    char first[RP__CORR_VALUE_BUF];
    size_t first_len;
};

struct scan {
    const char *s;
    size_t n;
    rp__html_fn fn;
    void *ud;
    struct select_state sel;
    char nbuf[RP_CORRELATE_MAX_KEY + 1];
    char vbuf[RP__CORR_VALUE_BUF];
};

static bool give(struct scan *sc, enum rp_loc_kind kind, const char *tag, const char *attr,
                 const char *name, size_t name_len, const char *value, size_t value_len)
{
    struct rp__html_item it = {
        .kind = kind,
        .tag = tag,
        .attr = attr,
        .name = name,
        .name_len = name_len,
        .value = value,
        .value_len = value_len,
    };
    return sc->fn(sc->ud, &it);
}

/* Hands one tag's name and value to fn; false when fn asked to stop. */
static bool emit(struct scan *sc, enum rp_loc_kind kind, const struct tag *t,
                 const struct attr *value)
{
    size_t nlen = 0;
    size_t vlen = 0;
    if (!t->a_name.has || !value->has ||
        !decode(sc->s + t->a_name.off, t->a_name.len, sc->nbuf, sizeof(sc->nbuf), &nlen) ||
        !decode(sc->s + value->off, value->len, sc->vbuf, sizeof(sc->vbuf), &vlen)) {
        return true;
    }
    return give(sc, kind, t->name, "", sc->nbuf, nlen, sc->vbuf, vlen);
}

/* True for an attribute that holds a URL: href, action, formaction, src, and data-* whose value
 * starts like one. */
static bool url_attr(const char *s, const char *a, size_t alen, const struct attr *v)
{
    if (rp_strieq(a, alen, "href") || rp_strieq(a, alen, "action") ||
        rp_strieq(a, alen, "formaction") || rp_strieq(a, alen, "src")) {
        return true;
    }
    if (alen > 5 && rp_strieq(a, 5, "data-") && v->len > 1) {
        const char *p = s + v->off;
        return p[0] == '/' || (v->len > 7 && (rp_strieq(p, 7, "http://") ||
                                              (v->len > 8 && rp_strieq(p, 8, "https://"))));
    }
    return false;
}

/* An attribute holding a URL: handed over at once, its name lower-cased. */
static bool emit_url(struct scan *sc, const struct tag *t, const char *a, size_t alen,
                     const struct attr *v)
{
    char aname[64];
    size_t vlen = 0;
    if (alen >= sizeof(aname) ||
        !decode(sc->s + v->off, v->len, sc->vbuf, sizeof(sc->vbuf), &vlen)) {
        return true;
    }
    for (size_t k = 0; k < alen; k++) {
        aname[k] = rp__ascii_lower(a[k]);
    }
    aname[alen] = '\0';
    return give(sc, RP_LOC_HTML_URL, t->name, aname, "", 0, sc->vbuf, vlen);
}

/* Input types whose value a browser submits as the server filled it in. */
static bool submits_value(const struct tag *t, const char *s)
{
    static const char *const types[] = {"hidden", "text",  "email", "number",         "search",
                                        "tel",    "url",   "date",  "color",          "range",
                                        "week",   "month", "time",  "datetime-local", NULL};
    if (!t->a_type.has) {
        return true;
    }
    const char *ty = s + t->a_type.off;
    size_t tl = t->a_type.len;
    if (rp_strieq(ty, tl, "radio") || rp_strieq(ty, tl, "checkbox")) {
        return t->checked;
    }
    for (size_t k = 0; types[k]; k++) {
        if (rp_strieq(ty, tl, types[k])) {
            return true;
        }
    }
    return false;
}

/* An <option>: its value attribute, else its text up to the next tag, trimmed. */
static bool option(struct scan *sc, const struct tag *t, size_t after)
{
    struct select_state *sel = &sc->sel;
    if (!sel->open || sel->done) {
        return true;
    }
    const char *s = sc->s;
    size_t off = 0;
    size_t len = 0;
    if (t->a_value.has) {
        off = t->a_value.off;
        len = t->a_value.len;
    } else {
        const char *lt = memchr(s + after, '<', sc->n - after);
        size_t e = lt ? (size_t)(lt - s) : sc->n;
        off = after;
        while (off < e && is_ws(s[off])) {
            off++;
        }
        while (e > off && is_ws(s[e - 1])) {
            e--;
        }
        len = e - off;
    }
    size_t vlen = 0;
    if (!decode(s + off, len, sc->vbuf, sizeof(sc->vbuf), &vlen)) {
        return true;
    }
    if (t->selected) {
        sel->done = true;
        return give(sc, RP_LOC_HTML_SELECT, "select", "", sel->name, sel->name_len, sc->vbuf, vlen);
    }
    if (!sel->have_first) {
        memcpy(sel->first, sc->vbuf, vlen + 1);
        sel->first_len = vlen;
        sel->have_first = true;
    }
    return true;
}

/* The end of a <select> (or of the page inside one): with no option selected, a browser submits
 * the first. */
static bool select_end(struct scan *sc)
{
    struct select_state *sel = &sc->sel;
    bool go = true;
    if (sel->open && !sel->done && sel->have_first) {
        go = give(sc, RP_LOC_HTML_SELECT, "select", "", sel->name, sel->name_len, sel->first,
                  sel->first_len);
    }
    sel->open = false;
    return go;
}

/* The tag whose name ends at s[i]; its attributes up to '>', moving *pi past it. False when the
 * page ends inside the tag or the callback asked to stop (*stop). */
static bool read_tag(struct scan *sc, size_t *pi, struct tag *t, bool *stop)
{
    const char *s = sc->s;
    size_t n = sc->n;
    size_t i = *pi;
    while (i < n) {
        while (i < n && (is_ws(s[i]) || s[i] == '/')) {
            i++;
        }
        if (i >= n) {
            break;
        }
        if (s[i] == '>') {
            *pi = i + 1;
            return true;
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
        bool has_eq = false;
        size_t j = i;
        while (j < n && is_ws(s[j])) {
            j++;
        }
        if (j < n && s[j] == '=') {
            has_eq = true;
            j++;
            while (j < n && is_ws(s[j])) {
                j++;
            }
            if (j < n && (s[j] == '"' || s[j] == '\'')) {
                const char *q = memchr(s + j + 1, s[j], n - j - 1);
                if (!q) {
                    return false;
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
        const char *a = s + an;
        struct attr *slot = NULL;
        if (rp_strieq(a, alen, "name")) {
            slot = &t->a_name;
        } else if (rp_strieq(a, alen, "content")) {
            slot = &t->a_content;
        } else if (rp_strieq(a, alen, "type")) {
            slot = &t->a_type;
        } else if (rp_strieq(a, alen, "value")) {
            slot = &t->a_value;
        } else if (rp_strieq(a, alen, "checked")) {
            t->checked = true;
        } else if (rp_strieq(a, alen, "selected")) {
            t->selected = true;
        } else if (has_eq && t->name[0] && url_attr(s, a, alen, &v) &&
                   !emit_url(sc, t, a, alen, &v)) {
            *stop = true;
            return false;
        }
        /* As in browsers, the first of duplicate attributes counts. */
        if (slot && !slot->has) {
            *slot = v;
        }
    }
    return false;
}

/* Where the raw text of element name (script or style) that starts at s[i] ends: at its end
 * tag, or n. */
static size_t raw_text_end(const char *s, size_t n, size_t i, const char *name)
{
    size_t m = strlen(name);
    while (i < n) {
        const char *lt = memchr(s + i, '<', n - i);
        if (!lt) {
            return n;
        }
        i = (size_t)(lt - s) + 1;
        if (n - i > m && s[i] == '/' && rp_strieq(s + i + 1, m, name)) {
            return i - 1;
        }
    }
    return n;
}

void rp__correlate_html_scan(const char *s, size_t n, rp__html_fn fn, void *ud)
{
    struct scan *sc = rp_xcalloc(1, sizeof(*sc));
    sc->s = s;
    sc->n = n;
    sc->fn = fn;
    sc->ud = ud;
    size_t i = 0;
    while (i < n) {
        const char *lt = memchr(s + i, '<', n - i);
        if (!lt) {
            break;
        }
        i = (size_t)(lt - s) + 1;
        if (n - i >= 3 && memcmp(s + i, "!--", 3) == 0) {
            size_t e = i + 3;
            while (e + 3 <= n && memcmp(s + e, "-->", 3) != 0) {
                e++;
            }
            if (e + 3 > n) {
                break;
            }
            i = e + 3;
            continue;
        }
        bool closing = i < n && s[i] == '/';
        if (closing) {
            i++;
        }
        size_t t0 = i;
        while (i < n && (is_alpha(s[i]) || (i > t0 && s[i] >= '0' && s[i] <= '9'))) {
            i++;
        }
        if (i == t0 || (i < n && !is_ws(s[i]) && s[i] != '/' && s[i] != '>')) {
            continue;
        }
        if (closing) {
            if (rp_strieq(s + t0, i - t0, "select") && !select_end(sc)) {
                goto out;
            }
            continue;
        }
        struct tag t;
        memset(&t, 0, sizeof(t));
        if (i - t0 < sizeof(t.name)) {
            for (size_t k = t0; k < i; k++) {
                t.name[k - t0] = rp__ascii_lower(s[k]);
            }
            t.name[i - t0] = '\0';
        }
        bool stop = false;
        if (!read_tag(sc, &i, &t, &stop)) {
            if (stop) {
                goto out;
            }
            break;
        }
        if (strcmp(t.name, "script") == 0 || strcmp(t.name, "style") == 0) {
            /* Their text is no markup: "i<n" in a script must not open a tag whose stray
             * quote would swallow the rest of the page. */
            i = raw_text_end(s, n, i, t.name);
            continue;
        }
        bool go = true;
        if (strcmp(t.name, "meta") == 0) {
            go = emit(sc, RP_LOC_HTML_META, &t, &t.a_content);
        } else if (strcmp(t.name, "input") == 0 && submits_value(&t, s)) {
            go = emit(sc, RP_LOC_HTML_INPUT, &t, &t.a_value);
        } else if (strcmp(t.name, "select") == 0) {
            go = select_end(sc);
            size_t nl = 0;
            sc->sel.done = false;
            sc->sel.have_first = false;
            sc->sel.open = t.a_name.has && decode(s + t.a_name.off, t.a_name.len, sc->sel.name,
                                                  sizeof(sc->sel.name), &nl);
            sc->sel.name_len = nl;
        } else if (strcmp(t.name, "option") == 0) {
            go = option(sc, &t, i);
        }
        if (!go) {
            goto out;
        }
    }
    (void)select_end(sc);
out:
    free(sc);
}
