/* SPDX-License-Identifier: MIT */
/*
 * A GraphQL endpoint, POST /t/{tenant}/graphql, for a fixed small schema:
 *
 *   type Order { id: ID!  status: String!  product: String!  quantity: Int! }
 *   type Query    { order(id: ID!): Order   orders: [Order!]! }
 *   type Mutation { createOrder(input: OrderInput!): Order!   payOrder(id: ID!): Order!
 *                   refundOrder(id: ID!): Order! }
 *   input OrderInput { product: String!  quantity: Int }
 *
 * The body is {"query", "variables", "operationName"} or a batch (an array of them, at most
 * MAX_BATCH). The parser is a bounded recursive descent over just what this needs: operations
 * (query or mutation, named or not, with variable definitions that are read and ignored),
 * fields with aliases and arguments, and literal or $variable values (strings, integers,
 * booleans, null, enums, lists, input objects); fragments and directives are syntax errors.
 * Variables are substituted while parsing. Answers follow the GraphQL spec's shape: "data"
 * and/or "errors":[{"message"}], HTTP 200. Session cookie and X-CSRF-Token as the JSON API.
 * Deliberately unsafe: order(id), payOrder(id) and refundOrder(id) take any tenant's order.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "demo.h"

#define MAX_QUERY  (16 * 1024)
#define MAX_BATCH  10
#define MAX_OPS    8
#define MAX_FIELDS 16 /* per selection set */
#define MAX_ARGS   8
#define MAX_DEPTH  8 /* selection sets and values nested */
#define MAX_NAME   64
#define MAX_TOKENS 4096

struct field {
    char alias[MAX_NAME];
    char name[MAX_NAME];
    size_t n_args;
    char arg_names[MAX_ARGS][MAX_NAME];
    cJSON *arg_values[MAX_ARGS];
    size_t n_sub;
    struct field *sub; /* MAX_FIELDS of them when there is a selection set */
    bool has_sub;
};

struct op {
    bool mutation;
    char name[MAX_NAME];
    size_t n_fields;
    struct field fields[MAX_FIELDS];
};

enum tok { T_EOF, T_PUNCT, T_NAME, T_STRING, T_INT, T_FLOAT, T_ERROR };

struct parser {
    const char *s;
    size_t len, pos;
    enum tok t;
    char text[256]; /* the current token's text (a string's decoded value) */
    char punct;
    size_t n_tokens;
    const cJSON *vars;
    char error[160];
};

/* ------------------------------------------------------------------------------------------ */
/* The lexer. */

static bool fail(struct parser *p, const char *msg)
{
    if (!p->error[0]) {
        snprintf(p->error, sizeof(p->error), "Syntax Error: %s (at offset %zu)", msg, p->pos);
    }
    p->t = T_ERROR;
    return false;
}

static bool is_name_char(char c, bool first)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (!first && c >= '0' && c <= '9');
}

static bool next(struct parser *p)
{
    if (p->t == T_ERROR) {
        return false;
    }
    if (++p->n_tokens > MAX_TOKENS) {
        return fail(p, "too many tokens");
    }
    /* Whitespace, commas and # comments are insignificant. */
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
            p->pos++;
        } else if (c == '#') {
            while (p->pos < p->len && p->s[p->pos] != '\n') {
                p->pos++;
            }
        } else {
            break;
        }
    }
    p->text[0] = '\0';
    if (p->pos >= p->len) {
        p->t = T_EOF;
        return true;
    }
    char c = p->s[p->pos];
    if (strchr("{}()[]:$!=@", c)) {
        p->t = T_PUNCT;
        p->punct = c;
        p->pos++;
        return true;
    }
    size_t n = 0;
    if (is_name_char(c, true)) {
        while (p->pos < p->len && is_name_char(p->s[p->pos], false)) {
            if (n + 1 >= MAX_NAME) {
                return fail(p, "name too long");
            }
            p->text[n++] = p->s[p->pos++];
        }
        p->text[n] = '\0';
        p->t = T_NAME;
        return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        bool is_float = false;
        while (p->pos < p->len && strchr("-+0123456789.eE", p->s[p->pos])) {
            if (n + 1 >= 32) {
                return fail(p, "number too long");
            }
            is_float = is_float || strchr(".eE", p->s[p->pos]);
            p->text[n++] = p->s[p->pos++];
        }
        p->text[n] = '\0';
        p->t = is_float ? T_FLOAT : T_INT;
        return true;
    }
    if (c == '"') {
        p->pos++;
        if (p->pos + 1 < p->len && p->s[p->pos] == '"' && p->s[p->pos + 1] == '"') {
            return fail(p, "block strings are not supported");
        }
        while (p->pos < p->len && p->s[p->pos] != '"') {
            char ch = p->s[p->pos++];
            if (ch == '\n' || ch == '\r') {
                return fail(p, "unterminated string");
            }
            if (ch == '\\') {
                if (p->pos >= p->len) {
                    return fail(p, "unterminated string");
                }
                char e = p->s[p->pos++];
                const char *from = "\"\\/bfnrt";
                const char *to = "\"\\/\b\f\n\r\t";
                const char *k = strchr(from, e);
                if (!k || !e) {
                    return fail(p, "unsupported escape in a string");
                }
                ch = to[k - from];
            }
            if (n + 1 >= sizeof(p->text)) {
                return fail(p, "string too long");
            }
            p->text[n++] = ch;
        }
        if (p->pos >= p->len) {
            return fail(p, "unterminated string");
        }
        p->pos++;
        p->text[n] = '\0';
        p->t = T_STRING;
        return true;
    }
    if (c == '.') {
        return fail(p, "fragments are not supported");
    }
    return fail(p, "unexpected character");
}

/* Copies a name token (the lexer keeps them under MAX_NAME bytes) into a MAX_NAME buffer. */
static void copy_name(char *dst, const char *src)
{
    size_t n = strnlen(src, MAX_NAME - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool is_punct(const struct parser *p, char c)
{
    return p->t == T_PUNCT && p->punct == c;
}

static bool expect(struct parser *p, char c)
{
    if (!is_punct(p, c)) {
        char msg[32];
        snprintf(msg, sizeof(msg), "expected '%c'", c);
        return fail(p, msg);
    }
    return next(p);
}

/* ------------------------------------------------------------------------------------------ */
/* The parser. */

/* A value; a $variable is replaced by a copy of its value in the request (null if absent). */
static cJSON *parse_value(struct parser *p, unsigned depth)
{
    if (depth > MAX_DEPTH) {
        fail(p, "values nested too deeply");
        return NULL;
    }
    cJSON *v = NULL;
    if (is_punct(p, '$')) {
        if (!next(p) || p->t != T_NAME) {
            fail(p, "expected a variable name");
            return NULL;
        }
        const cJSON *given = cJSON_GetObjectItemCaseSensitive(p->vars, p->text);
        v = given ? cJSON_Duplicate(given, 1) : cJSON_CreateNull();
    } else if (p->t == T_STRING) {
        v = cJSON_CreateString(p->text);
    } else if (p->t == T_INT || p->t == T_FLOAT) {
        v = cJSON_CreateNumber(strtod(p->text, NULL));
    } else if (p->t == T_NAME) {
        if (strcmp(p->text, "true") == 0 || strcmp(p->text, "false") == 0) {
            v = cJSON_CreateBool(p->text[0] == 't');
        } else if (strcmp(p->text, "null") == 0) {
            v = cJSON_CreateNull();
        } else {
            v = cJSON_CreateString(p->text); /* an enum value */
        }
    } else if (is_punct(p, '[')) {
        v = cJSON_CreateArray();
        if (!next(p)) {
            cJSON_Delete(v);
            return NULL;
        }
        for (size_t i = 0; !is_punct(p, ']'); i++) {
            cJSON *e = i < MAX_FIELDS ? parse_value(p, depth + 1) : NULL;
            if (!e) {
                fail(p, "bad list");
                cJSON_Delete(v);
                return NULL;
            }
            cJSON_AddItemToArray(v, e);
        }
        return next(p) ? v : (cJSON_Delete(v), NULL);
    } else if (is_punct(p, '{')) {
        v = cJSON_CreateObject();
        if (!next(p)) {
            cJSON_Delete(v);
            return NULL;
        }
        for (size_t i = 0; !is_punct(p, '}'); i++) {
            char key[MAX_NAME];
            if (i >= MAX_FIELDS || p->t != T_NAME) {
                fail(p, "expected a field name in an input object");
                cJSON_Delete(v);
                return NULL;
            }
            copy_name(key, p->text);
            cJSON *e = NULL;
            if (!next(p) || !expect(p, ':') || !(e = parse_value(p, depth + 1))) {
                cJSON_Delete(v);
                return NULL;
            }
            cJSON_AddItemToObject(v, key, e);
        }
        return next(p) ? v : (cJSON_Delete(v), NULL);
    } else {
        fail(p, "expected a value");
        return NULL;
    }
    if (!next(p)) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

static void free_fields(struct field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < f[i].n_args; k++) {
            cJSON_Delete(f[i].arg_values[k]);
        }
        if (f[i].sub) {
            free_fields(f[i].sub, f[i].n_sub);
            free(f[i].sub);
        }
    }
}

static bool parse_selection(struct parser *p, struct field *fields, size_t *n, unsigned depth);

static bool parse_field(struct parser *p, struct field *f, unsigned depth)
{
    memset(f, 0, sizeof(*f));
    if (p->t != T_NAME) {
        return fail(p, "expected a field name");
    }
    copy_name(f->name, p->text);
    if (!next(p)) {
        return false;
    }
    if (is_punct(p, ':')) {
        memcpy(f->alias, f->name, sizeof(f->alias));
        if (!next(p) || p->t != T_NAME) {
            return fail(p, "expected a field name after an alias");
        }
        copy_name(f->name, p->text);
        if (!next(p)) {
            return false;
        }
    } else {
        memcpy(f->alias, f->name, sizeof(f->alias));
    }
    if (is_punct(p, '(')) {
        if (!next(p)) {
            return false;
        }
        while (!is_punct(p, ')')) {
            if (f->n_args >= MAX_ARGS || p->t != T_NAME) {
                return fail(p, "expected an argument name");
            }
            copy_name(f->arg_names[f->n_args], p->text);
            if (!next(p) || !expect(p, ':')) {
                return false;
            }
            cJSON *v = parse_value(p, depth + 1);
            if (!v) {
                return false;
            }
            f->arg_values[f->n_args++] = v;
        }
        if (!next(p)) {
            return false;
        }
    }
    if (is_punct(p, '@')) {
        return fail(p, "directives are not supported");
    }
    if (is_punct(p, '{')) {
        f->has_sub = true;
        f->sub = demo_xcalloc(MAX_FIELDS, sizeof(*f->sub));
        return parse_selection(p, f->sub, &f->n_sub, depth + 1);
    }
    return true;
}

/* { field ... } into fields (room for MAX_FIELDS); *n counts what was parsed, even on error,
 * so that the caller can free it. */
static bool parse_selection(struct parser *p, struct field *fields, size_t *n, unsigned depth)
{
    if (depth > MAX_DEPTH) {
        return fail(p, "selections nested too deeply");
    }
    if (!expect(p, '{')) {
        return false;
    }
    while (!is_punct(p, '}')) {
        if (*n >= MAX_FIELDS) {
            return fail(p, "too many fields in a selection");
        }
        bool ok = parse_field(p, &fields[*n], depth);
        (*n)++;
        if (!ok) {
            return false;
        }
        if (p->t == T_EOF) {
            return fail(p, "expected '}'");
        }
    }
    return next(p);
}

/* ($a: Type!, $b: [Type] = default): read and ignored; the values come from "variables". */
static bool skip_variable_defs(struct parser *p)
{
    if (!is_punct(p, '(')) {
        return true;
    }
    if (!next(p)) {
        return false;
    }
    while (!is_punct(p, ')')) {
        if (p->t == T_EOF || p->t == T_ERROR) {
            return fail(p, "unterminated variable definitions");
        }
        if (!next(p)) {
            return false;
        }
    }
    return next(p);
}

static bool parse_document(struct parser *p, struct op *ops, size_t *n_ops)
{
    if (!next(p)) {
        return false;
    }
    while (p->t != T_EOF) {
        if (*n_ops >= MAX_OPS) {
            return fail(p, "too many operations");
        }
        struct op *o = &ops[*n_ops];
        memset(o, 0, sizeof(*o));
        (*n_ops)++;
        if (p->t == T_NAME) {
            if (strcmp(p->text, "mutation") == 0) {
                o->mutation = true;
            } else if (strcmp(p->text, "fragment") == 0 || strcmp(p->text, "subscription") == 0) {
                return fail(p, "only queries and mutations are supported");
            } else if (strcmp(p->text, "query") != 0) {
                return fail(p, "expected 'query', 'mutation' or '{'");
            }
            if (!next(p)) {
                return false;
            }
            if (p->t == T_NAME) {
                copy_name(o->name, p->text);
                if (!next(p)) {
                    return false;
                }
            }
            if (!skip_variable_defs(p)) {
                return false;
            }
        }
        if (!parse_selection(p, o->fields, &o->n_fields, 0)) {
            return false;
        }
    }
    return *n_ops > 0 || fail(p, "no operation");
}

/* ------------------------------------------------------------------------------------------ */
/* Execution. */

struct exec {
    struct demo_app *app;
    const char *tenant;
    cJSON *errors;
};

static void add_error(struct exec *x, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_error(struct exec *x, const char *path, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "message", msg);
    if (path) {
        cJSON *pa = cJSON_AddArrayToObject(e, "path");
        cJSON_AddItemToArray(pa, cJSON_CreateString(path));
    }
    cJSON_AddItemToArray(x->errors, e);
}

static const cJSON *arg(const struct field *f, const char *name)
{
    for (size_t i = 0; i < f->n_args; i++) {
        if (strcmp(f->arg_names[i], name) == 0) {
            return f->arg_values[i];
        }
    }
    return NULL;
}

/* An ID argument: a string of digits or a whole number. */
static bool id_arg(const struct field *f, uint64_t *out)
{
    const cJSON *v = arg(f, "id");
    char buf[32];
    if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 1e15) {
        snprintf(buf, sizeof(buf), "%.0f", v->valuedouble);
    } else if (cJSON_IsString(v) && strlen(v->valuestring) < sizeof(buf)) {
        snprintf(buf, sizeof(buf), "%s", v->valuestring);
    } else {
        return false;
    }
    size_t len = strlen(buf);
    if (len == 0 || len > 15 || strspn(buf, "0123456789") != len) {
        return false;
    }
    *out = (uint64_t)strtoull(buf, NULL, 10);
    return *out != 0;
}

static cJSON *order_out(struct exec *x, const struct field *f, const struct demo_object *o)
{
    if (!f->has_sub) {
        add_error(x, f->alias, "Field \"%s\" of type \"Order\" must have a selection of subfields",
                  f->name);
        return cJSON_CreateNull();
    }
    cJSON *j = cJSON_CreateObject();
    for (size_t i = 0; i < f->n_sub; i++) {
        const struct field *s = &f->sub[i];
        char id[24];
        snprintf(id, sizeof(id), "%" PRIu64, o->id);
        if (strcmp(s->name, "id") == 0) {
            cJSON_AddStringToObject(j, s->alias, id);
        } else if (strcmp(s->name, "status") == 0) {
            cJSON_AddStringToObject(j, s->alias,
                                    o->refunded ? "REFUNDED"
                                    : o->paid   ? "PAID"
                                                : "PENDING");
        } else if (strcmp(s->name, "product") == 0) {
            cJSON_AddStringToObject(j, s->alias, o->name);
        } else if (strcmp(s->name, "quantity") == 0) {
            cJSON_AddNumberToObject(j, s->alias, (double)o->quantity);
        } else if (strcmp(s->name, "__typename") == 0) {
            cJSON_AddStringToObject(j, s->alias, "Order");
        } else {
            add_error(x, f->alias, "Cannot query field \"%s\" on type \"Order\"", s->name);
        }
    }
    return j;
}

static cJSON *run_field(struct exec *x, bool mutation, const struct field *f)
{
    struct demo_object o;
    memset(&o, 0, sizeof(o));
    uint64_t id = 0;
    if (strcmp(f->name, "__typename") == 0) {
        return cJSON_CreateString(mutation ? "Mutation" : "Query");
    }
    if (!mutation && strcmp(f->name, "order") == 0) {
        if (!id_arg(f, &id)) {
            add_error(x, f->alias, "order needs an argument id of type ID!");
            return cJSON_CreateNull();
        }
        if (demo_obj_get(x->app->objs, id, DEMO_ORDER, &o) || o.deleted) {
            return cJSON_CreateNull();
        }
        return order_out(x, f, &o);
    }
    if (!mutation && strcmp(f->name, "orders") == 0) {
        struct demo_object *v = NULL;
        size_t n = 0;
        demo_obj_list(x->app->objs, x->tenant, DEMO_ORDER, &v, &n);
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) {
            cJSON_AddItemToArray(arr, order_out(x, f, &v[i]));
        }
        free(v);
        return arr;
    }
    if (mutation && strcmp(f->name, "createOrder") == 0) {
        const cJSON *in = arg(f, "input");
        const cJSON *product = cJSON_GetObjectItemCaseSensitive(in, "product");
        const cJSON *qty = cJSON_GetObjectItemCaseSensitive(in, "quantity");
        if (!cJSON_IsObject(in) || !cJSON_IsString(product) || !product->valuestring[0] ||
            strlen(product->valuestring) > DEMO_MAX_NAME ||
            (qty && !cJSON_IsNull(qty) &&
             (!cJSON_IsNumber(qty) || qty->valuedouble < 1 ||
              qty->valuedouble > DEMO_MAX_QUANTITY))) {
            add_error(x, f->alias,
                      "createOrder needs input: {product: String!, quantity: Int}"
                      " with quantity 1 to 1000");
            return cJSON_CreateNull();
        }
        uint64_t q = cJSON_IsNumber(qty) ? (uint64_t)qty->valuedouble : 1;
        if (demo_obj_create(x->app->objs, x->tenant, DEMO_ORDER, product->valuestring, 0, q, &o)) {
            add_error(x, f->alias, "too many objects");
            return cJSON_CreateNull();
        }
        return order_out(x, f, &o);
    }
    if (mutation && strcmp(f->name, "payOrder") == 0) {
        if (!id_arg(f, &id)) {
            add_error(x, f->alias, "payOrder needs an argument id of type ID!");
            return cJSON_CreateNull();
        }
        enum demo_status st = demo_obj_pay(x->app->objs, x->tenant, id, &o);
        if (st == DEMO_CONFLICT) {
            add_error(x, f->alias, "order %" PRIu64 " is already paid", id);
            return cJSON_CreateNull();
        }
        if (st) {
            add_error(x, f->alias, "order %" PRIu64 " not found", id);
            return cJSON_CreateNull();
        }
        return order_out(x, f, &o);
    }
    if (mutation && strcmp(f->name, "refundOrder") == 0) {
        if (!id_arg(f, &id)) {
            add_error(x, f->alias, "refundOrder needs an argument id of type ID!");
            return cJSON_CreateNull();
        }
        enum demo_status st = demo_obj_refund(x->app->objs, x->tenant, id, &o);
        if (st == DEMO_CONFLICT) {
            add_error(x, f->alias, "order %" PRIu64 " is already refunded", id);
            return cJSON_CreateNull();
        }
        if (st) {
            add_error(x, f->alias, "order %" PRIu64 " not found", id);
            return cJSON_CreateNull();
        }
        return order_out(x, f, &o);
    }
    add_error(x, f->alias, "Cannot query field \"%s\" on type \"%s\"", f->name,
              mutation ? "Mutation" : "Query");
    return cJSON_CreateNull();
}

/* Runs one {"query", "variables", "operationName"} and returns its result object. */
cJSON *demo_graphql_run(struct demo_app *app, const char *tenant, const cJSON *req)
{
    cJSON *res = cJSON_CreateObject();
    struct exec x = {.app = app, .tenant = tenant, .errors = cJSON_CreateArray()};
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(req, "query");
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(req, "variables");
    const cJSON *opname = cJSON_GetObjectItemCaseSensitive(req, "operationName");
    struct op *ops = NULL;
    size_t n_ops = 0;
    if (!cJSON_IsObject(req) || !cJSON_IsString(q)) {
        add_error(&x, NULL, "a request needs a string \"query\"");
        goto out;
    }
    if (vars && !cJSON_IsObject(vars) && !cJSON_IsNull(vars)) {
        add_error(&x, NULL, "\"variables\" must be an object");
        goto out;
    }
    if (strlen(q->valuestring) > MAX_QUERY) {
        add_error(&x, NULL, "the query is too long (at most 16384 bytes)");
        goto out;
    }
    struct parser p;
    memset(&p, 0, sizeof(p));
    p.s = q->valuestring;
    p.len = strlen(q->valuestring);
    p.vars = cJSON_IsObject(vars) ? vars : NULL;
    ops = demo_xcalloc(MAX_OPS, sizeof(*ops));
    if (!parse_document(&p, ops, &n_ops)) {
        add_error(&x, NULL, "%s", p.error);
        goto out;
    }
    const struct op *o = NULL;
    if (cJSON_IsString(opname)) {
        for (size_t i = 0; i < n_ops; i++) {
            if (strcmp(ops[i].name, opname->valuestring) == 0) {
                o = &ops[i];
            }
        }
        if (!o) {
            add_error(&x, NULL, "Unknown operation named \"%s\"", opname->valuestring);
            goto out;
        }
    } else if (n_ops == 1) {
        o = &ops[0];
    } else {
        add_error(&x, NULL, "Must provide operation name if query contains multiple operations");
        goto out;
    }
    cJSON *data = cJSON_AddObjectToObject(res, "data");
    for (size_t i = 0; i < o->n_fields; i++) {
        cJSON_AddItemToObject(data, o->fields[i].alias, run_field(&x, o->mutation, &o->fields[i]));
    }
out:
    for (size_t i = 0; ops && i < n_ops; i++) {
        free_fields(ops[i].fields, ops[i].n_fields);
    }
    free(ops);
    if (cJSON_GetArraySize(x.errors) > 0) {
        cJSON_AddItemToObject(res, "errors", x.errors);
    } else {
        cJSON_Delete(x.errors);
    }
    return res;
}

static void gql_error(struct demo_reply *rep, unsigned status, const char *msg)
{
    cJSON *res = cJSON_CreateObject();
    cJSON *errs = cJSON_AddArrayToObject(res, "errors");
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddItemToArray(errs, e);
    demo_reply_json(rep, status, res);
}

void demo_graphql_route(struct demo_app *app, const struct demo_request *rq, const char *tenant,
                        struct demo_reply *rep)
{
    if (strcmp(rq->method, "POST") != 0) {
        gql_error(rep, 405, "GraphQL requests are POSTs");
        rep->allow = "POST";
        return;
    }
    struct demo_session sess;
    enum demo_status st = demo_store_auth(app->store, rq->session, tenant, &sess);
    if (st == DEMO_NOT_LOGGED_IN) {
        gql_error(rep, 401, "not logged in");
        return;
    }
    if (st) {
        gql_error(rep, 404, "not found");
        return;
    }
    if (!rq->csrf || strlen(rq->csrf) != DEMO_TOKEN_HEX ||
        !demo_equal_ct(rq->csrf, sess.csrf, DEMO_TOKEN_HEX)) {
        gql_error(rep, 403, "missing or invalid X-CSRF-Token");
        return;
    }
    cJSON *j = NULL;
    if (!memchr(rq->body, '\0', rq->body_len)) {
        j = cJSON_ParseWithOpts(rq->body, NULL, 1);
    }
    if (cJSON_IsObject(j)) {
        demo_reply_json(rep, 200, demo_graphql_run(app, tenant, j));
    } else if (cJSON_IsArray(j) && cJSON_GetArraySize(j) >= 1 &&
               cJSON_GetArraySize(j) <= MAX_BATCH) {
        cJSON *res = cJSON_CreateArray();
        const cJSON *e = NULL;
        cJSON_ArrayForEach(e, j)
        {
            cJSON_AddItemToArray(res, demo_graphql_run(app, tenant, e));
        }
        demo_reply_json(rep, 200, res);
    } else {
        gql_error(rep, 400, "the body must be a JSON object or an array of 1 to 10 of them");
    }
    cJSON_Delete(j);
}
