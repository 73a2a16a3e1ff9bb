/* SPDX-License-Identifier: MIT */
/*
 * The replay engine. One recording is one session: its exchanges are sent in order, with the
 * session's own cookie jar, on libcurl's multi interface. Sessions run concurrently (at most
 * `concurrency` at once), under an overall request rate, each request with a timeout.
 *
 * Before a request is sent its tenant identifiers are rewritten to the session's fresh tenant,
 * correlated values are taken from the live responses, {{secret:NAME}} placeholders are filled
 * from the environment, the run header is added, and the recorded origin is replaced by the
 * target. Requests to other hosts are skipped unless mapped. Every exchange is reported through
 * the result callback, sent or not, so a report can list what happened to each.
 *
 * Before anything is sent, rp_replay_run() reads every recording once: to learn its
 * correlations and to check that every secret it needs is set (RP_ENOSECRET otherwise, naming
 * the variable, with nothing sent).
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_REPLAY_H
#define REPRISE_REPLAY_H

#include <reprise/correlate.h>
#include <reprise/recording.h>
#include <reprise/redact.h>

#ifdef __cplusplus
extern "C" {
#endif

enum rp_replay_status {
    RP_REPLAY_DONE,    /* sent, and a response came (any status) */
    RP_REPLAY_ERROR,   /* sent, no response: code and message say why */
    RP_REPLAY_SKIPPED, /* not sent: another host, the session stopped at an earlier error, or a
                          run guard (--read-only, --max-requests, --stop-on) */
    RP_REPLAY_DRY_RUN, /* not sent: --dry-run; live holds the request as it would go out */
    RP_REPLAY_UNSAFE,  /* not sent: it would carry a recorded server value (EMISSING: a
                          correlated value missing from the live response; EUNSAFE: an unsourced
                          id in a write); the session stops there; message names value and place */
    /* Not sent because the run was cancelled (rp_replay_cancel), or sent and abandoned when the
     * grace for what was in flight ran out. */
    RP_REPLAY_CANCELLED,
};

/* One exchange's outcome, passed to the result callback; everything borrowed for the call. */
struct rp_replay_event {
    const char *session;   /* "NAME#N": the recording's name and session number */
    unsigned session_no;   /* 1-based, over the run */
    const char *recording; /* the recording's path */
    const struct rp_exchange *recorded;
    const struct rp_exchange *live; /* the request as sent, and the response when DONE */
    enum rp_replay_status status;
    rp_code code;        /* ERROR: the failure class (ECONNECT, ETIMEOUT, ...); UNSAFE: why */
    const char *message; /* ERROR, SKIPPED, UNSAFE: one line */
    uint64_t latency_us; /* DONE: request start to the last byte */
    bool teardown;       /* a step of the session's teardown (opts.teardown), not a main step */
    unsigned attempt;    /* 0: the session's first run; K: its K-th retry (opts.retries) */
    /* The step's name, the same in every run: the recorded method and path with tenant values
     * as {tenant} and correlated values as {NOUN} ("POST /t/{tenant}/api/orders/{order}/pay"),
     * " #2" added to a step of the same recording (or teardown) named alike before it. */
    const char *step;
    /* The session's tenant rules, one "FROM=TO" line each ("acme=acme-x1y2z3-1"); NULL when it
     * has none. `reprise replay --step N --from RESULTS` replays a step in the same tenant. */
    const char *tenants;
};

typedef void (*rp_replay_result_fn)(void *ud, const struct rp_replay_event *ev);

/* Called once per session when it starts, with the tenant rewrites it uses (for listings). */
typedef void (*rp_replay_session_fn)(void *ud, const char *session, const char *const *from,
                                     const char *const *to, size_t n);

/*
 * Called by the pre-pass for each recorded exchange, once the recording's correlator has
 * learned from it: corr holds every correlation learned so far, [first, count) from ex. All
 * borrowed for the call. A checker learns here instead of reading the recording again
 * (rp_checker_observe).
 */
typedef void (*rp_replay_observe_fn)(void *ud, const char *recording, const struct rp_exchange *ex,
                                     const struct rp_correlator *corr, size_t first);

/*
 * Called once per session when it has finished, after its last result: what is kept about it
 * (a report's testsuite, a check's live values) may be written out or dropped now.
 */
typedef void (*rp_replay_session_end_fn)(void *ud, const char *session);

/*
 * Called when attempt (0 for the first) of session has ended, its teardown included, while
 * retries are left and the run is not cancelled: true runs the session again from its start,
 * as attempt + 1, in a new tenant (see opts.retries). The engine knows nothing of checks; the
 * caller answers from its checker (rp_checker_session_failed).
 */
typedef bool (*rp_replay_retry_fn)(void *ud, const char *session, unsigned attempt);

/* The most retries a session may have (--retries). */
#define RP_REPLAY_MAX_RETRIES 10

struct rp_replay_opts {
    const char *target;          /* base URL: scheme://host[:port][/prefix]; required */
    unsigned concurrency;        /* sessions at once; 0 means 1 */
    unsigned sessions;           /* copies of each recording, each its own tenant; 0 means 1 */
    double rate;                 /* requests per second over the run; 0: unlimited */
    uint64_t timeout_ms;         /* per request; 0: 30000 */
    uint64_t connect_timeout_ms; /* 0: 10000 */
    bool insecure;               /* do not verify TLS certificates */
    const char *cacert;          /* CA bundle file, or NULL for the system's */
    const char *run_id;          /* NULL: a random one; rp_replay_run_id() tells which; at most
                                    RP_REPLAY_MAX_RUN_ID bytes of letters, digits, '-', '_' and '.' */
    const char *run_header;      /* header naming the run; NULL: none */
    bool dry_run;                /* build each request, send nothing */
    bool stream;                 /* each session reads its recording from the file, even when it
                                    would fit in memory (RP_REPLAY_CACHE_BYTES) */
    bool allow_unsourced;        /* send writes with unsourced ids, with a warning */
    /* Guards (guard.c). */
    bool same_tenant;      /* replay writes even with no tenant to rewrite, with a warning */
    bool read_only;        /* send only GET, HEAD, OPTIONS; the rest SKIPPED */
    uint64_t max_requests; /* at most this many requests over the run; 0: no cap */
    const char *stop_on;   /* a status list ("5xx", "500,429"): a session stops at the first
                              response with one of them, its later steps SKIPPED; NULL: none */
    rp_secret_fn secret;   /* NULL: rp_secret_from_env */
    void *secret_ud;
    rp_log_fn log; /* NULL: silent */
    void *log_ud;
    rp_replay_result_fn on_result;           /* required */
    rp_replay_session_fn on_session;         /* may be NULL */
    rp_replay_session_end_fn on_session_end; /* may be NULL */
    void *ud;
    rp_replay_observe_fn observe; /* may be NULL */
    void *observe_ud;
    /* A recording replayed after each session that started, as its sequel (teardown.c): in
     * its tenant, with its cookies, variables and correlated values; NULL: none. */
    const char *teardown;
    uint64_t teardown_timeout_ms; /* after rp_replay_cancel(): the teardowns' time; 0: 30000 */
    /* After rp_replay_cancel(): how long a main request in flight may take to answer before it
     * is abandoned (CANCELLED); 0: 5000. Never longer than teardown_timeout_ms. */
    uint64_t cancel_grace_ms;
    /* Retries (--retries): a session whose attempt retry() says failed runs again from its
     * start, at most retries times (up to RP_REPLAY_MAX_RETRIES), before a session not yet
     * started. Each attempt is a new session of the same number: its own tenant ({session}
     * expands to "N-rK" for retry K), cookie jar, correlation state, variables and teardown;
     * its requests count toward max_requests and the rate. on_session_end comes once, after
     * the last attempt. The run refuses (RP_EUSAGE, nothing sent) a --tenant template with
     * neither {session} nor {uuid}, and same_tenant: a retry must not reuse a tenant. */
    unsigned retries;
    rp_replay_retry_fn retry; /* with ud; required when retries is not 0 */
    /* Shards (--shard I/N): this process runs the sessions whose index over the whole run (copy
     * k of recording i has index k * n_recordings + i, number index + 1) leaves shard_index
     * when divided by shard_count (0-based; count 0 or 1: no sharding, index must be 0). A
     * session is never split; its number, name and {session} stay the run's, so shards that
     * share run_id never share a tenant; its retries stay in its shard. rate is the whole
     * run's: each shard sends at rate / shard_count, which assumes the shards run at the same
     * time. max_requests counts this process's requests only. At most RP_REPLAY_MAX_SHARDS. */
    unsigned shard_index, shard_count;
    /* The template every tenant a recording's header names becomes when no rp_replay_tenant()
     * rule is given (--tenant-template); NULL: RP_REPLAY_TENANT_TEMPLATE. Refused with retries,
     * and warned about with several sessions or shards, as a rule's template is, when it has
     * neither {session} nor {uuid}. */
    const char *tenant_template;
};

/* The default tenant template. */
#define RP_REPLAY_TENANT_TEMPLATE "{tenant}-{run}-{session}"

/* The most shards a run may have (--shard I/N). */
#define RP_REPLAY_MAX_SHARDS 10000

/* The longest run id (opts.run_id), in bytes. */
#define RP_REPLAY_MAX_RUN_ID 64

/* How many of a run's total sessions shard index (0-based) of count runs (count 0 or 1: all). */
RP_EXTERN size_t rp_replay_shard_sessions(size_t total, unsigned index, unsigned count);

struct rp_replay;

/* Returns a new engine for opts (copied; the strings it points to must outlive the engine). */
RP_EXTERN RP_NODISCARD rp_code rp_replay_new(const struct rp_replay_opts *opts,
                                             struct rp_replay **out, struct rp_error *err);
RP_EXTERN void rp_replay_free(struct rp_replay *r);

/* Adds a recording (path borrowed and copied). Opened at rp_replay_run(). */
RP_EXTERN void rp_replay_add_recording(struct rp_replay *r, const char *path);

/*
 * Tenant rule: the recorded tenant from becomes the template to ({run}, {session}, {uuid},
 * {date}, {env:NAME}, {tenant}). Without any rule, every tenant named in a recording's header
 * becomes opts.tenant_template, by default RP_REPLAY_TENANT_TEMPLATE.
 */
RP_EXTERN RP_NODISCARD rp_code rp_replay_tenant(struct rp_replay *r, const char *from,
                                                const char *to, struct rp_error *err);

/* Requests to host from ("host" or "host:port") go to the base URL to instead of being
 * skipped. */
RP_EXTERN RP_NODISCARD rp_code rp_replay_map_host(struct rp_replay *r, const char *from,
                                                  const char *to, struct rp_error *err);

/* A declared correlation (see rp_correlator_bind). */
RP_EXTERN RP_NODISCARD rp_code rp_replay_bind(struct rp_replay *r, const char *name,
                                              const char *jsonpath, struct rp_error *err);

/* Declares value the same in every tenant (--const): an id of that value is never unsourced.
 * RP_EUSAGE for an empty value. */
RP_EXTERN RP_NODISCARD rp_code rp_replay_const(struct rp_replay *r, const char *value,
                                               struct rp_error *err);

/*
 * Runs the replay to the end. Returns RP_OK when every exchange got a response (whatever its
 * status; checking shapes is the caller's), the class of the first target failure (ECONNECT,
 * ETIMEOUT, EDNS, ETLS, ETARGET) when a session stopped on one, or an input error (EFORMAT,
 * ENOSECRET, EUSAGE ...) found before anything was sent.
 */
RP_EXTERN RP_NODISCARD rp_code rp_replay_run(struct rp_replay *r, struct rp_error *err);

/*
 * Cancels the run (SIGINT, SIGTERM): no main step is sent any more and no session starts; a
 * main request in flight gets cancel_grace_ms for its response, then is abandoned; each
 * session that started runs its teardown, if there is one, until teardown_timeout_ms after
 * the cancel, when what is still in flight is abandoned. A second call abandons everything
 * in flight at once and runs no more teardown steps. rp_replay_run() then returns as usual,
 * having reported every step it did not send, or abandoned, as CANCELLED. Only sets a flag:
 * safe to call from a signal handler, on an engine that rp_replay_run() is running.
 */
RP_EXTERN void rp_replay_cancel(struct rp_replay *r);

/*
 * After a cancelled run: the main steps of the sessions the cancel kept from starting (no
 * event reported them), for the summary's count of cancelled steps. 0 for a run not cancelled.
 */
RP_EXTERN uint64_t rp_replay_not_started(const struct rp_replay *r);

/* True once rp_replay_cancel() was called. */
RP_EXTERN bool rp_replay_cancelled(const struct rp_replay *r);

/* ----- one step alone: `reprise replay --step N --from RESULTS` (step.c) ------------------ */

/*
 * Step mode: only recorded exchange seq of each session is sent (and reported); the exchanges
 * before it are passed over unsent and unreported, their responses given by rp_replay_seed()
 * observed in their place, so the step carries the live values (correlations, variables) an
 * earlier run took; those after it, and a teardown, are passed over. Give the earlier run's
 * tenants with rp_replay_tenant().
 */
RP_EXTERN void rp_replay_only_step(struct rp_replay *r, uint64_t seq);

/* The live response (copied) an earlier run got for recorded exchange seq, for step mode. A
 * value in it that the results file scrubbed ({{secret:NAME}}) is filled from the environment
 * where the step sends it. */
RP_EXTERN RP_NODISCARD rp_code rp_replay_seed(struct rp_replay *r, uint64_t seq,
                                              const struct rp_response *resp, struct rp_error *err);

/* The Cookie header value (copied; placeholders filled from the environment when sent) the step
 * goes with in step mode, when its request has none: the cookies the earlier run's session was
 * given, which a results file holds only as placeholders. NULL or "": none. */
RP_EXTERN void rp_replay_step_cookie(struct rp_replay *r, const char *cookie);

/* The run's id (the value of the run header and of {run}), borrowed. */
RP_EXTERN const char *rp_replay_run_id(const struct rp_replay *r);

/* Makes a random run id of n lower-case letters and digits into out (n + 1 bytes). */
RP_EXTERN void rp_run_id_make(char *out, size_t n);

/* ----- the cross-tenant isolation probe (probe.c) -------------------------------------------- */

enum rp_probe_outcome {
    RP_PROBE_DENIED,  /* 401, 403 or 404, and none of A's values in the body: isolation holds */
    RP_PROBE_LEAK,    /* another status, or A's values in the body */
    RP_PROBE_ERROR,   /* sent, no response: code and message say why */
    RP_PROBE_SKIPPED, /* not sent: B's copy could not be built (message says why) */
};

/* One probed request: a read of session A (a GET or HEAD whose path or query carries a value a
 * response gave A) sent again with session B's credentials. Everything borrowed for the call. */
struct rp_probe_result {
    const char *recording;          /* its path */
    const char *session_a;          /* "NAME#1": the owner of the object */
    const char *session_b;          /* "NAME#2": whose credentials went with A's path */
    uint64_t seq;                   /* the recorded exchange */
    const struct rp_exchange *live; /* the request as sent and, unless ERROR or SKIPPED, B's
                                       response */
    enum rp_probe_outcome outcome;
    rp_code code;              /* ERROR: the failure class */
    const char *message;       /* ERROR, SKIPPED: one line */
    const char *const *leaked; /* A's values found in the response body */
    size_t n_leaked;
};

typedef void (*rp_probe_fn)(void *ud, const struct rp_probe_result *res);

/*
 * Runs the isolation probe instead of rp_replay_run(): every recording is replayed as two
 * sessions in fresh tenants, A then B (opts.sessions is taken as 2 and concurrency as 1; each
 * step still goes to on_result). Then each read of A that carries a value a response gave A (a
 * correlation into its path or query) is sent again with A's URL and B's credentials: the
 * request B would have sent at that step (B's tenant, cookies, correlated header values such
 * as CSRF tokens, record-time variables such as bearer tokens) with A's path and query. A's
 * values are its tenant names and every server-given value A took that B did not take alike;
 * one found in the body as a whole token (not part of a longer word) is leaked, unless the
 * response is a denial and the value is in the request's own URL (an echo of the path). Each
 * probed request goes to on_probe. *out_leaks counts the leaks.
 *
 * Returns RP_EUSAGE, with nothing sent, when a recording declares no tenant and no --tenant
 * rule applies, or when a rule's template has neither {session} nor {uuid} (A and B would
 * share a tenant); otherwise as rp_replay_run(), and a probe request's transport failure as
 * its class (after every probe was reported).
 */
RP_EXTERN RP_NODISCARD rp_code rp_replay_probe(struct rp_replay *r, rp_probe_fn on_probe, void *ud,
                                               uint64_t *out_leaks, struct rp_error *err);

/*
 * Learns the correlations of the recording at path (streaming) into c. Errors name FILE:LINE.
 * The engine calls this for each recording; `reprise show --correlations` too.
 */
RP_EXTERN RP_NODISCARD rp_code rp_replay_learn(const char *path, struct rp_correlator *c,
                                               rp_log_fn log, void *log_ud, struct rp_error *err);

/*
 * The same, and also finds the recording's unsourced ids into u (see correlate.h), as the
 * engine does before sending: the recording's tenants are declared to u here; declare
 * constants and --tenant FROMs before. `reprise show --correlations` lists what it finds.
 */
RP_EXTERN RP_NODISCARD rp_code rp_replay_survey(const char *path, struct rp_correlator *c,
                                                struct rp_unsourced_finder *u, rp_log_fn log,
                                                void *log_ud, struct rp_error *err);

/* ----- guards (guard.c) ------------------------------------------------------------------- */

/*
 * The tenant guard. A recording with writes (methods other than GET, HEAD, OPTIONS) replays only
 * when it has a tenant to rewrite: declared (its header's tenants, or --tenant FROMs) and found
 * in at least one request. Otherwise every write would act on the recorded tenant's real data,
 * and rp_replay_run() refuses it with RP_ETENANT before anything is sent, unless same_tenant
 * (or read_only: no write goes out). Read-only recordings replay without a tenant.
 */
struct rp_tenant_guard {
    size_t n_tenants;        /* tenants to rewrite: the --tenant FROMs, else the header's */
    uint64_t writes;         /* requests with a method other than GET, HEAD, OPTIONS */
    uint64_t first_write;    /* the seq of the first of them */
    char first_method[16];   /* its method (cut to fit) */
    bool tenant_in_requests; /* some tenant stands (as rewriting matches it) in some request */
    char tenant[64];         /* the first tenant to rewrite (cut to fit), for messages */
};

enum rp_tenant_verdict {
    RP_TENANT_OK,     /* writes, and a tenant found in the requests */
    RP_TENANT_READS,  /* no writes: nothing to guard */
    RP_TENANT_NONE,   /* writes, and no tenant declared */
    RP_TENANT_UNUSED, /* writes, and no declared tenant stands in any request */
};

/* True for GET, HEAD and OPTIONS (the methods --read-only sends). */
RP_EXTERN bool rp_method_is_read(const char *method);

RP_EXTERN enum rp_tenant_verdict rp_tenant_guard_verdict(const struct rp_tenant_guard *g);

/* One line (no newline) for a refused verdict: what, why, and how (--tenant FROM=TO, re-record
 * with --tenant NAME, or --same-tenant); "" for the others. path names the recording. */
RP_EXTERN void rp_tenant_guard_message(const struct rp_tenant_guard *g, const char *path, char *out,
                                       size_t outsz);

/*
 * Reads the recording at path (streaming) into *out, as the engine's pre-pass does; tenants
 * (n of them, may be NULL) are --tenant FROMs that replace the header's. For `reprise show`.
 */
RP_EXTERN RP_NODISCARD rp_code rp_replay_guard_survey(const char *path, const char *const *tenants,
                                                      size_t n, struct rp_tenant_guard *out,
                                                      struct rp_error *err);

/* A set of HTTP statuses (100 to 599), for --stop-on. */
struct rp_status_set {
    uint64_t bits[10];
};

/*
 * Parses a comma-separated list of statuses ("500") and classes ("5xx") into *out.
 * RP_EUSAGE naming the bad item otherwise (an empty list included).
 */
RP_EXTERN RP_NODISCARD rp_code rp_status_set_parse(const char *list, struct rp_status_set *out,
                                                   struct rp_error *err);
RP_EXTERN bool rp_status_set_has(const struct rp_status_set *set, unsigned status);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_REPLAY_H */
