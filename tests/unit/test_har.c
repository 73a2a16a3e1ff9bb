/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for HAR import and export: the hand-written HARs in tests/data/har (Chrome- and
 * Firefox-style entries, params-only bodies, a BOM, broken files), a round trip through export
 * and import, the exact text of one exported entry, and the shared third-party corpus when it
 * is present.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include <reprise/har.h>
#include <reprise/limits.h>

#include "har_import.h"
#include "helpers.h"

#define HAR_DATA REPRISE_TEST_DATA "/har/"

/* ----- helpers ---------------------------------------------------------------------------- */

#define MAX_GOT 16

struct got {
    struct rp_exchange v[MAX_GOT];
    size_t n;
};

static rp_code collect(void *ud, struct rp_exchange *ex, struct rp_error *err)
{
    struct got *g = ud;
    cr_assert_lt(g->n, MAX_GOT);
    rp_exchange_init(&g->v[g->n]);
    rp_code rc = rp_exchange_copy(&g->v[g->n], ex, err);
    g->n++;
    return rc;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++) {
        rp_exchange_cleanup(&g->v[i]);
    }
    g->n = 0;
}

static void read_fixture(const char *name, const struct rp_har_import_opts *opts, struct got *g,
                         struct rp_har_stats *st)
{
    char path[512];
    snprintf(path, sizeof(path), "%s%s", HAR_DATA, name);
    struct rp_error err = {0};
    rp_code rc = rp_har_read(path, opts, collect, g, st, &err);
    cr_assert_eq(rc, RP_OK, "%s: %s", name, err.msg);
}

/* Reads every exchange of the recording at path into g. */
static void read_recording(const char *path, struct got *g)
{
    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    for (;;) {
        cr_assert_lt(g->n, MAX_GOT);
        rp_exchange_init(&g->v[g->n]);
        bool got = false;
        cr_assert_eq(rp_reader_next(r, &g->v[g->n], &got, &err), RP_OK, "%s", err.msg);
        if (!got) {
            rp_exchange_cleanup(&g->v[g->n]);
            break;
        }
        g->n++;
    }
    rp_reader_free(r);
}

static void expect_header(const struct rp_headers *h, size_t i, const char *name, const char *value)
{
    cr_assert_lt(i, h->n, "no header %zu (want %s)", i, name);
    cr_assert_str_eq(h->v[i].name, name);
    cr_assert_str_eq(h->v[i].value, value);
    cr_assert_eq(h->v[i].value_len, strlen(value));
}

static void expect_body(const struct rp_body *b, const void *want, size_t len)
{
    cr_assert_eq(b->len, len, "body is %zu bytes, want %zu", b->len, len);
    if (len) {
        cr_assert_eq(memcmp(b->data, want, len), 0, "body bytes differ");
    }
}

static void expect_str_or_null(const char *got, const char *want)
{
    if (!want) {
        cr_assert_null(got, "want NULL, got \"%s\"", got ? got : "");
    } else {
        cr_assert_not_null(got, "want \"%s\", got NULL", want);
        cr_assert_str_eq(got, want);
    }
}

/* ----- import: what maps to what --------------------------------------------------------- */

Test(har, chrome_entries_become_exchanges_in_file_order)
{
    struct got g = {0};
    struct rp_har_stats st;
    read_fixture("chrome-session.har", NULL, &g, &st);
    cr_assert_eq(st.entries, 10);
    cr_assert_eq(st.exchanges, 8);
    cr_assert_eq(st.dropped, 2);
    cr_assert_eq(g.n, 8);
    const char *urls[] = {
        "https://shop.example.test/",
        "https://shop.example.test/api/login",
        "https://shop.example.test/static/app.js?v=9",
        "https://shop.example.test/img/logo.png",
        "https://ads.example.test/pixel",
        "https://shop.example.test/api/orders",
        "https://shop.example.test/old",
        "https://shop.example.test/api/blob",
    };
    for (size_t i = 0; i < g.n; i++) {
        cr_assert_eq(g.v[i].seq, i + 1);
        cr_assert_str_eq(g.v[i].req.url, urls[i]);
    }
    cr_assert_str_eq(g.v[1].req.method, "POST");
    got_free(&g);
}

Test(har, started_date_time_with_an_offset_becomes_utc_microseconds)
{
    struct got g = {0};
    read_fixture("chrome-session.har", NULL, &g, NULL);
    /* 2026-03-01T10:00:00.250+02:00 is 08:00:00.250 UTC, 1772352000 s after the epoch. */
    cr_assert_eq(g.v[0].start_us, 1772352000250000);
    cr_assert_eq(g.v[1].start_us, 1772352001000000);
    got_free(&g);

    read_fixture("firefox-cookies.har", NULL, &g, NULL);
    /* 01:30:00.5-07:00 and 01:30:01.000-0700 (no colon) are 08:30:00.5 and 08:30:01 UTC. */
    cr_assert_eq(g.v[0].start_us, 1772353800500000);
    cr_assert_eq(g.v[1].start_us, 1772353801000000);
    got_free(&g);
}

Test(har, time_connection_and_version_are_mapped)
{
    struct got g = {0};
    read_fixture("chrome-session.har", NULL, &g, NULL);
    cr_assert_eq(g.v[0].duration_us, 12500);
    cr_assert_eq(g.v[0].conn_id, 311);
    cr_assert_eq(g.v[4].duration_us, 400);
    cr_assert_eq(g.v[4].conn_id, 0);
    expect_str_or_null(g.v[0].req.version, "HTTP/2"); /* "http/2.0" */
    expect_str_or_null(g.v[1].req.version, "HTTP/2"); /* "h2" */
    expect_str_or_null(g.v[6].req.version, "HTTP/1.1");
    expect_str_or_null(g.v[7].req.version, "HTTP/3"); /* "h3" */
    expect_str_or_null(g.v[7].resp.version, "HTTP/3");
    expect_str_or_null(g.v[4].req.version, NULL); /* "" */
    got_free(&g);

    read_fixture("firefox-cookies.har", NULL, &g, NULL);
    cr_assert_eq(g.v[0].duration_us, 0);
    cr_assert_eq(g.v[0].conn_id, 443);
    cr_assert_eq(g.v[1].duration_us, 7250);
    cr_assert_eq(g.v[2].duration_us, 0);           /* "time": -1 */
    expect_str_or_null(g.v[1].resp.version, NULL); /* "unknown" */
    got_free(&g);
}

Test(har, pseudo_headers_are_left_out_and_the_rest_keep_order_and_duplicates)
{
    struct got g = {0};
    read_fixture("chrome-session.har", NULL, &g, NULL);
    const struct rp_headers *h = &g.v[0].req.headers;
    cr_assert_eq(h->n, 3);
    expect_header(h, 0, "accept", "text/html");
    expect_header(h, 1, "cookie", "sid=abc123; theme=dark");
    expect_header(h, 2, "accept", "*/*");
    got_free(&g);
}

Test(har, header_values_with_line_breaks_become_one_header_per_line)
{
    struct got g = {0};
    read_fixture("chrome-session.har", NULL, &g, NULL);
    const struct rp_headers *h = &g.v[0].resp.headers;
    cr_assert_eq(h->n, 3);
    expect_header(h, 0, "content-type", "text/html; charset=utf-8");
    expect_header(h, 1, "set-cookie", "sid=abc123; Path=/; HttpOnly");
    expect_header(h, 2, "set-cookie", "prefs=1; Path=/");
    got_free(&g);

    read_fixture("firefox-cookies.har", NULL, &g, NULL);
    h = &g.v[0].resp.headers;
    cr_assert_eq(h->n, 3);
    expect_header(h, 1, "Set-Cookie", "a=1; Path=/");
    expect_header(h, 2, "Set-Cookie", "b=2; Secure");
    got_free(&g);
}

Test(har, response_status_reason_and_bodies_are_decoded)
{
    struct got g = {0};
    read_fixture("chrome-session.har", NULL, &g, NULL);
    cr_assert(g.v[0].has_response);
    cr_assert_eq(g.v[0].resp.status, 200);
    expect_str_or_null(g.v[0].resp.reason, NULL); /* "" */
    expect_body(&g.v[0].resp.body, "<html>h\xc3\xa9llo</html>", 19);
    expect_str_or_null(g.v[1].resp.reason, "OK");
    static const unsigned char png[] = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a,
                                        0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d};
    expect_body(&g.v[3].resp.body, png, sizeof(png));
    /* base64 with a line break in it */
    static const unsigned char blob[] = {0x00, 0xff, 0x10, 0x41, 0x00};
    expect_body(&g.v[7].resp.body, blob, sizeof(blob));
    got_free(&g);
}

Test(har, status_zero_is_an_exchange_without_response)
{
    struct got g = {0};
    read_fixture("chrome-session.har", NULL, &g, NULL);
    cr_assert_str_eq(g.v[4].req.url, "https://ads.example.test/pixel");
    cr_assert_not(g.v[4].has_response);
    cr_assert_eq(g.v[4].resp.headers.n, 0);
    got_free(&g);
}

Test(har, request_bodies_come_from_text_or_params)
{
    struct got g = {0};
    read_fixture("chrome-session.har", NULL, &g, NULL);
    const char *login = "{\"email\":\"a@b.test\",\"password\":\"hunter2\",\"csrf_token\":\"c5rf\","
                        "\"remember\":true,\"n\":1.50}";
    expect_body(&g.v[1].req.body, login, strlen(login));
    const char *form = "item=a+b&qty=2&note=x%26y%3Dz";
    expect_body(&g.v[5].req.body, form, strlen(form));
    expect_body(&g.v[0].req.body, "", 0);
    got_free(&g);

    read_fixture("chrome-params.har", NULL, &g, NULL);
    cr_assert_eq(g.n, 2);
    const char *json = "{\"type\":\"VISIT\",\"payload\":{\"url\":\"/x\",\"late\":true}}";
    expect_body(&g.v[0].req.body, json, strlen(json));
    const char *multi = "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n"
                        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
                        "filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nabc\r\n"
                        "--XyZ--\r\n";
    expect_body(&g.v[1].req.body, multi, strlen(multi));
    /* A hand-made HAR with no response objects, times or versions. */
    cr_assert_not(g.v[0].has_response);
    cr_assert_eq(g.v[0].start_us, 0);
    expect_str_or_null(g.v[0].req.version, NULL);
    got_free(&g);
}

Test(har, nul_escapes_in_body_text_are_kept_as_nul_bytes)
{
    /* mitmproxy writes binary request bodies as text with \u0000 in it; an escaped backslash
     * before "u0000" is text, not a NUL. */
    const char *json = "{\"log\":{\"entries\":[{\"request\":{\"method\":\"POST\",\"url\":"
                       "\"http://a/\",\"postData\":{\"mimeType\":\"application/octet-stream\","
                       "\"text\":\"a\\u0000b\\\\u0000c\\\\\\u0000\"}}}]}}";
    struct got g = {0};
    struct rp_error err = {0};
    cr_assert_eq(rp_har_read_mem(json, strlen(json), "mem", NULL, collect, &g, NULL, &err), RP_OK,
                 "%s", err.msg);
    cr_assert_eq(g.n, 1);
    expect_body(&g.v[0].req.body, "a\0b\\u0000c\\\0", 12);
    got_free(&g);
}

Test(har, empty_post_data_and_content_without_text_give_empty_bodies)
{
    struct got g = {0};
    read_fixture("firefox-cookies.har", NULL, &g, NULL);
    expect_body(&g.v[2].req.body, "", 0);
    cr_assert(g.v[2].has_response);
    expect_body(&g.v[2].resp.body, "", 0); /* content.size 100, no text */
    cr_assert_not(g.v[2].resp.body.truncated);
    got_free(&g);
}

Test(har, cookie_arrays_become_headers_only_when_headers_lack_them)
{
    struct got g = {0};
    read_fixture("firefox-cookies.har", NULL, &g, NULL);
    const struct rp_headers *h = &g.v[0].req.headers;
    cr_assert_eq(h->n, 2);
    expect_header(h, 0, "Host", "app.example.test");
    expect_header(h, 1, "Cookie", "sid=s1; lang=en");
    h = &g.v[1].resp.headers;
    cr_assert_eq(h->n, 2);
    expect_header(h, 1, "Set-Cookie", "rt=r1; Path=/; HttpOnly");
    got_free(&g);
}

Test(har, redirect_url_becomes_location_when_the_headers_lack_it)
{
    struct got g = {0};
    read_fixture("chrome-session.har", NULL, &g, NULL);
    const struct rp_exchange *ex = &g.v[6];
    cr_assert_eq(ex->resp.status, 302);
    expect_str_or_null(ex->resp.reason, "Found");
    cr_assert_eq(ex->resp.headers.n, 2);
    expect_header(&ex->resp.headers, 0, "Content-Length", "0");
    expect_header(&ex->resp.headers, 1, "Location", "https://shop.example.test/new");
    got_free(&g);
}

Test(har, static_assets_are_left_out_by_the_intake_unless_included)
{
    char *dir = tmp_dir();
    char *out = path_in(dir, "s.jsonl.gz");
    struct got g = {0};
    struct rp_intake_counts c;
    struct rp_har_stats st;
    struct rp_error err = {0};
    cr_assert_eq(
        import_via(HAR_DATA "chrome-session.har", out, (struct rp_intake_opts){0}, &c, &st, &err),
        RP_OK, "%s", err.msg);
    cr_assert_eq(st.exchanges, 6);
    cr_assert_eq(c.recorded, 6);
    cr_assert_eq(c.filtered_static, 2);
    cr_assert_eq(st.dropped, 2);
    read_recording(out, &g);
    cr_assert_eq(g.n, 6);
    cr_assert_str_eq(g.v[2].req.url, "https://ads.example.test/pixel");
    cr_assert_eq(g.v[2].seq, 3, "seq numbers have no gaps");
    cr_assert_eq(g.v[5].seq, 6);
    got_free(&g);
    cr_assert_eq(import_via(HAR_DATA "chrome-session.har", out,
                            (struct rp_intake_opts){.include_static = true}, &c, &st, &err),
                 RP_OK, "%s", err.msg);
    cr_assert_eq(c.recorded, 8);
    cr_assert_eq(c.filtered_static, 0);
    free(out);
    rm_tree(dir);
}

Test(har, scrubbing_replaces_secrets_as_entries_are_imported)
{
    char *dir = tmp_dir();
    char *out = path_in(dir, "c.jsonl.gz");
    struct got g = {0};
    struct rp_error err = {0};
    cr_assert_eq(import_via(HAR_DATA "firefox-cookies.har", out,
                            (struct rp_intake_opts){.include_static = true}, NULL, NULL, &err),
                 RP_OK, "%s", err.msg);
    read_recording(out, &g);
    expect_header(&g.v[0].req.headers, 1, "Cookie",
                  "sid={{secret:cookie_sid}}; lang={{secret:cookie_lang}}");
    expect_header(&g.v[0].resp.headers, 1, "Set-Cookie", "a={{secret:cookie_a}}; Path=/");
    const char *form = "grant_type=password&username=u&password={{secret:password}}"
                       "&access_token={{secret:access_token}}&csrf_token=keep";
    expect_body(&g.v[1].req.body, form, strlen(form));
    cr_assert_str_eq(g.v[2].req.url,
                     "http://app.example.test/api/items?api_key={{secret:api_key}}&page=2");
    got_free(&g);
    free(out);
    rm_tree(dir);
}

/* ----- import: the file ------------------------------------------------------------------- */

Test(har, a_utf8_byte_order_mark_is_skipped)
{
    struct got g = {0};
    read_fixture("bom.har", NULL, &g, NULL);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(g.v[0].resp.status, 204);
    expect_str_or_null(g.v[0].resp.reason, "No Content");
    got_free(&g);
}

static void expect_read_error(const char *name, rp_code code, const char *msg_suffix)
{
    char path[512];
    snprintf(path, sizeof(path), "%s%s", HAR_DATA, name);
    struct got g = {0};
    struct rp_error err = {0};
    rp_code rc = rp_har_read(path, NULL, collect, &g, NULL, &err);
    cr_assert_eq(rc, code, "%s: got %s (%s)", name, rp_code_name(rc), err.msg);
    char want[600];
    snprintf(want, sizeof(want), "%s: %s", path, msg_suffix);
    cr_assert_str_eq(err.msg, want);
    cr_assert_eq(g.n, 0);
}

Test(har, invalid_json_names_the_line_and_column)
{
    /* Line 3 is "    {oops}": where a key's opening quote should be, cJSON stops one byte
     * past the 'o' at column 6, and the message reports where it stopped. */
    expect_read_error("bad-json.har", RP_EFORMAT, "invalid JSON at line 3, column 7");
}

Test(har, a_document_without_log_entries_is_not_har)
{
    expect_read_error("not-har.har", RP_EFORMAT, "not HAR: no log.entries");
}

Test(har, a_missing_file_is_an_io_error)
{
    expect_read_error("nope.har", RP_EIO, "No such file or directory");
}

Test(har, bad_entries_fail_naming_the_entry)
{
    struct {
        const char *json;
        rp_code code;
        const char *msg;
    } cases[] = {
        {"{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\",\"url\":\"http://a/\"}},7]}}",
         RP_EFORMAT, "mem: entry 2: not an object"},
        {"{\"log\":{\"entries\":[{\"request\":{\"url\":\"http://a/\"}}]}}", RP_EFORMAT,
         "mem: entry 1: request.method is missing"},
        {"{\"log\":{\"entries\":[{\"startedDateTime\":\"yesterday\",\"request\":{\"method\":"
         "\"GET\",\"url\":\"http://a/\"}}]}}",
         RP_EFORMAT, "mem: entry 1: startedDateTime \"yesterday\" is not an ISO-8601 time"},
        {"{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\",\"url\":\"http://a/\"},"
         "\"response\":{\"status\":42}}]}}",
         RP_EFORMAT, "mem: entry 1: response.status 42 is not an HTTP status"},
        {"{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\",\"url\":\"http://a/\"},"
         "\"response\":{\"status\":200,\"content\":{\"text\":\"@@@\",\"encoding\":\"base64\"}}}]}}",
         RP_EFORMAT, "mem: entry 1: response.content.text is not valid base64"},
        {"{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\",\"url\":\"http://a/\","
         "\"headers\":[{\"value\":\"x\"}]}}]}}",
         RP_EFORMAT, "mem: entry 1: request.headers[0] has no name"},
        {"{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\",\"url\":\"http://a/\"},"
         "\"_reprise_vars\":[{\"name\":\"t\"}]}]}}",
         RP_EFORMAT,
         "mem: entry 1: \"_reprise_vars\": \"vars[0]\" needs string \"name\" and \"from\""},
        {"[1,2]", RP_EFORMAT, "mem: not HAR: no log.entries"},
        {"", RP_EFORMAT, "mem: invalid JSON at line 1, column 1"},
        {"{\"log\":{\"entries\":[]}} x", RP_EFORMAT,
         "mem: invalid JSON at line 1, column 24 (text after the document)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct got g = {0};
        struct rp_error err = {0};
        rp_code rc = rp_har_read_mem(cases[i].json, strlen(cases[i].json), "mem", NULL, collect, &g,
                                     NULL, &err);
        cr_assert_eq(rc, cases[i].code, "case %zu: %s", i, err.msg);
        cr_assert_str_eq(err.msg, cases[i].msg, "case %zu", i);
        got_free(&g);
    }
}

Test(har, a_file_past_the_size_cap_is_refused_before_reading)
{
    char *dir = tmp_dir();
    char *path = path_in(dir, "huge.har");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    /* Sparse: the size is past the cap, the disk holds nothing. */
    cr_assert_eq(ftruncate(fd, (off_t)RP_MAX_HAR_BYTES + 1), 0);
    close(fd);
    struct got g = {0};
    struct rp_error err = {0};
    rp_code rc = rp_har_read(path, NULL, collect, &g, NULL, &err);
    cr_assert_eq(rc, RP_ETOOBIG, "%s", err.msg);
    cr_assert(strstr(err.msg, "larger than 512 MiB") != NULL, "%s", err.msg);
    free(path);
    rm_tree(dir);
}

static rp_code fail_second(void *ud, struct rp_exchange *ex, struct rp_error *err)
{
    (void)ex;
    int *calls = ud;
    if (++*calls == 2) {
        return rp_error_set(err, RP_EIO, "disk full");
    }
    return RP_OK;
}

Test(har, an_error_from_the_callback_stops_the_read)
{
    struct rp_error err = {0};
    int calls = 0;
    rp_code rc = rp_har_read(HAR_DATA "chrome-session.har", NULL, fail_second, &calls, NULL, &err);
    cr_assert_eq(rc, RP_EIO);
    cr_assert_str_eq(err.msg, "disk full");
    cr_assert_eq(calls, 2);
}

/* ----- import into a recording ------------------------------------------------------------ */

Test(har, import_writes_a_recording_with_its_header_and_scrubbed_exchanges)
{
    char *dir = tmp_dir();
    char *out = path_in(dir, "session.jsonl.gz");
    const char *tenants[] = {"acme"};
    struct rp_intake_opts io = {
        .name = "session",
        .source_detail = HAR_DATA "chrome-session.har",
        .tenants = tenants,
        .n_tenants = 1,
    };
    struct rp_har_stats st;
    struct rp_error err = {0};
    rp_code rc = import_via(HAR_DATA "chrome-session.har", out, io, NULL, &st, &err);
    cr_assert_eq(rc, RP_OK, "%s", err.msg);
    cr_assert_eq(st.exchanges, 6);

    struct rp_reader *r = NULL;
    cr_assert_eq(rp_reader_open(out, NULL, &r, &err), RP_OK, "%s", err.msg);
    const struct rp_rec_meta *m = rp_reader_meta(r);
    cr_assert_str_eq(m->name, "session");
    cr_assert_str_eq(m->source_kind, "har");
    cr_assert_str_eq(m->source_detail, HAR_DATA "chrome-session.har");
    cr_assert_eq(m->n_tenants, 1);
    cr_assert_str_eq(m->tenants[0], "acme");
    cr_assert_str_eq(m->created, "2026-03-01T08:00:00.250000Z"); /* the first entry's start */
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    bool got = false;
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_assert(got);
    cr_assert_eq(ex.seq, 2);
    expect_header(&ex.req.headers, 1, "authorization", "Bearer {{secret:authorization}}");
    const char *login = "{\"email\":\"a@b.test\",\"password\":\"{{secret:password}}\","
                        "\"csrf_token\":\"c5rf\",\"remember\":true,\"n\":1.50}";
    expect_body(&ex.req.body, login, strlen(login));
    expect_header(&ex.req.headers, 2, "content-length", "98");
    uint64_t n = 2;
    while (got) {
        cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
        n += got;
    }
    cr_assert_eq(n, 6);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);

    /* No secret reached the file, compressed or not. */
    size_t len = 0;
    char *text = gunzip_file(out, &len);
    cr_assert_null(strstr(text, "hunter2"));
    cr_assert_null(strstr(text, "eyJhbGciOi.secret-token"));
    cr_assert_null(strstr(text, "abc123"));
    cr_assert_not_null(strstr(text, "{{secret:cookie_sid}}"));
    free(text);
    char *part = path_in(dir, "session.jsonl.gz.part");
    cr_assert_eq(access(part, F_OK), -1, "the .part file is gone");
    free(part);

    free(out);
    rm_tree(dir);
}

Test(har, a_failed_import_leaves_no_file_and_an_existing_one_untouched)
{
    char *dir = tmp_dir();
    char *out = path_in(dir, "keep.jsonl.gz");
    write_file(out, "precious", 8);
    struct rp_error err = {0};
    rp_code rc =
        import_via(HAR_DATA "bad-json.har", out, (struct rp_intake_opts){0}, NULL, NULL, &err);
    cr_assert_eq(rc, RP_EFORMAT);
    size_t len = 0;
    FILE *f = fopen(out, "rb");
    char buf[16] = {0};
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    cr_assert_eq(len, 8);
    cr_assert_str_eq(buf, "precious");
    char *part = path_in(dir, "keep.jsonl.gz.part");
    cr_assert_eq(access(part, F_OK), -1);

    /* An entry that fails halfway through leaves nothing either. */
    char *har = path_in(dir, "late.har");
    const char *json = "{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\",\"url\":"
                       "\"http://a/\"}},{\"request\":{}}]}}";
    write_file(har, json, strlen(json));
    char *out2 = path_in(dir, "late.jsonl.gz");
    rc = import_via(har, out2, (struct rp_intake_opts){0}, NULL, NULL, &err);
    cr_assert_eq(rc, RP_EFORMAT);
    cr_assert(strstr(err.msg, "entry 2: request.method is missing") != NULL, "%s", err.msg);
    cr_assert_eq(access(out2, F_OK), -1);
    char *part2 = path_in(dir, "late.jsonl.gz.part");
    cr_assert_eq(access(part2, F_OK), -1);
    free(part2);
    free(out2);
    free(har);
    free(part);
    free(out);
    rm_tree(dir);
}

/* ----- export ----------------------------------------------------------------------------- */

static void add_h(struct rp_headers *h, const char *name, const char *value)
{
    cr_assert_eq(rp_headers_add(h, name, strlen(name), value, strlen(value), NULL), RP_OK);
}

Test(har, an_exported_entry_has_every_required_field)
{
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.seq = 1;
    ex.start_us = 1772352000123456;
    ex.duration_us = 1500;
    ex.req.method = rp_xstrdup("GET");
    ex.req.url = rp_xstrdup("https://a.test/p?x=1");
    ex.req.version = rp_xstrdup("HTTP/1.1");
    add_h(&ex.req.headers, "Accept", "*/*");
    ex.has_response = true;
    ex.resp.status = 204;
    ex.resp.reason = rp_xstrdup("No Content");
    ex.resp.version = rp_xstrdup("HTTP/1.1");
    struct rp_buf b;
    rp_buf_init(&b, 1 << 20);
    cr_assert_eq(rp_har_encode_entry(&ex, "page_1", &b, NULL), RP_OK);
    const char *want =
        "{\"pageref\":\"page_1\",\"startedDateTime\":\"2026-03-01T08:00:00.123Z\",\"time\":1.5,"
        "\"request\":{\"method\":\"GET\",\"url\":\"https://a.test/p?x=1\",\"httpVersion\":"
        "\"HTTP/1.1\",\"cookies\":[],\"headers\":[{\"name\":\"Accept\",\"value\":\"*/*\"}],"
        "\"queryString\":[{\"name\":\"x\",\"value\":\"1\"}],\"headersSize\":-1,\"bodySize\":0},"
        "\"response\":{\"status\":204,\"statusText\":\"No Content\",\"httpVersion\":\"HTTP/1.1\","
        "\"cookies\":[],\"headers\":[],\"content\":{\"size\":0,\"mimeType\":\"x-unknown\"},"
        "\"redirectURL\":\"\",\"headersSize\":-1,\"bodySize\":0},\"cache\":{},\"timings\":"
        "{\"blocked\":-1,\"dns\":-1,\"connect\":-1,\"send\":0,\"wait\":1.5,\"receive\":0,"
        "\"ssl\":-1}}";
    cr_assert_str_eq(b.data, want);
    rp_buf_cleanup(&b);
    rp_exchange_cleanup(&ex);
}

/* Three exchanges that exercise what export must carry: binary bodies, duplicate headers,
 * cookies, a query, an exchange without response, an unknown version, a redirect. */
static void make_exchanges(struct rp_exchange ex[3])
{
    for (size_t i = 0; i < 3; i++) {
        rp_exchange_init(&ex[i]);
        ex[i].seq = i + 1;
        ex[i].start_us = 1772352000123000 + (int64_t)i * 1000000;
        ex[i].duration_us = 2500 * (i + 1);
        ex[i].conn_id = i == 1 ? 0 : 5;
    }
    struct rp_exchange *a = &ex[0];
    a->req.method = rp_xstrdup("POST");
    a->req.url = rp_xstrdup("https://x.test/api?q=a%20b&k=1");
    a->req.version = rp_xstrdup("HTTP/1.1");
    add_h(&a->req.headers, "Host", "x.test");
    add_h(&a->req.headers, "Cookie", "a=1; b=2");
    add_h(&a->req.headers, "X-Dup", "1");
    add_h(&a->req.headers, "X-Dup", "2");
    add_h(&a->req.headers, "Content-Type", "application/octet-stream");
    rp_body_set(&a->req.body,
                "\x00\x01"
                "bin\xfe",
                6);
    a->has_response = true;
    a->resp.status = 200;
    a->resp.reason = rp_xstrdup("OK");
    a->resp.version = rp_xstrdup("HTTP/1.1");
    add_h(&a->resp.headers, "Set-Cookie", "s=1; Path=/; HttpOnly");
    add_h(&a->resp.headers, "Set-Cookie", "t=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT");
    add_h(&a->resp.headers, "Content-Type", "text/plain; charset=utf-8");
    rp_body_set(&a->resp.body, "h\xc3\xa9llo", 6);

    struct rp_exchange *b = &ex[1];
    b->req.method = rp_xstrdup("GET");
    b->req.url = rp_xstrdup("https://x.test/none");

    struct rp_exchange *c = &ex[2];
    c->req.method = rp_xstrdup("GET");
    c->req.url = rp_xstrdup("https://x.test/r");
    c->req.version = rp_xstrdup("HTTP/2");
    c->has_response = true;
    c->resp.status = 301;
    c->resp.reason = rp_xstrdup("Moved Permanently");
    c->resp.version = rp_xstrdup("HTTP/2");
    add_h(&c->resp.headers, "Location", "/new");
    rp_body_set(&c->resp.body, "\xff\xfe\x00", 3);
}

static void write_recording(const char *path, struct rp_exchange *ex, size_t n)
{
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    meta.name = rp_xstrdup("trip");
    meta.created = rp_xstrdup("2026-03-01T08:00:00Z");
    meta.source_kind = rp_xstrdup("proxy");
    struct rp_writer *w = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_writer_open(path, &meta, NULL, &w, &err), RP_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(rp_writer_append(w, &ex[i], &err), RP_OK, "%s", err.msg);
    }
    cr_assert_eq(rp_writer_close(w, &err), RP_OK, "%s", err.msg);
    rp_rec_meta_cleanup(&meta);
}

static void expect_same_headers(const struct rp_headers *a, const struct rp_headers *b)
{
    cr_assert_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        expect_header(b, i, a->v[i].name, a->v[i].value);
    }
}

static void expect_same_exchange(const struct rp_exchange *a, const struct rp_exchange *b)
{
    cr_assert_eq(a->seq, b->seq);
    cr_assert_eq(a->start_us, b->start_us);
    cr_assert_eq(a->duration_us, b->duration_us);
    cr_assert_eq(a->conn_id, b->conn_id);
    cr_assert_str_eq(a->req.method, b->req.method);
    cr_assert_str_eq(a->req.url, b->req.url);
    expect_str_or_null(b->req.version, a->req.version);
    expect_same_headers(&a->req.headers, &b->req.headers);
    expect_body(&b->req.body, a->req.body.data, a->req.body.len);
    cr_assert_eq(a->has_response, b->has_response);
    cr_assert_eq(a->resp.status, b->resp.status);
    expect_str_or_null(b->resp.reason, a->resp.reason);
    expect_str_or_null(b->resp.version, a->resp.version);
    expect_same_headers(&a->resp.headers, &b->resp.headers);
    expect_body(&b->resp.body, a->resp.body.data, a->resp.body.len);
    cr_assert_eq(a->resp.body.truncated, b->resp.body.truncated);
    cr_assert_eq(a->resp.body.orig_len, b->resp.body.orig_len);
    cr_assert_eq(a->n_vars, b->n_vars);
    for (size_t i = 0; i < a->n_vars; i++) {
        cr_assert_str_eq(b->vars[i].name, a->vars[i].name);
        cr_assert_str_eq(b->vars[i].from, a->vars[i].from);
    }
}

static cJSON *parse_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    cr_assert_not_null(j, "the export is not JSON");
    return j;
}

static const char *jstr(const cJSON *o, const char *path)
{
    /* path: keys and [index] separated by '.' */
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s", path);
    const cJSON *j = o;
    for (char *save = NULL, *k = strtok_r(tmp, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
        j = k[0] >= '0' && k[0] <= '9' ? cJSON_GetArrayItem(j, (int)strtol(k, NULL, 10))
                                       : cJSON_GetObjectItemCaseSensitive(j, k);
        cr_assert_not_null(j, "no %s", path);
    }
    if (cJSON_IsString(j)) {
        return j->valuestring;
    }
    static char num[64];
    snprintf(num, sizeof(num), "%g", j->valuedouble);
    return cJSON_IsBool(j) ? (cJSON_IsTrue(j) ? "true" : "false") : num;
}

Test(har, export_writes_har_1_2_that_viewers_read)
{
    char *dir = tmp_dir();
    char *rec = path_in(dir, "trip.jsonl.gz");
    char *har = path_in(dir, "trip.har");
    struct rp_exchange ex[3];
    make_exchanges(ex);
    write_recording(rec, ex, 3);
    struct rp_error err = {0};
    uint64_t count = 0;
    cr_assert_eq(rp_har_export(rec, har, NULL, &count, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(count, 3);

    cJSON *j = parse_file(har);
    cr_assert_str_eq(jstr(j, "log.version"), "1.2");
    cr_assert_str_eq(jstr(j, "log.creator.name"), "reprise");
    cr_assert_str_eq(jstr(j, "log.pages.0.id"), "page_1");
    cr_assert_str_eq(jstr(j, "log.pages.0.title"), "trip");
    cr_assert_str_eq(jstr(j, "log.pages.0.startedDateTime"), "2026-03-01T08:00:00.123Z");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "log"), "entries")),
                 3);
    cr_assert_str_eq(jstr(j, "log.entries.0.pageref"), "page_1");
    cr_assert_str_eq(jstr(j, "log.entries.0.startedDateTime"), "2026-03-01T08:00:00.123Z");
    cr_assert_str_eq(jstr(j, "log.entries.0.time"), "2.5");
    cr_assert_str_eq(jstr(j, "log.entries.0.connection"), "5");
    cr_assert_str_eq(jstr(j, "log.entries.0.request.cookies.1.name"), "b");
    cr_assert_str_eq(jstr(j, "log.entries.0.request.cookies.1.value"), "2");
    cr_assert_str_eq(jstr(j, "log.entries.0.request.queryString.0.name"), "q");
    cr_assert_str_eq(jstr(j, "log.entries.0.request.queryString.0.value"), "a b");
    cr_assert_str_eq(jstr(j, "log.entries.0.request.queryString.1.value"), "1");
    cr_assert_str_eq(jstr(j, "log.entries.0.request.postData.mimeType"),
                     "application/octet-stream");
    cr_assert_str_eq(jstr(j, "log.entries.0.request.postData.text"), "AAFiaW7+");
    cr_assert_str_eq(jstr(j, "log.entries.0.request.postData.encoding"), "base64");
    cr_assert_str_eq(jstr(j, "log.entries.0.request.bodySize"), "6");
    cr_assert_str_eq(jstr(j, "log.entries.0.response.cookies.0.name"), "s");
    cr_assert_str_eq(jstr(j, "log.entries.0.response.cookies.0.path"), "/");
    cr_assert_str_eq(jstr(j, "log.entries.0.response.cookies.0.httpOnly"), "true");
    cr_assert_str_eq(jstr(j, "log.entries.0.response.cookies.1.expires"),
                     "2026-10-21T07:28:00.000Z");
    cr_assert_str_eq(jstr(j, "log.entries.0.response.content.text"), "h\xc3\xa9llo");
    cr_assert_str_eq(jstr(j, "log.entries.0.response.content.size"), "6");
    cr_assert_str_eq(jstr(j, "log.entries.0.response.content.mimeType"),
                     "text/plain; charset=utf-8");
    cr_assert_str_eq(jstr(j, "log.entries.1.request.httpVersion"), "");
    cr_assert_str_eq(jstr(j, "log.entries.1.response.status"), "0");
    cr_assert_str_eq(jstr(j, "log.entries.1.timings.wait"), "5");
    cr_assert_str_eq(jstr(j, "log.entries.1.timings.ssl"), "-1");
    cr_assert_str_eq(jstr(j, "log.entries.2.response.redirectURL"), "/new");
    cr_assert_str_eq(jstr(j, "log.entries.2.response.content.text"), "//4A");
    cr_assert_str_eq(jstr(j, "log.entries.2.response.content.encoding"), "base64");
    cJSON_Delete(j);

    for (size_t i = 0; i < 3; i++) {
        rp_exchange_cleanup(&ex[i]);
    }
    free(rec);
    free(har);
    rm_tree(dir);
}

Test(har, import_after_export_gives_back_the_same_exchanges)
{
    char *dir = tmp_dir();
    char *rec = path_in(dir, "trip.jsonl.gz");
    char *har = path_in(dir, "trip.har");
    struct rp_exchange ex[3];
    make_exchanges(ex);
    /* A body cut by the recorder keeps its mark and full size through the trip. */
    ex[2].resp.body.truncated = true;
    ex[2].resp.body.orig_len = 99999999;
    /* Record-time variables a response gives keep their declarations ("_reprise_vars"). */
    rp_exchange_add_var(&ex[0], "access_token", "body $.access_token");
    rp_exchange_add_var(&ex[0], "session", "cookie s");
    write_recording(rec, ex, 3);
    struct rp_error err = {0};
    cr_assert_eq(rp_har_export(rec, har, NULL, NULL, &err), RP_OK, "%s", err.msg);

    struct got g = {0};
    cr_assert_eq(rp_har_read(har, NULL, collect, &g, NULL, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(g.n, 3);
    for (size_t i = 0; i < 3; i++) {
        expect_same_exchange(&ex[i], &g.v[i]);
        rp_exchange_cleanup(&ex[i]);
    }
    got_free(&g);
    free(rec);
    free(har);
    rm_tree(dir);
}

Test(har, export_of_an_empty_recording_is_a_har_without_pages_or_entries)
{
    char *dir = tmp_dir();
    char *rec = path_in(dir, "empty.jsonl.gz");
    char *har = path_in(dir, "empty.har");
    write_recording(rec, NULL, 0);
    struct rp_error err = {0};
    uint64_t count = 7;
    cr_assert_eq(rp_har_export(rec, har, NULL, &count, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(count, 0);
    size_t len = 0;
    FILE *f = fopen(har, "rb");
    char buf[512] = {0};
    len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    cr_assert_gt(len, 0);
    cr_assert_str_eq(buf, "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"reprise\","
                          "\"version\":\"0.1.0\"},\"pages\":[],\"entries\":[\n]}}\n");
    free(rec);
    free(har);
    rm_tree(dir);
}

Test(har, export_of_a_file_that_is_not_a_recording_fails_and_writes_nothing)
{
    char *dir = tmp_dir();
    char *har = path_in(dir, "x.har");
    struct rp_error err = {0};
    rp_code rc = rp_har_export(HAR_DATA "bom.har", har, NULL, NULL, &err);
    cr_assert_eq(rc, RP_EFORMAT, "%s", err.msg);
    cr_assert_eq(access(har, F_OK), -1);
    free(har);
    rm_tree(dir);
}
