/* SPDX-License-Identifier: MIT */
/* The command table: one row per command, in the order 'reprise --help' lists them. */
#include <getopt.h>
#include <string.h>

#include "cli.h"

const struct cli_command cli_commands[] = {
    {"show", cmd_show, "print a recording as a table, or as JSON lines",
     cmd_show_usage, cmd_show_longopts},
    {"help", cmd_help, "describe reprise or one of its commands", cmd_help_usage, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const char cmd_help_usage[] = "usage: reprise help [COMMAND]\n"
                              "\n"
                              "Describe reprise, or one command.\n";

const struct cli_command *cli_find(const char *name)
{
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        if (strcmp(c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}
