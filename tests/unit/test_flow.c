/* test_flow.c - unit tests for the flow table (sensor/flow/flow.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "util.h"

#define SEC 1000000ULL
#define T0  (1700000000ULL * SEC)

/* What the end callback saw, in call order. */
struct ended {
    size_t n;
    struct flow last;
    struct flow all[64];
};

static void on_end(struct flow *f, void *arg)
{
    struct ended *e = arg;

    e->last = *f;
    if (e->n < 64)
        e->all[e->n] = *f;
    e->n++;
}

static const struct flow_config test_cfg = {
    .max_flows = 1024,
    .timeout = {
        [FLOW_TC_NEW] = 30,
        [FLOW_TC_ESTABLISHED] = 3600,
        [FLOW_TC_CLOSED] = 10,
        [FLOW_TC_UDP] = 60,
        [FLOW_TC_DEFAULT] = 20,
    },
};

static struct flow_table *new_table(uint32_t max_flows, struct ended *e)
{
    struct flow_config cfg = test_cfg;
    struct flow_table *ft;

    cfg.max_flows = max_flows;
    memset(e, 0, sizeof *e);
    ft = flow_table_new(&cfg, 3, on_end, e);
    assert_non_null(ft);
    return ft;
}

/* A decoded packet as the decoder would leave it. */
static struct packet pkt(uint8_t proto, const char *src, uint16_t sport, const char *dst,
                         uint16_t dport, uint8_t flags, uint64_t ts, uint32_t wirelen)
{
    struct packet p;

    memset(&p, 0, sizeof p);
    assert_int_equal(lw_addr_parse(src, &p.src), 0);
    assert_int_equal(lw_addr_parse(dst, &p.dst), 0);
    p.ip_version = p.src.family;
    p.proto = proto;
    p.sport = sport;
    p.dport = dport;
    if (proto == 6 || proto == 17 || proto == 132)
        p.flags |= PKT_F_HAS_PORTS;
    p.tcp_flags = flags;
    p.ts = ts;
    p.wirelen = p.caplen = wirelen;
    return p;
}

/* Runs one packet through the table and checks the direction it got. */
static struct flow *feed(struct flow_table *ft, struct packet *p, int want_dir)
{
    struct flow *f = flow_table_update(ft, p);

    assert_non_null(f);
    assert_ptr_equal(p->flow, f);
    assert_int_equal(p->dir, want_dir);
    return f;
}

static void test_both_directions(void **state)
{
    struct ended e;
    struct flow_table *ft = new_table(1024, &e);
    struct packet a = pkt(17, "10.0.0.1", 5353, "10.0.0.2", 53, 0, T0, 100);
    struct packet b = pkt(17, "10.0.0.2", 53, "10.0.0.1", 5353, 0, T0 + 10, 200);
    struct packet c = pkt(17, "10.0.0.1", 5353, "10.0.0.2", 53, 0, T0 + 20, 50);
    struct flow *f = feed(ft, &a, 0);

    assert_int_equal(f->flags & FLOW_F_TOCLIENT_SEEN, 0);
    assert_ptr_equal(feed(ft, &b, 1), f);
    assert_ptr_equal(feed(ft, &c, 0), f);
    assert_int_equal(f->pkts[0], 2);
    assert_int_equal(f->pkts[1], 1);
    assert_int_equal(f->bytes[0], 150);
    assert_int_equal(f->bytes[1], 200);
    assert_int_equal(f->first_ts, T0);
    assert_int_equal(f->last_ts, T0 + 20);
    assert_true(f->flags & FLOW_F_TOCLIENT_SEEN);
    assert_int_equal(f->tclass, FLOW_TC_UDP);
    assert_int_equal(f->tcp_state, FLOW_TCP_NONE);
    assert_int_equal(f->ip_version, 4);
    assert_int_equal(lw_addr_cmp(&f->key.src, &a.src), 0);
    assert_int_equal(f->key.sport, 5353);
    assert_int_equal(f->key.dport, 53);
    assert_int_not_equal(f->flow_id, 0);

    /* lookup finds it in both orientations */
    struct flow_key k;
    flow_key_from_packet(&k, &b);
    assert_ptr_equal(flow_table_lookup(ft, &k), f);
    flow_key_from_packet(&k, &a);
    assert_ptr_equal(flow_table_lookup(ft, &k), f);
    k.dport = 54;
    assert_null(flow_table_lookup(ft, &k));

    uint64_t id = f->flow_id;
    const struct flow_stats *st = flow_table_stats(ft);
    assert_int_equal(st->created, 1);
    assert_int_equal(st->udp, 1);
    assert_int_equal(st->active, 1);

    assert_int_equal(flow_table_flush(ft, FLOW_END_SHUTDOWN), 1);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.last.flow_id, id);
    assert_int_equal(e.last.pkts[0], 2);
    assert_int_equal(e.last.pkts[1], 1);
    assert_int_equal(e.last.bytes[0], 150);
    assert_int_equal(e.last.bytes[1], 200);
    assert_int_equal(e.last.end_reason, FLOW_END_SHUTDOWN);
    assert_int_equal(st->active, 0);
    assert_int_equal(st->ended[FLOW_END_SHUTDOWN], 1);
    flow_key_from_packet(&k, &a);
    assert_null(flow_table_lookup(ft, &k));
    flow_table_free(ft);
}

static void test_synack_first_reversed(void **state)
{
    struct ended e;
    struct flow_table *ft = new_table(1024, &e);
    struct packet sa = pkt(6, "192.0.2.80", 443, "10.1.1.1", 40000, TH_SYN | TH_ACK, T0, 60);
    struct packet ack = pkt(6, "10.1.1.1", 40000, "192.0.2.80", 443, TH_ACK, T0 + 1, 52);
    struct flow *f = feed(ft, &sa, 1);

    assert_int_equal(lw_addr_cmp(&f->key.src, &ack.src), 0);
    assert_int_equal(f->key.sport, 40000);
    assert_int_equal(f->key.dport, 443);
    assert_int_equal(f->pkts[0], 0);
    assert_int_equal(f->pkts[1], 1);
    assert_int_equal(f->bytes[1], 60);
    assert_int_equal(f->tcp_flags_tc, TH_SYN | TH_ACK);
    assert_int_equal(f->tcp_flags_ts, 0);
    assert_int_equal(f->tcp_state, FLOW_TCP_SYN_RECV);
    assert_int_equal(f->tclass, FLOW_TC_NEW);
    assert_false(f->flags & FLOW_F_MIDSTREAM);
    assert_true(f->flags & FLOW_F_TOCLIENT_SEEN);

    assert_ptr_equal(feed(ft, &ack, 0), f);
    assert_int_equal(f->tcp_state, FLOW_TCP_ESTABLISHED);
    assert_int_equal(f->tclass, FLOW_TC_ESTABLISHED);

    /* a plain SYN is not reversed */
    struct packet syn = pkt(6, "10.1.1.1", 40001, "192.0.2.80", 443, TH_SYN, T0 + 2, 60);
    f = feed(ft, &syn, 0);
    assert_int_equal(f->key.sport, 40001);
    assert_int_equal(f->tcp_state, FLOW_TCP_SYN_SENT);
    flow_table_free(ft);
}

/* GTP TEIDs and PPTP call ids differ per direction; the decoder leaves
 * key_id 0 for them, so both directions are one flow whatever the outer id. */
static void test_tunnel_asymmetric_id_one_flow(void **state)
{
    struct ended e;
    struct flow_table *ft = new_table(1024, &e);
    struct packet a = pkt(6, "10.0.0.1", 1000, "10.0.0.2", 443, TH_SYN, T0, 100);
    struct packet b = pkt(6, "10.0.0.2", 443, "10.0.0.1", 1000, TH_SYN | TH_ACK, T0 + 1, 100);

    a.tunnel.depth = b.tunnel.depth = 1;
    a.tunnel.type = b.tunnel.type = TUNNEL_GTP;
    a.tunnel.id = 20732788;
    b.tunnel.id = 1102135132;
    struct flow *fa = feed(ft, &a, 0), *fb = feed(ft, &b, 1);
    assert_ptr_equal(fa, fb);
    assert_int_equal(fa->pkts[0], 1);
    assert_int_equal(fa->pkts[1], 1);
    flow_table_free(ft);
}

static void test_vlan_tunnel_separate(void **state)
{
    struct ended e;
    struct flow_table *ft = new_table(1024, &e);
    struct packet p1 = pkt(17, "10.0.0.1", 1000, "10.0.0.2", 2000, 0, T0, 100);
    struct packet p2 = p1, t1 = p1, t2 = p1, t0 = p1, g1 = p1;

    p1.vlan[0] = 10;
    p1.vlan_count = 1;
    p2.vlan[0] = 20;
    p2.vlan_count = 1;
    t1.tunnel.depth = 1;
    t1.tunnel.type = TUNNEL_VXLAN;
    t1.tunnel.id = t1.tunnel.key_id = 5001;
    lw_addr_parse("172.16.0.1", &t1.tunnel.src);
    t2.tunnel = t1.tunnel;
    t2.tunnel.id = t2.tunnel.key_id = 5002;
    t0.tunnel.id = t0.tunnel.key_id = 5001;   /* depth 0: not a tunnel, id ignored */
    g1.tunnel = t1.tunnel;
    g1.tunnel.type = TUNNEL_GRE;       /* same id, other tunnel type */

    struct flow *fv1 = feed(ft, &p1, 0), *fv2 = feed(ft, &p2, 0);
    struct flow *ft1 = feed(ft, &t1, 0), *ft2 = feed(ft, &t2, 0);
    struct flow *ft0 = feed(ft, &t0, 0), *fg1 = feed(ft, &g1, 0);
    struct flow *all[] = { fv1, fv2, ft1, ft2, ft0, fg1 };

    for (size_t i = 0; i < 6; i++)
        for (size_t j = i + 1; j < 6; j++) {
            assert_ptr_not_equal(all[i], all[j]);
            assert_int_not_equal(all[i]->flow_id, all[j]->flow_id);
        }
    assert_int_equal(flow_table_stats(ft)->created, 6);
    assert_int_equal(fv1->key.vlan[0], 10);
    assert_int_equal(ft1->key.tunnel_id, 5001);
    assert_int_equal(ft1->key.tunnel_type, TUNNEL_VXLAN);
    assert_true(ft1->flags & FLOW_F_TUNNEL);
    assert_int_equal(ft1->tunnel.id, 5001);
    assert_int_equal(ft0->key.tunnel_id, 0);
    assert_false(ft0->flags & FLOW_F_TUNNEL);

    /* the reply inside the same tunnel joins its flow */
    struct packet r = pkt(17, "10.0.0.2", 2000, "10.0.0.1", 1000, 0, T0 + 1, 80);
    r.tunnel = t2.tunnel;
    assert_ptr_equal(feed(ft, &r, 1), ft2);
    r.tunnel.depth = 0;
    r.vlan[0] = 10;
    assert_ptr_equal(feed(ft, &r, 1), fv1);
    flow_table_free(ft);
}

static void test_ipv6(void **state)
{
    struct ended e;
    struct flow_table *ft = new_table(1024, &e);
    struct packet a = pkt(6, "2001:db8::1", 50000, "2001:db8:1::53", 80, TH_SYN, T0, 80);
    struct packet b = pkt(6, "2001:db8:1::53", 80, "2001:db8::1", 50000, TH_SYN | TH_ACK, T0 + 5, 80);
    struct packet c = pkt(6, "2001:db8::1", 50000, "2001:db8:1::53", 80, TH_ACK, T0 + 9, 72);
    struct flow *f = feed(ft, &a, 0);

    assert_int_equal(f->key.src.family, 6);
    assert_int_equal(f->ip_version, 6);
    assert_ptr_equal(feed(ft, &b, 1), f);
    assert_ptr_equal(feed(ft, &c, 0), f);
    assert_int_equal(f->tcp_state, FLOW_TCP_ESTABLISHED);
    assert_int_equal(f->pkts[0] + f->pkts[1], 3);

    /* v4 addresses whose bytes prefix the v6 ones are another flow */
    struct packet v4 = pkt(6, "32.1.13.184", 50000, "32.1.13.184", 80, TH_SYN, T0, 60);
    struct flow *g = feed(ft, &v4, 0);
    assert_ptr_not_equal(g, f);

    /* ICMPv6: type/code are not ports */
    struct packet i1 = pkt(58, "2001:db8::1", 0, "2001:db8::2", 0, 0, T0, 64);
    struct packet i2 = pkt(58, "2001:db8::2", 0, "2001:db8::1", 0, 0, T0 + 1, 64);
    i1.sport = 128;
    i2.sport = 129;
    i2.dport = 7;
    struct flow *fi = feed(ft, &i1, 0);
    assert_int_equal(fi->key.sport, 0);
    assert_int_equal(fi->key.dport, 0);
    assert_ptr_equal(feed(ft, &i2, 1), fi);
    assert_int_equal(fi->tclass, FLOW_TC_DEFAULT);
    assert_int_equal(flow_table_stats(ft)->icmpv6, 1);
    assert_int_equal(flow_table_stats(ft)->tcp, 2);
    flow_table_free(ft);
}

static void test_tcp_states(void **state)
{
    struct ended e;
    struct flow_table *ft = new_table(1024, &e);
    const char *A = "10.0.0.1", *B = "10.0.0.2";
    uint64_t t = T0;
    struct packet p;
    struct flow *f;

    /* handshake, data, FIN both ways */
    p = pkt(6, A, 1111, B, 80, TH_SYN, t++, 60);
    f = feed(ft, &p, 0);
    assert_int_equal(f->tcp_state, FLOW_TCP_SYN_SENT);
    assert_int_equal(f->tclass, FLOW_TC_NEW);
    p = pkt(6, B, 80, A, 1111, TH_SYN | TH_ACK, t++, 60);
    feed(ft, &p, 1);
    assert_int_equal(f->tcp_state, FLOW_TCP_SYN_RECV);
    assert_int_equal(f->tclass, FLOW_TC_NEW);
    p = pkt(6, A, 1111, B, 80, TH_ACK, t++, 52);
    feed(ft, &p, 0);
    assert_int_equal(f->tcp_state, FLOW_TCP_ESTABLISHED);
    assert_int_equal(f->tclass, FLOW_TC_ESTABLISHED);
    p = pkt(6, B, 80, A, 1111, TH_ACK | TH_PSH, t++, 1500);
    feed(ft, &p, 1);
    assert_int_equal(f->tcp_state, FLOW_TCP_ESTABLISHED);
    p = pkt(6, A, 1111, B, 80, TH_FIN | TH_ACK, t++, 52);
    feed(ft, &p, 0);
    assert_int_equal(f->tcp_state, FLOW_TCP_FIN_WAIT);
    assert_int_equal(f->tclass, FLOW_TC_CLOSED);
    p = pkt(6, B, 80, A, 1111, TH_ACK, t++, 52);
    feed(ft, &p, 1);
    assert_int_equal(f->tcp_state, FLOW_TCP_FIN_WAIT);
    p = pkt(6, B, 80, A, 1111, TH_FIN | TH_ACK, t++, 52);
    feed(ft, &p, 1);
    assert_int_equal(f->tcp_state, FLOW_TCP_CLOSED);
    assert_int_equal(f->tclass, FLOW_TC_CLOSED);
    assert_int_equal(f->tcp_flags_ts, TH_SYN | TH_ACK | TH_FIN);
    assert_int_equal(f->tcp_flags_tc, TH_SYN | TH_ACK | TH_PSH | TH_FIN);
    assert_false(f->flags & FLOW_F_MIDSTREAM);

    /* RST closes an established flow */
    p = pkt(6, A, 2222, B, 80, TH_SYN, t++, 60);
    f = feed(ft, &p, 0);
    p = pkt(6, B, 80, A, 2222, TH_SYN | TH_ACK, t++, 60);
    feed(ft, &p, 1);
    p = pkt(6, A, 2222, B, 80, TH_ACK, t++, 52);
    feed(ft, &p, 0);
    assert_int_equal(f->tcp_state, FLOW_TCP_ESTABLISHED);
    p = pkt(6, B, 80, A, 2222, TH_RST, t++, 40);
    feed(ft, &p, 1);
    assert_int_equal(f->tcp_state, FLOW_TCP_CLOSED);
    assert_int_equal(f->tclass, FLOW_TC_CLOSED);
    p = pkt(6, A, 2222, B, 80, TH_ACK, t++, 52);   /* stays closed */
    feed(ft, &p, 0);
    assert_int_equal(f->tcp_state, FLOW_TCP_CLOSED);

    /* refused connection: SYN then RST-ACK */
    p = pkt(6, A, 3333, B, 81, TH_SYN, t++, 60);
    f = feed(ft, &p, 0);
    p = pkt(6, B, 81, A, 3333, TH_RST | TH_ACK, t++, 40);
    feed(ft, &p, 1);
    assert_int_equal(f->tcp_state, FLOW_TCP_CLOSED);

    /* mid-stream pickup: NEW until both directions are seen */
    p = pkt(6, A, 4444, B, 22, TH_ACK | TH_PSH, t++, 100);
    f = feed(ft, &p, 0);
    assert_true(f->flags & FLOW_F_MIDSTREAM);
    assert_int_equal(f->tcp_state, FLOW_TCP_NONE);
    assert_int_equal(f->tclass, FLOW_TC_NEW);
    p = pkt(6, A, 4444, B, 22, TH_ACK, t++, 52);
    feed(ft, &p, 0);
    assert_int_equal(f->tclass, FLOW_TC_NEW);
    p = pkt(6, B, 22, A, 4444, TH_ACK | TH_PSH, t++, 200);
    feed(ft, &p, 1);
    assert_int_equal(f->tcp_state, FLOW_TCP_ESTABLISHED);
    assert_int_equal(f->tclass, FLOW_TC_ESTABLISHED);

    /* one-way SYN traffic never establishes */
    p = pkt(6, A, 5555, B, 25, TH_SYN, t++, 60);
    f = feed(ft, &p, 0);
    p = pkt(6, A, 5555, B, 25, TH_ACK, t++, 52);
    feed(ft, &p, 0);
    assert_int_equal(f->tcp_state, FLOW_TCP_SYN_SENT);
    assert_int_equal(f->tclass, FLOW_TC_NEW);

    /* first seen with FIN: mid-stream, closing */
    p = pkt(6, A, 6666, B, 25, TH_FIN | TH_ACK, t++, 52);
    f = feed(ft, &p, 0);
    assert_true(f->flags & FLOW_F_MIDSTREAM);
    assert_int_equal(f->tcp_state, FLOW_TCP_FIN_WAIT);

    assert_string_equal(flow_tcp_state_name(FLOW_TCP_NONE), "none");
    assert_string_equal(flow_tcp_state_name(FLOW_TCP_SYN_SENT), "syn_sent");
    assert_string_equal(flow_tcp_state_name(FLOW_TCP_SYN_RECV), "syn_recv");
    assert_string_equal(flow_tcp_state_name(FLOW_TCP_ESTABLISHED), "established");
    assert_string_equal(flow_tcp_state_name(FLOW_TCP_FIN_WAIT), "fin_wait");
    assert_string_equal(flow_tcp_state_name(FLOW_TCP_CLOSED), "closed");
    assert_string_equal(flow_end_reason_name(FLOW_END_NONE), "none");
    assert_string_equal(flow_end_reason_name(FLOW_END_TIMEOUT), "timeout");
    assert_string_equal(flow_end_reason_name(FLOW_END_TCP_CLOSED), "tcp-closed");
    assert_string_equal(flow_end_reason_name(FLOW_END_EVICTED), "evicted");
    assert_string_equal(flow_end_reason_name(FLOW_END_SHUTDOWN), "shutdown");
    flow_table_free(ft);
}

/* One flow per timeout class, all last seen at T0; each must end exactly at
 * T0 + its timeout and not one microsecond earlier. */
static void test_timeouts_exact(void **state)
{
    struct ended e;
    struct flow_table *ft = new_table(1024, &e);
    const char *A = "10.0.0.1", *B = "10.0.0.2";
    struct packet p;
    struct flow *f;
    uint64_t ids[FLOW_TC_MAX];

    p = pkt(6, A, 1, B, 80, TH_SYN, T0, 60);                 /* NEW */
    ids[FLOW_TC_NEW] = feed(ft, &p, 0)->flow_id;
    p = pkt(6, A, 2, B, 80, TH_ACK, T0 - 5, 60);             /* ESTABLISHED (midstream) */
    f = feed(ft, &p, 0);
    p = pkt(6, B, 80, A, 2, TH_ACK, T0, 60);
    feed(ft, &p, 1);
    assert_int_equal(f->tclass, FLOW_TC_ESTABLISHED);
    ids[FLOW_TC_ESTABLISHED] = f->flow_id;
    p = pkt(6, A, 3, B, 80, TH_RST, T0, 40);                 /* CLOSED */
    f = feed(ft, &p, 0);
    assert_int_equal(f->tclass, FLOW_TC_CLOSED);
    ids[FLOW_TC_CLOSED] = f->flow_id;
    p = pkt(17, A, 4, B, 53, 0, T0, 60);                     /* UDP */
    ids[FLOW_TC_UDP] = feed(ft, &p, 0)->flow_id;
    p = pkt(1, A, 0, B, 0, 0, T0, 60);                       /* DEFAULT (ICMP) */
    f = feed(ft, &p, 0);
    assert_int_equal(f->tclass, FLOW_TC_DEFAULT);
    ids[FLOW_TC_DEFAULT] = f->flow_id;

    /* ascending timeouts: closed 10, default 20, new 30, udp 60, est 3600 */
    static const int order[] = { FLOW_TC_CLOSED, FLOW_TC_DEFAULT, FLOW_TC_NEW, FLOW_TC_UDP,
                                 FLOW_TC_ESTABLISHED };
    for (size_t i = 0; i < 5; i++) {
        int c = order[i];
        uint64_t at = T0 + test_cfg.timeout[c] * SEC;

        assert_int_equal(flow_table_expire(ft, at - 1), 0);
        assert_int_equal(e.n, i);
        assert_int_equal(flow_table_expire(ft, at), 1);
        assert_int_equal(e.n, i + 1);
        assert_int_equal(e.last.flow_id, ids[c]);
        assert_int_equal(e.last.tclass, c);
        assert_int_equal(e.last.end_reason,
                         c == FLOW_TC_CLOSED ? FLOW_END_TCP_CLOSED : FLOW_END_TIMEOUT);
    }
    const struct flow_stats *st = flow_table_stats(ft);
    assert_int_equal(st->ended[FLOW_END_TCP_CLOSED], 1);
    assert_int_equal(st->ended[FLOW_END_TIMEOUT], 4);
    assert_int_equal(st->active, 0);
    assert_int_equal(st->max_active, 5);
    assert_int_equal(st->icmpv4, 1);
    assert_int_equal(flow_table_expire(ft, UINT64_MAX / 2), 0);
    flow_table_free(ft);
}

/* Activity moves a flow to the tail: the idle one expires first, the
 * refreshed one lives on; a class change moves it to the new list. */
static void test_lru_refresh(void **state)
{
    struct ended e;
    struct flow_table *ft = new_table(1024, &e);
    struct packet a = pkt(17, "10.0.0.1", 1, "10.0.0.9", 53, 0, T0, 60);
    struct packet b = pkt(17, "10.0.0.2", 1, "10.0.0.9", 53, 0, T0 + 1, 60);
    struct packet c = pkt(17, "10.0.0.3", 1, "10.0.0.9", 53, 0, T0 + 2, 60);
    uint64_t ida = feed(ft, &a, 0)->flow_id;
    uint64_t idb = feed(ft, &b, 0)->flow_id;

    feed(ft, &c, 0);
    a.ts = T0 + 30 * SEC;
    feed(ft, &a, 0);
    assert_int_equal(flow_table_expire(ft, T0 + 60 * SEC + 1), 1);
    assert_int_equal(e.last.flow_id, idb);
    assert_int_equal(flow_table_expire(ft, T0 + 60 * SEC + 2), 1);
    assert_int_equal(flow_table_expire(ft, T0 + 90 * SEC - 1), 0);
    assert_int_equal(flow_table_expire(ft, T0 + 90 * SEC), 1);
    assert_int_equal(e.last.flow_id, ida);
    assert_int_equal(e.last.pkts[0], 2);

    /* a NEW flow that becomes ESTABLISHED follows the established timeout;
     * its packets are older than the capture clock (T0 + 30 s, from a's
     * last packet): the timeout counts from the clock, as lists are kept
     * in clock order (input out of time order, several files) */
    struct packet s = pkt(6, "10.0.0.1", 7, "10.0.0.9", 80, TH_SYN, T0, 60);
    struct packet sa = pkt(6, "10.0.0.9", 80, "10.0.0.1", 7, TH_SYN | TH_ACK, T0, 60);
    struct packet ack = pkt(6, "10.0.0.1", 7, "10.0.0.9", 80, TH_ACK, T0, 60);
    feed(ft, &s, 0);
    feed(ft, &sa, 1);
    feed(ft, &ack, 0);
    assert_int_equal(flow_table_expire(ft, T0 + 30 * SEC + 3599 * SEC), 0);
    assert_int_equal(flow_table_expire(ft, T0 + 30 * SEC + 3600 * SEC), 1);
    assert_int_equal(e.last.last_ts, T0);
    flow_table_free(ft);
}

static void test_full_evicts_least_recent(void **state)
{
    struct ended e;
    struct flow_table *ft = new_table(4, &e);
    struct packet p;
    struct flow *f;

    p = pkt(17, "10.0.0.1", 1, "10.0.0.2", 53, 0, T0, 60);          /* oldest */
    uint64_t udp_id = feed(ft, &p, 0)->flow_id;
    p = pkt(6, "10.0.0.1", 2, "10.0.0.2", 80, TH_ACK, T0 + 1, 60);  /* established */
    f = feed(ft, &p, 0);
    p = pkt(6, "10.0.0.2", 80, "10.0.0.1", 2, TH_ACK, T0 + 1, 60);
    feed(ft, &p, 1);
    assert_int_equal(f->tclass, FLOW_TC_ESTABLISHED);
    p = pkt(1, "10.0.0.1", 0, "10.0.0.3", 0, 0, T0 + 2, 60);        /* expires soonest (T0+22) */
    uint64_t icmp_id = feed(ft, &p, 0)->flow_id;
    p = pkt(6, "10.0.0.1", 3, "10.0.0.2", 80, TH_SYN, T0 + 3, 60);
    feed(ft, &p, 0);
    p = pkt(17, "10.0.0.2", 53, "10.0.0.1", 1, 0, T0 + 4, 60);       /* the oldest answers */
    feed(ft, &p, 1);
    assert_int_equal(flow_table_stats(ft)->active, 4);
    assert_int_equal(e.n, 0);

    /* full: the established flow is now the least recently seen */
    p = pkt(17, "10.0.0.1", 4, "10.0.0.2", 53, 0, T0 + 5, 60);
    f = feed(ft, &p, 0);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.last.end_reason, FLOW_END_EVICTED);
    assert_int_equal(e.last.key.proto, 6);
    assert_int_equal(e.last.key.sport, 2);
    const struct flow_stats *st = flow_table_stats(ft);
    assert_int_equal(st->ended[FLOW_END_EVICTED], 1);
    assert_int_equal(st->created, 5);
    assert_int_equal(st->active, 4);
    assert_int_equal(st->max_active, 4);
    assert_int_equal(f->pkts[0], 1);
    assert_int_equal(f->bytes[0], 60);

    /* then the ICMP flow, then the SYN; the UDP flow that answered stays */
    p = pkt(17, "10.0.0.1", 5, "10.0.0.2", 53, 0, T0 + 6, 60);
    feed(ft, &p, 0);
    assert_int_equal(e.last.flow_id, icmp_id);
    p = pkt(17, "10.0.0.1", 6, "10.0.0.2", 53, 0, T0 + 7, 60);
    feed(ft, &p, 0);
    assert_int_equal(e.last.key.sport, 3);
    assert_non_null(flow_table_lookup(ft, &f->key));
    assert_int_not_equal(e.last.flow_id, udp_id);
    assert_int_equal(st->ended[FLOW_END_EVICTED], 3);
    assert_true(flow_table_memsize(ft) >= 4 * sizeof(struct flow) + 1024 * sizeof(uint32_t));
    flow_table_free(ft);

    /* a zero-sized table cannot hold a flow: counted, not crashed */
    ft = new_table(0, &e);
    p = pkt(17, "10.0.0.1", 1, "10.0.0.2", 53, 0, T0, 60);
    assert_null(flow_table_update(ft, &p));
    assert_null(p.flow);
    assert_int_equal(flow_table_stats(ft)->lookups_failed_full, 1);
    flow_table_free(ft);
}

static void test_flush_lru_order(void **state)
{
    struct ended e;
    struct flow_table *ft = new_table(1024, &e);
    struct packet p;

    /* interleave classes: UDP t0, TCP t1, ICMP t2, UDP t3, TCP(closed) t4 */
    p = pkt(17, "10.0.0.1", 1, "10.0.0.2", 53, 0, T0 + 0, 60);
    feed(ft, &p, 0);
    p = pkt(6, "10.0.0.1", 2, "10.0.0.2", 80, TH_SYN, T0 + 1, 60);
    feed(ft, &p, 0);
    p = pkt(1, "10.0.0.1", 0, "10.0.0.3", 0, 0, T0 + 2, 60);
    feed(ft, &p, 0);
    p = pkt(17, "10.0.0.1", 3, "10.0.0.2", 53, 0, T0 + 3, 60);
    feed(ft, &p, 0);
    p = pkt(6, "10.0.0.1", 4, "10.0.0.2", 80, TH_RST, T0 + 4, 60);
    feed(ft, &p, 0);

    assert_int_equal(flow_table_flush(ft, FLOW_END_SHUTDOWN), 5);
    assert_int_equal(e.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(e.all[i].last_ts, T0 + i);
        assert_int_equal(e.all[i].end_reason, FLOW_END_SHUTDOWN);
    }
    const struct flow_stats *st = flow_table_stats(ft);
    assert_int_equal(st->ended[FLOW_END_SHUTDOWN], 5);
    assert_int_equal(st->active, 0);
    assert_int_equal(flow_table_flush(ft, FLOW_END_SHUTDOWN), 0);

    /* entries are reusable afterwards */
    p = pkt(17, "10.0.0.1", 1, "10.0.0.2", 53, 0, T0 + 10, 60);
    struct flow *f = feed(ft, &p, 0);
    assert_int_equal(f->pkts[0], 1);
    assert_int_equal(f->first_ts, T0 + 10);
    assert_int_equal(st->active, 1);
    flow_table_free(ft);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void test_flow_ids_unique(void **state)
{
    enum { N = 1000000 };
    struct ended e;
    struct flow_table *ft = new_table(1u << 20, &e);
    uint64_t *ids = malloc(N * sizeof *ids);
    size_t small_steps = 0;

    assert_non_null(ids);
    for (uint32_t i = 0; i < N; i++) {
        struct packet p = pkt(17, "10.0.0.1", 1, "10.0.0.2", 53, 0, T0 + i, 60);

        p.src.u.w[0] = i;              /* distinct key per flow */
        ids[i] = feed(ft, &p, 0)->flow_id;
        assert_int_not_equal(ids[i], 0);
        assert_true(ids[i] < (1ULL << 51));
        if (i > 0 && (ids[i] - ids[i - 1] < 1000 || ids[i - 1] - ids[i] < 1000))
            small_steps++;
        if (i % 4096 == 4095)          /* keep few pool pages live */
            assert_int_equal(flow_table_flush(ft, FLOW_END_SHUTDOWN), 4096);
    }
    assert_true(small_steps < 10);     /* not sequential looking */
    qsort(ids, N, sizeof *ids, cmp_u64);
    for (size_t i = 1; i < N; i++)
        assert_true(ids[i] != ids[i - 1]);
    assert_int_equal(flow_table_stats(ft)->created, N);
    flow_table_free(ft);

    /* another worker's ids do not collide with this one's */
    struct flow_config cfg = test_cfg;
    struct flow_table *w1 = flow_table_new(&cfg, 1, NULL, NULL);
    struct flow_table *w2 = flow_table_new(&cfg, 2, NULL, NULL);
    assert_non_null(w1);
    assert_non_null(w2);
    for (int i = 0; i < 1000; i++) {
        struct packet p = pkt(17, "10.0.0.1", 1, "10.0.0.2", 53, 0, T0, 60);
        p.sport = (uint16_t)(i + 1);
        uint64_t id1 = flow_table_update(w1, &p)->flow_id;
        uint64_t id2 = flow_table_update(w2, &p)->flow_id;
        assert_int_not_equal(id1, id2);
        assert_null(bsearch(&id1, ids, N, sizeof *ids, cmp_u64));   /* worker 3's ids */
        assert_null(bsearch(&id2, ids, N, sizeof *ids, cmp_u64));
    }
    flow_table_free(w1);
    flow_table_free(w2);
    free(ids);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static void test_hash_symmetric(void **state)
{
    enum { N = 20000 };
    unsigned seed = 4242;
    uint32_t *h = malloc(N * sizeof *h);
    uint64_t fold = 0;
    size_t dup = 0;

    assert_non_null(h);
    for (int i = 0; i < N; i++) {
        struct flow_key k, r;

        memset(&k, 0, sizeof k);
        k.src.family = k.dst.family = (rand_r(&seed) & 1) ? 4 : 6;
        for (int w = 0; w < (k.src.family == 4 ? 1 : 4); w++) {
            k.src.u.w[w] = (uint32_t)rand_r(&seed);
            k.dst.u.w[w] = (uint32_t)rand_r(&seed);
        }
        k.sport = (uint16_t)rand_r(&seed);
        k.dport = (uint16_t)rand_r(&seed);
        k.proto = (rand_r(&seed) & 1) ? 6 : 17;
        k.vlan[0] = (uint16_t)(rand_r(&seed) % 3);
        k.tunnel_id = (uint32_t)(rand_r(&seed) % 3);
        r = k;
        r.src = k.dst;
        r.dst = k.src;
        r.sport = k.dport;
        r.dport = k.sport;
        h[i] = flow_key_hash(&k);
        fold = fold * 31 + h[i];
        assert_int_equal(flow_key_hash(&r), h[i]);
        /* context fields change it */
        r = k;
        r.vlan[1] = 1;
        assert_int_not_equal(flow_key_hash(&r), h[i]);
    }
    /* same endpoints, ports swapped only on one side: a different flow */
    struct flow_key a, b;
    memset(&a, 0, sizeof a);
    lw_addr_parse("10.0.0.1", &a.src);
    lw_addr_parse("10.0.0.2", &a.dst);
    a.sport = 1;
    a.dport = 2;
    a.proto = 17;
    b = a;
    b.sport = 2;
    b.dport = 1;
    assert_int_not_equal(flow_key_hash(&a), flow_key_hash(&b));

    /* The values are pinned: this is what the hash gave before its address
     * compares went word-wise (dc16f7e .. 4199110). A changed hash reorders
     * the flows of a bucket, so a change here must be on purpose. */
    assert_true(fold == UINT64_C(0x1991b0cdcbd7dd51));

    /* well spread: 20000 random keys give almost no 32-bit collisions */
    qsort(h, N, sizeof *h, cmp_u32);
    for (int i = 1; i < N; i++)
        dup += h[i] == h[i - 1];
    assert_true(dup < 3);
    free(h);
}

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

/* lw_addr_cmp orders as family then memcmp of the bytes; lw_addr_eq is its
 * zero. Pairs share a random prefix so every word position decides. */
static void test_addr_compare(void **state)
{
    unsigned seed = 77;

    (void)state;
    for (int i = 0; i < 20000; i++) {
        struct lw_addr a, b;
        int same = rand_r(&seed) % 17, ref;

        memset(&a, 0, sizeof a);
        a.family = (rand_r(&seed) & 1) ? 4 : 6;
        for (int j = 0; j < 16; j++)
            a.u.b[j] = (uint8_t)rand_r(&seed);
        b = a;
        if (rand_r(&seed) % 8 == 0)
            b.family = b.family == 4 ? 6 : 4;
        for (int j = same; j < 16; j++)
            b.u.b[j] = (uint8_t)rand_r(&seed);
        ref = a.family != b.family ? (a.family < b.family ? -1 : 1) : sign(memcmp(a.u.b, b.u.b, 16));
        assert_int_equal(lw_addr_cmp(&a, &b), ref);
        assert_int_equal(lw_addr_cmp(&b, &a), -ref);
        assert_int_equal(lw_addr_eq(&a, &b), ref == 0);
        assert_int_equal(lw_addr_cmp(&a, &a), 0);
        assert_true(lw_addr_eq(&a, &a));
    }
}

/* Table memory: zeroed, writable to its last byte, and huge-page aligned
 * from 2 MiB up (outside AddressSanitizer builds, where it is calloc). */
static void test_table_alloc(void **state)
{
    static const size_t sizes[] = { 1, 4096, ((size_t)2 << 20) - 1, (size_t)2 << 20, ((size_t)5 << 20) + 3 };

    (void)state;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = lw_table_alloc(sizes[i]);
        size_t n = sizes[i];

        assert_non_null(p);
        for (size_t j = 0; j < n; j += 4093)
            assert_int_equal(p[j], 0);
        assert_int_equal(p[n - 1], 0);
        memset(p, 0xa5, n);
#if !defined(__SANITIZE_ADDRESS__)
        if (n >= ((size_t)2 << 20))
            assert_int_equal((uintptr_t)p & (((uintptr_t)2 << 20) - 1), 0);
#endif
        lw_table_free(p, n);
    }
    lw_table_free(NULL, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_directions),
        cmocka_unit_test(test_synack_first_reversed),
        cmocka_unit_test(test_vlan_tunnel_separate),
        cmocka_unit_test(test_tunnel_asymmetric_id_one_flow),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_tcp_states),
        cmocka_unit_test(test_timeouts_exact),
        cmocka_unit_test(test_lru_refresh),
        cmocka_unit_test(test_full_evicts_least_recent),
        cmocka_unit_test(test_flush_lru_order),
        cmocka_unit_test(test_flow_ids_unique),
        cmocka_unit_test(test_hash_symmetric),
        cmocka_unit_test(test_addr_compare),
        cmocka_unit_test(test_table_alloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
