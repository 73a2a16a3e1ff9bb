/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for maps keyed by ids: inference makes "additionalProperties" of an object whose
 * keys are ids (by their shape, or because they are id values elsewhere in the body), the
 * matcher checks every live value against it whatever its key, a union keeps a map a map, and
 * records with ordinary keys stay records.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <reprise/exchange.h>
#include <reprise/shape.h>

TestSuite(shape_maps);

static void resp_init(struct rp_response *r, const char *body)
{
    memset(r, 0, sizeof(*r));
    rp_headers_init(&r->headers);
    r->status = 200;
    cr_assert_eq(rp_headers_add(&r->headers, "Content-Type", 12, "application/json", 16, NULL),
                 RP_OK);
    rp_body_set(&r->body, body, strlen(body));
}

static struct rp_shape *infer(const char *body)
{
    struct rp_response r;
    resp_init(&r, body);
    struct rp_shape *s = rp_shape_infer(&r);
    rp_response_cleanup(&r);
    return s;
}

/* The body schema of s as JSON text, from rp_shape_to_json's {"status":…,"body":…}. */
static char *body_json(const struct rp_shape *s)
{
    char *all = rp_shape_to_json(s);
    const char *b = strstr(all, "\"body\":");
    cr_assert_not_null(b, "%s", all);
    char *out = rp_xstrdup(b + 7);
    out[strlen(out) - 1] = '\0'; /* the closing brace of the exchange */
    free(all);
    return out;
}

/* Matches body against s; returns the mismatches as "path: message; ..." ("" when none). */
static char *matched(const struct rp_shape *s, const char *body)
{
    struct rp_response r;
    resp_init(&r, body);
    struct rp_mismatches m;
    rp_mismatches_init(&m);
    bool ok = rp_shape_match(s, &r, &m);
    char buf[1024] = "";
    size_t len = 0;
    for (size_t i = 0; i < m.n; i++) {
        int k = snprintf(buf + len, sizeof(buf) - len, "%s%s: %s", i ? "; " : "", m.v[i].path,
                         m.v[i].message);
        len += k > 0 ? (size_t)k : 0;
        len = len < sizeof(buf) ? len : sizeof(buf) - 1;
    }
    cr_assert_eq(ok, m.n == 0);
    rp_mismatches_cleanup(&m);
    rp_response_cleanup(&r);
    return rp_xstrdup(buf);
}

static void expect_match(const struct rp_shape *s, const char *body, const char *want)
{
    char *got = matched(s, body);
    cr_assert_str_eq(got, want, "for %s", body);
    free(got);
}

#define MAP_NOTE                                                                                   \
    "\"description\":\"a map keyed by ids: any keys, each value as additionalProperties; to "      \
    "check it as a record, replace additionalProperties with properties and required\""

Test(shape_maps, columns_by_id_is_a_map_of_its_values_union)
{
    struct rp_shape *s =
        infer("{\"columns\":[{\"id\":\"cfw02w9r08ah3kl\"},{\"id\":\"k3j9x0a1b2c4d5e\"}],"
              "\"columnsById\":{\"cfw02w9r08ah3kl\":{\"id\":\"cfw02w9r08ah3kl\",\"name\":\"Todo\","
              "\"cards\":[]},\"k3j9x0a1b2c4d5e\":{\"id\":\"k3j9x0a1b2c4d5e\",\"name\":\"Done\","
              "\"wip\":3,\"cards\":[]}}}");
    char *b = body_json(s);
    /* Values' union: id, name and cards in both (required), wip in one (not required). */
    cr_assert_str_eq(
        b, "{\"type\":\"object\",\"properties\":{"
           "\"columns\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
           "\"properties\":{\"id\":{\"type\":\"string\"}},\"required\":[\"id\"]}},"
           "\"columnsById\":{\"type\":\"object\",\"additionalProperties\":{"
           "\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},"
           "\"name\":{\"type\":\"string\"},\"cards\":{\"type\":\"array\"},"
           "\"wip\":{\"type\":\"number\"}},\"required\":[\"id\",\"name\",\"cards\"]}," MAP_NOTE
           "}},\"required\":[\"columns\",\"columnsById\"]}");
    free(b);
    /* Live: other ids, one more column. */
    expect_match(
        s,
        "{\"columns\":[{\"id\":\"zq81m2n3b4v5c6x\"}],\"columnsById\":{"
        "\"zq81m2n3b4v5c6x\":{\"id\":\"zq81m2n3b4v5c6x\",\"name\":\"Todo\",\"cards\":[]},"
        "\"p0o9i8u7y6t5r4e\":{\"id\":\"p0o9i8u7y6t5r4e\",\"name\":\"Done\",\"cards\":[]}}}",
        "");
    /* An empty map passes too: nothing is required of it. */
    expect_match(s, "{\"columns\":[],\"columnsById\":{}}", "");
    /* A value of the wrong shape under a new key fails, at its key. */
    expect_match(s,
                 "{\"columns\":[],\"columnsById\":{\"zq81m2n3b4v5c6x\":{\"id\":\"zq81m2n3b4v5c6x\","
                 "\"name\":5,\"cards\":[]},\"p0o9i8u7y6t5r4e\":{\"id\":\"p0o9i8u7y6t5r4e\","
                 "\"cards\":[]}}}",
                 "$.columnsById.zq81m2n3b4v5c6x.name: expected string, got number 5; "
                 "$.columnsById.p0o9i8u7y6t5r4e.name: missing (expected string)");
    rp_shape_free(s);
}

Test(shape_maps, keys_that_are_ids_elsewhere_in_the_body_make_a_map)
{
    /* "todo" and "done" have no id shape, but they are $.columns[*].id. */
    struct rp_shape *s = infer("{\"columns\":[{\"id\":\"todo\"},{\"id\":\"done\"}],"
                               "\"byId\":{\"todo\":{\"n\":1},\"done\":{\"n\":2}}}");
    char *b = body_json(s);
    cr_assert(strstr(b, "\"byId\":{\"type\":\"object\",\"additionalProperties\":{\"type\":"
                        "\"object\",\"properties\":{\"n\":{\"type\":\"number\"}},\"required\":["
                        "\"n\"]},"),
              "%s", b);
    free(b);
    expect_match(s, "{\"columns\":[],\"byId\":{\"doing\":{\"n\":3}}}", "");
    expect_match(s, "{\"columns\":[],\"byId\":{\"doing\":{\"n\":\"3\"}}}",
                 "$.byId.doing.n: expected number, got string \"3\"");
    rp_shape_free(s);
}

Test(shape_maps, digit_keys_make_a_map)
{
    struct rp_shape *s = infer("{\"orders\":{\"3\":{\"total\":5},\"4\":{\"total\":7}}}");
    char *b = body_json(s);
    cr_assert_str_eq(b, "{\"type\":\"object\",\"properties\":{\"orders\":{\"type\":\"object\","
                        "\"additionalProperties\":{\"type\":\"object\",\"properties\":{\"total\":"
                        "{\"type\":\"number\"}},\"required\":[\"total\"]}," MAP_NOTE
                        "}},\"required\":[\"orders\"]}");
    free(b);
    expect_match(s, "{\"orders\":{\"21\":{\"total\":9},\"22\":{\"total\":1}}}", "");
    expect_match(s, "{\"orders\":{\"21\":{\"total\":\"9\"}}}",
                 "$.orders[\"21\"].total: expected number, got string \"9\"");
    rp_shape_free(s);
}

Test(shape_maps, uuid_keys_make_a_map)
{
    struct rp_shape *s = infer("{\"123e4567-e89b-12d3-a456-426614174000\":true,"
                               "\"9b2f0c4e-1d3a-4b5c-8d7e-6f5a4b3c2d1e\":false}");
    char *b = body_json(s);
    cr_assert_str_eq(
        b, "{\"type\":\"object\",\"additionalProperties\":{\"type\":\"boolean\"}," MAP_NOTE "}");
    free(b);
    expect_match(s, "{\"0f0e0d0c-0b0a-4909-8807-060504030201\":true}", "");
    expect_match(s, "{\"0f0e0d0c-0b0a-4909-8807-060504030201\":1}",
                 "$[\"0f0e0d0c-0b0a-4909-8807-060504030201\"]: expected boolean, got number 1");
    rp_shape_free(s);
}

Test(shape_maps, hex_keys_make_a_map)
{
    struct rp_shape *s = infer("{\"5f2b9c1e7a\":1,\"0a1b2c3d4e\":2}");
    char *b = body_json(s);
    cr_assert_str_eq(
        b, "{\"type\":\"object\",\"additionalProperties\":{\"type\":\"number\"}," MAP_NOTE "}");
    free(b);
    rp_shape_free(s);
}

Test(shape_maps, ordinary_keys_stay_a_record)
{
    struct rp_shape *s = infer("{\"name\":\"tea\",\"price\":3}");
    char *b = body_json(s);
    cr_assert_str_eq(b, "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
                        "\"price\":{\"type\":\"number\"}},\"required\":[\"name\",\"price\"]}");
    free(b);
    expect_match(s, "{\"name\":\"tea\"}", "$.price: missing (expected number)");
    rp_shape_free(s);
}

Test(shape_maps, one_id_among_ordinary_keys_stays_a_record)
{
    struct rp_shape *s = infer("{\"name\":\"tea\",\"cfw02w9r08ah3kl\":1,\"address2\":\"x\"}");
    char *b = body_json(s);
    cr_assert_str_eq(b, "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
                        "\"cfw02w9r08ah3kl\":{\"type\":\"number\"},\"address2\":{\"type\":"
                        "\"string\"}},\"required\":[\"name\",\"cfw02w9r08ah3kl\",\"address2\"]}");
    free(b);
    rp_shape_free(s);
}

Test(shape_maps, words_with_a_digit_are_not_ids)
{
    /* address2, utf8, v2: not ids; a lone word key that is an id value elsewhere: not a map. */
    struct rp_shape *s = infer("{\"a\":{\"address2\":\"x\",\"line1\":\"y\"},\"user\":{\"id\":"
                               "\"admin\"},\"perms\":{\"admin\":true}}");
    char *b = body_json(s);
    cr_assert(strstr(b, "\"required\":[\"address2\",\"line1\"]"), "%s", b);
    cr_assert(strstr(b, "\"perms\":{\"type\":\"object\",\"properties\":{\"admin\""), "%s", b);
    cr_assert_null(strstr(b, "additionalProperties"), "%s", b);
    free(b);
    rp_shape_free(s);
}

Test(shape_maps, a_union_keeps_a_map_a_map)
{
    /* Boards in an array: one map with ids, one empty object; the union stays a map. */
    struct rp_shape *s = infer("{\"boards\":[{\"byId\":{}},{\"byId\":{\"12\":{\"n\":1}}},"
                               "{\"byId\":{\"13\":{\"n\":2,\"x\":true}}}]}");
    char *b = body_json(s);
    cr_assert_str_eq(b, "{\"type\":\"object\",\"properties\":{\"boards\":{\"type\":\"array\","
                        "\"items\":{\"type\":\"object\",\"properties\":{\"byId\":{\"type\":"
                        "\"object\",\"additionalProperties\":{\"type\":\"object\",\"properties\":"
                        "{\"n\":{\"type\":\"number\"},\"x\":{\"type\":\"boolean\"}},\"required\":"
                        "[\"n\"]}," MAP_NOTE "}},\"required\":[\"byId\"]}}},\"required\":"
                        "[\"boards\"]}");
    free(b);
    expect_match(s, "{\"boards\":[{\"byId\":{\"40\":{\"n\":4}}}]}", "");
    rp_shape_free(s);
}

Test(shape_maps, a_shape_file_map_reads_back_and_a_reviewer_can_flip_it)
{
    const char *map = "{\"status\":200,\"media_type\":\"application/json\",\"body\":{\"type\":"
                      "\"object\",\"additionalProperties\":{\"type\":\"number\"}}}";
    struct rp_shape *s = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_shape_from_json(map, strlen(map), &s, &err), RP_OK, "%s", err.msg);
    char *back = rp_shape_to_json(s);
    cr_assert_str_eq(back, map);
    free(back);
    expect_match(s, "{\"a\":1,\"b\":2}", "");
    expect_match(s, "{\"a\":\"1\"}", "$.a: expected number, got string \"1\"");
    rp_shape_free(s);

    /* Flipped by hand to a record: the recorded keys are required again. */
    const char *rec = "{\"status\":200,\"media_type\":\"application/json\",\"body\":{\"type\":"
                      "\"object\",\"properties\":{\"a\":{\"type\":\"number\"}},\"required\":"
                      "[\"a\"]}}";
    cr_assert_eq(rp_shape_from_json(rec, strlen(rec), &s, &err), RP_OK, "%s", err.msg);
    expect_match(s, "{\"b\":2}", "$.a: missing (expected number)");
    rp_shape_free(s);
}
