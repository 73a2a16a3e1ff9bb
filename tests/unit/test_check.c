/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the check pipeline: hand-built recorded and live exchanges through a checker,
 * verdicts and totals as they reach sinks, the offline re-check, and the latency merge.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <reprise/check.h>

#include "helpers.h"

static char *dir;

static void setup(void)
{
    dir = tmp_dir();
}

static void teardown(void)
{
    rm_tree(dir);
}

TestSuite(check, .init = setup, .fini = teardown);

/* ----- fixtures ---------------------------------------------------------------------------- */

#define REC "recordings/shop.jsonl.gz"

/* An exchange with a JSON response of status and body (NULL: no response). */
static void make_exchange(struct rp_exchange *ex, uint64_t seq, unsigned status, const char *body)
{
    rp_exchange_init(ex);
    ex->seq = seq;
    ex->duration_us = 1000 * seq;
    ex->req.method = rp_xstrdup("GET");
    ex->req.url = rp_xstrdup("https://shop.example.test/api/item");
    if (body) {
        ex->has_response = true;
        ex->resp.status = status;
        cr_assert_eq(
            rp_headers_add(&ex->resp.headers, "Content-Type", 12, "application/json", 16, NULL),
            RP_OK);
        rp_body_set(&ex->resp.body, body, strlen(body));
    }
}

static struct rp_replay_event event(const struct rp_exchange *rec, const struct rp_exchange *live,
                                    enum rp_replay_status status, uint64_t latency_us)
{
    return (struct rp_replay_event){
        .session = "shop#1",
        .session_no = 1,
        .recording = REC,
        .recorded = rec,
        .live = live,
        .status = status,
        .message = status == RP_REPLAY_DONE ? NULL : "connection refused",
        .latency_us = latency_us,
    };
}

/* A sink that writes down what it was given. */
struct seen {
    unsigned begins, ends;
    size_t n;
    enum rp_outcome outcome[8];
    uint64_t seq[8];
    size_t n_mismatches[8];
    char first_path[8][32];
    char first_message[8][64];
    bool had_shape[8];
    struct rp_run_summary sum;
    char target[64];
    bool fail_results; /* result() fails with RP_EIO */
    bool freed;
};

static rp_code seen_begin(void *ctx, const struct rp_run_info *run, struct rp_error *err)
{
    (void)err;
    struct seen *s = ctx;
    s->begins++;
    snprintf(s->target, sizeof(s->target), "%s", run->target ? run->target : "");
    return RP_OK;
}

static rp_code seen_result(void *ctx, const struct rp_verdict *v, struct rp_error *err)
{
    struct seen *s = ctx;
    if (s->fail_results) {
        return rp_error_set(err, RP_EIO, "seen: cannot write");
    }
    cr_assert_lt(s->n, 8);
    s->outcome[s->n] = v->outcome;
    s->seq[s->n] = v->recorded_seq;
    s->n_mismatches[s->n] = v->mismatches.n;
    if (v->mismatches.n) {
        snprintf(s->first_path[s->n], 32, "%s", v->mismatches.v[0].path);
        snprintf(s->first_message[s->n], 64, "%s", v->mismatches.v[0].message);
    }
    s->had_shape[s->n] = v->shape != NULL;
    s->n++;
    return RP_OK;
}

static rp_code seen_end(void *ctx, const struct rp_run_summary *sum, struct rp_error *err)
{
    (void)err;
    struct seen *s = ctx;
    s->ends++;
    s->sum = *sum;
    return RP_OK;
}

static void seen_free(void *ctx)
{
    struct seen *s = ctx;
    s->freed = true;
}

static const struct rp_sink_ops seen_ops = {
    .begin = seen_begin,
    .result = seen_result,
    .end = seen_end,
    .free = seen_free,
};

static const struct rp_sink_ops seen_shape_ops = {
    .begin = seen_begin,
    .result = seen_result,
    .end = seen_end,
    .free = seen_free,
    .wants_shape = true,
};

static struct rp_checker *new_checker(const struct rp_checker_opts *opts)
{
    static const char *const recs[] = {REC};
    struct rp_checker_opts def = {.recordings = recs, .n_recordings = 1};
    struct rp_checker *c = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_new(opts ? opts : &def, &c, &err), RP_OK, "%s", err.msg);
    return c;
}

static void add_seen(struct rp_checker *c, struct seen *s, const struct rp_sink_ops *ops)
{
    struct rp_sink sink = {.ops = ops, .ctx = s};
    rp_checker_add_sink(c, &sink);
    cr_assert_null(sink.ops, "the checker took the sink");
}

static const struct rp_run_info run = {.run_id = "r1", .target = "https://live.example.test"};

/* ----- live exchanges ---------------------------------------------------------------------- */

Test(check, a_response_of_the_same_shape_passes_against_the_inferred_shape)
{
    struct rp_exchange rec, live;
    make_exchange(&rec, 1, 200, "{\"id\":1,\"price\":12}");
    make_exchange(&live, 1, 200, "{\"id\":2,\"price\":13.5}");
    struct seen s = {0};
    struct rp_checker *c = new_checker(NULL);
    add_seen(c, &s, &seen_ops);
    rp_checker_begin(c, &run);
    struct rp_replay_event ev = event(&rec, &live, RP_REPLAY_DONE, 5000);
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_exchange(c, &ev, &err), RP_OK, "%s", err.msg);
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(s.begins, 1);
    cr_assert_str_eq(s.target, "https://live.example.test");
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.outcome[0], RP_OUTCOME_PASS);
    cr_assert_eq(s.n_mismatches[0], 0);
    cr_assert(s.had_shape[0], "the inferred shape goes with the verdict");
    cr_assert_eq(sum.passed, 1);
    cr_assert_eq(sum.failed + sum.errors + sum.skipped, 0);
    cr_assert_eq(sum.p50_us, 5000);
    cr_assert_eq(sum.max_us, 5000);
    rp_checker_free(c);
    cr_assert(s.freed);
    rp_exchange_cleanup(&rec);
    rp_exchange_cleanup(&live);
}

Test(check, a_changed_status_and_type_fail_with_their_mismatches)
{
    struct rp_exchange rec, live1, rec2, live2;
    make_exchange(&rec, 1, 200, "{\"id\":1}");
    make_exchange(&live1, 1, 500, "{\"id\":1}");
    make_exchange(&rec2, 2, 200, "{\"price\":12}");
    make_exchange(&live2, 2, 200, "{\"price\":\"12.00\"}");
    struct seen s = {0};
    struct rp_checker *c = new_checker(NULL);
    add_seen(c, &s, &seen_ops);
    rp_checker_begin(c, &run);
    struct rp_replay_event ev1 = event(&rec, &live1, RP_REPLAY_DONE, 1000);
    struct rp_replay_event ev2 = event(&rec2, &live2, RP_REPLAY_DONE, 1000);
    cr_assert_eq(rp_checker_exchange(c, &ev1, NULL), RP_OK);
    cr_assert_eq(rp_checker_exchange(c, &ev2, NULL), RP_OK);
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.outcome[0], RP_OUTCOME_FAIL);
    cr_assert_str_eq(s.first_path[0], "status");
    cr_assert_str_eq(s.first_message[0], "expected 200, got 500");
    cr_assert_eq(s.outcome[1], RP_OUTCOME_FAIL);
    cr_assert_eq(s.seq[1], 2);
    cr_assert_str_eq(s.first_path[1], "$.price");
    cr_assert_eq(sum.failed, 2);
    cr_assert_eq(sum.passed, 0);
    rp_checker_free(c);
    rp_exchange_cleanup(&rec);
    rp_exchange_cleanup(&live1);
    rp_exchange_cleanup(&rec2);
    rp_exchange_cleanup(&live2);
}

Test(check, an_identical_response_passes_without_a_shape_unless_a_sink_wants_one)
{
    struct rp_exchange rec, live;
    make_exchange(&rec, 1, 200, "{\"id\":1}");
    make_exchange(&live, 1, 200, "{\"id\":1}");
    struct rp_replay_event ev = event(&rec, &live, RP_REPLAY_DONE, 1000);

    struct seen plain = {0};
    struct rp_checker *c = new_checker(NULL);
    add_seen(c, &plain, &seen_ops);
    rp_checker_begin(c, &run);
    cr_assert_eq(rp_checker_exchange(c, &ev, NULL), RP_OK);
    rp_checker_free(c);
    cr_assert_eq(plain.outcome[0], RP_OUTCOME_PASS);
    cr_assert_not(plain.had_shape[0], "the byte-identical shortcut infers nothing");

    struct seen a = {0}, b = {0};
    c = new_checker(NULL);
    add_seen(c, &a, &seen_ops);
    add_seen(c, &b, &seen_shape_ops);
    rp_checker_begin(c, &run);
    cr_assert_eq(rp_checker_exchange(c, &ev, NULL), RP_OK);
    rp_checker_free(c);
    cr_assert_eq(b.outcome[0], RP_OUTCOME_PASS);
    cr_assert(b.had_shape[0], "a sink that stores shapes gets one");
    cr_assert(a.had_shape[0], "every sink sees the same verdict");
    rp_exchange_cleanup(&rec);
    rp_exchange_cleanup(&live);
}

Test(check, a_shape_file_beside_the_recording_is_checked_even_for_an_identical_response)
{
    char *recording = path_in(dir, "shop.jsonl.gz");
    char *shape_path = path_in(dir, "shop.shape.json");
    static const char shape_file[] = "{\"reprise_shape\": 1, \"exchanges\": [{\"seq\": 1, "
                                     "\"status\": 201, \"media_type\": \"application/json\"}]}";
    write_file(shape_path, shape_file, strlen(shape_file));
    const char *const recs[] = {recording};
    struct rp_checker_opts opts = {.recordings = recs, .n_recordings = 1};
    struct rp_checker *c = new_checker(&opts);
    struct seen s = {0};
    add_seen(c, &s, &seen_ops);
    rp_checker_begin(c, &run);
    struct rp_exchange rec, live;
    make_exchange(&rec, 1, 200, "{}");
    make_exchange(&live, 1, 200, "{}");
    struct rp_replay_event ev = event(&rec, &live, RP_REPLAY_DONE, 1000);
    ev.recording = recording;
    cr_assert_eq(rp_checker_exchange(c, &ev, NULL), RP_OK);
    rp_checker_free(c);
    cr_assert_eq(s.outcome[0], RP_OUTCOME_FAIL);
    cr_assert_str_eq(s.first_message[0], "expected 201, got 200");
    rp_exchange_cleanup(&rec);
    rp_exchange_cleanup(&live);
    free(recording);
    free(shape_path);
}

Test(check, errors_and_skips_are_tallied_without_latency_and_dry_runs_ignored)
{
    struct rp_exchange rec, live;
    make_exchange(&rec, 1, 200, "{}");
    make_exchange(&live, 1, 0, NULL);
    struct seen s = {0};
    struct rp_checker *c = new_checker(NULL);
    add_seen(c, &s, &seen_ops);
    rp_checker_begin(c, &run);
    struct rp_replay_event err_ev = event(&rec, &live, RP_REPLAY_ERROR, 0);
    struct rp_replay_event skip_ev = event(&rec, &live, RP_REPLAY_SKIPPED, 0);
    struct rp_replay_event dry_ev = event(&rec, &live, RP_REPLAY_DRY_RUN, 0);
    cr_assert_eq(rp_checker_exchange(c, &err_ev, NULL), RP_OK);
    cr_assert_eq(rp_checker_exchange(c, &skip_ev, NULL), RP_OK);
    cr_assert_eq(rp_checker_exchange(c, &skip_ev, NULL), RP_OK);
    cr_assert_eq(rp_checker_exchange(c, &dry_ev, NULL), RP_OK);
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    cr_assert_eq(s.n, 3);
    cr_assert_eq(s.outcome[0], RP_OUTCOME_ERROR);
    cr_assert_eq(s.outcome[1], RP_OUTCOME_SKIPPED);
    cr_assert_eq(sum.errors, 1);
    cr_assert_eq(sum.skipped, 2);
    cr_assert_eq(sum.passed + sum.failed, 0);
    cr_assert_eq(sum.p50_us, 0);
    cr_assert_eq(sum.max_us, 0);
    cr_assert_eq(s.ends, 1);
    cr_assert_eq(s.sum.skipped, 2, "end() gets the same totals");
    rp_checker_free(c);
    rp_exchange_cleanup(&rec);
    rp_exchange_cleanup(&live);
}

Test(check, every_one_of_many_sinks_gets_every_verdict_once_begun_and_ended)
{
    enum { N = 7 };
    struct seen s[N];
    memset(s, 0, sizeof(s));
    struct rp_checker *c = new_checker(NULL);
    for (size_t i = 0; i < N; i++) {
        add_seen(c, &s[i], &seen_ops);
    }
    rp_checker_begin(c, &run);
    struct rp_exchange rec, live;
    make_exchange(&rec, 1, 200, "{\"a\":1}");
    make_exchange(&live, 1, 200, "{\"a\":\"x\"}");
    struct rp_replay_event ok = event(&rec, &rec, RP_REPLAY_DONE, 100);
    struct rp_replay_event bad = event(&rec, &live, RP_REPLAY_DONE, 300);
    struct rp_replay_event gone = event(&rec, &live, RP_REPLAY_ERROR, 0);
    cr_assert_eq(rp_checker_exchange(c, &ok, NULL), RP_OK);
    cr_assert_eq(rp_checker_exchange(c, &bad, NULL), RP_OK);
    cr_assert_eq(rp_checker_exchange(c, &gone, NULL), RP_OK);
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    for (size_t i = 0; i < N; i++) {
        cr_assert_eq(s[i].begins, 1, "sink %zu", i);
        cr_assert_eq(s[i].ends, 1, "sink %zu", i);
        cr_assert_eq(s[i].n, 3, "sink %zu", i);
        cr_assert_eq(s[i].outcome[0], RP_OUTCOME_PASS);
        cr_assert_eq(s[i].outcome[1], RP_OUTCOME_FAIL);
        cr_assert_eq(s[i].outcome[2], RP_OUTCOME_ERROR);
    }
    cr_assert_eq(sum.passed, 1);
    cr_assert_eq(sum.failed, 1);
    cr_assert_eq(sum.errors, 1);
    /* Latencies 100 and 300 us: p50 is rank 1, in the one-wide bucket [100, 101); p95 is
     * rank 2, the maximum. */
    cr_assert_eq(sum.max_us, 300);
    cr_assert_eq(sum.p95_us, 300);
    cr_assert_eq(sum.p50_us, 100);
    rp_checker_free(c);
    for (size_t i = 0; i < N; i++) {
        cr_assert(s[i].freed);
    }
    rp_exchange_cleanup(&rec);
    rp_exchange_cleanup(&live);
}

Test(check, a_sink_error_is_kept_and_returned_until_the_end)
{
    struct seen s = {.fail_results = true};
    struct rp_checker *c = new_checker(NULL);
    add_seen(c, &s, &seen_ops);
    rp_checker_begin(c, &run);
    struct rp_exchange rec;
    make_exchange(&rec, 1, 200, "{}");
    struct rp_replay_event ev = event(&rec, &rec, RP_REPLAY_DONE, 10);
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_exchange(c, &ev, &err), RP_EIO);
    cr_assert_str_eq(err.msg, "seen: cannot write");
    struct rp_error err2 = {0};
    cr_assert_eq(rp_checker_exchange(c, &ev, &err2), RP_EIO);
    cr_assert_str_eq(err2.msg, "seen: cannot write");
    struct rp_run_summary sum;
    struct rp_error err3 = {0};
    cr_assert_eq(rp_checker_end(c, &sum, &err3), RP_EIO);
    cr_assert_str_eq(err3.msg, "seen: cannot write");
    cr_assert_eq(s.ends, 1, "the sinks still end");
    cr_assert_eq(sum.passed, 1, "what came after the error was not counted");
    rp_checker_free(c);
    rp_exchange_cleanup(&rec);
}

Test(check, a_run_that_checks_nothing_begins_and_ends_no_sink)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(NULL);
    add_seen(c, &s, &seen_ops);
    rp_checker_begin(c, &run);
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    cr_assert_eq(s.begins, 0);
    cr_assert_eq(s.ends, 0);
    cr_assert_eq(sum.passed + sum.failed + sum.errors + sum.skipped, 0);
    rp_checker_free(c);
}

/* ----- offline: verdicts read back --------------------------------------------------------- */

Test(check, a_stored_verdict_is_rechecked_against_its_shape_and_failures_only_reach_sinks)
{
    struct rp_checker_opts opts = {.failures_only = true};
    struct rp_checker *c = new_checker(&opts);
    struct seen s = {0};
    add_seen(c, &s, &seen_ops);
    rp_checker_begin(c, &run);
    cr_assert_eq(rp_checker_start_sinks(c, NULL), RP_OK);
    cr_assert_eq(s.begins, 1);

    struct rp_exchange rec, live;
    make_exchange(&rec, 4, 200, "{\"id\":1}");
    make_exchange(&live, 9, 404, "{\"id\":1}");

    /* Stored as a pass with its shape: the re-check finds the changed status. */
    struct rp_verdict v;
    rp_verdict_init(&v);
    v.session = "shop#1";
    v.recorded_seq = 4;
    v.live = &live;
    v.outcome = RP_OUTCOME_PASS;
    v.own_shape = rp_shape_infer(&rec.resp);
    v.shape = v.own_shape;
    cr_assert_eq(rp_checker_stored(c, &v, NULL), RP_OK);
    cr_assert_eq(v.outcome, RP_OUTCOME_FAIL);
    rp_verdict_cleanup(&v);

    /* Stored as a fail with no shape: nothing to re-check, the stored mismatches stay. */
    rp_verdict_init(&v);
    v.session = "shop#1";
    v.recorded_seq = 5;
    v.live = &live;
    v.outcome = RP_OUTCOME_FAIL;
    rp_mismatches_add(&v.mismatches, "$.total", "missing");
    cr_assert_eq(rp_checker_stored(c, &v, NULL), RP_OK);
    rp_verdict_cleanup(&v);

    /* A stored pass of the same shape stays a pass and is not shown. */
    rp_verdict_init(&v);
    v.session = "shop#1";
    v.recorded_seq = 6;
    v.live = &rec;
    v.outcome = RP_OUTCOME_PASS;
    v.own_shape = rp_shape_infer(&rec.resp);
    v.shape = v.own_shape;
    cr_assert_eq(rp_checker_stored(c, &v, NULL), RP_OK);
    rp_verdict_cleanup(&v);

    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    cr_assert_eq(s.n, 2, "failures only");
    cr_assert_eq(s.seq[0], 4);
    cr_assert_str_eq(s.first_message[0], "expected 200, got 404");
    cr_assert_eq(s.seq[1], 5);
    cr_assert_str_eq(s.first_path[1], "$.total");
    cr_assert_eq(sum.failed, 2);
    cr_assert_eq(sum.passed, 1);
    /* Offline latency is each exchange's stored duration: 9000, 9000 and 4000 us. */
    cr_assert_eq(sum.max_us, 9000);
    cr_assert_eq(sum.wall_us, 0, "a run read back has no wall time");
    rp_checker_free(c);
    rp_exchange_cleanup(&rec);
    rp_exchange_cleanup(&live);
}

/* ----- latency ----------------------------------------------------------------------------- */

Test(check, merged_latency_gives_the_quantiles_of_one_accumulator_fed_everything)
{
    /* Shard a: 10, 20, 1000, 5000 us; shard b: 30, 40 us. Sorted: 10 20 30 40 1000 5000. */
    static const uint64_t a_vals[] = {10, 20, 1000, 5000};
    static const uint64_t b_vals[] = {30, 40};
    struct rp_latency a, b, all, empty;
    rp_latency_init(&a);
    rp_latency_init(&b);
    rp_latency_init(&all);
    rp_latency_init(&empty);
    for (size_t i = 0; i < 4; i++) {
        rp_latency_add(&a, a_vals[i]);
        rp_latency_add(&all, a_vals[i]);
    }
    for (size_t i = 0; i < 2; i++) {
        rp_latency_add(&b, b_vals[i]);
        rp_latency_add(&all, b_vals[i]);
    }
    rp_latency_merge(&empty, &a);
    rp_latency_merge(&empty, &b);
    struct rp_latency *m = &empty;
    cr_assert_eq(m->n, 6);
    cr_assert_eq(m->max_us, 5000);
    /* Rank ceil(0.5 * 6) = 3: 30 us, exact below 64 us. */
    cr_assert_eq(rp_latency_quantile(m, 0.5), 30);
    /* Rank ceil(0.75 * 6) = 5: 1000 us, in the bucket [1000, 1008) whose midpoint is 1003. */
    cr_assert_eq(rp_latency_quantile(m, 0.75), 1003);
    /* Rank 6 is the maximum, kept exactly. */
    cr_assert_eq(rp_latency_quantile(m, 0.95), 5000);
    static const double qs[] = {0.1, 0.25, 0.5, 0.6, 0.75, 0.9, 0.95, 1.0};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        cr_assert_eq(rp_latency_quantile(m, qs[i]), rp_latency_quantile(&all, qs[i]), "q %g",
                     qs[i]);
    }
    /* Merging an empty accumulator changes nothing. */
    struct rp_latency none;
    rp_latency_init(&none);
    rp_latency_merge(m, &none);
    cr_assert_eq(m->n, 6);
    cr_assert_eq(rp_latency_quantile(m, 0.5), 30);
}
