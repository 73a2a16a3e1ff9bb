/* SPDX-License-Identifier: MIT */
/*
 * One step of a results file, for triage (`reprise diff --step N`) and for sending it again
 * (`reprise replay --step N --from RESULTS`): the step's live exchange and verdict, the earlier
 * steps of its session (their responses hold the live values it carried), the recording it came
 * from, and the recorded exchange.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <reprise/limits.h>
#include <reprise/report.h>

#include "../url_int.h"
#include "internal.h"

/* The most earlier steps of a session kept for a step (a session longer than that is kept
 * from its start up to it). */
#define MAX_BEFORE 100000u

void rp_results_step_init(struct rp_results_step *st)
{
    memset(st, 0, sizeof(*st));
    rp_exchange_init(&st->live);
    rp_exchange_init(&st->recorded);
    rp_verdict_init(&st->v);
}

void rp_results_step_cleanup(struct rp_results_step *st)
{
    rp_verdict_cleanup(&st->v);
    rp_exchange_cleanup(&st->live);
    rp_exchange_cleanup(&st->recorded);
    for (size_t i = 0; i < st->n_before; i++) {
        rp_exchange_cleanup(&st->before[i]);
    }
    free(st->before);
    free(st->recording);
    memset(st, 0, sizeof(*st));
}

static bool failed(enum rp_outcome o)
{
    return o == RP_OUTCOME_FAIL || o == RP_OUTCOME_UNSAFE || o == RP_OUTCOME_ERROR;
}

/*
 * One pass over the results file. Without *session: finds the session of step seq (the first
 * whose step failed, else the first that has it) into *session (new memory). With it: keeps that
 * session's step and earlier main steps in st.
 */
static rp_code pass(const char *path, uint64_t seq, char **session, struct rp_results_step *st,
                    char **out_recs, struct rp_error *err)
{
    struct rp_reader_opts ropts = {0};
    struct rp_reader *r = NULL;
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    struct rp_verdict v;
    rp_verdict_init(&v);
    char *first = NULL;
    bool found = false;
    rp_code rc = rp_reader_open(path, &ropts, &r, err);
    if (rc) {
        goto out;
    }
    const struct rp_rec_meta *m = rp_reader_meta(r);
    if (!m->source_kind || strcmp(m->source_kind, "replay") != 0) {
        rc = rp_error_set(err, RP_EFORMAT,
                          "%s:1: not a results file (write one with 'reprise "
                          "replay --results')",
                          path);
        goto out;
    }
    if (out_recs && m->extra) {
        *out_recs = rp_xstrdup(m->extra);
    }
    while (!found) {
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
        if (v.teardown) {
            continue;
        }
        if (!*session) {
            if (v.recorded_seq == seq && (failed(v.outcome) || !first)) {
                free(first);
                first = rp_xstrdup(v.session);
                found = failed(v.outcome);
            }
            continue;
        }
        if (strcmp(v.session, *session) != 0) {
            continue;
        }
        if (v.recorded_seq == seq) {
            /* The verdict's live points at ex, which is kept as st->live. */
            rp_exchange_cleanup(&st->live);
            st->live = ex;
            rp_exchange_init(&ex);
            v.live = &st->live;
            st->v = v;
            rp_verdict_init(&v);
            found = true;
        } else if (v.recorded_seq < seq && ex.has_response && st->n_before < MAX_BEFORE) {
            st->before = rp_xreallocarray(st->before, st->n_before + 1, sizeof(*st->before));
            ex.seq = v.recorded_seq; /* as the recording numbers it */
            st->before[st->n_before++] = ex;
            rp_exchange_init(&ex);
        }
    }
    if (!rc && !*session) {
        if (!first) {
            rc = rp_error_set(err, RP_EUSAGE, "%s: no step %" PRIu64 " in any session", path, seq);
        } else {
            *session = first;
            first = NULL;
        }
    } else if (!rc && !found) {
        rc = rp_error_set(err, RP_EUSAGE, "%s: session %s has no step %" PRIu64, path, *session,
                          seq);
    }
out:
    free(first);
    rp_verdict_cleanup(&v);
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    return rc;
}

/* The recording named NAME (the session's "NAME#N" without "#N") among the results header's
 * "recordings" (recs: the header's extra keys), or NULL; new memory. */
static char *recording_of(const char *recs, const char *session)
{
    cJSON *x = recs ? cJSON_Parse(recs) : NULL;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(x, "recordings");
    const char *hash = strrchr(session, '#');
    size_t n = hash ? (size_t)(hash - session) : strlen(session);
    char *found = NULL;
    const cJSON *j;
    cJSON_ArrayForEach(j, list)
    {
        if (found || !cJSON_IsString(j)) {
            continue;
        }
        struct rp_reader_opts ropts = {0};
        struct rp_reader *r = NULL;
        if (rp_reader_open(j->valuestring, &ropts, &r, NULL) == RP_OK) {
            const char *name = rp_reader_meta(r)->name;
            if (name && strlen(name) == n && memcmp(name, session, n) == 0) {
                found = rp_xstrdup(j->valuestring);
            }
        }
        rp_reader_free(r);
    }
    cJSON_Delete(x);
    return found;
}

/* Reads recorded exchange seq of the recording at path into *out; false when it cannot. */
bool rp__report_read_recorded(const char *path, uint64_t seq, struct rp_exchange *out)
{
    struct rp_reader_opts ropts = {0};
    struct rp_reader *r = NULL;
    bool found = false;
    if (rp_reader_open(path, &ropts, &r, NULL) != RP_OK) {
        return false;
    }
    while (!found) {
        bool got = false;
        if (rp_reader_next(r, out, &got, NULL) != RP_OK || !got) {
            break;
        }
        found = out->seq == seq;
    }
    rp_reader_free(r);
    return found;
}

rp_code rp_results_step(const char *path, uint64_t seq, const char *session,
                        struct rp_results_step *out, struct rp_error *err)
{
    char *chosen = session ? rp_xstrdup(session) : NULL;
    char *recs = NULL;
    struct rp_results_step st;
    rp_results_step_init(&st);
    rp_code rc = RP_OK;
    if (!chosen) {
        rc = pass(path, seq, &chosen, NULL, NULL, err);
    }
    if (!rc) {
        rc = pass(path, seq, &chosen, &st, &recs, err);
    }
    if (!rc) {
        st.recording = recording_of(recs, chosen);
        st.has_recorded = st.recording && rp__report_read_recorded(st.recording, seq, &st.recorded);
        rp_results_step_cleanup(out);
        *out = st;
        rp_results_step_init(&st);
        /* The verdict's live pointed at st's copy, which moved into out. */
        out->v.live = &out->live;
    }
    rp_results_step_cleanup(&st);
    free(recs);
    free(chosen);
    return rc;
}

char *rp_results_step_cookies(const struct rp_results_step *st)
{
    struct rp_buf b;
    rp_buf_init(&b, RP_MAX_HEADER_BYTES);
    /* Each cookie the session was given, its last value (a placeholder: the file is scrubbed).
     * Later values of a name replace earlier ones by being looked for from the end. */
    for (size_t i = st->n_before; i-- > 0;) {
        const struct rp_headers *h = &st->before[i].resp.headers;
        size_t at = 0;
        const struct rp_header *sc;
        while ((sc = rp_headers_get(h, "Set-Cookie", &at)) != NULL) {
            size_t pos = 0;
            struct rp__pair p;
            if (!rp__cookie_next(sc->value, sc->value_len, &pos, &p) || p.name_len == 0) {
                continue;
            }
            /* Already given by a later response? */
            bool seen = false;
            size_t q = 0;
            struct rp__pair e;
            while (!seen && rp__cookie_next(b.data ? b.data : "", b.len, &q, &e)) {
                seen = e.name_len == p.name_len &&
                       memcmp(b.data + e.name_off, sc->value + p.name_off, p.name_len) == 0;
            }
            if (seen) {
                continue;
            }
            rp_code rc = b.len ? rp_buf_add(&b, "; ", 2, NULL) : RP_OK;
            if (!rc) {
                rc = rp_buf_add(&b, sc->value + p.name_off, p.value_off + p.value_len - p.name_off,
                                NULL);
            }
            if (rc) {
                break; /* past the header cap: the cookies that fit */
            }
        }
    }
    if (b.len == 0) {
        rp_buf_cleanup(&b);
        return NULL;
    }
    return rp_buf_take(&b, NULL);
}
