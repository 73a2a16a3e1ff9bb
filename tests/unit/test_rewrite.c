/* SPDX-License-Identifier: MIT */
/* Unit tests for tenant rewriting (every place and encoding a tenant stands in) and templates. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/limits.h>
#include <reprise/rewrite.h>

/* ----- helpers ---------------------------------------------------------------------------- */

/* A rewriter with the rules given as FROM, TO pairs, ended by NULL. */
static struct rp_rewriter *rules(const char *from, ...)
{
    struct rp_rewriter *rw = rp_rewriter_new();
    va_list ap;
    va_start(ap, from);
    for (const char *f = from; f; f = va_arg(ap, const char *)) {
        const char *t = va_arg(ap, const char *);
        struct rp_error err = {0};
        cr_assert_eq(rp_rewriter_add(rw, f, t, &err), RP_OK, "%s -> %s: %s", f, t, err.msg);
    }
    va_end(ap);
    return rw;
}

/* Asserts that rewriting in gives want, or that nothing matches when want is NULL. */
static void expect(const struct rp_rewriter *rw, const char *in, const char *want)
{
    size_t len = 12345;
    char *got = rp_rewrite_text(rw, in, strlen(in), &len);
    if (!want) {
        cr_assert_null(got, "\"%s\" should not be rewritten, got \"%s\"", in, got);
        cr_assert_eq(len, 12345, "out_len written without a match");
        return;
    }
    cr_assert_not_null(got, "\"%s\" should become \"%s\"", in, want);
    cr_assert_str_eq(got, want, "rewriting \"%s\"", in);
    cr_assert_eq(len, strlen(want));
    free(got);
}

static void add_header(struct rp_request *req, const char *name, const char *value)
{
    cr_assert_eq(rp_headers_add(&req->headers, name, strlen(name), value, strlen(value), NULL),
                 RP_OK);
}

static const char *header(const struct rp_request *req, const char *name)
{
    const struct rp_header *h = rp_headers_get(&req->headers, name, NULL);
    cr_assert_not_null(h, "no header %s", name);
    return h->value;
}

static void set_body(struct rp_request *req, const char *text)
{
    rp_body_set(&req->body, text, strlen(text));
}

/* ----- rules ------------------------------------------------------------------------------ */

Test(rewrite, rules_are_counted_and_bad_ones_refused)
{
    struct rp_rewriter *rw = rp_rewriter_new();
    struct rp_error err = {0};
    cr_assert_eq(rp_rewriter_count(rw), 0);
    cr_assert_eq(rp_rewriter_add(rw, "acme", "acme-r1x", &err), RP_OK);
    cr_assert_eq(rp_rewriter_add(rw, "acme-eu", "eu-r1x", &err), RP_OK);
    cr_assert_eq(rp_rewriter_count(rw), 2);
    cr_assert_eq(rp_rewriter_add(rw, "", "x", &err), RP_EUSAGE);
    cr_assert_eq(rp_rewriter_add(rw, "...", "x", &err), RP_EUSAGE);
    cr_assert_eq(rp_rewriter_add(rw, "@ /", "x", &err), RP_EUSAGE);
    cr_assert_eq(rp_rewriter_add(rw, "acme", "other", &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "tenant \"acme\" has two rules");
    cr_assert_eq(rp_rewriter_add(rw, "bad\xff", "x", &err), RP_EUSAGE);
    cr_assert_eq(rp_rewriter_count(rw), 2);
    rp_rewriter_free(rw);
    rp_rewriter_free(NULL);
}

Test(rewrite, a_rewriter_without_rules_matches_nothing)
{
    struct rp_rewriter *rw = rp_rewriter_new();
    expect(rw, "acme", NULL);
    rp_rewriter_free(rw);
}

/* ----- places in a URL -------------------------------------------------------------------- */

Test(rewrite, host_label_is_rewritten)
{
    struct rp_rewriter *rw = rules("acme", "acme-r1x", NULL);
    expect(rw, "https://acme.shop.test/", "https://acme-r1x.shop.test/");
    expect(rw, "https://shop.acme.test:8443/x", "https://shop.acme-r1x.test:8443/x");
    rp_rewriter_free(rw);
}

Test(rewrite, path_segment_is_rewritten)
{
    struct rp_rewriter *rw = rules("acme", "acme-r1x", NULL);
    expect(rw, "/t/acme/orders", "/t/acme-r1x/orders");
    expect(rw, "/t/acme", "/t/acme-r1x");
    expect(rw, "/t/acme.json", "/t/acme-r1x.json");
    rp_rewriter_free(rw);
}

Test(rewrite, query_value_is_rewritten)
{
    struct rp_rewriter *rw = rules("acme", "acme-r1x", NULL);
    expect(rw, "/search?tenant=acme&x=1", "/search?tenant=acme-r1x&x=1");
    expect(rw, "/search?a=1&tenant=acme", "/search?a=1&tenant=acme-r1x");
    expect(rw, "/search?t=acme,acme", "/search?t=acme-r1x,acme-r1x");
    rp_rewriter_free(rw);
}

Test(rewrite, percent_escapes_around_a_match_count_as_their_character)
{
    struct rp_rewriter *rw = rules("acme", "acme-r1x", NULL);
    expect(rw, "/r?next=%2Ft%2Facme%2Forders", "/r?next=%2Ft%2Facme-r1x%2Forders");
    expect(rw, "/r?next=%2ft%2facme%2forders", "/r?next=%2ft%2facme-r1x%2forders");
    /* %2D is '-' and %41 is 'A': token characters, so no boundary. */
    expect(rw, "/r?next=%2Dacme", NULL);
    expect(rw, "/r?next=%41acme", NULL);
    expect(rw, "/r?next=acme%2D1", NULL);
    expect(rw, "/r?next=acme%5F", NULL);
    rp_rewriter_free(rw);
}

Test(rewrite, url_encoded_tenant_with_space_and_non_ascii_is_rewritten)
{
    struct rp_rewriter *rw = rules("\xC3\x9Cn\xC3\xAF"
                                   "code Co",
                                   "x y", NULL);
    expect(rw, "https://h.test/t/%C3%9Cn%C3%AFcode%20Co/x", "https://h.test/t/x%20y/x");
    /* Lower-case hex in the input matches too; the output is upper-case. */
    expect(rw, "https://h.test/t/%c3%9cn%c3%afcode%20Co/x", "https://h.test/t/x%20y/x");
    expect(rw, "https://h.test/?org=%C3%9Cn%C3%AFcode+Co&a=1", "https://h.test/?org=x+y&a=1");
    expect(rw, "https://h.test/t/%C3%9Cn%C3%AFcode%20Cox", NULL);
    rp_rewriter_free(rw);
}

/* ----- e-mail addresses ------------------------------------------------------------------- */

Test(rewrite, email_domain_label_is_rewritten)
{
    struct rp_rewriter *rw = rules("acme", "acme-r1x", NULL);
    expect(rw, "owner@acme.test", "owner@acme-r1x.test");
    rp_rewriter_free(rw);
}

Test(rewrite, email_plus_tag_is_rewritten)
{
    struct rp_rewriter *rw = rules("acme", "acme-r1x", NULL);
    expect(rw, "qa+acme@x.test", "qa+acme-r1x@x.test");
    expect(rw, "email=qa%2Bacme%40x.test", "email=qa%2Bacme-r1x%40x.test");
    rp_rewriter_free(rw);
}

Test(rewrite, email_local_part_is_rewritten)
{
    struct rp_rewriter *rw = rules("acme", "acme-r1x", NULL);
    expect(rw, "acme@x.test", "acme-r1x@x.test");
    expect(rw, "{\"email\":\"acme@acme.test\"}", "{\"email\":\"acme-r1x@acme-r1x.test\"}");
    rp_rewriter_free(rw);
}

/* ----- what does not match ---------------------------------------------------------------- */

Test(rewrite, a_tenant_inside_a_longer_token_is_left_alone)
{
    struct rp_rewriter *rw = rules("acme", "acme-r1x", NULL);
    expect(rw, "acme-corp", NULL);
    expect(rw, "acmeshop", NULL);
    expect(rw, "xacme", NULL);
    expect(rw, "my-acme", NULL);
    expect(rw, "acme_1", NULL);
    expect(rw, "ACME", NULL);
    expect(rw, "Acme", NULL);
    expect(rw, "acm", NULL);
    expect(rw, "", NULL);
    rp_rewriter_free(rw);
}

/* ----- order -------------------------------------------------------------------------------*/

Test(rewrite, longer_tenants_are_rewritten_first)
{
    /* Added shortest first: the order of the rules must not matter. */
    struct rp_rewriter *rw = rules("acme", "A1", "acme-eu", "E1", "eu", "X", NULL);
    expect(rw, "acme-eu.shop/acme/eu", "E1.shop/A1/X");
    expect(rw, "acme-eu", "E1");
    rp_rewriter_free(rw);
}

Test(rewrite, replaced_text_is_not_rewritten_again)
{
    struct rp_rewriter *rw = rules("a", "ab", "ab", "x", NULL);
    expect(rw, "a ab", "ab x");
    expect(rw, "a", "ab");
    rp_rewriter_free(rw);

    rw = rules("acme", "acme acme", NULL);
    expect(rw, "acme", "acme acme");
    rp_rewriter_free(rw);
}

/* ----- JSON ------------------------------------------------------------------------------- */

Test(rewrite, json_string_is_rewritten)
{
    struct rp_rewriter *rw = rules("acme", "acme-r1x", NULL);
    expect(rw, "{\"tenant\":\"acme\",\"name\":\"acme shop\",\"acme\":1}",
           "{\"tenant\":\"acme-r1x\",\"name\":\"acme-r1x shop\",\"acme-r1x\":1}");
    rp_rewriter_free(rw);
}

Test(rewrite, json_escapes_around_a_match_count_as_their_character)
{
    struct rp_rewriter *rw = rules("acme", "acme-r1x", NULL);
    expect(rw, "\"line\\nacme\\tacme\"", "\"line\\nacme-r1x\\tacme-r1x\"");
    expect(rw, "\"x\\u002facme\"", "\"x\\u002facme-r1x\"");
    expect(rw, "\"x\\/acme\\/\"", "\"x\\/acme-r1x\\/\"");
    /* An escaped backslash followed by a plain 'n': the 'n' is a letter. */
    expect(rw, "\"x\\\\nacme\"", NULL);
    /* \u0041 is 'A'. */
    expect(rw, "\"\\u0041acme\"", NULL);
    expect(rw, "\"acme\\u0041\"", NULL);
    rp_rewriter_free(rw);
}

Test(rewrite, json_escaped_non_ascii_tenant_is_rewritten)
{
    /* "Ünïcode Co" -> "Nü Co" */
    struct rp_rewriter *rw = rules("\xC3\x9Cn\xC3\xAF"
                                   "code Co",
                                   "N\xC3\xBC Co", NULL);
    expect(rw, "{\"org\":\"\\u00dcn\\u00efcode Co\"}", "{\"org\":\"N\\u00fc Co\"}");
    expect(rw, "{\"org\":\"\\u00DCn\\u00EFcode Co\"}", "{\"org\":\"N\\u00fc Co\"}");
    /* Raw UTF-8 in JSON. */
    expect(rw,
           "{\"org\":\"\xC3\x9Cn\xC3\xAF"
           "code Co\"}",
           "{\"org\":\"N\xC3\xBC Co\"}");
    rp_rewriter_free(rw);
}

Test(rewrite, json_escaped_astral_tenant_uses_surrogate_pairs)
{
    /* "co😀" -> "new😎" */
    struct rp_rewriter *rw = rules("co\xF0\x9F\x98\x80", "new\xF0\x9F\x98\x8E", NULL);
    expect(rw, "[\"co\\ud83d\\ude00\"]", "[\"new\\ud83d\\ude0e\"]");
    expect(rw, "[\"co\\uD83D\\uDE00\"]", "[\"new\\ud83d\\ude0e\"]");
    rp_rewriter_free(rw);
}

Test(rewrite, json_escaped_slash_and_quote_are_rewritten)
{
    struct rp_rewriter *rw = rules("acme/eu", "new/eu", "say\"hi", "x\"y", NULL);
    expect(rw, "\"acme\\/eu\"", "\"new\\/eu\"");
    expect(rw, "\"acme/eu\"", "\"new/eu\"");
    expect(rw, "/t/acme%2Feu", "/t/new%2Feu");
    expect(rw, "{\"g\":\"say\\\"hi\"}", "{\"g\":\"x\\\"y\"}");
    rp_rewriter_free(rw);
}

/* ----- requests --------------------------------------------------------------------------- */

Test(rewrite, request_url_headers_and_text_body_are_rewritten_and_counted)
{
    struct rp_rewriter *rw = rules("acme", "acme-r1x", NULL);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.method = strdup("POST");
    ex.req.url = strdup("https://acme.shop.test/t/acme/orders?tenant=acme-corp");
    add_header(&ex.req, "Host", "acme.shop.test");
    add_header(&ex.req, "Cookie", "tenant=acme; sid=acmeshop");
    add_header(&ex.req, "X-Tenant", "acme");
    add_header(&ex.req, "Content-Type", "application/json; charset=utf-8");
    add_header(&ex.req, "Accept", "*/*");
    set_body(&ex.req, "{\"tenant\":\"acme\",\"owner\":\"owner@acme.test\"}");
    size_t count = 999;
    struct rp_error err = {0};
    cr_assert_eq(rp_rewrite_request(rw, &ex.req, &count, &err), RP_OK, "%s", err.msg);
    cr_assert_str_eq(ex.req.url, "https://acme-r1x.shop.test/t/acme-r1x/orders?tenant=acme-corp");
    cr_assert_str_eq(header(&ex.req, "Host"), "acme-r1x.shop.test");
    cr_assert_str_eq(header(&ex.req, "Cookie"), "tenant=acme-r1x; sid=acmeshop");
    cr_assert_str_eq(header(&ex.req, "X-Tenant"), "acme-r1x");
    cr_assert_str_eq(header(&ex.req, "Accept"), "*/*");
    const char *want = "{\"tenant\":\"acme-r1x\",\"owner\":\"owner@acme-r1x.test\"}";
    cr_assert_str_eq((char *)ex.req.body.data, want);
    cr_assert_eq(ex.req.body.len, strlen(want));
    cr_assert_eq(count, 7);
    cr_assert_eq(ex.req.headers.n, 5);
    rp_exchange_cleanup(&ex);
    rp_rewriter_free(rw);
}

Test(rewrite, binary_body_is_left_untouched)
{
    struct rp_rewriter *rw = rules("acme", "acme-r1x", NULL);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://acme.test/upload");
    static const unsigned char bin[] = {0xFF, 0x00, ' ', 'a', 'c', 'm', 'e', ' ', 0x89};
    rp_body_set(&ex.req.body, bin, sizeof(bin));
    size_t count = 0;
    cr_assert_eq(rp_rewrite_request(rw, &ex.req, &count, NULL), RP_OK);
    cr_assert_str_eq(ex.req.url, "https://acme-r1x.test/upload");
    cr_assert_eq(ex.req.body.len, sizeof(bin));
    cr_assert_eq(memcmp(ex.req.body.data, bin, sizeof(bin)), 0);
    cr_assert_eq(count, 1);
    rp_exchange_cleanup(&ex);
    rp_rewriter_free(rw);
}

Test(rewrite, request_without_matches_is_unchanged_and_counts_zero)
{
    struct rp_rewriter *rw = rules("acme", "acme-r1x", NULL);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://other.test/");
    add_header(&ex.req, "Host", "other.test");
    set_body(&ex.req, "hello");
    char *url_before = ex.req.url;
    unsigned char *body_before = ex.req.body.data;
    size_t count = 999;
    cr_assert_eq(rp_rewrite_request(rw, &ex.req, &count, NULL), RP_OK);
    cr_assert_eq(count, 0);
    cr_assert_eq(ex.req.url, url_before, "the URL was reallocated without a match");
    cr_assert_eq(ex.req.body.data, body_before);
    rp_exchange_cleanup(&ex);
    rp_rewriter_free(rw);
}

Test(rewrite, form_field_is_rewritten_in_form_encoding)
{
    struct rp_rewriter *rw = rules("Acme Co", "New Co", "acme", "x y", NULL);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/signup?t=acme");
    add_header(&ex.req, "Content-Type", "application/x-www-form-urlencoded");
    add_header(&ex.req, "X-Tenant", "acme");
    add_header(&ex.req, "Referer", "https://h.test/t/acme");
    set_body(&ex.req, "tenant=acme&name=Acme+Co&owner=qa%2Bacme%40x.test");
    size_t count = 0;
    cr_assert_eq(rp_rewrite_request(rw, &ex.req, &count, NULL), RP_OK);
    /* "acme" is the same in every encoding; TO is written as the place needs. */
    cr_assert_str_eq(ex.req.url, "https://h.test/signup?t=x%20y");
    cr_assert_str_eq(header(&ex.req, "X-Tenant"), "x y");
    cr_assert_str_eq(header(&ex.req, "Referer"), "https://h.test/t/x%20y");
    cr_assert_str_eq((char *)ex.req.body.data, "tenant=x+y&name=New+Co&owner=qa%2Bx+y%40x.test");
    cr_assert_eq(count, 6);
    rp_exchange_cleanup(&ex);
    rp_rewriter_free(rw);
}

Test(rewrite, json_body_gets_to_in_json_form)
{
    struct rp_rewriter *rw = rules("acme", "a\"b", NULL);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/");
    add_header(&ex.req, "Content-Type", "application/vnd.api+json");
    set_body(&ex.req, "{\"t\":\"acme\"}");
    cr_assert_eq(rp_rewrite_request(rw, &ex.req, NULL, NULL), RP_OK);
    cr_assert_str_eq((char *)ex.req.body.data, "{\"t\":\"a\\\"b\"}");
    rp_exchange_cleanup(&ex);
    rp_rewriter_free(rw);
}

Test(rewrite, content_length_follows_a_rewritten_body)
{
    struct rp_rewriter *rw = rules("acme", "acme-r1x", NULL);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/");
    add_header(&ex.req, "Content-Length", "13");
    set_body(&ex.req, "tenant = acme");
    cr_assert_eq(rp_rewrite_request(rw, &ex.req, NULL, NULL), RP_OK);
    cr_assert_str_eq((char *)ex.req.body.data, "tenant = acme-r1x");
    cr_assert_str_eq(header(&ex.req, "Content-Length"), "17");
    rp_exchange_cleanup(&ex);
    rp_rewriter_free(rw);
}

Test(rewrite, body_growing_past_its_limit_fails_and_leaves_the_request_unchanged)
{
    /* 50,000 matches of a 4,000-byte TO would be 200 MB, past RP_MAX_BODY_REWRITTEN. */
    char *to = malloc(4001);
    memset(to, 'z', 4000);
    to[4000] = '\0';
    struct rp_rewriter *rw = rules("a", to, NULL);
    free(to);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://a.test/");
    add_header(&ex.req, "X", "a");
    size_t n = 100000;
    char *body = malloc(n + 1);
    for (size_t i = 0; i < n; i += 2) {
        body[i] = 'a';
        body[i + 1] = ' ';
    }
    body[n] = '\0';
    rp_body_take(&ex.req.body, (unsigned char *)body, n);
    size_t count = 999;
    struct rp_error err = {0};
    cr_assert_eq(rp_rewrite_request(rw, &ex.req, &count, &err), RP_ETOOBIG);
    cr_assert_not_null(strstr(err.msg, "body"), "%s", err.msg);
    cr_assert_eq(count, 999);
    cr_assert_str_eq(ex.req.url, "https://a.test/");
    cr_assert_str_eq(header(&ex.req, "X"), "a");
    cr_assert_eq(ex.req.body.len, n);
    rp_exchange_cleanup(&ex);
    rp_rewriter_free(rw);
}

/* ----- templates -------------------------------------------------------------------------- */

static const struct rp_template_ctx ctx = {
    .run_id = "r7k2m9q4",
    .session_id = "3",
    .tenant = "acme",
    .now_us = INT64_C(1700000000000000), /* 2023-11-14T22:13:20Z */
};

static void expect_template(const char *tmpl, const struct rp_template_ctx *c, const char *want)
{
    char *out = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_template_expand(tmpl, c, &out, &err), RP_OK, "%s: %s", tmpl, err.msg);
    cr_assert_str_eq(out, want, "expanding %s", tmpl);
    free(out);
}

static void expect_template_error(const char *tmpl, const struct rp_template_ctx *c, rp_code code,
                                  const char *msg)
{
    char *out = (char *)"untouched";
    struct rp_error err = {0};
    cr_assert_eq(rp_template_expand(tmpl, c, &out, &err), code, "%s", tmpl);
    cr_assert_str_eq(err.msg, msg);
    cr_assert_str_eq(out, "untouched");
}

Test(rewrite, template_fields_expand)
{
    expect_template("{tenant}-{run}-s{session}", &ctx, "acme-r7k2m9q4-s3");
    expect_template("{date}", &ctx, "20231114");
    expect_template("plain", &ctx, "plain");
    expect_template("", &ctx, "");
}

Test(rewrite, template_date_is_utc_and_handles_times_before_1970)
{
    struct rp_template_ctx c = ctx;
    c.now_us = INT64_C(1700006399999999); /* 2023-11-14T23:59:59.999999Z */
    expect_template("{date}", &c, "20231114");
    c.now_us = INT64_C(1700006400000000);
    expect_template("{date}", &c, "20231115");
    c.now_us = -1;
    expect_template("{date}", &c, "19691231");
}

Test(rewrite, template_braces_double_to_literals)
{
    expect_template("{{run}}", &ctx, "{run}");
    expect_template("a{{b", &ctx, "a{b");
    expect_template("x}}y", &ctx, "x}y");
    expect_template("{{{run}}}", &ctx, "{r7k2m9q4}");
}

Test(rewrite, template_uuid_is_a_fresh_lower_case_v4)
{
    char *a = NULL;
    char *b = NULL;
    cr_assert_eq(rp_template_expand("{uuid}", NULL, &a, NULL), RP_OK);
    cr_assert_eq(rp_template_expand("{uuid}", NULL, &b, NULL), RP_OK);
    cr_assert_eq(strlen(a), 36);
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            cr_assert_eq(a[i], '-', "%s", a);
        } else {
            cr_assert(strchr("0123456789abcdef", a[i]) && a[i], "%s", a);
        }
    }
    cr_assert_eq(a[14], '4', "%s", a);
    cr_assert(strchr("89ab", a[19]), "%s", a);
    cr_assert_str_neq(a, b);
    free(a);
    free(b);
}

Test(rewrite, template_env_field_reads_the_environment)
{
    cr_assert_eq(setenv("REPRISE_TEST_TENANT", "zz9", 1), 0);
    expect_template("t-{env:REPRISE_TEST_TENANT}", NULL, "t-zz9");
    cr_assert_eq(unsetenv("REPRISE_TEST_TENANT"), 0);
    expect_template_error("t-{env:REPRISE_TEST_TENANT}", NULL, RP_ENOSECRET,
                          "environment variable REPRISE_TEST_TENANT is not set");
}

Test(rewrite, template_unknown_or_unclosed_field_is_a_usage_error)
{
    expect_template_error("a-{nope}", &ctx, RP_EUSAGE, "unknown template field {nope}");
    expect_template_error("a-{}", &ctx, RP_EUSAGE, "unknown template field {}");
    expect_template_error("a-{env:}", &ctx, RP_EUSAGE, "unknown template field {env:}");
    expect_template_error("a-{Run}", &ctx, RP_EUSAGE, "unknown template field {Run}");
    expect_template_error("acme-{run", &ctx, RP_EUSAGE, "unclosed template field {run");
}

Test(rewrite, template_field_missing_from_the_context_is_a_usage_error)
{
    struct rp_template_ctx c = ctx;
    c.run_id = NULL;
    expect_template_error("x-{run}", &c, RP_EUSAGE, "{run} is not available here");
    expect_template_error("x-{session}", NULL, RP_EUSAGE, "{session} is not available here");
    expect_template_error("x-{tenant}", NULL, RP_EUSAGE, "{tenant} is not available here");
    expect_template_error("x-{date}", NULL, RP_EUSAGE, "{date} is not available here");
}

Test(rewrite, template_longer_than_its_limit_is_refused)
{
    char *big = malloc(RP_MAX_TEMPLATE_BYTES + 2);
    memset(big, 'x', RP_MAX_TEMPLATE_BYTES + 1);
    big[RP_MAX_TEMPLATE_BYTES + 1] = '\0';
    char *out = NULL;
    cr_assert_eq(rp_template_expand(big, NULL, &out, NULL), RP_ETOOBIG);
    cr_assert_null(out);
    free(big);
}
