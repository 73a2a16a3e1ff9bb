/* SPDX-License-Identifier: MIT */
/* reprise record: the recording proxy (reverse or forward); a browser clicks through, every
 * exchange is kept. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/intake.h>
#include <reprise/proxy.h>

#include "cli.h"

struct record_opts {
    const char *upstream;
    const char *listen;
    const char *output;
    struct cli_recopts rec;
    const char **only_paths; /* pointers into argv; the array is owned (record_opts_cleanup) */
    size_t n_only_paths;
    bool insecure;
    const char *cacert;
    bool forward;
    const char **only_hosts;
    size_t n_only_hosts;
    const char *ca_dir;
    const char **allow; /* pointers into argv; the array is owned */
    size_t n_allow;
    bool allow_local;
    bool help;
};

#ifdef REPRISE_TESTING
rp_code parse_record_args(int argc, char **argv, struct record_opts *o, struct rp_error *err);
void record_opts_cleanup(struct record_opts *o);
#endif

const struct option cmd_record_longopts[] = {
    {"upstream", required_argument, NULL, 'u'},
    {"listen", required_argument, NULL, 'l'},
    {"output", required_argument, NULL, 'o'},
    CLI_RECOPTS_LONGOPTS,
    CLI_RECOPTS_MAX_BODY_LONGOPT,
    {"only-path", required_argument, NULL, 'P'},
    {"insecure", no_argument, NULL, 'k'},
    {"cacert", required_argument, NULL, 'C'},
    {"forward", no_argument, NULL, 'F'},
    {"only", required_argument, NULL, 'H'},
    {"ca-dir", required_argument, NULL, 'A'},
    {"allow", required_argument, NULL, 'a'},
    {"allow-local", no_argument, NULL, 'L'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

RP_TESTABLE void record_opts_cleanup(struct record_opts *o)
{
    cli_recopts_cleanup(&o->rec);
    free(o->only_paths);
    free(o->only_hosts);
    free(o->allow);
    o->only_paths = NULL;
    o->only_hosts = NULL;
    o->allow = NULL;
}

static rp_code record_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct record_opts *o = opts;
    bool shared = false;
    rp_code rc = cli_recopts_parse(c, arg, &o->rec, &shared, err);
    if (rc || shared) {
        return rc;
    }
    switch (c) {
    case 'u':
        o->upstream = arg;
        break;
    case 'l':
        o->listen = arg;
        break;
    case 'o':
        o->output = arg;
        break;
    case 'P':
        o->only_paths[o->n_only_paths++] = arg;
        break;
    case 'k':
        o->insecure = true;
        break;
    case 'C':
        o->cacert = arg;
        break;
    case 'F':
        o->forward = true;
        break;
    case 'H':
        o->only_hosts[o->n_only_hosts++] = arg;
        break;
    case 'A':
        o->ca_dir = arg;
        break;
    case 'a':
        o->allow[o->n_allow++] = arg;
        break;
    case 'L':
        o->allow_local = true;
        break;
    }
    return RP_OK;
}

RP_TESTABLE rp_code parse_record_args(int argc, char **argv, struct record_opts *o,
                                      struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    o->only_paths = rp_xcalloc((size_t)argc + 1, sizeof(*o->only_paths));
    o->only_hosts = rp_xcalloc((size_t)argc + 1, sizeof(*o->only_hosts));
    o->allow = rp_xcalloc((size_t)argc + 1, sizeof(*o->allow));
    int first;
    rp_code prc = cli_getopt(argc, argv, "o:" CLI_RECOPTS_SHORT, cmd_record_longopts, record_opt, o,
                             &o->help, &first, err);
    if (prc || o->help) {
        return prc;
    }
    if (first < argc) {
        return rp_error_set(err, RP_EUSAGE, "unexpected argument %s", argv[first]);
    }
    if (o->forward && o->upstream) {
        return rp_error_set(err, RP_EUSAGE, "--forward and --upstream contradict each other");
    }
    if (!o->forward && !o->upstream) {
        return rp_error_set(err, RP_EUSAGE, "--upstream URL (or --forward) is required");
    }
    if (!o->forward && (o->n_only_hosts || o->ca_dir || o->allow_local)) {
        return rp_error_set(err, RP_EUSAGE, "%s is for --forward mode",
                            o->n_only_hosts ? "--only"
                            : o->ca_dir     ? "--ca-dir"
                                            : "--allow-local");
    }
    if (!o->output) {
        return rp_error_set(err, RP_EUSAGE, "-o FILE is required");
    }
    if (o->insecure && o->cacert) {
        return rp_error_set(err, RP_EUSAGE, "--insecure and --cacert contradict each other");
    }
    rp_code grc = cli_gzip_stdout("-o", o->output, err);
    return grc ? grc : cli_recopts_check(&o->rec, err);
}

/* ----- running ----------------------------------------------------------------------------- */

static struct rp_proxy *g_proxy;
static volatile sig_atomic_t g_signals;

/* The first SIGINT or SIGTERM lets the exchanges in flight finish; a second one stops now. */
static void on_signal(int sig)
{
    (void)sig;
    g_signals++;
    if (g_proxy) {
        rp_proxy_stop(g_proxy, g_signals > 1);
    }
}

/* The upstream as the recording's header names it: without a trailing slash. */
static char *upstream_detail(const char *u)
{
    size_t n = strlen(u);
    return rp_xstrndup(u, n > 0 && u[n - 1] == '/' ? n - 1 : n);
}

static int run_record(const struct record_opts *o)
{
    struct rp_error err = {0};
    struct rp_proxy *p = NULL;
    struct rp_intake *in = NULL;
    char *detail = o->forward ? rp_xstrdup("forward") : upstream_detail(o->upstream);
    int exitc = RP_EXIT_INPUT;
    struct rp_intake_opts io = {0};
    cli_recopts_fill(&o->rec, &io);
    io.output = o->output;
    io.source_kind = "proxy";
    io.source_detail = detail;
    io.only_paths = o->only_paths;
    io.n_only_paths = o->n_only_paths;
    struct rp_proxy_opts po = {
        .upstream = o->upstream,
        .listen = o->listen,
        .insecure = o->insecure,
        .cacert = o->cacert,
        .forward = o->forward,
        .only_hosts = o->only_hosts,
        .n_only_hosts = o->n_only_hosts,
        .ca_dir = o->ca_dir,
        .allow = o->allow,
        .n_allow = o->n_allow,
        .allow_local = o->allow_local,
        .log = cli_log,
    };
    rp_code rc = rp_intake_new(&io, &in, &err);
    if (!rc) {
        rc = rp_proxy_new(&po, in, &p, &err);
    }
    if (rc) {
        exitc = rc == RP_EUSAGE ? cli_usage_error("record", "%s", err.msg) : cli_fail(&err);
        goto out;
    }
    /* Writes to a client that went away must come back as EPIPE, not kill the recorder. */
    signal(SIGPIPE, SIG_IGN);
    g_proxy = p;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    const char *host = o->listen ? o->listen : RP_PROXY_LISTEN;
    const char *colon = strrchr(host, ':');
    /* With "-o -" the recording is standard output: these lines go to standard error. */
    FILE *note = cli_is_dash(o->output) ? stderr : stdout;
    fprintf(note, "listening on http://%.*s:%u\n", (int)(colon ? colon - host : 0), host,
            rp_proxy_port(p));
    if (rp_proxy_ca_path(p)) {
        fprintf(note, "intercepting HTTPS with the CA in %s\n", rp_proxy_ca_path(p));
    }
    fflush(note);
    cli_recopts_warn_tenant(&o->rec);

    rc = rp_proxy_run(p, &err);
    struct rp_proxy_stats st;
    rp_proxy_stats(p, &st);
    g_proxy = NULL;
    rp_proxy_free(p);
    p = NULL;
    struct rp_error cerr = {0};
    rp_code crc = rp_intake_close(in, &cerr);
    if (rc && !crc) {
        exitc = cli_fail(&err);
        goto out;
    }
    struct rp_intake_counts ic;
    rp_intake_counts(in, &ic);
    char sum[768];
    char hosts[64] = "";
    if (o->forward) {
        snprintf(hosts, sizeof(hosts), ", %llu outside --only",
                 (unsigned long long)st.skipped_host);
    }
    /* Every exchange relayed is recorded or counted here, each kind of error with its reason. */
    uint64_t nerr = ic.errors + st.unanswered + st.unreadable + st.dropped;
    char why[256] = "";
    if (nerr) {
        snprintf(why, sizeof(why),
                 ": %llu unreadable, %llu unanswered, %llu lost to a failed write, %llu not "
                 "scrubbable, %llu lost to a full recording queue",
                 (unsigned long long)st.unreadable, (unsigned long long)st.unanswered,
                 (unsigned long long)ic.lost, (unsigned long long)(ic.errors - ic.lost),
                 (unsigned long long)st.dropped);
    }
    snprintf(sum, sizeof(sum),
             "recorded %llu exchange%s to %s (%llu skipped as static, %llu outside --only-path%s, "
             "%llu errors%s)",
             (unsigned long long)ic.recorded, ic.recorded == 1 ? "" : "s", o->output,
             (unsigned long long)ic.filtered_static, (unsigned long long)ic.filtered_path, hosts,
             (unsigned long long)nerr, why);
    cli_log(NULL, RP_LOG_INFO, sum);
    if (st.busy || st.refused) {
        snprintf(sum, sizeof(sum),
                 "turned away %llu connection%s over the file limit (503) and refused %llu "
                 "(outside --allow, or to a local address without --allow-local)",
                 (unsigned long long)st.busy, st.busy == 1 ? "" : "s",
                 (unsigned long long)st.refused);
        cli_log(NULL, RP_LOG_WARN, sum);
    }
    if (crc) {
        /* The recording could not be written whole: what was written before stays readable. */
        (void)cli_fail(&cerr);
        exitc = RP_EXIT_TARGET;
        goto out;
    }
    exitc = RP_EXIT_OK;
out:
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    rp_proxy_free(p);
    rp_intake_free(in);
    free(detail);
    return exitc;
}

int cmd_record(int argc, char **argv)
{
    struct record_opts o;
    struct rp_error err = {0};
    rp_code rc = parse_record_args(argc, argv, &o, &err);
    int exitc = cli_parsed("record", cli_help_record, rc, &err, o.help);
    if (exitc < 0) {
        exitc = run_record(&o);
    }
    record_opts_cleanup(&o);
    return exitc;
}
