/* SPDX-License-Identifier: MIT */
/*
 * Small helpers for reprise-demo: allocation that aborts on out of memory, random bytes, hex,
 * time stamps, tenant-name validation and a capped growable string for building pages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "demo.h"

/* ------------------------------------------------------------------------------------------ */
/* Allocation. Out of memory is the one failure no request can cause on purpose, so it aborts
 * instead of adding an error path to every function (STYLE rule 14). */

static void oom(size_t n)
{
    fprintf(stderr, "reprise-demo: out of memory allocating %zu bytes\n", n);
    abort();
}

void *demo_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        oom(n);
    }
    return p;
}

void *demo_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        oom(n * size);
    }
    return p;
}

void *demo_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        oom(n);
    }
    return q;
}

char *demo_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = demo_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* ------------------------------------------------------------------------------------------ */

bool demo_random_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        p += got;
        n -= (size_t)got;
    }
    return true;
}

void demo_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    out[2 * n] = '\0';
}

void demo_time_iso(time_t t, char out[21])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        /* Only a clock far outside years 0..9999 gets here. */
        snprintf(out, 21, "1970-01-01T00:00:00Z");
    }
}

bool demo_equal_ct(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a;
    const uint8_t *y = b;
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++) {
        diff |= (uint8_t)(x[i] ^ y[i]);
    }
    return diff == 0;
}

bool demo_tenant_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > DEMO_MAX_TENANT_NAME || s[0] == '-' || s[len - 1] == '-') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* The capped string. */

void demo_buf_init(struct demo_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

bool demo_buf_add(struct demo_buf *b, const char *s, size_t len)
{
    if (b->failed || len > b->max - b->len) {
        b->failed = true;
        return false;
    }
    /* One byte more than the contents, for the NUL that demo_buf_take promises. */
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1) {
            cap *= 2;
        }
        b->data = demo_xrealloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
    return true;
}

bool demo_buf_adds(struct demo_buf *b, const char *s)
{
    return demo_buf_add(b, s, strlen(s));
}

bool demo_buf_addf(struct demo_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return false;
    }
    if ((size_t)n < sizeof(small)) {
        return demo_buf_add(b, small, (size_t)n);
    }
    /* Too long for the stack buffer: format again into one of the right size. */
    char *big = demo_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bool ok = demo_buf_add(b, big, (size_t)n);
    free(big);
    return ok;
}

bool demo_buf_add_html(struct demo_buf *b, const char *s)
{
    for (; *s; s++) {
        bool ok;
        switch (*s) {
        case '&':
            ok = demo_buf_adds(b, "&amp;");
            break;
        case '<':
            ok = demo_buf_adds(b, "&lt;");
            break;
        case '>':
            ok = demo_buf_adds(b, "&gt;");
            break;
        case '"':
            ok = demo_buf_adds(b, "&quot;");
            break;
        case '\'':
            ok = demo_buf_adds(b, "&#39;");
            break;
        default:
            ok = demo_buf_add(b, s, 1);
            break;
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

char *demo_buf_take(struct demo_buf *b, size_t *out_len)
{
    char *p = b->data ? b->data : demo_xcalloc(1, 1);
    if (out_len) {
        *out_len = b->len;
    }
    demo_buf_init(b, b->max);
    return p;
}

void demo_buf_cleanup(struct demo_buf *b)
{
    free(b->data);
    demo_buf_init(b, b->max);
}
