/* SPDX-License-Identifier: MIT */
/*
 * TCP reassembly: a table of flows (one per connection, both directions), each direction
 * turning segments into the byte stream in order. Sequence numbers compare modulo 2^32, so
 * streams wrapping past 2^32 read on. Segments ahead of the stream are held (bounded per flow
 * and in total); bytes already delivered are dropped when seen again (the first copy wins).
 * A hole that will not fill (the flow ended, or too much is held) is skipped and reported to
 * the pairing layer as a gap. A direction whose SYN was not seen is held until its SYN comes,
 * it has waited RP_CAPTURE_SYNC_WAIT_US, too much is held, or the flow ends, and then read from
 * its lowest sequence number: that way a capture that joined a connection late, or a file whose
 * packets are shuffled, still reads in order.
 */
#include <stdlib.h>
#include <string.h>

#include "capture/internal.h"

/* Hash buckets of the flow table (a power of two, above RP_CAPTURE_MAX_FLOWS). */
#define NBUCKETS 8192u

struct rp__tcp {
    struct rp__capture_ctx *cx;
    const struct rp__stream_ops *ops; /* where the bytes go (pairing) */
    struct rp__flow *buckets[NBUCKETS];
    struct rp__flow *lru_head, *lru_tail; /* least recently used first */
    size_t nflows;
    size_t held_total;
};

/* a - b in sequence space: negative when a comes before b. */
static int32_t seqdiff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

static size_t addr_len(int family)
{
    return family == 4 ? 4 : 16;
}

static uint32_t hash_end(uint32_t h, const unsigned char *addr, size_t n, uint16_t port)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ addr[i]) * 16777619u;
    }
    h = (h ^ (port & 0xffu)) * 16777619u;
    return (h ^ (port >> 8)) * 16777619u;
}

/* The same value for both directions: the two ends are hashed separately and added. */
static size_t bucket_of(int family, const unsigned char *a, uint16_t ap, const unsigned char *b,
                        uint16_t bp)
{
    size_t n = addr_len(family);
    uint32_t h = hash_end(2166136261u, a, n, ap) + hash_end(2166136261u, b, n, bp);
    return (h ^ (h >> 13)) & (NBUCKETS - 1);
}

static bool same_end(const struct rp__half *h, const unsigned char *addr, uint16_t port, size_t n)
{
    return h->port == port && memcmp(h->addr, addr, n) == 0;
}

static struct rp__flow *lookup(struct rp__tcp *t, const struct rp__segment *s, int *out_d)
{
    size_t n = addr_len(s->family);
    size_t b = bucket_of(s->family, s->src, s->sport, s->dst, s->dport);
    for (struct rp__flow *f = t->buckets[b]; f; f = f->hnext) {
        if (f->family != s->family) {
            continue;
        }
        if (same_end(&f->h[0], s->src, s->sport, n) && same_end(&f->h[1], s->dst, s->dport, n)) {
            *out_d = 0;
            return f;
        }
        if (same_end(&f->h[1], s->src, s->sport, n) && same_end(&f->h[0], s->dst, s->dport, n)) {
            *out_d = 1;
            return f;
        }
    }
    return NULL;
}

static void lru_unlink(struct rp__tcp *t, struct rp__flow *f)
{
    if (f->lru_prev) {
        f->lru_prev->lru_next = f->lru_next;
    } else {
        t->lru_head = f->lru_next;
    }
    if (f->lru_next) {
        f->lru_next->lru_prev = f->lru_prev;
    } else {
        t->lru_tail = f->lru_prev;
    }
    f->lru_prev = f->lru_next = NULL;
}

static void lru_append(struct rp__tcp *t, struct rp__flow *f)
{
    f->lru_prev = t->lru_tail;
    f->lru_next = NULL;
    if (t->lru_tail) {
        t->lru_tail->lru_next = f;
    } else {
        t->lru_head = f;
    }
    t->lru_tail = f;
}

/* ----- one direction ---------------------------------------------------------------------- */

static void free_held(struct rp__tcp *t, struct rp__half *h)
{
    while (h->held) {
        struct rp__held *x = h->held;
        h->held = x->next;
        t->held_total -= x->len;
        free(x);
    }
    h->held_bytes = 0;
}

static void deliver(struct rp__tcp *t, struct rp__flow *f, int d, const unsigned char *data,
                    size_t len, int64_t ts)
{
    struct rp__half *h = &f->h[d];
    h->next += (uint32_t)len;
    if (!f->ended && len) {
        t->ops->data(t->cx, f, d, data, len, ts);
    }
}

/* Delivers held segments that the stream has reached, trimming what was already delivered. */
static void drain(struct rp__tcp *t, struct rp__flow *f, int d)
{
    struct rp__half *h = &f->h[d];
    while (h->held && seqdiff(h->held->seq, h->next) <= 0) {
        struct rp__held *x = h->held;
        h->held = x->next;
        h->held_bytes -= x->len;
        t->held_total -= x->len;
        int32_t behind = seqdiff(h->next, x->seq);
        if ((size_t)behind < x->len) {
            deliver(t, f, d, x->data + behind, x->len - (size_t)behind, x->ts_us);
            t->cx->stats.retransmitted += (uint64_t)behind;
        } else {
            t->cx->stats.retransmitted += x->len;
        }
        free(x);
    }
}

/* Holds a segment in sequence order. A segment starting where a held one starts, and no
 * longer, is a retransmission: the first copy stays. */
static void hold(struct rp__tcp *t, struct rp__half *h, uint32_t seq, const unsigned char *data,
                 size_t len, int64_t ts)
{
    struct rp__held **pp = &h->held;
    while (*pp && seqdiff((*pp)->seq, seq) < 0) {
        pp = &(*pp)->next;
    }
    if (*pp && (*pp)->seq == seq && (*pp)->len >= len) {
        t->cx->stats.retransmitted += len;
        return;
    }
    struct rp__held *x = rp_xmalloc(sizeof(*x) + len);
    x->seq = seq;
    x->len = len;
    x->ts_us = ts;
    memcpy(x->data, data, len);
    x->next = *pp;
    *pp = x;
    if (!h->held_bytes) {
        h->held_since = ts;
    }
    h->held_bytes += len;
    t->held_total += len;
}

/* Starts reading a direction whose SYN was not seen at its lowest held byte. */
static void sync_now(struct rp__tcp *t, struct rp__flow *f, int d)
{
    struct rp__half *h = &f->h[d];
    if (h->synced || !h->held) {
        return;
    }
    h->synced = true;
    h->next = h->held->seq;
    drain(t, f, d);
}

/* Gives up the hole before the first held segment: the pairing layer hears of a gap. */
static void skip_hole(struct rp__tcp *t, struct rp__flow *f, int d, int64_t ts)
{
    struct rp__half *h = &f->h[d];
    if (!h->held) {
        return;
    }
    uint32_t n = h->held->seq - h->next;
    if (seqdiff(h->held->seq, h->next) > 0) {
        t->cx->stats.gaps++;
        if (!f->ended) {
            t->ops->gap(t->cx, f, d, n, ts);
        }
        h->next = h->held->seq;
    }
    drain(t, f, d);
}

static void check_closed(struct rp__tcp *t, struct rp__flow *f, int d, int64_t ts)
{
    struct rp__half *h = &f->h[d];
    if (h->fin_seen && !h->closed && h->synced && seqdiff(h->next, h->fin_seq) >= 0) {
        h->closed = true;
        if (!f->ended) {
            t->ops->eof(t->cx, f, d, ts);
        }
    }
}

/* Reads what is left of direction d: held bytes, with their holes given up, then its end. */
static void flush_half(struct rp__tcp *t, struct rp__flow *f, int d, int64_t ts)
{
    struct rp__half *h = &f->h[d];
    sync_now(t, f, d);
    while (h->held) {
        skip_hole(t, f, d, ts);
    }
    if (!h->closed) {
        h->closed = true;
        if (!f->ended) {
            t->ops->eof(t->cx, f, d, ts);
        }
    }
}

/* Ends a flow: both directions flushed (the client's first, so responses find their requests),
 * what is pending written. The flow stays in the table, ended, so that its late packets are
 * recognised and dropped, until it is idle. */
static void end_flow(struct rp__tcp *t, struct rp__flow *f, int64_t ts)
{
    if (f->ended) {
        return;
    }
    int first = f->client >= 0 ? f->client : 0;
    flush_half(t, f, first, ts);
    flush_half(t, f, 1 - first, ts);
    t->ops->end(t->cx, f, ts);
    f->ended = true;
    free_held(t, &f->h[0]);
    free_held(t, &f->h[1]);
}

static void remove_flow(struct rp__tcp *t, struct rp__flow *f, int64_t ts)
{
    end_flow(t, f, ts);
    size_t b = bucket_of(f->family, f->h[0].addr, f->h[0].port, f->h[1].addr, f->h[1].port);
    for (struct rp__flow **pp = &t->buckets[b]; *pp; pp = &(*pp)->hnext) {
        if (*pp == f) {
            *pp = f->hnext;
            break;
        }
    }
    lru_unlink(t, f);
    t->nflows--;
    free(f);
}

static struct rp__flow *new_flow(struct rp__tcp *t, const struct rp__segment *s)
{
    if (t->nflows >= RP_CAPTURE_MAX_FLOWS && t->lru_head) {
        struct rp__flow *old = t->lru_head;
        if (!old->ended) {
            t->cx->stats.evicted++;
            rp__capture_log(t->cx, RP_LOG_WARN,
                            "connection %llu ended early: more than %u connections at once",
                            (unsigned long long)old->id, RP_CAPTURE_MAX_FLOWS);
        }
        remove_flow(t, old, s->ts_us);
    }
    struct rp__flow *f = rp_xcalloc(1, sizeof(*f));
    size_t n = addr_len(s->family);
    f->family = s->family;
    memcpy(f->h[0].addr, s->src, n);
    f->h[0].port = s->sport;
    memcpy(f->h[1].addr, s->dst, n);
    f->h[1].port = s->dport;
    f->client = -1;
    f->id = ++t->cx->next_flow_id;
    size_t b = bucket_of(s->family, s->src, s->sport, s->dst, s->dport);
    f->hnext = t->buckets[b];
    t->buckets[b] = f;
    lru_append(t, f);
    t->nflows++;
    return f;
}

/* Payload bytes of direction d at seq. */
static void add_data(struct rp__tcp *t, struct rp__flow *f, int d, uint32_t seq,
                     const unsigned char *data, size_t len, int64_t ts)
{
    struct rp__half *h = &f->h[d];
    if (!f->h[0].started && !f->h[1].started) {
        t->cx->stats.flows++;
    }
    h->started = true;
    if (!h->synced) {
        hold(t, h, seq, data, len, ts);
        if (h->held_bytes > RP_CAPTURE_MAX_OOO_BYTES) {
            sync_now(t, f, d);
        }
        return;
    }
    int32_t rel = seqdiff(seq, h->next);
    if (rel < 0) {
        size_t behind = (size_t)(-(int64_t)rel);
        if (behind >= len) {
            t->cx->stats.retransmitted += len;
            return;
        }
        t->cx->stats.retransmitted += behind;
        data += behind;
        len -= behind;
        seq = h->next;
        rel = 0;
    }
    if (rel == 0) {
        deliver(t, f, d, data, len, ts);
        drain(t, f, d);
        return;
    }
    hold(t, h, seq, data, len, ts);
    /* Past the caps the oldest hole is given up: its bytes are not coming in time. */
    while (h->held &&
           (h->held_bytes > RP_CAPTURE_MAX_OOO_BYTES || t->held_total > RP_CAPTURE_MAX_OOO_TOTAL)) {
        skip_hole(t, f, d, ts);
    }
}

void rp__tcp_segment(struct rp__tcp *t, const struct rp__segment *s)
{
    int d = 0;
    bool syn = s->flags & RP__TCP_SYN;
    bool ack = s->flags & RP__TCP_ACK;
    struct rp__flow *f = lookup(t, s, &d);
    if (f && syn && !ack) {
        /* A new SYN on a known pair of ends is a new connection when the old one ended, had
         * another SYN, or was read from a later point (joined late). A SYN arriving after the
         * data it precedes (a shuffled file) belongs to the same connection. */
        struct rp__half *h = &f->h[d];
        bool fresh = f->ended || (h->syn_seen && h->isn != s->seq) ||
                     (h->synced && !h->syn_seen && seqdiff(s->seq + 1, h->next) > 0);
        if (fresh) {
            remove_flow(t, f, s->ts_us);
            f = NULL;
        }
    }
    if (!f) {
        if ((s->len == 0 && !syn) || (s->flags & RP__TCP_RST)) {
            return; /* bare ACKs, FINs and resets of unknown connections open nothing */
        }
        f = new_flow(t, s);
        d = 0;
    }
    lru_unlink(t, f);
    lru_append(t, f);
    f->last_us = s->ts_us;
    if (f->ended) {
        return;
    }
    struct rp__half *h = &f->h[d];
    uint32_t seq = s->seq;
    if (syn) {
        f->client = ack ? 1 - d : d;
        seq++;
        if (!h->syn_seen) {
            h->syn_seen = true;
            h->isn = s->seq;
        }
        if (!h->synced) {
            h->synced = true;
            h->next = seq;
            drain(t, f, d);
        }
    }
    if (s->len) {
        add_data(t, f, d, seq, s->payload, s->len, s->ts_us);
    }
    if (s->flags & RP__TCP_FIN && !h->fin_seen) {
        h->fin_seen = true;
        h->fin_seq = seq + (uint32_t)s->len;
    }
    if (s->flags & RP__TCP_RST) {
        end_flow(t, f, s->ts_us);
        return;
    }
    check_closed(t, f, d, s->ts_us);
    if (f->h[0].closed && f->h[1].closed) {
        end_flow(t, f, s->ts_us);
    }
}

void rp__tcp_sweep(struct rp__tcp *t, int64_t now_us)
{
    struct rp__flow *f = t->lru_head;
    while (f) {
        struct rp__flow *nx = f->lru_next;
        if (now_us - f->last_us > (int64_t)RP_CAPTURE_IDLE_US) {
            if (!f->ended) {
                t->cx->stats.evicted++;
            }
            remove_flow(t, f, now_us);
        } else if (!f->ended) {
            for (int d = 0; d < 2; d++) {
                struct rp__half *h = &f->h[d];
                if (!h->synced && h->held &&
                    now_us - h->held_since > (int64_t)RP_CAPTURE_SYNC_WAIT_US) {
                    sync_now(t, f, d);
                }
            }
        }
        f = nx;
    }
}

struct rp__tcp *rp__tcp_new(struct rp__capture_ctx *cx, const struct rp__stream_ops *ops)
{
    struct rp__tcp *t = rp_xcalloc(1, sizeof(*t));
    t->cx = cx;
    t->ops = ops;
    return t;
}

void rp__tcp_free(struct rp__tcp *t, int64_t now_us)
{
    if (!t) {
        return;
    }
    while (t->lru_head) {
        remove_flow(t, t->lru_head, now_us);
    }
    free(t);
}
