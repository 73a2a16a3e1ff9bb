/* SPDX-License-Identifier: MIT */
/*
 * The data model every source writes and every consumer reads: an HTTP exchange, that is a
 * request and (when one came) its response, each with ordered headers (duplicates kept, as
 * Set-Cookie needs) and a decoded body. Header names and values are pointer plus length: they
 * may hold any byte but NUL is kept out by the parsers that fill them.
 *
 * Everything an exchange points to is owned by it: rp_exchange_cleanup() frees it all.
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_EXCHANGE_H
#define REPRISE_EXCHANGE_H

#include <reprise/error.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rp_header {
    char *name; /* NUL-terminated copies; the lengths are authoritative */
    size_t name_len;
    char *value;
    size_t value_len;
};

/* An ordered list of headers. Duplicates are kept in the order added. */
struct rp_headers {
    struct rp_header *v;
    size_t n;
    size_t cap;
};

/*
 * A decoded body (no transfer or content encoding left). data is NUL-terminated for
 * convenience (the NUL is not counted in len) or NULL when len is 0. When the body was larger
 * than the recorder's cap, truncated is set and orig_len holds the full size.
 */
struct rp_body {
    unsigned char *data;
    size_t len;
    bool truncated;
    uint64_t orig_len;
};

struct rp_request {
    char *method;  /* "GET" */
    char *url;     /* absolute: "https://acme.example.com/api/orders?x=1" */
    char *version; /* "HTTP/1.1"; NULL means unknown */
    struct rp_headers headers;
    struct rp_body body;
};

struct rp_response {
    unsigned status; /* 100-999 */
    char *reason;    /* may be NULL */
    char *version;   /* may be NULL */
    struct rp_headers headers;
    struct rp_body body;
};

/*
 * A record-time variable born in an exchange: its NAME as in {{var:NAME}}, and the place of the
 * response that gives its value, in the words of docs/recording-format.md ("body $.token",
 * "header X-Auth-Token", "cookie sid", "body jwt 1"). Both owned, NUL-terminated.
 */
struct rp_var_decl {
    char *name;
    char *from;
};

struct rp_exchange {
    uint64_t seq;         /* 1-based position in its recording */
    int64_t start_us;     /* request start, microseconds since the Unix epoch */
    uint64_t duration_us; /* request start to last response byte */
    uint64_t conn_id;     /* exchanges with one id shared a connection */
    struct rp_request req;
    bool has_response; /* false: no response was seen (gap, reset, no answer) */
    struct rp_response resp;
    bool incomplete;          /* part of the exchange was lost (capture gap) */
    struct rp_var_decl *vars; /* the variables its response gives, in order; NULL when none */
    size_t n_vars;
    /*
     * Further top-level keys of the exchange's line, as the text of a JSON object ("{...}"),
     * or NULL. Readers keep keys they do not know here, and writers write them back, so tools
     * can annotate exchanges (the results file's check results) without a format change.
     */
    char *extra;
};

/* ----- headers ---------------------------------------------------------------------------- */

RP_EXTERN void rp_headers_init(struct rp_headers *h);
RP_EXTERN void rp_headers_cleanup(struct rp_headers *h);

/*
 * Appends a copy of name and value (both borrowed). RP_ETOOBIG when the list already holds
 * RP_MAX_HEADER_COUNT headers.
 */
RP_EXTERN RP_NODISCARD rp_code rp_headers_add(struct rp_headers *h, const char *name,
                                              size_t name_len, const char *value, size_t value_len,
                                              struct rp_error *err);

/*
 * Appends name and value without copying them: takes both (from malloc, each NUL-terminated
 * at its length), and frees them when it fails. RP_ETOOBIG as rp_headers_add.
 */
RP_EXTERN RP_NODISCARD rp_code rp_headers_add_take(struct rp_headers *h, char *name,
                                                   size_t name_len, char *value, size_t value_len,
                                                   struct rp_error *err);

/*
 * Returns the first header named name (ASCII case-insensitive), or NULL. With start, the
 * search begins at index *start and *start is set one past the match, so a loop visits every
 * duplicate. The result is borrowed from h, valid until h changes.
 */
RP_EXTERN const struct rp_header *rp_headers_get(const struct rp_headers *h, const char *name,
                                                 size_t *start);

/* Removes every header named name (case-insensitive); returns how many were removed. */
RP_EXTERN size_t rp_headers_remove(struct rp_headers *h, const char *name);

/*
 * Replaces the value of the first header named name, removing later duplicates, or appends
 * it when there is none.
 */
RP_EXTERN RP_NODISCARD rp_code rp_headers_set(struct rp_headers *h, const char *name,
                                              const char *value, size_t value_len,
                                              struct rp_error *err);

/* Makes dst (initialised, empty or not) a deep copy of src. */
RP_EXTERN RP_NODISCARD rp_code rp_headers_copy(struct rp_headers *dst, const struct rp_headers *src,
                                               struct rp_error *err);

/* ----- bodies and exchanges --------------------------------------------------------------- */

/* Replaces b's content with a copy of the n bytes at p (borrowed; p may be NULL when n is 0). */
RP_EXTERN void rp_body_set(struct rp_body *b, const void *p, size_t n);
/* Takes data (allocated with malloc, len + 1 bytes, data[len] == 0) as b's new content. */
RP_EXTERN void rp_body_take(struct rp_body *b, unsigned char *data, size_t len);
RP_EXTERN void rp_body_cleanup(struct rp_body *b);

/* Frees everything req owns and leaves it empty (all NULL, no headers, no body). */
RP_EXTERN void rp_request_cleanup(struct rp_request *req);
/* Makes dst (initialised or cleaned) a deep copy of src. */
RP_EXTERN RP_NODISCARD rp_code rp_request_copy(struct rp_request *dst, const struct rp_request *src,
                                               struct rp_error *err);
/* Frees everything resp owns and leaves it empty. */
RP_EXTERN void rp_response_cleanup(struct rp_response *resp);

/*
 * Edits of a request prepared apart and applied at once, so that a failure while preparing
 * them leaves the request as it was (rewrite and redact work this way). Every non-NULL string
 * is taken: url replaces the URL; vals (one entry per header of the request, NULL for
 * unchanged, or vals itself NULL) replace header values, with their lengths in val_lens; body
 * (body_len bytes, NUL-terminated, from malloc) replaces the body. When the body changes and
 * was not recorded truncated, a Content-Length header is set to its new length. The taken
 * pointers in e are set to NULL; the vals and val_lens arrays stay the caller's.
 */
struct rp_request_edits {
    char *url;
    char **vals;
    size_t *val_lens;
    char *body;
    size_t body_len;
};

RP_EXTERN void rp_request_apply_edits(struct rp_request *req, struct rp_request_edits *e);

RP_EXTERN void rp_exchange_init(struct rp_exchange *ex);
/* Frees everything ex owns; ex may be initialised again. */
RP_EXTERN void rp_exchange_cleanup(struct rp_exchange *ex);
/* Appends a variable declaration to ex: copies of name and from (both borrowed). */
RP_EXTERN void rp_exchange_add_var(struct rp_exchange *ex, const char *name, const char *from);
/* Makes dst (initialised) a deep copy of src. */
RP_EXTERN RP_NODISCARD rp_code rp_exchange_copy(struct rp_exchange *dst,
                                                const struct rp_exchange *src,
                                                struct rp_error *err);

/*
 * The media type of a Content-Type value, lower-cased, without parameters:
 * "application/json; charset=utf-8" gives "application/json". Writes at most outsz - 1 bytes
 * to out and returns false when there is no Content-Type or it does not fit.
 */
RP_EXTERN bool rp_media_type(const struct rp_headers *h, char *out, size_t outsz);

/* True for application/json, text/json and any +json suffix type. */
RP_EXTERN bool rp_media_is_json(const char *media_type);

/* ASCII case-insensitive comparison of a (length alen) with the NUL-terminated b. */
RP_EXTERN bool rp_strieq(const char *a, size_t alen, const char *b);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_EXCHANGE_H */
