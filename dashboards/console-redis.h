/* console-redis.h - where linkwatch-console finds the alerts in Redis.
 *
 * Commands go through the routing layer (sensor/redis/redis-ctx.h: one
 * server or a Redis Cluster); each request thread makes its own context
 * with rcx_connect() and frees it when the request is answered, so no
 * request inherits a broken one, and within a request rcx reconnects and
 * reads the slot map again by itself.
 *
 * The alerts live in shards (docs/redis.md, "Alerts per sensor"): the
 * shared stream <prefix>:{alerts} (redis.alerts-layout: shared), and one
 * stream <prefix>:{alerts:<sensor>} per sensor that writes per-sensor, each
 * with its sequence, triage, history and index keys in its own slot, and
 * named in the set <prefix>:alert-shards. A shard is named by its sensor
 * id, "" for the shared stream.
 *
 * In the API an alert is "<stream id>" in the shared stream (as before
 * shards) and "<sensor>:<stream id>" in a sensor's shard (':' is in no
 * sensor id nor stream id, and needs no escaping in a path). A list's
 * cursor (its next, the before parameter) holds one position per shard,
 * each written as an alert id and separated by commas: the next page has,
 * per shard, the alerts older than its position ("<shard>:0-0": none left).
 * A shard the cursor does not name starts from its newest alert. With the
 * shared stream alone the cursor is one stream id, as before shards.
 */
#ifndef LW_CONSOLE_REDIS_H
#define LW_CONSOLE_REDIS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "config.h"
#include "redis-ctx.h"
#include "redis-keys.h"

#define CR_SHARD_MAX 65              /* a shard's name (a sensor id) with its NUL */
#define CR_XID_MAX   48              /* a stream id "<20 digits>-<20 digits>" with its NUL */
#define CR_ID_MAX    (CR_SHARD_MAX + CR_XID_MAX)
#define CR_SHARDS_MAX 4096           /* shards one console reads */
#define CR_CURSOR_MAX 12288          /* a cursor's text (the request head is 16 KB) */

/* One alert shard, and a walk's position in it. */
struct cr_shard {
    char name[CR_SHARD_MAX];         /* "" the shared stream */
    char pos[CR_XID_MAX];            /* "": from the newest; else alerts older than this id */
    int done;                        /* nothing left older than pos */
};

struct cr_shards {
    struct cr_shard *v;
    size_t n;
};

/* A sensor id as the key layout takes it as a shard: 1 to 64 of
 * [A-Za-z0-9._-]. */
int cr_shard_valid(const char *s, size_t n);
/* A stream id: digits '-' digits (at most 20 each). */
int cr_xid_valid(const char *s, size_t n);

/* The shards to read: the shared stream when it exists (or when no sensor
 * writes per-sensor, so that an empty Redis reads as before), then every
 * member of <prefix>:alert-shards that is a valid name, sorted. Returns 0,
 * or -1 when Redis failed. The sensor filter, when set, keeps the shared
 * stream and that sensor's shard only. */
int cr_shards(struct rcx *x, const struct rkeys *rk, const char *sensor, struct cr_shards *s);
void cr_shards_free(struct cr_shards *s);
/* rk naming the keys of shard ("" the shared stream). */
struct rkeys cr_shard_keys(const struct rkeys *rk, const char *shard);

/* An API alert id into its shard (CR_SHARD_MAX bytes) and stream id
 * (CR_XID_MAX). Returns 0, or -1 when it is neither form. */
int cr_id_parse(const char *id, char *shard, char *xid);
/* The API id of stream id xid of shard. */
void cr_id_format(char *buf, size_t len, const char *shard, const char *xid);

/* Whether s is a cursor (one or more alert ids, commas between, no shard
 * twice is not checked: the last wins). */
int cr_cursor_valid(const char *s);
/* Sets the positions of s's shards from cursor ("" or NULL: every shard
 * from its newest). Names of shards not in s are ignored. */
void cr_cursor_apply(struct cr_shards *s, const char *cursor);
/* The cursor of s's positions, malloc'd; NULL when every shard is done
 * (the end), or out of memory (*oom set). */
char *cr_cursor_format(const struct cr_shards *s, int *oom);

/* Live alerts: SUBSCRIBE on a raw connection (the routing layer has no
 * pub/sub) to the first node that answers, trying the seeds of
 * redis.cluster in turn (or redis.server); PUBLISH reaches every node of a
 * cluster, so any will do. AUTH is done; no command timeout (a subscriber
 * waits). NULL when no node answers. */
struct cr_sub;
struct cr_sub *cr_sub_open(const struct lw_config *cfg, const char *channel);
/* Waits at most wait_ms for the channel's next message: 1 with *msg (the
 * reply, caller frees), 0 when none came (or a signal), -1 when the node
 * was lost and no other node answers. A lost node is left for the next
 * seed that answers, each tried once; messages published meanwhile are
 * missed. */
int cr_sub_next(struct cr_sub *s, int wait_ms, redisReply **msg);
void cr_sub_close(struct cr_sub *s);

#endif
