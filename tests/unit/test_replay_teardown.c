/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of replay --teardown (src/replay/teardown.c): the teardown recording replayed after
 * each session, in its tenant, with its cookie jar and its correlated values; after a failure
 * too; refused by the safety nets like any step; and after rp_replay_cancel(), within the
 * teardowns' time. Against an upstream on libmicrohttpd on 127.0.0.1.
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

#define MAX_SEEN   32
#define MAX_EVENTS 32

/* ----- the upstream: log-in sets sid=live1, an order is 5, /slow answers after 2 s ----------- */

struct seen {
    char method[16];
    char path[256];
    char cookie[128];
    char auth[128];
};

struct upstream {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t mu;
    struct seen seen[MAX_SEEN];
    size_t n_seen;
    /* Cancelled this many times when a /slow request arrives, so it is in flight then. */
    struct rp_replay *volatile cancel_on_slow;
    unsigned cancels;
};

static void copy_value(char *dst, size_t dstsz, const char *src)
{
    snprintf(dst, dstsz, "%s", src ? src : "");
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    struct upstream *up = cls;
    if (!*con_cls) {
        if (strstr(url, "/hangup")) {
            return MHD_NO; /* close the connection without an answer */
        }
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&up->mu);
    if (up->n_seen < MAX_SEEN) {
        struct seen *s = &up->seen[up->n_seen++];
        copy_value(s->method, sizeof(s->method), method);
        copy_value(s->path, sizeof(s->path), url);
        copy_value(s->cookie, sizeof(s->cookie),
                   MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie"));
        copy_value(s->auth, sizeof(s->auth),
                   MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"));
    }
    pthread_mutex_unlock(&up->mu);
    if (ends_with(url, "/slow")) {
        for (unsigned i = 0; up->cancel_on_slow && i < up->cancels; i++) {
            rp_replay_cancel(up->cancel_on_slow); /* sets a flag, as from a signal handler */
        }
        struct timespec two = {.tv_sec = 2};
        nanosleep(&two, NULL);
    }
    static const char ok[] = "ok";
    static const char order[] = "{\"id\":5}";
    static const char token[] = "{\"token\":\"livetok9\"}";
    bool is_order = strcmp(method, "POST") == 0 && ends_with(url, "/orders");
    bool is_login = ends_with(url, "/login");
    const char *body = is_order ? order : is_login ? token : ok;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (is_order || is_login) {
        MHD_add_response_header(r, "Content-Type", "application/json");
    }
    if (ends_with(url, "/login")) {
        MHD_add_response_header(r, "Set-Cookie", "sid=live1; Path=/");
    }
    enum MHD_Result ret = MHD_queue_response(c, is_order ? 201 : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static void upstream_start(struct upstream *up)
{
    memset(up, 0, sizeof(*up));
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

static void upstream_stop(struct upstream *up)
{
    MHD_stop_daemon(up->d);
    pthread_mutex_destroy(&up->mu);
}

/* The requests the upstream saw whose path ends in tail. */
static size_t count_seen(struct upstream *up, const char *tail)
{
    size_t n = 0;
    for (size_t i = 0; i < up->n_seen; i++) {
        n += ends_with(up->seen[i].path, tail);
    }
    return n;
}

/* ----- the engine's side ------------------------------------------------------------------ */

struct event {
    uint64_t seq;
    enum rp_replay_status status;
    rp_code code;
    bool teardown;
    char recording[64]; /* its file name */
};

struct run {
    struct event v[MAX_EVENTS];
    size_t n;
    struct rp_replay *r;
    uint64_t cancel_after; /* cancel once main step seq is answered (0: never) */
};

static void on_result(void *ud, const struct rp_replay_event *ev)
{
    struct run *rn = ud;
    cr_assert_lt(rn->n, MAX_EVENTS);
    struct event *e = &rn->v[rn->n++];
    e->seq = ev->recorded->seq;
    e->status = ev->status;
    e->code = ev->code;
    e->teardown = ev->teardown;
    const char *slash = strrchr(ev->recording, '/');
    copy_value(e->recording, sizeof(e->recording), slash ? slash + 1 : ev->recording);
    if (rn->cancel_after && !ev->teardown && ev->recorded->seq == rn->cancel_after) {
        rp_replay_cancel(rn->r);
    }
}

struct fx {
    struct upstream up;
    char target[64];
    char *dir;
    char *main;
    char *td;
    struct run run;
    struct rp_replay_opts o;
};

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

static void fx_start(struct fx *fx, const char *main, const char *td)
{
    memset(fx, 0, sizeof(*fx));
    upstream_start(&fx->up);
    snprintf(fx->target, sizeof(fx->target), "http://127.0.0.1:%u", fx->up.port);
    fx->main = recording(main, &fx->dir);
    fx->td = recording(td, &fx->dir);
    fx->o = (struct rp_replay_opts){
        .target = fx->target,
        .run_id = "r1",
        .on_result = on_result,
        .ud = &fx->run,
        .teardown = fx->td,
        .timeout_ms = 20000,
    };
}

/* Runs the replay; returns its code. */
static rp_code fx_run(struct fx *fx)
{
    struct rp_error err = {0};
    cr_assert_eq(rp_replay_new(&fx->o, &fx->run.r, &err), RP_OK, "%s", err.msg);
    rp_replay_add_recording(fx->run.r, fx->main);
    rp_code rc = rp_replay_run(fx->run.r, &err);
    return rc;
}

static void fx_stop(struct fx *fx)
{
    rp_replay_free(fx->run.r);
    upstream_stop(&fx->up);
    free(fx->main);
    free(fx->td);
    rm_tree(fx->dir);
}

/* The i-th event must be (teardown, seq, status). */
static void expect_event(const struct fx *fx, size_t i, bool teardown, uint64_t seq,
                         enum rp_replay_status st)
{
    cr_assert_lt(i, fx->run.n, "only %zu events", fx->run.n);
    const struct event *e = &fx->run.v[i];
    cr_expect_eq(e->teardown, teardown, "event %zu: teardown %d", i, e->teardown);
    cr_expect_eq(e->seq, seq, "event %zu: seq %llu", i, (unsigned long long)e->seq);
    cr_expect_eq(e->status, st, "event %zu (seq %llu): status %d, code %s", i,
                 (unsigned long long)e->seq, e->status, rp_code_name(e->code));
}

/* ----- tests ------------------------------------------------------------------------------ */

Test(replay_teardown, follows_the_session_in_its_tenant_with_its_cookie_and_the_live_order_id)
{
    struct fx fx;
    fx_start(&fx, "td_main", "td_refund");
    cr_expect_eq(fx_run(&fx), RP_OK);
    cr_expect_eq(fx.run.n, 5);
    for (size_t i = 0; i < 4; i++) {
        expect_event(&fx, i, false, i + 1, RP_REPLAY_DONE);
        cr_expect_str_eq(fx.run.v[i].recording, "td_main.jsonl.gz");
    }
    expect_event(&fx, 4, true, 1, RP_REPLAY_DONE);
    cr_expect_str_eq(fx.run.v[4].recording, "td_refund.jsonl.gz");
    /* The order the session created live (5, not the recorded 211), in its tenant, with the
     * session's live cookie rather than the recorded one. */
    const struct seen *last = &fx.up.seen[fx.up.n_seen - 1];
    cr_expect_str_eq(last->method, "POST");
    cr_expect_str_eq(last->path, "/t/acme-r1-1/orders/5/refund");
    cr_expect_str_eq(last->cookie, "sid=live1");
    fx_stop(&fx);
}

Test(replay_teardown, runs_after_a_session_stopped_by_a_transport_failure)
{
    struct fx fx;
    fx_start(&fx, "td_hangup", "td_refund");
    cr_expect_eq(fx_run(&fx), RP_ETARGET, "the main session's failure is the run's");
    cr_expect_eq(fx.run.n, 5);
    expect_event(&fx, 1, false, 2, RP_REPLAY_DONE);
    expect_event(&fx, 2, false, 3, RP_REPLAY_ERROR);
    expect_event(&fx, 3, false, 4, RP_REPLAY_SKIPPED);
    expect_event(&fx, 4, true, 1, RP_REPLAY_DONE);
    cr_expect_eq(count_seen(&fx.up, "/t/acme-r1-1/orders/5/refund"), 1);
    fx_stop(&fx);
}

Test(replay_teardown, a_step_carrying_an_id_no_response_gave_is_refused)
{
    /* hangup.jsonl gives no order id: the teardown's 211 is unsourced in a write. */
    struct fx fx;
    fx_start(&fx, "hangup", "td_refund");
    cr_expect_eq(fx_run(&fx), RP_ETARGET, "the teardown's refusal is not the run's failure");
    cr_assert_eq(fx.run.n, 4);
    expect_event(&fx, 3, true, 1, RP_REPLAY_UNSAFE);
    cr_expect_eq(fx.run.v[3].code, RP_EUNSAFE);
    cr_expect_eq(count_seen(&fx.up, "/refund"), 0, "nothing was refunded");
    fx_stop(&fx);
}

Test(replay_teardown, a_cancel_skips_the_main_steps_left_and_runs_the_teardown)
{
    struct fx fx;
    fx_start(&fx, "td_main", "td_refund");
    fx.run.cancel_after = 2;
    cr_expect_eq(fx_run(&fx), RP_OK);
    cr_expect(rp_replay_cancelled(fx.run.r));
    cr_expect_eq(fx.run.n, 5);
    expect_event(&fx, 1, false, 2, RP_REPLAY_DONE);
    expect_event(&fx, 2, false, 3, RP_REPLAY_CANCELLED);
    expect_event(&fx, 3, false, 4, RP_REPLAY_CANCELLED);
    expect_event(&fx, 4, true, 1, RP_REPLAY_DONE);
    cr_expect_eq(count_seen(&fx.up, "/pause"), 0, "no main step after the cancel");
    cr_expect_eq(count_seen(&fx.up, "/t/acme-r1-1/orders/5/refund"), 1);
    fx_stop(&fx);
}

Test(replay_teardown, after_a_cancel_the_teardowns_time_is_bounded)
{
    struct fx fx;
    fx_start(&fx, "td_main", "td_slow");
    fx.run.cancel_after = 2;
    fx.o.teardown_timeout_ms = 300;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_expect_eq(fx_run(&fx), RP_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_expect_lt(took, 1.9, "the run took %.2f s: the slow teardown step was waited for", took);
    cr_expect_eq(fx.run.n, 6);
    expect_event(&fx, 4, true, 1, RP_REPLAY_CANCELLED); /* abandoned in flight */
    expect_event(&fx, 5, true, 2, RP_REPLAY_CANCELLED);
    cr_expect_eq(count_seen(&fx.up, "/refund"), 0);
    fx_stop(&fx);
}

Test(replay_teardown, a_tenant_the_session_does_not_rewrite_is_refused_before_sending)
{
    struct fx fx;
    fx_start(&fx, "td_main", "td_other");
    cr_expect_eq(fx_run(&fx), RP_EFORMAT);
    cr_expect_eq(fx.run.n, 0);
    cr_expect_eq(fx.up.n_seen, 0);
    fx_stop(&fx);
}

Test(replay_teardown, a_streamed_session_runs_its_teardown_as_a_cached_one_does)
{
    struct fx fx;
    fx_start(&fx, "td_main", "td_refund");
    fx.o.stream = true;
    cr_expect_eq(fx_run(&fx), RP_OK);
    cr_expect_eq(fx.run.n, 5);
    expect_event(&fx, 4, true, 1, RP_REPLAY_DONE);
    const struct seen *last = &fx.up.seen[fx.up.n_seen - 1];
    cr_expect_str_eq(last->path, "/t/acme-r1-1/orders/5/refund");
    cr_expect_str_eq(last->cookie, "sid=live1");
    fx_stop(&fx);
}

Test(replay_teardown, fills_a_variable_the_main_recording_declared_with_the_live_value)
{
    struct fx fx;
    fx_start(&fx, "td_main_vars", "td_refund_vars");
    cr_expect_eq(fx_run(&fx), RP_OK);
    cr_expect_eq(fx.run.n, 5);
    expect_event(&fx, 4, true, 1, RP_REPLAY_DONE);
    const struct seen *last = &fx.up.seen[fx.up.n_seen - 1];
    cr_expect_str_eq(last->path, "/t/acme-r1-1/orders/5/refund");
    cr_expect_str_eq(last->auth, "Bearer livetok9");
    fx_stop(&fx);
}

Test(replay_teardown, each_session_runs_its_own_teardown_in_its_own_tenant)
{
    struct fx fx;
    fx_start(&fx, "td_main", "td_refund");
    fx.o.sessions = 2;
    fx.o.concurrency = 2;
    cr_expect_eq(fx_run(&fx), RP_OK);
    cr_expect_eq(fx.run.n, 10);
    size_t td = 0;
    for (size_t i = 0; i < fx.run.n; i++) {
        td += fx.run.v[i].teardown && fx.run.v[i].status == RP_REPLAY_DONE;
    }
    cr_expect_eq(td, 2);
    cr_expect_eq(count_seen(&fx.up, "/t/acme-r1-1/orders/5/refund"), 1);
    cr_expect_eq(count_seen(&fx.up, "/t/acme-r1-2/orders/5/refund"), 1);
    fx_stop(&fx);
}

Test(replay_teardown, a_session_that_sent_nothing_has_no_teardown)
{
    struct fx fx;
    fx_start(&fx, "td_main", "td_refund");
    struct rp_error err = {0};
    cr_assert_eq(rp_replay_new(&fx.o, &fx.run.r, &err), RP_OK, "%s", err.msg);
    rp_replay_add_recording(fx.run.r, fx.main);
    rp_replay_cancel(fx.run.r); /* before anything is sent */
    cr_expect_eq(rp_replay_run(fx.run.r, &err), RP_OK, "%s", err.msg);
    cr_expect_eq(fx.run.n, 4);
    for (size_t i = 0; i < fx.run.n; i++) {
        expect_event(&fx, i, false, i + 1, RP_REPLAY_CANCELLED);
    }
    cr_expect_eq(fx.up.n_seen, 0);
    fx_stop(&fx);
}

/* Runs fx's main recording with the upstream cancelling the run `cancels` times when the /slow
 * step arrives; returns the run's time in seconds. */
static double run_cancelled_in_flight(struct fx *fx, unsigned cancels)
{
    struct rp_error err = {0};
    cr_assert_eq(rp_replay_new(&fx->o, &fx->run.r, &err), RP_OK, "%s", err.msg);
    rp_replay_add_recording(fx->run.r, fx->main);
    fx->up.cancels = cancels;
    fx->up.cancel_on_slow = fx->run.r;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_expect_eq(rp_replay_run(fx->run.r, &err), RP_OK, "%s", err.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

Test(replay_teardown, a_main_request_in_flight_at_the_cancel_is_abandoned_after_the_grace)
{
    /* td_slow as the main recording: its first step (/slow) answers after 2 s. */
    struct fx fx;
    fx_start(&fx, "td_slow", "td_refund");
    fx.o.teardown = NULL;
    fx.o.cancel_grace_ms = 300;
    double took = run_cancelled_in_flight(&fx, 1);
    cr_expect_lt(took, 1.9, "the run took %.2f s: the slow step was waited for", took);
    cr_expect_eq(fx.run.n, 2);
    expect_event(&fx, 0, false, 1, RP_REPLAY_CANCELLED); /* sent, abandoned */
    expect_event(&fx, 1, false, 2, RP_REPLAY_CANCELLED); /* not sent */
    cr_expect_eq(count_seen(&fx.up, "/refund"), 0, "nothing after the cancel was sent");
    cr_expect_eq(rp_replay_not_started(fx.run.r), 0);
    fx_stop(&fx);
}

Test(replay_teardown, a_response_within_the_grace_is_reported_as_it_came)
{
    struct fx fx;
    fx_start(&fx, "td_slow", "td_refund");
    fx.o.teardown = NULL;
    fx.o.cancel_grace_ms = 10000;
    double took = run_cancelled_in_flight(&fx, 1);
    cr_expect_gt(took, 1.9, "the run took %.2f s: the slow step was not waited for", took);
    cr_expect_eq(fx.run.n, 2);
    expect_event(&fx, 0, false, 1, RP_REPLAY_DONE);
    expect_event(&fx, 1, false, 2, RP_REPLAY_CANCELLED);
    fx_stop(&fx);
}

Test(replay_teardown, a_second_cancel_abandons_what_is_in_flight_at_once)
{
    struct fx fx;
    fx_start(&fx, "td_slow", "td_refund");
    fx.o.teardown = NULL;
    fx.o.cancel_grace_ms = 10000; /* a grace that the second cancel cuts short */
    double took = run_cancelled_in_flight(&fx, 2);
    cr_expect_lt(took, 1.9, "the run took %.2f s: the slow step was waited for", took);
    cr_expect_eq(fx.run.n, 2);
    expect_event(&fx, 0, false, 1, RP_REPLAY_CANCELLED);
    expect_event(&fx, 1, false, 2, RP_REPLAY_CANCELLED);
    fx_stop(&fx);
}

Test(replay_teardown, the_steps_of_sessions_a_cancel_kept_from_starting_are_counted)
{
    struct fx fx;
    fx_start(&fx, "td_main", "td_refund");
    fx.o.sessions = 3; /* one at a time: the cancel comes in the first */
    fx.run.cancel_after = 2;
    cr_expect_eq(fx_run(&fx), RP_OK);
    cr_expect_eq(fx.run.n, 5, "the first session's four steps and its teardown");
    cr_expect_eq(rp_replay_not_started(fx.run.r), 8, "two sessions of four steps");
    cr_expect_eq(count_seen(&fx.up, "/t/acme-r1-2/login"), 0, "the second session never started");
    fx_stop(&fx);
}

Test(replay_teardown, a_shards_not_started_count_is_of_its_own_sessions)
{
    struct fx fx;
    fx_start(&fx, "td_main", "td_refund");
    fx.o.sessions = 7; /* shard 2 of 3 runs sessions 2 and 5; the cancel comes in session 2 */
    fx.o.shard_index = 1;
    fx.o.shard_count = 3;
    fx.run.cancel_after = 2;
    cr_expect_eq(fx_run(&fx), RP_OK);
    cr_expect_eq(fx.run.n, 5, "session 2's four steps and its teardown");
    cr_expect_eq(rp_replay_not_started(fx.run.r), 4, "session 5's four steps, not 5 sessions'");
    cr_expect_eq(count_seen(&fx.up, "/t/acme-r1-2/login"), 1, "session 2 ran");
    cr_expect_eq(count_seen(&fx.up, "/t/acme-r1-1/login"), 0, "session 1 is another shard's");
    fx_stop(&fx);
}
