/* SPDX-License-Identifier: MIT */
/*
 * Matching a live response against its shape, and the list of mismatches it produces. The
 * walk over the live body is bounded in depth (RP_MAX_JSON_DEPTH) and the list in length
 * (RP_MAX_MISMATCHES, then one entry counting the rest).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../secret_int.h"
#include "internal.h"

/* ----- the mismatch list ------------------------------------------------------------------- */

void rp_mismatches_init(struct rp_mismatches *m)
{
    m->v = NULL;
    m->n = 0;
    m->cap = 0;
}

void rp_mismatches_cleanup(struct rp_mismatches *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].path);
        free(m->v[i].message);
    }
    free(m->v);
    rp_mismatches_init(m);
}

/* Appends an entry; takes path and message. */
static void push_entry(struct rp_mismatches *m, char *path, char *message)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        m->v = rp_xreallocarray(m->v, cap, sizeof(*m->v));
        m->cap = cap;
    }
    m->v[m->n].path = path;
    m->v[m->n].message = message;
    m->n++;
}

static char *more_text(unsigned long long more)
{
    char msg[64];
    /* 20 digits and the words always fit. */
    (void)snprintf(msg, sizeof(msg), "%llu more mismatches", more);
    return rp_xstrdup(msg);
}

/*
 * Counts one mismatch past the cap. The count lives in the last entry's message, which only
 * this function writes: the entry is created at the first mismatch past RP_MAX_MISMATCHES and
 * its number read back and raised at each one after.
 */
static void count_more(struct rp_mismatches *m)
{
    if (m->n > RP_MAX_MISMATCHES) {
        struct rp_mismatch *last = &m->v[m->n - 1];
        char *end = NULL;
        unsigned long long more = strtoull(last->message, &end, 10);
        if (end == last->message) {
            more = 0;
        }
        free(last->message);
        last->message = more_text(more + 1);
        return;
    }
    push_entry(m, rp_xstrdup("..."), more_text(1));
}

void rp_mismatches_add(struct rp_mismatches *m, const char *path, const char *fmt, ...)
{
    if (m->n >= RP_MAX_MISMATCHES) {
        count_more(m);
        return;
    }
    char msg[RP_MAX_MISMATCH_TEXT];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (k < 0) {
        msg[0] = '\0';
    } else if ((size_t)k >= sizeof(msg)) {
        /* Cut on a character boundary and say so. */
        size_t at = sizeof(msg) - 4;
        while (at > 0 && ((unsigned char)msg[at] & 0xC0) == 0x80) {
            at--;
        }
        memcpy(msg + at, "...", 4);
    }
    push_entry(m, rp_xstrdup(path ? path : ""), rp_xstrdup(msg));
}

/* ----- walking the live body --------------------------------------------------------------- */

/* One step of the path from the root to the value being checked. */
struct step {
    const char *key; /* NULL: an array index */
    size_t index;
};

struct match_ctx {
    struct rp_mismatches *out;
    uint64_t found; /* mismatches found by this match, kept or only counted */
    size_t depth;
    struct step steps[RP_MAX_JSON_DEPTH + 1];
};

/*
 * Counts a mismatch. Returns true when the caller should describe it, false when the list is
 * full and the mismatch has only been counted (so no text is built for it).
 */
static bool room(struct match_ctx *c)
{
    c->found++;
    if (c->out->n >= RP_MAX_MISMATCHES) {
        count_more(c->out);
        return false;
    }
    return true;
}

/* Adds a mismatch at the current path with the message text. */
static void report(struct match_ctx *c, const char *text)
{
    struct rp_buf b;
    rp_buf_init(&b, SIZE_MAX / 2);
    rp_ignore(rp_buf_addc(&b, '$', NULL));
    for (size_t i = 0; i < c->depth; i++) {
        if (c->steps[i].key) {
            rp__path_key(&b, c->steps[i].key);
        } else {
            rp_ignore(rp_buf_addf(&b, NULL, "[%zu]", c->steps[i].index));
        }
    }
    rp_mismatches_add(c->out, b.data, "%s", text);
    rp_buf_cleanup(&b);
}

unsigned rp__type_of(const cJSON *v)
{
    if (cJSON_IsObject(v)) {
        return RP__T_OBJECT;
    }
    if (cJSON_IsArray(v)) {
        return RP__T_ARRAY;
    }
    if (cJSON_IsString(v)) {
        return RP__T_STRING;
    }
    if (cJSON_IsNumber(v)) {
        return RP__T_NUMBER;
    }
    if (cJSON_IsBool(v)) {
        return RP__T_BOOLEAN;
    }
    if (cJSON_IsNull(v)) {
        return RP__T_NULL;
    }
    return 0;
}

static bool integral(double d)
{
    if (!(d > -9007199254740992.0 && d < 9007199254740992.0)) {
        /* Past 2^53 every finite double is a whole number; NaN and infinities are not. */
        return d - d == 0;
    }
    return d == (double)(int64_t)d;
}

bool rp__type_ok(unsigned types, const cJSON *v)
{
    unsigned t = rp__type_of(v);
    if (types & t) {
        return true;
    }
    return t == RP__T_NUMBER && (types & RP__T_INTEGER) && integral(v->valuedouble);
}

/* Appends v for a message: "12.00" quoted and cut, 3, true, null, object; with_type first
 * names the type (string "12.00", number 3, boolean true). */
/*
 * True when a value must not be shown: a field named like a credential (password, token, key,
 * card code…), or a string that looks like a secret (a card number, a key). A live value is
 * the one the tenant's session really got: mismatch text reaches terminals, JUnit files, CI
 * logs and results files.
 */
bool rp__value_hidden(const cJSON *v)
{
    if (v->string) {
        size_t n = strlen(v->string);
        if (rp__secret_name_credential(v->string, n) || rp__secret_name_card_code(v->string, n) ||
            rp__secret_name_aws(v->string, n)) {
            return true;
        }
    }
    if (!cJSON_IsString(v) && !cJSON_IsNumber(v)) {
        return false;
    }
    /* A number's text too: a card number sent as a JSON number is still one. */
    char *num = cJSON_IsNumber(v) ? rp__json_print(v, false) : NULL;
    const char *s = num ? num : v->valuestring;
    size_t pos = 0, at = 0, len = 0;
    bool found = rp__secret_next(s, strlen(s), &pos, RP__SECRET_ALL, &at, &len) != RP__SECRET_NONE;
    cJSON_free(num);
    return found;
}

static void describe(struct rp_buf *b, const cJSON *v, bool with_type)
{
    if ((cJSON_IsString(v) || cJSON_IsNumber(v)) && rp__value_hidden(v)) {
        char mask[48];
        char *num = cJSON_IsNumber(v) ? rp__json_print(v, false) : NULL;
        rp__secret_mask(num ? strlen(num) : strlen(v->valuestring), mask, sizeof(mask));
        cJSON_free(num);
        rp_ignore(
            rp_buf_adds(b, with_type ? (cJSON_IsNumber(v) ? "number " : "string ") : "", NULL));
        rp_ignore(rp_buf_adds(b, mask, NULL));
    } else if (cJSON_IsString(v)) {
        rp_ignore(rp_buf_adds(b, with_type ? "string " : "", NULL));
        rp__quote(b, v->valuestring, RP_SHAPE_SHOW_CHARS);
    } else if (cJSON_IsNumber(v)) {
        rp_ignore(rp_buf_adds(b, with_type ? "number " : "", NULL));
        double d = v->valuedouble;
        if (d - d != 0) {
            /* cJSON would print an overflowed 1e999 as null. */
            rp_ignore(rp_buf_adds(b, d > 0 ? "1e999" : "-1e999", NULL));
        } else {
            char *num = rp__json_print(v, false);
            rp_ignore(rp_buf_adds(b, num, NULL));
            cJSON_free(num);
        }
    } else if (cJSON_IsBool(v)) {
        rp_ignore(rp_buf_adds(b, with_type ? "boolean " : "", NULL));
        rp_ignore(rp_buf_adds(b, cJSON_IsTrue(v) ? "true" : "false", NULL));
    } else if (cJSON_IsNull(v)) {
        rp_ignore(rp_buf_adds(b, "null", NULL));
    } else if (cJSON_IsArray(v)) {
        rp_ignore(rp_buf_adds(b, "array", NULL));
    } else {
        rp_ignore(rp_buf_adds(b, "object", NULL));
    }
}

/*
 * JSON equality for enum. Not cJSON_Compare: it compares objects in both directions at every
 * level, which takes time exponential in the nesting. This one walks each pair once and gives
 * up (unequal) below RP_MAX_JSON_DEPTH.
 */
static bool json_equal(const cJSON *a, const cJSON *b, size_t depth)
{
    if ((a->type & 0xFF) != (b->type & 0xFF) || depth >= RP_MAX_JSON_DEPTH) {
        return false;
    }
    if (cJSON_IsNumber(a)) {
        return a->valuedouble == b->valuedouble;
    }
    if (cJSON_IsString(a)) {
        return strcmp(a->valuestring, b->valuestring) == 0;
    }
    if (!cJSON_IsArray(a) && !cJSON_IsObject(a)) {
        return true; /* true, false, null: the type says it all */
    }
    const cJSON *x = a->child;
    const cJSON *y = b->child;
    while (x && y) {
        if (cJSON_IsArray(a)) {
            if (!json_equal(x, y, depth + 1)) {
                return false;
            }
        } else {
            const cJSON *match = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (!match || !json_equal(x, match, depth + 1)) {
                return false;
            }
        }
        x = x->next;
        y = y->next;
    }
    /* Same number of members, and every key of a found in b with an equal value. */
    return !x && !y;
}

bool rp__in_enum(const cJSON *values, const cJSON *v)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, values)
    {
        if (json_equal(e, v, 0)) {
            return true;
        }
    }
    return false;
}

static void report_type(struct match_ctx *c, unsigned types, const cJSON *v)
{
    struct rp_buf b;
    rp_buf_init(&b, SIZE_MAX / 2);
    rp_ignore(rp_buf_adds(&b, "expected ", NULL));
    rp__types_text(types, &b);
    rp_ignore(rp_buf_adds(&b, ", got ", NULL));
    describe(&b, v, true);
    report(c, b.data);
    rp_buf_cleanup(&b);
}

static void report_enum(struct match_ctx *c, const cJSON *values, const cJSON *v)
{
    struct rp_buf b;
    rp_buf_init(&b, SIZE_MAX / 2);
    rp_ignore(rp_buf_adds(&b, "expected one of ", NULL));
    const cJSON *e;
    cJSON_ArrayForEach(e, values)
    {
        if (b.len > RP_MAX_MISMATCH_TEXT / 2) {
            /* Leave room for what came back: the list is the part that can go. */
            rp_ignore(rp_buf_adds(&b, ", ...", NULL));
            break;
        }
        if (e != values->child) {
            rp_ignore(rp_buf_adds(&b, ", ", NULL));
        }
        describe(&b, e, false);
    }
    rp_ignore(rp_buf_adds(&b, ", got ", NULL));
    describe(&b, v, false);
    report(c, b.data);
    rp_buf_cleanup(&b);
}

static void report_string(struct match_ctx *c, const struct rp__schema *s, const cJSON *v,
                          bool format)
{
    struct rp_buf b;
    rp_buf_init(&b, SIZE_MAX / 2);
    if (format) {
        rp_ignore(rp_buf_addf(&b, NULL, "expected %s format, got ", rp__format_name(s->format)));
    } else {
        /* A long pattern is cut so that what came back still shows. */
        rp_ignore(rp_buf_addf(&b, NULL, "does not match pattern %.*s%s, got ",
                              (int)RP_SHAPE_PATH_KEY_CHARS, s->pattern,
                              strlen(s->pattern) > RP_SHAPE_PATH_KEY_CHARS ? "..." : ""));
    }
    describe(&b, v, false);
    report(c, b.data);
    rp_buf_cleanup(&b);
}

static void report_missing(struct match_ctx *c, const char *key, const struct rp__schema *s)
{
    c->steps[c->depth++] = (struct step){.key = key};
    if (room(c)) {
        struct rp_buf b;
        rp_buf_init(&b, SIZE_MAX / 2);
        rp_ignore(rp_buf_adds(&b, "missing", NULL));
        if (s && s->types) {
            rp_ignore(rp_buf_adds(&b, " (expected ", NULL));
            rp__types_text(s->types, &b);
            rp_ignore(rp_buf_addc(&b, ')', NULL));
        }
        report(c, b.data);
        rp_buf_cleanup(&b);
    }
    c->depth--;
}

static void match_value(struct match_ctx *c, const struct rp__schema *s, const cJSON *v,
                        size_t depth);

static int order_cmp(const void *a, const void *b)
{
    const struct rp__prop *x = *(const struct rp__prop *const *)a;
    const struct rp__prop *y = *(const struct rp__prop *const *)b;
    return (x->order > y->order) - (x->order < y->order);
}

static void match_object(struct match_ctx *c, const struct rp__schema *s, const cJSON *v,
                         size_t depth)
{
    bool *seen = rp_xcalloc(s->n_props, sizeof(*seen));
    const cJSON *m;
    cJSON_ArrayForEach(m, v)
    {
        const char *key = m->string ? m->string : "";
        size_t i = rp__schema_find(s, key);
        c->steps[c->depth++] = (struct step){.key = key};
        if (i != SIZE_MAX) {
            seen[i] = true;
            match_value(c, s->props[i].s, m, depth + 1);
        } else if (s->values) {
            match_value(c, s->values, m, depth + 1);
        } else if (s->closed && room(c)) {
            report(c, "unexpected key");
        }
        c->depth--;
    }
    /* Missing keys are reported in the order the shape lists them, which people read. */
    const struct rp__prop **missing = NULL;
    size_t n_missing = 0;
    for (size_t i = 0; i < s->n_props; i++) {
        if (s->props[i].required && !seen[i]) {
            if (!missing) {
                missing = rp_xcalloc(s->n_props, sizeof(*missing));
            }
            missing[n_missing++] = &s->props[i];
        }
    }
    if (n_missing > 1) {
        qsort(missing, n_missing, sizeof(*missing), order_cmp);
    }
    for (size_t i = 0; i < n_missing; i++) {
        report_missing(c, missing[i]->key, missing[i]->s);
    }
    free(missing);
    for (size_t i = 0; i < s->n_req_extra; i++) {
        if (!cJSON_GetObjectItemCaseSensitive(v, s->req_extra[i])) {
            report_missing(c, s->req_extra[i], NULL);
        }
    }
    free(seen);
}

/*
 * Checks v, at nesting depth, against s. Recursion is bounded: below RP_MAX_JSON_DEPTH
 * nothing is checked, whatever the live body holds. One value gets at most one mismatch of
 * its own (type, then enum, then format, then pattern); its children are checked only when
 * its type is right.
 */
static void match_value(struct match_ctx *c, const struct rp__schema *s, const cJSON *v,
                        size_t depth)
{
    if (depth >= RP_MAX_JSON_DEPTH) {
        return;
    }
    if (s->types && !rp__type_ok(s->types, v)) {
        if (room(c)) {
            report_type(c, s->types, v);
        }
        return;
    }
    if (s->enum_values && !rp__in_enum(s->enum_values, v)) {
        if (room(c)) {
            report_enum(c, s->enum_values, v);
        }
        return;
    }
    if (cJSON_IsString(v)) {
        if (s->format && !rp__format_ok(s->format, v->valuestring, false)) {
            if (room(c)) {
                report_string(c, s, v, true);
            }
        } else if (s->re && regexec(s->re, v->valuestring, 0, NULL, 0) != 0) {
            if (room(c)) {
                report_string(c, s, v, false);
            }
        }
    } else if (cJSON_IsObject(v)) {
        match_object(c, s, v, depth);
    } else if (cJSON_IsArray(v) && s->items && depth + 1 < RP_MAX_JSON_DEPTH) {
        size_t i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            c->steps[c->depth++] = (struct step){.index = i};
            match_value(c, s->items, e, depth + 1);
            c->depth--;
            i++;
        }
    }
}

bool rp_shape_match(const struct rp_shape *s, const struct rp_response *resp,
                    struct rp_mismatches *out)
{
    struct match_ctx *c = rp_xcalloc(1, sizeof(*c));
    c->out = out;
    if (resp->status != s->status && room(c)) {
        rp_mismatches_add(out, "status", "expected %u, got %u", s->status, resp->status);
    }
    if (s->media_type) {
        char mt[RP_MAX_MEDIA_TYPE_BYTES];
        const struct rp_header *ct = rp_headers_get(&resp->headers, "Content-Type", NULL);
        if (rp_media_type(&resp->headers, mt, sizeof(mt))) {
            if (strcmp(mt, s->media_type) != 0 && room(c)) {
                rp_mismatches_add(out, "media type", "expected %s, got %s", s->media_type, mt);
            }
        } else if (room(c)) {
            struct rp_buf b;
            rp_buf_init(&b, SIZE_MAX / 2);
            if (ct) {
                /* A Content-Type too long or empty to hold a media type: show what it was. */
                rp__quote(&b, ct->value, RP_SHAPE_SHOW_CHARS);
            } else {
                rp_ignore(rp_buf_adds(&b, "none", NULL));
            }
            rp_mismatches_add(out, "media type", "expected %s, got %s", s->media_type, b.data);
            rp_buf_cleanup(&b);
        }
    }
    if (s->body) {
        cJSON *doc = rp__json_parse((const char *)resp->body.data, resp->body.len, NULL);
        if (!doc) {
            if (room(c)) {
                rp_mismatches_add(out, "$", "expected JSON, got %s",
                                  resp->body.len ? "invalid JSON" : "empty body");
            }
        } else {
            match_value(c, s->body, doc, 0);
            cJSON_Delete(doc);
        }
    }
    bool ok = c->found == 0;
    free(c);
    return ok;
}
