/* redis-alerts.h - the "redis" exporter: alerts to the alerts stream (the
 * shared one, or the sensor's own: redis.alerts-layout) and channel, ended
 * flows to the flows stream (docs/redis.md).
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
#include "exporter.h"
#include "redis-conn.h"
#include "redis-cluster.h"

/* What it sent; its spool is counted by the output layer (output.h). */
struct redis_alert_stats {
    uint64_t alerts_sent;        /* acknowledged by Redis (repeats included) */
    uint64_t alerts_duplicate;   /* acknowledged but already in the stream (a repeat) */
    uint64_t flows_sent, flows_dropped;
    struct rconn_stats conn;     /* of its connection */
    struct rcl_stats cluster;    /* of its routing client (redis-cluster.h) */
};

/* Whether alerts go to a stream per sensor ({alerts:<sensor-id>}):
 * redis.alerts-layout per-sensor, or auto on a cluster. */
int redis_alerts_per_sensor(const struct lw_config *cfg);

/* The counters of x, the redis exporter (output_find(out, "redis")).
 * Returns 0, or -1 (all zero) when x is NULL or another exporter. Any
 * thread. */
int redis_alerts_stats(const struct exporter *x, struct redis_alert_stats *st);

#endif
