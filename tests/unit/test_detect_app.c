/* test_detect_app.c - unit tests for the transaction buffer providers
 * (sensor/detect/detect-app.c) and for detection on transactions
 * (sensor/detect/detect-tx.c): buffers by transaction and direction, the
 * multi-buffers, values and events, and rules that alert once per
 * transaction and direction as the transaction grows. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apptest.h"
#include "detect-app.h"
#include "detect.h"
#include "dns.h"
#include "http.h"
#include "rule-t.h"
#include "ruletest.h"
#include "ssh.h"

#define TS APP_TO_SERVER
#define TC APP_TO_CLIENT

/* Buffer b of tx (protocol proto) in direction dir, instance idx, as a
 * string; NULL when the providers have none. */
static const char *buf(unsigned proto, const struct app_tx *tx, unsigned b, uint8_t dir, uint32_t idx)
{
    static char out[512];
    const struct detect_src s = { NULL, NULL, tx, dir, (uint8_t)proto };
    struct detect_bytes d;

    if (!detect_buffer_get(&s, b, idx, &d))
        return NULL;
    assert_true(d.len < sizeof out);
    memcpy(out, d.data, d.len);
    out[d.len] = '\0';
    return out;
}

static void feed(const struct app_parser *p, struct app_ctx *ctx, void *st, enum app_dir dir, const char *s)
{
    assert_int_equal(apptest_feed(p, ctx, st, dir, s, strlen(s), 0), 0);
}

static const char *const REQ0 = "GET /index.html HTTP/1.1\r\nHost: www.Example.com\r\nUser-Agent: curl/8.0\r\n"
                                "Cookie: a=b\r\n\r\n";
static const char *const RES0 = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\n\r\nhello";
static const char *const REQ1 = "POST /login.php?user=x%20y HTTP/1.1\r\nHost: www.example.com\r\n"
                                "User-Agent: sqlmap/1.7\r\nContent-Length: 17\r\n\r\npassword=hunter2!";
static const char *const RES1 = "HTTP/1.1 302 Found\r\nLocation: /home\r\nContent-Length: 0\r\n\r\n";

/* ---------------------------------------------------------------- HTTP buffers */

static void test_http_buffers_per_tx(void **state)
{
    const struct app_parser *P = &app_parser_http;
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct app_tx *t0, *t1;

    (void)state;
    feed(P, ctx, st, TS, REQ0);
    feed(P, ctx, st, TC, RES0);
    feed(P, ctx, st, TS, REQ1);
    feed(P, ctx, st, TC, RES1);
    t0 = apptest_tx(P, st, 0);
    t1 = apptest_tx(P, st, 1);
    assert_non_null(t1);
    assert_string_equal(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_URI, TS, 0), "/index.html");
    assert_string_equal(buf(APP_PROTO_HTTP, t1, RULE_BUF_HTTP_URI, TS, 0), "/login.php?user=x y");
    assert_string_equal(buf(APP_PROTO_HTTP, t1, RULE_BUF_HTTP_URI_RAW, TS, 0), "/login.php?user=x%20y");
    assert_string_equal(buf(APP_PROTO_HTTP, t1, RULE_BUF_HTTP_METHOD, TS, 0), "POST");
    assert_string_equal(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_HOST, TS, 0), "www.example.com");
    assert_string_equal(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_HOST_RAW, TS, 0), "www.Example.com");
    assert_string_equal(buf(APP_PROTO_HTTP, t1, RULE_BUF_HTTP_USER_AGENT, TS, 0), "sqlmap/1.7");
    assert_string_equal(buf(APP_PROTO_HTTP, t1, RULE_BUF_HTTP_REQUEST_BODY, TS, 0), "password=hunter2!");
    assert_string_equal(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_STAT_CODE, TC, 0), "200");
    assert_string_equal(buf(APP_PROTO_HTTP, t1, RULE_BUF_HTTP_STAT_MSG, TC, 0), "Found");
    assert_string_equal(buf(APP_PROTO_HTTP, t1, RULE_BUF_HTTP_LOCATION, TC, 0), "/home");
    assert_string_equal(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_SERVER, TC, 0), "nginx");
    assert_string_equal(buf(APP_PROTO_HTTP, t0, RULE_BUF_FILE_DATA, TC, 0), "hello");
    assert_string_equal(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_RESPONSE_BODY, TC, 0), "hello");
    /* file.data to the server is the request body */
    assert_string_equal(buf(APP_PROTO_HTTP, t1, RULE_BUF_FILE_DATA, TS, 0), "password=hunter2!");
    /* a one-sided buffer is its own side's whatever the direction asked */
    assert_string_equal(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_URI, TC, 0), "/index.html");
    assert_string_equal(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_STAT_CODE, TS, 0), "200");
    /* buffers each side has: the side asked for */
    assert_string_equal(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_COOKIE, TS, 0), "a=b");
    assert_null(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_COOKIE, TC, 0));
    assert_non_null(strstr(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_HEADER, TC, 0), "Server: nginx\r\n"));
    assert_null(strstr(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_HEADER, TS, 0), "Server"));
    /* near misses: absent headers, an index past a single buffer */
    assert_null(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_REFERER, TS, 0));
    assert_null(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_URI, TS, 1));
    assert_null(buf(APP_PROTO_HTTP, t1, RULE_BUF_HTTP_REQUEST_BODY, TC, 1));
    apptest_state_free(P, ctx, st);
}

/* http.request_header: each header "Name: value", in order, then none. */
static void test_http_header_instances(void **state)
{
    const struct app_parser *P = &app_parser_http;
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct app_tx *t0;

    (void)state;
    feed(P, ctx, st, TS, REQ0);
    feed(P, ctx, st, TC, RES0);
    t0 = apptest_tx(P, st, 0);
    assert_string_equal(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_REQUEST_HEADER, TS, 0), "Host: www.Example.com");
    assert_string_equal(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_REQUEST_HEADER, TS, 1), "User-Agent: curl/8.0");
    assert_string_equal(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_REQUEST_HEADER, TS, 2), "Cookie: a=b");
    assert_null(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_REQUEST_HEADER, TS, 3));
    assert_string_equal(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_RESPONSE_HEADER, TC, 1), "Content-Length: 5");
    assert_null(buf(APP_PROTO_HTTP, t0, RULE_BUF_HTTP_RESPONSE_HEADER, TC, 2));
    apptest_state_free(P, ctx, st);
}

/* A provider answers only for its own protocol's transactions. */
static void test_wrong_proto(void **state)
{
    const struct app_parser *P = &app_parser_http;
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);

    (void)state;
    feed(P, ctx, st, TS, REQ0);
    assert_non_null(buf(APP_PROTO_HTTP, apptest_tx(P, st, 0), RULE_BUF_HTTP_URI, TS, 0));
    assert_null(buf(APP_PROTO_TLS, apptest_tx(P, st, 0), RULE_BUF_HTTP_URI, TS, 0));
    assert_null(buf(APP_PROTO_NONE, apptest_tx(P, st, 0), RULE_BUF_HTTP_URI, TS, 0));
    apptest_state_free(P, ctx, st);
}

/* ---------------------------------------------------------------- DNS and SSH */

/* A query with two questions: www.example.org A, mail.example.org AAAA. */
static const uint8_t dns_two_q[] = {
    0x12, 0x34, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0, 0x00, 0x01, 0x00, 0x01,
    4, 'm', 'a', 'i', 'l', 0xc0, 16, 0x00, 0x1c, 0x00, 0x01,
};

static void test_dns_queries(void **state)
{
    const struct app_parser *P = &app_parser_dns;
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct app_tx *t;
    const struct detect_src s0 = { NULL, NULL, NULL, TS, APP_PROTO_DNS };
    struct detect_src s;
    uint64_t v = 99;

    (void)state;
    assert_int_equal(apptest_feed(P, ctx, st, TS, dns_two_q, sizeof dns_two_q, APP_IN_DGRAM), 0);
    t = apptest_tx(P, st, 0);
    assert_string_equal(buf(APP_PROTO_DNS, t, RULE_BUF_DNS_QUERY, TS, 0), "www.example.org");
    assert_string_equal(buf(APP_PROTO_DNS, t, RULE_BUF_DNS_QUERY, TS, 1), "mail.example.org");
    assert_null(buf(APP_PROTO_DNS, t, RULE_BUF_DNS_QUERY, TS, 2));
    s = s0;
    s.tx = t;
    assert_int_equal(detect_value_get(&s, RULE_VAL_DNS_OPCODE, &v), 1);
    assert_int_equal(v, 0);
    assert_int_equal(detect_value_get(&s, RULE_VAL_TLS_VERSION, &v), 0);
    apptest_state_free(P, ctx, st);
}

/* The server speaks first: ssh.software is each side's own. */
static void test_ssh_sides(void **state)
{
    const struct app_parser *P = &app_parser_ssh;
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct app_tx *t;

    (void)state;
    feed(P, ctx, st, TC, "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n");
    t = apptest_tx(P, st, 0);
    assert_string_equal(buf(APP_PROTO_SSH, t, RULE_BUF_SSH_SOFTWARE, TC, 0), "OpenSSH_8.9p1");
    assert_null(buf(APP_PROTO_SSH, t, RULE_BUF_SSH_SOFTWARE, TS, 0));
    feed(P, ctx, st, TS, "SSH-2.0-PuTTY_Release_0.78\r\n");
    assert_string_equal(buf(APP_PROTO_SSH, t, RULE_BUF_SSH_SOFTWARE, TS, 0), "PuTTY_Release_0.78");
    assert_string_equal(buf(APP_PROTO_SSH, t, RULE_BUF_SSH_PROTO, TS, 0), "2.0");
    /* no KEXINIT yet: no hassh on either side */
    assert_null(buf(APP_PROTO_SSH, t, RULE_BUF_SSH_HASSH, TS, 0));
    assert_null(buf(APP_PROTO_SSH, t, RULE_BUF_SSH_HASSH_SERVER, TC, 0));
    apptest_state_free(P, ctx, st);
}

/* ---------------------------------------------------------------- detection on transactions */

struct txalerts {
    size_t n;
    uint32_t sid[32];
    uint64_t tx[32];
    uint8_t dir[32];
};

static void on_tx_alert(void *arg, const struct rule *r, const struct packet *p, struct flow *f,
                        const struct app_tx *tx)
{
    struct txalerts *a = arg;

    (void)f;
    if (a->n < 32) {
        a->sid[a->n] = r->sid;
        a->tx[a->n] = tx->id;
        a->dir[a->n] = p->dir;
    }
    a->n++;
}

static size_t count_sid(const struct txalerts *a, uint32_t sid, uint64_t tx)
{
    size_t n = 0;

    for (size_t i = 0; i < a->n && i < 32; i++)
        n += a->sid[i] == sid && a->tx[i] == tx;
    return n;
}

/* An HTTP flow, established, with an engine over rules and its scratch. */
struct txh {
    struct app_ctx *ctx;
    void *st;
    struct detect_engine *e;
    struct detect_thread *t;
    struct txalerts a;
    struct packet p;
    struct flow f;
};

static void txh_open(struct txh *h, const char *const *rules)
{
    memset(h, 0, sizeof *h);
    h->ctx = apptest_ctx();
    h->st = apptest_state(&app_parser_http, h->ctx);
    h->e = ruletest_engine(rules);
    h->t = detect_thread_new(h->e);
    assert_non_null(h->t);
    ruletest_packet(&h->p, 6, NULL, 0);
    ruletest_flow(&h->f, &h->p, NULL);
}

static void txh_close(struct txh *h)
{
    detect_flow_free(&h->f);
    detect_thread_free(h->t);
    detect_engine_free(h->e);
    apptest_state_free(&app_parser_http, h->ctx, h->st);
}

/* Feeds s in direction dir, then offers every transaction to detect_tx,
 * as the stage does after each parse (s NULL: only the offer). */
static void step(struct txh *h, enum app_dir dir, const char *s)
{
    if (s)
        feed(&app_parser_http, h->ctx, h->st, dir, s);
    for (struct app_tx *tx = app_parser_http.txs(h->st)->head; tx; tx = tx->next)
        detect_tx(h->e, h->t, NULL, &h->p, &h->f, APP_PROTO_HTTP, tx, on_tx_alert, &h->a);
}

/* Keep-alive: a rule fires on the transaction it matches, once, however
 * often the transactions are offered; a body rule fires when the body has
 * come; a near miss (POST and login.php's URI are one transaction, GET and
 * login.php are not) behaves. */
static void test_detect_keepalive(void **state)
{
    const char *rules[] = {
        "alert http any any -> any any (flow:established,to_server; http.uri; content:\"login.php\"; sid:1;)",
        "alert http any any -> any any (flow:established,to_server; http.method; content:\"GET\"; "
        "http.uri; content:\"login.php\"; sid:2;)",
        "alert http any any -> any any (flow:established,to_server; http.request_body; content:\"hunter2\"; sid:3;)",
        "alert http any any -> any any (flow:established,to_client; http.stat_code; content:\"302\"; sid:4;)",
        "alert http any any -> any any (http.header; content:\"Host\"; sid:5;)",
        "alert http any any -> any any (flow:established,to_server; http.method; content:\"POST\"; "
        "http.uri; content:\"login.php\"; sid:6;)",
        /* the fast pattern (POST, the longest content) is in a buffer complete
         * with the headers, the rest in the body that comes later */
        "alert http any any -> any any (flow:established,to_server; http.method; content:\"POST\"; "
        "http.request_body; content:\"er2\"; sid:8;)",
        "alert http any any -> any any (flow:established,to_server; http.method; content:\"POST\"; "
        "http.request_body; content:\"er3\"; sid:9;)",
        NULL,
    };
    struct txh h;
    const struct txalerts *a = &h.a;

    (void)state;
    txh_open(&h, rules);
    step(&h, TS, REQ0);
    step(&h, TC, RES0);
    step(&h, TC, NULL);                            /* nothing new: nothing again */
    /* the POST's headers, then its body in two parts */
    step(&h, TS, "POST /login.php?user=x%20y HTTP/1.1\r\nHost: www.example.com\r\n"
                 "Content-Length: 17\r\n\r\npassword=");
    assert_int_equal(count_sid(a, 3, 1), 0);
    step(&h, TS, "hunter2!");
    step(&h, TC, RES1);
    step(&h, TC, NULL);
    assert_int_equal(count_sid(a, 1, 0), 0);
    assert_int_equal(count_sid(a, 1, 1), 1);
    assert_int_equal(count_sid(a, 2, 0) + count_sid(a, 2, 1), 0);
    assert_int_equal(count_sid(a, 3, 1), 1);
    assert_int_equal(count_sid(a, 4, 1), 1);
    assert_int_equal(count_sid(a, 4, 0), 0);
    /* http.header without a direction: each side in turn; only requests have a Host */
    assert_int_equal(count_sid(a, 5, 0), 1);
    assert_int_equal(count_sid(a, 5, 1), 1);
    assert_int_equal(count_sid(a, 6, 1), 1);
    assert_int_equal(count_sid(a, 8, 1), 1);
    assert_int_equal(count_sid(a, 9, 1), 0);       /* near miss: the body does not have it */
    assert_int_equal(a->n, 7);
    for (size_t i = 0; i < a->n; i++) {
        if (a->sid[i] == 4)
            assert_int_equal(a->dir[i], 1);        /* to_client: reported from the server */
        if (a->sid[i] == 5)
            assert_int_equal(a->dir[i], 0);
    }
    txh_close(&h);
}

/* Feeds the server n bytes of filler (no pattern of the rules below)
 * then s, and offers the transactions. */
static void step_filled(struct txh *h, size_t n, const char *s)
{
    size_t k = strlen(s);
    char *v = malloc(n + k + 1);

    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = (char)('a' + i % 7);
    memcpy(v + n, s, k + 1);
    step(h, TC, v);
    free(v);
}

/* A response of content_length bytes to a GET, its headers only. */
static void body_open(struct txh *h, const char *const *rules, uint64_t min, uint32_t window,
                      unsigned content_length)
{
    char hdr[96];

    txh_open(h, rules);
    h->ctx->limits.response_body_inspect_min = min;
    h->ctx->limits.response_body_inspect_window = window;
    step(h, TS, REQ0);
    snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", content_length);
    step(h, TC, hdr);
}

/* A growing response body (file.data), as Suricata inspects one:
 * - a body shorter than response-body-minimal-inspect-size is looked at
 *   when it ends, not before (a rule on its first part waits);
 * - past that size, each part is looked at; the body is prefiltered only
 *   from where the last scan ended, and a rule whose fast pattern was in
 *   an earlier part still runs when its other content comes later (near
 *   miss: a content that never comes);
 * - a fast pattern split across two parts is found;
 * - with an inspect window, a later look starts that far before the new
 *   data, positions counting from the body's start;
 * - with the size 0, a body rule runs on the first part. */
static void test_detect_body_growth(void **state)
{
    const char *rules[] = {
        "alert http any any -> any any (flow:established,to_client; file.data; content:\"early-mark\"; sid:1;)",
        "alert http any any -> any any (flow:established,to_client; file.data; content:\"LONG-FAST-PATTERN\"; "
        "content:\"tail-xyz\"; distance:0; sid:2;)",
        "alert http any any -> any any (flow:established,to_client; file.data; content:\"LONG-FAST-PATTERN\"; "
        "content:\"never-there\"; distance:0; sid:3;)",
        "alert http any any -> any any (flow:established,to_client; file.data; content:\"SPLIT-ACROSS-PARTS\"; sid:4;)",
        NULL,
    };
    const char *rules2[] = {
        rules[1],
        "alert http any any -> any any (flow:established,to_client; file.data; content:\"mark-at-50000\"; "
        "offset:50000; depth:13; sid:5;)",
        "alert http any any -> any any (flow:established,to_client; file.data; content:\"mark-at-50000\"; "
        "offset:49000; depth:13; sid:6;)",
        NULL,
    };
    struct txh h;
    const struct txalerts *a = &h.a;

    (void)state;
    /* a 20,000-byte body: waits for its end */
    body_open(&h, rules, 40 * 1024, 0, 20000);
    step_filled(&h, 100, "early-mark");
    assert_int_equal(count_sid(a, 1, 0), 0);
    step_filled(&h, 20000 - 110, "");
    assert_int_equal(count_sid(a, 1, 0), 1);
    txh_close(&h);

    /* a 90,000-byte body in parts: 1,017 + 43,983 (45,000), 25,000, 9, 19,991 */
    body_open(&h, rules, 40 * 1024, 0, 90000);
    step_filled(&h, 1000, "LONG-FAST-PATTERN");    /* under 40 KiB: waits */
    step_filled(&h, 45000 - 1017, "");             /* past it: looked at, 2 and 3 do not match yet */
    assert_int_equal(count_sid(a, 2, 0) + count_sid(a, 3, 0), 0);
    step_filled(&h, 25000 - 17, "tail-xyzSPLIT-ACR"); /* the pattern was 44,000 bytes back, the tail is here */
    assert_int_equal(count_sid(a, 2, 0), 1);
    assert_int_equal(count_sid(a, 4, 0), 0);
    step_filled(&h, 0, "OSS-PARTS");
    assert_int_equal(count_sid(a, 4, 0), 1);
    step_filled(&h, 90000 - 70009, "");            /* the end */
    assert_int_equal(apptest_tx(&app_parser_http, h.st, 0)->progress[TC], APP_PROG_DONE);
    assert_int_equal(count_sid(a, 3, 0), 0);
    assert_int_equal(count_sid(a, 2, 0), 1);
    assert_int_equal(count_sid(a, 4, 0), 1);
    txh_close(&h);

    /* the same with a 16 KiB inspect window: a later look starts 16 KiB
     * before the body's end, so the pattern 44,000 bytes back is out of
     * sid 2's reach (as Suricata), while offset and depth still count
     * from the body's start (sid 5; near miss sid 6) */
    body_open(&h, rules2, 40 * 1024, 16 * 1024, 90000);
    step_filled(&h, 1000, "LONG-FAST-PATTERN");
    step_filled(&h, 45000 - 1017, "");
    step_filled(&h, 5000 - 8, "tail-xyz");         /* ends at 50,000 */
    step_filled(&h, 0, "mark-at-50000");
    assert_int_equal(count_sid(a, 2, 0), 0);
    assert_int_equal(count_sid(a, 5, 0), 1);
    assert_int_equal(count_sid(a, 6, 0), 0);
    txh_close(&h);

    /* minimal inspect size 0: the first part is looked at */
    body_open(&h, rules, 0, 0, 20000);
    step_filled(&h, 100, "early-mark");
    assert_int_equal(count_sid(a, 1, 0), 1);
    txh_close(&h);
}

/* Untransformed file.data and http.response_body share one prefilter
 * database: a response-body rule alerts on a response body, once, from
 * the server, and not on a request body holding its pattern (near miss);
 * a file.data rule still sees both bodies. */
static void test_detect_body_alias(void **state)
{
    const char *rules[] = {
        "alert http any any -> any any (http.response_body; content:\"body-marker\"; sid:7;)",
        "alert http any any -> any any (file.data; content:\"body-marker\"; sid:8;)",
        NULL,
    };
    struct txh h;
    const struct txalerts *a = &h.a;

    (void)state;
    txh_open(&h, rules);
    step(&h, TS, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nbody-marker");
    step(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
    assert_int_equal(count_sid(a, 7, 0), 0);
    assert_int_equal(count_sid(a, 8, 0), 1);
    step(&h, TS, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    step(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\nxxbody-markerxx");
    assert_int_equal(count_sid(a, 7, 1), 1);
    assert_int_equal(count_sid(a, 8, 1), 1);
    for (size_t i = 0; i < a->n; i++)
        if (a->sid[i] == 7)
            assert_int_equal(a->dir[i], 1);
    assert_int_equal(a->n, 3);
    txh_close(&h);
}

/* flow:established: a transaction completed before the handshake did is
 * not matched by an established rule (near miss), one after it is. */
static void test_detect_established(void **state)
{
    const char *rules[] = {
        "alert http any any -> any any (flow:established,to_server; http.uri; content:\"index\"; sid:7;)",
        NULL,
    };
    struct txh h;

    (void)state;
    txh_open(&h, rules);
    h.f.tcp_state = FLOW_TCP_SYN_SENT;
    step(&h, TS, REQ0);
    assert_int_equal(h.a.n, 0);
    h.f.tcp_state = FLOW_TCP_ESTABLISHED;
    step(&h, TC, RES0);
    step(&h, TS, "GET /index2.html HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(h.a.n, 1);
    assert_int_equal(h.a.tx[0], 1);
    txh_close(&h);
}

/* An app-layer event rule without a direction runs on the transaction
 * that had the event, once each way, and not on one without it (near miss). */
static void test_detect_event(void **state)
{
    const char *rules[] = {
        "alert http any any -> any any (app-layer-event:http.missing_host_header; sid:8;)",
        NULL,
    };
    struct txh h;

    (void)state;
    txh_open(&h, rules);
    step(&h, TS, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    step(&h, TC, RES0);
    step(&h, TS, "GET /b HTTP/1.1\r\nAccept: */*\r\n\r\n");
    step(&h, TC, RES1);
    step(&h, TC, NULL);
    /* no direction: once each way, as Suricata (smb-eicar-overlap,
     * protocol-change-failed-event expect two alerts) */
    assert_int_equal(h.a.n, 2);
    assert_int_equal(h.a.sid[0], 8);
    assert_int_equal(h.a.tx[0], 1);
    assert_int_equal(h.a.sid[1], 8);
    assert_int_equal(h.a.tx[1], 1);
    assert_int_not_equal(h.a.dir[0], h.a.dir[1]);
    txh_close(&h);
}

/* An event of the response, a rule of the request side (suricata-verify
 * bug-2511: flow:to_server; app-layer-event:http.too_many_encoding_layers):
 * the event makes the request side due again, so the rule alerts, once;
 * a transaction without the event does not (near miss). */
static void test_detect_event_other_side(void **state)
{
    const char *rules[] = {
        "alert http any any -> any any (flow:to_server; app-layer-event:http.too_many_encoding_layers; sid:10;)",
        NULL,
    };
    struct txh h;

    (void)state;
    txh_open(&h, rules);
    /* the stage's default layer limit (the test context has none) */
    apptest_state_free(&app_parser_http, h.ctx, h.st);
    app_parser_http.ctx_free(h.ctx);
    h.ctx->limits.decompress_layers = 2;
    h.st = apptest_state(&app_parser_http, h.ctx);
    step(&h, TS, REQ0);
    step(&h, TC, RES0);
    step(&h, TS, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    step(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                 "Content-Encoding: identity, identity, gzip, identity, gzip, gzip\r\n\r\nhello");
    step(&h, TS, NULL);
    step(&h, TC, NULL);
    assert_int_equal(h.a.n, 1);
    assert_int_equal(h.a.sid[0], 10);
    assert_int_equal(h.a.tx[0], 1);
    assert_int_equal(h.a.dir[0], 0);
    txh_close(&h);
}

/* ---------------------------------------------------------------- file digests */

/* Writes text to dir/name; the path goes to out. */
static void write_list(char *out, size_t n, const char *dir, const char *name, const char *text)
{
    FILE *f;

    snprintf(out, n, "%s/%s", dir, name);
    f = fopen(out, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* filemd5, filesha1, filesha256 (Suricata's documentation: filemd5:md5-blacklist;
 * filemd5:!md5-whitelist;): a response file "hello" alerts once it is complete,
 * in the response's direction, on a list holding its digest (among comments
 * and other digests); a list whose digest differs in one hex digit does
 * not (near miss), but does when negated; a request without a body has no
 * file, so not even a negated rule alerts on it; without MD5 asked of the
 * parser (app_limits.file_hashes) a filemd5 rule cannot match. */
static void test_detect_filehash(void **state)
{
    char dir[] = "/tmp/lw-filehash-XXXXXX", good5[300], near5[300], good1[300], good256[300], near256[300];
    char r[8][600];
    const char *rules[9];
    struct txh h;

    (void)state;
    assert_non_null(mkdtemp(dir));
    write_list(good5, sizeof good5, dir, "good.md5",
               "# known bad\n0123456789abcdef0123456789ABCDEF,other\n\n5D41402ABC4B2A76B9719D911017C592,hello\n");
    write_list(near5, sizeof near5, dir, "near.md5", "5d41402abc4b2a76b9719d911017c593\n");
    write_list(good1, sizeof good1, dir, "good.sha1", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\n");
    write_list(good256, sizeof good256, dir, "good.sha256",
               "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 hello\n");
    write_list(near256, sizeof near256, dir, "near.sha256",
               "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9825\n");
    snprintf(r[0], sizeof r[0], "alert http any any -> any any (filemd5:%s; sid:11;)", good5);
    snprintf(r[1], sizeof r[1], "alert http any any -> any any (filemd5:%s; sid:12;)", near5);
    snprintf(r[2], sizeof r[2], "alert http any any -> any any (filemd5:!%s; sid:13;)", near5);
    snprintf(r[3], sizeof r[3], "alert ip any any -> any any (filesha1:%s; sid:14;)", good1);
    snprintf(r[4], sizeof r[4], "alert http any any -> any any (filesha256:%s; sid:15;)", good256);
    snprintf(r[5], sizeof r[5], "alert http any any -> any any (filesha256:%s; sid:16;)", near256);
    snprintf(r[6], sizeof r[6], "alert http any any -> any any (filemd5:!%s; sid:17;)", good5);
    snprintf(r[7], sizeof r[7], "alert http any any -> any any (flow:to_server; filemd5:%s; sid:18;)", good5);
    for (int i = 0; i < 8; i++)
        rules[i] = r[i];
    rules[8] = NULL;
    txh_open(&h, rules);
    h.ctx->limits.file_hashes = APP_FILE_MD5 | APP_FILE_SHA1;
    step(&h, TS, REQ0);
    step(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel");
    assert_int_equal(h.a.n, 0);                    /* not complete yet */
    step(&h, TC, "lo");
    step(&h, TC, NULL);
    assert_int_equal(count_sid(&h.a, 11, 0), 1);
    assert_int_equal(count_sid(&h.a, 12, 0), 0);
    assert_int_equal(count_sid(&h.a, 13, 0), 1);
    assert_int_equal(count_sid(&h.a, 14, 0), 1);
    assert_int_equal(count_sid(&h.a, 15, 0), 1);
    assert_int_equal(count_sid(&h.a, 16, 0), 0);
    assert_int_equal(count_sid(&h.a, 17, 0), 0);
    assert_int_equal(count_sid(&h.a, 18, 0), 0);   /* the file went to the client */
    assert_int_equal(h.a.n, 4);
    for (size_t i = 0; i < h.a.n; i++)
        assert_int_equal(h.a.dir[i], 1);
    txh_close(&h);

    /* MD5 not asked of the parser: no MD5 to match, SHA-256 as ever */
    txh_open(&h, rules);
    step(&h, TS, REQ0);
    step(&h, TC, RES0);
    assert_int_equal(count_sid(&h.a, 11, 0), 0);
    assert_int_equal(count_sid(&h.a, 13, 0), 0);
    assert_int_equal(count_sid(&h.a, 15, 0), 1);
    txh_close(&h);
    unlink(good5);
    unlink(near5);
    unlink(good1);
    unlink(good256);
    unlink(near256);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_buffers_per_tx),
        cmocka_unit_test(test_http_header_instances),
        cmocka_unit_test(test_wrong_proto),
        cmocka_unit_test(test_dns_queries),
        cmocka_unit_test(test_ssh_sides),
        cmocka_unit_test(test_detect_keepalive),
        cmocka_unit_test(test_detect_body_growth),
        cmocka_unit_test(test_detect_body_alias),
        cmocka_unit_test(test_detect_established),
        cmocka_unit_test(test_detect_event),
        cmocka_unit_test(test_detect_event_other_side),
        cmocka_unit_test(test_detect_filehash),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
