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

const char cmd_export_usage[] =
    "usage: reprise export RECORDING --har [-o FILE]\n"
    "\n"
    "Write RECORDING as a HAR 1.2 file, which browser developer tools and HAR viewers open:\n"
    "one page holding an entry per exchange. 'reprise import' reads it back to the same\n"
    "exchanges. See docs/har.md.\n"
    "\n"
    "Options:\n"
    "      --har           write HAR 1.2 (the one format there is; required)\n"
    "  -o, --output FILE   write to FILE, '-' for standard output (default: RECORDING's path\n"
    "                      with .har for .jsonl.gz)\n"
    "  -h, --help          show this help\n";

struct export_opts {
    const char *file;
    const char *out;
    bool har;
    bool help;
};

#ifdef REPRISE_TESTING
rp_code parse_export_args(int argc, char **argv, struct export_opts *o, struct rp_error *err);
#endif

RP_TESTABLE rp_code parse_export_args(int argc, char **argv, struct export_opts *o,
                                      struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", cmd_export_longopts, NULL)) != -1) {
        switch (c) {
        case OPT_HAR:
            o->har = true;
            break;
        case 'o':
            o->out = optarg;
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
        return rp_error_set(err, RP_EUSAGE, "missing RECORDING");
    }
    if (optind + 1 < argc) {
        return rp_error_set(err, RP_EUSAGE, "one RECORDING at a time (got %s)", argv[optind + 1]);
    }
    o->file = argv[optind];
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
    if (parse_export_args(argc, argv, &o, &err)) {
        return cli_usage_error("export", "%s", err.msg);
    }
    if (o.help) {
        fputs(cmd_export_usage, stdout);
        return RP_EXIT_OK;
    }
    return run_export(&o);
}
