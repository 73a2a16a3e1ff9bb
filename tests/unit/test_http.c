/* SPDX-License-Identifier: MIT */
/* Unit tests for the HTTP/1.x message parser: framing, pairing hints, body decoding, caps,
 * malformed input and recovery after lost bytes, on hand-written byte strings. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <reprise/http.h>
#include <reprise/limits.h>

/* Feeds a NUL-terminated string; asserts success. */
static void feed(struct rp_http_parser *p, const char *s)
{
    struct rp_error err = {0};
    rp_code rc = rp_http_parser_feed(p, s, strlen(s), 1000, NULL, &err);
    cr_assert_eq(rc, RP_OK, "feed: %s", err.msg);
}

/* Takes the next message, asserting there is one. */
static void next(struct rp_http_parser *p, struct rp_http_message *m)
{
    cr_assert(rp_http_parser_next(p, m), "expected a whole message");
}

static void assert_body(const struct rp_http_message *m, const char *want)
{
    cr_assert_eq(m->body.len, strlen(want), "body length %zu, want %zu", m->body.len, strlen(want));
    if (m->body.len) {
        cr_assert_eq(memcmp(m->body.data, want, m->body.len), 0, "body %.*s", (int)m->body.len,
                     (const char *)m->body.data);
    }
}

/* Compresses text with zlib's deflate (not the code under test). wbits: 31 gzip, 15 zlib,
 * -15 raw deflate. Returns new memory; *out_len its size. */
static unsigned char *compress_with(const void *text, size_t n, int wbits, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    cr_assert_eq(deflateInit2(&zs, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    zs.next_in = (unsigned char *)text;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    return out;
}

/* A response with the given Content-Encoding header and body bytes, fed in 7-byte pieces. */
static void feed_encoded(struct rp_http_parser *p, const char *coding, const unsigned char *body,
                         size_t n)
{
    char head[256];
    int k = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %zu\r\n\r\n",
                     coding, n);
    cr_assert(k > 0 && (size_t)k < sizeof(head));
    feed(p, head);
    for (size_t i = 0; i < n; i += 7) {
        size_t m = n - i < 7 ? n - i : 7;
        cr_assert_eq(rp_http_parser_feed(p, body + i, m, 2000, NULL, NULL), RP_OK);
    }
}

Test(http, request_with_content_length_gives_method_target_headers_and_body)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_REQUEST);
    struct rp_http_message m;
    rp_http_message_init(&m);
    feed(p, "POST /api/login?x=1 HTTP/1.1\r\nHost: shop.test\r\nX-A: 1\r\nX-A: 2\r\n"
            "Content-Length: 5\r\n\r\nhello");
    next(p, &m);
    cr_assert_str_eq(m.method, "POST");
    cr_assert_str_eq(m.target, "/api/login?x=1");
    cr_assert_str_eq(m.version, "HTTP/1.1");
    cr_assert_eq(m.headers.n, 4);
    cr_assert_str_eq(m.headers.v[1].name, "X-A");
    cr_assert_str_eq(m.headers.v[1].value, "1");
    cr_assert_str_eq(m.headers.v[2].value, "2");
    assert_body(&m, "hello");
    cr_assert_eq(m.flags, 0);
    cr_assert_not(rp_http_parser_next(p, &m));
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}

Test(http, chunked_response_fed_a_byte_at_a_time_is_dechunked)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    struct rp_http_message m;
    rp_http_message_init(&m);
    const char *s = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
    for (size_t i = 0; s[i]; i++) {
        cr_assert_eq(rp_http_parser_feed(p, s + i, 1, (int64_t)i, NULL, NULL), RP_OK);
    }
    next(p, &m);
    cr_assert_eq(m.status, 201);
    cr_assert_str_eq(m.reason, "Created");
    assert_body(&m, "hello world");
    cr_assert_eq(m.first_us, 0);
    cr_assert_gt(m.last_us, 50);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}

Test(http, close_delimited_body_ends_at_finish)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    struct rp_http_message m;
    rp_http_message_init(&m);
    feed(p, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nabc");
    feed(p, "def");
    cr_assert_not(rp_http_parser_next(p, &m));
    rp_http_parser_finish(p, 5000);
    next(p, &m);
    cr_assert_str_eq(m.version, "HTTP/1.0");
    assert_body(&m, "abcdef");
    cr_assert_eq(m.flags & RP_HTTP_MSG_INCOMPLETE, 0);
    cr_assert_eq(m.last_us, 5000);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}

Test(http, pipelined_requests_in_one_feed_come_out_in_order)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_REQUEST);
    struct rp_http_message m;
    rp_http_message_init(&m);
    feed(p, "GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n"
            "DELETE /three HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    next(p, &m);
    cr_assert_str_eq(m.target, "/one");
    next(p, &m);
    cr_assert_str_eq(m.target, "/two");
    next(p, &m);
    cr_assert_str_eq(m.method, "DELETE");
    cr_assert_str_eq(m.target, "/three");
    cr_assert_not(rp_http_parser_next(p, &m));
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}

Test(http, interim_100_continue_is_skipped_and_the_final_response_kept)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    struct rp_http_message m;
    rp_http_message_init(&m);
    feed(p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    next(p, &m);
    cr_assert_eq(m.status, 200);
    assert_body(&m, "ok");
    cr_assert_not(rp_http_parser_next(p, &m));
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}

Test(http, response_to_head_has_no_body_despite_content_length)
{
    struct rp_http_parser *req = rp_http_parser_new(RP_HTTP_REQUEST);
    struct rp_http_parser *resp = rp_http_parser_new(RP_HTTP_RESPONSE);
    rp_http_parser_link(req, resp);
    struct rp_http_message m;
    rp_http_message_init(&m);
    feed(req, "HEAD /big HTTP/1.1\r\nHost: a\r\n\r\nGET /small HTTP/1.1\r\nHost: a\r\n\r\n");
    feed(resp, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
               "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    next(resp, &m);
    assert_body(&m, "");
    next(resp, &m);
    assert_body(&m, "ok");
    rp_http_message_cleanup(&m);
    rp_http_parser_free(req);
    rp_http_parser_free(resp);
}

Test(http, not_modified_and_no_content_have_no_body)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    struct rp_http_message m;
    rp_http_message_init(&m);
    feed(p, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
            "HTTP/1.1 204 No Content\r\n\r\n"
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes");
    next(p, &m);
    cr_assert_eq(m.status, 304);
    assert_body(&m, "");
    next(p, &m);
    cr_assert_eq(m.status, 204);
    next(p, &m);
    assert_body(&m, "yes");
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}

Test(http, gzip_and_x_gzip_bodies_are_decoded_and_headers_kept)
{
    const char *text = "{\"ok\":true,\"items\":[1,2,3]}";
    size_t n = 0;
    unsigned char *gz = compress_with(text, strlen(text), 31, &n);
    const char *names[] = {"gzip", "x-gzip", "GZIP"};
    for (size_t i = 0; i < 3; i++) {
        struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
        struct rp_http_message m;
        rp_http_message_init(&m);
        feed_encoded(p, names[i], gz, n);
        next(p, &m);
        assert_body(&m, text);
        cr_assert_eq(m.flags, 0);
        cr_assert_str_eq(m.headers.v[0].value, names[i]);
        rp_http_message_cleanup(&m);
        rp_http_parser_free(p);
    }
    free(gz);
}

Test(http, deflate_is_decoded_with_or_without_the_zlib_header)
{
    const char *text = "deflated text, deflated text, deflated text";
    for (int wbits = -15; wbits <= 15; wbits += 30) {
        size_t n = 0;
        unsigned char *z = compress_with(text, strlen(text), wbits, &n);
        struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
        struct rp_http_message m;
        rp_http_message_init(&m);
        feed_encoded(p, "deflate", z, n);
        next(p, &m);
        assert_body(&m, text);
        cr_assert_eq(m.flags, 0, "wbits %d", wbits);
        rp_http_message_cleanup(&m);
        rp_http_parser_free(p);
        free(z);
    }
}

Test(http, stacked_codings_are_undone_last_first)
{
    const char *text = "twice gzipped, once deflated";
    size_t n1 = 0, n2 = 0, n3 = 0;
    unsigned char *a = compress_with(text, strlen(text), -15, &n1);
    unsigned char *b = compress_with(a, n1, 31, &n2);
    unsigned char *c = compress_with(b, n2, 31, &n3);
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    struct rp_http_message m;
    rp_http_message_init(&m);
    feed_encoded(p, "identity, deflate,identity, gzip , gzip", c, n3);
    next(p, &m);
    assert_body(&m, text);
    cr_assert_eq(m.flags, 0);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
    free(a);
    free(b);
    free(c);
}

Test(http, brotli_body_is_kept_as_sent_and_flagged)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    struct rp_http_message m;
    rp_http_message_init(&m);
    feed(p, "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 4\r\n\r\n\x0b\x01\x80\x03");
    next(p, &m);
    cr_assert_eq(m.flags, RP_HTTP_MSG_UNDECODED);
    cr_assert_str_eq(m.coding, "br");
    cr_assert_eq(m.body.len, 4);
    cr_assert_eq(m.body.data[0], 0x0b);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}

Test(http, corrupt_gzip_is_flagged_with_the_failing_coding)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    struct rp_http_message m;
    rp_http_message_init(&m);
    feed(p, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 12\r\n\r\n"
            "not gzip at!");
    next(p, &m);
    cr_assert_eq(m.flags, RP_HTTP_MSG_DECODE_ERROR);
    cr_assert_str_eq(m.coding, "gzip");
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}

Test(http, body_past_the_cap_is_truncated_and_its_size_counted)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_REQUEST);
    struct rp_http_message m;
    rp_http_message_init(&m);
    uint64_t total = (uint64_t)RP_MAX_BODY_RECORDED + 1000;
    char head[128];
    snprintf(head, sizeof(head), "PUT /f HTTP/1.1\r\nContent-Length: %llu\r\n\r\n",
             (unsigned long long)total);
    feed(p, head);
    size_t chunk = 1 << 20;
    char *buf = malloc(chunk);
    memset(buf, 'a', chunk);
    for (uint64_t left = total; left;) {
        size_t k = left < chunk ? (size_t)left : chunk;
        cr_assert_eq(rp_http_parser_feed(p, buf, k, 1, NULL, NULL), RP_OK);
        left -= k;
    }
    free(buf);
    next(p, &m);
    cr_assert(m.body.truncated);
    cr_assert_eq(m.body.len, (size_t)32 * 1024 * 1024);
    cr_assert_eq(m.body.orig_len, (uint64_t)32 * 1024 * 1024 + 1000);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}

Test(http, malformed_header_is_an_error_and_hunting_recovers)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_REQUEST);
    struct rp_http_message m;
    rp_http_message_init(&m);
    struct rp_error err = {0};
    const char *bad = "GET / HTTP/1.1\r\nNo colon here\r\n\r\n";
    cr_assert_eq(rp_http_parser_feed(p, bad, strlen(bad), 1, NULL, &err), RP_EFORMAT);
    cr_assert(strstr(err.msg, "malformed HTTP request"), "%s", err.msg);
    cr_assert_eq(rp_http_parser_feed(p, "x", 1, 1, NULL, &err), RP_EFORMAT);
    rp_http_parser_hunt(p);
    feed(p, "junk\r\nmore junk GET / no\r\nGET /ok HTTP/1.1\r\n\r\n");
    next(p, &m);
    cr_assert_str_eq(m.target, "/ok");
    cr_assert_eq(rp_http_parser_skipped(p), 26);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}

Test(http, hunting_finds_a_start_split_across_feeds)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    struct rp_http_message m;
    rp_http_message_init(&m);
    rp_http_parser_hunt(p);
    feed(p, "tail of a body\r\nHT");
    feed(p, "TP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    next(p, &m);
    cr_assert_eq(m.status, 404);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}

Test(http, too_many_headers_is_too_big)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_REQUEST);
    struct rp_error err = {0};
    feed(p, "GET / HTTP/1.1\r\n");
    rp_code rc = RP_OK;
    for (unsigned i = 0; i <= RP_MAX_HEADER_COUNT && !rc; i++) {
        const char *h = "X-Many: y\r\n";
        rc = rp_http_parser_feed(p, h, strlen(h), 1, NULL, &err);
    }
    if (!rc) {
        rc = rp_http_parser_feed(p, "\r\n", 2, 1, NULL, &err);
    }
    cr_assert_eq(rc, RP_ETOOBIG, "%s", err.msg);
    cr_assert(strstr(err.msg, "RP_MAX_HEADER_COUNT"), "%s", err.msg);
    rp_http_parser_free(p);
}

Test(http, gap_inside_a_content_length_body_keeps_the_parser_in_step)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    struct rp_http_message m;
    rp_http_message_init(&m);
    feed(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    cr_assert(rp_http_parser_gap(p, 4, 1));
    feed(p, "xyzHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    next(p, &m);
    cr_assert_eq(m.flags, RP_HTTP_MSG_INCOMPLETE);
    assert_body(&m, "abc");
    next(p, &m);
    cr_assert_eq(m.flags, 0);
    assert_body(&m, "ok");
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}

Test(http, gap_inside_a_chunked_body_ends_the_message_and_hunts_for_the_next)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_RESPONSE);
    struct rp_http_message m;
    rp_http_message_init(&m);
    feed(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    cr_assert_not(rp_http_parser_gap(p, 100, 1));
    feed(p, "f\r\nrest of chunk!\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
    next(p, &m);
    cr_assert_eq(m.status, 200);
    cr_assert_eq(m.flags, RP_HTTP_MSG_INCOMPLETE);
    assert_body(&m, "hello");
    next(p, &m);
    cr_assert_eq(m.status, 204);
    cr_assert_eq(m.flags, 0);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}

Test(http, connect_answered_2xx_ends_http_on_the_connection)
{
    struct rp_http_parser *req = rp_http_parser_new(RP_HTTP_REQUEST);
    struct rp_http_parser *resp = rp_http_parser_new(RP_HTTP_RESPONSE);
    rp_http_parser_link(req, resp);
    struct rp_http_message m;
    rp_http_message_init(&m);
    const char *c = "CONNECT h.test:443 HTTP/1.1\r\nHost: h.test:443\r\n\r\n\x16\x03\x01";
    size_t used = 0;
    cr_assert_eq(rp_http_parser_feed(req, c, strlen(c), 1, &used, NULL), RP_OK);
    cr_assert_eq(used, strlen(c) - 3);
    cr_assert(rp_http_parser_upgraded(req));
    next(req, &m);
    cr_assert_str_eq(m.method, "CONNECT");
    cr_assert_str_eq(m.target, "h.test:443");
    const char *r = "HTTP/1.0 200 Connection Established\r\n\r\n\x16\x03\x03";
    cr_assert_eq(rp_http_parser_feed(resp, r, strlen(r), 1, &used, NULL), RP_OK);
    cr_assert(rp_http_parser_upgraded(resp));
    next(resp, &m);
    cr_assert_eq(m.status, 200);
    cr_assert_eq(m.flags, RP_HTTP_MSG_UPGRADE);
    rp_http_message_cleanup(&m);
    rp_http_parser_free(req);
    rp_http_parser_free(resp);
}

Test(http, message_cut_by_the_end_of_the_stream_is_incomplete)
{
    struct rp_http_parser *p = rp_http_parser_new(RP_HTTP_REQUEST);
    struct rp_http_message m;
    rp_http_message_init(&m);
    feed(p, "POST /upload HTTP/1.1\r\nContent-Length: 100\r\n\r\npart");
    rp_http_parser_finish(p, 9);
    next(p, &m);
    cr_assert_str_eq(m.target, "/upload");
    cr_assert_eq(m.flags, RP_HTTP_MSG_INCOMPLETE);
    assert_body(&m, "part");
    rp_http_message_cleanup(&m);
    rp_http_parser_free(p);
}
