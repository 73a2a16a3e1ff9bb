/* SPDX-License-Identifier: MIT */
/*
 * reprise replay: sends recorded sessions to a target, checks every response against its
 * shape (the shape file beside the recording, or shapes inferred from it), and reports to the
 * terminal, a JUnit file and a results file.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_RUN_HEADER "X-Reprise-Run"

/* getopt_long codes of the guard and teardown options, which have no short form. */
enum {
    OPT_SAME_TENANT = 0x500,
    OPT_READ_ONLY,
    OPT_MAX_REQUESTS,
    OPT_STOP_ON,
    OPT_TEARDOWN,
    OPT_STRICT_TEARDOWN,
    OPT_TEARDOWN_TIMEOUT,
    OPT_CANCEL_GRACE,
    OPT_STEP,
    OPT_FROM,
    OPT_SESSION,
    OPT_NOTIFY,
    OPT_REPORT_URL,
    OPT_RETRIES,
    OPT_FAIL_ON_FLAKY,
};
enum { OPT_HTML = 0x800 };            /* --html FILE: the HTML report */
enum { OPT_TENANT_TEMPLATE = 0xa00 }; /* --tenant-template TEMPLATE */

/* getopt_long codes of the shard options (issue 14: shard's from 0x900). */
enum {
    OPT_SHARD = 0x900,
    OPT_SHARDS,
    OPT_RUN_ID,
};

const struct option cmd_replay_longopts[] = {
    {"target", required_argument, NULL, 't'},
    {"tenant", required_argument, NULL, 'T'},
    {"tenant-template", required_argument, NULL, OPT_TENANT_TEMPLATE},
    {"concurrency", required_argument, NULL, 'c'},
    {"sessions", required_argument, NULL, 'n'},
    {"rate", required_argument, NULL, 'r'},
    {"timeout", required_argument, NULL, 'w'},
    {"insecure", no_argument, NULL, 'k'},
    {"cacert", required_argument, NULL, 'C'},
    {"map-host", required_argument, NULL, 'm'},
    {"bind", required_argument, NULL, 'b'},
    {"const", required_argument, NULL, 'K'},
    {"allow-unsourced", no_argument, NULL, 'U'},
    {"same-tenant", no_argument, NULL, OPT_SAME_TENANT},
    {"read-only", no_argument, NULL, OPT_READ_ONLY},
    {"max-requests", required_argument, NULL, OPT_MAX_REQUESTS},
    {"stop-on", required_argument, NULL, OPT_STOP_ON},
    {"run-header", required_argument, NULL, 'H'},
    {"no-run-header", no_argument, NULL, 'N'},
    {"results", required_argument, NULL, 'o'},
    {"junit", required_argument, NULL, 'j'},
    {"html", required_argument, NULL, OPT_HTML},
    {"dry-run", no_argument, NULL, 'd'},
    {"stream", no_argument, NULL, 'S'},
    {"teardown", required_argument, NULL, OPT_TEARDOWN},
    {"strict-teardown", no_argument, NULL, OPT_STRICT_TEARDOWN},
    {"teardown-timeout", required_argument, NULL, OPT_TEARDOWN_TIMEOUT},
    {"cancel-grace", required_argument, NULL, OPT_CANCEL_GRACE},
    {"step", required_argument, NULL, OPT_STEP},
    {"from", required_argument, NULL, OPT_FROM},
    {"session", required_argument, NULL, OPT_SESSION},
    {"notify", required_argument, NULL, OPT_NOTIFY},
    {"report-url", required_argument, NULL, OPT_REPORT_URL},
    CLI_SLOWOPTS_LONGOPTS,
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"fail-on-flaky", no_argument, NULL, OPT_FAIL_ON_FLAKY},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"shards", required_argument, NULL, OPT_SHARDS},
    {"run-id", required_argument, NULL, OPT_RUN_ID},
    {"color", no_argument, NULL, 'L'},
    {"no-color", no_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Splits "FROM=TO" at the first '=' into two new strings appended to list. */
static bool add_pair(char ***list, size_t *n, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        return false;
    }
    *list = rp_xreallocarray(*list, *n + 2, sizeof(**list));
    (*list)[(*n)++] = rp_xstrndup(arg, (size_t)(eq - arg));
    (*list)[(*n)++] = rp_xstrdup(eq + 1);
    return true;
}

static void free_pairs(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(list[i]);
    }
    free(list);
}

void replay_opts_cleanup(struct replay_opts *o)
{
    free_pairs(o->tenants, o->n_tenants);
    free_pairs(o->hosts, o->n_hosts);
    free_pairs(o->binds, o->n_binds);
    free(o->consts);
    memset(o, 0, sizeof(*o));
}

static rp_code replay_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct replay_opts *o = opts;
    uint64_t n;
    bool slow_opt = false;
    rp_code src = cli_slowopts_parse(c, arg, &o->slow, &slow_opt, err);
    if (src || slow_opt) {
        return src;
    }
    switch (c) {
    case 't':
        o->target = arg;
        break;
    case 'T':
        if (!add_pair(&o->tenants, &o->n_tenants, arg)) {
            return rp_error_set(err, RP_EUSAGE, "--tenant wants FROM=TO, got '%s'", arg);
        }
        break;
    case OPT_TENANT_TEMPLATE:
        if (!arg[0]) {
            return rp_error_set(err, RP_EUSAGE, "--tenant-template wants a template");
        }
        o->tenant_template = arg;
        break;
    case 'm':
        if (!add_pair(&o->hosts, &o->n_hosts, arg)) {
            return rp_error_set(err, RP_EUSAGE, "--map-host wants HOST=URL, got '%s'", arg);
        }
        break;
    case 'b':
        if (!add_pair(&o->binds, &o->n_binds, arg)) {
            return rp_error_set(err, RP_EUSAGE, "--bind wants NAME=PLACE, got '%s'", arg);
        }
        break;
    case 'K':
        if (!arg[0]) {
            return rp_error_set(err, RP_EUSAGE, "--const wants a non-empty VALUE");
        }
        cli_push_arg(&o->consts, &o->n_consts, arg);
        break;
    case 'U':
        o->allow_unsourced = true;
        break;
    case OPT_SAME_TENANT:
        o->same_tenant = true;
        break;
    case OPT_READ_ONLY:
        o->read_only = true;
        break;
    case OPT_MAX_REQUESTS:
        if (!cli_parse_count(arg, UINT64_C(1000000000), &o->max_requests) || o->max_requests == 0) {
            return rp_error_set(err, RP_EUSAGE, "--max-requests wants 1 to 1G, got '%s'", arg);
        }
        break;
    case OPT_STOP_ON: {
        struct rp_status_set set;
        rp_code rc = rp_status_set_parse(arg, &set, err);
        if (rc) {
            return rc;
        }
        o->stop_on = arg;
        break;
    }
    case 'c':
        if (!cli_parse_count(arg, 10000, &n) || n == 0) {
            return rp_error_set(err, RP_EUSAGE, "--concurrency wants 1 to 10000, got '%s'", arg);
        }
        o->concurrency = (unsigned)n;
        break;
    case 'n':
        if (!cli_parse_count(arg, 1000000, &n) || n == 0) {
            return rp_error_set(err, RP_EUSAGE, "--sessions wants 1 to 1M, got '%s'", arg);
        }
        o->sessions = (unsigned)n;
        break;
    case 'r':
        if (!cli_parse_rate(arg, &o->rate) || o->rate <= 0) {
            return rp_error_set(err, RP_EUSAGE,
                                "--rate wants a positive rate (50, 2k), "
                                "got '%s'",
                                arg);
        }
        break;
    case 'w':
        if (!cli_parse_duration_ms(arg, &o->timeout_ms) || o->timeout_ms == 0) {
            return rp_error_set(err, RP_EUSAGE,
                                "--timeout wants a duration (30s, 500ms), "
                                "got '%s'",
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
    case 'o':
        o->rep.results = arg;
        break;
    case 'j':
        o->rep.junit = arg;
        break;
    case OPT_HTML:
        o->rep.html = arg;
        break;
    case 'd':
        o->dry_run = true;
        break;
    case 'S':
        o->stream = true;
        break;
    case 'L':
        o->color = 1;
        break;
    case OPT_TEARDOWN:
        o->teardown = arg;
        break;
    case OPT_STRICT_TEARDOWN:
        o->strict_teardown = true;
        break;
    case OPT_TEARDOWN_TIMEOUT:
        if (!cli_parse_duration_ms(arg, &o->teardown_timeout_ms) || o->teardown_timeout_ms == 0) {
            return rp_error_set(err, RP_EUSAGE,
                                "--teardown-timeout wants a duration (30s), got '%s'", arg);
        }
        break;
    case OPT_NOTIFY:
        o->rep.notify = arg;
        break;
    case OPT_REPORT_URL:
        o->rep.report_url = arg;
        break;
    case 'l':
        o->color = 0;
        break;
    case OPT_CANCEL_GRACE:
        if (!cli_parse_duration_ms(arg, &o->cancel_grace_ms) || o->cancel_grace_ms == 0) {
            return rp_error_set(err, RP_EUSAGE, "--cancel-grace wants a duration (5s), got '%s'",
                                arg);
        }
        break;
    case OPT_RETRIES:
        if (!cli_parse_count(arg, RP_REPLAY_MAX_RETRIES, &n)) {
            return rp_error_set(err, RP_EUSAGE, "--retries wants 0 to %u, got '%s'",
                                RP_REPLAY_MAX_RETRIES, arg);
        }
        o->retries = (unsigned)n;
        break;
    case OPT_FAIL_ON_FLAKY:
        o->fail_on_flaky = true;
        break;
    case OPT_SHARD:
        o->shard_arg = arg;
        break;
    case OPT_SHARDS:
        if (!cli_parse_count(arg, RP_REPLAY_MAX_SHARDS, &n) || n == 0) {
            return rp_error_set(err, RP_EUSAGE, "--shards wants 1 to %u, got '%s'",
                                RP_REPLAY_MAX_SHARDS, arg);
        }
        o->shards = (unsigned)n;
        break;
    case OPT_RUN_ID:
        o->run_id_arg = arg;
        break;
    case OPT_STEP:
        o->has_step = true;
        return cli_parse_step(arg, &o->step, err);
    case OPT_FROM:
        o->from = arg;
        break;
    case OPT_SESSION:
        o->session = arg;
        break;
    }
    return RP_OK;
}

static const char *env_getenv(const char *name)
{
    return getenv(name);
}

/*
 * The shard and the run id. A sharded run needs a run id every shard shares: random ids
 * would give each shard's results a run of its own, which `reprise merge` refuses to join.
 * A run not sharded takes --run-id or REPRISE_RUN_ID, else a random one, as before.
 */
static rp_code shard_args(struct replay_opts *o, struct rp_error *err)
{
    rp_code rc = cli_shard_resolve(o->shard_arg, o->shards, env_getenv, &o->shard, err);
    const char *source = NULL;
    if (!rc) {
        rc = cli_run_id_resolve(o->run_id_arg, env_getenv, o->run_id, sizeof(o->run_id), &source,
                                err);
    }
    if (rc) {
        return rc;
    }
    bool own = source && (strcmp(source, "--run-id") == 0 || strcmp(source, "REPRISE_RUN_ID") == 0);
    if (o->shard.count <= 1) {
        if (!own) {
            o->run_id[0] = '\0'; /* a CI's run id only shards need */
        }
        return RP_OK;
    }
    if (!source) {
        return rp_error_set(err, RP_EUSAGE,
                            "a sharded run needs a run id every shard shares: --run-id ID (or "
                            "REPRISE_RUN_ID)");
    }
    if (o->has_step) {
        return rp_error_set(err, RP_EUSAGE, "--step N replays one step: it takes no shard (%s)",
                            o->shard.source);
    }
    return RP_OK;
}

RP_TESTABLE rp_code parse_replay_args(int argc, char **argv, struct replay_opts *o,
                                      struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    o->concurrency = 1;
    o->sessions = 1;
    o->timeout_ms = 30000;
    o->run_header = DEFAULT_RUN_HEADER;
    o->color = -1;
    cli_slowopts_init(&o->slow);
    int first;
    rp_code prc = cli_getopt(argc, argv, "t:T:c:n:r:w:kC:m:b:H:No:j:d", cmd_replay_longopts,
                             replay_opt, o, &o->help, &first, err);
    if (prc || o->help) {
        return prc;
    }
    if (first >= argc) {
        return rp_error_set(err, RP_EUSAGE, "missing RECORDING");
    }
    if (!o->target) {
        return rp_error_set(err, RP_EUSAGE, "missing --target URL");
    }
    if (o->strict_teardown && !o->teardown) {
        return rp_error_set(err, RP_EUSAGE, "--strict-teardown needs --teardown RECORDING");
    }
    if (o->has_step != (o->from != NULL) || (o->session && !o->from)) {
        return rp_error_set(err, RP_EUSAGE, "--step N and --from RESULTS go together%s",
                            o->session ? " (and --session with them)" : "");
    }
    if (o->from && argc - first != 1) {
        return rp_error_set(err, RP_EUSAGE, "--step N --from RESULTS replays one RECORDING");
    }
    if (o->tenant_template && (o->n_tenants || o->from)) {
        return rp_error_set(err, RP_EUSAGE,
                            "--tenant-template is the template of the recordings' own tenants; "
                            "with %s, the tenants are %s",
                            o->from ? "--from" : "--tenant FROM=TO",
                            o->from ? "the earlier run's" : "those rules' TO");
    }
    rp_code orc = cli_reports_parse(&o->rep, !o->dry_run, err);
    if (orc) {
        return orc;
    }
    o->recordings = (const char *const *)argv + first;
    o->n_recordings = (size_t)(argc - first);
    return shard_args(o, err);
}

/* ----- the run -------------------------------------------------------------------------- */

/* Each exchange goes to the checker; a sink error is kept there and reported at the end. */
static void on_result(void *ud, const struct rp_replay_event *ev)
{
    if (ev->status == RP_REPLAY_DRY_RUN) {
        char who[192];
        snprintf(who, sizeof(who), "%s%s", ev->session, ev->teardown ? " teardown" : "");
        rp_listing_request(stdout, who, ev->recorded->seq, &ev->live->req);
        return;
    }
    rp_ignore(rp_checker_exchange(ud, ev, NULL));
}

/* A finished session's report goes out, and the checker forgets it. */
static void on_session_end(void *ud, const char *session)
{
    rp_checker_session_end(ud, session);
}

/* --retries: the engine asks whether a session's attempt failed; the checker knows. */
static bool on_retry(void *ud, const char *session, unsigned attempt)
{
    (void)attempt;
    return rp_checker_session_failed(ud, session);
}

/* What the pre-pass shows of each recorded exchange goes to the checker, and counts towards
 * the progress line's total: one step per session of its recording that this shard runs. */
struct observer {
    struct rp_checker *checker;
    struct rp_progress *progress; /* NULL: none */
    const struct replay_opts *o;
};

/* How many sessions of recording rec (its index among o's) this shard runs: copy k of it is
 * session k * n_recordings + rec, over the run. */
static unsigned shard_copies(const struct replay_opts *o, size_t rec)
{
    unsigned n = 0;
    for (size_t k = 0; k < o->sessions; k++) {
        size_t idx = k * o->n_recordings + rec;
        n += o->shard.count <= 1 || idx % o->shard.count == o->shard.index;
    }
    return n;
}

static void observe(void *ud, const char *recording, const struct rp_exchange *ex,
                    const struct rp_correlator *corr, size_t first)
{
    struct observer *ob = ud;
    rp_checker_observe(ob->checker, recording, ex, corr, first);
    size_t rec = 0;
    while (rec + 1 < ob->o->n_recordings && strcmp(ob->o->recordings[rec], recording) != 0) {
        rec++;
    }
    rp_progress_add_total(ob->progress, shard_copies(ob->o, rec));
}

/* "shard 2/4: sessions 2, 6, 10 … (3 of 12), run id ID": once, before the first request. */
static void log_shard(const struct replay_opts *o, const char *run_id)
{
    if (o->shard.count <= 1) {
        return;
    }
    size_t total = o->n_recordings * (size_t)o->sessions;
    size_t mine = rp_replay_shard_sessions(total, o->shard.index, o->shard.count);
    char list[64] = "";
    size_t used = 0;
    size_t shown = 0;
    for (size_t idx = o->shard.index; idx < total && shown < 3; idx += o->shard.count, shown++) {
        int k = snprintf(list + used, sizeof(list) - used, "%s%zu", shown ? ", " : "", idx + 1);
        used += k > 0 && (size_t)k < sizeof(list) - used ? (size_t)k : 0;
    }
    char msg[256];
    snprintf(msg, sizeof(msg), "shard %u/%u (%s): session%s %s%s (%zu of %zu), run id %s",
             o->shard.index + 1, o->shard.count, o->shard.source, mine == 1 ? "" : "s",
             mine ? list : "none", mine > shown ? " …" : "", mine, total, run_id);
    cli_log(NULL, RP_LOG_INFO, msg);
}

/*
 * --step N --from RESULTS: the engine sends only step N, in the tenant the earlier run used
 * (unless --tenant says otherwise), with the live values its earlier steps' responses gave and
 * the cookies its session was given (placeholders, filled from the environment).
 */
static rp_code from_results(const struct replay_opts *o, struct rp_replay *r, struct rp_error *err)
{
    struct rp_results_step st;
    rp_results_step_init(&st);
    rp_code rc = rp_results_step(o->from, o->step, o->session, &st, err);
    const char *line = st.v.tenants && o->n_tenants == 0 ? st.v.tenants : "";
    while (!rc && *line) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        char *pair = rp_xstrndup(line, n);
        char *eq = strchr(pair, '=');
        if (eq) {
            *eq = '\0';
            rc = rp_replay_tenant(r, pair, eq + 1, err);
        }
        free(pair);
        line += n + (end ? 1 : 0);
    }
    for (size_t i = 0; !rc && i < st.n_before; i++) {
        rc = rp_replay_seed(r, st.before[i].seq, &st.before[i].resp, err);
    }
    if (!rc) {
        char *cookies = rp_results_step_cookies(&st);
        rp_replay_step_cookie(r, cookies);
        free(cookies);
        rp_replay_only_step(r, o->step);
        char msg[RP_ERROR_MSG_MAX];
        snprintf(msg, sizeof(msg), "step %llu of %s in %s: sent alone, with its live values",
                 (unsigned long long)o->step, st.v.session, o->from);
        cli_log(NULL, RP_LOG_INFO, msg);
    }
    rp_results_step_cleanup(&st);
    return rc;
}

/* The engine for o, with its tenant, host and bind rules. */
static rp_code new_engine(const struct replay_opts *o, struct rp_checker *checker,
                          struct observer *ob, struct rp_replay **out, struct rp_error *err)
{
    struct rp_replay_opts ro = {
        .target = o->target,
        .concurrency = o->concurrency,
        .sessions = o->sessions,
        .rate = o->rate,
        .timeout_ms = o->timeout_ms,
        .insecure = o->insecure,
        .cacert = o->cacert,
        .run_header = o->run_header,
        .dry_run = o->dry_run,
        .stream = o->stream,
        .allow_unsourced = o->allow_unsourced,
        .same_tenant = o->same_tenant,
        .read_only = o->read_only,
        .max_requests = o->max_requests,
        .stop_on = o->stop_on,
        .log = cli_log,
        .on_result = on_result,
        .on_session_end = on_session_end,
        .ud = checker,
        .observe = observe,
        .observe_ud = ob,
        .teardown = o->teardown,
        .teardown_timeout_ms = o->teardown_timeout_ms,
        .cancel_grace_ms = o->cancel_grace_ms,
        .retries = o->retries,
        .retry = on_retry,
        .run_id = o->run_id[0] ? o->run_id : NULL,
        .shard_index = o->shard.index,
        .shard_count = o->shard.count,
        .tenant_template = o->tenant_template,
    };
    struct rp_replay *r = NULL;
    rp_code rc = rp_replay_new(&ro, &r, err);
    for (size_t i = 0; !rc && i < o->n_tenants; i += 2) {
        rc = rp_replay_tenant(r, o->tenants[i], o->tenants[i + 1], err);
    }
    for (size_t i = 0; !rc && i < o->n_hosts; i += 2) {
        rc = rp_replay_map_host(r, o->hosts[i], o->hosts[i + 1], err);
    }
    for (size_t i = 0; !rc && i < o->n_binds; i += 2) {
        rc = rp_replay_bind(r, o->binds[i], o->binds[i + 1], err);
    }
    for (size_t i = 0; !rc && i < o->n_consts; i++) {
        rc = rp_replay_const(r, o->consts[i], err);
    }
    for (size_t i = 0; !rc && i < o->n_recordings; i++) {
        rp_replay_add_recording(r, o->recordings[i]);
    }
    if (!rc && o->from) {
        rc = from_results(o, r, err);
    }
    if (rc) {
        rp_replay_free(r);
        return rc;
    }
    *out = r;
    return RP_OK;
}

/* The running engine, the signal that cancelled it and how many came, for the handler. */
static struct rp_replay *volatile running;
static volatile sig_atomic_t cancel_signal;
static volatile sig_atomic_t signals_seen;

/*
 * The first SIGINT or SIGTERM cancels the run (what is in flight gets its grace, teardowns
 * still run); a second abandons what is in flight at once, and the reports are still written;
 * a third kills.
 */
static void on_signal(int sig)
{
    struct rp_replay *r = running;
    if (!r || signals_seen >= 2) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    if (!cancel_signal) {
        cancel_signal = sig;
    }
    signals_seen++;
    rp_replay_cancel(r);
}

static void catch_signals(struct rp_replay *r)
{
    running = r;
    if (r) {
        cancel_signal = 0; /* kept after the run, for its exit code */
        signals_seen = 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = r ? on_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* "cancelled by SIGTERM" into buf. */
static void cancel_why(int sig, char *buf, size_t n)
{
    const char *name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : NULL;
    if (name) {
        snprintf(buf, n, "cancelled by %s", name);
    } else {
        snprintf(buf, n, "cancelled by signal %d", sig);
    }
}

/*
 * A run that did not end normally says so in its reports: a cancelled one (its reports are
 * written even when no verdict came, so a CI finds a valid, empty JUnit file) counts the steps
 * of the sessions it never started as cancelled; one stopped by an input error mid-run gives
 * the error as its reason.
 */
static void mark_unfinished(struct rp_checker *checker, struct rp_replay *r, rp_code rc,
                            const struct rp_error *err)
{
    if (rp_replay_cancelled(r) && cancel_signal) {
        char why[64];
        cancel_why(cancel_signal, why, sizeof(why));
        rp_checker_unfinished(checker, why, rp_replay_not_started(r));
        /* A sink that cannot begin is reported by rp_checker_end, which returns it again. */
        rp_ignore(rp_checker_start_sinks(checker, NULL));
    } else if (rc && rp_code_exit(rc) != RP_EXIT_TARGET) {
        char why[RP_ERROR_MSG_MAX + 32];
        snprintf(why, sizeof(why), "stopped by an error: %s", err->msg);
        rp_checker_unfinished(checker, why, 0);
    }
}

/* --step N --from: nothing was reported, so the recording has no step N. */
static bool no_step(const struct rp_run_summary *sum)
{
    return sum->passed + sum->failed + sum->errors + sum->skipped + sum->unsafe == 0;
}

/* A teardown step that did not pass, for --strict-teardown. */
static bool teardown_failed(const struct rp_run_summary *sum)
{
    return sum->teardown.failed || sum->teardown.unsafe || sum->teardown.errors;
}

static int run_replay(const struct replay_opts *o)
{
    struct rp_error err = {0};
    struct rp_checker *checker = NULL;
    struct rp_replay *r = NULL;
    struct rp_baseline *baseline = NULL;
    /* The teardown's steps are checked against its own shape file, when it has one. */
    const char **recs = rp_xcalloc(o->n_recordings + 1, sizeof(*recs));
    memcpy(recs, o->recordings, o->n_recordings * sizeof(*recs));
    recs[o->n_recordings] = o->teardown;
    struct rp_checker_opts co = {
        .recordings = recs,
        .n_recordings = o->n_recordings + (o->teardown != NULL),
        .learn_from_replay = true,
        .log = cli_log,
    };
    rp_code rc = cli_slowopts_fill(&o->slow, &co, &baseline, &err);
    if (!rc) {
        rc = rp_checker_new(&co, &checker, &err);
    }
    free(recs);
    if (rc) {
        rp_baseline_free(baseline);
        return cli_fail(&err);
    }
    int exitc;
    /* The progress line: on a terminal only, and not with -q. */
    bool quiet = cli_verbosity < 0;
    struct rp_progress *progress = NULL;
    if (!quiet && !o->dry_run && isatty(STDERR_FILENO)) {
        progress = rp_progress_new(stderr, cli_term_width(stderr));
    }
    struct observer ob = {.checker = checker, .progress = progress, .o = o};
    rc = new_engine(o, checker, &ob, &r, &err);
    if (rc) {
        exitc = rc == RP_EUSAGE ? cli_usage_error("replay", "%s", err.msg) : cli_fail(&err);
        goto out;
    }
    /* Every output path is checked before the first request: a bad one sends nothing. */
    if (!o->dry_run) {
        if (cli_reports_paths(&o->rep, &err) != RP_OK) {
            exitc = cli_fail(&err);
            goto out;
        }
        cli_reports_add(checker, &o->rep, o->color, quiet, progress);
    }
    struct rp_run_info info = {
        .run_id = rp_replay_run_id(r),
        .target = o->target,
        .start_us = rp_now_us(),
        .recordings = o->recordings,
        .n_recordings = o->n_recordings,
        .shard_index = o->shard.index,
        .shard_count = o->shard.count,
        .total_sessions = o->n_recordings * (uint64_t)o->sessions,
    };
    rp_checker_begin(checker, &info);
    log_shard(o, info.run_id);

    /* A run that stops before anything is checked (a missing secret) writes no report. */
    catch_signals(r);
    cli_progress = progress;
    rc = rp_replay_run(r, &err);
    catch_signals(NULL);
    mark_unfinished(checker, r, rc, &err);
    /* A shard with no session (more shards than sessions) still writes its reports, so that
     * `reprise merge` finds every shard; a sink that cannot begin is reported at the end. */
    if (!rc && o->shard.count > 1 && !o->dry_run) {
        rp_ignore(rp_checker_start_sinks(checker, NULL));
    }
    struct rp_run_summary sum;
    struct rp_error serr = {0};
    rp_code src = rp_checker_end(checker, &sum, &serr);
    cli_progress = NULL;
    rp_progress_free(progress);
    progress = NULL;
    fflush(stdout);
    if (src) {
        exitc = cli_fail(&serr);
    } else if (rc && rp_code_exit(rc) != RP_EXIT_TARGET) {
        exitc = cli_fail(&err);
    } else if (o->strict_teardown && teardown_failed(&sum)) {
        exitc = RP_EXIT_MISMATCH;
    } else {
        /* A target failure is judged with its session: retried, it may have passed. */
        exitc = cli_sessions_exit(&sum, o->fail_on_flaky, rc ? &err : NULL);
        if (o->slow.fail && sum.slow_p95) { /* the run's p95 over its budget */
            exitc = RP_EXIT_MISMATCH;
        }
    }
    if (exitc == RP_EXIT_OK && o->from && !o->dry_run && no_step(&sum)) {
        struct rp_error e = {0};
        rp_error_set(&e, RP_EUSAGE, "%s: no step %llu to send", o->recordings[0],
                     (unsigned long long)o->step);
        exitc = cli_fail(&e);
    }
    /* A cancelled run has a code of its own: 128 + the signal, as a shell reports it. */
    if (rp_replay_cancelled(r) && cancel_signal && exitc != RP_EXIT_INPUT) {
        exitc = 128 + cancel_signal;
    }
out:
    rp_replay_free(r);
    rp_checker_free(checker);
    rp_baseline_free(baseline);
    rp_progress_free(progress);
    return exitc;
}

int cmd_replay(int argc, char **argv)
{
    struct replay_opts o;
    struct rp_error err = {0};
    rp_code rc = parse_replay_args(argc, argv, &o, &err);
    int exitc = cli_parsed("replay", cli_help_replay, rc, &err, o.help);
    if (exitc < 0) {
        exitc = run_replay(&o);
    }
    replay_opts_cleanup(&o);
    return exitc;
}
