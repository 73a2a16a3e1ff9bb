/* SPDX-License-Identifier: MIT */
/*
 * HAR 1.2 import: a HAR file's entries to exchanges, in file order, through the recording
 * writer. The file is one JSON document, parsed whole with cJSON (at most RP_MAX_HAR_BYTES);
 * each entry is freed from the parsed tree as soon as it has been converted and written, so the
 * peak is the tree, not the tree plus the recording. docs/har.md says what maps to what.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include <reprise/filter.h>
#include <reprise/har.h>
#include <reprise/limits.h>

#include "../text_int.h"

/* ----- small helpers ---------------------------------------------------------------------- */

static const cJSON *member(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* The string member key of o, or NULL when it is absent or not a string. */
static const char *str_member(const cJSON *o, const char *key)
{
    const cJSON *j = member(o, key);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static bool starts_with_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        if (lower(*s) != *prefix) {
            return false;
        }
    }
    return true;
}

/* Text for a JSON scalar: strings as they are, numbers and booleans printed, else "". */
static char *scalar_text(const cJSON *j)
{
    if (cJSON_IsString(j)) {
        return rp_xstrdup(j->valuestring);
    }
    if (cJSON_IsNumber(j) || cJSON_IsBool(j) || cJSON_IsObject(j) || cJSON_IsArray(j)) {
        char *s = cJSON_PrintUnformatted(j);
        if (!s) {
            fprintf(stderr, "reprise: out of memory printing JSON\n");
            abort();
        }
        char *copy = rp_xstrdup(s);
        cJSON_free(s);
        return copy;
    }
    return rp_xstrdup("");
}

/* ----- times ------------------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Reads exactly n digits at *p, advancing it. */
static bool read_digits(const char **p, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/*
 * Parses an ISO-8601 date and time as HAR writers spell it: "2023-03-29T16:58:59.303-07:00",
 * "2011-07-08T06:40:46.9724178+01:00", "...Z", an offset without a colon, or no zone at all
 * (taken as UTC). Any number of fraction digits; microseconds are kept.
 */
static bool parse_iso8601(const char *s, int64_t *out_us)
{
    const char *p = s;
    unsigned y, mo, d, h, mi, se = 0;
    if (!read_digits(&p, 4, &y) || *p++ != '-' || !read_digits(&p, 2, &mo) || *p++ != '-' ||
        !read_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' ')) {
        return false;
    }
    p++;
    if (!read_digits(&p, 2, &h) || *p++ != ':' || !read_digits(&p, 2, &mi)) {
        return false;
    }
    if (*p == ':') {
        p++;
        if (!read_digits(&p, 2, &se)) {
            return false;
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
        return false;
    }
    int64_t frac = 0;
    if (*p == '.' || *p == ',') {
        p++;
        int64_t scale = 100000;
        size_t nd = 0;
        for (; *p >= '0' && *p <= '9'; p++, nd++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
        if (nd == 0) {
            return false;
        }
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        unsigned oh, om = 0;
        if (!read_digits(&p, 2, &oh)) {
            return false;
        }
        if (*p == ':') {
            p++;
        }
        if (*p >= '0' && *p <= '9' && !read_digits(&p, 2, &om)) {
            return false;
        }
        if (oh > 23 || om > 59) {
            return false;
        }
        offset_s = sign * (int64_t)(oh * 3600 + om * 60);
    }
    if (*p != '\0') {
        return false;
    }
    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset_s;
    *out_us = secs * 1000000 + frac;
    return true;
}

/* ----- versions --------------------------------------------------------------------------- */

/*
 * The HTTP version as the recording spells it, from the many HAR spellings: "HTTP/1.1",
 * "http/2.0", "h2", "h3", "1.1". NULL for "", "unknown" and anything not recognised.
 */
static const char *norm_version(const char *v)
{
    static const struct {
        const char *har;
        const char *rec;
    } map[] = {
        {"http/1.1", "HTTP/1.1"}, {"1.1", "HTTP/1.1"},      {"http/1.0", "HTTP/1.0"},
        {"1.0", "HTTP/1.0"},      {"http/0.9", "HTTP/0.9"}, {"http/2", "HTTP/2"},
        {"http/2.0", "HTTP/2"},   {"h2", "HTTP/2"},         {"h2c", "HTTP/2"},
        {"2", "HTTP/2"},          {"2.0", "HTTP/2"},        {"http/3", "HTTP/3"},
        {"http/3.0", "HTTP/3"},   {"h3", "HTTP/3"},         {"3", "HTTP/3"},
    };
    if (!v) {
        return NULL;
    }
    size_t n = strlen(v);
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (rp_strieq(v, n, map[i].har)) {
            return map[i].rec;
        }
    }
    if (starts_with_ci(v, "h3-")) {
        return "HTTP/3"; /* Chrome's QUIC drafts: "h3-29" */
    }
    return NULL;
}

/* ----- headers ---------------------------------------------------------------------------- */

/* Adds one header, keeping the total of names and values within RP_MAX_HEADER_BYTES. */
static rp_code add_header(struct rp_headers *h, const char *name, size_t nl, const char *value,
                          size_t vl, size_t *total, struct rp_error *err)
{
    *total += nl + vl;
    if (*total > RP_MAX_HEADER_BYTES) {
        return rp_error_set(err, RP_ETOOBIG, "headers exceed %u bytes", RP_MAX_HEADER_BYTES);
    }
    return rp_headers_add(h, name, nl, value, vl, err);
}

/*
 * A HAR headers array into h, in order. HTTP/2 pseudo-headers (":authority") are left out: the
 * URL and method carry them. A value holding line breaks is several headers of one name (how
 * Firefox and Chrome write repeated Set-Cookie): each line becomes its own header.
 */
static rp_code get_headers(const cJSON *msg, const char *where, struct rp_headers *h,
                           struct rp_error *err)
{
    const cJSON *arr = member(msg, "headers");
    if (!arr || cJSON_IsNull(arr)) {
        return RP_OK;
    }
    if (!cJSON_IsArray(arr)) {
        return rp_error_set(err, RP_EFORMAT, "%s.headers is not an array", where);
    }
    rp_code rc = RP_OK;
    size_t total = 0;
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        const char *name = str_member(item, "name");
        if (!cJSON_IsObject(item) || !name) {
            return rp_error_set(err, RP_EFORMAT, "%s.headers[%zu] has no name", where, i);
        }
        i++;
        size_t nl = strlen(name);
        if (nl == 0 || name[0] == ':') {
            continue;
        }
        char *value = scalar_text(member(item, "value"));
        const char *v = value;
        do {
            size_t line = strcspn(v, "\n");
            size_t vl = line;
            if (vl > 0 && v[vl - 1] == '\r') {
                vl--;
            }
            if (vl > 0 || (v == value && v[line] == '\0')) {
                rc = add_header(h, name, nl, v, vl, &total, err);
            }
            v += line + (v[line] == '\n');
        } while (!rc && *v);
        free(value);
        if (rc) {
            return rp_error_prefix(err, "%s", where);
        }
    }
    return RP_OK;
}

/*
 * When the headers do not carry them, a HAR's cookie arrays become headers: request cookies one
 * Cookie header, response cookies one Set-Cookie each (with Path, Domain, HttpOnly, Secure).
 */
static rp_code cookies_as_headers(const cJSON *msg, bool request, struct rp_headers *h,
                                  struct rp_error *err)
{
    const char *hname = request ? "Cookie" : "Set-Cookie";
    const cJSON *arr = member(msg, "cookies");
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0 || rp_headers_get(h, hname, NULL)) {
        return RP_OK;
    }
    size_t total = 0;
    for (size_t i = 0; i < h->n; i++) {
        total += h->v[i].name_len + h->v[i].value_len;
    }
    rp_code rc = RP_OK;
    struct rp_buf b;
    rp_buf_init(&b, RP_MAX_HEADER_BYTES);
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        const char *name = str_member(c, "name");
        if (!name) {
            continue;
        }
        char *value = scalar_text(member(c, "value"));
        if (request) {
            rc = rp_buf_addf(&b, err, "%s%s=%s", b.len ? "; " : "", name, value);
        } else {
            rp_buf_reset(&b);
            const char *path = str_member(c, "path");
            const char *domain = str_member(c, "domain");
            rc = rp_buf_addf(&b, err, "%s=%s%s%s%s%s%s%s", name, value, path ? "; Path=" : "",
                             path ? path : "", domain ? "; Domain=" : "", domain ? domain : "",
                             cJSON_IsTrue(member(c, "httpOnly")) ? "; HttpOnly" : "",
                             cJSON_IsTrue(member(c, "secure")) ? "; Secure" : "");
            if (!rc) {
                rc = add_header(h, hname, strlen(hname), b.data, b.len, &total, err);
            }
        }
        free(value);
        if (rc) {
            break;
        }
    }
    if (!rc && request && b.len) {
        rc = add_header(h, hname, strlen(hname), b.data, b.len, &total, err);
    }
    rp_buf_cleanup(&b);
    return rc;
}

/* ----- bodies ----------------------------------------------------------------------------- */

/* Takes data (len bytes plus a NUL, malloc'd) as b, cut to RP_MAX_BODY_RECORDED and flagged. */
static void take_body(struct rp_body *b, unsigned char *data, size_t len)
{
    if (len > RP_MAX_BODY_RECORDED) {
        unsigned char *cut = (unsigned char *)rp_xstrndup((const char *)data, RP_MAX_BODY_RECORDED);
        free(data);
        rp_body_take(b, cut, RP_MAX_BODY_RECORDED);
        b->truncated = true;
        b->orig_len = len;
        return;
    }
    rp_body_take(b, data, len);
}

/*
 * Decodes base64 as HAR writers produce it: whitespace (line breaks) is skipped, and missing
 * padding is tolerated. RP_EFORMAT when it is not base64 (the caller words the message).
 */
static rp_code decode_base64(const char *s, unsigned char **out, size_t *out_len,
                             struct rp_error *err)
{
    size_t n = strlen(s);
    char *clean = rp_xmalloc(n + 3);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\n' && s[i] != '\r' && s[i] != '\t') {
            clean[o++] = s[i];
        }
    }
    if (o % 4 == 1) {
        free(clean);
        return RP_EFORMAT;
    }
    while (o % 4 != 0) {
        clean[o++] = '=';
    }
    rp_code rc = rp__base64_decode(clean, o, out, out_len, err);
    free(clean);
    return rc;
}

/*
 * cJSON keeps strings NUL-terminated, so a "\u0000" escape would cut a body short (mitmproxy
 * writes binary request bodies as text full of them). Before parsing, each such escape becomes
 * the escaped surrogate pair of U+10FFFF, a noncharacter Unicode reserves for internal use,
 * and bodies turn its UTF-8 form back into NUL bytes.
 */
#define NUL_ESCAPE "\\u0000"
#define NUL_MASK   "\\uDBFF\\uDFFF"
#define NUL_MASKED "\xF4\x8F\xBF\xBF"

/* Returns a new copy of the n bytes at text with NUL escapes masked, or NULL when it has none. */
static char *mask_nuls(const char *text, size_t n, size_t *out_n)
{
    const size_t esc = sizeof(NUL_ESCAPE) - 1;
    const size_t mask = sizeof(NUL_MASK) - 1;
    struct rp_buf b;
    rp_buf_init(&b, SIZE_MAX / 2);
    size_t done = 0;
    size_t i = 0;
    while (i < n) {
        if (text[i] != '\\') {
            i++;
            continue;
        }
        /* In a run of backslashes, pairs are escaped backslashes; an odd one starts an escape. */
        size_t run = 0;
        while (i + run < n && text[i + run] == '\\') {
            run++;
        }
        size_t at = i + run - 1;
        i += run;
        if (run % 2 == 1 && n - at >= esc && memcmp(text + at, NUL_ESCAPE, esc) == 0) {
            /* The buffer's cap is far above what a HAR can hold: the adds cannot fail. */
            rp_buf_add(&b, text + done, at - done, NULL);
            rp_buf_add(&b, NUL_MASK, mask, NULL);
            done = at + esc;
            i = done;
        }
    }
    if (done == 0) {
        rp_buf_cleanup(&b);
        return NULL;
    }
    rp_buf_add(&b, text + done, n - done, NULL);
    return rp_buf_take(&b, out_n);
}

/* Turns masked NULs in the n bytes at s back into NUL bytes, in place; returns the new length. */
static size_t unmask_nuls(char *s, size_t n)
{
    const size_t m = sizeof(NUL_MASKED) - 1;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (n - i >= m && memcmp(s + i, NUL_MASKED, m) == 0) {
            s[o++] = '\0';
            i += m;
        } else {
            s[o++] = s[i++];
        }
    }
    s[o] = '\0';
    return o;
}

/*
 * The text of a postData or content object into b: base64 when its encoding says so (content's
 * "encoding", and postData's too, the field later HAR writers added). A reprise export marks a
 * body it had to cut with "_truncated" and the full size: the mark is kept.
 */
static rp_code text_body(const cJSON *o, const char *size_key, const char *where, struct rp_body *b,
                         struct rp_error *err)
{
    const char *text = str_member(o, "text");
    if (!text || !text[0]) {
        return RP_OK;
    }
    const char *enc = str_member(o, "encoding");
    if (!enc) {
        enc = str_member(o, "_encoding");
    }
    if (enc && rp_strieq(enc, strlen(enc), "base64")) {
        unsigned char *data = NULL;
        size_t len = 0;
        rp_code rc = decode_base64(text, &data, &len, err);
        if (rc) {
            return rp_error_set(err, rc, "%s.text is not valid base64", where);
        }
        take_body(b, data, len);
    } else {
        size_t len = strlen(text);
        char *copy = rp_xstrndup(text, len);
        len = unmask_nuls(copy, len);
        take_body(b, (unsigned char *)copy, len);
    }
    const cJSON *size = member(o, size_key);
    if (cJSON_IsTrue(member(o, "_truncated")) && !b->truncated && cJSON_IsNumber(size) &&
        size->valuedouble > (double)b->len && size->valuedouble < 9007199254740992.0) {
        b->truncated = true;
        b->orig_len = (uint64_t)size->valuedouble;
    }
    return RP_OK;
}

static const char hex_upper[] = "0123456789ABCDEF";

/* Appends s form-encoded: unreserved bytes kept, ' ' as '+', the rest %XX. */
static rp_code add_form_encoded(struct rp_buf *b, const char *s, struct rp_error *err)
{
    rp_code rc = RP_OK;
    for (; *s && !rc; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '*') {
            rc = rp_buf_addc(b, (char)c, err);
        } else if (c == ' ') {
            rc = rp_buf_addc(b, '+', err);
        } else {
            char esc[3] = {'%', hex_upper[c >> 4], hex_upper[c & 0xF]};
            rc = rp_buf_add(b, esc, sizeof(esc), err);
        }
    }
    return rc;
}

/* The media type of a Content-Type value, lower-cased, into out. */
static void media_of(const char *ct, char *out, size_t outsz)
{
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) {
        n--;
    }
    size_t i = 0;
    for (; i < n && i + 1 < outsz; i++) {
        out[i] = lower(ct[i]);
    }
    out[i] = '\0';
}

/* The boundary parameter of a Content-Type value (quotes removed), or false. */
static bool boundary_of(const char *ct, char *out, size_t outsz)
{
    for (const char *p = ct; *p; p++) {
        if ((p == ct || p[-1] == ';' || p[-1] == ' ') && starts_with_ci(p, "boundary=")) {
            p += 9;
            bool quoted = *p == '"';
            p += quoted;
            size_t n = quoted ? strcspn(p, "\"") : strcspn(p, "; \t");
            if (n == 0 || n >= outsz) {
                return false;
            }
            memcpy(out, p, n);
            out[n] = '\0';
            return true;
        }
    }
    return false;
}

/* The longest multipart boundary RFC 2046 allows. */
#define BOUNDARY_MAX 70u

/*
 * A body rebuilt from postData.params, for writers that give params and no text: a JSON
 * object for JSON types (chrome-har writes a JSON body's top-level members so), multipart
 * parts when a boundary is known, else application/x-www-form-urlencoded.
 */
static rp_code params_body(const cJSON *params, const char *ct, struct rp_body *b,
                           struct rp_error *err)
{
    char mt[RP_MAX_MEDIA_TYPE_BYTES];
    media_of(ct, mt, sizeof(mt));
    rp_code rc = RP_OK;
    struct rp_buf out;
    rp_buf_init(&out, RP_MAX_HAR_BYTES);
    const cJSON *p;
    if (rp_media_is_json(mt)) {
        cJSON *obj = cJSON_CreateObject();
        cJSON_ArrayForEach(p, params)
        {
            const char *name = str_member(p, "name");
            const cJSON *v = member(p, "value");
            if (name) {
                cJSON *copy = v ? cJSON_Duplicate(v, true) : cJSON_CreateString("");
                if (!copy || !cJSON_AddItemToObject(obj, name, copy)) {
                    fprintf(stderr, "reprise: out of memory building JSON\n");
                    abort();
                }
            }
        }
        char *s = cJSON_PrintUnformatted(obj);
        cJSON_Delete(obj);
        if (!s) {
            fprintf(stderr, "reprise: out of memory printing JSON\n");
            abort();
        }
        rc = rp_buf_adds(&out, s, err);
        cJSON_free(s);
    } else if (strcmp(mt, "multipart/form-data") == 0) {
        char bnd[BOUNDARY_MAX + 1];
        if (!boundary_of(ct, bnd, sizeof(bnd))) {
            goto out; /* parts cannot be written without knowing their delimiter */
        }
        cJSON_ArrayForEach(p, params)
        {
            const char *name = str_member(p, "name");
            const char *file = str_member(p, "fileName");
            const char *type = str_member(p, "contentType");
            char *value = scalar_text(member(p, "value"));
            rc = rp_buf_addf(&out, err,
                             "--%s\r\nContent-Disposition: form-data; name=\"%s\"%s%s%s\r\n"
                             "%s%s%s\r\n%s\r\n",
                             bnd, name ? name : "", file ? "; filename=\"" : "", file ? file : "",
                             file ? "\"" : "", type ? "Content-Type: " : "", type ? type : "",
                             type ? "\r\n" : "", value);
            free(value);
            if (rc) {
                goto out;
            }
        }
        rc = rp_buf_addf(&out, err, "--%s--\r\n", bnd);
    } else {
        cJSON_ArrayForEach(p, params)
        {
            const char *name = str_member(p, "name");
            char *value = scalar_text(member(p, "value"));
            rc = out.len ? rp_buf_addc(&out, '&', err) : RP_OK;
            if (!rc) {
                rc = add_form_encoded(&out, name ? name : "", err);
            }
            if (!rc) {
                rc = rp_buf_addc(&out, '=', err);
            }
            if (!rc) {
                rc = add_form_encoded(&out, value, err);
            }
            free(value);
            if (rc) {
                goto out;
            }
        }
    }
    if (!rc && out.len) {
        size_t len = 0;
        unsigned char *data = (unsigned char *)rp_buf_take(&out, &len);
        take_body(b, data, len);
    }
out:
    rp_buf_cleanup(&out);
    return rc;
}

static rp_code post_data(const cJSON *req, struct rp_request *rq, struct rp_error *err)
{
    const cJSON *pd = member(req, "postData");
    if (!cJSON_IsObject(pd)) {
        return RP_OK;
    }
    rp_code rc = text_body(pd, "_size", "request.postData", &rq->body, err);
    if (rc || rq->body.len) {
        return rc;
    }
    const cJSON *params = member(pd, "params");
    if (!cJSON_IsArray(params) || cJSON_GetArraySize(params) == 0) {
        return RP_OK;
    }
    const char *ct = str_member(pd, "mimeType");
    const struct rp_header *h = rp_headers_get(&rq->headers, "Content-Type", NULL);
    if ((!ct || !ct[0]) && h) {
        ct = h->value;
    }
    return params_body(params, ct ? ct : "", &rq->body, err);
}

/* ----- entries ---------------------------------------------------------------------------- */

/* What became of one entry. */
enum fate { FATE_EXCHANGE, FATE_DROPPED };

static rp_code get_response(const cJSON *e, struct rp_exchange *ex, struct rp_error *err)
{
    const cJSON *resp = member(e, "response");
    if (!cJSON_IsObject(resp)) {
        return RP_OK; /* hand-made HARs may have none: the request alone is kept */
    }
    const cJSON *st = member(resp, "status");
    if (!cJSON_IsNumber(st) || st->valuedouble <= 0) {
        return RP_OK; /* 0: blocked, failed or cancelled, never answered */
    }
    double d = st->valuedouble;
    if (d < 100 || d > 999 || d != (double)(unsigned)d) {
        return rp_error_set(err, RP_EFORMAT, "response.status %g is not an HTTP status", d);
    }
    ex->has_response = true;
    struct rp_response *rs = &ex->resp;
    rs->status = (unsigned)d;
    const char *reason = str_member(resp, "statusText");
    if (reason && reason[0]) {
        if (strlen(reason) > RP_MAX_REASON_BYTES) {
            return rp_error_set(err, RP_ETOOBIG, "response.statusText is longer than %u bytes",
                                RP_MAX_REASON_BYTES);
        }
        rs->reason = rp_xstrdup(reason);
    }
    rs->version = rp_xstrdup(norm_version(str_member(resp, "httpVersion")));
    rp_code rc = get_headers(resp, "response", &rs->headers, err);
    if (!rc) {
        rc = cookies_as_headers(resp, false, &rs->headers, err);
    }
    const char *redirect = str_member(resp, "redirectURL");
    if (!rc && rs->status >= 300 && rs->status < 400 && redirect && redirect[0] &&
        !rp_headers_get(&rs->headers, "Location", NULL)) {
        rc = rp_headers_add(&rs->headers, "Location", 8, redirect, strlen(redirect), err);
    }
    const cJSON *content = member(resp, "content");
    if (!rc && cJSON_IsObject(content)) {
        rc = text_body(content, "size", "response.content", &rs->body, err);
    }
    return rc;
}

/* Converts entry e into ex (clean), or says it is dropped (and why, in *why). */
static rp_code entry_to_exchange(const cJSON *e, struct rp_exchange *ex, enum fate *fate,
                                 const char **why, struct rp_error *err)
{
    if (!cJSON_IsObject(e)) {
        return rp_error_set(err, RP_EFORMAT, "not an object");
    }
    const cJSON *req = member(e, "request");
    if (!cJSON_IsObject(req)) {
        return rp_error_set(err, RP_EFORMAT, "no request object");
    }
    const char *method = str_member(req, "method");
    const char *url = str_member(req, "url");
    if (!method || !method[0]) {
        return rp_error_set(err, RP_EFORMAT, "request.method is missing");
    }
    if (!url) {
        return rp_error_set(err, RP_EFORMAT, "request.url is missing");
    }
    if (strlen(method) > RP_MAX_METHOD_BYTES) {
        return rp_error_set(err, RP_ETOOBIG, "request.method is longer than %u bytes",
                            RP_MAX_METHOD_BYTES);
    }
    if (rp_strieq(method, strlen(method), "CONNECT")) {
        *fate = FATE_DROPPED;
        *why = "a CONNECT tunnel, not a request";
        return RP_OK;
    }
    if (!starts_with_ci(url, "http://") && !starts_with_ci(url, "https://")) {
        *fate = FATE_DROPPED;
        *why = "not an http:// or https:// URL";
        return RP_OK;
    }
    if (strlen(url) > RP_MAX_URL_BYTES) {
        return rp_error_set(err, RP_ETOOBIG, "request.url is longer than %u bytes",
                            RP_MAX_URL_BYTES);
    }

    const cJSON *started = member(e, "startedDateTime");
    if (cJSON_IsString(started) && started->valuestring[0]) {
        if (!parse_iso8601(started->valuestring, &ex->start_us)) {
            return rp_error_set(err, RP_EFORMAT,
                                "startedDateTime \"%.40s\" is not an ISO-8601 time",
                                started->valuestring);
        }
    }
    const cJSON *time = member(e, "time");
    /* Milliseconds, fractional; anything negative, absurd or not a number counts as unknown. */
    if (cJSON_IsNumber(time) && time->valuedouble > 0 && time->valuedouble < 1e12) {
        ex->duration_us = (uint64_t)(time->valuedouble * 1000.0 + 0.5);
    }
    const cJSON *conn = member(e, "connection");
    if (cJSON_IsString(conn)) {
        const char *s = conn->valuestring;
        size_t n = strspn(s, "0123456789");
        if (n > 0 && n <= 18 && s[n] == '\0') {
            ex->conn_id = strtoull(s, NULL, 10);
        }
    } else if (cJSON_IsNumber(conn) && conn->valuedouble >= 0 && conn->valuedouble < 1e18) {
        ex->conn_id = (uint64_t)conn->valuedouble;
    }
    ex->incomplete = cJSON_IsTrue(member(e, "_incomplete"));

    struct rp_request *rq = &ex->req;
    rq->method = rp_xstrdup(method);
    rq->url = rp_xstrdup(url);
    rq->version = rp_xstrdup(norm_version(str_member(req, "httpVersion")));
    rp_code rc = get_headers(req, "request", &rq->headers, err);
    if (!rc) {
        rc = cookies_as_headers(req, true, &rq->headers, err);
    }
    if (!rc) {
        rc = post_data(req, rq, err);
    }
    if (!rc) {
        rc = get_response(e, ex, err);
    }
    if (!rc) {
        *fate = FATE_EXCHANGE;
    }
    return rc;
}

/* ----- the document ----------------------------------------------------------------------- */

static void log_line(const struct rp_har_import_opts *opts, enum rp_log_level lvl, const char *fmt,
                     ...) RP_PRINTF(3, 4);

static void log_line(const struct rp_har_import_opts *opts, enum rp_log_level lvl, const char *fmt,
                     ...)
{
    if (!opts || !opts->log) {
        return;
    }
    char msg[RP_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    opts->log(opts->log_ud, lvl, msg);
}

/* "line L, column C" of the byte at offset off of the n bytes at s. */
static void position_of(const char *s, size_t n, size_t off, size_t *line, size_t *col)
{
    size_t l = 1;
    size_t last_nl = 0;
    bool any_nl = false;
    for (size_t i = 0; i < off && i < n; i++) {
        if (s[i] == '\n') {
            l++;
            last_nl = i;
            any_nl = true;
        }
    }
    *line = l;
    *col = any_nl ? off - last_nl : off + 1;
}

/* Parses the HAR text into *out_root (a new tree), checking it has log.entries. */
/*
 * Parses the n bytes at src into *root (NULL when not JSON); *off is where parsing stopped,
 * past trailing whitespace. True when the whole text is one JSON document.
 */
static bool parse_at(const char *src, size_t n, cJSON **root, size_t *off)
{
    const char *end = NULL;
    *root = cJSON_ParseWithLengthOpts(src, n, &end, false);
    size_t o = end && end >= src && end <= src + n ? (size_t)(end - src) : 0;
    if (*root) {
        while (o < n && (src[o] == ' ' || src[o] == '\t' || src[o] == '\r' || src[o] == '\n' ||
                         src[o] == '\0')) {
            o++;
        }
    }
    *off = o;
    return *root && o == n;
}

/* Parses the HAR text into *out_root (a new tree), checking it has log.entries. */
static rp_code parse_doc(const char *data, size_t len, const char *name, cJSON **out_root,
                         struct rp_error *err)
{
    size_t bom = len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    const char *text = data + bom;
    size_t n = len - bom;
    size_t masked_len = 0;
    char *masked = mask_nuls(text, n, &masked_len);
    cJSON *root = NULL;
    size_t off = 0;
    bool whole =
        masked ? parse_at(masked, masked_len, &root, &off) : parse_at(text, n, &root, &off);
    if (!whole && masked) {
        /* Positions are reported in the file as it is: parse that for them. */
        cJSON_Delete(root);
        parse_at(text, n, &root, &off);
    }
    free(masked);
    if (!whole) {
        size_t line, col;
        position_of(text, n, off, &line, &col);
        rp_error_set(err, RP_EFORMAT, "%s: invalid JSON at line %zu, column %zu%s", name, line, col,
                     root ? " (text after the document)" : "");
        cJSON_Delete(root);
        return RP_EFORMAT;
    }
    const cJSON *log = member(root, "log");
    if (!cJSON_IsObject(root) || !cJSON_IsObject(log) || !cJSON_IsArray(member(log, "entries"))) {
        cJSON_Delete(root);
        return rp_error_set(err, RP_EFORMAT, "%s: not HAR: no log.entries", name);
    }
    *out_root = root;
    return RP_OK;
}

/*
 * Converts, filters, scrubs and hands on every entry of root (from parse_doc), in order. Each
 * entry leaves the tree as it is taken, so its memory goes as soon as it is done with.
 */
static rp_code each_entry(cJSON *root, const char *name, const struct rp_har_import_opts *opts,
                          rp_har_exchange_fn fn, void *ud, struct rp_har_stats *out_stats,
                          struct rp_error *err)
{
    rp_code rc = RP_OK;
    struct rp_har_stats st = {0};
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    cJSON *entries = cJSON_GetObjectItemCaseSensitive(member(root, "log"), "entries");
    st.entries = (uint64_t)cJSON_GetArraySize(entries);
    bool keep_static = !opts || opts->include_static;
    const struct rp_scrub *scrub = opts ? opts->scrub : NULL;
    for (size_t idx = 1; entries->child; idx++) {
        cJSON *e = cJSON_DetachItemViaPointer(entries, entries->child);
        enum fate fate = FATE_DROPPED;
        const char *why = "";
        rp_exchange_cleanup(&ex);
        rc = entry_to_exchange(e, &ex, &fate, &why, err);
        cJSON_Delete(e);
        if (rc) {
            rp_error_prefix(err, "%s: entry %zu", name, idx);
            goto out;
        }
        if (fate == FATE_DROPPED) {
            st.dropped++;
            log_line(opts, RP_LOG_DEBUG, "%s: entry %zu left out: %s", name, idx, why);
            continue;
        }
        if (!keep_static && rp_filter_is_static(&ex)) {
            st.static_assets++;
            log_line(opts, RP_LOG_DEBUG, "%s: entry %zu left out: a static asset (%s)", name, idx,
                     ex.req.url);
            continue;
        }
        if (scrub) {
            rc = rp_scrub_exchange(scrub, &ex, err);
            if (rc) {
                rp_error_prefix(err, "%s: entry %zu", name, idx);
                goto out;
            }
        }
        ex.seq = st.exchanges + 1;
        rc = fn(ud, &ex, err);
        if (rc) {
            goto out;
        }
        st.exchanges++;
    }
    if (out_stats) {
        *out_stats = st;
    }
out:
    rp_exchange_cleanup(&ex);
    return rc;
}

rp_code rp_har_read_mem(const char *data, size_t len, const char *name,
                        const struct rp_har_import_opts *opts, rp_har_exchange_fn fn, void *ud,
                        struct rp_har_stats *out_stats, struct rp_error *err)
{
    cJSON *root = NULL;
    rp_code rc = parse_doc(data, len, name, &root, err);
    if (!rc) {
        rc = each_entry(root, name, opts, fn, ud, out_stats, err);
    }
    cJSON_Delete(root);
    return rc;
}

/* Reads the whole file (or standard input for "-") into new memory, at most RP_MAX_HAR_BYTES. */
static rp_code read_file(const char *path, char **out, size_t *out_len, struct rp_error *err)
{
    rp_code rc = RP_EIO;
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    char *buf = NULL;
    if (fd < 0) {
        return rp_error_set(err, RP_EIO, "%s: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        rc = rp_error_set(err, RP_EIO, "%s: is a directory", path);
        goto out;
    }
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > RP_MAX_HAR_BYTES) {
        rc = rp_error_set(err, RP_ETOOBIG, "%s: larger than %u MiB (RP_MAX_HAR_BYTES)", path,
                          RP_MAX_HAR_BYTES / (1024u * 1024u));
        goto out;
    }
    size_t cap = 1u << 16;
    size_t len = 0;
    buf = rp_xmalloc(cap + 1);
    for (;;) {
        if (len > RP_MAX_HAR_BYTES) {
            break; /* standard input, or a file that grew: refused below */
        }
        if (len == cap) {
            /* Room for one byte past the cap, to tell a file at the cap from a larger one. */
            cap = cap < (RP_MAX_HAR_BYTES + 1u) / 2 ? cap * 2 : RP_MAX_HAR_BYTES + 1u;
            buf = rp_xrealloc(buf, cap + 1);
        }
        ssize_t k = read(fd, buf + len, cap - len);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = rp_error_set(err, RP_EIO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (k == 0) {
            break;
        }
        len += (size_t)k;
    }
    if (len > RP_MAX_HAR_BYTES) {
        rc = rp_error_set(err, RP_ETOOBIG, "%s: larger than %u MiB (RP_MAX_HAR_BYTES)", path,
                          RP_MAX_HAR_BYTES / (1024u * 1024u));
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = RP_OK;
out:
    free(buf);
    if (!is_stdin) {
        close(fd);
    }
    return rc;
}

/* Reads and parses the file at path; the file's text is freed once the tree is built. */
static rp_code read_doc(const char *path, cJSON **out_root, struct rp_error *err)
{
    char *data = NULL;
    size_t len = 0;
    rp_code rc = read_file(path, &data, &len, err);
    if (!rc) {
        rc = parse_doc(data, len, path, out_root, err);
    }
    free(data);
    return rc;
}

rp_code rp_har_read(const char *path, const struct rp_har_import_opts *opts, rp_har_exchange_fn fn,
                    void *ud, struct rp_har_stats *out_stats, struct rp_error *err)
{
    cJSON *root = NULL;
    rp_code rc = read_doc(path, &root, err);
    if (!rc) {
        rc = each_entry(root, path, opts, fn, ud, out_stats, err);
    }
    cJSON_Delete(root);
    return rc;
}

/* ----- import into a recording ------------------------------------------------------------ */

struct import_ctx {
    const char *part; /* the temporary file, renamed at the end */
    struct rp_rec_meta meta;
    struct rp_writer *w;
};

/* Opens the writer; the header's creation time is the first exchange's start when unset. */
static rp_code open_writer(struct import_ctx *c, int64_t first_start, struct rp_error *err)
{
    if (!c->meta.created) {
        char when[32];
        rp_time_format(first_start > 0 ? first_start : rp_now_us(), when);
        c->meta.created = rp_xstrdup(when);
    }
    return rp_writer_open(c->part, &c->meta, NULL, &c->w, err);
}

static rp_code append_exchange(void *ud, struct rp_exchange *ex, struct rp_error *err)
{
    struct import_ctx *c = ud;
    if (!c->w) {
        rp_code rc = open_writer(c, ex->start_us, err);
        if (rc) {
            return rc;
        }
    }
    return rp_writer_append(c->w, ex, err);
}

rp_code rp_har_import(const char *har_path, const char *out_path, const struct rp_rec_meta *meta,
                      const struct rp_har_import_opts *opts, struct rp_har_stats *out_stats,
                      struct rp_error *err)
{
    rp_code rc = RP_EINTERNAL;
    struct import_ctx c = {0};
    rp_rec_meta_init(&c.meta);
    struct rp_har_stats st = {0};
    size_t plen = strlen(out_path) + sizeof(".part");
    char *part = rp_xmalloc(plen);
    snprintf(part, plen, "%s.part", out_path);
    c.part = part;
    cJSON *root = NULL;

    /* The HAR is read and parsed before anything is created, so a bad input leaves no file. */
    rc = read_doc(har_path, &root, err);
    if (!rc) {
        rc = rp_rec_meta_copy(&c.meta, meta, err);
    }
    if (!rc) {
        rc = each_entry(root, har_path, opts, append_exchange, &c, &st, err);
    }
    if (!rc && !c.w) {
        rc = open_writer(&c, 0, err); /* no exchanges: the recording is a header alone */
    }
    if (rc) {
        goto out;
    }
    rc = rp_writer_close(c.w, err);
    c.w = NULL;
    if (rc) {
        goto out;
    }
    if (rename(part, out_path) != 0) {
        rc = rp_error_set(err, RP_EIO, "%s: cannot rename %s into place: %s", out_path, part,
                          strerror(errno));
        goto out;
    }
    if (out_stats) {
        *out_stats = st;
    }
    rc = RP_OK;
out:
    if (c.w) {
        rp_writer_close(c.w, NULL);
    }
    if (rc) {
        unlink(part);
    }
    cJSON_Delete(root);
    free(part);
    rp_rec_meta_cleanup(&c.meta);
    return rc;
}
