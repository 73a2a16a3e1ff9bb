/* SPDX-License-Identifier: MIT */
/*
 * The recording reader's fast decoder: an exchange line as the writer writes it, read in one
 * pass straight into the data model without a cJSON tree, on the library's JSON scanner.
 */
#include <stdlib.h>
#include <string.h>

#include <reprise/limits.h>
#include <reprise/recording.h>

#include "../jscan_int.h"
#include "../text_int.h"
#include "internal.h"

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

/* rp__recording_exchange_keys, in its order. */
enum { X_SEQ, X_START, X_DURATION, X_CONN, X_INCOMPLETE, X_REQUEST, X_RESPONSE, X_VARS };

/* "vars" as the writer writes it: [{"name": NAME, "from": PLACE}, ...], both keys, in order. */
static bool scan_vars(struct scan *s, struct rp_exchange *ex)
{
    if (!scan_eat(s, '[') || scan_eat(s, ']')) {
        return false; /* the writer writes no empty list */
    }
    do {
        const char *key;
        size_t klen;
        char *name = NULL;
        char *from = NULL;
        size_t nlen = 0;
        size_t flen = 0;
        bool ok = ex->n_vars < RP_MAX_VARS_PER_EXCHANGE && scan_eat(s, '{') &&
                  scan_key(s, &key, &klen) && klen == 4 && memcmp(key, "name", 4) == 0 &&
                  scan_string(s, RP_MAX_VAR_NAME, &name, &nlen) && nlen > 0 && scan_eat(s, ',') &&
                  scan_key(s, &key, &klen) && klen == 4 && memcmp(key, "from", 4) == 0 &&
                  scan_string(s, RP_MAX_VAR_PLACE, &from, &flen) && flen > 0 && scan_eat(s, '}') &&
                  strlen(name) == nlen && strlen(from) == flen;
        if (ok) {
            rp_exchange_add_var(ex, name, from);
        }
        free(name);
        free(from);
        if (!ok) {
            return false;
        }
    } while (scan_eat(s, ','));
    return scan_eat(s, ']');
}

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
        int k = key_index(key, klen, rp__recording_exchange_keys);
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
        case X_VARS:
            ok = scan_vars(s, ex);
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
