/* SPDX-License-Identifier: MIT */
/*
 * Private helpers of the exchange module shared inside the library: what form a request body
 * takes, and one walk over a request's URL, header values and body that the rewriter and the
 * secret filler share.
 */
#ifndef REPRISE_EXCHANGE_INT_H
#define REPRISE_EXCHANGE_INT_H

#include <reprise/buf.h>
#include <reprise/exchange.h>

/* Where a request body's text stands, from its Content-Type. */
enum rp__body_form {
    RP__BODY_TEXT, /* anything else: raw text */
    RP__BODY_FORM, /* application/x-www-form-urlencoded */
    RP__BODY_JSON, /* a JSON media type (rp_media_is_json) */
};

/* The form of the body the headers h describe. */
enum rp__body_form rp__body_form(const struct rp_headers *h);

/* Which part of a request a transform is given. */
enum rp__part { RP__PART_URL, RP__PART_HEADER, RP__PART_BODY };

/*
 * Transforms one part of a request: the n bytes at s (borrows), for a header the header h
 * (NULL otherwise). On success sets *out to new memory of *out_len bytes, at most max, or
 * leaves it NULL when the part stays as it is. An error's message should name the part.
 */
typedef rp_code (*rp__part_fn)(void *ud, enum rp__part part, const struct rp_header *h,
                               const char *s, size_t n, size_t max, char **out, size_t *out_len,
                               struct rp_error *err);

/*
 * Runs fn over the request's URL (within RP_MAX_URL_REWRITTEN), each header value (all of them
 * together within RP_MAX_HEADER_REWRITTEN) and its body when that is UTF-8 text (within
 * RP_MAX_BODY_REWRITTEN), and puts the changes in place with rp_request_apply_edits only when
 * every call succeeded, so a failure leaves the request as it was. Returns fn's first error.
 */
rp_code rp__request_transform(struct rp_request *req, rp__part_fn fn, void *ud,
                              struct rp_error *err);

/*
 * Finishes a part an rp__part_fn rewrote into b, where s[0, done) has been dealt with: with
 * changed, appends the rest s[done, n) and hands b over as *out (*out_len bytes); without,
 * sets *out to NULL (the part stays as it is). Cleans b up either way. RP_ETOOBIG past b's cap.
 */
rp_code rp__part_finish(struct rp_buf *b, bool changed, const char *s, size_t n, size_t done,
                        char **out, size_t *out_len, struct rp_error *err);

#endif /* REPRISE_EXCHANGE_INT_H */
