/* SPDX-License-Identifier: MIT */
/*
 * The cross-tenant isolation probe (`reprise probe`). Each recording is replayed as two
 * sessions in fresh tenants, A then B, by the engine as it is. Then every read of A that
 * carried a value a response gave A (its order id in the path) is sent once more, as B would
 * have sent that step — B's tenant, cookie jar, CSRF header, bearer token — but with A's URL.
 * A tenant-isolated server answers with a denial (401, 403, 404) that holds none of A's
 * values; anything else is a leak.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/internal.h"

/* The most values of one tenant looked for in a response. */
#define MAX_VALUES 256u

/* A read of A to probe: a copy of the recorded exchange and the URL A sent it to. */
struct step {
    size_t rec;
    struct rp_exchange recorded;
    char *url;
};

struct probe {
    struct rp_replay *r;
    rp_replay_result_fn user_fn;
    void *user_ud;
    struct step *steps;
    size_t n_steps;
    bool probing;               /* events now come from probe requests: not forwarded */
    char why[RP_ERROR_MSG_MAX]; /* the message of the last event while probing */
};

/* ----- which reads of A are probed ------------------------------------------------------------ */

/* True when a correlation puts a server-given value into the path or query of request seq. */
static bool carries_given(const struct rp_correlator *c, uint64_t seq)
{
    size_t lo = 0, hi = rp_correlator_count(c);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rp_correlator_get(c, mid)->to_seq < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (size_t k = lo; k < rp_correlator_count(c); k++) {
        const struct rp_correlation *x = rp_correlator_get(c, k);
        if (x->to_seq != seq) {
            break;
        }
        if (x->to.kind == RP_LOC_PATH_SEGMENT || x->to.kind == RP_LOC_QUERY) {
            return true;
        }
    }
    return false;
}

static bool is_read(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* The engine's result callback during the probe: forwards A's and B's steps to the caller's,
 * and keeps a copy of each read of A to probe. */
static void on_event(void *ud, const struct rp_replay_event *ev)
{
    struct probe *p = ud;
    if (p->probing) {
        snprintf(p->why, sizeof(p->why), "%s", ev->message ? ev->message : "not sent");
        return;
    }
    p->user_fn(p->user_ud, ev);
    struct rp_replay *r = p->r;
    size_t idx = ev->session_no - 1;
    if (ev->status != RP_REPLAY_DONE || idx >= r->n_recs || !ev->recorded ||
        !is_read(ev->recorded->req.method) ||
        !carries_given(r->recs[idx].corr, ev->recorded->seq)) {
        return; /* not a session A's (the first copy), or not a read of a given value */
    }
    struct step st = {.rec = idx};
    rp_exchange_init(&st.recorded);
    if (rp_exchange_copy(&st.recorded, ev->recorded, NULL)) {
        rp_exchange_cleanup(&st.recorded);
        return; /* over a limit it was read within: cannot happen */
    }
    st.url = rp_xstrdup(ev->live->req.url);
    p->steps = rp_xreallocarray(p->steps, p->n_steps + 1, sizeof(*p->steps));
    p->steps[p->n_steps++] = st;
}

/* ----- A's values ------------------------------------------------------------------------------
 */

struct values {
    char *v[MAX_VALUES];
    size_t n;
};

static void values_add(struct values *vs, const char *v)
{
    if (!v || !v[0] || vs->n >= MAX_VALUES) {
        return;
    }
    for (size_t i = 0; i < vs->n; i++) {
        if (strcmp(vs->v[i], v) == 0) {
            return;
        }
    }
    vs->v[vs->n++] = rp_xstrdup(v);
}

static void values_cleanup(struct values *vs)
{
    for (size_t i = 0; i < vs->n; i++) {
        free(vs->v[i]);
    }
    vs->n = 0;
}

/* A's values: its tenant names, and each server-given value A took that B did not take alike
 * (a product id every tenant has is nobody's secret). */
static void values_of(const struct rp_replay *r, const struct rp__replay_rec *rec,
                      const struct rp__replay_session *a, const struct rp__replay_session *b,
                      struct values *vs)
{
    size_t n = r->tenants.n ? r->tenants.n : rec->meta.n_tenants;
    for (size_t i = 0; i < n; i++) {
        const char *from = r->tenants.n ? r->tenants.v[i].from : rec->meta.tenants[i];
        size_t len = 0;
        char *mine = a->rw ? rp_rewrite_text(a->rw, from, strlen(from), &len) : NULL;
        values_add(vs, mine);
        free(mine);
    }
    for (size_t i = 0; a->cs && i < rp_correlator_count(rec->corr); i++) {
        const char *va = rp_corr_session_value(a->cs, i);
        const char *vb = b->cs ? rp_corr_session_value(b->cs, i) : NULL;
        if (va && (!vb || strcmp(va, vb) != 0)) {
            values_add(vs, va);
        }
    }
}

static bool word_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_' ||
           c == '-';
}

/* True when v (NUL-terminated) is in the n bytes at s as a whole token: not inside a longer run
 * of letters, digits, '_' and '-' ("1" is not found in "acme-1" nor in "12"). */
static bool has_token(const char *s, size_t n, const char *v)
{
    size_t vl = strlen(v);
    if (vl == 0 || vl > n) {
        return false;
    }
    for (size_t i = 0; i + vl <= n; i++) {
        if (s[i] != v[0] || memcmp(s + i, v, vl) != 0) {
            continue;
        }
        bool before = i > 0 && word_char((unsigned char)s[i - 1]) && word_char((unsigned char)v[0]);
        bool after = i + vl < n && word_char((unsigned char)s[i + vl]) &&
                     word_char((unsigned char)v[vl - 1]);
        if (!before && !after) {
            return true;
        }
    }
    return false;
}

/* ----- sending one probe --------------------------------------------------------------------- */

/* Stops rp_secrets_each and rp_vars_each at the first placeholder. */
static int any_placeholder(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return 1;
}

/* Replaces the URL of req with url (borrowed). */
static void set_url(struct rp_request *req, const char *url)
{
    free(req->url);
    req->url = rp_xstrdup(url);
}

/*
 * Builds B's request for the step, puts A's URL in it and sends it on B's easy handle (so with
 * B's cookie jar), blocking. *out_sent false: not sent, p->why says why. Errors: input errors.
 */
static rp_code send_probe(struct probe *p, struct rp__replay_session *b, struct step *st,
                          bool *out_sent, CURLcode *out_cc, struct rp_error *err)
{
    *out_sent = false;
    b->cur = &st->recorded;
    p->why[0] = '\0';
    bool send = false;
    rp_code rc = rp__replay_build_request(b, &send, err);
    if (rc || !send) {
        return rc;
    }
    /* The copy on the wire is made again from the request with A's URL, so that a placeholder
     * in that URL (a secret, or a variable such as an access token in the query) is filled with
     * B's value, as the rest of the request was. What is reported keeps the placeholders. */
    set_url(&b->live.req, st->url);
    b->wire_req = &b->live.req;
    bool vars = rp_vars_each(&b->live.req, any_placeholder, NULL) != 0;
    if (vars || rp_secrets_each(&b->live.req, any_placeholder, NULL)) {
        b->wire_req = &b->wire.req;
        rc = rp_request_copy(&b->wire.req, &b->live.req, err);
        if (!rc) {
            rc = rp_secrets_fill(&b->wire.req, b->r->o.secret, b->r->o.secret_ud, err);
        }
        if (!rc && vars) {
            rc = rp__replay_vars_fill(b, &b->wire.req, err);
        }
        if (rc == RP_EMISSING) {
            return RP_OK; /* B has no value for a variable of A's URL: not sent, p->why says */
        }
        if (rc) {
            return rp_error_prefix(err, "%s: exchange %llu", b->rec->path,
                                   (unsigned long long)st->recorded.seq);
        }
    }
    curl_slist_free_all(b->hdrs);
    b->hdrs = rp__replay_header_list(b, err);
    if (!b->hdrs) {
        return rp_error_prefix(err, "%s: exchange %llu", b->rec->path,
                               (unsigned long long)st->recorded.seq);
    }
    rp_buf_reset(&b->body);
    b->body_total = 0;
    b->body_cut = false;
    b->errbuf[0] = '\0';
    rp__replay_configure_easy(b);
    b->live.start_us = rp_now_us();
    *out_cc = curl_easy_perform(b->easy);
    curl_off_t total_us = 0;
    curl_easy_getinfo(b->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    b->live.duration_us = total_us > 0 ? (uint64_t)total_us : 0;
    *out_sent = true;
    return RP_OK;
}

/* Probes one step and reports it. Returns an input error, or RP_OK (a transport failure is
 * reported and kept in *first_failure). */
static rp_code probe_step(struct probe *p, struct step *st, rp_probe_fn on_probe, void *ud,
                          uint64_t *leaks, rp_code *first_failure, struct rp_error *err)
{
    struct rp_replay *r = p->r;
    struct rp__replay_rec *rec = &r->recs[st->rec];
    struct rp__replay_session *a = r->sessions[st->rec];
    struct rp__replay_session *b = r->sessions[r->n_recs + st->rec];
    struct rp_probe_result res = {
        .recording = rec->path,
        .session_a = a->name,
        .session_b = b->name,
        .seq = st->recorded.seq,
        .live = &b->live,
    };
    char msg[RP_ERROR_MSG_MAX * 2];
    if (b->state != RP__REPLAY_DONE || b->stopped || !b->easy) {
        rp_exchange_cleanup(&b->live);
        b->live.seq = st->recorded.seq;
        rp_ignore(rp_request_copy(&b->live.req, &st->recorded.req, NULL)); /* for the name */
        set_url(&b->live.req, st->url);
        snprintf(msg, sizeof(msg), "not probed: %s did not finish (%s)", b->name,
                 b->stop_reason[0] ? b->stop_reason : "stopped");
        res.outcome = RP_PROBE_SKIPPED;
        res.message = msg;
        on_probe(ud, &res);
        return RP_OK;
    }
    bool sent = false;
    CURLcode cc = CURLE_OK;
    p->probing = true;
    rp_code rc = send_probe(p, b, st, &sent, &cc, err);
    p->probing = false;
    /* A probe refused (a variable of A's URL B has no value for) stops nothing: the session
     * had finished, and the next probe is built afresh. */
    b->stopped = false;
    b->stop_reason[0] = '\0';
    if (rc) {
        return rc;
    }
    if (!sent) {
        snprintf(msg, sizeof(msg), "not probed: %s", p->why[0] ? p->why : "not sent");
        res.outcome = RP_PROBE_SKIPPED;
        res.message = msg;
        on_probe(ud, &res);
        return RP_OK;
    }
    if (cc != CURLE_OK) {
        res.outcome = RP_PROBE_ERROR;
        res.code = rp__replay_failure_class(cc);
        snprintf(msg, sizeof(msg), "%s %s: %s", b->live.req.method, b->live.req.url,
                 b->errbuf[0] ? b->errbuf : curl_easy_strerror(cc));
        res.message = msg;
        if (!*first_failure) {
            *first_failure = res.code;
        }
        on_probe(ud, &res);
        return RP_OK;
    }
    long status = 0;
    curl_easy_getinfo(b->easy, CURLINFO_RESPONSE_CODE, &status);
    struct rp_response *resp = &b->live.resp;
    b->live.has_response = true;
    resp->status = (unsigned)status;
    size_t blen = 0;
    char *data = rp_buf_take(&b->body, &blen);
    rp_body_take(&resp->body, (unsigned char *)data, blen);
    resp->body.truncated = b->body_cut;

    bool denied = status == 401 || status == 403 || status == 404;
    struct values vs = {.n = 0};
    values_of(r, rec, a, b, &vs);
    const char *found[MAX_VALUES];
    size_t n_found = 0;
    const char *url = b->live.req.url;
    for (size_t i = 0; i < vs.n; i++) {
        if (!has_token((const char *)resp->body.data, resp->body.len, vs.v[i])) {
            continue;
        }
        /* A denial that repeats the path it was asked for tells B nothing new. */
        if (denied && has_token(url, strlen(url), vs.v[i])) {
            continue;
        }
        found[n_found++] = vs.v[i];
    }
    res.outcome = denied && n_found == 0 ? RP_PROBE_DENIED : RP_PROBE_LEAK;
    res.leaked = found;
    res.n_leaked = n_found;
    *leaks += res.outcome == RP_PROBE_LEAK;
    on_probe(ud, &res);
    values_cleanup(&vs);
    return RP_OK;
}

/* ----- the probe --------------------------------------------------------------------------------
 */

/* Nothing is sent when a recording cannot be made into two tenants. */
static rp_code check_tenants(struct rp_replay *r, struct rp_error *err)
{
    for (size_t i = 0; i < r->tenants.n; i++) {
        const char *to = r->tenants.v[i].to;
        if (!strstr(to, "{session}") && !strstr(to, "{uuid}")) {
            return rp_error_set(err, RP_EUSAGE,
                                "--tenant %s=%s: the probe needs two tenants; put {session} in "
                                "the template",
                                r->tenants.v[i].from, to);
        }
    }
    const char *tmpl = r->o.tenant_template;
    if (!r->tenants.n && tmpl && !strstr(tmpl, "{session}") && !strstr(tmpl, "{uuid}")) {
        return rp_error_set(err, RP_EUSAGE,
                            "--tenant-template %s: the probe needs two tenants; put {session} in "
                            "it",
                            tmpl);
    }
    for (size_t i = 0; i < r->n_recs && !r->tenants.n; i++) {
        struct rp_reader_opts ropts = {.log = r->o.log, .log_ud = r->o.log_ud};
        struct rp_reader *rd = NULL;
        rp_code rc = rp_reader_open(r->recs[i].path, &ropts, &rd, err);
        if (rc) {
            return rc;
        }
        size_t n = rp_reader_meta(rd)->n_tenants;
        rp_reader_free(rd);
        if (n == 0) {
            return rp_error_set(
                err, RP_EUSAGE,
                "%s: the recording declares no tenant, so the probe cannot make "
                "two; record with --tenant NAME, or give --tenant FROM=TO-{session}",
                r->recs[i].path);
        }
    }
    return RP_OK;
}

rp_code rp_replay_probe(struct rp_replay *r, rp_probe_fn on_probe, void *ud, uint64_t *out_leaks,
                        struct rp_error *err)
{
    if (r->n_recs == 0) {
        return rp_error_set(err, RP_EUSAGE, "no recording to probe");
    }
    if (r->o.shard_count > 1) { /* A and B of one recording are one pair, not two sessions */
        return rp_error_set(err, RP_EUSAGE, "the probe runs whole: it takes no shard");
    }
    rp_code rc = check_tenants(r, err);
    if (rc) {
        return rc;
    }
    struct probe p = {.r = r, .user_fn = r->o.on_result, .user_ud = r->o.ud};
    r->o.on_result = on_event;
    r->o.ud = &p;
    r->o.sessions = 2;
    r->o.concurrency = 1; /* A finishes before B starts: B's run sees A's objects exist */
    r->keep_sessions = true;
    r->o.dry_run = false;
    rc = rp_replay_run(r, err);
    uint64_t leaks = 0;
    rp_code first_failure = RP_OK;
    for (size_t i = 0; !rc && i < p.n_steps; i++) {
        rc = probe_step(&p, &p.steps[i], on_probe, ud, &leaks, &first_failure, err);
    }
    for (size_t i = 0; i < p.n_steps; i++) {
        rp_exchange_cleanup(&p.steps[i].recorded);
        free(p.steps[i].url);
    }
    free(p.steps);
    r->o.on_result = p.user_fn;
    r->o.ud = p.user_ud;
    if (rc) {
        return rc;
    }
    if (first_failure) {
        return rp_error_set(err, first_failure, "a probe request failed: %s",
                            rp_code_str(first_failure));
    }
    *out_leaks = leaks;
    return RP_OK;
}
