/* SPDX-License-Identifier: MIT */
/*
 * Form bodies as browsers send them: application/x-www-form-urlencoded and
 * multipart/form-data (RFC 7578). Both parsers are bounded: at most DEMO_MAX_FORM_FIELDS
 * fields, and the body is already capped at DEMO_MAX_BODY. A file part's content is kept like
 * any other value; the demo's forms have none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "demo.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes '+' and %HH of s[0..len) into a new string; %00 and bad escapes stay literal. */
static char *url_decode(const char *s, size_t len)
{
    char *out = demo_xmalloc(len + 1);
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[w++] = ' ';
        } else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0 &&
                   (hexval(s[i + 1]) || hexval(s[i + 2]))) {
            out[w++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[w++] = s[i];
        }
    }
    out[w] = '\0';
    return out;
}

static bool add_field(struct demo_form *f, char *name, char *value)
{
    if (f->n >= DEMO_MAX_FORM_FIELDS) {
        free(name);
        free(value);
        return false;
    }
    f->names[f->n] = name;
    f->values[f->n] = value;
    f->n++;
    return true;
}

static bool parse_urlencoded(const char *body, size_t len, struct demo_form *f)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&') {
            end++;
        }
        if (end > i) {
            const char *eq = memchr(body + i, '=', end - i);
            size_t nlen = eq ? (size_t)(eq - (body + i)) : end - i;
            const char *v = eq ? eq + 1 : body + end;
            size_t vlen = eq ? (size_t)(body + end - v) : 0;
            if (!add_field(f, url_decode(body + i, nlen), url_decode(v, vlen))) {
                return false;
            }
        }
        i = end + 1;
    }
    return true;
}

/* The value of parameter name (boundary, name) in a header value, quoted or not, into out. */
static bool header_param(const char *h, size_t hlen, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    for (size_t i = 0; i + nlen + 1 <= hlen; i++) {
        bool at_start = i == 0 || h[i - 1] == ';' || h[i - 1] == ' ' || h[i - 1] == '\t';
        if (!at_start || strncasecmp(h + i, name, nlen) != 0 || h[i + nlen] != '=') {
            continue;
        }
        const char *v = h + i + nlen + 1;
        const char *end = h + hlen;
        size_t n = 0;
        if (v < end && *v == '"') {
            v++;
            while (v + n < end && v[n] != '"') {
                n++;
            }
        } else {
            while (v + n < end && v[n] != ';' && v[n] != ' ' && v[n] != '\t') {
                n++;
            }
        }
        if (n == 0 || n >= cap) {
            return false;
        }
        memcpy(out, v, n);
        out[n] = '\0';
        return true;
    }
    return false;
}

static const char *find_bytes(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    if (nlen == 0 || hlen < nlen) {
        return NULL;
    }
    for (size_t i = 0; i + nlen <= hlen; i++) {
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nlen) == 0) {
            return hay + i;
        }
    }
    return NULL;
}

static bool parse_multipart(const char *ctype, const char *body, size_t len, struct demo_form *f)
{
    char boundary[80];
    char delim[84];
    if (!header_param(ctype, strlen(ctype), "boundary", boundary, sizeof(boundary))) {
        return false;
    }
    size_t dlen = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
    const char *end = body + len;
    const char *p = find_bytes(body, len, delim, dlen);
    /* One part per delimiter, at most the field cap plus the closing one. */
    for (size_t guard = 0; p && guard <= DEMO_MAX_FORM_FIELDS; guard++) {
        p += dlen;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            return true; /* the close delimiter */
        }
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
            return false;
        }
        p += 2;
        const char *hend = find_bytes(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (!hend) {
            return false;
        }
        char name[128] = "";
        bool named = false;
        for (const char *h = p; h < hend;) {
            const char *eol = find_bytes(h, (size_t)(hend - h), "\r\n", 2);
            size_t hl = eol ? (size_t)(eol - h) : (size_t)(hend - h);
            if (hl > 20 && strncasecmp(h, "Content-Disposition:", 20) == 0) {
                named = header_param(h + 20, hl - 20, "name", name, sizeof(name));
            }
            h += hl + 2;
        }
        const char *v = hend + 4;
        char crlf_delim[88];
        size_t cdlen = (size_t)snprintf(crlf_delim, sizeof(crlf_delim), "\r\n%s", delim);
        const char *next = find_bytes(v, (size_t)(end - v), crlf_delim, cdlen);
        if (!next) {
            return false;
        }
        if (!named) {
            return false;
        }
        if (!add_field(f, demo_xstrndup(name, sizeof(name)),
                       demo_xstrndup(v, (size_t)(next - v)))) {
            return false;
        }
        p = next + 2;
    }
    return false;
}

bool demo_form_parse(const struct demo_request *rq, struct demo_form *out)
{
    memset(out, 0, sizeof(*out));
    const char *ct = rq->content_type ? rq->content_type : "";
    bool ok = false;
    if (strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
        ok = parse_urlencoded(rq->body, rq->body_len, out);
    } else if (strncasecmp(ct, "multipart/form-data", 19) == 0) {
        ok = parse_multipart(ct, rq->body, rq->body_len, out);
    }
    if (!ok) {
        demo_form_cleanup(out);
    }
    return ok;
}

const char *demo_form_get(const struct demo_form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->names[i], name) == 0) {
            return f->values[i];
        }
    }
    return NULL;
}

void demo_form_cleanup(struct demo_form *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->names[i]);
        free(f->values[i]);
    }
    memset(f, 0, sizeof(*f));
}
