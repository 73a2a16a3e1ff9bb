/* SPDX-License-Identifier: MIT */
/* Unit tests for step names (src/replay/step.c): the recorded method and path with tenants as
 * {tenant} and correlated values as {NOUN}, unique within a recording. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/correlate.h>
#include <reprise/rewrite.h>

#include "replay/internal.h"

/* An exchange: request method and URL, and a JSON response body when body is not NULL. */
static void make(struct rp_exchange *ex, uint64_t seq, const char *method, const char *url,
                 const char *body)
{
    rp_exchange_init(ex);
    ex->seq = seq;
    ex->req.method = rp_xstrdup(method);
    ex->req.url = rp_xstrdup(url);
    ex->req.version = rp_xstrdup("HTTP/1.1");
    ex->has_response = true;
    ex->resp.status = 200;
    if (body) {
        cr_assert_eq(
            rp_headers_add(&ex->resp.headers, "Content-Type", 12, "application/json", 16, NULL),
            RP_OK);
        rp_body_set(&ex->resp.body, body, strlen(body));
    }
}

/* Learns n exchanges in order; names[i] gets exchange i's name (new memory). */
static void name_all(struct rp_exchange *xs, size_t n, const char *tenant, char **names)
{
    struct rp_correlator *c = rp_correlator_new();
    struct rp_rewriter *rw = NULL;
    if (tenant) {
        rp_correlator_tenant(c, tenant);
        rw = rp_rewriter_new();
        cr_assert_eq(rp_rewriter_add(rw, tenant, "{tenant}", NULL), RP_OK);
    }
    for (size_t i = 0; i < n; i++) {
        size_t first = rp_correlator_count(c);
        struct rp_error err = {0};
        cr_assert_eq(rp_correlator_learn(c, &xs[i], &err), RP_OK, "%s", err.msg);
        names[i] = rp__replay_step_name(&xs[i], c, first, rp_correlator_count(c), rw);
    }
    rp_rewriter_free(rw);
    rp_correlator_free(c);
}

static void cleanup(struct rp_exchange *xs, char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rp_exchange_cleanup(&xs[i]);
        free(names[i]);
    }
}

Test(step_names, tenant_and_correlated_id_shown_as_their_templates)
{
    struct rp_exchange xs[3];
    make(&xs[0], 1, "POST", "https://shop.test/t/acme/api/orders",
         "{\"id\":4417,\"status\":\"new\"}");
    make(&xs[1], 2, "GET", "https://shop.test/t/acme/api/orders/4417", NULL);
    make(&xs[2], 3, "POST", "https://shop.test/t/acme/api/orders/4417/pay", NULL);
    char *names[3];
    name_all(xs, 3, "acme", names);
    cr_assert_str_eq(names[0], "POST /t/{tenant}/api/orders");
    cr_assert_str_eq(names[1], "GET /t/{tenant}/api/orders/{order}");
    cr_assert_str_eq(names[2], "POST /t/{tenant}/api/orders/{order}/pay");
    cleanup(xs, names, 3);
}

Test(step_names, a_segment_after_a_non_word_takes_the_source_key_or_id)
{
    struct rp_exchange xs[3];
    make(&xs[0], 1, "POST", "https://shop.test/api/carts",
         "{\"cart\":{\"id\":\"c-8f3a91\"},\"invoice_id\":\"inv-77812\"}");
    /* After "v2" (holds a digit, not a word): the source's noun, "$.cart.id" gives "cart". */
    make(&xs[1], 2, "GET", "https://shop.test/v2/c-8f3a91", NULL);
    /* "$.invoice_id" gives "invoice". */
    make(&xs[2], 3, "GET", "https://shop.test/v2/inv-77812", NULL);
    char *names[3];
    name_all(xs, 3, NULL, names);
    cr_assert_str_eq(names[1], "GET /v2/{cart}");
    cr_assert_str_eq(names[2], "GET /v2/{invoice}");
    cleanup(xs, names, 3);
}

Test(step_names, a_correlated_query_value_is_named_by_its_key)
{
    struct rp_exchange xs[2];
    make(&xs[0], 1, "POST", "https://shop.test/api/orders", "{\"id\":\"ord-5521x\"}");
    make(&xs[1], 2, "GET", "https://shop.test/api/receipts?order_id=ord-5521x&format=pdf", NULL);
    char *names[2];
    name_all(xs, 2, NULL, names);
    cr_assert_str_eq(names[1], "GET /api/receipts?order_id={order}&format=pdf");
    cleanup(xs, names, 2);
}

Test(step_names, plural_segments_become_singular_nouns)
{
    struct rp_exchange xs[2];
    make(&xs[0], 1, "POST", "https://shop.test/api/categories", "{\"id\":90210}");
    make(&xs[1], 2, "DELETE", "https://shop.test/api/categories/90210", NULL);
    char *names[2];
    name_all(xs, 2, NULL, names);
    cr_assert_str_eq(names[1], "DELETE /api/categories/{category}");
    cleanup(xs, names, 2);
}

Test(step_names, without_correlations_or_tenant_the_path_is_kept_as_recorded)
{
    struct rp_exchange xs[2];
    make(&xs[0], 1, "GET", "https://shop.test/", NULL);
    make(&xs[1], 2, "GET", "https://shop.test/api/products/3?sort=price", NULL);
    char *names[2];
    name_all(xs, 2, "acme", names);
    cr_assert_str_eq(names[0], "GET /");
    cr_assert_str_eq(names[1], "GET /api/products/3?sort=price");
    cleanup(xs, names, 2);
}

/* A JSON request body for exchange ex. */
static void set_json_body(struct rp_exchange *ex, const char *body)
{
    cr_assert_eq(rp_headers_add(&ex->req.headers, "Content-Type", 12, "application/json", 16, NULL),
                 RP_OK);
    rp_body_set(&ex->req.body, body, strlen(body));
}

Test(step_names, a_graphql_request_is_named_by_its_operation)
{
    struct rp_exchange xs[5];
    make(&xs[0], 1, "POST", "https://shop.test/t/acme/graphql", NULL);
    set_json_body(&xs[0], "{\"query\":\"mutation { createOrder(input: {product: \\\"Espresso\\\"}) "
                          "{ id status } }\"}");
    make(&xs[1], 2, "POST", "https://shop.test/t/acme/graphql", NULL);
    set_json_body(&xs[1], "{\"query\":\"mutation Pay($id: ID!) { payOrder(id: $id) { id } }\","
                          "\"variables\":{\"id\":\"3\"},\"operationName\":\"Pay\"}");
    /* An alias names the field it stands for; a batch is named by its first operation. */
    make(&xs[2], 3, "POST", "https://shop.test/t/acme/graphql", NULL);
    set_json_body(&xs[2], "[{\"query\":\"{ mine: orders(first: 2) { id } }\"},{\"query\":\"{ me "
                          "{ id } }\"}]");
    /* An operationName that is no GraphQL name is not shown: the root field is. */
    make(&xs[3], 4, "POST", "https://shop.test/t/acme/graphql", NULL);
    set_json_body(&xs[3],
                  "{\"operationName\":\"<b>x</b>\",\"query\":\"query { products { id } }\"}");
    /* JSON that is not GraphQL keeps the path alone. */
    make(&xs[4], 5, "POST", "https://shop.test/t/acme/api/orders", NULL);
    set_json_body(&xs[4], "{\"operationName\":\"Pay\",\"items\":[]}");
    char *names[5];
    name_all(xs, 5, "acme", names);
    cr_assert_str_eq(names[0], "POST /t/{tenant}/graphql createOrder");
    cr_assert_str_eq(names[1], "POST /t/{tenant}/graphql Pay");
    cr_assert_str_eq(names[2], "POST /t/{tenant}/graphql orders");
    cr_assert_str_eq(names[3], "POST /t/{tenant}/graphql products");
    cr_assert_str_eq(names[4], "POST /t/{tenant}/api/orders");
    cleanup(xs, names, 5);
}

Test(step_names, the_same_step_again_is_counted)
{
    struct rp__replay_steps st;
    memset(&st, 0, sizeof(st));
    rp__replay_steps_add(&st, "GET /api/cart");
    rp__replay_steps_add(&st, "POST /api/cart");
    rp__replay_steps_add(&st, "GET /api/cart");
    rp__replay_steps_add(&st, "GET /api/cart");
    rp__replay_steps_done(&st);
    cr_assert_eq(rp__replay_steps_dup(&st, 0), 1);
    cr_assert_eq(rp__replay_steps_dup(&st, 1), 1);
    cr_assert_eq(rp__replay_steps_dup(&st, 2), 2);
    cr_assert_eq(rp__replay_steps_dup(&st, 3), 3);
    cr_assert_eq(rp__replay_steps_dup(&st, 4), 0);
    rp__replay_steps_cleanup(&st);
}

Test(step_names, many_names_stay_counted_apart_as_the_table_grows)
{
    struct rp__replay_steps st;
    memset(&st, 0, sizeof(st));
    char name[32];
    for (unsigned i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "GET /p/%u", i % 250);
        rp__replay_steps_add(&st, name);
    }
    /* The 4th round's 7th name is the fourth of its kind. */
    cr_assert_eq(rp__replay_steps_dup(&st, 757), 4);
    cr_assert_eq(rp__replay_steps_dup(&st, 7), 1);
    cr_assert_eq(rp__replay_steps_dup(&st, 257), 2);
    rp__replay_steps_cleanup(&st);
}

Test(step_names, a_long_path_is_cut_with_dots)
{
    char url[2048];
    int n = snprintf(url, sizeof(url), "https://shop.test/");
    while (n < 1500) {
        n += snprintf(url + n, sizeof(url) - (size_t)n, "segment/");
    }
    struct rp_exchange xs[1];
    make(&xs[0], 1, "GET", url, NULL);
    char *names[1];
    name_all(xs, 1, NULL, names);
    cr_assert_eq(strlen(names[0]), RP_MAX_STEP_NAME);
    cr_assert_str_eq(names[0] + RP_MAX_STEP_NAME - 3, "...");
    cr_assert_eq(strncmp(names[0], "GET /segment/segment/", 21), 0);
    cleanup(xs, names, 1);
}
