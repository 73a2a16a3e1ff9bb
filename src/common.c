/* SPDX-License-Identifier: MIT */
/*
 * Allocation wrappers that abort on out-of-memory, cJSON's allocator set to them, and the
 * library version. Out of memory is the one failure no input can reach, so it ends the process
 * instead of threading an ENOMEM path through every function (as redis and jq do).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <reprise/common.h>

#include "common_int.h"
#include "text_int.h"

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

/*
 * cJSON allocates through rp_xmalloc, so cJSON_Create* and cJSON_Add* never return NULL for
 * want of memory and no caller checks for it (cJSON_Parse still returns NULL for bad input).
 * A constructor in this file sets it before main: every program that uses the library links
 * this file, since every module calls rp_xmalloc. cJSON's hooks are process-wide, so a program
 * that sets its own after this one takes them over.
 */
__attribute__((constructor)) static void rp_json_hooks(void)
{
    cJSON_Hooks hooks = {.malloc_fn = rp_xmalloc, .free_fn = free};
    cJSON_InitHooks(&hooks);
}

char *rp__json_print(const cJSON *item, bool formatted)
{
    char *s = formatted ? cJSON_Print(item) : cJSON_PrintUnformatted(item);
    if (!s) {
        oom(SIZE_MAX);
    }
    return s;
}

cJSON *rp__json_text(const char *s, size_t n)
{
    size_t len;
    char *u = rp__utf8_from_latin1(s, n, &len);
    cJSON *j = cJSON_CreateString(u);
    free(u);
    return j;
}

const char *rp_version(void)
{
    return REPRISE_VERSION;
}

void rp__vlog(rp_log_fn log, void *ud, enum rp_log_level lvl, const char *fmt, va_list ap)
{
    if (!log) {
        return;
    }
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    log(ud, lvl, msg);
}
