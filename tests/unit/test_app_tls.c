/* test_app_tls.c - unit tests for the TLS parser (sensor/app/tls.c): TLS
 * 1.2 with a two-certificate chain (made in the set-up with libcrypto),
 * the same session one byte per call, a session of ClientHello and
 * ServerHello only (resumed), TLS 1.3 with a HelloRetryRequest, a GREASE
 * ClientHello whose JA3 is spelled out by hand, an SSLv2 ClientHello,
 * record and handshake anomalies, gaps, limits and the memory cap.
 *
 * Expected JA3/JA3S hashes are MD5s computed outside (python3 hashlib) of
 * the strings the tests spell out from the bytes they build. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "apptest.h"
#include "tls.h"

static const struct app_parser *P = &app_parser_tls;

/* ---------------------------------------------------------------- certificates */

#define SERVER_SUBJECT "C=US, O=Example, CN=www.example.com"
#define CA_SUBJECT "C=US, O=Example CA, OU=Ops + OU=Certs, CN=Example Root, Email=ca@example.com"
#define SERVER_SERIAL "00:8A:1B:2C:3D:4E:5F"     /* 0x8A1B2C3D4E5F: DER adds the 00 */
#define NOTBEFORE 1704067200                      /* 2024-01-01T00:00:00 */
#define NOTAFTER 2019686400                       /* 2034-01-01T00:00:00 */

static uint8_t server_der[2048], ca_der[2048];
static size_t server_der_len, ca_der_len;
static char server_fp[60];

static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *signer, X509_NAME *subject, X509_NAME *issuer, const char *serial)
{
    X509 *x = X509_new();
    BIGNUM *bn = NULL;
    ASN1_INTEGER *sn;

    assert_non_null(x);
    assert_true(BN_hex2bn(&bn, serial) > 0);
    sn = BN_to_ASN1_INTEGER(bn, NULL);
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(X509_set_serialNumber(x, sn), 1);
    assert_int_equal(ASN1_TIME_set_string(X509_getm_notBefore(x), "20240101000000Z"), 1);
    assert_int_equal(ASN1_TIME_set_string(X509_getm_notAfter(x), "20340101000000Z"), 1);
    assert_int_equal(X509_set_subject_name(x, subject), 1);
    assert_int_equal(X509_set_issuer_name(x, issuer), 1);
    assert_int_equal(X509_set_pubkey(x, key), 1);
    assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
    ASN1_INTEGER_free(sn);
    BN_free(bn);
    return x;
}

static size_t der_of(X509 *x, uint8_t *out)
{
    unsigned char *p = out;
    int n = i2d_X509(x, NULL);

    assert_true(n > 0 && n <= 2048);
    assert_int_equal(i2d_X509(x, &p), n);
    return (size_t)n;
}

static void add_entry(X509_NAME *n, const char *field, const char *value, int set)
{
    assert_int_equal(X509_NAME_add_entry_by_txt(n, field, MBSTRING_ASC, (const unsigned char *)value, -1, -1, set), 1);
}

/* A CA (with a multi-valued RDN and an e-mail address) and a server
 * certificate it signs; their DER and the server's SHA-1 fingerprint. */
static int make_certs(void **unused)
{
    EVP_PKEY *cakey = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
    X509_NAME *can = X509_NAME_new(), *sn = X509_NAME_new();
    X509 *ca, *srv;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    (void)unused;
    if (!cakey || !key || !can || !sn)
        return -1;
    add_entry(can, "C", "US", 0);
    add_entry(can, "O", "Example CA", 0);
    add_entry(can, "OU", "Ops", 0);
    add_entry(can, "OU", "Certs", -1);         /* joins the previous RDN */
    add_entry(can, "CN", "Example Root", 0);
    add_entry(can, "emailAddress", "ca@example.com", 0);
    add_entry(sn, "C", "US", 0);
    add_entry(sn, "O", "Example", 0);
    add_entry(sn, "CN", "www.example.com", 0);
    ca = make_cert(cakey, cakey, can, can, "01");
    srv = make_cert(key, cakey, sn, can, "8A1B2C3D4E5F");
    ca_der_len = der_of(ca, ca_der);
    server_der_len = der_of(srv, server_der);
    if (X509_digest(srv, EVP_sha1(), md, &mdlen) != 1 || mdlen != 20)
        return -1;
    for (unsigned i = 0; i < 20; i++)
        sprintf(server_fp + 3 * i, i < 19 ? "%02x:" : "%02x", md[i]);
    X509_free(ca);
    X509_free(srv);
    X509_NAME_free(can);
    X509_NAME_free(sn);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(key);
    return 0;
}

/* ---------------------------------------------------------------- builders */

struct buf {
    uint8_t b[16384];
    size_t n;
};

static void put(struct buf *o, const void *p, size_t n)
{
    if (n == 0)
        return;                                 /* p may be NULL then */
    assert_true(o->n + n <= sizeof o->b);
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put8(struct buf *o, unsigned v) { uint8_t b = (uint8_t)v; put(o, &b, 1); }
static void put16(struct buf *o, unsigned v) { put8(o, v >> 8); put8(o, v & 0xff); }
static void put24(struct buf *o, size_t v) { put8(o, (unsigned)(v >> 16)); put16(o, (unsigned)(v & 0xffff)); }

static void record(struct buf *o, unsigned type, unsigned version, const void *p, size_t n)
{
    put8(o, type);
    put16(o, version);
    put16(o, (unsigned)n);
    put(o, p, n);
}

static void hs(struct buf *o, unsigned type, const void *body, size_t n)
{
    put8(o, type);
    put24(o, n);
    put(o, body, n);
}

static void ext(struct buf *o, unsigned type, const void *p, size_t n)
{
    put16(o, type);
    put16(o, (unsigned)n);
    put(o, p, n);
}

/* The SNI extension's data for a host name. */
static void sni_ext(struct buf *o, const char *name)
{
    struct buf d = { .n = 0 };
    size_t n = strlen(name);

    put16(&d, (unsigned)(n + 3));
    put8(&d, 0);
    put16(&d, (unsigned)n);
    put(&d, name, n);
    ext(o, 0, d.b, d.n);
}

/* A hello body: version, random, session id, cipher(s), compression,
 * extensions (when exts is not NULL). */
static void hello(struct buf *o, int server, unsigned version, const uint8_t random[32], const uint8_t *sid,
                  size_t sidlen, const uint16_t *ciphers, size_t nciphers, const struct buf *exts)
{
    static const uint8_t zero[32];

    put16(o, version);
    put(o, random ? random : zero, 32);
    put8(o, (unsigned)sidlen);
    put(o, sid, sidlen);
    if (!server)
        put16(o, (unsigned)(2 * nciphers));
    for (size_t i = 0; i < nciphers; i++)
        put16(o, ciphers[i]);
    if (!server)
        put8(o, 1);
    put8(o, 0);
    if (exts) {
        put16(o, (unsigned)exts->n);
        put(o, exts->b, exts->n);
    }
}

static const uint8_t alpn_client[] = { 0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };
static const uint8_t alpn_server[] = { 0, 3, 2, 'h', '2' };

/* TLS 1.2 ClientHello: JA3 "771,49195-49199-156-47,0-10-11-16-13-65281,29-23-24,0". */
#define JA3_12 "771,49195-49199-156-47,0-10-11-16-13-65281,29-23-24,0"
#define JA3_12_HASH "50fe37f999d1d38c98452f1d4ac7c86b"
#define JA3S_12 "771,49199,65281-11-16"
#define JA3S_12_HASH "1089ea6f0461a29006cc96dfe7a11d80"

static void client_hello_12(struct buf *rec, const uint8_t *sid, size_t sidlen)
{
    static const uint16_t ciphers[] = { 0xc02b, 0xc02f, 0x009c, 0x002f };
    struct buf e = { .n = 0 }, body = { .n = 0 }, m = { .n = 0 };

    sni_ext(&e, "www.example.com");
    ext(&e, 10, (const uint8_t[]){ 0, 6, 0, 29, 0, 23, 0, 24 }, 8);
    ext(&e, 11, (const uint8_t[]){ 1, 0 }, 2);
    ext(&e, 16, alpn_client, sizeof alpn_client);
    ext(&e, 13, (const uint8_t[]){ 0, 4, 4, 3, 8, 4 }, 6);
    ext(&e, 0xff01, (const uint8_t[]){ 0 }, 1);
    hello(&body, 0, 0x0303, NULL, sid, sidlen, ciphers, 4, &e);
    hs(&m, 1, body.b, body.n);
    record(rec, 22, 0x0301, m.b, m.n);
}

static void server_hello_12(struct buf *m, const uint8_t *sid, size_t sidlen)
{
    static const uint16_t cipher[] = { 0xc02f };
    struct buf e = { .n = 0 }, body = { .n = 0 };

    ext(&e, 0xff01, (const uint8_t[]){ 0 }, 1);
    ext(&e, 11, (const uint8_t[]){ 1, 0 }, 2);
    ext(&e, 16, alpn_server, sizeof alpn_server);
    hello(&body, 1, 0x0303, NULL, sid, sidlen, cipher, 1, &e);
    hs(m, 2, body.b, body.n);
}

static void certificate_msg(struct buf *m, int ncerts)
{
    struct buf body = { .n = 0 };
    size_t total = server_der_len + 3 + (ncerts > 1 ? ca_der_len + 3 : 0);

    put24(&body, total);
    put24(&body, server_der_len);
    put(&body, server_der, server_der_len);
    if (ncerts > 1) {
        put24(&body, ca_der_len);
        put(&body, ca_der, ca_der_len);
    }
    hs(m, 11, body.b, body.n);
}

/* A whole TLS 1.2 session, by flight: the client's hello; the server's
 * SH, Certificate, ServerKeyExchange and ServerHelloDone in one record;
 * the client's key exchange, CCS and encrypted Finished; the server's CCS
 * and Finished; application data both ways. */
struct session {
    struct buf c1, s1, c2, s2, c3, s3;
};

static void session_12(struct session *s)
{
    static const uint8_t opaque[40] = { 0x5a, 0x17, 0xee, 0x01 };
    struct buf m = { .n = 0 };

    memset(s, 0, sizeof *s);
    client_hello_12(&s->c1, NULL, 0);
    server_hello_12(&m, (const uint8_t *)"0123456789abcdef0123456789abcdef", 32);
    certificate_msg(&m, 2);
    hs(&m, 12, opaque, sizeof opaque);
    hs(&m, 14, NULL, 0);
    record(&s->s1, 22, 0x0303, m.b, m.n);
    m.n = 0;
    hs(&m, 16, opaque, 33);
    record(&s->c2, 22, 0x0303, m.b, m.n);
    record(&s->c2, 20, 0x0303, (const uint8_t[]){ 1 }, 1);
    record(&s->c2, 22, 0x0303, opaque, sizeof opaque);        /* Finished, encrypted: not a message */
    record(&s->s2, 20, 0x0303, (const uint8_t[]){ 1 }, 1);
    record(&s->s2, 22, 0x0303, opaque, sizeof opaque);
    record(&s->c3, 23, 0x0303, opaque, sizeof opaque);
    record(&s->s3, 23, 0x0303, opaque, 17);
    record(&s->s3, 21, 0x0303, opaque, 26);                   /* an encrypted alert */
}

/* ---------------------------------------------------------------- checks */

static uint64_t ev(const struct app_ctx *ctx, unsigned e)
{
    return apptest_events(ctx, APP_PROTO_TLS, e);
}

static uint64_t ev_total(const struct app_ctx *ctx)
{
    return apptest_events_total(ctx, APP_PROTO_TLS);
}

static void assert_buf(const struct tls_tx *tx, enum tls_buffer b, const char *want)
{
    const uint8_t *p;
    uint32_t n;

    assert_int_equal(tls_tx_get(tx, b, &p, &n), 1);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
}

static void assert_no_buf(const struct tls_tx *tx, enum tls_buffer b)
{
    const uint8_t *p;
    uint32_t n;

    assert_int_equal(tls_tx_get(tx, b, &p, &n), 0);
}

static struct tls_tx *tls_tx0(void *st)
{
    struct tls_tx *tx = (struct tls_tx *)apptest_tx(P, st, 0);

    assert_non_null(tx);
    assert_null(apptest_tx(P, st, 1));          /* one transaction per session */
    return tx;
}

typedef int (*feeder)(struct app_ctx *, void *, enum app_dir, const struct buf *);

static int feed_whole(struct app_ctx *ctx, void *st, enum app_dir dir, const struct buf *b)
{
    return apptest_feed(P, ctx, st, dir, b->b, b->n, 0);
}

static int feed_bytewise(struct app_ctx *ctx, void *st, enum app_dir dir, const struct buf *b)
{
    return apptest_feed_bytes(P, ctx, st, dir, b->b, b->n);
}

/* The TLS 1.2 session through feed; checks every value and the EVE block. */
static void check_session_12(feeder feed)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct session *s = malloc(sizeof *s);
    struct tls_tx *tx;
    const uint8_t *der;
    uint32_t n;
    int64_t nb, na;
    char want[2048];

    assert_non_null(s);
    session_12(s);
    assert_int_equal(feed(ctx, st, APP_TO_SERVER, &s->c1), 0);
    tx = tls_tx0(st);
    assert_int_equal(tx->tx.progress[APP_TO_SERVER], APP_PROG_HEADERS);      /* rules on the SNI can run now */
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_NONE);
    assert_buf(tx, TLS_BUF_SNI, "www.example.com");
    assert_buf(tx, TLS_BUF_JA3_STRING, JA3_12);
    assert_buf(tx, TLS_BUF_JA3_HASH, JA3_12_HASH);
    assert_int_equal(tls_tx_version(tx, APP_TO_SERVER), 0x0303);
    assert_int_equal(tls_tx_version(tx, APP_TO_CLIENT), 0);
    assert_no_buf(tx, TLS_BUF_CERT_SUBJECT);

    assert_int_equal(feed(ctx, st, APP_TO_CLIENT, &s->s1), 0);
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_HEADERS);
    assert_int_equal(tls_tx_version(tx, APP_TO_CLIENT), 0x0303);
    assert_int_equal(tx->cipher, 0xc02f);
    assert_buf(tx, TLS_BUF_JA3S_STRING, JA3S_12);
    assert_buf(tx, TLS_BUF_JA3S_HASH, JA3S_12_HASH);
    assert_buf(tx, TLS_BUF_CERT_SUBJECT, SERVER_SUBJECT);
    assert_buf(tx, TLS_BUF_CERT_ISSUER, CA_SUBJECT);
    assert_buf(tx, TLS_BUF_CERT_SERIAL, SERVER_SERIAL);
    assert_buf(tx, TLS_BUF_CERT_FINGERPRINT, server_fp);
    assert_int_equal(tx->ncerts, 2);
    assert_string_equal(tx->certs[1].subject, CA_SUBJECT);
    assert_string_equal(tx->certs[1].issuer, CA_SUBJECT);
    assert_string_equal(tx->certs[1].serial, "01");
    assert_int_equal(tls_tx_cert(tx, 0, &der, &n), 1);
    assert_int_equal(n, server_der_len);
    assert_memory_equal(der, server_der, n);
    assert_int_equal(tls_tx_cert(tx, 1, &der, &n), 1);
    assert_memory_equal(der, ca_der, ca_der_len);
    assert_int_equal(tls_tx_cert(tx, 2, &der, &n), 0);
    assert_int_equal(tls_tx_validity(tx, &nb, &na), 1);
    assert_int_equal(nb, NOTBEFORE);
    assert_int_equal(na, NOTAFTER);

    feed(ctx, st, APP_TO_SERVER, &s->c2);
    assert_int_equal(tx->tx.progress[APP_TO_SERVER], APP_PROG_DONE);
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_HEADERS);
    feed(ctx, st, APP_TO_CLIENT, &s->s2);
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_DONE);
    assert_int_equal(feed(ctx, st, APP_TO_SERVER, &s->c3), 0);
    assert_int_equal(feed(ctx, st, APP_TO_CLIENT, &s->s3), 0);
    assert_int_equal(ev_total(ctx), 0);
    assert_false(tx->resumed);                  /* a new session id */

    snprintf(want, sizeof want,
             "{\"subject\":\"" SERVER_SUBJECT "\",\"issuerdn\":\"" CA_SUBJECT "\",\"serial\":\"" SERVER_SERIAL "\","
             "\"fingerprint\":\"%s\",\"sni\":\"www.example.com\",\"version\":\"TLS 1.2\","
             "\"notbefore\":\"2024-01-01T00:00:00\",\"notafter\":\"2034-01-01T00:00:00\","
             "\"ja3\":{\"hash\":\"" JA3_12_HASH "\",\"string\":\"" JA3_12 "\"},"
             "\"ja3s\":{\"hash\":\"" JA3S_12_HASH "\",\"string\":\"" JA3S_12 "\"},"
             "\"client_alpns\":[\"h2\",\"http/1.1\"],\"server_alpns\":[\"h2\"]}", server_fp);
    assert_string_equal(apptest_eve(P, st, &tx->tx), want);
    apptest_state_free(P, ctx, st);
    free(s);
}

static void test_tls12_chain(void **unused)
{
    (void)unused;
    check_session_12(feed_whole);
}

/* Every record split byte by byte: the same values. */
static void test_tls12_bytewise(void **unused)
{
    (void)unused;
    check_session_12(feed_bytewise);
}

/* Handshake messages across records: the Certificate message cut in three
 * records, and a record holding the end of one message and a whole other. */
static void test_message_across_records(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct buf m = { .n = 0 }, recs = { .n = 0 }, c1 = { .n = 0 };
    size_t cut1 = 30, cut2 = 400;
    struct tls_tx *tx;

    (void)unused;
    client_hello_12(&c1, NULL, 0);
    apptest_feed(P, ctx, st, APP_TO_SERVER, c1.b, c1.n, 0);
    server_hello_12(&m, NULL, 0);
    certificate_msg(&m, 2);
    hs(&m, 14, NULL, 0);
    record(&recs, 22, 0x0303, m.b, cut1);
    record(&recs, 22, 0x0303, m.b + cut1, cut2 - cut1);
    record(&recs, 22, 0x0303, m.b + cut2, m.n - cut2);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_CLIENT, recs.b, recs.n, 0), 0);
    tx = tls_tx0(st);
    assert_buf(tx, TLS_BUF_CERT_SUBJECT, SERVER_SUBJECT);
    assert_buf(tx, TLS_BUF_JA3S_STRING, "771,49199,65281-11-16");
    assert_int_equal(tx->ncerts, 2);
    assert_int_equal(ev_total(ctx), 0);
    apptest_state_free(P, ctx, st);
}

/* ClientHello and ServerHello only: the server resumes the session (it
 * echoes the client's id), no certificate; the flow ends. */
static void test_no_certificate(void **unused)
{
    static const uint8_t sid[32] = "resume-me-resume-me-resume-me-!";
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct buf c1 = { .n = 0 }, m = { .n = 0 }, s1 = { .n = 0 };
    struct tls_tx *tx;

    (void)unused;
    client_hello_12(&c1, sid, 32);
    server_hello_12(&m, sid, 32);
    record(&s1, 22, 0x0303, m.b, m.n);
    apptest_feed(P, ctx, st, APP_TO_SERVER, c1.b, c1.n, 0);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, s1.b, s1.n, 0);
    tx = tls_tx0(st);
    assert_true(tx->resumed);
    assert_int_equal(tx->ncerts, 0);
    assert_no_buf(tx, TLS_BUF_CERT_SUBJECT);
    assert_no_buf(tx, TLS_BUF_CERT_FINGERPRINT);
    assert_buf(tx, TLS_BUF_SNI, "www.example.com");
    assert_int_equal(tx->tx.progress[APP_TO_SERVER], APP_PROG_HEADERS);
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_HEADERS);
    apptest_feed(P, ctx, st, APP_TO_SERVER, NULL, 0, APP_IN_EOF);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, NULL, 0, APP_IN_EOF);
    assert_int_equal(tx->tx.progress[APP_TO_SERVER], APP_PROG_DONE);
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_DONE);
    assert_string_equal(apptest_eve(P, st, &tx->tx),
                        "{\"session_resumed\":true,\"sni\":\"www.example.com\",\"version\":\"TLS 1.2\","
                        "\"ja3\":{\"hash\":\"" JA3_12_HASH "\",\"string\":\"" JA3_12 "\"},"
                        "\"ja3s\":{\"hash\":\"" JA3S_12_HASH "\",\"string\":\"" JA3S_12 "\"},"
                        "\"client_alpns\":[\"h2\",\"http/1.1\"],\"server_alpns\":[\"h2\"]}");
    assert_int_equal(ev_total(ctx), 0);
    apptest_state_free(P, ctx, st);
}

/* A ClientHello with GREASE everywhere it may be: in the cipher suites,
 * extensions, supported groups and supported versions. JA3 leaves the
 * GREASE values out (0x1a1a, 0x2a2a, 0x3a3a, 0xfafa; 0x4a4a only sits in
 * supported_versions, which JA3 does not read) and keeps 0x0a0b, which
 * only looks like one:
 *   version 0x0303               771
 *   ciphers 1a1a 1301 1302 c02b 0a0b  -> 4865-4866-49195-2571
 *   extensions 2a2a 0000 0017 000a 000b 002b 0033 fafa -> 0-23-10-11-43-51
 *   groups 3a3a 001d 0017        -> 29-23
 *   point formats 00 01 02       -> 0-1-2 */
#define JA3_GREASE "771,4865-4866-49195-2571,0-23-10-11-43-51,29-23,0-1-2"
#define JA3_GREASE_HASH "a15bc96e15929eb718b08fa7bf5504b8"

static void client_hello_grease(struct buf *rec)
{
    static const uint16_t ciphers[] = { 0x1a1a, 0x1301, 0x1302, 0xc02b, 0x0a0b };
    struct buf e = { .n = 0 }, body = { .n = 0 }, m = { .n = 0 };

    ext(&e, 0x2a2a, NULL, 0);
    sni_ext(&e, "grease.example");
    ext(&e, 23, NULL, 0);
    ext(&e, 10, (const uint8_t[]){ 0, 6, 0x3a, 0x3a, 0, 29, 0, 23 }, 8);
    ext(&e, 11, (const uint8_t[]){ 3, 0, 1, 2 }, 4);
    ext(&e, 43, (const uint8_t[]){ 6, 0x4a, 0x4a, 3, 4, 3, 3 }, 7);
    ext(&e, 51, (const uint8_t[]){ 0, 6, 0, 29, 0, 2, 0xaa, 0xbb }, 8);
    ext(&e, 0xfafa, (const uint8_t[]){ 0 }, 1);
    hello(&body, 0, 0x0303, NULL, (const uint8_t *)"sid", 3, ciphers, 5, &e);
    hs(&m, 1, body.b, body.n);
    record(rec, 22, 0x0301, m.b, m.n);
}

static void test_grease_ja3(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct buf c1 = { .n = 0 };
    struct tls_tx *tx;

    (void)unused;
    client_hello_grease(&c1);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_SERVER, c1.b, c1.n, 0), 0);
    tx = tls_tx0(st);
    assert_buf(tx, TLS_BUF_JA3_STRING, JA3_GREASE);
    assert_buf(tx, TLS_BUF_JA3_HASH, JA3_GREASE_HASH);
    assert_buf(tx, TLS_BUF_SNI, "grease.example");
    assert_int_equal(tx->legacy_version[APP_TO_SERVER], 0x0303);
    assert_int_equal(tls_tx_version(tx, APP_TO_SERVER), 0x0304);   /* the first listed, past GREASE */
    assert_int_equal(ev_total(ctx), 0);
    apptest_state_free(P, ctx, st);
}

/* TLS 1.3 after a HelloRetryRequest: the ServerHello selecting 0x0304
 * ends the visible handshake both ways; the encrypted rest, in records
 * of any type, counts nothing. */
static void test_tls13(void **unused)
{
    static const uint8_t hrr[32] = {
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
        0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
    };
    static const uint16_t cipher[] = { 0x1301 };
    static const uint8_t junk[300] = { 0x17, 0x03, 0x03, 0xff, 0xff, 0x80 };
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct buf c1 = { .n = 0 }, e = { .n = 0 }, body = { .n = 0 }, m = { .n = 0 }, s = { .n = 0 };
    struct tls_tx *tx;

    (void)unused;
    client_hello_grease(&c1);
    apptest_feed(P, ctx, st, APP_TO_SERVER, c1.b, c1.n, 0);
    ext(&e, 43, (const uint8_t[]){ 3, 4 }, 2);
    ext(&e, 51, (const uint8_t[]){ 0, 23 }, 2);
    hello(&body, 1, 0x0303, hrr, (const uint8_t *)"sid", 3, cipher, 1, &e);
    hs(&m, 2, body.b, body.n);
    record(&s, 22, 0x0303, m.b, m.n);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, s.b, s.n, 0);
    tx = tls_tx0(st);
    assert_false(tx->have_server_hello);        /* a retry request is not the ServerHello */
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_NONE);
    c1.n = 0;
    client_hello_12(&c1, NULL, 0);              /* the second ClientHello does not replace the first */
    apptest_feed(P, ctx, st, APP_TO_SERVER, c1.b, c1.n, 0);
    assert_buf(tx, TLS_BUF_JA3_HASH, JA3_GREASE_HASH);

    e.n = body.n = m.n = s.n = 0;
    ext(&e, 43, (const uint8_t[]){ 3, 4 }, 2);
    ext(&e, 51, (const uint8_t[]){ 0, 29, 0, 2, 0xaa, 0xbb }, 6);
    hello(&body, 1, 0x0303, NULL, (const uint8_t *)"sid", 3, cipher, 1, &e);
    hs(&m, 2, body.b, body.n);
    record(&s, 22, 0x0303, m.b, m.n);
    record(&s, 20, 0x0303, (const uint8_t[]){ 1 }, 1);          /* middlebox compatibility */
    record(&s, 23, 0x0303, junk, sizeof junk);                   /* EncryptedExtensions, Certificate, ... */
    record(&s, 23, 0x0303, junk, 40);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_CLIENT, s.b, s.n, 0), 0);
    assert_true(tx->tls13);
    assert_int_equal(tls_tx_version(tx, APP_TO_CLIENT), 0x0304);
    assert_int_equal(tx->legacy_version[APP_TO_CLIENT], 0x0303);
    assert_int_equal(tx->tx.progress[APP_TO_SERVER], APP_PROG_DONE);
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_DONE);
    assert_buf(tx, TLS_BUF_JA3S_STRING, "771,4865,43-51");
    assert_buf(tx, TLS_BUF_JA3S_HASH, "f4febc55ea12b31ae17cfb7e614afda8");
    assert_false(tx->resumed);                  /* TLS 1.3 echoes the id: not a resumption */
    s.n = 0;
    record(&s, 20, 0x0303, (const uint8_t[]){ 1 }, 1);
    record(&s, 23, 0x0303, junk, 60);
    record(&s, 22, 0x0303, junk, 100);          /* nonsense inside: not looked at */
    record(&s, 21, 0x0303, junk, 19);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_SERVER, s.b, s.n, 0), 0);
    assert_int_equal(ev_total(ctx), 0);
    assert_no_buf(tx, TLS_BUF_CERT_SUBJECT);
    assert_string_equal(apptest_eve(P, st, &tx->tx),
                        "{\"sni\":\"grease.example\",\"version\":\"TLS 1.3\","
                        "\"ja3\":{\"hash\":\"" JA3_GREASE_HASH "\",\"string\":\"" JA3_GREASE "\"},"
                        "\"ja3s\":{\"hash\":\"f4febc55ea12b31ae17cfb7e614afda8\",\"string\":\"771,4865,43-51\"}}");
    apptest_state_free(P, ctx, st);
}

/* An SSLv2-compatible ClientHello (offering TLS 1.0), answered with TLS. */
static void test_sslv2_hello(void **unused)
{
    static const uint8_t v2[] = {
        0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10,
        0x00, 0x00, 0x04, 0x00, 0x00, 0x05, 0x00, 0x00, 0x0a, 0x01, 0x00, 0x80, 0x07, 0x00, 0xc0,
        0x03, 0x00, 0x80, 0x00, 0x00, 0x2f,
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
    };
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct buf m = { .n = 0 }, s = { .n = 0 };
    struct tls_tx *tx;

    (void)unused;
    assert_int_equal(P->probe(v2, sizeof v2, APP_TO_SERVER), 1);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_SERVER, v2, 10, 0), 0);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_SERVER, v2 + 10, sizeof v2 - 10, 0), 0);
    tx = tls_tx0(st);
    assert_true(tx->sslv2);
    assert_int_equal(tls_tx_version(tx, APP_TO_SERVER), 0x0301);
    assert_int_equal(tx->tx.progress[APP_TO_SERVER], APP_PROG_HEADERS);
    assert_no_buf(tx, TLS_BUF_JA3_STRING);
    server_hello_12(&m, NULL, 0);
    record(&s, 22, 0x0303, m.b, m.n);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, s.b, s.n, 0);
    assert_int_equal(tls_tx_version(tx, APP_TO_CLIENT), 0x0303);
    assert_int_equal(ev_total(ctx), 0);
    /* near miss: lengths that do not add up */
    apptest_state_free(P, ctx, st);
    st = apptest_state(P, ctx);
    memcpy(m.b, v2, sizeof v2);
    m.b[10] = 0x11;                             /* challenge 17 bytes, 16 there */
    apptest_feed(P, ctx, st, APP_TO_SERVER, m.b, sizeof v2, 0);
    assert_int_equal(ev(ctx, TLS_EV_INVALID_SSLV2_HEADER), 1);
    apptest_state_free(P, ctx, st);
}

/* Record-level anomalies. */
static void test_record_anomalies(void **unused)
{
    static const uint8_t pad[64];
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct buf c1 = { .n = 0 }, s = { .n = 0 };
    uint8_t hb[3 + 16] = { 1, 0x40, 0x00 };      /* heartbeat request claiming 16 KB */

    (void)unused;
    client_hello_12(&c1, NULL, 0);
    c1.b[1] = 2;                                 /* record version 2.1 */
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_SERVER, c1.b, c1.n, 0), 0);
    assert_int_equal(ev(ctx, TLS_EV_INVALID_RECORD_VERSION), 1);
    record(&s, 21, 0x0303, (const uint8_t[]){ 2, 40 }, 2);     /* fatal alert */
    record(&s, 21, 0x0303, (const uint8_t[]){ 1, 0, 0 }, 3);   /* alert of 3 bytes */
    record(&s, 21, 0x0303, (const uint8_t[]){ 1, 0 }, 2);      /* near miss: a warning */
    record(&s, 24, 0x0303, hb, sizeof hb);
    hb[1] = 0;
    hb[2] = 0;
    record(&s, 24, 0x0303, hb, sizeof hb);                     /* near miss: empty payload */
    hb[0] = 7;
    record(&s, 24, 0x0303, hb, sizeof hb);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_CLIENT, s.b, s.n, 0), 0);
    assert_int_equal(ev(ctx, TLS_EV_ERROR_MESSAGE_ENCOUNTERED), 1);
    assert_int_equal(ev(ctx, TLS_EV_INVALID_ALERT_MESSAGE), 1);
    assert_int_equal(ev(ctx, TLS_EV_HEARTBEAT_MESSAGE), 3);
    assert_int_equal(ev(ctx, TLS_EV_OVERFLOW_HEARTBEAT_MESSAGE), 1);
    assert_int_equal(ev(ctx, TLS_EV_INVALID_HEARTBEAT_MESSAGE), 1);

    s.n = 0;                                     /* 300 empty records in one call */
    for (int i = 0; i < 300; i++)
        record(&s, 23, 0x0303, pad, 0);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, s.b, s.n, 0);
    assert_int_equal(ev(ctx, TLS_EV_TOO_MANY_RECORDS_IN_PACKET), 1);
    s.n = 0;                                     /* near miss: 255 */
    for (int i = 0; i < TLS_MAX_RECORDS_PER_CALL; i++)
        record(&s, 23, 0x0303, pad, 0);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, s.b, s.n, 0);
    assert_int_equal(ev(ctx, TLS_EV_TOO_MANY_RECORDS_IN_PACKET), 1);

    s.n = 0;
    put8(&s, 22);
    put16(&s, 0x0303);
    put16(&s, TLS_MAX_RECORD + 1);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_CLIENT, s.b, s.n, 0), -1);
    assert_int_equal(ev(ctx, TLS_EV_INVALID_RECORD_LENGTH), 1);
    apptest_state_free(P, ctx, st);

    st = apptest_state(P, ctx);                 /* plain HTTP on port 443 */
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_SERVER, "GET / HTTP/1.1\r\n", 16, 0), -1);
    assert_int_equal(ev(ctx, TLS_EV_INVALID_RECORD_TYPE), 1);
    apptest_state_free(P, ctx, st);
}

/* Handshake-level anomalies. */
static void test_handshake_anomalies(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct buf e = { .n = 0 }, body = { .n = 0 }, m = { .n = 0 }, r = { .n = 0 };
    static const uint16_t ciphers[] = { 0x002f };
    struct tls_tx *tx;

    (void)unused;
    sni_ext(&e, "first.example");
    sni_ext(&e, "second.example");
    ext(&e, 0, (const uint8_t[]){ 0, 4, 1, 0, 1, 'x' }, 6);    /* a third, of type 1 */
    hello(&body, 0, 0x0303, NULL, NULL, 0, ciphers, 1, &e);
    hs(&m, 1, body.b, body.n);
    hs(&m, 99, NULL, 0);                                       /* no such message */
    hs(&m, 2, body.b, body.n);                                 /* a ServerHello from the client */
    record(&r, 22, 0x0301, m.b, m.n);
    apptest_feed(P, ctx, st, APP_TO_SERVER, r.b, r.n, 0);
    tx = tls_tx0(st);
    assert_buf(tx, TLS_BUF_SNI, "first.example");
    assert_int_equal(ev(ctx, TLS_EV_MULTIPLE_SNI_EXTENSIONS), 2);
    assert_int_equal(ev(ctx, TLS_EV_INVALID_HANDSHAKE_MESSAGE), 2);
    apptest_state_free(P, ctx, st);

    st = apptest_state(P, ctx);
    e.n = body.n = m.n = r.n = 0;
    ext(&e, 0, (const uint8_t[]){ 0, 4, 1, 0, 1, 'x' }, 6);    /* SNI of type 1 */
    hello(&body, 0, 0x0303, NULL, NULL, 0, ciphers, 1, &e);
    hs(&m, 1, body.b, body.n);
    record(&r, 22, 0x0301, m.b, m.n);
    apptest_feed(P, ctx, st, APP_TO_SERVER, r.b, r.n, 0);
    tx = tls_tx0(st);
    assert_no_buf(tx, TLS_BUF_SNI);
    assert_int_equal(ev(ctx, TLS_EV_INVALID_SNI_TYPE), 1);
    assert_buf(tx, TLS_BUF_JA3_STRING, "771,47,0,,");          /* a hello without groups: empty fields */
    apptest_state_free(P, ctx, st);

    st = apptest_state(P, ctx);                 /* a ClientHello cut inside its extensions */
    m.n = r.n = 0;
    hs(&m, 1, body.b, body.n - 3);
    record(&r, 22, 0x0301, m.b, m.n);
    apptest_feed(P, ctx, st, APP_TO_SERVER, r.b, r.n, 0);
    assert_int_equal(ev(ctx, TLS_EV_HANDSHAKE_INVALID_LENGTH), 1);
    tx = tls_tx0(st);
    assert_false(tx->have_client_hello);
    assert_no_buf(tx, TLS_BUF_JA3_STRING);
    apptest_state_free(P, ctx, st);

    st = apptest_state(P, ctx);                 /* a 256-byte host name */
    e.n = body.n = m.n = r.n = 0;
    {
        char name[257];

        memset(name, 'a', 256);
        name[256] = '\0';
        sni_ext(&e, name);
    }
    hello(&body, 0, 0x0303, NULL, NULL, 0, ciphers, 1, &e);
    hs(&m, 1, body.b, body.n);
    record(&r, 22, 0x0301, m.b, m.n);
    apptest_feed(P, ctx, st, APP_TO_SERVER, r.b, r.n, 0);
    assert_int_equal(ev(ctx, TLS_EV_INVALID_SNI_LENGTH), 1);
    apptest_state_free(P, ctx, st);

    st = apptest_state(P, ctx);                 /* a handshake message too long to gather */
    r.n = 0;
    put8(&r, 22);
    put16(&r, 0x0301);
    put16(&r, 8);
    put8(&r, 11);
    put24(&r, TLS_MAX_HANDSHAKE + 1);
    put(&r, "abcd", 4);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, r.b, r.n, 0);
    assert_int_equal(ev(ctx, TLS_EV_HANDSHAKE_TOO_LONG), 1);
    assert_true(ctx->mem.used < 4096);
    apptest_state_free(P, ctx, st);
}

/* Certificate anomalies and the chain limit. */
static void test_certificate_anomalies(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st;
    struct buf body = { .n = 0 }, m = { .n = 0 }, r = { .n = 0 };
    struct tls_tx *tx;

    (void)unused;
    ctx->limits.max_certs = 1;
    st = apptest_state(P, ctx);
    certificate_msg(&m, 2);
    record(&r, 22, 0x0303, m.b, m.n);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, r.b, r.n, 0);
    tx = tls_tx0(st);
    assert_int_equal(tx->ncerts, 1);
    assert_int_equal(ev(ctx, TLS_EV_TOO_MANY_CERTIFICATES), 1);
    assert_buf(tx, TLS_BUF_CERT_SUBJECT, SERVER_SUBJECT);
    apptest_state_free(P, ctx, st);

    ctx = apptest_ctx();
    st = apptest_state(P, ctx);
    put24(&body, 3 + 40 + 3 + server_der_len);  /* a certificate that is not DER, then a good one */
    put24(&body, 40);
    put(&body, "this is not a certificate at all, really", 40);
    put24(&body, server_der_len);
    put(&body, server_der, server_der_len);
    m.n = r.n = 0;
    hs(&m, 11, body.b, body.n);
    record(&r, 22, 0x0303, m.b, m.n);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, r.b, r.n, 0);
    tx = tls_tx0(st);
    assert_int_equal(ev(ctx, TLS_EV_CERTIFICATE_INVALID_DER), 1);
    assert_int_equal(tx->ncerts, 2);
    assert_no_buf(tx, TLS_BUF_CERT_SUBJECT);    /* the first certificate is the server's */
    assert_string_equal(tx->certs[1].subject, SERVER_SUBJECT);
    apptest_state_free(P, ctx, st);

    st = apptest_state(P, ctx);
    body.n = m.n = r.n = 0;
    put24(&body, 3 + server_der_len + 10);       /* the list says 10 bytes more than there are */
    put24(&body, server_der_len);
    put(&body, server_der, server_der_len);
    hs(&m, 11, body.b, body.n);
    record(&r, 22, 0x0303, m.b, m.n);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, r.b, r.n, 0);
    assert_int_equal(ev(ctx, TLS_EV_INVALID_CERTIFICATE), 1);
    assert_buf(tls_tx0(st), TLS_BUF_CERT_SUBJECT, SERVER_SUBJECT);
    apptest_state_free(P, ctx, st);

    st = apptest_state(P, ctx);
    body.n = m.n = r.n = 0;
    put24(&body, 3 + server_der_len);
    put24(&body, server_der_len + 5);            /* the certificate overruns the list */
    put(&body, server_der, server_der_len);
    hs(&m, 11, body.b, body.n);
    record(&r, 22, 0x0303, m.b, m.n);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, r.b, r.n, 0);
    assert_int_equal(ev(ctx, TLS_EV_CERTIFICATE_INVALID_LENGTH), 1);
    assert_int_equal(tls_tx0(st)->ncerts, 0);
    apptest_state_free(P, ctx, st);
}

/* A gap in the server's flight: reading resumes at the next record if the
 * data after the gap starts one, and the direction ends if not. */
static void test_gap(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct session *s = malloc(sizeof *s);
    struct tls_tx *tx;

    (void)unused;
    assert_non_null(s);
    session_12(s);
    apptest_feed(P, ctx, st, APP_TO_SERVER, s->c1.b, s->c1.n, 0);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, s->s1.b, 200, 0);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, NULL, s->s1.n - 200, APP_IN_GAP);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_CLIENT, s->s2.b, s->s2.n, 0), 0);
    tx = tls_tx0(st);
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_DONE);      /* its CCS was read */
    assert_buf(tx, TLS_BUF_JA3S_STRING, JA3S_12);
    assert_no_buf(tx, TLS_BUF_CERT_SUBJECT);
    apptest_feed(P, ctx, st, APP_TO_SERVER, s->c2.b, 10, 0);
    apptest_feed(P, ctx, st, APP_TO_SERVER, NULL, 20, APP_IN_GAP);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_SERVER, s->c2.b + 30, s->c2.n - 30, 0), 0);
    assert_int_equal(tx->tx.progress[APP_TO_SERVER], APP_PROG_DONE);      /* not a record: ended */
    assert_int_equal(ev_total(ctx), 0);
    apptest_state_free(P, ctx, st);
    free(s);
}

/* Past the memory cap: counted, nothing leaks, later sessions work. */
static void test_memcap(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct session *s = malloc(sizeof *s);

    (void)unused;
    assert_non_null(s);
    session_12(s);
    apptest_feed(P, ctx, st, APP_TO_SERVER, s->c1.b, s->c1.n, 0);
    ctx->mem.cap = ctx->mem.used + 300;
    for (size_t i = 0; i < s->s1.n; i += 100)
        apptest_feed(P, ctx, st, APP_TO_CLIENT, s->s1.b + i, s->s1.n - i < 100 ? s->s1.n - i : 100, 0);
    assert_true(ev(ctx, TLS_EV_MEMCAP) >= 1);
    assert_int_equal(tls_tx0(st)->ncerts, 0);
    apptest_state_free(P, ctx, st);
    ctx->mem.cap = 64u << 20;
    st = apptest_state(P, ctx);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, s->s1.b, s->s1.n, 0);
    assert_int_equal(tls_tx0(st)->ncerts, 2);
    apptest_state_free(P, ctx, st);
    free(s);
}

static void test_probe(void **unused)
{
    struct buf c1 = { .n = 0 }, m = { .n = 0 }, s = { .n = 0 };

    (void)unused;
    client_hello_12(&c1, NULL, 0);
    assert_int_equal(P->probe(c1.b, c1.n, APP_TO_SERVER), 1);
    assert_int_equal(P->probe(c1.b, 5, APP_TO_SERVER), -1);
    assert_int_equal(P->probe(c1.b, c1.n, APP_TO_CLIENT), 0);     /* a ClientHello from the server */
    server_hello_12(&m, NULL, 0);
    record(&s, 22, 0x0303, m.b, m.n);
    assert_int_equal(P->probe(s.b, s.n, APP_TO_CLIENT), 1);
    assert_int_equal(P->probe((const uint8_t *)"\x16\x03\x07\x00\x10\x01", 6, APP_TO_SERVER), 0);
    assert_int_equal(P->probe((const uint8_t *)"GET /", 5, APP_TO_SERVER), 0);
    assert_int_equal(P->probe((const uint8_t *)"SSH-2.0", 7, APP_TO_CLIENT), 0);
}

static void test_version_names(void **unused)
{
    char buf[24];

    (void)unused;
    assert_string_equal(tls_version_name(0, buf), "UNDETERMINED");
    assert_string_equal(tls_version_name(0x0300, buf), "SSLv3");
    assert_string_equal(tls_version_name(0x0301, buf), "TLSv1");
    assert_string_equal(tls_version_name(0x0302, buf), "TLS 1.1");
    assert_string_equal(tls_version_name(0x0304, buf), "TLS 1.3");
    assert_string_equal(tls_version_name(0x7f1c, buf), "TLS 1.3 draft-28");
    assert_string_equal(tls_version_name(0x0305, buf), "0x0305");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls12_chain),
        cmocka_unit_test(test_tls12_bytewise),
        cmocka_unit_test(test_message_across_records),
        cmocka_unit_test(test_no_certificate),
        cmocka_unit_test(test_grease_ja3),
        cmocka_unit_test(test_tls13),
        cmocka_unit_test(test_sslv2_hello),
        cmocka_unit_test(test_record_anomalies),
        cmocka_unit_test(test_handshake_anomalies),
        cmocka_unit_test(test_certificate_anomalies),
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_memcap),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_version_names),
    };

    return cmocka_run_group_tests(tests, make_certs, NULL);
}
