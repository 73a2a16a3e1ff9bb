/* SPDX-License-Identifier: MIT */
/* reprise import: a HAR file from the browser's developer tools, a proxy or a client, as a
 * recording, through the recording pipeline (static assets left out and secrets scrubbed, by
 * default). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/har.h>
#include <reprise/intake.h>

#include "cli.h"

const struct option cmd_import_longopts[] = {
    {"output", required_argument, NULL, 'o'},
    CLI_RECOPTS_LONGOPTS,
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct import_opts {
    const char *file;
    const char *out;
    struct cli_recopts rec;
    bool help;
};

#ifdef REPRISE_TESTING
rp_code parse_import_args(int argc, char **argv, struct import_opts *o, struct rp_error *err);
#endif

static rp_code import_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct import_opts *o = opts;
    bool shared = false;
    rp_code rc = cli_recopts_parse(c, arg, &o->rec, &shared, err);
    if (rc || shared) {
        return rc;
    }
    switch (c) {
    case 'o':
        o->out = arg;
        break;
    }
    return RP_OK;
}

RP_TESTABLE rp_code parse_import_args(int argc, char **argv, struct import_opts *o,
                                      struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    int first;
    rp_code prc = cli_getopt(argc, argv, "o:" CLI_RECOPTS_SHORT, cmd_import_longopts, import_opt, o,
                             &o->help, &first, err);
    if (!prc && !o->help) {
        prc = cli_one_operand(argc, argv, first, "FILE.har", &o->file, err);
    }
    if (prc || o->help) {
        return prc;
    }
    if (strcmp(o->file, "-") == 0 && !o->out) {
        return rp_error_set(err, RP_EUSAGE, "reading standard input needs -o FILE");
    }
    rp_code grc = cli_gzip_stdout("-o", o->out, err);
    return grc ? grc : cli_recopts_check(&o->rec, err);
}

/* Length of path without a final ".har" (any case). */
static size_t stem_len(const char *path)
{
    size_t n = strlen(path);
    if (n > 4 && rp_strieq(path + n - 4, 4, ".har")) {
        n -= 4;
    }
    return n;
}

static int run_import(const struct import_opts *o)
{
    struct rp_error err = {0};
    struct rp_intake *in = NULL;
    char *out = NULL;
    char *name = NULL;
    int exitc = RP_EXIT_INPUT;

    if (o->out) {
        out = rp_xstrdup(o->out);
    } else {
        size_t n = stem_len(o->file);
        size_t sz = n + sizeof(".jsonl.gz");
        out = rp_xmalloc(sz);
        snprintf(out, sz, "%.*s.jsonl.gz", (int)n, o->file);
    }
    if (!o->rec.name) {
        const char *base = strrchr(o->file, '/');
        base = base ? base + 1 : o->file;
        name = strcmp(o->file, "-") == 0 ? rp_xstrdup("har") : rp_xstrndup(base, stem_len(base));
    }
    struct rp_intake_opts io = {0};
    cli_recopts_fill(&o->rec, &io);
    io.output = out;
    io.name = name ? name : o->rec.name;
    io.source_kind = "har";
    io.source_detail = o->file;
    io.created_from_first = true; /* a HAR is a past session: its header says when */
    io.replace = true;            /* a failed import leaves no file */
    struct rp_har_import_opts hopts = {.log = cli_log};
    struct rp_har_stats st = {0};
    if (rp_intake_new(&io, &in, &err) || rp_har_import(o->file, in, &hopts, &st, &err) ||
        rp_intake_close(in, &err)) {
        exitc = cli_fail(&err);
        goto out;
    }
    struct rp_intake_counts ic;
    rp_intake_counts(in, &ic);
    /* With "-o -" the recording is standard output: the note goes to standard error. */
    FILE *note = cli_is_dash(out) ? stderr : stdout;
    fprintf(note, "imported %llu of %llu entries from %s to %s", (unsigned long long)ic.recorded,
            (unsigned long long)st.entries, o->file, out);
    if (ic.filtered_static || st.dropped) {
        fprintf(note, " (%llu static assets left out, %llu not replayable)",
                (unsigned long long)ic.filtered_static, (unsigned long long)st.dropped);
    }
    fprintf(note, "\n");
    fflush(note);
    cli_recopts_warn_tenant(&o->rec);
    exitc = RP_EXIT_OK;
out:
    rp_intake_free(in);
    free(name);
    free(out);
    return exitc;
}

int cmd_import(int argc, char **argv)
{
    struct import_opts o;
    struct rp_error err = {0};
    rp_code rc = parse_import_args(argc, argv, &o, &err);
    int exitc = cli_parsed("import", cli_help_import, rc, &err, o.help);
    if (exitc < 0) {
        exitc = run_import(&o);
    }
    cli_recopts_cleanup(&o.rec);
    return exitc;
}
