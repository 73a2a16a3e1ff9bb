/* SPDX-License-Identifier: MIT */
/*
 * One line of a recording to and from the data model, with cJSON. Bodies that are UTF-8 text
 * are stored as JSON strings ("body"), anything else as base64 ("body_base64"). Header values
 * and URLs that are not UTF-8 are read as Latin-1, as HTTP's obs-text was meant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <reprise/limits.h>
#include <reprise/recording.h>

#include "../common_int.h"
#include "../jscan_int.h"
#include "../text_int.h"
#include "internal.h"

/* ----- small JSON helpers ----------------------------------------------------------------- */

/* Returns a new cJSON string for n bytes of s, transcoding from Latin-1 when not UTF-8. */
static cJSON *json_text(const char *s, size_t n)
{
    size_t len;
    char *u = rp__utf8_from_latin1(s, n, &len);
    cJSON *j = cJSON_CreateString(u);
    free(u);
    return j;
}

/* Adds every key of the JSON object text extra to obj; keys obj already has are skipped. */
static rp_code merge_extra(cJSON *obj, const char *extra, struct rp_error *err)
{
    if (!extra) {
        return RP_OK;
    }
    cJSON *x = cJSON_Parse(extra);
    if (!cJSON_IsObject(x)) {
        cJSON_Delete(x);
        return rp_error_set(err, RP_EINTERNAL, "extra keys are not a JSON object");
    }
    while (x->child) {
        cJSON *item = cJSON_DetachItemViaPointer(x, x->child);
        if (cJSON_GetObjectItemCaseSensitive(obj, item->string)) {
            cJSON_Delete(item);
            continue;
        }
        char *key = item->string;
        item->string = NULL;
        cJSON_AddItemToObject(obj, key, item);
        free(key);
    }
    cJSON_Delete(x);
    return RP_OK;
}

static rp_code print_into(cJSON *obj, struct rp_buf *out, struct rp_error *err)
{
    char *s = rp__json_print(obj, false);
    rp_code rc = rp_buf_adds(out, s, err);
    cJSON_free(s);
    return rc;
}

/* ----- encode ----------------------------------------------------------------------------- */

/*
 * Exchange lines are written directly into the buffer rather than built as a cJSON tree and
 * printed: a capture writes millions of them, and the tree (an allocation per node and per
 * string, then a print, then a free of it all) was a fifth of capture's time. The escaping
 * below is JSON's (RFC 8259, section 7); the reader, and the tests that round-trip every kind
 * of value through it, still go through cJSON.
 */

static rp_code put(struct rp_buf *b, const char *s, size_t n, struct rp_error *err)
{
    return rp_buf_add(b, s, n, err);
}

/* A string literal's bytes, counted by the compiler. */
#define PUT_LIT(b, lit, err) put((b), (lit), sizeof(lit) - 1, (err))

static rp_code put_u64(struct rp_buf *b, uint64_t v, struct rp_error *err)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return put(b, tmp + i, sizeof(tmp) - i, err);
}

/* Appends n bytes as a JSON string. Bytes that are not UTF-8 are read as Latin-1, as HTTP's
 * obs-text was meant; NUL, which a C string cannot carry back, becomes '?'. */
static rp_code put_text(struct rp_buf *b, const char *s, size_t n, struct rp_error *err)
{
    rp_code rc = PUT_LIT(b, "\"", err);
    if (rc) {
        return rc;
    }
    if (rp__utf8_text((const unsigned char *)s, n)) {
        rc = rp__json_escape(b, s, n, err);
    } else {
        size_t len;
        char *u = rp__utf8_from_latin1(s, n, &len);
        rc = rp__json_escape(b, u, len, err);
        free(u);
    }
    return rc ? rc : PUT_LIT(b, "\"", err);
}

static rp_code put_key(struct rp_buf *b, const char *key, struct rp_error *err)
{
    rp_code rc = PUT_LIT(b, ",\"", err);
    if (!rc) {
        rc = put(b, key, strlen(key), err);
    }
    return rc ? rc : PUT_LIT(b, "\":", err);
}

static rp_code put_headers(struct rp_buf *b, const struct rp_headers *h, struct rp_error *err)
{
    rp_code rc = put_key(b, "headers", err);
    if (!rc) {
        rc = PUT_LIT(b, "[", err);
    }
    for (size_t i = 0; !rc && i < h->n; i++) {
        rc = i ? PUT_LIT(b, ",[", err) : PUT_LIT(b, "[", err);
        if (!rc) {
            rc = put_text(b, h->v[i].name, h->v[i].name_len, err);
        }
        if (!rc) {
            rc = PUT_LIT(b, ",", err);
        }
        if (!rc) {
            rc = put_text(b, h->v[i].value, h->v[i].value_len, err);
        }
        if (!rc) {
            rc = PUT_LIT(b, "]", err);
        }
    }
    return rc ? rc : PUT_LIT(b, "]", err);
}

static rp_code put_body(struct rp_buf *b, const struct rp_body *body, struct rp_error *err)
{
    rp_code rc = RP_OK;
    if (body->len > 0) {
        if (rp__utf8_text(body->data, body->len)) {
            rc = put_key(b, "body", err);
            if (!rc) {
                rc = PUT_LIT(b, "\"", err);
            }
            if (!rc) {
                rc = rp__json_escape(b, (const char *)body->data, body->len, err);
            }
            if (!rc) {
                rc = PUT_LIT(b, "\"", err);
            }
        } else {
            rc = put_key(b, "body_base64", err);
            if (!rc) {
                rc = PUT_LIT(b, "\"", err);
            }
            if (!rc) {
                rc = rp__base64_encode(body->data, body->len, b, err);
            }
            if (!rc) {
                rc = PUT_LIT(b, "\"", err);
            }
        }
    }
    if (!rc && body->truncated) {
        rc = put_key(b, "body_truncated", err);
        if (!rc) {
            rc = PUT_LIT(b, "true", err);
        }
        if (!rc) {
            rc = put_key(b, "body_size", err);
        }
        if (!rc) {
            rc = put_u64(b, body->orig_len, err);
        }
    }
    return rc;
}

static const char *const known_exchange_keys[] = {
    "seq", "start", "duration_us", "conn", "incomplete", "request", "response", NULL,
};

/* Appends the keys of the JSON object text extra, skipping the ones the format owns. */
static rp_code put_extra(struct rp_buf *b, const char *extra, struct rp_error *err)
{
    cJSON *x = cJSON_Parse(extra);
    if (!cJSON_IsObject(x)) {
        cJSON_Delete(x);
        return rp_error_set(err, RP_EINTERNAL, "extra keys are not a JSON object");
    }
    rp_code rc = RP_OK;
    const cJSON *item;
    cJSON_ArrayForEach(item, x)
    {
        bool known = false;
        for (size_t k = 0; known_exchange_keys[k]; k++) {
            known = known || strcmp(item->string, known_exchange_keys[k]) == 0;
        }
        if (known) {
            continue;
        }
        char *v = rp__json_print(item, false);
        rc = PUT_LIT(b, ",", err);
        if (!rc) {
            rc = put_text(b, item->string, strlen(item->string), err);
        }
        if (!rc) {
            rc = PUT_LIT(b, ":", err);
        }
        if (!rc) {
            rc = put(b, v, strlen(v), err);
        }
        cJSON_free(v);
        if (rc) {
            break;
        }
    }
    cJSON_Delete(x);
    return rc;
}

rp_code rp_recording_encode_exchange(const struct rp_exchange *ex, struct rp_buf *out,
                                     struct rp_error *err)
{
    char when[32];
    rp_time_format(ex->start_us, when);
    const char *method = ex->req.method ? ex->req.method : "";
    const char *url = ex->req.url ? ex->req.url : "";

    /* On any error the buffer is put back as it was. */
    size_t mark = out->len;
    rp_code rc = PUT_LIT(out, "{\"seq\":", err);
    if (!rc) {
        rc = put_u64(out, ex->seq, err);
    }
    if (!rc) {
        rc = put_key(out, "start", err);
    }
    if (!rc) {
        rc = put_text(out, when, strlen(when), err);
    }
    if (!rc) {
        rc = put_key(out, "duration_us", err);
    }
    if (!rc) {
        rc = put_u64(out, ex->duration_us, err);
    }
    if (!rc) {
        rc = put_key(out, "conn", err);
    }
    if (!rc) {
        rc = put_u64(out, ex->conn_id, err);
    }
    if (!rc && ex->incomplete) {
        rc = put_key(out, "incomplete", err);
        if (!rc) {
            rc = PUT_LIT(out, "true", err);
        }
    }
    if (!rc) {
        rc = PUT_LIT(out, ",\"request\":{\"method\":", err);
    }
    if (!rc) {
        rc = put_text(out, method, strlen(method), err);
    }
    if (!rc) {
        rc = put_key(out, "url", err);
    }
    if (!rc) {
        rc = put_text(out, url, strlen(url), err);
    }
    if (!rc && ex->req.version) {
        rc = put_key(out, "version", err);
        if (!rc) {
            rc = put_text(out, ex->req.version, strlen(ex->req.version), err);
        }
    }
    if (!rc) {
        rc = put_headers(out, &ex->req.headers, err);
    }
    if (!rc) {
        rc = put_body(out, &ex->req.body, err);
    }
    if (!rc) {
        rc = PUT_LIT(out, "}", err);
    }
    if (!rc && ex->has_response) {
        rc = PUT_LIT(out, ",\"response\":{\"status\":", err);
        if (!rc) {
            rc = put_u64(out, ex->resp.status, err);
        }
        if (!rc && ex->resp.reason) {
            rc = put_key(out, "reason", err);
            if (!rc) {
                rc = put_text(out, ex->resp.reason, strlen(ex->resp.reason), err);
            }
        }
        if (!rc && ex->resp.version) {
            rc = put_key(out, "version", err);
            if (!rc) {
                rc = put_text(out, ex->resp.version, strlen(ex->resp.version), err);
            }
        }
        if (!rc) {
            rc = put_headers(out, &ex->resp.headers, err);
        }
        if (!rc) {
            rc = put_body(out, &ex->resp.body, err);
        }
        if (!rc) {
            rc = PUT_LIT(out, "}", err);
        }
    }
    if (!rc && ex->extra) {
        rc = put_extra(out, ex->extra, err);
    }
    if (!rc) {
        rc = PUT_LIT(out, "}", err);
    }
    if (rc) {
        out->len = mark;
        if (out->data) {
            out->data[mark] = '\0';
        }
    }
    return rc;
}

rp_code rp_recording_encode_meta(const struct rp_rec_meta *m, struct rp_buf *out,
                                 struct rp_error *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "reprise", cJSON_CreateNumber(RP_RECORDING_VERSION));
    cJSON_AddItemToObject(o, "name", cJSON_CreateString(m->name ? m->name : ""));
    cJSON_AddItemToObject(o, "created", cJSON_CreateString(m->created ? m->created : ""));
    cJSON *src = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "source", src);
    cJSON_AddItemToObject(src, "kind", cJSON_CreateString(m->source_kind ? m->source_kind : "unknown"));
    if (m->source_detail) {
        cJSON_AddItemToObject(src, "detail", json_text(m->source_detail, strlen(m->source_detail)));
    }
    cJSON *t = cJSON_CreateArray();
    cJSON_AddItemToObject(o, "tenants", t);
    for (size_t i = 0; i < m->n_tenants; i++) {
        cJSON_AddItemToArray(t, json_text(m->tenants[i], strlen(m->tenants[i])));
    }
    rp_code rc = merge_extra(o, m->extra, err);
    if (!rc) {
        rc = print_into(o, out, err);
    }
    cJSON_Delete(o);
    return rc;
}

/* ----- decode ----------------------------------------------------------------------------- */

static const cJSON *member(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* Reads an optional string member; *out gets a new copy. Missing is fine unless required. */
static rp_code get_str(const cJSON *o, const char *where, const char *key, bool required,
                       size_t max, char **out, struct rp_error *err)
{
    const cJSON *j = member(o, key);
    if (!j || cJSON_IsNull(j)) {
        if (required) {
            return rp_error_set(err, RP_EFORMAT, "\"%s%s\" is missing", where, key);
        }
        return RP_OK;
    }
    if (!cJSON_IsString(j)) {
        return rp_error_set(err, RP_EFORMAT, "\"%s%s\" is not a string", where, key);
    }
    size_t n = strlen(j->valuestring);
    if (n > max) {
        return rp_error_set(err, RP_ETOOBIG, "\"%s%s\" is longer than %zu bytes", where, key, max);
    }
    free(*out);
    *out = rp_xstrndup(j->valuestring, n);
    return RP_OK;
}

/* Reads an optional non-negative integer member up to max. */
static rp_code get_u64(const cJSON *o, const char *where, const char *key, uint64_t max,
                       uint64_t *out, struct rp_error *err)
{
    const cJSON *j = member(o, key);
    if (!j) {
        return RP_OK;
    }
    double d = cJSON_IsNumber(j) ? j->valuedouble : -1;
    /* 2^53: past it a double no longer holds every integer. */
    if (!cJSON_IsNumber(j) || d < 0 || d > 9007199254740992.0 || d != (double)(uint64_t)d ||
        (uint64_t)d > max) {
        return rp_error_set(err, RP_EFORMAT, "\"%s%s\" is not an integer from 0 to %llu", where,
                            key, (unsigned long long)max);
    }
    *out = (uint64_t)d;
    return RP_OK;
}

static rp_code get_bool(const cJSON *o, const char *where, const char *key, bool *out,
                        struct rp_error *err)
{
    const cJSON *j = member(o, key);
    if (!j) {
        return RP_OK;
    }
    if (!cJSON_IsBool(j)) {
        return rp_error_set(err, RP_EFORMAT, "\"%s%s\" is not true or false", where, key);
    }
    *out = cJSON_IsTrue(j);
    return RP_OK;
}

static rp_code get_headers(const cJSON *o, const char *where, struct rp_headers *h,
                           struct rp_error *err)
{
    const cJSON *arr = member(o, "headers");
    if (!arr) {
        return RP_OK;
    }
    if (!cJSON_IsArray(arr)) {
        return rp_error_set(err, RP_EFORMAT, "\"%sheaders\" is not an array", where);
    }
    size_t i = 0;
    size_t total = 0;
    const cJSON *pair;
    cJSON_ArrayForEach(pair, arr)
    {
        const cJSON *n = cJSON_GetArrayItem(pair, 0);
        const cJSON *v = cJSON_GetArrayItem(pair, 1);
        if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 || !cJSON_IsString(n) ||
            !cJSON_IsString(v)) {
            return rp_error_set(err, RP_EFORMAT,
                                "\"%sheaders[%zu]\" is not a [name, value] pair of strings", where,
                                i);
        }
        size_t nl = strlen(n->valuestring);
        size_t vl = strlen(v->valuestring);
        total += nl + vl;
        if (total > RP_MAX_HEADER_BYTES) {
            return rp_error_set(err, RP_ETOOBIG, "\"%sheaders\" exceed %u bytes", where,
                                RP_MAX_HEADER_BYTES);
        }
        rp_code rc = rp_headers_add(h, n->valuestring, nl, v->valuestring, vl, err);
        if (rc) {
            return rp_error_prefix(err, "\"%sheaders\"", where);
        }
        i++;
    }
    return RP_OK;
}

static rp_code get_body(const cJSON *o, const char *where, struct rp_body *b, struct rp_error *err)
{
    const cJSON *text = member(o, "body");
    const cJSON *b64 = member(o, "body_base64");
    if (text && b64) {
        return rp_error_set(err, RP_EFORMAT, "\"%sbody\" and \"%sbody_base64\" are both set", where,
                            where);
    }
    if (text && !cJSON_IsNull(text)) {
        if (!cJSON_IsString(text)) {
            return rp_error_set(err, RP_EFORMAT, "\"%sbody\" is not a string", where);
        }
        rp_body_set(b, text->valuestring, strlen(text->valuestring));
    } else if (b64 && !cJSON_IsNull(b64)) {
        if (!cJSON_IsString(b64)) {
            return rp_error_set(err, RP_EFORMAT, "\"%sbody_base64\" is not a string", where);
        }
        unsigned char *data = NULL;
        size_t len = 0;
        rp_code rc =
            rp__base64_decode(b64->valuestring, strlen(b64->valuestring), &data, &len, err);
        if (rc) {
            return rp_error_prefix(err, "\"%sbody_base64\"", where);
        }
        rp_body_take(b, data, len);
    }
    rp_code rc = get_bool(o, where, "body_truncated", &b->truncated, err);
    if (!rc) {
        rc = get_u64(o, where, "body_size", UINT64_MAX, &b->orig_len, err);
    }
    return rc;
}

/* Returns the text of a JSON object holding o's keys not in known[], or NULL when none. */
static char *extra_keys(const cJSON *o, const char *const known[])
{
    cJSON *x = NULL;
    const cJSON *item;
    cJSON_ArrayForEach(item, o)
    {
        bool is_known = false;
        for (size_t k = 0; known[k]; k++) {
            if (strcmp(item->string, known[k]) == 0) {
                is_known = true;
                break;
            }
        }
        if (is_known) {
            continue;
        }
        if (!x) {
            x = cJSON_CreateObject();
        }
        cJSON_AddItemToObject(x, item->string, cJSON_Duplicate(item, true));
    }
    if (!x) {
        return NULL;
    }
    char *s = cJSON_PrintUnformatted(x);
    cJSON_Delete(x);
    char *copy = rp_xstrdup(s);
    cJSON_free(s);
    return copy;
}

static rp_code decode_exchange(const cJSON *o, struct rp_exchange *ex, struct rp_error *err)
{
    if (!cJSON_IsObject(o)) {
        return rp_error_set(err, RP_EFORMAT, "the exchange is not a JSON object");
    }
    rp_code rc = get_u64(o, "", "seq", UINT64_MAX, &ex->seq, err);
    if (rc) {
        return rc;
    }
    const cJSON *start = member(o, "start");
    if (start && (!cJSON_IsString(start) || !rp_time_parse(start->valuestring, &ex->start_us))) {
        return rp_error_set(err, RP_EFORMAT, "\"start\" is not an ISO-8601 UTC time");
    }
    uint64_t conn = 0;
    rc = get_u64(o, "", "duration_us", UINT64_MAX, &ex->duration_us, err);
    if (!rc) {
        rc = get_u64(o, "", "conn", UINT64_MAX, &conn, err);
    }
    if (!rc) {
        rc = get_bool(o, "", "incomplete", &ex->incomplete, err);
    }
    if (rc) {
        return rc;
    }
    ex->conn_id = conn;

    const cJSON *req = member(o, "request");
    if (!cJSON_IsObject(req)) {
        return rp_error_set(err, RP_EFORMAT, "\"request\" is missing or not an object");
    }
    rc = get_str(req, "request.", "method", true, RP_MAX_METHOD_BYTES, &ex->req.method, err);
    if (!rc) {
        rc = get_str(req, "request.", "url", true, RP_MAX_URL_BYTES, &ex->req.url, err);
    }
    if (!rc) {
        rc =
            get_str(req, "request.", "version", false, RP_MAX_VERSION_BYTES, &ex->req.version, err);
    }
    if (!rc) {
        rc = get_headers(req, "request.", &ex->req.headers, err);
    }
    if (!rc) {
        rc = get_body(req, "request.", &ex->req.body, err);
    }
    if (rc) {
        return rc;
    }
    if (ex->req.method[0] == '\0') {
        return rp_error_set(err, RP_EFORMAT, "\"request.method\" is empty");
    }

    const cJSON *resp = member(o, "response");
    if (resp && !cJSON_IsNull(resp)) {
        if (!cJSON_IsObject(resp)) {
            return rp_error_set(err, RP_EFORMAT, "\"response\" is not an object");
        }
        uint64_t status = 0;
        const cJSON *st = member(resp, "status");
        if (!st) {
            return rp_error_set(err, RP_EFORMAT, "\"response.status\" is missing");
        }
        rc = get_u64(resp, "response.", "status", 999, &status, err);
        if (rc) {
            return rc;
        }
        if (status < 100) {
            return rp_error_set(err, RP_EFORMAT, "\"response.status\" %llu is not 100-999",
                                (unsigned long long)status);
        }
        ex->has_response = true;
        ex->resp.status = (unsigned)status;
        rc =
            get_str(resp, "response.", "reason", false, RP_MAX_REASON_BYTES, &ex->resp.reason, err);
        if (!rc) {
            rc = get_str(resp, "response.", "version", false, RP_MAX_VERSION_BYTES,
                         &ex->resp.version, err);
        }
        if (!rc) {
            rc = get_headers(resp, "response.", &ex->resp.headers, err);
        }
        if (!rc) {
            rc = get_body(resp, "response.", &ex->resp.body, err);
        }
        if (rc) {
            return rc;
        }
    }
    ex->extra = extra_keys(o, known_exchange_keys);
    return RP_OK;
}

/* ----- decode: the fast path ---------------------------------------------------------------- */

/*
 * Lines as the writer writes them are decoded here in one pass, straight into the exchange,
 * without a cJSON tree: replay decodes every line of a recording once or twice, and building
 * the tree (a node and a string per value, each allocated, then all freed) took a third of its
 * time. This path takes only what it decodes exactly as the cJSON path would and declines the
 * rest: an unknown or repeated key, null, a number other than a plain integer, an escape or a
 * byte it leaves to cJSON, anything that path would reject. A declined line is not an error;
 * the cJSON path reads it and has the last word, messages included.
 */

struct scan {
    const char *p;
    const char *end;
};

static void scan_ws(struct scan *s)
{
    s->p += rp__jscan_ws(s->p, (size_t)(s->end - s->p), 0);
}

/* Skips whitespace, then c. */
static bool scan_eat(struct scan *s, char c)
{
    scan_ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return true;
    }
    return false;
}

/*
 * Reads a JSON string into new memory (*out, *out_len bytes plus a NUL). Declines a string
 * longer than max once decoded, or holding a control byte.
 */
static bool scan_string(struct scan *s, size_t max, char **out, size_t *out_len)
{
    scan_ws(s);
    if (s->p >= s->end || *s->p != '"') {
        return false;
    }
    const char *start = s->p + 1;
    const char *q = start;
    bool escaped = false;
    for (;;) {
        q = rp__jscan_plain_run(q, s->end);
        if (q >= s->end || (unsigned char)*q < 0x20) {
            return false;
        }
        if (*q == '"') {
            break;
        }
        /* A backslash: the byte after it is taken whatever it is, as cJSON takes it. */
        if (s->end - q < 2) {
            return false;
        }
        escaped = true;
        q += 2;
    }
    size_t raw = (size_t)(q - start);
    char *str = NULL;
    size_t n = raw;
    if (!escaped) {
        if (n > max) {
            return false;
        }
        str = rp_xstrndup(start, n);
    } else {
        str = rp_xmalloc(raw + 1);
        if (!rp__jscan_unescape(start, raw, str, &n) || n > max) {
            free(str);
            return false;
        }
    }
    s->p = q + 1;
    *out = str;
    *out_len = n;
    return true;
}

/* Reads a plain integer of at most 15 digits (below 2^53, so strtod reads it exactly as cJSON
 * would); declines a sign, a fraction, an exponent and a leading zero. */
static bool scan_uint(struct scan *s, uint64_t max, uint64_t *out)
{
    scan_ws(s);
    const char *q = s->p;
    uint64_t v = 0;
    while (q < s->end && *q >= '0' && *q <= '9') {
        if (q - s->p >= 15) {
            return false;
        }
        v = v * 10 + (uint64_t)(*q - '0');
        q++;
    }
    if (q == s->p || (q - s->p > 1 && *s->p == '0') || v > max) {
        return false;
    }
    if (q < s->end && (*q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-')) {
        return false;
    }
    s->p = q;
    *out = v;
    return true;
}

static bool scan_bool(struct scan *s, bool *out)
{
    scan_ws(s);
    size_t left = (size_t)(s->end - s->p);
    if (left >= 4 && memcmp(s->p, "true", 4) == 0) {
        s->p += 4;
        *out = true;
        return true;
    }
    if (left >= 5 && memcmp(s->p, "false", 5) == 0) {
        s->p += 5;
        *out = false;
        return true;
    }
    return false;
}

/* Reads the next key of an object (no escapes in it) and its colon. */
static bool scan_key(struct scan *s, const char **out, size_t *out_len)
{
    scan_ws(s);
    if (s->p >= s->end || *s->p != '"') {
        return false;
    }
    const char *k = s->p + 1;
    const char *q = memchr(k, '"', (size_t)(s->end - k));
    if (!q || memchr(k, '\\', (size_t)(q - k))) {
        return false;
    }
    s->p = q + 1;
    *out = k;
    *out_len = (size_t)(q - k);
    return scan_eat(s, ':');
}

/* After a member: true at the next one, false at the end of the object (*done set) or on
 * anything else. */
static bool scan_next(struct scan *s, bool *done)
{
    if (scan_eat(s, ',')) {
        return true;
    }
    *done = scan_eat(s, '}');
    return false;
}

/* The index of key in keys (NULL-terminated), or -1. */
static int key_index(const char *k, size_t n, const char *const *keys)
{
    for (int i = 0; keys[i]; i++) {
        if (keys[i][0] == k[0] && strlen(keys[i]) == n && memcmp(keys[i], k, n) == 0) {
            return i;
        }
    }
    return -1;
}

static bool scan_headers(struct scan *s, struct rp_headers *h)
{
    if (!scan_eat(s, '[')) {
        return false;
    }
    if (scan_eat(s, ']')) {
        return true;
    }
    size_t total = 0;
    for (;;) {
        char *name = NULL;
        char *value = NULL;
        size_t nl = 0;
        size_t vl = 0;
        if (!scan_eat(s, '[') || !scan_string(s, RP_MAX_HEADER_BYTES, &name, &nl)) {
            return false;
        }
        if (!scan_eat(s, ',') || !scan_string(s, RP_MAX_HEADER_BYTES, &value, &vl) ||
            !scan_eat(s, ']')) {
            free(name);
            free(value);
            return false;
        }
        total += nl + vl;
        if (total > RP_MAX_HEADER_BYTES) {
            free(name);
            free(value);
            return false;
        }
        if (rp_headers_add_take(h, name, nl, value, vl, NULL)) {
            return false;
        }
        if (scan_eat(s, ',')) {
            continue;
        }
        return scan_eat(s, ']');
    }
}

/* The keys a request and a response share, then each one's own. */
enum {
    K_HEADERS,
    K_BODY,
    K_BODY_BASE64,
    K_BODY_TRUNCATED,
    K_BODY_SIZE,
    K_VERSION,
    K_FIRST,  /* method (request) or status (response) */
    K_SECOND, /* url or reason */
};

/* Both kinds of body at once is an error the cJSON path names. */
#define BOTH_BODIES ((1u << K_BODY) | (1u << K_BODY_BASE64))

static const char *const request_keys[] = {
    "headers", "body", "body_base64", "body_truncated", "body_size", "version",
    "method",  "url",  NULL,
};
static const char *const response_keys[] = {
    "headers", "body",   "body_base64", "body_truncated", "body_size", "version",
    "status",  "reason", NULL,
};

/* Reads one member shared by requests and responses (keys K_HEADERS to K_VERSION). */
static bool scan_common(struct scan *s, int k, struct rp_headers *h, struct rp_body *b,
                        char **version)
{
    char *str = NULL;
    size_t n = 0;
    switch (k) {
    case K_HEADERS:
        return scan_headers(s, h);
    case K_BODY:
        if (!scan_string(s, SIZE_MAX, &str, &n)) {
            return false;
        }
        rp_body_take(b, (unsigned char *)str, n);
        return true;
    case K_BODY_BASE64: {
        if (!scan_string(s, SIZE_MAX, &str, &n)) {
            return false;
        }
        unsigned char *data = NULL;
        size_t len = 0;
        rp_code rc = rp__base64_decode(str, n, &data, &len, NULL);
        free(str);
        if (rc) {
            return false;
        }
        rp_body_take(b, data, len);
        return true;
    }
    case K_BODY_TRUNCATED:
        return scan_bool(s, &b->truncated);
    case K_BODY_SIZE:
        return scan_uint(s, UINT64_MAX, &b->orig_len);
    case K_VERSION:
        return scan_string(s, RP_MAX_VERSION_BYTES, version, &n);
    default:
        return false;
    }
}

static bool scan_request(struct scan *s, struct rp_request *rq)
{
    if (!scan_eat(s, '{')) {
        return false;
    }
    unsigned seen = 0;
    bool done = false;
    if (scan_eat(s, '}')) {
        return false; /* no method */
    }
    do {
        const char *key;
        size_t klen;
        if (!scan_key(s, &key, &klen)) {
            return false;
        }
        int k = key_index(key, klen, request_keys);
        if (k < 0 || (seen & (1u << k))) {
            return false;
        }
        seen |= 1u << k;
        size_t n = 0;
        bool ok;
        if (k == K_FIRST) {
            ok = scan_string(s, RP_MAX_METHOD_BYTES, &rq->method, &n) && n > 0;
        } else if (k == K_SECOND) {
            ok = scan_string(s, RP_MAX_URL_BYTES, &rq->url, &n);
        } else {
            ok = scan_common(s, k, &rq->headers, &rq->body, &rq->version);
        }
        if (!ok) {
            return false;
        }
    } while (scan_next(s, &done));
    return done && rq->method && rq->url && (seen & BOTH_BODIES) != BOTH_BODIES;
}

static bool scan_response(struct scan *s, struct rp_response *rs)
{
    if (!scan_eat(s, '{')) {
        return false;
    }
    unsigned seen = 0;
    bool done = false;
    if (scan_eat(s, '}')) {
        return false; /* no status */
    }
    do {
        const char *key;
        size_t klen;
        if (!scan_key(s, &key, &klen)) {
            return false;
        }
        int k = key_index(key, klen, response_keys);
        if (k < 0 || (seen & (1u << k))) {
            return false;
        }
        seen |= 1u << k;
        size_t n = 0;
        uint64_t status = 0;
        bool ok;
        if (k == K_FIRST) {
            ok = scan_uint(s, 999, &status) && status >= 100;
            rs->status = (unsigned)status;
        } else if (k == K_SECOND) {
            ok = scan_string(s, RP_MAX_REASON_BYTES, &rs->reason, &n);
        } else {
            ok = scan_common(s, k, &rs->headers, &rs->body, &rs->version);
        }
        if (!ok) {
            return false;
        }
    } while (scan_next(s, &done));
    return done && (seen & (1u << K_FIRST)) && (seen & BOTH_BODIES) != BOTH_BODIES;
}

/* known_exchange_keys, in its order. */
enum { X_SEQ, X_START, X_DURATION, X_CONN, X_INCOMPLETE, X_REQUEST, X_RESPONSE };

static bool scan_exchange(struct scan *s, struct rp_exchange *ex)
{
    if (!scan_eat(s, '{')) {
        return false;
    }
    unsigned seen = 0;
    bool done = false;
    if (scan_eat(s, '}')) {
        return false; /* no request */
    }
    do {
        const char *key;
        size_t klen;
        if (!scan_key(s, &key, &klen)) {
            return false;
        }
        int k = key_index(key, klen, known_exchange_keys);
        if (k < 0 || (seen & (1u << k))) {
            return false;
        }
        seen |= 1u << k;
        bool ok = false;
        switch (k) {
        case X_SEQ:
            ok = scan_uint(s, UINT64_MAX, &ex->seq);
            break;
        case X_START: {
            char *when = NULL;
            size_t n = 0;
            ok = scan_string(s, SIZE_MAX, &when, &n) && rp_time_parse(when, &ex->start_us);
            free(when);
            break;
        }
        case X_DURATION:
            ok = scan_uint(s, UINT64_MAX, &ex->duration_us);
            break;
        case X_CONN:
            ok = scan_uint(s, UINT64_MAX, &ex->conn_id);
            break;
        case X_INCOMPLETE:
            ok = scan_bool(s, &ex->incomplete);
            break;
        case X_REQUEST:
            ok = scan_request(s, &ex->req);
            break;
        case X_RESPONSE:
            ex->has_response = true;
            ok = scan_response(s, &ex->resp);
            break;
        default:
            break;
        }
        if (!ok) {
            return false;
        }
    } while (scan_next(s, &done));
    scan_ws(s);
    return done && (seen & (1u << X_REQUEST)) && s->p == s->end;
}

bool rp__recording_decode_fast(const char *line, size_t len, struct rp_exchange *ex)
{
    struct scan s = {line, line + len};
    if (!scan_exchange(&s, ex)) {
        rp_exchange_cleanup(ex);
        return false;
    }
    return true;
}

static const char *json_error_near(const char *line, size_t len)
{
    const char *p = cJSON_GetErrorPtr();
    if (!p || p < line || p > line + len) {
        return NULL;
    }
    return p;
}

rp_code rp_recording_decode_exchange(const char *line, size_t len, struct rp_exchange *ex,
                                     struct rp_error *err)
{
    rp_exchange_cleanup(ex);
    if (rp__recording_decode_fast(line, len, ex)) {
        return RP_OK;
    }
    return rp__recording_decode_cjson(line, len, ex, err);
}

rp_code rp__recording_decode_cjson(const char *line, size_t len, struct rp_exchange *ex,
                                   struct rp_error *err)
{
    rp_exchange_cleanup(ex);
    cJSON *o = cJSON_ParseWithLength(line, len);
    if (!o) {
        const char *near = json_error_near(line, len);
        if (near) {
            return rp_error_set(err, RP_EFORMAT, "invalid JSON at column %zu",
                                (size_t)(near - line) + 1);
        }
        return rp_error_set(err, RP_EFORMAT, "invalid JSON");
    }
    rp_code rc = decode_exchange(o, ex, err);
    cJSON_Delete(o);
    if (rc) {
        rp_exchange_cleanup(ex);
    }
    return rc;
}

static const char *const known_meta_keys[] = {
    "reprise", "name", "created", "source", "tenants", NULL,
};

rp_code rp_recording_decode_meta(const char *line, size_t len, struct rp_rec_meta *m,
                                 struct rp_error *err)
{
    rp_rec_meta_cleanup(m);
    rp_code rc = RP_EFORMAT;
    cJSON *o = cJSON_ParseWithLength(line, len);
    const cJSON *v = cJSON_IsObject(o) ? member(o, "reprise") : NULL;
    if (!v) {
        rc = rp_error_set(err, RP_EFORMAT,
                          "not a reprise recording (the first line is not a header with a "
                          "\"reprise\" version)");
        goto out;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != RP_RECORDING_VERSION) {
        if (cJSON_IsNumber(v)) {
            rc = rp_error_set(err, RP_EVERSION,
                              "recording format version %g is not supported (this reprise "
                              "reads version %d)",
                              v->valuedouble, RP_RECORDING_VERSION);
        } else {
            rc = rp_error_set(err, RP_EFORMAT, "\"reprise\" is not a version number");
        }
        goto out;
    }
    rc = get_str(o, "", "name", false, 1024, &m->name, err);
    if (!rc) {
        rc = get_str(o, "", "created", false, 64, &m->created, err);
    }
    if (rc) {
        goto out;
    }
    const cJSON *src = member(o, "source");
    if (src && !cJSON_IsObject(src)) {
        rc = rp_error_set(err, RP_EFORMAT, "\"source\" is not an object");
        goto out;
    }
    if (src) {
        rc = get_str(src, "source.", "kind", false, 64, &m->source_kind, err);
        if (!rc) {
            rc = get_str(src, "source.", "detail", false, RP_MAX_URL_BYTES, &m->source_detail, err);
        }
        if (rc) {
            goto out;
        }
    }
    const cJSON *t = member(o, "tenants");
    if (t && !cJSON_IsArray(t)) {
        rc = rp_error_set(err, RP_EFORMAT, "\"tenants\" is not an array");
        goto out;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, t)
    {
        if (!cJSON_IsString(item) || item->valuestring[0] == '\0') {
            rc = rp_error_set(err, RP_EFORMAT, "\"tenants\" holds a value that is not a name");
            goto out;
        }
        rc = rp_rec_meta_add_tenant(m, item->valuestring, err);
        if (rc) {
            goto out;
        }
    }
    m->extra = extra_keys(o, known_meta_keys);
    rc = RP_OK;
out:
    cJSON_Delete(o);
    if (rc) {
        rp_rec_meta_cleanup(m);
    }
    return rc;
}

/* ----- meta ------------------------------------------------------------------------------- */

void rp_rec_meta_init(struct rp_rec_meta *m)
{
    memset(m, 0, sizeof(*m));
}

void rp_rec_meta_cleanup(struct rp_rec_meta *m)
{
    free(m->name);
    free(m->created);
    free(m->source_kind);
    free(m->source_detail);
    for (size_t i = 0; i < m->n_tenants; i++) {
        free(m->tenants[i]);
    }
    free(m->tenants);
    free(m->extra);
    rp_rec_meta_init(m);
}

rp_code rp_rec_meta_add_tenant(struct rp_rec_meta *m, const char *tenant, struct rp_error *err)
{
    if (m->n_tenants >= RP_MAX_TENANTS) {
        return rp_error_set(err, RP_ETOOBIG, "more than %u tenants", RP_MAX_TENANTS);
    }
    m->tenants = rp_xreallocarray(m->tenants, m->n_tenants + 1, sizeof(*m->tenants));
    m->tenants[m->n_tenants++] = rp_xstrdup(tenant);
    return RP_OK;
}

rp_code rp_rec_meta_copy(struct rp_rec_meta *dst, const struct rp_rec_meta *src,
                         struct rp_error *err)
{
    rp_rec_meta_cleanup(dst);
    dst->name = rp_xstrdup(src->name);
    dst->created = rp_xstrdup(src->created);
    dst->source_kind = rp_xstrdup(src->source_kind);
    dst->source_detail = rp_xstrdup(src->source_detail);
    dst->extra = rp_xstrdup(src->extra);
    for (size_t i = 0; i < src->n_tenants; i++) {
        rp_code rc = rp_rec_meta_add_tenant(dst, src->tenants[i], err);
        if (rc) {
            rp_rec_meta_cleanup(dst);
            return rc;
        }
    }
    return RP_OK;
}
