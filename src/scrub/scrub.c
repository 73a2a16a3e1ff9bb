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

#include "../text_int.h"
#include "../url_int.h"
#include "internal.h"

#define PH_OPEN  "{{secret:"
#define PH_CLOSE "}}"

#define KEY_MAX RP__SCRUB_KEY_MAX

/* Distinct values named alike get distinct names ("password", "password_2"); past this many
 * names, a value takes its plain name. */
#define MAX_NAMED 4096u

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

/* True when the n bytes at v are one placeholder, {{secret:NAME}} or {{var:NAME}}: left as it
 * is (scrubbing is idempotent, and a variable is never made a secret). */
bool rp__scrub_is_placeholder(const char *v, size_t n)
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
static rp_code edits_apply(struct rp_scrub *sc, const struct rp__scrub_edits *ed, const char *s,
                           size_t n, size_t max, char **out, size_t *out_len, struct rp_error *err)
{
    rp_code rc = RP_OK;
    struct rp_buf b;
    rp_buf_init(&b, max);
    bool changed = false;
    size_t done = 0;
    for (size_t i = 0; i < ed->n && !rc; i++) {
        const struct rp__scrub_edit *e = &ed->v[i];
        rc = rp_buf_add(&b, s + done, e->start - done, err);
        if (!rc && e->literal) {
            changed = changed || e->len != strlen(e->literal) ||
                      memcmp(s + e->start, e->literal, e->len) != 0;
            rc = rp_buf_adds(&b, e->literal, err);
        } else if (!rc && rp__scrub_is_placeholder(s + e->start, e->len)) {
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

/* ----- the exchange ----------------------------------------------------------------------- */

/* Scrubs the headers of one message. request: the request's rules, else the response's. */
static rp_code scrub_headers(struct rp_scrub *s, struct rp_headers *h, bool request,
                             struct rp_error *err)
{
    rp_code rc = RP_OK;
    struct rp__scrub_edits ed = {0};
    struct rp__scrub_scan c = {.s = s, .ed = &ed, .request = request, .where = ""};
    size_t total = 0;
    for (size_t i = 0; i < h->n; i++) {
        total += h->v[i].name_len + h->v[i].value_len;
    }
    for (size_t i = 0; i < h->n && !rc; i++) {
        struct rp_header *e = &h->v[i];
        ed.n = 0;
        rp__scrub_scan_header(&c, e);
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

static rp_code scrub_url(struct rp_scrub *s, struct rp_request *req, struct rp_error *err)
{
    if (!req->url) {
        return RP_OK;
    }
    size_t n = strlen(req->url);
    struct rp__scrub_edits ed = {0};
    struct rp__scrub_scan c = {.s = s, .ed = &ed, .request = true, .where = "query"};
    rp__scrub_scan_query(&c, req->url, n);
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

/* Scrubs one message's body: a request's (request) or a response's. */
static rp_code scrub_body(struct rp_scrub *s, struct rp_headers *headers, struct rp_body *b,
                          bool request, struct rp_error *err)
{
    const struct rp_header *ct = rp_headers_get(headers, "Content-Type", NULL);
    char mt[RP_MAX_MEDIA_TYPE_BYTES];
    if (b->len == 0) {
        return RP_OK;
    }
    if (!ct || !rp_media_type(headers, mt, sizeof(mt))) {
        mt[0] = '\0';
    }
    const char *p = (const char *)b->data;
    struct rp__scrub_edits ed = {0};
    struct rp__scrub_scan c = {
        .s = s, .ed = &ed, .request = request, .where = request ? "request body" : "response body"};
    rp__scrub_scan_body(&c, ct, mt, p, b->len);
    rp_code rc = RP_OK;
    char *body = NULL;
    size_t len = 0;
    if (ed.n) {
        rc = edits_apply(s, &ed, p, b->len, RP_MAX_BODY_RECORDED, &body, &len, err);
        if (rc) {
            rp_error_set(err, rc, "scrubbing the %s body: it would exceed %u bytes",
                         request ? "request" : "response", RP_MAX_BODY_RECORDED);
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
    if (!truncated && rp_headers_get(headers, "Content-Length", NULL)) {
        char num[32];
        int k = snprintf(num, sizeof(num), "%zu", len);
        if (k > 0 && (size_t)k < sizeof(num)) {
            rc = rp_headers_set(headers, "Content-Length", num, (size_t)k, err);
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
        rc = scrub_body(s, &ex->req.headers, &ex->req.body, true, err);
    }
    if (!rc && ex->has_response) {
        rc = scrub_headers(s, &ex->resp.headers, false, err);
    }
    if (!rc && ex->has_response) {
        rc = scrub_body(s, &ex->resp.headers, &ex->resp.body, false, err);
    }
    return rc;
}
