/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for how teardown steps (replay --teardown) are reported apart: the checker's
 * separate tally, the terminal's "teardown" section, the JUnit testsuite of their own, and the
 * results file's "teardown" mark read back.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <reprise/check.h>
#include <reprise/recording.h>
#include <reprise/report.h>

#include "helpers.h"

static char *dir;

static void setup(void)
{
    dir = tmp_dir();
}

static void fini(void)
{
    rm_tree(dir);
}

TestSuite(report_teardown, .init = setup, .fini = fini);

#define TARGET "https://shop.example.test"
#define T0     1795167001250000LL

static void make_exchange(struct rp_exchange *ex, uint64_t seq, const char *method, const char *url,
                          unsigned status)
{
    rp_exchange_init(ex);
    ex->seq = seq;
    ex->start_us = T0 + (int64_t)seq * 1000000;
    ex->duration_us = 2000;
    ex->req.method = rp_xstrdup(method);
    ex->req.url = rp_xstrdup(url);
    ex->req.version = rp_xstrdup("HTTP/1.1");
    if (status) {
        ex->has_response = true;
        ex->resp.status = status;
        ex->resp.version = rp_xstrdup("HTTP/1.1");
    }
}

static const char *const recs[] = {"main.jsonl.gz"};
static const struct rp_run_info info = {
    .run_id = "r1",
    .target = TARGET,
    .start_us = T0,
    .recordings = recs,
    .n_recordings = 1,
};

/* Two main steps (a pass, a fail) and a teardown step (a pass) arriving between them. */
struct three {
    struct rp_exchange ex[3];
    struct rp_mismatches mm;
    struct rp_verdict v[3];
    struct rp_run_summary sum;
};

static void three_init(struct three *t)
{
    make_exchange(&t->ex[0], 1, "POST", TARGET "/orders", 201);
    make_exchange(&t->ex[1], 1, "POST", TARGET "/orders/5/refund", 200);
    make_exchange(&t->ex[2], 2, "GET", TARGET "/orders/5", 200);
    rp_mismatches_init(&t->mm);
    rp_mismatches_add(&t->mm, "$.id", "missing");
    t->v[0] = (struct rp_verdict){
        .session = "shop#1", .recorded_seq = 1, .live = &t->ex[0], .outcome = RP_OUTCOME_PASS};
    t->v[1] = (struct rp_verdict){.session = "shop#1",
                                  .recorded_seq = 1,
                                  .live = &t->ex[1],
                                  .outcome = RP_OUTCOME_PASS,
                                  .teardown = true};
    t->v[2] = (struct rp_verdict){.session = "shop#1",
                                  .recorded_seq = 2,
                                  .live = &t->ex[2],
                                  .outcome = RP_OUTCOME_FAIL,
                                  .mismatches = t->mm};
    t->sum = (struct rp_run_summary){.passed = 1, .failed = 1, .wall_us = 10000};
    t->sum.teardown.passed = 1;
}

static void three_cleanup(struct three *t)
{
    for (size_t i = 0; i < 3; i++) {
        rp_exchange_cleanup(&t->ex[i]);
    }
    rp_mismatches_cleanup(&t->mm);
}

static void run_sink(struct rp_sink *sink, const struct three *t)
{
    struct rp_error err = {0};
    cr_assert_eq(sink->ops->begin(sink->ctx, &info, &err), RP_OK, "%s", err.msg);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(sink->ops->result(sink->ctx, &t->v[i], &err), RP_OK, "%s", err.msg);
    }
    cr_assert_eq(sink->ops->end(sink->ctx, &t->sum, &err), RP_OK, "%s", err.msg);
}

/* ----- the checker -------------------------------------------------------------------------- */

Test(report_teardown, checker_tallies_teardown_steps_apart_from_the_main_ones)
{
    struct rp_checker *c = NULL;
    struct rp_checker_opts co = {0};
    cr_assert_eq(rp_checker_new(&co, &c, NULL), RP_OK);
    rp_checker_begin(c, &info);
    struct rp_exchange rec, live;
    make_exchange(&rec, 1, "POST", TARGET "/orders/211/refund", 200);
    make_exchange(&live, 1, "POST", TARGET "/orders/5/refund", 0);
    struct rp_replay_event ev = {
        .session = "shop#1", .recording = "x", .recorded = &rec, .live = &live};
    const struct {
        enum rp_replay_status st;
        bool teardown;
    } steps[] = {
        {RP_REPLAY_UNSAFE, false}, {RP_REPLAY_ERROR, true},   {RP_REPLAY_UNSAFE, true},
        {RP_REPLAY_SKIPPED, true}, {RP_REPLAY_SKIPPED, true}, {RP_REPLAY_SKIPPED, false},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        ev.status = steps[i].st;
        ev.teardown = steps[i].teardown;
        cr_assert_eq(rp_checker_exchange(c, &ev, NULL), RP_OK);
    }
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    cr_expect_eq(sum.unsafe, 1);
    cr_expect_eq(sum.errors, 0);
    cr_expect_eq(sum.skipped, 1);
    cr_expect_eq(sum.teardown.errors, 1);
    cr_expect_eq(sum.teardown.unsafe, 1);
    cr_expect_eq(sum.teardown.skipped, 2);
    cr_expect_eq(sum.teardown.passed + sum.teardown.failed, 0);
    rp_checker_free(c);
    rp_exchange_cleanup(&rec);
    rp_exchange_cleanup(&live);
}

/* ----- terminal ----------------------------------------------------------------------------- */

Test(report_teardown, terminal_shows_teardown_lines_in_a_section_after_the_main_ones)
{
    struct three t;
    three_init(&t);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cr_assert_not_null(out);
    struct rp_sink sink;
    rp_sink_terminal(&sink, out, false);
    run_sink(&sink, &t);
    rp_sink_free(&sink);
    cr_assert_eq(fclose(out), 0);

    const char *main1 = strstr(text, "/orders  ");
    const char *main2 = strstr(text, "/orders/5  ");
    const char *section = strstr(text, "\nteardown:\n");
    const char *td = strstr(text, "/orders/5/refund");
    const char *td_sum = strstr(text, "\nteardown: 1 passed, 0 failed, 0 unsafe, 0 errors, 0 "
                                      "skipped\n");
    const char *sum = strstr(text, "\n\n1 passed, 1 failed, 0 errors, 0 skipped in 0.01 s");
    cr_assert(main1 && main2 && section && td && td_sum && sum, "got:\n%s", text);
    cr_expect(main1 < main2 && main2 < section && section < td && td < td_sum && td_sum < sum,
              "order:\n%s", text);
    free(text);
    three_cleanup(&t);
}

Test(report_teardown, terminal_without_teardown_has_no_section)
{
    struct three t;
    three_init(&t);
    t.v[1].teardown = false;
    t.sum.teardown.passed = 0;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct rp_sink sink;
    rp_sink_terminal(&sink, out, false);
    run_sink(&sink, &t);
    rp_sink_free(&sink);
    cr_assert_eq(fclose(out), 0);
    cr_expect_null(strstr(text, "teardown"), "got:\n%s", text);
    free(text);
    three_cleanup(&t);
}

/* ----- JUnit -------------------------------------------------------------------------------- */

Test(report_teardown, junit_puts_a_sessions_teardown_in_a_testsuite_of_its_own)
{
    struct three t;
    three_init(&t);
    char *path = path_in(dir, "junit.xml");
    struct rp_sink sink;
    rp_sink_junit(&sink, path);
    run_sink(&sink, &t);
    rp_sink_free(&sink);
    char *xml = read_whole(path);
    const char *main_suite = strstr(xml, "<testsuite name=\"shop#1\" tests=\"2\" failures=\"1\"");
    const char *td_suite =
        strstr(xml, "<testsuite name=\"shop#1 teardown\" tests=\"1\" failures=\"0\"");
    cr_assert(main_suite && td_suite, "got:\n%s", xml);
    cr_expect(main_suite < td_suite, "the main suite comes first:\n%s", xml);
    cr_expect_not_null(
        strstr(td_suite, "classname=\"shop teardown\" name=\"1 POST /orders/5/refund\""),
        "got:\n%s", xml);
    cr_expect_not_null(strstr(xml, "<testsuites name=\"reprise\" tests=\"3\" failures=\"1\""));
    free(xml);
    free(path);
    three_cleanup(&t);
}

/* ----- results file ------------------------------------------------------------------------- */

Test(report_teardown, results_mark_teardown_steps_and_read_the_mark_back)
{
    struct three t;
    three_init(&t);
    char *path = path_in(dir, "results.jsonl.gz");
    struct rp_sink sink;
    rp_sink_results(&sink, path);
    run_sink(&sink, &t);
    rp_sink_free(&sink);

    struct rp_reader *rd = NULL;
    cr_assert_eq(rp_reader_open(path, NULL, &rd, NULL), RP_OK);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    bool want[] = {false, true, false};
    for (size_t i = 0; i < 3; i++) {
        bool got = false;
        cr_assert_eq(rp_reader_next(rd, &ex, &got, NULL), RP_OK);
        cr_assert(got);
        cr_expect_eq(strstr(ex.extra, "\"teardown\":true") != NULL, want[i], "line %zu: %s", i,
                     ex.extra);
        struct rp_verdict v;
        rp_verdict_init(&v);
        struct rp_error err = {0};
        cr_assert_eq(rp_results_read_verdict(&ex, &v, &err), RP_OK, "%s", err.msg);
        cr_expect_eq(v.teardown, want[i], "line %zu", i);
        rp_verdict_cleanup(&v);
    }
    rp_exchange_cleanup(&ex);
    rp_reader_free(rd);

    /* Anything but true or false there is refused. */
    struct rp_exchange bad;
    rp_exchange_init(&bad);
    bad.extra = rp_xstrdup("{\"check\":{\"session\":\"s#1\",\"recorded_seq\":1,\"outcome\":"
                           "\"pass\",\"teardown\":\"yes\",\"mismatches\":[]}}");
    struct rp_verdict v;
    rp_verdict_init(&v);
    struct rp_error err = {0};
    cr_expect_eq(rp_results_read_verdict(&bad, &v, &err), RP_EFORMAT);
    cr_expect_not_null(strstr(err.msg, "check.teardown"), "%s", err.msg);
    rp_verdict_cleanup(&v);
    rp_exchange_cleanup(&bad);
    free(path);
    three_cleanup(&t);
}
