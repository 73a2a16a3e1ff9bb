/* SPDX-License-Identifier: MIT */
/*
 * reprise probe: the cross-tenant isolation probe. Runs each recording as two fresh tenants A
 * and B, then reads A's objects with B's credentials (rp_replay_probe) and reports every read
 * that was not denied, or whose answer held A's values, as a leak: on the terminal and in a
 * JUnit file, one testcase per probed request. Exit 1 on any leak.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_RUN_HEADER "X-Reprise-Run"

const struct option cmd_probe_longopts[] = {
    {"target", required_argument, NULL, 't'},
    {"tenant", required_argument, NULL, 'T'},
    {"timeout", required_argument, NULL, 'w'},
    {"insecure", no_argument, NULL, 'k'},
    {"cacert", required_argument, NULL, 'C'},
    {"map-host", required_argument, NULL, 'm'},
    {"bind", required_argument, NULL, 'b'},
    {"const", required_argument, NULL, 'K'},
    {"run-header", required_argument, NULL, 'H'},
    {"no-run-header", no_argument, NULL, 'N'},
    {"junit", required_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct probe_opts {
    const char *const *recordings;
    size_t n_recordings;
    const char *target;
    const char **tenants; /* FROM=TO, ... as given (borrowed from argv; the array owned) */
    size_t n_tenants;
    const char **hosts;
    size_t n_hosts;
    const char **binds;
    size_t n_binds;
    const char **consts;
    size_t n_consts;
    uint64_t timeout_ms;
    bool insecure;
    const char *cacert;
    const char *run_header;
    const char *junit;
    bool help;
};

static void probe_opts_cleanup(struct probe_opts *o)
{
    free(o->tenants);
    free(o->hosts);
    free(o->binds);
    free(o->consts);
    memset(o, 0, sizeof(*o));
}

/* A FROM=TO argument: '=' after a non-empty FROM. */
static bool is_pair(const char *arg)
{
    const char *eq = strchr(arg, '=');
    return eq && eq != arg;
}

static rp_code probe_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct probe_opts *o = opts;
    switch (c) {
    case 't':
        o->target = arg;
        break;
    case 'T':
        if (!is_pair(arg)) {
            return rp_error_set(err, RP_EUSAGE, "--tenant wants FROM=TO, got '%s'", arg);
        }
        cli_push_arg(&o->tenants, &o->n_tenants, arg);
        break;
    case 'm':
        if (!is_pair(arg)) {
            return rp_error_set(err, RP_EUSAGE, "--map-host wants HOST=URL, got '%s'", arg);
        }
        cli_push_arg(&o->hosts, &o->n_hosts, arg);
        break;
    case 'b':
        if (!is_pair(arg)) {
            return rp_error_set(err, RP_EUSAGE, "--bind wants NAME=PLACE, got '%s'", arg);
        }
        cli_push_arg(&o->binds, &o->n_binds, arg);
        break;
    case 'K':
        if (!arg[0]) {
            return rp_error_set(err, RP_EUSAGE, "--const wants a non-empty VALUE");
        }
        cli_push_arg(&o->consts, &o->n_consts, arg);
        break;
    case 'w':
        if (!cli_parse_duration_ms(arg, &o->timeout_ms) || o->timeout_ms == 0) {
            return rp_error_set(err, RP_EUSAGE, "--timeout wants a duration (30s, 500ms), got '%s'",
                                arg);
        }
        break;
    case 'k':
        o->insecure = true;
        break;
    case 'C':
        o->cacert = arg;
        break;
    case 'H':
        if (!arg[0] || strpbrk(arg, ": \t\r\n")) {
            return rp_error_set(err, RP_EUSAGE, "--run-header wants a header name, got '%s'", arg);
        }
        o->run_header = arg;
        break;
    case 'N':
        o->run_header = NULL;
        break;
    case 'j':
        o->junit = arg;
        break;
    }
    return RP_OK;
}

static rp_code parse_probe_args(int argc, char **argv, struct probe_opts *o, struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    o->timeout_ms = 30000;
    o->run_header = DEFAULT_RUN_HEADER;
    int first;
    rp_code prc = cli_getopt(argc, argv, "t:T:w:kC:m:b:H:Nj:", cmd_probe_longopts, probe_opt, o,
                             &o->help, &first, err);
    if (prc || o->help) {
        return prc;
    }
    if (first >= argc) {
        return rp_error_set(err, RP_EUSAGE, "missing RECORDING");
    }
    if (!o->target) {
        return rp_error_set(err, RP_EUSAGE, "missing --target URL");
    }
    o->recordings = (const char *const *)argv + first;
    o->n_recordings = (size_t)(argc - first);
    return RP_OK;
}

/* ----- the run -------------------------------------------------------------------------- */

struct probe_run {
    const char *target;
    FILE *out; /* the lines and summary: stdout, or stderr when the JUnit report is there */
    struct rp_sink junit; /* ops NULL: no --junit */
    rp_code sink_rc;
    struct rp_error sink_err;
    uint64_t probed, denied, errors, skipped;
};

/* A's and B's own steps are not checked here (replay does that): only what kept them from
 * finishing is said, since a session that stopped early leaves less to probe. */
static void on_step(void *ud, const struct rp_replay_event *ev)
{
    (void)ud;
    if (ev->status == RP_REPLAY_ERROR || ev->status == RP_REPLAY_UNSAFE) {
        char msg[RP_ERROR_MSG_MAX * 2];
        snprintf(msg, sizeof(msg), "%s: exchange %llu: %s", ev->session,
                 (unsigned long long)(ev->recorded ? ev->recorded->seq : 0),
                 ev->message ? ev->message : rp_code_str(ev->code));
        cli_log(NULL, RP_LOG_WARN, msg);
    }
}

/* The URL as shown: without the target's origin and prefix when it starts with them. */
static const char *shown_url(const char *url, const char *target)
{
    size_t n = strlen(target);
    while (n > 0 && target[n - 1] == '/') {
        n--;
    }
    if (strncmp(url, target, n) == 0 && url[n] == '/') {
        return url + n;
    }
    return url;
}

/* What the leak line and the JUnit failure say: status, and A's values found. */
static void leak_text(const struct rp_probe_result *res, char *out, size_t outsz)
{
    size_t at = 0;
    int k = snprintf(out, outsz, "%u%s", res->live->resp.status,
                     res->n_leaked ? ", leaked:" : " (expected 401, 403 or 404)");
    at = k > 0 && (size_t)k < outsz ? (size_t)k : outsz - 1;
    for (size_t i = 0; i < res->n_leaked && at + 1 < outsz; i++) {
        k = snprintf(out + at, outsz - at, " %s", res->leaked[i]);
        at = k > 0 && (size_t)k < outsz - at ? at + (size_t)k : outsz - 1;
    }
}

static void on_probe(void *ud, const struct rp_probe_result *res)
{
    struct probe_run *pr = ud;
    const struct rp_exchange *ex = res->live;
    const char *url = shown_url(ex->req.url ? ex->req.url : "-", pr->target);
    const char *method = ex->req.method ? ex->req.method : "-";
    char text[RP_ERROR_MSG_MAX * 2];
    struct rp_verdict v;
    rp_verdict_init(&v);
    v.session = res->session_b;
    v.recorded_seq = res->seq;
    v.live = ex;
    /* The JUnit sink names a failure by its check: a leak, not a shape mismatch. */
    snprintf(v.checks[0].name, sizeof(v.checks[0].name), "isolation");
    v.n_checks = 1;
    switch (res->outcome) {
    case RP_PROBE_DENIED:
        pr->denied++;
        if (cli_verbosity >= 0) { /* -q: only leaks, errors and the summary */
            fprintf(pr->out, "  ok    #%llu %s %s as %s: %u (denied)\n",
                    (unsigned long long)res->seq, method, url, res->session_b, ex->resp.status);
        }
        v.outcome = RP_OUTCOME_PASS;
        v.checks[0].outcome = RP_OUTCOME_PASS;
        break;
    case RP_PROBE_LEAK:
        leak_text(res, text, sizeof(text));
        fprintf(pr->out, "  LEAK  #%llu %s %s as %s: %s\n", (unsigned long long)res->seq, method,
                url, res->session_b, text);
        v.outcome = RP_OUTCOME_FAIL;
        v.checks[0].outcome = RP_OUTCOME_FAIL;
        rp_mismatches_add(&v.mismatches, "isolation", "%s's object read as %s: %s", res->session_a,
                          res->session_b, text);
        break;
    case RP_PROBE_ERROR:
        pr->errors++;
        fprintf(pr->out, "  ERROR #%llu %s %s as %s: %s\n", (unsigned long long)res->seq, method,
                url, res->session_b, res->message);
        v.outcome = RP_OUTCOME_ERROR;
        v.checks[0].outcome = RP_OUTCOME_ERROR;
        v.error = res->message;
        break;
    case RP_PROBE_SKIPPED:
        pr->skipped++;
        if (cli_verbosity >= 0) {
            fprintf(pr->out, "  skip  #%llu %s %s: %s\n", (unsigned long long)res->seq, method, url,
                    res->message);
        }
        v.outcome = RP_OUTCOME_SKIPPED;
        v.checks[0].outcome = RP_OUTCOME_SKIPPED;
        v.error = res->message;
        break;
    }
    pr->probed++;
    if (pr->junit.ops && !pr->sink_rc) {
        pr->sink_rc = pr->junit.ops->result(pr->junit.ctx, &v, &pr->sink_err);
    }
    rp_verdict_cleanup(&v);
}

/* The engine for o, with its tenant, host and bind rules. */
static rp_code new_engine(const struct probe_opts *o, struct rp_replay **out, struct rp_error *err)
{
    struct rp_replay_opts ro = {
        .target = o->target,
        .timeout_ms = o->timeout_ms,
        .insecure = o->insecure,
        .cacert = o->cacert,
        .run_header = o->run_header,
        .log = cli_log,
        .on_result = on_step,
    };
    struct rp_replay *r = NULL;
    rp_code rc = rp_replay_new(&ro, &r, err);
    if (!rc) {
        struct cli_rules rules = {
            .tenants = o->tenants,
            .n_tenants = o->n_tenants,
            .hosts = o->hosts,
            .n_hosts = o->n_hosts,
            .binds = o->binds,
            .n_binds = o->n_binds,
            .consts = o->consts,
            .n_consts = o->n_consts,
        };
        rc = cli_replay_rules(r, &rules, err);
    }
    for (size_t i = 0; !rc && i < o->n_recordings; i++) {
        rp_replay_add_recording(r, o->recordings[i]);
    }
    if (rc) {
        rp_replay_free(r);
        return rc;
    }
    *out = r;
    return RP_OK;
}

static int run_probe(const struct probe_opts *o)
{
    struct rp_error err = {0};
    struct rp_replay *r = NULL;
    struct probe_run pr = {.target = o->target, .out = cli_is_dash(o->junit) ? stderr : stdout};
    int exitc;
    rp_code rc = new_engine(o, &r, &err);
    if (rc) {
        return rc == RP_EUSAGE ? cli_usage_error("probe", "%s", err.msg) : cli_fail(&err);
    }
    if (o->junit) {
        rc = rp_report_path_check("--junit", o->junit, &err); /* before anything is sent */
        if (rc) {
            exitc = cli_fail(&err);
            goto out;
        }
        rp_sink_junit(&pr.junit, o->junit);
        struct rp_run_info info = {
            .run_id = rp_replay_run_id(r),
            .target = o->target,
            .start_us = rp_now_us(),
            .recordings = o->recordings,
            .n_recordings = o->n_recordings,
        };
        pr.sink_rc = pr.junit.ops->begin(pr.junit.ctx, &info, &pr.sink_err);
    }
    uint64_t leaks = 0;
    rc = rp_replay_probe(r, on_probe, &pr, &leaks, &err);
    if (rc == RP_EUSAGE || (rc && pr.probed == 0)) {
        exitc = cli_fail(&err); /* nothing probed: no report */
        goto out;
    }
    fprintf(pr.out, "probe: %llu request%s probed, %llu leak%s, %llu denied",
            (unsigned long long)pr.probed, pr.probed == 1 ? "" : "s", (unsigned long long)leaks,
            leaks == 1 ? "" : "s", (unsigned long long)pr.denied);
    if (pr.errors || pr.skipped) {
        fprintf(pr.out, ", %llu error%s, %llu skipped", (unsigned long long)pr.errors,
                pr.errors == 1 ? "" : "s", (unsigned long long)pr.skipped);
    }
    fprintf(pr.out, "\n");
    if (pr.probed == 0) {
        fprintf(pr.out, "probe: no read carries a value a response gave: nothing to probe\n");
    }
    fflush(pr.out);
    if (pr.junit.ops && !pr.sink_rc) {
        struct rp_run_summary sum = {
            .passed = pr.denied,
            .failed = leaks,
            .errors = pr.errors,
            .skipped = pr.skipped,
        };
        pr.sink_rc = pr.junit.ops->end(pr.junit.ctx, &sum, &pr.sink_err);
    }
    if (pr.sink_rc) {
        exitc = cli_fail(&pr.sink_err);
    } else if (rc) {
        exitc = cli_fail(&err);
    } else {
        exitc = leaks ? RP_EXIT_MISMATCH : RP_EXIT_OK;
    }
out:
    rp_sink_free(&pr.junit);
    rp_replay_free(r);
    return exitc;
}

int cmd_probe(int argc, char **argv)
{
    struct probe_opts o;
    struct rp_error err = {0};
    rp_code rc = parse_probe_args(argc, argv, &o, &err);
    int exitc = cli_parsed("probe", cli_help_probe, rc, &err, o.help);
    if (exitc < 0) {
        exitc = run_probe(&o);
    }
    probe_opts_cleanup(&o);
    return exitc;
}
