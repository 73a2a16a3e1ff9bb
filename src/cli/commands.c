/* SPDX-License-Identifier: MIT */
/* The command table: one row per command, in the order 'reprise --help' lists them. */
#include <getopt.h>
#include <string.h>

#include "cli.h"

const struct cli_command cli_commands[] = {
    {"show", cmd_show, "print a recording as a table, as JSON lines, or its correlations",
     cmd_show_usage, cmd_show_longopts},
    {"shape", cmd_shape, "write the expected shapes of a recording's responses", cmd_shape_usage,
     cmd_shape_longopts},
    {"replay", cmd_replay, "replay recordings against a target and check every response",
     cmd_replay_usage, cmd_replay_longopts},
    {"diff", cmd_diff, "re-print a replay's failures from its results file, offline",
     cmd_diff_usage, cmd_diff_longopts},
    {"record", cmd_record, "record a browser session through a proxy", cmd_record_usage,
     cmd_record_longopts},
    {"ca", cmd_ca, "create or show the CA that record --forward intercepts HTTPS with",
     cmd_ca_usage, cmd_ca_longopts},
    {"capture", cmd_capture, "record HTTP exchanges from packets (a pcap file or live)",
     cmd_capture_usage, cmd_capture_longopts},
    {"import", cmd_import, "import a HAR file as a recording (static assets out, secrets scrubbed)",
     cmd_import_usage, cmd_import_longopts},
    {"export", cmd_export, "export a recording as a HAR 1.2 file for any HAR viewer",
     cmd_export_usage, cmd_export_longopts},
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
