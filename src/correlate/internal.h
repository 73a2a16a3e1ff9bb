/* SPDX-License-Identifier: MIT */
/*
 * Private declarations of the correlate module: the JSON scanner, the HTML tag scanner and the
 * URL and text helpers that its learning half (learn.c) and its replaying half (session.c)
 * share. Everything here works on pointer plus length and never allocates unless it says so.
 */
#ifndef REPRISE_CORRELATE_INTERNAL_H
#define REPRISE_CORRELATE_INTERNAL_H

#include <reprise/buf.h>
#include <reprise/correlate.h>
#include <reprise/limits.h>

#include "../jscan_int.h"
#include "../url_int.h"

/* A buffer that holds any one value a correlation carries, plus its NUL. */
#define RP__CORR_VALUE_BUF (RP_CORRELATE_MAX_VALUE + 1u)

/* ----- text (text.c) ------------------------------------------------------------------------ */

/* Lower-cases the letters and digits of n bytes at p into out (outsz bytes, NUL-terminated),
 * leaving out every other byte; returns the length written. */
size_t rp__correlate_normalise(const char *p, size_t n, char *out, size_t outsz);

/*
 * Steps through the segments of a URL's path, percent-decoded, each with the noun the segment
 * before it names ("/orders/4": "4" comes with "order"). Segments that do not decode (too long,
 * a NUL) are passed over and clear the noun. Fill with rp__correlate_segments_init.
 */
struct rp__segments {
    const char *path;
    size_t path_len;
    size_t pos;
    size_t next_idx;
    bool started;
    size_t idx;                   /* the segment's index in the path */
    char seg[RP__CORR_VALUE_BUF]; /* the segment, decoded */
    size_t seg_len;
    char noun[RP_CORRELATE_MAX_KEY + 1]; /* the noun before it, "" for none */
};

/* Starts a walk over the path of the URL in n bytes at url. */
void rp__correlate_segments_init(struct rp__segments *w, const char *url, size_t n);

/* Moves to the next segment; false at the end. */
bool rp__correlate_segments_next(struct rp__segments *w);

/* FNV-1a of n bytes. */
uint64_t rp__correlate_hash(const char *p, size_t n);

/* True for a value unique enough to correlate on sight: RP_CORRELATE_MIN_UNIQUE bytes or more,
 * and not one byte repeated. */
bool rp__correlate_is_long(const char *v, size_t n);

/* True for the values that never correlate, not even on strong evidence: "", true, false,
 * null, and a recording's placeholders ("{{var:NAME}}", "{{secret:NAME}}"). */
bool rp__correlate_never(const char *v, size_t n);

/* True when key names an id: "id", or ending in "_id" or "Id" (case-sensitive, so "paid" and
 * "valid" are not ids); for an array element also the plurals "ids", "_ids", "Ids". */
bool rp__correlate_key_is_id(const char *key, size_t n, bool in_array);

/* The same for a header or cookie name, where case means nothing: "X-Order-Id", "order_id". */
bool rp__correlate_name_is_id(const char *name, size_t n);

/*
 * The noun an id-like key names, normalised (lower case, letters and digits only): "order" for
 * "order_id", "orderId", "order_ids", "X-Order-Id". A bare "id" has none. Returns the noun's
 * length (0 when there is none) and writes it, NUL-terminated, into out.
 */
size_t rp__correlate_key_noun(const char *key, size_t n, char *out, size_t outsz);

/* A word used as a noun (a URL segment, a JSON container key), normalised as above; 0 when it
 * has no letter or when it is a generic container such as "data" or "result". */
size_t rp__correlate_word_noun(const char *word, size_t n, char *out, size_t outsz);

/* True when two normalised nouns name the same thing: equal, or one the plural of the other
 * ("order"/"orders", "box"/"boxes", "category"/"categories"). */
bool rp__correlate_noun_match(const char *a, const char *b);

/* True for a byte that ends a token: anything but a letter, a digit, '_' and '-'. */
bool rp__correlate_is_boundary(unsigned char c);

/* True when the n bytes at p contain a decimal digit. */
bool rp__correlate_has_digit(const char *p, size_t n);

/*
 * Appends hay to out with each occurrence of from replaced by to. With tokens, every
 * occurrence bounded on both sides by a boundary byte (or an end) is replaced; without, only
 * a hay that equals from as a whole. *out_count gets the number of replacements.
 */
rp_code rp__correlate_replace(const char *hay, size_t n, const char *from, size_t from_len,
                              const char *to, size_t to_len, bool tokens, struct rp_buf *out,
                              size_t *out_count, struct rp_error *err);

/* ----- JSON (json.c) ------------------------------------------------------------------------ */

/* One scalar of a JSON document, as rp__correlate_json_walk reports it. Every pointer is
 * borrowed for the call. */
struct rp__json_leaf {
    const char *path; /* "$.items[0].id"; NUL-terminated */
    size_t path_len;
    const char *key; /* the member's key, or the array's key for an element; NULL at the top */
    size_t key_len;
    bool in_array;   /* the scalar is an array element */
    const char *ctx; /* the nearest enclosing key that is not generic ("products"), or NULL */
    size_t ctx_len;
    enum rp__json_type type;
    const char *value; /* decoded string or canonical number; NULL when too long or holding NUL */
    size_t value_len;
    size_t start; /* the scalar's bytes in the text: [start, end) */
    size_t end;
};

/* Called for each scalar; returning false stops the walk. */
typedef bool (*rp__json_leaf_fn)(void *ud, const struct rp__json_leaf *leaf);

/*
 * Walks the JSON document in n bytes at text, depth first, reporting every scalar whose path
 * fits RP_CORRELATE_MAX_PATH. Nesting past RP_MAX_JSON_DEPTH ends the walk. Returns false when
 * the text is not one well-formed JSON value (scalars before the fault have been reported).
 */
bool rp__correlate_json_walk(const char *text, size_t n, rp__json_leaf_fn fn, void *ud);

/*
 * Finds the value at path (as the walk writes paths: "$.a[0]", "$[\"a.b\"]") in the JSON
 * document at text; on success sets its type and its bytes [*out_start, *out_end). The first of
 * duplicate keys is taken.
 */
bool rp__correlate_json_find(const char *text, size_t n, const char *path,
                             enum rp__json_type *out_type, size_t *out_start, size_t *out_end);

/*
 * The text of the scalar at [start, end) of a document: a string decoded, a number in its
 * canonical form ("4" for 4.0). False for other types, or when it does not fit outsz or holds a
 * NUL.
 */
bool rp__correlate_json_scalar(const char *text, size_t start, size_t end, enum rp__json_type type,
                               char *out, size_t outsz, size_t *out_len);

/* True when path has the bind form $(.key|[N])*, keys free of '.', '[', ']', '"', '\\' and
 * control bytes, within RP_CORRELATE_MAX_PATH. */
bool rp__correlate_json_path_valid(const char *path);

/* True when the n bytes at s are one JSON number. */
bool rp__correlate_json_is_number(const char *s, size_t n);

/* Appends s as a JSON string literal, quotes included. */
rp_code rp__correlate_json_quote(const char *s, size_t n, struct rp_buf *out, struct rp_error *err);

/* ----- HTML (html.c) ------------------------------------------------------------------------ */

/* One value of a page: RP_LOC_HTML_META (name, content), RP_LOC_HTML_INPUT (name, value of an
 * input a browser would submit as it stands: hidden, text-like, checked radio or checkbox),
 * RP_LOC_HTML_SELECT (a select's name and the value it submits) or RP_LOC_HTML_URL (tag and
 * attribute, lower case, and the URL). Entities decoded; borrowed for the call. */
struct rp__html_item {
    enum rp_loc_kind kind;
    const char *tag;  /* "meta", "input", "a", "form"... */
    const char *attr; /* for RP_LOC_HTML_URL: "href", "action", "data-url"...; else "" */
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* Called for each item; returning false stops the scan. */
typedef bool (*rp__html_fn)(void *ud, const struct rp__html_item *it);

/* Scans the first n bytes of an HTML document for the items above, in document order. Tags and
 * attribute names in any case, values quoted or not. */
void rp__correlate_html_scan(const char *text, size_t n, rp__html_fn fn, void *ud);

/* ----- URLs, multipart bodies, GraphQL (forms.c) ------------------------------------------- */

/*
 * When the n bytes at v are a URL of the origin whose authority is host (host_len bytes; may be
 * empty, then only paths are): a path ("/x", not "//x") or an http(s) URL of that authority.
 * Sets *out_off to where its path starts.
 */
bool rp__correlate_same_origin(const char *v, size_t n, const char *host, size_t host_len,
                               size_t *out_off);

/* The path of the URL in n bytes at url (any origin), into *out_off and *out_len. False when it
 * is neither a path nor an http(s) URL. */
bool rp__correlate_url_path(const char *url, size_t n, size_t *out_off, size_t *out_len);

/* Writes into out (outsz) the path of the n bytes at path with segment idx replaced by '*'; false
 * when it does not fit. */
bool rp__correlate_url_template(const char *path, size_t n, size_t idx, char *out, size_t outsz);

/* True when the path in n bytes at path fits template (as rp__correlate_url_template writes it,
 * '*' at segment idx). */
bool rp__correlate_url_fits(const char *path, size_t n, const char *tmpl, size_t idx);

/* One link of a Link header value: the URI between < and >, and its rel (or empty). */
struct rp__link {
    size_t uri_off;
    size_t uri_len;
    size_t rel_off;
    size_t rel_len;
};

/* Steps through the links of a Link header value; false at the end. */
bool rp__correlate_link_next(const char *v, size_t n, size_t *pos, struct rp__link *out);

/* The boundary of a multipart/form-data Content-Type among hs, into out (outsz); false when the
 * body is not multipart/form-data or the boundary is missing or too long (70 bytes, RFC 2046). */
bool rp__correlate_multipart_boundary(const struct rp_headers *hs, char *out, size_t outsz,
                                      size_t *out_len);

/* One part of a multipart body: its field name (raw, between the quotes), whether it is a file
 * (has a filename), and its content [value_off, value_off + value_len) in the body. */
struct rp__part {
    size_t name_off;
    size_t name_len;
    bool file;
    size_t value_off;
    size_t value_len;
};

/* Steps through the parts of a multipart body (pos starts at 0); false at its end or at the
 * first malformed part. */
bool rp__correlate_multipart_next(const char *body, size_t n, const char *bnd, size_t blen,
                                  size_t *pos, struct rp__part *out);

/* Where a walk over the text fields of a multipart body stands; zero it to start. */
struct rp__fields {
    size_t pos;
    size_t parts;
};

/* The next text field of a multipart body into *out, its name NUL-terminated into name: file
 * parts and fields whose name is empty, too long or holds a NUL, or whose value holds a NUL,
 * are passed over. False at the end, at a malformed part, or past RP_CORRELATE_MAX_TARGETS
 * parts. */
bool rp__correlate_multipart_field(const char *body, size_t n, const char *bnd, size_t blen,
                                   struct rp__fields *it, struct rp__part *out,
                                   char name[RP_CORRELATE_MAX_KEY + 1]);

/* A literal argument (or input field) value in a GraphQL document: arg names it, field is the
 * field or directive whose arguments hold it ("" at none); [start, end) are the literal's bytes
 * in the document, quotes included for a string. Borrowed for the call. */
struct rp__gql_lit {
    const char *arg;
    size_t arg_len;
    const char *field;
    size_t field_len;
    size_t start;
    size_t end;
    bool string;
};

/* Called for each literal; returning false stops the scan. */
typedef bool (*rp__gql_fn)(void *ud, const struct rp__gql_lit *lit);

/* Scans the GraphQL document in n bytes at q for literal string (without escapes) and number
 * arguments, in order. Nesting past RP_MAX_JSON_DEPTH stops it. */
void rp__correlate_graphql_scan(const char *q, size_t n, rp__gql_fn fn, void *ud);

/* The first field of the first operation's selection set ("createOrder"), into *out_off and
 * *out_len; false when there is none. */
bool rp__correlate_graphql_root(const char *q, size_t n, size_t *out_off, size_t *out_len);

/* True for the JSON path of a GraphQL query string in a request body: "$.query" or
 * "$[N].query" (a batch). */
bool rp__correlate_graphql_query_path(const char *path);

/* The JSON string literal that starts at text[start] (its opening quote), decoded: new memory
 * (its length in *out_len), or NULL when it is not a whole string. */
char *rp__correlate_graphql_decode(const char *text, size_t n, size_t start, size_t *out_len);

/* True when the body of the request is GraphQL over JSON: an object with a "query" string, or an
 * array whose first element is one. */
bool rp__correlate_is_graphql(const char *text, size_t n);

/* ----- places (place.c) --------------------------------------------------------------------- */

/* The value at loc in a response (borrowed), into out (RP__CORR_VALUE_BUF bytes); false when
 * the response has none. */
bool rp__correlate_extract(const struct rp_response *r, const struct rp_location *loc, char *out,
                           size_t *out_len);

/* Parses a bind's place into loc (its key new memory); false, with a reason in why (whysz), for
 * a place it does not know. */
bool rp__correlate_place_parse(const char *place, struct rp_location *loc, char *why, size_t whysz);

#endif /* REPRISE_CORRELATE_INTERNAL_H */
