/* SPDX-License-Identifier: MIT */
/*
 * The demo shop's router and JSON API: sign-up, log-in and log-out, and under /t/{tenant}/api/
 * the products, orders and payments of the tenant the session belongs to. Handlers fill a
 * struct demo_reply; demo.c turns it into an HTTP response.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "demo.h"

#define ALLOW_GET      "GET, HEAD"
#define ALLOW_POST     "POST"
#define ALLOW_GET_POST "GET, HEAD, POST"

/* ------------------------------------------------------------------------------------------ */
/* Replies. */

void demo_reply_cleanup(struct demo_reply *rep)
{
    free(rep->body);
    free(rep->location);
    free(rep->set_cookie);
    memset(rep, 0, sizeof(*rep));
}

/* Sets a JSON reply and takes j. cJSON allocates with malloc (no hooks are installed), so the
 * printed text is freed with free() like every other body. */
static void reply_json(struct demo_reply *rep, unsigned status, cJSON *j)
{
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) {
        fprintf(stderr, "reprise-demo: out of memory printing JSON\n");
        abort();
    }
    free(rep->body);
    rep->status = status;
    rep->content_type = DEMO_CT_JSON;
    rep->body = text;
    rep->body_len = strlen(text);
}

void demo_reply_json(struct demo_reply *rep, unsigned status, cJSON *j)
{
    reply_json(rep, status, j);
}

void demo_reply_error(struct demo_reply *rep, unsigned status, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", msg);
    reply_json(rep, status, j);
}

void demo_reply_text(struct demo_reply *rep, unsigned status, const char *ctype, const char *text)
{
    free(rep->body);
    rep->status = status;
    rep->content_type = ctype;
    rep->body_len = strlen(text);
    rep->body = demo_xstrndup(text, rep->body_len);
}

static bool method_is(const struct demo_request *rq, const char *m)
{
    return strcmp(rq->method, m) == 0;
}

/* Checks the method against an Allow list; sets 405 and returns false when it is not in it. */
static bool method_ok(const struct demo_request *rq, struct demo_reply *rep, const char *allow)
{
    bool ok = false;
    if (strcmp(allow, ALLOW_POST) == 0) {
        ok = method_is(rq, "POST");
    } else {
        ok = method_is(rq, "GET") || method_is(rq, "HEAD") ||
             (strcmp(allow, ALLOW_GET_POST) == 0 && method_is(rq, "POST"));
    }
    if (!ok) {
        demo_reply_error(rep, 405, "method not allowed");
        rep->allow = allow;
    }
    return ok;
}

/* ------------------------------------------------------------------------------------------ */
/* Request bodies. */

/* Parses the body as a JSON object, or sets a 400 reply and returns NULL. */
static cJSON *parse_object(const struct demo_request *rq, struct demo_reply *rep)
{
    /* cJSON stops at a NUL, which would hide whatever follows it. */
    if (memchr(rq->body, '\0', rq->body_len)) {
        demo_reply_error(rep, 400, "body is not valid JSON");
        return NULL;
    }
    cJSON *j = cJSON_ParseWithOpts(rq->body, NULL, 1);
    if (!j) {
        demo_reply_error(rep, 400, "body is not valid JSON");
        return NULL;
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        demo_reply_error(rep, 400, "body must be a JSON object");
        return NULL;
    }
    return j;
}

static const char *get_string(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A JSON number that is a whole number in 0..max. */
static bool get_uint(const cJSON *v, uint64_t max, uint64_t *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > (double)max) {
        return false;
    }
    uint64_t u = (uint64_t)v->valuedouble;
    if ((double)u != v->valuedouble) {
        return false;
    }
    *out = u;
    return true;
}

/* Parses a path segment of 1..20 digits as an id of at least 1. */
static bool parse_id(const char *s, size_t len, uint64_t *out)
{
    char digits[21];
    if (len == 0 || len >= sizeof(digits)) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    memcpy(digits, s, len);
    digits[len] = '\0';
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(digits, &end, 10);
    if (errno || end != digits + len || v == 0) {
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* JSON views of the model. */

static double to_price(uint64_t cents)
{
    return (double)cents / 100.0;
}

static void add_time(cJSON *obj, const char *key, time_t t)
{
    char iso[21];
    demo_time_iso(t, iso);
    cJSON_AddStringToObject(obj, key, iso);
}

/* --noise: what real APIs vary between tenants, chosen by the tenant's id so that a test knows
 * which tenant gets what: discount null (or 0.5 when id % 3 is 1), gift_note missing (id % 3 is
 * 0), channel "app" instead of "web" and points the string "12" instead of 12 (id % 3 is 2),
 * tags empty (unless id % 3 is 1). */
static void add_noise(cJSON *j, uint64_t tenant_id)
{
    unsigned k = (unsigned)(tenant_id % 3);
    if (k == 1) {
        cJSON_AddNumberToObject(j, "discount", 0.5);
    } else {
        cJSON_AddNullToObject(j, "discount");
    }
    if (k != 0) {
        cJSON_AddStringToObject(j, "gift_note", "thank you");
    }
    cJSON_AddStringToObject(j, "channel", k == 2 ? "app" : "web");
    if (k == 2) {
        cJSON_AddStringToObject(j, "points", "12");
    } else {
        cJSON_AddNumberToObject(j, "points", 12);
    }
    cJSON *tags = cJSON_AddArrayToObject(j, "tags");
    if (k == 1) {
        cJSON_AddItemToArray(tags, cJSON_CreateString("new"));
    }
}

/* An order object. With drift each item's price is a string with two decimals: the deliberate
 * regression a replay should catch. Totals are summed in cents so they print exactly. */
static cJSON *order_json(const struct demo_order *o, const struct demo_app *app)
{
    bool drift = app->drift;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)o->id);
    cJSON_AddStringToObject(j, "status", o->paid ? "paid" : "pending");
    cJSON *items = cJSON_AddArrayToObject(j, "items");
    uint64_t total = 0;
    for (size_t i = 0; i < o->n_items; i++) {
        const struct demo_item *it = &o->items[i];
        cJSON *item = cJSON_CreateObject();
        cJSON_AddNumberToObject(item, "product_id", (double)it->product_id);
        cJSON_AddStringToObject(item, "name", it->name);
        if (drift) {
            char price[32];
            snprintf(price, sizeof(price), "%" PRIu64 ".%02" PRIu64, it->price_cents / 100,
                     it->price_cents % 100);
            cJSON_AddStringToObject(item, "price", price);
        } else {
            cJSON_AddNumberToObject(item, "price", to_price(it->price_cents));
        }
        cJSON_AddNumberToObject(item, "quantity", (double)it->quantity);
        cJSON_AddItemToArray(items, item);
        total += it->price_cents * it->quantity;
    }
    cJSON_AddNumberToObject(j, "total", to_price(total));
    cJSON_AddStringToObject(j, "currency", "EUR");
    add_time(j, "created_at", o->created_at);
    if (o->paid) {
        add_time(j, "paid_at", o->paid_at);
    } else {
        cJSON_AddNullToObject(j, "paid_at");
    }
    if (app->noise) {
        add_noise(j, o->tenant_id);
    }
    return j;
}

static cJSON *user_json(uint64_t id, const char *email)
{
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "id", (double)id);
    cJSON_AddStringToObject(u, "email", email);
    return u;
}

/* ------------------------------------------------------------------------------------------ */
/* Sign-up, log-in, log-out. */

/* The three credential fields, checked for presence and size; sets 400 on failure. */
static bool credentials(const cJSON *j, struct demo_reply *rep, const char **tenant,
                        const char **email, const char **password)
{
    *tenant = get_string(j, "tenant");
    *email = get_string(j, "email");
    *password = get_string(j, "password");
    if (!*tenant || !*email || !*password) {
        demo_reply_error(rep, 400, "tenant, email and password are required strings");
        return false;
    }
    if (!demo_tenant_name_ok(*tenant, strlen(*tenant))) {
        demo_reply_error(rep, 400,
                         "tenant must be 1-63 characters of a-z, 0-9 and '-', not starting or "
                         "ending with '-'");
        return false;
    }
    size_t elen = strlen(*email);
    if (elen > DEMO_MAX_EMAIL || !strchr(*email, '@')) {
        demo_reply_error(rep, 400, "email must contain '@' and have at most 254 characters");
        return false;
    }
    size_t plen = strlen(*password);
    if (plen == 0 || plen > DEMO_MAX_PASSWORD) {
        demo_reply_error(rep, 400, "password must have 1 to 1024 characters");
        return false;
    }
    return true;
}

static void h_signup(struct demo_app *app, const struct demo_request *rq, struct demo_reply *rep)
{
    const char *tenant = NULL, *email = NULL, *password = NULL;
    cJSON *j = parse_object(rq, rep);
    if (!j || !credentials(j, rep, &tenant, &email, &password)) {
        goto out;
    }
    struct demo_signup su;
    enum demo_status st = demo_store_signup(app->store, tenant, email, password, &su);
    if (st == DEMO_EXISTS) {
        demo_reply_error(rep, 409, "tenant already exists");
        goto out;
    }
    if (st == DEMO_FULL) {
        demo_reply_error(rep, 503, "too many tenants");
        goto out;
    }
    if (st) {
        demo_reply_error(rep, 500, "internal error");
        goto out;
    }
    cJSON *res = cJSON_CreateObject();
    cJSON *t = cJSON_AddObjectToObject(res, "tenant");
    cJSON_AddNumberToObject(t, "id", (double)su.tenant_id);
    cJSON_AddStringToObject(t, "name", tenant);
    add_time(t, "created_at", su.created_at);
    cJSON_AddItemToObject(res, "user", user_json(su.user_id, email));
    reply_json(rep, 201, res);
out:
    cJSON_Delete(j);
}

static void h_login(struct demo_app *app, const struct demo_request *rq, struct demo_reply *rep)
{
    const char *tenant = NULL, *email = NULL, *password = NULL;
    cJSON *j = parse_object(rq, rep);
    if (!j || !credentials(j, rep, &tenant, &email, &password)) {
        goto out;
    }
    char token[DEMO_TOKEN_HEX + 1], csrf[DEMO_TOKEN_HEX + 1];
    uint64_t user_id = 0;
    enum demo_status st =
        demo_store_login(app->store, tenant, email, password, token, csrf, &user_id);
    if (st == DEMO_BAD_CREDENTIALS) {
        demo_reply_error(rep, 401, "invalid credentials");
        goto out;
    }
    if (st) {
        demo_reply_error(rep, 500, "internal error");
        goto out;
    }
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "csrf_token", csrf);
    cJSON_AddStringToObject(res, "tenant", tenant);
    cJSON_AddItemToObject(res, "user", user_json(user_id, email));
    reply_json(rep, 200, res);
    struct demo_buf b;
    demo_buf_init(&b, 256);
    demo_buf_addf(&b, "demo_session=%s; Path=/; HttpOnly; SameSite=Lax", token);
    rep->set_cookie = demo_buf_take(&b, NULL);
out:
    cJSON_Delete(j);
}

static void h_logout(struct demo_app *app, const struct demo_request *rq, struct demo_reply *rep)
{
    if (rq->session) {
        demo_store_logout(app->store, rq->session);
    }
    rep->status = 204;
    const char *clear = "demo_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0";
    rep->set_cookie = demo_xstrndup(clear, strlen(clear));
}

/* ------------------------------------------------------------------------------------------ */
/* The tenant API. Every handler runs after the session was checked against the tenant. */

static bool csrf_ok(const struct demo_request *rq, const struct demo_session *sess,
                    struct demo_reply *rep)
{
    if (!rq->csrf || strlen(rq->csrf) != DEMO_TOKEN_HEX ||
        !demo_equal_ct(rq->csrf, sess->csrf, DEMO_TOKEN_HEX)) {
        demo_reply_error(rep, 403, "missing or invalid X-CSRF-Token");
        return false;
    }
    return true;
}

static void h_products(struct demo_reply *rep)
{
    size_t n = 0;
    const struct demo_product *p = demo_products(&n);
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "products");
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)p[i].id);
        cJSON_AddStringToObject(o, "name", p[i].name);
        cJSON_AddNumberToObject(o, "price", to_price(p[i].price_cents));
        cJSON_AddStringToObject(o, "currency", "EUR");
        cJSON_AddItemToArray(arr, o);
    }
    reply_json(rep, 200, res);
}

static void h_order_create(struct demo_app *app, const struct demo_request *rq, const char *tenant,
                           const struct demo_session *sess, struct demo_reply *rep)
{
    struct demo_line lines[DEMO_MAX_ITEMS];
    struct demo_order order;
    memset(&order, 0, sizeof(order));
    cJSON *j = parse_object(rq, rep);
    if (!j) {
        goto out;
    }
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
    int n = cJSON_GetArraySize(items);
    if (!cJSON_IsArray(items) || n == 0) {
        demo_reply_error(rep, 400, "items must be a non-empty array");
        goto out;
    }
    if (n > DEMO_MAX_ITEMS) {
        demo_reply_error(rep, 400, "too many items (at most 100)");
        goto out;
    }
    size_t i = 0;
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, items)
    {
        uint64_t pid = 0, qty = 0;
        if (!cJSON_IsObject(item) ||
            !get_uint(cJSON_GetObjectItemCaseSensitive(item, "product_id"), UINT32_MAX, &pid)) {
            demo_reply_error(rep, 400, "each item needs an integer product_id");
            goto out;
        }
        if (!get_uint(cJSON_GetObjectItemCaseSensitive(item, "quantity"), DEMO_MAX_QUANTITY,
                      &qty) ||
            qty == 0) {
            demo_reply_error(rep, 400, "quantity must be an integer from 1 to 1000");
            goto out;
        }
        lines[i].product_id = pid;
        lines[i].quantity = qty;
        i++;
    }
    enum demo_status st = demo_store_order_create(app->store, sess->tenant_id, lines, i, &order);
    if (st == DEMO_FULL) {
        demo_reply_error(rep, 503, "too many orders");
        goto out;
    }
    if (st == DEMO_BAD_INPUT) {
        demo_reply_error(rep, 400, "unknown product");
        goto out;
    }
    if (st) {
        demo_reply_error(rep, 404, "not found");
        goto out;
    }
    reply_json(rep, 201, order_json(&order, app));
    struct demo_buf b;
    demo_buf_init(&b, 256);
    demo_buf_addf(&b, "/t/%s/api/orders/%" PRIu64, tenant, order.id);
    rep->location = demo_buf_take(&b, NULL);
out:
    demo_order_cleanup(&order);
    cJSON_Delete(j);
}

static void h_order_get(struct demo_app *app, uint64_t id, const struct demo_session *sess,
                        struct demo_reply *rep)
{
    struct demo_order order;
    memset(&order, 0, sizeof(order));
    if (demo_store_order_get(app->store, sess->tenant_id, id, &order)) {
        demo_reply_error(rep, 404, "order not found");
        return;
    }
    reply_json(rep, 200, order_json(&order, app));
    demo_order_cleanup(&order);
}

/* --leak's isolation bug: the session was checked, the order's tenant is not. */
static void h_order_get_any(struct demo_app *app, uint64_t id, struct demo_reply *rep)
{
    struct demo_order order;
    memset(&order, 0, sizeof(order));
    if (demo_store_order_get_any(app->store, id, &order)) {
        demo_reply_error(rep, 404, "order not found");
        return;
    }
    reply_json(rep, 200, order_json(&order, app));
    demo_order_cleanup(&order);
}

static void h_order_pay(struct demo_app *app, const struct demo_request *rq, uint64_t id,
                        const struct demo_session *sess, struct demo_reply *rep)
{
    struct demo_order order;
    memset(&order, 0, sizeof(order));
    cJSON *j = NULL;
    /* The body is optional; when there is one it must be an object whose "method", if given,
     * is a short string. */
    size_t skip = strspn(rq->body, " \t\r\n");
    if (skip < rq->body_len) {
        j = parse_object(rq, rep);
        if (!j) {
            goto out;
        }
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "method");
        if (m && (!cJSON_IsString(m) || strlen(m->valuestring) == 0 ||
                  strlen(m->valuestring) > DEMO_MAX_PAY_METHOD)) {
            demo_reply_error(rep, 400, "method must be a string of 1 to 32 characters");
            goto out;
        }
    }
    enum demo_status st = demo_store_order_pay(app->store, sess->tenant_id, id, &order);
    if (st == DEMO_CONFLICT) {
        demo_reply_error(rep, 409, "order already paid");
        goto out;
    }
    if (st) {
        demo_reply_error(rep, 404, "order not found");
        goto out;
    }
    reply_json(rep, 200, order_json(&order, app));
out:
    demo_order_cleanup(&order);
    cJSON_Delete(j);
}

/* The list goes out chunked (demo.c streams it): a packet-capture test needs one such reply. */
static void h_order_list(struct demo_app *app, const struct demo_session *sess,
                         struct demo_reply *rep)
{
    struct demo_order *v = NULL;
    size_t n = 0;
    demo_store_order_list(app->store, sess->tenant_id, &v, &n);
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "orders");
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, order_json(&v[i], app));
    }
    demo_orders_free(v, n);
    reply_json(rep, 200, res);
    rep->chunked = true;
}

/* ------------------------------------------------------------------------------------------ */
/* Routing. */

enum api_route { R_PRODUCTS, R_ORDERS, R_ORDER, R_PAY };

/* Matches what follows /t/{tenant}/api/ against the four API routes. */
static bool match_api(const char *rest, enum api_route *route, uint64_t *id)
{
    if (strcmp(rest, "products") == 0) {
        *route = R_PRODUCTS;
        return true;
    }
    if (strcmp(rest, "orders") == 0) {
        *route = R_ORDERS;
        return true;
    }
    if (strncmp(rest, "orders/", 7) != 0) {
        return false;
    }
    const char *seg = rest + 7;
    const char *slash = strchr(seg, '/');
    size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
    if (!parse_id(seg, len, id)) {
        return false;
    }
    if (!slash) {
        *route = R_ORDER;
        return true;
    }
    if (strcmp(slash, "/pay") == 0) {
        *route = R_PAY;
        return true;
    }
    return false;
}

static void route_tenant(struct demo_app *app, const struct demo_request *rq,
                         struct demo_reply *rep)
{
    const char *name = rq->path + 3;
    const char *slash = strchr(name, '/');
    size_t len = slash ? (size_t)(slash - name) : strlen(name);
    if (!demo_tenant_name_ok(name, len)) {
        demo_reply_error(rep, 404, "not found");
        return;
    }
    char tenant[DEMO_MAX_TENANT_NAME + 1];
    memcpy(tenant, name, len);
    tenant[len] = '\0';

    if (!slash) {
        /* /t/acme: the dashboard lives at /t/acme/, so relative links work there. */
        if (!method_ok(rq, rep, ALLOW_GET)) {
            return;
        }
        struct demo_buf b;
        demo_buf_init(&b, 256);
        demo_buf_addf(&b, "/t/%s/", tenant);
        rep->status = 302;
        rep->location = demo_buf_take(&b, NULL);
        return;
    }
    if (strcmp(slash, "/") == 0) {
        if (method_ok(rq, rep, ALLOW_GET)) {
            demo_page_dashboard(app, rq, tenant, rep);
        }
        return;
    }
    if (strncmp(slash, "/admin/", 7) == 0) {
        demo_admin_route(app, rq, tenant, slash, rep);
        return;
    }
    if (strcmp(slash, "/graphql") == 0) {
        demo_graphql_route(app, rq, tenant, rep);
        return;
    }
    if (strcmp(slash, "/api/board") == 0) {
        /* The bearer API's board, with the session cookie instead of a token. */
        struct demo_session bs;
        enum demo_status bst = demo_store_auth(app->store, rq->session, tenant, &bs);
        if (!method_ok(rq, rep, ALLOW_GET)) {
            return;
        }
        if (bst == DEMO_NOT_LOGGED_IN) {
            demo_reply_error(rep, 401, "not logged in");
        } else if (bst) {
            demo_reply_error(rep, 404, "not found");
        } else {
            demo_board_reply(app, tenant, rep);
        }
        return;
    }
    enum api_route route;
    uint64_t id = 0;
    if (strncmp(slash, "/api/", 5) != 0 || !match_api(slash + 5, &route, &id)) {
        demo_reply_error(rep, 404, "not found");
        return;
    }
    static const char *const allow[] = {
        [R_PRODUCTS] = ALLOW_GET,
        [R_ORDERS] = ALLOW_GET_POST,
        [R_ORDER] = ALLOW_GET,
        [R_PAY] = ALLOW_POST,
    };
    if (!method_ok(rq, rep, allow[route])) {
        return;
    }
    struct demo_session sess;
    enum demo_status st = demo_store_auth(app->store, rq->session, tenant, &sess);
    if (st == DEMO_NOT_LOGGED_IN) {
        demo_reply_error(rep, 401, "not logged in");
        return;
    }
    if (app->leak && route == R_ORDER) {
        /* --leak: any valid session reads any order, whatever the tenants. */
        h_order_get_any(app, id, rep);
        return;
    }
    if (st) {
        demo_reply_error(rep, 404, "not found");
        return;
    }
    bool post = method_is(rq, "POST");
    if (post && !csrf_ok(rq, &sess, rep)) {
        return;
    }
    switch (route) {
    case R_PRODUCTS:
        h_products(rep);
        break;
    case R_ORDERS:
        if (post) {
            h_order_create(app, rq, tenant, &sess, rep);
        } else {
            h_order_list(app, &sess, rep);
        }
        break;
    case R_ORDER:
        h_order_get(app, id, &sess, rep);
        break;
    case R_PAY:
        h_order_pay(app, rq, id, &sess, rep);
        break;
    }
}

void demo_route(struct demo_app *app, const struct demo_request *rq, struct demo_reply *rep)
{
    const char *p = rq->path;
    if (strcmp(p, "/") == 0) {
        if (method_ok(rq, rep, ALLOW_GET)) {
            demo_page_home(rep);
        }
    } else if (strcmp(p, "/healthz") == 0) {
        if (method_ok(rq, rep, ALLOW_GET)) {
            demo_reply_text(rep, 200, DEMO_CT_TEXT, "ok\n");
        }
    } else if (strcmp(p, "/api/signup") == 0) {
        if (method_ok(rq, rep, ALLOW_POST)) {
            h_signup(app, rq, rep);
        }
    } else if (strcmp(p, "/api/login") == 0) {
        if (method_ok(rq, rep, ALLOW_POST)) {
            h_login(app, rq, rep);
        }
    } else if (strcmp(p, "/api/logout") == 0) {
        if (method_ok(rq, rep, ALLOW_POST)) {
            h_logout(app, rq, rep);
        }
    } else if (strncmp(p, "/t/", 3) == 0) {
        route_tenant(app, rq, rep);
    } else if (strncmp(p, "/api/v2/t/", 10) == 0) {
        demo_bearer_route(app, rq, rep);
    } else if (strcmp(p, "/__state") == 0) {
        /* For tests: every object of the real-application modes and the audit log. */
        if (method_ok(rq, rep, ALLOW_GET)) {
            reply_json(rep, 200, demo_obj_state(app->objs));
        }
    } else {
        demo_reply_error(rep, 404, "not found");
    }
}
