/* SPDX-License-Identifier: MIT */
/*
 * reprise-demo: a small multi-tenant shop, kept in memory, for recording and replaying web
 * sessions against. This file holds the command line, the libmicrohttpd glue (request bodies,
 * compression, chunked replies, logging) and the signal handling; the routes are in api.c.
 *
 *   reprise-demo --listen HOST:PORT [--drift] [--leak] [--noise] [--quiet] [--first-id N]
 *                [--delay PATTERN=MS]... [--fail-once PATH] [--gateway-error PATH]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#define ZLIB_CONST
#include <microhttpd.h>
#include <zlib.h>

#include "demo.h"

#define DEFAULT_LISTEN     "127.0.0.1:8080"
#define GZIP_MIN_BYTES     256
#define STREAM_BLOCK       1024 /* bytes per chunk of a chunked reply */
#define MAX_CONNECTIONS    256
#define CONNECTION_TIMEOUT 30          /* seconds */
#define CONNECTION_MEMORY  (64 * 1024) /* MHD's per-connection buffer: caps the headers */
#define MAX_LOGGED_PATH    256
#define MAX_DELAYS         8
#define MAX_DELAY_MS       60000

struct demo_opts {
    char host[INET6_ADDRSTRLEN];
    uint16_t port;
    bool v6;
    struct sockaddr_storage addr;
    bool drift;
    bool leak;
    bool quiet;
    uint64_t first_id;
    struct demo_delay delays[MAX_DELAYS];
    size_t n_delays;
    bool noise;
    const char *fail_once;     /* --fail-once PATH */
    const char *gateway_error; /* --gateway-error PATH */
};

/* One request's state, from its headers to the request-completed callback. */
struct conn_req {
    char method[16]; /* for the log line */
    char *path;      /* for the log line: capped, control characters replaced */
    char *body;      /* NUL-terminated; at most DEMO_MAX_BODY bytes */
    size_t len;
    bool too_big;
    bool replied;
    unsigned status;
};

/* ------------------------------------------------------------------------------------------ */
/* Command line. */

static const char usage[] =
    "usage: reprise-demo [--listen HOST:PORT] [--drift] [--leak] [--noise] [--quiet]\n"
    "                    [--first-id N] [--delay PATTERN=MS]... [--fail-once PATH]\n"
    "                    [--gateway-error PATH]\n"
    "\n"
    "A small multi-tenant shop kept in memory, to record and replay sessions against.\n"
    "Once listening it prints its URL (http://HOST:PORT) on one line of standard output.\n"
    "\n"
    "  --listen HOST:PORT  address to listen on, an IPv4 or [IPv6] literal; port 0 picks a\n"
    "                      free port (default " DEFAULT_LISTEN ")\n"
    "  --drift             serve order item prices as strings (\"2.50\") instead of numbers:\n"
    "                      a deliberate regression for replay to catch\n"
    "  --leak              GET /t/NAME/api/orders/ID checks the session but not the tenant:\n"
    "                      a deliberate isolation bug for `reprise probe` to catch\n"
    "  --noise             order objects vary by tenant as real APIs do (a field null or\n"
    "                      missing, a new enum value, a number as a string), for\n"
    "                      `reprise shape --learn`\n"
    "  --quiet             do not log one line per request to standard error\n"
    "  --first-id N        number the admin's things, GraphQL orders and API notes from N on\n"
    "                      (one sequence for all tenants; default 1)\n"
    "  --delay PATTERN=MS  reply MS milliseconds late (1 to 60000) to a path matching the\n"
    "                      shell pattern PATTERN, '*' crossing '/' (/t/*/api/orders/*/pay):\n"
    "                      a deliberate slowdown for replay's latency budget; up to 8 of them\n"
    "  --fail-once PATH    the first request whose path ends with PATH (/api/products matches\n"
    "                      every tenant's) gets a 500, once over the process: a flaky step\n"
    "  --gateway-error PATH  every request whose path ends with PATH gets a 502 Bad Gateway,\n"
    "                      as a load balancer gives for an application it cannot reach\n"
    "  --help              print this help and exit\n";

static const struct option longopts[] = {
    {"listen", required_argument, NULL, 'l'},
    {"drift", no_argument, NULL, 'd'},
    {"quiet", no_argument, NULL, 'q'},
    {"first-id", required_argument, NULL, 'f'},
    {"leak", no_argument, NULL, 'L'},
    {"noise", no_argument, NULL, 'N'}, /* orders vary by tenant */
    {"delay", required_argument, NULL, 'D'},
    {"fail-once", required_argument, NULL, 'F'},
    {"gateway-error", required_argument, NULL, 'G'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "reprise-demo: %s%s%s\ntry 'reprise-demo --help'\n", what, arg ? ": " : "",
            arg ? arg : "");
    return 2;
}

/* Splits HOST:PORT or [HOST]:PORT and parses both as literals into opts. */
static bool parse_listen(const char *s, struct demo_opts *opts)
{
    const char *host = s;
    size_t host_len;
    const char *port;
    bool v6 = false;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') {
            return false;
        }
        host = s + 1;
        host_len = (size_t)(close - host);
        port = close + 2;
        v6 = true;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon) {
            return false;
        }
        host_len = (size_t)(colon - s);
        port = colon + 1;
    }
    if (host_len == 0 || host_len >= sizeof(opts->host)) {
        return false;
    }
    size_t plen = strlen(port);
    if (plen == 0 || plen > 5 || strspn(port, "0123456789") != plen) {
        return false;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long p = strtoull(port, &end, 10);
    if (errno || *end || p > 65535) {
        return false;
    }
    memcpy(opts->host, host, host_len);
    opts->host[host_len] = '\0';
    memset(&opts->addr, 0, sizeof(opts->addr));
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&opts->addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)p);
        if (inet_pton(AF_INET6, opts->host, &a->sin6_addr) != 1) {
            return false;
        }
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&opts->addr;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)p);
        if (inet_pton(AF_INET, opts->host, &a->sin_addr) != 1) {
            return false;
        }
    }
    opts->port = (uint16_t)p;
    opts->v6 = v6;
    return true;
}

/* Parses PATTERN=MS (split at the last '=', which is cut to a NUL) into the next delay. */
static bool parse_delay(char *arg, struct demo_opts *opts)
{
    char *eq = strrchr(arg, '=');
    if (!eq || eq == arg || opts->n_delays == MAX_DELAYS) {
        return false;
    }
    size_t len = strlen(eq + 1);
    errno = 0;
    char *end = NULL;
    unsigned long long ms = strtoull(eq + 1, &end, 10);
    if (len == 0 || len > 5 || strspn(eq + 1, "0123456789") != len || errno || *end || ms == 0 ||
        ms > MAX_DELAY_MS) {
        return false;
    }
    *eq = '\0';
    opts->delays[opts->n_delays].pattern = arg;
    opts->delays[opts->n_delays].ms = (unsigned)ms;
    opts->n_delays++;
    return true;
}

/* Returns -1 to run, or the exit code: 0 after --help, 2 on a usage error. */
static int parse_args(int argc, char **argv, struct demo_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    const char *listen = DEFAULT_LISTEN;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "", longopts, NULL);
        if (c == -1) {
            break;
        }
        switch (c) {
        case 'l':
            listen = optarg;
            break;
        case 'd':
            opts->drift = true;
            break;
        case 'L':
            opts->leak = true;
            break;
        case 'N':
            opts->noise = true;
            break;
        case 'q':
            opts->quiet = true;
            break;
        case 'D':
            if (!parse_delay(optarg, opts)) {
                return usage_error("--delay wants PATTERN=MS, MS from 1 to 60000, at most 8 times",
                                   optarg);
            }
            break;
        case 'f': {
            size_t len = strlen(optarg);
            char *end = NULL;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (len == 0 || len > 12 || strspn(optarg, "0123456789") != len || errno || *end ||
                v == 0) {
                return usage_error("--first-id wants a number from 1 to 999999999999", optarg);
            }
            opts->first_id = (uint64_t)v;
            break;
        }
        case 'F':
        case 'G':
            if (optarg[0] != '/') {
                return usage_error(c == 'F' ? "--fail-once wants a path starting with /"
                                            : "--gateway-error wants a path starting with /",
                                   optarg);
            }
            *(c == 'F' ? &opts->fail_once : &opts->gateway_error) = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            if (optopt == 'f') {
                return usage_error("--first-id needs N", NULL);
            }
            if (optopt == 'D') {
                return usage_error("--delay needs PATTERN=MS", NULL);
            }
            if (optopt == 'F' || optopt == 'G') {
                return usage_error(
                    optopt == 'F' ? "--fail-once needs PATH" : "--gateway-error needs PATH", NULL);
            }
            return usage_error(optopt == 'l' ? "--listen needs HOST:PORT" : "unknown option",
                               optopt == 'l' ? NULL : argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return usage_error("unexpected argument", argv[optind]);
    }
    if (!parse_listen(listen, opts)) {
        return usage_error("--listen wants IPV4:PORT or [IPV6]:PORT", listen);
    }
    return -1;
}

/* ------------------------------------------------------------------------------------------ */
/* Replies. */

/* Whether an Accept-Encoding value accepts gzip: a "gzip" or "*" token whose q is not 0. */
static bool accepts_gzip(const char *v)
{
    while (v && *v) {
        v += strspn(v, " \t,");
        size_t tok = strcspn(v, ";, \t");
        const char *params = v + tok;
        size_t plen = strcspn(params, ",");
        bool named = (tok == 4 && strncasecmp(v, "gzip", 4) == 0) || (tok == 1 && *v == '*');
        if (named) {
            const char *q = params;
            const char *stop = params + plen;
            bool zero = false;
            while (q < stop) {
                q += strspn(q, " \t;");
                if (q + 2 <= stop && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
                    size_t qlen = strcspn(q + 2, " \t;,");
                    zero = qlen > 0 && q[2] == '0' && strspn(q + 2, "0.") >= qlen;
                }
                q += strcspn(q, ";,");
            }
            if (!zero) {
                return true;
            }
        }
        v = params + plen;
    }
    return false;
}

/* Compresses in into a new gzip member (zlib windowBits 31). */
static bool gzip_body(const char *in, size_t len, char **out, size_t *out_len)
{
    if (len > UINT_MAX / 2) {
        return false;
    }
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return false;
    }
    uLong bound = deflateBound(&z, (uLong)len);
    char *buf = demo_xmalloc(bound);
    z.next_in = (const Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return false;
    }
    *out = buf;
    *out_len = n;
    return true;
}

/* A body sent with unknown size, so that MHD frames it with Transfer-Encoding: chunked. */
struct stream {
    char *data;
    size_t len;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    if (pos >= s->len) {
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = s->len - (size_t)pos;
    if (n > max) {
        n = max;
    }
    if (n > STREAM_BLOCK) {
        n = STREAM_BLOCK;
    }
    memcpy(buf, s->data + pos, n);
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream *s = cls;
    free(s->data);
    free(s);
}

static bool add_header(struct MHD_Response *resp, const char *name, const char *value)
{
    return MHD_add_response_header(resp, name, value) == MHD_YES;
}

/* Turns rep into an MHD response and queues it. Takes what rep owns. */
static enum MHD_Result send_reply(struct MHD_Connection *conn, struct conn_req *r,
                                  struct demo_reply *rep)
{
    enum MHD_Result ret = MHD_NO;
    struct MHD_Response *resp = NULL;
    bool compressible = rep->content_type && !rep->chunked && rep->body_len >= GZIP_MIN_BYTES &&
                        (strcmp(rep->content_type, DEMO_CT_JSON) == 0 ||
                         strcmp(rep->content_type, DEMO_CT_HTML) == 0);
    bool gzipped = false;

    if (rep->chunked) {
        struct stream *s = demo_xcalloc(1, sizeof(*s));
        s->data = rep->body;
        s->len = rep->body_len;
        rep->body = NULL;
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, s,
                                                 stream_free);
        if (!resp) {
            stream_free(s);
        }
    } else if (rep->body) {
        const char *ae =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
        char *z = NULL;
        size_t zlen = 0;
        if (compressible && accepts_gzip(ae) && gzip_body(rep->body, rep->body_len, &z, &zlen)) {
            resp = MHD_create_response_from_buffer_with_free_callback(zlen, z, free);
            if (!resp) {
                free(z);
            }
            gzipped = true;
        } else {
            resp =
                MHD_create_response_from_buffer_with_free_callback(rep->body_len, rep->body, free);
            if (resp) {
                rep->body = NULL;
            }
        }
    } else {
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    if (!resp) {
        goto out;
    }

    bool ok = true;
    if (rep->content_type) {
        ok = ok && add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
    }
    if (compressible) {
        ok = ok && add_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    }
    if (gzipped) {
        ok = ok && add_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    }
    if (rep->location) {
        ok = ok && add_header(resp, MHD_HTTP_HEADER_LOCATION, rep->location);
    }
    if (rep->set_cookie) {
        ok = ok && add_header(resp, MHD_HTTP_HEADER_SET_COOKIE, rep->set_cookie);
    }
    if (rep->allow) {
        ok = ok && add_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow);
    }
    if (!ok) {
        goto out;
    }
    ret = MHD_queue_response(conn, rep->status, resp);
    r->status = rep->status;
    r->replied = true;
out:
    if (resp) {
        MHD_destroy_response(resp);
    }
    demo_reply_cleanup(rep);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, struct conn_req *r, unsigned status,
                                  const char *msg)
{
    struct demo_reply rep;
    memset(&rep, 0, sizeof(rep));
    demo_reply_error(&rep, status, msg);
    return send_reply(conn, r, &rep);
}

/* ------------------------------------------------------------------------------------------ */
/* Requests. */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/*
 * Decodes %HH in the path and query in place, as MHD's default does, except that %00 stays
 * as it is: the handler gets a C string, and a decoded NUL would cut "/orders/1%00x" down to
 * "/orders/1". Malformed escapes (%zz, a trailing %) are kept literally too.
 */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    char *w = s;
    for (const char *p = s; *p; p++) {
        if (p[0] == '%' && p[1] && p[2]) {
            int hi = hex_digit(p[1]);
            int lo = hex_digit(p[2]);
            if (hi >= 0 && lo >= 0 && (hi || lo)) {
                *w++ = (char)(hi * 16 + lo);
                p += 2;
                continue;
            }
        }
        *w++ = *p;
    }
    *w = '\0';
    return (size_t)(w - s);
}

static struct conn_req *new_request(const char *method, const char *url)
{
    struct conn_req *r = demo_xcalloc(1, sizeof(*r));
    if (strlen(method) < sizeof(r->method)) {
        memcpy(r->method, method, strlen(method) + 1);
    } else {
        memcpy(r->method, "(long)", sizeof("(long)"));
    }
    /* The path comes percent-decoded; keep the log to one printable line. */
    r->path = demo_xstrndup(url, MAX_LOGGED_PATH);
    for (char *p = r->path; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            *p = '?';
        }
    }
    return r;
}

/* Whether a Content-Length value announces more than the body cap. MHD has already rejected
 * values that are not numbers; anything odd left here is treated as too big. */
static bool announced_too_big(const char *cl)
{
    size_t len = strlen(cl);
    if (len == 0 || len > 20 || strspn(cl, "0123456789") != len) {
        return true;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long n = strtoull(cl, &end, 10);
    return errno || *end || n > DEMO_MAX_BODY;
}

/*
 * Waits before a reply to a path that --delay names. The wait is a plain sleep on the server's
 * one thread, so other requests wait too: enough for a test of one session's latency.
 */
static void delay_reply(const struct demo_app *app, const char *path)
{
    const struct demo_delay *delays = app->delays;
    for (size_t i = 0; i < app->n_delays; i++) {
        if (fnmatch(delays[i].pattern, path, 0) == 0) {
            struct timespec ts = {.tv_sec = delays[i].ms / 1000,
                                  .tv_nsec = (long)(delays[i].ms % 1000) * 1000000L};
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
            }
            return;
        }
    }
}

/* Whether path is suffix or ends with it: "/api/products" names every tenant's. */
static bool path_ends_with(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);
    return n >= k && strcmp(path + n - k, suffix) == 0;
}

/*
 * The faults for `reprise replay --retries`: --gateway-error's 502 for every request to its
 * path, and --fail-once's 500 for the first request to its path, before any handler runs (so
 * nothing is written). Returns true when rep was filled.
 */
static bool fault_reply(struct demo_app *app, const char *path, struct demo_reply *rep)
{
    if (app->gateway_error && path_ends_with(path, app->gateway_error)) {
        demo_reply_text(rep, 502, DEMO_CT_HTML,
                        "<html><body><h1>502 Bad Gateway</h1></body></html>\n");
        return true;
    }
    if (app->fail_once && path_ends_with(path, app->fail_once) &&
        !atomic_exchange(&app->failed_once, true)) {
        demo_reply_error(rep, 500, "--fail-once: this request fails, the next ones will not");
        return true;
    }
    return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)version;
    struct demo_app *app = cls;
    struct conn_req *r = *req_cls;

    /* The first call comes with the headers only. A body announced as too large is refused
     * now, before it is read; MHD then closes the connection instead of reading it. */
    if (!r) {
        r = new_request(method, url);
        *req_cls = r;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && announced_too_big(cl)) {
            r->too_big = true;
            return send_error(conn, r, 413, "request body too large (at most 65536 bytes)");
        }
        return MHD_YES;
    }

    /* Body data. A chunked upload that grows past the cap is read to its end and dropped,
     * and answered with 413 below. */
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big || r->replied) {
            return MHD_YES;
        }
        if (n > DEMO_MAX_BODY - r->len) {
            r->too_big = true;
            free(r->body);
            r->body = NULL;
            r->len = 0;
            return MHD_YES;
        }
        r->body = demo_xrealloc(r->body, r->len + n + 1);
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        r->body[r->len] = '\0';
        return MHD_YES;
    }

    if (r->replied) {
        return MHD_YES;
    }
    if (r->too_big) {
        return send_error(conn, r, 413, "request body too large (at most 65536 bytes)");
    }
    struct demo_request rq = {
        .method = method,
        .path = url,
        .session = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "demo_session"),
        .csrf = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token"),
        .body = r->body ? r->body : "",
        .body_len = r->len,
        .authorization =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
        .auth_token = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Auth-Token"),
        .content_type =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
    };
    struct demo_reply rep;
    memset(&rep, 0, sizeof(rep));
    if (!fault_reply(app, url, &rep)) {
        demo_route(app, &rq, &rep);
    }
    delay_reply(app, url);
    return send_reply(conn, r, &rep);
}

/* Logs the request and frees its state, the upload buffer included. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct demo_app *app = cls;
    struct conn_req *r = *req_cls;
    if (!r) {
        return;
    }
    if (!app->quiet) {
        fprintf(stderr, "reprise-demo: %s %s %u%s\n", r->method, r->path, r->status,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended early)");
    }
    free(r->body);
    free(r->path);
    free(r);
    *req_cls = NULL;
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    struct demo_opts opts;
    int code = parse_args(argc, argv, &opts);
    if (code >= 0) {
        return code;
    }

    /* SIGINT and SIGTERM are blocked before MHD starts its thread, so that thread inherits the
     * mask and the main thread alone takes them, synchronously, with sigwait. A peer that
     * hangs up mid-reply must not kill the process. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    struct sigaction ign;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, NULL);

    struct demo_app app = {
        .store = demo_store_new(),
        .objs = demo_objects_new(opts.first_id),
        .drift = opts.drift,
        .leak = opts.leak,
        .quiet = opts.quiet,
        .delays = opts.delays,
        .n_delays = opts.n_delays,
        .noise = opts.noise,
        .fail_once = opts.fail_once,
        .gateway_error = opts.gateway_error,
    };
    code = 1;
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD;
    if (opts.v6) {
        flags |= MHD_USE_DUAL_STACK;
    }
    if (!opts.quiet) {
        flags |= MHD_USE_ERROR_LOG;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, opts.port, NULL, NULL, on_request, &app, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&opts.addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, &app,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "reprise-demo: cannot listen on %s%s%s:%u\n", opts.v6 ? "[" : "", opts.host,
                opts.v6 ? "]" : "", (unsigned)opts.port);
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || info->port == 0) {
        fprintf(stderr, "reprise-demo: cannot tell which port it listens on\n");
        goto out;
    }
    printf("http://%s%s%s:%u\n", opts.v6 ? "[" : "", opts.host, opts.v6 ? "]" : "",
           (unsigned)info->port);
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    code = 0;
out:
    if (d) {
        MHD_stop_daemon(d);
    }
    demo_store_free(app.store);
    demo_objects_free(app.objs);
    return code;
}
