/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of record-time variables. Recording: exchanges built here by hand go through
 * rp_intake into a recording, which is read back (and its decompressed bytes searched: no live
 * credential anywhere). Replay: a libmicrohttpd upstream in the test's own process gives a
 * different token live than the recording holds, and must get that one back.
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include <reprise/har.h>
#include <reprise/intake.h>
#include <reprise/recording.h>
#include <reprise/redact.h>
#include <reprise/replay.h>
#include <reprise/vars.h>

#include "helpers.h"

static char *dir;

static void setup(void)
{
    dir = tmp_dir();
}

static void teardown(void)
{
    rm_tree(dir);
}

TestSuite(vars, .init = setup, .fini = teardown);

/* ----- building exchanges ----------------------------------------------------------------- */

static void hdr(struct rp_headers *h, const char *name, const char *value)
{
    cr_assert_eq(rp_headers_add(h, name, strlen(name), value, strlen(value), NULL), RP_OK);
}

static void body(struct rp_body *b, const char *text)
{
    rp_body_set(b, text, strlen(text));
}

/* A request (method, url, optional content type and body) answered 200 with ctype and rbody. */
static void make(struct rp_exchange *ex, const char *method, const char *url, const char *ctype,
                 const char *req_body, const char *rctype, const char *rbody)
{
    rp_exchange_init(ex);
    ex->start_us = 1700000000LL * 1000000;
    ex->req.method = rp_xstrdup(method);
    ex->req.url = rp_xstrdup(url);
    if (ctype) {
        hdr(&ex->req.headers, "Content-Type", ctype);
    }
    if (req_body) {
        body(&ex->req.body, req_body);
    }
    ex->has_response = true;
    ex->resp.status = 200;
    if (rctype) {
        hdr(&ex->resp.headers, "Content-Type", rctype);
    }
    if (rbody) {
        body(&ex->resp.body, rbody);
    }
}

static void add(struct rp_intake *in, struct rp_exchange *ex)
{
    struct rp_error err = {0};
    enum rp_intake_fate fate = RP_INTAKE_FAILED;
    cr_assert_eq(rp_intake_add(in, ex, &fate, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(fate, RP_INTAKE_RECORDED);
    rp_exchange_cleanup(ex);
}

static struct rp_intake *open_intake(const char *path)
{
    struct rp_intake_opts o = {.output = path, .source_kind = "proxy"};
    struct rp_intake *in = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_intake_new(&o, &in, &err), RP_OK, "%s", err.msg);
    return in;
}

static void close_intake(struct rp_intake *in)
{
    struct rp_error err = {0};
    cr_assert_eq(rp_intake_close(in, &err), RP_OK, "%s", err.msg);
    rp_intake_free(in);
}

/* Reads the recording at path into v (exactly n exchanges). */
static void read_back(const char *path, struct rp_exchange *v, size_t n)
{
    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    for (size_t k = 0; k <= n; k++) {
        struct rp_exchange ex;
        rp_exchange_init(&ex);
        bool got = false;
        cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
        if (k == n) {
            cr_assert(!got, "more than %zu exchanges", n);
            rp_exchange_cleanup(&ex);
            break;
        }
        cr_assert(got, "only %zu exchanges", k);
        v[k] = ex;
    }
    rp_reader_free(r);
}

static const char *h_of(const struct rp_headers *h, const char *name)
{
    const struct rp_header *e = rp_headers_get(h, name, NULL);
    cr_assert_not_null(e, "no header %s", name);
    return e->value;
}

static const char *text(const struct rp_body *b)
{
    return b->len ? (const char *)b->data : "";
}

static void expect_var(const struct rp_exchange *ex, size_t i, const char *name, const char *from)
{
    cr_assert_gt(ex->n_vars, i, "exchange %llu declares %zu variables", (unsigned long long)ex->seq,
                 ex->n_vars);
    cr_expect_str_eq(ex->vars[i].name, name);
    cr_expect_str_eq(ex->vars[i].from, from);
}

/* ----- recording -------------------------------------------------------------------------- */

#define AT1  "AT1-opaque-abcdef123"
#define RT1  "RT1-opaque-zyx987654"
#define AT2  "AT2-opaque-qwerty5678"
#define RT2  "RT2-opaque-mnbvc4321"
#define SID  "S3ssionValue0123456"
#define JWT  "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
#define JWT2 "eyJhbGciOiJub25lIn0.eyJzdWIiOiIyIn0.c2ln"

Test(vars, tokens_become_variables_at_birth_and_every_use_and_rotation_gives_new_names)
{
    char *path = path_in(dir, "rec.jsonl.gz");
    struct rp_intake *in = open_intake(path);
    struct rp_exchange ex;

    /* 1: log-in; the user's password is a secret, the tokens and the session cookie are not. */
    make(&ex, "POST", "https://api.test/login", "application/json",
         "{\"email\":\"a@b.test\",\"password\":\"hunter2\"}", "application/json",
         "{\"access_token\":\"" AT1 "\",\"refresh_token\":\"" RT1 "\",\"token_type\":\"Bearer\","
         "\"user\":{\"id\":7,\"session_id\":\"short\"}}");
    hdr(&ex.resp.headers, "Set-Cookie", "sid=" SID "; Path=/; HttpOnly");
    hdr(&ex.resp.headers, "Set-Cookie", "theme=dark; Path=/");
    add(in, &ex);
    /* 2: the access token back as a Bearer credential and in the query. */
    make(&ex, "GET", "https://api.test/me?access_token=" AT1 "&x=1", NULL, NULL, "application/json",
         "{\"id\":7}");
    hdr(&ex.req.headers, "Authorization", "Bearer " AT1);
    hdr(&ex.req.headers, "Cookie", "sid=" SID "; theme=dark");
    add(in, &ex);
    /* 3: refresh: the refresh token in a JSON body; a new pair comes back. */
    make(&ex, "POST", "https://api.test/refresh", "application/json",
         "{\"refresh_token\":\"" RT1 "\"}", "application/json",
         "{\"access_token\":\"" AT2 "\",\"refresh_token\":\"" RT2 "\"}");
    add(in, &ex);
    /* 4: the new token in a custom header, with another scheme, and in a form. */
    make(&ex, "POST", "https://api.test/orders", "application/x-www-form-urlencoded",
         "item=a&token=" AT2, "text/html", "<p>" JWT "</p>");
    hdr(&ex.req.headers, "X-Auth-Token", AT2);
    hdr(&ex.req.headers, "Authorization", "Token " AT2);
    add(in, &ex);
    /* 5: the JWT an HTML page gave, back in a header; a client's own Basic stays a secret. */
    make(&ex, "GET", "https://api.test/x", NULL, NULL, "text/plain", "fine");
    hdr(&ex.req.headers, "X-Jwt", JWT);
    hdr(&ex.req.headers, "Proxy-Authorization", "Basic dXNlcjpwYXNz");
    hdr(&ex.resp.headers, "X-Session-Token", "HeaderGiven-0123456789");
    hdr(&ex.resp.headers, "Link", "</next>; token=" JWT2);
    add(in, &ex);
    close_intake(in);

    /* Not one live credential in the file's bytes. */
    size_t len = 0;
    char *raw = gunzip_file(path, &len);
    cr_assert_not_null(raw);
    const char *live[] = {
        AT1, RT1, AT2, RT2, SID, JWT, JWT2, "HeaderGiven-0123456789", "hunter2", "dXNlcjpwYXNz",
        NULL};
    for (size_t i = 0; live[i]; i++) {
        cr_expect_null(memmem(raw, len, live[i], strlen(live[i])), "%s is in the recording",
                       live[i]);
    }
    cr_expect_null(memmem(raw, len, "secret:authorization", 20), "a token became a secret");
    free(raw);

    struct rp_exchange v[5];
    read_back(path, v, 5);
    /* 1: births, in body order, then the cookie; "short" is no credential; theme is no var. */
    cr_assert_eq(v[0].n_vars, 3);
    expect_var(&v[0], 0, "access_token", "body $.access_token");
    expect_var(&v[0], 1, "refresh_token", "body $.refresh_token");
    expect_var(&v[0], 2, "cookie_sid", "cookie sid");
    cr_expect_str_eq(text(&v[0].resp.body),
                     "{\"access_token\":\"{{var:access_token}}\",\"refresh_token\":\""
                     "{{var:refresh_token}}\",\"token_type\":\"Bearer\","
                     "\"user\":{\"id\":7,\"session_id\":\"short\"}}");
    cr_expect_str_eq(v[0].resp.headers.v[1].value, "sid={{var:cookie_sid}}; Path=/; HttpOnly");
    cr_expect_str_eq(v[0].resp.headers.v[2].value, "theme={{secret:cookie_theme}}; Path=/");
    cr_expect_str_eq(text(&v[0].req.body),
                     "{\"email\":\"a@b.test\",\"password\":\"{{secret:password}}\"}");
    /* 2: uses. */
    cr_expect_eq(v[1].n_vars, 0);
    cr_expect_str_eq(v[1].req.url, "https://api.test/me?access_token={{var:access_token}}&x=1");
    cr_expect_str_eq(h_of(&v[1].req.headers, "Authorization"), "Bearer {{var:access_token}}");
    cr_expect_str_eq(h_of(&v[1].req.headers, "Cookie"),
                     "sid={{var:cookie_sid}}; theme={{secret:cookie_theme}}");
    /* 3: rotation: new values, new names. */
    cr_expect_str_eq(text(&v[2].req.body), "{\"refresh_token\":\"{{var:refresh_token}}\"}");
    cr_assert_eq(v[2].n_vars, 2);
    expect_var(&v[2], 0, "access_token_2", "body $.access_token");
    expect_var(&v[2], 1, "refresh_token_2", "body $.refresh_token");
    /* 4: any header, any scheme, a form field; the HTML's JWT is born as "body jwt 1". */
    cr_expect_str_eq(h_of(&v[3].req.headers, "X-Auth-Token"), "{{var:access_token_2}}");
    cr_expect_str_eq(h_of(&v[3].req.headers, "Authorization"), "Token {{var:access_token_2}}");
    cr_expect_str_eq(text(&v[3].req.body), "item=a&token={{var:access_token_2}}");
    cr_assert_eq(v[3].n_vars, 1);
    expect_var(&v[3], 0, "jwt", "body jwt 1");
    cr_expect_str_eq(text(&v[3].resp.body), "<p>{{var:jwt}}</p>");
    /* 5: the JWT used; a token header and a JWT inside a header born. */
    cr_expect_str_eq(h_of(&v[4].req.headers, "X-Jwt"), "{{var:jwt}}");
    cr_expect_str_eq(h_of(&v[4].req.headers, "Proxy-Authorization"),
                     "Basic {{secret:proxy_authorization}}");
    cr_assert_eq(v[4].n_vars, 2);
    expect_var(&v[4], 0, "x_session_token", "header X-Session-Token");
    expect_var(&v[4], 1, "jwt_2", "header Link jwt 1");
    cr_expect_str_eq(h_of(&v[4].resp.headers, "Link"), "</next>; token={{var:jwt_2}}");
    for (size_t i = 0; i < 5; i++) {
        rp_exchange_cleanup(&v[i]);
    }
    free(path);
}

Test(vars, placeholder_names_never_collide)
{
    char *path = path_in(dir, "names.jsonl.gz");
    struct rp_intake *in = open_intake(path);
    struct rp_exchange ex;
    make(&ex, "POST", "https://api.test/a", "application/json", "{\"password\":\"jsonpass\"}", NULL,
         NULL);
    hdr(&ex.req.headers, "Authorization", "Basic dXNlcjpwYXNz");
    add(in, &ex);
    make(&ex, "POST", "https://api.test/b", "application/x-www-form-urlencoded",
         "password=formpass&again=1", NULL, NULL);
    hdr(&ex.req.headers, "Authorization", "Bearer client-own-key-123");
    add(in, &ex);
    make(&ex, "POST", "https://api.test/c", "application/x-www-form-urlencoded",
         "password=jsonpass", NULL, NULL);
    hdr(&ex.req.headers, "Authorization", "Basic dXNlcjpwYXNz");
    add(in, &ex);
    close_intake(in);

    struct rp_exchange v[3];
    read_back(path, v, 3);
    cr_expect_str_eq(text(&v[0].req.body), "{\"password\":\"{{secret:password}}\"}");
    cr_expect_str_eq(h_of(&v[0].req.headers, "Authorization"), "Basic {{secret:authorization}}");
    cr_expect_str_eq(text(&v[1].req.body), "password={{secret:password_2}}&again=1");
    cr_expect_str_eq(h_of(&v[1].req.headers, "Authorization"), "Bearer {{secret:authorization_2}}");
    /* The same value again: the same name. */
    cr_expect_str_eq(text(&v[2].req.body), "password={{secret:password}}");
    cr_expect_str_eq(h_of(&v[2].req.headers, "Authorization"), "Basic {{secret:authorization}}");
    for (size_t i = 0; i < 3; i++) {
        rp_exchange_cleanup(&v[i]);
    }
    free(path);
}

Test(vars, a_value_inside_a_longer_token_is_left_and_no_redact_keeps_everything)
{
    char *path = path_in(dir, "edge.jsonl.gz");
    struct rp_intake *in = open_intake(path);
    struct rp_exchange ex;
    make(&ex, "POST", "https://api.test/login", NULL, NULL, "application/json",
         "{\"token\":\"abcdefgh12\"}");
    add(in, &ex);
    make(&ex, "GET", "https://api.test/x?a=abcdefgh12345&b=abcdefgh12", NULL, NULL, NULL, NULL);
    add(in, &ex);
    /* An escaped token (PHP writes "a\/b"): decoded, and sent back percent-encoded. */
    make(&ex, "POST", "https://api.test/login2", NULL, NULL, "application/json",
         "{\"api_key\":\"key+with\\/slash==\"}");
    add(in, &ex);
    make(&ex, "GET", "https://api.test/y?k=key%2Bwith%2Fslash%3D%3D", NULL, NULL, NULL, NULL);
    hdr(&ex.req.headers, "X-Api-Key", "key+with/slash==");
    add(in, &ex);
    close_intake(in);
    struct rp_exchange v[4];
    read_back(path, v, 4);
    cr_expect_str_eq(v[1].req.url, "https://api.test/x?a=abcdefgh12345&b={{var:token}}");
    cr_expect_str_eq(text(&v[2].resp.body), "{\"api_key\":\"{{var:api_key}}\"}");
    cr_expect_str_eq(v[3].req.url, "https://api.test/y?k={{var:api_key}}");
    cr_expect_str_eq(h_of(&v[3].req.headers, "X-Api-Key"), "{{var:api_key}}");
    for (size_t i = 0; i < 4; i++) {
        rp_exchange_cleanup(&v[i]);
    }
    free(path);
}

Test(vars, har_import_goes_through_the_same_pipeline)
{
    char *path = path_in(dir, "har.jsonl.gz");
    struct rp_intake_opts o = {.output = path, .source_kind = "har"};
    struct rp_intake *in = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_intake_new(&o, &in, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_har_import(REPRISE_TEST_DATA "/har/token.har", in, NULL, NULL, &err), RP_OK,
                 "%s", err.msg);
    close_intake(in);

    size_t len = 0;
    char *raw = gunzip_file(path, &len);
    const char *live[] = {"eyJhbGciOiJIUzI1NiJ9",
                          "HarSessionCookie42",
                          "har-refresh-0123456789",
                          "opaque-new-access-7777",
                          "har-refresh-abcdefghij",
                          "pw-typed-by-user",
                          NULL};
    for (size_t i = 0; live[i]; i++) {
        cr_expect_null(memmem(raw, len, live[i], strlen(live[i])), "%s is in the recording",
                       live[i]);
    }
    free(raw);
    struct rp_exchange v[4];
    read_back(path, v, 4);
    cr_assert_eq(v[0].n_vars, 3);
    expect_var(&v[0], 0, "token", "body $.data.login.token");
    expect_var(&v[0], 1, "refreshtoken", "body $.data.login.refreshToken");
    expect_var(&v[0], 2, "cookie_session_id", "cookie session_id");
    cr_expect_str_eq(text(&v[0].req.body),
                     "{\"username\":\"u\",\"password\":\"{{secret:password}}\"}");
    cr_expect_str_eq(h_of(&v[1].req.headers, "Authorization"), "Bearer {{var:token}}");
    cr_expect_str_eq(h_of(&v[1].req.headers, "Cookie"), "session_id={{var:cookie_session_id}}");
    cr_expect_str_eq(text(&v[2].req.body), "{\"refreshToken\": \"{{var:refreshtoken}}\"}");
    cr_assert_eq(v[2].n_vars, 2);
    expect_var(&v[2], 0, "token_2", "body $.data.login.token");
    expect_var(&v[2], 1, "refreshtoken_2", "body $.data.login.refreshToken");
    cr_expect_str_eq(h_of(&v[3].req.headers, "Authorization"), "Bearer {{var:token_2}}");
    for (size_t i = 0; i < 4; i++) {
        rp_exchange_cleanup(&v[i]);
    }
    free(path);
}

/* ----- places and the table --------------------------------------------------------------- */

Test(vars, places_parse_and_take_the_value_from_a_live_response)
{
    struct rp_response r;
    memset(&r, 0, sizeof(r));
    rp_headers_init(&r.headers);
    hdr(&r.headers, "Set-Cookie", "sid=live-sid-value; Path=/");
    hdr(&r.headers, "X-Auth-Token", "live-header-token");
    hdr(&r.headers, "Link", "<a>; t=" JWT2);
    body(&r.body, "{\"data\":{\"login\":{\"token\":\"live\\/tok\"}},\"a b\":[\"x\",\"" JWT "\"]}");
    struct {
        const char *from;
        const char *want;
    } cases[] = {
        {"body $.data.login.token", "live/tok"},
        {"body $[\"a b\"][1]", JWT},
        {"body jwt 1", JWT},
        {"header x-auth-token", "live-header-token"},
        {"header Link jwt 1", JWT2},
        {"cookie sid", "live-sid-value"},
        {"body $.missing", NULL},
        {"body jwt 2", NULL},
        {"cookie other", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rp_var_place p;
        struct rp_error err = {0};
        cr_assert_eq(rp_var_place_parse(cases[i].from, &p, &err), RP_OK, "%s", err.msg);
        char *v = NULL;
        bool got = rp_var_take(&p, &r, &v);
        if (cases[i].want) {
            cr_expect(got, "%s: nothing", cases[i].from);
            cr_expect_str_eq(v ? v : "", cases[i].want, "%s", cases[i].from);
        } else {
            cr_expect(!got, "%s: %s", cases[i].from, v);
        }
        free(v);
    }
    const char *bad[] = {"body",    "body jwt 0",   "header", "cookie a b",
                         "query x", "header X jwt", NULL};
    for (size_t i = 0; bad[i]; i++) {
        struct rp_var_place p;
        struct rp_error err = {0};
        cr_expect_eq(rp_var_place_parse(bad[i], &p, &err), RP_EFORMAT, "%s", bad[i]);
    }
    rp_response_cleanup(&r);
}

/* ----- replay ----------------------------------------------------------------------------- */

struct upstream {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t mu;
    unsigned n_seen;
    char auth[8][128];
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)method;
    (void)version;
    (void)upload_data;
    struct upstream *up = cls;
    if (!*con_cls) {
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    pthread_mutex_lock(&up->mu);
    if (up->n_seen < 8) {
        snprintf(up->auth[up->n_seen], sizeof(up->auth[0]), "%s", auth ? auth : "");
    }
    up->n_seen++;
    pthread_mutex_unlock(&up->mu);
    /* /login gives a token the recording never saw; /login-broken gives none. */
    const char *answer =
        strcmp(url, "/login") == 0 ? "{\"access_token\":\"LIVE-token-5678abcd\"}" : "{\"ok\":true}";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(answer), (void *)answer, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
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
    cr_assert(info && info->port);
    up->port = info->port;
}

struct event {
    uint64_t seq;
    enum rp_replay_status status;
    rp_code code;
    char auth[128];
    char message[256];
};

struct events {
    struct event v[8];
    size_t n;
};

static void on_result(void *ud, const struct rp_replay_event *ev)
{
    struct events *es = ud;
    cr_assert_lt(es->n, 8);
    struct event *e = &es->v[es->n++];
    e->seq = ev->recorded->seq;
    e->status = ev->status;
    e->code = ev->code;
    const struct rp_header *h = rp_headers_get(&ev->live->req.headers, "Authorization", NULL);
    snprintf(e->auth, sizeof(e->auth), "%s", h ? h->value : "");
    snprintf(e->message, sizeof(e->message), "%s", ev->message ? ev->message : "");
}

/* A recording: log-in at login_path, then a request with the token, then one more. */
static char *write_recording(const char *login_path, const char *use)
{
    char src[4096];
    snprintf(src, sizeof(src),
             "{\"reprise\":1,\"name\":\"v\",\"source\":{\"kind\":\"proxy\"},\"tenants\":[]}\n"
             "{\"seq\":1,\"request\":{\"method\":\"POST\",\"url\":\"http://api.test%s\","
             "\"headers\":[]},\"response\":{\"status\":200,\"headers\":[[\"Content-Type\","
             "\"application/json\"]],\"body\":\"{\\\"access_token\\\":\\\"{{var:access_token}}"
             "\\\"}\"},\"vars\":[{\"name\":\"access_token\",\"from\":\"body $.access_token\"}]}\n"
             "{\"seq\":2,\"request\":{\"method\":\"GET\",\"url\":\"http://api.test/me\","
             "\"headers\":[[\"Authorization\",\"Bearer {{var:%s}}\"]]},\"response\":"
             "{\"status\":200,\"headers\":[]}}\n"
             "{\"seq\":3,\"request\":{\"method\":\"GET\",\"url\":\"http://api.test/after\","
             "\"headers\":[]},\"response\":{\"status\":200,\"headers\":[]}}\n",
             login_path, use);
    char *plain = path_in(dir, "rec.jsonl");
    char *gz = path_in(dir, "rec.jsonl.gz");
    write_file(plain, src, strlen(src));
    cr_assert_eq(gzip_file(plain, gz), 0);
    free(plain);
    return gz;
}

/* Replays path against the upstream; returns the run's code and message. */
static rp_code run(struct upstream *up, const char *path, struct events *es, char *msg,
                   size_t msgsz)
{
    char target[64];
    snprintf(target, sizeof(target), "http://127.0.0.1:%u", up->port);
    /* The recording has no tenant, and its log-in is a POST: meant (the tenant guard). */
    struct rp_replay_opts o = {
        .target = target, .run_id = "r1", .same_tenant = true, .on_result = on_result, .ud = es};
    struct rp_replay *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_replay_new(&o, &r, &err), RP_OK, "%s", err.msg);
    rp_replay_add_recording(r, path);
    rp_code rc = rp_replay_run(r, &err);
    snprintf(msg, msgsz, "%s", rc ? err.msg : "");
    rp_replay_free(r);
    return rc;
}

Test(vars, replay_sends_the_live_token_and_reports_the_placeholder)
{
    struct upstream up;
    upstream_start(&up);
    char *path = write_recording("/login", "access_token");
    struct events es = {0};
    char msg[RP_ERROR_MSG_MAX];
    cr_assert_eq(run(&up, path, &es, msg, sizeof(msg)), RP_OK, "%s", msg);
    cr_assert_eq(up.n_seen, 3);
    cr_expect_str_eq(up.auth[1], "Bearer LIVE-token-5678abcd");
    cr_assert_eq(es.n, 3);
    cr_expect_str_eq(es.v[1].auth, "Bearer {{var:access_token}}");
    cr_expect_eq(es.v[1].status, RP_REPLAY_DONE);
    MHD_stop_daemon(up.d);
    free(path);
}

Test(vars, a_variable_missing_live_stops_the_session_and_nothing_is_sent)
{
    struct upstream up;
    upstream_start(&up);
    char *path = write_recording("/login-broken", "access_token");
    struct events es = {0};
    char msg[RP_ERROR_MSG_MAX];
    /* A refusal, like a correlated value missing live: not a failure of the target. */
    cr_assert_eq(run(&up, path, &es, msg, sizeof(msg)), RP_OK, "%s", msg);
    cr_assert_eq(up.n_seen, 1, "only the log-in went out");
    cr_assert_eq(es.n, 3);
    cr_expect_eq(es.v[0].status, RP_REPLAY_DONE);
    cr_expect_eq(es.v[1].status, RP_REPLAY_UNSAFE);
    cr_expect_eq(es.v[1].code, RP_EMISSING);
    cr_expect_str_eq(es.v[1].message,
                     "variable access_token: body $.access_token not in the live response of #1");
    cr_expect_eq(es.v[2].status, RP_REPLAY_SKIPPED);
    MHD_stop_daemon(up.d);
    free(path);
}

Test(vars, an_undeclared_variable_is_an_input_error_before_anything_is_sent)
{
    struct upstream up;
    upstream_start(&up);
    char *path = write_recording("/login", "nobody");
    struct events es = {0};
    char msg[RP_ERROR_MSG_MAX];
    cr_assert_eq(run(&up, path, &es, msg, sizeof(msg)), RP_EFORMAT);
    cr_expect(strstr(msg, "variable nobody is used but no earlier response gives it") != NULL, "%s",
              msg);
    cr_expect_eq(up.n_seen, 0);
    cr_expect_eq(es.n, 0);
    MHD_stop_daemon(up.d);
    free(path);
}
