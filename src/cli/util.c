/* SPDX-License-Identifier: MIT */
/* The CLI's output helpers: logging, one-line errors, usage errors, colour, terminal width,
 * standard output as a file, sizes; and the engine's rules as probe and shape --learn give them. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

int cli_verbosity = 0;
struct rp_progress *cli_progress = NULL;

void cli_log(void *ud, enum rp_log_level lvl, const char *msg)
{
    (void)ud;
    if ((lvl == RP_LOG_INFO && cli_verbosity < 0) || (lvl == RP_LOG_DEBUG && cli_verbosity < 1) ||
        (lvl == RP_LOG_WARN && cli_verbosity < 0)) {
        return;
    }
    rp_progress_clear(cli_progress);
    const char *tag = lvl == RP_LOG_WARN ? "warning: " : "";
    fprintf(stderr, "reprise: %s%s\n", tag, msg);
}

unsigned cli_term_width(FILE *f)
{
    if (!isatty(fileno(f))) {
        return 0;
    }
    struct winsize ws;
    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        return ws.ws_col;
    }
    const char *cols = getenv("COLUMNS");
    uint64_t n;
    if (cols && cli_parse_count(cols, 10000, &n) && n > 0) {
        return (unsigned)n;
    }
    return 80;
}

bool cli_is_dash(const char *path)
{
    return path && strcmp(path, "-") == 0;
}

rp_code cli_gzip_stdout(const char *flag, const char *path, struct rp_error *err)
{
    if (cli_is_dash(path) && isatty(STDOUT_FILENO)) {
        return rp_error_set(err, RP_EUSAGE,
                            "%s -: a gzip file would go to the terminal; redirect or pipe it",
                            flag);
    }
    return RP_OK;
}

rp_code cli_one_stdout(const char *const *flags, const char *const *paths, size_t n,
                       struct rp_error *err)
{
    const char *first = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!cli_is_dash(paths[i])) {
            continue;
        }
        if (first) {
            return rp_error_set(err, RP_EUSAGE, "%s - and %s - both want standard output", first,
                                flags[i]);
        }
        first = flags[i];
    }
    return RP_OK;
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

/* The global options every command also takes after its name ("reprise replay -q ..."). */
static const struct option global_longopts[] = {
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
};
#define N_GLOBAL (sizeof(global_longopts) / sizeof(global_longopts[0]))

/* A new copy of longopts (may be NULL) with the global options added before its end. */
static struct option *with_globals(const struct option *longopts)
{
    size_t n = 0;
    while (longopts && longopts[n].name) {
        n++;
    }
    struct option *all = rp_xcalloc(n + N_GLOBAL + 1, sizeof(*all));
    if (n) {
        memcpy(all, longopts, n * sizeof(*all));
    }
    memcpy(all + n, global_longopts, sizeof(global_longopts));
    return all; /* the last entry stays zero */
}

rp_code cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
                   cli_opt_fn on_opt, void *opts, bool *help, int *out_first, struct rp_error *err)
{
    char spec[64];
    int n = snprintf(spec, sizeof(spec), ":%sqvh", shortopts);
    if (n < 0 || (size_t)n >= sizeof(spec)) {
        abort(); /* a command's own table, not input */
    }
    struct option *all = with_globals(longopts);
    *help = false;
    optind = 0; /* glibc: start afresh */
    opterr = 0;
    rp_code rc = RP_OK;
    int c;
    while (!rc && (c = getopt_long(argc, argv, spec, all, NULL)) != -1) {
        if (c == 'h') {
            *help = true;
            break;
        }
        if (c == ':') {
            rc = rp_error_set(err, RP_EUSAGE, "%s needs a value", argv[optind - 1]);
        } else if (c == '?') {
            rc = rp_error_set(err, RP_EUSAGE, "unknown option %s", argv[optind - 1]);
        } else if (c == 'q' || c == 'v') {
            cli_verbosity = c == 'q' ? -1 : 1;
        } else {
            rc = on_opt(opts, c, optarg, err);
        }
    }
    free(all);
    if (!rc && !*help) {
        *out_first = optind;
    }
    return rc;
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

rp_code cli_replay_rules(struct rp_replay *r, const struct cli_rules *rules, struct rp_error *err)
{
    const char **lists[] = {rules->tenants, rules->hosts, rules->binds};
    size_t counts[] = {rules->n_tenants, rules->n_hosts, rules->n_binds};
    rp_code rc = RP_OK;
    for (size_t l = 0; !rc && l < 3; l++) {
        for (size_t i = 0; !rc && i < counts[l]; i++) {
            const char *eq = strchr(lists[l][i], '=');
            char *from = rp_xstrndup(lists[l][i], (size_t)(eq - lists[l][i]));
            rc = l == 0   ? rp_replay_tenant(r, from, eq + 1, err)
                 : l == 1 ? rp_replay_map_host(r, from, eq + 1, err)
                          : rp_replay_bind(r, from, eq + 1, err);
            free(from);
        }
    }
    for (size_t i = 0; !rc && i < rules->n_consts; i++) {
        rc = rp_replay_const(r, rules->consts[i], err);
    }
    return rc;
}
