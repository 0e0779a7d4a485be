/* test_app_smb.c - unit tests for the SMB parser (sensor/app/smb.c): SMB1
 * (NT_CREATE_ANDX names, WRITE_ANDX data, AndX chains with the data offset
 * past padding, CLOSE) and SMB2 (CREATE, WRITE, READ by MessageId, related
 * compounds), written from MS-CIFS and MS-SMB2; a file in one piece, byte
 * by byte, out of order, with an overlap (file_overlap), through a gap,
 * larger than the message buffer; truncated and malformed messages
 * (counted, no crash); and detection on the files: file.data, filesize,
 * the overlap event, and a content one byte off that does not alert. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apptest.h"
#include "detect.h"
#include "rule-t.h"
#include "ruletest.h"
#include "smb.h"

static const struct app_parser *P = &app_parser_smb;

#define TS APP_TO_SERVER
#define TC APP_TO_CLIENT
#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
#define EICAR_SHA256 "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"

/* ---------------------------------------------------------------- building messages */

struct msg {
    uint8_t b[160 * 1024];
    size_t n;                   /* bytes, NBSS header included */
};

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

/* Sets the NBSS header from the message's length. */
static void nbss(struct msg *m)
{
    size_t len = m->n - 4;

    m->b[0] = 0;
    m->b[1] = (uint8_t)(len >> 16);
    m->b[2] = (uint8_t)(len >> 8);
    m->b[3] = (uint8_t)len;
}

/* An SMB1 header for command cmd (reply: a response), MID mid. */
static void smb1_hdr(struct msg *m, uint8_t cmd, int reply, uint16_t mid)
{
    uint8_t *h = m->b + 4;

    memset(m->b, 0, 4 + 32);
    memcpy(h, "\xffSMB", 4);
    h[4] = cmd;
    h[9] = reply ? 0x98 : 0x18;
    put16(h + 10, 0xc843);              /* unicode, NT status, long names */
    put16(h + 24, 7);                   /* TID */
    put16(h + 26, 100);                 /* PID */
    put16(h + 28, 8);                   /* UID */
    put16(h + 30, mid);
    m->n = 4 + 32;
}

/* NT_CREATE_ANDX request for name (ASCII, sent as UTF-16LE). */
static void smb1_create(struct msg *m, uint16_t mid, const char *name)
{
    size_t nl = strlen(name), bc = 1 + 2 * nl + 2;
    uint8_t *w;

    smb1_hdr(m, 0xa2, 0, mid);
    m->b[m->n++] = 24;
    w = m->b + m->n;
    memset(w, 0, 48 + 2 + bc);
    w[0] = 0xff;
    put16(w + 5, (uint32_t)(2 * nl + 2));
    m->n += 48;
    put16(m->b + m->n, (uint32_t)bc);
    m->n += 2 + 1;                      /* the pad byte aligns the name */
    for (size_t i = 0; i < nl; i++)
        m->b[m->n + 2 * i] = (uint8_t)name[i];
    m->n += 2 * nl + 2;
    nbss(m);
}

/* NT_CREATE_ANDX response giving FID fid. */
static void smb1_create_resp(struct msg *m, uint16_t mid, uint16_t fid)
{
    uint8_t *w;

    smb1_hdr(m, 0xa2, 1, mid);
    m->b[m->n++] = 34;
    w = m->b + m->n;
    memset(w, 0, 68 + 2);
    w[0] = 0xff;
    put16(w + 5, fid);
    m->n += 68 + 2;
    nbss(m);
}

/* WRITE_ANDX request (14 words) of data at file offset off, with pad bytes
 * between the byte count and the data (data offset past the usual). */
static void smb1_write(struct msg *m, uint16_t mid, uint16_t fid, uint32_t off, const void *data, uint32_t n,
                       uint32_t pad)
{
    uint8_t *w;
    uint32_t doff;

    smb1_hdr(m, 0x2f, 0, mid);
    m->b[m->n++] = 14;
    w = m->b + m->n;
    memset(w, 0, 28);
    w[0] = 0xff;
    put16(w + 4, fid);
    put32(w + 6, off);
    put16(w + 18, n >> 16);
    put16(w + 20, n & 0xffff);
    m->n += 28;
    doff = (uint32_t)(m->n + 2 + pad - 4);
    put16(w + 22, doff);
    put16(m->b + m->n, n + pad);
    m->n += 2;
    memset(m->b + m->n, 0, pad);
    m->n += pad;
    memcpy(m->b + m->n, data, n);
    m->n += n;
    nbss(m);
}

static void smb1_close(struct msg *m, uint16_t mid, uint16_t fid)
{
    smb1_hdr(m, 0x04, 0, mid);
    m->b[m->n++] = 3;
    memset(m->b + m->n, 0, 8);
    put16(m->b + m->n, fid);
    m->n += 8;
    nbss(m);
}

static void feed_msg(void *st, struct app_ctx *ctx, enum app_dir dir, const struct msg *m)
{
    assert_int_equal(apptest_feed(P, ctx, st, dir, m->b, m->n, 0), 0);
}

/* An SMB1 session's opening of \eicar as FID 0x4000. */
static void smb1_open(void *st, struct app_ctx *ctx)
{
    static struct msg m;

    smb1_create(&m, 1, "\\eicar");
    feed_msg(st, ctx, TS, &m);
    smb1_create_resp(&m, 1, 0x4000);
    feed_msg(st, ctx, TC, &m);
}

static const struct smb_tx *tx_at(void *st, unsigned i)
{
    return (const struct smb_tx *)apptest_tx(P, st, i);
}

static void assert_data(const struct smb_tx *tx, const char *want)
{
    const uint8_t *p;
    uint32_t n;

    assert_non_null(tx);
    assert_int_equal(smb_tx_file_data(tx, TS, &p, &n), 1);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
}

static void sha256_hex(const struct smb_tx *tx, char out[65])
{
    const uint8_t *p;
    uint32_t n;

    assert_int_equal(app_file_hash(&tx->file, APP_HASH_SHA256, &p, &n), 1);
    for (uint32_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* ---------------------------------------------------------------- SMB1 */

/* A file written in one piece: named by its create, closed by CLOSE,
 * complete with its digest; the EVE blocks say so. */
static void test_smb1_one_piece(void **state)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    static struct msg m;
    const struct smb_tx *tx;
    char hex[65];

    (void)state;
    smb1_open(st, ctx);
    smb1_write(&m, 2, 0x4000, 0, EICAR, 68, 1);
    feed_msg(st, ctx, TS, &m);
    tx = tx_at(st, 0);
    assert_data(tx, EICAR);
    assert_int_equal(tx->file.state, APP_FILE_OPEN);
    assert_int_equal(tx->tx.progress[TS], APP_PROG_BODY);
    smb1_close(&m, 3, 0x4000);
    feed_msg(st, ctx, TS, &m);
    assert_int_equal(tx->file.state, APP_FILE_CLOSED);
    assert_int_equal(tx->tx.progress[TS], APP_PROG_DONE);
    assert_int_equal(tx->tx.progress[TC], APP_PROG_DONE);
    assert_string_equal(tx->name, "\\eicar");
    assert_int_equal(tx->file.size, 68);
    sha256_hex(tx, hex);
    assert_string_equal(hex, EICAR_SHA256);
    assert_non_null(strstr(apptest_eve(P, st, &tx->tx), "\"command\":\"SMB1_COMMAND_WRITE_ANDX\""));
    assert_non_null(strstr(apptest_eve(P, st, &tx->tx), "\"filename\":\"\\\\eicar\""));
    assert_int_equal(apptest_events_total(ctx, APP_PROTO_SMB), 0);
    assert_null(tx_at(st, 1));
    apptest_state_free(P, ctx, st);
}

/* The same session byte by byte: the same file. */
static void test_smb1_segments(void **state)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    static struct msg m;

    (void)state;
    smb1_create(&m, 1, "\\eicar");
    apptest_feed_bytes(P, ctx, st, TS, m.b, m.n);
    smb1_create_resp(&m, 1, 0x4000);
    apptest_feed_bytes(P, ctx, st, TC, m.b, m.n);
    smb1_write(&m, 2, 0x4000, 0, EICAR, 68, 1);
    apptest_feed_bytes(P, ctx, st, TS, m.b, m.n);
    smb1_close(&m, 3, 0x4000);
    apptest_feed_bytes(P, ctx, st, TS, m.b, m.n);
    assert_data(tx_at(st, 0), EICAR);
    assert_string_equal(tx_at(st, 0)->name, "\\eicar");
    assert_int_equal(tx_at(st, 0)->file.state, APP_FILE_CLOSED);
    assert_int_equal(apptest_events_total(ctx, APP_PROTO_SMB), 0);
    apptest_state_free(P, ctx, st);
}

/* The second half first: it waits, then follows the first; no overlap. */
static void test_smb1_out_of_order(void **state)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    static struct msg m;
    char hex[65];

    (void)state;
    smb1_open(st, ctx);
    smb1_write(&m, 2, 0x4000, 30, EICAR + 30, 38, 1);
    feed_msg(st, ctx, TS, &m);
    assert_int_equal(tx_at(st, 0)->data.len, 0);
    assert_int_equal(tx_at(st, 0)->ooo_bytes, 38);
    smb1_write(&m, 3, 0x4000, 0, EICAR, 30, 1);
    feed_msg(st, ctx, TS, &m);
    assert_data(tx_at(st, 0), EICAR);
    assert_int_equal(tx_at(st, 0)->ooo_bytes, 0);
    smb1_close(&m, 4, 0x4000);
    feed_msg(st, ctx, TS, &m);
    sha256_hex(tx_at(st, 0), hex);
    assert_string_equal(hex, EICAR_SHA256);
    assert_int_equal(apptest_events(ctx, APP_PROTO_SMB, SMB_EV_FILE_OVERLAP), 0);
    apptest_state_free(P, ctx, st);
}

/* One byte at offset 0, then the whole file at offset 0 (Suricata's
 * smb-eicar-overlap): file_overlap on the transaction, the first data stays. */
static void test_smb1_overlap(void **state)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    static struct msg m;

    (void)state;
    smb1_open(st, ctx);
    smb1_write(&m, 2, 0x4000, 0, "Y", 1, 1);
    feed_msg(st, ctx, TS, &m);
    smb1_write(&m, 3, 0x4000, 0, EICAR, 68, 1);
    feed_msg(st, ctx, TS, &m);
    assert_data(tx_at(st, 0), "Y");
    assert_int_equal(apptest_events(ctx, APP_PROTO_SMB, SMB_EV_FILE_OVERLAP), 1);
    assert_true(tx_at(st, 0)->tx.events & (1ull << SMB_EV_FILE_OVERLAP));
    /* a chunk overlapping one that waits is an overlap too */
    smb1_write(&m, 4, 0x4000, 10, "abcdef", 6, 1);
    feed_msg(st, ctx, TS, &m);
    smb1_write(&m, 5, 0x4000, 12, "zz", 2, 1);
    feed_msg(st, ctx, TS, &m);
    assert_int_equal(apptest_events(ctx, APP_PROTO_SMB, SMB_EV_FILE_OVERLAP), 2);
    apptest_state_free(P, ctx, st);
}

/* Padding before the data (data offset past the byte count), and an AndX
 * chain LOCKING_ANDX -> WRITE_ANDX -> CLOSE whose CLOSE sits in the
 * WRITE's padding (Suricata's smb-eicar-andx): the data is where the data
 * offset says, and the CLOSE closes the file. */
static void test_smb1_padding_andx(void **state)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    static struct msg m;
    uint8_t *h = m.b + 4, *w;
    uint32_t wr, cl, data;

    (void)state;
    smb1_open(st, ctx);
    smb1_write(&m, 2, 0x4000, 0, EICAR, 68, 5);
    feed_msg(st, ctx, TS, &m);
    assert_data(tx_at(st, 0), EICAR);
    smb1_close(&m, 3, 0x4000);
    feed_msg(st, ctx, TS, &m);

    smb1_hdr(&m, 0x24, 0, 9);                /* LOCKING_ANDX, 8 words */
    m.b[m.n++] = 8;
    w = m.b + m.n;
    memset(w, 0, 18);
    w[0] = 0x2f;
    wr = 32 + 1 + 16 + 2;
    put16(w + 2, wr);
    put16(w + 4, 0x4001);
    m.n += 18;
    m.b[m.n++] = 14;                         /* WRITE_ANDX at wr */
    w = m.b + m.n;
    memset(w, 0, 30 + 9 + 1 + 68);
    w[0] = 0x04;
    cl = wr + 1 + 28 + 2 + 1;
    put16(w + 2, cl);
    put16(w + 4, 0x4001);
    put16(w + 20, 68);
    data = cl + 9;
    put16(w + 22, data);
    put16(w + 28, 69);
    w = h + cl;                              /* CLOSE inside the padding */
    w[0] = 3;
    put16(w + 1, 0x4001);
    memcpy(h + data, EICAR, 68);
    m.n = 4 + data + 68;
    nbss(&m);
    feed_msg(st, ctx, TS, &m);
    assert_data(tx_at(st, 1), EICAR);
    assert_int_equal(tx_at(st, 1)->file.state, APP_FILE_CLOSED);
    assert_int_equal(apptest_events_total(ctx, APP_PROTO_SMB), 0);
    apptest_state_free(P, ctx, st);
}

/* Truncated and malformed messages are counted and skipped; what follows
 * is parsed. */
static void test_smb1_malformed(void **state)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    static struct msg m;
    static const uint8_t cut[] = { 0, 0, 0, 10, 0xff, 'S', 'M', 'B', 0x2f, 0, 0, 0, 0, 0 };
    static const uint8_t junk[] = { 0, 0, 0, 4, 'a', 'b', 'c', 'd', 0x99, 0, 0, 0 };

    (void)state;
    feed_msg(st, ctx, TS, &(struct msg){ .n = 0 });
    assert_int_equal(apptest_feed(P, ctx, st, TS, cut, sizeof cut, 0), 0);
    assert_int_equal(apptest_events(ctx, APP_PROTO_SMB, SMB_EV_MALFORMED_DATA), 1);
    assert_int_equal(apptest_feed(P, ctx, st, TS, junk, sizeof junk, 0), 0);
    assert_int_equal(apptest_events(ctx, APP_PROTO_SMB, SMB_EV_MALFORMED_DATA), 3);
    /* a write whose data length runs past its message */
    smb1_open(st, ctx);
    smb1_write(&m, 2, 0x4000, 0, EICAR, 68, 1);
    put16(m.b + 4 + 33 + 20, 500);
    feed_msg(st, ctx, TS, &m);
    assert_int_equal(apptest_events(ctx, APP_PROTO_SMB, SMB_EV_RECORD_OVERFLOW), 1);
    assert_data(tx_at(st, 0), EICAR);
    /* an AndX offset pointing backwards is not followed */
    smb1_write(&m, 3, 0x4000, 68, "!", 1, 1);
    m.b[4 + 33] = 0x2f;
    put16(m.b + 4 + 35, 10);
    feed_msg(st, ctx, TS, &m);
    assert_int_equal(apptest_events(ctx, APP_PROTO_SMB, SMB_EV_MALFORMED_DATA), 4);
    /* a request to the client */
    smb1_close(&m, 4, 0x4000);
    feed_msg(st, ctx, TC, &m);
    assert_int_equal(apptest_events(ctx, APP_PROTO_SMB, SMB_EV_REQUEST_TO_CLIENT), 1);
    assert_int_equal(tx_at(st, 0)->file.state, APP_FILE_OPEN);
    apptest_state_free(P, ctx, st);
}

/* Random bytes, and every prefix of a real message followed by the end of
 * the direction: no crash, no leak (apptest_state_free checks memory). */
static void test_smb_garbage(void **state)
{
    static struct msg m;
    uint32_t seed = 12345;

    (void)state;
    for (int round = 0; round < 200; round++) {
        struct app_ctx *ctx = apptest_ctx();
        void *st = apptest_state(P, ctx);
        uint8_t b[512];

        for (size_t i = 0; i < sizeof b; i++) {
            seed = seed * 1103515245u + 12345u;
            b[i] = (uint8_t)(seed >> 16);
        }
        b[0] = 0;
        b[1] = 0;
        memcpy(b + 4, round & 1 ? "\xffSMB" : "\xfeSMB", 4);
        apptest_feed(P, ctx, st, (enum app_dir)(round & 1), b, sizeof b, 0);
        apptest_feed(P, ctx, st, TS, NULL, 0, APP_IN_EOF);
        apptest_state_free(P, ctx, st);
    }
    smb1_write(&m, 2, 0x4000, 0, EICAR, 68, 1);
    for (size_t cutoff = 0; cutoff < m.n; cutoff++) {
        struct app_ctx *ctx = apptest_ctx();
        void *st = apptest_state(P, ctx);

        apptest_feed(P, ctx, st, TS, m.b, cutoff, 0);
        apptest_feed(P, ctx, st, TS, NULL, 0, APP_IN_EOF);
        apptest_state_free(P, ctx, st);
    }
}

/* ---------------------------------------------------------------- SMB2 */

static void smb2_hdr(uint8_t *h, uint16_t cmd, int resp, uint64_t msgid, uint32_t flags)
{
    memset(h, 0, 64);
    memcpy(h, "\xfeSMB", 4);
    put16(h + 4, 64);
    put16(h + 12, cmd);
    put32(h + 16, flags | (resp ? 1u : 0u));
    put64(h + 24, msgid);
}

/* Appends an SMB2 command to m (after its NBSS header); returns its start. */
static size_t smb2_add(struct msg *m, uint16_t cmd, int resp, uint64_t msgid, uint32_t flags, size_t body)
{
    size_t h = m->n;

    smb2_hdr(m->b + h, cmd, resp, msgid, flags);
    memset(m->b + h + 64, 0, body);
    m->n += 64 + body;
    return h;
}

static void smb2_create(struct msg *m, uint64_t msgid, uint32_t flags, const char *name)
{
    size_t h = smb2_add(m, 5, 0, msgid, flags, 56), nl = strlen(name);
    uint8_t *b = m->b + h + 64;

    put16(b, 57);
    put16(b + 44, 64 + 56);
    put16(b + 46, (uint32_t)(2 * nl));
    for (size_t i = 0; i < nl; i++) {
        m->b[m->n++] = (uint8_t)name[i];
        m->b[m->n++] = 0;
    }
}

static void smb2_create_resp(struct msg *m, uint64_t msgid, const uint8_t fileid[16])
{
    size_t h = smb2_add(m, 5, 1, msgid, 0, 88);

    put16(m->b + h + 64, 89);
    memcpy(m->b + h + 64 + 64, fileid, 16);
}

static void smb2_write(struct msg *m, uint64_t msgid, uint32_t flags, const uint8_t fileid[16], uint64_t off,
                       const void *data, uint32_t n)
{
    size_t h = smb2_add(m, 9, 0, msgid, flags, 48);
    uint8_t *b = m->b + h + 64;

    put16(b, 49);
    put16(b + 2, 64 + 48);
    put32(b + 4, n);
    put64(b + 8, off);
    memcpy(b + 16, fileid, 16);
    memcpy(m->b + m->n, data, n);
    m->n += n;
}

static void smb2_close(struct msg *m, uint64_t msgid, uint32_t flags, const uint8_t fileid[16])
{
    size_t h = smb2_add(m, 6, 0, msgid, flags, 24);

    put16(m->b + h + 64, 24);
    memcpy(m->b + h + 64 + 8, fileid, 16);
}

/* Sets the NextCommand of the command at h to where the next one starts
 * (8-byte aligned: pads m). */
static void smb2_chain(struct msg *m, size_t h)
{
    while ((m->n - 4) % 8)
        m->b[m->n++] = 0;
    put32(m->b + h + 20, (uint32_t)(m->n - h));
}

static const uint8_t FID[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t ONES[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* CREATE, WRITE, CLOSE; then a READ of it whose response carries the data
 * to the client. */
static void test_smb2_write_read(void **state)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    static struct msg m;
    const struct smb_tx *tx;
    const uint8_t *p;
    uint32_t n;
    size_t h;

    (void)state;
    m.n = 4;
    smb2_create(&m, 1, 0, "dir\\eicar.txt");
    nbss(&m);
    feed_msg(st, ctx, TS, &m);
    m.n = 4;
    smb2_create_resp(&m, 1, FID);
    nbss(&m);
    feed_msg(st, ctx, TC, &m);
    m.n = 4;
    smb2_write(&m, 2, 0, FID, 0, EICAR, 68);
    nbss(&m);
    feed_msg(st, ctx, TS, &m);
    m.n = 4;
    smb2_close(&m, 3, 0, FID);
    nbss(&m);
    feed_msg(st, ctx, TS, &m);
    tx = tx_at(st, 0);
    assert_data(tx, EICAR);
    assert_string_equal(tx->name, "dir\\eicar.txt");
    assert_int_equal(tx->file.state, APP_FILE_CLOSED);
    assert_non_null(strstr(apptest_eve(P, st, &tx->tx), "SMB2_COMMAND_WRITE"));

    m.n = 4;
    h = smb2_add(&m, 8, 0, 4, 0, 48);        /* READ 68 bytes at 0 */
    put16(m.b + h + 64, 49);
    put32(m.b + h + 64 + 4, 68);
    memcpy(m.b + h + 64 + 16, FID, 16);
    nbss(&m);
    feed_msg(st, ctx, TS, &m);
    m.n = 4;
    h = smb2_add(&m, 8, 1, 4, 0, 16);
    put16(m.b + h + 64, 17);
    m.b[h + 64 + 2] = 64 + 16;
    put32(m.b + h + 64 + 4, 68);
    memcpy(m.b + m.n, EICAR, 68);
    m.n += 68;
    nbss(&m);
    feed_msg(st, ctx, TC, &m);
    tx = tx_at(st, 1);
    assert_non_null(tx);
    assert_int_equal(tx->dir, TC);
    assert_int_equal(smb_tx_file_data(tx, TS, &p, &n), 0);
    assert_int_equal(smb_tx_file_data(tx, TC, &p, &n), 1);
    assert_int_equal(n, 68);
    assert_memory_equal(p, EICAR, 68);
    assert_string_equal(tx->name, "dir\\eicar.txt");
    assert_int_equal(apptest_events_total(ctx, APP_PROTO_SMB), 0);
    apptest_state_free(P, ctx, st);
}

/* A related compound CREATE + WRITE + CLOSE (FileId all ones): the write
 * is the created file's, named, and the response's FileId becomes its. */
static void test_smb2_compound(void **state)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    static struct msg m;
    size_t h1, h2;

    (void)state;
    m.n = 4;
    h1 = m.n;
    smb2_create(&m, 10, 0, "c.bin");
    smb2_chain(&m, h1);
    h2 = m.n;
    smb2_write(&m, 11, 4, ONES, 0, EICAR, 68);
    smb2_chain(&m, h2);
    smb2_close(&m, 12, 4, ONES);
    nbss(&m);
    feed_msg(st, ctx, TS, &m);
    assert_data(tx_at(st, 0), EICAR);
    assert_int_equal(tx_at(st, 0)->file.state, APP_FILE_CLOSED);
    assert_string_equal(tx_at(st, 0)->name, "c.bin");
    m.n = 4;
    smb2_create_resp(&m, 10, FID);
    nbss(&m);
    feed_msg(st, ctx, TC, &m);
    assert_int_equal(tx_at(st, 0)->key.len, 16);
    assert_memory_equal(tx_at(st, 0)->key.b, FID, 16);
    assert_int_equal(apptest_events_total(ctx, APP_PROTO_SMB), 0);
    apptest_state_free(P, ctx, st);
}

/* A write larger than the message buffer: its data is followed as it
 * arrives; a gap inside the followed data is a gap of the file (no
 * digest), and the next message is read again. */
static void test_smb2_big_write_gap(void **state)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    static struct msg m;
    static uint8_t big[100000];
    const uint8_t *p;
    size_t half;

    (void)state;
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    m.n = 4;
    smb2_write(&m, 2, 0, FID, 0, big, sizeof big);
    nbss(&m);
    feed_msg(st, ctx, TS, &m);
    assert_int_equal(tx_at(st, 0)->file.size, sizeof big);
    assert_int_equal(tx_at(st, 0)->tracked, sizeof big);
    assert_memory_equal(tx_at(st, 0)->data.p, big, tx_at(st, 0)->data.len);
    /* the same once more at the next offset, with 1000 bytes lost in its data */
    put64(m.b + 4 + 64 + 8, sizeof big);
    half = 70000;                            /* past the buffered part of the message */
    apptest_feed(P, ctx, st, TS, m.b, half, 0);
    apptest_feed(P, ctx, st, TS, NULL, 1000, APP_IN_GAP);
    apptest_feed(P, ctx, st, TS, m.b + half + 1000, m.n - half - 1000, 0);
    assert_int_equal(tx_at(st, 0)->file.size, 2 * sizeof big);
    assert_int_equal(tx_at(st, 0)->file.gaps, 1);
    assert_int_equal(apptest_events(ctx, APP_PROTO_SMB, SMB_EV_GAP), 1);
    m.n = 4;
    smb2_close(&m, 3, 0, FID);
    nbss(&m);
    feed_msg(st, ctx, TS, &m);
    assert_int_equal(tx_at(st, 0)->file.state, APP_FILE_CLOSED);
    assert_int_equal(app_file_hash(&tx_at(st, 0)->file, APP_HASH_SHA256, &p, &(uint32_t){ 0 }), 0);
    apptest_state_free(P, ctx, st);
}

/* ---------------------------------------------------------------- detection */

/* file.data on smb and tcp rules, a content one byte off (near miss),
 * filesize once closed, the overlap event once each way, the file's name
 * (the CREATE's) and an extension it does not have. */
static void test_smb_detect(void **state)
{
    const char *rules[] = {
        "alert smb any any -> any any (file_data; content:\"" "X5O!P%@AP[4|5c|PZX54(P^)7CC)7}$EICAR-STANDARD" "\"; sid:1;)",
        "alert smb any any -> any any (file_data; content:\"" "X5O!P%@AP[4|5c|PZX54(P^)7CC)7}$EICAR-STANDARE" "\"; sid:2;)",
        "alert tcp any any -> any any (filesize:<70; sid:3;)",
        "alert tcp any any -> any any (filesize:>68; sid:4;)",
        "alert smb any any -> any any (app-layer-event:smb.file_overlap; sid:5;)",
        "alert http any any -> any any (file_data; content:\"EICAR\"; sid:6;)",
        "alert smb any any -> any any (file.name; content:\"eicar\"; endswith; sid:7;)",
        "alert tcp any any -> any any (fileext:\"exe\"; sid:8;)",
        NULL,
    };
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(P, ctx);
    struct detect_engine *e = ruletest_engine(rules);
    struct detect_thread *t = detect_thread_new(e);
    static struct msg m;
    struct ruletest_alerts a = { 0 };
    struct packet pk;
    struct flow f;

    (void)state;
    assert_non_null(t);
    ruletest_packet(&pk, 6, NULL, 0);
    ruletest_flow(&f, &pk, NULL);
    smb1_open(st, ctx);
    smb1_write(&m, 2, 0x4000, 0, EICAR, 68, 1);
    feed_msg(st, ctx, TS, &m);
    for (struct app_tx *tx = P->txs(st)->head; tx; tx = tx->next)
        detect_tx(e, t, NULL, &pk, &f, APP_PROTO_SMB, tx, ruletest_tx_alert, &a);
    assert_int_equal(ruletest_count(&a, 1), 1);
    assert_int_equal(ruletest_count(&a, 3), 0);     /* not closed yet */
    smb1_close(&m, 3, 0x4000);
    feed_msg(st, ctx, TS, &m);
    smb1_write(&m, 4, 0x4001, 0, "Y", 1, 1);       /* another file, overlapped */
    feed_msg(st, ctx, TS, &m);
    smb1_write(&m, 5, 0x4001, 0, EICAR, 68, 1);
    feed_msg(st, ctx, TS, &m);
    for (struct app_tx *tx = P->txs(st)->head; tx; tx = tx->next)
        detect_tx(e, t, NULL, &pk, &f, APP_PROTO_SMB, tx, ruletest_tx_alert, &a);
    assert_int_equal(ruletest_count(&a, 1), 1);
    assert_int_equal(ruletest_count(&a, 2), 0);
    assert_int_equal(ruletest_count(&a, 3), 1);
    assert_int_equal(ruletest_count(&a, 4), 0);
    assert_int_equal(ruletest_count(&a, 5), 2);
    assert_int_equal(ruletest_count(&a, 6), 0);
    assert_int_equal(ruletest_count(&a, 7), 1);
    assert_int_equal(ruletest_count(&a, 8), 0);
    detect_flow_free(&f);
    detect_thread_free(t);
    detect_engine_free(e);
    apptest_state_free(P, ctx, st);
}

/* ---------------------------------------------------------------- probing */

static void test_smb_probe(void **state)
{
    (void)state;
    assert_int_equal(P->probe((const uint8_t *)"\0\0\0\x2f\xffSMB", 8, TS), 1);
    assert_int_equal(P->probe((const uint8_t *)"\0\0\0\x2f\xfeSMB", 8, TS), 1);
    assert_int_equal(P->probe((const uint8_t *)"\0\0\0", 3, TS), -1);
    assert_int_equal(P->probe((const uint8_t *)"GET / HTTP/1.1\r\n", 16, TS), 0);
    assert_int_equal(P->probe((const uint8_t *)"\0\0\0\x2f\xffSMX", 8, TS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smb1_one_piece),
        cmocka_unit_test(test_smb1_segments),
        cmocka_unit_test(test_smb1_out_of_order),
        cmocka_unit_test(test_smb1_overlap),
        cmocka_unit_test(test_smb1_padding_andx),
        cmocka_unit_test(test_smb1_malformed),
        cmocka_unit_test(test_smb_garbage),
        cmocka_unit_test(test_smb2_write_read),
        cmocka_unit_test(test_smb2_compound),
        cmocka_unit_test(test_smb2_big_write_gap),
        cmocka_unit_test(test_smb_detect),
        cmocka_unit_test(test_smb_probe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
