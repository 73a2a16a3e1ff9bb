/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the check pipeline: hand-built recorded and live exchanges through a checker,
 * verdicts and totals as they reach sinks, the offline re-check, and the latency merge.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
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

/* ----- latency budgets --------------------------------------------------------------------- */

Test(check, a_step_is_slow_only_past_both_the_factor_and_the_floor)
{
    const uint64_t ms = 1000;
    /* 840 ms against 110: x7.6 and 730 ms more. */
    cr_assert(rp_latency_slow(840 * ms, 110 * ms, 3.0, 200 * ms));
    /* x3.5 but 5 ms more: not news. */
    cr_assert_not(rp_latency_slow(7 * ms, 2 * ms, 3.0, 200 * ms));
    /* 700 ms more but x1.07: a long step's noise. */
    cr_assert_not(rp_latency_slow(10700 * ms, 10000 * ms, 3.0, 200 * ms));
    /* The factor is "more than": exactly 3x is not slow, one microsecond more is. */
    cr_assert_not(rp_latency_slow(600 * ms, 200 * ms, 3.0, 200 * ms));
    cr_assert(rp_latency_slow(600 * ms + 1, 200 * ms, 3.0, 200 * ms));
    /* The floor is "at least": exactly 200 ms more is slow, one microsecond less is not. */
    cr_assert(rp_latency_slow(300 * ms, 100 * ms, 2.0, 200 * ms));
    cr_assert_not(rp_latency_slow(300 * ms - 1, 100 * ms, 2.0, 200 * ms));
    /* No reference, no factor, or faster than the reference: never slow. */
    cr_assert_not(rp_latency_slow(5000 * ms, 0, 3.0, 200 * ms));
    cr_assert_not(rp_latency_slow(5000 * ms, 100 * ms, 0.0, 200 * ms));
    cr_assert_not(rp_latency_slow(50 * ms, 100 * ms, 3.0, 0));
    /* A floor of 0 leaves the factor alone. */
    cr_assert(rp_latency_slow(7 * ms, 2 * ms, 3.0, 0));
}

Test(check, the_slow_note_gives_every_figure_it_has_and_the_factor_against_the_reference)
{
    struct rp_exchange live;
    rp_exchange_init(&live);
    struct rp_verdict v;
    rp_verdict_init(&v);
    v.live = &live;
    char buf[160];

    live.duration_us = 840000;
    v.recorded_us = 95000;
    v.baseline_us = 110000;
    cr_assert_str_eq(rp_verdict_slow_text(&v, buf, sizeof(buf)),
                     "840 ms, recorded 95 ms, baseline 110 ms (\xC3\x97"
                     "7.6)");
    /* No baseline: the factor is against the recorded latency; under 1 ms, two decimals. */
    live.duration_us = 2501100;
    v.recorded_us = 37;
    v.baseline_us = 0;
    cr_assert_str_eq(rp_verdict_slow_text(&v, buf, sizeof(buf)),
                     "2501 ms, recorded 0.04 ms (\xC3\x97"
                     "67597.3)");
    /* No recorded timing: the baseline only; under 10 ms, one decimal. */
    live.duration_us = 1840;
    v.recorded_us = 0;
    v.baseline_us = 600;
    cr_assert_str_eq(rp_verdict_slow_text(&v, buf, sizeof(buf)),
                     "1.8 ms, baseline 0.60 ms (\xC3\x97"
                     "3.1)");
    /* A short buffer gets a cut, terminated note. */
    cr_assert_str_eq(rp_verdict_slow_text(&v, buf, 5), "1.8 ");
    rp_exchange_cleanup(&live);
}

Test(check, a_baseline_pools_the_sessions_of_a_recording_per_step_and_gives_their_median)
{
    struct rp_baseline *b = rp_baseline_new();
    struct rp_error err = {0};
    /* shop step 4 in three sessions: 100, 120 and 110 ms; median 110 ms. */
    cr_assert_eq(rp_baseline_add(b, "shop#1", 4, 100000, &err), RP_OK);
    cr_assert_eq(rp_baseline_add(b, "shop#2", 4, 120000, &err), RP_OK);
    cr_assert_eq(rp_baseline_add(b, "shop#3", 4, 110000, &err), RP_OK);
    /* Another step of shop, and the same seq of another recording, stay apart. */
    cr_assert_eq(rp_baseline_add(b, "shop#1", 5, 2000, &err), RP_OK);
    cr_assert_eq(rp_baseline_add(b, "shop#x#2", 4, 40, &err), RP_OK);
    uint64_t m = 0;
    cr_assert(rp_baseline_median(b, "shop#9", 4, &m));
    /* 110000 falls in the bucket [109568, 110592), whose midpoint stands for it. */
    cr_assert_eq(m, 110079);
    cr_assert(rp_baseline_median(b, "shop", 5, &m), "a name without '#' is the recording's");
    cr_assert_eq(m, 2000 + 7, "the bucket [2000, 2016)");
    cr_assert(rp_baseline_median(b, "shop#x#1", 4, &m));
    cr_assert_eq(m, 40, "exact under 64 us");
    cr_assert_not(rp_baseline_median(b, "shop#1", 6, &m));
    cr_assert_not(rp_baseline_median(b, "shopping#1", 4, &m));
    /* p95 over all five values: rank 5, the largest. */
    cr_assert_eq(rp_baseline_p95(b), 120000);
    rp_baseline_free(b);
    cr_assert_eq(rp_baseline_p95(NULL), 0);
    cr_assert_not(rp_baseline_median(NULL, "shop#1", 4, &m));
}

Test(check, a_baseline_of_many_sessions_and_steps_keeps_each_median_within_one_percent)
{
    struct rp_baseline *b = rp_baseline_new();
    /* 300 steps (forcing the table to grow), each seen in 1001 sessions taking 1..1001 ms
     * (in a scrambled order), except that step s takes s ms more: median 501 + s ms. */
    char session[32];
    for (uint64_t k = 0; k < 1001; k++) {
        uint64_t ms = 1 + (k * 389) % 1001; /* 389 is prime to 1001: a permutation */
        snprintf(session, sizeof(session), "big#%" PRIu64, k + 1);
        for (uint64_t s = 1; s <= 300; s++) {
            cr_assert_eq(rp_baseline_add(b, session, s, (ms + s) * 1000, NULL), RP_OK);
        }
    }
    for (uint64_t s = 1; s <= 300; s += 37) {
        uint64_t m = 0, want = (501 + s) * 1000;
        cr_assert(rp_baseline_median(b, "big#1", s, &m));
        cr_assert(m >= want - want / 100 && m <= want + want / 100, "step %" PRIu64 ": %" PRIu64, s,
                  m);
    }
    rp_baseline_free(b);
}

/* A sink that keeps the latency fields of the verdicts it is given. */
struct slow_seen {
    size_t n;
    uint64_t seq[4], recorded_us[4], baseline_us[4];
    bool slow[4];
    enum rp_outcome outcome[4];
    char first_path[4][16];
    struct rp_run_summary sum;
};

static rp_code slow_begin(void *ctx, const struct rp_run_info *info, struct rp_error *err)
{
    (void)ctx, (void)info, (void)err;
    return RP_OK;
}

static rp_code slow_result(void *ctx, const struct rp_verdict *v, struct rp_error *err)
{
    (void)err;
    struct slow_seen *s = ctx;
    cr_assert_lt(s->n, 4);
    s->seq[s->n] = v->recorded_seq;
    s->recorded_us[s->n] = v->recorded_us;
    s->baseline_us[s->n] = v->baseline_us;
    s->slow[s->n] = v->slow;
    s->outcome[s->n] = v->outcome;
    snprintf(s->first_path[s->n], 16, "%s", v->mismatches.n ? v->mismatches.v[0].path : "");
    s->n++;
    return RP_OK;
}

static rp_code slow_end(void *ctx, const struct rp_run_summary *sum, struct rp_error *err)
{
    (void)err;
    ((struct slow_seen *)ctx)->sum = *sum;
    return RP_OK;
}

static const struct rp_sink_ops slow_ops = {
    .begin = slow_begin, .result = slow_result, .end = slow_end, .free = NULL};

/* Runs steps 1 and 2 of shop#1, recorded at 95 ms and 100 ms, live at 840 ms and 120 ms,
 * through a checker with opts (the default budget unless set) into s. */
static void run_slow_pair(struct rp_checker_opts *opts, struct slow_seen *s)
{
    static const char *const recs[] = {REC};
    opts->recordings = recs;
    opts->n_recordings = 1;
    opts->slow_factor = opts->slow_factor ? opts->slow_factor : RP_SLOW_FACTOR_DEFAULT;
    opts->slow_floor_us = opts->slow_floor_us ? opts->slow_floor_us : RP_SLOW_FLOOR_US_DEFAULT;
    struct rp_checker *c = new_checker(opts);
    struct rp_sink sink = {.ops = &slow_ops, .ctx = s};
    rp_checker_add_sink(c, &sink);
    rp_checker_begin(c, &run);
    static const uint64_t rec_us[] = {95000, 100000}, live_us[] = {840000, 120000};
    for (uint64_t i = 0; i < 2; i++) {
        struct rp_exchange rec, live;
        make_exchange(&rec, i + 1, 200, "{\"id\":1}");
        make_exchange(&live, i + 1, 200, "{\"id\":1}");
        rec.duration_us = rec_us[i];
        live.duration_us = live_us[i];
        struct rp_replay_event ev = event(&rec, &live, RP_REPLAY_DONE, live_us[i]);
        cr_assert_eq(rp_checker_exchange(c, &ev, NULL), RP_OK);
        rp_exchange_cleanup(&rec);
        rp_exchange_cleanup(&live);
    }
    cr_assert_eq(rp_checker_end(c, &s->sum, NULL), RP_OK);
    rp_checker_free(c);
}

Test(check, a_step_slower_than_its_recorded_latency_passes_with_a_warning)
{
    struct rp_checker_opts opts = {.failures_only = true};
    struct slow_seen s = {0};
    run_slow_pair(&opts, &s);
    cr_assert_eq(s.n, 1, "failures only, and the slow step");
    cr_assert_eq(s.seq[0], 1);
    cr_assert_eq(s.outcome[0], RP_OUTCOME_PASS);
    cr_assert(s.slow[0]);
    cr_assert_eq(s.recorded_us[0], 95000);
    cr_assert_eq(s.baseline_us[0], 0);
    cr_assert_eq(s.sum.passed, 2);
    cr_assert_eq(s.sum.slow, 1);
    cr_assert_eq(s.sum.baseline_p95_us, 0, "no baseline");
    cr_assert_not(s.sum.slow_p95);
}

Test(check, fail_on_slow_fails_the_slow_step_with_a_slow_mismatch)
{
    struct rp_checker_opts opts = {.fail_on_slow = true};
    struct slow_seen s = {0};
    run_slow_pair(&opts, &s);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.outcome[0], RP_OUTCOME_FAIL);
    cr_assert_str_eq(s.first_path[0], "slow");
    cr_assert_eq(s.outcome[1], RP_OUTCOME_PASS);
    cr_assert_not(s.slow[1]);
    cr_assert_eq(s.sum.failed, 1);
    cr_assert_eq(s.sum.slow, 1);
}

Test(check, the_baseline_median_is_the_reference_when_it_holds_the_step)
{
    /* Step 1 took 800 ms in the baseline: 840 ms is not slow against it. Step 2 took 30 ms,
     * against which 120 ms is x4 but not 200 ms more: not slow either, with a 200 ms floor; with
     * a 50 ms floor it is. The run's p95 is then judged against the baseline's. */
    struct rp_baseline *b = rp_baseline_new();
    cr_assert_eq(rp_baseline_add(b, "shop#1", 1, 800000, NULL), RP_OK);
    cr_assert_eq(rp_baseline_add(b, "shop#2", 2, 30000, NULL), RP_OK);
    struct rp_checker_opts opts = {.baseline = b};
    struct slow_seen s = {0};
    run_slow_pair(&opts, &s);
    cr_assert_eq(s.n, 2);
    cr_assert_not(s.slow[0]);
    cr_assert_eq(s.recorded_us[0], 95000);
    cr_assert(s.baseline_us[0] >= 792000 && s.baseline_us[0] <= 808000);
    cr_assert_not(s.slow[1]);
    cr_assert_eq(s.sum.slow, 0);
    cr_assert_eq(s.sum.baseline_p95_us, 800000, "the largest of two, exact");
    cr_assert_not(s.sum.slow_p95);

    struct rp_checker_opts tight = {.baseline = b, .slow_floor_us = 50000};
    struct slow_seen t = {0};
    run_slow_pair(&tight, &t);
    cr_assert_not(t.slow[0]);
    cr_assert(t.slow[1]);
    cr_assert_eq(t.sum.slow, 1);
    rp_baseline_free(b);
}

Test(check, a_run_whose_p95_is_over_budget_against_the_baseline_says_so)
{
    struct rp_baseline *b = rp_baseline_new();
    cr_assert_eq(rp_baseline_add(b, "other#1", 1, 100000, NULL), RP_OK);
    struct rp_checker_opts opts = {.baseline = b};
    struct slow_seen s = {0};
    run_slow_pair(&opts, &s);
    /* This run's p95 is its largest, 840 ms: x8.4 and 740 ms more than 100 ms. */
    cr_assert_eq(s.sum.p95_us, 840000);
    cr_assert_eq(s.sum.baseline_p95_us, 100000);
    cr_assert(s.sum.slow_p95);
    rp_baseline_free(b);
}

Test(check, a_stored_verdict_is_judged_offline_on_the_figures_it_kept)
{
    struct rp_checker_opts opts = {.failures_only = true,
                                   .slow_factor = RP_SLOW_FACTOR_DEFAULT,
                                   .slow_floor_us = RP_SLOW_FLOOR_US_DEFAULT};
    struct rp_checker *c = new_checker(&opts);
    struct slow_seen s = {0};
    struct rp_sink sink = {.ops = &slow_ops, .ctx = &s};
    rp_checker_add_sink(c, &sink);
    rp_checker_begin(c, &run);
    struct rp_exchange rec, live;
    make_exchange(&rec, 3, 200, "{\"id\":1}");
    make_exchange(&live, 3, 200, "{\"id\":1}");
    live.duration_us = 900000;
    /* Kept: recorded 100 ms, baseline 500 ms. Against the baseline: x1.8, not slow. */
    struct rp_verdict v;
    rp_verdict_init(&v);
    v.session = "shop#1";
    v.recorded_seq = 3;
    v.live = &live;
    v.outcome = RP_OUTCOME_PASS;
    v.own_shape = rp_shape_infer(&rec.resp);
    v.shape = v.own_shape;
    v.recorded_us = 100000;
    v.baseline_us = 500000;
    cr_assert_eq(rp_checker_stored(c, &v, NULL), RP_OK);
    cr_assert_not(v.slow);
    /* Kept without a baseline figure: against the recorded 100 ms, x9, slow. */
    v.baseline_us = 0;
    cr_assert_eq(rp_checker_stored(c, &v, NULL), RP_OK);
    cr_assert(v.slow);
    cr_assert_eq(v.outcome, RP_OUTCOME_PASS);
    rp_verdict_cleanup(&v);
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    cr_assert_eq(s.n, 1, "only the slow one reaches a failures-only sink");
    cr_assert(s.slow[0]);
    cr_assert_eq(sum.slow, 1);
    rp_checker_free(c);
    rp_exchange_cleanup(&rec);
    rp_exchange_cleanup(&live);
}

Test(check, a_step_with_no_recorded_timing_is_judged_against_the_baseline_only)
{
    /* A HAR without timings records duration 0: no reference, the check does not apply. */
    struct rp_checker_opts opts = {.slow_factor = RP_SLOW_FACTOR_DEFAULT,
                                   .slow_floor_us = RP_SLOW_FLOOR_US_DEFAULT};
    struct rp_baseline *b = rp_baseline_new();
    cr_assert_eq(rp_baseline_add(b, "shop#1", 2, 100000, NULL), RP_OK);
    for (int with_baseline = 0; with_baseline < 2; with_baseline++) {
        opts.baseline = with_baseline ? b : NULL;
        struct rp_checker *c = new_checker(&opts);
        struct slow_seen s = {0};
        struct rp_sink sink = {.ops = &slow_ops, .ctx = &s};
        rp_checker_add_sink(c, &sink);
        rp_checker_begin(c, &run);
        struct rp_exchange rec, live;
        make_exchange(&rec, 2, 200, "{\"id\":1}");
        make_exchange(&live, 2, 200, "{\"id\":1}");
        rec.duration_us = 0;
        live.duration_us = 5000000;
        struct rp_replay_event ev = event(&rec, &live, RP_REPLAY_DONE, live.duration_us);
        cr_assert_eq(rp_checker_exchange(c, &ev, NULL), RP_OK);
        struct rp_run_summary sum;
        cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
        cr_assert_eq(s.n, 1);
        cr_assert_eq(s.recorded_us[0], 0);
        cr_assert_eq(s.slow[0], with_baseline == 1, "with the baseline: 5 s against 100 ms");
        cr_assert_eq(sum.slow, (uint64_t)with_baseline);
        rp_checker_free(c);
        rp_exchange_cleanup(&rec);
        rp_exchange_cleanup(&live);
    }
    rp_baseline_free(b);
}
