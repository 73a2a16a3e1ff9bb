/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the recording reader: the input is a file's bytes (gzip or not). It is
 * written to a temporary file and read to the end; the reader must return codes, never crash
 * or leak, whatever the bytes. The decompressed-line decoder is fuzzed directly as well, so
 * that JSON the fuzzer invents reaches it without first having to be valid gzip, and its fast
 * path is held against its cJSON path.
 */
/* Results are dropped with rp_ignore(): on hostile input every failure is an expected outcome. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <reprise/limits.h>
#include <reprise/recording.h>

#include "recording/internal.h"
#include "text_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_headers(const struct rp_headers *a, const struct rp_headers *b)
{
    if (a->n != b->n) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i].name_len != b->v[i].name_len || a->v[i].value_len != b->v[i].value_len ||
            memcmp(a->v[i].name, b->v[i].name, a->v[i].name_len) != 0 ||
            memcmp(a->v[i].value, b->v[i].value, a->v[i].value_len) != 0) {
            return false;
        }
    }
    return true;
}

static bool same_body(const struct rp_body *a, const struct rp_body *b)
{
    return a->len == b->len && a->truncated == b->truncated && a->orig_len == b->orig_len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static bool utf8(const char *s, size_t n)
{
    return !s || rp__utf8_text((const unsigned char *)s, n);
}

/* The variable declarations, name and place, in order. */
static bool same_vars(const struct rp_exchange *a, const struct rp_exchange *b)
{
    if (a->n_vars != b->n_vars) {
        return false;
    }
    for (size_t i = 0; i < a->n_vars; i++) {
        if (strcmp(a->vars[i].name, b->vars[i].name) != 0 ||
            strcmp(a->vars[i].from, b->vars[i].from) != 0) {
            return false;
        }
    }
    return true;
}

static bool vars_utf8(const struct rp_exchange *ex)
{
    for (size_t i = 0; i < ex->n_vars; i++) {
        if (!utf8(ex->vars[i].name, strlen(ex->vars[i].name)) ||
            !utf8(ex->vars[i].from, strlen(ex->vars[i].from))) {
            return false;
        }
    }
    return true;
}

/* True for a body as the writer writes it: a full size ("body_size") only with
 * "body_truncated", which the decoder reads apart but the encoder writes together. */
static bool body_well_formed(const struct rp_body *b)
{
    return b->truncated || b->orig_len == 0;
}

/* True when every string the encoder writes as text is UTF-8, as in any file reprise wrote.
 * (cJSON does not check the UTF-8 of the strings it reads, and the encoder reads bytes that
 * are not UTF-8 as Latin-1 on purpose: such input cannot round-trip byte for byte.) */
static bool well_formed(const struct rp_exchange *ex)
{
    if (!body_well_formed(&ex->req.body) || !body_well_formed(&ex->resp.body) || !vars_utf8(ex)) {
        return false;
    }
    const struct rp_headers *hs[2] = {&ex->req.headers, &ex->resp.headers};
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < hs[k]->n; i++) {
            if (!utf8(hs[k]->v[i].name, hs[k]->v[i].name_len) ||
                !utf8(hs[k]->v[i].value, hs[k]->v[i].value_len)) {
                return false;
            }
        }
    }
    const char *texts[] = {ex->req.method, ex->req.url, ex->req.version, ex->resp.reason,
                           ex->resp.version};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        if (texts[i] && !utf8(texts[i], strlen(texts[i]))) {
            return false;
        }
    }
    return true;
}

/*
 * The writer's encoder against the reader's decoder: whatever well-formed exchange decodes
 * must encode to a line that decodes to the same exchange. Abort on any difference, so the
 * fuzzer reports it.
 */
static void check_round_trip(const struct rp_exchange *ex)
{
    if (!well_formed(ex)) {
        return;
    }
    struct rp_buf line;
    rp_buf_init(&line, RP_MAX_LINE_BYTES);
    struct rp_error err;
    if (rp_recording_encode_exchange(ex, &line, &err) != RP_OK) {
        abort();
    }
    struct rp_exchange back;
    rp_exchange_init(&back);
    if (rp_recording_decode_exchange(line.data, line.len, &back, &err) != RP_OK) {
        abort();
    }
    bool same =
        back.seq == ex->seq && back.duration_us == ex->duration_us && back.conn_id == ex->conn_id &&
        back.incomplete == ex->incomplete && back.has_response == ex->has_response &&
        strcmp(back.req.method, ex->req.method) == 0 && strcmp(back.req.url, ex->req.url) == 0 &&
        same_headers(&back.req.headers, &ex->req.headers) &&
        same_body(&back.req.body, &ex->req.body) && same_vars(&back, ex);
    if (same && ex->has_response) {
        same = back.resp.status == ex->resp.status &&
               same_headers(&back.resp.headers, &ex->resp.headers) &&
               same_body(&back.resp.body, &ex->resp.body);
    }
    if (!same) {
        abort();
    }
    rp_exchange_cleanup(&back);
    rp_buf_cleanup(&line);
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/*
 * The fast line decoder against the cJSON one: whatever line the fast path takes, the cJSON
 * path must take too and read into the same exchange, field for field. Abort on any
 * difference.
 */
static void check_fast_decoder(const char *line, size_t len)
{
    struct rp_exchange fast;
    rp_exchange_init(&fast);
    if (!rp__recording_decode_fast(line, len, &fast)) {
        if (fast.req.method || fast.req.url || fast.req.headers.n || fast.has_response) {
            abort(); /* a declined line leaves the exchange empty */
        }
        return;
    }
    struct rp_exchange ref;
    rp_exchange_init(&ref);
    struct rp_error err;
    if (rp__recording_decode_cjson(line, len, &ref, &err) != RP_OK) {
        abort();
    }
    bool same = fast.seq == ref.seq && fast.start_us == ref.start_us &&
                fast.duration_us == ref.duration_us && fast.conn_id == ref.conn_id &&
                fast.incomplete == ref.incomplete && fast.has_response == ref.has_response &&
                same_str(fast.extra, ref.extra) && same_str(fast.req.method, ref.req.method) &&
                same_str(fast.req.url, ref.req.url) &&
                same_str(fast.req.version, ref.req.version) &&
                same_headers(&fast.req.headers, &ref.req.headers) &&
                same_body(&fast.req.body, &ref.req.body) && fast.resp.status == ref.resp.status &&
                same_str(fast.resp.reason, ref.resp.reason) &&
                same_str(fast.resp.version, ref.resp.version) &&
                same_headers(&fast.resp.headers, &ref.resp.headers) &&
                same_body(&fast.resp.body, &ref.resp.body) && same_vars(&fast, &ref);
    if (!same) {
        abort();
    }
    rp_exchange_cleanup(&fast);
    rp_exchange_cleanup(&ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The line decoders, on the raw bytes. */
    check_fast_decoder((const char *)data, size);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    struct rp_error err;
    if (rp_recording_decode_exchange((const char *)data, size, &ex, &err) == RP_OK) {
        check_round_trip(&ex);
    }
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    rp_ignore(rp_recording_decode_meta((const char *)data, size, &meta, &err));
    rp_rec_meta_cleanup(&meta);

    /* The streaming reader, on the bytes as a file. */
    char path[] = "/tmp/reprise-fuzz-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        abort();
    }
    if (write(fd, data, size) != (ssize_t)size) {
        abort();
    }
    close(fd);
    struct rp_reader *r = NULL;
    struct rp_reader_opts opts = {.max_line = 1 << 20};
    if (rp_reader_open(path, &opts, &r, &err) == RP_OK) {
        bool got = true;
        for (int i = 0; got && i < 10000; i++) {
            if (rp_reader_next(r, &ex, &got, &err)) {
                break;
            }
        }
        rp_reader_free(r);
    }
    unlink(path);
    rp_exchange_cleanup(&ex);
    return 0;
}
