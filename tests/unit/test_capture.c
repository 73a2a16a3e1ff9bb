/* SPDX-License-Identifier: MIT */
/* Unit tests for packet capture: tiny pcaps built here with libpcap's own writer
 * (pcap_open_dead + pcap_dump), read through rp_capture into a recording and read back. */
#define _DEFAULT_SOURCE /* libpcap's headers use u_char and u_int */
#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/capture.h>
#include <reprise/recording.h>

#include "helpers.h"

static char *dir;

static void setup(void)
{
    dir = tmp_dir();
}

static void teardown(void)
{
    rm_tree(dir);
}

TestSuite(capture, .init = setup, .fini = teardown);

enum link { L_ETH, L_VLAN, L_NULL, L_RAW, L_SLL, L_SLL2 };

struct pcap_out {
    pcap_t *pc;
    pcap_dumper_t *d;
    enum link link;
    bool v6;
    int64_t t;
};

static void open_out(struct pcap_out *o, const char *path, enum link link, bool v6)
{
    static const int dlt[] = {DLT_EN10MB, DLT_EN10MB, DLT_NULL, DLT_RAW, DLT_LINUX_SLL, 276};
    o->pc = pcap_open_dead(dlt[link], 65535);
    cr_assert(o->pc);
    o->d = pcap_dump_open(o->pc, path);
    cr_assert(o->d, "%s", pcap_geterr(o->pc));
    o->link = link;
    o->v6 = v6;
    o->t = 1700000000LL * 1000000;
}

static void close_out(struct pcap_out *o)
{
    pcap_dump_close(o->d);
    pcap_close(o->pc);
}

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

#define CLI   0
#define SRV   1
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10

/* Writes one TCP segment from the client (10.0.0.1:40000) or the server (10.0.0.2:80), or
 * their IPv6 twins, wrapped in the file's link layer. */
static void seg(struct pcap_out *o, int from, uint32_t seq, unsigned flags, const char *payload)
{
    unsigned char pkt[4096];
    size_t plen = payload ? strlen(payload) : 0;
    size_t link = 0;
    switch (o->link) {
    case L_ETH:
    case L_VLAN: {
        memset(pkt, 0, 12);
        pkt[5] = 1;
        size_t at = 12;
        if (o->link == L_VLAN) {
            put16(pkt + at, 0x8100);
            put16(pkt + at + 2, 7);
            at += 4;
        }
        put16(pkt + at, o->v6 ? 0x86dd : 0x0800);
        link = at + 2;
        break;
    }
    case L_NULL:
        memset(pkt, 0, 4);
        pkt[0] = o->v6 ? 30 : 2; /* host byte order, little-endian here; reprise reads IP */
        link = 4;
        break;
    case L_RAW:
        link = 0;
        break;
    case L_SLL:
        memset(pkt, 0, 16);
        put16(pkt + 14, o->v6 ? 0x86dd : 0x0800);
        link = 16;
        break;
    case L_SLL2:
        memset(pkt, 0, 20);
        put16(pkt, o->v6 ? 0x86dd : 0x0800);
        link = 20;
        break;
    }
    unsigned char *ip = pkt + link;
    size_t iph = o->v6 ? 40 : 20;
    unsigned char *tcp = ip + iph;
    memset(ip, 0, iph + 20);
    if (o->v6) {
        ip[0] = 0x60;
        put16(ip + 4, (unsigned)(20 + plen));
        ip[6] = 6;
        ip[7] = 64;
        ip[8] = 0x20;
        ip[9] = 0x01;
        ip[23] = from == CLI ? 1 : 2;
        ip[24] = 0x20;
        ip[25] = 0x01;
        ip[39] = from == CLI ? 2 : 1;
    } else {
        ip[0] = 0x45;
        put16(ip + 2, (unsigned)(20 + 20 + plen));
        ip[8] = 64;
        ip[9] = 6;
        unsigned char a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
        memcpy(ip + 12, from == CLI ? a : b, 4);
        memcpy(ip + 16, from == CLI ? b : a, 4);
    }
    put16(tcp, from == CLI ? 40000 : 80);
    put16(tcp + 2, from == CLI ? 80 : 40000);
    put32(tcp + 4, seq);
    tcp[12] = 5 << 4;
    tcp[13] = (unsigned char)flags;
    memcpy(tcp + 20, payload ? payload : "", plen);
    struct pcap_pkthdr h;
    o->t += 1000;
    h.ts.tv_sec = (time_t)(o->t / 1000000);
    h.ts.tv_usec = (suseconds_t)(o->t % 1000000);
    h.caplen = h.len = (bpf_u_int32)(link + iph + 20 + plen);
    pcap_dump((u_char *)o->d, &h, pkt);
}

#define REQ "GET /a HTTP/1.1\r\nHost: shop.test\r\n\r\n"
#define RSP "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

struct result {
    size_t n;
    struct rp_exchange ex[8];
    struct rp_capture_stats st;
};

/* Captures path through an intake configured by io (output and source filled in here) into a
 * recording and reads its exchanges back. */
static void run_with(const char *path, struct rp_intake_opts io, struct result *r)
{
    memset(r, 0, sizeof(*r));
    char *out = path_in(dir, "out.jsonl.gz");
    struct rp_capture_opts opts = {.file = path};
    struct rp_capture *c = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_capture_open(&opts, &c, &err), RP_OK, "%s", err.msg);
    io.output = out;
    io.name = "t";
    io.source_kind = "capture";
    struct rp_intake *in = NULL;
    cr_assert_eq(rp_intake_new(&io, &in, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_capture_run(c, in, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(rp_intake_close(in, &err), RP_OK);
    rp_intake_free(in);
    rp_capture_get_stats(c, &r->st);
    rp_capture_free(c);
    struct rp_reader *rd = NULL;
    cr_assert_eq(rp_reader_open(out, NULL, &rd, &err), RP_OK, "%s", err.msg);
    for (;;) {
        cr_assert_lt(r->n, 8);
        rp_exchange_init(&r->ex[r->n]);
        bool got = false;
        cr_assert_eq(rp_reader_next(rd, &r->ex[r->n], &got, &err), RP_OK);
        if (!got) {
            rp_exchange_cleanup(&r->ex[r->n]);
            break;
        }
        r->n++;
    }
    rp_reader_free(rd);
    free(out);
}

/* Captures path with nothing left out and nothing scrubbed: what was on the wire. */
static void run(const char *path, struct result *r)
{
    run_with(path, (struct rp_intake_opts){.include_static = true, .no_redact = true}, r);
}

static void result_cleanup(struct result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        rp_exchange_cleanup(&r->ex[i]);
    }
}

static void assert_get_hello(const struct rp_exchange *ex)
{
    cr_assert_str_eq(ex->req.method, "GET");
    cr_assert_str_eq(ex->req.url, "http://shop.test/a");
    cr_assert(ex->has_response);
    cr_assert_eq(ex->resp.status, 200);
    cr_assert_eq(ex->resp.body.len, 5);
    cr_assert_eq(memcmp(ex->resp.body.data, "hello", 5), 0);
    cr_assert_not(ex->incomplete);
}

/* A whole connection: handshake, one exchange, FIN both ways. */
static void simple_conn(struct pcap_out *o, uint32_t cisn, uint32_t sisn)
{
    seg(o, CLI, cisn, F_SYN, NULL);
    seg(o, SRV, sisn, F_SYN | F_ACK, NULL);
    seg(o, CLI, cisn + 1, F_ACK, REQ);
    seg(o, SRV, sisn + 1, F_ACK, RSP);
    seg(o, CLI, cisn + 1 + (uint32_t)strlen(REQ), F_FIN | F_ACK, NULL);
    seg(o, SRV, sisn + 1 + (uint32_t)strlen(RSP), F_FIN | F_ACK, NULL);
}

Test(capture, every_link_type_and_ip_version_gives_the_exchange)
{
    const enum link links[] = {L_ETH, L_VLAN, L_NULL, L_RAW, L_SLL, L_SLL2};
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        for (int v6 = 0; v6 < 2; v6++) {
            char *p = path_in(dir, "in.pcap");
            struct pcap_out o;
            open_out(&o, p, links[i], v6);
            simple_conn(&o, 1000, 5000);
            close_out(&o);
            struct result r;
            run(p, &r);
            cr_assert_eq(r.n, 1, "link %zu v6 %d", i, v6);
            assert_get_hello(&r.ex[0]);
            result_cleanup(&r);
            free(p);
        }
    }
}

Test(capture, reordered_retransmitted_and_overlapping_segments_read_in_order)
{
    char *p = path_in(dir, "in.pcap");
    struct pcap_out o;
    open_out(&o, p, L_ETH, false);
    seg(&o, CLI, 100, F_SYN, NULL);
    seg(&o, SRV, 900, F_SYN | F_ACK, NULL);
    /* The request in three pieces: last first, then the first twice, then one overlapping. */
    seg(&o, CLI, 101 + 20, F_ACK, REQ + 20);
    seg(&o, CLI, 101, F_ACK, "GET /a HT");
    seg(&o, CLI, 101, F_ACK, "GET /a HT");
    seg(&o, CLI, 101 + 4, F_ACK, "/a HTTP/1.1\r\nHost");
    seg(&o, SRV, 901, F_ACK, RSP);
    seg(&o, CLI, 101 + (uint32_t)strlen(REQ), F_RST, NULL);
    close_out(&o);
    struct result r;
    run(p, &r);
    cr_assert_eq(r.n, 1);
    assert_get_hello(&r.ex[0]);
    cr_assert_gt(r.st.retransmitted, 0);
    result_cleanup(&r);
    free(p);
}

Test(capture, sequence_numbers_wrapping_past_2_32_read_on)
{
    char *p = path_in(dir, "in.pcap");
    struct pcap_out o;
    open_out(&o, p, L_ETH, false);
    uint32_t c = 0xfffffff0u;
    seg(&o, CLI, c, F_SYN, NULL);
    seg(&o, SRV, 0xfffffffau, F_SYN | F_ACK, NULL);
    seg(&o, CLI, c + 1, F_ACK, "GET /a HTTP/1.1\r\n");
    seg(&o, CLI, c + 1 + 17, F_ACK, "Host: shop.test\r\n\r\n");
    seg(&o, SRV, 0xfffffffbu, F_ACK, RSP);
    close_out(&o);
    struct result r;
    run(p, &r);
    cr_assert_eq(r.n, 1);
    assert_get_hello(&r.ex[0]);
    result_cleanup(&r);
    free(p);
}

Test(capture, a_hole_in_a_body_keeps_the_exchange_marked_incomplete)
{
    char *p = path_in(dir, "in.pcap");
    struct pcap_out o;
    open_out(&o, p, L_ETH, false);
    seg(&o, CLI, 1, F_SYN, NULL);
    seg(&o, SRV, 7, F_SYN | F_ACK, NULL);
    seg(&o, CLI, 2, F_ACK, REQ);
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    seg(&o, SRV, 8, F_ACK, head);
    /* 4 bytes lost, then the last 3 of the body. */
    seg(&o, SRV, 8 + (uint32_t)strlen(head) + 4, F_ACK, "xyz");
    close_out(&o);
    struct result r;
    run(p, &r);
    cr_assert_eq(r.n, 1);
    cr_assert(r.ex[0].incomplete);
    cr_assert(r.ex[0].has_response);
    cr_assert_eq(r.ex[0].resp.body.len, 3);
    cr_assert_eq(memcmp(r.ex[0].resp.body.data, "abc", 3), 0);
    cr_assert_eq(r.st.gaps, 1);
    result_cleanup(&r);
    free(p);
}

Test(capture, a_new_syn_on_the_same_ports_is_a_new_connection)
{
    char *p = path_in(dir, "in.pcap");
    struct pcap_out o;
    open_out(&o, p, L_ETH, false);
    simple_conn(&o, 1000, 5000);
    simple_conn(&o, 77000, 99000);
    close_out(&o);
    struct result r;
    run(p, &r);
    cr_assert_eq(r.n, 2);
    assert_get_hello(&r.ex[0]);
    assert_get_hello(&r.ex[1]);
    cr_assert_neq(r.ex[0].conn_id, r.ex[1].conn_id);
    result_cleanup(&r);
    free(p);
}

Test(capture, data_before_its_syn_and_a_capture_without_syn_are_both_read)
{
    char *p = path_in(dir, "in.pcap");
    struct pcap_out o;
    open_out(&o, p, L_ETH, false);
    /* Shuffled: the response first, then the request, then the handshake. */
    seg(&o, SRV, 5001, F_ACK, RSP);
    seg(&o, CLI, 1001, F_ACK, REQ);
    seg(&o, SRV, 5000, F_SYN | F_ACK, NULL);
    seg(&o, CLI, 1000, F_SYN, NULL);
    close_out(&o);
    struct result r;
    run(p, &r);
    cr_assert_eq(r.n, 1);
    assert_get_hello(&r.ex[0]);
    result_cleanup(&r);

    open_out(&o, p, L_ETH, false);
    seg(&o, CLI, 1001, F_ACK, REQ);
    seg(&o, SRV, 5001, F_ACK, RSP);
    close_out(&o);
    run(p, &r);
    cr_assert_eq(r.n, 1);
    assert_get_hello(&r.ex[0]);
    result_cleanup(&r);
    free(p);
}

Test(capture, a_request_cut_by_a_reset_is_written_without_a_response)
{
    char *p = path_in(dir, "in.pcap");
    struct pcap_out o;
    open_out(&o, p, L_ETH, false);
    seg(&o, CLI, 1, F_SYN, NULL);
    seg(&o, SRV, 7, F_SYN | F_ACK, NULL);
    seg(&o, CLI, 2, F_ACK, REQ);
    seg(&o, SRV, 8, F_RST, NULL);
    seg(&o, SRV, 8, F_ACK, RSP); /* after the reset: ignored */
    close_out(&o);
    struct result r;
    run(p, &r);
    cr_assert_eq(r.n, 1);
    cr_assert_not(r.ex[0].has_response);
    cr_assert_str_eq(r.ex[0].req.url, "http://shop.test/a");
    result_cleanup(&r);
    free(p);
}

Test(capture, a_file_that_is_not_a_capture_is_a_format_error)
{
    char *p = path_in(dir, "junk.pcap");
    write_file(p, "not a pcap file at all", 22);
    struct rp_capture_opts opts = {.file = p};
    struct rp_capture *c = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_capture_open(&opts, &c, &err), RP_EFORMAT);
    cr_assert(strstr(err.msg, "junk.pcap"), "%s", err.msg);
    cr_assert_null(c);
    free(p);
}

Test(capture, goes_through_the_intake_static_assets_left_out_and_secrets_scrubbed)
{
    char *p = path_in(dir, "in.pcap");
    struct pcap_out o;
    open_out(&o, p, L_ETH, false);
    const char *req = "GET /logo.png HTTP/1.1\r\nHost: shop.test\r\n\r\n"
                      "POST /api/pay HTTP/1.1\r\nHost: shop.test\r\nX-Api-Key: k-123\r\n"
                      "Content-Type: application/json\r\nContent-Length: 18\r\n\r\n"
                      "{\"card\":\"4111-1\"}";
    const char *rsp = "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 3\r\n\r\nPNG"
                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: 2\r\n\r\n{}";
    seg(&o, CLI, 1000, F_SYN, NULL);
    seg(&o, SRV, 5000, F_SYN | F_ACK, NULL);
    seg(&o, CLI, 1001, F_ACK, req);
    seg(&o, SRV, 5001, F_ACK, rsp);
    seg(&o, CLI, 1001 + (uint32_t)strlen(req), F_FIN | F_ACK, NULL);
    seg(&o, SRV, 5001 + (uint32_t)strlen(rsp), F_FIN | F_ACK, NULL);
    close_out(&o);
    const char *fields[] = {"card"};
    struct result r;
    run_with(p, (struct rp_intake_opts){.redact_fields = fields, .n_redact_fields = 1}, &r);
    cr_assert_eq(r.n, 1);
    cr_assert_eq(r.st.exchanges, 1);
    cr_assert_eq(r.st.dropped, 1, "the PNG");
    cr_assert_str_eq(r.ex[0].req.url, "http://shop.test/api/pay");
    const struct rp_header *h = rp_headers_get(&r.ex[0].req.headers, "X-Api-Key", NULL);
    cr_assert_not_null(h);
    cr_assert_str_eq(h->value, "{{secret:x_api_key}}");
    const char *body = "{\"card\":\"{{secret:card}}\"}";
    cr_assert_eq(r.ex[0].req.body.len, strlen(body));
    cr_assert_eq(memcmp(r.ex[0].req.body.data, body, strlen(body)), 0);
    result_cleanup(&r);
    free(p);
}

/* Appends n bytes to f, then pads it with zeros to a multiple of four, as pcapng's blocks are. */
static void put_padded(FILE *f, const void *p, size_t n)
{
    static const unsigned char zero[4];
    cr_assert_eq(fwrite(p, 1, n, f), n);
    cr_assert_eq(fwrite(zero, 1, (4 - n % 4) % 4, f), (4 - n % 4) % 4);
}

static void put_u32(FILE *f, uint32_t v)
{
    put_padded(f, &v, 4); /* pcapng is written in the host's byte order, which SHB declares */
}

/*
 * Rewrites the classic pcap at src as a pcapng file at dst whose interface counts time in
 * whole seconds (if_tsresol 0) and whose packets are stamped first_sec, first_sec + 1, ...:
 * the only way a capture file gives libpcap a tv_sec past what a 32-bit pcap field holds.
 */
static void to_pcapng_seconds(const char *src, const char *dst, uint64_t first_sec)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *in = pcap_open_offline(src, errbuf);
    cr_assert(in, "%s", errbuf);
    FILE *f = fopen(dst, "wb");
    cr_assert(f);
    /* Section header block. */
    uint32_t shb[] = {0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0xFFFFFFFF, 0xFFFFFFFF, 28};
    shb[3] = 1; /* major 1, minor 0 (two 16-bit fields, little-endian here) */
    put_padded(f, shb, sizeof(shb));
    /* Interface description block: the link type, snaplen, and if_tsresol = 10^0. */
    uint32_t idb_head[] = {1, 32, (uint32_t)pcap_datalink(in), 65535};
    put_padded(f, idb_head, sizeof(idb_head));
    uint16_t tsresol[] = {9, 1};
    put_padded(f, tsresol, sizeof(tsresol));
    unsigned char zero_resol = 0;
    put_padded(f, &zero_resol, 1);
    put_u32(f, 0); /* opt_endofopt */
    put_u32(f, 32);
    /* One enhanced packet block per packet. */
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t t = first_sec;
    while (pcap_next_ex(in, &h, &data) == 1) {
        uint32_t len = 32 + (h->caplen + 3) / 4 * 4;
        uint32_t epb[] = {6, len, 0, (uint32_t)(t >> 32), (uint32_t)t, h->caplen, h->len};
        put_padded(f, epb, sizeof(epb));
        put_padded(f, data, h->caplen);
        put_u32(f, len);
        t++;
    }
    fclose(f);
    pcap_close(in);
}

Test(capture, a_timestamp_past_year_9999_is_read_as_the_last_second_of_9999)
{
    char *p = path_in(dir, "in.pcap");
    struct pcap_out o;
    open_out(&o, p, L_ETH, false);
    simple_conn(&o, 1000, 5000);
    close_out(&o);
    char *ng = path_in(dir, "far.pcapng");
    /* 2^44 seconds: times a million, past what int64_t holds (the fuzzer's find). */
    to_pcapng_seconds(p, ng, UINT64_C(1) << 44);
    struct result r;
    run(ng, &r); /* under UBSan: no overflow on the way */
    cr_assert_eq(r.n, 1);
    assert_get_hello(&r.ex[0]);
    cr_assert_eq(r.ex[0].start_us, INT64_C(253402300799) * 1000000, "%lld",
                 (long long)r.ex[0].start_us);
    result_cleanup(&r);
    free(ng);
    free(p);
}
