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

#include "../jscan_int.h"
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
    rp_corr_rewrite_fn rewrite;
    void *rewrite_ud;
};

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

void rp_corr_session_rewrite(struct rp_corr_session *s, rp_corr_rewrite_fn fn, void *ud)
{
    s->rewrite = fn;
    s->rewrite_ud = ud;
}

/* The value at a page link's place, its pattern as recorded or as the session rewrites it. */
static bool extract(const struct rp_corr_session *s, const struct rp_response *live,
                    const struct rp_location *loc, char *buf, size_t *len)
{
    if (rp__correlate_extract(live, loc, buf, len)) {
        return true;
    }
    if (!s->rewrite || loc->kind != RP_LOC_HTML_URL || !loc->key) {
        return false;
    }
    size_t n = 0;
    char *key = s->rewrite(s->rewrite_ud, loc->key, strlen(loc->key), &n);
    if (!key) {
        return false;
    }
    struct rp_location alt = *loc;
    alt.key = key;
    bool ok = rp__correlate_extract(live, &alt, buf, len);
    free(key);
    return ok;
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
        if (live && extract(s, live, &r->from, buf, &len) && len > 0) {
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

/* Replaces the content of the first field part named key that holds the recorded value. The
 * body stays valid: a live value holding the boundary is not put. */
static rp_code put_multipart(struct rp_request *req, const struct rp_correlation *r,
                             const char *live, struct rp_error *err)
{
    struct rp_body *b = &req->body;
    char bnd[80];
    size_t blen = 0;
    if (b->len == 0 || !rp__correlate_multipart_boundary(&req->headers, bnd, sizeof(bnd), &blen)) {
        return RP_OK;
    }
    size_t ll = strlen(live);
    for (size_t i = 0; i + blen <= ll; i++) {
        if (memcmp(live + i, bnd, blen) == 0) {
            return RP_OK;
        }
    }
    const char *text = (const char *)b->data;
    const char *key = r->to.key ? r->to.key : "";
    size_t kl = strlen(key);
    size_t vl = strlen(r->value);
    size_t pos = 0;
    struct rp__part p;
    while (rp__correlate_multipart_next(text, b->len, bnd, blen, &pos, &p)) {
        if (p.file || p.name_len != kl || memcmp(text + p.name_off, key, kl) != 0 ||
            p.value_len != vl || memcmp(text + p.value_off, r->value, vl) != 0) {
            continue;
        }
        char *data = rp_xmalloc(b->len + 1);
        memcpy(data, text, b->len);
        size_t len = 0;
        rp_code rc = splice(&data, b->len, p.value_off, p.value_len, live, ll,
                            RP_MAX_BODY_REWRITTEN, &len, err);
        if (rc) {
            free(data);
            return rc;
        }
        rp_body_take(b, (unsigned char *)data, len);
        return RP_OK;
    }
    return RP_OK;
}

/* Finds literal number nth of argument arg in a GraphQL document. */
struct gql_find {
    const char *arg;
    size_t arg_len;
    size_t nth;
    size_t seen;
    bool found;
    struct rp__gql_lit lit;
};

static bool gql_found(void *ud, const struct rp__gql_lit *lit)
{
    struct gql_find *f = ud;
    if (lit->arg_len != f->arg_len || memcmp(lit->arg, f->arg, f->arg_len) != 0) {
        return true;
    }
    if (f->seen++ < f->nth) {
        return true;
    }
    f->lit = *lit;
    f->found = true;
    return false;
}

/* Appends s as the inside of a GraphQL string literal. */
static rp_code gql_escape(const char *s, size_t n, struct rp_buf *out, struct rp_error *err)
{
    /* GraphQL strings escape as JSON's do. */
    return rp__json_escape(out, s, n, err);
}

/* Rewrites a literal argument inside the GraphQL query string at the correlation's JSON path:
 * the string is decoded, the literal replaced (a number stays one when the live value is one),
 * and the string encoded back in its place. */
static rp_code put_graphql(struct rp_request *req, const struct rp_correlation *r, const char *live,
                           struct rp_error *err)
{
    struct rp_body *b = &req->body;
    const char *text = (const char *)b->data;
    const char *key = r->to.key ? r->to.key : "";
    const char *sp = strrchr(key, ' ');
    if (!text || !sp || (size_t)(sp - key) >= RP_CORRELATE_MAX_PATH) {
        return RP_OK;
    }
    char path[RP_CORRELATE_MAX_PATH];
    memcpy(path, key, (size_t)(sp - key));
    path[sp - key] = '\0';
    enum rp__json_type type;
    size_t start = 0;
    size_t end = 0;
    if (!rp__correlate_json_find(text, b->len, path, &type, &start, &end) ||
        type != RP__JSON_STRING) {
        return RP_OK;
    }
    size_t cap = end - start + 1;
    char *q = rp_xmalloc(cap);
    size_t qn = 0;
    size_t pi = start;
    bool fits = false;
    rp_code rc = RP_OK;
    struct rp_buf nq;
    struct rp_buf nb;
    rp_buf_init(&nq, RP_MAX_BODY_REWRITTEN);
    rp_buf_init(&nb, RP_MAX_BODY_REWRITTEN);
    if (!rp__jscan_string(text, b->len, &pi, q, cap, &qn, &fits) || !fits) {
        goto out;
    }
    struct gql_find f = {.arg = sp + 1, .arg_len = strlen(sp + 1), .nth = r->to.index};
    rp__correlate_graphql_scan(q, qn, gql_found, &f);
    size_t vo = f.lit.string ? f.lit.start + 1 : f.lit.start;
    size_t vl = f.lit.string ? f.lit.end - f.lit.start - 2 : f.lit.end - f.lit.start;
    if (!f.found || vl != strlen(r->value) || memcmp(q + vo, r->value, vl) != 0) {
        goto out;
    }
    size_t ll = strlen(live);
    rc = rp_buf_add(&nq, q, f.lit.start, err);
    if (!rc && !f.lit.string && rp__correlate_json_is_number(live, ll)) {
        rc = rp_buf_add(&nq, live, ll, err);
    } else if (!rc) {
        rc = rp_buf_add(&nq, "\"", 1, err);
        if (!rc) {
            rc = gql_escape(live, ll, &nq, err);
        }
        if (!rc) {
            rc = rp_buf_add(&nq, "\"", 1, err);
        }
    }
    if (!rc) {
        rc = rp_buf_add(&nq, q + f.lit.end, qn - f.lit.end, err);
    }
    if (!rc) {
        rc = rp_buf_add(&nb, text, start, err);
    }
    if (!rc) {
        rc = rp__correlate_json_quote(nq.data ? nq.data : "", nq.len, &nb, err);
    }
    if (!rc) {
        rc = rp_buf_add(&nb, text + end, b->len - end, err);
    }
    if (!rc) {
        size_t len = 0;
        char *data = rp_buf_take(&nb, &len);
        rp_body_take(b, (unsigned char *)data, len);
    }
out:
    rp_buf_cleanup(&nb);
    rp_buf_cleanup(&nq);
    free(q);
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
    case RP_LOC_MULTIPART:
        return put_multipart(req, r, live, err);
    case RP_LOC_GRAPHQL_LITERAL:
        return put_graphql(req, r, live, err);
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

/* ----- live values, for the isolation probe ------------------------------------------------- */

const char *rp_corr_session_value(const struct rp_corr_session *s, size_t i)
{
    return i < s->n ? s->live[i] : NULL;
}
