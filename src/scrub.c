/* SPDX-License-Identifier: MIT */
/*
 * Secrets out of exchanges as they are recorded: header values, cookie values and the values
 * of secret-looking fields in request bodies and query strings become {{secret:NAME}}
 * placeholders, which redact.c fills at replay. Every rewrite is an edit of the original text
 * (a value's bytes swapped for its placeholder), so nothing else in a body changes: a JSON body
 * keeps its key order, spacing and number spellings byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/buf.h>
#include <reprise/limits.h>
#include <reprise/redact.h>
#include <reprise/scrub.h>

#include "jscan_int.h"
#include "text_int.h"
#include "url_int.h"

#define PH_OPEN  "{{secret:"
#define PH_CLOSE "}}"

/* Field names are matched on their first KEY_MAX bytes (lower-cased, '-' as '_'). */
#define KEY_MAX 256u

/* A placeholder name given out, and the hash of the value it stands for. */
struct named {
    char name[RP_MAX_SECRET_NAME + 1];
    uint64_t hash;
};

/* Distinct values named alike get distinct names ("password", "password_2"); past this many
 * names, a value takes its plain name. */
#define MAX_NAMED 4096u

struct rp_scrub {
    struct named *named; /* the names given so far, with their values' hashes */
    size_t n_named;
    char **headers; /* lower-case names whose whole value is secret (beyond the built-ins) */
    size_t n_headers;
    char **fields; /* lower-case substrings, '-' written as '_' */
    size_t n_fields;
};

static const char *const default_fields[] = {"password", "passwd", "secret",
                                             "api_key",  "apikey", NULL};

/*
 * A name ending in "token" is secret unless it names an anti-forgery token: those the server
 * assigns and replay correlates, and a placeholder would hide them from correlation.
 */
static const char *const token_exclusions[] = {"csrf", "xsrf", "authenticity_token",
                                               "requestverificationtoken", NULL};

/* ----- names ------------------------------------------------------------------------------ */

/* Lower-cases the len bytes at name into out (KEY_MAX + 1 bytes), '-' as '_'; returns length. */
static size_t match_form(const char *name, size_t len, char out[KEY_MAX + 1])
{
    size_t n = len < KEY_MAX ? len : KEY_MAX;
    for (size_t i = 0; i < n; i++) {
        char c = rp__ascii_lower(name[i]);
        out[i] = c == '-' ? '_' : c;
    }
    out[n] = '\0';
    return n;
}

void rp_scrub_name(const char *name, size_t len, char *out, size_t outsz)
{
    if (outsz == 0) {
        return;
    }
    size_t max = outsz - 1 < RP_MAX_SECRET_NAME ? outsz - 1 : RP_MAX_SECRET_NAME;
    size_t n = len < max ? len : max;
    for (size_t i = 0; i < n; i++) {
        char c = rp__ascii_lower(name[i]);
        out[i] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ? c : '_';
    }
    out[n] = '\0';
    if (n == 0) {
        snprintf(out, outsz, "%s", "secret");
    }
}

bool rp_scrub_field_is_secret(const struct rp_scrub *s, const char *name, size_t len)
{
    char key[KEY_MAX + 1];
    size_t n = match_form(name, len, key);
    for (size_t i = 0; i < s->n_fields; i++) {
        if (strstr(key, s->fields[i])) {
            return true;
        }
    }
    if (n >= 5 && memcmp(key + n - 5, "token", 5) == 0) {
        for (size_t i = 0; token_exclusions[i]; i++) {
            if (strstr(key, token_exclusions[i])) {
                return false;
            }
        }
        return true;
    }
    return false;
}

/* ----- rule sets -------------------------------------------------------------------------- */

static bool list_has(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static void list_add(char ***v, size_t *n, const char *s)
{
    if (!s[0] || list_has(*v, *n, s)) {
        return;
    }
    *v = rp_xreallocarray(*v, *n + 1, sizeof(**v));
    (*v)[(*n)++] = rp_xstrdup(s);
}

struct rp_scrub *rp_scrub_new(void)
{
    struct rp_scrub *s = rp_xcalloc(1, sizeof(*s));
    for (size_t i = 0; default_fields[i]; i++) {
        rp_scrub_add_field(s, default_fields[i]);
    }
    return s;
}

void rp_scrub_free(struct rp_scrub *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n_headers; i++) {
        free(s->headers[i]);
    }
    for (size_t i = 0; i < s->n_fields; i++) {
        free(s->fields[i]);
    }
    free(s->headers);
    free(s->fields);
    free(s->named);
    free(s);
}

void rp_scrub_add_header(struct rp_scrub *s, const char *name)
{
    char *low = rp_xstrdup(name);
    for (char *p = low; *p; p++) {
        *p = rp__ascii_lower(*p);
    }
    /* The built-in headers have rules of their own (cookies, the auth scheme). */
    if (strcmp(low, "cookie") != 0 && strcmp(low, "set-cookie") != 0 &&
        strcmp(low, "authorization") != 0 && strcmp(low, "proxy-authorization") != 0) {
        list_add(&s->headers, &s->n_headers, low);
    }
    free(low);
}

void rp_scrub_add_field(struct rp_scrub *s, const char *name_substring)
{
    char key[KEY_MAX + 1];
    match_form(name_substring, strlen(name_substring), key);
    list_add(&s->fields, &s->n_fields, key);
}

/* ----- edits ------------------------------------------------------------------------------ */

/* One value to swap for a placeholder: bytes [start, start + len) of the text. */
struct edit {
    size_t start;
    size_t len;
    char name[RP_MAX_SECRET_NAME + 1];
};

struct edits {
    struct edit *v;
    size_t n;
    size_t cap;
};

/* Notes that [start, start + len) holds a secret, named prefix + the placeholder form of name. */
static void edit_add(struct edits *ed, size_t start, size_t len, const char *prefix,
                     const char *name, size_t name_len)
{
    if (len == 0) {
        return; /* an empty value hides nothing */
    }
    if (ed->n == ed->cap) {
        ed->cap = ed->cap ? ed->cap * 2 : 8;
        ed->v = rp_xreallocarray(ed->v, ed->cap, sizeof(*ed->v));
    }
    struct edit *e = &ed->v[ed->n++];
    e->start = start;
    e->len = len;
    size_t plen = strlen(prefix);
    memcpy(e->name, prefix, plen);
    rp_scrub_name(name, name_len, e->name + plen, sizeof(e->name) - plen);
    if (name_len == 0 && plen > 0) {
        e->name[plen] = '\0'; /* "cookie_" for a cookie without a name, not "cookie_secret" */
    }
}

/* True when the n bytes at v are one placeholder, {{secret:NAME}} or {{var:NAME}}: left as it
 * is (scrubbing is idempotent, and a variable is never made a secret). */
static bool is_placeholder(const char *v, size_t n)
{
    size_t open = 0;
    if (n > 9 && memcmp(v, PH_OPEN, 9) == 0) {
        open = 9;
    } else if (n > 6 && memcmp(v, "{{var:", 6) == 0) {
        open = 6;
    }
    if (open == 0 || n < open + 3 || memcmp(v + n - 2, PH_CLOSE, 2) != 0) {
        return false;
    }
    for (size_t i = open; i < n - 2; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-')) {
            return false;
        }
    }
    return true;
}

static uint64_t value_hash(const char *v, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)v[i]) * 1099511628211u;
    }
    return h;
}

/*
 * The name for a value (n bytes at v) whose field gives stem: stem itself when it is free or
 * already stands for this value, else the first of stem_2, stem_3… that is, so that two
 * different secrets never share one placeholder (a Bearer and a Basic Authorization; a JSON and
 * a form password). Written into out (RP_MAX_SECRET_NAME + 1 bytes).
 */
static void unique_name(struct rp_scrub *sc, const char *stem, const char *v, size_t n, char *out)
{
    uint64_t h = value_hash(v, n);
    snprintf(out, RP_MAX_SECRET_NAME + 1, "%s", stem);
    char base[RP_MAX_SECRET_NAME + 1];
    snprintf(base, sizeof(base), "%.*s", (int)(RP_MAX_SECRET_NAME - 8), stem);
    for (unsigned k = 2; k < MAX_NAMED + 2; k++) {
        bool taken = false;
        for (size_t i = 0; i < sc->n_named; i++) {
            if (strcmp(sc->named[i].name, out) == 0) {
                if (sc->named[i].hash == h) {
                    return;
                }
                taken = true;
                break;
            }
        }
        if (!taken) {
            if (sc->n_named < MAX_NAMED) {
                sc->named = rp_xreallocarray(sc->named, sc->n_named + 1, sizeof(*sc->named));
                snprintf(sc->named[sc->n_named].name, sizeof(sc->named[0].name), "%s", out);
                sc->named[sc->n_named].hash = h;
                sc->n_named++;
            }
            return;
        }
        char suffix[16];
        int sl = snprintf(suffix, sizeof(suffix), "_%u", k);
        size_t bl = strlen(base);
        memcpy(out, base, bl);
        memcpy(out + bl, suffix, sl > 0 ? (size_t)sl + 1 : 1);
    }
    snprintf(out, RP_MAX_SECRET_NAME + 1, "%s", stem);
}

/*
 * Applies ed (in increasing, non-overlapping order) to the n bytes at s. On success *out is
 * NULL when the text did not change, else new memory of *out_len bytes (at most max).
 */
static rp_code edits_apply(struct rp_scrub *sc, const struct edits *ed, const char *s, size_t n,
                           size_t max, char **out, size_t *out_len, struct rp_error *err)
{
    rp_code rc = RP_OK;
    struct rp_buf b;
    rp_buf_init(&b, max);
    bool changed = false;
    size_t done = 0;
    for (size_t i = 0; i < ed->n && !rc; i++) {
        const struct edit *e = &ed->v[i];
        rc = rp_buf_add(&b, s + done, e->start - done, err);
        if (!rc && is_placeholder(s + e->start, e->len)) {
            rc = rp_buf_add(&b, s + e->start, e->len, err);
        } else if (!rc) {
            char name[RP_MAX_SECRET_NAME + 1];
            unique_name(sc, e->name, s + e->start, e->len, name);
            changed = true;
            rc = rp_buf_addf(&b, err, "%s%s%s", PH_OPEN, name, PH_CLOSE);
        }
        done = e->start + e->len;
    }
    if (!rc) {
        rc = rp_buf_add(&b, s + done, n - done, err);
    }
    if (!rc) {
        *out = changed ? rp_buf_take(&b, out_len) : NULL;
    }
    rp_buf_cleanup(&b);
    return rc;
}

/* ----- finding secrets in text ------------------------------------------------------------ */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
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

/* name=value pairs joined by '&' (a form body, a query): the values of secret fields. */
static void scan_form(const struct rp_scrub *s, const char *p, size_t n, size_t base,
                      struct edits *ed)
{
    size_t pos = 0;
    struct rp__pair pr;
    while (rp__url_next_param(p, n, &pos, &pr)) {
        if (pr.value_off == pr.name_off + pr.name_len) {
            continue; /* no '=' */
        }
        char key[KEY_MAX + 1];
        size_t klen = form_decode(p + pr.name_off, pr.name_len, key);
        if (rp_scrub_field_is_secret(s, key, klen)) {
            edit_add(ed, base + pr.value_off, pr.value_len, "", key, klen);
        }
    }
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

/*
 * A lenient scan of JSON text: tracks objects and arrays, and notes the string values of
 * secret keys at any depth. It never fails: malformed or truncated JSON is scanned as far as
 * it makes sense, so a cut body still has its earlier secrets found.
 */
static void scan_json(const struct rp_scrub *s, const char *p, size_t n, struct edits *ed)
{
    enum { WANT_VALUE, WANT_KEY, WANT_COLON, AFTER } state = WANT_VALUE;
    char *stack = NULL; /* 'o' or 'a' per open container; depth is bounded by n */
    size_t depth = 0;
    size_t cap = 0;
    bool key_secret = false;
    char key[KEY_MAX + 1];
    size_t klen = 0;
    size_t i = 0;
    while (i < n) {
        char c = p[i];
        if (is_ws(c)) {
            i++;
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth == cap) {
                cap = cap ? cap * 2 : 32;
                stack = rp_xrealloc(stack, cap);
            }
            stack[depth++] = c == '{' ? 'o' : 'a';
            state = c == '{' ? WANT_KEY : WANT_VALUE;
            key_secret = false;
            i++;
        } else if (c == '}' || c == ']') {
            if (depth > 0) {
                depth--;
            }
            state = AFTER;
            key_secret = false;
            i++;
        } else if (c == ',') {
            state = depth > 0 && stack[depth - 1] == 'o' ? WANT_KEY : WANT_VALUE;
            key_secret = false;
            i++;
        } else if (c == ':') {
            state = WANT_VALUE;
            i++;
        } else if (c == '"') {
            size_t start = i + 1;
            size_t end = rp__jscan_string_end(p, n, start);
            if (state == WANT_KEY) {
                klen = json_key(p, n, i, key);
                key_secret = rp_scrub_field_is_secret(s, key, klen);
                state = WANT_COLON;
            } else {
                if (state == WANT_VALUE && key_secret && end < n) {
                    edit_add(ed, start, end - start, "", key, klen);
                }
                key_secret = false;
                state = AFTER;
            }
            i = end < n ? end + 1 : n;
        } else {
            /* A number, true, false, null, or garbage: up to the next structural byte. */
            while (i < n && !is_ws(p[i]) && p[i] != ',' && p[i] != ']' && p[i] != '}' &&
                   p[i] != ':') {
                i++;
            }
            key_secret = false;
            state = AFTER;
        }
    }
    free(stack);
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
static void scan_multipart(const struct rp_scrub *s, const struct rp_header *ct, const char *p,
                           size_t n, struct edits *ed)
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
        const char *cd = "content-disposition:";
        size_t cdl = strlen(cd);
        for (size_t h = hs; h < he;) {
            size_t eol = find(p, he, h, "\r\n", 2);
            const char *fname;
            size_t fname_len;
            if (eol - h > cdl && rp_strieq(p + h, cdl, cd) &&
                !header_param(p + h + cdl, eol - h - cdl, "filename=", &fname, &fname_len)) {
                header_param(p + h + cdl, eol - h - cdl, "name=", &name, &name_len);
            }
            h = eol + 2;
        }
        if (name && next < n && rp_scrub_field_is_secret(s, name, name_len)) {
            edit_add(ed, cs, next - cs, "", name, name_len);
        }
        at = next < n ? next + 2 : n;
    }
}

/* ----- headers ---------------------------------------------------------------------------- */

/*
 * Cookie pairs in v: every pair's value (all of Cookie's, only the first of Set-Cookie's)
 * becomes {{secret:cookie_NAME}}.
 */
static void scan_cookies(const char *v, size_t n, bool first_only, struct edits *ed)
{
    size_t pos = 0;
    struct rp__pair pr;
    while (rp__cookie_next(v, n, &pos, &pr)) {
        if (pr.value_off > pr.name_off + pr.name_len) { /* there is an '=' */
            edit_add(ed, pr.value_off, pr.value_len, "cookie_", v + pr.name_off, pr.name_len);
        }
        if (first_only) {
            break;
        }
    }
}

/* Authorization: the credentials after the scheme ("Bearer", "Basic"), or the whole value. */
static void scan_auth(const char *v, size_t n, const char *name, struct edits *ed)
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
    edit_add(ed, cs, n - cs, "", name, strlen(name));
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

/* Scrubs the headers of one message. request: the request's rules, else the response's. */
static rp_code scrub_headers(struct rp_scrub *s, struct rp_headers *h, bool request,
                             struct rp_error *err)
{
    rp_code rc = RP_OK;
    struct edits ed = {0};
    size_t total = 0;
    for (size_t i = 0; i < h->n; i++) {
        total += h->v[i].name_len + h->v[i].value_len;
    }
    for (size_t i = 0; i < h->n && !rc; i++) {
        struct rp_header *e = &h->v[i];
        ed.n = 0;
        if (!request) {
            if (rp_strieq(e->name, e->name_len, "set-cookie")) {
                scan_cookies(e->value, e->value_len, true, &ed);
            }
        } else if (rp_strieq(e->name, e->name_len, "cookie")) {
            scan_cookies(e->value, e->value_len, false, &ed);
        } else if (rp_strieq(e->name, e->name_len, "authorization")) {
            scan_auth(e->value, e->value_len, "authorization", &ed);
        } else if (rp_strieq(e->name, e->name_len, "proxy-authorization")) {
            scan_auth(e->value, e->value_len, "proxy_authorization", &ed);
        } else if (header_listed(s, e) || rp_scrub_field_is_secret(s, e->name, e->name_len)) {
            /* X-Api-Key, X-Auth-Token: a header named like a secret field is one. */
            edit_add(&ed, 0, e->value_len, "", e->name, e->name_len);
        }
        if (ed.n == 0) {
            continue;
        }
        size_t others = total - e->value_len;
        size_t max = others < RP_MAX_HEADER_BYTES ? RP_MAX_HEADER_BYTES - others : 0;
        char *v = NULL;
        size_t vlen = 0;
        rc = edits_apply(s, &ed, e->value, e->value_len, max, &v, &vlen, err);
        if (rc) {
            rp_error_set(err, rc, "scrubbing header %s: headers would exceed %u bytes", e->name,
                         RP_MAX_HEADER_BYTES);
        } else if (v) {
            free(e->value);
            e->value = v;
            e->value_len = vlen;
            total = others + vlen;
        }
    }
    free(ed.v);
    return rc;
}

/* ----- the exchange ----------------------------------------------------------------------- */

static rp_code scrub_url(struct rp_scrub *s, struct rp_request *req, struct rp_error *err)
{
    if (!req->url) {
        return RP_OK;
    }
    size_t n = strlen(req->url);
    struct rp__url u;
    rp__url_split(req->url, n, &u);
    if (!u.has_query) {
        return RP_OK;
    }
    struct edits ed = {0};
    scan_form(s, req->url + u.query_off, u.query_len, u.query_off, &ed);
    char *url = NULL;
    rp_code rc = RP_OK;
    if (ed.n) {
        rc = edits_apply(s, &ed, req->url, n, RP_MAX_URL_BYTES, &url, NULL, err);
        if (rc) {
            rp_error_set(err, rc, "scrubbing the URL: it would exceed %u bytes", RP_MAX_URL_BYTES);
        } else if (url) {
            free(req->url);
            req->url = url;
        }
    }
    free(ed.v);
    return rc;
}

static rp_code scrub_body(struct rp_scrub *s, struct rp_request *req, struct rp_error *err)
{
    struct rp_body *b = &req->body;
    const struct rp_header *ct = rp_headers_get(&req->headers, "Content-Type", NULL);
    char mt[RP_MAX_MEDIA_TYPE_BYTES];
    if (b->len == 0 || !ct || !rp_media_type(&req->headers, mt, sizeof(mt))) {
        return RP_OK;
    }
    const char *p = (const char *)b->data;
    struct edits ed = {0};
    if (rp_media_is_json(mt)) {
        scan_json(s, p, b->len, &ed);
    } else if (strcmp(mt, "application/x-www-form-urlencoded") == 0) {
        scan_form(s, p, b->len, 0, &ed);
    } else if (strcmp(mt, "multipart/form-data") == 0) {
        scan_multipart(s, ct, p, b->len, &ed);
    }
    rp_code rc = RP_OK;
    char *body = NULL;
    size_t len = 0;
    if (ed.n) {
        rc = edits_apply(s, &ed, p, b->len, RP_MAX_BODY_RECORDED, &body, &len, err);
        if (rc) {
            rp_error_set(err, rc, "scrubbing the request body: it would exceed %u bytes",
                         RP_MAX_BODY_RECORDED);
        }
    }
    free(ed.v);
    if (rc || !body) {
        return rc;
    }
    bool truncated = b->truncated;
    uint64_t orig = b->orig_len;
    rp_body_take(b, (unsigned char *)body, len);
    b->truncated = truncated;
    b->orig_len = orig;
    if (!truncated && rp_headers_get(&req->headers, "Content-Length", NULL)) {
        char num[32];
        int k = snprintf(num, sizeof(num), "%zu", len);
        if (k > 0 && (size_t)k < sizeof(num)) {
            rc = rp_headers_set(&req->headers, "Content-Length", num, (size_t)k, err);
        }
    }
    return rc;
}

rp_code rp_scrub_exchange(struct rp_scrub *s, struct rp_exchange *ex, struct rp_error *err)
{
    rp_code rc = scrub_headers(s, &ex->req.headers, true, err);
    if (!rc) {
        rc = scrub_url(s, &ex->req, err);
    }
    if (!rc) {
        rc = scrub_body(s, &ex->req, err);
    }
    if (!rc && ex->has_response) {
        rc = scrub_headers(s, &ex->resp.headers, false, err);
    }
    return rc;
}
