/* SPDX-License-Identifier: MIT */
/* reprise capture: HTTP exchanges from packets, read from a pcap/pcapng file or captured live
 * on an interface, recorded through the recording pipeline (static assets left out, secrets
 * scrubbed). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/capture.h>
#include <reprise/intake.h>

#include "cli.h"

enum {
    OPT_FILTER = 256,
    OPT_COUNT,
    OPT_DURATION,
};

const struct option cmd_capture_longopts[] = {
    {"read", required_argument, NULL, 'r'},
    {"interface", required_argument, NULL, 'i'},
    {"output", required_argument, NULL, 'o'},
    {"filter", required_argument, NULL, OPT_FILTER},
    {"count", required_argument, NULL, OPT_COUNT},
    {"duration", required_argument, NULL, OPT_DURATION},
    CLI_RECOPTS_LONGOPTS,
    CLI_RECOPTS_MAX_BODY_LONGOPT,
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct capture_opts {
    const char *file;
    const char *iface;
    const char *out;
    const char *filter;
    uint64_t count;
    uint64_t duration_ms;
    struct cli_recopts rec;
    bool help;
};

#ifdef REPRISE_TESTING
rp_code parse_capture_args(int argc, char **argv, struct capture_opts *o, struct rp_error *err);
#endif

static rp_code capture_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct capture_opts *o = opts;
    bool shared = false;
    rp_code rc = cli_recopts_parse(c, arg, &o->rec, &shared, err);
    if (rc || shared) {
        return rc;
    }
    switch (c) {
    case 'r':
        o->file = arg;
        break;
    case 'i':
        o->iface = arg;
        break;
    case 'o':
        o->out = arg;
        break;
    case OPT_FILTER:
        o->filter = arg;
        break;
    case OPT_COUNT:
        if (!cli_parse_count(arg, UINT64_MAX, &o->count) || o->count == 0) {
            return rp_error_set(err, RP_EUSAGE, "--count needs a positive number, not '%s'", arg);
        }
        break;
    case OPT_DURATION:
        if (!cli_parse_duration_ms(arg, &o->duration_ms) || o->duration_ms == 0) {
            return rp_error_set(err, RP_EUSAGE, "--duration needs a time like 30s, not '%s'", arg);
        }
        break;
    }
    return RP_OK;
}

RP_TESTABLE rp_code parse_capture_args(int argc, char **argv, struct capture_opts *o,
                                       struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    int first;
    rp_code prc = cli_getopt(argc, argv, "r:i:o:" CLI_RECOPTS_SHORT, cmd_capture_longopts,
                             capture_opt, o, &o->help, &first, err);
    if (prc || o->help) {
        return prc;
    }
    if (first < argc) {
        return rp_error_set(err, RP_EUSAGE, "unexpected argument %s", argv[first]);
    }
    if (!o->file == !o->iface) {
        return rp_error_set(err, RP_EUSAGE, "give one of -r FILE or -i IFACE");
    }
    if (!o->out) {
        return rp_error_set(err, RP_EUSAGE, "missing -o OUT.jsonl.gz");
    }
    if (o->duration_ms && !o->iface) {
        return rp_error_set(err, RP_EUSAGE, "--duration is for live capture (-i)");
    }
    rp_code grc = cli_gzip_stdout("-o", o->out, err);
    return grc ? grc : cli_recopts_check(&o->rec, err);
}

/* The running capture, for the signal handler. */
static struct rp_capture *volatile running;

static void on_signal(int sig)
{
    (void)sig;
    struct rp_capture *c = running;
    if (c) {
        rp_capture_stop(c);
    }
}

static int run_capture(const struct capture_opts *o)
{
    struct rp_error err = {0};
    struct rp_capture *cap = NULL;
    struct rp_intake *in = NULL;
    int exitc = RP_EXIT_INPUT;

    struct rp_capture_opts copts = {
        .file = o->file,
        .iface = o->iface,
        .filter = o->filter,
        .max_exchanges = o->count,
        .duration_ms = o->duration_ms,
        .log = cli_log,
    };
    if (rp_capture_open(&copts, &cap, &err)) {
        exitc = cli_fail(&err);
        goto out;
    }
    /* A live recorder is durable as the proxy is: each gzip member synced to disk. A capture
     * can hold millions of exchanges: gzip's fastest level keeps compression from being the
     * bottleneck, for files about a quarter larger than the default level's. */
    struct rp_intake_opts io = {0};
    cli_recopts_fill(&o->rec, &io);
    io.output = o->out;
    io.source_kind = "capture";
    io.source_detail = o->file ? o->file : o->iface;
    io.sync = o->iface != NULL;
    io.gzip_level = 1;
    if (rp_intake_new(&io, &in, &err)) {
        exitc = cli_fail(&err);
        goto out;
    }
    running = cap;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (o->iface) {
        fprintf(stderr, "reprise: capturing on %s; Ctrl-C to stop\n", o->iface);
    }
    rp_code rc = rp_capture_run(cap, in, &err);
    running = NULL;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    struct rp_error cerr = {0};
    rp_code crc = rp_intake_close(in, &cerr);
    if (rc) {
        exitc = cli_fail(&err);
        goto out;
    }
    if (crc) {
        exitc = cli_fail(&cerr);
        goto out;
    }
    struct rp_capture_stats st;
    rp_capture_get_stats(cap, &st);
    struct rp_intake_counts ic;
    rp_intake_counts(in, &ic);
    /* With "-o -" the recording is standard output: the note goes to standard error. */
    FILE *note = cli_is_dash(o->out) ? stderr : stdout;
    fprintf(note,
            "captured %llu exchanges (%llu incomplete, %llu without a response, %llu static "
            "left out) from %llu packets, %llu connections, to %s\n",
            (unsigned long long)st.exchanges, (unsigned long long)st.incomplete,
            (unsigned long long)st.unanswered, (unsigned long long)ic.filtered_static,
            (unsigned long long)st.packets, (unsigned long long)st.flows, o->out);
    fflush(note);
    cli_recopts_warn_tenant(&o->rec);
    exitc = RP_EXIT_OK;
out:
    rp_intake_free(in);
    rp_capture_free(cap);
    return exitc;
}

int cmd_capture(int argc, char **argv)
{
    struct capture_opts o;
    struct rp_error err = {0};
    rp_code rc = parse_capture_args(argc, argv, &o, &err);
    int exitc = cli_parsed("capture", cli_help_capture, rc, &err, o.help);
    if (exitc < 0) {
        exitc = run_capture(&o);
    }
    cli_recopts_cleanup(&o.rec);
    return exitc;
}
