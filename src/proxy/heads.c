/* SPDX-License-Identifier: MIT */
/*
 * Header blocks as they cross the proxy: the browser talks to the proxy's origin and the
 * upstream must see its own, so Host, Origin and Referer are moved one way and Location and
 * Set-Cookie's Domain the other. Everything else passes through byte for byte.
 */
#include <stdlib.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* One line of a block: its bytes without the line ending, and the ending itself. */
struct line {
    const char *s;
    size_t len;
    const char *eol;
    size_t eol_len;
};

/* Cuts the next line from [*pos, end); false at the end of the block. */
static bool next_line(const char **pos, const char *end, struct line *ln)
{
    if (*pos >= end) {
        return false;
    }
    const char *nl = memchr(*pos, '\n', (size_t)(end - *pos));
    const char *stop = nl ? nl + 1 : end;
    ln->s = *pos;
    ln->len = (size_t)(stop - *pos);
    ln->eol = stop;
    ln->eol_len = 0;
    while (ln->len && (ln->s[ln->len - 1] == '\n' || ln->s[ln->len - 1] == '\r')) {
        ln->len--;
        ln->eol--;
        ln->eol_len++;
    }
    *pos = stop;
    return true;
}

/* Splits a header line into name and trimmed value; false when it has no colon. */
static bool split(const struct line *ln, const char **name, size_t *name_len, const char **val,
                  size_t *val_len)
{
    const char *colon = memchr(ln->s, ':', ln->len);
    if (!colon || colon == ln->s) {
        return false;
    }
    *name = ln->s;
    *name_len = (size_t)(colon - ln->s);
    const char *v = colon + 1;
    const char *e = ln->s + ln->len;
    while (v < e && (*v == ' ' || *v == '\t')) {
        v++;
    }
    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) {
        e--;
    }
    *val = v;
    *val_len = (size_t)(e - v);
    return true;
}

static bool has_prefix_ci(const char *s, size_t len, const char *prefix, size_t plen)
{
    return len >= plen && rp_strieq(s, plen, prefix) && prefix[plen] == '\0';
}

/*
 * True when the len bytes at s begin with the origin (NUL-terminated) followed by the end, '/',
 * '?' or '#': "http://a:1/x" begins with the origin "http://a:1", "http://a:10" does not.
 */
static bool starts_with_origin(const char *s, size_t len, const char *origin)
{
    size_t olen = strlen(origin);
    if (len < olen || !rp_strieq(s, olen, origin)) {
        return false;
    }
    return len == olen || s[olen] == '/' || s[olen] == '?' || s[olen] == '#';
}

/* Appends go through a sink that remembers a failure (the cap reached), so the caller can
 * refuse the block once instead of checking every append. */
struct sink {
    struct rp_buf *b;
    bool ok;
};

static void add(struct sink *out, const void *p, size_t n)
{
    if (out->ok && rp_buf_add(out->b, p, n, NULL)) {
        out->ok = false;
    }
}

static void add_line_end(struct sink *out, const struct line *ln)
{
    if (ln->eol_len) {
        add(out, ln->eol, ln->eol_len);
    } else {
        add(out, "\r\n", 2);
    }
}

size_t rp__proxy_head_end(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\n') {
            continue;
        }
        if (i + 1 < len && s[i + 1] == '\n') {
            return i + 2;
        }
        if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n') {
            return i + 3;
        }
    }
    return 0;
}

bool rp__proxy_head_has(const char *blk, size_t len, const char *name, const char *token)
{
    const char *pos = blk;
    const char *end = blk + len;
    struct line ln;
    size_t tlen = strlen(token);
    (void)next_line(&pos, end, &ln); /* the start line */
    while (next_line(&pos, end, &ln)) {
        const char *n, *v;
        size_t nl, vl;
        if (!split(&ln, &n, &nl, &v, &vl) || !rp_strieq(n, nl, name)) {
            continue;
        }
        for (size_t i = 0; i + tlen <= vl; i++) {
            if (rp_strieq(v + i, tlen, token)) {
                return true;
            }
        }
    }
    return false;
}

bool rp__proxy_rewrite_request(const struct rp_proxy *p, const char *blk, size_t len,
                               struct rp_buf *outb, char **out_client_host)
{
    struct sink snk = {outb, true};
    struct sink *out = &snk;
    const char *end = blk + len;
    const char *pos = blk;
    struct line ln;
    char *client_host = NULL;

    /* The client's Host first: Origin and Referer may come before it. */
    (void)next_line(&pos, end, &ln);
    while (next_line(&pos, end, &ln)) {
        const char *n, *v;
        size_t nl, vl;
        if (split(&ln, &n, &nl, &v, &vl) && rp_strieq(n, nl, "Host") && !client_host) {
            client_host = rp_xstrndup(v, vl);
        }
    }
    char proxy_origin[512] = "";
    if (client_host) {
        int k = snprintf(proxy_origin, sizeof(proxy_origin), "http://%s", client_host);
        if (k < 0 || (size_t)k >= sizeof(proxy_origin)) {
            proxy_origin[0] = '\0'; /* too long to be ours: left alone */
        }
    }

    pos = blk;
    bool first = true;
    while (next_line(&pos, end, &ln)) {
        const char *n, *v;
        size_t nl, vl;
        if (first || ln.len == 0 || !split(&ln, &n, &nl, &v, &vl)) {
            first = false;
            add(out, ln.s, ln.len);
            add_line_end(out, &ln);
            continue;
        }
        if (rp_strieq(n, nl, "Host")) {
            add(out, n, nl);
            add(out, ": ", 2);
            add(out, p->up_hostport, strlen(p->up_hostport));
        } else if ((rp_strieq(n, nl, "Origin") || rp_strieq(n, nl, "Referer")) && proxy_origin[0] &&
                   starts_with_origin(v, vl, proxy_origin)) {
            size_t olen = strlen(proxy_origin);
            add(out, n, nl);
            add(out, ": ", 2);
            add(out, p->upstream, strlen(p->upstream));
            add(out, v + olen, vl - olen);
        } else {
            add(out, ln.s, ln.len);
        }
        add_line_end(out, &ln);
    }
    if (!snk.ok) {
        free(client_host);
        return false;
    }
    *out_client_host = client_host;
    return true;
}

/* Appends a Set-Cookie value without its Domain attribute: the cookie then belongs to
 * whichever host the browser sent the request to, that is the proxy. */
static void add_cookie_without_domain(struct sink *out, const char *v, size_t vl)
{
    const char *e = v + vl;
    const char *seg = v;
    bool first = true;
    while (seg < e) {
        const char *semi = memchr(seg, ';', (size_t)(e - seg));
        const char *stop = semi ? semi : e;
        const char *t = seg;
        while (t < stop && (*t == ' ' || *t == '\t')) {
            t++;
        }
        bool domain = !first && has_prefix_ci(t, (size_t)(stop - t), "domain", 6) &&
                      (stop - t == 6 || t[6] == '=' || t[6] == ' ');
        if (!domain) {
            if (!first) {
                add(out, ";", 1);
            }
            add(out, seg, (size_t)(stop - seg));
        }
        first = false;
        seg = semi ? semi + 1 : e;
    }
}

bool rp__proxy_rewrite_response(const struct rp_proxy *p, const char *client_host, const char *blk,
                                size_t len, struct rp_buf *outb)
{
    struct sink snk = {outb, true};
    struct sink *out = &snk;
    const char *end = blk + len;
    const char *pos = blk;
    struct line ln;
    bool first = true;
    while (next_line(&pos, end, &ln)) {
        const char *n, *v;
        size_t nl, vl;
        if (first || ln.len == 0 || !split(&ln, &n, &nl, &v, &vl)) {
            first = false;
            add(out, ln.s, ln.len);
            add_line_end(out, &ln);
            continue;
        }
        if (client_host && rp_strieq(n, nl, "Location") && starts_with_origin(v, vl, p->upstream)) {
            size_t ulen = strlen(p->upstream);
            add(out, n, nl);
            add(out, ": http://", 9);
            add(out, client_host, strlen(client_host));
            add(out, v + ulen, vl - ulen);
        } else if (rp_strieq(n, nl, "Set-Cookie")) {
            add(out, n, nl);
            add(out, ": ", 2);
            add_cookie_without_domain(out, v, vl);
        } else {
            add(out, ln.s, ln.len);
        }
        add_line_end(out, &ln);
    }
    return snk.ok;
}
