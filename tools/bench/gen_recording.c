/* SPDX-License-Identifier: MIT */
/*
 * reprise-bench-gen: writes a synthetic recording for the replay benchmark (tools/bench/
 * replay.sh) through the library's recording writer: N GETs of ORIGIN/bench/item.json, each
 * answered 200 with the small JSON body that the benchmark's nginx serves, so replay checks
 * every live response against a shape inferred from identical bodies.
 *
 *   reprise-bench-gen N ORIGIN OUT.jsonl.gz    write the recording
 *   reprise-bench-gen --body                   print the JSON body nginx must serve
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/reprise.h>

/* Twenty million exchanges is far past any useful benchmark and keeps N * spacing in range. */
#define BENCH_MAX_EXCHANGES 20000000ULL
/* Room for ORIGIN plus the path and query. */
#define BENCH_URL_MAX       2048
/* Recorded spacing of consecutive exchanges: replay sends as fast as it can anyway. */
#define BENCH_SPACING_US    200
#define BENCH_DURATION_US   150

/*
 * The one body both sides use: the script writes it into nginx's root with --body, so the
 * recorded response and the live one are byte for byte the same. No integer in it could be
 * mistaken for the ?n= values of the requests, so correlation finds nothing to carry.
 */
static const char BENCH_BODY[] =
    "{\"id\":\"item-7f3a9c\",\"name\":\"Bench item\",\"price\":12.5,\"currency\":\"EUR\","
    "\"in_stock\":true,\"tags\":[\"alpha\",\"beta\"],"
    "\"dimensions\":{\"width\":0.25,\"height\":1.75},\"discontinued\":null}\n";

static const char USAGE[] = "usage: reprise-bench-gen N ORIGIN OUT.jsonl.gz\n"
                            "       reprise-bench-gen --body\n";

/* Parses a positive decimal count no larger than max. */
static bool parse_count(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v == 0 || v > max) {
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

/*
 * The host[:port] of an http(s) origin, for the Host header: what follows "://" up to the
 * first '/', or NULL when ORIGIN is not of that form.
 */
static char *origin_host(const char *origin)
{
    const char *p = strstr(origin, "://");
    if (!p) {
        return NULL;
    }
    p += 3;
    size_t n = strcspn(p, "/?#");
    if (n == 0) {
        return NULL;
    }
    return rp_xstrndup(p, n);
}

/* Fills ex with exchange number i (1-based) of the recording. */
static rp_code build_exchange(struct rp_exchange *ex, const char *origin, const char *host,
                              uint64_t i, int64_t base_us, struct rp_error *err)
{
    char url[BENCH_URL_MAX];
    int n = snprintf(url, sizeof(url), "%s/bench/item.json?n=%" PRIu64, origin, i);
    if (n < 0 || (size_t)n >= sizeof(url)) {
        return rp_error_set(err, RP_ETOOBIG, "exchange %" PRIu64 ": URL longer than %d bytes", i,
                            BENCH_URL_MAX - 1);
    }
    char clen[32];
    n = snprintf(clen, sizeof(clen), "%zu", sizeof(BENCH_BODY) - 1);
    if (n < 0 || (size_t)n >= sizeof(clen)) {
        return rp_error_set(err, RP_EINTERNAL, "content length does not fit");
    }

    rp_exchange_cleanup(ex); /* leaves it initialised */
    ex->seq = 0;             /* the writer numbers it */
    ex->start_us = base_us + (int64_t)(i * BENCH_SPACING_US);
    ex->duration_us = BENCH_DURATION_US;
    ex->conn_id = 1;
    ex->req.method = rp_xstrdup("GET");
    ex->req.url = rp_xstrdup(url);
    ex->req.version = rp_xstrdup("HTTP/1.1");
    ex->has_response = true;
    ex->resp.status = 200;
    ex->resp.reason = rp_xstrdup("OK");
    ex->resp.version = rp_xstrdup("HTTP/1.1");
    rp_body_set(&ex->resp.body, BENCH_BODY, sizeof(BENCH_BODY) - 1);

    struct rp_headers *rq = &ex->req.headers;
    struct rp_headers *rs = &ex->resp.headers;
    rp_code rc = rp_headers_add(rq, "Host", 4, host, strlen(host), err);
    if (!rc) {
        rc = rp_headers_add(rq, "Accept", 6, "application/json", 16, err);
    }
    if (!rc) {
        rc = rp_headers_add(rq, "User-Agent", 10, "reprise-bench-gen/1", 19, err);
    }
    if (!rc) {
        rc = rp_headers_add(rs, "Content-Type", 12, "application/json", 16, err);
    }
    if (!rc) {
        rc = rp_headers_add(rs, "Content-Length", 14, clen, strlen(clen), err);
    }
    return rc;
}

static rp_code generate(uint64_t count, const char *origin, const char *path, struct rp_error *err)
{
    rp_code rc = RP_EUSAGE;
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    struct rp_writer *w = NULL;
    char *base = NULL;
    char *host = origin_host(origin);
    if (!host) {
        rc = rp_error_set(err, RP_EUSAGE, "ORIGIN must look like http://HOST[:PORT], not %s",
                          origin);
        goto out;
    }
    /* The origin is used as a prefix; a trailing slash would make "//bench". */
    size_t olen = strlen(origin);
    while (olen > 0 && origin[olen - 1] == '/') {
        olen--;
    }
    base = rp_xstrndup(origin, olen);

    char created[32];
    int64_t now = rp_now_us();
    rp_time_format(now, created);
    meta.name = rp_xstrdup("bench");
    meta.created = rp_xstrdup(created);
    meta.source_kind = rp_xstrdup("script");
    meta.source_detail = rp_xstrdup("tools/bench/gen_recording.c");
    rc = rp_rec_meta_add_tenant(&meta, "bench", err);
    if (rc) {
        goto out;
    }
    rc = rp_writer_open(path, &meta, NULL, &w, err);
    if (rc) {
        goto out;
    }
    for (uint64_t i = 1; i <= count; i++) {
        rc = build_exchange(&ex, base, host, i, now, err);
        if (rc) {
            goto out;
        }
        rc = rp_writer_append(w, &ex, err);
        if (rc) {
            goto out;
        }
    }
    /* Closing flushes the last gzip member: its failure is the run's failure. */
    rc = rp_writer_close(w, err);
    w = NULL;
out:
    /* On an earlier failure the close is only cleanup; the first error stands. */
    rp_ignore(rp_writer_close(w, NULL));
    rp_exchange_cleanup(&ex);
    rp_rec_meta_cleanup(&meta);
    free(base);
    free(host);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--body") == 0) {
        fputs(BENCH_BODY, stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    uint64_t count = 0;
    if (argc != 4 || !parse_count(argv[1], BENCH_MAX_EXCHANGES, &count)) {
        fputs(USAGE, stderr);
        return 2;
    }
    struct rp_error err;
    rp_error_clear(&err);
    rp_code rc = generate(count, argv[2], argv[3], &err);
    if (rc) {
        fprintf(stderr, "reprise-bench-gen: %s\n", err.msg);
        return rp_code_exit(rc);
    }
    return 0;
}
