/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the terminal sink's long-run behaviour: the recap of failures grouped by step
 * and mismatch (and its cap), repeats named instead of reprinted, -q, columns elided in the
 * middle to a fixed width, and the progress line's text. Every expected text is written out by
 * hand.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include <reprise/limits.h>
#include <reprise/report.h>
#include <reprise/shape.h>

TestSuite(terminal);

#define TARGET "https://shop.example.test"

static void make_exchange(struct rp_exchange *ex, uint64_t seq, const char *method, const char *url,
                          unsigned status, uint64_t duration_us)
{
    rp_exchange_init(ex);
    ex->seq = seq;
    ex->duration_us = duration_us;
    ex->req.method = rp_xstrdup(method);
    ex->req.url = rp_xstrdup(url);
    ex->req.version = rp_xstrdup("HTTP/1.1");
    if (status) {
        ex->has_response = true;
        ex->resp.status = status;
        ex->resp.version = rp_xstrdup("HTTP/1.1");
    }
}

static const char *const one_recording[] = {"recordings/demo-checkout.jsonl.gz"};

static const struct rp_run_info run_info = {
    .run_id = "r-2026",
    .target = TARGET,
    .recordings = one_recording,
    .n_recordings = 1,
};

/* A terminal sink writing into new memory. */
struct screen {
    char *text;
    size_t len;
    FILE *out;
    struct rp_sink sink;
};

static void screen_open(struct screen *s, const struct rp_terminal_opts *o)
{
    s->text = NULL;
    s->len = 0;
    s->out = open_memstream(&s->text, &s->len);
    cr_assert_not_null(s->out);
    rp_sink_terminal_opts(&s->sink, s->out, o);
    struct rp_error err = {0};
    cr_assert_eq(s->sink.ops->begin(s->sink.ctx, &run_info, &err), RP_OK, "%s", err.msg);
}

static void screen_put(struct screen *s, const struct rp_verdict *v)
{
    struct rp_error err = {0};
    cr_assert_eq(s->sink.ops->result(s->sink.ctx, v, &err), RP_OK, "%s", err.msg);
}

/* Ends the run with sum and returns the whole text (the caller frees it). */
static char *screen_close(struct screen *s, const struct rp_run_summary *sum)
{
    struct rp_error err = {0};
    cr_assert_eq(s->sink.ops->end(s->sink.ctx, sum, &err), RP_OK, "%s", err.msg);
    rp_sink_free(&s->sink);
    cr_assert_eq(fclose(s->out), 0);
    return s->text;
}

/* Counts the times needle occurs in text. */
static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* A drifted order step: session NAME#i, step 6, both prices now strings. */
struct drifted {
    char session[32];
    struct rp_exchange ex;
    struct rp_mismatches mm;
    struct rp_verdict v;
};

static void drifted_init(struct drifted *d, unsigned i, const char *price)
{
    snprintf(d->session, sizeof(d->session), "demo-checkout#%u", i);
    char url[128];
    snprintf(url, sizeof(url), TARGET "/t/acme-r-%u/api/orders", i);
    make_exchange(&d->ex, 6, "POST", url, 201, 1500);
    rp_mismatches_init(&d->mm);
    rp_mismatches_add(&d->mm, "$.items[0].price", "expected number, got string \"%s\"", price);
    rp_mismatches_add(&d->mm, "$.items[1].price", "expected number, got string \"18.90\"");
    d->v = (struct rp_verdict){.session = d->session,
                               .recorded_seq = 6,
                               .live = &d->ex,
                               .outcome = RP_OUTCOME_FAIL,
                               .mismatches = d->mm};
}

static void drifted_cleanup(struct drifted *d)
{
    rp_mismatches_cleanup(&d->mm);
    rp_exchange_cleanup(&d->ex);
}

static const struct rp_run_summary sum_200 = {
    .passed = 200, .failed = 200, .p50_us = 1500, .p95_us = 1500, .max_us = 1500, .wall_us = 0};

Test(terminal, the_recap_heads_a_step_with_its_stable_name_not_the_first_sessions_path)
{
    struct rp_terminal_opts o = {0};
    struct screen s;
    screen_open(&s, &o);
    for (unsigned i = 1; i <= 3; i++) {
        struct drifted d;
        drifted_init(&d, i, "2.50");
        d.v.step = "POST /t/{tenant}/api/orders";
        screen_put(&s, &d.v);
        drifted_cleanup(&d);
    }
    char *text = screen_close(&s, &sum_200);
    cr_assert_not_null(strstr(text, "failures by step:\n"
                                    "  demo-checkout, step 6: POST /t/{tenant}/api/orders\n"),
                       "%s", text);
    cr_assert_null(strstr(text, "step 6: POST /t/acme-r-1/"), "%s", text);
    /* Each session's own row still shows the path it sent. */
    cr_assert_not_null(strstr(text, "/t/acme-r-3/api/orders"), "%s", text);
    free(text);
}

Test(terminal, identical_failures_of_many_sessions_print_once_and_are_counted_in_the_recap)
{
    struct rp_terminal_opts o = {0};
    struct screen s;
    screen_open(&s, &o);
    for (unsigned i = 1; i <= 200; i++) {
        struct drifted d;
        /* The live value differs between sessions; the kind of mismatch does not. */
        drifted_init(&d, i, i % 2 ? "2.50" : "3.10");
        screen_put(&s, &d.v);
        drifted_cleanup(&d);
    }
    char *text = screen_close(&s, &sum_200);

    /* The first session's mismatches in full, once; the 199 others name it. */
    cr_assert_eq(count_of(text, "      $.items[0].price: expected number, got string \"2.50\"\n"),
                 1);
    cr_assert_eq(count_of(text, "got string \"3.10\""), 0);
    cr_assert_eq(count_of(text, "FAILED  (same as demo-checkout#1)\n"), 199);
    cr_assert_not_null(strstr(text, "  demo-checkout#200     6  POST   /t/acme-r-200/api/orders"
                                    "                  201       1.5 ms  FAILED  (same as "
                                    "demo-checkout#1)\n"));
    const char *recap =
        "\n"
        "failures by step:\n"
        "  demo-checkout, step 6: POST /t/acme-r-1/api/orders\n"
        "      $.items[0].price: expected number, got string  \xc3\x97 200 sessions, first "
        "demo-checkout#1\n"
        "      $.items[1].price: expected number, got string  \xc3\x97 200 sessions, first "
        "demo-checkout#1\n"
        "\n"
        "200 passed, 200 failed, 0 errors, 0 skipped in 0.00 s; latency p50 1.5 ms, p95 1.5 ms, "
        "max 1.5 ms\n";
    size_t n = strlen(text), k = strlen(recap);
    cr_assert(n > k);
    cr_assert_str_eq(text + n - k, recap);
    free(text);
}

Test(terminal, a_new_mismatch_beside_known_ones_is_printed_and_the_rest_counted)
{
    struct rp_terminal_opts o = {0};
    struct screen s;
    screen_open(&s, &o);
    struct drifted a, b;
    drifted_init(&a, 1, "2.50");
    drifted_init(&b, 2, "2.50");
    rp_mismatches_add(&b.v.mismatches, "$.total", "missing");
    screen_put(&s, &a.v);
    screen_put(&s, &b.v);
    struct rp_run_summary sum = {.failed = 2};
    char *text = screen_close(&s, &sum);
    cr_assert_not_null(strstr(text, "/api/orders                    201       1.5 ms  FAILED\n"
                                    "      $.total: missing\n"
                                    "      and 2 more as in demo-checkout#1\n"));
    cr_assert_not_null(strstr(text, "      $.total: missing  \xc3\x97 1 session, first "
                                    "demo-checkout#2\n"));
    free(text);
    drifted_cleanup(&a);
    b.mm = b.v.mismatches; /* grown by the add above */
    drifted_cleanup(&b);
}

Test(terminal, the_recap_keeps_a_bounded_number_of_rows_and_counts_the_rest)
{
    struct rp_terminal_opts o = {0};
    struct screen s;
    screen_open(&s, &o);
    /* RP_REPORT_RECAP_ROWS + 10 distinct errors, each of its own step. */
    for (unsigned i = 1; i <= RP_REPORT_RECAP_ROWS + 10; i++) {
        struct rp_exchange ex;
        char url[64], why[64];
        snprintf(url, sizeof(url), TARGET "/step/%u", i);
        snprintf(why, sizeof(why), "timeout %u", i);
        make_exchange(&ex, i, "GET", url, 0, 1000);
        struct rp_verdict v = {.session = "crowd#1",
                               .recorded_seq = i,
                               .live = &ex,
                               .outcome = RP_OUTCOME_ERROR,
                               .error = why};
        screen_put(&s, &v);
        rp_exchange_cleanup(&ex);
    }
    struct rp_run_summary sum = {.errors = RP_REPORT_RECAP_ROWS + 10};
    char *text = screen_close(&s, &sum);
    cr_assert_eq(count_of(text, "\xc3\x97 1 session, first crowd#1\n"), RP_REPORT_RECAP_ROWS);
    cr_assert_not_null(strstr(text, "  crowd, step 64: GET /step/64\n"
                                    "      timeout 64  \xc3\x97 1 session, first crowd#1\n"
                                    "  ... and 10 more failures of other kinds (the recap keeps "
                                    "64)\n"));
    cr_assert_null(strstr(text, "step 65:"));
    free(text);
}

Test(terminal, quiet_prints_only_failures_the_recap_and_the_summary)
{
    struct rp_terminal_opts o = {.quiet = true};
    struct screen s;
    screen_open(&s, &o);
    struct rp_exchange ok_ex, skip_ex;
    make_exchange(&ok_ex, 1, "GET", TARGET "/", 200, 1000);
    make_exchange(&skip_ex, 7, "GET", TARGET "/later", 0, 0);
    struct rp_verdict ok = {.session = "demo-checkout#1",
                            .recorded_seq = 1,
                            .live = &ok_ex,
                            .outcome = RP_OUTCOME_PASS};
    struct rp_verdict skipped = {.session = "demo-checkout#1",
                                 .recorded_seq = 7,
                                 .live = &skip_ex,
                                 .outcome = RP_OUTCOME_SKIPPED,
                                 .error = "session stopped"};
    struct drifted d;
    drifted_init(&d, 1, "2.50");
    screen_put(&s, &ok);
    screen_put(&s, &d.v);
    screen_put(&s, &skipped);
    struct rp_run_summary sum = {.passed = 1, .failed = 1, .skipped = 1};
    char *text = screen_close(&s, &sum);
    const char *expected =
        "  demo-checkout#1       6  POST   /t/acme-r-1/api/orders                    201       "
        "1.5 ms  FAILED\n"
        "      $.items[0].price: expected number, got string \"2.50\"\n"
        "      $.items[1].price: expected number, got string \"18.90\"\n"
        "\n"
        "failures by step:\n"
        "  demo-checkout, step 6: POST /t/acme-r-1/api/orders\n"
        "      $.items[0].price: expected number, got string  \xc3\x97 1 session, first "
        "demo-checkout#1\n"
        "      $.items[1].price: expected number, got string  \xc3\x97 1 session, first "
        "demo-checkout#1\n"
        "\n"
        "1 passed, 1 failed, 0 errors, 1 skipped in 0.00 s; latency p50 0.0 ms, p95 0.0 ms, "
        "max 0.0 ms\n";
    cr_assert_str_eq(text, expected);
    free(text);
    drifted_cleanup(&d);
    rp_exchange_cleanup(&ok_ex);
    rp_exchange_cleanup(&skip_ex);
}

/* The row of one passing GET of url, rendered at width (0: the fixed table width). */
static char *one_row(const char *session, const char *url, unsigned width)
{
    struct rp_terminal_opts o = {.quiet = false, .width = width};
    struct screen s;
    screen_open(&s, &o);
    struct rp_exchange ex;
    make_exchange(&ex, 12, "GET", url, 200, 2000);
    struct rp_verdict v = {
        .session = session, .recorded_seq = 12, .live = &ex, .outcome = RP_OUTCOME_PASS};
    screen_put(&s, &v);
    rp_exchange_cleanup(&ex);
    struct rp_run_summary sum = {.passed = 1};
    char *text = screen_close(&s, &sum);
    /* The row is the second line. */
    char *row = strchr(text, '\n') + 1;
    char *end = strchr(row, '\n');
    char *copy = rp_xstrndup(row, (size_t)(end - row));
    free(text);
    return copy;
}

#define LONG_PATH TARGET "/t/acme-o4ekibge-1/api/warehouses/12/shelves/7/items/903/history"

Test(terminal, a_long_path_is_elided_in_the_middle_to_the_fixed_table_width)
{
    char *row = one_row("demo-checkout#1", LONG_PATH, 0);
    cr_assert_str_eq(row,
                     "  demo-checkout#1      12  GET    /t/acme-o4ekibge-1/.../items/903/history"
                     "  200       2.0 ms  ok");
    /* The table's width: a SKIPPED row, the longest, is exactly RP_REPORT_TABLE_COLUMNS. */
    cr_assert_eq(strlen(row) + strlen("SKIPPED") - strlen("ok"), RP_REPORT_TABLE_COLUMNS);
    free(row);
}

Test(terminal, a_long_path_fills_a_wide_terminal_and_is_elided_to_a_narrow_one)
{
    char *wide = one_row("demo-checkout#1", LONG_PATH, 160);
    cr_assert_str_eq(wide, "  demo-checkout#1      12  GET    "
                           "/t/acme-o4ekibge-1/api/warehouses/12/shelves/7/items/903/history"
                           "  200       2.0 ms  ok");
    free(wide);
    char *narrow = one_row("demo-checkout#1", LONG_PATH, 90);
    cr_assert_str_eq(narrow, "  demo-checkout#1      12  GET    /t/acme-o4eki...s/903/history"
                             "  200       2.0 ms  ok");
    /* A SKIPPED row, the longest, fills the 90 columns exactly. */
    cr_assert_eq(strlen(narrow) + strlen("SKIPPED") - strlen("ok"), 90);
    free(narrow);
    /* Narrower than the row's fixed parts: the URL keeps its minimum and the line wraps. */
    char *tiny = one_row("demo-checkout#1", LONG_PATH, 40);
    cr_assert_not_null(strstr(tiny, "  GET    /t/acme-o.../history  200"));
    free(tiny);
}

Test(terminal, a_long_session_name_is_elided_and_the_url_column_gives_way)
{
    char *row = one_row("checkout-with-a-coupon-and-gift-wrapping#1234", TARGET "/api/cart", 0);
    cr_assert_str_eq(row, "  checkout-with-a...-wrapping#1234   12  GET    /api/cart"
                          "                   200       2.0 ms  ok");
    cr_assert_eq(strlen(row) + strlen("SKIPPED") - strlen("ok"), RP_REPORT_TABLE_COLUMNS);
    free(row);
}

Test(terminal, progress_text_says_done_failed_rate_and_time_left)
{
    char buf[256];
    /* 412 of 2600 steps in 5 s: 82.4 steps/s; 2188 left take 26.55 s, shown as 0:26. */
    size_t n = rp_progress_format(buf, sizeof(buf), 120, 412, 2600, 37, 5000000);
    cr_assert_str_eq(buf, "  412/2600 steps, 37 failed, 82.4/s, 0:26 left");
    cr_assert_eq(n, strlen(buf));
    /* Slow runs show a tenth of a step per second and hours. */
    rp_progress_format(buf, sizeof(buf), 120, 3, 10000, 0, 4000000);
    cr_assert_str_eq(buf, "  3/10000 steps, 0 failed, 0.7/s, 3:42:09 left");
    /* Done: no time left; more steps than planned (retries) count as the total. */
    rp_progress_format(buf, sizeof(buf), 120, 30, 20, 1, 2000000);
    cr_assert_str_eq(buf, "  30/30 steps, 1 failed, 15.0/s");
    /* Cut to the width less its last column. */
    n = rp_progress_format(buf, sizeof(buf), 21, 412, 2600, 37, 5000000);
    cr_assert_str_eq(buf, "  412/2600 steps, 37");
    cr_assert_eq(n, 20);
}

Test(terminal, the_progress_line_is_not_drawn_in_a_runs_first_second_and_clears_to_nothing)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct rp_progress *p = rp_progress_new(out, 80);
    rp_progress_add_total(p, 10);
    rp_progress_step(p, false);
    rp_progress_clear(p);
    rp_progress_free(p);
    fclose(out);
    cr_assert_eq(len, 0);
    free(text);
}
