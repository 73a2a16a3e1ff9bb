/* SPDX-License-Identifier: MIT */
/* Unit tests for one step shown to a person (src/report/step.c): heads and capped bodies,
 * scrubbed; the curl command; and the step's name in JUnit and in the results file. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/limits.h>
#include <reprise/report.h>
#include <reprise/scrub.h>

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

TestSuite(report_step, .init = setup, .fini = teardown);

static void add_header(struct rp_headers *h, const char *name, const char *value)
{
    cr_assert_eq(rp_headers_add(h, name, strlen(name), value, strlen(value), NULL), RP_OK);
}

/* A POST with a JSON body and a 201 response that sets a session cookie. */
static void make_order(struct rp_exchange *ex)
{
    rp_exchange_init(ex);
    ex->seq = 6;
    ex->req.method = rp_xstrdup("POST");
    ex->req.url = rp_xstrdup("https://shop.test/t/acme-x1-1/api/orders");
    ex->req.version = rp_xstrdup("HTTP/1.1");
    add_header(&ex->req.headers, "Host", "shop.test");
    add_header(&ex->req.headers, "Content-Type", "application/json");
    add_header(&ex->req.headers, "Content-Length", "11");
    const char *body = "{\"qty\":2}\n";
    rp_body_set(&ex->req.body, body, strlen(body));
    ex->has_response = true;
    ex->resp.status = 201;
    ex->resp.reason = rp_xstrdup("Created");
    ex->resp.version = rp_xstrdup("HTTP/1.1");
    add_header(&ex->resp.headers, "Set-Cookie", "sid=9f8e7d6c5b4a39281706f5e4d3c2b1a0; Path=/");
    add_header(&ex->resp.headers, "Content-Type", "application/json");
    const char *rb = "{\"id\":17,\"status\":\"new\"}";
    rp_body_set(&ex->resp.body, rb, strlen(rb));
}

static char *format(const struct rp_exchange *ex, unsigned parts, size_t body_max, bool scrub)
{
    struct rp_buf b;
    rp_buf_init(&b, 1 << 20);
    struct rp_scrub *s = scrub ? rp_scrub_new() : NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_step_format(&b, ex, parts, body_max, s, &err), RP_OK, "%s", err.msg);
    rp_scrub_free(s);
    return rp_buf_take(&b, NULL);
}

Test(report_step, format_shows_heads_and_bodies_with_the_live_cookie_scrubbed)
{
    struct rp_exchange ex;
    make_order(&ex);
    char *got = format(&ex, RP_STEP_ALL, 4096, true);
    cr_assert_str_eq(got, "POST https://shop.test/t/acme-x1-1/api/orders HTTP/1.1\n"
                          "Host: shop.test\n"
                          "Content-Type: application/json\n"
                          "Content-Length: 11\n"
                          "\n"
                          "{\"qty\":2}\n"
                          "\n"
                          "HTTP/1.1 201 Created\n"
                          "Set-Cookie: sid={{secret:cookie_sid}}; Path=/\n"
                          "Content-Type: application/json\n"
                          "\n"
                          "{\"id\":17,\"status\":\"new\"}\n");
    free(got);
    rp_exchange_cleanup(&ex);
}

Test(report_step, format_cuts_a_long_body_at_a_character_and_says_how_much_is_left)
{
    struct rp_exchange ex;
    make_order(&ex);
    /* "é" is two bytes: a cut at 4 would split the second one. */
    const char *rb = "\xC3\xA9\xC3\xA9\xC3\xA9"
                     "abc";
    rp_body_set(&ex.resp.body, rb, strlen(rb));
    char *got = format(&ex, RP_STEP_RESPONSE_BODY, 5, false);
    cr_assert_str_eq(got, "\n\xC3\xA9\xC3\xA9\n[... 5 more bytes not shown, 9 in all]\n");
    free(got);
    rp_exchange_cleanup(&ex);
}

Test(report_step, format_shows_a_binary_body_as_its_size_and_a_missing_response)
{
    struct rp_exchange ex;
    make_order(&ex);
    const char bin[] = {'\x89', 'P', 'N', 'G', '\0', '\x01'};
    rp_body_set(&ex.req.body, bin, sizeof(bin));
    ex.has_response = false;
    char *got = format(&ex, RP_STEP_REQUEST_BODY | RP_STEP_RESPONSE_HEAD, 4096, false);
    cr_assert_str_eq(got, "\n[binary body, 6 bytes]\n\n(no response)\n");
    free(got);
    rp_exchange_cleanup(&ex);
}

static char *curl_of(const struct rp_request *rq)
{
    struct rp_buf b;
    rp_buf_init(&b, 1 << 20);
    struct rp_error err = {0};
    cr_assert_eq(rp_step_curl(&b, rq, &err), RP_OK, "%s", err.msg);
    return rp_buf_take(&b, NULL);
}

Test(report_step, curl_quotes_every_word_and_leaves_secrets_to_the_shell)
{
    struct rp_exchange ex;
    make_order(&ex);
    add_header(&ex.req.headers, "Authorization", "Bearer {{secret:api_token}}");
    add_header(&ex.req.headers, "Cookie", "sid={{var:session}}; theme=dark");
    const char *body = "{\"note\":\"it's {{secret:card number}}\"}";
    rp_body_set(&ex.req.body, body, strlen(body));
    char *got = curl_of(&ex.req);
    cr_assert_str_eq(
        got, "curl -sS -X 'POST' 'https://shop.test/t/acme-x1-1/api/orders' \\\n"
             "  -H 'Content-Type: application/json' \\\n"
             "  -H 'Authorization: Bearer '\"$REPRISE_SECRET_API_TOKEN\"'' \\\n"
             "  -H 'Cookie: sid='\"$REPRISE_VAR_SESSION\"'; theme=dark' \\\n"
             "  --data-binary '{\"note\":\"it'\\''s '\"$REPRISE_SECRET_CARD_NUMBER\"'\"}'\n");
    free(got);
    rp_exchange_cleanup(&ex);
}

Test(report_step, curl_of_a_get_has_no_method_and_a_head_asks_for_headers)
{
    struct rp_request rq = {0};
    rq.method = rp_xstrdup("GET");
    rq.url = rp_xstrdup("https://shop.test/search?q=a b&x=$HOME");
    char *got = curl_of(&rq);
    cr_assert_str_eq(got, "curl -sS 'https://shop.test/search?q=a b&x=$HOME'\n");
    free(got);
    free(rq.method);
    rq.method = rp_xstrdup("HEAD");
    got = curl_of(&rq);
    cr_assert_str_eq(got, "curl -sS -I 'https://shop.test/search?q=a b&x=$HOME'\n");
    free(got);
    rp_request_cleanup(&rq);
}

Test(report_step, curl_command_runs_in_a_shell_as_the_request_was)
{
    /* The shell's own reading of the command: each word echoed on a line of its own. */
    struct rp_request rq = {0};
    rq.method = rp_xstrdup("PUT");
    rq.url = rp_xstrdup("https://shop.test/a'b");
    cr_assert_eq(rp_headers_add(&rq.headers, "X-Key", 5, "k {{secret:key}}!", 17, NULL), RP_OK);
    char *cmd = curl_of(&rq);
    char *script = path_in(dir, "echo.sh");
    FILE *f = fopen(script, "w");
    cr_assert_not_null(f);
    /* "curl" is a function printing its arguments; the secret comes from the environment. */
    fprintf(f, "curl() { printf '%%s\\n' \"$@\"; }\nREPRISE_SECRET_KEY='v $x'\n%s", cmd);
    fclose(f);
    char run[1024];
    snprintf(run, sizeof(run), "bash '%s'", script);
    FILE *p = popen(run, "r");
    cr_assert_not_null(p);
    char out[1024];
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    cr_assert_eq(pclose(p), 0);
    cr_assert_str_eq(out, "-sS\n-X\nPUT\nhttps://shop.test/a'b\n-H\nX-Key: k v $x!\n");
    free(script);
    free(cmd);
    rp_request_cleanup(&rq);
}

/* ----- the step's name in JUnit and in the results file ------------------------------------ */

Test(report_step, junit_names_a_step_by_its_name_and_its_class_by_the_recording)
{
    struct rp_exchange ex;
    make_order(&ex);
    struct rp_verdict v;
    rp_verdict_init(&v);
    v.session = "demo-checkout#12";
    v.recorded_seq = 6;
    v.live = &ex;
    v.outcome = RP_OUTCOME_PASS;
    v.step = "POST /t/{tenant}/api/orders";
    char *path = path_in(dir, "j.xml");
    struct rp_sink sink;
    rp_sink_junit(&sink, path);
    const struct rp_run_info run = {.run_id = "r", .target = "https://shop.test"};
    struct rp_run_summary sum = {.passed = 1};
    struct rp_error err = {0};
    cr_assert_eq(sink.ops->begin(sink.ctx, &run, &err), RP_OK);
    cr_assert_eq(sink.ops->result(sink.ctx, &v, &err), RP_OK);
    cr_assert_eq(sink.ops->end(sink.ctx, &sum, &err), RP_OK, "%s", err.msg);
    rp_sink_free(&sink);
    char *doc = read_whole(path);
    cr_assert_not_null(strstr(doc, "<testcase classname=\"demo-checkout\" "
                                   "name=\"POST /t/{tenant}/api/orders\" time=\"0.000\">\n"
                                   "      <system-out>POST "),
                       "%s", doc);
    cr_assert_not_null(strstr(doc, "Set-Cookie: sid={{secret:cookie_sid}}; Path=/\n"), "%s", doc);
    cr_assert_null(strstr(doc, "9f8e7d6c5b4a39281706f5e4d3c2b1a0"), "the live cookie leaked");
    free(doc);
    free(path);
    rp_exchange_cleanup(&ex);
}

Test(report_step, results_file_keeps_the_step_name_and_tenants_and_reads_them_back)
{
    struct rp_exchange ex;
    make_order(&ex);
    struct rp_verdict v;
    rp_verdict_init(&v);
    v.session = "demo-checkout#1";
    v.recorded_seq = 6;
    v.live = &ex;
    v.outcome = RP_OUTCOME_PASS;
    v.step = "POST /t/{tenant}/api/orders";
    v.tenants = "acme=acme-x1-1\nbeta=beta-x1-1";
    char *path = path_in(dir, "r.jsonl.gz");
    struct rp_sink sink;
    rp_sink_results(&sink, path);
    const struct rp_run_info run = {.run_id = "r", .target = "https://shop.test"};
    struct rp_error err = {0};
    cr_assert_eq(sink.ops->begin(sink.ctx, &run, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(sink.ops->result(sink.ctx, &v, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(sink.ops->end(sink.ctx, NULL, &err), RP_OK, "%s", err.msg);
    rp_sink_free(&sink);

    /* As a person reads it with zcat and jq. */
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "zcat '%s' | tail -n 1 | jq -c '[.check.step, .check.tenants]' >'%s/keys'", path, dir);
    cr_assert_eq(system(cmd), 0);
    char *keys_path = path_in(dir, "keys");
    char *keys = read_whole(keys_path);
    cr_assert_str_eq(
        keys,
        "[\"POST /t/{tenant}/api/orders\",{\"acme\":\"acme-x1-1\",\"beta\":\"beta-x1-1\"}]\n");

    struct rp_results_step st;
    rp_results_step_init(&st);
    cr_assert_eq(rp_results_step(path, 6, NULL, &st, &err), RP_OK, "%s", err.msg);
    cr_assert_str_eq(st.v.step, "POST /t/{tenant}/api/orders");
    cr_assert_str_eq(st.v.tenants, "acme=acme-x1-1\nbeta=beta-x1-1");
    cr_assert_str_eq(st.v.session, "demo-checkout#1");
    cr_assert_eq(st.v.live, &st.live);
    cr_assert_str_eq(st.live.req.url, "https://shop.test/t/acme-x1-1/api/orders");
    cr_assert_eq(st.has_recorded, false); /* the file names no recording */
    cr_assert_eq(rp_results_step(path, 7, NULL, &st, &err), RP_EUSAGE);
    cr_assert_eq(rp_results_step(path, 6, "other#1", &st, &err), RP_EUSAGE);
    rp_results_step_cleanup(&st);
    free(keys);
    free(keys_path);
    free(path);
    rp_exchange_cleanup(&ex);
}
