/* SPDX-License-Identifier: MIT */
/*
 * reprise merge: joins the results files of a run's shards (replay --shard I/N --results) into
 * one run: one checker reads every file, so the terminal summary, JUnit, notice and merged
 * results file see every verdict once and judge each session over its retries as one process
 * would; the latency percentiles are exact, over every step's latency.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* getopt_long codes (issue 14: shard's from 0x900; replay's use 0x900 to 0x902). */
enum {
    OPT_HTML = 0x800, /* as diff's */
    OPT_NOTIFY = 0x910,
    OPT_REPORT_URL,
    OPT_ANY_RUN,
};

const struct option cmd_merge_longopts[] = {
    {"junit", required_argument, NULL, 'j'},
    {"results", required_argument, NULL, 'o'},
    {"html", required_argument, NULL, OPT_HTML},
    {"notify", required_argument, NULL, OPT_NOTIFY},
    {"report-url", required_argument, NULL, OPT_REPORT_URL},
    {"any-run", no_argument, NULL, OPT_ANY_RUN},
    {"color", no_argument, NULL, 'L'},
    {"no-color", no_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static rp_code merge_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct merge_opts *o = opts;
    (void)err;
    switch (c) {
    case 'j':
        o->junit = arg;
        break;
    case 'o':
        o->results = arg;
        break;
    case OPT_HTML:
        o->html = arg;
        break;
    case OPT_NOTIFY:
        o->notify = arg;
        break;
    case OPT_REPORT_URL:
        o->report_url = arg;
        break;
    case OPT_ANY_RUN:
        o->any_run = true;
        break;
    case 'L':
        o->color = 1;
        break;
    case 'l':
        o->color = 0;
        break;
    }
    return RP_OK;
}

RP_TESTABLE rp_code parse_merge_args(int argc, char **argv, struct merge_opts *o,
                                     struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    o->color = -1;
    int first;
    rp_code rc =
        cli_getopt(argc, argv, "j:o:", cmd_merge_longopts, merge_opt, o, &o->help, &first, err);
    if (rc || o->help) {
        return rc;
    }
    if (first >= argc) {
        return rp_error_set(err, RP_EUSAGE, "missing RESULTS (the shards' results files)");
    }
    if (!o->notify) {
        const char *env = getenv("REPRISE_NOTIFY_URL");
        o->notify = env && *env ? env : NULL;
    }
    if (o->notify && strncmp(o->notify, "http://", 7) != 0 &&
        strncmp(o->notify, "https://", 8) != 0) {
        return rp_error_set(err, RP_EUSAGE, "--notify wants an http:// or https:// URL");
    }
    const char *const flags[] = {"--junit", "--results", "--html"};
    const char *const paths[] = {o->junit, o->results, o->html};
    rc = cli_one_stdout(flags, paths, 3, err);
    if (!rc) {
        rc = cli_gzip_stdout("--results", o->results, err);
    }
    if (rc) {
        return rc;
    }
    o->files = (const char *const *)argv + first;
    o->n_files = (size_t)(argc - first);
    return RP_OK;
}

/* ----- what the files say of their run ----------------------------------------------------- */

/* The headers of every file, checked to be of one run: same run id (unless --any-run), the
 * same shard count, no shard twice. The missing shards are written into missing (a list). */
static rp_code check_runs(const struct merge_opts *o, const struct rp_results_header *h,
                          char *missing, size_t missing_sz, struct rp_error *err)
{
    size_t shard_file = o->n_files; /* the first shard's file */
    for (size_t i = 0; i < o->n_files; i++) {
        if (!o->any_run && strcmp(h[i].run_id, h[0].run_id) != 0) {
            return rp_error_set(err, RP_EUSAGE,
                                "%s is of run %s, %s of run %s: not one run (--any-run merges "
                                "them anyway)",
                                o->files[0], h[0].run_id, o->files[i], h[i].run_id);
        }
        bool same_run = strcmp(h[i].run_id, h[0].run_id) == 0;
        if (same_run && h[i].total_sessions && h[0].total_sessions &&
            h[i].total_sessions != h[0].total_sessions) {
            return rp_error_set(err, RP_EUSAGE,
                                "%s is of a run of %llu sessions, %s of %llu: not one run",
                                o->files[0], (unsigned long long)h[0].total_sessions, o->files[i],
                                (unsigned long long)h[i].total_sessions);
        }
        if (h[i].shard_count < 2) {
            continue;
        }
        if (shard_file == o->n_files) {
            shard_file = i;
        } else if (strcmp(h[i].run_id, h[shard_file].run_id) == 0 &&
                   h[i].shard_count != h[shard_file].shard_count) {
            return rp_error_set(err, RP_EUSAGE, "%s is a shard of %u, %s of %u: not one run",
                                o->files[shard_file], h[shard_file].shard_count, o->files[i],
                                h[i].shard_count);
        }
        for (size_t k = 0; k < i; k++) {
            if (h[k].shard_count >= 2 && h[k].shard_index == h[i].shard_index &&
                strcmp(h[k].run_id, h[i].run_id) == 0) {
                return rp_error_set(err, RP_EUSAGE, "%s and %s are both shard %u/%u of run %s",
                                    o->files[k], o->files[i], h[i].shard_index + 1,
                                    h[i].shard_count, h[i].run_id);
            }
        }
    }
    missing[0] = '\0';
    if (shard_file == o->n_files || o->any_run) {
        return RP_OK;
    }
    unsigned n = h[shard_file].shard_count;
    size_t used = 0;
    for (unsigned s = 0; s < n; s++) {
        bool have = false;
        for (size_t i = 0; i < o->n_files && !have; i++) {
            have = h[i].shard_count == n && h[i].shard_index == s;
        }
        if (!have && used + 16 < missing_sz) {
            int k = snprintf(missing + used, missing_sz - used, "%s%u", used ? ", " : "", s + 1);
            used += k > 0 ? (size_t)k : 0;
        }
    }
    return RP_OK;
}

/* One session seen in one file, for the duplicate check. */
struct seen {
    char *session;
    size_t file;
};

static int cmp_seen(const void *a, const void *b)
{
    const struct seen *x = a, *y = b;
    int c = strcmp(x->session, y->session);
    return c ? c : (x->file > y->file) - (x->file < y->file);
}

/* Adds the sessions of file i (each once) to *v. */
static rp_code read_sessions(const char *path, size_t i, struct seen **v, size_t *n, size_t *cap,
                             struct rp_error *err)
{
    struct rp_reader *r = NULL;
    struct rp_reader_opts ropts = {.log = cli_log};
    rp_code rc = rp_reader_open(path, &ropts, &r, err);
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    size_t from = *n;
    while (!rc) {
        bool got = false;
        rc = rp_reader_next(r, &ex, &got, err);
        if (rc || !got) {
            break;
        }
        struct rp_verdict vd;
        rp_verdict_init(&vd);
        rc = rp_results_read_verdict(&ex, &vd, err);
        bool fresh = !rc && (*n == from || strcmp((*v)[*n - 1].session, vd.session) != 0);
        if (fresh) {
            if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 64;
                *v = rp_xreallocarray(*v, *cap, sizeof(**v));
            }
            (*v)[(*n)++] = (struct seen){.session = rp_xstrdup(vd.session), .file = i};
        }
        if (rc) {
            rp_error_prefix(err, "%s:%llu", path, (unsigned long long)rp_reader_line(r));
        }
        rp_verdict_cleanup(&vd);
    }
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    return rc;
}

/* A session in two files is refused: its verdict would count twice. */
static rp_code check_duplicates(const struct merge_opts *o, struct rp_error *err)
{
    struct seen *v = NULL;
    size_t n = 0, cap = 0;
    rp_code rc = RP_OK;
    for (size_t i = 0; !rc && i < o->n_files; i++) {
        rc = read_sessions(o->files[i], i, &v, &n, &cap, err);
    }
    if (!rc && n > 1) {
        qsort(v, n, sizeof(*v), cmp_seen);
    }
    for (size_t i = 1; !rc && i < n; i++) {
        if (strcmp(v[i].session, v[i - 1].session) == 0 && v[i].file != v[i - 1].file) {
            rc = rp_error_set(err, RP_EUSAGE, "session %s is in %s and in %s: merged once only",
                              v[i].session, o->files[v[i - 1].file], o->files[v[i].file]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(v[i].session);
    }
    free(v);
    return rc;
}

/* The merged run: the shards' run id, the first file's target and recordings, the earliest
 * start, the whole run's sessions. */
static struct rp_run_info merged_info(const struct merge_opts *o, const struct rp_results_header *h)
{
    struct rp_run_info info = {
        .run_id = h[0].run_id[0] ? h[0].run_id : "merged",
        .target = h[0].target,
        .recordings = (const char *const *)h[0].recordings,
        .n_recordings = h[0].n_recordings,
        .total_sessions = h[0].total_sessions,
    };
    for (size_t i = 0; i < o->n_files; i++) {
        if (h[i].start_us && (!info.start_us || h[i].start_us < info.start_us)) {
            info.start_us = h[i].start_us;
        }
        if (strcmp(h[i].run_id, h[0].run_id) != 0) {
            info.run_id = "merged"; /* --any-run: no one id stands for them all */
        }
    }
    return info;
}

/* ----- the run ----------------------------------------------------------------------------- */

/* The sinks, as replay makes them: the terminal as diff prints it (failures, recap, summary). */
static void add_sinks(const struct merge_opts *o, struct rp_checker *c)
{
    struct rp_sink sink;
    FILE *term =
        cli_is_dash(o->junit) || cli_is_dash(o->results) || cli_is_dash(o->html) ? stderr : stdout;
    struct rp_terminal_opts to = {
        .color = o->color < 0 ? cli_color(term) : o->color == 1,
        .quiet = true,
        .width = cli_term_width(term),
    };
    rp_sink_terminal_opts(&sink, term, &to);
    rp_checker_add_sink(c, &sink);
    if (o->junit) {
        rp_sink_junit(&sink, o->junit);
        rp_checker_add_sink(c, &sink);
    }
    if (o->results) {
        rp_sink_results(&sink, o->results);
        rp_checker_add_sink(c, &sink);
    }
    if (o->html) {
        rp_sink_html(&sink, o->html, NULL);
        rp_checker_add_sink(c, &sink);
    }
    if (o->notify) {
        struct rp_notify_opts no = {.url = o->notify, .report_url = o->report_url, .log = cli_log};
        rp_sink_notify(&sink, &no);
        rp_checker_add_sink(c, &sink);
    }
}

/* Reads every header and checks the files are one run; missing gets the missing shards. */
static rp_code read_headers(const struct merge_opts *o, struct rp_results_header *h, char *missing,
                            size_t missing_sz, struct rp_error *err)
{
    rp_code rc = RP_OK;
    for (size_t i = 0; !rc && i < o->n_files; i++) {
        rc = rp_results_header_read(o->files[i], &h[i], err);
    }
    const char *outs[][2] = {{"--junit", o->junit}, {"--results", o->results}, {"--html", o->html}};
    for (size_t i = 0; !rc && i < 3; i++) {
        rc = outs[i][1] ? rp_report_path_check(outs[i][0], outs[i][1], err) : RP_OK;
    }
    if (!rc) {
        rc = check_runs(o, h, missing, missing_sz, err);
    }
    if (!rc) {
        rc = check_duplicates(o, err);
    }
    return rc;
}

static int run_merge(const struct merge_opts *o)
{
    struct rp_error err = {0};
    struct rp_results_header *h = rp_xcalloc(o->n_files, sizeof(*h));
    struct rp_checker *checker = NULL;
    struct rp_baseline *baseline = NULL;
    char missing[512];
    int exitc;
    rp_code rc = read_headers(o, h, missing, sizeof(missing), &err);
    if (rc) {
        exitc = rc == RP_EUSAGE ? cli_usage_error("merge", "%s", err.msg) : cli_fail(&err);
        goto out;
    }
    /* The latency check as diff re-judges it, from the figures each file kept. */
    struct cli_slowopts slow;
    cli_slowopts_init(&slow);
    struct rp_checker_opts co = {.log = cli_log, .exact_latency = true};
    rc = cli_slowopts_fill(&slow, &co, &baseline, &err);
    if (!rc) {
        rc = rp_checker_new(&co, &checker, &err);
    }
    if (rc) {
        exitc = cli_fail(&err);
        goto out;
    }
    add_sinks(o, checker);
    struct rp_run_info info = merged_info(o, h);
    rp_checker_begin(checker, &info);
    rc = rp_checker_start_sinks(checker, &err);
    for (size_t i = 0; !rc && i < o->n_files; i++) {
        rc = rp_results_feed(o->files[i], checker, cli_log, NULL, &err);
    }
    if (!rc && missing[0]) {
        unsigned count = 0;
        for (size_t i = 0; i < o->n_files && !count; i++) {
            count = h[i].shard_count >= 2 ? h[i].shard_count : 0;
        }
        char why[640];
        snprintf(why, sizeof(why), "shard%s %s of %u missing (no results file)",
                 strchr(missing, ',') ? "s" : "", missing, count);
        rp_checker_unfinished(checker, why, 0);
    }
    struct rp_run_summary sum;
    struct rp_error eerr = {0};
    rp_code erc = rp_checker_end(checker, &sum, &eerr);
    fflush(stdout);
    if (rc) {
        exitc = cli_fail(&err);
    } else if (erc) {
        exitc = cli_fail(&eerr);
    } else if (!sum.finished) {
        /* As diff: partial results neither pass nor fail; the reports are written. */
        fprintf(stderr, "reprise: merge: the run did not finish: %s\n", sum.unfinished_why);
        exitc = RP_EXIT_UNFINISHED;
    } else {
        exitc = cli_sessions_exit(&sum, false, NULL);
    }
out:
    rp_checker_free(checker);
    rp_baseline_free(baseline);
    for (size_t i = 0; i < o->n_files; i++) {
        rp_results_header_cleanup(&h[i]);
    }
    free(h);
    return exitc;
}

int cmd_merge(int argc, char **argv)
{
    struct merge_opts o;
    struct rp_error err = {0};
    rp_code rc = parse_merge_args(argc, argv, &o, &err);
    int done = cli_parsed("merge", cli_help_merge, rc, &err, o.help);
    return done >= 0 ? done : run_merge(&o);
}
