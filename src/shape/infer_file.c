/* SPDX-License-Identifier: MIT */
/* A shape set inferred from a whole recording, read as a stream (`reprise shape`). */
#include <stdio.h>
#include <string.h>

#include <reprise/recording.h>

#include "internal.h"

/* "METHOD /path?query" of a request, for people reading the shape file. */
static void label_of(const struct rp_request *rq, char *out, size_t outsz)
{
    const char *p = strstr(rq->url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    snprintf(out, outsz, "%s %s", rq->method, p ? p : "/");
}

rp_code rp_shapeset_infer(const char *recording_path, rp_log_fn log, void *log_ud,
                          struct rp_shapeset **out, struct rp_error *err)
{
    struct rp_reader_opts ropts = {.log = log, .log_ud = log_ud};
    struct rp_reader *r = NULL;
    struct rp_shapeset *set = NULL;
    struct rp_exchange ex;
    rp_exchange_init(&ex);

    rp_code rc = rp_reader_open(recording_path, &ropts, &r, err);
    if (rc) {
        goto out;
    }
    const struct rp_rec_meta *m = rp_reader_meta(r);
    set = rp_shapeset_new(m->name ? m->name : "");
    for (;;) {
        bool got = false;
        rc = rp_reader_next(r, &ex, &got, err);
        if (rc || !got) {
            break;
        }
        if (!ex.has_response) {
            continue; /* nothing to expect of an exchange that never had an answer */
        }
        char label[512];
        label_of(&ex.req, label, sizeof(label));
        rp_shapeset_put(set, ex.seq, label, rp_shape_infer(&ex.resp));
    }
    if (!rc) {
        *out = set;
        set = NULL;
    }
out:
    rp_shapeset_free(set);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    return rc;
}
