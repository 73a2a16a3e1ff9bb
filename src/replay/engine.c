/* SPDX-License-Identifier: MIT */
/*
 * The replay engine, on libcurl's multi interface. One thread drives every session: each
 * session has its own easy handle (so its own cookie jar, and its connection kept alive in the
 * multi's pool), sends one request at a time, and advances when the response is complete.
 *
 * A session's life: start (open its own streaming reader, expand its tenant rules), then for
 * each recorded exchange: build the live request (session.c), wait for a rate token, send,
 * observe the response for later correlations, report. At most `concurrency` sessions run at
 * once; the others wait their turn. A transport failure stops the session; its remaining
 * exchanges are reported as skipped. A session whose attempt failed (the retry callback says
 * so) starts again from its start, in a new tenant, before any session not yet started.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/internal.h"
#include "common_int.h"
#include "text_int.h"
#include "time_int.h"

#define RUN_ID_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."

/* ----- configuration and small helpers ----------------------------------------------------- */

static void pairs_add(struct rp__replay_pairs *p, const char *from, const char *to)
{
    p->v = rp_xreallocarray(p->v, p->n + 1, sizeof(*p->v));
    p->v[p->n].from = rp_xstrdup(from);
    p->v[p->n].to = rp_xstrdup(to);
    p->n++;
}

static void pairs_cleanup(struct rp__replay_pairs *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].from);
        free(p->v[i].to);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

void rp__replay_log(struct rp_replay *r, enum rp_log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rp__vlog(r->o.log, r->o.log_ud, lvl, fmt, ap);
    va_end(ap);
}

void rp_run_id_make(char *out, size_t n)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[64];
    size_t got = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        got = fread(raw, 1, n < sizeof(raw) ? n : sizeof(raw), f);
        fclose(f);
    }
    /* Without /dev/urandom, time and pid still make a run id that does not repeat soon. */
    uint64_t x = (uint64_t)rp__mono_us() ^ ((uint64_t)getpid() << 32);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned v = i < got ? raw[i] : (unsigned)(x & 0xff);
        out[i] = alphabet[v % (sizeof(alphabet) - 1)];
    }
    out[n] = '\0';
}

/* Copies src into dst, cut to fit: for messages, where the end matters less than the start. */
static void copy_cut(char *dst, size_t dstsz, const char *src)
{
    size_t n = strnlen(src, dstsz - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

rp_code rp__replay_failure_class(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        return RP_ECONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return RP_ETIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return RP_EDNS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return RP_ETLS;
    default:
        return RP_ETARGET;
    }
}

/* ----- the run loop: sending, rate slots, the waiting queue, sessions in turn ----------------- */

/* Sends the built request now. */
static rp_code send_now(struct rp__replay_session *s, struct rp_error *err)
{
    rp_buf_reset(&s->body);
    s->body_total = 0;
    s->body_cut = false;
    s->errbuf[0] = '\0';
    rp__replay_configure_easy(s);
    s->live.start_us = rp_now_us();
    s->wire.start_us = s->live.start_us;
    CURLMcode mc = curl_multi_add_handle(s->r->multi, s->easy);
    if (mc != CURLM_OK) {
        return rp_error_set(err, RP_EINTERNAL, "libcurl: %s", curl_multi_strerror(mc));
    }
    s->state = RP__REPLAY_SENDING;
    s->sent_main = s->sent_main || !s->in_teardown;
    return RP_OK;
}

static void waiting_push(struct rp_replay *r, struct rp__replay_session *s)
{
    if (r->n_waiting == r->waiting_cap) {
        size_t cap = r->waiting_cap ? r->waiting_cap * 2 : 16;
        struct rp__replay_session **v = rp_xcalloc(cap, sizeof(*v));
        for (size_t i = 0; i < r->n_waiting; i++) {
            v[i] = r->waiting[(r->waiting_head + i) % r->waiting_cap];
        }
        free(r->waiting);
        r->waiting = v;
        r->waiting_cap = cap;
        r->waiting_head = 0;
    }
    r->waiting[(r->waiting_head + r->n_waiting) % r->waiting_cap] = s;
    r->n_waiting++;
}

static struct rp__replay_session *waiting_pop(struct rp_replay *r)
{
    if (!r->n_waiting) {
        return NULL;
    }
    struct rp__replay_session *s = r->waiting[r->waiting_head];
    r->waiting_head = (r->waiting_head + 1) % r->waiting_cap;
    r->n_waiting--;
    return s;
}

/* Takes a rate slot if one is free now. */
static bool take_slot(struct rp_replay *r)
{
    if (r->slot_us == 0) {
        return true;
    }
    int64_t now = rp__mono_us();
    if (now < r->next_slot_us) {
        return false;
    }
    /* No saving up: after an idle spell the rate resumes, it does not burst. */
    r->next_slot_us =
        (r->next_slot_us + r->slot_us > now) ? r->next_slot_us + r->slot_us : now + r->slot_us;
    return true;
}

/* ----- retries: a failed session again, from its start, in a new tenant ---------------------- */

/*
 * Whether s, whose attempt just ended, runs again: retries left, the run neither cancelled nor
 * out of --max-requests (a retry that could send nothing would pass by skipping), and the
 * caller's checker says the attempt failed.
 */
static bool retry_wanted(struct rp_replay *r, const struct rp__replay_session *s)
{
    if (r->keep_sessions || r->cancel || r->o.dry_run || s->attempt >= r->o.retries ||
        !r->o.retry) {
        return false;
    }
    if (!r->o.retry(r->o.ud, s->name, s->attempt)) {
        return false;
    }
    if (r->o.max_requests && r->sent >= r->o.max_requests) {
        rp__replay_log(r, RP_LOG_WARN, "%s: failed; no retry: --max-requests %llu reached", s->name,
                       (unsigned long long)r->o.max_requests);
        return false;
    }
    return true;
}

static void retry_push(struct rp_replay *r, const struct rp__replay_session *s)
{
    if (r->n_retryq == r->cap_retryq) {
        r->cap_retryq = r->cap_retryq ? r->cap_retryq * 2 : 8;
        r->retryq = rp_xreallocarray(r->retryq, r->cap_retryq, sizeof(*r->retryq));
    }
    r->retryq[r->n_retryq++] =
        (struct rp__replay_retry){.rec = s->rec, .no = s->no, .attempt = s->attempt + 1};
    rp__replay_log(r, RP_LOG_INFO, "%s: failed; retry %u of %u, from its start in a new tenant",
                   s->name, s->attempt + 1, r->o.retries);
}

/* A cancelled run starts no retry: the sessions waiting for one end as they are. */
static void retry_drop(struct rp_replay *r)
{
    for (size_t i = 0; i < r->n_retryq; i++) {
        if (r->o.on_session_end) {
            char name[sizeof(((struct rp__replay_session *)0)->name)];
            snprintf(name, sizeof(name), "%s#%u", r->retryq[i].rec->name, r->retryq[i].no);
            r->o.on_session_end(r->o.ud, name);
        }
    }
    r->n_retryq = 0;
}

/* Sessions wait to start: retries first, then the run's own. */
static bool more_to_start(const struct rp_replay *r)
{
    return !r->cancelled && (r->n_retryq > 0 || r->next_session < r->n_sessions);
}

/*
 * A finished session keeps nothing: its reports went out exchange by exchange, so its slot,
 * handle, cookie jar, correlation state and buffers are freed now. The run's memory is then
 * bounded by its concurrency, not by how many sessions it runs. A session to retry is not
 * finished: it waits for its next attempt, which on_session_end follows.
 */
static void session_end(struct rp_replay *r, struct rp__replay_session *s)
{
    if (retry_wanted(r, s)) {
        retry_push(r, s);
    } else if (r->o.on_session_end) {
        r->o.on_session_end(r->o.ud, s->name);
    }
    if (r->keep_sessions) {
        return; /* the probe goes on with them; rp_replay_free frees them */
    }
    for (size_t i = 0; i < r->n_slots; i++) {
        if (r->sessions[i] == s) {
            r->sessions[i] = NULL;
            break;
        }
    }
    rp__replay_session_free(s);
}

/*
 * Moves a session forward until it has a request in flight or waiting for a slot, or is done
 * (then freed). Errors are input errors that end the whole run.
 */
static rp_code advance(struct rp__replay_session *s, struct rp_error *err)
{
    struct rp_replay *r = s->r;
    while (s->state == RP__REPLAY_READY) {
        bool got = false;
        rp_code rc = rp__replay_next_recorded(s, &got, err);
        if (rc) {
            return rc;
        }
        if (!got && rp__replay_teardown_begin(s)) {
            continue; /* its teardown's steps follow */
        }
        if (!got) {
            s->state = RP__REPLAY_DONE;
            r->active--;
            rp__replay_log(r, RP_LOG_DEBUG, "%s: done", s->name);
            session_end(r, s); /* s is gone: the caller returns at once */
            return RP_OK;
        }
        if (r->only && rp__replay_only_pass(s)) {
            continue; /* --step N: not the step */
        }
        if (r->cancel && !s->in_teardown && !s->stopped) {
            rp__replay_cancel_stop(s); /* cancelled: no main step goes out any more */
        }
        if (s->stopped) {
            rp_exchange_cleanup(&s->live);
            s->live.seq = s->cur->seq;
            rp_ignore(rp_request_copy(&s->live.req, &s->cur->req, NULL));
            rp__replay_emit(s, s->stop_cancelled ? RP_REPLAY_CANCELLED : RP_REPLAY_SKIPPED, RP_OK,
                            s->stop_reason, 0);
            continue;
        }
        if (rp__replay_guard_skip(s)) {
            continue; /* --read-only, --max-requests */
        }
        bool send = false;
        rc = rp__replay_build_request(s, &send, err);
        if (rc) {
            return rc;
        }
        if (!send) {
            continue;
        }
        if (r->o.dry_run) {
            rp__replay_emit(s, RP_REPLAY_DRY_RUN, RP_OK, NULL, 0);
            continue;
        }
        curl_slist_free_all(s->hdrs);
        s->hdrs = rp__replay_header_list(s, err);
        if (!s->hdrs) {
            return rp_error_prefix(err, "%s: exchange %llu", s->rec->path,
                                   (unsigned long long)s->cur->seq);
        }
        rp__replay_guard_sent(s);
        if (r->n_waiting == 0 && take_slot(r)) {
            return send_now(s, err);
        }
        s->state = RP__REPLAY_WAITING;
        waiting_push(r, s);
    }
    return RP_OK;
}

rp_code rp__replay_advance(struct rp__replay_session *s, struct rp_error *err)
{
    return advance(s, err);
}

/* A transfer finished: record the response (or the failure), report it, move on. */
static rp_code complete(struct rp__replay_session *s, CURLcode cc, struct rp_error *err)
{
    struct rp_replay *r = s->r;
    curl_multi_remove_handle(r->multi, s->easy);
    s->state = RP__REPLAY_READY;
    curl_off_t total_us = 0;
    curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    s->live.duration_us = total_us > 0 ? (uint64_t)total_us : 0;
    if (cc != CURLE_OK) {
        rp_code code = rp__replay_failure_class(cc);
        char msg[RP_ERROR_MSG_MAX * 2];
        int k = snprintf(msg, sizeof(msg), "%s %s: %s", s->live.req.method, s->live.req.url,
                         s->errbuf[0] ? s->errbuf : curl_easy_strerror(cc));
        if (k < 0) {
            msg[0] = '\0';
        }
        if (!r->first_failure && !s->in_teardown) { /* a teardown's is reported apart */
            r->first_failure = code;
            copy_cut(r->first_failure_msg, sizeof(r->first_failure_msg), msg);
        }
        s->stopped = true;
        snprintf(s->stop_reason, sizeof(s->stop_reason),
                 "not sent: the session stopped at exchange %llu (%s)",
                 (unsigned long long)s->cur->seq, rp_code_str(code));
        rp__replay_emit(s, RP_REPLAY_ERROR, code, msg, 0);
        return advance(s, err);
    }
    long status = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    struct rp_response *resp = &s->live.resp;
    s->live.has_response = true;
    resp->status = (unsigned)status;
    size_t blen = 0;
    char *data = rp_buf_take(&s->body, &blen);
    rp_body_take(&resp->body, (unsigned char *)data, blen);
    resp->body.truncated = s->body_cut;
    resp->body.orig_len = s->body_cut ? s->body_total : 0;
    rp_corr_session_observe(s->cs, rp__replay_seq(s), resp);
    rp__replay_vars_observe(s, resp);
    rp__replay_emit(s, RP_REPLAY_DONE, RP_OK, NULL, s->live.duration_us);
    rp__replay_guard_status(s, resp->status);
    return advance(s, err);
}

/* Starts sessions until `concurrency` are active: retries first, so that a session's attempts
 * follow each other and what reports keep of it until its verdict does not pile up. */
static rp_code fill_sessions(struct rp_replay *r, struct rp_error *err)
{
    if (r->cancelled) {
        retry_drop(r);
    }
    while (r->active < r->o.concurrency && more_to_start(r)) {
        /* Sessions are made as they start, in order: copy k of recording i is number
         * k * n_recs + i + 1. Fewer than `concurrency` are active, so a slot is free. */
        struct rp__replay_session *s;
        size_t idx = 0;
        if (r->n_retryq) {
            struct rp__replay_retry q = r->retryq[0];
            memmove(r->retryq, r->retryq + 1, (r->n_retryq - 1) * sizeof(*r->retryq));
            r->n_retryq--;
            s = rp__replay_session_new(r, q.rec, q.no);
            s->attempt = q.attempt;
        } else {
            idx = r->next_session;
            r->next_session += r->session_step; /* the next of this shard's */
            s = rp__replay_session_new(r, &r->recs[idx % r->n_recs], (unsigned)idx + 1);
        }
        size_t slot = r->keep_sessions ? idx : 0;
        while (slot < r->n_slots && r->sessions[slot]) {
            slot++;
        }
        r->sessions[slot] = s;
        r->active++;
        rp_code rc = rp__replay_session_start(s, err);
        if (!rc) {
            rc = advance(s, err);
        }
        if (rc) {
            return rc;
        }
    }
    return RP_OK;
}

static rp_code drain_waiting(struct rp_replay *r, struct rp_error *err)
{
    while (r->n_waiting && take_slot(r)) {
        struct rp__replay_session *s = waiting_pop(r);
        rp_code rc = send_now(s, err);
        if (rc) {
            return rc;
        }
    }
    return RP_OK;
}

static rp_code loop(struct rp_replay *r, struct rp_error *err)
{
    rp_code rc = fill_sessions(r, err);
    while (!rc && (r->active > 0 || more_to_start(r))) {
        bool end = false;
        rc = rp__replay_cancel_step(r, &end, err);
        if (rc || end) {
            break;
        }
        rc = drain_waiting(r, err);
        if (rc) {
            break;
        }
        int running = 0;
        CURLMcode mc = curl_multi_perform(r->multi, &running);
        if (mc != CURLM_OK) {
            return rp_error_set(err, RP_EINTERNAL, "libcurl: %s", curl_multi_strerror(mc));
        }
        CURLMsg *msg;
        int left;
        while (!rc && (msg = curl_multi_info_read(r->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE) {
                continue;
            }
            struct rp__replay_session *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            rc = complete(s, msg->data.result, err);
        }
        if (!rc) {
            rc = fill_sessions(r, err);
        }
        if (rc || (r->active == 0 && !more_to_start(r))) {
            break;
        }
        /* Sleep until a socket is ready, libcurl's timer, or the next rate slot; a quarter
         * second at most, so that a cancel is acted on soon. */
        long wait_ms = 250;
        if (r->n_waiting) {
            int64_t d = r->next_slot_us - rp__mono_us();
            wait_ms = d <= 0 ? 0 : (long)((d + 999) / 1000);
        }
        if (running == 0 && r->n_waiting == 0) {
            continue; /* everything just finished or was built: go round again */
        }
        mc = curl_multi_poll(r->multi, NULL, 0, (int)wait_ms, NULL);
        if (mc != CURLM_OK) {
            return rp_error_set(err, RP_EINTERNAL, "libcurl: %s", curl_multi_strerror(mc));
        }
    }
    return rc;
}

/* ----- public API --------------------------------------------------------------------------- */

/* The shard and the run id, which the shards of one run share. */
static rp_code shard_check(const struct rp_replay_opts *o, struct rp_error *err)
{
    if (o->shard_count > RP_REPLAY_MAX_SHARDS ||
        o->shard_index >= (o->shard_count > 1 ? o->shard_count : 1)) {
        return rp_error_set(err, RP_EUSAGE, "shard %u of %u: want 1 <= I <= N <= %u",
                            o->shard_index + 1, o->shard_count, RP_REPLAY_MAX_SHARDS);
    }
    if (!o->run_id) {
        return RP_OK;
    }
    size_t n = strlen(o->run_id);
    if (n == 0 || n > RP_REPLAY_MAX_RUN_ID || n != strspn(o->run_id, RUN_ID_CHARS)) {
        return rp_error_set(err, RP_EUSAGE,
                            "run id '%.*s': want 1 to %u letters, digits, '-', '_' or '.'",
                            (int)(n > 80 ? 80 : n), o->run_id, RP_REPLAY_MAX_RUN_ID);
    }
    return RP_OK;
}

size_t rp_replay_shard_sessions(size_t total, unsigned index, unsigned count)
{
    if (count <= 1) {
        return total;
    }
    return index >= count ? 0 : total / count + (index < total % count ? 1 : 0);
}

rp_code rp_replay_new(const struct rp_replay_opts *opts, struct rp_replay **out,
                      struct rp_error *err)
{
    if (!opts->target || !opts->on_result) {
        return rp_error_set(err, RP_EUSAGE, "a target URL and a result callback are required");
    }
    char origin[RP__REPLAY_MAX_ORIGIN_BYTES];
    const char *rest;
    size_t rest_len;
    if (!rp__replay_split_url(opts->target, origin, sizeof(origin), &rest, &rest_len) ||
        (strncmp(origin, "http://", 7) != 0 && strncmp(origin, "https://", 8) != 0)) {
        return rp_error_set(err, RP_EUSAGE, "--target %s is not an http:// or https:// URL",
                            opts->target);
    }
    if (opts->rate < 0) {
        return rp_error_set(err, RP_EUSAGE, "--rate must not be negative");
    }
    if (opts->retries > RP_REPLAY_MAX_RETRIES) {
        return rp_error_set(err, RP_EUSAGE, "--retries wants 0 to %u, got %u",
                            RP_REPLAY_MAX_RETRIES, opts->retries);
    }
    struct rp_status_set stop_on = {{0}};
    if (opts->stop_on) {
        rp_code rc = rp_status_set_parse(opts->stop_on, &stop_on, err);
        if (rc) {
            return rc;
        }
    }
    rp_code src = shard_check(opts, err);
    if (src) {
        return src;
    }
    struct rp_replay *r = rp_xcalloc(1, sizeof(*r));
    r->stop_on = stop_on;
    r->has_stop_on = opts->stop_on != NULL;
    r->o = *opts;
    if (!r->o.concurrency) {
        r->o.concurrency = 1;
    }
    if (!r->o.sessions) {
        r->o.sessions = 1;
    }
    if (!r->o.timeout_ms) {
        r->o.timeout_ms = RP__REPLAY_DEFAULT_TIMEOUT_MS;
    }
    if (!r->o.connect_timeout_ms) {
        r->o.connect_timeout_ms = RP__REPLAY_DEFAULT_CONNECT_TIMEOUT_MS;
    }
    if (!r->o.secret) {
        r->o.secret = rp_secret_from_env;
    }
    if (!r->o.teardown_timeout_ms) {
        r->o.teardown_timeout_ms = 30000;
    }
    if (!r->o.cancel_grace_ms) {
        r->o.cancel_grace_ms = 5000;
    }
    if (r->o.cancel_grace_ms > r->o.teardown_timeout_ms) {
        r->o.cancel_grace_ms = r->o.teardown_timeout_ms;
    }
    if (opts->run_id) {
        snprintf(r->run_id, sizeof(r->run_id), "%s", opts->run_id);
    } else {
        rp_run_id_make(r->run_id, 8);
    }
    /* The target keeps its path prefix; the request's own path follows it. */
    size_t tlen = strlen(opts->target);
    size_t keep = (size_t)(strcspn(opts->target, "?#"));
    keep = keep < tlen ? keep : tlen;
    while (keep > 0 && opts->target[keep - 1] == '/') {
        keep--;
    }
    r->target = rp_xstrndup(opts->target, keep);
    r->session_step = r->o.shard_count > 1 ? r->o.shard_count : 1;
    if (r->o.rate > 0) {
        /* --rate is the whole run's: a shard takes its share. */
        r->slot_us = (int64_t)(1e6 * (double)r->session_step / r->o.rate);
        if (r->slot_us < 1) {
            r->slot_us = 1;
        }
    }
    *out = r;
    return RP_OK;
}

void rp_replay_free(struct rp_replay *r)
{
    if (!r) {
        return;
    }
    for (size_t i = 0; r->sessions && i < r->n_slots; i++) {
        rp__replay_session_free(r->sessions[i]);
    }
    free(r->sessions);
    for (size_t i = 0; i < r->n_recs; i++) {
        struct rp__replay_rec *rec = &r->recs[i];
        free(rec->path);
        free(rec->name);
        rp_rec_meta_cleanup(&rec->meta);
        rp_correlator_free(rec->corr);
        rp_unsourced_finder_free(rec->unsourced);
        rp_var_table_free(rec->vars);
        free(rec->origin);
        rp__replay_cache_free(rec);
        rp__replay_td_free(rec->td);
        rp__replay_guard_cleanup(rec);
        rp__replay_steps_cleanup(&rec->steps);
        rp_rewriter_free(rec->name_rules);
    }
    free(r->recs);
    if (r->multi) {
        curl_multi_cleanup(r->multi);
    }
    pairs_cleanup(&r->tenants);
    pairs_cleanup(&r->hosts);
    pairs_cleanup(&r->binds);
    pairs_cleanup(&r->consts);
    rp__replay_only_cleanup(r);
    free(r->waiting);
    free(r->retryq);
    free(r->target);
    free(r);
}

void rp_replay_add_recording(struct rp_replay *r, const char *path)
{
    r->recs = rp_xreallocarray(r->recs, r->n_recs + 1, sizeof(*r->recs));
    struct rp__replay_rec *rec = &r->recs[r->n_recs++];
    memset(rec, 0, sizeof(*rec));
    rec->path = rp_xstrdup(path);
    rp_rec_meta_init(&rec->meta);
}

/* True when template gives each session a tenant of its own. */
static bool tenant_per_session(const char *tmpl)
{
    return strstr(tmpl, "{session}") || strstr(tmpl, "{uuid}");
}

/* Sessions that share a tenant would collide (a second sign-up of one name fails), and so would
 * shards, each process with its sessions: a warning names the rule ("--tenant FROM=TO"). */
static void tenant_warn(struct rp_replay *r, const char *flag, const char *from, const char *eq,
                        const char *to)
{
    if ((r->o.sessions > 1 || r->o.shard_count > 1) && !tenant_per_session(to)) {
        rp__replay_log(r, RP_LOG_WARN,
                       "%s%s%s%s with --sessions %u%s: every session gets the same "
                       "tenant; put {session} in it to keep them apart",
                       flag, from, eq, to, r->o.sessions,
                       r->o.shard_count > 1 ? " and shards" : "");
    }
}

rp_code rp_replay_tenant(struct rp_replay *r, const char *from, const char *to,
                         struct rp_error *err)
{
    if (!from[0]) {
        return rp_error_set(err, RP_EUSAGE, "--tenant needs FROM=TO with a non-empty FROM");
    }
    pairs_add(&r->tenants, from, to);
    tenant_warn(r, "--tenant ", from, "=", to);
    return RP_OK;
}

rp_code rp_replay_map_host(struct rp_replay *r, const char *from, const char *to,
                           struct rp_error *err)
{
    char origin[RP__REPLAY_MAX_ORIGIN_BYTES];
    const char *rest;
    size_t rest_len;
    if (!from[0] || !rp__replay_split_url(to, origin, sizeof(origin), &rest, &rest_len)) {
        return rp_error_set(err, RP_EUSAGE, "--map-host %s=%s: want HOST[:PORT]=URL", from, to);
    }
    /* Like the target, a mapped base keeps its path prefix without a trailing slash. */
    size_t keep = strcspn(to, "?#");
    while (keep > 0 && to[keep - 1] == '/') {
        keep--;
    }
    char *base = rp_xstrndup(to, keep);
    char *lower = rp_xstrdup(from);
    for (char *p = lower; *p; p++) {
        *p = rp__ascii_lower(*p);
    }
    pairs_add(&r->hosts, lower, base);
    free(base);
    free(lower);
    return RP_OK;
}

rp_code rp_replay_bind(struct rp_replay *r, const char *name, const char *jsonpath,
                       struct rp_error *err)
{
    /* Checked now, so a bad path is a usage error before anything is read. */
    struct rp_correlator *probe = rp_correlator_new();
    rp_code rc = rp_correlator_bind(probe, name, jsonpath, err);
    rp_correlator_free(probe);
    if (rc) {
        return rc;
    }
    pairs_add(&r->binds, name, jsonpath);
    return RP_OK;
}

rp_code rp_replay_const(struct rp_replay *r, const char *value, struct rp_error *err)
{
    if (!value || !value[0]) {
        return rp_error_set(err, RP_EUSAGE, "--const needs a non-empty VALUE");
    }
    pairs_add(&r->consts, value, "");
    return RP_OK;
}

const char *rp_replay_run_id(const struct rp_replay *r)
{
    return r->run_id;
}

/*
 * A retry runs in a new tenant, or it is no fair retry: refused (RP_EUSAGE) when a --tenant
 * template would give every attempt the same tenant, or with --same-tenant.
 */
static rp_code retry_tenants_check(const struct rp_replay *r, struct rp_error *err)
{
    if (!r->o.retries) {
        return RP_OK;
    }
    if (!r->o.retry) {
        return rp_error_set(err, RP_EUSAGE, "retries need a retry callback");
    }
    if (r->o.same_tenant) {
        return rp_error_set(err, RP_EUSAGE,
                            "--retries with --same-tenant: a retry would run in the tenant the "
                            "failed attempt left behind");
    }
    for (size_t i = 0; i < r->tenants.n; i++) {
        const char *to = r->tenants.v[i].to;
        if (!tenant_per_session(to)) {
            return rp_error_set(err, RP_EUSAGE,
                                "--retries with --tenant %s=%s: a retry needs a new tenant; put "
                                "{session} or {uuid} in it",
                                r->tenants.v[i].from, to);
        }
    }
    const char *tmpl = r->o.tenant_template;
    if (!r->tenants.n && tmpl && !tenant_per_session(tmpl)) {
        return rp_error_set(err, RP_EUSAGE,
                            "--retries with --tenant-template %s: a retry needs a new tenant; "
                            "put {session} or {uuid} in it",
                            tmpl);
    }
    return RP_OK;
}

rp_code rp_replay_run(struct rp_replay *r, struct rp_error *err)
{
    if (r->n_recs == 0) {
        return rp_error_set(err, RP_EUSAGE, "no recording to replay");
    }
    rp_code trc = retry_tenants_check(r, err);
    if (trc) {
        return trc;
    }
    if (!r->tenants.n && r->o.tenant_template) {
        tenant_warn(r, "--tenant-template ", "", "", r->o.tenant_template);
    }
    /* Everything that can be wrong with the input is found before the first request. */
    for (size_t i = 0; i < r->n_recs; i++) {
        struct rp__replay_rec *rec = &r->recs[i];
        rec->corr = rp_correlator_new();
        for (size_t b = 0; b < r->binds.n; b++) {
            rp_code rc = rp_correlator_bind(rec->corr, r->binds.v[b].from, r->binds.v[b].to, err);
            if (rc) {
                return rc;
            }
        }
        /* Unsourced ids are looked for beside the correlations: consts and --tenant FROMs
         * now, the recording's own tenants as the prepass reads its header. */
        rec->unsourced = rp_unsourced_finder_new();
        for (size_t k = 0; k < r->consts.n; k++) {
            rp_unsourced_finder_const(rec->unsourced, r->consts.v[k].from);
        }
        for (size_t k = 0; k < r->tenants.n; k++) {
            rp_unsourced_finder_tenant(rec->unsourced, r->tenants.v[k].from);
            rp_correlator_tenant(rec->corr, r->tenants.v[k].from);
        }
        struct rp__replay_pre pre = {
            .log = r->o.log,
            .log_ud = r->o.log_ud,
            .secret = r->o.dry_run ? NULL : r->o.secret,
            .secret_ud = r->o.secret_ud,
            .keep = !r->o.stream,
            .observe = r->o.observe,
            .observe_ud = r->o.observe_ud,
            .teardown = r->o.teardown,
            .tenants = &r->tenants,
        };
        rec->guard_rules = &r->tenants;
        rp_code rc = rp__replay_prepass(rec, &pre, err);
        if (!rc) {
            rc = rp__replay_guard_check(r, rec, err); /* the tenant guard */
        }
        if (rc) {
            return rc;
        }
        rp__replay_warn_unsourced(r, rec);
        const char *nm = rec->meta.name && rec->meta.name[0] ? rec->meta.name : rec->path;
        rec->name = rp_xstrdup(nm);
        if (rec->cache) {
            rp__replay_log(r, RP_LOG_DEBUG,
                           "%s: %zu correlations, origin %s, held in memory (%zu KiB)", rec->path,
                           rp_correlator_count(rec->corr), rec->origin, rec->cache_bytes / 1024);
        } else {
            rp__replay_log(r, RP_LOG_DEBUG,
                           "%s: %zu correlations, origin %s, streamed by each session", rec->path,
                           rp_correlator_count(rec->corr), rec->origin);
        }
    }

    r->multi = curl_multi_init();
    if (!r->multi) {
        return rp_error_set(err, RP_EINTERNAL, "cannot create a libcurl multi handle");
    }
    curl_multi_setopt(r->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)r->o.concurrency);
    curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, (long)r->o.concurrency + 4);

    r->n_sessions = r->n_recs * r->o.sessions;
    r->next_session = r->o.shard_count > 1 ? r->o.shard_index : 0; /* this shard's first */
    /* A slot per running session; a slot per session when they are kept for the probe. */
    r->n_slots = r->keep_sessions ? r->n_sessions : r->o.concurrency;
    r->sessions = rp_xcalloc(r->n_slots ? r->n_slots : 1, sizeof(*r->sessions));
    rp_code rc = loop(r, err);
    retry_drop(r); /* none left but on a cancel or an error */
    if (rc) {
        return rc;
    }
    rp__replay_guard_end(r);
    if (r->first_failure) {
        return rp_error_set(err, r->first_failure, "%s", r->first_failure_msg);
    }
    return RP_OK;
}
