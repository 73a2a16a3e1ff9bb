/* SPDX-License-Identifier: MIT */
/* reprise show: a recording as a readable table, or its decompressed JSON lines. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const struct option cmd_show_longopts[] = {
    {"json", no_argument, NULL, 'j'},
    {"correlations", no_argument, NULL, 'c'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static rp_code show_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct show_opts *o = opts;
    (void)arg;
    (void)err;
    if (c == 'j') {
        o->json = true;
    } else if (c == 'c') {
        o->correlations = true;
    }
    return RP_OK;
}

RP_TESTABLE rp_code parse_show_args(int argc, char **argv, struct show_opts *opts,
                                    struct rp_error *err)
{
    memset(opts, 0, sizeof(*opts));
    int first;
    rp_code rc =
        cli_getopt(argc, argv, "jc", cmd_show_longopts, show_opt, opts, &opts->help, &first, err);
    if (rc || opts->help) {
        return rc;
    }
    return cli_one_operand(argc, argv, first, "FILE", &opts->file, err);
}

static int run_show(const struct show_opts *opts)
{
    struct rp_error err = {0};
    struct rp_listing_opts lo = {
        .kind = opts->correlations ? RP_LISTING_CORRELATIONS
                : opts->json       ? RP_LISTING_JSON
                                   : RP_LISTING_TABLE,
        .color = cli_color(stdout),
        .log = cli_log,
    };
    return rp_listing_print(opts->file, stdout, &lo, &err) ? cli_fail(&err) : RP_EXIT_OK;
}

int cmd_show(int argc, char **argv)
{
    struct show_opts opts;
    struct rp_error err = {0};
    rp_code rc = parse_show_args(argc, argv, &opts, &err);
    int done = cli_parsed("show", cli_help_show, rc, &err, opts.help);
    if (done >= 0) {
        return done;
    }
    if (opts.json && opts.correlations) {
        return cli_usage_error("show", "--json and --correlations do not go together");
    }
    return run_show(&opts);
}
