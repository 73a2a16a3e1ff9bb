/* SPDX-License-Identifier: MIT */
/*
 * Record-time variables, the recording half (reprise/vars.h): credentials a response gives
 * become {{var:NAME}} where they are born and wherever they come back later.
 *
 * The writer streams, so a value's use is seen only after its birth exchange is written. Hence
 * the rule: whatever looks like a credential in a response becomes a variable at once, sent
 * back or not, and later exchanges are searched for the values known so far. Each text is
 * searched for every known value (and its percent-encoded form), and only whole tokens match
 * (no letter, digit, or - _ . ~ + / on either side), so a value inside a longer one is left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/buf.h>
#include <reprise/vars.h>

#include "../jscan_int.h"
#include "../text_int.h"
#include "../url_int.h"
#include "internal.h"

#define PH_OPEN  "{{var:"
#define PH_CLOSE "}}"

struct known {
    char *value; /* as the response gave it */
    size_t len;
    char *enc; /* percent-encoded (form style), or NULL when the same */
    size_t enc_len;
    char name[RP_MAX_VAR_NAME + 1];
};

struct rp_varrec {
    struct known *v;
    size_t n;
};

/* ----- names and shapes ------------------------------------------------------------------ */

bool rp__var_token_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~' || c == '+' || c == '/';
}

static bool b64url_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* The end of the run of base64url bytes at s[i]. */
static size_t b64_run(const char *s, size_t n, size_t i)
{
    while (i < n && b64url_byte((unsigned char)s[i])) {
        i++;
    }
    return i;
}

bool rp__var_next_jwt(const char *s, size_t n, size_t *pos, size_t *out_start, size_t *out_end)
{
    size_t i = *pos;
    while (i + 3 <= n) {
        const char *p = memchr(s + i, 'e', n - i);
        if (!p) {
            break;
        }
        i = (size_t)(p - s);
        bool left = i == 0 || (!b64url_byte((unsigned char)s[i - 1]) && s[i - 1] != '.');
        if (left && n - i >= 3 && memcmp(s + i, "eyJ", 3) == 0) {
            size_t a = b64_run(s, n, i);
            if (a - i >= 10 && a < n && s[a] == '.') {
                size_t b = b64_run(s, n, a + 1);
                if (b - a - 1 >= 2 && b < n && s[b] == '.') {
                    size_t c = b64_run(s, n, b + 1);
                    if (c >= n || (s[c] != '.' && !b64url_byte((unsigned char)s[c]))) {
                        *out_start = i;
                        *out_end = c;
                        *pos = c;
                        return true;
                    }
                }
            }
            i = a > i ? a : i + 1;
            continue;
        }
        i++;
    }
    *pos = n;
    return false;
}

bool rp_var_is_jwt(const char *s, size_t n)
{
    size_t pos = 0, a = 0, b = 0;
    return rp__var_next_jwt(s, n, &pos, &a, &b) && a == 0 && b == n;
}

/* The name's letters and digits, lower-cased, into out (outsz bytes); returns the length. */
static size_t squash(const char *name, size_t len, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < outsz; i++) {
        char c = rp__ascii_lower(name[i]);
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    return o;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

bool rp_var_name_is_credential(const char *name, size_t len)
{
    static const char *const not_these[] = {"csrf", "xsrf", "authenticity", "requestverification",
                                            NULL};
    static const char *const suffixes[] = {
        "token",     "jwt",        "apikey", "accesskey", "secret",        "secretkey",   "session",
        "sessionid", "sessionkey", "sid",    "bearer",    "authorization", "credentials", NULL,
    };
    char key[RP_MAX_VAR_NAME * 2 + 1];
    size_t n = squash(name, len, key, sizeof(key));
    for (size_t i = 0; not_these[i]; i++) {
        if (strstr(key, not_these[i])) {
            return false;
        }
    }
    for (size_t i = 0; suffixes[i]; i++) {
        if (ends_with(key, n, suffixes[i])) {
            return true;
        }
    }
    return false;
}

/* A cookie whose name says it holds a session or a credential. */
static bool cookie_is_credential(const char *name, size_t len)
{
    static const char *const parts[] = {"sess",  "sid",      "token",  "auth", "jwt",
                                        "login", "remember", "secret", "key",  NULL};
    char key[RP_MAX_VAR_NAME * 2 + 1];
    squash(name, len, key, sizeof(key));
    for (size_t i = 0; parts[i]; i++) {
        if (strstr(key, parts[i])) {
            return !strstr(key, "csrf") && !strstr(key, "xsrf");
        }
    }
    return false;
}

/* A value that can be a credential: long enough, no white space or control byte, and not a
 * placeholder already. */
static bool credential_shaped(const char *v, size_t n)
{
    if (n < RP_VAR_MIN_VALUE || (n >= 2 && v[0] == '{' && v[1] == '{')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= ' ' || c == 0x7f || c == '"' || c == '\\') {
            return false;
        }
    }
    return true;
}

/* ----- the known values -------------------------------------------------------------------- */

struct rp_varrec *rp_varrec_new(void)
{
    return rp_xcalloc(1, sizeof(struct rp_varrec));
}

void rp_varrec_free(struct rp_varrec *vr)
{
    if (!vr) {
        return;
    }
    for (size_t i = 0; i < vr->n; i++) {
        free(vr->v[i].value);
        free(vr->v[i].enc);
    }
    free(vr->v);
    free(vr);
}

static const struct known *find_value(const struct rp_varrec *vr, const char *v, size_t n)
{
    for (size_t i = 0; i < vr->n; i++) {
        if (vr->v[i].len == n && memcmp(vr->v[i].value, v, n) == 0) {
            return &vr->v[i];
        }
    }
    return NULL;
}

static bool name_taken(const struct rp_varrec *vr, const char *name)
{
    for (size_t i = 0; i < vr->n; i++) {
        if (strcmp(vr->v[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * Remembers value (n bytes) as a new variable named after base (a field, header or cookie
 * name: lower-cased, bytes outside [a-z0-9_] as '_'), with _2, _3… when taken; writes its name
 * into out. Past RP_MAX_VARS the value is still named but not remembered.
 */
static void add_known(struct rp_varrec *vr, const char *prefix, const char *base, size_t blen,
                      const char *value, size_t n, char out[RP_MAX_VAR_NAME + 1])
{
    char stem[RP_MAX_VAR_NAME + 1];
    size_t plen = strlen(prefix);
    size_t room = RP_MAX_VAR_NAME - 8; /* for a _NNNNNNN suffix */
    memcpy(stem, prefix, plen);
    size_t k = plen;
    for (size_t i = 0; i < blen && k < room; i++) {
        char c = rp__ascii_lower(base[i]);
        stem[k++] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ? c : '_';
    }
    stem[k] = '\0';
    if (k == 0) {
        snprintf(stem, sizeof(stem), "%s", "token");
    }
    snprintf(out, RP_MAX_VAR_NAME + 1, "%s", stem);
    for (unsigned i = 2; name_taken(vr, out) && i < 10000000u; i++) {
        char suffix[16];
        int sl = snprintf(suffix, sizeof(suffix), "_%u", i);
        size_t k2 = strlen(stem); /* at most RP_MAX_VAR_NAME - 8: the suffix fits */
        memcpy(out, stem, k2);
        memcpy(out + k2, suffix, sl > 0 ? (size_t)sl + 1 : 1);
    }
    if (vr->n >= RP_MAX_VARS) {
        return;
    }
    vr->v = rp_xreallocarray(vr->v, vr->n + 1, sizeof(*vr->v));
    struct known *e = &vr->v[vr->n++];
    memset(e, 0, sizeof(*e));
    e->value = rp_xstrndup(value, n);
    e->len = n;
    snprintf(e->name, sizeof(e->name), "%s", out);
    struct rp_buf b;
    rp_buf_init(&b, 3 * n + 1);
    if (!rp__pct_encode(value, n, RP__PCT_FORM, &b, NULL) && b.len != n) {
        e->enc = rp_buf_take(&b, &e->enc_len);
    }
    rp_buf_cleanup(&b);
}

/* ----- replacing known values in a text ---------------------------------------------------- */

struct match {
    size_t start;
    size_t len;
    char name[RP_MAX_VAR_NAME + 1];
};

struct matches {
    struct match *v;
    size_t n;
};

static void match_add(struct matches *m, size_t start, size_t len, const char *name)
{
    m->v = rp_xreallocarray(m->v, m->n + 1, sizeof(*m->v));
    struct match *e = &m->v[m->n++];
    e->start = start;
    e->len = len;
    snprintf(e->name, sizeof(e->name), "%s", name);
}

static int match_cmp(const void *a, const void *b)
{
    const struct match *x = a, *y = b;
    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    return x->len > y->len ? -1 : x->len < y->len ? 1 : 0;
}

/* Notes every whole-token occurrence of the nv bytes at v in s. */
static void find_all(const char *s, size_t n, const char *v, size_t nv, const char *name,
                     struct matches *m)
{
    if (nv == 0 || nv > n) {
        return;
    }
    size_t i = 0;
    while (i + nv <= n) {
        const char *p = memchr(s + i, v[0], n - i - nv + 1);
        if (!p) {
            return;
        }
        i = (size_t)(p - s);
        if (memcmp(s + i, v, nv) == 0 && (i == 0 || !rp__var_token_byte((unsigned char)s[i - 1])) &&
            (i + nv == n || !rp__var_token_byte((unsigned char)s[i + nv]))) {
            match_add(m, i, nv, name);
            i += nv;
        } else {
            i++;
        }
    }
}

/* Writes s with the matches (sorted, overlaps dropped) replaced by placeholders. *out is NULL
 * when there was none; else new memory of *out_len bytes (at most max). */
static rp_code apply_matches(struct matches *m, const char *s, size_t n, size_t max, char **out,
                             size_t *out_len, struct rp_error *err)
{
    *out = NULL;
    if (m->n == 0) {
        return RP_OK;
    }
    qsort(m->v, m->n, sizeof(*m->v), match_cmp);
    struct rp_buf b;
    rp_buf_init(&b, max);
    size_t done = 0;
    rp_code rc = RP_OK;
    for (size_t i = 0; i < m->n && !rc; i++) {
        if (m->v[i].start < done) {
            continue;
        }
        rc = rp_buf_add(&b, s + done, m->v[i].start - done, err);
        if (!rc) {
            rc = rp_buf_addf(&b, err, "%s%s%s", PH_OPEN, m->v[i].name, PH_CLOSE);
        }
        done = m->v[i].start + m->v[i].len;
    }
    if (!rc) {
        rc = rp_buf_add(&b, s + done, n - done, err);
    }
    if (!rc) {
        *out = rp_buf_take(&b, out_len);
    }
    rp_buf_cleanup(&b);
    return rc;
}

/* Every known value in the n bytes at s becomes its placeholder (see apply_matches). */
static rp_code replace_known(const struct rp_varrec *vr, const char *s, size_t n, size_t max,
                             char **out, size_t *out_len, struct rp_error *err)
{
    struct matches m = {0};
    for (size_t i = 0; i < vr->n; i++) {
        const struct known *k = &vr->v[i];
        find_all(s, n, k->value, k->len, k->name, &m);
        if (k->enc) {
            find_all(s, n, k->enc, k->enc_len, k->name, &m);
        }
    }
    rp_code rc = apply_matches(&m, s, n, max, out, out_len, err);
    free(m.v);
    return rc;
}

/*
 * Replaces a body's bytes with data (taken), keeping its flags. h is the request's headers, whose
 * Content-Length is kept right; NULL for a response, whose headers stay as on the wire (they may
 * describe a compressed body).
 */
static rp_code set_body(struct rp_headers *h, struct rp_body *b, char *data, size_t len,
                        struct rp_error *err)
{
    bool truncated = b->truncated;
    uint64_t orig = b->orig_len;
    rp_body_take(b, (unsigned char *)data, len);
    b->truncated = truncated;
    b->orig_len = orig;
    if (h && !truncated && rp_headers_get(h, "Content-Length", NULL)) {
        char num[32];
        int k = snprintf(num, sizeof(num), "%zu", len);
        if (k > 0 && (size_t)k < sizeof(num)) {
            return rp_headers_set(h, "Content-Length", num, (size_t)k, err);
        }
    }
    return RP_OK;
}

static bool body_text(const struct rp_body *b)
{
    return b->len > 0 && rp__utf8_text(b->data, b->len);
}

/* The known values out of every header value and the text body of one message. */
static rp_code replace_in_message(const struct rp_varrec *vr, struct rp_headers *h,
                                  struct rp_body *body, bool request, struct rp_error *err)
{
    rp_code rc = RP_OK;
    for (size_t i = 0; i < h->n && !rc; i++) {
        char *v = NULL;
        size_t vlen = 0;
        rc = replace_known(vr, h->v[i].value, h->v[i].value_len, RP_MAX_HEADER_BYTES, &v, &vlen,
                           err);
        if (!rc && v) {
            free(h->v[i].value);
            h->v[i].value = v;
            h->v[i].value_len = vlen;
        }
    }
    if (!rc && body_text(body)) {
        char *v = NULL;
        size_t vlen = 0;
        rc = replace_known(vr, (const char *)body->data, body->len, RP_MAX_BODY_RECORDED, &v, &vlen,
                           err);
        if (!rc && v) {
            rc = set_body(request ? h : NULL, body, v, vlen, err);
        }
    }
    return rc;
}

/* ----- births ------------------------------------------------------------------------------ */

struct births {
    struct rp_varrec *vr;
    struct rp_exchange *ex;
    struct matches m; /* the born values' places in the text being scanned */
};

/* value (n bytes) is a credential born at place: a new variable unless already known; the
 * bytes [start, start + span) of the current text (the value as written there) are noted for
 * replacement. */
static void born(struct births *bs, const char *prefix, const char *base, size_t blen,
                 const char *place, const char *value, size_t n, size_t start, size_t span)
{
    const struct known *k = find_value(bs->vr, value, n);
    char name[RP_MAX_VAR_NAME + 1];
    if (k) {
        snprintf(name, sizeof(name), "%s", k->name);
    } else {
        if (bs->ex->n_vars >= RP_MAX_VARS_PER_EXCHANGE) {
            return;
        }
        add_known(bs->vr, prefix, base, blen, value, n, name);
        rp_exchange_add_var(bs->ex, name, place);
    }
    match_add(&bs->m, start, span, name);
}

struct json_scan {
    struct births *bs;
    const char *text;
    size_t n;
};

static bool on_json_leaf(void *ud, const struct rp__var_leaf *leaf)
{
    struct json_scan *js = ud;
    size_t start = leaf->start + 1;
    size_t raw = leaf->end - 1 - start;
    if (raw == 0 || raw > RP_CORRELATE_MAX_VALUE) {
        return true;
    }
    const char *v = js->text + start;
    size_t vlen = raw;
    char decoded[RP_CORRELATE_MAX_VALUE + 1];
    if (memchr(v, '\\', raw)) {
        /* Escaped ("a\/b", as PHP writes a slash): the value is the decoded text, and the
         * whole literal's contents are what is replaced. */
        size_t i = leaf->start;
        bool fits = false;
        if (!rp__jscan_string(js->text, leaf->end, &i, decoded, sizeof(decoded), &vlen, &fits) ||
            !fits) {
            return true;
        }
        v = decoded;
    }
    bool named = leaf->key && rp_var_name_is_credential(leaf->key, leaf->key_len);
    if ((named && credential_shaped(v, vlen)) || rp_var_is_jwt(v, vlen)) {
        char place[RP_MAX_VAR_PLACE + 8];
        snprintf(place, sizeof(place), "body %s", leaf->path);
        bool keyed = leaf->key && leaf->key_len;
        born(js->bs, "", keyed ? leaf->key : "jwt", keyed ? leaf->key_len : 3, place, v, vlen,
             start, raw);
    }
    return true;
}

/* JWTs anywhere in text not already noted: "PREFIX jwt N", N counting every JWT in the text. */
static void scan_jwts(struct births *bs, const char *text, size_t n, const char *prefix)
{
    size_t pos = 0, a = 0, b = 0;
    size_t nth = 0;
    while (nth < RP_MAX_VARS_PER_EXCHANGE && rp__var_next_jwt(text, n, &pos, &a, &b)) {
        nth++;
        bool noted = false;
        for (size_t i = 0; i < bs->m.n && !noted; i++) {
            noted = a < bs->m.v[i].start + bs->m.v[i].len && bs->m.v[i].start < b;
        }
        if (!noted) {
            char place[RP_MAX_VAR_PLACE + 32];
            snprintf(place, sizeof(place), "%s jwt %zu", prefix, nth);
            born(bs, "", "jwt", 3, place, text + a, b - a, a, b - a);
        }
    }
}

static bool looks_json(const struct rp_headers *h, const struct rp_body *b)
{
    char mt[RP_MAX_MEDIA_TYPE_BYTES];
    if (rp_media_type(h, mt, sizeof(mt)) && rp_media_is_json(mt)) {
        return true;
    }
    size_t i = rp__jscan_ws((const char *)b->data, b->len, 0);
    return i < b->len && (b->data[i] == '{' || b->data[i] == '[');
}

static rp_code births_body(struct births *bs, struct rp_response *resp, struct rp_error *err)
{
    struct rp_body *b = &resp->body;
    if (!body_text(b)) {
        return RP_OK;
    }
    const char *text = (const char *)b->data;
    bs->m.n = 0;
    if (looks_json(&resp->headers, b)) {
        struct json_scan js = {bs, text, b->len};
        rp_ignore(rp__var_json_walk(text, b->len, on_json_leaf, &js)); /* a cut body: what fits */
    }
    scan_jwts(bs, text, b->len, "body");
    char *v = NULL;
    size_t vlen = 0;
    rp_code rc = apply_matches(&bs->m, text, b->len, RP_MAX_BODY_RECORDED, &v, &vlen, err);
    if (!rc && v) {
        rc = set_body(NULL, b, v, vlen, err);
    }
    return rc;
}

/* The first header named name in h is h->v[i]. */
static bool first_of_name(const struct rp_headers *h, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (h->v[j].name_len == h->v[i].name_len &&
            rp__ascii_ieq(h->v[j].name, h->v[i].name, h->v[i].name_len)) {
            return false;
        }
    }
    return true;
}

static rp_code births_headers(struct births *bs, struct rp_headers *h, struct rp_error *err)
{
    rp_code rc = RP_OK;
    for (size_t i = 0; i < h->n && !rc; i++) {
        struct rp_header *e = &h->v[i];
        bs->m.n = 0;
        char place[RP_MAX_VAR_PLACE + 32];
        if (rp_strieq(e->name, e->name_len, "set-cookie")) {
            size_t pos = 0;
            struct rp__pair pr;
            if (rp__cookie_next(e->value, e->value_len, &pos, &pr) &&
                pr.value_off > pr.name_off + pr.name_len && pr.name_len > 0 &&
                pr.name_len < RP_MAX_VAR_PLACE - 8) {
                const char *v = e->value + pr.value_off;
                bool jwt = rp_var_is_jwt(v, pr.value_len);
                if (credential_shaped(v, pr.value_len) &&
                    (jwt || cookie_is_credential(e->value + pr.name_off, pr.name_len))) {
                    snprintf(place, sizeof(place), "cookie %.*s", (int)pr.name_len,
                             e->value + pr.name_off);
                    born(bs, "cookie_", e->value + pr.name_off, pr.name_len, place, v, pr.value_len,
                         pr.value_off, pr.value_len);
                }
            }
        } else if (first_of_name(h, i) && e->name_len < RP_MAX_VAR_PLACE - 16) {
            if (rp_var_name_is_credential(e->name, e->name_len) &&
                credential_shaped(e->value, e->value_len)) {
                snprintf(place, sizeof(place), "header %s", e->name);
                born(bs, "", e->name, e->name_len, place, e->value, e->value_len, 0, e->value_len);
            } else {
                snprintf(place, sizeof(place), "header %s", e->name);
                scan_jwts(bs, e->value, e->value_len, place);
            }
        }
        char *v = NULL;
        size_t vlen = 0;
        rc = apply_matches(&bs->m, e->value, e->value_len, RP_MAX_HEADER_BYTES, &v, &vlen, err);
        if (!rc && v) {
            free(e->value);
            e->value = v;
            e->value_len = vlen;
        }
    }
    return rc;
}

rp_code rp_varrec_exchange(struct rp_varrec *vr, struct rp_exchange *ex, struct rp_error *err)
{
    rp_code rc = RP_OK;
    /* Uses first: the values earlier responses gave, in this request and this response. */
    if (vr->n) {
        if (ex->req.url) {
            char *url = NULL;
            rc = replace_known(vr, ex->req.url, strlen(ex->req.url), RP_MAX_URL_BYTES, &url, NULL,
                               err);
            if (!rc && url) {
                free(ex->req.url);
                ex->req.url = url;
            }
        }
        if (!rc) {
            rc = replace_in_message(vr, &ex->req.headers, &ex->req.body, true, err);
        }
        if (!rc && ex->has_response) {
            rc = replace_in_message(vr, &ex->resp.headers, &ex->resp.body, false, err);
        }
    }
    if (rc || !ex->has_response) {
        return rc;
    }
    /* Then births: what this response gives. */
    struct births bs = {vr, ex, {0}};
    rc = births_body(&bs, &ex->resp, err);
    size_t in_body = ex->n_vars;
    if (!rc) {
        rc = births_headers(&bs, &ex->resp.headers, err);
    }
    free(bs.m.v);
    /* A value a header gave may stand in the body too (scanned first): once more for it. */
    if (!rc && ex->n_vars > in_body) {
        rc = replace_in_message(vr, &ex->resp.headers, &ex->resp.body, false, err);
    }
    return rc;
}
