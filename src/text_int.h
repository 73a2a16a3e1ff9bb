/* SPDX-License-Identifier: MIT */
/*
 * Private text helpers shared inside the library: ASCII case, hex digits, JSON's \uXXXX
 * escapes, UTF-8 validation and base64. The one-line helpers are static inline: the recording
 * decoder and the header lookups call them in their inner loops.
 */
#ifndef REPRISE_TEXT_INT_H
#define REPRISE_TEXT_INT_H

#include <reprise/buf.h>

/* ----- ASCII ------------------------------------------------------------------------------ */

/* c lower-cased when it is an ASCII capital letter; every other byte as it is. */
static inline char rp__ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* True when the n bytes at a and at b are equal but for ASCII case. */
static inline bool rp__ascii_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (rp__ascii_lower(a[i]) != rp__ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

/* ----- hex digits ------------------------------------------------------------------------- */

/* The value of the hex digit c (either case), or -1. */
static inline int rp__hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20; /* 'A'..'F' to 'a'..'f'; no other byte lands on 'a'..'f' this way */
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* The byte of the two hex digits at p (either case), or -1. p must have two bytes. */
static inline int rp__hex_byte(const char *p)
{
    int hi = rp__hex_value((unsigned char)p[0]);
    int lo = rp__hex_value((unsigned char)p[1]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* The number of the four hex digits at p, or -1. p must have four bytes. */
static inline long rp__hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = rp__hex_value((unsigned char)p[i]);
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

/* The digits for writing hex, upper case ("%2F") and lower case ("\u00e9"). */
extern const char rp__hex_upper[17];
extern const char rp__hex_lower[17];

/* ----- JSON's \uXXXX escapes -------------------------------------------------------------- */

/*
 * Reads the \uXXXX escape at p (its backslash), n bytes available. A high surrogate followed
 * by a \u low surrogate is read as the pair. Returns the bytes read (6 or 12) and sets *out_cp,
 * or 0 when the escape is cut short or has a bad digit. A lone surrogate is read (6 bytes) and
 * returned as it is, in 0xD800..0xDFFF: the caller decides whether to decline it or replace it.
 */
size_t rp__json_u_read(const char *p, size_t n, uint32_t *out_cp);

/*
 * Writes cp as JSON escapes in lower-case hex: one \uXXXX below U+10000, a surrogate pair
 * above. out has room for 12 bytes; returns the bytes written (6 or 12).
 */
size_t rp__json_u_write(uint32_t cp, char out[12]);

/* ----- UTF-8 and base64 ------------------------------------------------------------------- */

/*
 * Decodes the code point at p (n > 0 bytes) into *out_cp and returns its length in bytes; an
 * ill-formed sequence (overlong, surrogate, cut short, past U+10FFFF) gives U+FFFD and 1.
 */
size_t rp__utf8_next(const unsigned char *p, size_t n, uint32_t *out_cp);

/* True when the n bytes at p are well-formed UTF-8 (no overlongs, no surrogates) with no NUL. */
bool rp__utf8_text(const unsigned char *p, size_t n);

/*
 * Writes the UTF-8 form of code point cp into out and returns its length (1 to 4). Surrogates
 * and values past U+10FFFF become U+FFFD, the replacement character.
 */
size_t rp__utf8_encode(uint32_t cp, char out[4]);

/*
 * Returns n bytes of s as new UTF-8 text, NUL-terminated, *out_len bytes (free() it): a copy
 * when they are UTF-8 already, else read as Latin-1 (HTTP's obs-text), with a NUL, which a C
 * string cannot carry, as '?'.
 */
char *rp__utf8_from_latin1(const char *s, size_t n, size_t *out_len);

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
