/* SPDX-License-Identifier: MIT */
/*
 * The variables part of `reprise show --correlations`: one row per record-time variable, with
 * the exchange and place that give it and every exchange and place that sends it back, read
 * from the recording's declarations and placeholders (the recording holds no value to show).
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/buf.h>
#include <reprise/limits.h>
#include <reprise/recording.h>

#include "internal.h"

/* One variable: where it is born, and its uses so far as text ("#2 header Authorization"). */
struct var_row {
    char *name;
    char *from;
    uint64_t seq;
    struct rp_buf uses;
    size_t n_uses;
};

struct var_rows {
    struct var_row *v;
    size_t n;
};

/* Uses shown per variable; past it, a count. */
#define MAX_USES_SHOWN 16u

static void note_use(struct var_row *r, uint64_t seq, const char *where, const char *name)
{
    r->n_uses++;
    if (r->n_uses > MAX_USES_SHOWN) {
        return;
    }
    /* The text is for people and capped: a cut list is fine. */
    rp_ignore(rp_buf_addf(&r->uses, NULL, "%s#%llu %s%s%s", r->uses.len ? ", " : "",
                          (unsigned long long)seq, where, name ? " " : "", name ? name : ""));
}

static bool holds(const char *s, size_t n, const char *ph, size_t phlen)
{
    return s && n >= phlen && memmem(s, n, ph, phlen) != NULL;
}

/* Notes where the request of ex holds each variable's placeholder. */
static void find_uses(struct var_rows *rows, const struct rp_exchange *ex)
{
    for (size_t i = 0; i < rows->n; i++) {
        struct var_row *r = &rows->v[i];
        char ph[RP_MAX_VAR_NAME + 16];
        int k = snprintf(ph, sizeof(ph), "{{var:%s}}", r->name);
        if (k <= 0 || (size_t)k >= sizeof(ph)) {
            continue;
        }
        size_t phlen = (size_t)k;
        const struct rp_request *rq = &ex->req;
        if (rq->url) {
            const char *q = strchr(rq->url, '?');
            size_t before = q ? (size_t)(q - rq->url) : strlen(rq->url);
            if (holds(rq->url, before, ph, phlen)) {
                note_use(r, ex->seq, "path", NULL);
            }
            if (q && holds(q, strlen(q), ph, phlen)) {
                note_use(r, ex->seq, "query", NULL);
            }
        }
        for (size_t h = 0; h < rq->headers.n; h++) {
            const struct rp_header *e = &rq->headers.v[h];
            if (holds(e->value, e->value_len, ph, phlen)) {
                note_use(r, ex->seq, "header", e->name);
            }
        }
        if (holds((const char *)rq->body.data, rq->body.len, ph, phlen)) {
            note_use(r, ex->seq, "body", NULL);
        }
    }
}

rp_code rp__listing_vars(const char *path, FILE *out, const struct rp_listing_opts *o,
                         struct rp_error *err)
{
    struct rp_reader_opts ropts = {.log = o->log, .log_ud = o->log_ud};
    struct rp_reader *rd = NULL;
    struct var_rows rows = {0};
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    rp_code rc = rp_reader_open(path, &ropts, &rd, err);
    while (!rc) {
        bool got = false;
        rc = rp_reader_next(rd, &ex, &got, err);
        if (rc || !got) {
            break;
        }
        find_uses(&rows, &ex);
        for (size_t i = 0; i < ex.n_vars && rows.n < RP_MAX_VARS; i++) {
            rows.v = rp_xreallocarray(rows.v, rows.n + 1, sizeof(*rows.v));
            struct var_row *r = &rows.v[rows.n++];
            r->name = rp_xstrdup(ex.vars[i].name);
            r->from = rp_xstrdup(ex.vars[i].from);
            r->seq = ex.seq;
            r->n_uses = 0;
            rp_buf_init(&r->uses, RP_REPORT_TEXT_MAX);
        }
        rp_exchange_cleanup(&ex);
    }
    if (!rc && rows.n) {
        fprintf(out, "\n%-24s %4s  %-34s %s\n", "VARIABLE", "FROM", "FROM WHERE", "USED AT");
        for (size_t i = 0; i < rows.n; i++) {
            const struct var_row *r = &rows.v[i];
            fprintf(out, "%-24s %4llu  %-34s %s", r->name, (unsigned long long)r->seq, r->from,
                    r->n_uses ? r->uses.data : "(never sent back)");
            if (r->n_uses > MAX_USES_SHOWN) {
                fprintf(out, " and %zu more", r->n_uses - MAX_USES_SHOWN);
            }
            fprintf(out, "\n");
        }
    }
    if (!rc) {
        fprintf(out, "%zu variables\n", rows.n);
    }
    for (size_t i = 0; i < rows.n; i++) {
        free(rows.v[i].name);
        free(rows.v[i].from);
        rp_buf_cleanup(&rows.v[i].uses);
    }
    free(rows.v);
    rp_exchange_cleanup(&ex);
    rp_reader_free(rd);
    return rc;
}
