/* SPDX-License-Identifier: MIT */
/*
 * HAR 1.2 export: a recording, read with the streaming reader, written as a HAR file one entry
 * at a time (each entry is its own small cJSON tree, printed and freed), so memory is bounded
 * by one exchange whatever the recording's length. docs/har.md says what maps to what.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include <reprise/har.h>
#include <reprise/limits.h>

#include "../common_int.h"
#include "../text_int.h"

/* ----- JSON building ---------------------------------------------------------------------- */

/* A JSON string for n bytes of s; bytes that are not UTF-8 are read as Latin-1. */
static cJSON *text(const char *s, size_t n)
{
    if (rp__utf8_text((const unsigned char *)s, n)) {
        char *tmp = rp_xstrndup(s, n);
        cJSON *j = cJSON_CreateString(tmp);
        free(tmp);
        return j;
    }
    char *u = rp_xmalloc(n * 2 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0) {
            u[o++] = '?'; /* a C string cannot hold it; the parsers never produce it */
        } else if (c < 0x80) {
            u[o++] = (char)c;
        } else {
            u[o++] = (char)(0xC0 | (c >> 6));
            u[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    u[o] = '\0';
    cJSON *j = cJSON_CreateString(u);
    free(u);
    return j;
}

static cJSON *str(const char *s)
{
    return text(s ? s : "", s ? strlen(s) : 0);
}

static cJSON *num(double d)
{
    return cJSON_CreateNumber(d);
}

/* ----- times ------------------------------------------------------------------------------ */

/* ISO-8601 UTC with milliseconds, as browsers write startedDateTime. */
static void format_ms(int64_t us, char out[32])
{
    int64_t secs = us / 1000000;
    int64_t frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    size_t n = gmtime_r(&t, &tm) ? strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm) : 0;
    if (n == 0 || n > 24) {
        snprintf(out, 32, "%s", "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out + n, 32 - n, ".%03dZ", (int)(frac / 1000));
}

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};

static bool digits_at(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

/*
 * A cookie's Expires ("Wed, 21 Oct 2015 07:28:00 GMT", or "21-Oct-2015", or a two-digit year)
 * as HAR's ISO-8601 form. False when it is none of those.
 */
static bool expires_iso(const char *s, size_t n, char out[32])
{
    const char *comma = memchr(s, ',', n);
    size_t i = comma ? (size_t)(comma - s) + 1 : 0;
    while (i < n && s[i] == ' ') {
        i++;
    }
    unsigned d, y, h, mi, se;
    if (n - i < 18 || !digits_at(s + i, 2, &d) || (s[i + 2] != ' ' && s[i + 2] != '-')) {
        return false;
    }
    i += 3;
    unsigned mo = 0;
    for (unsigned m = 0; m < 12; m++) {
        if (rp_strieq(s + i, 3, months[m])) {
            mo = m + 1;
        }
    }
    if (mo == 0 || (s[i + 3] != ' ' && s[i + 3] != '-')) {
        return false;
    }
    i += 4;
    size_t yl = i + 4 < n && s[i + 4] == ' ' ? 4 : 2;
    if (!digits_at(s + i, yl, &y)) {
        return false;
    }
    if (yl == 2) {
        y += y < 70 ? 2000 : 1900;
    }
    i += yl + 1;
    if (n - i < 8 || !digits_at(s + i, 2, &h) || s[i + 2] != ':' || !digits_at(s + i + 3, 2, &mi) ||
        s[i + 5] != ':' || !digits_at(s + i + 6, 2, &se)) {
        return false;
    }
    if (d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
        return false;
    }
    int k = snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02u.000Z", y, mo, d, h, mi, se);
    return k > 0 && k < 32;
}

/* ----- cookies, query strings ------------------------------------------------------------- */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims spaces around [*a, *b). */
static void trim(const char *s, size_t *a, size_t *b)
{
    while (*a < *b && is_ws(s[*a])) {
        (*a)++;
    }
    while (*b > *a && is_ws(s[*b - 1])) {
        (*b)--;
    }
}

/* The name=value pairs of every Cookie header. */
static cJSON *request_cookies(const struct rp_headers *h)
{
    cJSON *arr = cJSON_CreateArray();
    size_t at = 0;
    const struct rp_header *c;
    while ((c = rp_headers_get(h, "Cookie", &at)) != NULL) {
        const char *v = c->value;
        size_t i = 0;
        while (i < c->value_len) {
            size_t end = i;
            while (end < c->value_len && v[end] != ';') {
                end++;
            }
            const char *eq = memchr(v + i, '=', end - i);
            if (eq) {
                size_t na = i, nb = (size_t)(eq - v), va = nb + 1, vb = end;
                trim(v, &na, &nb);
                trim(v, &va, &vb);
                cJSON *o = cJSON_CreateObject();
                cJSON_AddItemToObject(o, "name", text(v + na, nb - na));
                cJSON_AddItemToObject(o, "value", text(v + va, vb - va));
                cJSON_AddItemToArray(arr, o);
            }
            i = end + 1;
        }
    }
    return arr;
}

/* One cookie object per Set-Cookie header: its pair and the attributes HAR has fields for. */
static cJSON *response_cookies(const struct rp_headers *h)
{
    cJSON *arr = cJSON_CreateArray();
    size_t at = 0;
    const struct rp_header *c;
    while ((c = rp_headers_get(h, "Set-Cookie", &at)) != NULL) {
        const char *v = c->value;
        size_t n = c->value_len;
        size_t end = 0;
        while (end < n && v[end] != ';') {
            end++;
        }
        const char *eq = memchr(v, '=', end);
        if (!eq) {
            continue;
        }
        size_t na = 0, nb = (size_t)(eq - v), va = nb + 1, vb = end;
        trim(v, &na, &nb);
        trim(v, &va, &vb);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "name", text(v + na, nb - na));
        cJSON_AddItemToObject(o, "value", text(v + va, vb - va));
        size_t i = end + 1;
        while (i < n) {
            size_t e = i;
            while (e < n && v[e] != ';') {
                e++;
            }
            size_t ka = i, kb = e;
            const char *aeq = memchr(v + i, '=', e - i);
            if (aeq) {
                kb = (size_t)(aeq - v);
            }
            trim(v, &ka, &kb);
            size_t xa = aeq ? (size_t)(aeq - v) + 1 : e, xb = e;
            trim(v, &xa, &xb);
            const char *k = v + ka;
            size_t kl = kb - ka;
            char iso[32];
            if (rp_strieq(k, kl, "path")) {
                cJSON_AddItemToObject(o, "path", text(v + xa, xb - xa));
            } else if (rp_strieq(k, kl, "domain")) {
                cJSON_AddItemToObject(o, "domain", text(v + xa, xb - xa));
            } else if (rp_strieq(k, kl, "expires") && expires_iso(v + xa, xb - xa, iso)) {
                cJSON_AddItemToObject(o, "expires", cJSON_CreateString(iso));
            } else if (rp_strieq(k, kl, "httponly")) {
                cJSON_AddItemToObject(o, "httpOnly", cJSON_CreateTrue());
            } else if (rp_strieq(k, kl, "secure")) {
                cJSON_AddItemToObject(o, "secure", cJSON_CreateTrue());
            } else if (rp_strieq(k, kl, "samesite")) {
                cJSON_AddItemToObject(o, "sameSite", text(v + xa, xb - xa));
            }
            i = e + 1;
        }
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

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

/* A JSON string of the n bytes at s percent-decoded ('+' as space), or raw when that is not
 * UTF-8 text. */
static cJSON *decoded(const char *s, size_t n)
{
    char *d = rp_xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            d[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            d[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            d[o++] = s[i];
        }
    }
    cJSON *j = rp__utf8_text((const unsigned char *)d, o) ? text(d, o) : text(s, n);
    free(d);
    return j;
}

static cJSON *query_string(const char *url)
{
    cJSON *arr = cJSON_CreateArray();
    const char *q = url ? strchr(url, '?') : NULL;
    if (!q) {
        return arr;
    }
    q++;
    size_t n = strcspn(q, "#");
    size_t i = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && q[end] != '&') {
            end++;
        }
        if (end > i) {
            const char *eq = memchr(q + i, '=', end - i);
            size_t nb = eq ? (size_t)(eq - q) : end;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddItemToObject(o, "name", decoded(q + i, nb - i));
            cJSON_AddItemToObject(o, "value", eq ? decoded(eq + 1, end - nb - 1) : cJSON_CreateString(""));
            cJSON_AddItemToArray(arr, o);
        }
        i = end + 1;
    }
    return arr;
}

/* ----- entries ---------------------------------------------------------------------------- */

static cJSON *headers_json(const struct rp_headers *h)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < h->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "name", text(h->v[i].name, h->v[i].name_len));
        cJSON_AddItemToObject(o, "value", text(h->v[i].value, h->v[i].value_len));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static const char *header_value(const struct rp_headers *h, const char *name)
{
    const struct rp_header *e = rp_headers_get(h, name, NULL);
    return e ? e->value : NULL;
}

/*
 * A body as HAR's text: UTF-8 text as it is, anything else base64 with "encoding": "base64"
 * (HAR 1.2 has the field for content only; postData gets it too, as later HAR writers do, so
 * binary request bodies survive). A cut body is marked "_truncated" with its full size in
 * size_key.
 */
static rp_code body_fields(cJSON *o, const struct rp_body *b, const char *size_key,
                           struct rp_error *err)
{
    if (b->len > 0) {
        if (rp__utf8_text(b->data, b->len)) {
            cJSON_AddItemToObject(o, "text", cJSON_CreateString((const char *)b->data));
        } else {
            struct rp_buf enc;
            rp_buf_init(&enc, SIZE_MAX / 2);
            rp_code rc = rp__base64_encode(b->data, b->len, &enc, err);
            if (rc) {
                rp_buf_cleanup(&enc);
                return rc;
            }
            cJSON_AddItemToObject(o, "text", cJSON_CreateString(enc.data ? enc.data : ""));
            cJSON_AddItemToObject(o, "encoding", cJSON_CreateString("base64"));
            rp_buf_cleanup(&enc);
        }
    }
    if (b->truncated) {
        cJSON_AddItemToObject(o, "_truncated", cJSON_CreateTrue());
        if (size_key) {
            cJSON_AddItemToObject(o, size_key, num((double)b->orig_len));
        }
    }
    return RP_OK;
}

static rp_code request_json(const struct rp_request *rq, cJSON **out, struct rp_error *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "method", str(rq->method));
    cJSON_AddItemToObject(o, "url", str(rq->url));
    cJSON_AddItemToObject(o, "httpVersion", str(rq->version));
    cJSON_AddItemToObject(o, "cookies", request_cookies(&rq->headers));
    cJSON_AddItemToObject(o, "headers", headers_json(&rq->headers));
    cJSON_AddItemToObject(o, "queryString", query_string(rq->url));
    const struct rp_body *b = &rq->body;
    if (b->len > 0 || b->truncated) {
        cJSON *pd = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "postData", pd);
        cJSON_AddItemToObject(pd, "mimeType", str(header_value(&rq->headers, "Content-Type")));
        rp_code rc = body_fields(pd, b, "_size", err);
        if (rc) {
            cJSON_Delete(o);
            return rc;
        }
    }
    cJSON_AddItemToObject(o, "headersSize", num(-1));
    cJSON_AddItemToObject(o, "bodySize", num((double)(b->truncated ? b->orig_len : b->len)));
    *out = o;
    return RP_OK;
}

static rp_code response_json(const struct rp_exchange *ex, cJSON **out, struct rp_error *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *content = cJSON_CreateObject();
    if (!ex->has_response) {
        /* As Chrome writes a request that never got an answer. */
        cJSON_AddItemToObject(o, "status", num(0));
        cJSON_AddItemToObject(o, "statusText", str(""));
        cJSON_AddItemToObject(o, "httpVersion", str(""));
        cJSON_AddItemToObject(o, "cookies", cJSON_CreateArray());
        cJSON_AddItemToObject(o, "headers", cJSON_CreateArray());
        cJSON_AddItemToObject(o, "content", content);
        cJSON_AddItemToObject(content, "size", num(0));
        cJSON_AddItemToObject(content, "mimeType", str("x-unknown"));
        cJSON_AddItemToObject(o, "redirectURL", str(""));
        cJSON_AddItemToObject(o, "headersSize", num(-1));
        cJSON_AddItemToObject(o, "bodySize", num(-1));
        cJSON_AddItemToObject(o, "_error", str("no response recorded"));
        *out = o;
        return RP_OK;
    }
    const struct rp_response *rs = &ex->resp;
    const struct rp_body *b = &rs->body;
    cJSON_AddItemToObject(o, "status", num(rs->status));
    cJSON_AddItemToObject(o, "statusText", str(rs->reason));
    cJSON_AddItemToObject(o, "httpVersion", str(rs->version));
    cJSON_AddItemToObject(o, "cookies", response_cookies(&rs->headers));
    cJSON_AddItemToObject(o, "headers", headers_json(&rs->headers));
    cJSON_AddItemToObject(o, "content", content);
    cJSON_AddItemToObject(content, "size", num((double)(b->truncated ? b->orig_len : b->len)));
    const char *ct = header_value(&rs->headers, "Content-Type");
    cJSON_AddItemToObject(content, "mimeType", str(ct ? ct : "x-unknown"));
    rp_code rc = body_fields(content, b, NULL, err);
    if (rc) {
        cJSON_Delete(o);
        return rc;
    }
    cJSON_AddItemToObject(o, "redirectURL", str(header_value(&rs->headers, "Location")));
    cJSON_AddItemToObject(o, "headersSize", num(-1));
    /* The size on the wire: the stored body is decoded, so with a content coding it is unknown. */
    bool coded = header_value(&rs->headers, "Content-Encoding") != NULL;
    cJSON_AddItemToObject(o, "bodySize", num(coded || b->truncated ? -1 : (double)b->len));
    *out = o;
    return RP_OK;
}

rp_code rp_har_encode_entry(const struct rp_exchange *ex, const char *pageref, struct rp_buf *out,
                            struct rp_error *err)
{
    cJSON *e = cJSON_CreateObject();
    cJSON *req = NULL;
    cJSON *resp = NULL;
    if (pageref) {
        cJSON_AddItemToObject(e, "pageref", str(pageref));
    }
    char when[32];
    format_ms(ex->start_us, when);
    double ms = (double)ex->duration_us / 1000.0;
    cJSON_AddItemToObject(e, "startedDateTime", cJSON_CreateString(when));
    cJSON_AddItemToObject(e, "time", num(ms));
    rp_code rc = request_json(&ex->req, &req, err);
    if (!rc) {
        cJSON_AddItemToObject(e, "request", req);
        rc = response_json(ex, &resp, err);
    }
    if (rc) {
        cJSON_Delete(e);
        return rc;
    }
    cJSON_AddItemToObject(e, "response", resp);
    cJSON_AddItemToObject(e, "cache", cJSON_CreateObject());
    cJSON *t = cJSON_CreateObject();
    cJSON_AddItemToObject(e, "timings", t);
    cJSON_AddItemToObject(t, "blocked", num(-1));
    cJSON_AddItemToObject(t, "dns", num(-1));
    cJSON_AddItemToObject(t, "connect", num(-1));
    cJSON_AddItemToObject(t, "send", num(0));
    cJSON_AddItemToObject(t, "wait", num(ms));
    cJSON_AddItemToObject(t, "receive", num(0));
    cJSON_AddItemToObject(t, "ssl", num(-1));
    if (ex->conn_id) {
        char id[24];
        snprintf(id, sizeof(id), "%llu", (unsigned long long)ex->conn_id);
        cJSON_AddItemToObject(e, "connection", cJSON_CreateString(id));
    }
    if (ex->incomplete) {
        cJSON_AddItemToObject(e, "_incomplete", cJSON_CreateTrue());
    }
    char *s = rp__json_print(e, false);
    cJSON_Delete(e);
    rc = rp_buf_adds(out, s, err);
    cJSON_free(s);
    return rc;
}

/* ----- the file --------------------------------------------------------------------------- */

static rp_code put(FILE *f, const char *path, const char *s, size_t n, struct rp_error *err)
{
    if (fwrite(s, 1, n, f) != n) {
        return rp_error_set(err, RP_EIO, "%s: cannot write: %s", path, strerror(errno));
    }
    return RP_OK;
}

/* The text of a JSON string for s, printed by cJSON into out. */
static rp_code put_json_string(struct rp_buf *out, const char *s, struct rp_error *err)
{
    cJSON *j = str(s);
    char *p = rp__json_print(j, false);
    cJSON_Delete(j);
    rp_code rc = rp_buf_adds(out, p, err);
    cJSON_free(p);
    return rc;
}

/* The document's opening, up to the entries array: the creator, and one page when there is an
 * entry (its start and the recording's name). */
static rp_code put_head(struct rp_buf *b, const struct rp_rec_meta *m,
                        const struct rp_exchange *first, struct rp_error *err)
{
    rp_code rc = rp_buf_addf(b, err,
                             "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"reprise\","
                             "\"version\":");
    if (!rc) {
        rc = put_json_string(b, rp_version(), err);
    }
    if (!rc) {
        rc = rp_buf_adds(b, "},\"pages\":[", err);
    }
    if (!rc && first) {
        char when[32];
        format_ms(first->start_us, when);
        rc = rp_buf_addf(b, err, "{\"startedDateTime\":\"%s\",\"id\":\"page_1\",\"title\":", when);
        if (!rc) {
            rc = put_json_string(b, m->name ? m->name : "", err);
        }
        if (!rc) {
            rc = rp_buf_adds(b, ",\"pageTimings\":{\"onContentLoad\":-1,\"onLoad\":-1}}", err);
        }
    }
    if (!rc) {
        rc = rp_buf_adds(b, "],\"entries\":[", err);
    }
    return rc;
}

rp_code rp_har_export(const char *rec_path, const char *har_path,
                      const struct rp_har_export_opts *opts, uint64_t *out_count,
                      struct rp_error *err)
{
    rp_code rc = RP_EINTERNAL;
    struct rp_reader_opts ropts = {0};
    if (opts) {
        ropts.log = opts->log;
        ropts.log_ud = opts->log_ud;
    }
    struct rp_reader *r = NULL;
    FILE *f = NULL;
    char *part = NULL;
    bool to_stdout = strcmp(har_path, "-") == 0;
    struct rp_buf b;
    rp_buf_init(&b, SIZE_MAX / 2);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    uint64_t count = 0;

    rc = rp_reader_open(rec_path, &ropts, &r, err);
    if (rc) {
        goto out;
    }
    bool got = false;
    rc = rp_reader_next(r, &ex, &got, err);
    if (rc) {
        goto out;
    }
    if (to_stdout) {
        f = stdout;
    } else {
        size_t plen = strlen(har_path) + sizeof(".part");
        part = rp_xmalloc(plen);
        snprintf(part, plen, "%s.part", har_path);
        f = fopen(part, "wb");
        if (!f) {
            rc = rp_error_set(err, RP_EIO, "%s: cannot create: %s", har_path, strerror(errno));
            goto out;
        }
    }
    rc = put_head(&b, rp_reader_meta(r), got ? &ex : NULL, err);
    while (!rc && got) {
        if (count > 0) {
            rc = rp_buf_adds(&b, ",", err);
        }
        if (!rc) {
            rc = rp_buf_addc(&b, '\n', err);
        }
        if (!rc) {
            rc = rp_har_encode_entry(&ex, "page_1", &b, err);
        }
        if (!rc) {
            rc = put(f, har_path, b.data, b.len, err);
        }
        rp_buf_reset(&b);
        count++;
        if (!rc) {
            rc = rp_reader_next(r, &ex, &got, err);
        }
    }
    if (!rc) {
        rc = rp_buf_adds(&b, "\n]}}\n", err);
    }
    if (!rc) {
        rc = put(f, har_path, b.data, b.len, err);
    }
    if (!rc && fflush(f) != 0) {
        rc = rp_error_set(err, RP_EIO, "%s: cannot write: %s", har_path, strerror(errno));
    }
    if (rc) {
        goto out;
    }
    if (!to_stdout) {
        int closed = fclose(f);
        f = NULL;
        if (closed != 0) {
            rc = rp_error_set(err, RP_EIO, "%s: cannot write: %s", har_path, strerror(errno));
            goto out;
        }
        if (rename(part, har_path) != 0) {
            rc = rp_error_set(err, RP_EIO, "%s: cannot rename %s into place: %s", har_path, part,
                              strerror(errno));
            goto out;
        }
    }
    if (out_count) {
        *out_count = count;
    }
    rc = RP_OK;
out:
    if (f && !to_stdout) {
        fclose(f);
    }
    if (rc && part) {
        unlink(part);
    }
    free(part);
    rp_exchange_cleanup(&ex);
    rp_buf_cleanup(&b);
    rp_reader_free(r);
    return rc;
}
