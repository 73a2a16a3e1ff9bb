/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for what the reports make of retries (--retries): JUnit's testcase per step with
 * Maven Surefire's flakyFailure, rerunFailure and rerunError, checked byte for byte against a
 * hand-written file; the results file's "attempt" key, written and read back; the terminal's
 * sessions line.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include <reprise/report.h>

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

TestSuite(report_retry, .init = setup, .fini = teardown);

#define TARGET "https://shop.example.test"
#define T0     1795167001250000LL /* 2026-11-20T09:30:01.25Z */

/* An exchange GET TARGET path, started seq seconds after T0, with a response of status (0:
 * none). */
static void make_exchange(struct rp_exchange *ex, uint64_t seq, const char *path, unsigned status,
                          uint64_t duration_us)
{
    rp_exchange_init(ex);
    ex->seq = seq;
    ex->start_us = T0 + (int64_t)seq * 1000000;
    ex->duration_us = duration_us;
    ex->req.method = rp_xstrdup("GET");
    char url[256];
    snprintf(url, sizeof(url), "%s%s", TARGET, path);
    ex->req.url = rp_xstrdup(url);
    if (status) {
        ex->has_response = true;
        ex->resp.status = status;
    }
}

static const char *const recs[] = {"recordings/shop.jsonl.gz"};
static const struct rp_run_info run_info = {
    .run_id = "r",
    .target = TARGET,
    .start_us = T0,
    .recordings = recs,
    .n_recordings = 1,
};

/* One step of one attempt. */
struct row {
    const char *session;
    unsigned attempt;
    uint64_t seq;
    const char *path;
    unsigned status;
    enum rp_outcome outcome;
    const char *mismatch; /* FAIL: "PATH|MESSAGE"; ERROR, SKIPPED: the reason */
    uint64_t duration_us;
};

/* ----- JUnit -------------------------------------------------------------------------------- */

Test(report_retry, junit_merges_a_sessions_attempts_into_a_testcase_per_step_as_surefire_does)
{
    /* shop#1 is flaky: step 2 failed in attempt 1 and passed in the retry. shop#2 failed every
     * attempt: step 1 got no response, then a gateway's 502, then passed; step 2 was skipped,
     * then failed twice. Interleaved, as concurrent sessions are. */
    static const struct row rows[] = {
        {"shop#1", 0, 1, "/t/acme-r-1/api/a", 200, RP_OUTCOME_PASS, NULL, 1000},
        {"shop#1", 0, 2, "/t/acme-r-1/api/b", 200, RP_OUTCOME_FAIL,
         "$.id|expected number, got string", 2000},
        {"shop#2", 0, 1, "/t/acme-r-2/api/a", 0, RP_OUTCOME_ERROR, "connection refused", 5000},
        {"shop#1", 0, 3, "/t/acme-r-1/api/c", 200, RP_OUTCOME_PASS, NULL, 3000},
        {"shop#2", 0, 2, "/t/acme-r-2/api/b", 0, RP_OUTCOME_SKIPPED, "not sent", 0},
        {"shop#1", 1, 1, "/t/acme-r-1-r1/api/a", 200, RP_OUTCOME_PASS, NULL, 10000},
        {"shop#1", 1, 2, "/t/acme-r-1-r1/api/b", 200, RP_OUTCOME_PASS, NULL, 20000},
        {"shop#1", 1, 3, "/t/acme-r-1-r1/api/c", 200, RP_OUTCOME_PASS, NULL, 30000},
        {"shop#2", 1, 1, "/t/acme-r-2-r1/api/a", 502, RP_OUTCOME_FAIL,
         "status|expected 200, got 502", 7000},
        {"shop#2", 1, 2, "/t/acme-r-2-r1/api/b", 200, RP_OUTCOME_FAIL, "$.id|missing", 8000},
        {"shop#2", 2, 1, "/t/acme-r-2-r2/api/a", 200, RP_OUTCOME_PASS, NULL, 9000},
        {"shop#2", 2, 2, "/t/acme-r-2-r2/api/b", 200, RP_OUTCOME_FAIL, "$.id|missing", 4000},
    };
    enum { N = sizeof(rows) / sizeof(rows[0]) };
    char *path = path_in(dir, "junit.xml");
    struct rp_sink sink;
    rp_sink_junit(&sink, path);
    struct rp_error err = {0};
    cr_assert_eq(sink.ops->begin(sink.ctx, &run_info, &err), RP_OK, "%s", err.msg);
    for (size_t i = 0; i < N; i++) {
        const struct row *w = &rows[i];
        struct rp_exchange ex;
        make_exchange(&ex, w->seq, w->path, w->status, w->duration_us);
        struct rp_verdict v;
        rp_verdict_init(&v);
        v.session = w->session;
        v.recorded_seq = w->seq;
        v.live = &ex;
        v.outcome = w->outcome;
        v.attempt = w->attempt;
        if (w->outcome == RP_OUTCOME_FAIL) {
            char mpath[64];
            const char *bar = strchr(w->mismatch, '|');
            snprintf(mpath, sizeof(mpath), "%.*s", (int)(bar - w->mismatch), w->mismatch);
            rp_mismatches_add(&v.mismatches, mpath, "%s", bar + 1);
        } else {
            v.error = w->mismatch;
        }
        cr_assert_eq(sink.ops->result(sink.ctx, &v, &err), RP_OK, "%s", err.msg);
        rp_verdict_cleanup(&v);
        rp_exchange_cleanup(&ex);
    }
    /* shop#1 ends (written to the spill file); shop#2 is still open at the end. */
    struct rp_session_result flaky = {
        .session = "shop#1", .verdict = RP_SESSION_FLAKY, .attempts = 2};
    struct rp_session_result failed = {
        .session = "shop#2", .verdict = RP_SESSION_FAILED, .attempts = 3};
    cr_assert_eq(sink.ops->session_verdict(sink.ctx, &flaky, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(sink.ops->session_end(sink.ctx, "shop#1", &err), RP_OK, "%s", err.msg);
    cr_assert_eq(sink.ops->session_verdict(sink.ctx, &failed, &err), RP_OK, "%s", err.msg);
    struct rp_run_summary sum = {.wall_us = 2000000};
    cr_assert_eq(sink.ops->end(sink.ctx, &sum, &err), RP_OK, "%s", err.msg);
    rp_sink_free(&sink);

    char fixture[512];
    snprintf(fixture, sizeof(fixture), "%s/report/junit-retries.xml", REPRISE_TEST_DATA);
    char *want = read_whole(fixture);
    char *got = read_whole(path);
    cr_assert_str_eq(got, want);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", path);
    cr_assert_eq(system(cmd), 0, "xmllint rejects %s", path);
    free(want);
    free(got);
    free(path);
}

/* ----- the results file --------------------------------------------------------------------- */

/* Reads the check of a results-file line's extra keys (borrowed) into v. */
static rp_code read_check(const char *extra, struct rp_verdict *v, struct rp_error *err)
{
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.extra = (char *)extra;
    rp_verdict_init(v);
    rp_code rc = rp_results_read_verdict(&ex, v, err);
    v->live = NULL;
    return rc;
}

Test(report_retry, the_results_file_keeps_a_retrys_attempt_and_reads_it_back)
{
    char *path = path_in(dir, "run.results.jsonl.gz");
    struct rp_sink sink;
    rp_sink_results(&sink, path);
    struct rp_exchange ex[2];
    make_exchange(&ex[0], 1, "/t/acme-r-1/api/a", 200, 1000);
    make_exchange(&ex[1], 1, "/t/acme-r-1-r2/api/a", 200, 1000);
    struct rp_verdict res[2] = {
        {.session = "shop#1", .recorded_seq = 1, .live = &ex[0], .outcome = RP_OUTCOME_FAIL},
        {.session = "shop#1",
         .recorded_seq = 1,
         .live = &ex[1],
         .outcome = RP_OUTCOME_PASS,
         .attempt = 2},
    };
    struct rp_error err = {0};
    cr_assert_eq(sink.ops->begin(sink.ctx, &run_info, &err), RP_OK, "%s", err.msg);
    for (size_t i = 0; i < 2; i++) {
        cr_assert_eq(sink.ops->result(sink.ctx, &res[i], &err), RP_OK, "%s", err.msg);
    }
    struct rp_run_summary sum = {0};
    cr_assert_eq(sink.ops->end(sink.ctx, &sum, &err), RP_OK, "%s", err.msg);
    rp_sink_free(&sink);

    struct rp_reader *r = NULL;
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    struct rp_exchange got;
    rp_exchange_init(&got);
    bool more = false;
    struct rp_verdict v;
    cr_assert_eq(rp_reader_next(r, &got, &more, &err), RP_OK, "%s", err.msg);
    cr_assert(more);
    cr_expect_null(strstr(got.extra, "\"attempt\""), "a first attempt says nothing: %s", got.extra);
    cr_assert_eq(read_check(got.extra, &v, &err), RP_OK, "%s", err.msg);
    cr_expect_eq(v.attempt, 0);
    rp_verdict_cleanup(&v);
    cr_assert_eq(rp_reader_next(r, &got, &more, &err), RP_OK, "%s", err.msg);
    cr_assert(more);
    cr_expect_not_null(strstr(got.extra, "\"attempt\":2"), "%s", got.extra);
    cr_assert_eq(read_check(got.extra, &v, &err), RP_OK, "%s", err.msg);
    cr_expect_eq(v.attempt, 2);
    rp_verdict_cleanup(&v);
    rp_exchange_cleanup(&got);
    rp_reader_free(r);
    rp_exchange_cleanup(&ex[0]);
    rp_exchange_cleanup(&ex[1]);
    free(path);
}

Test(report_retry, an_attempt_that_is_not_an_integer_from_0_to_10_is_a_format_error)
{
    static const char *const bad[] = {"-1", "11", "1.5", "\"1\"", "true", "null"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char extra[256];
        snprintf(extra, sizeof(extra),
                 "{\"check\":{\"session\":\"shop#1\",\"recorded_seq\":1,\"outcome\":\"pass\","
                 "\"attempt\":%s}}",
                 bad[i]);
        struct rp_verdict v;
        struct rp_error err = {0};
        cr_expect_eq(read_check(extra, &v, &err), RP_EFORMAT, "attempt %s", bad[i]);
        cr_expect_str_eq(err.msg, "\"check.attempt\" is not an integer from 0 to 10", "%s", bad[i]);
        rp_verdict_cleanup(&v);
    }
}

/* ----- the terminal ------------------------------------------------------------------------- */

Test(report_retry, the_terminal_marks_a_retrys_lines_and_gives_the_sessions_verdicts)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct rp_sink sink;
    rp_sink_terminal(&sink, out, false);
    struct rp_error err = {0};
    cr_assert_eq(sink.ops->begin(sink.ctx, &run_info, &err), RP_OK, "%s", err.msg);
    struct rp_exchange ex;
    make_exchange(&ex, 1, "/t/acme-r-1-r2/api/a", 200, 1500);
    struct rp_verdict v = {
        .session = "shop#1", .recorded_seq = 1, .live = &ex, .outcome = RP_OUTCOME_PASS};
    cr_assert_eq(sink.ops->result(sink.ctx, &v, &err), RP_OK, "%s", err.msg);
    v.attempt = 2;
    cr_assert_eq(sink.ops->result(sink.ctx, &v, &err), RP_OK, "%s", err.msg);
    rp_exchange_cleanup(&ex);
    struct rp_run_summary sum = {.passed = 9, .failed = 2, .wall_us = 1000000};
    sum.sessions.passed = 1;
    sum.sessions.flaky = 2;
    sum.sessions.failed = 3;
    sum.sessions.infra = 4;
    cr_assert_eq(sink.ops->end(sink.ctx, &sum, &err), RP_OK, "%s", err.msg);
    rp_sink_free(&sink);
    fclose(out);
    const char *want =
        "  shop#1                1  GET    /t/acme-r-1-r2/api/a                      200"
        "       1.5 ms  ok\n"
        "  shop#1 r2             1  GET    /t/acme-r-1-r2/api/a                      200"
        "       1.5 ms  ok\n"
        "\n9 passed, 2 failed, 0 errors, 0 skipped in 1.00 s; latency p50 0.0 ms, "
        "p95 0.0 ms, max 0.0 ms\n"
        "sessions: 1 passed, 2 flaky, 3 failed, 4 infrastructure\n";
    size_t wl = strlen(want);
    cr_assert_geq(len, wl);
    cr_expect_str_eq(text + len - wl, want);
    free(text);
}
