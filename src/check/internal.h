/* SPDX-License-Identifier: MIT */
/*
 * Declarations shared by the files of the check module: the ops table every check fills in,
 * what a check is given for one exchange, and the table of registered checks.
 */
#ifndef REPRISE_CHECK_INTERNAL_H
#define REPRISE_CHECK_INTERNAL_H

#include <reprise/check.h>

/* One exchange as a check sees it; everything borrowed for the call. */
struct rp__check_input {
    const char *recording;              /* its recording's path; NULL offline */
    const struct rp_exchange *recorded; /* NULL offline (a results file has no recording) */
    const struct rp_exchange *live;     /* always with a response */
    uint64_t recorded_seq;
    bool want_shape; /* a sink needs verdict->shape even when nothing changed */
};

/*
 * A check. begin() sets up its context from the checker's options (load files, compile
 * rules); exchange() looks at one exchange, appends its mismatches to v->mismatches, may set
 * v->shape (and v->own_shape), and stores its own outcome in *out: PASS, FAIL (it added at
 * least one mismatch) or SKIPPED (it does not apply). An error code stops the run. A check
 * with no state leaves begin and free NULL. observe(), when set, is given each recorded exchange
 * the replay's pre-pass reads, with the correlations learned so far (rp_checker_observe).
 */
struct rp__check_ops {
    const char *name;
    rp_code (*begin)(const struct rp_checker_opts *opts, void **out_ctx, struct rp_error *err);
    void (*observe)(void *ctx, const char *recording, const struct rp_exchange *ex,
                    const struct rp_correlator *corr, size_t first);
    rp_code (*exchange)(void *ctx, const struct rp__check_input *in, struct rp_verdict *v,
                        enum rp_outcome *out, struct rp_error *err);
    void (*free)(void *ctx);
    void (*session_end)(void *ctx, const char *session); /* may be NULL: drop its state */
};

/* The latency histogram's buckets (latency.c), shared with the baseline's sparse ones: the
 * bucket a value falls in, and the value that stands for a bucket (its midpoint). */
size_t rp__latency_bucket(uint64_t us);
uint64_t rp__latency_bucket_value(size_t i);

/* The registered checks, in the order they run, ending with NULL (checks.c). */
extern const struct rp__check_ops *const rp__checks[];

#endif /* REPRISE_CHECK_INTERNAL_H */
