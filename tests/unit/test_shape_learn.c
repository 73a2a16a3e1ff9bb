/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for learning what moves between runs (rp_shape_learn): each kind of relaxation,
 * the run counts of its reason, what is left strict, the annotation an earlier learning left,
 * and the differences that are problems rather than relaxations.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <reprise/exchange.h>
#include <reprise/shape.h>

TestSuite(shape_learn);

static void resp_init(struct rp_response *r, unsigned status, const char *body)
{
    memset(r, 0, sizeof(*r));
    rp_headers_init(&r->headers);
    r->status = status;
    cr_assert_eq(rp_headers_add(&r->headers, "Content-Type", 12, "application/json", 16, NULL),
                 RP_OK);
    rp_body_set(&r->body, body, strlen(body));
}

/* A set holding one shape, seq 1, inferred from a 200 JSON response with body. */
static struct rp_shapeset *set_inferred(const char *body)
{
    struct rp_response r;
    resp_init(&r, 200, body);
    struct rp_shapeset *set = rp_shapeset_new("t");
    rp_shapeset_put(set, 1, "GET /x", rp_shape_infer(&r));
    rp_response_cleanup(&r);
    return set;
}

/* A set holding one shape, seq 1, from the text of a shape file's exchange. */
static struct rp_shapeset *set_written(const char *shape_json)
{
    struct rp_shape *s = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_shape_from_json(shape_json, strlen(shape_json), &s, &err), RP_OK, "%s",
                 err.msg);
    struct rp_shapeset *set = rp_shapeset_new("t");
    rp_shapeset_put(set, 1, "GET /x", s);
    return set;
}

static void learn(struct rp_shape_learner *l, unsigned run, unsigned status, const char *body)
{
    struct rp_response r;
    resp_init(&r, status, body);
    rp_shape_learn(l, 1, run, &r);
    rp_response_cleanup(&r);
}

/* Learns one body per run (runs 1..n), then finishes. */
static struct rp_shape_learner *learn_runs(struct rp_shapeset *set, unsigned n,
                                           const char *const *bodies)
{
    struct rp_shape_learner *l = rp_shape_learner_new(set, n);
    for (unsigned i = 0; i < n; i++) {
        learn(l, i + 1, 200, bodies[i]);
    }
    rp_shape_learner_finish(l);
    return l;
}

/* The body schema of seq 1 as a cJSON tree (the caller deletes it). */
static cJSON *body_of(const struct rp_shapeset *set)
{
    char *text = rp_shape_to_json(rp_shapeset_get(set, 1));
    cJSON *all = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(all);
    cJSON *body = cJSON_DetachItemFromObjectCaseSensitive(all, "body");
    cJSON_Delete(all);
    cr_assert_not_null(body);
    return body;
}

/* The node at a dotted path of keys below the body ("properties.a"), as compact JSON. */
static char *node(const struct rp_shapeset *set, const char *path)
{
    cJSON *body = body_of(set);
    const cJSON *n = body;
    for (const char *k = path; k && n;) {
        const char *dot = strchr(k, '.');
        char *key = dot ? strndup(k, (size_t)(dot - k)) : strdup(k);
        n = cJSON_GetObjectItemCaseSensitive(n, key);
        free(key);
        k = dot ? dot + 1 : NULL;
    }
    char *out = n ? cJSON_PrintUnformatted(n) : strdup("(none)");
    cJSON_Delete(body);
    return out;
}

static void expect_node(const struct rp_shapeset *set, const char *path, const char *want)
{
    char *got = node(set, path);
    cJSON *w = cJSON_Parse(want);
    cr_assert_not_null(w, "bad expected JSON %s", want);
    char *wt = cJSON_PrintUnformatted(w);
    cr_assert_str_eq(got, wt, "%s", path);
    free(wt);
    cJSON_Delete(w);
    free(got);
}

/* True when body matches seq 1's shape. */
static bool passes(const struct rp_shapeset *set, const char *body)
{
    struct rp_response r;
    resp_init(&r, 200, body);
    struct rp_mismatches m;
    rp_mismatches_init(&m);
    bool ok = rp_shape_match(rp_shapeset_get(set, 1), &r, &m);
    rp_mismatches_cleanup(&m);
    rp_response_cleanup(&r);
    return ok;
}

static void expect_learned(const struct rp_shape_learner *l, size_t i, const char *path,
                           const char *why)
{
    cr_assert_lt(i, rp_shape_learner_count(l));
    struct rp_learned e;
    rp_shape_learner_get(l, i, &e);
    cr_assert_eq(e.seq, 1);
    cr_assert_str_eq(e.request, "GET /x");
    cr_assert_str_eq(e.path, path);
    cr_assert_str_eq(e.why, why);
}

Test(shape_learn, a_value_sometimes_null_gets_null_counted_per_run)
{
    struct rp_shapeset *set = set_inferred("{\"a\":1,\"b\":\"x\"}");
    const char *runs[] = {"{\"a\":null,\"b\":\"x\"}", "{\"a\":2,\"b\":\"y\"}",
                          "{\"a\":null,\"b\":\"z\"}"};
    struct rp_shape_learner *l = learn_runs(set, 3, runs);
    cr_assert_eq(rp_shape_learner_count(l), 1);
    /* Run 3 no longer failed once run 1 relaxed the type, and still counts. */
    expect_learned(l, 0, "$.a", "null in 2 of 3 runs");
    expect_node(set, "properties.a",
                "{\"type\":[\"number\",\"null\"],\"learned\":{\"why\":[\"null in 2 of 3 runs\"]}}");
    expect_node(set, "properties.b", "{\"type\":\"string\"}");
    cr_assert(passes(set, "{\"a\":null,\"b\":\"q\"}"));
    cr_assert_not(passes(set, "{\"a\":\"1\",\"b\":\"q\"}"), "a is not made to accept anything");
    cr_assert_not(passes(set, "{\"a\":1,\"b\":2}"), "b did not move and stays strict");
    cr_assert_eq(rp_shape_learner_problems(l), 0);
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}

Test(shape_learn, a_key_sometimes_missing_is_no_longer_required)
{
    struct rp_shapeset *set = set_inferred("{\"id\":1,\"note\":\"hi\"}");
    const char *runs[] = {"{\"id\":2,\"note\":\"hi\"}", "{\"id\":3}", "{\"id\":4}"};
    struct rp_shape_learner *l = learn_runs(set, 3, runs);
    cr_assert_eq(rp_shape_learner_count(l), 1);
    expect_learned(l, 0, "$.note", "missing in 2 of 3 runs");
    expect_node(set, "required", "[\"id\"]");
    expect_node(set, "properties.note.learned", "{\"why\":[\"missing in 2 of 3 runs\"]}");
    cr_assert(passes(set, "{\"id\":5}"));
    cr_assert_not(passes(set, "{\"note\":\"x\"}"), "id is still required");
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}

Test(shape_learn, an_enum_takes_the_new_values)
{
    struct rp_shapeset *set = set_written(
        "{\"status\":200,\"media_type\":\"application/json\",\"body\":{\"type\":\"object\","
        "\"properties\":{\"channel\":{\"enum\":[\"web\"]}},\"required\":[\"channel\"]}}");
    const char *runs[] = {"{\"channel\":\"web\"}", "{\"channel\":\"app\"}", "{\"channel\":\"app\"}",
                          "{\"channel\":7}"};
    struct rp_shape_learner *l = learn_runs(set, 4, runs);
    cr_assert_eq(rp_shape_learner_count(l), 2);
    expect_learned(l, 0, "$.channel", "new value \"app\" in 2 of 4 runs");
    expect_learned(l, 1, "$.channel", "new value 7 in 1 of 4 runs");
    expect_node(set, "properties.channel.enum", "[\"web\",\"app\",7]");
    cr_assert_not(passes(set, "{\"channel\":\"tv\"}"), "only the values seen are added");
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}

Test(shape_learn, a_number_sometimes_a_string_gets_both_types)
{
    struct rp_shapeset *set = set_inferred("{\"points\":12}");
    const char *runs[] = {"{\"points\":\"12\"}", "{\"points\":12}"};
    struct rp_shape_learner *l = learn_runs(set, 2, runs);
    expect_learned(l, 0, "$.points", "string in 1 of 2 runs");
    expect_node(set, "properties.points.type", "[\"string\",\"number\"]");
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}

Test(shape_learn, an_array_sometimes_empty_needs_nothing)
{
    struct rp_shapeset *set = set_inferred("{\"tags\":[\"new\"]}");
    char *before = rp_shape_to_json(rp_shapeset_get(set, 1));
    const char *runs[] = {"{\"tags\":[]}", "{\"tags\":[\"a\",\"b\"]}", "{\"tags\":[]}"};
    struct rp_shape_learner *l = learn_runs(set, 3, runs);
    cr_assert_eq(rp_shape_learner_count(l), 0);
    char *after = rp_shape_to_json(rp_shapeset_get(set, 1));
    cr_assert_str_eq(after, before, "nothing moved: the shape is unchanged");
    free(before);
    free(after);
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}

Test(shape_learn, array_elements_are_one_node_counted_once_per_run)
{
    struct rp_shapeset *set = set_inferred("{\"items\":[{\"d\":1},{\"d\":2}]}");
    /* Run 1 has two null elements, run 2 one: two runs, not three. */
    const char *runs[] = {"{\"items\":[{\"d\":null},{\"d\":null}]}", "{\"items\":[{\"d\":null}]}",
                          "{\"items\":[{\"d\":3}]}"};
    struct rp_shape_learner *l = learn_runs(set, 3, runs);
    cr_assert_eq(rp_shape_learner_count(l), 1);
    expect_learned(l, 0, "$.items[*].d", "null in 2 of 3 runs");
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}

Test(shape_learn, a_new_key_where_none_is_allowed_becomes_optional)
{
    struct rp_shapeset *set = set_written(
        "{\"status\":200,\"media_type\":\"application/json\",\"body\":{\"type\":\"object\","
        "\"properties\":{\"a\":{\"type\":\"number\"}},\"additionalProperties\":false}}");
    const char *runs[] = {"{\"a\":1,\"extra\":\"x\"}", "{\"a\":1}"};
    struct rp_shape_learner *l = learn_runs(set, 2, runs);
    expect_learned(l, 0, "$.extra", "new key in 1 of 2 runs");
    expect_node(set, "properties.extra",
                "{\"type\":\"string\",\"learned\":{\"why\":[\"new key in 1 of 2 runs\"]}}");
    expect_node(set, "additionalProperties", "false");
    cr_assert(passes(set, "{\"a\":1}"), "the new key is optional");
    cr_assert_not(passes(set, "{\"a\":1,\"other\":1}"), "other keys are still refused");
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}

Test(shape_learn, a_lost_format_is_dropped)
{
    struct rp_shapeset *set = set_inferred("{\"ref\":\"123e4567-e89b-12d3-a456-426614174000\"}");
    const char *runs[] = {"{\"ref\":\"123e4567-e89b-12d3-a456-426614174001\"}",
                          "{\"ref\":\"R-17\"}", "{\"ref\":\"R-18\"}"};
    struct rp_shape_learner *l = learn_runs(set, 3, runs);
    expect_learned(l, 0, "$.ref", "not uuid format in 2 of 3 runs");
    expect_node(set, "properties.ref.type", "\"string\"");
    char *format = node(set, "properties.ref.format");
    cr_assert_str_eq(format, "(none)");
    free(format);
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}

Test(shape_learn, an_object_where_a_string_was_gets_its_contents_inferred)
{
    struct rp_shapeset *set = set_inferred("{\"who\":\"ann\"}");
    const char *runs[] = {"{\"who\":{\"name\":\"ann\"}}"};
    struct rp_shape_learner *l = learn_runs(set, 1, runs);
    expect_learned(l, 0, "$.who", "object in 1 of 1 run");
    expect_node(set, "properties.who.type", "[\"object\",\"string\"]");
    expect_node(set, "properties.who.required", "[\"name\"]");
    cr_assert_not(passes(set, "{\"who\":{\"name\":3}}"), "the object's contents are checked");
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}

Test(shape_learn, an_earlier_annotation_keeps_its_other_reasons)
{
    struct rp_shapeset *set = set_written(
        "{\"status\":200,\"media_type\":\"application/json\",\"body\":{\"type\":\"object\","
        "\"properties\":{\"a\":{\"type\":\"number\",\"description\":\"kept\",\"learned\":{"
        "\"why\":[\"missing in 1 of 3 runs\",\"null in 1 of 3 runs\"]}}}}}");
    const char *runs[] = {"{\"a\":null}", "{\"a\":null}"};
    struct rp_shape_learner *l = learn_runs(set, 2, runs);
    /* The earlier null reason was for a shape people have since made strict again: the new
     * one replaces it; the missing one stays. */
    expect_node(set, "properties.a.learned.why",
                "[\"missing in 1 of 3 runs\",\"null in 2 of 2 runs\"]");
    expect_node(set, "properties.a.description", "\"kept\"");
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}

Test(shape_learn, status_media_type_and_pattern_are_problems_not_relaxations)
{
    struct rp_shapeset *set = set_written(
        "{\"status\":200,\"media_type\":\"application/json\",\"body\":{\"type\":\"object\","
        "\"properties\":{\"c\":{\"type\":\"string\",\"pattern\":\"^EUR$\"}}}}");
    char *before = rp_shape_to_json(rp_shapeset_get(set, 1));
    struct rp_shape_learner *l = rp_shape_learner_new(set, 3);
    learn(l, 1, 500, "{\"error\":\"x\"}");
    learn(l, 2, 200, "{\"c\":\"USD\"}");
    learn(l, 3, 200, "not json");
    struct rp_response r;
    resp_init(&r, 200, "{}");
    rp_headers_cleanup(&r.headers);
    rp_headers_init(&r.headers);
    cr_assert_eq(rp_headers_add(&r.headers, "Content-Type", 12, "text/html", 9, NULL), RP_OK);
    rp_shape_learn(l, 1, 3, &r);
    rp_response_cleanup(&r);
    rp_shape_learner_finish(l);
    cr_assert_eq(rp_shape_learner_count(l), 0);
    cr_assert_eq(rp_shape_learner_problems(l), 4);
    cr_assert_str_eq(rp_shape_learner_problem(l, 0),
                     "exchange 1, run 1: status: expected 200, got 500");
    cr_assert_str_eq(rp_shape_learner_problem(l, 1),
                     "exchange 1, run 2: $.c: does not match the pattern ^EUR$, which is not "
                     "relaxed");
    cr_assert_str_eq(rp_shape_learner_problem(l, 2),
                     "exchange 1, run 3: $: expected JSON, got invalid JSON");
    cr_assert_str_eq(rp_shape_learner_problem(l, 3),
                     "exchange 1, run 3: media type: expected application/json, got text/html");
    char *after = rp_shape_to_json(rp_shapeset_get(set, 1));
    cr_assert_str_eq(after, before, "a problem changes nothing");
    free(before);
    free(after);
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}

Test(shape_learn, other_exchanges_and_runs_out_of_range_are_ignored)
{
    struct rp_shapeset *set = set_inferred("{\"a\":1}");
    struct rp_shape_learner *l = rp_shape_learner_new(set, 2);
    struct rp_response r;
    resp_init(&r, 200, "{\"a\":null}");
    rp_shape_learn(l, 2, 1, &r); /* no shape for seq 2: not checked, not learned */
    rp_shape_learn(l, 1, 0, &r);
    rp_shape_learn(l, 1, 3, &r);
    rp_response_cleanup(&r);
    rp_shape_learner_finish(l);
    cr_assert_eq(rp_shape_learner_count(l), 0);
    cr_assert_eq(rp_shape_learner_problems(l), 0);
    expect_node(set, "properties.a", "{\"type\":\"number\"}");
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}

Test(shape_learn, a_learned_set_saves_and_loads_with_its_annotations)
{
    struct rp_shapeset *set = set_inferred("{\"a\":1}");
    const char *runs[] = {"{\"a\":null}"};
    struct rp_shape_learner *l = learn_runs(set, 1, runs);
    char path[] = "/tmp/reprise-learn-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    struct rp_error err = {0};
    cr_assert_eq(rp_shapeset_save(set, path, &err), RP_OK, "%s", err.msg);
    struct rp_shapeset *back = NULL;
    cr_assert_eq(rp_shapeset_load(path, &back, &err), RP_OK, "%s", err.msg);
    unlink(path);
    expect_node(back, "properties.a",
                "{\"type\":[\"number\",\"null\"],\"learned\":{\"why\":[\"null in 1 of 1 run\"]}}");
    cr_assert(passes(back, "{\"a\":null}"));
    rp_shapeset_free(back);
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}

Test(shape_learn, a_value_like_a_secret_is_not_added_to_an_enum)
{
    struct rp_shapeset *set = set_written(
        "{\"status\":200,\"media_type\":\"application/json\",\"body\":{\"type\":\"object\","
        "\"properties\":{\"card\":{\"enum\":[\"none\"]}}}}");
    const char *runs[] = {"{\"card\":\"4111111111111111\"}"};
    struct rp_shape_learner *l = learn_runs(set, 1, runs);
    cr_assert_eq(rp_shape_learner_count(l), 0);
    cr_assert_eq(rp_shape_learner_problems(l), 1);
    cr_assert_str_eq(rp_shape_learner_problem(l, 0),
                     "exchange 1, run 1: $.card: a value that looks like a secret is not added "
                     "to the enum");
    expect_node(set, "properties.card.enum", "[\"none\"]");
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}

Test(shape_learn, a_map_keyed_by_ids_is_learned_through_its_values)
{
    struct rp_shapeset *set = set_inferred("{\"byId\":{\"41\":{\"n\":1},\"42\":{\"n\":2}}}");
    const char *runs[] = {"{\"byId\":{\"77\":{\"n\":null}}}", "{\"byId\":{\"78\":{\"n\":3}}}"};
    struct rp_shape_learner *l = learn_runs(set, 2, runs);
    cr_assert_eq(rp_shape_learner_count(l), 1);
    expect_learned(l, 0, "$.byId.*.n", "null in 1 of 2 runs");
    expect_node(set, "properties.byId.additionalProperties.properties.n.type",
                "[\"number\",\"null\"]");
    rp_shape_learner_free(l);
    rp_shapeset_free(set);
}
