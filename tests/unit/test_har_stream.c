/* SPDX-License-Identifier: MIT */
/*
 * HAR import as a stream: one entry held at a time, whatever the file's size; the same
 * exchanges and the same errors whatever the read size (every token falls across two reads
 * somewhere at a read size of 1); errors where a parse of the whole file with cJSON would stop;
 * the rest of the document read as cJSON's lookup reads it.
 */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <reprise/har.h>
#include <reprise/recording.h>

#include "helpers.h"

#define HAR_DATA REPRISE_TEST_DATA "/har/"

/* An entry that converts to an exchange. */
#define ENTRY "{\"request\":{\"method\":\"GET\",\"url\":\"http://a/\"}}"

/* ----- helpers ---------------------------------------------------------------------------- */

/* What a read gave: its code and message, and every exchange as its recording line. */
struct outcome {
    rp_code rc;
    char msg[RP_ERROR_MSG_MAX];
    struct rp_buf lines;
    uint64_t n;
};

static rp_code keep_line(void *ud, struct rp_exchange *ex, struct rp_error *err)
{
    struct outcome *o = ud;
    o->n++;
    rp_code rc = rp_recording_encode_exchange(ex, &o->lines, err);
    if (!rc) {
        rc = rp_buf_addc(&o->lines, '\n', err);
    }
    return rc;
}

static void read_with(const char *data, size_t len, size_t read_size, struct outcome *o)
{
    *o = (struct outcome){0};
    rp_buf_init(&o->lines, SIZE_MAX / 2);
    struct rp_har_import_opts opts = {.read_size = read_size};
    struct rp_error err = {0};
    o->rc = rp_har_read_mem(data, len, "mem", &opts, keep_line, o, NULL, &err);
    snprintf(o->msg, sizeof(o->msg), "%s", o->rc ? err.msg : "");
}

static void expect_same(const struct outcome *a, const struct outcome *b, const char *what)
{
    cr_assert_eq(a->rc, b->rc, "%s: %s / %s", what, a->msg, b->msg);
    cr_assert_str_eq(a->msg, b->msg, "%s", what);
    cr_assert_eq(a->n, b->n, "%s", what);
    cr_assert_eq(a->lines.len, b->lines.len, "%s", what);
    if (a->lines.len) {
        cr_assert(memcmp(a->lines.data, b->lines.data, a->lines.len) == 0, "%s", what);
    }
}

static char *slurp(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    cr_assert_geq(n, 0);
    rewind(f);
    char *data = malloc((size_t)n + 1);
    cr_assert_eq(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *out_len = (size_t)n;
    return data;
}

/*
 * The message a parse of the whole text with cJSON gives, worked out here from cJSON's own
 * stopping point (the oracle): "" when cJSON parses it.
 */
static void cjson_verdict(const char *text, size_t n, char *out, size_t outsz)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, false);
    size_t off = end ? (size_t)(end - text) : 0;
    bool after = false;
    if (root) {
        while (off < n && (text[off] == ' ' || text[off] == '\t' || text[off] == '\r' ||
                           text[off] == '\n' || text[off] == '\0')) {
            off++;
        }
        after = off < n;
    }
    cJSON_Delete(root);
    if (root && !after) {
        out[0] = '\0';
        return;
    }
    size_t line = 1, last_nl = 0;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            line++;
            last_nl = i;
        }
    }
    snprintf(out, outsz, "mem: invalid JSON at line %zu, column %zu%s", line,
             line > 1 ? off - last_nl : off + 1, after ? " (text after the document)" : "");
}

/* ----- the same whatever the read size ---------------------------------------------------- */

Test(har_stream, every_fixture_reads_the_same_at_any_read_size)
{
    const char *names[] = {
        "bom.har",   "chrome-params.har", "chrome-session.har", "firefox-cookies.har",
        "token.har", "bad-json.har",      "not-har.har"};
    const size_t sizes[] = {1, 2, 3, 7, 64, 4093};
    for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
        char path[512];
        snprintf(path, sizeof(path), "%s%s", HAR_DATA, names[f]);
        size_t len = 0;
        char *data = slurp(path, &len);
        struct outcome whole;
        read_with(data, len, len + 1, &whole);
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            struct outcome o;
            read_with(data, len, sizes[s], &o);
            char what[600];
            snprintf(what, sizeof(what), "%s at read size %zu", names[f], sizes[s]);
            expect_same(&whole, &o, what);
            rp_buf_cleanup(&o.lines);
        }
        rp_buf_cleanup(&whole.lines);
        free(data);
    }
}

/* ----- errors where cJSON stops ----------------------------------------------------------- */

Test(har_stream, a_file_cut_anywhere_fails_where_a_whole_parse_would)
{
    size_t len = 0;
    char *data = slurp(HAR_DATA "chrome-session.har", &len);
    for (size_t cut = 0; cut < len; cut++) {
        char want[RP_ERROR_MSG_MAX];
        cjson_verdict(data, cut, want, sizeof(want));
        for (size_t rs = cut % 5 ? 7 : 1; rs <= 7; rs += 6) {
            struct outcome o;
            read_with(data, cut, rs, &o);
            if (want[0]) {
                cr_assert_eq(o.rc, RP_EFORMAT, "cut at %zu: %s", cut, o.msg);
                cr_assert_str_eq(o.msg, want, "cut at %zu, read size %zu", cut, rs);
            } else {
                /* Cut inside the white space after the document: it is whole. */
                cr_assert_eq(o.rc, RP_OK, "cut at %zu: %s", cut, o.msg);
            }
            rp_buf_cleanup(&o.lines);
        }
    }
    free(data);
}

Test(har_stream, syntax_errors_around_the_entries_are_reported_as_a_whole_parse_would)
{
    /* Each is broken outside any entry, or in a value skipped over, or too deep for cJSON. */
    const char *docs[] = {
        "{\"log\" {\"entries\":[]}}",
        "{\"log\":{\"entries\":[]},}",
        "{\"log\":{\"entries\":[] \"pages\":[]}}",
        "{\"log\":{\"entries\":[" ENTRY " {}]}}",
        "{\"log\":{\"entries\":[,]}}",
        "{\"log\":{\"entries\":[" ENTRY ",]}}",
        "{\"log\":{\"pages\":[{\"id\":\"p\"},],\"entries\":[]}}",
        "{\"log\":{\"creator\":{\"name\":\"x\\q\"},\"entries\":[]}}",
        "{log:{}}",
        "{\"log\":{\"entries\":[]}}}",
        "{\"log\":{\"entries\":[]}",
        "{\"log\":{\"entries\":[\"abc",
        "{\"log\":{\"entries\":[\"abc\\",
        "{\"log\":{\"entries\":[tru",
        "{\"log\":{\"entries\":[{\"a\":[1}]}}",
        "[1,2",
        "falsex",
        "1.5e3q",
        "nullnull",
        "   ",
        "  \xEF\xBB\xBF{}",
        "{\"log\":{\"entries\":[]}}\x01",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        const char *doc = docs[i];
        size_t n = strlen(doc);
        /* rp_har_read_mem skips one byte order mark first: the oracle parses what follows. */
        size_t bom = n >= 3 && memcmp(doc, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        char want[RP_ERROR_MSG_MAX];
        cjson_verdict(doc + bom, n - bom, want, sizeof(want));
        cr_assert(want[0], "case %zu is valid JSON", i);
        for (size_t rs = 1; rs <= 64; rs *= 4) {
            struct outcome o;
            read_with(doc, n, rs, &o);
            cr_assert_str_eq(o.msg, want, "case %zu, read size %zu: %s / %s", i, rs, o.msg, want);
            rp_buf_cleanup(&o.lines);
        }
    }
}

Test(har_stream, nesting_past_cjson_limit_fails_at_the_same_bracket)
{
    /* An entry nested just deep enough for a whole parse to refuse it. */
    struct rp_buf b;
    rp_buf_init(&b, SIZE_MAX / 2);
    cr_assert_eq(rp_buf_adds(&b, "{\"log\":{\"entries\":[{\"x\":", NULL), RP_OK);
    for (size_t i = 0; i < CJSON_NESTING_LIMIT; i++) {
        cr_assert_eq(rp_buf_addc(&b, '[', NULL), RP_OK);
    }
    for (size_t i = 0; i < CJSON_NESTING_LIMIT; i++) {
        cr_assert_eq(rp_buf_addc(&b, ']', NULL), RP_OK);
    }
    cr_assert_eq(rp_buf_adds(&b, "}]}}", NULL), RP_OK);
    char want[RP_ERROR_MSG_MAX];
    cjson_verdict(b.data, b.len, want, sizeof(want));
    cr_assert(want[0]);
    struct outcome o;
    read_with(b.data, b.len, 16, &o);
    cr_assert_str_eq(o.msg, want);
    rp_buf_cleanup(&o.lines);
    rp_buf_cleanup(&b);
}

/* ----- the document around the entries --------------------------------------------------- */

static void expect_exchanges(const char *doc, uint64_t n, const char *msg)
{
    for (size_t rs = 1; rs <= 4096; rs *= 8) {
        struct outcome o;
        read_with(doc, strlen(doc), rs, &o);
        cr_assert_str_eq(o.msg, msg, "%s", doc);
        cr_assert_eq(o.n, n, "%s", doc);
        rp_buf_cleanup(&o.lines);
    }
}

Test(har_stream, entries_are_found_before_or_after_the_rest_of_the_log)
{
    expect_exchanges("{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"x\",\"v\":[1,{\"a\":"
                     "\"]}\"}]},\"pages\":[{\"id\":\"p\"}],\"entries\":[" ENTRY "," ENTRY "]}}",
                     2, "");
    expect_exchanges("{\"x\":[{\"log\":1}],\"log\":{\"entries\":[" ENTRY "],\"pages\":[],"
                     "\"comment\":\"\\\"entries\\\"\"},\"after\":null}",
                     1, "");
}

Test(har_stream, only_the_first_log_and_its_first_entries_count_as_in_cjson_lookup)
{
    /* cJSON's lookup finds the first member of a name: later ones are checked, not read. */
    expect_exchanges("{\"log\":{\"entries\":[" ENTRY "],\"entries\":[" ENTRY "," ENTRY "]}}", 1,
                     "");
    expect_exchanges("{\"log\":{\"entries\":{}},\"log\":{\"entries\":[" ENTRY "]}}", 0,
                     "mem: not HAR: no log.entries");
    expect_exchanges("{\"log\":[],\"log\":{\"entries\":[]}}", 0, "mem: not HAR: no log.entries");
    /* A second byte order mark is skipped too, as cJSON skips one. */
    expect_exchanges("\xEF\xBB\xBF\xEF\xBB\xBF{\"log\":{\"entries\":[" ENTRY "]}}", 1, "");
    /* A key is compared as cJSON decodes it: escapes and all. */
    expect_exchanges("{\"l\\u006fg\":{\"entri\\u0065s\":[" ENTRY "]}}", 1, "");
}

Test(har_stream, an_entry_is_handed_on_before_a_later_error_is_read)
{
    /* Entries go on as they are read: the first is handed on, then the cut is found. */
    expect_exchanges("{\"log\":{\"entries\":[" ENTRY "," ENTRY ",{\"request\"", 2,
                     "mem: invalid JSON at line 1, column 123");
    /* And an entry's error comes before a syntax error further on. */
    expect_exchanges("{\"log\":{\"entries\":[{\"request\":{}},{]}}", 0,
                     "mem: entry 1: request.method is missing");
}

/* ----- one entry held, not the file ------------------------------------------------------- */

static size_t cjson_now, cjson_peak;

static void *counting_malloc(size_t n)
{
    void *p = malloc(n);
    cr_assert(p);
    cjson_now += malloc_usable_size(p);
    cjson_peak = cjson_now > cjson_peak ? cjson_now : cjson_peak;
    return p;
}

static void counting_free(void *p)
{
    if (p) {
        cjson_now -= malloc_usable_size(p);
    }
    free(p);
}

static rp_code count_only(void *ud, struct rp_exchange *ex, struct rp_error *err)
{
    (void)ex;
    (void)err;
    (*(uint64_t *)ud)++;
    return RP_OK;
}

Test(har_stream, the_parsed_json_held_is_one_entry_not_the_file)
{
    /* 4,000 entries of about 1 KB: 4 MB of HAR, whose tree as a whole is several times that. */
    const uint64_t n = 4000;
    struct rp_buf b;
    rp_buf_init(&b, SIZE_MAX / 2);
    cr_assert_eq(rp_buf_adds(&b, "{\"log\":{\"version\":\"1.2\",\"entries\":[\n", NULL), RP_OK);
    for (uint64_t i = 0; i < n; i++) {
        cr_assert_eq(rp_buf_addf(&b, NULL,
                                 "%s{\"startedDateTime\":\"2026-03-01T08:00:00.000Z\",\"time\":1,"
                                 "\"request\":{\"method\":\"GET\",\"url\":\"http://a/api/%llu\","
                                 "\"headers\":[{\"name\":\"Accept\",\"value\":\"*/*\"}]},"
                                 "\"response\":{\"status\":200,\"headers\":[{\"name\":"
                                 "\"Content-Type\",\"value\":\"application/json\"}],"
                                 "\"content\":{\"mimeType\":\"application/json\",\"text\":"
                                 "\"{\\\"items\\\":[%0800d]}\"}}}\n",
                                 i ? "," : "", (unsigned long long)i, 0),
                     RP_OK);
    }
    cr_assert_eq(rp_buf_adds(&b, "]}}\n", NULL), RP_OK);

    cJSON_Hooks hooks = {.malloc_fn = counting_malloc, .free_fn = counting_free};
    cJSON_InitHooks(&hooks);
    uint64_t got = 0;
    struct rp_har_stats st = {0};
    struct rp_error err = {0};
    rp_code rc = rp_har_read_mem(b.data, b.len, "mem", NULL, count_only, &got, &st, &err);
    cJSON_InitHooks(NULL);
    cr_assert_eq(rc, RP_OK, "%s", err.msg);
    cr_assert_eq(got, n);
    cr_assert_eq(st.entries, n);
    /* One entry's tree is a few KB; the whole file's would be megabytes. */
    cr_assert_lt(cjson_peak, 64u * 1024u, "cJSON held %zu bytes at most for a %zu-byte file",
                 cjson_peak, b.len);
    rp_buf_cleanup(&b);
}
