/* SPDX-License-Identifier: MIT */
/* Unit tests for shapes: inference, matching and its messages, the shape file. */
#include <criterion/criterion.h>
#include <malloc.h>
#include <cjson/cJSON.h>

#include <reprise/buf.h>
#include <reprise/exchange.h>
#include <reprise/limits.h>
#include <reprise/shape.h>

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

TestSuite(shape, .init = setup, .fini = teardown);

/* ----- helpers ----------------------------------------------------------------------------- */

/* A response with the given status, Content-Type (NULL: none) and body (NULL: none). */
static void resp_init(struct rp_response *r, unsigned status, const char *ctype, const char *body)
{
    memset(r, 0, sizeof(*r));
    rp_headers_init(&r->headers);
    r->status = status;
    if (ctype) {
        cr_assert_eq(rp_headers_add(&r->headers, "Content-Type", 12, ctype, strlen(ctype), NULL),
                     RP_OK);
    }
    if (body) {
        rp_body_set(&r->body, body, strlen(body));
    }
}

static void resp_cleanup(struct rp_response *r)
{
    rp_headers_cleanup(&r->headers);
    rp_body_cleanup(&r->body);
}

/* The shape inferred from a recorded response. */
static struct rp_shape *infer(unsigned status, const char *ctype, const char *body)
{
    struct rp_response r;
    resp_init(&r, status, ctype, body);
    struct rp_shape *s = rp_shape_infer(&r);
    resp_cleanup(&r);
    cr_assert_not_null(s);
    return s;
}

/* The shape parsed from its JSON form, which must be valid. */
static struct rp_shape *shape_of(const char *json)
{
    struct rp_shape *s = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_shape_from_json(json, strlen(json), &s, &err), RP_OK, "%s", err.msg);
    return s;
}

/* A JSON body shape: status 200, application/json, the given schema. */
static struct rp_shape *body_shape(const char *schema)
{
    char json[4096];
    int n = snprintf(json, sizeof(json),
                     "{\"status\":200,\"media_type\":\"application/json\",\"body\":%s}", schema);
    cr_assert(n > 0 && (size_t)n < sizeof(json));
    return shape_of(json);
}

static void dump(const struct rp_mismatches *m)
{
    for (size_t i = 0; i < m->n; i++) {
        fprintf(stderr, "  %s: %s\n", m->v[i].path, m->v[i].message);
    }
}

/* Matches a live response; m gets the mismatches (initialised here). */
static bool match(const struct rp_shape *s, unsigned status, const char *ctype, const char *body,
                  struct rp_mismatches *m)
{
    struct rp_response r;
    resp_init(&r, status, ctype, body);
    rp_mismatches_init(m);
    bool ok = rp_shape_match(s, &r, m);
    resp_cleanup(&r);
    cr_assert_eq(ok, m->n == 0, "the result agrees with the list");
    return ok;
}

/* Matches a live JSON body (status 200, application/json). */
static bool match_body(const struct rp_shape *s, const char *body, struct rp_mismatches *m)
{
    return match(s, 200, "application/json", body, m);
}

static void expect_one(const struct rp_mismatches *m, const char *path, const char *message)
{
    if (m->n != 1) {
        dump(m);
    }
    cr_assert_eq(m->n, 1, "one mismatch, got %zu", m->n);
    cr_assert_str_eq(m->v[0].path, path);
    cr_assert_str_eq(m->v[0].message, message);
}

static void expect_none(const struct rp_mismatches *m)
{
    if (m->n != 0) {
        dump(m);
    }
    cr_assert_eq(m->n, 0, "no mismatch, got %zu", m->n);
}

/*
 * Asserts that the shape's JSON form is the expected text, spaces aside: both are printed
 * unformatted by cJSON and compared as strings, so key order counts.
 */
static void expect_json(const struct rp_shape *s, const char *expected)
{
    char *text = rp_shape_to_json(s);
    cJSON *b = cJSON_Parse(expected);
    cr_assert_not_null(b, "the expected text is JSON: %s", expected);
    char *want = cJSON_PrintUnformatted(b);
    cr_assert_str_eq(text, want);
    cJSON_free(want);
    cJSON_Delete(b);
    free(text);
}

/* ----- inference --------------------------------------------------------------------------- */

Test(shape, infer_gives_every_json_type_its_schema_and_numbers_are_never_integer)
{
    struct rp_shape *s = infer(200, "application/json; charset=utf-8",
                               "{\"s\":\"x\",\"n\":3,\"f\":1.5,\"t\":true,\"b\":false,"
                               "\"z\":null,\"o\":{},\"a\":[]}");
    cr_assert_eq(rp_shape_status(s), 200);
    cr_assert_str_eq(rp_shape_media_type(s), "application/json");
    expect_json(s, "{\"status\":200,\"media_type\":\"application/json\",\"body\":"
                   "{\"type\":\"object\",\"properties\":{"
                   "\"s\":{\"type\":\"string\"},\"n\":{\"type\":\"number\"},"
                   "\"f\":{\"type\":\"number\"},\"t\":{\"type\":\"boolean\"},"
                   "\"b\":{\"type\":\"boolean\"},\"z\":{\"type\":\"null\"},"
                   "\"o\":{\"type\":\"object\"},\"a\":{\"type\":\"array\"}},"
                   "\"required\":[\"s\",\"n\",\"f\",\"t\",\"b\",\"z\",\"o\",\"a\"]}}");
    rp_shape_free(s);
}

Test(shape, infer_writes_keys_in_recorded_order_exactly)
{
    struct rp_shape *s = infer(201, "application/json", "{\"zeta\":1,\"alpha\":\"a\"}");
    char *text = rp_shape_to_json(s);
    cr_assert_str_eq(text, "{\"status\":201,\"media_type\":\"application/json\",\"body\":"
                           "{\"type\":\"object\",\"properties\":{\"zeta\":{\"type\":\"number\"},"
                           "\"alpha\":{\"type\":\"string\"}},\"required\":[\"zeta\",\"alpha\"]}}");
    free(text);
    rp_shape_free(s);
}

Test(shape, infer_tags_uuid_date_time_email_and_uri_formats)
{
    struct rp_shape *s = infer(200, "application/json",
                               "{\"u\":\"123e4567-E89B-12d3-a456-426614174000\","
                               "\"d\":\"2026-11-23T20:01:02Z\","
                               "\"d2\":\"2024-02-29T23:59:60.123456+05:30\","
                               "\"e\":\"owner@acme.test\","
                               "\"w\":\"https://acme.example.com/api?x=1\","
                               "\"h\":\"HTTP://x\","
                               "\"ftp\":\"ftp://files.example.com/a\","
                               "\"plain\":\"hello\","
                               "\"short_uuid\":\"123e4567-e89b-12d3-a456-42661417400\","
                               "\"bad_month\":\"2026-13-01T00:00:00Z\","
                               "\"not_leap\":\"2025-02-29T00:00:00Z\","
                               "\"no_zone\":\"2026-11-23T20:01:02\","
                               "\"space_email\":\"a b@c.de\","
                               "\"no_tld\":\"a@localhost\"}");
    expect_json(s, "{\"status\":200,\"media_type\":\"application/json\",\"body\":"
                   "{\"type\":\"object\",\"properties\":{"
                   "\"u\":{\"type\":\"string\",\"format\":\"uuid\"},"
                   "\"d\":{\"type\":\"string\",\"format\":\"date-time\"},"
                   "\"d2\":{\"type\":\"string\",\"format\":\"date-time\"},"
                   "\"e\":{\"type\":\"string\",\"format\":\"email\"},"
                   "\"w\":{\"type\":\"string\",\"format\":\"uri\"},"
                   "\"h\":{\"type\":\"string\",\"format\":\"uri\"},"
                   "\"ftp\":{\"type\":\"string\"},"
                   "\"plain\":{\"type\":\"string\"},"
                   "\"short_uuid\":{\"type\":\"string\"},"
                   "\"bad_month\":{\"type\":\"string\"},"
                   "\"not_leap\":{\"type\":\"string\"},"
                   "\"no_zone\":{\"type\":\"string\"},"
                   "\"space_email\":{\"type\":\"string\"},"
                   "\"no_tld\":{\"type\":\"string\"}},"
                   "\"required\":[\"u\",\"d\",\"d2\",\"e\",\"w\",\"h\",\"ftp\",\"plain\","
                   "\"short_uuid\",\"bad_month\",\"not_leap\",\"no_zone\",\"space_email\","
                   "\"no_tld\"]}}");
    rp_shape_free(s);
}

Test(shape, infer_unions_array_elements_required_is_keys_in_every_element)
{
    struct rp_shape *s = infer(200, "application/json",
                               "[{\"id\":1,\"name\":\"a\",\"note\":null},"
                               "{\"id\":2,\"note\":\"x\"},"
                               "{\"id\":3,\"name\":\"c\",\"note\":\"y\",\"paid\":true}]");
    expect_json(s, "{\"status\":200,\"media_type\":\"application/json\",\"body\":"
                   "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
                   "\"id\":{\"type\":\"number\"},\"name\":{\"type\":\"string\"},"
                   "\"note\":{\"type\":[\"string\",\"null\"]},\"paid\":{\"type\":\"boolean\"}},"
                   "\"required\":[\"id\",\"note\"]}}}");
    rp_shape_free(s);
}

Test(shape, infer_gives_differing_element_types_a_type_array)
{
    struct rp_shape *s = infer(200, "application/json", "[\"a\",1,null,\"b\"]");
    expect_json(s, "{\"status\":200,\"media_type\":\"application/json\",\"body\":"
                   "{\"type\":\"array\",\"items\":{\"type\":[\"string\",\"number\",\"null\"]}}}");
    rp_shape_free(s);
}

Test(shape, infer_keeps_a_string_format_only_when_every_element_shares_it)
{
    struct rp_shape *s = infer(200, "application/json",
                               "{\"same\":[\"a@b.test\",\"c@d.test\"],"
                               "\"mixed\":[\"a@b.test\",\"plain\"],"
                               "\"two\":[\"a@b.test\",\"https://x.test/\"],"
                               "\"nullable\":[\"a@b.test\",null]}");
    expect_json(s, "{\"status\":200,\"media_type\":\"application/json\",\"body\":"
                   "{\"type\":\"object\",\"properties\":{"
                   "\"same\":{\"type\":\"array\",\"items\":{\"type\":\"string\","
                   "\"format\":\"email\"}},"
                   "\"mixed\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
                   "\"two\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
                   "\"nullable\":{\"type\":\"array\",\"items\":{\"type\":[\"string\",\"null\"],"
                   "\"format\":\"email\"}}},"
                   "\"required\":[\"same\",\"mixed\",\"two\",\"nullable\"]}}");
    rp_shape_free(s);
}

Test(shape, infer_gives_a_key_with_differing_types_across_elements_a_type_array)
{
    struct rp_shape *s = infer(200, "application/json",
                               "[{\"v\":1,\"o\":{\"a\":1}},{\"v\":\"x\",\"o\":{\"b\":2}},"
                               "{\"v\":[1],\"o\":null}]");
    expect_json(s, "{\"status\":200,\"media_type\":\"application/json\",\"body\":"
                   "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
                   "\"v\":{\"type\":[\"array\",\"string\",\"number\"],"
                   "\"items\":{\"type\":\"number\"}},"
                   "\"o\":{\"type\":[\"object\",\"null\"],\"properties\":{"
                   "\"a\":{\"type\":\"number\"},\"b\":{\"type\":\"number\"}}}},"
                   "\"required\":[\"v\",\"o\"]}}}");
    rp_shape_free(s);
}

Test(shape, inference_stops_checking_keys_of_array_objects_used_as_dictionaries)
{
    /* 1001 objects with a key each, all different: past RP_MAX_INFER_KEYS (1000). */
    struct rp_buf body;
    rp_buf_init(&body, 1 << 20);
    cr_assert_eq(rp_buf_adds(&body, "[", NULL), RP_OK);
    for (int i = 0; i < 1001; i++) {
        cr_assert_eq(rp_buf_addf(&body, NULL, "%s{\"id%d\":%d}", i ? "," : "", i, i), RP_OK);
    }
    cr_assert_eq(rp_buf_adds(&body, ",null]", NULL), RP_OK);
    struct rp_shape *s = infer(200, "application/json", body.data);
    expect_json(s, "{\"status\":200,\"media_type\":\"application/json\",\"body\":"
                   "{\"type\":\"array\",\"items\":{\"type\":[\"object\",\"null\"],"
                   "\"description\":\"the recorded objects had too many distinct keys between "
                   "them: their keys are not checked\"}}}");
    struct rp_mismatches m;
    cr_assert(match_body(s, "[{\"x\":\"y\"},{},null]", &m));
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, "[1]", &m));
    expect_one(&m, "$[0]", "expected object or null, got number 1");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
    rp_buf_cleanup(&body);
}

Test(shape, empty_recorded_array_has_no_items_and_accepts_any_element)
{
    struct rp_shape *s = infer(200, "application/json", "{\"tags\":[]}");
    expect_json(s, "{\"status\":200,\"media_type\":\"application/json\",\"body\":"
                   "{\"type\":\"object\",\"properties\":{\"tags\":{\"type\":\"array\"}},"
                   "\"required\":[\"tags\"]}}");
    struct rp_mismatches m;
    cr_assert(match_body(s, "{\"tags\":[1,\"x\",{\"a\":null},[]]}", &m));
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, inference_stops_at_the_depth_bound_and_accepts_anything_below)
{
    /* 70 nested arrays around a number. */
    struct rp_buf body, expected;
    rp_buf_init(&body, 1 << 20);
    rp_buf_init(&expected, 1 << 20);
    cr_assert_eq(rp_buf_adds(&expected,
                             "{\"status\":200,\"media_type\":\"application/json\","
                             "\"body\":",
                             NULL),
                 RP_OK);
    for (int i = 0; i < 70; i++) {
        cr_assert_eq(rp_buf_adds(&body, "[", NULL), RP_OK);
    }
    cr_assert_eq(rp_buf_adds(&body, "1", NULL), RP_OK);
    for (int i = 0; i < 70; i++) {
        cr_assert_eq(rp_buf_adds(&body, "]", NULL), RP_OK);
    }
    /* Values at depth 0 to 63 are typed; the one at depth 64 accepts anything. */
    for (int i = 0; i < 64; i++) {
        cr_assert_eq(rp_buf_adds(&expected, "{\"type\":\"array\",\"items\":", NULL), RP_OK);
    }
    cr_assert_eq(rp_buf_adds(&expected, "{}", NULL), RP_OK);
    for (int i = 0; i < 65; i++) {
        cr_assert_eq(rp_buf_adds(&expected, "}", NULL), RP_OK);
    }
    struct rp_shape *s = infer(200, "application/json", body.data);
    expect_json(s, expected.data);
    rp_shape_free(s);
    rp_buf_cleanup(&body);
    rp_buf_cleanup(&expected);
}

Test(shape, non_json_media_types_and_unparsable_json_get_status_and_media_type_only)
{
    struct rp_shape *html = infer(200, "text/html; charset=UTF-8", "<html>{}</html>");
    expect_json(html, "{\"status\":200,\"media_type\":\"text/html\"}");
    struct rp_shape *bad = infer(200, "application/json", "{\"a\":");
    expect_json(bad, "{\"status\":200,\"media_type\":\"application/json\"}");
    struct rp_shape *trailing = infer(200, "application/problem+json", "{} x");
    expect_json(trailing, "{\"status\":200,\"media_type\":\"application/problem+json\"}");

    /* And matching then does not look at the body. */
    struct rp_mismatches m;
    cr_assert(match_body(bad, "not json at all", &m));
    rp_mismatches_cleanup(&m);
    rp_shape_free(html);
    rp_shape_free(bad);
    rp_shape_free(trailing);
}

Test(shape, a_response_without_content_type_has_no_media_type_and_it_is_not_checked)
{
    struct rp_shape *s = infer(204, NULL, NULL);
    cr_assert_null(rp_shape_media_type(s));
    expect_json(s, "{\"status\":204,\"media_type\":null}");
    struct rp_mismatches m;
    cr_assert(match(s, 204, "text/html", "<p>now with a body</p>", &m));
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, a_json_body_with_a_byte_order_mark_is_parsed)
{
    struct rp_shape *s = infer(200, "application/json", "\xEF\xBB\xBF{\"a\":1}");
    expect_json(s, "{\"status\":200,\"media_type\":\"application/json\",\"body\":"
                   "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"}},"
                   "\"required\":[\"a\"]}}");
    rp_shape_free(s);
}

/* ----- matching ---------------------------------------------------------------------------- */

Test(shape, a_response_matches_the_shape_inferred_from_it)
{
    const char *body = "{\"order\":{\"id\":7,\"ref\":\"123e4567-e89b-12d3-a456-426614174000\","
                       "\"items\":[{\"sku\":\"A1\",\"price\":12.5},{\"sku\":\"B2\",\"price\":3,"
                       "\"gift\":true}],\"at\":\"2026-11-23T20:01:02Z\",\"note\":null}}";
    struct rp_shape *s = infer(200, "application/json", body);
    struct rp_mismatches m;
    match_body(s, body, &m);
    expect_none(&m);
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, a_changed_type_fails_with_the_path_and_the_live_value)
{
    struct rp_shape *s = infer(200, "application/json", "{\"items\":[{\"price\":12}]}");
    struct rp_mismatches m;
    cr_assert_not(match_body(s, "{\"items\":[{\"price\":\"12.00\"}]}", &m));
    expect_one(&m, "$.items[0].price", "expected number, got string \"12.00\"");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, a_missing_key_fails_naming_its_expected_type)
{
    struct rp_shape *s = infer(200, "application/json", "{\"order\":{\"id\":1,\"total\":2}}");
    struct rp_mismatches m;
    cr_assert_not(match_body(s, "{\"order\":{\"total\":2}}", &m));
    expect_one(&m, "$.order.id", "missing (expected number)");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, missing_keys_are_reported_in_the_order_the_shape_lists_them)
{
    struct rp_shape *s =
        infer(200, "application/json", "{\"zeta\":1,\"alpha\":\"a\",\"mid\":null}");
    struct rp_mismatches m;
    cr_assert_not(match_body(s, "{}", &m));
    cr_assert_eq(m.n, 3);
    cr_assert_str_eq(m.v[0].path, "$.zeta");
    cr_assert_str_eq(m.v[1].path, "$.alpha");
    cr_assert_str_eq(m.v[2].path, "$.mid");
    cr_assert_str_eq(m.v[2].message, "missing (expected null)");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, an_extra_key_passes_by_default)
{
    struct rp_shape *s = infer(200, "application/json", "{\"id\":1}");
    struct rp_mismatches m;
    cr_assert(match_body(s, "{\"id\":2,\"new_field\":\"x\"}", &m));
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, additional_properties_false_fails_an_extra_key)
{
    struct rp_shape *s = body_shape("{\"type\":\"object\",\"properties\":{\"id\":{}},"
                                    "\"additionalProperties\":false}");
    struct rp_mismatches m;
    cr_assert_not(match_body(s, "{\"id\":1,\"x\":2}", &m));
    expect_one(&m, "$.x", "unexpected key");
    rp_mismatches_cleanup(&m);
    cr_assert(match_body(s, "{\"id\":1}", &m));
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, enum_fails_a_value_not_listed)
{
    struct rp_shape *s = body_shape("{\"type\":\"object\",\"properties\":{\"status\":"
                                    "{\"type\":\"string\",\"enum\":[\"pending\",\"paid\"]}}}");
    struct rp_mismatches m;
    cr_assert_not(match_body(s, "{\"status\":\"lost\"}", &m));
    expect_one(&m, "$.status", "expected one of \"pending\", \"paid\", got \"lost\"");
    rp_mismatches_cleanup(&m);
    cr_assert(match_body(s, "{\"status\":\"paid\"}", &m));
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, enum_compares_numbers_booleans_null_and_nested_values)
{
    struct rp_shape *s = body_shape("{\"enum\":[1,true,null]}");
    struct rp_mismatches m;
    cr_assert(match_body(s, "1", &m));
    rp_mismatches_cleanup(&m);
    cr_assert(match_body(s, "null", &m));
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, "2", &m));
    expect_one(&m, "$", "expected one of 1, true, null, got 2");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);

    /* Objects and arrays compare by value, keys in any order. */
    s = body_shape("{\"enum\":[{\"a\":[1,{\"b\":null}],\"c\":\"x\"}]}");
    cr_assert(match_body(s, "{\"c\":\"x\",\"a\":[1,{\"b\":null}]}", &m));
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, "{\"c\":\"x\",\"a\":[1,{\"b\":false}]}", &m));
    expect_one(&m, "$", "expected one of object, got object");
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, "{\"c\":\"x\",\"a\":[1,{\"b\":null}],\"d\":1}", &m));
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, pattern_is_a_posix_extended_regex_searched_in_the_string)
{
    struct rp_shape *s = body_shape("{\"type\":\"object\",\"properties\":{\"code\":"
                                    "{\"type\":\"string\",\"pattern\":\"^A[0-9]+$\"},"
                                    "\"word\":{\"pattern\":\"b(an)+a\"}}}");
    struct rp_mismatches m;
    cr_assert(match_body(s, "{\"code\":\"A12\",\"word\":\"my banana\"}", &m));
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, "{\"code\":\"B1\"}", &m));
    expect_one(&m, "$.code", "does not match pattern ^A[0-9]+$, got \"B1\"");
    rp_mismatches_cleanup(&m);
    /* A pattern applies to strings only. */
    cr_assert(match_body(s, "{\"word\":5}", &m));
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, format_fails_a_string_that_does_not_have_it)
{
    struct rp_shape *s = body_shape("{\"type\":\"object\",\"properties\":{"
                                    "\"id\":{\"type\":\"string\",\"format\":\"uuid\"},"
                                    "\"at\":{\"format\":\"date-time\"},"
                                    "\"mail\":{\"format\":\"email\"},"
                                    "\"link\":{\"format\":\"uri\"}}}");
    struct rp_mismatches m;
    cr_assert_not(match_body(s, "{\"id\":\"abc\"}", &m));
    expect_one(&m, "$.id", "expected uuid format, got \"abc\"");
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, "{\"at\":\"2026-11-23 20:01:02\"}", &m));
    expect_one(&m, "$.at", "expected date-time format, got \"2026-11-23 20:01:02\"");
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, "{\"mail\":\"owner\"}", &m));
    expect_one(&m, "$.mail", "expected email format, got \"owner\"");
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, "{\"link\":\"not a uri\"}", &m));
    expect_one(&m, "$.link", "expected uri format, got \"not a uri\"");
    rp_mismatches_cleanup(&m);
    /* Checking accepts any absolute URI, not only http(s). */
    cr_assert(match_body(s,
                         "{\"id\":\"123E4567-e89b-12d3-a456-426614174000\","
                         "\"at\":\"2026-11-23T20:01:02.5-08:00\",\"mail\":\"a@b.co\","
                         "\"link\":\"mailto:a@b.co\"}",
                         &m));
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, integer_fails_a_fraction_and_number_accepts_any_number)
{
    struct rp_shape *s = body_shape("{\"type\":\"object\",\"properties\":{"
                                    "\"i\":{\"type\":\"integer\"},\"n\":{\"type\":\"number\"}}}");
    struct rp_mismatches m;
    cr_assert(match_body(s, "{\"i\":2,\"n\":2.5}", &m));
    rp_mismatches_cleanup(&m);
    cr_assert(match_body(s, "{\"i\":2.0,\"n\":-7}", &m));
    rp_mismatches_cleanup(&m);
    cr_assert(match_body(s, "{\"i\":1e300}", &m));
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, "{\"i\":2.5}", &m));
    expect_one(&m, "$.i", "expected integer, got number 2.5");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, a_type_array_names_every_type_in_the_message)
{
    struct rp_shape *s = body_shape("{\"type\":\"object\",\"properties\":{"
                                    "\"note\":{\"type\":[\"null\",\"string\"]},"
                                    "\"v\":{\"type\":[\"boolean\",\"object\",\"integer\"]}}}");
    struct rp_mismatches m;
    cr_assert(match_body(s, "{\"note\":null,\"v\":{}}", &m));
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, "{\"note\":3}", &m));
    expect_one(&m, "$.note", "expected string or null, got number 3");
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, "{\"v\":\"x\"}", &m));
    expect_one(&m, "$.v", "expected object, integer or boolean, got string \"x\"");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, live_values_are_shown_quoted_cut_and_typed)
{
    struct rp_shape *s = body_shape("{\"type\":\"array\",\"items\":{\"type\":\"number\"}}");
    struct rp_mismatches m;
    cr_assert_not(match_body(s,
                             "[\"0123456789012345678901234567890123456789\","
                             "\"01234567890123456789012345678901234567890\","
                             "\"a\\\"b\\\\c\\n\\u0001\","
                             "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                             "\xc3\xa9\","
                             "true,false,null,{\"a\":1},[1]]",
                             &m));
    cr_assert_eq(m.n, 9);
    cr_assert_str_eq(m.v[0].path, "$[0]");
    cr_assert_str_eq(m.v[0].message,
                     "expected number, got string \"0123456789012345678901234567890123456789\"");
    cr_assert_str_eq(m.v[1].message,
                     "expected number, got string \"0123456789012345678901234567890123456789"
                     "...\"");
    cr_assert_str_eq(m.v[2].message, "expected number, got string \"a\\\"b\\\\c\\n\\u0001\"");
    cr_assert_str_eq(m.v[3].message,
                     "expected number, got string \""
                     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...\"");
    cr_assert_str_eq(m.v[4].message, "expected number, got boolean true");
    cr_assert_str_eq(m.v[5].message, "expected number, got boolean false");
    cr_assert_str_eq(m.v[6].message, "expected number, got null");
    cr_assert_str_eq(m.v[7].message, "expected number, got object");
    cr_assert_str_eq(m.v[8].path, "$[8]");
    cr_assert_str_eq(m.v[8].message, "expected number, got array");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, live_numbers_are_shown_as_cjson_prints_them)
{
    struct rp_shape *s = body_shape("{\"type\":\"array\",\"items\":{\"type\":\"string\"}}");
    struct rp_mismatches m;
    cr_assert_not(match_body(s, "[3, 0.1, -2.5e-7, 1e300, 12345678901234567890]", &m));
    cr_assert_eq(m.n, 5);
    cr_assert_str_eq(m.v[0].message, "expected string, got number 3");
    cr_assert_str_eq(m.v[1].message, "expected string, got number 0.1");
    cr_assert_str_eq(m.v[2].message, "expected string, got number -2.5e-07");
    cr_assert_str_eq(m.v[3].message, "expected string, got number 1e+300");
    cr_assert_str_eq(m.v[4].message, "expected string, got number 1.2345678901234567e+19");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, a_changed_status_fails)
{
    struct rp_shape *s = infer(201, "application/json", "{\"id\":1}");
    struct rp_mismatches m;
    cr_assert_not(match(s, 500, "application/json", "{\"id\":1}", &m));
    expect_one(&m, "status", "expected 201, got 500");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, a_changed_media_type_fails)
{
    struct rp_shape *s = infer(200, "text/plain", "ok");
    struct rp_mismatches m;
    cr_assert_not(match(s, 200, "text/html", "ok", &m));
    expect_one(&m, "media type", "expected text/plain, got text/html");
    rp_mismatches_cleanup(&m);
    cr_assert_not(match(s, 200, NULL, "ok", &m));
    expect_one(&m, "media type", "expected text/plain, got none");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, media_type_comparison_ignores_parameters_and_case)
{
    struct rp_shape *s = infer(200, "application/json; charset=utf-8", "{}");
    struct rp_mismatches m;
    cr_assert(match(s, 200, "Application/JSON", "{}", &m));
    rp_mismatches_cleanup(&m);
    cr_assert(match(s, 200, " application/json;charset=ISO-8859-1", "{}", &m));
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);

    /* A shape file's media type is read the same way. */
    s = shape_of("{\"status\":200,\"media_type\":\"Text/HTML; charset=utf-8\"}");
    cr_assert_str_eq(rp_shape_media_type(s), "text/html");
    cr_assert(match(s, 200, "text/html", "", &m));
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, a_body_that_is_not_json_fails_when_json_is_expected)
{
    struct rp_shape *s = infer(200, "application/json", "{\"id\":1}");
    struct rp_mismatches m;
    cr_assert_not(match(s, 200, "text/html", "<html>oops</html>", &m));
    cr_assert_eq(m.n, 2);
    cr_assert_str_eq(m.v[0].path, "media type");
    cr_assert_str_eq(m.v[0].message, "expected application/json, got text/html");
    cr_assert_str_eq(m.v[1].path, "$");
    cr_assert_str_eq(m.v[1].message, "expected JSON, got invalid JSON");
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, "{\"id\":1} trailing", &m));
    expect_one(&m, "$", "expected JSON, got invalid JSON");
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, NULL, &m));
    expect_one(&m, "$", "expected JSON, got empty body");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, paths_escape_keys_that_are_not_identifiers)
{
    struct rp_shape *s =
        body_shape("{\"type\":\"object\",\"properties\":{"
                   "\"odd key\":{\"type\":\"number\"},\"a\\\"b\":{\"type\":\"number\"},"
                   "\"1st\":{\"type\":\"number\"},\"_ok9\":{\"type\":\"number\"},"
                   "\"\":{\"type\":\"number\"},"
                   "\"a\":{\"properties\":{\"b c\":{\"items\":{\"properties\":"
                   "{\"d\":{\"type\":\"number\"}}}}}}}}");
    struct rp_mismatches m;
    cr_assert_not(match_body(s,
                             "{\"odd key\":\"x\",\"a\\\"b\":\"x\",\"1st\":\"x\",\"_ok9\":\"x\","
                             "\"\":\"x\",\"a\":{\"b c\":[{},{},{\"d\":\"x\"}]}}",
                             &m));
    cr_assert_eq(m.n, 6);
    cr_assert_str_eq(m.v[0].path, "$[\"odd key\"]");
    cr_assert_str_eq(m.v[1].path, "$[\"a\\\"b\"]");
    cr_assert_str_eq(m.v[2].path, "$[\"1st\"]");
    cr_assert_str_eq(m.v[3].path, "$._ok9");
    cr_assert_str_eq(m.v[4].path, "$[\"\"]");
    cr_assert_str_eq(m.v[5].path, "$.a[\"b c\"][2].d");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, every_failing_array_element_is_reported)
{
    struct rp_shape *s = infer(200, "application/json", "[{\"id\":1}]");
    struct rp_mismatches m;
    cr_assert_not(match_body(s, "[{\"id\":1},{\"id\":\"2\"},{},{\"id\":4}]", &m));
    cr_assert_eq(m.n, 2);
    cr_assert_str_eq(m.v[0].path, "$[1].id");
    cr_assert_str_eq(m.v[0].message, "expected number, got string \"2\"");
    cr_assert_str_eq(m.v[1].path, "$[2].id");
    cr_assert_str_eq(m.v[1].message, "missing (expected number)");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, required_names_without_a_property_are_checked_for_presence)
{
    struct rp_shape *s = body_shape("{\"type\":\"object\",\"required\":[\"b\",\"a\",\"b\"]}");
    struct rp_mismatches m;
    cr_assert_not(match_body(s, "{\"a\":1}", &m));
    expect_one(&m, "$.b", "missing");
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, mismatches_past_the_cap_are_counted_in_one_last_entry)
{
    /* 150 elements of the wrong type, after a wrong status: 151 mismatches. */
    struct rp_buf body;
    rp_buf_init(&body, 1 << 20);
    cr_assert_eq(rp_buf_adds(&body, "[", NULL), RP_OK);
    for (int i = 0; i < 150; i++) {
        cr_assert_eq(rp_buf_adds(&body, i ? ",\"x\"" : "\"x\"", NULL), RP_OK);
    }
    cr_assert_eq(rp_buf_adds(&body, "]", NULL), RP_OK);
    struct rp_shape *s = infer(200, "application/json", "[1]");
    struct rp_mismatches m;
    cr_assert_not(match(s, 404, "application/json", body.data, &m));
    cr_assert_eq(RP_MAX_MISMATCHES, 100);
    cr_assert_eq(m.n, 101);
    cr_assert_str_eq(m.v[0].path, "status");
    cr_assert_str_eq(m.v[1].path, "$[0]");
    cr_assert_str_eq(m.v[99].path, "$[98]");
    cr_assert_str_eq(m.v[100].path, "...");
    cr_assert_str_eq(m.v[100].message, "51 more mismatches");

    /* A second match into the same full list keeps counting. */
    struct rp_response r;
    resp_init(&r, 200, "application/json", "[\"a\",\"b\"]");
    cr_assert_not(rp_shape_match(s, &r, &m));
    cr_assert_eq(m.n, 101);
    cr_assert_str_eq(m.v[100].message, "53 more mismatches");
    resp_cleanup(&r);
    rp_mismatches_cleanup(&m);
    rp_buf_cleanup(&body);
    rp_shape_free(s);
}

Test(shape, mismatches_add_keeps_the_cap_and_counts_the_rest)
{
    struct rp_mismatches m;
    rp_mismatches_init(&m);
    for (int i = 0; i < 100; i++) {
        rp_mismatches_add(&m, "$.x", "number %d", i);
    }
    cr_assert_eq(m.n, 100);
    cr_assert_str_eq(m.v[99].message, "number 99");
    rp_mismatches_add(&m, "$.y", "one too many");
    cr_assert_eq(m.n, 101);
    cr_assert_str_eq(m.v[100].path, "...");
    cr_assert_str_eq(m.v[100].message, "1 more mismatches");
    for (int i = 0; i < 1000; i++) {
        rp_mismatches_add(&m, "$.z", "more");
    }
    cr_assert_eq(m.n, 101);
    cr_assert_str_eq(m.v[100].message, "1001 more mismatches");
    rp_mismatches_cleanup(&m);
    cr_assert_eq(m.n, 0);
    cr_assert_null(m.v);
}

Test(shape, a_long_mismatch_message_is_cut)
{
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct rp_mismatches m;
    rp_mismatches_init(&m);
    rp_mismatches_add(&m, "$", "%s", big);
    cr_assert_eq(strlen(m.v[0].message), RP_MAX_MISMATCH_TEXT - 1);
    cr_assert_str_eq(m.v[0].message + RP_MAX_MISMATCH_TEXT - 4, "...");
    rp_mismatches_cleanup(&m);
}

Test(shape, matching_stops_checking_below_the_depth_bound)
{
    /* Recorded 70 deep; live differs at depth 66 (accepted) and, elsewhere, at depth 3. */
    struct rp_buf rec, deep, shallow;
    rp_buf_init(&rec, 1 << 20);
    rp_buf_init(&deep, 1 << 20);
    rp_buf_init(&shallow, 1 << 20);
    for (int i = 0; i < 70; i++) {
        cr_assert_eq(rp_buf_adds(&rec, "[", NULL), RP_OK);
        cr_assert_eq(rp_buf_adds(&deep, "[", NULL), RP_OK);
    }
    cr_assert_eq(rp_buf_adds(&rec, "1", NULL), RP_OK);
    cr_assert_eq(rp_buf_adds(&deep, "\"x\"", NULL), RP_OK);
    for (int i = 0; i < 70; i++) {
        cr_assert_eq(rp_buf_adds(&rec, "]", NULL), RP_OK);
        cr_assert_eq(rp_buf_adds(&deep, "]", NULL), RP_OK);
    }
    cr_assert_eq(rp_buf_adds(&shallow, "[[[\"x\"]]]", NULL), RP_OK);
    struct rp_shape *s = infer(200, "application/json", rec.data);
    struct rp_mismatches m;
    cr_assert(match_body(s, deep.data, &m));
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, shallow.data, &m));
    expect_one(&m, "$[0][0][0]", "expected array, got string \"x\"");
    rp_mismatches_cleanup(&m);

    /* A hostile body nested 900 deep (cJSON parses up to 1000). */
    struct rp_buf hostile;
    rp_buf_init(&hostile, 1 << 20);
    for (int i = 0; i < 450; i++) {
        cr_assert_eq(rp_buf_adds(&hostile, "{\"a\":[", NULL), RP_OK);
    }
    for (int i = 0; i < 450; i++) {
        cr_assert_eq(rp_buf_adds(&hostile, "]}", NULL), RP_OK);
    }
    struct rp_shape *any = body_shape("{\"type\":\"object\"}");
    cr_assert(match_body(any, hostile.data, &m));
    rp_mismatches_cleanup(&m);
    cr_assert_not(match_body(s, hostile.data, &m));
    expect_one(&m, "$", "expected array, got object");
    rp_mismatches_cleanup(&m);
    rp_shape_free(any);
    rp_shape_free(s);
    rp_buf_cleanup(&rec);
    rp_buf_cleanup(&deep);
    rp_buf_cleanup(&shallow);
    rp_buf_cleanup(&hostile);
}

/* ----- the JSON form ----------------------------------------------------------------------- */

Test(shape, to_json_writes_back_what_from_json_read_with_unknown_keywords_kept)
{
    const char *text =
        "{\"status\":201,\"media_type\":\"application/json\",\"body\":"
        "{\"type\":[\"object\",\"null\"],\"properties\":{\"id\":{\"type\":\"integer\","
        "\"minimum\":1},\"code\":{\"type\":\"string\",\"format\":\"uuid\","
        "\"pattern\":\"^[a-f0-9-]+$\"},\"kind\":{\"enum\":[\"a\",2,null]}},"
        "\"required\":[\"id\",\"code\"],\"additionalProperties\":false,"
        "\"description\":\"an order\"}}";
    struct rp_shape *s = shape_of(text);
    char *back = rp_shape_to_json(s);
    cr_assert_str_eq(back,
                     "{\"status\":201,\"media_type\":\"application/json\",\"body\":"
                     "{\"type\":[\"object\",\"null\"],\"properties\":{\"id\":{\"type\":"
                     "\"integer\",\"minimum\":1},\"code\":{\"type\":\"string\",\"format\":"
                     "\"uuid\",\"pattern\":\"^[a-f0-9-]+$\"},\"kind\":{\"enum\":[\"a\",2,null]}},"
                     "\"required\":[\"id\",\"code\"],\"additionalProperties\":false,"
                     "\"description\":\"an order\"}}");
    free(back);
    /* "minimum" is not checked. */
    struct rp_mismatches m;
    cr_assert(match(s, 201, "application/json",
                    "{\"id\":-5,\"code\":\"123e4567-e89b-12d3-a456-426614174000\"}", &m));
    rp_mismatches_cleanup(&m);
    rp_shape_free(s);
}

Test(shape, from_json_ignores_seq_and_request)
{
    struct rp_shape *s = shape_of("{\"seq\":4,\"request\":\"GET /\",\"status\":302,"
                                  "\"media_type\":null}");
    cr_assert_eq(rp_shape_status(s), 302);
    cr_assert_null(rp_shape_media_type(s));
    rp_shape_free(s);
}

static void expect_from_json_error(const char *json, const char *message)
{
    struct rp_shape *s = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_shape_from_json(json, strlen(json), &s, &err), RP_EFORMAT, "%s", json);
    cr_assert_null(s);
    cr_assert_str_eq(err.msg, message);
}

Test(shape, from_json_says_which_key_is_wrong)
{
    expect_from_json_error("{\"status\":", "invalid JSON");
    expect_from_json_error("[]", "the shape is not a JSON object");
    expect_from_json_error("{\"media_type\":null}", "\"status\" is missing");
    expect_from_json_error("{\"status\":99}", "\"status\" is not an integer from 100 to 999");
    expect_from_json_error("{\"status\":200.5}", "\"status\" is not an integer from 100 to 999");
    expect_from_json_error("{\"status\":200,\"media_type\":5}",
                           "\"media_type\" is not a string or null");
    expect_from_json_error("{\"status\":200,\"body\":[]}", "\"body\" is not an object");
    expect_from_json_error("{\"status\":200,\"body\":{\"type\":\"int\"}}",
                           "\"body.type\" is not a JSON type (\"int\")");
    expect_from_json_error("{\"status\":200,\"body\":{\"type\":[]}}",
                           "\"body.type\" is an empty array");
    expect_from_json_error("{\"status\":200,\"body\":{\"type\":[\"string\",3]}}",
                           "\"body.type\" is not a type name or an array of type names");
    expect_from_json_error("{\"status\":200,\"body\":{\"items\":{\"properties\":{"
                           "\"odd key\":{\"type\":\"x\"}}}}}",
                           "\"body.items.properties[\"odd key\"].type\" is not a JSON type "
                           "(\"x\")");
    expect_from_json_error("{\"status\":200,\"body\":{\"properties\":{\"a\":{},\"a\":{}}}}",
                           "\"body.properties.a\" appears twice");
    expect_from_json_error("{\"status\":200,\"body\":{\"type\":\"object\",\"type\":\"array\"}}",
                           "\"body.type\" appears twice");
    expect_from_json_error("{\"status\":200,\"body\":{\"required\":[\"a\",1]}}",
                           "\"body.required\" is not an array of strings");
    expect_from_json_error("{\"status\":200,\"body\":{\"items\":[{}]}}",
                           "\"body.items\" is not an object");
    expect_from_json_error("{\"status\":200,\"body\":{\"enum\":[]}}",
                           "\"body.enum\" is not a non-empty array");
    expect_from_json_error("{\"status\":200,\"body\":{\"format\":\"date\"}}",
                           "\"body.format\" \"date\" is not one reprise checks (uuid, "
                           "date-time, email, uri)");
    expect_from_json_error("{\"status\":200,\"body\":{\"additionalProperties\":1}}",
                           "\"body.additionalProperties\" is not true, false or a schema");
    expect_from_json_error(
        "{\"status\":200,\"body\":{\"additionalProperties\":{\"type\":\"tuple\"}}}",
        "\"body.additionalProperties.type\" is not a JSON type (\"tuple\")");
}

Test(shape, from_json_refuses_a_pattern_that_does_not_compile_naming_it)
{
    const char *json = "{\"status\":200,\"body\":{\"pattern\":\"^A[0-9\"}}";
    struct rp_shape *s = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_shape_from_json(json, strlen(json), &s, &err), RP_EFORMAT);
    const char *want = "\"body.pattern\" ^A[0-9 does not compile: ";
    cr_assert_eq(strncmp(err.msg, want, strlen(want)), 0, "%s", err.msg);
    cr_assert_gt(strlen(err.msg), strlen(want));
}

Test(shape, from_json_refuses_a_schema_nested_past_the_depth_bound)
{
    struct rp_buf b;
    rp_buf_init(&b, 1 << 20);
    cr_assert_eq(rp_buf_adds(&b, "{\"status\":200,\"body\":", NULL), RP_OK);
    for (int i = 0; i < 66; i++) {
        cr_assert_eq(rp_buf_adds(&b, "{\"items\":", NULL), RP_OK);
    }
    cr_assert_eq(rp_buf_adds(&b, "{}", NULL), RP_OK);
    for (int i = 0; i < 67; i++) {
        cr_assert_eq(rp_buf_adds(&b, "}", NULL), RP_OK);
    }
    const char *json = b.data;
    struct rp_shape *s = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_shape_from_json(json, strlen(json), &s, &err), RP_EFORMAT);
    cr_assert_str_eq(err.msg, "schema nested more than 64 levels deep (\"body.items.items.items"
                              ".items.items.items.items.items.items.i...\")");
    rp_buf_cleanup(&b);
}

/* ----- shape files ------------------------------------------------------------------------- */

static char *fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/shape/%s", REPRISE_TEST_DATA, name);
    return strdup(path);
}

static void expect_load_error(const char *name, rp_code code, const char *what)
{
    char *path = fixture(name);
    struct rp_shapeset *set = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_shapeset_load(path, &set, &err), code, "%s: %s", name, err.msg);
    cr_assert_null(set);
    char want[1024];
    snprintf(want, sizeof(want), "%s: %s", path, what);
    cr_assert_str_eq(err.msg, want);
    free(path);
}

Test(shape, load_reads_a_hand_written_shape_file)
{
    char *path = fixture("good.shape.json");
    struct rp_shapeset *set = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_shapeset_load(path, &set, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_shapeset_count(set), 3);
    cr_assert_null(rp_shapeset_get(set, 4));
    const struct rp_shape *home = rp_shapeset_get(set, 1);
    cr_assert_eq(rp_shape_status(home), 200);
    cr_assert_str_eq(rp_shape_media_type(home), "text/html");
    cr_assert_null(rp_shape_media_type(rp_shapeset_get(set, 3)));

    const struct rp_shape *signup = rp_shapeset_get(set, 2);
    struct rp_mismatches m;
    cr_assert(match(signup, 201, "application/json",
                    "{\"id\":5,\"email\":\"a@b.test\",\"plan\":\"pro\",\"code\":\"A1\","
                    "\"note\":null,\"extra\":[]}",
                    &m));
    rp_mismatches_cleanup(&m);
    cr_assert_not(match(signup, 201, "application/json",
                        "{\"id\":5.5,\"email\":\"nope\",\"plan\":\"gold\",\"code\":\"B1\","
                        "\"note\":1}",
                        &m));
    cr_assert_eq(m.n, 5);
    cr_assert_str_eq(m.v[0].message, "expected integer, got number 5.5");
    cr_assert_str_eq(m.v[1].message, "expected email format, got \"nope\"");
    cr_assert_str_eq(m.v[2].message, "expected one of \"free\", \"pro\", got \"gold\"");
    cr_assert_str_eq(m.v[3].message, "does not match pattern ^A[0-9]+$, got \"B1\"");
    cr_assert_str_eq(m.v[4].message, "expected string or null, got number 1");
    rp_mismatches_cleanup(&m);
    rp_shapeset_free(set);
    free(path);
}

Test(shape, save_writes_indented_json_in_seq_order)
{
    struct rp_shapeset *set = rp_shapeset_new("demo");
    rp_shapeset_put(set, 2, NULL, infer(204, NULL, NULL));
    rp_shapeset_put(set, 1, "GET /api/orders/0", infer(500, "text/plain", "x"));
    /* A second shape for seq 1 replaces the first. */
    rp_shapeset_put(set, 1, "GET /api/orders/1", infer(200, "application/json", "{\"id\":1}"));
    cr_assert_eq(rp_shapeset_count(set), 2);
    char *path = path_in(dir, "demo.shape.json");
    struct rp_error err = {0};
    cr_assert_eq(rp_shapeset_save(set, path, &err), RP_OK, "%s", err.msg);

    char *want_path = fixture("expected-save.shape.json");
    FILE *f = fopen(want_path, "rb");
    cr_assert_not_null(f);
    char want[4096];
    size_t wn = fread(want, 1, sizeof(want) - 1, f);
    want[wn] = '\0';
    fclose(f);
    f = fopen(path, "rb");
    cr_assert_not_null(f);
    char got[4096];
    size_t gn = fread(got, 1, sizeof(got) - 1, f);
    got[gn] = '\0';
    fclose(f);
    cr_assert_str_eq(got, want);

    free(want_path);
    free(path);
    rp_shapeset_free(set);
}

Test(shape, a_saved_file_loads_back_and_matches_the_same)
{
    const char *rec1 = "{\"id\":\"123e4567-e89b-12d3-a456-426614174000\",\"items\":"
                       "[{\"price\":12,\"tags\":[]},{\"price\":3,\"note\":null}],"
                       "\"odd key\":true}";
    struct rp_shapeset *set = rp_shapeset_new("round \"trip\"");
    rp_shapeset_put(set, 1, "POST /api/orders", infer(201, "application/json", rec1));
    rp_shapeset_put(set, 2, "GET /", infer(200, "text/html", "<p>"));
    char *path = path_in(dir, "rt.shape.json");
    struct rp_error err = {0};
    cr_assert_eq(rp_shapeset_save(set, path, &err), RP_OK, "%s", err.msg);
    struct rp_shapeset *back = NULL;
    cr_assert_eq(rp_shapeset_load(path, &back, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_shapeset_count(back), 2);

    static const char *const lives[] = {
        "{\"id\":\"123e4567-e89b-12d3-a456-426614174000\",\"items\":[],\"odd key\":false}",
        "{\"id\":\"nope\",\"items\":[{\"price\":\"12.00\"},{\"tags\":[1],\"note\":\"x\"}]}",
        "[]",
        "garbage",
    };
    for (size_t i = 0; i < sizeof(lives) / sizeof(lives[0]); i++) {
        struct rp_mismatches a, b;
        bool ra = match(rp_shapeset_get(set, 1), 201, "application/json", lives[i], &a);
        bool rb = match(rp_shapeset_get(back, 1), 201, "application/json", lives[i], &b);
        cr_assert_eq(ra, rb);
        cr_assert_eq(a.n, b.n, "live %zu", i);
        for (size_t k = 0; k < a.n; k++) {
            cr_assert_str_eq(a.v[k].path, b.v[k].path);
            cr_assert_str_eq(a.v[k].message, b.v[k].message);
        }
        rp_mismatches_cleanup(&a);
        rp_mismatches_cleanup(&b);
    }
    /* The second live body, by hand. */
    struct rp_mismatches m;
    cr_assert_not(match(rp_shapeset_get(back, 1), 201, "application/json", lives[1], &m));
    cr_assert_eq(m.n, 5);
    cr_assert_str_eq(m.v[0].path, "$.id");
    cr_assert_str_eq(m.v[0].message, "expected uuid format, got \"nope\"");
    cr_assert_str_eq(m.v[1].path, "$.items[0].price");
    cr_assert_str_eq(m.v[1].message, "expected number, got string \"12.00\"");
    cr_assert_str_eq(m.v[2].path, "$.items[1].note");
    cr_assert_str_eq(m.v[2].message, "expected null, got string \"x\"");
    cr_assert_str_eq(m.v[3].path, "$.items[1].price");
    cr_assert_str_eq(m.v[3].message, "missing (expected number)");
    cr_assert_str_eq(m.v[4].path, "$[\"odd key\"]");
    cr_assert_str_eq(m.v[4].message, "missing (expected boolean)");
    rp_mismatches_cleanup(&m);

    rp_shapeset_free(back);
    rp_shapeset_free(set);
    free(path);
}

Test(shape, load_reports_invalid_json_with_its_line)
{
    expect_load_error("not-json.shape.json", RP_EFORMAT, "invalid JSON at line 4");
}

Test(shape, load_refuses_another_version)
{
    expect_load_error("version2.shape.json", RP_EVERSION,
                      "shape file version 2 is not supported (this reprise reads version 1)");
}

Test(shape, load_refuses_a_file_that_is_not_a_shape_file)
{
    expect_load_error("not-a-shape-file.json", RP_EFORMAT,
                      "not a reprise shape file (no \"reprise_shape\" version)");
}

Test(shape, load_refuses_a_file_without_exchanges)
{
    expect_load_error("no-exchanges.shape.json", RP_EFORMAT, "\"exchanges\" is missing");
}

Test(shape, load_refuses_an_exchange_without_an_integer_seq)
{
    expect_load_error("no-seq.shape.json", RP_EFORMAT, "exchanges[1]: \"seq\" is missing");
    expect_load_error("seq-not-integer.shape.json", RP_EFORMAT,
                      "exchanges[0]: \"seq\" is not a non-negative integer");
}

Test(shape, load_refuses_an_exchange_without_an_integer_status)
{
    expect_load_error("no-status.shape.json", RP_EFORMAT, "exchange 3: \"status\" is missing");
    expect_load_error("status-not-integer.shape.json", RP_EFORMAT,
                      "exchange 3: \"status\" is not an integer from 100 to 999");
}

Test(shape, load_refuses_a_duplicate_seq)
{
    expect_load_error("duplicate-seq.shape.json", RP_EFORMAT, "exchange 2: seq 2 appears twice");
}

Test(shape, load_refuses_an_unknown_type_name)
{
    expect_load_error("bad-type.shape.json", RP_EFORMAT,
                      "exchange 7: \"body.properties.id.type\" is not a JSON type (\"int\")");
    /* Without an error struct the code is still the failure's. */
    char *path = fixture("bad-type.shape.json");
    struct rp_shapeset *set = NULL;
    cr_assert_eq(rp_shapeset_load(path, &set, NULL), RP_EFORMAT);
    cr_assert_null(set);
    free(path);
}

Test(shape, load_refuses_required_that_is_not_an_array_of_strings)
{
    expect_load_error("bad-required.shape.json", RP_EFORMAT,
                      "exchange 7: \"body.required\" is not an array of strings");
}

Test(shape, load_refuses_a_bad_pattern_naming_it)
{
    char *path = fixture("bad-pattern.shape.json");
    struct rp_shapeset *set = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_shapeset_load(path, &set, &err), RP_EFORMAT);
    char want[1024];
    snprintf(want, sizeof(want),
             "%s: exchange 7: \"body.properties.code.pattern\" ^A[0-9 does not compile: ", path);
    cr_assert_eq(strncmp(err.msg, want, strlen(want)), 0, "%s", err.msg);
    free(path);
}

Test(shape, load_of_a_missing_file_is_not_found)
{
    char *path = path_in(dir, "none.shape.json");
    struct rp_shapeset *set = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_shapeset_load(path, &set, &err), RP_ENOTFOUND);
    cr_assert_null(set);
    char want[1024];
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    cr_assert_str_eq(err.msg, want);
    free(path);
}

Test(shape, save_to_a_missing_directory_fails_with_eio)
{
    struct rp_shapeset *set = rp_shapeset_new(NULL);
    char *path = path_in(dir, "no/such/dir/x.shape.json");
    struct rp_error err = {0};
    cr_assert_eq(rp_shapeset_save(set, path, &err), RP_EIO);
    cr_assert(strstr(err.msg, "No such file or directory"), "%s", err.msg);
    free(path);
    rp_shapeset_free(set);
}

Test(shape, an_empty_set_saves_and_loads)
{
    struct rp_shapeset *set = rp_shapeset_new(NULL);
    char *path = path_in(dir, "empty.shape.json");
    struct rp_error err = {0};
    cr_assert_eq(rp_shapeset_save(set, path, &err), RP_OK, "%s", err.msg);
    struct rp_shapeset *back = NULL;
    cr_assert_eq(rp_shapeset_load(path, &back, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_shapeset_count(back), 0);
    cr_assert_null(rp_shapeset_get(back, 1));
    rp_shapeset_free(back);
    rp_shapeset_free(set);
    free(path);
}

Test(shape, a_set_holds_200000_shapes_put_in_any_order)
{
    struct rp_shapeset *set = rp_shapeset_new("big");
    for (uint64_t seq = 200000; seq >= 1; seq--) {
        rp_shapeset_put(set, seq, NULL, infer(100 + (unsigned)(seq % 800), NULL, NULL));
    }
    cr_assert_eq(rp_shapeset_count(set), 200000);
    for (uint64_t seq = 1; seq <= 200000; seq++) {
        const struct rp_shape *s = rp_shapeset_get(set, seq);
        cr_assert_not_null(s);
        cr_assert_eq(rp_shape_status(s), 100 + (unsigned)(seq % 800));
    }
    cr_assert_null(rp_shapeset_get(set, 0));
    cr_assert_null(rp_shapeset_get(set, 200001));
    rp_shapeset_free(set);
}

Test(shape, shape_path_for_replaces_the_recording_suffix)
{
    static const char *const cases[][2] = {
        {"recordings/x.jsonl.gz", "recordings/x.shape.json"},
        {"x.gz", "x.shape.json"},
        {"dir.v2/x.jsonl", "dir.v2/x.shape.json"},
        {"x", "x.shape.json"},
        {"x.har", "x.har.shape.json"},
        {"a.jsonl.gz.bak", "a.jsonl.gz.bak.shape.json"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *p = rp_shape_path_for(cases[i][0]);
        cr_assert_str_eq(p, cases[i][1]);
        free(p);
    }
}

Test(shape, the_example_in_the_documentation_loads_and_checks_what_it_says)
{
    char doc_path[512];
    snprintf(doc_path, sizeof(doc_path), "%s/docs/shape-file.md", REPRISE_SOURCE_DIR);
    FILE *f = fopen(doc_path, "rb");
    cr_assert_not_null(f, "%s", doc_path);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    doc[n] = '\0';
    fclose(f);
    char *start = strstr(doc, "```json\n");
    cr_assert_not_null(start);
    start += strlen("```json\n");
    char *end = strstr(start, "```");
    cr_assert_not_null(end);
    char *path = path_in(dir, "example.shape.json");
    write_file(path, start, (size_t)(end - start));

    struct rp_shapeset *set = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_shapeset_load(path, &set, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_shapeset_count(set), 3);
    const struct rp_shape *signup = rp_shapeset_get(set, 2);
    struct rp_mismatches m;
    match(signup, 201, "application/json; charset=utf-8",
          "{\"id\":1,\"email\":\"a@b.test\",\"plan\":\"free\",\"code\":\"A7\","
          "\"created\":\"2026-11-23T20:01:02Z\",\"tags\":[\"x\"],\"referrer\":null}",
          &m);
    expect_none(&m);
    rp_mismatches_cleanup(&m);
    cr_assert_not(match(signup, 201, "application/json",
                        "{\"id\":0.5,\"email\":\"a@b.test\",\"plan\":\"free\","
                        "\"created\":\"yesterday\",\"referrer\":\"not a uri\",\"x\":1}",
                        &m));
    cr_assert_eq(m.n, 4);
    cr_assert_str_eq(m.v[0].path, "$.id");
    cr_assert_str_eq(m.v[1].path, "$.created");
    cr_assert_str_eq(m.v[2].path, "$.referrer");
    cr_assert_str_eq(m.v[3].path, "$.x");
    cr_assert_str_eq(m.v[3].message, "unexpected key");
    rp_mismatches_cleanup(&m);
    cr_assert(match(rp_shapeset_get(set, 3), 204, "text/plain", NULL, &m));
    rp_mismatches_cleanup(&m);
    rp_shapeset_free(set);
    free(path);
}

/* ----- shapes shared in a loaded set ------------------------------------------------------- */

Test(shape, exchanges_of_one_shape_share_it_once_loaded)
{
    /* 2,000 exchanges of two shapes (seq 2 alone differs): what the set keeps must be the two
     * shapes and a small entry per exchange, not 2,000 compiled shapes. */
    const char *body =
        "\"body\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
        "\"name\":{\"type\":\"string\"},\"tags\":{\"type\":\"array\",\"items\":"
        "{\"type\":\"string\"}},\"at\":{\"type\":\"string\",\"format\":"
        "\"date-time\"}},\"required\":[\"id\",\"name\"]}";
    struct rp_buf b;
    rp_buf_init(&b, SIZE_MAX / 2);
    cr_assert_eq(rp_buf_adds(&b, "{\"reprise_shape\":1,\"exchanges\":[", NULL), RP_OK);
    for (unsigned seq = 1; seq <= 2000; seq++) {
        cr_assert_eq(rp_buf_addf(&b, NULL,
                                 "%s{\"seq\":%u,\"request\":\"GET /api/%u\",\"status\":%u,"
                                 "\"media_type\":\"application/json\",%s}",
                                 seq > 1 ? "," : "", seq, seq, seq == 2 ? 201 : 200,
                                 seq % 2 ? body : "\"body\":null"),
                     RP_OK);
    }
    cr_assert_eq(rp_buf_adds(&b, "]}", NULL), RP_OK);
    char *path = path_in(dir, "many.shape.json");
    write_file(path, b.data, b.len);
    rp_buf_cleanup(&b);

    size_t before = heap_in_use();
    struct rp_shapeset *set = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_shapeset_load(path, &set, &err), RP_OK, "%s", err.msg);
    size_t held = heap_in_use() - before;
    cr_assert_eq(rp_shapeset_count(set), 2000);
    cr_assert_eq(rp_shapeset_get(set, 1), rp_shapeset_get(set, 1999));
    cr_assert_eq(rp_shapeset_get(set, 4), rp_shapeset_get(set, 2000));
    cr_assert_neq(rp_shapeset_get(set, 1), rp_shapeset_get(set, 4));
    cr_assert_neq(rp_shapeset_get(set, 2), rp_shapeset_get(set, 4));
    cr_assert_eq(rp_shape_status(rp_shapeset_get(set, 2)), 201);
    cr_assert_lt(held, 2000u * 300u, "the set keeps %zu bytes", held);

    /* Replacing one exchange's shape leaves the others' shared one whole. */
    struct rp_shape *own = NULL;
    const char *j = "{\"status\":204}";
    cr_assert_eq(rp_shape_from_json(j, strlen(j), &own, &err), RP_OK, "%s", err.msg);
    rp_shapeset_put(set, 3, "GET /api/3", own);
    cr_assert_eq(rp_shape_status(rp_shapeset_get(set, 3)), 204);
    cr_assert_eq(rp_shape_status(rp_shapeset_get(set, 1)), 200);
    cr_assert_str_eq(rp_shape_media_type(rp_shapeset_get(set, 1)), "application/json");
    rp_shapeset_free(set);
    free(path);
}

/* ----- loading one exchange at a time ----------------------------------------------------- */

static size_t cjson_now, cjson_peak;

static void *counting_malloc(size_t n)
{
    void *p = malloc(n);
    cr_assert(p);
    cjson_now += malloc_usable_size(p);
    cjson_peak = cjson_now > cjson_peak ? cjson_now : cjson_peak;
    return p;
}

static void counting_free(void *p)
{
    if (p) {
        cjson_now -= malloc_usable_size(p);
    }
    free(p);
}

Test(shape, a_plain_shape_file_is_never_held_as_one_tree)
{
    /* 2,000 exchanges of different shapes: about 400 KB of file, megabytes as one tree. */
    struct rp_buf b;
    rp_buf_init(&b, SIZE_MAX / 2);
    cr_assert_eq(rp_buf_adds(&b, "{\"reprise_shape\":1,\"exchanges\":[", NULL), RP_OK);
    for (unsigned seq = 1; seq <= 2000; seq++) {
        cr_assert_eq(
            rp_buf_addf(&b, NULL,
                        "%s{\"seq\":%u,\"status\":200,\"media_type\":\"application/json\","
                        "\"body\":{\"type\":\"object\",\"properties\":{\"f%u\":{\"type\":"
                        "\"integer\"},\"g\":{\"type\":\"string\"}},\"required\":[\"f%u\"]}}",
                        seq > 1 ? "," : "", seq, seq, seq),
            RP_OK);
    }
    cr_assert_eq(rp_buf_adds(&b, "],\"recording\":\"late\"}\n", NULL), RP_OK);
    char *path = path_in(dir, "plain.shape.json");
    write_file(path, b.data, b.len);
    rp_buf_cleanup(&b);

    cJSON_Hooks hooks = {.malloc_fn = counting_malloc, .free_fn = counting_free};
    cJSON_InitHooks(&hooks);
    struct rp_shapeset *set = NULL;
    struct rp_error err = {0};
    rp_code rc = rp_shapeset_load(path, &set, &err);
    cJSON_InitHooks(NULL);
    cr_assert_eq(rc, RP_OK, "%s", err.msg);
    cr_assert_eq(rp_shapeset_count(set), 2000);
    cr_assert_eq(rp_shape_status(rp_shapeset_get(set, 1234)), 200);
    cr_assert_lt(cjson_peak, 16u * 1024u, "cJSON held %zu bytes at most", cjson_peak);
    rp_shapeset_free(set);
    free(path);
}

/* Loads text as a shape file: the code, and the message after "PATH: " (or the count). */
static void expect_text_load(const char *text, rp_code code, const char *what)
{
    char *path = path_in(dir, "t.shape.json");
    write_file(path, text, strlen(text));
    struct rp_shapeset *set = NULL;
    struct rp_error err = {0};
    rp_code rc = rp_shapeset_load(path, &set, &err);
    cr_assert_eq(rc, code, "%s: %s", text, err.msg);
    if (rc) {
        char want[1024];
        snprintf(want, sizeof(want), "%s: %s", path, what);
        cr_assert_str_eq(err.msg, want, "%s", text);
    } else {
        char got[32];
        snprintf(got, sizeof(got), "%zu", rp_shapeset_count(set));
        cr_assert_str_eq(got, what, "%s", text);
    }
    rp_shapeset_free(set);
    free(path);
}

Test(shape, what_the_scan_leaves_to_a_whole_parse_loads_as_before)
{
    /* An escaped key, a raw tab in a string, a byte below 0x20 before the document: cJSON
     * takes them, so the file loads. */
    expect_text_load("{\"reprise_\\u0073hape\":1,\"exchanges\":[{\"seq\":1,\"status\":200}]}",
                     RP_OK, "1");
    expect_text_load("{\"reprise_shape\":1,\"recording\":\"a\tb\",\"exchanges\":[]}", RP_OK, "0");
    expect_text_load("\x0b{\"reprise_shape\":1,\"exchanges\":[]}", RP_OK, "0");
    /* A number cJSON takes and strict JSON does not ("1."): the file loads. */
    expect_text_load("{\"reprise_shape\":1,\"exchanges\":[{\"seq\":1,\"status\":200,\"body\":"
                     "{\"enum\":[1.]}}]}",
                     RP_OK, "1");
    /* A lone surrogate: cJSON refuses it, so the file does not load. */
    expect_text_load("{\"reprise_shape\":1,\n\"recording\":\"\\ud800\",\"exchanges\":[]}",
                     RP_EFORMAT, "invalid JSON at line 2");
    /* The first of a name counts, wherever it is. */
    expect_text_load("{\"exchanges\":[{\"seq\":1,\"status\":200}],\"exchanges\":[],"
                     "\"reprise_shape\":1,\"reprise_shape\":2}",
                     RP_OK, "1");
    expect_text_load("{\"exchanges\":{},\"exchanges\":[],\"reprise_shape\":1}", RP_EFORMAT,
                     "\"exchanges\" is not an array");
    /* A semantic error in an exchange comes after the check of the whole file's syntax. */
    expect_text_load("{\"reprise_shape\":1,\"exchanges\":[{\"seq\":1,\"status\":42},\n\n{]}",
                     RP_EFORMAT, "invalid JSON at line 3");
}
