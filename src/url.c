/* SPDX-License-Identifier: MIT */
/*
 * URLs, query strings, form bodies and Cookie headers, taken apart in place, and percent-coding:
 * the one copy that correlation, scrubbing, secrets, rewriting and HAR export share.
 */
#include <string.h>

#include "text_int.h"
#include "url_int.h"

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Fills the host and port of the authority [a, b). */
static void split_authority(const char *url, size_t a, size_t b, struct rp__url *out)
{
    for (size_t k = a; k < b; k++) {
        if (url[k] == '@') {
            a = k + 1;
        }
    }
    size_t host_end = b;
    if (a < b && url[a] == '[') {
        const char *close = memchr(url + a, ']', b - a);
        host_end = close ? (size_t)(close - url) : b;
        out->host_off = a + 1;
        out->host_len = host_end > a ? host_end - a - 1 : 0;
        host_end = close ? host_end + 1 : b;
    } else {
        const char *colon = memchr(url + a, ':', b - a);
        host_end = colon ? (size_t)(colon - url) : b;
        out->host_off = a;
        out->host_len = host_end - a;
    }
    if (host_end < b && url[host_end] == ':') {
        out->port_off = host_end + 1;
        out->port_len = b - host_end - 1;
    } else {
        out->port_off = b;
    }
}

void rp__url_split(const char *url, size_t n, struct rp__url *out)
{
    memset(out, 0, sizeof(*out));
    size_t i = 0;
    size_t auth = SIZE_MAX;
    if (n > 0 && is_alpha((unsigned char)url[0])) {
        size_t k = 1;
        while (k < n && (is_alpha((unsigned char)url[k]) || (url[k] >= '0' && url[k] <= '9') ||
                         url[k] == '+' || url[k] == '.' || url[k] == '-')) {
            k++;
        }
        if (n - k >= 3 && memcmp(url + k, "://", 3) == 0) {
            out->scheme_len = k;
            auth = k + 3;
        }
    } else if (n >= 2 && url[0] == '/' && url[1] == '/') {
        auth = 2;
    }
    if (auth != SIZE_MAX) {
        i = auth;
        while (i < n && url[i] != '/' && url[i] != '?' && url[i] != '#') {
            i++;
        }
        out->has_authority = true;
        split_authority(url, auth, i, out);
    }
    out->path_off = i;
    while (i < n && url[i] != '?' && url[i] != '#') {
        i++;
    }
    out->path_len = i - out->path_off;
    out->has_query = i < n && url[i] == '?';
    if (out->has_query) {
        i++;
    }
    out->query_off = i;
    while (out->has_query && i < n && url[i] != '#') {
        i++;
    }
    out->query_len = out->has_query ? i - out->query_off : 0;
    out->has_fragment = i < n && url[i] == '#';
    out->fragment_off = out->has_fragment ? i + 1 : n;
    out->fragment_len = n - out->fragment_off;
}

bool rp__url_next_segment(const char *path, size_t n, size_t *pos, size_t *off, size_t *len)
{
    size_t i = *pos;
    if (i > n || n == 0) {
        return false;
    }
    if (i == 0 && path[0] == '/') {
        i = 1;
    }
    size_t j = i;
    while (j < n && path[j] != '/') {
        j++;
    }
    *off = i;
    *len = j - i;
    *pos = j + 1;
    return true;
}

bool rp__url_next_param(const char *s, size_t n, size_t *pos, struct rp__pair *out)
{
    while (*pos < n) {
        size_t start = *pos;
        size_t end = start;
        while (end < n && s[end] != '&') {
            end++;
        }
        *pos = end + 1;
        if (end == start) {
            continue;
        }
        size_t eqs = start;
        while (eqs < end && s[eqs] != '=') {
            eqs++;
        }
        out->name_off = start;
        out->name_len = eqs - start;
        out->value_off = eqs < end ? eqs + 1 : end;
        out->value_len = end - out->value_off;
        return true;
    }
    return false;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

bool rp__cookie_next(const char *s, size_t n, size_t *pos, struct rp__pair *out)
{
    while (*pos < n) {
        size_t start = *pos;
        size_t end = start;
        while (end < n && s[end] != ';') {
            end++;
        }
        *pos = end + 1;
        while (start < end && is_space(s[start])) {
            start++;
        }
        size_t stop = end;
        while (stop > start && is_space(s[stop - 1])) {
            stop--;
        }
        if (stop == start) {
            continue;
        }
        size_t eqs = start;
        while (eqs < stop && s[eqs] != '=') {
            eqs++;
        }
        size_t name_end = eqs;
        while (name_end > start && is_space(s[name_end - 1])) {
            name_end--;
        }
        size_t v = eqs < stop ? eqs + 1 : stop;
        while (v < stop && is_space(s[v])) {
            v++;
        }
        out->name_off = start;
        out->name_len = name_end - start;
        out->value_off = v;
        out->value_len = stop - v;
        return true;
    }
    return false;
}

bool rp__pct_decode(const char *s, size_t n, bool plus, char *out, size_t outsz, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int byte = c == '%' && n - i > 2 ? rp__hex_byte(s + i + 1) : -1;
        if (byte >= 0) {
            c = (unsigned char)byte;
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == 0 || o + 1 >= outsz) {
            return false;
        }
        out[o++] = (char)c;
    }
    if (outsz == 0) {
        return false;
    }
    out[o] = '\0';
    *out_len = o;
    return true;
}

rp_code rp__pct_encode(const char *s, size_t n, enum rp__pct_mode mode, struct rp_buf *out,
                       struct rp_error *err)
{
    const char *keep = mode == RP__PCT_PATH    ? "-._~!$&'()*+,;=:@"
                       : mode == RP__PCT_QUERY ? "-._~!$'()*,;:@/?"
                                               : "-._~";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        rp_code rc;
        if (alnum || (c != 0 && strchr(keep, c))) {
            rc = rp_buf_addc(out, (char)c, err);
        } else if (c == ' ' && mode == RP__PCT_FORM) {
            rc = rp_buf_addc(out, '+', err);
        } else {
            char e[3] = {'%', rp__hex_upper[c >> 4], rp__hex_upper[c & 15]};
            rc = rp_buf_add(out, e, 3, err);
        }
        if (rc) {
            return rc;
        }
    }
    return RP_OK;
}
