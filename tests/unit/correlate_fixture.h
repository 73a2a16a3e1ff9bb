/* SPDX-License-Identifier: MIT */
/* Building exchanges and live responses by hand for the correlation tests. */
#ifndef REPRISE_TEST_CORRELATE_FIXTURE_H
#define REPRISE_TEST_CORRELATE_FIXTURE_H

#include <criterion/criterion.h>

#include <reprise/correlate.h>

/* Adds "Name: value" lines (separated by '\n') to h. */
static inline void fx_headers(struct rp_headers *h, const char *lines)
{
    const char *p = lines;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        cr_assert_not_null(colon, "header line without a colon: %.*s", (int)n, p);
        size_t nlen = (size_t)(colon - p);
        const char *v = colon + 1;
        while (*v == ' ') {
            v++;
        }
        cr_assert_eq(rp_headers_add(h, p, nlen, v, (size_t)(p + n - v), NULL), RP_OK);
        p = nl ? nl + 1 : NULL;
    }
}

static inline void fx_req(struct rp_exchange *ex, uint64_t seq, const char *method, const char *url,
                          const char *headers, const char *body)
{
    rp_exchange_init(ex);
    ex->seq = seq;
    ex->req.method = strdup(method);
    ex->req.url = strdup(url);
    fx_headers(&ex->req.headers, headers);
    if (body) {
        rp_body_set(&ex->req.body, body, strlen(body));
    }
}

static inline void fx_resp(struct rp_exchange *ex, unsigned status, const char *headers,
                           const char *body)
{
    ex->has_response = true;
    ex->resp.status = status;
    fx_headers(&ex->resp.headers, headers);
    if (body) {
        rp_body_set(&ex->resp.body, body, strlen(body));
    }
}

/* A live response, as a replay would receive it. */
static inline void fx_live(struct rp_response *r, const char *headers, const char *body)
{
    memset(r, 0, sizeof(*r));
    r->status = 200;
    rp_headers_init(&r->headers);
    fx_headers(&r->headers, headers);
    if (body) {
        rp_body_set(&r->body, body, strlen(body));
    }
}

static inline void fx_live_cleanup(struct rp_response *r)
{
    rp_headers_cleanup(&r->headers);
    rp_body_cleanup(&r->body);
}

static inline struct rp_correlator *fx_learn(struct rp_correlator *c, struct rp_exchange *xs,
                                             size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct rp_error err = {0};
        cr_assert_eq(rp_correlator_learn(c, &xs[i], &err), RP_OK, "%s", err.msg);
    }
    return c;
}

static inline void fx_cleanup(struct rp_exchange *xs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rp_exchange_cleanup(&xs[i]);
    }
}

/* Checks correlation i against a hand-written expectation. */
static inline void fx_expect(const struct rp_correlator *c, size_t i, uint64_t from_seq,
                             const char *from, uint64_t to_seq, const char *to, const char *value)
{
    const struct rp_correlation *r = rp_correlator_get(c, i);
    cr_assert_not_null(r, "no correlation %zu (there are %zu)", i, rp_correlator_count(c));
    char f[512];
    char t[512];
    rp_location_format(&r->from, f, sizeof(f));
    rp_location_format(&r->to, t, sizeof(t));
    cr_expect_eq(r->from_seq, from_seq, "correlation %zu: from_seq %llu", i,
                 (unsigned long long)r->from_seq);
    cr_expect_str_eq(f, from, "correlation %zu: from", i);
    cr_expect_eq(r->to_seq, to_seq, "correlation %zu: to_seq %llu", i,
                 (unsigned long long)r->to_seq);
    cr_expect_str_eq(t, to, "correlation %zu: to", i);
    cr_expect_str_eq(r->value, value, "correlation %zu: value", i);
}

/* Applies the session's live values to the request of ex. */
static inline void fx_apply(struct rp_corr_session *s, struct rp_exchange *ex)
{
    struct rp_error err = {0};
    cr_assert_eq(rp_corr_session_apply(s, ex->seq, &ex->req, NULL, &err), RP_OK, "%s", err.msg);
}

/* The body of a request as a C string (the tests' bodies hold no NUL). */
static inline char *fx_body(const struct rp_request *req)
{
    char *s = malloc(req->body.len + 1);
    cr_assert_not_null(s);
    if (req->body.len) {
        memcpy(s, req->body.data, req->body.len);
    }
    s[req->body.len] = '\0';
    return s;
}

#endif /* REPRISE_TEST_CORRELATE_FIXTURE_H */
