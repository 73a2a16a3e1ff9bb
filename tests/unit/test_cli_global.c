/* SPDX-License-Identifier: MIT */
/* Unit tests for what every command's parser shares: the global -q and -v after the command's
 * name, and "-" as standard output for at most one output flag. */
#include <criterion/criterion.h>

#include "cli.h"

TestSuite(cli_global);

/* Parses replay's argv (NULL-terminated) and returns the code; o is cleaned up. */
static rp_code parse_replay(char **argv, struct rp_error *err)
{
    int argc = 0;
    while (argv[argc]) {
        argc++;
    }
    struct replay_opts o;
    rp_code rc = parse_replay_args(argc, argv, &o, err);
    replay_opts_cleanup(&o);
    return rc;
}

Test(cli_global, quiet_and_verbose_are_taken_after_the_command_name)
{
    struct rp_error err = {0};
    cli_verbosity = 0;
    char *quiet[] = {"replay", "-q", "a.jsonl.gz", "--target", "http://x", NULL};
    cr_assert_eq(parse_replay(quiet, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(cli_verbosity, -1);
    char *verbose[] = {"replay", "a.jsonl.gz", "--target", "http://x", "--verbose", NULL};
    cr_assert_eq(parse_replay(verbose, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(cli_verbosity, 1);
    char *quiet_long[] = {"diff", "--quiet", "r.jsonl.gz", NULL};
    struct diff_opts d;
    cr_assert_eq(parse_diff_args(3, quiet_long, &d, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(cli_verbosity, -1);
    cr_assert_str_eq(d.results, "r.jsonl.gz");
    cli_verbosity = 0;
}

Test(cli_global, an_unknown_option_is_still_a_usage_error)
{
    struct rp_error err = {0};
    char *bad[] = {"replay", "-x", "a.jsonl.gz", "--target", "http://x", NULL};
    cr_assert_eq(parse_replay(bad, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "unknown option -x");
    char *bad_long[] = {"replay", "--quieter", "a.jsonl.gz", "--target", "http://x", NULL};
    cr_assert_eq(parse_replay(bad_long, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "unknown option --quieter");
}

Test(cli_global, one_output_flag_at_most_may_be_standard_output)
{
    struct rp_error err = {0};
    char *one[] = {"replay", "a", "--target", "http://x", "--junit", "-", "--results", "r", NULL};
    cr_assert_eq(parse_replay(one, &err), RP_OK, "%s", err.msg);
    char *two[] = {"replay", "a", "--target", "http://x", "--junit", "-", "--results", "-", NULL};
    cr_assert_eq(parse_replay(two, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "--junit - and --results - both want standard output");
}
