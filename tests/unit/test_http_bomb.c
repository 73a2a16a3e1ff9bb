/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the HTTP parser's bounded work: a gzip bomb (single or double gzip, a GiB of
 * zeros in a few KB) is inflated only up to the body cap, whatever its decoded size, and the
 * parser stays in step for the next message; deferred decoding (the proxy's) reads a body
 * without inflating it and decodes it later to the same result; and rp_http_parser_reset()
 * resynchronises a parser after an error, keeping a linked response parser's method queue in step.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <reprise/http.h>
#include <reprise/limits.h>

#define ZBLOCK (64u * 1024u)

/* Appends n bytes at s to a growing buffer. */
static void put(unsigned char **b, size_t *len, size_t *cap, const void *s, size_t n)
{
    if (*len + n > *cap) {
        *cap = (*len + n) * 2;
        *b = realloc(*b, *cap);
        cr_assert(*b);
    }
    memcpy(*b + *len, s, n);
    *len += n;
}

/*
 * A gzip member of blocks * 64 KiB zeros, built without compressing them all: one raw deflate
 * block of 64 KiB zeros ended with a full flush (it needs no history) is repeated, then an
 * empty final block and the trailer (CRC-32 and size, from zlib's crc32_combine).
 */
static unsigned char *zero_bomb(uint64_t blocks, size_t *out_len)
{
    static unsigned char zeros[ZBLOCK];
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    cr_assert_eq(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    unsigned char blk[4096], fin[64];
    zs.next_in = zeros;
    zs.avail_in = ZBLOCK;
    zs.next_out = blk;
    zs.avail_out = sizeof(blk);
    cr_assert_eq(deflate(&zs, Z_FULL_FLUSH), Z_OK);
    size_t nblk = sizeof(blk) - zs.avail_out;
    zs.next_out = fin;
    zs.avail_out = sizeof(fin);
    cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t nfin = sizeof(fin) - zs.avail_out;
    deflateEnd(&zs);

    uLong crc64k = crc32(0, zeros, ZBLOCK);
    uLong crc = crc32(0, NULL, 0);
    size_t len = 0, cap = 0;
    unsigned char *b = NULL;
    static const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    put(&b, &len, &cap, head, sizeof(head));
    for (uint64_t i = 0; i < blocks; i++) {
        put(&b, &len, &cap, blk, nblk);
        crc = crc32_combine(crc, crc64k, ZBLOCK);
    }
    put(&b, &len, &cap, fin, nfin);
    uint64_t total = blocks * ZBLOCK;
    unsigned char tail[8];
    for (int i = 0; i < 4; i++) {
        tail[i] = (unsigned char)(crc >> (8 * i));
        tail[4 + i] = (unsigned char)(total >> (8 * i));
    }
    put(&b, &len, &cap, tail, sizeof(tail));
    *out_len = len;
    return b;
}

/* gzip of n bytes at s, with zlib (not the code under test). */
static unsigned char *gzip_of(const unsigned char *s, size_t n, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    cr_assert_eq(deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    zs.next_in = (unsigned char *)s;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    return out;
}

/* Feeds a response with the coding and body (in 4 KiB pieces, as a socket would). */
static void feed_response(struct rp_http_parser *p, const char *coding, const unsigned char *body,
                          size_t n)
{
    char head[256];
    int k = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %zu\r\n\r\n",
                     coding, n);
    cr_assert(k > 0 && (size_t)k < sizeof(head));
    cr_assert_eq(rp_http_parser_feed(p, head, (size_t)k, 1, NULL, NULL), RP_OK);
    for (size_t i = 0; i < n; i += 4096) {
        size_t m = n - i < 4096 ? n - i : 4096;
        cr_assert_eq(rp_http_parser_feed(p, body + i, m, 2, NULL, NULL), RP_OK);
    }
}

/* The next message is the small plain response that follows every bomb: the parser kept step. */
static void assert_next_plain(struct rp_http_parser *p)
{
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter";
    cr_assert_eq(rp_http_parser_feed(p, s, strlen(s), 3, NULL, NULL), RP_OK);
    struct rp_http_message m;
    rp_http_message_init(&m);
    cr_assert(rp_http_parser_next(p, &m));
    cr_assert_eq(m.body.len, 5);
    cr_assert_eq(memcmp(m.body.data, "after", 5), 0);
    cr_assert_not(m.body.truncated);
    rp_http_message_cleanup(&m);
}

Test(http_bomb, double_gzip_gib_of_zeros_inflates_only_up_to_the_cap)
{
    /* 16384 blocks of 64 KiB: 1 GiB of zeros, about 1 MB as gzip, a few KB gzipped again. */
    size_t n1 = 0, n2 = 0;
    unsigned char *inner = zero_bomb(16384, &n1);
    unsigned char *outer = gzip_of(inner, n1, &n2);
    cr_assert_lt(n2, 64 * 1024, "the bomb is small on the wire: %zu bytes", n2);

    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    uint64_t cap = 1024 * 1024;
    rp_http_parser_set_max_body(p, cap);
    feed_response(p, "gzip, gzip", outer, n2);
    struct rp_http_message m;
    rp_http_message_init(&m);
    cr_assert(rp_http_parser_next(p, &m));
    cr_assert_eq(m.body.len, cap);
    cr_assert(m.body.truncated);
    cr_assert_eq(m.body.orig_len, 0, "the decoded size is unknown: %llu",
                 (unsigned long long)m.body.orig_len);
    cr_assert_eq(m.flags & (RP_HTTP_MSG_DECODE_ERROR | RP_HTTP_MSG_INCOMPLETE), 0);
    cr_assert_eq(m.body.data[0], 0);
    cr_assert_eq(m.body.data[cap - 1], 0);
    /* Bounded work: the outer stage stops once the inner one has filled the body. Before the
     * fix both stages ran to the end: 1 GiB plus the inner stream. Each stage may overshoot
     * by its 16 KiB output buffer. */
    uint64_t work = rp_http_parser_inflated(p);
    cr_assert_leq(work, cap + 64 * 1024, "inflated %llu bytes for a %llu-byte cap",
                  (unsigned long long)work, (unsigned long long)cap);
    cr_assert_geq(work, cap);
    assert_next_plain(p);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
    free(inner);
    free(outer);
}

Test(http_bomb, single_gzip_bomb_costs_the_default_cap_not_its_size)
{
    size_t n = 0;
    unsigned char *bomb = zero_bomb(16384, &n); /* 1 GiB of zeros */
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    feed_response(p, "gzip", bomb, n);
    struct rp_http_message m;
    rp_http_message_init(&m);
    cr_assert(rp_http_parser_next(p, &m));
    cr_assert_eq(m.body.len, RP_MAX_BODY_RECORDED);
    cr_assert(m.body.truncated);
    cr_assert_eq(m.body.orig_len, 0);
    uint64_t work = rp_http_parser_inflated(p);
    cr_assert_leq(work, (uint64_t)RP_MAX_BODY_RECORDED + 32 * 1024, "inflated %llu",
                  (unsigned long long)work);
    assert_next_plain(p);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
    free(bomb);
}

Test(http_bomb, a_compressed_body_under_the_cap_is_whole_and_its_size_known)
{
    size_t n = 0;
    unsigned char *bomb = zero_bomb(4, &n); /* 256 KiB of zeros */
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    rp_http_parser_set_max_body(p, 256 * 1024);
    feed_response(p, "gzip", bomb, n);
    struct rp_http_message m;
    rp_http_message_init(&m);
    cr_assert(rp_http_parser_next(p, &m));
    cr_assert_eq(m.body.len, 256 * 1024);
    cr_assert_not(m.body.truncated);
    cr_assert_eq(m.body.orig_len, 256 * 1024);
    cr_assert_eq(m.flags, 0);
    cr_assert_eq(rp_http_parser_inflated(p), 256 * 1024);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
    free(bomb);
}

Test(http_bomb, an_identity_body_past_a_lower_cap_still_counts_its_size)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    rp_http_parser_set_max_body(p, 4);
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    cr_assert_eq(rp_http_parser_feed(p, s, strlen(s), 1, NULL, NULL), RP_OK);
    struct rp_http_message m;
    rp_http_message_init(&m);
    cr_assert(rp_http_parser_next(p, &m));
    cr_assert_eq(m.body.len, 4);
    cr_assert(m.body.truncated);
    cr_assert_eq(m.body.orig_len, 10);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}

Test(http_bomb, deferred_decoding_reads_a_bomb_without_inflating_and_decodes_it_to_the_cap)
{
    size_t n1 = 0, n2 = 0;
    unsigned char *inner = zero_bomb(16384, &n1); /* 1 GiB of zeros */
    unsigned char *outer = gzip_of(inner, n1, &n2);
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    uint64_t cap = 1024 * 1024;
    rp_http_parser_set_max_body(p, cap);
    rp_http_parser_defer_decoding(p, true);
    feed_response(p, "gzip, gzip", outer, n2);
    struct rp_http_message m;
    rp_http_message_init(&m);
    cr_assert(rp_http_parser_next(p, &m));
    /* Read, not decoded: the body is the bytes as sent, and nothing was inflated. */
    cr_assert_eq(rp_http_parser_inflated(p), 0);
    cr_assert(m.flags & RP_HTTP_MSG_ENCODED);
    cr_assert_eq(m.body.len, n2);
    cr_assert_eq(memcmp(m.body.data, outer, n2), 0);
    assert_next_plain(p);

    uint64_t work = rp_http_message_decode(&m, cap);
    cr_assert_eq(m.flags, 0, "flags %#x", m.flags);
    cr_assert_eq(m.body.len, cap);
    cr_assert(m.body.truncated);
    cr_assert_eq(m.body.orig_len, 0);
    cr_assert_eq(m.body.data[cap - 1], 0);
    cr_assert_geq(work, cap);
    cr_assert_leq(work, cap + 64 * 1024, "inflated %llu", (unsigned long long)work);
    cr_assert_eq(rp_http_message_decode(&m, cap), 0, "a decoded message is left alone");
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
    free(inner);
    free(outer);
}

Test(http_bomb, deferred_decoding_gives_what_immediate_decoding_gives)
{
    /* A small gzip body whole, and a broken one: the same body, flags and coding either way. */
    static const unsigned char text[] = "{\"id\": 42, \"name\": \"gizmo\"}";
    size_t n = 0;
    unsigned char *gz = gzip_of(text, sizeof(text) - 1, &n);
    for (int broken = 0; broken < 2; broken++) {
        if (broken) {
            gz[n / 2] ^= 0xff;
        }
        struct rp_http_message a, b;
        rp_http_message_init(&a);
        rp_http_message_init(&b);
        struct rp_http_parser *now = rp_http_parser_new(RP_HTTP_RESPONSE);
        struct rp_http_parser *later = rp_http_parser_new(RP_HTTP_RESPONSE);
        rp_http_parser_defer_decoding(later, true);
        feed_response(now, "gzip", gz, n);
        feed_response(later, "gzip", gz, n);
        cr_assert(rp_http_parser_next(now, &a));
        cr_assert(rp_http_parser_next(later, &b));
        (void)rp_http_message_decode(&b, RP_MAX_BODY_RECORDED);
        cr_assert_eq(a.flags, b.flags, "broken %d: %#x vs %#x", broken, a.flags, b.flags);
        cr_assert_eq(a.body.len, b.body.len);
        cr_assert_eq(a.body.truncated, b.body.truncated);
        cr_assert_eq(a.body.orig_len, b.body.orig_len);
        cr_assert(a.body.len == 0 || memcmp(a.body.data, b.body.data, a.body.len) == 0);
        cr_assert_str_eq(a.coding ? a.coding : "-", b.coding ? b.coding : "-");
        if (!broken) {
            cr_assert_eq(b.body.len, sizeof(text) - 1);
            cr_assert_eq(memcmp(b.body.data, text, b.body.len), 0);
            cr_assert_eq(b.flags, 0);
        } else {
            cr_assert(b.flags & RP_HTTP_MSG_DECODE_ERROR);
        }
        rp_http_message_cleanup(&a);
        rp_http_message_cleanup(&b);
        rp_http_parser_free(now);
        rp_http_parser_free(later);
    }
    free(gz);
}

Test(http_bomb, deferred_decoding_keeps_a_bounded_prefix_of_a_long_compressed_body)
{
    /* 1 MiB of incompressible bytes, gzipped, with a 64 KiB cap: the parser keeps at most the
     * cap plus its slack of the compressed bytes, which still decode to the full cap. */
    size_t plain = 1024 * 1024;
    unsigned char *noise = malloc(plain);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < plain; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise[i] = (unsigned char)x;
    }
    size_t n = 0;
    unsigned char *gz = gzip_of(noise, plain, &n);
    cr_assert_gt(n, plain);
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    uint64_t cap = 64 * 1024;
    rp_http_parser_set_max_body(p, cap);
    rp_http_parser_defer_decoding(p, true);
    feed_response(p, "gzip", gz, n);
    struct rp_http_message m;
    rp_http_message_init(&m);
    cr_assert(rp_http_parser_next(p, &m));
    cr_assert(m.body.truncated);
    cr_assert_leq(m.body.len, cap + cap / 64 + 64 * 1024);
    (void)rp_http_message_decode(&m, cap);
    cr_assert_eq(m.flags, 0, "a prefix is not a decoding error: %#x", m.flags);
    cr_assert_eq(m.body.len, cap);
    cr_assert(m.body.truncated);
    cr_assert_eq(m.body.orig_len, 0);
    cr_assert_eq(memcmp(m.body.data, noise, cap), 0);
    assert_next_plain(p);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
    free(gz);
    free(noise);
}

/* A request of n headers "X-n: v". Returns new memory. */
static char *many_headers(const char *method, size_t n)
{
    size_t cap = 64 + n * 24;
    char *s = malloc(cap);
    size_t len = (size_t)snprintf(s, cap, "%s /many HTTP/1.1\r\n", method);
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(s + len, cap - len, "X-%zu: v\r\n", i);
    }
    len += (size_t)snprintf(s + len, cap - len, "\r\n");
    return s;
}

Test(http_bomb, reset_after_an_error_reads_the_next_request_and_keeps_methods_in_step)
{
    struct rp_http_parser *req = rp_http_parser_new(RP_HTTP_REQUEST);
    struct rp_http_parser *resp = rp_http_parser_new(RP_HTTP_RESPONSE);
    rp_http_parser_link(req, resp);
    struct rp_error err = {0};
    /* A HEAD with too many headers fails before its headers end ... */
    char *bad = many_headers("HEAD", RP_MAX_HEADER_COUNT + 1);
    cr_assert_eq(rp_http_parser_feed(req, bad, strlen(bad), 1, NULL, &err), RP_ETOOBIG);
    free(bad);
    cr_assert_eq(rp_http_parser_feed(req, "x", 1, 1, NULL, NULL), RP_EFORMAT);
    rp_http_parser_reset(req);
    /* ... and the next request on the connection is read. */
    const char *get = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
    cr_assert_eq(rp_http_parser_feed(req, get, strlen(get), 2, NULL, NULL), RP_OK);
    struct rp_http_message m;
    rp_http_message_init(&m);
    cr_assert(rp_http_parser_next(req, &m));
    cr_assert_str_eq(m.target, "/next");
    cr_assert_not(rp_http_parser_next(req, &m));
    /* The answer to the HEAD has a Content-Length and no body: read as HEAD's, the answer to
     * the GET after it is read whole. */
    const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"
                    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nget";
    cr_assert_eq(rp_http_parser_feed(resp, r, strlen(r), 3, NULL, NULL), RP_OK);
    cr_assert(rp_http_parser_next(resp, &m));
    cr_assert_eq(m.body.len, 0);
    cr_assert(rp_http_parser_next(resp, &m));
    cr_assert_eq(m.body.len, 3);
    cr_assert_eq(memcmp(m.body.data, "get", 3), 0);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(req);
    rp_http_parser_free(resp);
}

Test(http_bomb, reset_after_a_failed_response_takes_its_method_off_the_queue)
{
    struct rp_http_parser *resp = rp_http_parser_new(RP_HTTP_RESPONSE);
    rp_http_parser_expect(resp, "GET");
    rp_http_parser_expect(resp, "HEAD");
    rp_http_parser_expect(resp, "GET");
    /* The answer to the first GET has a reason phrase past the cap: it fails. */
    size_t n = RP_MAX_REASON_BYTES + 64;
    char *bad = malloc(n + 64);
    memcpy(bad, "HTTP/1.1 200 ", 13);
    memset(bad + 13, 'r', n);
    memcpy(bad + 13 + n, "\r\n\r\n", 4);
    cr_assert_eq(rp_http_parser_feed(resp, bad, 13 + n + 4, 1, NULL, NULL), RP_ETOOBIG);
    free(bad);
    rp_http_parser_reset(resp);
    const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"
                    "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody";
    cr_assert_eq(rp_http_parser_feed(resp, r, strlen(r), 2, NULL, NULL), RP_OK);
    struct rp_http_message m;
    rp_http_message_init(&m);
    cr_assert(rp_http_parser_next(resp, &m));
    cr_assert_eq(m.body.len, 0, "the HEAD's answer has no body");
    cr_assert(rp_http_parser_next(resp, &m));
    cr_assert_eq(m.body.len, 4);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(resp);
}
