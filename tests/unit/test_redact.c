/* SPDX-License-Identifier: MIT */
/* Unit tests for secrets: environment names, finding placeholders, and filling them per place. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/redact.h>

/* ----- helpers ---------------------------------------------------------------------------- */

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

/* A lookup over a NULL-terminated list of NAME, VALUE pairs. */
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

/* Records the names visited, joined by ','; stops (returning 7) at the name "stop". */
struct visits {
    char names[512];
    int calls;
};

static int record_visit(void *ud, const char *name)
{
    struct visits *v = ud;
    v->calls++;
    size_t n = strlen(v->names);
    snprintf(v->names + n, sizeof(v->names) - n, "%s%s", n ? "," : "", name);
    return strcmp(name, "stop") == 0 ? 7 : 0;
}

/* ----- names ------------------------------------------------------------------------------ */

static void expect_env_name(const char *name, const char *want)
{
    char out[64];
    rp_secret_env_name(name, out, sizeof(out));
    cr_assert_str_eq(out, want);
}

Test(redact, placeholder_names_map_to_environment_variables)
{
    expect_env_name("password", "REPRISE_SECRET_PASSWORD");
    expect_env_name("cookie_demo_session", "REPRISE_SECRET_COOKIE_DEMO_SESSION");
    expect_env_name("api-key", "REPRISE_SECRET_API_KEY");
    expect_env_name("db.Pass2", "REPRISE_SECRET_DB_PASS2");
}

Test(redact, environment_name_is_cut_to_fit)
{
    char out[10];
    rp_secret_env_name("password", out, sizeof(out));
    cr_assert_str_eq(out, "REPRISE_S");
    char one[1] = {'x'};
    rp_secret_env_name("password", one, sizeof(one));
    cr_assert_eq(one[0], '\0');
}

Test(redact, default_lookup_reads_the_environment)
{
    cr_assert_eq(setenv("REPRISE_SECRET_API_KEY", "k-123", 1), 0);
    cr_assert_str_eq(rp_secret_from_env(NULL, "api-key"), "k-123");
    cr_assert_eq(unsetenv("REPRISE_SECRET_API_KEY"), 0);
    cr_assert_null(rp_secret_from_env(NULL, "api-key"));
}

/* ----- rp_secrets_each -------------------------------------------------------------------- */

Test(redact, each_visits_distinct_placeholders_in_order_of_first_appearance)
{
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/login?token={{secret:token}}");
    add_header(&ex.req, "Authorization", "Basic {{secret:password}}");
    add_header(&ex.req, "X-Key", "{{secret:api-key}} {{secret:token}}");
    set_body(&ex.req, "{\"p\":\"{{secret:password}}\",\"d\":\"{{secret:db.pass_2}}\","
                      "\"not\":\"{{secret:}} {{secret:a b}} {{secret:x} {{ secret:y}}\"}");
    struct visits v = {{0}, 0};
    cr_assert_eq(rp_secrets_each(&ex.req, record_visit, &v), 0);
    cr_assert_str_eq(v.names, "token,password,api-key,db.pass_2");
    cr_assert_eq(v.calls, 4);
    rp_exchange_cleanup(&ex);
}

Test(redact, each_stops_at_a_non_zero_result)
{
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/{{secret:a}}/{{secret:stop}}/{{secret:b}}");
    struct visits v = {{0}, 0};
    cr_assert_eq(rp_secrets_each(&ex.req, record_visit, &v), 7);
    cr_assert_str_eq(v.names, "a,stop");
    rp_exchange_cleanup(&ex);
}

Test(redact, each_skips_binary_bodies)
{
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/");
    static const char bin[] = "\xff{{secret:hidden}}";
    rp_body_set(&ex.req.body, bin, sizeof(bin) - 1);
    struct visits v = {{0}, 0};
    cr_assert_eq(rp_secrets_each(&ex.req, record_visit, &v), 0);
    cr_assert_eq(v.calls, 0);
    rp_exchange_cleanup(&ex);
}

Test(redact, names_of_the_longest_allowed_length_are_placeholders_and_longer_are_not)
{
    char name[130];
    memset(name, 'n', 129);
    name[129] = '\0';
    char url[300];
    /* 129 characters: not a placeholder. Then 128: one. */
    snprintf(url, sizeof(url), "https://h.test/{{secret:%s}}/{{secret:%.128s}}", name, name);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup(url);
    struct visits v = {{0}, 0};
    cr_assert_eq(rp_secrets_each(&ex.req, record_visit, &v), 0);
    cr_assert_eq(v.calls, 1);
    cr_assert_eq(strlen(v.names), 128);
    rp_exchange_cleanup(&ex);
}

/* ----- rp_secrets_fill -------------------------------------------------------------------- */

Test(redact, fill_writes_each_value_as_its_place_needs)
{
    const char *secrets[] = {"token", "p@ss w/rd", "password", "pa\"ss\\\n", "user", "bob", NULL};
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/login?u={{secret:user}}&t={{secret:token}}");
    add_header(&ex.req, "Authorization", "Bearer {{secret:token}}");
    add_header(&ex.req, "Content-Type", "application/json");
    set_body(&ex.req, "{\"user\":\"{{secret:user}}\",\"password\":\"{{secret:password}}\","
                      "\"note\":\"a \\\"{{secret:token}}\\\" b\"}");
    struct rp_error err = {0};
    cr_assert_eq(rp_secrets_fill(&ex.req, table_lookup, secrets, &err), RP_OK, "%s", err.msg);
    cr_assert_str_eq(ex.req.url, "https://h.test/login?u=bob&t=p%40ss%20w%2Frd");
    cr_assert_str_eq(header(&ex.req, "Authorization"), "Bearer p@ss w/rd");
    cr_assert_str_eq((char *)ex.req.body.data, "{\"user\":\"bob\",\"password\":\"pa\\\"ss\\\\\\n\","
                                               "\"note\":\"a \\\"p@ss w/rd\\\" b\"}");
    rp_exchange_cleanup(&ex);
}

Test(redact, fill_outside_a_json_string_writes_the_value_raw)
{
    const char *secrets[] = {"pin", "1234", "q", "x\"y", NULL};
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/");
    add_header(&ex.req, "Content-Type", "application/json; charset=utf-8");
    set_body(&ex.req, "{\"pin\": {{secret:pin}}, \"k{{secret:q}}\": [\"{{secret:q}}\"]}");
    cr_assert_eq(rp_secrets_fill(&ex.req, table_lookup, secrets, NULL), RP_OK);
    cr_assert_str_eq((char *)ex.req.body.data, "{\"pin\": 1234, \"kx\\\"y\": [\"x\\\"y\"]}");
    rp_exchange_cleanup(&ex);
}

Test(redact, fill_form_encodes_values_in_a_form_body)
{
    const char *secrets[] = {"password", "p@ss w+rd&x", NULL};
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/login");
    add_header(&ex.req, "Content-Type", "application/x-www-form-urlencoded");
    add_header(&ex.req, "Content-Length", "41");
    set_body(&ex.req, "user=bob&password={{secret:password}}&x=1");
    cr_assert_eq(rp_secrets_fill(&ex.req, table_lookup, secrets, NULL), RP_OK);
    cr_assert_str_eq((char *)ex.req.body.data, "user=bob&password=p%40ss+w%2Brd%26x&x=1");
    cr_assert_str_eq(header(&ex.req, "Content-Length"), "39");
    rp_exchange_cleanup(&ex);
}

Test(redact, fill_writes_plain_text_bodies_raw)
{
    const char *secrets[] = {"s", "a \"b\"\nc", NULL};
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/");
    add_header(&ex.req, "Content-Type", "text/plain");
    set_body(&ex.req, "v={{secret:s}};");
    cr_assert_eq(rp_secrets_fill(&ex.req, table_lookup, secrets, NULL), RP_OK);
    cr_assert_str_eq((char *)ex.req.body.data, "v=a \"b\"\nc;");
    rp_exchange_cleanup(&ex);
}

Test(redact, fill_leaves_text_that_is_not_a_placeholder_alone)
{
    const char *secrets[] = {"a", "A", NULL};
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/{{secret:a b}}/{{secret:}}/{{secret:a}/{{{secret:a}}}");
    cr_assert_eq(rp_secrets_fill(&ex.req, table_lookup, secrets, NULL), RP_OK);
    /* The URL percent-encodes the one real value; the rest is left as it was. */
    cr_assert_str_eq(ex.req.url, "https://h.test/{{secret:a b}}/{{secret:}}/{{secret:a}/{A}");
    rp_exchange_cleanup(&ex);
}

Test(redact, missing_secret_fails_naming_the_variable_and_leaves_the_request_unchanged)
{
    cr_assert_eq(unsetenv("REPRISE_SECRET_PASSWORD"), 0);
    cr_assert_eq(setenv("REPRISE_SECRET_USER", "bob", 1), 0);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/login?u={{secret:user}}");
    add_header(&ex.req, "X-User", "{{secret:user}}");
    set_body(&ex.req, "password={{secret:password}}");
    struct rp_error err = {0};
    cr_assert_eq(rp_secrets_fill(&ex.req, rp_secret_from_env, NULL, &err), RP_ENOSECRET);
    cr_assert_str_eq(err.msg, "secret \"password\" is not set: export REPRISE_SECRET_PASSWORD");
    cr_assert_str_eq(ex.req.url, "https://h.test/login?u={{secret:user}}");
    cr_assert_str_eq(header(&ex.req, "X-User"), "{{secret:user}}");
    cr_assert_str_eq((char *)ex.req.body.data, "password={{secret:password}}");
    cr_assert_eq(unsetenv("REPRISE_SECRET_USER"), 0);
    rp_exchange_cleanup(&ex);
}

Test(redact, line_break_in_a_header_value_is_refused)
{
    const char *secrets[] = {"t", "a\r\nX-Evil: 1", NULL};
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/?t={{secret:t}}");
    add_header(&ex.req, "Authorization", "Bearer {{secret:t}}");
    struct rp_error err = {0};
    cr_assert_eq(rp_secrets_fill(&ex.req, table_lookup, secrets, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "secret \"t\" contains a line break");
    cr_assert_str_eq(ex.req.url, "https://h.test/?t={{secret:t}}");
    cr_assert_str_eq(header(&ex.req, "Authorization"), "Bearer {{secret:t}}");
    rp_exchange_cleanup(&ex);

    /* In the URL alone the same value is percent-encoded and fine. */
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/?t={{secret:t}}");
    cr_assert_eq(rp_secrets_fill(&ex.req, table_lookup, secrets, NULL), RP_OK);
    cr_assert_str_eq(ex.req.url, "https://h.test/?t=a%0D%0AX-Evil%3A%201");
    rp_exchange_cleanup(&ex);
}

Test(redact, request_without_placeholders_is_not_reallocated)
{
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = strdup("https://h.test/{x}");
    add_header(&ex.req, "X", "{{not}}");
    set_body(&ex.req, "{}");
    char *url = ex.req.url;
    char *value = ex.req.headers.v[0].value;
    unsigned char *body = ex.req.body.data;
    cr_assert_eq(rp_secrets_fill(&ex.req, rp_secret_from_env, NULL, NULL), RP_OK);
    cr_assert_eq(ex.req.url, url);
    cr_assert_eq(ex.req.headers.v[0].value, value);
    cr_assert_eq(ex.req.body.data, body);
    rp_exchange_cleanup(&ex);
}
