/* SPDX-License-Identifier: MIT */
/* The capped growable buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/buf.h>

void rp_buf_init(struct rp_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void rp_buf_cleanup(struct rp_buf *b)
{
    free(b->data);
    rp_buf_init(b, b->max);
}

void rp_buf_reset(struct rp_buf *b)
{
    b->len = 0;
    if (b->data) {
        b->data[0] = '\0';
    }
}

/* Makes room for n more bytes plus the terminating NUL. */
static rp_code reserve(struct rp_buf *b, size_t n, struct rp_error *err)
{
    if (n > b->max || b->len > b->max - n) {
        return rp_error_set(err, RP_ETOOBIG, "data exceeds the %zu-byte limit", b->max);
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap) {
        return RP_OK;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    b->data = rp_xrealloc(b->data, cap);
    b->cap = cap;
    return RP_OK;
}

rp_code rp_buf_add(struct rp_buf *b, const void *p, size_t n, struct rp_error *err)
{
    rp_code rc = reserve(b, n, err);
    if (rc) {
        return rc;
    }
    if (n) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return RP_OK;
}

rp_code rp_buf_adds(struct rp_buf *b, const char *s, struct rp_error *err)
{
    return rp_buf_add(b, s, strlen(s), err);
}

rp_code rp_buf_addc(struct rp_buf *b, char c, struct rp_error *err)
{
    return rp_buf_add(b, &c, 1, err);
}

rp_code rp_buf_vaddf(struct rp_buf *b, struct rp_error *err, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        return rp_error_set(err, RP_EINTERNAL, "bad format string");
    }
    rp_code rc = reserve(b, (size_t)n, err);
    if (rc) {
        return rc;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return RP_OK;
}

rp_code rp_buf_addf(struct rp_buf *b, struct rp_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rp_code rc = rp_buf_vaddf(b, err, fmt, ap);
    va_end(ap);
    return rc;
}

char *rp_buf_take(struct rp_buf *b, size_t *out_len)
{
    char *p = b->data;
    size_t len = b->len;
    if (!p) {
        p = rp_xstrndup("", 0);
    }
    if (out_len) {
        *out_len = len;
    }
    rp_buf_init(b, b->max);
    return p;
}
