/* SPDX-License-Identifier: MIT */
/*
 * The latency check (latency budgets): each step's live latency against a reference, the
 * baseline's median for the step (--baseline) when there is one, else the step's recorded
 * latency. A step slower than the budget (rp_latency_slow) is marked slow: a warning, the
 * verdict still passes, or with fail_on_slow a "slow" mismatch that fails it. Teardown steps
 * and steps with no reference (a HAR without timings, no baseline) are not judged.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

struct budget {
    double factor;
    uint64_t floor_us;
    const struct rp_baseline *baseline; /* borrowed; NULL: none */
    bool fail_on_slow;
};

bool rp_latency_slow(uint64_t live_us, uint64_t ref_us, double factor, uint64_t floor_us)
{
    if (ref_us == 0 || !(factor > 0.0) || live_us <= ref_us) {
        return false;
    }
    return live_us - ref_us >= floor_us && (double)live_us > factor * (double)ref_us;
}

/* Writes us as milliseconds: two decimals under 1 ms ("0.04 ms"), one under 10 ms ("1.8 ms"),
 * whole above ("840 ms"). */
static void put_ms(char *buf, size_t size, size_t *at, uint64_t us)
{
    if (*at >= size) {
        return;
    }
    int n;
    if (us < 995) {
        uint64_t hundredths = (us + 5) / 10;
        n = snprintf(buf + *at, size - *at, "0.%02" PRIu64 " ms", hundredths);
    } else if (us < 9950) {
        uint64_t tenths = (us + 50) / 100;
        n = snprintf(buf + *at, size - *at, "%" PRIu64 ".%" PRIu64 " ms", tenths / 10, tenths % 10);
    } else {
        n = snprintf(buf + *at, size - *at, "%" PRIu64 " ms", (us + 500) / 1000);
    }
    *at += n > 0 ? (size_t)n : 0;
}

/* Appends s; a note cut short at the end of buf is still NUL-terminated. */
static void put_str(char *buf, size_t size, size_t *at, const char *s)
{
    if (*at >= size) {
        return;
    }
    int n = snprintf(buf + *at, size - *at, "%s", s);
    *at += n > 0 ? (size_t)n : 0;
}

const char *rp_verdict_slow_text(const struct rp_verdict *v, char *buf, size_t size)
{
    if (size == 0) {
        return buf;
    }
    buf[0] = '\0';
    size_t at = 0;
    uint64_t live_us = v->live ? v->live->duration_us : 0;
    put_ms(buf, size, &at, live_us);
    if (v->recorded_us) {
        put_str(buf, size, &at, ", recorded ");
        put_ms(buf, size, &at, v->recorded_us);
    }
    if (v->baseline_us) {
        put_str(buf, size, &at, ", baseline ");
        put_ms(buf, size, &at, v->baseline_us);
    }
    uint64_t ref = v->baseline_us ? v->baseline_us : v->recorded_us;
    if (ref && at < size) {
        /* One decimal, rounded, in integers: tenths of the ratio. */
        double tenths = (double)live_us * 10.0 / (double)ref + 0.5;
        uint64_t t = tenths < 1e15 ? (uint64_t)tenths : UINT64_C(1000000000000000);
        int n = snprintf(buf + at, size - at, " (\xC3\x97%" PRIu64 ".%" PRIu64 ")", t / 10, t % 10);
        at += n > 0 ? (size_t)n : 0;
    }
    return buf;
}

static rp_code budget_begin(const struct rp_checker_opts *o, void **out_ctx, struct rp_error *err)
{
    (void)err;
    struct budget *b = rp_xcalloc(1, sizeof(*b));
    b->factor = o->slow_factor;
    b->floor_us = o->slow_floor_us;
    b->baseline = o->baseline;
    b->fail_on_slow = o->fail_on_slow;
    *out_ctx = b;
    return RP_OK;
}

static rp_code budget_exchange(void *ctx, const struct rp__check_input *in, struct rp_verdict *v,
                               enum rp_outcome *out, struct rp_error *err)
{
    (void)err;
    const struct budget *b = ctx;
    /* Live, the recorded figures are taken for the results file even when the check is off,
     * so that a later `reprise diff` can judge the run. Offline, v holds what the file kept. */
    if (in->recorded) {
        v->recorded_us = in->recorded->duration_us;
        v->baseline_us = 0;
    }
    if (b->baseline) {
        uint64_t median = 0;
        v->baseline_us =
            rp_baseline_median(b->baseline, v->session ? v->session : "", in->recorded_seq, &median)
                ? median
                : 0;
    }
    v->slow = false;
    uint64_t ref = v->baseline_us ? v->baseline_us : v->recorded_us;
    if (!(b->factor > 0.0) || v->teardown || ref == 0) {
        *out = RP_OUTCOME_SKIPPED;
        return RP_OK;
    }
    v->slow = rp_latency_slow(in->live->duration_us, ref, b->factor, b->floor_us);
    *out = RP_OUTCOME_PASS;
    if (v->slow && b->fail_on_slow) {
        char note[160];
        rp_mismatches_add(&v->mismatches, "slow", "%s",
                          rp_verdict_slow_text(v, note, sizeof(note)));
        *out = RP_OUTCOME_FAIL;
    }
    return RP_OK;
}

const struct rp__check_ops rp__check_latency = {
    .name = "latency",
    .begin = budget_begin,
    .exchange = budget_exchange,
    .free = free,
};
