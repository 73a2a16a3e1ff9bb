/* SPDX-License-Identifier: MIT */
/* Declarations shared by the report sinks: how a URL is shown, and walking UTF-8 text. */
#ifndef REPRISE_REPORT_INTERNAL_H
#define REPRISE_REPORT_INTERNAL_H

#include <reprise/report.h>

/*
 * The part of url (borrowed) to show for an exchange: its path and query when url has the
 * origin (scheme, host and port, compared ignoring ASCII case) of target, otherwise the whole
 * url. A bare origin shows as "/". target may be NULL. The result is borrowed from url (or
 * static).
 */
const char *rp__report_url_shown(const char *url, const char *target);

/* Appends the UTF-8 encoding of code point cp (at most U+10FFFF) to out. */
rp_code rp__report_utf8_put(struct rp_buf *out, uint32_t cp, struct rp_error *err);

/*
 * Returns a new copy of s with every malformed UTF-8 sequence replaced by U+FFFD, so that the
 * text can go into JSON or XML. NULL gives NULL.
 */
char *rp__report_utf8_clean(const char *s);

/*
 * Lists the record-time variables of the recording at path (listing_vars.c): each one's name,
 * the exchange and place that give it, and the exchanges and places that send it back.
 */
rp_code rp__listing_vars(const char *path, FILE *out, const struct rp_listing_opts *o,
                         struct rp_error *err);

/* The HTML report's style and script (src/report/html.css and html.js, built in by
 * cmake/assets.cmake), NUL-terminated. */
extern const char rp__html_css[];
extern const char rp__html_js[];

/*
 * Appends n bytes of s to out as HTML text, good in an element and in a quoted attribute: the
 * five markup characters as references, C0 controls but tab, newline and CR and U+FFFE/U+FFFF
 * dropped, malformed UTF-8 as U+FFFD. RP_ETOOBIG at out's cap (what fitted stays).
 */
rp_code rp__html_escape(struct rp_buf *out, const char *s, size_t n, struct rp_error *err);

/* Reads exchange seq of the recording at path into out (initialised); false when it cannot
 * (results_step.c). */
bool rp__report_read_recorded(const char *path, uint64_t seq, struct rp_exchange *out);

#endif /* REPRISE_REPORT_INTERNAL_H */
