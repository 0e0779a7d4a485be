/* tally-flush.h - the tally flusher: the thread that sends the workers'
 * tallies and the sensor's status to Redis (docs/redis.md has the keys).
 *
 * Every redis.flush-interval the thread asks each registered tally for its
 * table, merges it into its store of pending deltas (bounded by
 * redis.pending-max-keys) and, when connected, sends the store, the
 * flows_active gauge and the status hash in one pipeline. Each tally
 * command carries a flush id the Lua script records in the bucket's
 * ":applied" hash, so a command resent after a lost reply is applied once.
 * While Redis is away the store keeps merging and is sent on reconnect; the
 * connection (redis-conn.h, one of its own) is retried with a doubling wait
 * (0.1 s up to redis.reconnect-max).
 *
 * Alerts and ended flows are not its business: the redis exporter
 * (redis-alerts.h) sends them on its output thread. The flusher reads that
 * exporter's counters from the output, for the status hash, its stats and
 * its summary line, which cover both.
 *
 * Threads: every function is the sensor's (main thread); the flusher's own
 * thread does the rest.
 */
#ifndef LW_TALLY_FLUSH_H
#define LW_TALLY_FLUSH_H

#include <stdint.h>
#include "stats.h"
#include <stdio.h>
#include "config.h"
#include "output.h"
#include "tally.h"

struct tally_flush;

/* The sensor's counters, as the flusher reports them (status hash, health
 * drops and flows_active). Cumulative since start. */
struct redis_health {
    uint64_t ts_usec;            /* capture time of the latest packet */
    uint64_t packets, bytes;
    uint64_t drops;              /* kernel drops, live capture */
    uint64_t flows_active, flows_created;
    uint64_t alerts;
};

/* What Redis got, for the summary line and /metrics: the flusher's and the
 * redis exporter's counters together. */
struct redis_stats {
    uint64_t round_trips;        /* pipelines sent and answered */
    uint64_t commands;           /* commands sent */
    uint64_t flushes;            /* tally stores sent */
    uint64_t alerts_sent;        /* acknowledged by Redis (replays included) */
    uint64_t alerts_duplicate;   /* acknowledged but already in the stream (a replay) */
    uint64_t alerts_spooled;     /* written to the disk spool */
    uint64_t alerts_spool_full;  /* refused by a full spool: lost for Redis (still in eve.json) */
    uint64_t alerts_queue_full;  /* always 0: a full queue spools alerts (kept for /metrics) */
    uint64_t alerts_in_spool;    /* not delivered yet at the time of asking */
    uint64_t flows_sent, flows_dropped;
    uint64_t tally_keys_other;   /* keys that went to an "other" key of the store */
    uint64_t tally_cmds_lost;    /* tally commands given up (Redis error, or at exit) */
    uint64_t tally_repeats;      /* tally commands resent that Redis had applied already */
    uint64_t reconnects;
    uint64_t errors;             /* error replies */
};
extern const struct stats_module redis_stats_module;

/* Starts the flusher for cfg->redis (its thread connects at the first flush). out is
 * the sensor's output, whose redis exporter's counters the flusher reports
 * (may be NULL); it must outlive the flusher. Returns NULL with a one-line
 * reason in err (out of memory, no thread). */
struct tally_flush *tally_flush_new(const struct lw_config *cfg, const struct output *out,
                                    char *err, size_t errlen);
/* Registers a tally (a worker's, the capture thread's), at most 260.
 * Returns 0 or -1. */
int tally_flush_add_tally(struct tally_flush *tf, struct tally *t);
/* Whether the thread wants a fresh tally_flush_set_health(); one relaxed load. */
int tally_flush_health_wanted(struct tally_flush *tf);
void tally_flush_set_health(struct tally_flush *tf, const struct redis_health *h);
/* End of run, on the thread that counts into the registered tallies, after
 * the last count: hands their last tables over, then lets the thread send
 * everything it has and stop. Waits while Redis takes it; when Redis is
 * away, gives up on the tallies (logged) after 2 x redis.timeouts.connect
 * without progress. Idempotent. */
void tally_flush_finish(struct tally_flush *tf, uint64_t now_usec);
void tally_flush_stats(struct tally_flush *tf, struct redis_stats *st);
/* The routing layer's counters of its client and the redis exporter's
 * (redis-cluster.h: nodes, slot map refreshes, redirects, failovers). */
struct rcl_stats;
void tally_flush_cluster_stats(struct tally_flush *tf, struct rcl_stats *st);
/* One "  redis: ..." summary line. */
void tally_flush_print_summary(struct tally_flush *tf, FILE *fp);
/* Stops the thread if tally_flush_finish() did not (then only what it holds
 * is sent: the tallies may be gone) and frees. NULL is fine. */
void tally_flush_free(struct tally_flush *tf);

#endif
