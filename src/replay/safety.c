/* SPDX-License-Identifier: MIT */
/*
 * The replay's safety nets, where correlation missed: a request is not sent when it would carry
 * a recorded server value — a correlated value its live source did not give, or an id no
 * earlier response gave (unsourced) in a write. Sending either acts, in the fresh tenant, on
 * an object that is someone else's. The step is reported UNSAFE and the session stops.
 */
#include <stdio.h>
#include <string.h>

#include "replay/internal.h"

void rp__replay_stop_unsafe(struct rp__replay_session *s, rp_code code, const char *msg)
{
    s->stopped = true;
    snprintf(s->stop_reason, sizeof(s->stop_reason),
             "not sent: the session stopped at exchange %llu (%s)", (unsigned long long)s->cur->seq,
             rp_code_str(code));
    rp__replay_emit(s, RP_REPLAY_UNSAFE, code, msg, 0);
}

/* Values are shown whole up to this many bytes, then cut with "...". */
#define SHOWN 40

static void shown(const char *v, char out[SHOWN + 4])
{
    size_t n = strlen(v);
    if (n <= SHOWN) {
        memcpy(out, v, n + 1);
        return;
    }
    memcpy(out, v, SHOWN);
    memcpy(out + SHOWN, "...", 4);
}

/* The message for the missing values of s->cur (missing of them). */
static void missing_message(struct rp__replay_session *s, size_t missing, char *msg, size_t msgsz)
{
    bool answered = false;
    const struct rp_correlation *k =
        rp_corr_session_missing(s->cs, rp__replay_seq(s), 0, &answered);
    char from[128], to[128], val[SHOWN + 4];
    rp_location_format(&k->from, from, sizeof(from));
    rp_location_format(&k->to, to, sizeof(to));
    shown(k->value, val);
    /* A source in the teardown is named by its own seq there. */
    uint64_t from_seq = k->from_seq;
    const char *which = "#";
    if (s->rec->td && from_seq >= s->rec->td_base) {
        from_seq -= s->rec->td_base;
        which = "teardown #";
    }
    char more[48] = "";
    if (missing > 1) {
        snprintf(more, sizeof(more), "; %zu more value%s missing", missing - 1,
                 missing == 2 ? "" : "s");
    }
    int n;
    if (answered) {
        n = snprintf(msg, msgsz,
                     "%s not in the live response of %s%llu: not sent (the recorded \"%s\" "
                     "stands at %s)%s",
                     from, which, (unsigned long long)from_seq, val, to, more);
    } else {
        n = snprintf(msg, msgsz,
                     "%s: %s%llu got no live response to take it from: not sent (the recorded "
                     "\"%s\" stands at %s)%s",
                     from, which, (unsigned long long)from_seq, val, to, more);
    }
    if (n < 0) {
        msg[0] = '\0'; /* a cut message is fine; a failed one says nothing */
    }
}

static void unsourced_message(const struct rp_unsourced *e, bool refused, char *msg, size_t msgsz)
{
    char where[160], val[SHOWN + 4];
    rp_location_format(&e->where, where, sizeof(where));
    shown(e->value, val);
    int n;
    if (refused) {
        n = snprintf(msg, msgsz,
                     "unsourced id \"%s\" at %s of a %s: no earlier response gave it; not sent "
                     "(--const %s if it is the same in every tenant, --allow-unsourced to send "
                     "it anyway)",
                     val, where, e->method, val);
    } else {
        n = snprintf(msg, msgsz,
                     "unsourced id \"%s\" at %s of a %s: no earlier response gave it; sent as "
                     "recorded",
                     val, where, e->method);
    }
    if (n < 0) {
        msg[0] = '\0';
    }
}

bool rp__replay_refuse(struct rp__replay_session *s, size_t missing)
{
    struct rp_replay *r = s->r;
    char msg[RP_ERROR_MSG_MAX];
    /* Nothing is answered in a dry run: every correlated value is missing, and says nothing. */
    bool answered = true;
    if (missing && !r->o.dry_run &&
        rp_corr_session_missing(s->cs, rp__replay_seq(s), 0, &answered)) {
        missing_message(s, missing, msg, sizeof(msg));
        if (r->o.read_only && !answered) {
            /* Its source was a write --read-only kept back (or a step skipped after one): the
             * step is SKIPPED as well, and the session's other reads go on. */
            char why[RP_ERROR_MSG_MAX];
            snprintf(why, sizeof(why), "not sent (--read-only): %.200s", msg);
            rp__replay_emit(s, RP_REPLAY_SKIPPED, RP_OK, why, 0);
            return true;
        }
        rp__replay_stop_unsafe(s, RP_EMISSING, msg);
        return true;
    }
    const struct rp_unsourced_finder *u = s->rec->unsourced;
    if (!u || r->o.allow_unsourced) {
        return false;
    }
    for (size_t i = rp_unsourced_first(u, rp__replay_seq(s)); i < rp_unsourced_count(u); i++) {
        const struct rp_unsourced *e = rp_unsourced_get(u, i);
        if (e->seq != rp__replay_seq(s)) {
            break;
        }
        if (!e->write) {
            continue;
        }
        unsourced_message(e, true, msg, sizeof(msg));
        if (r->o.dry_run) {
            rp__replay_log(r, RP_LOG_WARN, "%s: exchange %llu: %s", s->name,
                           (unsigned long long)e->seq, msg);
            return false;
        }
        rp__replay_stop_unsafe(s, RP_EUNSAFE, msg);
        return true;
    }
    return false;
}

void rp__replay_warn_unsourced(struct rp_replay *r, const struct rp__replay_rec *rec)
{
    const struct rp_unsourced_finder *u = rec->unsourced;
    if (!u) {
        return;
    }
    char msg[RP_ERROR_MSG_MAX];
    for (size_t i = 0; i < rp_unsourced_count(u); i++) {
        const struct rp_unsourced *e = rp_unsourced_get(u, i);
        if (e->write && !r->o.allow_unsourced) {
            continue; /* refused when its turn comes, in each session */
        }
        unsourced_message(e, false, msg, sizeof(msg));
        /* The teardown's are named in its own file, by its own seqs. */
        bool td = rec->td && e->seq >= rec->td_base;
        rp__replay_log(r, RP_LOG_WARN, "%s: exchange %llu: %s%s", td ? rec->td->path : rec->path,
                       (unsigned long long)(td ? e->seq - rec->td_base : e->seq), msg,
                       e->write ? " (--allow-unsourced)" : "");
    }
    uint64_t sat = rp_unsourced_finder_saturated(u);
    if (sat) {
        rp__replay_log(r, RP_LOG_WARN,
                       "%s: exchange %llu: too many values to follow; unsourced ids are not "
                       "looked for from here on",
                       rec->path, (unsigned long long)sat);
    }
}
