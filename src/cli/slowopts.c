/* SPDX-License-Identifier: MIT */
/* The latency budget options `reprise replay` and `reprise diff` share: --baseline, --slower,
 * --fail-on-slow, and the checker options they make. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_slowopts_init(struct cli_slowopts *so)
{
    memset(so, 0, sizeof(*so));
    so->factor = RP_SLOW_FACTOR_DEFAULT;
    so->floor_us = RP_SLOW_FLOOR_US_DEFAULT;
}

bool cli_parse_slower(const char *s, double *factor, uint64_t *floor_us)
{
    if (strcmp(s, "off") == 0) {
        *factor = 0;
        return true;
    }
    const char *comma = strchr(s, ',');
    size_t n = comma ? (size_t)(comma - s) : strlen(s);
    char num[32];
    if (n == 0 || n >= sizeof(num) || strspn(s, "0123456789.") != n) {
        return false;
    }
    memcpy(num, s, n);
    num[n] = '\0';
    errno = 0;
    char *end = NULL;
    double f = strtod(num, &end);
    /* Under 1 would call a step slow for being as fast as before. */
    if (errno || *end || !isfinite(f) || f < 1.0 || f > 1e6) {
        return false;
    }
    uint64_t ms = *floor_us / 1000;
    if (comma && !cli_parse_duration_ms(comma + 1, &ms)) {
        return false;
    }
    *factor = f;
    *floor_us = comma ? ms * 1000 : *floor_us;
    return true;
}

rp_code cli_slowopts_parse(int c, const char *arg, struct cli_slowopts *so, bool *out_handled,
                           struct rp_error *err)
{
    *out_handled = true;
    switch (c) {
    case CLI_OPT_BASELINE:
        so->baseline = arg;
        break;
    case CLI_OPT_SLOWER:
        if (!cli_parse_slower(arg, &so->factor, &so->floor_us)) {
            return rp_error_set(err, RP_EUSAGE,
                                "--slower wants FACTOR[,MIN] (3, 2.5,100ms) or off, got '%s'", arg);
        }
        break;
    case CLI_OPT_FAIL_ON_SLOW:
        so->fail = true;
        break;
    default:
        *out_handled = false;
        break;
    }
    return RP_OK;
}

rp_code cli_slowopts_fill(const struct cli_slowopts *so, struct rp_checker_opts *co,
                          struct rp_baseline **out_baseline, struct rp_error *err)
{
    struct rp_baseline *b = NULL;
    if (so->baseline) {
        rp_code rc = rp_results_baseline(so->baseline, cli_log, NULL, &b, err);
        if (rc) {
            return rc;
        }
    }
    co->slow_factor = so->factor;
    co->slow_floor_us = so->floor_us;
    co->fail_on_slow = so->fail;
    co->baseline = b;
    *out_baseline = b;
    return RP_OK;
}
