/* SPDX-License-Identifier: MIT */
/* Unit tests for the sources and targets of correlation that issue 10 adds: ids that only appear
 * in HTML links, URL strings in JSON, Link headers, the values a server filled into a form,
 * multipart bodies, GraphQL variables and inline literals, and binds to any place. Every
 * expected correlation and rewritten request is written by hand. */
#include <criterion/criterion.h>

#include <reprise/correlate.h>
#include <reprise/limits.h>

#include "correlate_fixture.h"

/* ----- ids that only appear in links -------------------------------------------------------- */

#define LIST_PAGE                                                                                  \
    "<html><ul>"                                                                                   \
    "<li><a href=\"/things/1/change/\">One</a></li>"                                               \
    "<li><A HREF='/things/2/change/'>Two</A></li>"                                                 \
    "<li><a class=x href=https://admin.test/things/3/change/>Box</a></li>"                         \
    "<li><a href=\"https://elsewhere.test/things/77/change/\">other site</a></li>"                 \
    "</ul><form action=\"/things/3/delete/\" method=post>"                                         \
    "<button formaction=\"/things/3/archive/\">archive</button></form></html>"

Test(correlate_sources, an_id_only_in_a_link_correlates_with_a_later_path)
{
    struct rp_exchange xs[3];
    fx_req(&xs[0], 1, "GET", "https://admin.test/things/", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: text/html; charset=utf-8", LIST_PAGE);
    fx_req(&xs[1], 2, "POST", "https://admin.test/things/3/change/",
           "Content-Type: application/x-www-form-urlencoded", "name=Box2");
    fx_resp(&xs[1], 302, "Location: /things/", NULL);
    fx_req(&xs[2], 3, "POST", "https://admin.test/things/3/delete/",
           "Content-Type: application/x-www-form-urlencoded", "post=yes");
    fx_resp(&xs[2], 302, "Location: /things/", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 3);
    cr_assert_eq(rp_correlator_count(c), 2);
    /* The third link of its template; the other site's 77 is no source. */
    fx_expect(c, 0, 1, "html a href segment 1 of /things/*/change/ (link 3)", 2, "path segment 1",
              "3");
    /* Three places give 3 (link, form action, button formaction): the first indexed wins. */
    fx_expect(c, 1, 1, "html a href segment 1 of /things/*/change/ (link 3)", 3, "path segment 1",
              "3");
    cr_expect(rp_correlator_get(c, 0)->strong);

    /* A live list with more objects: the third link's id. */
    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "Content-Type: text/html",
            "<a href=\"/things/21/change/\">a</a><a href=\"/things/22/change/\">b</a>"
            "<a href=\"/things/23/change/\">c</a><a href=\"/things/24/change/\">d</a>");
    rp_corr_session_observe(s, 1, &live);
    fx_apply(s, &xs[1]);
    cr_expect_str_eq(xs[1].req.url, "https://admin.test/things/23/change/");
    fx_live_cleanup(&live);
    rp_corr_session_free(s);

    /* A fresh tenant's shorter list: past its end, the last link that fits. */
    s = rp_corr_session_new(c);
    fx_live(&live, "Content-Type: text/html",
            "<a href=\"/things/13/edit/\">no</a><a href=\"/things/13/change/\">Box</a>"
            "<form action=\"/things/13/delete/\"></form>");
    rp_corr_session_observe(s, 1, &live);
    fx_apply(s, &xs[2]);
    cr_expect_str_eq(xs[2].req.url, "https://admin.test/things/13/delete/");
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 3);
}

Test(correlate_sources, links_with_entities_and_a_broken_page_still_give_their_ids)
{
    struct rp_exchange xs[2];
    fx_req(&xs[0], 1, "GET", "https://wiki.test/pages", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: text/html",
            "<script>for (i = 0; i<n; i++) { s = '<a href=\"/pages/98/\">'; } // don't</script>"
            "<p><a href=\"/pages/58/?a=1&amp;b=2\">x</a><!-- <a href=\"/pages/99/\"> -->"
            "<div data-url=\"/pages/58/history\" data-label=\"/notaurl/5\">"
            "<a href=\"/pages/60/");
    fx_req(&xs[1], 2, "DELETE", "https://wiki.test/pages/58/", "", NULL);
    fx_resp(&xs[1], 204, "", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 2);
    cr_assert_eq(rp_correlator_count(c), 1);
    fx_expect(c, 0, 1, "html a href segment 1 of /pages/*/", 2, "path segment 1", "58");
    rp_correlator_free(c);
    fx_cleanup(xs, 2);
}

/* ----- URL strings in JSON and Link headers ------------------------------------------------- */

Test(correlate_sources, json_url_strings_and_link_headers_give_their_segments)
{
    struct rp_exchange xs[4];
    fx_req(&xs[0], 1, "POST", "https://api.test/orders", "Content-Type: application/json",
           "{\"item\":\"pen\"}");
    fx_resp(&xs[0], 201, "Content-Type: application/json",
            "{\"url\":\"https://api.test/orders/7\",\"help\":\"https://docs.test/orders/8\"}");
    fx_req(&xs[1], 2, "GET", "https://api.test/orders/7", "", NULL);
    fx_resp(&xs[1], 200, "Content-Type: application/json", "{}");
    fx_req(&xs[2], 3, "POST", "https://api.test/receipts", "", NULL);
    fx_resp(&xs[2], 201, "Link: </receipts?page=2>; rel=\"next\", </receipts/R55x>; rel=\"self\"",
            NULL);
    fx_req(&xs[3], 4, "GET", "https://api.test/receipts/R55x", "", NULL);
    fx_resp(&xs[3], 200, "", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 4);
    cr_assert_eq(rp_correlator_count(c), 2);
    fx_expect(c, 0, 1, "body $.url segment 1", 2, "path segment 1", "7");
    fx_expect(c, 1, 3, "header Link rel=self segment 1", 4, "path segment 1", "R55x");

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live[2];
    fx_live(&live[0], "Content-Type: application/json",
            "{\"url\":\"http://live.test:8080/orders/19\"}");
    fx_live(&live[1], "Link: </receipts/R77y>; rel=next, </receipts/R99z>; rel=self", NULL);
    rp_corr_session_observe(s, 1, &live[0]);
    fx_apply(s, &xs[1]);
    rp_corr_session_observe(s, 3, &live[1]);
    fx_apply(s, &xs[3]);
    cr_expect_str_eq(xs[1].req.url, "https://api.test/orders/19");
    cr_expect_str_eq(xs[3].req.url, "https://api.test/receipts/R99z");
    fx_live_cleanup(&live[0]);
    fx_live_cleanup(&live[1]);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 4);
}

Test(correlate_sources, query_values_of_links_and_json_urls_are_sources)
{
    struct rp_exchange xs[4];
    fx_req(&xs[0], 1, "GET", "https://php.test/items.php", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: text/html",
            "<a href=\"/items/edit.php?id=5&amp;tab=main\">5</a>"
            "<a href=\"/items/edit.php?id=7&amp;tab=main\">7</a><a href=\"?page=2\">next</a>");
    fx_req(&xs[1], 2, "GET", "https://php.test/items/edit.php?id=7&tab=main", "", NULL);
    fx_resp(&xs[1], 200, "Content-Type: text/html", "<p>ok</p>");
    fx_req(&xs[2], 3, "GET", "https://php.test/api/orders", "", NULL);
    fx_resp(&xs[2], 200, "Content-Type: application/json",
            "{\"orders\":[],\"next\":\"/api/orders?cursor=c8f3a9d2e1&limit=20\"}");
    fx_req(&xs[3], 4, "GET", "https://php.test/api/orders?cursor=c8f3a9d2e1&limit=20", "", NULL);
    fx_resp(&xs[3], 200, "Content-Type: application/json", "{}");
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 4);
    cr_assert_eq(rp_correlator_count(c), 2);
    fx_expect(c, 0, 1, "html a href query id of /items/edit.php (link 2)", 2, "query id", "7");
    fx_expect(c, 1, 3, "body $.next query cursor", 4, "query cursor", "c8f3a9d2e1");

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live[2];
    fx_live(&live[0], "Content-Type: text/html",
            "<a href=\"/items/edit.php?tab=main&amp;id=17\">17</a>");
    fx_live(&live[1], "Content-Type: application/json",
            "{\"next\":\"https://other.test/api/orders?limit=20&cursor=ff00aa11bb\"}");
    rp_corr_session_observe(s, 1, &live[0]);
    fx_apply(s, &xs[1]);
    rp_corr_session_observe(s, 3, &live[1]);
    fx_apply(s, &xs[3]);
    cr_expect_str_eq(xs[1].req.url, "https://php.test/items/edit.php?id=17&tab=main");
    cr_expect_str_eq(xs[3].req.url, "https://php.test/api/orders?cursor=ff00aa11bb&limit=20");
    fx_live_cleanup(&live[0]);
    fx_live_cleanup(&live[1]);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 4);
}

/* ----- what the server filled into a form --------------------------------------------------- */

#define TOKEN      "Qm9ndXNUb2tlbjEyMw"
#define LIVE_TOKEN "TGl2ZVRva2VuNDU2"

Test(correlate_sources, a_selected_option_checked_boxes_and_inputs_come_back_in_the_form_post)
{
    struct rp_exchange xs[2];
    fx_req(&xs[0], 1, "GET", "https://app.test/tasks/new", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: text/html",
            "<form action=\"/tasks\" method=\"post\">"
            "<input type=\"hidden\" name=\"authenticity_token\" value=\"" TOKEN "\">"
            "<select name=\"project\"><option value=\"1\">Other</option>"
            "<option value=\"3\" selected>Mine</option></select>"
            "<select name=\"priority\"><option value=\"2\">Low</option>"
            "<option value=\"4\">High</option></select>"
            "<input type=\"radio\" name=\"owner\" value=\"6\">"
            "<input type=\"radio\" name=\"owner\" value=\"8\" checked>"
            "<input type=\"checkbox\" name=\"notify\" value=\"9\" checked>"
            "<input type=\"checkbox\" name=\"urgent\" value=\"5\">"
            "<input type=\"text\" name=\"title\" value=\"\"></form>");
    fx_req(&xs[1], 2, "POST", "https://app.test/tasks",
           "Content-Type: application/x-www-form-urlencoded",
           "authenticity_token=" TOKEN "&project=3&priority=2&owner=8&notify=9&urgent=5&title=Fix");
    fx_resp(&xs[1], 302, "Location: /tasks", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 2);
    cr_assert_eq(rp_correlator_count(c), 5);
    fx_expect(c, 0, 1, "html input authenticity_token", 2, "form authenticity_token", TOKEN);
    fx_expect(c, 1, 1, "html select project", 2, "form project", "3");
    fx_expect(c, 2, 1, "html select priority", 2, "form priority", "2"); /* the first option */
    fx_expect(c, 3, 1, "html input owner", 2, "form owner", "8");
    fx_expect(c, 4, 1, "html input notify", 2, "form notify", "9");
    /* urgent was not checked: 5 is the user's, not the server's. */

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "Content-Type: text/html",
            "<input type=hidden name=authenticity_token value=" LIVE_TOKEN ">"
            "<select name=project><option value=11>Other</option><option selected value=12>Mine"
            "</option></select><select name=priority><option>5</option><option>6</option>"
            "</select><input type=radio name=owner value=14><input type=radio checked name=owner "
            "value=15><input name=notify type=checkbox checked value=16>");
    rp_corr_session_observe(s, 1, &live);
    fx_apply(s, &xs[1]);
    char *body = fx_body(&xs[1].req);
    cr_expect_str_eq(body, "authenticity_token=" LIVE_TOKEN
                           "&project=12&priority=5&owner=15&notify=16&urgent=5"
                           "&title=Fix");
    free(body);
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 2);
}

/* ----- multipart/form-data ------------------------------------------------------------------ */

#define CSRF      "mPq2R8sT0kLw9xYz"
#define LIVE_CSRF "Nw3xQ5vB8yHj2KcD"
#define BND       "----rp7MA4YWxk"

/* A Rails-style post: token, a pre-filled select, a title, and a file whose bytes hold the
 * token too. */
#define MULTIPART(token, project)                                                                  \
    "--" BND "\r\n"                                                                                \
    "Content-Disposition: form-data; name=\"authenticity_token\"\r\n"                              \
    "\r\n" token "\r\n"                                                                            \
    "--" BND "\r\n"                                                                                \
    "Content-Disposition: form-data; name=\"post[project]\"\r\n"                                   \
    "\r\n" project "\r\n"                                                                          \
    "--" BND "\r\n"                                                                                \
    "Content-Disposition: form-data; name=\"post[title]\"\r\n"                                     \
    "\r\n"                                                                                         \
    "Hello\r\nworld\r\n"                                                                           \
    "--" BND "\r\n"                                                                                \
    "Content-Disposition: form-data; name=\"post[file]\"; filename=\"a.txt\"\r\n"                  \
    "Content-Type: text/plain\r\n"                                                                 \
    "\r\n" CSRF "\r\n"                                                                             \
    "--" BND "--\r\n"

Test(correlate_sources, multipart_fields_are_targets_and_file_parts_are_left_alone)
{
    struct rp_exchange xs[2];
    fx_req(&xs[0], 1, "GET", "https://rails.test/posts/new", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: text/html",
            "<meta name=\"csrf-token\" content=\"" CSRF "\">"
            "<form enctype=\"multipart/form-data\" action=\"/posts\" method=\"post\">"
            "<input type=\"hidden\" name=\"authenticity_token\" value=\"" CSRF "\">"
            "<select name=\"post[project]\"><option value=\"3\" selected>Mine</option></select>"
            "<input type=\"file\" name=\"post[file]\"></form>");
    fx_req(&xs[1], 2, "POST", "https://rails.test/posts",
           "Content-Type: multipart/form-data; boundary=" BND, MULTIPART(CSRF, "3"));
    fx_resp(&xs[1], 302, "Location: /posts/5", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 2);
    cr_assert_eq(rp_correlator_count(c), 2);
    /* The meta tag gives the token too; the input of the field's name suits best. */
    fx_expect(c, 0, 1, "html input authenticity_token", 2, "multipart authenticity_token", CSRF);
    fx_expect(c, 1, 1, "html select post[project]", 2, "multipart post[project]", "3");

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "Content-Type: text/html",
            "<input type=\"hidden\" name=\"authenticity_token\" value=\"" LIVE_CSRF "\">"
            "<select name=\"post[project]\"><option value=\"12\" selected>Mine</option></select>");
    rp_corr_session_observe(s, 1, &live);
    fx_apply(s, &xs[1]);
    char *body = fx_body(&xs[1].req);
    cr_expect_str_eq(body, MULTIPART(LIVE_CSRF, "12"));
    free(body);
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 2);
}

/* ----- GraphQL ------------------------------------------------------------------------------ */

#define GQL_CREATE "{\"query\":\"mutation { createOrder(input: {item: \\\"pen\\\"}) { id } }\"}"
#define GQL_GET(id)                                                                                \
    "{\"query\":\"query($id: ID!) { order(id: $id) { total } }\",\"variables\":{\"id\":\"" id "\"" \
    "}}"
#define GQL_PAY(id) "{\"query\":\"mutation { payOrder(id: \\\"" id "\\\", amount: 4) { ok } }\"}"
#define GQL_BATCH(id)                                                                              \
    "[{\"query\":\"query { order(id: " id ") { total } }\"},"                                      \
    "{\"query\":\"mutation($orderId: ID!) { cancelOrder(orderId: $orderId) { ok } }\","            \
    "\"variables\":{\"orderId\":\"" id "\"}}]"
#define GQL_TENANT                                                                                 \
    "{\"query\":\"mutation($tenantId: ID!) { addMember(tenantId: $tenantId) { ok } }\","           \
    "\"variables\":{\"tenantId\":\"4\"}}"

Test(correlate_sources, graphql_ids_reach_variables_inline_literals_and_batches)
{
    struct rp_exchange xs[5];
    const char *json = "Content-Type: application/json";
    fx_req(&xs[0], 1, "POST", "https://gql.test/graphql", json, GQL_CREATE);
    fx_resp(&xs[0], 200, json, "{\"data\":{\"createOrder\":{\"id\":\"4\"}}}");
    fx_req(&xs[1], 2, "POST", "https://gql.test/graphql", json, GQL_GET("4"));
    fx_resp(&xs[1], 200, json, "{\"data\":{\"order\":{\"total\":12}}}");
    fx_req(&xs[2], 3, "POST", "https://gql.test/graphql", json, GQL_PAY("4"));
    fx_resp(&xs[2], 200, json, "{\"data\":{\"payOrder\":{\"ok\":true}}}");
    fx_req(&xs[3], 4, "POST", "https://gql.test/graphql", json, GQL_BATCH("4"));
    fx_resp(&xs[3], 200, json, "[{},{}]");
    fx_req(&xs[4], 5, "POST", "https://gql.test/graphql", json, GQL_TENANT);
    fx_resp(&xs[4], 200, json, "{}");
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 5);
    /* A tenant's id is the tenant rules' business: an order's 4 is not a tenant's. */
    cr_assert_eq(rp_correlator_count(c), 4);
    fx_expect(c, 0, 1, "body $.data.createOrder.id", 2, "body $.variables.id", "4");
    fx_expect(c, 1, 1, "body $.data.createOrder.id", 3, "graphql query literal id", "4");
    fx_expect(c, 2, 1, "body $.data.createOrder.id", 4, "graphql query $[0].query literal id", "4");
    fx_expect(c, 3, 1, "body $.data.createOrder.id", 4, "body $[1].variables.orderId", "4");

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, json, "{\"data\":{\"createOrder\":{\"id\":\"21\"}}}");
    rp_corr_session_observe(s, 1, &live);
    const char *want[] = {GQL_GET("21"), GQL_PAY("21"), GQL_BATCH("21"), GQL_TENANT};
    for (size_t k = 1; k < 5; k++) {
        fx_apply(s, &xs[k]);
        char *body = fx_body(&xs[k].req);
        cr_expect_str_eq(body, want[k - 1], "request %zu", k + 1);
        free(body);
    }
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 5);
}

Test(correlate_sources, graphql_verbs_and_containers_are_no_nouns)
{
    /* "pay" is a verb, "variables" a container: the literal's noun is the order's. */
    struct rp_exchange xs[2];
    const char *json = "Content-Type: application/json";
    fx_req(&xs[0], 1, "POST", "https://gql.test/graphql", json,
           "{\"query\":\"mutation { createProduct { id } }\"}");
    fx_resp(&xs[0], 200, json, "{\"data\":{\"createProduct\":{\"id\":7}}}");
    fx_req(&xs[1], 2, "POST", "https://gql.test/graphql", json,
           "{\"query\":\"mutation { payOrder(id: 7) { ok } }\"}");
    fx_resp(&xs[1], 200, json, "{}");
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 2);
    /* A product's 7 is not an order's. */
    cr_expect_eq(rp_correlator_count(c), 0);
    rp_correlator_free(c);
    fx_cleanup(xs, 2);
}

/* ----- binds to any place ------------------------------------------------------------------- */

Test(correlate_sources, a_bind_takes_a_header_a_cookie_an_html_input_or_a_regex)
{
    struct rp_exchange xs[2];
    fx_req(&xs[0], 1, "GET", "https://b.test/login", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: text/html\nX-Token: ab\nSet-Cookie: sid=q1; Path=/",
            "<input type=hidden name=nonce value=n5><script>var csrf = 'k9';</script>");
    fx_req(&xs[1], 2, "POST", "https://b.test/do",
           "X-Auth: ab\nX-Sid: q1\nContent-Type: application/x-www-form-urlencoded", "x=n5&c=k9");
    fx_resp(&xs[1], 200, "", NULL);
    struct rp_correlator *c = rp_correlator_new();
    struct rp_error err = {0};
    cr_assert_eq(rp_correlator_bind(c, "tok", "header:X-Token", &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_correlator_bind(c, "sid", "cookie:sid", &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_correlator_bind(c, "nonce", "html:input[name=nonce]", &err), RP_OK, "%s",
                 err.msg);
    cr_assert_eq(rp_correlator_bind(c, "csrf", "regex:csrf = '([a-z0-9]+)'", &err), RP_OK, "%s",
                 err.msg);
    fx_learn(c, xs, 2);
    cr_assert_eq(rp_correlator_count(c), 4);
    fx_expect(c, 0, 1, "header X-Token", 2, "header X-Auth", "ab");
    fx_expect(c, 1, 1, "cookie sid", 2, "header X-Sid", "q1");
    fx_expect(c, 2, 1, "html input nonce", 2, "form x", "n5");
    fx_expect(c, 3, 1, "body regex csrf = '([a-z0-9]+)'", 2, "form c", "k9");
    for (size_t k = 0; k < 4; k++) {
        cr_expect(rp_correlator_get(c, k)->bound);
    }

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "Content-Type: text/html\nX-Token: zz9\nSet-Cookie: sid=live7; Path=/",
            "<input type=hidden name=nonce value=LN1><script>var csrf = 'lk2';</script>");
    rp_corr_session_observe(s, 1, &live);
    fx_apply(s, &xs[1]);
    cr_expect_str_eq(rp_headers_get(&xs[1].req.headers, "X-Auth", NULL)->value, "zz9");
    cr_expect_str_eq(rp_headers_get(&xs[1].req.headers, "X-Sid", NULL)->value, "live7");
    char *body = fx_body(&xs[1].req);
    cr_expect_str_eq(body, "x=LN1&c=lk2");
    free(body);
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 2);
}

Test(correlate_sources, a_bind_place_that_is_not_known_is_a_usage_error)
{
    struct rp_correlator *c = rp_correlator_new();
    struct rp_error err = {0};
    const char *good[] = {"$.data.token",
                          "$.url#1",
                          "header:Location#3",
                          "header:Link#2",
                          "cookie:sid",
                          "html:meta[name=csrf-token]",
                          "html:select[name=project]",
                          "regex:id=([0-9]+)"};
    for (size_t k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
        cr_expect_eq(rp_correlator_bind(c, "g", good[k], &err), RP_OK, "%s: %s", good[k], err.msg);
    }
    const char *bad[] = {"data.token",   "header:", "html:div[name=x]", "regex:no group",
                         "regex:(a)(b)", "regex:(", "cookie:",          "$.a#x"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        cr_expect_eq(rp_correlator_bind(c, "b", bad[k], &err), RP_EUSAGE, "%s", bad[k]);
    }
    rp_correlator_free(c);
}

/* ----- printing places ---------------------------------------------------------------------- */

Test(correlate_sources, every_new_place_prints_readably)
{
    const struct {
        struct rp_location loc;
        const char *want;
    } cases[] = {
        {{RP_LOC_HTML_URL, "a href 0 /things/*/change/", 1},
         "html a href segment 1 of /things/*/change/"},
        {{RP_LOC_HTML_URL, "form action 2 /t/*", 1}, "html form action segment 1 of /t/* (link 3)"},
        {{RP_LOC_HTML_URL, "a href 0 /items/edit.php?id", 0},
         "html a href query id of /items/edit.php"},
        {{RP_LOC_HTML_SELECT, "project", 0}, "html select project"},
        {{RP_LOC_BODY_JSON_SEGMENT, "$.next?cursor", 0}, "body $.next query cursor"},
        {{RP_LOC_LINK_SEGMENT, "next?page", 0}, "header Link rel=next query page"},
        {{RP_LOC_BODY_JSON_SEGMENT, "$.url", 1}, "body $.url segment 1"},
        {{RP_LOC_LINK_SEGMENT, "", 2}, "header Link segment 2"},
        {{RP_LOC_LINK_SEGMENT, "next", 2}, "header Link rel=next segment 2"},
        {{RP_LOC_MULTIPART, "name", 0}, "multipart name"},
        {{RP_LOC_GRAPHQL_LITERAL, "$.query id", 0}, "graphql query literal id"},
        {{RP_LOC_GRAPHQL_LITERAL, "$.query id", 1}, "graphql query literal id #2"},
        {{RP_LOC_GRAPHQL_LITERAL, "$[1].query orderId", 0},
         "graphql query $[1].query literal orderId"},
        {{RP_LOC_BODY_REGEX, "t=([0-9]+)", 0}, "body regex t=([0-9]+)"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        char out[256];
        rp_location_format(&cases[k].loc, out, sizeof(out));
        cr_expect_str_eq(out, cases[k].want);
    }
}

/* ----- issue 10 gaps: tenant-rewritten links, fields named by a noun, tenant values ---------- */

/* A tenant rewrite as replay's: the path segment "acme" becomes "acme-r1-1". */
static char *fx_tenant_rewrite(void *ud, const char *text, size_t n, size_t *out_len)
{
    (void)ud;
    const char *at = NULL;
    for (size_t i = 0; i + 6 <= n && !at; i++) {
        if (memcmp(text + i, "/acme/", 6) == 0) {
            at = text + i;
        }
    }
    if (!at) {
        return NULL;
    }
    size_t pre = (size_t)(at - text);
    char *out = malloc(n + 6);
    cr_assert_not_null(out);
    memcpy(out, text, pre);
    memcpy(out + pre, "/acme-r1-1/", 11);
    memcpy(out + pre + 11, at + 6, n - pre - 6);
    *out_len = n + 5;
    out[*out_len] = '\0';
    return out;
}

Test(correlate_sources, a_link_is_found_in_a_live_page_of_the_rewritten_tenant)
{
    struct rp_exchange xs[2];
    fx_req(&xs[0], 1, "GET", "https://admin.test/t/acme/things/", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: text/html", "<a href=\"/t/acme/things/3/change/\">Box</a>");
    fx_req(&xs[1], 2, "GET", "https://admin.test/t/acme/things/3/change/", "", NULL);
    fx_resp(&xs[1], 200, "Content-Type: text/html", "<p>Box</p>");
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 2);
    cr_assert_eq(rp_correlator_count(c), 1);
    fx_expect(c, 0, 1, "html a href segment 3 of /t/acme/things/*/change/", 2, "path segment 3",
              "3");

    /* The fresh tenant's page links to the fresh tenant: without the rewrite, no link fits. */
    const char *page = "<a href=\"/t/acme-r1-1/things/11/change/\">Box</a>";
    struct rp_error err = {0};
    size_t missing = 0;
    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "Content-Type: text/html", page);
    rp_corr_session_observe(s, 1, &live);
    cr_assert_eq(rp_corr_session_apply(s, 2, &xs[1].req, &missing, &err), RP_OK);
    cr_expect_eq(missing, 1);
    cr_expect_str_eq(xs[1].req.url, "https://admin.test/t/acme/things/3/change/");
    rp_corr_session_free(s);

    /* With it, thing 11 (the URL's tenant is the tenant rules' business, not this). */
    s = rp_corr_session_new(c);
    rp_corr_session_rewrite(s, fx_tenant_rewrite, NULL);
    rp_corr_session_observe(s, 1, &live);
    cr_assert_eq(rp_corr_session_apply(s, 2, &xs[1].req, &missing, &err), RP_OK);
    cr_expect_eq(missing, 0);
    cr_expect_str_eq(xs[1].req.url, "https://admin.test/t/acme/things/11/change/");
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 2);
}

#define ADD_THING(project, quantity)                                                               \
    "--" BND "\r\n"                                                                                \
    "Content-Disposition: form-data; name=\"project\"\r\n"                                         \
    "\r\n" project "\r\n"                                                                          \
    "--" BND "\r\n"                                                                                \
    "Content-Disposition: form-data; name=\"quantity\"\r\n"                                        \
    "\r\n" quantity "\r\n"                                                                         \
    "--" BND "--\r\n"

Test(correlate_sources, a_link_id_fills_a_field_named_by_its_noun)
{
    struct rp_exchange xs[3];
    fx_req(&xs[0], 1, "GET", "https://admin.test/admin/tracker/project/", "", NULL);
    fx_resp(&xs[0], 200, "Content-Type: text/html",
            "<a href=\"/admin/tracker/project/3/change/\">roadmap</a>");
    fx_req(&xs[1], 2, "GET", "https://admin.test/admin/tracker/thing/add/", "", NULL);
    fx_resp(&xs[1], 200, "Content-Type: text/html",
            "<select name=\"project\"><option value=\"\">---</option>"
            "<option value=\"3\">roadmap</option></select>");
    fx_req(&xs[2], 3, "POST", "https://admin.test/admin/tracker/thing/add/",
           "Content-Type: multipart/form-data; boundary=" BND, ADD_THING("3", "3"));
    fx_resp(&xs[2], 302, "Location: /admin/tracker/thing/", NULL);
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 3);
    /* "project" names the link's noun; "quantity" names nothing a source gave. */
    cr_assert_eq(rp_correlator_count(c), 1);
    fx_expect(c, 0, 1, "html a href segment 3 of /admin/tracker/project/*/change/", 3,
              "multipart project", "3");

    struct rp_corr_session *s = rp_corr_session_new(c);
    struct rp_response live;
    fx_live(&live, "Content-Type: text/html",
            "<a href=\"/admin/tracker/project/12/change/\">roadmap</a>");
    rp_corr_session_observe(s, 1, &live);
    fx_apply(s, &xs[2]);
    char *body = fx_body(&xs[2].req);
    cr_expect_str_eq(body, ADD_THING("12", "3"));
    free(body);
    fx_live_cleanup(&live);
    rp_corr_session_free(s);
    rp_correlator_free(c);
    fx_cleanup(xs, 3);
}

#define GQL_CREATE_TENANT "{\"query\":\"mutation { createTenant(name: \\\"acme\\\") { id } }\"}"
#define GQL_PROJECT(t)                                                                             \
    "{\"query\":\"mutation($tenant: ID!) { createProject(tenant_id: $tenant) { id } }\","          \
    "\"variables\":{\"tenant\":\"" t "\"}}"
#define GQL_TENANT_INLINE(t) "{\"query\":\"{ Tenant(id: \\\"" t "\\\") { name } }\"}"

Test(correlate_sources, graphql_fields_named_tenant_are_ids_but_declared_tenants_are_not)
{
    struct rp_exchange xs[5];
    const char *json = "Content-Type: application/json";
    fx_req(&xs[0], 1, "POST", "https://gql.test/graphql", json, GQL_CREATE_TENANT);
    fx_resp(&xs[0], 200, json, "{\"data\":{\"createTenant\":{\"id\":\"3\"}}}");
    fx_req(&xs[1], 2, "POST", "https://gql.test/graphql", json, GQL_PROJECT("3"));
    fx_resp(&xs[1], 200, json, "{\"data\":{\"createProject\":{\"id\":\"4\",\"tenant_id\":\"3\"}}}");
    fx_req(&xs[2], 3, "POST", "https://gql.test/graphql", json, GQL_TENANT_INLINE("3"));
    fx_resp(&xs[2], 200, json, "{\"data\":{\"Tenant\":{\"name\":\"acme\"}}}");
    /* A tenant whose id is the declared tenant value t42. */
    fx_req(&xs[3], 4, "POST", "https://gql.test/graphql", json, GQL_CREATE_TENANT);
    fx_resp(&xs[3], 200, json, "{\"data\":{\"createTenant\":{\"id\":\"t42\"}}}");
    fx_req(&xs[4], 5, "POST", "https://gql.test/graphql", json, GQL_PROJECT("t42"));
    fx_resp(&xs[4], 200, json, "{}");

    struct rp_correlator *c = rp_correlator_new();
    rp_correlator_tenant(c, "t42");
    fx_learn(c, xs, 5);
    /* #2's response echoes the tenant #2 sent: #3's source is still #1. */
    cr_assert_eq(rp_correlator_count(c), 2);
    fx_expect(c, 0, 1, "body $.data.createTenant.id", 2, "body $.variables.tenant", "3");
    fx_expect(c, 1, 1, "body $.data.createTenant.id", 3, "graphql query literal id", "3");
    rp_correlator_free(c);

    /* Undeclared, t42 is a tenant's id like 3. */
    c = fx_learn(rp_correlator_new(), xs, 5);
    cr_assert_eq(rp_correlator_count(c), 3);
    fx_expect(c, 2, 4, "body $.data.createTenant.id", 5, "body $.variables.tenant", "t42");
    rp_correlator_free(c);
    fx_cleanup(xs, 5);
}

#define GQL_BY_ORDER_ID(id)                                                                        \
    "{\"query\":\"query($orderId: ID!) { order(id: $orderId) { total } }\","                       \
    "\"variables\":{\"orderId\":\"" id "\"}}"

Test(correlate_sources, an_order_id_comes_from_the_created_order_not_a_later_list)
{
    struct rp_exchange xs[3];
    const char *json = "Content-Type: application/json";
    fx_req(&xs[0], 1, "POST", "https://gql.test/graphql", json, GQL_CREATE);
    fx_resp(&xs[0], 200, json, "{\"data\":{\"createOrder\":{\"id\":\"3\"}}}");
    fx_req(&xs[1], 2, "POST", "https://gql.test/graphql", json,
           "{\"query\":\"{ orders { id } }\"}");
    fx_resp(&xs[1], 200, json, "{\"data\":{\"orders\":[{\"id\":\"3\"},{\"id\":\"4\"}]}}");
    fx_req(&xs[2], 3, "POST", "https://gql.test/graphql", json, GQL_BY_ORDER_ID("3"));
    fx_resp(&xs[2], 200, json, "{}");
    struct rp_correlator *c = fx_learn(rp_correlator_new(), xs, 3);
    cr_assert_eq(rp_correlator_count(c), 1);
    fx_expect(c, 0, 1, "body $.data.createOrder.id", 3, "body $.variables.orderId", "3");
    rp_correlator_free(c);
    fx_cleanup(xs, 3);
}
