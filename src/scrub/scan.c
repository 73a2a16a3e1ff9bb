/* SPDX-License-Identifier: MIT */
/*
 * Finding secrets in an exchange's texts (internal.h): by the name of the field that holds a
 * value (passwords, tokens, card codes, AWS secrets, random-looking credentials) and by the
 * value's look (card numbers, AWS key ids, PEM keys; JWTs for lint). Each find is an edit, a
 * span of the text with a placeholder stem, what was found and where; nothing here changes the
 * text. The JSON scan is lenient: a cut or malformed body is scanned as far as it makes sense.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../jscan_int.h"
#include "../secret_int.h"
#include "../text_int.h"
#include "../url_int.h"
#include "internal.h"

#define KEY_MAX RP__SCRUB_KEY_MAX

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Decodes the JSON key whose literal starts at p[i] (its quote) into key; 0 when it is longer
 * than KEY_MAX, holds a NUL or is not a well-formed string (a cut body). */
static size_t json_key(const char *p, size_t n, size_t i, char key[KEY_MAX + 1])
{
    size_t klen = 0;
    if (!rp__jscan_string(p, n, &i, key, KEY_MAX + 1, &klen, NULL)) {
        key[0] = '\0';
        return 0;
    }
    return klen;
}

/* One open container of the JSON scan: where its current key starts, or its element index. */
struct rp__scrub_level {
    char kind;     /* 'o' or 'a' */
    size_t key_at; /* an object's current key (its quote), SIZE_MAX before the first */
    size_t index;  /* an array's current element */
};

/* The JSON path of the value being read: "$.card.number", "$.items[2].cvv". */
static void json_path(const char *p, size_t n, const struct rp__scrub_level *st, size_t depth,
                      char *out, size_t outsz)
{
    size_t o = (size_t)snprintf(out, outsz, "$");
    for (size_t d = 0; d < depth && o < outsz; d++) {
        int k;
        if (st[d].kind == 'a') {
            k = snprintf(out + o, outsz - o, "[%zu]", st[d].index);
        } else if (st[d].key_at != SIZE_MAX) {
            char key[KEY_MAX + 1];
            size_t klen = json_key(p, n, st[d].key_at, key);
            k = snprintf(out + o, outsz - o, ".%.*s", (int)(klen < 48 ? klen : 48), key);
        } else {
            k = 0;
        }
        o += k > 0 ? (size_t)k : 0;
    }
}

/*
 * Notes that [start, start + len) holds a secret: its placeholder is prefix + the placeholder
 * form of name, what says what it is, and its place is c->where followed by sub (may be ""; NULL
 * for a JSON value, whose path is built from c's open containers).
 */
static void edit_add(struct rp__scrub_scan *c, size_t start, size_t len, const char *prefix,
                     const char *name, size_t name_len, const char *what, const char *sub)
{
    struct rp__scrub_edits *ed = c->ed;
    if (len == 0) {
        return; /* an empty value hides nothing */
    }
    if (ed->n == ed->cap) {
        ed->cap = ed->cap ? ed->cap * 2 : 8;
        ed->v = rp_xreallocarray(ed->v, ed->cap, sizeof(*ed->v));
    }
    struct rp__scrub_edit *e = &ed->v[ed->n++];
    e->start = start;
    e->len = len;
    e->what = what;
    e->literal = NULL;
    size_t plen = strlen(prefix);
    memcpy(e->name, prefix, plen);
    rp_scrub_name(name, name_len, e->name + plen, sizeof(e->name) - plen);
    if (name_len == 0 && plen > 0) {
        e->name[plen] = '\0'; /* "cookie_" for a cookie without a name, not "cookie_secret" */
    }
    snprintf(e->place, sizeof(e->place), "%s%s%s", c->where, c->where[0] && sub[0] ? " " : "", sub);
}

/*
 * A JSON number (len bytes at p + start) under a field named by name: a card number or a card
 * code as a number. In a response it becomes 0, keeping its type for the shape check (a
 * placeholder would make it a string); requests are not changed (an unquoted placeholder would
 * not be JSON), but lint reports it.
 */
static void scan_number(struct rp__scrub_scan *c, const char *p, size_t start, size_t len,
                        const char *name, size_t name_len, const char *sub)
{
    if (c->request && !c->lint) {
        return;
    }
    const char *what = NULL;
    size_t pos = 0, at = 0, n = 0;
    if (name_len > 0 && rp__secret_name_card_code(name, name_len)) {
        what = "card security code";
    } else if (rp__secret_next(p + start, len, &pos, 1u << RP__SECRET_CARD, &at, &n) ==
                   RP__SECRET_CARD &&
               at == 0 && n == len) {
        what = "card number";
    }
    if (what && !(len == 1 && p[start] == '0')) {
        edit_add(c, start, len, "", name, name_len, what, sub);
        c->ed->v[c->ed->n - 1].literal = "0";
    }
}

/* The secrets a value's look gives away, inside the len bytes at p + start. */
static void scan_look(struct rp__scrub_scan *c, const char *p, size_t start, size_t len,
                      const char *sub)
{
    unsigned mask = c->lint ? RP__SECRET_ALL : RP__SECRET_SCRUBBED;
    size_t pos = 0;
    size_t at = 0;
    size_t n = 0;
    enum rp__secret_kind k;
    while ((k = rp__secret_next(p + start, len, &pos, mask, &at, &n)) != RP__SECRET_NONE) {
        const char *stem = rp__secret_stem(k);
        edit_add(c, start + at, n, "", stem, strlen(stem), rp__secret_kind_text(k), sub);
    }
}

/*
 * One value (len bytes at p + start) of a field named by the name_len bytes at name (may be
 * none): the whole value when the name says it is secret, else what its look gives away.
 */
static void scan_value(struct rp__scrub_scan *c, const char *p, size_t start, size_t len,
                       const char *name, size_t name_len, const char *sub)
{
    const char *v = p + start;
    if (len == 0 || rp__scrub_is_placeholder(v, len)) {
        return;
    }
    const char *what = NULL;
    if (name_len > 0) {
        if (c->request && rp_scrub_field_is_secret(c->s, name, name_len)) {
            what = "secret field";
        } else if (rp__secret_name_card_code(name, name_len)) {
            what = "card security code";
        } else if (rp__secret_name_aws(name, name_len) && rp__secret_aws_secret_form(v, len)) {
            what = "AWS secret access key";
        } else if (c->request && rp__secret_name_credential(name, name_len) &&
                   rp__secret_high_entropy(v, len)) {
            what = "high-entropy credential";
        }
    }
    if (what) {
        edit_add(c, start, len, "", name, name_len, what, sub);
    } else {
        scan_look(c, p, start, len, sub);
    }
}

/*
 * Percent-decodes (and '+' as space) the len bytes at s into out (KEY_MAX + 1): a name longer
 * than that is read from its first KEY_MAX bytes. Returns the length; 0 for a name holding a
 * NUL.
 */
static size_t form_decode(const char *s, size_t len, char out[KEY_MAX + 1])
{
    size_t o = 0;
    if (!rp__pct_decode(s, len, true, out, KEY_MAX + 1, &o) &&
        !rp__pct_decode(s, len < KEY_MAX ? len : KEY_MAX, true, out, KEY_MAX + 1, &o)) {
        out[0] = '\0';
        o = 0;
    }
    return o;
}

/* The place of a named field: "field NAME" ("param NAME" in a query), the name cut to fit. */
static void field_place(const char *word, const char *name, size_t len, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s %.*s", word, (int)(len < 64 ? len : 64), name);
}

/* name=value pairs joined by '&' (a form body, a query) at p + base. */
static void scan_form(struct rp__scrub_scan *c, const char *p, size_t n, size_t base,
                      const char *word)
{
    size_t pos = 0;
    struct rp__pair pr;
    const char *q = p + base;
    while (rp__url_next_param(q, n, &pos, &pr)) {
        if (pr.value_off == pr.name_off + pr.name_len) {
            continue; /* no '=' */
        }
        char key[KEY_MAX + 1];
        size_t klen = form_decode(q + pr.name_off, pr.name_len, key);
        char sub[96];
        field_place(word, key, klen, sub, sizeof(sub));
        scan_value(c, p, base + pr.value_off, pr.value_len, key, klen, sub);
    }
}

void rp__scrub_scan_query(struct rp__scrub_scan *c, const char *url, size_t n)
{
    struct rp__url u;
    rp__url_split(url, n, &u);
    if (u.has_query) {
        scan_form(c, url, u.query_len, u.query_off, "param");
    }
}

/*
 * A lenient scan of JSON text: tracks objects and arrays, and looks at the string values at
 * any depth (by their key's name and their look). It never fails: malformed or truncated JSON
 * is scanned as far as it makes sense, so a cut body still has its earlier secrets found.
 */
static void scan_json(struct rp__scrub_scan *c, const char *p, size_t n)
{
    c->json = p;
    c->json_len = n;
    enum { WANT_VALUE, WANT_KEY, WANT_COLON, AFTER } state = WANT_VALUE;
    struct rp__scrub_level *st = NULL; /* one per open container; depth is bounded by n */
    size_t depth = 0;
    size_t cap = 0;
    bool have_key = false;
    char key[KEY_MAX + 1];
    size_t klen = 0;
    size_t i = 0;
    while (i < n) {
        char ch = p[i];
        if (is_ws(ch)) {
            i++;
            continue;
        }
        if (ch == '{' || ch == '[') {
            if (depth == cap) {
                cap = cap ? cap * 2 : 32;
                st = rp_xreallocarray(st, cap, sizeof(*st));
            }
            st[depth++] =
                (struct rp__scrub_level){.kind = ch == '{' ? 'o' : 'a', .key_at = SIZE_MAX};
            state = ch == '{' ? WANT_KEY : WANT_VALUE;
            have_key = false;
            i++;
        } else if (ch == '}' || ch == ']') {
            if (depth > 0) {
                depth--;
            }
            state = AFTER;
            have_key = false;
            i++;
        } else if (ch == ',') {
            bool obj = depth > 0 && st[depth - 1].kind == 'o';
            if (depth > 0 && !obj) {
                st[depth - 1].index++;
            }
            state = obj ? WANT_KEY : WANT_VALUE;
            have_key = false;
            i++;
        } else if (ch == ':') {
            state = WANT_VALUE;
            i++;
        } else if (ch == '"') {
            size_t start = i + 1;
            size_t end = rp__jscan_string_end(p, n, start);
            if (state == WANT_KEY) {
                klen = json_key(p, n, i, key);
                have_key = true;
                if (depth > 0) {
                    st[depth - 1].key_at = i;
                }
                state = WANT_COLON;
            } else {
                if (state == WANT_VALUE && end < n) {
                    char path[RP__SCRUB_PLACE_MAX];
                    json_path(p, n, st, depth, path, sizeof(path));
                    scan_value(c, p, start, end - start, have_key ? key : "", have_key ? klen : 0,
                               path);
                }
                have_key = false;
                state = AFTER;
            }
            i = end < n ? end + 1 : n;
        } else {
            /* A number, true, false, null, or garbage: up to the next structural byte. */
            size_t start = i;
            while (i < n && !is_ws(p[i]) && p[i] != ',' && p[i] != ']' && p[i] != '}' &&
                   p[i] != ':') {
                i++;
            }
            if (state == WANT_VALUE && (ch == '-' || (ch >= '0' && ch <= '9'))) {
                char path[RP__SCRUB_PLACE_MAX];
                json_path(p, n, st, depth, path, sizeof(path));
                scan_number(c, p, start, i - start, have_key ? key : "", have_key ? klen : 0, path);
            }
            have_key = false;
            state = AFTER;
        }
    }
    free(st);
    c->levels = NULL;
    c->depth = 0;
}

/* Finds the n2 bytes of needle in the n bytes at hay from offset from; returns index or n. */
static size_t find(const char *hay, size_t n, size_t from, const char *needle, size_t n2)
{
    if (n2 == 0 || n < n2) {
        return n;
    }
    for (size_t i = from; i + n2 <= n; i++) {
        if (hay[i] == needle[0] && memcmp(hay + i, needle, n2) == 0) {
            return i;
        }
    }
    return n;
}

/* Finds the value of parameter param (with its '=') in a header value; quotes removed. */
static bool header_param(const char *v, size_t n, const char *param, const char **out,
                         size_t *out_len)
{
    size_t plen = strlen(param);
    for (size_t i = 0; i + plen <= n; i++) {
        bool at_start = i == 0 || v[i - 1] == ';' || v[i - 1] == ' ' || v[i - 1] == '\t';
        if (!at_start || !rp_strieq(v + i, plen, param)) {
            continue;
        }
        size_t j = i + plen;
        size_t end;
        if (j < n && v[j] == '"') {
            j++;
            end = j;
            while (end < n && v[end] != '"') {
                end++;
            }
        } else {
            end = j;
            while (end < n && v[end] != ';' && !is_ws(v[end])) {
                end++;
            }
        }
        *out = v + j;
        *out_len = end - j;
        return true;
    }
    return false;
}

/* The longest multipart boundary RFC 2046 allows. */
#define BOUNDARY_MAX 70u

/* multipart/form-data: the contents of parts named as secret fields (files are left alone). */
static void scan_multipart(struct rp__scrub_scan *c, const struct rp_header *ct, const char *p,
                           size_t n)
{
    const char *bnd;
    size_t blen;
    if (!header_param(ct->value, ct->value_len, "boundary=", &bnd, &blen) || blen == 0 ||
        blen > BOUNDARY_MAX) {
        return;
    }
    /* delim is CRLF "--" boundary; a part ends at it, and the first may open the body. */
    char delim[BOUNDARY_MAX + 4] = "\r\n--";
    memcpy(delim + 4, bnd, blen);
    size_t dlen = blen + 4;
    size_t at = find(p, n, 0, delim, dlen);
    if (n >= dlen - 2 && memcmp(p, delim + 2, dlen - 2) == 0) {
        at = 0;
    } else if (at < n) {
        at += 2;
    }
    while (at < n) {
        size_t line = at + dlen - 2; /* just past "--boundary" */
        if (n - line >= 2 && p[line] == '-' && p[line + 1] == '-') {
            break; /* the closing delimiter */
        }
        size_t hs = find(p, n, line, "\r\n", 2);
        if (hs >= n) {
            break;
        }
        hs += 2;
        size_t he; /* where the part's header lines end */
        size_t cs; /* where its content starts */
        if (n - hs >= 2 && p[hs] == '\r' && p[hs + 1] == '\n') {
            he = hs;
            cs = hs + 2;
        } else {
            he = find(p, n, hs, "\r\n\r\n", 4);
            if (he >= n) {
                break;
            }
            cs = he + 4;
        }
        size_t next = find(p, n, cs, delim, dlen);
        /* Content-Disposition names the part; a filename makes it a file, never a secret. */
        const char *name = NULL;
        size_t name_len = 0;
        bool file = false;
        const char *cd = "content-disposition:";
        size_t cdl = strlen(cd);
        for (size_t h = hs; h < he;) {
            size_t eol = find(p, he, h, "\r\n", 2);
            const char *fname;
            size_t fname_len;
            if (eol - h > cdl && rp_strieq(p + h, cdl, cd)) {
                if (header_param(p + h + cdl, eol - h - cdl, "filename=", &fname, &fname_len)) {
                    file = true;
                } else {
                    header_param(p + h + cdl, eol - h - cdl, "name=", &name, &name_len);
                }
            }
            h = eol + 2;
        }
        if (name && !file && next < n) {
            char sub[96];
            field_place("part", name, name_len, sub, sizeof(sub));
            scan_value(c, p, cs, next - cs, name, name_len, sub);
        }
        at = next < n ? next + 2 : n;
    }
}

void rp__scrub_scan_body(struct rp__scrub_scan *c, const struct rp_header *ct, const char *mt,
                         const char *p, size_t n)
{
    if (mt[0] && rp_media_is_json(mt)) {
        scan_json(c, p, n);
    } else if (strcmp(mt, "application/x-www-form-urlencoded") == 0) {
        scan_form(c, p, n, 0, "field");
    } else if (ct && strcmp(mt, "multipart/form-data") == 0) {
        scan_multipart(c, ct, p, n);
    } else if (rp__utf8_text((const unsigned char *)p, n)) {
        scan_look(c, p, 0, n, ""); /* any other text: by look alone */
    }
}

/* ----- headers ---------------------------------------------------------------------------- */

/*
 * Cookie pairs in v: every pair's value (all of Cookie's, only the first of Set-Cookie's)
 * becomes {{secret:cookie_NAME}}.
 */
static void scan_cookies(struct rp__scrub_scan *c, const char *v, size_t n, bool first_only)
{
    size_t pos = 0;
    struct rp__pair pr;
    while (rp__cookie_next(v, n, &pos, &pr)) {
        if (pr.value_off > pr.name_off + pr.name_len &&
            !rp__scrub_is_placeholder(v + pr.value_off, pr.value_len)) { /* there is an '=' */
            char sub[96];
            field_place("cookie", v + pr.name_off, pr.name_len, sub, sizeof(sub));
            edit_add(c, pr.value_off, pr.value_len, "cookie_", v + pr.name_off, pr.name_len,
                     "cookie value", sub);
        }
        if (first_only) {
            break;
        }
    }
}

/* Authorization: the credentials after the scheme ("Bearer", "Basic"), or the whole value. */
static void scan_auth(struct rp__scrub_scan *c, const char *v, size_t n, const char *name)
{
    size_t i = 0;
    while (i < n && !is_ws(v[i])) {
        i++;
    }
    size_t cs = i;
    while (cs < n && is_ws(v[cs])) {
        cs++;
    }
    if (i == 0 || cs == n || cs == i) {
        cs = 0; /* no scheme: the value is all credentials */
    }
    if (!rp__scrub_is_placeholder(v + cs, n - cs)) {
        edit_add(c, cs, n - cs, "", name, strlen(name), "credentials", "");
    }
}

static bool header_listed(const struct rp_scrub *s, const struct rp_header *e)
{
    for (size_t k = 0; k < s->n_headers; k++) {
        if (rp_strieq(e->name, e->name_len, s->headers[k])) {
            return true;
        }
    }
    return false;
}

void rp__scrub_scan_header(struct rp__scrub_scan *c, const struct rp_header *e)
{
    char where[RP__SCRUB_PLACE_MAX];
    snprintf(where, sizeof(where), "%s header %.*s", c->request ? "request" : "response",
             (int)(e->name_len < 64 ? e->name_len : 64), e->name);
    const char *saved = c->where;
    c->where = where;
    if (!c->request) {
        if (rp_strieq(e->name, e->name_len, "set-cookie")) {
            scan_cookies(c, e->value, e->value_len, true);
        } else {
            scan_look(c, e->value, 0, e->value_len, "");
        }
    } else if (rp_strieq(e->name, e->name_len, "cookie")) {
        scan_cookies(c, e->value, e->value_len, false);
    } else if (rp_strieq(e->name, e->name_len, "authorization")) {
        scan_auth(c, e->value, e->value_len, "authorization");
    } else if (rp_strieq(e->name, e->name_len, "proxy-authorization")) {
        scan_auth(c, e->value, e->value_len, "proxy_authorization");
    } else if (header_listed(c->s, e)) {
        if (!rp__scrub_is_placeholder(e->value, e->value_len)) {
            edit_add(c, 0, e->value_len, "", e->name, e->name_len, "secret header", "");
        }
    } else {
        /* X-Api-Key, X-Auth-Token: a header named like a secret field is one. */
        scan_value(c, e->value, 0, e->value_len, e->name, e->name_len, "");
    }
    c->where = saved;
}
