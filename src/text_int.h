/* SPDX-License-Identifier: MIT */
/* Private text helpers shared inside the library: UTF-8 validation and base64. */
#ifndef REPRISE_TEXT_INT_H
#define REPRISE_TEXT_INT_H

#include <reprise/buf.h>

/* True when the n bytes at p are well-formed UTF-8 (no overlongs, no surrogates) with no NUL. */
bool rp__utf8_text(const unsigned char *p, size_t n);

/*
 * Writes the UTF-8 form of code point cp into out and returns its length (1 to 4). Surrogates
 * and values past U+10FFFF become U+FFFD, the replacement character.
 */
size_t rp__utf8_encode(uint32_t cp, char out[4]);

/* Appends the base64 (RFC 4648, padded) of n bytes at p to out. */
rp_code rp__base64_encode(const unsigned char *p, size_t n, struct rp_buf *out,
                          struct rp_error *err);

/*
 * Decodes n base64 characters at s. On success *out is new memory of *out_len bytes plus a
 * NUL (free() it). RP_EFORMAT on a character outside the alphabet or bad padding.
 */
rp_code rp__base64_decode(const char *s, size_t n, unsigned char **out, size_t *out_len,
                          struct rp_error *err);

#endif /* REPRISE_TEXT_INT_H */
