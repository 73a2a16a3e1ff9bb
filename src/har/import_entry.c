/* SPDX-License-Identifier: MIT */
/*
 * HAR import's entries: one HAR entry (request, response, times, headers, cookies) into one
 * exchange, or the reason it is left out. docs/har.md says what maps to what.
 */
#include <stdlib.h>
#include <string.h>

#include <reprise/limits.h>

#include "../time_int.h"
#include "internal.h"

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

/* ----- entries ---------------------------------------------------------------------------- */

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
        rc = rp__har_text_body(content, "size", "response.content", &rs->body, err);
    }
    return rc;
}

/* Converts entry e into ex (clean), or says it is dropped (and why, in *why). */
rp_code rp__har_entry_to_exchange(const cJSON *e, struct rp_exchange *ex, enum rp__har_fate *fate,
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
        *fate = RP__HAR_DROPPED;
        *why = "a CONNECT tunnel, not a request";
        return RP_OK;
    }
    if (!starts_with_ci(url, "http://") && !starts_with_ci(url, "https://")) {
        *fate = RP__HAR_DROPPED;
        *why = "not an http:// or https:// URL";
        return RP_OK;
    }
    if (strlen(url) > RP_MAX_URL_BYTES) {
        return rp_error_set(err, RP_ETOOBIG, "request.url is longer than %u bytes",
                            RP_MAX_URL_BYTES);
    }

    const cJSON *started = member(e, "startedDateTime");
    if (cJSON_IsString(started) && started->valuestring[0]) {
        if (!rp__iso8601_parse(started->valuestring, strlen(started->valuestring), RP__ISO_HAR,
                               &ex->start_us)) {
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
        rc = rp__har_post_data(req, rq, err);
    }
    if (!rc) {
        rc = get_response(e, ex, err);
    }
    const cJSON *vars = member(e, "_reprise_vars"); /* written by reprise's own export */
    if (!rc && vars) {
        char *text = cJSON_PrintUnformatted(vars);
        rc = rp_recording_decode_vars(text, strlen(text), ex, err);
        cJSON_free(text);
        if (rc) {
            rp_error_prefix(err, "\"_reprise_vars\"");
        }
    }
    if (!rc) {
        *fate = RP__HAR_EXCHANGE;
    }
    return rc;
}
