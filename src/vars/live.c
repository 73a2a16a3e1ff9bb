/* SPDX-License-Identifier: MIT */
/*
 * Record-time variables, the replaying half (reprise/vars.h): places read back from a
 * recording, values taken from a live response at them, and one session's table of live values.
 * Also the JSON walk both halves share, so that a path written when recording names the same
 * string at replay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/buf.h>
#include <reprise/redact.h>
#include <reprise/vars.h>

#include "../jscan_int.h"
#include "../text_int.h"
#include "../url_int.h"
#include "internal.h"

/* ----- the JSON walk ------------------------------------------------------------------------- */

struct walk {
    const char *s;
    size_t n;
    rp__var_leaf_fn fn;
    void *ud;
    struct rp_buf path;
    bool stop;
};

static bool plain_key(const char *k, size_t n)
{
    if (n == 0 || (k[0] >= '0' && k[0] <= '9')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

static bool walk_value(struct walk *w, size_t *pi, const char *key, size_t key_len, size_t depth);

/* Appends a member's step to the path: .key, or ["key"] when it is not plain. False when the
 * path would not fit. */
static bool push_key(struct walk *w, const char *k, size_t n)
{
    if (plain_key(k, n)) {
        return !rp_buf_addc(&w->path, '.', NULL) && !rp_buf_add(&w->path, k, n, NULL);
    }
    return !rp_buf_add(&w->path, "[\"", 2, NULL) && !rp__json_escape(&w->path, k, n, NULL) &&
           !rp_buf_add(&w->path, "\"]", 2, NULL);
}

static bool walk_object(struct walk *w, size_t *pi, size_t depth)
{
    size_t i = rp__jscan_ws(w->s, w->n, *pi + 1);
    if (i < w->n && w->s[i] == '}') {
        *pi = i + 1;
        return true;
    }
    char key[RP_MAX_VAR_PLACE + 1];
    for (;;) {
        i = rp__jscan_ws(w->s, w->n, i);
        size_t klen = 0;
        bool fits = false;
        if (i >= w->n || w->s[i] != '"' ||
            !rp__jscan_string(w->s, w->n, &i, key, sizeof(key), &klen, &fits)) {
            return false;
        }
        i = rp__jscan_ws(w->s, w->n, i);
        if (i >= w->n || w->s[i] != ':') {
            return false;
        }
        i++;
        size_t mark = w->path.len;
        bool pushed = fits && push_key(w, key, klen);
        if (pushed) {
            if (!walk_value(w, &i, key, klen, depth + 1)) {
                return false;
            }
        } else if (!rp__jscan_value(w->s, w->n, &i, depth + 1)) {
            return false; /* a key too long for a place: its value is passed over */
        }
        w->path.len = mark;
        w->path.data[mark] = '\0';
        if (w->stop) {
            return true;
        }
        i = rp__jscan_ws(w->s, w->n, i);
        if (i < w->n && w->s[i] == ',') {
            i++;
            continue;
        }
        if (i < w->n && w->s[i] == '}') {
            *pi = i + 1;
            return true;
        }
        return false;
    }
}

static bool walk_array(struct walk *w, size_t *pi, size_t depth)
{
    size_t i = rp__jscan_ws(w->s, w->n, *pi + 1);
    if (i < w->n && w->s[i] == ']') {
        *pi = i + 1;
        return true;
    }
    for (size_t idx = 0;; idx++) {
        size_t mark = w->path.len;
        if (rp_buf_addf(&w->path, NULL, "[%zu]", idx)) {
            if (!rp__jscan_value(w->s, w->n, &i, depth + 1)) {
                return false;
            }
        } else if (!walk_value(w, &i, NULL, 0, depth + 1)) {
            return false;
        }
        w->path.len = mark;
        w->path.data[mark] = '\0';
        if (w->stop) {
            return true;
        }
        i = rp__jscan_ws(w->s, w->n, i);
        if (i < w->n && w->s[i] == ',') {
            i++;
            continue;
        }
        if (i < w->n && w->s[i] == ']') {
            *pi = i + 1;
            return true;
        }
        return false;
    }
}

static bool walk_value(struct walk *w, size_t *pi, const char *key, size_t key_len, size_t depth)
{
    if (depth > RP_MAX_JSON_DEPTH) {
        return false;
    }
    size_t i = rp__jscan_ws(w->s, w->n, *pi);
    if (i >= w->n) {
        return false;
    }
    char c = w->s[i];
    bool ok;
    if (c == '{') {
        ok = walk_object(w, &i, depth);
    } else if (c == '[') {
        ok = walk_array(w, &i, depth);
    } else if (c == '"') {
        size_t start = i;
        ok = rp__jscan_string(w->s, w->n, &i, NULL, 0, NULL, NULL);
        if (ok) {
            struct rp__var_leaf leaf = {
                w->path.len ? w->path.data : "$", key, key_len, start, i,
            };
            w->stop = !w->fn(w->ud, &leaf);
        }
    } else {
        ok = rp__jscan_value(w->s, w->n, &i, depth);
    }
    *pi = i;
    return ok;
}

bool rp__var_json_walk(const char *s, size_t n, rp__var_leaf_fn fn, void *ud)
{
    struct walk w = {s, n, fn, ud, {0}, false};
    rp_buf_init(&w.path, RP_MAX_VAR_PLACE);
    rp_ignore(rp_buf_addc(&w.path, '$', NULL)); /* room is there */
    size_t i = 0;
    bool ok = walk_value(&w, &i, NULL, 0, 0);
    rp_buf_cleanup(&w.path);
    return ok;
}

/* ----- places ---------------------------------------------------------------------------- */

/* Reads " jwt N" at s (the rest of a place); false when it is something else. */
static bool parse_jwt_index(const char *s, size_t *out)
{
    if (strncmp(s, " jwt ", 5) != 0) {
        return false;
    }
    s += 5;
    size_t v = 0;
    size_t k = 0;
    for (; s[k] >= '0' && s[k] <= '9' && k < 6; k++) {
        v = v * 10 + (size_t)(s[k] - '0');
    }
    if (k == 0 || s[k] != '\0' || v == 0) {
        return false;
    }
    *out = v;
    return true;
}

rp_code rp_var_place_parse(const char *from, struct rp_var_place *out, struct rp_error *err)
{
    struct rp_var_place p = {0};
    size_t n = strlen(from);
    bool ok = n <= RP_MAX_VAR_PLACE;
    if (ok && strncmp(from, "body $", 6) == 0) {
        p.kind = RP_VAR_BODY_JSON;
        memcpy(p.key, from + 5, n - 5 + 1);
    } else if (ok && strncmp(from, "body", 4) == 0 && parse_jwt_index(from + 4, &p.index)) {
        p.kind = RP_VAR_BODY_JWT;
    } else if (ok && (strncmp(from, "header ", 7) == 0 || strncmp(from, "cookie ", 7) == 0)) {
        const char *name = from + 7;
        size_t nlen = strcspn(name, " ");
        ok = nlen > 0;
        p.kind = from[0] == 'h' ? RP_VAR_HEADER : RP_VAR_COOKIE;
        if (ok && name[nlen] != '\0') {
            ok = p.kind == RP_VAR_HEADER && parse_jwt_index(name + nlen, &p.index);
            p.kind = RP_VAR_HEADER_JWT;
        }
        if (ok) {
            memcpy(p.key, name, nlen);
            p.key[nlen] = '\0';
        }
    } else {
        ok = false;
    }
    if (!ok) {
        return rp_error_set(err, RP_EFORMAT, "\"%.64s\" is not a variable's place", from);
    }
    *out = p;
    return RP_OK;
}

struct find_path {
    const char *path;
    const char *text;
    char *value;
};

static bool on_find(void *ud, const struct rp__var_leaf *leaf)
{
    struct find_path *f = ud;
    if (strcmp(leaf->path, f->path) != 0) {
        return true;
    }
    size_t i = leaf->start;
    size_t len = 0;
    bool fits = false;
    size_t room = leaf->end - leaf->start;
    char *v = rp_xmalloc(room + 1);
    if (rp__jscan_string(f->text, leaf->end, &i, v, room + 1, &len, &fits) && fits && len > 0) {
        f->value = v;
    } else {
        free(v);
    }
    return false;
}

/* The nth (1-based) JWT in the n bytes at s, as new memory. */
static char *nth_jwt(const char *s, size_t n, size_t nth)
{
    size_t pos = 0, a = 0, b = 0;
    for (size_t k = 1; rp__var_next_jwt(s, n, &pos, &a, &b); k++) {
        if (k == nth) {
            return rp_xstrndup(s + a, b - a);
        }
    }
    return NULL;
}

bool rp_var_take(const struct rp_var_place *place, const struct rp_response *resp, char **out)
{
    const char *body = (const char *)resp->body.data;
    char *v = NULL;
    switch (place->kind) {
    case RP_VAR_BODY_JSON: {
        struct find_path f = {place->key, body, NULL};
        if (resp->body.len) {
            rp_ignore(rp__var_json_walk(body, resp->body.len, on_find, &f));
        }
        v = f.value;
        break;
    }
    case RP_VAR_BODY_JWT:
        v = resp->body.len ? nth_jwt(body, resp->body.len, place->index) : NULL;
        break;
    case RP_VAR_HEADER:
    case RP_VAR_HEADER_JWT: {
        const struct rp_header *h = rp_headers_get(&resp->headers, place->key, NULL);
        if (h && place->kind == RP_VAR_HEADER) {
            v = h->value_len ? rp_xstrndup(h->value, h->value_len) : NULL;
        } else if (h) {
            v = nth_jwt(h->value, h->value_len, place->index);
        }
        break;
    }
    case RP_VAR_COOKIE: {
        size_t at = 0;
        const struct rp_header *h;
        size_t klen = strlen(place->key);
        while (!v && (h = rp_headers_get(&resp->headers, "Set-Cookie", &at)) != NULL) {
            size_t pos = 0;
            struct rp__pair pr;
            if (rp__cookie_next(h->value, h->value_len, &pos, &pr) && pr.name_len == klen &&
                memcmp(h->value + pr.name_off, place->key, klen) == 0 && pr.value_len > 0) {
                v = rp_xstrndup(h->value + pr.value_off, pr.value_len);
            }
        }
        break;
    }
    }
    if (!v) {
        return false;
    }
    *out = v;
    return true;
}

/* ----- a session's table --------------------------------------------------------------------- */

struct entry {
    char *name;
    char *from;
    uint64_t seq;  /* the exchange it is born in */
    char *value;   /* the live value; NULL when missing */
    bool observed; /* its exchange was replayed (a response came) */
};

struct rp_var_table {
    struct entry *v;
    size_t n;
};

struct rp_var_table *rp_var_table_new(void)
{
    return rp_xcalloc(1, sizeof(struct rp_var_table));
}

void rp_var_table_free(struct rp_var_table *t)
{
    if (!t) {
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].name);
        free(t->v[i].from);
        free(t->v[i].value);
    }
    free(t->v);
    free(t);
}

struct rp_var_table *rp_var_table_copy(const struct rp_var_table *t)
{
    struct rp_var_table *c = rp_var_table_new();
    if (t && t->n) {
        c->v = rp_xcalloc(t->n, sizeof(*c->v));
        for (size_t i = 0; i < t->n; i++) {
            c->v[i].name = rp_xstrdup(t->v[i].name);
            c->v[i].from = rp_xstrdup(t->v[i].from);
            c->v[i].seq = t->v[i].seq;
        }
        c->n = t->n;
    }
    return c;
}

size_t rp_var_table_count(const struct rp_var_table *t)
{
    return t ? t->n : 0;
}

void rp_var_table_get(const struct rp_var_table *t, size_t i, const char **out_name,
                      const char **out_from, uint64_t *out_seq)
{
    *out_name = t->v[i].name;
    *out_from = t->v[i].from;
    *out_seq = t->v[i].seq;
}

static struct entry *find(const struct rp_var_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->v[i].name, name) == 0) {
            return &t->v[i];
        }
    }
    return NULL;
}

rp_code rp_var_table_observe(struct rp_var_table *t, const struct rp_exchange *rec,
                             const struct rp_response *live, struct rp_error *err)
{
    for (size_t i = 0; i < rec->n_vars; i++) {
        const struct rp_var_decl *d = &rec->vars[i];
        struct rp_var_place place;
        rp_code rc = rp_var_place_parse(d->from, &place, err);
        if (rc) {
            return rp_error_prefix(err, "exchange %llu: variable %s", (unsigned long long)rec->seq,
                                   d->name);
        }
        struct entry *e = find(t, d->name);
        if (!e) {
            t->v = rp_xreallocarray(t->v, t->n + 1, sizeof(*t->v));
            e = &t->v[t->n++];
            memset(e, 0, sizeof(*e));
            e->name = rp_xstrdup(d->name);
        }
        free(e->from);
        free(e->value);
        e->from = rp_xstrdup(d->from);
        e->seq = rec->seq;
        e->value = NULL;
        e->observed = live != NULL;
        if (live && !rp_var_take(&place, live, &e->value)) {
            e->value = NULL;
        }
    }
    return RP_OK;
}

const char *rp_var_table_value(void *t, const char *name)
{
    const struct entry *e = find(t, name);
    return e ? e->value : NULL;
}

struct check {
    const struct rp_var_table *t;
    bool need_values;
    struct rp_error *err;
    rp_code rc;
};

static int check_one(void *ud, const char *name)
{
    struct check *c = ud;
    const struct entry *e = find(c->t, name);
    if (!e) {
        c->rc = rp_error_set(c->err, RP_EFORMAT,
                             "variable %s is used but no earlier response gives it", name);
        return 1;
    }
    if (c->need_values && !e->value) {
        if (e->observed) {
            c->rc = rp_error_set(c->err, RP_EMISSING,
                                 "variable %s: %s not in the live response of #%llu", name, e->from,
                                 (unsigned long long)e->seq);
        } else {
            c->rc = rp_error_set(c->err, RP_EMISSING,
                                 "variable %s: #%llu, whose %s gives it, got no live response",
                                 name, (unsigned long long)e->seq, e->from);
        }
        return 1;
    }
    return 0;
}

rp_code rp_var_table_check(const struct rp_var_table *t, const struct rp_request *req,
                           bool need_values, struct rp_error *err)
{
    struct check c = {t, need_values, err, RP_OK};
    rp_ignore(rp_vars_each(req, check_one, &c));
    return c.rc;
}
