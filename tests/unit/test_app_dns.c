/* test_app_dns.c - unit tests for the DNS parser (sensor/app/dns.c): a UDP
 * query and a response with several compressed answers, authority and
 * additional records (values, pairing, EVE); lone and mismatched
 * responses; compression loops, over-long names and truncated messages;
 * DNS over TCP with two queries in one segment and one split over three
 * calls; flooding past max_tx; header anomalies; the memory cap; probing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apptest.h"
#include "dns.h"

static const struct app_parser *P = &app_parser_dns;

/* A message under construction. */
struct mb {
    uint8_t b[4096];
    size_t n;
};

static void put8(struct mb *m, unsigned v) { m->b[m->n++] = (uint8_t)v; }
static void put16(struct mb *m, unsigned v) { put8(m, v >> 8); put8(m, v & 0xff); }
static void put32(struct mb *m, uint32_t v) { put16(m, v >> 16); put16(m, v & 0xffff); }

static void putbytes(struct mb *m, const void *p, size_t n)
{
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

/* Labels of a dotted name, without the terminating 0 (so a pointer or a
 * 0 may follow). */
static void putlabels(struct mb *m, const char *dotted)
{
    while (*dotted) {
        const char *dot = strchr(dotted, '.');
        size_t n = dot ? (size_t)(dot - dotted) : strlen(dotted);

        put8(m, (unsigned)n);
        putbytes(m, dotted, n);
        dotted += n + (dot ? 1 : 0);
    }
}

static void putname(struct mb *m, const char *dotted)
{
    putlabels(m, dotted);
    put8(m, 0);
}

static void putptr(struct mb *m, unsigned off) { put16(m, 0xc000 | off); }

static void header(struct mb *m, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
    m->n = 0;
    put16(m, id);
    put16(m, flags);
    put16(m, qd);
    put16(m, an);
    put16(m, ns);
    put16(m, ar);
}

/* A record's fixed part; the caller writes rdlen bytes of data next. */
static void rrhead(struct mb *m, unsigned type, uint32_t ttl, unsigned rdlen)
{
    put16(m, type);
    put16(m, 1);
    put32(m, ttl);
    put16(m, rdlen);
}

static void query(struct mb *m, unsigned id, const char *name, unsigned type)
{
    header(m, id, 0x0100, 1, 0, 0, 0);
    putname(m, name);
    put16(m, type);
    put16(m, 1);
}

/* The response to "www.example.com A": CNAME to cdn.example.com (its data
 * partly compressed), two A and an AAAA for it, an MX and a TXT of two
 * strings for example.com; an SOA in authority; an empty OPT and an A in
 * additional. Every owner name is a pointer. */
static void big_response(struct mb *m, unsigned id)
{
    size_t cdn;

    header(m, id, 0x8180, 1, 6, 1, 2);
    putname(m, "www.example.com");              /* at 12; example.com at 16 */
    put16(m, 1);
    put16(m, 1);
    putptr(m, 12);
    rrhead(m, 5, 300, 6);
    cdn = m->n;
    putlabels(m, "cdn");
    putptr(m, 16);
    for (unsigned i = 34; i <= 35; i++) {
        putptr(m, (unsigned)cdn);
        rrhead(m, 1, 60, 4);
        putbytes(m, (uint8_t[]){ 93, 184, 216, (uint8_t)i }, 4);
    }
    putptr(m, (unsigned)cdn);
    rrhead(m, 28, 60, 16);
    putbytes(m, (uint8_t[]){ 0x26, 0x06, 0x28, 0x00, 0x02, 0x20, 0x00, 0x01, 0x02, 0x48, 0x18, 0x93,
                             0x25, 0xc8, 0x19, 0x46 }, 16);
    putptr(m, 16);
    rrhead(m, 15, 3600, 2 + 5 + 2);
    put16(m, 10);
    putlabels(m, "mail");
    putptr(m, 16);
    putptr(m, 16);
    rrhead(m, 16, 3600, 12 + 6);
    put8(m, 11);
    putbytes(m, "v=spf1 -all", 11);
    put8(m, 5);
    putbytes(m, "hello", 5);
    putptr(m, 16);
    rrhead(m, 6, 3600, 6 + 13 + 20);
    putlabels(m, "ns1");
    putptr(m, 16);
    putlabels(m, "hostmaster");
    putptr(m, 16);
    put32(m, 2024010101u);
    put32(m, 7200);
    put32(m, 3600);
    put32(m, 1209600);
    put32(m, 300);
    put8(m, 0);                                 /* OPT: root owner, no options */
    put16(m, 41);
    put16(m, 1232);
    put32(m, 0);
    put16(m, 0);
    putlabels(m, "ns1");
    putptr(m, 16);
    rrhead(m, 1, 3600, 4);
    putbytes(m, (uint8_t[]){ 192, 0, 2, 53 }, 4);
}

static const char *big_response_eve =
    "{\"version\":3,\"type\":\"response\",\"tx_id\":0,\"id\":4660,\"flags\":\"8180\",\"qr\":true,"
    "\"rd\":true,\"ra\":true,\"opcode\":0,\"rcode\":\"NOERROR\","
    "\"queries\":[{\"rrname\":\"www.example.com\",\"rrtype\":\"A\"}],"
    "\"answers\":["
    "{\"rrname\":\"www.example.com\",\"rrtype\":\"CNAME\",\"ttl\":300,\"rdata\":\"cdn.example.com\"},"
    "{\"rrname\":\"cdn.example.com\",\"rrtype\":\"A\",\"ttl\":60,\"rdata\":\"93.184.216.34\"},"
    "{\"rrname\":\"cdn.example.com\",\"rrtype\":\"A\",\"ttl\":60,\"rdata\":\"93.184.216.35\"},"
    "{\"rrname\":\"cdn.example.com\",\"rrtype\":\"AAAA\",\"ttl\":60,"
    "\"rdata\":\"2606:2800:0220:0001:0248:1893:25c8:1946\"},"
    "{\"rrname\":\"example.com\",\"rrtype\":\"MX\",\"ttl\":3600,\"rdata\":\"mail.example.com\"},"
    "{\"rrname\":\"example.com\",\"rrtype\":\"TXT\",\"ttl\":3600,\"rdata\":\"v=spf1 -all\"},"
    "{\"rrname\":\"example.com\",\"rrtype\":\"TXT\",\"ttl\":3600,\"rdata\":\"hello\"}],"
    "\"authorities\":[{\"rrname\":\"example.com\",\"rrtype\":\"SOA\",\"ttl\":3600,"
    "\"soa\":{\"mname\":\"ns1.example.com\",\"rname\":\"hostmaster.example.com\",\"serial\":2024010101,"
    "\"refresh\":7200,\"retry\":3600,\"expire\":1209600,\"minimum\":300}}],"
    "\"additionals\":[{\"rrname\":\"ns1.example.com\",\"rrtype\":\"A\",\"ttl\":3600,\"rdata\":\"192.0.2.53\"}]}";

static uint64_t ev(const struct app_ctx *ctx, unsigned e)
{
    return apptest_events(ctx, APP_PROTO_DNS, e);
}

static uint64_t ev_total(const struct app_ctx *ctx)
{
    return apptest_events_total(ctx, APP_PROTO_DNS);
}

/* The message behind its 2-byte length (DNS over TCP) at out; returns
 * the bytes written. */
static size_t tcp_msg(uint8_t *out, const struct mb *m)
{
    out[0] = (uint8_t)(m->n >> 8);
    out[1] = (uint8_t)m->n;
    memcpy(out + 2, m->b, m->n);
    return m->n + 2;
}

static void assert_query(const struct dns_tx *tx, uint32_t i, const char *want)
{
    const uint8_t *name;
    uint32_t len;

    assert_int_equal(dns_tx_query(tx, i, &name, &len), 1);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(name, want, len);
}

static void test_udp_answers(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct mb q, r;
    struct dns_tx *tx;
    const struct dns_msg *m;
    const uint8_t *name;
    uint32_t len;

    (void)unused;
    query(&q, 0x1234, "www.example.com", 1);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_SERVER, q.b, q.n, APP_IN_DGRAM), 0);
    tx = (struct dns_tx *)apptest_tx(P, st, 0);
    assert_non_null(tx);
    assert_int_equal(tx->tx.progress[APP_TO_SERVER], APP_PROG_DONE);
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_NONE);
    assert_query(tx, 0, "www.example.com");
    assert_int_equal(dns_tx_query(tx, 1, &name, &len), 0);
    assert_int_equal(dns_tx_opcode(tx), 0);
    assert_string_equal(apptest_eve(P, st, &tx->tx),
                        "{\"version\":3,\"type\":\"request\",\"tx_id\":0,\"id\":4660,\"flags\":\"100\","
                        "\"rd\":true,\"opcode\":0,\"rcode\":\"NOERROR\","
                        "\"queries\":[{\"rrname\":\"www.example.com\",\"rrtype\":\"A\"}]}");

    big_response(&r, 0x1234);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_CLIENT, r.b, r.n, APP_IN_DGRAM), 0);
    assert_ptr_equal(apptest_tx(P, st, 0), &tx->tx);       /* paired, no second transaction */
    assert_null(apptest_tx(P, st, 1));
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_DONE);
    m = dns_tx_msg(tx, APP_TO_CLIENT);
    assert_int_equal(m->nq, 1);
    assert_int_equal(m->nrr[DNS_SEC_ANSWER], 6);
    assert_int_equal(m->nrr[DNS_SEC_AUTHORITY], 1);
    assert_int_equal(m->nrr[DNS_SEC_ADDITIONAL], 2);
    assert_int_equal(m->rr[DNS_SEC_ANSWER][4].num[0], 10);              /* MX preference */
    assert_int_equal(m->rr[DNS_SEC_ADDITIONAL][0].type, 41);
    assert_string_equal(apptest_eve(P, st, &tx->tx), big_response_eve);
    assert_int_equal(ev_total(ctx), 0);
    assert_int_equal(ctx->stats.tx[APP_PROTO_DNS], 1);
    apptest_state_free(P, ctx, st);
}

/* A response whose id matches no request is a transaction of its own; a
 * later response with the right id still pairs. */
static void test_lone_response(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct mb q, r;
    struct dns_tx *a, *b;

    (void)unused;
    query(&q, 7, "a.example", 1);
    apptest_feed(P, ctx, st, APP_TO_SERVER, q.b, q.n, APP_IN_DGRAM);
    big_response(&r, 8);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, r.b, r.n, APP_IN_DGRAM);
    a = (struct dns_tx *)apptest_tx(P, st, 0);
    b = (struct dns_tx *)apptest_tx(P, st, 1);
    assert_non_null(b);
    assert_null(a->resp);
    assert_null(b->req);
    assert_int_equal(b->tx.id, 1);
    assert_int_equal(b->tx.progress[APP_TO_SERVER], APP_PROG_DONE);
    assert_int_equal(b->tx.progress[APP_TO_CLIENT], APP_PROG_DONE);
    assert_query(b, 0, "www.example.com");              /* a lone response's question */
    /* no request: that direction has nothing to log (no empty dns event) */
    assert_int_equal(b->tx.logged, APP_LOGGED_TS);
    assert_int_equal(a->tx.logged, 0);
    assert_non_null(strstr(apptest_eve(P, st, &b->tx), "\"type\":\"response\",\"tx_id\":1,\"id\":8,"));
    big_response(&r, 7);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, r.b, r.n, APP_IN_DGRAM);
    assert_non_null(a->resp);
    assert_null(apptest_tx(P, st, 2));
    /* the server's direction ends: nothing is waiting any more */
    query(&q, 9, "b.example", 1);
    apptest_feed(P, ctx, st, APP_TO_SERVER, q.b, q.n, APP_IN_DGRAM);
    a = (struct dns_tx *)apptest_tx(P, st, 2);
    assert_int_equal(a->tx.progress[APP_TO_CLIENT], APP_PROG_NONE);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, NULL, 0, APP_IN_EOF);
    assert_int_equal(a->tx.progress[APP_TO_CLIENT], APP_PROG_DONE);
    assert_int_equal(a->tx.logged, APP_LOGGED_TC);      /* no response will be logged */
    assert_int_equal(ev_total(ctx), 0);
    apptest_state_free(P, ctx, st);
}

/* Compression pointers that loop (to themselves, and two pointing at each
 * other), a chain longer than the budget, and a pointer past the end. */
static void test_compression_loop(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct mb m;
    struct dns_tx *tx;

    (void)unused;
    header(&m, 1, 0x0100, 1, 0, 0, 0);
    putptr(&m, 12);                             /* points at itself */
    put16(&m, 1);
    put16(&m, 1);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, m.n, APP_IN_DGRAM), 0);
    assert_int_equal(ev(ctx, DNS_EV_INFINITE_LOOP), 1);
    tx = (struct dns_tx *)apptest_tx(P, st, 0);
    assert_non_null(tx);                        /* the header still makes a transaction */
    assert_int_equal(tx->req->nq, 0);
    assert_true(tx->tx.events & 1ull << DNS_EV_INFINITE_LOOP);

    header(&m, 2, 0x0100, 1, 0, 0, 0);
    putlabels(&m, "a");                         /* 12: a -> 16 */
    putptr(&m, 16);
    putlabels(&m, "b");                         /* 16: b -> 12 */
    putptr(&m, 12);
    put16(&m, 1);
    put16(&m, 1);
    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, m.n, APP_IN_DGRAM);
    assert_int_equal(ev(ctx, DNS_EV_INFINITE_LOOP), 2);

    /* a chain of DNS_MAX_POINTERS + 1 pointers, each to the next */
    header(&m, 3, 0x0100, 1, 0, 0, 0);
    for (unsigned i = 0; i < DNS_MAX_POINTERS + 1; i++)
        putptr(&m, 12 + 2 * (i + 1));
    put8(&m, 0);
    put16(&m, 1);
    put16(&m, 1);
    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, m.n, APP_IN_DGRAM);
    assert_int_equal(ev(ctx, DNS_EV_INFINITE_LOOP), 3);
    /* near miss: DNS_MAX_POINTERS of them are fine */
    header(&m, 4, 0x0100, 1, 0, 0, 0);
    for (unsigned i = 0; i < DNS_MAX_POINTERS; i++)
        putptr(&m, 12 + 2 * (i + 1));
    put8(&m, 0);
    put16(&m, 1);
    put16(&m, 1);
    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, m.n, APP_IN_DGRAM);
    assert_int_equal(ev(ctx, DNS_EV_INFINITE_LOOP), 3);
    tx = (struct dns_tx *)apptest_tx(P, st, 3);
    assert_int_equal(tx->req->nq, 1);
    assert_query(tx, 0, "");                    /* the root */

    header(&m, 5, 0x0100, 1, 0, 0, 0);
    putptr(&m, 2000);                           /* beyond the message */
    put16(&m, 1);
    put16(&m, 1);
    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, m.n, APP_IN_DGRAM);
    /* every broken question also counts as malformed: 3 loops and this */
    assert_int_equal(ev(ctx, DNS_EV_MALFORMED_DATA), 4);
    assert_int_equal(ev(ctx, DNS_EV_INFINITE_LOOP), 3);
    apptest_state_free(P, ctx, st);
}

/* A name of 300 bytes is cut at 255 and flagged; one of 255 is not. */
static void test_long_name(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    char name[400], want[300];
    struct mb m;
    struct dns_tx *tx;

    (void)unused;
    /* 5 labels of 59 bytes: 5 * 59 + 4 dots = 299 bytes */
    memset(name, 'x', sizeof name);
    for (int i = 1; i < 5; i++)
        name[60 * i - 1] = '.';
    name[299] = '\0';
    query(&m, 1, name, 1);
    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, m.n, APP_IN_DGRAM);
    tx = (struct dns_tx *)apptest_tx(P, st, 0);
    memcpy(want, name, 255);
    want[255] = '\0';
    assert_query(tx, 0, want);
    assert_true(tx->req->q[0].name.truncated);
    assert_int_equal(ev(ctx, DNS_EV_NAME_TOO_LONG), 1);
    assert_non_null(strstr(apptest_eve(P, st, &tx->tx), "\"rrname_truncated\":true"));

    name[255] = '\0';                            /* 4 labels and a 15-byte one: 255 exactly */
    query(&m, 2, name, 1);
    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, m.n, APP_IN_DGRAM);
    tx = (struct dns_tx *)apptest_tx(P, st, 1);
    assert_query(tx, 0, name);
    assert_false(tx->req->q[0].name.truncated);
    assert_int_equal(ev(ctx, DNS_EV_NAME_TOO_LONG), 1);
    apptest_state_free(P, ctx, st);
}

/* Messages cut short: no header; a question cut mid-name; a record whose
 * data runs past the end; an authority section that does not fit. */
static void test_truncated(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct mb m;
    struct dns_tx *tx;

    (void)unused;
    query(&m, 1, "www.example.com", 1);
    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, 11, APP_IN_DGRAM);
    assert_int_equal(ev(ctx, DNS_EV_MALFORMED_DATA), 1);
    assert_null(apptest_tx(P, st, 0));          /* no header: no transaction */

    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, 20, APP_IN_DGRAM);
    assert_int_equal(ev(ctx, DNS_EV_MALFORMED_DATA), 2);
    tx = (struct dns_tx *)apptest_tx(P, st, 0);
    assert_int_equal(tx->req->qdcount, 1);
    assert_int_equal(tx->req->nq, 0);
    /* near miss: the whole query is fine */
    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, m.n, APP_IN_DGRAM);
    assert_int_equal(ev(ctx, DNS_EV_MALFORMED_DATA), 2);

    big_response(&m, 1);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, m.b, 60, APP_IN_DGRAM);    /* inside the 2nd answer */
    assert_int_equal(ev(ctx, DNS_EV_MALFORMED_DATA), 3);
    tx = (struct dns_tx *)apptest_tx(P, st, 0);
    assert_non_null(tx->resp);
    assert_int_equal(tx->resp->nq, 1);
    assert_int_equal(tx->resp->nrr[DNS_SEC_ANSWER], 1);      /* what came before is kept */

    big_response(&m, 2);
    m.b[9] = 5;                                 /* 5 authorities claimed: 1 and the 2 additionals fit */
    apptest_feed(P, ctx, st, APP_TO_CLIENT, m.b, m.n, APP_IN_DGRAM);
    assert_int_equal(ev(ctx, DNS_EV_INVALID_AUTHORITIES), 1);
    assert_int_equal(ev(ctx, DNS_EV_MALFORMED_DATA), 3);
    big_response(&m, 3);
    m.b[11] = 3;
    apptest_feed(P, ctx, st, APP_TO_CLIENT, m.b, m.n, APP_IN_DGRAM);
    assert_int_equal(ev(ctx, DNS_EV_INVALID_ADDITIONALS), 1);
    tx = (struct dns_tx *)apptest_tx(P, st, 3);
    assert_int_equal(tx->resp->nrr[DNS_SEC_ADDITIONAL], 2);
    assert_int_equal(ev(ctx, DNS_EV_INVALID_AUTHORITIES), 1);
    apptest_state_free(P, ctx, st);
}

/* TCP: two length-prefixed queries in one segment; then one split over
 * three calls (the first inside the length prefix); then a response. */
static void test_tcp(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    uint8_t seg[600];
    size_t n = 0;
    struct mb m;
    struct dns_tx *tx;

    (void)unused;
    query(&m, 0x10, "one.example", 1);
    n += tcp_msg(seg + n, &m);
    query(&m, 0x11, "two.example", 28);
    n += tcp_msg(seg + n, &m);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_SERVER, seg, n, 0), 0);
    assert_query((struct dns_tx *)apptest_tx(P, st, 0), 0, "one.example");
    assert_query((struct dns_tx *)apptest_tx(P, st, 1), 0, "two.example");
    assert_null(apptest_tx(P, st, 2));

    query(&m, 0x12, "three.example.org", 16);
    tcp_msg(seg, &m);
    apptest_feed(P, ctx, st, APP_TO_SERVER, seg, 1, 0);
    apptest_feed(P, ctx, st, APP_TO_SERVER, seg + 1, 10, 0);
    assert_null(apptest_tx(P, st, 2));          /* not whole yet */
    assert_true(ctx->mem.used > 0);
    apptest_feed(P, ctx, st, APP_TO_SERVER, seg + 11, m.n + 2 - 11, 0);
    tx = (struct dns_tx *)apptest_tx(P, st, 2);
    assert_non_null(tx);
    assert_query(tx, 0, "three.example.org");
    assert_int_equal(tx->req->q[0].type, 16);

    big_response(&m, 0x11);
    assert_int_equal(apptest_feed_bytes(P, ctx, st, APP_TO_CLIENT, seg, tcp_msg(seg, &m)), 0);
    tx = (struct dns_tx *)apptest_tx(P, st, 1);
    assert_non_null(tx->resp);
    assert_int_equal(tx->resp->nrr[DNS_SEC_ANSWER], 6);
    assert_null(((struct dns_tx *)apptest_tx(P, st, 0))->resp);
    assert_int_equal(ev_total(ctx), 0);

    /* a gap drops the partial message; the next one parses */
    apptest_feed(P, ctx, st, APP_TO_SERVER, seg, 30, 0);
    apptest_feed(P, ctx, st, APP_TO_SERVER, NULL, 100, APP_IN_GAP);
    query(&m, 0x13, "four.example", 1);
    apptest_feed(P, ctx, st, APP_TO_SERVER, seg, tcp_msg(seg, &m), 0);
    assert_query((struct dns_tx *)apptest_tx(P, st, 3), 0, "four.example");
    assert_int_equal(ev_total(ctx), 0);
    apptest_state_free(P, ctx, st);
}

/* Past max_tx waiting requests the oldest is given up. */
static void test_flood(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st;
    struct mb m;
    struct dns_tx *first;

    (void)unused;
    ctx->limits.max_tx = 2;
    st = apptest_state(P, ctx);
    for (unsigned i = 0; i < 2; i++) {
        query(&m, 100 + i, "x.example", 1);
        apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, m.n, APP_IN_DGRAM);
    }
    first = (struct dns_tx *)apptest_tx(P, st, 0);
    assert_int_equal(ev(ctx, DNS_EV_FLOODED), 0);
    assert_int_equal(first->tx.progress[APP_TO_CLIENT], APP_PROG_NONE);
    query(&m, 102, "x.example", 1);
    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, m.n, APP_IN_DGRAM);
    assert_int_equal(ev(ctx, DNS_EV_FLOODED), 1);
    assert_int_equal(first->tx.progress[APP_TO_CLIENT], APP_PROG_DONE);
    assert_int_equal(((struct dns_tx *)apptest_tx(P, st, 1))->tx.progress[APP_TO_CLIENT], APP_PROG_NONE);
    /* the given-up request no longer pairs: its response stands alone */
    big_response(&m, 100);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, m.b, m.n, APP_IN_DGRAM);
    assert_null(first->resp);
    assert_non_null(apptest_tx(P, st, 3));
    /* the stage frees a waiting one: the count follows */
    P->tx_free(ctx, st, app_txlist_pop(P->txs(st)));
    P->tx_free(ctx, st, app_txlist_pop(P->txs(st)));
    query(&m, 103, "x.example", 1);
    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, m.n, APP_IN_DGRAM);
    assert_int_equal(ev(ctx, DNS_EV_FLOODED), 1);
    apptest_state_free(P, ctx, st);
}

/* Header anomalies, and a section longer than max_names. */
static void test_anomalies(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct mb m;
    struct dns_tx *tx;

    (void)unused;
    big_response(&m, 1);
    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, m.n, APP_IN_DGRAM);   /* a response sent to the server */
    assert_int_equal(ev(ctx, DNS_EV_NOT_REQUEST), 1);
    query(&m, 1, "q.example", 1);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, m.b, m.n, APP_IN_DGRAM);
    assert_int_equal(ev(ctx, DNS_EV_NOT_RESPONSE), 1);
    query(&m, 2, "q.example", 1);
    m.b[3] |= 0x40;                             /* Z */
    m.b[2] |= 0x78;                             /* opcode 15 */
    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, m.n, APP_IN_DGRAM);
    assert_int_equal(ev(ctx, DNS_EV_Z_FLAG_SET), 1);
    assert_int_equal(ev(ctx, DNS_EV_INVALID_OPCODE), 1);
    tx = (struct dns_tx *)apptest_tx(P, st, 1);
    assert_int_equal(dns_tx_opcode(tx), 15);
    assert_true(tx->tx.events & 1ull << DNS_EV_Z_FLAG_SET);
    assert_non_null(strstr(apptest_eve(P, st, &tx->tx), "\"z\":true,\"opcode\":15,"));
    query(&m, 3, "q.example", 1);
    m.b[2] |= 0x30;                             /* opcode 6 (DSO): valid */
    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, m.n, APP_IN_DGRAM);
    assert_int_equal(ev(ctx, DNS_EV_INVALID_OPCODE), 1);

    ctx->limits.max_names = 2;
    big_response(&m, 9);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, m.b, m.n, APP_IN_DGRAM);
    assert_int_equal(ev(ctx, DNS_EV_TOO_MANY_RECORDS), 1);
    tx = (struct dns_tx *)apptest_tx(P, st, 3);
    assert_int_equal(tx->resp->nrr[DNS_SEC_ANSWER], 2);
    assert_int_equal(tx->resp->nrr[DNS_SEC_AUTHORITY], 1);
    assert_int_equal(tx->resp->nrr[DNS_SEC_ADDITIONAL], 2);
    apptest_state_free(P, ctx, st);
}

/* Garbage datagrams: counted, and after a run of them the flow is given up. */
static void test_garbage(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    uint8_t junk[7] = { 1, 2, 3, 4, 5, 6, 7 };
    int rc = 0;
    unsigned i;

    (void)unused;
    for (i = 0; i < 20 && rc == 0; i++)
        rc = apptest_feed(P, ctx, st, APP_TO_SERVER, junk, sizeof junk, APP_IN_DGRAM);
    assert_int_equal(rc, -1);
    assert_int_equal(i, 8);
    assert_int_equal(ev(ctx, DNS_EV_MALFORMED_DATA), 8);
    apptest_state_free(P, ctx, st);
}

/* Past the memory cap a message is dropped and counted; nothing leaks. */
static void test_memcap(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct mb m;
    size_t base = ctx->mem.used;

    (void)unused;
    ctx->mem.cap = base + 200;
    big_response(&m, 1);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_CLIENT, m.b, m.n, APP_IN_DGRAM), 0);
    assert_int_equal(ev(ctx, DNS_EV_MEMCAP), 1);
    assert_null(apptest_tx(P, st, 0));
    assert_int_equal(ctx->mem.used, base);
    ctx->mem.cap = 64u << 20;
    apptest_feed(P, ctx, st, APP_TO_CLIENT, m.b, m.n, APP_IN_DGRAM);
    assert_non_null(apptest_tx(P, st, 0));
    apptest_state_free(P, ctx, st);
}

static void test_probe(void **unused)
{
    struct mb m;
    uint8_t tcp[600];

    (void)unused;
    query(&m, 1, "www.example.com", 1);
    assert_int_equal(P->probe(m.b, m.n, APP_TO_SERVER), 1);
    assert_int_equal(P->probe(m.b, m.n, APP_TO_CLIENT), 0);     /* QR says request */
    assert_int_equal(P->probe(m.b, 10, APP_TO_SERVER), -1);
    assert_int_equal(P->probe(m.b, 20, APP_TO_SERVER), -1);
    assert_int_equal(P->probe(tcp, tcp_msg(tcp, &m), APP_TO_SERVER), 1);
    big_response(&m, 1);
    assert_int_equal(P->probe(m.b, m.n, APP_TO_CLIENT), 1);
    assert_int_equal(P->probe((const uint8_t *)"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, APP_TO_SERVER), 0);
    assert_int_equal(P->probe((const uint8_t *)"SSH-2.0-OpenSSH_9.0\r\n", 21, APP_TO_SERVER), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp_answers),
        cmocka_unit_test(test_lone_response),
        cmocka_unit_test(test_compression_loop),
        cmocka_unit_test(test_long_name),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_flood),
        cmocka_unit_test(test_anomalies),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_memcap),
        cmocka_unit_test(test_probe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
