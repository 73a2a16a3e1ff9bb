/* SPDX-License-Identifier: MIT */
/*
 * The recording side of the proxy: a request and its response, as the parsers read them from
 * the relayed bytes, become one exchange with the upstream's real URL; it is filtered (static
 * assets, --only-path), scrubbed of secrets and appended to the recording.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <reprise/filter.h>
#include <reprise/limits.h>

#include "internal.h"

/* The absolute URL the upstream served: its origin and the request target. */
static char *absolute_url(const struct rp__origin *o, const char *target)
{
    if (!target || !*target) {
        target = "/";
    }
    if (strstr(target, "://")) {
        return rp_xstrdup(target); /* already absolute (a client that thinks we forward) */
    }
    struct rp_buf b;
    rp_buf_init(&b, SIZE_MAX);
    (void)rp_buf_adds(&b, o->url, NULL);
    if (target[0] != '/') {
        (void)rp_buf_addc(&b, '/', NULL);
    }
    (void)rp_buf_adds(&b, target, NULL);
    return rp_buf_take(&b, NULL);
}

/* The path of an absolute URL, without query or fragment, as a new string. */
static char *url_path(const char *url)
{
    const char *s = strstr(url, "://");
    s = s ? strchr(s + 3, '/') : url;
    if (!s) {
        return rp_xstrdup("/");
    }
    return rp_xstrndup(s, strcspn(s, "?#"));
}

static void cut_body(struct rp_body *b, uint64_t max)
{
    if (b->len > max) {
        b->len = (size_t)max;
        if (b->data) {
            b->data[b->len] = '\0';
        }
        b->truncated = true;
    }
}

static char *error_json(const char *why)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", why);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char *copy = rp_xstrdup(s ? s : "{\"error\":\"unknown\"}");
    cJSON_free(s);
    return copy;
}

static bool path_wanted(const struct rp_proxy *p, const char *url)
{
    if (p->o.n_only_paths == 0) {
        return true;
    }
    char *path = url_path(url);
    bool hit = false;
    for (size_t i = 0; i < p->o.n_only_paths && !hit; i++) {
        hit = fnmatch(p->only_paths[i], path, 0) == 0;
    }
    free(path);
    return hit;
}

void rp__proxy_record(struct rp_proxy *p, const struct rp__conn *c, struct rp_http_message *req,
                      struct rp_http_message *resp, const char *why)
{
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    uint64_t max = p->o.max_body ? p->o.max_body : RP_MAX_BODY_RECORDED;

    ex.start_us = req->first_us;
    ex.conn_id = c->id;
    ex.req.method = req->method;
    req->method = NULL;
    ex.req.url = absolute_url(c->org, req->target);
    ex.req.version = req->version;
    req->version = NULL;
    ex.req.headers = req->headers;
    rp_headers_init(&req->headers);
    ex.req.body = req->body;
    memset(&req->body, 0, sizeof(req->body));
    cut_body(&ex.req.body, max);
    ex.incomplete = (req->flags & RP_HTTP_MSG_INCOMPLETE) != 0;
    if (resp) {
        ex.has_response = true;
        ex.duration_us =
            resp->last_us > req->first_us ? (uint64_t)(resp->last_us - req->first_us) : 0;
        ex.resp.status = resp->status;
        ex.resp.reason = resp->reason;
        resp->reason = NULL;
        ex.resp.version = resp->version;
        resp->version = NULL;
        ex.resp.headers = resp->headers;
        rp_headers_init(&resp->headers);
        ex.resp.body = resp->body;
        memset(&resp->body, 0, sizeof(resp->body));
        cut_body(&ex.resp.body, max);
        ex.incomplete = ex.incomplete || (resp->flags & RP_HTTP_MSG_INCOMPLETE) != 0;
    } else {
        int64_t now = rp_now_us();
        ex.duration_us = now > req->first_us ? (uint64_t)(now - req->first_us) : 0;
        ex.extra = error_json(why ? why : "no response");
    }

    bool recorded = false;
    if (!p->o.include_static && rp_filter_is_static(&ex)) {
        p->stats.skipped_static++;
        goto out;
    }
    if (!path_wanted(p, ex.req.url)) {
        p->stats.skipped_path++;
        goto out;
    }
    /* Counted once it passed the filters: a favicon that failed is only a skipped asset. */
    if (!resp) {
        p->stats.errors++;
    }
    struct rp_error err = {0};
    if (!p->o.no_redact && rp_scrub_exchange(p->scrub, &ex, &err)) {
        /* A partly scrubbed exchange must not be written: better missing than leaking. */
        if (p->o.log) {
            char line[RP_ERROR_MSG_MAX + 64];
            snprintf(line, sizeof(line), "exchange not recorded: %s", err.msg);
            p->o.log(p->o.log_ud, RP_LOG_WARN, line);
        }
        p->stats.errors++;
        goto out;
    }
    if (p->write_rc == RP_OK) {
        p->write_rc = rp_writer_append(p->w, &ex, &p->write_err);
    }
    if (p->write_rc) {
        p->stats.errors++;
        goto out;
    }
    recorded = true;
    p->stats.recorded++;
out:
    if (p->o.on_exchange) {
        p->o.on_exchange(p->o.exchange_ud, &ex, recorded);
    }
    rp_exchange_cleanup(&ex);
}
