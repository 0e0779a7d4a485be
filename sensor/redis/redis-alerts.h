/* redis-alerts.h - the "redis" exporter: alerts to the shared alerts stream
 * and channel, ended flows to the flows stream (docs/redis.md).
 *
 * It runs on its exporter thread of the output layer like any exporter;
 * each batch the output layer takes goes to Redis in one pipeline: the
 * alert script (redis-cmd.h) for the alerts, XADD for the flows. An alert
 * carries its sequence number, so one handed in again (spooled while Redis
 * was away, or sent without an answer) is dropped by Redis when it has it
 * already: exactly once, in order. Flows are best effort: dropped, and
 * counted, while Redis is away. Its alert spool is
 * <redis.spool-dir>/<sensor-id>.alerts (an owner-only folder), bounded by
 * redis.spool-max-size.
 *
 * Its registry entry (redis_alert_exporter, exporters.h) also describes the
 * redis.* section, which the tally flusher (tally-flush.h), the workers'
 * tallies and the console read too.
 */
#ifndef LW_REDIS_ALERTS_H
#define LW_REDIS_ALERTS_H

#include <stdint.h>
#include "output.h"
#include "redis-conn.h"

struct redis_alert_stats {
    uint64_t alerts_sent;        /* acknowledged by Redis (repeats included) */
    uint64_t alerts_duplicate;   /* acknowledged but already in the stream (a repeat) */
    uint64_t flows_sent, flows_dropped;
    struct rconn_stats conn;     /* of its connection */
    /* Its spool, as the output layer counts it. */
    uint64_t alerts_spooled;     /* put in the spool */
    uint64_t alerts_in_spool;    /* not delivered yet */
    uint64_t alerts_spool_full;  /* refused by a full spool: lost for Redis (still in eve.json) */
};

/* The counters of the redis exporter of o. Returns 0, or -1 (all zero)
 * when o has none. Any thread. */
int redis_alerts_stats(const struct output *o, struct redis_alert_stats *st);

#endif
