/* SPDX-License-Identifier: MIT */
/*
 * Secrets: recordings hold {{secret:NAME}} placeholders where secrets were; replay fills them
 * from the environment variable REPRISE_SECRET_<NAME> (NAME upper-cased, and every character
 * outside [A-Z0-9_] turned into '_').
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_REDACT_H
#define REPRISE_REDACT_H

#include <reprise/exchange.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The longest NAME in {{secret:NAME}}. */
#define RP_MAX_SECRET_NAME 128u

/* Looks up a secret's value by its placeholder NAME; NULL when unset. */
typedef const char *(*rp_secret_fn)(void *ud, const char *name);

/* The default lookup: getenv("REPRISE_SECRET_" NAME-upper-cased). ud is unused. */
RP_EXTERN const char *rp_secret_from_env(void *ud, const char *name);

/*
 * Writes the environment variable name for a placeholder NAME ("password" gives
 * "REPRISE_SECRET_PASSWORD") into out (outsz bytes, cut to fit).
 */
RP_EXTERN void rp_secret_env_name(const char *name, char *out, size_t outsz);

/*
 * Calls fn(ud, NAME) for each distinct placeholder in a request (URL, header values, text
 * body), in order of first appearance; stops and returns fn's non-zero result.
 */
typedef int (*rp_secret_visit_fn)(void *ud, const char *name);
RP_EXTERN int rp_secrets_each(const struct rp_request *req, rp_secret_visit_fn fn, void *ud);

/*
 * Replaces every placeholder in a request with its value from lookup. RP_ENOSECRET, naming the
 * environment variable, when one is not set; the request is then left unchanged.
 */
RP_EXTERN RP_NODISCARD rp_code rp_secrets_fill(struct rp_request *req, rp_secret_fn lookup,
                                               void *ud, struct rp_error *err);

/*
 * Record-time variables, {{var:NAME}} (reprise/vars.h): the same two calls for them. The
 * lookup gives a variable's live value; rp_vars_fill fails with RP_EMISSING for one it has not.
 * Each value is written as its place needs, as secrets are.
 */
RP_EXTERN int rp_vars_each(const struct rp_request *req, rp_secret_visit_fn fn, void *ud);
RP_EXTERN RP_NODISCARD rp_code rp_vars_fill(struct rp_request *req, rp_secret_fn lookup, void *ud,
                                            struct rp_error *err);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_REDACT_H */
