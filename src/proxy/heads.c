/* SPDX-License-Identifier: MIT */
/*
 * Header blocks as they cross the proxy. In reverse mode the browser talks to the proxy's
 * origin and the upstream must see its own, so Host, Origin and Referer are moved one way and
 * Location and Set-Cookie's Domain the other. In forward mode the browser knows the real
 * origin: an absolute-form request line becomes origin-form and the headers addressed to the
 * proxy are dropped. Everything else passes through byte for byte.
 */
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

bool rp__proxy_request_line(const char *blk, size_t len, char **method, char **target)
{
    const char *end = blk + len;
    const char *pos = blk;
    struct line ln;
    if (!next_line(&pos, end, &ln)) {
        return false;
    }
    const char *sp1 = memchr(ln.s, ' ', ln.len);
    if (!sp1 || sp1 == ln.s) {
        return false;
    }
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', (size_t)(ln.s + ln.len - t));
    if (!sp2 || sp2 == t || memchr(sp2 + 1, ' ', (size_t)(ln.s + ln.len - sp2 - 1))) {
        return false;
    }
    *method = rp_xstrndup(ln.s, (size_t)(sp1 - ln.s));
    *target = rp_xstrndup(t, (size_t)(sp2 - t));
    return true;
}

static bool rewrite_request(const struct rp__origin *o, bool forward, const char *target,
                            const char *blk, size_t len, struct rp_buf *outb,
                            char **out_client_host);

/* Headers that a client addresses to its proxy, not to the origin (RFC 9110 7.6.1). */
static bool proxy_header(const char *n, size_t nl)
{
    return rp_strieq(n, nl, "Proxy-Connection") || rp_strieq(n, nl, "Proxy-Authorization") ||
           rp_strieq(n, nl, "Keep-Alive");
}

char *rp__proxy_origin_form(const char *t, size_t len)
{
    size_t skip;
    if (has_prefix_ci(t, len, "http://", 7)) {
        skip = 7;
    } else if (has_prefix_ci(t, len, "https://", 8)) {
        skip = 8;
    } else {
        return NULL;
    }
    const char *a = t + skip;
    const char *e = t + len;
    const char *rest = a;
    while (rest < e && *rest != '/' && *rest != '?' && *rest != '#') {
        rest++;
    }
    const char *frag = memchr(rest, '#', (size_t)(e - rest));
    size_t n = (size_t)((frag ? frag : e) - rest);
    bool slash = n > 0 && rest[0] == '/';
    char *out = rp_xmalloc(n + 2);
    size_t k = 0;
    if (!slash) {
        out[k++] = '/';
    }
    memcpy(out + k, rest, n);
    out[k + n] = '\0';
    return out;
}

/* The request line's target: its bytes in the block's first line, or false. */
static bool line_target(const char *blk, size_t len, const char **t, size_t *tlen)
{
    const char *pos = blk;
    struct line ln;
    if (!next_line(&pos, blk + len, &ln)) {
        return false;
    }
    const char *sp1 = memchr(ln.s, ' ', ln.len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(ln.s + ln.len - sp1 - 1)) : NULL;
    if (!sp2) {
        return false;
    }
    *t = sp1 + 1;
    *tlen = (size_t)(sp2 - sp1 - 1);
    return true;
}

bool rp__proxy_rewrite_request(const struct rp__origin *o, bool forward, const char *target,
                               const char *blk, size_t len, struct rp_buf *outb,
                               char **out_client_host)
{
    /* Reverse mode: a client may send the absolute form (RFC 9112 3.2.2) to any server; the
     * upstream gets the origin form, as from a browser. */
    char *own_target = NULL;
    const char *t;
    size_t tlen;
    if (!target && !forward && line_target(blk, len, &t, &tlen)) {
        own_target = rp__proxy_origin_form(t, tlen);
        target = own_target;
    }
    bool ok = rewrite_request(o, forward, target, blk, len, outb, out_client_host);
    free(own_target);
    return ok;
}

static bool rewrite_request(const struct rp__origin *o, bool forward, const char *target,
                            const char *blk, size_t len, struct rp_buf *outb,
                            char **out_client_host)
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
        if (first && target) {
            /* "GET http://host/x HTTP/1.1" becomes "GET /x HTTP/1.1". */
            const char *sp1 = memchr(ln.s, ' ', ln.len);
            const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(ln.s + ln.len - sp1 - 1)) : NULL;
            if (!sp2) {
                snk.ok = false;
                break;
            }
            add(out, ln.s, (size_t)(sp1 + 1 - ln.s));
            add(out, target, strlen(target));
            add(out, sp2, (size_t)(ln.s + ln.len - sp2));
            add_line_end(out, &ln);
            first = false;
            continue;
        }
        if (ln.len == 0 && !first && !client_host) {
            /* HTTP/1.0 clients may send no Host; the upstream (HTTP/1.1) needs one. */
            add(out, "Host: ", 6);
            add(out, o->hostport, strlen(o->hostport));
            add(out, "\r\n", 2);
        }
        if (first || ln.len == 0 || !split(&ln, &n, &nl, &v, &vl)) {
            first = false;
            add(out, ln.s, ln.len);
            add_line_end(out, &ln);
            continue;
        }
        if (rp_strieq(n, nl, "Host")) {
            add(out, n, nl);
            add(out, ": ", 2);
            add(out, o->hostport, strlen(o->hostport));
        } else if (forward && proxy_header(n, nl)) {
            continue;
        } else if (!forward && (rp_strieq(n, nl, "Origin") || rp_strieq(n, nl, "Referer")) &&
                   proxy_origin[0] && starts_with_origin(v, vl, proxy_origin)) {
            size_t olen = strlen(proxy_origin);
            add(out, n, nl);
            add(out, ": ", 2);
            add(out, o->url, strlen(o->url));
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

bool rp__proxy_rewrite_response(const struct rp__origin *o, const char *client_host,
                                const char *blk, size_t len, struct rp_buf *outb)
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
        if (client_host && rp_strieq(n, nl, "Location") && starts_with_origin(v, vl, o->url)) {
            size_t ulen = strlen(o->url);
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
