/* redis-ctx.h - hiredis-style calls over the routing layer
 * (redis-cluster.h), for code that reads Redis one command or one small
 * pipeline at a time: linkwatch-console, and the alert stream's trimming
 * and reindexing (alert-maint.c).
 *
 * rcx_command() is redisCommandArgv(); rcx_append() and rcx_get_reply()
 * are redisAppendCommandArgv() and redisGetReply(): the commands appended
 * are sent together (routed by their keys, one round trip per node) at the
 * first rcx_get_reply(), which then hands back their replies in order.
 * The same code thus runs on one Redis server and on a Redis Cluster.
 *
 * A command that got no answer (its node is down, it was refused for keys
 * in several slots, the retries ran out) gives NULL from rcx_command() and
 * REDIS_ERR from rcx_get_reply(), with rcx_errstr() saying why, as a broken
 * hiredis connection would. Unlike one, the context stays usable: the next
 * command reconnects and reads the slot map again.
 *
 * Not thread-safe: one owner thread.
 */
#ifndef LW_REDIS_CTX_H
#define LW_REDIS_CTX_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "config.h"

struct rcl;
struct rcl_config;
struct rcx;

/* The routing layer's configuration from redis.*: redis.cluster's seeds
 * (a cluster), else redis.server and port; AUTH, SELECT, the timeouts and
 * redis.wait-replicas. Points into cfg, which must outlive its use. */
void rcx_config_of(const struct lw_config *cfg, struct rcl_config *rc);

/* A context over a new client made from cfg, connected now. Returns NULL
 * with err set when the configuration is wrong (a bad seed) or no node
 * answers. */
struct rcx *rcx_connect(const struct lw_config *cfg, char *err, size_t errlen);
/* A context over an existing client, which the caller keeps and closes
 * after rcx_free(). Returns NULL out of memory. */
struct rcx *rcx_wrap(struct rcl *c);
/* Frees the context (and its client when rcx_connect() made it). */
void rcx_free(struct rcx *x);
struct rcl *rcx_client(struct rcx *x);

/* One command, sent now on its own (commands queued with rcx_append()
 * stay queued). Returns the reply, which the caller frees, or NULL
 * (rcx_errstr()). */
redisReply *rcx_command(struct rcx *x, int argc, const char **argv, const size_t *argvlen);
/* The same with the arguments as NULL-terminated strings (at most 32). */
redisReply *rcx_argv(struct rcx *x, ...);
/* Queues a command (arguments copied). Returns REDIS_OK, or REDIS_ERR out
 * of memory. */
int rcx_append(struct rcx *x, int argc, const char **argv, const size_t *argvlen);
/* The next queued command's reply (sends the queue when it is not yet).
 * Returns REDIS_OK with *reply set (caller frees), or REDIS_ERR with
 * *reply NULL: no answer for it (rcx_errstr()), or nothing queued. */
int rcx_get_reply(struct rcx *x, redisReply **reply);
/* Why the last command got no answer. */
const char *rcx_errstr(const struct rcx *x);

#endif
