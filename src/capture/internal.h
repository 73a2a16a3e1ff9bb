/* SPDX-License-Identifier: MIT */
/* Declarations shared by the files of the capture module: packet sources, link and IP
 * decoding, TCP reassembly and HTTP pairing. Reassembly hands bytes on through an ops table
 * and pairing hands exchanges to the intake, so no file calls back into the one calling it. */
#ifndef REPRISE_CAPTURE_INTERNAL_H
#define REPRISE_CAPTURE_INTERNAL_H

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>

#include <reprise/capture.h>
#include <reprise/http.h>
#include <reprise/intake.h>
#include <reprise/limits.h>
#include <reprise/recording.h>

#include "../common_int.h"

/* ----- sources (source.c) ----------------------------------------------------------------- */

struct rp__packet {
    int64_t ts_us;
    const unsigned char *data; /* borrowed from the source until its next call */
    size_t caplen;
};

enum rp__next {
    RP__NEXT_PACKET,
    RP__NEXT_NONE, /* live: nothing within the read timeout; look at the stop flag */
    RP__NEXT_END,  /* the file ended, or the capture was broken off */
};

/* A packet source: an offline file or a live interface, chosen once at open. */
struct rp__source_ops {
    rp_code (*next)(void *ctx, struct rp__packet *pkt, enum rp__next *out, struct rp_error *err);
    int (*linktype)(void *ctx);
    void (*breakloop)(void *ctx); /* async-signal-safe */
    void (*free)(void *ctx);
};

rp_code rp__source_open_file(const char *path, const char *filter,
                             const struct rp__source_ops **out_ops, void **out_ctx,
                             struct rp_error *err);
rp_code rp__source_open_live(const char *iface, const char *filter,
                             const struct rp__source_ops **out_ops, void **out_ctx,
                             struct rp_error *err);

/* ----- decoding (decode.c) ---------------------------------------------------------------- */

#define RP__TCP_FIN 0x01u
#define RP__TCP_SYN 0x02u
#define RP__TCP_RST 0x04u
#define RP__TCP_ACK 0x10u

/* One TCP segment, pointing into the packet. Addresses are 4 or 16 bytes (family 4 or 6). */
struct rp__segment {
    int64_t ts_us;
    int family;
    unsigned char src[16], dst[16];
    uint16_t sport, dport;
    uint32_t seq, ack;
    unsigned flags;
    const unsigned char *payload;
    size_t len;
};

enum rp__decoded {
    RP__DEC_TCP,
    RP__DEC_SKIP,      /* not TCP over IP, or an unknown link type */
    RP__DEC_TRUNCATED, /* shorter than its headers */
    RP__DEC_FRAGMENT,  /* an IP fragment */
};

enum rp__decoded rp__decode(int linktype, const struct rp__packet *pkt, struct rp__segment *seg);

/* ----- TCP flows (tcp.c) ------------------------------------------------------------------ */

/* A segment held until the bytes before it arrive. */
struct rp__held {
    struct rp__held *next;
    uint32_t seq;
    size_t len;
    int64_t ts_us;
    unsigned char data[];
};

/* One direction of a connection, named by its sender. */
struct rp__half {
    unsigned char addr[16];
    uint16_t port;
    bool syn_seen, synced, fin_seen, closed, started;
    uint32_t isn, next, fin_seq;
    struct rp__held *held; /* sorted by sequence number */
    size_t held_bytes;
    int64_t held_since;
};

struct rp__conn; /* pair.c's state of one connection */

struct rp__flow {
    struct rp__flow *hnext;               /* hash chain */
    struct rp__flow *lru_prev, *lru_next; /* oldest first */
    int family;
    struct rp__half h[2]; /* h[0]: the sender of the first packet seen */
    int client;           /* index into h of the client, -1 while unknown */
    uint64_t id;
    int64_t last_us;
    bool ended;
    struct rp__conn *conn;
};

struct rp__capture_ctx; /* the whole capture's state, below */

/*
 * Where reassembly delivers each direction's bytes, in order, with the holes it gave up on,
 * the ends of the directions and of the flow. Chosen once, at rp__tcp_new(); ud is the
 * capture's state. f->conn belongs to the receiver, which frees it in end.
 */
struct rp__stream_ops {
    void (*data)(void *ud, struct rp__flow *f, int d, const unsigned char *data, size_t len,
                 int64_t ts_us);
    void (*gap)(void *ud, struct rp__flow *f, int d, uint64_t n, int64_t ts_us);
    void (*eof)(void *ud, struct rp__flow *f, int d, int64_t ts_us);
    void (*end)(void *ud, struct rp__flow *f, int64_t ts_us);
};

struct rp__tcp;

/* A new reassembler delivering to ops (borrowed, static) with cx as ud. */
struct rp__tcp *rp__tcp_new(struct rp__capture_ctx *cx, const struct rp__stream_ops *ops);
/* Ends every flow (oldest first) and frees t. */
void rp__tcp_free(struct rp__tcp *t, int64_t now_us);
void rp__tcp_segment(struct rp__tcp *t, const struct rp__segment *s);
/* Ends idle flows and reads held directions that waited long enough; call about once a second
 * of capture time. */
void rp__tcp_sweep(struct rp__tcp *t, int64_t now_us);

/* ----- pairing (pair.c) ------------------------------------------------------------------- */

/* HTTP parsing and pairing of a flow's bytes into exchanges, handed to cx->in. */
extern const struct rp__stream_ops rp__pair_ops;

/* ----- the capture's state (owned by capture.c) ------------------------------------------- */

struct rp__capture_ctx {
    struct rp_capture_stats stats;
    rp_log_fn log;
    void *log_ud;
    struct rp_intake *in; /* the recording pipeline (borrowed for rp_capture_run) */
    uint64_t max_exchanges;
    rp_code write_rc; /* the first writer error, sticky */
    struct rp_error write_err;
    volatile sig_atomic_t stop;
    uint64_t next_flow_id;
};

/* One warning or debug line through the capture's log callback, cut at 512 bytes. */
static inline void rp__capture_log(struct rp__capture_ctx *cx, enum rp_log_level lvl,
                                   const char *fmt, ...) RP_PRINTF(3, 4);

static inline void rp__capture_log(struct rp__capture_ctx *cx, enum rp_log_level lvl,
                                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rp__vlog(cx->log, cx->log_ud, lvl, fmt, ap);
    va_end(ap);
}

#endif /* REPRISE_CAPTURE_INTERNAL_H */
