/* SPDX-License-Identifier: MIT */
/*
 * The body schema: compiling it from a shape file's JSON (checking every keyword reprise
 * knows, keeping the others to write back), writing it out again, and the small helpers the
 * whole module shares: type names, formats, path steps and quoting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../text_int.h"
#include "../time_int.h"
#include "internal.h"

static const char *const type_names[RP__T_COUNT] = {
    "object", "array", "string", "number", "integer", "boolean", "null",
};

static const char *const format_names[] = {NULL, "uuid", "date-time", "email", "uri"};
#define FORMAT_COUNT (sizeof(format_names) / sizeof(format_names[0]))

/* ----- lifetime ---------------------------------------------------------------------------- */

struct rp__schema *rp__schema_new(void)
{
    return rp_xcalloc(1, sizeof(struct rp__schema));
}

void rp__schema_free(struct rp__schema *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n_props; i++) {
        free(s->props[i].key);
        rp__schema_free(s->props[i].s);
    }
    free(s->props);
    for (size_t i = 0; i < s->n_req_extra; i++) {
        free(s->req_extra[i]);
    }
    free(s->req_extra);
    rp__schema_free(s->items);
    rp__schema_free(s->values);
    cJSON_Delete(s->enum_values);
    free(s->pattern);
    if (s->re) {
        regfree(s->re);
        free(s->re);
    }
    cJSON_Delete(s->extra);
    free(s);
}

int rp__prop_cmp(const void *a, const void *b)
{
    const struct rp__prop *x = a;
    const struct rp__prop *y = b;
    int c = strcmp(x->key, y->key);
    if (c) {
        return c;
    }
    return (x->order > y->order) - (x->order < y->order);
}

size_t rp__schema_find(const struct rp__schema *s, const char *key)
{
    size_t lo = 0;
    size_t hi = s->n_props;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, s->props[mid].key);
        if (c == 0) {
            return mid;
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return SIZE_MAX;
}

/* ----- names, formats, text ---------------------------------------------------------------- */

const char *rp__type_name(unsigned t)
{
    for (unsigned i = 0; i < RP__T_COUNT; i++) {
        if (t == 1u << i) {
            return type_names[i];
        }
    }
    return "?";
}

void rp__types_text(unsigned types, struct rp_buf *b)
{
    unsigned n = 0;
    for (unsigned i = 0; i < RP__T_COUNT; i++) {
        n += (types >> i) & 1u;
    }
    unsigned k = 0;
    for (unsigned i = 0; i < RP__T_COUNT; i++) {
        if (!(types & (1u << i))) {
            continue;
        }
        if (k > 0) {
            rp_ignore(rp_buf_adds(b, k == n - 1 ? " or " : ", ", NULL));
        }
        rp_ignore(rp_buf_adds(b, type_names[i], NULL));
        k++;
    }
}

const char *rp__format_name(enum rp__format f)
{
    return (unsigned)f < FORMAT_COUNT && format_names[f] ? format_names[f] : "?";
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool uuid_ok(const char *s)
{
    for (size_t i = 0; i < 36; i++) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : rp__hex_value((unsigned char)c) < 0) {
            return false;
        }
    }
    return s[36] == '\0';
}

/* RFC 3339 date-time: 2026-11-23T20:01:02Z, with an optional fraction and a Z or offset. */
static bool date_time_ok(const char *s)
{
    int64_t us;
    return rp__iso8601_parse(s, strlen(s), RP__ISO_RFC3339, &us);
}

static bool no_space(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            return false;
        }
    }
    return *s != '\0';
}

/* something@something.tld, no spaces, one @. */
static bool email_ok(const char *s)
{
    if (!no_space(s)) {
        return false;
    }
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@')) {
        return false;
    }
    const char *dom = at + 1;
    const char *dot = strrchr(dom, '.');
    return dot && dot > dom && dot[1] != '\0';
}

/*
 * A uri: any absolute URI (scheme ":" something, no spaces) when checking, but only
 * http:// or https:// with a host when inferring, so that "note:x" is not taken for one.
 */
static bool uri_ok(const char *s, bool http_only)
{
    if (!no_space(s)) {
        return false;
    }
    if (http_only) {
        const char *rest = NULL;
        if (strncasecmp(s, "http://", 7) == 0) {
            rest = s + 7;
        } else if (strncasecmp(s, "https://", 8) == 0) {
            rest = s + 8;
        }
        return rest && *rest != '\0' && *rest != '/';
    }
    if (!is_alpha(*s)) {
        return false;
    }
    const char *p = s + 1;
    while (is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-' || *p == '.') {
        p++;
    }
    return *p == ':' && p[1] != '\0';
}

bool rp__format_ok(enum rp__format f, const char *s, bool for_infer)
{
    switch (f) {
    case RP__FMT_NONE:
        return true;
    case RP__FMT_UUID:
        return uuid_ok(s);
    case RP__FMT_DATE_TIME:
        return date_time_ok(s);
    case RP__FMT_EMAIL:
        return email_ok(s);
    case RP__FMT_URI:
        return uri_ok(s, for_infer);
    }
    return false;
}

static bool identifier(const char *k)
{
    if (!is_alpha(*k) && *k != '_') {
        return false;
    }
    size_t n = 0;
    for (const char *p = k; *p; p++, n++) {
        if ((!is_alpha(*p) && !is_digit(*p) && *p != '_') || n >= RP_SHAPE_PATH_KEY_CHARS) {
            return false;
        }
    }
    return true;
}

void rp__path_key(struct rp_buf *b, const char *key)
{
    if (identifier(key)) {
        rp_ignore(rp_buf_addc(b, '.', NULL));
        rp_ignore(rp_buf_adds(b, key, NULL));
        return;
    }
    rp_ignore(rp_buf_addc(b, '[', NULL));
    rp__quote(b, key, RP_SHAPE_PATH_KEY_CHARS);
    rp_ignore(rp_buf_addc(b, ']', NULL));
}

void rp__quote(struct rp_buf *b, const char *s, size_t max_chars)
{
    rp_ignore(rp_buf_addc(b, '"', NULL));
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        /* A character starts at any byte that is not a UTF-8 continuation byte. */
        if ((c & 0xC0) != 0x80) {
            if (chars == max_chars) {
                rp_ignore(rp_buf_adds(b, "...", NULL));
                break;
            }
            chars++;
        }
        const char *esc = NULL;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            break;
        }
        if (esc) {
            rp_ignore(rp_buf_adds(b, esc, NULL));
        } else if (c < 0x20) {
            rp_ignore(rp_buf_addf(b, NULL, "\\u%04x", (unsigned)c));
        } else {
            rp_ignore(rp_buf_addc(b, (char)c, NULL));
        }
    }
    rp_ignore(rp_buf_addc(b, '"', NULL));
}

/* ----- compiling from JSON ----------------------------------------------------------------- */

enum {
    KW_TYPE,
    KW_PROPERTIES,
    KW_REQUIRED,
    KW_ITEMS,
    KW_ENUM,
    KW_FORMAT,
    KW_PATTERN,
    KW_ADDITIONAL,
    KW_COUNT,
};

static const char *const keywords[KW_COUNT] = {
    "type", "properties", "required", "items", "enum", "format", "pattern", "additionalProperties",
};

static const char *wtext(const struct rp_buf *where)
{
    return where->data ? where->data : "";
}

/* Cuts where back to len bytes after a step was appended for a child. */
static void cut(struct rp_buf *where, size_t len)
{
    if (where->data && len <= where->len) {
        where->len = len;
        where->data[len] = '\0';
    }
}

static rp_code type_bit(const cJSON *t, const struct rp_buf *where, unsigned *out,
                        struct rp_error *err)
{
    if (!cJSON_IsString(t)) {
        return rp_error_set(err, RP_EFORMAT,
                            "\"%s.type\" is not a type name or an array of type names",
                            wtext(where));
    }
    for (unsigned i = 0; i < RP__T_COUNT; i++) {
        if (strcmp(t->valuestring, type_names[i]) == 0) {
            *out = 1u << i;
            return RP_OK;
        }
    }
    return rp_error_set(err, RP_EFORMAT, "\"%s.type\" is not a JSON type (\"%.40s\")", wtext(where),
                        t->valuestring);
}

static rp_code compile_type(const cJSON *t, const struct rp_buf *where, struct rp__schema *s,
                            struct rp_error *err)
{
    unsigned bit = 0;
    if (!cJSON_IsArray(t)) {
        rp_code rc = type_bit(t, where, &bit, err);
        s->types = bit;
        return rc;
    }
    if (!t->child) {
        return rp_error_set(err, RP_EFORMAT, "\"%s.type\" is an empty array", wtext(where));
    }
    const cJSON *x;
    cJSON_ArrayForEach(x, t)
    {
        rp_code rc = type_bit(x, where, &bit, err);
        if (rc) {
            return rc;
        }
        s->types |= bit;
    }
    return RP_OK;
}

static rp_code compile_properties(const cJSON *p, struct rp_buf *where, size_t depth,
                                  struct rp__schema *s, struct rp_error *err)
{
    if (!cJSON_IsObject(p)) {
        return rp_error_set(err, RP_EFORMAT, "\"%s.properties\" is not an object", wtext(where));
    }
    size_t n = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, p)
    {
        n++;
    }
    s->props = rp_xcalloc(n, sizeof(*s->props));
    size_t old = where->len;
    cJSON_ArrayForEach(m, p)
    {
        rp_ignore(rp_buf_adds(where, ".properties", NULL));
        rp__path_key(where, m->string);
        struct rp__schema *child = NULL;
        rp_code rc = rp__schema_compile(m, where, depth + 1, &child, err);
        cut(where, old);
        if (rc) {
            return rc;
        }
        struct rp__prop *e = &s->props[s->n_props];
        e->key = rp_xstrdup(m->string);
        e->s = child;
        e->order = s->n_props;
        s->n_props++;
    }
    s->next_order = s->n_props;
    qsort(s->props, s->n_props, sizeof(*s->props), rp__prop_cmp);
    for (size_t i = 1; i < s->n_props; i++) {
        if (strcmp(s->props[i - 1].key, s->props[i].key) == 0) {
            rp_ignore(rp_buf_adds(where, ".properties", NULL));
            rp__path_key(where, s->props[i].key);
            rp_code rc = rp_error_set(err, RP_EFORMAT, "\"%s\" appears twice", wtext(where));
            cut(where, old);
            return rc;
        }
    }
    return RP_OK;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Marks the required properties; names without a property go to req_extra, sorted, once. */
static rp_code compile_required(const cJSON *r, const struct rp_buf *where, struct rp__schema *s,
                                struct rp_error *err)
{
    size_t n = 0;
    const cJSON *x = NULL;
    if (cJSON_IsArray(r)) {
        cJSON_ArrayForEach(x, r)
        {
            if (!cJSON_IsString(x)) {
                break;
            }
            n++;
        }
    }
    if (!cJSON_IsArray(r) || x) {
        return rp_error_set(err, RP_EFORMAT, "\"%s.required\" is not an array of strings",
                            wtext(where));
    }
    s->req_extra = rp_xcalloc(n, sizeof(*s->req_extra));
    cJSON_ArrayForEach(x, r)
    {
        size_t i = rp__schema_find(s, x->valuestring);
        if (i != SIZE_MAX) {
            s->props[i].required = true;
        } else {
            s->req_extra[s->n_req_extra++] = rp_xstrdup(x->valuestring);
        }
    }
    qsort(s->req_extra, s->n_req_extra, sizeof(*s->req_extra), str_cmp);
    size_t kept = 0;
    for (size_t i = 0; i < s->n_req_extra; i++) {
        if (kept > 0 && strcmp(s->req_extra[kept - 1], s->req_extra[i]) == 0) {
            free(s->req_extra[i]);
        } else {
            s->req_extra[kept++] = s->req_extra[i];
        }
    }
    s->n_req_extra = kept;
    return RP_OK;
}

static rp_code compile_format(const cJSON *f, const struct rp_buf *where, struct rp__schema *s,
                              struct rp_error *err)
{
    if (cJSON_IsString(f)) {
        for (size_t i = 1; i < FORMAT_COUNT; i++) {
            if (strcmp(f->valuestring, format_names[i]) == 0) {
                s->format = (enum rp__format)i;
                return RP_OK;
            }
        }
        return rp_error_set(err, RP_EFORMAT,
                            "\"%s.format\" \"%.40s\" is not one reprise checks (uuid, "
                            "date-time, email, uri)",
                            wtext(where), f->valuestring);
    }
    return rp_error_set(err, RP_EFORMAT, "\"%s.format\" is not a string", wtext(where));
}

static rp_code compile_pattern(const cJSON *p, const struct rp_buf *where, struct rp__schema *s,
                               struct rp_error *err)
{
    if (!cJSON_IsString(p)) {
        return rp_error_set(err, RP_EFORMAT, "\"%s.pattern\" is not a string", wtext(where));
    }
    if (strlen(p->valuestring) > RP_MAX_PATTERN_BYTES) {
        return rp_error_set(err, RP_EFORMAT, "\"%s.pattern\" is longer than %u bytes", wtext(where),
                            RP_MAX_PATTERN_BYTES);
    }
    regex_t *re = rp_xmalloc(sizeof(*re));
    int rc = regcomp(re, p->valuestring, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char why[128];
        regerror(rc, re, why, sizeof(why));
        /* A failed regcomp leaves nothing to regfree. */
        free(re);
        return rp_error_set(err, RP_EFORMAT, "\"%s.pattern\" %.80s does not compile: %s",
                            wtext(where), p->valuestring, why);
    }
    s->re = re;
    s->pattern = rp_xstrdup(p->valuestring);
    return RP_OK;
}

/*
 * False when j holds a number that overflowed to infinity (1e999): cJSON would write it back
 * as null, and the enum would change meaning through a save. Values nested below the depth
 * bound are never compared, so the walk stops there.
 */
static bool finite_numbers(const cJSON *j, size_t depth)
{
    if (cJSON_IsNumber(j)) {
        return j->valuedouble - j->valuedouble == 0;
    }
    if (depth >= RP_MAX_JSON_DEPTH) {
        return true;
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, j)
    {
        if (!finite_numbers(c, depth + 1)) {
            return false;
        }
    }
    return true;
}

rp_code rp__schema_compile(const cJSON *j, struct rp_buf *where, size_t depth,
                           struct rp__schema **out, struct rp_error *err)
{
    if (!cJSON_IsObject(j)) {
        return rp_error_set(err, RP_EFORMAT, "\"%s\" is not an object", wtext(where));
    }
    if (depth > RP_MAX_JSON_DEPTH) {
        /* The path is long by now: the reason goes first, so that a cut message keeps it. */
        return rp_error_set(err, RP_EFORMAT,
                            "schema nested more than %u levels deep (\"%.60s...\")",
                            RP_MAX_JSON_DEPTH, wtext(where));
    }
    rp_code rc = RP_EFORMAT;
    struct rp__schema *s = rp__schema_new();
    const cJSON *kw[KW_COUNT] = {0};
    const cJSON *item;
    cJSON_ArrayForEach(item, j)
    {
        size_t k = 0;
        while (k < KW_COUNT && strcmp(item->string, keywords[k]) != 0) {
            k++;
        }
        if (k == KW_COUNT) {
            /* Not checked by reprise ("description", "minimum"...): kept to write back. */
            if (!s->extra) {
                s->extra = cJSON_CreateObject();
            }
            cJSON_AddItemToObject(s->extra, item->string, cJSON_Duplicate(item, true));
            continue;
        }
        if (kw[k]) {
            rc =
                rp_error_set(err, RP_EFORMAT, "\"%s.%s\" appears twice", wtext(where), keywords[k]);
            goto out;
        }
        kw[k] = item;
    }
    if (kw[KW_TYPE]) {
        rc = compile_type(kw[KW_TYPE], where, s, err);
        if (rc) {
            goto out;
        }
    }
    if (kw[KW_PROPERTIES]) {
        rc = compile_properties(kw[KW_PROPERTIES], where, depth, s, err);
        if (rc) {
            goto out;
        }
    }
    if (kw[KW_REQUIRED]) {
        rc = compile_required(kw[KW_REQUIRED], where, s, err);
        if (rc) {
            goto out;
        }
    }
    if (kw[KW_ITEMS]) {
        size_t old = where->len;
        rp_ignore(rp_buf_adds(where, ".items", NULL));
        rc = rp__schema_compile(kw[KW_ITEMS], where, depth + 1, &s->items, err);
        cut(where, old);
        if (rc) {
            goto out;
        }
    }
    if (kw[KW_ENUM]) {
        if (!cJSON_IsArray(kw[KW_ENUM]) || !kw[KW_ENUM]->child) {
            rc =
                rp_error_set(err, RP_EFORMAT, "\"%s.enum\" is not a non-empty array", wtext(where));
            goto out;
        }
        if (!finite_numbers(kw[KW_ENUM], 0)) {
            rc = rp_error_set(err, RP_EFORMAT, "\"%s.enum\" holds a number out of range",
                              wtext(where));
            goto out;
        }
        s->enum_values = cJSON_Duplicate(kw[KW_ENUM], true);
    }
    if (kw[KW_FORMAT]) {
        rc = compile_format(kw[KW_FORMAT], where, s, err);
        if (rc) {
            goto out;
        }
    }
    if (kw[KW_PATTERN]) {
        rc = compile_pattern(kw[KW_PATTERN], where, s, err);
        if (rc) {
            goto out;
        }
    }
    if (kw[KW_ADDITIONAL] && cJSON_IsObject(kw[KW_ADDITIONAL])) {
        /* A schema: what every key not in "properties" holds (a map keyed by ids). */
        size_t old = where->len;
        rp_ignore(rp_buf_adds(where, ".additionalProperties", NULL));
        rc = rp__schema_compile(kw[KW_ADDITIONAL], where, depth + 1, &s->values, err);
        cut(where, old);
        if (rc) {
            goto out;
        }
    } else if (kw[KW_ADDITIONAL]) {
        if (!cJSON_IsBool(kw[KW_ADDITIONAL])) {
            rc = rp_error_set(err, RP_EFORMAT,
                              "\"%s.additionalProperties\" is not true, false or a schema",
                              wtext(where));
            goto out;
        }
        s->closed = cJSON_IsFalse(kw[KW_ADDITIONAL]);
        s->open_written = !s->closed;
    }
    *out = s;
    s = NULL;
    rc = RP_OK;
out:
    rp__schema_free(s);
    return rc;
}

/* ----- writing back ------------------------------------------------------------------------ */

static int order_cmp(const void *a, const void *b)
{
    const struct rp__prop *x = *(const struct rp__prop *const *)a;
    const struct rp__prop *y = *(const struct rp__prop *const *)b;
    return (x->order > y->order) - (x->order < y->order);
}

cJSON *rp__schema_to_json(const struct rp__schema *s)
{
    cJSON *o = cJSON_CreateObject();
    unsigned n = 0;
    for (unsigned i = 0; i < RP__T_COUNT; i++) {
        n += (s->types >> i) & 1u;
    }
    if (n == 1) {
        cJSON_AddItemToObject(o, "type", cJSON_CreateString(rp__type_name(s->types)));
    } else if (n > 1) {
        cJSON *arr = cJSON_CreateArray();
        cJSON_AddItemToObject(o, "type", arr);
        for (unsigned i = 0; i < RP__T_COUNT; i++) {
            if (s->types & (1u << i)) {
                cJSON_AddItemToArray(arr, cJSON_CreateString(type_names[i]));
            }
        }
    }
    if (s->format) {
        cJSON_AddItemToObject(o, "format", cJSON_CreateString(rp__format_name(s->format)));
    }
    if (s->pattern) {
        cJSON_AddItemToObject(o, "pattern", cJSON_CreateString(s->pattern));
    }
    if (s->enum_values) {
        cJSON_AddItemToObject(o, "enum", cJSON_Duplicate(s->enum_values, true));
    }
    const struct rp__prop **by_order = rp_xcalloc(s->n_props, sizeof(*by_order));
    for (size_t i = 0; i < s->n_props; i++) {
        by_order[i] = &s->props[i];
    }
    qsort(by_order, s->n_props, sizeof(*by_order), order_cmp);
    if (s->n_props) {
        cJSON *props = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "properties", props);
        for (size_t i = 0; i < s->n_props; i++) {
            cJSON_AddItemToObject(props, by_order[i]->key, rp__schema_to_json(by_order[i]->s));
        }
    }
    cJSON *req = NULL;
    for (size_t i = 0; i < s->n_props + s->n_req_extra; i++) {
        const char *name = NULL;
        if (i < s->n_props) {
            name = by_order[i]->required ? by_order[i]->key : NULL;
        } else {
            name = s->req_extra[i - s->n_props];
        }
        if (!name) {
            continue;
        }
        if (!req) {
            req = cJSON_CreateArray();
            cJSON_AddItemToObject(o, "required", req);
        }
        cJSON_AddItemToArray(req, cJSON_CreateString(name));
    }
    free(by_order);
    if (s->values) {
        cJSON_AddItemToObject(o, "additionalProperties", rp__schema_to_json(s->values));
    } else if (s->closed || s->open_written) {
        cJSON_AddItemToObject(o, "additionalProperties", cJSON_CreateBool(!s->closed));
    }
    if (s->items) {
        cJSON_AddItemToObject(o, "items", rp__schema_to_json(s->items));
    }
    if (s->keys_given_up) {
        cJSON_AddItemToObject(
            o, "description",
            cJSON_CreateString("the recorded objects had too many distinct keys between them: "
                               "their keys are not checked"));
    }
    if (s->map_inferred && !cJSON_GetObjectItemCaseSensitive(s->extra, "description")) {
        cJSON_AddItemToObject(
            o, "description",
            cJSON_CreateString("a map keyed by ids: any keys, each value as additionalProperties; "
                               "to check it as a record, replace additionalProperties with "
                               "properties and required"));
    }
    const cJSON *x;
    cJSON_ArrayForEach(x, s->extra)
    {
        cJSON_AddItemToObject(o, x->string, cJSON_Duplicate(x, true));
    }
    return o;
}
