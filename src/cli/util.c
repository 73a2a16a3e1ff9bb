/* SPDX-License-Identifier: MIT */
/* The CLI's output helpers: logging, one-line errors, usage errors, colour, sizes. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_verbosity = 0;

void cli_log(void *ud, enum rp_log_level lvl, const char *msg)
{
    (void)ud;
    if ((lvl == RP_LOG_INFO && cli_verbosity < 0) || (lvl == RP_LOG_DEBUG && cli_verbosity < 1) ||
        (lvl == RP_LOG_WARN && cli_verbosity < 0)) {
        return;
    }
    const char *tag = lvl == RP_LOG_WARN ? "warning: " : "";
    fprintf(stderr, "reprise: %s%s\n", tag, msg);
}

int cli_fail(const struct rp_error *err)
{
    fprintf(stderr, "reprise: %s\n", err->msg[0] ? err->msg : rp_code_str(err->code));
    return rp_code_exit(err->code);
}

int cli_sessions_exit(const struct rp_run_summary *sum, bool fail_on_flaky,
                      const struct rp_error *why)
{
    if (sum->sessions.failed || (fail_on_flaky && sum->sessions.flaky)) {
        return RP_EXIT_MISMATCH;
    }
    if (sum->sessions.infra && why) {
        fprintf(stderr, "reprise: %s\n", why->msg[0] ? why->msg : rp_code_str(why->code));
        return RP_EXIT_TARGET;
    }
    if (sum->sessions.infra) {
        fprintf(stderr,
                "reprise: %" PRIu64 " session%s failed on the infrastructure (no response, or a "
                "gateway's 502, 503 or 504) and nothing else failed\n",
                sum->sessions.infra, sum->sessions.infra == 1 ? "" : "s");
        return RP_EXIT_TARGET;
    }
    return RP_EXIT_OK;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cmd) {
        fprintf(stderr, "reprise: %s: %s\ntry 'reprise %s --help'\n", cmd, msg, cmd);
    } else {
        fprintf(stderr, "reprise: %s\ntry 'reprise --help'\n", msg);
    }
    return RP_EXIT_INPUT;
}

rp_code cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
                   cli_opt_fn on_opt, void *opts, bool *help, int *out_first, struct rp_error *err)
{
    char spec[64];
    int n = snprintf(spec, sizeof(spec), ":%sh", shortopts);
    if (n < 0 || (size_t)n >= sizeof(spec)) {
        abort(); /* a command's own table, not input */
    }
    *help = false;
    optind = 0; /* glibc: start afresh */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, spec, longopts, NULL)) != -1) {
        if (c == 'h') {
            *help = true;
            return RP_OK;
        }
        if (c == ':') {
            return rp_error_set(err, RP_EUSAGE, "%s needs a value", argv[optind - 1]);
        }
        if (c == '?') {
            return rp_error_set(err, RP_EUSAGE, "unknown option %s", argv[optind - 1]);
        }
        rp_code rc = on_opt(opts, c, optarg, err);
        if (rc) {
            return rc;
        }
    }
    *out_first = optind;
    return RP_OK;
}

rp_code cli_one_operand(int argc, char **argv, int first, const char *what, const char **out,
                        struct rp_error *err)
{
    if (first >= argc) {
        return rp_error_set(err, RP_EUSAGE, "missing %s", what);
    }
    if (first + 1 < argc) {
        return rp_error_set(err, RP_EUSAGE, "one %s at a time (got %s)", what, argv[first + 1]);
    }
    *out = argv[first];
    return RP_OK;
}

int cli_parsed(const char *cmd, const char *usage, rp_code rc, const struct rp_error *err,
               bool help)
{
    if (rc) {
        return cli_usage_error(cmd, "%s", err->msg);
    }
    if (help) {
        fputs(usage, stdout);
        return RP_EXIT_OK;
    }
    return -1;
}

bool cli_color(FILE *out)
{
    const char *nc = getenv("NO_COLOR");
    return isatty(fileno(out)) && !(nc && nc[0]);
}

void cli_push_arg(const char ***v, size_t *n, const char *arg)
{
    *v = rp_xreallocarray(*v, *n + 1, sizeof(**v));
    (*v)[(*n)++] = arg;
}
