/* fuzz_app_http.c - libFuzzer target: the HTTP/1.x parser (sensor/app/http*.c)
 * fed both directions of one flow, as the application-layer stage would.
 *
 * Input: one byte choosing the limits (bit 0 tiny bodies, bit 1 max_tx 2,
 * bit 2 a small memcap, bit 3 a short field limit, bit 4 one decompression
 * layer), then records: a flags byte (bit 0: to client; bit 1: that
 * direction ends after the record; bit 2: a gap of the record's length, no
 * bytes), a little-endian u16 length and that many bytes (a short last
 * record takes what is left).
 *
 * Checked: app_mem never passes its cap, bodies never pass their limit,
 * every buffer a rule would read is readable to its end, every EVE object
 * is JSON, and every byte counted in app_mem comes back at the end. */
#include <stdlib.h>

#include "app-layer.h"
#include "fuzz-common.h"
#include "http.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct app_parser *P = &app_parser_http;
static struct jbuf jb;
static volatile uint8_t sink;

static void limits_for(uint8_t sel, struct app_ctx *ctx)
{
    struct app_limits *l = &ctx->limits;

    l->max_tx = sel & 2 ? 2 : APP_DEFAULT_MAX_TX;
    l->request_body_limit = sel & 1 ? 16 : APP_DEFAULT_BODY_LIMIT;
    l->response_body_limit = sel & 1 ? 8 : APP_DEFAULT_BODY_LIMIT;
    l->decompress_limit = APP_DEFAULT_DECOMPRESS_LIMIT;
    l->decompress_layers = sel & 16 ? 1 : APP_DEFAULT_DECOMPRESS_LAYERS;
    l->decompress_time_usec = 200000;
    l->field_limit = sel & 8 ? 256 : APP_DEFAULT_FIELD_LIMIT;
    ctx->mem.cap = sel & 4 ? 24 * 1024 : 64u << 20;
}

static void check_json(void)
{
    if (jbuf_ok(&jb) && !fuzz_json_ok(jb.buf, jb.len))
        abort();                       /* an EVE writer emitted something that is not JSON */
}

/* Reads every byte of every buffer, as a rule would, and writes the EVE
 * objects. */
static void inspect(const struct http_tx *tx, const struct app_limits *l)
{
    const uint8_t *p;
    uint32_t len;

    if (l->request_body_limit && tx->body[APP_TO_SERVER].len > l->request_body_limit)
        abort();
    if (l->response_body_limit && tx->body[APP_TO_CLIENT].len > l->response_body_limit)
        abort();
    for (int b = 0; b < HTTP_BUF_MAX; b++)
        if (http_tx_buffer(tx, (enum http_buf)b, &p, &len))
            for (uint32_t i = 0; i < len; i++)
                sink ^= p[i];
    jbuf_reset(&jb);
    jbuf_open_object(&jb, NULL);
    jbuf_open_object(&jb, "http");
    P->tx_eve(NULL, &tx->tx, &jb);
    http_eve_headers(tx, APP_TO_SERVER, &jb);
    http_eve_headers(tx, APP_TO_CLIENT, &jb);
    jbuf_close_object(&jb);
    for (int d = 0; d < 2; d++) {
        if (!http_tx_file(tx, (enum app_dir)d))
            continue;
        jbuf_open_object(&jb, d ? "fileinfo_tc" : "fileinfo_ts");
        http_file_eve(tx, (enum app_dir)d, &jb);
        jbuf_close_object(&jb);
    }
    jbuf_close_object(&jb);
    check_json();
}

/* Walks the transactions after a record; frees those done both ways, as
 * the stage does once it has inspected and logged them. */
static void after_record(struct app_ctx *ctx, void *st)
{
    struct app_txlist *l = P->txs(st);
    struct app_tx *t;

    if (ctx->mem.used > ctx->mem.cap)
        abort();
    for (t = l->head; t; t = t->next)
        inspect((const struct http_tx *)t, &ctx->limits);
    while (l->head && l->head->progress[0] == APP_PROG_DONE && l->head->progress[1] == APP_PROG_DONE)
        P->tx_free(ctx, st, app_txlist_pop(l));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct app_ctx ctx;
    void *st;
    uint64_t ts = 1000000;

    if (size < 1)
        return 0;
    if (!jb.buf)
        jbuf_init(&jb);
    memset(&ctx, 0, sizeof ctx);
    limits_for(data[0], &ctx);
    data++;
    size--;
    st = P->state_new(&ctx);
    if (!st) {
        P->ctx_free(&ctx);
        return 0;
    }
    while (size >= 3) {
        uint8_t flags = data[0];
        size_t want = (size_t)data[1] | (size_t)data[2] << 8;
        enum app_dir dir = flags & 1 ? APP_TO_CLIENT : APP_TO_SERVER;
        unsigned in = (flags & 2 ? APP_IN_EOF : 0u) | (flags & 4 ? APP_IN_GAP : 0u);
        int rc;

        data += 3;
        size -= 3;
        if (!(flags & 4) && want > size)
            want = size;
        ts += 1000;
        rc = P->parse(&ctx, st, dir, flags & 4 ? NULL : data, want, in, ts);
        if (!(flags & 4)) {
            data += want;
            size -= want;
        }
        after_record(&ctx, st);
        if (rc < 0)
            break;                     /* the stage gives nothing more to a parser that gave up */
    }
    P->state_free(&ctx, st);
    P->ctx_free(&ctx);
    if (ctx.mem.used != 0)
        abort();                       /* app_mem must get back every byte it counted */
    return 0;
}
