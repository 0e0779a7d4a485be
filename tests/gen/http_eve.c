/* http_eve.c - writes the EVE events of HTTP conversations, for the schema
 * test (tests/integration/test_app_http_eve.py).
 *
 * Usage: http_eve FILE...   Each file is one flow in fuzz_app_http's input
 * format (tests/fuzz/fuzz_app_http.c: a limits byte, then records of
 * direction/end/gap flags, a u16 length and bytes). Prints, one per line,
 * an "http" event for every transaction (with the request_headers and
 * response_headers arrays Suricata writes with dump-all-headers) and a
 * "fileinfo" event for every body file, as the stage will frame them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app-layer.h"
#include "http.h"
#include "json.h"

static const struct app_parser *P = &app_parser_http;

static void envelope(struct jbuf *jb, const char *type, const struct http_tx *tx, uint64_t ts)
{
    jbuf_reset(jb);
    jbuf_open_object(jb, NULL);
    jbuf_timestamp(jb, "timestamp", ts);
    jbuf_u64(jb, "flow_id", 1);
    jbuf_str(jb, "event_type", type);
    jbuf_str(jb, "src_ip", "10.0.0.1");
    jbuf_u64(jb, "src_port", 40000);
    jbuf_str(jb, "dest_ip", "10.0.0.2");
    jbuf_u64(jb, "dest_port", 80);
    jbuf_str(jb, "proto", "TCP");
    jbuf_u64(jb, "tx_id", tx->tx.id);
    jbuf_str(jb, "app_proto", "http");
    jbuf_open_object(jb, "http");
    P->tx_eve(NULL, &tx->tx, jb);
    http_eve_headers(tx, APP_TO_SERVER, jb);
    http_eve_headers(tx, APP_TO_CLIENT, jb);
    jbuf_close_object(jb);
}

static void emit(struct jbuf *jb)
{
    jbuf_close_object(jb);
    if (!jbuf_ok(jb)) {
        fprintf(stderr, "http_eve: JSON encoder failed\n");
        exit(1);
    }
    fwrite(jb->buf, 1, jb->len, stdout);
    putchar('\n');
}

static void log_tx(struct jbuf *jb, const struct http_tx *tx, uint64_t ts)
{
    envelope(jb, "http", tx, ts);
    emit(jb);
    for (int d = 0; d < 2; d++) {
        if (!http_tx_file(tx, (enum app_dir)d))
            continue;
        envelope(jb, "fileinfo", tx, ts);
        jbuf_open_object(jb, "fileinfo");
        http_file_eve(tx, (enum app_dir)d, jb);
        jbuf_close_object(jb);
        emit(jb);
    }
}

static int run(const char *path, struct jbuf *jb)
{
    static uint8_t buf[1 << 20];
    FILE *f = fopen(path, "rb");
    size_t n, i = 1;
    struct app_ctx ctx;
    struct app_tx *t;
    void *st;
    uint64_t ts = 1700000000000000ull;

    if (!f || (n = fread(buf, 1, sizeof buf, f)) < 1) {
        fprintf(stderr, "http_eve: cannot read %s\n", path);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    memset(&ctx, 0, sizeof ctx);
    http_limits_default(&ctx.limits);
    ctx.mem.cap = 64u << 20;
    if (!(st = P->state_new(&ctx)))
        return -1;
    while (i + 3 <= n) {
        uint8_t fl = buf[i];
        size_t len = (size_t)buf[i + 1] | (size_t)buf[i + 2] << 8;
        unsigned in = (fl & 2 ? APP_IN_EOF : 0u) | (fl & 4 ? APP_IN_GAP : 0u);

        i += 3;
        if (!(fl & 4) && len > n - i)
            len = n - i;
        ts += 1000;
        if (P->parse(&ctx, st, fl & 1 ? APP_TO_CLIENT : APP_TO_SERVER, fl & 4 ? NULL : buf + i, len, in, ts) < 0)
            break;
        if (!(fl & 4))
            i += len;
    }
    for (t = P->txs(st)->head; t; t = t->next)
        log_tx(jb, (const struct http_tx *)t, ts);
    P->state_free(&ctx, st);
    P->ctx_free(&ctx);
    return 0;
}

int main(int argc, char **argv)
{
    struct jbuf jb;
    int rc = 0;

    jbuf_init(&jb);
    for (int a = 1; a < argc; a++)
        if (run(argv[a], &jb) < 0)
            rc = 1;
    jbuf_free(&jb);
    return rc;
}
