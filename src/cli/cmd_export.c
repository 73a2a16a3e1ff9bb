/* SPDX-License-Identifier: MIT */
/* reprise export: a recording as a HAR 1.2 file, for any HAR viewer. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/har.h>

#include "cli.h"

/* Option codes of the long options that have no short form. */
enum {
    OPT_HAR = 256,
};

const struct option cmd_export_longopts[] = {
    {"har", no_argument, NULL, OPT_HAR},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct export_opts {
    const char *file;
    const char *out;
    bool har;
    bool help;
};

#ifdef REPRISE_TESTING
rp_code parse_export_args(int argc, char **argv, struct export_opts *o, struct rp_error *err);
#endif

static rp_code export_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct export_opts *o = opts;
    (void)err;
    if (c == OPT_HAR) {
        o->har = true;
    } else if (c == 'o') {
        o->out = arg;
    }
    return RP_OK;
}

RP_TESTABLE rp_code parse_export_args(int argc, char **argv, struct export_opts *o,
                                      struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    int first;
    rp_code rc =
        cli_getopt(argc, argv, "o:", cmd_export_longopts, export_opt, o, &o->help, &first, err);
    if (!rc && !o->help) {
        rc = cli_one_operand(argc, argv, first, "RECORDING", &o->file, err);
    }
    if (rc || o->help) {
        return rc;
    }
    if (!o->har) {
        return rp_error_set(err, RP_EUSAGE, "say which format: --har");
    }
    if (strcmp(o->file, "-") == 0 && !o->out) {
        return rp_error_set(err, RP_EUSAGE, "reading standard input needs -o FILE");
    }
    return RP_OK;
}

/* RECORDING's path with .har in place of .jsonl.gz (or .gz), or added. */
static char *default_output(const char *rec)
{
    size_t n = strlen(rec);
    if (n > 9 && strcmp(rec + n - 9, ".jsonl.gz") == 0) {
        n -= 9;
    } else if (n > 3 && strcmp(rec + n - 3, ".gz") == 0) {
        n -= 3;
    }
    size_t sz = n + sizeof(".har");
    char *out = rp_xmalloc(sz);
    snprintf(out, sz, "%.*s.har", (int)n, rec);
    return out;
}

static int run_export(const struct export_opts *o)
{
    struct rp_error err = {0};
    char *out = o->out ? rp_xstrdup(o->out) : default_output(o->file);
    struct rp_har_export_opts hopts = {.log = cli_log};
    uint64_t count = 0;
    int exitc = RP_EXIT_OK;
    if (rp_har_export(o->file, out, &hopts, &count, &err)) {
        exitc = cli_fail(&err);
    } else if (strcmp(out, "-") != 0) {
        printf("exported %llu exchanges from %s to %s\n", (unsigned long long)count, o->file, out);
    }
    free(out);
    return exitc;
}

int cmd_export(int argc, char **argv)
{
    struct export_opts o;
    struct rp_error err = {0};
    rp_code rc = parse_export_args(argc, argv, &o, &err);
    int done = cli_parsed("export", cli_help_export, rc, &err, o.help);
    return done >= 0 ? done : run_export(&o);
}
