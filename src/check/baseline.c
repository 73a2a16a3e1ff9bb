/* SPDX-License-Identifier: MIT */
/*
 * A latency baseline: an earlier run's latencies per step (a recording's name and a recorded
 * seq), for the latency check's `--baseline`. Each step keeps a sparse histogram, the
 * non-empty buckets of rp_latency's log-scale ones in bucket order, so a step whose sessions
 * took about the same time holds a handful of buckets however many sessions the run had, and
 * its median is within 1%. Steps are found through an open-addressing hash table.
 */
#include <stdlib.h>
#include <string.h>

#include <reprise/limits.h>

#include "internal.h"

struct bin {
    uint32_t bucket;
    uint64_t count;
};

struct step {
    char *name; /* the recording's name; NULL: an empty slot */
    size_t name_len;
    uint64_t seq;
    uint64_t n;       /* values added */
    struct bin *bins; /* sorted by bucket */
    size_t n_bins, cap_bins;
};

struct rp_baseline {
    struct step *slots; /* cap_slots of them, a power of two */
    size_t cap_slots, n_steps;
    struct rp_latency all; /* every value, for the run-level p95 */
};

/* The recording's name in a session name "NAME#N": the part before the last '#'. */
static size_t name_len_of(const char *session)
{
    const char *hash = strrchr(session, '#');
    return hash ? (size_t)(hash - session) : strlen(session);
}

/* FNV-1a over the name, then the seq's bytes. */
static uint64_t hash_step(const char *name, size_t len, uint64_t seq)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)name[i]) * UINT64_C(1099511628211);
    }
    for (unsigned i = 0; i < 8; i++) {
        h = (h ^ ((seq >> (8 * i)) & 0xFF)) * UINT64_C(1099511628211);
    }
    return h;
}

/* The slot holding the step, or the empty slot where it would go. */
static struct step *slot_for(struct step *slots, size_t cap, const char *name, size_t len,
                             uint64_t seq)
{
    size_t i = (size_t)hash_step(name, len, seq) & (cap - 1);
    for (;;) {
        struct step *s = &slots[i];
        if (!s->name || (s->seq == seq && s->name_len == len && memcmp(s->name, name, len) == 0)) {
            return s;
        }
        i = (i + 1) & (cap - 1);
    }
}

/* Doubles the table (or makes its first 64 slots), moving every step. */
static void grow(struct rp_baseline *b)
{
    size_t cap = b->cap_slots ? b->cap_slots * 2 : 64;
    struct step *slots = rp_xcalloc(cap, sizeof(*slots));
    for (size_t i = 0; i < b->cap_slots; i++) {
        struct step *s = &b->slots[i];
        if (s->name) {
            *slot_for(slots, cap, s->name, s->name_len, s->seq) = *s;
        }
    }
    free(b->slots);
    b->slots = slots;
    b->cap_slots = cap;
}

struct rp_baseline *rp_baseline_new(void)
{
    struct rp_baseline *b = rp_xcalloc(1, sizeof(*b));
    rp_latency_init(&b->all);
    return b;
}

void rp_baseline_free(struct rp_baseline *b)
{
    if (!b) {
        return;
    }
    for (size_t i = 0; i < b->cap_slots; i++) {
        free(b->slots[i].name);
        free(b->slots[i].bins);
    }
    free(b->slots);
    free(b);
}

/* Counts one value in bucket k of the step's sparse histogram. */
static void bin_add(struct step *s, uint32_t k)
{
    size_t lo = 0, hi = s->n_bins;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->bins[mid].bucket < k) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < s->n_bins && s->bins[lo].bucket == k) {
        s->bins[lo].count++;
        return;
    }
    if (s->n_bins == s->cap_bins) {
        s->cap_bins = s->cap_bins ? s->cap_bins * 2 : 4;
        s->bins = rp_xreallocarray(s->bins, s->cap_bins, sizeof(*s->bins));
    }
    memmove(&s->bins[lo + 1], &s->bins[lo], (s->n_bins - lo) * sizeof(*s->bins));
    s->bins[lo].bucket = k;
    s->bins[lo].count = 1;
    s->n_bins++;
}

rp_code rp_baseline_add(struct rp_baseline *b, const char *session, uint64_t seq, uint64_t us,
                        struct rp_error *err)
{
    size_t len = name_len_of(session);
    struct step *s = b->cap_slots ? slot_for(b->slots, b->cap_slots, session, len, seq) : NULL;
    if (!s || !s->name) {
        if (b->n_steps >= RP_MAX_BASELINE_STEPS) {
            return rp_error_set(err, RP_ETOOBIG, "the baseline has more than %u steps",
                                RP_MAX_BASELINE_STEPS);
        }
        /* Kept under 3/4 full, so probing stays short and always finds an empty slot. */
        if ((b->n_steps + 1) * 4 > b->cap_slots * 3) {
            grow(b);
        }
        s = slot_for(b->slots, b->cap_slots, session, len, seq);
        s->name = rp_xstrndup(session, len);
        s->name_len = len;
        s->seq = seq;
        b->n_steps++;
    }
    bin_add(s, (uint32_t)rp__latency_bucket(us));
    s->n++;
    rp_latency_add(&b->all, us);
    return RP_OK;
}

bool rp_baseline_median(const struct rp_baseline *b, const char *session, uint64_t seq,
                        uint64_t *out_us)
{
    if (!b || !b->cap_slots) {
        return false;
    }
    const struct step *s = slot_for(b->slots, b->cap_slots, session, name_len_of(session), seq);
    if (!s->name || s->n == 0) {
        return false;
    }
    /* The lower median, rank ceil(n / 2), as rp_latency_quantile(0.5) takes it. */
    uint64_t rank = (s->n + 1) / 2, seen = 0;
    for (size_t i = 0; i < s->n_bins; i++) {
        seen += s->bins[i].count;
        if (seen >= rank) {
            *out_us = rp__latency_bucket_value(s->bins[i].bucket);
            return true;
        }
    }
    return false; /* not reached: the counts add up to n */
}

uint64_t rp_baseline_p95(const struct rp_baseline *b)
{
    return b ? rp_latency_quantile(&b->all, 0.95) : 0;
}
