/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for HAR import: the input is a HAR file's bytes. Import streams, so the
 * target holds it to three things, whatever the bytes:
 *   - the same exchanges and the same error at a small read size (1 to 13 bytes, from the
 *     input's length, so seeds stay HAR files) as with the whole input in one read: every
 *     token falls across two reads somewhere;
 *   - cJSON as the oracle: when a parse of the whole input fails, import fails there with the
 *     same line and column (or first on an entry before it); when it parses, import never
 *     calls it invalid JSON;
 *   - then the input is written to a temporary file and imported into a temporary recording
 *     with the defaults (static filter and scrubbing on), and when that succeeds the recording
 *     is exported back to HAR, so that what the importer lets through also reaches the writer,
 *     the reader and the exporter.
 * Seeds: tests/data/har and the shared corpus's har/ directory.
 */
/* Results are dropped with rp_ignore(): on hostile input every failure is an expected outcome. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include <reprise/har.h>
#include <reprise/recording.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
    rp_code rc;
    char msg[RP_ERROR_MSG_MAX];
    struct rp_buf lines;
};

static rp_code keep_line(void *ud, struct rp_exchange *ex, struct rp_error *err)
{
    struct outcome *o = ud;
    rp_code rc = rp_recording_encode_exchange(ex, &o->lines, err);
    return rc ? rc : rp_buf_addc(&o->lines, '\n', err);
}

static void read_with(const uint8_t *data, size_t size, size_t read_size, struct outcome *o)
{
    rp_buf_init(&o->lines, SIZE_MAX / 2);
    struct rp_har_import_opts opts = {.read_size = read_size};
    struct rp_error err = {0};
    o->rc = rp_har_read_mem((const char *)data, size, "in", &opts, keep_line, o, NULL, &err);
    snprintf(o->msg, sizeof(o->msg), "%s", o->rc ? err.msg : "");
}

/* "in: invalid JSON at line L, column C[ (text after the document)]" from a whole parse with
 * cJSON, or "" when it parses. */
static void cjson_verdict(const uint8_t *data, size_t size, char *out, size_t outsz)
{
    const char *text = (const char *)data;
    size_t n = size;
    if (n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        n -= 3;
    }
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
    out[0] = '\0';
    if (root && !after) {
        return;
    }
    size_t line = 1, last_nl = 0;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            line++;
            last_nl = i;
        }
    }
    snprintf(out, outsz, "in: invalid JSON at line %zu, column %zu%s", line,
             line > 1 ? off - last_nl : off + 1, after ? " (text after the document)" : "");
}

static void check_stream(const uint8_t *data, size_t size)
{
    struct outcome whole, cut;
    read_with(data, size, size + 1, &whole);
    read_with(data, size, 1 + size % 13, &cut);
    if (whole.rc != cut.rc || strcmp(whole.msg, cut.msg) != 0 || whole.lines.len != cut.lines.len ||
        (whole.lines.len && memcmp(whole.lines.data, cut.lines.data, whole.lines.len) != 0)) {
        fprintf(stderr, "read size changed the outcome: \"%s\" / \"%s\"\n", whole.msg, cut.msg);
        abort();
    }
    char want[RP_ERROR_MSG_MAX];
    cjson_verdict(data, size, want, sizeof(want));
    bool syntax = strstr(whole.msg, ": invalid JSON at ") != NULL;
    bool entry = strncmp(whole.msg, "in: entry ", 10) == 0;
    if (want[0] ? !(strcmp(whole.msg, want) == 0 || entry) : syntax) {
        fprintf(stderr, "cJSON says \"%s\", import \"%s\"\n", want, whole.msg);
        abort();
    }
    rp_buf_cleanup(&whole.lines);
    rp_buf_cleanup(&cut.lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_stream(data, size);

    char dir[] = "/tmp/reprise-fuzz-har-XXXXXX";
    if (!mkdtemp(dir)) {
        abort();
    }
    char har[64], rec[64], back[64];
    snprintf(har, sizeof(har), "%s/in.har", dir);
    snprintf(rec, sizeof(rec), "%s/out.jsonl.gz", dir);
    snprintf(back, sizeof(back), "%s/back.har", dir);
    FILE *f = fopen(har, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        abort();
    }

    struct rp_intake_opts io = {.output = rec,
                                .name = "fuzz",
                                .source_kind = "har",
                                .created_from_first = true,
                                .replace = true};
    struct rp_har_import_opts ho = {.read_size = 1 + size % 7};
    struct rp_intake *in = NULL;
    struct rp_error err;
    if (rp_intake_new(&io, &in, &err) == RP_OK) {
        if (rp_har_import(har, in, &ho, NULL, &err) == RP_OK &&
            rp_intake_close(in, &err) == RP_OK) {
            rp_ignore(rp_har_export(rec, back, NULL, NULL, &err));
        }
        rp_intake_free(in);
    }
    unlink(back);
    unlink(rec);
    unlink(har);
    rmdir(dir);
    return 0;
}
