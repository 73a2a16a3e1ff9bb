/* SPDX-License-Identifier: MIT */
/* Unit tests for the report sinks (terminal, JUnit XML, results file) and the latency counter. */
#include <criterion/criterion.h>
#include <stdio.h>

#include <reprise/limits.h>
#include <reprise/recording.h>
#include <reprise/report.h>
#include <reprise/shape.h>

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

TestSuite(report, .init = setup, .fini = teardown);

/* ----- fixtures ---------------------------------------------------------------------------- */

#define TARGET "https://shop.example.test"
#define T0     1795167001250000LL /* 2026-11-20T09:30:01.25Z */

/* An exchange with a request and, when status is not 0, a response with body (may be NULL). */
static void make_exchange(struct rp_exchange *ex, uint64_t seq, const char *method, const char *url,
                          unsigned status, const char *body, uint64_t duration_us)
{
    rp_exchange_init(ex);
    ex->seq = seq;
    ex->start_us = T0 + (int64_t)seq * 1000000;
    ex->duration_us = duration_us;
    ex->conn_id = 1;
    ex->req.method = rp_xstrdup(method);
    ex->req.url = rp_xstrdup(url);
    ex->req.version = rp_xstrdup("HTTP/1.1");
    if (status) {
        ex->has_response = true;
        ex->resp.status = status;
        ex->resp.version = rp_xstrdup("HTTP/1.1");
        if (body) {
            cr_assert_eq(
                rp_headers_add(&ex->resp.headers, "Content-Type", 12, "application/json", 16, NULL),
                RP_OK);
            rp_body_set(&ex->resp.body, body, strlen(body));
        }
    }
}

/* The four results of the terminal tests: a pass, a fail, an error and a skip. */
struct four {
    struct rp_exchange ex[4];
    struct rp_mismatches mm;
    struct rp_verdict res[4];
};

static void four_init(struct four *f)
{
    make_exchange(&f->ex[0], 1, "POST", TARGET "/api/login", 200, NULL, 12345);
    make_exchange(&f->ex[1], 2, "GET", TARGET "/api/cart?id=7", 200, NULL, 48100);
    make_exchange(&f->ex[2], 3, "GET", "http://other.example.test/feed", 0, NULL, 30000000);
    make_exchange(&f->ex[3], 4, "GET",
                  TARGET "/api/products/search?query="
                         "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ",
                  0, NULL, 0);
    rp_mismatches_init(&f->mm);
    rp_mismatches_add(&f->mm, "$.items[0].price", "expected number, got string \"12.00\"");
    rp_mismatches_add(&f->mm, "$.total", "missing");

    f->res[0] = (struct rp_verdict){.session = "demo-checkout#1",
                                    .recorded_seq = 3,
                                    .live = &f->ex[0],
                                    .outcome = RP_OUTCOME_PASS};
    f->res[1] = (struct rp_verdict){.session = "demo-checkout#1",
                                    .recorded_seq = 4,
                                    .live = &f->ex[1],
                                    .outcome = RP_OUTCOME_FAIL,
                                    .mismatches = f->mm};
    f->res[2] = (struct rp_verdict){.session = "search#2",
                                    .recorded_seq = 1,
                                    .live = &f->ex[2],
                                    .outcome = RP_OUTCOME_ERROR,
                                    .error = "connection refused"};
    f->res[3] = (struct rp_verdict){.session = "search#2",
                                    .recorded_seq = 2,
                                    .live = &f->ex[3],
                                    .outcome = RP_OUTCOME_SKIPPED,
                                    .error = "session stopped after an error"};
}

static void four_cleanup(struct four *f)
{
    for (size_t i = 0; i < 4; i++) {
        rp_exchange_cleanup(&f->ex[i]);
    }
    rp_mismatches_cleanup(&f->mm);
}

static const char *const two_recordings[] = {"recordings/demo-checkout.jsonl.gz",
                                             "recordings/search.jsonl.gz"};

static const struct rp_run_info run_info = {
    .run_id = "r-2026",
    .target = TARGET,
    .start_us = T0,
    .recordings = two_recordings,
    .n_recordings = 2,
};

static const struct rp_run_summary four_summary = {
    .passed = 1,
    .failed = 1,
    .errors = 1,
    .skipped = 1,
    .p50_us = 12345,
    .p95_us = 48100,
    .max_us = 48100,
    .wall_us = 1234567,
};

/* Runs begin, every result and end through sink; asserts each call succeeds. */
static void run_sink(struct rp_sink *sink, const struct rp_run_info *run,
                     const struct rp_verdict *res, size_t n, const struct rp_run_summary *sum)
{
    struct rp_error err = {0};
    cr_assert_eq(sink->ops->begin(sink->ctx, run, &err), RP_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(sink->ops->result(sink->ctx, &res[i], &err), RP_OK, "%s", err.msg);
    }
    cr_assert_eq(sink->ops->end(sink->ctx, sum, &err), RP_OK, "%s", err.msg);
}

/* Renders the four results through a terminal sink into new memory. */
static char *render_terminal(struct four *f, bool color)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cr_assert_not_null(out);
    struct rp_sink sink;
    rp_sink_terminal(&sink, out, color);
    run_sink(&sink, &run_info, f->res, 4, &four_summary);
    rp_sink_free(&sink);
    cr_assert_eq(fclose(out), 0);
    return text;
}

/* ----- terminal ---------------------------------------------------------------------------- */

Test(report, terminal_prints_one_line_per_result_details_and_a_summary)
{
    struct four f;
    four_init(&f);
    char *text = render_terminal(&f, false);
    const char *expected =
        "replaying 2 recordings against https://shop.example.test (run r-2026)\n"
        "  demo-checkout#1       3  POST   /api/login                                200"
        "      12.3 ms  ok\n"
        "  demo-checkout#1       4  GET    /api/cart?id=7                            200"
        "      48.1 ms  FAILED\n"
        "      $.items[0].price: expected number, got string \"12.00\"\n"
        "      $.total: missing\n"
        "  search#2              1  GET    http://other.example.test/feed            ---"
        "   30000.0 ms  ERROR\n"
        "      connection refused\n"
        "  search#2              2  GET    /api/products/searc...23456789ABCDEFGHIJ  ---"
        "         -     SKIPPED\n"
        "      session stopped after an error\n"
        "\n"
        "failures by step:\n"
        "  demo-checkout, step 4: GET /api/cart?id=7\n"
        "      $.items[0].price: expected number, got string  \xc3\x97 1 session, first "
        "demo-checkout#1\n"
        "      $.total: missing  \xc3\x97 1 session, first demo-checkout#1\n"
        "  search, step 1: GET http://other.example.test/feed\n"
        "      connection refused  \xc3\x97 1 session, first search#2\n"
        "\n"
        "1 passed, 1 failed, 1 error, 1 skipped in 1.23 s; latency p50 12.3 ms, p95 48.1 ms, "
        "max 48.1 ms\n";
    cr_assert_str_eq(text, expected);
    free(text);
    four_cleanup(&f);
}

Test(report, terminal_colours_outcomes_only_when_asked)
{
    struct four f;
    four_init(&f);
    char *on = render_terminal(&f, true);
    cr_assert_not_null(strstr(on, "  \033[32mok\033[0m\n"));
    cr_assert_not_null(strstr(on, "  \033[31mFAILED\033[0m\n"));
    cr_assert_not_null(strstr(on, "  \033[31mERROR\033[0m\n"));
    cr_assert_not_null(strstr(on, "  \033[33mSKIPPED\033[0m\n"));
    char *off = render_terminal(&f, false);
    cr_assert_null(strchr(off, '\033'));
    free(on);
    free(off);
    four_cleanup(&f);
}

Test(report, terminal_replaces_control_characters_from_the_server)
{
    struct rp_exchange ex;
    make_exchange(&ex, 1, "GET", TARGET "/a\033[2Jb", 500, NULL, 1000);
    struct rp_mismatches mm;
    rp_mismatches_init(&mm);
    rp_mismatches_add(&mm, "status", "expected 200, got 500 \"\033]0;pwned\007\"");
    struct rp_verdict res = {.session = "s\033#1",
                             .recorded_seq = 1,
                             .live = &ex,
                             .outcome = RP_OUTCOME_FAIL,
                             .mismatches = mm};
    struct rp_run_summary sum = {
        .failed = 1, .p50_us = 1000, .p95_us = 1000, .max_us = 1000, .wall_us = 5000};
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct rp_sink sink;
    rp_sink_terminal(&sink, out, false);
    run_sink(&sink, &run_info, &res, 1, &sum);
    rp_sink_free(&sink);
    fclose(out);

    const char *expected =
        "replaying 2 recordings against https://shop.example.test (run r-2026)\n"
        "  s?#1                  1  GET    /a?[2Jb                                   500"
        "       1.0 ms  FAILED\n"
        "      status: expected 200, got 500 \"?]0;pwned?\"\n"
        "\n"
        "failures by step:\n"
        "  s?, step 1: GET /a?[2Jb\n"
        "      status: expected 200, got 500 \"?]0;pwned?\"  \xc3\x97 1 session, first s?#1\n"
        "\n"
        "0 passed, 1 failed, 0 errors, 0 skipped in 0.01 s; latency p50 1.0 ms, p95 1.0 ms, "
        "max 1.0 ms\n";
    cr_assert_str_eq(text, expected);
    free(text);
    rp_mismatches_cleanup(&mm);
    rp_exchange_cleanup(&ex);
}

Test(report, sink_free_clears_the_sink)
{
    struct rp_sink sink;
    rp_sink_terminal(&sink, stdout, false);
    rp_sink_free(&sink);
    cr_assert_null(sink.ops);
    cr_assert_null(sink.ctx);
    rp_sink_free(&sink); /* a cleared sink may be freed again */
}

/* ----- JUnit ------------------------------------------------------------------------------- */

/* Output of `xmllint --xpath EXPR FILE`, as new memory without a trailing newline. */
static void assert_xpath(const char *file, const char *expr, const char *want)
{
    char *got = xmllint_xpath(file, expr, 0);
    cr_assert_str_eq(got, want, "%s", expr);
    free(got);
}

Test(report, junit_writes_a_suite_per_session_in_order_of_first_appearance)
{
    struct rp_exchange ex[5];
    make_exchange(&ex[0], 1, "POST", TARGET "/api/login", 200, NULL, 12345);
    make_exchange(&ex[1], 2, "GET", TARGET "/api/cart", 200, NULL, 48100);
    make_exchange(&ex[2], 3, "GET", "http://other.example.test/feed?a=1&b=2", 0, NULL, 30000000);
    make_exchange(&ex[3], 4, "GET", TARGET "/api/search", 0, NULL, 0);
    make_exchange(&ex[4], 5, "POST", TARGET "/api/logout", 204, NULL, 5600);
    ex[2].start_us = 1795167010000000LL; /* 2026-11-20T09:30:10Z */
    struct rp_mismatches mm;
    rp_mismatches_init(&mm);
    rp_mismatches_add(&mm, "$.items[0].price", "expected number, got string \"12.00\"");
    rp_mismatches_add(&mm, "$.note", "expected <string> & got \"x\002y\377\"");
    const char *s2 = "search<&\"\001>#2";
    struct rp_verdict res[5] = {
        {.session = "demo-checkout#1",
         .recorded_seq = 1,
         .live = &ex[0],
         .outcome = RP_OUTCOME_PASS},
        {.session = "demo-checkout#1",
         .recorded_seq = 2,
         .live = &ex[1],
         .outcome = RP_OUTCOME_FAIL,
         .mismatches = mm},
        {.session = s2,
         .recorded_seq = 1,
         .live = &ex[2],
         .outcome = RP_OUTCOME_ERROR,
         .error = "connection refused: <timeout> & 'x'"},
        {.session = s2,
         .recorded_seq = 2,
         .live = &ex[3],
         .outcome = RP_OUTCOME_SKIPPED,
         .error = "session stopped\nafter an error"},
        {.session = "demo-checkout#1",
         .recorded_seq = 3,
         .live = &ex[4],
         .outcome = RP_OUTCOME_PASS},
    };
    struct rp_run_summary sum = {
        .passed = 2, .failed = 1, .errors = 1, .skipped = 1, .wall_us = 31500000};
    char *path = path_in(dir, "junit.xml");
    struct rp_sink sink;
    rp_sink_junit(&sink, path);
    run_sink(&sink, &run_info, res, 5, &sum);
    rp_sink_free(&sink);

    /* Byte for byte the hand-written file. */
    char fixture[512];
    snprintf(fixture, sizeof(fixture), "%s/report/junit-two-sessions.xml", REPRISE_TEST_DATA);
    char *want = read_whole(fixture);
    char *got = read_whole(path);
    cr_assert_str_eq(got, want);

    /* Well-formed, and its structure as a JUnit consumer reads it. */
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", path);
    cr_assert_eq(system(cmd), 0, "xmllint rejects %s", path);
    assert_xpath(path, "count(//testsuite)", "2");
    assert_xpath(path, "count(//testcase)", "5");
    assert_xpath(path, "count(//failure)", "1");
    assert_xpath(path, "count(//error)", "1");
    assert_xpath(path, "count(//skipped)", "1");
    assert_xpath(path, "string(/testsuites/@tests)", "5");
    assert_xpath(path, "string(//testsuite[1]/@name)", "demo-checkout#1");
    assert_xpath(path, "string(//testsuite[1]/@tests)", "3");
    assert_xpath(path, "string(//testsuite[2]/@name)", "search<&\">#2");
    assert_xpath(path, "string(//testsuite[1]/testcase[3]/@name)", "3 POST /api/logout");
    assert_xpath(path, "string(//failure/@message)",
                 "2 mismatches: $.items[0].price: expected number, got string \"12.00\"");
    assert_xpath(path, "string(//failure)",
                 "$.items[0].price: expected number, got string \"12.00\"\n"
                 "$.note: expected <string> & got \"xy\xEF\xBF\xBD\"\n\n"
                 "GET https://shop.example.test/api/cart\nHTTP/1.1 200"); /* trailing newline cut */
    assert_xpath(path, "string(//skipped/@message)", "session stopped\nafter an error");
    assert_xpath(path, "string(//error/@message)", "connection refused: <timeout> & 'x'");

    char *tmp = path_in(dir, "junit.xml.tmp");
    cr_assert_eq(access(tmp, F_OK), -1, "the temporary file is left behind");
    free(tmp);
    free(want);
    free(got);
    free(path);
    rp_mismatches_cleanup(&mm);
    for (size_t i = 0; i < 5; i++) {
        rp_exchange_cleanup(&ex[i]);
    }
}

Test(report, junit_writes_a_finished_session_out_and_keeps_only_the_open_ones)
{
    /* The two sessions of the test above; search#2 ends after its two results, before the
     * last of demo-checkout#1: its suite is spilled and comes first, then the open one. */
    struct rp_exchange ex[5];
    make_exchange(&ex[0], 1, "POST", TARGET "/api/login", 200, NULL, 12345);
    make_exchange(&ex[1], 2, "GET", TARGET "/api/cart", 200, NULL, 48100);
    make_exchange(&ex[2], 3, "GET", "http://other.example.test/feed?a=1&b=2", 0, NULL, 30000000);
    make_exchange(&ex[3], 4, "GET", TARGET "/api/search", 0, NULL, 0);
    make_exchange(&ex[4], 5, "POST", TARGET "/api/logout", 204, NULL, 5600);
    ex[2].start_us = 1795167010000000LL;
    struct rp_mismatches mm;
    rp_mismatches_init(&mm);
    rp_mismatches_add(&mm, "$.items[0].price", "expected number, got string \"12.00\"");
    rp_mismatches_add(&mm, "$.note", "expected <string> & got \"x\002y\377\"");
    const char *s2 = "search<&\"\001>#2";
    struct rp_verdict res[5] = {
        {.session = "demo-checkout#1",
         .recorded_seq = 1,
         .live = &ex[0],
         .outcome = RP_OUTCOME_PASS},
        {.session = "demo-checkout#1",
         .recorded_seq = 2,
         .live = &ex[1],
         .outcome = RP_OUTCOME_FAIL,
         .mismatches = mm},
        {.session = s2,
         .recorded_seq = 1,
         .live = &ex[2],
         .outcome = RP_OUTCOME_ERROR,
         .error = "connection refused: <timeout> & 'x'"},
        {.session = s2,
         .recorded_seq = 2,
         .live = &ex[3],
         .outcome = RP_OUTCOME_SKIPPED,
         .error = "session stopped\nafter an error"},
        {.session = "demo-checkout#1",
         .recorded_seq = 3,
         .live = &ex[4],
         .outcome = RP_OUTCOME_PASS},
    };
    struct rp_run_summary sum = {
        .passed = 2, .failed = 1, .errors = 1, .skipped = 1, .wall_us = 31500000};
    char *path = path_in(dir, "junit.xml");
    struct rp_sink sink;
    rp_sink_junit(&sink, path);
    cr_assert_not_null(sink.ops->session_end);
    struct rp_error err = {0};
    cr_assert_eq(sink.ops->begin(sink.ctx, &run_info, &err), RP_OK, "%s", err.msg);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(sink.ops->result(sink.ctx, &res[i], &err), RP_OK, "%s", err.msg);
    }
    cr_assert_eq(sink.ops->session_end(sink.ctx, s2, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(sink.ops->session_end(sink.ctx, "never-seen#3", &err), RP_OK, "%s", err.msg);
    cr_assert_eq(sink.ops->result(sink.ctx, &res[4], &err), RP_OK, "%s", err.msg);
    cr_assert_eq(sink.ops->end(sink.ctx, &sum, &err), RP_OK, "%s", err.msg);
    rp_sink_free(&sink);

    /* The fixture of the test above with its two testsuite elements swapped. */
    char fixture[512];
    snprintf(fixture, sizeof(fixture), "%s/report/junit-two-sessions.xml", REPRISE_TEST_DATA);
    char *doc = read_whole(fixture);
    char *first = strstr(doc, "  <testsuite ");
    cr_assert_not_null(first);
    char *second = strstr(first + 1, "  <testsuite ");
    cr_assert_not_null(second);
    char *tail = strstr(second, "</testsuites>");
    cr_assert_not_null(tail);
    size_t n = strlen(doc);
    char *want = malloc(n + 1);
    size_t k = 0;
    memcpy(want + k, doc, (size_t)(first - doc));
    k += (size_t)(first - doc);
    memcpy(want + k, second, (size_t)(tail - second));
    k += (size_t)(tail - second);
    memcpy(want + k, first, (size_t)(second - first));
    k += (size_t)(second - first);
    memcpy(want + k, tail, strlen(tail) + 1);
    char *got = read_whole(path);
    cr_assert_str_eq(got, want);
    assert_xpath(path, "string(/testsuites/@tests)", "5");
    assert_xpath(path, "string(//testsuite[1]/@name)", "search<&\">#2");
    assert_xpath(path, "string(//testsuite[2]/@tests)", "3");
    free(want);
    free(doc);
    free(got);
    free(path);
    rp_mismatches_cleanup(&mm);
    for (size_t i = 0; i < 5; i++) {
        rp_exchange_cleanup(&ex[i]);
    }
}

Test(report, junit_reports_an_unwritable_path_as_eio_naming_it)
{
    struct rp_exchange ex;
    make_exchange(&ex, 1, "GET", TARGET "/", 200, NULL, 1000);
    struct rp_verdict res = {
        .session = "s#1", .recorded_seq = 1, .live = &ex, .outcome = RP_OUTCOME_PASS};
    char *path = path_in(dir, "no-such-dir/junit.xml");
    struct rp_sink sink;
    rp_sink_junit(&sink, path);
    struct rp_error err = {0};
    cr_assert_eq(sink.ops->begin(sink.ctx, &run_info, &err), RP_OK);
    cr_assert_eq(sink.ops->result(sink.ctx, &res, &err), RP_OK);
    struct rp_run_summary sum = {.passed = 1};
    cr_assert_eq(sink.ops->end(sink.ctx, &sum, &err), RP_EIO);
    cr_assert_eq(err.code, RP_EIO);
    cr_assert_eq(strncmp(err.msg, path, strlen(path)), 0, "%s", err.msg);
    rp_sink_free(&sink);
    free(path);
    rp_exchange_cleanup(&ex);
}

/* ----- results file ------------------------------------------------------------------------ */

/* A verdict read back, with its parts under the names the tests use. */
struct parsed_check {
    struct rp_verdict v;
    const char *session;
    uint64_t seq;
    enum rp_outcome outcome;
    const char *error;
    const struct rp_shape *shape;
    struct rp_mismatches mm; /* a view of v.mismatches */
};

/* Reads the verdict stored in an exchange's extra keys (borrowed). */
static rp_code read_verdict(const char *extra, struct rp_verdict *v, struct rp_error *err)
{
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.extra = (char *)extra;
    rp_code rc = rp_results_read_verdict(&ex, v, err);
    if (!rc) {
        cr_assert_eq(v->live, &ex);
        v->live = NULL;
    }
    return rc;
}

static void parse_check_ok(const char *extra, struct parsed_check *p)
{
    struct rp_error err = {0};
    rp_verdict_init(&p->v);
    cr_assert_eq(read_verdict(extra, &p->v, &err), RP_OK, "%s", err.msg);
    p->session = p->v.session;
    p->seq = p->v.recorded_seq;
    p->outcome = p->v.outcome;
    p->error = p->v.error;
    p->shape = p->v.shape;
    p->mm = p->v.mismatches;
}

static void parsed_cleanup(struct parsed_check *p)
{
    rp_verdict_cleanup(&p->v);
}

Test(report, results_file_holds_live_exchanges_with_their_checks)
{
    struct rp_exchange ex[3];
    make_exchange(&ex[0], 1, "POST", TARGET "/api/login", 200, "{\"token\":\"abc\"}", 12345);
    make_exchange(&ex[1], 2, "GET", TARGET "/api/cart", 200, "{\"total\":\"12.00\"}", 48100);
    make_exchange(&ex[2], 3, "GET", TARGET "/api/feed", 0, NULL, 30000000);
    ex[1].extra = rp_xstrdup("{\"note\":\"kept\",\"check\":{\"stale\":true}}");
    struct rp_mismatches mm;
    rp_mismatches_init(&mm);
    rp_mismatches_add(&mm, "$.total", "expected number, got string \"12.00\"");
    rp_mismatches_add(&mm, "$.items", "missing");
    struct rp_verdict res[3] = {
        {.session = "demo-checkout#1",
         .recorded_seq = 7,
         .live = &ex[0],
         .outcome = RP_OUTCOME_PASS},
        {.session = "demo-checkout#1",
         .recorded_seq = 8,
         .live = &ex[1],
         .outcome = RP_OUTCOME_FAIL,
         .mismatches = mm,
         .checks = {{.name = "shape", .outcome = RP_OUTCOME_FAIL},
                    {.name = "latency", .outcome = RP_OUTCOME_SKIPPED}},
         .n_checks = 2},
        {.session = "search#2",
         .recorded_seq = 1,
         .live = &ex[2],
         .outcome = RP_OUTCOME_ERROR,
         .error = "connection refused"},
    };
    char *path = path_in(dir, "run.results.jsonl.gz");
    struct rp_sink sink;
    rp_sink_results(&sink, path);
    struct rp_run_summary sum = {.passed = 1, .failed = 1, .errors = 1};
    run_sink(&sink, &run_info, res, 3, &sum);
    rp_sink_free(&sink);

    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    const struct rp_rec_meta *m = rp_reader_meta(r);
    cr_assert_str_eq(m->name, "results");
    cr_assert_str_eq(m->source_kind, "replay");
    cr_assert_str_eq(m->source_detail, TARGET);
    cr_assert_eq(m->n_tenants, 0);
    cr_assert_str_eq(m->extra,
                     "{\"run\":\"r-2026\",\"recordings\":[\"recordings/demo-checkout.jsonl.gz\","
                     "\"recordings/search.jsonl.gz\"],"
                     "\"started\":\"2026-11-20T09:30:01.250000Z\"}");

    struct rp_exchange got;
    rp_exchange_init(&got);
    bool more = false;
    struct parsed_check p;

    cr_assert_eq(rp_reader_next(r, &got, &more, &err), RP_OK, "%s", err.msg);
    cr_assert(more);
    cr_assert_eq(got.seq, 1);
    cr_assert_str_eq(got.req.url, TARGET "/api/login");
    cr_assert_eq(got.resp.status, 200);
    cr_assert_str_eq((char *)got.resp.body.data, "{\"token\":\"abc\"}");
    parse_check_ok(got.extra, &p);
    cr_assert_str_eq(p.session, "demo-checkout#1");
    cr_assert_eq(p.seq, 7);
    cr_assert_eq(p.outcome, RP_OUTCOME_PASS);
    cr_assert_null(p.error);
    cr_assert_null(p.shape);
    cr_assert_eq(p.mm.n, 0);
    cr_assert_null(strstr(got.extra, "\"checks\""), "no per-check results, no key");
    cr_assert_eq(p.v.n_checks, 0);
    parsed_cleanup(&p);

    cr_assert_eq(rp_reader_next(r, &got, &more, &err), RP_OK, "%s", err.msg);
    cr_assert(more);
    cr_assert_eq(got.seq, 2);
    cr_assert_not_null(strstr(got.extra, "\"note\":\"kept\""));
    cr_assert_null(strstr(got.extra, "stale"));
    parse_check_ok(got.extra, &p);
    cr_assert_str_eq(p.session, "demo-checkout#1");
    cr_assert_eq(p.seq, 8);
    cr_assert_eq(p.outcome, RP_OUTCOME_FAIL);
    cr_assert_eq(p.mm.n, 2);
    cr_assert_str_eq(p.mm.v[0].path, "$.total");
    cr_assert_str_eq(p.mm.v[0].message, "expected number, got string \"12.00\"");
    cr_assert_str_eq(p.mm.v[1].path, "$.items");
    cr_assert_str_eq(p.mm.v[1].message, "missing");
    cr_assert_not_null(strstr(got.extra, "\"checks\":{\"shape\":\"fail\",\"latency\":\"skipped\"}"),
                       "%s", got.extra);
    cr_assert_eq(p.v.n_checks, 2);
    cr_assert_str_eq(p.v.checks[0].name, "shape");
    cr_assert_eq(p.v.checks[0].outcome, RP_OUTCOME_FAIL);
    cr_assert_str_eq(p.v.checks[1].name, "latency");
    cr_assert_eq(p.v.checks[1].outcome, RP_OUTCOME_SKIPPED);
    parsed_cleanup(&p);

    cr_assert_eq(rp_reader_next(r, &got, &more, &err), RP_OK, "%s", err.msg);
    cr_assert(more);
    cr_assert(!got.has_response);
    parse_check_ok(got.extra, &p);
    cr_assert_str_eq(p.session, "search#2");
    cr_assert_eq(p.seq, 1);
    cr_assert_eq(p.outcome, RP_OUTCOME_ERROR);
    cr_assert_str_eq(p.error, "connection refused");
    parsed_cleanup(&p);

    cr_assert_eq(rp_reader_next(r, &got, &more, &err), RP_OK, "%s", err.msg);
    cr_assert(!more);
    rp_exchange_cleanup(&got);
    rp_reader_free(r);
    free(path);
    rp_mismatches_cleanup(&mm);
    for (size_t i = 0; i < 3; i++) {
        rp_exchange_cleanup(&ex[i]);
    }
}

/* Mismatches as one comparable text, "path: message" per line. */
static char *mismatch_text(const struct rp_mismatches *m)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    for (size_t i = 0; i < m->n; i++) {
        fprintf(f, "%s: %s\n", m->v[i].path, m->v[i].message);
    }
    fclose(f);
    return text;
}

Test(report, results_file_keeps_the_shape_so_it_rematches_the_same_way)
{
    /* The recorded response the shape comes from, and two live ones: one fits, one not. */
    struct rp_exchange recorded, good, bad;
    make_exchange(&recorded, 1, "GET", TARGET "/api/cart", 200,
                  "{\"total\":12.5,\"items\":[{\"id\":\"a\",\"qty\":1}]}", 1000);
    make_exchange(&good, 1, "GET", TARGET "/api/cart", 200,
                  "{\"total\":3,\"items\":[],\"extra\":true}", 2000);
    make_exchange(&bad, 2, "GET", TARGET "/api/cart", 200,
                  "{\"total\":\"12.00\",\"items\":[{\"id\":7}]}", 3000);
    struct rp_shape *shape = rp_shape_infer(&recorded.resp);
    cr_assert_not_null(shape);
    struct rp_mismatches good_mm, bad_mm;
    rp_mismatches_init(&good_mm);
    rp_mismatches_init(&bad_mm);
    cr_assert(rp_shape_match(shape, &good.resp, &good_mm));
    cr_assert(!rp_shape_match(shape, &bad.resp, &bad_mm));
    cr_assert_geq(bad_mm.n, 2, "total and items[0].id both changed type");

    struct rp_verdict res[2] = {
        {.session = "cart#1",
         .recorded_seq = 1,
         .live = &good,
         .outcome = RP_OUTCOME_PASS,
         .shape = shape},
        {.session = "cart#1",
         .recorded_seq = 1,
         .live = &bad,
         .outcome = RP_OUTCOME_FAIL,
         .mismatches = bad_mm,
         .shape = shape},
    };
    char *path = path_in(dir, "shape.results.jsonl.gz");
    struct rp_sink sink;
    rp_sink_results(&sink, path);
    struct rp_run_summary sum = {.passed = 1, .failed = 1};
    run_sink(&sink, &run_info, res, 2, &sum);
    rp_sink_free(&sink);

    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    struct rp_exchange got;
    rp_exchange_init(&got);
    bool more = false;
    struct parsed_check p;
    char *want_bad = mismatch_text(&bad_mm);

    cr_assert_eq(rp_reader_next(r, &got, &more, &err), RP_OK, "%s", err.msg);
    cr_assert(more);
    parse_check_ok(got.extra, &p);
    cr_assert_not_null(p.shape);
    cr_assert_eq(rp_shape_status(p.shape), 200);
    cr_assert_str_eq(rp_shape_media_type(p.shape), "application/json");
    struct rp_mismatches again;
    rp_mismatches_init(&again);
    cr_assert(rp_shape_match(p.shape, &got.resp, &again), "the passing response still passes");
    rp_mismatches_cleanup(&again);
    parsed_cleanup(&p);

    cr_assert_eq(rp_reader_next(r, &got, &more, &err), RP_OK, "%s", err.msg);
    cr_assert(more);
    parse_check_ok(got.extra, &p);
    cr_assert_eq(p.outcome, RP_OUTCOME_FAIL);
    cr_assert_not_null(p.shape);
    char *stored = mismatch_text(&p.mm);
    cr_assert_str_eq(stored, want_bad);
    rp_mismatches_init(&again);
    cr_assert(!rp_shape_match(p.shape, &got.resp, &again));
    char *rematched = mismatch_text(&again);
    cr_assert_str_eq(rematched, want_bad, "the stored shape finds the same mismatches");
    free(rematched);
    free(stored);
    rp_mismatches_cleanup(&again);
    parsed_cleanup(&p);

    free(want_bad);
    rp_exchange_cleanup(&got);
    rp_reader_free(r);
    free(path);
    rp_mismatches_cleanup(&good_mm);
    rp_mismatches_cleanup(&bad_mm);
    rp_shape_free(shape);
    rp_exchange_cleanup(&recorded);
    rp_exchange_cleanup(&good);
    rp_exchange_cleanup(&bad);
}

Test(report, results_keep_a_capped_mismatch_list_as_it_was)
{
    struct rp_exchange ex;
    make_exchange(&ex, 1, "GET", TARGET "/api/list", 200, "{}", 1000);
    struct rp_mismatches mm;
    rp_mismatches_init(&mm);
    for (int i = 0; i < 105; i++) {
        char path[32];
        snprintf(path, sizeof(path), "$.v[%d]", i);
        rp_mismatches_add(&mm, path, "missing");
    }
    /* The list holds the cap plus one closing entry that counts the rest. */
    cr_assert_eq(mm.n, RP_MAX_MISMATCHES + 1);
    struct rp_verdict res = {.session = "list#1",
                             .recorded_seq = 1,
                             .live = &ex,
                             .outcome = RP_OUTCOME_FAIL,
                             .mismatches = mm};
    char *path = path_in(dir, "capped.results.jsonl.gz");
    struct rp_sink sink;
    rp_sink_results(&sink, path);
    struct rp_run_summary sum = {.failed = 1};
    run_sink(&sink, &run_info, &res, 1, &sum);
    rp_sink_free(&sink);

    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    struct rp_exchange got;
    rp_exchange_init(&got);
    bool more = false;
    cr_assert_eq(rp_reader_next(r, &got, &more, &err), RP_OK, "%s", err.msg);
    cr_assert(more);
    struct parsed_check p;
    parse_check_ok(got.extra, &p);
    cr_assert_eq(p.mm.n, RP_MAX_MISMATCHES + 1);
    char *want = mismatch_text(&mm);
    char *stored = mismatch_text(&p.mm);
    cr_assert_str_eq(stored, want);
    free(stored);
    free(want);
    parsed_cleanup(&p);
    rp_exchange_cleanup(&got);
    rp_reader_free(r);
    free(path);
    rp_mismatches_cleanup(&mm);
    rp_exchange_cleanup(&ex);
}

Test(report, results_sink_freed_without_end_keeps_what_was_appended)
{
    struct rp_exchange ex;
    make_exchange(&ex, 1, "GET", TARGET "/", 200, NULL, 1000);
    struct rp_verdict res = {
        .session = "s#1", .recorded_seq = 1, .live = &ex, .outcome = RP_OUTCOME_PASS};
    char *path = path_in(dir, "cut.results.jsonl.gz");
    struct rp_sink sink;
    rp_sink_results(&sink, path);
    struct rp_error err = {0};
    cr_assert_eq(sink.ops->begin(sink.ctx, &run_info, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(sink.ops->result(sink.ctx, &res, &err), RP_OK, "%s", err.msg);
    rp_sink_free(&sink);

    struct rp_reader *r = NULL;
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    struct rp_exchange got;
    rp_exchange_init(&got);
    bool more = false;
    cr_assert_eq(rp_reader_next(r, &got, &more, &err), RP_OK, "%s", err.msg);
    cr_assert(more);
    cr_assert_str_eq(got.extra, "{\"check\":{\"session\":\"s#1\",\"recorded_seq\":1,"
                                "\"outcome\":\"pass\",\"mismatches\":[]}}");
    rp_exchange_cleanup(&got);
    rp_reader_free(r);
    free(path);
    rp_exchange_cleanup(&ex);
}

Test(report, results_open_failure_is_eio_naming_the_path)
{
    char *path = path_in(dir, "no-such-dir/r.jsonl.gz");
    struct rp_sink sink;
    rp_sink_results(&sink, path);
    struct rp_error err = {0};
    cr_assert_eq(sink.ops->begin(sink.ctx, &run_info, &err), RP_EIO);
    cr_assert_not_null(strstr(err.msg, path), "%s", err.msg);
    rp_sink_free(&sink);
    free(path);
}

Test(report, read_verdict_rejects_a_missing_or_invalid_check_and_leaves_the_verdict_alone)
{
    static const char *const bad[] = {
        NULL,
        "{\"note\":1}",
        "{\"check\":[]}",
        "{\"check\":{\"recorded_seq\":1,\"outcome\":\"pass\"}}",
        "{\"check\":{\"session\":\"s\",\"recorded_seq\":-1,\"outcome\":\"pass\"}}",
        "{\"check\":{\"session\":\"s\",\"recorded_seq\":1.5,\"outcome\":\"pass\"}}",
        "{\"check\":{\"session\":\"s\",\"recorded_seq\":1,\"outcome\":\"maybe\"}}",
        "{\"check\":{\"session\":\"s\",\"recorded_seq\":1,\"outcome\":\"fail\","
        "\"mismatches\":[{\"path\":\"$\"}]}}",
        "{\"check\":{\"session\":\"s\",\"recorded_seq\":1,\"outcome\":\"pass\",\"shape\":3}}",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rp_verdict v;
        rp_verdict_init(&v);
        v.session = "untouched";
        v.error = "untouched";
        v.recorded_seq = 99;
        v.outcome = RP_OUTCOME_SKIPPED;
        struct rp_error err = {0};
        cr_assert_eq(read_verdict(bad[i], &v, &err), RP_EFORMAT, "case %zu", i);
        cr_assert_neq(err.msg[0], '\0');
        cr_assert_str_eq(v.session, "untouched");
        cr_assert_str_eq(v.error, "untouched");
        cr_assert_eq(v.recorded_seq, 99);
        cr_assert_eq(v.outcome, RP_OUTCOME_SKIPPED);
        cr_assert_eq(v.mismatches.n, 0);
        cr_assert_null(v.own_session);
        rp_verdict_cleanup(&v);
    }
}

/* ----- latency ----------------------------------------------------------------------------- */

static void assert_within_1pct(uint64_t got, uint64_t want)
{
    cr_assert(got >= want - want / 100 && got <= want + want / 100, "got %llu, want %llu +- 1%%",
              (unsigned long long)got, (unsigned long long)want);
}

Test(report, latency_quantiles_of_uniform_data_are_within_one_percent)
{
    struct rp_latency l;
    rp_latency_init(&l);
    /* 1 ms to 1000 ms in 1 ms steps, added out of order. */
    for (uint64_t i = 0; i < 1000; i++) {
        rp_latency_add(&l, ((i * 7) % 1000 + 1) * 1000);
    }
    assert_within_1pct(rp_latency_quantile(&l, 0.5), 500000);
    assert_within_1pct(rp_latency_quantile(&l, 0.95), 950000);
    assert_within_1pct(rp_latency_quantile(&l, 0.01), 10000);
    cr_assert_eq(rp_latency_quantile(&l, 1.0), 1000000);
    cr_assert_eq(l.max_us, 1000000);
    cr_assert_eq(l.n, 1000);
}

Test(report, latency_is_exact_for_small_values_and_zero_when_empty)
{
    struct rp_latency l;
    rp_latency_init(&l);
    cr_assert_eq(rp_latency_quantile(&l, 0.5), 0);
    rp_latency_add(&l, 0);
    rp_latency_add(&l, 7);
    rp_latency_add(&l, 7);
    rp_latency_add(&l, 40);
    cr_assert_eq(rp_latency_quantile(&l, 0.25), 0);
    cr_assert_eq(rp_latency_quantile(&l, 0.5), 7);
    cr_assert_eq(rp_latency_quantile(&l, 0.75), 7);
    cr_assert_eq(rp_latency_quantile(&l, 1.0), 40);
}

Test(report, latency_clamps_huge_values_but_keeps_the_exact_maximum)
{
    struct rp_latency l;
    rp_latency_init(&l);
    rp_latency_add(&l, 1000);
    rp_latency_add(&l, UINT64_MAX);
    rp_latency_add(&l, (uint64_t)1 << 40);
    cr_assert_eq(l.max_us, UINT64_MAX);
    assert_within_1pct(rp_latency_quantile(&l, 0.3), 1000);
    cr_assert_eq(rp_latency_quantile(&l, 1.0), UINT64_MAX);
    uint64_t p60 = rp_latency_quantile(&l, 0.6);
    cr_assert(p60 > 1000 && p60 <= UINT64_MAX);
}

/* ----- latency budgets --------------------------------------------------------------------- */

/* A slow pass (840 ms, recorded 95, baseline 110), a pass in budget and an error. */
struct slow_three {
    struct rp_exchange ex[3];
    struct rp_verdict res[3];
};

static void slow_three_init(struct slow_three *t)
{
    make_exchange(&t->ex[0], 1, "POST", TARGET "/api/login", 200, "{}", 840000);
    make_exchange(&t->ex[1], 2, "GET", TARGET "/api/cart", 200, "{}", 48100);
    make_exchange(&t->ex[2], 3, "GET", TARGET "/api/feed", 0, NULL, 0);
    t->res[0] = (struct rp_verdict){.session = "demo-checkout#1",
                                    .recorded_seq = 3,
                                    .live = &t->ex[0],
                                    .outcome = RP_OUTCOME_PASS,
                                    .recorded_us = 95000,
                                    .baseline_us = 110000,
                                    .slow = true};
    t->res[1] = (struct rp_verdict){.session = "demo-checkout#1",
                                    .recorded_seq = 4,
                                    .live = &t->ex[1],
                                    .outcome = RP_OUTCOME_PASS,
                                    .recorded_us = 1000};
    t->res[2] = (struct rp_verdict){.session = "demo-checkout#1",
                                    .recorded_seq = 5,
                                    .live = &t->ex[2],
                                    .outcome = RP_OUTCOME_ERROR,
                                    .error = "connection refused"};
}

static void slow_three_cleanup(struct slow_three *t)
{
    for (size_t i = 0; i < 3; i++) {
        rp_exchange_cleanup(&t->ex[i]);
    }
}

static const struct rp_run_summary slow_summary = {
    .passed = 2,
    .errors = 1,
    .p50_us = 48100,
    .p95_us = 840000,
    .max_us = 840000,
    .wall_us = 1000000,
    .slow = 1,
    .baseline_p95_us = 110000,
    .slow_p95 = true,
};

Test(report, terminal_notes_a_slow_step_under_its_line_and_the_budget_under_the_summary)
{
    struct slow_three t;
    slow_three_init(&t);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct rp_sink sink;
    rp_sink_terminal(&sink, out, false);
    run_sink(&sink, &run_info, t.res, 3, &slow_summary);
    rp_sink_free(&sink);
    fclose(out);
    cr_assert_not_null(strstr(text,
                              "/api/login                                200     840.0 ms  ok\n"
                              "      slow: 840 ms, recorded 95 ms, baseline 110 ms (\xC3\x97"
                              "7.6)\n"
                              "  demo-checkout#1       4  GET"),
                       "%s", text);
    cr_assert_not_null(strstr(text, "max 840.0 ms\nslow: 1 step over the latency budget; p95 "
                                    "840.0 ms, baseline p95 110.0 ms: over budget\n"),
                       "%s", text);
    const char *first = strstr(text, "slow: 840");
    cr_assert_null(strstr(first + 1, "slow: 840"), "one note: %s", text);
    free(text);
    slow_three_cleanup(&t);
}

Test(report, junit_puts_a_slow_steps_note_in_its_system_out)
{
    struct slow_three t;
    slow_three_init(&t);
    char *path = path_in(dir, "slow.xml");
    struct rp_sink sink;
    rp_sink_junit(&sink, path);
    run_sink(&sink, &run_info, t.res, 3, &slow_summary);
    rp_sink_free(&sink);
    /* The note is the last line of its one <system-out>, after the step's heads. */
    assert_xpath(path,
                 "substring-after(string(//testcase[@name=\"3 POST /api/login\"]/system-out), "
                 "\"\nslow: \")",
                 "840 ms, recorded 95 ms, baseline 110 ms (\xC3\x97"
                 "7.6)");
    assert_xpath(path,
                 "starts-with(string(//testcase[@name=\"3 POST /api/login\"]/system-out), "
                 "\"POST \")",
                 "true");
    assert_xpath(path, "count(//testcase[@name=\"3 POST /api/login\"]/system-out)", "1");
    assert_xpath(path, "count(//system-out[contains(., \"slow:\")])", "1");
    assert_xpath(path, "count(//testcase[@name=\"3 POST /api/login\"]/failure)", "0");
    assert_xpath(path, "string(//testsuites/@failures)", "0");
    free(path);
    slow_three_cleanup(&t);
}

Test(report, results_file_keeps_the_latency_figures_and_reads_back_as_a_baseline)
{
    struct slow_three t;
    slow_three_init(&t);
    char *path = path_in(dir, "slow.results.jsonl.gz");
    struct rp_sink sink;
    rp_sink_results(&sink, path);
    run_sink(&sink, &run_info, t.res, 3, &slow_summary);
    rp_sink_free(&sink);

    struct rp_error err = {0};
    struct rp_reader *r = NULL;
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    struct rp_exchange got;
    rp_exchange_init(&got);
    bool more = false;
    cr_assert_eq(rp_reader_next(r, &got, &more, &err), RP_OK, "%s", err.msg);
    cr_assert_not_null(strstr(got.extra, "\"latency\":{\"recorded_us\":95000,"
                                         "\"baseline_us\":110000,\"slow\":true}"),
                       "%s", got.extra);
    struct rp_verdict v;
    rp_verdict_init(&v);
    cr_assert_eq(rp_results_read_verdict(&got, &v, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(v.recorded_us, 95000);
    cr_assert_eq(v.baseline_us, 110000);
    cr_assert_not(v.slow, "the check judges again");
    rp_verdict_cleanup(&v);
    cr_assert_eq(rp_reader_next(r, &got, &more, &err), RP_OK, "%s", err.msg);
    cr_assert_not_null(strstr(got.extra, "\"latency\":{\"recorded_us\":1000}"), "%s", got.extra);
    cr_assert_eq(rp_reader_next(r, &got, &more, &err), RP_OK, "%s", err.msg);
    cr_assert_null(strstr(got.extra, "latency"), "nothing known: %s", got.extra);
    rp_exchange_cleanup(&got);
    rp_reader_free(r);

    /* As a baseline: the two answered steps, at their bucket's midpoint; not the error. */
    struct rp_baseline *b = NULL;
    cr_assert_eq(rp_results_baseline(path, NULL, NULL, &b, &err), RP_OK, "%s", err.msg);
    uint64_t m = 0;
    cr_assert(rp_baseline_median(b, "demo-checkout#7", 3, &m));
    cr_assert_eq(m, 839679, "the bucket [835584, 843776)");
    cr_assert(rp_baseline_median(b, "demo-checkout#7", 4, &m));
    cr_assert_eq(m, 47871, "the bucket [47616, 48128)");
    cr_assert_not(rp_baseline_median(b, "demo-checkout#7", 5, &m));
    rp_baseline_free(b);
    free(path);
    slow_three_cleanup(&t);
}

Test(report, a_baseline_must_be_a_results_file_and_a_bad_figure_is_refused)
{
    struct rp_error err = {0};
    struct rp_baseline *b = NULL;
    char *missing = path_in(dir, "none.jsonl.gz");
    cr_assert_neq(rp_results_baseline(missing, NULL, NULL, &b, &err), RP_OK);
    cr_assert_null(b);
    free(missing);

    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.extra = rp_xstrdup("{\"check\":{\"session\":\"s#1\",\"recorded_seq\":1,\"outcome\":\"pass\","
                          "\"latency\":{\"recorded_us\":-5}}}");
    struct rp_verdict v;
    rp_verdict_init(&v);
    cr_assert_eq(rp_results_read_verdict(&ex, &v, &err), RP_EFORMAT);
    cr_assert_str_eq(err.msg, "\"check.latency.recorded_us\" is not a non-negative integer");
    rp_verdict_cleanup(&v);
    rp_exchange_cleanup(&ex);
}
