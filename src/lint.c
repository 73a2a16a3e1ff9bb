/* SPDX-License-Identifier: MIT */
/* Lint (reprise/lint.h): the scrubber's scan over every exchange of a recording. */
#include <inttypes.h>
#include <stdio.h>

#include <reprise/lint.h>
#include <reprise/recording.h>
#include <reprise/scrub.h>

struct lint_ctx {
    const char *file;
    uint64_t line;
    uint64_t seq;
    rp_lint_fn fn;
    void *ud;
};

static void on_finding(void *ud, const struct rp_scrub_finding *f)
{
    struct lint_ctx *c = ud;
    struct rp_lint_finding lf = {.file = c->file,
                                 .line = c->line,
                                 .seq = c->seq,
                                 .place = f->place,
                                 .what = f->what,
                                 .len = f->len};
    if (c->fn) {
        c->fn(c->ud, &lf);
    }
}

rp_code rp_lint_file(const char *path, rp_lint_fn fn, void *ud, rp_log_fn log, void *log_ud,
                     uint64_t *out_found, struct rp_error *err)
{
    struct rp_reader_opts ro = {.log = log, .log_ud = log_ud};
    struct rp_reader *r = NULL;
    rp_code rc = rp_reader_open(path, &ro, &r, err);
    if (rc) {
        return rc;
    }
    struct rp_scrub *rules = rp_scrub_new();
    struct lint_ctx c = {.file = path, .fn = fn, .ud = ud};
    uint64_t found = 0;
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    for (;;) {
        bool got = false;
        rc = rp_reader_next(r, &ex, &got, err);
        if (rc || !got) {
            break;
        }
        c.line = rp_reader_line(r);
        c.seq = ex.seq;
        found += rp_scrub_lint_exchange(rules, &ex, on_finding, &c);
    }
    rp_exchange_cleanup(&ex);
    rp_scrub_free(rules);
    rp_reader_free(r);
    if (!rc) {
        *out_found = found;
    }
    return rc;
}

void rp_lint_format(const struct rp_lint_finding *f, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s:%" PRIu64 ": %s in %s ([hidden: %zu bytes])", f->file, f->line,
             f->what, f->place, f->len);
}
