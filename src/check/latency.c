/* SPDX-License-Identifier: MIT */
/*
 * The latency accumulator: a log-scale histogram in integer arithmetic. Values under 64 us
 * have a bucket each; above, every power of two is split into 64 equal buckets, so a bucket
 * is at most 1/64 of its lower bound wide and its midpoint is within 0.8% of any value in it.
 * The 2048 buckets reach 2^37 us (38 hours); larger values land in the last bucket, and the
 * maximum is kept exactly beside them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SUB_BITS  6u
#define SUB_COUNT (1u << SUB_BITS) /* buckets per power of two, and exact buckets below it */
#define N_BUCKETS (sizeof(((struct rp_latency *)0)->counts) / sizeof(uint64_t))

/* Position of the highest set bit of v (v > 0). */
static unsigned top_bit(uint64_t v)
{
    unsigned b = 0;
    while (v >>= 1) {
        b++;
    }
    return b;
}

size_t rp__latency_bucket(uint64_t us)
{
    if (us < SUB_COUNT) {
        return (size_t)us;
    }
    unsigned e = top_bit(us); /* >= SUB_BITS */
    uint64_t sub = (us >> (e - SUB_BITS)) & (SUB_COUNT - 1);
    uint64_t i = SUB_COUNT + (uint64_t)(e - SUB_BITS) * SUB_COUNT + sub;
    return i < N_BUCKETS ? (size_t)i : N_BUCKETS - 1;
}

/* The value that stands for bucket i: its midpoint. */
uint64_t rp__latency_bucket_value(size_t i)
{
    if (i < SUB_COUNT) {
        return i;
    }
    unsigned shift = (unsigned)((i - SUB_COUNT) / SUB_COUNT);
    uint64_t sub = (i - SUB_COUNT) % SUB_COUNT;
    uint64_t low = (SUB_COUNT + sub) << shift;
    uint64_t width = (uint64_t)1 << shift;
    return low + (width - 1) / 2;
}

void rp_latency_init(struct rp_latency *l)
{
    memset(l, 0, sizeof(*l));
}

void rp_latency_add(struct rp_latency *l, uint64_t us)
{
    l->counts[rp__latency_bucket(us)]++;
    l->n++;
    if (us > l->max_us) {
        l->max_us = us;
    }
}

uint64_t rp_latency_quantile(const struct rp_latency *l, double q)
{
    if (l->n == 0) {
        return 0;
    }
    /* The rank of the q-quantile, 1-based: ceil(q * n), kept within 1..n. */
    uint64_t rank = 1;
    if (q >= 1.0) {
        rank = l->n;
    } else if (q > 0.0) {
        double qn = q * (double)l->n;
        rank = (uint64_t)qn;
        if ((double)rank < qn) {
            rank++;
        }
        if (rank < 1) {
            rank = 1;
        }
        if (rank > l->n) {
            rank = l->n;
        }
    }
    if (rank == l->n) {
        /* The largest value is known exactly. */
        return l->max_us;
    }
    uint64_t seen = 0;
    for (size_t i = 0; i < N_BUCKETS; i++) {
        seen += l->counts[i];
        if (seen >= rank) {
            uint64_t v = rp__latency_bucket_value(i);
            return v < l->max_us ? v : l->max_us;
        }
    }
    return l->max_us;
}

void rp_latency_merge(struct rp_latency *dst, const struct rp_latency *src)
{
    /* Same buckets on both sides, so adding the counts is adding the values. */
    for (size_t i = 0; i < N_BUCKETS; i++) {
        dst->counts[i] += src->counts[i];
    }
    dst->n += src->n;
    if (src->max_us > dst->max_us) {
        dst->max_us = src->max_us;
    }
}

/* ----- every value kept: exact percentiles (reprise merge) ------------------------------------ */

void rp_latency_exact_init(struct rp_latency_exact *l)
{
    memset(l, 0, sizeof(*l));
}

void rp_latency_exact_cleanup(struct rp_latency_exact *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}

void rp_latency_exact_add(struct rp_latency_exact *l, uint64_t us)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = rp_xreallocarray(l->v, l->cap, sizeof(*l->v));
    }
    l->v[l->n++] = us;
    l->sorted = false;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t rp_latency_exact_quantile(struct rp_latency_exact *l, double q)
{
    if (l->n == 0 || !(q > 0)) {
        return 0;
    }
    if (!l->sorted) {
        qsort(l->v, l->n, sizeof(*l->v), cmp_u64);
        l->sorted = true;
    }
    /* Nearest rank: the smallest value with at least q of the values at or below it. */
    double r = ceil(q * (double)l->n);
    size_t rank = r < 1 ? 1 : r > (double)l->n ? l->n : (size_t)r;
    return l->v[rank - 1];
}
