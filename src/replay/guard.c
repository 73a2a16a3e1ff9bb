/* SPDX-License-Identifier: MIT */
/*
 * The replay's guards, which keep a run from acting where it should not. The tenant guard:
 * a recording with writes is not replayed when no tenant would be rewritten (none declared,
 * or none standing in any request), since every write would then go to the recorded tenant's
 * real data; decided from what the pre-pass reads, before anything is sent. The run guards:
 * --read-only (writes SKIPPED), --max-requests (a cap over the whole run, the rest SKIPPED) and
 * --stop-on (a session stops at its first response with a listed status).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/internal.h"

/* ----- statuses and methods ---------------------------------------------------------------- */

bool rp_method_is_read(const char *method)
{
    size_t n = strlen(method);
    return rp_strieq(method, n, "GET") || rp_strieq(method, n, "HEAD") ||
           rp_strieq(method, n, "OPTIONS");
}

bool rp_status_set_has(const struct rp_status_set *set, unsigned status)
{
    if (status < 100 || status > 599) {
        return false;
    }
    unsigned i = status - 100;
    return (set->bits[i / 64] >> (i % 64)) & 1u;
}

static void status_add(struct rp_status_set *set, unsigned status)
{
    unsigned i = status - 100;
    set->bits[i / 64] |= (uint64_t)1 << (i % 64);
}

rp_code rp_status_set_parse(const char *list, struct rp_status_set *out, struct rp_error *err)
{
    struct rp_status_set set;
    memset(&set, 0, sizeof(set));
    const char *p = list;
    /* Each item is three characters; the loop ends at the list's end or the first bad item. */
    for (;;) {
        size_t len = strcspn(p, ",");
        bool good = len == 3 && p[0] >= '1' && p[0] <= '5';
        if (good && (p[1] == 'x' || p[1] == 'X') && (p[2] == 'x' || p[2] == 'X')) {
            for (unsigned s = 0; s < 100; s++) {
                status_add(&set, (unsigned)(p[0] - '0') * 100 + s);
            }
        } else if (good && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9') {
            status_add(&set, (unsigned)(p[0] - '0') * 100 + (unsigned)(p[1] - '0') * 10 +
                                 (unsigned)(p[2] - '0'));
        } else {
            return rp_error_set(err, RP_EUSAGE,
                                "--stop-on wants statuses or classes (5xx, 500, 429), got '%.*s'",
                                (int)(len < 64 ? len : 64), p);
        }
        if (p[len] == '\0') {
            break;
        }
        p += len + 1;
    }
    *out = set;
    return RP_OK;
}

/* ----- the tenant guard -------------------------------------------------------------------- */

enum rp_tenant_verdict rp_tenant_guard_verdict(const struct rp_tenant_guard *g)
{
    if (g->writes == 0) {
        return RP_TENANT_READS;
    }
    if (g->n_tenants == 0) {
        return RP_TENANT_NONE;
    }
    return g->tenant_in_requests ? RP_TENANT_OK : RP_TENANT_UNUSED;
}

/* "3 writes (first: POST #2) and no tenant declared" */
static void describe(const struct rp_tenant_guard *g, char *out, size_t outsz)
{
    enum rp_tenant_verdict v = rp_tenant_guard_verdict(g);
    char why[128];
    if (v == RP_TENANT_NONE) {
        snprintf(why, sizeof(why), "no tenant declared");
    } else {
        snprintf(why, sizeof(why), "tenant %s%s in no request", g->tenant,
                 g->n_tenants > 1 ? " (nor any other)" : "");
    }
    int k = snprintf(out, outsz, "%llu write%s (first: %s #%llu) and %s",
                     (unsigned long long)g->writes, g->writes == 1 ? "" : "s", g->first_method,
                     (unsigned long long)g->first_write, why);
    if (k < 0) {
        out[0] = '\0'; /* a cut message is fine; a failed one says nothing */
    }
}

void rp_tenant_guard_message(const struct rp_tenant_guard *g, const char *path, char *out,
                             size_t outsz)
{
    if (!outsz) {
        return;
    }
    out[0] = '\0';
    enum rp_tenant_verdict v = rp_tenant_guard_verdict(g);
    if (v == RP_TENANT_OK || v == RP_TENANT_READS) {
        return;
    }
    char what[160];
    describe(g, what, sizeof(what));
    int k = snprintf(
        out, outsz,
        "%s: refused: %s: its writes would change the recorded tenant's data; use --tenant "
        "FROM=TO, re-record with --tenant NAME, or --same-tenant",
        path, what);
    if (k < 0) {
        out[0] = '\0';
    }
}

void rp__replay_guard_begin(struct rp__replay_rec *rec)
{
    memset(&rec->guard, 0, sizeof(rec->guard));
    rp_rewriter_free(rec->guard_rw);
    rec->guard_rw = rp_rewriter_new();
    const struct rp__replay_pairs *rules = rec->guard_rules;
    size_t n = rules && rules->n ? rules->n : rec->meta.n_tenants;
    for (size_t i = 0; i < n; i++) {
        const char *from = rules && rules->n ? rules->v[i].from : rec->meta.tenants[i];
        if (i == 0) {
            snprintf(rec->guard.tenant, sizeof(rec->guard.tenant), "%s", from);
        }
        /* A FROM nothing could match as a token is declared, and found nowhere. */
        rp_ignore(rp_rewriter_add(rec->guard_rw, from, "t", NULL));
    }
    rec->guard.n_tenants = n;
}

rp_code rp__replay_guard_note(struct rp__replay_rec *rec, const struct rp_exchange *ex,
                              struct rp_error *err)
{
    struct rp_tenant_guard *g = &rec->guard;
    if (!rp_method_is_read(ex->req.method)) {
        if (g->writes++ == 0) {
            g->first_write = ex->seq;
            snprintf(g->first_method, sizeof(g->first_method), "%s", ex->req.method);
        }
    }
    if (g->tenant_in_requests || !rec->guard_rw || rp_rewriter_count(rec->guard_rw) == 0) {
        return RP_OK;
    }
    /* Rewritten as a session would rewrite it: found when that changes something. */
    struct rp_exchange tmp;
    rp_exchange_init(&tmp);
    size_t count = 0;
    rp_code rc = rp_request_copy(&tmp.req, &ex->req, err);
    if (!rc) {
        rc = rp_rewrite_request(rec->guard_rw, &tmp.req, &count, err);
    }
    rp_exchange_cleanup(&tmp);
    g->tenant_in_requests = count > 0;
    return rc;
}

void rp__replay_guard_cleanup(struct rp__replay_rec *rec)
{
    rp_rewriter_free(rec->guard_rw);
    rec->guard_rw = NULL;
}

rp_code rp__replay_guard_check(struct rp_replay *r, struct rp__replay_rec *rec,
                               struct rp_error *err)
{
    rp__replay_guard_cleanup(rec);
    enum rp_tenant_verdict v = rp_tenant_guard_verdict(&rec->guard);
    if (v == RP_TENANT_OK || v == RP_TENANT_READS) {
        return RP_OK;
    }
    const char *let = r->o.same_tenant ? "--same-tenant: its writes go to the recorded tenant"
                      : r->o.read_only ? "--read-only: no write is sent"
                      : r->o.dry_run   ? "--dry-run: nothing is sent; a replay would refuse it"
                                       : NULL;
    if (!let) {
        char msg[RP_ERROR_MSG_MAX * 2];
        rp_tenant_guard_message(&rec->guard, rec->path, msg, sizeof(msg));
        return rp_error_set(err, RP_ETENANT, "%s", msg);
    }
    char what[160];
    describe(&rec->guard, what, sizeof(what));
    rp__replay_log(r, RP_LOG_WARN, "%s: %s (%s)", rec->path, what, let);
    return RP_OK;
}

rp_code rp_replay_guard_survey(const char *path, const char *const *tenants, size_t n,
                               struct rp_tenant_guard *out, struct rp_error *err)
{
    struct rp__replay_rec rec;
    memset(&rec, 0, sizeof(rec));
    rp_rec_meta_init(&rec.meta);
    struct rp__replay_pairs rules = {0};
    if (n) {
        rules.v = rp_xcalloc(n, sizeof(*rules.v));
        for (size_t i = 0; i < n; i++) {
            rules.v[i].from = (char *)tenants[i];
        }
        rules.n = n;
        rec.guard_rules = &rules;
    }
    struct rp_reader *rd = NULL;
    struct rp_reader_opts ropts = {0};
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    rp_code rc = rp_reader_open(path, &ropts, &rd, err);
    if (!rc) {
        rc = rp_rec_meta_copy(&rec.meta, rp_reader_meta(rd), err);
    }
    if (!rc) {
        rp__replay_guard_begin(&rec);
    }
    while (!rc) {
        bool got = false;
        rc = rp_reader_next(rd, &ex, &got, err);
        if (rc || !got) {
            break;
        }
        rc = rp__replay_guard_note(&rec, &ex, err);
    }
    if (!rc) {
        *out = rec.guard;
    }
    rp_exchange_cleanup(&ex);
    rp_reader_free(rd);
    rp__replay_guard_cleanup(&rec);
    rp_rec_meta_cleanup(&rec.meta);
    free(rules.v);
    return rc;
}

/* ----- run guards ------------------------------------------------------------------------- */

/* Reports s->cur SKIPPED with why, as recorded (it was not built). */
static void skip(struct rp__replay_session *s, const char *why)
{
    rp_exchange_cleanup(&s->live);
    s->live.seq = s->cur->seq;
    rp_ignore(rp_request_copy(&s->live.req, &s->cur->req, NULL));
    rp__replay_emit(s, RP_REPLAY_SKIPPED, RP_OK, why, 0);
}

bool rp__replay_guard_skip(struct rp__replay_session *s)
{
    struct rp_replay *r = s->r;
    char why[RP_ERROR_MSG_MAX];
    if (r->o.read_only && !rp_method_is_read(s->cur->req.method)) {
        snprintf(why, sizeof(why),
                 "not sent: a %.16s, and --read-only sends only GET, HEAD, OPTIONS",
                 s->cur->req.method);
        skip(s, why);
        return true;
    }
    if (r->o.max_requests && !r->o.dry_run && r->sent >= r->o.max_requests) {
        snprintf(why, sizeof(why), "not sent: --max-requests %llu reached",
                 (unsigned long long)r->o.max_requests);
        r->capped++;
        skip(s, why);
        return true;
    }
    return false;
}

void rp__replay_guard_sent(struct rp__replay_session *s)
{
    s->r->sent++;
}

void rp__replay_guard_status(struct rp__replay_session *s, unsigned status)
{
    struct rp_replay *r = s->r;
    if (!r->has_stop_on || !rp_status_set_has(&r->stop_on, status)) {
        return;
    }
    s->stopped = true;
    snprintf(s->stop_reason, sizeof(s->stop_reason),
             "not sent: the session stopped at exchange %llu (status %u, --stop-on %.32s)",
             (unsigned long long)s->cur->seq, status, r->o.stop_on);
    rp__replay_log(r, RP_LOG_WARN, "%s: stopped at exchange %llu: status %u (--stop-on %s)",
                   s->name, (unsigned long long)s->cur->seq, status, r->o.stop_on);
}

void rp__replay_guard_end(struct rp_replay *r)
{
    if (r->capped) {
        rp__replay_log(
            r, RP_LOG_WARN, "--max-requests %llu reached: %llu request%s sent, %llu step%s SKIPPED",
            (unsigned long long)r->o.max_requests, (unsigned long long)r->sent,
            r->sent == 1 ? "" : "s", (unsigned long long)r->capped, r->capped == 1 ? "" : "s");
    }
}
