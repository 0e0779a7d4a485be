/* fuzz-app.h - the application-layer parsers' input format and a driver
 * that plays the stage's part, shared by the fuzz targets (fuzz_app_dns,
 * fuzz_app_tls, fuzz_app_ssh) and tests/gen/app_eve.c.
 *
 * Input: one mode byte, then frames as in fuzz-common.h ([u16 length,
 * little-endian][bytes]). A frame's first byte says what it is: bit 0 the
 * direction (0 to the server, 1 to the client), bit 1 a gap (the frame's
 * length is the count of bytes lost), bit 2 the direction's end after it;
 * the rest of the frame is data. The mode byte: bit 0 datagrams (each frame
 * is one UDP datagram, APP_IN_DGRAM), bit 1 small limits (max_tx 2,
 * max_names 3, max_certs 1), bit 2 a small memory cap (24 KiB).
 *
 * The driver frees transactions as the stage will: a transaction done both
 * ways is handed to on_tx, then taken off the list and freed; past
 * max_tx the oldest go the same way; at the end both directions end and
 * every transaction left goes to on_tx. It aborts when the memory in use
 * passes the cap, or is not all given back after state_free().
 */
#ifndef LW_FUZZ_APP_H
#define LW_FUZZ_APP_H

#include <stdlib.h>
#include <string.h>

#include "app-layer.h"
#include "fuzz-common.h"
#include "json.h"

#define FUZZ_APP_DGRAM  0x01u
#define FUZZ_APP_SMALL  0x02u
#define FUZZ_APP_TIGHT  0x04u

typedef void (*fuzz_app_tx_fn)(const struct app_parser *p, void *state, const struct app_tx *tx, void *arg);

static inline void fuzz_app_check_mem(const struct app_ctx *ctx)
{
    if (ctx->mem.used > ctx->mem.cap)
        abort();                       /* the cap is the point of app_mem */
}

/* Hands transactions to on_tx and frees them: the head while it is done
 * both ways or (all) when the list is longer than max. */
static inline void fuzz_app_reap(const struct app_parser *p, struct app_ctx *ctx, void *st, uint32_t max,
                                 fuzz_app_tx_fn on_tx, void *arg)
{
    struct app_txlist *l = p->txs(st);

    while (l->head && (l->n > max || (l->head->progress[0] == APP_PROG_DONE &&
                                      l->head->progress[1] == APP_PROG_DONE))) {
        if (on_tx)
            on_tx(p, st, l->head, arg);
        p->tx_free(ctx, st, app_txlist_pop(l));
    }
}

/* Closes the object opened in jb and aborts when the encoder succeeded
 * but the text is not one JSON value. */
static inline void fuzz_app_json_check(struct jbuf *jb)
{
    jbuf_close_object(jb);
    if (jbuf_ok(jb) && !fuzz_json_ok(jb->buf, jb->len))
        abort();
}

/* Resets jb and opens the object a block is written into. */
static inline void fuzz_app_json_start(struct jbuf *jb)
{
    jbuf_reset(jb);
    jbuf_open_object(jb, NULL);
}

/* The transaction's EVE block must be valid JSON. */
static inline void fuzz_app_eve(const struct app_parser *p, void *st, const struct app_tx *tx, struct jbuf *jb)
{
    fuzz_app_json_start(jb);
    p->tx_eve(st, tx, jb);
    fuzz_app_json_check(jb);
}

/* Runs parser p over one input; the context's counters end in *stats
 * when it is not NULL. */
static inline void fuzz_app_run_stats(const struct app_parser *p, const uint8_t *data, size_t size,
                                      fuzz_app_tx_fn on_tx, void *arg, struct app_stats *stats)
{
    struct app_ctx ctx;
    const uint8_t *frame;
    uint32_t len;
    unsigned mode;
    uint64_t ts = 1700000000000000ull;
    void *st;
    int gave_up = 0;

    if (size < 1)
        return;
    mode = data[0];
    data++;
    size--;
    memset(&ctx, 0, sizeof ctx);
    ctx.mem.cap = (mode & FUZZ_APP_TIGHT) ? 24u << 10 : 16u << 20;
    ctx.limits.max_tx = (mode & FUZZ_APP_SMALL) ? 2 : 32;
    ctx.limits.max_names = (mode & FUZZ_APP_SMALL) ? 3 : 64;
    ctx.limits.max_certs = (mode & FUZZ_APP_SMALL) ? 1 : 10;
    if (!(st = p->state_new(&ctx)))
        return;
    while (!gave_up && fuzz_next_frame(&data, &size, &frame, &len)) {
        enum app_dir dir;
        unsigned ctl, flags = 0;

        if (len < 1)
            continue;
        ctl = frame[0];
        dir = (ctl & 1) ? APP_TO_CLIENT : APP_TO_SERVER;
        frame++;
        len--;
        if (len && !(ctl & 2) && p->probe(frame, len, dir) > 1)
            abort();
        if (ctl & 2) {
            gave_up = p->parse(&ctx, st, dir, NULL, len, APP_IN_GAP, ts) < 0;
        } else {
            flags = ((mode & FUZZ_APP_DGRAM) ? APP_IN_DGRAM : 0) | ((ctl & 4) ? APP_IN_EOF : 0);
            gave_up = p->parse(&ctx, st, dir, len ? frame : NULL, len, flags, ts) < 0;
        }
        ts += 1000;
        fuzz_app_check_mem(&ctx);
        fuzz_app_reap(p, &ctx, st, ctx.limits.max_tx, on_tx, arg);
    }
    if (!gave_up) {
        p->parse(&ctx, st, APP_TO_SERVER, NULL, 0, APP_IN_EOF, ts);
        p->parse(&ctx, st, APP_TO_CLIENT, NULL, 0, APP_IN_EOF, ts);
    }
    fuzz_app_reap(p, &ctx, st, 0, on_tx, arg);
    p->state_free(&ctx, st);
    if (ctx.mem.used != 0)
        abort();                       /* memory not given back */
    if (stats)
        *stats = ctx.stats;
}

static inline void fuzz_app_run(const struct app_parser *p, const uint8_t *data, size_t size, fuzz_app_tx_fn on_tx,
                                void *arg)
{
    fuzz_app_run_stats(p, data, size, on_tx, arg, NULL);
}

#endif
