/* console-summary.h - what linkwatch-console's summary page and sensor list
 * show, read from the tallies the sensors keep in minute and hour buckets and
 * from their status hashes (docs/redis.md). No HTTP here: console.c checks
 * the request and sends the answer.
 */
#ifndef LW_CONSOLE_SUMMARY_H
#define LW_CONSOLE_SUMMARY_H

#include <stdint.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "redis-ctx.h"
#include "redis-keys.h"

/* The newest capture time (Unix seconds) over the sensors' status hashes,
 * or now when none has one. */
int64_t cs_latest_capture(struct rcx *c, const struct rkeys *rk);

/* The buckets of scope (a sensor id or "all") at resolution res ('m' or
 * 'h') from from (a bucket start) up to to: protocols, services, top
 * hosts, country pairs, scopes, alerts by severity and sid, cross-border
 * bytes by country (home_country is ours), personal data sent abroad by
 * destination country ("pii_abroad": the pii family's members from home to
 * elsewhere, the largest total first) and a series per bucket for the
 * charts, in one pipeline. Returns the answer (caller owns it) or NULL when
 * Redis failed. */
json_t *cs_summary(struct rcx *c, const struct rkeys *rk, const char *scope, char res, int64_t from,
                   int64_t to, const char *home_country);

/* {"sensors": [...]}: each sensor's status hash with its id, last flush and
 * whether it is stale (no flush for 120 s). NULL when Redis failed. */
json_t *cs_sensors(struct rcx *c, const struct rkeys *rk);

#endif
