/* SPDX-License-Identifier: MIT */
/*
 * Listings of a recording for people (`reprise show`): its header and one row per exchange
 * with a summary, its decompressed JSON lines, or the correlations replay will carry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/replay.h>
#include <reprise/report.h>
#include <reprise/scrub.h>

#include "internal.h"

/* A byte count as "812 B", "3.4 KiB", "12.0 MiB". */
static void format_bytes(uint64_t n, char *out, size_t outsz)
{
    if (n < 1024) {
        snprintf(out, outsz, "%llu B", (unsigned long long)n);
    } else if (n < 1024 * 1024) {
        snprintf(out, outsz, "%.1f KiB", (double)n / 1024);
    } else if (n < 1024ull * 1024 * 1024) {
        snprintf(out, outsz, "%.1f MiB", (double)n / (1024 * 1024));
    } else {
        snprintf(out, outsz, "%.1f GiB", (double)n / (1024.0 * 1024 * 1024));
    }
}

static void print_header(FILE *out, const struct rp_rec_meta *m, bool color)
{
    const char *b = color ? "\033[1m" : "";
    const char *r = color ? "\033[0m" : "";
    fprintf(out, "%s%s%s", b, m->name && m->name[0] ? m->name : "(unnamed)", r);
    fprintf(out, "  source: %s", m->source_kind ? m->source_kind : "unknown");
    if (m->source_detail) {
        fprintf(out, " %s", m->source_detail);
    }
    if (m->created) {
        fprintf(out, "  created: %s", m->created);
    }
    if (m->n_tenants) {
        fprintf(out, "  tenants:");
        for (size_t i = 0; i < m->n_tenants; i++) {
            fprintf(out, "%s%s", i ? "," : " ", m->tenants[i]);
        }
    }
    fprintf(out, "\n");
}

/* The unsourced ids replay would refuse (writes) or warn about (reads). */
static void list_unsourced(FILE *out, const struct rp_unsourced_finder *u)
{
    size_t n = rp_unsourced_count(u);
    size_t writes = 0;
    if (n) {
        fprintf(out, "\nunsourced: ids a request sends that no earlier response gave\n");
        fprintf(out, "%4s  %-7s %-34s %-26s %s\n", "SEQ", "METHOD", "WHERE", "VALUE", "REPLAY");
    }
    for (size_t i = 0; i < n; i++) {
        const struct rp_unsourced *e = rp_unsourced_get(u, i);
        char where[128];
        rp_location_format(&e->where, where, sizeof(where));
        size_t vlen = strlen(e->value);
        writes += e->write;
        fprintf(out, "%4llu  %-7s %-34s %.*s%s%*s %s\n", (unsigned long long)e->seq, e->method,
                where, vlen > 24 ? 24 : (int)vlen, e->value, vlen > 24 ? "..." : "",
                vlen > 24 ? 0 : (int)(26 - vlen), "",
                e->write ? "refused (write)" : "warning (read)");
    }
    fprintf(out, "%zu unsourced (%zu in writes, refused unless --const or --allow-unsourced)\n", n,
            writes);
    if (rp_unsourced_finder_saturated(u)) {
        fprintf(out, "unsourced ids not looked for after exchange %llu (too many values)\n",
                (unsigned long long)rp_unsourced_finder_saturated(u));
    }
}

/* The correlator and the finder as replay would set them up with o's binds, consts, tenants. */
static rp_code survey_setup(const struct rp_listing_opts *o, struct rp_correlator *c,
                            struct rp_unsourced_finder *u, struct rp_error *err)
{
    for (size_t i = 0; i < o->n_binds; i++) {
        const char *eq = strchr(o->binds[i], '=');
        if (!eq || eq == o->binds[i]) {
            return rp_error_set(err, RP_EUSAGE, "--bind wants NAME=PLACE, got '%s'", o->binds[i]);
        }
        char *name = rp_xstrndup(o->binds[i], (size_t)(eq - o->binds[i]));
        rp_code rc = rp_correlator_bind(c, name, eq + 1, err);
        free(name);
        if (rc) {
            return rc;
        }
    }
    for (size_t i = 0; i < o->n_consts; i++) {
        rp_unsourced_finder_const(u, o->consts[i]);
    }
    for (size_t i = 0; i < o->n_tenants; i++) {
        const char *eq = strchr(o->tenants[i], '=');
        char *from = eq ? rp_xstrndup(o->tenants[i], (size_t)(eq - o->tenants[i]))
                        : rp_xstrdup(o->tenants[i]);
        rp_unsourced_finder_tenant(u, from);
        rp_correlator_tenant(c, from);
        free(from);
    }
    return RP_OK;
}

static rp_code list_correlations(const char *path, FILE *out, const struct rp_listing_opts *o,
                                 struct rp_error *err)
{
    struct rp_correlator *c = rp_correlator_new();
    struct rp_unsourced_finder *u = rp_unsourced_finder_new();
    rp_code rc = survey_setup(o, c, u, err);
    if (!rc) {
        rc = rp_replay_survey(path, c, u, o->log, o->log_ud, err);
    }
    if (rc) {
        goto out;
    }
    size_t n = rp_correlator_count(c);
    fprintf(out, "%4s %4s  %-34s %-30s %s\n", "FROM", "TO", "FROM WHERE", "TO WHERE", "VALUE");
    for (size_t i = 0; i < n; i++) {
        const struct rp_correlation *k = rp_correlator_get(c, i);
        char from[128], to[128];
        rp_location_format(&k->from, from, sizeof(from));
        rp_location_format(&k->to, to, sizeof(to));
        /* Long values (tokens) are cut: the listing is for people, not a copy of the file. */
        size_t vlen = strlen(k->value);
        fprintf(out, "%4llu %4llu  %-34s %-30s %.*s%s%s\n", (unsigned long long)k->from_seq,
                (unsigned long long)k->to_seq, from, to, vlen > 24 ? 24 : (int)vlen, k->value,
                vlen > 24 ? "..." : "",
                k->bound    ? "  (bound)"
                : k->strong ? "  (id)"
                            : "");
    }
    fprintf(out, "%zu correlations\n", n);
    list_unsourced(out, u);
    rc = rp__listing_vars(path, out, o, err);
out:
    rp_unsourced_finder_free(u);
    rp_correlator_free(c);
    return rc;
}

static rp_code list_exchanges(const char *path, FILE *out, const struct rp_listing_opts *o,
                              struct rp_error *err)
{
    struct rp_reader *r = NULL;
    struct rp_reader_opts ropts = {.log = o->log, .log_ud = o->log_ud};
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    bool json = o->kind == RP_LISTING_JSON;
    bool color = o->color;

    rp_code rc = rp_reader_open(path, &ropts, &r, err);
    if (rc) {
        goto out;
    }
    if (json) {
        size_t n;
        const char *t = rp_reader_meta_text(r, &n);
        fwrite(t, 1, n, out);
        fputc('\n', out);
    } else {
        print_header(out, rp_reader_meta(r), color);
        fprintf(out, "%5s  %-7s %-60s %6s %10s %9s\n", "SEQ", "METHOD", "URL", "STATUS", "BODY",
                "MS");
    }

    uint64_t count = 0, answered = 0, bytes = 0, total_us = 0, failed = 0;
    for (;;) {
        bool got = false;
        rc = rp_reader_next(r, &ex, &got, err);
        if (rc) {
            /* What was printed stays printed; the error says where reading stopped. */
            fflush(out);
            goto out;
        }
        if (!got) {
            break;
        }
        count++;
        if (json) {
            size_t n;
            const char *t = rp_reader_line_text(r, &n);
            fwrite(t, 1, n, out);
            fputc('\n', out);
            continue;
        }
        char size[24] = "-";
        char status[8] = "-";
        if (ex.has_response) {
            answered++;
            /* A truncated body's full size, when known (0: decoding stopped at the cap). */
            uint64_t full = ex.resp.body.truncated && ex.resp.body.orig_len > ex.resp.body.len
                                ? ex.resp.body.orig_len
                                : ex.resp.body.len;
            bytes += full;
            format_bytes(full, size, sizeof(size));
            snprintf(status, sizeof(status), "%u", ex.resp.status);
            if (ex.resp.status >= 400) {
                failed++;
            }
        }
        total_us += ex.duration_us;
        const char *sc = "";
        if (color && ex.has_response) {
            sc = ex.resp.status >= 400   ? "\033[31m"
                 : ex.resp.status >= 300 ? "\033[33m"
                                         : "\033[32m";
        }
        fprintf(out, "%5llu  %-7s %-60s %s%6s%s %10s %9.1f%s\n", (unsigned long long)ex.seq,
                ex.req.method, ex.req.url, sc, status, color ? "\033[0m" : "", size,
                (double)ex.duration_us / 1000.0,
                ex.incomplete ? "  incomplete" : (ex.resp.body.truncated ? "  truncated" : ""));
    }
    size_t end_len = 0;
    const char *end = rp_reader_end_text(r, &end_len);
    if (json && end) {
        /* A results file's end record, as the writer wrote it. */
        fputs("{\"end\":", out);
        fwrite(end, 1, end_len, out);
        fputs("}\n", out);
    }
    if (!json) {
        char total[24];
        format_bytes(bytes, total, sizeof(total));
        fprintf(out,
                "%llu exchanges, %llu with a response (%llu status >= 400), %s of response "
                "bodies, %.1f ms in all%s\n",
                (unsigned long long)count, (unsigned long long)answered, (unsigned long long)failed,
                total, (double)total_us / 1000.0,
                rp_reader_truncated(r) ? " (file truncated)" : "");
    }
out:
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    return rc;
}

rp_code rp_listing_print(const char *path, FILE *out, const struct rp_listing_opts *o,
                         struct rp_error *err)
{
    if (o->kind == RP_LISTING_CORRELATIONS) {
        return list_correlations(path, out, o, err);
    }
    return list_exchanges(path, out, o, err);
}

void rp_listing_request(FILE *out, const char *session, uint64_t seq, const struct rp_request *req)
{
    /* What a dry run shows is scrubbed as a recording is: a recording made before a rule
     * existed (or with --no-redact) still shows placeholders, never a card number. A request
     * that cannot be scrubbed (past a limit) is not shown. */
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    struct rp_scrub *s = rp_scrub_new();
    rp_code rc = rp_request_copy(&ex.req, req, NULL);
    if (!rc) {
        rc = rp_scrub_exchange(s, &ex, NULL);
    }
    rp_scrub_free(s);
    if (rc) {
        fprintf(out, "# %s, exchange %llu: not shown (it could not be scrubbed)\n\n", session,
                (unsigned long long)seq);
        rp_exchange_cleanup(&ex);
        return;
    }
    const struct rp_request *rq = &ex.req;
    fprintf(out, "# %s, exchange %llu\n%s %s\n", session, (unsigned long long)seq, rq->method,
            rq->url);
    for (size_t i = 0; i < rq->headers.n; i++) {
        fprintf(out, "%s: %s\n", rq->headers.v[i].name, rq->headers.v[i].value);
    }
    if (rq->body.len) {
        fprintf(out, "\n%.*s\n", (int)rq->body.len, (const char *)rq->body.data);
    }
    fputc('\n', out);
    rp_exchange_cleanup(&ex);
}
