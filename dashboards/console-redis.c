/* console-redis.c - the console's alert shards, alert ids, cursors and
 * subscriber connection; see console-redis.h. */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "console-redis.h"
#include "redis-cluster.h"

int cr_shard_valid(const char *s, size_t n)
{
    if (n == 0 || n >= CR_SHARD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
            return 0;
    return 1;
}

int cr_xid_valid(const char *s, size_t n)
{
    size_t i = 0, d1 = 0, d2 = 0;

    while (i < n && isdigit((unsigned char)s[i])) { i++; d1++; }
    if (i == n || s[i++] != '-')
        return 0;
    while (i < n && isdigit((unsigned char)s[i])) { i++; d2++; }
    return i == n && d1 >= 1 && d1 <= 20 && d2 >= 1 && d2 <= 20;
}

static int shard_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cr_shard *)a)->name, ((const struct cr_shard *)b)->name);
}

static int shard_add(struct cr_shards *s, const char *name, size_t n)
{
    struct cr_shard *v = realloc(s->v, (s->n + 1) * sizeof *v);

    if (v == NULL)
        return -1;
    s->v = v;
    memset(&v[s->n], 0, sizeof v[s->n]);
    memcpy(v[s->n].name, name, n);
    s->n++;
    return 0;
}

int cr_shards(struct rcx *x, const struct rkeys *rk, const char *sensor, struct cr_shards *s)
{
    char set[RKEY_MAX], shared[RKEY_MAX];
    redisReply *m = NULL, *e = NULL;
    int rc = -1, any = 0;

    memset(s, 0, sizeof *s);
    rkey_named(set, sizeof set, rk, "shards");
    rkey_named(shared, sizeof shared, rk, "alerts");
    const char *a1[] = { "SMEMBERS", set }, *a2[] = { "EXISTS", shared };
    /* two slots: one round trip to each node; both replies are always read */
    if (rcx_append(x, 2, a1, NULL) != REDIS_OK || rcx_append(x, 2, a2, NULL) != REDIS_OK)
        return -1;
    int got_m = rcx_get_reply(x, &m) == REDIS_OK, got_e = rcx_get_reply(x, &e) == REDIS_OK;
    if (!got_m || !got_e || m->type != REDIS_REPLY_ARRAY || e->type != REDIS_REPLY_INTEGER)
        goto out;
    for (size_t i = 0; i < m->elements; i++) {
        const redisReply *n = m->element[i];
        if (n->type != REDIS_REPLY_STRING || !cr_shard_valid(n->str, n->len))
            continue;                    /* not a name a sensor writes: not read */
        any = 1;
        if (sensor && sensor[0] && strcmp(sensor, n->str) != 0)
            continue;
        if (s->n == CR_SHARDS_MAX || shard_add(s, n->str, n->len) < 0)
            goto out;
    }
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, shard_cmp);
    if ((e->integer > 0 || !any) && shard_add(s, "", 0) < 0)
        goto out;
    if (s->n > 1 && s->v[s->n - 1].name[0] == '\0') {
        /* the shared stream first */
        struct cr_shard sh = s->v[s->n - 1];
        memmove(s->v + 1, s->v, (s->n - 1) * sizeof *s->v);
        s->v[0] = sh;
    }
    rc = 0;
out:
    freeReplyObject(m);
    freeReplyObject(e);
    if (rc < 0)
        cr_shards_free(s);
    return rc;
}

void cr_shards_free(struct cr_shards *s)
{
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

struct rkeys cr_shard_keys(const struct rkeys *rk, const char *shard)
{
    struct rkeys k = *rk;

    k.shard = shard && shard[0] ? shard : NULL;
    return k;
}

/* An alert id s[0..n) into shard and xid. */
static int id_parse(const char *s, size_t n, char *shard, char *xid)
{
    const char *colon = memchr(s, ':', n);
    size_t sl = colon ? (size_t)(colon - s) : 0, xl = colon ? n - sl - 1 : n;
    const char *xs = colon ? colon + 1 : s;

    if ((colon && !cr_shard_valid(s, sl)) || !cr_xid_valid(xs, xl))
        return -1;
    memcpy(shard, s, sl);
    shard[sl] = '\0';
    memcpy(xid, xs, xl);
    xid[xl] = '\0';
    return 0;
}

int cr_id_parse(const char *id, char *shard, char *xid)
{
    return id_parse(id, strlen(id), shard, xid);
}

void cr_id_format(char *buf, size_t len, const char *shard, const char *xid)
{
    snprintf(buf, len, "%s%s%s", shard, shard[0] ? ":" : "", xid);
}

int cr_cursor_valid(const char *s)
{
    char shard[CR_SHARD_MAX], xid[CR_XID_MAX];
    size_t n = strlen(s);

    if (n == 0 || n >= CR_CURSOR_MAX)
        return 0;
    for (const char *p = s;;) {
        size_t k = strcspn(p, ",");
        if (id_parse(p, k, shard, xid) < 0)
            return 0;
        if (p[k] == '\0')
            return 1;
        p += k + 1;
    }
}

void cr_cursor_apply(struct cr_shards *s, const char *cursor)
{
    char shard[CR_SHARD_MAX], xid[CR_XID_MAX];

    for (size_t i = 0; i < s->n; i++) {
        s->v[i].pos[0] = '\0';
        s->v[i].done = 0;
    }
    for (const char *p = cursor; p && *p;) {
        size_t k = strcspn(p, ",");
        if (id_parse(p, k, shard, xid) == 0)
            for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->v[i].name, shard) == 0) {
                    snprintf(s->v[i].pos, sizeof s->v[i].pos, "%s", xid);
                    s->v[i].done = strcmp(xid, "0-0") == 0;
                }
        p += k + (p[k] == ',');
    }
}

char *cr_cursor_format(const struct cr_shards *s, int *oom)
{
    size_t cap = 1, len = 0;
    int more = 0;
    char *out;

    *oom = 0;
    for (size_t i = 0; i < s->n; i++) {
        more |= !s->v[i].done;
        cap += CR_ID_MAX + 1;
    }
    if (!more)
        return NULL;
    if ((out = malloc(cap)) == NULL) {
        *oom = 1;
        return NULL;
    }
    out[0] = '\0';
    for (size_t i = 0; i < s->n; i++) {
        const struct cr_shard *sh = &s->v[i];
        if (!sh->done && !sh->pos[0])
            continue;                    /* from its newest: what a cursor leaves out means */
        if (len)
            out[len++] = ',';
        cr_id_format(out + len, cap - len, sh->name, sh->done ? "0-0" : sh->pos);
        len += strlen(out + len);
    }
    if (len == 0) {
        /* nothing read yet anywhere (the walk gave up at once): the same page again */
        cr_id_format(out, cap, s->v[0].name, "18446744073709551615-18446744073709551615");
    }
    return out;
}

/* Connects to one node: host:port or a unix socket, AUTH, no command timeout. */
static redisContext *node_connect(const struct lw_config *cfg, const char *host, int port)
{
    struct timeval tv = { (time_t)cfg->redis.connect_timeout, 0 };
    redisContext *c = host[0] == '/' ? redisConnectUnixWithTimeout(host, tv)
                                     : redisConnectWithTimeout(host, port, tv);
    redisReply *r = NULL;

    if (c == NULL || c->err)
        goto fail;
    if (cfg->redis.password[0]) {
        const char *a[] = { "AUTH", cfg->redis.username, cfg->redis.password };
        int user = cfg->redis.username[0] != '\0';
        if (!user)
            a[1] = cfg->redis.password;
        r = redisCommandArgv(c, 2 + user, a, NULL);
        if (r == NULL || r->type == REDIS_REPLY_ERROR)
            goto fail;
        freeReplyObject(r);
        r = NULL;
    }
    /* SUBSCRIBE needs no database: pub/sub channels are the server's */
    redisSetTimeout(c, (struct timeval){ 0, 0 });
    return c;
fail:
    freeReplyObject(r);
    if (c)
        redisFree(c);
    return NULL;
}

struct cr_sub {
    const struct lw_config *cfg;
    redisContext *c;             /* SUBSCRIBEd; NULL while between nodes */
    size_t node;                 /* the seed it is on */
    char channel[RKEY_MAX];
};

/* The first seed after the current one that answers, subscribed. */
static int sub_connect(struct cr_sub *s)
{
    const struct lw_config *cfg = s->cfg;
    size_t n = cfg->redis.cluster.n;
    char host[256];
    int port;

    if (s->c)
        redisFree(s->c);
    s->c = NULL;
    for (size_t k = 1; k <= (n ? n : 1) && s->c == NULL; k++) {
        size_t i = n ? (s->node + k) % n : 0;
        const char *seed = n ? cfg->redis.cluster.v[i] : NULL;
        redisContext *c;
        redisReply *r;

        if (n == 0)
            c = node_connect(cfg, cfg->redis.server, (int)cfg->redis.port);
        else if (rcl_parse_hostport(seed, strlen(seed), host, sizeof host, &port) == 0)
            c = node_connect(cfg, host, port);
        else
            continue;
        if (c == NULL)
            continue;
        const char *argv[] = { "SUBSCRIBE", s->channel };
        if ((r = redisCommandArgv(c, 2, argv, NULL)) != NULL && r->type != REDIS_REPLY_ERROR) {
            s->c = c;
            s->node = i;
        } else {
            redisFree(c);
        }
        freeReplyObject(r);
    }
    return s->c ? 0 : -1;
}

struct cr_sub *cr_sub_open(const struct lw_config *cfg, const char *channel)
{
    struct cr_sub *s = calloc(1, sizeof *s);

    if (s == NULL)
        return NULL;
    s->cfg = cfg;
    /* from the last seed round, so that the first one is tried first */
    s->node = cfg->redis.cluster.n ? cfg->redis.cluster.n - 1 : 0;
    snprintf(s->channel, sizeof s->channel, "%s", channel);
    if (sub_connect(s) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

int cr_sub_next(struct cr_sub *s, int wait_ms, redisReply **msg)
{
    void *r = NULL;

    *msg = NULL;
    for (;;) {
        if (redisGetReplyFromReader(s->c, &r) != REDIS_OK) {
            if (sub_connect(s) < 0)
                return -1;
            continue;
        }
        if (r) {
            *msg = r;
            return 1;
        }
        struct pollfd p = { .fd = s->c->fd, .events = POLLIN };
        int n = poll(&p, 1, wait_ms);
        if (n == 0 || (n < 0 && errno == EINTR))
            return 0;
        if ((n < 0 || redisBufferRead(s->c) != REDIS_OK) && sub_connect(s) < 0)
            return -1;
    }
}

void cr_sub_close(struct cr_sub *s)
{
    if (s == NULL)
        return;
    if (s->c)
        redisFree(s->c);
    free(s);
}
