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

#include <reprise/buf.h>
#include <reprise/check.h>
#include <reprise/recording.h>
#include <reprise/scrub.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Terminal report to out (borrowed; stays the caller's), with ANSI colours when color: as
 * rp_sink_terminal_opts() with only color set. */
RP_EXTERN void rp_sink_terminal(struct rp_sink *sink, FILE *out, bool color);

struct rp_progress;

/* How the terminal sink shows a run. */
struct rp_terminal_opts {
    bool color; /* ANSI colours on the outcome words */
    /* Only what failed (FAIL, ERROR, UNSAFE rows and their details), the recap and the
     * summary: no header line, no passing or skipped rows. */
    bool quiet;
    /* The columns each row fits in: a terminal's width. A URL (or session) too long for its
     * column is elided in the middle. 0: RP_REPORT_TABLE_COLUMNS, the fixed width used when
     * the report does not go to a terminal. */
    unsigned width;
    /* Borrowed, may be NULL: stepped once per main step's verdict, and cleared before each
     * line the sink prints (it must outlive the sink's end()). */
    struct rp_progress *progress;
};

/*
 * Terminal report to out (borrowed; stays the caller's): a header line, one row per exchange in
 * fixed columns, the details of a failure under its row (a mismatch already shown for the same
 * step in another session is not repeated: "same mismatch as NAME#1"), and at the end a recap
 * of the failures grouped by step and mismatch with their counts ("× 200 sessions"; at most
 * RP_REPORT_RECAP_ROWS distinct rows, the rest counted), then the summary.
 */
RP_EXTERN void rp_sink_terminal_opts(struct rp_sink *sink, FILE *out,
                                     const struct rp_terminal_opts *o);

/* ----- the progress line ------------------------------------------------------------------ */

/*
 * A single line on a terminal saying how far a run is: steps done of the total, failed ones,
 * the rate and the time left ("  412/2600 steps, 37 failed, 85.2/s, 0:26 left"). Nothing is
 * drawn during the first RP_PROGRESS_DELAY_MS, so a short run never shows it; its text changes
 * at most every RP_PROGRESS_REDRAW_MS. Whoever prints another line to the same terminal clears
 * it first (rp_progress_clear); the next step shows it again.
 */
#define RP_PROGRESS_DELAY_MS  1000u
#define RP_PROGRESS_REDRAW_MS 100u

/* Returns a new progress line drawn on out (borrowed: a terminal), fitted in width columns
 * (0: 80). The clock starts now. */
RP_EXTERN struct rp_progress *rp_progress_new(FILE *out, unsigned width);
/* Clears the line and frees p; NULL does nothing. */
RP_EXTERN void rp_progress_free(struct rp_progress *p);
/* Adds steps to the total the run will report. */
RP_EXTERN void rp_progress_add_total(struct rp_progress *p, uint64_t steps);
/* One step finished (failed: it did not pass); draws the line when it is due. */
RP_EXTERN void rp_progress_step(struct rp_progress *p, bool failed);
/* Erases the line, if it is shown, so another line can be printed; NULL does nothing. */
RP_EXTERN void rp_progress_clear(struct rp_progress *p);

/*
 * The progress text for done of total steps, failed of them, elapsed_us into the run, cut to
 * fit width - 1 columns, into buf (size bytes, NUL-terminated); returns its length.
 */
RP_EXTERN size_t rp_progress_format(char *buf, size_t size, unsigned width, uint64_t done,
                                    uint64_t total, uint64_t failed, uint64_t elapsed_us);

/* JUnit XML written to path at end() ("-": standard output). RP_EIO naming path when it
 * cannot be written. */
RP_EXTERN void rp_sink_junit(struct rp_sink *sink, const char *path);

/*
 * A self-contained HTML report (html.c) at path ("-": standard output): the summary, per session
 * a waterfall of its steps (live latency beside the recorded one and the baseline's median),
 * each failure with recorded and live values side by side, and each step's request and response
 * (scrubbed, bodies capped) with a copy-as-curl button. Inline CSS and JS, no network fetch
 * (a Content-Security-Policy says so). Written as the run goes, to PATH.tmp, each session at its
 * session_end(), and renamed at end(). A failing step's recorded response is the verdict's
 * recorded exchange, else read from the run's recordings (at most RP_HTML_LOOKUPS_MAX reads);
 * "not available" otherwise. RP_EIO naming path when it cannot be written.
 */
struct rp_html_opts {
    size_t body_max;      /* bytes of each body shown; 0: RP_HTML_BODY_MAX */
    uint64_t passing_max; /* passing sessions shown in full, the rest counted; 0:
                             RP_HTML_PASSING_MAX */
};
RP_EXTERN void rp_sink_html(struct rp_sink *sink, const char *path, const struct rp_html_opts *o);

/* A results file (recording format) at path ("-": standard output), written as results arrive
 * (durable). */
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
 * it exists, is a writable file and not a directory. "-" (standard output) always passes.
 * Creates nothing. RP_EIO naming flag (the option, "--junit") and path otherwise.
 */
RP_EXTERN RP_NODISCARD rp_code rp_report_path_check(const char *flag, const char *path,
                                                    struct rp_error *err);

/* ----- one step, for a person (step.c) ----------------------------------------------------- */

/* What rp_step_format() shows of an exchange; any combination. */
#define RP_STEP_REQUEST_HEAD  1u /* "METHOD URL VERSION" and the headers */
#define RP_STEP_REQUEST_BODY  2u
#define RP_STEP_RESPONSE_HEAD 4u /* "VERSION STATUS REASON" and the headers */
#define RP_STEP_RESPONSE_BODY 8u
#define RP_STEP_REQUEST_ALL   (RP_STEP_REQUEST_HEAD | RP_STEP_REQUEST_BODY)
#define RP_STEP_ALL           15u

/*
 * Appends to out the parts of ex asked for, as text a person reads: heads as on the wire (one
 * header a line), a blank line before a body, a text body cut at body_max bytes (at a
 * character) with a line saying how many more bytes there are, a binary one as its size, "(no
 * response)" when the response is asked for and ex has none. With scrub (not NULL), a copy of
 * ex is scrubbed first (scrub.h: cookies, credentials, card numbers become placeholders), so no
 * secret is shown. RP_ETOOBIG when out's cap is reached (what fitted stays).
 */
RP_EXTERN RP_NODISCARD rp_code rp_step_format(struct rp_buf *out, const struct rp_exchange *ex,
                                              unsigned parts, size_t body_max,
                                              struct rp_scrub *scrub, struct rp_error *err);

/*
 * Appends rq as a curl command line (a newline at its end) that sends it again: method, URL,
 * headers (but those curl sets itself: Host, Content-Length, Transfer-Encoding, Connection,
 * Accept-Encoding, Expect) and body, each a single-quoted shell word. A {{secret:NAME}}
 * placeholder becomes "$REPRISE_SECRET_NAME" (rp_secret_env_name) and a {{var:NAME}} one
 * "$REPRISE_VAR_NAME", so the shell fills them and no value is printed; a binary body is left
 * to a file (--data-binary @BODY_FILE, with a comment). RP_ETOOBIG at out's cap.
 */
RP_EXTERN RP_NODISCARD rp_code rp_step_curl(struct rp_buf *out, const struct rp_request *rq,
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
 * The header of a results file: the run it is of, as the replay's rp_run_info said it, owned
 * (rp_results_header_cleanup frees it).
 */
struct rp_results_header {
    char *run_id; /* "" when the file names none */
    char *target; /* the source detail: the target's URL; "" when none */
    char **recordings;
    size_t n_recordings;
    int64_t start_us;                  /* 0: not known */
    unsigned shard_index, shard_count; /* count 0: not a shard's file */
    uint64_t total_sessions;           /* the whole run's; 0: not known */
};
RP_EXTERN void rp_results_header_cleanup(struct rp_results_header *h);

/* Reads the header of the results file at path into *out (zeroed first by the caller or left
 * as it was on failure). RP_EFORMAT naming path for a file that is not a results file or whose
 * run, shard or sessions are malformed. */
RP_EXTERN RP_NODISCARD rp_code rp_results_header_read(const char *path,
                                                      struct rp_results_header *out,
                                                      struct rp_error *err);

/*
 * As rp_results_check, but without beginning c: the caller has begun it (rp_checker_begin,
 * rp_checker_start_sinks), so that several results files feed one checker (reprise merge).
 * A file without its end record, or with one that says the run did not finish, marks the run
 * unfinished (rp_checker_unfinished, the file named in the reason).
 */
RP_EXTERN RP_NODISCARD rp_code rp_results_feed(const char *path, struct rp_checker *c,
                                               rp_log_fn log, void *log_ud, struct rp_error *err);

/*
 * Reads the results file at path (RP_EFORMAT naming it when its source kind is not "replay")
 * into a new latency baseline in *out (rp_baseline_free): the latency of every main step that
 * got a response, per recording name and recorded seq. Errors name path and line.
 */
RP_EXTERN RP_NODISCARD rp_code rp_results_baseline(const char *path, rp_log_fn log, void *log_ud,
                                                   struct rp_baseline **out, struct rp_error *err);

/* One step of a results file (results_step.c), for `reprise diff --step` and `reprise replay
 * --step N --from`. */
struct rp_results_step {
    struct rp_verdict v;        /* the step's verdict as stored; v.live is &live */
    struct rp_exchange live;    /* the step as sent, and its response (scrubbed, as stored) */
    struct rp_exchange *before; /* the session's earlier main steps that got a response, in
                                   order, each with seq set to its recorded seq */
    size_t n_before;
    char *recording;             /* the recording the session replayed, when the results file
                                    names it and it can be read here; else NULL */
    struct rp_exchange recorded; /* its exchange of the step's seq, when has_recorded */
    bool has_recorded;
};

RP_EXTERN void rp_results_step_init(struct rp_results_step *st);
RP_EXTERN void rp_results_step_cleanup(struct rp_results_step *st);

/*
 * Reads step seq (a recorded seq, as the terminal report shows it) of the results file at path
 * into out (initialised): of session (as "NAME#N") when not NULL, else of the first session whose
 * step seq failed (fail, unsafe or error), else of the first that has it; teardown steps are not
 * looked at. Also the recording: the one among the file's recordings whose name is the
 * session's, read for the recorded exchange when it can be. RP_EUSAGE when no session has the
 * step; the reader's errors (RP_EFORMAT ...) naming FILE:LINE.
 */
RP_EXTERN RP_NODISCARD rp_code rp_results_step(const char *path, uint64_t seq, const char *session,
                                               struct rp_results_step *out, struct rp_error *err);

/* The cookies the step's session was given by its earlier responses, as a Cookie header value
 * ("demo_session={{secret:cookie_demo_session}}": the file holds placeholders), new memory; NULL
 * when none. */
RP_EXTERN char *rp_results_step_cookies(const struct rp_results_step *st);

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
