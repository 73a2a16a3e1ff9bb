/* SPDX-License-Identifier: MIT */
/* Unit tests for correlation: learning which response values come back in later requests, and
 * a replaying session putting the live values in their place. */
#include <criterion/criterion.h>

#include <reprise/correlate.h>
#include <reprise/limits.h>
#include <reprise/recording.h>

#include "correlate_fixture.h"
#include "helpers.h"

/* ----- building exchanges by hand ----------------------------------------------------------- */

static const char *req_header(const struct rp_request *req, const char *name)
{
    const struct rp_header *h = rp_headers_get(&req->headers, name, NULL);
    return h ? h->value : NULL;
}

/* ----- rp_location_format ------------------------------------------------------------------- */

Test(correlate, location_format_writes_each_kind_as_people_read_it)
{
    struct {
        struct rp_location loc;
        const char *text;
    } cases[] = {
        {{RP_LOC_BODY_JSON, "$.id", 0}, "body $.id"},
        {{RP_LOC_HEADER, "X-CSRF-Token", 0}, "header X-CSRF-Token"},
        {{RP_LOC_HEADER_SEGMENT, "Location", 4}, "header Location segment 4"},
        {{RP_LOC_COOKIE, "demo_session", 0}, "cookie demo_session"},
        {{RP_LOC_HTML_META, "csrf-token", 0}, "html meta csrf-token"},
        {{RP_LOC_HTML_INPUT, "csrf_token", 0}, "html input csrf_token"},
        {{RP_LOC_PATH_SEGMENT, NULL, 4}, "path segment 4"},
        {{RP_LOC_QUERY, "id", 0}, "query id"},
        {{RP_LOC_FORM, "csrf_token", 0}, "form csrf_token"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        rp_location_format(&cases[i].loc, out, sizeof(out));
        cr_expect_str_eq(out, cases[i].text);
    }
}

Test(correlate, location_format_cuts_to_the_buffer)
{
    struct rp_location loc = {RP_LOC_HEADER_SEGMENT, "Location", 4};
    char out[9];
    memset(out, 'x', sizeof(out));
    rp_location_format(&loc, out, sizeof(out));
    cr_assert_str_eq(out, "header L");
    char one[1] = {'x'};
    rp_location_format(&loc, one, sizeof(one));
    cr_assert_eq(one[0], '\0');
}

/* ----- learning ----------------------------------------------------------------------------- */

/* The order flow: an order created as 4 is fetched and paid through its id in the path. */
static void order_flow(struct rp_exchange *xs)
{
    fx_req(&xs[0], 1, "POST", "https://acme.test/t/acme/api/orders",
           "Content-Type: application/json", "{\"items\":[{\"sku\":\"W-1\",\"qty\":1}]}");
    fx_resp(&xs[0], 201, "Content-Type: application/json",
            "{\"id\":4,\"status\":\"pending\",\"count\":4}");
    fx_req(&xs[1], 2, "GET", "https://acme.test/t/acme/api/orders/4", "Accept: */*", NULL);
    fx_resp(&xs[1], 200, "Content-Type: application/json", "{\"id\":4,\"status\":\"pending\"}");
    fx_req(&xs[2], 3, "POST", "https://acme.test/t/acme/api/orders/4/pay?page=4",
           "Content-Type: application/json", "{\"product_id\":4,\"amount\":4,\"order_id\":\"4\"}");
    fx_resp(&xs[2], 200, "Content-Type: application/json", "{\"status\":\"paid\"}");
}

Test(correlate, json_id_correlates_with_the_path_segments_that_use_it)
{
    struct rp_exchange xs[3];
    order_flow(xs);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 3);
    /* The page number, the amount and the product's id are 4 by coincidence: not correlated. */
    cr_assert_eq(rp_correlator_count(c), 3);
    fx_expect(c, 0, 1, "body $.id", 2, "path segment 4", "4");
    fx_expect(c, 1, 1, "body $.id", 3, "path segment 4", "4");
    fx_expect(c, 2, 1, "body $.id", 3, "body $.order_id", "4");
    for (size_t i = 0; i < 3; i++) {
        cr_expect(rp_correlator_get(c, i)->strong);
        cr_expect(!rp_correlator_get(c, i)->bound);
    }
    cr_assert_null(rp_correlator_get(c, 3));
    rp_correlator_free(c);
    fx_cleanup(xs, 3);
}

Test(correlate, replay_puts_the_live_id_only_where_the_recorded_one_stood)
{
    struct rp_exchange xs[3];
    order_flow(xs);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 3);
    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "Content-Type: application/json", "{\"id\":11,\"status\":\"pending\"}");
    rp_corr_session_observe(s, 1, &live);

    size_t missing = 99;
    struct rp_error err = {0};
    cr_assert_eq(rp_corr_session_apply(s, 2, &xs[1].req, &missing, &err), RP_OK, "%s", err.msg);
    cr_expect_eq(missing, 0);
    cr_expect_str_eq(xs[1].req.url, "https://acme.test/t/acme/api/orders/11");

    missing = 99;
    cr_assert_eq(rp_corr_session_apply(s, 3, &xs[2].req, &missing, &err), RP_OK, "%s", err.msg);
    cr_expect_eq(missing, 0);
    cr_expect_str_eq(xs[2].req.url, "https://acme.test/t/acme/api/orders/11/pay?page=4");
    /* A number stays a number and a string a string; the coincidental 4s stay. */
    cr_expect_str_eq((char *)xs[2].req.body.data,
                     "{\"product_id\":4,\"amount\":4,\"order_id\":\"11\"}");

    /* A request without correlations is left alone. */
    cr_assert_eq(rp_corr_session_apply(s, 1, &xs[0].req, &missing, &err), RP_OK);
    cr_expect_eq(missing, 0);
    cr_expect_str_eq(xs[0].req.url, "https://acme.test/t/acme/api/orders");

    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 3);
}

Test(correlate, missing_live_value_is_counted_and_the_target_keeps_its_recorded_value)
{
    struct rp_exchange xs[3];
    order_flow(xs);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 3);
    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "Content-Type: application/json", "{\"error\":\"out of stock\"}");
    rp_corr_session_observe(s, 1, &live);
    size_t missing = 99;
    struct rp_error err = {0};
    cr_assert_eq(rp_corr_session_apply(s, 3, &xs[2].req, &missing, &err), RP_OK, "%s", err.msg);
    cr_expect_eq(missing, 2);
    cr_expect_str_eq(xs[2].req.url, "https://acme.test/t/acme/api/orders/4/pay?page=4");
    /* Never observed at all counts as missing too. */
    struct rp_corr_session *fresh = rp_corr_session_new(c);
    cr_assert_eq(rp_corr_session_apply(fresh, 2, &xs[1].req, &missing, &err), RP_OK);
    cr_expect_eq(missing, 1);
    cr_assert_eq(rp_corr_session_apply(fresh, 2, &xs[1].req, NULL, &err), RP_OK);
    rp_corr_session_free(fresh);
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 3);
}

Test(correlate, location_header_segment_is_the_source_when_the_body_has_no_id)
{
    struct rp_exchange xs[2];
    fx_req(&xs[0], 1, "POST", "https://acme.test/t/acme/api/orders",
           "Content-Type: application/json", "{\"sku\":\"W-1\"}");
    fx_resp(&xs[0], 201, "Location: /t/acme/api/orders/9\nContent-Type: application/json",
            "{\"status\":\"created\"}");
    fx_req(&xs[1], 2, "GET", "https://acme.test/t/acme/api/orders/9", "", NULL);
    fx_resp(&xs[1], 200, "", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 2);
    cr_assert_eq(rp_correlator_count(c), 1);
    fx_expect(c, 0, 1, "header Location segment 4", 2, "path segment 4", "9");
    cr_expect(rp_correlator_get(c, 0)->strong);

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "Location: https://acme.test/t/acme/api/orders/31?x=1", NULL);
    rp_corr_session_observe(s, 1, &live);
    size_t missing = 9;
    cr_assert_eq(rp_corr_session_apply(s, 2, &xs[1].req, &missing, NULL), RP_OK);
    cr_expect_eq(missing, 0);
    cr_expect_str_eq(xs[1].req.url, "https://acme.test/t/acme/api/orders/31");
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 2);
}

Test(correlate, csrf_token_from_a_json_login_goes_to_the_header)
{
    struct rp_exchange xs[2];
    fx_req(&xs[0], 1, "POST", "http://127.0.0.1:8080/api/login", "Content-Type: application/json",
           "{\"email\":\"a@acme.test\"}");
    fx_resp(&xs[0], 200, "Content-Type: application/json\nSet-Cookie: demo_session=abc; Path=/",
            "{\"csrf_token\":\"0123456789abcdef0123456789abcdef\",\"ok\":true}");
    fx_req(&xs[1], 2, "POST", "http://127.0.0.1:8080/t/acme/api/orders",
           "X-CSRF-Token: 0123456789abcdef0123456789abcdef\nContent-Type: application/json", "{}");
    fx_resp(&xs[1], 201, "", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 2);
    cr_assert_eq(rp_correlator_count(c), 1);
    fx_expect(c, 0, 1, "body $.csrf_token", 2, "header X-CSRF-Token",
              "0123456789abcdef0123456789abcdef");
    cr_expect(!rp_correlator_get(c, 0)->strong);

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "Content-Type: application/json",
            "{\"ok\":true,\"csrf_token\":\"ffffffffffffffff0000000000000000\"}");
    rp_corr_session_observe(s, 1, &live);
    cr_assert_eq(rp_corr_session_apply(s, 2, &xs[1].req, NULL, NULL), RP_OK);
    cr_expect_str_eq(req_header(&xs[1].req, "X-CSRF-Token"), "ffffffffffffffff0000000000000000");
    cr_expect_str_eq(xs[1].req.url, "http://127.0.0.1:8080/t/acme/api/orders");
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 2);
}

Test(correlate, bearer_token_is_replaced_inside_the_authorization_header)
{
    struct rp_exchange xs[2];
    fx_req(&xs[0], 1, "POST", "https://api.test/oauth/token", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: application/json",
            "{\"access_token\":\"eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl\",\"expires_in\":3600}");
    fx_req(&xs[1], 2, "GET", "https://api.test/me",
           "Authorization: Bearer eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl", NULL);
    fx_resp(&xs[1], 200, "", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 2);
    cr_assert_eq(rp_correlator_count(c), 1);
    fx_expect(c, 0, 1, "body $.access_token", 2, "header Authorization",
              "eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl");

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "", "{\"access_token\":\"NEWTOKEN.abc.def\"}");
    rp_corr_session_observe(s, 1, &live);
    cr_assert_eq(rp_corr_session_apply(s, 2, &xs[1].req, NULL, NULL), RP_OK);
    cr_expect_str_eq(req_header(&xs[1].req, "Authorization"), "Bearer NEWTOKEN.abc.def");
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 2);
}

Test(correlate, cookie_value_echoed_in_a_header_is_correlated)
{
    struct rp_exchange xs[2];
    fx_req(&xs[0], 1, "GET", "https://shop.test/", "", NULL);
    fx_resp(&xs[0], 200, "Set-Cookie: XSRF-TOKEN=q8Zr2LmN5pWx; Path=/; SameSite=Lax", NULL);
    fx_req(&xs[1], 2, "POST", "https://shop.test/cart",
           "Cookie: XSRF-TOKEN=q8Zr2LmN5pWx; lang=en\nX-XSRF-TOKEN: q8Zr2LmN5pWx", NULL);
    fx_resp(&xs[1], 204, "", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 2);
    /* The Cookie header itself is left to the replay's cookie jar. */
    cr_assert_eq(rp_correlator_count(c), 1);
    fx_expect(c, 0, 1, "cookie XSRF-TOKEN", 2, "header X-XSRF-TOKEN", "q8Zr2LmN5pWx");

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "Set-Cookie: other=1\nSet-Cookie: XSRF-TOKEN=Zz9Yy8Xx7Ww6; Path=/", NULL);
    rp_corr_session_observe(s, 1, &live);
    size_t missing = 9;
    cr_assert_eq(rp_corr_session_apply(s, 2, &xs[1].req, &missing, NULL), RP_OK);
    cr_expect_eq(missing, 0);
    cr_expect_str_eq(req_header(&xs[1].req, "Cookie"), "XSRF-TOKEN=q8Zr2LmN5pWx; lang=en");
    cr_expect_str_eq(req_header(&xs[1].req, "X-XSRF-TOKEN"), "Zz9Yy8Xx7Ww6");
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 2);
}

Test(correlate, cookie_set_by_the_client_from_a_body_value_is_correlated)
{
    struct rp_exchange xs[2];
    fx_req(&xs[0], 1, "POST", "https://shop.test/api/session", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: application/json",
            "{\"session_token\":\"abc123def456ghi\"}");
    fx_req(&xs[1], 2, "GET", "https://shop.test/",
           "Cookie: lang=en; st=abc123def456ghi; st2=abc123def456ghi", NULL);
    fx_resp(&xs[1], 200, "", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 2);
    cr_assert_eq(rp_correlator_count(c), 2);
    fx_expect(c, 0, 1, "body $.session_token", 2, "cookie st", "abc123def456ghi");
    fx_expect(c, 1, 1, "body $.session_token", 2, "cookie st2", "abc123def456ghi");

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "", "{\"session_token\":\"Q\"}");
    rp_corr_session_observe(s, 1, &live);
    cr_assert_eq(rp_corr_session_apply(s, 2, &xs[1].req, NULL, NULL), RP_OK);
    cr_expect_str_eq(req_header(&xs[1].req, "Cookie"), "lang=en; st=Q; st2=Q");
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 2);
}

Test(correlate, short_coincidences_are_not_correlated)
{
    struct rp_exchange xs[6];
    fx_req(&xs[0], 1, "GET", "https://shop.test/api/cart", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: application/json",
            "{\"count\": 2, \"ok\": true, \"status\": \"paid\", \"empty\": \"\", \"none\": null}");
    fx_req(&xs[1], 2, "GET", "https://shop.test/api/orders?page=2&status=paid", "", NULL);
    fx_resp(&xs[1], 200, "", NULL);
    fx_req(&xs[2], 3, "POST", "https://shop.test/api/flags", "Content-Type: application/json",
           "{\"flag\":true,\"note\":\"\",\"x\":null,\"n\":2}");
    fx_resp(&xs[2], 200, "", NULL);
    fx_req(&xs[3], 4, "GET", "https://shop.test/api/2/paid", "X-Count: 2", NULL);
    fx_resp(&xs[3], 200, "Content-Type: application/json", "{\"id\":0,\"user_id\":\"\"}");
    /* A 0 id or an empty one never correlates, even into an id field. */
    fx_req(&xs[4], 5, "GET", "https://shop.test/api/users/0?user_id=", "", NULL);
    fx_resp(&xs[4], 200, "", NULL);
    fx_req(&xs[5], 6, "POST", "https://shop.test/api/x", "Content-Type: application/json",
           "{\"id\":0,\"ok\":true}");
    fx_resp(&xs[5], 200, "", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 6);
    cr_expect_eq(rp_correlator_count(c), 0);
    rp_correlator_free(c);
    fx_cleanup(xs, 6);
}

Test(correlate, latest_source_wins)
{
    struct rp_exchange xs[5];
    fx_req(&xs[0], 1, "POST", "https://shop.test/api/orders", "", NULL);
    fx_resp(&xs[0], 201, "Content-Type: application/json", "{\"id\": 5}");
    fx_req(&xs[1], 2, "POST", "https://shop.test/api/orders", "", NULL);
    fx_resp(&xs[1], 201, "Content-Type: application/json", "{\"id\": 7}");
    fx_req(&xs[2], 3, "GET", "https://shop.test/api/orders/7", "", NULL);
    fx_resp(&xs[2], 200, "", NULL);
    fx_req(&xs[3], 4, "GET", "https://shop.test/api/orders/5", "", NULL);
    fx_resp(&xs[3], 200, "Content-Type: application/json", "{\"order\":{\"id\":7}}");
    /* 7 again, from a later response: that one is the source now. */
    fx_req(&xs[4], 5, "DELETE", "https://shop.test/api/orders/7", "", NULL);
    fx_resp(&xs[4], 204, "", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 5);
    cr_assert_eq(rp_correlator_count(c), 3);
    fx_expect(c, 0, 2, "body $.id", 3, "path segment 2", "7");
    fx_expect(c, 1, 1, "body $.id", 4, "path segment 2", "5");
    fx_expect(c, 2, 4, "body $.order.id", 5, "path segment 2", "7");
    rp_correlator_free(c);
    fx_cleanup(xs, 5);
}

Test(correlate, an_id_keeps_to_its_kind_of_thing)
{
    struct rp_exchange xs[4];
    fx_req(&xs[0], 1, "GET", "https://shop.test/api/products", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: application/json",
            "{\"products\":[{\"id\":3,\"name\":\"Widget\"},{\"id\":4,\"name\":\"Gadget\"}]}");
    fx_req(&xs[1], 2, "POST", "https://shop.test/api/orders", "", NULL);
    fx_resp(&xs[1], 201, "Content-Type: application/json", "{\"id\":4}");
    /* The product 4 comes from the catalogue, the order 4 from the order just made. */
    fx_req(&xs[2], 3, "POST", "https://shop.test/api/orders/4/items",
           "Content-Type: application/json", "{\"product_id\":4,\"qty\":1}");
    fx_resp(&xs[2], 201, "", NULL);
    fx_req(&xs[3], 4, "GET", "https://shop.test/api/products/4", "", NULL);
    fx_resp(&xs[3], 200, "", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 4);
    cr_assert_eq(rp_correlator_count(c), 3);
    fx_expect(c, 0, 2, "body $.id", 3, "path segment 2", "4");
    fx_expect(c, 1, 1, "body $.products[1].id", 3, "body $.product_id", "4");
    fx_expect(c, 2, 1, "body $.products[1].id", 4, "path segment 2", "4");
    rp_correlator_free(c);
    fx_cleanup(xs, 4);
}

Test(correlate, an_order_numbered_like_the_product_it_holds_is_still_the_servers)
{
    struct rp_exchange xs[4];
    fx_req(&xs[0], 1, "GET", "http://127.0.0.1:8080/t/acme/api/products", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: application/json; charset=utf-8",
            "{\"products\":[{\"id\":1,\"name\":\"Espresso\",\"price\":2.5},"
            "{\"id\":2,\"name\":\"Grinder\",\"price\":120}]}");
    fx_req(&xs[1], 2, "POST", "http://127.0.0.1:8080/t/acme/api/orders",
           "Content-Type: application/json", "{\"items\":[{\"product_id\":1,\"quantity\":1}]}");
    fx_resp(&xs[1], 201,
            "Content-Type: application/json; charset=utf-8\nLocation: /t/acme/api/orders/1",
            "{\"id\":1,\"status\":\"pending\",\"items\":[{\"product_id\":1,"
            "\"quantity\":1}],\"total\":2.5}");
    fx_req(&xs[2], 3, "GET", "http://127.0.0.1:8080/t/acme/api/orders/1", "", NULL);
    fx_resp(&xs[2], 200, "Content-Type: application/json",
            "{\"id\":1,\"status\":\"pending\",\"items\":[{\"product_id\":1}]}");
    fx_req(&xs[3], 4, "POST", "http://127.0.0.1:8080/t/acme/api/orders/1/pay",
           "Content-Type: application/json", "{\"method\":\"card\"}");
    fx_resp(&xs[3], 200, "Content-Type: application/json", "{\"id\":1,\"status\":\"paid\"}");
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 4);
    cr_assert_eq(rp_correlator_count(c), 3);
    fx_expect(c, 0, 1, "body $.products[0].id", 2, "body $.items[0].product_id", "1");
    fx_expect(c, 1, 2, "body $.id", 3, "path segment 4", "1");
    fx_expect(c, 2, 2, "body $.id", 4, "path segment 4", "1");
    rp_correlator_free(c);
    fx_cleanup(xs, 4);
}

Test(correlate, a_value_the_request_sent_is_not_taken_from_its_response)
{
    struct rp_exchange xs[3];
    fx_req(&xs[0], 1, "POST", "https://shop.test/api/orders", "", NULL);
    fx_resp(&xs[0], 201, "Content-Type: application/json", "{\"id\":4}");
    fx_req(&xs[1], 2, "POST", "https://shop.test/api/orders/4/pay", "", NULL);
    fx_resp(&xs[1], 200, "Content-Type: application/json", "{\"id\":4,\"receipt_id\":4}");
    fx_req(&xs[2], 3, "GET", "https://shop.test/api/orders/4", "", NULL);
    fx_resp(&xs[2], 200, "", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 3);
    cr_assert_eq(rp_correlator_count(c), 2);
    fx_expect(c, 0, 1, "body $.id", 2, "path segment 2", "4");
    fx_expect(c, 1, 1, "body $.id", 3, "path segment 2", "4");
    rp_correlator_free(c);
    fx_cleanup(xs, 3);
}

Test(correlate, bind_correlates_a_short_value_only_when_declared)
{
    for (int bound = 0; bound < 2; bound++) {
        struct rp_exchange xs[2];
        fx_req(&xs[0], 1, "GET", "https://shop.test/api/session", "", NULL);
        fx_resp(&xs[0], 200, "Content-Type: application/json",
                "{\"data\":{\"t\":\"k7Q\",\"u\":\"k7Q\"}}");
        fx_req(&xs[1], 2, "POST", "https://shop.test/api/step?t=k7Q", "X-Step: k7Q", NULL);
        fx_resp(&xs[1], 200, "", NULL);
        struct rp_correlator *c = rp_correlator_new();
        struct rp_error err = {0};
        if (bound) {
            cr_assert_eq(rp_correlator_bind(c, "step", "$.data.t", &err), RP_OK, "%s", err.msg);
        }
        for (size_t i = 0; i < 2; i++) {
            cr_assert_eq(rp_correlator_learn(c, &xs[i], &err), RP_OK, "%s", err.msg);
        }
        if (!bound) {
            cr_expect_eq(rp_correlator_count(c), 0);
        } else {
            cr_assert_eq(rp_correlator_count(c), 2);
            fx_expect(c, 0, 1, "body $.data.t", 2, "query t", "k7Q");
            fx_expect(c, 1, 1, "body $.data.t", 2, "header X-Step", "k7Q");
            cr_expect(rp_correlator_get(c, 0)->bound);
            cr_expect(!rp_correlator_get(c, 0)->strong);

            struct rp_corr_session *s = rp_corr_session_new(c);
            struct rp_response live;
            fx_live(&live, "", "{\"data\":{\"t\":\"a b&c\",\"u\":\"k7Q\"}}");
            rp_corr_session_observe(s, 1, &live);
            cr_assert_eq(rp_corr_session_apply(s, 2, &xs[1].req, NULL, NULL), RP_OK);
            cr_expect_str_eq(xs[1].req.url, "https://shop.test/api/step?t=a%20b%26c");
            cr_expect_str_eq(req_header(&xs[1].req, "X-Step"), "a b&c");
            fx_live_cleanup(&live);
            rp_corr_session_free(s);
        }
        rp_correlator_free(c);
        fx_cleanup(xs, 2);
    }
}

Test(correlate, bind_refuses_a_path_not_of_the_form_dollar_keys_and_indices)
{
    const char *bad[] = {"",     "data.t", "$.",       "$..a", "$[x]", "$[01]",
                         "$.a[", "$.a]b",  "$[\"a\"]", "$ .a", NULL};
    struct rp_correlator *c = rp_correlator_new();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rp_error err = {0};
        cr_expect_eq(rp_correlator_bind(c, "x", bad[i], &err), RP_EUSAGE, "%s",
                     bad[i] ? bad[i] : "NULL");
    }
    cr_expect_eq(rp_correlator_bind(c, "x", "$", NULL), RP_OK);
    cr_expect_eq(rp_correlator_bind(c, "x", "$.items[0].id", NULL), RP_OK);
    cr_expect_eq(rp_correlator_bind(c, "x", "$[10].a-b.c_d", NULL), RP_OK);
    rp_correlator_free(c);
}

Test(correlate, learn_refuses_exchanges_out_of_order)
{
    struct rp_exchange xs[2];
    fx_req(&xs[0], 5, "GET", "https://shop.test/", "", NULL);
    fx_req(&xs[1], 5, "GET", "https://shop.test/", "", NULL);
    struct rp_correlator *c = rp_correlator_new();
    struct rp_error err = {0};
    cr_assert_eq(rp_correlator_learn(c, &xs[0], &err), RP_OK);
    cr_assert_eq(rp_correlator_learn(c, &xs[1], &err), RP_EFORMAT);
    cr_expect_str_eq(err.msg, "exchange 5: not after exchange 5");
    rp_correlator_free(c);
    fx_cleanup(xs, 2);
}

Test(correlate, json_paths_index_arrays_and_quote_odd_keys)
{
    struct rp_exchange xs[2];
    fx_req(&xs[0], 1, "GET", "https://shop.test/api/carts", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: application/json",
            "{\"carts\":[{\"id\":\"c-0001\"},"
            "{\"line.items\":[{\"item_id\":\"\\u0041BC123456\"}]}]}");
    fx_req(&xs[1], 2, "PUT", "https://shop.test/api/carts/x", "Content-Type: application/json",
           "{\"lines\": [ {\"item_id\": \"ABC123456\"} ], \"cart\": {\"id\": \"c-0001\"}}");
    fx_resp(&xs[1], 200, "", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 2);
    cr_assert_eq(rp_correlator_count(c), 2);
    fx_expect(c, 0, 1, "body $.carts[1][\"line.items\"][0].item_id", 2, "body $.lines[0].item_id",
              "ABC123456");
    fx_expect(c, 1, 1, "body $.carts[0].id", 2, "body $.cart.id", "c-0001");

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "",
            "{\"carts\":[{\"id\":\"c-0002\"},{\"line.items\":[{\"item_id\":\"Q\\\"1\"}]}]}");
    rp_corr_session_observe(s, 1, &live);
    cr_assert_eq(rp_corr_session_apply(s, 2, &xs[1].req, NULL, NULL), RP_OK);
    cr_expect_str_eq((char *)xs[1].req.body.data,
                     "{\"lines\": [ {\"item_id\": \"Q\\\"1\"} ], \"cart\": {\"id\": \"c-0002\"}}");
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 2);
}

Test(correlate, path_values_are_decoded_and_live_values_encoded)
{
    struct rp_exchange xs[2];
    fx_req(&xs[0], 1, "POST", "https://files.test/api/files", "", NULL);
    fx_resp(&xs[0], 201, "Content-Type: application/json", "{\"name\":\"report 2026.pdf\"}");
    fx_req(&xs[1], 2, "GET",
           "https://files.test/api/files/report%202026.pdf?dl=report+2026.pdf#top", "", NULL);
    fx_resp(&xs[1], 200, "", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 2);
    cr_assert_eq(rp_correlator_count(c), 2);
    fx_expect(c, 0, 1, "body $.name", 2, "path segment 2", "report 2026.pdf");
    fx_expect(c, 1, 1, "body $.name", 2, "query dl", "report 2026.pdf");

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "", "{\"name\":\"q3/2027 #1.pdf\"}");
    rp_corr_session_observe(s, 1, &live);
    cr_assert_eq(rp_corr_session_apply(s, 2, &xs[1].req, NULL, NULL), RP_OK);
    cr_expect_str_eq(xs[1].req.url,
                     "https://files.test/api/files/q3%2F2027%20%231.pdf?dl=q3/2027%20%231.pdf#top");
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 2);
}

Test(correlate, html_tags_are_found_in_any_case_order_and_quoting)
{
    struct rp_exchange xs[3];
    fx_req(&xs[0], 1, "GET", "https://app.test/form", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: text/html",
            "<html><!-- <meta name=\"csrf-token\" content=\"commentedOut123\"> -->"
            "<Meta Content='tok&amp;en&#39;1&#x41;Z9' name = \"csrf-token\" />"
            "<INPUT TYPE=HIDDEN NAME=authenticity_token VALUE=hid&quot;den-42>"
            "<input type=text name=visible value=notHidden12345></html>");
    fx_req(&xs[1], 2, "POST", "https://app.test/form",
           "Content-Type: application/x-www-form-urlencoded\nX-CSRF-Token: tok&en'1AZ9",
           "authenticity_token=hid%22den-42&visible=notHidden12345");
    fx_resp(&xs[1], 200, "", NULL);
    fx_req(&xs[2], 3, "GET", "https://app.test/x?c=commentedOut123", "", NULL);
    fx_resp(&xs[2], 200, "", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 3);
    /* A text input's value is the server's too, as a browser sends it back (issue 10). */
    cr_assert_eq(rp_correlator_count(c), 3);
    fx_expect(c, 0, 1, "html meta csrf-token", 2, "header X-CSRF-Token", "tok&en'1AZ9");
    fx_expect(c, 1, 1, "html input authenticity_token", 2, "form authenticity_token",
              "hid\"den-42");
    fx_expect(c, 2, 1, "html input visible", 2, "form visible", "notHidden12345");

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "Content-Type: text/html",
            "<meta name=csrf-token content=\"L1ve&lt;tok\">"
            "<input value=\"new val+1\" name=\"authenticity_token\" type=\"hidden\">");
    rp_corr_session_observe(s, 1, &live);
    cr_assert_eq(rp_corr_session_apply(s, 2, &xs[1].req, NULL, NULL), RP_OK);
    cr_expect_str_eq(req_header(&xs[1].req, "X-CSRF-Token"), "L1ve<tok");
    cr_expect_str_eq((char *)xs[1].req.body.data,
                     "authenticity_token=new+val%2B1&visible=notHidden12345");
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 3);
}

/* ----- the demo app's flow, read from a recording ------------------------------------------- */

static struct rp_correlator *learn_fixture(const char *name, struct rp_exchange *out, size_t max,
                                           size_t *out_n)
{
    char *dir = tmp_dir();
    char src[512];
    snprintf(src, sizeof(src), "%s/correlate/%s", REPRISE_TEST_DATA, name);
    char *gz = path_in(dir, "rec.jsonl.gz");
    cr_assert_eq(gzip_file(src, gz), 0, "gzip %s", src);
    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(gz, NULL, &r, &err), RP_OK, "%s", err.msg);
    struct rp_correlator *c = rp_correlator_new();
    size_t n = 0;
    for (;;) {
        bool got = false;
        cr_assert_lt(n, max);
        rp_exchange_init(&out[n]);
        cr_assert_eq(rp_reader_next(r, &out[n], &got, &err), RP_OK, "%s", err.msg);
        if (!got) {
            rp_exchange_cleanup(&out[n]);
            break;
        }
        cr_assert_eq(rp_correlator_learn(c, &out[n], &err), RP_OK, "%s", err.msg);
        n++;
    }
    rp_reader_free(r);
    free(gz);
    rm_tree(dir);
    *out_n = n;
    return c;
}

#define CSRF         "9f86d081884c7d659a2feaa0c55ad015"
#define SESSION      "s-7c4a8d09ca3762af61e59520943dc264"
#define LIVE_CSRF    "a665a45920422f9d417e4867efdc4fb8"
#define LIVE_SESSION "s-2c624232cdd221771294dfbb310aca00"

Test(correlate, demo_flow_recording_yields_the_hand_listed_correlations)
{
    struct rp_exchange xs[16];
    size_t n = 0;
    struct rp_correlator *c = learn_fixture("demo-flow.jsonl", xs, 16, &n);
    cr_assert_eq(n, 8);
    /* demo_session goes back in Cookie headers only: that is the cookie jar's, not listed. */
    cr_assert_eq(rp_correlator_count(c), 8);
    size_t i = 0;
    fx_expect(c, i++, 2, "html meta csrf-token", 4, "header X-CSRF-Token", CSRF);
    fx_expect(c, i++, 3, "body $.products[0].id", 4, "body $.items[0].product_id", "1");
    fx_expect(c, i++, 4, "body $.id", 5, "path segment 4", "4");
    fx_expect(c, i++, 4, "body $.id", 6, "path segment 4", "4");
    fx_expect(c, i++, 2, "html meta csrf-token", 6, "header X-CSRF-Token", CSRF);
    fx_expect(c, i++, 4, "body $.id", 6, "body $.order_id", "4");
    fx_expect(c, i++, 2, "html input csrf_token", 8, "form csrf_token", CSRF);
    fx_expect(c, i++, 2, "html input company", 8, "form company", "Acme & Co"); /* a text input */
    cr_expect(rp_correlator_get(c, 1)->strong);
    cr_expect(!rp_correlator_get(c, 0)->strong);
    for (size_t k = 1; k < rp_correlator_count(c); k++) {
        cr_expect_leq(rp_correlator_get(c, k - 1)->to_seq, rp_correlator_get(c, k)->to_seq);
    }
    rp_correlator_free(c);
    fx_cleanup(xs, n);
}

Test(correlate, demo_flow_replay_puts_every_live_value_in_place)
{
    struct rp_exchange xs[16];
    size_t n = 0;
    struct rp_correlator *c = learn_fixture("demo-flow.jsonl", xs, 16, &n);
    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live[8];
    fx_live(&live[0],
            "Content-Type: application/json\nSet-Cookie: demo_session=" LIVE_SESSION
            "; Path=/; HttpOnly",
            "{\"csrf_token\":\"" LIVE_CSRF "\",\"tenant\":\"run-1\",\"user\":{\"id\":1}}");
    fx_live(&live[1], "Content-Type: text/html",
            "<meta name=\"csrf-token\" content=\"" LIVE_CSRF "\">"
            "<input type=\"hidden\" name=\"csrf_token\" value=\"" LIVE_CSRF "\">"
            "<input name=\"company\" value=\"Acme &amp; Co\">");
    fx_live(&live[2], "Content-Type: application/json",
            "{\"products\":[{\"id\":3,\"name\":\"Widget\"},{\"id\":2,\"name\":\"Gadget\"}]}");
    fx_live(&live[3], "Content-Type: application/json\nLocation: /t/run-1/api/orders/11",
            "{\"id\":11,\"status\":\"pending\"}");
    for (size_t k = 4; k < 8; k++) {
        fx_live(&live[k], "Content-Type: application/json", "{}");
    }
    size_t total_missing = 0;
    for (size_t k = 0; k < n; k++) {
        size_t missing = 99;
        struct rp_error err = {0};
        cr_assert_eq(rp_corr_session_apply(s, xs[k].seq, &xs[k].req, &missing, &err), RP_OK, "%s",
                     err.msg);
        total_missing += missing;
        rp_corr_session_observe(s, xs[k].seq, &live[k]);
    }
    cr_expect_eq(total_missing, 0);
    cr_expect_str_eq(req_header(&xs[1].req, "Cookie"), "demo_session=" SESSION);
    cr_expect_str_eq(req_header(&xs[3].req, "X-CSRF-Token"), LIVE_CSRF);
    cr_expect_str_eq(req_header(&xs[3].req, "Origin"), "https://demo.test");
    cr_expect_str_eq((char *)xs[3].req.body.data, "{\"items\":[{\"product_id\":3,\"qty\":2}]}");
    cr_expect_str_eq(xs[4].req.url, "https://demo.test/t/acme/api/orders/11");
    cr_expect_str_eq(xs[5].req.url, "https://demo.test/t/acme/api/orders/11/pay");
    cr_expect_str_eq((char *)xs[5].req.body.data,
                     "{\"order_id\": 11, \"method\": \"card\", \"note\": \"page 4\"}");
    cr_expect_str_eq(xs[6].req.url, "https://demo.test/t/acme/api/orders?page=4&status=paid");
    cr_expect_str_eq((char *)xs[7].req.body.data, "csrf_token=" LIVE_CSRF "&company=Acme+%26+Co");
    for (size_t k = 0; k < 8; k++) {
        fx_live_cleanup(&live[k]);
    }
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, n);
}

/* ----- limits ------------------------------------------------------------------------------- */

/* Exchange seq of a long run: its response gives a unique token; with reuse, its request sends
 * back the token of the exchange before. */
static void token_exchange(struct rp_exchange *ex, uint64_t seq, bool reuse)
{
    char url[128];
    char hdr[128];
    char body[128];
    snprintf(url, sizeof(url), "https://load.test/api/ping?n=%llu", (unsigned long long)seq);
    snprintf(hdr, sizeof(hdr), "X-Token: tok-%08llx-zz", (unsigned long long)(seq - 1));
    snprintf(body, sizeof(body), "{\"token\":\"tok-%08llx-zz\",\"n\":%llu}",
             (unsigned long long)seq, (unsigned long long)seq);
    fx_req(ex, seq, "GET", url, reuse ? hdr : "", NULL);
    fx_resp(ex, 200, "Content-Type: application/json", body);
}

Test(correlate, correlations_stop_at_the_cap)
{
    struct rp_correlator *c = rp_correlator_new();
    for (uint64_t seq = 1; seq <= RP_MAX_CORRELATIONS + 1000; seq++) {
        struct rp_exchange ex;
        token_exchange(&ex, seq, true);
        cr_assert_eq(rp_correlator_learn(c, &ex, NULL), RP_OK);
        rp_exchange_cleanup(&ex);
    }
    cr_assert_eq(rp_correlator_count(c), RP_MAX_CORRELATIONS);
    /* The first request has nothing to send back; each later one sends its predecessor's. */
    fx_expect(c, 0, 1, "body $.token", 2, "header X-Token", "tok-00000001-zz");
    fx_expect(c, RP_MAX_CORRELATIONS - 1, RP_MAX_CORRELATIONS, "body $.token",
              RP_MAX_CORRELATIONS + 1, "header X-Token", "tok-00001000-zz");
    rp_correlator_free(c);
}

Test(correlate, index_memory_stays_bounded_over_200000_exchanges, .timeout = 300)
{
    struct rp_correlator *c = rp_correlator_new();
    size_t at_half = 0;
    for (uint64_t seq = 1; seq <= 200000; seq++) {
        struct rp_exchange ex;
        token_exchange(&ex, seq, false);
        cr_assert_eq(rp_correlator_learn(c, &ex, NULL), RP_OK);
        rp_exchange_cleanup(&ex);
        if (seq == 100000) {
            at_half = heap_in_use();
        }
    }
    size_t at_end = heap_in_use();
    cr_expect_lt(at_end, at_half + 256 * 1024, "heap grew from %zu to %zu", at_half, at_end);
    cr_expect_eq(rp_correlator_count(c), 0);

    /* The first token was dropped long ago; the last one is still there. */
    struct rp_exchange ex;
    fx_req(&ex, 200001, "GET", "https://load.test/x",
           "X-Old: tok-00000001-zz\nX-New: tok-00030d40-zz", NULL);
    cr_assert_eq(rp_correlator_learn(c, &ex, NULL), RP_OK);
    rp_exchange_cleanup(&ex);
    cr_assert_eq(rp_correlator_count(c), 1);
    fx_expect(c, 0, 200000, "body $.token", 200001, "header X-New", "tok-00030d40-zz");
    rp_correlator_free(c);
}
