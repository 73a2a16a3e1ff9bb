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
#include "../time_int.h"
#include "../url_int.h"

/* ----- JSON building ---------------------------------------------------------------------- */

/* A JSON string for s (NULL as ""); bytes that are not UTF-8 are read as Latin-1. */
static cJSON *str(const char *s)
{
    return rp__json_text(s ? s : "", s ? strlen(s) : 0);
}

static cJSON *num(double d)
{
    return cJSON_CreateNumber(d);
}

/* ----- times ------------------------------------------------------------------------------ */

/* ISO-8601 UTC with milliseconds, as browsers write startedDateTime. */
static void format_ms(int64_t us, char out[32])
{
    rp__iso8601_format(us, true, out);
}

/* ----- cookies, query strings ------------------------------------------------------------- */

/* True when the cookie pair p has an '=' (its value starts after its name). */
static bool has_value(const struct rp__pair *p)
{
    return p->value_off > p->name_off + p->name_len;
}

/* The name=value pairs of every Cookie header. */
static cJSON *request_cookies(const struct rp_headers *h)
{
    cJSON *arr = cJSON_CreateArray();
    size_t at = 0;
    const struct rp_header *c;
    while ((c = rp_headers_get(h, "Cookie", &at)) != NULL) {
        const char *v = c->value;
        size_t pos = 0;
        struct rp__pair p;
        while (rp__cookie_next(v, c->value_len, &pos, &p)) {
            if (has_value(&p)) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddItemToObject(o, "name", rp__json_text(v + p.name_off, p.name_len));
                cJSON_AddItemToObject(o, "value", rp__json_text(v + p.value_off, p.value_len));
                cJSON_AddItemToArray(arr, o);
            }
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
        size_t pos = 0;
        struct rp__pair p;
        if (!rp__cookie_next(v, c->value_len, &pos, &p) || !has_value(&p)) {
            continue;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "name", rp__json_text(v + p.name_off, p.name_len));
        cJSON_AddItemToObject(o, "value", rp__json_text(v + p.value_off, p.value_len));
        while (rp__cookie_next(v, c->value_len, &pos, &p)) {
            const char *k = v + p.name_off;
            size_t kl = p.name_len;
            const char *x = v + p.value_off;
            int64_t expires;
            if (rp_strieq(k, kl, "path")) {
                cJSON_AddItemToObject(o, "path", rp__json_text(x, p.value_len));
            } else if (rp_strieq(k, kl, "domain")) {
                cJSON_AddItemToObject(o, "domain", rp__json_text(x, p.value_len));
            } else if (rp_strieq(k, kl, "expires") &&
                       rp__http_date_parse(x, p.value_len, &expires)) {
                char iso[32];
                format_ms(expires, iso);
                cJSON_AddItemToObject(o, "expires", cJSON_CreateString(iso));
            } else if (rp_strieq(k, kl, "httponly")) {
                cJSON_AddItemToObject(o, "httpOnly", cJSON_CreateTrue());
            } else if (rp_strieq(k, kl, "secure")) {
                cJSON_AddItemToObject(o, "secure", cJSON_CreateTrue());
            } else if (rp_strieq(k, kl, "samesite")) {
                cJSON_AddItemToObject(o, "sameSite", rp__json_text(x, p.value_len));
            }
        }
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* A JSON string of the n bytes at s percent-decoded ('+' as space), or raw when that is not
 * UTF-8 text. */
static cJSON *decoded(const char *s, size_t n)
{
    char *d = rp_xmalloc(n + 1);
    size_t o = 0;
    bool ok = rp__pct_decode(s, n, true, d, n + 1, &o) && rp__utf8_text((unsigned char *)d, o);
    cJSON *j = ok ? rp__json_text(d, o) : rp__json_text(s, n);
    free(d);
    return j;
}

static cJSON *query_string(const char *url)
{
    cJSON *arr = cJSON_CreateArray();
    if (!url) {
        return arr;
    }
    struct rp__url u;
    rp__url_split(url, strlen(url), &u);
    const char *q = url + u.query_off;
    size_t pos = 0;
    struct rp__pair p;
    while (rp__url_next_param(q, u.query_len, &pos, &p)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "name", decoded(q + p.name_off, p.name_len));
        cJSON_AddItemToObject(o, "value", decoded(q + p.value_off, p.value_len));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* ----- entries ---------------------------------------------------------------------------- */

static cJSON *headers_json(const struct rp_headers *h)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < h->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "name", rp__json_text(h->v[i].name, h->v[i].name_len));
        cJSON_AddItemToObject(o, "value", rp__json_text(h->v[i].value, h->v[i].value_len));
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
    if (ex->n_vars) {
        /* The record-time variables this response gives: without them, the {{var:NAME}} its
         * later requests hold could not be filled once the HAR is imported again. */
        cJSON *vars = cJSON_CreateArray();
        for (size_t i = 0; i < ex->n_vars; i++) {
            cJSON *v = cJSON_CreateObject();
            cJSON_AddItemToObject(v, "name", str(ex->vars[i].name));
            cJSON_AddItemToObject(v, "from", str(ex->vars[i].from));
            cJSON_AddItemToArray(vars, v);
        }
        cJSON_AddItemToObject(e, "_reprise_vars", vars);
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
