/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for shape files (NAME.shape.json, `diff --shape`): the input is a file's
 * bytes, written to a temporary file and loaded. Besides not crashing or leaking, a file that
 * loads must survive a trip: saved, loaded again and saved again, the two saved texts are the
 * same bytes and hold as many shapes (abort otherwise).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <reprise/shape.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const struct rp_error *err)
{
    fprintf(stderr, "fuzz_shapefile: %s: %s\n", what, err ? err->msg : "");
    abort();
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fail("cannot write the input", NULL);
    }
}

/* The whole of path, new memory, its length in *n. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail("cannot read a saved file", NULL);
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap);
            if (!buf) {
                abort();
            }
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got);
    fclose(f);
    *n = len;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[] = "/tmp/reprise-fuzz-shapefile-XXXXXX";
    static bool made;
    if (!made) {
        if (!mkdtemp(dir)) {
            abort();
        }
        made = true;
    }
    char in[64], once[64], twice[64];
    snprintf(in, sizeof(in), "%s/in.shape.json", dir);
    snprintf(once, sizeof(once), "%s/once.shape.json", dir);
    snprintf(twice, sizeof(twice), "%s/twice.shape.json", dir);
    write_file(in, data, size);

    struct rp_error err = {0};
    struct rp_shapeset *a = NULL, *b = NULL;
    if (rp_shapeset_load(in, &a, &err) != RP_OK) {
        unlink(in);
        return 0;
    }
    if (rp_shapeset_save(a, once, &err) != RP_OK) {
        fail("a loaded set cannot be saved", &err);
    }
    if (rp_shapeset_load(once, &b, &err) != RP_OK) {
        fail("a saved set does not load", &err);
    }
    if (rp_shapeset_count(a) != rp_shapeset_count(b)) {
        fail("a saved set loads with another count", NULL);
    }
    if (rp_shapeset_save(b, twice, &err) != RP_OK) {
        fail("a reloaded set cannot be saved", &err);
    }
    size_t n1, n2;
    char *t1 = slurp(once, &n1), *t2 = slurp(twice, &n2);
    if (n1 != n2 || memcmp(t1, t2, n1) != 0) {
        fail("saving a reloaded set changes the file", NULL);
    }
    free(t1);
    free(t2);
    rp_shapeset_free(a);
    rp_shapeset_free(b);
    unlink(once);
    unlink(twice);
    unlink(in);
    return 0;
}
