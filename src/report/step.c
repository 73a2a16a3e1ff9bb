/* SPDX-License-Identifier: MIT */
/*
 * One step shown to a person: its request and response heads and bodies, scrubbed, bodies
 * capped with a note (rp_step_format, for JUnit's failure and system-out and for `reprise diff
 * --step`), and its request as a curl command with secrets as shell variables (rp_step_curl).
 */
#define _GNU_SOURCE /* memmem */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/limits.h>
#include <reprise/redact.h>
#include <reprise/report.h>
#include <reprise/scrub.h>

#include "../text_int.h"
#include "internal.h"

/* ----- heads and bodies -------------------------------------------------------------------- */

static rp_code add_headers(struct rp_buf *b, const struct rp_headers *h, struct rp_error *err)
{
    rp_code rc = RP_OK;
    for (size_t i = 0; i < h->n && !rc; i++) {
        rc = rp_buf_add(b, h->v[i].name, h->v[i].name_len, err);
        if (!rc) {
            rc = rp_buf_add(b, ": ", 2, err);
        }
        if (!rc) {
            rc = rp_buf_add(b, h->v[i].value, h->v[i].value_len, err);
        }
        if (!rc) {
            rc = rp_buf_addc(b, '\n', err);
        }
    }
    return rc;
}

/* Appends a body: text up to max bytes (cut at a character), then a note of what is left out;
 * a binary one as a note of its size. Nothing for an empty body. */
static rp_code add_body(struct rp_buf *b, const struct rp_body *body, size_t max,
                        struct rp_error *err)
{
    if (body->len == 0) {
        return RP_OK;
    }
    uint64_t total = body->truncated && body->orig_len > body->len ? body->orig_len : body->len;
    if (!rp__utf8_text(body->data, body->len) || memchr(body->data, '\0', body->len)) {
        return rp_buf_addf(b, err, "\n[binary body, %" PRIu64 " bytes]\n", total);
    }
    size_t n = body->len < max ? body->len : max;
    while (n > 0 && n < body->len && (body->data[n] & 0xC0) == 0x80) {
        n--;
    }
    rp_code rc = rp_buf_addc(b, '\n', err);
    if (!rc) {
        rc = rp_buf_add(b, body->data, n, err);
    }
    if (!rc && (n == 0 || body->data[n - 1] != '\n')) {
        rc = rp_buf_addc(b, '\n', err);
    }
    if (!rc && total > n) {
        rc = rp_buf_addf(b, err, "[... %" PRIu64 " more bytes not shown, %" PRIu64 " in all]\n",
                         total - n, total);
    }
    return rc;
}

static rp_code add_parts(struct rp_buf *b, const struct rp_exchange *ex, unsigned parts,
                         size_t body_max, struct rp_error *err)
{
    rp_code rc = RP_OK;
    const struct rp_request *rq = &ex->req;
    if (parts & RP_STEP_REQUEST_HEAD) {
        rc = rp_buf_addf(b, err, "%s %s %s\n", rq->method ? rq->method : "-",
                         rq->url ? rq->url : "-", rq->version ? rq->version : "HTTP/1.1");
        if (!rc) {
            rc = add_headers(b, &rq->headers, err);
        }
    }
    if (!rc && (parts & RP_STEP_REQUEST_BODY)) {
        rc = add_body(b, &rq->body, body_max, err);
    }
    bool want = parts & (RP_STEP_RESPONSE_HEAD | RP_STEP_RESPONSE_BODY);
    if (!rc && want && !ex->has_response) {
        return rp_buf_adds(b, parts & RP_STEP_REQUEST_ALL ? "\n(no response)\n" : "(no response)\n",
                           err);
    }
    if (rc || !ex->has_response) {
        return rc;
    }
    const struct rp_response *rs = &ex->resp;
    if (!rc && (parts & RP_STEP_RESPONSE_HEAD)) {
        rc = rp_buf_adds(b, parts & RP_STEP_REQUEST_ALL ? "\n" : "", err);
        if (!rc) {
            rc = rp_buf_addf(b, err, "%s %u%s%s\n", rs->version ? rs->version : "HTTP/1.1",
                             rs->status, rs->reason && rs->reason[0] ? " " : "",
                             rs->reason ? rs->reason : "");
        }
        if (!rc) {
            rc = add_headers(b, &rs->headers, err);
        }
    }
    if (!rc && (parts & RP_STEP_RESPONSE_BODY)) {
        rc = add_body(b, &rs->body, body_max, err);
    }
    return rc;
}

rp_code rp_step_format(struct rp_buf *out, const struct rp_exchange *ex, unsigned parts,
                       size_t body_max, struct rp_scrub *scrub, struct rp_error *err)
{
    if (!scrub) {
        return add_parts(out, ex, parts, body_max, err);
    }
    /* A copy, scrubbed as a recording is: a live cookie or credential is never shown. Bodies
     * not shown are not copied (nor scanned): a step's heads cost what heads cost. */
    struct rp_exchange view = *ex;
    if (!(parts & RP_STEP_REQUEST_BODY)) {
        memset(&view.req.body, 0, sizeof(view.req.body));
    }
    if (!(parts & RP_STEP_RESPONSE_BODY)) {
        memset(&view.resp.body, 0, sizeof(view.resp.body));
    }
    struct rp_exchange copy;
    rp_exchange_init(&copy);
    rp_code rc = rp_exchange_copy(&copy, &view, err);
    if (!rc) {
        rc = rp_scrub_exchange(scrub, &copy, err);
    }
    if (!rc) {
        rc = add_parts(out, &copy, parts, body_max, err);
    }
    rp_exchange_cleanup(&copy);
    return rc;
}

/* ----- curl -------------------------------------------------------------------------------- */

/* Appends n bytes of literal text inside single quotes (the quotes are the caller's): a quote
 * closes, is escaped, and reopens. */
static rp_code add_quoted(struct rp_buf *b, const char *s, size_t n, struct rp_error *err)
{
    rp_code rc = RP_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = s[i] == '\'' ? rp_buf_adds(b, "'\\''", err) : rp_buf_addc(b, s[i], err);
    }
    return rc;
}

/* The environment variable a placeholder's NAME stands for: REPRISE_SECRET_NAME for a secret,
 * REPRISE_VAR_NAME for a record-time variable, upper-cased, other characters as '_'. */
static void env_name(bool var, const char *name, size_t n, char *out, size_t outsz)
{
    if (!var) {
        char tmp[RP_MAX_SECRET_NAME + 1];
        size_t k = n < RP_MAX_SECRET_NAME ? n : RP_MAX_SECRET_NAME;
        memcpy(tmp, name, k);
        tmp[k] = '\0';
        rp_secret_env_name(tmp, out, outsz);
        return;
    }
    size_t k = (size_t)snprintf(out, outsz, "REPRISE_VAR_");
    for (size_t i = 0; i < n && k + 1 < outsz; i++) {
        char c = name[i] >= 'a' && name[i] <= 'z' ? (char)(name[i] - 'a' + 'A') : name[i];
        out[k++] = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? c : '_';
    }
    out[k] = '\0';
}

/*
 * Appends s as one shell word: literal text in single quotes, each {{secret:NAME}} and
 * {{var:NAME}} placeholder as "$REPRISE_SECRET_NAME" / "$REPRISE_VAR_NAME" in double quotes,
 * so the shell fills it and no value is ever printed.
 */
static rp_code add_word(struct rp_buf *b, const char *s, size_t n, struct rp_error *err)
{
    rp_code rc = rp_buf_addc(b, '\'', err);
    size_t i = 0, lit = 0;
    while (!rc && i < n) {
        bool secret = n - i > 9 && memcmp(s + i, "{{secret:", 9) == 0;
        bool var = !secret && n - i > 6 && memcmp(s + i, "{{var:", 6) == 0;
        const char *close = secret || var ? memmem(s + i, n - i, "}}", 2) : NULL;
        if (!close) {
            i++;
            continue;
        }
        size_t at = i + (secret ? 9 : 6);
        char env[RP_MAX_SECRET_NAME + 32];
        env_name(var, s + at, (size_t)(close - s) - at, env, sizeof(env));
        rc = add_quoted(b, s + lit, i - lit, err);
        if (!rc) {
            rc = rp_buf_addf(b, err, "'\"$%s\"'", env);
        }
        i = (size_t)(close - s) + 2;
        lit = i;
    }
    if (!rc) {
        rc = add_quoted(b, s + lit, n - lit, err);
    }
    return rc ? rc : rp_buf_addc(b, '\'', err);
}

/* Headers curl writes itself from the URL and the body, or that describe the connection. */
static bool curl_sets(const struct rp_header *h)
{
    static const char *const names[] = {"Host",
                                        "Content-Length",
                                        "Transfer-Encoding",
                                        "Connection",
                                        "Keep-Alive",
                                        "Accept-Encoding",
                                        "Expect",
                                        NULL};
    for (size_t i = 0; names[i]; i++) {
        if (rp_strieq(h->name, h->name_len, names[i])) {
            return true;
        }
    }
    return h->name_len > 0 && h->name[0] == ':';
}

rp_code rp_step_curl(struct rp_buf *out, const struct rp_request *rq, struct rp_error *err)
{
    const char *m = rq->method ? rq->method : "GET";
    rp_code rc = rp_buf_adds(out, "curl -sS", err);
    if (!rc && strcmp(m, "HEAD") == 0) {
        rc = rp_buf_adds(out, " -I", err);
    } else if (!rc && strcmp(m, "GET") != 0) {
        rc = rp_buf_adds(out, " -X ", err);
        if (!rc) {
            rc = add_word(out, m, strlen(m), err);
        }
    }
    if (!rc) {
        rc = rp_buf_addc(out, ' ', err);
    }
    if (!rc) {
        rc = add_word(out, rq->url ? rq->url : "", rq->url ? strlen(rq->url) : 0, err);
    }
    for (size_t i = 0; i < rq->headers.n && !rc; i++) {
        const struct rp_header *h = &rq->headers.v[i];
        if (curl_sets(h)) {
            continue;
        }
        struct rp_buf line;
        rp_buf_init(&line, RP_MAX_HEADER_REWRITTEN);
        rc = rp_buf_add(&line, h->name, h->name_len, err);
        /* "Name;" is how curl sends a header with an empty value. */
        if (!rc) {
            rc = h->value_len ? rp_buf_add(&line, ": ", 2, err) : rp_buf_addc(&line, ';', err);
        }
        if (!rc) {
            rc = rp_buf_add(&line, h->value, h->value_len, err);
        }
        if (!rc) {
            rc = rp_buf_adds(out, " \\\n  -H ", err);
        }
        if (!rc) {
            rc = add_word(out, line.data, line.len, err);
        }
        rp_buf_cleanup(&line);
    }
    if (!rc && rq->body.len) {
        if (!rp__utf8_text(rq->body.data, rq->body.len) ||
            memchr(rq->body.data, '\0', rq->body.len)) {
            /* A shell word cannot hold a NUL: the binary body goes through a file. */
            rc = rp_buf_addf(out, err,
                             " \\\n  --data-binary @BODY_FILE  # a binary body of %zu "
                             "bytes: write it to BODY_FILE",
                             rq->body.len);
        } else {
            rc = rp_buf_adds(out, " \\\n  --data-binary ", err);
            if (!rc) {
                rc = add_word(out, (const char *)rq->body.data, rq->body.len, err);
            }
        }
    }
    return rc ? rc : rp_buf_addc(out, '\n', err);
}
