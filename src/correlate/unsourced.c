/* SPDX-License-Identifier: MIT */
/*
 * Unsourced ids: a pass over a recording, beside the correlator's learning, that finds the
 * id-like values a request sends which no earlier response gave. Each response's long tokens, and
 * the values at its id places (with the noun each names), go into a set of hashes; each
 * request's id-like values (by shape and by place, see correlate.h) are looked up in it, and
 * among the correlations into that very place of the request, before its own response is added.
 * A short value ("3") is in almost every page as a count or a style: only an id place gives it.
 * Replay refuses a write that sends one: the recorded server value names another tenant's object in
 * a fresh tenant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn.h"

struct rp_unsourced_finder {
    /* Hashes of the tokens earlier responses gave: open addressing, 0 marks a free slot. */
    uint64_t *seen;
    size_t seen_cap; /* a power of two */
    size_t n_seen;

    char **consts;
    size_t n_consts;
    char **tenants;
    size_t n_tenants;

    struct rp_unsourced *v;
    size_t n, cap;

    uint64_t saturated; /* the seq where looking stopped, or 0 */
    size_t next_corr;   /* the first correlation not into an earlier request */
};

/* ----- lifetime and declarations -------------------------------------------------------------- */

struct rp_unsourced_finder *rp_unsourced_finder_new(void)
{
    return rp_xcalloc(1, sizeof(struct rp_unsourced_finder));
}

static void strings_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

void rp_unsourced_finder_free(struct rp_unsourced_finder *u)
{
    if (!u) {
        return;
    }
    free(u->seen);
    strings_free(u->consts, u->n_consts);
    strings_free(u->tenants, u->n_tenants);
    for (size_t i = 0; i < u->n; i++) {
        free(u->v[i].where.key);
        free(u->v[i].value);
    }
    free(u->v);
    free(u);
}

static void strings_add(char ***v, size_t *n, const char *s)
{
    if (!s || !s[0]) {
        return;
    }
    *v = rp_xreallocarray(*v, *n + 1, sizeof(**v));
    (*v)[(*n)++] = rp_xstrdup(s);
}

void rp_unsourced_finder_const(struct rp_unsourced_finder *u, const char *value)
{
    strings_add(&u->consts, &u->n_consts, value);
}

void rp_unsourced_finder_tenant(struct rp_unsourced_finder *u, const char *value)
{
    strings_add(&u->tenants, &u->n_tenants, value);
}

size_t rp_unsourced_count(const struct rp_unsourced_finder *u)
{
    return u->n;
}

const struct rp_unsourced *rp_unsourced_get(const struct rp_unsourced_finder *u, size_t i)
{
    return i < u->n ? &u->v[i] : NULL;
}

size_t rp_unsourced_first(const struct rp_unsourced_finder *u, uint64_t seq)
{
    size_t lo = 0;
    size_t hi = u->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (u->v[mid].seq < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < u->n && u->v[lo].seq == seq ? lo : u->n;
}

uint64_t rp_unsourced_finder_saturated(const struct rp_unsourced_finder *u)
{
    return u->saturated;
}

/* ----- the set of values responses gave ------------------------------------------------------- */

static void seen_put(struct rp_unsourced_finder *u, uint64_t h, uint64_t seq)
{
    if (u->saturated) {
        return;
    }
    h |= 1; /* 0 marks a free slot */
    if (u->n_seen * 2 >= u->seen_cap) {
        if (u->n_seen >= RP_UNSOURCED_MAX_SEEN) {
            u->saturated = seq ? seq : 1;
            return;
        }
        size_t cap = u->seen_cap ? u->seen_cap * 2 : 1024;
        uint64_t *t = rp_xcalloc(cap, sizeof(*t));
        for (size_t i = 0; i < u->seen_cap; i++) {
            if (u->seen[i]) {
                size_t k = (size_t)u->seen[i] & (cap - 1);
                while (t[k]) {
                    k = (k + 1) & (cap - 1);
                }
                t[k] = u->seen[i];
            }
        }
        free(u->seen);
        u->seen = t;
        u->seen_cap = cap;
    }
    size_t k = (size_t)h & (u->seen_cap - 1);
    while (u->seen[k]) {
        if (u->seen[k] == h) {
            return;
        }
        k = (k + 1) & (u->seen_cap - 1);
    }
    u->seen[k] = h;
    u->n_seen++;
}

/* What a hash in the set stands for: a long token anywhere, or a value at an id place (any
 * noun, no noun, or a noun's stem). */
enum tag {
    TAG_LONG = 1,
    TAG_ANY,
    TAG_NOUNLESS,
    TAG_NOUN,
};

static uint64_t tag_hash(enum tag t, uint64_t stem, const char *v, size_t n)
{
    uint64_t h = rp__correlate_hash(v, n);
    h ^= (uint64_t)t * 0x9e3779b97f4a7c15ull + stem * 0xc2b2ae3d27d4eb4full;
    return h * 0x100000001b3ull;
}

static bool seen_has(const struct rp_unsourced_finder *u, uint64_t h)
{
    if (!u->seen_cap) {
        return false;
    }
    h |= 1;
    size_t k = (size_t)h & (u->seen_cap - 1);
    while (u->seen[k]) {
        if (u->seen[k] == h) {
            return true;
        }
        k = (k + 1) & (u->seen_cap - 1);
    }
    return false;
}

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Remembers the tokens of the run [p, p + n) cut at the separators in cut ("-", "_", both or
 * neither), each that holds a digit and is long. */
static void remember_cut(struct rp_unsourced_finder *u, const char *p, size_t n, const char *cut,
                         uint64_t seq)
{
    size_t start = 0;
    bool digit = false;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)p[i] : 0;
        if (i < n && !(c && strchr(cut, c))) {
            digit = digit || is_digit(c);
            continue;
        }
        size_t len = i - start;
        if (digit && len <= RP_UNSOURCED_MAX_ID && rp__correlate_is_long(p + start, len)) {
            seen_put(u, tag_hash(TAG_LONG, 0, p + start, len), seq);
        }
        start = i + 1;
        digit = false;
    }
}

/*
 * Remembers every long token (rp__correlate_is_long) of the n bytes at p that holds a digit: the
 * runs of letters and digits, and the runs that also take '-', '_' or both, so "ord_8f3k2",
 * "8f3k2", a UUID and the 17 of "/orders/17" are each found whole. One pass finds the widest
 * runs (letters, digits, '-' and '_'); only a run with a digit is cut further, and only at the
 * separators it holds.
 */
static void remember_tokens(struct rp_unsourced_finder *u, const char *p, size_t n, uint64_t seq)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        if (!is_alnum(c) && c != '-' && c != '_') {
            i++;
            continue;
        }
        size_t start = i;
        bool digit = false, dash = false, under = false;
        for (; i < n; i++) {
            c = (unsigned char)p[i];
            if (is_digit(c)) {
                digit = true;
            } else if (c == '-') {
                dash = true;
            } else if (c == '_') {
                under = true;
            } else if (!is_alnum(c)) {
                break;
            }
        }
        if (!digit || i - start < RP_CORRELATE_MIN_UNIQUE) {
            continue; /* no token of it can be long and hold a digit */
        }
        const char *run = p + start;
        size_t len = i - start;
        remember_cut(u, run, len, "", seq); /* the whole run: '-' and '_' taken */
        if (dash) {
            remember_cut(u, run, len, "-", seq); /* '_' taken */
        }
        if (under) {
            remember_cut(u, run, len, "_", seq); /* '-' taken */
        }
        if (dash && under) {
            remember_cut(u, run, len, "-_", seq); /* letters and digits only */
        }
    }
}

/* A response being remembered: the callbacks of the JSON and HTML scanners get it. */
struct resp_ctx {
    struct rp_unsourced_finder *u;
    uint64_t seq;
};

/* Remembers the value at an id place of a response, under the normalised noun it names ("" for
 * none: then it gives the value under any noun). */
static void remember_place(struct resp_ctx *rc, const char *noun, const char *v, size_t n)
{
    if (n == 0 || n > RP_UNSOURCED_MAX_ID) {
        return;
    }
    uint64_t stem = rp__correlate_stem(noun);
    seen_put(rc->u, tag_hash(TAG_ANY, 0, v, n), rc->seq);
    seen_put(rc->u, stem ? tag_hash(TAG_NOUN, stem, v, n) : tag_hash(TAG_NOUNLESS, 0, v, n),
             rc->seq);
}

/* Remembers the segments of the path of a URL (n bytes at url) that follow a noun. */
static void remember_url(struct resp_ctx *rc, const char *url, size_t n)
{
    size_t off = 0;
    size_t len = 0;
    if (!rp__correlate_url_path(url, n, &off, &len)) {
        return;
    }
    struct rp__segments w;
    rp__correlate_segments_init(&w, url + off, len);
    for (size_t i = 0; i < RP_CORRELATE_MAX_TARGETS && rp__correlate_segments_next(&w); i++) {
        if (w.noun[0] && rp__correlate_has_digit(w.seg, w.seg_len)) {
            remember_place(rc, w.noun, w.seg, w.seg_len);
        }
    }
}

static bool remember_leaf(void *ud, const struct rp__json_leaf *leaf)
{
    struct resp_ctx *rc = ud;
    if (!leaf->value || (leaf->type != RP__JSON_STRING && leaf->type != RP__JSON_NUMBER)) {
        return true;
    }
    if (leaf->key && rp__correlate_key_is_id(leaf->key, leaf->key_len, leaf->in_array)) {
        char noun[NOUN_BUF] = "";
        /* A bare "id" at the top names no noun for sure: it gives the value under any. */
        if (!rp__correlate_id_noun(leaf->key, leaf->key_len, leaf->ctx, leaf->ctx_len, "", noun)) {
            noun[0] = '\0';
        }
        remember_place(rc, noun, leaf->value, leaf->value_len);
    } else if (leaf->type == RP__JSON_STRING) {
        remember_url(rc, leaf->value, leaf->value_len);
    }
    return true;
}

static bool remember_html(void *ud, const struct rp__html_item *it)
{
    struct resp_ctx *rc = ud;
    if (it->kind == RP_LOC_HTML_URL) {
        remember_url(rc, it->value, it->value_len);
        return true;
    }
    /* A value the server filled into a form (or a meta): under the noun its name gives,
     * "project" for both "project" and "project_id"; "id" gives it under any noun. */
    char noun[NOUN_BUF] = "";
    if (rp__correlate_key_noun(it->name, it->name_len, noun, sizeof(noun)) == 0 &&
        !rp__correlate_key_is_id(it->name, it->name_len, false)) {
        (void)rp__correlate_word_noun(it->name, it->name_len, noun, sizeof(noun));
    }
    remember_place(rc, noun, it->value, it->value_len);
    return true;
}

static void remember_header(struct resp_ctx *rc, const struct rp_header *h)
{
    if (rp_strieq(h->name, h->name_len, "Location") ||
        rp_strieq(h->name, h->name_len, "Content-Location")) {
        remember_url(rc, h->value, h->value_len);
    } else if (rp_strieq(h->name, h->name_len, "Link")) {
        size_t pos = 0;
        struct rp__link l;
        for (size_t i = 0; i < RP_CORRELATE_MAX_TARGETS &&
                           rp__correlate_link_next(h->value, h->value_len, &pos, &l);
             i++) {
            remember_url(rc, h->value + l.uri_off, l.uri_len);
        }
    } else if (rp__correlate_name_is_id(h->name, h->name_len)) {
        char noun[NOUN_BUF] = "";
        (void)rp__correlate_key_noun(h->name, h->name_len, noun, sizeof(noun));
        remember_place(rc, noun, h->value, h->value_len);
    }
}

static bool starts_with_byte(const struct rp_body *b, size_t n, char want)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = b->data[i];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
            return ch == (unsigned char)want;
        }
    }
    return false;
}

/*
 * Remembers what a response gives: every long token of its headers and body, and the values at
 * its id places, each under its noun: a JSON value under an id-like key, a path segment after a
 * noun in a URL (Location, Content-Location, Link, an HTML href/action/src..., a JSON string),
 * an HTML form value the server filled (input, selected option) or meta, an id-named header.
 */
static void remember_response(struct rp_unsourced_finder *u, const struct rp_exchange *ex)
{
    struct resp_ctx rc = {.u = u, .seq = ex->seq};
    const struct rp_headers *hs = &ex->resp.headers;
    for (size_t i = 0; i < hs->n; i++) {
        remember_tokens(u, hs->v[i].value, hs->v[i].value_len, ex->seq);
        remember_header(&rc, &hs->v[i]);
    }
    const struct rp_body *b = &ex->resp.body;
    size_t n = b->len < RP_CORRELATE_MAX_SCAN ? b->len : RP_CORRELATE_MAX_SCAN;
    if (n == 0) {
        return;
    }
    remember_tokens(u, (const char *)b->data, n, ex->seq);
    char media[128] = "";
    bool typed = rp_media_type(hs, media, sizeof(media));
    bool json = typed ? rp_media_is_json(media)
                      : starts_with_byte(b, n, '{') || starts_with_byte(b, n, '[');
    bool html = typed ? strstr(media, "html") != NULL : starts_with_byte(b, n, '<');
    if (json && b->len <= RP_CORRELATE_MAX_SCAN) {
        (void)rp__correlate_json_walk((const char *)b->data, b->len, remember_leaf, &rc);
    } else if (html) {
        rp__correlate_html_scan((const char *)b->data, n, remember_html, &rc);
    }
}

/* ----- id shapes and places ------------------------------------------------------------------- */

enum shape {
    SHAPE_NONE,
    SHAPE_DIGITS,
    SHAPE_UUID,
    SHAPE_TOKEN,
};

static bool is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_uuid(const char *v, size_t n)
{
    if (n != 36) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? v[i] != '-' : !is_hex((unsigned char)v[i])) {
            return false;
        }
    }
    return true;
}

static enum shape shape_of(const char *v, size_t n)
{
    if (n == 0 || n > RP_UNSOURCED_MAX_ID) {
        return SHAPE_NONE;
    }
    size_t digits = 0, letters = 0, zeros = 0;
    bool token = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (is_digit(c)) {
            digits++;
            zeros += c == '0';
        } else if (is_alnum(c)) {
            letters++;
        } else if (c != '-' && c != '_') {
            token = false;
        }
    }
    if (digits == n) {
        return n <= 20 && zeros < n ? SHAPE_DIGITS : SHAPE_NONE;
    }
    if (is_uuid(v, n)) {
        return SHAPE_UUID;
    }
    /* Generated ids mix digits in throughout ("cus_9x8y7z", "cfw02w9r08ah3kl"); a word with a
     * digit in it ("requestC2CImage", "utf8") does not. */
    bool mixed = digits >= 2 && digits * 4 >= digits + letters;
    return token && letters && mixed && n >= 6 ? SHAPE_TOKEN : SHAPE_NONE;
}

/* A four-digit number from 1900 to 2099: a year, unless a key says it is an id. */
static bool is_year(const char *v, size_t n)
{
    return n == 4 && ((v[0] == '1' && v[1] == '9') || (v[0] == '2' && v[1] == '0')) &&
           is_digit((unsigned char)v[2]) && is_digit((unsigned char)v[3]);
}

/* ----- a request ------------------------------------------------------------------------------ */

struct req {
    struct rp_unsourced_finder *u;
    const struct rp_correlator *c;
    const struct rp_exchange *ex;
    bool graphql;            /* the body is GraphQL over JSON: its query strings are read too */
    const char *gql_path;    /* the query string's path, while its literals are offered */
    const char *gql_q;       /* and the query string itself, decoded */
    size_t corr_lo, corr_hi; /* the correlations into this request */
    size_t offered;
    bool write;
};

static bool contains(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; m && i + m <= n; i++) {
        if (memcmp(hay + i, needle, m) == 0) {
            return true;
        }
    }
    return false;
}

/* The place of a value in a request, and the normalised noun it names ("" for none). */
struct place {
    enum rp_loc_kind kind;
    const char *key;
    size_t index;
    const char *noun;
};

/* True when a correlation carries a value into exactly this place. */
static bool same_place(const struct rp_location *l, const struct place *at)
{
    if (l->kind != at->kind || l->index != at->index) {
        return false;
    }
    return (!l->key && !at->key) || (l->key && at->key && strcmp(l->key, at->key) == 0);
}

/*
 * True when the value is given: by an earlier response, a correlation into this place, a
 * declaration. A long value is given by any whole token of an earlier response; a short one
 * only by an id place, under no noun or one that matches the request's.
 */
static bool given(const struct req *rq, const struct place *at, const char *v, size_t n)
{
    const struct rp_unsourced_finder *u = rq->u;
    if (rp__correlate_is_long(v, n)) {
        if (seen_has(u, tag_hash(TAG_LONG, 0, v, n))) {
            return true;
        }
    } else {
        uint64_t stem = rp__correlate_stem(at->noun);
        if (seen_has(u, tag_hash(TAG_NOUNLESS, 0, v, n)) ||
            seen_has(u, stem ? tag_hash(TAG_NOUN, stem, v, n) : tag_hash(TAG_ANY, 0, v, n))) {
            return true;
        }
    }
    for (size_t i = rq->corr_lo; i < rq->corr_hi; i++) {
        const struct rp_correlation *k = rp_correlator_get(rq->c, i);
        if (strlen(k->value) == n && memcmp(k->value, v, n) == 0 && same_place(&k->to, at)) {
            return true;
        }
    }
    for (size_t i = 0; i < u->n_consts; i++) {
        if (strlen(u->consts[i]) == n && memcmp(u->consts[i], v, n) == 0) {
            return true;
        }
    }
    for (size_t i = 0; i < u->n_tenants; i++) {
        /* A short tenant name would be inside everything: it must be the whole value. */
        const char *t = u->tenants[i];
        size_t tl = strlen(t);
        if ((tl == n && memcmp(t, v, n) == 0) || (tl >= 3 && contains(v, n, t))) {
            return true;
        }
    }
    return false;
}

/* Offers one value at loc (kind, key, index); keeps it when it is unsourced. */
static void offer(struct req *rq, enum rp_loc_kind kind, const char *key, size_t index,
                  const char *noun, const char *v, size_t n)
{
    struct rp_unsourced_finder *u = rq->u;
    struct place at = {.kind = kind, .key = key, .index = index, .noun = noun};
    if (++rq->offered > RP_CORRELATE_MAX_TARGETS || u->saturated || given(rq, &at, v, n)) {
        return;
    }
    if (u->n >= RP_UNSOURCED_MAX) {
        u->saturated = rq->ex->seq ? rq->ex->seq : 1;
        return;
    }
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 16;
        u->v = rp_xreallocarray(u->v, u->cap, sizeof(*u->v));
    }
    struct rp_unsourced *e = &u->v[u->n++];
    memset(e, 0, sizeof(*e));
    e->seq = rq->ex->seq;
    const char *m = rq->ex->req.method ? rq->ex->req.method : "";
    size_t ml = strnlen(m, sizeof(e->method) - 1);
    memcpy(e->method, m, ml);
    e->method[ml] = '\0';
    e->where.kind = kind;
    e->where.key = key ? rp_xstrdup(key) : NULL;
    e->where.index = index;
    e->value = rp_xstrndup(v, n);
    e->write = rq->write;
}

static void scan_path(struct req *rq, const char *url)
{
    struct rp__segments w;
    rp__correlate_segments_init(&w, url, strlen(url));
    while (rp__correlate_segments_next(&w)) {
        enum shape sh = shape_of(w.seg, w.seg_len);
        bool noun = w.noun[0] != '\0';
        bool idlike = sh == SHAPE_UUID || (noun && sh == SHAPE_TOKEN) ||
                      (noun && sh == SHAPE_DIGITS && !is_year(w.seg, w.seg_len));
        if (idlike) {
            offer(rq, RP_LOC_PATH_SEGMENT, NULL, w.idx, w.noun, w.seg, w.seg_len);
        }
    }
}

/* An id-like value under a key: any id shape where the key names an id, a UUID anywhere. */
static bool keyed_idlike(bool id_key, const char *v, size_t n)
{
    enum shape sh = shape_of(v, n);
    return sh == SHAPE_UUID || (id_key && sh != SHAPE_NONE);
}

static void scan_params(struct req *rq, const char *s, size_t n, enum rp_loc_kind kind)
{
    size_t pos = 0;
    struct rp__pair p;
    while (rp__url_next_param(s, n, &pos, &p)) {
        char name[RP_CORRELATE_MAX_KEY + 1];
        char value[RP_UNSOURCED_MAX_ID + 1];
        size_t nl = 0;
        size_t vl = 0;
        if (!rp__pct_decode(s + p.name_off, p.name_len, true, name, sizeof(name), &nl) ||
            !rp__pct_decode(s + p.value_off, p.value_len, true, value, sizeof(value), &vl)) {
            continue;
        }
        bool id_key =
            rp__correlate_key_is_id(name, nl, false) || rp__correlate_name_is_id(name, nl);
        if (keyed_idlike(id_key, value, vl)) {
            char noun[NOUN_BUF] = "";
            (void)rp__correlate_key_noun(name, nl, noun, sizeof(noun));
            offer(rq, kind, name, 0, noun, value, vl);
        }
    }
}

/* A literal argument of a GraphQL query string: an id shape where the argument names an id
 * ("id", "orderId"), a UUID anywhere. */
static bool gql_literal(void *ud, const struct rp__gql_lit *lit)
{
    struct req *rq = ud;
    const char *q = rq->gql_q;
    size_t vo = lit->string ? lit->start + 1 : lit->start;
    size_t vl = lit->string ? lit->end - lit->start - 2 : lit->end - lit->start;
    bool id_key = rp__correlate_key_is_id(lit->arg, lit->arg_len, false);
    char key[RP_CORRELATE_MAX_PATH + RP_CORRELATE_MAX_KEY + 2];
    if (lit->arg_len > RP_CORRELATE_MAX_KEY || !keyed_idlike(id_key, q + vo, vl)) {
        return rq->offered <= RP_CORRELATE_MAX_TARGETS;
    }
    int k = snprintf(key, sizeof(key), "%s %.*s", rq->gql_path, (int)lit->arg_len, lit->arg);
    if (k > 0 && (size_t)k < sizeof(key)) {
        char noun[NOUN_BUF] = "";
        if (!rp__correlate_id_noun(lit->arg, lit->arg_len, lit->field, lit->field_len, "", noun)) {
            noun[0] = '\0';
        }
        /* Index 0: the place names the argument; which of its literals is in the message. */
        offer(rq, RP_LOC_GRAPHQL_LITERAL, key, 0, noun, q + vo, vl);
    }
    return rq->offered <= RP_CORRELATE_MAX_TARGETS;
}

static bool json_leaf(void *ud, const struct rp__json_leaf *leaf)
{
    struct req *rq = ud;
    if (rq->graphql && leaf->type == RP__JSON_STRING &&
        rp__correlate_graphql_query_path(leaf->path)) {
        const struct rp_body *b = &rq->ex->req.body;
        size_t qn = 0;
        char *q = rp__correlate_graphql_decode((const char *)b->data, b->len, leaf->start, &qn);
        if (q) {
            rq->gql_q = q;
            rq->gql_path = leaf->path;
            rp__correlate_graphql_scan(q, qn, gql_literal, rq);
            rq->gql_q = NULL;
            free(q);
        }
        return rq->offered <= RP_CORRELATE_MAX_TARGETS;
    }
    if (!leaf->value || (leaf->type != RP__JSON_STRING && leaf->type != RP__JSON_NUMBER)) {
        return true;
    }
    bool id_key = leaf->key && rp__correlate_key_is_id(leaf->key, leaf->key_len, leaf->in_array);
    if (keyed_idlike(id_key, leaf->value, leaf->value_len)) {
        char noun[NOUN_BUF] = "";
        if (!id_key ||
            !rp__correlate_id_noun(leaf->key, leaf->key_len, leaf->ctx, leaf->ctx_len, "", noun)) {
            noun[0] = '\0';
        }
        offer(rq, RP_LOC_BODY_JSON, leaf->path, 0, noun, leaf->value, leaf->value_len);
    }
    return rq->offered <= RP_CORRELATE_MAX_TARGETS;
}

/* The field values of a multipart/form-data body, as scan_params reads a form; file parts are
 * left alone. */
static void scan_multipart(struct req *rq, const char *b, size_t n, const char *bnd, size_t blen)
{
    struct rp__fields it = {0};
    struct rp__part p;
    char name[RP_CORRELATE_MAX_KEY + 1];
    while (rp__correlate_multipart_field(b, n, bnd, blen, &it, &p, name)) {
        const char *v = b + p.value_off;
        bool id_key = rp__correlate_key_is_id(name, p.name_len, false) ||
                      rp__correlate_name_is_id(name, p.name_len);
        if (keyed_idlike(id_key, v, p.value_len)) {
            char noun[NOUN_BUF] = "";
            (void)rp__correlate_key_noun(name, p.name_len, noun, sizeof(noun));
            offer(rq, RP_LOC_MULTIPART, name, 0, noun, v, p.value_len);
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
        scan_params(rq, (const char *)b->data, b->len, RP_LOC_FORM);
        return;
    }
    bool json = typed && rp_media_is_json(media);
    for (size_t i = 0; !json && !typed && i < b->len; i++) {
        unsigned char ch = b->data[i];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
            json = ch == '{' || ch == '[';
            break;
        }
    }
    if (json) {
        rq->graphql = rp__correlate_is_graphql((const char *)b->data, b->len);
        rp__correlate_json_walk((const char *)b->data, b->len, json_leaf, rq);
        return;
    }
    char bnd[80];
    size_t blen = 0;
    if (rp__correlate_multipart_boundary(&req->headers, bnd, sizeof(bnd), &blen)) {
        scan_multipart(rq, (const char *)b->data, b->len, bnd, blen);
    }
}

static bool is_write(const char *m)
{
    return m && (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0 ||
                 strcmp(m, "DELETE") == 0);
}

void rp_unsourced_finder_learn(struct rp_unsourced_finder *u, const struct rp_correlator *c,
                               const struct rp_exchange *ex)
{
    struct req rq = {.u = u, .c = c, .ex = ex, .write = is_write(ex->req.method)};
    /* The correlator keeps its pairs in to_seq order, and exchanges come in order. */
    size_t total = rp_correlator_count(c);
    while (u->next_corr < total && rp_correlator_get(c, u->next_corr)->to_seq < ex->seq) {
        u->next_corr++;
    }
    rq.corr_lo = u->next_corr;
    rq.corr_hi = rq.corr_lo;
    while (rq.corr_hi < total && rp_correlator_get(c, rq.corr_hi)->to_seq == ex->seq) {
        rq.corr_hi++;
    }
    if (!u->saturated && ex->req.url) {
        scan_path(&rq, ex->req.url);
        struct rp__url p;
        rp__url_split(ex->req.url, strlen(ex->req.url), &p);
        if (p.has_query) {
            scan_params(&rq, ex->req.url + p.query_off, p.query_len, RP_LOC_QUERY);
        }
        scan_body(&rq, &ex->req);
    }
    if (ex->has_response) {
        remember_response(u, ex);
    }
}
