/* SPDX-License-Identifier: MIT */
/*
 * Secrets out of exchanges, as they are recorded: the inverse of redact.h, which fills them
 * back in at replay. A scrubbed value becomes the placeholder {{secret:NAME}}, and replay reads
 * it from REPRISE_SECRET_NAME. Shared by every recording source (HAR import, the proxy).
 *
 * What is scrubbed, by default (docs/har.md has the full rules):
 *   - request headers Authorization and Proxy-Authorization: the credentials, keeping the
 *     scheme ("Bearer {{secret:authorization}}");
 *   - request Cookie: every cookie's value ("sid={{secret:cookie_sid}}; theme=...");
 *   - response Set-Cookie: the cookie's value, its attributes kept;
 *   - any other request header named like a secret field (below): X-Api-Key, X-Auth-Token;
 *   - in request JSON bodies (at any depth), form bodies (urlencoded and multipart) and the
 *     URL's query: the string value of every field whose name contains password, passwd,
 *     secret, api_key or apikey, or ends with token (but not CSRF tokens: names containing
 *     csrf or xsrf, authenticity_token, __RequestVerificationToken);
 *   - in requests (those places and header values), a random-looking value (secret_int.h's
 *     high-entropy rule) of a field named like a credential: key, auth, credential, private,
 *     signature, session (not public_key, idempotency_key);
 *   - in requests and responses alike (headers, JSON string values, form and multipart values,
 *     the query, other text bodies): card numbers (13-19 digits, spaces or dashes between
 *     groups, a card network's prefix, Luhn-valid) as {{secret:card_number}}, AWS access key
 *     ids as {{secret:aws_access_key_id}}, PEM private keys as {{secret:private_key}}; the
 *     value of a card security code's field (cvv, cvc, cvv2, security_code…) and a 40-byte
 *     base64 value of an AWS-named field, under the field's name.
 *
 * Response bodies are otherwise left alone: what a server assigned is taken live at replay, by
 * correlation (ids) or as a record-time variable (credentials: vars.h, which runs first in the
 * recording pipeline), and what a user typed lives in requests. JSON numbers are never
 * scrubbed (a card number as a JSON number is beyond exact JSON numbers in most clients).
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_SCRUB_H
#define REPRISE_SCRUB_H

#include <reprise/exchange.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The rules: which headers and which field names are secret. Owns its lists. */
struct rp_scrub;

/* Returns a new rule set holding the default lists above; free it with rp_scrub_free(). */
RP_EXTERN struct rp_scrub *rp_scrub_new(void);
/* Frees s; NULL does nothing. */
RP_EXTERN void rp_scrub_free(struct rp_scrub *s);

/*
 * Adds a request header (name borrowed, matched case-insensitively) whose whole value is
 * scrubbed: "X-Api-Key" gives {{secret:x_api_key}}. Adding "Cookie", "Set-Cookie",
 * "Authorization" or "Proxy-Authorization" again changes nothing; an empty name is ignored.
 */
RP_EXTERN void rp_scrub_add_header(struct rp_scrub *s, const char *name);

/*
 * Adds a field-name substring (borrowed; matched case-insensitively, '-' and '_' alike):
 * "pin" scrubs "pin", "user_pin", "PinCode". An empty substring is ignored.
 */
RP_EXTERN void rp_scrub_add_field(struct rp_scrub *s, const char *name_substring);

/* True when a field named by the len bytes at name is secret under s. */
RP_EXTERN bool rp_scrub_field_is_secret(const struct rp_scrub *s, const char *name, size_t len);

/*
 * Writes the placeholder NAME for a field or header name (len bytes at name): lower-cased,
 * every byte outside [a-z0-9_] turned into '_', cut to RP_MAX_SECRET_NAME (redact.h) and to
 * outsz - 1 bytes; "secret" when name is empty.
 */
RP_EXTERN void rp_scrub_name(const char *name, size_t len, char *out, size_t outsz);

/*
 * Replaces the secrets in ex (borrowed, changed in place) with placeholders. Scrubbing is
 * idempotent: a value already a placeholder ({{secret:NAME}}, or a record-time variable's
 * {{var:NAME}}, vars.h) stays as it is. s remembers the names it gave: a different value under
 * a name already given gets NAME_2, NAME_3…, so distinct secrets never share a placeholder. A
 * request body that changed gets a matching Content-Length when it had one (and was not truncated).
 * RP_ETOOBIG when the placeholders would take the URL past RP_MAX_URL_BYTES, the headers past
 * RP_MAX_HEADER_BYTES or the body past RP_MAX_BODY_RECORDED; ex may then be partly scrubbed and
 * must not be written.
 */
RP_EXTERN RP_NODISCARD rp_code rp_scrub_exchange(struct rp_scrub *s, struct rp_exchange *ex,
                                                 struct rp_error *err);

/* One secret left in an exchange. The value itself is never given, only its length. */
struct rp_scrub_finding {
    const char *place; /* "request header Authorization", "request body $.card.number",
                          "query param api_key", "response header Set-Cookie cookie sid" */
    const char *what;  /* "card number", "JWT", "credentials", "secret field"… */
    size_t len;        /* the value's length in bytes */
};
typedef void (*rp_scrub_finding_fn)(void *ud, const struct rp_scrub_finding *f);

/*
 * Lint: calls fn (may be NULL) for each secret left in ex, that is each value
 * rp_scrub_exchange would replace under s, and each JWT anywhere (request or response);
 * placeholders are not findings. Returns how many were found; ex is not changed, nor s.
 */
RP_EXTERN size_t rp_scrub_lint_exchange(const struct rp_scrub *s, const struct rp_exchange *ex,
                                        rp_scrub_finding_fn fn, void *ud);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_SCRUB_H */
