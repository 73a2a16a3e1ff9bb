/* SPDX-License-Identifier: MIT */
/*
 * Text helpers of the correlate module: what makes a value unique or a key id-like, the nouns
 * ids belong to, and whole-token search and replace. (URLs, query strings and cookies are
 * taken apart by the library's toolkit, src/url.c.)
 */
#include <string.h>

#include "internal.h"

/* ----- values and keys ---------------------------------------------------------------------- */

uint64_t rp__correlate_hash(const char *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

bool rp__correlate_is_long(const char *v, size_t n)
{
    if (n < RP_CORRELATE_MIN_UNIQUE) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        if (v[i] != v[0]) {
            return true;
        }
    }
    return false;
}

static bool eq(const char *p, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n == m && memcmp(p, lit, m) == 0;
}

bool rp__correlate_never(const char *v, size_t n)
{
    /* A placeholder ({{var:NAME}}, {{secret:NAME}}) has its own mechanism and no value here. */
    bool placeholder = n >= 4 && v[0] == '{' && v[1] == '{' && v[n - 2] == '}' && v[n - 1] == '}';
    return n == 0 || placeholder || eq(v, n, "true") || eq(v, n, "false") || eq(v, n, "null");
}

static bool ends(const char *p, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && memcmp(p + n - m, suffix, m) == 0;
}

static bool ends_ci(const char *p, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && rp_strieq(p + n - m, m, suffix);
}

bool rp__correlate_key_is_id(const char *key, size_t n, bool in_array)
{
    if (eq(key, n, "id") || ends(key, n, "_id") || (n > 2 && ends(key, n, "Id"))) {
        return true;
    }
    if (in_array) {
        return eq(key, n, "ids") || ends(key, n, "_ids") || (n > 3 && ends(key, n, "Ids"));
    }
    return false;
}

bool rp__correlate_name_is_id(const char *name, size_t n)
{
    return rp_strieq(name, n, "id") || ends_ci(name, n, "-id") || ends_ci(name, n, "_id");
}

size_t rp__correlate_normalise(const char *p, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    if (outsz == 0) {
        return 0;
    }
    for (size_t i = 0; i < n && o + 1 < outsz; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 'A' && c <= 'Z') {
            out[o++] = (char)(c + 32);
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return o;
}

size_t rp__correlate_key_noun(const char *key, size_t n, char *out, size_t outsz)
{
    size_t base = 0;
    if (n > 4 && (ends(key, n, "_ids") || ends_ci(key, n, "-ids"))) {
        base = n - 4;
    } else if (n > 3 && (ends_ci(key, n, "_id") || ends_ci(key, n, "-id") || ends(key, n, "Ids"))) {
        base = n - 3;
    } else if (n > 2 && ends(key, n, "Id")) {
        base = n - 2;
    }
    size_t start = 0;
    /* Custom header names carry an "X-" that says nothing about the noun. */
    if (base > 2 && (key[0] == 'x' || key[0] == 'X') && key[1] == '-') {
        start = 2;
    }
    if (base <= start) {
        if (outsz) {
            out[0] = '\0';
        }
        return 0;
    }
    return rp__correlate_normalise(key + start, base - start, out, outsz);
}

size_t rp__correlate_word_noun(const char *word, size_t n, char *out, size_t outsz)
{
    /* Containers that wrap a resource without naming it. */
    static const char *const generic[] = {
        "data",    "result", "results", "payload", "response",  "body",  "attributes",
        "attrs",   "object", "record",  "records", "entity",    "value", "values",
        "content", "node",   "nodes",   "edge",    "edges",     "list",  "row",
        "rows",    "hits",   "meta",    "api",     "variables", "input",
    };
    /* A GraphQL field, or a key in its style, names an action on a thing: "createOrder" and
     * "create_order" are about an order. */
#define VERB(w)                                                                                    \
    {                                                                                              \
        w, sizeof(w) - 1                                                                           \
    }
    static const struct {
        const char *w;
        size_t n;
    } verbs[] = {
        VERB("create"),  VERB("update"),  VERB("delete"), VERB("remove"), VERB("add"),
        VERB("get"),     VERB("fetch"),   VERB("set"),    VERB("upsert"), VERB("edit"),
        VERB("modify"),  VERB("cancel"),  VERB("pay"),    VERB("list"),   VERB("find"),
        VERB("archive"), VERB("publish"), VERB("submit"), VERB("insert"), VERB("save"),
        VERB("replace"), VERB("destroy"), VERB("patch"),  VERB("put"),
    };
#undef VERB
    /* The first letter first: this runs for every key and URL segment learnt from. */
    for (size_t k = 0; n > 2 && k < sizeof(verbs) / sizeof(verbs[0]); k++) {
        size_t m = verbs[k].n;
        if (word[0] == verbs[k].w[0] && n > m + 1 && memcmp(word, verbs[k].w, m) == 0 &&
            ((word[m] >= 'A' && word[m] <= 'Z') || word[m] == '_')) {
            size_t skip = word[m] == '_' ? m + 1 : m;
            word += skip;
            n -= skip;
            break;
        }
    }
    size_t len = rp__correlate_normalise(word, n, out, outsz);
    bool letter = false;
    for (size_t i = 0; i < len; i++) {
        if (out[i] >= 'a' && out[i] <= 'z') {
            letter = true;
        }
    }
    for (size_t i = 0; letter && i < sizeof(generic) / sizeof(generic[0]); i++) {
        /* The first letter first: most words are none of these, and this runs for every
         * segment of every URL learnt from. */
        if (out[0] == generic[i][0] && strcmp(out, generic[i]) == 0) {
            letter = false;
        }
    }
    if (!letter) {
        if (outsz) {
            out[0] = '\0';
        }
        return 0;
    }
    return len;
}

/* True when p is a plural of s. */
static bool plural_of(const char *p, const char *s)
{
    size_t lp = strlen(p);
    size_t ls = strlen(s);
    if (lp == ls + 1 && memcmp(p, s, ls) == 0 && p[ls] == 's') {
        return true;
    }
    if (lp == ls + 2 && memcmp(p, s, ls) == 0 && p[ls] == 'e' && p[ls + 1] == 's') {
        return true;
    }
    return ls >= 2 && s[ls - 1] == 'y' && lp == ls + 2 && memcmp(p, s, ls - 1) == 0 &&
           memcmp(p + ls - 1, "ies", 3) == 0;
}

bool rp__correlate_noun_match(const char *a, const char *b)
{
    return strcmp(a, b) == 0 || plural_of(a, b) || plural_of(b, a);
}

bool rp__correlate_is_boundary(unsigned char c)
{
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-';
    return !word;
}

bool rp__correlate_has_digit(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            return true;
        }
    }
    return false;
}

/* The first occurrence of needle (m >= 1 bytes) in hay at or after from, or n. */
static size_t find(const char *hay, size_t n, size_t from, const char *needle, size_t m)
{
    while (from < n && n - from >= m) {
        const char *p = memchr(hay + from, needle[0], n - from - m + 1);
        if (!p) {
            return n;
        }
        size_t at = (size_t)(p - hay);
        if (memcmp(p, needle, m) == 0) {
            return at;
        }
        from = at + 1;
    }
    return n;
}

rp_code rp__correlate_replace(const char *hay, size_t n, const char *from, size_t from_len,
                              const char *to, size_t to_len, bool tokens, struct rp_buf *out,
                              size_t *out_count, struct rp_error *err)
{
    size_t count = 0;
    rp_code rc = RP_OK;
    if (from_len == 0 || !tokens) {
        if (from_len > 0 && n == from_len && memcmp(hay, from, n) == 0) {
            rc = rp_buf_add(out, to, to_len, err);
            count = 1;
        } else {
            rc = rp_buf_add(out, hay, n, err);
        }
        if (!rc) {
            *out_count = count;
        }
        return rc;
    }
    size_t done = 0;
    size_t at = find(hay, n, 0, from, from_len);
    while (at < n) {
        bool left = at == 0 || rp__correlate_is_boundary((unsigned char)hay[at - 1]);
        size_t end = at + from_len;
        bool right = end == n || rp__correlate_is_boundary((unsigned char)hay[end]);
        if (left && right) {
            rc = rp_buf_add(out, hay + done, at - done, err);
            if (!rc) {
                rc = rp_buf_add(out, to, to_len, err);
            }
            if (rc) {
                return rc;
            }
            count++;
            done = end;
            at = find(hay, n, end, from, from_len);
        } else {
            at = find(hay, n, at + 1, from, from_len);
        }
    }
    rc = rp_buf_add(out, hay + done, n - done, err);
    if (!rc) {
        *out_count = count;
    }
    return rc;
}

/* ----- path segments ------------------------------------------------------------------------ */

void rp__correlate_segments_init(struct rp__segments *w, const char *url, size_t n)
{
    struct rp__url u;
    rp__url_split(url, n, &u);
    w->path = url + u.path_off;
    w->path_len = u.path_len;
    w->pos = 0;
    w->next_idx = 0;
    w->started = false;
    w->seg_len = 0;
    w->seg[0] = '\0';
    w->noun[0] = '\0';
}

bool rp__correlate_segments_next(struct rp__segments *w)
{
    /* The segment just seen names the noun of the next one, unless it is an id itself. */
    if (w->started &&
        (rp__correlate_has_digit(w->seg, w->seg_len) ||
         rp__correlate_word_noun(w->seg, w->seg_len, w->noun, sizeof(w->noun)) == 0)) {
        w->noun[0] = '\0';
    }
    size_t off = 0;
    size_t len = 0;
    while (rp__url_next_segment(w->path, w->path_len, &w->pos, &off, &len)) {
        w->idx = w->next_idx++;
        if (rp__pct_decode(w->path + off, len, false, w->seg, sizeof(w->seg), &w->seg_len)) {
            w->started = true;
            return true;
        }
        w->noun[0] = '\0';
    }
    return false;
}
