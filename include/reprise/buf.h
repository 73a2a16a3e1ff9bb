/* SPDX-License-Identifier: MIT */
/*
 * struct rp_buf: the one growable byte buffer, always with a cap. An append that would take the
 * buffer past its cap fails with RP_ETOOBIG and leaves the buffer as it was. The data is kept
 * NUL-terminated (the NUL is not counted in len) so text can be handed to C string functions.
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_BUF_H
#define REPRISE_BUF_H

#include <stdarg.h>

#include <reprise/error.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rp_buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* the most len may reach */
};

/* Initialises b, empty, with the cap max. Allocates nothing. */
RP_EXTERN void rp_buf_init(struct rp_buf *b, size_t max);
/* Frees b's memory; b may be initialised again. */
RP_EXTERN void rp_buf_cleanup(struct rp_buf *b);
/* Empties b, keeping its memory. */
RP_EXTERN void rp_buf_reset(struct rp_buf *b);

/* Appends n bytes from p (borrowed). RP_ETOOBIG past the cap. */
RP_EXTERN RP_NODISCARD rp_code rp_buf_add(struct rp_buf *b, const void *p, size_t n,
                                          struct rp_error *err);
/* Appends a NUL-terminated string. */
RP_EXTERN RP_NODISCARD rp_code rp_buf_adds(struct rp_buf *b, const char *s, struct rp_error *err);
/* Appends one byte. */
RP_EXTERN RP_NODISCARD rp_code rp_buf_addc(struct rp_buf *b, char c, struct rp_error *err);
/* Appends printf-formatted text. */
RP_EXTERN RP_NODISCARD rp_code rp_buf_addf(struct rp_buf *b, struct rp_error *err, const char *fmt,
                                           ...) RP_PRINTF(3, 4);
RP_EXTERN RP_NODISCARD rp_code rp_buf_vaddf(struct rp_buf *b, struct rp_error *err, const char *fmt,
                                            va_list ap) RP_PRINTF(3, 0);

/*
 * Returns b's data, NUL-terminated, as a new string the caller frees with free() (an empty
 * string if nothing was appended), stores its length in *out_len when out_len is not NULL, and
 * leaves b empty and initialised with the same cap.
 */
RP_EXTERN char *rp_buf_take(struct rp_buf *b, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_BUF_H */
