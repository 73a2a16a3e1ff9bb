/* SPDX-License-Identifier: MIT */
/*
 * Record-time variables in the replay (reprise/vars.h): the prepass checks that each one used
 * is declared first; a session takes each one's live value from the response of the exchange
 * that declares it, and fills it into the copy of a request that goes on the wire (reports keep
 * the placeholder, as they keep secrets'). A variable with no live value stops the session:
 * sending the recorded value instead is what must never happen, and the recording has none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/redact.h>

#include "replay/internal.h"

/* Stops rp_vars_each at the first placeholder. */
static int any(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return 1;
}

rp_code rp__replay_vars_prepass(struct rp__replay_rec *rec, const struct rp_exchange *ex,
                                struct rp_error *err)
{
    if (!rec->vars) {
        if (ex->n_vars == 0 && !rp_vars_each(&ex->req, any, NULL)) {
            return RP_OK; /* nothing declared or used yet: no table */
        }
        rec->vars = rp_var_table_new();
    }
    rp_code rc = rp_var_table_check(rec->vars, &ex->req, false, err);
    if (!rc) {
        rc = rp_var_table_observe(rec->vars, ex, NULL, err);
    }
    return rc;
}

/* The session's table, made from the recording's declarations when first needed. */
static struct rp_var_table *table(struct rp__replay_session *s)
{
    if (!s->vt) {
        s->vt = rp_var_table_copy(s->rec->vars);
    }
    return s->vt;
}

void rp__replay_vars_observe(struct rp__replay_session *s, const struct rp_response *live)
{
    if (s->cur->n_vars == 0) {
        return;
    }
    /* The places were checked by the prepass: this cannot fail. */
    rp_ignore(rp_var_table_observe(table(s), s->cur, live, NULL));
}

rp_code rp__replay_vars_fill(struct rp__replay_session *s, struct rp_request *req,
                             struct rp_error *err)
{
    struct rp_var_table *t = table(s);
    struct rp_error why = {0};
    rp_code rc = rp_var_table_check(t, req, true, &why);
    if (rc == RP_EMISSING && s->r->o.read_only) {
        /* The step that gives it was most likely a write --read-only kept back (a log-in). */
        char msg[RP_ERROR_MSG_MAX];
        snprintf(msg, sizeof(msg), "not sent (--read-only): %.200s", why.msg);
        rp__replay_emit(s, RP_REPLAY_SKIPPED, RP_OK, msg, 0);
        return rc;
    }
    if (rc == RP_EMISSING) {
        /* Sending without it would send the recorded credential, or none: refused as a
         * correlated value missing live is. */
        rp__replay_stop_unsafe(s, rc, why.msg);
        return rc;
    }
    if (rc) {
        if (err) {
            *err = why;
        }
        return rc;
    }
    return rp_vars_fill(req, rp_var_table_value, t, err);
}
