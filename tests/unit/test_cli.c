/* SPDX-License-Identifier: MIT */
/* Unit tests for the command line: argument parsing errors, and that every option is
 * documented in its --help and in docs/cli.md. */
#include <criterion/criterion.h>
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
