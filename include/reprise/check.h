/* SPDX-License-Identifier: MIT */
/*
 * The check pipeline: a recorded exchange and its live counterpart in, a verdict with its
 * mismatches out. Every verdict, live (`reprise replay`) or offline from a results file
 * (`reprise diff`), comes out of one checker, which runs a table of checks chosen once at
 * setup (the shape check first), tallies outcomes and latency percentiles, and hands each
 * verdict to any number of sinks (report.h makes the terminal, JUnit and results-file sinks).
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless a
 * comment says "takes"; pointers inside a verdict handed to a sink are valid only during the
 * sink's call.
 */
#ifndef REPRISE_CHECK_H
#define REPRISE_CHECK_H

#include <reprise/replay.h>
#include <reprise/shape.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The most checks one verdict records results for. */
#define RP_CHECKS_MAX 8

enum rp_outcome {
    RP_OUTCOME_PASS,    /* the response passed every check */
    RP_OUTCOME_FAIL,    /* a check failed: see mismatches */
    RP_OUTCOME_ERROR,   /* no response: connection refused, reset, timeout, TLS (see error) */
    RP_OUTCOME_SKIPPED, /* not sent: another host, or the session stopped earlier; for one
                           check: it did not apply */
    RP_OUTCOME_UNSAFE,  /* not sent: it would have carried a recorded server value (a correlated
                           value missing live, an unsourced id in a write; see error). A check
                           failure, as FAIL */
    /* Not sent, or sent and abandoned: the run was cancelled (SIGINT, SIGTERM) before its
     * response came; neither a pass nor a failure. */
    RP_OUTCOME_CANCELLED,
};

/* The name of an outcome as the results file writes it ("pass", "fail", "error", "skipped",
 * "unsafe", "cancelled"), or NULL for a value outside the enum. */
RP_EXTERN const char *rp_outcome_name(enum rp_outcome o);

/* What one check said about one exchange. */
struct rp_check_note {
    char name[24]; /* the check's name: "shape" */
    enum rp_outcome outcome;
};

/*
 * One identity expectation checked on a response (the identity check): the live value at path
 * was to equal expected, the live value the same object had in an earlier response of the
 * session (what names it: "the order created by #3"). The results file keeps them so that
 * `reprise diff` re-checks them offline.
 */
struct rp_identity_expect {
    char *path;           /* "$.id" */
    char *expected;       /* "21": a number's text, or a string's value */
    bool expected_string; /* expected was a JSON string */
    char *what;           /* "the order created by #3" */
};

/*
 * One exchange's verdict. The pointer fields are borrowed, except where the own_ fields hold
 * what they point to (a verdict read back from a results file, a shape inferred for it);
 * rp_verdict_cleanup() frees those and the mismatches.
 */
struct rp_verdict {
    const char *session;            /* "demo-checkout#1" */
    uint64_t recorded_seq;          /* its seq in the recording */
    const struct rp_exchange *live; /* the request as sent and, unless ERROR or SKIPPED,
                                       the live response; seq is the run's own numbering */
    enum rp_outcome outcome;
    struct rp_mismatches mismatches;            /* FAIL: at least one */
    const char *error;                          /* ERROR, SKIPPED, UNSAFE: why, one line */
    const struct rp_shape *shape;               /* the shape checked against; NULL if none */
    struct rp_check_note checks[RP_CHECKS_MAX]; /* per check, in the order they ran */
    size_t n_checks;
    struct rp_identity_expect *identity; /* owned; set by the identity check or read back */
    size_t n_identity;
    char *own_session;
    char *own_error;
    struct rp_shape *own_shape;
    bool teardown; /* a step of the session's teardown (--teardown): tallied and shown apart */
    /* The latency check: the recorded step's latency (0: the recording has no timing), the
     * baseline's median for the step (0: no baseline, or the step is not in it), and whether
     * the live latency (live->duration_us) was over budget (rp_latency_slow). */
    uint64_t recorded_us, baseline_us;
    bool slow;
    unsigned attempt; /* 0: the session's first run; K: its K-th retry (--retries) */
    /* The step's name (rp_replay_event's: the same in every run), NULL when unknown; own_step
     * holds it in a verdict read back. */
    const char *step;
    char *own_step;
    /* The session's tenant rules, "FROM=TO" lines (rp_replay_event's), NULL when none;
     * own_tenants holds them in a verdict read back. */
    const char *tenants;
    char *own_tenants;
    /* The recorded exchange (the replay event's), borrowed; NULL when unknown (a verdict read
     * back from a results file). */
    const struct rp_exchange *recorded;
};

RP_EXTERN void rp_verdict_init(struct rp_verdict *v);
RP_EXTERN void rp_verdict_cleanup(struct rp_verdict *v);

/*
 * True when v failed because of the infrastructure, not the application: no response (ERROR:
 * connect, TLS, DNS, timeout) or a FAIL whose live status is 502, 503 or 504 (a gateway that
 * answered for an application it could not reach).
 */
RP_EXTERN bool rp_verdict_infra(const struct rp_verdict *v);

/*
 * A session's verdict over its attempts (--retries). An attempt fails when one of its main
 * steps is FAIL, UNSAFE or ERROR (teardown steps do not count); it is an infrastructure failure
 * when the first of them is one (rp_verdict_infra).
 */
enum rp_session_verdict {
    RP_SESSION_PASSED,    /* its first attempt passed */
    RP_SESSION_FLAKY,     /* an attempt failed, a later one passed */
    RP_SESSION_FAILED,    /* every attempt failed, one at least for the application */
    RP_SESSION_INFRA,     /* every attempt failed, each for the infrastructure */
    RP_SESSION_CANCELLED, /* the run was cancelled before any attempt passed or failed: an
                             attempt with a CANCELLED main step and no failure before it
                             proves nothing either way */
};

/* "passed", "flaky", "failed", "infrastructure", "cancelled"; NULL for a value outside the
 * enum. */
RP_EXTERN const char *rp_session_verdict_name(enum rp_session_verdict v);

/* A session's verdict, as the checker hands it to its sinks. */
struct rp_session_result {
    const char *session; /* "demo-checkout#1" */
    enum rp_session_verdict verdict;
    unsigned attempts; /* how many ran: 1 + its retries */
};

/* What the run was. */
struct rp_run_info {
    const char *run_id;
    const char *target;            /* the base URL replayed against */
    int64_t start_us;              /* Unix microseconds */
    const char *const *recordings; /* paths, n_recordings of them */
    size_t n_recordings;
    /* The shard this process ran (--shard I/N: index I - 1, 0-based; count 0 or 1: the whole
     * run) and the sessions of the whole run over every shard (0: unknown). */
    unsigned shard_index, shard_count;
    uint64_t total_sessions;
};

/* Totals at the end of a run. */
struct rp_run_summary {
    uint64_t passed, failed, errors, skipped;
    uint64_t p50_us, p95_us, max_us; /* latency over exchanges that got a response */
    uint64_t wall_us;                /* the run's duration; 0 for a run read back offline */
    uint64_t unsafe;                 /* refused as unsafe: a failure, as failed */
    /* Teardown steps, counted here and not above (nor in the latency). */
    struct {
        uint64_t passed, failed, errors, skipped, unsafe;
    } teardown;
    uint64_t slow; /* main steps over their latency budget (verdict.slow), whatever the outcome */
    /* The run-level budget, given a baseline: the baseline's p95 over its main steps (0: no
     * baseline), and whether this run's p95 is over budget against it. */
    uint64_t baseline_p95_us;
    bool slow_p95;
    /* Sessions by their verdict over their attempts (enum rp_session_verdict). */
    struct {
        uint64_t passed, flaky, failed, infra, cancelled;
    } sessions;
    /* Whether the run ended normally (cancel): false for a run cancelled or stopped by an
     * error, and for a results file without its end record (a run killed, or still running).
     * cancelled: main steps not sent, or abandoned in flight, because the run was cancelled,
     * the steps of sessions that never started included (teardown steps count as skipped).
     * unfinished_why: why it did not finish ("cancelled by SIGTERM"), owned by the checker;
     * set exactly when finished is false, so sinks test it: a summary made by hand, zeroed,
     * reads as finished. */
    bool finished;
    uint64_t cancelled;
    const char *unfinished_why;
    /* With rp_checker_opts.exact_latency: p50, p95 (above) and p99 are exact, by nearest rank
     * over every main step's latency; exact_latency false and p99_us 0 otherwise. */
    bool exact_latency;
    uint64_t p99_us;
};

/* ----- sinks -------------------------------------------------------------------------------- */

/*
 * A report back end. begin() comes before the first verdict, result() once per verdict, end()
 * once with the totals (only when begin() came), free() always. wants_shape: the sink needs
 * verdict->shape even for a response identical to the recorded one (the results file stores
 * it), which turns off the checker's byte-identical shortcut.
 */
struct rp_sink_ops {
    rp_code (*begin)(void *ctx, const struct rp_run_info *run, struct rp_error *err);
    rp_code (*result)(void *ctx, const struct rp_verdict *v, struct rp_error *err);
    rp_code (*end)(void *ctx, const struct rp_run_summary *sum, struct rp_error *err);
    void (*free)(void *ctx);
    bool wants_shape;
    /* May be NULL: a session has finished (no verdict of it follows); called only after
     * begin(). A sink that keeps results per session writes them out here. */
    rp_code (*session_end)(void *ctx, const char *session, struct rp_error *err);
    /* May be NULL: a session's verdict over its attempts, once it is final: just before its
     * session_end(), or at the end of a run for a session that never ended (a results file
     * read back, a run cut short), before end(). Called only after begin(). */
    rp_code (*session_verdict)(void *ctx, const struct rp_session_result *res,
                               struct rp_error *err);
    /* The sink gets every verdict even from a checker made with failures_only (the HTML
     * report's waterfall shows every step). */
    bool wants_all;
};

struct rp_sink {
    const struct rp_sink_ops *ops;
    void *ctx;
};

/* Calls the sink's free and clears it. NULL or a cleared sink does nothing. */
RP_EXTERN void rp_sink_free(struct rp_sink *sink);

/* ----- latency ------------------------------------------------------------------------------ */

/*
 * A latency accumulator for the summary's percentiles: memory bounded (a log-scale histogram
 * with 1% resolution), so a run of any length fits.
 */
struct rp_latency {
    uint64_t counts[2048];
    uint64_t n;
    uint64_t max_us;
};
RP_EXTERN void rp_latency_init(struct rp_latency *l);
RP_EXTERN void rp_latency_add(struct rp_latency *l, uint64_t us);
/* Adds everything src holds to dst, as if dst had been fed src's values too (shards). */
RP_EXTERN void rp_latency_merge(struct rp_latency *dst, const struct rp_latency *src);
/* The q-quantile (0 < q <= 1) in microseconds, within 1%; 0 when empty. */
RP_EXTERN uint64_t rp_latency_quantile(const struct rp_latency *l, double q);

/*
 * Every latency kept, 8 bytes a value, for percentiles that are exact rather than within 1%
 * (reprise merge, where the values of every shard are at hand). Memory grows with the values.
 */
struct rp_latency_exact {
    uint64_t *v;
    size_t n, cap;
    bool sorted;
};
RP_EXTERN void rp_latency_exact_init(struct rp_latency_exact *l);
RP_EXTERN void rp_latency_exact_cleanup(struct rp_latency_exact *l);
RP_EXTERN void rp_latency_exact_add(struct rp_latency_exact *l, uint64_t us);
/* The q-quantile (0 < q <= 1) by nearest rank: the value at rank ceil(q * n) of the values
 * sorted (sorted in place on the first call after an add); 0 when empty. */
RP_EXTERN uint64_t rp_latency_exact_quantile(struct rp_latency_exact *l, double q);

/* ----- latency budgets ---------------------------------------------------------------------- */

/*
 * A step is slow when its live latency is more than factor times its reference latency and at
 * least floor_us more (both: a 2 ms step taking 7 ms is not news, nor is 10.1 s against 10 s).
 * The reference is the baseline's median for the step when there is one, else the recorded
 * latency; a step with neither is not judged. False when ref_us is 0 or factor is not positive.
 */
RP_EXTERN bool rp_latency_slow(uint64_t live_us, uint64_t ref_us, double factor, uint64_t floor_us);

/* The defaults of `--slower`: 3 times and 200 ms more. */
#define RP_SLOW_FACTOR_DEFAULT   3.0
#define RP_SLOW_FLOOR_US_DEFAULT UINT64_C(200000)

/*
 * Writes v's latency note into buf (size bytes, NUL-terminated, cut short if need be), with the
 * figures it has: "840 ms, recorded 95 ms, baseline 110 ms (×7.6)", the factor against the
 * reference (the baseline when there is one). Returns buf.
 */
RP_EXTERN const char *rp_verdict_slow_text(const struct rp_verdict *v, char *buf, size_t size);

/*
 * The latencies of an earlier run (--baseline), per step: a step is a recording's name and a
 * recorded seq, so that all the sessions of one recording pool their values. Memory is bounded
 * by the number of distinct steps, never by the number of sessions: each step keeps a sparse
 * histogram (the non-empty buckets of rp_latency's, 1% resolution), and the whole run one
 * rp_latency for its p95.
 */
struct rp_baseline;

RP_EXTERN struct rp_baseline *rp_baseline_new(void);
RP_EXTERN void rp_baseline_free(struct rp_baseline *b);

/*
 * Adds one live latency of step seq of session ("NAME#N": the step belongs to NAME, the part
 * before the last '#'; a name without '#' is the recording's name itself). RP_ETOOBIG once
 * RP_MAX_BASELINE_STEPS distinct steps are held; the baseline is left as it was.
 */
RP_EXTERN RP_NODISCARD rp_code rp_baseline_add(struct rp_baseline *b, const char *session,
                                               uint64_t seq, uint64_t us, struct rp_error *err);

/* The median latency of the session's step seq into *out_us (within 1%); false when the
 * baseline holds no value of that step. */
RP_EXTERN bool rp_baseline_median(const struct rp_baseline *b, const char *session, uint64_t seq,
                                  uint64_t *out_us);

/* The p95 over every value added, within 1%; 0 when empty. */
RP_EXTERN uint64_t rp_baseline_p95(const struct rp_baseline *b);

/* ----- the checker -------------------------------------------------------------------------- */

struct rp_checker_opts {
    /* Recordings whose NAME.shape.json, when there is one, holds their shapes (else shapes
     * are inferred from the recorded responses). Borrowed for rp_checker_new() only. */
    const char *const *recordings;
    size_t n_recordings;
    /* A shape file every exchange is checked against instead (diff --shape); NULL: none. */
    const char *shape_file;
    /* Sinks get only FAIL, UNSAFE and ERROR verdicts (the tally still counts every one). */
    bool failures_only;
    /* The recordings are learned from the replay's pre-pass, through rp_checker_observe
     * (struct rp_replay_opts' observe), instead of being read again by rp_checker_new. */
    bool learn_from_replay;
    rp_log_fn log; /* one DEBUG line per shape file used; may be NULL */
    void *log_ud;
    /* The latency check. slow_factor 0 (or less) turns it off; the CLI sets the defaults
     * (RP_SLOW_FACTOR_DEFAULT, RP_SLOW_FLOOR_US_DEFAULT). baseline: borrowed for the
     * checker's life; NULL: steps are compared with their recorded latency (or, offline, with
     * the baseline figure the results file kept). fail_on_slow: a slow step fails (a "slow"
     * mismatch) instead of passing with a warning, and so does a slow run-level p95. */
    double slow_factor;
    uint64_t slow_floor_us;
    const struct rp_baseline *baseline;
    bool fail_on_slow;
    /* Keep every main step's latency (8 bytes each) for exact p50, p95 and p99 in the
     * summary (rp_run_summary.exact_latency), instead of the histogram's 1%. */
    bool exact_latency;
};

struct rp_checker;

/*
 * Returns a new checker in *out with every registered check set up: the shape files are
 * loaded here, so a malformed one fails now (RP_EFORMAT naming it), before anything is sent.
 */
RP_EXTERN RP_NODISCARD rp_code rp_checker_new(const struct rp_checker_opts *opts,
                                              struct rp_checker **out, struct rp_error *err);
RP_EXTERN void rp_checker_free(struct rp_checker *c);

/*
 * An rp_replay_observe_fn (ud: the checker): learns from one recorded exchange as the replay's
 * pre-pass reads it, for a checker made with learn_from_replay.
 */
RP_EXTERN void rp_checker_observe(void *checker, const char *recording,
                                  const struct rp_exchange *ex, const struct rp_correlator *corr,
                                  size_t first);

/* Adds a sink: takes it (the checker frees it) and clears *sink. Any number may be added. */
RP_EXTERN void rp_checker_add_sink(struct rp_checker *c, struct rp_sink *sink);

/*
 * Starts the run (run copied). The sinks' begin() is called with it at the first verdict, so
 * a run that stops before anything is checked writes no report.
 */
RP_EXTERN void rp_checker_begin(struct rp_checker *c, const struct rp_run_info *run);

/* Calls the sinks' begin() now, if no verdict did yet: a run read back reports even when it
 * holds no exchange. Returns the first sink error (kept, as rp_checker_exchange()). */
RP_EXTERN RP_NODISCARD rp_code rp_checker_start_sinks(struct rp_checker *c, struct rp_error *err);

/*
 * Checks one live exchange from the replay engine: a DONE event through every check, ERROR
 * and SKIPPED tallied as they are, DRY_RUN ignored. The verdict goes to every sink. The first
 * sink error is returned, and kept: later calls return it again without checking, and
 * rp_checker_end() returns it.
 */
RP_EXTERN RP_NODISCARD rp_code rp_checker_exchange(struct rp_checker *c,
                                                   const struct rp_replay_event *ev,
                                                   struct rp_error *err);

/*
 * A session of the live run has finished (rp_replay_opts.on_session_end), after its last
 * attempt: its verdict over its attempts is counted (rp_run_summary.sessions) and handed to the
 * sinks' session_verdict(), the checks drop what they kept about it and the sinks may write it
 * out, so a run's memory does not grow with the sessions it has run. A sink error is kept, as
 * rp_checker_exchange()'s.
 */
RP_EXTERN void rp_checker_session_end(struct rp_checker *c, const char *session);

/*
 * True when the latest attempt of session failed (a main step FAIL, UNSAFE or ERROR so far):
 * the question the replay engine asks before a retry (rp_replay_opts.retry). A verdict with a
 * higher attempt number starts the session's next attempt: the checks drop what they kept of
 * the last one, as at a session's end.
 */
RP_EXTERN bool rp_checker_session_failed(struct rp_checker *c, const char *session);

/*
 * Re-checks a verdict read back from a results file (v, changed in place): a PASS or FAIL
 * with a live response goes through the checks again, against the checker's shape file or
 * the shape stored in v; when no check applies, the stored outcome and mismatches stay. Then
 * tallied and handed to the sinks, as rp_checker_exchange().
 */
RP_EXTERN RP_NODISCARD rp_code rp_checker_stored(struct rp_checker *c, struct rp_verdict *v,
                                                 struct rp_error *err);

/*
 * The run did not finish (call before rp_checker_end): why, one line ("cancelled by SIGTERM",
 * copied), and not_sent main steps that no verdict stands for (the sessions a cancel kept from
 * starting), counted as cancelled. The summary then says finished false. A second call keeps
 * the first why and adds not_sent. Sinks are not begun here: rp_checker_start_sinks() does
 * that, for a run that must report even with no verdict.
 */
RP_EXTERN void rp_checker_unfinished(struct rp_checker *c, const char *why, uint64_t not_sent);

/*
 * Ends the run: gives every session that did not end (a results file read back, a run cut
 * short) its verdict, as rp_checker_session_end() would, in the order they started; fills *out
 * with the totals and percentiles and calls every sink's end() (when their begin() came). Returns
 * the kept sink error, else the first end() error, else RP_OK; *out is filled in every case.
 */
RP_EXTERN RP_NODISCARD rp_code rp_checker_end(struct rp_checker *c, struct rp_run_summary *out,
                                              struct rp_error *err);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_CHECK_H */
