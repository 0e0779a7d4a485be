/* alert-index.h - the indexes kept next to the alerts stream (docs/redis.md,
 * "Alert indexes"): what an alert is filed under, the arguments that carry
 * it to Redis, and the Lua that files it.
 *
 * The sensor's writer files each alert in the same script call that adds
 * it to the stream (RCMD_ALERT_LUA, redis-cmd.c): the call gets, per alert,
 * the keys of the index lists it belongs to, computed here from its EVE
 * line, and appends the new stream id to each. The writer trims the stream
 * itself (alert-trim.c) and takes the trimmed ids out of the same lists in
 * the same call; linkwatch-console --reindex (alert-reindex.c) rebuilds
 * everything from the stream with the same terms. So the three paths
 * cannot file an alert differently.
 *
 * Index lists hold stream ids in stream order (appended when the alert is
 * added, popped from the head when it is trimmed). An id "<ms>-<seq>" is
 * stored as the integer <ms><seq as 3 digits> when seq < 1000 (Redis keeps
 * it as a 64-bit integer: 10 bytes instead of 17), else as it is.
 */
#ifndef LW_ALERT_INDEX_H
#define LW_ALERT_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include "redis-keys.h"

#define AIX_MAX_LISTS 12                /* index lists one alert can be in */
#define AIX_FIELD_MAX 256               /* a group field, "<sid>|<src>|<dst>" */
#define AIX_NKEYS     11                /* the fixed KEYS of every index script */

/* What one alert is filed under. */
struct aix_terms {
    char lists[AIX_MAX_LISTS][RKEY_MAX];  /* index lists (rkey_ix): sid first */
    size_t nlists;
    char sid[24];                         /* "0" without an integer signature_id */
    char minute[24];                      /* capture minute (Unix time / 60); "" without a time */
    char usec[24];                        /* capture time in microseconds; "" without */
    char gkey[RKEY_MAX];                  /* the group's counting hash; "" when no group */
    char gfield[AIX_FIELD_MAX];           /* "<sid>|<src_ip>|<dest_ip>" */
    const char *msg;                      /* "<severity> <signature>" in the caller's
                                             scratch; NULL without a signature */
    size_t msglen;
};

/* Files the EVE alert line[0..len) written by `sensor`: fills t, decoding
 * the signature into scratch (len + 32 bytes always suffice). Fields that
 * are missing or malformed give no term; the sid list is always there.
 * Returns 0, or -1 when scratch is too small (t is then unusable). */
int aix_terms(const char *line, size_t len, const char *sensor, const struct rkeys *rk,
              struct aix_terms *t, char *scratch, size_t scratchlen);

/* The fixed KEYS every index script takes, in order: the stream, its
 * sequence hash, and the index's meta, lock, words, msg, grptop and time
 * keys, then the status zsets of acknowledged, escalated, closed. */
void aix_fixed_keys(const struct rkeys *rk, char keys[AIX_NKEYS][RKEY_MAX]);

/* The index arguments of one alert, as the scripts read them after its
 * count: minute, usec, group key, group field, sid, msg line, then the
 * lists. Returns how many (the count the script is given). */
size_t aix_nargs(const struct aix_terms *t);
/* (rcmd_alert_index_args(), redis-cmd.h, puts them in a batch.) */

/* KEYS: aix_fixed_keys() (the alerts stream, the last-sequence hash, then
 * the index's keys); ARGV: sensor, MAXLEN (unused: the writer trims, see
 * aix_trim()), channel, then per alert in order its seq, its event, the
 * count of its index arguments and those. Each event whose seq is above
 * the sensor's last is added, published and filed in the indexes. Returns
 * how many were added. Defined with the Lua library it shares with the
 * trim and reindex scripts; redis-cmd.c builds its calls. */
extern const char RCMD_ALERT_LUA[];

/* The id of an index list element e[0..n) into id (at least 48 bytes).
 * Returns 0, or -1 when e is neither form. */
int aix_id_decode(const char *e, size_t n, char *id, size_t idlen);
/* "<ms>-<seq>" into its parts. Returns 0 or -1. */
int aix_id_parse(const char *id, uint64_t *ms, uint64_t *seq);
/* <0, 0, >0 as stream order has a before b (both valid ids). */
int aix_id_cmp(const char *a, const char *b);

/* The scripts (all take the KEYS of aix_fixed_keys() and share one Lua
 * library, so an alert is filed and unfiled by the same code; the alert
 * script itself, RCMD_ALERT_LUA of redis-cmd.h, is defined with them in
 * alert-index.c):
 *   AIX_TRIM_LUA          ARGV: k, nlists, nminutes, then per trimmed alert
 *                         id, group key, group field, sid, sid list; then
 *                         each list those alerts were filed under with how
 *                         many of them it holds, then their minutes.
 *                         Deletes each id from the stream (XDEL: a second
 *                         trimmer of the same ids finds them gone and does
 *                         nothing), counts its group down, pops every list
 *                         head older than the stream's new first entry, and
 *                         forgets signatures, minutes and statuses with no
 *                         alert left. Returns how many ids it deleted.
 *   AIX_REINDEX_LUA       ARGV: lock token, then per entry id, status zset
 *                         ("" for new), count, index arguments. Files each
 *                         entry still in the stream; errors when the lock is
 *                         not the caller's.
 *   AIX_REINDEX_DONE_LUA  ARGV: lock token. Returns 1 and releases the lock
 *                         when the reindex has filed the stream's last entry,
 *                         0 when entries came after it. */
extern const char AIX_TRIM_LUA[];
/* KEYS[1] an index list or status zset; ARGV: ms, seq, n: the newest n ids
 * before ms-seq (a reader's page; see alert-index.c for the order). */
extern const char AIX_READ_LUA[];
extern const char AIX_REINDEX_LUA[];
extern const char AIX_REINDEX_DONE_LUA[];

/* ---- maintenance, over a connection (alert-maint.c) */
struct rcx;
struct redisReply;

/* The value of field `name` in a stream entry's field list (the second
 * element of an XRANGE entry), or NULL when absent or not a string. */
const struct redisReply *aix_entry_field(const struct redisReply *fields, const char *name);

/* Trims the alerts stream to maxlen entries, with its indexes, once it has
 * grown past maxlen by a margin (maxlen / 1000, 64 to 4096): reads the
 * oldest entries, files them as aix_terms() does, and unfiles them in
 * AIX_TRIM_LUA calls of at most 512, at most 128 calls (more than the
 * writer's queue holds, so the stream keeps to its length however fast
 * alerts come). Called by the writer after sending alerts. Returns how
 * many entries were deleted, or -1 with the reason in err when Redis failed
 * or refused (the caller drops the connection). */
long aix_trim(struct rcx *c, const struct rkeys *rk, uint64_t maxlen, char *err, size_t errlen);

struct aix_reindex_stats {
    uint64_t entries;            /* stream entries read */
    uint64_t keys_deleted;       /* index keys found and deleted first */
    uint64_t batches;            /* AIX_REINDEX_LUA calls */
};
/* Rebuilds every index of the alerts stream from its entries (linkwatch-
 * console --reindex): takes the index lock (writers then add alerts
 * unfiled), deletes the index keys, files the stream oldest first in
 * batches of 1000 (statuses from the triage hash), and lets go of the lock
 * in the same call that finds the last entry filed. Returns 0, or -1 with
 * the reason in err (another reindex holds the lock; Redis failed: the lock
 * then expires within 60 s and the index says it is incomplete). */
int aix_reindex(struct rcx *c, const struct rkeys *rk, struct aix_reindex_stats *st,
                char *err, size_t errlen);

#endif
