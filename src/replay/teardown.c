/* SPDX-License-Identifier: MIT */
/*
 * Teardown (--teardown RECORDING): after each session's main steps end — passed, failed,
 * stopped by a safety net or a transport failure, or cut short by a cancel — the teardown
 * recording is replayed as that session's sequel: on its easy handle (so with its cookie jar),
 * with its tenant rules, its record-time variables and its correlation state. The prepass read
 * the main recording and the teardown as one sequence, the teardown's seqs shifted past the
 * main ones (rec->td_base), so that a value the main session's responses gave (the order id to
 * refund) is correlated into the teardown's requests exactly as into a later main step, and the
 * safety nets refuse a teardown step that would carry a recorded server value.
 *
 * Cancelling (rp_replay_cancel, from a signal handler): no main step is sent any more, a main
 * request in flight gets cancel_grace_ms to answer, sessions go to their teardown, and after
 * teardown_timeout_ms whatever is still in flight is abandoned. A second cancel abandons at
 * once. Every step not sent, or abandoned, because of the cancel is reported CANCELLED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/internal.h"
#include "time_int.h"

void rp__replay_td_free(struct rp__replay_rec *td)
{
    if (!td) {
        return;
    }
    free(td->path);
    free(td->name);
    rp_rec_meta_cleanup(&td->meta);
    free(td->origin);
    rp__replay_cache_free(td);
    rp__replay_steps_cleanup(&td->steps);
    free(td);
}

void rp_replay_cancel(struct rp_replay *r)
{
    r->cancel = r->cancel ? 2 : 1; /* only the signal handler writes it */
}

uint64_t rp_replay_not_started(const struct rp_replay *r)
{
    uint64_t n = 0;
    for (size_t i = r->next_session; r->cancel && r->n_recs && i < r->n_sessions;
         i += r->session_step) {
        n += r->recs[i % r->n_recs].n_steps;
    }
    return n;
}

bool rp_replay_cancelled(const struct rp_replay *r)
{
    return r->cancel != 0;
}

/* The cancelled run's time for teardowns is up (a second cancel ends it at once). */
static bool time_up(const struct rp_replay *r)
{
    return r->cancelled && (r->cancel > 1 || rp__mono_us() >= r->deadline_us);
}

/* The main requests in flight at the cancel have had their grace. */
static bool grace_up(const struct rp_replay *r)
{
    return r->cancelled && !r->graced && (r->cancel > 1 || rp__mono_us() >= r->grace_us);
}

bool rp__replay_teardown_begin(struct rp__replay_session *s)
{
    struct rp_replay *r = s->r;
    struct rp__replay_rec *td = s->rec->td;
    if (!td || s->in_teardown || time_up(r)) {
        return false;
    }
    /* A session that sent nothing made nothing to clean up (a dry run lists it all the same). */
    if (!s->sent_main && !r->o.dry_run) {
        rp__replay_log(r, RP_LOG_INFO, "%s: no teardown: no main step was sent", s->name);
        return false;
    }
    s->in_teardown = true;
    s->seq_base = s->rec->td_base;
    s->next_td = 0;
    /* It runs whatever stopped the main steps: cleaning up after a failure is its point. */
    s->stopped = false;
    s->stop_cancelled = false;
    s->stop_reason[0] = '\0';
    /* Its requests go to the target when they go to its own recorded origin. */
    size_t olen = 0;
    char *origin = rp_rewrite_text(s->rw, td->origin, strlen(td->origin), &olen);
    free(s->origin);
    s->origin = origin ? origin : rp_xstrdup(td->origin);
    rp__replay_log(r, RP_LOG_INFO, "%s: teardown: %zu step%s of %s", s->name, td->n_cache,
                   td->n_cache == 1 ? "" : "s", td->path);
    return true;
}

void rp__replay_teardown_next(struct rp__replay_session *s, bool *out_got)
{
    const struct rp__replay_rec *td = s->rec->td;
    *out_got = s->next_td < td->n_cache;
    if (*out_got) {
        s->cur = td->cache[s->next_td++];
    }
}

#define WHY_CANCELLED "not sent: the run was cancelled"
#define WHY_TIME_UP   "not sent: the cancelled run's time for teardowns ran out"
#define WHY_AGAIN     "not sent: the run was cancelled a second time"

/* Stops s's current phase because of the cancel, with why: its later steps are reported
 * CANCELLED with it. */
static void stop(struct rp__replay_session *s, const char *why)
{
    s->stopped = true;
    s->stop_cancelled = true;
    snprintf(s->stop_reason, sizeof(s->stop_reason), "%s", why);
}

/* Takes the sessions that hold a request for a rate slot out of the queue: all of them (all
 * true), or those in their main steps. Returns them, *out_n of them (new memory). */
static struct rp__replay_session **unqueue(struct rp_replay *r, bool all, size_t *out_n)
{
    struct rp__replay_session **out = rp_xcalloc(r->n_waiting ? r->n_waiting : 1, sizeof(*out));
    size_t n = 0, kept = 0;
    for (size_t i = 0; i < r->n_waiting; i++) {
        struct rp__replay_session *s = r->waiting[(r->waiting_head + i) % r->waiting_cap];
        if (all || !s->in_teardown) {
            out[n++] = s;
        } else {
            /* Kept in order, moved to the front of the ring as it is compacted. */
            r->waiting[(r->waiting_head + kept++) % r->waiting_cap] = s;
        }
    }
    r->n_waiting = kept;
    *out_n = n;
    return out;
}

/* Reports the request s holds for a slot as not sent, stops the phase and moves s on. */
static rp_code drop_waiting(struct rp__replay_session *s, const char *why, struct rp_error *err)
{
    rp__replay_emit(s, RP_REPLAY_CANCELLED, RP_OK, why, 0);
    stop(s, why);
    s->state = RP__REPLAY_READY;
    return rp__replay_advance(s, err);
}

/* Abandons the request s has in flight (reported CANCELLED with why), stops its phase with
 * stop_why and moves s on. */
static rp_code abandon_one(struct rp__replay_session *s, const char *why, const char *stop_why,
                           struct rp_error *err)
{
    curl_multi_remove_handle(s->r->multi, s->easy);
    rp__replay_emit(s, RP_REPLAY_CANCELLED, RP_OK, why, 0);
    stop(s, stop_why);
    s->state = RP__REPLAY_READY;
    return rp__replay_advance(s, err);
}

void rp__replay_cancel_stop(struct rp__replay_session *s)
{
    stop(s, WHY_CANCELLED);
}

/* The first time round after rp_replay_cancel(). */
static rp_code on_cancel(struct rp_replay *r, struct rp_error *err)
{
    r->cancelled = true;
    int64_t now = rp__mono_us();
    r->deadline_us = now + (int64_t)(r->o.teardown_timeout_ms * 1000);
    r->grace_us = now + (int64_t)(r->o.cancel_grace_ms * 1000);
    rp__replay_log(r, RP_LOG_WARN,
                   "cancelled: no more main steps are sent, no session starts; what is in flight "
                   "has %llu ms to answer%s",
                   (unsigned long long)r->o.cancel_grace_ms,
                   r->recs && r->recs[0].td ? "; the sessions that started run their teardown"
                                            : "");
    if (r->recs && r->recs[0].td) {
        rp__replay_log(r, RP_LOG_INFO, "cancelled: the teardowns have at most %llu ms",
                       (unsigned long long)r->o.teardown_timeout_ms);
    }
    /* In flight: its response is reported if it comes within the grace, then the rest of its
     * main steps are cancelled. */
    for (size_t i = 0; i < r->n_slots; i++) {
        struct rp__replay_session *s = r->sessions[i];
        if (s && s->state == RP__REPLAY_SENDING && !s->in_teardown) {
            stop(s, WHY_CANCELLED);
        }
    }
    size_t n = 0;
    struct rp__replay_session **held = unqueue(r, false, &n);
    rp_code rc = RP_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = drop_waiting(held[i], WHY_CANCELLED, err);
    }
    free(held);
    return rc;
}

/* The grace is up: the main requests still in flight are abandoned (teardowns go on). */
static rp_code abandon_main(struct rp_replay *r, struct rp_error *err)
{
    r->graced = true;
    char why[160];
    if (r->cancel > 1) {
        snprintf(why, sizeof(why), "cancelled in flight: the run was cancelled a second time");
    } else {
        snprintf(why, sizeof(why),
                 "cancelled in flight: no response within %llu ms of the cancel (the server may "
                 "have acted on it)",
                 (unsigned long long)r->o.cancel_grace_ms);
    }
    rp_code rc = RP_OK;
    /* A session that ends is freed and its slot cleared: each slot is read afresh. */
    for (size_t i = 0; i < r->n_slots && !rc; i++) {
        struct rp__replay_session *s = r->sessions[i];
        if (s && s->state == RP__REPLAY_SENDING && !s->in_teardown) {
            rp__replay_log(r, RP_LOG_WARN, "%s: exchange %llu abandoned in flight", s->name,
                           (unsigned long long)s->cur->seq);
            rc = abandon_one(s, why, WHY_CANCELLED, err);
        }
    }
    return rc;
}

/* The teardowns' time is up, or a second cancel came: whatever is in flight or waiting is
 * abandoned. */
static rp_code abandon(struct rp_replay *r, struct rp_error *err)
{
    bool again = r->cancel > 1;
    const char *why = again ? WHY_AGAIN : WHY_TIME_UP;
    rp__replay_log(r, RP_LOG_WARN, "cancelled: %s; abandoning what is in flight",
                   again ? "a second time" : "the time for teardowns ran out");
    size_t n = 0;
    struct rp__replay_session **held = unqueue(r, true, &n);
    rp_code rc = RP_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = drop_waiting(held[i], why, err);
    }
    free(held);
    /* A session that ends is freed and its slot cleared: each slot is read afresh. */
    for (size_t i = 0; i < r->n_slots && !rc; i++) {
        struct rp__replay_session *s = r->sessions[i];
        if (!s || s->state != RP__REPLAY_SENDING) {
            continue;
        }
        rc = abandon_one(s,
                         again ? "cancelled in flight: the run was cancelled a second time"
                               : "cancelled in flight: the cancelled run's time for teardowns "
                                 "ran out",
                         why, err);
    }
    return rc;
}

rp_code rp__replay_cancel_step(struct rp_replay *r, bool *out_end, struct rp_error *err)
{
    *out_end = false;
    if (!r->cancel) {
        return RP_OK;
    }
    if (!r->cancelled) {
        rp_code rc = on_cancel(r, err);
        if (rc) {
            return rc;
        }
    }
    if (grace_up(r)) {
        rp_code rc = abandon_main(r, err);
        if (rc) {
            return rc;
        }
    }
    if (!time_up(r)) {
        return RP_OK;
    }
    rp_code rc = abandon(r, err);
    *out_end = true;
    return rc;
}
