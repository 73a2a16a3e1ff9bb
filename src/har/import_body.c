/* SPDX-License-Identifier: MIT */
/*
 * HAR import's bodies: postData and content text (base64 or not, NUL escapes kept), and
 * postData params rebuilt into urlencoded or multipart bodies.
 */
#include <stdlib.h>
#include <string.h>

#include <reprise/limits.h>

#include "../text_int.h"
#include "internal.h"

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
char *rp__har_mask_nuls(const char *text, size_t n, size_t *out_n)
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
            rp_ignore(rp_buf_add(&b, text + done, at - done, NULL));
            rp_ignore(rp_buf_add(&b, NUL_MASK, mask, NULL));
            done = at + esc;
            i = done;
        }
    }
    if (done == 0) {
        rp_buf_cleanup(&b);
        return NULL;
    }
    rp_ignore(rp_buf_add(&b, text + done, n - done, NULL));
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
rp_code rp__har_text_body(const cJSON *o, const char *size_key, const char *where,
                          struct rp_body *b, struct rp_error *err)
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

/* Appends s form-encoded: unreserved bytes and '*' kept (as browsers do; RP__PCT_FORM encodes
 * it), ' ' as '+', the rest %XX. */
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
            char esc[3] = {'%', rp__hex_upper[c >> 4], rp__hex_upper[c & 0xF]};
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
        out[i] = rp__ascii_lower(ct[i]);
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
                cJSON_AddItemToObject(obj, name,
                                      v ? cJSON_Duplicate(v, true) : cJSON_CreateString(""));
            }
        }
        char *s = rp__json_print(obj, false);
        cJSON_Delete(obj);
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

rp_code rp__har_post_data(const cJSON *req, struct rp_request *rq, struct rp_error *err)
{
    const cJSON *pd = member(req, "postData");
    if (!cJSON_IsObject(pd)) {
        return RP_OK;
    }
    rp_code rc = rp__har_text_body(pd, "_size", "request.postData", &rq->body, err);
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
