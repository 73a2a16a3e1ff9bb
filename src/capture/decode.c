/* SPDX-License-Identifier: MIT */
/* From a captured frame to a TCP segment: link layers (Ethernet with VLAN tags, Linux cooked
 * v1 and v2, BSD null/loopback, raw IP), IPv4 with options, IPv6 with extension headers. */
/* libpcap's headers use the BSD types (u_char, u_int) that _POSIX_C_SOURCE hides. */
#define _DEFAULT_SOURCE

#include <string.h>

#include <pcap/pcap.h>

#include "capture/internal.h"

/* Link types libpcap may report for raw IP captures, by number: some are DLT_ values that
 * differ between platforms, others LINKTYPE_ values passed through. */
#define LT_RAW_A 12
#define LT_RAW   101
#define LT_IPV4  228
#define LT_IPV6  229
#define LT_SLL2  276

#define ETH_IPV4     0x0800u
#define ETH_IPV6     0x86ddu
#define ETH_VLAN     0x8100u
#define ETH_QINQ     0x88a8u
#define ETH_QINQ_OLD 0x9100u

/* How many VLAN tags are peeled before giving up on a frame. */
#define MAX_VLAN_TAGS 4

static uint16_t be16(const unsigned char *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static enum rp__decoded tcp(const unsigned char *p, size_t n, struct rp__segment *s)
{
    if (n < 20) {
        return RP__DEC_TRUNCATED;
    }
    size_t off = (size_t)(p[12] >> 4) * 4;
    if (off < 20 || off > n) {
        return RP__DEC_TRUNCATED;
    }
    s->sport = be16(p);
    s->dport = be16(p + 2);
    s->seq = be32(p + 4);
    s->ack = be32(p + 8);
    s->flags = p[13];
    s->payload = p + off;
    s->len = n - off;
    return RP__DEC_TCP;
}

static enum rp__decoded ipv4(const unsigned char *p, size_t n, struct rp__segment *s)
{
    if (n < 20) {
        return RP__DEC_TRUNCATED;
    }
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    size_t total = be16(p + 2);
    if (ihl < 20 || ihl > n || total < ihl) {
        return RP__DEC_TRUNCATED;
    }
    /* The IP length, not the frame, says where the packet ends (Ethernet pads short frames);
     * a frame cut by the snapshot length gives what it has. */
    if (total < n) {
        n = total;
    }
    if ((be16(p + 6) & 0x3fffu) != 0) {
        return RP__DEC_FRAGMENT;
    }
    if (p[9] != 6) {
        return RP__DEC_SKIP;
    }
    s->family = 4;
    memset(s->src, 0, sizeof(s->src));
    memset(s->dst, 0, sizeof(s->dst));
    memcpy(s->src, p + 12, 4);
    memcpy(s->dst, p + 16, 4);
    return tcp(p + ihl, n - ihl, s);
}

static enum rp__decoded ipv6(const unsigned char *p, size_t n, struct rp__segment *s)
{
    if (n < 40) {
        return RP__DEC_TRUNCATED;
    }
    size_t plen = be16(p + 4);
    if (plen == 0) {
        return RP__DEC_SKIP; /* a jumbogram, which no HTTP capture holds */
    }
    if (40 + plen < n) {
        n = 40 + plen;
    }
    s->family = 6;
    memcpy(s->src, p + 8, 16);
    memcpy(s->dst, p + 24, 16);
    unsigned next = p[6];
    size_t off = 40;
    for (;;) {
        if (next == 6) {
            return tcp(p + off, n - off, s);
        }
        if (off + 8 > n) {
            return next == 59 ? RP__DEC_SKIP : RP__DEC_TRUNCATED;
        }
        const unsigned char *h = p + off;
        switch (next) {
        case 0:  /* hop-by-hop options */
        case 43: /* routing */
        case 60: /* destination options */
            off += ((size_t)h[1] + 1) * 8;
            break;
        case 44: /* fragment: only an atomic one (offset 0, no more) is a whole packet */
            if ((be16(h + 2) & 0xfff9u) != 0) {
                return RP__DEC_FRAGMENT;
            }
            off += 8;
            break;
        case 51: /* authentication header */
            off += ((size_t)h[1] + 2) * 4;
            break;
        default:
            return RP__DEC_SKIP;
        }
        next = h[0];
        if (off > n) {
            return RP__DEC_TRUNCATED;
        }
    }
}

/* IP of either version, told apart by the version nibble. */
static enum rp__decoded ip(const unsigned char *p, size_t n, struct rp__segment *s)
{
    if (n < 1) {
        return RP__DEC_TRUNCATED;
    }
    switch (p[0] >> 4) {
    case 4:
        return ipv4(p, n, s);
    case 6:
        return ipv6(p, n, s);
    default:
        return RP__DEC_SKIP;
    }
}

/* An EtherType at p[-2..-1], possibly VLAN tags, then the payload. */
static enum rp__decoded ethertype(uint16_t type, const unsigned char *p, size_t n,
                                  struct rp__segment *s)
{
    for (int tags = 0; type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD; tags++) {
        if (tags == MAX_VLAN_TAGS || n < 4) {
            return RP__DEC_TRUNCATED;
        }
        type = be16(p + 2);
        p += 4;
        n -= 4;
    }
    if (type == ETH_IPV4 || type == ETH_IPV6) {
        return ip(p, n, s);
    }
    return RP__DEC_SKIP;
}

enum rp__decoded rp__decode(int linktype, const struct rp__packet *pkt, struct rp__segment *s)
{
    const unsigned char *p = pkt->data;
    size_t n = pkt->caplen;
    memset(s, 0, sizeof(*s));
    s->ts_us = pkt->ts_us;
    switch (linktype) {
    case DLT_EN10MB:
        if (n < 14) {
            return RP__DEC_TRUNCATED;
        }
        return ethertype(be16(p + 12), p + 14, n - 14, s);
    case DLT_LINUX_SLL:
        if (n < 16) {
            return RP__DEC_TRUNCATED;
        }
        return ethertype(be16(p + 14), p + 16, n - 16, s);
    case LT_SLL2:
        if (n < 20) {
            return RP__DEC_TRUNCATED;
        }
        return ethertype(be16(p), p + 20, n - 20, s);
    case DLT_NULL:
    case DLT_LOOP:
        /* The address family is in the capturing host's byte order (NULL) or network order
         * (LOOP), with values that differ between systems: the IP version nibble is surer. */
        if (n < 4) {
            return RP__DEC_TRUNCATED;
        }
        return ip(p + 4, n - 4, s);
    case LT_RAW_A:
    case LT_RAW:
    case LT_IPV4:
    case LT_IPV6:
        return ip(p, n, s);
    default:
        return RP__DEC_SKIP;
    }
}
