/* SPDX-License-Identifier: MIT */
/*
 * reprise lint: secrets left in recordings, one line each on standard output (file, line,
 * what and where, never the secret). Exit 0 clean, 1 any secret left, 2 a file unreadable.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const struct option cmd_lint_longopts[] = {
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct lint_opts {
    bool help;
    const char *const *files;
    size_t n_files;
};

static rp_code lint_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    (void)opts;
    (void)c;
    (void)arg;
    (void)err;
    return RP_OK;
}

static rp_code parse_lint_args(int argc, char **argv, struct lint_opts *o, struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    int first;
    rp_code rc = cli_getopt(argc, argv, "", cmd_lint_longopts, lint_opt, o, &o->help, &first, err);
    if (rc || o->help) {
        return rc;
    }
    if (first >= argc) {
        return rp_error_set(err, RP_EUSAGE, "missing RECORDING");
    }
    o->files = (const char *const *)argv + first;
    o->n_files = (size_t)(argc - first);
    return RP_OK;
}

static void print_finding(void *ud, const struct rp_lint_finding *f)
{
    (void)ud;
    char line[512];
    rp_lint_format(f, line, sizeof(line));
    printf("%s\n", line);
}

static int run_lint(const struct lint_opts *o)
{
    uint64_t total = 0;
    size_t dirty = 0;
    int exitc = RP_EXIT_OK;
    for (size_t i = 0; i < o->n_files; i++) {
        struct rp_error err = {0};
        uint64_t found = 0;
        rp_code rc = rp_lint_file(o->files[i], print_finding, NULL, cli_log, NULL, &found, &err);
        if (rc) {
            rp_ignore(cli_fail(&err));
            exitc = RP_EXIT_INPUT;
            continue;
        }
        total += found;
        dirty += found > 0;
    }
    fflush(stdout);
    if (total > 0) {
        fprintf(stderr, "reprise: lint: %" PRIu64 " secret%s left in %zu of %zu recording%s\n",
                total, total == 1 ? "" : "s", dirty, o->n_files, o->n_files == 1 ? "" : "s");
        if (exitc == RP_EXIT_OK) {
            exitc = RP_EXIT_MISMATCH;
        }
    }
    return exitc;
}

int cmd_lint(int argc, char **argv)
{
    struct lint_opts o;
    struct rp_error err = {0};
    rp_code rc = parse_lint_args(argc, argv, &o, &err);
    int done = cli_parsed("lint", cli_help_lint, rc, &err, o.help);
    if (done < 0) {
        done = run_lint(&o);
    }
    return done;
}
