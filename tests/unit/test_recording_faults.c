/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for recordings under faults: a file cut at every byte after its header reads up to
 * its last whole line (with the truncation warning when the cut is inside a member), and a
 * writer whose file cannot grow (RLIMIT_FSIZE, the way a full disk fails a write) says so at
 * once, writes nothing more, leaves a file that reads cleanly and counts what was lost.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/resource.h>
#include <zlib.h>

#include <reprise/reprise.h>

#include "helpers.h"

static char *dir;

static void setup(void)
{
    dir = tmp_dir();
}

static void teardown(void)
{
    rm_tree(dir);
}

TestSuite(recording_faults, .init = setup, .fini = teardown);

struct log_capture {
    int warnings;
    int errors;
    char last[512];
};

static void capture_log(void *ud, enum rp_log_level lvl, const char *msg)
{
    struct log_capture *c = ud;
    if (lvl == RP_LOG_WARN) {
        c->warnings++;
    } else if (lvl == RP_LOG_ERROR) {
        c->errors++;
    }
    snprintf(c->last, sizeof(c->last), "%s", msg);
}

/* An exchange whose response body is `size` bytes of text that compresses badly. */
static void make_exchange(struct rp_exchange *ex, unsigned seed, size_t size)
{
    rp_exchange_init(ex);
    ex->start_us = 1795167001000000LL;
    ex->req.method = strdup("GET");
    ex->req.url = strdup("http://127.0.0.1:8080/api/items");
    ex->has_response = true;
    ex->resp.status = 200;
    char *body = malloc(size + 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < size; i++) {
        x = x * 1103515245u + 12345u;
        body[i] = (char)('a' + (x >> 16) % 26);
    }
    rp_body_set(&ex->resp.body, body, size);
    free(body);
}

/* Where each gzip member of the n bytes at data ends (offsets), found with zlib itself. */
static size_t member_ends(const unsigned char *data, size_t n, size_t *ends, size_t max)
{
    size_t count = 0, off = 0;
    unsigned char out[65536];
    while (off < n && count < max) {
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        cr_assert_eq(inflateInit2(&zs, 31), Z_OK);
        zs.next_in = (unsigned char *)data + off;
        zs.avail_in = (uInt)(n - off);
        int zr;
        do {
            zs.next_out = out;
            zs.avail_out = sizeof(out);
            zr = inflate(&zs, Z_NO_FLUSH);
        } while (zr == Z_OK);
        cr_assert_eq(zr, Z_STREAM_END);
        off += zs.total_in;
        ends[count++] = off;
        inflateEnd(&zs);
    }
    return count;
}

Test(recording_faults, a_file_cut_at_every_byte_after_the_header_reads_to_its_last_whole_line,
     .timeout = 300)
{
    char *path = path_in(dir, "whole.jsonl.gz");
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    struct rp_writer *w = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_writer_open(path, &meta, NULL, &w, &err), RP_OK, "%s", err.msg);
    /* Five exchanges, one gzip member each. */
    for (unsigned i = 0; i < 5; i++) {
        struct rp_exchange ex;
        make_exchange(&ex, i, 40);
        cr_assert_eq(rp_writer_append(w, &ex, &err), RP_OK, "%s", err.msg);
        cr_assert_eq(rp_writer_flush(w, &err), RP_OK, "%s", err.msg);
        rp_exchange_cleanup(&ex);
    }
    cr_assert_eq(rp_writer_close(w, &err), RP_OK, "%s", err.msg);
    rp_rec_meta_cleanup(&meta);

    FILE *f = fopen(path, "rb");
    cr_assert(f);
    unsigned char data[16384];
    size_t n = fread(data, 1, sizeof(data), f);
    fclose(f);
    cr_assert(n > 0 && n < sizeof(data));
    size_t ends[16];
    size_t members = member_ends(data, n, ends, 16);
    cr_assert_eq(members, 6, "a header member and five exchanges: %zu", members);
    cr_assert_eq(ends[5], n);

    char *cut = path_in(dir, "cut.jsonl.gz");
    size_t m = 1; /* the member the cut falls in, or has just ended */
    for (size_t at = ends[0]; at <= n; at++) {
        while (m < members && at > ends[m]) {
            m++;
        }
        write_file(cut, data, at);
        struct log_capture cap = {0};
        struct rp_reader_opts opts = {.log = capture_log, .log_ud = &cap};
        struct rp_reader *r = NULL;
        cr_assert_eq(rp_reader_open(cut, &opts, &r, &err), RP_OK, "cut at %zu: %s", at, err.msg);
        struct rp_exchange ex;
        rp_exchange_init(&ex);
        uint64_t count = 0;
        bool got = true;
        while (got) {
            cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "cut at %zu of %zu: %s", at, n,
                         err.msg);
            count += got;
        }
        /* Members 1..5 hold exchanges 1..5: a cut at the end of member k leaves k, whole and
         * without a warning; a cut inside member k leaves k - 1, or k when the member's line
         * was out before the cut (only its trailer lost), with one warning. */
        bool at_end = at == ends[m - 1] || at == ends[m];
        uint64_t whole = at == ends[m] ? m : m - 1;
        if (at_end) {
            cr_assert_eq(count, whole, "cut at %zu (a member's end): %llu exchanges", at,
                         (unsigned long long)count);
            cr_assert_not(rp_reader_truncated(r), "cut at %zu", at);
            cr_assert_eq(cap.warnings, 0, "cut at %zu: %s", at, cap.last);
        } else {
            cr_assert(count == m - 1 || count == m, "cut at %zu inside member %zu: %llu", at, m,
                      (unsigned long long)count);
            cr_assert(rp_reader_truncated(r), "cut at %zu", at);
            cr_assert_eq(cap.warnings, 1, "cut at %zu", at);
            cr_assert(strstr(cap.last, "truncated") != NULL, "%s", cap.last);
        }
        rp_exchange_cleanup(&ex);
        rp_reader_free(r);
    }
    free(cut);
    free(path);
}

Test(recording_faults, a_cut_one_byte_into_a_new_member_is_a_truncation)
{
    char *path = path_in(dir, "one.jsonl.gz");
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    struct rp_writer *w = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_writer_open(path, &meta, NULL, &w, &err), RP_OK, "%s", err.msg);
    struct rp_exchange ex;
    make_exchange(&ex, 1, 10);
    cr_assert_eq(rp_writer_append(w, &ex, &err), RP_OK, "%s", err.msg);
    rp_exchange_cleanup(&ex);
    cr_assert_eq(rp_writer_close(w, &err), RP_OK, "%s", err.msg);
    rp_rec_meta_cleanup(&meta);
    /* The gzip magic's first byte of a member that never came. */
    FILE *f = fopen(path, "ab");
    cr_assert(f);
    fputc(0x1f, f);
    fclose(f);
    struct log_capture cap = {0};
    struct rp_reader_opts opts = {.log = capture_log, .log_ud = &cap};
    struct rp_reader *r = NULL;
    cr_assert_eq(rp_reader_open(path, &opts, &r, &err), RP_OK, "%s", err.msg);
    rp_exchange_init(&ex);
    bool got = false;
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_assert(got);
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_assert_not(got);
    cr_assert(rp_reader_truncated(r));
    cr_assert_eq(cap.warnings, 1);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    free(path);
}

/* The file may grow to `bytes`; a write past it fails with EFBIG (SIGXFSZ ignored), as a full
 * disk fails one with ENOSPC. Criterion runs each test in its own process. */
static void limit_file_size(rlim_t bytes)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {.rlim_cur = bytes, .rlim_max = RLIM_INFINITY};
    struct rlimit old;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    rl.rlim_max = old.rlim_max;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void unlimit_file_size(void)
{
    struct rlimit old;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    old.rlim_cur = old.rlim_max;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
}

/* Reads path to the end: its exchanges; asserts no error and no truncation. */
static uint64_t read_all_clean(const char *path)
{
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
    cr_assert_not(rp_reader_truncated(r), "the file ends at a whole member");
    cr_assert_eq(cap.warnings, 0, "%s", cap.last);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    return count;
}

Test(recording_faults, a_failed_write_is_said_at_once_and_the_file_stays_readable)
{
    char *path = path_in(dir, "full.jsonl.gz");
    limit_file_size(64 * 1024);
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    struct log_capture cap = {0};
    struct rp_writer_opts wo = {.flush_ms = 600000, .log = capture_log, .log_ud = &cap};
    struct rp_writer *w = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_writer_open(path, &meta, &wo, &w, &err), RP_OK, "%s", err.msg);
    /* 8 KiB of badly compressible text each, flushed every other one: the 64 KiB limit is
     * met within about 14 exchanges, in the middle of a member. */
    rp_code rc = RP_OK;
    unsigned i = 0;
    for (; i < 100 && !rc; i++) {
        struct rp_exchange ex;
        make_exchange(&ex, i, 8192);
        rc = rp_writer_append(w, &ex, &err);
        rp_exchange_cleanup(&ex);
        if (!rc && i % 2 == 1) {
            rc = rp_writer_flush(w, &err);
        }
    }
    cr_assert_eq(rc, RP_EIO, "the write fails within the limit");
    cr_assert(strstr(err.msg, "full.jsonl.gz") && strstr(err.msg, "File too large"), "%s", err.msg);
    cr_assert_eq(cap.errors, 1, "said once, at once, through the log");
    cr_assert(strstr(cap.last, "full.jsonl.gz") && strstr(cap.last, "File too large"), "%s",
              cap.last);
    uint64_t written = rp_writer_written(w);
    uint64_t appended = rp_writer_count(w);
    cr_assert_lt(written, appended, "what was taken but not written is lost");
    cr_assert_eq(written % 2, 0, "members of two exchanges each: %llu",
                 (unsigned long long)written);
    /* Sticky: nothing more is taken or written. */
    struct rp_exchange ex;
    make_exchange(&ex, 999, 16);
    cr_assert_eq(rp_writer_append(w, &ex, &err), RP_EIO);
    rp_exchange_cleanup(&ex);
    cr_assert_eq(rp_writer_close(w, &err), RP_EIO);
    rp_rec_meta_cleanup(&meta);
    unlimit_file_size();
    cr_assert_leq(file_size(path), 64 * 1024);
    cr_assert_eq(read_all_clean(path), written);
    free(path);
}

Test(recording_faults, the_intake_counts_what_a_failed_write_lost)
{
    char *path = path_in(dir, "lost.jsonl.gz");
    limit_file_size(48 * 1024);
    struct rp_intake_opts io = {.output = path, .source_kind = "proxy", .no_redact = true};
    struct rp_intake *in = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_intake_new(&io, &in, &err), RP_OK, "%s", err.msg);
    uint64_t offered = 0;
    rp_code rc = RP_OK;
    /* No flushes asked: the writer fails on its own time (at RP_WRITER_MEMBER_BYTES queued,
     * or RP_WRITER_FLUSH_MS), and the appender hears of it by the time its queue is full
     * (RP_WRITER_QUEUE_BYTES, about a thousand of these), so the loop ends well within 2000. */
    for (unsigned i = 0; i < 2000 && !rc; i++) {
        struct rp_exchange ex;
        make_exchange(&ex, i, 8192);
        enum rp_intake_fate fate;
        rc = rp_intake_add(in, &ex, &fate, &err);
        offered++;
        rp_exchange_cleanup(&ex);
        if (rc) {
            cr_assert_eq(fate, RP_INTAKE_FAILED);
        }
    }
    cr_assert_eq(rc, RP_EIO);
    /* Two more after the failure: refused and counted. */
    for (int i = 0; i < 2; i++) {
        struct rp_exchange ex;
        make_exchange(&ex, 5000 + (unsigned)i, 16);
        cr_assert_eq(rp_intake_add(in, &ex, NULL, &err), RP_EIO);
        offered++;
        rp_exchange_cleanup(&ex);
    }
    cr_assert_eq(rp_intake_close(in, &err), RP_EIO);
    struct rp_intake_counts ic;
    rp_intake_counts(in, &ic);
    rp_intake_free(in);
    unlimit_file_size();
    cr_assert_eq(ic.recorded + ic.errors, offered, "recorded %llu + errors %llu != %llu",
                 (unsigned long long)ic.recorded, (unsigned long long)ic.errors,
                 (unsigned long long)offered);
    cr_assert_eq(ic.lost, ic.errors);
    cr_assert_geq(ic.lost, 3);
    cr_assert_eq(read_all_clean(path), ic.recorded);
    free(path);
}

Test(recording_faults, a_body_cut_at_an_unknown_size_is_recorded_without_body_size)
{
    char *path = path_in(dir, "unknown.jsonl.gz");
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    struct rp_writer *w = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_writer_open(path, &meta, NULL, &w, &err), RP_OK, "%s", err.msg);
    struct rp_exchange ex;
    make_exchange(&ex, 1, 10);
    ex.resp.body.truncated = true; /* decoding stopped at the cap: the full size is unknown */
    ex.resp.body.orig_len = 0;
    cr_assert_eq(rp_writer_append(w, &ex, &err), RP_OK, "%s", err.msg);
    rp_exchange_cleanup(&ex);
    cr_assert_eq(rp_writer_close(w, &err), RP_OK, "%s", err.msg);
    rp_rec_meta_cleanup(&meta);
    size_t n = 0;
    char *text = gunzip_file(path, &n);
    cr_assert(text);
    cr_assert(strstr(text, "\"body_truncated\":true") != NULL, "%s", text);
    cr_assert(strstr(text, "body_size") == NULL, "%s", text);
    free(text);
    struct rp_reader *r = NULL;
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    rp_exchange_init(&ex);
    bool got = false;
    cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
    cr_assert(got);
    cr_assert(ex.resp.body.truncated);
    cr_assert_eq(ex.resp.body.orig_len, 0);
    cr_assert_eq(ex.resp.body.len, 10);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    free(path);
}
