/* SPDX-License-Identifier: MIT */
/*
 * One exchange's shape: inferring it from a recorded response, and its JSON form
 * {"status":…,"media_type":…,"body":{JSON Schema}} as it stands in a shape file.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

cJSON *rp__json_parse(const char *p, size_t n, size_t *err_off)
{
    if (n == 0) {
        if (err_off) {
            *err_off = 0;
        }
        return NULL;
    }
    size_t skip = n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(p + skip, n - skip, &end, false);
    if (!doc) {
        if (err_off) {
            *err_off = end && end >= p && end <= p + n ? (size_t)(end - p) : 0;
        }
        return NULL;
    }
    /* cJSON stops after the first value; anything but whitespace after it is an error. */
    size_t i = (size_t)(end - p);
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) {
        i++;
    }
    if (i < n) {
        cJSON_Delete(doc);
        if (err_off) {
            *err_off = i;
        }
        return NULL;
    }
    return doc;
}

/* The media type of a Content-Type value, as rp_media_type gives it, or NULL. */
static char *media_type_of(const char *value)
{
    struct rp_headers h;
    rp_headers_init(&h);
    char mt[RP_MAX_MEDIA_TYPE_BYTES];
    char *res = NULL;
    if (rp_headers_add(&h, "Content-Type", 12, value, strlen(value), NULL) == RP_OK &&
        rp_media_type(&h, mt, sizeof(mt))) {
        res = rp_xstrdup(mt);
    }
    rp_headers_cleanup(&h);
    return res;
}

struct rp_shape *rp_shape_infer(const struct rp_response *resp)
{
    struct rp_shape *s = rp_xcalloc(1, sizeof(*s));
    s->status = resp->status;
    char mt[RP_MAX_MEDIA_TYPE_BYTES];
    if (rp_media_type(&resp->headers, mt, sizeof(mt))) {
        s->media_type = rp_xstrdup(mt);
    }
    /* A truncated body is not the whole document: a schema from it would be wrong. */
    if (s->media_type && rp_media_is_json(s->media_type) && !resp->body.truncated) {
        cJSON *doc = rp__json_parse((const char *)resp->body.data, resp->body.len, NULL);
        if (doc) {
            s->body = rp__schema_infer(doc, 0);
            cJSON_Delete(doc);
        }
    }
    return s;
}

void rp_shape_free(struct rp_shape *s)
{
    if (!s) {
        return;
    }
    if (s->extra_owners) {
        s->extra_owners--; /* a shape set's exchanges share it: another still holds it */
        return;
    }
    free(s->media_type);
    rp__schema_free(s->body);
    free(s);
}

unsigned rp_shape_status(const struct rp_shape *s)
{
    return s->status;
}

const char *rp_shape_media_type(const struct rp_shape *s)
{
    return s->media_type;
}

/* ----- JSON form --------------------------------------------------------------------------- */

cJSON *rp__shape_to_cjson(const struct rp_shape *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "status", cJSON_CreateNumber(s->status));
    cJSON_AddItemToObject(o, "media_type",
                          s->media_type ? cJSON_CreateString(s->media_type) : cJSON_CreateNull());
    if (s->body) {
        cJSON_AddItemToObject(o, "body", rp__schema_to_json(s->body));
    }
    return o;
}

char *rp_shape_to_json(const struct rp_shape *s)
{
    cJSON *o = rp__shape_to_cjson(s);
    char *text = rp__json_print(o, false);
    cJSON_Delete(o);
    /* The caller frees with free(); cJSON's allocator need not be malloc. */
    char *copy = rp_xstrdup(text);
    cJSON_free(text);
    return copy;
}

rp_code rp__shape_from_cjson(const cJSON *o, struct rp_shape **out, struct rp_error *err)
{
    if (!cJSON_IsObject(o)) {
        return rp_error_set(err, RP_EFORMAT, "the shape is not a JSON object");
    }
    rp_code rc = RP_EFORMAT;
    struct rp_shape *s = rp_xcalloc(1, sizeof(*s));
    struct rp_buf where;
    /* Bounded by construction: nesting is capped and path steps are cut. */
    rp_buf_init(&where, SIZE_MAX / 2);

    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
    if (!st) {
        rc = rp_error_set(err, RP_EFORMAT, "\"status\" is missing");
        goto out;
    }
    double d = cJSON_IsNumber(st) ? st->valuedouble : 0;
    if (!cJSON_IsNumber(st) || !(d >= 100 && d <= 999) || d != (double)(unsigned)d) {
        rc = rp_error_set(err, RP_EFORMAT, "\"status\" is not an integer from 100 to 999");
        goto out;
    }
    s->status = (unsigned)d;

    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(o, "media_type");
    if (mt && !cJSON_IsNull(mt)) {
        if (!cJSON_IsString(mt)) {
            rc = rp_error_set(err, RP_EFORMAT, "\"media_type\" is not a string or null");
            goto out;
        }
        s->media_type = media_type_of(mt->valuestring);
        if (!s->media_type) {
            rc = rp_error_set(err, RP_EFORMAT, "\"media_type\" is not a media type (\"%.40s\")",
                              mt->valuestring);
            goto out;
        }
    }

    const cJSON *body = cJSON_GetObjectItemCaseSensitive(o, "body");
    if (body && !cJSON_IsNull(body)) {
        rp_ignore(rp_buf_adds(&where, "body", NULL));
        rc = rp__schema_compile(body, &where, 0, &s->body, err);
        if (rc) {
            goto out;
        }
    }
    *out = s;
    s = NULL;
    rc = RP_OK;
out:
    rp_buf_cleanup(&where);
    rp_shape_free(s);
    return rc;
}

rp_code rp_shape_from_json(const char *text, size_t len, struct rp_shape **out,
                           struct rp_error *err)
{
    cJSON *o = rp__json_parse(text, len, NULL);
    if (!o) {
        return rp_error_set(err, RP_EFORMAT, "invalid JSON");
    }
    rp_code rc = rp__shape_from_cjson(o, out, err);
    cJSON_Delete(o);
    return rc;
}
