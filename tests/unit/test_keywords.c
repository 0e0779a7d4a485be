/* test_keywords.c - every rule keyword of issue 18 on the examples of
 * Suricata's documentation (docs.suricata.io, "Payload Keywords",
 * "Transformations", "Flow Keywords", "Header Keywords", ...), each with a
 * near miss: the same rule on input that differs in the one way the
 * keyword cares about must not alert. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "detect.h"
#include "dpi.h"
#include "eve.h"
#include "json.h"
#include "pii.h"
#include "rule-parse.h"
#include "ruletest.h"
#include "threshold.h"
#include "util.h"

/* ------------------------------------------------------------------ helpers */

static size_t nalerts;
static uint32_t last_sid;

static void on_alert(void *arg, const struct rule *r, const struct packet *p, struct flow *f)
{
    nalerts++;
    last_sid = r->sid;
}

/* Where a case's input goes. */
enum { K_TCP, K_UDP, K_DNS, K_URI, K_UA, K_HOST, K_SNI, K_METHOD };

/* The rule text of a case's options for its kind of input. */
static void rule_text(char *out, size_t n, int kind, const char *opts)
{
    static const char *const proto[] = { "tcp", "udp", "dns", "http", "http", "http", "tls", "http" };

    snprintf(out, n, "alert %s any any -> any any (%s sid:1;)", proto[kind], opts);
}

/* Copies s into a field of cap bytes; the test fails when it does not fit. */
static void put(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);

    assert_true(n < cap);
    memcpy(dst, s, n + 1);
}

/* Alerts of engine e on input d[0, len) as kind (a fresh flow). */
static size_t run_input(struct detect_engine *e, int kind, const char *d, size_t len)
{
    struct detect_thread *t = detect_thread_new(e);
    struct dpi_result *r = NULL;
    struct packet p;
    struct flow f;
    char s[600];

    assert_non_null(t);
    assert_true(len < sizeof s);
    memcpy(s, d, len);
    s[len] = '\0';
    if (kind >= K_DNS) {
        r = ruletest_dpi(kind == K_DNS ? "DNS" : kind == K_SNI ? "TLS" : "HTTP",
                    kind == K_DNS ? "dns" : kind == K_SNI ? "tls" : "http");
        if (kind == K_DNS) {
            r->dns = (struct dpi_dns *)(r + 1);
            put(r->dns->rrname, sizeof r->dns->rrname, s);
        } else if (kind == K_SNI) {
            r->tls = (struct dpi_tls *)(r + 1);
            put(r->tls->sni, sizeof r->tls->sni, s);
        } else {
            r->http = (struct dpi_http *)(r + 1);
            put(r->http->method, sizeof r->http->method, "GET");
            put(r->http->url, sizeof r->http->url, "/");
            if (kind == K_URI)
                put(r->http->url, sizeof r->http->url, s);
            else if (kind == K_UA)
                put(r->http->user_agent, sizeof r->http->user_agent, s);
            else if (kind == K_HOST)
                put(r->http->hostname, sizeof r->http->hostname, s);
            else
                put(r->http->method, sizeof r->http->method, s);
        }
        ruletest_packet(&p, kind == K_DNS ? 17 : 6, (const uint8_t *)"x", 1);
    } else {
        ruletest_packet(&p, kind == K_UDP ? 17 : 6, (const uint8_t *)d, (uint32_t)len);
    }
    ruletest_flow(&f, &p, r);
    f.pkts[0] = 1;
    nalerts = 0;
    detect_packet(e, t, NULL, &p, &f, on_alert, NULL);
    detect_flow_free(&f);
    detect_thread_free(t);
    free(r);
    return nalerts;
}

struct kcase {
    const char *opts;              /* the rule's options, sid added */
    int kind;
    const char *hit, *miss;
    size_t hitlen, misslen;
};

#define C(opts, kind, hit, miss) { opts, kind, hit, miss, sizeof(hit) - 1, sizeof(miss) - 1 }

static void run_cases(const struct kcase *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char text[1024];
        const char *v[2] = { text, NULL };
        struct detect_engine *e;

        rule_text(text, sizeof text, c[i].kind, c[i].opts);
        e = ruletest_engine(v);
        if (run_input(e, c[i].kind, c[i].hit, c[i].hitlen) != 1)
            fail_msg("no alert for %s", text);
        if (run_input(e, c[i].kind, c[i].miss, c[i].misslen) != 0)
            fail_msg("near miss alerted for %s", text);
        detect_engine_free(e);
    }
}

/* ------------------------------------------------------------------ content modifiers */

static void test_content_modifiers(void **state)
{
    static const struct kcase c[] = {
        C("content:\"GET|20|\"; startswith;", K_TCP, "GET /index.html", "XGET /index.html"),
        C("content:\"GET|20|\"; startswith; content:\"/admin\"; distance:0;", K_TCP, "GET /admin", "GET /x /admi"),
        C("http.uri; content:\".php\"; endswith;", K_URI, "/index.php", "/index.php?id=1"),
        C("http.uri; content:!\".php\"; endswith;", K_URI, "/index.php?x", "/index.php"),
        C("content:\"a\"; rawbytes;", K_TCP, "xa", "xb"),
        C("content:\"aaaaaaaaabc\"; fast_pattern:8,3;", K_TCP, "xxaaaaaaaaabc", "xxaaaaaaaaabd"),
        C("content:\"xmrig\"; fast_pattern:only;", K_TCP, "run xmrig now", "run xmri g now"),
        C("content:\"def\"; offset:3; depth:3;", K_TCP, "abcdef", "abcxdef"),
    };

    run_cases(c, sizeof c / sizeof c[0]);
}

static void test_bsize_urilen_dsize(void **state)
{
    static const struct kcase c[] = {
        /* docs: bsize examples on dns.query */
        C("dns.query; content:\"google.com\"; bsize:10;", K_DNS, "google.com", "google.com.au"),
        C("dns.query; content:\"google.com\"; bsize:<25;", K_DNS, "www.google.com", "aaaaaaaaaaaaaaaa.google.com"),
        C("dns.query; content:\"google.com\"; bsize:<=20;", K_DNS, "www.google.com", "aaaaaaaaaaa.google.com"),
        C("dns.query; content:\"google.com\"; bsize:>8;", K_DNS, "google.com", "google.co"),
        C("dns.query; content:\"google.com\"; bsize:>=11;", K_DNS, "xgoogle.com", "google.com"),
        C("dns.query; content:\"middle\"; bsize:6<>15;", K_DNS, "amiddle", "middle"),
        /* urilen (http keywords) */
        C("urilen:>10;", K_URI, "/index.html", "/index"),
        C("urilen:5<>10;", K_URI, "/abcdef", "/a"),
        C("urilen:3;", K_URI, "/ab", "/abc"),
        /* dsize, every form */
        C("dsize:10;", K_TCP, "0123456789", "012345678"),
        C("dsize:<10;", K_TCP, "012345678", "0123456789"),
        C("dsize:<=10;", K_TCP, "0123456789", "0123456789a"),
        C("dsize:>8;", K_TCP, "012345678", "01234567"),
        C("dsize:>=10;", K_TCP, "0123456789", "012345678"),
        C("dsize:8<>20;", K_TCP, "012345678", "01234567"),
        C("dsize:!9;", K_TCP, "0123456789", "012345678"),
    };

    run_cases(c, sizeof c / sizeof c[0]);
}

static void test_isdataat(void **state)
{
    /* docs: the payload "abcdefgh" and its table of matches */
    static const struct kcase c[] = {
        C("isdataat:7;", K_TCP, "abcdefgh", "abcdefg"),
        C("content:\"a\"; isdataat:!8;", K_TCP, "abcdefgh", "abcdefghi"),
        C("content:\"a\"; isdataat:7,relative;", K_TCP, "abcdefgh", "abcdefg"),
        C("content:\"c\"; isdataat:5,relative;", K_TCP, "abcdefgh", "abcdefg"),
        C("content:\"c\"; isdataat:!6,relative;", K_TCP, "abcdefgh", "abcdefghi"),
        C("content:\"a\"; isdataat:!1,relative;", K_TCP, "xxa", "xxab"),
    };

    run_cases(c, sizeof c / sizeof c[0]);
}

static void test_byte_keywords(void **state)
{
    static const struct kcase c[] = {
        /* byte_test (docs) */
        C("content:\"|00 01 00 02|\"; byte_test:2,=,0x01,0;", K_TCP, "\x00\x01\x00\x02", "\x00\x02\x00\x01\x00\x02"),
        C("content:\"|00 01 00 02|\"; byte_test:2,=,0x03,2,relative;", K_TCP, "\x00\x01\x00\x02xx\x00\x03",
          "\x00\x01\x00\x02xx\x00\x04"),
        C("content:\"|00 01 00 02|\"; byte_test:2,!=,0x06,0;", K_TCP, "\x00\x01\x00\x02", "\x00\x06\x00\x01\x00\x02"),
        C("content:\"|00 01 00 02|\"; byte_test:2,>,1000,1,relative;", K_TCP, "\x00\x01\x00\x02x\x04\x00",
          "\x00\x01\x00\x02x\x03\xe8"),
        C("content:\"|00 01 00 02|\"; byte_test:2,&,0x01,12,relative;", K_TCP,
          "\x00\x01\x00\x02" "012345678901\x00\x01", "\x00\x01\x00\x02" "012345678901\x00\x02"),
        C("content:\"foobar\"; byte_test:4,=,1337,1,relative,string,dec;", K_TCP, "foobar 1337", "foobar 1338"),
        C("content:\"x\"; byte_test:1,=,0x0f,0,relative,bitmask 0xf0;", K_TCP, "x\xf3", "x\x3f"),
        C("content:\"len=\"; byte_test:0,<,200,0,relative,string,dec;", K_TCP, "len=199", "len=200"),
        /* byte_jump (docs) */
        C("content:\"Alice\"; byte_jump:2,0; content:\"Bob\"; distance:0;", K_TCP, "\x00\x05" "AliceBob",
          "\x00\x08" "AliceBob"),
        C("byte_jump:2,0; byte_jump:2,0,relative; content:\"foobar\"; distance:0; within:6;", K_TCP,
          "\x00\x01x\x00\x02yyfoobar", "\x00\x01x\x00\x03yyfoobar"),
        C("byte_jump:0,0,from_end,post_offset -8; content:\"|6c 33 33 74|\"; distance:0; within:4;", K_TCP,
          "0123l33t4567", "01234l33t567"),
        C("content:\"A\"; byte_jump:1,0,relative,multiplier 2; content:\"B\"; within:1;", K_TCP,
          "A\x02xxxxB", "A\x02xxxxxB"),
        /* byte_extract (docs) */
        C("content:\"Alice\"; byte_extract:2,0,size; content:\"Bob\"; distance:size; within:3;", K_TCP,
          "\x00\x05" "AliceBob", "\x00\x06" "AliceBob"),
        C("flow:established,to_server; content:\"|00 FF|\"; byte_extract:1,0,len,relative; content:\"|5c 00|\"; "
          "distance:2; within:len;", K_TCP, "\x00\xff\x06xx\x5c\x00", "\x00\xff\x01xx\x5c\x00"),
        C("flow:established,to_server; content:\"|00 FF|\"; byte_extract:2,0,cmp_ver,relative; "
          "content:\"FooBar\"; distance:0; byte_test:2,=,cmp_ver,0;", K_TCP,
          "\x12\x34\x00\xff\x12\x34" "FooBar", "\x12\x35\x00\xff\x12\x34" "FooBar"),
        /* byte_math (docs) */
        C("byte_extract:1,0,extracted_val,relative; byte_math:bytes 1, offset 1, oper +, "
          "rvalue extracted_val, result var; byte_test:2,=,var,13;", K_UDP,
          "\x03\x04" "01234567890\x00\x07", "\x03\x04" "01234567890\x00\x08"),
        C("content:\"|00 04 93 F3|\"; content:\"|00 00 00 07|\"; distance:4; within:4; "
          "byte_math:bytes 4, offset 0, oper +, rvalue 248, result var, relative; byte_test:4,=,var,0,relative;",
          K_TCP, "\x00\x04\x93\xf3xxxx\x00\x00\x00\x07\x00\x00\x00\x02\x00\x00\x00\xfa",
          "\x00\x04\x93\xf3xxxx\x00\x00\x00\x07\x00\x00\x00\x02\x00\x00\x00\xfb"),
    };

    run_cases(c, sizeof c / sizeof c[0]);
}

static void test_pcre_buffers(void **state)
{
    static const struct kcase c[] = {
        C("pcre:\"/^\\/adm[i]n/U\";", K_URI, "/admin/x", "/x/admin"),
        C("pcre:\"/example\\.com$/W\";", K_HOST, "www.example.com", "www.example.com.au"),
        C("pcre:\"/^curl\\//V\";", K_UA, "curl/8.0", "xcurl/8.0"),
        C("pcre:\"/^POST$/M\";", K_METHOD, "POST", "POSTX"),
        C("content:\"USER\"; pcre:\"/^\\s+root\\b/R\";", K_TCP, "USER root", "USER rooter"),
        C("pcre:\"/a.c/B\";", K_TCP, "xabc", "xab"),
    };
    static const struct { char flag; enum rule_buffer buf; } map[] = {
        { 'U', RULE_BUF_HTTP_URI }, { 'I', RULE_BUF_HTTP_URI_RAW }, { 'P', RULE_BUF_HTTP_REQUEST_BODY },
        { 'Q', RULE_BUF_FILE_DATA }, { 'H', RULE_BUF_HTTP_HEADER }, { 'D', RULE_BUF_HTTP_HEADER_RAW },
        { 'M', RULE_BUF_HTTP_METHOD }, { 'C', RULE_BUF_HTTP_COOKIE }, { 'S', RULE_BUF_HTTP_STAT_CODE },
        { 'Y', RULE_BUF_HTTP_STAT_MSG }, { 'V', RULE_BUF_HTTP_USER_AGENT }, { 'W', RULE_BUF_HTTP_HOST },
        { 'Z', RULE_BUF_HTTP_HOST_RAW }, { 'B', RULE_BUF_PAYLOAD },
    };
    struct rule_parse_env env = { NULL, NULL, NULL };

    run_cases(c, sizeof c / sizeof c[0]);
    /* each buffer flag puts the pcre in the sticky buffer it names */
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        char text[128];
        struct rule_error err;
        struct rule *r;

        snprintf(text, sizeof text, "alert http any any -> any any (pcre:\"/a/%c\"; sid:1;)", map[i].flag);
        if (rule_parse(text, &env, &r, &err) < 0)
            fail_msg("%s: %s", text, err.msg);
        assert_int_equal(r->sm[0].buf, map[i].buf);
        rule_free(r);
    }
}

/* ------------------------------------------------------------------ transforms */

static void test_transforms(void **state)
{
    static const struct kcase c[] = {
        /* docs: dotprefix */
        C("dns.query; dotprefix; content:\".microsoft.com\";", K_DNS, "maps.microsoft.com.au",
          "windows.update.fakemicrosoft.com"),
        C("dns.query; dotprefix; content:\".microsoft.com\"; endswith;", K_DNS, "windows.update.microsoft.com",
          "windows.update.microsoft.com.au"),
        C("dns.query; dotprefix; content:\".co.uk\"; endswith;", K_DNS, "maps.google.co.uk", "maps.google.co.nl"),
        C("dns.query; dotprefix; content:\".google.com\"; endswith;", K_DNS, "google.com", "xgoogle.com"),
        C("http.uri; to_lowercase; content:\"/admin\";", K_URI, "/ADMIN", "/ADMIM"),
        C("http.method; to_uppercase; content:\"GET\";", K_METHOD, "get", "got"),
        C("http.user_agent; strip_whitespace; content:\"Mozilla/5.0(Windows\";", K_UA,
          "Mozilla/5.0 (Windows NT)", "Mozilla/5.0 Windows NT"),
        C("http.user_agent; compress_whitespace; content:\"embrace holistically\";", K_UA,
          "we embrace    holistically", "we embraceholistically"),
        C("http.uri; url_decode; content:\"/evil'sqli\";", K_URI, "/evil%27sqli", "/evil%28sqli"),
        C("http.uri; to_md5; content:\"|d1 54 6d 73 1a 9f 30 cc 80 12 7d 57 14 2a 48 2b|\";", K_URI,
          "/index.html", "/index.htm"),
        C("http.uri; to_sha1; content:\"|14fe4559026d4c5b5eb530ee70300c52d99e70d7|\";", K_URI,
          "/index.html", "/Index.html"),
        C("http.uri; to_sha256; content:\"|213456c5dc963e03ec1f27600c46c954c70224985fa62603db2fb2ab1ca06d35|\";",
          K_URI, "/index.html", "/index.html?"),
        C("http.user_agent; header_lowercase; content:\"x-foo: Bar\";", K_UA, "X-Foo: Bar", "X-Foo: bar"),
        C("http.user_agent; strip_pseudo_headers; content:\"a: b\"; startswith;", K_UA,
          ":method: GET\r\na: b", ":method: GET a: b"),
        /* docs: pcrexform, first capture */
        C("http.uri; pcrexform:\"[a-zA-Z]+\\s+(.*)\\s+HTTP\"; content:\"/z4d4kWk.jpg\"; startswith;", K_URI,
          "GET /z4d4kWk.jpg HTTP/1.1", "/x/z4d4kWk.jpg"),
        /* docs: xor, after pcrexform */
        C("http.uri; content:\"/get?data=\"; startswith; http.uri; pcrexform:\"/get\\?data=(.*)\"; "
          "xor:\"0d0ac8ff\"; content:\"password=\";", K_URI,
          "/get?data=\x7d\x6b\xbb\x8c\x7a\x65\xba\x9b\x30\x62\xbd\x91\x79\x6f\xba\xcd",
          "/get?data=\x7d\x6b\xbb\x8c\x7a\x65\xba\x9b\x31\x62\xbd\x91\x79\x6f\xba\xcd"),
        /* a transform after contents starts a new view of the buffer (ET's habit) */
        C("dns.query; content:\"rs-\"; startswith; dotprefix; content:\".rustdesk.com\"; endswith;", K_DNS,
          "rs-ny.rustdesk.com", "xrs-ny.rustdesk.com"),
    };

    run_cases(c, sizeof c / sizeof c[0]);
}

static void test_base64(void **state)
{
    static const struct kcase c[] = {
        /* docs: base64_decode / base64_data */
        C("content:\"somestring\"; base64_decode:bytes 8, offset 1, relative; base64_data; content:\"test\";",
          K_TCP, "somestring dGVzdDEyMzQ=", "somestring dGVzdTEyMzQ="),
        C("content:\"Authorization: Basic \"; base64_decode:relative; base64_data; content:\"admin:\"; startswith;",
          K_TCP, "Authorization: Basic YWRtaW46c2VjcmV0", "Authorization: Basic cm9vdDpzZWNyZXQ="),
    };

    run_cases(c, sizeof c / sizeof c[0]);
}

/* ------------------------------------------------------------------ header keywords */

/* An IPv4 header for p (p->l3) with the given id, flags/offset, tos and
 * options (ihl words). */
static void ip4(struct packet *p, uint8_t *h, uint16_t id, uint16_t ff, uint8_t tos, const uint8_t *opt, int optlen)
{
    memset(h, 0, 60);
    h[0] = (uint8_t)(0x40 | (5 + optlen / 4));
    h[1] = tos;
    h[4] = (uint8_t)(id >> 8);
    h[5] = (uint8_t)id;
    h[6] = (uint8_t)(ff >> 8);
    h[7] = (uint8_t)ff;
    if (optlen)
        memcpy(h + 20, opt, (size_t)optlen);
    p->l3 = h;
    p->l3_len = (uint32_t)(20 + optlen);
    p->tos = tos;
}

static size_t hdr_run(const char *opts, struct packet *p)
{
    char text[256];
    const char *v[2] = { text, NULL };
    struct detect_engine *e;
    struct detect_thread *t;

    snprintf(text, sizeof text, "alert ip any any -> any any (%s sid:1;)", opts);
    e = ruletest_engine(v);
    t = detect_thread_new(e);
    nalerts = 0;
    detect_packet(e, t, NULL, p, NULL, on_alert, NULL);
    detect_thread_free(t);
    detect_engine_free(e);
    return nalerts;
}

static void test_header_keywords(void **state)
{
    static const uint8_t lsrr[4] = { 131, 3, 4, 0 }, rr[4] = { 7, 3, 4, 0 };
    uint8_t h[60], icmp[8] = { 8, 0, 0, 0, 0x12, 0x34, 0x00, 0x07 };
    struct packet p;

    ruletest_packet(&p, 6, (const uint8_t *)"x", 1);
    ip4(&p, h, 31337, 0x4000, 0x10, NULL, 0);
    assert_int_equal(hdr_run("id:31337;", &p), 1);
    assert_int_equal(hdr_run("id:31338;", &p), 0);
    assert_int_equal(hdr_run("fragbits:D;", &p), 1);
    assert_int_equal(hdr_run("fragbits:M;", &p), 0);
    assert_int_equal(hdr_run("fragbits:!M;", &p), 1);
    assert_int_equal(hdr_run("fragoffset:0;", &p), 1);
    assert_int_equal(hdr_run("fragoffset:>0;", &p), 0);
    assert_int_equal(hdr_run("tos:0x10;", &p), 1);
    assert_int_equal(hdr_run("tos:!0x10;", &p), 0);
    assert_int_equal(hdr_run("ipopts:lsrr;", &p), 0);
    ip4(&p, h, 1, 0x2000 | 185, 0, lsrr, 4);
    assert_int_equal(hdr_run("ipopts:lsrr;", &p), 1);
    assert_int_equal(hdr_run("ipopts:any;", &p), 1);
    assert_int_equal(hdr_run("ipopts:rr;", &p), 0);
    ip4(&p, h, 1, 0x2000 | 185, 0, rr, 4);
    assert_int_equal(hdr_run("ipopts:rr;", &p), 1);
    assert_int_equal(hdr_run("fragbits:M;", &p), 1);
    assert_int_equal(hdr_run("fragoffset:185;", &p), 1);
    assert_int_equal(hdr_run("fragoffset:<185;", &p), 0);
    p.tcp_seq = 0;
    p.tcp_ack = 0;
    p.tcp_win = 55808;
    assert_int_equal(hdr_run("seq:0;", &p), 1);
    assert_int_equal(hdr_run("ack:0;", &p), 1);
    assert_int_equal(hdr_run("window:55808;", &p), 1);
    assert_int_equal(hdr_run("window:!55808;", &p), 0);
    p.tcp_seq = 1;
    assert_int_equal(hdr_run("seq:0;", &p), 0);
    assert_int_equal(hdr_run("ip_proto:6;", &p), 1);
    assert_int_equal(hdr_run("ip_proto:!tcp;", &p), 0);
    /* ICMP echo: icmp_id / icmp_seq; a TCP packet has none */
    assert_int_equal(hdr_run("icmp_id:4660;", &p), 0);
    ruletest_packet(&p, 1, NULL, 0);
    p.icmp_type = 8;
    p.l4 = icmp;
    p.l4_len = sizeof icmp;
    assert_int_equal(hdr_run("icmp_id:4660;", &p), 1);
    assert_int_equal(hdr_run("icmp_id:4661;", &p), 0);
    assert_int_equal(hdr_run("icmp_seq:7;", &p), 1);
    assert_int_equal(hdr_run("icmp_seq:8;", &p), 0);
    p.icmp_type = 3;                        /* unreachable: no identifier */
    assert_int_equal(hdr_run("icmp_seq:7;", &p), 0);
}

/* icmpv6.mtu: Packet Too Big's MTU field, a Router Advertisement's MTU
 * option after other options; nothing from other types, an option cut by
 * the capture, or ICMPv4. */
static void test_icmpv6_mtu(void **state)
{
    uint8_t ptb[8] = { 2, 0, 0, 0, 0, 0, 0x04, 0xd8 };    /* MTU 1240 */
    uint8_t ra[16 + 8 + 8] = { 134 };
    struct packet p;

    (void)state;
    ruletest_packet(&p, 58, NULL, 0);
    p.ip_version = 6;
    p.icmp_type = 2;
    p.l4 = ptb;
    p.l4_len = sizeof ptb;
    assert_int_equal(hdr_run("icmpv6.mtu:<1280;", &p), 1);
    assert_int_equal(hdr_run("icmpv6.mtu:1240;", &p), 1);
    assert_int_equal(hdr_run("icmpv6.mtu:>=1280;", &p), 0);
    p.l4_len = 7;
    assert_int_equal(hdr_run("icmpv6.mtu:<1280;", &p), 0);
    ra[16] = 1;                             /* source link-layer address, 8 bytes */
    ra[17] = 1;
    ra[24] = 5;                             /* MTU 1500 */
    ra[25] = 1;
    ra[30] = 0x05;
    ra[31] = 0xdc;
    p.icmp_type = 134;
    p.l4 = ra;
    p.l4_len = sizeof ra;
    assert_int_equal(hdr_run("icmpv6.mtu:1500;", &p), 1);
    p.l4_len = sizeof ra - 1;
    assert_int_equal(hdr_run("icmpv6.mtu:1500;", &p), 0);
    p.icmp_type = 128;                      /* echo request: no MTU */
    p.l4 = ptb;
    p.l4_len = sizeof ptb;
    assert_int_equal(hdr_run("icmpv6.mtu:<1280;", &p), 0);
    ruletest_packet(&p, 1, NULL, 0);        /* ICMPv4 type 2 is not Packet Too Big */
    p.icmp_type = 2;
    p.l4 = ptb;
    p.l4_len = sizeof ptb;
    assert_int_equal(hdr_run("icmpv6.mtu:<1280;", &p), 0);
}

/* ------------------------------------------------------------------ state */

/* A TCP flow's packets, one engine and thread, alerts per packet. */
struct seq {
    struct detect_engine *e;
    struct detect_thread *t;
    struct threshold_ctx *th;
    struct flow f;
    struct packet p;
};

static void seq_open(struct seq *s, const char *const *rules)
{
    s->e = ruletest_engine(rules);
    s->t = detect_thread_new(s->e);
    s->th = threshold_new(0);
    assert_non_null(s->t);
    assert_non_null(s->th);
    ruletest_packet(&s->p, 6, NULL, 0);
    ruletest_flow(&s->f, &s->p, NULL);
}

/* Alerts of one packet of the flow with payload pl (from src when given). */
static size_t seq_pkt(struct seq *s, const char *pl, const char *src, uint64_t ts_sec)
{
    ruletest_packet(&s->p, 6, (const uint8_t *)pl, (uint32_t)strlen(pl));
    if (src)
        lw_addr_parse(src, &s->p.src);
    s->p.ts = ts_sec * 1000000u;
    s->p.flow = &s->f;
    s->f.pkts[0]++;
    nalerts = 0;
    last_sid = 0;
    detect_packet(s->e, s->t, s->th, &s->p, &s->f, on_alert, NULL);
    return nalerts;
}

static void seq_close(struct seq *s)
{
    detect_flow_free(&s->f);
    detect_thread_free(s->t);
    threshold_free(s->th);
    detect_engine_free(s->e);
}

static void test_flowbits(void **state)
{
    /* docs: the userlogin example */
    const char *rules[] = {
        "alert tcp any any -> any any (msg:\"User login\"; content:\"login\"; flowbits:set,userlogin; "
        "flowbits:noalert; sid:1;)",
        "alert tcp any any -> any any (msg:\"Retrieving e-mail\"; content:\"retrieve\"; "
        "flowbits:isset,userlogin; sid:2;)",
        "alert tcp any any -> any any (content:\"logout\"; flowbits:unset,userlogin; noalert; sid:3;)",
        "alert tcp any any -> any any (content:\"anon\"; flowbits:isnotset,userlogin; sid:4;)",
        "alert tcp any any -> any any (content:\"flip\"; flowbits:toggle,b; noalert; sid:5;)",
        "alert tcp any any -> any any (content:\"either\"; flowbits:isset,userlogin|b; sid:6;)",
        "alert tcp any any -> any any (content:\"both\"; flowbits:isset,userlogin&b; sid:7;)",
        NULL
    };
    struct seq s;

    seq_open(&s, rules);
    assert_int_equal(seq_pkt(&s, "retrieve", NULL, 1), 0);    /* near miss: not logged in */
    assert_int_equal(seq_pkt(&s, "anon", NULL, 1), 1);
    assert_int_equal(seq_pkt(&s, "either", NULL, 1), 0);
    assert_int_equal(seq_pkt(&s, "login", NULL, 1), 0);       /* noalert */
    assert_int_equal(seq_pkt(&s, "retrieve", NULL, 1), 1);
    assert_int_equal(last_sid, 2);
    assert_int_equal(seq_pkt(&s, "anon", NULL, 1), 0);
    assert_int_equal(seq_pkt(&s, "either", NULL, 1), 1);
    assert_int_equal(seq_pkt(&s, "both", NULL, 1), 0);
    assert_int_equal(seq_pkt(&s, "flip", NULL, 1), 0);
    assert_int_equal(seq_pkt(&s, "both", NULL, 1), 1);
    assert_int_equal(seq_pkt(&s, "flip", NULL, 1), 0);
    assert_int_equal(seq_pkt(&s, "both", NULL, 1), 0);
    assert_int_equal(seq_pkt(&s, "logout", NULL, 1), 0);
    assert_int_equal(seq_pkt(&s, "retrieve", NULL, 1), 0);
    seq_close(&s);
}

/* Setters run before checkers (Suricata's order), whatever their sids or
 * priorities: one packet both sets and is checked. */
static void test_flowbits_order(void **state)
{
    const char *rules[] = {
        "alert tcp any any -> any any (content:\"x\"; flowbits:isset,a; priority:1; sid:1;)",
        "alert tcp any any -> any any (content:\"x\"; flowbits:set,a; noalert; priority:3; sid:2;)",
        NULL
    };
    struct seq s;

    seq_open(&s, rules);
    assert_int_equal(seq_pkt(&s, "x", NULL, 1), 1);
    seq_close(&s);
}

static void test_flowint(void **state)
{
    /* docs: counting usernames */
    const char *rules[] = {
        "alert tcp any any -> any any (msg:\"Counting Usernames\"; content:\"jonkman\"; "
        "flowint:usernamecount,+,1; noalert; sid:1;)",
        "alert tcp any any -> any any (msg:\"More than two Usernames!\"; content:\"jonkman\"; "
        "flowint:usernamecount,+,1; flowint:usernamecount,>,2; sid:2;)",
        "alert tcp any any -> any any (content:\"reset\"; flowint:usernamecount,=,0; noalert; sid:3;)",
        "alert tcp any any -> any any (content:\"q\"; flowint:other,notset; sid:4;)",
        NULL
    };
    struct seq s;

    seq_open(&s, rules);
    assert_int_equal(seq_pkt(&s, "q", NULL, 1), 1);
    assert_int_equal(seq_pkt(&s, "jonkman", NULL, 1), 0);     /* 2 */
    assert_int_equal(seq_pkt(&s, "jonkman", NULL, 1), 1);     /* 4 > 2 */
    assert_int_equal(seq_pkt(&s, "reset", NULL, 1), 0);
    assert_int_equal(seq_pkt(&s, "jonkman", NULL, 1), 0);     /* 2 again */
    seq_close(&s);
}

static void test_xbits(void **state)
{
    const char *rules[] = {
        "alert tcp any any -> any any (content:\"scan\"; xbits:set,scanner,track ip_src,expire 60; noalert; sid:1;)",
        "alert tcp any any -> any any (content:\"hit\"; xbits:isset,scanner,track ip_src; sid:2;)",
        "alert tcp any any -> any any (content:\"pair\"; xbits:isset,scanner,track ip_pair; sid:3;)",
        NULL
    };
    struct seq s;

    seq_open(&s, rules);
    assert_int_equal(seq_pkt(&s, "hit", "10.0.0.9", 100), 0);
    assert_int_equal(seq_pkt(&s, "scan", "10.0.0.9", 100), 0);
    detect_flow_free(&s.f);                                  /* another flow of the same host */
    assert_int_equal(seq_pkt(&s, "hit", "10.0.0.9", 120), 1);
    assert_int_equal(seq_pkt(&s, "hit", "10.0.0.8", 120), 0); /* near miss: another host */
    assert_int_equal(seq_pkt(&s, "pair", "10.0.0.9", 120), 0);
    assert_int_equal(seq_pkt(&s, "hit", "10.0.0.9", 161), 0); /* expired */
    seq_close(&s);
}

static void test_noalert_bypass(void **state)
{
    const char *rules[] = {
        "alert tcp any any -> any any (content:\"quiet\"; noalert; sid:1;)",
        "alert tcp any any -> any any (content:\"big\"; bypass; sid:2;)",
        "alert tcp any any -> any any (content:\"after\"; sid:3;)",
        NULL
    };
    struct seq s;

    seq_open(&s, rules);
    assert_int_equal(seq_pkt(&s, "quiet", NULL, 1), 0);
    assert_int_equal(seq_pkt(&s, "after", NULL, 1), 1);
    assert_int_equal(seq_pkt(&s, "big", NULL, 1), 1);
    assert_int_equal(seq_pkt(&s, "after", NULL, 1), 0);      /* the flow is bypassed */
    seq_close(&s);
}

static void test_stream_size(void **state)
{
    const char *rules[] = {
        "alert tcp any any -> any any (stream_size:client,=,1; sid:1;)",
        "alert tcp any any -> any any (stream_size:server,>,1; sid:2;)",
        "alert tcp any any -> any any (stream_size:either,=,1; stream_size:both,<,2; sid:3;)",
        NULL
    };
    struct seq s;

    seq_open(&s, rules);
    s.f.tcp_flags_ts = TH_SYN;               /* a handshake, no data yet: sizes 1 and 1 */
    s.f.tcp_flags_tc = TH_SYN | TH_ACK;
    assert_int_equal(seq_pkt(&s, "", NULL, 1), 2);
    s.f.tcp_flags_tc = 0;                    /* near miss: the server's SYN was not seen */
    assert_int_equal(seq_pkt(&s, "", NULL, 1), 2);
    s.f.tcp_flags_ts = 0;
    assert_int_equal(seq_pkt(&s, "", NULL, 1), 0);
    seq_close(&s);
}

/* ------------------------------------------------------------------ accepted keywords */

/* The event text so far, NUL-terminated. */
static const char *jbuf_text(struct jbuf *j)
{
    static char out[4096];

    assert_true(jbuf_ok(j));
    snprintf(out, sizeof out, "%.*s", (int)j->len, j->buf);
    return out;
}

static void test_requires_prefilter_target(void **state)
{
    struct rule_parse_env env = { NULL, NULL, NULL };
    struct rule_error err;
    struct rule *r;
    struct packet p;
    struct jbuf j;

    assert_int_equal(rule_parse("alert tcp any any -> any any (requires:version >= 7.0; sid:1;)", &env, &r, &err), 0);
    rule_free(r);
    assert_int_equal(rule_parse("alert tcp any any -> any any (requires:version >= 8.0; sid:1;)", &env, &r, &err), -1);
    assert_int_equal(err.skipped, 1);
    assert_int_equal(rule_parse("alert tcp any any -> any any (requires:feature lua; sid:1;)", &env, &r, &err), -1);
    assert_int_equal(err.skipped, 1);
    assert_int_equal(rule_parse("alert tcp any any -> any any (requires:feature geoip, version >= 7.0 < 8; sid:1;)",
                                &env, &r, &err), 0);
    rule_free(r);
    assert_int_equal(rule_parse("alert tcp any any -> any any (requires:os linux; sid:1;)", &env, &r, &err), -1);
    assert_int_equal(err.skipped, 0);
    assert_int_equal(rule_parse("alert tcp any any -> any any (content:\"x\"; prefilter; sid:1;)", &env, &r, &err), 0);
    rule_free(r);

    /* target: alert.source and alert.target */
    assert_int_equal(rule_parse("alert tcp any any -> any any (target:dest_ip; sid:1;)", &env, &r, &err), 0);
    ruletest_packet(&p, 6, NULL, 0);
    jbuf_init(&j);
    eve_alert_event(&j, &(struct eve_ctx){ .sensor_id = "s" }, r, &p, NULL, NULL);
    assert_non_null(strstr(jbuf_text(&j), "\"source\":{\"ip\":\"10.0.0.1\",\"port\":40000}"));
    assert_non_null(strstr(jbuf_text(&j), "\"target\":{\"ip\":\"192.0.2.1\",\"port\":80}"));
    jbuf_free(&j);
    rule_free(r);
    assert_int_equal(rule_parse("alert tcp any any -> any any (target:src_ip; sid:1;)", &env, &r, &err), 0);
    jbuf_init(&j);
    eve_alert_event(&j, &(struct eve_ctx){ .sensor_id = "s" }, r, &p, NULL, NULL);
    assert_non_null(strstr(jbuf_text(&j), "\"target\":{\"ip\":\"10.0.0.1\",\"port\":40000}"));
    jbuf_free(&j);
    rule_free(r);
    assert_int_equal(rule_parse("alert tcp any any -> any any (sid:1;)", &env, &r, &err), 0);
    jbuf_init(&j);
    eve_alert_event(&j, &(struct eve_ctx){ .sensor_id = "s" }, r, &p, NULL, NULL);
    assert_null(strstr(jbuf_text(&j), "\"target\""));       /* near miss: no target keyword */
    jbuf_free(&j);
    rule_free(r);
}

/* tag (docs.suricata.io "Tag": tag:session; tag:host; tag:host,100,packets,src;
 * tag:host,3600,seconds,dst;): each form parses to its scope, count, metric
 * and direction (256 packets, the destination, by default); a direction on
 * a session tag, an unknown metric and a missing count are refused (near
 * misses); the rule alerts as it would without the tag. */
static void test_tag(void **state)
{
    static const struct { const char *opt; uint8_t scope, metric, src; uint32_t count; } ok[] = {
        { "tag:session;", RULE_TAG_SESSION, RULE_TAG_PACKETS, 0, 256 },
        { "tag:host;", RULE_TAG_HOST, RULE_TAG_PACKETS, 0, 256 },
        { "tag:host,100,packets,src;", RULE_TAG_HOST, RULE_TAG_PACKETS, 1, 100 },
        { "tag:host,3600,seconds,dst;", RULE_TAG_HOST, RULE_TAG_SECONDS, 0, 3600 },
        { "tag: session, 20, packets;", RULE_TAG_SESSION, RULE_TAG_PACKETS, 0, 20 },
        { "tag:session,1000,bytes;", RULE_TAG_SESSION, RULE_TAG_BYTES, 0, 1000 },
    };
    static const char *const bad[] = {
        "tag:session,100,packets,src;", "tag:host,100,frames;", "tag:host,100;", "tag:flow;",
        "tag:host,0,packets;", "tag:host,100,packets,both;",
    };
    static const struct kcase c[] = {
        C("content:\"evil\"; tag:session;", K_TCP, "an evil payload", "a good payload"),
        C("content:\"evil\"; tag:host,100,packets,src;", K_TCP, "evil", "good"),
    };
    struct rule_parse_env env = { NULL, NULL, NULL };
    struct rule_error err;
    struct rule *r;
    char text[256];

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(text, sizeof text, "alert tcp any any -> any any (%s sid:1;)", ok[i].opt);
        if (rule_parse(text, &env, &r, &err) < 0)
            fail_msg("%s: %s", text, err.msg);
        assert_int_equal(r->ntags, 1);
        assert_int_equal(r->tags[0].scope, ok[i].scope);
        assert_int_equal(r->tags[0].metric, ok[i].metric);
        assert_int_equal(r->tags[0].host_src, ok[i].src);
        assert_int_equal(r->tags[0].count, ok[i].count);
        rule_free(r);
    }
    assert_int_equal(rule_parse("alert dns any any -> any any (dns.query; content:\"mail\"; "
                                "tag:host,100,packets,src; tag:session; sid:1;)", &env, &r, &err), 0);
    assert_int_equal(r->ntags, 2);
    rule_free(r);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "alert tcp any any -> any any (%s sid:1;)", bad[i]);
        if (rule_parse(text, &env, &r, &err) == 0)
            fail_msg("parsed: %s", text);
        assert_non_null(strstr(err.msg, "bad tag"));
    }
    run_cases(c, sizeof c / sizeof c[0]);
}

/* outputs.xff: the entry an X-Forwarded-For value gives, and what the alert
 * does with it (alert.xff, or the client's address overwritten). */
static void test_alert_xff(void **state)
{
    struct rule_parse_env env = { NULL, NULL, NULL };
    struct rule_error err;
    struct lw_addr a, want;
    struct rule *r;
    struct packet p;
    struct jbuf j;
    static const struct { const char *v; int last; const char *want; } cases[] = {
        { "10.2.2.2, 10.3.3.3", 0, "10.2.2.2" },
        { "10.2.2.2, 10.3.3.3", 1, "10.3.3.3" },
        { " , 198.51.100.4:8080 ,", 0, "198.51.100.4" },
        { " , 198.51.100.4:8080 ,", 1, "198.51.100.4" },
        { "[2001:db8::1]:443", 0, "2001:db8::1" },
        { "2001:db8::2,\t[2001:db8::3]", 1, "2001:db8::3" },
        { "unknown, 10.0.0.9", 1, "10.0.0.9" },
        /* near misses: the chosen entry is no address, or there is none */
        { "unknown, 10.0.0.9", 0, NULL },
        { "10.0.0.9, 300.1.1.1", 1, NULL },
        { "", 0, NULL },
        { " , ", 1, NULL },
        { "[2001:db8::1", 0, NULL },
        { "[2001:db8::1]x", 0, NULL },
        { "1.2.3.4:80:90", 0, NULL },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = lw_xff_pick(cases[i].v, strlen(cases[i].v), cases[i].last, &a);

        if (!cases[i].want) {
            assert_int_equal(rc, -1);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(lw_addr_parse(cases[i].want, &want), 0);
        assert_true(lw_addr_eq(&a, &want));
    }

    assert_int_equal(rule_parse("alert tcp any any -> any any (sid:1;)", &env, &r, &err), 0);
    ruletest_packet(&p, 6, NULL, 0);           /* 10.0.0.1:40000 -> 192.0.2.1:80, to the server */
    assert_int_equal(lw_addr_parse("203.0.113.7", &a), 0);
    jbuf_init(&j);
    eve_alert_event(&j, &(struct eve_ctx){ .sensor_id = "s", .xff_mode = EVE_XFF_EXTRA, .xff = &a }, r, &p,
                    NULL, NULL);
    assert_non_null(strstr(jbuf_text(&j), "\"xff\":\"203.0.113.7\""));
    assert_non_null(strstr(jbuf_text(&j), "\"src_ip\":\"10.0.0.1\""));
    jbuf_reset(&j);
    eve_alert_event(&j, &(struct eve_ctx){ .sensor_id = "s", .xff_mode = EVE_XFF_OVERWRITE, .xff = &a }, r, &p,
                    NULL, NULL);
    assert_non_null(strstr(jbuf_text(&j), "\"src_ip\":\"203.0.113.7\""));
    assert_non_null(strstr(jbuf_text(&j), "\"dest_ip\":\"192.0.2.1\""));
    assert_null(strstr(jbuf_text(&j), "\"xff\""));
    p.dir = 1;                                 /* a response-side alert: the client is the destination */
    jbuf_reset(&j);
    eve_alert_event(&j, &(struct eve_ctx){ .sensor_id = "s", .xff_mode = EVE_XFF_OVERWRITE, .xff = &a }, r, &p,
                    NULL, NULL);
    assert_non_null(strstr(jbuf_text(&j), "\"src_ip\":\"10.0.0.1\""));
    assert_non_null(strstr(jbuf_text(&j), "\"dest_ip\":\"203.0.113.7\""));
    jbuf_reset(&j);                            /* near miss: no address from the header */
    eve_alert_event(&j, &(struct eve_ctx){ .sensor_id = "s", .xff_mode = EVE_XFF_OVERWRITE }, r, &p, NULL, NULL);
    assert_non_null(strstr(jbuf_text(&j), "\"dest_ip\":\"192.0.2.1\""));
    assert_null(strstr(jbuf_text(&j), "203.0.113.7"));
    jbuf_free(&j);
    rule_free(r);
}

static void test_pii(void **state)
{
    /* Identity numbers born before 1970 (the test packets' day is 1970-01-01:
     * later birth dates are implausible), a UnionPay card. */
    static const struct kcase c[] = {
        C("pii:cn-id;", K_TCP, "id=11010519491231002X&x=1", "id=11010519491231002Y&x=1"),
        C("pii:cn-id, count >= 2;", K_TCP, "11010519491231002X,310115196001010017",
          "11010519491231002X,310115196001010018"),
        C("pii:cn-id|bank-card, count = 2;", K_TCP, "11010519491231002X 6222021234567894",
          "11010519491231002X 6222021234567895"),
        C("pii:bank-card, count < 1;", K_TCP, "card 6222021234567895", "card 6222021234567894"),
        C("pii:cn-mobile;", K_TCP, "tel:+86 138 0013 8000;", "tel:1380013800012;"),
        C("pii:email;", K_TCP, "to: a.b@example.com\r\n", "icon@2x.png"),
        C("pii:passport-cn;", K_TCP, "no=E12345678&", "no=E123456789&"),
        /* in a sticky buffer, URL-encoded, after a content */
        C("http.uri; content:\"/q\"; pii:cn-id;", K_URI, "/q?id=110105%31%39491231002X", "/q?id=110105%31%39491231002"),
        /* digits inside a longer run never count */
        C("pii:cn-id;", K_TCP, "x 11010519491231002X x", "9911010519491231002X"),
    };
    struct rule_parse_env env = { NULL, NULL, NULL };
    struct rule_error err;
    struct rule *r;
    struct packet p;
    struct jbuf j;
    struct pii_counts pc = { { 12, 0, 0, 0, 0 } };

    run_cases(c, sizeof c / sizeof c[0]);
    assert_int_equal(rule_parse("alert tcp any any -> any any (pii:cn-id, count >= 10; sid:1;)", &env, &r, &err), 0);
    assert_int_equal(r->pii_types, PII_T_CN_ID);
    rule_free(r);
    assert_int_equal(rule_parse("alert tcp any any -> any any (pii:name; sid:1;)", &env, &r, &err), -1);
    assert_non_null(strstr(err.msg, "bad pii"));
    assert_int_equal(rule_parse("alert tcp any any -> any any (pii:cn-id|cn-id; sid:1;)", &env, &r, &err), -1);

    /* The alert: counts of the rule's types, and no payload unless asked. */
    assert_int_equal(rule_parse("alert tcp any any -> any any (pii:cn-id|email; sid:1;)", &env, &r, &err), 0);
    ruletest_packet(&p, 6, (const uint8_t *)"11010519491231002X", 18);
    jbuf_init(&j);
    eve_alert_event(&j, &(struct eve_ctx){ .sensor_id = "s", .pii = &pc }, r, &p, NULL, NULL);
    assert_non_null(strstr(jbuf_text(&j), "\"pii\":{\"cn-id\":12,\"email\":0}"));
    assert_null(strstr(jbuf_text(&j), "payload_printable"));
    assert_null(strstr(jbuf_text(&j), "11010519491231002X"));
    jbuf_free(&j);
    rule_free(r);
    assert_int_equal(rule_parse("alert tcp any any -> any any (pii:cn-id; metadata:pii_payload printable; sid:1;)",
                                &env, &r, &err), 0);
    jbuf_init(&j);
    eve_alert_event(&j, &(struct eve_ctx){ .sensor_id = "s", .pii = &pc }, r, &p, NULL, NULL);
    assert_non_null(strstr(jbuf_text(&j), "\"payload_printable\":\"11010519491231002X\""));
    jbuf_free(&j);
    rule_free(r);
    /* near miss: a rule without pii keeps its payload and has no pii object */
    assert_int_equal(rule_parse("alert tcp any any -> any any (content:\"1101\"; sid:1;)", &env, &r, &err), 0);
    jbuf_init(&j);
    eve_alert_event(&j, &(struct eve_ctx){ .sensor_id = "s" }, r, &p, NULL, NULL);
    assert_non_null(strstr(jbuf_text(&j), "payload_printable"));
    assert_null(strstr(jbuf_text(&j), "\"pii\""));
    jbuf_free(&j);
    rule_free(r);
}

static void test_events(void **state)
{
    struct rule_parse_env env = { NULL, NULL, NULL };
    struct rule_error err;
    struct rule *r;

    assert_int_equal(rule_parse("alert tcp any any -> any any (stream-event:reassembly_overlap_different_data; sid:1;)",
                                &env, &r, &err), 0);
    rule_free(r);
    assert_int_equal(rule_parse("alert tcp any any -> any any (stream-event:no_such_event; sid:1;)", &env, &r, &err), -1);
    /* a refusal reason and an anomaly alike, on any protocol */
    assert_int_equal(rule_parse("alert ip any any -> any any (decode-event:ipv4.bad_option; sid:1;)", &env, &r, &err), 0);
    assert_int_equal(r->events[0].kind, RULE_EV_DECODE);
    assert_int_equal(r->events[0].id, DE_IPV4_BAD_OPT);
    assert_int_equal(r->events[0].ipver, 0);
    rule_free(r);
    assert_int_equal(rule_parse("alert ip any any -> any any (decode-event:ipv6.exthdr_useless_fh; sid:1;)",
                                &env, &r, &err), 0);
    assert_int_equal(r->events[0].id, DE_IPV6_USELESS_FH);
    rule_free(r);
    /* Suricata's name for one of ours, with the IP version it says */
    assert_int_equal(rule_parse("alert pkthdr any any -> any any (decode-event:ipv6.frag_overlap; sid:1;)",
                                &env, &r, &err), 0);
    assert_int_equal(r->events[0].id, DE_FRAG_OVERLAP);
    assert_int_equal(r->events[0].ipver, 6);
    rule_free(r);
    assert_int_equal(rule_parse("alert pkthdr any any -> any any (decode-event:ipv6.no_such; sid:1;)", &env, &r, &err),
                     -1);
    assert_string_equal(err.agg, "unknown decode-event");
    assert_int_equal(rule_parse("alert http any any -> any any (app-layer-event:http.invalid_header; sid:1;)",
                                &env, &r, &err), 0);
    rule_free(r);
    assert_int_equal(rule_parse("alert http any any -> any any (app-layer-event:nosuch.x; sid:1;)", &env, &r, &err), -1);
}

/* Every sticky buffer and legacy modifier of the buffer table parses. */
static void test_buffer_table(void **state)
{
    struct rule_parse_env env = { NULL, NULL, NULL };

    for (unsigned b = 1; b < RULE_BUF_COUNT; b++) {
        const struct rule_buffer_info *bi = rule_buffer_info(b);
        const char *proto = bi->proto == NULL || strcmp(bi->proto, "file") == 0 ? "http" : bi->proto;
        const char *names[3] = { bi->name, bi->alias, NULL };
        char text[256];
        struct rule_error err;
        struct rule *r;

        if (b == RULE_BUF_BASE64 || (bi->flags & RULE_BUFF_KEYWORD))
            continue;                   /* no sticky keyword: its own keyword reads it */
        for (int k = 0; k < 2 && names[k]; k++) {
            snprintf(text, sizeof text, "alert %s any any -> any any (%s; content:\"x\"; sid:1;)", proto, names[k]);
            if (rule_parse(text, &env, &r, &err) < 0)
                fail_msg("%s: %s", text, err.msg);
            assert_int_equal(r->sm[0].buf, b);
            assert_true(r->buffers & RULE_BUF_BIT(b));
            rule_free(r);
        }
        if (bi->legacy) {
            snprintf(text, sizeof text, "alert %s any any -> any any (content:\"x\"; %s; sid:1;)", proto, bi->legacy);
            if (rule_parse(text, &env, &r, &err) < 0)
                fail_msg("%s: %s", text, err.msg);
            assert_int_equal(r->sm[0].buf, b);
            rule_free(r);
        }
    }
}

static void test_tls_values(void **state)
{
    const char *rules[] = {
        "alert tls any any -> any any (tls.version:1.2; sid:1;)",
        "alert tls any any -> any any (tls_cert_notafter:>2030-01-01; sid:2;)",
        "alert tls any any -> any any (tls_cert_expired; sid:3;)",
        "alert tls any any -> any any (tls_cert_valid; sid:4;)",
        "alert tls any any -> any any (tls.subject:\"CN=example\"; sid:5;)",
        NULL
    };
    struct detect_engine *e = ruletest_engine(rules);
    struct detect_thread *t = detect_thread_new(e);
    struct dpi_result *r = ruletest_dpi("TLS", "tls");
    struct packet p;
    struct flow f;

    r->tls = (struct dpi_tls *)(r + 1);
    r->tls->version_num = 0x0303;
    r->tls->notbefore = 1600000000;                 /* 2020-09 */
    r->tls->notafter = 1900000000;                  /* 2030-03 */
    strcpy(r->tls->subject, "CN=example.org");
    ruletest_packet(&p, 6, (const uint8_t *)"x", 1);       /* 2023-11 */
    ruletest_flow(&f, &p, r);
    f.pkts[0] = 1;
    nalerts = 0;
    detect_packet(e, t, NULL, &p, &f, on_alert, NULL);
    assert_int_equal(nalerts, 4);                   /* all but expired */
    detect_flow_free(&f);
    r->tls->version_num = 0x0304;                   /* near misses */
    r->tls->notafter = 1690000000;                  /* 2023-07: expired, not after 2030 */
    strcpy(r->tls->subject, "CN=other");
    ruletest_flow(&f, &p, r);
    f.pkts[0] = 1;
    nalerts = 0;
    detect_packet(e, t, NULL, &p, &f, on_alert, NULL);
    assert_int_equal(nalerts, 1);
    assert_int_equal(last_sid, 3);
    detect_flow_free(&f);
    detect_thread_free(t);
    detect_engine_free(e);
    free(r);
}

/* ------------------------------------------------------------------ IP-only index */

static uint32_t rnd_state = 4242;

static uint32_t rnd(void)
{
    return ruletest_rand(&rnd_state);
}

/* An address of a small pool, so rules and packets meet. */
static void rnd_addr(char *out, size_t n, int v6)
{
    if (v6)
        snprintf(out, n, "2001:db8::%x", rnd() % 24);
    else
        snprintf(out, n, "10.%u.%u.%u", rnd() % 3, rnd() % 3, rnd() % 8);
}

/* IP-only rules are looked up in an address index: the prefiltered engine
 * alerts exactly like one that tries every IP-only rule. */
static void test_iponly_index(void **state)
{
    enum { NRULES = 200, NPKTS = 4000 };
    static char text[NRULES][700];
    const char *v[NRULES + 1];
    struct detect_engine *e;
    struct detect_thread *t1, *t2;
    size_t total = 0;

    for (int i = 0; i < NRULES; i++) {
        char side[2][300];

        for (int s = 0; s < 2; s++) {
            size_t len = 0;
            int n = 1 + (int)(rnd() % 4), v6 = rnd() % 4 == 0;

            if (rnd() % 3 == 0) {
                snprintf(side[s], sizeof side[s], "%s", rnd() % 2 ? "any" : "[10.0.0.0/8,2001:db8::/32]");
                continue;
            }
            len += (size_t)snprintf(side[s] + len, sizeof side[s] - len, "[");
            for (int k = 0; k < n; k++) {
                char a[64];

                rnd_addr(a, sizeof a, v6);
                len += (size_t)snprintf(side[s] + len, sizeof side[s] - len, "%s%s%s", k ? "," : "", a,
                                        rnd() % 5 == 0 ? (v6 ? "/124" : "/29") : "");
            }
            snprintf(side[s] + len, sizeof side[s] - len, "]");
        }
        snprintf(text[i], sizeof text[i], "alert ip %s any %s %s any (sid:%d;)", side[0],
                 rnd() % 8 == 0 ? "<>" : "->", side[1], i + 1);
        v[i] = text[i];
    }
    v[NRULES] = NULL;
    e = ruletest_engine(v);
    t1 = detect_thread_new(e);
    t2 = detect_thread_new(e);
    detect_thread_set_prefilter(t2, 0);
    for (int i = 0; i < NPKTS; i++) {
        char a[64], b[64];
        struct packet p;
        size_t n1, n2;
        uint32_t s1;
        int v6 = rnd() % 4 == 0;

        ruletest_packet(&p, 6, NULL, 0);
        rnd_addr(a, sizeof a, v6);
        rnd_addr(b, sizeof b, v6);
        lw_addr_parse(a, &p.src);
        lw_addr_parse(b, &p.dst);
        p.ip_version = v6 ? 6 : 4;
        nalerts = 0;
        detect_packet(e, t1, NULL, &p, NULL, on_alert, NULL);
        n1 = nalerts;
        s1 = last_sid;
        nalerts = 0;
        detect_packet(e, t2, NULL, &p, NULL, on_alert, NULL);
        n2 = nalerts;
        assert_int_equal(n1, n2);
        if (n1)
            assert_int_equal(s1, last_sid);
        total += n1;
    }
    print_message("IP-only index equivalence: %zu alerts over %d packets\n", total, NPKTS);
    assert_true(total > 1000);
    detect_thread_free(t1);
    detect_thread_free(t2);
    detect_engine_free(e);
}

/* Rules with transforms on sticky buffers: the prefilter scans each
 * buffer as the rules transform it, so it alerts exactly like an engine
 * that tries every rule. */
static void test_transform_prefilter(void **state)
{
    enum { NRULES = 200, NFLOWS = 2000 };
    static const char *const xf[] = { "", "to_lowercase; ", "to_uppercase; ", "dotprefix; ",
                                      "strip_whitespace; ", "compress_whitespace; ", "url_decode; ",
                                      "to_lowercase; dotprefix; " };
    static const char *const bufs[] = { "http.uri", "http.user_agent", "http.host" };
    static const char alpha[] = "aB. %2";
    static char text[NRULES][300];
    const char *v[NRULES + 1];
    struct detect_engine *e;
    struct detect_thread *t1, *t2;
    struct dpi_result *r = ruletest_dpi("HTTP", "http");
    size_t total = 0;

    for (int i = 0; i < NRULES; i++) {
        char w[8];
        int n = 1 + (int)(rnd() % 3);

        for (int k = 0; k < n; k++)
            w[k] = "aAbB.."[rnd() % 6];
        w[n] = '\0';
        snprintf(text[i], sizeof text[i], "alert http any any -> any any (%s; %scontent:\"%s\"; %ssid:%d;)",
                 bufs[rnd() % 3], xf[rnd() % 8], w, rnd() % 4 == 0 ? "nocase; " : "", i + 1);
        v[i] = text[i];
    }
    v[NRULES] = NULL;
    e = ruletest_engine(v);
    t1 = detect_thread_new(e);
    t2 = detect_thread_new(e);
    detect_thread_set_prefilter(t2, 0);
    r->http = (struct dpi_http *)(r + 1);
    for (int i = 0; i < NFLOWS; i++) {
        char *f[3] = { r->http->url, r->http->user_agent, r->http->hostname };
        struct packet p;
        struct flow fl;
        size_t n1;

        for (int k = 0; k < 3; k++) {
            int len = (int)(rnd() % 12);

            for (int c = 0; c < len; c++)
                f[k][c] = alpha[rnd() % 6];
            f[k][len] = '\0';
        }
        ruletest_packet(&p, 6, (const uint8_t *)"x", 1);
        ruletest_flow(&fl, &p, r);
        nalerts = 0;
        detect_packet(e, t1, NULL, &p, &fl, on_alert, NULL);
        n1 = nalerts;
        detect_flow_free(&fl);
        ruletest_flow(&fl, &p, r);
        nalerts = 0;
        detect_packet(e, t2, NULL, &p, &fl, on_alert, NULL);
        detect_flow_free(&fl);
        assert_int_equal(n1, nalerts);
        total += n1;
    }
    print_message("transform prefilter equivalence: %zu alerts over %d flows\n", total, NFLOWS);
    assert_true(total > 500);
    detect_thread_free(t1);
    detect_thread_free(t2);
    detect_engine_free(e);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_modifiers),
        cmocka_unit_test(test_bsize_urilen_dsize),
        cmocka_unit_test(test_isdataat),
        cmocka_unit_test(test_byte_keywords),
        cmocka_unit_test(test_pcre_buffers),
        cmocka_unit_test(test_transforms),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_header_keywords),
        cmocka_unit_test(test_icmpv6_mtu),
        cmocka_unit_test(test_flowbits),
        cmocka_unit_test(test_flowbits_order),
        cmocka_unit_test(test_flowint),
        cmocka_unit_test(test_xbits),
        cmocka_unit_test(test_noalert_bypass),
        cmocka_unit_test(test_stream_size),
        cmocka_unit_test(test_requires_prefilter_target),
        cmocka_unit_test(test_tag),
        cmocka_unit_test(test_alert_xff),
        cmocka_unit_test(test_pii),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_buffer_table),
        cmocka_unit_test(test_tls_values),
        cmocka_unit_test(test_iponly_index),
        cmocka_unit_test(test_transform_prefilter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
