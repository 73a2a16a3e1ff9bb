/* SPDX-License-Identifier: MIT */
/*
 * Secrets known by their look (private toolkit): card numbers (Luhn-valid), AWS access key ids,
 * PEM private keys, JWTs, high-entropy strings, and the field names that hold card codes,
 * AWS keys and credentials. Shared by scrub (secrets out of recordings), lint (secrets left in
 * them) and the reports (masking what they print). Nothing here allocates; every function reads
 * the bytes it is given and nothing beyond.
 */
#ifndef REPRISE_SECRET_INT_H
#define REPRISE_SECRET_INT_H

#include <stdbool.h>
#include <stddef.h>

/* What a value was found to be. */
enum rp__secret_kind {
    RP__SECRET_NONE = 0,
    RP__SECRET_CARD,       /* a payment card number: 13-19 digits, Luhn-valid, a known prefix */
    RP__SECRET_AWS_KEY_ID, /* AKIA or ASIA and 16 more of [A-Z0-9] */
    RP__SECRET_PEM,        /* -----BEGIN ... PRIVATE KEY----- through its END line */
    RP__SECRET_JWT,        /* eyJ...eyJ... three base64url segments */
};

/* Which kinds rp__secret_next looks for: bits (1u << kind). */
#define RP__SECRET_SCRUBBED                                                                        \
    ((1u << RP__SECRET_CARD) | (1u << RP__SECRET_AWS_KEY_ID) | (1u << RP__SECRET_PEM))
#define RP__SECRET_ALL (RP__SECRET_SCRUBBED | (1u << RP__SECRET_JWT))

/*
 * Finds the first secret of the kinds in mask within the n bytes at s, from offset *pos on.
 * Returns its kind and sets *start and *len (and *pos past it); RP__SECRET_NONE when there is
 * none (*pos is then n). Text is read as it stands: a JSON string's raw text (a PEM key's
 * "\n" escapes included) is searched as well as decoded text.
 */
enum rp__secret_kind rp__secret_next(const char *s, size_t n, size_t *pos, unsigned mask,
                                     size_t *start, size_t *len);

/* The placeholder stem for a kind: "card_number", "aws_access_key_id", "private_key", "jwt". */
const char *rp__secret_stem(enum rp__secret_kind kind);
/* A few words for a kind: "card number", "AWS access key id", "PEM private key", "JWT". */
const char *rp__secret_kind_text(enum rp__secret_kind kind);

/* True when len digits at d (digits only) pass the Luhn check. */
bool rp__secret_luhn(const char *d, size_t len);

/* A card security code's field: cvv, cvc, cvv2, cvc2, csc, security_code, card_code… */
bool rp__secret_name_card_code(const char *name, size_t len);
/* An AWS secret's field: its name holds "aws" or "secret_access_key" (and "key" or "secret"). */
bool rp__secret_name_aws(const char *name, size_t len);
/*
 * A credential's field, by a broader rule than scrub's secret names: key, auth, credential,
 * private, signature, password, secret, token, session (not public_key, idempotency_key,
 * csrf tokens, a cache key). Its value is a secret when it looks random (below).
 */
bool rp__secret_name_credential(const char *name, size_t len);

/*
 * True when the n bytes at v look like a random token: 16 to 4096 bytes of [A-Za-z0-9+/=_.~-],
 * letters and digits mixed, at least 3 bits of entropy a byte, and not a UUID.
 */
bool rp__secret_high_entropy(const char *v, size_t n);
/* True when the n bytes at v are 40 of base64's alphabet: an AWS secret access key's form. */
bool rp__secret_aws_secret_form(const char *v, size_t n);

/* Writes what a report shows for a hidden value of n bytes, "[hidden: N bytes]", into out. */
void rp__secret_mask(size_t n, char *out, size_t outsz);

#endif /* REPRISE_SECRET_INT_H */
