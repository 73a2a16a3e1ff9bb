/* SPDX-License-Identifier: MIT */
/* reprise ca: create the interception CA, or show the one there is, and say how to trust it. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/ca.h>

#include "cli.h"

/* Option codes of the long options that have no short form. */
enum {
    OPT_CA_DIR = 256,
};

const struct option cmd_ca_longopts[] = {
    {"ca-dir", required_argument, NULL, OPT_CA_DIR},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct ca_opts {
    const char *dir; /* NULL: rp_ca_default_dir() */
    bool help;
};

#ifdef REPRISE_TESTING
rp_code parse_ca_args(int argc, char **argv, struct ca_opts *o, struct rp_error *err);
#endif

static rp_code ca_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct ca_opts *o = opts;
    if (c == OPT_CA_DIR) {
        if (!arg[0]) {
            return rp_error_set(err, RP_EUSAGE, "--ca-dir needs a directory");
        }
        o->dir = arg;
    }
    return RP_OK;
}

RP_TESTABLE rp_code parse_ca_args(int argc, char **argv, struct ca_opts *o, struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    int first;
    rp_code rc = cli_getopt(argc, argv, "", cmd_ca_longopts, ca_opt, o, &o->help, &first, err);
    if (rc || o->help) {
        return rc;
    }
    if (first < argc) {
        return rp_error_set(err, RP_EUSAGE, "unexpected argument %s", argv[first]);
    }
    return RP_OK;
}

static void print_how_to_trust(const char *cert, const char *dir)
{
    printf("\n"
           "To trust it, in the browser you record with and only there:\n");
    printf("  Chromium or Chrome on Linux: (certutil is in libnss3-tools)\n"
           "    certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n reprise -i %s\n",
           cert);
    printf("    or Settings > Privacy and security > Security > Manage certificates >\n"
           "    Authorities > Import.\n"
           "  Firefox: Settings > Privacy & Security > Certificates > View Certificates >\n"
           "    Authorities > Import, and tick \"Trust this CA to identify websites\".\n");
    printf("  curl: --cacert %s\n"
           "    (--proxy-cacert is only for a proxy reached over https://, which reprise is not)\n",
           cert);
    printf("\n"
           "Warning: anyone who has %s/%s can impersonate any web site to a\n"
           "browser that trusts this CA. Keep it private, and remove the CA when you are done:\n"
           "docs/ca.md says how.\n",
           dir, RP_CA_KEY_FILE);
}

static int run_ca(const struct ca_opts *o)
{
    struct rp_error err = {0};
    char dir[PATH_MAX];
    if (!o->dir && rp_ca_default_dir(dir, sizeof(dir), &err)) {
        return cli_fail(&err);
    }
    struct rp_ca *ca = NULL;
    bool created = false;
    if (rp_ca_open(o->dir ? o->dir : dir, true, &ca, &created, &err)) {
        return cli_fail(&err);
    }
    const char *where = o->dir ? o->dir : dir;
    const char *cert = rp_ca_cert_path(ca);
    printf("CA certificate: %s\n", cert);
    printf("%s CA in %s (its key, %s, is readable by you only)\n",
           created ? "created a new" : "existing", where, RP_CA_KEY_FILE);
    printf("SHA-256 fingerprint: %s\n", rp_ca_fingerprint(ca));
    print_how_to_trust(cert, where);
    rp_ca_free(ca);
    return RP_EXIT_OK;
}

int cmd_ca(int argc, char **argv)
{
    struct ca_opts o;
    struct rp_error err = {0};
    rp_code rc = parse_ca_args(argc, argv, &o, &err);
    int done = cli_parsed("ca", cli_help_ca, rc, &err, o.help);
    return done >= 0 ? done : run_ca(&o);
}
