/* SPDX-License-Identifier: MIT */
/*
 * reprise-bench-pcap: writes the synthetic packet capture the capture benchmark (tools/bench/
 * capture.sh) reads: N HTTP/1.1 exchanges over C concurrent keep-alive TCP connections,
 * interleaved round-robin, each connection with a full handshake and a FIN at the end, every
 * response a JSON body split into MSS-sized segments. The output is deterministic: the same
 * arguments give the same bytes.
 *
 *   reprise-bench-pcap N OUT.pcap [--conns C] [--body BYTES] [--per-conn K] [--no-fin]
 *                                 [--step-us US]
 *
 *   --conns C      connections open at once (default 64)
 *   --body BYTES   size of each JSON response body (default 1024)
 *   --per-conn K   exchanges per connection before it ends and a new one takes its place
 *                  (default 0: each connection lasts the whole capture)
 *   --no-fin       connections are abandoned instead of closed: no FIN is ever sent, so only
 *                  the reader's eviction (idle time, flow count) can forget them
 *   --step-us US   capture time between consecutive packets (default 20)
 */
/* libpcap's headers use the BSD types (u_char, u_int) that _POSIX_C_SOURCE hides. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include <reprise/common.h>

/* Caps on the arguments: far past any useful benchmark, and they keep the arithmetic small. */
#define BENCH_MAX_EXCHANGES 100000000ULL
#define BENCH_MAX_CONNS     65536ULL
#define BENCH_MAX_BODY      (1024ULL * 1024ULL)
#define BENCH_MIN_BODY      64ULL
#define BENCH_MAX_STEP_US   10000000ULL
#define BENCH_DEFAULT_CONNS 64
#define BENCH_DEFAULT_BODY  1024
#define BENCH_DEFAULT_STEP  20

/* Frame layout: Ethernet II, IPv4 without options, TCP without options. */
#define ETH_LEN   14
#define IP_LEN    20
#define TCP_LEN   20
#define HDRS_LEN  (ETH_LEN + IP_LEN + TCP_LEN)
#define BENCH_MSS 1460
#define SNAPLEN   65535
/* Room for a request's or a response's head; the body is sized by --body. */
#define HEAD_MAX  512

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* The server every connection goes to: 10.255.0.1:80, named shop.example in Host. */
#define SERVER_IP   0x0aff0001u
#define SERVER_PORT 80
#define HOST_NAME   "shop.example"
/* The capture starts at 2023-11-14 22:13:20 UTC, a fixed time so the output is the same. */
#define START_SEC   1700000000u

static const char USAGE[] =
    "usage: reprise-bench-pcap N OUT.pcap [--conns C] [--body BYTES] [--per-conn K] [--no-fin]\n"
    "                                     [--step-us US]\n";

struct conn {
    uint64_t id; /* connections are numbered in the order they open */
    uint32_t ip; /* the client's address and port */
    uint16_t port;
    uint32_t cseq; /* next sequence number of each side */
    uint32_t sseq;
    uint64_t done; /* exchanges carried so far */
    bool open;
};

struct gen {
    pcap_dumper_t *dump;
    uint64_t now_us; /* capture time of the next packet, since START_SEC */
    uint64_t step_us;
    uint16_t ip_id;
    uint64_t next_conn;
    uint8_t frame[HDRS_LEN + BENCH_MSS];
    char *body; /* the response body being sent, body_len bytes plus a NUL */
    size_t body_len;
    char *stream; /* a response's head and body, HEAD_MAX + body_len bytes */
};

/* Parses a decimal count in [min, max]. */
static bool parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The ones' complement sum of len bytes, added to sum (RFC 1071), not yet folded. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    while (len > 1) {
        sum += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len) {
        sum += (uint32_t)p[0] << 8;
    }
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffffu) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

/*
 * Writes one packet of connection c, from the client when from_client, with the TCP flags
 * given and len bytes of payload, and moves the sender's sequence number on (SYN and FIN count
 * one each). Both checksums are computed, so that no reader flags the packets as damaged.
 */
static void emit(struct gen *g, struct conn *c, bool from_client, uint8_t flags,
                 const char *payload, size_t len)
{
    uint8_t *f = g->frame;
    uint32_t src = from_client ? c->ip : SERVER_IP;
    uint32_t dst = from_client ? SERVER_IP : c->ip;
    uint16_t sport = from_client ? c->port : SERVER_PORT;
    uint16_t dport = from_client ? SERVER_PORT : c->port;
    uint32_t *seq = from_client ? &c->cseq : &c->sseq;
    uint32_t ack = from_client ? c->sseq : c->cseq;

    /* Ethernet: locally administered addresses, one per side. */
    static const uint8_t mac_client[6] = {0x02, 0, 0, 0, 0, 0x01};
    static const uint8_t mac_server[6] = {0x02, 0, 0, 0, 0, 0x02};
    memcpy(f, from_client ? mac_server : mac_client, 6);
    memcpy(f + 6, from_client ? mac_client : mac_server, 6);
    put16(f + 12, 0x0800);

    uint8_t *ip = f + ETH_LEN;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint32_t)(IP_LEN + TCP_LEN + len));
    put16(ip + 4, g->ip_id++);
    put16(ip + 6, 0x4000); /* don't fragment */
    ip[8] = 64;
    ip[9] = 6;
    put16(ip + 10, 0);
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(ip + 10, csum_fold(csum_add(0, ip, IP_LEN)));

    uint8_t *tcp = ip + IP_LEN;
    put16(tcp, sport);
    put16(tcp + 2, dport);
    put32(tcp + 4, *seq);
    put32(tcp + 8, (flags & TCP_ACK) ? ack : 0);
    tcp[12] = (TCP_LEN / 4) << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    put16(tcp + 16, 0);
    put16(tcp + 18, 0);
    if (len) {
        memcpy(tcp + TCP_LEN, payload, len);
    }
    /* The pseudo-header: addresses, protocol and TCP length. */
    uint32_t sum = csum_add(0, ip + 12, 8);
    sum += 6u + (uint32_t)(TCP_LEN + len);
    sum = csum_add(sum, tcp, TCP_LEN + len);
    put16(tcp + 16, csum_fold(sum));

    struct pcap_pkthdr h;
    h.ts.tv_sec = (time_t)(START_SEC + g->now_us / 1000000u);
    h.ts.tv_usec = (suseconds_t)(g->now_us % 1000000u);
    h.caplen = (bpf_u_int32)(HDRS_LEN + len);
    h.len = h.caplen;
    pcap_dump((u_char *)g->dump, &h, f);
    g->now_us += g->step_us;

    *seq += (uint32_t)len + ((flags & (TCP_SYN | TCP_FIN)) ? 1u : 0u);
}

/* Sends len bytes from one side in MSS-sized segments, PSH on the last. */
static void send_data(struct gen *g, struct conn *c, bool from_client, const char *p, size_t len)
{
    while (len > 0) {
        size_t n = len > BENCH_MSS ? BENCH_MSS : len;
        uint8_t flags = TCP_ACK | (n == len ? TCP_PSH : 0);
        emit(g, c, from_client, flags, p, n);
        p += n;
        len -= n;
    }
}

/*
 * Opens a new connection in c: its own client address and port (10.x.y.z, one address per
 * 16,384 connections, ports from 20000) and initial sequence numbers drawn from its number,
 * then the three-way handshake.
 */
static void conn_open(struct gen *g, struct conn *c)
{
    uint64_t id = g->next_conn++;
    c->id = id;
    c->ip = 0x0a000000u | (uint32_t)(((id / 16384u) % 0xfe00u) + 0x100u);
    c->port = (uint16_t)(20000u + id % 16384u);
    c->cseq = (uint32_t)(0x1000000u + id * 2654435761u);
    c->sseq = (uint32_t)(0x8000000u + id * 40503u * 65537u);
    c->done = 0;
    c->open = true;
    emit(g, c, true, TCP_SYN, NULL, 0);
    emit(g, c, false, TCP_SYN | TCP_ACK, NULL, 0);
    emit(g, c, true, TCP_ACK, NULL, 0);
}

/* Ends c: with the FIN exchange, or by simply never sending on it again when abandon. */
static void conn_close(struct gen *g, struct conn *c, bool abandon)
{
    if (!abandon) {
        emit(g, c, true, TCP_FIN | TCP_ACK, NULL, 0);
        emit(g, c, false, TCP_FIN | TCP_ACK, NULL, 0);
        emit(g, c, true, TCP_ACK, NULL, 0);
    }
    c->open = false;
}

/* A small deterministic generator for the values in the bodies (xorshift64). */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/*
 * Fills g->body with exactly g->body_len bytes of JSON for exchange i: an order with line
 * items whose values vary, as an API's responses do (a body of one repeated byte would make
 * the recording's gzip unrealistically cheap), padded to size with a note string.
 */
static void build_body(struct gen *g, uint64_t i)
{
    size_t cap = g->body_len + 1;
    char *b = g->body;
    uint64_t r = (uint64_t)(0x9e3779b97f4a7c15ULL ^ (i * 0xbf58476d1ce4e5b9ULL));
    if (r == 0) {
        r = 1;
    }
    int n = snprintf(b, cap, "{\"id\":%" PRIu64 ",\"status\":\"paid\",\"items\":[", i);
    size_t used = (n > 0 && (size_t)n < cap) ? (size_t)n : cap;
    /* The tail closes the items array and opens the note, 12 bytes plus the closing 3. */
    const size_t tail = sizeof("],\"note\":\"") - 1 + sizeof("\"}\n") - 1;
    bool first = true;
    for (;;) {
        char item[160];
        uint64_t v = next_rand(&r);
        n = snprintf(item, sizeof(item),
                     "%s{\"sku\":\"SKU-%06" PRIu64 "\",\"qty\":%" PRIu64 ",\"price\":%" PRIu64
                     ".%02" PRIu64 ",\"name\":\"Item %" PRIu64 "\",\"in_stock\":%s}",
                     first ? "" : ",", v % 1000000u, (v >> 20) % 9u + 1u, (v >> 24) % 500u,
                     (v >> 32) % 100u, (v >> 40) % 100000u, (v >> 60) & 1u ? "true" : "false");
        if (n < 0 || (size_t)n >= sizeof(item) || used + (size_t)n + tail > g->body_len) {
            break;
        }
        memcpy(b + used, item, (size_t)n);
        used += (size_t)n;
        first = false;
    }
    memcpy(b + used, "],\"note\":\"", 10);
    used += 10;
    /* Pad with lower-case letters so that the total is exactly body_len. */
    while (used < g->body_len - 3) {
        b[used] = (char)('a' + next_rand(&r) % 26u);
        used++;
    }
    memcpy(b + used, "\"}\n", 3);
    used += 3;
    b[used] = '\0';
}

/* One exchange i on the open connection c: request, response in segments, the client's ACK. */
static void exchange(struct gen *g, struct conn *c, uint64_t i)
{
    char head[HEAD_MAX];
    int n = snprintf(head, sizeof(head),
                     "GET /api/orders/%" PRIu64 "?expand=items HTTP/1.1\r\n"
                     "Host: " HOST_NAME "\r\n"
                     "User-Agent: reprise-bench-pcap/1\r\n"
                     "Accept: application/json\r\n"
                     "Accept-Encoding: identity\r\n"
                     "X-Request-Id: %016" PRIx64 "\r\n"
                     "\r\n",
                     i, (uint64_t)(i * 0x9e3779b97f4a7c15ULL));
    if (n > 0 && (size_t)n < sizeof(head)) {
        send_data(g, c, true, head, (size_t)n);
    }

    build_body(g, i);
    char rhead[HEAD_MAX];
    n = snprintf(rhead, sizeof(rhead),
                 "HTTP/1.1 200 OK\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: %zu\r\n"
                 "Cache-Control: no-store\r\n"
                 "Server: bench\r\n"
                 "\r\n",
                 g->body_len);
    if (n <= 0 || (size_t)n >= sizeof(rhead)) {
        return;
    }
    /*
     * The head and the body go out as one byte stream, as a server's socket sends them: the
     * first segment carries the head and the start of the body.
     */
    size_t hlen = (size_t)n;
    memcpy(g->stream, rhead, hlen);
    memcpy(g->stream + hlen, g->body, g->body_len);
    send_data(g, c, false, g->stream, hlen + g->body_len);
    emit(g, c, true, TCP_ACK, NULL, 0);
    c->done++;
}

struct gen_args {
    uint64_t count;
    const char *path;
    uint64_t conns;
    uint64_t body;
    uint64_t per_conn;
    uint64_t step_us;
    bool no_fin;
};

static bool parse_args(int argc, char **argv, struct gen_args *out)
{
    struct gen_args a = {
        .conns = BENCH_DEFAULT_CONNS,
        .body = BENCH_DEFAULT_BODY,
        .step_us = BENCH_DEFAULT_STEP,
    };
    size_t operands = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        bool has_value = i + 1 < argc;
        bool ok = true;
        if (strcmp(s, "--no-fin") == 0) {
            a.no_fin = true;
        } else if (strcmp(s, "--conns") == 0) {
            ok = has_value && parse_count(argv[++i], 1, BENCH_MAX_CONNS, &a.conns);
        } else if (strcmp(s, "--body") == 0) {
            ok = has_value && parse_count(argv[++i], BENCH_MIN_BODY, BENCH_MAX_BODY, &a.body);
        } else if (strcmp(s, "--per-conn") == 0) {
            ok = has_value && parse_count(argv[++i], 0, BENCH_MAX_EXCHANGES, &a.per_conn);
        } else if (strcmp(s, "--step-us") == 0) {
            ok = has_value && parse_count(argv[++i], 1, BENCH_MAX_STEP_US, &a.step_us);
        } else if (s[0] == '-' && s[1] != '\0') {
            ok = false;
        } else if (operands == 0) {
            ok = parse_count(s, 1, BENCH_MAX_EXCHANGES, &a.count);
            operands++;
        } else if (operands == 1) {
            a.path = s;
            operands++;
        } else {
            ok = false;
        }
        if (!ok) {
            return false;
        }
    }
    if (operands != 2) {
        return false;
    }
    *out = a;
    return true;
}

static int generate(const struct gen_args *a)
{
    int status = 1;
    struct gen g = {.step_us = a->step_us, .body_len = (size_t)a->body};
    struct conn *conns = rp_xcalloc((size_t)a->conns, sizeof(*conns));
    g.body = rp_xmalloc(g.body_len + 1);
    g.stream = rp_xmalloc(HEAD_MAX + g.body_len);
    pcap_t *p = pcap_open_dead(DLT_EN10MB, SNAPLEN);
    if (!p) {
        fprintf(stderr, "reprise-bench-pcap: pcap_open_dead failed\n");
        goto out;
    }
    g.dump = pcap_dump_open(p, a->path);
    if (!g.dump) {
        fprintf(stderr, "reprise-bench-pcap: %s\n", pcap_geterr(p));
        goto out;
    }

    for (uint64_t i = 0; i < a->count; i++) {
        struct conn *c = &conns[i % a->conns];
        if (!c->open) {
            conn_open(&g, c);
        }
        exchange(&g, c, i + 1);
        if (a->per_conn && c->done == a->per_conn) {
            conn_close(&g, c, a->no_fin);
        }
    }
    for (uint64_t k = 0; k < a->conns; k++) {
        if (conns[k].open) {
            conn_close(&g, &conns[k], a->no_fin);
        }
    }

    /* The dump is buffered: a full disk shows up at the flush or the close. */
    if (pcap_dump_flush(g.dump) != 0) {
        fprintf(stderr, "reprise-bench-pcap: cannot write %s\n", a->path);
        goto out;
    }
    FILE *f = pcap_dump_file(g.dump);
    if (ferror(f)) {
        fprintf(stderr, "reprise-bench-pcap: cannot write %s\n", a->path);
        goto out;
    }
    status = 0;
out:
    if (g.dump) {
        pcap_dump_close(g.dump);
    }
    if (p) {
        pcap_close(p);
    }
    free(g.stream);
    free(g.body);
    free(conns);
    return status;
}

int main(int argc, char **argv)
{
    struct gen_args a;
    if (!parse_args(argc, argv, &a)) {
        fputs(USAGE, stderr);
        return 2;
    }
    return generate(&a);
}
