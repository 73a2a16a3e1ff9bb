/* SPDX-License-Identifier: MIT */
/*
 * Shared by the command-line front end only: the command table, the logging callback the CLI
 * installs into the library, and the error-reporting helpers that keep every command's output
 * to the contract "reprise: FILE:LINE: what is wrong" on one line of stderr.
 */
#ifndef REPRISE_CLI_H
#define REPRISE_CLI_H

#include <getopt.h>
#include <stdio.h>

#include <reprise/reprise.h>

/* Functions that are static in a release build and visible to the unit tests. */
#ifdef REPRISE_TESTING
#define RP_TESTABLE
#else
#define RP_TESTABLE static
#endif

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;             /* the --help text: docs/help/NAME.txt */
    const struct option *longopts; /* its getopt_long table (checked against --help, docs) */
};

/* The command table, ending with a zero entry. */
extern const struct cli_command cli_commands[];
const struct cli_command *cli_find(const char *name);

/* Verbosity set by the global -q / -v flags: -1 quiet, 0 normal, 1 verbose. */
extern int cli_verbosity;

/* The progress line of the run under way (replay on a terminal), cleared before each log line;
 * NULL when there is none. */
extern struct rp_progress *cli_progress;

/* The library log callback: "reprise: msg" on stderr, filtered by cli_verbosity. */
void cli_log(void *ud, enum rp_log_level lvl, const char *msg);

/* The columns of the terminal f is (TIOCGWINSZ, else $COLUMNS, else 80); 0 when f is not a
 * terminal. */
unsigned cli_term_width(FILE *f);

/* True when path is "-": standard output for an output flag, standard input for an input. */
bool cli_is_dash(const char *path);

/* RP_EUSAGE naming flag when path is "-" and standard output is a terminal: a recording is
 * gzip, which a terminal would show as garbage. */
rp_code cli_gzip_stdout(const char *flag, const char *path, struct rp_error *err);

/* RP_EUSAGE naming both flags when two of the n output paths are "-" (flags[i] names
 * paths[i]; a NULL path is not given). */
rp_code cli_one_stdout(const char *const *flags, const char *const *paths, size_t n,
                       struct rp_error *err);

/* The reports a run writes besides the terminal's (replay, merge, diff), each NULL when not
 * asked for; paths borrowed from argv ("-": standard output). */
struct cli_reports {
    const char *junit;      /* --junit FILE */
    const char *results;    /* --results FILE */
    const char *html;       /* --html FILE */
    const char *notify;     /* --notify URL, or $REPRISE_NOTIFY_URL */
    const char *report_url; /* --report-url URL: linked from the notice */
};

/*
 * At parse time: notify from $REPRISE_NOTIFY_URL when not given (the webhook is a credential:
 * it stays off the command line), and RP_EUSAGE for a notify URL that is not http(s), two
 * reports on standard output, or (gzip_out) a results file to a terminal.
 */
rp_code cli_reports_parse(struct cli_reports *r, bool gzip_out, struct rp_error *err);

/* Before anything is sent or read: every report's path can be written (rp_report_path_check). */
rp_code cli_reports_paths(const struct cli_reports *r, struct rp_error *err);

/*
 * Adds to c the terminal sink (on standard output, or standard error when a report goes
 * there; color -1: on a terminal; quiet: failures and summary only; progress may be NULL) and
 * one sink for each report asked for.
 */
void cli_reports_add(struct rp_checker *c, const struct cli_reports *r, int color, bool quiet,
                     struct rp_progress *progress);

/* Prints "reprise: MSG" and returns the exit code for err's code. */
int cli_fail(const struct rp_error *err);

/* Prints "reprise: CMD: MSG" and "try 'reprise CMD --help'"; returns RP_EXIT_INPUT. */
int cli_usage_error(const char *cmd, const char *fmt, ...) RP_PRINTF(2, 3);

/*
 * getopt_long over a command's arguments, with what every command does alike: a fresh start
 * (so tests can parse more than once), -h/--help, the global -q/--quiet and -v/--verbose
 * (they set cli_verbosity, after the command's name as before it), and the usage errors for a
 * missing value and an unknown option. Every other option goes to on_opt(opts, code, optarg, err),
 * which returns RP_EUSAGE with a message for a bad value. On RP_OK, *out_first is the index of the
 * first operand; after --help, *help is true and the rest is not parsed.
 */
typedef rp_code (*cli_opt_fn)(void *opts, int code, const char *arg, struct rp_error *err);
rp_code cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
                   cli_opt_fn on_opt, void *opts, bool *help, int *out_first, struct rp_error *err);

/* The single operand WHAT at argv[first] into *out (borrowed); RP_EUSAGE for none or more. */
rp_code cli_one_operand(int argc, char **argv, int first, const char *what, const char **out,
                        struct rp_error *err);

/*
 * The end of every command's parse step: for a parse error, the usage error's exit code; for
 * --help, the command's help printed and 0; otherwise -1, and the command runs.
 */
int cli_parsed(const char *cmd, const char *usage, rp_code rc, const struct rp_error *err,
               bool help);

/* True when out is a terminal and NO_COLOR is not set. */
bool cli_color(FILE *out);

/*
 * The exit code the sessions' verdicts give (sum->sessions): 1 when one failed, or was flaky
 * with fail_on_flaky; else 3 when one failed on the infrastructure, with one line on stderr
 * (why's message when why is not NULL: the run's first target failure); else 0 (flaky
 * sessions pass).
 */
int cli_sessions_exit(const struct rp_run_summary *sum, bool fail_on_flaky,
                      const struct rp_error *why);

/* Appends arg (borrowed from argv) to the list *v of *n strings. */
void cli_push_arg(const char ***v, size_t *n, const char *arg);

/* ----- the recording options record, capture and import share (recopts.c) ----- */

/* getopt_long codes of the shared options without a short form (past any command's own). */
enum {
    CLI_OPT_INCLUDE_STATIC = 0x400,
    CLI_OPT_NO_REDACT,
    CLI_OPT_REDACT_HEADER,
    CLI_OPT_REDACT_FIELD,
    CLI_OPT_MAX_BODY,
};

/* The shared entries of a recorder's longopts[] (--max-body apart: not every one takes it). */
#define CLI_RECOPTS_LONGOPTS                                                                       \
    {"name", required_argument, NULL, 'n'}, {"tenant", required_argument, NULL, 'T'},              \
        {"include-static", no_argument, NULL, CLI_OPT_INCLUDE_STATIC},                             \
        {"no-redact", no_argument, NULL, CLI_OPT_NO_REDACT},                                       \
        {"redact-header", required_argument, NULL, CLI_OPT_REDACT_HEADER},                         \
    {                                                                                              \
        "redact-field", required_argument, NULL, CLI_OPT_REDACT_FIELD                              \
    }
#define CLI_RECOPTS_MAX_BODY_LONGOPT                                                               \
    {                                                                                              \
        "max-body", required_argument, NULL, CLI_OPT_MAX_BODY                                      \
    }
/* Their short forms, for the getopt_long option string. */
#define CLI_RECOPTS_SHORT "n:T:"

/* The shared options as parsed; strings are borrowed from argv, the arrays are owned. */
struct cli_recopts {
    const char *name;
    const char **tenants;
    size_t n_tenants;
    bool include_static;
    bool no_redact;
    const char **headers;
    size_t n_headers;
    const char **fields;
    size_t n_fields;
    uint64_t max_body; /* 0: the library's default */
};

/*
 * Handles getopt_long's answer c (with optarg arg) when it is one of the shared options:
 * *out_handled says whether it was. RP_EUSAGE, naming the flag, for a bad value.
 */
rp_code cli_recopts_parse(int c, const char *arg, struct cli_recopts *ro, bool *out_handled,
                          struct rp_error *err);
/* Checks the shared options together, once all are parsed: RP_EUSAGE when they contradict. */
rp_code cli_recopts_check(const struct cli_recopts *ro, struct rp_error *err);
/* Fills the intake options from ro (borrowed: must outlive io); warns once for --no-redact. */
void cli_recopts_fill(const struct cli_recopts *ro, struct rp_intake_opts *io);
/* Warns, once the recorder is running or done, when no --tenant was given (the tenant guard). */
void cli_recopts_warn_tenant(const struct cli_recopts *ro);
void cli_recopts_cleanup(struct cli_recopts *ro);

/* Units (STYLE rule 20). Each returns false on a malformed or out-of-range value. */
/* "20", "2k", "1M": a whole count up to max. */
bool cli_parse_count(const char *s, uint64_t max, uint64_t *out);
/* "50", "1.5k", "200/s": per second. */
bool cli_parse_rate(const char *s, double *out);
/* "30" (seconds), "30s", "500ms", "2m". */
bool cli_parse_duration_ms(const char *s, uint64_t *out);
/* The engine's rules as --tenant FROM=TO, --map-host HOST=URL, --bind NAME=PLACE (each checked
 * to hold a '=' when parsed) and --const VALUE give them, for probe and shape --learn. */
struct cli_rules {
    const char **tenants;
    size_t n_tenants;
    const char **hosts;
    size_t n_hosts;
    const char **binds;
    size_t n_binds;
    const char **consts;
    size_t n_consts;
};
/* Hands every rule to r; the first error, naming the rule, ends it. */
rp_code cli_replay_rules(struct rp_replay *r, const struct cli_rules *rules, struct rp_error *err);

/* --step N: a recorded seq, as the terminal report shows it. RP_EUSAGE naming the flag. */
rp_code cli_parse_step(const char *s, uint64_t *out, struct rp_error *err);

/* ----- the latency budget options replay and diff share (slowopts.c) ----- */

/* getopt_long codes of --baseline, --slower, --fail-on-slow: past any command's own, which stay
 * below 0x700 (replay and shape from 0x500, diff from 0x600). */
enum {
    CLI_OPT_BASELINE = 0x700,
    CLI_OPT_SLOWER,
    CLI_OPT_FAIL_ON_SLOW,
};

#define CLI_SLOWOPTS_LONGOPTS                                                                      \
    {"baseline", required_argument, NULL, CLI_OPT_BASELINE},                                       \
        {"slower", required_argument, NULL, CLI_OPT_SLOWER},                                       \
    {                                                                                              \
        "fail-on-slow", no_argument, NULL, CLI_OPT_FAIL_ON_SLOW                                    \
    }

/* The options as parsed; baseline borrowed from argv. */
struct cli_slowopts {
    const char *baseline; /* --baseline RESULTS; NULL: none */
    double factor;        /* 0: --slower off */
    uint64_t floor_us;
    bool fail; /* --fail-on-slow */
};

/* The defaults: 3 times and 200 ms more, no baseline, a warning. */
void cli_slowopts_init(struct cli_slowopts *so);
/* Handles getopt_long's answer c when it is one of the three; *out_handled says whether it was.
 * RP_EUSAGE, naming the flag, for a bad value. */
rp_code cli_slowopts_parse(int c, const char *arg, struct cli_slowopts *so, bool *out_handled,
                           struct rp_error *err);
/* "3", "2.5,100ms", "off": the factor and, after a comma, the floor (a duration). */
bool cli_parse_slower(const char *s, double *factor, uint64_t *floor_us);
/* Fills co's latency fields from so, reading the baseline, when there is one, into a new
 * *out_baseline (rp_baseline_free; NULL without one), borrowed by co. */
rp_code cli_slowopts_fill(const struct cli_slowopts *so, struct rp_checker_opts *co,
                          struct rp_baseline **out_baseline, struct rp_error *err);

/* ----- shards and the run id (shardopts.c) ----- */

/* Which shard this process is: index 0-based, count 1 for a run not sharded; source names what
 * said so ("--shard", "JOB_COMPLETION_INDEX", "CI_NODE_INDEX"), "" for none. */
struct cli_shard {
    unsigned index, count;
    char source[32];
};

/* getenv, or a stand-in for tests. */
typedef const char *(*cli_env_fn)(const char *name);

/* "2/4" (1 <= I <= N <= RP_REPLAY_MAX_SHARDS) into *out, 0-based. RP_EUSAGE naming the flag. */
rp_code cli_parse_shard(const char *s, struct cli_shard *out, struct rp_error *err);
/*
 * The shard: --shard I/N (shard_arg, may be NULL); else --shards N (shards, 0: not given) with
 * JOB_COMPLETION_INDEX (0-based); else the first CI whose index variable is set: GitLab
 * CI_NODE_INDEX/CI_NODE_TOTAL (1-based), CircleCI CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL,
 * Buildkite BUILDKITE_PARALLEL_JOB/BUILDKITE_PARALLEL_JOB_COUNT (0-based); else no shard
 * (count 1). RP_EUSAGE naming the flag or variable for a bad or out-of-range value.
 */
rp_code cli_shard_resolve(const char *shard_arg, unsigned shards, cli_env_fn env,
                          struct cli_shard *out, struct rp_error *err);
/*
 * The run id every shard of a run shares, into out (outsz bytes): explicit_id (--run-id), else
 * REPRISE_RUN_ID, else the CI's run: "gh-" GITHUB_RUN_ID "-" GITHUB_RUN_ATTEMPT, "gl-"
 * CI_PIPELINE_ID, "cci-" CIRCLE_WORKFLOW_ID, "bk-" BUILDKITE_BUILD_ID (an id longer than 20
 * bytes, a UUID, as 12 hex digits of its hash). "" and *out_source NULL when none is set;
 * otherwise *out_source names where it came from. RP_EUSAGE for a value that cannot be one.
 */
rp_code cli_run_id_resolve(const char *explicit_id, cli_env_fn env, char *out, size_t outsz,
                           const char **out_source, struct rp_error *err);

/* Commands. Each returns the process exit code. */
int cmd_show(int argc, char **argv);
int cmd_shape(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_ca(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_merge(int argc, char **argv);

/* ----- per-command options, parsed apart from running (STYLE rule 19) ----- */

struct show_opts {
    const char *file;
    bool json;
    bool correlations;
    const char **binds; /* NAME, PLACE, ... (strings borrowed from argv; the array owned) */
    size_t n_binds;
    const char **consts; /* --const VALUE */
    size_t n_consts;
    const char **tenants; /* --tenant FROM (the TO of FROM=TO is not needed to list) */
    size_t n_tenants;
    bool help;
};

/* Frees what parse_show_args allocated. */
void show_opts_cleanup(struct show_opts *o);

struct replay_opts {
    const char *const *recordings;
    size_t n_recordings;
    const char *target;
    char **tenants; /* FROM, TO, FROM, TO ... (owned: replay_opts_cleanup frees them) */
    size_t n_tenants;
    char **hosts;
    size_t n_hosts;
    char **binds;
    size_t n_binds;
    const char **consts; /* --const VALUE (strings borrowed from argv; the array owned) */
    size_t n_consts;
    bool allow_unsourced;
    bool same_tenant;      /* --same-tenant */
    bool read_only;        /* --read-only */
    uint64_t max_requests; /* --max-requests N; 0: no cap */
    const char *stop_on;   /* --stop-on LIST (borrowed from argv, checked) */
    unsigned concurrency;
    unsigned sessions;
    double rate;
    uint64_t timeout_ms;
    bool insecure;
    const char *cacert;
    const char *run_header;      /* NULL: --no-run-header */
    struct cli_reports rep;      /* --junit, --results, --html, --notify, --report-url */
    const char *tenant_template; /* --tenant-template: the recordings' own tenants */
    bool dry_run;
    bool stream;
    int color; /* -1 auto, 0 off, 1 on */
    bool help;
    const char *teardown;         /* --teardown RECORDING */
    bool strict_teardown;         /* a teardown failure fails the run */
    uint64_t teardown_timeout_ms; /* after SIGINT/SIGTERM: the teardowns' time */
    uint64_t cancel_grace_ms;     /* after SIGINT/SIGTERM: what is in flight may answer; 0: 5 s */
    struct cli_slowopts slow;     /* --baseline, --slower, --fail-on-slow */
    unsigned retries;             /* --retries N: a failed session again, in a new tenant */
    bool fail_on_flaky;           /* --fail-on-flaky: a flaky session fails the run */
    bool has_step;                /* --step N: only recorded exchange N is sent */
    uint64_t step;
    const char *from;    /* --from RESULTS: the live values, tenant and cookies of an earlier run */
    const char *session; /* --session NAME#N: which session of RESULTS */
    /* --shard I/N, --shards N or the CI's variables; the run id (--run-id, REPRISE_RUN_ID, the
     * CI's run; "" for a random one), which a sharded run must have. */
    struct cli_shard shard;
    char run_id[RP_REPLAY_MAX_RUN_ID + 1];
    const char *shard_arg;  /* --shard I/N as given */
    unsigned shards;        /* --shards N; 0: not given */
    const char *run_id_arg; /* --run-id ID as given */
};

/* Frees what parse_replay_args allocated (the pair lists). */
void replay_opts_cleanup(struct replay_opts *o);

struct shape_opts {
    const char *file;
    const char *out;
    bool help;
    /* --learn: replay the recording --runs times and relax what moves (cmd_shape.c). Strings
     * borrowed from argv; the arrays owned (shape_opts_cleanup). */
    bool learn;
    const char *target;
    unsigned runs;
    const char **tenants; /* FROM=TO, as given */
    size_t n_tenants;
    const char **hosts; /* HOST=URL */
    size_t n_hosts;
    const char **binds; /* NAME=PLACE */
    size_t n_binds;
    const char **consts;
    size_t n_consts;
    uint64_t timeout_ms;
    bool insecure;
    const char *cacert;
    const char *run_header; /* NULL: --no-run-header */
};

/* Frees what parse_shape_args allocated. */
void shape_opts_cleanup(struct shape_opts *o);

struct diff_opts {
    const char *results;
    const char *shape;
    int color;
    bool help;
    struct cli_slowopts slow; /* --baseline, --slower, --fail-on-slow */
    bool fail_on_flaky;       /* --fail-on-flaky */
    bool has_step;            /* --step N: triage of one step */
    uint64_t step;            /* its recorded seq */
    const char *session; /* --session NAME#N: of that session; NULL: the first that failed it */
    bool curl;           /* --curl: the live request as a curl command */
    const char *junit;   /* --junit FILE: the re-checked failures as JUnit XML */
    const char *html;    /* --html FILE: the HTML report, from the results file */
};

struct merge_opts {
    const char *const *files; /* RESULTS... (borrowed from argv) */
    size_t n_files;
    struct cli_reports rep; /* the merged run's: --junit, --results, --html, --notify ... */
    bool any_run;           /* --any-run: files of different run ids */
    int color;              /* -1 auto, 0 off, 1 on */
    bool help;
};

#ifdef REPRISE_TESTING
rp_code parse_merge_args(int argc, char **argv, struct merge_opts *o, struct rp_error *err);
rp_code parse_show_args(int argc, char **argv, struct show_opts *opts, struct rp_error *err);
rp_code parse_replay_args(int argc, char **argv, struct replay_opts *o, struct rp_error *err);
rp_code parse_shape_args(int argc, char **argv, struct shape_opts *o, struct rp_error *err);
rp_code parse_diff_args(int argc, char **argv, struct diff_opts *o, struct rp_error *err);
#endif

extern const struct option cmd_show_longopts[];
extern const struct option cmd_shape_longopts[];
extern const struct option cmd_replay_longopts[];
extern const struct option cmd_diff_longopts[];
extern const struct option cmd_import_longopts[];
extern const struct option cmd_export_longopts[];
extern const struct option cmd_lint_longopts[];
extern const struct option cmd_capture_longopts[];
extern const struct option cmd_record_longopts[];
extern const struct option cmd_ca_longopts[];
extern const struct option cmd_probe_longopts[];
extern const struct option cmd_merge_longopts[];
extern const char cli_help_probe[];

/* The --help texts, generated from docs/help/NAME.txt (cmake/help.cmake); "reprise" is the
 * overview. */
extern const char cli_help_reprise[], cli_help_show[], cli_help_shape[], cli_help_replay[],
    cli_help_diff[], cli_help_record[], cli_help_ca[], cli_help_capture[], cli_help_import[],
    cli_help_export[], cli_help_help[], cli_help_lint[];
extern const char cli_help_merge[];

#endif /* REPRISE_CLI_H */
