/* SPDX-License-Identifier: MIT */
/*
 * reprise shape: infers each exchange's expected response shape and writes the shape file. With
 * --learn it also replays the recording --runs times, each run in a fresh tenant as replay does,
 * and relaxes in the shape file what moved between the runs (rp_shape_learn), each relaxation
 * marked "learned" for the reviewer.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_RUN_HEADER "X-Reprise-Run"
#define DEFAULT_RUNS       3

/* getopt_long codes of the options without a short form. */
enum {
    OPT_LEARN = 0x500,
    OPT_RUNS,
    OPT_MAP_HOST,
    OPT_BIND,
    OPT_CONST,
    OPT_TIMEOUT,
    OPT_CACERT,
    OPT_RUN_HEADER,
    OPT_NO_RUN_HEADER,
};

const struct option cmd_shape_longopts[] = {
    {"output", required_argument, NULL, 'o'},
    {"learn", no_argument, NULL, OPT_LEARN},
    {"target", required_argument, NULL, 't'},
    {"runs", required_argument, NULL, OPT_RUNS},
    {"tenant", required_argument, NULL, 'T'},
    {"map-host", required_argument, NULL, OPT_MAP_HOST},
    {"bind", required_argument, NULL, OPT_BIND},
    {"const", required_argument, NULL, OPT_CONST},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"insecure", no_argument, NULL, 'k'},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"run-header", required_argument, NULL, OPT_RUN_HEADER},
    {"no-run-header", no_argument, NULL, OPT_NO_RUN_HEADER},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void shape_opts_cleanup(struct shape_opts *o)
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

static rp_code pair_opt(const char ***v, size_t *n, const char *arg, const char *what,
                        struct rp_error *err)
{
    if (!is_pair(arg)) {
        return rp_error_set(err, RP_EUSAGE, "%s, got '%s'", what, arg);
    }
    cli_push_arg(v, n, arg);
    return RP_OK;
}

static rp_code shape_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct shape_opts *o = opts;
    uint64_t n;
    switch (c) {
    case 'o':
        o->out = arg;
        break;
    case OPT_LEARN:
        o->learn = true;
        break;
    case 't':
        o->target = arg;
        break;
    case OPT_RUNS:
        if (!cli_parse_count(arg, RP_SHAPE_LEARN_MAX_RUNS, &n) || n == 0) {
            return rp_error_set(err, RP_EUSAGE, "--runs wants 1 to %u, got '%s'",
                                RP_SHAPE_LEARN_MAX_RUNS, arg);
        }
        o->runs = (unsigned)n;
        break;
    case 'T':
        return pair_opt(&o->tenants, &o->n_tenants, arg, "--tenant wants FROM=TO", err);
    case OPT_MAP_HOST:
        return pair_opt(&o->hosts, &o->n_hosts, arg, "--map-host wants HOST=URL", err);
    case OPT_BIND:
        return pair_opt(&o->binds, &o->n_binds, arg, "--bind wants NAME=PLACE", err);
    case OPT_CONST:
        if (!arg[0]) {
            return rp_error_set(err, RP_EUSAGE, "--const wants a non-empty VALUE");
        }
        cli_push_arg(&o->consts, &o->n_consts, arg);
        break;
    case OPT_TIMEOUT:
        if (!cli_parse_duration_ms(arg, &o->timeout_ms) || o->timeout_ms == 0) {
            return rp_error_set(err, RP_EUSAGE, "--timeout wants a duration (30s, 500ms), got '%s'",
                                arg);
        }
        break;
    case 'k':
        o->insecure = true;
        break;
    case OPT_CACERT:
        o->cacert = arg;
        break;
    case OPT_RUN_HEADER:
        if (!arg[0] || strpbrk(arg, ": \t\r\n")) {
            return rp_error_set(err, RP_EUSAGE, "--run-header wants a header name, got '%s'", arg);
        }
        o->run_header = arg;
        break;
    case OPT_NO_RUN_HEADER:
        o->run_header = NULL;
        break;
    }
    return RP_OK;
}

/* The options that only mean something with --learn, given without it: the first one's name. */
static const char *learn_only(const struct shape_opts *o, bool runs_given, bool header_given)
{
    if (o->target) {
        return "--target";
    }
    if (runs_given) {
        return "--runs";
    }
    if (o->n_tenants || o->n_hosts || o->n_binds || o->n_consts) {
        return o->n_tenants ? "--tenant"
               : o->n_hosts ? "--map-host"
               : o->n_binds ? "--bind"
                            : "--const";
    }
    if (o->timeout_ms || o->insecure || o->cacert || header_given) {
        return "--timeout, --insecure, --cacert and --run-header";
    }
    return NULL;
}

RP_TESTABLE rp_code parse_shape_args(int argc, char **argv, struct shape_opts *o,
                                     struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    o->run_header = DEFAULT_RUN_HEADER;
    int first;
    rp_code rc =
        cli_getopt(argc, argv, "o:t:T:k", cmd_shape_longopts, shape_opt, o, &o->help, &first, err);
    if (rc || o->help) {
        return rc;
    }
    rc = cli_one_operand(argc, argv, first, "RECORDING", &o->file, err);
    if (rc) {
        return rc;
    }
    bool header_given = !o->run_header || strcmp(o->run_header, DEFAULT_RUN_HEADER) != 0;
    const char *only = o->learn ? NULL : learn_only(o, o->runs != 0, header_given);
    if (only) {
        return rp_error_set(err, RP_EUSAGE, "%s only go%s with --learn", only,
                            strchr(only, ',') ? "" : "es");
    }
    if (o->learn && !o->target) {
        return rp_error_set(err, RP_EUSAGE, "--learn needs --target URL");
    }
    if (o->runs == 0) {
        o->runs = DEFAULT_RUNS;
    }
    if (o->timeout_ms == 0) {
        o->timeout_ms = 30000;
    }
    return RP_OK;
}

/* ----- --learn ------------------------------------------------------------------------------ */

struct learn_run {
    struct rp_shape_learner *learner;
    uint64_t unsafe; /* steps refused: a run that stopped early */
};

/* Each answered step teaches the learner; a step refused stops its run, which says why. */
static void on_step(void *ud, const struct rp_replay_event *ev)
{
    struct learn_run *lr = ud;
    if (ev->status == RP_REPLAY_DONE && !ev->teardown && ev->recorded) {
        rp_shape_learn(lr->learner, ev->recorded->seq, ev->session_no, &ev->live->resp);
    } else if (ev->status == RP_REPLAY_ERROR || ev->status == RP_REPLAY_UNSAFE) {
        char msg[RP_ERROR_MSG_MAX * 2];
        snprintf(msg, sizeof(msg), "%s: exchange %llu: %s", ev->session,
                 (unsigned long long)(ev->recorded ? ev->recorded->seq : 0),
                 ev->message ? ev->message : rp_code_str(ev->code));
        cli_log(NULL, RP_LOG_WARN, msg);
        lr->unsafe += ev->status == RP_REPLAY_UNSAFE;
    }
}

/* The engine for o: one session per run, one at a time, each in its own tenant. */
static rp_code new_engine(const struct shape_opts *o, struct learn_run *lr, struct rp_replay **out,
                          struct rp_error *err)
{
    struct rp_replay_opts ro = {
        .target = o->target,
        .concurrency = 1,
        .sessions = o->runs,
        .timeout_ms = o->timeout_ms,
        .insecure = o->insecure,
        .cacert = o->cacert,
        .run_header = o->run_header,
        .log = cli_log,
        .on_result = on_step,
        .ud = lr,
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
    if (rc) {
        rp_replay_free(r);
        return rc;
    }
    rp_replay_add_recording(r, o->file);
    *out = r;
    return RP_OK;
}

/*
 * The shapes learning starts from: the shape file at path when there is one, so that what people
 * edited in it stays, else the shapes inferred from the recording.
 */
static rp_code base_shapes(const struct shape_opts *o, const char *path, struct rp_shapeset **out,
                           bool *existed, struct rp_error *err)
{
    rp_code rc = rp_shapeset_load(path, out, err);
    *existed = rc == RP_OK;
    if (rc == RP_ENOTFOUND) {
        rc = rp_shapeset_infer(o->file, cli_log, NULL, out, err);
    }
    return rc;
}

/* "relaxed 2 fields in 1 exchange:" then a line per relaxation, by exchange and path. */
static void print_learned(const struct rp_shape_learner *l)
{
    size_t n = rp_shape_learner_count(l);
    size_t fields = 0, exchanges = 0;
    struct rp_learned prev = {0}, e;
    for (size_t i = 0; i < n; i++) {
        rp_shape_learner_get(l, i, &e);
        fields += i == 0 || e.seq != prev.seq || strcmp(e.path, prev.path) != 0;
        exchanges += i == 0 || e.seq != prev.seq;
        prev = e;
    }
    if (n == 0) {
        printf("nothing moved between runs: no field relaxed\n");
        return;
    }
    printf("relaxed %zu field%s in %zu exchange%s:\n", fields, fields == 1 ? "" : "s", exchanges,
           exchanges == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        rp_shape_learner_get(l, i, &e);
        printf("  #%llu %s  %s (%s)\n", (unsigned long long)e.seq, e.request ? e.request : "",
               e.path, e.why);
    }
}

static int run_learn(const struct shape_opts *o, const char *path)
{
    struct rp_error err = {0};
    struct rp_shapeset *set = NULL;
    struct rp_replay *r = NULL;
    struct learn_run lr = {0};
    bool existed = false;
    int exitc;
    rp_code rc = base_shapes(o, path, &set, &existed, &err);
    if (rc) {
        return cli_fail(&err);
    }
    lr.learner = rp_shape_learner_new(set, o->runs);
    rc = new_engine(o, &lr, &r, &err);
    if (rc) {
        exitc = rc == RP_EUSAGE ? cli_usage_error("shape", "%s", err.msg) : cli_fail(&err);
        goto out;
    }
    rc = rp_replay_run(r, &err);
    if (rc) {
        exitc = cli_fail(&err); /* nothing is written from runs that did not finish */
        goto out;
    }
    rp_shape_learner_finish(lr.learner);
    size_t problems = rp_shape_learner_problems(lr.learner);
    for (size_t i = 0; i < problems; i++) {
        fprintf(stderr, "reprise: %s: %s\n", o->file, rp_shape_learner_problem(lr.learner, i));
    }
    if (lr.unsafe || problems) {
        cli_log(NULL, RP_LOG_ERROR,
                lr.unsafe ? "a run stopped early: the shape file was not written"
                          : "what moved cannot be learned as a relaxation: the shape file was not "
                            "written");
        exitc = RP_EXIT_MISMATCH;
        goto out;
    }
    rc = rp_shapeset_save(set, path, &err);
    if (rc) {
        exitc = cli_fail(&err);
        goto out;
    }
    print_learned(lr.learner);
    printf("learned from %u run%s: wrote %zu shapes to %s%s\n", o->runs, o->runs == 1 ? "" : "s",
           rp_shapeset_count(set), path, existed ? " (its edits kept)" : "");
    exitc = RP_EXIT_OK;
out:
    rp_replay_free(r);
    rp_shape_learner_free(lr.learner);
    rp_shapeset_free(set);
    return exitc;
}

/* ----- plain inference ---------------------------------------------------------------------- */

static int run_infer(const struct shape_opts *o, const char *path)
{
    struct rp_error err = {0};
    struct rp_shapeset *set = NULL;
    int exitc = RP_EXIT_OK;
    if (rp_shapeset_infer(o->file, cli_log, NULL, &set, &err) ||
        rp_shapeset_save(set, path, &err)) {
        exitc = cli_fail(&err);
    } else {
        /* With "-o -" the shapes are standard output: the note goes to standard error. */
        fprintf(cli_is_dash(path) ? stderr : stdout, "wrote %zu shapes to %s\n",
                rp_shapeset_count(set), path);
    }
    rp_shapeset_free(set);
    return exitc;
}

int cmd_shape(int argc, char **argv)
{
    struct shape_opts o;
    struct rp_error err = {0};
    rp_code rc = parse_shape_args(argc, argv, &o, &err);
    int exitc = cli_parsed("shape", cli_help_shape, rc, &err, o.help);
    if (exitc < 0) {
        char *path = o.out ? rp_xstrdup(o.out) : rp_shape_path_for(o.file);
        exitc = o.learn ? run_learn(&o, path) : run_infer(&o, path);
        free(path);
    }
    shape_opts_cleanup(&o);
    return exitc;
}
