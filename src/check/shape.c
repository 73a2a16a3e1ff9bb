/* SPDX-License-Identifier: MIT */
/*
 * The shape check: the live response against its expected shape, taken from the shape file
 * beside the recording, or from the checker's shape file (diff --shape), or stored with a
 * result read back, or else inferred from the recorded response. A response identical to the
 * recorded one passes without inferring anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct shapes_for {
    char *path;              /* the recording's */
    struct rp_shapeset *set; /* NULL: infer from the recording */
};

struct shape_check {
    struct shapes_for *by_rec;
    size_t n_by_rec;
    struct rp_shapeset *override; /* opts->shape_file, or NULL */
};

static void shape_free(void *ctx)
{
    struct shape_check *s = ctx;
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n_by_rec; i++) {
        free(s->by_rec[i].path);
        rp_shapeset_free(s->by_rec[i].set);
    }
    free(s->by_rec);
    rp_shapeset_free(s->override);
    free(s);
}

static void log_debug(const struct rp_checker_opts *o, const char *rec, const char *sp)
{
    if (o->log) {
        char msg[600];
        snprintf(msg, sizeof(msg), "%s: checking against %s", rec, sp);
        o->log(o->log_ud, RP_LOG_DEBUG, msg);
    }
}

/* Loads NAME.shape.json beside each recording that has one, and the override file. */
static rp_code shape_begin(const struct rp_checker_opts *o, void **out_ctx, struct rp_error *err)
{
    rp_code rc = RP_OK;
    struct shape_check *s = rp_xcalloc(1, sizeof(*s));
    s->by_rec = rp_xcalloc(o->n_recordings ? o->n_recordings : 1, sizeof(*s->by_rec));
    for (size_t i = 0; i < o->n_recordings; i++) {
        struct shapes_for *f = &s->by_rec[s->n_by_rec++];
        f->path = rp_xstrdup(o->recordings[i]);
        char *sp = rp_shape_path_for(o->recordings[i]);
        if (access(sp, F_OK) == 0) {
            rc = rp_shapeset_load(sp, &f->set, err);
            if (!rc) {
                log_debug(o, o->recordings[i], sp);
            }
        }
        free(sp);
        if (rc) {
            goto out;
        }
    }
    if (o->shape_file) {
        rc = rp_shapeset_load(o->shape_file, &s->override, err);
        if (rc) {
            goto out;
        }
    }
    *out_ctx = s;
    s = NULL;
out:
    shape_free(s);
    return rc;
}

static const struct rp_shapeset *set_for(const struct shape_check *s, const char *path)
{
    for (size_t i = 0; path && i < s->n_by_rec; i++) {
        if (strcmp(s->by_rec[i].path, path) == 0) {
            return s->by_rec[i].set;
        }
    }
    return NULL;
}

/*
 * True when the live response is the recorded one to the byte: same status, same media type,
 * same body. Such a response matches the shape inferred from the recording by construction,
 * so inferring and matching can be skipped (a shape file, which people may have tightened,
 * is always checked).
 */
static bool same_as_recorded(const struct rp_response *rec, const struct rp_response *live)
{
    if (rec->status != live->status || rec->body.len != live->body.len || rec->body.truncated ||
        live->body.truncated) {
        return false;
    }
    char a[128], b[128];
    bool ha = rp_media_type(&rec->headers, a, sizeof(a));
    bool hb = rp_media_type(&live->headers, b, sizeof(b));
    if (ha != hb || (ha && strcmp(a, b) != 0)) {
        return false;
    }
    return rec->body.len == 0 || memcmp(rec->body.data, live->body.data, rec->body.len) == 0;
}

static rp_code shape_exchange(void *ctx, const struct rp__check_input *in, struct rp_verdict *v,
                              enum rp_outcome *out, struct rp_error *err)
{
    (void)err;
    const struct shape_check *s = ctx;
    const struct rp_shape *shape = NULL;
    if (s->override) {
        shape = rp_shapeset_get(s->override, in->recorded_seq);
    } else if (in->recorded) {
        const struct rp_shapeset *set = set_for(s, in->recording);
        shape = set ? rp_shapeset_get(set, in->recorded_seq) : NULL;
    } else {
        shape = v->shape; /* stored with a result read back */
    }
    if (!shape && !in->recorded) {
        /* Offline with no shape at all: nothing to re-check against. */
        *out = RP_OUTCOME_SKIPPED;
        return RP_OK;
    }
    if (!shape && in->recorded->has_response) {
        if (!in->want_shape && same_as_recorded(&in->recorded->resp, &in->live->resp)) {
            *out = RP_OUTCOME_PASS;
            return RP_OK;
        }
        rp_shape_free(v->own_shape);
        v->own_shape = rp_shape_infer(&in->recorded->resp);
        shape = v->own_shape;
    }
    v->shape = shape;
    *out = !shape || rp_shape_match(shape, &in->live->resp, &v->mismatches) ? RP_OUTCOME_PASS
                                                                            : RP_OUTCOME_FAIL;
    return RP_OK;
}

const struct rp__check_ops rp__check_shape = {
    .name = "shape",
    .begin = shape_begin,
    .exchange = shape_exchange,
    .free = shape_free,
};
