/* test_app_ftp.c - unit tests for the FTP parsers (sensor/app/ftp.c,
 * ftp-data.c): commands paired with replies, the port announcements
 * (PORT, EPRT, 227, 229) well-formed, malformed and out of range, the
 * too-long command, the expectations STOR and RETR make, a data
 * connection's file, and the rules on it (ftpdata_command, file.data,
 * file.name) with their near misses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apptest.h"
#include "detect-buffer.h"
#include "detect.h"
#include "ftp.h"
#include "rule-t.h"
#include "ruletest.h"

#define TS APP_TO_SERVER
#define TC APP_TO_CLIENT

static const struct app_parser *const C = &app_parser_ftp;
static const struct app_parser *const D = &app_parser_ftp_data;

static void feed(const struct app_parser *p, struct app_ctx *ctx, void *st, enum app_dir dir, const char *s)
{
    assert_int_equal(apptest_feed(p, ctx, st, dir, s, strlen(s), 0), 0);
}

/* The end of the EVE block of a transaction answered, nothing cut. */
#define ANSWERED "\"reply_received\":\"yes\",\"command_truncated\":false,\"reply_truncated\":false}"

static const struct ftp_tx *ftx(void *st, unsigned i)
{
    return (const struct ftp_tx *)apptest_tx(C, st, i);
}

/* ---------------------------------------------------------------- ports */

static int port_of(int (*fn)(const uint8_t *, size_t), const char *s)
{
    return fn((const uint8_t *)s, strlen(s));
}

static void test_port_parsers(void **state)
{
    (void)state;
    assert_int_equal(port_of(ftp_parse_port, "172,23,0,3,139,43"), 139 * 256 + 43);
    assert_int_equal(port_of(ftp_parse_port, "1, 2, 3, 4, 0, 21"), 21);
    assert_int_equal(port_of(ftp_parse_port, "1,2,3,4,256,1"), -1);        /* out of range */
    assert_int_equal(port_of(ftp_parse_port, "1,2,3,4,0,0"), -1);          /* port 0 */
    assert_int_equal(port_of(ftp_parse_port, "1,2,3,4,5"), -1);            /* too few */
    assert_int_equal(port_of(ftp_parse_port, "1,2,3,4,5,"), -1);
    assert_int_equal(port_of(ftp_parse_port, "1,2,3,4,999999,1"), -1);    /* too many digits */
    assert_int_equal(port_of(ftp_parse_port, ""), -1);
    assert_int_equal(port_of(ftp_parse_eprt, "|1|132.235.1.2|6275|"), 6275);
    assert_int_equal(port_of(ftp_parse_eprt, "|2|1080::8:800:200C:417A|5282|"), 5282);
    assert_int_equal(port_of(ftp_parse_eprt, "|3|1.2.3.4|5282|"), -1);     /* no such protocol */
    assert_int_equal(port_of(ftp_parse_eprt, "|1|1.2.3.4|65536|"), -1);
    assert_int_equal(port_of(ftp_parse_eprt, "|1|1.2.3.4|0|"), -1);
    assert_int_equal(port_of(ftp_parse_eprt, "|1|1.2.3.4|80"), -1);        /* no closing delimiter */
    assert_int_equal(port_of(ftp_parse_eprt, "|1|1.2.3.4"), -1);
    assert_int_equal(port_of(ftp_parse_227, "Entering Passive Mode (2,2,2,2,185,13)."), 185 * 256 + 13);
    assert_int_equal(port_of(ftp_parse_227, "Entering Passive Mode 2,2,2,2,0,20"), 20);
    assert_int_equal(port_of(ftp_parse_227, "Entering Passive Mode (2,2,2,2,185)"), -1);
    assert_int_equal(port_of(ftp_parse_227, "Entering Passive Mode (2,2,2,2,300,1)"), -1);
    assert_int_equal(port_of(ftp_parse_229, "Entering Extended Passive Mode (|||6446|)"), 6446);
    assert_int_equal(port_of(ftp_parse_229, "Entering Extended Passive Mode (!!!6446!)"), 6446);
    assert_int_equal(port_of(ftp_parse_229, "Entering Extended Passive Mode (||6446|)"), -1);
    assert_int_equal(port_of(ftp_parse_229, "Entering Extended Passive Mode (|||70000|)"), -1);
    assert_int_equal(port_of(ftp_parse_229, "Entering Extended Passive Mode"), -1);
}

/* ---------------------------------------------------------------- control */

/* The greeting is a transaction of its own; each command takes the reply
 * lines that follow, a 150 waits for the 226 of the transfer, a
 * multi-line reply is one reply of several lines. */
static void test_pairing(void **state)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(C, ctx);
    const struct ftp_tx *t;

    (void)state;
    feed(C, ctx, st, TC, "220-(vsFTPd 3.0)\r\n220 ");
    feed(C, ctx, st, TC, "Hello\r\n");                         /* a greeting of two lines */
    feed(C, ctx, st, TS, "user alice\r\nPASS secret\r\n");      /* pipelined, lower case */
    feed(C, ctx, st, TC, "331 Password?\r\n230-Welcome\r\n here\r\n230 Login successful.\r\n");
    feed(C, ctx, st, TS, "NLST\r\n");
    feed(C, ctx, st, TC, "150 Here comes the listing.\r\n");
    t = ftx(st, 3);
    assert_int_equal(t->tx.progress[TC], APP_PROG_HEADERS);       /* 1xx: not done yet */
    feed(C, ctx, st, TC, "226 Directory send OK.\r\n");
    assert_int_equal(t->tx.progress[TC], APP_PROG_DONE);

    t = ftx(st, 0);
    assert_false(t->has_command);
    assert_string_equal(apptest_eve(C, st, &t->tx),
                        "{\"reply\":[\"(vsFTPd 3.0)\",\"Hello\"],\"completion_code\":[\"220\",\"220\"]," ANSWERED);
    t = ftx(st, 1);
    assert_string_equal(apptest_eve(C, st, &t->tx),
                        "{\"command\":\"USER\",\"command_data\":\"alice\",\"reply\":[\"Password?\"],"
                        "\"completion_code\":[\"331\"]," ANSWERED);
    t = ftx(st, 2);
    assert_int_equal(t->nreplies, 3);
    assert_string_equal(apptest_eve(C, st, &t->tx),
                        "{\"command\":\"PASS\",\"command_data\":\"secret\","
                        "\"reply\":[\"Welcome\",\" here\",\"Login successful.\"],"
                        "\"completion_code\":[\"230\",\"230\"]," ANSWERED);
    t = ftx(st, 3);
    assert_string_equal(apptest_eve(C, st, &t->tx),
                        "{\"command\":\"NLST\",\"reply\":[\"Here comes the listing.\",\"Directory send OK.\"],"
                        "\"completion_code\":[\"150\",\"226\"]," ANSWERED);
    /* a command without its reply yet */
    feed(C, ctx, st, TS, "QUIT\r\n");
    t = ftx(st, 4);
    assert_int_equal(t->tx.progress[TS], APP_PROG_DONE);
    assert_int_equal(t->tx.progress[TC], APP_PROG_NONE);
    assert_non_null(strstr(apptest_eve(C, st, &t->tx), "\"reply_received\":\"no\""));
    /* the server's end: no reply will come */
    assert_int_equal(apptest_feed(C, ctx, st, TC, NULL, 0, APP_IN_EOF), 0);
    assert_int_equal(t->tx.progress[TC], APP_PROG_DONE);
    assert_int_equal(apptest_events_total(ctx, APP_PROTO_FTP), 0);
    apptest_state_free(C, ctx, st);
}

/* "RETR " and fill up to n bytes, then tail; free() it. */
static char *retr_line(size_t n, char fill, const char *tail)
{
    char *line = malloc(n + strlen(tail) + 1);

    assert_non_null(line);
    memcpy(line, "RETR ", 5);
    memset(line + 5, fill, n - 5);
    memcpy(line + n, tail, strlen(tail) + 1);
    return line;
}

/* A command past FTP_MAX_LINE is cut to it (4091 bytes of RETR's
 * argument) and counted; the next command is whole. The same line fed a
 * byte at a time gives the same. */
static void test_too_long_command(void **state)
{
    char *line = retr_line(5000, 'A', "Z\r\nRETR index.html\r\n");

    (void)state;
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        struct app_ctx *ctx = apptest_ctx();
        void *st = apptest_state(C, ctx);
        const struct ftp_tx *t;

        if (bytewise)
            assert_int_equal(apptest_feed_bytes(C, ctx, st, TS, line, strlen(line)), 0);
        else
            feed(C, ctx, st, TS, line);
        t = ftx(st, 0);
        assert_true(t->command_truncated);
        assert_int_equal(t->line.len - t->data_off, 4091);
        assert_true(t->tx.events & (1u << FTP_EV_REQUEST_COMMAND_TOO_LONG));
        assert_int_equal(apptest_events(ctx, APP_PROTO_FTP, FTP_EV_REQUEST_COMMAND_TOO_LONG), 1);
        t = ftx(st, 1);
        assert_false(t->command_truncated);
        assert_int_equal(t->line.len - t->data_off, 10);
        assert_memory_equal(t->line.p + t->data_off, "index.html", 10);
        assert_null(ftx(st, 2));
        apptest_state_free(C, ctx, st);
    }
    free(line);
}

/* A line of exactly FTP_MAX_LINE bytes and its CR LF is not too long. */
static void test_line_at_limit(void **state)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(C, ctx);
    char *line = retr_line(FTP_MAX_LINE, 'b', "\r\n");

    (void)state;
    feed(C, ctx, st, TS, line);
    assert_false(ftx(st, 0)->command_truncated);
    assert_int_equal(ftx(st, 0)->line.len, FTP_MAX_LINE);
    assert_int_equal(apptest_events_total(ctx, APP_PROTO_FTP), 0);
    free(line);
    apptest_state_free(C, ctx, st);
}

/* ---------------------------------------------------------------- expectations */

static void expect_none(void *st)
{
    struct app_expect e;

    assert_int_equal(C->expect_take(st, &e), 0);
}

/* PORT then STOR: the server will open a connection to the client's port
 * for the upload of index.html; PASV's 227 then RETR: the client to the
 * server's. A port serves one transfer; STOR without a port, a malformed
 * PORT and a 229 out of range announce nothing. */
static void test_expectations(void **state)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(C, ctx);
    const struct ftp_data_info *info;
    struct app_expect e;

    (void)state;
    feed(C, ctx, st, TS, "STOR early.bin\r\n");
    expect_none(st);
    feed(C, ctx, st, TS, "PORT 172,23,0,3,172,101\r\n");
    expect_none(st);                                    /* not before the transfer's command */
    feed(C, ctx, st, TS, "STOR index.html\r\n");
    assert_int_equal(C->expect_take(st, &e), 1);
    assert_int_equal(e.proto, APP_PROTO_FTPDATA);
    assert_int_equal(e.by_server, 1);
    assert_int_equal(e.port, 172 * 256 + 101);
    info = e.data;
    assert_int_equal(info->command, FTP_DATA_STOR);
    assert_int_equal(info->name_len, 10);
    assert_memory_equal(info->name, "index.html", 10);
    D->expect_free(ctx, e.data);
    feed(C, ctx, st, TS, "RETR again.html\r\n");
    expect_none(st);                                    /* the port was used */
    assert_non_null(strstr(apptest_eve(C, st, apptest_tx(C, st, 1)), "\"dynamic_port\":44133,\"mode\":\"active\""));

    feed(C, ctx, st, TS, "PASV\r\n");
    feed(C, ctx, st, TC, "550 no\r\n550 no\r\n550 no\r\n227 Entering Passive Mode (2,2,2,2,185,13).\r\n");
    feed(C, ctx, st, TS, "RETR temp.txt\r\n");
    assert_int_equal(C->expect_take(st, &e), 1);
    assert_int_equal(e.by_server, 0);
    assert_int_equal(e.port, 185 * 256 + 13);
    assert_int_equal(((const struct ftp_data_info *)e.data)->command, FTP_DATA_RETR);
    D->expect_free(ctx, e.data);

    feed(C, ctx, st, TS, "PORT 172,23,0,3,256,1\r\nSTOR x\r\n");
    expect_none(st);
    feed(C, ctx, st, TS, "EPSV\r\n");
    feed(C, ctx, st, TC, "229 Entering Extended Passive Mode (|||70000|)\r\n");
    feed(C, ctx, st, TS, "RETR y\r\n");
    expect_none(st);
    assert_int_equal(apptest_events(ctx, APP_PROTO_FTP, FTP_EV_INVALID_PORT), 2);
    feed(C, ctx, st, TS, "EPRT |1|10.0.0.1|2121|\r\nSTOR z\r\n");
    assert_int_equal(C->expect_take(st, &e), 1);
    assert_int_equal(e.by_server, 1);
    assert_int_equal(e.port, 2121);
    D->expect_free(ctx, e.data);
    /* one left in the state is freed with it */
    feed(C, ctx, st, TS, "PORT 1,2,3,4,5,6\r\nRETR w\r\n");
    apptest_state_free(C, ctx, st);
}

/* ---------------------------------------------------------------- ftp-data */

/* A data flow's state, given what the control parser would announce (on
 * app_mem, as it makes it). */
static void *data_flow(struct app_ctx *ctx, uint8_t cmd, const char *name)
{
    void *st = apptest_state(D, ctx);
    size_t n = strlen(name);
    struct ftp_data_info *info = app_alloc(&ctx->mem, sizeof *info + n);

    assert_non_null(info);
    info->command = cmd;
    info->name_len = (uint32_t)n;
    memcpy(info->name, name, n);
    D->expect_adopt(ctx, st, info);
    return st;
}

static const char *buf(const struct app_tx *tx, unsigned b, uint8_t dir)
{
    static char out[256];
    const struct detect_src s = { NULL, NULL, tx, dir, APP_PROTO_FTPDATA };
    struct detect_bytes d;

    if (!detect_buffer_get(&s, b, 0, &d))
        return NULL;
    assert_true(d.len < sizeof out);
    memcpy(out, d.data, d.len);
    out[d.len] = '\0';
    return out;
}

/* An upload in active mode: the data goes to the data flow's client
 * (APP_TO_CLIENT); it is the file index.html, closed complete at the end
 * of its direction, its bytes file.data in that direction only. */
static void test_data_upload(void **state)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = data_flow(ctx, FTP_DATA_STOR, "index.html");
    const struct ftp_data_tx *tx = (const struct ftp_data_tx *)apptest_tx(D, st, 0);
    const struct app_file *f;
    uint64_t v;
    const struct detect_src s = { NULL, NULL, &tx->tx, TS, APP_PROTO_FTPDATA };

    (void)state;
    assert_non_null(tx);
    assert_int_equal(tx->tx.progress[TS], APP_PROG_HEADERS);
    assert_int_equal(tx->tx.progress[TC], APP_PROG_HEADERS);
    assert_int_equal(detect_value_get(&s, RULE_VAL_FTPDATA_COMMAND, &v), 1);
    assert_int_equal(v, FTP_DATA_STOR);
    feed(D, ctx, st, TC, "uid=0(root) ");
    feed(D, ctx, st, TS, "ignored");
    feed(D, ctx, st, TC, "gid=0(root)\n");
    assert_string_equal(buf(&tx->tx, RULE_BUF_FILE_DATA, TC), "uid=0(root) gid=0(root)\n");
    assert_null(buf(&tx->tx, RULE_BUF_FILE_DATA, TS));
    assert_string_equal(buf(&tx->tx, RULE_BUF_FILE_NAME, TC), "index.html");
    assert_null(buf(&tx->tx, RULE_BUF_FILE_NAME, TS));
    assert_null(buf(&tx->tx, RULE_BUF_FILE_SHA256, TC));          /* not complete yet */
    assert_int_equal(apptest_feed(D, ctx, st, TC, NULL, 0, APP_IN_EOF), 0);
    f = ftp_data_tx_file(tx);
    assert_non_null(f);
    assert_int_equal(f->state, APP_FILE_CLOSED);
    assert_int_equal(f->size, 24);
    assert_true(f->hashed & APP_HASH_BIT(APP_HASH_SHA256));
    assert_non_null(buf(&tx->tx, RULE_BUF_FILE_SHA256, TC));
    assert_int_equal(tx->tx.progress[TS], APP_PROG_DONE);
    assert_int_equal(tx->tx.progress[TC], APP_PROG_DONE);
    assert_string_equal(apptest_eve(D, st, &tx->tx), "{\"filename\":\"index.html\",\"command\":\"STOR\"}");
    apptest_state_free(D, ctx, st);
}

/* A download with a gap: the file ends TRUNCATED with gaps, no digest. */
static void test_data_download_gap(void **state)
{
    struct app_ctx *ctx = apptest_ctx();
    void *st = data_flow(ctx, FTP_DATA_RETR, "temp.txt");
    const struct ftp_data_tx *tx = (const struct ftp_data_tx *)apptest_tx(D, st, 0);

    (void)state;
    feed(D, ctx, st, TC, "bash\nbzcat\n");
    assert_int_equal(apptest_feed(D, ctx, st, TC, NULL, 100, APP_IN_GAP), 0);
    feed(D, ctx, st, TC, "more");
    assert_int_equal(ftp_data_tx_file(tx)->state, APP_FILE_TRUNCATED);
    assert_true(ftp_data_tx_file(tx)->gaps);
    assert_int_equal(ftp_data_tx_file(tx)->size, 111);
    assert_null(buf(&tx->tx, RULE_BUF_FILE_SHA256, TC));
    assert_string_equal(buf(&tx->tx, RULE_BUF_FILE_DATA, TC), "bash\nbzcat\n");
    apptest_state_free(D, ctx, st);
}

/* ---------------------------------------------------------------- rules */

/* An engine over rules, its scratch and an established flow. */
struct rh {
    struct detect_engine *e;
    struct detect_thread *t;
    struct ruletest_alerts a;
    struct packet p;
    struct flow f;
};

static void rh_open(struct rh *h, const char *const *rules)
{
    memset(h, 0, sizeof *h);
    h->e = ruletest_engine(rules);
    h->t = detect_thread_new(h->e);
    assert_non_null(h->t);
    ruletest_packet(&h->p, 6, NULL, 0);
    ruletest_flow(&h->f, &h->p, NULL);
}

/* Offers every transaction of st to detection, as the stage does. */
static void rh_offer(struct rh *h, const struct app_parser *ap, void *st)
{
    for (struct app_tx *tx = ap->txs(st)->head; tx; tx = tx->next)
        detect_tx(h->e, h->t, NULL, &h->p, &h->f, ap->proto, tx, ruletest_tx_alert, &h->a);
}

static void rh_close(struct rh *h)
{
    detect_flow_free(&h->f);
    detect_thread_free(h->t);
    detect_engine_free(h->e);
}

/* The rules of suricata-verify's ftp-upload-active and output-eve-ftp-data
 * on an upload, with near misses: ftpdata_command:retr on a STOR, a name
 * that is not the file's, file.data in the direction without data, an
 * ftp rule on an ftp-data transaction; filesize once the file closed, on
 * ftp-data and on a tcp rule (file keywords read every parser's files). */
static void test_rules_on_upload(void **state)
{
    const char *rules[] = {
        "alert ftp-data any any -> any any (flow:established,to_server; ftpdata_command:stor; sid:10;)",
        "alert ftp-data any any -> any any (flow:to_client; file_data; content:\"root\"; sid:20;)",
        "alert ftp-data any any -> any any (flow:to_server; file_data; content:\"root\"; sid:30;)",
        "alert ftp-data any any -> any any (file_data; content:\"root\"; sid:40;)",
        "alert ftp-data any any -> any any (ftpdata_command:retr; sid:50;)",
        "alert ftp-data any any -> any any (file.name; content:\"index.html\"; sid:60;)",
        "alert ftp-data any any -> any any (filename:\"index.html\"; sid:61;)",
        "alert ftp-data any any -> any any (fileext:\"HTML\"; sid:62;)",
        "alert ftp-data any any -> any any (fileext:\"htm\"; sid:63;)",
        "alert ftp-data any any -> any any (filename:\"temp.txt\"; sid:64;)",
        "alert ftp any any -> any any (ftpdata_command:stor; sid:70;)",
        "alert ftp-data any any -> any any (filesize:24; sid:80;)",
        "alert ftp-data any any -> any any (filesize:>24; sid:81;)",
        "alert tcp any any -> any any (file.data; content:\"root\"; filesize:<25; sid:82;)",
        NULL,
    };
    struct app_ctx *ctx = apptest_ctx();
    void *st = data_flow(ctx, FTP_DATA_STOR, "index.html");
    struct rh h;
    const struct ruletest_alerts *a = &h.a;

    (void)state;
    rh_open(&h, rules);
    for (int step = 0; step < 3; step++) {
        if (step == 1)
            feed(D, ctx, st, TC, "uid=0(root) gid=0(root)\n");
        if (step == 2)
            assert_int_equal(apptest_feed(D, ctx, st, TC, NULL, 0, APP_IN_EOF), 0);
        rh_offer(&h, D, st);
    }
    assert_int_equal(ruletest_count(a, 10), 1);
    assert_int_equal(ruletest_count(a, 20), 1);
    assert_int_equal(ruletest_count(a, 30), 0);
    assert_int_equal(ruletest_count(a, 40), 1);
    assert_int_equal(ruletest_count(a, 50), 0);
    assert_int_equal(ruletest_count(a, 60), 1);
    assert_int_equal(ruletest_count(a, 61), 1);
    assert_int_equal(ruletest_count(a, 62), 1);
    assert_int_equal(ruletest_count(a, 63), 0);
    assert_int_equal(ruletest_count(a, 64), 0);
    assert_int_equal(ruletest_count(a, 70), 0);
    assert_int_equal(ruletest_count(a, 80), 1);
    assert_int_equal(ruletest_count(a, 81), 0);
    assert_int_equal(ruletest_count(a, 82), 1);
    assert_int_equal(a->n, 8);
    rh_close(&h);
    apptest_state_free(D, ctx, st);
}

/* app-layer-event:ftp.request_command_too_long on the control flow,
 * to_server, once; the reply event rule does not fire. */
static void test_rules_event(void **state)
{
    const char *rules[] = {
        "alert ftp any any -> any any (flow:to_server; app-layer-event:ftp.request_command_too_long; sid:1;)",
        "alert ftp any any -> any any (flow:to_client; app-layer-event:ftp.response_command_too_long; sid:2;)",
        NULL,
    };
    struct app_ctx *ctx = apptest_ctx();
    void *st = apptest_state(C, ctx);
    char *line = retr_line(FTP_MAX_LINE + 100, 'A', "\r\n");
    struct rh h;

    (void)state;
    rh_open(&h, rules);
    feed(C, ctx, st, TS, line);
    free(line);
    feed(C, ctx, st, TC, "550 Failed to open file.\r\n");
    rh_offer(&h, C, st);
    rh_offer(&h, C, st);
    assert_int_equal(ruletest_count(&h.a, 1), 1);
    assert_int_equal(ruletest_count(&h.a, 2), 0);
    rh_close(&h);
    apptest_state_free(C, ctx, st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_port_parsers),
        cmocka_unit_test(test_pairing),
        cmocka_unit_test(test_too_long_command),
        cmocka_unit_test(test_line_at_limit),
        cmocka_unit_test(test_expectations),
        cmocka_unit_test(test_data_upload),
        cmocka_unit_test(test_data_download_gap),
        cmocka_unit_test(test_rules_on_upload),
        cmocka_unit_test(test_rules_event),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
