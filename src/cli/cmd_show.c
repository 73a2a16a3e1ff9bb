/* SPDX-License-Identifier: MIT */
/* reprise show: a recording as a readable table, or its decompressed JSON lines. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const struct option cmd_show_longopts[] = {
    {"json", no_argument, NULL, 'j'},
    {"correlations", no_argument, NULL, 'c'},
    {"bind", required_argument, NULL, 'b'},
    {"const", required_argument, NULL, 'K'},
    {"tenant", required_argument, NULL, 'T'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void show_opts_cleanup(struct show_opts *o)
{
    free(o->binds);
    free(o->consts);
    free(o->tenants);
    o->binds = o->consts = o->tenants = NULL;
    o->n_binds = o->n_consts = o->n_tenants = 0;
}

static rp_code show_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct show_opts *o = opts;
    const char *eq = arg ? strchr(arg, '=') : NULL;
    switch (c) {
    case 'j':
        o->json = true;
        break;
    case 'c':
        o->correlations = true;
        break;
    case 'b':
        if (!eq || eq == arg) {
            return rp_error_set(err, RP_EUSAGE, "--bind wants NAME=PLACE, got '%s'", arg);
        }
        /* NAME=PLACE stays one argument: the name is cut off when the bind is made. */
        cli_push_arg(&o->binds, &o->n_binds, arg);
        break;
    case 'K':
        if (!arg[0]) {
            return rp_error_set(err, RP_EUSAGE, "--const wants a non-empty VALUE");
        }
        cli_push_arg(&o->consts, &o->n_consts, arg);
        break;
    case 'T':
        if (!arg[0] || eq == arg) {
            return rp_error_set(err, RP_EUSAGE, "--tenant wants FROM=TO, got '%s'", arg);
        }
        cli_push_arg(&o->tenants, &o->n_tenants, arg);
        break;
    }
    return RP_OK;
}

RP_TESTABLE rp_code parse_show_args(int argc, char **argv, struct show_opts *opts,
                                    struct rp_error *err)
{
    memset(opts, 0, sizeof(*opts));
    int first;
    rp_code rc =
        cli_getopt(argc, argv, "jcT:", cmd_show_longopts, show_opt, opts, &opts->help, &first, err);
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
        .binds = (const char *const *)opts->binds,
        .n_binds = opts->n_binds,
        .consts = (const char *const *)opts->consts,
        .n_consts = opts->n_consts,
        .tenants = (const char *const *)opts->tenants,
        .n_tenants = opts->n_tenants,
    };
    rp_code rc = rp_listing_print(opts->file, stdout, &lo, &err);
    if (rc == RP_EUSAGE) {
        return cli_usage_error("show", "%s", err.msg);
    }
    /* The tenant guard, as replay would apply it: a second reading, which standard input
     * ("-", read once already) cannot give. */
    if (!rc && lo.kind == RP_LISTING_TABLE && !cli_is_dash(opts->file)) {
        struct rp_tenant_guard g;
        rc = rp_replay_guard_survey(opts->file, NULL, 0, &g, &err);
        char msg[RP_ERROR_MSG_MAX * 2];
        if (!rc) {
            rp_tenant_guard_message(&g, opts->file, msg, sizeof(msg));
            if (msg[0]) {
                printf("\nreplay: %s\n", msg);
            }
        }
    }
    return rc ? cli_fail(&err) : RP_EXIT_OK;
}

int cmd_show(int argc, char **argv)
{
    struct show_opts opts;
    struct rp_error err = {0};
    rp_code rc = parse_show_args(argc, argv, &opts, &err);
    int done = cli_parsed("show", cli_help_show, rc, &err, opts.help);
    if (done < 0 && opts.json && opts.correlations) {
        done = cli_usage_error("show", "--json and --correlations do not go together");
    }
    if (done < 0 && !opts.correlations && (opts.n_binds || opts.n_consts || opts.n_tenants)) {
        done = cli_usage_error("show", "--bind, --const and --tenant go with --correlations");
    }
    if (done < 0) {
        done = run_show(&opts);
    }
    show_opts_cleanup(&opts);
    return done;
}
