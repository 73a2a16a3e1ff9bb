/* SPDX-License-Identifier: MIT */
/* reprise capture: HTTP exchanges from packets, read from a pcap/pcapng file or captured live
 * on an interface, written as a recording with secrets scrubbed. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/capture.h>
#include <reprise/scrub.h>

#include "cli.h"

enum {
    OPT_FILTER = 256,
    OPT_COUNT,
    OPT_DURATION,
    OPT_NO_REDACT,
    OPT_REDACT_HEADER,
    OPT_REDACT_FIELD,
};

const struct option cmd_capture_longopts[] = {
    {"read", required_argument, NULL, 'r'},
    {"interface", required_argument, NULL, 'i'},
    {"output", required_argument, NULL, 'o'},
    {"filter", required_argument, NULL, OPT_FILTER},
    {"count", required_argument, NULL, OPT_COUNT},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"name", required_argument, NULL, 'n'},
    {"tenant", required_argument, NULL, 'T'},
    {"no-redact", no_argument, NULL, OPT_NO_REDACT},
    {"redact-header", required_argument, NULL, OPT_REDACT_HEADER},
    {"redact-field", required_argument, NULL, OPT_REDACT_FIELD},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

const char cmd_capture_usage[] =
    "usage: reprise capture (-r FILE | -i IFACE) -o OUT.jsonl.gz [--filter BPF] [--count N]\n"
    "                       [--duration TIME] [--name NAME] [--tenant NAME]...\n"
    "\n"
    "Record the HTTP/1.x exchanges in packets: from a pcap or pcapng file (-r), or live from\n"
    "an interface (-i; needs root or CAP_NET_RAW; Ctrl-C stops and closes the file). TCP is\n"
    "reassembled, bodies are decoded, and exchanges lost in part are kept marked incomplete.\n"
    "Secrets are scrubbed as 'reprise import' does. See docs/capture.md.\n"
    "\n"
    "Options:\n"
    "  -r, --read FILE          read a pcap or pcapng file\n"
    "  -i, --interface IFACE    capture live on IFACE ('any' for every interface)\n"
    "  -o, --output FILE        write the recording to FILE (required)\n"
    "      --filter BPF         capture only packets matching the BPF filter\n"
    "      --count N            stop after N exchanges\n"
    "      --duration TIME      live: stop after TIME (30s, 5m)\n"
    "  -n, --name NAME          the recording's name (default: FILE without .jsonl.gz)\n"
    "  -T, --tenant NAME        a tenant identifier the replayer rewrites (repeatable)\n"
    "      --no-redact          record secrets as they are\n"
    "      --redact-header NAME also scrub this request header (repeatable)\n"
    "      --redact-field NAME  also scrub fields whose name contains NAME (repeatable)\n"
    "  -h, --help               show this help\n";

struct capture_opts {
    const char *file;
    const char *iface;
    const char *out;
    const char *filter;
    uint64_t count;
    uint64_t duration_ms;
    const char *name;
    const char **tenants; /* borrowed from argv; the array is owned */
    size_t n_tenants;
    const char **headers;
    size_t n_headers;
    const char **fields;
    size_t n_fields;
    bool no_redact;
    bool help;
};

#ifdef REPRISE_TESTING
rp_code parse_capture_args(int argc, char **argv, struct capture_opts *o, struct rp_error *err);
void capture_opts_cleanup(struct capture_opts *o);
#endif

RP_TESTABLE void capture_opts_cleanup(struct capture_opts *o)
{
    free(o->tenants);
    free(o->headers);
    free(o->fields);
    memset(o, 0, sizeof(*o));
}

RP_TESTABLE rp_code parse_capture_args(int argc, char **argv, struct capture_opts *o,
                                       struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":r:i:o:n:T:h", cmd_capture_longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            o->file = optarg;
            break;
        case 'i':
            o->iface = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case OPT_FILTER:
            o->filter = optarg;
            break;
        case OPT_COUNT:
            if (!cli_parse_count(optarg, UINT64_MAX, &o->count) || o->count == 0) {
                return rp_error_set(err, RP_EUSAGE, "--count needs a positive number, not '%s'",
                                    optarg);
            }
            break;
        case OPT_DURATION:
            if (!cli_parse_duration_ms(optarg, &o->duration_ms) || o->duration_ms == 0) {
                return rp_error_set(err, RP_EUSAGE, "--duration needs a time like 30s, not '%s'",
                                    optarg);
            }
            break;
        case 'n':
            if (!optarg[0]) {
                return rp_error_set(err, RP_EUSAGE, "--name needs a non-empty NAME");
            }
            o->name = optarg;
            break;
        case 'T':
            if (!optarg[0]) {
                return rp_error_set(err, RP_EUSAGE, "--tenant needs a non-empty NAME");
            }
            if (o->n_tenants >= RP_MAX_TENANTS) {
                return rp_error_set(err, RP_EUSAGE, "more than %u tenants", RP_MAX_TENANTS);
            }
            cli_push_arg(&o->tenants, &o->n_tenants, optarg);
            break;
        case OPT_NO_REDACT:
            o->no_redact = true;
            break;
        case OPT_REDACT_HEADER:
            cli_push_arg(&o->headers, &o->n_headers, optarg);
            break;
        case OPT_REDACT_FIELD:
            cli_push_arg(&o->fields, &o->n_fields, optarg);
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
    if (optind < argc) {
        return rp_error_set(err, RP_EUSAGE, "unexpected argument %s", argv[optind]);
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
    if (o->no_redact && (o->n_headers || o->n_fields)) {
        return rp_error_set(err, RP_EUSAGE,
                            "--no-redact cannot go with --redact-header or "
                            "--redact-field");
    }
    return RP_OK;
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

static rp_code scrub_one(void *ud, struct rp_exchange *ex, struct rp_error *err)
{
    return rp_scrub_exchange(ud, ex, err);
}

/* The recording's name: --name, else the output's file name without .jsonl.gz. */
static char *name_for(const struct capture_opts *o)
{
    if (o->name) {
        return rp_xstrdup(o->name);
    }
    const char *base = strrchr(o->out, '/');
    base = base ? base + 1 : o->out;
    size_t n = strlen(base);
    if (n > 9 && strcmp(base + n - 9, ".jsonl.gz") == 0) {
        n -= 9;
    }
    return rp_xstrndup(base, n);
}

static int run_capture(const struct capture_opts *o)
{
    struct rp_error err = {0};
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    struct rp_scrub *scrub = NULL;
    struct rp_capture *cap = NULL;
    struct rp_writer *w = NULL;
    int exitc = RP_EXIT_INPUT;

    meta.name = name_for(o);
    meta.source_kind = rp_xstrdup("capture");
    meta.source_detail = rp_xstrdup(o->file ? o->file : o->iface);
    char created[32];
    rp_time_format(rp_now_us(), created);
    meta.created = rp_xstrdup(created);
    for (size_t i = 0; i < o->n_tenants; i++) {
        if (rp_rec_meta_add_tenant(&meta, o->tenants[i], &err)) {
            exitc = cli_fail(&err);
            goto out;
        }
    }
    scrub = cli_scrub_new(o->no_redact, o->headers, o->n_headers, o->fields, o->n_fields);
    struct rp_capture_opts copts = {
        .file = o->file,
        .iface = o->iface,
        .filter = o->filter,
        .max_exchanges = o->count,
        .duration_ms = o->duration_ms,
        .log = cli_log,
        .edit = scrub ? scrub_one : NULL,
        .edit_ud = scrub,
    };
    if (rp_capture_open(&copts, &cap, &err)) {
        exitc = cli_fail(&err);
        goto out;
    }
    /* A live recorder is durable as the proxy is: each gzip member synced to disk. */
    /* A capture can hold millions of exchanges: gzip's fastest level keeps compression from
     * being the bottleneck, for files about a quarter larger than the default level's. */
    struct rp_writer_opts wopts = {.sync = o->iface != NULL, .level = 1, .log = cli_log};
    if (rp_writer_open(o->out, &meta, &wopts, &w, &err)) {
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
    rp_code rc = rp_capture_run(cap, w, &err);
    running = NULL;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    struct rp_error cerr = {0};
    rp_code crc = rp_writer_close(w, &cerr);
    w = NULL;
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
    printf("captured %llu exchanges (%llu incomplete, %llu without a response) from %llu "
           "packets, %llu connections, to %s\n",
           (unsigned long long)st.exchanges, (unsigned long long)st.incomplete,
           (unsigned long long)st.unanswered, (unsigned long long)st.packets,
           (unsigned long long)st.flows, o->out);
    exitc = RP_EXIT_OK;
out:
    rp_writer_close(w, NULL);
    rp_capture_free(cap);
    rp_scrub_free(scrub);
    rp_rec_meta_cleanup(&meta);
    return exitc;
}

int cmd_capture(int argc, char **argv)
{
    struct capture_opts o;
    struct rp_error err = {0};
    if (parse_capture_args(argc, argv, &o, &err)) {
        capture_opts_cleanup(&o);
        return cli_usage_error("capture", "%s", err.msg);
    }
    if (o.help) {
        fputs(cmd_capture_usage, stdout);
        capture_opts_cleanup(&o);
        return RP_EXIT_OK;
    }
    int exitc = run_capture(&o);
    capture_opts_cleanup(&o);
    return exitc;
}
