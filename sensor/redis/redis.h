/* redis.h - the Redis writer: one thread and one connection per sensor that
 * send the workers' tallies, the alerts stream and the sensor's status
 * (docs/redis.md has the key layout).
 *
 * It is the "redis" exporter of exporter.h (redis_exporter_open(), called
 * by output_open() when redis.enabled): alerts handed to it are queued and
 * the thread sends them (EVALSHA of the alert script: XADD to the shared
 * stream and PUBLISH), or, while Redis cannot take them, appends them to
 * the disk spool and replays them in order later, also after a restart.
 * Ended flows go to a stream too when redis.flows-stream.enabled.
 *
 * Every redis.flush-interval the thread asks each registered tally for its
 * table, merges it into its store of pending deltas (bounded by
 * redis.pending-max-keys) and, when connected, sends the store in one
 * pipeline. While Redis is away the store keeps merging and is sent on
 * reconnect; the connection is retried with a doubling wait (0.1 s up to
 * redis.reconnect-max).
 *
 * Threads: redis_add_tally(), redis_set_health(), redis_health_wanted() and
 * redis_finish() are the sensor's (main thread); the exporter ops are called
 * from the output layer's thread for this exporter (write_event only queues:
 * an alert counts as written once queued here, and this writer owns its
 * delivery from then on); everything else happens on the Redis thread.
 */
#ifndef LW_REDIS_H
#define LW_REDIS_H

#include <stdint.h>
#include <stdio.h>
#include "exporter.h"
#include "tally.h"
#include "stats.h"

struct redis;

/* The sensor's counters, as the flusher reports them (status hash, health
 * drops and flows_active). Cumulative since start. */
struct redis_health {
    uint64_t ts_usec;            /* capture time of the latest packet */
    uint64_t packets, bytes;
    uint64_t drops;              /* kernel drops, live capture */
    uint64_t flows_active, flows_created;
    uint64_t alerts;
};

/* What the writer did, for the summary line and the tests. */
struct redis_stats {
    uint64_t round_trips;        /* pipelines sent and answered */
    uint64_t commands;           /* commands sent */
    uint64_t flushes;            /* tally stores sent */
    uint64_t alerts_queued;      /* handed in by the output */
    uint64_t alerts_sent;        /* acknowledged by Redis (replays included) */
    uint64_t alerts_duplicate;   /* acknowledged but already in the stream (a replay) */
    uint64_t alerts_spooled;     /* written to the disk spool */
    uint64_t alerts_spool_full;  /* refused by a full spool: lost for Redis (still in eve.json) */
    uint64_t alerts_queue_full;  /* refused by a full memory queue: likewise */
    uint64_t alerts_in_spool;    /* not delivered yet at the time of asking */
    uint64_t flows_sent, flows_dropped;
    uint64_t tally_keys_other;   /* keys that went to an "other" key of the store */
    uint64_t tally_cmds_lost;    /* tally commands given up (Redis error, or at exit) */
    uint64_t tally_repeats;      /* tally commands resent that Redis had applied already */
    uint64_t reconnects;
    uint64_t errors;             /* error replies */
};

extern const struct stats_module redis_stats_module;

/* The writer behind a redis exporter; NULL for NULL or another exporter. */
struct redis *redis_of(struct exporter *x);

/* Registers a worker's tally (at most 64). */
int redis_add_tally(struct redis *r, struct tally *t);
/* Whether the thread wants a fresh redis_set_health(); one relaxed load. */
int redis_health_wanted(struct redis *r);
void redis_set_health(struct redis *r, const struct redis_health *h);
/* End of run, on the thread that counts into the registered tallies, after
 * the last count: hands their last tables over, then lets the thread send
 * everything it has. Waits while Redis takes it; when Redis is away, spools
 * the alerts and gives up on the tallies (logged) after
 * 2 x redis.timeouts.connect without progress. The exporter stays open (to
 * be closed by output_close()). Idempotent. */
void redis_finish(struct redis *r, uint64_t now_usec);
void redis_get_stats(struct redis *r, struct redis_stats *st);
/* One "  redis: ..." summary line. */
void redis_print_summary(struct redis *r, FILE *fp);

#endif
