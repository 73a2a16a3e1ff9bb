/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the recording reader: the input is a file's bytes (gzip or not). It is
 * written to a temporary file and read to the end; the reader must return codes, never crash
 * or leak, whatever the bytes. The decompressed-line decoder is fuzzed directly as well, so
 * that JSON the fuzzer invents reaches it without first having to be valid gzip.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <reprise/recording.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The line decoders, on the raw bytes. */
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    struct rp_error err;
    rp_recording_decode_exchange((const char *)data, size, &ex, &err);
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    rp_recording_decode_meta((const char *)data, size, &meta, &err);
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
