/* SPDX-License-Identifier: MIT */
/*
 * Learning what moves between runs (`reprise shape --learn`). Each live response of each run is
 * walked against its shape as matching walks it (match.c), and every difference is relaxed on
 * the spot, just enough for that value to pass: a type added, a key no longer required, a value
 * added to an enum, a format dropped, a new key made an optional property where
 * additionalProperties is false. Each relaxation is a note on the schema node it changed,
 * holding the runs that needed it; a later run that needs the same relaxation (and so no longer
 * fails) still adds its run to the note, so that "null in 2 of 3 runs" counts every run. At the
 * end each note becomes a reason in the node's "learned" annotation, an unchecked keyword that
 * the shape file keeps. Nothing that matched is touched: what is stable stays strict.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* What a note relaxed. */
enum kind {
    K_TYPE,    /* a value of another type: its type was added (arg: the type bit) */
    K_MISSING, /* a required key was missing: no longer required (the node is the key's) */
    K_ENUM,    /* a value not in the enum: added (detail: the value as JSON) */
    K_FORMAT,  /* a string without the format: the format was dropped (arg: the format) */
    K_KEY,     /* an unexpected key (additionalProperties false): an optional property now */
};

#define RUN_WORDS ((RP_SHAPE_LEARN_MAX_RUNS + 63) / 64)

/* Problems kept for the caller to print; the rest are counted in a last line. */
#define MAX_PROBLEMS 100

/* The longest path and value text a reason shows. */
#define PATH_MAX_BYTES 1024
#define VALUE_CHARS    40

struct note {
    struct rp__schema *node; /* the schema relaxed (K_MISSING, K_KEY: the key's own) */
    uint64_t seq;
    size_t order; /* when it was made: the order of notes with one seq and path */
    enum kind kind;
    unsigned arg;
    char *detail;
    char *path;
    char *why; /* written by rp_shape_learner_finish */
    uint64_t runs[RUN_WORDS];
};

struct rp_shape_learner {
    struct rp_shapeset *set;
    unsigned runs;
    struct note *notes;
    size_t n_notes, cap_notes;
    char **problems;
    size_t n_problems;
    uint64_t more_problems;
    /* The response being walked. */
    uint64_t seq;
    unsigned run;
    struct rp_buf path;
};

struct rp_shape_learner *rp_shape_learner_new(struct rp_shapeset *set, unsigned runs)
{
    struct rp_shape_learner *l = rp_xcalloc(1, sizeof(*l));
    l->set = set;
    l->runs = runs < 1 ? 1 : runs > RP_SHAPE_LEARN_MAX_RUNS ? RP_SHAPE_LEARN_MAX_RUNS : runs;
    rp_buf_init(&l->path, PATH_MAX_BYTES);
    return l;
}

void rp_shape_learner_free(struct rp_shape_learner *l)
{
    if (!l) {
        return;
    }
    for (size_t i = 0; i < l->n_notes; i++) {
        free(l->notes[i].detail);
        free(l->notes[i].path);
        free(l->notes[i].why);
    }
    free(l->notes);
    for (size_t i = 0; i < l->n_problems; i++) {
        free(l->problems[i]);
    }
    free(l->problems);
    rp_buf_cleanup(&l->path);
    free(l);
}

/* ----- notes and problems ------------------------------------------------------------------ */

static const char *path_text(const struct rp_shape_learner *l)
{
    return l->path.data ? l->path.data : "$";
}

static void path_cut(struct rp_buf *p, size_t len)
{
    if (p->data && len <= p->len) {
        p->len = len;
        p->data[len] = '\0';
    }
}

/* The note of seq for this relaxation of node, or NULL. */
static struct note *find_note(struct rp_shape_learner *l, const struct rp__schema *node,
                              enum kind kind, unsigned arg, const char *detail)
{
    for (size_t i = 0; i < l->n_notes; i++) {
        struct note *n = &l->notes[i];
        if (n->node == node && n->kind == kind && n->arg == arg && n->seq == l->seq &&
            (!detail || (n->detail && strcmp(n->detail, detail) == 0))) {
            return n;
        }
    }
    return NULL;
}

static void add_run(struct rp_shape_learner *l, struct note *n)
{
    unsigned r = l->run - 1;
    n->runs[r / 64] |= UINT64_C(1) << (r % 64);
}

/* Counts the current run for an earlier relaxation of node, when there was one. */
static void seen_again(struct rp_shape_learner *l, const struct rp__schema *node, enum kind kind,
                       unsigned arg, const char *detail)
{
    struct note *n = find_note(l, node, kind, arg, detail);
    if (n) {
        add_run(l, n);
    }
}

/* Records a relaxation of node at the current path, in the current run. */
static void relaxed(struct rp_shape_learner *l, struct rp__schema *node, enum kind kind,
                    unsigned arg, const char *detail)
{
    struct note *n = find_note(l, node, kind, arg, detail);
    if (!n) {
        if (l->n_notes == l->cap_notes) {
            l->cap_notes = l->cap_notes ? l->cap_notes * 2 : 16;
            l->notes = rp_xreallocarray(l->notes, l->cap_notes, sizeof(*l->notes));
        }
        n = &l->notes[l->n_notes];
        memset(n, 0, sizeof(*n));
        n->node = node;
        n->seq = l->seq;
        n->order = l->n_notes;
        n->kind = kind;
        n->arg = arg;
        n->detail = detail ? rp_xstrdup(detail) : NULL;
        n->path = rp_xstrdup(path_text(l));
        l->n_notes++;
    }
    add_run(l, n);
}

static void problem(struct rp_shape_learner *l, const char *fmt, ...) RP_PRINTF(2, 3);

static void problem(struct rp_shape_learner *l, const char *fmt, ...)
{
    if (l->n_problems == MAX_PROBLEMS) {
        l->more_problems++;
        return;
    }
    char what[RP_MAX_MISMATCH_TEXT];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    char line[RP_MAX_MISMATCH_TEXT + 64];
    (void)snprintf(line, sizeof(line), "exchange %llu, run %u: %s", (unsigned long long)l->seq,
                   l->run, what);
    if (!l->problems) {
        l->problems = rp_xcalloc(MAX_PROBLEMS + 1, sizeof(*l->problems));
    }
    l->problems[l->n_problems++] = rp_xstrdup(line);
}

/* ----- the walk ---------------------------------------------------------------------------- */

static void walk_value(struct rp_shape_learner *l, struct rp__schema *s, const cJSON *v,
                       size_t depth);

/* Adds key to s as an optional property with schema child (taken); returns child. */
static struct rp__schema *add_prop(struct rp__schema *s, const char *key, struct rp__schema *child)
{
    s->props = rp_xreallocarray(s->props, s->n_props + 1, sizeof(*s->props));
    s->props[s->n_props] = (struct rp__prop){
        .key = rp_xstrdup(key),
        .s = child,
        .order = s->next_order++,
        .required = false,
    };
    s->n_props++;
    qsort(s->props, s->n_props, sizeof(*s->props), rp__prop_cmp);
    return child;
}

/* "required" names with no property that v lacks: made optional properties accepting anything
 * (a property is where the annotation can go). */
static void relax_required_extra(struct rp_shape_learner *l, struct rp__schema *s, const cJSON *v)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n_req_extra; i++) {
        char *name = s->req_extra[i];
        if (cJSON_GetObjectItemCaseSensitive(v, name)) {
            s->req_extra[kept++] = name;
            continue;
        }
        size_t old = l->path.len;
        rp__path_key(&l->path, name);
        relaxed(l, add_prop(s, name, rp__schema_new()), K_MISSING, 0, NULL);
        path_cut(&l->path, old);
        free(name);
    }
    s->n_req_extra = kept;
}

static void walk_object(struct rp_shape_learner *l, struct rp__schema *s, const cJSON *v,
                        size_t depth)
{
    bool *seen = rp_xcalloc(s->n_props + 1, sizeof(*seen));
    const cJSON **fresh = NULL; /* keys additionalProperties false does not allow */
    size_t n_fresh = 0;
    size_t old = l->path.len;
    const cJSON *m;
    cJSON_ArrayForEach(m, v)
    {
        const char *key = m->string ? m->string : "";
        size_t i = rp__schema_find(s, key);
        if (i != SIZE_MAX) {
            seen[i] = true;
            rp__path_key(&l->path, key);
            seen_again(l, s->props[i].s, K_KEY, 0, NULL);
            walk_value(l, s->props[i].s, m, depth + 1);
        } else if (s->values) {
            rp_ignore(rp_buf_adds(&l->path, ".*", NULL));
            walk_value(l, s->values, m, depth + 1);
        } else if (s->closed) {
            if (!fresh) {
                fresh = rp_xcalloc(cJSON_GetArraySize(v) + 1, sizeof(*fresh));
            }
            fresh[n_fresh++] = m;
        }
        path_cut(&l->path, old);
    }
    for (size_t i = 0; i < s->n_props; i++) {
        if (seen[i]) {
            continue;
        }
        rp__path_key(&l->path, s->props[i].key);
        if (s->props[i].required) {
            s->props[i].required = false;
            relaxed(l, s->props[i].s, K_MISSING, 0, NULL);
        } else {
            seen_again(l, s->props[i].s, K_MISSING, 0, NULL);
        }
        path_cut(&l->path, old);
    }
    free(seen);
    /* Properties are added only now: adding one re-sorts them, which the loops above index. */
    for (size_t i = 0; i < n_fresh; i++) {
        const char *key = fresh[i]->string ? fresh[i]->string : "";
        rp__path_key(&l->path, key);
        relaxed(l, add_prop(s, key, rp__schema_infer(fresh[i], depth + 1)), K_KEY, 0, NULL);
        path_cut(&l->path, old);
    }
    free(fresh);
    if (s->n_req_extra) {
        relax_required_extra(l, s, v);
    }
}

/* A value of a type s does not list: the type is added. An object or array under a schema that
 * says nothing of its contents gets its contents inferred from v, as strict as inference is. */
static void relax_type(struct rp_shape_learner *l, struct rp__schema *s, const cJSON *v,
                       size_t depth)
{
    unsigned t = rp__type_of(v);
    bool bare = s->n_props == 0 && !s->values && !s->items && s->n_req_extra == 0;
    relaxed(l, s, K_TYPE, t, NULL);
    if ((t & (RP__T_OBJECT | RP__T_ARRAY)) && bare) {
        rp__schema_union(s, rp__schema_infer(v, depth));
    }
    s->types |= t;
}

static void walk_enum(struct rp_shape_learner *l, struct rp__schema *s, const cJSON *v)
{
    char *text = rp__json_print(v, false);
    if (rp__in_enum(s->enum_values, v)) {
        seen_again(l, s, K_ENUM, 0, text);
    } else if (rp__value_hidden(v)) {
        /* A live value that looks like a secret goes neither into the file nor into a message. */
        problem(l, "%s: a value that looks like a secret is not added to the enum", path_text(l));
    } else if (cJSON_IsNumber(v) && v->valuedouble - v->valuedouble != 0) {
        /* 1e999: written back it would read as null, and mean another enum. */
        problem(l, "%s: %s is out of range for an enum: not learned", path_text(l), text);
    } else {
        cJSON_AddItemToArray(s->enum_values, cJSON_Duplicate(v, true));
        relaxed(l, s, K_ENUM, 0, text);
    }
    cJSON_free(text);
}

static void walk_string(struct rp_shape_learner *l, struct rp__schema *s, const cJSON *v)
{
    if (s->format && !rp__format_ok(s->format, v->valuestring, false)) {
        relaxed(l, s, K_FORMAT, s->format, NULL);
        s->format = RP__FMT_NONE;
    } else if (!s->format) {
        for (size_t i = 0; i < l->n_notes; i++) {
            const struct note *n = &l->notes[i];
            if (n->node == s && n->kind == K_FORMAT && n->seq == l->seq &&
                !rp__format_ok((enum rp__format)n->arg, v->valuestring, false)) {
                add_run(l, &l->notes[i]);
            }
        }
    }
    if (s->re && regexec(s->re, v->valuestring, 0, NULL, 0) != 0) {
        problem(l, "%s: does not match the pattern %.60s, which is not relaxed", path_text(l),
                s->pattern);
    }
}

/* Relaxes s, at nesting depth, until v passes it; the same checks in the same order as
 * match_value, so that what passed there is left alone here. */
static void walk_value(struct rp_shape_learner *l, struct rp__schema *s, const cJSON *v,
                       size_t depth)
{
    if (depth >= RP_MAX_JSON_DEPTH) {
        return;
    }
    if (s->types && !rp__type_ok(s->types, v)) {
        relax_type(l, s, v, depth);
        return;
    }
    if (s->types) {
        seen_again(l, s, K_TYPE, rp__type_of(v), NULL);
    }
    if (s->enum_values) {
        walk_enum(l, s, v);
    }
    if (cJSON_IsString(v)) {
        walk_string(l, s, v);
    } else if (cJSON_IsObject(v)) {
        walk_object(l, s, v, depth);
    } else if (cJSON_IsArray(v) && s->items && depth + 1 < RP_MAX_JSON_DEPTH) {
        size_t old = l->path.len;
        rp_ignore(rp_buf_adds(&l->path, "[*]", NULL));
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            walk_value(l, s->items, e, depth + 1);
        }
        path_cut(&l->path, old);
    }
}

void rp_shape_learn(struct rp_shape_learner *l, uint64_t seq, unsigned run,
                    const struct rp_response *live)
{
    struct rp_shape *s = rp__shapeset_get_mut(l->set, seq);
    if (!s || run == 0 || run > l->runs) {
        return;
    }
    l->seq = seq;
    l->run = run;
    if (live->status != s->status) {
        problem(l, "status: expected %u, got %u", s->status, live->status);
        return;
    }
    char mt[RP_MAX_MEDIA_TYPE_BYTES];
    if (s->media_type &&
        (!rp_media_type(&live->headers, mt, sizeof(mt)) || strcmp(mt, s->media_type) != 0)) {
        problem(l, "media type: expected %s, got %s", s->media_type,
                rp_media_type(&live->headers, mt, sizeof(mt)) ? mt : "none");
        return;
    }
    if (!s->body) {
        return;
    }
    cJSON *doc = rp__json_parse((const char *)live->body.data, live->body.len, NULL);
    if (!doc) {
        problem(l, "$: expected JSON, got %s", live->body.len ? "invalid JSON" : "empty body");
        return;
    }
    path_cut(&l->path, 0);
    rp_ignore(rp_buf_addc(&l->path, '$', NULL));
    walk_value(l, s->body, doc, 0);
    cJSON_Delete(doc);
}

/* ----- the annotations --------------------------------------------------------------------- */

static unsigned run_count(const struct note *n)
{
    unsigned c = 0;
    for (size_t w = 0; w < RUN_WORDS; w++) {
        c += (unsigned)__builtin_popcountll(n->runs[w]);
    }
    return c;
}

/* What moved, without the runs: "null", "missing", "new value \"app\"". */
static void what_moved(const struct note *n, struct rp_buf *b)
{
    switch (n->kind) {
    case K_TYPE:
        rp_ignore(rp_buf_adds(b, rp__type_name(n->arg), NULL));
        break;
    case K_MISSING:
        rp_ignore(rp_buf_adds(b, "missing", NULL));
        break;
    case K_ENUM: {
        rp_ignore(rp_buf_adds(b, "new value ", NULL));
        /* detail is JSON text: a string comes quoted already. Cut, as messages cut values. */
        size_t len = strlen(n->detail);
        rp_ignore(rp_buf_add(b, n->detail, len > VALUE_CHARS ? VALUE_CHARS : len, NULL));
        rp_ignore(rp_buf_adds(b, len > VALUE_CHARS ? "..." : "", NULL));
        break;
    }
    case K_FORMAT:
        rp_ignore(rp_buf_addf(b, NULL, "not %s format", rp__format_name((enum rp__format)n->arg)));
        break;
    case K_KEY:
        rp_ignore(rp_buf_adds(b, "new key", NULL));
        break;
    }
}

/* The node's "learned": {"why": [...]}, made when it has none (or not of that form). */
static cJSON *why_list(struct rp__schema *node)
{
    if (!node->extra) {
        node->extra = cJSON_CreateObject();
    }
    cJSON *learned = cJSON_GetObjectItemCaseSensitive(node->extra, "learned");
    if (!cJSON_IsObject(learned)) {
        learned = cJSON_CreateObject();
        if (!cJSON_ReplaceItemInObjectCaseSensitive(node->extra, "learned", learned)) {
            cJSON_AddItemToObject(node->extra, "learned", learned);
        }
    }
    cJSON *why = cJSON_GetObjectItemCaseSensitive(learned, "why");
    if (!cJSON_IsArray(why)) {
        why = cJSON_CreateArray();
        if (!cJSON_ReplaceItemInObjectCaseSensitive(learned, "why", why)) {
            cJSON_AddItemToObject(learned, "why", why);
        }
    }
    return why;
}

/* Adds the reason to node's annotation, in place of one an earlier learning gave for the same
 * thing ("null in 1 of 3 runs" gives way to "null in 2 of 5 runs"). */
static void annotate(struct rp__schema *node, const char *moved, const char *why)
{
    cJSON *list = why_list(node);
    size_t n = strlen(moved);
    cJSON *e = list->child;
    while (e) {
        cJSON *next = e->next;
        if (cJSON_IsString(e) && strncmp(e->valuestring, moved, n) == 0 &&
            strncmp(e->valuestring + n, " in ", 4) == 0) {
            cJSON_Delete(cJSON_DetachItemViaPointer(list, e));
        }
        e = next;
    }
    cJSON_AddItemToArray(list, cJSON_CreateString(why));
}

static int note_cmp(const void *a, const void *b)
{
    const struct note *x = a;
    const struct note *y = b;
    if (x->seq != y->seq) {
        return x->seq < y->seq ? -1 : 1;
    }
    int c = strcmp(x->path, y->path);
    if (c) {
        return c;
    }
    return (x->order > y->order) - (x->order < y->order);
}

void rp_shape_learner_finish(struct rp_shape_learner *l)
{
    if (l->n_notes > 1) {
        qsort(l->notes, l->n_notes, sizeof(*l->notes), note_cmp);
    }
    for (size_t i = 0; i < l->n_notes; i++) {
        struct note *n = &l->notes[i];
        struct rp_buf b;
        rp_buf_init(&b, SIZE_MAX / 2);
        what_moved(n, &b);
        size_t moved = b.len;
        unsigned c = run_count(n);
        rp_ignore(rp_buf_addf(&b, NULL, " in %u of %u run%s", c, l->runs, l->runs == 1 ? "" : "s"));
        free(n->why);
        n->why = rp_xstrdup(b.data);
        b.data[moved] = '\0';
        annotate(n->node, b.data, n->why);
        rp_buf_cleanup(&b);
    }
    if (l->more_problems && l->n_problems == MAX_PROBLEMS) {
        char line[64];
        (void)snprintf(line, sizeof(line), "... %llu more", (unsigned long long)l->more_problems);
        l->problems[l->n_problems++] = rp_xstrdup(line);
        l->more_problems = 0;
    }
}

size_t rp_shape_learner_count(const struct rp_shape_learner *l)
{
    return l->n_notes;
}

void rp_shape_learner_get(const struct rp_shape_learner *l, size_t i, struct rp_learned *out)
{
    const struct note *n = &l->notes[i];
    out->seq = n->seq;
    out->request = rp__shapeset_label(l->set, n->seq);
    out->path = n->path;
    out->why = n->why ? n->why : "";
}

size_t rp_shape_learner_problems(const struct rp_shape_learner *l)
{
    return l->n_problems;
}

const char *rp_shape_learner_problem(const struct rp_shape_learner *l, size_t i)
{
    return l->problems[i];
}
