/* SPDX-License-Identifier: MIT */
/*
 * The request half of learning correlations: each value a request sends (URL segments, query
 * and form parameters, headers, cookies, JSON fields) is looked up among the candidates earlier
 * responses gave (learn.c), and the best source, by evidence and by the nouns both sides name,
 * becomes a correlation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../jscan_int.h"
#include "internal.h"
#include "learn.h"

/* ----- searching a request ------------------------------------------------------------------ */

struct req {
    struct rp_correlator *c;
    uint64_t seq;
    size_t first;   /* this request's first correlation */
    size_t targets; /* values offered so far */
    char url_noun[NOUN_BUF];
    const char *body; /* the request body, while its JSON is walked */
    size_t body_len;
    bool graphql; /* the body is GraphQL over JSON */
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
    bool idlike;  /* a whole path segment, or a field named like an id */
    bool tokens;  /* a source may stand as a whole token inside the value */
    bool by_noun; /* id-like only as its key is a noun ("project": 3): the nouns must match */
    const char *noun;
    bool noun_explicit;
};

/* Notes a value the request sent: any long one, and short ones in id-like places. */
static void echo_add(struct rp_correlator *c, const struct target *t)
{
    bool lng = rp__correlate_is_long(t->value, t->value_len);
    if (c->n_echo <= RP_CORRELATE_MAX_TARGETS && (lng || t->idlike)) {
        c->echo[c->n_echo].hash = rp__correlate_hash(t->value, t->value_len);
        c->echo[c->n_echo].stem = lng ? 0 : rp__correlate_stem(t->noun);
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
static int admit(const struct cand *s, const struct target *t, uint64_t tname)
{
    if (s->bound || rp__correlate_is_long(t->value, t->value_len)) {
        return 1;
    }
    if (t->value_len == 1 && t->value[0] == '0') {
        return -1;
    }
    /* A value the server filled into a form, sent back under the field's name. */
    if (s->named && tname && s->name_hash == tname &&
        (t->kind == RP_LOC_FORM || t->kind == RP_LOC_MULTIPART || t->kind == RP_LOC_BODY_JSON)) {
        return 3;
    }
    if (!s->strong || !t->idlike) {
        return -1;
    }
    if (t->by_noun) {
        return s->noun && rp__correlate_noun_match(s->noun, t->noun) ? 2 + s->noun_explicit : -1;
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
    bool form = t->kind == RP_LOC_FORM || t->kind == RP_LOC_MULTIPART;
    if ((form && (s->kind == RP_LOC_HTML_INPUT || s->kind == RP_LOC_HTML_SELECT)) ||
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
    if (a->s->listed != b->s->listed) {
        return !a->s->listed;
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
        if (!rp__correlate_same_value(s, h, v, n)) {
            continue;
        }
        /* A cookie sent back under the name it was set with is the cookie jar's business:
         * correlating it would spend the cap on every request of a session. */
        if (s->kind == RP_LOC_COOKIE && t->kind == RP_LOC_COOKIE && strcmp(s->key, t->key) == 0) {
            continue;
        }
        struct pick p = {s, whole ? admit(s, t, tname) : 1, affinity(s, t, tname), v, n};
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
    if (t->value_len > RP_CORRELATE_MAX_VALUE || rp__correlate_never(t->value, t->value_len) ||
        rp__correlate_is_tenant(c, t->value, t->value_len)) {
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
    uint64_t tname = rp__correlate_name_hash(t->name, t->name_len);
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

/*
 * A field's target: id-like by its key, with the noun its key (or the URL) names. A short value
 * with a digit under a key that is a noun ("project", "tenant") is id-like too, for sources of
 * that noun only: the select or link that gave project 3 fills the field "project".
 */
static void field_target(struct req *rq, struct target *t, char *noun, bool in_array,
                         const char *ctx, size_t ctx_len)
{
    t->idlike = rp__correlate_key_is_id(t->name, t->name_len, in_array);
    noun[0] = '\0';
    t->noun = noun;
    if (t->idlike) {
        t->noun_explicit =
            rp__correlate_id_noun(t->name, t->name_len, ctx, ctx_len, rq->url_noun, noun);
    } else if (t->name_len > 0 && !in_array && !rp__correlate_is_long(t->value, t->value_len) &&
               rp__correlate_has_digit(t->value, t->value_len) &&
               rp__correlate_word_noun(t->name, t->name_len, noun, NOUN_BUF) > 0) {
        t->idlike = true;
        t->by_noun = true;
        t->noun_explicit = true;
    }
}

/* The literals of one GraphQL query string. */
struct gql {
    struct req *rq;
    const char *path; /* the query string's JSON path */
    const char *q;
    struct {
        uint64_t hash;
        size_t count;
    } args[64];
    size_t n_args;
    bool more;
};

/* How many literals of argument arg came before this one. */
static size_t arg_nth(struct gql *g, const char *arg, size_t n)
{
    uint64_t h = rp__correlate_hash(arg, n);
    for (size_t k = 0; k < g->n_args; k++) {
        if (g->args[k].hash == h) {
            return g->args[k].count++;
        }
    }
    if (g->n_args < sizeof(g->args) / sizeof(g->args[0])) {
        g->args[g->n_args].hash = h;
        g->args[g->n_args].count = 1;
        g->n_args++;
    }
    return 0;
}

static bool gql_lit(void *ud, const struct rp__gql_lit *lit)
{
    struct gql *g = ud;
    size_t nth = arg_nth(g, lit->arg, lit->arg_len);
    char key[RP_CORRELATE_MAX_PATH + RP_CORRELATE_MAX_KEY + 2];
    char name[RP_CORRELATE_MAX_KEY + 1];
    if (lit->arg_len > RP_CORRELATE_MAX_KEY) {
        return true;
    }
    memcpy(name, lit->arg, lit->arg_len);
    name[lit->arg_len] = '\0';
    int k = snprintf(key, sizeof(key), "%s %s", g->path, name);
    if (k < 0 || (size_t)k >= sizeof(key)) {
        return true;
    }
    size_t vo = lit->string ? lit->start + 1 : lit->start;
    size_t vl = lit->string ? lit->end - lit->start - 2 : lit->end - lit->start;
    char noun[NOUN_BUF];
    struct target t = {
        .kind = RP_LOC_GRAPHQL_LITERAL,
        .key = key,
        .index = nth,
        .name = name,
        .name_len = lit->arg_len,
        .value = g->q + vo,
        .value_len = vl,
    };
    field_target(g->rq, &t, noun, false, lit->field, lit->field_len);
    g->more = consider(g->rq, &t);
    return g->more;
}

/* Offers the literal arguments of the query string at leaf. */
static bool scan_query(struct req *rq, const struct rp__json_leaf *leaf)
{
    size_t qn = 0;
    char *q = rp__correlate_graphql_decode(rq->body, rq->body_len, leaf->start, &qn);
    if (!q) {
        return true;
    }
    struct gql *g = rp_xcalloc(1, sizeof(*g));
    g->rq = rq;
    g->path = leaf->path;
    g->q = q;
    g->more = true;
    rp__correlate_graphql_scan(q, qn, gql_lit, g);
    bool more = g->more;
    free(g);
    free(q);
    return more;
}

static bool req_leaf(void *ud, const struct rp__json_leaf *leaf)
{
    struct req *rq = ud;
    if (rq->graphql && leaf->type == RP__JSON_STRING &&
        rp__correlate_graphql_query_path(leaf->path)) {
        return scan_query(rq, leaf);
    }
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
            !rp__pct_decode(s + p.value_off, p.value_len, true, value, sizeof(value), &vl)) {
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

/* Offers the field values of a multipart/form-data body; file parts are left alone. */
static void multipart(struct req *rq, const char *b, size_t n, const char *bnd, size_t blen)
{
    struct rp__fields it = {0};
    struct rp__part p;
    char name[RP_CORRELATE_MAX_KEY + 1];
    while (rp__correlate_multipart_field(b, n, bnd, blen, &it, &p, name)) {
        char noun[NOUN_BUF];
        struct target t = {
            .kind = RP_LOC_MULTIPART,
            .key = name,
            .name = name,
            .name_len = p.name_len,
            .value = b + p.value_off,
            .value_len = p.value_len,
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
    struct rp__segments w;
    rp__correlate_segments_init(&w, url, n);
    while (rp__correlate_segments_next(&w)) {
        struct target t = {
            .kind = RP_LOC_PATH_SEGMENT,
            .index = w.idx,
            .value = w.seg,
            .value_len = w.seg_len,
            .idlike = true,
            .tokens = true,
            .noun = w.noun,
        };
        if (!consider(rq, &t)) {
            return;
        }
    }
    struct rp__url u;
    rp__url_split(url, n, &u);
    if (u.has_query) {
        params(rq, url + u.query_off, u.query_len, RP_LOC_QUERY);
    }
}

static void scan_headers(struct req *rq, const struct rp_headers *hs)
{
    for (size_t i = 0; i < hs->n; i++) {
        const struct rp_header *h = &hs->v[i];
        if (memchr(h->value, '\0', h->value_len) ||
            rp__correlate_in_list(h->name, h->name_len, rp__correlate_req_skip)) {
            continue;
        }
        char noun[1] = "";
        if (rp_strieq(h->name, h->name_len, "Cookie")) {
            size_t pos = 0;
            struct rp__pair p;
            while (rp__cookie_next(h->value, h->value_len, &pos, &p)) {
                char name[RP_CORRELATE_MAX_KEY + 1];
                if (!rp__correlate_cookie_name(h->value, &p, name)) {
                    continue;
                }
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

static void graphql_noun(struct req *rq);

static void scan_body(struct req *rq, const struct rp_request *req)
{
    const struct rp_body *b = &req->body;
    if (b->len == 0 || b->len > RP_CORRELATE_MAX_SCAN) {
        return;
    }
    char media[128] = "";
    char bnd[80];
    size_t blen = 0;
    bool typed = rp_media_type(&req->headers, media, sizeof(media));
    const char *text = (const char *)b->data;
    if (typed && strcmp(media, "application/x-www-form-urlencoded") == 0) {
        params(rq, text, b->len, RP_LOC_FORM);
    } else if (rp__correlate_multipart_boundary(&req->headers, bnd, sizeof(bnd), &blen)) {
        multipart(rq, text, b->len, bnd, blen);
    } else if ((typed && rp_media_is_json(media)) || rp__correlate_looks_json(b)) {
        rq->body = text;
        rq->body_len = b->len;
        rq->graphql = rp__correlate_is_graphql(text, b->len);
        if (rq->graphql) {
            graphql_noun(rq);
        }
        rp__correlate_json_walk(text, b->len, req_leaf, rq);
    }
}

/* The noun of a GraphQL request: its first operation's first field, its verb dropped
 * ("createOrder": order), in place of the URL's (/graphql names nothing). */
static void graphql_noun(struct req *rq)
{
    enum rp__json_type type;
    size_t start = 0;
    size_t end = 0;
    if (!rp__correlate_json_find(rq->body, rq->body_len, "$.query", &type, &start, &end) &&
        !rp__correlate_json_find(rq->body, rq->body_len, "$[0].query", &type, &start, &end)) {
        return;
    }
    size_t qn = 0;
    char *q = type == RP__JSON_STRING
                  ? rp__correlate_graphql_decode(rq->body, rq->body_len, start, &qn)
                  : NULL;
    size_t off = 0;
    size_t len = 0;
    char noun[NOUN_BUF];
    if (q && rp__correlate_graphql_root(q, qn, &off, &len) &&
        rp__correlate_word_noun(q + off, len, noun, sizeof(noun)) > 0) {
        memcpy(rq->url_noun, noun, strlen(noun) + 1);
    }
    free(q);
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

void rp__correlate_search_request(struct rp_correlator *c, const struct rp_exchange *ex,
                                  char url_noun_out[NOUN_BUF])
{
    struct req rq = {.c = c, .seq = ex->seq, .first = c->n_corr};
    url_noun(ex->req.url, rq.url_noun);
    c->n_echo = 0;
    if (ex->req.url) {
        scan_url(&rq, ex->req.url);
    }
    scan_headers(&rq, &ex->req.headers);
    scan_body(&rq, &ex->req);
    qsort(c->echo, c->n_echo, sizeof(*c->echo), cmp_echo);
    memcpy(url_noun_out, rq.url_noun, sizeof(rq.url_noun));
}
