/* SPDX-License-Identifier: MIT */
/* reprise shape: infers each exchange's expected response shape and writes the shape file. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const struct option cmd_shape_longopts[] = {
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

const char cmd_shape_usage[] =
    "usage: reprise shape RECORDING [-o FILE]\n"
    "\n"
    "Infer the expected shape of every response in RECORDING (status, media type, and for\n"
    "JSON a JSON Schema subset) and write it as NAME.shape.json beside the recording, for\n"
    "people to review and edit. 'reprise replay' checks against it. See docs/shape-file.md.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE   write the shape file to FILE instead\n"
    "  -h, --help          show this help\n";

static rp_code shape_opt(void *opts, int c, const char *arg, struct rp_error *err)
{
    struct shape_opts *o = opts;
    (void)err;
    if (c == 'o') {
        o->out = arg;
    }
    return RP_OK;
}

RP_TESTABLE rp_code parse_shape_args(int argc, char **argv, struct shape_opts *o,
                                     struct rp_error *err)
{
    memset(o, 0, sizeof(*o));
    int first;
    rp_code rc =
        cli_getopt(argc, argv, "o:", cmd_shape_longopts, shape_opt, o, &o->help, &first, err);
    if (rc || o->help) {
        return rc;
    }
    return cli_one_operand(argc, argv, first, "RECORDING", &o->file, err);
}

/* "METHOD /path?query" of a request, for people reading the shape file. */
static void label_of(const struct rp_request *rq, char *out, size_t outsz)
{
    const char *p = strstr(rq->url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    snprintf(out, outsz, "%s %s", rq->method, p ? p : "/");
}

static int run_shape(const struct shape_opts *o)
{
    struct rp_error err = {0};
    struct rp_reader_opts ropts = {.log = cli_log};
    struct rp_reader *r = NULL;
    struct rp_shapeset *set = NULL;
    char *path = NULL;
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    int exitc = RP_EXIT_INPUT;

    rp_code rc = rp_reader_open(o->file, &ropts, &r, &err);
    if (rc) {
        exitc = cli_fail(&err);
        goto out;
    }
    const struct rp_rec_meta *m = rp_reader_meta(r);
    set = rp_shapeset_new(m->name ? m->name : "");
    for (;;) {
        bool got = false;
        rc = rp_reader_next(r, &ex, &got, &err);
        if (rc) {
            exitc = cli_fail(&err);
            goto out;
        }
        if (!got) {
            break;
        }
        if (!ex.has_response) {
            continue; /* nothing to expect of an exchange that never had an answer */
        }
        char label[512];
        label_of(&ex.req, label, sizeof(label));
        rp_shapeset_put(set, ex.seq, label, rp_shape_infer(&ex.resp));
    }
    path = o->out ? rp_xstrdup(o->out) : rp_shape_path_for(o->file);
    rc = rp_shapeset_save(set, path, &err);
    if (rc) {
        exitc = cli_fail(&err);
        goto out;
    }
    printf("wrote %zu shapes to %s\n", rp_shapeset_count(set), path);
    exitc = RP_EXIT_OK;
out:
    free(path);
    rp_shapeset_free(set);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    return exitc;
}

int cmd_shape(int argc, char **argv)
{
    struct shape_opts o;
    struct rp_error err = {0};
    rp_code rc = parse_shape_args(argc, argv, &o, &err);
    int done = cli_parsed("shape", cmd_shape_usage, rc, &err, o.help);
    return done >= 0 ? done : run_shape(&o);
}
