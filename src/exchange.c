/* SPDX-License-Identifier: MIT */
/* The exchange data model: ordered headers with duplicates, bodies, deep copies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/exchange.h>
#include <reprise/limits.h>

#include "exchange_int.h"
#include "text_int.h"

bool rp_strieq(const char *a, size_t alen, const char *b)
{
    /* Most comparisons are of header names that differ from the first letter: those end here,
     * before b is measured. */
    if (alen == 0 || b[0] == '\0') {
        return alen == 0 && b[0] == '\0';
    }
    if (rp__ascii_lower(a[0]) != rp__ascii_lower(b[0])) {
        return false;
    }
    return strlen(b) == alen && rp__ascii_ieq(a, b, alen);
}

/* ----- headers ---------------------------------------------------------------------------- */

void rp_headers_init(struct rp_headers *h)
{
    h->v = NULL;
    h->n = 0;
    h->cap = 0;
}

void rp_headers_cleanup(struct rp_headers *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].name);
        free(h->v[i].value);
    }
    free(h->v);
    rp_headers_init(h);
}

/* Room for one more header; RP_ETOOBIG at the cap. */
static rp_code headers_grow(struct rp_headers *h, struct rp_error *err)
{
    if (h->n >= RP_MAX_HEADER_COUNT) {
        return rp_error_set(err, RP_ETOOBIG, "more than %u headers", RP_MAX_HEADER_COUNT);
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 8;
        h->v = rp_xreallocarray(h->v, cap, sizeof(*h->v));
        h->cap = cap;
    }
    return RP_OK;
}

rp_code rp_headers_add(struct rp_headers *h, const char *name, size_t name_len, const char *value,
                       size_t value_len, struct rp_error *err)
{
    rp_code rc = headers_grow(h, err);
    if (rc) {
        return rc;
    }
    struct rp_header *e = &h->v[h->n++];
    e->name = rp_xstrndup(name, name_len);
    e->name_len = name_len;
    e->value = rp_xstrndup(value, value_len);
    e->value_len = value_len;
    return RP_OK;
}

rp_code rp_headers_add_take(struct rp_headers *h, char *name, size_t name_len, char *value,
                            size_t value_len, struct rp_error *err)
{
    rp_code rc = headers_grow(h, err);
    if (rc) {
        free(name);
        free(value);
        return rc;
    }
    struct rp_header *e = &h->v[h->n++];
    e->name = name;
    e->name_len = name_len;
    e->value = value;
    e->value_len = value_len;
    return RP_OK;
}

const struct rp_header *rp_headers_get(const struct rp_headers *h, const char *name, size_t *start)
{
    size_t i = start ? *start : 0;
    for (; i < h->n; i++) {
        if (rp_strieq(h->v[i].name, h->v[i].name_len, name)) {
            if (start) {
                *start = i + 1;
            }
            return &h->v[i];
        }
    }
    if (start) {
        *start = h->n;
    }
    return NULL;
}

size_t rp_headers_remove(struct rp_headers *h, const char *name)
{
    size_t kept = 0;
    size_t removed = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (rp_strieq(h->v[i].name, h->v[i].name_len, name)) {
            free(h->v[i].name);
            free(h->v[i].value);
            removed++;
        } else {
            h->v[kept++] = h->v[i];
        }
    }
    h->n = kept;
    return removed;
}

rp_code rp_headers_set(struct rp_headers *h, const char *name, const char *value, size_t value_len,
                       struct rp_error *err)
{
    for (size_t i = 0; i < h->n; i++) {
        if (rp_strieq(h->v[i].name, h->v[i].name_len, name)) {
            free(h->v[i].value);
            h->v[i].value = rp_xstrndup(value, value_len);
            h->v[i].value_len = value_len;
            /* Drop later duplicates so the header has exactly one value. */
            for (size_t j = h->n; j-- > i + 1;) {
                if (rp_strieq(h->v[j].name, h->v[j].name_len, name)) {
                    free(h->v[j].name);
                    free(h->v[j].value);
                    memmove(&h->v[j], &h->v[j + 1], (h->n - j - 1) * sizeof(*h->v));
                    h->n--;
                }
            }
            return RP_OK;
        }
    }
    return rp_headers_add(h, name, strlen(name), value, value_len, err);
}

rp_code rp_headers_copy(struct rp_headers *dst, const struct rp_headers *src, struct rp_error *err)
{
    rp_headers_cleanup(dst);
    for (size_t i = 0; i < src->n; i++) {
        const struct rp_header *e = &src->v[i];
        rp_code rc = rp_headers_add(dst, e->name, e->name_len, e->value, e->value_len, err);
        if (rc) {
            return rc;
        }
    }
    return RP_OK;
}

/* ----- bodies ----------------------------------------------------------------------------- */

void rp_body_cleanup(struct rp_body *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->truncated = false;
    b->orig_len = 0;
}

void rp_body_set(struct rp_body *b, const void *p, size_t n)
{
    free(b->data);
    b->data = NULL;
    b->len = n;
    if (n) {
        b->data = (unsigned char *)rp_xstrndup(p, n);
    }
}

void rp_body_take(struct rp_body *b, unsigned char *data, size_t len)
{
    free(b->data);
    b->data = len ? data : NULL;
    b->len = len;
    if (!len) {
        free(data);
    }
}

static void body_copy(struct rp_body *dst, const struct rp_body *src)
{
    rp_body_set(dst, src->data, src->len);
    dst->truncated = src->truncated;
    dst->orig_len = src->orig_len;
}

/* ----- exchanges -------------------------------------------------------------------------- */

void rp_request_cleanup(struct rp_request *req)
{
    free(req->method);
    free(req->url);
    free(req->version);
    rp_headers_cleanup(&req->headers);
    rp_body_cleanup(&req->body);
    req->method = req->url = req->version = NULL;
}

void rp_response_cleanup(struct rp_response *resp)
{
    free(resp->reason);
    free(resp->version);
    rp_headers_cleanup(&resp->headers);
    rp_body_cleanup(&resp->body);
    resp->reason = resp->version = NULL;
    resp->status = 0;
}

rp_code rp_request_copy(struct rp_request *dst, const struct rp_request *src, struct rp_error *err)
{
    rp_request_cleanup(dst);
    dst->method = rp_xstrdup(src->method);
    dst->url = rp_xstrdup(src->url);
    dst->version = rp_xstrdup(src->version);
    body_copy(&dst->body, &src->body);
    rp_code rc = rp_headers_copy(&dst->headers, &src->headers, err);
    if (rc) {
        rp_request_cleanup(dst);
    }
    return rc;
}

void rp_request_apply_edits(struct rp_request *req, struct rp_request_edits *e)
{
    struct rp_headers *h = &req->headers;
    if (e->url) {
        free(req->url);
        req->url = e->url;
        e->url = NULL;
    }
    for (size_t i = 0; e->vals && i < h->n; i++) {
        if (e->vals[i]) {
            free(h->v[i].value);
            h->v[i].value = e->vals[i];
            h->v[i].value_len = e->val_lens[i];
            e->vals[i] = NULL;
        }
    }
    if (e->body) {
        rp_body_take(&req->body, (unsigned char *)e->body, e->body_len);
        e->body = NULL;
        /* A recorded Content-Length would now be wrong; a truncated body is the replayer's
         * call, so it keeps what was recorded. */
        if (!req->body.truncated && rp_headers_get(h, "Content-Length", NULL)) {
            char num[32];
            int k = snprintf(num, sizeof(num), "%zu", e->body_len);
            if (k > 0 && (size_t)k < sizeof(num)) {
                rp_ignore(rp_headers_set(h, "Content-Length", num, (size_t)k, NULL));
            }
        }
    }
}

rp_code rp__request_transform(struct rp_request *req, rp__part_fn fn, void *ud,
                              struct rp_error *err)
{
    rp_code rc = RP_OK;
    struct rp_headers *h = &req->headers;
    struct rp_request_edits e = {0};
    if (req->url) {
        size_t len = 0;
        rc = fn(ud, RP__PART_URL, NULL, req->url, strlen(req->url), RP_MAX_URL_REWRITTEN, &e.url,
                &len, err);
        if (rc) {
            goto out;
        }
    }
    size_t total = 0;
    for (size_t i = 0; i < h->n; i++) {
        total += h->v[i].value_len;
    }
    for (size_t i = 0; i < h->n; i++) {
        const struct rp_header *hd = &h->v[i];
        size_t others = total - hd->value_len;
        size_t max = others < RP_MAX_HEADER_REWRITTEN ? RP_MAX_HEADER_REWRITTEN - others : 0;
        char *v = NULL;
        size_t vlen = 0;
        rc = fn(ud, RP__PART_HEADER, hd, hd->value, hd->value_len, max, &v, &vlen, err);
        if (rc) {
            goto out;
        }
        if (v) {
            if (!e.vals) {
                e.vals = rp_xcalloc(h->n, sizeof(*e.vals));
                e.val_lens = rp_xcalloc(h->n, sizeof(*e.val_lens));
            }
            e.vals[i] = v;
            e.val_lens[i] = vlen;
            total = others + vlen;
        }
    }
    const struct rp_body *b = &req->body;
    if (b->len > 0 && rp__utf8_text(b->data, b->len)) {
        rc = fn(ud, RP__PART_BODY, NULL, (const char *)b->data, b->len, RP_MAX_BODY_REWRITTEN,
                &e.body, &e.body_len, err);
        if (rc) {
            goto out;
        }
    }
    rp_request_apply_edits(req, &e);
out:
    free(e.body);
    for (size_t i = 0; e.vals && i < h->n; i++) {
        free(e.vals[i]);
    }
    free(e.vals);
    free(e.val_lens);
    free(e.url);
    return rc;
}

rp_code rp__part_finish(struct rp_buf *b, bool changed, const char *s, size_t n, size_t done,
                        char **out, size_t *out_len, struct rp_error *err)
{
    rp_code rc = RP_OK;
    if (!changed) {
        *out = NULL;
    } else {
        rc = rp_buf_add(b, s + done, n - done, err);
        if (!rc) {
            *out = rp_buf_take(b, out_len);
        }
    }
    rp_buf_cleanup(b);
    return rc;
}

enum rp__body_form rp__body_form(const struct rp_headers *h)
{
    char mt[256];
    if (!rp_media_type(h, mt, sizeof(mt))) {
        return RP__BODY_TEXT;
    }
    if (rp_media_is_json(mt)) {
        return RP__BODY_JSON;
    }
    if (strcmp(mt, "application/x-www-form-urlencoded") == 0) {
        return RP__BODY_FORM;
    }
    return RP__BODY_TEXT;
}

void rp_exchange_init(struct rp_exchange *ex)
{
    memset(ex, 0, sizeof(*ex));
    rp_headers_init(&ex->req.headers);
    rp_headers_init(&ex->resp.headers);
}

void rp_exchange_cleanup(struct rp_exchange *ex)
{
    rp_request_cleanup(&ex->req);
    rp_response_cleanup(&ex->resp);
    free(ex->extra);
    for (size_t i = 0; i < ex->n_vars; i++) {
        free(ex->vars[i].name);
        free(ex->vars[i].from);
    }
    free(ex->vars);
    rp_exchange_init(ex);
}

void rp_exchange_add_var(struct rp_exchange *ex, const char *name, const char *from)
{
    ex->vars = rp_xreallocarray(ex->vars, ex->n_vars + 1, sizeof(*ex->vars));
    ex->vars[ex->n_vars].name = rp_xstrdup(name);
    ex->vars[ex->n_vars].from = rp_xstrdup(from);
    ex->n_vars++;
}

rp_code rp_exchange_copy(struct rp_exchange *dst, const struct rp_exchange *src,
                         struct rp_error *err)
{
    rp_exchange_cleanup(dst);
    dst->seq = src->seq;
    dst->start_us = src->start_us;
    dst->duration_us = src->duration_us;
    dst->conn_id = src->conn_id;
    dst->has_response = src->has_response;
    dst->incomplete = src->incomplete;
    dst->extra = rp_xstrdup(src->extra);
    for (size_t i = 0; i < src->n_vars; i++) {
        rp_exchange_add_var(dst, src->vars[i].name, src->vars[i].from);
    }
    dst->req.method = rp_xstrdup(src->req.method);
    dst->req.url = rp_xstrdup(src->req.url);
    dst->req.version = rp_xstrdup(src->req.version);
    body_copy(&dst->req.body, &src->req.body);
    dst->resp.status = src->resp.status;
    dst->resp.reason = rp_xstrdup(src->resp.reason);
    dst->resp.version = rp_xstrdup(src->resp.version);
    body_copy(&dst->resp.body, &src->resp.body);
    rp_code rc = rp_headers_copy(&dst->req.headers, &src->req.headers, err);
    if (!rc) {
        rc = rp_headers_copy(&dst->resp.headers, &src->resp.headers, err);
    }
    if (rc) {
        rp_exchange_cleanup(dst);
    }
    return rc;
}

bool rp_media_type(const struct rp_headers *h, char *out, size_t outsz)
{
    const struct rp_header *ct = rp_headers_get(h, "Content-Type", NULL);
    if (!ct || outsz == 0) {
        return false;
    }
    const char *v = ct->value;
    size_t n = ct->value_len;
    size_t i = 0;
    while (i < n && (v[i] == ' ' || v[i] == '\t')) {
        i++;
    }
    size_t j = i;
    while (j < n && v[j] != ';' && v[j] != ' ' && v[j] != '\t') {
        j++;
    }
    if (j == i || j - i >= outsz) {
        return false;
    }
    for (size_t k = i; k < j; k++) {
        char c = v[k];
        out[k - i] = rp__ascii_lower(c);
    }
    out[j - i] = '\0';
    return true;
}

bool rp_media_is_json(const char *mt)
{
    if (!mt) {
        return false;
    }
    size_t n = strlen(mt);
    return strcmp(mt, "application/json") == 0 || strcmp(mt, "text/json") == 0 ||
           (n > 5 && strcmp(mt + n - 5, "+json") == 0);
}
