/* console-shards.h - linkwatch-console over every alert shard
 * (console-redis.h): the list merged across shards, the groups added up,
 * and the one write the console makes in a shard, the triage.
 */
#ifndef LW_CONSOLE_SHARDS_H
#define LW_CONSOLE_SHARDS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "console-query.h"
#include "console-redis.h"
#include "redis-ctx.h"
#include "redis-keys.h"

/* Walks the alerts q selects in every shard of sh (console-redis.h), each
 * from its position (q->before is not used), calling visit with the API id
 * of each alert ("<shard>:<stream id>", or the stream id in the shared
 * stream) until it says stop; then sets every shard's position to where
 * the next page starts. The shards share q->scan and q->budget_usec.
 *
 * ordered: the visits follow the alerts' time across shards, newest first
 * (the EVE timestamp, then the stream id; the stream id for an alert
 * without a time): each shard's next `limit` matches (at most bytes_max
 * of events) are read, then merged; a shard whose read ended early (its
 * share of the budget) ends the merge when its matches are used up, so a
 * page never passes over what a shard has not read. Unordered (or one
 * shard): each shard is walked in turn, visiting as it goes (groups).
 *
 * Within a shard the walk is in stream order, so positions per shard make
 * pages that neither skip nor repeat an alert, whatever the times. a gets
 * the sums of the shards' answers; a->next is the one shard's next when
 * there is one shard (as cq_walk()), else "" (the caller formats the
 * cursor from sh). a->index says how each shard was answered. Returns 0,
 * or -1 when Redis failed. */
int csh_walk(struct rcx *c, const struct rkeys *rk, struct cr_shards *sh, const struct cq_query *q,
             int ordered, unsigned limit, size_t bytes_max, cq_visit_fn visit, void *cls,
             struct cq_answer *a);

/* The same over every shard of sh: each shard's limit largest, added up
 * by (sid, source, destination) (a group is exact in the shards that list
 * it among their largest), first_seen the earliest, last_seen the latest,
 * *total the sum of the shards' totals (a group in two shards counts
 * twice). */
json_t *csh_groups(struct rcx *c, const struct rkeys *rk, const struct cr_shards *sh, unsigned limit,
                  uint64_t *total, char *err, size_t errlen);

/* Stores triage record ts and history entry hs of the alert xid of the
 * shard k names, and moves it to the status index of status (NULL:
 * unchanged; "new": in none), in one script call (TRIAGE_LUA: every key in
 * the shard's slot; nothing is written when the alert is not in the
 * stream). Returns 1 stored, 0 no such alert, -1 Redis failed. */
int csh_triage(struct rcx *c, const struct rkeys *k, const char *xid, const char *status, const char *ts,
               const char *hs);

#endif
