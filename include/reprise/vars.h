/* SPDX-License-Identifier: MIT */
/*
 * Record-time variables: server-issued credentials (a login's token, a refresh token, a session
 * cookie) held in a recording as {{var:NAME}}, never as the live value and never as a secret.
 *
 * When recording (rp_varrec, used by the recording pipeline for every source), a response value
 * that looks like a credential becomes a variable where it is born, at once, so that it is never
 * written live: the string value of a JSON field named like a credential (access_token,
 * refreshToken, id_token, jwt, api_key, session_id, client_secret…, not CSRF tokens), any
 * JWT-shaped string in the body or a header, a response header named like a credential
 * (X-Auth-Token), and a Set-Cookie value whose cookie is named like a session or is a JWT. Its
 * exchange's line declares it (name and place, exchange.h's struct rp_var_decl). From then on,
 * the value is searched for in every later exchange (URL, headers, bodies, responses too) and
 * replaced by the same placeholder wherever it stands: Authorization with any scheme, a cookie,
 * a custom header, a JSON, form or query field. Distinct values get distinct names
 * (access_token, access_token_2), so a rotated token is a new variable.
 *
 * At replay (rp_var_table, one per session), the value of each variable is taken from the live
 * response at its recorded place and filled where a request holds its placeholder
 * (rp_vars_fill in redact.h). A variable whose live value is missing stops the session.
 *
 * Places, as written in a recording: "body $.path" (a JSON string), "body jwt N" (the Nth
 * JWT-shaped string of the body), "header NAME" (the whole value), "header NAME jwt N",
 * "cookie NAME" (the Set-Cookie for NAME).
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_VARS_H
#define REPRISE_VARS_H

#include <reprise/exchange.h>
#include <reprise/limits.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ----- recording ------------------------------------------------------------------------- */

/* The variables of one recording so far: each value and its name. Owns copies of the values. */
struct rp_varrec;

/* Returns a new, empty state; free it with rp_varrec_free(). */
RP_EXTERN struct rp_varrec *rp_varrec_new(void);
/* Frees vr; NULL does nothing. */
RP_EXTERN void rp_varrec_free(struct rp_varrec *vr);

/*
 * Runs the next exchange of the recording (borrowed, changed in place) through: every known
 * value becomes its placeholder, then the credentials its response gives become variables,
 * declared on ex (rp_exchange_add_var). A request body that changes gets a matching
 * Content-Length when it had one and was not truncated (a response's headers stay as on the
 * wire). RP_ETOOBIG when a placeholder would take a part past
 * its cap; ex may then be partly changed and must not be written.
 */
RP_EXTERN RP_NODISCARD rp_code rp_varrec_exchange(struct rp_varrec *vr, struct rp_exchange *ex,
                                                  struct rp_error *err);

/* True when a field, header or cookie name (len bytes) names a credential under the rule
 * above: after lower-casing and dropping every byte but letters and digits, it ends in token,
 * jwt, apikey, accesskey, secret, secretkey, session, sessionid, sessionkey, sid, bearer,
 * authorization or credentials, and names no anti-forgery token (csrf, xsrf, authenticity,
 * requestverification). */
RP_EXTERN bool rp_var_name_is_credential(const char *name, size_t len);

/* True when the n bytes at s are one JWT-shaped string (three base64url parts, the first
 * opening with "eyJ"). */
RP_EXTERN bool rp_var_is_jwt(const char *s, size_t n);

/* ----- places ------------------------------------------------------------------------------ */

enum rp_var_place_kind {
    RP_VAR_BODY_JSON,  /* key: the JSON path */
    RP_VAR_BODY_JWT,   /* index: 1-based */
    RP_VAR_HEADER,     /* key: the header name */
    RP_VAR_HEADER_JWT, /* key: the header name; index: 1-based */
    RP_VAR_COOKIE,     /* key: the cookie name */
};

struct rp_var_place {
    enum rp_var_place_kind kind;
    char key[RP_MAX_VAR_PLACE + 1];
    size_t index;
};

/* Reads a place as a recording writes it; RP_EFORMAT naming it when it is not one. */
RP_EXTERN RP_NODISCARD rp_code rp_var_place_parse(const char *from, struct rp_var_place *out,
                                                  struct rp_error *err);

/* Takes the value at place from resp; on success *out is new memory (free()). False when the
 * response has nothing there. */
RP_EXTERN bool rp_var_take(const struct rp_var_place *place, const struct rp_response *resp,
                           char **out);

/* ----- replay: one session's variables ----------------------------------------------------- */

struct rp_var_table;

RP_EXTERN struct rp_var_table *rp_var_table_new(void);
RP_EXTERN void rp_var_table_free(struct rp_var_table *t);
/* Returns a new table with t's declarations (names, places, exchanges) and no values. */
RP_EXTERN struct rp_var_table *rp_var_table_copy(const struct rp_var_table *t);
/* How many variables t declares, and the i-th: name, place and the exchange that gives it
 * (borrowed from t). */
RP_EXTERN size_t rp_var_table_count(const struct rp_var_table *t);
RP_EXTERN void rp_var_table_get(const struct rp_var_table *t, size_t i, const char **out_name,
                                const char **out_from, uint64_t *out_seq);

/*
 * Declares the variables the recorded exchange rec (borrowed) gives and, when live is not
 * NULL, takes their values from that live response (a value missing there is remembered as
 * missing). RP_EFORMAT for a place that does not parse, naming the exchange.
 */
RP_EXTERN RP_NODISCARD rp_code rp_var_table_observe(struct rp_var_table *t,
                                                    const struct rp_exchange *rec,
                                                    const struct rp_response *live,
                                                    struct rp_error *err);

/* The live value of variable name, borrowed from t; NULL when it has none. Usable as the
 * lookup of rp_vars_fill() with t as ud. */
RP_EXTERN const char *rp_var_table_value(void *t, const char *name);

/*
 * Checks that every {{var:NAME}} in req is declared and, with need_values, has a live value.
 * RP_EFORMAT for a variable never declared ("variable X is used but no earlier response gives
 * it"); RP_EMISSING for one without a live value ("variable access_token: body $.access_token
 * not in the live response of #3").
 */
RP_EXTERN RP_NODISCARD rp_code rp_var_table_check(const struct rp_var_table *t,
                                                  const struct rp_request *req, bool need_values,
                                                  struct rp_error *err);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_VARS_H */
