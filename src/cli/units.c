/* SPDX-License-Identifier: MIT */
/* Numbers with units on the command line: counts (2k), rates (1.5k), durations (30s, 500ms). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Parses a non-negative decimal with an optional suffix from table; returns false on junk. */
static bool parse_scaled(const char *s, const char *const *suffix, const double *scale, double *out)
{
    if (!s || !*s || *s == '-' || *s == '+') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0) {
        return false;
    }
    for (size_t i = 0; suffix[i]; i++) {
        if (strcmp(end, suffix[i]) == 0) {
            *out = v * scale[i];
            return isfinite(*out);
        }
    }
    return false;
}

bool cli_parse_count(const char *s, uint64_t max, uint64_t *out)
{
    static const char *const suffix[] = {"", "k", "K", "M", NULL};
    static const double scale[] = {1, 1e3, 1e3, 1e6};
    double v;
    if (!parse_scaled(s, suffix, scale, &v) || v != floor(v) || v > (double)max) {
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

bool cli_parse_rate(const char *s, double *out)
{
    static const char *const suffix[] = {"", "/s", "k", "k/s", "K", NULL};
    static const double scale[] = {1, 1, 1e3, 1e3, 1e3};
    return parse_scaled(s, suffix, scale, out) && *out <= 1e9;
}

bool cli_parse_duration_ms(const char *s, uint64_t *out)
{
    /* A bare number is seconds, as in curl's --max-time. */
    static const char *const suffix[] = {"", "s", "ms", "m", "min", NULL};
    static const double scale[] = {1000, 1000, 1, 60000, 60000};
    double v;
    if (!parse_scaled(s, suffix, scale, &v) || v > 86400000.0 * 7) {
        return false;
    }
    *out = (uint64_t)llround(v);
    return true;
}

rp_code cli_parse_step(const char *s, uint64_t *out, struct rp_error *err)
{
    /* A seq is a JSON number in the recording: at most 2^53, exact in a double. */
    if (!cli_parse_count(s, UINT64_C(9007199254740992), out)) {
        return rp_error_set(err, RP_EUSAGE, "--step wants a step number (its seq), got '%s'", s);
    }
    return RP_OK;
}
