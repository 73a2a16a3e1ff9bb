/* SPDX-License-Identifier: MIT */
/*
 * Learning correlations from a recording, streamed in order. Each response's values go into a
 * bounded index of candidates (value -> where it came from); each request's values are looked
 * up in it before that exchange's own response is indexed, so a source always precedes its
 * target. The index forgets the oldest candidates first, so memory does not grow with the
 * recording.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "learn.h"

/* ----- lifetime and binds ------------------------------------------------------------------- */

struct rp_correlator *rp_correlator_new(void)
{
    struct rp_correlator *c = rp_xcalloc(1, sizeof(*c));
    c->echo = rp_xcalloc(RP_CORRELATE_MAX_TARGETS + 1, sizeof(*c->echo));
    return c;
}

static void cand_free(struct rp_correlator *c, struct cand *s)
{
    c->bytes -= s->bytes;
    free(s->value);
    free(s->key);
    free(s->noun);
    s->value = NULL;
    s->key = NULL;
    s->noun = NULL;
    s->alive = false;
}

void rp_correlator_free(struct rp_correlator *c)
{
    if (!c) {
        return;
    }
    for (size_t i = 0; i < c->n_binds; i++) {
        free(c->binds[i].name);
        free(c->binds[i].path);
        free(c->binds[i].loc.key);
    }
    free(c->binds);
    for (size_t i = 0; i < c->n_tenants; i++) {
        free(c->tenants[i]);
    }
    free(c->tenants);
    for (size_t i = 0; i < c->cap; i++) {
        if (c->slots[i].alive) {
            cand_free(c, &c->slots[i]);
        }
    }
    free(c->slots);
    free(c->buckets);
    for (size_t i = 0; i < c->n_corr; i++) {
        free(c->corr[i].from.key);
        free(c->corr[i].to.key);
        free(c->corr[i].value);
    }
    free(c->corr);
    free(c->echo);
    free(c);
}

rp_code rp_correlator_bind(struct rp_correlator *c, const char *name, const char *place,
                           struct rp_error *err)
{
    struct rp_location loc;
    char why[160] = "";
    if (!rp__correlate_place_parse(place, &loc, why, sizeof(why))) {
        return rp_error_set(err, RP_EUSAGE, "bind %s: \"%s\": %s", name ? name : "",
                            place ? place : "", why);
    }
    if (c->n_binds >= RP_CORRELATE_MAX_BINDS) {
        free(loc.key);
        return rp_error_set(err, RP_ETOOBIG, "more than %u binds", RP_CORRELATE_MAX_BINDS);
    }
    c->binds = rp_xreallocarray(c->binds, c->n_binds + 1, sizeof(*c->binds));
    c->binds[c->n_binds].name = rp_xstrdup(name ? name : "");
    c->binds[c->n_binds].path = rp_xstrdup(place);
    c->binds[c->n_binds].loc = loc;
    c->n_binds++;
    return RP_OK;
}

void rp_correlator_tenant(struct rp_correlator *c, const char *value)
{
    if (!value || !value[0] || c->n_tenants >= RP_MAX_TENANTS ||
        rp__correlate_is_tenant(c, value, strlen(value))) {
        return;
    }
    c->tenants = rp_xreallocarray(c->tenants, c->n_tenants + 1, sizeof(*c->tenants));
    c->tenants[c->n_tenants++] = rp_xstrdup(value);
}

bool rp__correlate_is_tenant(const struct rp_correlator *c, const char *v, size_t n)
{
    for (size_t i = 0; i < c->n_tenants; i++) {
        if (strlen(c->tenants[i]) == n && memcmp(c->tenants[i], v, n) == 0) {
            return true;
        }
    }
    return false;
}

size_t rp_correlator_count(const struct rp_correlator *c)
{
    return c->n_corr;
}

const struct rp_correlation *rp_correlator_get(const struct rp_correlator *c, size_t i)
{
    return i < c->n_corr ? &c->corr[i] : NULL;
}

/* ----- the candidate index ------------------------------------------------------------------ */

static uint32_t *bucket_of(struct rp_correlator *c, uint64_t hash)
{
    return &c->buckets[hash & (c->nbuckets - 1)];
}

static void unlink_slot(struct rp_correlator *c, uint32_t idx)
{
    struct cand *s = &c->slots[idx];
    uint32_t *link = bucket_of(c, s->hash);
    while (*link != NONE && *link != idx) {
        link = &c->slots[*link].next;
    }
    if (*link == idx) {
        *link = s->next;
    }
    cand_free(c, s);
}

static void evict_oldest(struct rp_correlator *c)
{
    if (c->slots[c->head].alive) {
        unlink_slot(c, (uint32_t)c->head);
    }
    c->head = (c->head + 1) % c->cap;
    c->used--;
}

/* Doubles the ring (oldest first from slot 0) and rebuilds the buckets. */
static void grow(struct rp_correlator *c)
{
    size_t cap = c->cap ? c->cap * 2 : INITIAL_SLOTS;
    if (cap > RP_CORRELATE_MAX_CANDIDATES) {
        cap = RP_CORRELATE_MAX_CANDIDATES;
    }
    struct cand *slots = rp_xcalloc(cap, sizeof(*slots));
    for (size_t k = 0; k < c->used; k++) {
        slots[k] = c->slots[(c->head + k) % c->cap];
    }
    free(c->slots);
    c->slots = slots;
    c->cap = cap;
    c->head = 0;
    c->nbuckets = cap * 2;
    c->buckets = rp_xreallocarray(c->buckets, c->nbuckets, sizeof(*c->buckets));
    for (size_t b = 0; b < c->nbuckets; b++) {
        c->buckets[b] = NONE;
    }
    /* Oldest first, each at its bucket's head: the chains come out newest first. */
    for (size_t k = 0; k < c->used; k++) {
        if (slots[k].alive) {
            uint32_t *b = bucket_of(c, slots[k].hash);
            slots[k].next = *b;
            *b = (uint32_t)k;
        }
    }
}

/* A free slot for a candidate of need bytes, dropping the oldest candidates as the caps say. */
static uint32_t take_slot(struct rp_correlator *c, size_t need)
{
    while (c->used > 0 && c->bytes + need > RP_CORRELATE_INDEX_BYTES) {
        evict_oldest(c);
    }
    if (c->used == c->cap) {
        if (c->cap < RP_CORRELATE_MAX_CANDIDATES) {
            grow(c);
        } else {
            evict_oldest(c);
        }
    }
    size_t idx = (c->head + c->used) % c->cap;
    c->used++;
    return (uint32_t)idx;
}

bool rp__correlate_same_value(const struct cand *s, uint64_t hash, const char *v, size_t n)
{
    return s->hash == hash && s->value_len == n && memcmp(s->value, v, n) == 0;
}

static bool same_noun(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Hash of a field name normalised for comparison ("csrf-token" == "CSRF_TOKEN"). */
uint64_t rp__correlate_name_hash(const char *name, size_t n)
{
    if (!name || n == 0) {
        return 0;
    }
    char buf[NOUN_BUF];
    size_t o = rp__correlate_normalise(name, n, buf, sizeof(buf));
    return o ? rp__correlate_hash(buf, o) | 1 : 0;
}

/* ----- indexing a response ------------------------------------------------------------------ */

/* How many URLs of one tag, attribute and template a page has shown so far. */
struct tmpl_count {
    uint64_t hash;
    size_t count;
};

#define MAX_TEMPLATES 512u

struct resp {
    struct rp_correlator *c;
    uint64_t seq;
    size_t count;
    char url_noun[NOUN_BUF]; /* the exchange's resource, guessed from its request URL */
    char host[256];          /* the authority the request went to, for same-origin URLs */
    size_t host_len;
    struct tmpl_count *tmpls; /* for an HTML page */
    size_t n_tmpls;
};

/* What a candidate is, apart from its value and location. */
struct cand_info {
    enum rp_loc_kind kind;
    const char *key;
    size_t index;
    const char *name;
    size_t name_len;
    bool strong;
    bool bound;
    const char *noun; /* "" for none */
    bool noun_explicit;
    bool named;
    bool listed;
};

/* A hash of a noun with a plural ending taken off ("orders", "order": equal), 0 for none. */
uint64_t rp__correlate_stem(const char *noun)
{
    size_t n = noun ? strlen(noun) : 0;
    if (n == 0) {
        return 0;
    }
    char buf[NOUN_BUF];
    memcpy(buf, noun, n + 1);
    if (n > 3 && strcmp(buf + n - 3, "ies") == 0) {
        buf[n - 3] = 'y';
        n -= 2;
    } else if (n > 3 && buf[n - 1] == 's' && buf[n - 2] != 's' && buf[n - 2] != 'u') {
        n--;
    }
    return rp__correlate_hash(buf, n) | 1;
}

/*
 * True when the request of this exchange sent the value itself: the response only echoes it.
 * A short id counts as echoed only under a compatible noun, so an order numbered 1 is still
 * the server's when the request that made it asked for product 1.
 */
static bool echoed(const struct rp_correlator *c, uint64_t hash, bool lng, uint64_t noun_stem)
{
    size_t lo = 0;
    size_t hi = c->n_echo;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->echo[mid].hash < hash) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (; lo < c->n_echo && c->echo[lo].hash == hash; lo++) {
        if (lng || !c->echo[lo].stem || !noun_stem || c->echo[lo].stem == noun_stem) {
            return true;
        }
    }
    return false;
}

static void add_cand(struct resp *rs, const struct cand_info *in, const char *v, size_t n)
{
    struct rp_correlator *c = rs->c;
    if (rs->count >= RP_CORRELATE_MAX_PER_RESPONSE || n > RP_CORRELATE_MAX_VALUE ||
        rp__correlate_never(v, n) || rp__correlate_is_tenant(c, v, n)) {
        return;
    }
    /* A short value is only ever matched on strong evidence or through a bind: without either
     * it would take room for nothing. */
    bool zero = n == 1 && v[0] == '0';
    bool lng = rp__correlate_is_long(v, n);
    if (!in->bound && !lng && ((!in->strong && !in->named) || zero)) {
        return;
    }
    uint64_t hash = rp__correlate_hash(v, n);
    const char *noun = in->noun[0] ? in->noun : NULL;
    /* A value the request itself sent is the client's, not the server's. */
    if (echoed(c, hash, lng, rp__correlate_stem(noun))) {
        return;
    }
    uint64_t nh = rp__correlate_name_hash(in->name, in->name_len);
    if (c->cap == 0) {
        grow(c);
    }

    /* Older sources of the value that this one outranks for every target go; one source per
     * kind of evidence and response is enough; at most RP_CORRELATE_SAME_VALUE remain. */
    size_t older = 0;
    uint32_t oldest = NONE;
    uint32_t *link = bucket_of(c, hash);
    while (*link != NONE) {
        uint32_t idx = *link;
        struct cand *s = &c->slots[idx];
        if (!rp__correlate_same_value(s, hash, v, n)) {
            link = &s->next;
            continue;
        }
        bool same_class = s->strong == in->strong && s->bound == in->bound &&
                          s->named == in->named && same_noun(s->noun, noun) &&
                          s->noun_explicit == in->noun_explicit;
        if (s->seq == rs->seq) {
            if (same_class && s->kind == in->kind && s->name_hash == nh) {
                return;
            }
            link = &s->next;
            continue;
        }
        bool outranked = s->strong <= in->strong && s->bound <= in->bound &&
                         s->named <= in->named && same_noun(s->noun, noun) &&
                         s->noun_explicit <= in->noun_explicit;
        if (outranked) {
            *link = s->next;
            cand_free(c, s);
            continue;
        }
        older++;
        oldest = idx;
        link = &s->next;
    }
    if (older >= RP_CORRELATE_SAME_VALUE && oldest != NONE) {
        unlink_slot(c, oldest);
    }

    size_t klen = in->key ? strlen(in->key) : 0;
    size_t nlen = noun ? strlen(noun) : 0;
    size_t need = n + klen + nlen + 3;
    uint32_t idx = take_slot(c, need);
    struct cand *s = &c->slots[idx];
    s->value = rp_xstrndup(v, n);
    s->value_len = n;
    s->key = in->key ? rp_xstrndup(in->key, klen) : NULL;
    s->noun = noun ? rp_xstrndup(noun, nlen) : NULL;
    s->hash = hash;
    s->name_hash = nh;
    s->seq = rs->seq;
    s->ordinal = c->ordinal++;
    s->index = in->index;
    s->bytes = need;
    s->kind = in->kind;
    s->alive = true;
    s->strong = in->strong;
    s->bound = in->bound;
    s->named = in->named;
    s->noun_explicit = noun && in->noun_explicit;
    s->listed = in->listed;
    uint32_t *b = bucket_of(c, hash);
    s->next = *b;
    *b = idx;
    c->bytes += need;
    rs->count++;
}

/* The noun of an id found under key (or, for a bare "id", under ctx): from the key when it
 * names one, else from the enclosing key, else the exchange's resource (a guess). */
bool rp__correlate_id_noun(const char *key, size_t klen, const char *ctx, size_t ctx_len,
                           const char *url_noun, char *out)
{
    if (key && rp__correlate_key_noun(key, klen, out, NOUN_BUF) > 0) {
        return true;
    }
    if (ctx && rp__correlate_word_noun(ctx, ctx_len, out, NOUN_BUF) > 0) {
        return true;
    }
    size_t m = strlen(url_noun);
    memcpy(out, url_noun, m + 1);
    return false;
}

/* The path segments of a same-origin URL (its path: n bytes at path) a response gave at kind and
 * key: a segment is an id when it holds a digit ("orders" and "t" are route names). */
static void index_path(struct resp *rs, enum rp_loc_kind kind, const char *key, const char *path,
                       size_t n)
{
    struct rp__segments w;
    rp__correlate_segments_init(&w, path, n);
    while (rp__correlate_segments_next(&w) && rs->count < RP_CORRELATE_MAX_PER_RESPONSE) {
        /* Only segments with a digit: a page or a body names many routes ("settings"), which
         * are no server's values. */
        if (!rp__correlate_has_digit(w.seg, w.seg_len)) {
            continue;
        }
        struct cand_info in = {
            .kind = kind,
            .key = key,
            .index = w.idx,
            .name = key,
            .name_len = strlen(key),
            .strong = rp__correlate_has_digit(w.seg, w.seg_len),
            .noun = w.noun,
        };
        add_cand(rs, &in, w.seg, w.seg_len);
    }
}

/* The ordinal of a page's URL among those of its tag, attribute and template before it. */
static size_t template_nth(struct resp *rs, const char *key)
{
    uint64_t h = rp__correlate_hash(key, strlen(key));
    for (size_t k = 0; k < rs->n_tmpls; k++) {
        if (rs->tmpls[k].hash == h) {
            return rs->tmpls[k].count++;
        }
    }
    if (!rs->tmpls) {
        rs->tmpls = rp_xcalloc(MAX_TEMPLATES, sizeof(*rs->tmpls));
    }
    if (rs->n_tmpls < MAX_TEMPLATES) {
        rs->tmpls[rs->n_tmpls].hash = h;
        rs->tmpls[rs->n_tmpls].count = 1;
        rs->n_tmpls++;
    }
    return 0;
}

static void index_query(struct resp *rs, enum rp_loc_kind kind, const char *tag_attr,
                        const char *prefix, const char *url, size_t n);

/* A URL of a page: each segment that may be a server's value is a candidate, keyed by the tag,
 * the attribute, its ordinal among the URLs that share its template, and that template. */
static void index_html_url(struct resp *rs, const struct rp__html_item *it)
{
    size_t off = 0;
    if (!rp__correlate_same_origin(it->value, it->value_len, rs->host, rs->host_len, &off)) {
        return;
    }
    const char *url = it->value + off;
    size_t n = it->value_len - off;
    size_t plen = 0;
    while (plen < n && url[plen] != '?' && url[plen] != '#') {
        plen++;
    }
    struct rp__segments w;
    rp__correlate_segments_init(&w, url, plen);
    char tmpl[RP_CORRELATE_MAX_PATH];
    char key[RP_CORRELATE_MAX_PATH + 128];
    while (rp__correlate_segments_next(&w) && rs->count < RP_CORRELATE_MAX_PER_RESPONSE) {
        /* As in index_path: only segments with a digit. */
        bool strong = rp__correlate_has_digit(w.seg, w.seg_len);
        if (!strong) {
            continue;
        }
        if (!rp__correlate_url_template(url, plen, w.idx, tmpl, sizeof(tmpl))) {
            continue;
        }
        int k = snprintf(key, sizeof(key), "%s %s 0 %s", it->tag, it->attr, tmpl);
        if (k < 0 || (size_t)k >= sizeof(key)) {
            continue;
        }
        size_t nth = template_nth(rs, key);
        k = snprintf(key, sizeof(key), "%s %s %zu %s", it->tag, it->attr, nth, tmpl);
        if (k < 0 || (size_t)k >= sizeof(key)) {
            continue;
        }
        struct cand_info in = {
            .kind = RP_LOC_HTML_URL,
            .key = key,
            .index = w.idx,
            .name = it->attr,
            .name_len = strlen(it->attr),
            .strong = strong,
            .noun = w.noun,
        };
        add_cand(rs, &in, w.seg, w.seg_len);
    }
    char tag_attr[96];
    char path[RP_CORRELATE_MAX_PATH];
    int k = snprintf(tag_attr, sizeof(tag_attr), "%s %s", it->tag, it->attr);
    if (k > 0 && (size_t)k < sizeof(tag_attr) && plen < sizeof(path)) {
        memcpy(path, url, plen);
        path[plen] = '\0';
        index_query(rs, RP_LOC_HTML_URL, tag_attr, path, url, n);
    }
}

/* The noun a path names: its last segment that is a word ("/items/7/edit": edit). */
static void path_noun(const char *path, size_t n, char out[NOUN_BUF])
{
    struct rp__segments w;
    char tmp[NOUN_BUF];
    out[0] = '\0';
    rp__correlate_segments_init(&w, path, n);
    while (rp__correlate_segments_next(&w)) {
        if (!rp__correlate_has_digit(w.seg, w.seg_len) &&
            rp__correlate_word_noun(w.seg, w.seg_len, tmp, sizeof(tmp)) > 0) {
            memcpy(out, tmp, strlen(tmp) + 1);
        }
    }
}

/*
 * The query values of a same-origin URL (n bytes at url, from its path on), each keyed
 * "PREFIX?NAME"; for a page's URL (tag_attr "a href") "TAG ATTR N PATH?NAME", N its ordinal
 * among the page's URLs of that key. A short value is strong under an id-like name ("?id=7").
 */
static void index_query(struct resp *rs, enum rp_loc_kind kind, const char *tag_attr,
                        const char *prefix, const char *url, size_t n)
{
    struct rp__url u;
    rp__url_split(url, n, &u);
    if (!u.has_query || strchr(prefix, '?')) {
        return;
    }
    char pnoun[NOUN_BUF];
    path_noun(url + u.path_off, u.path_len, pnoun);
    size_t pos = 0;
    struct rp__pair p;
    const char *q = url + u.query_off;
    while (rp__url_next_param(q, u.query_len, &pos, &p) &&
           rs->count < RP_CORRELATE_MAX_PER_RESPONSE) {
        char name[RP_CORRELATE_MAX_KEY + 1];
        char value[RP__CORR_VALUE_BUF];
        char noun[NOUN_BUF] = "";
        char key[RP_CORRELATE_MAX_PATH + RP_CORRELATE_MAX_KEY + 160];
        size_t nl = 0;
        size_t vl = 0;
        if (!rp__pct_decode(q + p.name_off, p.name_len, true, name, sizeof(name), &nl) ||
            !rp__pct_decode(q + p.value_off, p.value_len, true, value, sizeof(value), &vl) ||
            nl == 0 || memchr(name, '?', nl)) {
            continue;
        }
        int k;
        if (tag_attr) {
            k = snprintf(key, sizeof(key), "%s 0 %s?%s", tag_attr, prefix, name);
            if (k < 0 || (size_t)k >= sizeof(key)) {
                continue;
            }
            size_t nth = template_nth(rs, key);
            k = snprintf(key, sizeof(key), "%s %zu %s?%s", tag_attr, nth, prefix, name);
        } else {
            k = snprintf(key, sizeof(key), "%s?%s", prefix, name);
        }
        if (k < 0 || (size_t)k >= sizeof(key)) {
            continue;
        }
        struct cand_info in = {
            .kind = kind,
            .key = key,
            .name = name,
            .name_len = nl,
            .strong = rp__correlate_key_is_id(name, nl, false),
            .noun = noun,
        };
        if (in.strong) {
            in.noun_explicit = rp__correlate_id_noun(name, nl, NULL, 0, pnoun, noun);
        }
        add_cand(rs, &in, value, vl);
    }
}

/* True when a JSON path goes through a list, past a batch's "$[N]". */
static bool listed(const char *path)
{
    const char *p = path[0] == '$' && path[1] == '[' ? strchr(path, ']') : path;
    return p && strchr(p, '[') != NULL;
}

static bool resp_leaf(void *ud, const struct rp__json_leaf *leaf)
{
    struct resp *rs = ud;
    if (!leaf->value || (leaf->type != RP__JSON_STRING && leaf->type != RP__JSON_NUMBER)) {
        return true;
    }
    bool bound = false;
    for (size_t i = 0; i < rs->c->n_binds && !bound; i++) {
        const struct rp_location *l = &rs->c->binds[i].loc;
        bound = l->kind == RP_LOC_BODY_JSON && strcmp(l->key, leaf->path) == 0;
    }
    char noun[NOUN_BUF] = "";
    struct cand_info in = {
        .kind = RP_LOC_BODY_JSON,
        .key = leaf->path,
        .name = leaf->key,
        .name_len = leaf->key_len,
        .strong = leaf->key && rp__correlate_key_is_id(leaf->key, leaf->key_len, leaf->in_array),
        .bound = bound,
        .noun = noun,
        .listed = listed(leaf->path),
    };
    if (in.strong) {
        in.noun_explicit = rp__correlate_id_noun(leaf->key, leaf->key_len, leaf->ctx, leaf->ctx_len,
                                                 rs->url_noun, noun);
    }
    add_cand(rs, &in, leaf->value, leaf->value_len);
    size_t off = 0;
    if (leaf->type == RP__JSON_STRING &&
        rp__correlate_same_origin(leaf->value, leaf->value_len, rs->host, rs->host_len, &off)) {
        index_path(rs, RP_LOC_BODY_JSON_SEGMENT, leaf->path, leaf->value + off,
                   leaf->value_len - off);
        index_query(rs, RP_LOC_BODY_JSON_SEGMENT, NULL, leaf->path, leaf->value + off,
                    leaf->value_len - off);
    }
    return rs->count < RP_CORRELATE_MAX_PER_RESPONSE;
}

static bool resp_html(void *ud, const struct rp__html_item *it)
{
    struct resp *rs = ud;
    if (it->kind == RP_LOC_HTML_URL) {
        index_html_url(rs, it);
        return rs->count < RP_CORRELATE_MAX_PER_RESPONSE;
    }
    char noun[NOUN_BUF] = "";
    struct cand_info in = {
        .kind = it->kind,
        .key = it->name,
        .name = it->name,
        .name_len = it->name_len,
        .strong = rp__correlate_key_is_id(it->name, it->name_len, false),
        .noun = noun,
        /* What the server filled into a form comes back under the field's name. */
        .named = it->kind != RP_LOC_HTML_META,
    };
    in.noun_explicit = rp__correlate_key_noun(it->name, it->name_len, noun, sizeof(noun)) > 0;
    add_cand(rs, &in, it->value, it->value_len);
    return rs->count < RP_CORRELATE_MAX_PER_RESPONSE;
}

bool rp__correlate_cookie_name(const char *v, const struct rp__pair *p,
                               char name[RP_CORRELATE_MAX_KEY + 1])
{
    if (p->name_len == 0 || p->name_len > RP_CORRELATE_MAX_KEY) {
        return false;
    }
    memcpy(name, v + p->name_off, p->name_len);
    name[p->name_len] = '\0';
    return true;
}

/* True when name is in list; an entry ending in '*' is a prefix. Case-insensitive. */
bool rp__correlate_in_list(const char *name, size_t n, const char *const *list)
{
    /* Every header of every exchange is looked up: the first letter rules most entries out.
     * No entry is empty or starts with '*'. */
    if (n == 0) {
        return false;
    }
    char first = rp__ascii_lower(name[0]);
    for (size_t i = 0; list[i]; i++) {
        if (rp__ascii_lower(list[i][0]) != first) {
            continue;
        }
        size_t m = strlen(list[i]);
        if (list[i][m - 1] == '*') {
            if (n >= m - 1) {
                char pre[64];
                memcpy(pre, list[i], m - 1);
                pre[m - 1] = '\0';
                if (rp_strieq(name, m - 1, pre)) {
                    return true;
                }
            }
        } else if (rp_strieq(name, n, list[i])) {
            return true;
        }
    }
    return false;
}

/* Response headers that never carry a value the client sends back. */
static const char *const resp_skip[] = {
    "Date",
    "Content-Length",
    "Content-Type",
    "Server",
    "Set-Cookie",
    "Cache-Control",
    "Pragma",
    "Expires",
    "Last-Modified",
    "Vary",
    "Connection",
    "Keep-Alive",
    "Transfer-Encoding",
    "Content-Encoding",
    "Content-Language",
    "Accept-Ranges",
    "Age",
    "Via",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy*",
    "Referrer-Policy",
    "Permissions-Policy",
    "Access-Control-*",
    "Alt-Svc",
    "Server-Timing",
    "Timing-Allow-Origin",
    "Report-To",
    "NEL",
    "Cross-Origin-*",
    "X-Powered-By",
    NULL,
};

/* Request headers that are replay's business, volatile, or never hold a server's value. */
const char *const rp__correlate_req_skip[] = {
    "Host",
    "Content-Length",
    "User-Agent",
    "Accept*",
    "Connection",
    "Referer",
    "Origin",
    "X-Reprise-Run",
    "Content-Type",
    "Cache-Control",
    "Pragma",
    "Sec-*",
    "Upgrade-Insecure-Requests",
    "DNT",
    "TE",
    "Priority",
    "Keep-Alive",
    "Transfer-Encoding",
    "Expect",
    "If-Modified-Since",
    "If-Unmodified-Since",
    "Proxy-Connection",
    "Upgrade",
    NULL,
};

static void index_url_segments(struct resp *rs, const struct rp_header *h)
{
    struct rp__segments w;
    rp__correlate_segments_init(&w, h->value, h->value_len);
    while (rp__correlate_segments_next(&w)) {
        /* A segment is an id when it holds a digit: "orders" and "t" are route names. */
        struct cand_info in = {
            .kind = RP_LOC_HEADER_SEGMENT,
            .key = h->name,
            .index = w.idx,
            .name = h->name,
            .name_len = h->name_len,
            .strong = rp__correlate_has_digit(w.seg, w.seg_len),
            .noun = w.noun,
        };
        add_cand(rs, &in, w.seg, w.seg_len);
    }
}

/* Each same-origin link of a Link header, keyed by its rel (the first link without one: ""). */
static void index_links(struct resp *rs, const struct rp_header *h)
{
    size_t pos = 0;
    struct rp__link l;
    bool first = true;
    while (rp__correlate_link_next(h->value, h->value_len, &pos, &l) &&
           rs->count < RP_CORRELATE_MAX_PER_RESPONSE) {
        char rel[RP_CORRELATE_MAX_KEY + 1];
        size_t off = 0;
        const char *uri = h->value + l.uri_off;
        if ((l.rel_len == 0 && !first) || l.rel_len > RP_CORRELATE_MAX_KEY ||
            !rp__correlate_same_origin(uri, l.uri_len, rs->host, rs->host_len, &off)) {
            first = false;
            continue;
        }
        first = false;
        memcpy(rel, h->value + l.rel_off, l.rel_len);
        rel[l.rel_len] = '\0';
        size_t plen = off;
        while (plen < l.uri_len && uri[plen] != '?' && uri[plen] != '#') {
            plen++;
        }
        index_path(rs, RP_LOC_LINK_SEGMENT, rel, uri + off, plen - off);
        index_query(rs, RP_LOC_LINK_SEGMENT, NULL, rel, uri + off, l.uri_len - off);
    }
}

static void index_headers(struct resp *rs, const struct rp_headers *hs)
{
    for (size_t i = 0; i < hs->n && rs->count < RP_CORRELATE_MAX_PER_RESPONSE; i++) {
        const struct rp_header *h = &hs->v[i];
        if (memchr(h->value, '\0', h->value_len)) {
            continue;
        }
        char noun[NOUN_BUF] = "";
        if (rp_strieq(h->name, h->name_len, "Set-Cookie")) {
            size_t pos = 0;
            struct rp__pair p;
            char name[RP_CORRELATE_MAX_KEY + 1];
            if (!rp__cookie_next(h->value, h->value_len, &pos, &p) ||
                !rp__correlate_cookie_name(h->value, &p, name)) {
                continue;
            }
            struct cand_info in = {
                .kind = RP_LOC_COOKIE,
                .key = name,
                .name = name,
                .name_len = p.name_len,
                .strong = rp__correlate_name_is_id(name, p.name_len),
                .noun = noun,
            };
            in.noun_explicit = rp__correlate_key_noun(name, p.name_len, noun, sizeof(noun)) > 0;
            add_cand(rs, &in, h->value + p.value_off, p.value_len);
            continue;
        }
        if (rp__correlate_in_list(h->name, h->name_len, resp_skip)) {
            continue;
        }
        struct cand_info in = {
            .kind = RP_LOC_HEADER,
            .key = h->name,
            .name = h->name,
            .name_len = h->name_len,
            .strong = rp__correlate_name_is_id(h->name, h->name_len),
            .noun = noun,
        };
        in.noun_explicit = rp__correlate_key_noun(h->name, h->name_len, noun, sizeof(noun)) > 0;
        add_cand(rs, &in, h->value, h->value_len);
        if (rp_strieq(h->name, h->name_len, "Location") ||
            rp_strieq(h->name, h->name_len, "Content-Location")) {
            index_url_segments(rs, h);
        }
        if (rp_strieq(h->name, h->name_len, "Link")) {
            index_links(rs, h);
        }
    }
}

/* True when the body's first non-blank byte opens a JSON object or array. */
bool rp__correlate_looks_json(const struct rp_body *b)
{
    for (size_t i = 0; i < b->len; i++) {
        unsigned char ch = b->data[i];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
            return ch == '{' || ch == '[';
        }
    }
    return false;
}

/* The authority a request went to: from its absolute URL, else its Host header. */
static void request_host(const struct rp_request *req, char *out, size_t outsz, size_t *out_len)
{
    const char *h = NULL;
    size_t n = 0;
    const char *sep = req->url ? strstr(req->url, "://") : NULL;
    size_t off = 0;
    size_t len = 0;
    if (sep && rp__correlate_url_path(req->url, strlen(req->url), &off, &len)) {
        h = sep + 3;
        n = (size_t)(req->url + off - h);
    }
    if (!h) {
        const struct rp_header *hh = rp_headers_get(&req->headers, "Host", NULL);
        if (hh) {
            h = hh->value;
            n = hh->value_len;
        }
    }
    *out_len = 0;
    out[0] = '\0';
    if (h && n < outsz) {
        memcpy(out, h, n);
        out[n] = '\0';
        *out_len = n;
    }
}

/* The values at the places binds name (other than JSON paths, which the walk marks). */
static void index_binds(struct resp *rs, const struct rp_response *r)
{
    char value[RP__CORR_VALUE_BUF];
    char noun[1] = "";
    for (size_t i = 0; i < rs->c->n_binds; i++) {
        const struct rp_location *l = &rs->c->binds[i].loc;
        size_t len = 0;
        if (l->kind == RP_LOC_BODY_JSON || !rp__correlate_extract(r, l, value, &len)) {
            continue;
        }
        struct cand_info in = {
            .kind = l->kind,
            .key = l->key,
            .index = l->index,
            .name = l->key,
            .name_len = strlen(l->key),
            .bound = true,
            .noun = noun,
        };
        add_cand(rs, &in, value, len);
    }
}

static void index_response(struct rp_correlator *c, const struct rp_exchange *ex,
                           const char *url_noun)
{
    struct resp rs = {.c = c, .seq = ex->seq};
    memcpy(rs.url_noun, url_noun, strlen(url_noun) + 1);
    request_host(&ex->req, rs.host, sizeof(rs.host), &rs.host_len);
    const struct rp_body *b = &ex->resp.body;
    char media[128] = "";
    bool typed = rp_media_type(&ex->resp.headers, media, sizeof(media));
    if (b->len > 0) {
        if (typed &&
            (strcmp(media, "text/html") == 0 || strcmp(media, "application/xhtml+xml") == 0)) {
            size_t n = b->len < RP_CORRELATE_MAX_SCAN ? b->len : RP_CORRELATE_MAX_SCAN;
            rp__correlate_html_scan((const char *)b->data, n, resp_html, &rs);
        } else if (b->len <= RP_CORRELATE_MAX_SCAN &&
                   ((typed && rp_media_is_json(media)) || rp__correlate_looks_json(b))) {
            rp__correlate_json_walk((const char *)b->data, b->len, resp_leaf, &rs);
        }
    }
    index_headers(&rs, &ex->resp.headers);
    index_binds(&rs, &ex->resp);
    free(rs.tmpls);
}

rp_code rp_correlator_learn(struct rp_correlator *c, const struct rp_exchange *ex,
                            struct rp_error *err)
{
    if (c->any && ex->seq <= c->last_seq) {
        return rp_error_set(err, RP_EFORMAT, "exchange %llu: not after exchange %llu",
                            (unsigned long long)ex->seq, (unsigned long long)c->last_seq);
    }
    c->any = true;
    c->last_seq = ex->seq;
    if (c->n_corr >= RP_MAX_CORRELATIONS) {
        /* Nothing more can be learnt: the index would only be kept for nothing. */
        return RP_OK;
    }
    char url_noun[NOUN_BUF];
    rp__correlate_search_request(c, ex, url_noun);
    if (ex->has_response) {
        index_response(c, ex, url_noun);
    }
    c->n_echo = 0;
    return RP_OK;
}
