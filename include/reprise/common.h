/* SPDX-License-Identifier: MIT */
/*
 * Things every reprise module shares: symbol visibility, the logging callback, and the
 * allocation wrappers that abort on out-of-memory (the one failure no input can cause).
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_COMMON_H
#define REPRISE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define RP_EXTERN            __attribute__((visibility("default")))
#define RP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define RP_NORETURN          __attribute__((noreturn))
/* On every function that returns an rp_code: a result left unread is a warning (an error with
 * REPRISE_WERROR). rp_error_set and rp_error_prefix, which only hand back the code they set,
 * go without it. */
#define RP_NODISCARD         __attribute__((warn_unused_result))
#else
#define RP_EXTERN
#define RP_PRINTF(fmt, args)
#define RP_NORETURN
#define RP_NODISCARD
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum rp_log_level {
    RP_LOG_ERROR,
    RP_LOG_WARN,
    RP_LOG_INFO,
    RP_LOG_DEBUG,
};

/*
 * A logging callback. The library calls it with one line of text, no trailing newline and no
 * "reprise:" prefix; the callee decides whether and where to print it. msg is borrowed.
 */
typedef void (*rp_log_fn)(void *ud, enum rp_log_level lvl, const char *msg);

/*
 * Allocation wrappers. On out-of-memory they print one line to stderr and abort: no reprise
 * function carries an ENOMEM path. Sizes are checked for overflow (rp_xcalloc, rp_xreallocarray).
 * Each returns new memory the caller frees with free().
 */
RP_EXTERN void *rp_xmalloc(size_t n);
RP_EXTERN void *rp_xcalloc(size_t nmemb, size_t size);
RP_EXTERN void *rp_xrealloc(void *p, size_t n);
RP_EXTERN void *rp_xreallocarray(void *p, size_t nmemb, size_t size);
/* Returns a new NUL-terminated copy of the first n bytes of s (s need not be terminated). */
RP_EXTERN char *rp_xstrndup(const char *s, size_t n);
/* Returns a new copy of the NUL-terminated string s; NULL gives NULL. */
RP_EXTERN char *rp_xstrdup(const char *s);

/* The library's version string, "MAJOR.MINOR.PATCH". */
RP_EXTERN const char *rp_version(void);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_COMMON_H */
