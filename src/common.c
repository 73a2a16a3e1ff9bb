/* SPDX-License-Identifier: MIT */
/*
 * Allocation wrappers that abort on out-of-memory, and the library version. Out of memory is
 * the one failure no input can reach, so it ends the process instead of threading an ENOMEM
 * path through every function (as redis and jq do).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/common.h>

#ifndef REPRISE_VERSION
#define REPRISE_VERSION "0.0.0"
#endif

static RP_NORETURN void oom(size_t n)
{
    fprintf(stderr, "reprise: out of memory allocating %zu bytes\n", n);
    abort();
}

void *rp_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        oom(n);
    }
    return p;
}

void *rp_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p) {
        oom(nmemb * size);
    }
    return p;
}

void *rp_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        oom(n);
    }
    return q;
}

void *rp_xreallocarray(void *p, size_t nmemb, size_t size)
{
    if (size && nmemb > SIZE_MAX / size) {
        oom(SIZE_MAX);
    }
    return rp_xrealloc(p, nmemb * size);
}

char *rp_xstrndup(const char *s, size_t n)
{
    if (n == SIZE_MAX) {
        oom(n);
    }
    char *p = rp_xmalloc(n + 1);
    if (n) {
        memcpy(p, s, n);
    }
    p[n] = '\0';
    return p;
}

char *rp_xstrdup(const char *s)
{
    return s ? rp_xstrndup(s, strlen(s)) : NULL;
}

const char *rp_version(void)
{
    return REPRISE_VERSION;
}
