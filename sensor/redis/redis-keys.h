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

/* What the key layout needs to know. */
struct rkeys {
    const char *prefix;          /* redis.prefix */
    const char *sensor;          /* sensor-id (the console leaves it NULL) */
    uint64_t ttl_minute, ttl_hour;
    uint32_t top_k;              /* redis.top-hosts */
    int merged;                  /* redis.merged-view: also the "all" scope */
};

#define RKEY_MAX 256

/* "<prefix>:{<scope>:<res>:<start>}:<fam>[:<metric>]", res 'm' or 'h',
 * start the bucket's first second (Unix time): a tally key. */
size_t rkey_bucket(char *buf, size_t len, const struct rkeys *rk, const char *scope, char res,
                   uint64_t start, const char *fam, const char *metric);
/* The keys with fixed names, by `which`:
 *   "alerts"      <prefix>:{alerts}            the alerts stream
 *   "alerts-seq"  <prefix>:{alerts}:seq        last sequence number per sensor
 *   "triage"      <prefix>:{alerts}:triage     the console's triage states
 *   "channel"     <prefix>:alerts              the pub/sub channel
 *   "flows"       <prefix>:flows               the flows stream
 *   "sensor"      <prefix>:{<rk->sensor>}:sensor   this sensor's status hash
 *   "sensors"     <prefix>:sensors             (any other `which`) */
size_t rkey_named(char *buf, size_t len, const struct rkeys *rk, const char *which);
/* "<prefix>:{<sensor>}:sensor": the status hash of any sensor. */
size_t rkey_sensor(char *buf, size_t len, const struct rkeys *rk, const char *sensor);
/* "<prefix>:{alerts}:history:<id>": the triage history of one alert. */
size_t rkey_history(char *buf, size_t len, const struct rkeys *rk, const char *id);

#endif
