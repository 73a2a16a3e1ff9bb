/* SPDX-License-Identifier: MIT */
/*
 * Reports of a replay: one result per exchange goes to every sink of the run. Sinks are a
 * small table of functions (terminal, JUnit XML, results file), chosen once at setup.
 *
 * The terminal sink prints one line per exchange (status, ms, ok or FAILED), colour only when
 * asked, one line per mismatch under a failure ("$.items[0].price: expected number, got string
 * \"12.00\""), and a summary with counts and p50/p95 latency. The JUnit sink writes a
 * testsuite per session and a testcase per exchange. The results sink writes a recording
 * (source kind "replay") whose exchanges are the live ones, each with a "check" object that
 * holds the outcome, the mismatches and the shape used, so that `reprise diff` can re-check
 * it offline.
 */
#ifndef REPRISE_REPORT_H
#define REPRISE_REPORT_H

#include <stdio.h>

#include <reprise/recording.h>
#include <reprise/shape.h>

#ifdef __cplusplus
extern "C" {
#endif

enum rp_outcome {
    RP_OUTCOME_PASS,    /* the response matched its shape */
    RP_OUTCOME_FAIL,    /* it did not: see mismatches */
    RP_OUTCOME_ERROR,   /* no response: connection refused, reset, timeout, TLS (see error) */
    RP_OUTCOME_SKIPPED, /* not sent: another host, or the session stopped earlier */
};

/* What the run was; strings borrowed for the duration of the call. */
struct rp_run_info {
    const char *run_id;
    const char *target;            /* the base URL replayed against */
    int64_t start_us;              /* Unix microseconds */
    const char *const *recordings; /* paths, n_recordings of them */
    size_t n_recordings;
};

/* One exchange's result. Everything is borrowed for the duration of the sink call. */
struct rp_check_result {
    const char *session;            /* "demo-checkout#1" */
    uint64_t recorded_seq;          /* its seq in the recording */
    const struct rp_exchange *live; /* the request as sent and, unless ERROR or SKIPPED,
                                       the live response; seq is the run's own numbering */
    enum rp_outcome outcome;
    const struct rp_mismatches *mismatches; /* FAIL: at least one; may be NULL otherwise */
    const char *error;                      /* ERROR or SKIPPED: why, one line */
    const struct rp_shape *shape;           /* the shape checked against; NULL if none */
};

/* Totals at the end of a run. */
struct rp_run_summary {
    uint64_t passed, failed, errors, skipped;
    uint64_t p50_us, p95_us, max_us; /* latency over exchanges that got a response */
    uint64_t wall_us;                /* the run's duration */
};

struct rp_sink_ops {
    rp_code (*begin)(void *ctx, const struct rp_run_info *run, struct rp_error *err);
    rp_code (*result)(void *ctx, const struct rp_check_result *res, struct rp_error *err);
    rp_code (*end)(void *ctx, const struct rp_run_summary *sum, struct rp_error *err);
    void (*free)(void *ctx);
};

struct rp_sink {
    const struct rp_sink_ops *ops;
    void *ctx;
};

/* Terminal report to out (borrowed; stays the caller's). color: ANSI colours. verbose: also
 * one line per mismatch for passing exchanges' warnings (none today) and the full URL. */
RP_EXTERN void rp_sink_terminal(struct rp_sink *sink, FILE *out, bool color);

/* JUnit XML written to path at end(). RP_EIO naming path when it cannot be written. */
RP_EXTERN void rp_sink_junit(struct rp_sink *sink, const char *path);

/* A results file (recording format) at path, written as results arrive (durable). */
RP_EXTERN void rp_sink_results(struct rp_sink *sink, const char *path);

/* Calls the sink's free and clears it. */
RP_EXTERN void rp_sink_free(struct rp_sink *sink);

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
/* The q-quantile (0 < q <= 1) in microseconds, within 1%; 0 when empty. */
RP_EXTERN uint64_t rp_latency_quantile(const struct rp_latency *l, double q);

/* ----- results files, read back (reprise diff) ------------------------------------------- */

/*
 * Reads the "check" object of a results-file exchange (its extra keys, borrowed) into the
 * parts diff needs. *out_session, *out_error are new strings (or NULL); *out_shape a new shape
 * (or NULL when none was stored); out_mismatches (initialised) receives the stored mismatches.
 * RP_EFORMAT when the exchange has no valid check.
 */
RP_EXTERN rp_code rp_results_parse_check(const char *extra, char **out_session,
                                         uint64_t *out_recorded_seq, enum rp_outcome *out_outcome,
                                         char **out_error, struct rp_shape **out_shape,
                                         struct rp_mismatches *out_mismatches,
                                         struct rp_error *err);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_REPORT_H */
