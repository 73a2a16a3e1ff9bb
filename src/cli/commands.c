/* SPDX-License-Identifier: MIT */
/* The command table. Each --help text is generated from docs/help/NAME.txt (cmake/help.cmake). */
#include <getopt.h>
#include <string.h>

#include "cli.h"

const struct cli_command cli_commands[] = {
    {"show", cmd_show, cli_help_show, cmd_show_longopts},
    {"shape", cmd_shape, cli_help_shape, cmd_shape_longopts},
    {"replay", cmd_replay, cli_help_replay, cmd_replay_longopts},
    {"probe", cmd_probe, cli_help_probe, cmd_probe_longopts},
    {"diff", cmd_diff, cli_help_diff, cmd_diff_longopts},
    {"merge", cmd_merge, cli_help_merge, cmd_merge_longopts},
    {"record", cmd_record, cli_help_record, cmd_record_longopts},
    {"ca", cmd_ca, cli_help_ca, cmd_ca_longopts},
    {"capture", cmd_capture, cli_help_capture, cmd_capture_longopts},
    {"import", cmd_import, cli_help_import, cmd_import_longopts},
    {"export", cmd_export, cli_help_export, cmd_export_longopts},
    {"lint", cmd_lint, cli_help_lint, cmd_lint_longopts},
    {"help", cmd_help, cli_help_help, NULL},
    {NULL, NULL, NULL, NULL},
};

const struct cli_command *cli_find(const char *name)
{
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        if (strcmp(c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}
