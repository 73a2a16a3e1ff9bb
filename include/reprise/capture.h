/* SPDX-License-Identifier: MIT */
/*
 * Packet capture: HTTP/1.x exchanges from a pcap or pcapng file, or live from an interface,
 * handed to the recording pipeline (reprise/intake.h), which filters, scrubs and writes them. Link
 * layers: Ethernet (with 802.1Q/QinQ tags), Linux cooked v1 and v2, BSD loopback/null, raw IP; IPv4
 * and IPv6; TCP reassembled per connection (out of order, retransmitted, overlapping and wrapping
 * segments, reused ports, gaps); HTTP parsed by the http module and paired in order on each
 * connection. docs/capture.md says what is supported and how lost bytes are handled.
 */
#ifndef REPRISE_CAPTURE_H
#define REPRISE_CAPTURE_H

#include <reprise/intake.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rp_capture_opts {
    const char *file;       /* read this pcap or pcapng file ... */
    const char *iface;      /* ... or capture live on this interface ("any", "lo", "eth0") */
    const char *filter;     /* a BPF filter ("tcp port 80"), or NULL for every packet */
    uint64_t max_exchanges; /* stop after recording this many exchanges; 0: no limit */
    uint64_t duration_ms;   /* live: stop after this long; 0: until rp_capture_stop() */
    rp_log_fn log;          /* warnings (gaps, malformed HTTP, evicted flows); may be NULL */
    void *log_ud;
};

/* What a capture saw, for the summary line and for tests. */
struct rp_capture_stats {
    uint64_t packets;          /* packets read */
    uint64_t skipped;          /* not TCP over IP, or of a link type not read */
    uint64_t truncated;        /* too short for their own headers */
    uint64_t fragments;        /* IP fragments (not reassembled: skipped) */
    uint64_t flows;            /* TCP connections that carried data */
    uint64_t retransmitted;    /* payload bytes seen twice (first copy kept) */
    uint64_t gaps;             /* holes in a byte stream that were given up as lost */
    uint64_t evicted;          /* flows ended early: idle, or too many at once */
    uint64_t exchanges;        /* exchanges recorded */
    uint64_t incomplete;       /* ... of which marked incomplete */
    uint64_t unanswered;       /* ... of which without a response */
    uint64_t orphan_responses; /* responses with no request to pair with (dropped) */
    uint64_t http_errors;      /* malformed HTTP, skipped to the next message */
    uint64_t dropped;          /* left out by the intake: static assets, not scrubbable */
};

struct rp_capture;

/*
 * Opens the file or the interface of opts (borrowed; its strings must outlive the capture) and
 * applies the filter. On success *out is a new capture to free with rp_capture_free(). Errors:
 * RP_EUSAGE (neither or both of file and iface), RP_EIO (the file cannot be read, names it),
 * RP_EFORMAT (not pcap/pcapng, a bad filter), RP_ESYS (the interface cannot be opened, for
 * instance without root or CAP_NET_RAW).
 */
RP_EXTERN RP_NODISCARD rp_code rp_capture_open(const struct rp_capture_opts *opts,
                                               struct rp_capture **out, struct rp_error *err);

/*
 * Reads packets until the file ends, rp_capture_stop() is called, the duration passes or
 * max_exchanges are recorded, and hands each exchange to in (borrowed; the caller creates it
 * with source kind "capture" and closes it). Connections still open at the end are ended as
 * they stand: their unanswered requests are recorded too. Memory stays bounded
 * (RP_CAPTURE_MAX_FLOWS, RP_CAPTURE_MAX_OOO_BYTES, RP_CAPTURE_MAX_OOO_TOTAL,
 * RP_CAPTURE_IDLE_US). Returns the intake's writer error, or RP_EFORMAT for a corrupt file.
 */
RP_EXTERN RP_NODISCARD rp_code rp_capture_run(struct rp_capture *c, struct rp_intake *in,
                                              struct rp_error *err);

/* Asks a running capture to stop soon. Safe to call from a signal handler. */
RP_EXTERN void rp_capture_stop(struct rp_capture *c);

/* Copies the counters so far into *out. */
RP_EXTERN void rp_capture_get_stats(const struct rp_capture *c, struct rp_capture_stats *out);

/* Closes the source and frees c. c may be NULL. */
RP_EXTERN void rp_capture_free(struct rp_capture *c);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_CAPTURE_H */
