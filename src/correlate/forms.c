/* SPDX-License-Identifier: MIT */
/*
 * The small readers correlation needs for values outside JSON and urlencoded text: same-origin
 * URLs and their path templates, Link header values, multipart/form-data bodies and GraphQL
 * query strings. Each works on pointer plus length, allocates nothing, and only moves forward.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../jscan_int.h"
#include "internal.h"

/* ----- URLs --------------------------------------------------------------------------------- */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The length of an http:// or https:// prefix at v, or 0. */
static size_t http_prefix(const char *v, size_t n)
{
    if (n >= 7 && rp_strieq(v, 7, "http://")) {
        return 7;
    }
    if (n >= 8 && rp_strieq(v, 8, "https://")) {
        return 8;
    }
    return 0;
}

/* The end of the authority that starts at v[i]. */
static size_t authority_end(const char *v, size_t n, size_t i)
{
    while (i < n && v[i] != '/' && v[i] != '?' && v[i] != '#') {
        i++;
    }
    return i;
}

bool rp__correlate_url_path(const char *url, size_t n, size_t *out_off, size_t *out_len)
{
    size_t at = 0;
    if (n >= 1 && url[0] == '/' && !(n >= 2 && url[1] == '/')) {
        at = 0;
    } else {
        size_t p = http_prefix(url, n);
        if (p == 0) {
            return false;
        }
        at = authority_end(url, n, p);
    }
    size_t e = at;
    while (e < n && url[e] != '?' && url[e] != '#') {
        e++;
    }
    *out_off = at;
    *out_len = e - at;
    return true;
}

bool rp__correlate_same_origin(const char *v, size_t n, const char *host, size_t host_len,
                               size_t *out_off)
{
    if (n >= 1 && v[0] == '/' && !(n >= 2 && v[1] == '/')) {
        *out_off = 0;
        return true;
    }
    size_t p = http_prefix(v, n);
    if (p == 0 || host_len == 0) {
        return false;
    }
    size_t e = authority_end(v, n, p);
    if (e - p != host_len) {
        return false;
    }
    for (size_t k = 0; k < host_len; k++) {
        if (rp__ascii_lower(v[p + k]) != rp__ascii_lower(host[k])) {
            return false;
        }
    }
    *out_off = e;
    return true;
}

bool rp__correlate_url_template(const char *path, size_t n, size_t idx, char *out, size_t outsz)
{
    size_t pos = 0;
    size_t off = 0;
    size_t len = 0;
    size_t o = 0;
    size_t done = 0;
    bool found = false;
    for (size_t k = 0; rp__url_next_segment(path, n, &pos, &off, &len); k++) {
        if (k == idx) {
            found = true;
            break;
        }
    }
    if (!found || n - len + 1 >= outsz) {
        return false;
    }
    memcpy(out + o, path + done, off);
    o += off;
    out[o++] = '*';
    memcpy(out + o, path + off + len, n - off - len);
    o += n - off - len;
    out[o] = '\0';
    return true;
}

bool rp__correlate_url_fits(const char *path, size_t n, const char *tmpl, size_t idx)
{
    size_t tn = strlen(tmpl);
    size_t pa = 0;
    size_t pb = 0;
    size_t oa = 0;
    size_t la = 0;
    size_t ob = 0;
    size_t lb = 0;
    for (size_t k = 0;; k++) {
        bool a = rp__url_next_segment(path, n, &pa, &oa, &la);
        bool b = rp__url_next_segment(tmpl, tn, &pb, &ob, &lb);
        if (a != b) {
            return false;
        }
        if (!a) {
            /* Both ended: a trailing slash must agree too. */
            return (n > 0 && path[n - 1] == '/') == (tn > 0 && tmpl[tn - 1] == '/');
        }
        if (k == idx) {
            if (lb != 1 || tmpl[ob] != '*' || la == 0) {
                return false;
            }
        } else if (la != lb || memcmp(path + oa, tmpl + ob, la) != 0) {
            return false;
        }
    }
}

/* ----- Link headers ------------------------------------------------------------------------- */

bool rp__correlate_link_next(const char *v, size_t n, size_t *pos, struct rp__link *out)
{
    size_t i = *pos;
    while (i < n && v[i] != '<') {
        i++;
    }
    if (i >= n) {
        *pos = n;
        return false;
    }
    size_t u = i + 1;
    const char *gt = memchr(v + u, '>', n - u);
    if (!gt) {
        *pos = n;
        return false;
    }
    out->uri_off = u;
    out->uri_len = (size_t)(gt - v) - u;
    out->rel_off = 0;
    out->rel_len = 0;
    i = (size_t)(gt - v) + 1;
    /* Parameters up to the ',' that ends the link, stepping over quoted strings. */
    while (i < n && v[i] != ',') {
        if (v[i] != ';') {
            i++;
            continue;
        }
        i++;
        while (i < n && is_ws(v[i])) {
            i++;
        }
        size_t pn = i;
        while (i < n && v[i] != '=' && v[i] != ';' && v[i] != ',' && !is_ws(v[i])) {
            i++;
        }
        bool rel = rp_strieq(v + pn, i - pn, "rel");
        while (i < n && is_ws(v[i])) {
            i++;
        }
        if (i >= n || v[i] != '=') {
            continue;
        }
        i++;
        while (i < n && is_ws(v[i])) {
            i++;
        }
        size_t vo = i;
        size_t vl = 0;
        if (i < n && v[i] == '"') {
            const char *q = memchr(v + i + 1, '"', n - i - 1);
            size_t e = q ? (size_t)(q - v) : n;
            vo = i + 1;
            vl = e - vo;
            i = e < n ? e + 1 : n;
        } else {
            while (i < n && v[i] != ';' && v[i] != ',' && !is_ws(v[i])) {
                i++;
            }
            vl = i - vo;
        }
        if (rel && out->rel_len == 0) {
            out->rel_off = vo;
            out->rel_len = vl;
        }
    }
    *pos = i < n ? i + 1 : n;
    return true;
}

/* ----- multipart/form-data ------------------------------------------------------------------ */

/* The value of parameter name in the n bytes of header parameters at p (after the first ';'),
 * quotes taken off (no unescaping: field names with quotes in them are not matched). */
static bool header_param(const char *p, size_t n, const char *name, size_t *out_off,
                         size_t *out_len)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (is_ws(p[i]) || p[i] == ';')) {
            i++;
        }
        size_t pn = i;
        while (i < n && p[i] != '=' && p[i] != ';' && !is_ws(p[i])) {
            i++;
        }
        size_t pl = i - pn;
        while (i < n && is_ws(p[i])) {
            i++;
        }
        if (i >= n || p[i] != '=') {
            continue;
        }
        i++;
        while (i < n && is_ws(p[i])) {
            i++;
        }
        size_t vo = i;
        size_t vl = 0;
        if (i < n && p[i] == '"') {
            vo = i + 1;
            size_t e = vo;
            while (e < n && p[e] != '"') {
                e += p[e] == '\\' && e + 1 < n ? 2 : 1;
            }
            if (e > n) {
                e = n;
            }
            vl = e - vo;
            i = e < n ? e + 1 : n;
        } else {
            while (i < n && p[i] != ';' && !is_ws(p[i])) {
                i++;
            }
            vl = i - vo;
        }
        if (rp_strieq(p + pn, pl, name)) {
            *out_off = vo;
            *out_len = vl;
            return true;
        }
    }
    return false;
}

bool rp__correlate_multipart_boundary(const struct rp_headers *hs, char *out, size_t outsz,
                                      size_t *out_len)
{
    char media[64];
    if (!rp_media_type(hs, media, sizeof(media)) || strcmp(media, "multipart/form-data") != 0) {
        return false;
    }
    const struct rp_header *h = rp_headers_get(hs, "Content-Type", NULL);
    const char *semi = h ? memchr(h->value, ';', h->value_len) : NULL;
    if (!semi) {
        return false;
    }
    size_t at = (size_t)(semi - h->value);
    size_t off = 0;
    size_t len = 0;
    if (!header_param(semi, h->value_len - at, "boundary", &off, &len) || len == 0 || len > 70 ||
        len >= outsz) {
        return false;
    }
    memcpy(out, semi + off, len);
    out[len] = '\0';
    *out_len = len;
    return true;
}

/* The first "--" boundary at or after from that starts the body or a line; n when none. */
static size_t find_delim(const char *b, size_t n, size_t from, const char *bnd, size_t blen)
{
    for (size_t i = from; i + 2 + blen <= n; i++) {
        const char *p = memchr(b + i, '-', n - i);
        if (!p) {
            return n;
        }
        i = (size_t)(p - b);
        if (i + 2 + blen > n) {
            return n;
        }
        if (b[i + 1] == '-' && memcmp(b + i + 2, bnd, blen) == 0 && (i == 0 || b[i - 1] == '\n')) {
            return i;
        }
    }
    return n;
}

bool rp__correlate_multipart_next(const char *b, size_t n, const char *bnd, size_t blen,
                                  size_t *pos, struct rp__part *out)
{
    size_t d = find_delim(b, n, *pos, bnd, blen);
    if (d >= n) {
        *pos = n;
        return false;
    }
    size_t i = d + 2 + blen;
    if (n - i >= 2 && b[i] == '-' && b[i + 1] == '-') {
        *pos = n; /* the close delimiter */
        return false;
    }
    /* Transport padding, then the line break. */
    while (i < n && (b[i] == ' ' || b[i] == '\t')) {
        i++;
    }
    if (i < n && b[i] == '\r') {
        i++;
    }
    if (i >= n || b[i] != '\n') {
        *pos = n;
        return false;
    }
    i++;
    out->name_off = 0;
    out->name_len = 0;
    out->file = false;
    bool named = false;
    /* The part's headers, up to an empty line. */
    for (;;) {
        const char *nl = memchr(b + i, '\n', n - i);
        if (!nl) {
            *pos = n;
            return false;
        }
        size_t e = (size_t)(nl - b);
        size_t le = e > i && b[e - 1] == '\r' ? e - 1 : e;
        if (le == i) {
            i = e + 1;
            break;
        }
        const char *colon = memchr(b + i, ':', le - i);
        if (colon && rp_strieq(b + i, (size_t)(colon - b) - i, "Content-Disposition")) {
            const char *v = colon + 1;
            size_t vl = (size_t)(b + le - v);
            const char *semi = memchr(v, ';', vl);
            size_t off = 0;
            size_t len = 0;
            if (semi) {
                size_t so = (size_t)(semi - b);
                if (header_param(semi, le - so, "name", &off, &len)) {
                    out->name_off = so + off;
                    out->name_len = len;
                    named = true;
                }
                out->file = header_param(semi, le - so, "filename", &off, &len) ||
                            header_param(semi, le - so, "filename*", &off, &len);
            }
        }
        i = e + 1;
    }
    size_t next = find_delim(b, n, i, bnd, blen);
    if (next >= n) {
        *pos = n;
        return false;
    }
    /* The line break before the delimiter belongs to it. */
    size_t ve = next;
    if (ve > i && b[ve - 1] == '\n') {
        ve--;
        if (ve > i && b[ve - 1] == '\r') {
            ve--;
        }
    }
    out->value_off = i;
    out->value_len = ve - i;
    *pos = next;
    if (!named) {
        out->file = true; /* a part with no name is no form field */
    }
    return true;
}

/* ----- GraphQL ------------------------------------------------------------------------------ */

static bool name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* Skips white space, commas and comments from i. */
static size_t gql_skip(const char *q, size_t n, size_t i)
{
    while (i < n) {
        char c = q[i];
        if (is_ws(c) || c == ',' || (unsigned char)c == 0xEF) {
            i++;
        } else if (c == '#') {
            while (i < n && q[i] != '\n' && q[i] != '\r') {
                i++;
            }
        } else {
            break;
        }
    }
    return i;
}

/* The end of the string at q[i] ('"'), or 0 when it is not closed; *escapes tells whether it
 * holds a backslash. */
static size_t gql_string_end(const char *q, size_t n, size_t i, bool *escapes, bool *block)
{
    *escapes = false;
    *block = n - i >= 3 && memcmp(q + i, "\"\"\"", 3) == 0;
    if (*block) {
        for (size_t k = i + 3; k + 3 <= n; k++) {
            if (q[k] == '\\' && k + 4 <= n && memcmp(q + k + 1, "\"\"\"", 3) == 0) {
                k += 3;
            } else if (memcmp(q + k, "\"\"\"", 3) == 0) {
                return k + 3;
            }
        }
        return 0;
    }
    for (size_t k = i + 1; k < n; k++) {
        if (q[k] == '\\') {
            *escapes = true;
            k++;
        } else if (q[k] == '"') {
            return k + 1;
        } else if (q[k] == '\n' || q[k] == '\r') {
            return 0;
        }
    }
    return 0;
}

/* The end of the number at q[i], or i when there is none. */
static size_t gql_number_end(const char *q, size_t n, size_t i)
{
    size_t k = i;
    if (k < n && q[k] == '-') {
        k++;
    }
    size_t d = k;
    while (k < n && q[k] >= '0' && q[k] <= '9') {
        k++;
    }
    if (k == d) {
        return i;
    }
    if (k + 1 < n && q[k] == '.' && q[k + 1] >= '0' && q[k + 1] <= '9') {
        k++;
        while (k < n && q[k] >= '0' && q[k] <= '9') {
            k++;
        }
    }
    if (k < n && (q[k] == 'e' || q[k] == 'E')) {
        size_t e = k + 1;
        if (e < n && (q[e] == '+' || q[e] == '-')) {
            e++;
        }
        if (e < n && q[e] >= '0' && q[e] <= '9') {
            k = e;
            while (k < n && q[k] >= '0' && q[k] <= '9') {
                k++;
            }
        }
    }
    return k < n && name_char(q[k]) ? i : k;
}

void rp__correlate_graphql_scan(const char *q, size_t n, rp__gql_fn fn, void *ud)
{
    /* The field (or directive) whose arguments each open '(' holds. */
    struct {
        size_t off;
        size_t len;
    } stack[RP_MAX_JSON_DEPTH];
    size_t depth = 0;
    size_t last_off = 0;
    size_t last_len = 0;
    size_t arg_off = 0;
    size_t arg_len = 0;
    bool have_arg = false; /* a name followed by ':' inside arguments */
    bool variable = false; /* the name just read follows '$' */
    size_t i = 0;
    while (i < n) {
        i = gql_skip(q, n, i);
        if (i >= n) {
            return;
        }
        char c = q[i];
        bool value_pos = have_arg && depth > 0;
        if (name_start(c)) {
            size_t s = i;
            while (i < n && name_char(q[i])) {
                i++;
            }
            size_t j = gql_skip(q, n, i);
            if (!variable && !value_pos && depth > 0 && j < n && q[j] == ':') {
                arg_off = s;
                arg_len = i - s;
                have_arg = true;
                i = j + 1;
                continue;
            }
            if (!variable) {
                last_off = s;
                last_len = i - s;
            }
            variable = false;
            have_arg = false;
            continue;
        }
        variable = false;
        if (c == '"') {
            bool esc = false;
            bool block = false;
            size_t e = gql_string_end(q, n, i, &esc, &block);
            if (e == 0) {
                return;
            }
            if (value_pos && !esc && !block) {
                struct rp__gql_lit lit = {
                    q + arg_off, arg_len, q + stack[depth - 1].off, stack[depth - 1].len, i,
                    e,           true};
                if (!fn(ud, &lit)) {
                    return;
                }
            }
            have_arg = false;
            i = e;
            continue;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            size_t e = gql_number_end(q, n, i);
            if (e == i) {
                i++;
                have_arg = false;
                continue;
            }
            if (value_pos) {
                struct rp__gql_lit lit = {
                    q + arg_off, arg_len, q + stack[depth - 1].off, stack[depth - 1].len, i,
                    e,           false};
                if (!fn(ud, &lit)) {
                    return;
                }
            }
            have_arg = false;
            i = e;
            continue;
        }
        if (c == '(') {
            if (depth >= RP_MAX_JSON_DEPTH) {
                return;
            }
            stack[depth].off = last_off;
            stack[depth].len = last_len;
            depth++;
            have_arg = false;
        } else if (c == ')') {
            if (depth > 0) {
                depth--;
            }
            have_arg = false;
        } else if (c == '$') {
            variable = true;
            have_arg = false;
        } else if (c == '[') {
            /* A list keeps the argument its elements belong to. */
        } else if (c == '{' && value_pos) {
            have_arg = false; /* an input object: its fields name the literals inside */
        } else if (c != ']') {
            have_arg = false;
        }
        i++;
    }
}

bool rp__correlate_graphql_root(const char *q, size_t n, size_t *out_off, size_t *out_len)
{
    size_t i = 0;
    size_t paren = 0;
    while (i < n) {
        i = gql_skip(q, n, i);
        if (i >= n) {
            return false;
        }
        char c = q[i];
        if (c == '"') {
            bool esc = false;
            bool block = false;
            i = gql_string_end(q, n, i, &esc, &block);
            if (i == 0) {
                return false;
            }
            continue;
        }
        if (c == '(') {
            paren++;
        } else if (c == ')' && paren > 0) {
            paren--;
        } else if (c == '{' && paren == 0) {
            i = gql_skip(q, n, i + 1);
            size_t s = i;
            while (i < n && name_char(q[i])) {
                i++;
            }
            if (i == s) {
                return false;
            }
            /* An alias: the field's name follows the ':'. */
            size_t j = gql_skip(q, n, i);
            if (j < n && q[j] == ':') {
                j = gql_skip(q, n, j + 1);
                s = j;
                i = j;
                while (i < n && name_char(q[i])) {
                    i++;
                }
                if (i == s) {
                    return false;
                }
            }
            *out_off = s;
            *out_len = i - s;
            return true;
        }
        i++;
    }
    return false;
}

/* True when the object at text[i] has a "query" member holding a string. */
static bool query_object(const char *text, size_t n, size_t i)
{
    i = rp__jscan_ws(text, n, i);
    if (i >= n || text[i] != '{') {
        return false;
    }
    i = rp__jscan_ws(text, n, i + 1);
    for (size_t members = 0; i < n && text[i] == '"' && members < 64; members++) {
        size_t e = rp__jscan_string_end(text, n, i + 1);
        bool is_query = e - i - 1 == 5 && memcmp(text + i + 1, "query", 5) == 0;
        i = rp__jscan_ws(text, n, e + 1);
        if (i >= n || text[i] != ':') {
            return false;
        }
        i = rp__jscan_ws(text, n, i + 1);
        if (is_query) {
            return i < n && text[i] == '"';
        }
        if (!rp__jscan_next_member(text, n, &i, 1)) {
            return false;
        }
        i = rp__jscan_ws(text, n, i);
    }
    return false;
}

bool rp__correlate_is_graphql(const char *text, size_t n)
{
    size_t i = rp__jscan_ws(text, n, 0);
    if (i < n && text[i] == '[') {
        return query_object(text, n, i + 1);
    }
    return query_object(text, n, i);
}

/* True for the path of a GraphQL query string: "$.query" or "$[N].query". */
bool rp__correlate_graphql_query_path(const char *p)
{
    if (strcmp(p, "$.query") == 0) {
        return true;
    }
    if (strncmp(p, "$[", 2) != 0) {
        return false;
    }
    size_t i = 2;
    while (p[i] >= '0' && p[i] <= '9') {
        i++;
    }
    return i > 2 && strcmp(p + i, "].query") == 0;
}

/* The GraphQL query string whose literal starts at text[start], decoded: new memory, or NULL. */
char *rp__correlate_graphql_decode(const char *text, size_t n, size_t start, size_t *out_len)
{
    size_t end = rp__jscan_string_end(text, n, start + 1);
    if (end >= n) {
        return NULL;
    }
    size_t cap = end - start + 1;
    char *q = rp_xmalloc(cap);
    size_t pi = start;
    size_t len = 0;
    bool fits = false;
    if (!rp__jscan_string(text, n, &pi, q, cap, &len, &fits) || !fits) {
        free(q);
        return NULL;
    }
    *out_len = len;
    return q;
}

bool rp__correlate_multipart_field(const char *body, size_t n, const char *bnd, size_t blen,
                                   struct rp__fields *it, struct rp__part *out,
                                   char name[RP_CORRELATE_MAX_KEY + 1])
{
    while (it->parts < RP_CORRELATE_MAX_TARGETS &&
           rp__correlate_multipart_next(body, n, bnd, blen, &it->pos, out)) {
        it->parts++;
        if (out->file || out->name_len == 0 || out->name_len > RP_CORRELATE_MAX_KEY ||
            memchr(body + out->name_off, '\0', out->name_len) ||
            memchr(body + out->value_off, '\0', out->value_len)) {
            continue;
        }
        memcpy(name, body + out->name_off, out->name_len);
        name[out->name_len] = '\0';
        return true;
    }
    return false;
}

/* True for a GraphQL name ([_A-Za-z][_0-9A-Za-z]*) of 1 to RP_GRAPHQL_NAME_MAX bytes. */
static bool gql_name(const char *s, size_t n)
{
    if (n == 0 || n > RP_GRAPHQL_NAME_MAX || (s[0] >= '0' && s[0] <= '9')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!name_char(s[i])) {
            return false;
        }
    }
    return true;
}

char *rp_graphql_operation(const struct rp_request *rq)
{
    const char *text = (const char *)rq->body.data;
    size_t n = rq->body.len;
    if (!text || !rp__correlate_is_graphql(text, n)) {
        return NULL;
    }
    size_t i = rp__jscan_ws(text, n, 0);
    const char *pre = i < n && text[i] == '[' ? "$[0]." : "$.";
    char path[32];
    enum rp__json_type type;
    size_t start = 0;
    size_t end = 0;
    snprintf(path, sizeof(path), "%soperationName", pre);
    if (rp__correlate_json_find(text, n, path, &type, &start, &end) && type == RP__JSON_STRING) {
        size_t on = 0;
        char *op = rp__correlate_graphql_decode(text, n, start, &on);
        if (op && gql_name(op, on)) {
            return op;
        }
        free(op);
    }
    snprintf(path, sizeof(path), "%squery", pre);
    if (!rp__correlate_json_find(text, n, path, &type, &start, &end) || type != RP__JSON_STRING) {
        return NULL;
    }
    size_t qn = 0;
    char *q = rp__correlate_graphql_decode(text, n, start, &qn);
    size_t off = 0;
    size_t len = 0;
    char *name = NULL;
    if (q && rp__correlate_graphql_root(q, qn, &off, &len) && gql_name(q + off, len)) {
        name = rp_xstrndup(q + off, len);
    }
    free(q);
    return name;
}
