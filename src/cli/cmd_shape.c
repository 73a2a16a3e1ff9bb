/* SPDX-License-Identifier: MIT */
/* reprise shape: infers each exchange's expected response shape and writes the shape file. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const struct option cmd_shape_longopts[] = {
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static rp_code shape_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct shape_opts *o = opts;
    (void)err;
    if (c == 'o') {
        o->out = arg;
    }
    return RP_OK;
}

RP_TESTABLE rp_code parse_shape_args(int argc, char **argv, struct shape_opts *o,
                                     struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    int first;
    rp_code rc =
        cli_getopt(argc, argv, "o:", cmd_shape_longopts, shape_opt, o, &o->help, &first, err);
    if (rc || o->help) {
        return rc;
    }
    return cli_one_operand(argc, argv, first, "RECORDING", &o->file, err);
}

static int run_shape(const struct shape_opts *o)
{
    struct rp_error err = {0};
    struct rp_shapeset *set = NULL;
    char *path = o->out ? rp_xstrdup(o->out) : rp_shape_path_for(o->file);
    int exitc = RP_EXIT_OK;
    if (rp_shapeset_infer(o->file, cli_log, NULL, &set, &err) ||
        rp_shapeset_save(set, path, &err)) {
        exitc = cli_fail(&err);
    } else {
        /* With "-o -" the shapes are standard output: the note goes to standard error. */
        fprintf(cli_is_dash(path) ? stderr : stdout, "wrote %zu shapes to %s\n",
                rp_shapeset_count(set), path);
    }
    free(path);
    rp_shapeset_free(set);
    return exitc;
}

int cmd_shape(int argc, char **argv)
{
    struct shape_opts o;
    struct rp_error err = {0};
    rp_code rc = parse_shape_args(argc, argv, &o, &err);
    int done = cli_parsed("shape", cli_help_shape, rc, &err, o.help);
    return done >= 0 ? done : run_shape(&o);
}
