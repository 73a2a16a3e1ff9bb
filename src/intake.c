/* SPDX-License-Identifier: MIT */
/*
 * The recording pipeline (reprise/intake.h): every source's exchanges pass the static filter,
 * the path filter, the body cap and scrubbing here, in that order, and go to the writer.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <reprise/filter.h>
#include <reprise/intake.h>
#include <reprise/limits.h>
#include <reprise/recording.h>
#include <reprise/scrub.h>
#include <reprise/vars.h>

struct rp_intake {
    char *output; /* the path renamed into place (replace) or written */
    char *path;   /* the path the writer writes: output, or output.part */
    char **only_paths;
    size_t n_only_paths;
    bool include_static;
    uint64_t max_body;
    bool created_from_first;
    bool replace;
    bool closed;
    struct rp_rec_meta meta; /* the header, until the writer is opened */
    struct rp_writer_opts wopts;
    struct rp_writer *w;    /* NULL until opened (created_from_first) */
    struct rp_scrub *scrub; /* NULL with no_redact */
    /*
     * Record-time variables (reprise/vars.h): the map from a server-issued credential's value
     * to its variable name, kept for the whole recording, so that a value a response gave is
     * replaced by {{var:NAME}} in every later exchange of every source alike. NULL with
     * no_redact.
     */
    struct rp_varrec *vars;
    /* Lint of what was written (scrub.h): the default rules, whatever the recording's own, so
     * that a warning here is a finding of `reprise lint` later. */
    struct rp_scrub *lint;
    uint64_t lint_found;
    struct rp_intake_counts counts;
    rp_code write_rc; /* the writer's first error, sticky */
    bool settled;     /* the writer's losses are counted (settle_lost) */
    struct rp_error write_err;
};

/*
 * The writer failed (first seen now): the exchanges it took but never wrote whole are moved
 * from recorded to errors and counted as lost.
 */
static void settle_lost(struct rp_intake *in)
{
    if (!in->w || in->settled) {
        return;
    }
    in->settled = true;
    uint64_t written = rp_writer_written(in->w);
    if (written < in->counts.recorded) {
        uint64_t lost = in->counts.recorded - written;
        in->counts.recorded = written;
        in->counts.errors += lost;
        in->counts.lost += lost;
    }
}

/* The recording's name: the output's base name without .jsonl.gz (or .gz, .jsonl). */
static char *name_from_path(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    static const char *const exts[] = {".jsonl.gz", ".gz", ".jsonl"};
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        size_t e = strlen(exts[i]);
        if (n > e && strcmp(b + n - e, exts[i]) == 0) {
            n -= e;
            break;
        }
    }
    return rp_xstrndup(b, n);
}

/* Opens the writer with the header; its time is when_us (0: now, to the second). */
static rp_code open_writer(struct rp_intake *in, int64_t when_us, struct rp_error *err)
{
    char created[32];
    rp_time_format(when_us > 0 ? when_us : rp_now_us() / 1000000 * 1000000, created);
    free(in->meta.created);
    in->meta.created = rp_xstrdup(created);
    rp_code rc = rp_writer_open(in->path, &in->meta, &in->wopts, &in->w, err);
    if (rc) {
        in->write_rc = rc;
        in->write_err = err ? *err : (struct rp_error){.code = rc};
    }
    return rc;
}

rp_code rp_intake_new(const struct rp_intake_opts *opts, struct rp_intake **out,
                      struct rp_error *err)
{
    if (!opts->output || !opts->output[0] || !opts->source_kind) {
        return rp_error_set(err, RP_EUSAGE, "a recording needs an output file and a source kind");
    }
    if (opts->n_tenants > RP_MAX_TENANTS) {
        return rp_error_set(err, RP_EUSAGE, "more than %u tenants", RP_MAX_TENANTS);
    }
    struct rp_intake *in = rp_xcalloc(1, sizeof(*in));
    rp_code rc = RP_EUSAGE;
    rp_rec_meta_init(&in->meta);
    in->output = rp_xstrdup(opts->output);
    if (opts->replace && strcmp(opts->output, "-") != 0) {
        size_t n = strlen(opts->output) + sizeof(".part");
        in->path = rp_xmalloc(n);
        snprintf(in->path, n, "%s.part", opts->output);
    } else {
        in->path = rp_xstrdup(opts->output);
    }
    in->only_paths =
        rp_xcalloc(opts->n_only_paths ? opts->n_only_paths : 1, sizeof(*in->only_paths));
    for (size_t i = 0; i < opts->n_only_paths; i++) {
        in->only_paths[i] = rp_xstrdup(opts->only_paths[i]);
    }
    in->n_only_paths = opts->n_only_paths;
    in->include_static = opts->include_static;
    in->max_body = opts->max_body && opts->max_body < RP_MAX_BODY_RECORDED ? opts->max_body
                                                                           : RP_MAX_BODY_RECORDED;
    in->created_from_first = opts->created_from_first;
    /* Standard output ("-") is written as it goes: there is no file to put in place. */
    in->replace = opts->replace && strcmp(opts->output, "-") != 0;
    in->wopts = (struct rp_writer_opts){
        .sync = opts->sync, .level = opts->gzip_level, .log = opts->log, .log_ud = opts->log_ud};
    if (!opts->no_redact) {
        in->scrub = rp_scrub_new();
        in->vars = rp_varrec_new();
        for (size_t i = 0; i < opts->n_redact_headers; i++) {
            rp_scrub_add_header(in->scrub, opts->redact_headers[i]);
        }
        for (size_t i = 0; i < opts->n_redact_fields; i++) {
            rp_scrub_add_field(in->scrub, opts->redact_fields[i]);
        }
    }
    in->lint = rp_scrub_new();
    in->meta.name = opts->name ? rp_xstrdup(opts->name) : name_from_path(opts->output);
    in->meta.source_kind = rp_xstrdup(opts->source_kind);
    in->meta.source_detail = opts->source_detail ? rp_xstrdup(opts->source_detail) : NULL;
    for (size_t i = 0; i < opts->n_tenants; i++) {
        rc = rp_rec_meta_add_tenant(&in->meta, opts->tenants[i], err);
        if (rc) {
            goto out;
        }
    }
    if (!in->created_from_first) {
        rc = open_writer(in, 0, err);
        if (rc) {
            goto out;
        }
    }
    *out = in;
    in = NULL;
    rc = RP_OK;
out:
    rp_intake_free(in);
    return rc;
}

/* True when the path of ex's absolute URL (no query or fragment) matches an only_paths glob. */
static bool path_wanted(const struct rp_intake *in, const char *url)
{
    if (in->n_only_paths == 0) {
        return true;
    }
    const char *s = url ? strstr(url, "://") : NULL;
    s = s ? strchr(s + 3, '/') : url;
    char *path = s ? rp_xstrndup(s, strcspn(s, "?#")) : rp_xstrdup("/");
    bool hit = false;
    for (size_t i = 0; i < in->n_only_paths && !hit; i++) {
        hit = fnmatch(in->only_paths[i], path, 0) == 0;
    }
    free(path);
    return hit;
}

static void cut_body(struct rp_body *b, uint64_t max)
{
    if (b->len > max) {
        b->len = (size_t)max;
        if (b->data) {
            b->data[b->len] = '\0';
        }
        b->truncated = true;
    }
}

/* The most secrets-left warnings one recording prints; the rest are counted at close. */
#define LINT_WARN_MAX 20u

/* A secret left in an exchange just written: a warning naming the recording's line. */
static void lint_warn(void *ud, const struct rp_scrub_finding *f)
{
    struct rp_intake *in = ud;
    if (++in->lint_found > LINT_WARN_MAX || !in->wopts.log) {
        return;
    }
    char msg[512];
    snprintf(msg, sizeof(msg), "%s:%llu: %s left in %s ([hidden: %zu bytes])", in->output,
             (unsigned long long)in->counts.recorded + 1, f->what, f->place, f->len);
    in->wopts.log(in->wopts.log_ud, RP_LOG_WARN, msg);
}

rp_code rp_intake_add(struct rp_intake *in, struct rp_exchange *ex, enum rp_intake_fate *out_fate,
                      struct rp_error *err)
{
    enum rp_intake_fate fate = RP_INTAKE_FAILED;
    rp_code rc = RP_OK;
    if (in->closed) {
        rc = rp_error_set(err, RP_EINTERNAL, "%s: the recording is closed", in->output);
        goto out;
    }
    if (in->write_rc) {
        rc = in->write_rc;
        if (err) {
            *err = in->write_err;
        }
        in->counts.errors++;
        in->counts.lost++;
        goto out;
    }
    if (!in->include_static && rp_filter_is_static(ex)) {
        fate = RP_INTAKE_STATIC;
        in->counts.filtered_static++;
        goto out;
    }
    if (!path_wanted(in, ex->req.url)) {
        fate = RP_INTAKE_OUTSIDE_PATHS;
        in->counts.filtered_path++;
        goto out;
    }
    cut_body(&ex->req.body, in->max_body);
    if (ex->has_response) {
        cut_body(&ex->resp.body, in->max_body);
    }
    if (in->scrub) {
        /* Variables first: a token sent back is a variable, never a secret of scrub's. */
        rc = rp_varrec_exchange(in->vars, ex, err);
        if (!rc) {
            rc = rp_scrub_exchange(in->scrub, ex, err);
        }
        if (rc) {
            /* A partly scrubbed exchange must not be written: better missing than leaking. */
            fate = RP_INTAKE_DROPPED;
            in->counts.errors++;
            goto out;
        }
    }
    if (!in->w) {
        rc = open_writer(in, ex->start_us, err);
        if (rc) {
            in->counts.errors++;
            in->counts.lost++;
            goto out;
        }
    }
    rc = rp_writer_append(in->w, ex, err);
    if (rc) {
        in->write_rc = rc;
        in->write_err = err ? *err : (struct rp_error){.code = rc};
        in->counts.errors++;
        in->counts.lost++;
        settle_lost(in);
        goto out;
    }
    fate = RP_INTAKE_RECORDED;
    in->counts.recorded++;
    rp_scrub_lint_exchange(in->lint, ex, lint_warn, in);
out:
    if (out_fate) {
        *out_fate = fate;
    }
    return rc;
}

uint64_t rp_intake_max_body(const struct rp_intake *in)
{
    return in->max_body;
}

void rp_intake_counts(const struct rp_intake *in, struct rp_intake_counts *out)
{
    *out = in->counts;
}

rp_code rp_intake_close(struct rp_intake *in, struct rp_error *err)
{
    if (in->closed) {
        return rp_error_set(err, RP_EINTERNAL, "%s: the recording is closed", in->output);
    }
    in->closed = true;
    rp_code rc = in->write_rc;
    if (rc) {
        if (err) {
            *err = in->write_err;
        }
        rp_ignore(rp_writer_close(in->w, NULL));
        in->w = NULL;
        return rc;
    }
    if (!in->w) {
        rc = open_writer(in, 0, err); /* nothing came: the recording is a header alone */
        if (rc) {
            return rc;
        }
    }
    rc = rp_writer_flush(in->w, err);
    if (rc) {
        settle_lost(in);
        rp_ignore(rp_writer_close(in->w, NULL));
    } else {
        rc = rp_writer_close(in->w, err);
    }
    in->w = NULL;
    if (rc) {
        in->write_rc = rc;
        return rc;
    }
    if (in->lint_found > 0 && in->wopts.log) {
        char msg[512];
        snprintf(msg, sizeof(msg),
                 "%s: %llu secret%s left (--redact-field and --redact-header scrub more): "
                 "'reprise lint %s' lists them",
                 in->output, (unsigned long long)in->lint_found, in->lint_found == 1 ? "" : "s",
                 in->output);
        in->wopts.log(in->wopts.log_ud, RP_LOG_WARN, msg);
    }
    if (in->replace && rename(in->path, in->output) != 0) {
        in->write_rc = RP_EIO;
        return rp_error_set(err, RP_EIO, "%s: cannot rename %s into place: %s", in->output,
                            in->path, strerror(errno));
    }
    return RP_OK;
}

void rp_intake_free(struct rp_intake *in)
{
    if (!in) {
        return;
    }
    if (in->w) {
        rp_ignore(rp_writer_close(in->w, NULL));
    }
    /* A replaced recording that was not closed well is a .part file nobody wants. */
    if (in->replace && (!in->closed || in->write_rc)) {
        unlink(in->path);
    }
    for (size_t i = 0; i < in->n_only_paths; i++) {
        free(in->only_paths[i]);
    }
    free(in->only_paths);
    rp_scrub_free(in->scrub);
    rp_scrub_free(in->lint);
    rp_varrec_free(in->vars);
    rp_rec_meta_cleanup(&in->meta);
    free(in->output);
    free(in->path);
    free(in);
}
