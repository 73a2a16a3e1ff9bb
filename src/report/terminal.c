/* SPDX-License-Identifier: MIT */
/*
 * The terminal sink, one line per exchange, a recap of the failures grouped by step and
 * mismatch, and a closing summary; and the small pieces every sink shares: how a URL is shown,
 * and walking UTF-8 text.
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

/* Column widths of a result line, in characters: each value is padded to its column, and
 * elided in the middle past its most (the URL's most is what the line's width leaves it). */
#define COL_SESSION 18u
#define MAX_SESSION 32u
#define COL_METHOD  6u
#define MAX_METHOD  10u
#define COL_URL     40u
#define MIN_URL     20u
/* What follows the URL: "  200      12.3 ms  SKIPPED". */
#define ROW_TAIL    27u

/* One distinct failure of one step, for the recap. */
struct recap_row {
    char *recording; /* the step's recording name (its sessions' name without "#N") */
    uint64_t seq;    /* the step's recorded seq */
    bool teardown;
    char *step;  /* what the step is shown as: "POST /api/orders" */
    char *what;  /* the mismatch ("$.items[0].price: expected number, got string") or error */
    char *first; /* the first session that showed it */
    uint64_t count;
    size_t order; /* when it was first seen */
};

struct terminal {
    FILE *out; /* borrowed */
    bool color;
    bool quiet;
    size_t width;                 /* the columns a row fits in */
    struct rp_progress *progress; /* borrowed; may be NULL */
    bool live; /* out is a terminal: flush every line, so progress shows as it happens */
    char *target;
    struct rp_buf line; /* a result line, kept from one to the next */
    /* Teardown lines, held for the "teardown" section after the main ones; past the cap they
     * are counted, not kept. */
    struct rp_buf td;
    uint64_t td_dropped;
    /* The recap: distinct (step, mismatch) rows, at most RP_REPORT_RECAP_ROWS; failures past
     * them are counted only. */
    struct recap_row *recap;
    size_t n_recap;
    uint64_t recap_dropped;
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
 * max (at least 3) characters are elided in the middle to max ("/t/acme-x...ers/42/pay": the
 * end of a path tells steps apart as much as its start), and spaces pad it to width
 * characters. *out_chars, when not NULL, gets the characters appended.
 */
static rp_code add_fit(struct rp_buf *b, const char *s, size_t max, size_t width, size_t *out_chars,
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
        if (out_chars) {
            *out_chars = plain < width ? width : plain;
        }
        return rc;
    }
    size_t total = char_count(s);
    size_t head = total, tail = 0;
    if (total > max) {
        size_t keep = max > 3 ? max - 3 : 0;
        head = (keep + 1) / 2;
        tail = keep / 2;
    }
    size_t n = strlen(s), i = 0, idx = 0, chars = 0;
    rp_code rc = RP_OK;
    while (i < n && !rc) {
        uint32_t cp;
        size_t k = rp__utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (idx == head && tail < total - head) {
            rc = rp_buf_adds(b, "...", err);
            chars += 3;
        }
        if (rc || (idx >= head && idx < total - tail)) {
            /* elided */
        } else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            rc = rp_buf_addc(b, '?', err);
            chars++;
        } else if (cp == 0xFFFD && k == 1) {
            rc = rp__report_utf8_put(b, cp, err);
            chars++;
        } else {
            rc = rp_buf_add(b, s + i, k, err);
            chars++;
        }
        i += k;
        idx++;
    }
    while (!rc && chars < width) {
        rc = rp_buf_addc(b, ' ', err);
        chars++;
    }
    if (out_chars) {
        *out_chars = chars;
    }
    return rc;
}

/* add_fit() without the count of characters appended. */
static rp_code add_clean(struct rp_buf *b, const char *s, size_t max, size_t width,
                         struct rp_error *err)
{
    return add_fit(b, s, max, width, NULL, err);
}

/* Appends microseconds as milliseconds with one decimal, rounded: 12345 gives "12.3". */
static rp_code add_ms(struct rp_buf *b, uint64_t us, struct rp_error *err)
{
    char ms[32];
    size_t n = ms_text(us, ms);
    return rp_buf_add(b, ms, n, err);
}

/*
 * Writes the n bytes of b to the sink's stream. On a terminal
 * each line is flushed, so progress shows as it happens; into a file or pipe stdio's buffering
 * saves a write per exchange, and end() flushes.
 */
static rp_code emit(struct terminal *t, const struct rp_buf *b, struct rp_error *err)
{
    if (!b->len) {
        return RP_OK;
    }
    /* A line for the terminal the progress line is on: erase that first. Into a file or a
     * pipe the line goes elsewhere, and the progress line stays. */
    if (t->live) {
        rp_progress_clear(t->progress);
    }
    if (fwrite(b->data, 1, b->len, t->out) != b->len || (t->live && fflush(t->out) != 0)) {
        return rp_error_set(err, RP_EIO, "terminal report: write failed");
    }
    return RP_OK;
}

static rp_code terminal_begin(void *ctx, const struct rp_run_info *run, struct rp_error *err)
{
    struct terminal *t = ctx;
    free(t->target);
    t->target = rp_xstrdup(run->target);
    if (t->quiet) {
        return RP_OK;
    }
    struct rp_buf b;
    rp_buf_init(&b, RP_MAX_LINE_BYTES);
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
    default:
        /* An outcome added after this sink was written: shown by its results-file name. */
        word = rp_outcome_name(o) ? rp_outcome_name(o) : "?";
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

/* True for an outcome the recap gathers and -q shows: a check failed, no response came, or
 * the step was refused. An outcome added later is shown as a skip is. */
static bool is_failure(enum rp_outcome o)
{
    return o == RP_OUTCOME_FAIL || o == RP_OUTCOME_ERROR || o == RP_OUTCOME_UNSAFE;
}

/* ----- the recap of failures --------------------------------------------------------------- */

/* A step as the recap groups and shows it. */
struct step {
    const char *recording; /* borrowed from the session name, rec_len bytes */
    size_t rec_len;
    uint64_t seq;
    bool teardown;
    char text[512]; /* what it is shown as */
};

/*
 * The step verdict v is about: its recording (the session name without its "#N"), its recorded
 * seq and what it is shown as. This is the one place the step's name is chosen: its stable name,
 * tenant and ids as templates ("POST /t/{tenant}/api/orders/{order}/pay"), the same for every
 * session the recap groups, or else (a verdict without one) the method and the live path,
 * relative to the target.
 */
static void step_of(const struct terminal *t, const struct rp_verdict *v, struct step *out)
{
    const char *session = v->session ? v->session : "-";
    size_t n = strlen(session);
    const char *hash = strrchr(session, '#');
    if (hash && hash[1] && strspn(hash + 1, "0123456789") == strlen(hash + 1)) {
        n = (size_t)(hash - session);
    }
    out->recording = session;
    out->rec_len = n;
    out->seq = v->recorded_seq;
    out->teardown = v->teardown;
    if (v->step && v->step[0]) {
        snprintf(out->text, sizeof(out->text), "%s", v->step);
        return;
    }
    const struct rp_exchange *ex = v->live;
    const char *method = ex && ex->req.method ? ex->req.method : "-";
    const char *url = ex && ex->req.url ? rp__report_url_shown(ex->req.url, t->target) : "-";
    snprintf(out->text, sizeof(out->text), "%s %s", method, url);
}

/*
 * What a mismatch is, for grouping: its path and message without the live value a type
 * mismatch quotes ("expected number, got string \"12.00\"" is "expected number, got string"),
 * so every session that got the same wrong type counts as one, whatever its value. Into buf.
 */
static void mismatch_kind(const struct rp_mismatch *m, char *buf, size_t size)
{
    const char *msg = m->message ? m->message : "";
    size_t n = strlen(msg);
    const char *got = strstr(msg, ", got ");
    if (got) {
        const char *rest = got + 6;
        static const char *const types[] = {"string ", "number ", "boolean "};
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            size_t k = strlen(types[i]);
            if (strncmp(rest, types[i], k) == 0) {
                n = (size_t)(rest - msg) + k - 1;
                break;
            }
        }
        if (rest[0] == '"') {
            n = (size_t)(got - msg);
        }
    }
    snprintf(buf, size, "%s: %.*s", m->path ? m->path : "", (int)n, msg);
}

/*
 * Counts one failure (what) of step st in session: returns its row, or NULL when the recap is
 * full and this failure is new to it (then only counted). *out_seen says whether an earlier
 * session already showed it.
 */
static const struct recap_row *recap_add(struct terminal *t, const struct step *st,
                                         const char *what, const char *session, bool *out_seen)
{
    for (size_t i = 0; i < t->n_recap; i++) {
        struct recap_row *r = &t->recap[i];
        if (r->seq == st->seq && r->teardown == st->teardown &&
            strlen(r->recording) == st->rec_len &&
            memcmp(r->recording, st->recording, st->rec_len) == 0 && strcmp(r->what, what) == 0) {
            r->count++;
            *out_seen = true;
            return r;
        }
    }
    *out_seen = false;
    if (t->n_recap >= RP_REPORT_RECAP_ROWS) {
        t->recap_dropped++;
        return NULL;
    }
    if (!t->recap) {
        t->recap = rp_xcalloc(RP_REPORT_RECAP_ROWS, sizeof(*t->recap));
    }
    struct recap_row *r = &t->recap[t->n_recap];
    r->recording = rp_xstrndup(st->recording, st->rec_len);
    r->seq = st->seq;
    r->teardown = st->teardown;
    r->step = rp_xstrdup(st->text);
    r->what = rp_xstrdup(what);
    r->first = rp_xstrdup(session);
    r->count = 1;
    r->order = t->n_recap++;
    return r;
}

/* Appends one detail line: six spaces, text cleaned, a newline. */
static rp_code add_detail(struct rp_buf *b, const char *a, const char *sep, const char *c,
                          struct rp_error *err)
{
    rp_code rc = rp_buf_adds(b, "      ", err);
    if (!rc) {
        rc = add_clean(b, a, SIZE_MAX, 0, err);
    }
    if (!rc && sep) {
        rc = rp_buf_adds(b, sep, err);
    }
    if (!rc && c) {
        rc = add_clean(b, c, SIZE_MAX, 0, err);
    }
    return rc ? rc : rp_buf_addc(b, '\n', err);
}

/* Appends " (same as FIRST)" and the row's newline. */
static rp_code add_same_as(struct rp_buf *b, const char *first, struct rp_error *err)
{
    rp_code rc = rp_buf_adds(b, "  (same as ", err);
    if (!rc) {
        rc = add_clean(b, first, SIZE_MAX, 0, err);
    }
    return rc ? rc : rp_buf_adds(b, ")\n", err);
}

/*
 * Ends a result's row and appends the detail lines under it: one per mismatch, or the error
 * or skip reason. A failure goes into the recap; what an earlier session already showed for
 * the same step is not repeated: a row whose every mismatch (or error) was seen before ends
 * "(same as NAME#1)", and one with some new ones says how many more were as in NAME#1. So
 * 200 sessions failing alike print their mismatches once.
 */
static rp_code add_details(struct terminal *t, struct rp_buf *b, const struct rp_verdict *res,
                           struct rp_error *err)
{
    if (res->outcome == RP_OUTCOME_PASS) {
        return rp_buf_addc(b, '\n', err);
    }
    const char *session = res->session ? res->session : "-";
    struct step st;
    step_of(t, res, &st);
    rp_code rc = RP_OK;
    if (res->outcome == RP_OUTCOME_FAIL && res->mismatches.n) {
        size_t n = res->mismatches.n, seen = 0;
        bool *was = rp_xcalloc(n, sizeof(*was));
        const char *first = NULL;
        for (size_t i = 0; i < n; i++) {
            char kind[RP_MAX_MISMATCH_TEXT + 256];
            mismatch_kind(&res->mismatches.v[i], kind, sizeof(kind));
            const struct recap_row *row = recap_add(t, &st, kind, session, &was[i]);
            if (was[i]) {
                seen++;
                first = first ? first : row->first;
            }
        }
        if (seen == n) {
            rc = add_same_as(b, first, err);
        } else {
            rc = rp_buf_addc(b, '\n', err);
        }
        for (size_t i = 0; i < n && !rc && seen < n; i++) {
            const struct rp_mismatch *m = &res->mismatches.v[i];
            if (!was[i]) {
                rc = add_detail(b, m->path ? m->path : "", ": ", m->message ? m->message : "", err);
            }
        }
        if (!rc && seen && seen < n) {
            rc = rp_buf_addf(b, err, "      and %zu more as in ", seen);
            if (!rc) {
                rc = add_clean(b, first, SIZE_MAX, 0, err);
            }
            if (!rc) {
                rc = rp_buf_addc(b, '\n', err);
            }
        }
        free(was);
        return rc;
    }
    bool was = false;
    const struct recap_row *row = NULL;
    if (is_failure(res->outcome)) {
        const char *why = res->error                        ? res->error
                          : res->outcome == RP_OUTCOME_FAIL ? "failed"
                                                            : "no response";
        row = recap_add(t, &st, why, session, &was);
    }
    if (was) {
        return add_same_as(b, row->first, err);
    }
    rc = rp_buf_addc(b, '\n', err);
    if (!rc && res->outcome != RP_OUTCOME_PASS && res->error) {
        rc = add_detail(b, res->error, NULL, NULL, err);
    }
    return rc;
}

/* Orders recap rows by recording, main steps before teardown ones, seq, then first seen. */
static int recap_cmp(const void *a, const void *b)
{
    const struct recap_row *x = *(const struct recap_row *const *)a;
    const struct recap_row *y = *(const struct recap_row *const *)b;
    int c = strcmp(x->recording, y->recording);
    if (c) {
        return c;
    }
    if (x->teardown != y->teardown) {
        return x->teardown ? 1 : -1;
    }
    if (x->seq != y->seq) {
        return x->seq < y->seq ? -1 : 1;
    }
    return x->order < y->order ? -1 : (x->order > y->order ? 1 : 0);
}

/* Appends the heading of one step in the recap: "  demo-checkout, step 5: POST /api/orders". */
static rp_code add_recap_step(const struct terminal *t, struct rp_buf *b, const struct recap_row *r,
                              struct rp_error *err)
{
    size_t used = 0;
    rp_code rc = rp_buf_adds(b, "  ", err);
    if (!rc) {
        rc = add_fit(b, r->recording, MAX_SESSION, 0, &used, err);
    }
    if (!rc) {
        char head[64];
        int k = snprintf(head, sizeof(head), ", %sstep %" PRIu64 ": ",
                         r->teardown ? "teardown " : "", r->seq);
        used += 2 + (size_t)k;
        rc = rp_buf_adds(b, head, err);
    }
    size_t room = t->width > used + MIN_URL ? t->width - used : MIN_URL;
    if (!rc) {
        rc = add_clean(b, r->step, room, 0, err);
    }
    return rc ? rc : rp_buf_addc(b, '\n', err);
}

/*
 * The recap, before the summary: each distinct failure once under its step, with how many
 * sessions showed it and the first one ("× 200 sessions, first demo-checkout#1"), in step
 * order; then what did not fit the table, counted.
 */
static rp_code add_recap(struct terminal *t, struct rp_buf *b, struct rp_error *err)
{
    if (t->n_recap == 0 && t->recap_dropped == 0) {
        return RP_OK;
    }
    const struct recap_row **order = rp_xcalloc(t->n_recap ? t->n_recap : 1, sizeof(*order));
    for (size_t i = 0; i < t->n_recap; i++) {
        order[i] = &t->recap[i];
    }
    qsort(order, t->n_recap, sizeof(*order), recap_cmp);
    rp_code rc = rp_buf_adds(b, "\nfailures by step:\n", err);
    for (size_t i = 0; i < t->n_recap && !rc; i++) {
        const struct recap_row *r = order[i];
        const struct recap_row *prev = i ? order[i - 1] : NULL;
        if (!prev || prev->seq != r->seq || prev->teardown != r->teardown ||
            strcmp(prev->recording, r->recording) != 0) {
            rc = add_recap_step(t, b, r, err);
        }
        if (!rc) {
            rc = rp_buf_adds(b, "      ", err);
        }
        if (!rc) {
            rc = add_clean(b, r->what, SIZE_MAX, 0, err);
        }
        if (!rc) {
            rc = rp_buf_addf(b, err, "  \xc3\x97 %" PRIu64 " session%s, first ", r->count,
                             r->count == 1 ? "" : "s");
        }
        if (!rc) {
            rc = add_clean(b, r->first, SIZE_MAX, 0, err);
        }
        if (!rc) {
            rc = rp_buf_addc(b, '\n', err);
        }
    }
    if (!rc && t->recap_dropped) {
        rc = rp_buf_addf(
            b, err, "  ... and %" PRIu64 " more failure%s of other kinds (the recap keeps %u)\n",
            t->recap_dropped, t->recap_dropped == 1 ? "" : "s", RP_REPORT_RECAP_ROWS);
    }
    free(order);
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

/* ----- rows -------------------------------------------------------------------------------- */

/*
 * One line per exchange, in fixed columns, without its newline (add_details ends it):
 *   demo-checkout#1       3  POST   /api/login                                200      12.3 ms  ok
 * A value wider than its column pushes the later ones right, up to its most; past that (and
 * the URL past what the line's width leaves it) it is elided in the middle.
 */
static rp_code add_row(struct terminal *t, struct rp_buf *b, const struct rp_verdict *res,
                       struct rp_error *err)
{
    const struct rp_exchange *ex = res->live;
    const char *method = ex && ex->req.method ? ex->req.method : "-";
    const char *url = ex && ex->req.url ? rp__report_url_shown(ex->req.url, t->target) : "-";
    size_t used = 2, k = 0;
    char label[192];
    rp_code rc = rp_buf_adds(b, "  ", err);
    if (!rc) {
        rc =
            add_fit(b, session_label(res, label, sizeof(label)), MAX_SESSION, COL_SESSION, &k, err);
        used += k;
    }
    char num[24];
    const char *digits = u64_digits(res->recorded_seq, num);
    size_t nd = (size_t)(num + sizeof(num) - digits);
    if (!rc) {
        rc = rp_buf_addc(b, ' ', err);
    }
    if (!rc) {
        rc = add_right(b, digits, nd, 4, err);
        used += 1 + (nd > 4 ? nd : 4);
    }
    if (!rc) {
        rc = rp_buf_adds(b, "  ", err);
    }
    if (!rc) {
        rc = add_fit(b, method, MAX_METHOD, COL_METHOD, &k, err);
        used += 2 + k;
    }
    if (!rc) {
        rc = rp_buf_addc(b, ' ', err);
        used += 1;
    }
    size_t room = t->width > used + ROW_TAIL + MIN_URL ? t->width - used - ROW_TAIL : MIN_URL;
    if (!rc) {
        rc = add_clean(b, url, room, room < COL_URL ? room : COL_URL, err);
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
    return rc ? rc : add_outcome(t, b, res->outcome, err);
}

static rp_code terminal_result(void *ctx, const struct rp_verdict *res, struct rp_error *err)
{
    struct terminal *t = ctx;
    struct rp_buf *b = &t->line;
    rp_buf_reset(b);
    /* -q shows failures only; what it hides never goes into the recap either. */
    bool shown = !t->quiet || is_failure(res->outcome);
    rp_code rc = shown ? add_row(t, b, res, err) : RP_OK;
    if (!rc && shown) {
        rc = add_details(t, b, res, err);
    }
    if (!rc && shown) {
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
    if (!rc) {
        rp_progress_step(t->progress, is_failure(res->outcome));
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
    if (sum->sessions.passed + sum->sessions.flaky + sum->sessions.failed + sum->sessions.infra +
            sum->sessions.cancelled ==
        0) {
        return RP_OK;
    }
    rp_code rc = rp_buf_addf(b, err,
                             "sessions: %" PRIu64 " passed, %" PRIu64 " flaky, %" PRIu64
                             " failed, %" PRIu64 " infrastructure",
                             sum->sessions.passed, sum->sessions.flaky, sum->sessions.failed,
                             sum->sessions.infra);
    if (!rc && sum->sessions.cancelled) { /* only a cancelled run has any */
        rc = rp_buf_addf(b, err, ", %" PRIu64 " cancelled", sum->sessions.cancelled);
    }
    return rc ? rc : rp_buf_addc(b, '\n', err);
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
    rp_progress_clear(t->progress);
    uint64_t hundredths = sum->wall_us / 10000 + (sum->wall_us % 10000 >= 5000 ? 1 : 0);
    rp_code rc = add_teardown(t, &b, sum, err);
    if (!rc) {
        rc = add_recap(t, &b, err);
    }
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
    if (!rc && sum->exact_latency) { /* reprise merge: exact, so the tail is worth showing */
        rc = rp_buf_adds(&b, " ms, p99 ", err);
        if (!rc) {
            rc = add_ms(&b, sum->p99_us, err);
        }
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
        for (size_t i = 0; i < t->n_recap; i++) {
            free(t->recap[i].recording);
            free(t->recap[i].step);
            free(t->recap[i].what);
            free(t->recap[i].first);
        }
        free(t->recap);
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

void rp_sink_terminal_opts(struct rp_sink *sink, FILE *out, const struct rp_terminal_opts *o)
{
    struct terminal *t = rp_xcalloc(1, sizeof(*t));
    t->out = out;
    t->color = o->color;
    t->quiet = o->quiet;
    t->width = o->width ? o->width : RP_REPORT_TABLE_COLUMNS;
    t->progress = o->progress;
    t->live = isatty(fileno(out));
    rp_buf_init(&t->line, RP_MAX_LINE_BYTES);
    rp_buf_init(&t->td, TEARDOWN_SECTION_MAX);
    sink->ops = &terminal_ops;
    sink->ctx = t;
}

void rp_sink_terminal(struct rp_sink *sink, FILE *out, bool color)
{
    struct rp_terminal_opts o = {.color = color};
    rp_sink_terminal_opts(sink, out, &o);
}
