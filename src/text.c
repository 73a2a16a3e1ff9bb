/* SPDX-License-Identifier: MIT */
/*
 * The library's small text toolkit: ASCII case, hex digits, JSON's \uXXXX escapes, UTF-8
 * validation (which decides whether a body is stored as text or base64) and base64 on top of
 * OpenSSL's EVP block coder.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "text_int.h"

/* ----- hex ---------------------------------------------------------------------- */

const char rp__hex_upper[17] = "0123456789ABCDEF";
const char rp__hex_lower[17] = "0123456789abcdef";

/* ----- JSON's \uXXXX escapes -------------------------------------------------------------- */

size_t rp__json_u_read(const char *p, size_t n, uint32_t *out_cp)
{
    if (n < 6 || p[0] != '\\' || p[1] != 'u') {
        return 0;
    }
    long hi = rp__hex4(p + 2);
    if (hi < 0) {
        return 0;
    }
    if (hi >= 0xD800 && hi <= 0xDBFF && n >= 12 && p[6] == '\\' && p[7] == 'u') {
        long lo = rp__hex4(p + 8);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            *out_cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
            return 12;
        }
    }
    *out_cp = (uint32_t)hi;
    return 6;
}

static void put_u4(char *out, uint32_t v)
{
    out[0] = '\\';
    out[1] = 'u';
    out[2] = rp__hex_lower[(v >> 12) & 0xF];
    out[3] = rp__hex_lower[(v >> 8) & 0xF];
    out[4] = rp__hex_lower[(v >> 4) & 0xF];
    out[5] = rp__hex_lower[v & 0xF];
}

size_t rp__json_u_write(uint32_t cp, char out[12])
{
    if (cp < 0x10000) {
        put_u4(out, cp);
        return 6;
    }
    cp -= 0x10000;
    put_u4(out, 0xD800 + ((cp >> 10) & 0x3FF));
    put_u4(out + 6, 0xDC00 + (cp & 0x3FF));
    return 12;
}

/* ----- UTF-8 ------------------------------------------------------------------------------ */

size_t rp__utf8_next(const unsigned char *p, size_t n, uint32_t *out_cp)
{
    unsigned char c = p[0];
    if (c < 0x80) {
        *out_cp = c;
        return 1;
    }
    size_t len;
    uint32_t cp;
    uint32_t min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, cp = c & 0x1Fu, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, cp = c & 0x0Fu, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, cp = c & 0x07u, min = 0x10000;
    } else {
        goto bad;
    }
    if (n < len) {
        goto bad;
    }
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            goto bad;
        }
        cp = (cp << 6) | (p[k] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        goto bad;
    }
    *out_cp = cp;
    return len;
bad:
    *out_cp = 0xFFFD;
    return 1;
}

bool rp__utf8_text(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if (c == 0) {
                return false;
            }
            i++;
            continue;
        }
        /* Past ASCII, one byte read as U+FFFD is ill-formed: a real U+FFFD takes three. */
        uint32_t cp;
        size_t k = rp__utf8_next(p + i, n - i, &cp);
        if (k == 1) {
            return false;
        }
        i += k;
    }
    return true;
}

size_t rp__utf8_encode(uint32_t cp, char out[4])
{
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        cp = 0xFFFD;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *rp__utf8_from_latin1(const char *s, size_t n, size_t *out_len)
{
    if (rp__utf8_text((const unsigned char *)s, n)) {
        *out_len = n;
        return rp_xstrndup(s, n);
    }
    char *u = rp_xmalloc(n * 2 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0) {
            u[o++] = '?';
        } else if (c < 0x80) {
            u[o++] = (char)c;
        } else {
            u[o++] = (char)(0xC0 | (c >> 6));
            u[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    u[o] = '\0';
    *out_len = o;
    return u;
}

rp_code rp__base64_encode(const unsigned char *p, size_t n, struct rp_buf *out,
                          struct rp_error *err)
{
    /* EVP_EncodeBlock takes an int length: encode in slices that are a multiple of 3. */
    enum { SLICE = 3 * 16 * 1024 };
    unsigned char tmp[SLICE / 3 * 4 + 1];
    while (n > 0) {
        size_t take = n < SLICE ? n : SLICE;
        int w = EVP_EncodeBlock(tmp, p, (int)take);
        rp_code rc = rp_buf_add(out, tmp, (size_t)w, err);
        if (rc) {
            return rc;
        }
        p += take;
        n -= take;
    }
    return RP_OK;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

rp_code rp__base64_decode(const char *s, size_t n, unsigned char **out, size_t *out_len,
                          struct rp_error *err)
{
    /* A small decoder of our own: EVP_DecodeBlock cannot tell padding from zero bytes and
     * accepts whitespace, and we want strict input. */
    if (n % 4 != 0) {
        return rp_error_set(err, RP_EFORMAT, "base64 length %zu is not a multiple of 4", n);
    }
    size_t pad = 0;
    if (n >= 1 && s[n - 1] == '=') {
        pad++;
    }
    if (n >= 2 && s[n - 2] == '=') {
        pad++;
    }
    size_t len = n / 4 * 3 - pad;
    unsigned char *buf = rp_xmalloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (size_t k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + k];
            bool last_quad = i + 4 == n;
            if (c == '=' && last_quad && k >= 4 - pad) {
                v[k] = 0;
                continue;
            }
            v[k] = b64val(c);
            if (v[k] < 0) {
                free(buf);
                return rp_error_set(err, RP_EFORMAT, "invalid base64 character at offset %zu",
                                    i + k);
            }
        }
        uint32_t q = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
                     (uint32_t)v[3];
        unsigned char b3[3] = {(unsigned char)(q >> 16), (unsigned char)(q >> 8), (unsigned char)q};
        for (size_t k = 0; k < 3 && o < len; k++) {
            buf[o++] = b3[k];
        }
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return RP_OK;
}
