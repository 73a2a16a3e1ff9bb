/* SPDX-License-Identifier: MIT */
/* The options every recorder (record, capture, import) shares, parsed once and turned into the
 * recording pipeline's options (reprise/intake.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* "1048576", "512k", "4M", "4MiB": bytes, in units of 1024, up to RP_MAX_BODY_RECORDED. */
static bool parse_size(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (!s || *s < '0' || *s > '9') {
        return false;
    }
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mul = 1;
    if (strcmp(end, "") == 0 || strcmp(end, "B") == 0) {
        mul = 1;
    } else if (strcmp(end, "k") == 0 || strcmp(end, "K") == 0 || strcmp(end, "KiB") == 0) {
        mul = 1024;
    } else if (strcmp(end, "M") == 0 || strcmp(end, "MiB") == 0) {
        mul = 1024 * 1024;
    } else {
        return false;
    }
    if (v == 0 || v > RP_MAX_BODY_RECORDED / mul) {
        return false;
    }
    *out = (uint64_t)v * mul;
    return true;
}

rp_code cli_recopts_parse(int c, const char *arg, struct cli_recopts *ro, bool *out_handled,
                          struct rp_error *err)
{
    *out_handled = true;
    switch (c) {
    case 'n':
        if (!arg[0]) {
            return rp_error_set(err, RP_EUSAGE, "--name needs a non-empty NAME");
        }
        ro->name = arg;
        break;
    case 'T':
        if (!arg[0]) {
            return rp_error_set(err, RP_EUSAGE, "--tenant needs a non-empty NAME");
        }
        if (ro->n_tenants >= RP_MAX_TENANTS) {
            return rp_error_set(err, RP_EUSAGE, "more than %u tenants", RP_MAX_TENANTS);
        }
        cli_push_arg(&ro->tenants, &ro->n_tenants, arg);
        break;
    case CLI_OPT_INCLUDE_STATIC:
        ro->include_static = true;
        break;
    case CLI_OPT_NO_REDACT:
        ro->no_redact = true;
        break;
    case CLI_OPT_REDACT_HEADER:
        cli_push_arg(&ro->headers, &ro->n_headers, arg);
        break;
    case CLI_OPT_REDACT_FIELD:
        cli_push_arg(&ro->fields, &ro->n_fields, arg);
        break;
    case CLI_OPT_MAX_BODY:
        if (!parse_size(arg, &ro->max_body)) {
            return rp_error_set(err, RP_EUSAGE,
                                "--max-body wants a size from 1 to 32M (512k, 4M), got '%s'", arg);
        }
        break;
    default:
        *out_handled = false;
        break;
    }
    return RP_OK;
}

rp_code cli_recopts_check(const struct cli_recopts *ro, struct rp_error *err)
{
    if (ro->no_redact && (ro->n_headers || ro->n_fields)) {
        return rp_error_set(err, RP_EUSAGE,
                            "--no-redact cannot go with --redact-header or --redact-field");
    }
    return RP_OK;
}

void cli_recopts_fill(const struct cli_recopts *ro, struct rp_intake_opts *io)
{
    io->name = ro->name;
    io->tenants = ro->tenants;
    io->n_tenants = ro->n_tenants;
    io->include_static = ro->include_static;
    io->no_redact = ro->no_redact;
    io->redact_headers = ro->headers;
    io->n_redact_headers = ro->n_headers;
    io->redact_fields = ro->fields;
    io->n_redact_fields = ro->n_fields;
    io->max_body = ro->max_body;
    io->log = cli_log;
    if (ro->no_redact) {
        cli_log(NULL, RP_LOG_WARN, "--no-redact: secrets are recorded as they are");
    }
}

void cli_recopts_warn_tenant(const struct cli_recopts *ro)
{
    if (ro->n_tenants == 0) {
        /* The tenant guard (replay.h): without one, replay refuses a recording with writes. */
        cli_log(NULL, RP_LOG_WARN,
                "no tenant declared: add --tenant NAME (the tenant this session works in), or "
                "replay will refuse the recording's writes");
    }
}

void cli_recopts_cleanup(struct cli_recopts *ro)
{
    free(ro->tenants);
    free(ro->headers);
    free(ro->fields);
    memset(ro, 0, sizeof(*ro));
}
