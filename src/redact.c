/* SPDX-License-Identifier: MIT */
/*
 * Secrets at replay: finding the {{secret:NAME}} placeholders a recording holds and filling
 * them from the environment, each value written the way its place needs (percent-encoded in
 * the URL, form-encoded in a form body, JSON-escaped inside a JSON string, raw elsewhere).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/limits.h>
#include <reprise/redact.h>

#include "exchange_int.h"
#include "jscan_int.h"
#include "text_int.h"
#include "url_int.h"

#define ENV_PREFIX "REPRISE_SECRET_"

/* The two kinds of placeholder: {{secret:NAME}} (the environment) and {{var:NAME}} (a
 * record-time variable, from a live response). Both are found and filled the same way. */
struct ph_kind {
    const char *open;
    size_t open_len;
    bool secret;
};
static const struct ph_kind SECRET = {"{{secret:", sizeof("{{secret:") - 1, true};
static const struct ph_kind VAR = {"{{var:", sizeof("{{var:") - 1, false};

/* ----- names ------------------------------------------------------------------------------ */

void rp_secret_env_name(const char *name, char *out, size_t outsz)
{
    if (outsz == 0) {
        return;
    }
    size_t o = 0;
    for (const char *p = ENV_PREFIX; *p && o + 1 < outsz; p++) {
        out[o++] = *p;
    }
    for (const char *p = name; *p && o + 1 < outsz; p++) {
        char c = *p;
        if (c >= 'a' && c <= 'z') {
            c = (char)(c - 32);
        } else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
            c = '_';
        }
        out[o++] = c;
    }
    out[o] = '\0';
}

const char *rp_secret_from_env(void *ud, const char *name)
{
    (void)ud;
    /* A longer name could only be cut, and a cut name would read another variable. */
    if (strlen(name) > RP_MAX_SECRET_NAME) {
        return NULL;
    }
    char var[sizeof(ENV_PREFIX) + RP_MAX_SECRET_NAME];
    rp_secret_env_name(name, var, sizeof(var));
    return getenv(var);
}

/* ----- placeholders ----------------------------------------------------------------------- */

struct placeholder {
    size_t start; /* offset of the first '{' */
    size_t len;   /* bytes through the closing "}}" */
    char name[RP_MAX_SECRET_NAME + 1];
};

static bool is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/*
 * Finds the first placeholder at or after s[from]. Text that opens like one but does not go
 * on as [A-Za-z0-9_.-]{1,RP_MAX_SECRET_NAME} and "}}" is not a placeholder and is skipped.
 */
static bool next_placeholder(const struct ph_kind *kind, const char *s, size_t n, size_t from,
                             struct placeholder *ph)
{
    size_t olen = kind->open_len;
    size_t i = from;
    while (i < n) {
        const char *p = memchr(s + i, '{', n - i);
        if (!p) {
            return false;
        }
        i = (size_t)(p - s);
        if (n - i >= olen + 3 && memcmp(s + i, kind->open, olen) == 0) {
            size_t j = i + olen;
            size_t k = j;
            while (k < n && k - j <= RP_MAX_SECRET_NAME && is_name_char((unsigned char)s[k])) {
                k++;
            }
            size_t len = k - j;
            if (len >= 1 && len <= RP_MAX_SECRET_NAME && n - k >= 2 && s[k] == '}' &&
                s[k + 1] == '}') {
                ph->start = i;
                ph->len = k + 2 - i;
                memcpy(ph->name, s + j, len);
                ph->name[len] = '\0';
                return true;
            }
        }
        i++;
    }
    return false;
}

/* ----- rp_secrets_each -------------------------------------------------------------------- */

/* A set of names, open addressing, so that a body with many placeholders stays linear. */
struct name_set {
    char **v;
    size_t cap; /* a power of two, or 0 */
    size_t n;
};

static size_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    }
    return (size_t)h;
}

/* Adds name (borrowed) when absent; returns true when it was added. */
static bool name_set_add(struct name_set *set, const char *name)
{
    if (set->n + 1 > set->cap / 2) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        char **v = rp_xcalloc(cap, sizeof(*v));
        for (size_t i = 0; i < set->cap; i++) {
            if (set->v[i]) {
                size_t k = name_hash(set->v[i]) & (cap - 1);
                while (v[k]) {
                    k = (k + 1) & (cap - 1);
                }
                v[k] = set->v[i];
            }
        }
        free(set->v);
        set->v = v;
        set->cap = cap;
    }
    size_t k = name_hash(name) & (set->cap - 1);
    while (set->v[k]) {
        if (strcmp(set->v[k], name) == 0) {
            return false;
        }
        k = (k + 1) & (set->cap - 1);
    }
    set->v[k] = rp_xstrdup(name);
    set->n++;
    return true;
}

static void name_set_cleanup(struct name_set *set)
{
    for (size_t i = 0; i < set->cap; i++) {
        free(set->v[i]);
    }
    free(set->v);
}

static int each_in(const struct ph_kind *k, const char *s, size_t n, struct name_set *seen,
                   rp_secret_visit_fn fn, void *ud)
{
    struct placeholder ph;
    size_t i = 0;
    while (next_placeholder(k, s, n, i, &ph)) {
        if (name_set_add(seen, ph.name)) {
            int r = fn(ud, ph.name);
            if (r) {
                return r;
            }
        }
        i = ph.start + ph.len;
    }
    return 0;
}

static bool body_is_text(const struct rp_body *b)
{
    return b->len > 0 && rp__utf8_text(b->data, b->len);
}

static int each(const struct ph_kind *k, const struct rp_request *req, rp_secret_visit_fn fn,
                void *ud)
{
    struct name_set seen = {0};
    int r = 0;
    if (req->url) {
        r = each_in(k, req->url, strlen(req->url), &seen, fn, ud);
    }
    for (size_t i = 0; !r && i < req->headers.n; i++) {
        const struct rp_header *h = &req->headers.v[i];
        r = each_in(k, h->value, h->value_len, &seen, fn, ud);
    }
    if (!r && body_is_text(&req->body)) {
        r = each_in(k, (const char *)req->body.data, req->body.len, &seen, fn, ud);
    }
    name_set_cleanup(&seen);
    return r;
}

int rp_secrets_each(const struct rp_request *req, rp_secret_visit_fn fn, void *ud)
{
    return each(&SECRET, req, fn, ud);
}

int rp_vars_each(const struct rp_request *req, rp_secret_visit_fn fn, void *ud)
{
    return each(&VAR, req, fn, ud);
}

/* ----- rp_secrets_fill -------------------------------------------------------------------- */

/* How a value is written where its placeholder stands. */
enum place { PLACE_RAW, PLACE_HEADER, PLACE_URL, PLACE_FORM, PLACE_JSON };

/*
 * Whether s[at] stands inside a JSON string. *from is where the scan resumes: outside any
 * string, at or before at; calls come with at increasing. A placeholder holds no quote or
 * backslash, so the scan of the text around it stays valid.
 */
static bool json_in_string(const char *s, size_t n, size_t *from, size_t at)
{
    while (*from < at) {
        if (s[*from] != '"') {
            (*from)++;
            continue;
        }
        size_t close = rp__jscan_string_end(s, n, *from + 1);
        if (close >= at) {
            return true;
        }
        *from = close + 1;
    }
    return false;
}

/* Appends a C string as the inside of a JSON string. */
static rp_code add_json(struct rp_buf *b, const char *value, struct rp_error *err)
{
    return rp__json_escape(b, value, strlen(value), err);
}

/* What fill_part needs: the secrets and the request's headers. */
struct fill_ctx {
    const struct ph_kind *kind;
    rp_secret_fn lookup;
    void *ud;
    const struct rp_headers *headers;
};

/*
 * Fills the placeholders in the n bytes at s. On success *out is NULL when there were none,
 * else new memory of *out_len bytes (at most max). RP_ENOSECRET for an unset secret,
 * RP_EUSAGE for a line break in a header value, RP_ETOOBIG past max.
 */
static rp_code fill(const struct ph_kind *k, const char *s, size_t n, enum place place,
                    rp_secret_fn lookup, void *ud, size_t max, char **out, size_t *out_len,
                    struct rp_error *err)
{
    const char *what = k->secret ? "secret" : "variable";
    rp_code rc = RP_OK;
    struct rp_buf b;
    rp_buf_init(&b, max);
    size_t json_from = 0;
    struct placeholder ph;
    size_t done = 0;
    bool any = false;
    while (next_placeholder(k, s, n, done, &ph)) {
        any = true;
        const char *value = lookup(ud, ph.name);
        if (!value && !k->secret) {
            rc = rp_error_set(err, RP_EMISSING, "variable \"%s\" has no live value", ph.name);
            goto out;
        }
        if (!value) {
            char var[sizeof(ENV_PREFIX) + RP_MAX_SECRET_NAME];
            rp_secret_env_name(ph.name, var, sizeof(var));
            rc = rp_error_set(err, RP_ENOSECRET, "secret \"%s\" is not set: export %s", ph.name,
                              var);
            goto out;
        }
        rc = rp_buf_add(&b, s + done, ph.start - done, err);
        if (rc) {
            goto out;
        }
        if (place == PLACE_URL || place == PLACE_FORM) {
            rc = rp__pct_encode(value, strlen(value),
                                place == PLACE_FORM ? RP__PCT_FORM : RP__PCT_UNRESERVED, &b, err);
        } else if (place == PLACE_JSON) {
            rc = json_in_string(s, n, &json_from, ph.start) ? add_json(&b, value, err)
                                                            : rp_buf_adds(&b, value, err);
        } else if (place == PLACE_HEADER && strpbrk(value, "\r\n")) {
            rc = rp_error_set(err, RP_EUSAGE, "%s \"%s\" contains a line break", what, ph.name);
        } else {
            rc = rp_buf_adds(&b, value, err);
        }
        if (rc) {
            goto out;
        }
        done = ph.start + ph.len;
    }
    return rp__part_finish(&b, any, s, n, done, out, out_len, err);
out:
    rp_buf_cleanup(&b);
    return rc;
}

/* Fills the placeholders of one part of a request (an rp__part_fn). */
static rp_code fill_part(void *ud, enum rp__part part, const struct rp_header *h, const char *s,
                         size_t n, size_t max, char **out, size_t *out_len, struct rp_error *err)
{
    const struct fill_ctx *c = ud;
    enum place place = PLACE_HEADER;
    if (part == RP__PART_URL) {
        place = PLACE_URL;
    } else if (part == RP__PART_BODY) {
        enum rp__body_form f = rp__body_form(c->headers);
        place = f == RP__BODY_JSON ? PLACE_JSON : f == RP__BODY_FORM ? PLACE_FORM : PLACE_RAW;
    }
    rp_code rc = fill(c->kind, s, n, place, c->lookup, c->ud, max, out, out_len, err);
    if (rc == RP_ETOOBIG) {
        if (part == RP__PART_URL) {
            rp_error_prefix(err, "filling secrets in the URL");
        } else if (part == RP__PART_HEADER) {
            rp_error_prefix(err, "filling secrets in header %s", h->name);
        } else {
            rp_error_prefix(err, "filling secrets in the body");
        }
    }
    return rc;
}

rp_code rp_secrets_fill(struct rp_request *req, rp_secret_fn lookup, void *ud, struct rp_error *err)
{
    struct fill_ctx c = {&SECRET, lookup, ud, &req->headers};
    return rp__request_transform(req, fill_part, &c, err);
}

rp_code rp_vars_fill(struct rp_request *req, rp_secret_fn lookup, void *ud, struct rp_error *err)
{
    struct fill_ctx c = {&VAR, lookup, ud, &req->headers};
    return rp__request_transform(req, fill_part, &c, err);
}
