/* SPDX-License-Identifier: MIT */
/*
 * Inferring a body schema from a recorded JSON value: every key seen is required, numbers are
 * "number", strings carry a format when they look like one, and array items are the union of
 * the recorded elements (so ["string","null"] is how a nullable value comes out). An object
 * keyed by ids is a map, not a record (see internal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The format a recorded string seems to have, tried in the documented order. */
static enum rp__format detect_format(const char *s)
{
    static const enum rp__format order[] = {
        RP__FMT_UUID,
        RP__FMT_DATE_TIME,
        RP__FMT_EMAIL,
        RP__FMT_URI,
    };
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (rp__format_ok(order[i], s, true)) {
            return order[i];
        }
    }
    return RP__FMT_NONE;
}

/* Empties s to the schema that accepts anything. */
static void make_any(struct rp__schema *s)
{
    struct rp__schema *tmp = rp__schema_new();
    struct rp__schema old = *s;
    *s = *tmp;
    *tmp = old;
    rp__schema_free(tmp);
}

/*
 * Merges b's properties into a's, both sorted by key: a key is required only when both sides
 * require it, so required ends as the keys present in every recorded object. Keys only b has
 * are appended after a's in the written order. Takes b's properties.
 */
static void merge_props(struct rp__schema *a, struct rp__schema *b)
{
    if (b->n_props > SIZE_MAX / sizeof(struct rp__prop) - a->n_props) {
        abort(); /* cannot happen: both arrays are in memory */
    }
    struct rp__prop *m = rp_xcalloc(a->n_props + b->n_props, sizeof(*m));
    size_t n = 0;
    size_t i = 0;
    size_t j = 0;
    size_t base = a->next_order;
    while (i < a->n_props || j < b->n_props) {
        int c;
        if (i < a->n_props && j < b->n_props) {
            c = strcmp(a->props[i].key, b->props[j].key);
        } else {
            c = i < a->n_props ? -1 : 1;
        }
        if (c < 0) {
            m[n] = a->props[i++];
            m[n].required = false;
        } else if (c > 0) {
            m[n] = b->props[j++];
            m[n].order += base;
            m[n].required = false;
        } else {
            m[n] = a->props[i++];
            m[n].required = m[n].required && b->props[j].required;
            rp__schema_union(m[n].s, b->props[j].s);
            free(b->props[j].key);
            j++;
        }
        n++;
    }
    free(a->props);
    a->props = m;
    a->n_props = n;
    a->next_order = base + b->next_order;
    free(b->props);
    b->props = NULL;
    b->n_props = 0;
}

static void drop_props(struct rp__schema *s)
{
    for (size_t i = 0; i < s->n_props; i++) {
        free(s->props[i].key);
        rp__schema_free(s->props[i].s);
    }
    free(s->props);
    s->props = NULL;
    s->n_props = 0;
}

/* Moves s's properties into its map values: their keys are just more keys of the map. */
static void fold_into_values(struct rp__schema *s)
{
    for (size_t i = 0; i < s->n_props; i++) {
        free(s->props[i].key);
        if (s->values) {
            rp__schema_union(s->values, s->props[i].s);
        } else {
            s->values = s->props[i].s;
        }
    }
    free(s->props);
    s->props = NULL;
    s->n_props = 0;
    s->next_order = 0;
}

void rp__schema_union(struct rp__schema *a, struct rp__schema *b)
{
    if (a->types == 0 || b->types == 0) {
        /* One side accepts anything (it lay below the depth bound): so does the union. */
        make_any(a);
        rp__schema_free(b);
        return;
    }
    if (b->types & RP__T_STRING) {
        if (!(a->types & RP__T_STRING)) {
            a->format = b->format;
        } else if (a->format != b->format) {
            a->format = RP__FMT_NONE;
        }
    }
    if ((b->types & RP__T_OBJECT) && (a->values || b->values)) {
        /* A map stays a map: a record met beside it is one more instance of its values. */
        fold_into_values(a);
        fold_into_values(b);
        if (a->values && b->values) {
            rp__schema_union(a->values, b->values);
        } else if (b->values) {
            a->values = b->values;
        }
        b->values = NULL;
        a->map_inferred = a->map_inferred || b->map_inferred;
        a->keys_given_up = false;
    } else if (b->types & RP__T_OBJECT) {
        if (a->keys_given_up || b->keys_given_up) {
            /* Sticky, so that an array of dictionaries costs linear time, not quadratic. */
            drop_props(a);
            drop_props(b);
            a->keys_given_up = true;
        } else if (a->types & RP__T_OBJECT) {
            merge_props(a, b);
            if (a->n_props > RP_MAX_INFER_KEYS) {
                drop_props(a);
                a->keys_given_up = true;
            }
        } else {
            a->props = b->props;
            a->n_props = b->n_props;
            a->next_order = b->next_order;
            b->props = NULL;
            b->n_props = 0;
        }
    }
    /* items NULL on an array means no element was seen yet: the other side's items stand. */
    if ((b->types & RP__T_ARRAY) && b->items) {
        if (a->items) {
            rp__schema_union(a->items, b->items);
        } else {
            a->items = b->items;
        }
        b->items = NULL;
    }
    a->types |= b->types;
    rp__schema_free(b);
}

/* ----- maps keyed by ids ------------------------------------------------------------------- */

/* The values of id fields ("id", "…_id", "…Id") anywhere in one body, sorted, for lookups. */
struct ids {
    char **v;
    size_t n, cap;
};

static bool is_id_field(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    if (n == 2) {
        return (k[0] == 'i' || k[0] == 'I') && (k[1] == 'd' || k[1] == 'D');
    }
    return n > 2 && (strcmp(k + n - 3, "_id") == 0 || strcmp(k + n - 2, "Id") == 0 ||
                     strcmp(k + n - 2, "ID") == 0);
}

static void collect_ids(const cJSON *v, struct ids *ids, size_t depth)
{
    if (depth >= RP_MAX_JSON_DEPTH) {
        return;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, v)
    {
        if (cJSON_IsObject(m) || cJSON_IsArray(m)) {
            collect_ids(m, ids, depth + 1);
            continue;
        }
        if (!cJSON_IsObject(v) || !is_id_field(m->string) || ids->n == RP_MAX_INFER_KEYS) {
            continue;
        }
        char num[32];
        const char *text = NULL;
        if (cJSON_IsString(m)) {
            text = m->valuestring;
        } else if (cJSON_IsNumber(m) && m->valuedouble >= 0 && m->valuedouble < 1e15 &&
                   m->valuedouble == (double)(long long)m->valuedouble) {
            snprintf(num, sizeof(num), "%lld", (long long)m->valuedouble);
            text = num;
        }
        if (text && text[0]) {
            if (ids->n == ids->cap) {
                ids->cap = ids->cap ? ids->cap * 2 : 16;
                ids->v = rp_xreallocarray(ids->v, ids->cap, sizeof(*ids->v));
            }
            ids->v[ids->n++] = rp_xstrdup(text);
        }
    }
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ids_has(const struct ids *ids, const char *k)
{
    return ids && ids->n && bsearch(&k, ids->v, ids->n, sizeof(*ids->v), str_cmp);
}

/* True when the object key k has an id's shape: digits, a uuid, a hex id, a random token. */
static bool key_is_id(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 128) {
        return false;
    }
    if (rp__format_ok(RP__FMT_UUID, k, true)) {
        return true;
    }
    size_t digits = 0, letters = 0, lower = 0, upper = 0, hex = 0, turns = 0, seps = 0;
    int last = 0; /* 1: a letter, 2: a digit */
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        int cls;
        if (c >= '0' && c <= '9') {
            digits++;
            hex++;
            cls = 2;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            letters++;
            lower += c >= 'a';
            upper += c <= 'Z';
            hex += (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            cls = 1;
        } else if (c == '_' || c == '-') {
            seps++;
            continue;
        } else {
            return false;
        }
        turns += last && last != cls;
        last = cls;
    }
    if (digits == n) {
        return n <= 20; /* 42, 1234567890 */
    }
    if (n >= 8 && hex == n && digits >= 1 && (lower == 0 || upper == 0)) {
        return true; /* 5f2b9c1e, a Mongo ObjectId, a sha */
    }
    /* A random-looking token: cfw02w9r08ah3kl, not address2 or utf8 */
    return n >= 8 && digits >= 2 && letters >= 2 && turns >= 3 && seps <= 2;
}

/* True when every key of the object v is an id: id-shaped, or (two keys or more) a value of an
 * id field of the same body. */
static bool keyed_by_ids(const cJSON *v, size_t n, const struct ids *ids)
{
    if (n == 0) {
        return false;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, v)
    {
        const char *k = m->string ? m->string : "";
        if (!key_is_id(k) && !(n >= 2 && ids_has(ids, k))) {
            return false;
        }
    }
    return true;
}

static struct rp__schema *infer_in(const cJSON *v, size_t depth, const struct ids *ids);

static void infer_object(struct rp__schema *s, const cJSON *v, size_t depth, const struct ids *ids)
{
    size_t n = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, v)
    {
        n++;
    }
    if (keyed_by_ids(v, n, ids)) {
        cJSON_ArrayForEach(m, v)
        {
            struct rp__schema *one = infer_in(m, depth + 1, ids);
            if (s->values) {
                rp__schema_union(s->values, one);
            } else {
                s->values = one;
            }
        }
        s->map_inferred = true;
        return;
    }
    s->props = rp_xcalloc(n, sizeof(*s->props));
    cJSON_ArrayForEach(m, v)
    {
        struct rp__prop *p = &s->props[s->n_props];
        p->key = rp_xstrdup(m->string ? m->string : "");
        p->s = infer_in(m, depth + 1, ids);
        p->order = s->n_props;
        p->required = true;
        s->n_props++;
    }
    s->next_order = s->n_props;
    qsort(s->props, s->n_props, sizeof(*s->props), rp__prop_cmp);
    /* A key recorded twice in one object: both values are what it may hold. */
    size_t kept = 0;
    for (size_t i = 0; i < s->n_props; i++) {
        if (kept > 0 && strcmp(s->props[kept - 1].key, s->props[i].key) == 0) {
            rp__schema_union(s->props[kept - 1].s, s->props[i].s);
            free(s->props[i].key);
        } else {
            s->props[kept++] = s->props[i];
        }
    }
    s->n_props = kept;
}

struct rp__schema *rp__schema_infer(const cJSON *v, size_t depth)
{
    struct ids ids = {0};
    collect_ids(v, &ids, depth);
    if (ids.n > 1) {
        qsort(ids.v, ids.n, sizeof(*ids.v), str_cmp);
    }
    struct rp__schema *s = infer_in(v, depth, &ids);
    for (size_t i = 0; i < ids.n; i++) {
        free(ids.v[i]);
    }
    free(ids.v);
    return s;
}

static struct rp__schema *infer_in(const cJSON *v, size_t depth, const struct ids *ids)
{
    struct rp__schema *s = rp__schema_new();
    if (depth >= RP_MAX_JSON_DEPTH) {
        return s;
    }
    if (cJSON_IsObject(v)) {
        s->types = RP__T_OBJECT;
        infer_object(s, v, depth, ids);
    } else if (cJSON_IsArray(v)) {
        s->types = RP__T_ARRAY;
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            struct rp__schema *one = infer_in(e, depth + 1, ids);
            if (s->items) {
                rp__schema_union(s->items, one);
            } else {
                s->items = one;
            }
        }
    } else if (cJSON_IsString(v)) {
        s->types = RP__T_STRING;
        s->format = detect_format(v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        s->types = RP__T_NUMBER;
    } else if (cJSON_IsBool(v)) {
        s->types = RP__T_BOOLEAN;
    } else if (cJSON_IsNull(v)) {
        s->types = RP__T_NULL;
    }
    return s;
}
