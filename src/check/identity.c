/* SPDX-License-Identifier: MIT */
/*
 * The identity check: two responses the recording shows to be about one object must be about
 * one object live too. At setup each recording is read once through the correlator: a value V
 * given by response #a at place P (a correlation's source), sent back by a later request, that
 * appears again in response #b at the JSON path Q makes a rule "live #b at Q equals live #a
 * at P". While replaying, each session keeps the live values at the sources it went through,
 * and a response with rules is failed where they differ:
 *
 *   $.id: expected 21 (the order created by #3), got 7
 *
 * Replay's pre-pass feeds the learning (rp_checker_observe) with the exchanges and correlations
 * it reads anyway, so a recording is read and correlated once; a checker without a replay
 * (tests, tools) reads each recording itself with a correlator of its own.
 *
 * Quiet where values may legitimately differ: only correlated values are followed (the
 * correlator takes no booleans or small counts on coincidence). A short id-like value (a
 * strong correlation under RP_CORRELATE_MIN_UNIQUE characters) makes a rule only in a response
 * whose own request sent it back, at a key named as at its source ("id" and "id", or
 * "order_id" for an order) of the same object (the one the request or the key's holder names:
 * not the id of an item added by POST /orders/4/items, 4 too by chance), and only at the
 * shallowest such place; a longer value makes one
 * wherever it comes back whole. A place several sources gave is held to the earliest (the
 * create, rather than the GET after it). Places inside arrays are not followed (a list may be
 * ordered differently live). A value missing live is left to the shape check and to correlation.
 *
 * Each expectation checked is put in the verdict (struct rp_identity_expect) so the results
 * file keeps it and `reprise diff` checks it again from the stored live response alone.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include <reprise/correlate.h>
#include <reprise/limits.h>
#include <reprise/recording.h>

#include "../url_int.h"
#include "internal.h"

#define VALUE_BUF  (RP_CORRELATE_MAX_VALUE + 1)
#define KEY_BUF    64u
#define NOUN_BUF   48u
#define WHAT_BUF   96u
#define HASH_SLOTS 8192u /* a power of two */
#define NONE       SIZE_MAX

/* Where an object's value was given: response #seq at loc. */
struct source {
    uint64_t seq;
    struct rp_location loc; /* key owned */
    char *value;            /* the recorded value */
    char last_key[KEY_BUF]; /* the last key of a JSON source's path; "" for other kinds */
    char noun[NOUN_BUF];    /* what #seq was about ("order"), or "" */
    bool short_value;       /* strong, and shorter than RP_CORRELATE_MIN_UNIQUE */
    uint64_t last_to;       /* the latest exchange whose request sent the value back */
    char *what;             /* "the order created by #3" */
    size_t next;            /* the next source in its hash slot, or NONE */
};

/* Live #seq's value at path must equal the live value of source src. */
struct rule {
    uint64_t seq;
    char *path;
    size_t src;
};

struct rec {
    char *path;
    struct source *src;
    size_t n_src;
    size_t *by_seq;     /* source indexes ordered by seq */
    struct rule *rules; /* ordered by seq */
    size_t n_rules;
    struct learner *learning; /* while the replay's pre-pass feeds it (identity_observe) */
};

struct sess {
    char *name;
    const struct rec *rec;
    char **vals; /* per source of rec: the live value seen, or NULL */
    bool *vstr;
    uint64_t used;
};

struct identity {
    struct rec *recs;
    size_t n_recs;
    struct sess *sess;
    size_t n_sess;
    size_t last; /* the session used last */
    uint64_t tick;
};

/* ----- values ------------------------------------------------------------------------------ */

/* The text of a scalar JSON value, as the correlator compares it: a string's value, an integer
 * as digits. False for other types and for text that does not fit. */
static bool canon(const cJSON *j, char *out, size_t outsz, bool *is_str)
{
    int k;
    if (cJSON_IsString(j) && j->valuestring) {
        k = snprintf(out, outsz, "%s", j->valuestring);
        *is_str = true;
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (fabs(d) < 9007199254740992.0 && d == (double)(long long)d) {
            k = snprintf(out, outsz, "%lld", (long long)d);
        } else {
            k = snprintf(out, outsz, "%.17g", d);
        }
        *is_str = false;
    } else {
        return false;
    }
    return k >= 0 && (size_t)k < outsz;
}

/* A key the paths here write as ".key" (others are not followed). */
static bool plain_key(const char *k)
{
    if (!k || !*k) {
        return false;
    }
    for (const char *p = k; *p; p++) {
        if (*p == '.' || *p == '[' || *p == ']' || *p == '"' || *p == '\\' ||
            (unsigned char)*p < 0x20) {
            return false;
        }
    }
    return true;
}

/* The value at a correlator's JSON path ($.a.b, $.items[0], $["odd.key"]) in root, or NULL. */
static const cJSON *json_at(const cJSON *root, const char *path)
{
    if (!root || !path || path[0] != '$') {
        return NULL;
    }
    const char *p = path + 1;
    const cJSON *cur = root;
    char key[RP_CORRELATE_MAX_KEY + 1];
    for (size_t steps = 0; *p && cur && steps < RP_MAX_JSON_DEPTH; steps++) {
        size_t n = 0;
        if (*p == '.') {
            const char *e = ++p;
            while (*e && *e != '.' && *e != '[' && n < sizeof(key) - 1) {
                key[n++] = *e++;
            }
            key[n] = '\0';
            p = e;
            cur = cJSON_IsObject(cur) ? cJSON_GetObjectItemCaseSensitive(cur, key) : NULL;
        } else if (p[0] == '[' && p[1] == '"') {
            p += 2;
            while (*p && *p != '"' && n < sizeof(key) - 1) {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '/')) {
                    p++;
                }
                key[n++] = *p++;
            }
            key[n] = '\0';
            if (p[0] != '"' || p[1] != ']') {
                return NULL;
            }
            p += 2;
            cur = cJSON_IsObject(cur) ? cJSON_GetObjectItemCaseSensitive(cur, key) : NULL;
        } else if (*p == '[') {
            char *end = NULL;
            unsigned long idx = strtoul(p + 1, &end, 10);
            if (end == p + 1 || *end != ']' || idx > INT32_MAX) {
                return NULL;
            }
            p = end + 1;
            cur = cJSON_IsArray(cur) ? cJSON_GetArrayItem(cur, (int)idx) : NULL;
        } else {
            return NULL;
        }
    }
    return *p ? NULL : cur;
}

/* Parses a response body that looks like JSON; NULL otherwise. */
static cJSON *parse_body(const struct rp_response *r)
{
    const char *b = (const char *)r->body.data;
    size_t n = r->body.len;
    size_t i = 0;
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) {
        i++;
    }
    if (!b || i == n || (b[i] != '{' && b[i] != '[') || r->body.truncated ||
        n > RP_CORRELATE_MAX_SCAN) {
        return NULL;
    }
    return cJSON_ParseWithLength(b, n);
}

/* The live value at a source's place in response r (doc: its body parsed, or NULL). A JSON place
 * is read from doc, so a number and a string of the same digits stay apart; every other place
 * (headers, cookies, Link, HTML, bound regular expressions) as the replay takes it. A page
 * link's pattern holds the recorded tenant: live, under another tenant, it is not found, and
 * the source makes no expectation (as one not seen live). */
static bool extract(const struct rp_response *r, const cJSON *doc, const struct rp_location *loc,
                    char *out, size_t outsz, bool *is_str)
{
    *is_str = true;
    if (loc->kind == RP_LOC_BODY_JSON) {
        return canon(json_at(doc, loc->key ? loc->key : ""), out, outsz, is_str);
    }
    return rp_location_value(r, loc, out, outsz);
}

/* ----- what an exchange is about -------------------------------------------------------------- */

static bool has_digit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            return true;
        }
    }
    return false;
}

/* The lower-case singular of the n bytes at seg into out ("orders": "order", "categories":
 * "category"); "" when it does not fit. */
static void singular(const char *seg, size_t n, char *out, size_t outsz)
{
    out[0] = '\0';
    if (n == 0 || n >= outsz) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char c = seg[i];
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out[n] = '\0';
    if (n > 4 && strcmp(out + n - 3, "ies") == 0) {
        out[n - 3] = 'y';
        out[n - 2] = '\0';
    } else if (n > 3 && out[n - 1] == 's' && out[n - 2] != 's') {
        out[n - 1] = '\0';
    }
}

/* A path segment that names a collection ("items"), not an action on one object ("pay"). */
static bool plural(const char *seg, size_t n)
{
    return n > 2 && seg[n - 1] == 's' && seg[n - 2] != 's';
}

/*
 * What a request is about. noun: its path's last segment that is not an id, in the singular
 * (/api/orders/7 is about an "order", /api/orders/7/items about an "item"). action: for an
 * action on one object (/api/orders/7/pay: a last segment that is not a collection, after an
 * id), that object ("order"); else "".
 */
static void noun_of(const struct rp_request *req, char *noun, char *action, size_t outsz)
{
    noun[0] = action[0] = '\0';
    if (!req->url) {
        return;
    }
    struct rp__url u;
    rp__url_split(req->url, strlen(req->url), &u);
    const char *path = req->url + u.path_off;
    size_t pos = 0, off = 0, len = 0;
    size_t seg_off[3] = {0}, seg_len[3] = {0}; /* the last three segments, the latest last */
    size_t best_off = 0, best_len = 0;
    for (size_t k = 0; k < 256 && rp__url_next_segment(path, u.path_len, &pos, &off, &len); k++) {
        if (len > 0 && !has_digit(path + off, len)) {
            best_off = off;
            best_len = len;
        }
        if (len > 0) {
            memmove(seg_off, seg_off + 1, 2 * sizeof(*seg_off));
            memmove(seg_len, seg_len + 1, 2 * sizeof(*seg_len));
            seg_off[2] = off;
            seg_len[2] = len;
        }
    }
    singular(path + best_off, best_len, noun, outsz);
    if (seg_len[0] && !has_digit(path + seg_off[0], seg_len[0]) &&
        has_digit(path + seg_off[1], seg_len[1]) && !has_digit(path + seg_off[2], seg_len[2]) &&
        !plural(path + seg_off[2], seg_len[2])) {
        singular(path + seg_off[0], seg_len[0], action, outsz);
    }
}

/* ----- learning from a recording ------------------------------------------------------------- */

struct learner {
    struct rec *r;
    size_t cap_src, cap_rules;
    size_t *slots; /* HASH_SLOTS heads of source chains, by value */
    struct {
        uint64_t seq;
        char noun[NOUN_BUF];
        bool created;
    } seen[RP_IDENTITY_NOUNS]; /* the latest exchanges, by seq modulo */
    char noun[NOUN_BUF];       /* what the exchange being read is about (noun_of) */
    char action[NOUN_BUF];
    struct matches *m; /* the places of the response being walked */
    char *jpath;       /* RP_CORRELATE_MAX_PATH bytes: the path being walked */
};

static size_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    }
    return (size_t)(h & (HASH_SLOTS - 1));
}

static bool loc_eq(const struct rp_location *a, const struct rp_location *b)
{
    return a->kind == b->kind && a->index == b->index &&
           strcmp(a->key ? a->key : "", b->key ? b->key : "") == 0;
}

/* A place in a response: JSON, headers, cookies, links, HTML (meta tags, inputs, selects, page
 * links) and bound regular expressions. */
static bool supported(enum rp_loc_kind k)
{
    switch (k) {
    case RP_LOC_BODY_JSON:
    case RP_LOC_HEADER:
    case RP_LOC_HEADER_SEGMENT:
    case RP_LOC_COOKIE:
    case RP_LOC_HTML_META:
    case RP_LOC_HTML_INPUT:
    case RP_LOC_HTML_URL:
    case RP_LOC_HTML_SELECT:
    case RP_LOC_BODY_JSON_SEGMENT:
    case RP_LOC_LINK_SEGMENT:
    case RP_LOC_BODY_REGEX:
        return true;
    case RP_LOC_PATH_SEGMENT:
    case RP_LOC_QUERY:
    case RP_LOC_FORM:
    case RP_LOC_MULTIPART:
    case RP_LOC_GRAPHQL_LITERAL:
        return false;
    }
    return false;
}

/* The last key of a path the correlator wrote ("$.order.id": "id"), or "". */
static void last_key(const char *path, char *out, size_t outsz)
{
    const char *dot = strrchr(path, '.');
    out[0] = '\0';
    if (dot && !strchr(dot, '[') && !strchr(dot, '"')) {
        snprintf(out, outsz, "%s", dot + 1);
    }
}

/*
 * The object a JSON source's path names, from the key that holds its last one: "order" of
 * "$.order.id", "$.data.createOrder.id" (a GraphQL mutation: its verb dropped, *created set).
 * False for a generic holder ("data", "result") or none: the request's path names it then.
 */
static bool holder_noun(const char *path, char *out, size_t outsz, bool *created)
{
    static const char *const generic[] = {"data",   "result",   "results", "payload", "attributes",
                                          "body",   "response", "item",    "value",   "node",
                                          "record", "object",   "entity",  "meta"};
    static const char *const verbs[] = {"create", "add", "insert", "new", "upsert"};
    const char *end = strrchr(path, '.');
    if (!end || end == path) {
        return false;
    }
    const char *start = end - 1;
    while (start > path && *start != '.') {
        start--;
    }
    if (*start != '.' || memchr(start, '[', (size_t)(end - start)) ||
        memchr(start, '"', (size_t)(end - start))) {
        return false;
    }
    start++;
    size_t n = (size_t)(end - start);
    *created = false;
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        size_t vl = strlen(verbs[i]);
        if (n > vl && rp_strieq(start, vl, verbs[i]) && start[vl] >= 'A' && start[vl] <= 'Z') {
            start += vl;
            n -= vl;
            *created = true;
            break;
        }
    }
    if (n == 0 || n >= outsz) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = start[i];
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out[n] = '\0';
    for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++) {
        if (strcmp(out, generic[i]) == 0) {
            return false;
        }
    }
    return true;
}

/* The source for correlation c, added when new; NONE past the cap. */
static size_t source_for(struct learner *l, const struct rp_correlation *c)
{
    struct rec *r = l->r;
    size_t h = hash_text(c->value);
    for (size_t i = l->slots[h]; i != NONE; i = r->src[i].next) {
        if (r->src[i].seq == c->from_seq && loc_eq(&r->src[i].loc, &c->from) &&
            strcmp(r->src[i].value, c->value) == 0) {
            return i;
        }
    }
    if (r->n_src == RP_MAX_CORRELATIONS) {
        return NONE;
    }
    if (r->n_src == l->cap_src) {
        l->cap_src = l->cap_src ? l->cap_src * 2 : 16;
        r->src = rp_xreallocarray(r->src, l->cap_src, sizeof(*r->src));
    }
    struct source *s = &r->src[r->n_src];
    memset(s, 0, sizeof(*s));
    s->seq = c->from_seq;
    s->loc.kind = c->from.kind;
    s->loc.key = c->from.key ? rp_xstrdup(c->from.key) : NULL;
    s->loc.index = c->from.index;
    s->value = rp_xstrdup(c->value);
    s->short_value = c->strong && strlen(c->value) < RP_CORRELATE_MIN_UNIQUE;
    if (c->from.kind == RP_LOC_BODY_JSON && c->from.key) {
        last_key(c->from.key, s->last_key, sizeof(s->last_key));
    }
    char what[WHAT_BUF];
    size_t slot = (size_t)(c->from_seq % RP_IDENTITY_NOUNS);
    /* A GraphQL query is a POST too: only its mutation's verb says it created something. */
    bool by_post = l->seen[slot].seq == c->from_seq && l->seen[slot].created &&
                   strcmp(l->seen[slot].noun, "graphql") != 0;
    bool created = false;
    if (c->from.kind == RP_LOC_BODY_JSON && c->from.key &&
        holder_noun(c->from.key, s->noun, sizeof(s->noun), &created)) {
        snprintf(what, sizeof(what), "the %s %s by #%" PRIu64, s->noun,
                 created || by_post ? "created" : "given", c->from_seq);
    } else if (l->seen[slot].seq == c->from_seq && l->seen[slot].noun[0]) {
        snprintf(s->noun, sizeof(s->noun), "%s", l->seen[slot].noun);
        snprintf(what, sizeof(what), "the %s %s by #%" PRIu64, s->noun,
                 by_post ? "created" : "given", c->from_seq);
    } else {
        snprintf(what, sizeof(what), "the value given by #%" PRIu64, c->from_seq);
    }
    s->what = rp_xstrdup(what);
    s->next = l->slots[h];
    l->slots[h] = r->n_src;
    return r->n_src++;
}

static bool key_ieq(const char *a, const char *b)
{
    return rp_strieq(a, strlen(a), b);
}

/*
 * For a short value at path (its last key key) in the response being read: the place names
 * the source's object. "order_id" or "orderId" for an order's id; else the key must be the
 * source's own ("id" and "id") and the object the same: the one this request is about
 * (GET /orders/4, POST /orders/4/pay), or the one holding the key ($.order.id). So the id of
 * an item added by POST /orders/4/items is not held to the order's, though both were 4.
 */
static bool place_fits(const struct learner *l, const struct source *s, const char *path,
                       const char *key)
{
    size_t nl = strlen(s->noun), kl = strlen(key);
    if (nl && kl == nl + 3 && rp_strieq(key, nl, s->noun) &&
        (strcmp(key + nl, "_id") == 0 || strcmp(key + nl, "Id") == 0)) {
        return true;
    }
    if (!nl || !s->last_key[0] || !key_ieq(key, s->last_key)) {
        return false;
    }
    char holder[NOUN_BUF];
    bool created;
    if (holder_noun(path, holder, sizeof(holder), &created)) {
        return strcmp(holder, s->noun) == 0;
    }
    return strcmp(l->noun, s->noun) == 0 || strcmp(l->action, s->noun) == 0;
}

struct match {
    size_t src;
    char *path;
    size_t depth;
};

struct matches {
    struct match v[RP_IDENTITY_MAX_PER_EX * 4];
    size_t n;
};

/* Walks the scalars of v outside arrays, noting each whose value a source gave. */
static void walk(struct learner *l, const cJSON *v, uint64_t seq, char *path, size_t len,
                 size_t depth, struct matches *m)
{
    if (depth >= RP_MAX_JSON_DEPTH || m->n == sizeof(m->v) / sizeof(m->v[0])) {
        return;
    }
    if (cJSON_IsObject(v)) {
        const cJSON *c;
        cJSON_ArrayForEach(c, v)
        {
            size_t kl = c->string ? strlen(c->string) : 0;
            if (!plain_key(c->string) || len + 1 + kl >= RP_CORRELATE_MAX_PATH) {
                continue;
            }
            path[len] = '.';
            memcpy(path + len + 1, c->string, kl + 1);
            walk(l, c, seq, path, len + 1 + kl, depth + 1, m);
            path[len] = '\0';
        }
        return;
    }
    char val[VALUE_BUF];
    bool is_str;
    if (depth == 0 || !canon(v, val, sizeof(val), &is_str) || !val[0]) {
        return;
    }
    const struct rec *r = l->r;
    for (size_t i = l->slots[hash_text(val)]; i != NONE; i = r->src[i].next) {
        const struct source *s = &r->src[i];
        if (s->seq >= seq || strcmp(s->value, val) != 0) {
            continue;
        }
        if (s->short_value && (s->last_to != seq || !place_fits(l, s, path, v->string))) {
            continue;
        }
        if (m->n == sizeof(m->v) / sizeof(m->v[0])) {
            return;
        }
        m->v[m->n].src = i;
        m->v[m->n].path = rp_xstrdup(path);
        m->v[m->n].depth = depth;
        m->n++;
    }
}

static void add_rule(struct learner *l, uint64_t seq, char *path, size_t src)
{
    struct rec *r = l->r;
    if (r->n_rules == RP_IDENTITY_MAX_RULES) {
        free(path);
        return;
    }
    if (r->n_rules == l->cap_rules) {
        l->cap_rules = l->cap_rules ? l->cap_rules * 2 : 16;
        r->rules = rp_xreallocarray(r->rules, l->cap_rules, sizeof(*r->rules));
    }
    r->rules[r->n_rules++] = (struct rule){.seq = seq, .path = path, .src = src};
}

/* Turns the matches in one response into rules: every one of a long value, the one shallowest
 * of a short value (none when two tie). */
static void rules_from(struct learner *l, uint64_t seq, struct matches *m)
{
    bool keep[sizeof(m->v) / sizeof(m->v[0])];
    for (size_t i = 0; i < m->n; i++) {
        const struct match *a = &m->v[i];
        const struct source *sa = &l->r->src[a->src];
        keep[i] = true;
        for (size_t j = 0; j < m->n && keep[i]; j++) {
            const struct match *b = &m->v[j];
            const struct source *sb = &l->r->src[b->src];
            if (j == i) {
                continue;
            }
            /* A short value: only its shallowest place, and none when two tie. */
            keep[i] = !sa->short_value || b->src != a->src || b->depth > a->depth;
            /* One place, several sources (the GET after the create gave it again): the
             * earliest, which names where the object came from. */
            keep[i] = keep[i] && (strcmp(a->path, b->path) != 0 || sb->seq > sa->seq ||
                                  (sb->seq == sa->seq && j > i));
        }
    }
    size_t added = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (keep[i] && added < RP_IDENTITY_MAX_PER_EX) {
            add_rule(l, seq, m->v[i].path, m->v[i].src);
            added++;
        } else {
            free(m->v[i].path);
        }
        m->v[i].path = NULL;
    }
    m->n = 0;
}

static int by_seq_cmp(const void *a, const void *b, const struct rec *r)
{
    uint64_t x = r->src[*(const size_t *)a].seq, y = r->src[*(const size_t *)b].seq;
    return x < y ? -1 : x > y;
}

static void sort_by_seq(struct rec *r)
{
    /* Insertion sort: sources arrive nearly in seq order. */
    r->by_seq = rp_xcalloc(r->n_src ? r->n_src : 1, sizeof(*r->by_seq));
    for (size_t i = 0; i < r->n_src; i++) {
        size_t j = i;
        while (j > 0 && by_seq_cmp(&r->by_seq[j - 1], &i, r) > 0) {
            r->by_seq[j] = r->by_seq[j - 1];
            j--;
        }
        r->by_seq[j] = i;
    }
}

/* A learner for r, before its first exchange. */
static struct learner *learner_new(struct rec *r)
{
    struct learner *l = rp_xcalloc(1, sizeof(*l));
    l->r = r;
    l->slots = rp_xmalloc(HASH_SLOTS * sizeof(*l->slots));
    for (size_t i = 0; i < HASH_SLOTS; i++) {
        l->slots[i] = NONE;
    }
    l->m = rp_xcalloc(1, sizeof(*l->m));
    l->jpath = rp_xmalloc(RP_CORRELATE_MAX_PATH);
    return l;
}

/* Learns from one recorded exchange ex, which taught corr its correlations [first, count). */
static void learner_feed(struct learner *l, const struct rp_exchange *ex,
                         const struct rp_correlator *corr, size_t first)
{
    struct rec *r = l->r;
    size_t slot = (size_t)(ex->seq % RP_IDENTITY_NOUNS);
    l->seen[slot].seq = ex->seq;
    noun_of(&ex->req, l->noun, l->action, sizeof(l->noun));
    memcpy(l->seen[slot].noun, l->noun, sizeof(l->noun));
    l->seen[slot].created = ex->req.method && key_ieq(ex->req.method, "POST");
    for (size_t i = first; i < rp_correlator_count(corr); i++) {
        const struct rp_correlation *c = rp_correlator_get(corr, i);
        if (supported(c->from.kind) && c->value && c->value[0] && c->from_seq < ex->seq) {
            size_t s = source_for(l, c);
            if (s != NONE && c->to_seq > r->src[s].last_to) {
                r->src[s].last_to = c->to_seq;
            }
        }
    }
    cJSON *doc = r->n_src && ex->has_response ? parse_body(&ex->resp) : NULL;
    if (doc && r->n_rules < RP_IDENTITY_MAX_RULES) {
        l->jpath[0] = '$';
        l->jpath[1] = '\0';
        walk(l, doc, ex->seq, l->jpath, 1, 0, l->m);
        rules_from(l, ex->seq, l->m);
    }
    cJSON_Delete(doc);
}

/* Ends r's learning: its learner goes, its sources are indexed by seq. */
static void learner_finish(struct rec *r)
{
    struct learner *l = r->learning;
    if (!l) {
        return;
    }
    free(l->jpath);
    free(l->m);
    free(l->slots);
    free(l);
    r->learning = NULL;
    sort_by_seq(r);
}

/* Reads the recording at path and learns its rules into r, with a correlator of its own. */
static rp_code learn(const char *path, struct rec *r, struct rp_error *err)
{
    struct rp_reader_opts ro = {0};
    struct rp_reader *rd = NULL;
    struct rp_correlator *corr = rp_correlator_new();
    r->learning = learner_new(r);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    rp_code rc = rp_reader_open(path, &ro, &rd, err);
    while (!rc) {
        bool got = false;
        rc = rp_reader_next(rd, &ex, &got, err);
        if (rc || !got) {
            break;
        }
        size_t before = rp_correlator_count(corr);
        rc = rp_correlator_learn(corr, &ex, err);
        if (!rc) {
            learner_feed(r->learning, &ex, corr, before);
        }
    }
    if (rc) {
        rp_error_prefix(err, "identity check");
    }
    rp_exchange_cleanup(&ex);
    rp_reader_free(rd);
    rp_correlator_free(corr);
    learner_finish(r);
    return rc;
}

/* ----- the check ---------------------------------------------------------------------------- */

static void sess_clear(struct sess *s)
{
    for (size_t i = 0; s->rec && i < s->rec->n_src; i++) {
        free(s->vals[i]);
    }
    free(s->vals);
    free(s->vstr);
    free(s->name);
    memset(s, 0, sizeof(*s));
}

static void identity_free(void *ctx)
{
    struct identity *id = ctx;
    if (!id) {
        return;
    }
    for (size_t i = 0; i < id->n_sess; i++) {
        sess_clear(&id->sess[i]);
    }
    free(id->sess);
    for (size_t i = 0; i < id->n_recs; i++) {
        struct rec *r = &id->recs[i];
        learner_finish(r);
        for (size_t j = 0; j < r->n_src; j++) {
            free(r->src[j].loc.key);
            free(r->src[j].value);
            free(r->src[j].what);
        }
        for (size_t j = 0; j < r->n_rules; j++) {
            free(r->rules[j].path);
        }
        free(r->src);
        free(r->by_seq);
        free(r->rules);
        free(r->path);
    }
    free(id->recs);
    free(id);
}

static rp_code identity_begin(const struct rp_checker_opts *o, void **out_ctx, struct rp_error *err)
{
    rp_code rc = RP_OK;
    struct identity *id = rp_xcalloc(1, sizeof(*id));
    id->recs = rp_xcalloc(o->n_recordings ? o->n_recordings : 1, sizeof(*id->recs));
    id->sess = rp_xcalloc(RP_IDENTITY_MAX_SESSIONS, sizeof(*id->sess));
    for (size_t i = 0; i < o->n_recordings && !rc; i++) {
        struct rec *r = &id->recs[id->n_recs++];
        r->path = rp_xstrdup(o->recordings[i]);
        if (o->learn_from_replay) {
            r->learning = learner_new(r); /* fed by identity_observe */
            continue;
        }
        /* A recording that is not there has nothing to learn; replay says so itself. */
        rc = access(o->recordings[i], F_OK) == 0 ? learn(o->recordings[i], r, err) : RP_OK;
    }
    if (rc) {
        identity_free(id);
        return rc;
    }
    *out_ctx = id;
    return RP_OK;
}

static struct rec *rec_for(struct identity *id, const char *path)
{
    for (size_t i = 0; path && i < id->n_recs; i++) {
        if (strcmp(id->recs[i].path, path) == 0) {
            return &id->recs[i];
        }
    }
    return NULL;
}

/* The replay's pre-pass read ex from recording, and corr learned [first, count) from it. */
static void identity_observe(void *ctx, const char *recording, const struct rp_exchange *ex,
                             const struct rp_correlator *corr, size_t first)
{
    struct rec *r = rec_for(ctx, recording);
    if (r && r->learning) {
        learner_feed(r->learning, ex, corr, first);
    }
}

/* The state of session name (replaying r), made when new; the least recently used one is
 * dropped past RP_IDENTITY_MAX_SESSIONS. */
static struct sess *sess_for(struct identity *id, const char *name, const struct rec *r)
{
    id->tick++;
    struct sess *s = NULL;
    if (id->last < id->n_sess && strcmp(id->sess[id->last].name, name) == 0) {
        s = &id->sess[id->last];
    }
    for (size_t i = 0; !s && i < id->n_sess; i++) {
        if (strcmp(id->sess[i].name, name) == 0) {
            s = &id->sess[i];
        }
    }
    if (s && s->rec != r) {
        sess_clear(s); /* another recording under one name: start again */
        s->name = rp_xstrdup(name);
    } else if (!s && id->n_sess < RP_IDENTITY_MAX_SESSIONS) {
        s = &id->sess[id->n_sess++];
        s->name = rp_xstrdup(name);
    } else if (!s) {
        s = &id->sess[0];
        for (size_t i = 1; i < id->n_sess; i++) {
            s = id->sess[i].used < s->used ? &id->sess[i] : s;
        }
        sess_clear(s);
        s->name = rp_xstrdup(name);
    }
    if (!s->rec) {
        s->rec = r;
        s->vals = rp_xcalloc(r->n_src ? r->n_src : 1, sizeof(*s->vals));
        s->vstr = rp_xcalloc(r->n_src ? r->n_src : 1, sizeof(*s->vstr));
    }
    s->used = id->tick;
    id->last = (size_t)(s - id->sess);
    return s;
}

/* A value as a message shows it: a number bare, a string quoted, either cut past
 * RP_SHAPE_SHOW_CHARS with "...". */
static void shown(const char *v, bool is_str, char *out, size_t outsz)
{
    size_t n = strlen(v);
    int cut = n > RP_SHAPE_SHOW_CHARS ? (int)RP_SHAPE_SHOW_CHARS : (int)n;
    const char *more = n > RP_SHAPE_SHOW_CHARS ? "..." : "";
    if (is_str) {
        snprintf(out, outsz, "\"%.*s%s\"", cut, v, more);
    } else {
        snprintf(out, outsz, "%.*s%s", cut, v, more);
    }
}

/* Checks one expectation against the live body doc: FAIL adds a mismatch. A place missing or
 * not a scalar live is not this check's to report (SKIPPED). */
static enum rp_outcome expect(const struct rp_identity_expect *e, const cJSON *doc,
                              struct rp_verdict *v)
{
    char got[VALUE_BUF];
    bool got_str;
    if (!canon(json_at(doc, e->path), got, sizeof(got), &got_str)) {
        return RP_OUTCOME_SKIPPED;
    }
    if (strcmp(got, e->expected) == 0) {
        return RP_OUTCOME_PASS;
    }
    char a[RP_SHAPE_SHOW_CHARS + 8], b[RP_SHAPE_SHOW_CHARS + 8];
    shown(e->expected, e->expected_string, a, sizeof(a));
    shown(got, got_str, b, sizeof(b));
    rp_mismatches_add(&v->mismatches, e->path, "expected %s (%s), got %s", a, e->what, b);
    return RP_OUTCOME_FAIL;
}

static enum rp_outcome worse(enum rp_outcome a, enum rp_outcome b)
{
    if (a == RP_OUTCOME_FAIL || b == RP_OUTCOME_FAIL) {
        return RP_OUTCOME_FAIL;
    }
    return a == RP_OUTCOME_PASS || b == RP_OUTCOME_PASS ? RP_OUTCOME_PASS : RP_OUTCOME_SKIPPED;
}

/* Offline: the expectations stored with the verdict, against its stored live response. */
static enum rp_outcome recheck(struct rp_verdict *v, const struct rp_response *live)
{
    enum rp_outcome o = RP_OUTCOME_SKIPPED;
    cJSON *doc = v->n_identity ? parse_body(live) : NULL;
    for (size_t i = 0; doc && i < v->n_identity; i++) {
        o = worse(o, expect(&v->identity[i], doc, v));
    }
    cJSON_Delete(doc);
    return o;
}

/* The rules of seq in r: [*first, return). */
static size_t rules_of(const struct rec *r, uint64_t seq, size_t *first)
{
    size_t lo = 0, hi = r->n_rules;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->rules[mid].seq < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *first = lo;
    while (hi < r->n_rules && r->rules[hi].seq == seq) {
        hi++;
    }
    return hi;
}

static size_t sources_of(const struct rec *r, uint64_t seq, size_t *first)
{
    size_t lo = 0, hi = r->n_src;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->src[r->by_seq[mid]].seq < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *first = lo;
    while (hi < r->n_src && r->src[r->by_seq[hi]].seq == seq) {
        hi++;
    }
    return hi;
}

static rp_code identity_exchange(void *ctx, const struct rp__check_input *in, struct rp_verdict *v,
                                 enum rp_outcome *out, struct rp_error *err)
{
    (void)err;
    struct identity *id = ctx;
    *out = RP_OUTCOME_SKIPPED;
    if (!in->recorded) {
        *out = recheck(v, &in->live->resp);
        return RP_OK;
    }
    struct rec *r = rec_for(id, in->recording);
    size_t r0 = 0, r1 = 0, s0 = 0, s1 = 0;
    if (r) {
        learner_finish(r); /* the pre-pass is over once exchanges come */
        r1 = rules_of(r, in->recorded_seq, &r0);
        s1 = sources_of(r, in->recorded_seq, &s0);
    }
    if (r0 == r1 && s0 == s1) {
        return RP_OK;
    }
    struct sess *s = sess_for(id, v->session ? v->session : "", r);
    cJSON *doc = parse_body(&in->live->resp);
    for (size_t i = r0; i < r1; i++) {
        const struct rule *ru = &r->rules[i];
        if (!s->vals[ru->src]) {
            continue; /* its source was not seen live: correlation reports that */
        }
        v->identity = rp_xreallocarray(v->identity, v->n_identity + 1, sizeof(*v->identity));
        struct rp_identity_expect *e = &v->identity[v->n_identity++];
        e->path = rp_xstrdup(ru->path);
        e->expected = rp_xstrdup(s->vals[ru->src]);
        e->expected_string = s->vstr[ru->src];
        e->what = rp_xstrdup(r->src[ru->src].what);
        enum rp_outcome o = doc ? expect(e, doc, v) : RP_OUTCOME_SKIPPED;
        *out = worse(*out, o);
    }
    for (size_t i = s0; i < s1; i++) {
        size_t k = r->by_seq[i];
        char val[VALUE_BUF];
        bool is_str;
        free(s->vals[k]);
        s->vals[k] = NULL;
        if (extract(&in->live->resp, doc, &r->src[k].loc, val, sizeof(val), &is_str)) {
            s->vals[k] = rp_xstrdup(val);
            s->vstr[k] = is_str;
        }
    }
    cJSON_Delete(doc);
    return RP_OK;
}

/* A finished session's live values are dropped: its place goes to the last one. */
static void identity_session_end(void *ctx, const char *session)
{
    struct identity *id = ctx;
    for (size_t i = 0; i < id->n_sess; i++) {
        if (id->sess[i].name && strcmp(id->sess[i].name, session) == 0) {
            sess_clear(&id->sess[i]);
            id->sess[i] = id->sess[--id->n_sess];
            memset(&id->sess[id->n_sess], 0, sizeof(id->sess[0]));
            id->last = 0;
            return;
        }
    }
}

const struct rp__check_ops rp__check_identity = {
    .name = "identity",
    .begin = identity_begin,
    .observe = identity_observe,
    .exchange = identity_exchange,
    .free = identity_free,
    .session_end = identity_session_end,
};
