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
    {"color", no_argument, NULL, 'L'},
    {"no-color", no_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

const char cmd_diff_usage[] =
    "usage: reprise diff RESULTS [--shape FILE]\n"
    "\n"
    "Print the failures recorded in RESULTS (written by 'reprise replay --results'), each\n"
    "re-checked against the shape stored with it, or against the shape file FILE when given\n"
    "(an edited NAME.shape.json). Nothing is sent anywhere. Exit 0 when every exchange passes,\n"
    "1 when a check fails, 3 when the run had target errors.\n"
    "\n"
    "Options:\n"
    "  -s, --shape FILE      re-check the live responses against this shape file\n"
    "      --color, --no-color   force colour on or off (default: on a terminal)\n"
    "  -h, --help            show this help\n";

RP_TESTABLE rp_code parse_diff_args(int argc, char **argv, struct diff_opts *o,
                                    struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    o->color = -1;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":s:h", cmd_diff_longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->shape = optarg;
            break;
        case 'L':
            o->color = 1;
            break;
        case 'l':
            o->color = 0;
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
        return rp_error_set(err, RP_EUSAGE, "missing RESULTS");
    }
    if (optind + 1 < argc) {
        return rp_error_set(err, RP_EUSAGE, "one RESULTS file at a time (got %s)",
                            argv[optind + 1]);
    }
    o->results = argv[optind];
    return RP_OK;
}

static int run_diff(const struct diff_opts *o)
{
    struct rp_error err = {0};
    struct rp_reader_opts ropts = {.log = cli_log};
    struct rp_reader *r = NULL;
    struct rp_shapeset *set = NULL;
    struct rp_sink sink = {0};
    struct rp_latency lat;
    struct rp_run_summary sum;
    memset(&sum, 0, sizeof(sum));
    rp_latency_init(&lat);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    int exitc = RP_EXIT_INPUT;

    rp_code rc = rp_reader_open(o->results, &ropts, &r, &err);
    if (rc) {
        exitc = cli_fail(&err);
        goto out;
    }
    const struct rp_rec_meta *m = rp_reader_meta(r);
    if (!m->source_kind || strcmp(m->source_kind, "replay") != 0) {
        rp_error_set(&err, RP_EFORMAT,
                     "%s:1: not a results file (source kind %s; write one with 'reprise replay "
                     "--results')",
                     o->results, m->source_kind ? m->source_kind : "unknown");
        exitc = cli_fail(&err);
        goto out;
    }
    if (o->shape) {
        rc = rp_shapeset_load(o->shape, &set, &err);
        if (rc) {
            exitc = cli_fail(&err);
            goto out;
        }
    }
    bool color = o->color < 0 ? cli_color(stdout) : o->color == 1;
    rp_sink_terminal(&sink, stdout, color);
    const char *const recs[] = {o->results};
    struct rp_run_info info = {
        .run_id = "diff",
        .target = m->source_detail ? m->source_detail : "(unknown)",
        .start_us = rp_now_us(),
        .recordings = recs,
        .n_recordings = 1,
    };
    rc = sink.ops->begin(sink.ctx, &info, &err);
    while (!rc) {
        bool got = false;
        rc = rp_reader_next(r, &ex, &got, &err);
        if (rc || !got) {
            break;
        }
        char *session = NULL, *error = NULL;
        uint64_t seq = 0;
        enum rp_outcome outcome = RP_OUTCOME_PASS;
        struct rp_shape *stored = NULL;
        struct rp_mismatches mm;
        rp_mismatches_init(&mm);
        rc = rp_results_parse_check(ex.extra, &session, &seq, &outcome, &error, &stored, &mm, &err);
        if (rc) {
            rp_error_prefix(&err, "%s:%llu", o->results, (unsigned long long)rp_reader_line(r));
            rp_mismatches_cleanup(&mm);
            break;
        }
        /* Re-check what got a response: against the edited file if given, else as stored. */
        const struct rp_shape *shape = set ? rp_shapeset_get(set, seq) : stored;
        if ((outcome == RP_OUTCOME_PASS || outcome == RP_OUTCOME_FAIL) && ex.has_response &&
            shape) {
            rp_mismatches_cleanup(&mm);
            rp_mismatches_init(&mm);
            outcome = rp_shape_match(shape, &ex.resp, &mm) ? RP_OUTCOME_PASS : RP_OUTCOME_FAIL;
        }
        switch (outcome) {
        case RP_OUTCOME_PASS:
            sum.passed++;
            rp_latency_add(&lat, ex.duration_us);
            break;
        case RP_OUTCOME_FAIL:
            sum.failed++;
            rp_latency_add(&lat, ex.duration_us);
            break;
        case RP_OUTCOME_ERROR:
            sum.errors++;
            break;
        default:
            sum.skipped++;
            break;
        }
        if (outcome == RP_OUTCOME_FAIL || outcome == RP_OUTCOME_ERROR) {
            struct rp_check_result res = {
                .session = session ? session : "?",
                .recorded_seq = seq,
                .live = &ex,
                .outcome = outcome,
                .mismatches = &mm,
                .error = error,
                .shape = shape,
            };
            rc = sink.ops->result(sink.ctx, &res, &err);
        }
        free(session);
        free(error);
        rp_shape_free(stored);
        rp_mismatches_cleanup(&mm);
    }
    if (rc) {
        fflush(stdout);
        exitc = cli_fail(&err);
        goto out;
    }
    sum.p50_us = rp_latency_quantile(&lat, 0.50);
    sum.p95_us = rp_latency_quantile(&lat, 0.95);
    sum.max_us = lat.max_us;
    rc = sink.ops->end(sink.ctx, &sum, &err);
    fflush(stdout);
    if (rc) {
        exitc = cli_fail(&err);
    } else if (sum.errors) {
        exitc = RP_EXIT_TARGET;
    } else {
        exitc = sum.failed ? RP_EXIT_MISMATCH : RP_EXIT_OK;
    }
out:
    rp_sink_free(&sink);
    rp_shapeset_free(set);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    return exitc;
}

int cmd_diff(int argc, char **argv)
{
    struct diff_opts o;
    struct rp_error err = {0};
    if (parse_diff_args(argc, argv, &o, &err)) {
        return cli_usage_error("diff", "%s", err.msg);
    }
    if (o.help) {
        fputs(cmd_diff_usage, stdout);
        return RP_EXIT_OK;
    }
    return run_diff(&o);
}
