/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the pcap -> TCP -> HTTP path: the input is a capture file's bytes
 * (pcap or pcapng), written to a temporary file, read by rp_capture_run into a temporary
 * recording. Whatever the bytes, the capture must return codes, never crash or leak. Seed it
 * with the corpus pcaps (../shared/corpus/pcap, read in place) and tests/data/capture/.
 */
/* Results are dropped with rp_ignore(): on hostile input every failure is an expected outcome. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <reprise/capture.h>
#include <reprise/intake.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[] = "/tmp/reprise-fuzz-pcap-XXXXXX";
    int fd = mkstemp(in);
    if (fd < 0) {
        abort();
    }
    if (write(fd, data, size) != (ssize_t)size) {
        abort();
    }
    close(fd);
    char out[] = "/tmp/reprise-fuzz-rec-XXXXXX";
    fd = mkstemp(out);
    if (fd < 0) {
        abort();
    }
    close(fd);

    struct rp_capture_opts opts = {.file = in};
    struct rp_capture *c = NULL;
    struct rp_error err;
    if (rp_capture_open(&opts, &c, &err) == RP_OK) {
        struct rp_intake_opts io = {.output = out, .name = "fuzz", .source_kind = "capture"};
        struct rp_intake *rec = NULL;
        if (rp_intake_new(&io, &rec, &err) == RP_OK) {
            rp_ignore(rp_capture_run(c, rec, &err));
            rp_ignore(rp_intake_close(rec, &err));
            rp_intake_free(rec);
        }
        rp_capture_free(c);
    }
    unlink(in);
    unlink(out);
    return 0;
}
