/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for a cancelled run's reports (issue 13, item 1): CANCELLED verdicts tallied
 * apart, a run marked unfinished, the results file's end record written and read back by the
 * offline re-check (present and finished, present and cancelled, absent), the recording
 * reader's handling of that record, JUnit's cancelled testcases and the empty report of a run
 * cancelled before any verdict, the terminal's "cancelled by SIGTERM after N of M steps", and
 * replay's --cancel-grace.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <reprise/report.h>

#include "cli.h"
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

TestSuite(cancel, .init = setup, .fini = teardown);

/* ----- fixtures ---------------------------------------------------------------------------- */

#define REC "recordings/shop.jsonl.gz"

/* A GET of /api/item/SEQ, answered 200 with {"ok":true} unless no_response. */
static void make_exchange(struct rp_exchange *ex, uint64_t seq, bool no_response)
{
    rp_exchange_init(ex);
    ex->seq = seq;
    ex->duration_us = 1000;
    ex->req.method = rp_xstrdup("GET");
    char url[96];
    snprintf(url, sizeof(url), "https://shop.example.test/api/item/%llu", (unsigned long long)seq);
    ex->req.url = rp_xstrdup(url);
    if (!no_response) {
        ex->has_response = true;
        ex->resp.status = 200;
        cr_assert_eq(
            rp_headers_add(&ex->resp.headers, "Content-Type", 12, "application/json", 16, NULL),
            RP_OK);
        rp_body_set(&ex->resp.body, "{\"ok\":true}", 11);
    }
}

/* A sink that writes down what it was given. */
struct seen {
    unsigned begins, ends;
    size_t n;
    enum rp_outcome outcome[8];
    struct rp_run_summary sum;
    char why[96];
};

static rp_code seen_begin(void *ctx, const struct rp_run_info *run, struct rp_error *err)
{
    (void)run;
    (void)err;
    ((struct seen *)ctx)->begins++;
    return RP_OK;
}

static rp_code seen_result(void *ctx, const struct rp_verdict *v, struct rp_error *err)
{
    (void)err;
    struct seen *s = ctx;
    cr_assert_lt(s->n, 8);
    s->outcome[s->n++] = v->outcome;
    return RP_OK;
}

static rp_code seen_end(void *ctx, const struct rp_run_summary *sum, struct rp_error *err)
{
    (void)err;
    struct seen *s = ctx;
    s->ends++;
    s->sum = *sum;
    snprintf(s->why, sizeof(s->why), "%s", sum->unfinished_why ? sum->unfinished_why : "");
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

static struct rp_checker *new_checker(struct seen *s)
{
    struct rp_checker_opts o = {0};
    struct rp_checker *c = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_new(&o, &c, &err), RP_OK, "%s", err.msg);
    struct rp_sink sink = {.ops = &seen_ops, .ctx = s};
    rp_checker_add_sink(c, &sink);
    const char *const recs[] = {REC};
    struct rp_run_info info = {
        .run_id = "r1",
        .target = "https://shop.example.test",
        .start_us = 1764000000000000,
        .recordings = recs,
        .n_recordings = 1,
    };
    rp_checker_begin(c, &info);
    return c;
}

/* Feeds the recorded step seq to c as the engine reports it with status. */
static void feed(struct rp_checker *c, uint64_t seq, enum rp_replay_status status)
{
    struct rp_exchange rec, live;
    bool sent = status == RP_REPLAY_DONE;
    make_exchange(&rec, seq, false);
    make_exchange(&live, seq, !sent);
    struct rp_replay_event ev = {
        .session = "shop#1",
        .session_no = 1,
        .recording = REC,
        .recorded = &rec,
        .live = &live,
        .status = status,
        .message = sent ? NULL : "not sent: the run was cancelled",
        .latency_us = 1000,
    };
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_exchange(c, &ev, &err), RP_OK, "%s", err.msg);
    rp_exchange_cleanup(&rec);
    rp_exchange_cleanup(&live);
}

static struct rp_run_summary end(struct rp_checker *c)
{
    struct rp_run_summary sum;
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_end(c, &sum, &err), RP_OK, "%s", err.msg);
    return sum;
}

/* Two steps answered, two cancelled, and `not_started` more of sessions never started,
 * through a checker whose sinks are a seen and the sink made by add (NULL: none). */
static void cancelled_run(struct seen *s, void (*add)(struct rp_checker *), uint64_t not_started)
{
    struct rp_checker *c = new_checker(s);
    if (add) {
        add(c);
    }
    feed(c, 1, RP_REPLAY_DONE);
    feed(c, 2, RP_REPLAY_DONE);
    feed(c, 3, RP_REPLAY_CANCELLED);
    feed(c, 4, RP_REPLAY_CANCELLED);
    rp_checker_unfinished(c, "cancelled by SIGTERM", not_started);
    end(c);
    rp_checker_free(c);
}

/* Re-checks the results file at path offline into s; returns rp_results_check's code. */
static rp_code diff(const char *path, struct seen *s, struct rp_error *err)
{
    struct rp_checker_opts o = {0};
    struct rp_checker *c = NULL;
    cr_assert_eq(rp_checker_new(&o, &c, err), RP_OK, "%s", err->msg);
    struct rp_sink sink = {.ops = &seen_ops, .ctx = s};
    rp_checker_add_sink(c, &sink);
    rp_code rc = rp_results_check(path, c, NULL, NULL, err);
    if (!rc) {
        s->sum = end(c);
        snprintf(s->why, sizeof(s->why), "%s", s->sum.unfinished_why ? s->sum.unfinished_why : "");
    }
    rp_checker_free(c);
    return rc;
}

/* Reads the whole gzip-compressed file at path as text (new memory). */
static char *zcat(const char *path)
{
    gzFile f = gzopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int k;
    while ((k = gzread(f, buf + len, (unsigned)(cap - len - 1))) > 0) {
        len += (size_t)k;
        cr_assert_lt(len, cap - 1, "%s is larger than the test reads", path);
    }
    gzclose(f);
    buf[len] = '\0';
    return buf;
}

/* The plain file at path, whole (new memory), or NULL when it cannot be read. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    size_t len = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static char *results_path;

static void add_results(struct rp_checker *c)
{
    struct rp_sink sink;
    rp_sink_results(&sink, results_path);
    rp_checker_add_sink(c, &sink);
}

static char *junit_path;

static void add_junit(struct rp_checker *c)
{
    struct rp_sink sink;
    rp_sink_junit(&sink, junit_path);
    rp_checker_add_sink(c, &sink);
}

static FILE *terminal_out;

static void add_terminal(struct rp_checker *c)
{
    struct rp_sink sink;
    rp_sink_terminal(&sink, terminal_out, false);
    rp_checker_add_sink(c, &sink);
}

/* ----- the checker ------------------------------------------------------------------------- */

Test(cancel, cancelled_steps_are_their_own_outcome_and_count)
{
    struct seen s = {0};
    cancelled_run(&s, NULL, 0);
    cr_assert_eq(s.n, 4);
    cr_expect_eq(s.outcome[2], RP_OUTCOME_CANCELLED);
    cr_expect_eq(s.outcome[3], RP_OUTCOME_CANCELLED);
    cr_expect_eq(s.sum.passed, 2);
    cr_expect_eq(s.sum.skipped, 0, "a cancelled step is not a skipped one");
    cr_expect_eq(s.sum.cancelled, 2);
    cr_expect_not(s.sum.finished);
    cr_expect_str_eq(s.why, "cancelled by SIGTERM");
    cr_expect_str_eq(rp_outcome_name(RP_OUTCOME_CANCELLED), "cancelled");
}

Test(cancel, steps_of_sessions_never_started_are_counted_cancelled)
{
    struct seen s = {0};
    cancelled_run(&s, NULL, 9);
    cr_expect_eq(s.n, 4, "no verdict stands for them");
    cr_expect_eq(s.sum.cancelled, 11);
}

Test(cancel, a_run_that_ends_normally_is_finished)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s);
    feed(c, 1, RP_REPLAY_DONE);
    struct rp_run_summary sum = end(c);
    rp_checker_free(c);
    cr_expect(sum.finished);
    cr_expect_null(sum.unfinished_why);
    cr_expect_eq(sum.cancelled, 0);
}

Test(cancel, a_run_cancelled_before_any_verdict_still_begins_and_ends_its_sinks)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s);
    rp_checker_unfinished(c, "cancelled by SIGINT", 3);
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_start_sinks(c, &err), RP_OK, "%s", err.msg);
    struct rp_run_summary sum = end(c);
    rp_checker_free(c);
    cr_expect_eq(s.begins, 1);
    cr_expect_eq(s.ends, 1);
    cr_expect_eq(sum.cancelled, 3);
    cr_expect_not(sum.finished);
}

/* ----- the results file's end record ------------------------------------------------------- */

Test(cancel, a_finished_run_ends_its_results_file_with_an_end_record_diff_reads_finished)
{
    results_path = path_in(dir, "r.jsonl.gz");
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s);
    add_results(c);
    feed(c, 1, RP_REPLAY_DONE);
    end(c);
    rp_checker_free(c);

    char *text = zcat(results_path);
    const char *last = strstr(text, "\n{\"end\":");
    cr_assert_not_null(last, "no end record in:\n%s", text);
    cr_expect_not_null(strstr(last, "\"finished\":true"), "%s", last);
    cr_expect_eq(strchr(last + 1, '\n')[1], '\0', "the end record is the last line");
    free(text);

    struct seen d = {0};
    struct rp_error err = {0};
    cr_assert_eq(diff(results_path, &d, &err), RP_OK, "%s", err.msg);
    cr_expect(d.sum.finished);
    cr_expect_eq(d.sum.passed, 1);
    free(results_path);
}

Test(cancel, a_cancelled_run_says_so_in_its_end_record_and_diff_reads_it_back)
{
    results_path = path_in(dir, "r.jsonl.gz");
    struct seen s = {0};
    cancelled_run(&s, add_results, 9);

    char *text = zcat(results_path);
    cr_expect_not_null(strstr(text, "\"outcome\":\"cancelled\""), "%s", text);
    const char *last = strstr(text, "\n{\"end\":");
    cr_assert_not_null(last, "no end record in:\n%s", text);
    cr_expect_not_null(strstr(last, "\"finished\":false"), "%s", last);
    cr_expect_not_null(strstr(last, "\"why\":\"cancelled by SIGTERM\""), "%s", last);
    cr_expect_not_null(strstr(last, "\"cancelled\":11"), "%s", last);
    cr_expect_not_null(strstr(last, "\"not_started\":9"), "%s", last);
    free(text);

    struct seen d = {0};
    struct rp_error err = {0};
    cr_assert_eq(diff(results_path, &d, &err), RP_OK, "%s", err.msg);
    cr_expect_not(d.sum.finished);
    cr_expect_str_eq(d.why, "cancelled by SIGTERM");
    cr_expect_eq(d.sum.passed, 2);
    cr_expect_eq(d.sum.cancelled, 11, "two read back, nine never started");
    free(results_path);
}

/* Writes path: the header and lines (each ending in '\n') of a results file, compressed. */
static void write_gz(const char *path, const char *text)
{
    char *plain = path_in(dir, "plain.jsonl");
    FILE *f = fopen(plain, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    cr_assert_eq(gzip_file(plain, path), 0);
    free(plain);
}

#define HEADER                                                                                     \
    "{\"reprise\":1,\"name\":\"results\",\"created\":\"2026-12-01T10:00:00Z\","                    \
    "\"source\":{\"kind\":\"replay\",\"detail\":\"https://shop.example.test\"}}\n"
#define LINE                                                                                       \
    "{\"seq\":1,\"request\":{\"method\":\"GET\",\"url\":\"https://shop.example.test/\","           \
    "\"headers\":[]},\"response\":{\"status\":200,\"headers\":[]},\"check\":{\"session\":"         \
    "\"shop#1\",\"recorded_seq\":1,\"outcome\":\"pass\",\"mismatches\":[]}}\n"

Test(cancel, a_results_file_without_an_end_record_is_of_a_run_that_did_not_finish)
{
    char *path = path_in(dir, "killed.jsonl.gz");
    write_gz(path, HEADER LINE);
    struct seen d = {0};
    struct rp_error err = {0};
    cr_assert_eq(diff(path, &d, &err), RP_OK, "%s", err.msg);
    cr_expect_not(d.sum.finished);
    cr_expect_str_eq(d.why, "killed or still running (no end record)");
    cr_expect_eq(d.sum.passed, 1);
    free(path);
}

Test(cancel, a_malformed_end_record_or_a_line_after_it_is_an_error_naming_the_line)
{
    char *path = path_in(dir, "bad.jsonl.gz");
    struct rp_error err = {0};
    struct seen d = {0};
    write_gz(path, HEADER LINE "{\"end\":{\"finished\":\"yes\"}}\n");
    cr_expect_eq(diff(path, &d, &err), RP_EFORMAT);
    cr_expect_not_null(strstr(err.msg, "bad.jsonl.gz:3: the end record has no \"finished\""), "%s",
                       err.msg);
    write_gz(path, HEADER LINE "{\"end\":{\"finished\":true}}\n" LINE);
    cr_expect_eq(diff(path, &d, &err), RP_EFORMAT);
    cr_expect_not_null(strstr(err.msg, "bad.jsonl.gz:4: a line after the end record"), "%s",
                       err.msg);
    free(path);
}

Test(cancel, the_reader_stops_at_the_end_record_and_hands_it_over)
{
    char *path = path_in(dir, "ok.jsonl.gz");
    write_gz(path, HEADER LINE " { \"end\" : {\"finished\":true} }\n\n");
    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    bool got = false;
    size_t n = 0;
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_expect(got);
    cr_expect_null(rp_reader_end_text(r, &n), "not met yet");
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_expect_not(got, "the end record is not an exchange");
    const char *end = rp_reader_end_text(r, &n);
    cr_assert_not_null(end);
    cr_expect_eq(n, strlen("{\"finished\":true}"));
    cr_expect_eq(strncmp(end, "{\"finished\":true}", n), 0);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    free(path);
}

/* ----- JUnit and the terminal -------------------------------------------------------------- */

Test(cancel, junit_reports_cancelled_steps_as_skipped_with_the_reason)
{
    junit_path = path_in(dir, "j.xml");
    struct seen s = {0};
    cancelled_run(&s, add_junit, 0);
    char *xml = slurp(junit_path);
    cr_assert_not_null(xml);
    cr_expect_not_null(strstr(xml, "<testsuites name=\"reprise\" tests=\"4\" failures=\"0\" "
                                   "errors=\"0\" skipped=\"2\""),
                       "%s", xml);
    cr_expect_not_null(strstr(xml, "name=\"3 GET /api/item/3\" "
                                   "time=\"0.000\">\n      <skipped message=\"cancelled: not "
                                   "sent: the run was cancelled\"/>"),
                       "%s", xml);
    free(xml);
    free(junit_path);
}

Test(cancel, a_run_cancelled_before_any_verdict_writes_an_empty_junit_report)
{
    junit_path = path_in(dir, "j.xml");
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s);
    add_junit(c);
    rp_checker_unfinished(c, "cancelled by SIGTERM", 4);
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_start_sinks(c, &err), RP_OK, "%s", err.msg);
    end(c);
    rp_checker_free(c);
    char *xml = slurp(junit_path);
    cr_assert_not_null(xml, "no JUnit report");
    cr_expect_not_null(strstr(xml, "<testsuites name=\"reprise\" tests=\"0\" failures=\"0\" "
                                   "errors=\"0\" skipped=\"0\""),
                       "%s", xml);
    cr_expect_not_null(strstr(xml, "</testsuites>\n"), "%s", xml);
    free(xml);
    free(junit_path);
}

Test(cancel, the_terminal_says_cancelled_by_which_signal_after_how_many_steps)
{
    char *text = NULL;
    size_t len = 0;
    terminal_out = open_memstream(&text, &len);
    cr_assert_not_null(terminal_out);
    struct seen s = {0};
    cancelled_run(&s, add_terminal, 5);
    cr_assert_eq(fclose(terminal_out), 0);
    cr_expect_not_null(strstr(text, "CANCELLED\n      not sent: the run was cancelled\n"), "%s",
                       text);
    cr_expect_not_null(strstr(text, "\n2 passed, 0 failed, 0 errors, 0 skipped in "), "%s", text);
    cr_expect_not_null(strstr(text, " ms\n"), "%s", text);
    cr_expect_not_null(strstr(text, "\ncancelled by SIGTERM after 2 of 9 steps\n"), "%s", text);
    free(text);
}

/* ----- the command line -------------------------------------------------------------------- */

Test(cancel, replay_takes_a_cancel_grace_and_refuses_a_bad_one)
{
    struct replay_opts o;
    struct rp_error err = {0};
    char *ok[] = {"replay", "a", "--target", "http://x", "--cancel-grace", "2s", NULL};
    cr_assert_eq(parse_replay_args(6, ok, &o, &err), RP_OK, "%s", err.msg);
    cr_expect_eq(o.cancel_grace_ms, 2000);
    replay_opts_cleanup(&o);
    char *dflt[] = {"replay", "a", "--target", "http://x", NULL};
    cr_assert_eq(parse_replay_args(4, dflt, &o, &err), RP_OK, "%s", err.msg);
    cr_expect_eq(o.cancel_grace_ms, 0, "0: the engine's 5 s");
    replay_opts_cleanup(&o);
    char *bad[] = {"replay", "a", "--target", "http://x", "--cancel-grace", "0", NULL};
    cr_assert_eq(parse_replay_args(6, bad, &o, &err), RP_EUSAGE);
    cr_expect_str_eq(err.msg, "--cancel-grace wants a duration (5s), got '0'");
    replay_opts_cleanup(&o);
}
