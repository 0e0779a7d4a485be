/* apptest.c - helpers of the application-layer parsers' unit tests; see apptest.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apptest.h"
#include "json.h"

static struct app_ctx test_ctx;
static struct jbuf eve_jb;

struct app_ctx *apptest_ctx(void)
{
    memset(&test_ctx, 0, sizeof test_ctx);
    test_ctx.mem.cap = 64u << 20;
    test_ctx.limits.max_tx = 16;
    test_ctx.limits.max_names = 32;
    test_ctx.limits.max_certs = 8;
    return &test_ctx;
}

void *apptest_state(const struct app_parser *p, struct app_ctx *ctx)
{
    void *st = p->state_new(ctx);

    assert_non_null(st);
    return st;
}

void apptest_state_free(const struct app_parser *p, struct app_ctx *ctx, void *st)
{
    p->state_free(ctx, st);
    if (p->ctx_free)
        p->ctx_free(ctx);      /* what the parser keeps per worker (HTTP: its libhtp configuration) */
    assert_int_equal(ctx->mem.used, 0);
}

int apptest_feed(const struct app_parser *p, struct app_ctx *ctx, void *st, enum app_dir dir,
                 const void *data, size_t n, unsigned flags)
{
    return p->parse(ctx, st, dir, data, n, flags, 1700000000000000ull);
}

int apptest_feed_bytes(const struct app_parser *p, struct app_ctx *ctx, void *st, enum app_dir dir,
                       const void *data, size_t n)
{
    const uint8_t *d = data;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++)
        rc = apptest_feed(p, ctx, st, dir, d + i, 1, 0);
    return rc;
}

struct app_tx *apptest_tx(const struct app_parser *p, void *st, unsigned i)
{
    struct app_tx *t = p->txs(st)->head;

    while (t && i--)
        t = t->next;
    return t;
}

const char *apptest_eve(const struct app_parser *p, void *st, const struct app_tx *tx)
{
    if (!eve_jb.buf)
        jbuf_init(&eve_jb);
    jbuf_reset(&eve_jb);
    jbuf_open_object(&eve_jb, NULL);
    p->tx_eve(st, tx, &eve_jb);
    jbuf_close_object(&eve_jb);
    assert_true(jbuf_ok(&eve_jb));
    apptest_emit(p->name, eve_jb.buf);
    return eve_jb.buf;
}

void apptest_emit(const char *event_type, const char *object)
{
    const char *path = getenv("LW_APP_EVE_OUT");
    FILE *f;

    if (!path || !*path || !(f = fopen(path, "a")))
        return;
    fprintf(f, "{\"timestamp\":\"2023-11-14T22:13:20.000000+0000\",\"event_type\":\"%s\",\"%s\":%s}\n",
            event_type, event_type, object);
    fclose(f);
}

uint64_t apptest_events(const struct app_ctx *ctx, enum app_proto proto, unsigned e)
{
    return ctx->stats.events[proto][e];
}

uint64_t apptest_events_total(const struct app_ctx *ctx, enum app_proto proto)
{
    uint64_t n = 0;

    for (unsigned e = 0; e < APP_MAX_EVENTS; e++)
        n += ctx->stats.events[proto][e];
    return n;
}
