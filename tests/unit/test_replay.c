/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the replay engine against an upstream in the test's own process: a
 * libmicrohttpd daemon on 127.0.0.1 (port chosen by the kernel) that notes every request it
 * sees (method, path, Cookie, run header, Authorization, body, arrival time, which sessions
 * were in flight) and answers by path. Recordings are hand-written in tests/data/replay/ and
 * gzipped with zlib at test time.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include <reprise/replay.h>

#include "helpers.h"
#include "replay/internal.h"

#define MAX_SEEN   64
#define MAX_EVENTS 64

/* ----- the upstream ----------------------------------------------------------------------- */

struct seen {
    char method[16];
    char path[256]; /* path and query, as the request line had them */
    char cookie[256];
    char run[64];
    char auth[128];
    char body[256];
    int64_t at_us; /* monotonic arrival time */
};

struct upstream {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t mu;
    struct seen seen[MAX_SEEN];
    size_t n_seen;
    /* Sessions between their first request's arrival and the answer to their last (step 3 of
     * steps.jsonl), by session number; and the most ever at once. */
    bool in_flight[MAX_SEEN];
    unsigned now_in_flight, max_in_flight;
};

/* Per-request state while its body arrives. */
struct pending {
    char body[256];
    size_t len;
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void copy_value(char *dst, size_t dstsz, const char *src)
{
    snprintf(dst, dstsz, "%s", src ? src : "");
}

/* The session number in a rewritten tenant "acme-RUN-N" at the start of the path, or 0. */
static unsigned session_of(const char *path)
{
    const char *p = strstr(path, "/acme-");
    if (!p) {
        return 0;
    }
    const char *dash = strchr(p + 6, '-');
    return dash ? (unsigned)strtoul(dash + 1, NULL, 10) : 0;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

/* Notes the request, keeps the session bookkeeping, and picks the answer. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct upstream *up = cls;
    struct pending *pd = *con_cls;
    if (!pd) {
        if (strstr(url, "/hangup")) {
            return MHD_NO; /* close the connection without an answer */
        }
        pd = calloc(1, sizeof(*pd));
        *con_cls = pd;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t room = sizeof(pd->body) - 1 - pd->len;
        size_t take = *upload_data_size < room ? *upload_data_size : room;
        memcpy(pd->body + pd->len, upload_data, take);
        pd->len += take;
        *upload_data_size = 0;
        return MHD_YES;
    }

    char path[256];
    const char *query = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "shop");
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "v");
    if (query) {
        snprintf(path, sizeof(path), "%s?shop=%s", url, query);
    } else if (v) {
        snprintf(path, sizeof(path), "%s?v=%s", url, v);
    } else {
        snprintf(path, sizeof(path), "%s", url);
    }

    pthread_mutex_lock(&up->mu);
    if (up->n_seen < MAX_SEEN) {
        struct seen *s = &up->seen[up->n_seen++];
        copy_value(s->method, sizeof(s->method), method);
        copy_value(s->path, sizeof(s->path), path);
        copy_value(s->cookie, sizeof(s->cookie),
                   MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie"));
        copy_value(s->run, sizeof(s->run),
                   MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Reprise-Run"));
        copy_value(s->auth, sizeof(s->auth),
                   MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"));
        copy_value(s->body, sizeof(s->body), pd->body);
        s->at_us = mono_us();
    }
    unsigned sno = session_of(path);
    if (sno && sno < MAX_SEEN && strstr(path, "/step/")) {
        if (ends_with(path, "/step/1") && !up->in_flight[sno]) {
            up->in_flight[sno] = true;
            up->now_in_flight++;
            if (up->now_in_flight > up->max_in_flight) {
                up->max_in_flight = up->now_in_flight;
            }
        }
        /* Marked done before the answer goes: the client can start another session only
         * after it has the answer, so the count never runs ahead of the engine's. */
        if (ends_with(path, "/step/3") && up->in_flight[sno]) {
            up->in_flight[sno] = false;
            up->now_in_flight--;
        }
    }
    pthread_mutex_unlock(&up->mu);

    static const char ok[] = "ok";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof(ok) - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
    if (ends_with(path, "/login")) {
        MHD_add_response_header(r, "Set-Cookie", "sid=live123; Path=/");
    }
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static void upstream_start(struct upstream *up)
{
    memset(up, 0, sizeof(*up));
    pthread_mutex_init(&up->mu, NULL);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    up->d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                         NULL, on_request, up, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    cr_assert_not_null(up->d, "cannot start the upstream on 127.0.0.1");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(up->d, MHD_DAEMON_INFO_BIND_PORT);
    cr_assert(info && info->port, "the upstream has no port");
    up->port = info->port;
}

static void upstream_stop(struct upstream *up)
{
    MHD_stop_daemon(up->d);
    pthread_mutex_destroy(&up->mu);
}

static char *target_of(const struct upstream *up, const char *prefix)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "http://127.0.0.1:%u%s", up->port, prefix);
    return strdup(buf);
}

/* ----- the engine's side ------------------------------------------------------------------ */

struct event {
    char session[64];
    uint64_t seq;
    enum rp_replay_status status;
    rp_code code;
    unsigned http_status;
    char url[256];
    char auth[128]; /* the live request's Authorization, as reported */
};

struct events {
    struct event v[MAX_EVENTS];
    size_t n;
};

static void on_result(void *ud, const struct rp_replay_event *ev)
{
    struct events *es = ud;
    cr_assert_lt(es->n, MAX_EVENTS);
    struct event *e = &es->v[es->n++];
    copy_value(e->session, sizeof(e->session), ev->session);
    e->seq = ev->recorded->seq;
    e->status = ev->status;
    e->code = ev->code;
    e->http_status = ev->live->has_response ? ev->live->resp.status : 0;
    copy_value(e->url, sizeof(e->url), ev->live->req.url);
    const struct rp_header *h = rp_headers_get(&ev->live->req.headers, "Authorization", NULL);
    copy_value(e->auth, sizeof(e->auth), h ? h->value : NULL);
}

/* A session's end, noted among the events as seq 0. */
static void on_session_end(void *ud, const char *session)
{
    struct events *es = ud;
    cr_assert_lt(es->n, MAX_EVENTS);
    struct event *e = &es->v[es->n++];
    memset(e, 0, sizeof(*e));
    copy_value(e->session, sizeof(e->session), session);
}

/* A fixture gzipped into a fresh directory; *dir is removed by the caller with rm_tree(). */
static char *recording(const char *name, char **dir)
{
    char src[512], file[128];
    snprintf(src, sizeof(src), "%s/replay/%s.jsonl", REPRISE_TEST_DATA, name);
    snprintf(file, sizeof(file), "%s.jsonl.gz", name);
    if (!*dir) {
        *dir = tmp_dir();
    }
    char *path = path_in(*dir, file);
    cr_assert_eq(gzip_file(src, path), 0, "cannot gzip %s", src);
    return path;
}

static struct rp_replay_opts base_opts(const char *target, struct events *es)
{
    struct rp_replay_opts o = {
        .target = target,
        .run_id = "r1",
        .run_header = "X-Reprise-Run",
        .on_result = on_result,
        .ud = es,
    };
    return o;
}

static const char *no_secret(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return NULL;
}

static const char *table_secret(void *ud, const char *name)
{
    (void)ud;
    return strcmp(name, "authorization") == 0 ? "s3cret" : NULL;
}

/* Replays the recordings with opts; returns the run's code, its message in msg. */
static rp_code replay(const struct rp_replay_opts *o, const char *const *paths, size_t n, char *msg,
                      size_t msgsz)
{
    struct rp_replay *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_replay_new(o, &r, &err), RP_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        rp_replay_add_recording(r, paths[i]);
    }
    rp_code rc = rp_replay_run(r, &err);
    if (msg) {
        snprintf(msg, msgsz, "%s", rc ? err.msg : "");
    }
    rp_replay_free(r);
    return rc;
}

/* ----- tests ------------------------------------------------------------------------------ */

/* What most tests start with: an upstream, a target on it, one fixture recording, the events. */
struct fx {
    struct upstream up;
    char *target;
    char *dir;
    char *path;
    struct events es;
    struct rp_replay_opts o;
};

static void fx_start(struct fx *fx, const char *rec)
{
    memset(fx, 0, sizeof(*fx));
    upstream_start(&fx->up);
    fx->target = target_of(&fx->up, "");
    fx->path = recording(rec, &fx->dir);
    fx->o = base_opts(fx->target, &fx->es);
}

static void fx_stop(struct fx *fx)
{
    upstream_stop(&fx->up);
    free(fx->path);
    free(fx->target);
    rm_tree(fx->dir);
}

Test(replay, tenant_is_rewritten_in_path_query_and_body_and_run_header_is_sent)
{
    struct fx fx;
    fx_start(&fx, "tenant");

    cr_assert_eq(replay(&fx.o, (const char *const *)&fx.path, 1, NULL, 0), RP_OK);

    cr_assert_eq(fx.up.n_seen, 1);
    cr_expect_str_eq(fx.up.seen[0].method, "POST");
    cr_expect_str_eq(fx.up.seen[0].path, "/acme-r1-1/orders?shop=acme-r1-1");
    cr_expect_str_eq(fx.up.seen[0].body, "{\"tenant\":\"acme-r1-1\",\"item\":1}");
    cr_expect_str_eq(fx.up.seen[0].run, "r1");
    cr_assert_eq(fx.es.n, 1);
    cr_expect_str_eq(fx.es.v[0].session, "tenant#1");
    cr_expect_eq(fx.es.v[0].status, RP_REPLAY_DONE);
    cr_expect_eq(fx.es.v[0].http_status, 200);

    fx_stop(&fx);
}

Test(replay, split_url_lower_cases_the_origin_and_keeps_path_and_query)
{
    char origin[64];
    const char *rest = NULL;
    size_t rest_len = 0;
    const char *url = "HTTPS://Shop.Example:8443/A/b?q=1#frag";
    cr_assert(rp__replay_split_url(url, origin, sizeof(origin), &rest, &rest_len));
    cr_expect_str_eq(origin, "https://shop.example:8443");
    cr_expect_eq(rest_len, 8); /* the fragment is dropped */
    cr_expect_eq(memcmp(rest, "/A/b?q=1", 8), 0);
    cr_assert(rp__replay_split_url("http://h", origin, sizeof(origin), &rest, &rest_len));
    cr_expect_str_eq(origin, "http://h");
    cr_expect_eq(rest_len, 0);
    cr_expect_not(rp__replay_split_url("/only/a/path", origin, sizeof(origin), &rest, &rest_len));
    cr_expect_not(rp__replay_split_url("http:///p", origin, sizeof(origin), &rest, &rest_len));
    cr_expect_not(rp__replay_split_url("/x?u=http://h", origin, sizeof(origin), &rest, &rest_len));
}

Test(replay, normalise_drops_the_cookies_a_recorded_response_set)
{
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.has_response = true;
    cr_assert_eq(rp_headers_add(&ex.resp.headers, "Set-Cookie", 10, " sid=rec1; Path=/", 17, NULL),
                 RP_OK);
    cr_assert_eq(rp_headers_add(&ex.resp.headers, "Set-Cookie", 10, "noequals; Path=/", 16, NULL),
                 RP_OK);
    struct rp__replay_cookie_names cn = {0};
    rp__replay_note_set_cookies(&cn, &ex);
    cr_assert_eq(cn.n, 1);
    cr_expect_str_eq(cn.v[0], "sid");

    const char *cookie = "theme=dark; sid =rec1;; lang=en ";
    cr_assert_eq(rp_headers_add(&ex.req.headers, "Cookie", 6, cookie, strlen(cookie), NULL), RP_OK);
    cr_assert_eq(rp__replay_normalise(&cn, &ex.req, NULL), RP_OK);
    const struct rp_header *h = rp_headers_get(&ex.req.headers, "Cookie", NULL);
    cr_assert_not_null(h);
    cr_expect_eq(h->value_len, 19);
    cr_expect_eq(memcmp(h->value, "theme=dark; lang=en", 19), 0);

    rp__replay_cookie_names_cleanup(&cn);
    rp_exchange_cleanup(&ex);
}

Test(replay, live_set_cookie_replaces_recorded_cookie_and_others_are_kept)
{
    struct fx fx;
    fx_start(&fx, "cookies");

    cr_assert_eq(replay(&fx.o, (const char *const *)&fx.path, 1, NULL, 0), RP_OK);

    cr_assert_eq(fx.up.n_seen, 3);
    /* Before any response: only the cookie the browser brought. */
    cr_expect_str_eq(fx.up.seen[0].cookie, "theme=dark");
    cr_expect_str_eq(fx.up.seen[0].body, "user=ann");
    /* After the login: the live session cookie from the jar, never the recorded one. */
    for (size_t i = 1; i < 3; i++) {
        cr_expect(strstr(fx.up.seen[i].cookie, "sid=live123") != NULL, "step %zu: Cookie: %s",
                  i + 1, fx.up.seen[i].cookie);
        cr_expect(strstr(fx.up.seen[i].cookie, "theme=dark") != NULL, "step %zu: Cookie: %s", i + 1,
                  fx.up.seen[i].cookie);
        cr_expect(strstr(fx.up.seen[i].cookie, "recorded1") == NULL, "step %zu: Cookie: %s", i + 1,
                  fx.up.seen[i].cookie);
    }

    fx_stop(&fx);
}

Test(replay, streaming_and_cached_recordings_send_the_same_requests)
{
    static const char *const want_path[] = {"/acme-r1-1/login", "/acme-r1-1/account",
                                            "/acme-r1-1/orders"};
    static const char *const want_method[] = {"POST", "GET", "GET"};
    for (int stream = 0; stream < 2; stream++) {
        struct fx fx;
        fx_start(&fx, "cookies");
        fx.o.stream = stream;

        cr_assert_eq(replay(&fx.o, (const char *const *)&fx.path, 1, NULL, 0), RP_OK);

        cr_assert_eq(fx.up.n_seen, 3, "stream=%d", stream);
        for (size_t i = 0; i < 3; i++) {
            cr_expect_str_eq(fx.up.seen[i].method, want_method[i], "stream=%d", stream);
            cr_expect_str_eq(fx.up.seen[i].path, want_path[i], "stream=%d", stream);
            cr_expect_str_eq(fx.up.seen[i].run, "r1", "stream=%d", stream);
        }
        cr_expect_str_eq(fx.up.seen[0].cookie, "theme=dark", "stream=%d", stream);
        cr_expect_str_eq(fx.up.seen[0].body, "user=ann", "stream=%d", stream);
        cr_expect(strstr(fx.up.seen[2].cookie, "recorded1") == NULL, "stream=%d: Cookie: %s",
                  stream, fx.up.seen[2].cookie);
        cr_expect(strstr(fx.up.seen[2].cookie, "sid=live123") != NULL, "stream=%d: Cookie: %s",
                  stream, fx.up.seen[2].cookie);
        cr_assert_eq(fx.es.n, 3);
        for (size_t i = 0; i < 3; i++) {
            cr_expect_eq(fx.es.v[i].seq, i + 1);
            cr_expect_eq(fx.es.v[i].status, RP_REPLAY_DONE);
        }

        fx_stop(&fx);
    }
}

Test(replay, more_sessions_than_concurrency_wait_their_turn)
{
    struct fx fx;
    fx_start(&fx, "steps");
    fx.o.sessions = 6;
    fx.o.concurrency = 2;
    fx.o.on_session_end = on_session_end;

    cr_assert_eq(replay(&fx.o, (const char *const *)&fx.path, 1, NULL, 0), RP_OK);

    cr_assert_eq(fx.up.n_seen, 18);
    cr_expect_eq(fx.es.n, 18 + 6);
    /* Each session ends once, after its three results. */
    for (size_t i = 0; i < fx.es.n; i++) {
        if (fx.es.v[i].seq != 0) {
            continue;
        }
        unsigned before = 0, after = 0, ends = 0;
        for (size_t j = 0; j < fx.es.n; j++) {
            if (strcmp(fx.es.v[j].session, fx.es.v[i].session) == 0) {
                before += j < i && fx.es.v[j].seq != 0;
                after += j > i && fx.es.v[j].seq != 0;
                ends += fx.es.v[j].seq == 0;
            }
        }
        cr_expect_eq(before, 3, "%s ended after %u results", fx.es.v[i].session, before);
        cr_expect_eq(after, 0, "%s had %u results after its end", fx.es.v[i].session, after);
        cr_expect_eq(ends, 1, "%s ended %u times", fx.es.v[i].session, ends);
    }
    cr_expect_leq(fx.up.max_in_flight, 2, "%u sessions were in flight at once",
                  fx.up.max_in_flight);
    cr_expect_geq(fx.up.max_in_flight, 1);
    cr_expect_eq(fx.up.now_in_flight, 0);
    /* Each session's steps arrived in order, and every session ran. */
    for (unsigned sno = 1; sno <= 6; sno++) {
        unsigned next = 1;
        for (size_t i = 0; i < fx.up.n_seen; i++) {
            if (session_of(fx.up.seen[i].path) == sno) {
                char want[64];
                snprintf(want, sizeof(want), "/acme-r1-%u/step/%u", sno, next);
                cr_expect_str_eq(fx.up.seen[i].path, want);
                next++;
            }
        }
        cr_expect_eq(next, 4, "session %u sent %u steps", sno, next - 1);
    }

    fx_stop(&fx);
}

Test(replay, rate_spreads_requests_over_time)
{
    struct fx fx;
    fx_start(&fx, "rate");
    fx.o.rate = 10; /* five requests: at least 0.4 s from the first to the last */

    cr_assert_eq(replay(&fx.o, (const char *const *)&fx.path, 1, NULL, 0), RP_OK);

    cr_assert_eq(fx.up.n_seen, 5);
    for (size_t i = 0; i < 5; i++) {
        char want[32];
        snprintf(want, sizeof(want), "/acme-r1-1/r/%zu", i + 1);
        cr_expect_str_eq(fx.up.seen[i].path, want);
    }
    /* Only a lower bound, with a generous slack: a loaded machine may be slower, never
     * faster. */
    int64_t spread = fx.up.seen[4].at_us - fx.up.seen[0].at_us;
    cr_expect_geq(spread, 300000, "5 requests at 10/s arrived within %lld us", (long long)spread);

    fx_stop(&fx);
}

Test(replay, a_shard_runs_only_its_sessions_under_their_numbers_in_the_run)
{
    struct fx fx;
    fx_start(&fx, "steps");
    fx.o.sessions = 6;
    fx.o.concurrency = 2;
    fx.o.shard_index = 1; /* shard 2 of 4: sessions 2 and 6 of the run's 6 */
    fx.o.shard_count = 4;

    cr_assert_eq(replay(&fx.o, (const char *const *)&fx.path, 1, NULL, 0), RP_OK);

    cr_assert_eq(fx.up.n_seen, 6, "%zu requests", fx.up.n_seen);
    for (size_t i = 0; i < fx.up.n_seen; i++) {
        unsigned sno = session_of(fx.up.seen[i].path);
        cr_expect(sno == 2 || sno == 6, "%s is not shard 2's", fx.up.seen[i].path);
    }
    cr_assert_eq(fx.es.n, 6);
    for (size_t i = 0; i < fx.es.n; i++) {
        const char *hash = strrchr(fx.es.v[i].session, '#');
        cr_expect(hash && (strcmp(hash, "#2") == 0 || strcmp(hash, "#6") == 0), "%s",
                  fx.es.v[i].session);
    }
    fx_stop(&fx);
}

Test(replay, a_shards_rate_is_its_share_of_the_runs)
{
    struct fx fx;
    fx_start(&fx, "rate");
    fx.o.rate = 40; /* the run's; shard 1 of 4 sends at 10/s: five requests over 0.4 s at least */
    fx.o.shard_index = 0;
    fx.o.shard_count = 4;

    cr_assert_eq(replay(&fx.o, (const char *const *)&fx.path, 1, NULL, 0), RP_OK);

    cr_assert_eq(fx.up.n_seen, 5);
    int64_t spread = fx.up.seen[4].at_us - fx.up.seen[0].at_us;
    cr_expect_geq(spread, 300000, "5 requests at 40/4 per second arrived within %lld us",
                  (long long)spread);
    fx_stop(&fx);
}

Test(replay, a_shard_out_of_range_or_a_bad_run_id_is_a_usage_error)
{
    struct rp_replay_opts o = {.target = "http://127.0.0.1:9", .on_result = on_result};
    struct rp_replay *r = NULL;
    struct rp_error err = {0};
    o.shard_index = 4;
    o.shard_count = 4;
    cr_assert_eq(rp_replay_new(&o, &r, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "shard 5 of 4: want 1 <= I <= N <= 10000");
    o.shard_index = 1;
    o.shard_count = 0; /* not sharded: only index 0 */
    cr_assert_eq(rp_replay_new(&o, &r, &err), RP_EUSAGE);
    o.shard_index = 0;
    o.shard_count = 10001;
    cr_assert_eq(rp_replay_new(&o, &r, &err), RP_EUSAGE);
    o.shard_count = 2;
    o.run_id = "has space";
    cr_assert_eq(rp_replay_new(&o, &r, &err), RP_EUSAGE);
    cr_assert(strstr(err.msg, "run id 'has space'"), "%s", err.msg);
    o.run_id = "gh-123_4.5";
    cr_assert_eq(rp_replay_new(&o, &r, &err), RP_OK, "%s", err.msg);
    cr_assert_str_eq(rp_replay_run_id(r), "gh-123_4.5");
    rp_replay_free(r);
}

Test(replay, a_connection_closed_without_answer_stops_only_that_session)
{
    struct upstream up;
    upstream_start(&up);
    char *target = target_of(&up, "");
    char *dir = NULL;
    char *paths[2] = {recording("hangup", &dir), recording("steps", &dir)};
    struct events es = {0};
    struct rp_replay_opts o = base_opts(target, &es);
    o.concurrency = 2;
    o.timeout_ms = 20000;

    char msg[RP_ERROR_MSG_MAX];
    rp_code rc = replay(&o, (const char *const *)paths, 2, msg, sizeof(msg));
    cr_expect_eq(rc, RP_ETARGET, "run: %s (%s)", rp_code_name(rc), msg);

    /* hangup#1: step 1 answered, step 2 failed, step 3 not sent. steps#2: all three. */
    unsigned done = 0;
    bool saw_error = false, saw_skip = false;
    for (size_t i = 0; i < es.n; i++) {
        const struct event *e = &es.v[i];
        if (strcmp(e->session, "hangup#1") == 0) {
            if (e->seq == 1) {
                cr_expect_eq(e->status, RP_REPLAY_DONE);
            } else if (e->seq == 2) {
                cr_expect_eq(e->status, RP_REPLAY_ERROR);
                cr_expect_eq(e->code, RP_ETARGET, "code %s", rp_code_name(e->code));
                saw_error = true;
            } else {
                cr_expect_eq(e->status, RP_REPLAY_SKIPPED);
                saw_skip = true;
            }
        } else {
            cr_expect_str_eq(e->session, "steps#2");
            cr_expect_eq(e->status, RP_REPLAY_DONE);
            done++;
        }
    }
    cr_expect_eq(es.n, 6);
    cr_expect(saw_error && saw_skip);
    cr_expect_eq(done, 3);
    for (size_t i = 0; i < up.n_seen; i++) {
        cr_expect(strstr(up.seen[i].path, "/after") == NULL, "sent %s", up.seen[i].path);
    }

    upstream_stop(&up);
    free(paths[0]);
    free(paths[1]);
    free(target);
    rm_tree(dir);
}

Test(replay, another_host_is_skipped_unless_mapped)
{
    for (int mapped = 0; mapped < 2; mapped++) {
        struct upstream up;
        upstream_start(&up);
        char *target = target_of(&up, "");
        char *cdn = target_of(&up, "/cdn/");
        char *dir = NULL;
        char *path = recording("hosts", &dir);
        struct events es = {0};
        struct rp_replay_opts o = base_opts(target, &es);

        struct rp_replay *r = NULL;
        struct rp_error err = {0};
        cr_assert_eq(rp_replay_new(&o, &r, &err), RP_OK, "%s", err.msg);
        if (mapped) {
            cr_assert_eq(rp_replay_map_host(r, "CDN.test", cdn, &err), RP_OK, "%s", err.msg);
        }
        rp_replay_add_recording(r, path);
        cr_assert_eq(rp_replay_run(r, &err), RP_OK, "%s", err.msg);
        rp_replay_free(r);

        cr_assert_eq(es.n, 3);
        cr_expect_eq(es.v[0].status, RP_REPLAY_DONE);
        cr_expect_eq(es.v[2].status, RP_REPLAY_DONE);
        if (mapped) {
            cr_expect_eq(es.v[1].status, RP_REPLAY_DONE);
            cr_assert_eq(up.n_seen, 3);
            cr_expect_str_eq(up.seen[0].path, "/acme-r1-1/page");
            cr_expect_str_eq(up.seen[1].path, "/cdn/lib.js?v=2");
            cr_expect_str_eq(up.seen[2].path, "/acme-r1-1/done");
        } else {
            cr_expect_eq(es.v[1].status, RP_REPLAY_SKIPPED);
            cr_assert_eq(up.n_seen, 2);
            cr_expect_str_eq(up.seen[0].path, "/acme-r1-1/page");
            cr_expect_str_eq(up.seen[1].path, "/acme-r1-1/done");
        }

        upstream_stop(&up);
        free(path);
        free(cdn);
        free(target);
        rm_tree(dir);
    }
}

Test(replay, secret_is_sent_filled_and_reported_as_placeholder)
{
    struct fx fx;
    fx_start(&fx, "secret");
    fx.o.secret = table_secret;

    cr_assert_eq(replay(&fx.o, (const char *const *)&fx.path, 1, NULL, 0), RP_OK);

    cr_assert_eq(fx.up.n_seen, 1);
    cr_expect_str_eq(fx.up.seen[0].auth, "Bearer s3cret");
    cr_assert_eq(fx.es.n, 1);
    cr_expect_str_eq(fx.es.v[0].auth, "Bearer {{secret:authorization}}");

    fx_stop(&fx);
}

/* Regression: the message named the secret from a buffer rp_secrets_each had already freed
 * (`secret ""` or `secret "authoriz"`; ASan: heap-use-after-free). */
Test(replay, missing_secret_is_named_in_the_error_and_nothing_is_sent)
{
    struct fx fx;
    fx_start(&fx, "secret");
    fx.o.secret = no_secret;

    char msg[RP_ERROR_MSG_MAX];
    cr_assert_eq(replay(&fx.o, (const char *const *)&fx.path, 1, msg, sizeof(msg)), RP_ENOSECRET);

    char want[RP_ERROR_MSG_MAX + 64];
    snprintf(want, sizeof(want),
             "%s:2: secret \"authorization\" is not set: export REPRISE_SECRET_AUTHORIZATION",
             fx.path);
    cr_expect_str_eq(msg, want);
    cr_expect_eq(fx.up.n_seen, 0);
    cr_expect_eq(fx.es.n, 0);

    fx_stop(&fx);
}
