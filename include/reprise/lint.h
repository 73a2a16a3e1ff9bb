/* SPDX-License-Identifier: MIT */
/*
 * Lint: secrets left in a recording (or a results file), for a pre-commit hook and for CI.
 * Each exchange goes through the scrubber's scan with the default rules (scrub.h,
 * rp_scrub_lint_exchange): credential headers and cookies with literal values, secret fields,
 * card numbers, card codes, AWS keys, PEM keys, random-looking credentials, and JWTs anywhere.
 * A finding names the file, the line (the recording's own line number: 1 is the header) and
 * the place; it never carries the secret, only its length.
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_LINT_H
#define REPRISE_LINT_H

#include <reprise/common.h>
#include <reprise/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One secret left. Every string is borrowed for the callback only. */
struct rp_lint_finding {
    const char *file;  /* the path as given */
    uint64_t line;     /* the recording's line: 2 for its first exchange */
    uint64_t seq;      /* the exchange's seq */
    const char *place; /* "request header Authorization", "request body $.card.number" */
    const char *what;  /* "card number", "JWT", "credentials"… */
    size_t len;        /* the secret's length in bytes */
};
typedef void (*rp_lint_fn)(void *ud, const struct rp_lint_finding *f);

/*
 * Reads the recording at path ("-": standard input) and calls fn for each secret left in it.
 * *out_found is the number of findings. RP_EIO, RP_EFORMAT or RP_EVERSION (naming FILE:LINE)
 * when the file cannot be read; the findings before the error have been reported. log receives
 * the reader's warnings (a truncated file); may be NULL.
 */
RP_EXTERN RP_NODISCARD rp_code rp_lint_file(const char *path, rp_lint_fn fn, void *ud,
                                            rp_log_fn log, void *log_ud, uint64_t *out_found,
                                            struct rp_error *err);

/* Writes a finding as one line, "FILE:LINE: WHAT in PLACE ([hidden: N bytes])", into out. */
RP_EXTERN void rp_lint_format(const struct rp_lint_finding *f, char *out, size_t outsz);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_LINT_H */
