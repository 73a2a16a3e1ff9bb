/* SPDX-License-Identifier: MIT */
/*
 * The chat notice (--notify): at the end of a run, one Slack-compatible incoming-webhook
 * message, posted with libcurl. It holds a plain "text" (what a notification or a chat that
 * ignores blocks shows) and "blocks": a header with the verdict, the sessions by verdict (passed,
 * flaky, failed, infrastructure) and the steps' counts, the first failures
 * with their sessions and steps, and a context line with the run id, the target and a link to
 * the report (--report-url).
 *
 * The notice is a courtesy: a post that fails (refused, timed out, a non-2xx answer) is one
 * warning on the log and never changes the run's result. The webhook URL is a credential (its
 * path is the key), so it is never printed: warnings name its scheme and host only. What the
 * message quotes of a failure is what the terminal shows, whose live values the shape check
 * has already masked where they look like secrets.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include <reprise/buf.h>
#include <reprise/limits.h>
#include <reprise/report.h>

#include "../common_int.h"
#include "../url_int.h"
#include "internal.h"

#define NOTIFY_FAILURES_MAX 5    /* failures quoted in the message */
#define NOTIFY_LINE_MAX     300  /* bytes of one quoted failure */
#define NOTIFY_SECTION_MAX  2900 /* Slack refuses a section text over 3,000 characters */
#define NOTIFY_ANSWER_MAX   200  /* bytes of the webhook's answer kept for the warning */

struct quoted {
    char *line; /* "demo-checkout#3 · 5 POST /api/orders · $.total: expected number, got string" */
};

struct notify {
    char *url;
    char *report_url;
    char *cacert;
    bool insecure;
    uint64_t timeout_ms;
    rp_log_fn log;
    void *log_ud;
    char *run_id;
    char *target;
    struct quoted failures[NOTIFY_FAILURES_MAX];
    size_t n_failures;
};

/* ----- text ---------------------------------------------------------------------------------- */

/* Appends s to b with Slack's three mrkdwn escapes (&, <, >), cut at max bytes in all. */
static void put_escaped(struct rp_buf *b, const char *s, size_t max)
{
    for (; *s && b->len < max; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
        /* Cut where the buffer would pass its cap: the rest of a quote is dropped. */
        rp_ignore(e ? rp_buf_adds(b, e, NULL) : rp_buf_addc(b, *s, NULL));
    }
}

/* The webhook's scheme, host and port, safe to print: "https://hooks.slack.com". */
static void url_shown(const char *url, char *out, size_t size)
{
    struct rp__url u;
    rp__url_split(url, strlen(url), &u);
    if (u.has_authority && u.host_len > 0) {
        snprintf(out, size, "%.*s://%.*s%s%.*s", (int)u.scheme_len, url, (int)u.host_len,
                 url + u.host_off, u.port_len ? ":" : "", (int)u.port_len, url + u.port_off);
    } else {
        snprintf(out, size, "the webhook");
    }
}

static void logf_(const struct notify *n, enum rp_log_level lvl, const char *fmt, ...)
    RP_PRINTF(3, 4);
static void logf_(const struct notify *n, enum rp_log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rp__vlog(n->log, n->log_ud, lvl, fmt, ap);
    va_end(ap);
}

/* ----- the sink ------------------------------------------------------------------------------ */

static rp_code notify_begin(void *ctx, const struct rp_run_info *run, struct rp_error *err)
{
    struct notify *n = ctx;
    (void)err;
    n->run_id = run->run_id ? rp_xstrdup(run->run_id) : NULL;
    n->target = run->target ? rp_xstrdup(run->target) : NULL;
    return RP_OK;
}

/* Keeps the first failures' one-line descriptions. */
static rp_code notify_result(void *ctx, const struct rp_verdict *v, struct rp_error *err)
{
    struct notify *n = ctx;
    (void)err;
    bool failed = v->outcome == RP_OUTCOME_FAIL || v->outcome == RP_OUTCOME_UNSAFE ||
                  v->outcome == RP_OUTCOME_ERROR;
    if (!failed || n->n_failures == NOTIFY_FAILURES_MAX) {
        return RP_OK;
    }
    const char *method = v->live && v->live->req.method ? v->live->req.method : "";
    const char *path =
        v->live && v->live->req.url ? rp__report_url_shown(v->live->req.url, n->target) : "";
    struct rp_buf b;
    rp_buf_init(&b, RP_REPORT_TEXT_MAX);
    /* Past the buffer's cap a part is left out; the line is cut to NOTIFY_LINE_MAX below. */
    char attempt[16] = "";
    if (v->attempt) {
        snprintf(attempt, sizeof(attempt), " r%u", v->attempt);
    }
    if (v->step) { /* the step's name, the same in every run */
        rp_ignore(rp_buf_addf(&b, NULL, "%s%s · %" PRIu64 " %s · ", v->session ? v->session : "",
                              attempt, v->recorded_seq, v->step));
    } else {
        rp_ignore(rp_buf_addf(&b, NULL, "%s%s · %" PRIu64 " %s %s · ", v->session ? v->session : "",
                              attempt, v->recorded_seq, method, path));
    }
    if (v->outcome == RP_OUTCOME_FAIL && v->mismatches.n > 0) {
        rp_ignore(
            rp_buf_addf(&b, NULL, "%s: %s", v->mismatches.v[0].path, v->mismatches.v[0].message));
    } else {
        rp_ignore(rp_buf_adds(&b, v->error ? v->error : rp_outcome_name(v->outcome), NULL));
    }
    size_t len;
    char *line = rp_buf_take(&b, &len);
    if (len > NOTIFY_LINE_MAX) { /* a UTF-8 sequence cut here is mended by the clean-up */
        memcpy(line + NOTIFY_LINE_MAX - 3, "...", 4);
    }
    n->failures[n->n_failures++].line = rp__report_utf8_clean(line);
    free(line);
    return RP_OK;
}

static cJSON *mrkdwn(const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "mrkdwn");
    cJSON_AddStringToObject(o, "text", text);
    return o;
}

/* "*Passed*\n40" */
static void add_count(cJSON *fields, const char *what, uint64_t count)
{
    char text[64];
    snprintf(text, sizeof(text), "*%s*\n%" PRIu64, what, count);
    cJSON_AddItemToArray(fields, mrkdwn(text));
}

/* The verdict a person reads first, from the sessions' verdicts (as the exit code is). */
static const char *verdict_of(const struct rp_run_summary *sum, const char **emoji)
{
    if (sum->sessions.failed) {
        *emoji = ":x:";
        return "failed";
    }
    if (sum->unfinished_why) {
        *emoji = ":stop_sign:";
        return sum->unfinished_why; /* "cancelled by SIGTERM": nothing proved either way */
    }
    if (sum->sessions.infra) {
        *emoji = ":warning:";
        return "failed on the infrastructure";
    }
    if (sum->sessions.flaky) {
        *emoji = ":large_yellow_circle:";
        return "passed, with flaky sessions";
    }
    *emoji = ":white_check_mark:";
    return "passed";
}

/* The message, as JSON text (new; the caller frees it). */
static char *message(const struct notify *n, const struct rp_run_summary *sum)
{
    const char *emoji;
    const char *verdict = verdict_of(sum, &emoji);
    const char *run = n->run_id ? n->run_id : "?";
    const char *target = n->target ? n->target : "?";
    uint64_t steps_failed = sum->failed + sum->unsafe + sum->errors;
    uint64_t steps = sum->passed + steps_failed + sum->skipped;
    cJSON *root = cJSON_CreateObject();

    char text[512];
    snprintf(text, sizeof(text),
             "reprise %s on %s: sessions %" PRIu64 " passed, %" PRIu64 " flaky, %" PRIu64
             " failed, %" PRIu64 " infrastructure; %" PRIu64 " of %" PRIu64
             " steps failed (run %s)",
             verdict, target, sum->sessions.passed, sum->sessions.flaky, sum->sessions.failed,
             sum->sessions.infra, steps_failed, steps, run);
    cJSON_AddStringToObject(root, "text", text);

    cJSON *blocks = cJSON_AddArrayToObject(root, "blocks");
    cJSON *header = cJSON_CreateObject();
    cJSON_AddStringToObject(header, "type", "header");
    cJSON *htext = cJSON_AddObjectToObject(header, "text");
    cJSON_AddStringToObject(htext, "type", "plain_text");
    char title[150];
    snprintf(title, sizeof(title), "%s reprise: %s", emoji, verdict);
    cJSON_AddStringToObject(htext, "text", title);
    cJSON_AddBoolToObject(htext, "emoji", true);
    cJSON_AddItemToArray(blocks, header);

    /* The sessions by verdict, then the steps. */
    cJSON *counts = cJSON_CreateObject();
    cJSON_AddStringToObject(counts, "type", "section");
    cJSON *fields = cJSON_AddArrayToObject(counts, "fields");
    add_count(fields, "Passed", sum->sessions.passed);
    add_count(fields, "Flaky", sum->sessions.flaky);
    add_count(fields, "Failed", sum->sessions.failed);
    add_count(fields, "Infrastructure", sum->sessions.infra);
    char steptext[160];
    snprintf(steptext, sizeof(steptext),
             "*Steps*\n%" PRIu64 " passed, %" PRIu64 " failed, %" PRIu64 " unsafe, %" PRIu64
             " errors, %" PRIu64 " skipped",
             sum->passed, sum->failed, sum->unsafe, sum->errors, sum->skipped);
    cJSON_AddItemToArray(fields, mrkdwn(steptext));
    if (sum->cancelled) {
        add_count(fields, "Cancelled", sum->cancelled);
    }
    cJSON_AddItemToArray(blocks, counts);

    if (n->n_failures > 0) {
        struct rp_buf b;
        rp_buf_init(&b, NOTIFY_SECTION_MAX + 16);
        rp_ignore(rp_buf_adds(&b, "*First failures*", NULL)); /* fits the cap */
        for (size_t i = 0; i < n->n_failures; i++) {
            rp_ignore(rp_buf_adds(&b, "\n• ", NULL)); /* past the cap: the list is cut */
            put_escaped(&b, n->failures[i].line, NOTIFY_SECTION_MAX);
        }
        cJSON *list = cJSON_CreateObject();
        cJSON_AddStringToObject(list, "type", "section");
        char *t = rp_buf_take(&b, NULL);
        cJSON_AddItemToObject(list, "text", mrkdwn(t));
        free(t);
        cJSON_AddItemToArray(blocks, list);
    }

    struct rp_buf c;
    rp_buf_init(&c, NOTIFY_SECTION_MAX);
    /* Past the cap the context line is cut; the three parts are short in practice. */
    rp_ignore(rp_buf_adds(&c, "run `", NULL));
    put_escaped(&c, run, NOTIFY_SECTION_MAX);
    rp_ignore(rp_buf_adds(&c, "` · ", NULL));
    put_escaped(&c, target, NOTIFY_SECTION_MAX);
    if (n->report_url) {
        rp_ignore(rp_buf_adds(&c, " · <", NULL));
        put_escaped(&c, n->report_url, NOTIFY_SECTION_MAX);
        rp_ignore(rp_buf_adds(&c, "|report>", NULL));
    }
    cJSON *context = cJSON_CreateObject();
    cJSON_AddStringToObject(context, "type", "context");
    cJSON *elements = cJSON_AddArrayToObject(context, "elements");
    char *ct = rp_buf_take(&c, NULL);
    cJSON_AddItemToArray(elements, mrkdwn(ct));
    free(ct);
    cJSON_AddItemToArray(blocks, context);

    char *json = rp__json_print(root, false);
    cJSON_Delete(root);
    return json;
}

struct answer {
    char text[NOTIFY_ANSWER_MAX];
    size_t len;
};

static size_t on_answer(char *data, size_t size, size_t nmemb, void *ud)
{
    struct answer *a = ud;
    size_t n = size * nmemb;
    size_t room = sizeof(a->text) - 1 - a->len;
    size_t take = n < room ? n : room;
    for (size_t i = 0; i < take; i++) { /* printable ASCII only: it goes on one log line */
        char ch = data[i];
        a->text[a->len++] = ch >= 0x20 && ch < 0x7f ? ch : ' ';
    }
    a->text[a->len] = '\0';
    return n;
}

/* Posts json to the webhook. Returns false with a warning logged when it did not arrive. */
static bool post(const struct notify *n, const char *json)
{
    char shown[160];
    url_shown(n->url, shown, sizeof(shown));
    CURL *h = curl_easy_init();
    if (!h) {
        logf_(n, RP_LOG_WARN, "notify: cannot post to %s: out of memory", shown);
        return false;
    }
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct answer a = {.len = 0};
    curl_easy_setopt(h, CURLOPT_URL, n->url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)n->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)n->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "reprise/" REPRISE_VERSION);
    if (n->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (n->cacert) {
        curl_easy_setopt(h, CURLOPT_CAINFO, n->cacert);
    }
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    if (cc != CURLE_OK) {
        logf_(n, RP_LOG_WARN, "notify: cannot post to %s: %s", shown, curl_easy_strerror(cc));
        return false;
    }
    if (status < 200 || status > 299) {
        logf_(n, RP_LOG_WARN, "notify: %s answered %ld%s%s", shown, status, a.len ? ": " : "",
              a.text);
        return false;
    }
    logf_(n, RP_LOG_INFO, "notify: posted to %s", shown);
    return true;
}

/* Posts the notice. Never an error: the run's result is what the checks said. */
static rp_code notify_end(void *ctx, const struct rp_run_summary *sum, struct rp_error *err)
{
    struct notify *n = ctx;
    (void)err;
    char *json = message(n, sum);
    rp_ignore(post(n, json) ? RP_OK : RP_EIO); /* warned: a notice never fails the run */
    free(json);
    return RP_OK;
}

static void notify_free(void *ctx)
{
    struct notify *n = ctx;
    for (size_t i = 0; i < n->n_failures; i++) {
        free(n->failures[i].line);
    }
    free(n->url);
    free(n->report_url);
    free(n->cacert);
    free(n->run_id);
    free(n->target);
    free(n);
}

static const struct rp_sink_ops notify_ops = {
    .begin = notify_begin,
    .result = notify_result,
    .end = notify_end,
    .free = notify_free,
};

void rp_sink_notify(struct rp_sink *sink, const struct rp_notify_opts *opts)
{
    struct notify *n = rp_xcalloc(1, sizeof(*n));
    n->url = rp_xstrdup(opts->url);
    n->report_url = opts->report_url ? rp_xstrdup(opts->report_url) : NULL;
    n->cacert = opts->cacert ? rp_xstrdup(opts->cacert) : NULL;
    n->insecure = opts->insecure;
    n->timeout_ms = opts->timeout_ms ? opts->timeout_ms : 10000;
    n->log = opts->log;
    n->log_ud = opts->log_ud;
    sink->ops = &notify_ops;
    sink->ctx = n;
}
