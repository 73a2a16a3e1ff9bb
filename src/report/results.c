/* SPDX-License-Identifier: MIT */
/*
 * The results sink: a recording (source kind "replay") of the live exchanges, each carrying a
 * "check" object with its session, recorded seq, outcome, mismatches and the shape it was
 * checked against, so that `reprise diff` can re-check a run offline. Also the reading of that
 * object back.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <reprise/limits.h>
#include <reprise/report.h>

#include "internal.h"

struct results {
    char *path;
    struct rp_writer *w; /* open between begin() and end() */
};

static const char *const outcome_names[] = {
    [RP_OUTCOME_PASS] = "pass",
    [RP_OUTCOME_FAIL] = "fail",
    [RP_OUTCOME_ERROR] = "error",
    [RP_OUTCOME_SKIPPED] = "skipped",
};
#define N_OUTCOMES (sizeof(outcome_names) / sizeof(outcome_names[0]))

/* ----- JSON helpers ------------------------------------------------------------------------ */

static RP_NORETURN void json_oom(void)
{
    fprintf(stderr, "reprise: out of memory building JSON\n");
    abort();
}

static void add(cJSON *obj, const char *key, cJSON *item)
{
    if (!item || !cJSON_AddItemToObject(obj, key, item)) {
        json_oom();
    }
}

static void push(cJSON *arr, cJSON *item)
{
    if (!item || !cJSON_AddItemToArray(arr, item)) {
        json_oom();
    }
}

/* A JSON string for s, with malformed UTF-8 replaced so the line stays valid JSON. */
static cJSON *json_str(const char *s)
{
    char *clean = rp__report_utf8_clean(s ? s : "");
    cJSON *j = cJSON_CreateString(clean);
    free(clean);
    return j;
}

static cJSON *new_object(void)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        json_oom();
    }
    return o;
}

static char *print(const cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (!s) {
        json_oom();
    }
    return s;
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

    cJSON *x = new_object();
    add(x, "run", json_str(run->run_id));
    cJSON *recs = cJSON_CreateArray();
    add(x, "recordings", recs);
    for (size_t i = 0; i < run->n_recordings; i++) {
        push(recs, json_str(run->recordings[i]));
    }
    rp_time_format(run->start_us, when);
    add(x, "started", cJSON_CreateString(when));
    char *text = print(x);
    meta.extra = rp_xstrdup(text);
    cJSON_free(text);
    cJSON_Delete(x);

    rp_code rc = rp_writer_open(r->path, &meta, NULL, &r->w, err);
    rp_rec_meta_cleanup(&meta);
    return rc;
}

/* Builds the "check" object for res. */
static rp_code check_json(const struct rp_check_result *res, cJSON **out, struct rp_error *err)
{
    cJSON *c = new_object();
    add(c, "session", json_str(res->session));
    add(c, "recorded_seq", cJSON_CreateNumber((double)res->recorded_seq));
    const char *outcome = (unsigned)res->outcome < N_OUTCOMES ? outcome_names[res->outcome] : NULL;
    if (!outcome) {
        cJSON_Delete(c);
        return rp_error_set(err, RP_EINTERNAL, "result for %s seq %" PRIu64 ": bad outcome %d",
                            res->session ? res->session : "-", res->recorded_seq,
                            (int)res->outcome);
    }
    add(c, "outcome", cJSON_CreateString(outcome));
    if (res->error) {
        add(c, "error", json_str(res->error));
    }
    cJSON *mm = cJSON_CreateArray();
    add(c, "mismatches", mm);
    for (size_t i = 0; res->mismatches && i < res->mismatches->n; i++) {
        cJSON *m = new_object();
        push(mm, m);
        add(m, "path", json_str(res->mismatches->v[i].path));
        add(m, "message", json_str(res->mismatches->v[i].message));
    }
    if (res->shape) {
        char *text = rp_shape_to_json(res->shape);
        cJSON *s = cJSON_Parse(text);
        free(text);
        if (!cJSON_IsObject(s)) {
            cJSON_Delete(s);
            cJSON_Delete(c);
            return rp_error_set(err, RP_EINTERNAL,
                                "result for %s seq %" PRIu64 ": the shape's JSON is not an object",
                                res->session ? res->session : "-", res->recorded_seq);
        }
        add(c, "shape", s);
    }
    *out = c;
    return RP_OK;
}

static rp_code results_result(void *ctx, const struct rp_check_result *res, struct rp_error *err)
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
    cJSON *root = res->live->extra ? cJSON_Parse(res->live->extra) : new_object();
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
    add(root, "check", check);
    check = NULL;
    text = print(root);

    /* A shallow copy: only extra differs, and it is ours; the rest stays borrowed. */
    struct rp_exchange ex = *res->live;
    ex.extra = text;
    rc = rp_writer_append(r->w, &ex, err);
out:
    cJSON_free(text);
    cJSON_Delete(check);
    cJSON_Delete(root);
    return rc;
}

static rp_code results_end(void *ctx, const struct rp_run_summary *sum, struct rp_error *err)
{
    (void)sum;
    struct results *r = ctx;
    rp_code rc = rp_writer_close(r->w, err);
    r->w = NULL;
    return rc;
}

static void results_free(void *ctx)
{
    struct results *r = ctx;
    if (!r) {
        return;
    }
    /* Without end() (a run cut short), still close the file: what was appended is kept. */
    rp_writer_close(r->w, NULL);
    free(r->path);
    free(r);
}

static const struct rp_sink_ops results_ops = {
    .begin = results_begin,
    .result = results_result,
    .end = results_end,
    .free = results_free,
};

void rp_sink_results(struct rp_sink *sink, const char *path)
{
    struct results *r = rp_xcalloc(1, sizeof(*r));
    r->path = rp_xstrdup(path);
    sink->ops = &results_ops;
    sink->ctx = r;
}

/* ----- reading a check back ---------------------------------------------------------------- */

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

rp_code rp_results_parse_check(const char *extra, char **out_session, uint64_t *out_recorded_seq,
                               enum rp_outcome *out_outcome, char **out_error,
                               struct rp_shape **out_shape, struct rp_mismatches *out_mismatches,
                               struct rp_error *err)
{
    rp_code rc = RP_EFORMAT;
    char *session = NULL, *error = NULL, *shape_text = NULL;
    struct rp_shape *shape = NULL;
    struct rp_mismatches list;
    rp_mismatches_init(&list);
    cJSON *root = extra ? cJSON_Parse(extra) : NULL;

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
    session = rp_xstrdup(j->valuestring);

    j = cJSON_GetObjectItemCaseSensitive(check, "recorded_seq");
    /* 2^53: the largest integer a JSON number carries exactly. */
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > 9007199254740992.0 ||
        j->valuedouble != (double)(uint64_t)j->valuedouble) {
        rp_error_set(err, RP_EFORMAT, "\"check.recorded_seq\" is not a non-negative integer");
        goto out;
    }
    uint64_t seq = (uint64_t)j->valuedouble;

    j = cJSON_GetObjectItemCaseSensitive(check, "outcome");
    size_t outcome = N_OUTCOMES;
    for (size_t i = 0; cJSON_IsString(j) && i < N_OUTCOMES; i++) {
        if (strcmp(j->valuestring, outcome_names[i]) == 0) {
            outcome = i;
        }
    }
    if (outcome == N_OUTCOMES) {
        rp_error_set(err, RP_EFORMAT,
                     "\"check.outcome\" is not one of \"pass\", \"fail\", \"error\", \"skipped\"");
        goto out;
    }

    j = cJSON_GetObjectItemCaseSensitive(check, "error");
    if (j && !cJSON_IsNull(j)) {
        if (!cJSON_IsString(j)) {
            rp_error_set(err, RP_EFORMAT, "\"check.error\" is not a string");
            goto out;
        }
        error = rp_xstrdup(j->valuestring);
    }

    rc = read_mismatches(cJSON_GetObjectItemCaseSensitive(check, "mismatches"), &list, err);
    if (rc) {
        goto out;
    }

    j = cJSON_GetObjectItemCaseSensitive(check, "shape");
    if (j && !cJSON_IsNull(j)) {
        if (!cJSON_IsObject(j)) {
            rc = rp_error_set(err, RP_EFORMAT, "\"check.shape\" is not an object");
            goto out;
        }
        shape_text = print(j);
        rc = rp_shape_from_json(shape_text, strlen(shape_text), &shape, err);
        if (rc) {
            rp_error_prefix(err, "\"check.shape\"");
            goto out;
        }
    }

    /* Success: hand everything over. */
    for (size_t i = 0; i < list.n; i++) {
        mismatch_push(out_mismatches, list.v[i].path, list.v[i].message);
    }
    free(list.v);
    rp_mismatches_init(&list);
    *out_session = session;
    session = NULL;
    *out_recorded_seq = seq;
    *out_outcome = (enum rp_outcome)outcome;
    *out_error = error;
    error = NULL;
    *out_shape = shape;
    shape = NULL;
    rc = RP_OK;
out:
    rp_shape_free(shape);
    cJSON_free(shape_text);
    rp_mismatches_cleanup(&list);
    free(error);
    free(session);
    cJSON_Delete(root);
    return rc;
}
