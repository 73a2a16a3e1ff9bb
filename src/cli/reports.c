/* SPDX-License-Identifier: MIT */
/*
 * The reports a run writes, as replay, merge and diff share them: their options checked when
 * parsed, their paths before anything is sent, and their sinks beside the terminal's.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

/* An http:// or https:// URL with a host. */
static bool http_url(const char *s)
{
    size_t skip = strncasecmp(s, "http://", 7) == 0    ? 7
                  : strncasecmp(s, "https://", 8) == 0 ? 8
                                                       : 0;
    return skip > 0 && s[skip] != '\0' && s[skip] != '/';
}

rp_code cli_reports_parse(struct cli_reports *r, bool gzip_out, struct rp_error *err)
{
    /* The webhook is a credential: from the environment, it stays off the command line. */
    if (!r->notify) {
        const char *env = getenv("REPRISE_NOTIFY_URL");
        r->notify = env && *env ? env : NULL;
    }
    if (r->notify && !http_url(r->notify)) {
        return rp_error_set(err, RP_EUSAGE, "--notify wants an http:// or https:// URL");
    }
    const char *const flags[] = {"--junit", "--results", "--html"};
    const char *const paths[] = {r->junit, r->results, r->html};
    rp_code rc = cli_one_stdout(flags, paths, 3, err);
    if (!rc && gzip_out) {
        rc = cli_gzip_stdout("--results", r->results, err);
    }
    return rc;
}

rp_code cli_reports_paths(const struct cli_reports *r, struct rp_error *err)
{
    const char *const outs[][2] = {
        {"--junit", r->junit}, {"--results", r->results}, {"--html", r->html}};
    for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
        rp_code rc = outs[i][1] ? rp_report_path_check(outs[i][0], outs[i][1], err) : RP_OK;
        if (rc) {
            return rc;
        }
    }
    return RP_OK;
}

void cli_reports_add(struct rp_checker *c, const struct cli_reports *r, int color, bool quiet,
                     struct rp_progress *progress)
{
    /* A report on standard output ("--junit -") moves the terminal's to standard error. */
    FILE *term =
        cli_is_dash(r->junit) || cli_is_dash(r->results) || cli_is_dash(r->html) ? stderr : stdout;
    struct rp_terminal_opts to = {
        .color = color < 0 ? cli_color(term) : color == 1,
        .quiet = quiet,
        .width = cli_term_width(term),
        .progress = progress,
    };
    struct rp_sink sink;
    rp_sink_terminal_opts(&sink, term, &to);
    rp_checker_add_sink(c, &sink);
    if (r->junit) {
        rp_sink_junit(&sink, r->junit);
        rp_checker_add_sink(c, &sink);
    }
    if (r->results) {
        rp_sink_results(&sink, r->results);
        rp_checker_add_sink(c, &sink);
    }
    if (r->html) {
        rp_sink_html(&sink, r->html, NULL);
        rp_checker_add_sink(c, &sink);
    }
    if (r->notify) {
        struct rp_notify_opts no = {.url = r->notify, .report_url = r->report_url, .log = cli_log};
        rp_sink_notify(&sink, &no);
        rp_checker_add_sink(c, &sink);
    }
}
