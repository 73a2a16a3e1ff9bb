/* SPDX-License-Identifier: MIT */
/* The replay's guards: the tenant guard's verdict and message, the survey of a recording as
 * the pre-pass sees it, the refusal by rp_replay_run() before anything is sent, --stop-on's
 * status lists, and the output path check of the reports. */
#include <criterion/criterion.h>

#include <reprise/replay.h>
#include <reprise/report.h>

#include "helpers.h"

/* ----- status lists ---------------------------------------------------------------------- */

Test(guard, status_classes_and_codes)
{
    struct rp_status_set s;
    struct rp_error err = {0};
    cr_assert_eq(rp_status_set_parse("5xx", &s, &err), RP_OK);
    cr_assert(rp_status_set_has(&s, 500));
    cr_assert(rp_status_set_has(&s, 599));
    cr_assert_not(rp_status_set_has(&s, 499));
    cr_assert_not(rp_status_set_has(&s, 600));
    cr_assert_not(rp_status_set_has(&s, 0));

    cr_assert_eq(rp_status_set_parse("429,503,4XX", &s, &err), RP_OK);
    cr_assert(rp_status_set_has(&s, 429));
    cr_assert(rp_status_set_has(&s, 400));
    cr_assert(rp_status_set_has(&s, 503));
    cr_assert_not(rp_status_set_has(&s, 500));
    cr_assert_not(rp_status_set_has(&s, 200));

    cr_assert_eq(rp_status_set_parse("100,199", &s, &err), RP_OK);
    cr_assert(rp_status_set_has(&s, 100) && rp_status_set_has(&s, 199));
    cr_assert_not(rp_status_set_has(&s, 150));
}

Test(guard, status_lists_refused)
{
    static const char *const bad[] = {"",     "5x",   "5xxx", "600", "6xx",  "0xx",
                                      "500,", ",500", "50a",  "x5x", "500 ", "5xx;4xx"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rp_status_set s;
        struct rp_error err = {0};
        cr_assert_eq(rp_status_set_parse(bad[i], &s, &err), RP_EUSAGE, "'%s' accepted", bad[i]);
        cr_assert(strstr(err.msg, "--stop-on") != NULL, "%s", err.msg);
    }
}

Test(guard, read_methods)
{
    cr_assert(rp_method_is_read("GET"));
    cr_assert(rp_method_is_read("HEAD"));
    cr_assert(rp_method_is_read("OPTIONS"));
    cr_assert(rp_method_is_read("get"));
    cr_assert_not(rp_method_is_read("POST"));
    cr_assert_not(rp_method_is_read("PUT"));
    cr_assert_not(rp_method_is_read("PATCH"));
    cr_assert_not(rp_method_is_read("DELETE"));
    cr_assert_not(rp_method_is_read("GETX"));
    cr_assert_not(rp_method_is_read(""));
}

/* ----- the tenant guard's verdict and message ----------------------------------------- */

Test(guard, verdicts)
{
    struct rp_tenant_guard g = {0};
    cr_assert_eq(rp_tenant_guard_verdict(&g), RP_TENANT_READS);
    g.n_tenants = 1; /* a tenant, reads only: nothing to guard either */
    cr_assert_eq(rp_tenant_guard_verdict(&g), RP_TENANT_READS);
    g.writes = 2;
    cr_assert_eq(rp_tenant_guard_verdict(&g), RP_TENANT_UNUSED);
    g.tenant_in_requests = true;
    cr_assert_eq(rp_tenant_guard_verdict(&g), RP_TENANT_OK);
    g.n_tenants = 0;
    g.tenant_in_requests = false;
    cr_assert_eq(rp_tenant_guard_verdict(&g), RP_TENANT_NONE);
}

Test(guard, messages)
{
    struct rp_tenant_guard g = {.writes = 4, .first_write = 2, .first_method = "POST"};
    char msg[512];
    rp_tenant_guard_message(&g, "s.jsonl.gz", msg, sizeof(msg));
    cr_assert_str_eq(msg, "s.jsonl.gz: refused: 4 writes (first: POST #2) and no tenant declared: "
                          "its writes would change the recorded tenant's data; use --tenant "
                          "FROM=TO, re-record with --tenant NAME, or --same-tenant");
    g.n_tenants = 1;
    g.writes = 1;
    g.first_write = 7;
    snprintf(g.first_method, sizeof(g.first_method), "DELETE");
    snprintf(g.tenant, sizeof(g.tenant), "zeta");
    rp_tenant_guard_message(&g, "z", msg, sizeof(msg));
    cr_assert_str_eq(msg, "z: refused: 1 write (first: DELETE #7) and tenant zeta in no request: "
                          "its writes would change the recorded tenant's data; use --tenant "
                          "FROM=TO, re-record with --tenant NAME, or --same-tenant");
    g.n_tenants = 2;
    rp_tenant_guard_message(&g, "z", msg, sizeof(msg));
    cr_assert(strstr(msg, "and tenant zeta (nor any other) in no request:") != NULL, "%s", msg);
    g.tenant_in_requests = true;
    rp_tenant_guard_message(&g, "z", msg, sizeof(msg));
    cr_assert_str_eq(msg, "");
    /* Cut to fit, never past it. */
    g.tenant_in_requests = false;
    char small[12];
    rp_tenant_guard_message(&g, "z", small, sizeof(small));
    cr_assert_str_eq(small, "z: refused:");
}

/* ----- recordings -------------------------------------------------------------------------- */

static char *dir;

static void setup(void)
{
    dir = tmp_dir();
}

static void teardown(void)
{
    rm_tree(dir);
}

/* Writes a recording NAME.jsonl.gz in dir: header with tenants (a JSON array, or NULL for
 * none), then one exchange per "METHOD URL BODY" line (BODY may be empty). */
static char *write_rec(const char *name, const char *tenants, const char *const *reqs, size_t n)
{
    char plain[64], gz[64];
    snprintf(plain, sizeof(plain), "%s.jsonl", name);
    snprintf(gz, sizeof(gz), "%s.jsonl.gz", name);
    char *p = path_in(dir, plain);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"reprise\":1,\"name\":\"%s\",\"created\":\"2026-12-01T00:00:00Z\"", name);
    if (tenants) {
        fprintf(f, ",\"tenants\":%s", tenants);
    }
    fputs("}\n", f);
    for (size_t i = 0; i < n; i++) {
        char method[16], url[256], body[256] = "";
        cr_assert(sscanf(reqs[i], "%15s %255s %255[^\n]", method, url, body) >= 2);
        fprintf(f,
                "{\"seq\":%zu,\"start\":\"2026-12-01T00:00:00Z\",\"duration_us\":1,"
                "\"request\":{\"method\":\"%s\",\"url\":\"%s\",\"version\":\"HTTP/1.1\","
                "\"headers\":[[\"Content-Type\",\"application/json\"]],\"body\":\"%s\"},"
                "\"response\":{\"status\":200,\"version\":\"HTTP/1.1\",\"headers\":[]}}\n",
                i + 1, method, url, body);
    }
    fclose(f);
    char *out = path_in(dir, gz);
    cr_assert_eq(gzip_file(p, out), 0);
    free(p);
    return out;
}

static const char *const shop[] = {
    "GET http://shop.test/",
    "POST http://shop.test/api/signup {\\\"tenant\\\":\\\"acme\\\"}",
    "GET http://shop.test/t/acme/api/orders",
    "DELETE http://shop.test/t/acme/api/orders/4",
};

Test(guard, survey_finds_writes_and_tenants, .init = setup, .fini = teardown)
{
    struct rp_error err = {0};
    struct rp_tenant_guard g;
    char *acme = write_rec("acme", "[\"acme\"]", shop, 4);
    cr_assert_eq(rp_replay_guard_survey(acme, NULL, 0, &g, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(g.writes, 2);
    cr_assert_eq(g.first_write, 2);
    cr_assert_str_eq(g.first_method, "POST");
    cr_assert_eq(g.n_tenants, 1);
    cr_assert_str_eq(g.tenant, "acme");
    cr_assert(g.tenant_in_requests);
    cr_assert_eq(rp_tenant_guard_verdict(&g), RP_TENANT_OK);

    /* "acme-corp" does not hold the token acme; a tenant only in a body counts. */
    static const char *const body_only[] = {
        "GET http://shop.test/t/acme-corp/",
        "PUT http://shop.test/x {\\\"tenant\\\":\\\"acme\\\"}",
    };
    char *b = write_rec("body", "[\"acme\"]", body_only, 2);
    cr_assert_eq(rp_replay_guard_survey(b, NULL, 0, &g, &err), RP_OK, "%s", err.msg);
    cr_assert(g.tenant_in_requests);
    cr_assert_eq(g.writes, 1);
    cr_assert_str_eq(g.first_method, "PUT");

    /* No tenant in the header; --tenant acme declares it at replay. */
    char *none = write_rec("none", NULL, shop, 4);
    cr_assert_eq(rp_replay_guard_survey(none, NULL, 0, &g, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_tenant_guard_verdict(&g), RP_TENANT_NONE);
    const char *from[] = {"acme"};
    cr_assert_eq(rp_replay_guard_survey(none, from, 1, &g, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_tenant_guard_verdict(&g), RP_TENANT_OK);

    /* A declared tenant no request holds; --tenant FROMs replace the header's. */
    char *zeta = write_rec("zeta", "[\"zeta\"]", shop, 4);
    cr_assert_eq(rp_replay_guard_survey(zeta, NULL, 0, &g, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_tenant_guard_verdict(&g), RP_TENANT_UNUSED);
    cr_assert_str_eq(g.tenant, "zeta");
    cr_assert_eq(rp_replay_guard_survey(zeta, from, 1, &g, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_tenant_guard_verdict(&g), RP_TENANT_OK);

    /* Reads only: nothing to guard. */
    static const char *const reads[] = {"GET http://shop.test/", "HEAD http://shop.test/a",
                                        "OPTIONS http://shop.test/b"};
    char *r = write_rec("reads", NULL, reads, 3);
    cr_assert_eq(rp_replay_guard_survey(r, NULL, 0, &g, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(g.writes, 0);
    cr_assert_eq(rp_tenant_guard_verdict(&g), RP_TENANT_READS);

    char *missing = path_in(dir, "no-such.jsonl.gz");
    cr_assert_neq(rp_replay_guard_survey(missing, NULL, 0, &g, &err), RP_OK);
    free(missing);
    free(acme);
    free(b);
    free(none);
    free(zeta);
    free(r);
}

/* ----- the refusal by rp_replay_run ------------------------------------------------------ */

struct counts {
    size_t events;
};

static void on_result(void *ud, const struct rp_replay_event *ev)
{
    (void)ev;
    ((struct counts *)ud)->events++;
}

/* Runs path against a port nothing listens on; returns the code and the message. */
static rp_code run(const char *path, bool same_tenant, bool read_only, const char *tenant,
                   struct counts *c, struct rp_error *err)
{
    struct rp_replay_opts o = {
        .target = "http://127.0.0.1:9",
        .connect_timeout_ms = 2000,
        .timeout_ms = 2000,
        .same_tenant = same_tenant,
        .read_only = read_only,
        .on_result = on_result,
        .ud = c,
    };
    struct rp_replay *r = NULL;
    cr_assert_eq(rp_replay_new(&o, &r, err), RP_OK);
    if (tenant) {
        cr_assert_eq(rp_replay_tenant(r, tenant, "t-{run}", err), RP_OK);
    }
    rp_replay_add_recording(r, path);
    rp_code rc = rp_replay_run(r, err);
    rp_replay_free(r);
    return rc;
}

Test(guard, run_refuses_before_sending, .init = setup, .fini = teardown)
{
    char *none = write_rec("none", NULL, shop, 4);
    struct counts c = {0};
    struct rp_error err = {0};
    cr_assert_eq(run(none, false, false, NULL, &c, &err), RP_ETENANT);
    cr_assert_eq(c.events, 0, "nothing is reported: nothing was sent");
    cr_assert(strstr(err.msg, "none.jsonl.gz: refused: 2 writes (first: POST #2) and no tenant "
                              "declared") != NULL,
              "%s", err.msg);
    cr_assert_eq(rp_code_exit(RP_ETENANT), RP_EXIT_INPUT);

    /* Let go: it then tries to connect (to a closed port) and reports each step. */
    memset(&c, 0, sizeof(c));
    cr_assert_eq(run(none, true, false, NULL, &c, &err), RP_ECONNECT, "%s", err.msg);
    cr_assert_eq(c.events, 4);
    memset(&c, 0, sizeof(c));
    cr_assert_eq(run(none, false, false, "acme", &c, &err), RP_ECONNECT, "%s", err.msg);
    cr_assert_eq(c.events, 4);
    /* --read-only: the writes are SKIPPED, the first read fails to connect. */
    memset(&c, 0, sizeof(c));
    cr_assert_eq(run(none, false, true, NULL, &c, &err), RP_ECONNECT, "%s", err.msg);
    cr_assert_eq(c.events, 4);
    free(none);
}

Test(guard, bad_stop_on_is_a_usage_error)
{
    struct counts c = {0};
    struct rp_replay_opts o = {
        .target = "http://127.0.0.1:9", .stop_on = "5x", .on_result = on_result, .ud = &c};
    struct rp_replay *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_replay_new(&o, &r, &err), RP_EUSAGE);
    cr_assert_null(r);
}

/* ----- output paths ---------------------------------------------------------------------- */

Test(guard, output_paths, .init = setup, .fini = teardown)
{
    struct rp_error err = {0};
    char *ok = path_in(dir, "j.xml");
    cr_assert_eq(rp_report_path_check("--junit", ok, &err), RP_OK, "%s", err.msg);
    cr_assert(access(ok, F_OK) != 0, "the check creates nothing");
    FILE *f = fopen(ok, "w");
    fclose(f);
    cr_assert_eq(rp_report_path_check("--junit", ok, &err), RP_OK, "an existing file is fine");

    char *nodir = path_in(dir, "no/such/r.jsonl.gz");
    cr_assert_eq(rp_report_path_check("--results", nodir, &err), RP_EIO);
    cr_assert(strstr(err.msg, "--results ") == err.msg, "%s", err.msg);
    cr_assert(strstr(err.msg, "nothing was sent") != NULL, "%s", err.msg);

    cr_assert_eq(rp_report_path_check("--results", dir, &err), RP_EIO);
    cr_assert(strstr(err.msg, "is a directory") != NULL, "%s", err.msg);

    char *under_file = path_in(ok, "x"); /* j.xml/x: its "directory" is a file */
    cr_assert_eq(rp_report_path_check("--junit", under_file, &err), RP_EIO);

    cr_assert_eq(rp_report_path_check("--junit", "", &err), RP_EIO);
    if (geteuid() != 0) {
        char *ro = path_in(dir, "ro");
        cr_assert_eq(mkdir(ro, 0555), 0);
        char *in_ro = path_in(ro, "j.xml");
        cr_assert_eq(rp_report_path_check("--junit", in_ro, &err), RP_EIO);
        cr_assert(strstr(err.msg, "cannot create files in") != NULL, "%s", err.msg);
        free(in_ro);
        free(ro);
    }
    free(ok);
    free(nodir);
    free(under_file);
}
