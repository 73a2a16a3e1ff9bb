/* SPDX-License-Identifier: MIT */
/* Declarations shared by the files of the replay module: the engine (engine.c), one session's
 * state and requests (session.c), the cache of packed exchanges (cache.c) and the pre-pass
 * that reads each recording once before anything is sent (prepass.c). */
#ifndef REPRISE_REPLAY_INTERNAL_H
#define REPRISE_REPLAY_INTERNAL_H

#include <signal.h>

#include <curl/curl.h>

#include <reprise/limits.h>
#include <reprise/replay.h>
#include <reprise/rewrite.h>
#include <reprise/vars.h>

#define RP__REPLAY_DEFAULT_TIMEOUT_MS         30000u
#define RP__REPLAY_DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define RP__REPLAY_MAX_SET_COOKIE_NAMES       256u
#define RP__REPLAY_MAX_ORIGIN_BYTES           2048u

/* ----- the engine's state (engine.c) ------------------------------------------------------ */

struct rp__replay_pair {
    char *from;
    char *to;
};

struct rp__replay_pairs {
    struct rp__replay_pair *v;
    size_t n;
};

/* Names of the cookies the recorded responses have set so far: the live jar supplies those. */
struct rp__replay_cookie_names {
    char **v;
    size_t n;
};

/* ----- step names (step.c) ---------------------------------------------------------------- */

#define RP__STEP_NOUN_MAX 64u

struct rp__replay_step_slot {
    uint64_t hash;  /* a name's */
    uint32_t count; /* occurrences so far; 0: a free slot */
};

/*
 * What makes a recording's step names unique: for each exchange, in the order read, which
 * occurrence of its name it is (1 the first; " #2" is added to the second). The names
 * themselves are made again when a step is reported (rp__replay_step_of), so a streamed
 * recording costs 4 bytes an exchange, not a name.
 */
struct rp__replay_steps {
    uint32_t *dup;
    size_t n, cap;
    struct rp__replay_step_slot *slots; /* while the pre-pass counts: open addressing by hash */
    size_t n_slots, used;
};

/*
 * Returns the new step name of recorded exchange ex: "METHOD PATH?QUERY" with the segments and
 * query values that a correlation of [first, end) of corr (those into ex's request) carries
 * shown as {NOUN} (the word segment before it, singular: "orders/4" gives "orders/{order}";
 * else the source's key, "$.order.id" or "order_id" giving "order"; else "id"), then tenants'
 * rules applied (each tenant to "{tenant}"), cut to RP_MAX_STEP_NAME bytes. corr and tenants
 * may be NULL.
 */
char *rp__replay_step_name(const struct rp_exchange *ex, const struct rp_correlator *corr,
                           size_t first, size_t end, const struct rp_rewriter *tenants);

/* Counts the next exchange's name (borrowed). */
void rp__replay_steps_add(struct rp__replay_steps *st, const char *name);
/* The pre-pass is over: the counting table is freed, the occurrence numbers kept. */
void rp__replay_steps_done(struct rp__replay_steps *st);
/* Which occurrence of its name the i-th exchange is (1: the first); 0 past the end. */
uint32_t rp__replay_steps_dup(const struct rp__replay_steps *st, size_t i);
void rp__replay_steps_cleanup(struct rp__replay_steps *st);

struct rp__replay_session;
/* The name of s->cur's step, in the session's buffer (until its next step), or NULL. */
const char *rp__replay_step_of(struct rp__replay_session *s);

/* What the prepass learns of one recording. */
struct rp__replay_rec {
    char *path;
    char *name;
    struct rp_rec_meta meta;
    struct rp_correlator *corr;
    struct rp_unsourced_finder *unsourced; /* NULL: not looked for */
    struct rp_var_table *vars; /* the variables its exchanges declare (no values); may be NULL */
    char *origin;              /* scheme://authority of its first request, lower-cased */
    /*
     * The decoded exchanges, requests already normalised (see rp__replay_normalise()), each
     * packed in one block (see cache.c), when they fit RP_REPLAY_CACHE_BYTES: its sessions share
     * them instead of reading the file again. Longer recordings are streamed by each session
     * and cache is NULL.
     */
    struct rp_exchange **cache;
    size_t n_cache;
    size_t cache_bytes;
    bool cache_full;
    uint64_t n_steps; /* its exchanges, counted by the prepass */
    /* --teardown: its exchanges (cache) read as this recording's sequel, seqs shifted by
     * td_base in correlation, safety nets and variables; NULL without (teardown.c). */
    struct rp__replay_rec *td;
    uint64_t td_base;
    /* The tenant guard (guard.c): the rules' FROMs the prepass matches requests against, and
     * what it found. guard_rules NULL: the header's tenants. */
    const struct rp__replay_pairs *guard_rules;
    struct rp_rewriter *guard_rw;
    struct rp_tenant_guard guard;
    /* What makes its step names unique, and its tenants each to "{tenant}" for them
     * (step.c); name_rules NULL without tenants. */
    struct rp__replay_steps steps;
    struct rp_rewriter *name_rules;
};

struct rp__replay_session;

/* A session to run again: its recording, number and next attempt. */
struct rp__replay_retry {
    struct rp__replay_rec *rec;
    unsigned no;
    unsigned attempt;
};

struct rp_replay {
    struct rp_replay_opts o;
    char run_id[RP_REPLAY_MAX_RUN_ID + 1];
    char *target; /* without a trailing '/' */
    struct rp__replay_pairs tenants;
    struct rp__replay_pairs hosts;
    struct rp__replay_pairs binds;
    struct rp__replay_pairs consts; /* --const VALUE (to unused) */
    struct rp__replay_rec *recs;
    size_t n_recs;

    CURLM *multi;
    struct curl_slist *no_headers;        /* reused empty list */
    struct rp__replay_session **sessions; /* n_slots: the sessions running */
    size_t n_slots;                       /* `concurrency`; or every session's when keep_sessions */
    bool keep_sessions;  /* finished sessions stay, at their number - 1, until rp_replay_free
                            (the probe sends A's reads with B's session afterwards) */
    size_t n_sessions;   /* over the run */
    size_t next_session; /* the next one to start */
    size_t session_step; /* 1; shard_count for a shard: next_session goes by it */
    size_t active;

    /* Rate limiting: the earliest time (monotonic us) the next request may go. */
    int64_t next_slot_us;
    int64_t slot_us;
    /* FIFO of sessions holding a request until a slot is free */
    struct rp__replay_session **waiting;
    size_t n_waiting, waiting_head, waiting_cap;

    rp_code first_failure;
    char first_failure_msg[RP_ERROR_MSG_MAX];

    /* rp_replay_cancel(): set from a signal handler, acted on by the run loop (teardown.c) */
    volatile sig_atomic_t cancel;
    bool cancelled;      /* the loop has acted on it */
    int64_t deadline_us; /* then: when the teardowns' time is up (monotonic) */
    int64_t grace_us;    /* then: when main requests still in flight are abandoned */
    bool graced;         /* they were */
    /* Run guards (guard.c). */
    struct rp_status_set stop_on; /* empty: no --stop-on */
    bool has_stop_on;
    uint64_t sent;   /* requests sent (or queued for a rate slot) so far */
    uint64_t capped; /* steps SKIPPED by --max-requests */
    /* Retries (opts.retries): sessions to run again, started before any new one (engine.c).
     * At most `concurrency` wait: each comes from a session that just ended. */
    struct rp__replay_retry *retryq;
    size_t n_retryq, cap_retryq;
    /* --step N --from RESULTS (step.c): only recorded exchange only_seq is sent, after the
     * earlier ones' live responses of the earlier run (seeds) were observed */
    bool only;
    uint64_t only_seq;
    struct rp_exchange *seeds; /* responses only, ordered as given */
    size_t n_seeds;
    char *step_cookie; /* the Cookie the step goes with, placeholders kept; NULL: none */
};

/* Logs one line through the run's log callback, when it has one. */
void rp__replay_log(struct rp_replay *r, enum rp_log_level lvl, const char *fmt, ...)
    RP_PRINTF(3, 4);

/* ----- one session (session.c) ------------------------------------------------------------ */

enum rp__replay_state {
    RP__REPLAY_IDLE,    /* not started */
    RP__REPLAY_READY,   /* between requests */
    RP__REPLAY_WAITING, /* holding a built request until a rate slot is free */
    RP__REPLAY_SENDING, /* a request in flight */
    RP__REPLAY_DONE,
};

struct rp__replay_session {
    struct rp_replay *r;
    struct rp__replay_rec *rec;
    unsigned no;
    unsigned attempt; /* 0, or K for its K-th retry: its tenant's {session} is "N-rK" */
    char name[160];
    enum rp__replay_state state;

    struct rp_reader *reader;
    struct rp_rewriter *rw;
    struct rp_corr_session *cs;
    struct rp_var_table *vt; /* its variables' live values (replay/vars.c); NULL until needed */
    char *origin;            /* the recording's origin, rewritten for this session's tenant */
    char *tenants;           /* its tenant rules, "FROM=TO" lines; NULL without any */
    CURL *easy;
    char errbuf[CURL_ERROR_SIZE];

    const struct rp_exchange *cur;     /* the recorded exchange being replayed */
    size_t next_cached;                /* with a cache: the index of the next exchange */
    struct rp_exchange read;           /* without: the exchange last read from the file */
    struct rp__replay_cookie_names cn; /* without: cookies set by the recorded responses so far */
    struct rp_exchange live;           /* as reported: placeholders kept */
    struct rp_exchange wire;           /* as sent: secrets filled */
    struct rp_request *wire_req;       /* what goes out: wire's, or live's when it has no secret */
    struct curl_slist *hdrs;
    struct rp_buf body;
    uint64_t body_total;
    bool body_cut;

    /* After a transport failure, the rest is skipped with this reason; cancelled: the stop
     * was the run's cancel, and the rest is reported CANCELLED. */
    bool stopped;
    bool stop_cancelled;
    char stop_reason[RP_ERROR_MSG_MAX];

    /* Its teardown (teardown.c): the steps of rec->td, after the main ones. */
    bool in_teardown;
    bool sent_main;    /* a main step was sent: there may be something to clean up */
    uint64_t seq_base; /* 0, or rec->td_base in the teardown: the seq correlation knows */
    size_t next_td;
    size_t n_read; /* main exchanges read so far: the index of s->cur's step name + 1 */
    char step[RP_MAX_STEP_NAME + 24]; /* s->cur's step name (rp__replay_step_of) */
};

/* The seq of s->cur as the session's correlations, safety nets and variables know it. */
static inline uint64_t rp__replay_seq(const struct rp__replay_session *s)
{
    return s->seq_base + s->cur->seq;
}

/*
 * Splits an absolute URL into its origin (scheme://authority, lower-cased into origin) and
 * the rest (path and query, fragment dropped) returned as a pointer into url with its length.
 * Returns false when url is not absolute.
 */
bool rp__replay_split_url(const char *url, char *origin, size_t origin_sz, const char **rest,
                          size_t *rest_len);

void rp__replay_cookie_names_cleanup(struct rp__replay_cookie_names *cn);

/* Remembers the names of the cookies a recorded response sets. */
void rp__replay_note_set_cookies(struct rp__replay_cookie_names *cn, const struct rp_exchange *ex);

/*
 * Puts a recorded request in the form every session starts from: cookies the jar will supply
 * (set by an earlier recorded response) taken out of its Cookie header. The prepass and a
 * streaming session both do it with the names seen so far, so they agree exchange by exchange.
 */
rp_code rp__replay_normalise(const struct rp__replay_cookie_names *cn, struct rp_request *req,
                             struct rp_error *err);

/* Returns a new session number no of rec, not started; rp__replay_session_free() frees it. */
struct rp__replay_session *rp__replay_session_new(struct rp_replay *r, struct rp__replay_rec *rec,
                                                  unsigned no);
void rp__replay_session_free(struct rp__replay_session *s);

/* Opens a session: its reader, its tenant rules, its correlation state, its easy handle. */
rp_code rp__replay_session_start(struct rp__replay_session *s, struct rp_error *err);

/* Reports s->cur's outcome through the result callback. */
void rp__replay_emit(struct rp__replay_session *s, enum rp_replay_status st, rp_code code,
                     const char *msg, uint64_t latency_us);

/*
 * Builds the live request for s->cur. Returns RP_OK with *out_send set when it should be
 * sent; RP_OK with *out_send false when it was reported as skipped; an error for input
 * problems (a secret gone missing since the prepass, a limit).
 */
rp_code rp__replay_build_request(struct rp__replay_session *s, bool *out_send,
                                 struct rp_error *err);

/* Returns a new libcurl header list for the request on the wire, or NULL (err set). */
struct curl_slist *rp__replay_header_list(struct rp__replay_session *s, struct rp_error *err);

/* Sets the easy handle's URL, method, body, headers and cookies for the request on the wire. */
void rp__replay_configure_easy(struct rp__replay_session *s);

/* ----- safety nets: missing live values, unsourced ids (safety.c) ------------------------ */

/*
 * Decides whether the request built for s->cur may go, missing live values for missing of its
 * correlations (rp_corr_session_apply's count). When it may not, reports it UNSAFE, stops the
 * session (its later steps are SKIPPED) and returns true. Under --dry-run it only warns.
 */
bool rp__replay_refuse(struct rp__replay_session *s, size_t missing);

/* Reports s->cur UNSAFE with code and msg, and stops the session: its later steps are SKIPPED.
 * The other sessions go on. */
void rp__replay_stop_unsafe(struct rp__replay_session *s, rp_code code, const char *msg);

/* Logs, once per recording before anything is sent, the unsourced ids that will be sent all the
 * same: in reads, and in writes under --allow-unsourced. */
void rp__replay_warn_unsourced(struct rp_replay *r, const struct rp__replay_rec *rec);

/* ----- guards: the tenant guard, --read-only, --max-requests, --stop-on (guard.c) --------- */

/* In the prepass, once rec->meta is read: sets up rec->guard for the rules' tenants. */
void rp__replay_guard_begin(struct rp__replay_rec *rec);
/* In the prepass, for each exchange ex in order (before it is normalised). */
rp_code rp__replay_guard_note(struct rp__replay_rec *rec, const struct rp_exchange *ex,
                              struct rp_error *err);
/* After the prepass: RP_ETENANT (one line) when rec must not be replayed; otherwise RP_OK,
 * with a warning when --same-tenant, --read-only or --dry-run lets a refused one go. */
rp_code rp__replay_guard_check(struct rp_replay *r, struct rp__replay_rec *rec,
                               struct rp_error *err);
void rp__replay_guard_cleanup(struct rp__replay_rec *rec);

/* Before s->cur is built: reports it SKIPPED and returns true when a run guard keeps it back
 * (--read-only and a write; --max-requests reached). */
bool rp__replay_guard_skip(struct rp__replay_session *s);
/* A request of s is about to go (or wait for a rate slot): counts it for --max-requests. */
void rp__replay_guard_sent(struct rp__replay_session *s);
/* After s->cur's live response (status) was reported: stops the session on a --stop-on status. */
void rp__replay_guard_status(struct rp__replay_session *s, unsigned status);
/* At the end of the run: says when --max-requests kept steps back. */
void rp__replay_guard_end(struct rp_replay *r);

/* ----- --step N --from RESULTS (step.c) ---------------------------------------------------- */

/* In step mode, for s->cur: true when it is not the step (it is passed over, unreported, its
 * seed observed when it comes before the step); false for the step itself. */
bool rp__replay_only_pass(struct rp__replay_session *s);
/* In step mode, adds the step's Cookie (placeholders kept) to req when it has none. */
void rp__replay_only_cookie(struct rp_replay *r, struct rp_request *req);
void rp__replay_only_cleanup(struct rp_replay *r);

/* ----- the cache of packed exchanges and --stream reading (cache.c) ----------------------- */

/* Keeps a packed copy of ex (borrowed) in the recording's cache, or drops the whole cache once
 * the budget is passed. */
void rp__replay_cache_keep(struct rp__replay_rec *rec, const struct rp_exchange *ex);
void rp__replay_cache_free(struct rp__replay_rec *rec);

/* Sets s->cur to the session's next recorded exchange, normalised, from the cache or from the
 * session's own reader; *out_got false at the end. */
rp_code rp__replay_next_recorded(struct rp__replay_session *s, bool *out_got, struct rp_error *err);

/* The class of a transfer that failed with cc: RP_ECONNECT, ETIMEOUT, EDNS, ETLS, else ETARGET
 * (engine.c). */
rp_code rp__replay_failure_class(CURLcode cc);

/* ----- the pre-pass (prepass.c) ----------------------------------------------------------- */

/* How the pre-pass reads a recording. */
struct rp__replay_pre {
    rp_log_fn log;
    void *log_ud;
    rp_secret_fn secret; /* NULL: secrets are not checked */
    void *secret_ud;
    bool keep;                    /* keep the exchanges in the cache when they fit */
    rp_replay_observe_fn observe; /* may be NULL */
    void *observe_ud;
    /* --teardown: a recording read after this one as one sequence, its seqs shifted past this
     * one's (rec->td_base) into its correlator, unsourced finder and variables, with the cookie
     * names its responses set, and kept in rec->td (always in memory: RP_ETOOBIG past
     * RP_REPLAY_CACHE_BYTES); NULL: none. Its tenants must be among tenants' FROMs, or without
     * any, among rec's (RP_EFORMAT). */
    const char *teardown;
    const struct rp__replay_pairs *tenants;
};

/*
 * Reads a recording once: learns correlations into rec->corr (showing each exchange to
 * pre->observe), notes its origin, keeps its exchanges in the cache when pre->keep is true
 * and, when pre->secret is not NULL, checks that every placeholder the replay will fill is
 * set (RP_ENOSECRET naming it otherwise).
 */
rp_code rp__replay_prepass(struct rp__replay_rec *rec, const struct rp__replay_pre *pre,
                           struct rp_error *err);

/* ----- teardown (teardown.c) -------------------------------------------------------------- */

/* Frees a teardown's recording (rec->td); NULL does nothing. */
void rp__replay_td_free(struct rp__replay_rec *td);

/*
 * At the end of s's main steps (passed, failed or stopped): starts its teardown, unless there
 * is none or the cancelled run's time is up. Returns true when it started: s->cur's successor
 * is then its first step.
 */
bool rp__replay_teardown_begin(struct rp__replay_session *s);

/* In the teardown: sets s->cur to its next step; *out_got false at the end. */
void rp__replay_teardown_next(struct rp__replay_session *s, bool *out_got);

/*
 * Called by the run loop each time round: acts once on rp_replay_cancel() (main steps waiting
 * for a rate slot are reported SKIPPED, sessions in flight will stop at their response and go
 * to their teardown, no session starts) and, when the teardowns' time is up, abandons what is
 * in flight. Returns true when the loop should end now. Errors are input errors, as advance's.
 */
rp_code rp__replay_cancel_step(struct rp_replay *r, bool *out_end, struct rp_error *err);

/* Stops s's main steps because the run was cancelled: the rest are reported SKIPPED. */
void rp__replay_cancel_stop(struct rp__replay_session *s);

/* The engine's advance (engine.c), for teardown.c: moves s on until it sends, waits or ends. */
rp_code rp__replay_advance(struct rp__replay_session *s, struct rp_error *err);

/* ----- record-time variables (vars.c) ---------------------------------------------------- */

/* In the prepass, for each exchange ex of rec in order: checks that every {{var:NAME}} its
 * request holds is declared by an earlier exchange, then notes what ex declares. */
rp_code rp__replay_vars_prepass(struct rp__replay_rec *rec, const struct rp_exchange *ex,
                                struct rp_error *err);

/* After s->cur's live response came: takes the values of the variables s->cur declares. */
void rp__replay_vars_observe(struct rp__replay_session *s, const struct rp_response *live);

/*
 * Fills the {{var:NAME}} placeholders of req (the copy that goes on the wire). A variable
 * without a live value stops the session: the step is reported as an error naming the
 * variable, its exchange and its place, nothing is sent, and RP_EMISSING is returned.
 */
rp_code rp__replay_vars_fill(struct rp__replay_session *s, struct rp_request *req,
                             struct rp_error *err);

#endif /* REPRISE_REPLAY_INTERNAL_H */
