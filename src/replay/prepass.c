/* SPDX-License-Identifier: MIT */
/*
 * The replay's pre-pass: before anything is sent, each recording is read once to learn its
 * correlations, note its origin, fill the cache, and check that every secret it needs is set.
 */
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

rp_code rp__replay_prepass(struct rp__replay_rec *rec, const struct rp__replay_pre *pre,
                           struct rp_error *err)
{
    rp_log_fn log = pre->log;
    void *log_ud = pre->log_ud;
    rp_secret_fn secret = pre->secret;
    void *secret_ud = pre->secret_ud;
    bool keep = pre->keep;
    struct secret_check sc = {.lookup = secret, .ud = secret_ud};
    struct secret_check *secrets = secret ? &sc : NULL;
    rp_code rc = RP_EFORMAT;
    struct rp_reader_opts ropts = {.log = log, .log_ud = log_ud};
    struct rp_reader *rd = NULL;
    struct rp__replay_cookie_names cn = {0};
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    rec->cache_full = !keep;

    rc = rp_reader_open(rec->path, &ropts, &rd, err);
    if (rc) {
        goto out;
    }
    rc = rp_rec_meta_copy(&rec->meta, rp_reader_meta(rd), err);
    if (rc) {
        goto out;
    }
    rp__replay_guard_begin(rec);
    for (size_t i = 0; rec->unsourced && i < rec->meta.n_tenants; i++) {
        rp_unsourced_finder_tenant(rec->unsourced, rec->meta.tenants[i]);
    }
    for (size_t i = 0; rec->corr && i < rec->meta.n_tenants; i++) {
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
        rc = rp__replay_guard_note(rec, &ex, err);
        if (rc) {
            goto out;
        }
        if (!rec->origin) {
            char origin[RP__REPLAY_MAX_ORIGIN_BYTES];
            const char *rest;
            size_t rest_len;
            if (!rp__replay_split_url(ex.req.url, origin, sizeof(origin), &rest, &rest_len)) {
                rc = rp_error_set(err, RP_EFORMAT, "%s:%llu: request URL is not absolute: %s",
                                  rec->path, (unsigned long long)rp_reader_line(rd), ex.req.url);
                goto out;
            }
            rec->origin = rp_xstrdup(origin);
        }
        size_t first = rp_correlator_count(rec->corr);
        rc = rp_correlator_learn(rec->corr, &ex, err);
        if (rc) {
            rp_error_prefix(err, "%s:%llu", rec->path, (unsigned long long)rp_reader_line(rd));
            goto out;
        }
        if (pre->observe) {
            pre->observe(pre->observe_ud, rec->path, &ex, rec->corr, first);
        }
        if (rec->unsourced) {
            rp_unsourced_finder_learn(rec->unsourced, rec->corr, &ex);
        }
        rc = rp__replay_vars_prepass(rec, &ex, err);
        if (rc) {
            rp_error_prefix(err, "%s:%llu", rec->path, (unsigned long long)rp_reader_line(rd));
            goto out;
        }
        /* Cookies the jar will supply need no secret: drop them as the replay will. */
        rc = rp__replay_normalise(&cn, &ex.req, err);
        if (rc) {
            goto out;
        }
        if (secrets) {
            if (rp_secrets_each(&ex.req, check_secret, secrets)) {
                char env[RP_MAX_SECRET_NAME + 32];
                rp_secret_env_name(secrets->missing, env, sizeof(env));
                rc = rp_error_set(err, RP_ENOSECRET, "%s:%llu: secret \"%s\" is not set: export %s",
                                  rec->path, (unsigned long long)rp_reader_line(rd),
                                  secrets->missing, env);
                goto out;
            }
        }
        /* After the request: a cookie a response sets serves later requests only. */
        rp__replay_note_set_cookies(&cn, &ex);
        rp__replay_cache_keep(rec, &ex);
    }
    if (!rec->origin) {
        rc = rp_error_set(err, RP_EFORMAT, "%s: the recording has no exchanges", rec->path);
        goto out;
    }
    rc = RP_OK;
out:
    rp__replay_cookie_names_cleanup(&cn);
    rp_exchange_cleanup(&ex);
    rp_reader_free(rd);
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
    rp_var_table_free(rec.vars);
    free(rec.origin);
    return rc;
}
