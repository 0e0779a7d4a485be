/* console-redis.h - how linkwatch-console talks to Redis: one connection
 * per request thread (and one for --add-user, --remove-user, --reindex),
 * made as the redis: section of linkwatch.yaml says, and commands given as
 * strings, never as a format.
 */
#ifndef LW_CONSOLE_REDIS_H
#define LW_CONSOLE_REDIS_H

#include <hiredis/hiredis.h>

#include "config.h"

/* Opens a connection as configured (TCP or unix socket, the connect and
 * command timeouts, AUTH, SELECT). Returns NULL when Redis cannot be
 * reached or refuses the login. */
redisContext *cr_connect(const struct lw_config *cfg);

/* Sends one command given as NULL-terminated strings (at most 16; never
 * parsed as a format). Returns the reply (caller frees) or NULL. */
redisReply *cr_argv(redisContext *c, ...);

#endif
