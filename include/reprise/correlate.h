/* SPDX-License-Identifier: MIT */
/*
 * Correlation: values a server gave in a response (ids, CSRF tokens, Location URLs) that the
 * client sent back in a later request. Before a replay, rp_correlator_learn() reads the
 * recording in order and finds each pair (from where, to where). During the replay, a
 * session takes each value from the same place in the live response and puts it where the
 * recorded one stood in the later request, so an order created as 4 when recorded and as 11
 * now is fetched and paid as 11, never as 4.
 *
 * Sources: JSON values of a response body (by path), and the path segments and query values of
 * same-origin URL strings among them ("url": "/orders/7"); response headers (whole value, or one
 * path segment of a URL-valued header such as Location; path segments and query values of a link
 * of a Link header, by its rel); Set-Cookie values; in HTML the <meta name content> tags
 * (csrf-token), the values a server filled into a form (hidden and text-like inputs, checked
 * radio buttons and checkboxes, the selected option of a <select>, else its first), and the path
 * segments and query values of same-origin URLs in href, action, formaction, src and data-*
 * attributes. Targets: request path segments, query values, header
 * values, cookies, JSON values of the request body, urlencoded form fields, multipart/form-data
 * fields (file parts never), and in GraphQL requests (a "query" string, batched or not) literal
 * arguments inside the query text as well as the JSON variables.
 *
 * No substitution on mere coincidence: a value shorter than RP_CORRELATE_MIN_UNIQUE characters,
 * or a common one (true, false, null, "", small numbers), is correlated only on strong
 * evidence — the source key is "id" or ends in "_id"/"Id" (or it is a path segment holding a
 * digit of a Location header, a Link header, a JSON URL string or a page's link) and it comes
 * back as a whole path segment, or as a field whose name is "id" or ends in "_id"/"Id" — or when
 * a value the server filled into a form comes back in a field of the same name. Only URL
 * segments holding a digit are sources ("settings" is a route). Nouns keep ids of different
 * things apart ("product_id" is not an order's "id"); "variables", "input", "data" and the like
 * are containers, and a leading verb names no thing ("createOrder", "pay_order": order). Longer
 * values correlate wherever they come back whole. A value can also be declared with a bind:
 * NAME=PLACE (see rp_correlator_bind).
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_CORRELATE_H
#define REPRISE_CORRELATE_H

#include <reprise/exchange.h>

#ifdef __cplusplus
extern "C" {
#endif

enum rp_loc_kind {
    RP_LOC_BODY_JSON,      /* key: a JSON path, "$.order.id", "$.items[0].id" */
    RP_LOC_HEADER,         /* key: header name; the whole value */
    RP_LOC_HEADER_SEGMENT, /* key: header name; index: path segment of the URL in the value */
    RP_LOC_COOKIE,         /* key: cookie name (Set-Cookie in a response, Cookie in a request) */
    RP_LOC_HTML_META,      /* key: the meta tag's name, "csrf-token" */
    RP_LOC_HTML_INPUT,     /* key: the hidden input's name */
    RP_LOC_PATH_SEGMENT,   /* index: 0-based segment of the request path ("/t/acme/x": 0 t) */
    RP_LOC_QUERY,          /* key: query parameter name */
    RP_LOC_FORM,           /* key: form field name (application/x-www-form-urlencoded) */

    /* key: "TAG ATTR N TEMPLATE" ("a href 0 /things/{*}/change/", without the braces); index:
     * path segment of the N-th same-origin URL of that tag and attribute whose path fits
     * TEMPLATE, '*' standing at that segment (past the last such URL of a live page: the last
     * one). RP_LOC_HTML_INPUT also covers text-like inputs and checked radios and checkboxes. */
    RP_LOC_HTML_URL,
    /* key: a <select>'s name; the value of its selected option (else of its first) */
    RP_LOC_HTML_SELECT,
    /* key: JSON path of a URL string in the body; index: its path segment. With "?NAME" after
     * the path (and after TEMPLATE, a path without '*', for RP_LOC_HTML_URL, and after the rel
     * for RP_LOC_LINK_SEGMENT): the value of query parameter NAME instead. */
    RP_LOC_BODY_JSON_SEGMENT,
    /* key: rel of a link of a Link header ("" for the first link); index: its path segment */
    RP_LOC_LINK_SEGMENT,
    /* key: field name of a multipart/form-data request body (file parts are never targets) */
    RP_LOC_MULTIPART,
    /* key: "JSONPATH ARG" ("$.query id"); index: the N-th literal given to argument (or input
     * field) ARG in the GraphQL query string at JSONPATH of the request body */
    RP_LOC_GRAPHQL_LITERAL,
    /* key: a POSIX extended regular expression with one capture group, on the body (binds) */
    RP_LOC_BODY_REGEX,
};

struct rp_location {
    enum rp_loc_kind kind;
    char *key;    /* owned; NULL for RP_LOC_PATH_SEGMENT */
    size_t index; /* segment index where the kind has one */
};

/* One correlation: the value found at from in response from_seq comes back at to in request
 * to_seq. */
struct rp_correlation {
    uint64_t from_seq;
    struct rp_location from;
    uint64_t to_seq;
    struct rp_location to;
    char *value; /* the recorded value, owned */
    bool strong; /* found on strong evidence (id-like) rather than a unique value */
    bool bound;  /* declared with a bind */
};

/* Writes a location as people read it ("body $.id", "header Location segment 4",
 * "path segment 4", "html meta csrf-token") into out, cut to outsz. */
RP_EXTERN void rp_location_format(const struct rp_location *loc, char *out, size_t outsz);

/* The value at a response place loc of r (borrowed) into out, NUL-terminated, as the replay
 * takes it; false when r has none there, or it does not fit outsz. Request kinds (path
 * segment, query, form, multipart, GraphQL literal) have no value in a response. */
RP_EXTERN bool rp_location_value(const struct rp_response *r, const struct rp_location *loc,
                                 char *out, size_t outsz);

struct rp_correlator;

RP_EXTERN struct rp_correlator *rp_correlator_new(void);
RP_EXTERN void rp_correlator_free(struct rp_correlator *c);

/*
 * Declares a bind: the value at place (borrowed) in any response is correlated wherever it comes
 * back whole, however short. name labels it in listings. A place is one of:
 *   $.data.token               a JSON path of the body, $(.key|[N])*
 *   $.url#1                    path segment 1 (from 0) of the URL string at a JSON path
 *   header:X-Token             a header's whole value
 *   header:Location#3          path segment 3 of a URL-valued header (header:Link#N: first link)
 *   cookie:sid                 the value a Set-Cookie gives the cookie
 *   html:input[name=csrf]      an input's value (also html:meta[name=N], html:select[name=N])
 *   regex:token=([a-z0-9]+)    the one capture group of a POSIX extended regular expression on
 *                              the body (its first RP_CORRELATE_MAX_SCAN bytes, up to a NUL)
 * RP_EUSAGE for any other place; RP_ETOOBIG past RP_CORRELATE_MAX_BINDS.
 */
RP_EXTERN RP_NODISCARD rp_code rp_correlator_bind(struct rp_correlator *c, const char *name,
                                                  const char *place, struct rp_error *err);

/*
 * Feeds the next exchange of the recording (borrowed), in order. Its request is searched for
 * values that earlier responses gave (the latest source wins), then its response is indexed.
 * Memory is bounded: at most RP_MAX_CORRELATIONS pairs and a bounded index of candidate
 * values (RP_ETOOBIG past them is not an error: the oldest candidates are dropped).
 */
/*
 * Declares a tenant value (the recording's tenants, --tenant FROM): the tenant rules rewrite it,
 * so a value equal to it is neither a source nor a target of a correlation, whatever its field
 * is called. Empty values are ignored; value is copied.
 */
RP_EXTERN void rp_correlator_tenant(struct rp_correlator *c, const char *value);

RP_EXTERN RP_NODISCARD rp_code rp_correlator_learn(struct rp_correlator *c,
                                                   const struct rp_exchange *ex,
                                                   struct rp_error *err);

/* The correlations found, in order of to_seq; borrowed from c. */
RP_EXTERN size_t rp_correlator_count(const struct rp_correlator *c);
RP_EXTERN const struct rp_correlation *rp_correlator_get(const struct rp_correlator *c, size_t i);

/* One replaying session's live values. It borrows c, which must outlive it. */
struct rp_corr_session;

RP_EXTERN struct rp_corr_session *rp_corr_session_new(const struct rp_correlator *c);
RP_EXTERN void rp_corr_session_free(struct rp_corr_session *s);

/*
 * Rewrites n bytes of text as the session's requests are rewritten (its tenant rules): new
 * memory with *out_len, or NULL when nothing changed.
 */
typedef char *(*rp_corr_rewrite_fn)(void *ud, const char *text, size_t n, size_t *out_len);

/*
 * Gives the session the rewrite its requests go through. A page's link is then also found in a
 * live page by its recorded pattern rewritten (a link to "/t/acme/things/ID/" as one to
 * "/t/acme-x-1/things/ID/"), as a fresh tenant's pages link to the fresh tenant. ud is borrowed.
 */
RP_EXTERN void rp_corr_session_rewrite(struct rp_corr_session *s, rp_corr_rewrite_fn fn, void *ud);

/*
 * Takes, from the live response (borrowed) to recorded exchange seq, the value of every
 * correlation whose source is seq. A value missing from the live response is not an error
 * here: the target keeps its recorded value and rp_corr_session_apply reports it.
 */
RP_EXTERN void rp_corr_session_observe(struct rp_corr_session *s, uint64_t seq,
                                       const struct rp_response *live);

/*
 * Puts the live values into the request (borrowed, changed in place) of recorded exchange seq,
 * at each correlation's target. *out_missing (when not NULL) counts the correlations whose
 * live value was never seen. Fails only on limits.
 */
RP_EXTERN RP_NODISCARD rp_code rp_corr_session_apply(struct rp_corr_session *s, uint64_t seq,
                                                     struct rp_request *req, size_t *out_missing,
                                                     struct rp_error *err);

/* The live value the session took for correlation i (as rp_correlator_get numbers them),
 * borrowed from s until its next observe; NULL when none was taken or i is past the end. The
 * isolation probe (`reprise probe`) knows a tenant's server-given values by it. */
RP_EXTERN const char *rp_corr_session_value(const struct rp_corr_session *s, size_t i);

/* ----- safety nets: missing live values, unsourced ids (session.c, unsourced.c) ---------- */

/*
 * The i-th correlation into the request of recorded exchange seq whose live value was never
 * taken (i below the count rp_corr_session_apply gave for seq), borrowed from the correlator;
 * NULL past the end. *out_answered (when not NULL) says whether its source exchange got a live
 * response (which lacked the value) or got none at all (not sent, or no answer).
 */
RP_EXTERN const struct rp_correlation *rp_corr_session_missing(const struct rp_corr_session *s,
                                                               uint64_t seq, size_t i,
                                                               bool *out_answered);

/*
 * Unsourced ids: an id-like value a request sends that no earlier response of the recording
 * gave. Replaying one sends the recorded server value, which in a fresh tenant names another
 * tenant's object; replay refuses it in a write (POST, PUT, PATCH, DELETE) and warns about it in
 * a read.
 *
 * Id-like: a value of an id shape — all digits (not all zeros; a year from 1900 to 2099 only
 * where a key names an id), a UUID, or a token of 6 to RP_UNSOURCED_MAX_ID letters, digits, '_'
 * and '-' with a letter and at least two digits, digits being a quarter or more of its letters
 * and digits — standing in an id place: a path segment
 * after a word segment ("/orders/17"; a UUID in any segment), a query or form field or a JSON
 * key named like an id ("id", "order_id", "orderId", "X-Order-Id"; a UUID under any key).
 * Given: a correlation carries it into this very place of the request; or, for a value of
 * RP_CORRELATE_MIN_UNIQUE bytes or more, it is a whole token (letters and digits, with or
 * without '-' and '_') of an earlier response's headers or body; for a shorter one, an earlier
 * response gives it at an id place (a JSON value under an id key, a path segment after a word
 * in a URL it holds, a form value the server filled, an id-named header) under the same noun or
 * none (docs/cli.md, "Unsourced ids"). Not
 * unsourced either: a declared constant (--const), or a value holding a tenant.
 */
struct rp_unsourced {
    uint64_t seq;             /* the exchange whose request sends it */
    char method[16];          /* its request's method, cut to fit */
    struct rp_location where; /* where it stands in the request */
    char *value;              /* owned */
    bool write;               /* POST, PUT, PATCH or DELETE */
};

struct rp_unsourced_finder;

RP_EXTERN struct rp_unsourced_finder *rp_unsourced_finder_new(void);
RP_EXTERN void rp_unsourced_finder_free(struct rp_unsourced_finder *u);

/* Declares a value the same in every tenant (--const): never unsourced. Empty values are
 * ignored. */
RP_EXTERN void rp_unsourced_finder_const(struct rp_unsourced_finder *u, const char *value);

/* Declares a tenant value (the recording's tenants, --tenant FROM): a value that holds it is
 * rewritten at replay, so never unsourced. Empty values are ignored. */
RP_EXTERN void rp_unsourced_finder_tenant(struct rp_unsourced_finder *u, const char *value);

/*
 * Feeds the next exchange of the recording (borrowed), in order, after c has learnt it
 * (rp_correlator_learn), so that the correlations into its request count as given. Its request
 * is searched for unsourced ids, then its response's tokens are remembered. Never fails on
 * input: past the caps the finder stops looking (see rp_unsourced_finder_saturated).
 */
RP_EXTERN void rp_unsourced_finder_learn(struct rp_unsourced_finder *u,
                                         const struct rp_correlator *c,
                                         const struct rp_exchange *ex);

/* The unsourced values found, in exchange order; borrowed from u. */
RP_EXTERN size_t rp_unsourced_count(const struct rp_unsourced_finder *u);
RP_EXTERN const struct rp_unsourced *rp_unsourced_get(const struct rp_unsourced_finder *u,
                                                      size_t i);

/* The index of the first unsourced value of exchange seq (rp_unsourced_count() when none). */
RP_EXTERN size_t rp_unsourced_first(const struct rp_unsourced_finder *u, uint64_t seq);

/* 0, or the seq of the exchange where the finder stopped looking: more than
 * RP_UNSOURCED_MAX_SEEN distinct response values, or RP_UNSOURCED_MAX unsourced ones. */
RP_EXTERN uint64_t rp_unsourced_finder_saturated(const struct rp_unsourced_finder *u);

/* ----- GraphQL ------------------------------------------------------------------------------ */

/* The longest operation name rp_graphql_operation() returns. */
#define RP_GRAPHQL_NAME_MAX 64

/*
 * What a GraphQL-over-JSON request does, for naming its step: its "operationName" when the body
 * gives a valid GraphQL name, else the first field of its first operation's selection set
 * ("createOrder"), of the first element of a batch. New memory, or NULL for a body that is not
 * GraphQL (an object, or an array of them, with a "query" string) or names nothing; a name past
 * RP_GRAPHQL_NAME_MAX bytes is NULL too.
 */
RP_EXTERN char *rp_graphql_operation(const struct rp_request *rq);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_CORRELATE_H */
