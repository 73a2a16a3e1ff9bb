/* SPDX-License-Identifier: MIT */
/*
 * The JUnit XML sink: a testsuite per session (and one per session's teardown) and a testcase
 * per exchange. A session's results
 * are kept in memory as little more than the XML needs (a name, a time, an outcome and a
 * capped text) until it finishes; then its testsuite is written to a spill file (an anonymous
 * temporary file) and forgotten, so memory holds only the sessions running. The report is
 * written at end(), to PATH.tmp and renamed, so a CI job never reads half a report: the
 * totals, the finished sessions in the order they finished, then any still open (a run read
 * back from a results file, or one that stopped early) in order of first appearance. A session
 * retried (--retries) keeps every attempt's results until its verdict (session_verdict), and
 * shows one testcase per step, with the other attempts' failures inside as Maven Surefire
 * writes a re-run test's (see struct jmerge).
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
    char *name; /* the step's name ("POST /t/{tenant}/api/orders/{order}/pay"), else "SEQ METHOD
                   PATH" */
    uint64_t time_us;
    enum rp_outcome outcome;
    size_t n_mismatches;
    char *text;       /* FAIL: mismatch lines; ERROR, SKIPPED: the reason; else NULL */
    bool leak;        /* FAIL of the isolation probe's check (`reprise probe`), not of a shape */
    uint64_t seq;     /* the recorded step: the same in every attempt */
    unsigned attempt; /* 0, or the retry it came from (--retries) */
    unsigned status;  /* the live status, 0 without a response */
    bool infra;       /* rp_verdict_infra(): written as an <error> */
    bool latency;     /* FAIL for its latency budget alone (--fail-on-slow): type "latency" */
    char *slow;       /* over its latency budget: "slow: 840 ms, recorded 95 ms, ..."; else NULL */
    /* FAIL: the failure's message attribute ("2 mismatches: $.a: ..."); NULL: "N mismatches" */
    char *message;
    /* <system-out>: the request and response heads, scrubbed; NULL: none */
    char *out;
};

struct jsuite {
    char *name;
    char *classname; /* the recording's name (the session's without "#N"), " teardown" added */
    int64_t start_us;
    struct jcase *cases; /* every attempt's, in the order they came */
    size_t n, cap;
    unsigned attempts; /* 1 + the highest attempt among the cases */
    bool flaky;        /* the session's verdict (session_verdict): flaky */
};

/* A suite's counts, over the testcases it shows (see struct jmerge). */
struct jcounts {
    uint64_t tests, failures, errors, skipped, time_us;
};

struct junit {
    char *path;
    char *target;
    int64_t start_us;
    struct jsuite *suites; /* the sessions not finished yet */
    size_t n, cap;
    size_t last; /* the suite used last: a session's results usually come together */
    FILE *spill; /* the finished sessions' testsuites; NULL until one finished */
    struct jcounts spilled;
    /* What a testcase shows of its exchange is scrubbed with it. */
    struct rp_scrub *scrub;
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

/*
 * The classname of a session's testcases: the recording's name, the session's ("NAME#N", or
 * "NAME#N teardown") without its number, so that a step keeps one classname and name in every
 * run and CI history follows it (new memory).
 */
static char *classname_of(const char *session)
{
    const char *hash = strrchr(session, '#');
    if (!hash || hash == session) {
        return rp_xstrdup(session);
    }
    const char *end = hash + 1;
    while (*end >= '0' && *end <= '9') {
        end++;
    }
    size_t head = (size_t)(hash - session), tail = strlen(end);
    char *c = rp_xmalloc(head + tail + 1);
    memcpy(c, session, head);
    memcpy(c + head, end, tail + 1);
    return c;
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
    s->classname = classname_of(name);
    s->start_us = start_us;
    j->last = j->n++;
    return s;
}

/* ----- what a testcase shows of its exchange ---------------------------------------------- */

/* How much of a failed step's response body its failure shows. */
#define FAILURE_BODY_MAX    2048u
/* The most bytes of a failure's message attribute. */
#define FAILURE_MESSAGE_MAX 300u

/* The <system-out> of a step: its request and response heads, scrubbed (new memory; NULL when
 * they cannot be shown). */
static char *case_out(struct junit *j, const struct rp_exchange *ex)
{
    struct rp_buf b;
    rp_buf_init(&b, RP_REPORT_TEXT_MAX);
    /* Past the cap, the heads are cut: what fitted is shown. */
    rp_ignore(
        rp_step_format(&b, ex, RP_STEP_REQUEST_HEAD | RP_STEP_RESPONSE_HEAD, 0, j->scrub, NULL));
    if (b.len == 0) {
        rp_buf_cleanup(&b);
        return NULL;
    }
    return rp_buf_take(&b, NULL);
}

/* Appends, under a failure's mismatches, the request line, the status line and an excerpt of the
 * response body (FAILURE_BODY_MAX bytes), scrubbed. */
static void add_exchange(struct junit *j, struct rp_buf *b, const struct rp_exchange *ex)
{
    struct rp_buf t;
    rp_buf_init(&t, RP_REPORT_TEXT_MAX);
    rp_ignore(rp_buf_addf(&t, NULL, "\n\n%s %s\n", ex->req.method ? ex->req.method : "-",
                          ex->req.url ? ex->req.url : "-"));
    if (ex->has_response) {
        rp_ignore(rp_buf_addf(&t, NULL, "%s %u%s%s\n",
                              ex->resp.version ? ex->resp.version : "HTTP/1.1", ex->resp.status,
                              ex->resp.reason && ex->resp.reason[0] ? " " : "",
                              ex->resp.reason ? ex->resp.reason : ""));
        /* What does not fit is cut, as the rest of the text is. */
        rp_ignore(rp_step_format(&t, ex, RP_STEP_RESPONSE_BODY, FAILURE_BODY_MAX, j->scrub, NULL));
    }
    if (t.len) {
        add_capped(b, t.data);
    }
    rp_buf_cleanup(&t);
}

/* A failure's message: how many mismatches, and the first ("2 mismatches: $.items[0].price:
 * expected number, got string"), cut to a line a dashboard shows (new memory). */
static char *failure_message(const struct rp_mismatches *mm)
{
    struct rp_buf b;
    rp_buf_init(&b, RP_REPORT_TEXT_MAX);
    rp_code rc = rp_buf_addf(&b, NULL, "%zu mismatch%s", mm->n, mm->n == 1 ? "" : "es");
    if (!rc && mm->n) {
        rc = rp_buf_addf(&b, NULL, ": %s: %s", mm->v[0].path ? mm->v[0].path : "",
                         mm->v[0].message ? mm->v[0].message : "");
    }
    rp_ignore(rc); /* a first mismatch past the cap leaves the count alone */
    if (b.len > FAILURE_MESSAGE_MAX) {
        /* A line a dashboard shows: cut at a character, with "...". */
        size_t n = FAILURE_MESSAGE_MAX - 3;
        while (n > 0 && ((unsigned char)b.data[n] & 0xC0) == 0x80) {
            n--;
        }
        memcpy(b.data + n, "...", 4);
        b.len = n + 3;
    }
    return rp_buf_take(&b, NULL);
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

/* The testcase's latency note, for its <system-out>: a new string, or NULL when not slow. */
static char *slow_note(const struct rp_verdict *v)
{
    if (!v->slow) {
        return NULL;
    }
    char text[160], note[176];
    snprintf(note, sizeof(note), "slow: %s", rp_verdict_slow_text(v, text, sizeof(text)));
    return rp_xstrdup(note);
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
    /* A step's name is the same in every run; without one (a results file written before
     * names), the seq and what was sent. */
    bool room = add_capped(&b, res->step ? res->step : seq);
    if (room && !res->step) {
        room = add_capped(&b, ex && ex->req.method ? ex->req.method : "-");
        if (room) {
            room = add_capped(&b, " ");
        }
        if (room) {
            add_capped(&b, ex && ex->req.url ? rp__report_url_shown(ex->req.url, j->target) : "-");
        }
    }
    struct jcase c = {.outcome = res->outcome, .seq = res->recorded_seq};
    c.attempt = res->attempt < RP_REPLAY_MAX_RETRIES ? res->attempt : RP_REPLAY_MAX_RETRIES;
    c.leak = res->n_checks > 0 && strcmp(res->checks[0].name, "isolation") == 0;
    c.status = ex && ex->has_response ? ex->resp.status : 0;
    c.infra = rp_verdict_infra(res);
    c.name = rp_buf_take(&b, NULL);
    if (ex && res->outcome != RP_OUTCOME_SKIPPED && res->outcome != RP_OUTCOME_CANCELLED) {
        c.time_us = ex->duration_us;
        c.out = case_out(j, ex);
    }

    if (res->outcome == RP_OUTCOME_FAIL) {
        c.n_mismatches = res->mismatches.n;
        c.latency = res->mismatches.n > 0;
        for (size_t i = 0; i < res->mismatches.n; i++) {
            const char *path = res->mismatches.v[i].path;
            c.latency = c.latency && path && strcmp(path, "slow") == 0;
        }
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
        /* A step's failure shows what was sent and got; the probe's leak says it in its line. */
        if (room && ex && !c.leak) {
            add_exchange(j, &b, ex);
        }
        c.text = rp_buf_take(&b, NULL);
        c.message = failure_message(&res->mismatches);
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
    c.slow = slow_note(res);

    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->cases = rp_xreallocarray(s->cases, s->cap, sizeof(*s->cases));
    }
    s->cases[s->n++] = c;
    if (c.attempt >= s->attempts) {
        s->attempts = c.attempt + 1;
    }
    return RP_OK;
}

/* The session's verdict: a flaky one shows its passing attempt, with the failed ones inside. */
static rp_code junit_session_verdict(void *ctx, const struct rp_session_result *res,
                                     struct rp_error *err)
{
    (void)err;
    struct junit *j = ctx;
    size_t n = strlen(res->session);
    for (size_t i = 0; i < j->n; i++) {
        const char *name = j->suites[i].name;
        /* Its main suite and its teardown's ("demo-checkout#1 teardown"). */
        if (strncmp(name, res->session, n) == 0 &&
            (name[n] == '\0' || strcmp(name + n, " teardown") == 0)) {
            j->suites[i].flaky = res->verdict == RP_SESSION_FLAKY;
        }
    }
    return RP_OK;
}

/* ----- attempts: a session's retries merged into one testcase per step ----------------------- */

/*
 * A session retried (--retries) has a case per step per attempt; JUnit shows one testcase per
 * step, as Maven Surefire does for a test it re-ran. Flaky (an attempt passed after failures):
 * the passing attempt's case, with a <flakyFailure> or <flakyError> per earlier attempt where
 * the step failed. Otherwise: the step's first failure (or, when it never failed, its first
 * attempt's case), with a <rerunFailure> or <rerunError> per later attempt where it failed.
 * The steps of every attempt come in the same order, so the k-th case of one attempt is the
 * k-th of another, unless an attempt was cut short (then its step is looked for by seq).
 */
struct jmerge {
    const struct jsuite *s;
    size_t *idx[RP_REPLAY_MAX_RETRIES + 1]; /* per attempt: its cases' indices, in order */
    size_t len[RP_REPLAY_MAX_RETRIES + 1];
    unsigned skeleton; /* the attempt whose cases give the testcases and their order */
};

static void merge_init(struct jmerge *m, const struct jsuite *s)
{
    memset(m, 0, sizeof(*m));
    m->s = s;
    unsigned attempts = s->attempts ? s->attempts : 1;
    for (size_t i = 0; i < s->n; i++) {
        unsigned a = s->cases[i].attempt;
        if (!m->idx[a]) {
            m->idx[a] = rp_xcalloc(s->n, sizeof(*m->idx[a]));
        }
        m->idx[a][m->len[a]++] = i;
    }
    /* Flaky: the last attempt (the one that passed); else the first. One with no case (a
     * teardown that did not run in it): the nearest that has some. */
    m->skeleton = s->flaky ? attempts - 1 : 0;
    for (unsigned d = 0; d < attempts && m->len[m->skeleton] == 0; d++) {
        m->skeleton = s->flaky ? attempts - 1 - d : d;
    }
}

static void merge_cleanup(struct jmerge *m)
{
    for (size_t a = 0; a <= RP_REPLAY_MAX_RETRIES; a++) {
        free(m->idx[a]);
    }
}

/* Attempt a's case of the step at position k of the skeleton (seq), or NULL. */
static const struct jcase *merge_match(const struct jmerge *m, unsigned a, size_t k, uint64_t seq)
{
    if (k < m->len[a] && m->s->cases[m->idx[a][k]].seq == seq) {
        return &m->s->cases[m->idx[a][k]];
    }
    for (size_t i = 0; i < m->len[a]; i++) {
        if (m->s->cases[m->idx[a][i]].seq == seq) {
            return &m->s->cases[m->idx[a][i]];
        }
    }
    return NULL;
}

/* A failure or an error: what a retry re-runs, and what an attempt's testcase shows. */
static bool case_failed(const struct jcase *c)
{
    return c && (c->outcome == RP_OUTCOME_FAIL || c->outcome == RP_OUTCOME_UNSAFE ||
                 c->outcome == RP_OUTCOME_ERROR);
}

/* The case testcase k shows, and in *out_attempt its attempt. */
static const struct jcase *merge_primary(const struct jmerge *m, size_t k, unsigned *out_attempt)
{
    const struct jcase *sk = &m->s->cases[m->idx[m->skeleton][k]];
    *out_attempt = m->skeleton;
    if (m->s->flaky) {
        return sk;
    }
    for (unsigned a = 0; a < m->s->attempts; a++) {
        const struct jcase *c = merge_match(m, a, k, sk->seq);
        if (case_failed(c)) {
            *out_attempt = a;
            return c;
        }
    }
    return sk;
}

/* An <error> rather than a <failure>: no response, or a gateway's 502, 503 or 504. */
static bool case_is_error(const struct jcase *c)
{
    return c->outcome == RP_OUTCOME_ERROR || (c->outcome == RP_OUTCOME_FAIL && c->infra);
}

static void suite_counts(const struct jsuite *s, struct jcounts *out)
{
    memset(out, 0, sizeof(*out));
    if (s->n == 0) {
        return;
    }
    struct jmerge m;
    merge_init(&m, s);
    for (size_t k = 0; k < m.len[m.skeleton]; k++) {
        unsigned a;
        const struct jcase *c = merge_primary(&m, k, &a);
        out->tests++;
        out->time_us += c->time_us;
        out->errors += case_is_error(c);
        out->failures += case_failed(c) && !case_is_error(c);
        out->skipped += c->outcome == RP_OUTCOME_SKIPPED || c->outcome == RP_OUTCOME_CANCELLED;
    }
    merge_cleanup(&m);
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

/* A testcase's <system-out>: its request and response heads, then a slow step's latency note
 * (a warning, which JUnit has no element for; with --fail-on-slow it is in the failure too). */
static void put_system_out(FILE *f, const struct jcase *c)
{
    if (!c->out && !c->slow) {
        return;
    }
    fputs("      <system-out>", f);
    if (c->out) {
        put_xml(f, c->out, false);
    }
    if (c->slow) {
        fputs(c->out ? "\n" : "", f);
        put_xml(f, c->slow, false);
    }
    fputs("</system-out>\n", f);
}

/* Writes the message and type attributes of c's failure or error; prefix (may be NULL) goes
 * before the message ("attempt 1 of 3: "). */
static void put_failure_attrs(FILE *f, const struct jcase *c, const char *prefix)
{
    char msg[64];
    const char *type = "shape";
    const char *text = msg;
    if (c->outcome == RP_OUTCOME_FAIL && c->leak) {
        snprintf(msg, sizeof(msg), "leak");
        type = "isolation";
    } else if (c->outcome == RP_OUTCOME_FAIL && c->infra) {
        snprintf(msg, sizeof(msg), "status %u: %zu mismatch%s", c->status, c->n_mismatches,
                 c->n_mismatches == 1 ? "" : "es");
        type = "gateway";
    } else if (c->outcome == RP_OUTCOME_FAIL && c->message) {
        text = c->message; /* "2 mismatches: $.a: expected ..." */
        type = c->latency ? "latency" : "shape";
    } else if (c->outcome == RP_OUTCOME_FAIL) {
        snprintf(msg, sizeof(msg), "%zu mismatch%s", c->n_mismatches,
                 c->n_mismatches == 1 ? "" : "es");
        type = c->latency ? "latency" : "shape";
    } else {
        text = c->text ? c->text : "";
        type = c->outcome == RP_OUTCOME_UNSAFE ? "unsafe" : "target";
    }
    fputs(" message=\"", f);
    if (prefix) {
        put_xml(f, prefix, true);
    }
    put_xml(f, text, true);
    fprintf(f, "\" type=\"%s\"", type);
}

/*
 * Writes the other attempts' failures of the step of testcase k, as Surefire does for a re-run
 * test: of the kind errors (want_error) or failures, each an element with the failure's message
 * and type and its text as the stackTrace.
 */
static void put_attempts(FILE *f, const struct jmerge *m, size_t k, unsigned primary,
                         bool want_error)
{
    const struct jsuite *s = m->s;
    uint64_t seq = s->cases[m->idx[m->skeleton][k]].seq;
    const char *el = s->flaky ? (want_error ? "flakyError" : "flakyFailure")
                              : (want_error ? "rerunError" : "rerunFailure");
    for (unsigned a = 0; a < s->attempts; a++) {
        const struct jcase *c = merge_match(m, a, k, seq);
        if (a == primary || (s->flaky ? a > primary : a < primary) || !case_failed(c) ||
            case_is_error(c) != want_error) {
            continue;
        }
        char prefix[48];
        snprintf(prefix, sizeof(prefix), "attempt %u of %u: ", a + 1, s->attempts);
        fprintf(f, "      <%s", el);
        put_failure_attrs(f, c, prefix);
        fputs(">\n        <stackTrace>", f);
        put_xml(f, c->text ? c->text : "", false);
        fprintf(f, "</stackTrace>\n      </%s>\n", el);
    }
}

/* Whether testcase k has other attempts' failures to show. */
static bool has_attempts(const struct jmerge *m, size_t k, unsigned primary)
{
    const struct jsuite *s = m->s;
    uint64_t seq = s->cases[m->idx[m->skeleton][k]].seq;
    for (unsigned a = 0; a < s->attempts; a++) {
        if (a != primary && (s->flaky ? a < primary : a > primary) &&
            case_failed(merge_match(m, a, k, seq))) {
            return true;
        }
    }
    return false;
}

/*
 * Writes testcase k: its case's outcome, and the other attempts' failures of its step, in the
 * order Surefire's schema wants (failure, rerunFailure, flakyFailure, skipped, error,
 * rerunError, flakyError).
 */
static void put_case(FILE *f, const char *suite, const struct jmerge *m, size_t k)
{
    unsigned primary;
    const struct jcase *c = merge_primary(m, k, &primary);
    fputs("    <testcase classname=\"", f);
    put_xml(f, suite, true);
    fputs("\" name=\"", f);
    put_xml(f, c->name, true);
    fputs("\" time=\"", f);
    put_seconds(f, c->time_us);
    if (c->outcome == RP_OUTCOME_PASS && !c->slow && !c->out && !has_attempts(m, k, primary)) {
        fputs("\"/>\n", f);
        return;
    }
    fputs("\">\n", f);
    bool error = case_is_error(c);
    if (case_failed(c) && !error) {
        /* FAIL, or UNSAFE: not sent, and a failure, since sending it would have acted on a
         * recorded server value. */
        fputs("      <failure", f);
        put_failure_attrs(f, c, NULL);
        fputc('>', f);
        put_xml(f, c->text ? c->text : "", false);
        fputs("</failure>\n", f);
    }
    put_attempts(f, m, k, primary, false);
    /* CANCELLED is not a result: a CI counts it skipped, its message "cancelled: …". */
    if (c->outcome == RP_OUTCOME_SKIPPED || c->outcome == RP_OUTCOME_CANCELLED) {
        fputs("      <skipped message=\"", f);
        put_xml(f, c->text ? c->text : "", true);
        fputs("\"/>\n", f);
    }
    if (error && c->outcome == RP_OUTCOME_ERROR) {
        fputs("      <error", f);
        put_failure_attrs(f, c, NULL);
        fputs("/>\n", f);
    } else if (error) {
        fputs("      <error", f); /* a gateway's 502, 503 or 504 */
        put_failure_attrs(f, c, NULL);
        fputc('>', f);
        put_xml(f, c->text ? c->text : "", false);
        fputs("</error>\n", f);
    }
    put_attempts(f, m, k, primary, true);
    put_system_out(f, c); /* after the errors, as the schema orders them */
    fputs("    </testcase>\n", f);
}

/* Writes s and adds what it counts to *sum. */
static void put_suite(FILE *f, const struct jsuite *s, struct jcounts *sum)
{
    struct jcounts n;
    suite_counts(s, &n);
    /* JUnit's schema wants the timestamp without a zone; it is UTC. */
    char when[32];
    rp_time_format(s->start_us, when);
    when[19] = '\0';
    fputs("  <testsuite name=\"", f);
    put_xml(f, s->name, true);
    fprintf(f,
            "\" tests=\"%" PRIu64 "\" failures=\"%" PRIu64 "\" errors=\"%" PRIu64
            "\" skipped=\"%" PRIu64 "\" time=\"",
            n.tests, n.failures, n.errors, n.skipped);
    put_seconds(f, n.time_us);
    fprintf(f, "\" timestamp=\"%s\">\n", when);
    if (s->n) {
        struct jmerge m;
        merge_init(&m, s);
        for (size_t k = 0; k < m.len[m.skeleton]; k++) {
            put_case(f, s->classname, &m, k);
        }
        merge_cleanup(&m);
    }
    fputs("  </testsuite>\n", f);
    sum->tests += n.tests;
    sum->failures += n.failures;
    sum->errors += n.errors;
    sum->skipped += n.skipped;
}

static void suite_free(struct jsuite *s)
{
    for (size_t k = 0; k < s->n; k++) {
        free(s->cases[k].name);
        free(s->cases[k].text);
        free(s->cases[k].slow);
        free(s->cases[k].message);
        free(s->cases[k].out);
    }
    free(s->cases);
    free(s->name);
    free(s->classname);
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
    put_suite(j->spill, s, &j->spilled);
    if (ferror(j->spill)) {
        return rp_error_set(err, RP_EIO, "%s: cannot write to a temporary file: %s", j->path,
                            strerror(errno));
    }
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
    struct jcounts t = j->spilled;
    for (size_t i = 0; i < j->n; i++) {
        struct jcounts n;
        suite_counts(&j->suites[i], &n);
        t.tests += n.tests;
        t.failures += n.failures;
        t.errors += n.errors;
        t.skipped += n.skipped;
    }
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f,
            "<testsuites name=\"reprise\" tests=\"%" PRIu64 "\" failures=\"%" PRIu64
            "\" errors=\"%" PRIu64 "\" skipped=\"%" PRIu64 "\" time=\"",
            t.tests, t.failures, t.errors, t.skipped);
    put_seconds(f, wall_us);
    fputs("\">\n", f);
    bool ok = put_spilled(f, j->spill);
    struct jcounts unused = {0};
    for (size_t i = 0; i < j->n; i++) {
        put_suite(f, &j->suites[i], &unused);
    }
    fputs("</testsuites>\n", f);
    return ok;
}

/* The document on standard output ("--junit -"): no temporary file, nothing to rename. */
static rp_code junit_to_stdout(struct junit *j, const struct rp_run_summary *sum,
                               struct rp_error *err)
{
    errno = 0;
    if (!put_document(stdout, j, sum ? sum->wall_us : 0)) {
        return rp_error_set(err, RP_EIO,
                            "junit to standard output: cannot read back the finished "
                            "sessions: %s",
                            errno ? strerror(errno) : "I/O error");
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        return rp_error_set(err, RP_EIO, "junit to standard output: write failed: %s",
                            errno ? strerror(errno) : "I/O error");
    }
    return RP_OK;
}

static rp_code junit_end(void *ctx, const struct rp_run_summary *sum, struct rp_error *err)
{
    struct junit *j = ctx;
    if (strcmp(j->path, "-") == 0) {
        return junit_to_stdout(j, sum, err);
    }
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
    rp_scrub_free(j->scrub);
    free(j);
}

static const struct rp_sink_ops junit_ops = {
    .begin = junit_begin,
    .result = junit_result,
    .end = junit_end,
    .free = junit_free,
    .session_end = junit_session_end,
    .session_verdict = junit_session_verdict,
};

void rp_sink_junit(struct rp_sink *sink, const char *path)
{
    struct junit *j = rp_xcalloc(1, sizeof(*j));
    j->path = rp_xstrdup(path);
    j->scrub = rp_scrub_new();
    sink->ops = &junit_ops;
    sink->ctx = j;
}
