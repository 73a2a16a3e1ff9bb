/* SPDX-License-Identifier: MIT */
/* Result codes: names, descriptions and exit classes, all generated from RP_CODE_MAP. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <reprise/error.h>

static const struct {
    const char *name;
    const char *desc;
    int exitc;
} codes[] = {
#define RP_CODE_ROW(name, exitc, desc) {#name, desc, exitc},
    RP_CODE_MAP(RP_CODE_ROW)
#undef RP_CODE_ROW
};

const char *rp_code_name(rp_code code)
{
    if ((unsigned)code >= RP_CODE_COUNT_) {
        return "EUNKNOWN";
    }
    return codes[code].name;
}

const char *rp_code_str(rp_code code)
{
    if ((unsigned)code >= RP_CODE_COUNT_) {
        return "unknown error";
    }
    return codes[code].desc;
}

int rp_code_exit(rp_code code)
{
    if ((unsigned)code >= RP_CODE_COUNT_) {
        return RP_EXIT_INPUT;
    }
    return codes[code].exitc;
}

rp_code rp_error_set(struct rp_error *err, rp_code code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        /* Truncation is acceptable: the message is for people and ends cut. */
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

void rp_error_clear(struct rp_error *err)
{
    if (err) {
        err->code = RP_OK;
        err->msg[0] = '\0';
    }
}

rp_code rp_error_prefix(struct rp_error *err, const char *fmt, ...)
{
    if (!err) {
        return RP_OK;
    }
    char prefix[RP_ERROR_MSG_MAX];
    char old[RP_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    old[sizeof(old) - 1] = '\0';
    int n = snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
    if (n < 0 || (size_t)n >= sizeof(err->msg)) {
        /* Cut: mark it, so nobody takes the end of the message for the end of the story. */
        memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
    }
    return err->code;
}
