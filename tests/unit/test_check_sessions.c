/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the checker's judgement of sessions over their attempts (--retries): passed,
 * flaky, failed, infrastructure, from hand-built live verdicts (rp_checker_exchange) and from
 * verdicts read back (rp_checker_stored), as a sink sees them and as the summary counts them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <reprise/check.h>

#include "helpers.h"

#define REC "recordings/shop.jsonl.gz"

/* An exchange with a JSON response of status (0: none, an ERROR's). */
static void make_exchange(struct rp_exchange *ex, uint64_t seq, unsigned status)
{
    rp_exchange_init(ex);
    ex->seq = seq;
    ex->req.method = rp_xstrdup("GET");
    ex->req.url = rp_xstrdup("https://shop.example.test/api/item");
    if (status) {
        ex->has_response = true;
        ex->resp.status = status;
        cr_assert_eq(
            rp_headers_add(&ex->resp.headers, "Content-Type", 12, "application/json", 16, NULL),
            RP_OK);
        rp_body_set(&ex->resp.body, "{\"id\":1}", 8);
    }
}

/* A sink that writes down the sessions' verdicts and ends, in order: "V shop#1 flaky 2",
 * "E shop#1", "END". */
struct seen {
    char v[16][48];
    size_t n;
};

static void note(struct seen *s, const char *text)
{
    cr_assert_lt(s->n, 16);
    snprintf(s->v[s->n++], sizeof(s->v[0]), "%s", text);
}

static rp_code seen_begin(void *ctx, const struct rp_run_info *run, struct rp_error *err)
{
    (void)ctx;
    (void)run;
    (void)err;
    return RP_OK;
}

static rp_code seen_result(void *ctx, const struct rp_verdict *v, struct rp_error *err)
{
    (void)ctx;
    (void)v;
    (void)err;
    return RP_OK;
}

static rp_code seen_end(void *ctx, const struct rp_run_summary *sum, struct rp_error *err)
{
    (void)sum;
    (void)err;
    note(ctx, "END");
    return RP_OK;
}

static void seen_free(void *ctx)
{
    (void)ctx;
}

static rp_code seen_session_end(void *ctx, const char *session, struct rp_error *err)
{
    (void)err;
    char text[48];
    snprintf(text, sizeof(text), "E %s", session);
    note(ctx, text);
    return RP_OK;
}

static rp_code seen_verdict(void *ctx, const struct rp_session_result *res, struct rp_error *err)
{
    (void)err;
    char text[48];
    snprintf(text, sizeof(text), "V %s %s %u", res->session, rp_session_verdict_name(res->verdict),
             res->attempts);
    note(ctx, text);
    return RP_OK;
}

static const struct rp_sink_ops seen_ops = {
    .begin = seen_begin,
    .result = seen_result,
    .end = seen_end,
    .free = seen_free,
    .session_end = seen_session_end,
    .session_verdict = seen_verdict,
};

static const struct rp_run_info run = {.run_id = "r1", .target = "https://live.example.test"};

/* A checker with the seen sink, begun. */
static struct rp_checker *new_checker(struct seen *s)
{
    static const char *const recs[] = {REC};
    struct rp_checker_opts o = {.recordings = recs, .n_recordings = 1};
    struct rp_checker *c = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_new(&o, &c, &err), RP_OK, "%s", err.msg);
    struct rp_sink sink = {.ops = &seen_ops, .ctx = s};
    rp_checker_add_sink(c, &sink);
    rp_checker_begin(c, &run);
    return c;
}

/*
 * One step of a session, recorded as a 200: live status (0: no response, an ERROR), in attempt
 * a; teardown marks a teardown step, unsafe an UNSAFE refusal.
 */
struct step {
    const char *session;
    unsigned attempt;
    uint64_t seq;
    unsigned status;
    bool teardown;
    bool unsafe;
};

static void feed(struct rp_checker *c, const struct step *st)
{
    struct rp_exchange rec, live;
    make_exchange(&rec, st->seq, 200);
    make_exchange(&live, st->seq, st->unsafe ? 0 : st->status);
    enum rp_replay_status status = st->unsafe        ? RP_REPLAY_UNSAFE
                                   : st->status == 0 ? RP_REPLAY_ERROR
                                                     : RP_REPLAY_DONE;
    struct rp_replay_event ev = {
        .session = st->session,
        .session_no = 1,
        .recording = REC,
        .recorded = &rec,
        .live = &live,
        .status = status,
        .message = status == RP_REPLAY_DONE ? NULL : "connection refused",
        .teardown = st->teardown,
        .attempt = st->attempt,
    };
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_exchange(c, &ev, &err), RP_OK, "%s", err.msg);
    rp_exchange_cleanup(&rec);
    rp_exchange_cleanup(&live);
}

/* Step seq of session's attempt, not sent: the run was cancelled. */
static void feed_cancelled(struct rp_checker *c, const char *session, unsigned attempt,
                           uint64_t seq)
{
    struct rp_exchange rec, live;
    make_exchange(&rec, seq, 200);
    make_exchange(&live, seq, 0);
    struct rp_replay_event ev = {
        .session = session,
        .session_no = 1,
        .recording = REC,
        .recorded = &rec,
        .live = &live,
        .status = RP_REPLAY_CANCELLED,
        .message = "cancelled by SIGTERM",
        .attempt = attempt,
    };
    struct rp_error err = {0};
    cr_assert_eq(rp_checker_exchange(c, &ev, &err), RP_OK, "%s", err.msg);
    rp_exchange_cleanup(&rec);
    rp_exchange_cleanup(&live);
}

static void expect_seen(const struct seen *s, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n && i < s->n; i++) {
        cr_expect_str_eq(s->v[i], want[i], "entry %zu", i);
    }
    cr_expect_eq(s->n, n, "%zu entries, not %zu", s->n, n);
}

/* ----- live sessions ------------------------------------------------------------------------ */

Test(check_sessions, a_first_attempt_that_passes_is_passed_and_wants_no_retry)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s);
    feed(c, &(struct step){"shop#1", 0, 1, 200, false, false});
    feed(c, &(struct step){"shop#1", 0, 2, 200, false, false});
    cr_expect_not(rp_checker_session_failed(c, "shop#1"));
    rp_checker_session_end(c, "shop#1");
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    static const char *const want[] = {"V shop#1 passed 1", "E shop#1", "END"};
    expect_seen(&s, want, 3);
    cr_expect_eq(sum.sessions.passed, 1);
    cr_expect_eq(sum.sessions.flaky + sum.sessions.failed + sum.sessions.infra, 0);
    rp_checker_free(c);
}

Test(check_sessions, a_failure_then_a_pass_on_the_retry_is_flaky)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s);
    feed(c, &(struct step){"shop#1", 0, 1, 200, false, false});
    feed(c, &(struct step){"shop#1", 0, 2, 500, false, false});
    cr_expect(rp_checker_session_failed(c, "shop#1"));
    feed(c, &(struct step){"shop#1", 1, 1, 200, false, false});
    cr_expect_not(rp_checker_session_failed(c, "shop#1"), "the retry has not failed (yet)");
    feed(c, &(struct step){"shop#1", 1, 2, 200, false, false});
    cr_expect_not(rp_checker_session_failed(c, "shop#1"));
    rp_checker_session_end(c, "shop#1");
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    static const char *const want[] = {"V shop#1 flaky 2", "E shop#1", "END"};
    expect_seen(&s, want, 3);
    cr_expect_eq(sum.sessions.flaky, 1);
    /* The step counts count every attempt's steps: the failure stays a failure. */
    cr_expect_eq(sum.failed, 1);
    cr_expect_eq(sum.passed, 3);
    rp_checker_free(c);
}

Test(check_sessions, an_application_failure_in_any_attempt_makes_a_session_that_never_passed_failed)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s);
    feed(c, &(struct step){"shop#1", 0, 1, 500, false, false});
    feed(c, &(struct step){"shop#1", 1, 1, 0, false, false}); /* no response */
    feed(c, &(struct step){"shop#1", 2, 1, 502, false, false});
    cr_expect(rp_checker_session_failed(c, "shop#1"));
    rp_checker_session_end(c, "shop#1");
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    static const char *const want[] = {"V shop#1 failed 3", "E shop#1", "END"};
    expect_seen(&s, want, 3);
    cr_expect_eq(sum.sessions.failed, 1);
    rp_checker_free(c);
}

Test(check_sessions, every_attempt_failing_first_on_the_infrastructure_is_infrastructure)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s);
    feed(c, &(struct step){"shop#1", 0, 1, 0, false, false}); /* no response */
    /* A 503 first: a shape failure after it is its consequence, not the application's. */
    feed(c, &(struct step){"shop#1", 1, 1, 503, false, false});
    feed(c, &(struct step){"shop#1", 1, 2, 500, false, false});
    rp_checker_session_end(c, "shop#1");
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    static const char *const want[] = {"V shop#1 infrastructure 2", "E shop#1", "END"};
    expect_seen(&s, want, 3);
    cr_expect_eq(sum.sessions.infra, 1);
    rp_checker_free(c);
}

Test(check_sessions, the_first_failing_step_decides_and_a_refusal_is_the_applications)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s);
    /* shop#1: a 500 first, then no response: failed. shop#2: refused as unsafe: failed. */
    feed(c, &(struct step){"shop#1", 0, 1, 500, false, false});
    feed(c, &(struct step){"shop#1", 0, 2, 0, false, false});
    feed(c, &(struct step){"shop#2", 0, 1, 0, false, true});
    rp_checker_session_end(c, "shop#1");
    rp_checker_session_end(c, "shop#2");
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    static const char *const want[] = {"V shop#1 failed 1", "E shop#1", "V shop#2 failed 1",
                                       "E shop#2", "END"};
    expect_seen(&s, want, 5);
    cr_expect_eq(sum.sessions.failed, 2);
    rp_checker_free(c);
}

Test(check_sessions, teardown_steps_do_not_decide_a_sessions_verdict)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s);
    feed(c, &(struct step){"shop#1", 0, 1, 200, false, false});
    feed(c, &(struct step){"shop#1", 0, 9, 500, true, false});
    cr_expect_not(rp_checker_session_failed(c, "shop#1"));
    rp_checker_session_end(c, "shop#1");
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    cr_expect_str_eq(s.v[0], "V shop#1 passed 1");
    cr_expect_eq(sum.teardown.failed, 1);
    rp_checker_free(c);
}

Test(check_sessions, a_session_that_never_ended_is_judged_at_the_end_of_the_run)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s);
    feed(c, &(struct step){"shop#1", 0, 1, 504, false, false});
    feed(c, &(struct step){"shop#2", 0, 1, 200, false, false});
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    /* In the order they started, before the sinks' end(); no session_end(). */
    static const char *const want[] = {"V shop#1 infrastructure 1", "V shop#2 passed 1", "END"};
    expect_seen(&s, want, 3);
    cr_expect_eq(sum.sessions.infra, 1);
    cr_expect_eq(sum.sessions.passed, 1);
    rp_checker_free(c);
}

/* ----- verdicts read back (reprise diff) ---------------------------------------------------- */

static void feed_stored(struct rp_checker *c, const char *session, unsigned attempt,
                        enum rp_outcome o)
{
    struct rp_exchange live;
    make_exchange(&live, 1, 200);
    struct rp_verdict v;
    rp_verdict_init(&v);
    v.session = session;
    v.recorded_seq = 1;
    v.live = &live;
    v.outcome = o;
    v.attempt = attempt;
    if (o == RP_OUTCOME_FAIL) {
        rp_mismatches_add(&v.mismatches, "$.id", "stored mismatch");
    }
    cr_assert_eq(rp_checker_stored(c, &v, NULL), RP_OK);
    rp_verdict_cleanup(&v);
    rp_exchange_cleanup(&live);
}

Test(check_sessions, verdicts_read_back_are_judged_from_their_attempt_numbers)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s);
    /* Interleaved as concurrent sessions write them. No shape applies offline (none stored),
     * so the stored outcomes stand. */
    feed_stored(c, "shop#1", 0, RP_OUTCOME_FAIL);
    feed_stored(c, "shop#2", 0, RP_OUTCOME_FAIL);
    feed_stored(c, "shop#1", 1, RP_OUTCOME_PASS);
    feed_stored(c, "shop#2", 1, RP_OUTCOME_FAIL);
    feed_stored(c, "shop#3", 0, RP_OUTCOME_ERROR);
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    static const char *const want[] = {"V shop#1 flaky 2", "V shop#2 failed 2",
                                       "V shop#3 infrastructure 1", "END"};
    expect_seen(&s, want, 4);
    cr_expect_eq(sum.sessions.flaky, 1);
    cr_expect_eq(sum.sessions.failed, 1);
    cr_expect_eq(sum.sessions.infra, 1);
    rp_checker_free(c);
}

/* ----- the infrastructure judgement of one verdict ------------------------------------------ */

Test(check_sessions, no_response_and_a_gateways_502_503_504_are_infrastructure_a_500_is_not)
{
    struct rp_exchange live;
    struct rp_verdict v;
    rp_verdict_init(&v);
    v.outcome = RP_OUTCOME_ERROR;
    cr_expect(rp_verdict_infra(&v), "an ERROR without a live exchange");
    static const struct {
        unsigned status;
        enum rp_outcome outcome;
        bool infra;
    } cases[] = {
        {502, RP_OUTCOME_FAIL, true},    {503, RP_OUTCOME_FAIL, true},
        {504, RP_OUTCOME_FAIL, true},    {500, RP_OUTCOME_FAIL, false},
        {501, RP_OUTCOME_FAIL, false},   {505, RP_OUTCOME_FAIL, false},
        {503, RP_OUTCOME_PASS, false}, /* recorded as a 503 too */
        {200, RP_OUTCOME_UNSAFE, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        make_exchange(&live, 1, cases[i].status);
        v.live = &live;
        v.outcome = cases[i].outcome;
        cr_expect_eq(rp_verdict_infra(&v), cases[i].infra, "status %u, outcome %s", cases[i].status,
                     rp_outcome_name(cases[i].outcome));
        rp_exchange_cleanup(&live);
    }
    static const char *const names[] = {"passed", "flaky", "failed", "infrastructure", "cancelled"};
    for (unsigned k = RP_SESSION_PASSED; k <= RP_SESSION_CANCELLED; k++) {
        cr_expect_str_eq(rp_session_verdict_name((enum rp_session_verdict)k), names[k]);
    }
    cr_expect_null(rp_session_verdict_name((enum rp_session_verdict)(RP_SESSION_CANCELLED + 1)));
}

Test(check_sessions, a_session_cut_short_by_a_cancel_is_cancelled_not_passed)
{
    struct seen s = {0};
    struct rp_checker *c = new_checker(&s);
    /* shop#1 passed its first step, then the run was cancelled: nothing proved either way. */
    feed(c, &(struct step){"shop#1", 0, 1, 200, false, false});
    feed_cancelled(c, "shop#1", 0, 2);
    cr_expect_not(rp_checker_session_failed(c, "shop#1"), "a cancel is not a failure to retry");
    rp_checker_session_end(c, "shop#1");
    /* shop#2 failed, and its retry was cancelled: the failure stands. */
    feed(c, &(struct step){"shop#2", 0, 1, 500, false, false});
    feed_cancelled(c, "shop#2", 1, 1);
    rp_checker_session_end(c, "shop#2");
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(c, &sum, NULL), RP_OK);
    static const char *const want[] = {"V shop#1 cancelled 1", "E shop#1", "V shop#2 failed 2",
                                       "E shop#2", "END"};
    expect_seen(&s, want, 5);
    cr_expect_eq(sum.sessions.cancelled, 1);
    cr_expect_eq(sum.sessions.passed, 0);
    cr_expect_eq(sum.sessions.failed, 1);
    rp_checker_free(c);
}
