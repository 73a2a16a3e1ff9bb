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
    {"fail-on-flaky", no_argument, NULL, 'F'}, /* --retries: a flaky session exits 1 */
    {"color", no_argument, NULL, 'L'},
    {"no-color", no_argument, NULL, 'l'},
    CLI_SLOWOPTS_LONGOPTS,
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static rp_code diff_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct diff_opts *o = opts;
    bool slow_opt = false;
    rp_code src = cli_slowopts_parse(c, arg, &o->slow, &slow_opt, err);
    if (src || slow_opt) {
        return src;
    }
    switch (c) {
    case 's':
        o->shape = arg;
        break;
    case 'L':
        o->color = 1;
        break;
    case 'l':
        o->color = 0;
        break;
    case 'F':
        o->fail_on_flaky = true;
        break;
    }
    return RP_OK;
}

RP_TESTABLE rp_code parse_diff_args(int argc, char **argv, struct diff_opts *o,
                                    struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    o->color = -1;
    cli_slowopts_init(&o->slow);
    int first;
    rp_code prc =
        cli_getopt(argc, argv, "s:", cmd_diff_longopts, diff_opt, o, &o->help, &first, err);
    if (prc || o->help) {
        return prc;
    }
    return cli_one_operand(argc, argv, first, "RESULTS", &o->results, err);
}

static int run_diff(const struct diff_opts *o)
{
    struct rp_error err = {0};
    struct rp_checker *checker = NULL;
    struct rp_baseline *baseline = NULL;
    struct rp_checker_opts co = {.shape_file = o->shape, .failures_only = true, .log = cli_log};
    rp_code rc = cli_slowopts_fill(&o->slow, &co, &baseline, &err);
    if (!rc) {
        rc = rp_checker_new(&co, &checker, &err);
    }
    if (rc) {
        rp_baseline_free(baseline);
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
    } else if (!sum.finished) {
        /* Partial results prove nothing either way: the summary says why, and so does stderr. */
        fprintf(stderr, "reprise: %s: the run did not finish: %s\n", o->results,
                sum.unfinished_why);
        exitc = RP_EXIT_UNFINISHED;
    } else {
        exitc = cli_sessions_exit(&sum, o->fail_on_flaky, NULL); /* as the replay judged them */
        if (o->slow.fail && sum.slow_p95) {                      /* the run's p95 over its budget */
            exitc = RP_EXIT_MISMATCH;
        }
    }
    rp_checker_free(checker);
    rp_baseline_free(baseline);
    return exitc;
}

int cmd_diff(int argc, char **argv)
{
    struct diff_opts o;
    struct rp_error err = {0};
    rp_code rc = parse_diff_args(argc, argv, &o, &err);
    int done = cli_parsed("diff", cli_help_diff, rc, &err, o.help);
    return done >= 0 ? done : run_diff(&o);
}
