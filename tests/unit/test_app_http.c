/* test_app_http.c - unit tests for the HTTP/1.x parser (sensor/app/http*.c):
 * transactions, buffers, bodies and files, events, limits and EVE. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "app-layer.h"
#include "http.h"
#include "pii.h"
#include "json.h"

#define TS APP_TO_SERVER
#define TC APP_TO_CLIENT

static const struct app_parser *P = &app_parser_http;

/* gzip of "<html><body>" + "linkwatch gzip test " x 20 + "</body></html>\n" (427 bytes) */
static const uint8_t gz_page[66] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xb3, 0xc9, 0x28, 0xc9, 0xcd, 0xb1,
    0xb3, 0x49, 0xca, 0x4f, 0xa9, 0xb4, 0xcb, 0xc9, 0xcc, 0xcb, 0x2e, 0x4f, 0x2c, 0x49, 0xce, 0x50,
    0x48, 0xaf, 0xca, 0x2c, 0x50, 0x28, 0x49, 0x2d, 0x2e, 0x51, 0x18, 0x15, 0x1b, 0x38, 0x31, 0x1b,
    0x7d, 0x70, 0xb4, 0xd8, 0xe8, 0x83, 0xe3, 0x88, 0x0b, 0x00, 0xd7, 0xc7, 0x30, 0x48, 0xab, 0x01,
    0x00, 0x00,
};
#define GZ_PAGE_SHA256 "72f450b8abeacbfe2ad1d9d8a6aca90efc17ff04ea5f0ba651bc5fa41f036158"

/* gzip of the gzip of 16 MiB of zeros: sent as Content-Encoding: gzip, gzip */
static const uint8_t gz_bomb[153] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xed, 0xda, 0xad, 0x0d, 0xc2, 0x60,
    0x14, 0x86, 0xd1, 0xfe, 0x20, 0x1a, 0x04, 0xe0, 0x11, 0x74, 0x0c, 0x0c, 0x82, 0x90, 0x20, 0x50,
    0x98, 0x6a, 0xc2, 0x10, 0x38, 0x44, 0x13, 0x24, 0x86, 0x15, 0x48, 0xa8, 0x66, 0x05, 0x98, 0x82,
    0xb0, 0x03, 0x41, 0xa0, 0x09, 0xa5, 0x1f, 0x43, 0x20, 0x9a, 0x73, 0xd4, 0xab, 0xaf, 0x7c, 0x72,
    0x47, 0xfb, 0x2c, 0x0a, 0x92, 0xf4, 0x71, 0x8d, 0xe3, 0x66, 0x94, 0x87, 0xcf, 0xf9, 0x99, 0x75,
    0x23, 0x00, 0x00, 0x00, 0xa0, 0xe5, 0xca, 0xfb, 0x2e, 0x0d, 0x31, 0x20, 0xca, 0xeb, 0xdb, 0x7c,
    0x59, 0x00, 0x00, 0x00, 0x00, 0x6d, 0xb7, 0xee, 0xf7, 0x3a, 0xbf, 0x28, 0xf0, 0x5e, 0x0d, 0xa7,
    0xce, 0x01, 0x00, 0x00, 0x00, 0xad, 0x57, 0x4d, 0xc6, 0x79, 0x68, 0x01, 0x83, 0x57, 0xbd, 0x99,
    0x25, 0x1e, 0x25, 0x00, 0x00, 0x00, 0xe0, 0x0f, 0x2e, 0xc5, 0xe2, 0xb8, 0x3d, 0x35, 0x23, 0xfe,
    0x02, 0x0e, 0x73, 0xc8, 0xb6, 0xc8, 0x3f, 0x00, 0x00,
};

/* ---------------------------------------------------------------- harness */

struct h {
    struct app_ctx ctx;
    void *st;
    uint64_t ts;
};

static void limits_default(struct app_limits *l)
{
    memset(l, 0, sizeof *l);
    http_limits_default(l);
    l->decompress_time_usec = 10 * 1000 * 1000;    /* no time-outs under sanitizers */
}

static void h_open(struct h *h, const struct app_limits *l, size_t memcap)
{
    memset(h, 0, sizeof *h);
    if (l)
        h->ctx.limits = *l;
    else
        limits_default(&h->ctx.limits);
    h->ctx.mem.cap = memcap ? memcap : 64u << 20;
    h->ts = 1700000000000000ull;
    h->st = P->state_new(&h->ctx);
    assert_non_null(h->st);
}

/* Frees everything; every byte counted in app_mem must come back. */
static void h_close(struct h *h)
{
    P->state_free(&h->ctx, h->st);
    P->ctx_free(&h->ctx);
    assert_null(h->ctx.parser_ctx[APP_PROTO_HTTP]);
    assert_int_equal(h->ctx.mem.used, 0);
}

static int feedn(struct h *h, enum app_dir d, const void *p, size_t n, unsigned flags)
{
    h->ts += 1000;
    return P->parse(&h->ctx, h->st, d, p, n, flags, h->ts);
}

static int feed(struct h *h, enum app_dir d, const char *s)
{
    return feedn(h, d, s, strlen(s), 0);
}

static int eof(struct h *h, enum app_dir d)
{
    return feedn(h, d, NULL, 0, APP_IN_EOF);
}

static uint32_t ntx(struct h *h)
{
    return P->txs(h->st)->n;
}

static struct http_tx *tx_at(struct h *h, unsigned i)
{
    struct app_tx *t = P->txs(h->st)->head;

    while (t && i--)
        t = t->next;
    assert_non_null(t);
    return (struct http_tx *)t;
}

static uint64_t ev(struct h *h, enum http_event e)
{
    return h->ctx.stats.events[APP_PROTO_HTTP][e];
}

static uint64_t ev_total(struct h *h)
{
    uint64_t n = 0;

    for (int e = 0; e < HTTP_EV_MAX; e++)
        n += ev(h, e);
    return n;
}

/* Buffer b of tx equals the n bytes of want exactly. */
static void buf_eq(const struct http_tx *tx, enum http_buf b, const char *want, size_t n)
{
    const uint8_t *p = NULL;
    uint32_t len = 0;

    if (!http_tx_buffer(tx, b, &p, &len))
        fail_msg("%s: absent, want \"%.*s\"", http_buf_name(b), (int)n, want);
    if (len != n || memcmp(p, want, n) != 0)
        fail_msg("%s: \"%.*s\" (%u), want \"%.*s\" (%zu)", http_buf_name(b), (int)len, (const char *)p, len,
                 (int)n, want, n);
}
#define BUF(tx, b, s) buf_eq(tx, b, s, sizeof(s) - 1)

static void buf_absent(const struct http_tx *tx, enum http_buf b)
{
    const uint8_t *p;
    uint32_t len;

    if (http_tx_buffer(tx, b, &p, &len))
        fail_msg("%s: \"%.*s\", want absent", http_buf_name(b), (int)len, (const char *)p);
}

static const char *eve_of(struct jbuf *jb, const struct http_tx *tx)
{
    jbuf_reset(jb);
    jbuf_open_object(jb, NULL);
    P->tx_eve(NULL, &tx->tx, jb);
    jbuf_close_object(jb);
    assert_true(jbuf_ok(jb));
    jb->buf[jb->len] = '\0';
    return jb->buf;
}

static const char *file_eve_of(struct jbuf *jb, const struct http_tx *tx, enum app_dir d)
{
    jbuf_reset(jb);
    jbuf_open_object(jb, NULL);
    http_file_eve(tx, d, jb);
    jbuf_close_object(jb);
    assert_true(jbuf_ok(jb));
    jb->buf[jb->len] = '\0';
    return jb->buf;
}

static void sha_hex(const struct app_file *f, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", f->sha256[i]);
}

static void progress(const struct http_tx *tx, int ts, int tc)
{
    assert_int_equal(tx->tx.progress[TS], ts);
    assert_int_equal(tx->tx.progress[TC], tc);
}

/* ------------------------------------------------------------------ tests */

static void test_probe(void **state)
{
    (void)state;
    assert_int_equal(P->probe((const uint8_t *)"GET / HTTP/1.1\r\n", 16, TS), 1);
    assert_int_equal(P->probe((const uint8_t *)"post\t/x", 7, TS), 1);
    assert_int_equal(P->probe((const uint8_t *)"BASELINE-CONTROL /", 18, TS), 1);
    assert_int_equal(P->probe((const uint8_t *)"GE", 2, TS), -1);
    assert_int_equal(P->probe((const uint8_t *)"GET", 3, TS), -1);      /* GET needs its space */
    assert_int_equal(P->probe((const uint8_t *)"", 0, TS), -1);
    assert_int_equal(P->probe((const uint8_t *)"GETX /", 6, TS), 0);
    assert_int_equal(P->probe((const uint8_t *)"\x16\x03\x01\x00", 4, TS), 0);
    assert_int_equal(P->probe((const uint8_t *)"SSH-2.0-x", 9, TS), 0);
    assert_int_equal(P->probe((const uint8_t *)"HTTP/1.1 200 OK", 15, TC), 1);
    assert_int_equal(P->probe((const uint8_t *)"http/1.0 404", 12, TC), 1);
    assert_int_equal(P->probe((const uint8_t *)"HTT", 3, TC), -1);
    assert_int_equal(P->probe((const uint8_t *)"HTTX", 4, TC), 0);
    assert_int_equal(P->probe((const uint8_t *)"GET / HTTP/1.1", 14, TC), 0);
    assert_int_equal(P->probe((const uint8_t *)"HTTP/1.1 200", 12, TS), 0);
}

static const char ka_req1[] = "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n"
                              "User-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n";
static const char ka_res1[] = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\n"
                              "Content-Length: 5\r\n\r\nhello";
static const char ka_req2[] = "GET /item.php?id=1%20UNION%20SELECT%201,2 HTTP/1.1\r\nHost: www.example.com\r\n"
                              "User-Agent: sqlmap/1.7\r\n\r\n";
static const char ka_res2[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
static const char ka_req3[] = "POST /login.php HTTP/1.1\r\nHost: www.example.com\r\n"
                              "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 22\r\n"
                              "Cookie: sid=42\r\n\r\nuser=admin&pass=secret";
static const char ka_res3[] = "HTTP/1.1 302 Found\r\nLocation: /home\r\nSet-Cookie: sid=43\r\n"
                              "Content-Length: 0\r\n\r\n";

/* One connection, three transactions (the keep-alive case). */
static void test_keepalive_three(void **state)
{
    struct h h;
    struct http_tx *t0, *t1, *t2;
    const struct app_file *f;
    char hex[65];

    (void)state;
    h_open(&h, NULL, 0);
    assert_int_equal(feed(&h, TS, ka_req1), 0);
    assert_int_equal(ntx(&h), 1);
    progress(tx_at(&h, 0), APP_PROG_DONE, APP_PROG_NONE);
    assert_int_equal(feed(&h, TC, ka_res1), 0);
    assert_int_equal(feed(&h, TS, ka_req2), 0);
    assert_int_equal(feed(&h, TC, ka_res2), 0);
    assert_int_equal(feed(&h, TS, ka_req3), 0);
    assert_int_equal(feed(&h, TC, ka_res3), 0);
    assert_int_equal(ntx(&h), 3);
    t0 = tx_at(&h, 0);
    t1 = tx_at(&h, 1);
    t2 = tx_at(&h, 2);
    assert_int_equal(t0->tx.id, 0);
    assert_int_equal(t2->tx.id, 2);
    for (unsigned i = 0; i < 3; i++) {
        progress(tx_at(&h, i), APP_PROG_DONE, APP_PROG_DONE);
        assert_null(tx_at(&h, i)->htx);             /* libhtp let go of complete ones */
    }
    BUF(t0, HTTP_BUF_METHOD, "GET");
    BUF(t0, HTTP_BUF_URI, "/index.html");
    BUF(t0, HTTP_BUF_HOST, "www.example.com");
    BUF(t0, HTTP_BUF_STAT_CODE, "200");
    BUF(t0, HTTP_BUF_RESPONSE_BODY, "hello");
    BUF(t0, HTTP_BUF_FILE_DATA, "hello");
    BUF(t1, HTTP_BUF_URI, "/item.php?id=1 UNION SELECT 1,2");
    BUF(t1, HTTP_BUF_URI_RAW, "/item.php?id=1%20UNION%20SELECT%201,2");
    BUF(t1, HTTP_BUF_USER_AGENT, "sqlmap/1.7");
    BUF(t1, HTTP_BUF_STAT_CODE, "500");
    BUF(t1, HTTP_BUF_STAT_MSG, "Internal Server Error");
    buf_absent(t1, HTTP_BUF_RESPONSE_BODY);
    assert_null(http_tx_file(t1, TC));
    BUF(t2, HTTP_BUF_METHOD, "POST");
    BUF(t2, HTTP_BUF_REQUEST_BODY, "user=admin&pass=secret");
    BUF(t2, HTTP_BUF_COOKIE, "sid=42");
    BUF(t2, HTTP_BUF_SET_COOKIE, "sid=43");
    BUF(t2, HTTP_BUF_LOCATION, "/home");
    /* near misses: the sqlmap UA and UNION are only on the 2nd, POST only on the 3rd */
    BUF(t0, HTTP_BUF_USER_AGENT, "Mozilla/5.0");
    buf_absent(t2, HTTP_BUF_USER_AGENT);
    buf_absent(t0, HTTP_BUF_REQUEST_BODY);
    buf_absent(t1, HTTP_BUF_COOKIE);
    /* the POST body is a file named after the path; a GET has none */
    assert_null(http_tx_file(t0, TS));
    f = http_tx_file(t2, TS);
    assert_non_null(f);
    assert_int_equal(f->state, APP_FILE_CLOSED);
    assert_int_equal(f->size, 22);
    assert_memory_equal(f->name, "/login.php", 10);
    assert_int_equal(f->name_len, 10);
    assert_true((f->hashed & APP_HASH_BIT(APP_HASH_SHA256)));
    sha_hex(f, hex);
    assert_string_equal(hex, "c2d573b08af06663c30b1eb962ac6d97504ee749aba2d7a97634ebb109bede7e");
    assert_int_equal(h.ctx.stats.tx[APP_PROTO_HTTP], 3);
    assert_int_equal(ev_total(&h), 0);
    h_close(&h);
}

/* The digests rules ask for (app_limits.file_hashes: filemd5, filesha1)
 * are computed besides the SHA-256 and shown in fileinfo in Suricata's
 * order; without the ask (near miss) only the SHA-256 is; a file with a
 * gap has none. */
static void test_file_digests(void **state)
{
    struct app_limits l;
    struct h h;
    struct jbuf jb;
    struct http_tx *t;
    const uint8_t *d;
    uint32_t n;

    (void)state;
    jbuf_init(&jb);
    for (int ask = 1; ask >= 0; ask--) {
        limits_default(&l);
        l.file_hashes = ask ? APP_FILE_MD5 | APP_FILE_SHA1 : 0;
        h_open(&h, &l, 0);
        feed(&h, TS, "GET /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n");
        feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        t = tx_at(&h, 0);
        assert_int_equal(app_file_hash(http_tx_file(t, TC), APP_HASH_MD5, &d, &n), ask);
        assert_string_equal(file_eve_of(&jb, t, TC), ask
            ? "{\"filename\":\"/hello.txt\",\"gaps\":false,\"state\":\"CLOSED\","
              "\"md5\":\"5d41402abc4b2a76b9719d911017c592\",\"sha1\":\"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\","
              "\"sha256\":\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\","
              "\"stored\":false,\"size\":5,\"tx_id\":0}"
            : "{\"filename\":\"/hello.txt\",\"gaps\":false,\"state\":\"CLOSED\","
              "\"sha256\":\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\","
              "\"stored\":false,\"size\":5,\"tx_id\":0}");
        /* a gap: no digest at all */
        feed(&h, TS, "GET /gap.bin HTTP/1.1\r\nHost: h\r\n\r\n");
        feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel");
        assert_int_equal(feedn(&h, TC, NULL, 4, APP_IN_GAP), 0);
        feed(&h, TC, "abc");
        t = tx_at(&h, 1);
        assert_int_equal(http_tx_file(t, TC)->state, APP_FILE_CLOSED);
        assert_int_equal(http_tx_file(t, TC)->hashed, 0);
        assert_int_equal(app_file_hash(http_tx_file(t, TC), APP_HASH_SHA256, &d, &n), 0);
        h_close(&h);
    }
    jbuf_free(&jb);
}

/* The stored buffers, byte for byte, as Suricata builds them. */
static void test_buffers_exact(void **state)
{
    struct h h;
    struct http_tx *t;

    (void)state;
    h_open(&h, NULL, 0);
    feed(&h, TS, "GET http://WWW.Example.COM:8080/a/b?q=%41+b#frag HTTP/1.1\r\n"
                 "Host: WWW.Example.COM:8080\r\nCookie: a=1\r\nUser-Agent: ua\r\n"
                 "Referer: http://r/\r\nAccept: text/*\r\nAccept-Language: de\r\n"
                 "Accept-Encoding: gzip\r\nConnection: keep-alive\r\nX-Empty: \r\n\r\n");
    feed(&h, TC, "HTTP/1.0 404 Not Found\r\nServer: srv\r\nSet-Cookie: s=2\r\n"
                 "Connection: close\r\nContent-Length: 0\r\n\r\n");
    t = tx_at(&h, 0);
    BUF(t, HTTP_BUF_REQUEST_LINE, "GET http://WWW.Example.COM:8080/a/b?q=%41+b#frag HTTP/1.1");
    BUF(t, HTTP_BUF_URI, "/a/b?q=A+b#frag");
    BUF(t, HTTP_BUF_URI_RAW, "http://WWW.Example.COM:8080/a/b?q=%41+b#frag");
    BUF(t, HTTP_BUF_PROTOCOL, "HTTP/1.1");
    BUF(t, HTTP_BUF_HOST, "www.example.com");
    BUF(t, HTTP_BUF_HOST_RAW, "www.example.com");
    BUF(t, HTTP_BUF_HEADER,
        "Host: WWW.Example.COM:8080\r\nUser-Agent: ua\r\nReferer: http://r/\r\nAccept: text/*\r\n"
        "Accept-Language: de\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\nX-Empty: \r\n");
    BUF(t, HTTP_BUF_HEADER_RAW,
        "Host: WWW.Example.COM:8080\r\nCookie: a=1\r\nUser-Agent: ua\r\nReferer: http://r/\r\n"
        "Accept: text/*\r\nAccept-Language: de\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n"
        "X-Empty: \r\n\r\n");
    BUF(t, HTTP_BUF_HEADER_NAMES,
        "\r\nHost\r\nCookie\r\nUser-Agent\r\nReferer\r\nAccept\r\nAccept-Language\r\nAccept-Encoding\r\n"
        "Connection\r\nX-Empty\r\n\r\n");
    BUF(t, HTTP_BUF_START,
        "GET http://WWW.Example.COM:8080/a/b?q=%41+b#frag HTTP/1.1\r\n"
        "Host: WWW.Example.COM:8080\r\nCookie: a=1\r\nUser-Agent: ua\r\nReferer: http://r/\r\n"
        "Accept: text/*\r\nAccept-Language: de\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n"
        "X-Empty: \r\n\r\n");
    BUF(t, HTTP_BUF_COOKIE, "a=1");
    BUF(t, HTTP_BUF_REFERER, "http://r/");
    BUF(t, HTTP_BUF_ACCEPT, "text/*");
    BUF(t, HTTP_BUF_ACCEPT_LANG, "de");
    BUF(t, HTTP_BUF_ACCEPT_ENC, "gzip");
    BUF(t, HTTP_BUF_CONNECTION, "keep-alive");
    buf_absent(t, HTTP_BUF_CONTENT_TYPE);
    buf_absent(t, HTTP_BUF_CONTENT_LEN);
    BUF(t, HTTP_BUF_RESPONSE_LINE, "HTTP/1.0 404 Not Found");
    BUF(t, HTTP_BUF_RESPONSE_PROTOCOL, "HTTP/1.0");
    BUF(t, HTTP_BUF_STAT_CODE, "404");
    BUF(t, HTTP_BUF_STAT_MSG, "Not Found");
    BUF(t, HTTP_BUF_SERVER, "srv");
    BUF(t, HTTP_BUF_RESPONSE_HEADER, "Server: srv\r\nConnection: close\r\nContent-Length: 0\r\n");
    BUF(t, HTTP_BUF_RESPONSE_HEADER_NAMES, "\r\nServer\r\nSet-Cookie\r\nConnection\r\nContent-Length\r\n\r\n");
    BUF(t, HTTP_BUF_RESPONSE_START, "HTTP/1.0 404 Not Found\r\nServer: srv\r\nSet-Cookie: s=2\r\n"
                                    "Connection: close\r\nContent-Length: 0\r\n\r\n");
    BUF(t, HTTP_BUF_SET_COOKIE, "s=2");
    BUF(t, HTTP_BUF_RESPONSE_CONNECTION, "close");
    BUF(t, HTTP_BUF_RESPONSE_CONTENT_LEN, "0");
    buf_absent(t, HTTP_BUF_LOCATION);
    assert_int_equal(t->port, 8080);
    assert_int_equal(t->status, 404);
    h_close(&h);
}

/* Pipelining: three requests in one segment, then their responses in one. */
static void test_pipelined(void **state)
{
    struct h h;
    char req[512], res[512];

    (void)state;
    snprintf(req, sizeof req, "%s%s%s", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n", "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
             "HEAD /3 HTTP/1.1\r\nHost: a\r\n\r\n");
    snprintf(res, sizeof res, "%s%s%s", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA",
             "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nBB",
             "HTTP/1.1 202 Accepted\r\nContent-Length: 99\r\n\r\n");
    h_open(&h, NULL, 0);
    assert_int_equal(feed(&h, TS, req), 0);
    assert_int_equal(ntx(&h), 3);
    for (unsigned i = 0; i < 3; i++)
        progress(tx_at(&h, i), APP_PROG_DONE, APP_PROG_NONE);
    assert_int_equal(feed(&h, TC, res), 0);
    assert_int_equal(ntx(&h), 3);
    BUF(tx_at(&h, 0), HTTP_BUF_URI, "/1");
    BUF(tx_at(&h, 0), HTTP_BUF_STAT_CODE, "200");
    BUF(tx_at(&h, 0), HTTP_BUF_RESPONSE_BODY, "A");
    BUF(tx_at(&h, 1), HTTP_BUF_URI, "/2");
    BUF(tx_at(&h, 1), HTTP_BUF_STAT_CODE, "201");
    BUF(tx_at(&h, 1), HTTP_BUF_RESPONSE_BODY, "BB");
    BUF(tx_at(&h, 2), HTTP_BUF_METHOD, "HEAD");
    BUF(tx_at(&h, 2), HTTP_BUF_STAT_CODE, "202");   /* HEAD: no body despite Content-Length */
    buf_absent(tx_at(&h, 2), HTTP_BUF_RESPONSE_BODY);
    for (unsigned i = 0; i < 3; i++)
        progress(tx_at(&h, i), APP_PROG_DONE, APP_PROG_DONE);
    assert_int_equal(ev_total(&h), 0);
    h_close(&h);
}

/* The stage hands the response over before the request: it waits. */
static void test_response_first(void **state)
{
    struct h h;

    (void)state;
    h_open(&h, NULL, 0);
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assert_int_equal(ntx(&h), 0);
    feed(&h, TS, "GET /late HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(ntx(&h), 1);
    BUF(tx_at(&h, 0), HTTP_BUF_URI, "/late");
    BUF(tx_at(&h, 0), HTTP_BUF_RESPONSE_BODY, "ok");
    progress(tx_at(&h, 0), APP_PROG_DONE, APP_PROG_DONE);
    assert_int_equal(ev(&h, HTTP_EV_UNABLE_TO_MATCH_RESPONSE_TO_REQUEST), 0);
    h_close(&h);
    /* near miss: no request ever comes; at the server's end the response is
     * parsed on its own, as libhtp does */
    h_open(&h, NULL, 0);
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assert_int_equal(ntx(&h), 0);
    eof(&h, TC);
    assert_int_equal(ntx(&h), 1);
    assert_true(tx_at(&h, 0)->flags & HTTP_TX_NO_REQUEST);
    BUF(tx_at(&h, 0), HTTP_BUF_STAT_CODE, "200");
    assert_int_equal(ev(&h, HTTP_EV_UNABLE_TO_MATCH_RESPONSE_TO_REQUEST), 1);
    h_close(&h);
}

/* A request with a chunked body fed one byte at a time gives what the
 * whole request gives. */
static void test_byte_at_a_time(void **state)
{
    static const char req[] = "POST /up?x=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                              "User-Agent: slow\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n";
    struct h h;
    struct http_tx *t;

    (void)state;
    h_open(&h, NULL, 0);
    for (size_t i = 0; i < sizeof req - 1; i++) {
        assert_int_equal(feedn(&h, TS, req + i, 1, 0), 0);
        if (i == 20)
            assert_int_equal(ntx(&h), 1);
    }
    t = tx_at(&h, 0);
    BUF(t, HTTP_BUF_URI, "/up?x=1");
    BUF(t, HTTP_BUF_USER_AGENT, "slow");
    BUF(t, HTTP_BUF_HEADER_RAW, "Host: h\r\nTransfer-Encoding: chunked\r\nUser-Agent: slow\r\n\r\n");
    BUF(t, HTTP_BUF_REQUEST_BODY, "abcdefg");
    progress(t, APP_PROG_DONE, APP_PROG_NONE);
    assert_int_equal(ev_total(&h), 0);
    h_close(&h);
}

/* A chunked body split inside sizes, data and CRLFs; the body grows. */
static void test_split_chunked(void **state)
{
    struct h h;
    struct http_tx *t;

    (void)state;
    h_open(&h, NULL, 0);
    feed(&h, TS, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    t = tx_at(&h, 0);
    progress(t, APP_PROG_DONE, APP_PROG_BODY);
    BUF(t, HTTP_BUF_RESPONSE_BODY, "hel");              /* detection sees it grow */
    assert_int_equal(http_tx_file(t, TC)->state, APP_FILE_OPEN);
    feed(&h, TC, "lo\r");
    feed(&h, TC, "\n1");
    feed(&h, TC, "0\r\n world and");
    BUF(t, HTTP_BUF_RESPONSE_BODY, "hello world and");
    feed(&h, TC, " more!\r\n0\r");
    progress(t, APP_PROG_DONE, APP_PROG_BODY);
    feed(&h, TC, "\n\r\n");
    progress(t, APP_PROG_DONE, APP_PROG_DONE);
    BUF(t, HTTP_BUF_RESPONSE_BODY, "hello world and more!");
    assert_int_equal(http_tx_file(t, TC)->state, APP_FILE_CLOSED);
    assert_int_equal(http_tx_file(t, TC)->size, 21);
    assert_int_equal(ev_total(&h), 0);
    h_close(&h);
}

/* gzip inside chunked: the body and file are the decompressed bytes. */
static void test_gzip_chunked(void **state)
{
    struct h h;
    struct http_tx *t;
    const struct app_file *f;
    const uint8_t *p;
    uint32_t len;
    char hdr[160], hex[65];

    (void)state;
    h_open(&h, NULL, 0);
    feed(&h, TS, "GET /page.html HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Encoding: gzip\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n");
    /* two chunks, the second split across segments */
    snprintf(hdr, sizeof hdr, "%x\r\n", 30);
    feed(&h, TC, hdr);
    feedn(&h, TC, gz_page, 30, 0);
    snprintf(hdr, sizeof hdr, "\r\n%zx\r\n", sizeof gz_page - 30);
    feed(&h, TC, hdr);
    feedn(&h, TC, gz_page + 30, 10, 0);
    feedn(&h, TC, gz_page + 40, sizeof gz_page - 40, 0);
    feed(&h, TC, "\r\n0\r\n\r\n");
    t = tx_at(&h, 0);
    progress(t, APP_PROG_DONE, APP_PROG_DONE);
    assert_true(http_tx_buffer(t, HTTP_BUF_RESPONSE_BODY, &p, &len));
    assert_int_equal(len, 427);
    assert_memory_equal(p, "<html><body>linkwatch gzip test linkwatch", 41);
    assert_memory_equal(p + 427 - 15, "</body></html>\n", 15);
    f = http_tx_file(t, TC);
    assert_int_equal(f->state, APP_FILE_CLOSED);
    assert_int_equal(f->size, 427);
    sha_hex(f, hex);
    assert_string_equal(hex, GZ_PAGE_SHA256);
    assert_int_equal(ev_total(&h), 0);
    h_close(&h);
}

/* Past the body limit the body stops and the file is TRUNCATED. */
static void test_body_limit(void **state)
{
    struct app_limits l;
    struct h h;
    struct http_tx *t;

    (void)state;
    limits_default(&l);
    l.request_body_limit = 10;
    l.response_body_limit = 4;
    h_open(&h, &l, 0);
    feed(&h, TS, "POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 25\r\n\r\n01234");
    t = tx_at(&h, 0);
    /* announced past the limit: it will end TRUNCATED, so no sha256 is computed */
    assert_int_equal(http_tx_file(t, TS)->state, APP_FILE_OPEN);
    assert_false(http_tx_file(t, TS)->hashing);
    feed(&h, TS, "56789abcdefghijklmno");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nWX");        /* exactly the limit */
    assert_true(http_tx_file(t, TC)->hashing);
    feed(&h, TC, "YZ");
    BUF(t, HTTP_BUF_REQUEST_BODY, "0123456789");
    assert_int_equal(t->body[TS].seen, 25);
    assert_true(t->body[TS].truncated);
    assert_int_equal(http_tx_file(t, TS)->state, APP_FILE_TRUNCATED);
    assert_int_equal(http_tx_file(t, TS)->size, 10);
    assert_false((http_tx_file(t, TS)->hashed & APP_HASH_BIT(APP_HASH_SHA256)));
    /* near miss: a body of exactly the limit is whole */
    BUF(t, HTTP_BUF_RESPONSE_BODY, "WXYZ");
    assert_false(t->body[TC].truncated);
    assert_int_equal(http_tx_file(t, TC)->state, APP_FILE_CLOSED);
    assert_true((http_tx_file(t, TC)->hashed & APP_HASH_BIT(APP_HASH_SHA256)));
    progress(t, APP_PROG_DONE, APP_PROG_DONE);
    h_close(&h);
}

/* Personal data in bodies (limits.pii_types): counted over the whole
 * decoded body, across segments and chunks, past the body limit, and per
 * direction; nothing without pii_types. */
static void test_pii_bodies(void **state)
{
    struct app_limits l;
    struct pii_counts c;
    struct h h;
    struct http_tx *t;

    (void)state;
    limits_default(&l);
    l.pii_types = PII_T_ALL;
    l.request_body_limit = 20;
    h_open(&h, &l, 0);
    feed(&h, TS, "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    feed(&h, TS, "14\r\nid,mobile\n1101051949\r\n");   /* an identity number split by a chunk edge */
    t = tx_at(&h, 0);
    assert_int_equal(P->tx_pii(&t->tx, TS, &c), 1);    /* counting, the number not whole yet */
    assert_int_equal(c.n[PII_CN_ID], 0);
    feed(&h, TS, "19\r\n1231002X,13800138000\nx@ex\r\n");
    feed(&h, TS, "a\r\nample.com\n\r\n0\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 21\r\n\r\ncard 6222021234567894");
    progress(t, APP_PROG_DONE, APP_PROG_DONE);
    assert_true(t->body[TS].truncated);                 /* kept 20 bytes, counted all */
    assert_int_equal(P->tx_pii(&t->tx, TS, &c), 1);
    assert_int_equal(c.n[PII_CN_ID], 1);
    assert_int_equal(c.n[PII_CN_MOBILE], 1);
    assert_int_equal(c.n[PII_EMAIL], 1);
    assert_int_equal(c.n[PII_BANK_CARD], 0);
    assert_int_equal(P->tx_pii(&t->tx, TC, &c), 1);
    assert_int_equal(c.n[PII_BANK_CARD], 1);
    assert_int_equal(c.n[PII_CN_ID] + c.n[PII_CN_MOBILE] + c.n[PII_EMAIL], 0);
    h_close(&h);

    /* a gap inside the body (APP_IN_GAP): what was whole before it counts,
     * the digits right after it do not (they may be a longer number's tail) */
    limits_default(&l);
    l.pii_types = PII_T_ALL;
    h_open(&h, &l, 0);
    feed(&h, TS, "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 60\r\n\r\n11010519491231002X,");
    feedn(&h, TS, NULL, 10, APP_IN_GAP);
    feed(&h, TS, "91231002X,310115196001010017,a");
    t = tx_at(&h, 0);
    assert_int_equal(P->tx_pii(&t->tx, TS, &c), 1);
    assert_int_equal(c.n[PII_CN_ID], 2);
    h_close(&h);

    /* a binary body (an image: control bytes in its first bytes) is not
     * counted, whatever digits it holds; near miss: UTF-8 text is */
    limits_default(&l);
    l.pii_types = PII_T_ALL;
    h_open(&h, &l, 0);
    feed(&h, TS, "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 39\r\n\r\n");
    feedn(&h, TS, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\x01\x02\x03\x04 11010519491231002X", 39, 0);
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 25\r\n\r\n\xe5\xa7\x93\xe5\x90\x8d 11010519491231002X");
    t = tx_at(&h, 0);
    assert_int_equal(P->tx_pii(&t->tx, TS, &c), 0);
    assert_int_equal(P->tx_pii(&t->tx, TC, &c), 1);
    assert_int_equal(c.n[PII_CN_ID], 1);
    h_close(&h);

    /* a script (its declared type) is not counted, an HTML page is */
    limits_default(&l);
    l.pii_types = PII_T_ALL;
    h_open(&h, &l, 0);
    feed(&h, TS, "GET /a.js HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Type: application/javascript; charset=utf-8\r\n"
                 "Content-Length: 27\r\n\r\nvar a=\"11010519491231002X\";");
    feed(&h, TS, "GET /a.html HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                 "Content-Length: 27\r\n\r\n<td>11010519491231002X</td>");
    assert_int_equal(P->tx_pii(&tx_at(&h, 0)->tx, TC, &c), 0);
    assert_int_equal(P->tx_pii(&tx_at(&h, 1)->tx, TC, &c), 1);
    assert_int_equal(c.n[PII_CN_ID], 1);
    h_close(&h);

    /* near miss: counting off, nothing is counted */
    limits_default(&l);
    h_open(&h, &l, 0);
    feed(&h, TS, "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 18\r\n\r\n11010519491231002X");
    t = tx_at(&h, 0);
    assert_int_equal(P->tx_pii(&t->tx, TS, &c), 0);
    h_close(&h);
}

/* gzip, gzip of 16 MiB of zeros: libhtp stops at the bomb limit. */
static void test_decompression_bomb(void **state)
{
    struct app_limits l;
    struct h h;
    struct http_tx *t;
    char hdr[200];

    (void)state;
    limits_default(&l);
    h_open(&h, &l, 0);
    feed(&h, TS, "GET /bomb HTTP/1.1\r\nHost: h\r\n\r\n");
    snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip\r\nContent-Length: %zu\r\n\r\n",
             sizeof gz_bomb);
    feed(&h, TC, hdr);
    feedn(&h, TC, gz_bomb, sizeof gz_bomb, 0);
    t = tx_at(&h, 0);
    progress(t, APP_PROG_DONE, APP_PROG_DONE);
    assert_int_equal(ev(&h, HTTP_EV_COMPRESSION_BOMB), 1);
    assert_true(t->tx.events & (1ull << HTTP_EV_COMPRESSION_BOMB));
    /* decompression stopped near 1 MiB, far from 16 MiB; 100 KiB kept */
    assert_true(t->body[TC].seen >= APP_DEFAULT_DECOMPRESS_LIMIT);
    assert_true(t->body[TC].seen < 2 * APP_DEFAULT_DECOMPRESS_LIMIT);
    assert_int_equal(t->body[TC].len, APP_DEFAULT_BODY_LIMIT);
    assert_int_equal(http_tx_file(t, TC)->state, APP_FILE_TRUNCATED);
    h_close(&h);
    /* near miss: one layer of the same encoding is not a bomb */
    h_open(&h, &l, 0);
    feed(&h, TS, "GET /page HTTP/1.1\r\nHost: h\r\n\r\n");
    snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
             sizeof gz_page);
    feed(&h, TC, hdr);
    feedn(&h, TC, gz_page, sizeof gz_page, 0);
    assert_int_equal(ev(&h, HTTP_EV_COMPRESSION_BOMB), 0);
    assert_int_equal(tx_at(&h, 0)->body[TC].seen, 427);
    h_close(&h);
}

/* n bytes of text that gzip to about a third: lines of numbers. */
static void text_lines(char *p, size_t n)
{
    uint32_t x = 12345;
    size_t i = 0;

    while (i < n) {
        char line[32];
        int k;

        x = x * 1103515245u + 12345u;
        k = snprintf(line, sizeof line, "row %u\n", (unsigned)(x >> 8));
        for (int j = 0; j < k && i < n; j++)
            p[i++] = line[j];
    }
}

/* gzip of in[0..n) into out (cap bytes); returns its length. */
static size_t gzip_of(const void *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream z;
    size_t len;

    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    len = cap - z.avail_out;
    deflateEnd(&z);
    return len;
}

/* A gzip response body past the body limit: once what was decoded passed
 * the limit (the rules' bytes and the file end there) and no personal-data
 * count reads it, the rest is not decompressed; libhtp passes it through
 * and the next response parses. Near misses: a text body counted for
 * personal data, and no body limit, decompress to the end. */
static void test_gzip_past_limit(void **state)
{
    enum { PLAIN = 256 * 1024, LIMIT = 16 * 1024 };
    static char plain[PLAIN];
    static uint8_t gz[PLAIN];
    struct app_limits l;
    struct h h;
    struct http_tx *t;
    char hdr[200];
    size_t n;

    (void)state;
    text_lines(plain, PLAIN);
    n = gzip_of(plain, PLAIN, gz, sizeof gz);
    assert_true(n > 16384 && n < PLAIN / 2);
    snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Encoding: gzip\r\n"
             "Content-Length: %zu\r\n\r\n", n);
    for (int round = 0; round < 3; round++) {
        limits_default(&l);
        l.response_body_limit = round == 2 ? 0 : LIMIT;
        l.pii_types = round == 1 ? PII_T_ALL : 0;
        h_open(&h, &l, 0);
        feed(&h, TS, "GET /rows.csv HTTP/1.1\r\nHost: h\r\n\r\n");
        feed(&h, TC, hdr);
        feedn(&h, TC, gz, n / 2, 0);                  /* decodes to well past the limit */
        t = tx_at(&h, 0);
        assert_true(t->body[TC].seen > LIMIT);
        feedn(&h, TC, gz + n / 2, n - n / 2, 0);
        feed(&h, TS, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
        feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assert_int_equal(ntx(&h), 2);
        progress(t, APP_PROG_DONE, APP_PROG_DONE);
        BUF(tx_at(&h, 1), HTTP_BUF_RESPONSE_BODY, "ok");
        assert_int_equal(ev(&h, HTTP_EV_GZIP_DECOMPRESSION_FAILED), 0);
        if (round == 0) {
            /* the body and file end at the limit; the rest is skipped */
            assert_true(t->flags & HTTP_TX_UNDECODABLE_RES);
            assert_true(t->body[TC].seen < PLAIN);
            assert_int_equal(t->body[TC].len, LIMIT);
            assert_memory_equal(t->body[TC].data, plain, LIMIT);
            assert_int_equal(http_tx_file(t, TC)->state, APP_FILE_TRUNCATED);
            assert_int_equal(http_tx_file(t, TC)->size, LIMIT);
        } else {
            /* near misses: every byte decoded */
            assert_false(t->flags & HTTP_TX_UNDECODABLE_RES);
            assert_int_equal(t->body[TC].seen, PLAIN);
            assert_int_equal(t->body[TC].len, round == 2 ? PLAIN : LIMIT);
        }
        h_close(&h);
    }
}

/* Malformed request lines and headers are counted by Suricata's names. */
static void test_malformed(void **state)
{
    struct h h;

    (void)state;
    h_open(&h, NULL, 0);
    feed(&h, TS, "GET /a HTTP/1.1\r\nHost: h\r\nNoColonHere\r\n\r\n");
    assert_int_equal(ev(&h, HTTP_EV_REQUEST_FIELD_MISSING_COLON), 1);
    assert_true(tx_at(&h, 0)->tx.events & (1ull << HTTP_EV_REQUEST_FIELD_MISSING_COLON));
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    feed(&h, TS, "GET /b HTTP/1.1\r\n\r\n");                         /* HTTP/1.1 wants Host */
    assert_int_equal(ev(&h, HTTP_EV_MISSING_HOST_HEADER), 1);
    feed(&h, TC, "HTTP/1.1 abc Weird\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(ev(&h, HTTP_EV_RESPONSE_INVALID_STATUS), 1);
    assert_int_equal(tx_at(&h, 1)->status, -1);
    feed(&h, TS, " GET /c HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n");
    assert_int_equal(ev(&h, HTTP_EV_REQUEST_LINE_LEADING_WHITESPACE), 1);
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    feed(&h, TS, "GET /d HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(ev(&h, HTTP_EV_DUPLICATE_CONTENT_LENGTH_FIELD_IN_RESPONSE), 0); /* same value twice */
    feed(&h, TS, "FOO\r\n\r\n");
    assert_int_equal(ev(&h, HTTP_EV_REQUEST_LINE_INVALID), 1);
    assert_int_equal(ev(&h, HTTP_EV_REQUEST_FIELD_MISSING_COLON), 1);
    h_close(&h);
    /* near miss: a clean exchange counts nothing */
    h_open(&h, NULL, 0);
    feed(&h, TS, ka_req1);
    feed(&h, TC, ka_res1);
    assert_int_equal(ev_total(&h), 0);
    h_close(&h);
}

/* A bad chunk length in a request: libhtp gives up on the stream. */
static void test_bad_chunk_length(void **state)
{
    struct h h;

    (void)state;
    h_open(&h, NULL, 0);
    assert_int_equal(feed(&h, TS, "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), -1);
    assert_int_equal(ev(&h, HTTP_EV_INVALID_REQUEST_CHUNK_LEN), 1);
    progress(tx_at(&h, 0), APP_PROG_DONE, APP_PROG_DONE);
    assert_int_equal(feed(&h, TS, "GET / HTTP/1.1\r\n\r\n"), -1);
    h_close(&h);
}

static void test_connect(void **state)
{
    static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00 };
    struct h h;
    struct http_tx *t;

    (void)state;
    h_open(&h, NULL, 0);
    feed(&h, TS, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    feedn(&h, TS, hello, sizeof hello, 0);           /* the client does not wait for the 200 */
    feed(&h, TC, "HTTP/1.1 200 Connection established\r\n\r\n");
    assert_true(http_state_tunnel(h.st));
    assert_int_equal(ntx(&h), 1);
    t = tx_at(&h, 0);
    assert_int_equal(t->flags & (HTTP_TX_CONNECT | HTTP_TX_SWITCHED), HTTP_TX_CONNECT | HTTP_TX_SWITCHED);
    BUF(t, HTTP_BUF_METHOD, "CONNECT");
    BUF(t, HTTP_BUF_URI_RAW, "example.com:443");
    BUF(t, HTTP_BUF_HOST, "example.com");
    BUF(t, HTTP_BUF_STAT_CODE, "200");
    progress(t, APP_PROG_DONE, APP_PROG_DONE);
    /* what follows is TLS: not parsed, not counted */
    assert_int_equal(feed(&h, TC, "\x16\x03\x03 server hello"), 0);
    assert_int_equal(feed(&h, TS, "GET /not-http HTTP/1.1\r\n\r\n"), 0);
    assert_int_equal(ntx(&h), 1);
    assert_int_equal(ev_total(&h), 0);
    h_close(&h);
    /* near miss: a refused CONNECT leaves the connection HTTP */
    h_open(&h, NULL, 0);
    feed(&h, TS, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
    feed(&h, TS, "GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_false(http_state_tunnel(h.st));
    assert_int_equal(ntx(&h), 2);
    assert_int_equal(tx_at(&h, 0)->flags & HTTP_TX_SWITCHED, 0);
    BUF(tx_at(&h, 1), HTTP_BUF_URI, "/after");
    BUF(tx_at(&h, 1), HTTP_BUF_STAT_CODE, "200");
    h_close(&h);
}

static void test_upgrade(void **state)
{
    struct h h;
    struct http_tx *t;

    (void)state;
    h_open(&h, NULL, 0);
    feed(&h, TS, "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    t = tx_at(&h, 0);
    assert_int_equal(t->flags, HTTP_TX_UPGRADE);
    feed(&h, TC, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                 "\x81\x05hello");
    assert_true(http_state_tunnel(h.st));
    assert_int_equal(t->flags, HTTP_TX_UPGRADE | HTTP_TX_SWITCHED);
    assert_int_equal(t->status, 101);
    progress(t, APP_PROG_DONE, APP_PROG_DONE);
    buf_absent(t, HTTP_BUF_RESPONSE_BODY);
    feed(&h, TS, "\x81\x85masked");
    assert_int_equal(ntx(&h), 1);
    assert_int_equal(ev_total(&h), 0);
    h_close(&h);
}

/* A gap inside a Content-Length body: libhtp skips it, the file has gaps
 * and no sha256, the next transaction is parsed. A gap in headers ends
 * that direction. */
static void test_gap(void **state)
{
    struct h h;
    struct http_tx *t;
    const struct app_file *f;
    struct jbuf jb;

    (void)state;
    jbuf_init(&jb);
    h_open(&h, NULL, 0);
    feed(&h, TS, "GET /big.bin HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    feedn(&h, TC, "0123456789012345678901234567890123456789", 30, 0);
    assert_int_equal(feedn(&h, TC, NULL, 40, APP_IN_GAP), 0);
    feedn(&h, TC, "abcdefghijklmnopqrstuvwxyzABCD", 30, 0);
    t = tx_at(&h, 0);
    progress(t, APP_PROG_DONE, APP_PROG_DONE);
    BUF(t, HTTP_BUF_RESPONSE_BODY, "012345678901234567890123456789");
    assert_true(t->body[TC].gap);
    f = http_tx_file(t, TC);
    assert_int_equal(f->state, APP_FILE_CLOSED);
    assert_true(f->gaps);
    assert_false((f->hashed & APP_HASH_BIT(APP_HASH_SHA256)));
    assert_int_equal(f->size, 100);
    assert_string_equal(file_eve_of(&jb, t, TC),
                        "{\"filename\":\"/big.bin\",\"gaps\":true,\"state\":\"CLOSED\",\"stored\":false,"
                        "\"size\":100,\"tx_id\":0}");
    assert_int_equal(ev(&h, HTTP_EV_GAP), 1);
    assert_true(t->tx.events & (1ull << HTTP_EV_GAP));
    feed(&h, TS, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assert_int_equal(ntx(&h), 2);
    BUF(tx_at(&h, 1), HTTP_BUF_RESPONSE_BODY, "ok");
    h_close(&h);
    /* a gap in the request headers: the client side is not followed further */
    h_open(&h, NULL, 0);
    feed(&h, TS, "GET /x HTTP/1.1\r\nHost: h\r\nUser-");
    assert_int_equal(feedn(&h, TS, NULL, 10, APP_IN_GAP), 0);
    assert_int_equal(ev(&h, HTTP_EV_GAP), 1);
    progress(tx_at(&h, 0), APP_PROG_DONE, APP_PROG_NONE);
    feed(&h, TS, "Agent: x\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(ntx(&h), 1);
    buf_absent(tx_at(&h, 0), HTTP_BUF_USER_AGENT);
    h_close(&h);
    jbuf_free(&jb);
}

static void test_filenames(void **state)
{
    struct h h;
    const struct app_file *f;

    (void)state;
    h_open(&h, NULL, 0);
    feed(&h, TS, "GET /dl/file.exe?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nMZ!");
    feed(&h, TS, "GET /get?id=7 HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=\"report 1.pdf\"; size=3\r\n"
                 "Content-Length: 3\r\n\r\nPDF");
    feed(&h, TS, "GET /get?id=8 HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Disposition: inline; FILENAME=plain.txt\r\n"
                 "Content-Length: 1\r\n\r\nx");
    feed(&h, TS, "GET /get?id=9 HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Disposition: attachment\r\nContent-Length: 1\r\n\r\ny");
    f = http_tx_file(tx_at(&h, 0), TC);
    assert_int_equal(f->name_len, 12);
    assert_memory_equal(f->name, "/dl/file.exe", 12);
    f = http_tx_file(tx_at(&h, 1), TC);
    assert_int_equal(f->name_len, 12);
    assert_memory_equal(f->name, "report 1.pdf", 12);
    f = http_tx_file(tx_at(&h, 2), TC);
    assert_int_equal(f->name_len, 9);
    assert_memory_equal(f->name, "plain.txt", 9);
    f = http_tx_file(tx_at(&h, 3), TC);                /* no filename parameter: the path */
    assert_int_equal(f->name_len, 4);
    assert_memory_equal(f->name, "/get", 4);
    h_close(&h);
}

/* sha256 of a body split over segments, and none while it is open. */
static void test_sha256(void **state)
{
    struct h h;
    const struct app_file *f;
    char hex[65];

    (void)state;
    h_open(&h, NULL, 0);
    feed(&h, TS, "PUT /upload/data.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\nhello ");
    f = http_tx_file(tx_at(&h, 0), TS);
    assert_int_equal(f->state, APP_FILE_OPEN);
    assert_false((f->hashed & APP_HASH_BIT(APP_HASH_SHA256)));
    feed(&h, TS, "world\n");
    assert_int_equal(f->state, APP_FILE_CLOSED);
    sha_hex(f, hex);
    /* sha256sum of "hello world\n" */
    assert_string_equal(hex, "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447");
    h_close(&h);
}

static void test_max_tx(void **state)
{
    struct app_limits l;
    struct h h;
    char req[64];

    (void)state;
    limits_default(&l);
    l.max_tx = 2;
    h_open(&h, &l, 0);
    for (int i = 0; i < 4; i++) {
        snprintf(req, sizeof req, "GET /%d HTTP/1.1\r\nHost: h\r\n\r\n", i);
        feed(&h, TS, req);
        feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    }
    assert_int_equal(ntx(&h), 2);
    assert_int_equal(ev(&h, HTTP_EV_TOO_MANY_TRANSACTIONS), 2);
    assert_int_equal(tx_at(&h, 0)->tx.id, 2);
    BUF(tx_at(&h, 0), HTTP_BUF_URI, "/2");
    BUF(tx_at(&h, 1), HTTP_BUF_URI, "/3");
    h_close(&h);
    /* pipelining past max_tx transactions libhtp has open: the request is
     * refused and the flow given up; what was there stays */
    h_open(&h, &l, 0);
    feed(&h, TS, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nsl");    /* /slow's body half there */
    assert_int_equal(ntx(&h), 2);
    assert_int_equal(ev(&h, HTTP_EV_TOO_MANY_TRANSACTIONS), 0);
    assert_int_equal(feed(&h, TS, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n"), -1);
    assert_int_equal(ev(&h, HTTP_EV_TOO_MANY_TRANSACTIONS), 1);
    assert_int_equal(ntx(&h), 2);
    BUF(tx_at(&h, 0), HTTP_BUF_URI, "/slow");
    BUF(tx_at(&h, 1), HTTP_BUF_URI, "/b");
    BUF(tx_at(&h, 0), HTTP_BUF_RESPONSE_BODY, "sl");
    assert_int_equal(http_tx_file(tx_at(&h, 0), TC)->state, APP_FILE_TRUNCATED);
    h_close(&h);
    /* near miss: the same with the response done first is within the limit */
    h_open(&h, &l, 0);
    feed(&h, TS, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow");
    assert_int_equal(feed(&h, TS, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
    assert_int_equal(ntx(&h), 2);                    /* /slow, done, made room */
    assert_int_equal(ev(&h, HTTP_EV_TOO_MANY_TRANSACTIONS), 1);
    BUF(tx_at(&h, 0), HTTP_BUF_URI, "/b");
    BUF(tx_at(&h, 1), HTTP_BUF_URI, "/c");
    h_close(&h);
}

static void test_memcap(void **state)
{
    struct app_ctx ctx;
    struct h h;
    size_t state_only;

    (void)state;
    /* no room even for the state */
    memset(&ctx, 0, sizeof ctx);
    limits_default(&ctx.limits);
    ctx.mem.cap = 64;
    assert_null(P->state_new(&ctx));
    assert_int_equal(ctx.mem.refused, 1);
    P->ctx_free(&ctx);
    /* room for the state only: no transaction is made, each refusal counted */
    h_open(&h, NULL, 0);
    state_only = h.ctx.mem.used;
    h_close(&h);
    h_open(&h, NULL, state_only + 64);
    assert_int_equal(feed(&h, TS, ka_req1), 0);
    assert_int_equal(feed(&h, TC, ka_res1), 0);
    assert_int_equal(ntx(&h), 0);
    assert_true(ev(&h, HTTP_EV_MEMCAP) >= 1);
    assert_true(h.ctx.mem.refused >= 1);
    assert_true(h.ctx.mem.peak <= state_only + 64);
    h_close(&h);
    /* near miss: room for a transaction but not its buffers */
    h_open(&h, NULL, state_only + sizeof(struct http_tx) + 300);
    feed(&h, TS, ka_req1);
    assert_int_equal(ntx(&h), 1);
    assert_true(tx_at(&h, 0)->tx.events & (1ull << HTTP_EV_MEMCAP));
    buf_absent(tx_at(&h, 0), HTTP_BUF_URI);
    progress(tx_at(&h, 0), APP_PROG_DONE, APP_PROG_NONE);
    h_close(&h);
}

/* URI normalisation as Suricata's default (IDS personality, no lower-casing). */
static void test_uri_normalisation(void **state)
{
    static const struct {
        const char *raw, *norm;
    } cases[] = {
        { "/a/b/%2e%2e/c", "/a/c" },
        { "/a/./b/../../c", "/c" },
        { "//x//y///z", "/x/y/z" },
        { "/dir%2fsub%2Ffile", "/dir/sub/file" },
        { "/win\\sys\\cmd.exe", "/win/sys/cmd.exe" },
        { "/CaSe/Kept", "/CaSe/Kept" },
        { "/%41%42c?k=%27or%201=1--&x=a+b", "/ABc?k='or 1=1--&x=a+b" },
        { "/%u0041x", "/Ax" },
        { "/../../etc/passwd", "/etc/passwd" },
    };
    struct h h;
    char req[256];

    (void)state;
    h_open(&h, NULL, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", cases[i].raw);
        feed(&h, TS, req);
        feed(&h, TC, "HTTP/1.1 204 No Content\r\n\r\n");
        buf_eq(tx_at(&h, (unsigned)i), HTTP_BUF_URI, cases[i].norm, strlen(cases[i].norm));
        buf_eq(tx_at(&h, (unsigned)i), HTTP_BUF_URI_RAW, cases[i].raw, strlen(cases[i].raw));
    }
    h_close(&h);
}

/* EVE http members and fileinfo, exactly. */
static void test_eve(void **state)
{
    struct h h;
    struct jbuf jb;
    struct http_tx *t;

    (void)state;
    jbuf_init(&jb);
    h_open(&h, NULL, 0);
    feed(&h, TS, "GET /dl/a.zip?v=2 HTTP/1.1\r\nHost: Files.Example.com:8443\r\nUser-Agent: curl/8.0\r\n"
                 "Referer: http://ref/\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 206 Partial Content\r\nContent-Type: application/zip; x=1\r\n"
                 "Content-Range: bytes 0-3/10\r\nLocation: /elsewhere\r\nContent-Length: 4\r\n\r\nPK\x03\x04");
    t = tx_at(&h, 0);
    assert_string_equal(eve_of(&jb, t),
                        "{\"hostname\":\"files.example.com\",\"http_port\":8443,\"url\":\"/dl/a.zip?v=2\","
                        "\"http_user_agent\":\"curl/8.0\",\"http_content_type\":\"application/zip\","
                        "\"content_range\":{\"raw\":\"bytes 0-3/10\",\"start\":0,\"end\":3,\"size\":10},"
                        "\"http_refer\":\"http://ref/\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.1\","
                        "\"status\":206,\"redirect\":\"/elsewhere\",\"length\":4}");
    assert_string_equal(file_eve_of(&jb, t, TC),
                        "{\"filename\":\"/dl/a.zip\",\"gaps\":false,\"state\":\"CLOSED\",\"sha256\":"
                        "\"8dcc7e601606217f3b754766511182a916b17e9a26a94c9d887104eba92e9bb2\",\"stored\":false,"
                        "\"size\":4,\"tx_id\":0}");
    assert_string_equal(file_eve_of(&jb, t, TS), "{}");
    jbuf_reset(&jb);
    jbuf_open_object(&jb, NULL);
    http_eve_headers(t, TS, &jb);
    jbuf_close_object(&jb);
    jb.buf[jb.len] = '\0';
    assert_string_equal(jb.buf, "{\"request_headers\":[{\"name\":\"Host\",\"value\":\"Files.Example.com:8443\"},"
                                "{\"name\":\"User-Agent\",\"value\":\"curl/8.0\"},"
                                "{\"name\":\"Referer\",\"value\":\"http://ref/\"}]}");
    /* a request alone: no status, length 0; an invalid status is a string */
    feed(&h, TS, "GET / HTTP/1.0\r\n\r\n");
    assert_string_equal(eve_of(&jb, tx_at(&h, 1)), "{\"url\":\"/\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.0\","
                                                   "\"length\":0}");
    feed(&h, TC, "HTTP/1.0 2XX Odd\r\nContent-Length: 0\r\n\r\n");
    assert_string_equal(eve_of(&jb, tx_at(&h, 1)), "{\"url\":\"/\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.0\","
                                                   "\"status_string\":\"2XX\",\"length\":0}");
    h_close(&h);
    jbuf_free(&jb);
}

/* The end of the server's side ends a body delimited by the close. */
static void test_close_delimited(void **state)
{
    struct h h;
    struct http_tx *t;

    (void)state;
    h_open(&h, NULL, 0);
    feed(&h, TS, "GET /stream HTTP/1.0\r\n\r\n");
    feed(&h, TC, "HTTP/1.0 200 OK\r\n\r\npart one, ");
    t = tx_at(&h, 0);
    progress(t, APP_PROG_DONE, APP_PROG_BODY);
    feed(&h, TC, "part two");
    assert_int_equal(eof(&h, TC), 0);
    progress(t, APP_PROG_DONE, APP_PROG_DONE);
    BUF(t, HTTP_BUF_RESPONSE_BODY, "part one, part two");
    assert_int_equal(http_tx_file(t, TC)->state, APP_FILE_CLOSED);
    h_close(&h);
    /* near miss: the client's end alone leaves the response open; an
     * unfinished Content-Length body at the server's end is TRUNCATED */
    h_open(&h, NULL, 0);
    feed(&h, TS, "GET /cl HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    eof(&h, TS);
    progress(tx_at(&h, 0), APP_PROG_DONE, APP_PROG_BODY);
    eof(&h, TC);
    progress(tx_at(&h, 0), APP_PROG_DONE, APP_PROG_DONE);
    assert_int_equal(http_tx_file(tx_at(&h, 0), TC)->state, APP_FILE_TRUNCATED);
    h_close(&h);
}

/* A gap in a gzip body (either way): what was decoded before it stays,
 * the file is TRUNCATED with gaps, the connection goes on. */
static void test_gap_gzip(void **state)
{
    struct h h;
    struct http_tx *t;
    char hdr[200];

    (void)state;
    h_open(&h, NULL, 0);
    snprintf(hdr, sizeof hdr, "POST /z HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
             sizeof gz_page);
    feed(&h, TS, hdr);
    feedn(&h, TS, gz_page, 30, 0);
    assert_int_equal(feedn(&h, TS, NULL, 10, APP_IN_GAP), 0);
    feedn(&h, TS, gz_page + 40, sizeof gz_page - 40, 0);
    snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
             sizeof gz_page);
    feed(&h, TC, hdr);
    feedn(&h, TC, gz_page, 30, 0);
    assert_int_equal(feedn(&h, TC, NULL, 10, APP_IN_GAP), 0);
    feedn(&h, TC, gz_page + 40, sizeof gz_page - 40, 0);
    t = tx_at(&h, 0);
    progress(t, APP_PROG_DONE, APP_PROG_DONE);
    for (int d = 0; d < 2; d++) {
        const struct app_file *f = http_tx_file(t, (enum app_dir)d);

        /* zlib gave out 19 bytes of the 30 before the gap */
        assert_true(t->body[d].len >= 12 && t->body[d].len < 427);
        assert_memory_equal(t->body[d].data, "<html><body>", 12);
        assert_int_equal(f->state, APP_FILE_TRUNCATED);
        assert_true(f->gaps);
        assert_false((f->hashed & APP_HASH_BIT(APP_HASH_SHA256)));
        assert_int_equal(f->size, t->body[d].len);
    }
    assert_int_equal(t->flags & (HTTP_TX_UNDECODABLE_REQ | HTTP_TX_UNDECODABLE_RES),
                     HTTP_TX_UNDECODABLE_REQ | HTTP_TX_UNDECODABLE_RES);
    assert_int_equal(ev(&h, HTTP_EV_GAP), 1);       /* counted once per transaction */
    feed(&h, TS, "GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assert_int_equal(ntx(&h), 2);
    BUF(tx_at(&h, 1), HTTP_BUF_RESPONSE_BODY, "ok");
    h_close(&h);
}

/* A gap in a chunked body: libhtp cannot skip it; the response side stops. */
static void test_gap_chunked(void **state)
{
    struct h h;
    struct http_tx *t;

    (void)state;
    h_open(&h, NULL, 0);
    feed(&h, TS, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456");
    assert_int_equal(feedn(&h, TC, NULL, 5, APP_IN_GAP), 0);
    t = tx_at(&h, 0);
    progress(t, APP_PROG_DONE, APP_PROG_DONE);
    BUF(t, HTTP_BUF_RESPONSE_BODY, "0123456");
    assert_int_equal(http_tx_file(t, TC)->state, APP_FILE_TRUNCATED);
    assert_int_equal(ev(&h, HTTP_EV_GAP), 1);
    /* later responses are not parsed; requests still are */
    feed(&h, TC, "4\r\nabcd\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    feed(&h, TS, "GET /d HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(ntx(&h), 2);
    BUF(tx_at(&h, 1), HTTP_BUF_URI, "/d");
    buf_absent(tx_at(&h, 1), HTTP_BUF_STAT_CODE);
    progress(tx_at(&h, 1), APP_PROG_DONE, APP_PROG_DONE);
    h_close(&h);
}

/* Expect: 100-continue: the interim response is not a transaction. */
static void test_100_continue(void **state)
{
    struct h h;
    struct http_tx *t;

    (void)state;
    h_open(&h, NULL, 0);
    feed(&h, TS, "POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    feed(&h, TC, "HTTP/1.1 100 Continue\r\n\r\n");
    t = tx_at(&h, 0);
    progress(t, APP_PROG_HEADERS, APP_PROG_LINE);
    feed(&h, TS, "data");
    feed(&h, TC, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(ntx(&h), 1);
    BUF(t, HTTP_BUF_STAT_CODE, "201");
    BUF(t, HTTP_BUF_REQUEST_BODY, "data");
    progress(t, APP_PROG_DONE, APP_PROG_DONE);
    assert_int_equal(ev_total(&h), 0);
    h_close(&h);
}

/* HTTP/0.9: a request line alone, a response body until the close. */
static void test_http09(void **state)
{
    struct h h;
    struct http_tx *t;

    (void)state;
    h_open(&h, NULL, 0);
    feed(&h, TS, "GET /old\r\n");
    t = tx_at(&h, 0);
    progress(t, APP_PROG_DONE, APP_PROG_NONE);
    BUF(t, HTTP_BUF_URI, "/old");
    buf_absent(t, HTTP_BUF_PROTOCOL);
    buf_absent(t, HTTP_BUF_HEADER);
    BUF(t, HTTP_BUF_START, "GET /old\r\n");
    feed(&h, TC, "<html>old</html>");
    eof(&h, TC);
    BUF(t, HTTP_BUF_RESPONSE_BODY, "<html>old</html>");
    buf_absent(t, HTTP_BUF_STAT_CODE);
    progress(t, APP_PROG_DONE, APP_PROG_DONE);
    h_close(&h);
}

/* The client's end in the middle of a request line. */
static void test_eof_mid_request(void **state)
{
    struct h h;

    (void)state;
    h_open(&h, NULL, 0);
    feed(&h, TS, "GET /parti");
    assert_int_equal(ntx(&h), 1);
    progress(tx_at(&h, 0), APP_PROG_NONE, APP_PROG_NONE);
    assert_int_equal(eof(&h, TS), 0);
    progress(tx_at(&h, 0), APP_PROG_DONE, APP_PROG_NONE);
    assert_int_equal(eof(&h, TC), 0);
    progress(tx_at(&h, 0), APP_PROG_DONE, APP_PROG_DONE);
    /* nothing more is taken */
    assert_int_equal(feed(&h, TS, "GET / HTTP/1.1\r\n\r\n"), 0);
    assert_int_equal(ntx(&h), 1);
    h_close(&h);
}

/* Bytes held back are bounded: a response past HTTP_PENDING_MAX goes on
 * without its request; a client past it while CONNECT waits stops. */
static void test_pending_limit(void **state)
{
    struct h h;
    char *big = malloc(HTTP_PENDING_MAX + 100);
    int n;

    (void)state;
    assert_non_null(big);
    h_open(&h, NULL, 0);
    /* the header's length is the same with the body length it announces */
    n = snprintf(big, HTTP_PENDING_MAX + 100, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", HTTP_PENDING_MAX);
    n = snprintf(big, HTTP_PENDING_MAX + 100, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n",
                 HTTP_PENDING_MAX + 100 - (unsigned)n);
    memset(big + n, 'x', HTTP_PENDING_MAX + 100 - (size_t)n);
    assert_int_equal(feedn(&h, TC, big, HTTP_PENDING_MAX / 2, 0), 0);
    assert_int_equal(ntx(&h), 0);                   /* held for its request */
    assert_int_equal(feedn(&h, TC, big + HTTP_PENDING_MAX / 2, HTTP_PENDING_MAX / 2 + 100, 0), 0);
    assert_int_equal(ev(&h, HTTP_EV_PENDING_OVERFLOW), 1);
    assert_int_equal(ntx(&h), 1);
    assert_true(tx_at(&h, 0)->flags & HTTP_TX_NO_REQUEST);
    assert_int_equal(tx_at(&h, 0)->body[TC].seen, HTTP_PENDING_MAX + 100 - (size_t)n);
    h_close(&h);
    h_open(&h, NULL, 0);
    feed(&h, TS, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    assert_int_equal(feedn(&h, TS, big, HTTP_PENDING_MAX, 0), 0);
    assert_int_equal(ev(&h, HTTP_EV_PENDING_OVERFLOW), 0);    /* exactly the limit is held */
    assert_int_equal(feedn(&h, TS, big, 1, 0), 0);
    assert_int_equal(ev(&h, HTTP_EV_PENDING_OVERFLOW), 1);
    progress(tx_at(&h, 0), APP_PROG_DONE, APP_PROG_NONE);
    h_close(&h);
    free(big);
}

static void test_lookup(void **state)
{
    (void)state;
    assert_int_equal(http_buf_lookup("http.uri", TS), HTTP_BUF_URI);
    assert_int_equal(http_buf_lookup("http.uri", TC), -1);
    assert_int_equal(http_buf_lookup("http_raw_header", TC), HTTP_BUF_RESPONSE_HEADER_RAW);
    assert_int_equal(http_buf_lookup("http.header", TS), HTTP_BUF_HEADER);
    assert_int_equal(http_buf_lookup("http.cookie", TC), HTTP_BUF_SET_COOKIE);
    assert_int_equal(http_buf_lookup("file.data", TC), HTTP_BUF_FILE_DATA);
    assert_int_equal(http_buf_lookup("file_data", TS), HTTP_BUF_REQUEST_BODY);
    assert_int_equal(http_buf_lookup("http_client_body", TS), HTTP_BUF_REQUEST_BODY);
    assert_int_equal(http_buf_lookup("http_server_body", TC), HTTP_BUF_RESPONSE_BODY);
    assert_int_equal(http_buf_lookup("http.stat_code", TS), -1);
    assert_int_equal(http_buf_lookup("tls.sni", TS), -1);
    for (int b = 0; b < HTTP_BUF_MAX; b++) {
        assert_non_null(http_buf_name(b));
        assert_int_equal(http_buf_dir(b), b < HTTP_BUF_FIRST_RESPONSE ? TS : TC);
        /* every buffer is reachable from its own name */
        assert_int_equal(http_buf_lookup(http_buf_name(b), http_buf_dir(b)) == b ||
                             b == HTTP_BUF_RESPONSE_BODY, 1);
    }
    for (int e = 0; e < HTTP_EV_MAX; e++)
        assert_non_null(P->events[e]);
    assert_int_equal(P->nevents, HTTP_EV_MAX);
    assert_true(P->nevents <= APP_MAX_EVENTS);
    assert_string_equal(P->events[HTTP_EV_REQUEST_FIELD_MISSING_COLON], "request_field_missing_colon");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_keepalive_three),
        cmocka_unit_test(test_buffers_exact),
        cmocka_unit_test(test_file_digests),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_response_first),
        cmocka_unit_test(test_byte_at_a_time),
        cmocka_unit_test(test_split_chunked),
        cmocka_unit_test(test_gzip_chunked),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_gzip_past_limit),
        cmocka_unit_test(test_pii_bodies),
        cmocka_unit_test(test_decompression_bomb),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bad_chunk_length),
        cmocka_unit_test(test_connect),
        cmocka_unit_test(test_upgrade),
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_filenames),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_max_tx),
        cmocka_unit_test(test_memcap),
        cmocka_unit_test(test_uri_normalisation),
        cmocka_unit_test(test_eve),
        cmocka_unit_test(test_close_delimited),
        cmocka_unit_test(test_gap_chunked),
        cmocka_unit_test(test_gap_gzip),
        cmocka_unit_test(test_100_continue),
        cmocka_unit_test(test_http09),
        cmocka_unit_test(test_eof_mid_request),
        cmocka_unit_test(test_pending_limit),
        cmocka_unit_test(test_lookup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
