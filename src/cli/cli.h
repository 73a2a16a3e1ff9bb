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
    const char *summary;
    const char *usage;             /* the full --help text */
    const struct option *longopts; /* its getopt_long table (checked against --help, docs) */
};

/* The command table, ending with a zero entry. */
extern const struct cli_command cli_commands[];
const struct cli_command *cli_find(const char *name);

/* Verbosity set by the global -q / -v flags: -1 quiet, 0 normal, 1 verbose. */
extern int cli_verbosity;

/* The library log callback: "reprise: msg" on stderr, filtered by cli_verbosity. */
void cli_log(void *ud, enum rp_log_level lvl, const char *msg);

/* Prints "reprise: MSG" and returns the exit code for err's code. */
int cli_fail(const struct rp_error *err);

/* Prints "reprise: CMD: MSG" and "try 'reprise CMD --help'"; returns RP_EXIT_INPUT. */
int cli_usage_error(const char *cmd, const char *fmt, ...) RP_PRINTF(2, 3);

/* Prints the overview of reprise and its commands to out. */
void cli_print_main_usage(FILE *out);

/* Prints a command's --help text to out. */
void cli_print_usage(const struct cli_command *c, FILE *out);

/* True when out is a terminal and NO_COLOR is not set. */
bool cli_color(FILE *out);

/* Formats a byte count as "812 B", "3.4 KiB", "12.0 MiB" into out (at least 16 bytes). */
void cli_format_bytes(uint64_t n, char *out, size_t outsz);

/* Commands. Each returns the process exit code. */
int cmd_show(int argc, char **argv);
int cmd_help(int argc, char **argv);

/* ----- per-command options, parsed apart from running (STYLE rule 19) ----- */

struct show_opts {
    const char *file;
    bool json;
    bool help;
};

#ifdef REPRISE_TESTING
rp_code parse_show_args(int argc, char **argv, struct show_opts *opts, struct rp_error *err);
#endif

extern const char cmd_show_usage[];
extern const char cmd_help_usage[];
extern const struct option cmd_show_longopts[];

#endif /* REPRISE_CLI_H */
