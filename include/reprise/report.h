/* SPDX-License-Identifier: MIT */
/*
 * Reports of a run: the sinks the checker (check.h) hands each verdict to, each a small table
 * of functions (terminal, JUnit XML, results file) chosen once at setup, and the reading back
 * of a results file for an offline re-check.
 *
 * The terminal sink prints one line per exchange (status, ms, ok or FAILED), colour only when
 * asked, one line per mismatch under a failure ("$.items[0].price: expected number, got string
 * \"12.00\""), and a summary with counts and p50/p95 latency. The JUnit sink writes a
 * testsuite per session and a testcase per exchange. The results sink writes a recording
 * (source kind "replay") whose exchanges are the live ones, each with a "check" object that
 * holds the outcome, the mismatches and the shape used, so that `reprise diff` can re-check
 * it offline.
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_REPORT_H
#define REPRISE_REPORT_H

#include <stdio.h>

#include <reprise/check.h>
#include <reprise/recording.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Terminal report to out (borrowed; stays the caller's). color: ANSI colours. verbose: also
 * one line per mismatch for passing exchanges' warnings (none today) and the full URL. */
RP_EXTERN void rp_sink_terminal(struct rp_sink *sink, FILE *out, bool color);

/* JUnit XML written to path at end(). RP_EIO naming path when it cannot be written. */
RP_EXTERN void rp_sink_junit(struct rp_sink *sink, const char *path);

/* A results file (recording format) at path, written as results arrive (durable). */
RP_EXTERN void rp_sink_results(struct rp_sink *sink, const char *path);

/*
 * A chat notice at the end of the run (notify.c): one Slack-compatible incoming-webhook message
 * (a plain "text" and "blocks": the verdict, the counts, the first failures with their sessions
 * and steps, the run id, the target, a link to the report) posted to url. A post that fails is
 * one RP_LOG_WARN line naming the webhook's scheme and host only (its path is its key), and
 * never an error: end() returns RP_OK.
 */
struct rp_notify_opts {
    const char *url;        /* the webhook; required */
    const char *report_url; /* linked from the message; NULL: no link */
    const char *cacert;     /* CA bundle for an https webhook; NULL: the system's */
    bool insecure;          /* do not verify the webhook's certificate */
    uint64_t timeout_ms;    /* 0: 10000 */
    rp_log_fn log;          /* the warning, and an INFO line when posted; may be NULL */
    void *log_ud;
};
RP_EXTERN void rp_sink_notify(struct rp_sink *sink, const struct rp_notify_opts *opts);

/*
 * Checks, before a run sends anything, that a report can be written at path: its directory
 * exists and is writable (the JUnit sink writes PATH.tmp there and renames it), and path, when
 * it exists, is a writable file and not a directory. Creates nothing. RP_EIO naming flag (the
 * option, "--junit") and path otherwise.
 */
RP_EXTERN RP_NODISCARD rp_code rp_report_path_check(const char *flag, const char *path,
                                                    struct rp_error *err);

/* ----- results files, read back (reprise diff) ------------------------------------------- */

/*
 * Reads the "check" object of a results-file exchange (ex borrowed) into v (initialised with
 * rp_verdict_init; on success it owns its session, error, stored shape and mismatches, and
 * v->live is ex). RP_EFORMAT when the exchange has no valid check; v is then left as it was.
 */
RP_EXTERN RP_NODISCARD rp_code rp_results_read_verdict(const struct rp_exchange *ex,
                                                       struct rp_verdict *v, struct rp_error *err);

/*
 * Reads the results file at path (RP_EFORMAT naming it when its source kind is not
 * "replay") and re-checks it offline: begins c with the run the file describes, then feeds
 * each exchange's verdict to rp_checker_stored(). The caller ends the run with
 * rp_checker_end() on success. Errors name path and line.
 */
RP_EXTERN RP_NODISCARD rp_code rp_results_check(const char *path, struct rp_checker *c,
                                                rp_log_fn log, void *log_ud, struct rp_error *err);

/*
 * Reads the results file at path (RP_EFORMAT naming it when its source kind is not "replay")
 * into a new latency baseline in *out (rp_baseline_free): the latency of every main step that
 * got a response, per recording name and recorded seq. Errors name path and line.
 */
RP_EXTERN RP_NODISCARD rp_code rp_results_baseline(const char *path, rp_log_fn log, void *log_ud,
                                                   struct rp_baseline **out, struct rp_error *err);

/* ----- listings of a recording (reprise show) -------------------------------------------- */

enum rp_listing_kind {
    RP_LISTING_TABLE,        /* the header, one row per exchange, a summary line */
    RP_LISTING_JSON,         /* the decompressed JSON lines, header first, each checked */
    RP_LISTING_CORRELATIONS, /* what replay carries from a response into a later request */
};

struct rp_listing_opts {
    enum rp_listing_kind kind;
    bool color;    /* ANSI colours in the table */
    rp_log_fn log; /* the reader's warnings (a truncated file); NULL: silent */
    void *log_ud;
    /* CORRELATIONS: what replay would be given, so the listing shows what it will do. */
    const char *const *binds; /* "NAME=PLACE" each, as replay's --bind */
    size_t n_binds;
    const char *const *consts; /* values the same in every tenant (--const) */
    size_t n_consts;
    const char *const *tenants; /* "FROM=TO" or "FROM" (--tenant): FROM is a tenant value */
    size_t n_tenants;
};

/*
 * Prints the recording at path (or "-" for standard input) to out as o->kind says. The reader's
 * errors come back naming FILE:LINE; what was printed before stays printed.
 */
RP_EXTERN RP_NODISCARD rp_code rp_listing_print(const char *path, FILE *out,
                                                const struct rp_listing_opts *o,
                                                struct rp_error *err);

/*
 * Prints one request as `reprise replay --dry-run` shows it: "# SESSION, exchange SEQ", the
 * request line, each header, a blank line and the body when there is one, then a blank line.
 */
RP_EXTERN void rp_listing_request(FILE *out, const char *session, uint64_t seq,
                                  const struct rp_request *rq);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_REPORT_H */
