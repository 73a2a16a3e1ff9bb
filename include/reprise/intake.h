/* SPDX-License-Identifier: MIT */
/*
 * The recording pipeline every source (the proxy, packet capture, HAR import) hands its
 * exchanges to, one at a time: the static-asset filter, the URL-path filter, secret scrubbing
 * (with extra headers and fields, unless turned off), the body cap, and the durable recording
 * writer. One options struct configures it and one object holds the state of one recording, so
 * that whatever happens to an exchange on its way to the file happens the same way whichever
 * source it came from.
 *
 * Pointers passed in are borrowed for the call unless a function says otherwise.
 */
#ifndef REPRISE_INTAKE_H
#define REPRISE_INTAKE_H

#include <reprise/exchange.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rp_intake_opts {
    const char *output;      /* the recording's path (required) */
    const char *name;        /* the recording's name; NULL: the output's base name less .jsonl.gz */
    const char *source_kind; /* the header's source: "proxy", "capture", "har" (required) */
    const char *source_detail; /* the upstream URL, pcap file, interface or HAR file; may be NULL */
    const char *const *tenants; /* tenant identifiers for the header (at most RP_MAX_TENANTS) */
    size_t n_tenants;
    bool include_static;           /* keep what rp_filter_is_static() calls a static asset */
    const char *const *only_paths; /* fnmatch globs on the URL path; none: every path */
    size_t n_only_paths;
    bool no_redact;                    /* record secrets as they are (local debugging only) */
    const char *const *redact_headers; /* request headers scrubbed besides scrub.h's defaults */
    size_t n_redact_headers;
    const char *const *redact_fields; /* field-name substrings scrubbed besides the defaults */
    size_t n_redact_fields;
    uint64_t max_body; /* bodies recorded up to this many bytes; 0: RP_MAX_BODY_RECORDED */
    /*
     * The header's creation time is the first recorded exchange's start (HAR import), and the
     * file is created only then (or at rp_intake_close() when none came). Otherwise the file
     * is created by rp_intake_new() and the header says now.
     */
    bool created_from_first;
    /*
     * Write to OUTPUT.part and rename it to output in rp_intake_close(); a recording never
     * closed is removed, so a failed import leaves no file and an existing output untouched.
     */
    bool replace;
    bool sync;      /* the writer's fdatasync after each gzip member (live recorders) */
    int gzip_level; /* 1 (fastest) to 9; 0: zlib's default */
    rp_log_fn log;  /* warnings; may be NULL */
    void *log_ud;
};

/* What rp_intake_add() did with an exchange. */
enum rp_intake_fate {
    RP_INTAKE_RECORDED,      /* written */
    RP_INTAKE_STATIC,        /* left out as a static asset */
    RP_INTAKE_OUTSIDE_PATHS, /* left out by only_paths */
    RP_INTAKE_DROPPED,       /* not written: it could not be scrubbed (the intake goes on) */
    RP_INTAKE_FAILED,        /* not written: the writer failed (and fails from now on) */
};

/* The counts of one recording so far. */
struct rp_intake_counts {
    uint64_t recorded;        /* exchanges written */
    uint64_t filtered_static; /* left out as static assets */
    uint64_t filtered_path;   /* left out by only_paths */
    uint64_t errors;          /* not written: scrubbing or the writer failed */
    /* Of errors: lost to a failed write, the exchanges taken but never written whole (moved
     * from recorded once the failure is seen) and every one offered after it. */
    uint64_t lost;
};

/* The state of one recording: its options, scrub rules, writer and counters. Opaque. */
struct rp_intake;

/*
 * Checks opts (borrowed; everything copied), builds the scrub rules and, unless
 * opts->created_from_first, creates the recording and writes its header. On success *out is a
 * new intake: finish it with rp_intake_close() and free it with rp_intake_free(). Errors:
 * RP_EUSAGE (no output or source kind, too many tenants), RP_EIO naming the file when it
 * cannot be created.
 */
RP_EXTERN RP_NODISCARD rp_code rp_intake_new(const struct rp_intake_opts *opts,
                                             struct rp_intake **out, struct rp_error *err);

/*
 * Runs ex (borrowed; changed in place: scrubbed, bodies cut to max_body) through the pipeline
 * and writes it unless a filter leaves it out. The caller still owns ex and cleans it up.
 * *out_fate (may be NULL) says what happened, on success and failure alike. Returns RP_OK when
 * ex was written or filtered out; scrub's error (RP_ETOOBIG) when it could not be scrubbed and
 * was dropped, the intake going on; the writer's error (sticky: every later call returns it
 * too). Not thread-safe: one thread adds.
 */
RP_EXTERN RP_NODISCARD rp_code rp_intake_add(struct rp_intake *in, struct rp_exchange *ex,
                                             enum rp_intake_fate *out_fate, struct rp_error *err);

/* The body cap exchanges are cut to, for sources that stop reading a body past it. */
RP_EXTERN uint64_t rp_intake_max_body(const struct rp_intake *in);

/* Copies the counts so far into *out. */
RP_EXTERN void rp_intake_counts(const struct rp_intake *in, struct rp_intake_counts *out);

/*
 * Finishes the recording: flushes and closes the file (creating it first when
 * created_from_first and nothing came), and renames OUTPUT.part into place with replace.
 * Returns the writer's first error (from any rp_intake_add() too), or RP_EIO naming the file.
 * After it, rp_intake_add() fails with RP_EINTERNAL; only rp_intake_counts() and
 * rp_intake_free() remain.
 */
RP_EXTERN RP_NODISCARD rp_code rp_intake_close(struct rp_intake *in, struct rp_error *err);

/*
 * Frees in. A recording not closed is closed now, errors ignored; with replace its .part file
 * is removed instead. in may be NULL.
 */
RP_EXTERN void rp_intake_free(struct rp_intake *in);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_INTAKE_H */
