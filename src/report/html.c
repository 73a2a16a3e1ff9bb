/* SPDX-License-Identifier: MIT */
/*
 * The HTML report sink: one self-contained file (inline CSS and JS, a Content-Security-Policy
 * that allows no fetch and no script but its own) a person reads instead of the terminal. It is
 * written as the run goes: the head and the run's details at begin(), each session at its
 * session_end() (a waterfall of its steps, then each step's details), and at end() the sessions
 * still open, the summary (placed first by CSS) and the script; to PATH.tmp, renamed at end().
 * Memory holds only the sessions running: each keeps its steps' waterfall figures and their
 * rendered details, capped (RP_HTML_SESSION_MAX). Passing sessions past the cap are counted, not
 * shown; once that cap is reached, a session renders its steps' details only from its first
 * failure on. Everything from the run is escaped, and every exchange shown is a scrubbed copy,
 * so no secret reaches the file. docs/html-report.md describes the layout and the caps.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include <reprise/limits.h>
#include <reprise/report.h>

#include "../text_int.h"
#include "internal.h"

/* The most bytes of one step's rendered details: its bodies are capped (body_max each, escaped,
 * a failure's two responses and its request) and its curl command too. */
#define STEP_HTML_MAX       (2u * 1024u * 1024u)
/* Recorded steps a report keeps read back (offline), for failures of one step in many sessions. */
#define HTML_RECORDED_CACHE 16u

/* A step as the waterfall draws it. */
struct hstep {
    uint64_t seq;
    unsigned attempt;
    enum rp_outcome outcome;
    bool teardown, slow, sent;
    int64_t start_us;
    uint64_t dur_us, recorded_us, baseline_us;
    char *name; /* "POST /api/orders", escaped on output */
};

struct hsess {
    char *name;
    unsigned id; /* its number in the report: the anchors "sK" and "sK-I" */
    struct hstep *steps;
    size_t n, cap;
    struct rp_buf detail; /* the steps' details, rendered HTML */
    bool detail_full;     /* RP_HTML_SESSION_MAX reached: later steps show no details */
    /* A step failed or was slow (and listed in the summary): shown in full whatever its verdict.
     * Until then, once the passing sessions shown reach their cap, its steps' details are not
     * rendered (lean counts them), since the session will most likely be counted, not shown. */
    bool notable;
    size_t lean;
    bool has_verdict;
    enum rp_session_verdict verdict;
    unsigned attempts;
};

/* A line of the summary's lists (failing sessions, slow steps): rendered HTML. */
struct hlist {
    char **v;
    size_t n;
    uint64_t more;
};

struct html {
    char *path;
    char *tmp;
    FILE *f;
    bool to_stdout;
    size_t body_max;
    uint64_t passing_max;
    struct rp_scrub *scrub;
    char *target;
    /* The run's recordings, by name, for a failure's recorded response read back. */
    char **rec_paths;
    char **rec_names; /* NULL until looked up (a reader opened) */
    size_t n_recs;
    uint64_t lookups;
    /* The recorded steps read back, so that the same failure in many sessions reads its
     * recording once: the last HTML_RECORDED_CACHE, replaced oldest first. */
    struct recorded_step {
        const char *path; /* one of rec_paths; NULL: an empty slot */
        uint64_t seq;
        bool found;
        struct rp_exchange ex;
    } cache[HTML_RECORDED_CACHE];
    size_t cache_next;
    struct hsess *sess;
    size_t n, cap;
    unsigned next_id;
    uint64_t passing_shown, passing_hidden;
    struct hlist failing, slow;
};

/* ----- escaping ---------------------------------------------------------------------------- */

rp_code rp__html_escape(struct rp_buf *out, const char *s, size_t n, struct rp_error *err)
{
    rp_code rc = RP_OK;
    size_t i = 0, run = 0; /* bytes from i - run to i go out as they are */
    while (i < n && !rc) {
        uint32_t cp;
        size_t k = rp__utf8_next((const unsigned char *)s + i, n - i, &cp);
        const char *ref = NULL;
        switch (cp) {
        case '&':
            ref = "&amp;";
            break;
        case '<':
            ref = "&lt;";
            break;
        case '>':
            ref = "&gt;";
            break;
        case '"':
            ref = "&quot;";
            break;
        case '\'':
            ref = "&#39;";
            break;
        case 0xFFFE:
        case 0xFFFF:
            ref = "";
            break;
        case 0xFFFD:
            ref = "\xEF\xBF\xBD"; /* a genuine one, or the replacement of a malformed byte */
            break;
        default:
            if (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') {
                ref = "";
            } else if (cp == 0x7F) {
                ref = "";
            }
            break;
        }
        if (!ref) {
            run += k;
            i += k;
            continue;
        }
        if (run) {
            rc = rp_buf_add(out, s + i - run, run, err);
            run = 0;
        }
        if (!rc) {
            rc = rp_buf_adds(out, ref, err);
        }
        i += k;
    }
    if (!rc && run) {
        rc = rp_buf_add(out, s + i - run, run, err);
    }
    return rc;
}

static void esc(struct rp_buf *b, const char *s)
{
    rp_ignore(rp__html_escape(b, s ? s : "", s ? strlen(s) : 0, NULL));
}

static void addf(struct rp_buf *b, const char *fmt, ...) RP_PRINTF(2, 3);
static void addf(struct rp_buf *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (k > 0) {
        rp_ignore(
            rp_buf_add(b, line, (size_t)k < sizeof(line) ? (size_t)k : sizeof(line) - 1, NULL));
    }
}

static void adds(struct rp_buf *b, const char *s)
{
    rp_ignore(rp_buf_adds(b, s, NULL));
}

/* Writes microseconds as a person reads them: "0.4 ms", "84 ms", "1.24 s". */
static const char *fmt_us(uint64_t us, char out[32])
{
    if (us < 1000) {
        snprintf(out, 32, "%" PRIu64 " \xC2\xB5s", us);
    } else if (us < 10000) {
        snprintf(out, 32, "%" PRIu64 ".%" PRIu64 " ms", us / 1000, (us % 1000) / 100);
    } else if (us < 1000000) {
        snprintf(out, 32, "%" PRIu64 " ms", (us + 500) / 1000);
    } else {
        uint64_t cs = (us + 5000) / 10000;
        snprintf(out, 32, "%" PRIu64 ".%02" PRIu64 " s", cs / 100, cs % 100);
    }
    return out;
}

static const char *outcome_class(enum rp_outcome o)
{
    const char *n = rp_outcome_name(o);
    return n ? n : "skipped";
}

/* ----- JSON bodies, with the mismatched paths marked -------------------------------------- */

/* Whether key is written ".key" in a mismatch path (as the shape module writes it). */
static bool identifier(const char *k)
{
    if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_')) {
        return false;
    }
    size_t n = 0;
    for (const char *p = k; *p; p++, n++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                  (*p >= '0' && *p <= '9');
        if (!ok || n >= RP_SHAPE_PATH_KEY_CHARS) {
            return false;
        }
    }
    return true;
}

/* Appends the path step to the member key (or the element index) to b. */
static void path_step(struct rp_buf *b, const char *key, size_t index)
{
    if (!key) {
        addf(b, "[%zu]", index);
    } else if (identifier(key)) {
        adds(b, ".");
        adds(b, key);
    } else {
        adds(b, "[\"");
        for (const char *p = key; *p; p++) {
            if (*p == '"' || *p == '\\') {
                rp_ignore(rp_buf_addc(b, '\\', NULL));
            }
            rp_ignore(rp_buf_addc(b, *p, NULL));
        }
        adds(b, "\"]");
    }
}

/* The node of root at path ("$.items[0].price"), or NULL. */
static const cJSON *json_at(const cJSON *root, const char *path, struct rp_buf *cur)
{
    if (strcmp(cur->data, path) == 0) {
        return root;
    }
    /* Only a path that starts with this one can lead below it. */
    if (strncmp(cur->data, path, cur->len) != 0 ||
        (!cJSON_IsObject(root) && !cJSON_IsArray(root))) {
        return NULL;
    }
    size_t len = cur->len, i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, root)
    {
        path_step(cur, cJSON_IsObject(root) ? c->string : NULL, i++);
        const cJSON *hit = json_at(c, path, cur);
        cur->len = len;
        cur->data[len] = '\0';
        if (hit) {
            return hit;
        }
    }
    return NULL;
}

struct marks {
    const struct rp_mismatches *mm;
};

static bool marked(const struct marks *m, const char *path)
{
    for (size_t i = 0; m && m->mm && i < m->mm->n; i++) {
        if (m->mm->v[i].path && strcmp(m->mm->v[i].path, path) == 0) {
            return true;
        }
    }
    return false;
}

static void indent(struct rp_buf *b, unsigned depth)
{
    for (unsigned i = 0; i < depth && i < 64; i++) {
        adds(b, "  ");
    }
}

/* Writes a scalar (or an empty container) as JSON text, escaped for HTML. */
static void put_scalar(struct rp_buf *b, const cJSON *v)
{
    char *text = cJSON_PrintUnformatted(v);
    esc(b, text ? text : "null");
    cJSON_free(text);
}

/* Writes v pretty-printed, escaped, with the value at each mismatched path in <mark>. */
static void put_json(struct rp_buf *b, const cJSON *v, struct rp_buf *path, const struct marks *m,
                     unsigned depth)
{
    bool mark = marked(m, path->data);
    if (mark) {
        adds(b, "<mark>");
    }
    bool obj = cJSON_IsObject(v);
    if ((!obj && !cJSON_IsArray(v)) || !v->child || depth > 64) {
        put_scalar(b, v);
    } else {
        adds(b, obj ? "{\n" : "[\n");
        size_t len = path->len, i = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, v)
        {
            indent(b, depth + 1);
            if (obj) {
                cJSON key = {.type = cJSON_String, .valuestring = c->string};
                put_scalar(b, &key);
                adds(b, ": ");
            }
            path_step(path, obj ? c->string : NULL, i++);
            put_json(b, c, path, m, depth + 1);
            path->len = len;
            path->data[len] = '\0';
            adds(b, c->next ? ",\n" : "\n");
        }
        indent(b, depth);
        adds(b, obj ? "}" : "]");
    }
    if (mark) {
        adds(b, "</mark>");
    }
}

/* The body of rs parsed as JSON (new), when it is JSON text within max bytes; else NULL. */
static cJSON *json_body(const struct rp_body *body, size_t max)
{
    if (body->len == 0 || body->len > max || body->truncated) {
        return NULL;
    }
    size_t i = 0;
    while (i < body->len && (body->data[i] == ' ' || body->data[i] == '\n' ||
                             body->data[i] == '\r' || body->data[i] == '\t')) {
        i++;
    }
    if (i == body->len || (body->data[i] != '{' && body->data[i] != '[')) {
        return NULL;
    }
    return cJSON_ParseWithLength((const char *)body->data, body->len);
}

/* A mismatch's value in ex (scrubbed) as a short text (new memory), or NULL when absent. */
static char *value_of(const struct rp_exchange *ex, const cJSON *root, const char *path,
                      const struct rp_verdict *v, bool live)
{
    char buf[64];
    if (!ex) {
        return NULL;
    }
    if (strcmp(path, "status") == 0 && ex->has_response) {
        snprintf(buf, sizeof(buf), "%u", ex->resp.status);
        return rp_xstrdup(buf);
    }
    if (strcmp(path, "media type") == 0 && ex->has_response) {
        const struct rp_header *h = rp_headers_get(&ex->resp.headers, "Content-Type", NULL);
        return h ? rp_xstrndup(h->value, h->value_len) : NULL;
    }
    if (strcmp(path, "slow") == 0) {
        uint64_t us = live ? ex->duration_us : v->recorded_us;
        return us ? rp_xstrdup(fmt_us(us, buf)) : NULL;
    }
    if (!root || path[0] != '$') {
        return NULL;
    }
    struct rp_buf cur;
    rp_buf_init(&cur, RP_MAX_LINE_BYTES);
    adds(&cur, "$");
    const cJSON *hit = json_at(root, path, &cur);
    rp_buf_cleanup(&cur);
    if (!hit) {
        return NULL;
    }
    char *text = cJSON_PrintUnformatted(hit);
    char *out = NULL;
    if (text) {
        size_t n = strlen(text);
        if (n > 300) {
            size_t cut = 297;
            while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80) {
                cut--;
            }
            memcpy(text + cut, "...", 4);
        }
        out = rp_xstrdup(text);
    }
    cJSON_free(text);
    return out;
}

/* ----- one step's details ------------------------------------------------------------------ */

/* A scrubbed copy of ex into *out (initialised); false when it cannot be made. */
static bool scrubbed(struct html *h, const struct rp_exchange *ex, struct rp_exchange *out)
{
    if (rp_exchange_copy(out, ex, NULL) != RP_OK) {
        return false;
    }
    return rp_scrub_exchange(h->scrub, out, NULL) == RP_OK;
}

/* Writes parts of ex (scrubbed) as text in a <pre>. */
static void put_text(struct html *h, struct rp_buf *b, const struct rp_exchange *ex, unsigned parts)
{
    struct rp_buf t;
    rp_buf_init(&t, h->body_max + RP_REPORT_TEXT_MAX);
    rp_ignore(rp_step_format(&t, ex, parts, h->body_max, NULL, NULL)); /* cut at the cap */
    adds(b, "<pre>");
    if (t.len) {
        rp_ignore(rp__html_escape(b, t.data, t.len, NULL));
    }
    adds(b, "</pre>");
    rp_buf_cleanup(&t);
}

/* Writes a response (scrubbed): its head as text, its body pretty-printed with the mismatched
 * paths marked when it is JSON that fits, else as text. */
static void put_response(struct html *h, struct rp_buf *b, const struct rp_exchange *ex,
                         const cJSON *root, const struct marks *m)
{
    if (!root) {
        put_text(h, b, ex, RP_STEP_RESPONSE_HEAD | RP_STEP_RESPONSE_BODY);
        return;
    }
    struct rp_buf t;
    rp_buf_init(&t, RP_REPORT_TEXT_MAX);
    rp_ignore(rp_step_format(&t, ex, RP_STEP_RESPONSE_HEAD, 0, NULL, NULL));
    adds(b, "<pre>");
    if (t.len) {
        rp_ignore(rp__html_escape(b, t.data, t.len, NULL));
    }
    adds(b, "\n");
    struct rp_buf path;
    rp_buf_init(&path, RP_MAX_LINE_BYTES);
    adds(&path, "$");
    put_json(b, root, &path, m, 0);
    rp_buf_cleanup(&path);
    adds(b, "</pre>");
    rp_buf_cleanup(&t);
}

/* The recording among the run's whose name is session's ("NAME#N"), or NULL. */
static const char *recording_for(struct html *h, const char *session)
{
    const char *hash = strrchr(session, '#');
    size_t n = hash ? (size_t)(hash - session) : strlen(session);
    if (!h->rec_names && h->n_recs) {
        h->rec_names = rp_xcalloc(h->n_recs, sizeof(*h->rec_names));
        for (size_t i = 0; i < h->n_recs; i++) {
            struct rp_reader_opts ropts = {0};
            struct rp_reader *r = NULL;
            if (rp_reader_open(h->rec_paths[i], &ropts, &r, NULL) == RP_OK) {
                const char *name = rp_reader_meta(r)->name;
                h->rec_names[i] = rp_xstrdup(name ? name : "");
            }
            rp_reader_free(r);
        }
    }
    for (size_t i = 0; i < h->n_recs; i++) {
        const char *name = h->rec_names[i];
        if (name && strlen(name) == n && memcmp(name, session, n) == 0) {
            return h->rec_paths[i];
        }
    }
    return NULL;
}

/* Step seq of the recording at path (one of rec_paths), from the cache or read once within
 * RP_HTML_LOOKUPS_MAX reads; borrowed from h, NULL when it cannot be had. */
static const struct rp_exchange *recorded_step(struct html *h, const char *path, uint64_t seq)
{
    for (size_t i = 0; i < HTML_RECORDED_CACHE; i++) {
        struct recorded_step *c = &h->cache[i];
        if (c->path == path && c->seq == seq) {
            return c->found ? &c->ex : NULL;
        }
    }
    if (h->lookups >= RP_HTML_LOOKUPS_MAX) {
        return NULL;
    }
    h->lookups++;
    struct recorded_step *c = &h->cache[h->cache_next];
    h->cache_next = (h->cache_next + 1) % HTML_RECORDED_CACHE;
    rp_exchange_cleanup(&c->ex);
    rp_exchange_init(&c->ex);
    c->path = path;
    c->seq = seq;
    c->found = rp__report_read_recorded(path, seq, &c->ex);
    return c->found ? &c->ex : NULL;
}

/* The mismatches of a failure: each path, message, recorded value and live value. */
static void put_mismatches(struct rp_buf *b, const struct rp_verdict *v,
                           const struct rp_exchange *rec, const cJSON *rec_root,
                           const struct rp_exchange *live, const cJSON *live_root)
{
    adds(b, "<table class=\"mm\"><colgroup><col style=\"width:20%\"><col style=\"width:30%\">"
            "<col style=\"width:25%\"><col style=\"width:25%\"></colgroup>"
            "<tr><th>path</th><th>mismatch</th><th>recorded</th><th>live</th></tr>");
    for (size_t i = 0; i < v->mismatches.n; i++) {
        const struct rp_mismatch *mm = &v->mismatches.v[i];
        const char *path = mm->path ? mm->path : "";
        adds(b, "<tr><td class=\"mono\">");
        esc(b, path);
        adds(b, "</td><td>");
        esc(b, mm->message);
        adds(b, "</td><td class=\"rec mono\">");
        char *rv = value_of(rec, rec_root, path, v, false);
        if (rv) {
            esc(b, rv);
        } else {
            adds(b, rec ? "<span class=\"na\">absent</span>"
                        : "<span class=\"na\">not available</span>");
        }
        adds(b, "</td><td class=\"live mono\">");
        char *lv = value_of(live, live_root, path, v, true);
        if (lv) {
            esc(b, lv);
        } else {
            adds(b, "<span class=\"na\">absent</span>");
        }
        adds(b, "</td></tr>");
        free(rv);
        free(lv);
    }
    adds(b, "</table>");
}

/* A failure: its mismatches, then the recorded and the live response side by side. */
static void put_failure(struct html *h, struct rp_buf *b, const struct rp_verdict *v,
                        const struct rp_exchange *live)
{
    struct rp_exchange rec;
    rp_exchange_init(&rec);
    bool have_rec = false;
    const struct rp_exchange *src = v->recorded;
    const char *path = !src && v->session ? recording_for(h, v->session) : NULL;
    if (path) {
        src = recorded_step(h, path, v->recorded_seq);
    }
    if (src) {
        have_rec = scrubbed(h, src, &rec);
    }
    struct marks m = {.mm = &v->mismatches};
    cJSON *rec_root = have_rec && rec.has_response ? json_body(&rec.resp.body, h->body_max) : NULL;
    cJSON *live_root = live->has_response ? json_body(&live->resp.body, h->body_max) : NULL;
    put_mismatches(b, v, have_rec ? &rec : NULL, rec_root, live, live_root);
    adds(b, "<div class=\"pair\"><div><h4>recorded response</h4>");
    if (have_rec && rec.has_response) {
        put_response(h, b, &rec, rec_root, &m);
    } else {
        adds(b, "<p class=\"na\">not available: the recording could not be read here</p>");
    }
    adds(b, "</div><div><h4>live response</h4>");
    put_response(h, b, live, live_root, &m);
    adds(b, "</div></div>");
    cJSON_Delete(rec_root);
    cJSON_Delete(live_root);
    rp_exchange_cleanup(&rec);
}

/* The request as a curl command, in a text area with its copy button. */
static void put_curl(struct rp_buf *b, const struct rp_exchange *ex)
{
    struct rp_buf c;
    rp_buf_init(&c, RP_HTML_BODY_MAX * 4u);
    if (rp_step_curl(&c, &ex->req, NULL) != RP_OK || c.len == 0) {
        adds(b, "<p class=\"na\">no curl command: the request is too large to copy</p>");
        rp_buf_cleanup(&c);
        return;
    }
    adds(b, "<div class=\"curl\"><button type=\"button\" class=\"copy\">copy as curl</button>"
            "<textarea readonly spellcheck=\"false\" aria-label=\"curl command\">");
    rp_ignore(rp__html_escape(b, c.data, c.len, NULL));
    adds(b, "</textarea><span class=\"done\"></span></div>");
    rp_buf_cleanup(&c);
}

/* Renders one step's details into b. */
static void put_step(struct html *h, struct rp_buf *b, const struct hsess *s, size_t k,
                     const struct rp_verdict *v)
{
    const struct hstep *st = &s->steps[k];
    bool failed = v->outcome == RP_OUTCOME_FAIL || v->outcome == RP_OUTCOME_ERROR ||
                  v->outcome == RP_OUTCOME_UNSAFE;
    addf(b, "<details class=\"step o-%s%s\" id=\"s%u-%zu\"%s><summary>", outcome_class(v->outcome),
         v->slow ? " slow" : "", s->id, k, failed ? " open" : "");
    addf(b, "<span class=\"badge o-%s\">%s</span>", outcome_class(v->outcome),
         outcome_class(v->outcome));
    if (v->slow) {
        adds(b, "<span class=\"badge slow\">slow</span>");
    }
    addf(b, "<span class=\"seq meta\">#%" PRIu64 "</span><span class=\"name\">", v->recorded_seq);
    esc(b, st->name);
    adds(b, "</span><span class=\"meta\">");
    char t1[32], t2[32];
    if (v->live && v->live->has_response) {
        addf(b, "%u · %s", v->live->resp.status, fmt_us(v->live->duration_us, t1));
    } else {
        adds(b, "no response");
    }
    if (v->recorded_us) {
        addf(b, " · recorded %s", fmt_us(v->recorded_us, t2));
    }
    if (v->attempt) {
        addf(b, " · attempt %u", v->attempt + 1);
    }
    if (v->teardown) {
        adds(b, " · teardown");
    }
    adds(b, "</span></summary>");
    if (v->error && v->outcome != RP_OUTCOME_PASS && v->outcome != RP_OUTCOME_FAIL) {
        adds(b, "<p class=\"why\">");
        esc(b, v->error);
        adds(b, "</p>");
    }
    if (v->slow) {
        char note[160];
        adds(b, "<p class=\"note-slow\">slow: ");
        esc(b, rp_verdict_slow_text(v, note, sizeof(note)));
        adds(b, "</p>");
    }
    struct rp_exchange copy;
    rp_exchange_init(&copy);
    if (v->live && scrubbed(h, v->live, &copy)) {
        if (v->outcome == RP_OUTCOME_FAIL) {
            put_failure(h, b, v, &copy);
            adds(b, "<h4>request</h4>");
            put_text(h, b, &copy, RP_STEP_REQUEST_ALL);
        } else if (v->outcome == RP_OUTCOME_PASS || copy.has_response) {
            adds(b, "<div class=\"pair\"><div><h4>request</h4>");
            put_text(h, b, &copy, RP_STEP_REQUEST_ALL);
            adds(b, "</div><div><h4>response</h4>");
            put_text(h, b, &copy, RP_STEP_RESPONSE_HEAD | RP_STEP_RESPONSE_BODY);
            adds(b, "</div></div>");
        } else {
            adds(b, "<h4>request</h4>");
            put_text(h, b, &copy, RP_STEP_REQUEST_ALL);
        }
        if (copy.req.method && copy.req.url) {
            put_curl(b, &copy);
        }
    }
    rp_exchange_cleanup(&copy);
    adds(b, "</details>\n");
}

/* ----- collecting -------------------------------------------------------------------------- */

static struct hsess *sess_for(struct html *h, const char *name)
{
    for (size_t i = h->n; i-- > 0;) {
        if (strcmp(h->sess[i].name, name) == 0) {
            return &h->sess[i];
        }
    }
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 8;
        h->sess = rp_xreallocarray(h->sess, h->cap, sizeof(*h->sess));
    }
    struct hsess *s = &h->sess[h->n++];
    memset(s, 0, sizeof(*s));
    s->name = rp_xstrdup(name);
    s->id = ++h->next_id;
    s->attempts = 1;
    rp_buf_init(&s->detail, RP_HTML_SESSION_MAX);
    return s;
}

static void sess_free(struct hsess *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->steps[i].name);
    }
    free(s->steps);
    free(s->name);
    rp_buf_cleanup(&s->detail);
}

static void list_add(struct hlist *l, struct rp_buf *line)
{
    if (l->n >= RP_HTML_INDEX_MAX) {
        l->more++;
        rp_buf_cleanup(line);
        return;
    }
    l->v = rp_xreallocarray(l->v, l->n + 1, sizeof(*l->v));
    l->v[l->n++] = rp_buf_take(line, NULL);
}

static void list_free(struct hlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
}

/* The step's name: its own (the same in every run), else "METHOD PATH" as sent. */
static char *step_name(const struct html *h, const struct rp_verdict *v)
{
    if (v->step) {
        return rp_xstrdup(v->step);
    }
    const struct rp_exchange *ex = v->live;
    struct rp_buf b;
    rp_buf_init(&b, RP_MAX_STEP_NAME + 8);
    rp_ignore(rp_buf_addf(&b, NULL, "%s %s", ex && ex->req.method ? ex->req.method : "-",
                          ex && ex->req.url ? rp__report_url_shown(ex->req.url, h->target) : "-"));
    return rp_buf_take(&b, NULL);
}

static rp_code html_result(void *ctx, const struct rp_verdict *v, struct rp_error *err)
{
    (void)err;
    struct html *h = ctx;
    struct hsess *s = sess_for(h, v->session ? v->session : "-");
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->steps = rp_xreallocarray(s->steps, s->cap, sizeof(*s->steps));
    }
    struct hstep *st = &s->steps[s->n++];
    const struct rp_exchange *ex = v->live;
    *st = (struct hstep){
        .seq = v->recorded_seq,
        .attempt = v->attempt,
        .outcome = v->outcome,
        .teardown = v->teardown,
        .slow = v->slow,
        .recorded_us = v->recorded_us,
        .baseline_us = v->baseline_us,
        .name = step_name(h, v),
    };
    st->sent = ex && ex->start_us &&
               (v->outcome == RP_OUTCOME_PASS || v->outcome == RP_OUTCOME_FAIL ||
                v->outcome == RP_OUTCOME_ERROR);
    if (st->sent) {
        st->start_us = ex->start_us;
        st->dur_us = ex->duration_us;
    }
    if (v->attempt + 1 > s->attempts) {
        s->attempts = v->attempt + 1;
    }
    bool failed = v->outcome == RP_OUTCOME_FAIL || v->outcome == RP_OUTCOME_ERROR ||
                  v->outcome == RP_OUTCOME_UNSAFE;
    if (failed || (v->slow && !v->teardown && h->slow.n < RP_HTML_INDEX_MAX)) {
        s->notable = true;
    }
    if (v->slow && !v->teardown) {
        struct rp_buf line;
        rp_buf_init(&line, RP_REPORT_TEXT_MAX);
        char note[160];
        addf(&line, "<a href=\"#s%u-%zu\">", s->id, s->n - 1);
        esc(&line, s->name);
        adds(&line, " · ");
        esc(&line, st->name);
        adds(&line, "</a> ");
        esc(&line, rp_verdict_slow_text(v, note, sizeof(note)));
        list_add(&h->slow, &line);
    }
    if (!s->notable && h->passing_shown >= h->passing_max) {
        s->lean++;
    } else if (!s->detail_full) {
        /* A step's details are rendered whole, then kept if the session's cap has room. */
        struct rp_buf one;
        rp_buf_init(&one, STEP_HTML_MAX);
        put_step(h, &one, s, s->n - 1, v);
        if (one.len && rp_buf_add(&s->detail, one.data, one.len, NULL) != RP_OK) {
            s->detail_full = true;
        }
        rp_buf_cleanup(&one);
    }
    return RP_OK;
}

static rp_code html_session_verdict(void *ctx, const struct rp_session_result *res,
                                    struct rp_error *err)
{
    (void)err;
    struct html *h = ctx;
    struct hsess *s = sess_for(h, res->session);
    s->has_verdict = true;
    s->verdict = res->verdict;
    if (res->attempts > s->attempts) {
        s->attempts = res->attempts;
    }
    return RP_OK;
}

/* ----- writing a session ------------------------------------------------------------------- */

static const char *verdict_class(enum rp_session_verdict v)
{
    const char *n = rp_session_verdict_name(v);
    return n ? n : "passed";
}

/* The waterfall of s: a row per step on the time axis of its attempt. */
static void put_waterfall(struct rp_buf *b, const struct hsess *s)
{
    int64_t t0 = 0;
    uint64_t span = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct hstep *st = &s->steps[i];
        if (st->sent && (t0 == 0 || st->start_us < t0)) {
            t0 = st->start_us;
        }
    }
    /* One axis for the whole session (every attempt): offsets from its first step. An
     * attempt's offsets start again from its own first step. */
    int64_t *first = rp_xcalloc(RP_REPLAY_MAX_RETRIES + 1u, sizeof(*first));
    for (size_t i = 0; i < s->n; i++) {
        const struct hstep *st = &s->steps[i];
        unsigned a = st->attempt <= RP_REPLAY_MAX_RETRIES ? st->attempt : RP_REPLAY_MAX_RETRIES;
        if (st->sent && (first[a] == 0 || st->start_us < first[a])) {
            first[a] = st->start_us;
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        const struct hstep *st = &s->steps[i];
        unsigned a = st->attempt <= RP_REPLAY_MAX_RETRIES ? st->attempt : RP_REPLAY_MAX_RETRIES;
        uint64_t off = st->sent ? (uint64_t)(st->start_us - first[a]) : 0;
        uint64_t longest = st->dur_us > st->recorded_us ? st->dur_us : st->recorded_us;
        longest = longest > st->baseline_us ? longest : st->baseline_us;
        if (off + longest > span) {
            span = off + longest;
        }
    }
    (void)t0;
    if (span == 0) {
        span = 1;
    }
    char t[32];
    adds(b, "<div class=\"legend\"><span><i class=\"l-live\"></i>live</span>"
            "<span><i class=\"l-rec\"></i>recorded</span><span><i class=\"l-base\"></i>"
            "baseline median</span><span><i class=\"l-slow\"></i>slow</span>"
            "<span><i class=\"l-fail\"></i>failed</span></div>");
    adds(b, "<div class=\"wf\"><div class=\"wf-axis\"><span></span><span class=\"ticks\">"
            "<span>0</span>");
    addf(b, "<span>%s</span>", fmt_us(span / 2, t));
    addf(b, "<span>%s</span></span><span></span></div>", fmt_us(span, t));
    unsigned shown_attempt = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct hstep *st = &s->steps[i];
        if (st->attempt != shown_attempt || (i == 0 && s->attempts > 1)) {
            addf(b, "<div class=\"wf-attempt\">attempt %u of %u</div>", st->attempt + 1,
                 s->attempts);
            shown_attempt = st->attempt;
        }
        unsigned a = st->attempt <= RP_REPLAY_MAX_RETRIES ? st->attempt : RP_REPLAY_MAX_RETRIES;
        uint64_t off = st->sent ? (uint64_t)(st->start_us - first[a]) : 0;
        addf(b,
             "<a class=\"wf-row o-%s%s\" href=\"#s%u-%zu\"><span class=\"wf-name\">"
             "<span class=\"seq\">%" PRIu64 "</span>",
             outcome_class(st->outcome), st->slow ? " slow" : "", s->id, i, st->seq);
        esc(b, st->name);
        if (st->teardown) {
            adds(b, " <span class=\"meta\">(teardown)</span>");
        }
        adds(b, "</span><span class=\"wf-track\">");
        double left = 100.0 * (double)off / (double)span;
        if (st->sent) {
            addf(b, "<span class=\"wf-live\" style=\"left:%.2f%%;width:%.2f%%\"></span>", left,
                 100.0 * (double)st->dur_us / (double)span);
        }
        if (st->recorded_us) {
            addf(b, "<span class=\"wf-rec\" style=\"left:%.2f%%;width:%.2f%%\"></span>", left,
                 100.0 * (double)st->recorded_us / (double)span);
        }
        if (st->baseline_us) {
            addf(b, "<span class=\"wf-base\" style=\"left:%.2f%%\"></span>",
                 left + 100.0 * (double)st->baseline_us / (double)span);
        }
        adds(b, "</span><span class=\"wf-ms\">");
        if (st->sent) {
            esc(b, fmt_us(st->dur_us, t));
        } else {
            esc(b, outcome_class(st->outcome));
        }
        if (st->recorded_us) {
            addf(b, " <small>rec %s</small>", fmt_us(st->recorded_us, t));
        }
        if (st->baseline_us) {
            addf(b, " <small>base %s</small>", fmt_us(st->baseline_us, t));
        }
        adds(b, "</span></a>");
    }
    adds(b, "</div>");
    free(first);
}

static bool sess_failing(const struct hsess *s)
{
    return s->has_verdict && s->verdict != RP_SESSION_PASSED;
}

/* Shown in full whatever the cap: failing, or holding a step the summary lists as slow. */
static bool sess_shown(const struct hsess *s)
{
    return sess_failing(s) || s->notable;
}

/* Writes s to the report (or, a passing session past the cap, only counts it). */
static rp_code put_session(struct html *h, struct hsess *s, struct rp_error *err)
{
    bool failing = sess_failing(s);
    if (!sess_shown(s) && h->passing_shown >= h->passing_max) {
        h->passing_hidden++;
        return RP_OK;
    }
    if (!failing) {
        h->passing_shown++;
    }
    const char *vc = s->has_verdict ? verdict_class(s->verdict) : "passed";
    if (failing) {
        struct rp_buf line;
        rp_buf_init(&line, RP_REPORT_TEXT_MAX);
        addf(&line, "<a href=\"#s%u\">", s->id);
        esc(&line, s->name);
        addf(&line, "</a> <span class=\"badge v-%s\">%s</span>", vc, vc);
        list_add(&h->failing, &line);
    }
    struct rp_buf b;
    rp_buf_init(&b, RP_HTML_SESSION_MAX);
    uint64_t total = 0;
    for (size_t i = 0; i < s->n; i++) {
        total += s->steps[i].dur_us;
    }
    char t[32];
    addf(&b,
         "<section class=\"session v-%s\" id=\"s%u\" data-verdict=\"%s\"><h3>"
         "<span class=\"badge v-%s\">%s</span>",
         vc, s->id, vc, vc, vc);
    esc(&b, s->name);
    addf(&b, "<span class=\"meta\">%zu step%s · %s", s->n, s->n == 1 ? "" : "s", fmt_us(total, t));
    if (s->attempts > 1) {
        addf(&b, " · %u attempts", s->attempts);
    }
    adds(&b, "</span></h3>");
    put_waterfall(&b, s);
    if (s->lean) {
        addf(&b,
             "<p class=\"caps\">the details of %zu step%s before the first failure were not "
             "kept: %" PRIu64 " passing sessions had been shown when they ran</p>",
             s->lean, s->lean == 1 ? "" : "s", h->passing_max);
    }
    rp_code rc = RP_OK;
    if (fwrite(b.data, 1, b.len, h->f) != b.len ||
        fwrite(s->detail.data ? s->detail.data : "", 1, s->detail.len, h->f) != s->detail.len) {
        rc = rp_error_set(err, RP_EIO, "%s: write failed: %s", h->path, strerror(errno));
    }
    rp_buf_cleanup(&b);
    if (!rc && s->detail_full) {
        fputs("<p class=\"caps\">later steps' details not shown: the session's details passed "
              "the report's cap</p>",
              h->f);
    }
    if (!rc) {
        fputs("</section>\n", h->f);
    }
    /* On disk as the run goes: a run killed leaves the sessions it finished in PATH.tmp. */
    if (!rc && fflush(h->f) != 0) {
        rc = rp_error_set(err, RP_EIO, "%s: write failed: %s", h->path, strerror(errno));
    }
    return rc;
}

static rp_code html_session_end(void *ctx, const char *session, struct rp_error *err)
{
    struct html *h = ctx;
    size_t i = 0;
    while (i < h->n && strcmp(h->sess[i].name, session) != 0) {
        i++;
    }
    if (i == h->n) {
        return RP_OK;
    }
    rp_code rc = h->f ? put_session(h, &h->sess[i], err) : RP_OK;
    sess_free(&h->sess[i]);
    memmove(&h->sess[i], &h->sess[i + 1], (h->n - i - 1) * sizeof(*h->sess));
    h->n--;
    return rc;
}

/* ----- the document ------------------------------------------------------------------------ */

/* The CSP's 'sha256-...' source of the script (the base64 of its SHA-256) into out. */
static void script_hash(struct rp_buf *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(rp__html_js, strlen(rp__html_js), md, &n, EVP_sha256(), NULL) != 1) {
        return; /* no hash: the script does not run, the report still reads */
    }
    adds(out, "'sha256-");
    rp_ignore(rp__base64_encode(md, n, out, NULL));
    adds(out, "'");
}

static void add_recording(struct html *h, const char *path)
{
    h->rec_paths = rp_xreallocarray(h->rec_paths, h->n_recs + 1, sizeof(*h->rec_paths));
    h->rec_paths[h->n_recs++] = rp_xstrdup(path);
}

/*
 * A run read back (reprise diff) names its results files as its recordings: the run they hold
 * is shown instead, its id, start and recordings from each file's header (the first file's id
 * and start), and those recordings are where a failure's recorded response is read.
 */
static void read_run(struct html *h, const struct rp_run_info *run, char **out_id,
                     int64_t *out_start)
{
    for (size_t i = 0; i < run->n_recordings; i++) {
        struct rp_reader_opts ropts = {0};
        struct rp_reader *r = NULL;
        const struct rp_rec_meta *m = NULL;
        if (rp_reader_open(run->recordings[i], &ropts, &r, NULL) == RP_OK) {
            m = rp_reader_meta(r);
        }
        if (!m || !m->source_kind || strcmp(m->source_kind, "replay") != 0) {
            add_recording(h, run->recordings[i]);
            rp_reader_free(r);
            continue;
        }
        cJSON *x = m->extra ? cJSON_Parse(m->extra) : NULL;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(x, "run");
        const cJSON *started = cJSON_GetObjectItemCaseSensitive(x, "started");
        if (!*out_id && cJSON_IsString(id)) {
            *out_id = rp_xstrdup(id->valuestring);
            if (!cJSON_IsString(started) || !rp_time_parse(started->valuestring, out_start)) {
                *out_start = 0;
            }
        }
        const cJSON *j;
        cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(x, "recordings"))
        {
            if (cJSON_IsString(j)) {
                add_recording(h, j->valuestring);
            }
        }
        cJSON_Delete(x);
        rp_reader_free(r);
    }
}

static rp_code html_begin(void *ctx, const struct rp_run_info *run, struct rp_error *err)
{
    struct html *h = ctx;
    free(h->target);
    h->target = rp_xstrdup(run->target ? run->target : "");
    char *stored_id = NULL;
    int64_t start_us = run->start_us;
    read_run(h, run, &stored_id, &start_us);
    const char *run_id = stored_id ? stored_id : run->run_id;
    if (h->to_stdout) {
        h->f = stdout;
    } else {
        h->f = fopen(h->tmp, "w");
        if (!h->f) {
            free(stored_id);
            return rp_error_set(err, RP_EIO, "%s: cannot create %s: %s", h->path, h->tmp,
                                strerror(errno));
        }
    }
    struct rp_buf b;
    rp_buf_init(&b, RP_REPORT_TEXT_MAX * 8u + strlen(rp__html_css));
    adds(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
             "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
             "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
             "script-src ");
    script_hash(&b);
    adds(&b, "\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
             "<meta name=\"generator\" content=\"reprise\">\n<title>reprise report: ");
    esc(&b, run_id ? run_id : "run");
    adds(&b, "</title>\n<style>\n");
    adds(&b, rp__html_css);
    adds(&b, "</style></head>\n<body><div id=\"page\">\n<header id=\"run\" class=\"card\">"
             "<h1>reprise replay report</h1><dl class=\"run-info\"><dt>run</dt><dd id=\"run-id\">");
    esc(&b, run_id ? run_id : "-");
    adds(&b, "</dd><dt>target</dt><dd id=\"target\">");
    esc(&b, run->target ? run->target : "-");
    char when[32];
    rp_time_format(start_us, when);
    adds(&b, "</dd><dt>started</dt><dd id=\"started\">");
    esc(&b, start_us ? when : "-");
    adds(&b, "</dd><dt>recordings</dt><dd id=\"recordings\">");
    for (size_t i = 0; i < h->n_recs; i++) {
        adds(&b, i ? ", <code>" : "<code>");
        esc(&b, h->rec_paths[i]);
        adds(&b, "</code>");
    }
    if (h->n_recs == 0) {
        adds(&b, "-");
    }
    adds(&b, "</dd></dl></header>\n<main id=\"sessions\"><h2>Sessions</h2>\n");
    rp_code rc = RP_OK;
    if (fwrite(b.data, 1, b.len, h->f) != b.len) {
        rc = rp_error_set(err, RP_EIO, "%s: write failed: %s", h->path, strerror(errno));
    }
    rp_buf_cleanup(&b);
    free(stored_id);
    return rc;
}

/* The verdict a person reads first, as the exit code says it (and as the chat notice does). */
static const char *run_verdict(const struct rp_run_summary *sum, const char **cls)
{
    if (sum->sessions.failed) {
        *cls = "v-failed";
        return "failed";
    }
    if (!sum->finished) {
        *cls = "v-unfinished";
        return "did not finish";
    }
    if (sum->sessions.infra) {
        *cls = "v-infra";
        return "failed on the infrastructure";
    }
    if (sum->sessions.flaky) {
        *cls = "v-flaky";
        return "flaky";
    }
    *cls = "v-passed";
    return "passed";
}

static void count_row(struct rp_buf *b, const char *key, const char *label, uint64_t n)
{
    addf(b, "<tr><td>%s</td><td class=\"n\" data-k=\"%s\">%" PRIu64 "</td></tr>", label, key, n);
}

static void put_list(struct rp_buf *b, const char *id, const char *title, const struct hlist *l)
{
    if (l->n == 0) {
        return;
    }
    addf(b, "<h4>%s</h4><ul class=\"index\" id=\"%s\">", title, id);
    for (size_t i = 0; i < l->n; i++) {
        adds(b, "<li>");
        adds(b, l->v[i]); /* rendered HTML */
        adds(b, "</li>");
    }
    if (l->more) {
        addf(b, "<li class=\"caps\">and %" PRIu64 " more</li>", l->more);
    }
    adds(b, "</ul>");
}

static void put_summary(struct html *h, struct rp_buf *b, const struct rp_run_summary *sum)
{
    const char *cls;
    const char *verdict = run_verdict(sum, &cls);
    char t[32];
    addf(b,
         "<section id=\"summary\" class=\"card %s\"><div class=\"verdict\">"
         "<span class=\"big\" id=\"verdict\">",
         cls);
    esc(b, verdict);
    adds(b, "</span>");
    if (sum->wall_us) {
        addf(b, "<span class=\"meta\">in %s</span>", fmt_us(sum->wall_us, t));
    }
    adds(b, "</div>");
    if (!sum->finished) {
        adds(b, "<p class=\"unfinished\" id=\"unfinished\">did not finish: ");
        esc(b, sum->unfinished_why ? sum->unfinished_why : "not finished");
        adds(b, "</p>");
    }
    adds(b, "<div class=\"cards\"><div><h4>sessions</h4><table class=\"counts\">");
    count_row(b, "sessions.passed", "passed", sum->sessions.passed);
    count_row(b, "sessions.flaky", "flaky", sum->sessions.flaky);
    count_row(b, "sessions.failed", "failed", sum->sessions.failed);
    count_row(b, "sessions.infra", "infrastructure", sum->sessions.infra);
    if (sum->sessions.cancelled) {
        count_row(b, "sessions.cancelled", "cancelled", sum->sessions.cancelled);
    }
    adds(b, "</table></div><div><h4>steps</h4><table class=\"counts\">");
    count_row(b, "steps.passed", "passed", sum->passed);
    count_row(b, "steps.failed", "failed", sum->failed);
    count_row(b, "steps.errors", "errors", sum->errors);
    count_row(b, "steps.unsafe", "unsafe", sum->unsafe);
    count_row(b, "steps.skipped", "skipped", sum->skipped);
    if (sum->cancelled) {
        count_row(b, "steps.cancelled", "cancelled", sum->cancelled);
    }
    count_row(b, "steps.slow", "slow", sum->slow);
    uint64_t td = sum->teardown.passed + sum->teardown.failed + sum->teardown.errors +
                  sum->teardown.skipped + sum->teardown.unsafe;
    if (td) {
        count_row(b, "teardown.steps", "teardown steps", td);
    }
    adds(b, "</table></div><div><h4>latency</h4><table class=\"counts\">");
    addf(b, "<tr><td>p50</td><td class=\"n\" data-k=\"p50\">%s</td></tr>", fmt_us(sum->p50_us, t));
    addf(b, "<tr><td>p95</td><td class=\"n\" data-k=\"p95\">%s</td></tr>", fmt_us(sum->p95_us, t));
    addf(b, "<tr><td>max</td><td class=\"n\" data-k=\"max\">%s</td></tr>", fmt_us(sum->max_us, t));
    if (sum->baseline_p95_us) {
        addf(b, "<tr><td>baseline p95%s</td><td class=\"n\">%s</td></tr>",
             sum->slow_p95 ? " (over budget)" : "", fmt_us(sum->baseline_p95_us, t));
    }
    adds(b, "</table></div></div>");
    put_list(b, "failing", "failing and flaky sessions", &h->failing);
    put_list(b, "slow-steps", "slow steps", &h->slow);
    if (h->passing_hidden) {
        addf(b,
             "<p class=\"caps\" id=\"hidden\">%" PRIu64 " passing session%s not shown in full "
             "(%" PRIu64 " are)</p>",
             h->passing_hidden, h->passing_hidden == 1 ? "" : "s", h->passing_shown);
    }
    adds(b, "</section>\n");
}

/* Makes the written content durable and renames it into place. */
static rp_code finish_file(struct html *h, struct rp_error *err)
{
    if (h->to_stdout) {
        if (fflush(stdout) != 0 || ferror(stdout)) {
            return rp_error_set(err, RP_EIO, "html to standard output: write failed: %s",
                                strerror(errno));
        }
        return RP_OK;
    }
    FILE *f = h->f;
    h->f = NULL;
    errno = 0;
    if (fflush(f) != 0 || ferror(f) || (fsync(fileno(f)) != 0 && errno != EINVAL)) {
        int e = errno;
        fclose(f);
        return rp_error_set(err, RP_EIO, "%s: write failed: %s", h->path,
                            e ? strerror(e) : "I/O error");
    }
    if (fclose(f) != 0) {
        return rp_error_set(err, RP_EIO, "%s: write failed: %s", h->path, strerror(errno));
    }
    if (rename(h->tmp, h->path) != 0) {
        return rp_error_set(err, RP_EIO, "%s: cannot rename %s into place: %s", h->path, h->tmp,
                            strerror(errno));
    }
    return RP_OK;
}

static rp_code html_end(void *ctx, const struct rp_run_summary *sum, struct rp_error *err)
{
    struct html *h = ctx;
    if (!h->f) {
        return rp_error_set(err, RP_EIO, "%s: the report was not begun", h->path);
    }
    rp_code rc = RP_OK;
    /* The sessions that never ended (a results file read back, a run cut short), in order. */
    while (h->n && !rc) {
        rc = put_session(h, &h->sess[0], err);
        sess_free(&h->sess[0]);
        memmove(&h->sess[0], &h->sess[1], (h->n - 1) * sizeof(*h->sess));
        h->n--;
    }
    if (!rc && h->passing_hidden + h->passing_shown + h->failing.n + h->failing.more == 0) {
        fputs("<p class=\"na\">no session was checked</p>\n", h->f);
    }
    struct rp_buf b;
    rp_buf_init(&b, RP_REPORT_TEXT_MAX * (2u * RP_HTML_INDEX_MAX + 8u) + strlen(rp__html_js));
    adds(&b, "</main>\n");
    put_summary(h, &b, sum);
    adds(&b, "</div>\n<script>"); /* the script exactly as hashed for the CSP */
    adds(&b, rp__html_js);
    adds(&b, "</script>\n</body></html>\n");
    if (!rc && fwrite(b.data, 1, b.len, h->f) != b.len) {
        rc = rp_error_set(err, RP_EIO, "%s: write failed: %s", h->path, strerror(errno));
    }
    rp_buf_cleanup(&b);
    if (!rc) {
        rc = finish_file(h, err);
    }
    return rc;
}

static void html_free(void *ctx)
{
    struct html *h = ctx;
    if (!h) {
        return;
    }
    if (h->f && !h->to_stdout) {
        fclose(h->f);
        unlink(h->tmp); /* a report never finished is not left half-written */
    }
    for (size_t i = 0; i < h->n; i++) {
        sess_free(&h->sess[i]);
    }
    free(h->sess);
    for (size_t i = 0; i < h->n_recs; i++) {
        free(h->rec_paths[i]);
        free(h->rec_names ? h->rec_names[i] : NULL);
    }
    free(h->rec_paths);
    free(h->rec_names);
    for (size_t i = 0; i < HTML_RECORDED_CACHE; i++) {
        rp_exchange_cleanup(&h->cache[i].ex);
    }
    list_free(&h->failing);
    list_free(&h->slow);
    rp_scrub_free(h->scrub);
    free(h->target);
    free(h->tmp);
    free(h->path);
    free(h);
}

static const struct rp_sink_ops html_ops = {
    .begin = html_begin,
    .result = html_result,
    .end = html_end,
    .free = html_free,
    .session_end = html_session_end,
    .session_verdict = html_session_verdict,
    .wants_all = true,
};

void rp_sink_html(struct rp_sink *sink, const char *path, const struct rp_html_opts *o)
{
    struct html *h = rp_xcalloc(1, sizeof(*h));
    for (size_t i = 0; i < HTML_RECORDED_CACHE; i++) {
        rp_exchange_init(&h->cache[i].ex);
    }
    h->path = rp_xstrdup(path);
    h->to_stdout = strcmp(path, "-") == 0;
    size_t n = strlen(path);
    h->tmp = rp_xmalloc(n + sizeof(".tmp"));
    memcpy(h->tmp, path, n);
    memcpy(h->tmp + n, ".tmp", sizeof(".tmp"));
    h->body_max = o && o->body_max ? o->body_max : RP_HTML_BODY_MAX;
    h->passing_max = o && o->passing_max ? o->passing_max : RP_HTML_PASSING_MAX;
    h->scrub = rp_scrub_new();
    sink->ops = &html_ops;
    sink->ctx = h;
}
