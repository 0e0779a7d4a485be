/* redis-conn.c - a connection to Redis with reconnection; see redis-conn.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "redis-conn.h"
#include "alert-index.h"
#include "log.h"
#include "util.h"

#define BACKOFF_MIN_USEC    100000u

#define CNT_ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)
#define CNT_GET(x)    __atomic_load_n(&(x), __ATOMIC_RELAXED)

static struct timeval secs_tv(uint32_t s)
{
    return (struct timeval){ .tv_sec = (time_t)s, .tv_usec = 0 };
}

int rconn_init(struct rconn *c, const struct lw_config *cfg, const char *away)
{
    memset(c, 0, sizeof *c);
    c->server = strdup(cfg->redis.server);
    c->user = strdup(cfg->redis.username);
    c->pass = strdup(cfg->redis.password);
    if (!c->server || !c->user || !c->pass) {
        rconn_fini(c);
        return -1;
    }
    c->away = away;
    c->port = (int)cfg->redis.port;
    c->db = (int)cfg->redis.db;
    if (c->server[0] == '/')
        snprintf(c->where, sizeof c->where, "%s", c->server);
    else
        snprintf(c->where, sizeof c->where, "%s:%d", c->server, c->port);
    c->tv_connect = secs_tv(cfg->redis.connect_timeout);
    c->tv_cmd = secs_tv(cfg->redis.command_timeout);
    c->backoff_max_usec = (uint64_t)cfg->redis.reconnect_max * 1000000u;
    return 0;
}

void rconn_fini(struct rconn *c)
{
    if (c->c)
        redisFree(c->c);
    free(c->server);
    free(c->user);
    free(c->pass);
    memset(c, 0, sizeof *c);
}

void rconn_drop(struct rconn *c, const char *why)
{
    uint64_t now = lw_now_mono_usec();

    if (c->c) {
        redisFree(c->c);
        c->c = NULL;
    }
    if (!c->down_since) {
        c->down_since = now;
        log_warning("redis %s: %s; %s until it is back", c->where, why, c->away);
    } else {
        log_debug("redis %s: %s", c->where, why);
    }
    c->backoff = c->backoff ? c->backoff * 2 : BACKOFF_MIN_USEC;
    if (c->backoff > c->backoff_max_usec)
        c->backoff = c->backoff_max_usec;
    c->next_attempt = now + c->backoff * 3 / 4 + (uint64_t)rand() % (c->backoff / 2 + 1);
}

void *rconn_command(struct rconn *c, const char *what, int argc, const char **argv)
{
    redisReply *rep = redisCommandArgv(c->c, argc, argv, NULL);
    char why[256];

    if (rep == NULL) {
        snprintf(why, sizeof why, "%s: %s", what, c->c->errstr[0] ? c->c->errstr : "connection lost");
        rconn_drop(c, why);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof why, "%s: %s", what, rep->str);
        freeReplyObject(rep);
        rconn_drop(c, why);
        return NULL;
    }
    return rep;
}

static int load_script(struct rconn *c, const char *body, char *sha, size_t shalen)
{
    const char *argv[] = { "SCRIPT", "LOAD", body };
    redisReply *rep = rconn_command(c, "SCRIPT LOAD", 3, argv);

    if (rep == NULL)
        return -1;
    if (rep->type != REDIS_REPLY_STRING || rep->len >= shalen) {
        freeReplyObject(rep);
        rconn_drop(c, "SCRIPT LOAD: unexpected reply");
        return -1;
    }
    memcpy(sha, rep->str, rep->len + 1);
    freeReplyObject(rep);
    return 0;
}

/* Connects, authenticates, selects and loads the scripts. Returns 0 or -1. */
static int rconn_connect(struct rconn *c)
{
    const char *argv[3];
    redisReply *rep;
    char db[16];

    c->c = c->server[0] == '/' ? redisConnectUnixWithTimeout(c->server, c->tv_connect)
                               : redisConnectWithTimeout(c->server, c->port, c->tv_connect);
    if (c->c == NULL || c->c->err) {
        char why[300];

        snprintf(why, sizeof why, "cannot connect: %s", c->c ? c->c->errstr : "out of memory");
        rconn_drop(c, why);
        return -1;
    }
    redisSetTimeout(c->c, c->tv_cmd);
    /* Not on a unix socket: hiredis 0.14 would leave its error on the context. */
    if (c->server[0] != '/')
        redisEnableKeepAlive(c->c);
    if (c->pass[0]) {
        argv[0] = "AUTH";
        argv[1] = c->user[0] ? c->user : c->pass;
        argv[2] = c->pass;
        if ((rep = rconn_command(c, "AUTH", c->user[0] ? 3 : 2, argv)) == NULL)
            return -1;
        freeReplyObject(rep);
    }
    if (c->db) {
        snprintf(db, sizeof db, "%d", c->db);
        argv[0] = "SELECT";
        argv[1] = db;
        if ((rep = rconn_command(c, "SELECT", 2, argv)) == NULL)
            return -1;
        freeReplyObject(rep);
    }
    if (load_script(c, RCMD_TALLY_LUA, c->sha_tally, sizeof c->sha_tally) < 0 ||
        load_script(c, RCMD_ALERT_LUA, c->sha_alert, sizeof c->sha_alert) < 0)
        return -1;
    if (c->down_since)
        log_warning("redis %s: connected again after %.1f s", c->where,
                    (double)(lw_now_mono_usec() - c->down_since) / 1e6);
    else
        log_info("redis %s: connected", c->where);
    if (c->ever_connected)
        CNT_ADD(c->st.reconnects, 1);
    c->ever_connected = 1;
    c->down_since = 0;
    c->backoff = 0;
    c->generation++;
    return 0;
}

int rconn_due(const struct rconn *c)
{
    return c->c || lw_now_mono_usec() >= c->next_attempt;
}

int rconn_ensure(struct rconn *c)
{
    if (c->c)
        return 1;
    if (!rconn_due(c))
        return 0;
    return rconn_connect(c) == 0;
}

size_t rconn_pipeline(struct rconn *c, const struct rbatch *b, long long *replies)
{
    const char **argv = NULL;
    size_t *argvlen = NULL, maxargs = 0, i, done = 0;
    redisReply *rep;
    void *vrep;

    if (b->ncmds == 0 || c->c == NULL)
        return 0;
    for (i = 0; i < b->ncmds; i++)
        if (b->cmds[i].nargs > maxargs)
            maxargs = b->cmds[i].nargs;
    argv = malloc(maxargs * sizeof *argv);
    argvlen = malloc(maxargs * sizeof *argvlen);
    if (argv == NULL || argvlen == NULL) {
        rconn_drop(c, "out of memory building a pipeline");
        goto out;
    }
    for (i = 0; i < b->ncmds; i++) {
        const struct rcmd *cmd = &b->cmds[i];

        for (size_t a = 0; a < cmd->nargs; a++)
            argv[a] = rbatch_argp(b, cmd, a, &argvlen[a]);
        if (redisAppendCommandArgv(c->c, (int)cmd->nargs, argv, argvlen) != REDIS_OK) {
            rconn_drop(c, "out of memory building a pipeline");
            goto out;
        }
    }
    CNT_ADD(c->st.commands, b->ncmds);
    for (done = 0; done < b->ncmds; done++) {
        if (redisGetReply(c->c, &vrep) != REDIS_OK) {
            char why[300];

            snprintf(why, sizeof why, "%s", c->c->errstr[0] ? c->c->errstr : "connection lost");
            rconn_drop(c, why);
            break;
        }
        rep = vrep;
        if (rep->type == REDIS_REPLY_ERROR) {
            CNT_ADD(c->st.errors, 1);
            if (replies)
                replies[done] = -1;
            log_warning("redis: error reply: %s", rep->str);
        } else if (replies) {
            replies[done] = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
        }
        freeReplyObject(rep);
    }
    if (done == b->ncmds)
        CNT_ADD(c->st.round_trips, 1);
out:
    free(argv);
    free(argvlen);
    return done;
}

void rconn_get_stats(const struct rconn *c, struct rconn_stats *st)
{
    st->round_trips = CNT_GET(c->st.round_trips);
    st->commands = CNT_GET(c->st.commands);
    st->reconnects = CNT_GET(c->st.reconnects);
    st->errors = CNT_GET(c->st.errors);
}
