/* SPDX-License-Identifier: MIT */
/*
 * A server-rendered admin, as Django's or Rails' scaffolds are: HTML pages and form posts, no
 * JavaScript, ids only in links and form actions. Under /t/{tenant}/admin/:
 *
 *   login/                 GET the form; POST (urlencoded email, password) -> 303 things/
 *   things/                GET the tenant's things, each a link to things/ID/change/
 *   things/add/            GET the form; POST (urlencoded) -> 303 things/ (not the new thing)
 *   things/ID/change/      GET the form; POST (multipart/form-data) -> 303 things/
 *   things/ID/delete/      GET the confirmation; POST -> 303 things/
 *
 * Every form carries the session's CSRF token in a hidden csrfmiddlewaretoken field, and the
 * add and change forms a <select name="project"> whose selected option the server fills in.
 * Deliberately unsafe: change and delete act on the thing with that id whatever its tenant,
 * and a project of another tenant is accepted; only GET /__state shows such a write.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

#define CSRF_FIELD "csrfmiddlewaretoken"

static void page_start(struct demo_buf *b, const char *title)
{
    demo_buf_adds(b, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<title>");
    demo_buf_add_html(b, title);
    demo_buf_adds(b, " | demo admin</title>\n</head>\n<body>\n<h1>");
    demo_buf_add_html(b, title);
    demo_buf_adds(b, "</h1>\n");
}

static void page_finish(struct demo_buf *b, struct demo_reply *rep, unsigned status)
{
    demo_buf_adds(b, "</body>\n</html>\n");
    if (b->failed) {
        demo_buf_cleanup(b);
        demo_reply_text(rep, 500, DEMO_CT_TEXT, "page too large\n");
        return;
    }
    free(rep->body);
    rep->status = status;
    rep->content_type = DEMO_CT_HTML;
    rep->body = demo_buf_take(b, &rep->body_len);
}

static void simple_page(struct demo_reply *rep, unsigned status, const char *title,
                        const char *text)
{
    struct demo_buf b;
    demo_buf_init(&b, DEMO_MAX_PAGE);
    page_start(&b, title);
    demo_buf_adds(&b, "<p class=\"error\">");
    demo_buf_add_html(&b, text);
    demo_buf_adds(&b, "</p>\n");
    page_finish(&b, rep, status);
}

static void redirect(struct demo_reply *rep, unsigned status, const char *tenant, const char *where)
{
    struct demo_buf b;
    demo_buf_init(&b, 256);
    demo_buf_addf(&b, "/t/%s/admin/%s", tenant, where);
    rep->status = status;
    rep->content_type = NULL;
    rep->location = demo_buf_take(&b, NULL);
}

static void csrf_input(struct demo_buf *b, const char *csrf)
{
    demo_buf_addf(b, "<input type=\"hidden\" name=\"" CSRF_FIELD "\" value=\"%s\">\n", csrf);
}

static void project_select(struct demo_buf *b, struct demo_app *app, const char *tenant,
                           uint64_t selected)
{
    struct demo_project p[2];
    demo_obj_projects(app->objs, tenant, p);
    if (!selected) {
        selected = p[0].id; /* the tenant's current project */
    }
    demo_buf_adds(b, "<label>Project <select name=\"project\" id=\"id_project\">\n");
    for (size_t i = 0; i < 2; i++) {
        demo_buf_addf(b, "<option value=\"%" PRIu64 "\"%s>%s</option>\n", p[i].id,
                      p[i].id == selected ? " selected" : "", p[i].name);
    }
    demo_buf_adds(b, "</select></label>\n");
}

static bool parse_num(const char *s, size_t len, uint64_t *out)
{
    char digits[21];
    if (!s || len == 0 || len >= sizeof(digits) || strspn(s, "0123456789") < len) {
        return false;
    }
    memcpy(digits, s, len);
    digits[len] = '\0';
    errno = 0;
    unsigned long long v = strtoull(digits, NULL, 10);
    if (errno || v == 0) {
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

/* ------------------------------------------------------------------------------------------ */

static void login_page(struct demo_reply *rep, const char *tenant, unsigned status,
                       const char *error)
{
    struct demo_buf b;
    demo_buf_init(&b, DEMO_MAX_PAGE);
    page_start(&b, "Log in");
    if (error) {
        demo_buf_addf(&b, "<p class=\"error\">%s</p>\n", error);
    }
    demo_buf_addf(&b,
                  "<form method=\"post\" action=\"/t/%s/admin/login/\" id=\"login-form\">\n"
                  "<label>Email <input name=\"email\" type=\"email\"></label>\n"
                  "<label>Password <input name=\"password\" type=\"password\"></label>\n"
                  "<button type=\"submit\">Log in</button>\n</form>\n",
                  tenant);
    page_finish(&b, rep, status);
}

static void login_post(struct demo_app *app, const struct demo_request *rq, const char *tenant,
                       struct demo_reply *rep)
{
    struct demo_form f;
    if (!demo_form_parse(rq, &f)) {
        login_page(rep, tenant, 400, "the form was not understood");
        return;
    }
    const char *email = demo_form_get(&f, "email");
    const char *password = demo_form_get(&f, "password");
    char token[DEMO_TOKEN_HEX + 1], csrf[DEMO_TOKEN_HEX + 1];
    uint64_t user_id = 0;
    if (!email || !password || strlen(email) > DEMO_MAX_EMAIL ||
        strlen(password) > DEMO_MAX_PASSWORD ||
        demo_store_login(app->store, tenant, email, password, token, csrf, &user_id)) {
        demo_form_cleanup(&f);
        login_page(rep, tenant, 401, "invalid credentials");
        return;
    }
    demo_form_cleanup(&f);
    redirect(rep, 303, tenant, "things/");
    struct demo_buf b;
    demo_buf_init(&b, 256);
    demo_buf_addf(&b, "demo_session=%s; Path=/; HttpOnly; SameSite=Lax", token);
    rep->set_cookie = demo_buf_take(&b, NULL);
}

static void list_page(struct demo_app *app, const char *tenant, struct demo_reply *rep)
{
    struct demo_object *v = NULL;
    size_t n = 0;
    demo_obj_list(app->objs, tenant, DEMO_THING, &v, &n);
    struct demo_buf b;
    demo_buf_init(&b, DEMO_MAX_PAGE);
    page_start(&b, "Things");
    demo_buf_addf(&b, "<p><a href=\"/t/%s/admin/things/add/\" id=\"add\">Add thing</a></p>\n",
                  tenant);
    demo_buf_adds(&b, "<table id=\"things\">\n<tr><th>Name</th><th>Project</th></tr>\n");
    for (size_t i = 0; i < n; i++) {
        demo_buf_addf(&b, "<tr><td><a href=\"/t/%s/admin/things/%" PRIu64 "/change/\">", tenant,
                      v[i].id);
        demo_buf_add_html(&b, v[i].name);
        demo_buf_addf(&b, "</a></td><td>%" PRIu64 "</td></tr>\n", v[i].project);
    }
    demo_buf_adds(&b, "</table>\n");
    free(v);
    page_finish(&b, rep, 200);
}

static void add_page(struct demo_app *app, const char *tenant, const struct demo_session *sess,
                     struct demo_reply *rep)
{
    struct demo_buf b;
    demo_buf_init(&b, DEMO_MAX_PAGE);
    page_start(&b, "Add thing");
    demo_buf_addf(&b, "<form method=\"post\" action=\"/t/%s/admin/things/add/\" id=\"add-form\">\n",
                  tenant);
    csrf_input(&b, sess->csrf);
    demo_buf_adds(&b, "<label>Name <input name=\"name\" id=\"id_name\" value=\"\"></label>\n");
    project_select(&b, app, tenant, 0);
    demo_buf_adds(&b, "<button type=\"submit\">Save</button>\n</form>\n");
    page_finish(&b, rep, 200);
}

static void change_page(struct demo_app *app, const char *tenant, const struct demo_session *sess,
                        const struct demo_object *x, struct demo_reply *rep)
{
    struct demo_buf b;
    demo_buf_init(&b, DEMO_MAX_PAGE);
    page_start(&b, "Change thing");
    demo_buf_addf(&b,
                  "<form method=\"post\" action=\"/t/%s/admin/things/%" PRIu64 "/change/\" "
                  "enctype=\"multipart/form-data\" id=\"change-form\">\n",
                  tenant, x->id);
    csrf_input(&b, sess->csrf);
    demo_buf_adds(&b, "<label>Name <input name=\"name\" id=\"id_name\" value=\"");
    demo_buf_add_html(&b, x->name);
    demo_buf_adds(&b, "\"></label>\n");
    project_select(&b, app, tenant, x->project);
    demo_buf_adds(&b, "<button type=\"submit\">Save</button>\n</form>\n");
    demo_buf_addf(&b,
                  "<p><a href=\"/t/%s/admin/things/%" PRIu64 "/delete/\" id=\"delete\">"
                  "Delete</a></p>\n",
                  tenant, x->id);
    page_finish(&b, rep, 200);
}

static void delete_page(const char *tenant, const struct demo_session *sess,
                        const struct demo_object *x, struct demo_reply *rep)
{
    struct demo_buf b;
    demo_buf_init(&b, DEMO_MAX_PAGE);
    page_start(&b, "Delete thing");
    demo_buf_adds(&b, "<p>Delete &ldquo;");
    demo_buf_add_html(&b, x->name);
    demo_buf_addf(&b,
                  "&rdquo;?</p>\n<form method=\"post\" action=\"/t/%s/admin/things/%" PRIu64
                  "/delete/\" id=\"delete-form\">\n",
                  tenant, x->id);
    csrf_input(&b, sess->csrf);
    demo_buf_adds(&b, "<input type=\"hidden\" name=\"post\" value=\"yes\">\n"
                      "<button type=\"submit\">Yes, delete</button>\n</form>\n");
    page_finish(&b, rep, 200);
}

/* Parses a posted form and checks its CSRF field; sets the error page and returns false. */
static bool form_with_csrf(const struct demo_request *rq, const struct demo_session *sess,
                           struct demo_form *f, struct demo_reply *rep)
{
    if (!demo_form_parse(rq, f)) {
        simple_page(rep, 400, "Bad request", "the form was not understood");
        return false;
    }
    const char *c = demo_form_get(f, CSRF_FIELD);
    if (!c || strlen(c) != DEMO_TOKEN_HEX || !demo_equal_ct(c, sess->csrf, DEMO_TOKEN_HEX)) {
        demo_form_cleanup(f);
        simple_page(rep, 403, "Forbidden", "CSRF verification failed");
        return false;
    }
    return true;
}

/* The name and project fields of an add or change form; sets 400 and returns false. */
static bool thing_fields(struct demo_app *app, const struct demo_form *f, const char **name,
                         uint64_t *project, struct demo_reply *rep)
{
    *name = demo_form_get(f, "name");
    const char *p = demo_form_get(f, "project");
    if (!*name || strlen(*name) == 0 || strlen(*name) > DEMO_MAX_NAME) {
        simple_page(rep, 400, "Bad request", "name must have 1 to 200 characters");
        return false;
    }
    /* Any existing project is taken, another tenant's too: the bug a replay must not hit. */
    if (!p || !parse_num(p, strlen(p), project) || !demo_obj_project_exists(app->objs, *project)) {
        simple_page(rep, 400, "Bad request", "select a valid project");
        return false;
    }
    return true;
}

static bool method_ok(const struct demo_request *rq, struct demo_reply *rep, bool post_too)
{
    if (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0 ||
        (post_too && strcmp(rq->method, "POST") == 0)) {
        return true;
    }
    demo_reply_error(rep, 405, "method not allowed");
    rep->allow = post_too ? "GET, HEAD, POST" : "GET, HEAD";
    return false;
}

void demo_admin_route(struct demo_app *app, const struct demo_request *rq, const char *tenant,
                      const char *rest, struct demo_reply *rep)
{
    bool post = strcmp(rq->method, "POST") == 0;
    if (strcmp(rest, "/admin/login/") == 0) {
        if (!method_ok(rq, rep, true)) {
            return;
        }
        if (post) {
            login_post(app, rq, tenant, rep);
        } else {
            login_page(rep, tenant, 200, NULL);
        }
        return;
    }
    enum { LIST, ADD, CHANGE, DELETE } route;
    uint64_t id = 0;
    if (strcmp(rest, "/admin/things/") == 0 || strcmp(rest, "/admin/") == 0) {
        route = LIST;
    } else if (strcmp(rest, "/admin/things/add/") == 0) {
        route = ADD;
    } else if (strncmp(rest, "/admin/things/", 14) == 0) {
        const char *seg = rest + 14;
        const char *slash = strchr(seg, '/');
        if (!slash || !parse_num(seg, (size_t)(slash - seg), &id)) {
            simple_page(rep, 404, "Not found", "no such page");
            return;
        }
        if (strcmp(slash, "/change/") == 0) {
            route = CHANGE;
        } else if (strcmp(slash, "/delete/") == 0) {
            route = DELETE;
        } else {
            simple_page(rep, 404, "Not found", "no such page");
            return;
        }
    } else {
        simple_page(rep, 404, "Not found", "no such page");
        return;
    }
    if (!method_ok(rq, rep, route != LIST)) {
        return;
    }
    struct demo_session sess;
    enum demo_status st = demo_store_auth(app->store, rq->session, tenant, &sess);
    if (st == DEMO_NOT_LOGGED_IN) {
        redirect(rep, 302, tenant, "login/");
        return;
    }
    if (st) {
        simple_page(rep, 404, "Not found", "no such page");
        return;
    }
    struct demo_object x;
    memset(&x, 0, sizeof(x));
    if ((route == CHANGE || route == DELETE) &&
        (demo_obj_get(app->objs, id, DEMO_THING, &x) || x.deleted)) {
        simple_page(rep, 404, "Not found", "no such thing");
        return;
    }
    if (!post) {
        switch (route) {
        case LIST:
            list_page(app, tenant, rep);
            break;
        case ADD:
            add_page(app, tenant, &sess, rep);
            break;
        case CHANGE:
            change_page(app, tenant, &sess, &x, rep);
            break;
        case DELETE:
            delete_page(tenant, &sess, &x, rep);
            break;
        }
        return;
    }
    struct demo_form f;
    if (!form_with_csrf(rq, &sess, &f, rep)) {
        return;
    }
    const char *name = NULL;
    uint64_t project = 0;
    struct demo_object out;
    if (route == DELETE) {
        st = demo_obj_delete(app->objs, tenant, id, DEMO_THING);
    } else if (!thing_fields(app, &f, &name, &project, rep)) {
        demo_form_cleanup(&f);
        return;
    } else if (route == ADD) {
        st = demo_obj_create(app->objs, tenant, DEMO_THING, name, project, 0, &out);
    } else {
        st = demo_obj_update(app->objs, tenant, id, DEMO_THING, name, project, &out);
    }
    demo_form_cleanup(&f);
    if (st == DEMO_FULL) {
        simple_page(rep, 503, "Full", "too many objects");
    } else if (st) {
        simple_page(rep, 404, "Not found", "no such thing");
    } else {
        redirect(rep, 303, tenant, "things/");
    }
}
