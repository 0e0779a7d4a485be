/* apptest.h - what the application-layer parsers' unit tests share: a
 * worker context with generous limits, feeding bytes, finding
 * transactions and rendering their EVE blocks.
 *
 * When $LW_APP_EVE_OUT names a file, every block rendered is also appended
 * to it as a whole EVE event ({"timestamp", "event_type": NAME, NAME: {..}})
 * so tests/integration/test_app_eve.py can check them against Suricata's
 * EVE schema.
 */
#ifndef LW_APPTEST_H
#define LW_APPTEST_H

#include <stddef.h>
#include <stdint.h>

#include "app-layer.h"

/* A fresh context: memcap 64 MiB, max_tx 16, max_names 32, max_certs 8. */
struct app_ctx *apptest_ctx(void);
/* A state of parser p (fails the test when NULL). */
void *apptest_state(const struct app_parser *p, struct app_ctx *ctx);
/* Frees the state and what the parser keeps in the context (ctx_free), and
 * asserts that all of the context's memory came back. */
void apptest_state_free(const struct app_parser *p, struct app_ctx *ctx, void *st);
/* parse() of n bytes (flags APP_IN_*); returns parse()'s result. */
int apptest_feed(const struct app_parser *p, struct app_ctx *ctx, void *st, enum app_dir dir,
                 const void *data, size_t n, unsigned flags);
/* The same, one byte per call. */
int apptest_feed_bytes(const struct app_parser *p, struct app_ctx *ctx, void *st, enum app_dir dir,
                       const void *data, size_t n);
/* The i-th transaction in the state's list (NULL past the end). */
struct app_tx *apptest_tx(const struct app_parser *p, void *st, unsigned i);
/* The transaction's EVE block as JSON text: {...members...}. The text
 * stays valid until the next call. */
const char *apptest_eve(const struct app_parser *p, void *st, const struct app_tx *tx);
/* Appends a whole event around an object's text to $LW_APP_EVE_OUT. */
void apptest_emit(const char *event_type, const char *object);
/* The count of event e of parser proto in the context's counters. */
uint64_t apptest_events(const struct app_ctx *ctx, enum app_proto proto, unsigned e);
/* The count of all of parser proto's events. */
uint64_t apptest_events_total(const struct app_ctx *ctx, enum app_proto proto);

#endif
