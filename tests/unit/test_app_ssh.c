/* test_app_ssh.c - unit tests for the SSH parser (sensor/app/ssh.c): the
 * server's banner first (sides by direction, never by order), KEXINIT in
 * both directions with known hassh values, NEWKEYS ending the transaction,
 * banners and packets split byte by byte, lines before the server's
 * banner, garbage after a banner, long and invalid banners, gaps, the
 * memory cap, probing. The expected hashes are MD5s computed outside
 * (python3 hashlib) of the strings the tests spell out. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apptest.h"
#include "ssh.h"

static const struct app_parser *P = &app_parser_ssh;

#define SERVER_BANNER "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n"
#define CLIENT_BANNER "SSH-2.0-PuTTY_Release_0.78\r\n"

#define KEX "curve25519-sha256,ecdh-sha2-nistp256"
#define CLIENT_HASSH_STRING KEX ";aes128-ctr,aes256-gcm@openssh.com;hmac-sha2-256;none"
#define CLIENT_HASSH "afde4c3973668bf8076d0e219dab18c3"
#define SERVER_HASSH_STRING KEX ";chacha20-poly1305@openssh.com;umac-64@openssh.com;none,zlib@openssh.com"
#define SERVER_HASSH "561b5cafaf869f04abf993db41262eb6"

/* The KEXINIT name-lists of each side: kex, host key, enc c2s, enc s2c,
 * mac c2s, mac s2c, comp c2s, comp s2c, lang c2s, lang s2c. The lists of
 * the other direction differ, so a side using the wrong ones shows. */
static const char *const client_lists[10] = {
    KEX, "ssh-ed25519", "aes128-ctr,aes256-gcm@openssh.com", "aes128-ctr", "hmac-sha2-256", "hmac-sha1",
    "none", "none,zlib", "", "",
};
static const char *const server_lists[10] = {
    KEX, "rsa-sha2-512", "aes128-ctr", "chacha20-poly1305@openssh.com", "hmac-sha1", "umac-64@openssh.com",
    "none", "none,zlib@openssh.com", "", "",
};

struct pkt {
    uint8_t b[2048];
    size_t n;
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A binary packet of payload[0..n), padded to a multiple of 8. */
static void packet(struct pkt *k, const uint8_t *payload, size_t n)
{
    size_t pad = 8 - (5 + n) % 8;

    if (pad < 4)
        pad += 8;
    put32(k->b, (uint32_t)(1 + n + pad));
    k->b[4] = (uint8_t)pad;
    memcpy(k->b + 5, payload, n);
    memset(k->b + 5 + n, 0, pad);
    k->n = 5 + n + pad;
}

static void kexinit(struct pkt *k, const char *const lists[10])
{
    uint8_t p[1024];
    size_t n = 0;

    p[n++] = 20;
    memset(p + n, 0xab, 16);                    /* cookie */
    n += 16;
    for (int i = 0; i < 10; i++) {
        size_t l = strlen(lists[i]);

        put32(p + n, (uint32_t)l);
        memcpy(p + n + 4, lists[i], l);
        n += 4 + l;
    }
    p[n++] = 0;                                 /* first_kex_packet_follows */
    put32(p + n, 0);
    n += 4;
    packet(k, p, n);
}

static void newkeys(struct pkt *k)
{
    packet(k, (const uint8_t[]){ 21 }, 1);
}

static uint64_t ev(const struct app_ctx *ctx, unsigned e)
{
    return apptest_events(ctx, APP_PROTO_SSH, e);
}

static uint64_t ev_total(const struct app_ctx *ctx)
{
    return apptest_events_total(ctx, APP_PROTO_SSH);
}

static void assert_buf(const struct ssh_tx *tx, enum app_dir dir, enum ssh_buffer b, const char *want)
{
    const uint8_t *p;
    uint32_t n;

    assert_int_equal(ssh_tx_get(tx, dir, b, &p, &n), 1);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
}

/* The server speaks first, its KEXINIT in the same segment as its banner;
 * the client answers; NEWKEYS both ways ends the transaction. */
static void test_server_first(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct pkt k, nk;
    uint8_t seg[4096];
    size_t n;
    struct ssh_tx *tx;
    const uint8_t *p;
    uint32_t len;

    (void)unused;
    memcpy(seg, SERVER_BANNER, strlen(SERVER_BANNER));
    n = strlen(SERVER_BANNER);
    kexinit(&k, server_lists);
    memcpy(seg + n, k.b, k.n);
    n += k.n;
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_CLIENT, seg, n, 0), 0);
    tx = (struct ssh_tx *)apptest_tx(P, st, 0);
    assert_non_null(tx);
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_HEADERS);
    assert_int_equal(tx->tx.progress[APP_TO_SERVER], APP_PROG_NONE);
    assert_buf(tx, APP_TO_CLIENT, SSH_BUF_PROTO, "2.0");
    assert_buf(tx, APP_TO_CLIENT, SSH_BUF_SOFTWARE, "OpenSSH_8.9p1");
    assert_memory_equal(tx->side[APP_TO_CLIENT].banner + tx->side[APP_TO_CLIENT].comments_off, "Ubuntu-3", 8);
    assert_int_equal(ssh_tx_get(tx, APP_TO_SERVER, SSH_BUF_SOFTWARE, &p, &len), 0);   /* not the client's */
    assert_buf(tx, APP_TO_CLIENT, SSH_BUF_HASSH_STRING, SERVER_HASSH_STRING);
    assert_buf(tx, APP_TO_CLIENT, SSH_BUF_HASSH, SERVER_HASSH);

    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_SERVER, CLIENT_BANNER, strlen(CLIENT_BANNER), 0), 0);
    kexinit(&k, client_lists);
    apptest_feed(P, ctx, st, APP_TO_SERVER, k.b, k.n, 0);
    assert_buf(tx, APP_TO_SERVER, SSH_BUF_PROTO, "2.0");
    assert_buf(tx, APP_TO_SERVER, SSH_BUF_SOFTWARE, "PuTTY_Release_0.78");
    assert_buf(tx, APP_TO_SERVER, SSH_BUF_HASSH_STRING, CLIENT_HASSH_STRING);
    assert_buf(tx, APP_TO_SERVER, SSH_BUF_HASSH, CLIENT_HASSH);
    assert_buf(tx, APP_TO_CLIENT, SSH_BUF_SOFTWARE, "OpenSSH_8.9p1");          /* unchanged */

    /* key exchange messages, then NEWKEYS: the server's side is done */
    packet(&k, (const uint8_t[]){ 31, 1, 2, 3, 4, 5, 6, 7, 8 }, 9);
    newkeys(&nk);
    memcpy(seg, k.b, k.n);
    memcpy(seg + k.n, nk.b, nk.n);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, seg, k.n + nk.n, 0);
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_DONE);
    assert_int_equal(tx->tx.progress[APP_TO_SERVER], APP_PROG_HEADERS);
    /* the encrypted rest is skipped, whatever it looks like */
    memset(seg, 0xff, 512);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_CLIENT, seg, 512, 0), 0);
    apptest_feed(P, ctx, st, APP_TO_SERVER, nk.b, nk.n, 0);
    assert_int_equal(tx->tx.progress[APP_TO_SERVER], APP_PROG_DONE);
    apptest_feed(P, ctx, st, APP_TO_SERVER, seg, 512, 0);
    assert_int_equal(ev_total(ctx), 0);
    assert_null(apptest_tx(P, st, 1));
    assert_int_equal(ctx->stats.tx[APP_PROTO_SSH], 1);
    assert_string_equal(apptest_eve(P, st, &tx->tx),
                        "{\"client\":{\"proto_version\":\"2.0\",\"software_version\":\"PuTTY_Release_0.78\","
                        "\"hassh\":{\"hash\":\"" CLIENT_HASSH "\",\"string\":\"" CLIENT_HASSH_STRING "\"}},"
                        "\"server\":{\"proto_version\":\"2.0\",\"software_version\":\"OpenSSH_8.9p1\","
                        "\"hassh\":{\"hash\":\"" SERVER_HASSH "\",\"string\":\"" SERVER_HASSH_STRING "\"}}}");
    apptest_state_free(P, ctx, st);
}

/* Banners and a KEXINIT one byte per call; lines before the server's
 * banner; a banner with LF only and no comments. */
static void test_split(void **unused)
{
    static const char server[] = "Welcome to the box\r\n\r\nSSH-1.99-Cisco-1.25\n";
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct pkt k;
    struct ssh_tx *tx;

    (void)unused;
    assert_int_equal(apptest_feed_bytes(P, ctx, st, APP_TO_CLIENT, server, strlen(server)), 0);
    assert_int_equal(apptest_feed_bytes(P, ctx, st, APP_TO_SERVER, CLIENT_BANNER, strlen(CLIENT_BANNER)), 0);
    tx = (struct ssh_tx *)apptest_tx(P, st, 0);
    assert_buf(tx, APP_TO_CLIENT, SSH_BUF_PROTO, "1.99");
    assert_buf(tx, APP_TO_CLIENT, SSH_BUF_SOFTWARE, "Cisco-1.25");
    assert_int_equal(tx->side[APP_TO_CLIENT].comments_len, 0);
    assert_buf(tx, APP_TO_SERVER, SSH_BUF_SOFTWARE, "PuTTY_Release_0.78");
    kexinit(&k, client_lists);
    apptest_feed_bytes(P, ctx, st, APP_TO_SERVER, k.b, k.n);
    assert_buf(tx, APP_TO_SERVER, SSH_BUF_HASSH, CLIENT_HASSH);
    assert_int_equal(ev_total(ctx), 0);
    apptest_state_free(P, ctx, st);
}

/* Garbage after the banner: an impossible packet length ends the direction
 * (invalid_record) without a hassh; a later KEXINIT is not read. */
static void test_garbage_after_banner(void **unused)
{
    static const char junk[] = SERVER_BANNER "HTTP/1.1 400 Bad Request\r\n\r\n";
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct pkt k;
    struct ssh_tx *tx;
    const uint8_t *p;
    uint32_t n;

    (void)unused;
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_CLIENT, junk, strlen(junk), 0), 0);
    tx = (struct ssh_tx *)apptest_tx(P, st, 0);
    assert_int_equal(ev(ctx, SSH_EV_INVALID_RECORD), 1);
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_DONE);
    kexinit(&k, server_lists);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, k.b, k.n, 0);
    assert_int_equal(ssh_tx_get(tx, APP_TO_CLIENT, SSH_BUF_HASSH, &p, &n), 0);
    assert_int_equal(ev(ctx, SSH_EV_INVALID_RECORD), 1);
    assert_buf(tx, APP_TO_CLIENT, SSH_BUF_SOFTWARE, "OpenSSH_8.9p1");
    assert_string_equal(apptest_eve(P, st, &tx->tx),
                        "{\"server\":{\"proto_version\":\"2.0\",\"software_version\":\"OpenSSH_8.9p1\"}}");

    /* a KEXINIT whose name-lists overrun it */
    apptest_feed(P, ctx, st, APP_TO_SERVER, CLIENT_BANNER, strlen(CLIENT_BANNER), 0);
    kexinit(&k, client_lists);
    k.b[5 + 17 + 3] = 0xff;                     /* the kex list's length */
    apptest_feed(P, ctx, st, APP_TO_SERVER, k.b, k.n, 0);
    assert_int_equal(ev(ctx, SSH_EV_INVALID_RECORD), 2);
    assert_int_equal(tx->tx.progress[APP_TO_SERVER], APP_PROG_DONE);
    assert_int_equal(ssh_tx_get(tx, APP_TO_SERVER, SSH_BUF_HASSH, &p, &n), 0);
    apptest_state_free(P, ctx, st);
}

/* A 300-byte banner is kept cut at 255 (long_banner); one of 255 is not
 * long. A client line that is not a banner gives the flow up. */
static void test_bad_banners(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    char line[400];
    struct ssh_tx *tx;

    (void)unused;
    memcpy(line, "SSH-2.0-", 8);
    memset(line + 8, 'v', 300 - 8);
    memcpy(line + 300, "\r\n", 2);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_CLIENT, line, 302, 0), 0);
    tx = (struct ssh_tx *)apptest_tx(P, st, 0);
    assert_int_equal(ev(ctx, SSH_EV_LONG_BANNER), 1);
    assert_int_equal(tx->side[APP_TO_CLIENT].banner_len, SSH_MAX_BANNER);
    assert_int_equal(tx->side[APP_TO_CLIENT].soft_len, SSH_MAX_BANNER - 8);
    memcpy(line + 255, "\r\n", 2);              /* near miss: exactly 255 */
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_SERVER, line, 257, 0), 0);
    assert_int_equal(ev(ctx, SSH_EV_LONG_BANNER), 1);
    assert_int_equal(tx->side[APP_TO_SERVER].banner_len, 255);
    apptest_state_free(P, ctx, st);

    st = apptest_state(P, ctx);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_SERVER, "GET / HTTP/1.0\r\n", 16, 0), -1);
    assert_int_equal(ev(ctx, SSH_EV_INVALID_BANNER), 1);
    apptest_state_free(P, ctx, st);

    st = apptest_state(P, ctx);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_CLIENT, "SSH-2.0\r\n", 9, 0), 0);   /* no software part */
    assert_int_equal(ev(ctx, SSH_EV_INVALID_BANNER), 2);
    tx = (struct ssh_tx *)apptest_tx(P, st, 0);
    assert_false(tx->side[APP_TO_CLIENT].have_banner);
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_DONE);
    for (int i = 0; i < SSH_MAX_PRE_LINES + 1; i++)   /* the server's lines are bounded too */
        apptest_feed(P, ctx, st, APP_TO_CLIENT, "hello\r\n", 7, 0);
    apptest_state_free(P, ctx, st);

    st = apptest_state(P, ctx);
    for (int i = 0; i < SSH_MAX_PRE_LINES; i++)
        assert_int_equal(apptest_feed(P, ctx, st, APP_TO_CLIENT, "hello\r\n", 7, 0), 0);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_CLIENT, "hello\r\n", 7, 0), -1);
    apptest_state_free(P, ctx, st);
}

/* A gap or the end of a direction ends it. */
static void test_gap_eof(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct pkt k;
    struct ssh_tx *tx;
    const uint8_t *p;
    uint32_t n;

    (void)unused;
    apptest_feed(P, ctx, st, APP_TO_SERVER, CLIENT_BANNER, strlen(CLIENT_BANNER), 0);
    kexinit(&k, client_lists);
    apptest_feed(P, ctx, st, APP_TO_SERVER, k.b, 40, 0);
    apptest_feed(P, ctx, st, APP_TO_SERVER, NULL, 100, APP_IN_GAP);
    apptest_feed(P, ctx, st, APP_TO_SERVER, k.b + 140, k.n - 140, 0);
    tx = (struct ssh_tx *)apptest_tx(P, st, 0);
    assert_int_equal(tx->tx.progress[APP_TO_SERVER], APP_PROG_DONE);
    assert_int_equal(ssh_tx_get(tx, APP_TO_SERVER, SSH_BUF_HASSH, &p, &n), 0);
    apptest_feed(P, ctx, st, APP_TO_CLIENT, SERVER_BANNER, strlen(SERVER_BANNER), APP_IN_EOF);
    assert_int_equal(tx->tx.progress[APP_TO_CLIENT], APP_PROG_DONE);
    assert_buf(tx, APP_TO_CLIENT, SSH_BUF_PROTO, "2.0");
    assert_int_equal(ev_total(ctx), 0);
    apptest_state_free(P, ctx, st);
}

/* Past the memory cap the KEXINIT is not kept; nothing leaks. */
static void test_memcap(void **unused)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct pkt k;
    struct ssh_tx *tx;
    const uint8_t *p;
    uint32_t n;

    (void)unused;
    apptest_feed(P, ctx, st, APP_TO_SERVER, CLIENT_BANNER, strlen(CLIENT_BANNER), 0);
    ctx->mem.cap = ctx->mem.used + 16;
    kexinit(&k, client_lists);
    assert_int_equal(apptest_feed(P, ctx, st, APP_TO_SERVER, k.b, k.n, 0), 0);
    assert_int_equal(ev(ctx, SSH_EV_MEMCAP), 1);
    tx = (struct ssh_tx *)apptest_tx(P, st, 0);
    assert_int_equal(ssh_tx_get(tx, APP_TO_SERVER, SSH_BUF_HASSH, &p, &n), 0);
    assert_buf(tx, APP_TO_SERVER, SSH_BUF_SOFTWARE, "PuTTY_Release_0.78");
    apptest_state_free(P, ctx, st);
}

static void test_probe(void **unused)
{
    (void)unused;
    assert_int_equal(P->probe((const uint8_t *)SERVER_BANNER, strlen(SERVER_BANNER), APP_TO_CLIENT), 1);
    assert_int_equal(P->probe((const uint8_t *)CLIENT_BANNER, 4, APP_TO_SERVER), 1);
    assert_int_equal(P->probe((const uint8_t *)"SS", 2, APP_TO_SERVER), -1);
    assert_int_equal(P->probe((const uint8_t *)"SSX-2.0", 7, APP_TO_SERVER), 0);
    assert_int_equal(P->probe((const uint8_t *)"\x16\x03\x01", 3, APP_TO_SERVER), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_first),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_garbage_after_banner),
        cmocka_unit_test(test_bad_banners),
        cmocka_unit_test(test_gap_eof),
        cmocka_unit_test(test_memcap),
        cmocka_unit_test(test_probe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
