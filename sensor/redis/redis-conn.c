/* redis-conn.c - a connection to Redis with reconnection; see redis-conn.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "redis-conn.h"
#include "alert-index.h"
#include "redis-cluster.h"
#include "redis-ctx.h"
#include "log.h"
#include "util.h"

#define BACKOFF_MIN_USEC    100000u

#define CNT_ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)
#define CNT_GET(x)    __atomic_load_n(&(x), __ATOMIC_RELAXED)

int rconn_init(struct rconn *c, const struct lw_config *cfg, const char *away, char *err, size_t errlen)
{
    struct rcl_config rc;
    size_t o = 0;

    memset(c, 0, sizeof *c);
    c->away = away;
    if (cfg->redis.cluster.n) {
        o = (size_t)snprintf(c->where, sizeof c->where, "cluster");
        for (size_t i = 0; i < cfg->redis.cluster.n && o < sizeof c->where; i++)
            o += (size_t)snprintf(c->where + o, sizeof c->where - o, "%s%s", i ? "," : " ",
                                  cfg->redis.cluster.v[i]);
    } else if (cfg->redis.server[0] == '/') {
        snprintf(c->where, sizeof c->where, "%s", cfg->redis.server);
    } else {
        snprintf(c->where, sizeof c->where, "%s:%u", cfg->redis.server, cfg->redis.port);
    }
    c->backoff_max_usec = (uint64_t)cfg->redis.reconnect_max * 1000000u;
    rcx_config_of(cfg, &rc);
    c->tv_connect = rc.tv_connect;
    if ((c->rc = rcl_open(&rc, err, errlen)) == NULL)
        return -1;
    if (rcl_script(c->rc, RCMD_TALLY_LUA, c->sha_tally) < 0 ||
        rcl_script(c->rc, RCMD_ALERT_LUA, c->sha_alert) < 0) {
        snprintf(err, errlen, "redis: out of memory");
        rconn_fini(c);
        return -1;
    }
    return 0;
}

void rconn_fini(struct rconn *c)
{
    rcl_close(c->rc);
    memset(c, 0, sizeof *c);
}

void rconn_drop(struct rconn *c, const char *why)
{
    uint64_t now = lw_now_mono_usec();

    c->up = 0;
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
    struct rcl_cmd cmd = { argc, argv, NULL };
    struct rcl_result res;
    char why[300];

    rcl_exec(c->rc, &cmd, 1, &res);
    CNT_ADD(c->st.commands, 1);
    if (res.status != RCL_OK || res.reply->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof why, "%s: %.*s", what, (int)res.reply->len, res.reply->str);
        rcl_results_free(&res, 1);
        rconn_drop(c, why);
        return NULL;
    }
    CNT_ADD(c->st.round_trips, 1);
    return res.reply;
}

/* Connects: the server (AUTH, SELECT, the scripts loaded), or the seeds
 * and the slot map of a cluster. Returns 0 or -1. */
static int rconn_connect(struct rconn *c)
{
    char why[300];

    if (rcl_connect(c->rc, why, sizeof why) < 0) {
        rconn_drop(c, why);
        return -1;
    }
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
    c->up = 1;
    return 0;
}

int rconn_due(const struct rconn *c)
{
    return c->up || lw_now_mono_usec() >= c->next_attempt;
}

int rconn_ensure(struct rconn *c)
{
    if (c->up)
        return 1;
    if (!rconn_due(c))
        return 0;
    return rconn_connect(c) == 0;
}

size_t rconn_pipeline(struct rconn *c, const struct rbatch *b, long long *replies)
{
    const char **argv = NULL;
    size_t *argvlen = NULL, nargs = 0, done = 0;
    struct rcl_cmd *cmds = NULL;
    struct rcl_result *res = NULL;
    char why[300] = "";

    for (size_t i = 0; i < b->ncmds; i++)
        replies[i] = RCONN_UNANSWERED;
    if (b->ncmds == 0 || !c->up)
        return 0;
    for (size_t i = 0; i < b->ncmds; i++)
        nargs += b->cmds[i].nargs;
    argv = malloc(nargs * sizeof *argv);
    argvlen = malloc(nargs * sizeof *argvlen);
    cmds = malloc(b->ncmds * sizeof *cmds);
    res = malloc(b->ncmds * sizeof *res);
    if (!argv || !argvlen || !cmds || !res) {
        rconn_drop(c, "out of memory building a pipeline");
        goto out;
    }
    nargs = 0;
    for (size_t i = 0; i < b->ncmds; i++) {
        const struct rcmd *cmd = &b->cmds[i];

        cmds[i] = (struct rcl_cmd){ (int)cmd->nargs, argv + nargs, argvlen + nargs };
        for (size_t a = 0; a < cmd->nargs; a++, nargs++)
            argv[nargs] = rbatch_argp(b, cmd, a, &argvlen[nargs]);
    }
    rcl_exec(c->rc, cmds, b->ncmds, res);
    CNT_ADD(c->st.commands, b->ncmds);
    for (size_t i = 0; i < b->ncmds; i++) {
        const redisReply *rep = res[i].reply;

        if (res[i].status != RCL_OK || res[i].unreplicated) {
            replies[i] = RCONN_UNANSWERED;
            if (why[0] == '\0')
                snprintf(why, sizeof why, "%s%.*s", res[i].unreplicated ? "no replica took it in time: " : "",
                         (int)rep->len, rep->str);
            continue;
        }
        done++;
        if (rep->type == REDIS_REPLY_ERROR) {
            CNT_ADD(c->st.errors, 1);
            replies[i] = RCONN_ERROR;
            log_warning("redis: error reply: %s", rep->str);
        } else {
            replies[i] = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
        }
    }
    rcl_results_free(res, b->ncmds);
    if (done == b->ncmds)
        CNT_ADD(c->st.round_trips, 1);
    else
        rconn_drop(c, why);
out:
    free(argv);
    free(argvlen);
    free(cmds);
    free(res);
    return done;
}

void rconn_get_stats(const struct rconn *c, struct rconn_stats *st)
{
    st->round_trips = CNT_GET(c->st.round_trips);
    st->commands = CNT_GET(c->st.commands);
    st->reconnects = CNT_GET(c->st.reconnects);
    st->errors = CNT_GET(c->st.errors);
}

void rconn_add_cluster_stats_from(const struct rcl_stats *from, struct rcl_stats *st)
{
    for (size_t i = 0; i < rcl_stats_module.nfields; i++) {
        const struct stats_field *f = &rcl_stats_module.fields[i];
        uint64_t v = CNT_GET(*(const uint64_t *)((const char *)from + f->off));
        uint64_t *to = (uint64_t *)((char *)st + f->off);

        /* A failover is seen by each client of the sensor: counted once. */
        if (f->kind == STATS_GAUGE || f->off == offsetof(struct rcl_stats, failovers))
            *to = v > *to ? v : *to;
        else
            *to += v;
    }
}

void rconn_add_cluster_stats(const struct rconn *c, struct rcl_stats *st)
{
    if (c->rc)
        rconn_add_cluster_stats_from(rcl_stats(c->rc), st);
}
