/* SPDX-License-Identifier: MIT */
/*
 * The replay's pre-pass: before anything is sent, each recording is read once to learn its
 * correlations, note its origin, fill the cache, and check that every secret it needs is set.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/internal.h"

struct secret_check {
    rp_secret_fn lookup;
    void *ud;
    /* A copy: the name rp_secrets_each passes is borrowed for the call only, and is freed
     * before it returns. */
    char missing[RP_MAX_SECRET_NAME + 1];
};

static int check_secret(void *ud, const char *name)
{
    struct secret_check *sc = ud;
    if (!sc->lookup(sc->ud, name)) {
        snprintf(sc->missing, sizeof(sc->missing), "%s", name);
        return 1;
    }
    return 0;
}

/*
 * What a recording and its teardown share while they are read as one sequence: the recording
 * whose correlator, unsourced finder and variables learn (the main one), the cookie names its
 * responses set so far, and what checks the secrets.
 */
struct pass {
    struct rp__replay_rec *learn;
    struct rp__replay_cookie_names cn;
    struct secret_check *secrets;
    const struct rp__replay_pre *pre;
};

/* The tenants of rec (the --tenant FROMs, else its header's), each to "{tenant}", for the step
 * names; NULL when it has none. */
static struct rp_rewriter *name_rules(const struct rp__replay_rec *rec,
                                      const struct rp__replay_pairs *tenants)
{
    size_t n = tenants && tenants->n ? tenants->n : rec->meta.n_tenants;
    if (n == 0) {
        return NULL;
    }
    struct rp_rewriter *rw = rp_rewriter_new();
    for (size_t i = 0; i < n; i++) {
        const char *from = tenants && tenants->n ? tenants->v[i].from : rec->meta.tenants[i];
        /* A tenant no rule can match (checked again, and refused, where the replay makes its
         * rules) is simply not shown as {tenant}. */
        rp_ignore(rp_rewriter_add(rw, from, "{tenant}", NULL));
    }
    return rw;
}

/*
 * Reads the recording into (learn's own, or its teardown): its meta, origin and cache, every
 * exchange learned into p->learn with base added to its seq. *out_last gets the last seq read.
 */
static rp_code read_one(struct pass *p, struct rp__replay_rec *into, uint64_t base,
                        uint64_t *out_last, struct rp_error *err)
{
    struct rp__replay_rec *rec = p->learn;
    rp_code rc = RP_EFORMAT;
    struct rp_reader_opts ropts = {.log = p->pre->log, .log_ud = p->pre->log_ud};
    struct rp_reader *rd = NULL;
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    uint64_t last = 0;

    rc = rp_reader_open(into->path, &ropts, &rd, err);
    if (rc) {
        goto out;
    }
    rc = rp_rec_meta_copy(&into->meta, rp_reader_meta(rd), err);
    if (rc) {
        goto out;
    }
    if (into == rec) {
        rp__replay_guard_begin(rec);
        rp_rewriter_free(rec->name_rules);
        rec->name_rules = name_rules(rec, p->pre->tenants);
    }
    for (size_t i = 0; into == rec && rec->unsourced && i < rec->meta.n_tenants; i++) {
        rp_unsourced_finder_tenant(rec->unsourced, rec->meta.tenants[i]);
    }
    for (size_t i = 0; into == rec && rec->corr && i < rec->meta.n_tenants; i++) {
        rp_correlator_tenant(rec->corr, rec->meta.tenants[i]);
    }
    for (;;) {
        bool got = false;
        rc = rp_reader_next(rd, &ex, &got, err);
        if (rc) {
            goto out;
        }
        if (!got) {
            break;
        }
        if (into == rec) {
            rc = rp__replay_guard_note(rec, &ex, err);
            if (rc) {
                goto out;
            }
        }
        if (!into->origin) {
            char origin[RP__REPLAY_MAX_ORIGIN_BYTES];
            const char *rest;
            size_t rest_len;
            if (!rp__replay_split_url(ex.req.url, origin, sizeof(origin), &rest, &rest_len)) {
                rc = rp_error_set(err, RP_EFORMAT, "%s:%llu: request URL is not absolute: %s",
                                  into->path, (unsigned long long)rp_reader_line(rd), ex.req.url);
                goto out;
            }
            into->origin = rp_xstrdup(origin);
        }
        /* A teardown's seqs follow the main recording's, for the correlator that reads both. */
        if (ex.seq > UINT64_MAX - base) {
            rc = rp_error_set(err, RP_ETOOBIG, "%s:%llu: seq %llu is too large", into->path,
                              (unsigned long long)rp_reader_line(rd), (unsigned long long)ex.seq);
            goto out;
        }
        ex.seq += base;
        size_t first = rp_correlator_count(rec->corr);
        rc = rp_correlator_learn(rec->corr, &ex, err);
        if (rc) {
            rp_error_prefix(err, "%s:%llu", into->path, (unsigned long long)rp_reader_line(rd));
            goto out;
        }
        char *step = rp__replay_step_name(&ex, rec->corr, first, rp_correlator_count(rec->corr),
                                          rec->name_rules);
        rp__replay_steps_add(&into->steps, step);
        free(step);
        /* The observer (the identity check) learns the main recording; a teardown's steps,
         * reported with their own seqs, are not shown to it. */
        if (p->pre->observe && into == rec) {
            p->pre->observe(p->pre->observe_ud, rec->path, &ex, rec->corr, first);
        }
        if (rec->unsourced) {
            rp_unsourced_finder_learn(rec->unsourced, rec->corr, &ex);
        }
        rc = rp__replay_vars_prepass(rec, &ex, err);
        ex.seq -= base;
        last = ex.seq;
        if (rc) {
            rp_error_prefix(err, "%s:%llu", into->path, (unsigned long long)rp_reader_line(rd));
            goto out;
        }
        /* Cookies the jar will supply need no secret: drop them as the replay will. */
        rc = rp__replay_normalise(&p->cn, &ex.req, err);
        if (rc) {
            goto out;
        }
        if (p->secrets) {
            if (rp_secrets_each(&ex.req, check_secret, p->secrets)) {
                char env[RP_MAX_SECRET_NAME + 32];
                rp_secret_env_name(p->secrets->missing, env, sizeof(env));
                rc = rp_error_set(err, RP_ENOSECRET, "%s:%llu: secret \"%s\" is not set: export %s",
                                  into->path, (unsigned long long)rp_reader_line(rd),
                                  p->secrets->missing, env);
                goto out;
            }
        }
        /* After the request: a cookie a response sets serves later requests only. */
        rp__replay_note_set_cookies(&p->cn, &ex);
        rp__replay_cache_keep(into, &ex);
        into->n_steps++;
    }
    if (!into->origin) {
        rc = rp_error_set(err, RP_EFORMAT, "%s: the recording has no exchanges", into->path);
        goto out;
    }
    *out_last = last;
    rc = RP_OK;
out:
    rp_exchange_cleanup(&ex);
    rp_reader_free(rd);
    return rc;
}

/* The teardown's tenants must be ones the session's rules rewrite, or it would act on the
 * recorded tenant. */
static rp_code check_td_tenants(const struct rp__replay_rec *rec, const struct rp__replay_rec *td,
                                const struct rp__replay_pairs *tenants, struct rp_error *err)
{
    for (size_t i = 0; i < td->meta.n_tenants; i++) {
        const char *t = td->meta.tenants[i];
        bool known = false;
        for (size_t k = 0; tenants && k < tenants->n && !known; k++) {
            known = strcmp(tenants->v[k].from, t) == 0;
        }
        for (size_t k = 0; (!tenants || !tenants->n) && k < rec->meta.n_tenants && !known; k++) {
            known = strcmp(rec->meta.tenants[k], t) == 0;
        }
        if (!known) {
            return rp_error_set(err, RP_EFORMAT,
                                "%s: teardown tenant \"%s\" is not one %s's session rewrites "
                                "(record the teardown in the main recording's tenant, or "
                                "--tenant %s=TO)",
                                td->path, t, rec->path, t);
        }
    }
    return RP_OK;
}

rp_code rp__replay_prepass(struct rp__replay_rec *rec, const struct rp__replay_pre *pre,
                           struct rp_error *err)
{
    struct secret_check sc = {.lookup = pre->secret, .ud = pre->secret_ud};
    struct pass p = {.learn = rec, .secrets = pre->secret ? &sc : NULL, .pre = pre};
    rec->cache_full = !pre->keep;
    uint64_t last = 0;
    rp_code rc = read_one(&p, rec, 0, &last, err);
    if (!rc && pre->teardown) {
        struct rp__replay_rec *td = rp_xcalloc(1, sizeof(*td));
        td->path = rp_xstrdup(pre->teardown);
        rp_rec_meta_init(&td->meta);
        rec->td = td;
        rec->td_base = last + 1;
        rc = read_one(&p, td, rec->td_base, &last, err);
        if (!rc && td->cache_full) {
            rc = rp_error_set(err, RP_ETOOBIG,
                              "%s: a teardown recording must fit in memory (%u MiB decoded)",
                              pre->teardown, (unsigned)(RP_REPLAY_CACHE_BYTES >> 20));
        }
        if (!rc) {
            rc = check_td_tenants(rec, td, pre->tenants, err);
        }
        const char *nm = td->meta.name && td->meta.name[0] ? td->meta.name : td->path;
        td->name = rp_xstrdup(nm);
    }
    rp__replay_cookie_names_cleanup(&p.cn);
    rp__replay_steps_done(&rec->steps);
    if (rec->td) {
        rp__replay_steps_done(&rec->td->steps);
    }
    return rc;
}

rp_code rp_replay_learn(const char *path, struct rp_correlator *c, rp_log_fn log, void *log_ud,
                        struct rp_error *err)
{
    return rp_replay_survey(path, c, NULL, log, log_ud, err);
}

rp_code rp_replay_survey(const char *path, struct rp_correlator *c, struct rp_unsourced_finder *u,
                         rp_log_fn log, void *log_ud, struct rp_error *err)
{
    struct rp__replay_rec rec;
    memset(&rec, 0, sizeof(rec));
    rec.path = (char *)path;
    rec.corr = c;
    rec.unsourced = u;
    rp_rec_meta_init(&rec.meta);
    struct rp__replay_pre pre = {.log = log, .log_ud = log_ud};
    rp_code rc = rp__replay_prepass(&rec, &pre, err);
    rp_rec_meta_cleanup(&rec.meta);
    rp__replay_guard_cleanup(&rec);
    rp__replay_steps_cleanup(&rec.steps);
    rp_rewriter_free(rec.name_rules);
    rp_var_table_free(rec.vars);
    free(rec.origin);
    return rc;
}
