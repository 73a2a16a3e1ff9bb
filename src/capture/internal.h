/* SPDX-License-Identifier: MIT */
/* Declarations shared by the files of the capture module: packet sources, link and IP
 * decoding, TCP reassembly and HTTP pairing. */
#ifndef REPRISE_CAPTURE_INTERNAL_H
#define REPRISE_CAPTURE_INTERNAL_H

#include <signal.h>

#include <reprise/capture.h>
#include <reprise/http.h>
#include <reprise/limits.h>

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

struct rp__capture_ctx; /* the whole capture's state, in capture.c */

struct rp__tcp;

struct rp__tcp *rp__tcp_new(struct rp__capture_ctx *cx);
/* Ends every flow (oldest first) and frees t. */
void rp__tcp_free(struct rp__tcp *t, int64_t now_us);
void rp__tcp_segment(struct rp__tcp *t, const struct rp__segment *s);
/* Ends idle flows and reads held directions that waited long enough; call about once a second
 * of capture time. */
void rp__tcp_sweep(struct rp__tcp *t, int64_t now_us);

/* ----- pairing (pair.c) ------------------------------------------------------------------- */

void rp__pair_data(struct rp__capture_ctx *cx, struct rp__flow *f, int d, const unsigned char *data,
                   size_t len, int64_t ts_us);
void rp__pair_gap(struct rp__capture_ctx *cx, struct rp__flow *f, int d, uint64_t n, int64_t ts_us);
void rp__pair_eof(struct rp__capture_ctx *cx, struct rp__flow *f, int d, int64_t ts_us);
/* The flow is over: writes what is pending and frees f->conn. */
void rp__pair_end(struct rp__capture_ctx *cx, struct rp__flow *f, int64_t ts_us);

/* ----- the capture (capture.c) ------------------------------------------------------------ */

struct rp__capture_ctx {
    struct rp_capture_stats stats;
    rp_log_fn log;
    void *log_ud;
    struct rp_writer *writer;
    uint64_t max_exchanges;
    rp_code write_rc; /* the first writer error, sticky */
    struct rp_error write_err;
    rp_code (*edit)(void *ud, struct rp_exchange *ex, struct rp_error *err);
    void *edit_ud;
    volatile sig_atomic_t stop;
    uint64_t next_flow_id;
};

void rp__capture_log(struct rp__capture_ctx *cx, enum rp_log_level lvl, const char *fmt, ...)
    RP_PRINTF(3, 4);
/* Edits and writes ex (borrowed, changed) and counts it; stops the capture at max_exchanges. */
void rp__capture_emit(struct rp__capture_ctx *cx, struct rp_exchange *ex);

#endif /* REPRISE_CAPTURE_INTERNAL_H */
