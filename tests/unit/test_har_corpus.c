/* SPDX-License-Identifier: MIT */
/*
 * HAR import over the shared corpus (../shared/corpus/har, or $REPRISE_CORPUS/har), with the
 * entry counts of its SOURCES.md. Its own executable, so that without the corpus ctest reports
 * it skipped (exit 77) rather than passed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <reprise/har.h>
#include <reprise/recording.h>

#include "har_import.h"
#include "helpers.h"

/* ----- the shared corpus ------------------------------------------------------------------ */

static const char *corpus_dir(void)
{
    static char dir[1024];
    const char *env = getenv("REPRISE_CORPUS");
    snprintf(dir, sizeof(dir), "%s/har",
             env && env[0] ? env : REPRISE_SOURCE_DIR "/../shared/corpus");
    return dir;
}

/*
 * Entries per file from the corpus's SOURCES.md. With static assets kept and nothing
 * scrubbed, every entry is an exchange but one: k6_example.har's CONNECT tunnel (status 0,
 * "Unable to connect to host"), which is not a request and is dropped.
 */
static const struct {
    const char *file;
    uint64_t entries;
    uint64_t dropped;
} corpus[] = {
    {"har-to-k6_multipart-formdata.har", 5, 0},
    {"harviewer_issue-21_post-empty-post-data.har", 1, 0},
    {"harviewer_issue-61_chrome51.har", 27, 0},
    {"harviewer_issue-61_firefox47.har", 23, 0},
    {"harviewer_issue-62_svg.base64.har", 1, 0},
    {"harviewer_issue-78_json.har", 1, 0},
    {"harviewer_noPages.har", 87, 0},
    {"harviewer_www-cnn-com.har", 22, 0},
    {"k6_example.har", 7, 1},
    {"mitmproxy_charles.har", 1, 0},
    {"mitmproxy_chrome.har", 3, 0},
    {"mitmproxy_diff_data.har", 5, 0},
    {"mitmproxy_firefox.har", 14, 0},
    {"mitmproxy_head-content-length.har", 1, 0},
    {"mitmproxy_insomnia.har", 1, 0},
    {"mitmproxy_postdata.har", 1, 0},
    {"mitmproxy_safari.har", 19, 0},
    {"mitmproxy_with-bom.har", 1, 0},
    {"pagexray_browsertime-recalculate-style.har", 7, 0},
    {"pagexray_case-sensitive-protocol.har", 169, 0},
    {"pagexray_linkedin.har", 23, 0},
    {"pagexray_redirect-and-redirect-back.har", 50, 0},
    {"pagexray_www.nytimes.com.har", 328, 0},
    {"playwright_har-fulfill.har", 5, 0},
    {"playwright_har-redirect.har", 3, 0},
    {"pollyjs_jest-puppeteer_recording.har", 5, 0},
    {"pollyjs_node-fetch_recording.har", 1, 0},
};

static rp_code count_only(void *ud, struct rp_exchange *ex, struct rp_error *err)
{
    (void)ex;
    (void)err;
    (*(uint64_t *)ud)++;
    return RP_OK;
}

Test(har, every_corpus_file_imports_with_the_expected_count)
{
    const char *dir = corpus_dir();
    char *tmp = tmp_dir();
    char *out = path_in(tmp, "c.jsonl.gz");
    for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", dir, corpus[i].file);
        struct rp_har_stats st = {0};
        struct rp_error err = {0};
        uint64_t n = 0;
        rp_code rc = rp_har_read(path, NULL, count_only, &n, &st, &err);
        cr_assert_eq(rc, RP_OK, "%s: %s", corpus[i].file, err.msg);
        cr_assert_eq(st.entries, corpus[i].entries, "%s", corpus[i].file);
        cr_assert_eq(st.dropped, corpus[i].dropped, "%s", corpus[i].file);
        cr_assert_eq(n, corpus[i].entries - corpus[i].dropped, "%s", corpus[i].file);
        /* The defaults (filtered and scrubbed) import too. */
        struct rp_intake_counts c;
        rc = import_via(path, out, (struct rp_intake_opts){0}, &c, &st, &err);
        cr_assert_eq(rc, RP_OK, "%s: %s", corpus[i].file, err.msg);
        cr_assert_eq(c.recorded + c.filtered_static + st.dropped, corpus[i].entries, "%s",
                     corpus[i].file);
    }
    free(out);
    rm_tree(tmp);
}

/* Appends each exchange's recording line to the rp_buf at ud. */
static rp_code keep_line(void *ud, struct rp_exchange *ex, struct rp_error *err)
{
    rp_code rc = rp_recording_encode_exchange(ex, ud, err);
    return rc ? rc : rp_buf_addc(ud, '\n', err);
}

static void read_lines(const char *path, size_t read_size, struct rp_buf *out)
{
    rp_buf_init(out, SIZE_MAX / 2);
    struct rp_har_import_opts opts = {.read_size = read_size};
    struct rp_error err = {0};
    rp_code rc = rp_har_read(path, &opts, keep_line, out, NULL, &err);
    cr_assert_eq(rc, RP_OK, "%s at read size %zu: %s", path, read_size, err.msg);
}

Test(har, every_corpus_file_gives_the_same_exchanges_whatever_the_read_size)
{
    /* Read in one go, and a few bytes at a time, so that every token and entry of the real
     * files falls across two reads somewhere. */
    const char *dir = corpus_dir();
    for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", dir, corpus[i].file);
        struct rp_buf whole, cut;
        read_lines(path, 4u << 20, &whole);
        read_lines(path, i % 2 ? 3 : 1, &cut);
        cr_assert_eq(whole.len, cut.len, "%s", corpus[i].file);
        cr_assert(whole.len == 0 || memcmp(whole.data, cut.data, whole.len) == 0, "%s",
                  corpus[i].file);
        rp_buf_cleanup(&whole);
        rp_buf_cleanup(&cut);
    }
}

Test(har, the_invalid_corpus_files_fail_with_one_clear_message)
{
    const char *dir = corpus_dir();
    struct {
        const char *file;
        const char *msg;
    } bad[] = {
        {"invalid/mitmproxy_brokenfile.har", "invalid JSON at line 5, column 1"},
        {"invalid/harviewer_1_harp-jsonp.har", "invalid JSON at line 1, column 1"},
    };
    for (size_t i = 0; i < 2; i++) {
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", dir, bad[i].file);
        struct rp_error err = {0};
        uint64_t n = 0;
        rp_code rc = rp_har_read(path, NULL, count_only, &n, NULL, &err);
        cr_assert_eq(rc, RP_EFORMAT, "%s", bad[i].file);
        cr_assert_eq(rp_code_exit(rc), 2);
        char want[1300];
        snprintf(want, sizeof(want), "%s: %s", path, bad[i].msg);
        cr_assert_str_eq(err.msg, want);
    }
}

int main(int argc, char *argv[])
{
    if (access(corpus_dir(), R_OK) != 0) {
        printf("skip - no HAR corpus at %s (set REPRISE_CORPUS)\n", corpus_dir());
        return 77;
    }
    struct criterion_test_set *tests = criterion_initialize();
    int result = 0;
    if (criterion_handle_args(argc, argv, true)) {
        result = !criterion_run_all_tests(tests);
    }
    criterion_finalize(tests);
    return result;
}
