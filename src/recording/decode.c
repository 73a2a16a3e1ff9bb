/* SPDX-License-Identifier: MIT */
/*
 * Reading one line of a recording into the data model through cJSON: the reference decoder,
 * which reads every line the format allows and words every error, and the entry points that
 * try the fast decoder (fastdecode.c) first. Also the meta line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <reprise/limits.h>
#include <reprise/recording.h>

#include "../common_int.h"
#include "../text_int.h"
#include "internal.h"

/* The keys of an exchange line the format owns; the fast decoder's X_* follow this order. */
const char *const rp__recording_exchange_keys[] = {
    "seq", "start", "duration_us", "conn", "incomplete", "request", "response", "vars", NULL,
};

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

/* "vars": an array of {"name": NAME, "from": PLACE}; other keys of an entry are ignored. */
static rp_code take_vars(const cJSON *vars, struct rp_exchange *ex, struct rp_error *err)
{
    if (!vars || cJSON_IsNull(vars)) {
        return RP_OK;
    }
    if (!cJSON_IsArray(vars)) {
        return rp_error_set(err, RP_EFORMAT, "\"vars\" is not an array");
    }
    size_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, vars)
    {
        if (i >= RP_MAX_VARS_PER_EXCHANGE) {
            return rp_error_set(err, RP_ETOOBIG, "\"vars\" has more than %u entries",
                                RP_MAX_VARS_PER_EXCHANGE);
        }
        const cJSON *name = member(v, "name");
        const cJSON *from = member(v, "from");
        if (!cJSON_IsObject(v) || !cJSON_IsString(name) || !cJSON_IsString(from)) {
            return rp_error_set(err, RP_EFORMAT, "\"vars[%zu]\" needs string \"name\" and \"from\"",
                                i);
        }
        size_t nlen = strlen(name->valuestring);
        size_t flen = strlen(from->valuestring);
        if (nlen == 0 || nlen > RP_MAX_VAR_NAME || flen == 0 || flen > RP_MAX_VAR_PLACE) {
            return rp_error_set(err, RP_EFORMAT, "\"vars[%zu]\": name or place empty or too long",
                                i);
        }
        rp_exchange_add_var(ex, name->valuestring, from->valuestring);
        i++;
    }
    return RP_OK;
}

rp_code rp_recording_decode_vars(const char *json, size_t len, struct rp_exchange *ex,
                                 struct rp_error *err)
{
    cJSON *vars = cJSON_ParseWithLength(json, len);
    if (!vars) {
        return rp_error_set(err, RP_EFORMAT, "\"vars\" is not valid JSON");
    }
    rp_code rc = take_vars(vars, ex, err);
    cJSON_Delete(vars);
    return rc;
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
    rc = take_vars(member(o, "vars"), ex, err);
    if (rc) {
        return rc;
    }
    ex->extra = extra_keys(o, rp__recording_exchange_keys);
    return RP_OK;
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
