/* redis-cmd.h - what linkwatch sends to Redis: the commands that write the
 * key layout of docs/redis.md (names from redis-keys.h), built into batches.
 * No network here.
 *
 * Tallies are written by one Lua script call per destination key and flush
 * (EVALSHA of RCMD_TALLY_LUA): all of a key's members in one command, so
 * the command count follows the number of keys, never the packet rate. Each
 * call carries a flush id (increasing per sensor) and records it in the
 * bucket's ":applied" hash; a call whose id is not above the recorded one
 * does nothing, so a command resent after a lost reply is applied once.
 * Alerts go through RCMD_ALERT_LUA, which does the same with each alert's
 * sequence number before XADD and PUBLISH, and files each alert in the
 * alert indexes in the same call (alert-index.h).
 *
 * A batch owns the bytes of its commands; it is what a pipeline sends, and
 * what is kept (from the first unacknowledged command on) when the
 * connection breaks.
 */
#ifndef LW_REDIS_CMD_H
#define LW_REDIS_CMD_H

#include <stddef.h>
#include <stdint.h>
#include "redis-keys.h"
#include "tally.h"

/* KEYS[1] target, KEYS[2] the bucket's applied-ids hash; ARGV: marker
 * field, flush id, ttl, mode (h: HINCRBY, z: ZINCRBY then keep the top K,
 * s: HSET), K, then member/value pairs. Returns 1 applied, 0 already was. */
extern const char RCMD_TALLY_LUA[];
/* RCMD_ALERT_LUA, the alerts script, is declared in alert-index.h. */

enum rcmd_kind {
    RC_TALLY = 1,                /* idempotent: resent as is when in doubt */
    RC_ALERT,                    /* covers alert records; spooled when in doubt */
    RC_BEST,                     /* best effort: dropped when the connection breaks */
};

struct rarg { size_t off, len; };

struct rcmd {
    size_t arg0, nargs;          /* into the batch's args */
    uint8_t kind;                /* enum rcmd_kind */
    size_t rec0, nrec;           /* RC_ALERT: the alert records it carries */
};

struct rbatch {
    char *arena;                 /* every argument's bytes */
    size_t alen, acap;
    struct rarg *args;
    size_t nargs, cargs;
    struct rcmd *cmds;
    size_t ncmds, ccmds;
    int oom;                     /* an allocation failed: the batch is unusable */
};

void rbatch_init(struct rbatch *b);
void rbatch_free(struct rbatch *b);
void rbatch_reset(struct rbatch *b);
/* Starts a command of that kind; arguments follow with rbatch_arg*(). */
void rbatch_begin(struct rbatch *b, enum rcmd_kind kind);
void rbatch_arg(struct rbatch *b, const char *s, size_t len);
void rbatch_str(struct rbatch *b, const char *s);
void rbatch_u64(struct rbatch *b, uint64_t v);
/* Appends a copy of command i of src to b. */
void rbatch_copy(struct rbatch *b, const struct rbatch *src, size_t i);
/* The i-th argument of command c. */
static inline const char *rbatch_argp(const struct rbatch *b, const struct rcmd *c, size_t i, size_t *len)
{
    *len = b->args[c->arg0 + i].len;
    return b->arena + b->args[c->arg0 + i].off;
}

/* Appends one EVALSHA (script sha_tally) per destination key of the counts
 * in tt, all with flush id fid: per-minute and per-hour keys of this
 * sensor, and of the "all" scope when rk->merged. Returns the number of
 * commands added. */
size_t rcmd_tallies(struct rbatch *b, const struct rkeys *rk, const char *sha_tally,
                    const struct tally_table *tt, uint64_t fid);
/* HSET of a gauge field into the sensor's minute and hour health keys of
 * the bucket (capture minute) given. */
void rcmd_gauge(struct rbatch *b, const struct rkeys *rk, const char *sha_tally, uint32_t bucket,
                const char *field, uint64_t value, uint64_t fid);

/* One alert for the stream: its sequence number and EVE line. */
struct ralert {
    uint64_t seq;
    const char *line;
    size_t len;
};
/* The index arguments of one alert (aix_terms(), alert-index.h), in the
 * order the scripts read them after their count (aix_nargs()). */
struct aix_terms;
void rcmd_alert_index_args(struct rbatch *b, const struct aix_terms *t);

/* Appends EVALSHA calls (sha_alert) carrying a[0..n), at most per_cmd
 * alerts each; rec0 is the index of a[0] in the caller's records. */
void rcmd_alerts(struct rbatch *b, const struct rkeys *rk, const char *sha_alert,
                 uint64_t maxlen, const struct ralert *a, size_t n, size_t rec0, size_t per_cmd);

#endif
