/* SPDX-License-Identifier: MIT */
/* reprise: the command-line entry point. Global flags, then dispatch to one cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli_verbosity = -1;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            cli_verbosity = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(cli_help_reprise, stdout);
            return RP_EXIT_OK;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("reprise %s\n", rp_version());
            return RP_EXIT_OK;
        } else {
            return cli_usage_error(NULL, "unknown option: %s", a);
        }
    }
    if (i == argc) {
        fputs(cli_help_reprise, stderr);
        return RP_EXIT_INPUT;
    }
    const struct cli_command *c = cli_find(argv[i]);
    if (!c) {
        return cli_usage_error(NULL, "no such command: %s", argv[i]);
    }
    return c->run(argc - i, argv + i);
}
