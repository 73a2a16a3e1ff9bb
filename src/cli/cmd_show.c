/* SPDX-License-Identifier: MIT */
/* reprise show: a recording as a readable table, or its decompressed JSON lines. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const struct option cmd_show_longopts[] = {
    {"json", no_argument, NULL, 'j'},
    {"correlations", no_argument, NULL, 'c'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

const char cmd_show_usage[] =
    "usage: reprise show FILE [--json | --correlations]\n"
    "\n"
    "Print the recording FILE (NAME.jsonl.gz, or - for standard input): its header, then one\n"
    "row per exchange (seq, method, URL, status, response body size, duration) and a summary.\n"
    "\n"
    "Options:\n"
    "  -j, --json           print the decompressed JSON lines instead (header first), each\n"
    "                       checked\n"
    "  -c, --correlations   list the values replay carries from a response into a later\n"
    "                       request: from where, to where, and the recorded value\n"
    "  -h, --help           show this help\n";

static rp_code show_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct show_opts *o = opts;
    (void)arg;
    (void)err;
    if (c == 'j') {
        o->json = true;
    } else if (c == 'c') {
        o->correlations = true;
    }
    return RP_OK;
}

RP_TESTABLE rp_code parse_show_args(int argc, char **argv, struct show_opts *opts,
                                    struct rp_error *err)
{
    memset(opts, 0, sizeof(*opts));
    int first;
    rp_code rc =
        cli_getopt(argc, argv, "jc", cmd_show_longopts, show_opt, opts, &opts->help, &first, err);
    if (rc || opts->help) {
        return rc;
    }
    return cli_one_operand(argc, argv, first, "FILE", &opts->file, err);
}

static void print_header(const struct rp_rec_meta *m, bool color)
{
    const char *b = color ? "\033[1m" : "";
    const char *r = color ? "\033[0m" : "";
    printf("%s%s%s", b, m->name && m->name[0] ? m->name : "(unnamed)", r);
    printf("  source: %s", m->source_kind ? m->source_kind : "unknown");
    if (m->source_detail) {
        printf(" %s", m->source_detail);
    }
    if (m->created) {
        printf("  created: %s", m->created);
    }
    if (m->n_tenants) {
        printf("  tenants:");
        for (size_t i = 0; i < m->n_tenants; i++) {
            printf("%s%s", i ? "," : " ", m->tenants[i]);
        }
    }
    printf("\n");
}

static int run_correlations(const struct show_opts *opts)
{
    struct rp_error err = {0};
    struct rp_correlator *c = rp_correlator_new();
    int exitc = RP_EXIT_OK;
    rp_code rc = rp_replay_learn(opts->file, c, cli_log, NULL, &err);
    if (rc) {
        exitc = cli_fail(&err);
        goto out;
    }
    size_t n = rp_correlator_count(c);
    printf("%4s %4s  %-34s %-30s %s\n", "FROM", "TO", "FROM WHERE", "TO WHERE", "VALUE");
    for (size_t i = 0; i < n; i++) {
        const struct rp_correlation *k = rp_correlator_get(c, i);
        char from[128], to[128];
        rp_location_format(&k->from, from, sizeof(from));
        rp_location_format(&k->to, to, sizeof(to));
        /* Long values (tokens) are cut: the listing is for people, not a copy of the file. */
        size_t vlen = strlen(k->value);
        printf("%4llu %4llu  %-34s %-30s %.*s%s%s\n", (unsigned long long)k->from_seq,
               (unsigned long long)k->to_seq, from, to, vlen > 24 ? 24 : (int)vlen, k->value,
               vlen > 24 ? "..." : "",
               k->bound    ? "  (bound)"
               : k->strong ? "  (id)"
                           : "");
    }
    printf("%zu correlations\n", n);
out:
    rp_correlator_free(c);
    return exitc;
}

static int run_show(const struct show_opts *opts)
{
    struct rp_error err = {0};
    struct rp_reader *r = NULL;
    struct rp_reader_opts ropts = {.log = cli_log};
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    int exitc = RP_EXIT_OK;
    bool color = cli_color(stdout);

    rp_code rc = rp_reader_open(opts->file, &ropts, &r, &err);
    if (rc) {
        exitc = cli_fail(&err);
        goto out;
    }
    if (opts->json) {
        size_t n;
        const char *t = rp_reader_meta_text(r, &n);
        fwrite(t, 1, n, stdout);
        fputc('\n', stdout);
    } else {
        print_header(rp_reader_meta(r), color);
        printf("%5s  %-7s %-60s %6s %10s %9s\n", "SEQ", "METHOD", "URL", "STATUS", "BODY", "MS");
    }

    uint64_t count = 0, answered = 0, bytes = 0, total_us = 0, failed = 0;
    for (;;) {
        bool got = false;
        rc = rp_reader_next(r, &ex, &got, &err);
        if (rc) {
            /* What was printed stays printed; the error says where reading stopped. */
            fflush(stdout);
            exitc = cli_fail(&err);
            goto out;
        }
        if (!got) {
            break;
        }
        count++;
        if (opts->json) {
            size_t n;
            const char *t = rp_reader_line_text(r, &n);
            fwrite(t, 1, n, stdout);
            fputc('\n', stdout);
            continue;
        }
        char size[24] = "-";
        char status[8] = "-";
        if (ex.has_response) {
            answered++;
            bytes += ex.resp.body.truncated ? ex.resp.body.orig_len : ex.resp.body.len;
            cli_format_bytes(ex.resp.body.truncated ? ex.resp.body.orig_len : ex.resp.body.len,
                             size, sizeof(size));
            snprintf(status, sizeof(status), "%u", ex.resp.status);
            if (ex.resp.status >= 400) {
                failed++;
            }
        }
        total_us += ex.duration_us;
        const char *sc = "";
        if (color && ex.has_response) {
            sc = ex.resp.status >= 400   ? "\033[31m"
                 : ex.resp.status >= 300 ? "\033[33m"
                                         : "\033[32m";
        }
        printf("%5llu  %-7s %-60s %s%6s%s %10s %9.1f%s\n", (unsigned long long)ex.seq,
               ex.req.method, ex.req.url, sc, status, color ? "\033[0m" : "", size,
               (double)ex.duration_us / 1000.0,
               ex.incomplete ? "  incomplete" : (ex.resp.body.truncated ? "  truncated" : ""));
    }
    if (!opts->json) {
        char total[24];
        cli_format_bytes(bytes, total, sizeof(total));
        printf("%llu exchanges, %llu with a response (%llu status >= 400), %s of response "
               "bodies, %.1f ms in all%s\n",
               (unsigned long long)count, (unsigned long long)answered, (unsigned long long)failed,
               total, (double)total_us / 1000.0, rp_reader_truncated(r) ? " (file truncated)" : "");
    }
out:
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    return exitc;
}

int cmd_show(int argc, char **argv)
{
    struct show_opts opts;
    struct rp_error err = {0};
    rp_code rc = parse_show_args(argc, argv, &opts, &err);
    int done = cli_parsed("show", cmd_show_usage, rc, &err, opts.help);
    if (done >= 0) {
        return done;
    }
    if (opts.json && opts.correlations) {
        return cli_usage_error("show", "--json and --correlations do not go together");
    }
    return opts.correlations ? run_correlations(&opts) : run_show(&opts);
}
