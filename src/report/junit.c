/* SPDX-License-Identifier: MIT */
/*
 * The JUnit XML sink: a testsuite per session (and one per session's teardown) and a testcase
 * per exchange. A session's results
 * are kept in memory as little more than the XML needs (a name, a time, an outcome and a
 * capped text) until it finishes; then its testsuite is written to a spill file (an anonymous
 * temporary file) and forgotten, so memory holds only the sessions running. The report is
 * written at end(), to PATH.tmp and renamed, so a CI job never reads half a report: the
 * totals, the finished sessions in the order they finished, then any still open (a run read
 * back from a results file, or one that stopped early) in order of first appearance.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <reprise/limits.h>
#include <reprise/report.h>

#include "../text_int.h"
#include "internal.h"

struct jcase {
    char *name; /* "SEQ METHOD PATH" */
    uint64_t time_us;
    enum rp_outcome outcome;
    size_t n_mismatches;
    char *text; /* FAIL: mismatch lines; ERROR, SKIPPED: the reason; else NULL */
    bool leak;  /* FAIL of the isolation probe's check (`reprise probe`), not of a shape */
};

struct jsuite {
    char *name;
    int64_t start_us;
    uint64_t time_us;
    uint64_t failures, errors, skipped;
    struct jcase *cases;
    size_t n, cap;
};

struct junit {
    char *path;
    char *target;
    int64_t start_us;
    struct jsuite *suites; /* the sessions not finished yet */
    size_t n, cap;
    size_t last; /* the suite used last: a session's results usually come together */
    FILE *spill; /* the finished sessions' testsuites; NULL until one finished */
    uint64_t spilled_tests, spilled_failures, spilled_errors, spilled_skipped;
};

/* ----- collecting -------------------------------------------------------------------------- */

/*
 * Appends the NUL-terminated s to b, cut at a character boundary with "..." when b would pass
 * RP_REPORT_TEXT_MAX bytes. b's own cap is three bytes more, for the dots. Returns false once
 * b is full.
 */
static bool add_capped(struct rp_buf *b, const char *s)
{
    size_t n = strlen(s);
    size_t room = b->len < RP_REPORT_TEXT_MAX ? RP_REPORT_TEXT_MAX - b->len : 0;
    if (n <= room) {
        rp_ignore(rp_buf_add(b, s, n, NULL));
        return true;
    }
    size_t cut = room;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) {
        cut--;
    }
    rp_ignore(rp_buf_add(b, s, cut, NULL));
    rp_ignore(rp_buf_add(b, "...", 3, NULL));
    return false;
}

static struct jsuite *suite_for(struct junit *j, const char *name, int64_t start_us)
{
    if (j->last < j->n && strcmp(j->suites[j->last].name, name) == 0) {
        return &j->suites[j->last];
    }
    for (size_t i = 0; i < j->n; i++) {
        if (strcmp(j->suites[i].name, name) == 0) {
            j->last = i;
            return &j->suites[i];
        }
    }
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 8;
        j->suites = rp_xreallocarray(j->suites, j->cap, sizeof(*j->suites));
    }
    struct jsuite *s = &j->suites[j->n];
    memset(s, 0, sizeof(*s));
    s->name = rp_xstrdup(name);
    s->start_us = start_us;
    j->last = j->n++;
    return s;
}

static rp_code junit_begin(void *ctx, const struct rp_run_info *run, struct rp_error *err)
{
    (void)err;
    struct junit *j = ctx;
    free(j->target);
    j->target = rp_xstrdup(run->target);
    j->start_us = run->start_us;
    return RP_OK;
}

static rp_code junit_result(void *ctx, const struct rp_verdict *res, struct rp_error *err)
{
    (void)err;
    struct junit *j = ctx;
    const struct rp_exchange *ex = res->live;
    int64_t start_us = ex && ex->start_us ? ex->start_us : j->start_us;
    /* A session's teardown is a testsuite of its own: "demo-checkout#1 teardown". */
    const char *session = res->session ? res->session : "-";
    struct rp_buf sn;
    rp_buf_init(&sn, strlen(session) + sizeof(" teardown"));
    rp_ignore(rp_buf_adds(&sn, session, NULL)); /* sized to fit */
    if (res->teardown) {
        rp_ignore(rp_buf_adds(&sn, " teardown", NULL));
    }
    struct jsuite *s = suite_for(j, sn.data, start_us);
    rp_buf_cleanup(&sn);

    struct rp_buf b;
    rp_buf_init(&b, RP_REPORT_TEXT_MAX + 3);
    char seq[32];
    snprintf(seq, sizeof(seq), "%" PRIu64 " ", res->recorded_seq);
    bool room = add_capped(&b, seq);
    if (room) {
        room = add_capped(&b, ex && ex->req.method ? ex->req.method : "-");
    }
    if (room) {
        room = add_capped(&b, " ");
    }
    if (room) {
        add_capped(&b, ex && ex->req.url ? rp__report_url_shown(ex->req.url, j->target) : "-");
    }
    struct jcase c = {.outcome = res->outcome};
    c.leak = res->n_checks > 0 && strcmp(res->checks[0].name, "isolation") == 0;
    c.name = rp_buf_take(&b, NULL);
    if (ex && res->outcome != RP_OUTCOME_SKIPPED && res->outcome != RP_OUTCOME_CANCELLED) {
        c.time_us = ex->duration_us;
    }

    if (res->outcome == RP_OUTCOME_FAIL) {
        c.n_mismatches = res->mismatches.n;
        room = true;
        for (size_t i = 0; i < res->mismatches.n && room; i++) {
            const struct rp_mismatch *m = &res->mismatches.v[i];
            room = add_capped(&b, i ? "\n" : "");
            if (room) {
                room = add_capped(&b, m->path ? m->path : "");
            }
            if (room) {
                room = add_capped(&b, ": ");
            }
            if (room) {
                room = add_capped(&b, m->message ? m->message : "");
            }
        }
        c.text = rp_buf_take(&b, NULL);
    } else if (res->outcome == RP_OUTCOME_CANCELLED) {
        /* "cancelled: not sent: the run was cancelled" reads as it says. */
        const char *why = res->error ? res->error : "cancelled";
        if (strncmp(why, "cancelled", 9) != 0) {
            add_capped(&b, "cancelled: ");
        }
        add_capped(&b, why);
        c.text = rp_buf_take(&b, NULL);
    } else if (res->outcome == RP_OUTCOME_ERROR || res->outcome == RP_OUTCOME_SKIPPED ||
               res->outcome == RP_OUTCOME_UNSAFE) {
        add_capped(&b, res->error                          ? res->error
                       : res->outcome == RP_OUTCOME_ERROR  ? "no response"
                       : res->outcome == RP_OUTCOME_UNSAFE ? "refused as unsafe"
                                                           : "skipped");
        c.text = rp_buf_take(&b, NULL);
    }
    rp_buf_cleanup(&b);

    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->cases = rp_xreallocarray(s->cases, s->cap, sizeof(*s->cases));
    }
    s->cases[s->n++] = c;
    s->time_us += c.time_us;
    s->failures += res->outcome == RP_OUTCOME_FAIL || res->outcome == RP_OUTCOME_UNSAFE;
    s->errors += res->outcome == RP_OUTCOME_ERROR;
    s->skipped += res->outcome == RP_OUTCOME_SKIPPED || res->outcome == RP_OUTCOME_CANCELLED;
    return RP_OK;
}

/* ----- writing ----------------------------------------------------------------------------- */

/*
 * Writes s as XML character data (attr false) or an attribute value (attr true): markup
 * characters escaped, characters XML 1.0 forbids (C0 controls but tab, newline and CR;
 * U+FFFE, U+FFFF) dropped, malformed UTF-8 replaced by U+FFFD. In attributes, tab, newline
 * and CR are written as references, since a parser would otherwise turn them into spaces.
 */
static void put_xml(FILE *f, const char *s, bool attr)
{
    size_t n = strlen(s), i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = rp__utf8_next((const unsigned char *)s + i, n - i, &cp);
        switch (cp) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        case '\t':
        case '\n':
        case '\r':
            if (attr) {
                fprintf(f, "&#%u;", (unsigned)cp);
            } else {
                fputc((int)cp, f);
            }
            break;
        case 0xFFFE:
        case 0xFFFF:
            break;
        case 0xFFFD:
            /* Both a genuine U+FFFD and the replacement for a malformed byte. */
            fputs("\xEF\xBF\xBD", f);
            break;
        default:
            if (cp >= 0x20) {
                fwrite(s + i, 1, k, f);
            }
            break;
        }
        i += k;
    }
}

/* Writes microseconds as seconds with three decimals: 1234567 gives "1.235". */
static void put_seconds(FILE *f, uint64_t us)
{
    uint64_t ms = us / 1000 + (us % 1000 >= 500 ? 1 : 0);
    fprintf(f, "%" PRIu64 ".%03" PRIu64, ms / 1000, ms % 1000);
}

static void put_case(FILE *f, const char *suite, const struct jcase *c)
{
    fputs("    <testcase classname=\"", f);
    put_xml(f, suite, true);
    fputs("\" name=\"", f);
    put_xml(f, c->name, true);
    fputs("\" time=\"", f);
    put_seconds(f, c->time_us);
    switch (c->outcome) {
    case RP_OUTCOME_PASS:
        fputs("\"/>\n", f);
        return;
    case RP_OUTCOME_FAIL:
        if (c->leak) {
            fputs("\">\n      <failure message=\"leak\" type=\"isolation\">", f);
        } else {
            fprintf(f, "\">\n      <failure message=\"%zu mismatch%s\" type=\"shape\">",
                    c->n_mismatches, c->n_mismatches == 1 ? "" : "es");
        }
        put_xml(f, c->text ? c->text : "", false);
        fputs("</failure>\n", f);
        break;
    case RP_OUTCOME_ERROR:
        fputs("\">\n      <error message=\"", f);
        put_xml(f, c->text ? c->text : "", true);
        fputs("\" type=\"target\"/>\n", f);
        break;
    case RP_OUTCOME_SKIPPED:
    case RP_OUTCOME_CANCELLED: /* not a result: a CI counts it skipped, message "cancelled: …" */
        fputs("\">\n      <skipped message=\"", f);
        put_xml(f, c->text ? c->text : "", true);
        fputs("\"/>\n", f);
        break;
    case RP_OUTCOME_UNSAFE:
        /* Not sent, and a failure: sending it would have acted on a recorded server value. */
        fputs("\">\n      <failure message=\"", f);
        put_xml(f, c->text ? c->text : "", true);
        fputs("\" type=\"unsafe\">", f);
        put_xml(f, c->text ? c->text : "", false);
        fputs("</failure>\n", f);
        break;
    }
    fputs("    </testcase>\n", f);
}

static void put_suite(FILE *f, const struct jsuite *s)
{
    /* JUnit's schema wants the timestamp without a zone; it is UTC. */
    char when[32];
    rp_time_format(s->start_us, when);
    when[19] = '\0';
    fputs("  <testsuite name=\"", f);
    put_xml(f, s->name, true);
    fprintf(f,
            "\" tests=\"%zu\" failures=\"%" PRIu64 "\" errors=\"%" PRIu64 "\" skipped=\"%" PRIu64
            "\" time=\"",
            s->n, s->failures, s->errors, s->skipped);
    put_seconds(f, s->time_us);
    fprintf(f, "\" timestamp=\"%s\">\n", when);
    for (size_t i = 0; i < s->n; i++) {
        put_case(f, s->name, &s->cases[i]);
    }
    fputs("  </testsuite>\n", f);
}

static void suite_free(struct jsuite *s)
{
    for (size_t k = 0; k < s->n; k++) {
        free(s->cases[k].name);
        free(s->cases[k].text);
    }
    free(s->cases);
    free(s->name);
}

/* A session finished: its testsuite goes to the spill file and its results are freed. */
static rp_code junit_session_end(void *ctx, const char *session, struct rp_error *err)
{
    struct junit *j = ctx;
    size_t i = 0;
    while (i < j->n && strcmp(j->suites[i].name, session) != 0) {
        i++;
    }
    if (i == j->n) {
        return RP_OK; /* no result of it came (a dry run, or nothing left to check) */
    }
    if (!j->spill) {
        j->spill = tmpfile();
        if (!j->spill) {
            return rp_error_set(err, RP_EIO, "%s: cannot create a temporary file: %s", j->path,
                                strerror(errno));
        }
    }
    struct jsuite *s = &j->suites[i];
    put_suite(j->spill, s);
    if (ferror(j->spill)) {
        return rp_error_set(err, RP_EIO, "%s: cannot write to a temporary file: %s", j->path,
                            strerror(errno));
    }
    j->spilled_tests += s->n;
    j->spilled_failures += s->failures;
    j->spilled_errors += s->errors;
    j->spilled_skipped += s->skipped;
    suite_free(s);
    memmove(s, s + 1, (j->n - i - 1) * sizeof(*s));
    j->n--;
    j->last = 0;
    return RP_OK;
}

/* Copies the spill file's testsuites to f; false when it cannot be read back. */
static bool put_spilled(FILE *f, FILE *spill)
{
    if (!spill) {
        return true;
    }
    if (fflush(spill) != 0 || fseek(spill, 0, SEEK_SET) != 0) {
        return false;
    }
    char buf[16384];
    size_t k;
    while ((k = fread(buf, 1, sizeof(buf), spill)) > 0) {
        if (fwrite(buf, 1, k, f) != k) {
            return false;
        }
    }
    return !ferror(spill);
}

static bool put_document(FILE *f, const struct junit *j, uint64_t wall_us)
{
    uint64_t tests = j->spilled_tests, failures = j->spilled_failures, errors = j->spilled_errors,
             skipped = j->spilled_skipped;
    for (size_t i = 0; i < j->n; i++) {
        tests += j->suites[i].n;
        failures += j->suites[i].failures;
        errors += j->suites[i].errors;
        skipped += j->suites[i].skipped;
    }
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f,
            "<testsuites name=\"reprise\" tests=\"%" PRIu64 "\" failures=\"%" PRIu64
            "\" errors=\"%" PRIu64 "\" skipped=\"%" PRIu64 "\" time=\"",
            tests, failures, errors, skipped);
    put_seconds(f, wall_us);
    fputs("\">\n", f);
    bool ok = put_spilled(f, j->spill);
    for (size_t i = 0; i < j->n; i++) {
        put_suite(f, &j->suites[i]);
    }
    fputs("</testsuites>\n", f);
    return ok;
}

static rp_code junit_end(void *ctx, const struct rp_run_summary *sum, struct rp_error *err)
{
    struct junit *j = ctx;
    rp_code rc = RP_EIO;
    FILE *f = NULL;
    size_t n = strlen(j->path);
    if (n > SIZE_MAX - sizeof(".tmp")) {
        return rp_error_set(err, RP_ETOOBIG, "%s: path too long", j->path);
    }
    char *tmp = rp_xmalloc(n + sizeof(".tmp"));
    memcpy(tmp, j->path, n);
    memcpy(tmp + n, ".tmp", sizeof(".tmp"));

    f = fopen(tmp, "w");
    if (!f) {
        rp_error_set(err, RP_EIO, "%s: cannot create %s: %s", j->path, tmp, strerror(errno));
        goto out;
    }
    errno = 0;
    if (!put_document(f, j, sum ? sum->wall_us : 0)) {
        rp_error_set(err, RP_EIO, "%s: cannot read back the finished sessions: %s", j->path,
                     errno ? strerror(errno) : "I/O error");
        goto out;
    }
    /* Make the content durable before the rename makes it visible. */
    if (fflush(f) != 0 || ferror(f) || (fsync(fileno(f)) != 0 && errno != EINVAL)) {
        rp_error_set(err, RP_EIO, "%s: write failed: %s", j->path,
                     errno ? strerror(errno) : "I/O error");
        goto out;
    }
    int closed = fclose(f);
    f = NULL;
    if (closed != 0) {
        rp_error_set(err, RP_EIO, "%s: write failed: %s", j->path, strerror(errno));
        goto out;
    }
    if (rename(tmp, j->path) != 0) {
        rp_error_set(err, RP_EIO, "%s: cannot rename %s into place: %s", j->path, tmp,
                     strerror(errno));
        goto out;
    }
    rc = RP_OK;
out:
    if (f) {
        fclose(f);
    }
    if (rc) {
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

static void junit_free(void *ctx)
{
    struct junit *j = ctx;
    if (!j) {
        return;
    }
    for (size_t i = 0; i < j->n; i++) {
        suite_free(&j->suites[i]);
    }
    free(j->suites);
    if (j->spill) {
        fclose(j->spill);
    }
    free(j->target);
    free(j->path);
    free(j);
}

static const struct rp_sink_ops junit_ops = {
    .begin = junit_begin,
    .result = junit_result,
    .end = junit_end,
    .free = junit_free,
    .session_end = junit_session_end,
};

void rp_sink_junit(struct rp_sink *sink, const char *path)
{
    struct junit *j = rp_xcalloc(1, sizeof(*j));
    j->path = rp_xstrdup(path);
    sink->ops = &junit_ops;
    sink->ctx = j;
}
