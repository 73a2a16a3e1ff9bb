/* SPDX-License-Identifier: MIT */
/*
 * The checker: runs the registered checks over each exchange, tallies the outcomes and the
 * latency, and fans each verdict out to its sinks. Also the verdict's own lifetime.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct check_slot {
    const struct rp__check_ops *ops;
    void *ctx;
};

/*
 * A session being judged over its attempts (--retries): kept from its first verdict to its
 * end, so a live run holds as many as it runs at once (a run read back holds them all until
 * rp_checker_end: a name and a few flags each).
 */
struct sess {
    char *name;
    unsigned attempt;  /* the latest attempt seen */
    bool failed;       /* the latest attempt has a main step that did not pass */
    bool infra;        /* and the first of them failed for the infrastructure */
    bool passed_first; /* attempt 0 passed */
    bool passed_later; /* a later attempt passed */
    bool failed_app;   /* an attempt failed for the application */
    bool failed_infra; /* an attempt failed for the infrastructure */
    bool cancelled;    /* the latest attempt has a CANCELLED main step and no failure before */
};

struct rp_checker {
    struct check_slot checks[RP_CHECKS_MAX];
    size_t n_checks;
    struct rp_sink *sinks;
    size_t n_sinks, cap_sinks;
    bool want_shape;    /* some sink needs the shape of every verdict */
    bool failures_only; /* sinks see FAIL and ERROR only */
    struct rp_run_info info;
    bool begun; /* the sinks' begin() was called */
    bool live;  /* a live run: its wall time is measured */
    rp_code kept;
    struct rp_error kept_err;
    struct rp_latency lat;
    bool exact;                      /* opts.exact_latency */
    struct rp_latency_exact lat_all; /* then: every value */
    struct rp_run_summary sum;
    char *unfinished_why; /* rp_checker_unfinished(): why; NULL: the run finished */
    /* The run-level latency budget: this run's p95 against the baseline's. */
    const struct rp_baseline *baseline;
    double slow_factor;
    uint64_t slow_floor_us;
    struct sess *sessions; /* in the order they started */
    size_t n_sessions, cap_sessions;
};

static const char *const outcome_names[] = {
    [RP_OUTCOME_PASS] = "pass",     [RP_OUTCOME_FAIL] = "fail",
    [RP_OUTCOME_ERROR] = "error",   [RP_OUTCOME_SKIPPED] = "skipped",
    [RP_OUTCOME_UNSAFE] = "unsafe", [RP_OUTCOME_CANCELLED] = "cancelled",
};

const char *rp_outcome_name(enum rp_outcome o)
{
    return (unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0]) ? outcome_names[o] : NULL;
}

static const char *const session_verdict_names[] = {
    [RP_SESSION_PASSED] = "passed",       [RP_SESSION_FLAKY] = "flaky",
    [RP_SESSION_FAILED] = "failed",       [RP_SESSION_INFRA] = "infrastructure",
    [RP_SESSION_CANCELLED] = "cancelled",
};

const char *rp_session_verdict_name(enum rp_session_verdict v)
{
    size_t n = sizeof(session_verdict_names) / sizeof(session_verdict_names[0]);
    return (unsigned)v < n ? session_verdict_names[v] : NULL;
}

bool rp_verdict_infra(const struct rp_verdict *v)
{
    if (v->outcome == RP_OUTCOME_ERROR) {
        return true;
    }
    if (v->outcome != RP_OUTCOME_FAIL || !v->live || !v->live->has_response) {
        return false;
    }
    unsigned st = v->live->resp.status;
    return st == 502 || st == 503 || st == 504;
}

/* ----- verdicts and sinks ------------------------------------------------------------------- */

void rp_verdict_init(struct rp_verdict *v)
{
    memset(v, 0, sizeof(*v));
    rp_mismatches_init(&v->mismatches);
}

void rp_verdict_cleanup(struct rp_verdict *v)
{
    rp_mismatches_cleanup(&v->mismatches);
    for (size_t i = 0; i < v->n_identity; i++) {
        free(v->identity[i].path);
        free(v->identity[i].expected);
        free(v->identity[i].what);
    }
    free(v->identity);
    free(v->own_session);
    free(v->own_error);
    free(v->own_step);
    free(v->own_tenants);
    rp_shape_free(v->own_shape);
    memset(v, 0, sizeof(*v));
}

void rp_sink_free(struct rp_sink *sink)
{
    if (!sink) {
        return;
    }
    if (sink->ops && sink->ops->free) {
        sink->ops->free(sink->ctx);
    }
    sink->ops = NULL;
    sink->ctx = NULL;
}

/* ----- setup -------------------------------------------------------------------------------- */

static void info_cleanup(struct rp_run_info *info)
{
    free((char *)info->run_id);
    free((char *)info->target);
    for (size_t i = 0; i < info->n_recordings; i++) {
        free((char *)info->recordings[i]);
    }
    free((char **)info->recordings);
    memset(info, 0, sizeof(*info));
}

void rp_checker_free(struct rp_checker *c)
{
    if (!c) {
        return;
    }
    for (size_t i = 0; i < c->n_checks; i++) {
        if (c->checks[i].ops->free) {
            c->checks[i].ops->free(c->checks[i].ctx);
        }
    }
    for (size_t i = 0; i < c->n_sinks; i++) {
        rp_sink_free(&c->sinks[i]);
    }
    free(c->sinks);
    for (size_t i = 0; i < c->n_sessions; i++) {
        free(c->sessions[i].name);
    }
    free(c->sessions);
    info_cleanup(&c->info);
    rp_latency_exact_cleanup(&c->lat_all);
    free(c->unfinished_why);
    free(c);
}

rp_code rp_checker_new(const struct rp_checker_opts *opts, struct rp_checker **out,
                       struct rp_error *err)
{
    rp_code rc = RP_OK;
    struct rp_checker *c = rp_xcalloc(1, sizeof(*c));
    c->failures_only = opts->failures_only;
    c->baseline = opts->baseline;
    c->slow_factor = opts->slow_factor;
    c->slow_floor_us = opts->slow_floor_us;
    rp_latency_init(&c->lat);
    c->exact = opts->exact_latency;
    rp_latency_exact_init(&c->lat_all);
    /* checks.c registers fewer than RP_CHECKS_MAX; a longer table is cut there. */
    for (size_t i = 0; rp__checks[i] && c->n_checks < RP_CHECKS_MAX; i++) {
        void *ctx = NULL;
        rc = rp__checks[i]->begin ? rp__checks[i]->begin(opts, &ctx, err) : RP_OK;
        if (rc) {
            goto out;
        }
        c->checks[c->n_checks].ops = rp__checks[i];
        c->checks[c->n_checks].ctx = ctx;
        c->n_checks++;
    }
    *out = c;
    c = NULL;
out:
    rp_checker_free(c);
    return rc;
}

void rp_checker_add_sink(struct rp_checker *c, struct rp_sink *sink)
{
    if (c->n_sinks == c->cap_sinks) {
        c->cap_sinks = c->cap_sinks ? c->cap_sinks * 2 : 4;
        c->sinks = rp_xreallocarray(c->sinks, c->cap_sinks, sizeof(*c->sinks));
    }
    c->want_shape = c->want_shape || sink->ops->wants_shape;
    c->sinks[c->n_sinks++] = *sink;
    sink->ops = NULL;
    sink->ctx = NULL;
}

void rp_checker_observe(void *checker, const char *recording, const struct rp_exchange *ex,
                        const struct rp_correlator *corr, size_t first)
{
    struct rp_checker *c = checker;
    for (size_t i = 0; i < c->n_checks; i++) {
        if (c->checks[i].ops->observe) {
            c->checks[i].ops->observe(c->checks[i].ctx, recording, ex, corr, first);
        }
    }
}

void rp_checker_begin(struct rp_checker *c, const struct rp_run_info *run)
{
    info_cleanup(&c->info);
    c->info.run_id = run->run_id ? rp_xstrdup(run->run_id) : NULL;
    c->info.target = run->target ? rp_xstrdup(run->target) : NULL;
    c->info.start_us = run->start_us;
    char **recs = rp_xcalloc(run->n_recordings ? run->n_recordings : 1, sizeof(*recs));
    for (size_t i = 0; i < run->n_recordings; i++) {
        recs[i] = rp_xstrdup(run->recordings[i]);
    }
    c->info.recordings = (const char *const *)recs;
    c->info.n_recordings = run->n_recordings;
    c->info.shard_index = run->shard_index;
    c->info.shard_count = run->shard_count;
    c->info.total_sessions = run->total_sessions;
}

/* ----- per exchange ------------------------------------------------------------------------- */

/* Keeps the first error (the sinks stop there) and returns it. */
static rp_code keep(struct rp_checker *c, rp_code rc, struct rp_error *e, struct rp_error *err)
{
    if (!c->kept) {
        c->kept = rc;
        c->kept_err = *e;
        c->kept_err.code = rc;
    }
    if (err) {
        *err = c->kept_err;
    }
    return c->kept;
}

/*
 * Runs every check over in into v. When at least one applied (*out_applied), sets v->outcome
 * from theirs: FAIL when one failed, else PASS. A check's error is kept, as a sink's.
 */
static rp_code run_checks(struct rp_checker *c, const struct rp__check_input *in,
                          struct rp_verdict *v, bool *out_applied, struct rp_error *err)
{
    bool applied = false, failed = false;
    v->n_checks = 0;
    for (size_t i = 0; i < c->n_checks; i++) {
        enum rp_outcome o = RP_OUTCOME_SKIPPED;
        struct rp_error e = {0};
        rp_code rc = c->checks[i].ops->exchange(c->checks[i].ctx, in, v, &o, &e);
        if (rc) {
            return keep(c, rc, &e, err);
        }
        struct rp_check_note *n = &v->checks[v->n_checks++];
        /* A plain copy, not snprintf: this runs for every exchange of a replay. */
        size_t len = strlen(c->checks[i].ops->name);
        len = len < sizeof(n->name) ? len : sizeof(n->name) - 1;
        memcpy(n->name, c->checks[i].ops->name, len);
        n->name[len] = '\0';
        n->outcome = o;
        applied = applied || o != RP_OUTCOME_SKIPPED;
        failed = failed || o == RP_OUTCOME_FAIL;
    }
    if (applied) {
        v->outcome = failed ? RP_OUTCOME_FAIL : RP_OUTCOME_PASS;
    }
    *out_applied = applied;
    return RP_OK;
}

rp_code rp_checker_start_sinks(struct rp_checker *c, struct rp_error *err)
{
    if (c->kept) {
        return keep(c, c->kept, &c->kept_err, err);
    }
    if (c->begun) {
        return RP_OK;
    }
    c->begun = true;
    for (size_t i = 0; i < c->n_sinks; i++) {
        struct rp_error e = {0};
        rp_code rc = c->sinks[i].ops->begin(c->sinks[i].ctx, &c->info, &e);
        if (rc) {
            return keep(c, rc, &e, err);
        }
    }
    return RP_OK;
}

/* A teardown step is tallied apart. */
static void tally_teardown(struct rp_checker *c, enum rp_outcome o)
{
    switch (o) {
    case RP_OUTCOME_PASS:
        c->sum.teardown.passed++;
        break;
    case RP_OUTCOME_FAIL:
        c->sum.teardown.failed++;
        break;
    case RP_OUTCOME_ERROR:
        c->sum.teardown.errors++;
        break;
    case RP_OUTCOME_UNSAFE:
        c->sum.teardown.unsafe++;
        break;
    default:
        c->sum.teardown.skipped++;
        break;
    }
}

static void add_latency(struct rp_checker *c, uint64_t latency_us)
{
    rp_latency_add(&c->lat, latency_us);
    if (c->exact) {
        rp_latency_exact_add(&c->lat_all, latency_us);
    }
}

/* A main step is tallied, and its latency, when it got a response. */
static void tally_main(struct rp_checker *c, enum rp_outcome o, uint64_t latency_us)
{
    switch (o) {
    case RP_OUTCOME_PASS:
        c->sum.passed++;
        add_latency(c, latency_us);
        break;
    case RP_OUTCOME_FAIL:
        c->sum.failed++;
        add_latency(c, latency_us);
        break;
    case RP_OUTCOME_ERROR:
        c->sum.errors++;
        break;
    case RP_OUTCOME_UNSAFE:
        c->sum.unsafe++;
        break;
    case RP_OUTCOME_CANCELLED:
        c->sum.cancelled++;
        break;
    default:
        c->sum.skipped++;
        break;
    }
}

/* ----- sessions over their attempts (--retries) ---------------------------------------------- */

/* The checks drop what they kept of a session: at its end, or at its next attempt. */
static void checks_forget(struct rp_checker *c, const char *session)
{
    for (size_t i = 0; i < c->n_checks; i++) {
        if (c->checks[i].ops->session_end) {
            c->checks[i].ops->session_end(c->checks[i].ctx, session);
        }
    }
}

/* The index of session's record, or n_sessions. From the newest: the sessions running are the
 * last ones started. */
static size_t session_find(const struct rp_checker *c, const char *name)
{
    for (size_t i = c->n_sessions; i > 0; i--) {
        if (strcmp(c->sessions[i - 1].name, name) == 0) {
            return i - 1;
        }
    }
    return c->n_sessions;
}

/* The latest attempt of s is over: it passed, or failed for the application or not. */
static void attempt_close(struct sess *s)
{
    if (s->failed) {
        s->failed_app = s->failed_app || !s->infra;
        s->failed_infra = s->failed_infra || s->infra;
    } else if (!s->cancelled) {
        s->passed_first = s->passed_first || s->attempt == 0;
        s->passed_later = s->passed_later || s->attempt > 0;
    }
}

/*
 * The record of the session a verdict belongs to, made at its first verdict; NULL for a verdict
 * without a session. The first verdict of a later attempt closes the one before, and the checks
 * forget the session: the retry runs in a new tenant, with nothing of the last attempt.
 */
static struct sess *session_for(struct rp_checker *c, const char *name, unsigned attempt)
{
    if (!name) {
        return NULL;
    }
    size_t i = session_find(c, name);
    if (i == c->n_sessions) {
        if (c->n_sessions == c->cap_sessions) {
            c->cap_sessions = c->cap_sessions ? c->cap_sessions * 2 : 16;
            c->sessions = rp_xreallocarray(c->sessions, c->cap_sessions, sizeof(*c->sessions));
        }
        struct sess *s = &c->sessions[c->n_sessions++];
        memset(s, 0, sizeof(*s));
        s->name = rp_xstrdup(name);
        s->attempt = attempt;
        return s;
    }
    struct sess *s = &c->sessions[i];
    if (attempt > s->attempt) {
        attempt_close(s);
        checks_forget(c, name);
        s->attempt = attempt;
        s->failed = false;
        s->infra = false;
        s->cancelled = false;
    }
    return s;
}

/* Notes a verdict in its session's latest attempt: the first main step that does not pass
 * decides whether the attempt failed for the infrastructure. Teardown steps do not count. */
static void session_note(struct sess *s, const struct rp_verdict *v)
{
    if (!s || v->teardown || v->attempt != s->attempt || s->failed) {
        return;
    }
    if (v->outcome == RP_OUTCOME_FAIL || v->outcome == RP_OUTCOME_UNSAFE ||
        v->outcome == RP_OUTCOME_ERROR) {
        s->failed = true;
        s->infra = rp_verdict_infra(v);
    } else if (v->outcome == RP_OUTCOME_CANCELLED) {
        s->cancelled = true; /* not passed: the steps after it were never checked */
    }
}

/*
 * Closes s's last attempt, counts its verdict and hands it to the sinks. An application
 * failure in any attempt makes a session that never passed failed rather than infrastructure:
 * the stronger signal wins.
 */
static void session_finish(struct rp_checker *c, struct sess *s)
{
    attempt_close(s);
    /* A session whose attempts were all cut short by a cancel is neither passed nor failed. */
    enum rp_session_verdict verdict = s->passed_first   ? RP_SESSION_PASSED
                                      : s->passed_later ? RP_SESSION_FLAKY
                                      : s->failed_app   ? RP_SESSION_FAILED
                                      : s->failed_infra ? RP_SESSION_INFRA
                                                        : RP_SESSION_CANCELLED;
    c->sum.sessions.passed += verdict == RP_SESSION_PASSED;
    c->sum.sessions.flaky += verdict == RP_SESSION_FLAKY;
    c->sum.sessions.failed += verdict == RP_SESSION_FAILED;
    c->sum.sessions.infra += verdict == RP_SESSION_INFRA;
    c->sum.sessions.cancelled += verdict == RP_SESSION_CANCELLED;
    if (c->kept || !c->begun) {
        return;
    }
    struct rp_session_result res = {
        .session = s->name,
        .verdict = verdict,
        .attempts = s->attempt + 1,
    };
    for (size_t i = 0; i < c->n_sinks; i++) {
        struct rp_error e = {0};
        rp_code rc = c->sinks[i].ops->session_verdict
                         ? c->sinks[i].ops->session_verdict(c->sinks[i].ctx, &res, &e)
                         : RP_OK;
        if (rc) {
            rp_ignore(keep(c, rc, &e, NULL)); /* returned by the next call, and at the end */
            return;
        }
    }
}

bool rp_checker_session_failed(struct rp_checker *c, const char *session)
{
    size_t i = session_find(c, session);
    return i < c->n_sessions && c->sessions[i].failed;
}

/* Counts v, then hands it to every sink, beginning them at the first verdict. */
static rp_code tally_and_report(struct rp_checker *c, const struct rp_verdict *v,
                                uint64_t latency_us, struct rp_error *err)
{
    if (v->teardown) {
        tally_teardown(c, v->outcome);
    } else {
        tally_main(c, v->outcome, latency_us);
        c->sum.slow += v->slow;
    }
    rp_code rc = rp_checker_start_sinks(c, err);
    if (rc) {
        return rc;
    }
    /* A slow step's warning is shown with the failures. */
    bool shown = !c->failures_only || v->outcome == RP_OUTCOME_FAIL ||
                 v->outcome == RP_OUTCOME_ERROR || v->outcome == RP_OUTCOME_UNSAFE || v->slow;
    struct rp_error e = {0};
    for (size_t i = 0; i < c->n_sinks; i++) {
        if (!shown && !c->sinks[i].ops->wants_all) {
            continue;
        }
        rc = c->sinks[i].ops->result(c->sinks[i].ctx, v, &e);
        if (rc) {
            return keep(c, rc, &e, err);
        }
    }
    return RP_OK;
}

rp_code rp_checker_exchange(struct rp_checker *c, const struct rp_replay_event *ev,
                            struct rp_error *err)
{
    if (c->kept) {
        return keep(c, c->kept, &c->kept_err, err);
    }
    if (ev->status == RP_REPLAY_DRY_RUN) {
        return RP_OK;
    }
    c->live = true;
    struct rp_verdict v;
    rp_verdict_init(&v);
    v.session = ev->session;
    v.recorded_seq = ev->recorded->seq;
    v.live = ev->live;
    v.recorded = ev->recorded;
    v.error = ev->message;
    v.teardown = ev->teardown;
    v.step = ev->step;
    v.tenants = ev->tenants;
    v.attempt = ev->attempt;
    struct sess *sess = session_for(c, v.session, v.attempt);
    rp_code rc = RP_OK;
    switch (ev->status) {
    case RP_REPLAY_DONE: {
        struct rp__check_input in = {
            .recording = ev->recording,
            .recorded = ev->recorded,
            .live = ev->live,
            .recorded_seq = ev->recorded->seq,
            .want_shape = c->want_shape,
        };
        bool applied = false;
        v.outcome = RP_OUTCOME_PASS;
        rc = run_checks(c, &in, &v, &applied, err);
        break;
    }
    case RP_REPLAY_ERROR:
        v.outcome = RP_OUTCOME_ERROR;
        break;
    case RP_REPLAY_UNSAFE:
        v.outcome = RP_OUTCOME_UNSAFE;
        break;
    case RP_REPLAY_CANCELLED:
        v.outcome = RP_OUTCOME_CANCELLED;
        break;
    default:
        v.outcome = RP_OUTCOME_SKIPPED;
        break;
    }
    session_note(sess, &v);
    if (!rc) {
        rc = tally_and_report(c, &v, ev->latency_us, err);
    }
    rp_verdict_cleanup(&v);
    return rc;
}

void rp_checker_session_end(struct rp_checker *c, const char *session)
{
    checks_forget(c, session);
    size_t k = session_find(c, session);
    if (k < c->n_sessions) {
        session_finish(c, &c->sessions[k]);
        free(c->sessions[k].name);
        memmove(&c->sessions[k], &c->sessions[k + 1],
                (c->n_sessions - k - 1) * sizeof(*c->sessions));
        c->n_sessions--;
    }
    if (c->kept || !c->begun) {
        return;
    }
    for (size_t i = 0; i < c->n_sinks; i++) {
        struct rp_error e = {0};
        rp_code rc = c->sinks[i].ops->session_end
                         ? c->sinks[i].ops->session_end(c->sinks[i].ctx, session, &e)
                         : RP_OK;
        if (rc) {
            rp_ignore(keep(c, rc, &e, NULL)); /* returned by the next call, and at the end */
            return;
        }
    }
}

rp_code rp_checker_stored(struct rp_checker *c, struct rp_verdict *v, struct rp_error *err)
{
    if (c->kept) {
        return keep(c, c->kept, &c->kept_err, err);
    }
    struct sess *sess = session_for(c, v->session, v->attempt);
    bool sent = v->outcome == RP_OUTCOME_PASS || v->outcome == RP_OUTCOME_FAIL;
    if (sent && v->live && v->live->has_response) {
        /* Re-check into a fresh list; keep the stored one if no check applies offline. */
        struct rp_mismatches stored = v->mismatches;
        struct rp_check_note notes[RP_CHECKS_MAX];
        size_t n_notes = v->n_checks;
        memcpy(notes, v->checks, sizeof(notes));
        rp_mismatches_init(&v->mismatches);
        struct rp__check_input in = {
            .live = v->live,
            .recorded_seq = v->recorded_seq,
            .want_shape = c->want_shape,
        };
        bool applied = false;
        rp_code rc = run_checks(c, &in, v, &applied, err);
        if (rc || !applied) {
            rp_mismatches_cleanup(&v->mismatches);
            v->mismatches = stored;
            memcpy(v->checks, notes, sizeof(notes));
            v->n_checks = n_notes;
            if (rc) {
                return rc;
            }
        } else {
            rp_mismatches_cleanup(&stored);
        }
    }
    session_note(sess, v);
    return tally_and_report(c, v, v->live ? v->live->duration_us : 0, err);
}

void rp_checker_unfinished(struct rp_checker *c, const char *why, uint64_t not_sent)
{
    if (!c->unfinished_why) {
        c->unfinished_why = rp_xstrdup(why ? why : "not finished");
    }
    c->sum.cancelled += not_sent;
}

rp_code rp_checker_end(struct rp_checker *c, struct rp_run_summary *out, struct rp_error *err)
{
    c->sum.finished = !c->unfinished_why;
    c->sum.unfinished_why = c->unfinished_why;
    for (size_t i = 0; i < c->n_sessions; i++) {
        session_finish(c, &c->sessions[i]);
        free(c->sessions[i].name);
    }
    c->n_sessions = 0;
    c->sum.p50_us = rp_latency_quantile(&c->lat, 0.50);
    c->sum.p95_us = rp_latency_quantile(&c->lat, 0.95);
    c->sum.max_us = c->lat.max_us;
    if (c->exact) {
        c->sum.exact_latency = true;
        c->sum.p50_us = rp_latency_exact_quantile(&c->lat_all, 0.50);
        c->sum.p95_us = rp_latency_exact_quantile(&c->lat_all, 0.95);
        c->sum.p99_us = rp_latency_exact_quantile(&c->lat_all, 0.99);
    }
    c->sum.baseline_p95_us = rp_baseline_p95(c->baseline);
    c->sum.slow_p95 = c->lat.n > 0 && rp_latency_slow(c->sum.p95_us, c->sum.baseline_p95_us,
                                                      c->slow_factor, c->slow_floor_us);
    if (c->live && c->info.start_us) {
        c->sum.wall_us = (uint64_t)(rp_now_us() - c->info.start_us);
    }
    *out = c->sum;
    rp_code first = RP_OK;
    struct rp_error first_err = {0};
    for (size_t i = 0; c->begun && i < c->n_sinks; i++) {
        struct rp_error e = {0};
        rp_code rc = c->sinks[i].ops->end(c->sinks[i].ctx, &c->sum, &e);
        if (rc && !first) {
            first = rc;
            first_err = e;
        }
    }
    c->begun = false;
    if (c->kept) {
        return keep(c, c->kept, &c->kept_err, err);
    }
    if (first && err) {
        *err = first_err;
        err->code = first;
    }
    return first;
}
