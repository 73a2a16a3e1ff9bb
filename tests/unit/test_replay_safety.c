/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of replay's safety nets against an upstream in the test's own process (a
 * libmicrohttpd daemon on 127.0.0.1 that counts what it is sent): a correlated value missing
 * from the live response stops the session before the request that needs it; an unsourced id
 * in a write is refused unless declared (--const) or allowed; in a read it is a warning. Also
 * the finder's rule itself (tests/data/replay/survey.jsonl), and how a refusal is tallied and
 * reported (JUnit, results file read back).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include <reprise/check.h>
#include <reprise/replay.h>
#include <reprise/report.h>

#include "helpers.h"

#define MAX_SEEN   16
#define MAX_EVENTS 16
#define MAX_LOGS   16

/* ----- the upstream ----------------------------------------------------------------------- */

struct upstream {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t mu;
    char seen[MAX_SEEN][128]; /* "METHOD path" of each request */
    size_t n_seen;
    bool lacks_id;     /* POST .../orders answers without the order's id */
    bool other_object; /* GET .../orders/ID answers about order 9, whatever ID */
};

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
        *con_cls = up; /* the body, if any, comes next */
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&up->mu);
    if (up->n_seen < MAX_SEEN) {
        snprintf(up->seen[up->n_seen++], sizeof(up->seen[0]), "%s %s", method, url);
    }
    pthread_mutex_unlock(&up->mu);
    const char *body = "ok";
    bool json = false;
    if (strcmp(method, "POST") == 0 && ends_with(url, "/orders")) {
        body = up->lacks_id ? "{\"order\":\"none\"}" : "{\"id\":7}";
        json = true;
    } else if (strcmp(method, "GET") == 0 && strstr(url, "/orders/")) {
        body = up->other_object ? "{\"id\":9,\"item\":\"beans\"}" : "{\"id\":7,\"item\":\"beans\"}";
        json = true;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (json) {
        MHD_add_response_header(r, "Content-Type", "application/json");
    }
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
    up->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                             NULL, NULL, on_request, up, MHD_OPTION_SOCK_ADDR,
                             (struct sockaddr *)&sa, MHD_OPTION_END);
    cr_assert_not_null(up->d, "cannot start the upstream on 127.0.0.1");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(up->d, MHD_DAEMON_INFO_BIND_PORT);
    cr_assert(info && info->port, "the upstream has no port");
    up->port = info->port;
}

/* ----- the engine's side ------------------------------------------------------------------ */

struct event {
    uint64_t seq;
    enum rp_replay_status status;
    rp_code code;
    char message[RP_ERROR_MSG_MAX];
};

struct fx {
    struct upstream up;
    char target[64];
    char *dir;
    char *path;
    struct event ev[MAX_EVENTS];
    size_t n_ev;
    char logs[MAX_LOGS][RP_ERROR_MSG_MAX + 64];
    size_t n_logs;
    struct rp_checker *checker; /* when set, every event is checked too */
    struct rp_replay_opts o;
};

static void on_result(void *ud, const struct rp_replay_event *ev)
{
    struct fx *fx = ud;
    cr_assert_lt(fx->n_ev, MAX_EVENTS);
    struct event *e = &fx->ev[fx->n_ev++];
    e->seq = ev->recorded->seq;
    e->status = ev->status;
    e->code = ev->code;
    snprintf(e->message, sizeof(e->message), "%s", ev->message ? ev->message : "");
    if (fx->checker) {
        cr_assert_eq(rp_checker_exchange(fx->checker, ev, NULL), RP_OK);
    }
}

static void on_log(void *ud, enum rp_log_level lvl, const char *msg)
{
    struct fx *fx = ud;
    if (lvl == RP_LOG_WARN && fx->n_logs < MAX_LOGS) {
        snprintf(fx->logs[fx->n_logs++], sizeof(fx->logs[0]), "%s", msg);
    }
}

static void fx_start(struct fx *fx, const char *rec)
{
    memset(fx, 0, sizeof(*fx));
    upstream_start(&fx->up);
    snprintf(fx->target, sizeof(fx->target), "http://127.0.0.1:%u", fx->up.port);
    fx->dir = tmp_dir();
    char src[512], file[128];
    snprintf(src, sizeof(src), "%s/replay/%s.jsonl", REPRISE_TEST_DATA, rec);
    snprintf(file, sizeof(file), "%s.jsonl.gz", rec);
    fx->path = path_in(fx->dir, file);
    cr_assert_eq(gzip_file(src, fx->path), 0, "cannot gzip %s", src);
    fx->o = (struct rp_replay_opts){
        .target = fx->target,
        .run_id = "r1",
        .on_result = on_result,
        .ud = fx,
        .log = on_log,
        .log_ud = fx,
    };
}

static void fx_stop(struct fx *fx)
{
    MHD_stop_daemon(fx->up.d);
    pthread_mutex_destroy(&fx->up.mu);
    free(fx->path);
    rm_tree(fx->dir);
}

/* Replays the fixture's recording, with consts declared first; returns the run's code. */
static rp_code replay(struct fx *fx, const char *const *consts, size_t n_consts)
{
    struct rp_replay *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_replay_new(&fx->o, &r, &err), RP_OK, "%s", err.msg);
    for (size_t i = 0; i < n_consts; i++) {
        cr_assert_eq(rp_replay_const(r, consts[i], &err), RP_OK, "%s", err.msg);
    }
    rp_replay_add_recording(r, fx->path);
    rp_code rc = rp_replay_run(r, &err);
    rp_replay_free(r);
    return rc;
}

/* ----- a correlated value missing live ---------------------------------------------------- */

Test(replay_safety, a_correlated_value_missing_live_stops_the_session_before_the_step_needing_it)
{
    struct fx fx;
    fx_start(&fx, "missing");
    fx.up.lacks_id = true;

    cr_assert_eq(replay(&fx, NULL, 0), RP_OK, "a refusal is not a target failure");

    /* Only the create went out: the pay, which needs the order's live id, did not. */
    cr_assert_eq(fx.up.n_seen, 1);
    cr_expect_str_eq(fx.up.seen[0], "POST /acme-r1-1/orders");
    cr_assert_eq(fx.n_ev, 3);
    cr_expect_eq(fx.ev[0].status, RP_REPLAY_DONE);
    cr_expect_eq(fx.ev[1].status, RP_REPLAY_UNSAFE);
    cr_expect_eq(fx.ev[1].code, RP_EMISSING);
    cr_expect_str_eq(fx.ev[1].message, "body $.id not in the live response of #1: not sent (the "
                                       "recorded \"41\" stands at path segment 2)");
    cr_expect_eq(fx.ev[2].status, RP_REPLAY_SKIPPED);
    cr_expect_str_eq(fx.ev[2].message,
                     "not sent: the session stopped at exchange 2 (a server-given value is "
                     "missing from the live response)");
    fx_stop(&fx);
}

Test(replay_safety, a_correlated_value_present_live_is_carried_and_nothing_is_refused)
{
    struct fx fx;
    fx_start(&fx, "missing");

    cr_assert_eq(replay(&fx, NULL, 0), RP_OK);

    cr_assert_eq(fx.up.n_seen, 3);
    cr_expect_str_eq(fx.up.seen[1], "POST /acme-r1-1/orders/7/pay");
    for (size_t i = 0; i < fx.n_ev; i++) {
        cr_expect_eq(fx.ev[i].status, RP_REPLAY_DONE, "step %zu", i + 1);
    }
    fx_stop(&fx);
}

/* The verdicts of the missing-value run, through a checker with a JUnit and a results sink. */
Test(replay_safety, a_refusal_is_a_failure_in_the_tally_junit_and_the_results_file)
{
    struct fx fx;
    fx_start(&fx, "missing");
    fx.up.lacks_id = true;
    struct rp_error err = {0};
    const char *recs[] = {fx.path};
    struct rp_checker_opts co = {.recordings = recs, .n_recordings = 1};
    cr_assert_eq(rp_checker_new(&co, &fx.checker, &err), RP_OK, "%s", err.msg);
    char *junit = path_in(fx.dir, "junit.xml");
    char *results = path_in(fx.dir, "results.jsonl.gz");
    struct rp_sink sink;
    rp_sink_junit(&sink, junit);
    rp_checker_add_sink(fx.checker, &sink);
    rp_sink_results(&sink, results);
    rp_checker_add_sink(fx.checker, &sink);
    struct rp_run_info info = {.run_id = "r1",
                               .target = fx.target,
                               .start_us = rp_now_us(),
                               .recordings = recs,
                               .n_recordings = 1};
    rp_checker_begin(fx.checker, &info);

    cr_assert_eq(replay(&fx, NULL, 0), RP_OK);
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(fx.checker, &sum, &err), RP_OK, "%s", err.msg);
    rp_checker_free(fx.checker);
    /* The create answered without its id (and 200, not 201): its shape check fails too. */
    cr_expect_eq(sum.passed, 0);
    cr_expect_eq(sum.failed, 1);
    cr_expect_eq(sum.unsafe, 1);
    cr_expect_eq(sum.skipped, 1);
    cr_expect_eq(sum.errors, 0);

    size_t n = 0;
    FILE *f = fopen(junit, "rb");
    cr_assert_not_null(f);
    char xml[8192];
    n = fread(xml, 1, sizeof(xml) - 1, f);
    fclose(f);
    xml[n] = '\0';
    cr_expect(strstr(xml, "tests=\"3\" failures=\"2\" errors=\"0\" skipped=\"1\"") != NULL, "%s",
              xml);
    cr_expect(strstr(xml, "<failure message=\"body $.id not in the live response of #1: not sent "
                          "(the recorded &quot;41&quot; stands at path segment 2)\" "
                          "type=\"unsafe\">") != NULL,
              "%s", xml);

    /* Read back offline, as `reprise diff` does: the refusal is still a failure. */
    struct rp_checker *again = NULL;
    struct rp_checker_opts dco = {.failures_only = true};
    cr_assert_eq(rp_checker_new(&dco, &again, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_results_check(results, again, NULL, NULL, &err), RP_OK, "%s", err.msg);
    struct rp_run_summary back;
    cr_assert_eq(rp_checker_end(again, &back, &err), RP_OK, "%s", err.msg);
    rp_checker_free(again);
    cr_expect_eq(back.unsafe, 1);
    cr_expect_eq(back.failed, 1);
    cr_expect_eq(back.skipped, 1);

    free(junit);
    free(results);
    fx_stop(&fx);
}

/* ----- the identity check, learned from the replay's own pre-pass ------------------------- */

/* A sink that keeps the first mismatch of each failed verdict. */
struct fails {
    size_t n;
    char first[4][256];
};

static rp_code fails_result(void *ctx, const struct rp_verdict *v, struct rp_error *err)
{
    (void)err;
    struct fails *f = ctx;
    if (v->outcome == RP_OUTCOME_FAIL && f->n < 4 && v->mismatches.n) {
        snprintf(f->first[f->n++], sizeof(f->first[0]), "%s: %s", v->mismatches.v[0].path,
                 v->mismatches.v[0].message);
    }
    return RP_OK;
}

static rp_code fails_begin(void *ctx, const struct rp_run_info *run, struct rp_error *err)
{
    (void)ctx;
    (void)run;
    (void)err;
    return RP_OK;
}

static rp_code fails_end(void *ctx, const struct rp_run_summary *sum, struct rp_error *err)
{
    (void)ctx;
    (void)sum;
    (void)err;
    return RP_OK;
}

static void fails_free(void *ctx)
{
    (void)ctx;
}

static const struct rp_sink_ops fails_ops = {
    .begin = fails_begin, .result = fails_result, .end = fails_end, .free = fails_free};

/* Replays identity.jsonl with a checker that learns from the engine's pre-pass (as `reprise
 * replay` does) and returns the run's tally; f gets the failures. */
static struct rp_run_summary replay_checked(struct fx *fx, struct fails *f)
{
    struct rp_error err = {0};
    const char *recs[] = {fx->path};
    struct rp_checker_opts co = {.recordings = recs, .n_recordings = 1, .learn_from_replay = true};
    cr_assert_eq(rp_checker_new(&co, &fx->checker, &err), RP_OK, "%s", err.msg);
    struct rp_sink sink = {.ops = &fails_ops, .ctx = f};
    rp_checker_add_sink(fx->checker, &sink);
    struct rp_run_info info = {
        .run_id = "r1", .target = fx->target, .recordings = recs, .n_recordings = 1};
    rp_checker_begin(fx->checker, &info);
    fx->o.observe = rp_checker_observe;
    fx->o.observe_ud = fx->checker;
    cr_assert_eq(replay(fx, NULL, 0), RP_OK);
    struct rp_run_summary sum;
    cr_assert_eq(rp_checker_end(fx->checker, &sum, &err), RP_OK, "%s", err.msg);
    rp_checker_free(fx->checker);
    fx->checker = NULL;
    return sum;
}

Test(replay_safety, the_identity_check_learned_in_the_pre_pass_fails_another_object)
{
    struct fx fx;
    fx_start(&fx, "identity");
    fx.up.other_object = true;
    struct fails f = {0};

    struct rp_run_summary sum = replay_checked(&fx, &f);

    /* The GET went to the live order 7, as it should, but the answer is about order 9. */
    cr_assert_eq(fx.up.n_seen, 2);
    cr_expect_str_eq(fx.up.seen[1], "GET /acme-r1-1/orders/7");
    cr_expect_eq(sum.passed, 1);
    cr_expect_eq(sum.failed, 1);
    cr_assert_eq(f.n, 1);
    cr_expect_str_eq(f.first[0], "$.id: expected 7 (the order created by #1), got 9");
    fx_stop(&fx);
}

Test(replay_safety, the_identity_check_learned_in_the_pre_pass_passes_the_same_object)
{
    struct fx fx;
    fx_start(&fx, "identity");
    struct fails f = {0};

    struct rp_run_summary sum = replay_checked(&fx, &f);

    cr_expect_eq(sum.passed, 2);
    cr_expect_eq(sum.failed, 0);
    cr_expect_eq(f.n, 0);
    fx_stop(&fx);
}

/* ----- unsourced ids ---------------------------------------------------------------------- */

Test(replay_safety, an_unsourced_id_in_a_post_path_is_refused_and_nothing_of_it_is_sent)
{
    struct fx fx;
    fx_start(&fx, "unsourced");

    cr_assert_eq(replay(&fx, NULL, 0), RP_OK);

    /* The listing before it (page=2&limit=20: not ids) went; the archive did not. */
    cr_assert_eq(fx.up.n_seen, 1);
    cr_expect_str_eq(fx.up.seen[0], "GET /acme-r1-1/items");
    cr_assert_eq(fx.n_ev, 3);
    cr_expect_eq(fx.ev[0].status, RP_REPLAY_DONE);
    cr_expect_eq(fx.ev[1].status, RP_REPLAY_UNSAFE);
    cr_expect_eq(fx.ev[1].code, RP_EUNSAFE);
    cr_expect_str_eq(fx.ev[1].message,
                     "unsourced id \"17\" at path segment 2 of a POST: no earlier response gave "
                     "it; not sent (--const 17 if it is the same in every tenant, "
                     "--allow-unsourced to send it anyway)");
    cr_expect_eq(fx.ev[2].status, RP_REPLAY_SKIPPED);
    cr_expect_eq(fx.n_logs, 0, "a refused write is not also a warning: %s", fx.logs[0]);
    fx_stop(&fx);
}

Test(replay_safety, a_declared_const_id_is_sent)
{
    struct fx fx;
    fx_start(&fx, "unsourced");
    const char *consts[] = {"17"};

    cr_assert_eq(replay(&fx, consts, 1), RP_OK);

    cr_assert_eq(fx.up.n_seen, 3);
    cr_expect_str_eq(fx.up.seen[1], "POST /acme-r1-1/items/17/archive");
    cr_expect_eq(fx.ev[1].status, RP_REPLAY_DONE);
    cr_expect_eq(fx.n_logs, 0);
    fx_stop(&fx);
}

Test(replay_safety, allow_unsourced_sends_the_write_with_a_warning)
{
    struct fx fx;
    fx_start(&fx, "unsourced");
    fx.o.allow_unsourced = true;

    cr_assert_eq(replay(&fx, NULL, 0), RP_OK);

    cr_assert_eq(fx.up.n_seen, 3);
    cr_expect_str_eq(fx.up.seen[1], "POST /acme-r1-1/items/17/archive");
    cr_assert_eq(fx.n_logs, 1);
    char want[512];
    snprintf(want, sizeof(want),
             "%s: exchange 2: unsourced id \"17\" at path segment 2 of a POST: no earlier "
             "response gave it; sent as recorded (--allow-unsourced)",
             fx.path);
    cr_expect_str_eq(fx.logs[0], want);
    fx_stop(&fx);
}

Test(replay_safety, an_unsourced_id_in_a_get_is_sent_with_a_warning)
{
    struct fx fx;
    fx_start(&fx, "unsourced-read");

    cr_assert_eq(replay(&fx, NULL, 0), RP_OK);

    /* Both go: the read with its warning, the write with no id at all ("qty": 3 is not one). */
    cr_assert_eq(fx.up.n_seen, 2);
    cr_expect_str_eq(fx.up.seen[0], "GET /acme-r1-1/users/99");
    cr_expect_eq(fx.ev[0].status, RP_REPLAY_DONE);
    cr_expect_eq(fx.ev[1].status, RP_REPLAY_DONE);
    cr_assert_eq(fx.n_logs, 1);
    char want[512];
    snprintf(want, sizeof(want),
             "%s: exchange 1: unsourced id \"99\" at path segment 2 of a GET: no earlier "
             "response gave it; sent as recorded",
             fx.path);
    cr_expect_str_eq(fx.logs[0], want);
    fx_stop(&fx);
}

/* ----- the rule ---------------------------------------------------------------------------- */

/* The unsourced ids the finder sees in tests/data/replay/NAME.jsonl, konst (or NULL) declared
 * the same in every tenant. */
static struct rp_unsourced_finder *survey(const char *name, const char *konst)
{
    char *dir = tmp_dir();
    char src[512], file[128];
    snprintf(src, sizeof(src), "%s/replay/%s.jsonl", REPRISE_TEST_DATA, name);
    snprintf(file, sizeof(file), "%s.jsonl.gz", name);
    char *path = path_in(dir, file);
    cr_assert_eq(gzip_file(src, path), 0);
    struct rp_correlator *c = rp_correlator_new();
    struct rp_unsourced_finder *u = rp_unsourced_finder_new();
    if (konst) {
        rp_unsourced_finder_const(u, konst);
    }
    struct rp_error err = {0};
    cr_assert_eq(rp_replay_survey(path, c, u, NULL, NULL, &err), RP_OK, "%s", err.msg);
    rp_correlator_free(c);
    free(path);
    rm_tree(dir);
    return u;
}

/* One unsourced id a test expects; a NULL method is not checked. */
struct found {
    uint64_t seq;
    const char *method, *where, *value;
    bool write;
};

static void expect_found(const struct rp_unsourced_finder *u, const struct found *want, size_t n)
{
    cr_assert_eq(rp_unsourced_count(u), n, "found %zu", rp_unsourced_count(u));
    for (size_t i = 0; i < n; i++) {
        const struct rp_unsourced *e = rp_unsourced_get(u, i);
        char where[128];
        rp_location_format(&e->where, where, sizeof(where));
        cr_expect_eq(e->seq, want[i].seq, "#%zu", i);
        if (want[i].method) {
            cr_expect_str_eq(e->method, want[i].method, "#%zu", i);
        }
        cr_expect_str_eq(where, want[i].where, "#%zu: %s", i, where);
        cr_expect_str_eq(e->value, want[i].value, "#%zu", i);
        cr_expect_eq(e->write, want[i].write, "#%zu", i);
    }
}

Test(replay_safety, the_finder_flags_ids_by_shape_and_place_not_pages_years_quantities_or_tenants)
{
    struct rp_unsourced_finder *u = survey("survey", "SAME4411");

    /* By hand, from survey.jsonl: 1 and 5 hold pages, limits, years and an id a response gave
     * (order 5); 2 sends order 5 back in its path, but as a product_id it is another noun's id,
     * which no response gave; 7's shop_id holds the tenant, its coupon is a const, its step_id a
     * word. */
    static const struct found want[] = {
        {2, "POST", "body $.product_id", "5", true},
        {3, "PUT", "path segment 2", "77", true},
        {3, "PUT", "form order_id", "77", true},
        {4, "DELETE", "path segment 2", "3f2a1b9c-0000-4000-8000-00000000abcd", true},
        {6, "GET", "path segment 2", "42", false},
        {6, "GET", "query user_id", "42", false},
        {7, "POST", "body $.customer_id", "cus_9x8y7z", true},
    };
    size_t n = sizeof(want) / sizeof(want[0]);
    expect_found(u, want, n);
    cr_expect_eq(rp_unsourced_first(u, 6), 4);
    cr_expect_eq(rp_unsourced_first(u, 5), n);
    cr_expect_eq(rp_unsourced_finder_saturated(u), 0);
    rp_unsourced_finder_free(u);
}

/* Multipart fields and GraphQL literal arguments are read as form fields and JSON are: by hand,
 * from survey_forms.jsonl, #1's project_id 9 is unsourced (its file part "order_id" is left
 * alone), #2's quantity 3 is no id, and of #3's literals order 5521 was given by #2's
 * createOrder and 4417 by nothing. */
Test(replay_safety, the_finder_reads_multipart_fields_and_graphql_literals)
{
    struct rp_unsourced_finder *u = survey("survey_forms", NULL);
    static const struct found want[] = {
        {1, NULL, "multipart project_id", "9", true},
        {3, NULL, "graphql query literal id", "4417", true},
    };
    expect_found(u, want, sizeof(want) / sizeof(want[0]));
    rp_unsourced_finder_free(u);
}

/*
 * A short id is given only where a response gives it as an id: a "3" that an earlier page shows
 * as a count, a style, a quantity or another noun's option is not the 3 of /things/3/; an href
 * /things/4/change/, a {"id": 5} and a long token anywhere are.
 */
Test(replay_safety, a_short_id_is_given_only_at_an_id_place_of_an_earlier_response)
{
    struct rp_unsourced_finder *u = survey("short_ids", NULL);

    /* By hand, from short_ids.jsonl: page 1 holds 3 as a cell, a width, a qty value and the
     * selected project, so thing 3 (#2) is unsourced; page 3 links thing 4 (#4 given); #5 gives
     * {"id": 5} and a count 6 and the long token ab12cd34ef56: #6 (5), #8 (the token) are
     * given, #7 (6) is not. */
    static const struct found want[] = {
        {2, NULL, "path segment 2", "3", true},
        {7, NULL, "path segment 2", "6", true},
    };
    expect_found(u, want, sizeof(want) / sizeof(want[0]));
    rp_unsourced_finder_free(u);
}
