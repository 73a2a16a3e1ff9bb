/* SPDX-License-Identifier: MIT */
/*
 * Writing one line of a recording from the data model: exchange lines straight into the
 * buffer, the meta line through cJSON. Bodies that are UTF-8 text are stored as JSON strings
 * ("body"), anything else as base64 ("body_base64"); header values and URLs that are not UTF-8
 * are read as Latin-1, as HTTP's obs-text was meant.
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
        /* orig_len 0: the full size is unknown (decoding stopped at the cap): no body_size. */
        if (!rc && body->orig_len) {
            rc = put_key(b, "body_size", err);
        }
        if (!rc && body->orig_len) {
            rc = put_u64(b, body->orig_len, err);
        }
    }
    return rc;
}

/* Appends ,"vars":[{"name":NAME,"from":PLACE},...]. */
static rp_code put_vars(struct rp_buf *b, const struct rp_exchange *ex, struct rp_error *err)
{
    rp_code rc = PUT_LIT(b, ",\"vars\":[", err);
    for (size_t i = 0; i < ex->n_vars && !rc; i++) {
        const struct rp_var_decl *v = &ex->vars[i];
        rc = i ? PUT_LIT(b, ",{\"name\":", err) : PUT_LIT(b, "{\"name\":", err);
        if (!rc) {
            rc = put_text(b, v->name, strlen(v->name), err);
        }
        if (!rc) {
            rc = put_key(b, "from", err);
        }
        if (!rc) {
            rc = put_text(b, v->from, strlen(v->from), err);
        }
        if (!rc) {
            rc = PUT_LIT(b, "}", err);
        }
    }
    if (!rc) {
        rc = PUT_LIT(b, "]", err);
    }
    return rc;
}

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
        for (size_t k = 0; rp__recording_exchange_keys[k]; k++) {
            known = known || strcmp(item->string, rp__recording_exchange_keys[k]) == 0;
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
    if (!rc && ex->n_vars) {
        rc = put_vars(out, ex, err);
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
    cJSON_AddItemToObject(src, "kind",
                          cJSON_CreateString(m->source_kind ? m->source_kind : "unknown"));
    if (m->source_detail) {
        cJSON_AddItemToObject(src, "detail",
                              rp__json_text(m->source_detail, strlen(m->source_detail)));
    }
    cJSON *t = cJSON_CreateArray();
    cJSON_AddItemToObject(o, "tenants", t);
    for (size_t i = 0; i < m->n_tenants; i++) {
        cJSON_AddItemToArray(t, rp__json_text(m->tenants[i], strlen(m->tenants[i])));
    }
    rp_code rc = merge_extra(o, m->extra, err);
    if (!rc) {
        rc = print_into(o, out, err);
    }
    cJSON_Delete(o);
    return rc;
}
