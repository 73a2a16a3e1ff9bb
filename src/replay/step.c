/* SPDX-License-Identifier: MIT */
/*
 * Step names: the name a recorded exchange keeps in every run, for reports that CI history
 * follows (JUnit test names). The recorded method and path, with its tenant values shown as
 * {tenant} and the values correlation carries from a response as {NOUN}:
 * "POST /t/{tenant}/api/orders/{order}/pay"; a GraphQL request adds its operation
 * ("POST /t/{tenant}/graphql createOrder"). Made once per exchange by the pre-pass, from the
 * recording alone, so two runs name a step alike whatever their tenants and live ids.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/internal.h"
#include "text_int.h"
#include "url_int.h"

/* ----- nouns ------------------------------------------------------------------------------- */

static bool is_word(const char *s, size_t n)
{
    if (n == 0 || n >= RP__STEP_NOUN_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* Writes the word s[0, n) lower-cased and singular ("orders": "order", "categories":
 * "category") into out (RP__STEP_NOUN_MAX bytes). */
static void singular(const char *s, size_t n, char *out)
{
    if (n > 3 && rp__ascii_ieq(s + n - 3, "ies", 3)) {
        n -= 3;
        for (size_t i = 0; i < n; i++) {
            out[i] = rp__ascii_lower(s[i]);
        }
        out[n++] = 'y';
        out[n] = '\0';
        return;
    }
    if (n > 1 && (s[n - 1] | 0x20) == 's' && (s[n - 2] | 0x20) != 's') {
        n--;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = rp__ascii_lower(s[i]);
    }
    out[n] = '\0';
}

/*
 * The noun of a key that names an id ("order_id", "orderId", "order-id": "order"), into out;
 * false when the key names no thing ("id", "token" stays "token").
 */
static bool key_noun(const char *key, char *out)
{
    size_t n = strlen(key);
    if (n >= 3 && (key[n - 3] == '_' || key[n - 3] == '-') && rp__ascii_ieq(key + n - 2, "id", 2)) {
        n -= 3;
    } else if (n >= 3 && key[n - 2] == 'I' && key[n - 1] == 'd') {
        n -= 2;
    } else if (n == 2 && rp__ascii_ieq(key, "id", 2)) {
        return false;
    }
    if (!is_word(key, n)) {
        return false;
    }
    singular(key, n, out);
    return true;
}

/* The noun of a correlation's source: the key above the id in "$.order.id", or a key that
 * names a thing ("$.order_id", "$.csrf_token"). */
static bool source_noun(const struct rp_correlation *c, char *out)
{
    if (c->from.kind != RP_LOC_BODY_JSON || !c->from.key) {
        return false;
    }
    /* The last two keys of the path, ignoring array indexes. */
    const char *k = c->from.key;
    size_t n = strlen(k);
    const char *last = NULL, *prev = NULL;
    size_t last_n = 0, prev_n = 0;
    for (size_t i = 0; i < n; i++) {
        if (k[i] != '.') {
            continue;
        }
        size_t j = i + 1;
        while (j < n && k[j] != '.' && k[j] != '[') {
            j++;
        }
        prev = last;
        prev_n = last_n;
        last = k + i + 1;
        last_n = j - i - 1;
    }
    if (!last) {
        return false;
    }
    char key[RP__STEP_NOUN_MAX];
    if (last_n >= sizeof(key)) {
        return false;
    }
    memcpy(key, last, last_n);
    key[last_n] = '\0';
    if (key_noun(key, out)) {
        return true;
    }
    if (prev && is_word(prev, prev_n)) {
        singular(prev, prev_n, out);
        return true;
    }
    return false;
}

/* ----- the name ---------------------------------------------------------------------------- */

/* The correlation of [first, end) into path segment seg (query parameter key when key is not
 * NULL) of the exchange's request, or NULL. */
static const struct rp_correlation *target(const struct rp_correlator *corr, size_t first,
                                           size_t end, size_t seg, const char *key, size_t key_len)
{
    for (size_t i = first; i < end; i++) {
        const struct rp_correlation *c = rp_correlator_get(corr, i);
        if (!key && c->to.kind == RP_LOC_PATH_SEGMENT && c->to.index == seg) {
            return c;
        }
        if (key && c->to.kind == RP_LOC_QUERY && c->to.key && strlen(c->to.key) == key_len &&
            memcmp(c->to.key, key, key_len) == 0) {
            return c;
        }
    }
    return NULL;
}

static rp_code add_noun(struct rp_buf *b, const char *noun, struct rp_error *err)
{
    rp_code rc = rp_buf_addc(b, '{', err);
    if (!rc) {
        rc = rp_buf_adds(b, noun, err);
    }
    return rc ? rc : rp_buf_addc(b, '}', err);
}

/* Appends the path, each correlated segment as its {NOUN}: the word segment before it, else
 * its source's key, else "id". */
static rp_code add_path(struct rp_buf *b, const char *path, size_t n,
                        const struct rp_correlator *corr, size_t first, size_t end,
                        struct rp_error *err)
{
    size_t pos = 0, off, len, seg = 0;
    const char *word = NULL;
    size_t word_n = 0;
    rp_code rc = RP_OK;
    if (n == 0) {
        return rp_buf_addc(b, '/', err);
    }
    while (!rc && rp__url_next_segment(path, n, &pos, &off, &len)) {
        rc = rp_buf_addc(b, '/', err);
        const struct rp_correlation *c = corr ? target(corr, first, end, seg, NULL, 0) : NULL;
        char noun[RP__STEP_NOUN_MAX];
        if (!rc && c) {
            if (word) {
                singular(word, word_n, noun);
            } else if (!source_noun(c, noun)) {
                snprintf(noun, sizeof(noun), "id");
            }
            rc = add_noun(b, noun, err);
            word = NULL;
        } else if (!rc) {
            rc = rp_buf_add(b, path + off, len, err);
            bool w = is_word(path + off, len);
            word = w ? path + off : NULL;
            word_n = w ? len : 0;
        }
        seg++;
    }
    return rc;
}

/* Appends "?" and the query, each correlated value as its {NOUN}. */
static rp_code add_query(struct rp_buf *b, const char *q, size_t n,
                         const struct rp_correlator *corr, size_t first, size_t end,
                         struct rp_error *err)
{
    rp_code rc = rp_buf_addc(b, '?', err);
    size_t pos = 0, done = 0;
    struct rp__pair p;
    while (!rc && rp__url_next_param(q, n, &pos, &p)) {
        const struct rp_correlation *c =
            corr ? target(corr, first, end, 0, q + p.name_off, p.name_len) : NULL;
        if (!c) {
            continue;
        }
        /* What comes before the value as it is, the value as its noun. */
        rc = rp_buf_add(b, q + done, p.value_off - done, err);
        char noun[RP__STEP_NOUN_MAX], key[RP__STEP_NOUN_MAX];
        bool named = false;
        if (p.name_len < sizeof(key)) {
            memcpy(key, q + p.name_off, p.name_len);
            key[p.name_len] = '\0';
            named = key_noun(key, noun);
        }
        if (!named && !source_noun(c, noun)) {
            snprintf(noun, sizeof(noun), "id");
        }
        if (!rc) {
            rc = add_noun(b, noun, err);
        }
        done = p.value_off + p.value_len;
    }
    return rc ? rc : rp_buf_add(b, q + done, n - done, err);
}

/* Cuts b to RP_MAX_STEP_NAME bytes at a character boundary, with "..." at the end. */
static void cap_name(struct rp_buf *b)
{
    if (b->len <= RP_MAX_STEP_NAME) {
        return;
    }
    size_t cut = RP_MAX_STEP_NAME - 3;
    while (cut > 0 && ((unsigned char)b->data[cut] & 0xC0) == 0x80) {
        cut--;
    }
    memcpy(b->data + cut, "...", 4);
    b->len = cut + 3;
}

char *rp__replay_step_name(const struct rp_exchange *ex, const struct rp_correlator *corr,
                           size_t first, size_t end, const struct rp_rewriter *tenants)
{
    struct rp_buf b;
    /* Room for every segment to become a longer noun; the name is cut to its cap after. */
    rp_buf_init(&b, 4 * (size_t)RP_MAX_URL_BYTES + 64);
    const char *url = ex->req.url ? ex->req.url : "";
    struct rp__url u;
    rp__url_split(url, strlen(url), &u);
    rp_code rc = rp_buf_adds(&b, ex->req.method ? ex->req.method : "-", NULL);
    if (!rc) {
        rc = rp_buf_addc(&b, ' ', NULL);
    }
    if (!rc) {
        rc = add_path(&b, url + u.path_off, u.path_len, corr, first, end, NULL);
    }
    if (!rc && u.has_query) {
        rc = add_query(&b, url + u.query_off, u.query_len, corr, first, end, NULL);
    }
    /* One GraphQL endpoint serves every operation: the operation tells the steps apart. */
    char *op = rc ? NULL : rp_graphql_operation(&ex->req);
    if (op) {
        rc = rp_buf_addc(&b, ' ', NULL);
        if (!rc) {
            rc = rp_buf_adds(&b, op, NULL);
        }
        free(op);
    }
    rp_ignore(rc); /* past the generous cap, what fits is cut below */
    cap_name(&b);
    char *name = rp_buf_take(&b, NULL);
    size_t n = 0;
    char *t = tenants ? rp_rewrite_text(tenants, name, strlen(name), &n) : NULL;
    if (t) {
        free(name);
        name = t;
    }
    return name;
}

/* ----- unique within a recording ----------------------------------------------------------- */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

/* Doubles the table and puts every name's count back. */
static void grow_table(struct rp__replay_steps *st)
{
    size_t cap = st->n_slots ? st->n_slots * 2 : 64;
    struct rp__replay_step_slot *slots = rp_xcalloc(cap, sizeof(*slots));
    for (size_t i = 0; i < st->n_slots; i++) {
        if (!st->slots[i].count) {
            continue;
        }
        size_t k = (size_t)(st->slots[i].hash & (cap - 1));
        while (slots[k].count) {
            k = (k + 1) & (cap - 1);
        }
        slots[k] = st->slots[i];
    }
    free(st->slots);
    st->slots = slots;
    st->n_slots = cap;
}

void rp__replay_steps_add(struct rp__replay_steps *st, const char *name)
{
    if (st->used * 2 >= st->n_slots) {
        grow_table(st);
    }
    /* Names are told apart by a 64-bit hash: two names of one recording sharing one would only
     * number the second as a repeat of the first. */
    uint64_t h = hash_name(name);
    size_t k = (size_t)(h & (st->n_slots - 1));
    while (st->slots[k].count && st->slots[k].hash != h) {
        k = (k + 1) & (st->n_slots - 1);
    }
    if (!st->slots[k].count) {
        st->slots[k].hash = h;
        st->used++;
    }
    if (st->slots[k].count < UINT32_MAX) {
        st->slots[k].count++;
    }
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 16;
        st->dup = rp_xreallocarray(st->dup, st->cap, sizeof(*st->dup));
    }
    st->dup[st->n++] = st->slots[k].count;
}

void rp__replay_steps_done(struct rp__replay_steps *st)
{
    free(st->slots);
    st->slots = NULL;
    st->n_slots = 0;
    st->used = 0;
}

uint32_t rp__replay_steps_dup(const struct rp__replay_steps *st, size_t i)
{
    return i < st->n ? st->dup[i] : 0;
}

void rp__replay_steps_cleanup(struct rp__replay_steps *st)
{
    free(st->dup);
    free(st->slots);
    memset(st, 0, sizeof(*st));
}

/* [*lo, *hi): the correlations of corr into recorded exchange seq (they are in order of
 * to_seq). */
static void range_of(const struct rp_correlator *corr, uint64_t seq, size_t *lo, size_t *hi)
{
    size_t a = 0, b = rp_correlator_count(corr);
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (rp_correlator_get(corr, m)->to_seq < seq) {
            a = m + 1;
        } else {
            b = m;
        }
    }
    size_t e = a, count = rp_correlator_count(corr);
    while (e < count && rp_correlator_get(corr, e)->to_seq == seq) {
        e++;
    }
    *lo = a;
    *hi = e;
}

const char *rp__replay_step_of(struct rp__replay_session *s)
{
    const struct rp__replay_rec *rec = s->in_teardown ? s->rec->td : s->rec;
    size_t i = s->in_teardown ? s->next_td : s->n_read;
    if (!s->cur || i == 0) {
        return NULL;
    }
    size_t lo = 0, hi = 0;
    if (s->rec->corr) {
        range_of(s->rec->corr, rp__replay_seq(s), &lo, &hi);
    }
    char *name = rp__replay_step_name(s->cur, s->rec->corr, lo, hi, s->rec->name_rules);
    uint32_t dup = rp__replay_steps_dup(&rec->steps, i - 1);
    if (dup > 1) {
        snprintf(s->step, sizeof(s->step), "%s #%u", name, (unsigned)dup);
    } else {
        snprintf(s->step, sizeof(s->step), "%s", name);
    }
    free(name);
    return s->step;
}

/* ----- one step alone: --step N --from RESULTS ------------------------------------------- */

void rp_replay_only_step(struct rp_replay *r, uint64_t seq)
{
    r->only = true;
    r->only_seq = seq;
}

rp_code rp_replay_seed(struct rp_replay *r, uint64_t seq, const struct rp_response *resp,
                       struct rp_error *err)
{
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.seq = seq;
    ex.has_response = true;
    ex.resp = *resp;
    struct rp_exchange copy;
    rp_exchange_init(&copy);
    rp_code rc = rp_exchange_copy(&copy, &ex, err);
    if (rc) {
        return rc;
    }
    r->seeds = rp_xreallocarray(r->seeds, r->n_seeds + 1, sizeof(*r->seeds));
    r->seeds[r->n_seeds++] = copy;
    return RP_OK;
}

void rp_replay_step_cookie(struct rp_replay *r, const char *cookie)
{
    free(r->step_cookie);
    r->step_cookie = cookie && cookie[0] ? rp_xstrdup(cookie) : NULL;
}

bool rp__replay_only_pass(struct rp__replay_session *s)
{
    struct rp_replay *r = s->r;
    if (s->in_teardown || s->cur->seq > r->only_seq) {
        return true;
    }
    if (s->cur->seq == r->only_seq) {
        return false;
    }
    /* The live values the earlier run took from this step's response, for the correlations
     * and variables of the step. */
    for (size_t i = 0; i < r->n_seeds; i++) {
        if (r->seeds[i].seq == s->cur->seq) {
            rp_corr_session_observe(s->cs, rp__replay_seq(s), &r->seeds[i].resp);
            rp__replay_vars_observe(s, &r->seeds[i].resp);
        }
    }
    return true;
}

void rp__replay_only_cookie(struct rp_replay *r, struct rp_request *req)
{
    if (!r->only || !r->step_cookie || rp_headers_get(&req->headers, "Cookie", NULL)) {
        return;
    }
    /* Only past the header cap does this fail; the step then goes without it, and says so by
     * the response it gets. */
    rp_ignore(
        rp_headers_add(&req->headers, "Cookie", 6, r->step_cookie, strlen(r->step_cookie), NULL));
}

void rp__replay_only_cleanup(struct rp_replay *r)
{
    for (size_t i = 0; i < r->n_seeds; i++) {
        rp_exchange_cleanup(&r->seeds[i]);
    }
    free(r->seeds);
    free(r->step_cookie);
}
