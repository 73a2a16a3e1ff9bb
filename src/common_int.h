/* SPDX-License-Identifier: MIT */
/*
 * Private helpers of the common module shared inside the library: printing cJSON trees, whose
 * allocator common.c sets to rp_xmalloc (so cJSON_Create* and cJSON_Add* never fail for want
 * of memory and are not checked).
 */
#ifndef REPRISE_COMMON_INT_H
#define REPRISE_COMMON_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/*
 * Returns the text of item (formatted as cJSON_Print does, or on one line), new memory freed
 * with cJSON_free. Never NULL: cJSON fails to print only for want of memory, which aborts, or
 * for a text past INT_MAX bytes, which the library's limits keep any input from reaching and
 * which aborts as out of memory too.
 */
char *rp__json_print(const cJSON *item, bool formatted);

/* Returns a new cJSON string of the n bytes at s (borrows), read as Latin-1 where they are not
 * UTF-8 (HTTP's obs-text), with a NUL as '?'. */
cJSON *rp__json_text(const char *s, size_t n);

/*
 * Formats one log line and hands it to log (nothing when log is NULL): the body of every
 * module's logging helper. A line past 1 KiB is cut; a cut warning is still a warning.
 */
void rp__vlog(rp_log_fn log, void *ud, enum rp_log_level lvl, const char *fmt, va_list ap)
    RP_PRINTF(4, 0);

#endif /* REPRISE_COMMON_INT_H */
