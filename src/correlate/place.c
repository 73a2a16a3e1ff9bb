/* SPDX-License-Identifier: MIT */
/*
 * Places in a response where a value can come from: printing them as people read them, reading
 * the value at one from a live response, and parsing the places a user names in a bind
 * ("$.data.token", "header:X-Token", "cookie:sid", "header:Location#3", "html:input[name=csrf]",
 * "regex:token=([a-z0-9]+)").
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ----- printing ----------------------------------------------------------------------------- */

/* The decimal number in n bytes at s, at most max. */
static bool parse_size(const char *s, size_t n, size_t max, size_t *out)
{
    size_t v = 0;
    if (n == 0 || n > 9) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (size_t)(s[i] - '0');
    }
    if (v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* The parts of an RP_LOC_HTML_URL key: "TAG ATTR N TEMPLATE". */
struct url_key {
    char tag[16];
    char attr[64];
    size_t nth;
    const char *tmpl;
};

static bool url_key_parse(const char *key, struct url_key *k)
{
    const char *sp1 = strchr(key, ' ');
    const char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    const char *sp3 = sp2 ? strchr(sp2 + 1, ' ') : NULL;
    if (!sp3 || (size_t)(sp1 - key) >= sizeof(k->tag) ||
        (size_t)(sp2 - sp1 - 1) >= sizeof(k->attr)) {
        return false;
    }
    memcpy(k->tag, key, (size_t)(sp1 - key));
    k->tag[sp1 - key] = '\0';
    memcpy(k->attr, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    k->attr[sp2 - sp1 - 1] = '\0';
    if (!parse_size(sp2 + 1, (size_t)(sp3 - sp2 - 1), RP_CORRELATE_MAX_PER_RESPONSE, &k->nth)) {
        return false;
    }
    k->tmpl = sp3 + 1;
    return true;
}

void rp_location_format(const struct rp_location *loc, char *out, size_t outsz)
{
    if (!out || outsz == 0) {
        return;
    }
    const char *key = loc->key ? loc->key : "";
    int k;
    switch (loc->kind) {
    case RP_LOC_BODY_JSON:
        k = snprintf(out, outsz, "body %s", key);
        break;
    case RP_LOC_HEADER:
        k = snprintf(out, outsz, "header %s", key);
        break;
    case RP_LOC_HEADER_SEGMENT:
        k = snprintf(out, outsz, "header %s segment %zu", key, loc->index);
        break;
    case RP_LOC_COOKIE:
        k = snprintf(out, outsz, "cookie %s", key);
        break;
    case RP_LOC_HTML_META:
        k = snprintf(out, outsz, "html meta %s", key);
        break;
    case RP_LOC_HTML_INPUT:
        k = snprintf(out, outsz, "html input %s", key);
        break;
    case RP_LOC_PATH_SEGMENT:
        k = snprintf(out, outsz, "path segment %zu", loc->index);
        break;
    case RP_LOC_QUERY:
        k = snprintf(out, outsz, "query %s", key);
        break;
    case RP_LOC_FORM:
        k = snprintf(out, outsz, "form %s", key);
        break;
    case RP_LOC_HTML_URL: {
        struct url_key u;
        const char *qm = url_key_parse(key, &u) ? strchr(u.tmpl, '?') : NULL;
        if (qm) {
            int pl = (int)(qm - u.tmpl);
            k = u.nth > 0 ? snprintf(out, outsz, "html %s %s query %s of %.*s (link %zu)", u.tag,
                                     u.attr, qm + 1, pl, u.tmpl, u.nth + 1)
                          : snprintf(out, outsz, "html %s %s query %s of %.*s", u.tag, u.attr,
                                     qm + 1, pl, u.tmpl);
        } else if (!url_key_parse(key, &u)) {
            k = snprintf(out, outsz, "html %s segment %zu", key, loc->index);
        } else if (u.nth > 0) {
            k = snprintf(out, outsz, "html %s %s segment %zu of %s (link %zu)", u.tag, u.attr,
                         loc->index, u.tmpl, u.nth + 1);
        } else {
            k = snprintf(out, outsz, "html %s %s segment %zu of %s", u.tag, u.attr, loc->index,
                         u.tmpl);
        }
        break;
    }
    case RP_LOC_HTML_SELECT:
        k = snprintf(out, outsz, "html select %s", key);
        break;
    case RP_LOC_BODY_JSON_SEGMENT: {
        const char *qm = strchr(key, '?');
        k = qm ? snprintf(out, outsz, "body %.*s query %s", (int)(qm - key), key, qm + 1)
               : snprintf(out, outsz, "body %s segment %zu", key, loc->index);
        break;
    }
    case RP_LOC_LINK_SEGMENT: {
        const char *qm = strchr(key, '?');
        int rl = qm ? (int)(qm - key) : (int)strlen(key);
        if (qm) {
            k = rl ? snprintf(out, outsz, "header Link rel=%.*s query %s", rl, key, qm + 1)
                   : snprintf(out, outsz, "header Link query %s", qm + 1);
        } else {
            k = rl ? snprintf(out, outsz, "header Link rel=%s segment %zu", key, loc->index)
                   : snprintf(out, outsz, "header Link segment %zu", loc->index);
        }
        break;
    }
    case RP_LOC_MULTIPART:
        k = snprintf(out, outsz, "multipart %s", key);
        break;
    case RP_LOC_GRAPHQL_LITERAL: {
        const char *sp = strrchr(key, ' ');
        const char *arg = sp ? sp + 1 : key;
        int plen = sp ? (int)(sp - key) : 0;
        bool plain = plen == 7 && memcmp(key, "$.query", 7) == 0;
        if (loc->index > 0) {
            k = plain ? snprintf(out, outsz, "graphql query literal %s #%zu", arg, loc->index + 1)
                      : snprintf(out, outsz, "graphql query %.*s literal %s #%zu", plen, key, arg,
                                 loc->index + 1);
        } else {
            k = plain ? snprintf(out, outsz, "graphql query literal %s", arg)
                      : snprintf(out, outsz, "graphql query %.*s literal %s", plen, key, arg);
        }
        break;
    }
    case RP_LOC_BODY_REGEX:
        k = snprintf(out, outsz, "body regex %s", key);
        break;
    default:
        k = snprintf(out, outsz, "unknown");
        break;
    }
    /* Cutting to outsz is the contract; only a formatting failure leaves something to fix. */
    if (k < 0) {
        out[0] = '\0';
    }
}

/* ----- reading a live response -------------------------------------------------------------- */

static bool copy_out(const char *v, size_t n, char *out, size_t *out_len)
{
    if (n > RP_CORRELATE_MAX_VALUE || memchr(v, '\0', n)) {
        return false;
    }
    memcpy(out, v, n);
    out[n] = '\0';
    *out_len = n;
    return true;
}

/* Segment idx of the path in n bytes at path, decoded. */
static bool path_segment(const char *path, size_t n, size_t idx, char *out, size_t *out_len)
{
    size_t pos = 0;
    size_t off = 0;
    size_t len = 0;
    for (size_t k = 0; rp__url_next_segment(path, n, &pos, &off, &len); k++) {
        if (k == idx) {
            return rp__pct_decode(path + off, len, false, out, RP__CORR_VALUE_BUF, out_len);
        }
    }
    return false;
}

/* Segment idx of the URL in n bytes at url, decoded. */
static bool url_segment(const char *url, size_t n, size_t idx, char *out, size_t *out_len)
{
    struct rp__url u;
    rp__url_split(url, n, &u);
    return path_segment(url + u.path_off, u.path_len, idx, out, out_len);
}

/* The value of query parameter name (NUL-terminated) of the URL in n bytes at url, decoded. */
static bool url_query(const char *url, size_t n, const char *name, char *out, size_t *out_len)
{
    struct rp__url u;
    rp__url_split(url, n, &u);
    if (!u.has_query) {
        return false;
    }
    const char *q = url + u.query_off;
    size_t pos = 0;
    struct rp__pair p;
    char nbuf[RP_CORRELATE_MAX_KEY + 1];
    while (rp__url_next_param(q, u.query_len, &pos, &p)) {
        size_t nl = 0;
        if (rp__pct_decode(q + p.name_off, p.name_len, true, nbuf, sizeof(nbuf), &nl) &&
            strcmp(nbuf, name) == 0) {
            return rp__pct_decode(q + p.value_off, p.value_len, true, out, RP__CORR_VALUE_BUF,
                                  out_len);
        }
    }
    return false;
}

/* Segment idx of a URL's path, or with name (not NULL) the value of that query parameter. */
static bool url_part(const char *url, size_t n, size_t idx, const char *name, char *out,
                     size_t *out_len)
{
    size_t off = 0;
    size_t len = 0;
    if (!rp__correlate_url_path(url, n, &off, &len)) {
        return false;
    }
    return name ? url_query(url + off, n - off, name, out, out_len)
                : path_segment(url + off, len, idx, out, out_len);
}

struct html_find {
    const struct rp_location *loc;
    struct url_key u;
    size_t seen; /* URLs that fit the template so far */
    char *out;
    size_t *out_len;
    bool found;
};

static bool html_found(void *ud, const struct rp__html_item *it)
{
    struct html_find *f = ud;
    const char *key = f->loc->key ? f->loc->key : "";
    if (it->kind != f->loc->kind) {
        return true;
    }
    if (it->kind != RP_LOC_HTML_URL) {
        if (strlen(key) != it->name_len || memcmp(key, it->name, it->name_len) != 0) {
            return true;
        }
        memcpy(f->out, it->value, it->value_len + 1);
        *f->out_len = it->value_len;
        f->found = true;
        return false;
    }
    size_t off = 0;
    size_t len = 0;
    const char *qm = strchr(f->u.tmpl, '?');
    if (strcmp(it->tag, f->u.tag) != 0 || strcmp(it->attr, f->u.attr) != 0 ||
        !rp__correlate_url_path(it->value, it->value_len, &off, &len)) {
        return true;
    }
    if (qm ? (len != (size_t)(qm - f->u.tmpl) || memcmp(it->value + off, f->u.tmpl, len) != 0)
           : !rp__correlate_url_fits(it->value + off, len, f->u.tmpl, f->loc->index)) {
        return true;
    }
    /* Past the recorded place in a shorter live list, the last URL that fits is taken: a list
     * holds the newest object first or last, and a fresh tenant's list is shorter. */
    if (url_part(it->value, it->value_len, f->loc->index, qm ? qm + 1 : NULL, f->out, f->out_len)) {
        f->found = true;
    }
    return f->seen++ < f->u.nth;
}

/* The capture of the regular expression key on the body (its first RP_CORRELATE_MAX_SCAN bytes,
 * up to a NUL). */
static bool regex_find(const struct rp_body *b, const char *key, char *out, size_t *out_len)
{
    regex_t re;
    if (!b->data || regcomp(&re, key, REG_EXTENDED) != 0) {
        return false;
    }
    size_t n = b->len < RP_CORRELATE_MAX_SCAN ? b->len : RP_CORRELATE_MAX_SCAN;
    char *text = rp_xmalloc(n + 1);
    memcpy(text, b->data, n);
    text[n] = '\0';
    regmatch_t m[2];
    bool ok = re.re_nsub >= 1 && regexec(&re, text, 2, m, 0) == 0 && m[1].rm_so >= 0 &&
              copy_out(text + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so), out, out_len);
    free(text);
    regfree(&re);
    return ok;
}

bool rp__correlate_extract(const struct rp_response *r, const struct rp_location *loc, char *out,
                           size_t *out_len)
{
    const char *key = loc->key ? loc->key : "";
    const char *body = (const char *)r->body.data;
    switch (loc->kind) {
    case RP_LOC_BODY_JSON:
    case RP_LOC_BODY_JSON_SEGMENT: {
        enum rp__json_type type;
        size_t start = 0;
        size_t end = 0;
        char path[RP_CORRELATE_MAX_PATH];
        const char *qm = loc->kind == RP_LOC_BODY_JSON_SEGMENT ? strchr(key, '?') : NULL;
        size_t pl = qm ? (size_t)(qm - key) : strlen(key);
        if (pl >= sizeof(path)) {
            return false;
        }
        memcpy(path, key, pl);
        path[pl] = '\0';
        if (!body || !rp__correlate_json_find(body, r->body.len, path, &type, &start, &end) ||
            !rp__correlate_json_scalar(body, start, end, type, out, RP__CORR_VALUE_BUF, out_len)) {
            return false;
        }
        if (loc->kind == RP_LOC_BODY_JSON) {
            return true;
        }
        char url[RP__CORR_VALUE_BUF];
        memcpy(url, out, *out_len + 1);
        return url_part(url, *out_len, loc->index, qm ? qm + 1 : NULL, out, out_len);
    }
    case RP_LOC_HEADER: {
        const struct rp_header *h = rp_headers_get(&r->headers, key, NULL);
        return h && copy_out(h->value, h->value_len, out, out_len);
    }
    case RP_LOC_HEADER_SEGMENT: {
        const struct rp_header *h = rp_headers_get(&r->headers, key, NULL);
        return h && !memchr(h->value, '\0', h->value_len) &&
               url_segment(h->value, h->value_len, loc->index, out, out_len);
    }
    case RP_LOC_LINK_SEGMENT: {
        size_t at = 0;
        const struct rp_header *h;
        while ((h = rp_headers_get(&r->headers, "Link", &at)) != NULL) {
            size_t pos = 0;
            struct rp__link l;
            const char *qm = strchr(key, '?');
            char rel[RP_CORRELATE_MAX_KEY + 1];
            size_t rl = qm ? (size_t)(qm - key) : strlen(key);
            if (rl >= sizeof(rel)) {
                return false;
            }
            memcpy(rel, key, rl);
            rel[rl] = '\0';
            while (rp__correlate_link_next(h->value, h->value_len, &pos, &l)) {
                size_t off = 0;
                size_t len = 0;
                const char *uri = h->value + l.uri_off;
                if ((rl == 0 || rp_strieq(h->value + l.rel_off, l.rel_len, rel)) &&
                    rp__correlate_url_path(uri, l.uri_len, &off, &len)) {
                    return url_part(uri, l.uri_len, loc->index, qm ? qm + 1 : NULL, out, out_len);
                }
            }
        }
        return false;
    }
    case RP_LOC_COOKIE: {
        /* The last Set-Cookie of a name is the one the browser keeps. */
        bool found = false;
        size_t at = 0;
        const struct rp_header *h;
        while ((h = rp_headers_get(&r->headers, "Set-Cookie", &at)) != NULL) {
            size_t pos = 0;
            struct rp__pair p;
            if (rp__cookie_next(h->value, h->value_len, &pos, &p) && p.name_len == strlen(key) &&
                memcmp(h->value + p.name_off, key, p.name_len) == 0 &&
                copy_out(h->value + p.value_off, p.value_len, out, out_len)) {
                found = true;
            }
        }
        return found;
    }
    case RP_LOC_HTML_META:
    case RP_LOC_HTML_INPUT:
    case RP_LOC_HTML_SELECT:
    case RP_LOC_HTML_URL: {
        struct html_find f = {.loc = loc, .out = out, .out_len = out_len};
        if (loc->kind == RP_LOC_HTML_URL && !url_key_parse(key, &f.u)) {
            return false;
        }
        if (body) {
            size_t n = r->body.len < RP_CORRELATE_MAX_SCAN ? r->body.len : RP_CORRELATE_MAX_SCAN;
            rp__correlate_html_scan(body, n, html_found, &f);
        }
        return f.found;
    }
    case RP_LOC_BODY_REGEX:
        return regex_find(&r->body, key, out, out_len);
    default:
        return false;
    }
}

/* ----- places a user names ------------------------------------------------------------------ */

static bool fail(char *why, size_t whysz, const char *msg)
{
    snprintf(why, whysz, "%s", msg);
    return false;
}

/* "NAME" or "NAME#N" after a prefix: the name, and the segment index when there is one. */
static bool name_index(const char *s, size_t max, char **out_name, bool *has_index, size_t *index)
{
    const char *hash = strrchr(s, '#');
    size_t nl = hash ? (size_t)(hash - s) : strlen(s);
    if (nl == 0 || nl > max) {
        return false;
    }
    *has_index = false;
    if (hash) {
        if (!parse_size(hash + 1, strlen(hash + 1), 1024, index)) {
            return false;
        }
        *has_index = true;
    }
    *out_name = rp_xstrndup(s, nl);
    return true;
}

bool rp__correlate_place_parse(const char *place, struct rp_location *loc, char *why, size_t whysz)
{
    if (!place || !place[0]) {
        return fail(why, whysz, "an empty place");
    }
    loc->index = 0;
    loc->key = NULL;
    bool has_index = false;
    if (place[0] == '$') {
        char *path = NULL;
        if (!name_index(place, RP_CORRELATE_MAX_PATH, &path, &has_index, &loc->index)) {
            return fail(why, whysz, "not a path of the form $.key[N] or $.key#N");
        }
        if (!rp__correlate_json_path_valid(path)) {
            free(path);
            return fail(why, whysz, "not a path of the form $.key[N]");
        }
        loc->kind = has_index ? RP_LOC_BODY_JSON_SEGMENT : RP_LOC_BODY_JSON;
        loc->key = path;
        return true;
    }
    if (strncmp(place, "header:", 7) == 0) {
        if (!name_index(place + 7, RP_CORRELATE_MAX_KEY, &loc->key, &has_index, &loc->index)) {
            return fail(why, whysz, "header: wants NAME or NAME#SEGMENT");
        }
        bool link = strcmp(loc->key, "Link") == 0 || strcmp(loc->key, "link") == 0;
        if (link && has_index) {
            free(loc->key);
            loc->key = rp_xstrdup("");
            loc->kind = RP_LOC_LINK_SEGMENT;
        } else {
            loc->kind = has_index ? RP_LOC_HEADER_SEGMENT : RP_LOC_HEADER;
        }
        return true;
    }
    if (strncmp(place, "cookie:", 7) == 0) {
        size_t n = strlen(place + 7);
        if (n == 0 || n > RP_CORRELATE_MAX_KEY) {
            return fail(why, whysz, "cookie: wants a cookie name");
        }
        loc->kind = RP_LOC_COOKIE;
        loc->key = rp_xstrdup(place + 7);
        return true;
    }
    if (strncmp(place, "html:", 5) == 0) {
        static const struct {
            const char *prefix;
            enum rp_loc_kind kind;
        } tags[] = {{"input[name=", RP_LOC_HTML_INPUT},
                    {"meta[name=", RP_LOC_HTML_META},
                    {"select[name=", RP_LOC_HTML_SELECT}};
        const char *s = place + 5;
        for (size_t k = 0; k < sizeof(tags) / sizeof(tags[0]); k++) {
            size_t pl = strlen(tags[k].prefix);
            size_t n = strlen(s);
            if (n > pl + 1 && strncmp(s, tags[k].prefix, pl) == 0 && s[n - 1] == ']' &&
                n - pl - 1 <= RP_CORRELATE_MAX_KEY) {
                loc->kind = tags[k].kind;
                loc->key = rp_xstrndup(s + pl, n - pl - 1);
                return true;
            }
        }
        return fail(why, whysz, "html: wants input[name=N], meta[name=N] or select[name=N]");
    }
    if (strncmp(place, "regex:", 6) == 0) {
        regex_t re;
        if (strlen(place + 6) > RP_CORRELATE_MAX_PATH ||
            regcomp(&re, place + 6, REG_EXTENDED) != 0) {
            return fail(why, whysz, "regex: is not a POSIX extended regular expression");
        }
        size_t groups = re.re_nsub;
        regfree(&re);
        if (groups != 1) {
            return fail(why, whysz, "regex: wants exactly one capture group");
        }
        loc->kind = RP_LOC_BODY_REGEX;
        loc->key = rp_xstrdup(place + 6);
        return true;
    }
    return fail(why, whysz,
                "not a place: $.path, $.path#SEGMENT, header:NAME, header:NAME#SEGMENT, "
                "cookie:NAME, html:input[name=N], html:meta[name=N], html:select[name=N], "
                "regex:RE");
}

bool rp_location_value(const struct rp_response *r, const struct rp_location *loc, char *out,
                       size_t outsz)
{
    char buf[RP__CORR_VALUE_BUF];
    size_t len = 0;
    if (outsz == 0 || !rp__correlate_extract(r, loc, buf, &len) || len >= outsz) {
        return false;
    }
    memcpy(out, buf, len);
    out[len] = '\0';
    return true;
}
