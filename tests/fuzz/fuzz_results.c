/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for results files read back (`reprise diff`, `reprise merge`, `--baseline`):
 * the input is a file's decompressed text (the reader's gzip framing is fuzz_recording's), so
 * that mutations land in its JSON lines. It is gzipped to a temporary file; its header is read
 * as merge reads it; it is re-checked through a checker as merge makes it (exact percentiles)
 * whose sinks are the terminal (to /dev/null), JUnit and HTML (to temporary files), so that
 * every verdict field a hostile file can set reaches the code that prints it; then it is read
 * as a latency baseline. Whatever the bytes, the calls must return codes, never crash or leak.
 */
/* Results are dropped with rp_ignore(): on hostile input every failure is an expected outcome. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include <reprise/check.h>
#include <reprise/report.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void write_gzip(const char *path, const uint8_t *data, size_t size)
{
    gzFile f = gzopen(path, "wb1");
    if (!f || (size && gzwrite(f, data, (unsigned)size) != (int)size) || gzclose(f) != Z_OK) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[] = "/tmp/reprise-fuzz-results-XXXXXX";
    static FILE *devnull;
    if (!devnull) {
        if (!mkdtemp(dir) || !(devnull = fopen("/dev/null", "w"))) {
            abort();
        }
    }
    char path[64], junit[64], html[64];
    snprintf(path, sizeof(path), "%s/in.jsonl.gz", dir);
    snprintf(junit, sizeof(junit), "%s/junit.xml", dir);
    snprintf(html, sizeof(html), "%s/report.html", dir);
    write_gzip(path, data, size);

    struct rp_error err = {0};
    struct rp_results_header h;
    memset(&h, 0, sizeof(h));
    if (rp_results_header_read(path, &h, &err) == RP_OK) {
        rp_results_header_cleanup(&h);
    }
    struct rp_checker_opts co = {
        .failures_only = false,
        .exact_latency = true,
        .slow_factor = RP_SLOW_FACTOR_DEFAULT,
        .slow_floor_us = RP_SLOW_FLOOR_US_DEFAULT,
    };
    struct rp_checker *c = NULL;
    if (rp_checker_new(&co, &c, &err) != RP_OK) {
        abort(); /* no shape file, no recording: nothing here can fail */
    }
    struct rp_sink sink;
    struct rp_terminal_opts to = {.width = 100};
    rp_sink_terminal_opts(&sink, devnull, &to);
    rp_checker_add_sink(c, &sink);
    rp_sink_junit(&sink, junit);
    rp_checker_add_sink(c, &sink);
    rp_sink_html(&sink, html, NULL);
    rp_checker_add_sink(c, &sink);
    if (rp_results_check(path, c, NULL, NULL, &err) == RP_OK) {
        struct rp_run_summary sum;
        rp_ignore(rp_checker_end(c, &sum, &err));
    }
    rp_checker_free(c);

    struct rp_baseline *b = NULL;
    if (rp_results_baseline(path, NULL, NULL, &b, &err) == RP_OK) {
        uint64_t us;
        (void)rp_baseline_median(b, "demo-checkout#1", 1, &us);
        (void)rp_baseline_p95(b);
    }
    rp_baseline_free(b);
    unlink(junit);
    unlink(html);
    unlink(path);
    return 0;
}
