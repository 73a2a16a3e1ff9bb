/* SPDX-License-Identifier: MIT */
/* The recording proxy, library level: the proxy and a tiny upstream run in threads of the test
 * on 127.0.0.1, libcurl is the browser, and the recording is read back with the reader. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include <reprise/ca.h>
#include <reprise/filter.h>
#include <reprise/limits.h>
#include <reprise/proxy.h>
#include <reprise/recording.h>

#include "helpers.h"

/* ----- a tiny upstream: canned answers by path, keep-alive, one connection at a time ----- */

struct upstream {
    int lfd;
    unsigned port;
    pthread_t th;
};

static const char *answer_for(const char *req)
{
    if (strncmp(req, "GET /chunked ", 13) == 0) {
        return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    }
    if (strncmp(req, "GET /app.css ", 13) == 0) {
        return "HTTP/1.1 200 OK\r\nContent-Type: text/css\r\nContent-Length: 11\r\n\r\n"
               "body{x:1}\r\n";
    }
    if (strncmp(req, "POST /api/login ", 16) == 0) {
        return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
               "{\"ok\":true}";
    }
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n"
           "{\"a\":1}\n";
}

static void serve_conn(struct upstream *u, int fd)
{
    char buf[65536];
    size_t len = 0;
    for (;;) {
        ssize_t k = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (k <= 0) {
            return;
        }
        len += (size_t)k;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        while (end) {
            size_t head = (size_t)(end + 4 - buf);
            size_t body = 0;
            char *cl = strstr(buf, "Content-Length:");
            if (cl && cl < end) {
                body = strtoul(cl + 15, NULL, 10);
            }
            if (len < head + body) {
                break;
            }
            char out[4096];
            int n;
            if (strncmp(buf, "GET /echo", 9) == 0 && (buf[9] == ' ' || buf[9] == '?')) {
                /* The request head as this upstream saw it, after its port. */
                char echo[2048];
                int en = snprintf(echo, sizeof(echo), "port=%u\n%.*s", u->port, (int)head, buf);
                n = snprintf(out, sizeof(out),
                             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: %d\r\n\r\n%s",
                             en, echo);
                if (write(fd, out, (size_t)n) != n) {
                    return;
                }
                memmove(buf, buf + head + body, len - head - body);
                len -= head + body;
                buf[len] = '\0';
                end = strstr(buf, "\r\n\r\n");
                continue;
            }
            if (strncmp(buf, "GET /ws ", 8) == 0) {
                /* Switch protocols, then echo raw bytes until the peer closes. */
                static const char sw[] =
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\n\r\n";
                if (write(fd, sw, sizeof(sw) - 1) < 0) {
                    return;
                }
                ssize_t k2;
                while ((k2 = read(fd, buf, sizeof(buf))) > 0) {
                    if (write(fd, buf, (size_t)k2) != k2) {
                        return;
                    }
                }
                return;
            }
            if (strncmp(buf, "GET /redirect ", 14) == 0) {
                n = snprintf(out, sizeof(out),
                             "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%u/next?a=1\r\n"
                             "Set-Cookie: sid=s3cr3tvalue; Domain=127.0.0.1; Path=/; HttpOnly\r\n"
                             "Content-Length: 0\r\n\r\n",
                             u->port);
            } else {
                n = snprintf(out, sizeof(out), "%s", answer_for(buf));
            }
            if (write(fd, out, (size_t)n) != n) {
                return;
            }
            memmove(buf, buf + head + body, len - head - body);
            len -= head + body;
            buf[len] = '\0';
            end = strstr(buf, "\r\n\r\n");
        }
    }
}

static void *upstream_main(void *ud)
{
    struct upstream *u = ud;
    for (;;) {
        int fd = accept(u->lfd, NULL, NULL);
        if (fd < 0) {
            return NULL;
        }
        serve_conn(u, fd);
        close(fd);
    }
}

static int listen_any(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    cr_assert(listen(fd, 16) == 0);
    socklen_t sl = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &sl);
    *port = ntohs(a.sin_port);
    return fd;
}

static void upstream_start(struct upstream *u)
{
    u->lfd = listen_any(&u->port);
    pthread_create(&u->th, NULL, upstream_main, u);
}

static void upstream_stop(struct upstream *u)
{
    shutdown(u->lfd, SHUT_RDWR);
    close(u->lfd);
    pthread_join(u->th, NULL);
}

/* ----- the proxy in a thread ----- */

struct seen {
    char lines[16][256];
    size_t n;
};

static void on_exchange(void *ud, const struct rp_exchange *ex, enum rp_intake_fate fate)
{
    struct seen *s = ud;
    if (s->n < 16) {
        snprintf(s->lines[s->n++], 256, "%s %s %u %s", ex->req.method, ex->req.url,
                 ex->has_response ? ex->resp.status : 0,
                 fate == RP_INTAKE_RECORDED ? "rec" : "skip");
    }
}

struct px {
    struct rp_proxy *p;
    pthread_t th;
    rp_code rc;
    struct rp_intake *in;
    struct seen seen;
    char *dir;
    char *path;
    char *ca_dir;
    char base[64];
};

static void *proxy_main(void *ud)
{
    struct px *x = ud;
    x->rc = rp_proxy_run(x->p, NULL);
    return NULL;
}

/* What a test looks at after a run: the intake's counts and the proxy's own. */
struct px_stats {
    uint64_t recorded, skipped_static, skipped_path, errors, skipped_host, dropped;
};

/* Starts a proxy recording through an intake configured by io (may be NULL: the defaults). */
static void px_start_io(struct px *x, const char *upstream, struct rp_proxy_opts *o,
                        const struct rp_intake_opts *io)
{
    memset(x, 0, sizeof(*x));
    signal(SIGPIPE, SIG_IGN);
    x->dir = tmp_dir();
    x->path = path_in(x->dir, "t.jsonl.gz");
    x->ca_dir = path_in(x->dir, "ca");
    if (!upstream) {
        o->forward = true;
        o->ca_dir = x->ca_dir;
        o->allow_local = true; /* the test upstreams are on 127.0.0.1 */
    }
    o->upstream = upstream;
    o->listen = "127.0.0.1:0";
    if (!o->on_exchange) {
        o->on_exchange = on_exchange;
        o->exchange_ud = &x->seen;
    }
    struct rp_intake_opts iopts = io ? *io : (struct rp_intake_opts){0};
    iopts.output = x->path;
    iopts.source_kind = "proxy";
    struct rp_error err = {0};
    cr_assert_eq(rp_intake_new(&iopts, &x->in, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_proxy_new(o, x->in, &x->p, &err), RP_OK, "%s", err.msg);
    snprintf(x->base, sizeof(x->base), "http://127.0.0.1:%u", rp_proxy_port(x->p));
    pthread_create(&x->th, NULL, proxy_main, x);
}

static void px_start(struct px *x, const char *upstream, struct rp_proxy_opts *o)
{
    px_start_io(x, upstream, o, NULL);
}

static void px_stop(struct px *x, struct px_stats *st)
{
    rp_proxy_stop(x->p, false);
    pthread_join(x->th, NULL);
    struct rp_proxy_stats ps;
    rp_proxy_stats(x->p, &ps);
    rp_proxy_free(x->p);
    cr_assert_eq(rp_intake_close(x->in, NULL), RP_OK);
    struct rp_intake_counts c;
    rp_intake_counts(x->in, &c);
    rp_intake_free(x->in);
    *st = (struct px_stats){.recorded = c.recorded,
                            .skipped_static = c.filtered_static,
                            .skipped_path = c.filtered_path,
                            .errors = c.errors + ps.unanswered,
                            .skipped_host = ps.skipped_host,
                            .dropped = ps.dropped};
}

static void px_cleanup(struct px *x)
{
    free(x->path);
    free(x->ca_dir);
    rm_tree(x->dir);
}

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    struct rp_buf *b = ud;
    cr_assert_eq(rp_buf_add(b, p, size * n, NULL), RP_OK);
    return size * n;
}

/* GETs (or POSTs body to) url; the status, headers and body come back. */
static long fetch(const char *url, const char *body, struct rp_buf *hdr, struct rp_buf *out)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, hdr);
    struct curl_slist *sl = NULL;
    if (body) {
        sl = curl_slist_append(sl, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, sl);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(sl);
    curl_easy_cleanup(h);
    return status;
}

/* Reads every exchange of the recording at path into v (at most n); returns how many. */
static size_t read_all(const char *path, struct rp_exchange *v, size_t n)
{
    struct rp_reader *r = NULL;
    cr_assert_eq(rp_reader_open(path, NULL, &r, NULL), RP_OK);
    size_t got_n = 0;
    for (;;) {
        bool got = false;
        struct rp_exchange ex;
        rp_exchange_init(&ex);
        cr_assert_eq(rp_reader_next(r, &ex, &got, NULL), RP_OK);
        if (!got || got_n == n) {
            rp_exchange_cleanup(&ex);
            break;
        }
        v[got_n++] = ex;
    }
    rp_reader_free(r);
    return got_n;
}

static void free_all(struct rp_exchange *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rp_exchange_cleanup(&v[i]);
    }
}

Test(proxy, records_the_upstreams_url_and_relays_the_answer)
{
    struct upstream u;
    upstream_start(&u);
    char up[64];
    snprintf(up, sizeof(up), "http://127.0.0.1:%u", u.port);
    struct rp_proxy_opts o = {0};
    struct px x;
    px_start(&x, up, &o);

    char url[128];
    snprintf(url, sizeof(url), "%s/api/items?x=1", x.base);
    struct rp_buf hdr, body;
    rp_buf_init(&hdr, 1 << 20);
    rp_buf_init(&body, 1 << 20);
    cr_assert_eq(fetch(url, NULL, &hdr, &body), 200);
    cr_assert_str_eq(body.data, "{\"a\":1}\n");

    struct px_stats st;
    px_stop(&x, &st);
    cr_assert_eq(st.recorded, 1);
    struct rp_exchange ex[4];
    cr_assert_eq(read_all(x.path, ex, 4), 1);
    char want[128];
    snprintf(want, sizeof(want), "http://127.0.0.1:%u/api/items?x=1", u.port);
    cr_assert_str_eq(ex[0].req.url, want);
    const struct rp_header *host = rp_headers_get(&ex[0].req.headers, "Host", NULL);
    cr_assert_not_null(host);
    cr_assert_str_eq(host->value, up + 7);
    cr_assert_eq(ex[0].resp.status, 200);
    cr_assert_str_eq((const char *)ex[0].resp.body.data, "{\"a\":1}\n");
    free_all(ex, 1);
    rp_buf_cleanup(&hdr);
    rp_buf_cleanup(&body);
    px_cleanup(&x);
    upstream_stop(&u);
}

Test(proxy, rewrites_location_and_cookie_domain_for_the_client_only)
{
    struct upstream u;
    upstream_start(&u);
    char up[64];
    snprintf(up, sizeof(up), "http://127.0.0.1:%u", u.port);
    struct rp_proxy_opts o = {0};
    struct px x;
    px_start(&x, up, &o);

    char url[128];
    snprintf(url, sizeof(url), "%s/redirect", x.base);
    struct rp_buf hdr, body;
    rp_buf_init(&hdr, 1 << 20);
    rp_buf_init(&body, 1 << 20);
    cr_assert_eq(fetch(url, NULL, &hdr, &body), 302);
    char want[160];
    snprintf(want, sizeof(want), "Location: %s/next?a=1\r\n", x.base);
    cr_assert_not_null(strstr(hdr.data, want), "%s", hdr.data);
    cr_assert_not_null(strstr(hdr.data, "Set-Cookie: sid=s3cr3tvalue; Path=/; HttpOnly\r\n"), "%s",
                       hdr.data);

    struct px_stats st;
    px_stop(&x, &st);
    struct rp_exchange ex[4];
    cr_assert_eq(read_all(x.path, ex, 4), 1);
    const struct rp_header *loc = rp_headers_get(&ex[0].resp.headers, "Location", NULL);
    snprintf(want, sizeof(want), "http://127.0.0.1:%u/next?a=1", u.port);
    cr_assert_str_eq(loc->value, want);
    const struct rp_header *sc = rp_headers_get(&ex[0].resp.headers, "Set-Cookie", NULL);
    /* A session cookie the server set is a record-time variable (reprise/vars.h). */
    cr_assert_str_eq(sc->value, "sid={{var:cookie_sid}}; Domain=127.0.0.1; Path=/; HttpOnly");
    cr_assert_eq(ex[0].n_vars, 1);
    cr_assert_str_eq(ex[0].vars[0].from, "cookie sid");
    free_all(ex, 1);
    rp_buf_cleanup(&hdr);
    rp_buf_cleanup(&body);
    px_cleanup(&x);
    upstream_stop(&u);
}

Test(proxy, chunked_answer_is_relayed_as_is_and_recorded_decoded)
{
    struct upstream u;
    upstream_start(&u);
    char up[64];
    snprintf(up, sizeof(up), "http://127.0.0.1:%u", u.port);
    struct rp_proxy_opts o = {0};
    struct px x;
    px_start(&x, up, &o);
    char url[128];
    snprintf(url, sizeof(url), "%s/chunked", x.base);
    struct rp_buf hdr, body;
    rp_buf_init(&hdr, 1 << 20);
    rp_buf_init(&body, 1 << 20);
    cr_assert_eq(fetch(url, NULL, &hdr, &body), 200);
    cr_assert_str_eq(body.data, "hello world");
    cr_assert_not_null(strstr(hdr.data, "Transfer-Encoding: chunked"));
    struct px_stats st;
    px_stop(&x, &st);
    struct rp_exchange ex[4];
    cr_assert_eq(read_all(x.path, ex, 4), 1);
    cr_assert_str_eq((const char *)ex[0].resp.body.data, "hello world");
    free_all(ex, 1);
    rp_buf_cleanup(&hdr);
    rp_buf_cleanup(&body);
    px_cleanup(&x);
    upstream_stop(&u);
}

Test(proxy, static_assets_and_other_paths_are_left_out_and_secrets_scrubbed)
{
    struct upstream u;
    upstream_start(&u);
    char up[64];
    snprintf(up, sizeof(up), "http://127.0.0.1:%u", u.port);
    const char *only[] = {"/api/*"};
    struct rp_proxy_opts o = {0};
    struct rp_intake_opts io = {.only_paths = only, .n_only_paths = 1};
    struct px x;
    px_start_io(&x, up, &o, &io);
    const char *paths[] = {"/app.css", "/other", "/api/login"};
    for (size_t i = 0; i < 3; i++) {
        char url[128];
        snprintf(url, sizeof(url), "%s%s", x.base, paths[i]);
        struct rp_buf hdr, body;
        rp_buf_init(&hdr, 1 << 20);
        rp_buf_init(&body, 1 << 20);
        const char *post = i == 2 ? "{\"user\":\"a\",\"password\":\"hunter2\"}" : NULL;
        cr_assert_eq(fetch(url, post, &hdr, &body), 200);
        rp_buf_cleanup(&hdr);
        rp_buf_cleanup(&body);
    }
    struct px_stats st;
    px_stop(&x, &st);
    cr_assert_eq(st.recorded, 1);
    cr_assert_eq(st.skipped_static, 1);
    cr_assert_eq(st.skipped_path, 1);
    cr_assert_eq(x.seen.n, 3);
    struct rp_exchange ex[4];
    cr_assert_eq(read_all(x.path, ex, 4), 1);
    cr_assert_str_eq((const char *)ex[0].req.body.data,
                     "{\"user\":\"a\",\"password\":\"{{secret:password}}\"}");
    free_all(ex, 1);
    px_cleanup(&x);
    upstream_stop(&u);
}

Test(proxy, refused_upstream_gives_502_and_an_unanswered_exchange)
{
    unsigned port;
    int fd = listen_any(&port);
    close(fd); /* nothing listens there now: connections are refused */
    char up[64];
    snprintf(up, sizeof(up), "http://127.0.0.1:%u", port);
    struct rp_proxy_opts o = {0};
    struct px x;
    px_start(&x, up, &o);
    char url[128];
    snprintf(url, sizeof(url), "%s/api/x", x.base);
    struct rp_buf hdr, body;
    rp_buf_init(&hdr, 1 << 20);
    rp_buf_init(&body, 1 << 20);
    cr_assert_eq(fetch(url, NULL, &hdr, &body), 502);
    struct px_stats st;
    px_stop(&x, &st);
    cr_assert_eq(st.errors, 1);
    struct rp_exchange ex[4];
    cr_assert_eq(read_all(x.path, ex, 4), 1);
    cr_assert_not(ex[0].has_response);
    cr_assert_not_null(ex[0].extra);
    cr_assert_not_null(strstr(ex[0].extra, "\"error\":\"upstream "), "%s", ex[0].extra);
    cr_assert_not_null(strstr(ex[0].extra, "connect"), "%s", ex[0].extra);
    free_all(ex, 1);
    rp_buf_cleanup(&hdr);
    rp_buf_cleanup(&body);
    px_cleanup(&x);
}

Test(proxy, bad_upstream_url_is_a_usage_error)
{
    struct rp_proxy_opts o = {.upstream = "ftp://x", .listen = "127.0.0.1:0"};
    struct rp_proxy *p = NULL;
    struct rp_error err = {0};
    char *dir = tmp_dir();
    char *out = path_in(dir, "x.jsonl.gz");
    struct rp_intake_opts io = {.output = out, .source_kind = "proxy"};
    struct rp_intake *in = NULL;
    cr_assert_eq(rp_intake_new(&io, &in, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_proxy_new(&o, in, &p, &err), RP_EUSAGE);
    cr_assert_null(p);
    o.upstream = "http://127.0.0.1:1/some/path";
    cr_assert_eq(rp_proxy_new(&o, in, &p, &err), RP_EUSAGE);
    rp_intake_free(in);
    free(out);
    rm_tree(dir);
    cr_assert_str_eq(err.msg, "--upstream http://127.0.0.1:1/some/path: a path is not supported, "
                              "only an origin");
}

/* Reads from fd until want (NUL-terminated) has arrived or the peer closes; true when it came. */
static bool read_until(int fd, char *buf, size_t cap, const char *want)
{
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t k = read(fd, buf + len, cap - 1 - len);
        if (k <= 0) {
            break;
        }
        len += (size_t)k;
        buf[len] = '\0';
        if (strstr(buf, want)) {
            return true;
        }
    }
    return false;
}

Test(proxy, websocket_upgrade_is_tunnelled_and_only_the_101_recorded)
{
    struct upstream u;
    upstream_start(&u);
    char up[64];
    snprintf(up, sizeof(up), "http://127.0.0.1:%u", u.port);
    struct rp_proxy_opts o = {0};
    struct px x;
    px_start(&x, up, &o);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)rp_proxy_port(x.p))};
    cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    static const char upg[] = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\n\r\n";
    cr_assert(write(fd, upg, sizeof(upg) - 1) == (ssize_t)(sizeof(upg) - 1));
    char buf[4096];
    cr_assert(read_until(fd, buf, sizeof(buf), "\r\n\r\n"));
    cr_assert(strncmp(buf, "HTTP/1.1 101 ", 13) == 0, "%s", buf);
    cr_assert(write(fd, "raw-bytes-1", 11) == 11);
    cr_assert(read_until(fd, buf, sizeof(buf), "raw-bytes-1"));
    cr_assert(write(fd, "GET / HTTP/1.1\r\n\r\n", 18) == 18);
    cr_assert(read_until(fd, buf, sizeof(buf), "GET / HTTP/1.1\r\n\r\n"));
    close(fd);

    struct px_stats st;
    px_stop(&x, &st);
    struct rp_exchange ex[4];
    cr_assert_eq(read_all(x.path, ex, 4), 1);
    cr_assert_eq(ex[0].resp.status, 101);
    free_all(ex, 1);
    px_cleanup(&x);
    upstream_stop(&u);
}

/* ----- forward mode ----- */

/* GETs url through the proxy at proxy (tunnel: by CONNECT even for http://), trusting the CA
 * certificate at cainfo for https; the status and body come back. */
static long fetch_via(const char *proxy, const char *url, bool tunnel, const char *cainfo,
                      struct rp_buf *out)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROXY, proxy);
    curl_easy_setopt(h, CURLOPT_HTTPPROXYTUNNEL, tunnel ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    if (cainfo) {
        curl_easy_setopt(h, CURLOPT_CAINFO, cainfo);
    }
    struct curl_slist *sl = NULL;
    sl = curl_slist_append(sl, "Proxy-Connection: keep-alive");
    sl = curl_slist_append(sl, "Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, sl);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(sl);
    curl_easy_cleanup(h);
    return status;
}

Test(proxy, forward_mode_relays_an_absolute_url_in_origin_form_and_records_it)
{
    struct upstream u;
    upstream_start(&u);
    struct rp_proxy_opts o = {0};
    struct px x;
    px_start(&x, NULL, &o);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo?q=1", u.port);
    struct rp_buf body;
    rp_buf_init(&body, 1 << 20);
    cr_assert_eq(fetch_via(x.base, url, false, NULL, &body), 200);
    cr_assert(strncmp(body.data, "port=", 5) == 0, "%s", body.data);
    const char *head = strchr(body.data, '\n') + 1;
    cr_assert(strncmp(head, "GET /echo?q=1 HTTP/1.1\r\n", 24) == 0, "%s", head);
    char host[64];
    snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%u\r\n", u.port);
    cr_assert_not_null(strstr(head, host), "%s", head);
    cr_assert_null(strstr(head, "Proxy-"), "%s", head);

    struct px_stats st;
    px_stop(&x, &st);
    cr_assert_eq(st.recorded, 1);
    struct rp_exchange ex[4];
    cr_assert_eq(read_all(x.path, ex, 4), 1);
    cr_assert_str_eq(ex[0].req.url, url);
    cr_assert_null(rp_headers_get(&ex[0].req.headers, "Proxy-Authorization", NULL));
    free_all(ex, 1);
    rp_buf_cleanup(&body);
    px_cleanup(&x);
    upstream_stop(&u);
}

Test(proxy, forward_mode_relays_hosts_outside_only_without_recording_them)
{
    struct upstream u;
    upstream_start(&u);
    const char *only[] = {"*.example.test"};
    struct rp_proxy_opts o = {.only_hosts = only, .n_only_hosts = 1};
    struct px x;
    px_start(&x, NULL, &o);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/items", u.port);
    struct rp_buf body;
    rp_buf_init(&body, 1 << 20);
    cr_assert_eq(fetch_via(x.base, url, false, NULL, &body), 200);
    cr_assert_str_eq(body.data, "{\"a\":1}\n");
    rp_buf_reset(&body);
    /* CONNECT to a host outside --only: a raw tunnel, here with plain HTTP inside. */
    cr_assert_eq(fetch_via(x.base, url, true, NULL, &body), 200);
    cr_assert_str_eq(body.data, "{\"a\":1}\n");

    struct px_stats st;
    px_stop(&x, &st);
    cr_assert_eq(st.recorded, 0);
    cr_assert_eq(st.skipped_host, 2);
    struct rp_exchange ex[4];
    cr_assert_eq(read_all(x.path, ex, 4), 0);
    rp_buf_cleanup(&body);
    px_cleanup(&x);
    upstream_stop(&u);
}

Test(proxy, forward_mode_refuses_a_request_without_an_absolute_url)
{
    struct rp_proxy_opts o = {0};
    struct px x;
    px_start(&x, NULL, &o);
    char url[128];
    snprintf(url, sizeof(url), "%s/api/items", x.base);
    struct rp_buf hdr, body;
    rp_buf_init(&hdr, 1 << 20);
    rp_buf_init(&body, 1 << 20);
    cr_assert_eq(fetch(url, NULL, &hdr, &body), 400);
    cr_assert_not_null(strstr(body.data, "forward proxy"), "%s", body.data);
    struct px_stats st;
    px_stop(&x, &st);
    cr_assert_eq(st.recorded, 0);
    rp_buf_cleanup(&hdr);
    rp_buf_cleanup(&body);
    px_cleanup(&x);
}

static int connect_port(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)port)};
    cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    return fd;
}

Test(proxy, forward_mode_moves_one_connection_to_the_next_requests_origin)
{
    struct upstream u1, u2;
    upstream_start(&u1);
    upstream_start(&u2);
    struct rp_proxy_opts o = {0};
    struct px x;
    px_start(&x, NULL, &o);
    /* Two requests for two origins sent at once on one connection: the second waits for the
     * first answer, then goes to its own upstream. */
    char reqs[512];
    int n = snprintf(reqs, sizeof(reqs),
                     "GET http://127.0.0.1:%u/echo HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n"
                     "GET http://127.0.0.1:%u/echo HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                     "Connection: close\r\n\r\n",
                     u1.port, u1.port, u2.port, u2.port);
    int fd = connect_port(rp_proxy_port(x.p));
    cr_assert(write(fd, reqs, (size_t)n) == n);
    char buf[8192];
    char want[32];
    snprintf(want, sizeof(want), "port=%u\n", u2.port);
    cr_assert(read_until(fd, buf, sizeof(buf), want), "%s", buf);
    char first[32];
    snprintf(first, sizeof(first), "port=%u\n", u1.port);
    cr_assert_not_null(strstr(buf, first), "%s", buf);
    cr_assert(strstr(buf, first) < strstr(buf, want));
    close(fd);

    struct px_stats st;
    px_stop(&x, &st);
    struct rp_exchange ex[4];
    cr_assert_eq(read_all(x.path, ex, 4), 2);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo", u1.port);
    cr_assert_str_eq(ex[0].req.url, url);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo", u2.port);
    cr_assert_str_eq(ex[1].req.url, url);
    free_all(ex, 2);
    px_cleanup(&x);
    upstream_stop(&u1);
    upstream_stop(&u2);
}

/* A TLS upstream: one connection at a time, one JSON answer each, certificate from its own
 * CA (made with reprise's CA module, in a directory of the test's). */
struct tls_upstream {
    int lfd;
    unsigned port;
    pthread_t th;
    SSL_CTX *ctx;
};

static void *tls_upstream_main(void *ud)
{
    struct tls_upstream *t = ud;
    for (;;) {
        int fd = accept(t->lfd, NULL, NULL);
        if (fd < 0) {
            return NULL;
        }
        SSL *ssl = SSL_new(t->ctx);
        SSL_set_fd(ssl, fd);
        char buf[4096];
        size_t len = 0;
        if (SSL_accept(ssl) == 1) {
            int k;
            while (len + 1 < sizeof(buf) &&
                   (k = SSL_read(ssl, buf + len, (int)(sizeof(buf) - 1 - len))) > 0) {
                len += (size_t)k;
                buf[len] = '\0';
                if (strstr(buf, "\r\n\r\n")) {
                    static const char ans[] =
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        "Content-Length: 12\r\nConnection: close\r\n\r\n{\"tls\":true}";
                    (void)SSL_write(ssl, ans, sizeof(ans) - 1);
                    break;
                }
            }
            (void)SSL_shutdown(ssl);
        }
        SSL_free(ssl);
        close(fd);
    }
}

Test(proxy, forward_mode_intercepts_connect_with_a_certificate_from_its_ca)
{
    char *up_dir = tmp_dir();
    struct rp_ca *up_ca = NULL;
    bool created = false;
    cr_assert_eq(rp_ca_open(up_dir, true, &up_ca, &created, NULL), RP_OK);
    struct tls_upstream t = {0};
    cr_assert_eq(rp_ca_server_ctx(up_ca, "127.0.0.1", &t.ctx, NULL), RP_OK);
    t.lfd = listen_any(&t.port);
    pthread_create(&t.th, NULL, tls_upstream_main, &t);

    /* The proxy trusts the upstream's CA; the client trusts the proxy's. */
    struct rp_proxy_opts o = {.cacert = rp_ca_cert_path(up_ca)};
    struct px x;
    px_start(&x, NULL, &o);
    char *proxy_ca = path_in(x.ca_dir, "ca.pem");
    char url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/api/me", t.port);
    struct rp_buf body;
    rp_buf_init(&body, 1 << 20);
    cr_assert_eq(fetch_via(x.base, url, true, proxy_ca, &body), 200);
    cr_assert_str_eq(body.data, "{\"tls\":true}");
    rp_buf_reset(&body);
    /* A client that does not trust the proxy's CA gets no answer. */
    cr_assert_eq(fetch_via(x.base, url, true, rp_ca_cert_path(up_ca), &body), 0);

    struct px_stats st;
    px_stop(&x, &st);
    cr_assert_eq(st.recorded, 1);
    struct rp_exchange ex[4];
    cr_assert_eq(read_all(x.path, ex, 4), 1);
    cr_assert_str_eq(ex[0].req.url, url);
    cr_assert_str_eq((const char *)ex[0].resp.body.data, "{\"tls\":true}");
    free_all(ex, 1);

    shutdown(t.lfd, SHUT_RDWR);
    close(t.lfd);
    pthread_join(t.th, NULL);
    rp_ca_free(up_ca);
    rp_buf_cleanup(&body);
    free(proxy_ca);
    px_cleanup(&x);
    rm_tree(up_dir);
}

/* ----- the recording thread ----- */

/* An on_exchange that holds the recording thread in the first call until released, and keeps
 * the paths it saw in order; a log that counts the "queue is full" warnings. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool entered;
    bool released;
    char paths[64][32];
    size_t n;
    size_t calls;
    uint64_t full_warnings;
};

static void gate_init(struct gate *g)
{
    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
}

static void gate_cleanup(struct gate *g)
{
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
}

static void gated_exchange(void *ud, const struct rp_exchange *ex, enum rp_intake_fate fate)
{
    (void)fate;
    struct gate *g = ud;
    pthread_mutex_lock(&g->lock);
    const char *path = strstr(ex->req.url, "/item/");
    if (g->n < 64) {
        snprintf(g->paths[g->n++], 32, "%s", path ? path : ex->req.url);
    }
    g->calls++;
    g->entered = true;
    pthread_cond_broadcast(&g->cond);
    while (!g->released) {
        pthread_cond_wait(&g->cond, &g->lock);
    }
    pthread_mutex_unlock(&g->lock);
}

static void gate_log(void *ud, enum rp_log_level lvl, const char *msg)
{
    struct gate *g = ud;
    if (lvl == RP_LOG_WARN && strstr(msg, "the recording queue is full")) {
        pthread_mutex_lock(&g->lock);
        g->full_warnings++;
        pthread_mutex_unlock(&g->lock);
    }
}

/* Waits (at most 20 s) until the recording thread is held in the gate. */
static bool gate_wait_entered(struct gate *g)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&g->lock);
    int r = 0;
    while (!g->entered && r == 0) {
        r = pthread_cond_timedwait(&g->cond, &g->lock, &until);
    }
    bool in = g->entered;
    pthread_mutex_unlock(&g->lock);
    return in;
}

static void gate_release(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->released = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

/* A keep-alive connection to the proxy whose reads give up after 10 s (a held relay fails the
 * test instead of hanging it). */
static int connect_proxy(const struct px *x)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)rp_proxy_port(x->p))};
    cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* GET /item/i on fd, and its whole answer (the upstream's default {"a":1}). */
static bool get_item(int fd, size_t i)
{
    char req[128];
    int n = snprintf(req, sizeof(req), "GET /item/%zu HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", i);
    if (write(fd, req, (size_t)n) != n) {
        return false;
    }
    char buf[1024];
    return read_until(fd, buf, sizeof(buf), "{\"a\":1}\n") && strncmp(buf, "HTTP/1.1 200", 12) == 0;
}

Test(proxy, a_held_recorder_never_holds_the_relay_and_a_stop_writes_its_queue_in_order)
{
    struct upstream u;
    upstream_start(&u);
    char up[64];
    snprintf(up, sizeof(up), "http://127.0.0.1:%u", u.port);
    struct gate g;
    gate_init(&g);
    struct rp_proxy_opts o = {.on_exchange = gated_exchange, .exchange_ud = &g};
    struct px x;
    px_start(&x, up, &o);

    int fd = connect_proxy(&x);
    cr_assert(get_item(fd, 0));
    cr_assert(gate_wait_entered(&g), "the first exchange reached the recorder");
    /* The recorder is held in its first exchange: the relay goes on all the same. Before the
     * recording thread, the loop itself was held and this request never got its answer. */
    for (size_t i = 1; i < 20; i++) {
        cr_assert(get_item(fd, i), "request %zu answered while the recorder is held", i);
    }
    close(fd);
    /* A graceful stop while 19 exchanges wait: every one is written, in order. */
    rp_proxy_stop(x.p, false);
    gate_release(&g);
    struct px_stats st;
    px_stop(&x, &st);
    cr_assert_eq(st.recorded, 20);
    cr_assert_eq(st.dropped, 0);
    cr_assert_eq(st.errors, 0);
    struct rp_exchange ex[24];
    cr_assert_eq(read_all(x.path, ex, 24), 20);
    for (size_t i = 0; i < 20; i++) {
        char want[128];
        snprintf(want, sizeof(want), "%s/item/%zu", up, i);
        cr_assert_str_eq(ex[i].req.url, want);
        snprintf(want, sizeof(want), "/item/%zu", i);
        cr_assert_str_eq(g.paths[i], want, "on_exchange in order");
    }
    cr_assert_eq(g.calls, 20);
    free_all(ex, 20);
    px_cleanup(&x);
    upstream_stop(&u);
    gate_cleanup(&g);
}

Test(proxy, a_full_recording_queue_counts_and_logs_what_it_drops_and_the_relay_goes_on)
{
    struct upstream u;
    upstream_start(&u);
    char up[64];
    snprintf(up, sizeof(up), "http://127.0.0.1:%u", u.port);
    struct gate g;
    gate_init(&g);
    struct rp_proxy_opts o = {
        .on_exchange = gated_exchange, .exchange_ud = &g, .log = gate_log, .log_ud = &g};
    struct px x;
    px_start(&x, up, &o);

    /* The first exchange holds the recorder (it stays queued while held); the queue takes
     * RP_PROXY_RECORD_QUEUE_MAX in all, and the 10 after them are dropped, each counted and
     * logged, while every request is answered. */
    size_t total = RP_PROXY_RECORD_QUEUE_MAX + 10;
    int fd = connect_proxy(&x);
    cr_assert(get_item(fd, 0));
    cr_assert(gate_wait_entered(&g));
    for (size_t i = 1; i < total; i++) {
        cr_assert(get_item(fd, i), "request %zu answered", i);
    }
    close(fd);
    rp_proxy_stop(x.p, false);
    gate_release(&g);
    struct px_stats st;
    px_stop(&x, &st);
    cr_assert_eq(st.dropped, 10);
    cr_assert_eq(g.full_warnings, 10);
    cr_assert_eq(st.recorded, RP_PROXY_RECORD_QUEUE_MAX);
    cr_assert_eq(st.recorded + st.dropped, total, "every exchange relayed is accounted for");
    cr_assert_eq(g.calls, RP_PROXY_RECORD_QUEUE_MAX);
    px_cleanup(&x);
    upstream_stop(&u);
    gate_cleanup(&g);
}
