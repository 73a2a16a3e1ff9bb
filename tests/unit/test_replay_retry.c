/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the replay engine's retries (--retries): a session whose attempt the retry
 * callback says failed runs again from its start, in a new tenant, before any session not yet
 * started; on_session_end comes once, after its last attempt. The upstream is a libmicrohttpd
 * daemon on 127.0.0.1 (port chosen by the kernel) in the test's own process that notes each
 * request's path and answers 200; the recording is tests/data/replay/steps.jsonl (three GETs
 * under the tenant acme), gzipped at test time.
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

#define MAX_SEEN 64

/* ----- the upstream ----------------------------------------------------------------------- */

struct upstream {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t mu;
    char seen[MAX_SEEN][128]; /* each request's path, in the order they came */
    size_t n_seen;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)method;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    struct upstream *up = cls;
    if (!*con_cls) {
        *con_cls = up; /* the headers came; answer at the next call */
        return MHD_YES;
    }
    pthread_mutex_lock(&up->mu);
    if (up->n_seen < MAX_SEEN) {
        snprintf(up->seen[up->n_seen++], sizeof(up->seen[0]), "%s", url);
    }
    pthread_mutex_unlock(&up->mu);
    static const char ok[] = "ok";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof(ok) - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
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
    up->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, up,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
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

/* ----- the engine's side ------------------------------------------------------------------ */

/* What the engine said, in order: "R steps#1 0 1" (a result: session, attempt, seq), "E steps#1"
 * (a session's end), "?steps#1 0" (a retry question: session, attempt). */
struct log {
    char v[MAX_SEEN * 2][64];
    size_t n;
    /* The retry callback's answers: true for attempt (fail_attempt) of session fail_session. */
    const char *fail_session;
    unsigned fail_attempt;
    bool fail_always;
};

/* The next entry of l, to write into. */
static char *note(struct log *l)
{
    cr_assert_lt(l->n, sizeof(l->v) / sizeof(l->v[0]));
    return l->v[l->n++];
}

static void on_result(void *ud, const struct rp_replay_event *ev)
{
    snprintf(note(ud), 64, "%s %s %u %u%s", ev->teardown ? "T" : "R", ev->session, ev->attempt,
             (unsigned)ev->recorded->seq, ev->status == RP_REPLAY_SKIPPED ? " skipped" : "");
}

static void on_session_end(void *ud, const char *session)
{
    snprintf(note(ud), 64, "E %s", session);
}

static bool on_retry(void *ud, const char *session, unsigned attempt)
{
    struct log *l = ud;
    snprintf(note(l), 64, "?%s %u", session, attempt);
    return l->fail_always || (strcmp(session, l->fail_session) == 0 && attempt == l->fail_attempt);
}

/* Everything one test needs: the upstream, the recording, the options. */
struct fx {
    struct upstream up;
    char target[64];
    char *dir;
    char *path;
    struct log log;
    struct rp_replay_opts o;
};

static void fx_start(struct fx *fx)
{
    memset(fx, 0, sizeof(*fx));
    upstream_start(&fx->up);
    snprintf(fx->target, sizeof(fx->target), "http://127.0.0.1:%u", fx->up.port);
    fx->dir = tmp_dir();
    char src[512];
    snprintf(src, sizeof(src), "%s/replay/steps.jsonl", REPRISE_TEST_DATA);
    fx->path = path_in(fx->dir, "steps.jsonl.gz");
    cr_assert_eq(gzip_file(src, fx->path), 0);
    fx->log.fail_session = "steps#1";
    fx->o = (struct rp_replay_opts){
        .target = fx->target,
        .run_id = "r1",
        .on_result = on_result,
        .on_session_end = on_session_end,
        .ud = &fx->log,
        .retries = 2,
        .retry = on_retry,
    };
}

static void fx_stop(struct fx *fx)
{
    upstream_stop(&fx->up);
    free(fx->path);
    rm_tree(fx->dir);
}

/* Runs the replay, with the tenant rule acme=to when to is not NULL; returns its code, with
 * the message in msg (RP_ERROR_MSG_MAX bytes). */
static rp_code run(struct fx *fx, const char *to, char *msg)
{
    struct rp_replay *r = NULL;
    struct rp_error err = {0};
    rp_code rc = rp_replay_new(&fx->o, &r, &err);
    if (!rc && to) {
        rc = rp_replay_tenant(r, "acme", to, &err);
    }
    if (!rc) {
        rp_replay_add_recording(r, fx->path);
        rc = rp_replay_run(r, &err);
    }
    snprintf(msg, RP_ERROR_MSG_MAX, "%s", rc ? err.msg : "");
    rp_replay_free(r);
    return rc;
}

static void expect_log(const struct log *l, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n && i < l->n; i++) {
        cr_expect_str_eq(l->v[i], want[i], "event %zu", i);
    }
    cr_expect_eq(l->n, n, "%zu events, not %zu", l->n, n);
}

static void expect_paths(const struct upstream *up, const char *const *tenants, size_t n)
{
    cr_assert_eq(up->n_seen, n * 3, "%zu requests, not %zu", up->n_seen, n * 3);
    for (size_t i = 0; i < n * 3; i++) {
        char want[128];
        snprintf(want, sizeof(want), "/%s/step/%zu", tenants[i / 3], i % 3 + 1);
        cr_expect_str_eq(up->seen[i], want, "request %zu", i);
    }
}

/* ----- tests ------------------------------------------------------------------------------ */

Test(replay_retry, a_failed_attempt_runs_again_in_a_new_tenant_before_the_next_session)
{
    struct fx fx;
    fx_start(&fx);
    fx.o.sessions = 2;
    char msg[RP_ERROR_MSG_MAX];
    cr_assert_eq(run(&fx, NULL, msg), RP_OK, "%s", msg);

    static const char *const want[] = {
        "R steps#1 0 1", "R steps#1 0 2", "R steps#1 0 3", "?steps#1 0", "R steps#1 1 1",
        "R steps#1 1 2", "R steps#1 1 3", "?steps#1 1",    "E steps#1",  "R steps#2 0 1",
        "R steps#2 0 2", "R steps#2 0 3", "?steps#2 0",    "E steps#2",
    };
    expect_log(&fx.log, want, sizeof(want) / sizeof(want[0]));
    static const char *const tenants[] = {"acme-r1-1", "acme-r1-1-r1", "acme-r1-2"};
    expect_paths(&fx.up, tenants, 3);
    fx_stop(&fx);
}

Test(replay_retry, a_session_that_fails_every_attempt_stops_after_its_retries)
{
    struct fx fx;
    fx_start(&fx);
    fx.log.fail_always = true;
    char msg[RP_ERROR_MSG_MAX];
    cr_assert_eq(run(&fx, NULL, msg), RP_OK, "%s", msg);

    /* No question after the last attempt: no retry is left to give. */
    static const char *const want[] = {
        "R steps#1 0 1", "R steps#1 0 2", "R steps#1 0 3", "?steps#1 0",
        "R steps#1 1 1", "R steps#1 1 2", "R steps#1 1 3", "?steps#1 1",
        "R steps#1 2 1", "R steps#1 2 2", "R steps#1 2 3", "E steps#1",
    };
    expect_log(&fx.log, want, sizeof(want) / sizeof(want[0]));
    static const char *const tenants[] = {"acme-r1-1", "acme-r1-1-r1", "acme-r1-1-r2"};
    expect_paths(&fx.up, tenants, 3);
    fx_stop(&fx);
}

Test(replay_retry, a_template_with_uuid_gives_each_attempt_its_own_tenant)
{
    struct fx fx;
    fx_start(&fx);
    fx.o.retries = 1;
    fx.log.fail_always = true;
    char msg[RP_ERROR_MSG_MAX];
    cr_assert_eq(run(&fx, "t-{uuid}", msg), RP_OK, "%s", msg);

    cr_assert_eq(fx.up.n_seen, 6);
    const char *a = fx.up.seen[0], *b = fx.up.seen[3];
    cr_expect(strncmp(a, "/t-", 3) == 0 && strncmp(b, "/t-", 3) == 0, "%s, %s", a, b);
    cr_expect(strcmp(a, b) != 0, "both attempts went to %s", a);
    fx_stop(&fx);
}

Test(replay_retry, no_retry_starts_once_max_requests_is_reached)
{
    struct fx fx;
    fx_start(&fx);
    fx.log.fail_always = true;
    fx.o.max_requests = 3;
    char msg[RP_ERROR_MSG_MAX];
    cr_assert_eq(run(&fx, NULL, msg), RP_OK, "%s", msg);

    /* A retry that could send nothing would pass by skipping every step. */
    static const char *const want[] = {
        "R steps#1 0 1", "R steps#1 0 2", "R steps#1 0 3", "?steps#1 0", "E steps#1",
    };
    expect_log(&fx.log, want, sizeof(want) / sizeof(want[0]));
    cr_expect_eq(fx.up.n_seen, 3);
    fx_stop(&fx);
}

Test(replay_retry, a_retrys_requests_count_toward_max_requests)
{
    struct fx fx;
    fx_start(&fx);
    fx.log.fail_always = true;
    fx.o.max_requests = 4;
    char msg[RP_ERROR_MSG_MAX];
    cr_assert_eq(run(&fx, NULL, msg), RP_OK, "%s", msg);

    /* The retry sends one request, the fourth; its other steps are kept back, and no third
     * attempt starts. */
    static const char *const want[] = {
        "R steps#1 0 1", "R steps#1 0 2",         "R steps#1 0 3",         "?steps#1 0",
        "R steps#1 1 1", "R steps#1 1 2 skipped", "R steps#1 1 3 skipped", "?steps#1 1",
        "E steps#1",
    };
    expect_log(&fx.log, want, sizeof(want) / sizeof(want[0]));
    cr_expect_eq(fx.up.n_seen, 4);
    fx_stop(&fx);
}

Test(replay_retry, each_attempt_runs_its_own_teardown_in_its_own_tenant_before_the_retry)
{
    struct fx fx;
    fx_start(&fx);
    fx.o.retries = 1;
    fx.log.fail_always = true;
    fx.o.teardown = fx.path; /* the same three steps, as each attempt's sequel */
    char msg[RP_ERROR_MSG_MAX];
    cr_assert_eq(run(&fx, NULL, msg), RP_OK, "%s", msg);

    static const char *const want[] = {
        "R steps#1 0 1", "R steps#1 0 2", "R steps#1 0 3", "T steps#1 0 1", "T steps#1 0 2",
        "T steps#1 0 3", "?steps#1 0",    "R steps#1 1 1", "R steps#1 1 2", "R steps#1 1 3",
        "T steps#1 1 1", "T steps#1 1 2", "T steps#1 1 3", "E steps#1",
    };
    expect_log(&fx.log, want, sizeof(want) / sizeof(want[0]));
    static const char *const tenants[] = {"acme-r1-1", "acme-r1-1", "acme-r1-1-r1", "acme-r1-1-r1"};
    expect_paths(&fx.up, tenants, 4);
    fx_stop(&fx);
}

Test(replay_retry, without_retries_the_engine_asks_nothing)
{
    struct fx fx;
    fx_start(&fx);
    fx.log.fail_always = true;
    fx.o.retries = 0;
    char msg[RP_ERROR_MSG_MAX];
    cr_assert_eq(run(&fx, NULL, msg), RP_OK, "%s", msg);

    static const char *const want[] = {
        "R steps#1 0 1",
        "R steps#1 0 2",
        "R steps#1 0 3",
        "E steps#1",
    };
    expect_log(&fx.log, want, sizeof(want) / sizeof(want[0]));
    fx_stop(&fx);
}

Test(replay_retry, a_template_that_gives_every_attempt_one_tenant_is_refused_before_sending)
{
    struct fx fx;
    fx_start(&fx);
    char msg[RP_ERROR_MSG_MAX];
    cr_expect_eq(run(&fx, "acme-fixed-{run}", msg), RP_EUSAGE);
    cr_expect_str_eq(msg, "--retries with --tenant acme=acme-fixed-{run}: a retry needs a new "
                          "tenant; put {session} or {uuid} in it");
    fx.o.same_tenant = true;
    cr_expect_eq(run(&fx, NULL, msg), RP_EUSAGE);
    cr_expect(strstr(msg, "--retries with --same-tenant") == msg, "%s", msg);
    cr_expect_eq(fx.up.n_seen, 0);
    cr_expect_eq(fx.log.n, 0);
    fx_stop(&fx);
}

Test(replay_retry, more_than_ten_retries_are_refused)
{
    struct rp_replay_opts o = {
        .target = "http://127.0.0.1:1",
        .on_result = on_result,
        .retries = RP_REPLAY_MAX_RETRIES + 1,
        .retry = on_retry,
    };
    struct rp_replay *r = NULL;
    struct rp_error err = {0};
    cr_expect_eq(rp_replay_new(&o, &r, &err), RP_EUSAGE);
    cr_expect_str_eq(err.msg, "--retries wants 0 to 10, got 11");
    cr_expect_null(r);
}
