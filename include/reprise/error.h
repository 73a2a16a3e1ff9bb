/* SPDX-License-Identifier: MIT */
/*
 * Result codes and error messages. Every fallible function returns an rp_code and fills a
 * struct rp_error whose message names the file, line or exchange at fault. Each code maps to
 * one of the command-line exit classes of DESIGN.md (0 ok, 1 check failed, 2 usage or input,
 * 3 target or infrastructure).
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_ERROR_H
#define REPRISE_ERROR_H

#include <reprise/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * X(NAME, exit class, description). New codes go at the end; a retired code keeps its place
 * (renamed RP_EOBSOLETEnn) so that numbers never change meaning. The table is laid out by
 * hand, as a table.
 */
/* clang-format off */
#define RP_CODE_MAP(X)                                                  \
    X(OK,        0, "success")                                          \
    X(EUSAGE,    2, "bad command-line usage")                           \
    X(EFORMAT,   2, "malformed input file")                             \
    X(ETRUNC,    2, "input truncated")                                  \
    X(ENOSECRET, 2, "secret not set in the environment")                \
    X(ECONNECT,  3, "could not connect to target")                      \
    X(ETLS,      3, "TLS handshake or verification failed")             \
    X(EMISMATCH, 1, "response does not match its shape")                \
    X(ETOOBIG,   2, "input exceeds a configured limit")                 \
    X(EIO,       2, "file could not be read or written")                \
    X(ENOTFOUND, 2, "no such file or entry")                            \
    X(EVERSION,  2, "unsupported format version")                       \
    X(ETIMEOUT,  3, "target timed out")                                 \
    X(EDNS,      3, "could not resolve host")                           \
    X(ETARGET,   3, "target failed (reset, protocol error)")            \
    X(ESYS,      3, "system call failed")                               \
    X(EINTERNAL, 2, "internal error")                                   \
    X(EUNSAFE,   1, "refused: a write sends an id no response gave")    \
    X(EMISSING,  1, "a server-given value is missing from the live response") \
    X(ETENANT,   2, "refused: writes with no tenant to rewrite")
/* clang-format on */

typedef enum {
#define RP_CODE_ENUM(name, exitc, desc) RP_##name,
    RP_CODE_MAP(RP_CODE_ENUM)
#undef RP_CODE_ENUM
        RP_CODE_COUNT_
} rp_code;

/* Exit codes of the command line (DESIGN.md). */
enum {
    RP_EXIT_OK = 0,
    RP_EXIT_MISMATCH = 1,
    RP_EXIT_INPUT = 2,
    RP_EXIT_TARGET = 3,
    RP_EXIT_UNFINISHED = 4, /* diff: the results are of a run that did not finish */
};

#define RP_ERROR_MSG_MAX 256

struct rp_error {
    rp_code code;
    char msg[RP_ERROR_MSG_MAX];
};

/* "EFORMAT" for RP_EFORMAT; "EUNKNOWN" for a value outside the table. */
RP_EXTERN const char *rp_code_name(rp_code code);
/* A short English description of code. */
RP_EXTERN const char *rp_code_str(rp_code code);
/* The process exit code (0-3) for code. */
RP_EXTERN int rp_code_exit(rp_code code);

/*
 * Sets err (when not NULL) to code and the formatted message, and returns code, so that
 * `return rp_error_set(err, RP_EFORMAT, "%s:%zu: ...", path, line);` fits on a line. The
 * message is cut at RP_ERROR_MSG_MAX - 1 bytes. err may be NULL.
 */
RP_EXTERN rp_code rp_error_set(struct rp_error *err, rp_code code, const char *fmt, ...)
    RP_PRINTF(3, 4);

/* Clears err to RP_OK with an empty message. err may be NULL. */
RP_EXTERN void rp_error_clear(struct rp_error *err);

/*
 * Puts "prefix: " in front of err's message (for callers that add the file or exchange).
 * Returns err->code. err may be NULL, and then RP_OK is returned.
 */
RP_EXTERN rp_code rp_error_prefix(struct rp_error *err, const char *fmt, ...) RP_PRINTF(2, 3);

/* Drops a result on purpose where RP_NODISCARD would warn: a cap that cannot be reached (the
 * room was checked before), a text that may be cut short (a message, a label), or a close on a
 * path that already failed. Each call says which, in a comment beside it or atop its file. */
static inline void rp_ignore(rp_code rc)
{
    (void)rc;
}

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_ERROR_H */
