/* SPDX-License-Identifier: MIT */
/* Unit tests for the command line: argument parsing errors, and that every option is
 * documented in its --help and in docs/cli.md. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

Test(cli, show_without_a_file_is_a_usage_error)
{
    char *argv[] = {"show", NULL};
    struct show_opts o;
    struct rp_error err = {0};
    cr_assert_eq(parse_show_args(1, argv, &o, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "missing FILE");
    cr_assert_eq(rp_code_exit(err.code), 2);
}

Test(cli, show_with_an_unknown_option_is_a_usage_error)
{
    char *argv[] = {"show", "--colour", "x.jsonl.gz", NULL};
    struct show_opts o;
    struct rp_error err = {0};
    cr_assert_eq(parse_show_args(3, argv, &o, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "unknown option --colour");
}

Test(cli, show_takes_one_file_and_json)
{
    char *argv[] = {"show", "--json", "a.jsonl.gz", NULL};
    struct show_opts o;
    struct rp_error err = {0};
    cr_assert_eq(parse_show_args(3, argv, &o, &err), RP_OK, "%s", err.msg);
    cr_assert_str_eq(o.file, "a.jsonl.gz");
    cr_assert(o.json);
    char *two[] = {"show", "a", "b", NULL};
    cr_assert_eq(parse_show_args(3, two, &o, &err), RP_EUSAGE);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

Test(cli, every_long_option_is_in_help_and_in_docs_cli_md)
{
    char *doc = read_all(REPRISE_SOURCE_DIR "/docs/cli.md");
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        char heading[64];
        snprintf(heading, sizeof(heading), "## reprise %s", c->name);
        cr_assert(strstr(doc, heading) != NULL, "docs/cli.md has no section '%s'", heading);
        for (const struct option *o = c->longopts; o && o->name; o++) {
            char flag[64];
            snprintf(flag, sizeof(flag), "--%s", o->name);
            cr_assert(strstr(c->usage, flag) != NULL, "'reprise %s --help' does not mention %s",
                      c->name, flag);
            cr_assert(strstr(doc, flag) != NULL, "docs/cli.md does not mention %s %s", c->name,
                      flag);
        }
    }
    free(doc);
}

/* docs/help/reprise.txt lists the commands by hand: each one in the table, and no other. */
Test(cli, the_overview_lists_every_command_and_only_those)
{
    size_t listed = 0;
    for (const char *l = strstr(cli_help_reprise, "Commands:\n"); l && (l = strchr(l, '\n'));) {
        l++;
        if (strncmp(l, "  ", 2) != 0 || l[2] == ' ' || l[2] == '-') {
            break;
        }
        char name[32];
        cr_assert_eq(sscanf(l, "%31s", name), 1);
        cr_assert_not_null(cli_find(name), "the overview lists '%s', which is no command", name);
        listed++;
    }
    size_t n = 0;
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        n++;
    }
    cr_assert_eq(listed, n, "the overview lists %zu commands; there are %zu", listed, n);
}

Test(cli, every_code_maps_to_a_documented_exit_class)
{
    for (int c = 0; c < RP_CODE_COUNT_; c++) {
        int e = rp_code_exit((rp_code)c);
        cr_assert(e >= 0 && e <= 3, "%s exits %d", rp_code_name((rp_code)c), e);
    }
    cr_assert_eq(rp_code_exit(RP_OK), 0);
    cr_assert_eq(rp_code_exit(RP_EMISMATCH), 1);
    cr_assert_eq(rp_code_exit(RP_EFORMAT), 2);
    cr_assert_eq(rp_code_exit(RP_ENOSECRET), 2);
    cr_assert_eq(rp_code_exit(RP_ECONNECT), 3);
    cr_assert_eq(rp_code_exit(RP_ETLS), 3);
    cr_assert_str_eq(rp_code_name(RP_ETRUNC), "ETRUNC");
}

Test(cli, replay_takes_options_after_the_recordings_and_sets_defaults)
{
    char *argv[] = {
        "replay",          "a.jsonl.gz", "b.jsonl.gz", "--target",  "https://x.test", "--tenant",
        "acme=acme-{run}", "--rate",     "2k",         "--timeout", "500ms",          NULL};
    struct replay_opts o;
    struct rp_error err = {0};
    cr_assert_eq(parse_replay_args(11, argv, &o, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(o.n_recordings, 2);
    cr_assert_str_eq(o.recordings[1], "b.jsonl.gz");
    cr_assert_str_eq(o.target, "https://x.test");
    cr_assert_eq(o.n_tenants, 2);
    cr_assert_str_eq(o.tenants[0], "acme");
    cr_assert_str_eq(o.tenants[1], "acme-{run}");
    cr_assert_float_eq(o.rate, 2000.0, 1e-9);
    cr_assert_eq(o.timeout_ms, 500);
    cr_assert_eq(o.concurrency, 1);
    cr_assert_eq(o.sessions, 1);
    cr_assert_str_eq(o.run_header, "X-Reprise-Run");
    cr_assert_not(o.dry_run);
    replay_opts_cleanup(&o);
}

Test(cli, replay_rejects_bad_values_with_the_flag_named)
{
    struct replay_opts o;
    struct rp_error err = {0};
    char *rate[] = {"replay", "a", "--target", "http://x", "--rate", "fast", NULL};
    cr_assert_eq(parse_replay_args(6, rate, &o, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "--rate wants a positive rate (50, 2k), got 'fast'");
    replay_opts_cleanup(&o);
    char *tenant[] = {"replay", "a", "--target", "http://x", "--tenant", "acme", NULL};
    cr_assert_eq(parse_replay_args(6, tenant, &o, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "--tenant wants FROM=TO, got 'acme'");
    replay_opts_cleanup(&o);
    char *conc[] = {"replay", "a", "--target", "http://x", "-c", "0", NULL};
    cr_assert_eq(parse_replay_args(6, conc, &o, &err), RP_EUSAGE);
    replay_opts_cleanup(&o);
    char *header[] = {"replay", "a", "--target", "http://x", "--run-header", "X: y", NULL};
    cr_assert_eq(parse_replay_args(6, header, &o, &err), RP_EUSAGE);
    replay_opts_cleanup(&o);
    char *none[] = {"replay", "--target", "http://x", NULL};
    cr_assert_eq(parse_replay_args(3, none, &o, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "missing RECORDING");
    replay_opts_cleanup(&o);
}

Test(cli, units_parse_counts_rates_and_durations)
{
    uint64_t n = 0;
    cr_assert(cli_parse_count("20", 100, &n));
    cr_assert_eq(n, 20);
    cr_assert(cli_parse_count("2k", 10000, &n));
    cr_assert_eq(n, 2000);
    cr_assert_not(cli_parse_count("2k", 1000, &n), "over the max");
    cr_assert_not(cli_parse_count("1.5", 100, &n), "not whole");
    cr_assert_not(cli_parse_count("-1", 100, &n));
    cr_assert_not(cli_parse_count("3x", 100, &n));
    double r = 0;
    cr_assert(cli_parse_rate("1.5k", &r));
    cr_assert_float_eq(r, 1500.0, 1e-9);
    cr_assert(cli_parse_rate("200/s", &r));
    cr_assert_float_eq(r, 200.0, 1e-9);
    cr_assert_not(cli_parse_rate("", &r));
    uint64_t ms = 0;
    cr_assert(cli_parse_duration_ms("30", &ms));
    cr_assert_eq(ms, 30000);
    cr_assert(cli_parse_duration_ms("500ms", &ms));
    cr_assert_eq(ms, 500);
    cr_assert(cli_parse_duration_ms("2m", &ms));
    cr_assert_eq(ms, 120000);
    cr_assert_not(cli_parse_duration_ms("soon", &ms));
}

Test(cli, shape_and_diff_take_one_file)
{
    struct shape_opts so;
    struct diff_opts d;
    struct rp_error err = {0};
    char *shape[] = {"shape", "a.jsonl.gz", "-o", "a.shape.json", NULL};
    cr_assert_eq(parse_shape_args(4, shape, &so, &err), RP_OK, "%s", err.msg);
    cr_assert_str_eq(so.out, "a.shape.json");
    char *diff[] = {"diff", "r.jsonl.gz", "--shape", "e.shape.json", NULL};
    cr_assert_eq(parse_diff_args(4, diff, &d, &err), RP_OK, "%s", err.msg);
    cr_assert_str_eq(d.results, "r.jsonl.gz");
    cr_assert_str_eq(d.shape, "e.shape.json");
    char *two[] = {"diff", "a", "b", NULL};
    cr_assert_eq(parse_diff_args(3, two, &d, &err), RP_EUSAGE);
}

Test(cli, the_shared_recording_options_fill_the_intake_options)
{
    struct cli_recopts ro = {0};
    struct rp_error err = {0};
    bool handled = false;
    cr_assert_eq(cli_recopts_parse('T', "acme", &ro, &handled, &err), RP_OK);
    cr_assert(handled);
    cr_assert_eq(cli_recopts_parse('n', "checkout", &ro, &handled, &err), RP_OK);
    cr_assert_eq(cli_recopts_parse(CLI_OPT_REDACT_HEADER, "X-Api-Key", &ro, &handled, &err), RP_OK);
    cr_assert_eq(cli_recopts_parse(CLI_OPT_REDACT_FIELD, "card", &ro, &handled, &err), RP_OK);
    cr_assert_eq(cli_recopts_parse(CLI_OPT_INCLUDE_STATIC, NULL, &ro, &handled, &err), RP_OK);
    cr_assert_eq(cli_recopts_parse(CLI_OPT_MAX_BODY, "4M", &ro, &handled, &err), RP_OK);
    cr_assert_eq(cli_recopts_parse('o', "x", &ro, &handled, &err), RP_OK);
    cr_assert_not(handled, "-o is the command's own");
    cr_assert_eq(cli_recopts_parse(CLI_OPT_MAX_BODY, "33M", &ro, &handled, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "--max-body wants a size from 1 to 32M (512k, 4M), got '33M'");
    cr_assert_eq(cli_recopts_parse('n', "", &ro, &handled, &err), RP_EUSAGE);
    cr_assert_eq(cli_recopts_check(&ro, &err), RP_OK);
    struct rp_intake_opts io = {0};
    cli_recopts_fill(&ro, &io);
    cr_assert_str_eq(io.name, "checkout");
    cr_assert_eq(io.n_tenants, 1);
    cr_assert_str_eq(io.tenants[0], "acme");
    cr_assert_eq(io.n_redact_headers, 1);
    cr_assert_str_eq(io.redact_headers[0], "X-Api-Key");
    cr_assert_eq(io.n_redact_fields, 1);
    cr_assert_str_eq(io.redact_fields[0], "card");
    cr_assert(io.include_static);
    cr_assert_not(io.no_redact);
    cr_assert_eq(io.max_body, 4u * 1024 * 1024);
    cr_assert_eq(cli_recopts_parse(CLI_OPT_NO_REDACT, NULL, &ro, &handled, &err), RP_OK);
    cr_assert_eq(cli_recopts_check(&ro, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "--no-redact cannot go with --redact-header or --redact-field");
    cli_recopts_cleanup(&ro);
}

Test(cli, record_takes_the_shared_redact_options, .init = cr_redirect_stderr)
{
    /* The contradiction is found only once both flags were taken as record's own. */
    char *argv[] = {
        "record",          "--upstream", "http://127.0.0.1:1", "-o",   "x.jsonl.gz", "--no-redact",
        "--redact-header", "X-Api-Key",  "--redact-field",     "card", NULL};
    cr_assert_eq(cmd_record(10, argv), 2);
    fflush(stderr);
    cr_assert_stderr_eq_str("reprise: record: --no-redact cannot go with --redact-header or "
                            "--redact-field\ntry 'reprise record --help'\n");
}

Test(cli, replay_and_diff_take_the_latency_budget_with_its_defaults)
{
    struct replay_opts o;
    struct diff_opts d;
    struct rp_error err = {0};
    char *plain[] = {"replay", "a", "--target", "http://x", NULL};
    cr_assert_eq(parse_replay_args(4, plain, &o, &err), RP_OK, "%s", err.msg);
    cr_assert_float_eq(o.slow.factor, 3.0, 1e-9);
    cr_assert_eq(o.slow.floor_us, 200000);
    cr_assert_null(o.slow.baseline);
    cr_assert_not(o.slow.fail);
    replay_opts_cleanup(&o);
    char *set[] = {"replay",    "a",          "--target",      "http://x",       "--slower",
                   "2.5,100ms", "--baseline", "base.jsonl.gz", "--fail-on-slow", NULL};
    cr_assert_eq(parse_replay_args(9, set, &o, &err), RP_OK, "%s", err.msg);
    cr_assert_float_eq(o.slow.factor, 2.5, 1e-9);
    cr_assert_eq(o.slow.floor_us, 100000);
    cr_assert_str_eq(o.slow.baseline, "base.jsonl.gz");
    cr_assert(o.slow.fail);
    replay_opts_cleanup(&o);
    char *diff[] = {"diff", "r.jsonl.gz", "--slower", "4", "--baseline", "b.jsonl.gz", NULL};
    cr_assert_eq(parse_diff_args(6, diff, &d, &err), RP_OK, "%s", err.msg);
    cr_assert_float_eq(d.slow.factor, 4.0, 1e-9);
    cr_assert_eq(d.slow.floor_us, 200000, "the floor stays the default");
    cr_assert_str_eq(d.slow.baseline, "b.jsonl.gz");
    char *off[] = {"diff", "r.jsonl.gz", "--slower", "off", NULL};
    cr_assert_eq(parse_diff_args(4, off, &d, &err), RP_OK, "%s", err.msg);
    cr_assert_float_eq(d.slow.factor, 0.0, 1e-9);
    static const char *const bad[] = {"0.5", "3,soon", "", "x3", "-2", "3,"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[] = {"diff", "r.jsonl.gz", "--slower", (char *)bad[i], NULL};
        cr_assert_eq(parse_diff_args(4, argv, &d, &err), RP_EUSAGE, "'%s'", bad[i]);
    }
    cr_assert_str_eq(err.msg, "--slower wants FACTOR[,MIN] (3, 2.5,100ms) or off, got '3,'");
}

Test(cli, shape_learn_options)
{
    struct shape_opts so;
    struct rp_error err = {0};
    char *learn[] = {"shape",
                     "a.jsonl.gz",
                     "--learn",
                     "--target",
                     "http://x.test",
                     "--runs",
                     "5",
                     "-T",
                     "acme=acme-{run}-{session}",
                     NULL};
    cr_assert_eq(parse_shape_args(9, learn, &so, &err), RP_OK, "%s", err.msg);
    cr_assert(so.learn);
    cr_assert_str_eq(so.target, "http://x.test");
    cr_assert_eq(so.runs, 5);
    cr_assert_eq(so.n_tenants, 1);
    cr_assert_eq(so.timeout_ms, 30000);
    shape_opts_cleanup(&so);
    char *dflt[] = {"shape", "a.jsonl.gz", "--learn", "-t", "http://x.test", NULL};
    cr_assert_eq(parse_shape_args(5, dflt, &so, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(so.runs, 3);
    shape_opts_cleanup(&so);
    char *no_target[] = {"shape", "a.jsonl.gz", "--learn", NULL};
    cr_assert_eq(parse_shape_args(3, no_target, &so, &err), RP_EUSAGE);
    shape_opts_cleanup(&so);
    char *no_learn[] = {"shape", "a.jsonl.gz", "--runs", "3", NULL};
    cr_assert_eq(parse_shape_args(4, no_learn, &so, &err), RP_EUSAGE);
    cr_assert(strstr(err.msg, "--runs only goes with --learn"), "%s", err.msg);
    shape_opts_cleanup(&so);
    char *zero[] = {"shape", "a.jsonl.gz", "--learn", "-t", "http://x.test", "--runs", "0", NULL};
    cr_assert_eq(parse_shape_args(7, zero, &so, &err), RP_EUSAGE);
    shape_opts_cleanup(&so);
}
