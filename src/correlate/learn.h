/* SPDX-License-Identifier: MIT */
/*
 * Private to the learning half of the correlate module: the correlator's state, shared by
 * learn.c (its lifetime, the candidate index and what responses offer) and search.c (what
 * requests send, looked up in that index).
 */
#ifndef REPRISE_CORRELATE_LEARN_H
#define REPRISE_CORRELATE_LEARN_H

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
    bool named;         /* a value the server filled into a form: a short one correlates with a
                           form field of its name */
    bool listed; /* a JSON value inside a list ("$.orders[0].id"): a single object's is better */
};

struct bind {
    char *name;
    char *path;             /* the place as the user wrote it */
    struct rp_location loc; /* the place parsed */
};

/* A value a request sent: its hash, and for a short id the stem of its noun (0 for none). */
struct echo {
    uint64_t hash;
    uint64_t stem;
};

struct rp_correlator {
    struct bind *binds;
    size_t n_binds;

    char **tenants; /* declared tenant values: never correlated */
    size_t n_tenants;

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

/* True when the n bytes at v equal a declared tenant value. */
bool rp__correlate_is_tenant(const struct rp_correlator *c, const char *v, size_t n);

/* True when candidate s holds the value of n bytes at v, whose hash is hash. */
bool rp__correlate_same_value(const struct cand *s, uint64_t hash, const char *v, size_t n);

/* Hash of a field name normalised for comparison ("csrf-token" == "CSRF_TOKEN"); 0 for none. */
uint64_t rp__correlate_name_hash(const char *name, size_t n);

/* A hash of a noun with a plural ending taken off ("orders", "order": equal), 0 for none. */
uint64_t rp__correlate_stem(const char *noun);

/* The noun of an id found under key (or, for a bare "id", under ctx), into out (NOUN_BUF
 * bytes): from the key when it names one, else from the enclosing key (both: true), else the
 * exchange's resource url_noun, a guess (false). */
bool rp__correlate_id_noun(const char *key, size_t klen, const char *ctx, size_t ctx_len,
                           const char *url_noun, char *out);

/* Copies the name of cookie pair p of the header value v into name, NUL-terminated; false
 * when it is empty or longer than RP_CORRELATE_MAX_KEY. */
bool rp__correlate_cookie_name(const char *v, const struct rp__pair *p,
                               char name[RP_CORRELATE_MAX_KEY + 1]);

/* True when name is in list; an entry ending in '*' is a prefix. Case-insensitive. */
bool rp__correlate_in_list(const char *name, size_t n, const char *const *list);

/* Request headers that are replay's business, volatile, or never hold a server's value. */
extern const char *const rp__correlate_req_skip[];

/* True when the body's first non-blank byte opens a JSON object or array. */
bool rp__correlate_looks_json(const struct rp_body *b);

/*
 * Looks up the values of the request of ex among the candidates, adding the correlations it
 * finds and noting the request's values (so its own response does not source them); writes
 * the resource noun its URL names into url_noun_out.
 */
void rp__correlate_search_request(struct rp_correlator *c, const struct rp_exchange *ex,
                                  char url_noun_out[NOUN_BUF]);

#endif /* REPRISE_CORRELATE_LEARN_H */
