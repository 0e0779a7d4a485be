/* test_decode.c - unit tests for the packet decoder. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "pktbuild.h"
#include "util.h"

#ifndef CORPUS_DIR
#define CORPUS_DIR "/nonexistent"
#endif

static const struct defrag_config test_dcfg = {
    .max_trackers = 64, .memcap = 1 << 20, .timeout_sec = 30, .max_datagram = 65535 + 60,
};

static void assert_addr(const struct lw_addr *a, const char *txt)
{
    struct lw_addr want;
    char got[LW_ADDRSTRLEN];

    assert_int_equal(lw_addr_parse(txt, &want), 0);
    if (lw_addr_cmp(a, &want) != 0)
        fail_msg("address %s, want %s", lw_addr_str(a, got, sizeof(got)), txt);
}

static enum decode_result dec(struct decoder *d, struct packet *p, const struct pb *b)
{
    return decode_packet(d, p, b->buf, b->len, b->len, 1000000);
}

/* Packets refused, summed over the reasons (anomalies that let a packet
 * through are not reasons). */
static uint64_t event_sum(const struct decoder *d)
{
    uint64_t n = 0;
    int i;

    for (i = 0; i < DE_MAX; i++)
        if (!decode_event_keeps_packet((enum decode_event)i))
            n += d->stats.event[i];
    return n;
}

/* Decodes b alone and checks it is kept (DECODE_OK, not invalid) with
 * anomaly ev counted once: bad TCP options must not hide a segment. */
static void expect_anomaly(int dlt, const struct pb *b, enum decode_event ev)
{
    struct decoder d;
    struct packet p;

    assert_int_equal(decoder_init(&d, dlt, NULL), 0);
    assert_int_equal(dec(&d, &p, b), DECODE_OK);
    assert_int_equal(d.stats.event[ev], 1);
    assert_int_equal(d.stats.invalid, 0);
    assert_true(p.flags & PKT_F_HAS_PORTS);
    decoder_destroy(&d);
}

/* Decodes b alone with a fresh decoder and checks it is refused for ev only. */
static void expect_event(int dlt, const struct pb *b, enum decode_event ev)
{
    struct decoder d;
    struct packet p;
    enum decode_result r;

    assert_int_equal(decoder_init(&d, dlt, NULL), 0);
    r = dec(&d, &p, b);
    if (r != DECODE_INVALID || d.stats.event[ev] != 1)
        fail_msg("want %s, got result %d", decode_event_name(ev), (int)r);
    assert_int_equal(d.stats.invalid, 1);
    assert_int_equal(event_sum(&d), 1);
    decoder_destroy(&d);
}

/* Decodes b with a fresh decoder into p, expecting want. Returns the stats
 * through *st when given. */
static void expect_result(int dlt, const struct pb *b, struct packet *p,
                          enum decode_result want, struct decode_stats *st)
{
    struct decoder d;
    enum decode_result r;

    assert_int_equal(decoder_init(&d, dlt, NULL), 0);
    r = dec(&d, p, b);
    if (r != want) {
        int i;
        for (i = 0; i < DE_MAX; i++)
            if (d.stats.event[i])
                fprintf(stderr, "event %s\n", decode_event_name(i));
        fail_msg("result %d, want %d", (int)r, (int)want);
    }
    if (st)
        *st = d.stats;
    decoder_destroy(&d);
}

/* Appends IPv4 10.1.1.1:1234 -> 10.2.2.2:80 TCP with "GET /". */
static void inner_tcp4(struct pb *b)
{
    pb_ipv4(b, "10.1.1.1", "10.2.2.2", 6);
    pb_tcp(b, 1234, 80, TH_PSH | TH_ACK, 1000, 2000);
    pb_str(b, "GET /");
}

static void assert_inner_tcp4(const struct packet *p)
{
    assert_int_equal(p->ip_version, 4);
    assert_addr(&p->src, "10.1.1.1");
    assert_addr(&p->dst, "10.2.2.2");
    assert_int_equal(p->proto, 6);
    assert_true(p->flags & PKT_F_HAS_PORTS);
    assert_int_equal(p->sport, 1234);
    assert_int_equal(p->dport, 80);
    assert_int_equal(p->payload_len, 5);
    assert_memory_equal(p->payload, "GET /", 5);
}

/* ------------------------------------------------------------ names */

static void test_names(void **state)
{
    assert_string_equal(decode_layer_name(DECODE_LAYER_ethernet), "ethernet");
    assert_string_equal(decode_layer_name(DECODE_LAYER_vlan_qinq), "vlan_qinq");
    assert_string_equal(decode_layer_name(DECODE_LAYER_other), "other");
    assert_string_equal(decode_layer_name(DECODE_LAYER_MAX), "unknown");
    assert_string_equal(decode_event_name(DE_LINK_UNSUPPORTED), "link.unsupported");
    assert_string_equal(decode_event_name(DE_IPV4_BAD_OPT), "ipv4.bad_option");
    assert_string_equal(decode_event_name(DE_FRAG_BAD_LEN), "defrag.bad_len");
    assert_string_equal(decode_event_name(DE_MAX), "unknown");
}

static void test_datalinks(void **state)
{
    static const int yes[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, 101,
                               DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP, DLT_PPP, DLT_C_HDLC };
    static const int no[] = { DLT_IEEE802_11, DLT_IEEE802_11_RADIO, DLT_PPP_SERIAL, 147, -1 };
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_int_equal(decode_datalink_supported(yes[i]), 1);
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_int_equal(decode_datalink_supported(no[i]), 0);
}

static void test_unsupported_link(void **state)
{
    struct pb b;

    pb_init(&b);
    pb_zero(&b, 40);
    expect_event(DLT_IEEE802_11, &b, DE_LINK_UNSUPPORTED);
}

/* ------------------------------------------------------------ Ethernet, IPv4, TCP */

static void test_eth_ipv4_tcp(void **state)
{
    struct decoder d;
    struct packet p;
    struct pb b;

    pb_init(&b);
    pb_eth(&b, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);

    assert_int_equal(decoder_init(&d, DLT_EN10MB, NULL), 0);
    assert_int_equal(dec(&d, &p, &b), DECODE_OK);
    assert_inner_tcp4(&p);
    assert_int_equal(p.tcp_flags, TH_PSH | TH_ACK);
    assert_int_equal(p.tcp_seq, 1000);
    assert_int_equal(p.tcp_ack, 2000);
    assert_int_equal(p.tcp_win, 65535);
    assert_int_equal(p.ttl, 64);
    assert_ptr_equal(p.l3, b.buf + 14);
    assert_int_equal(p.l3_len, 45);
    assert_ptr_equal(p.l4, b.buf + 34);
    assert_int_equal(p.l4_len, 25);
    assert_int_equal(p.vlan_count, 0);
    assert_int_equal(p.tunnel.depth, 0);
    assert_false(p.flags & PKT_F_TRUNCATED_L7);
    assert_int_equal(d.stats.pkts, 1);
    assert_int_equal(d.stats.bytes, 59);
    assert_int_equal(d.stats.max_pkt_size, 59);
    assert_int_equal(d.stats.layer[DECODE_LAYER_ethernet], 1);
    assert_int_equal(d.stats.layer[DECODE_LAYER_ipv4], 1);
    assert_int_equal(d.stats.layer[DECODE_LAYER_tcp], 1);
    assert_int_equal(d.stats.layer[DECODE_LAYER_udp], 0);
    assert_int_equal(d.stats.invalid, 0);

    /* A second packet counts again; max_pkt_size keeps the largest. */
    assert_int_equal(decode_packet(&d, &p, b.buf, b.len, 1500, 2), DECODE_OK);
    assert_int_equal(d.stats.pkts, 2);
    assert_int_equal(d.stats.bytes, 59 + 1500);
    assert_int_equal(d.stats.max_pkt_size, 1500);
    assert_int_equal(d.stats.layer[DECODE_LAYER_tcp], 2);
    decoder_destroy(&d);
}

static void test_eth_padding_excluded(void **state)
{
    struct packet p;
    struct pb b;

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.1", "192.0.2.2", 17);
    pb_udp(&b, 5000, 53);
    pb_str(&b, "abcd");
    pb_finish(&b);
    pb_zero(&b, 60 - b.len);            /* minimum Ethernet frame */
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_int_equal(p.l3_len, 32);
    assert_int_equal(p.l4_len, 12);
    assert_int_equal(p.payload_len, 4);
    assert_memory_equal(p.payload, "abcd", 4);
    assert_false(p.flags & PKT_F_TRUNCATED_L7);
}

static void test_snaplen_cut(void **state)
{
    struct decoder d;
    struct packet p;
    struct pb b;
    char data[200];

    memset(data, 'x', sizeof(data));
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.1", "192.0.2.2", 6);
    pb_tcp(&b, 443, 50000, TH_ACK, 1, 1);
    pb_bytes(&b, data, sizeof(data));
    pb_finish(&b);

    /* Cut by the snap length: decoded, payload bounded by what was captured. */
    assert_int_equal(decoder_init(&d, DLT_EN10MB, NULL), 0);
    assert_int_equal(decode_packet(&d, &p, b.buf, 100, b.len, 1), DECODE_OK);
    assert_true(p.flags & PKT_F_TRUNCATED_L7);
    assert_int_equal(p.l3_len, 86);
    assert_int_equal(p.payload_len, 100 - 54);
    assert_int_equal(p.sport, 443);
    decoder_destroy(&d);

    /* The same bytes as a whole frame: the total length lies. */
    b.len = 100;
    expect_event(DLT_EN10MB, &b, DE_IPV4_BAD_TOTLEN);
}

static void test_ipv4_malformed(void **state)
{
    static const uint8_t good_opt[8] = { 1, 1, 7, 3, 4, 0, 0, 0 };   /* NOP NOP RR(3) EOL */
    static const uint8_t bad_opt[4] = { 1, 7, 9, 4 };               /* RR claims 9 > room */
    static const uint8_t zero_opt[4] = { 0x44, 0, 0, 0 };           /* length 0 */
    struct packet p;
    struct pb b;
    uint32_t ip;

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4_opt(&b, "10.0.0.1", "10.0.0.2", 17, good_opt, sizeof(good_opt));
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_true(p.flags & PKT_F_IPV4_OPTIONS);
    assert_int_equal(p.dport, 2);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4_opt(&b, "10.0.0.1", "10.0.0.2", 17, bad_opt, sizeof(bad_opt));
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_IPV4_BAD_OPT);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4_opt(&b, "10.0.0.1", "10.0.0.2", 17, zero_opt, sizeof(zero_opt));
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_IPV4_BAD_OPT);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    ip = pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    pb_put8(&b, ip, 0x44);
    expect_event(DLT_EN10MB, &b, DE_IPV4_BAD_HLEN);
    pb_put8(&b, ip, 0x55);
    expect_event(DLT_EN10MB, &b, DE_IPV4_BAD_VERSION);
    pb_put8(&b, ip, 0x45);
    pb_put16(&b, ip + 2, 19);
    expect_event(DLT_EN10MB, &b, DE_IPV4_BAD_TOTLEN);
    pb_put16(&b, ip + 2, 29);
    expect_event(DLT_EN10MB, &b, DE_IPV4_BAD_TOTLEN);
    pb_put8(&b, ip, 0x4f);              /* 60-byte header, frame has 28 */
    pb_put16(&b, ip + 2, 28);
    expect_event(DLT_EN10MB, &b, DE_IPV4_BAD_TOTLEN);
    b.len = 14 + 19;
    expect_event(DLT_EN10MB, &b, DE_IPV4_TRUNCATED);
}

/* ------------------------------------------------------------ VLAN, MPLS, PPPoE, non-IP */

static void test_vlan(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;

    pb_init(&b);
    pb_eth(&b, 0x8100);
    pb_vlan(&b, 0x123 | 0xe000, 0x0800);    /* priority bits are not part of the id */
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_int_equal(p.vlan_count, 1);
    assert_int_equal(p.vlan[0], 0x123);
    assert_int_equal(st.layer[DECODE_LAYER_vlan], 1);
    assert_int_equal(st.layer[DECODE_LAYER_vlan_qinq], 0);
    assert_inner_tcp4(&p);

    pb_init(&b);
    pb_eth(&b, 0x88a8);
    pb_vlan(&b, 100, 0x8100);
    pb_vlan(&b, 200, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_int_equal(p.vlan_count, 2);
    assert_int_equal(p.vlan[0], 100);
    assert_int_equal(p.vlan[1], 200);
    assert_int_equal(st.layer[DECODE_LAYER_vlan], 1);
    assert_int_equal(st.layer[DECODE_LAYER_vlan_qinq], 1);
    assert_inner_tcp4(&p);

    pb_init(&b);
    pb_eth(&b, 0x9100);
    pb_vlan(&b, 1, 0x8100);
    pb_vlan(&b, 2, 0x8100);
    pb_vlan(&b, 3, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_VLAN_TOO_MANY);

    pb_init(&b);
    pb_eth(&b, 0x8100);
    pb_zero(&b, 3);
    expect_event(DLT_EN10MB, &b, DE_VLAN_TRUNCATED);
}

static void test_not_ip(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;

    pb_init(&b);
    pb_eth(&b, 46);                     /* 802.3 length field, LLC follows */
    pb_zero(&b, 46);
    expect_result(DLT_EN10MB, &b, &p, DECODE_NOT_IP, &st);
    assert_int_equal(st.layer[DECODE_LAYER_other], 1);
    assert_int_equal(st.layer[DECODE_LAYER_ethernet], 1);
    assert_int_equal(st.invalid, 0);

    pb_init(&b);
    pb_eth(&b, 0x0806);
    pb_zero(&b, 28);
    expect_result(DLT_EN10MB, &b, &p, DECODE_NOT_IP, &st);
    assert_int_equal(st.layer[DECODE_LAYER_arp], 1);
    assert_int_equal(st.layer[DECODE_LAYER_other], 0);

    pb_init(&b);
    pb_eth(&b, 0x8863);
    pb_zero(&b, 20);
    expect_result(DLT_EN10MB, &b, &p, DECODE_NOT_IP, &st);

    pb_init(&b);
    pb_eth(&b, 0x88cc);                 /* LLDP */
    pb_zero(&b, 30);
    expect_result(DLT_EN10MB, &b, &p, DECODE_NOT_IP, &st);
    assert_int_equal(st.layer[DECODE_LAYER_other], 1);

    pb_init(&b);
    pb_zero(&b, 13);
    expect_event(DLT_EN10MB, &b, DE_ETH_TRUNCATED);
}

/* Appends an NSH header: MD type md, hlen4 4-byte words, next protocol
 * next, version ver; SPI 258, SI 255. Returns its offset. */
static uint32_t pb_nsh(struct pb *b, uint8_t ver, uint8_t md, uint8_t hlen4, uint8_t next)
{
    uint32_t off = pb_zero(b, hlen4 >= 2 ? hlen4 * 4u : 8u);

    pb_put8(b, off, (uint8_t)(ver << 6));
    pb_put8(b, off + 1, hlen4 & 0x3f);
    pb_put8(b, off + 2, md);
    pb_put8(b, off + 3, next);
    pb_put32(b, off + 4, 258u << 8 | 255u);
    return off;
}

/* NSH (RFC 8300): MD types 1 and 2 over IPv4, IPv6, Ethernet and MPLS, and
 * every reason it refuses. */
static void test_nsh(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;
    static const struct { uint8_t ver, md, hlen4, next; enum decode_event ev; } bad[] = {
        { 1, 1, 6, 1, DE_NSH_BAD_VERSION },
        { 0, 0, 6, 1, DE_NSH_RESERVED_TYPE },
        { 0, 15, 6, 1, DE_NSH_RESERVED_TYPE },
        { 0, 3, 6, 1, DE_NSH_UNSUPPORTED_TYPE },
        { 0, 1, 5, 1, DE_NSH_BAD_LEN },        /* type 1 is always 6 words */
        { 0, 2, 1, 1, DE_NSH_BAD_LEN },        /* shorter than its own 8 bytes */
        { 0, 1, 6, 4, DE_NSH_UNKNOWN_PAYLOAD }, /* NSH in NSH, as Suricata */
    };

    (void)state;
    /* MD type 1 (24 bytes) over IPv4 */
    pb_init(&b);
    pb_eth(&b, 0x894f);
    pb_nsh(&b, 0, 1, 6, 1);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_int_equal(st.layer[DECODE_LAYER_nsh], 1);
    assert_int_equal(st.layer[DECODE_LAYER_ethernet], 1);

    /* MD type 2 with 8 bytes of context (4 words) over IPv6 */
    pb_init(&b);
    pb_eth(&b, 0x894f);
    pb_nsh(&b, 0, 2, 4, 2);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_int_equal(p.ip_version, 6);
    assert_int_equal(p.dport, 2);
    assert_int_equal(st.layer[DECODE_LAYER_nsh], 1);

    /* Ethernet inside, and MPLS inside */
    pb_init(&b);
    pb_eth(&b, 0x894f);
    pb_nsh(&b, 0, 1, 6, 3);
    pb_eth(&b, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_int_equal(st.layer[DECODE_LAYER_ethernet], 1);   /* counted once per packet */
    pb_init(&b);
    pb_eth(&b, 0x894f);
    pb_nsh(&b, 0, 1, 6, 5);
    pb_mpls(&b, 16, 1);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_int_equal(st.layer[DECODE_LAYER_mpls], 1);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pb_init(&b);
        pb_eth(&b, 0x894f);
        pb_nsh(&b, bad[i].ver, bad[i].md, bad[i].hlen4, bad[i].next);
        inner_tcp4(&b);
        pb_finish(&b);
        expect_event(DLT_EN10MB, &b, bad[i].ev);
    }

    /* cut inside the header, and inside its context headers */
    pb_init(&b);
    pb_eth(&b, 0x894f);
    pb_nsh(&b, 0, 1, 6, 1);
    pb_finish(&b);
    b.len = 14 + 7;
    expect_event(DLT_EN10MB, &b, DE_NSH_TRUNCATED);
    b.len = 14 + 20;
    expect_event(DLT_EN10MB, &b, DE_NSH_TRUNCATED);

    /* NSH, Ethernet, NSH, ...: at most PKT_MAX_TUNNEL_DEPTH headers */
    pb_init(&b);
    pb_eth(&b, 0x894f);
    for (int i = 0; i < PKT_MAX_TUNNEL_DEPTH; i++) {
        pb_nsh(&b, 0, 1, 6, 3);
        pb_eth(&b, 0x894f);
    }
    pb_nsh(&b, 0, 1, 6, 1);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_NSH_TOO_MANY);
}

static void test_mpls(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;
    int i;

    pb_init(&b);
    pb_eth(&b, 0x8847);
    pb_mpls(&b, 16, 0);
    pb_mpls(&b, 17, 1);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_int_equal(p.mpls_count, 2);
    assert_int_equal(st.layer[DECODE_LAYER_mpls], 1);
    assert_inner_tcp4(&p);

    /* Ethernet pseudowire behind a control word, with a VLAN inside. */
    pb_init(&b);
    pb_eth(&b, 0x8848);
    pb_mpls(&b, 100, 1);
    pb_zero(&b, 4);
    pb_eth(&b, 0x8100);
    pb_vlan(&b, 42, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 17);
    pb_udp(&b, 53, 5353);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_int_equal(p.ip_version, 6);
    assert_addr(&p.dst, "2001:db8::2");
    assert_int_equal(p.vlan_count, 1);
    assert_int_equal(p.vlan[0], 42);
    assert_int_equal(p.dport, 5353);
    assert_int_equal(st.layer[DECODE_LAYER_ethernet], 1);

    pb_init(&b);
    pb_eth(&b, 0x8847);
    pb_mpls(&b, 16, 1);
    pb_put8(&b, pb_zero(&b, 30), 0x90);
    expect_event(DLT_EN10MB, &b, DE_MPLS_BAD_PAYLOAD);

    pb_init(&b);
    pb_eth(&b, 0x8847);
    pb_mpls(&b, 16, 1);
    pb_zero(&b, 10);                    /* nibble 0 but too short for a pseudowire */
    expect_event(DLT_EN10MB, &b, DE_MPLS_BAD_PAYLOAD);

    pb_init(&b);
    pb_eth(&b, 0x8847);
    for (i = 0; i < PKT_MAX_MPLS_LABELS; i++)
        pb_mpls(&b, 16 + (uint32_t)i, 0);
    pb_mpls(&b, 99, 1);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_MPLS_TOO_MANY);

    pb_init(&b);
    pb_eth(&b, 0x8847);
    pb_mpls(&b, 16, 0);
    pb_zero(&b, 2);
    expect_event(DLT_EN10MB, &b, DE_MPLS_TRUNCATED);
}

static void test_pppoe(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;
    uint32_t ph;

    pb_init(&b);
    pb_eth(&b, 0x8100);
    pb_vlan(&b, 7, 0x8864);
    ph = pb_pppoe(&b, 0x55, 0x0021);
    inner_tcp4(&b);
    pb_finish(&b);
    pb_zero(&b, 10);                    /* padding after the PPPoE payload */
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_int_equal(p.vlan[0], 7);
    assert_int_equal(st.layer[DECODE_LAYER_pppoe], 1);

    pb_put16(&b, ph + 4, 1000);
    expect_event(DLT_EN10MB, &b, DE_PPPOE_BAD_LEN);
    pb_put16(&b, ph + 4, 1);
    expect_event(DLT_EN10MB, &b, DE_PPPOE_BAD_LEN);
    pb_put8(&b, ph, 0x12);
    expect_event(DLT_EN10MB, &b, DE_PPPOE_BAD_VERSION);

    /* IPv6 over PPPoE; LCP is well formed but not IP. */
    pb_init(&b);
    pb_eth(&b, 0x8864);
    pb_pppoe(&b, 1, 0x0057);
    pb_ipv6(&b, "fe80::1", "ff02::1", 58);
    pb_icmp(&b, 135, 0);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_int_equal(p.icmp_type, 135);

    pb_init(&b);
    pb_eth(&b, 0x8864);
    pb_pppoe(&b, 1, 0xc021);
    pb_zero(&b, 10);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_NOT_IP, NULL);

    pb_init(&b);
    pb_eth(&b, 0x8864);
    pb_pppoe(&b, 1, 0x002b);            /* IPX: a data protocol we do not read */
    pb_zero(&b, 10);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_PPP_UNSUPPORTED);

    pb_init(&b);
    pb_eth(&b, 0x8864);
    pb_zero(&b, 7);
    expect_event(DLT_EN10MB, &b, DE_PPPOE_TRUNCATED);
}

/* ------------------------------------------------------------ other link types */

static void test_link_types(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;

    pb_init(&b);
    pb_sll(&b, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_LINUX_SLL, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_int_equal(st.layer[DECODE_LAYER_sll], 1);
    b.len = 15;
    expect_event(DLT_LINUX_SLL, &b, DE_SLL_TRUNCATED);

    pb_init(&b);
    pb_sll(&b, 0x0004);                 /* 802.2 LLC */
    pb_zero(&b, 20);
    expect_result(DLT_LINUX_SLL, &b, &p, DECODE_NOT_IP, NULL);

    pb_init(&b);
    pb_sll2(&b, 0x8100);
    pb_vlan(&b, 9, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_LINUX_SLL2, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_int_equal(p.vlan[0], 9);
    assert_int_equal(st.layer[DECODE_LAYER_sll2], 1);
    b.len = 19;
    expect_event(DLT_LINUX_SLL2, &b, DE_SLL2_TRUNCATED);

    pb_init(&b);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_RAW, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_int_equal(st.layer[DECODE_LAYER_raw], 1);
    expect_result(101, &b, &p, DECODE_OK, NULL);
    expect_result(DLT_IPV4, &b, &p, DECODE_OK, NULL);
    expect_event(DLT_IPV6, &b, DE_IPV6_BAD_VERSION);
    b.len = 39;
    expect_event(DLT_IPV6, &b, DE_IPV6_TRUNCATED);

    pb_init(&b);
    pb_ipv6(&b, "2001:db8::a", "2001:db8::b", 6);
    pb_tcp(&b, 22, 40000, TH_SYN, 5, 0);
    pb_finish(&b);
    expect_result(DLT_RAW, &b, &p, DECODE_OK, NULL);
    assert_int_equal(p.ip_version, 6);
    assert_int_equal(p.tcp_flags, TH_SYN);
    expect_result(DLT_IPV6, &b, &p, DECODE_OK, NULL);
    expect_event(DLT_IPV4, &b, DE_IPV4_BAD_VERSION);

    /* BSD loopback: host order (little endian here) and network order. */
    pb_init(&b);
    pb_null(&b, 2, 0);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_NULL, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_int_equal(st.layer[DECODE_LAYER_null], 1);
    pb_init(&b);
    pb_null(&b, 2, 1);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_LOOP, &b, &p, DECODE_OK, NULL);
    expect_result(DLT_NULL, &b, &p, DECODE_OK, NULL);
    pb_init(&b);
    pb_null(&b, 30, 1);
    pb_ipv6(&b, "::1", "::1", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    expect_result(DLT_LOOP, &b, &p, DECODE_OK, NULL);
    assert_int_equal(p.ip_version, 6);
    pb_init(&b);
    pb_null(&b, 24, 0);
    pb_ipv6(&b, "::1", "::1", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    expect_result(DLT_NULL, &b, &p, DECODE_OK, NULL);
    pb_put8(&b, 0, 7);
    expect_event(DLT_NULL, &b, DE_NULL_UNKNOWN_FAMILY);
    b.len = 3;
    expect_event(DLT_NULL, &b, DE_NULL_TRUNCATED);

    /* PPP with and without address/control; protocol field compression. */
    pb_init(&b);
    pb_ppp(&b, 0x0021, 1);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_PPP, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_int_equal(st.layer[DECODE_LAYER_ppp], 1);
    pb_init(&b);
    pb_ppp(&b, 0x0057, 0);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    expect_result(DLT_PPP, &b, &p, DECODE_OK, NULL);
    assert_int_equal(p.ip_version, 6);
    pb_init(&b);
    pb_put8(&b, pb_zero(&b, 1), 0x21);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_PPP, &b, &p, DECODE_OK, NULL);
    assert_inner_tcp4(&p);
    pb_init(&b);
    pb_ppp(&b, 0xc021, 1);
    pb_zero(&b, 8);
    expect_result(DLT_PPP, &b, &p, DECODE_NOT_IP, NULL);
    b.len = 3;
    expect_event(DLT_PPP, &b, DE_PPP_TRUNCATED);

    pb_init(&b);
    pb_chdlc(&b, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_C_HDLC, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_int_equal(st.layer[DECODE_LAYER_chdlc], 1);
    pb_init(&b);
    pb_chdlc(&b, 0x8847);
    pb_mpls(&b, 30, 1);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_C_HDLC, &b, &p, DECODE_OK, NULL);
    assert_int_equal(p.mpls_count, 1);
    b.len = 3;
    expect_event(DLT_C_HDLC, &b, DE_CHDLC_TRUNCATED);
}

/* ------------------------------------------------------------ IPv6 */

/* Whether p carries decoder event ev. */
static int has_ev(const struct packet *p, enum decode_event ev)
{
    for (uint8_t i = 0; i < p->nev; i++)
        if (p->ev[i] == ev)
            return 1;
    return 0;
}

/* Decodes b alone (Ethernet, no reassembly), expecting it to go through;
 * returns the decoder's counters. p's pointers stay valid with b. */
static struct decode_stats decode_ok(const struct pb *b, struct packet *p)
{
    struct decoder d;
    struct decode_stats st;

    assert_int_equal(decoder_init(&d, DLT_EN10MB, NULL), 0);
    assert_int_equal(dec(&d, p, b), DECODE_OK);
    st = d.stats;
    decoder_destroy(&d);
    return st;
}

/* Decodes b (IPv6 ... UDP 1 -> 2) and checks it goes through with exactly
 * the anomalies in want (DE_MAX ends the list), each counted once and kept
 * on the packet. */
static void expect_ipv6_anomalies(const struct pb *b, const enum decode_event *want)
{
    struct packet p;
    struct decode_stats st = decode_ok(b, &p);
    size_t n = 0;

    assert_int_equal(st.invalid, 0);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.sport, 1);
    assert_int_equal(p.dport, 2);
    for (; want[n] != DE_MAX; n++) {
        if (st.event[want[n]] != 1 || !has_ev(&p, want[n]))
            fail_msg("want %s once", decode_event_name(want[n]));
    }
    for (int i = 0; i < DE_MAX; i++) {
        int listed = 0;

        for (size_t k = 0; k < n; k++)
            listed |= want[k] == (enum decode_event)i;
        if (!listed && st.event[i])
            fail_msg("unexpected %s", decode_event_name(i));
    }
    assert_int_equal(p.nev, n);
}

/* IPv6, one hop-by-hop (type 0) or destination options (60) header whose
 * 6 option bytes are opt, UDP 1 -> 2: goes through with the anomalies want. */
static void ext_case(uint8_t type, const uint8_t opt[6], const enum decode_event *want)
{
    struct pb b;
    uint32_t e;

    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", type);
    e = pb_ipv6_ext(&b, 17, 0);
    for (uint32_t i = 0; i < 6; i++)
        pb_put8(&b, e + 2 + i, opt[i]);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    expect_ipv6_anomalies(&b, want);
}

/* Suricata's IPv6 extension header anomalies: each lets the packet through
 * (decoded to its UDP header) and is kept on it for decode-event rules. */
static void test_ipv6_anomalies(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;
    uint32_t e, e2;

    (void)state;
#define WANT(...) (const enum decode_event[]){ __VA_ARGS__, DE_MAX }
    /* one options header of 6 option bytes: destination options of PadN
     * only; hop-by-hop with an unknown option (no longer only padding) and
     * a zero-length PadN; a Router Alert without its 2-byte value */
    ext_case(60, (const uint8_t[6]){ 1, 4 }, WANT(DE_IPV6_DH_ONLY_PAD));
    ext_case(0, (const uint8_t[6]){ 0x3e, 2, 0, 0, 1, 0 }, WANT(DE_IPV6_HH_UNKNOWN_OPT, DE_IPV6_ZERO_LEN_PADN));
    ext_case(0, (const uint8_t[6]){ 5, 1 }, WANT(DE_IPV6_BAD_OPTLEN));

    /* an option longer than its header; then a Router Alert with its
     * value, which is neither padding nor an anomaly */
    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 60);
    e = pb_ipv6_ext(&b, 60, 0);
    pb_put8(&b, e + 2, 0x3e);
    pb_put8(&b, e + 3, 9);              /* 2 + 9 > 8, and > 8 - 1 as Suricata allows */
    e2 = pb_ipv6_ext(&b, 17, 0);
    pb_put8(&b, e2 + 2, 5);
    pb_put8(&b, e2 + 3, 2);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    expect_ipv6_anomalies(&b, WANT(DE_IPV6_BAD_OPTLEN));

    /* a second hop-by-hop, a third destination options header: stepped over */
    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 0);
    pb_ipv6_ext(&b, 0, 0);
    pb_ipv6_ext(&b, 60, 0);
    pb_ipv6_ext(&b, 60, 0);
    pb_ipv6_ext(&b, 60, 1);
    pb_ipv6_ext(&b, 17, 0);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    st = decode_ok(&b, &p);
    assert_int_equal(st.event[DE_IPV6_DUPL_HH], 1);
    assert_int_equal(st.event[DE_IPV6_DUPL_DH], 1);
    assert_int_equal(st.event[DE_IPV6_HH_ONLY_PAD], 1);   /* the first one's Pad1s */
    assert_int_equal(st.event[DE_IPV6_DH_ONLY_PAD], 2);   /* once per header, kept once */
    assert_true(has_ev(&p, DE_IPV6_DUPL_DH) && has_ev(&p, DE_IPV6_DUPL_HH));
    assert_ptr_equal(p.l4, b.buf + 14 + 40 + 8 + 8 + 8 + 16 + 8);
    assert_int_equal(p.dport, 2);

    /* routing header type 0, then a second routing header */
    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 43);
    pb_ipv6_ext(&b, 43, 0);             /* type byte 0 */
    e = pb_ipv6_ext(&b, 17, 0);
    pb_put8(&b, e + 2, 4);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    expect_ipv6_anomalies(&b, WANT(DE_IPV6_RH_TYPE_0, DE_IPV6_DUPL_RH));

    /* an atomic fragment header (offset 0, no more) with its reserved byte
     * set, then a second fragment header */
    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 44);
    e = pb_ipv6_frag(&b, 44, 0, 0, 7);
    pb_put8(&b, e + 1, 1);
    pb_ipv6_frag(&b, 17, 0, 0, 8);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    expect_ipv6_anomalies(&b, WANT(DE_IPV6_FH_RESERVED, DE_IPV6_USELESS_FH, DE_IPV6_DUPL_FH));

    /* AH with a non-zero reserved field */
    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 51);
    e = pb_zero(&b, 12);
    pb_put8(&b, e, 17);
    pb_put8(&b, e + 1, 1);
    pb_put8(&b, e + 3, 1);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    expect_ipv6_anomalies(&b, WANT(DE_IPV6_AH_RESERVED));
#undef WANT

    /* bytes after No Next Header: the packet goes on as an opaque one */
    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 59);
    pb_zero(&b, 4);
    pb_finish(&b);
    st = decode_ok(&b, &p);
    assert_int_equal(st.event[DE_IPV6_DATA_AFTER_NONE], 1);
    assert_true(has_ev(&p, DE_IPV6_DATA_AFTER_NONE));

    /* a first fragment whose length is not a multiple of 8 (no reassembly:
     * decoded as far as its bytes go) */
    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 44);
    pb_ipv6_frag(&b, 17, 0, 1, 9);
    pb_udp(&b, 1, 2);
    pb_zero(&b, 5);                     /* 8 + 5 bytes of fragment data */
    pb_finish(&b);
    st = decode_ok(&b, &p);
    assert_int_equal(st.event[DE_IPV6_FRAG_BAD_LEN], 1);
    assert_true(has_ev(&p, DE_IPV6_FRAG_BAD_LEN));
    assert_false(has_ev(&p, DE_IPV6_USELESS_FH));

    /* none of it on a plain packet */
    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    decode_ok(&b, &p);
    assert_int_equal(p.nev, 0);
}


static void test_ipv6_ext_chain(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;
    uint32_t ext;
    int i;

    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 0);
    pb_ipv6_ext(&b, 60, 0);             /* hop-by-hop */
    pb_ipv6_ext(&b, 43, 1);             /* destination options, 16 bytes */
    pb_ipv6_ext(&b, 51, 0);             /* routing */
    ext = pb_zero(&b, 12);              /* AH: (1 + 2) * 4 = 12 bytes */
    pb_put8(&b, ext, 6);
    pb_put8(&b, ext + 1, 1);
    pb_tcp(&b, 5555, 443, TH_SYN, 1, 0);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_int_equal(p.ip_version, 6);
    assert_int_equal(p.proto, 6);
    assert_int_equal(p.sport, 5555);
    assert_int_equal(p.dport, 443);
    assert_true(p.flags & PKT_F_IPV6_EXTHDRS);
    assert_ptr_equal(p.l4, b.buf + 14 + 40 + 8 + 16 + 8 + 12);
    assert_int_equal(st.layer[DECODE_LAYER_ipv6], 1);

    /* ESP ends decoding; the rest is opaque. */
    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 60);
    pb_ipv6_ext(&b, 50, 0);
    pb_zero(&b, 32);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_int_equal(p.proto, 50);
    assert_int_equal(p.payload_len, 32);
    assert_false(p.flags & PKT_F_HAS_PORTS);

    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 60);
    for (i = 0; i < 9; i++)
        pb_ipv6_ext(&b, i == 8 ? 17 : 60, 0);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_IPV6_TOO_MANY_EXT);

    /* An extension header longer than the payload length allows. */
    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 0);
    ext = pb_ipv6_ext(&b, 17, 0);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    pb_put8(&b, ext + 1, 4);
    expect_event(DLT_EN10MB, &b, DE_IPV6_BAD_EXTHDR);

    pb_init(&b);
    pb_eth(&b, 0x86dd);
    ext = pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    pb_put16(&b, ext + 4, 9);
    expect_event(DLT_EN10MB, &b, DE_IPV6_BAD_PLEN);
    pb_put8(&b, ext, 0x40);
    expect_event(DLT_EN10MB, &b, DE_IPV6_BAD_VERSION);
    b.len = 14 + 39;
    expect_event(DLT_EN10MB, &b, DE_IPV6_TRUNCATED);
}

/* ------------------------------------------------------------ transport */

static void test_transport(void **state)
{
    static const uint8_t mss[4] = { 2, 4, 0x05, 0xb4 };
    static const uint8_t badopt[4] = { 1, 3, 9, 0 };
    struct decode_stats st;
    struct packet p;
    struct pb b;
    uint32_t l4;

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp_opt(&b, 1, 2, TH_SYN, mss, sizeof(mss));
    pb_str(&b, "xy");
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_int_equal(p.payload_len, 2);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp_opt(&b, 1, 2, TH_SYN, badopt, sizeof(badopt));
    pb_finish(&b);
    expect_anomaly(DLT_EN10MB, &b, DE_TCP_BAD_OPT);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    l4 = pb_tcp(&b, 1, 2, TH_SYN, 0, 0);
    pb_finish(&b);
    pb_put8(&b, l4 + 12, 0x40);
    expect_event(DLT_EN10MB, &b, DE_TCP_BAD_HLEN);
    pb_put8(&b, l4 + 12, 0x60);
    expect_event(DLT_EN10MB, &b, DE_TCP_BAD_HLEN);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_zero(&b, 19);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_TCP_TRUNCATED);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    l4 = pb_udp(&b, 1, 2);
    pb_str(&b, "0123456789");
    pb_finish(&b);
    pb_put16(&b, l4 + 4, 12);           /* UDP shorter than IP payload: bounds it */
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_int_equal(p.payload_len, 4);
    pb_put16(&b, l4 + 4, 19);
    expect_event(DLT_EN10MB, &b, DE_UDP_BAD_LEN);
    pb_put16(&b, l4 + 4, 7);
    expect_event(DLT_EN10MB, &b, DE_UDP_BAD_LEN);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    pb_zero(&b, 7);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_UDP_TRUNCATED);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 1);
    pb_icmp(&b, 8, 0);
    pb_str(&b, "ping");
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_int_equal(p.icmp_type, 8);
    assert_int_equal(p.icmp_code, 0);
    assert_int_equal(p.payload_len, 4);
    assert_false(p.flags & PKT_F_HAS_PORTS);
    assert_int_equal(st.layer[DECODE_LAYER_icmpv4], 1);
    b.len -= 8;
    pb_put16(&b, 14 + 2, 24);
    expect_event(DLT_EN10MB, &b, DE_ICMPV4_TRUNCATED);

    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 58);
    pb_icmp(&b, 1, 4);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_int_equal(p.icmp_type, 1);
    assert_int_equal(p.icmp_code, 4);
    assert_int_equal(st.layer[DECODE_LAYER_icmpv6], 1);

    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 58);
    pb_zero(&b, 7);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_ICMPV6_TRUNCATED);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 132);
    pb_sctp(&b, 2905, 2906);
    pb_zero(&b, 16);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_true(p.flags & PKT_F_HAS_PORTS);
    assert_int_equal(p.sport, 2905);
    assert_int_equal(p.dport, 2906);
    assert_int_equal(p.payload_len, 16);
    assert_int_equal(st.layer[DECODE_LAYER_sctp], 1);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 132);
    pb_zero(&b, 11);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_SCTP_TRUNCATED);

    /* A protocol not looked into: OK, no ports. */
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "224.0.0.5", 89);
    pb_zero(&b, 24);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_int_equal(p.proto, 89);
    assert_false(p.flags & PKT_F_HAS_PORTS);
}

/* ------------------------------------------------------------ fragments */

/* Two IPv4 fragments of one UDP datagram: 8 + 32 bytes of payload. */
static void build_frag4(struct pb *b, int second)
{
    uint32_t ip, udp;
    char data[32];

    memset(data, second ? 'b' : 'a', sizeof(data));
    pb_init(b);
    pb_eth(b, 0x8100);
    pb_vlan(b, 5, 0x0800);
    ip = pb_ipv4(b, "172.16.0.1", "172.16.0.2", 17);
    if (!second) {
        udp = pb_udp(b, 4000, 53);
        pb_bytes(b, data, 16);
        pb_finish(b);
        pb_put16(b, udp + 4, 8 + 32);
        pb_ipv4_frag(b, ip, 0, 1);
    } else {
        pb_bytes(b, data, 16);
        pb_ipv4_frag(b, ip, 24, 0);
        pb_finish(b);
    }
}

static void test_ipv4_frag_no_defrag(void **state)
{
    struct decoder d;
    struct packet p;
    struct pb b;

    assert_int_equal(decoder_init(&d, DLT_EN10MB, NULL), 0);
    build_frag4(&b, 0);
    assert_int_equal(dec(&d, &p, &b), DECODE_OK);
    assert_true(p.flags & PKT_F_HAS_PORTS);
    assert_int_equal(p.dport, 53);
    assert_int_equal(p.payload_len, 16);
    assert_true(p.flags & PKT_F_TRUNCATED_L7);

    build_frag4(&b, 1);
    assert_int_equal(dec(&d, &p, &b), DECODE_OK);
    assert_false(p.flags & PKT_F_HAS_PORTS);
    assert_int_equal(p.proto, 17);
    assert_addr(&p.src, "172.16.0.1");
    assert_int_equal(p.vlan[0], 5);
    assert_int_equal(d.stats.frag_ipv4, 2);
    assert_int_equal(d.stats.invalid, 0);
    decoder_destroy(&d);
}

static void test_ipv4_frag_defrag(void **state)
{
    struct decoder d;
    struct packet p;
    struct pb b;
    uint32_t e;

    assert_int_equal(decoder_init(&d, DLT_EN10MB, &test_dcfg), 0);
    assert_non_null(d.defrag);
    build_frag4(&b, 0);
    assert_int_equal(dec(&d, &p, &b), DECODE_HELD);
    build_frag4(&b, 1);
    assert_int_equal(dec(&d, &p, &b), DECODE_OK);
    assert_true(p.flags & PKT_F_REASSEMBLED);
    assert_true(p.flags & PKT_F_HAS_PORTS);
    assert_int_equal(p.sport, 4000);
    assert_int_equal(p.dport, 53);
    assert_int_equal(p.l3_len, 20 + 40);
    assert_int_equal(p.payload_len, 32);
    assert_memory_equal(p.payload, "aaaaaaaaaaaaaaaa", 16);
    assert_memory_equal(p.payload + 16, "bbbbbbbbbbbbbbbb", 16);
    assert_false(p.flags & PKT_F_TRUNCATED_L7);
    assert_int_equal(p.vlan[0], 5);
    assert_int_equal(d.stats.frag_ipv4, 2);
    assert_int_equal(d.stats.reassembled_ipv4, 1);
    assert_int_equal(d.stats.layer[DECODE_LAYER_ipv4], 2);
    assert_int_equal(d.stats.layer[DECODE_LAYER_udp], 1);
    assert_int_equal(d.stats.invalid, 0);

    /* A fragment the defragmenter refuses: its reason and one invalid. */
    pb_init(&b);
    pb_eth(&b, 0x0800);
    e = pb_ipv4(&b, "172.16.0.1", "172.16.0.2", 17);
    pb_zero(&b, 16);
    pb_ipv4_frag(&b, e, 65528, 0);
    pb_finish(&b);
    assert_int_equal(dec(&d, &p, &b), DECODE_INVALID);
    assert_int_equal(d.stats.event[DE_FRAG_TOO_LARGE], 1);
    assert_int_equal(d.stats.invalid, 1);
    assert_int_equal(event_sum(&d), 1);

    decoder_expire(&d, 100000000);
    decoder_destroy(&d);
    assert_null(d.defrag);
}

/* IPv6 fragments behind a hop-by-hop header: 8 + 32 bytes of UDP. */
static void build_frag6(struct pb *b, int second)
{
    uint32_t udp;
    char data[32];

    memset(data, second ? 'd' : 'c', sizeof(data));
    pb_init(b);
    pb_eth(b, 0x86dd);
    pb_ipv6(b, "2001:db8::1", "2001:db8::2", 0);
    pb_ipv6_ext(b, 44, 0);
    if (!second) {
        pb_ipv6_frag(b, 17, 0, 1, 0xabcd);
        udp = pb_udp(b, 4001, 53);
        pb_bytes(b, data, 16);
        pb_finish(b);
        pb_put16(b, udp + 4, 8 + 32);
    } else {
        pb_ipv6_frag(b, 17, 24, 0, 0xabcd);
        pb_bytes(b, data, 16);
        pb_finish(b);
    }
}

static void test_ipv6_frag(void **state)
{
    struct decoder d;
    struct packet p;
    struct pb b;

    assert_int_equal(decoder_init(&d, DLT_EN10MB, NULL), 0);
    build_frag6(&b, 0);
    assert_int_equal(dec(&d, &p, &b), DECODE_OK);
    assert_int_equal(p.dport, 53);
    assert_true(p.flags & PKT_F_TRUNCATED_L7);
    build_frag6(&b, 1);
    assert_int_equal(dec(&d, &p, &b), DECODE_OK);
    assert_int_equal(p.proto, 17);
    assert_false(p.flags & PKT_F_HAS_PORTS);
    assert_int_equal(d.stats.frag_ipv6, 2);
    decoder_destroy(&d);

    assert_int_equal(decoder_init(&d, DLT_EN10MB, &test_dcfg), 0);
    build_frag6(&b, 1);
    assert_int_equal(dec(&d, &p, &b), DECODE_HELD);
    build_frag6(&b, 0);
    assert_int_equal(dec(&d, &p, &b), DECODE_OK);
    assert_true(p.flags & PKT_F_REASSEMBLED);
    assert_int_equal(p.ip_version, 6);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.sport, 4001);
    assert_int_equal(p.payload_len, 32);
    assert_memory_equal(p.payload, "cccccccccccccccc", 16);
    assert_memory_equal(p.payload + 16, "dddddddddddddddd", 16);
    assert_int_equal(d.stats.reassembled_ipv6, 1);
    assert_int_equal(d.stats.invalid, 0);
    decoder_destroy(&d);

    /* An atomic fragment (offset 0, no more) is no fragment at all. */
    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 44);
    pb_ipv6_frag(&b, 17, 0, 0, 1);
    pb_udp(&b, 7, 8);
    pb_finish(&b);
    assert_int_equal(decoder_init(&d, DLT_EN10MB, &test_dcfg), 0);
    assert_int_equal(dec(&d, &p, &b), DECODE_OK);
    assert_int_equal(p.dport, 8);
    assert_int_equal(d.stats.frag_ipv6, 0);
    decoder_destroy(&d);
}

/* ------------------------------------------------------------ tunnels */

static void assert_outer(const struct packet *p, int type, int depth, uint32_t id,
                         const char *src, const char *dst, int proto)
{
    assert_int_equal(p->tunnel.type, type);
    assert_int_equal(p->tunnel.depth, depth);
    assert_int_equal(p->tunnel.id, id);
    assert_int_equal(p->tunnel.proto, proto);
    assert_addr(&p->tunnel.src, src);
    assert_addr(&p->tunnel.dst, dst);
}

static void test_gre(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;
    uint32_t g;

    pb_init(&b);
    pb_eth(&b, 0x8100);
    pb_vlan(&b, 10, 0x0800);
    pb_ipv4(&b, "198.51.100.1", "198.51.100.2", 47);
    pb_gre(&b, PB_GRE_C | PB_GRE_K | PB_GRE_S, 0x0800, 0xfeed, 1);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_outer(&p, TUNNEL_GRE, 1, 0xfeed, "198.51.100.1", "198.51.100.2", 47);
    assert_int_equal(p.tunnel.sport, 0);
    assert_int_equal(p.vlan[0], 10);
    assert_int_equal(p.vlan_count, 1);
    assert_int_equal(p.ttl, 64);
    assert_int_equal(st.layer[DECODE_LAYER_gre], 1);
    assert_int_equal(st.layer[DECODE_LAYER_ipv4], 1);

    /* Transparent Ethernet bridging; IPv6 outer. */
    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 47);
    pb_gre(&b, 0, 0x6558, 0, 0);
    pb_eth(&b, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_inner_tcp4(&p);
    assert_outer(&p, TUNNEL_GRE, 1, 0, "2001:db8::1", "2001:db8::2", 47);

    /* PPTP: enhanced GRE carrying PPP. */
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "198.51.100.1", "198.51.100.2", 47);
    pb_gre_v1(&b, 0x4242, 3);
    pb_ppp(&b, 0x0021, 1);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_inner_tcp4(&p);
    assert_outer(&p, TUNNEL_GRE, 1, 0x4242, "198.51.100.1", "198.51.100.2", 47);

    /* PPTP acknowledgment only: a plain GRE packet. */
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "198.51.100.1", "198.51.100.2", 47);
    pb_gre_v1(&b, 0x4242, 3);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_int_equal(p.tunnel.depth, 0);
    assert_int_equal(p.proto, 47);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "198.51.100.1", "198.51.100.2", 47);
    g = pb_gre(&b, PB_GRE_K, 0x1234, 1, 0);
    pb_zero(&b, 20);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_GRE_UNKNOWN_PAYLOAD);
    pb_put16(&b, g, 0x0002);
    expect_event(DLT_EN10MB, &b, DE_GRE_BAD_VERSION);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "198.51.100.1", "198.51.100.2", 47);
    g = pb_zero(&b, 6);
    pb_put16(&b, g, PB_GRE_K);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_GRE_TRUNCATED);
}

static void test_erspan(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;
    uint32_t e;

    /* Type II, outer VLAN 100, inner frame tagged 200, header VLAN 300. */
    pb_init(&b);
    pb_eth(&b, 0x8100);
    pb_vlan(&b, 100, 0x0800);
    pb_ipv4(&b, "192.0.2.10", "192.0.2.20", 47);
    pb_gre(&b, PB_GRE_S, 0x88be, 0, 77);
    e = pb_erspan2(&b, 0x155, 300);
    pb_eth(&b, 0x8100);
    pb_vlan(&b, 200, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_outer(&p, TUNNEL_ERSPAN, 1, 0x155, "192.0.2.10", "192.0.2.20", 47);
    assert_int_equal(p.vlan_count, 2);
    assert_int_equal(p.vlan[0], 100);
    assert_int_equal(p.vlan[1], 200);
    assert_int_equal(st.layer[DECODE_LAYER_erspan], 1);
    assert_int_equal(st.layer[DECODE_LAYER_gre], 1);
    assert_int_equal(st.layer[DECODE_LAYER_ethernet], 1);
    pb_put8(&b, e, 0x20);
    expect_event(DLT_EN10MB, &b, DE_ERSPAN_BAD_VERSION);

    /* Outer QinQ: no room for the inner tag, dropped silently. */
    pb_init(&b);
    pb_eth(&b, 0x88a8);
    pb_vlan(&b, 1, 0x8100);
    pb_vlan(&b, 2, 0x0800);
    pb_ipv4(&b, "192.0.2.10", "192.0.2.20", 47);
    pb_gre(&b, PB_GRE_S, 0x88be, 0, 77);
    pb_erspan2(&b, 9, 0);
    pb_eth(&b, 0x8100);
    pb_vlan(&b, 3, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_inner_tcp4(&p);
    assert_int_equal(p.vlan_count, 2);
    assert_int_equal(p.vlan[0], 1);
    assert_int_equal(p.vlan[1], 2);

    /* Type III with the platform-specific subheader. */
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.10", "192.0.2.20", 47);
    pb_gre(&b, PB_GRE_S, 0x22eb, 0, 1);
    e = pb_erspan3(&b, 0x3ff, 0, 1);
    pb_eth(&b, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_inner_tcp4(&p);
    assert_outer(&p, TUNNEL_ERSPAN, 1, 0x3ff, "192.0.2.10", "192.0.2.20", 47);
    pb_put8(&b, e, 0x10);
    expect_event(DLT_EN10MB, &b, DE_ERSPAN_BAD_VERSION);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.10", "192.0.2.20", 47);
    pb_gre(&b, PB_GRE_S, 0x22eb, 0, 1);
    pb_erspan3(&b, 1, 0, 0);
    pb_eth(&b, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_inner_tcp4(&p);

    /* Type I: no sequence number, no ERSPAN header. */
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.10", "192.0.2.20", 47);
    pb_gre(&b, 0, 0x88be, 0, 0);
    pb_eth(&b, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_inner_tcp4(&p);
    assert_outer(&p, TUNNEL_ERSPAN, 1, 0, "192.0.2.10", "192.0.2.20", 47);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.10", "192.0.2.20", 47);
    pb_gre(&b, PB_GRE_S, 0x88be, 0, 1);
    pb_zero(&b, 7);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_ERSPAN_TRUNCATED);
}

static void test_vxlan(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;
    uint32_t v;

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.10.0.1", "10.10.0.2", 17);
    pb_udp(&b, 49152, 4789);
    v = pb_vxlan(&b, 0x123456);
    pb_eth(&b, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_outer(&p, TUNNEL_VXLAN, 1, 0x123456, "10.10.0.1", "10.10.0.2", 17);
    assert_int_equal(p.tunnel.sport, 49152);
    assert_int_equal(p.tunnel.dport, 4789);
    assert_int_equal(st.layer[DECODE_LAYER_vxlan], 1);
    assert_int_equal(st.layer[DECODE_LAYER_udp], 1);
    assert_int_equal(st.layer[DECODE_LAYER_tcp], 1);
    pb_put8(&b, v, 0x00);
    expect_event(DLT_EN10MB, &b, DE_VXLAN_BAD_FLAGS);

    /* Linux's legacy port; inner ARP is not IP. */
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.10.0.1", "10.10.0.2", 17);
    pb_udp(&b, 49152, 8472);
    pb_vxlan(&b, 7);
    pb_eth(&b, 0x0806);
    pb_zero(&b, 28);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_NOT_IP, &st);
    assert_int_equal(st.layer[DECODE_LAYER_arp], 1);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.10.0.1", "10.10.0.2", 17);
    pb_udp(&b, 49152, 4789);
    pb_zero(&b, 7);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_VXLAN_TRUNCATED);
}

static void test_geneve(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;
    uint32_t g;

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.20.0.1", "10.20.0.2", 17);
    pb_udp(&b, 30000, 6081);
    g = pb_geneve(&b, 0xabcdef, 0x6558, 2);
    pb_eth(&b, 0x0800);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_outer(&p, TUNNEL_GENEVE, 1, 0xabcdef, "10.20.0.1", "10.20.0.2", 17);
    assert_int_equal(st.layer[DECODE_LAYER_geneve], 1);
    pb_put8(&b, g, 0x42);
    expect_event(DLT_EN10MB, &b, DE_GENEVE_BAD_VERSION);
    pb_put8(&b, g, 0x3f);
    expect_event(DLT_EN10MB, &b, DE_GENEVE_BAD_OPT_LEN);
    pb_put8(&b, g, 0x02);
    pb_put16(&b, g + 2, 0x1234);
    expect_event(DLT_EN10MB, &b, DE_GENEVE_UNKNOWN_PAYLOAD);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.20.0.1", "10.20.0.2", 17);
    pb_udp(&b, 30000, 6081);
    pb_geneve(&b, 5, 0x86dd, 0);
    pb_ipv6(&b, "2001:db8::5", "2001:db8::6", 17);
    pb_udp(&b, 1000, 2000);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_int_equal(p.ip_version, 6);
    assert_int_equal(p.sport, 1000);
    assert_int_equal(p.tunnel.id, 5);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.20.0.1", "10.20.0.2", 17);
    pb_udp(&b, 30000, 6081);
    pb_zero(&b, 5);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_GENEVE_TRUNCATED);
}

static void test_ipip(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "203.0.113.1", "203.0.113.2", 4);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_outer(&p, TUNNEL_IPIP, 1, 0, "203.0.113.1", "203.0.113.2", 4);
    assert_int_equal(st.layer[DECODE_LAYER_ipv4_in_ipv4], 1);
    assert_int_equal(st.layer[DECODE_LAYER_ipv4], 1);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "203.0.113.1", "203.0.113.2", 41);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_int_equal(p.ip_version, 6);
    assert_int_equal(st.layer[DECODE_LAYER_ipv6_in_ipv4], 1);

    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::a", "2001:db8::b", 4);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_inner_tcp4(&p);
    assert_outer(&p, TUNNEL_IPIP, 1, 0, "2001:db8::a", "2001:db8::b", 4);
    assert_int_equal(st.layer[DECODE_LAYER_ipv4_in_ipv6], 1);

    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::a", "2001:db8::b", 41);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 6);
    pb_tcp(&b, 1, 2, TH_SYN, 0, 0);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_addr(&p.src, "2001:db8::1");
    assert_int_equal(st.layer[DECODE_LAYER_ipv6_in_ipv6], 1);
}

static void test_tunnel_depth(void **state)
{
    struct packet p;
    struct pb b;
    int i;

    pb_init(&b);
    pb_eth(&b, 0x0800);
    for (i = 0; i < PKT_MAX_TUNNEL_DEPTH; i++)
        pb_ipv4(&b, "203.0.113.1", "203.0.113.2", 4);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_inner_tcp4(&p);
    assert_int_equal(p.tunnel.depth, PKT_MAX_TUNNEL_DEPTH);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    for (i = 0; i < PKT_MAX_TUNNEL_DEPTH + 1; i++)
        pb_ipv4(&b, "203.0.113.1", "203.0.113.2", 4);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_TUNNEL_TOO_DEEP);

    /* Mixed nesting: GRE (no key) > VXLAN > GENEVE > IP-in-IP > GRE. The
     * outermost tunnel names the type; the id is the outermost one set. */
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "1.1.1.1", "1.1.1.2", 47);
    pb_gre(&b, 0, 0x0800, 0, 0);
    pb_ipv4(&b, "2.2.2.1", "2.2.2.2", 17);
    pb_udp(&b, 1, 4789);
    pb_vxlan(&b, 99);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "3.3.3.1", "3.3.3.2", 17);
    pb_udp(&b, 1, 6081);
    pb_geneve(&b, 98, 0x0800, 0);
    pb_ipv4(&b, "4.4.4.1", "4.4.4.2", 4);
    pb_ipv4(&b, "5.5.5.1", "5.5.5.2", 47);
    pb_gre(&b, PB_GRE_K, 0x0800, 97, 0);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_TUNNEL_TOO_DEEP);
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "1.1.1.1", "1.1.1.2", 47);
    pb_gre(&b, 0, 0x0800, 0, 0);
    pb_ipv4(&b, "2.2.2.1", "2.2.2.2", 17);
    pb_udp(&b, 1, 4789);
    pb_vxlan(&b, 99);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "3.3.3.1", "3.3.3.2", 17);
    pb_udp(&b, 1, 6081);
    pb_geneve(&b, 98, 0x0800, 0);
    pb_ipv4(&b, "4.4.4.1", "4.4.4.2", 4);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_inner_tcp4(&p);
    assert_outer(&p, TUNNEL_GRE, 4, 99, "1.1.1.1", "1.1.1.2", 47);
}

static void test_teredo(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;
    uint32_t o;

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.1", "192.0.2.2", 17);
    pb_udp(&b, 3544, 50000);
    o = pb_zero(&b, 8);                 /* origin indication */
    pb_put16(&b, o + 2, 0x1234);
    pb_ipv6(&b, "2001:0:4136:e378::1", "2001:db8::9", 17);
    pb_udp(&b, 3000, 4000);
    pb_str(&b, "teredo");
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_int_equal(p.ip_version, 6);
    assert_addr(&p.src, "2001:0:4136:e378::1");
    assert_int_equal(p.dport, 4000);
    assert_int_equal(p.payload_len, 6);
    assert_outer(&p, TUNNEL_TEREDO, 1, 0, "192.0.2.1", "192.0.2.2", 17);
    assert_int_equal(p.tunnel.sport, 3544);
    assert_int_equal(st.layer[DECODE_LAYER_teredo], 1);

    /* Something else on the Teredo port stays plain UDP. */
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.1", "192.0.2.2", 17);
    pb_udp(&b, 50000, 3544);
    pb_put8(&b, pb_zero(&b, 60), 0x60);   /* version 6 but the length does not fit */
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_int_equal(p.ip_version, 4);
    assert_int_equal(p.tunnel.depth, 0);
    assert_int_equal(p.dport, 3544);
    assert_int_equal(p.payload_len, 60);
    assert_int_equal(st.layer[DECODE_LAYER_teredo], 0);
}

static void test_gtp(void **state)
{
    struct decode_stats st;
    struct packet p;
    struct pb b;
    uint32_t g;

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.50.0.1", "10.50.0.2", 17);
    pb_udp(&b, 2152, 2152);
    pb_gtpu(&b, 0xdeadbeef, 1);
    pb_ipv6(&b, "2001:db8::100", "2001:db8::200", 6);
    pb_tcp(&b, 33000, 443, TH_SYN, 0, 0);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_int_equal(p.ip_version, 6);
    assert_int_equal(p.dport, 443);
    assert_outer(&p, TUNNEL_GTP, 1, 0xdeadbeef, "10.50.0.1", "10.50.0.2", 17);
    assert_int_equal(st.layer[DECODE_LAYER_gtp], 1);

    /* With an extension header (PDU session container, 4 bytes). */
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.50.0.1", "10.50.0.2", 17);
    pb_udp(&b, 2152, 2152);
    g = pb_gtpu(&b, 7, 1);
    pb_put8(&b, g, 0x34);
    pb_put8(&b, g + 11, 0x85);
    pb_put8(&b, pb_zero(&b, 4), 1);
    inner_tcp4(&b);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, NULL);
    assert_inner_tcp4(&p);
    assert_int_equal(p.tunnel.id, 7);
    pb_put8(&b, g + 12, 0);             /* extension length 0 */
    expect_event(DLT_EN10MB, &b, DE_GTP_TRUNCATED);

    /* Echo request: plain UDP. */
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.50.0.1", "10.50.0.2", 17);
    pb_udp(&b, 2152, 2152);
    g = pb_gtpu(&b, 0, 1);
    pb_put8(&b, g + 1, 1);
    pb_finish(&b);
    expect_result(DLT_EN10MB, &b, &p, DECODE_OK, &st);
    assert_int_equal(p.tunnel.depth, 0);
    assert_int_equal(st.layer[DECODE_LAYER_gtp], 0);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.50.0.1", "10.50.0.2", 17);
    pb_udp(&b, 2152, 2152);
    pb_put8(&b, pb_zero(&b, 6), 0x30);
    pb_finish(&b);
    expect_event(DLT_EN10MB, &b, DE_GTP_TRUNCATED);
}

/* ------------------------------------------------------------ truncation */

struct cut { uint32_t at; enum decode_event ev; };

/* Cuts a VLAN-tagged VXLAN frame at every length. Cut by the snap length
 * (wire length kept) the key places give their layer's truncation reason and
 * a cut in the payload still decodes; cut as a whole frame, every cut inside
 * the outer datagram is refused. Counters always add up. */
static void test_truncation_loop(void **state)
{
    struct decoder d, dw;
    struct packet p;
    struct pb b;
    uint32_t ip_o, udp_o, vx, eth_i, ip_i, tcp_i, pay, i;
    enum decode_result r;

    pb_init(&b);
    pb_eth(&b, 0x8100);
    pb_vlan(&b, 3, 0x0800);
    ip_o = pb_ipv4(&b, "10.10.0.1", "10.10.0.2", 17);
    udp_o = pb_udp(&b, 49152, 4789);
    vx = pb_vxlan(&b, 0x42);
    eth_i = pb_eth(&b, 0x0800);
    ip_i = b.len;
    inner_tcp4(&b);
    tcp_i = ip_i + 20;
    pay = tcp_i + 20;
    pb_finish(&b);

    const struct cut cuts[] = {
        { 0, DE_ETH_TRUNCATED }, { 13, DE_ETH_TRUNCATED }, { 16, DE_VLAN_TRUNCATED },
        { ip_o + 19, DE_IPV4_TRUNCATED }, { udp_o + 7, DE_UDP_TRUNCATED },
        { vx + 7, DE_VXLAN_TRUNCATED }, { eth_i + 13, DE_ETH_TRUNCATED },
        { ip_i + 19, DE_IPV4_TRUNCATED }, { tcp_i + 19, DE_TCP_TRUNCATED },
    };
    size_t k;

    assert_int_equal(decoder_init(&d, DLT_EN10MB, &test_dcfg), 0);
    assert_int_equal(decoder_init(&dw, DLT_EN10MB, &test_dcfg), 0);
    for (k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
        uint64_t before = d.stats.event[cuts[k].ev];

        r = decode_packet(&d, &p, b.buf, cuts[k].at, b.len, 1);
        if (r != DECODE_INVALID || d.stats.event[cuts[k].ev] != before + 1)
            fail_msg("cut at %u: want %s", cuts[k].at, decode_event_name(cuts[k].ev));
    }
    for (i = 0; i < b.len; i++) {
        uint8_t *copy = malloc(i ? i : 1);

        /* A copy of exactly i bytes, so ASan sees any read past the cut. */
        memcpy(copy, b.buf, i);
        r = decode_packet(&d, &p, copy, i, b.len, 1);
        if (i >= pay) {
            assert_int_equal(r, DECODE_OK);
            assert_true(p.flags & PKT_F_TRUNCATED_L7);
            assert_int_equal(p.payload_len, i - pay);
            assert_int_equal(p.tunnel.id, 0x42);
        } else {
            assert_int_equal(r, DECODE_INVALID);
        }
        r = decode_packet(&dw, &p, copy, i, i, 1);
        if (i >= ip_o + 20)
            assert_int_equal(dw.stats.event[DE_IPV4_BAD_TOTLEN], i - (ip_o + 20) + 1);
        assert_int_equal(r, DECODE_INVALID);
        free(copy);
    }
    assert_int_equal(event_sum(&d), d.stats.invalid);
    assert_int_equal(event_sum(&dw), dw.stats.invalid);
    assert_int_equal(dw.stats.invalid, b.len);
    decoder_destroy(&d);
    decoder_destroy(&dw);
}

/* Every cut of a frame with each kind of tunnel and link type: no crash,
 * counters add up. ASan/UBSan do the rest. */
static void test_truncation_all(void **state)
{
    static const int dlts[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
                                DLT_NULL, DLT_PPP, DLT_C_HDLC };
    struct decoder d;
    struct packet p;
    struct pb frames[6];
    size_t f, k;
    uint32_t i;

    pb_init(&frames[0]);
    pb_eth(&frames[0], 0x8847);
    pb_mpls(&frames[0], 1, 1);
    pb_zero(&frames[0], 4);
    pb_eth(&frames[0], 0x8864);
    pb_pppoe(&frames[0], 1, 0x0021);
    pb_ipv4(&frames[0], "1.1.1.1", "1.1.1.2", 47);
    pb_gre(&frames[0], PB_GRE_S, 0x22eb, 0, 1);
    pb_erspan3(&frames[0], 3, 0, 1);
    pb_eth(&frames[0], 0x86dd);
    pb_ipv6(&frames[0], "2001:db8::1", "2001:db8::2", 0);
    pb_ipv6_ext(&frames[0], 17, 1);
    pb_udp(&frames[0], 1, 6081);
    pb_geneve(&frames[0], 3, 0x86dd, 3);
    pb_ipv6(&frames[0], "2001:db8::3", "2001:db8::4", 41);
    pb_ipv6(&frames[0], "2001:db8::5", "2001:db8::6", 6);
    pb_tcp(&frames[0], 1, 2, 0, 0, 0);
    pb_finish(&frames[0]);

    pb_init(&frames[1]);
    pb_ipv4(&frames[1], "1.1.1.1", "1.1.1.2", 17);
    pb_udp(&frames[1], 2152, 2152);
    pb_gtpu(&frames[1], 5, 1);
    pb_ipv4(&frames[1], "1.1.1.3", "1.1.1.4", 17);
    pb_udp(&frames[1], 3544, 9);
    pb_ipv6(&frames[1], "2001:db8::1", "2001:db8::2", 132);
    pb_sctp(&frames[1], 1, 2);
    pb_finish(&frames[1]);

    pb_init(&frames[2]);
    pb_ipv4(&frames[2], "1.1.1.1", "1.1.1.2", 47);
    pb_gre_v1(&frames[2], 1, 1);
    pb_ppp(&frames[2], 0x0057, 1);
    pb_ipv6(&frames[2], "2001:db8::1", "2001:db8::2", 58);
    pb_icmp(&frames[2], 128, 0);
    pb_finish(&frames[2]);

    pb_init(&frames[3]);
    pb_ipv6(&frames[3], "2001:db8::1", "2001:db8::2", 44);
    pb_ipv6_frag(&frames[3], 17, 0, 1, 5);
    pb_udp(&frames[3], 1, 4789);
    pb_vxlan(&frames[3], 1);
    pb_eth(&frames[3], 0x0800);
    pb_ipv4(&frames[3], "1.1.1.1", "1.1.1.2", 1);
    pb_icmp(&frames[3], 0, 0);
    pb_finish(&frames[3]);

    pb_init(&frames[4]);
    pb_ipv4(&frames[4], "1.1.1.1", "1.1.1.2", 47);
    pb_gre(&frames[4], PB_GRE_C | PB_GRE_K | PB_GRE_S, 0x6558, 1, 1);
    pb_eth(&frames[4], 0x88a8);
    pb_vlan(&frames[4], 1, 0x8100);
    pb_vlan(&frames[4], 2, 0x0800);
    inner_tcp4(&frames[4]);
    pb_finish(&frames[4]);

    pb_init(&frames[5]);
    pb_eth(&frames[5], 0x8847);
    pb_mpls(&frames[5], 1, 1);
    pb_zero(&frames[5], 4);
    pb_eth(&frames[5], 0x8848);
    pb_mpls(&frames[5], 2, 1);
    pb_zero(&frames[5], 4);
    pb_eth(&frames[5], 0x0800);
    inner_tcp4(&frames[5]);
    pb_finish(&frames[5]);

    assert_int_equal(decoder_init(&d, DLT_EN10MB, &test_dcfg), 0);
    for (k = 0; k < sizeof(dlts) / sizeof(dlts[0]); k++) {
        d.datalink = dlts[k];
        for (f = 0; f < sizeof(frames) / sizeof(frames[0]); f++) {
            for (i = 0; i <= frames[f].len; i++) {
                uint8_t *copy = malloc(i ? i : 1);

                memcpy(copy, frames[f].buf, i);
                decode_packet(&d, &p, copy, i, frames[f].len, 1);
                decode_packet(&d, &p, copy, i, i, 1);
                free(copy);
            }
        }
    }
    assert_int_equal(event_sum(&d), d.stats.invalid);
    decoder_destroy(&d);
}

/* ------------------------------------------------------------ corpus */

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);

    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Captures that are damaged on purpose; the rest must mostly decode. */
static int is_damaged(const char *name)
{
    static const char *const damaged[] = {
        "badpackets.pcap", "fuzz-2021-06-07-c6c72a0a56.pcap", "fuzz-2021-10-13.pcap",
        "dhcp-fuzz.pcapng", "tls-esni-fuzzed.pcap", "malformed_dns.pcap",
        "malformed_icmp.pcap", "ip_fragmented_garbage.pcap",
    };
    size_t i;

    for (i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++)
        if (strcmp(name, damaged[i]) == 0)
            return 1;
    return 0;
}

/* Layers a capture is known to carry (see the corpus README). */
static void check_known_layers(const char *name, const struct decode_stats *st)
{
    static const struct { const char *file; enum decode_layer l; } known[] = {
        { "vxlan.pcap", DECODE_LAYER_vxlan },
        { "gre.pcapng", DECODE_LAYER_gre },
        { "ipv6_in_gtp.pcap", DECODE_LAYER_gtp },
        { "teredo.pcap", DECODE_LAYER_teredo },
        { "4in4tunnel.pcap", DECODE_LAYER_ipv4_in_ipv4 },
        { "4in4tunnel.pcap", DECODE_LAYER_vlan_qinq },
        { "6in4tunnel.pcap", DECODE_LAYER_ipv6_in_ipv4 },
        { "4in6tunnel.pcap", DECODE_LAYER_ipv4_in_ipv6 },
        { "6in6tunnel.pcap", DECODE_LAYER_ipv6_in_ipv6 },
        { "BGP_redist.pcap", DECODE_LAYER_mpls },
        { "BGP_redist.pcap", DECODE_LAYER_chdlc },
        { "dlt_ppp.pcap", DECODE_LAYER_ppp },
        { "discord_mid_flow.pcap", DECODE_LAYER_pppoe },
        { "dns.pcap", DECODE_LAYER_pppoe },
        { "dingtalk.pcap", DECODE_LAYER_raw },
    };
    size_t i;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(name, known[i].file) == 0 && st->layer[known[i].l] == 0)
            fail_msg("%s: no %s layer decoded", name, decode_layer_name(known[i].l));
}

static void run_capture(const char *dir, const char *name, uint64_t *total_ok)
{
    char path[1024], err[PCAP_ERRBUF_SIZE];
    uint64_t res[4] = { 0 };
    struct pcap_pkthdr *h;
    const u_char *data;
    struct decoder d;
    struct packet p;
    pcap_t *pc;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    pc = pcap_open_offline(path, err);
    if (pc == NULL)
        fail_msg("%s: %s", name, err);
    if (!decode_datalink_supported(pcap_datalink(pc)))
        fail_msg("%s: link type %d not supported", name, pcap_datalink(pc));
    assert_int_equal(decoder_init(&d, pcap_datalink(pc), &test_dcfg), 0);
    while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        enum decode_result r = decode_packet(&d, &p, data, h->caplen, h->len, ts);

        res[r]++;
        if (r == DECODE_OK && p.l3 != NULL) {
            /* Everything the packet points at lies in what was decoded. */
            assert_true(p.l3_len >= (p.ip_version == 4 ? 20u : 40u));
            if (p.payload != NULL)
                assert_true(p.payload + p.payload_len <= p.l3 + p.l3_len);
        }
        decoder_expire(&d, ts);
    }
    pcap_close(pc);

    printf("  %-40s ok %5lu not_ip %4lu held %4lu invalid %4lu tunnelled-layers %s%s%s%s%s\n",
           name, (unsigned long)res[DECODE_OK], (unsigned long)res[DECODE_NOT_IP],
           (unsigned long)res[DECODE_HELD], (unsigned long)res[DECODE_INVALID],
           d.stats.layer[DECODE_LAYER_vxlan] ? "vxlan " : "",
           d.stats.layer[DECODE_LAYER_gre] ? "gre " : "",
           d.stats.layer[DECODE_LAYER_gtp] ? "gtp " : "",
           d.stats.layer[DECODE_LAYER_teredo] ? "teredo " : "",
           d.stats.reassembled_ipv4 + d.stats.reassembled_ipv6 ? "reassembled" : "");
    for (rc = 0; rc < DE_MAX; rc++)
        if (d.stats.event[rc])
            printf("      %s: %lu\n", decode_event_name(rc), (unsigned long)d.stats.event[rc]);

    assert_int_equal(event_sum(&d) >= d.stats.invalid, 1);
    assert_int_equal(res[DECODE_INVALID] <= d.stats.invalid, 1);
    assert_int_equal(d.stats.pkts, res[0] + res[1] + res[2] + res[3]);
    if (!is_damaged(name) && (res[DECODE_OK] + res[DECODE_HELD]) * 2 < d.stats.pkts)
        fail_msg("%s: only %lu of %lu packets decoded", name,
                 (unsigned long)res[DECODE_OK], (unsigned long)d.stats.pkts);
    if (!is_damaged(name) && res[DECODE_INVALID] != 0)
        fail_msg("%s: %lu packets refused", name, (unsigned long)res[DECODE_INVALID]);
    check_known_layers(name, &d.stats);
    *total_ok += res[DECODE_OK];
    decoder_destroy(&d);
}

static void test_corpus(void **state)
{
    char dir[512];
    struct dirent *de;
    uint64_t ok = 0;
    int n = 0;
    DIR *dd;

    /* make check sets LW_CORPUS to the corpus root; without it, skip. */
    snprintf(dir, sizeof dir, "%s/pcaps", getenv("LW_CORPUS") ? getenv("LW_CORPUS") : CORPUS_DIR);

    dd = opendir(dir);
    if (dd == NULL) {
        printf("  corpus folder %s missing: skipped\n", dir);
        skip();
    }
    while ((de = readdir(dd)) != NULL) {
        if (!ends_with(de->d_name, ".pcap") && !ends_with(de->d_name, ".pcapng"))
            continue;
        run_capture(dir, de->d_name, &ok);
        n++;
    }
    closedir(dd);
    printf("  %d captures, %lu packets decoded\n", n, (unsigned long)ok);
    assert_true(n > 0);
    assert_true(ok > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_datalinks),
        cmocka_unit_test(test_unsupported_link),
        cmocka_unit_test(test_eth_ipv4_tcp),
        cmocka_unit_test(test_eth_padding_excluded),
        cmocka_unit_test(test_snaplen_cut),
        cmocka_unit_test(test_ipv4_malformed),
        cmocka_unit_test(test_vlan),
        cmocka_unit_test(test_not_ip),
        cmocka_unit_test(test_mpls),
        cmocka_unit_test(test_nsh),
        cmocka_unit_test(test_pppoe),
        cmocka_unit_test(test_link_types),
        cmocka_unit_test(test_ipv6_ext_chain),
        cmocka_unit_test(test_ipv6_anomalies),
        cmocka_unit_test(test_transport),
        cmocka_unit_test(test_ipv4_frag_no_defrag),
        cmocka_unit_test(test_ipv4_frag_defrag),
        cmocka_unit_test(test_ipv6_frag),
        cmocka_unit_test(test_gre),
        cmocka_unit_test(test_erspan),
        cmocka_unit_test(test_vxlan),
        cmocka_unit_test(test_geneve),
        cmocka_unit_test(test_ipip),
        cmocka_unit_test(test_tunnel_depth),
        cmocka_unit_test(test_teredo),
        cmocka_unit_test(test_gtp),
        cmocka_unit_test(test_truncation_loop),
        cmocka_unit_test(test_truncation_all),
        cmocka_unit_test(test_corpus),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
