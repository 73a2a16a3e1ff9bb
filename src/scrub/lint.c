/* SPDX-License-Identifier: MIT */
/*
 * Secrets left in an exchange (scrub.h, rp_scrub_lint_exchange): the scrubber's scan, with
 * JWTs added, run without changing anything; each span it would replace is a finding.
 */
#include <stdlib.h>
#include <string.h>

#include <reprise/limits.h>
#include <reprise/scrub.h>

#include "internal.h"

/* Reports the edits of one text; returns how many. */
static size_t report(const struct rp__scrub_edits *ed, rp_scrub_finding_fn fn, void *ud)
{
    for (size_t i = 0; i < ed->n && fn; i++) {
        const struct rp__scrub_edit *e = &ed->v[i];
        struct rp_scrub_finding f = {.place = e->place, .what = e->what, .len = e->len};
        fn(ud, &f);
    }
    return ed->n;
}

static size_t lint_headers(struct rp__scrub_scan *c, const struct rp_headers *h,
                           rp_scrub_finding_fn fn, void *ud)
{
    size_t found = 0;
    for (size_t i = 0; i < h->n; i++) {
        c->ed->n = 0;
        rp__scrub_scan_header(c, &h->v[i]);
        found += report(c->ed, fn, ud);
    }
    return found;
}

static size_t lint_body(struct rp__scrub_scan *c, const struct rp_headers *h,
                        const struct rp_body *b, rp_scrub_finding_fn fn, void *ud)
{
    if (b->len == 0) {
        return 0;
    }
    const struct rp_header *ct = rp_headers_get(h, "Content-Type", NULL);
    char mt[RP_MAX_MEDIA_TYPE_BYTES];
    if (!ct || !rp_media_type(h, mt, sizeof(mt))) {
        mt[0] = '\0';
    }
    c->ed->n = 0;
    rp__scrub_scan_body(c, ct, mt, (const char *)b->data, b->len);
    return report(c->ed, fn, ud);
}

size_t rp_scrub_lint_exchange(const struct rp_scrub *s, const struct rp_exchange *ex,
                              rp_scrub_finding_fn fn, void *ud)
{
    struct rp__scrub_edits ed = {0};
    struct rp__scrub_scan c = {.s = s, .ed = &ed, .request = true, .lint = true, .where = ""};
    size_t found = lint_headers(&c, &ex->req.headers, fn, ud);
    if (ex->req.url) {
        ed.n = 0;
        c.where = "query";
        rp__scrub_scan_query(&c, ex->req.url, strlen(ex->req.url));
        found += report(&ed, fn, ud);
    }
    c.where = "request body";
    found += lint_body(&c, &ex->req.headers, &ex->req.body, fn, ud);
    if (ex->has_response) {
        c.request = false;
        c.where = "";
        found += lint_headers(&c, &ex->resp.headers, fn, ud);
        c.where = "response body";
        found += lint_body(&c, &ex->resp.headers, &ex->resp.body, fn, ud);
    }
    free(ed.v);
    return found;
}
