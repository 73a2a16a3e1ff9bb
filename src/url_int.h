/* SPDX-License-Identifier: MIT */
/*
 * Private URL helpers shared inside the library: splitting a URL into its parts, stepping
 * through path segments, query and form pairs and Cookie header pairs, and percent-coding.
 * Everything works on pointer plus length, returns offsets into the caller's text and never
 * allocates.
 */
#ifndef REPRISE_URL_INT_H
#define REPRISE_URL_INT_H

#include <reprise/buf.h>

/*
 * Where a URL's parts are, as offsets into it; a part that is absent has length 0. The scheme
 * runs [0, scheme_len) ("https"); when has_authority, the origin ("https://h:1") is
 * [0, path_off), the host [host_off, host_off + host_len) without the brackets of an IPv6
 * literal or any "user@", and the port's digits [port_off, port_off + port_len). The path runs
 * [path_off, path_off + path_len), the query (without its '?') [query_off, query_off +
 * query_len) when has_query, and the fragment (without its '#') [fragment_off, fragment_off +
 * fragment_len) when has_fragment.
 */
struct rp__url {
    size_t scheme_len;
    size_t host_off;
    size_t host_len;
    size_t port_off;
    size_t port_len;
    size_t path_off;
    size_t path_len;
    size_t query_off;
    size_t query_len;
    size_t fragment_off;
    size_t fragment_len;
    bool has_authority;
    bool has_query;
    bool has_fragment;
};

/* Splits an absolute URL ("https://h:1/p?q#f"), a network-path one ("//h/p") or a path
 * ("/p?q"). Never fails: text that is none of those is all path. */
void rp__url_split(const char *url, size_t n, struct rp__url *out);

/*
 * Steps through the segments of a path ("/t/acme/x": "t", "acme", "x"; a trailing '/' gives a
 * last empty segment). *pos starts at 0; each call that returns true sets [*off, *off + *len)
 * to the next segment, relative to path.
 */
bool rp__url_next_segment(const char *path, size_t n, size_t *pos, size_t *off, size_t *len);

/* One "name=value" item of a query string, a form body or a Cookie header, as offsets. */
struct rp__pair {
    size_t name_off;
    size_t name_len;
    size_t value_off;
    size_t value_len;
};

/* Steps through the '&'-separated pairs of a query string or a form body, empty ones skipped;
 * *pos starts at 0. A pair with no '=' has an empty value. */
bool rp__url_next_param(const char *s, size_t n, size_t *pos, struct rp__pair *out);

/* Steps through the ';'-separated pairs of a Cookie header, or the attributes of a Set-Cookie
 * one, with the spaces around names and values trimmed; *pos starts at 0. */
bool rp__cookie_next(const char *s, size_t n, size_t *pos, struct rp__pair *out);

/*
 * Percent-decodes n bytes at s into out (outsz bytes, NUL-terminated), '+' as a space when
 * plus. A '%' not followed by two hex digits stays as it is. False when the result does not
 * fit or holds a NUL.
 */
bool rp__pct_decode(const char *s, size_t n, bool plus, char *out, size_t outsz, size_t *out_len);

enum rp__pct_mode {
    RP__PCT_PATH,       /* a path segment: keeps pchar ("!$&'()*+,;=:@" and unreserved) */
    RP__PCT_QUERY,      /* a query value: keeps unreserved and "!$'()*,;:@/?" */
    RP__PCT_FORM,       /* a form value: keeps unreserved, a space becomes '+' */
    RP__PCT_UNRESERVED, /* keeps only RFC 3986's unreserved characters */
};

/* Appends the percent-encoding (upper-case hex) of n bytes at s to out. */
rp_code rp__pct_encode(const char *s, size_t n, enum rp__pct_mode mode, struct rp_buf *out,
                       struct rp_error *err);

#endif /* REPRISE_URL_INT_H */
