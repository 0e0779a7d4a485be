/* test_detect.c - unit tests for the rule matcher (sensor/detect/detect.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "ruletest.h"
#include "dpi.h"
#include "rule-parse.h"
#include "stream.h"
#include "threshold.h"
#include "util.h"

/* ------------------------------------------------------------------ helpers */

#define MAX_ALERTS 512

struct alerts {
    size_t   n;
    uint32_t sid[MAX_ALERTS];
    struct lw_addr src[MAX_ALERTS];
    uint16_t sport[MAX_ALERTS];
    uint8_t  stream[MAX_ALERTS];     /* matched on the reassembled stream */
};

static void on_alert(void *arg, const struct rule *r, const struct packet *p, struct flow *f)
{
    struct alerts *a = arg;

    if (a->n < MAX_ALERTS) {
        a->sid[a->n] = r->sid;
        a->src[a->n] = p->src;
        a->sport[a->n] = p->sport;
        a->stream[a->n] = (p->flags & PKT_F_STREAM_MATCH) != 0;
    }
    a->n++;
}


static struct detect_engine *engine1(const char *text)
{
    const char *v[2] = { text, NULL };

    return ruletest_engine(v);
}

/* A packet from 10.0.0.1:40000 to 192.0.2.1:80 of protocol proto. */
static void pkt_init(struct packet *p, uint8_t proto, const char *payload)
{
    ruletest_packet(p, proto, (const uint8_t *)payload, payload ? (uint32_t)strlen(payload) : 0);
}

/* The flow of pkt_init()'s packets, established, DPI result r (may be NULL). */
static void flow_init(struct flow *f, struct packet *p, struct dpi_result *r)
{
    ruletest_flow(f, p, r);
}

/* Runs e on p (flow f or none) and returns how many alerts it raised. */
/* The geoip lookup run() gives its scratch (NULL: none). */
static detect_geo_fn run_geo;

static size_t run(struct detect_engine *e, struct packet *p, struct flow *f, struct alerts *a)
{
    struct detect_thread *t = detect_thread_new(e);

    assert_non_null(t);
    detect_thread_set_geo(t, run_geo, NULL);
    memset(a, 0, sizeof *a);
    detect_packet(e, t, NULL, p, f, on_alert, a);
    detect_thread_free(t);
    return a->n;
}

/* 1 when the single rule text matches payload in a TCP packet to port 80. */
static int tcp_match(const char *rule, const char *payload)
{
    struct detect_engine *e = engine1(rule);
    struct packet p;
    struct flow f;
    struct alerts a;
    size_t n;

    pkt_init(&p, 6, payload);
    flow_init(&f, &p, NULL);
    n = run(e, &p, &f, &a);
    detect_flow_free(&f);
    detect_engine_free(e);
    return (int)n;
}

#define R(opts) "alert tcp any any -> any any (" opts " sid:1;)"

/* ------------------------------------------------------------------ header */

static void test_header(void **state)
{
    const char *rules[] = {
        "alert tcp 10.0.0.0/8 any -> 192.0.2.0/24 80 (sid:1;)",
        "alert udp any any -> any 53 (sid:2;)",
        "alert icmp any any -> any any (sid:3;)",
        "alert ip any any -> any any (sid:4;)",
        "alert tcp 192.0.2.1 80 <> 10.0.0.1 any (sid:5;)",
        "alert tcp 192.0.2.1 80 -> 10.0.0.1 any (sid:6;)",
        "alert tcp !10.0.0.0/8 any -> any any (sid:7;)",
        "alert tcp any any -> any [1:79,81:65535] (sid:8;)",
        "alert tcp any any -> any 1024: (sid:9;)",
        NULL
    };
    struct detect_engine *e = ruletest_engine(rules);
    struct packet p;
    struct alerts a;

    assert_int_equal(detect_rule_count(e), 9);
    pkt_init(&p, 6, NULL);
    assert_int_equal(run(e, &p, NULL, &a), 3);
    assert_int_equal(a.sid[0], 1);
    assert_int_equal(a.sid[1], 4);
    assert_int_equal(a.sid[2], 5);

    p.dport = 8080;   /* sid 1 wants 80, sid 5 reversed wants 80; 8 and 9 match */
    assert_int_equal(run(e, &p, NULL, &a), 3);
    assert_int_equal(a.sid[0], 4);
    assert_int_equal(a.sid[1], 8);
    assert_int_equal(a.sid[2], 9);

    pkt_init(&p, 17, NULL);
    p.dport = 53;
    assert_int_equal(run(e, &p, NULL, &a), 2);
    assert_int_equal(a.sid[0], 2);
    assert_int_equal(a.sid[1], 4);

    /* icmp is ICMPv4 and ICMPv6 */
    pkt_init(&p, 1, NULL);
    assert_int_equal(run(e, &p, NULL, &a), 2);
    assert_int_equal(a.sid[0], 3);
    pkt_init(&p, 58, NULL);
    lw_addr_parse("2001:db8::1", &p.src);
    lw_addr_parse("2001:db8::2", &p.dst);
    assert_int_equal(run(e, &p, NULL, &a), 2);
    assert_int_equal(a.sid[0], 3);
    assert_int_equal(a.sid[1], 4);

    /* reply direction: <> matches it, -> matches only its own orientation */
    pkt_init(&p, 6, NULL);
    lw_addr_parse("192.0.2.1", &p.src);
    lw_addr_parse("10.0.0.1", &p.dst);
    p.sport = 80;
    p.dport = 40000;
    assert_int_equal(run(e, &p, NULL, &a), 6);
    assert_int_equal(a.sid[0], 4);
    assert_int_equal(a.sid[1], 5);
    assert_int_equal(a.sid[2], 6);
    assert_int_equal(a.sid[3], 7);
    assert_int_equal(a.sid[4], 8);
    assert_int_equal(a.sid[5], 9);
    detect_engine_free(e);
}

static void test_header_ports_groups(void **state)
{
    /* 80 and 8080 share nothing; a sport-bucketed rule; wide range in any */
    const char *rules[] = {
        "alert tcp any any -> any 80 (content:\"GET\"; sid:10;)",
        "alert tcp any any -> any [8080,8081] (content:\"GET\"; sid:11;)",
        "alert tcp any 80 -> any any (content:\"HTTP/1.1\"; sid:12;)",
        "alert tcp any any -> any 1:60000 (content:\"GET\"; sid:13;)",
        "alert udp any any -> any 80 (content:\"GET\"; sid:14;)",
        NULL
    };
    struct detect_engine *e = ruletest_engine(rules);
    struct detect_engine_stats st;
    struct packet p;
    struct alerts a;

    detect_engine_stats(e, &st);
    assert_true(st.groups >= 4 + 3);
    pkt_init(&p, 6, "GET / HTTP/1.1");
    assert_int_equal(run(e, &p, NULL, &a), 2);
    assert_int_equal(a.sid[0], 10);
    assert_int_equal(a.sid[1], 13);
    p.dport = 8081;
    assert_int_equal(run(e, &p, NULL, &a), 2);
    assert_int_equal(a.sid[0], 11);
    p.sport = 80;
    p.dport = 61000;
    assert_int_equal(run(e, &p, NULL, &a), 1);
    assert_int_equal(a.sid[0], 12);
    pkt_init(&p, 17, "GET x");
    assert_int_equal(run(e, &p, NULL, &a), 1);
    assert_int_equal(a.sid[0], 14);
    detect_engine_free(e);
}

/* ------------------------------------------------------------------ content */

static void test_content_basic(void **state)
{
    assert_int_equal(tcp_match(R("content:\"evil\";"), "an evil thing"), 1);
    assert_int_equal(tcp_match(R("content:\"evil\";"), "an EVIL thing"), 0);
    assert_int_equal(tcp_match(R("content:\"evil\"; nocase;"), "an EvIl thing"), 1);
    /* nocase verified after another content: the first byte in both cases,
     * candidates that fail, the last possible place, a cut-off near miss,
     * a first byte that is no letter, and within. */
    assert_int_equal(tcp_match(R("content:\"x\"; content:\"evil\"; nocase;"), "x eEeEVIL"), 1);
    assert_int_equal(tcp_match(R("content:\"x\"; content:\"evil\"; nocase;"), "x EeeevIL"), 1);
    assert_int_equal(tcp_match(R("content:\"x\"; content:\"evil\"; nocase;"), "x eviEVIevI"), 0);
    assert_int_equal(tcp_match(R("content:\"x\"; content:\"evil\"; nocase;"), "x abc evi"), 0);
    assert_int_equal(tcp_match(R("content:\"x\"; content:\"evil\"; nocase;"), "x ..EvIl"), 1);
    assert_int_equal(tcp_match(R("content:\"x\"; content:\"1ab\"; nocase;"), "x 11aB"), 1);
    assert_int_equal(tcp_match(R("content:\"x\"; content:\"1ab\"; nocase;"), "x 1a"), 0);
    assert_int_equal(tcp_match(R("content:\"x\"; content:\"evil\"; nocase; distance:0; within:6;"),
                                 "xaEVILz"), 1);
    assert_int_equal(tcp_match(R("content:\"x\"; content:\"evil\"; nocase; distance:0; within:6;"),
                                 "xaaaEVIL"), 0);
    assert_int_equal(tcp_match(R("content:\"|41 42|C\";"), "xxABCxx"), 1);
    assert_int_equal(tcp_match(R("content:\"evil\";"), NULL), 0);
    /* several contents: all needed, any order when absolute */
    assert_int_equal(tcp_match(R("content:\"b\"; content:\"a\";"), "ab"), 1);
    assert_int_equal(tcp_match(R("content:\"b\"; content:\"c\";"), "ab"), 0);
}

static void test_content_offset_depth(void **state)
{
    /* depth counts from offset: "def" must lie in bytes 3..5 */
    assert_int_equal(tcp_match(R("content:\"def\"; offset:3; depth:3;"), "abcdefgh"), 1);
    assert_int_equal(tcp_match(R("content:\"def\"; offset:4; depth:3;"), "abcdefgh"), 0);
    assert_int_equal(tcp_match(R("content:\"def\"; offset:3; depth:3;"), "abcxdefgh"), 0);
    assert_int_equal(tcp_match(R("content:\"abc\"; depth:3;"), "abcdefgh"), 1);
    assert_int_equal(tcp_match(R("content:\"bcd\"; depth:3;"), "abcdefgh"), 0);
    /* second occurrence inside the window counts */
    assert_int_equal(tcp_match(R("content:\"ab\"; offset:2;"), "abxab"), 1);
    assert_int_equal(tcp_match(R("content:\"ab\"; offset:4;"), "abxab"), 0);
}

static void test_content_negation(void **state)
{
    assert_int_equal(tcp_match(R("content:\"GET\"; content:!\"admin\";"), "GET /index"), 1);
    assert_int_equal(tcp_match(R("content:\"GET\"; content:!\"admin\";"), "GET /admin"), 0);
    assert_int_equal(tcp_match(R("content:\"GET\"; content:!\"ADMIN\"; nocase;"), "GET /admin"), 0);
    /* negated with a window: "admin" allowed past byte 10 */
    assert_int_equal(tcp_match(R("content:\"GET\"; content:!\"admin\"; depth:10;"), "GET /xxxxadmin"), 1);
    assert_int_equal(tcp_match(R("content:\"GET\"; content:!\"admin\"; depth:10;"), "GET /admin"), 0);
    /* negated relative: "x" must not follow "a" directly */
    assert_int_equal(tcp_match(R("content:\"a\"; content:!\"x\"; distance:0; within:1;"), "ax"), 0);
    /* ... but another "a" not followed by "x" is fine (backtracking) */
    assert_int_equal(tcp_match(R("content:\"a\"; content:!\"x\"; distance:0; within:1;"), "axay"), 1);
    /* negated-only rule: a candidate without a fast pattern */
    assert_int_equal(tcp_match(R("content:!\"zzz\";"), "abc"), 1);
    assert_int_equal(tcp_match(R("content:!\"abc\";"), "abc"), 0);
    assert_int_equal(tcp_match(R("content:!\"abc\";"), NULL), 0);
}

static void test_content_relative(void **state)
{
    /* distance from the end of the previous match */
    assert_int_equal(tcp_match(R("content:\"AB\"; content:\"CD\"; distance:2;"), "ABxxCD"), 1);
    assert_int_equal(tcp_match(R("content:\"AB\"; content:\"CD\"; distance:3;"), "ABxxCD"), 0);
    /* Suricata: within counts from prev end + distance */
    assert_int_equal(tcp_match(R("content:\"AB\"; content:\"CD\"; distance:2; within:2;"), "ABxxCD"), 1);
    assert_int_equal(tcp_match(R("content:\"AB\"; content:\"CD\"; within:3;"), "ABxxCD"), 0);
    assert_int_equal(tcp_match(R("content:\"AB\"; content:\"CD\"; within:4;"), "ABxxCD"), 1);
    /* negative distance: may start before the previous match's end */
    assert_int_equal(tcp_match(R("content:\"BCD\"; content:\"AB\"; distance:-4; within:2;"), "ABCD"), 1);
    assert_int_equal(tcp_match(R("content:\"BCD\"; content:\"AB\"; distance:-3;"), "ABCD"), 0);
    /* relative content before anything: relative to the buffer start */
    assert_int_equal(tcp_match(R("content:\"AB\"; distance:1;"), "ABAB"), 1);
    assert_int_equal(tcp_match(R("content:\"AB\"; distance:3;"), "ABAB"), 0);
}

static void test_content_backtracking(void **state)
{
    /* the first "a" has no "b" right after it, the second one has */
    assert_int_equal(tcp_match(R("content:\"a\"; content:\"b\"; distance:0; within:1;"), "xaXXXXab"), 1);
    assert_int_equal(tcp_match(R("content:\"a\"; content:\"b\"; distance:0; within:1;"), "xaXXXXaXb"), 0);
    /* three-deep chain: only the third "k=" is followed by "v" then ";" */
    assert_int_equal(tcp_match(R("content:\"k=\"; content:\"v\"; within:1; content:\"|3B|\"; within:1;"),
                               "k=x;k=vx;k=v;"), 1);
    assert_int_equal(tcp_match(R("content:\"k=\"; content:\"v\"; within:1; content:\"|3B|\"; within:1;"),
                               "k=x;k=vx;k=w;"), 0);
    /* backtracking over a middle element: B at 3 fails for C, B at 7 works */
    assert_int_equal(tcp_match(R("content:\"A\"; content:\"B\"; distance:0; content:\"C\"; distance:0; within:1;"),
                               "A..B...BC"), 1);
    /* A content not found ends the view early only when no way back can
     * find it (detect-match.c, miss_is_final()): after contents, without
     * within; a byte_jump before it, whose target does not grow with the
     * content before, still sends the search back. */
    assert_int_equal(tcp_match(R("content:\"A\"; content:\"B\"; distance:0;"), "xAyB"), 1);
    assert_int_equal(tcp_match(R("content:\"A\"; content:\"B\"; distance:0;"), "BxA"), 0);
    assert_int_equal(tcp_match(R("content:\"A\"; content:\"B\"; distance:1; content:\"C\"; distance:0;"),
                               "ABxACxBC"), 1);
    assert_int_equal(tcp_match(R("content:\"A\"; content:\"B\"; distance:1; content:\"C\"; distance:0;"),
                               "ABxACxCB"), 0);
    assert_int_equal(tcp_match(R("content:\"K\"; byte_jump:1,0,relative; content:\"Z\"; distance:0;"),
                               "K\x09K\x01xZyyyyy"), 1);
    assert_int_equal(tcp_match(R("content:\"K\"; byte_jump:1,0,relative; content:\"Z\"; distance:0;"),
                               "K\x09K\x01xxyyyyy"), 0);
}

/* ------------------------------------------------------------------ pcre */

static void test_pcre(void **state)
{
    assert_int_equal(tcp_match(R("pcre:\"/us(er|r)=\\d+/\";"), "id user=42"), 1);
    assert_int_equal(tcp_match(R("pcre:\"/us(er|r)=\\d+/\";"), "id user=x"), 0);
    assert_int_equal(tcp_match(R("pcre:\"/USER/i\";"), "user"), 1);
    assert_int_equal(tcp_match(R("content:\"GET\"; pcre:!\"/admin/\";"), "GET /index"), 1);
    assert_int_equal(tcp_match(R("content:\"GET\"; pcre:!\"/admin/\";"), "GET /admin"), 0);
    /* R: anchored at the end of the previous match */
    assert_int_equal(tcp_match(R("content:\"user\"; pcre:\"/^\\s*admin/R\";"), "user  admin"), 1);
    assert_int_equal(tcp_match(R("content:\"user\"; pcre:\"/^\\s*admin/R\";"), "admin user x"), 0);
    /* R retries other occurrences of the content */
    assert_int_equal(tcp_match(R("content:\"user\"; pcre:\"/^=root/R\";"), "user=bob user=root"), 1);
    /* a content relative to a pcre match */
    assert_int_equal(tcp_match(R("pcre:\"/id=\\d+/\"; content:\"&\"; within:1;"), "id=12&"), 1);
    assert_int_equal(tcp_match(R("pcre:\"/id=\\d+/\"; content:\"&\"; within:1;"), "id=12x&"), 0);
}

/* ------------------------------------------------------------------ flow, flags, numbers */

static void test_flow_keyword(void **state)
{
    const char *rules[] = {
        "alert tcp any any -> any any (flow:to_server; sid:1;)",
        "alert tcp any any -> any any (flow:to_client; sid:2;)",
        "alert tcp any any -> any any (flow:established; sid:3;)",
        "alert tcp any any -> any any (flow:not_established; sid:4;)",
        "alert tcp any any -> any any (flow:stateless; sid:5;)",
        "alert udp any any -> any any (flow:established,to_server; sid:6;)",
        NULL
    };
    struct detect_engine *e = ruletest_engine(rules);
    struct packet p;
    struct flow f;
    struct alerts a;

    pkt_init(&p, 6, NULL);
    flow_init(&f, &p, NULL);
    assert_int_equal(run(e, &p, &f, &a), 3);
    assert_int_equal(a.sid[0], 1);
    assert_int_equal(a.sid[1], 3);
    assert_int_equal(a.sid[2], 5);
    p.dir = 1;
    assert_int_equal(run(e, &p, &f, &a), 3);
    assert_int_equal(a.sid[0], 2);
    f.tcp_state = FLOW_TCP_SYN_SENT;
    assert_int_equal(run(e, &p, &f, &a), 3);
    assert_int_equal(a.sid[0], 2);
    assert_int_equal(a.sid[1], 4);
    assert_int_equal(a.sid[2], 5);
    /* without a flow only stateless matches */
    assert_int_equal(run(e, &p, NULL, &a), 1);
    assert_int_equal(a.sid[0], 5);

    /* UDP: established once both sides spoke */
    pkt_init(&p, 17, NULL);
    flow_init(&f, &p, NULL);
    f.flags = 0;
    assert_int_equal(run(e, &p, &f, &a), 0);
    f.flags = FLOW_F_TOCLIENT_SEEN;
    assert_int_equal(run(e, &p, &f, &a), 1);
    assert_int_equal(a.sid[0], 6);
    detect_engine_free(e);
}

/* IP-only rules (addresses and protocol only) run on the first packet of
 * each direction of a flow, as in Suricata; any other rule on every packet. */
static void test_ip_only(void **state)
{
    const char *rules[] = {
        "alert ip 10.0.0.0/8 any -> any any (msg:\"reputation\"; sid:1;)",
        "alert ip any any -> any any (sid:2;)",
        "alert tcp any any -> any 80 (sid:3;)",          /* a port: not IP-only */
        "alert ip any any -> any any (ttl:64; sid:4;)",  /* an option: not IP-only */
        NULL
    };
    struct detect_engine *e = ruletest_engine(rules);
    struct detect_engine_stats st;
    struct packet p;
    struct flow f;
    struct alerts a;

    (void)state;
    detect_engine_stats(e, &st);
    assert_true(st.iponly > 0);
    pkt_init(&p, 6, "x");
    flow_init(&f, &p, NULL);
    f.pkts[0] = 1;
    assert_int_equal(run(e, &p, &f, &a), 4);
    f.pkts[0] = 2;                                   /* second packet to the server */
    assert_int_equal(run(e, &p, &f, &a), 2);
    assert_int_equal(a.sid[0], 3);
    assert_int_equal(a.sid[1], 4);
    /* the first reply, from 192.0.2.1: 2 again, 1 not (its source is not 10/8) */
    p.dir = 1;
    f.pkts[1] = 1;
    { struct lw_addr t = p.src; p.src = p.dst; p.dst = t; }
    p.sport = 80;
    p.dport = 40000;
    assert_int_equal(run(e, &p, &f, &a), 2);
    assert_int_equal(a.sid[0], 2);
    assert_int_equal(a.sid[1], 4);
    f.pkts[1] = 5;
    assert_int_equal(run(e, &p, &f, &a), 1);
    assert_int_equal(a.sid[0], 4);
    /* no flow: every packet */
    assert_int_equal(run(e, &p, NULL, &a), 2);
    detect_engine_free(e);
}

static void test_flags(void **state)
{
    struct detect_engine *e;
    struct packet p;
    struct alerts a;
    struct {
        const char *rule;
        uint8_t flags;
        int want;
    } cases[] = {
        { R("flags:S;"), TH_SYN, 1 },
        { R("flags:S;"), TH_SYN | TH_ACK, 0 },
        { R("flags:SA;"), TH_SYN | TH_ACK, 1 },
        { R("flags:S+;"), TH_SYN | TH_ACK, 1 },
        { R("flags:S+;"), TH_ACK, 0 },
        { R("flags:*SF;"), TH_FIN | TH_ACK, 1 },
        { R("flags:*SF;"), TH_ACK, 0 },
        { R("flags:!R;"), TH_ACK, 1 },
        { R("flags:!R;"), TH_RST, 0 },
        { R("flags:S,CE;"), TH_SYN | TH_ECE | TH_CWR, 1 },
        { R("flags:S,12;"), TH_SYN | TH_ECE, 1 },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        e = engine1(cases[i].rule);
        pkt_init(&p, 6, NULL);
        p.tcp_flags = cases[i].flags;
        if (run(e, &p, NULL, &a) != (size_t)cases[i].want)
            fail_msg("%s on flags 0x%02x: want %d", cases[i].rule, cases[i].flags, cases[i].want);
        detect_engine_free(e);
    }
    /* flags never match a non-TCP packet */
    e = engine1("alert ip any any -> any any (flags:!R; sid:1;)");
    pkt_init(&p, 17, NULL);
    assert_int_equal(run(e, &p, NULL, &a), 0);
    detect_engine_free(e);
}

static void test_numbers(void **state)
{
    struct detect_engine *e;
    struct packet p;
    struct alerts a;

    assert_int_equal(tcp_match(R("dsize:3<>6;"), "abc"), 0);
    assert_int_equal(tcp_match(R("dsize:3<>6;"), "abcd"), 1);
    assert_int_equal(tcp_match(R("dsize:3<>6;"), "abcde"), 1);
    assert_int_equal(tcp_match(R("dsize:3<>6;"), "abcdef"), 0);
    assert_int_equal(tcp_match(R("dsize:>3;"), "abcd"), 1);
    assert_int_equal(tcp_match(R("dsize:>3;"), "abc"), 0);
    assert_int_equal(tcp_match(R("dsize:0;"), NULL), 1);
    assert_int_equal(tcp_match(R("dsize:<2;"), "ab"), 0);
    assert_int_equal(tcp_match(R("ttl:64;"), NULL), 1);
    assert_int_equal(tcp_match(R("ttl:<10;"), NULL), 0);
    assert_int_equal(tcp_match(R("ip_proto:6;"), NULL), 1);
    assert_int_equal(tcp_match(R("ip_proto:17;"), NULL), 0);

    e = engine1("alert icmp any any -> any any (itype:8; icode:0; sid:1;)");
    pkt_init(&p, 1, NULL);
    p.icmp_type = 8;
    assert_int_equal(run(e, &p, NULL, &a), 1);
    p.icmp_type = 0;
    assert_int_equal(run(e, &p, NULL, &a), 0);
    p.icmp_type = 8;
    p.icmp_code = 1;
    assert_int_equal(run(e, &p, NULL, &a), 0);
    detect_engine_free(e);
    /* itype on TCP: never */
    e = engine1("alert ip any any -> any any (itype:0; sid:1;)");
    pkt_init(&p, 6, NULL);
    assert_int_equal(run(e, &p, NULL, &a), 0);
    detect_engine_free(e);
}

/* ------------------------------------------------------------------ order, pass */

static void test_order_and_pass(void **state)
{
    const char *rules[] = {
        "alert tcp any any -> any any (content:\"x\"; sid:30; priority:3;)",
        "alert tcp any any -> any any (content:\"x\"; sid:20; priority:1;)",
        "drop tcp any any -> any any (content:\"x\"; sid:10; priority:2;)",
        NULL
    };
    const char *with_pass[] = {
        "alert tcp any any -> any any (content:\"x\"; sid:1; priority:1;)",
        "pass tcp any any -> any 80 (content:\"x\"; sid:99; priority:4;)",
        "alert tcp any any -> any any (sid:2;)",
        NULL
    };
    struct detect_engine *e = ruletest_engine(rules);
    struct packet p;
    struct alerts a;

    pkt_init(&p, 6, "x");
    assert_int_equal(run(e, &p, NULL, &a), 3);
    assert_int_equal(a.sid[0], 20);
    assert_int_equal(a.sid[1], 10);
    assert_int_equal(a.sid[2], 30);
    detect_engine_free(e);

    e = ruletest_engine(with_pass);
    assert_int_equal(run(e, &p, NULL, &a), 0);   /* pass goes first and stops all */
    p.dport = 81;
    assert_int_equal(run(e, &p, NULL, &a), 2);
    pkt_init(&p, 6, "y");
    assert_int_equal(run(e, &p, NULL, &a), 1);
    assert_int_equal(a.sid[0], 2);
    detect_engine_free(e);
}

/* ------------------------------------------------------------------ app layer */

static struct dpi_result *dpi_new(const char *protocol, const char *app_proto)
{
    return ruletest_dpi(protocol, app_proto);
}

static void test_sticky_http(void **state)
{
    const char *rules[] = {
        "alert http any any -> any any (http.uri; content:\"/admin\"; sid:1;)",
        "alert http any any -> any any (http.host; content:\"EXAMPLE.com\"; nocase; sid:2;)",
        "alert http any any -> any any (http.method; content:\"POST\"; sid:3;)",
        "alert http any any -> any any (http.user_agent; content:\"curl/\"; depth:5; sid:4;)",
        "alert http any any -> any any (http.uri; content:\"/admin\"; pcre:\"/^\\/y/R\"; sid:5;)",
        "alert tcp any any -> any 80 (flow:to_server; http.uri; content:\"/adm\"; sid:6;)",
        "alert tls any any -> any any (tls.sni; content:\"x\"; sid:7;)",
        NULL
    };
    struct detect_engine *e = ruletest_engine(rules);
    struct dpi_result *r = dpi_new("HTTP", "http");
    struct detect_thread *t = detect_thread_new(e);
    struct packet p;
    struct flow f;
    struct alerts a;

    r->http = (struct dpi_http *)(r + 1);
    strcpy(r->http->url, "/admin/x?a=1");
    strcpy(r->http->hostname, "www.example.com");
    strcpy(r->http->method, "GET");
    strcpy(r->http->user_agent, "curl/8.0");
    pkt_init(&p, 6, "GET /admin/x");
    flow_init(&f, &p, NULL);

    /* no DPI result yet: nothing */
    memset(&a, 0, sizeof a);
    detect_packet(e, t, NULL, &p, &f, on_alert, &a);
    assert_int_equal(a.n, 0);
    /* result final: every http rule once */
    f.dpi = r;
    detect_packet(e, t, NULL, &p, &f, on_alert, &a);
    assert_int_equal(a.n, 4);
    assert_int_equal(a.sid[0], 1);
    assert_int_equal(a.sid[1], 2);
    assert_int_equal(a.sid[2], 4);
    assert_int_equal(a.sid[3], 6);
    /* once per flow */
    detect_packet(e, t, NULL, &p, &f, on_alert, &a);
    assert_int_equal(a.n, 4);
    detect_flow_free(&f);
    assert_null(f.detect);

    /* first packet after DPI is a reply: the alert still carries the
     * client as source (the rule's orientation) */
    p.dir = 1;
    lw_addr_parse("192.0.2.1", &p.src);
    lw_addr_parse("10.0.0.1", &p.dst);
    p.sport = 80;
    p.dport = 40000;
    a.n = 0;
    detect_packet(e, t, NULL, &p, &f, on_alert, &a);
    assert_int_equal(a.n, 4);
    for (size_t i = 0; i < a.n; i++) {
        char s[64];

        assert_string_equal(lw_addr_str(&a.src[i], s, sizeof s), "10.0.0.1");
        assert_int_equal(a.sport[i], 40000);
    }
    detect_flow_free(&f);

    /* app-layer header protocol: a TLS flow is not http */
    strcpy(r->app_proto, "tls");
    a.n = 0;
    detect_packet(e, t, NULL, &p, &f, on_alert, &a);
    assert_int_equal(a.n, 1);   /* sid 6 is tcp with http.uri: header only says tcp */
    assert_int_equal(a.sid[0], 6);
    detect_flow_free(&f);
    detect_thread_free(t);
    detect_engine_free(e);
    free(r);
}

static void test_sticky_other(void **state)
{
    const char *rules[] = {
        "alert dns any any -> any any (dns.query; content:\"evil.example\"; endswith; sid:1;)",
        "alert dns any any -> any any (dns.query; pcre:\"/^[a-z0-9]{30,}\\./\"; sid:2;)",
        NULL
    };
    const char *rules_tls[] = {
        "alert tls any any -> any any (tls.sni; content:\"tor\"; sid:1;)",
        "alert tls any any -> any any (flow:to_client; tls.cert_subject; content:\"CN=bad\"; sid:2;)",
        "alert tls any any -> any any (tls.cert_issuer; content:\"Evil CA\"; sid:3;)",
        "alert tls any any -> any any (ja3.hash; content:\"e7d705a3286e19ea42f587b344ee6865\"; sid:4;)",
        "alert ssh any any -> any any (ssh.software; content:\"OpenSSH_\"; depth:8; sid:5;)",
        NULL
    };
    struct detect_engine *e;
    struct dpi_result *r = dpi_new("DNS", "dns");
    struct packet p;
    struct flow f;
    struct alerts a;

    /* endswith may not be supported by the parser: fall back to plain */
    {
        struct rule_parse_env env = { NULL, NULL, NULL };
        struct rule *x;
        struct rule_error err;

        if (rule_parse(rules[0], &env, &x, &err) < 0)
            rules[0] = "alert dns any any -> any any (dns.query; content:\"evil.example\"; sid:1;)";
        else
            rule_free(x);
    }
    e = ruletest_engine(rules);
    r->dns = (struct dpi_dns *)(r + 1);
    strcpy(r->dns->rrname, "aaaaaaaaaabbbbbbbbbbccccccccccdddd.evil.example");
    pkt_init(&p, 17, "xx");
    p.dport = 53;
    flow_init(&f, &p, r);
    assert_int_equal(run(e, &p, &f, &a), 2);
    detect_flow_free(&f);
    strcpy(r->dns->rrname, "www.evil.example");
    assert_int_equal(run(e, &p, &f, &a), 1);
    assert_int_equal(a.sid[0], 1);
    detect_flow_free(&f);
    detect_engine_free(e);

    e = ruletest_engine(rules_tls);
    memset(r, 0, sizeof *r);
    r->flags = DPI_F_DONE;
    strcpy(r->protocol, "TLS.Tor");
    strcpy(r->app_proto, "tls");
    r->tls = (struct dpi_tls *)(r + 1);
    strcpy(r->tls->sni, "www.torproject.org");
    strcpy(r->tls->subject, "CN=bad.example");
    strcpy(r->tls->issuerdn, "CN=Good CA");
    strcpy(r->tls->ja3, "e7d705a3286e19ea42f587b344ee6865");
    pkt_init(&p, 6, NULL);
    p.dport = 443;
    flow_init(&f, &p, r);
    assert_int_equal(run(e, &p, &f, &a), 3);
    assert_int_equal(a.sid[0], 1);
    assert_int_equal(a.sid[1], 2);
    assert_int_equal(a.sid[2], 4);
    {
        char s[64];

        /* to_client: reported from the server */
        assert_string_equal(lw_addr_str(&a.src[1], s, sizeof s), "192.0.2.1");
        assert_int_equal(a.sport[1], 443);
    }
    detect_flow_free(&f);

    memset(r, 0, sizeof *r);
    r->flags = DPI_F_DONE;
    strcpy(r->protocol, "SSH");
    strcpy(r->app_proto, "ssh");
    r->ssh = (struct dpi_ssh *)(r + 1);
    strcpy(r->ssh->client_version, "SSH-2.0-PuTTY_0.78");
    strcpy(r->ssh->server_version, "SSH-2.0-OpenSSH_9.2p1");
    assert_int_equal(run(e, &p, &f, &a), 1);   /* the server's software */
    assert_int_equal(a.sid[0], 5);
    detect_flow_free(&f);
    strcpy(r->ssh->server_version, "SSH-1.99-Cisco");
    assert_int_equal(run(e, &p, &f, &a), 0);
    detect_flow_free(&f);
    detect_engine_free(e);
    free(r);
}

/* A flow whose DPI result was final only at its end gets its flow-level
 * rules from detect_flow_end(), once; packet rules do not run there. */
static void test_flow_end(void **state)
{
    const char *rules[] = {
        "alert dns any any -> any any (dns.query; content:\"tunnel\"; sid:1;)",
        "alert udp any any -> any any (sid:2;)",
        NULL
    };
    struct detect_engine *e = ruletest_engine(rules);
    struct detect_thread *t = detect_thread_new(e);
    struct dpi_result *r = dpi_new("DNS", "dns");
    struct packet p;
    struct flow f;
    struct alerts a;

    r->dns = (struct dpi_dns *)(r + 1);
    strcpy(r->dns->rrname, "x.tunnel.example");
    pkt_init(&p, 17, "q");
    p.dport = 53;
    flow_init(&f, &p, NULL);
    f.last_ts = 42;
    memset(&a, 0, sizeof a);
    detect_packet(e, t, NULL, &p, &f, on_alert, &a);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.sid[0], 2);
    detect_flow_end(e, t, NULL, &f, on_alert, &a);   /* no result yet: nothing */
    assert_int_equal(a.n, 1);
    f.dpi = r;
    detect_flow_end(e, t, NULL, &f, on_alert, &a);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.sid[1], 1);
    assert_int_equal(a.sport[1], 40000);
    detect_flow_end(e, t, NULL, &f, on_alert, &a);
    assert_int_equal(a.n, 2);
    detect_flow_free(&f);
    detect_thread_free(t);
    detect_engine_free(e);
    free(r);
}

static void test_app_keywords(void **state)
{
    const char *rules[] = {
        "alert tcp any any -> any any (ndpi-protocol:TLS.Tor; sid:1;)",
        "alert tcp any any -> any any (ndpi-protocol:Tor; sid:2;)",
        "alert tcp any any -> any any (ndpi-protocol:TLS; sid:3;)",
        "alert tcp any any -> any any (ndpi-protocol:!Tor; sid:4;)",
        "alert tcp any any -> any any (app-layer-protocol:tls; sid:5;)",
        "alert tcp any any -> any any (app-layer-protocol:!http; sid:6;)",
        "alert tcp any any -> any any (app-layer-protocol:tls; content:\"abc\"; sid:7;)",
        "alert tcp any any -> any any (ndpi-protocol:HTTP; sid:8;)",
        NULL
    };
    struct detect_engine *e = ruletest_engine(rules);
    struct dpi_result *r = dpi_new("TLS.Tor", "tls");
    struct detect_thread *t = detect_thread_new(e);
    struct packet p;
    struct flow f;
    struct alerts a;

    pkt_init(&p, 6, "xabcx");
    flow_init(&f, &p, r);
    memset(&a, 0, sizeof a);
    detect_packet(e, t, NULL, &p, &f, on_alert, &a);
    assert_int_equal(a.n, 6);
    assert_int_equal(a.sid[0], 1);
    assert_int_equal(a.sid[1], 2);
    assert_int_equal(a.sid[2], 3);
    assert_int_equal(a.sid[3], 5);
    assert_int_equal(a.sid[4], 6);
    assert_int_equal(a.sid[5], 7);
    /* later packets: only the per-packet rule 7 */
    detect_packet(e, t, NULL, &p, &f, on_alert, &a);
    assert_int_equal(a.n, 7);
    assert_int_equal(a.sid[6], 7);
    detect_flow_free(&f);

    strcpy(r->protocol, "TLS.YouTube");
    a.n = 0;
    detect_packet(e, t, NULL, &p, &f, on_alert, &a);
    assert_int_equal(a.n, 5);   /* 3, 4, 5, 6, 7 */
    assert_int_equal(a.sid[1], 4);
    detect_flow_free(&f);
    detect_thread_free(t);
    detect_engine_free(e);
    free(r);
}

static const char *geo_of(void *arg, const struct flow *f, const struct lw_addr *a)
{
    char s[64];

    lw_addr_str(a, s, sizeof s);
    if (strcmp(s, "10.0.0.1") == 0)
        return "DE";
    if (strcmp(s, "192.0.2.1") == 0)
        return "RU";
    return NULL;
}

static void test_geoip(void **state)
{
    const char *rules[] = {
        "alert tcp any any -> any any (geoip:dst,RU,CN; sid:1;)",
        "alert tcp any any -> any any (geoip:src,RU; sid:2;)",
        "alert tcp any any -> any any (geoip:both,!US; sid:3;)",
        "alert tcp any any -> any any (geoip:any,DE; sid:4;)",
        "alert tcp any any -> any any (geoip:both,DE; sid:5;)",
        NULL
    };
    struct detect_engine *e = ruletest_engine(rules);
    struct packet p;
    struct alerts a;

    pkt_init(&p, 6, NULL);
    assert_int_equal(run(e, &p, NULL, &a), 0);   /* no lookup: never */
    run_geo = geo_of;
    assert_int_equal(run(e, &p, NULL, &a), 3);
    assert_int_equal(a.sid[0], 1);
    assert_int_equal(a.sid[1], 3);
    assert_int_equal(a.sid[2], 4);
    lw_addr_parse("198.51.100.1", &p.dst);       /* unknown country: !US fails */
    assert_int_equal(run(e, &p, NULL, &a), 1);
    assert_int_equal(a.sid[0], 4);
    run_geo = NULL;
    detect_engine_free(e);
}

/* ------------------------------------------------------------------ prefilter */

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
    return ruletest_rand(&rnd_state);
}

static void rnd_word(char *out, size_t n)
{
    static const char alpha[] = "abcAB";

    for (size_t i = 0; i < n; i++)
        out[i] = alpha[rnd() % 5];
    out[n] = '\0';
}

/* Random rules over a tiny alphabet on random payloads: the prefiltered
 * engine alerts exactly like one that evaluates every rule. */
static void test_prefilter_equivalence(void **state)
{
    enum { NRULES = 300, NPKTS = 3000 };
    static char text[NRULES][512];
    const char *v[NRULES + 1];
    struct detect_engine *e;
    struct detect_thread *t1, *t2;
    struct detect_engine_stats st;
    size_t total = 0;

    for (int i = 0; i < NRULES; i++) {
        char w1[8], w2[8], opts[400] = "";
        size_t len = 0;
        int n = 1 + (int)(rnd() % 3);

        for (int k = 0; k < n; k++) {
            rnd_word(w1, 2 + rnd() % 2);
            len += (size_t)snprintf(opts + len, sizeof opts - len, "content:%s\"%s\"; %s",
                                    rnd() % 6 == 0 ? "!" : "", w1, rnd() % 3 == 0 ? "nocase; " : "");
            switch (k ? rnd() % 4 : rnd() % 3) {
            case 1: len += (size_t)snprintf(opts + len, sizeof opts - len, "offset:%u; ", rnd() % 4); break;
            case 2: len += (size_t)snprintf(opts + len, sizeof opts - len, "depth:%u; ", 3 + rnd() % 6); break;
            case 3: len += (size_t)snprintf(opts + len, sizeof opts - len, "distance:%d; within:%u; ",
                                            (int)(rnd() % 3), 3 + rnd() % 3); break;
            default: break;
            }
        }
        if (rnd() % 5 == 0) {
            rnd_word(w2, 2);
            len += (size_t)snprintf(opts + len, sizeof opts - len, "pcre:\"/%s/%s\"; ", w2,
                                    rnd() % 2 ? "R" : "i");
        }
        snprintf(text[i], sizeof text[i], "alert tcp any any -> any %s (%ssid:%d;)",
                 rnd() % 3 == 0 ? "80" : rnd() % 2 ? "[80,81]" : "any", opts, i + 1);
        v[i] = text[i];
    }
    v[NRULES] = NULL;
    e = ruletest_engine(v);
    detect_engine_stats(e, &st);
    assert_true(st.patterns > NRULES / 2);   /* most rules are prefiltered */
    t1 = detect_thread_new(e);
    t2 = detect_thread_new(e);
    detect_thread_set_prefilter(t2, 0);
    for (int i = 0; i < NPKTS; i++) {
        char payload[64];
        struct packet p;
        struct alerts a1, a2;

        rnd_word(payload, rnd() % 40);
        pkt_init(&p, 6, payload);
        p.dport = (uint16_t)(80 + rnd() % 3);
        memset(&a1, 0, sizeof a1);
        memset(&a2, 0, sizeof a2);
        detect_packet(e, t1, NULL, &p, NULL, on_alert, &a1);
        detect_packet(e, t2, NULL, &p, NULL, on_alert, &a2);
        assert_int_equal(a1.n, a2.n);
        assert_true(a1.n <= MAX_ALERTS);
        for (size_t k = 0; k < a1.n; k++)
            assert_int_equal(a1.sid[k], a2.sid[k]);
        total += a1.n;
    }
    print_message("prefilter equivalence: %zu alerts over %d packets\n", total, NPKTS);
    assert_true(total > 3000);
    detect_thread_free(t1);
    detect_thread_free(t2);
    detect_engine_free(e);
}

/* The same for flow-level rules and the per-sticky-buffer databases. */
static void test_prefilter_sticky_equivalence(void **state)
{
    enum { NRULES = 200, NFLOWS = 2000 };
    static const char *bufs[] = { "http.uri", "http.host", "http.user_agent", "tls.sni", "ssh.software" };
    static char text[NRULES][512];
    const char *v[NRULES + 1];
    struct detect_engine *e;
    struct detect_thread *t1, *t2;
    struct dpi_result *r = dpi_new("HTTP", "http");
    size_t total = 0;

    for (int i = 0; i < NRULES; i++) {
        char w[8], opts[400] = "";
        size_t len = 0;
        int n = 1 + (int)(rnd() % 3), rk = (int)(rnd() % 3);

        for (int k = 0; k < n; k++) {
            /* one kind of buffer per rule: the parser refuses mixes */
            const char *b = rk == 0 ? bufs[rnd() % 3] : bufs[2 + rk];

            rnd_word(w, 1 + rnd() % 3);
            len += (size_t)snprintf(opts + len, sizeof opts - len, "%s; content:%s\"%s\"; %s",
                                    b, rnd() % 6 == 0 ? "!" : "", w,
                                    rnd() % 3 == 0 ? "nocase; " : "");
        }
        snprintf(text[i], sizeof text[i], "alert tcp any any -> any %s (%ssid:%d;)",
                 rnd() % 2 ? "80" : "any", opts, i + 1);
        v[i] = text[i];
    }
    v[NRULES] = NULL;
    e = ruletest_engine(v);
    t1 = detect_thread_new(e);
    t2 = detect_thread_new(e);
    detect_thread_set_prefilter(t2, 0);
    r->http = (struct dpi_http *)(r + 1);
    for (int i = 0; i < NFLOWS; i++) {
        struct packet p;
        struct flow f;
        struct alerts a1, a2;
        int kind = (int)(rnd() % 3);

        r->http = NULL;
        r->tls = NULL;
        r->ssh = NULL;
        if (kind == 0) {
            r->http = (struct dpi_http *)(r + 1);
            rnd_word(r->http->url, rnd() % 20);
            rnd_word(r->http->hostname, rnd() % 20);
            rnd_word(r->http->user_agent, rnd() % 20);
        } else if (kind == 1) {
            r->tls = (struct dpi_tls *)(r + 1);
            rnd_word(r->tls->sni, rnd() % 20);
        } else {
            r->ssh = (struct dpi_ssh *)(r + 1);
            strcpy(r->ssh->client_version, "SSH-2.0-");
            rnd_word(r->ssh->client_version + 8, rnd() % 20);
            strcpy(r->ssh->server_version, "SSH-2.0-");
            rnd_word(r->ssh->server_version + 8, rnd() % 20);
        }
        pkt_init(&p, 6, "x");
        p.dport = (uint16_t)(80 + rnd() % 2);
        flow_init(&f, &p, r);
        memset(&a1, 0, sizeof a1);
        memset(&a2, 0, sizeof a2);
        detect_packet(e, t1, NULL, &p, &f, on_alert, &a1);
        detect_flow_free(&f);
        detect_packet(e, t2, NULL, &p, &f, on_alert, &a2);
        detect_flow_free(&f);
        assert_int_equal(a1.n, a2.n);
        assert_true(a1.n <= MAX_ALERTS);
        for (size_t k = 0; k < a1.n; k++)
            assert_int_equal(a1.sid[k], a2.sid[k]);
        total += a1.n;
    }
    print_message("sticky prefilter equivalence: %zu alerts over %d flows\n", total, NFLOWS);
    assert_true(total > 500);
    detect_thread_free(t1);
    detect_thread_free(t2);
    detect_engine_free(e);
    free(r);
}

/* ------------------------------------------------------------------ stream */

/* One client -> server TCP connection through the reassembler and an
 * engine, as the worker runs them. */
struct sconn {
    struct detect_engine *e;
    struct detect_thread *t;
    struct stream_ctx *s;
    struct flow f;
    struct packet p;
    struct alerts a;
};

static void sconn_init_w(struct sconn *c, const char *const *rules, uint64_t depth, uint32_t window)
{
    struct stream_config cfg = { depth, 1 << 24, window, 65536 };

    memset(c, 0, sizeof *c);
    c->e = ruletest_engine(rules);
    c->t = detect_thread_new(c->e);
    c->s = stream_ctx_new(&cfg);
    assert_non_null(c->t);
    assert_non_null(c->s);
    pkt_init(&c->p, 6, NULL);
    flow_init(&c->f, &c->p, NULL);
}

static void sconn_init(struct sconn *c, const char *const *rules, uint64_t depth)
{
    sconn_init_w(c, rules, depth, 2048);
}

/* Sends data at stream offset off (len bytes; strlen when len is 0) and
 * returns the alerts it raised (in c->a). */
static size_t sseg_n(struct sconn *c, uint32_t off, const char *data, size_t len)
{
    pkt_init(&c->p, 6, NULL);
    c->p.payload = (const uint8_t *)data;
    c->p.payload_len = (uint32_t)(len ? len : strlen(data));
    c->p.tcp_seq = 1001 + off;
    c->p.tcp_ack = 50001;
    c->p.flow = &c->f;
    c->f.pkts[0]++;
    c->f.tcp_flags_ts |= c->p.tcp_flags;
    stream_packet(c->s, &c->f, &c->p);
    memset(&c->a, 0, sizeof c->a);
    detect_packet(c->e, c->t, NULL, &c->p, &c->f, on_alert, &c->a);
    return c->a.n;
}

static size_t sseg(struct sconn *c, uint32_t off, const char *data)
{
    return sseg_n(c, off, data, 0);
}

static void sconn_free(struct sconn *c)
{
    stream_flow_free(c->s, &c->f);
    detect_flow_free(&c->f);
    stream_ctx_free(c->s);
    detect_thread_free(c->t);
    detect_engine_free(c->e);
}

/* Content rules see the stream: a split pattern is found once, on the
 * packet completing it; a pattern inside one packet is not reported twice. */
static void test_stream_split(void **state)
{
    const char *v[] = { R("content:\"attack\";"), NULL };
    struct sconn c;

    sconn_init(&c, v, 0);
    assert_int_equal(sseg(&c, 0, "xxat"), 0);
    assert_int_equal(sseg(&c, 4, "tac"), 0);
    assert_int_equal(sseg(&c, 7, "kyy"), 1);
    assert_true(c.a.stream[0]);
    assert_int_equal(sseg(&c, 10, "zzzz"), 0);
    /* whole in one packet: once; the next packet does not repeat it */
    assert_int_equal(sseg(&c, 14, "an attack!"), 1);
    assert_int_equal(sseg(&c, 24, "more"), 0);
    /* again later: a new match */
    assert_int_equal(sseg(&c, 28, "attack"), 1);
    /* a retransmission is no new data */
    assert_int_equal(sseg(&c, 28, "attack"), 0);
    /* out of order: 3, 1, 2 */
    assert_int_equal(sseg(&c, 38, "ck"), 0);
    assert_int_equal(sseg(&c, 34, "at"), 0);
    assert_int_equal(sseg(&c, 36, "ta"), 1);
    sconn_free(&c);

    /* without reassembly state (e.g. reassembly off) packets are matched */
    assert_int_equal(tcp_match(R("content:\"attack\";"), "attack"), 1);
}

#define T(opts) "alert tcp any any -> any any (" opts ")"

/* Which rules see what (rules/README.md, "Stream reassembly"). */
static void test_stream_modes(void **state)
{
    const char *v[] = {
        T("content:\"PASS \"; depth:5; sid:2;"),                     /* both */
        T("content:\"secret\"; flow:no_stream; sid:3;"),             /* packets */
        T("content:\"secret\"; dsize:>0; sid:4;"),                   /* packets */
        T("content:\"PASS \"; depth:5; flow:only_stream; sid:5;"),   /* stream */
        T("content:\"secret\"; sid:6;"),                             /* stream */
        NULL,
    };
    struct sconn c;

    sconn_init(&c, v, 0);
    /* "PASS " split at the stream start: stream rules 2 and 5 */
    assert_int_equal(sseg(&c, 0, "PA"), 0);
    assert_int_equal(sseg(&c, 2, "SS x\r\n"), 2);
    assert_true(c.a.stream[0] && c.a.stream[1]);
    /* "PASS " at a packet's start, not the stream's: packet rule 2 only */
    assert_int_equal(sseg(&c, 8, "PASS y\r\n"), 1);
    assert_int_equal(c.a.sid[0], 2);
    assert_false(c.a.stream[0]);
    /* "secret" split: only the stream rule */
    assert_int_equal(sseg(&c, 16, "sec"), 0);
    assert_int_equal(sseg(&c, 19, "ret"), 1);
    assert_int_equal(c.a.sid[0], 6);
    /* whole: packet rules 3, 4 and stream rule 6, each once */
    assert_int_equal(sseg(&c, 22, "secret"), 3);
    sconn_free(&c);
}

/* Windows: relative runs reach back as far as they span; rules without a
 * bound see the whole history and alert when they start to match. */
static void test_stream_windows(void **state)
{
    const char *v[] = {
        T("content:\"abc\"; content:\"xyz\"; distance:0; within:10; sid:1;"),
        T("content:\"mining.subscribe\"; content:\"method\"; sid:2;"),
        T("pcre:\"/^GET \\//\"; sid:3;"),
        T("content:\"GET\"; pcre:\"/^\\s+\\/admin/R\"; sid:4;"),
        NULL,
    };
    struct sconn c;

    sconn_init(&c, v, 0);
    /* abc .... xyz across three packets, within 10 */
    assert_int_equal(sseg(&c, 0, "--ab"), 0);
    assert_int_equal(sseg(&c, 4, "c...."), 0);
    assert_int_equal(sseg(&c, 9, "xyz"), 1);
    assert_int_equal(c.a.sid[0], 1);
    /* too far apart: no */
    assert_int_equal(sseg(&c, 12, "abc..........xyz"), 0);
    /* two independent contents: once, not again when one repeats */
    assert_int_equal(sseg(&c, 28, "{\"method\": \"mining.subscribe\"}"), 1);
    assert_int_equal(c.a.sid[0], 2);
    assert_int_equal(sseg(&c, 58, "{\"method\": \"mining.authorize\"}"), 0);
    sconn_free(&c);

    /* an anchored pcre: at the stream's start (split there too) and at a
     * packet's start (anchored rules see packets as well) */
    sconn_init(&c, v, 0);
    assert_int_equal(sseg(&c, 0, "GE"), 0);
    assert_int_equal(sseg(&c, 2, "T /index HTTP/1.1\r\n\r\n"), 1);
    assert_int_equal(c.a.sid[0], 3);
    assert_true(c.a.stream[0]);
    assert_int_equal(sseg(&c, 23, "GET /x HTTP/1.1\r\n\r\n"), 1);
    assert_false(c.a.stream[0]);
    /* mid-packet, mid-stream: ^ is neither start */
    assert_int_equal(sseg(&c, 42, "..GET /y"), 0);
    /* a relative anchored pcre follows its content across packets */
    assert_int_equal(sseg(&c, 50, "xGET"), 0);
    assert_int_equal(sseg(&c, 54, "  /admin"), 1);
    assert_int_equal(c.a.sid[0], 4);
    sconn_free(&c);
}

/* Past stream.depth a direction's payload is not inspected, packet or
 * stream; rules without payload keywords go on. */
static void test_stream_depth(void **state)
{
    const char *v[] = {
        T("content:\"evil\"; sid:1;"),
        T("content:\"evil\"; flow:no_stream; sid:2;"),
        T("flags:PA; dsize:>0; sid:3;"),
        NULL,
    };
    struct sconn c;

    sconn_init(&c, v, 16);
    assert_int_equal(sseg(&c, 0, "0123456789ev"), 1);     /* sid 3 */
    assert_int_equal(sseg(&c, 12, "il.."), 2);            /* 1 (stream), 3 */
    assert_int_equal(sseg(&c, 16, "evil"), 1);            /* past the depth: 3 only */
    assert_int_equal(c.a.sid[0], 3);
    sconn_free(&c);
}

/* Random rules on random streams sent in random segments, some out of
 * order or repeated, with history windows from 8 bytes to 2 KiB: the
 * prefiltered engine (a scan of the new data, the rules remembered from
 * earlier packets, the history when they overflow) alerts exactly like one
 * that evaluates every rule on the whole chunk. */
static void test_stream_prefilter_equivalence(void **state)
{
    enum { NRULES = 200, NFLOWS = 300, LEN = 400 };
    static char text[NRULES][512];
    const char *v[NRULES + 1];
    struct sconn c1, c2;
    size_t total = 0, on_stream = 0;

    for (int i = 0; i < NRULES; i++) {
        char w[8], opts[400] = "";
        size_t len = 0;
        int n = 1 + (int)(rnd() % 3);

        for (int k = 0; k < n; k++) {
            rnd_word(w, 2 + rnd() % 3);
            len += (size_t)snprintf(opts + len, sizeof opts - len, "content:%s\"%s\"; ",
                                    rnd() % 8 == 0 ? "!" : "", w);
            switch (k ? rnd() % 4 : rnd() % 3) {
            case 1: len += (size_t)snprintf(opts + len, sizeof opts - len, "offset:%u; ", rnd() % 4); break;
            case 2: len += (size_t)snprintf(opts + len, sizeof opts - len, "depth:%u; ", 4 + rnd() % 30); break;
            case 3: len += (size_t)snprintf(opts + len, sizeof opts - len, "distance:%d; within:%u; ",
                                            (int)(rnd() % 5) - 1, 4 + rnd() % 6); break;
            default: break;
            }
        }
        if (rnd() % 6 == 0) {
            rnd_word(w, 2);
            len += (size_t)snprintf(opts + len, sizeof opts - len, "pcre:\"/%s%s/%s\"; ",
                                    rnd() % 3 ? "" : "^", w, rnd() % 2 ? "R" : "i");
        }
        snprintf(text[i], sizeof text[i], "alert tcp any any -> any any (%ssid:%d;)", opts, i + 1);
        v[i] = text[i];
    }
    v[NRULES] = NULL;
    for (int fl = 0; fl < NFLOWS; fl++) {
        char data[LEN + 1];
        uint32_t off = 0;

        static const uint32_t windows[] = { 8, 32, 100, 2048 };
        uint32_t win = windows[rnd() % 4];

        rnd_word(data, LEN);
        sconn_init_w(&c1, v, 0, win);
        sconn_init_w(&c2, v, 0, win);
        detect_thread_set_prefilter(c2.t, 0);
        while (off < LEN) {
            uint32_t n = 1 + rnd() % 40, at = off;

            if (off + n > LEN)
                n = LEN - off;
            if (rnd() % 5 == 0 && off + n + 10 <= LEN)
                at = off + 10;                   /* out of order: the hole comes next */
            else if (rnd() % 10 == 0 && off >= 10)
                at = off - 10;                   /* a retransmission */
            sseg_n(&c1, at, data + at, n);
            sseg_n(&c2, at, data + at, n);
            assert_int_equal(c1.a.n, c2.a.n);
            for (size_t k = 0; k < c1.a.n && k < MAX_ALERTS; k++) {
                assert_int_equal(c1.a.sid[k], c2.a.sid[k]);
                assert_int_equal(c1.a.stream[k], c2.a.stream[k]);
                on_stream += c1.a.stream[k];
            }
            total += c1.a.n;
            if (at == off)
                off += n;
        }
        sconn_free(&c1);
        sconn_free(&c2);
    }
    print_message("stream prefilter equivalence: %zu alerts (%zu on the stream)\n", total, on_stream);
    assert_true(on_stream > 100);
}

/* A single content on the stream alerts on exactly the packets whose new
 * bytes end an occurrence of it, however the stream is cut. */
static void test_stream_oracle(void **state)
{
    enum { NRUNS = 400, LEN = 300 };
    size_t total = 0;

    for (int run = 0; run < NRUNS; run++) {
        char w[8], rule[64], data[LEN + 1];
        const char *v[2] = { rule, NULL };
        struct sconn c;
        uint32_t off = 0;
        size_t wl;

        rnd_word(w, 2 + rnd() % 4);
        wl = strlen(w);
        snprintf(rule, sizeof rule, "alert tcp any any -> any any (content:\"%s\"; sid:1;)", w);
        rnd_word(data, LEN);
        sconn_init(&c, v, 0);
        while (off < LEN) {
            uint32_t n = 1 + rnd() % 20;
            size_t want = 0;

            if (off + n > LEN)
                n = LEN - off;
            for (size_t end = off + 1; end <= off + n && !want; end++)
                want = end >= wl && memcmp(data + end - wl, w, wl) == 0;
            assert_int_equal(sseg_n(&c, off, data + off, n), want);
            total += want;
            off += n;
        }
        sconn_free(&c);
    }
    assert_true(total > 1000);
}

/* ------------------------------------------------------------------ thresholds */

static void test_threshold_hook(void **state)
{
    struct detect_engine *e = engine1(
        "alert tcp any any -> any any (content:\"x\"; threshold:type limit, track by_src, count 1, seconds 60; sid:1;)");
    struct threshold_ctx *th = threshold_new(16);
    struct detect_thread *t = detect_thread_new(e);
    struct packet p;
    struct alerts a;

    assert_non_null(th);
    memset(&a, 0, sizeof a);
    pkt_init(&p, 6, "x");
    for (int i = 0; i < 3; i++)
        detect_packet(e, t, th, &p, NULL, on_alert, &a);
    assert_int_equal(a.n, 1);   /* limit 1 per 60 s by source */
    threshold_free(th);
    detect_thread_free(t);
    detect_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_header_ports_groups),
        cmocka_unit_test(test_content_basic),
        cmocka_unit_test(test_content_offset_depth),
        cmocka_unit_test(test_content_negation),
        cmocka_unit_test(test_content_relative),
        cmocka_unit_test(test_content_backtracking),
        cmocka_unit_test(test_pcre),
        cmocka_unit_test(test_flow_keyword),
        cmocka_unit_test(test_ip_only),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_order_and_pass),
        cmocka_unit_test(test_sticky_http),
        cmocka_unit_test(test_sticky_other),
        cmocka_unit_test(test_flow_end),
        cmocka_unit_test(test_app_keywords),
        cmocka_unit_test(test_geoip),
        cmocka_unit_test(test_prefilter_equivalence),
        cmocka_unit_test(test_prefilter_sticky_equivalence),
        cmocka_unit_test(test_stream_split),
        cmocka_unit_test(test_stream_modes),
        cmocka_unit_test(test_stream_windows),
        cmocka_unit_test(test_stream_depth),
        cmocka_unit_test(test_stream_prefilter_equivalence),
        cmocka_unit_test(test_stream_oracle),
        cmocka_unit_test(test_threshold_hook),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
