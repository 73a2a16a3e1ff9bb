/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the unit tests: temporary files, gzip through zlib's own gz* API
 * (independent of the code under test), reading files whole, and xmllint's XPath answers. */
#ifndef REPRISE_TEST_HELPERS_H
#define REPRISE_TEST_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

/* A fresh private directory under /tmp; the caller removes it with rm_tree(). */
static inline char *tmp_dir(void)
{
    char *d = strdup("/tmp/reprise-test-XXXXXX");
    if (!d || !mkdtemp(d)) {
        abort();
    }
    return d;
}

static inline char *path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static inline void rm_tree(char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", dir);
    }
    free(dir);
}

/* Compresses the file src into dst as one gzip member, with zlib's gzwrite. */
static inline int gzip_file(const char *src, const char *dst)
{
    FILE *in = fopen(src, "rb");
    gzFile out = gzopen(dst, "wb");
    if (!in || !out) {
        return -1;
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        if (gzwrite(out, buf, (unsigned)n) != (int)n) {
            return -1;
        }
    }
    fclose(in);
    return gzclose(out) == Z_OK ? 0 : -1;
}

/* Reads a whole gzip file through zlib's gzread into new memory; *len gets its size. */
static inline char *gunzip_file(const char *path, size_t *len)
{
    gzFile in = gzopen(path, "rb");
    if (!in) {
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    int k;
    while ((k = gzread(in, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)k;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    gzclose(in);
    buf[n] = '\0';
    *len = n;
    return buf;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#endif
#ifdef HAVE_ASAN
/* From the sanitizer runtime (sanitizer/allocator_interface.h, not always installed). */
size_t __sanitizer_get_current_allocated_bytes(void);
#else
#include <malloc.h>
#endif

/* Bytes currently allocated on the heap, from the allocator in use. */
static inline size_t heap_in_use(void)
{
#ifdef HAVE_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#endif
}

static inline off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/*
 * What `xmllint --xpath EXPR FILE` prints (`--html`: its HTML parser reads FILE), without its
 * trailing newlines, as new memory: at most 4 KiB; "" when xmllint is missing or fails.
 */
static inline char *xmllint_xpath(const char *file, const char *expr, int html)
{
    char cmd[1024];
    int n = snprintf(cmd, sizeof(cmd), "xmllint %s--xpath '%s' '%s' 2>/dev/null",
                     html ? "--html " : "", expr, file);
    char buf[4096];
    size_t got = 0;
    FILE *p = n > 0 && (size_t)n < sizeof(cmd) ? popen(cmd, "r") : NULL;
    if (p) {
        got = fread(buf, 1, sizeof(buf) - 1, p);
        pclose(p);
    }
    buf[got] = '\0';
    while (got > 0 && buf[got - 1] == '\n') {
        buf[--got] = '\0';
    }
    return strdup(buf);
}
/* The whole file at path as a new NUL-terminated string (aborts when it cannot be read). */
static inline char *read_whole(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!f || !m) {
        abort();
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (fwrite(buf, 1, n, m) != n) {
            abort();
        }
    }
    if (ferror(f) || fclose(m) != 0) {
        abort();
    }
    fclose(f);
    return text;
}

static inline void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        abort();
    }
}

#endif
