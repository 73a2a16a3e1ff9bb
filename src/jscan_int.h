/* SPDX-License-Identifier: MIT */
/*
 * The library's one JSON scanner for the places that read JSON text in place rather than
 * through cJSON: the recording reader's fast decoder, correlation (which puts a live id exactly
 * where the recorded one stood), scrubbing and secret filling. It skips white space and values,
 * reads string literals with their escapes, and writes escaped strings. Indices are offsets
 * into the caller's text; nothing here allocates. The helpers the recording decoder calls per
 * string are static inline.
 */
#ifndef REPRISE_JSCAN_INT_H
#define REPRISE_JSCAN_INT_H

#include <string.h>

#include <reprise/buf.h>

#include "text_int.h"

/* What a JSON value is. */
enum rp__json_type {
    RP__JSON_STRING,
    RP__JSON_NUMBER,
    RP__JSON_TRUE,
    RP__JSON_FALSE,
    RP__JSON_NULL,
    RP__JSON_OBJECT,
    RP__JSON_ARRAY,
};

/* The index of the first byte at or after s[i] that is not JSON white space, or n. */
static inline size_t rp__jscan_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) {
        i++;
    }
    return i;
}

/*
 * The first byte at or after p that ends a plain run of string bytes: a quote, a backslash or a
 * control byte; end when there is none. Eight bytes at a time: string bytes are most of a
 * recording line.
 */
static inline const char *rp__jscan_plain_run(const char *p, const char *end)
{
    const uint64_t ones = 0x0101010101010101ull;
    const uint64_t highs = 0x8080808080808080ull;
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        uint64_t quote = x ^ (ones * '"');
        uint64_t bslash = x ^ (ones * '\\');
        /* A byte below 0x20, or equal to either after the xor (zero): the classic test for a
         * zero byte, (v - 1) & ~v & 0x80, per byte. */
        uint64_t hit =
            (((x - ones * 0x20) & ~x) | ((quote - ones) & ~quote) | ((bslash - ones) & ~bslash)) &
            highs;
        if (hit) {
            /* The lowest flag is exact (a borrow only runs upwards), and in memory order on a
             * little-endian machine; elsewhere the loop below finds the byte. */
            if (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
                return p + (__builtin_ctzll(hit) >> 3);
            }
            break;
        }
        p += 8;
    }
    while (p < end && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\') {
        p++;
    }
    return p;
}

/*
 * Reads the escape at p (its backslash), n bytes available: sets *out_cp to what it stands for
 * and returns the bytes it takes (2, 6 or 12 for a surrogate pair), or 0 when it is not a JSON
 * escape or is cut short. A lone surrogate comes back as it is (0xD800..0xDFFF), and \u0000 as
 * 0: the caller declines them or replaces them.
 */
static inline size_t rp__jscan_escape(const char *p, size_t n, uint32_t *out_cp)
{
    if (n < 2) {
        return 0;
    }
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
        *out_cp = (unsigned char)p[1];
        return 2;
    case 'b':
        *out_cp = '\b';
        return 2;
    case 'f':
        *out_cp = '\f';
        return 2;
    case 'n':
        *out_cp = '\n';
        return 2;
    case 'r':
        *out_cp = '\r';
        return 2;
    case 't':
        *out_cp = '\t';
        return 2;
    case 'u':
        return rp__json_u_read(p, n, out_cp);
    default:
        return 0;
    }
}

/*
 * Decodes the raw contents [p, p + n) of a string literal (its quotes gone) into out, which has
 * room for n + 1 bytes (no escape grows), NUL-terminated. Strict, as the recording decoder
 * needs it: false for a bad escape, a lone surrogate and \u0000 (a C string cannot hold it).
 */
bool rp__jscan_unescape(const char *p, size_t n, char *out, size_t *out_len);

/*
 * Reads the string literal at s[*pi] (its opening quote) and moves *pi past it. When out is not
 * NULL, decodes it into out (outsz bytes, NUL-terminated); *fits (when not NULL) tells whether
 * the decoded text fitted and held no NUL, and *out_len is its length (0 when it did not fit).
 * A lone surrogate decodes as U+FFFD. False on a syntax error: a control byte, a bad escape, no
 * closing quote.
 */
bool rp__jscan_string(const char *s, size_t n, size_t *pi, char *out, size_t outsz, size_t *out_len,
                      bool *fits);

/*
 * Leniently, the index of the closing quote of the string whose contents start at s[i] (after
 * its opening quote), stepping over any escape unread; n when the text ends first.
 */
size_t rp__jscan_string_end(const char *s, size_t n, size_t i);

/* Reads a JSON number at s[*pi] and moves *pi past it. False when there is none. */
bool rp__jscan_number(const char *s, size_t n, size_t *pi);

/* Reads true, false or null at s[*pi], moves *pi past it and sets *out_type. */
bool rp__jscan_literal(const char *s, size_t n, size_t *pi, enum rp__json_type *out_type);

/*
 * Skips one value at s[*pi] (after white space), checking its syntax, and moves *pi past it.
 * depth is the nesting already entered; deeper than RP_MAX_JSON_DEPTH is an error.
 */
bool rp__jscan_value(const char *s, size_t n, size_t *pi, size_t depth);

/* Skips the value at s[*pi] and the ',' after it, moving *pi to the next member of the
 * container. False when the value is malformed or no ',' follows (the container ends). */
bool rp__jscan_next_member(const char *s, size_t n, size_t *pi, size_t depth);

/*
 * Appends n bytes of text as the inside of a JSON string (no quotes): the quote, the backslash
 * and the control bytes escaped (\b \f \n \r \t, others as \u00XX); every other byte as it is.
 */
rp_code rp__json_escape(struct rp_buf *b, const char *s, size_t n, struct rp_error *err);

#endif /* REPRISE_JSCAN_INT_H */
