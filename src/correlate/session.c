/* SPDX-License-Identifier: MIT */
/*
 * The replaying half of correlation: a session takes each correlated value from the live
 * response at the place the recorded one came from, and puts it into the later request at the
 * place the recorded one stood, changing nothing else. Correlations are found by binary search
 * on their target (the correlator keeps them in to_seq order) and on their source (an index
 * the session builds once), so each request costs only its own correlations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct from_ref {
    uint64_t seq;
    size_t idx;
};

struct rp_corr_session {
    const struct rp_correlator *c;
    size_t n;
    char **live;              /* per correlation: the live value, or NULL when not seen */
    bool *answered;           /* per correlation: its source exchange got a live response */
    struct from_ref *by_from; /* correlations ordered by from_seq */
};

/* ----- locations ---------------------------------------------------------------------------- */

void rp_location_format(const struct rp_location *loc, char *out, size_t outsz)
{
    if (!out || outsz == 0) {
        return;
    }
    const char *key = loc->key ? loc->key : "";
    int k;
    switch (loc->kind) {
    case RP_LOC_BODY_JSON:
        k = snprintf(out, outsz, "body %s", key);
        break;
    case RP_LOC_HEADER:
        k = snprintf(out, outsz, "header %s", key);
        break;
    case RP_LOC_HEADER_SEGMENT:
        k = snprintf(out, outsz, "header %s segment %zu", key, loc->index);
        break;
    case RP_LOC_COOKIE:
        k = snprintf(out, outsz, "cookie %s", key);
        break;
    case RP_LOC_HTML_META:
        k = snprintf(out, outsz, "html meta %s", key);
        break;
    case RP_LOC_HTML_INPUT:
        k = snprintf(out, outsz, "html input %s", key);
        break;
    case RP_LOC_PATH_SEGMENT:
        k = snprintf(out, outsz, "path segment %zu", loc->index);
        break;
    case RP_LOC_QUERY:
        k = snprintf(out, outsz, "query %s", key);
        break;
    case RP_LOC_FORM:
        k = snprintf(out, outsz, "form %s", key);
        break;
    default:
        k = snprintf(out, outsz, "unknown");
        break;
    }
    /* Cutting to outsz is the contract; only a formatting failure leaves something to fix. */
    if (k < 0) {
        out[0] = '\0';
    }
}

/* ----- lifetime ----------------------------------------------------------------------------- */

static int cmp_from(const void *a, const void *b)
{
    const struct from_ref *x = a;
    const struct from_ref *y = b;
    if (x->seq != y->seq) {
        return x->seq < y->seq ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct rp_corr_session *rp_corr_session_new(const struct rp_correlator *c)
{
    struct rp_corr_session *s = rp_xcalloc(1, sizeof(*s));
    s->c = c;
    s->n = rp_correlator_count(c);
    s->live = rp_xcalloc(s->n, sizeof(*s->live));
    s->answered = rp_xcalloc(s->n, sizeof(*s->answered));
    s->by_from = rp_xcalloc(s->n, sizeof(*s->by_from));
    for (size_t i = 0; i < s->n; i++) {
        s->by_from[i].seq = rp_correlator_get(c, i)->from_seq;
        s->by_from[i].idx = i;
    }
    qsort(s->by_from, s->n, sizeof(*s->by_from), cmp_from);
    return s;
}

void rp_corr_session_free(struct rp_corr_session *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        free(s->live[i]);
    }
    free(s->live);
    free(s->answered);
    free(s->by_from);
    free(s);
}

/* ----- observing a live response ------------------------------------------------------------ */

struct html_find {
    enum rp_loc_kind kind;
    const char *name;
    char *out;
    size_t *out_len;
    bool found;
};

static bool html_found(void *ud, enum rp_loc_kind kind, const char *name, size_t name_len,
                       const char *value, size_t value_len)
{
    struct html_find *f = ud;
    if (kind != f->kind || strlen(f->name) != name_len || memcmp(f->name, name, name_len) != 0) {
        return true;
    }
    memcpy(f->out, value, value_len + 1);
    *f->out_len = value_len;
    f->found = true;
    return false;
}

static bool copy_out(const char *v, size_t n, char *out, size_t *out_len)
{
    if (n > RP_CORRELATE_MAX_VALUE || memchr(v, '\0', n)) {
        return false;
    }
    memcpy(out, v, n);
    out[n] = '\0';
    *out_len = n;
    return true;
}

/* Segment idx of the URL in n bytes at url, decoded. */
static bool url_segment(const char *url, size_t n, size_t idx, char *out, size_t *out_len)
{
    struct rp__url u;
    rp__url_split(url, n, &u);
    size_t pos = 0;
    size_t off = 0;
    size_t len = 0;
    for (size_t k = 0; rp__url_next_segment(url + u.path_off, u.path_len, &pos, &off, &len); k++) {
        if (k == idx) {
            return rp__pct_decode(url + u.path_off + off, len, false, out, RP__CORR_VALUE_BUF,
                                  out_len);
        }
    }
    return false;
}

/* The value at loc in a live response, into out (RP__CORR_VALUE_BUF bytes). */
static bool extract(const struct rp_response *r, const struct rp_location *loc, char *out,
                    size_t *out_len)
{
    const char *key = loc->key ? loc->key : "";
    const char *body = (const char *)r->body.data;
    switch (loc->kind) {
    case RP_LOC_BODY_JSON: {
        enum rp__json_type type;
        size_t start = 0;
        size_t end = 0;
        return body && rp__correlate_json_find(body, r->body.len, key, &type, &start, &end) &&
               rp__correlate_json_scalar(body, start, end, type, out, RP__CORR_VALUE_BUF, out_len);
    }
    case RP_LOC_HEADER: {
        const struct rp_header *h = rp_headers_get(&r->headers, key, NULL);
        return h && copy_out(h->value, h->value_len, out, out_len);
    }
    case RP_LOC_HEADER_SEGMENT: {
        const struct rp_header *h = rp_headers_get(&r->headers, key, NULL);
        return h && !memchr(h->value, '\0', h->value_len) &&
               url_segment(h->value, h->value_len, loc->index, out, out_len);
    }
    case RP_LOC_COOKIE: {
        /* The last Set-Cookie of a name is the one the browser keeps. */
        bool found = false;
        size_t at = 0;
        const struct rp_header *h;
        while ((h = rp_headers_get(&r->headers, "Set-Cookie", &at)) != NULL) {
            size_t pos = 0;
            struct rp__pair p;
            if (rp__cookie_next(h->value, h->value_len, &pos, &p) && p.name_len == strlen(key) &&
                memcmp(h->value + p.name_off, key, p.name_len) == 0 &&
                copy_out(h->value + p.value_off, p.value_len, out, out_len)) {
                found = true;
            }
        }
        return found;
    }
    case RP_LOC_HTML_META:
    case RP_LOC_HTML_INPUT: {
        struct html_find f = {loc->kind, key, out, out_len, false};
        if (body) {
            size_t n = r->body.len < RP_CORRELATE_MAX_SCAN ? r->body.len : RP_CORRELATE_MAX_SCAN;
            rp__correlate_html_scan(body, n, html_found, &f);
        }
        return f.found;
    }
    default:
        return false;
    }
}

void rp_corr_session_observe(struct rp_corr_session *s, uint64_t seq,
                             const struct rp_response *live)
{
    size_t lo = 0;
    size_t hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->by_from[mid].seq < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    char buf[RP__CORR_VALUE_BUF];
    for (size_t k = lo; k < s->n && s->by_from[k].seq == seq; k++) {
        size_t idx = s->by_from[k].idx;
        const struct rp_correlation *r = rp_correlator_get(s->c, idx);
        size_t len = 0;
        free(s->live[idx]);
        s->live[idx] = NULL;
        s->answered[idx] = live != NULL;
        /* An empty value is as good as none: it would only blank the target. */
        if (live && extract(live, &r->from, buf, &len) && len > 0) {
            s->live[idx] = rp_xstrndup(buf, len);
        }
    }
}

/* ----- applying to a request ---------------------------------------------------------------- */

/*
 * Replaces value from with to inside one percent-encoded URL or form component (raw bytes,
 * n long), appending the new component to out and setting *changed. When the component has
 * no escapes it is worked on as it stands, so its other bytes keep their exact spelling;
 * otherwise it is decoded, changed and encoded again.
 */
static rp_code replace_encoded(const char *raw, size_t n, const char *from, const char *to,
                               enum rp__pct_mode mode, struct rp_buf *out, bool *changed,
                               struct rp_error *err)
{
    bool plus = mode != RP__PCT_PATH;
    bool tokens = mode != RP__PCT_FORM && rp__correlate_is_long(from, strlen(from));
    size_t count = 0;
    size_t dl = 0;
    rp_code rc = RP_EINTERNAL;
    struct rp_buf enc;
    struct rp_buf tmp;
    char *dec = NULL;
    rp_buf_init(&enc, RP_MAX_URL_REWRITTEN);
    rp_buf_init(&tmp, RP_MAX_URL_REWRITTEN);
    if (!memchr(raw, '%', n) && !(plus && memchr(raw, '+', n))) {
        rc = rp__pct_encode(to, strlen(to), mode, &enc, err);
        if (!rc) {
            rc = rp__correlate_replace(raw, n, from, strlen(from), enc.data ? enc.data : "",
                                       enc.len, tokens, out, &count, err);
        }
        goto out;
    }
    dec = rp_xmalloc(n + 1);
    if (!rp__pct_decode(raw, n, plus, dec, n + 1, &dl)) {
        rc = rp_buf_add(out, raw, n, err);
        goto out;
    }
    rc = rp__correlate_replace(dec, dl, from, strlen(from), to, strlen(to), tokens, &tmp, &count,
                               err);
    if (rc) {
        goto out;
    }
    if (count == 0) {
        rc = rp_buf_add(out, raw, n, err);
    } else {
        rc = rp__pct_encode(tmp.data ? tmp.data : "", tmp.len, mode, out, err);
    }
out:
    if (!rc) {
        *changed = count > 0;
    }
    free(dec);
    rp_buf_cleanup(&tmp);
    rp_buf_cleanup(&enc);
    return rc;
}

/* Replaces [off, off + n) of *text (len bytes) with piece, within max. */
static rp_code splice(char **text, size_t len, size_t off, size_t n, const char *piece,
                      size_t piece_len, size_t max, size_t *out_len, struct rp_error *err)
{
    struct rp_buf b;
    rp_buf_init(&b, max);
    rp_code rc = rp_buf_add(&b, *text, off, err);
    if (!rc) {
        rc = rp_buf_add(&b, piece, piece_len, err);
    }
    if (!rc) {
        rc = rp_buf_add(&b, *text + off + n, len - off - n, err);
    }
    if (!rc) {
        free(*text);
        *text = rp_buf_take(&b, out_len);
    }
    rp_buf_cleanup(&b);
    return rc;
}

static rp_code put_path(struct rp_request *req, const struct rp_correlation *r, const char *live,
                        struct rp_error *err)
{
    size_t n = strlen(req->url);
    struct rp__url u;
    rp__url_split(req->url, n, &u);
    size_t pos = 0;
    size_t off = 0;
    size_t len = 0;
    bool found = false;
    for (size_t k = 0;
         !found && rp__url_next_segment(req->url + u.path_off, u.path_len, &pos, &off, &len); k++) {
        found = k == r->to.index;
    }
    if (!found) {
        return RP_OK; /* the path has fewer segments now */
    }
    struct rp_buf seg;
    rp_buf_init(&seg, RP_MAX_URL_REWRITTEN);
    bool changed = false;
    size_t at = u.path_off + off;
    rp_code rc =
        replace_encoded(req->url + at, len, r->value, live, RP__PCT_PATH, &seg, &changed, err);
    if (!rc && changed) {
        rc = splice(&req->url, n, at, len, seg.data ? seg.data : "", seg.len, RP_MAX_URL_REWRITTEN,
                    NULL, err);
    }
    rp_buf_cleanup(&seg);
    return rc;
}

/*
 * Rewrites, in the n bytes of params at s, the value of every parameter named key that holds
 * the recorded value. *out gets the new text (new memory) when something changed, else NULL.
 */
static rp_code put_params(const char *s, size_t n, const struct rp_correlation *r, const char *live,
                          enum rp__pct_mode mode, size_t max, char **out, size_t *out_len,
                          struct rp_error *err)
{
    struct rp_buf b;
    rp_buf_init(&b, max);
    rp_code rc = RP_OK;
    size_t done = 0;
    size_t pos = 0;
    bool any = false;
    struct rp__pair p;
    char name[RP_CORRELATE_MAX_KEY + 1];
    while (rp__url_next_param(s, n, &pos, &p)) {
        size_t nl = 0;
        if (!rp__pct_decode(s + p.name_off, p.name_len, true, name, sizeof(name), &nl) ||
            strcmp(name, r->to.key ? r->to.key : "") != 0) {
            continue;
        }
        struct rp_buf v;
        rp_buf_init(&v, max);
        bool changed = false;
        rc = replace_encoded(s + p.value_off, p.value_len, r->value, live, mode, &v, &changed, err);
        if (!rc && changed) {
            rc = rp_buf_add(&b, s + done, p.value_off - done, err);
            if (!rc) {
                rc = rp_buf_add(&b, v.data ? v.data : "", v.len, err);
            }
            done = p.value_off + p.value_len;
            any = true;
        }
        rp_buf_cleanup(&v);
        if (rc) {
            goto out;
        }
    }
    if (any) {
        rc = rp_buf_add(&b, s + done, n - done, err);
        if (!rc) {
            *out = rp_buf_take(&b, out_len);
        }
    } else {
        *out = NULL;
    }
out:
    rp_buf_cleanup(&b);
    return rc;
}

static rp_code put_query(struct rp_request *req, const struct rp_correlation *r, const char *live,
                         struct rp_error *err)
{
    size_t n = strlen(req->url);
    struct rp__url u;
    rp__url_split(req->url, n, &u);
    if (!u.has_query) {
        return RP_OK;
    }
    char *q = NULL;
    size_t ql = 0;
    rp_code rc = put_params(req->url + u.query_off, u.query_len, r, live, RP__PCT_QUERY,
                            RP_MAX_URL_REWRITTEN, &q, &ql, err);
    if (!rc && q) {
        rc = splice(&req->url, n, u.query_off, u.query_len, q, ql, RP_MAX_URL_REWRITTEN, NULL, err);
    }
    free(q);
    return rc;
}

static rp_code put_form(struct rp_request *req, const struct rp_correlation *r, const char *live,
                        struct rp_error *err)
{
    struct rp_body *b = &req->body;
    if (b->len == 0) {
        return RP_OK;
    }
    char *f = NULL;
    size_t fl = 0;
    rp_code rc = put_params((const char *)b->data, b->len, r, live, RP__PCT_FORM,
                            RP_MAX_BODY_REWRITTEN, &f, &fl, err);
    if (!rc && f) {
        rp_body_take(b, (unsigned char *)f, fl);
    } else {
        free(f);
    }
    return rc;
}

static rp_code put_header(struct rp_request *req, const struct rp_correlation *r, const char *live,
                          struct rp_error *err)
{
    const char *key = r->to.key ? r->to.key : "";
    bool tokens = rp__correlate_is_long(r->value, strlen(r->value));
    rp_code rc = RP_OK;
    struct rp_buf b;
    rp_buf_init(&b, RP_MAX_HEADER_REWRITTEN);
    for (size_t i = 0; !rc && i < req->headers.n; i++) {
        struct rp_header *h = &req->headers.v[i];
        if (!rp_strieq(h->name, h->name_len, key)) {
            continue;
        }
        size_t count = 0;
        rp_buf_reset(&b);
        rc = rp__correlate_replace(h->value, h->value_len, r->value, strlen(r->value), live,
                                   strlen(live), tokens, &b, &count, err);
        if (!rc && count > 0) {
            free(h->value);
            h->value = rp_buf_take(&b, &h->value_len);
        }
    }
    rp_buf_cleanup(&b);
    return rc;
}

static rp_code put_cookie(struct rp_request *req, const struct rp_correlation *r, const char *live,
                          struct rp_error *err)
{
    const char *key = r->to.key ? r->to.key : "";
    size_t vlen = strlen(r->value);
    for (size_t i = 0; i < req->headers.n; i++) {
        struct rp_header *h = &req->headers.v[i];
        if (!rp_strieq(h->name, h->name_len, "Cookie")) {
            continue;
        }
        size_t pos = 0;
        struct rp__pair p;
        while (rp__cookie_next(h->value, h->value_len, &pos, &p)) {
            if (p.name_len != strlen(key) || memcmp(h->value + p.name_off, key, p.name_len) != 0 ||
                p.value_len != vlen || memcmp(h->value + p.value_off, r->value, vlen) != 0) {
                continue;
            }
            size_t old = h->value_len;
            rp_code rc = splice(&h->value, old, p.value_off, p.value_len, live, strlen(live),
                                RP_MAX_HEADER_REWRITTEN, &h->value_len, err);
            if (rc) {
                return rc;
            }
            /* Carry on after the new value: the text behind it moved by the change. */
            pos = pos - vlen + strlen(live);
        }
    }
    return RP_OK;
}

static rp_code put_json(struct rp_request *req, const struct rp_correlation *r, const char *live,
                        struct rp_error *err)
{
    struct rp_body *b = &req->body;
    const char *text = (const char *)b->data;
    enum rp__json_type type;
    size_t start = 0;
    size_t end = 0;
    char cur[RP__CORR_VALUE_BUF];
    size_t cl = 0;
    if (!text ||
        !rp__correlate_json_find(text, b->len, r->to.key ? r->to.key : "", &type, &start, &end) ||
        !rp__correlate_json_scalar(text, start, end, type, cur, sizeof(cur), &cl) ||
        strcmp(cur, r->value) != 0) {
        return RP_OK;
    }
    struct rp_buf nb;
    rp_buf_init(&nb, RP_MAX_BODY_REWRITTEN);
    size_t ll = strlen(live);
    /* A number stays a number when the live value is one; anything else becomes a string. */
    rp_code rc = rp_buf_add(&nb, text, start, err);
    if (!rc) {
        if (type == RP__JSON_NUMBER && rp__correlate_json_is_number(live, ll)) {
            rc = rp_buf_add(&nb, live, ll, err);
        } else {
            rc = rp__correlate_json_quote(live, ll, &nb, err);
        }
    }
    if (!rc) {
        rc = rp_buf_add(&nb, text + end, b->len - end, err);
    }
    if (!rc) {
        size_t len = 0;
        char *data = rp_buf_take(&nb, &len);
        rp_body_take(b, (unsigned char *)data, len);
    }
    rp_buf_cleanup(&nb);
    return rc;
}

static rp_code put(struct rp_request *req, const struct rp_correlation *r, const char *live,
                   struct rp_error *err)
{
    switch (r->to.kind) {
    case RP_LOC_PATH_SEGMENT:
        return req->url ? put_path(req, r, live, err) : RP_OK;
    case RP_LOC_QUERY:
        return req->url ? put_query(req, r, live, err) : RP_OK;
    case RP_LOC_HEADER:
        return put_header(req, r, live, err);
    case RP_LOC_COOKIE:
        return put_cookie(req, r, live, err);
    case RP_LOC_FORM:
        return put_form(req, r, live, err);
    case RP_LOC_BODY_JSON:
        return put_json(req, r, live, err);
    default:
        return RP_OK;
    }
}

rp_code rp_corr_session_apply(struct rp_corr_session *s, uint64_t seq, struct rp_request *req,
                              size_t *out_missing, struct rp_error *err)
{
    size_t lo = 0;
    size_t hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rp_correlator_get(s->c, mid)->to_seq < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    size_t missing = 0;
    for (size_t i = lo; i < s->n; i++) {
        const struct rp_correlation *r = rp_correlator_get(s->c, i);
        if (r->to_seq != seq) {
            break;
        }
        const char *live = s->live[i];
        if (!live) {
            missing++;
            continue;
        }
        if (strcmp(live, r->value) == 0) {
            continue;
        }
        rp_code rc = put(req, r, live, err);
        if (rc) {
            rp_error_prefix(err, "exchange %llu", (unsigned long long)seq);
            return rc;
        }
    }
    if (out_missing) {
        *out_missing = missing;
    }
    return RP_OK;
}

/* ----- what is missing ------------------------------------------------------------------------ */

const struct rp_correlation *rp_corr_session_missing(const struct rp_corr_session *s, uint64_t seq,
                                                     size_t i, bool *out_answered)
{
    size_t lo = 0;
    size_t hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rp_correlator_get(s->c, mid)->to_seq < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (size_t k = lo; k < s->n; k++) {
        const struct rp_correlation *r = rp_correlator_get(s->c, k);
        if (r->to_seq != seq) {
            break;
        }
        if (s->live[k]) {
            continue;
        }
        if (i-- == 0) {
            if (out_answered) {
                *out_answered = s->answered[k];
            }
            return r;
        }
    }
    return NULL;
}
