/* SPDX-License-Identifier: MIT */
/*
 * The objects of the demo's "real application" modes: the admin's things, the GraphQL orders
 * and the bearer API's notes, numbered by ONE global sequence across tenants and kinds (like a
 * database's), starting at --first-id; each tenant's two projects (their own sequence); board
 * columns with random ids; bearer token pairs; and an audit log of every write. One mutex
 * guards all of it. Lookups by id deliberately ignore the tenant, as a buggy application does,
 * so that a replay that writes to a recorded id changes another tenant's object and only the
 * state dump (GET /__state) can tell.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "demo.h"

#define MAX_PROJECT_TENANTS DEMO_MAX_TENANTS

struct audit {
    char actor[DEMO_MAX_TENANT_NAME + 1];
    const char *op; /* static */
    enum demo_kind kind;
    uint64_t id;
    char what[DEMO_MAX_NAME + 40];
};

struct tenant_extra {
    char name[DEMO_MAX_TENANT_NAME + 1];
    uint64_t projects[2];
    bool has_columns;
    char columns[3][16];
};

struct token_pair {
    char tenant[DEMO_MAX_TENANT_NAME + 1];
    char access[DEMO_BEARER_HEX + 1];
    char refresh[DEMO_BEARER_HEX + 1];
};

struct demo_objects {
    pthread_mutex_t lock;
    uint64_t first_id;
    struct demo_object *objs; /* id = first_id + index */
    size_t n_objs, cap_objs;
    struct audit *audit; /* oldest first */
    size_t n_audit, cap_audit;
    struct tenant_extra *tenants;
    size_t n_tenants, cap_tenants;
    uint64_t next_project;
    struct token_pair *tokens; /* oldest first */
    size_t n_tokens;
};

static const char *const project_names[2] = {"Main", "Side"};
static const char *const column_titles[3] = {"To do", "Doing", "Done"};

const char *demo_kind_name(enum demo_kind k)
{
    switch (k) {
    case DEMO_THING:
        return "thing";
    case DEMO_ORDER:
        return "order";
    case DEMO_NOTE:
        return "note";
    }
    return "?";
}

struct demo_objects *demo_objects_new(uint64_t first_id)
{
    struct demo_objects *o = demo_xcalloc(1, sizeof(*o));
    pthread_mutex_init(&o->lock, NULL);
    o->first_id = first_id ? first_id : 1;
    o->next_project = 1;
    o->tokens = demo_xcalloc(DEMO_MAX_TOKENS, sizeof(*o->tokens));
    return o;
}

void demo_objects_free(struct demo_objects *o)
{
    if (!o) {
        return;
    }
    free(o->objs);
    free(o->audit);
    free(o->tenants);
    free(o->tokens);
    pthread_mutex_destroy(&o->lock);
    free(o);
}

/* The lock is held. */
static void log_write(struct demo_objects *o, const char *actor, const char *op,
                      enum demo_kind kind, uint64_t id, const char *what)
{
    if (o->n_audit == DEMO_MAX_AUDIT) {
        memmove(&o->audit[0], &o->audit[1], (o->n_audit - 1) * sizeof(*o->audit));
        o->n_audit--;
    }
    if (o->n_audit == o->cap_audit) {
        o->cap_audit = o->cap_audit ? o->cap_audit * 2 : 64;
        o->audit = demo_xrealloc(o->audit, o->cap_audit * sizeof(*o->audit));
    }
    struct audit *a = &o->audit[o->n_audit++];
    memset(a, 0, sizeof(*a));
    snprintf(a->actor, sizeof(a->actor), "%s", actor);
    a->op = op;
    a->kind = kind;
    a->id = id;
    snprintf(a->what, sizeof(a->what), "%s", what);
}

/* The object with this id and kind, or NULL; the lock is held. */
static struct demo_object *find(struct demo_objects *o, uint64_t id, enum demo_kind kind)
{
    if (id < o->first_id || id - o->first_id >= o->n_objs) {
        return NULL;
    }
    struct demo_object *x = &o->objs[id - o->first_id];
    return x->kind == kind ? x : NULL;
}

/* The tenant's extra state, made on first use; the lock is held. NULL at the cap. */
static struct tenant_extra *tenant_of(struct demo_objects *o, const char *tenant)
{
    for (size_t i = 0; i < o->n_tenants; i++) {
        if (strcmp(o->tenants[i].name, tenant) == 0) {
            return &o->tenants[i];
        }
    }
    if (o->n_tenants >= MAX_PROJECT_TENANTS) {
        return NULL;
    }
    if (o->n_tenants == o->cap_tenants) {
        o->cap_tenants = o->cap_tenants ? o->cap_tenants * 2 : 16;
        o->tenants = demo_xrealloc(o->tenants, o->cap_tenants * sizeof(*o->tenants));
    }
    struct tenant_extra *t = &o->tenants[o->n_tenants++];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", tenant);
    t->projects[0] = o->next_project++;
    t->projects[1] = o->next_project++;
    return t;
}

enum demo_status demo_obj_create(struct demo_objects *o, const char *tenant, enum demo_kind kind,
                                 const char *name, uint64_t project, uint64_t quantity,
                                 struct demo_object *out)
{
    enum demo_status st = DEMO_FULL;
    pthread_mutex_lock(&o->lock);
    if (o->n_objs >= DEMO_MAX_OBJECTS) {
        goto out;
    }
    if (o->n_objs == o->cap_objs) {
        o->cap_objs = o->cap_objs ? o->cap_objs * 2 : 64;
        o->objs = demo_xrealloc(o->objs, o->cap_objs * sizeof(*o->objs));
    }
    struct demo_object *x = &o->objs[o->n_objs];
    memset(x, 0, sizeof(*x));
    x->id = o->first_id + o->n_objs;
    x->kind = kind;
    snprintf(x->tenant, sizeof(x->tenant), "%s", tenant);
    snprintf(x->name, sizeof(x->name), "%s", name);
    x->project = project;
    x->quantity = quantity;
    o->n_objs++;
    char what[DEMO_MAX_NAME + 40];
    if (kind == DEMO_THING) {
        snprintf(what, sizeof(what), "name=%s project=%" PRIu64, x->name, project);
    } else if (kind == DEMO_ORDER) {
        snprintf(what, sizeof(what), "product=%s quantity=%" PRIu64, x->name, quantity);
    } else {
        snprintf(what, sizeof(what), "title=%s", x->name);
    }
    log_write(o, tenant, "create", kind, x->id, what);
    *out = *x;
    st = DEMO_OK;
out:
    pthread_mutex_unlock(&o->lock);
    return st;
}

enum demo_status demo_obj_get(struct demo_objects *o, uint64_t id, enum demo_kind kind,
                              struct demo_object *out)
{
    pthread_mutex_lock(&o->lock);
    struct demo_object *x = find(o, id, kind);
    if (x) {
        *out = *x;
    }
    pthread_mutex_unlock(&o->lock);
    return x ? DEMO_OK : DEMO_NOT_FOUND;
}

enum demo_status demo_obj_update(struct demo_objects *o, const char *actor, uint64_t id,
                                 enum demo_kind kind, const char *name, uint64_t project,
                                 struct demo_object *out)
{
    enum demo_status st = DEMO_NOT_FOUND;
    pthread_mutex_lock(&o->lock);
    struct demo_object *x = find(o, id, kind);
    if (!x || x->deleted) {
        goto out;
    }
    char what[DEMO_MAX_NAME + 40] = "";
    if (name) {
        snprintf(x->name, sizeof(x->name), "%s", name);
    }
    if (project) {
        x->project = project;
    }
    if (kind == DEMO_THING) {
        snprintf(what, sizeof(what), "name=%s project=%" PRIu64, x->name, x->project);
    } else {
        snprintf(what, sizeof(what), "title=%s", x->name);
    }
    log_write(o, actor, "update", kind, id, what);
    *out = *x;
    st = DEMO_OK;
out:
    pthread_mutex_unlock(&o->lock);
    return st;
}

enum demo_status demo_obj_delete(struct demo_objects *o, const char *actor, uint64_t id,
                                 enum demo_kind kind)
{
    enum demo_status st = DEMO_NOT_FOUND;
    pthread_mutex_lock(&o->lock);
    struct demo_object *x = find(o, id, kind);
    if (x && !x->deleted) {
        x->deleted = true;
        log_write(o, actor, "delete", kind, id, "");
        st = DEMO_OK;
    }
    pthread_mutex_unlock(&o->lock);
    return st;
}

enum demo_status demo_obj_pay(struct demo_objects *o, const char *actor, uint64_t id,
                              struct demo_object *out)
{
    enum demo_status st = DEMO_NOT_FOUND;
    pthread_mutex_lock(&o->lock);
    struct demo_object *x = find(o, id, DEMO_ORDER);
    if (!x || x->deleted) {
        goto out;
    }
    if (x->paid) {
        st = DEMO_CONFLICT;
        goto out;
    }
    x->paid = true;
    log_write(o, actor, "pay", DEMO_ORDER, id, "");
    *out = *x;
    st = DEMO_OK;
out:
    pthread_mutex_unlock(&o->lock);
    return st;
}

enum demo_status demo_obj_refund(struct demo_objects *o, const char *actor, uint64_t id,
                                 struct demo_object *out)
{
    enum demo_status st = DEMO_NOT_FOUND;
    pthread_mutex_lock(&o->lock);
    struct demo_object *x = find(o, id, DEMO_ORDER);
    if (!x || x->deleted) {
        goto out;
    }
    if (x->refunded) {
        st = DEMO_CONFLICT;
        goto out;
    }
    x->refunded = true;
    log_write(o, actor, "refund", DEMO_ORDER, id, "");
    *out = *x;
    st = DEMO_OK;
out:
    pthread_mutex_unlock(&o->lock);
    return st;
}

void demo_obj_list(struct demo_objects *o, const char *tenant, enum demo_kind kind,
                   struct demo_object **out, size_t *out_n)
{
    pthread_mutex_lock(&o->lock);
    size_t n = 0;
    for (size_t i = 0; i < o->n_objs; i++) {
        const struct demo_object *x = &o->objs[i];
        n += x->kind == kind && !x->deleted && strcmp(x->tenant, tenant) == 0;
    }
    struct demo_object *v = demo_xcalloc(n, sizeof(*v));
    size_t k = 0;
    for (size_t i = 0; i < o->n_objs && k < n; i++) {
        const struct demo_object *x = &o->objs[i];
        if (x->kind == kind && !x->deleted && strcmp(x->tenant, tenant) == 0) {
            v[k++] = *x;
        }
    }
    pthread_mutex_unlock(&o->lock);
    *out = v;
    *out_n = k;
}

void demo_obj_projects(struct demo_objects *o, const char *tenant, struct demo_project out[2])
{
    memset(out, 0, 2 * sizeof(*out));
    pthread_mutex_lock(&o->lock);
    struct tenant_extra *t = tenant_of(o, tenant);
    for (size_t i = 0; t && i < 2; i++) {
        out[i].id = t->projects[i];
        snprintf(out[i].name, sizeof(out[i].name), "%s", project_names[i]);
        out[i].current = i == 0;
    }
    pthread_mutex_unlock(&o->lock);
}

bool demo_obj_project_exists(struct demo_objects *o, uint64_t id)
{
    pthread_mutex_lock(&o->lock);
    bool yes = id >= 1 && id < o->next_project;
    pthread_mutex_unlock(&o->lock);
    return yes;
}

/* 15 characters of [a-z0-9] from random bytes (the bias of % 36 does not matter here). */
static void random_id(char out[16])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t raw[15];
    if (!demo_random_bytes(raw, sizeof(raw))) {
        memset(raw, 0, sizeof(raw));
    }
    out[0] = 'c'; /* like a cuid */
    for (size_t i = 1; i < 15; i++) {
        out[i] = alphabet[raw[i] % 36];
    }
    out[15] = '\0';
}

void demo_obj_columns(struct demo_objects *o, const char *tenant, char ids[3][16])
{
    pthread_mutex_lock(&o->lock);
    struct tenant_extra *t = tenant_of(o, tenant);
    if (t && !t->has_columns) {
        for (size_t i = 0; i < 3; i++) {
            random_id(t->columns[i]);
        }
        t->has_columns = true;
    }
    for (size_t i = 0; i < 3; i++) {
        memcpy(ids[i], t ? t->columns[i] : "c00000000000000", 16);
    }
    pthread_mutex_unlock(&o->lock);
}

const char *demo_column_title(size_t i)
{
    return i < 3 ? column_titles[i] : "";
}

/* ------------------------------------------------------------------------------------------ */
/* Bearer tokens. */

static bool random_bearer(char out[DEMO_BEARER_HEX + 1])
{
    uint8_t raw[DEMO_BEARER_HEX / 2];
    if (!demo_random_bytes(raw, sizeof(raw))) {
        return false;
    }
    demo_hex(raw, sizeof(raw), out);
    return true;
}

enum demo_status demo_tok_issue(struct demo_objects *o, const char *tenant,
                                char access[DEMO_BEARER_HEX + 1], char refresh[DEMO_BEARER_HEX + 1])
{
    struct token_pair p;
    memset(&p, 0, sizeof(p));
    if (!random_bearer(p.access) || !random_bearer(p.refresh)) {
        return DEMO_INTERNAL;
    }
    snprintf(p.tenant, sizeof(p.tenant), "%s", tenant);
    pthread_mutex_lock(&o->lock);
    if (o->n_tokens == DEMO_MAX_TOKENS) {
        memmove(&o->tokens[0], &o->tokens[1], (o->n_tokens - 1) * sizeof(p));
        o->n_tokens--;
    }
    o->tokens[o->n_tokens++] = p;
    pthread_mutex_unlock(&o->lock);
    memcpy(access, p.access, sizeof(p.access));
    memcpy(refresh, p.refresh, sizeof(p.refresh));
    return DEMO_OK;
}

enum demo_status demo_tok_refresh(struct demo_objects *o, const char *tenant,
                                  const char *old_refresh, char access[DEMO_BEARER_HEX + 1],
                                  char refresh[DEMO_BEARER_HEX + 1])
{
    struct token_pair p;
    memset(&p, 0, sizeof(p));
    if (!random_bearer(p.access) || !random_bearer(p.refresh)) {
        return DEMO_INTERNAL;
    }
    snprintf(p.tenant, sizeof(p.tenant), "%s", tenant);
    enum demo_status st = DEMO_NOT_LOGGED_IN;
    pthread_mutex_lock(&o->lock);
    if (strlen(old_refresh) != DEMO_BEARER_HEX) {
        goto out;
    }
    for (size_t i = 0; i < o->n_tokens; i++) {
        struct token_pair *t = &o->tokens[i];
        if (demo_equal_ct(t->refresh, old_refresh, DEMO_BEARER_HEX)) {
            if (strcmp(t->tenant, tenant) != 0) {
                st = DEMO_NOT_FOUND;
                goto out;
            }
            /* Rotation: the old pair is gone, both its tokens with it. */
            *t = p;
            memcpy(access, p.access, sizeof(p.access));
            memcpy(refresh, p.refresh, sizeof(p.refresh));
            st = DEMO_OK;
            goto out;
        }
    }
out:
    pthread_mutex_unlock(&o->lock);
    return st;
}

enum demo_status demo_tok_check(struct demo_objects *o, const char *tenant, const char *access)
{
    if (!access || strlen(access) != DEMO_BEARER_HEX) {
        return DEMO_NOT_LOGGED_IN;
    }
    enum demo_status st = DEMO_NOT_LOGGED_IN;
    pthread_mutex_lock(&o->lock);
    for (size_t i = 0; i < o->n_tokens; i++) {
        if (demo_equal_ct(o->tokens[i].access, access, DEMO_BEARER_HEX)) {
            st = strcmp(o->tokens[i].tenant, tenant) == 0 ? DEMO_OK : DEMO_NOT_FOUND;
            break;
        }
    }
    pthread_mutex_unlock(&o->lock);
    return st;
}

/* ------------------------------------------------------------------------------------------ */

cJSON *demo_obj_state(struct demo_objects *o)
{
    cJSON *j = cJSON_CreateObject();
    pthread_mutex_lock(&o->lock);
    cJSON_AddNumberToObject(j, "first_id", (double)o->first_id);
    cJSON_AddNumberToObject(j, "next_id", (double)(o->first_id + o->n_objs));
    cJSON *projects = cJSON_AddArrayToObject(j, "projects");
    for (size_t i = 0; i < o->n_tenants; i++) {
        for (size_t k = 0; k < 2; k++) {
            cJSON *p = cJSON_CreateObject();
            cJSON_AddNumberToObject(p, "id", (double)o->tenants[i].projects[k]);
            cJSON_AddStringToObject(p, "tenant", o->tenants[i].name);
            cJSON_AddStringToObject(p, "name", project_names[k]);
            cJSON_AddBoolToObject(p, "current", k == 0);
            cJSON_AddItemToArray(projects, p);
        }
    }
    cJSON *objs = cJSON_AddArrayToObject(j, "objects");
    for (size_t i = 0; i < o->n_objs; i++) {
        const struct demo_object *x = &o->objs[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "id", (double)x->id);
        cJSON_AddStringToObject(e, "kind", demo_kind_name(x->kind));
        cJSON_AddStringToObject(e, "tenant", x->tenant);
        if (x->project) {
            cJSON_AddNumberToObject(e, "project", (double)x->project);
        } else {
            cJSON_AddNullToObject(e, "project");
        }
        cJSON_AddStringToObject(e, "name", x->name);
        if (x->kind == DEMO_ORDER) {
            cJSON_AddNumberToObject(e, "quantity", (double)x->quantity);
            cJSON_AddStringToObject(e, "status",
                                    x->refunded ? "refunded"
                                    : x->paid   ? "paid"
                                                : "pending");
        }
        cJSON_AddBoolToObject(e, "deleted", x->deleted);
        cJSON_AddItemToArray(objs, e);
    }
    cJSON *audit = cJSON_AddArrayToObject(j, "audit");
    for (size_t i = 0; i < o->n_audit; i++) {
        const struct audit *a = &o->audit[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "tenant", a->actor);
        cJSON_AddStringToObject(e, "op", a->op);
        cJSON_AddStringToObject(e, "kind", demo_kind_name(a->kind));
        cJSON_AddNumberToObject(e, "id", (double)a->id);
        cJSON_AddStringToObject(e, "what", a->what);
        cJSON_AddItemToArray(audit, e);
    }
    pthread_mutex_unlock(&o->lock);
    return j;
}
