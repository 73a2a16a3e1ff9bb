/* SPDX-License-Identifier: MIT */
/* reprise help: the overview of commands, or one command's usage. */
#include <stdio.h>

#include "cli.h"

static const char main_usage[] =
    "usage: reprise [-q | -v] COMMAND [ARGS...]\n"
    "\n"
    "Record a web session once; replay it against production after every deploy.\n"
    "\n"
    "Commands:\n"
    "%s"
    "\n"
    "Global options:\n"
    "  -q, --quiet      print errors only\n"
    "  -v, --verbose    print debugging detail\n"
    "  -h, --help       show this help\n"
    "  -V, --version    show the version\n"
    "\n"
    "'reprise help COMMAND' or 'reprise COMMAND --help' describes a command.\n"
    "Exit codes: 0 success, 1 a check failed, 2 usage or input error, 3 target failed.\n";

void cli_print_main_usage(FILE *out)
{
    char list[2048];
    size_t n = 0;
    list[0] = '\0';
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        int k = snprintf(list + n, sizeof(list) - n, "  %-9s %s\n", c->name, c->summary);
        if (k < 0 || (size_t)k >= sizeof(list) - n) {
            break;
        }
        n += (size_t)k;
    }
    fprintf(out, main_usage, list);
}

int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        cli_print_main_usage(stdout);
        return RP_EXIT_OK;
    }
    const struct cli_command *c = cli_find(argv[1]);
    if (!c) {
        return cli_usage_error(NULL, "no such command: %s", argv[1]);
    }
    cli_print_usage(c, stdout);
    return RP_EXIT_OK;
}
