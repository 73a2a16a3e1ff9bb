/* SPDX-License-Identifier: MIT */
/*
 * Inferring a body schema from a recorded JSON value: every key seen is required, numbers are
 * "number", strings carry a format when they look like one, and array items are the union of
 * the recorded elements (so ["string","null"] is how a nullable value comes out).
 */
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
    if (b->types & RP__T_OBJECT) {
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

static void infer_object(struct rp__schema *s, const cJSON *v, size_t depth)
{
    size_t n = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, v)
    {
        n++;
    }
    s->props = rp_xcalloc(n, sizeof(*s->props));
    cJSON_ArrayForEach(m, v)
    {
        struct rp__prop *p = &s->props[s->n_props];
        p->key = rp_xstrdup(m->string ? m->string : "");
        p->s = rp__schema_infer(m, depth + 1);
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
    struct rp__schema *s = rp__schema_new();
    if (depth >= RP_MAX_JSON_DEPTH) {
        return s;
    }
    if (cJSON_IsObject(v)) {
        s->types = RP__T_OBJECT;
        infer_object(s, v, depth);
    } else if (cJSON_IsArray(v)) {
        s->types = RP__T_ARRAY;
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            struct rp__schema *one = rp__schema_infer(e, depth + 1);
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
