/* SPDX-License-Identifier: MIT */
/*
 * The terminal sink, one line per exchange and a closing summary, and the small pieces every
 * sink shares: how a URL is shown, and walking UTF-8 text.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <reprise/limits.h>
#include <reprise/report.h>

#include "../text_int.h"
#include "../url_int.h"
#include "internal.h"

/* ----- shared helpers ---------------------------------------------------------------------- */

/* Length of the "scheme://authority" prefix of u, or 0 when u has no scheme. */
static size_t origin_len(const char *u)
{
    struct rp__url p;
    rp__url_split(u, strlen(u), &p);
    return p.scheme_len ? p.path_off : 0;
}

const char *rp__report_url_shown(const char *url, const char *target)
{
    if (!target) {
        return url;
    }
    size_t n = origin_len(url);
    if (n == 0 || n != origin_len(target) || !rp__ascii_ieq(url, target, n)) {
        return url;
    }
    return url[n] ? url + n : "/";
}

rp_code rp__report_utf8_put(struct rp_buf *out, uint32_t cp, struct rp_error *err)
{
    char u[4];
    size_t n;
    n = rp__utf8_encode(cp, u);
    return rp_buf_add(out, u, n, err);
}

char *rp__report_utf8_clean(const char *s)
{
    if (!s) {
        return NULL;
    }
    size_t n = strlen(s);
    /* Each bad byte becomes three: the copy is at most three times as long. */
    if (n > (SIZE_MAX - 1) / 3) {
        return rp_xstrdup("");
    }
    struct rp_buf b;
    rp_buf_init(&b, n * 3);
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = rp__utf8_next(p + i, n - i, &cp);
        /* The cap above fits the worst case, so these appends cannot fail. */
        if (cp == 0xFFFD && k == 1) {
            rp__report_utf8_put(&b, cp, NULL);
        } else {
            rp_ignore(rp_buf_add(&b, p + i, k, NULL));
        }
        i += k;
    }
    return rp_buf_take(&b, NULL);
}

/* ----- the terminal sink ------------------------------------------------------------------- */

#define COLOR_GREEN  "\033[32m"
#define COLOR_RED    "\033[31m"
#define COLOR_YELLOW "\033[33m"
#define COLOR_RESET  "\033[0m"

/* Column widths of a result line, in characters. */
#define COL_SESSION 18u
#define COL_METHOD  6u
#define COL_URL     40u

struct terminal {
    FILE *out; /* borrowed */
    bool color;
    bool live; /* out is a terminal: flush every line, so progress shows as it happens */
    char *target;
    struct rp_buf line; /* a result line, kept from one to the next */
    /* Teardown lines, held for the "teardown" section after the main ones; past the cap they
     * are counted, not kept. */
    struct rp_buf td;
    uint64_t td_dropped;
};

/* The most bytes of teardown lines the terminal sink holds for its section. */
#define TEARDOWN_SECTION_MAX (4u * 1024u * 1024u)

/* Characters (code points) in s. */
static size_t char_count(const char *s)
{
    size_t n = strlen(s), i = 0, chars = 0;
    while (i < n) {
        uint32_t cp;
        i += rp__utf8_next((const unsigned char *)s + i, n - i, &cp);
        chars++;
    }
    return chars;
}

/* Appends n spaces. */
static rp_code add_spaces(struct rp_buf *b, size_t n, struct rp_error *err)
{
    static const char spaces[] = "                                ";
    rp_code rc = RP_OK;
    while (!rc && n) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        rc = rp_buf_add(b, spaces, k, err);
        n -= k;
    }
    return rc;
}

/*
 * Appends text right-aligned in width columns, as printf's "%*s" would: each result line has
 * a few such fields, and printf's machinery cost more than the rest of the line.
 */
static rp_code add_right(struct rp_buf *b, const char *text, size_t n, size_t width,
                         struct rp_error *err)
{
    rp_code rc = n < width ? add_spaces(b, width - n, err) : RP_OK;
    return rc ? rc : rp_buf_add(b, text, n, err);
}

/* The decimal digits of v at the end of buf[24]; returns where they start. */
static char *u64_digits(uint64_t v, char buf[24])
{
    char *p = buf + 24;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

/* Writes microseconds as milliseconds with one decimal, rounded ("12.3" for 12345), into
 * buf[32]; returns its length. */
static size_t ms_text(uint64_t us, char buf[32])
{
    uint64_t tenths = us / 100 + (us % 100 >= 50 ? 1 : 0);
    char digits[24];
    char *d = u64_digits(tenths / 10, digits);
    size_t n = (size_t)(digits + 24 - d);
    memcpy(buf, d, n);
    buf[n++] = '.';
    buf[n++] = (char)('0' + tenths % 10);
    buf[n] = '\0';
    return n;
}

/*
 * Appends s for a terminal: control characters (C0, DEL and C1, which could start escape
 * sequences from text a server sent) become '?', malformed UTF-8 becomes U+FFFD, more than
 * max characters are cut to max with "..." at the end, and spaces pad it to width characters.
 */
static rp_code add_clean(struct rp_buf *b, const char *s, size_t max, size_t width,
                         struct rp_error *err)
{
    /* Printable ASCII, what almost every session name, method and URL is, needs no cleaning:
     * one append and the padding, every result line. */
    size_t plain = 0;
    while (s[plain] >= 0x20 && s[plain] < 0x7F) {
        plain++;
    }
    if (s[plain] == '\0' && plain <= max) {
        rp_code rc = rp_buf_add(b, s, plain, err);
        if (!rc && plain < width) {
            rc = add_spaces(b, width - plain, err);
        }
        return rc;
    }
    size_t total = char_count(s);
    size_t keep = total > max ? (max > 3 ? max - 3 : 0) : total;
    size_t n = strlen(s), i = 0, chars = 0;
    rp_code rc = RP_OK;
    while (i < n && chars < keep && !rc) {
        uint32_t cp;
        size_t k = rp__utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            rc = rp_buf_addc(b, '?', err);
        } else if (cp == 0xFFFD && k == 1) {
            rc = rp__report_utf8_put(b, cp, err);
        } else {
            rc = rp_buf_add(b, s + i, k, err);
        }
        i += k;
        chars++;
    }
    if (!rc && keep < total) {
        rc = rp_buf_adds(b, "...", err);
        chars += 3;
    }
    while (!rc && chars < width) {
        rc = rp_buf_addc(b, ' ', err);
        chars++;
    }
    return rc;
}

/* Appends microseconds as milliseconds with one decimal, rounded: 12345 gives "12.3". */
static rp_code add_ms(struct rp_buf *b, uint64_t us, struct rp_error *err)
{
    char ms[32];
    size_t n = ms_text(us, ms);
    return rp_buf_add(b, ms, n, err);
}

/*
 * Writes the n bytes of b to the sink's stream. On a terminal each line is flushed, so
 * progress shows live; into a file or pipe stdio's buffering saves a write per exchange,
 * and end() flushes.
 */
static rp_code emit(struct terminal *t, const struct rp_buf *b, struct rp_error *err)
{
    if ((b->len && fwrite(b->data, 1, b->len, t->out) != b->len) ||
        (t->live && fflush(t->out) != 0)) {
        return rp_error_set(err, RP_EIO, "terminal report: write failed");
    }
    return RP_OK;
}

static rp_code terminal_begin(void *ctx, const struct rp_run_info *run, struct rp_error *err)
{
    struct terminal *t = ctx;
    struct rp_buf b;
    rp_buf_init(&b, RP_MAX_LINE_BYTES);
    free(t->target);
    t->target = rp_xstrdup(run->target);

    rp_code rc = rp_buf_addf(&b, err, "replaying %zu recording%s against ", run->n_recordings,
                             run->n_recordings == 1 ? "" : "s");
    if (!rc) {
        rc = add_clean(&b, run->target ? run->target : "-", SIZE_MAX, 0, err);
    }
    if (!rc && run->run_id) {
        rc = rp_buf_adds(&b, " (run ", err);
        if (!rc) {
            rc = add_clean(&b, run->run_id, SIZE_MAX, 0, err);
        }
        if (!rc) {
            rc = rp_buf_addc(&b, ')', err);
        }
    }
    if (!rc) {
        rc = rp_buf_addc(&b, '\n', err);
    }
    if (!rc) {
        rc = emit(t, &b, err);
    }
    rp_buf_cleanup(&b);
    return rc;
}

/* Appends the outcome word, coloured when asked. */
static rp_code add_outcome(struct terminal *t, struct rp_buf *b, enum rp_outcome o,
                           struct rp_error *err)
{
    const char *word = "ok", *color = COLOR_GREEN;
    switch (o) {
    case RP_OUTCOME_PASS:
        break;
    case RP_OUTCOME_FAIL:
        word = "FAILED";
        color = COLOR_RED;
        break;
    case RP_OUTCOME_ERROR:
        word = "ERROR";
        color = COLOR_RED;
        break;
    case RP_OUTCOME_SKIPPED:
        word = "SKIPPED";
        color = COLOR_YELLOW;
        break;
    case RP_OUTCOME_UNSAFE:
        word = "UNSAFE";
        color = COLOR_RED;
        break;
    case RP_OUTCOME_CANCELLED:
        word = "CANCELLED";
        color = COLOR_YELLOW;
        break;
    }
    rp_code rc = t->color ? rp_buf_adds(b, color, err) : RP_OK;
    if (!rc) {
        rc = rp_buf_adds(b, word, err);
    }
    if (!rc && t->color) {
        rc = rp_buf_adds(b, COLOR_RESET, err);
    }
    return rc;
}

/* Appends the detail lines under a result: one per mismatch, or the error or skip reason. */
static rp_code add_details(struct rp_buf *b, const struct rp_verdict *res, struct rp_error *err)
{
    rp_code rc = RP_OK;
    if (res->outcome == RP_OUTCOME_FAIL) {
        for (size_t i = 0; i < res->mismatches.n && !rc; i++) {
            const struct rp_mismatch *m = &res->mismatches.v[i];
            rc = rp_buf_adds(b, "      ", err);
            if (!rc) {
                rc = add_clean(b, m->path ? m->path : "", SIZE_MAX, 0, err);
            }
            if (!rc) {
                rc = rp_buf_adds(b, ": ", err);
            }
            if (!rc) {
                rc = add_clean(b, m->message ? m->message : "", SIZE_MAX, 0, err);
            }
            if (!rc) {
                rc = rp_buf_addc(b, '\n', err);
            }
        }
    } else if ((res->outcome == RP_OUTCOME_ERROR || res->outcome == RP_OUTCOME_SKIPPED ||
                res->outcome == RP_OUTCOME_UNSAFE || res->outcome == RP_OUTCOME_CANCELLED) &&
               res->error) {
        rc = rp_buf_adds(b, "      ", err);
        if (!rc) {
            rc = add_clean(b, res->error, SIZE_MAX, 0, err);
        }
        if (!rc) {
            rc = rp_buf_addc(b, '\n', err);
        }
    }
    return rc;
}

/* True when v's slow note is already among its mismatches (--fail-on-slow). */
static bool slow_is_mismatch(const struct rp_verdict *v)
{
    for (size_t i = 0; v->outcome == RP_OUTCOME_FAIL && i < v->mismatches.n; i++) {
        if (v->mismatches.v[i].path && strcmp(v->mismatches.v[i].path, "slow") == 0) {
            return true;
        }
    }
    return false;
}

/* Appends the latency warning under a slow step that did not fail for it:
 *       slow: 840 ms, recorded 95 ms, baseline 110 ms (×7.6) */
static rp_code add_slow_note(struct terminal *t, struct rp_buf *b, const struct rp_verdict *v,
                             struct rp_error *err)
{
    if (!v->slow || slow_is_mismatch(v)) {
        return RP_OK;
    }
    char note[160];
    return rp_buf_addf(b, err, "      %sslow%s: %s\n", t->color ? COLOR_YELLOW : "",
                       t->color ? COLOR_RESET : "", rp_verdict_slow_text(v, note, sizeof(note)));
}

/* The session column: "demo-checkout#1", and "demo-checkout#1 r2" for its retry 2 (--retries),
 * as its tenant ends in "-r2". */
static const char *session_label(const struct rp_verdict *res, char *buf, size_t bufsz)
{
    if (!res->session || !res->attempt) {
        return res->session ? res->session : "-";
    }
    snprintf(buf, bufsz, "%s r%u", res->session, res->attempt);
    return buf;
}

/*
 * One line per exchange, in fixed columns:
 *   demo-checkout#1       3  POST   /api/login                                200      12.3 ms  ok
 * Wider values push the later columns right rather than being cut (except the URL).
 */
static rp_code terminal_result(void *ctx, const struct rp_verdict *res, struct rp_error *err)
{
    struct terminal *t = ctx;
    const struct rp_exchange *ex = res->live;
    const char *method = ex && ex->req.method ? ex->req.method : "-";
    const char *url = ex && ex->req.url ? rp__report_url_shown(ex->req.url, t->target) : "-";
    struct rp_buf *b = &t->line;
    rp_buf_reset(b);

    char label[192];
    rp_code rc = rp_buf_adds(b, "  ", err);
    if (!rc) {
        rc = add_clean(b, session_label(res, label, sizeof(label)), SIZE_MAX, COL_SESSION, err);
    }
    char num[24];
    const char *digits = u64_digits(res->recorded_seq, num);
    if (!rc) {
        rc = rp_buf_addc(b, ' ', err);
    }
    if (!rc) {
        rc = add_right(b, digits, (size_t)(num + sizeof(num) - digits), 4, err);
    }
    if (!rc) {
        rc = rp_buf_adds(b, "  ", err);
    }
    if (!rc) {
        rc = add_clean(b, method, SIZE_MAX, COL_METHOD, err);
    }
    if (!rc) {
        rc = rp_buf_addc(b, ' ', err);
    }
    if (!rc) {
        rc = add_clean(b, url, RP_REPORT_URL_COLUMNS, COL_URL, err);
    }
    if (!rc && ex && ex->has_response) {
        digits = u64_digits(ex->resp.status, num);
        rc = rp_buf_adds(b, "  ", err);
        if (!rc) {
            rc = add_right(b, digits, (size_t)(num + sizeof(num) - digits), 3, err);
        }
        if (!rc) {
            rc = rp_buf_adds(b, "  ", err);
        }
    } else if (!rc) {
        rc = rp_buf_adds(b, "  ---  ", err);
    }
    if (!rc && ex && res->outcome != RP_OUTCOME_SKIPPED && res->outcome != RP_OUTCOME_UNSAFE &&
        res->outcome != RP_OUTCOME_CANCELLED) {
        /* Right-align the number in eight columns, as "%8.1f" would, without floating point. */
        char ms[32];
        size_t n = ms_text(ex->duration_us, ms);
        rc = add_right(b, ms, n, 8, err);
        if (!rc) {
            rc = rp_buf_adds(b, " ms  ", err);
        }
    } else if (!rc) {
        rc = rp_buf_adds(b, "       -     ", err);
    }
    if (!rc) {
        rc = add_outcome(t, b, res->outcome, err);
    }
    if (!rc) {
        rc = rp_buf_addc(b, '\n', err);
    }
    if (!rc) {
        rc = add_details(b, res, err);
    }
    if (!rc) {
        rc = add_slow_note(t, b, res, err);
    }
    if (!rc && res->teardown) {
        if (rp_buf_add(&t->td, b->data, b->len, NULL)) {
            t->td_dropped++;
        }
        return RP_OK;
    }
    if (!rc) {
        rc = emit(t, b, err);
    }
    return rc;
}

/* The "teardown" section: its lines, held until now, and its own counts. */
static rp_code add_teardown(struct terminal *t, struct rp_buf *b, const struct rp_run_summary *sum,
                            struct rp_error *err)
{
    uint64_t n = sum->teardown.passed + sum->teardown.failed + sum->teardown.errors +
                 sum->teardown.skipped + sum->teardown.unsafe;
    if (n == 0 && t->td.len == 0) {
        return RP_OK;
    }
    rp_code rc = rp_buf_adds(b, "\nteardown:\n", err);
    if (!rc) {
        rc = emit(t, b, err);
    }
    rp_buf_reset(b);
    if (!rc) {
        rc = emit(t, &t->td, err);
    }
    if (!rc && t->td_dropped) {
        rc =
            rp_buf_addf(b, err, "  ... %" PRIu64 " more teardown lines not shown\n", t->td_dropped);
    }
    if (!rc) {
        rc = rp_buf_addf(b, err,
                         "teardown: %" PRIu64 " passed, %" PRIu64 " failed, %" PRIu64
                         " unsafe, %" PRIu64 " error%s, %" PRIu64 " skipped\n",
                         sum->teardown.passed, sum->teardown.failed, sum->teardown.unsafe,
                         sum->teardown.errors, sum->teardown.errors == 1 ? "" : "s",
                         sum->teardown.skipped);
    }
    return rc;
}

/* The sessions' verdicts over their attempts (--retries), when some session was judged. */
static rp_code add_sessions(struct rp_buf *b, const struct rp_run_summary *sum,
                            struct rp_error *err)
{
    if (sum->sessions.passed + sum->sessions.flaky + sum->sessions.failed + sum->sessions.infra ==
        0) {
        return RP_OK;
    }
    return rp_buf_addf(b, err,
                       "sessions: %" PRIu64 " passed, %" PRIu64 " flaky, %" PRIu64
                       " failed, %" PRIu64 " infrastructure\n",
                       sum->sessions.passed, sum->sessions.flaky, sum->sessions.failed,
                       sum->sessions.infra);
}

/*
 * The latency budget's line under the summary, when there is something to say: the steps over
 * budget, and with a baseline the run's p95 against the baseline's.
 */
static rp_code add_slow_summary(struct rp_buf *b, const struct rp_run_summary *sum,
                                struct rp_error *err)
{
    if (!sum->slow && !sum->baseline_p95_us) {
        return RP_OK;
    }
    rp_code rc = rp_buf_addf(b, err, "slow: %" PRIu64 " step%s over the latency budget", sum->slow,
                             sum->slow == 1 ? "" : "s");
    if (!rc && sum->baseline_p95_us) {
        rc = rp_buf_adds(b, "; p95 ", err);
        if (!rc) {
            rc = add_ms(b, sum->p95_us, err);
        }
        if (!rc) {
            rc = rp_buf_adds(b, " ms, baseline p95 ", err);
        }
        if (!rc) {
            rc = add_ms(b, sum->baseline_p95_us, err);
        }
        if (!rc) {
            rc = rp_buf_adds(b, sum->slow_p95 ? " ms: over budget" : " ms", err);
        }
    }
    return rc ? rc : rp_buf_addc(b, '\n', err);
}

/*
 * A run that did not finish says so, under its summary: "cancelled by SIGTERM after 5 of 9
 * steps", the steps counted being main steps (the cancelled ones are in the second figure).
 */
static rp_code add_unfinished(struct rp_buf *b, const struct rp_run_summary *sum,
                              struct rp_error *err)
{
    if (!sum->unfinished_why) {
        return RP_OK; /* finished */
    }
    uint64_t done = sum->passed + sum->failed + sum->errors + sum->skipped + sum->unsafe;
    rp_code rc = add_clean(b, sum->unfinished_why, SIZE_MAX, 0, err);
    if (!rc && sum->cancelled) {
        rc = rp_buf_addf(b, err, " after %" PRIu64 " of %" PRIu64 " steps\n", done,
                         done + sum->cancelled);
    } else if (!rc) {
        rc = rp_buf_addf(b, err, " after %" PRIu64 " step%s\n", done, done == 1 ? "" : "s");
    }
    return rc;
}

/*
 * The closing summary. It always carries the wall time and latency after the counts, so the
 * line is never just "N passed, N failed", the form CI log scrapers take for a test runner's.
 */
static rp_code terminal_end(void *ctx, const struct rp_run_summary *sum, struct rp_error *err)
{
    struct terminal *t = ctx;
    struct rp_buf b;
    rp_buf_init(&b, RP_MAX_LINE_BYTES);
    uint64_t hundredths = sum->wall_us / 10000 + (sum->wall_us % 10000 >= 5000 ? 1 : 0);
    rp_code rc = add_teardown(t, &b, sum, err);
    if (!rc) {
        rc = rp_buf_addf(&b, err, "\n%" PRIu64 " passed, %" PRIu64 " failed, ", sum->passed,
                         sum->failed);
    }
    /* Refusals are counted only when there are some, so a clean run's line is unchanged. */
    if (!rc && sum->unsafe) {
        rc = rp_buf_addf(&b, err, "%" PRIu64 " unsafe, ", sum->unsafe);
    }
    if (!rc) {
        rc = rp_buf_addf(&b, err,
                         "%" PRIu64 " error%s, %" PRIu64 " skipped in %" PRIu64 ".%02" PRIu64
                         " s; latency p50 ",
                         sum->errors, sum->errors == 1 ? "" : "s", sum->skipped, hundredths / 100,
                         hundredths % 100);
    }
    if (!rc) {
        rc = add_ms(&b, sum->p50_us, err);
    }
    if (!rc) {
        rc = rp_buf_adds(&b, " ms, p95 ", err);
    }
    if (!rc) {
        rc = add_ms(&b, sum->p95_us, err);
    }
    if (!rc) {
        rc = rp_buf_adds(&b, " ms, max ", err);
    }
    if (!rc) {
        rc = add_ms(&b, sum->max_us, err);
    }
    if (!rc) {
        rc = rp_buf_adds(&b, " ms\n", err);
    }
    if (!rc) {
        rc = add_sessions(&b, sum, err);
    }
    if (!rc) {
        rc = add_slow_summary(&b, sum, err);
    }
    if (!rc) {
        rc = add_unfinished(&b, sum, err);
    }
    if (!rc) {
        rc = emit(t, &b, err);
    }
    if (!rc && fflush(t->out) != 0) {
        rc = rp_error_set(err, RP_EIO, "terminal report: write failed");
    }
    rp_buf_cleanup(&b);
    return rc;
}

static void terminal_free(void *ctx)
{
    struct terminal *t = ctx;
    if (t) {
        free(t->target);
        rp_buf_cleanup(&t->line);
        rp_buf_cleanup(&t->td);
        free(t);
    }
}

static const struct rp_sink_ops terminal_ops = {
    .begin = terminal_begin,
    .result = terminal_result,
    .end = terminal_end,
    .free = terminal_free,
};

void rp_sink_terminal(struct rp_sink *sink, FILE *out, bool color)
{
    struct terminal *t = rp_xcalloc(1, sizeof(*t));
    t->out = out;
    t->color = color;
    t->live = isatty(fileno(out));
    rp_buf_init(&t->line, RP_MAX_LINE_BYTES);
    rp_buf_init(&t->td, TEARDOWN_SECTION_MAX);
    sink->ops = &terminal_ops;
    sink->ctx = t;
}
