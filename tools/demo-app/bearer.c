/* SPDX-License-Identifier: MIT */
/*
 * A bearer-token JSON API, as single-page and mobile apps use, under /api/v2/t/{tenant}/:
 *
 *   POST login   {"email","password"}  -> {"access_token","refresh_token","token_type",
 *                                           "expires_in"}: a new random pair per log-in
 *   POST refresh {"refresh_token"}      -> a NEW pair; the old refresh and access tokens stop
 *                                           working (rotation)
 *   GET  me                             -> {"tenant"}
 *   GET  notes, POST notes {"title"}    -> the tenant's notes; 201 with the new note
 *   GET, PATCH {"title"}, DELETE notes/ID
 *   GET  board                          -> columns and columnsById, keyed by random ids
 *                                           (also GET /t/{tenant}/api/board with the session)
 *
 * Every call but login and refresh takes the access token as "Authorization: Bearer TOKEN" or
 * in an "X-Auth-Token: TOKEN" header. Deliberately unsafe like the admin: notes/ID is the note
 * with that id whatever its tenant.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "demo.h"

#define EXPIRES_IN 900 /* seconds, as announced; tokens do not actually expire */

static cJSON *parse_body(const struct demo_request *rq, struct demo_reply *rep)
{
    cJSON *j = NULL;
    if (!memchr(rq->body, '\0', rq->body_len)) {
        j = cJSON_ParseWithOpts(rq->body, NULL, 1);
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        demo_reply_error(rep, 400, "body must be a JSON object");
        return NULL;
    }
    return j;
}

static const char *str_field(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void token_reply(struct demo_reply *rep, const char *access, const char *refresh)
{
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "access_token", access);
    cJSON_AddStringToObject(res, "refresh_token", refresh);
    cJSON_AddStringToObject(res, "token_type", "Bearer");
    cJSON_AddNumberToObject(res, "expires_in", EXPIRES_IN);
    demo_reply_json(rep, 200, res);
}

static void h_login(struct demo_app *app, const struct demo_request *rq, const char *tenant,
                    struct demo_reply *rep)
{
    cJSON *j = parse_body(rq, rep);
    if (!j) {
        return;
    }
    const char *email = str_field(j, "email");
    const char *password = str_field(j, "password");
    uint64_t tid = 0, uid = 0;
    char access[DEMO_BEARER_HEX + 1], refresh[DEMO_BEARER_HEX + 1];
    if (!email || !password || strlen(email) > DEMO_MAX_EMAIL ||
        strlen(password) > DEMO_MAX_PASSWORD ||
        demo_store_verify(app->store, tenant, email, password, &tid, &uid)) {
        demo_reply_error(rep, 401, "invalid credentials");
    } else if (demo_tok_issue(app->objs, tenant, access, refresh)) {
        demo_reply_error(rep, 500, "internal error");
    } else {
        token_reply(rep, access, refresh);
    }
    cJSON_Delete(j);
}

static void h_refresh(struct demo_app *app, const struct demo_request *rq, const char *tenant,
                      struct demo_reply *rep)
{
    cJSON *j = parse_body(rq, rep);
    if (!j) {
        return;
    }
    const char *old = str_field(j, "refresh_token");
    char access[DEMO_BEARER_HEX + 1], refresh[DEMO_BEARER_HEX + 1];
    if (!old || demo_tok_refresh(app->objs, tenant, old, access, refresh)) {
        demo_reply_error(rep, 401, "invalid refresh token");
    } else {
        token_reply(rep, access, refresh);
    }
    cJSON_Delete(j);
}

/* A note: {"id", "title", "url"}; the url is the note's own, as REST APIs often give. */
static cJSON *note_json(const struct demo_object *x)
{
    cJSON *n = cJSON_CreateObject();
    cJSON_AddNumberToObject(n, "id", (double)x->id);
    cJSON_AddStringToObject(n, "title", x->name);
    char url[128];
    snprintf(url, sizeof(url), "/api/v2/t/%s/notes/%" PRIu64, x->tenant, x->id);
    cJSON_AddStringToObject(n, "url", url);
    return n;
}

static const char *title_of(const cJSON *j, struct demo_reply *rep)
{
    const char *t = str_field(j, "title");
    if (!t || strlen(t) == 0 || strlen(t) > DEMO_MAX_NAME) {
        demo_reply_error(rep, 400, "title must be a string of 1 to 200 characters");
        return NULL;
    }
    return t;
}

void demo_board_reply(struct demo_app *app, const char *tenant, struct demo_reply *rep)
{
    char ids[3][16];
    demo_obj_columns(app->objs, tenant, ids);
    struct demo_object *v = NULL;
    size_t n = 0;
    demo_obj_list(app->objs, tenant, DEMO_NOTE, &v, &n);
    cJSON *res = cJSON_CreateObject();
    cJSON *cols = cJSON_AddArrayToObject(res, "columns");
    cJSON *by_id = cJSON_AddObjectToObject(res, "columnsById");
    for (size_t i = 0; i < 3; i++) {
        for (int copy = 0; copy < 2; copy++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "id", ids[i]);
            cJSON_AddStringToObject(c, "title", demo_column_title(i));
            cJSON *notes = cJSON_AddArrayToObject(c, "noteIds");
            /* Every note is in the first column. */
            for (size_t k = 0; i == 0 && k < n; k++) {
                cJSON_AddItemToArray(notes, cJSON_CreateNumber((double)v[k].id));
            }
            if (copy == 0) {
                cJSON_AddItemToArray(cols, c);
            } else {
                cJSON_AddItemToObject(by_id, ids[i], c);
            }
        }
    }
    free(v);
    demo_reply_json(rep, 200, res);
}

static bool parse_num(const char *s, uint64_t *out)
{
    size_t len = strlen(s);
    if (len == 0 || len > 19 || strspn(s, "0123456789") != len) {
        return false;
    }
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno || v == 0) {
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

/* The access token of the request: Authorization: Bearer X, else X-Auth-Token: X. */
static const char *access_token(const struct demo_request *rq)
{
    const char *a = rq->authorization;
    if (a && strncasecmp(a, "Bearer ", 7) == 0) {
        return a + 7 + strspn(a + 7, " ");
    }
    return rq->auth_token;
}

static bool is(const struct demo_request *rq, const char *m)
{
    return strcmp(rq->method, m) == 0 || (strcmp(m, "GET") == 0 && strcmp(rq->method, "HEAD") == 0);
}

static void not_allowed(struct demo_reply *rep, const char *allow)
{
    demo_reply_error(rep, 405, "method not allowed");
    rep->allow = allow;
}

static void notes_item(struct demo_app *app, const struct demo_request *rq, const char *tenant,
                       uint64_t id, struct demo_reply *rep)
{
    struct demo_object x;
    memset(&x, 0, sizeof(x));
    if (is(rq, "GET")) {
        if (demo_obj_get(app->objs, id, DEMO_NOTE, &x) || x.deleted) {
            demo_reply_error(rep, 404, "note not found");
        } else {
            demo_reply_json(rep, 200, note_json(&x));
        }
    } else if (is(rq, "PATCH")) {
        cJSON *j = parse_body(rq, rep);
        const char *t = j ? title_of(j, rep) : NULL;
        if (t && demo_obj_update(app->objs, tenant, id, DEMO_NOTE, t, 0, &x)) {
            demo_reply_error(rep, 404, "note not found");
        } else if (t) {
            demo_reply_json(rep, 200, note_json(&x));
        }
        cJSON_Delete(j);
    } else if (is(rq, "DELETE")) {
        if (demo_obj_delete(app->objs, tenant, id, DEMO_NOTE)) {
            demo_reply_error(rep, 404, "note not found");
        } else {
            rep->status = 204;
        }
    } else {
        not_allowed(rep, "GET, HEAD, PATCH, DELETE");
    }
}

static void notes_list(struct demo_app *app, const struct demo_request *rq, const char *tenant,
                       struct demo_reply *rep)
{
    if (is(rq, "POST")) {
        cJSON *j = parse_body(rq, rep);
        const char *t = j ? title_of(j, rep) : NULL;
        struct demo_object x;
        if (t) {
            enum demo_status st = demo_obj_create(app->objs, tenant, DEMO_NOTE, t, 0, 0, &x);
            if (st) {
                demo_reply_error(rep, 503, "too many objects");
            } else {
                demo_reply_json(rep, 201, note_json(&x));
                struct demo_buf b;
                demo_buf_init(&b, 256);
                demo_buf_addf(&b, "/api/v2/t/%s/notes/%" PRIu64, tenant, x.id);
                rep->location = demo_buf_take(&b, NULL);
            }
        }
        cJSON_Delete(j);
        return;
    }
    if (!is(rq, "GET")) {
        not_allowed(rep, "GET, HEAD, POST");
        return;
    }
    struct demo_object *v = NULL;
    size_t n = 0;
    demo_obj_list(app->objs, tenant, DEMO_NOTE, &v, &n);
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "notes");
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, note_json(&v[i]));
    }
    free(v);
    demo_reply_json(rep, 200, res);
}

void demo_bearer_route(struct demo_app *app, const struct demo_request *rq, struct demo_reply *rep)
{
    const char *name = rq->path + strlen("/api/v2/t/");
    const char *slash = strchr(name, '/');
    if (!slash || !demo_tenant_name_ok(name, (size_t)(slash - name))) {
        demo_reply_error(rep, 404, "not found");
        return;
    }
    char tenant[DEMO_MAX_TENANT_NAME + 1];
    memcpy(tenant, name, (size_t)(slash - name));
    tenant[slash - name] = '\0';
    const char *rest = slash + 1;

    if (strcmp(rest, "login") == 0 || strcmp(rest, "refresh") == 0) {
        if (!is(rq, "POST")) {
            not_allowed(rep, "POST");
        } else if (rest[0] == 'l') {
            h_login(app, rq, tenant, rep);
        } else {
            h_refresh(app, rq, tenant, rep);
        }
        return;
    }
    uint64_t id = 0;
    bool item = strncmp(rest, "notes/", 6) == 0;
    if (item && !parse_num(rest + 6, &id)) {
        demo_reply_error(rep, 404, "not found");
        return;
    }
    if (!item && strcmp(rest, "me") != 0 && strcmp(rest, "notes") != 0 &&
        strcmp(rest, "board") != 0) {
        demo_reply_error(rep, 404, "not found");
        return;
    }
    enum demo_status st = demo_tok_check(app->objs, tenant, access_token(rq));
    if (st == DEMO_NOT_LOGGED_IN) {
        demo_reply_error(rep, 401, "missing or invalid access token");
        return;
    }
    if (st) {
        demo_reply_error(rep, 404, "not found");
        return;
    }
    if (item) {
        notes_item(app, rq, tenant, id, rep);
    } else if (strcmp(rest, "notes") == 0) {
        notes_list(app, rq, tenant, rep);
    } else if (!is(rq, "GET")) {
        not_allowed(rep, "GET, HEAD");
    } else if (rest[0] == 'm') {
        cJSON *res = cJSON_CreateObject();
        cJSON_AddStringToObject(res, "tenant", tenant);
        demo_reply_json(rep, 200, res);
    } else {
        demo_board_reply(app, tenant, rep);
    }
}
