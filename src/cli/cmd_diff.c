/* SPDX-License-Identifier: MIT */
/*
 * reprise diff: re-prints the failures of a replay from its results file alone, with no
 * network, re-checked against an edited shape file when one is given.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const struct option cmd_diff_longopts[] = {
    {"shape", required_argument, NULL, 's'},
    {"color", no_argument, NULL, 'L'},
    {"no-color", no_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

const char cmd_diff_usage[] =
    "usage: reprise diff RESULTS [--shape FILE]\n"
    "\n"
    "Print the failures recorded in RESULTS (written by 'reprise replay --results'), each\n"
    "re-checked against the shape stored with it, or against the shape file FILE when given\n"
    "(an edited NAME.shape.json). Nothing is sent anywhere. Exit 0 when every exchange passes,\n"
    "1 when a check fails, 3 when the run had target errors.\n"
    "\n"
    "Options:\n"
    "  -s, --shape FILE      re-check the live responses against this shape file\n"
    "      --color, --no-color   force colour on or off (default: on a terminal)\n"
    "  -h, --help            show this help\n";

RP_TESTABLE rp_code parse_diff_args(int argc, char **argv, struct diff_opts *o,
                                    struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    o->color = -1;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":s:h", cmd_diff_longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->shape = optarg;
            break;
        case 'L':
            o->color = 1;
            break;
        case 'l':
            o->color = 0;
            break;
        case 'h':
            o->help = true;
            return RP_OK;
        case ':':
            return rp_error_set(err, RP_EUSAGE, "%s needs a value", argv[optind - 1]);
        default:
            return rp_error_set(err, RP_EUSAGE, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        return rp_error_set(err, RP_EUSAGE, "missing RESULTS");
    }
    if (optind + 1 < argc) {
        return rp_error_set(err, RP_EUSAGE, "one RESULTS file at a time (got %s)",
                            argv[optind + 1]);
    }
    o->results = argv[optind];
    return RP_OK;
}

static int run_diff(const struct diff_opts *o)
{
    struct rp_error err = {0};
    struct rp_checker *checker = NULL;
    struct rp_checker_opts co = {.shape_file = o->shape, .failures_only = true, .log = cli_log};
    rp_code rc = rp_checker_new(&co, &checker, &err);
    if (rc) {
        return cli_fail(&err);
    }
    struct rp_sink sink;
    rp_sink_terminal(&sink, stdout, o->color < 0 ? cli_color(stdout) : o->color == 1);
    rp_checker_add_sink(checker, &sink);
    int exitc;
    struct rp_run_summary sum;
    rc = rp_results_check(o->results, checker, cli_log, NULL, &err);
    if (!rc) {
        rc = rp_checker_end(checker, &sum, &err);
    }
    fflush(stdout);
    if (rc) {
        exitc = cli_fail(&err);
    } else if (sum.errors) {
        exitc = RP_EXIT_TARGET;
    } else {
        exitc = sum.failed ? RP_EXIT_MISMATCH : RP_EXIT_OK;
    }
    rp_checker_free(checker);
    return exitc;
}

int cmd_diff(int argc, char **argv)
{
    struct diff_opts o;
    struct rp_error err = {0};
    if (parse_diff_args(argc, argv, &o, &err)) {
        return cli_usage_error("diff", "%s", err.msg);
    }
    if (o.help) {
        fputs(cmd_diff_usage, stdout);
        return RP_EXIT_OK;
    }
    return run_diff(&o);
}
