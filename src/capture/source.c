/* SPDX-License-Identifier: MIT */
/* Packet sources behind one small table of operations: a pcap or pcapng file read offline,
 * and a live interface. libpcap reads both file formats and applies the BPF filter. */
/* libpcap's headers use the BSD types (u_char, u_int) that _POSIX_C_SOURCE hides. */
#define _DEFAULT_SOURCE

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "capture/internal.h"

/*
 * How long a live read waits for a packet before returning, so the stop flag and --duration
 * are looked at. Linux's libpcap in immediate mode does not honour its own read timeout while
 * no packet comes, so a live handle is non-blocking and the wait is a poll() on its fd.
 */
#define LIVE_TIMEOUT_MS 200

struct source {
    pcap_t *pc;
    int fd; /* live: the selectable descriptor, -1 for files */
    bool live;
};

/*
 * A packet's time in microseconds since the epoch. A pcapng file can stamp a packet with any
 * 64-bit count of any unit, so libpcap may hand on seconds whose microseconds do not fit an
 * int64_t: a time before the epoch or past the last second of 9999 (what ISO-8601 and the
 * recording format can write) is taken as that bound.
 */
static int64_t packet_time_us(const struct pcap_pkthdr *h)
{
    const int64_t last_sec = INT64_C(253402300799); /* 9999-12-31T23:59:59Z */
    int64_t sec = (int64_t)h->ts.tv_sec;
    int64_t usec = (int64_t)h->ts.tv_usec;
    if (sec < 0) {
        return 0;
    }
    if (sec > last_sec) {
        return last_sec * 1000000;
    }
    return sec * 1000000 + (usec >= 0 && usec < 1000000 ? usec : 0);
}

static rp_code src_next(void *ctx, struct rp__packet *pkt, enum rp__next *out, struct rp_error *err)
{
    struct source *s = ctx;
    struct pcap_pkthdr *h = NULL;
    const u_char *data = NULL;
    int r = pcap_next_ex(s->pc, &h, &data);
    if (r == 0 && s->live && s->fd >= 0) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        poll(&p, 1, LIVE_TIMEOUT_MS);
    }
    if (r == 1) {
        pkt->ts_us = packet_time_us(h);
        pkt->data = data;
        pkt->caplen = h->caplen;
        *out = RP__NEXT_PACKET;
        return RP_OK;
    }
    if (r == 0) {
        *out = RP__NEXT_NONE;
        return RP_OK;
    }
    if (r == PCAP_ERROR_BREAK) {
        *out = RP__NEXT_END;
        return RP_OK;
    }
    return rp_error_set(err, s->live ? RP_ESYS : RP_EFORMAT, "%s", pcap_geterr(s->pc));
}

static int src_linktype(void *ctx)
{
    struct source *s = ctx;
    return pcap_datalink(s->pc);
}

static void src_breakloop(void *ctx)
{
    struct source *s = ctx;
    pcap_breakloop(s->pc);
}

static void src_free(void *ctx)
{
    struct source *s = ctx;
    if (s) {
        pcap_close(s->pc);
        free(s);
    }
}

static const struct rp__source_ops pcap_ops = {
    .next = src_next,
    .linktype = src_linktype,
    .breakloop = src_breakloop,
    .free = src_free,
};

static rp_code set_filter(pcap_t *pc, const char *filter, struct rp_error *err)
{
    if (!filter) {
        return RP_OK;
    }
    struct bpf_program prog;
    if (pcap_compile(pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        return rp_error_set(err, RP_EUSAGE, "bad filter '%s': %s", filter, pcap_geterr(pc));
    }
    int r = pcap_setfilter(pc, &prog);
    pcap_freecode(&prog);
    if (r != 0) {
        return rp_error_set(err, RP_EUSAGE, "filter '%s': %s", filter, pcap_geterr(pc));
    }
    return RP_OK;
}

rp_code rp__source_open_file(const char *path, const char *filter,
                             const struct rp__source_ops **out_ops, void **out_ctx,
                             struct rp_error *err)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    FILE *f = fopen(path, "rb");
    if (!f) {
        return rp_error_set(err, RP_EIO, "%s: cannot open", path);
    }
    /* pcap_fopen_offline takes the FILE, so that fopen's error is ours to word. */
    pcap_t *pc = pcap_fopen_offline(f, ebuf);
    if (!pc) {
        fclose(f);
        return rp_error_set(err, RP_EFORMAT, "%s: not a pcap or pcapng file (%s)", path, ebuf);
    }
    rp_code rc = set_filter(pc, filter, err);
    if (rc) {
        pcap_close(pc);
        return rc;
    }
    struct source *s = rp_xcalloc(1, sizeof(*s));
    s->pc = pc;
    s->fd = -1;
    *out_ops = &pcap_ops;
    *out_ctx = s;
    return RP_OK;
}

rp_code rp__source_open_live(const char *iface, const char *filter,
                             const struct rp__source_ops **out_ops, void **out_ctx,
                             struct rp_error *err)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    rp_code rc = RP_ESYS;
    pcap_t *pc = pcap_create(iface, ebuf);
    if (!pc) {
        return rp_error_set(err, RP_ESYS, "%s: %s", iface, ebuf);
    }
    pcap_set_snaplen(pc, (int)RP_CAPTURE_SNAPLEN);
    pcap_set_promisc(pc, 0);
    pcap_set_timeout(pc, LIVE_TIMEOUT_MS);
    pcap_set_immediate_mode(pc, 1);
    int r = pcap_activate(pc);
    if (r < 0) {
        const char *why = r == PCAP_ERROR_PERM_DENIED
                              ? "permission denied (needs root or CAP_NET_RAW)"
                              : pcap_geterr(pc);
        rc = rp_error_set(err, RP_ESYS, "cannot capture on %s: %s", iface, why);
        goto out;
    }
    rc = set_filter(pc, filter, err);
    if (rc) {
        goto out;
    }
    if (pcap_setnonblock(pc, 1, ebuf) != 0) {
        rc = rp_error_set(err, RP_ESYS, "cannot capture on %s: %s", iface, ebuf);
        goto out;
    }
    struct source *s = rp_xcalloc(1, sizeof(*s));
    s->pc = pc;
    s->fd = pcap_get_selectable_fd(pc);
    s->live = true;
    pc = NULL;
    *out_ops = &pcap_ops;
    *out_ctx = s;
    rc = RP_OK;
out:
    if (pc) {
        pcap_close(pc);
    }
    return rc;
}
