/* SPDX-License-Identifier: MIT */
/*
 * Declarations shared by the files of HAR import: small cJSON helpers, entry conversion
 * (import_entry.c) and body decoding (import_body.c).
 */
#ifndef REPRISE_HAR_INTERNAL_H
#define REPRISE_HAR_INTERNAL_H

#include <cjson/cJSON.h>

#include <reprise/har.h>

#include "../common_int.h"
#include "../text_int.h"

/* ----- small helpers ---------------------------------------------------------------------- */

static inline const cJSON *member(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* The string member key of o, or NULL when it is absent or not a string. */
static inline const char *str_member(const cJSON *o, const char *key)
{
    const cJSON *j = member(o, key);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

static inline bool starts_with_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        if (rp__ascii_lower(*s) != *prefix) {
            return false;
        }
    }
    return true;
}

/* Text for a JSON scalar: strings as they are, numbers and booleans printed, else "". */
static inline char *scalar_text(const cJSON *j)
{
    if (cJSON_IsString(j)) {
        return rp_xstrdup(j->valuestring);
    }
    if (cJSON_IsNumber(j) || cJSON_IsBool(j) || cJSON_IsObject(j) || cJSON_IsArray(j)) {
        char *s = rp__json_print(j, false);
        char *copy = rp_xstrdup(s);
        cJSON_free(s);
        return copy;
    }
    return rp_xstrdup("");
}

/* ----- bodies (import_body.c) ------------------------------------------------------------- */

/* Returns a new copy of the n bytes at text with NUL escapes masked, or NULL when it has none. */
char *rp__har_mask_nuls(const char *text, size_t n, size_t *out_n);

/*
 * The text of a postData or content object o into b: base64 when its encoding says so; a
 * reprise export's "_truncated" mark is kept. where names o in errors.
 */
rp_code rp__har_text_body(const cJSON *o, const char *size_key, const char *where,
                          struct rp_body *b, struct rp_error *err);

/* The request's postData (text or params) into rq's body. */
rp_code rp__har_post_data(const cJSON *req, struct rp_request *rq, struct rp_error *err);

/* ----- entries (import_entry.c) ----------------------------------------------------------- */

/* What became of one entry. */
enum rp__har_fate { RP__HAR_EXCHANGE, RP__HAR_DROPPED };

/* Converts entry e into ex (clean), or says it is dropped (and why, in *why). */
rp_code rp__har_entry_to_exchange(const cJSON *e, struct rp_exchange *ex, enum rp__har_fate *fate,
                                  const char **why, struct rp_error *err);

#endif /* REPRISE_HAR_INTERNAL_H */
