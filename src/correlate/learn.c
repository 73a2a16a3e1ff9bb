/* SPDX-License-Identifier: MIT */
/*
 * Learning correlations from a recording, streamed in order. Each response's values go into a
 * bounded index of candidates (value -> where it came from); each request's values are looked
 * up in it before that exchange's own response is indexed, so a source always precedes its
 * target. The index forgets the oldest candidates first, so memory does not grow with the
 * recording.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NONE          UINT32_MAX
#define NOUN_BUF      (RP_CORRELATE_MAX_KEY + 1u)
#define INITIAL_SLOTS 256u

/* A value a response gave, and where. */
struct cand {
    char *value;
    size_t value_len;
    char *key;  /* the location's key, or NULL */
    char *noun; /* normalised noun an id belongs to, or NULL */
    uint64_t hash;
    uint64_t name_hash; /* normalised field name (tie-break), 0 for none */
    uint64_t seq;
    uint64_t ordinal; /* indexing order, for ties inside one response */
    size_t index;
    size_t bytes;  /* counted against RP_CORRELATE_INDEX_BYTES */
    uint32_t next; /* next slot in the bucket, newest first */
    enum rp_loc_kind kind;
    bool alive;
    bool strong;
    bool bound;
    bool noun_explicit; /* the noun comes from a key, not guessed from a URL */
};

struct bind {
    char *name;
    char *path;
};

/* A value a request sent: its hash, and for a short id the stem of its noun (0 for none). */
struct echo {
    uint64_t hash;
    uint64_t stem;
};

struct rp_correlator {
    struct bind *binds;
    size_t n_binds;

    /* The candidates: a ring of slots (oldest at head) chained into hash buckets. */
    struct cand *slots;
    size_t cap;
    size_t head;
    size_t used;
    uint32_t *buckets;
    size_t nbuckets;
    size_t bytes;
    uint64_t ordinal;

    bool any;
    uint64_t last_seq;

    struct rp_correlation *corr;
    size_t n_corr;
    size_t cap_corr;

    /* The current request's values: its response does not source them again. */
    struct echo *echo;
    size_t n_echo;
};

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
    }
    free(c->binds);
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

rp_code rp_correlator_bind(struct rp_correlator *c, const char *name, const char *jsonpath,
                           struct rp_error *err)
{
    if (!rp__correlate_json_path_valid(jsonpath)) {
        return rp_error_set(err, RP_EUSAGE, "bind %s: \"%s\" is not a path of the form $.key[N]",
                            name ? name : "", jsonpath ? jsonpath : "");
    }
    if (c->n_binds >= RP_CORRELATE_MAX_BINDS) {
        return rp_error_set(err, RP_ETOOBIG, "more than %u binds", RP_CORRELATE_MAX_BINDS);
    }
    c->binds = rp_xreallocarray(c->binds, c->n_binds + 1, sizeof(*c->binds));
    c->binds[c->n_binds].name = rp_xstrdup(name ? name : "");
    c->binds[c->n_binds].path = rp_xstrdup(jsonpath);
    c->n_binds++;
    return RP_OK;
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

static bool same_value(const struct cand *s, uint64_t hash, const char *v, size_t n)
{
    return s->hash == hash && s->value_len == n && memcmp(s->value, v, n) == 0;
}

static bool same_noun(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Hash of a field name normalised for comparison ("csrf-token" == "CSRF_TOKEN"). */
static uint64_t name_hash(const char *name, size_t n)
{
    if (!name || n == 0) {
        return 0;
    }
    char buf[NOUN_BUF];
    size_t o = rp__correlate_normalise(name, n, buf, sizeof(buf));
    return o ? rp__correlate_hash(buf, o) | 1 : 0;
}

/* ----- indexing a response ------------------------------------------------------------------ */

struct resp {
    struct rp_correlator *c;
    uint64_t seq;
    size_t count;
    char url_noun[NOUN_BUF]; /* the exchange's resource, guessed from its request URL */
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
};

/* A hash of a noun with a plural ending taken off ("orders", "order": equal), 0 for none. */
static uint64_t stem(const char *noun)
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
        rp__correlate_never(v, n)) {
        return;
    }
    /* A short value is only ever matched on strong evidence or through a bind: without either
     * it would take room for nothing. */
    bool zero = n == 1 && v[0] == '0';
    bool lng = rp__correlate_is_long(v, n);
    if (!in->bound && !lng && (!in->strong || zero)) {
        return;
    }
    uint64_t hash = rp__correlate_hash(v, n);
    const char *noun = in->noun[0] ? in->noun : NULL;
    /* A value the request itself sent is the client's, not the server's. */
    if (echoed(c, hash, lng, stem(noun))) {
        return;
    }
    uint64_t nh = name_hash(in->name, in->name_len);
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
        if (!same_value(s, hash, v, n)) {
            link = &s->next;
            continue;
        }
        bool same_class = s->strong == in->strong && s->bound == in->bound &&
                          same_noun(s->noun, noun) && s->noun_explicit == in->noun_explicit;
        if (s->seq == rs->seq) {
            if (same_class && s->kind == in->kind && s->name_hash == nh) {
                return;
            }
            link = &s->next;
            continue;
        }
        bool outranked = s->strong <= in->strong && s->bound <= in->bound &&
                         same_noun(s->noun, noun) && s->noun_explicit <= in->noun_explicit;
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
    s->noun_explicit = noun && in->noun_explicit;
    uint32_t *b = bucket_of(c, hash);
    s->next = *b;
    *b = idx;
    c->bytes += need;
    rs->count++;
}

/* The noun of an id found under key (or, for a bare "id", under ctx): from the key when it
 * names one, else from the enclosing key, else the exchange's resource (a guess). */
static bool id_noun(const char *key, size_t klen, const char *ctx, size_t ctx_len,
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

static bool resp_leaf(void *ud, const struct rp__json_leaf *leaf)
{
    struct resp *rs = ud;
    if (!leaf->value || (leaf->type != RP__JSON_STRING && leaf->type != RP__JSON_NUMBER)) {
        return true;
    }
    bool bound = false;
    for (size_t i = 0; i < rs->c->n_binds && !bound; i++) {
        bound = strcmp(rs->c->binds[i].path, leaf->path) == 0;
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
    };
    if (in.strong) {
        in.noun_explicit =
            id_noun(leaf->key, leaf->key_len, leaf->ctx, leaf->ctx_len, rs->url_noun, noun);
    }
    add_cand(rs, &in, leaf->value, leaf->value_len);
    return rs->count < RP_CORRELATE_MAX_PER_RESPONSE;
}

static bool resp_html(void *ud, enum rp_loc_kind kind, const char *name, size_t name_len,
                      const char *value, size_t value_len)
{
    struct resp *rs = ud;
    char noun[NOUN_BUF] = "";
    struct cand_info in = {
        .kind = kind,
        .key = name,
        .name = name,
        .name_len = name_len,
        .strong = rp__correlate_key_is_id(name, name_len, false),
        .noun = noun,
    };
    in.noun_explicit = rp__correlate_key_noun(name, name_len, noun, sizeof(noun)) > 0;
    add_cand(rs, &in, value, value_len);
    return rs->count < RP_CORRELATE_MAX_PER_RESPONSE;
}

/* True when name is in list; an entry ending in '*' is a prefix. Case-insensitive. */
static bool in_list(const char *name, size_t n, const char *const *list)
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
static const char *const req_skip[] = {
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
    struct rp__url u;
    rp__url_split(h->value, h->value_len, &u);
    const char *path = h->value + u.path_off;
    size_t pos = 0;
    size_t off = 0;
    size_t len = 0;
    char prev[NOUN_BUF] = "";
    char seg[RP__CORR_VALUE_BUF];
    for (size_t idx = 0; rp__url_next_segment(path, u.path_len, &pos, &off, &len); idx++) {
        size_t sl = 0;
        if (!rp__pct_decode(path + off, len, false, seg, sizeof(seg), &sl)) {
            prev[0] = '\0';
            continue;
        }
        /* A segment is an id when it holds a digit: "orders" and "t" are route names. */
        bool digit = rp__correlate_has_digit(seg, sl);
        struct cand_info in = {
            .kind = RP_LOC_HEADER_SEGMENT,
            .key = h->name,
            .index = idx,
            .name = h->name,
            .name_len = h->name_len,
            .strong = digit,
            .noun = prev,
        };
        add_cand(rs, &in, seg, sl);
        if (digit || rp__correlate_word_noun(seg, sl, prev, sizeof(prev)) == 0) {
            prev[0] = '\0';
        }
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
            if (!rp__cookie_next(h->value, h->value_len, &pos, &p) || p.name_len == 0 ||
                p.name_len > RP_CORRELATE_MAX_KEY) {
                continue;
            }
            char name[RP_CORRELATE_MAX_KEY + 1];
            memcpy(name, h->value + p.name_off, p.name_len);
            name[p.name_len] = '\0';
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
        if (in_list(h->name, h->name_len, resp_skip)) {
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
    }
}

/* True when the body's first non-blank byte opens a JSON object or array. */
static bool looks_json(const struct rp_body *b)
{
    for (size_t i = 0; i < b->len; i++) {
        unsigned char ch = b->data[i];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
            return ch == '{' || ch == '[';
        }
    }
    return false;
}

static void index_response(struct rp_correlator *c, const struct rp_exchange *ex,
                           const char *url_noun)
{
    struct resp rs = {.c = c, .seq = ex->seq};
    memcpy(rs.url_noun, url_noun, strlen(url_noun) + 1);
    const struct rp_body *b = &ex->resp.body;
    char media[128] = "";
    bool typed = rp_media_type(&ex->resp.headers, media, sizeof(media));
    if (b->len > 0) {
        if (typed &&
            (strcmp(media, "text/html") == 0 || strcmp(media, "application/xhtml+xml") == 0)) {
            size_t n = b->len < RP_CORRELATE_MAX_SCAN ? b->len : RP_CORRELATE_MAX_SCAN;
            rp__correlate_html_scan((const char *)b->data, n, resp_html, &rs);
        } else if (b->len <= RP_CORRELATE_MAX_SCAN &&
                   ((typed && rp_media_is_json(media)) || looks_json(b))) {
            rp__correlate_json_walk((const char *)b->data, b->len, resp_leaf, &rs);
        }
    }
    index_headers(&rs, &ex->resp.headers);
}

/* ----- searching a request ------------------------------------------------------------------ */

struct req {
    struct rp_correlator *c;
    uint64_t seq;
    size_t first;   /* this request's first correlation */
    size_t targets; /* values offered so far */
    char url_noun[NOUN_BUF];
};

/* One value of the request and where it stands. */
struct target {
    enum rp_loc_kind kind;
    const char *key;
    size_t index;
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
    bool idlike; /* a whole path segment, or a field named like an id */
    bool tokens; /* a source may stand as a whole token inside the value */
    const char *noun;
    bool noun_explicit;
};

/* Notes a value the request sent: any long one, and short ones in id-like places. */
static void echo_add(struct rp_correlator *c, const struct target *t)
{
    bool lng = rp__correlate_is_long(t->value, t->value_len);
    if (c->n_echo <= RP_CORRELATE_MAX_TARGETS && (lng || t->idlike)) {
        c->echo[c->n_echo].hash = rp__correlate_hash(t->value, t->value_len);
        c->echo[c->n_echo].stem = lng ? 0 : stem(t->noun);
        c->n_echo++;
    }
}

static int cmp_echo(const void *a, const void *b)
{
    const struct echo *x = a;
    const struct echo *y = b;
    if (x->hash != y->hash) {
        return x->hash < y->hash ? -1 : 1;
    }
    return x->stem < y->stem ? -1 : x->stem > y->stem;
}

static bool same_location(const struct rp_location *l, const struct target *t)
{
    if (l->kind != t->kind || l->index != t->index) {
        return false;
    }
    if (!l->key || !t->key) {
        return !l->key && !t->key;
    }
    if (t->kind == RP_LOC_HEADER) {
        return rp_strieq(l->key, strlen(l->key), t->key);
    }
    return strcmp(l->key, t->key) == 0;
}

/* True for a noun that surely names a kind of thing: from a key, or a plural from a URL. */
static bool firm(const char *noun, bool explicit)
{
    size_t n = strlen(noun);
    return explicit || (n > 3 && noun[n - 1] == 's' && noun[n - 2] != 's' && noun[n - 2] != 'u');
}

/*
 * How well candidate s fits target t when the whole value matches: -1 not at all; otherwise a
 * rank (higher is better). A short value needs a strong source and an id-like target, and
 * their nouns must not clearly differ ("product_id" is not an order's "id").
 */
static int admit(const struct cand *s, const struct target *t)
{
    if (s->bound || rp__correlate_is_long(t->value, t->value_len)) {
        return 1;
    }
    if ((t->value_len == 1 && t->value[0] == '0') || !s->strong || !t->idlike) {
        return -1;
    }
    if (!s->noun || !t->noun[0]) {
        return 1;
    }
    if (rp__correlate_noun_match(s->noun, t->noun)) {
        return s->noun_explicit && t->noun_explicit ? 3 : 2;
    }
    /* Differing nouns exclude only when both are firm: named by a key, or a collection's name
     * in a URL ("orders"). A guess such as "me" or "login" may still be a user's id. */
    return firm(s->noun, s->noun_explicit) && firm(t->noun, t->noun_explicit) ? -1 : 0;
}

/* Where the source's name or kind suits the target (a hidden input for a form field). */
static int affinity(const struct cand *s, const struct target *t, uint64_t tname)
{
    int a = 0;
    if (tname && s->name_hash == tname) {
        a += 2;
    }
    if ((t->kind == RP_LOC_FORM && s->kind == RP_LOC_HTML_INPUT) ||
        (t->kind == RP_LOC_HEADER && s->kind == RP_LOC_HTML_META) || t->kind == s->kind) {
        a += 1;
    }
    return a;
}

struct pick {
    const struct cand *s;
    int rank;
    int aff;
    const char *value;
    size_t value_len;
};

/* Rank first, then the latest source, then the longest (token) match, then the best-suited
 * name and kind, then the first indexed. */
static bool better(const struct pick *a, const struct pick *b)
{
    if (!b->s) {
        return true;
    }
    if (a->rank != b->rank) {
        return a->rank > b->rank;
    }
    if (a->s->seq != b->s->seq) {
        return a->s->seq > b->s->seq;
    }
    if (a->value_len != b->value_len) {
        return a->value_len > b->value_len;
    }
    if (a->aff != b->aff) {
        return a->aff > b->aff;
    }
    return a->s->ordinal < b->s->ordinal;
}

/* Finds candidates for the n bytes at v (hash h) and keeps the best in *best. */
static void probe(struct rp_correlator *c, const struct target *t, uint64_t tname, const char *v,
                  size_t n, uint64_t h, bool whole, struct pick *best)
{
    for (uint32_t idx = c->buckets[h & (c->nbuckets - 1)]; idx != NONE; idx = c->slots[idx].next) {
        const struct cand *s = &c->slots[idx];
        if (!same_value(s, h, v, n)) {
            continue;
        }
        /* A cookie sent back under the name it was set with is the cookie jar's business:
         * correlating it would spend the cap on every request of a session. */
        if (s->kind == RP_LOC_COOKIE && t->kind == RP_LOC_COOKIE && strcmp(s->key, t->key) == 0) {
            continue;
        }
        struct pick p = {s, whole ? admit(s, t) : 1, affinity(s, t, tname), v, n};
        if (p.rank >= 0 && better(&p, best)) {
            *best = p;
        }
    }
}

/* Looks for long sources standing as whole tokens inside the target ("Bearer <token>"). */
static void token_search(struct rp_correlator *c, const struct target *t, uint64_t tname,
                         struct pick *best)
{
    const char *v = t->value;
    size_t n = t->value_len;
    size_t starts = 0;
    for (size_t i = 0; i + RP_CORRELATE_MIN_UNIQUE <= n; i++) {
        if (i > 0 && !rp__correlate_is_boundary((unsigned char)v[i - 1])) {
            continue;
        }
        /* Bounded work on long headers: the first starts are where tokens begin. */
        if (++starts > RP_CORRELATE_TOKEN_STARTS) {
            return;
        }
        uint64_t h = 14695981039346656037ull;
        for (size_t j = i; j < n && j - i < RP_CORRELATE_MAX_VALUE; j++) {
            h ^= (unsigned char)v[j];
            h *= 1099511628211ull;
            size_t len = j - i + 1;
            size_t end = j + 1;
            if (len < RP_CORRELATE_MIN_UNIQUE || (i == 0 && end == n)) {
                continue;
            }
            if (end < n && !rp__correlate_is_boundary((unsigned char)v[end])) {
                continue;
            }
            if (rp__correlate_is_long(v + i, len)) {
                probe(c, t, tname, v + i, len, h, false, best);
            }
        }
    }
}

static void add_correlation(struct req *rq, const struct target *t, const struct pick *p)
{
    struct rp_correlator *c = rq->c;
    if (c->n_corr == c->cap_corr) {
        size_t cap = c->cap_corr ? c->cap_corr * 2 : 16;
        if (cap > RP_MAX_CORRELATIONS) {
            cap = RP_MAX_CORRELATIONS;
        }
        c->corr = rp_xreallocarray(c->corr, cap, sizeof(*c->corr));
        c->cap_corr = cap;
    }
    struct rp_correlation *r = &c->corr[c->n_corr++];
    r->from_seq = p->s->seq;
    r->from.kind = p->s->kind;
    r->from.key = rp_xstrdup(p->s->key);
    r->from.index = p->s->index;
    r->to_seq = rq->seq;
    r->to.kind = t->kind;
    r->to.key = rp_xstrdup(t->key);
    r->to.index = t->index;
    r->value = rp_xstrndup(p->value, p->value_len);
    r->bound = p->s->bound;
    r->strong = !p->s->bound && p->s->strong && t->idlike;
}

/* Offers one request value; returns false once no more are taken. */
static bool consider(struct req *rq, const struct target *t)
{
    struct rp_correlator *c = rq->c;
    if (c->n_corr >= RP_MAX_CORRELATIONS || rq->targets >= RP_CORRELATE_MAX_TARGETS) {
        return false;
    }
    rq->targets++;
    if (t->value_len > RP_CORRELATE_MAX_VALUE || rp__correlate_never(t->value, t->value_len)) {
        return true;
    }
    echo_add(c, t);
    if (c->cap == 0) {
        return true;
    }
    for (size_t k = rq->first; k < c->n_corr; k++) {
        if (same_location(&c->corr[k].to, t)) {
            return true;
        }
    }
    uint64_t tname = name_hash(t->name, t->name_len);
    struct pick best = {NULL, 0, 0, NULL, 0};
    probe(c, t, tname, t->value, t->value_len, rp__correlate_hash(t->value, t->value_len), true,
          &best);
    if (!best.s && t->tokens && t->value_len > RP_CORRELATE_MIN_UNIQUE) {
        token_search(c, t, tname, &best);
    }
    if (best.s) {
        add_correlation(rq, t, &best);
    }
    return true;
}

/* A field's target: id-like by its key, with the noun its key (or the URL) names. */
static void field_target(struct req *rq, struct target *t, char *noun, bool in_array,
                         const char *ctx, size_t ctx_len)
{
    t->idlike = rp__correlate_key_is_id(t->name, t->name_len, in_array);
    noun[0] = '\0';
    t->noun = noun;
    if (t->idlike) {
        t->noun_explicit = id_noun(t->name, t->name_len, ctx, ctx_len, rq->url_noun, noun);
    }
}

static bool req_leaf(void *ud, const struct rp__json_leaf *leaf)
{
    struct req *rq = ud;
    if (!leaf->value || (leaf->type != RP__JSON_STRING && leaf->type != RP__JSON_NUMBER)) {
        return true;
    }
    char noun[NOUN_BUF];
    struct target t = {
        .kind = RP_LOC_BODY_JSON,
        .key = leaf->path,
        .name = leaf->key ? leaf->key : "",
        .name_len = leaf->key_len,
        .value = leaf->value,
        .value_len = leaf->value_len,
    };
    field_target(rq, &t, noun, leaf->in_array, leaf->ctx, leaf->ctx_len);
    return consider(rq, &t);
}

/* Offers each name=value of a query string or form body. */
static void params(struct req *rq, const char *s, size_t n, enum rp_loc_kind kind)
{
    size_t pos = 0;
    struct rp__pair p;
    while (rp__url_next_param(s, n, &pos, &p)) {
        char name[RP_CORRELATE_MAX_KEY + 1];
        char value[RP__CORR_VALUE_BUF];
        char noun[NOUN_BUF];
        size_t nl = 0;
        size_t vl = 0;
        if (!rp__pct_decode(s + p.name_off, p.name_len, true, name, sizeof(name), &nl) ||
            !rp__pct_decode(s + p.value_off, p.value_len, true, value, sizeof(value),
                                      &vl)) {
            continue;
        }
        struct target t = {
            .kind = kind,
            .key = name,
            .name = name,
            .name_len = nl,
            .value = value,
            .value_len = vl,
            .tokens = kind == RP_LOC_QUERY,
        };
        field_target(rq, &t, noun, false, NULL, 0);
        if (!consider(rq, &t)) {
            return;
        }
    }
}

static void scan_url(struct req *rq, const char *url)
{
    size_t n = strlen(url);
    struct rp__url u;
    rp__url_split(url, n, &u);
    const char *path = url + u.path_off;
    size_t pos = 0;
    size_t off = 0;
    size_t len = 0;
    char prev[NOUN_BUF] = "";
    char seg[RP__CORR_VALUE_BUF];
    for (size_t idx = 0; rp__url_next_segment(path, u.path_len, &pos, &off, &len); idx++) {
        size_t sl = 0;
        if (!rp__pct_decode(path + off, len, false, seg, sizeof(seg), &sl)) {
            prev[0] = '\0';
            continue;
        }
        struct target t = {
            .kind = RP_LOC_PATH_SEGMENT,
            .index = idx,
            .value = seg,
            .value_len = sl,
            .idlike = true,
            .tokens = true,
            .noun = prev,
        };
        if (!consider(rq, &t)) {
            return;
        }
        if (rp__correlate_has_digit(seg, sl) ||
            rp__correlate_word_noun(seg, sl, prev, sizeof(prev)) == 0) {
            prev[0] = '\0';
        }
    }
    if (u.has_query) {
        params(rq, url + u.query_off, u.query_len, RP_LOC_QUERY);
    }
}

static void scan_headers(struct req *rq, const struct rp_headers *hs)
{
    for (size_t i = 0; i < hs->n; i++) {
        const struct rp_header *h = &hs->v[i];
        if (memchr(h->value, '\0', h->value_len) || in_list(h->name, h->name_len, req_skip)) {
            continue;
        }
        char noun[1] = "";
        if (rp_strieq(h->name, h->name_len, "Cookie")) {
            size_t pos = 0;
            struct rp__pair p;
            while (rp__cookie_next(h->value, h->value_len, &pos, &p)) {
                char name[RP_CORRELATE_MAX_KEY + 1];
                if (p.name_len == 0 || p.name_len > RP_CORRELATE_MAX_KEY) {
                    continue;
                }
                memcpy(name, h->value + p.name_off, p.name_len);
                name[p.name_len] = '\0';
                struct target t = {
                    .kind = RP_LOC_COOKIE,
                    .key = name,
                    .name = name,
                    .name_len = p.name_len,
                    .value = h->value + p.value_off,
                    .value_len = p.value_len,
                    .noun = noun,
                };
                if (!consider(rq, &t)) {
                    return;
                }
            }
            continue;
        }
        if (rp_strieq(h->name, h->name_len, "Authorization") && h->value_len > 7 &&
            rp_strieq(h->value, 7, "Bearer ")) {
            struct target bearer = {
                .value = h->value + 7, .value_len = h->value_len - 7, .noun = noun};
            echo_add(rq->c, &bearer);
        }
        struct target t = {
            .kind = RP_LOC_HEADER,
            .key = h->name,
            .name = h->name,
            .name_len = h->name_len,
            .value = h->value,
            .value_len = h->value_len,
            .tokens = true,
            .noun = noun,
        };
        if (!consider(rq, &t)) {
            return;
        }
    }
}

static void scan_body(struct req *rq, const struct rp_request *req)
{
    const struct rp_body *b = &req->body;
    if (b->len == 0 || b->len > RP_CORRELATE_MAX_SCAN) {
        return;
    }
    char media[128] = "";
    bool typed = rp_media_type(&req->headers, media, sizeof(media));
    if (typed && strcmp(media, "application/x-www-form-urlencoded") == 0) {
        params(rq, (const char *)b->data, b->len, RP_LOC_FORM);
    } else if ((typed && rp_media_is_json(media)) || looks_json(b)) {
        rp__correlate_json_walk((const char *)b->data, b->len, req_leaf, rq);
    }
}

/*
 * The resource a URL names, as a noun (a guess): its last word segment when that names a
 * collection ("/orders/4/items"), else the word before its last id ("/orders/4/pay"), else its
 * last word ("/api/me").
 */
static void url_noun(const char *url, char *out)
{
    out[0] = '\0';
    if (!url) {
        return;
    }
    struct rp__url u;
    rp__url_split(url, strlen(url), &u);
    size_t pos = 0;
    size_t off = 0;
    size_t len = 0;
    char word[NOUN_BUF] = "";
    char prev[NOUN_BUF] = "";
    char before_id[NOUN_BUF] = "";
    char tmp[NOUN_BUF];
    while (rp__url_next_segment(url + u.path_off, u.path_len, &pos, &off, &len)) {
        const char *seg = url + u.path_off + off;
        if (rp__correlate_has_digit(seg, len)) {
            memcpy(before_id, prev, strlen(prev) + 1);
            prev[0] = '\0';
        } else if (rp__correlate_word_noun(seg, len, tmp, sizeof(tmp)) > 0) {
            memcpy(word, tmp, strlen(tmp) + 1);
            memcpy(prev, tmp, strlen(tmp) + 1);
        }
    }
    const char *pick = firm(word, false) || !before_id[0] ? word : before_id;
    memcpy(out, pick, strlen(pick) + 1);
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
    struct req rq = {.c = c, .seq = ex->seq, .first = c->n_corr};
    url_noun(ex->req.url, rq.url_noun);
    c->n_echo = 0;
    if (ex->req.url) {
        scan_url(&rq, ex->req.url);
    }
    scan_headers(&rq, &ex->req.headers);
    scan_body(&rq, &ex->req);
    qsort(c->echo, c->n_echo, sizeof(*c->echo), cmp_echo);
    if (ex->has_response) {
        index_response(c, ex, rq.url_noun);
    }
    c->n_echo = 0;
    return RP_OK;
}
