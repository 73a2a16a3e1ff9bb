/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the cross-tenant isolation probe (rp_replay_probe) against an upstream in the
 * test's own process: a libmicrohttpd daemon on 127.0.0.1 playing a small multi-tenant API
 * (log-in sets a session cookie and gives a CSRF token; things get ids from one counter shared
 * by all tenants, from 100). Its answer to a read by another tenant's session is chosen per
 * test: isolated (404), leaky (200 with the thing), a denial that echoes the URL, and a denial
 * that spills the owner's token. The recording is tests/data/probe/things.jsonl: log-in,
 * create thing 41, read it, list, search ?thing_id=41 — so two reads carry a given value.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include <reprise/replay.h>

#include "helpers.h"

#define MAX_SEEN    32
#define MAX_THINGS  8
#define MAX_PROBES  8
#define MAX_TENANTS 4

enum mode { ISOLATED, LEAKY, ECHO, SPILL };

/* ----- the upstream ----------------------------------------------------------------------- */

struct upstream {
    struct MHD_Daemon *d;
    unsigned port;
    enum mode mode;
    pthread_mutex_t mu;
    char seen[MAX_SEEN][160]; /* "METHOD path [thing_id=N] sid=S csrf=C" of each request */
    size_t n_seen;
    char tenants[MAX_TENANTS][64]; /* tenant i logged in and holds csrf token i + 1 */
    size_t n_tenants;
    char owner[MAX_THINGS][64]; /* thing 100 + i belongs to owner[i] */
    size_t n_things;
};

static int tenant_no(struct upstream *up, const char *t)
{
    for (size_t i = 0; t && i < up->n_tenants; i++) {
        if (strcmp(up->tenants[i], t) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
                             const char *cookie)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (cookie) {
        MHD_add_response_header(r, "Set-Cookie", cookie);
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* A read of thing id in path tenant p by the session of tenant s (-1: none). */
static enum MHD_Result read_thing(struct upstream *up, struct MHD_Connection *c, const char *url,
                                  const char *p, int s, unsigned long id)
{
    char body[256];
    size_t k = id >= 100 ? id - 100 : MAX_THINGS;
    const char *owner = k < up->n_things ? up->owner[k] : NULL;
    if (s < 0) {
        return reply(c, 401, "{\"error\":\"not logged in\"}", NULL);
    }
    bool mine = strcmp(up->tenants[s], p) == 0 && owner && strcmp(owner, p) == 0;
    if (!mine && up->mode == LEAKY && owner) {
        snprintf(body, sizeof(body), "{\"id\":%lu,\"owner\":\"%s\"}", id, owner);
        return reply(c, 200, body, NULL);
    }
    if (!mine && up->mode == ECHO) {
        snprintf(body, sizeof(body), "{\"error\":\"nothing at %s for %lu\"}", url, id);
        return reply(c, 404, body, NULL);
    }
    if (!mine && up->mode == SPILL && owner) {
        snprintf(body, sizeof(body), "{\"error\":\"forbidden\",\"owner_csrf\":\"tok%011d\"}",
                 tenant_no(up, owner) + 1);
        return reply(c, 403, body, NULL);
    }
    if (!mine) {
        return reply(c, 404, "{\"error\":\"not found\"}", NULL);
    }
    snprintf(body, sizeof(body), "{\"id\":%lu,\"name\":\"widget\"}", id);
    return reply(c, 200, body, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    struct upstream *up = cls;
    if (!*con_cls) {
        *con_cls = up; /* the body, if any, comes next */
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    const char *sid = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "sid");
    const char *csrf = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF");
    const char *qid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "thing_id");
    const char *key = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "key");
    pthread_mutex_lock(&up->mu);
    if (up->n_seen < MAX_SEEN) {
        char q[96] = "";
        if (qid) {
            snprintf(q, sizeof(q), " thing_id=%s", qid);
        }
        if (key) {
            snprintf(q + strlen(q), sizeof(q) - strlen(q), " key=%s", key);
        }
        snprintf(up->seen[up->n_seen++], sizeof(up->seen[0]), "%s %s%s sid=%s csrf=%s", method, url,
                 q, sid ? sid : "-", csrf ? csrf : "-");
    }
    enum MHD_Result ret;
    char p[64] = "", rest[64] = "", body[128], cookie[128];
    /* /t/TENANT/REST */
    if (sscanf(url, "/t/%63[^/]/%63s", p, rest) != 2) {
        ret = reply(c, 404, "{\"error\":\"no route\"}", NULL);
        goto out;
    }
    int s = tenant_no(up, sid);
    if (strcmp(method, "POST") == 0 && strcmp(rest, "login") == 0 && up->n_tenants < MAX_TENANTS) {
        snprintf(up->tenants[up->n_tenants++], sizeof(up->tenants[0]), "%s", p);
        snprintf(body, sizeof(body), "{\"csrf\":\"tok%011zu\"}", up->n_tenants);
        snprintf(cookie, sizeof(cookie), "sid=%s; Path=/", p);
        ret = reply(c, 200, body, cookie);
    } else if (strcmp(method, "POST") == 0 && strcmp(rest, "things") == 0 && s >= 0 &&
               up->n_things < MAX_THINGS) {
        char want[32];
        snprintf(want, sizeof(want), "tok%011d", s + 1);
        if (!csrf || strcmp(csrf, want) != 0) {
            ret = reply(c, 403, "{\"error\":\"csrf\"}", NULL);
            goto out;
        }
        snprintf(up->owner[up->n_things++], sizeof(up->owner[0]), "%s", p);
        snprintf(body, sizeof(body), "{\"id\":%zu,\"name\":\"widget\"}", 99 + up->n_things);
        ret = reply(c, 201, body, NULL);
    } else if (strncmp(rest, "things/", 7) == 0) {
        ret = read_thing(up, c, url, p, s, strtoul(rest + 7, NULL, 10));
    } else if (strcmp(rest, "search") == 0 && qid) {
        ret = read_thing(up, c, url, p, s, strtoul(qid, NULL, 10));
    } else if (strcmp(rest, "things") == 0 && s >= 0 && strcmp(up->tenants[s], p) == 0) {
        size_t n = (size_t)snprintf(body, sizeof(body), "{\"things\":[");
        for (size_t i = 0; i < up->n_things && n < sizeof(body) - 40; i++) {
            if (strcmp(up->owner[i], p) == 0) {
                n += (size_t)snprintf(body + n, sizeof(body) - n, "%s{\"id\":%zu}",
                                      body[n - 1] == '[' ? "" : ",", 100 + i);
            }
        }
        snprintf(body + n, sizeof(body) - n, "]}");
        ret = reply(c, 200, body, NULL);
    } else {
        ret = reply(c, 404, "{\"error\":\"no route\"}", NULL);
    }
out:
    pthread_mutex_unlock(&up->mu);
    return ret;
}

static void upstream_start(struct upstream *up, enum mode mode)
{
    memset(up, 0, sizeof(*up));
    up->mode = mode;
    pthread_mutex_init(&up->mu, NULL);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    up->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                             NULL, NULL, on_request, up, MHD_OPTION_SOCK_ADDR,
                             (struct sockaddr *)&sa, MHD_OPTION_END);
    cr_assert_not_null(up->d, "cannot start the upstream on 127.0.0.1");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(up->d, MHD_DAEMON_INFO_BIND_PORT);
    cr_assert(info && info->port, "the upstream has no port");
    up->port = info->port;
}

/* ----- the probe's side -------------------------------------------------------------------- */

struct probed {
    uint64_t seq;
    enum rp_probe_outcome outcome;
    unsigned status;
    char url[160];
    char session_a[32], session_b[32];
    char leaked[128]; /* the values, space-separated */
};

struct fx {
    struct upstream up;
    char target[64];
    char *dir;
    char *path;
    size_t n_steps; /* A's and B's own steps */
    struct probed pr[MAX_PROBES];
    size_t n_pr;
};

static void on_step(void *ud, const struct rp_replay_event *ev)
{
    struct fx *fx = ud;
    cr_expect_eq(ev->status, RP_REPLAY_DONE, "step %s #%llu: %s", ev->session,
                 (unsigned long long)ev->recorded->seq, ev->message ? ev->message : "");
    fx->n_steps++;
}

static void on_probe(void *ud, const struct rp_probe_result *res)
{
    struct fx *fx = ud;
    cr_assert_lt(fx->n_pr, MAX_PROBES);
    struct probed *p = &fx->pr[fx->n_pr++];
    p->seq = res->seq;
    p->outcome = res->outcome;
    p->status = res->live->resp.status;
    const char *u = strstr(res->live->req.url, "/t/");
    snprintf(p->url, sizeof(p->url), "%s", u ? u : res->live->req.url);
    snprintf(p->session_a, sizeof(p->session_a), "%s", res->session_a);
    snprintf(p->session_b, sizeof(p->session_b), "%s", res->session_b);
    for (size_t i = 0; i < res->n_leaked; i++) {
        size_t n = strlen(p->leaked);
        snprintf(p->leaked + n, sizeof(p->leaked) - n, "%s%s", i ? " " : "", res->leaked[i]);
    }
}

/* The secrets of the tests: only apikey is set. */
static const char *secret(void *ud, const char *name)
{
    (void)ud;
    return strcmp(name, "apikey") == 0 ? "k-live" : NULL;
}

static void fx_start(struct fx *fx, enum mode mode, const char *rec)
{
    memset(fx, 0, sizeof(*fx));
    upstream_start(&fx->up, mode);
    snprintf(fx->target, sizeof(fx->target), "http://127.0.0.1:%u", fx->up.port);
    fx->dir = tmp_dir();
    char src[512];
    snprintf(src, sizeof(src), "%s/probe/%s.jsonl", REPRISE_TEST_DATA, rec);
    fx->path = path_in(fx->dir, "rec.jsonl.gz");
    cr_assert_eq(gzip_file(src, fx->path), 0, "cannot gzip %s", src);
}

static void fx_stop(struct fx *fx)
{
    MHD_stop_daemon(fx->up.d);
    pthread_mutex_destroy(&fx->up.mu);
    free(fx->path);
    rm_tree(fx->dir);
}

/* Probes the fixture's recording with run id "r" (tenants acme-r-1 and acme-r-2), and the
 * tenant rule from=to when from is not NULL; returns the code, the leaks in *leaks. */
static rp_code probe(struct fx *fx, const char *from, const char *to, uint64_t *leaks,
                     struct rp_error *err)
{
    struct rp_replay_opts o = {
        .target = fx->target,
        .run_id = "r",
        .secret = secret,
        .on_result = on_step,
        .ud = fx,
    };
    struct rp_replay *r = NULL;
    cr_assert_eq(rp_replay_new(&o, &r, err), RP_OK, "%s", err->msg);
    if (from) {
        cr_assert_eq(rp_replay_tenant(r, from, to, err), RP_OK, "%s", err->msg);
    }
    rp_replay_add_recording(r, fx->path);
    rp_code rc = rp_replay_probe(r, on_probe, fx, leaks, err);
    rp_replay_free(r);
    return rc;
}

/* ----- tests -------------------------------------------------------------------------------- */

Test(probe, an_isolated_server_denies_both_reads_sent_with_a_url_and_b_credentials)
{
    struct fx fx;
    fx_start(&fx, ISOLATED, "things");
    uint64_t leaks = 99;
    struct rp_error err = {0};
    cr_assert_eq(probe(&fx, NULL, NULL, &leaks, &err), RP_OK, "%s", err.msg);
    cr_expect_eq(leaks, 0);
    cr_expect_eq(fx.n_steps, 10, "A's five steps and B's five");

    /* A made thing 100 and got token 1; B made 101 and got token 2. The two reads carrying a
     * given value (#3 in the path, #5 in the query) went again as B: B's cookie and CSRF
     * header, A's path and query. The list (#4) and the writes were not probed. */
    cr_assert_eq(fx.up.n_seen, 12);
    cr_expect_str_eq(fx.up.seen[2], "GET /t/acme-r-1/things/100 sid=acme-r-1 csrf=tok00000000001");
    cr_expect_str_eq(fx.up.seen[7], "GET /t/acme-r-2/things/101 sid=acme-r-2 csrf=tok00000000002");
    cr_expect_str_eq(fx.up.seen[10], "GET /t/acme-r-1/things/100 sid=acme-r-2 csrf=tok00000000002");
    cr_expect_str_eq(fx.up.seen[11], "GET /t/acme-r-1/search thing_id=100 sid=acme-r-2 csrf=-");

    cr_assert_eq(fx.n_pr, 2);
    cr_expect_eq(fx.pr[0].seq, 3);
    cr_expect_eq(fx.pr[0].outcome, RP_PROBE_DENIED);
    cr_expect_eq(fx.pr[0].status, 404);
    cr_expect_str_eq(fx.pr[0].url, "/t/acme-r-1/things/100");
    cr_expect_str_eq(fx.pr[0].session_a, "things#1");
    cr_expect_str_eq(fx.pr[0].session_b, "things#2");
    cr_expect_str_eq(fx.pr[0].leaked, "");
    cr_expect_eq(fx.pr[1].seq, 5);
    cr_expect_eq(fx.pr[1].outcome, RP_PROBE_DENIED);
    cr_expect_str_eq(fx.pr[1].url, "/t/acme-r-1/search?thing_id=100");
    fx_stop(&fx);
}

Test(probe, a_read_answered_with_a_object_is_a_leak_naming_its_values)
{
    struct fx fx;
    fx_start(&fx, LEAKY, "things");
    uint64_t leaks = 0;
    struct rp_error err = {0};
    cr_assert_eq(probe(&fx, NULL, NULL, &leaks, &err), RP_OK, "%s", err.msg);
    cr_expect_eq(leaks, 2);
    cr_assert_eq(fx.n_pr, 2);
    for (size_t i = 0; i < 2; i++) {
        cr_expect_eq(fx.pr[i].outcome, RP_PROBE_LEAK, "probe %zu", i);
        cr_expect_eq(fx.pr[i].status, 200, "probe %zu", i);
        /* {"id":100,"owner":"acme-r-1"}: A's tenant and A's id; not B's 101, nor the "1" that
         * ends acme-r-1. */
        cr_expect_str_eq(fx.pr[i].leaked, "acme-r-1 100", "probe %zu", i);
    }
    fx_stop(&fx);
}

Test(probe, a_denial_that_repeats_the_url_asked_for_is_no_leak)
{
    struct fx fx;
    fx_start(&fx, ECHO, "things");
    uint64_t leaks = 99;
    struct rp_error err = {0};
    cr_assert_eq(probe(&fx, NULL, NULL, &leaks, &err), RP_OK, "%s", err.msg);
    cr_expect_eq(leaks, 0);
    cr_assert_eq(fx.n_pr, 2);
    cr_expect_eq(fx.pr[0].outcome, RP_PROBE_DENIED);
    cr_expect_eq(fx.pr[1].outcome, RP_PROBE_DENIED);
    fx_stop(&fx);
}

Test(probe, a_denial_holding_another_of_a_values_is_a_leak)
{
    struct fx fx;
    fx_start(&fx, SPILL, "things");
    uint64_t leaks = 0;
    struct rp_error err = {0};
    cr_assert_eq(probe(&fx, NULL, NULL, &leaks, &err), RP_OK, "%s", err.msg);
    cr_expect_eq(leaks, 2);
    cr_assert_eq(fx.n_pr, 2);
    cr_expect_eq(fx.pr[0].outcome, RP_PROBE_LEAK);
    cr_expect_eq(fx.pr[0].status, 403);
    cr_expect_str_eq(fx.pr[0].leaked, "tok00000000001", "A's CSRF token, not in the URL");
    fx_stop(&fx);
}

Test(probe, a_recording_without_a_tenant_is_refused_before_anything_is_sent)
{
    struct fx fx;
    fx_start(&fx, ISOLATED, "notenant");
    uint64_t leaks = 99;
    struct rp_error err = {0};
    cr_assert_eq(probe(&fx, NULL, NULL, &leaks, &err), RP_EUSAGE);
    cr_expect(strstr(err.msg, "declares no tenant, so the probe cannot make two"), "%s", err.msg);
    cr_expect_eq(fx.up.n_seen, 0);
    cr_expect_eq(fx.n_pr, 0);
    cr_expect_eq(leaks, 99, "out-parameter untouched on failure");
    fx_stop(&fx);
}

Test(probe, a_tenant_rule_giving_both_sessions_one_tenant_is_refused)
{
    struct fx fx;
    fx_start(&fx, ISOLATED, "things");
    uint64_t leaks = 0;
    struct rp_error err = {0};
    cr_assert_eq(probe(&fx, "acme", "fixed", &leaks, &err), RP_EUSAGE);
    cr_expect_str_eq(err.msg, "--tenant acme=fixed: the probe needs two tenants; put {session} "
                              "in the template");
    cr_expect_eq(fx.up.n_seen, 0);
    fx_stop(&fx);
}

Test(probe, a_tenant_rule_with_session_makes_the_two_tenants)
{
    struct fx fx;
    fx_start(&fx, LEAKY, "notenant");
    uint64_t leaks = 0;
    struct rp_error err = {0};
    cr_assert_eq(probe(&fx, "acme", "t{session}", &leaks, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(fx.n_pr, 2);
    cr_expect_str_eq(fx.pr[0].url, "/t/t1/things/100");
    cr_expect_str_eq(fx.pr[0].leaked, "t1 100");
    cr_expect_eq(leaks, 2);
    fx_stop(&fx);
}

Test(probe, a_secret_in_a_url_is_filled_on_the_wire_and_kept_a_placeholder_in_the_report)
{
    struct fx fx;
    fx_start(&fx, ISOLATED, "secretkey");
    uint64_t leaks = 99;
    struct rp_error err = {0};
    cr_assert_eq(probe(&fx, NULL, NULL, &leaks, &err), RP_OK, "%s", err.msg);
    cr_expect_eq(leaks, 0);
    cr_assert_eq(fx.up.n_seen, 12);
    cr_expect_str_eq(fx.up.seen[10],
                     "GET /t/acme-r-1/things/100 key=k-live sid=acme-r-2 csrf=tok00000000002");
    cr_assert_eq(fx.n_pr, 2);
    cr_expect_str_eq(fx.pr[0].url, "/t/acme-r-1/things/100?key={{secret:apikey}}");
    fx_stop(&fx);
}
