/* SPDX-License-Identifier: MIT */
/* Unit tests for the HTML report sink (src/report/html.c): escaping, the document's structure,
 * writing as the run goes, the caps, scrubbing, and a failure's recorded and live values. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <reprise/limits.h>
#include <reprise/report.h>

#include "helpers.h"
#include "report/internal.h"

static char *dir;

static void setup(void)
{
    dir = tmp_dir();
}

static void teardown(void)
{
    rm_tree(dir);
}

TestSuite(report_html, .init = setup, .fini = teardown);

#define TARGET "https://shop.example.test"
#define T0     1795167001250000LL /* 2026-11-20T09:30:01.25Z */

static const struct rp_run_info run_info = {
    .run_id = "r-<2026>",
    .target = TARGET,
    .start_us = T0,
};

/* An exchange with a request and, when status is not 0, a JSON response with body. */
static void make_exchange(struct rp_exchange *ex, uint64_t seq, const char *method, const char *url,
                          unsigned status, const char *body)
{
    rp_exchange_init(ex);
    ex->seq = seq;
    ex->start_us = T0 + (int64_t)seq * 100000;
    ex->duration_us = 20000 + seq * 1000;
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

/* How many times needle occurs in hay. */
static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static void begin(struct rp_sink *sink)
{
    struct rp_error err = {0};
    cr_assert_eq(sink->ops->begin(sink->ctx, &run_info, &err), RP_OK, "%s", err.msg);
}

static void result(struct rp_sink *sink, const struct rp_verdict *v)
{
    struct rp_error err = {0};
    cr_assert_eq(sink->ops->result(sink->ctx, v, &err), RP_OK, "%s", err.msg);
}

static void session_done(struct rp_sink *sink, const char *session, enum rp_session_verdict verdict)
{
    struct rp_error err = {0};
    struct rp_session_result sr = {.session = session, .verdict = verdict, .attempts = 1};
    cr_assert_eq(sink->ops->session_verdict(sink->ctx, &sr, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(sink->ops->session_end(sink->ctx, session, &err), RP_OK, "%s", err.msg);
}

static void end(struct rp_sink *sink, const struct rp_run_summary *sum)
{
    struct rp_error err = {0};
    cr_assert_eq(sink->ops->end(sink->ctx, sum, &err), RP_OK, "%s", err.msg);
}

static void assert_xpath(const char *path, const char *expr, const char *want)
{
    char *got = xmllint_xpath(path, expr, 1);
    cr_assert_str_eq(got, want, "%s: got \"%s\", want \"%s\"", expr, got, want);
    free(got);
}

/* ----- escaping ---------------------------------------------------------------------------- */

Test(report_html, escape_turns_markup_into_references_and_drops_what_html_cannot_hold)
{
    struct rp_buf b;
    rp_buf_init(&b, 1024);
    const char in[] = "</script><img src=x onerror=\"a('b')\">&\x01\x7f\tok\xff\xc3\xa9";
    cr_assert_eq(rp__html_escape(&b, in, sizeof(in) - 1, NULL), RP_OK);
    cr_assert_str_eq(b.data, "&lt;/script&gt;&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;"
                             "&amp;\tok\xEF\xBF\xBD\xC3\xA9");
    rp_buf_cleanup(&b);
}

Test(report_html, escape_reports_its_cap_and_keeps_what_fitted)
{
    struct rp_buf b;
    rp_buf_init(&b, 5);
    cr_assert_eq(rp__html_escape(&b, "abc<def", 7, NULL), RP_ETOOBIG);
    cr_assert_str_eq(b.data, "abc");
    rp_buf_cleanup(&b);
}

/* ----- the document ----------------------------------------------------------------------- */

Test(report_html, writes_each_session_at_its_end_and_the_summary_and_script_at_the_end)
{
    struct rp_exchange ex[3];
    make_exchange(&ex[0], 1, "GET", TARGET "/api/cart", 200, "{\"n\":1}");
    make_exchange(&ex[1], 2, "POST", TARGET "/api/pay", 200, "{\"n\":2}");
    make_exchange(&ex[2], 1, "GET", TARGET "/api/cart", 200, "{\"n\":3}");
    struct rp_verdict v[3] = {
        {.session = "shop#1",
         .recorded_seq = 1,
         .live = &ex[0],
         .outcome = RP_OUTCOME_PASS,
         .recorded_us = 15000},
        {.session = "shop#1",
         .recorded_seq = 2,
         .live = &ex[1],
         .outcome = RP_OUTCOME_PASS,
         .step = "POST /api/pay"},
        {.session = "shop#2", .recorded_seq = 1, .live = &ex[2], .outcome = RP_OUTCOME_PASS},
    };
    char *path = path_in(dir, "r.html");
    char *tmp = path_in(dir, "r.html.tmp");
    struct rp_sink sink;
    rp_sink_html(&sink, path, NULL);
    begin(&sink);
    for (size_t i = 0; i < 3; i++) {
        result(&sink, &v[i]);
    }
    session_done(&sink, "shop#1", RP_SESSION_PASSED);

    /* Written as the run goes: the first session is in the temporary file already, the second
     * (still open) is not, and nothing is at the final path. */
    FILE *f = fopen(tmp, "r");
    cr_assert_not_null(f, "no temporary file while the run goes");
    fclose(f);
    char *partial = read_whole(tmp);
    cr_assert_eq(count(partial, "<section class=\"session"), 1);
    cr_assert(strstr(partial, "shop#1") != NULL);
    cr_assert(strstr(partial, "shop#2") == NULL);
    cr_assert(strstr(partial, "id=\"summary\"") == NULL);
    cr_assert_eq(access(path, F_OK), -1);
    free(partial);

    struct rp_run_summary sum = {.passed = 3,
                                 .p50_us = 21000,
                                 .p95_us = 23000,
                                 .max_us = 23000,
                                 .finished = true,
                                 .sessions = {.passed = 2}};
    end(&sink, &sum);
    rp_sink_free(&sink);
    cr_assert_eq(access(tmp, F_OK), -1, "the temporary file is left behind");

    char *doc = read_whole(path);
    cr_assert_eq(strncmp(doc, "<!DOCTYPE html>", 15), 0);
    cr_assert_eq(count(doc, "<script"), 1);
    cr_assert_eq(count(doc, "http-equiv=\"Content-Security-Policy\""), 1);
    cr_assert(strstr(doc, "default-src 'none'") != NULL);
    cr_assert(strstr(doc, "script-src 'sha256-") != NULL);
    cr_assert(strstr(doc, "<title>reprise report: r-&lt;2026&gt;</title>") != NULL);
    assert_xpath(path, "count(//section[@data-verdict])", "2");
    assert_xpath(path, "string(//section[@data-verdict][1]/h3)", "passedshop#12 steps · 43 ms");
    assert_xpath(path, "count(//section[@id=\"s1\"]//a[@class=\"wf-row o-pass\"])", "2");
    assert_xpath(path, "string(//section[@id=\"s1\"]//a[2]//span[@class=\"wf-name\"])",
                 "2POST /api/pay");
    assert_xpath(path, "string(//section[@id=\"s1\"]//a[1]//span[@class=\"wf-name\"])",
                 "1GET /api/cart");
    /* The second step starts 100 ms after the first: its bar is at 100 / 122 of the axis. */
    assert_xpath(path, "string(//section[@id=\"s1\"]//a[2]//span[@class=\"wf-live\"]/@style)",
                 "left:81.97%;width:18.03%");
    assert_xpath(path, "string(//section[@id=\"s1\"]//a[1]//span[@class=\"wf-rec\"]/@style)",
                 "left:0.00%;width:12.30%");
    assert_xpath(path, "string(//td[@data-k=\"steps.passed\"])", "3");
    assert_xpath(path, "string(//td[@data-k=\"sessions.passed\"])", "2");
    assert_xpath(path, "string(//td[@data-k=\"p95\"])", "23 ms");
    assert_xpath(path, "string(//span[@id=\"verdict\"])", "passed");
    assert_xpath(path, "string(//dd[@id=\"run-id\"])", "r-<2026>");
    assert_xpath(path, "count(//details[@class=\"step o-pass\"])", "3");
    assert_xpath(path, "count(//details[@open])", "0");
    free(doc);
    free(tmp);
    free(path);
    for (size_t i = 0; i < 3; i++) {
        rp_exchange_cleanup(&ex[i]);
    }
}

Test(report_html, a_hostile_body_renders_as_text)
{
    struct rp_exchange ex;
    make_exchange(&ex, 1, "GET", TARGET "/a?q=<script>", 200, NULL);
    const char *body = "</script><img src=x onerror=alert(1)><script>alert(2)</script>";
    rp_body_set(&ex.resp.body, body, strlen(body));
    struct rp_mismatches mm;
    rp_mismatches_init(&mm);
    rp_mismatches_add(&mm, "<b>$</b>", "expected <i>object</i>");
    struct rp_verdict v = {.session = "x<script>#1",
                           .recorded_seq = 1,
                           .live = &ex,
                           .outcome = RP_OUTCOME_FAIL,
                           .mismatches = mm,
                           .step = "GET /a?q=<img src=y onerror=z>"};
    char *path = path_in(dir, "h.html");
    struct rp_sink sink;
    rp_sink_html(&sink, path, NULL);
    begin(&sink);
    result(&sink, &v);
    session_done(&sink, "x<script>#1", RP_SESSION_FAILED);
    struct rp_run_summary sum = {.failed = 1, .finished = true, .sessions = {.failed = 1}};
    end(&sink, &sum);
    rp_sink_free(&sink);

    char *doc = read_whole(path);
    cr_assert_eq(count(doc, "<script"), 1, "only the report's own script");
    cr_assert_eq(count(doc, "<img"), 0);
    cr_assert_eq(count(doc, "<b>"), 0);
    cr_assert(strstr(doc, "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;") != NULL);
    assert_xpath(path, "count(//img)", "0");
    assert_xpath(path, "count(//script)", "1");
    assert_xpath(path, "string(//table[@class=\"mm\"]//tr[2]/td[1])", "<b>$</b>");
    assert_xpath(path, "string(//table[@class=\"mm\"]//tr[2]/td[3])", "not available");
    free(doc);
    free(path);
    rp_mismatches_cleanup(&mm);
    rp_exchange_cleanup(&ex);
}

Test(report_html, a_failure_shows_the_recorded_and_live_value_and_marks_them)
{
    struct rp_exchange rec, live;
    make_exchange(&rec, 3, "GET", TARGET "/api/order", 200,
                  "{\"items\":[{\"price\":2.5}],\"odd key\":{\"a\":1}}");
    make_exchange(&live, 3, "GET", TARGET "/api/order", 200,
                  "{\"items\":[{\"price\":\"2.50\"}],\"odd key\":{\"a\":\"1\"}}");
    rec.duration_us = 4000;
    struct rp_mismatches mm;
    rp_mismatches_init(&mm);
    rp_mismatches_add(&mm, "$.items[0].price", "expected number, got string \"2.50\"");
    rp_mismatches_add(&mm, "$[\"odd key\"].a", "expected number, got string \"1\"");
    rp_mismatches_add(&mm, "$.gone", "missing");
    struct rp_verdict v = {.session = "shop#1",
                           .recorded_seq = 3,
                           .live = &live,
                           .outcome = RP_OUTCOME_FAIL,
                           .mismatches = mm,
                           .recorded = &rec,
                           .recorded_us = 4000};
    char *path = path_in(dir, "f.html");
    struct rp_sink sink;
    rp_sink_html(&sink, path, NULL);
    begin(&sink);
    result(&sink, &v);
    session_done(&sink, "shop#1", RP_SESSION_FAILED);
    struct rp_run_summary sum = {.failed = 1, .finished = true, .sessions = {.failed = 1}};
    end(&sink, &sum);
    rp_sink_free(&sink);

    assert_xpath(path, "string(//table[@class=\"mm\"]//tr[2]/td[3])", "2.5");
    assert_xpath(path, "string(//table[@class=\"mm\"]//tr[2]/td[4])", "\"2.50\"");
    assert_xpath(path, "string(//table[@class=\"mm\"]//tr[3]/td[3])", "1");
    assert_xpath(path, "string(//table[@class=\"mm\"]//tr[3]/td[4])", "\"1\"");
    assert_xpath(path, "string(//table[@class=\"mm\"]//tr[4]/td[3])", "absent");
    /* Both bodies, pretty-printed, the two mismatched values marked in each. */
    assert_xpath(path, "count(//div[@class=\"pair\"]/div[1]//mark)", "2");
    assert_xpath(path, "count(//div[@class=\"pair\"]/div[2]//mark)", "2");
    assert_xpath(path, "string(//div[@class=\"pair\"]/div[2]//mark[1])", "\"2.50\"");
    assert_xpath(path, "string(//span[@id=\"verdict\"])", "failed");
    assert_xpath(path, "count(//ul[@id=\"failing\"]/li)", "1");
    assert_xpath(path, "count(//details[@open])", "1");
    free(path);
    rp_mismatches_cleanup(&mm);
    rp_exchange_cleanup(&rec);
    rp_exchange_cleanup(&live);
}

/* Offline (a results file read back: no verdict has its recorded exchange), the recorded
 * response is read from the recording the run names, once for a step however many sessions fail
 * it: more failures of it than RP_HTML_LOOKUPS_MAX reads all show the recorded value. */
Test(report_html, offline_every_failure_of_a_step_shows_its_recorded_value_read_once)
{
    const char *text =
        "{\"reprise\":1,\"name\":\"shop\",\"source\":{\"kind\":\"proxy\"}}\n"
        "{\"seq\":3,\"request\":{\"method\":\"GET\",\"url\":\"" TARGET "/api/order\","
        "\"headers\":[]},\"response\":{\"status\":200,\"headers\":[[\"Content-Type\","
        "\"application/json\"]],\"body\":\"{\\\"items\\\":[{\\\"price\\\":2.5}]}\"}}\n";
    char *plain = path_in(dir, "shop.jsonl");
    char *rec_path = path_in(dir, "shop.jsonl.gz");
    write_file(plain, text, strlen(text));
    cr_assert_eq(gzip_file(plain, rec_path), 0);
    const char *const recs[] = {rec_path};
    struct rp_run_info info = run_info;
    info.recordings = recs;
    info.n_recordings = 1;

    char *path = path_in(dir, "o.html");
    struct rp_sink sink;
    rp_sink_html(&sink, path, NULL);
    struct rp_error err = {0};
    cr_assert_eq(sink.ops->begin(sink.ctx, &info, &err), RP_OK, "%s", err.msg);
    const unsigned sessions = RP_HTML_LOOKUPS_MAX + 20;
    for (unsigned i = 1; i <= sessions; i++) {
        struct rp_exchange live;
        make_exchange(&live, 3, "GET", TARGET "/api/order", 200,
                      "{\"items\":[{\"price\":\"2.50\"}]}");
        struct rp_mismatches mm;
        rp_mismatches_init(&mm);
        rp_mismatches_add(&mm, "$.items[0].price", "expected number, got string \"2.50\"");
        char session[32];
        snprintf(session, sizeof(session), "shop#%u", i);
        struct rp_verdict v = {.session = session,
                               .recorded_seq = 3,
                               .live = &live,
                               .outcome = RP_OUTCOME_FAIL,
                               .mismatches = mm};
        result(&sink, &v);
        session_done(&sink, session, RP_SESSION_FAILED);
        rp_mismatches_cleanup(&mm);
        rp_exchange_cleanup(&live);
    }
    struct rp_run_summary sum = {
        .failed = sessions, .finished = true, .sessions = {.failed = sessions}};
    end(&sink, &sum);
    rp_sink_free(&sink);

    char want[16];
    snprintf(want, sizeof(want), "%u", sessions);
    assert_xpath(path, "count(//table[@class=\"mm\"]//tr[2]/td[3][text()=\"2.5\"])", want);
    assert_xpath(path, "count(//*[@class=\"na\"][contains(., \"not available\")])", "0");
    free(path);
    free(rec_path);
    free(plain);
}

/* ----- caps and scrubbing ------------------------------------------------------------------ */

Test(report_html, shows_passing_sessions_up_to_its_cap_and_counts_the_rest)
{
    struct rp_exchange ex;
    make_exchange(&ex, 1, "GET", TARGET "/", 200, NULL);
    char *path = path_in(dir, "c.html");
    struct rp_sink sink;
    struct rp_html_opts o = {.passing_max = 2};
    rp_sink_html(&sink, path, &o);
    begin(&sink);
    const char *names[] = {"s#1", "s#2", "s#3", "s#4", "s#5"};
    for (size_t i = 0; i < 5; i++) {
        struct rp_verdict v = {.session = names[i],
                               .recorded_seq = 1,
                               .live = &ex,
                               .outcome = i == 3 ? RP_OUTCOME_ERROR : RP_OUTCOME_PASS,
                               .error = "connection refused"};
        result(&sink, &v);
        session_done(&sink, names[i], i == 3 ? RP_SESSION_INFRA : RP_SESSION_PASSED);
    }
    struct rp_run_summary sum = {
        .passed = 4, .errors = 1, .finished = true, .sessions = {.passed = 4, .infra = 1}};
    end(&sink, &sum);
    rp_sink_free(&sink);
    /* Two passing in full, the failing one always, two passing counted. */
    assert_xpath(path, "count(//section[@data-verdict])", "3");
    assert_xpath(path, "count(//section[@data-verdict=\"infrastructure\"])", "1");
    assert_xpath(path, "string(//p[@id=\"hidden\"])",
                 "2 passing sessions not shown in full (2 are)");
    assert_xpath(path, "string(//span[@id=\"verdict\"])", "failed on the infrastructure");
    assert_xpath(path, "string(//p[@class=\"why\"])", "connection refused");
    free(path);
    rp_exchange_cleanup(&ex);
}

Test(report_html, caps_each_body_and_says_how_much_is_left_out)
{
    char body[1001];
    memset(body, 'a', 1000);
    body[0] = '"';
    body[999] = '"';
    body[1000] = '\0';
    struct rp_exchange ex;
    make_exchange(&ex, 1, "GET", TARGET "/big", 200, body);
    char *path = path_in(dir, "b.html");
    struct rp_sink sink;
    struct rp_html_opts o = {.body_max = 100};
    rp_sink_html(&sink, path, &o);
    begin(&sink);
    struct rp_verdict v = {
        .session = "s#1", .recorded_seq = 1, .live = &ex, .outcome = RP_OUTCOME_PASS};
    result(&sink, &v);
    struct rp_run_summary sum = {.passed = 1, .finished = true, .sessions = {.passed = 1}};
    struct rp_error err = {0};
    struct rp_session_result sr = {.session = "s#1", .verdict = RP_SESSION_PASSED, .attempts = 1};
    cr_assert_eq(sink.ops->session_verdict(sink.ctx, &sr, &err), RP_OK);
    end(&sink, &sum); /* a session still open at the end is written then */
    rp_sink_free(&sink);
    char *doc = read_whole(path);
    cr_assert(strstr(doc, "[... 900 more bytes not shown, 1000 in all]") != NULL);
    char run[101];
    memset(run, 'a', 100); /* the body's first byte is the quote, then 99 a's fit */
    run[100] = '\0';
    cr_assert(strstr(doc, run) == NULL, "the body is cut at 100 bytes");
    run[99] = '\0';
    cr_assert(strstr(doc, run) != NULL, "the body's first 100 bytes are shown");
    assert_xpath(path, "count(//section[@data-verdict=\"passed\"])", "1");
    free(doc);
    free(path);
    rp_exchange_cleanup(&ex);
}

Test(report_html, never_shows_a_credential_and_its_curl_names_them_as_variables)
{
    struct rp_exchange ex;
    make_exchange(&ex, 1, "POST", TARGET "/api/login", 200, "{\"ok\":true}");
    cr_assert_eq(rp_headers_add(&ex.req.headers, "Authorization", 13,
                                "Bearer tok-8c1d2e3f4a5b6c7d8e9f", 30, NULL),
                 RP_OK);
    cr_assert_eq(rp_headers_add(&ex.req.headers, "Cookie", 6, "sid=cookie-5f4e3d2c1b0a", 23, NULL),
                 RP_OK);
    cr_assert_eq(rp_headers_add(&ex.req.headers, "Content-Type", 12, "application/json", 16, NULL),
                 RP_OK);
    const char *form = "{\"email\":\"a@b.test\",\"password\":\"hunter2-correct-horse\"}";
    rp_body_set(&ex.req.body, form, strlen(form));
    char *path = path_in(dir, "s.html");
    struct rp_sink sink;
    rp_sink_html(&sink, path, NULL);
    begin(&sink);
    struct rp_mismatches mm;
    rp_mismatches_init(&mm);
    rp_mismatches_add(&mm, "status", "expected 201, got 200");
    struct rp_verdict v = {.session = "s#1",
                           .recorded_seq = 1,
                           .live = &ex,
                           .outcome = RP_OUTCOME_FAIL,
                           .mismatches = mm};
    result(&sink, &v);
    session_done(&sink, "s#1", RP_SESSION_FAILED);
    struct rp_run_summary sum = {.failed = 1, .finished = true, .sessions = {.failed = 1}};
    end(&sink, &sum);
    rp_sink_free(&sink);
    char *doc = read_whole(path);
    cr_assert(strstr(doc, "tok-8c1d2e3f4a5b6c7d8e9f") == NULL);
    cr_assert(strstr(doc, "cookie-5f4e3d2c1b0a") == NULL);
    cr_assert(strstr(doc, "hunter2-correct-horse") == NULL);
    assert_xpath(path, "count(//div[@class=\"curl\"]/textarea)", "1");
    char *curl = xmllint_xpath(path, "string(//div[@class=\"curl\"]/textarea)", 1);
    cr_assert(strncmp(curl, "curl ", 5) == 0, "%s", curl);
    cr_assert(strstr(curl, "$REPRISE_SECRET_") != NULL, "%s", curl);
    assert_xpath(path, "string(//table[@class=\"mm\"]//tr[2]/td[4])", "200");
    free(curl);
    free(doc);
    free(path);
    rp_mismatches_cleanup(&mm);
    rp_exchange_cleanup(&ex);
}

Test(report_html, an_unwritable_path_is_eio_naming_it)
{
    char *path = path_in(dir, "no-such-dir/r.html");
    struct rp_sink sink;
    rp_sink_html(&sink, path, NULL);
    struct rp_error err = {0};
    cr_assert_eq(sink.ops->begin(sink.ctx, &run_info, &err), RP_EIO);
    cr_assert(strstr(err.msg, path) != NULL, "%s", err.msg);
    rp_sink_free(&sink);
    free(path);
}

Test(report_html, a_run_that_did_not_finish_says_why)
{
    char *path = path_in(dir, "u.html");
    struct rp_sink sink;
    rp_sink_html(&sink, path, NULL);
    begin(&sink);
    struct rp_run_summary sum = {
        .finished = false, .unfinished_why = "cancelled by <SIGTERM>", .cancelled = 4};
    end(&sink, &sum);
    rp_sink_free(&sink);
    assert_xpath(path, "string(//span[@id=\"verdict\"])", "did not finish");
    assert_xpath(path, "string(//p[@id=\"unfinished\"])", "did not finish: cancelled by <SIGTERM>");
    assert_xpath(path, "string(//td[@data-k=\"steps.cancelled\"])", "4");
    free(path);
}

Test(report_html, past_the_passing_cap_a_session_keeps_details_from_its_first_failure_on)
{
    struct rp_exchange ex[3];
    make_exchange(&ex[0], 1, "GET", TARGET "/a", 200, NULL);
    make_exchange(&ex[1], 1, "GET", TARGET "/a", 200, NULL);
    make_exchange(&ex[2], 2, "GET", TARGET "/b", 0, NULL);
    char *path = path_in(dir, "l.html");
    struct rp_sink sink;
    struct rp_html_opts o = {.passing_max = 1};
    rp_sink_html(&sink, path, &o);
    begin(&sink);
    struct rp_verdict v[3] = {
        {.session = "s#1", .recorded_seq = 1, .live = &ex[0], .outcome = RP_OUTCOME_PASS},
        {.session = "s#2", .recorded_seq = 1, .live = &ex[1], .outcome = RP_OUTCOME_PASS},
        {.session = "s#2",
         .recorded_seq = 2,
         .live = &ex[2],
         .outcome = RP_OUTCOME_ERROR,
         .error = "timeout"},
    };
    result(&sink, &v[0]);
    session_done(&sink, "s#1", RP_SESSION_PASSED);
    result(&sink, &v[1]);
    result(&sink, &v[2]);
    session_done(&sink, "s#2", RP_SESSION_INFRA);
    struct rp_run_summary sum = {
        .passed = 2, .errors = 1, .finished = true, .sessions = {.passed = 1, .infra = 1}};
    end(&sink, &sum);
    rp_sink_free(&sink);
    assert_xpath(path, "count(//section[@id=\"s2\"]//a[contains(@class, \"wf-row\")])", "2");
    assert_xpath(path, "count(//section[@id=\"s2\"]//details)", "1");
    assert_xpath(path, "string(//section[@id=\"s2\"]//details/@id)", "s2-1");
    assert_xpath(path, "string(//section[@id=\"s2\"]/p[@class=\"caps\"])",
                 "the details of 1 step before the first failure were not kept: 1 passing "
                 "sessions had been shown when they ran");
    free(path);
    for (size_t i = 0; i < 3; i++) {
        rp_exchange_cleanup(&ex[i]);
    }
}
