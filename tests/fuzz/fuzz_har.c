/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for HAR import: the input is a HAR file's bytes. It is written to a
 * temporary file and imported into a temporary recording with the defaults (static filter and
 * scrubbing on); when that succeeds the recording is exported back to HAR, so that what the
 * importer lets through also reaches the writer, the reader and the exporter. Every step must
 * return a code, never crash or leak, whatever the bytes. Seeds: tests/data/har and the shared
 * corpus's har/ directory.
 */
/* Results are dropped with rp_ignore(): on hostile input every failure is an expected outcome. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <reprise/har.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
    struct rp_intake *in = NULL;
    struct rp_error err;
    if (rp_intake_new(&io, &in, &err) == RP_OK) {
        if (rp_har_import(har, in, NULL, NULL, &err) == RP_OK &&
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
