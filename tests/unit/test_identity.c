/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the identity check: a hand-written recording in which an order is created
 * (#3, id 4), fetched (#4) and paid (#5); live exchanges through a checker, whose verdicts a
 * sink writes down; one session, two interleaved, and the check again offline from a results
 * file.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <reprise/check.h>
#include <reprise/recording.h>
#include <reprise/report.h>

#include "helpers.h"

static char *dir;
static char *rec_path;

/* ----- the recording ------------------------------------------------------------------------ */

struct ex_spec {
    const char *method, *path, *req_body;
    unsigned status;
    const char *body;
};

/* GET /api/health, GET /api/items, POST /api/orders (4), GET /api/orders/4, POST
 * /api/orders/4/pay, POST /api/orders/4/items (an item that happens to be 4 too); "status":
 * "new" and "total": 4 repeat without being sent back. */
static const struct ex_spec recorded[] = {
    {"GET", "/api/health", NULL, 200, "{\"ok\":true}"},
    {"GET", "/api/items", NULL, 200, "{\"items\":[{\"sku\":\"tea\"}]}"},
    {"POST", "/api/orders", "{\"sku\":\"tea\"}", 201, "{\"id\":4,\"status\":\"new\",\"total\":4}"},
    {"GET", "/api/orders/4", NULL, 200, "{\"id\":4,\"status\":\"new\",\"total\":4}"},
    {"POST", "/api/orders/4/pay", "{}", 200, "{\"order_id\":4,\"status\":\"paid\"}"},
    {"POST", "/api/orders/4/items", "{\"sku\":\"tea\"}", 201, "{\"id\":4,\"sku\":\"tea\"}"},
};
#define N_RECORDED (sizeof(recorded) / sizeof(recorded[0]))

static void make_exchange(struct rp_exchange *ex, uint64_t seq, const char *method,
                          const char *path, const char *req_body, unsigned status, const char *body)
{
    rp_exchange_init(ex);
    ex->seq = seq;
    ex->duration_us = 1000;
    ex->req.method = rp_xstrdup(method);
    char url[256];
    snprintf(url, sizeof(url), "https://shop.example.test%s", path);
    ex->req.url = rp_xstrdup(url);
    if (req_body) {
        cr_assert_eq(
            rp_headers_add(&ex->req.headers, "Content-Type", 12, "application/json", 16, NULL),
            RP_OK);
        rp_body_set(&ex->req.body, req_body, strlen(req_body));
    }
    ex->has_response = true;
    ex->resp.status = status;
    cr_assert_eq(
        rp_headers_add(&ex->resp.headers, "Content-Type", 12, "application/json", 16, NULL), RP_OK);
    rp_body_set(&ex->resp.body, body, strlen(body));
}

static void set_type(struct rp_exchange *ex, const char *type)
{
    if (type) {
        cr_assert_eq(rp_headers_set(&ex->resp.headers, "Content-Type", type, strlen(type), NULL),
                     RP_OK);
    }
}

/* Writes specs as a recording; types[i], when types is not NULL, is the i-th response's
 * Content-Type (NULL there: application/json). */
static void write_typed(const char *path, const struct ex_spec *specs, const char *const *types,
                        size_t n)
{
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    meta.name = rp_xstrdup("shop");
    meta.created = rp_xstrdup("2026-12-01T10:00:00Z");
    meta.source_kind = rp_xstrdup("script");
    struct rp_writer *w = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_writer_open(path, &meta, NULL, &w, &err), RP_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        const struct ex_spec *e = &specs[i];
        struct rp_exchange ex;
        make_exchange(&ex, i + 1, e->method, e->path, e->req_body, e->status, e->body);
        set_type(&ex, types ? types[i] : NULL);
        cr_assert_eq(rp_writer_append(w, &ex, &err), RP_OK, "%s", err.msg);
        rp_exchange_cleanup(&ex);
    }
    cr_assert_eq(rp_writer_close(w, &err), RP_OK, "%s", err.msg);
    rp_rec_meta_cleanup(&meta);
}

static void write_specs(const char *path, const struct ex_spec *specs, size_t n)
{
    write_typed(path, specs, NULL, n);
}

static void setup(void)
{
    dir = tmp_dir();
    rec_path = path_in(dir, "shop.jsonl.gz");
    write_specs(rec_path, recorded, N_RECORDED);
}

static void teardown(void)
{
    free(rec_path);
    rm_tree(dir);
}

TestSuite(identity, .init = setup, .fini = teardown);

/* ----- a sink that writes down what it was given ------------------------------------------- */

struct seen {
    size_t n;
    enum rp_outcome outcome[16];
    enum rp_outcome identity[16]; /* the identity check's own outcome */
    uint64_t seq[16];
    char session[16][16];
    size_t n_mismatches[16];
    char first[16][128]; /* "path: message" of the first mismatch */
};

static rp_code seen_begin(void *ctx, const struct rp_run_info *run, struct rp_error *err)
{
    (void)ctx, (void)run, (void)err;
    return RP_OK;
}

static rp_code seen_result(void *ctx, const struct rp_verdict *v, struct rp_error *err)
{
    (void)err;
    struct seen *s = ctx;
    cr_assert_lt(s->n, 16);
    s->outcome[s->n] = v->outcome;
    s->identity[s->n] = RP_OUTCOME_SKIPPED;
    for (size_t i = 0; i < v->n_checks; i++) {
        if (strcmp(v->checks[i].name, "identity") == 0) {
            s->identity[s->n] = v->checks[i].outcome;
        }
    }
    s->seq[s->n] = v->recorded_seq;
    snprintf(s->session[s->n], sizeof(s->session[0]), "%s", v->session);
    s->n_mismatches[s->n] = v->mismatches.n;
    if (v->mismatches.n) {
        snprintf(s->first[s->n], sizeof(s->first[0]), "%s: %s", v->mismatches.v[0].path,
                 v->mismatches.v[0].message);
    }
    s->n++;
    return RP_OK;
}

static rp_code seen_end(void *ctx, const struct rp_run_summary *sum, struct rp_error *err)
{
    (void)ctx, (void)sum, (void)err;
    return RP_OK;
}

static void seen_free(void *ctx)
{
    (void)ctx;
}

static const struct rp_sink_ops seen_ops = {
    .begin = seen_begin,
    .result = seen_result,
    .end = seen_end,
    .free = seen_free,
};

static const struct rp_run_info run = {.run_id = "r1", .target = "https://live.example.test"};

static struct rp_checker *new_checker(struct seen *s, const char *results)
{
    const char *const recs[] = {rec_path};
    struct rp_checker_opts o = {.recordings = recs, .n_recordings = 1};
    struct rp_checker *c = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_new(&o, &c, &err), RP_OK, "%s", err.msg);
    struct rp_sink sink = {.ops = &seen_ops, .ctx = s};
    rp_checker_add_sink(c, &sink);
    if (results) {
        rp_sink_results(&sink, results);
        rp_checker_add_sink(c, &sink);
    }
    rp_checker_begin(c, &run);
    return c;
}

/*
 * Sends recorded exchange seq through c for session, with a live response body: the recorded
 * one with the live order id in place of 4 (and in the request path).
 */
static void live(struct rp_checker *c, const char *session, uint64_t seq, const char *body)
{
    const struct ex_spec *e = &recorded[seq - 1];
    struct rp_exchange rec, lv;
    make_exchange(&rec, seq, e->method, e->path, e->req_body, e->status, e->body);
    make_exchange(&lv, seq, e->method, e->path, e->req_body, e->status, body ? body : e->body);
    struct rp_replay_event ev = {
        .session = session,
        .session_no = 1,
        .recording = rec_path,
        .recorded = &rec,
        .live = &lv,
        .status = RP_REPLAY_DONE,
        .latency_us = 1000,
    };
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_exchange(c, &ev, &err), RP_OK, "%s", err.msg);
    rp_exchange_cleanup(&rec);
    rp_exchange_cleanup(&lv);
}

static struct rp_run_summary end(struct rp_checker *c)
{
    struct rp_run_summary sum;
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_end(c, &sum, &err), RP_OK, "%s", err.msg);
    rp_checker_free(c);
    return sum;
}

/* ----- live ---------------------------------------------------------------------------------- */

Test(identity, the_same_order_live_passes)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s, NULL);
    live(c, "shop#1", 1, NULL);
    live(c, "shop#1", 2, NULL);
    live(c, "shop#1", 3, "{\"id\":21,\"status\":\"new\",\"total\":4}");
    live(c, "shop#1", 4, "{\"id\":21,\"status\":\"new\",\"total\":4}");
    live(c, "shop#1", 5, "{\"order_id\":21,\"status\":\"paid\"}");
    struct rp_run_summary sum = end(c);
    cr_assert_eq(sum.passed, 5);
    cr_assert_eq(sum.failed, 0);
    /* #1-#3 hold no rule; #4 ($.id from #3) and #5 ($.order_id from #3) do. */
    cr_assert_eq(s.identity[0], RP_OUTCOME_SKIPPED);
    cr_assert_eq(s.identity[2], RP_OUTCOME_SKIPPED);
    cr_assert_eq(s.identity[3], RP_OUTCOME_PASS);
    cr_assert_eq(s.identity[4], RP_OUTCOME_PASS);
}

Test(identity, another_order_in_the_later_response_fails_with_its_source)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s, NULL);
    live(c, "shop#1", 3, "{\"id\":21,\"status\":\"new\",\"total\":4}");
    live(c, "shop#1", 4, "{\"id\":7,\"status\":\"new\",\"total\":4}");
    live(c, "shop#1", 5, "{\"order_id\":8,\"status\":\"paid\"}");
    struct rp_run_summary sum = end(c);
    cr_assert_eq(sum.passed, 1);
    cr_assert_eq(sum.failed, 2);
    cr_assert_eq(s.outcome[1], RP_OUTCOME_FAIL);
    cr_assert_eq(s.n_mismatches[1], 1);
    cr_assert_str_eq(s.first[1], "$.id: expected 21 (the order created by #3), got 7");
    /* #5 is held to the create's live id (#4 gave it again, but #3 is where it came from). */
    cr_assert_eq(s.outcome[2], RP_OUTCOME_FAIL);
    cr_assert_eq(s.n_mismatches[2], 1);
    cr_assert_str_eq(s.first[2], "$.order_id: expected 21 (the order created by #3), got 8");
}

Test(identity, equal_values_that_were_not_sent_back_are_not_followed)
{
    /* "status": "new" and "total": 4 repeat in #3 and #4, but no request sent them back. */
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s, NULL);
    live(c, "shop#1", 3, "{\"id\":21,\"status\":\"new\",\"total\":4}");
    live(c, "shop#1", 4, "{\"id\":21,\"status\":\"shipped\",\"total\":9}");
    struct rp_run_summary sum = end(c);
    cr_assert_eq(sum.failed, 0);
    cr_assert_eq(s.identity[1], RP_OUTCOME_PASS);
}

Test(identity, an_id_of_another_object_that_was_equal_when_recorded_is_not_followed)
{
    /* The item added to order 4 was 4 too when recorded; live it is 55, the order 21. */
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s, NULL);
    live(c, "shop#1", 3, "{\"id\":21,\"status\":\"new\",\"total\":4}");
    live(c, "shop#1", 4, "{\"id\":21,\"status\":\"new\",\"total\":4}");
    live(c, "shop#1", 6, "{\"id\":55,\"sku\":\"tea\"}");
    struct rp_run_summary sum = end(c);
    cr_assert_eq(sum.failed, 0);
    cr_assert_eq(s.identity[2], RP_OUTCOME_SKIPPED);
}

Test(identity, a_finished_session_keeps_nothing)
{
    /* Ended after the create, the session's live id is forgotten: the same name again holds
     * no expectation (a run's memory does not grow with the sessions it has run). */
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s, NULL);
    live(c, "shop#1", 3, "{\"id\":21,\"status\":\"new\",\"total\":4}");
    rp_checker_session_end(c, "shop#1");
    rp_checker_session_end(c, "shop#9"); /* never seen: nothing happens */
    live(c, "shop#1", 4, "{\"id\":7,\"status\":\"new\",\"total\":4}");
    /* Another session is not touched by the end of the first. */
    live(c, "shop#2", 3, "{\"id\":30,\"status\":\"new\",\"total\":4}");
    rp_checker_session_end(c, "shop#1");
    live(c, "shop#2", 4, "{\"id\":31,\"status\":\"new\",\"total\":4}");
    struct rp_run_summary sum = end(c);
    cr_assert_eq(sum.failed, 1);
    cr_assert_eq(s.identity[1], RP_OUTCOME_SKIPPED);
    cr_assert_eq(s.outcome[3], RP_OUTCOME_FAIL);
    cr_assert_str_eq(s.first[3], "$.id: expected 30 (the order created by #3), got 31");
}

Test(identity, a_source_not_seen_live_makes_no_expectation)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s, NULL);
    live(c, "shop#1", 4, "{\"id\":7,\"status\":\"new\",\"total\":4}");
    struct rp_run_summary sum = end(c);
    cr_assert_eq(sum.failed, 0);
    cr_assert_eq(s.identity[0], RP_OUTCOME_SKIPPED);
}

Test(identity, interleaved_sessions_are_held_to_their_own_objects)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s, NULL);
    live(c, "shop#1", 3, "{\"id\":21,\"status\":\"new\",\"total\":4}");
    live(c, "shop#2", 3, "{\"id\":22,\"status\":\"new\",\"total\":4}");
    live(c, "shop#2", 4, "{\"id\":22,\"status\":\"new\",\"total\":4}");
    live(c, "shop#1", 4, "{\"id\":21,\"status\":\"new\",\"total\":4}");
    /* Session 2 paying session 1's order. */
    live(c, "shop#2", 5, "{\"order_id\":21,\"status\":\"paid\"}");
    live(c, "shop#1", 5, "{\"order_id\":21,\"status\":\"paid\"}");
    struct rp_run_summary sum = end(c);
    cr_assert_eq(sum.passed, 5);
    cr_assert_eq(sum.failed, 1);
    cr_assert_eq(s.outcome[4], RP_OUTCOME_FAIL);
    cr_assert_str_eq(s.session[4], "shop#2");
    cr_assert_str_eq(s.first[4], "$.order_id: expected 22 (the order created by #3), got 21");
    cr_assert_eq(s.identity[5], RP_OUTCOME_PASS);
}

Test(identity, a_recording_that_is_not_there_checks_nothing)
{
    const char *const recs[] = {"/nonexistent/shop.jsonl.gz"};
    struct rp_checker_opts o = {.recordings = recs, .n_recordings = 1};
    struct rp_checker *c = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_new(&o, &c, &err), RP_OK, "%s", err.msg);
    rp_checker_free(c);
}

/* Sends specs[0..n) (recorded, responses typed by types as write_typed) through c for session,
 * each with the live response body live_body[i]. */
static void feed(struct rp_checker *c, const char *session, const struct ex_spec *specs,
                 const char *const *types, const char *const *live_body, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct ex_spec *e = &specs[i];
        struct rp_exchange rec, lv;
        make_exchange(&rec, i + 1, e->method, e->path, e->req_body, e->status, e->body);
        make_exchange(&lv, i + 1, e->method, e->path, e->req_body, e->status, live_body[i]);
        set_type(&rec, types ? types[i] : NULL);
        set_type(&lv, types ? types[i] : NULL);
        struct rp_replay_event ev = {.session = session,
                                     .recording = rec_path,
                                     .recorded = &rec,
                                     .live = &lv,
                                     .status = RP_REPLAY_DONE};
        struct rp_error err = {0};
        cr_assert_eq(rp_checker_exchange(c, &ev, &err), RP_OK, "%s", err.msg);
        rp_exchange_cleanup(&rec);
        rp_exchange_cleanup(&lv);
    }
}

Test(identity, a_graphql_mutation_names_its_object)
{
    /* A long id comes back in "variables" and again in the query's answer. */
    static const struct ex_spec gql[] = {
        {"POST", "/graphql", "{\"query\":\"mutation { createOrder(sku: \\\"tea\\\") { id } }\"}",
         200, "{\"data\":{\"createOrder\":{\"id\":\"ord_8f3k2j9x1q\"}}}"},
        {"POST", "/graphql",
         "{\"query\":\"query($id: ID!) { order(id: $id) { id } }\",\"variables\":{\"id\":"
         "\"ord_8f3k2j9x1q\"}}",
         200, "{\"data\":{\"order\":{\"id\":\"ord_8f3k2j9x1q\",\"status\":\"new\"}}}"},
    };
    write_specs(rec_path, gql, 2);
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s, NULL);
    static const char *const live_body[] = {
        "{\"data\":{\"createOrder\":{\"id\":\"ord_live21\"}}}",
        "{\"data\":{\"order\":{\"id\":\"ord_other7\",\"status\":\"new\"}}}"};
    feed(c, "gql#1", gql, NULL, live_body, 2);
    struct rp_run_summary sum = end(c);
    cr_assert_eq(sum.failed, 1);
    cr_assert_str_eq(s.first[1], "$.data.order.id: expected \"ord_live21\" (the order created by "
                                 "#1), got \"ord_other7\"");
}

Test(identity, an_id_given_only_by_a_page_link_holds_the_later_json_to_it)
{
    /* The list page links to the new order; the API answer about it must be about that one. */
    static const struct ex_spec pages[] = {
        {"GET", "/orders/", NULL, 200,
         "<html><body><a href=\"/orders/ord_8f3k2j9x1q/\">tea</a></body></html>"},
        {"GET", "/api/orders/ord_8f3k2j9x1q", NULL, 200,
         "{\"order\":{\"id\":\"ord_8f3k2j9x1q\",\"status\":\"new\"}}"},
    };
    static const char *const types[] = {"text/html; charset=utf-8", NULL};
    write_typed(rec_path, pages, types, 2);
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s, NULL);
    static const char *const live_body[] = {
        "<html><body><a href=\"/orders/ord_live21x/\">tea</a></body></html>",
        "{\"order\":{\"id\":\"ord_other7x\",\"status\":\"new\"}}"};
    feed(c, "pages#1", pages, types, live_body, 2);
    struct rp_run_summary sum = end(c);
    cr_assert_eq(sum.failed, 1);
    cr_assert_str_eq(s.first[1],
                     "$.order.id: expected \"ord_live21x\" (the order given by #1), got "
                     "\"ord_other7x\"");
}

/* ----- offline ------------------------------------------------------------------------------- */

Test(identity, diff_checks_the_stored_expectations_again)
{
    char *results = path_in(dir, "results.jsonl.gz");
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s, results);
    live(c, "shop#1", 3, "{\"id\":21,\"status\":\"new\",\"total\":4}");
    live(c, "shop#1", 4, "{\"id\":7,\"status\":\"new\",\"total\":4}");
    live(c, "shop#2", 3, "{\"id\":22,\"status\":\"new\",\"total\":4}");
    live(c, "shop#2", 4, "{\"id\":22,\"status\":\"new\",\"total\":4}");
    struct rp_run_summary sum = end(c);
    cr_assert_eq(sum.failed, 1);

    /* Offline: no recording, only the results file. */
    struct seen d = {0};
    struct rp_checker_opts o = {0};
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_new(&o, &c, &err), RP_OK, "%s", err.msg);
    struct rp_sink sink = {.ops = &seen_ops, .ctx = &d};
    rp_checker_add_sink(c, &sink);
    cr_assert_eq(rp_results_check(results, c, NULL, NULL, &err), RP_OK, "%s", err.msg);
    sum = end(c);
    cr_assert_eq(sum.passed, 3);
    cr_assert_eq(sum.failed, 1);
    cr_assert_eq(d.n, 4);
    cr_assert_eq(d.outcome[1], RP_OUTCOME_FAIL);
    cr_assert_eq(d.identity[1], RP_OUTCOME_FAIL);
    cr_assert_eq(d.n_mismatches[1], 1, "the shape passes; only the identity mismatch");
    cr_assert_str_eq(d.first[1], "$.id: expected 21 (the order created by #3), got 7");
    cr_assert_eq(d.identity[3], RP_OUTCOME_PASS);
    free(results);
}
