/* SPDX-License-Identifier: MIT */
/* reprise import: a HAR file from the browser's developer tools, a proxy or a client, as a
 * recording (static assets left out and secrets scrubbed, by default). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/har.h>

#include "cli.h"

/* Option codes of the long options that have no short form. */
enum {
    OPT_INCLUDE_STATIC = 256,
    OPT_NO_REDACT,
    OPT_REDACT_HEADER,
    OPT_REDACT_FIELD,
};

const struct option cmd_import_longopts[] = {
    {"output", required_argument, NULL, 'o'},
    {"name", required_argument, NULL, 'n'},
    {"tenant", required_argument, NULL, 'T'},
    {"include-static", no_argument, NULL, OPT_INCLUDE_STATIC},
    {"no-redact", no_argument, NULL, OPT_NO_REDACT},
    {"redact-header", required_argument, NULL, OPT_REDACT_HEADER},
    {"redact-field", required_argument, NULL, OPT_REDACT_FIELD},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

const char cmd_import_usage[] =
    "usage: reprise import FILE.har [-o FILE] [options]\n"
    "\n"
    "Import a HAR 1.2 file (saved from the browser's developer tools, a proxy or an HTTP\n"
    "client) as a recording, one exchange per entry, in the file's order. Images, fonts, style\n"
    "sheets, scripts and media are left out, and passwords, tokens, Authorization and cookie\n"
    "values become {{secret:NAME}} placeholders that replay fills from REPRISE_SECRET_NAME.\n"
    "See docs/har.md.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE         write the recording to FILE (default: FILE.har's path with\n"
    "                            .jsonl.gz for .har)\n"
    "  -n, --name NAME           the recording's name (default: the file name without .har)\n"
    "  -T, --tenant NAME         a tenant identifier in this session, for the replayer to\n"
    "                            rewrite; repeatable\n"
    "      --include-static      keep static assets (images, fonts, CSS, JavaScript, media)\n"
    "      --no-redact           record secrets as they are (local debugging only)\n"
    "      --redact-header NAME  also scrub this request header's value; repeatable\n"
    "      --redact-field NAME   also scrub fields whose name contains NAME; repeatable\n"
    "  -h, --help                show this help\n";

struct import_opts {
    const char *file;
    const char *out;
    const char *name;
    const char **tenants; /* borrowed from argv; the array is owned */
    size_t n_tenants;
    const char **headers;
    size_t n_headers;
    const char **fields;
    size_t n_fields;
    bool include_static;
    bool no_redact;
    bool help;
};

#ifdef REPRISE_TESTING
rp_code parse_import_args(int argc, char **argv, struct import_opts *o, struct rp_error *err);
void import_opts_cleanup(struct import_opts *o);
#endif

RP_TESTABLE void import_opts_cleanup(struct import_opts *o)
{
    free(o->tenants);
    free(o->headers);
    free(o->fields);
    o->tenants = o->headers = o->fields = NULL;
    o->n_tenants = o->n_headers = o->n_fields = 0;
}

RP_TESTABLE rp_code parse_import_args(int argc, char **argv, struct import_opts *o,
                                      struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:n:T:h", cmd_import_longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->out = optarg;
            break;
        case 'n':
            if (!optarg[0]) {
                return rp_error_set(err, RP_EUSAGE, "--name needs a non-empty NAME");
            }
            o->name = optarg;
            break;
        case 'T':
            if (!optarg[0]) {
                return rp_error_set(err, RP_EUSAGE, "--tenant needs a non-empty NAME");
            }
            if (o->n_tenants >= RP_MAX_TENANTS) {
                return rp_error_set(err, RP_EUSAGE, "more than %u tenants", RP_MAX_TENANTS);
            }
            cli_push_arg(&o->tenants, &o->n_tenants, optarg);
            break;
        case OPT_INCLUDE_STATIC:
            o->include_static = true;
            break;
        case OPT_NO_REDACT:
            o->no_redact = true;
            break;
        case OPT_REDACT_HEADER:
            cli_push_arg(&o->headers, &o->n_headers, optarg);
            break;
        case OPT_REDACT_FIELD:
            cli_push_arg(&o->fields, &o->n_fields, optarg);
            break;
        case 'h':
            o->help = true;
            return RP_OK;
        case ':':
            return rp_error_set(err, RP_EUSAGE, "%s needs a value", argv[optind - 1]);
        default:
            return rp_error_set(err, RP_EUSAGE, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        return rp_error_set(err, RP_EUSAGE, "missing FILE.har");
    }
    if (optind + 1 < argc) {
        return rp_error_set(err, RP_EUSAGE, "one FILE.har at a time (got %s)", argv[optind + 1]);
    }
    o->file = argv[optind];
    if (strcmp(o->file, "-") == 0 && !o->out) {
        return rp_error_set(err, RP_EUSAGE, "reading standard input needs -o FILE");
    }
    if (o->no_redact && (o->n_headers || o->n_fields)) {
        return rp_error_set(err, RP_EUSAGE,
                            "--no-redact cannot go with --redact-header or "
                            "--redact-field");
    }
    return RP_OK;
}

/* Length of path without a final ".har" (any case). */
static size_t stem_len(const char *path)
{
    size_t n = strlen(path);
    if (n > 4 && rp_strieq(path + n - 4, 4, ".har")) {
        n -= 4;
    }
    return n;
}

static int run_import(const struct import_opts *o)
{
    struct rp_error err = {0};
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    struct rp_scrub *scrub = NULL;
    char *out = NULL;
    int exitc = RP_EXIT_INPUT;

    if (o->out) {
        out = rp_xstrdup(o->out);
    } else {
        size_t n = stem_len(o->file);
        size_t sz = n + sizeof(".jsonl.gz");
        out = rp_xmalloc(sz);
        snprintf(out, sz, "%.*s.jsonl.gz", (int)n, o->file);
    }
    if (o->name) {
        meta.name = rp_xstrdup(o->name);
    } else if (strcmp(o->file, "-") == 0) {
        meta.name = rp_xstrdup("har");
    } else {
        const char *base = strrchr(o->file, '/');
        base = base ? base + 1 : o->file;
        meta.name = rp_xstrndup(base, stem_len(base));
    }
    meta.source_kind = rp_xstrdup("har");
    meta.source_detail = rp_xstrdup(o->file);
    for (size_t i = 0; i < o->n_tenants; i++) {
        if (rp_rec_meta_add_tenant(&meta, o->tenants[i], &err)) {
            exitc = cli_fail(&err);
            goto out;
        }
    }
    scrub = cli_scrub_new(o->no_redact, o->headers, o->n_headers, o->fields, o->n_fields);
    struct rp_har_import_opts hopts = {
        .include_static = o->include_static,
        .scrub = scrub,
        .log = cli_log,
    };
    struct rp_har_stats st = {0};
    if (rp_har_import(o->file, out, &meta, &hopts, &st, &err)) {
        exitc = cli_fail(&err);
        goto out;
    }
    printf("imported %llu of %llu entries from %s to %s", (unsigned long long)st.exchanges,
           (unsigned long long)st.entries, o->file, out);
    if (st.static_assets || st.dropped) {
        printf(" (%llu static assets left out, %llu not replayable)",
               (unsigned long long)st.static_assets, (unsigned long long)st.dropped);
    }
    printf("\n");
    exitc = RP_EXIT_OK;
out:
    rp_scrub_free(scrub);
    free(out);
    rp_rec_meta_cleanup(&meta);
    return exitc;
}

int cmd_import(int argc, char **argv)
{
    struct import_opts o;
    struct rp_error err = {0};
    int exitc;
    if (parse_import_args(argc, argv, &o, &err)) {
        exitc = cli_usage_error("import", "%s", err.msg);
    } else if (o.help) {
        fputs(cmd_import_usage, stdout);
        exitc = RP_EXIT_OK;
    } else {
        exitc = run_import(&o);
    }
    import_opts_cleanup(&o);
    return exitc;
}
