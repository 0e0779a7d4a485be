/* redis-ctx.c - hiredis-style calls over the routing layer; see redis-ctx.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis-ctx.h"
#include "redis-cluster.h"

#define RCX_MAX_ARGS 32

/* One queued command: its arguments copied into one block. */
struct qcmd {
    int argc;
    const char **argv;
    size_t *argvlen;
};

struct rcx {
    struct rcl *c;
    int own;                     /* the client is ours to close */
    struct qcmd *q;              /* queued, not yet sent */
    size_t nq, cq;
    struct rcl_result *res;      /* the sent queue's results */
    size_t nres, next;           /* results held, the next one handed out */
    char err[300];
};

static struct timeval secs(uint32_t s)
{
    return (struct timeval){ .tv_sec = (time_t)s, .tv_usec = 0 };
}

void rcx_config_of(const struct lw_config *cfg, struct rcl_config *rc)
{
    memset(rc, 0, sizeof *rc);
    rc->seeds = (const char *const *)cfg->redis.cluster.v;
    rc->nseeds = cfg->redis.cluster.n;
    rc->server = cfg->redis.server;
    rc->port = (int)cfg->redis.port;
    rc->user = cfg->redis.username;
    rc->pass = cfg->redis.password;
    rc->db = (int)cfg->redis.db;
    rc->tv_connect = secs(cfg->redis.connect_timeout);
    rc->tv_cmd = secs(cfg->redis.command_timeout);
    rc->wait_replicas = (int)cfg->redis.wait_replicas;
}

struct rcx *rcx_wrap(struct rcl *c)
{
    struct rcx *x = calloc(1, sizeof *x);

    if (x)
        x->c = c;
    return x;
}

struct rcx *rcx_connect(const struct lw_config *cfg, char *err, size_t errlen)
{
    struct rcl_config rc;
    struct rcl *c;
    struct rcx *x;

    rcx_config_of(cfg, &rc);
    if ((c = rcl_open(&rc, err, errlen)) == NULL)
        return NULL;
    if (rcl_connect(c, err, errlen) < 0 || (x = rcx_wrap(c)) == NULL) {
        if (err[0] == '\0')
            snprintf(err, errlen, "redis: out of memory");
        rcl_close(c);
        return NULL;
    }
    x->own = 1;
    return x;
}

struct rcl *rcx_client(struct rcx *x)
{
    return x->c;
}

static void drop_queue(struct rcx *x)
{
    for (size_t i = 0; i < x->nq; i++)
        free(x->q[i].argv);
    x->nq = 0;
}

static void drop_results(struct rcx *x)
{
    rcl_results_free(x->res + x->next, x->nres - x->next);
    free(x->res);
    x->res = NULL;
    x->nres = x->next = 0;
}

void rcx_free(struct rcx *x)
{
    if (x == NULL)
        return;
    drop_queue(x);
    drop_results(x);
    free(x->q);
    if (x->own)
        rcl_close(x->c);
    free(x);
}

int rcx_append(struct rcx *x, int argc, const char **argv, const size_t *argvlen)
{
    size_t bytes = 0;
    struct qcmd *q;
    char *p;

    if (argc <= 0)
        return REDIS_ERR;
    if (x->nq == x->cq) {
        size_t nc = x->cq ? x->cq * 2 : 8;
        void *n = realloc(x->q, nc * sizeof *x->q);
        if (n == NULL)
            return REDIS_ERR;
        x->q = n;
        x->cq = nc;
    }
    for (int i = 0; i < argc; i++)
        bytes += (argvlen ? argvlen[i] : strlen(argv[i])) + 1;
    q = &x->q[x->nq];
    q->argc = argc;
    q->argv = malloc((size_t)argc * (sizeof *q->argv + sizeof *q->argvlen) + bytes);
    if (q->argv == NULL)
        return REDIS_ERR;
    q->argvlen = (size_t *)(q->argv + argc);
    p = (char *)(q->argvlen + argc);
    for (int i = 0; i < argc; i++) {
        size_t n = argvlen ? argvlen[i] : strlen(argv[i]);
        memcpy(p, argv[i], n);
        p[n] = '\0';
        q->argv[i] = p;
        q->argvlen[i] = n;
        p += n + 1;
    }
    x->nq++;
    return REDIS_OK;
}

/* Sends the queue; its results replace what is left of the last ones. */
static int send_queue(struct rcx *x)
{
    struct rcl_cmd *cmds;
    int rc = REDIS_ERR;

    drop_results(x);
    cmds = malloc(x->nq * sizeof *cmds);
    x->res = calloc(x->nq, sizeof *x->res);
    if (cmds && x->res) {
        for (size_t i = 0; i < x->nq; i++)
            cmds[i] = (struct rcl_cmd){ x->q[i].argc, x->q[i].argv, x->q[i].argvlen };
        rcl_exec(x->c, cmds, x->nq, x->res);
        x->nres = x->nq;
        rc = REDIS_OK;
    } else {
        free(x->res);
        x->res = NULL;
        snprintf(x->err, sizeof x->err, "out of memory");
    }
    free(cmds);
    drop_queue(x);
    return rc;
}

/* An answer's error text for a result that got none. */
static void no_answer(struct rcx *x, struct rcl_result *r)
{
    snprintf(x->err, sizeof x->err, "%.*s", r->reply ? (int)r->reply->len : 0,
             r->reply && r->reply->str ? r->reply->str : "");
    freeReplyObject(r->reply);
    r->reply = NULL;
}

int rcx_get_reply(struct rcx *x, redisReply **reply)
{
    struct rcl_result *r;

    *reply = NULL;
    if (x->next == x->nres && x->nq && send_queue(x) != REDIS_OK)
        return REDIS_ERR;
    if (x->next == x->nres) {
        snprintf(x->err, sizeof x->err, "no command queued");
        return REDIS_ERR;
    }
    r = &x->res[x->next++];
    if (r->status != RCL_OK) {
        no_answer(x, r);
        return REDIS_ERR;
    }
    *reply = r->reply;
    r->reply = NULL;
    return REDIS_OK;
}

redisReply *rcx_command(struct rcx *x, int argc, const char **argv, const size_t *argvlen)
{
    struct rcl_cmd cmd = { argc, argv, argvlen };
    struct rcl_result res;

    rcl_exec(x->c, &cmd, 1, &res);
    if (res.status != RCL_OK) {
        no_answer(x, &res);
        return NULL;
    }
    return res.reply;
}

redisReply *rcx_argv(struct rcx *x, ...)
{
    const char *argv[RCX_MAX_ARGS];
    int argc = 0;
    va_list ap;

    va_start(ap, x);
    for (const char *a; argc < RCX_MAX_ARGS && (a = va_arg(ap, const char *)); )
        argv[argc++] = a;
    va_end(ap);
    return rcx_command(x, argc, argv, NULL);
}

const char *rcx_errstr(const struct rcx *x)
{
    return x->err;
}
