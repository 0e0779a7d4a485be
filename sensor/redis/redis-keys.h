/* redis-keys.h - the names of every key linkwatch keeps in Redis: the one
 * definition of the layout that docs/redis.md describes. The sensor's writer
 * (redis-cmd.c, redis.c) and linkwatch-console both build their key names
 * here, so the two cannot drift apart.
 *
 * Every function writes a NUL-terminated name into buf (len bytes, RKEY_MAX
 * is always enough for valid parts) and returns its length; a name that does
 * not fit is cut at len - 1, which the callers' fixed parts never reach.
 */
#ifndef LW_REDIS_KEYS_H
#define LW_REDIS_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

/* What the key layout needs to know. */
struct rkeys {
    const char *prefix;          /* redis.prefix */
    const char *sensor;          /* sensor-id (the console leaves it NULL) */
    uint64_t ttl_minute, ttl_hour;
    uint32_t top_k;              /* redis.top-hosts */
    int merged;                  /* redis.merged-view: also the "all" scope */
    /* The alerts stream this names (redis.alerts-layout): NULL or "" the
     * shared one, {alerts}; else the per-sensor shard {alerts:<shard>}
     * (the sensor's id), whose keys all live in that shard's slot. */
    const char *shard;
};

#define RKEY_MAX 256

/* "<prefix>:{<scope>:<res>:<start>}:<fam>[:<metric>]", res 'm' or 'h',
 * start the bucket's first second (Unix time): a tally key. */
size_t rkey_bucket(char *buf, size_t len, const struct rkeys *rk, const char *scope, char res,
                   uint64_t start, const char *fam, const char *metric);
/* The keys with fixed names, by `which` ({alerts} is {alerts:<shard>} when
 * rk->shard is set):
 *   "alerts"      <prefix>:{alerts}            the alerts stream
 *   "alerts-seq"  <prefix>:{alerts}:seq        last sequence number per sensor
 *   "triage"      <prefix>:{alerts}:triage     the console's triage states
 *   "channel"     <prefix>:alerts              the pub/sub channel
 *   "flows"       <prefix>:flows               the flows stream ({flows:<shard>} per shard)
 *   "shards"      <prefix>:alert-shards        the set of per-sensor alert shards
 *   "sensor"      <prefix>:{<rk->sensor>}:sensor   this sensor's status hash
 *   "sensors"     <prefix>:sensors             (any other `which`) */
size_t rkey_named(char *buf, size_t len, const struct rkeys *rk, const char *which);
/* "<prefix>:{<sensor>}:sensor": the status hash of any sensor. */
size_t rkey_sensor(char *buf, size_t len, const struct rkeys *rk, const char *sensor);
/* "<prefix>:{alerts}:history:<id>": the triage history of one alert (in
 * the shard's slot, like every key below). */
size_t rkey_history(char *buf, size_t len, const struct rkeys *rk, const char *id);


/* ---- the alerts index (docs/redis.md, "Alert indexes")
 *
 * Every index key of a stream starts with the stream's own name, so it
 * carries the stream's hash tag and lives in its slot: the script that adds
 * an alert to the stream adds it to the indexes in the same call, which a
 * Redis Cluster allows only within one slot. A stream sharded per sensor
 * (issue 22) takes its indexes along by changing rkey_named("alerts") alone. */

/* Groups are counted in this many hashes, so that each stays small enough
 * for Redis's compact encoding (hash-max-listpack-entries, 128) up to about
 * 1.5 million groups. */
#define RKEY_GROUP_BUCKETS 16384

/* "<prefix>:{alerts}:ix:<family>[:<value>]": a list of stream ids of one
 * family and value ("sid", "2000001"), or, value NULL, one of the index's
 * fixed keys ("words", "msg", "grptop", "time", "meta", "lock"). */
size_t rkey_ix(char *buf, size_t len, const struct rkeys *rk, const char *family, const char *value);
/* The list of a's network: its /24 for IPv4, its /64 for IPv6, side "src"
 * or "dst": "<prefix>:{alerts}:ix:srcnet:10.1.3.0/24". */
size_t rkey_ix_net(char *buf, size_t len, const struct rkeys *rk, const char *side,
                   const struct lw_addr *a);
/* The hash that counts group `field` ("<sid>|<src_ip>|<dest_ip>"):
 * "<prefix>:{alerts}:ix:grp:<n>", n from a hash of the field. */
size_t rkey_ix_group(char *buf, size_t len, const struct rkeys *rk, const char *field, size_t flen);
/* The zset of stream ids a triage status other than "new" holds:
 * "<prefix>:{alerts}:ix:status:<status>". */
#define rkey_ix_status(buf, len, rk, status) rkey_ix(buf, len, rk, "status", status)

#endif
