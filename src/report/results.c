/* SPDX-License-Identifier: MIT */
/*
 * The results sink: a recording (source kind "replay") of the live exchanges, each carrying a
 * "check" object with its session, recorded seq, outcome, mismatches and the shape it was
 * checked against, so that `reprise diff` can re-check a run offline, and at the end the end
 * record, which says whether the run finished. Also the reading of both back.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <reprise/limits.h>
#include <reprise/report.h>
#include <reprise/scrub.h>

#include "../common_int.h"
#include "internal.h"

struct results {
    char *path;
    struct rp_writer *w; /* open between begin() and end() */
    /* The live exchanges are scrubbed as recordings are (scrub.h): the cookies the session
     * was given, its credentials, card numbers. One rule set for the file, so that one value
     * keeps one placeholder name throughout. */
    struct rp_scrub *scrub;
    uint64_t cancelled; /* CANCELLED main steps written: the end record counts the others */
};

/* ----- JSON helpers ------------------------------------------------------------------------ */

/* A JSON string for s, with malformed UTF-8 replaced so the line stays valid JSON. */
static cJSON *json_str(const char *s)
{
    char *clean = rp__report_utf8_clean(s ? s : "");
    cJSON *j = cJSON_CreateString(clean);
    free(clean);
    return j;
}

/* ----- the sink ---------------------------------------------------------------------------- */

static rp_code results_begin(void *ctx, const struct rp_run_info *run, struct rp_error *err)
{
    struct results *r = ctx;
    if (r->w) {
        return rp_error_set(err, RP_EINTERNAL, "%s: results file already open", r->path);
    }
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    char when[32];
    rp_time_format(rp_now_us(), when);
    meta.name = rp_xstrdup("results");
    meta.created = rp_xstrdup(when);
    meta.source_kind = rp_xstrdup("replay");
    meta.source_detail = rp_xstrdup(run->target);

    cJSON *x = cJSON_CreateObject();
    cJSON_AddItemToObject(x, "run", json_str(run->run_id));
    cJSON *recs = cJSON_CreateArray();
    cJSON_AddItemToObject(x, "recordings", recs);
    for (size_t i = 0; i < run->n_recordings; i++) {
        cJSON_AddItemToArray(recs, json_str(run->recordings[i]));
    }
    rp_time_format(run->start_us, when);
    cJSON_AddItemToObject(x, "started", cJSON_CreateString(when));
    /* A shard's file says which it is and how many sessions the whole run has, so that
     * `reprise merge` finds a missing shard. */
    if (run->shard_count > 1) {
        cJSON *sh = cJSON_CreateObject();
        cJSON_AddItemToObject(sh, "index", cJSON_CreateNumber(run->shard_index));
        cJSON_AddItemToObject(sh, "count", cJSON_CreateNumber(run->shard_count));
        cJSON_AddItemToObject(x, "shard", sh);
    }
    if (run->total_sessions) {
        cJSON_AddItemToObject(x, "sessions", cJSON_CreateNumber((double)run->total_sessions));
    }
    char *text = rp__json_print(x, false);
    meta.extra = rp_xstrdup(text);
    cJSON_free(text);
    cJSON_Delete(x);

    rp_code rc = rp_writer_open(r->path, &meta, NULL, &r->w, err);
    rp_rec_meta_cleanup(&meta);
    return rc;
}

/* The latency check's figures, "latency": {"recorded_us", "baseline_us", "slow"}, each only
 * when known (or true); nothing when none is. */
static void add_latency(cJSON *c, const struct rp_verdict *v)
{
    if (!v->recorded_us && !v->baseline_us && !v->slow) {
        return;
    }
    cJSON *l = cJSON_CreateObject();
    cJSON_AddItemToObject(c, "latency", l);
    if (v->recorded_us) {
        cJSON_AddItemToObject(l, "recorded_us", cJSON_CreateNumber((double)v->recorded_us));
    }
    if (v->baseline_us) {
        cJSON_AddItemToObject(l, "baseline_us", cJSON_CreateNumber((double)v->baseline_us));
    }
    if (v->slow) {
        cJSON_AddItemToObject(l, "slow", cJSON_CreateTrue());
    }
}

/* The tenant rules' "FROM=TO" lines as {"FROM": "TO", ...}. */
static cJSON *tenants_json(const char *lines)
{
    cJSON *o = cJSON_CreateObject();
    const char *p = lines;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (eq) {
            char *from = rp_xstrndup(p, (size_t)(eq - p));
            char *to = rp_xstrndup(eq + 1, n - (size_t)(eq - p) - 1);
            cJSON_AddItemToObject(o, from, json_str(to));
            free(from);
            free(to);
        }
        p += n + (end ? 1 : 0);
    }
    return o;
}

/* Reads "tenants" ({"FROM": "TO"}) back into "FROM=TO" lines (new memory) in *out. */
static rp_code read_tenants(const cJSON *obj, char **out, struct rp_error *err)
{
    if (!obj || cJSON_IsNull(obj)) {
        return RP_OK;
    }
    if (!cJSON_IsObject(obj) || cJSON_GetArraySize(obj) > (int)RP_MAX_REWRITE_RULES) {
        return rp_error_set(err, RP_EFORMAT,
                            "\"check.tenants\" is not an object of at most %u tenants",
                            RP_MAX_REWRITE_RULES);
    }
    struct rp_buf b;
    rp_buf_init(&b, RP_MAX_REWRITE_RULES * (RP_MAX_TENANT_BYTES + RP_MAX_TEMPLATE_BYTES + 2));
    const cJSON *j;
    rp_code rc = RP_OK;
    cJSON_ArrayForEach(j, obj)
    {
        if (!cJSON_IsString(j) || strlen(j->string) > RP_MAX_TENANT_BYTES ||
            strlen(j->valuestring) > RP_MAX_TEMPLATE_BYTES || strpbrk(j->string, "=\n") ||
            strchr(j->valuestring, '\n')) {
            rc = rp_error_set(err, RP_EFORMAT, "\"check.tenants.%s\" is not a tenant", j->string);
            break;
        }
        rc = rp_buf_addf(&b, err, "%s%s=%s", b.len ? "\n" : "", j->string, j->valuestring);
    }
    if (rc) {
        rp_buf_cleanup(&b);
        return rc;
    }
    *out = b.len ? rp_buf_take(&b, NULL) : NULL;
    if (!*out) {
        rp_buf_cleanup(&b);
    }
    return RP_OK;
}

/* Builds the "check" object for v. */
static rp_code check_json(const struct rp_verdict *v, cJSON **out, struct rp_error *err)
{
    const char *outcome = rp_outcome_name(v->outcome);
    if (!outcome) {
        return rp_error_set(err, RP_EINTERNAL, "result for %s seq %" PRIu64 ": bad outcome %d",
                            v->session ? v->session : "-", v->recorded_seq, (int)v->outcome);
    }
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToObject(c, "session", json_str(v->session));
    cJSON_AddItemToObject(c, "recorded_seq", cJSON_CreateNumber((double)v->recorded_seq));
    cJSON_AddItemToObject(c, "outcome", cJSON_CreateString(outcome));
    if (v->teardown) {
        cJSON_AddItemToObject(c, "teardown", cJSON_CreateTrue());
    }
    if (v->attempt) { /* a retry's (--retries); the first attempt's say nothing */
        cJSON_AddItemToObject(c, "attempt", cJSON_CreateNumber((double)v->attempt));
    }
    if (v->step) {
        cJSON_AddItemToObject(c, "step", json_str(v->step));
    }
    if (v->tenants) {
        cJSON_AddItemToObject(c, "tenants", tenants_json(v->tenants));
    }
    if (v->error) {
        cJSON_AddItemToObject(c, "error", json_str(v->error));
    }
    cJSON *mm = cJSON_CreateArray();
    cJSON_AddItemToObject(c, "mismatches", mm);
    for (size_t i = 0; i < v->mismatches.n; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddItemToArray(mm, m);
        cJSON_AddItemToObject(m, "path", json_str(v->mismatches.v[i].path));
        cJSON_AddItemToObject(m, "message", json_str(v->mismatches.v[i].message));
    }
    if (v->n_checks) {
        cJSON *checks = cJSON_CreateObject();
        cJSON_AddItemToObject(c, "checks", checks);
        for (size_t i = 0; i < v->n_checks; i++) {
            const char *o = rp_outcome_name(v->checks[i].outcome);
            cJSON_AddItemToObject(checks, v->checks[i].name, cJSON_CreateString(o ? o : "skipped"));
        }
    }
    if (v->n_identity) {
        cJSON *ids = cJSON_CreateArray();
        cJSON_AddItemToObject(c, "identity", ids);
        for (size_t i = 0; i < v->n_identity; i++) {
            const struct rp_identity_expect *e = &v->identity[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddItemToArray(ids, o);
            cJSON_AddItemToObject(o, "path", json_str(e->path));
            cJSON_AddItemToObject(o, "expected", json_str(e->expected));
            cJSON_AddItemToObject(o, "string", cJSON_CreateBool(e->expected_string));
            cJSON_AddItemToObject(o, "what", json_str(e->what));
        }
    }
    add_latency(c, v);
    if (v->shape) {
        char *text = rp_shape_to_json(v->shape);
        cJSON *s = cJSON_Parse(text);
        free(text);
        if (!cJSON_IsObject(s)) {
            cJSON_Delete(s);
            cJSON_Delete(c);
            return rp_error_set(err, RP_EINTERNAL,
                                "result for %s seq %" PRIu64 ": the shape's JSON is not an object",
                                v->session ? v->session : "-", v->recorded_seq);
        }
        cJSON_AddItemToObject(c, "shape", s);
    }
    *out = c;
    return RP_OK;
}

static rp_code results_result(void *ctx, const struct rp_verdict *res, struct rp_error *err)
{
    struct results *r = ctx;
    if (!r->w) {
        return rp_error_set(err, RP_EINTERNAL, "%s: results file is not open", r->path);
    }
    if (!res->live) {
        return rp_error_set(err, RP_EINTERNAL, "%s: result for %s seq %" PRIu64 " has no exchange",
                            r->path, res->session ? res->session : "-", res->recorded_seq);
    }
    rp_code rc = RP_EINTERNAL;
    char *text = NULL;
    cJSON *check = NULL;
    /* Keep the exchange's own extra keys; a "check" from an earlier run is replaced. */
    cJSON *root = res->live->extra ? cJSON_Parse(res->live->extra) : cJSON_CreateObject();
    if (!cJSON_IsObject(root)) {
        rc = rp_error_set(err, RP_EINTERNAL,
                          "%s: exchange %" PRIu64 ": extra keys are not a JSON object", r->path,
                          res->live->seq);
        goto out;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(root, "check");
    rc = check_json(res, &check, err);
    if (rc) {
        goto out;
    }
    cJSON_AddItemToObject(root, "check", check);
    check = NULL;
    text = rp__json_print(root, false);

    /* A copy, scrubbed: a live Set-Cookie or credential never reaches the file. */
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    rc = rp_exchange_copy(&ex, res->live, err);
    if (!rc) {
        rc = rp_scrub_exchange(r->scrub, &ex, err);
    }
    if (!rc) {
        free(ex.extra);
        ex.extra = text; /* borrowed for the append; freed below */
        rc = rp_writer_append(r->w, &ex, err);
        ex.extra = NULL;
    }
    r->cancelled += !rc && !res->teardown && res->outcome == RP_OUTCOME_CANCELLED;
    rp_exchange_cleanup(&ex);
out:
    cJSON_free(text);
    cJSON_Delete(check);
    cJSON_Delete(root);
    return rc;
}

/*
 * The end record's object: {"finished": true, "ended": TIME} for a run that ended normally;
 * for one that did not, "finished": false, "why" ("cancelled by SIGTERM"), "cancelled" (main
 * steps cancelled) and "not_started" (those of them no line stands for). Written last, so a
 * file without it is of a run that was killed or is still running.
 */
static char *end_json(const struct results *r, const struct rp_run_summary *sum)
{
    cJSON *e = cJSON_CreateObject();
    bool finished = !sum->unfinished_why; /* check.h: a zeroed summary reads as finished */
    cJSON_AddItemToObject(e, "finished", cJSON_CreateBool(finished));
    char when[32];
    rp_time_format(rp_now_us(), when);
    cJSON_AddItemToObject(e, "ended", cJSON_CreateString(when));
    if (!finished) {
        cJSON_AddItemToObject(e, "why", json_str(sum->unfinished_why));
        uint64_t lost = sum->cancelled > r->cancelled ? sum->cancelled - r->cancelled : 0;
        cJSON_AddItemToObject(e, "cancelled", cJSON_CreateNumber((double)sum->cancelled));
        cJSON_AddItemToObject(e, "not_started", cJSON_CreateNumber((double)lost));
    }
    char *text = rp__json_print(e, false);
    cJSON_Delete(e);
    return text;
}

static rp_code results_end(void *ctx, const struct rp_run_summary *sum, struct rp_error *err)
{
    struct results *r = ctx;
    rp_code rc = RP_OK;
    if (sum && r->w) {
        char *text = end_json(r, sum);
        rc = rp_writer_end(r->w, text, err);
        cJSON_free(text);
    }
    /* Closed whatever happened: what was appended is kept. */
    rp_code crc = rp_writer_close(r->w, rc ? NULL : err);
    r->w = NULL;
    return rc ? rc : crc;
}

static void results_free(void *ctx)
{
    struct results *r = ctx;
    if (!r) {
        return;
    }
    /* Without end() (a run cut short), still close the file: what was appended is kept. */
    rp_ignore(rp_writer_close(r->w, NULL));
    rp_scrub_free(r->scrub);
    free(r->path);
    free(r);
}

static const struct rp_sink_ops results_ops = {
    .begin = results_begin,
    .result = results_result,
    .end = results_end,
    .free = results_free,
    .wants_shape = true,
};

void rp_sink_results(struct rp_sink *sink, const char *path)
{
    struct results *r = rp_xcalloc(1, sizeof(*r));
    r->scrub = rp_scrub_new();
    r->path = rp_xstrdup(path);
    sink->ops = &results_ops;
    sink->ctx = r;
}

/* ----- reading a check back ---------------------------------------------------------------- */

/* The outcome named s ("pass", ...) into *out; false for any other name. */
static bool parse_outcome(const char *s, enum rp_outcome *out)
{
    for (unsigned i = RP_OUTCOME_PASS; i <= RP_OUTCOME_CANCELLED; i++) {
        if (strcmp(s, rp_outcome_name((enum rp_outcome)i)) == 0) {
            *out = (enum rp_outcome)i;
            return true;
        }
    }
    return false;
}

/* Appends a mismatch whose path and message (both taken) are already final. */
static void mismatch_push(struct rp_mismatches *m, char *path, char *message)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->v = rp_xreallocarray(m->v, m->cap, sizeof(*m->v));
    }
    m->v[m->n].path = path;
    m->v[m->n].message = message;
    m->n++;
}

/* Reads the stored mismatches into list (empty, initialised). */
static rp_code read_mismatches(const cJSON *arr, struct rp_mismatches *list, struct rp_error *err)
{
    if (!arr || cJSON_IsNull(arr)) {
        return RP_OK;
    }
    if (!cJSON_IsArray(arr)) {
        return rp_error_set(err, RP_EFORMAT, "\"check.mismatches\" is not an array");
    }
    /* The writer keeps RP_MAX_MISMATCHES and one closing "N more" entry. */
    if ((size_t)cJSON_GetArraySize(arr) > RP_MAX_MISMATCHES + 1) {
        return rp_error_set(err, RP_ETOOBIG, "\"check.mismatches\" has more than %u entries",
                            RP_MAX_MISMATCHES + 1);
    }
    size_t i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, arr)
    {
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(m, "path");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(m, "message");
        if (!cJSON_IsString(path) || !cJSON_IsString(msg)) {
            return rp_error_set(err, RP_EFORMAT,
                                "\"check.mismatches[%zu]\" needs string \"path\" and \"message\"",
                                i);
        }
        /*
         * Stored entries are copied as they are, not through rp_mismatches_add(), which would
         * recount the closing "N more" entry against the cap.
         */
        mismatch_push(list, rp_xstrdup(path->valuestring), rp_xstrdup(msg->valuestring));
        i++;
    }
    return RP_OK;
}

/* Reads the optional identity expectations ("identity": [{"path", "expected", "string",
 * "what"}]) into v. */
static rp_code read_identity(const cJSON *arr, struct rp_verdict *v, struct rp_error *err)
{
    if (!arr || cJSON_IsNull(arr)) {
        return RP_OK;
    }
    if (!cJSON_IsArray(arr)) {
        return rp_error_set(err, RP_EFORMAT, "\"check.identity\" is not an array");
    }
    if ((size_t)cJSON_GetArraySize(arr) > RP_IDENTITY_MAX_RULES) {
        return rp_error_set(err, RP_ETOOBIG, "\"check.identity\" has more than %u entries",
                            RP_IDENTITY_MAX_RULES);
    }
    v->identity = rp_xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*v->identity));
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(e, "path");
        const cJSON *exp = cJSON_GetObjectItemCaseSensitive(e, "expected");
        const cJSON *str = cJSON_GetObjectItemCaseSensitive(e, "string");
        const cJSON *what = cJSON_GetObjectItemCaseSensitive(e, "what");
        if (!cJSON_IsString(path) || !cJSON_IsString(exp) || !cJSON_IsString(what) ||
            (str && !cJSON_IsBool(str))) {
            return rp_error_set(err, RP_EFORMAT,
                                "\"check.identity[%zu]\" needs string \"path\", \"expected\" "
                                "and \"what\"",
                                v->n_identity);
        }
        struct rp_identity_expect *x = &v->identity[v->n_identity++];
        x->path = rp_xstrdup(path->valuestring);
        x->expected = rp_xstrdup(exp->valuestring);
        x->expected_string = cJSON_IsTrue(str);
        x->what = rp_xstrdup(what->valuestring);
    }
    return RP_OK;
}

/* Reads the optional per-check outcomes ("checks": {"shape": "pass"}) into v. */
static rp_code read_notes(const cJSON *obj, struct rp_verdict *v, struct rp_error *err)
{
    if (!obj || cJSON_IsNull(obj)) {
        return RP_OK;
    }
    if (!cJSON_IsObject(obj)) {
        return rp_error_set(err, RP_EFORMAT, "\"check.checks\" is not an object");
    }
    const cJSON *j;
    cJSON_ArrayForEach(j, obj)
    {
        enum rp_outcome o;
        if (!cJSON_IsString(j) || !parse_outcome(j->valuestring, &o)) {
            return rp_error_set(err, RP_EFORMAT, "\"check.checks.%s\" is not an outcome",
                                j->string);
        }
        if (v->n_checks == RP_CHECKS_MAX) {
            return rp_error_set(err, RP_ETOOBIG, "\"check.checks\" has more than %u entries",
                                RP_CHECKS_MAX);
        }
        struct rp_check_note *n = &v->checks[v->n_checks++];
        snprintf(n->name, sizeof(n->name), "%s", j->string);
        n->outcome = o;
    }
    return RP_OK;
}

/* A non-negative integer a JSON number carries exactly (2^53 at most) into *out. */
static bool json_u64(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > 9007199254740992.0 ||
        j->valuedouble != (double)(uint64_t)j->valuedouble) {
        return false;
    }
    *out = (uint64_t)j->valuedouble;
    return true;
}

/* Reads the optional latency figures ("latency": {"recorded_us", "baseline_us"}) into v; "slow"
 * is not read: the latency check judges again. */
static rp_code read_latency(const cJSON *obj, struct rp_verdict *v, struct rp_error *err)
{
    if (!obj || cJSON_IsNull(obj)) {
        return RP_OK;
    }
    if (!cJSON_IsObject(obj)) {
        return rp_error_set(err, RP_EFORMAT, "\"check.latency\" is not an object");
    }
    static const char *const keys[] = {"recorded_us", "baseline_us"};
    uint64_t *dst[] = {&v->recorded_us, &v->baseline_us};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, keys[i]);
        if (j && !json_u64(j, dst[i])) {
            return rp_error_set(err, RP_EFORMAT,
                                "\"check.latency.%s\" is not a non-negative integer", keys[i]);
        }
    }
    return RP_OK;
}

rp_code rp_results_read_verdict(const struct rp_exchange *ex, struct rp_verdict *out,
                                struct rp_error *err)
{
    rp_code rc = RP_EFORMAT;
    char *shape_text = NULL;
    struct rp_verdict v;
    rp_verdict_init(&v);
    cJSON *root = ex->extra ? cJSON_Parse(ex->extra) : NULL;

    const cJSON *check = cJSON_GetObjectItemCaseSensitive(root, "check");
    if (!cJSON_IsObject(check)) {
        rp_error_set(err, RP_EFORMAT, "no \"check\" object");
        goto out;
    }
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(check, "session");
    if (!cJSON_IsString(j)) {
        rp_error_set(err, RP_EFORMAT, "\"check.session\" is missing or not a string");
        goto out;
    }
    v.own_session = rp_xstrdup(j->valuestring);

    j = cJSON_GetObjectItemCaseSensitive(check, "recorded_seq");
    if (!json_u64(j, &v.recorded_seq)) {
        rp_error_set(err, RP_EFORMAT, "\"check.recorded_seq\" is not a non-negative integer");
        goto out;
    }

    j = cJSON_GetObjectItemCaseSensitive(check, "outcome");
    if (!cJSON_IsString(j) || !parse_outcome(j->valuestring, &v.outcome)) {
        rp_error_set(err, RP_EFORMAT,
                     "\"check.outcome\" is not one of \"pass\", \"fail\", \"error\", \"skipped\", "
                     "\"unsafe\", \"cancelled\"");
        goto out;
    }

    /* A teardown step (--teardown) says so; any other verdict says nothing. */
    j = cJSON_GetObjectItemCaseSensitive(check, "teardown");
    if (j && !cJSON_IsBool(j)) {
        rp_error_set(err, RP_EFORMAT, "\"check.teardown\" is not true or false");
        goto out;
    }
    v.teardown = cJSON_IsTrue(j);

    /* A retry's step (--retries) says which attempt; the first attempt's say nothing. */
    j = cJSON_GetObjectItemCaseSensitive(check, "attempt");
    if (j && (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > RP_REPLAY_MAX_RETRIES ||
              j->valuedouble != (double)(unsigned)j->valuedouble)) {
        rp_error_set(err, RP_EFORMAT, "\"check.attempt\" is not an integer from 0 to %u",
                     RP_REPLAY_MAX_RETRIES);
        goto out;
    }
    v.attempt = j ? (unsigned)j->valuedouble : 0;
    /* The step's name (results files written before it existed have none). */
    j = cJSON_GetObjectItemCaseSensitive(check, "step");
    if (j && !cJSON_IsNull(j)) {
        if (!cJSON_IsString(j) || strlen(j->valuestring) > RP_MAX_STEP_NAME + 24) {
            rp_error_set(err, RP_EFORMAT, "\"check.step\" is not a string of at most %u bytes",
                         RP_MAX_STEP_NAME + 24);
            goto out;
        }
        v.own_step = rp_xstrdup(j->valuestring);
    }

    j = cJSON_GetObjectItemCaseSensitive(check, "error");
    if (j && !cJSON_IsNull(j)) {
        if (!cJSON_IsString(j)) {
            rp_error_set(err, RP_EFORMAT, "\"check.error\" is not a string");
            goto out;
        }
        v.own_error = rp_xstrdup(j->valuestring);
    }

    rc = read_mismatches(cJSON_GetObjectItemCaseSensitive(check, "mismatches"), &v.mismatches, err);
    if (!rc) {
        rc = read_notes(cJSON_GetObjectItemCaseSensitive(check, "checks"), &v, err);
    }
    if (!rc) {
        rc = read_identity(cJSON_GetObjectItemCaseSensitive(check, "identity"), &v, err);
    }
    if (!rc) {
        rc = read_latency(cJSON_GetObjectItemCaseSensitive(check, "latency"), &v, err);
    }
    if (!rc) {
        rc = read_tenants(cJSON_GetObjectItemCaseSensitive(check, "tenants"), &v.own_tenants, err);
    }
    if (rc) {
        goto out;
    }

    j = cJSON_GetObjectItemCaseSensitive(check, "shape");
    if (j && !cJSON_IsNull(j)) {
        if (!cJSON_IsObject(j)) {
            rc = rp_error_set(err, RP_EFORMAT, "\"check.shape\" is not an object");
            goto out;
        }
        shape_text = rp__json_print(j, false);
        rc = rp_shape_from_json(shape_text, strlen(shape_text), &v.own_shape, err);
        if (rc) {
            rp_error_prefix(err, "\"check.shape\"");
            goto out;
        }
    }

    /* Success: hand everything over. */
    v.session = v.own_session;
    v.error = v.own_error;
    v.step = v.own_step;
    v.tenants = v.own_tenants;
    v.shape = v.own_shape;
    v.live = ex;
    rp_verdict_cleanup(out);
    *out = v;
    rp_verdict_init(&v);
    rc = RP_OK;
out:
    cJSON_free(shape_text);
    rp_verdict_cleanup(&v);
    cJSON_Delete(root);
    return rc;
}

/* ----- re-checking a results file ---------------------------------------------------------- */

/* A whole number from 0 to max at j, into *out; false for anything else. */
static bool json_count(const cJSON *j, double max, uint64_t *out)
{
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > max ||
        j->valuedouble != (double)(uint64_t)j->valuedouble) {
        return false;
    }
    *out = (uint64_t)j->valuedouble;
    return true;
}

/* What an end record ({"end": OBJECT}, the line rp_writer_end writes) says. */
struct end_record {
    bool finished;
    char why[256];        /* why it did not finish; "" when finished */
    uint64_t not_started; /* main steps of sessions a cancel kept from starting */
};

/* Reads the end record's object (text, n bytes) into *out: RP_EFORMAT for a malformed one. NULL
 * text (the file has none) reads as a run killed or still running. */
static rp_code parse_end(const char *text, size_t n, struct end_record *out, struct rp_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!text) {
        snprintf(out->why, sizeof(out->why), "killed or still running (no end record)");
        return RP_OK;
    }
    rp_code rc = RP_EFORMAT;
    cJSON *e = cJSON_ParseWithLength(text, n);
    const cJSON *fin = cJSON_GetObjectItemCaseSensitive(e, "finished");
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(e, "why");
    const cJSON *lost = cJSON_GetObjectItemCaseSensitive(e, "not_started");
    if (!cJSON_IsObject(e) || !cJSON_IsBool(fin)) {
        rp_error_set(err, RP_EFORMAT, "the end record has no \"finished\": true or false");
    } else if (why && !cJSON_IsString(why)) {
        rp_error_set(err, RP_EFORMAT, "the end record's \"why\" is not a string");
    } else if (lost && !json_count(lost, 9007199254740992.0, &out->not_started)) {
        rp_error_set(err, RP_EFORMAT,
                     "the end record's \"not_started\" is not a non-negative integer");
    } else {
        out->finished = cJSON_IsTrue(fin);
        if (!out->finished) {
            snprintf(out->why, sizeof(out->why), "%s", why ? why->valuestring : "not finished");
        }
        rc = RP_OK;
    }
    cJSON_Delete(e);
    return rc;
}

/* What the file's end record says (text, n bytes: its object), told to the checker; NULL
 * text: the file has none, so the run did not finish. The reason names file, when not NULL. */
static rp_code read_end(const char *file, const char *text, size_t n, struct rp_checker *c,
                        struct rp_error *err)
{
    struct end_record end;
    rp_code rc = parse_end(text, n, &end, err);
    if (!rc && !end.finished) {
        char reason[RP_ERROR_MSG_MAX];
        snprintf(reason, sizeof(reason), "%s%s%s", file ? file : "", file ? ": " : "", end.why);
        rp_checker_unfinished(c, reason, end.not_started);
    }
    return rc;
}

/* Opens path for reading, refusing a recording that is not a results file. */
static rp_code open_results(const char *path, const struct rp_reader_opts *ropts,
                            struct rp_reader **out, struct rp_error *err)
{
    struct rp_reader *r = NULL;
    rp_code rc = rp_reader_open(path, ropts, &r, err);
    if (rc) {
        return rc;
    }
    const struct rp_rec_meta *m = rp_reader_meta(r);
    if (!m->source_kind || strcmp(m->source_kind, "replay") != 0) {
        rc = rp_error_set(err, RP_EFORMAT,
                          "%s:1: not a results file (source kind %s; write one with 'reprise "
                          "replay --results')",
                          path, m->source_kind ? m->source_kind : "unknown");
        rp_reader_free(r);
        return rc;
    }
    *out = r;
    return RP_OK;
}

/* Feeds every verdict of the open file r, then its end record, to c. */
static rp_code feed(const char *path, struct rp_reader *r, struct rp_checker *c, bool name_file,
                    struct rp_error *err)
{
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    struct rp_verdict v;
    rp_verdict_init(&v);
    rp_code rc = RP_OK;
    while (!rc) {
        bool got = false;
        rc = rp_reader_next(r, &ex, &got, err);
        if (rc || !got) {
            break;
        }
        rp_verdict_cleanup(&v);
        rp_verdict_init(&v);
        rc = rp_results_read_verdict(&ex, &v, err);
        if (rc) {
            rp_error_prefix(err, "%s:%llu", path, (unsigned long long)rp_reader_line(r));
            break;
        }
        rc = rp_checker_stored(c, &v, err);
    }
    if (!rc) {
        size_t n = 0;
        const char *end = rp_reader_end_text(r, &n);
        rc = read_end(name_file ? path : NULL, end, n, c, err);
        if (rc) {
            rp_error_prefix(err, "%s:%llu", path, (unsigned long long)rp_reader_line(r));
        }
    }
    rp_verdict_cleanup(&v);
    rp_exchange_cleanup(&ex);
    return rc;
}

rp_code rp_results_check(const char *path, struct rp_checker *c, rp_log_fn log, void *log_ud,
                         struct rp_error *err)
{
    struct rp_reader_opts ropts = {.log = log, .log_ud = log_ud};
    struct rp_reader *r = NULL;
    rp_code rc = open_results(path, &ropts, &r, err);
    if (rc) {
        return rc;
    }
    const struct rp_rec_meta *m = rp_reader_meta(r);
    const char *const recs[] = {path};
    struct rp_run_info info = {
        .run_id = "diff",
        .target = m->source_detail ? m->source_detail : "(unknown)",
        .start_us = rp_now_us(),
        .recordings = recs,
        .n_recordings = 1,
    };
    rp_checker_begin(c, &info);
    rc = rp_checker_start_sinks(c, err);
    if (!rc) {
        rc = feed(path, r, c, false, err);
    }
    rp_reader_free(r);
    return rc;
}

rp_code rp_results_feed(const char *path, struct rp_checker *c, rp_log_fn log, void *log_ud,
                        struct rp_error *err)
{
    struct rp_reader_opts ropts = {.log = log, .log_ud = log_ud};
    struct rp_reader *r = NULL;
    rp_code rc = open_results(path, &ropts, &r, err);
    if (!rc) {
        rc = feed(path, r, c, true, err);
    }
    rp_reader_free(r);
    return rc;
}

/* ----- the header: the run a results file is of --------------------------------------------- */

void rp_results_header_cleanup(struct rp_results_header *h)
{
    free(h->run_id);
    free(h->target);
    for (size_t i = 0; i < h->n_recordings; i++) {
        free(h->recordings[i]);
    }
    free(h->recordings);
    memset(h, 0, sizeof(*h));
}

/* The run's fields of the header's extra object x into h. */
static rp_code read_header(const cJSON *x, struct rp_results_header *h, struct rp_error *err)
{
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(x, "run");
    const cJSON *recs = cJSON_GetObjectItemCaseSensitive(x, "recordings");
    const cJSON *started = cJSON_GetObjectItemCaseSensitive(x, "started");
    const cJSON *shard = cJSON_GetObjectItemCaseSensitive(x, "shard");
    const cJSON *sessions = cJSON_GetObjectItemCaseSensitive(x, "sessions");
    if (run && !cJSON_IsString(run)) {
        return rp_error_set(err, RP_EFORMAT, "\"run\" is not a string");
    }
    h->run_id = rp_xstrdup(run ? run->valuestring : "");
    if (started &&
        (!cJSON_IsString(started) || !rp_time_parse(started->valuestring, &h->start_us))) {
        return rp_error_set(err, RP_EFORMAT, "\"started\" is not a time");
    }
    if (sessions && !json_count(sessions, 9007199254740992.0, &h->total_sessions)) {
        return rp_error_set(err, RP_EFORMAT, "\"sessions\" is not a count");
    }
    if (shard) {
        uint64_t i = 0, n = 0;
        if (!json_count(cJSON_GetObjectItemCaseSensitive(shard, "index"), RP_REPLAY_MAX_SHARDS,
                        &i) ||
            !json_count(cJSON_GetObjectItemCaseSensitive(shard, "count"), RP_REPLAY_MAX_SHARDS,
                        &n) ||
            n < 2 || i >= n) {
            return rp_error_set(err, RP_EFORMAT,
                                "\"shard\" is not {\"index\": I, \"count\": N}, 0 <= I < N "
                                "<= %u",
                                RP_REPLAY_MAX_SHARDS);
        }
        h->shard_index = (unsigned)i;
        h->shard_count = (unsigned)n;
    }
    if (recs && (!cJSON_IsArray(recs) || cJSON_GetArraySize(recs) > 100000)) {
        return rp_error_set(err, RP_EFORMAT, "\"recordings\" is not a list of paths");
    }
    const cJSON *j;
    cJSON_ArrayForEach(j, recs)
    {
        if (!cJSON_IsString(j)) {
            return rp_error_set(err, RP_EFORMAT, "\"recordings\" is not a list of paths");
        }
        h->recordings =
            rp_xreallocarray(h->recordings, h->n_recordings + 1, sizeof(*h->recordings));
        h->recordings[h->n_recordings++] = rp_xstrdup(j->valuestring);
    }
    return RP_OK;
}

rp_code rp_results_header_read(const char *path, struct rp_results_header *out,
                               struct rp_error *err)
{
    struct rp_reader_opts ropts = {0};
    struct rp_reader *r = NULL;
    rp_code rc = open_results(path, &ropts, &r, err);
    if (rc) {
        return rc;
    }
    const struct rp_rec_meta *m = rp_reader_meta(r);
    struct rp_results_header h;
    memset(&h, 0, sizeof(h));
    cJSON *x = m->extra ? cJSON_Parse(m->extra) : cJSON_CreateObject();
    if (!cJSON_IsObject(x)) {
        rc = rp_error_set(err, RP_EFORMAT, "the header's run is not a JSON object");
    } else {
        rc = read_header(x, &h, err);
    }
    if (!rc) {
        h.target = rp_xstrdup(m->source_detail ? m->source_detail : "");
        rp_results_header_cleanup(out);
        *out = h;
        memset(&h, 0, sizeof(h));
    } else {
        rp_error_prefix(err, "%s:1", path);
    }
    cJSON_Delete(x);
    rp_results_header_cleanup(&h);
    rp_reader_free(r);
    return rc;
}

/* ----- a results file as a latency baseline ------------------------------------------------ */

rp_code rp_results_baseline(const char *path, rp_log_fn log, void *log_ud, struct rp_baseline **out,
                            struct rp_error *err)
{
    struct rp_reader_opts ropts = {.log = log, .log_ud = log_ud};
    struct rp_reader *r = NULL;
    struct rp_baseline *b = rp_baseline_new();
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    struct rp_verdict v;
    rp_verdict_init(&v);

    rp_code rc = open_results(path, &ropts, &r, err);
    while (!rc) {
        bool got = false;
        rc = rp_reader_next(r, &ex, &got, err);
        if (rc || !got) {
            break;
        }
        rp_verdict_cleanup(&v);
        rp_verdict_init(&v);
        rc = rp_results_read_verdict(&ex, &v, err);
        /* The latencies the run's own p50 and p95 count: main steps that got a response. */
        bool answered = (v.outcome == RP_OUTCOME_PASS || v.outcome == RP_OUTCOME_FAIL) &&
                        ex.has_response && !v.teardown;
        if (!rc && answered) {
            rc = rp_baseline_add(b, v.session, v.recorded_seq, ex.duration_us, err);
        }
        if (rc) {
            rp_error_prefix(err, "%s:%llu", path, (unsigned long long)rp_reader_line(r));
        }
    }
    if (!rc) {
        /* A cut-short run's latencies are real, but only of the steps it ran: said, not refused. */
        size_t n = 0;
        const char *text = rp_reader_end_text(r, &n);
        struct rp_error end_err = {0};
        struct end_record end;
        if (parse_end(text, n, &end, &end_err) != RP_OK) {
            snprintf(end.why, sizeof(end.why), "%s", end_err.msg);
            end.finished = false;
        }
        if (log && !end.finished) {
            char msg[RP_ERROR_MSG_MAX];
            snprintf(msg, sizeof(msg),
                     "--baseline %s: that run did not finish (%.160s): only the steps it ran "
                     "have a baseline",
                     path, end.why);
            log(log_ud, RP_LOG_WARN, msg);
        }
        *out = b;
        b = NULL;
    }
    rp_verdict_cleanup(&v);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    rp_baseline_free(b);
    return rc;
}
