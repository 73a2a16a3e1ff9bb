/* SPDX-License-Identifier: MIT */
/*
 * Tenant rewriting and templates. A replay works in a fresh tenant: every recorded tenant
 * identifier is replaced wherever it stands as a whole token — host labels, path segments,
 * query values, header and cookie values, JSON strings, form fields, e-mail addresses
 * (owner@acme.test, qa+acme@x.test) — in its plain, URL-encoded, form-encoded and
 * JSON-escaped forms, each replaced by the same encoding of the new identifier.
 *
 * A whole token is a match whose neighbours are not [A-Za-z0-9_-] (or the start or end of the
 * text): "acme" matches in "acme.shop.test", "/t/acme/", "qa+acme@x.test" and "\"acme\"", not in
 * "acme-corp" or "acmeshop". Matching is case-sensitive.
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_REWRITE_H
#define REPRISE_REWRITE_H

#include <reprise/exchange.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What templates may refer to. Strings are borrowed. */
struct rp_template_ctx {
    const char *run_id;     /* {run}: unique per run, [a-z0-9]+, e.g. "r7k2m9q4" */
    const char *session_id; /* {session}: the session's number within the run, "1", "2", ... */
    const char *tenant;     /* {tenant}: the recorded tenant being rewritten */
    int64_t now_us;         /* {date}: YYYYMMDD (UTC) of this time */
};

/*
 * Expands a template: {run}, {session}, {tenant}, {uuid} (a new random v4 UUID each time),
 * {date}, {env:NAME} (the environment variable NAME). "{{" is a literal "{". On success *out
 * is new memory. Errors: RP_EUSAGE for an unknown or unclosed {name} ("unknown template field
 * {x}"), RP_ENOSECRET for {env:NAME} with NAME unset ("environment variable NAME is not set").
 */
RP_EXTERN RP_NODISCARD rp_code rp_template_expand(const char *tmpl,
                                                  const struct rp_template_ctx *ctx, char **out,
                                                  struct rp_error *err);

/* A set of FROM -> TO tenant rules. */
struct rp_rewriter;

RP_EXTERN struct rp_rewriter *rp_rewriter_new(void);
RP_EXTERN void rp_rewriter_free(struct rp_rewriter *rw);

/*
 * Adds a rule (both strings borrowed, to already expanded). RP_EUSAGE when from is empty or
 * holds only token characters' complement (nothing could match it as a token).
 */
RP_EXTERN RP_NODISCARD rp_code rp_rewriter_add(struct rp_rewriter *rw, const char *from,
                                               const char *to, struct rp_error *err);

/* Number of rules. */
RP_EXTERN size_t rp_rewriter_count(const struct rp_rewriter *rw);

/*
 * Rewrites the n bytes at s. Returns NULL when nothing matched, else new memory holding the
 * rewritten text (NUL-terminated) and its length in *out_len.
 */
RP_EXTERN char *rp_rewrite_text(const struct rp_rewriter *rw, const char *s, size_t n,
                                size_t *out_len);

/*
 * Rewrites a request in place: its URL, every header value (Host and Cookie included), and
 * its body when it is text. Returns how many replacements were made in *out_count when not
 * NULL. Fails only on limits (RP_ETOOBIG).
 */
RP_EXTERN RP_NODISCARD rp_code rp_rewrite_request(const struct rp_rewriter *rw,
                                                  struct rp_request *req, size_t *out_count,
                                                  struct rp_error *err);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_REWRITE_H */
