/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for scrubbing: which headers and fields are secrets, the placeholders that replace
 * them, what is left alone byte for byte, and that redact.h's fill puts the originals back.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <reprise/buf.h>
#include <reprise/limits.h>
#include <reprise/redact.h>
#include <reprise/scrub.h>

/* ----- helpers ---------------------------------------------------------------------------- */

static void add_h(struct rp_headers *h, const char *name, const char *value)
{
    cr_assert_eq(rp_headers_add(h, name, strlen(name), value, strlen(value), NULL), RP_OK);
}

static const char *hdr(const struct rp_headers *h, size_t i)
{
    cr_assert_lt(i, h->n);
    return h->v[i].value;
}

static void set_body(struct rp_body *b, const char *text)
{
    rp_body_set(b, text, strlen(text));
}

static void expect_body(const struct rp_body *b, const char *want)
{
    cr_assert_eq(b->len, strlen(want), "body: %.*s", (int)b->len, (const char *)b->data);
    cr_assert_eq(memcmp(b->data, want, b->len), 0, "body: %.*s", (int)b->len,
                 (const char *)b->data);
}

/* A POST to url with one Content-Type and body. */
static void make_post(struct rp_exchange *ex, const char *url, const char *ct, const char *body)
{
    rp_exchange_init(ex);
    ex->req.method = rp_xstrdup("POST");
    ex->req.url = rp_xstrdup(url);
    if (ct) {
        add_h(&ex->req.headers, "Content-Type", ct);
    }
    if (body) {
        set_body(&ex->req.body, body);
    }
}

static void scrub(struct rp_exchange *ex)
{
    struct rp_scrub *s = rp_scrub_new();
    struct rp_error err = {0};
    cr_assert_eq(rp_scrub_exchange(s, ex, &err), RP_OK, "%s", err.msg);
    rp_scrub_free(s);
}

/* ----- names ------------------------------------------------------------------------------ */

Test(scrub, field_names_that_are_secrets)
{
    struct rp_scrub *s = rp_scrub_new();
    const char *yes[] = {"password",       "Password",  "new_password", "passwd",
                         "client_secret",  "api_key",   "api-key",      "apiKey",
                         "X-Goog-Api-Key", "token",     "access_token", "refreshToken",
                         "id_token",       "AUTH-TOKEN"};
    const char *no[] = {"email",
                        "csrf_token",
                        "csrfToken",
                        "_csrf",
                        "xsrf-token",
                        "XSRF-TOKEN",
                        "authenticity_token",
                        "__RequestVerificationToken",
                        "token_type",
                        "tokens",
                        "username",
                        "pass",
                        ""};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        cr_assert(rp_scrub_field_is_secret(s, yes[i], strlen(yes[i])), "%s", yes[i]);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        cr_assert_not(rp_scrub_field_is_secret(s, no[i], strlen(no[i])), "%s", no[i]);
    }
    rp_scrub_free(s);
}

Test(scrub, added_fields_and_headers_extend_the_defaults)
{
    struct rp_scrub *s = rp_scrub_new();
    cr_assert_not(rp_scrub_field_is_secret(s, "user_pin", 8));
    rp_scrub_add_field(s, "PIN");
    rp_scrub_add_field(s, "");
    cr_assert(rp_scrub_field_is_secret(s, "user_pin", 8));
    cr_assert(rp_scrub_field_is_secret(s, "PinCode", 7));
    cr_assert(rp_scrub_field_is_secret(s, "password", 8), "the defaults stay");

    struct rp_exchange ex;
    make_post(&ex, "https://a.test/x", NULL, NULL);
    add_h(&ex.req.headers, "X-Session", "s3cr3t");
    add_h(&ex.req.headers, "X-Other", "keep");
    rp_scrub_add_header(s, "x-session");
    rp_scrub_add_header(s, "");
    cr_assert_eq(rp_scrub_exchange(s, &ex, NULL), RP_OK);
    cr_assert_str_eq(hdr(&ex.req.headers, 0), "{{secret:x_session}}");
    cr_assert_str_eq(hdr(&ex.req.headers, 1), "keep");
    rp_exchange_cleanup(&ex);
    rp_scrub_free(s);
}

Test(scrub, placeholder_names_are_lower_case_word_characters)
{
    char out[RP_MAX_SECRET_NAME + 1];
    rp_scrub_name("X-Api-Key", 9, out, sizeof(out));
    cr_assert_str_eq(out, "x_api_key");
    rp_scrub_name("user.pass word", 14, out, sizeof(out));
    cr_assert_str_eq(out, "user_pass_word");
    rp_scrub_name("", 0, out, sizeof(out));
    cr_assert_str_eq(out, "secret");
    char small[5];
    rp_scrub_name("password", 8, small, sizeof(small));
    cr_assert_str_eq(small, "pass");
    char long_name[300];
    memset(long_name, 'a', sizeof(long_name));
    rp_scrub_name(long_name, sizeof(long_name), out, sizeof(out));
    cr_assert_eq(strlen(out), RP_MAX_SECRET_NAME);
}

/* ----- headers ---------------------------------------------------------------------------- */

Test(scrub, authorization_keeps_its_scheme)
{
    struct rp_exchange ex;
    make_post(&ex, "https://a.test/x", NULL, NULL);
    add_h(&ex.req.headers, "Authorization", "Bearer eyJ.abc.def");
    add_h(&ex.req.headers, "Proxy-Authorization", "Basic dXNlcjpwYXNz");
    add_h(&ex.req.headers, "authorization", "rawtoken");
    scrub(&ex);
    cr_assert_str_eq(hdr(&ex.req.headers, 0), "Bearer {{secret:authorization}}");
    cr_assert_str_eq(hdr(&ex.req.headers, 1), "Basic {{secret:proxy_authorization}}");
    /* Another value under the same name gets a name of its own. */
    cr_assert_str_eq(hdr(&ex.req.headers, 2), "{{secret:authorization_2}}");
    rp_exchange_cleanup(&ex);
}

Test(scrub, each_cookie_value_becomes_its_own_placeholder)
{
    struct rp_exchange ex;
    make_post(&ex, "https://a.test/x", NULL, NULL);
    add_h(&ex.req.headers, "Cookie", "demo_session=abc; theme=dark;  Empty=; x.y=1");
    ex.has_response = true;
    ex.resp.status = 200;
    add_h(&ex.resp.headers, "Set-Cookie", "demo_session=new1; Path=/; HttpOnly; Max-Age=60");
    add_h(&ex.resp.headers, "set-cookie", " lang = en ; Secure");
    add_h(&ex.resp.headers, "Content-Type", "text/plain");
    scrub(&ex);
    cr_assert_str_eq(hdr(&ex.req.headers, 0),
                     "demo_session={{secret:cookie_demo_session}}; theme={{secret:cookie_theme}};"
                     "  Empty=; x.y={{secret:cookie_x_y}}");
    /* The response sets a new value (new1, not abc): a placeholder of its own. */
    cr_assert_str_eq(hdr(&ex.resp.headers, 0),
                     "demo_session={{secret:cookie_demo_session_2}}; Path=/; HttpOnly; Max-Age=60");
    cr_assert_str_eq(hdr(&ex.resp.headers, 1), " lang = {{secret:cookie_lang}} ; Secure");
    cr_assert_str_eq(hdr(&ex.resp.headers, 2), "text/plain");
    rp_exchange_cleanup(&ex);
}

Test(scrub, headers_named_like_secret_fields_are_scrubbed_and_csrf_headers_kept)
{
    struct rp_exchange ex;
    make_post(&ex, "https://a.test/x", NULL, NULL);
    add_h(&ex.req.headers, "X-Api-Key", "k-123");
    add_h(&ex.req.headers, "X-Auth-Token", "t-456");
    add_h(&ex.req.headers, "X-CSRF-Token", "c-789");
    add_h(&ex.req.headers, "Accept", "application/json");
    scrub(&ex);
    cr_assert_str_eq(hdr(&ex.req.headers, 0), "{{secret:x_api_key}}");
    cr_assert_str_eq(hdr(&ex.req.headers, 1), "{{secret:x_auth_token}}");
    cr_assert_str_eq(hdr(&ex.req.headers, 2), "c-789");
    cr_assert_str_eq(hdr(&ex.req.headers, 3), "application/json");
    rp_exchange_cleanup(&ex);
}

Test(scrub, response_headers_other_than_set_cookie_are_left_alone)
{
    struct rp_exchange ex;
    make_post(&ex, "https://a.test/x", NULL, NULL);
    ex.has_response = true;
    ex.resp.status = 200;
    add_h(&ex.resp.headers, "Authorization", "Bearer server-side");
    add_h(&ex.resp.headers, "X-Api-Key", "shown");
    scrub(&ex);
    cr_assert_str_eq(hdr(&ex.resp.headers, 0), "Bearer server-side");
    cr_assert_str_eq(hdr(&ex.resp.headers, 1), "shown");
    rp_exchange_cleanup(&ex);
}

/* ----- bodies and the query --------------------------------------------------------------- */

Test(scrub, json_fields_at_any_depth_change_and_nothing_else_does)
{
    struct rp_exchange ex;
    make_post(&ex, "https://a.test/login", "application/json; charset=utf-8",
              "{ \"user\" : {\"email\":\"a@b.test\", \"password\" : \"hunter2\"},\n"
              "  \"csrf_token\":\"c5rf\", \"n\": 1.50, \"big\": 12345678901234567890,\n"
              "  \"list\":[{\"api_key\":\"k\\\"q\"}, \"password\"], \"token\": 42,\n"
              "  \"pass\\u0077ord\": \"esc\", \"secret\": \"\", \"apiKey\": null}");
    add_h(&ex.req.headers, "Content-Length", "1");
    scrub(&ex);
    const char *want = "{ \"user\" : {\"email\":\"a@b.test\", \"password\" : "
                       "\"{{secret:password}}\"},\n"
                       "  \"csrf_token\":\"c5rf\", \"n\": 1.50, \"big\": 12345678901234567890,\n"
                       "  \"list\":[{\"api_key\":\"{{secret:api_key}}\"}, \"password\"], "
                       "\"token\": 42,\n"
                       "  \"pass\\u0077ord\": \"{{secret:password_2}}\", \"secret\": \"\", "
                       "\"apiKey\": null}";
    expect_body(&ex.req.body, want);
    char len[32];
    snprintf(len, sizeof(len), "%zu", strlen(want));
    cr_assert_str_eq(hdr(&ex.req.headers, 1), len);
    rp_exchange_cleanup(&ex);
}

Test(scrub, a_truncated_json_body_still_loses_the_secrets_before_the_cut)
{
    struct rp_exchange ex;
    make_post(&ex, "https://a.test/login", "application/json",
              "{\"password\":\"hunter2\",\"notes\":\"cut her");
    ex.req.body.truncated = true;
    ex.req.body.orig_len = 99;
    add_h(&ex.req.headers, "Content-Length", "99");
    scrub(&ex);
    expect_body(&ex.req.body, "{\"password\":\"{{secret:password}}\",\"notes\":\"cut her");
    cr_assert(ex.req.body.truncated);
    cr_assert_eq(ex.req.body.orig_len, 99);
    cr_assert_str_eq(hdr(&ex.req.headers, 1), "99", "a cut body keeps the recorded length");
    rp_exchange_cleanup(&ex);
}

Test(scrub, form_fields_are_scrubbed_by_their_decoded_name)
{
    struct rp_exchange ex;
    make_post(&ex, "https://a.test/login", "application/x-www-form-urlencoded",
              "user=a%40b.test&pass%77ord=p%40ss&api-key=k&_csrf=c&access_token=t&flag&x=");
    scrub(&ex);
    expect_body(&ex.req.body, "user=a%40b.test&pass%77ord={{secret:password}}"
                              "&api-key={{secret:api_key}}&_csrf=c&access_token="
                              "{{secret:access_token}}&flag&x=");
    rp_exchange_cleanup(&ex);
}

Test(scrub, query_strings_are_scrubbed_and_the_fragment_is_not)
{
    struct rp_exchange ex;
    make_post(&ex, "https://a.test/cb?code=1&token=abc&state=s#token=frag", NULL, NULL);
    scrub(&ex);
    cr_assert_str_eq(ex.req.url, "https://a.test/cb?code=1&token={{secret:token}}&state=s"
                                 "#token=frag");
    rp_exchange_cleanup(&ex);
}

Test(scrub, multipart_fields_are_scrubbed_and_files_are_not)
{
    struct rp_exchange ex;
    make_post(&ex, "https://a.test/up", "multipart/form-data; boundary=\"XyZ\"",
              "--XyZ\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nann\r\n"
              "--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\np w\r\n"
              "--XyZ\r\nContent-Disposition: form-data; name=\"secret\"; filename=\"k.txt\"\r\n"
              "Content-Type: text/plain\r\n\r\nfile body\r\n"
              "--XyZ--\r\n");
    scrub(&ex);
    expect_body(&ex.req.body,
                "--XyZ\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nann\r\n"
                "--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n"
                "{{secret:password}}\r\n"
                "--XyZ\r\nContent-Disposition: form-data; name=\"secret\"; filename=\"k.txt\"\r\n"
                "Content-Type: text/plain\r\n\r\nfile body\r\n"
                "--XyZ--\r\n");
    rp_exchange_cleanup(&ex);
}

Test(scrub, other_bodies_and_response_bodies_are_left_alone)
{
    struct rp_exchange ex;
    make_post(&ex, "https://a.test/x", "text/plain", "password=hunter2");
    ex.has_response = true;
    ex.resp.status = 200;
    add_h(&ex.resp.headers, "Content-Type", "application/json");
    set_body(&ex.resp.body, "{\"token\":\"srv\"}");
    scrub(&ex);
    expect_body(&ex.req.body, "password=hunter2");
    expect_body(&ex.resp.body, "{\"token\":\"srv\"}");
    rp_exchange_cleanup(&ex);
}

Test(scrub, scrubbing_twice_changes_nothing_more)
{
    struct rp_exchange ex;
    make_post(&ex, "https://a.test/x?api_key=1", "application/json", "{\"password\":\"p\"}");
    add_h(&ex.req.headers, "Cookie", "a=1");
    add_h(&ex.req.headers, "Authorization", "Bearer t");
    scrub(&ex);
    struct rp_exchange once;
    rp_exchange_init(&once);
    cr_assert_eq(rp_exchange_copy(&once, &ex, NULL), RP_OK);
    scrub(&ex);
    cr_assert_str_eq(ex.req.url, once.req.url);
    for (size_t i = 0; i < ex.req.headers.n; i++) {
        cr_assert_str_eq(hdr(&ex.req.headers, i), hdr(&once.req.headers, i));
    }
    expect_body(&ex.req.body, (const char *)once.req.body.data);
    rp_exchange_cleanup(&once);
    rp_exchange_cleanup(&ex);
}

Test(scrub, headers_grown_past_the_cap_are_refused)
{
    struct rp_exchange ex;
    make_post(&ex, "https://a.test/x", NULL, NULL);
    /* Many one-byte cookies: each grows by its placeholder, far past RP_MAX_HEADER_BYTES. */
    struct rp_buf b;
    rp_buf_init(&b, RP_MAX_HEADER_BYTES);
    for (size_t i = 0; b.len + 16 < RP_MAX_HEADER_BYTES / 2; i++) {
        cr_assert_eq(rp_buf_addf(&b, NULL, "%sc%zu=1", i ? "; " : "", i), RP_OK);
    }
    cr_assert_eq(rp_headers_add(&ex.req.headers, "Cookie", 6, b.data, b.len, NULL), RP_OK);
    rp_buf_cleanup(&b);
    struct rp_scrub *s = rp_scrub_new();
    struct rp_error err = {0};
    cr_assert_eq(rp_scrub_exchange(s, &ex, &err), RP_ETOOBIG);
    cr_assert(strstr(err.msg, "scrubbing header Cookie") != NULL, "%s", err.msg);
    rp_scrub_free(s);
    rp_exchange_cleanup(&ex);
}

/* ----- the inverse ------------------------------------------------------------------------ */

static const char *secrets[] = {
    "authorization", "eyJ.abc", "cookie_sid", "s1d", "password", "p@ss \"w\"",
    "api_key",       "k&y=1",   "x_api_key",  "hk",  NULL,
};

static const char *table_lookup(void *ud, const char *name)
{
    const char *const *t = ud;
    for (; t[0]; t += 2) {
        if (strcmp(t[0], name) == 0) {
            return t[1];
        }
    }
    return NULL;
}

Test(scrub, redact_fill_puts_back_what_scrub_took_out)
{
    struct rp_exchange ex;
    make_post(&ex, "https://a.test/x?api_key=k%26y%3D1&page=2", "application/json",
              "{\"password\":\"p@ss \\\"w\\\"\",\"n\":1}");
    add_h(&ex.req.headers, "Authorization", "Bearer eyJ.abc");
    add_h(&ex.req.headers, "Cookie", "sid=s1d");
    add_h(&ex.req.headers, "X-Api-Key", "hk");
    scrub(&ex);
    cr_assert_null(strstr((const char *)ex.req.body.data, "p@ss"));
    cr_assert_eq(rp_secrets_fill(&ex.req, table_lookup, secrets, NULL), RP_OK);
    cr_assert_str_eq(ex.req.url, "https://a.test/x?api_key=k%26y%3D1&page=2");
    expect_body(&ex.req.body, "{\"password\":\"p@ss \\\"w\\\"\",\"n\":1}");
    cr_assert_str_eq(hdr(&ex.req.headers, 1), "Bearer eyJ.abc");
    cr_assert_str_eq(hdr(&ex.req.headers, 2), "sid=s1d");
    cr_assert_str_eq(hdr(&ex.req.headers, 3), "hk");
    rp_exchange_cleanup(&ex);

    make_post(&ex, "https://a.test/login", "application/x-www-form-urlencoded",
              "password=p%40ss+%22w%22&u=1");
    scrub(&ex);
    cr_assert_eq(rp_secrets_fill(&ex.req, table_lookup, secrets, NULL), RP_OK);
    expect_body(&ex.req.body, "password=p%40ss+%22w%22&u=1");
    rp_exchange_cleanup(&ex);
}
