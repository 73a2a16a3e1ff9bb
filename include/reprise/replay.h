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
    RP_REPLAY_SKIPPED, /* not sent: another host, or the session stopped at an earlier error */
    RP_REPLAY_DRY_RUN, /* not sent: --dry-run; live holds the request as it would go out */
    RP_REPLAY_UNSAFE,  /* not sent: it would carry a recorded server value (EMISSING: a
                          correlated value missing from the live response; EUNSAFE: an unsourced
                          id in a write); the session stops there; message names value and place */
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
};

typedef void (*rp_replay_result_fn)(void *ud, const struct rp_replay_event *ev);

/* Called once per session when it starts, with the tenant rewrites it uses (for listings). */
typedef void (*rp_replay_session_fn)(void *ud, const char *session, const char *const *from,
                                     const char *const *to, size_t n);

/*
 * Called once per session when it has finished, after its last result: what is kept about it
 * (a report's testsuite, a check's live values) may be written out or dropped now.
 */
typedef void (*rp_replay_session_end_fn)(void *ud, const char *session);

struct rp_replay_opts {
    const char *target;          /* base URL: scheme://host[:port][/prefix]; required */
    unsigned concurrency;        /* sessions at once; 0 means 1 */
    unsigned sessions;           /* copies of each recording, each its own tenant; 0 means 1 */
    double rate;                 /* requests per second over the run; 0: unlimited */
    uint64_t timeout_ms;         /* per request; 0: 30000 */
    uint64_t connect_timeout_ms; /* 0: 10000 */
    bool insecure;               /* do not verify TLS certificates */
    const char *cacert;          /* CA bundle file, or NULL for the system's */
    const char *run_id;          /* NULL: a random one; rp_replay_run_id() tells which */
    const char *run_header;      /* header naming the run; NULL: none */
    bool dry_run;                /* build each request, send nothing */
    bool stream;                 /* each session reads its recording from the file, even when it
                                    would fit in memory (RP_REPLAY_CACHE_BYTES) */
    bool allow_unsourced;        /* send writes with unsourced ids, with a warning */
    rp_secret_fn secret;         /* NULL: rp_secret_from_env */
    void *secret_ud;
    rp_log_fn log; /* NULL: silent */
    void *log_ud;
    rp_replay_result_fn on_result;           /* required */
    rp_replay_session_fn on_session;         /* may be NULL */
    rp_replay_session_end_fn on_session_end; /* may be NULL */
    void *ud;
};

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
 * becomes "{tenant}-{run}-{session}".
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

/* The run's id (the value of the run header and of {run}), borrowed. */
RP_EXTERN const char *rp_replay_run_id(const struct rp_replay *r);

/* Makes a random run id of n lower-case letters and digits into out (n + 1 bytes). */
RP_EXTERN void rp_run_id_make(char *out, size_t n);

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

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_REPLAY_H */
