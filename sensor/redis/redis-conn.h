/* redis-conn.h - one client of the configured Redis (redis.*: one server,
 * or a Redis Cluster through the routing layer of redis-cluster.h):
 * connect, AUTH, SELECT, the scripts known, reconnection with a doubling
 * wait, and pipelines routed per node. Shared by the Redis alert exporter
 * (redis-alerts.c) and the tally flusher (tally-flush.c), each with a
 * client of its own.
 *
 * Not thread-safe: one owner thread calls everything but
 * rconn_get_stats(), which any thread may call.
 */
#ifndef LW_REDIS_CONN_H
#define LW_REDIS_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "config.h"
#include "redis-cmd.h"

struct rcl;
struct rcl_stats;

/* Counted by the owner, read by anyone (relaxed atomics). */
struct rconn_stats {
    uint64_t round_trips;        /* pipelines sent and answered */
    uint64_t commands;           /* commands sent */
    uint64_t reconnects;
    uint64_t errors;             /* error replies */
};

struct rconn {
    /* Configuration, fixed at init. */
    char where[300];             /* "host:port", the socket path or "cluster <seeds>", for messages */
    const char *away;            /* what happens while Redis is away, for the warning */
    struct timeval tv_connect;   /* redis.timeouts.connect */
    uint64_t backoff_max_usec;

    /* State. */
    struct rcl *rc;                      /* the routing client (redis-cluster.h) */
    int up;                              /* connected: the last round was answered */
    char sha_tally[48], sha_alert[48];   /* the scripts of redis-cmd.h (loaded on each node) */
    uint64_t next_attempt, backoff;      /* monotonic usec */
    uint64_t down_since;                 /* monotonic, 0 while connected */
    uint64_t generation;                 /* +1 on every connection made */
    int ever_connected;
    struct rconn_stats st;
};

/* Fills c from cfg->redis; away says what the owner does while Redis is
 * away ("alerts go to the spool"), for the one warning per outage. Does not
 * connect. Returns 0, or -1 with err set (a bad redis.cluster seed, db on a
 * cluster, out of memory). */
int rconn_init(struct rconn *c, const struct lw_config *cfg, const char *away, char *err, size_t errlen);
/* Disconnects and frees what init took. */
void rconn_fini(struct rconn *c);

/* Connected, or connects when the wait since the last failure is over.
 * Returns 1 when connected. */
int rconn_ensure(struct rconn *c);
/* Drops the connection (logged once per outage) and starts the wait before
 * the next attempt (+-25%, so that many sensors do not come back in step). */
void rconn_drop(struct rconn *c, const char *why);
/* The wait before the next attempt is over (or connected). */
int rconn_due(const struct rconn *c);

/* One command, waited for. Returns the reply (the caller frees it with
 * freeReplyObject) or NULL with the connection dropped; an error reply is
 * logged, freed, and NULL. */
void *rconn_command(struct rconn *c, const char *what, int argc, const char **argv);

/* What rconn_pipeline() says of a command that got no usable answer. */
#define RCONN_ERROR       (-1)   /* an error reply (counted and logged) */
#define RCONN_UNANSWERED  (-2)   /* not sent, sent without an answer, or (with
                                  * redis.wait-replicas) answered by a master
                                  * that did not pass it on to a replica in time */

/* Sends every command of b, routed (one round trip per node), and reads the
 * replies. Returns how many were answered. replies[i] gets command i's
 * integer reply, 0 for another kind, RCONN_ERROR or RCONN_UNANSWERED. Per
 * key, the commands answered are a prefix of b's order (redis-cluster.h).
 * When any is unanswered the client is marked down (the wait before the
 * next attempt starts). */
size_t rconn_pipeline(struct rconn *c, const struct rbatch *b, long long *replies);

void rconn_get_stats(const struct rconn *c, struct rconn_stats *st);
/* Adds the routing layer's counters to st (gauges and failovers seen: the
 * larger, as the sensor's clients each see the same failover). Any thread. */
void rconn_add_cluster_stats(const struct rconn *c, struct rcl_stats *st);
/* The same from counters kept aside (relaxed atomic reads). */
void rconn_add_cluster_stats_from(const struct rcl_stats *from, struct rcl_stats *st);

#endif
