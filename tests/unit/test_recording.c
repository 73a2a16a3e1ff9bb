/* SPDX-License-Identifier: MIT */
/* Unit tests for the recording format: the streaming reader, the durable writer, the codec. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include <reprise/reprise.h>

#include "helpers.h"
#include "recording/internal.h"

static char *dir;

static void setup(void)
{
    dir = tmp_dir();
}

static void teardown(void)
{
    rm_tree(dir);
}

TestSuite(recording, .init = setup, .fini = teardown);

/* Captures warnings from the reader's log callback. */
struct log_capture {
    int warnings;
    char last[512];
};

static void capture_log(void *ud, enum rp_log_level lvl, const char *msg)
{
    struct log_capture *c = ud;
    if (lvl == RP_LOG_WARN) {
        c->warnings++;
        snprintf(c->last, sizeof(c->last), "%s", msg);
    }
}

/* Gzips a fixture from tests/data/recording into the test's directory; returns its path. */
static char *fixture_gz(const char *name)
{
    char src[512];
    snprintf(src, sizeof(src), "%s/recording/%s", REPRISE_TEST_DATA, name);
    char gzname[256];
    snprintf(gzname, sizeof(gzname), "%s.gz", name);
    char *dst = path_in(dir, gzname);
    cr_assert_eq(gzip_file(src, dst), 0, "gzip %s", src);
    return dst;
}

static const struct rp_header *hdr(const struct rp_headers *h, size_t i)
{
    cr_assert_lt(i, h->n);
    return &h->v[i];
}

Test(recording, reader_reads_every_field_of_a_hand_written_recording)
{
    char *path = fixture_gz("basic.jsonl");
    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);

    const struct rp_rec_meta *m = rp_reader_meta(r);
    cr_assert_str_eq(m->name, "basic");
    cr_assert_str_eq(m->created, "2026-11-20T09:30:00Z");
    cr_assert_str_eq(m->source_kind, "proxy");
    cr_assert_str_eq(m->source_detail, "https://shop.example.test");
    cr_assert_eq(m->n_tenants, 1);
    cr_assert_str_eq(m->tenants[0], "acme");
    cr_assert_str_eq(m->extra, "{\"note\":\"hand-written fixture\"}");

    struct rp_exchange ex;
    rp_exchange_init(&ex);
    bool got = false;

    /* 1: JSON bodies, duplicate Set-Cookie kept in order. */
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_assert(got);
    cr_assert_eq(ex.seq, 1);
    cr_assert_eq(ex.start_us, 1795167001250000LL); /* 2026-11-20T09:30:01.25Z */
    cr_assert_eq(ex.duration_us, 1500);
    cr_assert_eq(ex.conn_id, 1);
    cr_assert_str_eq(ex.req.method, "POST");
    cr_assert_str_eq(ex.req.url, "https://acme.shop.example.test/api/login");
    cr_assert_str_eq(ex.req.version, "HTTP/1.1");
    cr_assert_eq(ex.req.headers.n, 2);
    cr_assert_str_eq(hdr(&ex.req.headers, 1)->name, "Content-Type");
    cr_assert_str_eq((char *)ex.req.body.data,
                     "{\"email\":\"owner@acme.test\",\"password\":\"{{secret:password}}\"}");
    cr_assert(ex.has_response);
    cr_assert_eq(ex.resp.status, 200);
    cr_assert_str_eq(ex.resp.reason, "OK");
    cr_assert_eq(ex.resp.headers.n, 3);
    cr_assert_str_eq(hdr(&ex.resp.headers, 1)->value, "sid=abc; Path=/");
    cr_assert_str_eq(hdr(&ex.resp.headers, 2)->value, "theme=dark; Path=/");
    size_t at = 0;
    cr_assert_str_eq(rp_headers_get(&ex.resp.headers, "set-cookie", &at)->value, "sid=abc; Path=/");
    cr_assert_str_eq(rp_headers_get(&ex.resp.headers, "set-cookie", &at)->value,
                     "theme=dark; Path=/");
    cr_assert_null(rp_headers_get(&ex.resp.headers, "set-cookie", &at));
    cr_assert_null(ex.extra);

    /* 2: a binary body in base64. */
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    static const unsigned char png[] = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff};
    cr_assert_eq(ex.resp.body.len, sizeof(png));
    cr_assert_arr_eq(ex.resp.body.data, png, sizeof(png));
    cr_assert_null(ex.req.version);

    /* 3: unicode, including a surrogate pair. */
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_assert_str_eq((char *)ex.resp.body.data,
                     "h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");

    /* 4: no response, incomplete. */
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_assert_not(ex.has_response);
    cr_assert(ex.incomplete);
    cr_assert_str_eq(ex.req.method, "DELETE");

    /* 5: empty bodies, an unknown key kept. */
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(ex.resp.status, 204);
    cr_assert_eq(ex.resp.body.len, 0);
    cr_assert_null(ex.resp.body.data);
    cr_assert_str_eq(ex.extra, "{\"check\":{\"ok\":true}}");

    /* 6: a truncated body. */
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_assert(ex.resp.body.truncated);
    cr_assert_eq(ex.resp.body.orig_len, 40000000);
    cr_assert_str_eq((char *)ex.resp.body.data, "abc");

    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK);
    cr_assert_not(got);
    cr_assert_not(rp_reader_truncated(r));
    cr_assert_eq(rp_reader_line(r), 7);

    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    free(path);
}

/* Builds an exchange from literal values. */
static void make_exchange(struct rp_exchange *ex, uint64_t seq)
{
    rp_exchange_init(ex);
    ex->seq = seq;
    ex->start_us = 1795167001000000LL + (int64_t)seq;
    ex->duration_us = 4242;
    ex->conn_id = 9;
    ex->req.method = strdup("PUT");
    ex->req.url = strdup("http://127.0.0.1:8080/t/acme/api/orders/4?x=%20y");
    ex->req.version = strdup("HTTP/1.1");
    cr_assert_eq(rp_headers_add(&ex->req.headers, "X-Dup", 5, "one", 3, NULL), RP_OK);
    cr_assert_eq(rp_headers_add(&ex->req.headers, "X-Dup", 5, "two", 3, NULL), RP_OK);
    cr_assert_eq(rp_headers_add(&ex->req.headers, "X-Empty", 7, "", 0, NULL), RP_OK);
    rp_body_set(&ex->req.body, "caf\xc3\xa9 \"quoted\"\n\ttab", 19);
    ex->has_response = true;
    ex->resp.status = 201;
    ex->resp.reason = strdup("Created");
    cr_assert_eq(
        rp_headers_add(&ex->resp.headers, "Content-Type", 12, "application/octet-stream", 24, NULL),
        RP_OK);
    static const unsigned char bin[] = {0, 1, 2, 0xfe, 0xff, 0xc3, 0x28, '\n', 0};
    rp_body_set(&ex->resp.body, bin, sizeof(bin));
}

Test(recording, round_trip_keeps_binary_empty_duplicate_and_unicode_values)
{
    char *path = path_in(dir, "rt.jsonl.gz");
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    meta.name = strdup("round-trip");
    meta.created = strdup("2026-11-23T20:00:00Z");
    meta.source_kind = strdup("har");
    meta.source_detail = strdup("session.har");
    cr_assert_eq(rp_rec_meta_add_tenant(&meta, "acme", NULL), RP_OK);
    cr_assert_eq(rp_rec_meta_add_tenant(&meta, "\xc3\xa9t\xc3\xa9", NULL), RP_OK);

    struct rp_error err = {0};
    struct rp_writer *w = NULL;
    cr_assert_eq(rp_writer_open(path, &meta, NULL, &w, &err), RP_OK, "%s", err.msg);
    struct rp_exchange ex;
    make_exchange(&ex, 1);
    cr_assert_eq(rp_writer_append(w, &ex, &err), RP_OK, "%s", err.msg);
    rp_exchange_cleanup(&ex);
    /* An empty exchange with no response, and extra keys. */
    rp_exchange_init(&ex);
    ex.req.method = strdup("GET");
    ex.req.url = strdup("http://127.0.0.1/");
    ex.extra = strdup("{\"check\":{\"ok\":false,\"mismatches\":[\"$.a\"]}}");
    cr_assert_eq(rp_writer_append(w, &ex, &err), RP_OK, "%s", err.msg);
    rp_exchange_cleanup(&ex);
    cr_assert_eq(rp_writer_count(w), 2);
    cr_assert_eq(rp_writer_close(w, &err), RP_OK, "%s", err.msg);

    struct rp_reader *r = NULL;
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    const struct rp_rec_meta *m = rp_reader_meta(r);
    cr_assert_str_eq(m->name, "round-trip");
    cr_assert_str_eq(m->source_kind, "har");
    cr_assert_str_eq(m->source_detail, "session.har");
    cr_assert_eq(m->n_tenants, 2);
    cr_assert_str_eq(m->tenants[1], "\xc3\xa9t\xc3\xa9");

    bool got;
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_assert(got);
    cr_assert_eq(ex.seq, 1);
    cr_assert_eq(ex.start_us, 1795167001000001LL);
    cr_assert_eq(ex.duration_us, 4242);
    cr_assert_eq(ex.conn_id, 9);
    cr_assert_str_eq(ex.req.method, "PUT");
    cr_assert_str_eq(ex.req.url, "http://127.0.0.1:8080/t/acme/api/orders/4?x=%20y");
    cr_assert_eq(ex.req.headers.n, 3);
    cr_assert_str_eq(ex.req.headers.v[0].value, "one");
    cr_assert_str_eq(ex.req.headers.v[1].value, "two");
    cr_assert_eq(ex.req.headers.v[2].value_len, 0);
    cr_assert_eq(ex.req.body.len, 19);
    cr_assert_arr_eq(ex.req.body.data, "caf\xc3\xa9 \"quoted\"\n\ttab", 19);
    cr_assert_eq(ex.resp.status, 201);
    static const unsigned char bin[] = {0, 1, 2, 0xfe, 0xff, 0xc3, 0x28, '\n', 0};
    cr_assert_eq(ex.resp.body.len, sizeof(bin));
    cr_assert_arr_eq(ex.resp.body.data, bin, sizeof(bin));

    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_assert(got);
    cr_assert_eq(ex.seq, 2, "the writer numbers an exchange without seq");
    cr_assert_not(ex.has_response);
    cr_assert_eq(ex.req.body.len, 0);
    cr_assert_str_eq(ex.extra, "{\"check\":{\"ok\":false,\"mismatches\":[\"$.a\"]}}");
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK);
    cr_assert_not(got);

    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    rp_rec_meta_cleanup(&meta);
    free(path);
}

Test(recording, writer_output_is_gzip_json_lines_in_the_documented_layout)
{
    char *path = path_in(dir, "layout.jsonl.gz");
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    meta.name = strdup("layout");
    meta.source_kind = strdup("proxy");
    struct rp_writer *w = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_writer_open(path, &meta, NULL, &w, &err), RP_OK, "%s", err.msg);
    struct rp_exchange ex;
    make_exchange(&ex, 3);
    cr_assert_eq(rp_writer_append(w, &ex, &err), RP_OK);
    rp_exchange_cleanup(&ex);
    cr_assert_eq(rp_writer_close(w, &err), RP_OK);

    /* Read it back with zlib and cJSON alone, as `zcat F | jq` would. */
    size_t len = 0;
    char *text = gunzip_file(path, &len);
    cr_assert_not_null(text);
    char *nl = strchr(text, '\n');
    cr_assert_not_null(nl);
    *nl = '\0';
    cJSON *h = cJSON_Parse(text);
    cr_assert_not_null(h);
    cr_assert_eq(cJSON_GetObjectItem(h, "reprise")->valueint, 1);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "source"), "kind")->valuestring,
                     "proxy");
    cr_assert(cJSON_IsArray(cJSON_GetObjectItem(h, "tenants")));
    cJSON *e = cJSON_Parse(nl + 1);
    cr_assert_not_null(e);
    cr_assert_eq(cJSON_GetObjectItem(e, "seq")->valueint, 3);
    cr_assert_str_eq(cJSON_GetObjectItem(e, "start")->valuestring, "2026-11-20T09:30:01.000003Z");
    cJSON *req = cJSON_GetObjectItem(e, "request");
    cJSON *pair = cJSON_GetArrayItem(cJSON_GetObjectItem(req, "headers"), 1);
    cr_assert_str_eq(cJSON_GetArrayItem(pair, 0)->valuestring, "X-Dup");
    cr_assert_str_eq(cJSON_GetArrayItem(pair, 1)->valuestring, "two");
    cr_assert_str_eq(cJSON_GetObjectItem(req, "body")->valuestring,
                     "caf\xc3\xa9 \"quoted\"\n\ttab");
    cJSON *resp = cJSON_GetObjectItem(e, "response");
    cr_assert_null(cJSON_GetObjectItem(resp, "body"));
    cr_assert_str_eq(cJSON_GetObjectItem(resp, "body_base64")->valuestring, "AAEC/v/DKAoA");
    /* Exactly two lines, each ending in a newline. */
    cr_assert_eq(text[len - 1], '\n');
    cJSON_Delete(h);
    cJSON_Delete(e);
    free(text);
    rp_rec_meta_cleanup(&meta);
    free(path);
}

Test(recording, a_20_megabyte_binary_body_round_trips, .timeout = 120)
{
    char *path = path_in(dir, "big.jsonl.gz");
    size_t n = 20u * 1024u * 1024u;
    unsigned char *data = malloc(n);
    uint32_t x = 2463534242u; /* xorshift: incompressible, not UTF-8 */
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data[i] = (unsigned char)x;
    }
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    struct rp_writer *w = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_writer_open(path, &meta, NULL, &w, &err), RP_OK, "%s", err.msg);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.method = strdup("GET");
    ex.req.url = strdup("http://127.0.0.1/big.bin");
    ex.has_response = true;
    ex.resp.status = 200;
    rp_body_set(&ex.resp.body, data, n);
    cr_assert_eq(rp_writer_append(w, &ex, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_writer_close(w, &err), RP_OK, "%s", err.msg);
    rp_exchange_cleanup(&ex);

    struct rp_reader *r = NULL;
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    bool got;
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_assert(got);
    cr_assert_eq(ex.resp.body.len, n);
    cr_assert(memcmp(ex.resp.body.data, data, n) == 0);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    free(data);
    free(path);
}

Test(recording, reading_100000_exchanges_streams_in_bounded_memory, .timeout = 300)
{
    char *path = path_in(dir, "many.jsonl.gz");
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    struct rp_writer *w = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_writer_open(path, &meta, NULL, &w, &err), RP_OK, "%s", err.msg);
    struct rp_exchange ex;
    make_exchange(&ex, 0);
    const uint64_t total = 100000;
    for (uint64_t i = 0; i < total; i++) {
        ex.seq = 0;
        cr_assert_eq(rp_writer_append(w, &ex, &err), RP_OK, "%s", err.msg);
    }
    cr_assert_eq(rp_writer_close(w, &err), RP_OK, "%s", err.msg);
    rp_exchange_cleanup(&ex);

    size_t base = heap_in_use();
    size_t peak = 0;
    struct rp_reader *r = NULL;
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    rp_exchange_init(&ex);
    uint64_t count = 0;
    bool got = true;
    while (got) {
        cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
        if (got) {
            count++;
            cr_assert_eq(ex.seq, count);
        }
        if (count % 1000 == 0) {
            size_t now = heap_in_use();
            peak = now > peak ? now : peak;
        }
    }
    cr_assert_eq(count, total);
    /* The reader holds two 64 KiB buffers, a line and one exchange: well under 1 MiB,
     * whatever the file's length (the file itself is several MiB decompressed). */
    cr_assert_lt(peak - base, 1024u * 1024u, "heap grew by %zu bytes", peak - base);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    free(path);
}

/* Writes n exchanges, each flushed into its own gzip member; returns the size before the last. */
static off_t write_members(const char *path, int n)
{
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    struct rp_writer *w = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_writer_open(path, &meta, NULL, &w, &err), RP_OK, "%s", err.msg);
    off_t before_last = 0;
    struct rp_exchange ex;
    make_exchange(&ex, 0);
    for (int i = 0; i < n; i++) {
        ex.seq = 0;
        before_last = file_size(path);
        cr_assert_eq(rp_writer_append(w, &ex, &err), RP_OK, "%s", err.msg);
        cr_assert_eq(rp_writer_flush(w, &err), RP_OK, "%s", err.msg);
    }
    rp_exchange_cleanup(&ex);
    cr_assert_eq(rp_writer_close(w, &err), RP_OK);
    return before_last;
}

Test(recording, truncated_last_member_yields_whole_lines_and_warns)
{
    char *path = path_in(dir, "cut.jsonl.gz");
    off_t before_last = write_members(path, 10);
    off_t full = file_size(path);
    /* Cut the last member in the middle of its deflate data. */
    cr_assert_eq(truncate(path, before_last + (full - before_last) / 2), 0);

    struct log_capture cap = {0};
    struct rp_reader_opts opts = {.log = capture_log, .log_ud = &cap};
    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, &opts, &r, &err), RP_OK, "%s", err.msg);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    uint64_t count = 0;
    bool got = true;
    while (got) {
        cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
        count += got;
    }
    cr_assert_eq(count, 9);
    cr_assert(rp_reader_truncated(r));
    cr_assert_eq(cap.warnings, 1);
    cr_assert(strstr(cap.last, "cut.jsonl.gz: truncated") != NULL, "%s", cap.last);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    free(path);
}

Test(recording, corrupt_line_is_an_error_naming_file_and_line)
{
    char *path = fixture_gz("corrupt-line3.jsonl");
    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    bool got;
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK);
    cr_assert(got);
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_EFORMAT);
    cr_assert_eq(err.code, RP_EFORMAT);
    char want[600];
    snprintf(want, sizeof(want), "%s:3: invalid JSON", path);
    cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "got: %s", err.msg);
    cr_assert_eq(rp_code_exit(err.code), 2);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    free(path);
}

Test(recording, wrong_field_type_names_the_field)
{
    char *path = fixture_gz("bad-status.jsonl");
    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    bool got;
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_EFORMAT);
    cr_assert(strstr(err.msg, ":2: \"response.status\" is not an integer") != NULL, "%s", err.msg);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    free(path);
}

Test(recording, not_gzip_at_all_is_refused_on_open)
{
    char src[512];
    snprintf(src, sizeof(src), "%s/recording/not-a-recording.txt", REPRISE_TEST_DATA);
    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(src, NULL, &r, &err), RP_EFORMAT);
    cr_assert_null(r);
    char want[600];
    snprintf(want, sizeof(want), "%s: not a reprise recording (not gzip-compressed)", src);
    cr_assert_str_eq(err.msg, want);
}

Test(recording, gzip_of_something_else_is_not_a_recording)
{
    char *path = fixture_gz("not-a-recording.txt");
    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_EFORMAT);
    cr_assert(strstr(err.msg, ":1: not a reprise recording") != NULL, "%s", err.msg);
    free(path);
}

Test(recording, newer_format_version_is_refused)
{
    char *path = fixture_gz("version2.jsonl");
    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_EVERSION);
    cr_assert(strstr(err.msg, ":1: recording format version 2 is not supported") != NULL, "%s",
              err.msg);
    free(path);
}

Test(recording, missing_file_and_empty_file_are_input_errors)
{
    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    char *missing = path_in(dir, "nope.jsonl.gz");
    cr_assert_eq(rp_reader_open(missing, NULL, &r, &err), RP_ENOTFOUND);
    cr_assert_eq(rp_code_exit(err.code), 2);
    char *empty = path_in(dir, "empty.jsonl.gz");
    write_file(empty, "", 0);
    cr_assert_eq(rp_reader_open(empty, NULL, &r, &err), RP_EFORMAT);
    cr_assert(strstr(err.msg, "empty file") != NULL, "%s", err.msg);
    free(missing);
    free(empty);
}

Test(recording, corrupt_gzip_data_in_a_middle_member_is_an_error)
{
    char *path = path_in(dir, "flip.jsonl.gz");
    off_t before_last = write_members(path, 5);
    (void)before_last;
    size_t len = (size_t)file_size(path);
    FILE *f = fopen(path, "r+b");
    unsigned char *buf = malloc(len);
    cr_assert_eq(fread(buf, 1, len, f), len);
    /* Overwrite deflate data in the middle of the file with garbage. */
    for (size_t i = len / 2; i < len / 2 + 16; i++) {
        buf[i] ^= 0x5a;
    }
    rewind(f);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
    free(buf);

    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    rp_code rc = rp_reader_open(path, NULL, &r, &err);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    bool got = true;
    while (!rc && got) {
        rc = rp_reader_next(r, &ex, &got, &err);
    }
    cr_assert_eq(rc, RP_EFORMAT, "a flipped member must not read as clean (%s)", err.msg);
    cr_assert(strstr(err.msg, "flip.jsonl.gz:") != NULL, "%s", err.msg);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    free(path);
}

Test(recording, lines_past_the_cap_are_refused)
{
    char *path = fixture_gz("basic.jsonl");
    struct rp_reader_opts opts = {.max_line = 100};
    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, &opts, &r, &err), RP_ETOOBIG);
    cr_assert(strstr(err.msg, ":1: line is longer than 100 bytes") != NULL, "%s", err.msg);
    free(path);
}

Test(recording, exchanges_appended_a_second_before_sigkill_read_back, .timeout = 30)
{
    char *path = path_in(dir, "killed.jsonl.gz");
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        struct rp_rec_meta meta;
        rp_rec_meta_init(&meta);
        struct rp_writer *w = NULL;
        if (rp_writer_open(path, &meta, NULL, &w, NULL)) {
            _exit(2);
        }
        struct rp_exchange ex;
        make_exchange(&ex, 0);
        for (int i = 0; i < 5; i++) {
            ex.seq = 0;
            if (rp_writer_append(w, &ex, NULL)) {
                _exit(3);
            }
        }
        /* No flush, no close: the writer alone must get these to disk. */
        if (write(ready[1], "x", 1) != 1) {
            _exit(4);
        }
        for (;;) {
            pause();
        }
    }
    close(ready[1]);
    char c;
    cr_assert_eq(read(ready[0], &c, 1), 1, "the child did not get to append");
    close(ready[0]);
    struct timespec wait = {1, 100 * 1000 * 1000};
    nanosleep(&wait, NULL);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFSIGNALED(status));

    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    uint64_t count = 0;
    bool got = true;
    while (got) {
        cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
        count += got;
    }
    cr_assert_eq(count, 5);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    free(path);
}

Test(recording, time_format_and_parse_agree_with_hand_computed_values)
{
    char out[32];
    rp_time_format(0, out);
    cr_assert_str_eq(out, "1970-01-01T00:00:00Z");
    rp_time_format(1795167001250000LL, out);
    cr_assert_str_eq(out, "2026-11-20T09:30:01.250000Z");
    int64_t us = 0;
    cr_assert(rp_time_parse("2000-02-29T23:59:59.5Z", &us));
    cr_assert_eq(us, 951868799500000LL);
    cr_assert(rp_time_parse("2026-11-20T09:30:01+00:00", &us));
    cr_assert_eq(us, 1795167001000000LL);
    cr_assert_not(rp_time_parse("2026-11-20", &us));
    cr_assert_not(rp_time_parse("2026-13-20T09:30:01Z", &us));
    cr_assert_not(rp_time_parse("2026-11-20T09:30:01+02:00", &us));
}

Test(recording, every_control_character_and_latin1_header_round_trips)
{
    char *path = path_in(dir, "escapes.jsonl.gz");
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    struct rp_writer *w = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_writer_open(path, &meta, NULL, &w, &err), RP_OK, "%s", err.msg);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.method = strdup("POST");
    ex.req.url = strdup("http://127.0.0.1/a\"b\\c");
    /* A body with every control character but NUL (which would make it binary), quotes and
     * backslashes: still text, so it must come back byte for byte. */
    char body[40];
    size_t n = 0;
    for (int c = 1; c < 0x20; c++) {
        body[n++] = (char)c;
    }
    memcpy(body + n, "\"\\/\x7f", 4);
    n += 4;
    rp_body_set(&ex.req.body, body, n);
    /* A header value that is not UTF-8 is read as Latin-1: 0xE9 is "é". */
    cr_assert_eq(rp_headers_add(&ex.req.headers, "X-Name", 6, "caf\xe9", 4, NULL), RP_OK);
    cr_assert_eq(rp_writer_append(w, &ex, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_writer_close(w, &err), RP_OK, "%s", err.msg);
    rp_exchange_cleanup(&ex);

    struct rp_reader *r = NULL;
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    bool got = false;
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_assert(got);
    cr_assert_str_eq(ex.req.url, "http://127.0.0.1/a\"b\\c");
    cr_assert_eq(ex.req.body.len, n);
    cr_assert_arr_eq(ex.req.body.data, body, n);
    cr_assert_str_eq(ex.req.headers.v[0].value, "caf\xc3\xa9");
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    free(path);
}

Test(recording, years_before_1000_are_written_with_four_digits_and_read_back)
{
    int64_t us = 0;
    cr_assert(rp_time_parse("0026-11-20T09:30:01Z", &us));
    char out[32];
    rp_time_format(us, out);
    cr_assert_str_eq(out, "0026-11-20T09:30:01Z");
    cr_assert(rp_time_parse("0000-01-01T00:00:00.5Z", &us));
    rp_time_format(us, out);
    cr_assert_str_eq(out, "0000-01-01T00:00:00.500000Z");
}

/* ----- the fast line decoder ---------------------------------------------------------------- */

Test(recording, fast_decoder_reads_every_field_of_a_written_line)
{
    /* As the writer writes it: escapes in a header and a text body, a base64 body. */
    static const char line[] =
        "{\"seq\":7,\"start\":\"2026-11-20T09:30:00.000250Z\",\"duration_us\":1500,\"conn\":3,"
        "\"incomplete\":true,"
        "\"request\":{\"method\":\"POST\",\"url\":\"http://h.test/a?b=1\",\"version\":\"HTTP/1.1\","
        "\"headers\":[[\"X-Q\",\"say \\\"hi\\\"\\\\\"],[\"X-E\",\"\"]],"
        "\"body\":\"{\\\"a\\\":1}\\n\",\"body_truncated\":true,\"body_size\":123456789},"
        "\"response\":{\"status\":201,\"reason\":\"Created\",\"version\":\"HTTP/1.1\","
        "\"headers\":[[\"Content-Type\",\"image/png\"]],\"body_base64\":\"AAH/\"}}";
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    cr_assert(rp__recording_decode_fast(line, sizeof(line) - 1, &ex));
    cr_assert_eq(ex.seq, 7);
    cr_assert_eq(ex.start_us, 1795167000000250LL);
    cr_assert_eq(ex.duration_us, 1500);
    cr_assert_eq(ex.conn_id, 3);
    cr_assert(ex.incomplete);
    cr_assert_str_eq(ex.req.method, "POST");
    cr_assert_str_eq(ex.req.url, "http://h.test/a?b=1");
    cr_assert_str_eq(ex.req.version, "HTTP/1.1");
    cr_assert_eq(ex.req.headers.n, 2);
    cr_assert_str_eq(ex.req.headers.v[0].name, "X-Q");
    cr_assert_str_eq(ex.req.headers.v[0].value, "say \"hi\"\\");
    cr_assert_eq(ex.req.headers.v[0].value_len, 9);
    cr_assert_eq(ex.req.headers.v[1].value_len, 0);
    cr_assert_eq(ex.req.body.len, 8);
    cr_assert_arr_eq(ex.req.body.data, "{\"a\":1}\n", 9, "NUL-terminated");
    cr_assert(ex.req.body.truncated);
    cr_assert_eq(ex.req.body.orig_len, 123456789);
    cr_assert(ex.has_response);
    cr_assert_eq(ex.resp.status, 201);
    cr_assert_str_eq(ex.resp.reason, "Created");
    cr_assert_str_eq(ex.resp.headers.v[0].value, "image/png");
    static const unsigned char png[] = {0x00, 0x01, 0xff};
    cr_assert_eq(ex.resp.body.len, 3);
    cr_assert_arr_eq(ex.resp.body.data, png, 3);
    cr_assert_null(ex.extra);
    rp_exchange_cleanup(&ex);
}

Test(recording, fast_decoder_decodes_unicode_escapes_as_utf8)
{
    static const char line[] = "{\"request\":{\"method\":\"GET\",\"url\":\"http://h.test/\","
                               "\"headers\":[[\"X-U\",\"caf\\u00e9 \\ud83d\\ude00 a\\/b\\t\"]]}}";
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    cr_assert(rp__recording_decode_fast(line, sizeof(line) - 1, &ex));
    static const char want[] = "caf\xc3\xa9 \xf0\x9f\x98\x80 a/b\t";
    cr_assert_eq(ex.req.headers.v[0].value_len, sizeof(want) - 1);
    cr_assert_str_eq(ex.req.headers.v[0].value, want);
    cr_assert_not(ex.has_response);
    rp_exchange_cleanup(&ex);
}

Test(recording, fast_decoder_leaves_unusual_lines_to_the_cjson_decoder)
{
    /* Each is either an error or read in a way only the cJSON path reproduces. */
    static const char *const lines[] = {
        "{\"request\":{\"method\":\"GET\",\"url\":\"u\"},\"check\":{}}",        /* extra key */
        "{\"seq\":1,\"seq\":2,\"request\":{\"method\":\"GET\",\"url\":\"u\"}}", /* repeated */
        "{\"request\":{\"method\":\"GET\",\"url\":\"u\"},\"response\":null}",   /* null */
        "{\"seq\":1.0,\"request\":{\"method\":\"GET\",\"url\":\"u\"}}",         /* fraction */
        "{\"seq\":1e2,\"request\":{\"method\":\"GET\",\"url\":\"u\"}}",         /* exponent */
        "{\"seq\":01,\"request\":{\"method\":\"GET\",\"url\":\"u\"}}",          /* leading 0 */
        "{\"seq\":-1,\"request\":{\"method\":\"GET\",\"url\":\"u\"}}",          /* sign */
        "{\"request\":{\"method\":\"GET\",\"url\":\"a\\u0000b\"}}",             /* NUL */
        "{\"request\":{\"method\":\"GET\",\"url\":\"a\\u00zzb\"}}",             /* bad hex */
        "{\"request\":{\"method\":\"GET\",\"url\":\"a\\udc00b\"}}",             /* low half */
        "{\"request\":{\"method\":\"GET\",\"url\":\"a\\ud800b\"}}",             /* lone high */
        "{\"request\":{\"method\":\"GET\",\"url\":\"a\tb\"}}",                  /* raw tab */
        "{\"request\":{\"method\":\"GET\",\"url\":\"u\"}} x",                   /* trailing */
        "{\"request\":{\"method\":\"\",\"url\":\"u\"}}",                        /* empty */
        "{\"request\":{\"url\":\"u\"}}",                                        /* no method */
        "{\"seq\":1}",                                                          /* no request */
        "{\"request\":{\"method\":\"GET\",\"url\":\"u\",\"body\":\"a\",\"body_base64\":\"YQ==\"}}",
        "{\"request\":{\"method\":\"GET\",\"url\":\"u\"},\"response\":{\"status\":99}}",
        "{\"request\":{\"method\":\"GET\",\"url\":\"u\"},\"response\":{\"reason\":\"OK\"}}",
        "{\"request\":{\"method\":\"GET\",\"url\":\"u\",\"headers\":[[\"a\"]]}}",
        "{\"request\":{\"method\":\"GET\",\"url\":\"u\",\"headers\":[[\"a\",\"b\"}]}}",
        "{\"re\\u0071uest\":{\"method\":\"GET\",\"url\":\"u\"}}", /* escaped key */
        "{\"request\":{\"method\":\"GET\",\"url\":\"u\"},}",      /* trailing comma */
        "{\"request\":{\"method\":\"GET\",\"url\":\"u\",\"body_base64\":\"!\"}}",
        "{\"start\":\"yesterday\",\"request\":{\"method\":\"GET\",\"url\":\"u\"}}",
        "{\"request\":{\"method\":\"GET\",\"url\":\"u\"}",
        "",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        struct rp_exchange ex;
        rp_exchange_init(&ex);
        cr_assert_not(rp__recording_decode_fast(lines[i], strlen(lines[i]), &ex), "line %zu", i);
        cr_assert_null(ex.req.method, "line %zu: left empty", i);
        cr_assert_eq(ex.req.headers.n, 0);
        rp_exchange_cleanup(&ex);
    }
    /* The public decoder still reads the ones that are valid, through cJSON. */
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    struct rp_error err = {0};
    cr_assert_eq(rp_recording_decode_exchange(lines[0], strlen(lines[0]), &ex, &err), RP_OK);
    cr_assert_str_eq(ex.extra, "{\"check\":{}}");
    cr_assert_eq(rp_recording_decode_exchange(lines[3], strlen(lines[3]), &ex, &err), RP_OK);
    cr_assert_eq(ex.seq, 1);
    cr_assert_eq(rp_recording_decode_exchange(lines[12], strlen(lines[12]), &ex, &err), RP_OK);
    cr_assert_str_eq(ex.req.url, "u");
    cr_assert_eq(rp_recording_decode_exchange(lines[14], strlen(lines[14]), &ex, &err), RP_EFORMAT);
    cr_assert_str_eq(err.msg, "\"request.method\" is missing");
    rp_exchange_cleanup(&ex);
}

Test(recording, headers_add_take_keeps_the_strings_it_is_given_and_frees_them_past_the_cap)
{
    struct rp_headers h;
    rp_headers_init(&h);
    char *name = strdup("X-A");
    char *value = strdup("1");
    cr_assert_eq(rp_headers_add_take(&h, name, 3, value, 1, NULL), RP_OK);
    cr_assert_eq(h.n, 1);
    cr_assert_eq(h.v[0].name, name, "not copied");
    cr_assert_eq(h.v[0].value, value);
    for (size_t i = 1; i < RP_MAX_HEADER_COUNT; i++) {
        cr_assert_eq(rp_headers_add(&h, "X-B", 3, "2", 1, NULL), RP_OK);
    }
    struct rp_error err = {0};
    /* Past the cap the strings are freed (the leak checker sees to it) and nothing is added. */
    cr_assert_eq(rp_headers_add_take(&h, strdup("X-C"), 3, strdup("3"), 1, &err), RP_ETOOBIG);
    cr_assert_eq(h.n, 256);
    rp_headers_cleanup(&h);
}
