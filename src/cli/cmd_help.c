/* SPDX-License-Identifier: MIT */
/* reprise help: the overview of commands, or one command's usage. */
#include <stdio.h>

#include "cli.h"

int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        fputs(cli_help_reprise, stdout);
        return RP_EXIT_OK;
    }
    const struct cli_command *c = cli_find(argv[1]);
    if (!c) {
        return cli_usage_error(NULL, "no such command: %s", argv[1]);
    }
    fputs(c->usage, stdout);
    return RP_EXIT_OK;
}
