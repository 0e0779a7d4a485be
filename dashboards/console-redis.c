/* console-redis.c - linkwatch-console's Redis connections and commands;
 * see console-redis.h. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>

#include "console-redis.h"

redisContext *cr_connect(const struct lw_config *cfg)
{
    struct timeval tv = { (time_t)cfg->redis.connect_timeout, 0 };
    struct timeval cmd = { (time_t)cfg->redis.command_timeout, 0 };
    redisContext *c;
    redisReply *r;

    if (cfg->redis.server[0] == '/')
        c = redisConnectUnixWithTimeout(cfg->redis.server, tv);
    else
        c = redisConnectWithTimeout(cfg->redis.server, (int)cfg->redis.port, tv);
    if (!c || c->err)
        goto fail;
    redisSetTimeout(c, cmd);
    if (cfg->redis.password[0]) {
        if (cfg->redis.username[0])
            r = cr_argv(c, "AUTH", cfg->redis.username, cfg->redis.password, NULL);
        else
            r = cr_argv(c, "AUTH", cfg->redis.password, NULL);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            freeReplyObject(r);
            goto fail;
        }
        freeReplyObject(r);
    }
    if (cfg->redis.db) {
        char db[16];
        snprintf(db, sizeof db, "%u", cfg->redis.db);
        r = cr_argv(c, "SELECT", db, NULL);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            freeReplyObject(r);
            goto fail;
        }
        freeReplyObject(r);
    }
    return c;
fail:
    if (c)
        redisFree(c);
    return NULL;
}

redisReply *cr_argv(redisContext *c, ...)
{
    const char *argv[16];
    int argc = 0;
    va_list ap;

    va_start(ap, c);
    for (const char *a; argc < 16 && (a = va_arg(ap, const char *)); )
        argv[argc++] = a;
    va_end(ap);
    return redisCommandArgv(c, argc, argv, NULL);
}
