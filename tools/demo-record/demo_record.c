/* SPDX-License-Identifier: MIT */
/*
 * reprise-demo-record: clicks through the demo shop's checkout (home page, sign-up, log-in,
 * dashboard, products, order, pay, order list) with libcurl, as a browser would, and writes
 * the session with the library's recording writer. It makes recordings/demo-checkout.jsonl.gz.
 *
 * It redacts as the recorder must: the password becomes {{secret:password}} and cookie values
 * {{secret:cookie_NAME}}. Server-assigned values (order ids, the CSRF token) are kept: they
 * are what replay correlates.
 *
 *   reprise-demo-record URL TENANT OUT.jsonl.gz
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include <reprise/reprise.h>

#define EMAIL_FMT "owner@%s.test"
#define PASSWORD  "correct-horse-battery-staple"

struct call {
    struct rp_exchange ex;
    struct rp_buf body;
    struct rp_buf reqhdr;
    bool status_seen;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    return rp_buf_add(&c->body, p, size * n, NULL) ? 0 : size * n;
}

/* Response header lines, one per call. Interim (1xx) responses reset what was collected. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    size_t len = size * n;
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r')) {
        len--;
    }
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        rp_headers_cleanup(&c->ex.resp.headers);
        free(c->ex.resp.reason);
        free(c->ex.resp.version);
        const char *sp = memchr(p, ' ', len);
        size_t vlen = sp ? (size_t)(sp - p) : len;
        c->ex.resp.version = rp_xstrndup(p, vlen);
        const char *sp2 = sp ? memchr(sp + 1, ' ', len - vlen - 1) : NULL;
        c->ex.resp.reason = sp2 ? rp_xstrndup(sp2 + 1, len - (size_t)(sp2 + 1 - p)) : NULL;
        c->status_seen = true;
        return size * n;
    }
    const char *colon = memchr(p, ':', len);
    if (colon && len) {
        const char *v = colon + 1;
        while (v < p + len && (*v == ' ' || *v == '\t')) {
            v++;
        }
        rp_ignore(rp_headers_add(&c->ex.resp.headers, p, (size_t)(colon - p), v,
                                 (size_t)(p + len - v), NULL));
    }
    return size * n;
}

/* The request headers exactly as libcurl sent them. */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)h;
    struct call *c = ud;
    if (type == CURLINFO_HEADER_OUT) {
        rp_ignore(rp_buf_add(&c->reqhdr, data, size, NULL));
    }
    return 0;
}

/* Replaces every cookie value in a Cookie or Set-Cookie value with a placeholder. */
static char *redact_cookie(const char *v, bool set_cookie)
{
    struct rp_buf out;
    rp_buf_init(&out, 64 * 1024);
    const char *p = v;
    while (*p) {
        const char *end = strchr(p, ';');
        size_t seg = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', seg);
        if (eq) {
            rp_ignore(rp_buf_add(&out, p, (size_t)(eq - p), NULL));
            rp_ignore(rp_buf_addf(&out, NULL, "={{secret:cookie_%.*s}}", (int)(eq - p), p));
        } else {
            rp_ignore(rp_buf_add(&out, p, seg, NULL));
        }
        if (!end) {
            break;
        }
        if (set_cookie) {
            /* Only the first pair of a Set-Cookie is the cookie; the rest are attributes. */
            rp_ignore(rp_buf_adds(&out, end, NULL));
            break;
        }
        rp_ignore(rp_buf_adds(&out, "; ", NULL));
        p = end + 1;
        while (*p == ' ') {
            p++;
        }
    }
    return rp_buf_take(&out, NULL);
}

static void parse_request_headers(struct call *c)
{
    /* The first line is the request line; the rest are headers up to the blank line. */
    char *s = c->reqhdr.data;
    if (!s) {
        return;
    }
    char *line = strstr(s, "\r\n");
    while (line) {
        line += 2;
        char *next = strstr(line, "\r\n");
        if (!next || next == line) {
            break;
        }
        char *colon = memchr(line, ':', (size_t)(next - line));
        if (colon) {
            char *v = colon + 1;
            while (*v == ' ') {
                v++;
            }
            char *val = rp_xstrndup(v, (size_t)(next - v));
            if (rp_strieq(line, (size_t)(colon - line), "Cookie")) {
                char *r = redact_cookie(val, false);
                free(val);
                val = r;
            }
            rp_ignore(rp_headers_add(&c->ex.req.headers, line, (size_t)(colon - line), val,
                                     strlen(val), NULL));
            free(val);
        }
        line = next;
    }
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Sends one request and appends the exchange. recorded_body, when not NULL, is what the
 * recording shows instead of the body sent (the body with its secret replaced).
 */
static int step(CURL *h, struct rp_writer *w, const char *method, const char *url, const char *body,
                const char *recorded_body, const char *csrf, char **out_body, unsigned want_status)
{
    struct call c;
    memset(&c, 0, sizeof(c));
    rp_exchange_init(&c.ex);
    rp_buf_init(&c.body, 16 * 1024 * 1024);
    rp_buf_init(&c.reqhdr, 1024 * 1024);

    struct curl_slist *hdrs = NULL;
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    }
    char csrf_hdr[256];
    if (csrf) {
        snprintf(csrf_hdr, sizeof(csrf_hdr), "X-CSRF-Token: %s", csrf);
        hdrs = curl_slist_append(hdrs, csrf_hdr);
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json, text/html;q=0.9");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    if (!body && strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    }
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, &c);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);

    c.ex.start_us = rp_now_us();
    int64_t t0 = mono_us();
    CURLcode cc = curl_easy_perform(h);
    c.ex.duration_us = (uint64_t)(mono_us() - t0);
    curl_slist_free_all(hdrs);
    int rc = 1;
    if (cc != CURLE_OK) {
        fprintf(stderr, "reprise-demo-record: %s %s: %s\n", method, url, curl_easy_strerror(cc));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if ((unsigned)status != want_status) {
        fprintf(stderr, "reprise-demo-record: %s %s: status %ld, want %u\n", method, url, status,
                want_status);
        goto out;
    }
    c.ex.req.method = rp_xstrdup(method);
    c.ex.req.url = rp_xstrdup(url);
    c.ex.req.version = rp_xstrdup("HTTP/1.1");
    parse_request_headers(&c);
    const char *shown = recorded_body ? recorded_body : body;
    if (shown) {
        rp_body_set(&c.ex.req.body, shown, strlen(shown));
    }
    c.ex.has_response = true;
    c.ex.resp.status = (unsigned)status;
    for (size_t i = 0; i < c.ex.resp.headers.n; i++) {
        struct rp_header *hh = &c.ex.resp.headers.v[i];
        if (rp_strieq(hh->name, hh->name_len, "Set-Cookie")) {
            char *r = redact_cookie(hh->value, true);
            free(hh->value);
            hh->value = r;
            hh->value_len = strlen(r);
        }
    }
    rp_body_set(&c.ex.resp.body, c.body.data, c.body.len);
    c.ex.conn_id = 1;
    struct rp_error err = {0};
    if (rp_writer_append(w, &c.ex, &err)) {
        fprintf(stderr, "reprise-demo-record: %s\n", err.msg);
        goto out;
    }
    if (out_body) {
        *out_body = rp_buf_take(&c.body, NULL);
    }
    rc = 0;
out:
    rp_exchange_cleanup(&c.ex);
    rp_buf_cleanup(&c.body);
    rp_buf_cleanup(&c.reqhdr);
    return rc;
}

static char *json_field(const char *body, const char *key)
{
    cJSON *j = cJSON_Parse(body);
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    char *out = NULL;
    if (cJSON_IsString(v)) {
        out = rp_xstrdup(v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        out = rp_xmalloc(32);
        snprintf(out, 32, "%.0f", v->valuedouble);
    }
    cJSON_Delete(j);
    return out;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: reprise-demo-record URL TENANT OUT.jsonl.gz\n");
        return 2;
    }
    const char *base = argv[1];
    const char *tenant = argv[2];
    const char *path = argv[3];
    int rc = 1;
    char url[1024], body[1024], shown[1024], email[256];
    char *resp = NULL, *csrf = NULL, *order = NULL;
    snprintf(email, sizeof(email), EMAIL_FMT, tenant);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_COOKIEFILE, ""); /* an in-memory cookie jar */
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);

    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    meta.name = rp_xstrdup("demo-checkout");
    char created[32];
    rp_time_format(rp_now_us() / 1000000 * 1000000, created);
    meta.created = rp_xstrdup(created);
    meta.source_kind = rp_xstrdup("script");
    meta.source_detail = rp_xstrdup("tools/record-demo.sh");
    rp_ignore(rp_rec_meta_add_tenant(&meta, tenant, NULL));
    struct rp_writer *w = NULL;
    struct rp_error err = {0};
    if (rp_writer_open(path, &meta, NULL, &w, &err)) {
        fprintf(stderr, "reprise-demo-record: %s\n", err.msg);
        goto out;
    }

    snprintf(url, sizeof(url), "%s/", base);
    if (step(h, w, "GET", url, NULL, NULL, NULL, NULL, 200)) {
        goto out;
    }
    snprintf(url, sizeof(url), "%s/api/signup", base);
    snprintf(body, sizeof(body), "{\"tenant\":\"%s\",\"email\":\"%s\",\"password\":\"%s\"}", tenant,
             email, PASSWORD);
    snprintf(shown, sizeof(shown),
             "{\"tenant\":\"%s\",\"email\":\"%s\",\"password\":\"{{secret:password}}\"}", tenant,
             email);
    if (step(h, w, "POST", url, body, shown, NULL, NULL, 201)) {
        goto out;
    }
    snprintf(url, sizeof(url), "%s/api/login", base);
    if (step(h, w, "POST", url, body, shown, NULL, &resp, 200)) {
        goto out;
    }
    csrf = json_field(resp, "csrf_token");
    free(resp);
    resp = NULL;
    if (!csrf) {
        fprintf(stderr, "reprise-demo-record: login gave no csrf_token\n");
        goto out;
    }
    snprintf(url, sizeof(url), "%s/t/%s/", base, tenant);
    if (step(h, w, "GET", url, NULL, NULL, NULL, NULL, 200)) {
        goto out;
    }
    snprintf(url, sizeof(url), "%s/t/%s/api/products", base, tenant);
    if (step(h, w, "GET", url, NULL, NULL, NULL, NULL, 200)) {
        goto out;
    }
    snprintf(url, sizeof(url), "%s/t/%s/api/orders", base, tenant);
    const char *items = "{\"items\":[{\"product_id\":1,\"quantity\":2},"
                        "{\"product_id\":3,\"quantity\":1}]}";
    if (step(h, w, "POST", url, items, NULL, csrf, &resp, 201)) {
        goto out;
    }
    order = json_field(resp, "id");
    if (!order) {
        fprintf(stderr, "reprise-demo-record: the order has no id\n");
        goto out;
    }
    snprintf(url, sizeof(url), "%s/t/%s/api/orders/%s", base, tenant, order);
    if (step(h, w, "GET", url, NULL, NULL, NULL, NULL, 200)) {
        goto out;
    }
    snprintf(url, sizeof(url), "%s/t/%s/api/orders/%s/pay", base, tenant, order);
    if (step(h, w, "POST", url, "{\"method\":\"card\"}", NULL, csrf, NULL, 200)) {
        goto out;
    }
    snprintf(url, sizeof(url), "%s/t/%s/api/orders", base, tenant);
    if (step(h, w, "GET", url, NULL, NULL, NULL, NULL, 200)) {
        goto out;
    }
    rc = 0;
out:
    if (rp_writer_close(w, &err) && rc == 0) {
        fprintf(stderr, "reprise-demo-record: %s\n", err.msg);
        rc = 1;
    }
    rp_rec_meta_cleanup(&meta);
    free(resp);
    free(csrf);
    free(order);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    return rc;
}
