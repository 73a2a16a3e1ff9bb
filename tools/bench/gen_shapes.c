/* SPDX-License-Identifier: MIT */
/*
 * reprise-bench-shapes: the shape file memory benchmark's two halves (tools/bench/
 * shape_memory.sh).
 *
 *   reprise-bench-shapes gen N OUT.shape.json   writes a shape file of N exchanges as
 *                                               `reprise shape` writes one (tabs), a mix of
 *                                               JSON API shapes with a body schema and bare
 *                                               status/media type shapes
 *   reprise-bench-shapes load FILE              loads it as replay does (rp_shapeset_load) and
 *                                               prints "shapes heap_held_bytes": the heap in
 *                                               use once loaded, less that before
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/reprise.h>

static const char USAGE[] = "usage: reprise-bench-shapes gen N OUT.shape.json\n"
                            "       reprise-bench-shapes load FILE\n";

/* Parses a positive decimal count no larger than max. */
static bool parse_count(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v == 0 || v > max) {
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

/* One exchange's shape: 7 in 10 a JSON object with a few typed properties, else none. */
static void shape(FILE *f, uint64_t seq)
{
    fprintf(f, "%s{\n\t\t\t\"seq\":\t%" PRIu64 ",\n", seq > 1 ? ", " : "", seq);
    if (seq % 10 >= 7) {
        fprintf(f,
                "\t\t\t\"request\":\t\"GET /static/app.%" PRIu64 ".js\",\n\t\t\t\"status\":\t200,\n"
                "\t\t\t\"media_type\":\t\"application/javascript\"\n\t\t}",
                seq);
        return;
    }
    fprintf(f,
            "\t\t\t\"request\":\t\"GET /api/orders/%" PRIu64 "\",\n\t\t\t\"status\":\t200,\n"
            "\t\t\t\"media_type\":\t\"application/json\",\n\t\t\t\"body\":\t{\n"
            "\t\t\t\t\"type\":\t\"object\",\n\t\t\t\t\"properties\":\t{\n"
            "\t\t\t\t\t\"id\":\t{\n\t\t\t\t\t\t\"type\":\t\"integer\"\n\t\t\t\t\t},\n"
            "\t\t\t\t\t\"status\":\t{\n\t\t\t\t\t\t\"type\":\t\"string\"\n\t\t\t\t\t},\n"
            "\t\t\t\t\t\"total\":\t{\n\t\t\t\t\t\t\"type\":\t\"number\"\n\t\t\t\t\t},\n"
            "\t\t\t\t\t\"created\":\t{\n\t\t\t\t\t\t\"type\":\t\"string\",\n"
            "\t\t\t\t\t\t\"format\":\t\"date-time\"\n\t\t\t\t\t},\n"
            "\t\t\t\t\t\"lines\":\t{\n\t\t\t\t\t\t\"type\":\t\"array\",\n"
            "\t\t\t\t\t\t\"items\":\t{\n\t\t\t\t\t\t\t\"type\":\t\"object\",\n"
            "\t\t\t\t\t\t\t\"properties\":\t{\n"
            "\t\t\t\t\t\t\t\t\"sku\":\t{\n\t\t\t\t\t\t\t\t\t\"type\":\t\"string\"\n"
            "\t\t\t\t\t\t\t\t},\n"
            "\t\t\t\t\t\t\t\t\"qty\":\t{\n\t\t\t\t\t\t\t\t\t\"type\":\t\"integer\"\n"
            "\t\t\t\t\t\t\t\t}\n\t\t\t\t\t\t\t},\n"
            "\t\t\t\t\t\t\t\"required\":\t[\"sku\", \"qty\"]\n\t\t\t\t\t\t}\n"
            "\t\t\t\t\t}\n\t\t\t\t},\n"
            "\t\t\t\t\"required\":\t[\"id\", \"status\", \"total\", \"created\", \"lines\"]\n"
            "\t\t\t}\n\t\t}",
            seq);
}

static int gen(uint64_t n, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "reprise-bench-shapes: %s: %s\n", path, strerror(errno));
        return 3;
    }
    fputs("{\n\t\"reprise_shape\":\t1,\n\t\"recording\":\t\"bench\",\n\t\"exchanges\":\t[", f);
    for (uint64_t seq = 1; seq <= n; seq++) {
        shape(f, seq);
    }
    fputs("]\n}\n", f);
    if (ferror(f) || fclose(f) != 0) {
        fprintf(stderr, "reprise-bench-shapes: %s: write failed\n", path);
        return 3;
    }
    return 0;
}

static int load(const char *path)
{
    struct mallinfo2 mi = mallinfo2();
    size_t before = mi.uordblks + mi.hblkhd; /* small blocks, and the mmap()ed large ones */
    struct rp_shapeset *set = NULL;
    struct rp_error err = {0};
    if (rp_shapeset_load(path, &set, &err)) {
        fprintf(stderr, "reprise-bench-shapes: %s\n", err.msg);
        return 2;
    }
    mi = mallinfo2();
    size_t after = mi.uordblks + mi.hblkhd;
    printf("%zu %zu\n", rp_shapeset_count(set), after - before);
    rp_shapeset_free(set);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t n = 0;
    if (argc == 4 && strcmp(argv[1], "gen") == 0 && parse_count(argv[2], RP_MAX_SHAPES, &n)) {
        return gen(n, argv[3]);
    }
    if (argc == 3 && strcmp(argv[1], "load") == 0) {
        return load(argv[2]);
    }
    fputs(USAGE, stderr);
    return 2;
}
