/* SPDX-License-Identifier: MIT */
/*
 * reprise diff: re-prints the failures of a replay from its results file alone, with no
 * network, re-checked against an edited shape file when one is given.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* getopt_long codes of the triage options, which have no short form. */
enum {
    OPT_STEP = 0x600,
    OPT_SESSION,
    OPT_CURL,
    OPT_JUNIT,
};
enum { OPT_HTML = 0x800 }; /* --html FILE: the HTML report */

const struct option cmd_diff_longopts[] = {
    {"shape", required_argument, NULL, 's'},
    {"fail-on-flaky", no_argument, NULL, 'F'}, /* --retries: a flaky session exits 1 */
    {"step", required_argument, NULL, OPT_STEP},
    {"session", required_argument, NULL, OPT_SESSION},
    {"curl", no_argument, NULL, OPT_CURL},
    {"junit", required_argument, NULL, OPT_JUNIT},
    {"html", required_argument, NULL, OPT_HTML},
    {"color", no_argument, NULL, 'L'},
    {"no-color", no_argument, NULL, 'l'},
    CLI_SLOWOPTS_LONGOPTS,
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static rp_code diff_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct diff_opts *o = opts;
    bool slow_opt = false;
    rp_code src = cli_slowopts_parse(c, arg, &o->slow, &slow_opt, err);
    if (src || slow_opt) {
        return src;
    }
    switch (c) {
    case OPT_STEP:
        o->has_step = true;
        return cli_parse_step(arg, &o->step, err);
    case OPT_SESSION:
        o->session = arg;
        break;
    case OPT_CURL:
        o->curl = true;
        break;
    case OPT_JUNIT:
        o->junit = arg;
        break;
    case OPT_HTML:
        o->html = arg;
        break;
    case 's':
        o->shape = arg;
        break;
    case 'L':
        o->color = 1;
        break;
    case 'l':
        o->color = 0;
        break;
    case 'F':
        o->fail_on_flaky = true;
        break;
    }
    return RP_OK;
}

RP_TESTABLE rp_code parse_diff_args(int argc, char **argv, struct diff_opts *o,
                                    struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    o->color = -1;
    cli_slowopts_init(&o->slow);
    int first;
    rp_code prc =
        cli_getopt(argc, argv, "s:", cmd_diff_longopts, diff_opt, o, &o->help, &first, err);
    if (prc || o->help) {
        return prc;
    }
    if ((o->curl || o->session) && !o->has_step) {
        return rp_error_set(err, RP_EUSAGE, "%s needs --step N", o->curl ? "--curl" : "--session");
    }
    return cli_one_operand(argc, argv, first, "RESULTS", &o->results, err);
}

static bool failed_outcome(enum rp_outcome o)
{
    return o == RP_OUTCOME_FAIL || o == RP_OUTCOME_UNSAFE;
}

/* ----- --step N: one step's triage ---------------------------------------------------------- */

/* How much of each body --step shows. */
#define STEP_BODY_MAX (8u * 1024u)

/* Prints one side of the step under a title; false when it could not be formatted. */
static bool print_side(const char *title, const struct rp_exchange *ex, struct rp_scrub *scrub)
{
    struct rp_buf b;
    rp_buf_init(&b, 4 * STEP_BODY_MAX + 2 * RP_MAX_HEADER_REWRITTEN);
    struct rp_error err = {0};
    rp_code rc = rp_step_format(&b, ex, RP_STEP_ALL, STEP_BODY_MAX, scrub, &err);
    printf("--- %s\n%.*s\n", title, (int)b.len, b.data ? b.data : "");
    rp_buf_cleanup(&b);
    if (rc) {
        cli_fail(&err);
    }
    return rc == RP_OK;
}

/* The step's curl command: the live request, with the session's cookies when it has none (the
 * jar sent them; the results file holds them as placeholders). */
static int print_curl(const struct rp_results_step *st)
{
    struct rp_request rq;
    memset(&rq, 0, sizeof(rq));
    struct rp_error err = {0};
    rp_code rc = rp_request_copy(&rq, &st->live.req, &err);
    char *cookies = rp_results_step_cookies(st);
    if (!rc && cookies && !rp_headers_get(&rq.headers, "Cookie", NULL)) {
        rc = rp_headers_add(&rq.headers, "Cookie", 6, cookies, strlen(cookies), &err);
    }
    struct rp_buf b;
    rp_buf_init(&b, 4 * (size_t)RP_MAX_BODY_REWRITTEN);
    if (!rc) {
        rc = rp_step_curl(&b, &rq, &err);
    }
    if (!rc) {
        printf("# step %llu of %s: %s\n%.*s", (unsigned long long)st->v.recorded_seq, st->v.session,
               st->v.step ? st->v.step : "", (int)b.len, b.data);
    }
    rp_buf_cleanup(&b);
    free(cookies);
    rp_request_cleanup(&rq);
    return rc ? cli_fail(&err) : RP_EXIT_OK;
}

static int run_step(const struct diff_opts *o)
{
    struct rp_error err = {0};
    struct rp_results_step st;
    rp_results_step_init(&st);
    rp_code rc = rp_results_step(o->results, o->step, o->session, &st, &err);
    if (rc) {
        rp_results_step_cleanup(&st);
        return rc == RP_EUSAGE ? cli_usage_error("diff", "%s", err.msg) : cli_fail(&err);
    }
    if (o->curl) {
        int exitc = print_curl(&st);
        rp_results_step_cleanup(&st);
        return exitc;
    }
    const char *outcome = rp_outcome_name(st.v.outcome);
    printf("step %llu of %s: %s (%s)\n\n", (unsigned long long)st.v.recorded_seq, st.v.session,
           st.v.step ? st.v.step : "-", outcome ? outcome : "?");
    struct rp_scrub *scrub = rp_scrub_new();
    char title[RP_MAX_URL_BYTES + 64];
    bool ok = true;
    if (st.has_recorded) {
        snprintf(title, sizeof(title), "recorded (%s, exchange %llu)", st.recording,
                 (unsigned long long)st.v.recorded_seq);
        ok = print_side(title, &st.recorded, scrub);
    } else {
        printf("--- recorded: not shown (the recording named in %s cannot be read here)\n\n",
               o->results);
    }
    ok = print_side("live", &st.live, scrub) && ok;
    printf("--- %s\n", st.v.mismatches.n || st.v.error ? "what failed" : "no mismatch");
    for (size_t i = 0; i < st.v.mismatches.n; i++) {
        printf("  %s: %s\n", st.v.mismatches.v[i].path, st.v.mismatches.v[i].message);
    }
    if (st.v.error) {
        printf("  %s\n", st.v.error);
    }
    fflush(stdout);
    rp_scrub_free(scrub);
    int exitc = !ok                                ? RP_EXIT_INPUT
                : st.v.outcome == RP_OUTCOME_ERROR ? RP_EXIT_TARGET
                : failed_outcome(st.v.outcome)     ? RP_EXIT_MISMATCH
                                                   : RP_EXIT_OK;
    rp_results_step_cleanup(&st);
    return exitc;
}

static int run_diff(const struct diff_opts *o)
{
    if (o->has_step) {
        return run_step(o);
    }
    struct rp_error err = {0};
    struct rp_checker *checker = NULL;
    struct rp_baseline *baseline = NULL;
    struct rp_checker_opts co = {.shape_file = o->shape, .failures_only = true, .log = cli_log};
    rp_code rc = cli_slowopts_fill(&o->slow, &co, &baseline, &err);
    if (!rc) {
        rc = rp_checker_new(&co, &checker, &err);
    }
    if (rc) {
        rp_baseline_free(baseline);
        return cli_fail(&err);
    }
    struct rp_sink sink;
    FILE *term = cli_is_dash(o->html) ? stderr : stdout; /* "--html -": the report on stdout */
    struct rp_terminal_opts to = {
        .color = o->color < 0 ? cli_color(term) : o->color == 1,
        .quiet = cli_verbosity < 0,
        .width = cli_term_width(term),
    };
    rp_sink_terminal_opts(&sink, term, &to);
    rp_checker_add_sink(checker, &sink);
    if (o->junit) {
        rc = rp_report_path_check("--junit", o->junit, &err);
        if (rc) {
            rp_checker_free(checker);
            return cli_fail(&err);
        }
        /* The failures re-checked, under the names the run gave its steps. */
        rp_sink_junit(&sink, o->junit);
        rp_checker_add_sink(checker, &sink);
    }
    if (o->html) {
        rc = rp_report_path_check("--html", o->html, &err);
        if (rc) {
            rp_checker_free(checker);
            rp_baseline_free(baseline);
            return cli_fail(&err);
        }
        /* Every step, not only the failures: the report's waterfall shows them all. */
        rp_sink_html(&sink, o->html, NULL);
        rp_checker_add_sink(checker, &sink);
    }
    int exitc;
    struct rp_run_summary sum;
    rc = rp_results_check(o->results, checker, cli_log, NULL, &err);
    if (!rc) {
        rc = rp_checker_end(checker, &sum, &err);
    }
    fflush(stdout);
    if (rc) {
        exitc = cli_fail(&err);
    } else if (!sum.finished) {
        /* Partial results prove nothing either way: the summary says why, and so does stderr. */
        fprintf(stderr, "reprise: %s: the run did not finish: %s\n", o->results,
                sum.unfinished_why);
        exitc = RP_EXIT_UNFINISHED;
    } else {
        exitc = cli_sessions_exit(&sum, o->fail_on_flaky, NULL); /* as the replay judged them */
        if (o->slow.fail && sum.slow_p95) {                      /* the run's p95 over its budget */
            exitc = RP_EXIT_MISMATCH;
        }
    }
    rp_checker_free(checker);
    rp_baseline_free(baseline);
    return exitc;
}

int cmd_diff(int argc, char **argv)
{
    struct diff_opts o;
    struct rp_error err = {0};
    rp_code rc = parse_diff_args(argc, argv, &o, &err);
    int done = cli_parsed("diff", cli_help_diff, rc, &err, o.help);
    return done >= 0 ? done : run_diff(&o);
}
