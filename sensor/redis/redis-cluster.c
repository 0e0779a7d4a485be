/* redis-cluster.c - commands routed over one Redis node or a Redis Cluster;
 * see redis-cluster.h. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "redis-cluster.h"
#include "util.h"

#define DEF_REDIRECTS   5
#define DEF_RETRIES     5
#define DEF_RETRY_USEC  100000u
#define DEF_RETRY_MAX   1000000u
#define DEF_WAIT_MSEC   100
#define MAX_KEYS        1024     /* keys of one command that are checked */

/* What a node's part of a round expects back, in order. */
enum ent_kind { E_CMD, E_ASKING, E_LOAD, E_WAIT };
struct ent {
    uint32_t cmd;
    uint8_t kind;
};

struct rnode {
    char host[128];              /* host, or a unix socket path (single node) */
    int port;
    char id[48];
    int in_map, master;          /* as of the last slot map */
    int replicas;                /* a master's replicas online, as of the last slot map */
    int wait_want;               /* this round: the replicas WAIT asks for (0: no WAIT) */
    redisContext *ctx;
    struct ent *ents;            /* this round's part */
    size_t nents, cents;
    int broken;                  /* this round: the connection failed */
};

struct script {
    char sha[41];
    char *body;
};

struct rcl {
    int cluster;
    char *user, *pass;
    int db;
    struct timeval tv_connect, tv_cmd;
    unsigned max_redirects, max_retries;
    uint64_t retry_usec, retry_max_usec;
    int wait_replicas, wait_msec;
    size_t nseeds;
    int seed_node[RCL_MAX_SEEDS];
    struct rnode *nodes;
    size_t nnodes, cnodes;
    uint16_t owner[RCL_SLOTS];
    int map_ok, map_stale;
    int not_cluster;             /* a seed said cluster support is disabled */
    struct script *scripts;
    size_t nscripts;
    struct rcl_stats st;
    char err[512];
};

/* One command's state during rcl_exec(). */
struct cstate {
    int slot;                    /* -1: no keys */
    long prev, next;             /* the commands before and after it with the same first key */
    int ask;                     /* ASK target node for the next send, -1 */
    int load;                    /* script to SCRIPT LOAD before the next send, -1 */
    uint8_t done, loaded, redirects, retries;
    int node;                    /* node of this round's send, -1 */
    const char *key0;            /* the first key */
    size_t key0len;
};

/* ------------------------------------------------------------------ slots */

uint16_t rcl_crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;

    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint8_t)buf[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

unsigned rcl_key_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len), *close;

    if (open) {
        size_t rest = len - (size_t)(open - key) - 1;
        close = memchr(open + 1, '}', rest);
        if (close && close > open + 1)
            return rcl_crc16(open + 1, (size_t)(close - open - 1)) & (RCL_SLOTS - 1);
    }
    return rcl_crc16(key, len) & (RCL_SLOTS - 1);
}

/* ------------------------------------------------------------------ the command table */

enum keyspec {
    K_NONE,                      /* no keys: any node */
    K_ONE,                       /* argv[1] */
    K_SECOND,                    /* argv[2] (XGROUP CREATE key ...) */
    K_TWO,                       /* argv[1] and argv[2] */
    K_ALL,                       /* argv[1..] */
    K_PAIRS,                     /* argv[1], argv[3], ... */
    K_NUMKEYS,                   /* argv[2] keys from argv[3] */
    K_STREAMS,                   /* the first half after STREAMS (no BLOCK) */
    K_MATCH,                     /* SCAN: the MATCH pattern, whose hash tag names one slot */
};

static const struct {
    const char *name;
    uint8_t spec;
} cmd_table[] = {
    { "PING", K_NONE }, { "ECHO", K_NONE }, { "INFO", K_NONE }, { "TIME", K_NONE },
    { "SCRIPT", K_NONE }, { "PUBLISH", K_NONE }, { "COMMAND", K_NONE }, { "CLUSTER", K_NONE },
    { "EVAL", K_NUMKEYS }, { "EVALSHA", K_NUMKEYS }, { "EVAL_RO", K_NUMKEYS },
    { "EVALSHA_RO", K_NUMKEYS }, { "FCALL", K_NUMKEYS }, { "FCALL_RO", K_NUMKEYS },
    { "DEL", K_ALL }, { "UNLINK", K_ALL }, { "EXISTS", K_ALL }, { "TOUCH", K_ALL }, { "MGET", K_ALL },
    { "MSET", K_PAIRS }, { "MSETNX", K_PAIRS }, { "RENAME", K_TWO }, { "RENAMENX", K_TWO },
    { "XREAD", K_STREAMS }, { "XREADGROUP", K_STREAMS }, { "XGROUP", K_SECOND }, { "XINFO", K_SECOND },
    { "GET", K_ONE }, { "SET", K_ONE }, { "SETEX", K_ONE }, { "SETNX", K_ONE }, { "GETSET", K_ONE },
    { "INCR", K_ONE }, { "INCRBY", K_ONE }, { "DECR", K_ONE }, { "DECRBY", K_ONE },
    { "APPEND", K_ONE }, { "STRLEN", K_ONE }, { "TYPE", K_ONE },
    { "EXPIRE", K_ONE }, { "PEXPIRE", K_ONE }, { "EXPIREAT", K_ONE }, { "TTL", K_ONE },
    { "PTTL", K_ONE }, { "PERSIST", K_ONE },
    { "HSET", K_ONE }, { "HSETNX", K_ONE }, { "HGET", K_ONE }, { "HMGET", K_ONE }, { "HMSET", K_ONE },
    { "HGETALL", K_ONE }, { "HDEL", K_ONE }, { "HINCRBY", K_ONE }, { "HEXISTS", K_ONE },
    { "HLEN", K_ONE }, { "HKEYS", K_ONE }, { "HVALS", K_ONE }, { "HSCAN", K_ONE },
    { "LPUSH", K_ONE }, { "RPUSH", K_ONE }, { "LPOP", K_ONE }, { "RPOP", K_ONE },
    { "LRANGE", K_ONE }, { "LLEN", K_ONE }, { "LTRIM", K_ONE }, { "LINDEX", K_ONE },
    { "SADD", K_ONE }, { "SREM", K_ONE }, { "SMEMBERS", K_ONE }, { "SISMEMBER", K_ONE }, { "SCARD", K_ONE },
    { "ZADD", K_ONE }, { "ZINCRBY", K_ONE }, { "ZREM", K_ONE }, { "ZRANGE", K_ONE },
    { "ZREVRANGE", K_ONE }, { "ZRANGEBYSCORE", K_ONE }, { "ZREVRANGEBYSCORE", K_ONE },
    { "ZREMRANGEBYRANK", K_ONE }, { "ZREMRANGEBYSCORE", K_ONE }, { "ZSCORE", K_ONE },
    { "ZCARD", K_ONE }, { "ZCOUNT", K_ONE }, { "ZRANK", K_ONE }, { "ZREVRANK", K_ONE },
    { "ZRANGEBYLEX", K_ONE }, { "ZREVRANGEBYLEX", K_ONE }, { "ZLEXCOUNT", K_ONE },
    { "XADD", K_ONE }, { "XRANGE", K_ONE }, { "XREVRANGE", K_ONE }, { "XLEN", K_ONE },
    { "XTRIM", K_ONE }, { "XDEL", K_ONE }, { "XACK", K_ONE }, { "XCLAIM", K_ONE },
    { "XAUTOCLAIM", K_ONE }, { "XPENDING", K_ONE }, { "SCAN", K_MATCH },
};

static size_t alen(const char *const *argv, const size_t *argvlen, int i)
{
    return argvlen ? argvlen[i] : strlen(argv[i]);
}

static int arg_is(const char *const *argv, const size_t *argvlen, int i, const char *word)
{
    size_t n = strlen(word);

    return alen(argv, argvlen, i) == n && strncasecmp(argv[i], word, n) == 0;
}

/* Appends argument positions from..to (exclusive), every step, to idx. */
static int put_range(int *idx, int max, int n, int from, int to, int step)
{
    for (int i = from; i < to; i += step) {
        if (n >= max)
            return -1;
        idx[n++] = i;
    }
    return n;
}

int rcl_cmd_keys(int argc, const char *const *argv, const size_t *argvlen, int *idx, int max)
{
    long nk;
    char num[24];
    size_t l;

    if (argc < 1)
        return -1;
    for (size_t t = 0; t < sizeof cmd_table / sizeof cmd_table[0]; t++) {
        if (!arg_is(argv, argvlen, 0, cmd_table[t].name))
            continue;
        switch (cmd_table[t].spec) {
        case K_NONE:
            return 0;
        case K_ONE:
            return argc < 2 ? -1 : put_range(idx, max, 0, 1, 2, 1);
        case K_SECOND:
            return argc < 3 ? -1 : put_range(idx, max, 0, 2, 3, 1);
        case K_TWO:
            return argc < 3 ? -1 : put_range(idx, max, 0, 1, 3, 1);
        case K_ALL:
            return argc < 2 ? -1 : put_range(idx, max, 0, 1, argc, 1);
        case K_PAIRS:
            return argc < 3 || argc % 2 == 0 ? -1 : put_range(idx, max, 0, 1, argc, 2);
        case K_NUMKEYS:
            if (argc < 3 || (l = alen(argv, argvlen, 2)) == 0 || l >= sizeof num)
                return -1;
            memcpy(num, argv[2], l);
            num[l] = '\0';
            for (size_t i = 0; i < l; i++)
                if (!isdigit((unsigned char)num[i]))
                    return -1;
            nk = strtol(num, NULL, 10);
            if (nk > argc - 3)
                return -1;
            return put_range(idx, max, 0, 3, 3 + (int)nk, 1);
        case K_MATCH:
            /* The keys a pattern matches share a slot only when the
             * pattern's hash tag, and everything before it, is literal. */
            for (int i = 2; i + 1 < argc; i++)
                if (arg_is(argv, argvlen, i, "MATCH")) {
                    const char *p = argv[i + 1];
                    size_t n = alen(argv, argvlen, i + 1), k, open = n;

                    for (k = 0; k < n && p[k] != '}'; k++) {
                        if (p[k] && strchr("*?[\\", p[k]))
                            return -1;
                        if (p[k] == '{' && open == n)
                            open = k;
                    }
                    if (open == n || k == n || k == open + 1)
                        return -1;
                    return put_range(idx, max, 0, i + 1, i + 2, 1);
                }
            return -1;
        case K_STREAMS:
            for (int i = 1; i < argc; i++) {
                if (arg_is(argv, argvlen, i, "BLOCK"))
                    return -1;
                if (arg_is(argv, argvlen, i, "STREAMS")) {
                    int rest = argc - i - 1;
                    if (rest < 2 || rest % 2)
                        return -1;
                    return put_range(idx, max, 0, i + 1, i + 1 + rest / 2, 1);
                }
            }
            return -1;
        default:
            return -1;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------ addresses and redirects */

int rcl_parse_hostport(const char *s, size_t len, char *host, size_t hostlen, int *port)
{
    const char *colon = NULL, *h = s;
    size_t hl;
    long p = 0;

    for (size_t i = 0; i < len; i++)
        if (s[i] == ':')
            colon = s + i;
    if (colon == NULL || colon + 1 == s + len)
        return -1;
    for (const char *d = colon + 1; d < s + len; d++) {
        if (!isdigit((unsigned char)*d))
            return -1;
        p = p * 10 + (*d - '0');
        if (p > 65535)
            return -1;
    }
    hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
        h = s + 1;
        hl -= 2;
    }
    if (hl == 0 || hl >= hostlen || p == 0)
        return -1;
    for (size_t i = 0; i < hl; i++)
        if ((unsigned char)h[i] <= ' ')
            return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

int rcl_parse_redirect(const char *s, size_t len, unsigned *slot, char *host, size_t hostlen, int *port)
{
    int kind;
    size_t i;
    unsigned long v = 0;

    if (len > 6 && memcmp(s, "MOVED ", 6) == 0)
        kind = 1, i = 6;
    else if (len > 4 && memcmp(s, "ASK ", 4) == 0)
        kind = 2, i = 4;
    else
        return 0;
    if (i >= len || !isdigit((unsigned char)s[i]))
        return 0;
    for (; i < len && isdigit((unsigned char)s[i]); i++) {
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v >= RCL_SLOTS)
            return 0;
    }
    if (i >= len || s[i] != ' ')
        return 0;
    i++;
    if (rcl_parse_hostport(s + i, len - i, host, hostlen, port) < 0)
        return 0;
    *slot = (unsigned)v;
    return kind;
}

/* ------------------------------------------------------------------ slot maps from replies */

void rcl_map_free(struct rcl_map *m)
{
    free(m->nodes);
    m->nodes = NULL;
    m->nnodes = m->cnodes = 0;
}

/* The index of host:port in m, added as given when new; -1 out of memory. */
static long map_node(struct rcl_map *m, const char *host, int port, const char *id, int master)
{
    struct rcl_map_node *n;

    for (size_t i = 0; i < m->nnodes; i++)
        if (m->nodes[i].port == port && strcmp(m->nodes[i].host, host) == 0)
            return (long)i;
    if (m->nnodes >= RCL_MAX_NODES)
        return -1;
    if (m->nnodes == m->cnodes) {
        size_t nc = m->cnodes ? m->cnodes * 2 : 16;
        void *p = realloc(m->nodes, nc * sizeof *m->nodes);
        if (p == NULL)
            return -1;
        m->nodes = p;
        m->cnodes = nc;
    }
    n = &m->nodes[m->nnodes];
    memset(n, 0, sizeof *n);
    snprintf(n->host, sizeof n->host, "%s", host);
    n->port = port;
    snprintf(n->id, sizeof n->id, "%s", id ? id : "");
    n->master = master;
    return (long)m->nnodes++;
}

static void map_init(struct rcl_map *m)
{
    for (size_t s = 0; s < RCL_SLOTS; s++)
        m->owner[s] = RCL_NONE;
}

static int is_str(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

static int str_eq(const redisReply *r, const char *s)
{
    return is_str(r) && r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

/* The value of field name in a flat [k, v, k, v] array; NULL when absent. */
static const redisReply *flat_get(const redisReply *r, const char *name)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (str_eq(r->element[i], name))
            return r->element[i + 1];
    return NULL;
}

/* A reply element's text into buf; "" when it is not a string. */
static void copy_str(char *buf, size_t len, const redisReply *r)
{
    size_t n = is_str(r) ? r->len : 0;

    if (n >= len)
        n = len - 1;
    if (n)
        memcpy(buf, r->str, n);
    buf[n] = '\0';
}

static int int_of(const redisReply *r, long long *v)
{
    if (r && r->type == REDIS_REPLY_INTEGER) {
        *v = r->integer;
        return 0;
    }
    return -1;
}

/* Assigns slots lo..hi to node index owner. */
static int map_assign(struct rcl_map *m, long long lo, long long hi, long owner)
{
    if (lo < 0 || hi >= RCL_SLOTS || lo > hi || owner < 0)
        return -1;
    for (long long s = lo; s <= hi; s++)
        m->owner[s] = (uint16_t)owner;
    return 0;
}

/* One node entry of CLUSTER SHARDS: its address and roles. Returns its
 * index in m or -1. */
static long shard_node(struct rcl_map *m, const redisReply *n, const char *asked, int *online)
{
    char host[128], id[48], health[16];
    const redisReply *ep = flat_get(n, "endpoint"), *ip = flat_get(n, "ip");
    long long port;

    copy_str(host, sizeof host, ep);
    if (host[0] == '\0' || strcmp(host, "?") == 0)
        copy_str(host, sizeof host, ip);
    if (host[0] == '\0' || strcmp(host, "?") == 0)
        snprintf(host, sizeof host, "%s", asked);
    if (int_of(flat_get(n, "port"), &port) < 0 || port <= 0 || port > 65535)
        return -1;
    copy_str(id, sizeof id, flat_get(n, "id"));
    copy_str(health, sizeof health, flat_get(n, "health"));
    *online = strcmp(health, "online") == 0;
    return map_node(m, host, (int)port, id, str_eq(flat_get(n, "role"), "master"));
}

int rcl_map_from_shards(struct rcl_map *m, const redisReply *r, const char *asked)
{
    map_init(m);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return -1;
    for (size_t s = 0; s < r->elements; s++) {
        const redisReply *slots = flat_get(r->element[s], "slots");
        const redisReply *nodes = flat_get(r->element[s], "nodes");
        long owner = -1, first_master = -1;

        if (slots == NULL || slots->type != REDIS_REPLY_ARRAY || slots->elements % 2 ||
            nodes == NULL || nodes->type != REDIS_REPLY_ARRAY)
            return -1;
        int replicas = 0;

        for (size_t i = 0; i < nodes->elements; i++) {
            int online = 0;
            long ni = shard_node(m, nodes->element[i], asked, &online);
            if (ni < 0)
                return -1;
            if (m->nodes[ni].master && first_master < 0)
                first_master = ni;
            if (m->nodes[ni].master && online && owner < 0)
                owner = ni;
            replicas += !m->nodes[ni].master && online;
        }
        if (owner < 0)
            owner = first_master;
        if (owner >= 0)
            m->nodes[owner].replicas = replicas;
        for (size_t i = 0; i < slots->elements; i += 2) {
            long long lo, hi;
            if (int_of(slots->element[i], &lo) < 0 || int_of(slots->element[i + 1], &hi) < 0 ||
                map_assign(m, lo, hi, owner) < 0)
                return -1;
        }
    }
    return 0;
}

/* [host, port, id, ...] of CLUSTER SLOTS. */
static long slots_node(struct rcl_map *m, const redisReply *n, const char *asked, int master)
{
    char host[128], id[48] = "";
    long long port;

    if (n == NULL || n->type != REDIS_REPLY_ARRAY || n->elements < 2 ||
        int_of(n->element[1], &port) < 0 || port <= 0 || port > 65535)
        return -1;
    copy_str(host, sizeof host, n->element[0]);
    if (host[0] == '\0' || strcmp(host, "?") == 0)
        snprintf(host, sizeof host, "%s", asked);
    if (n->elements > 2)
        copy_str(id, sizeof id, n->element[2]);
    return map_node(m, host, (int)port, id, master);
}

int rcl_map_from_slots(struct rcl_map *m, const redisReply *r, const char *asked)
{
    map_init(m);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return -1;
    for (size_t s = 0; s < r->elements; s++) {
        const redisReply *e = r->element[s];
        long long lo, hi;
        long owner;

        if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            int_of(e->element[0], &lo) < 0 || int_of(e->element[1], &hi) < 0)
            return -1;
        if ((owner = slots_node(m, e->element[2], asked, 1)) < 0)
            return -1;
        /* CLUSTER SLOTS leaves out replicas marked failed. */
        m->nodes[owner].replicas = (int)e->elements - 3;
        for (size_t i = 3; i < e->elements; i++)
            if (slots_node(m, e->element[i], asked, 0) < 0)
                return -1;
        if (map_assign(m, lo, hi, owner) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ nodes and connections */

static void seterr(struct rcl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(struct rcl *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

/* The index of host:port among the client's nodes, added when new; -1
 * when there are too many or out of memory. */
static long node_get(struct rcl *c, const char *host, int port)
{
    struct rnode *n;

    for (size_t i = 0; i < c->nnodes; i++)
        if (c->nodes[i].port == port && strcmp(c->nodes[i].host, host) == 0)
            return (long)i;
    if (c->nnodes >= RCL_MAX_NODES)
        return -1;
    if (c->nnodes == c->cnodes) {
        size_t nc = c->cnodes ? c->cnodes * 2 : 8;
        void *p = realloc(c->nodes, nc * sizeof *c->nodes);
        if (p == NULL)
            return -1;
        c->nodes = p;
        c->cnodes = nc;
    }
    n = &c->nodes[c->nnodes];
    memset(n, 0, sizeof *n);
    snprintf(n->host, sizeof n->host, "%s", host);
    n->port = port;
    return (long)c->nnodes++;
}

static void node_drop(struct rcl *c, struct rnode *n, const char *why)
{
    if (n->ctx) {
        redisFree(n->ctx);
        n->ctx = NULL;
    }
    STATS_INC(c->st.node_failures);
    seterr(c, "%s:%d: %s", n->host, n->port, why);
}

/* One command on a fresh connection, during the handshake. Returns the
 * reply, or NULL with the node dropped (error replies are dropped too,
 * with why set, unless keep_errors). */
static redisReply *hs_command(struct rcl *c, struct rnode *n, int argc, const char **argv, int keep_errors)
{
    redisReply *r = redisCommandArgv(n->ctx, argc, argv, NULL);
    char why[300];

    if (r == NULL) {
        snprintf(why, sizeof why, "%s: %s", argv[0], n->ctx->errstr[0] ? n->ctx->errstr : "connection lost");
        node_drop(c, n, why);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR && !keep_errors) {
        snprintf(why, sizeof why, "%s: %.*s", argv[0], (int)r->len, r->str);
        freeReplyObject(r);
        node_drop(c, n, why);
        return NULL;
    }
    return r;
}

/* Connects node i when it is not: AUTH, SELECT (single node), and the
 * known scripts loaded. Returns 0 or -1 (node dropped, c->err set). */
static int node_connect(struct rcl *c, size_t i)
{
    struct rnode *n = &c->nodes[i];
    const char *argv[3];
    char db[16];
    redisReply *r;

    if (n->ctx)
        return 0;
    n->ctx = n->host[0] == '/' ? redisConnectUnixWithTimeout(n->host, c->tv_connect)
                               : redisConnectWithTimeout(n->host, n->port, c->tv_connect);
    if (n->ctx == NULL || n->ctx->err) {
        char why[300];
        snprintf(why, sizeof why, "cannot connect: %s", n->ctx ? n->ctx->errstr : "out of memory");
        node_drop(c, n, why);
        return -1;
    }
    redisSetTimeout(n->ctx, c->tv_cmd);
    /* Not on a unix socket: hiredis 0.14 would leave its error on the context. */
    if (n->host[0] != '/')
        redisEnableKeepAlive(n->ctx);
    if (c->pass[0]) {
        argv[0] = "AUTH";
        argv[1] = c->user[0] ? c->user : c->pass;
        argv[2] = c->pass;
        if ((r = hs_command(c, n, c->user[0] ? 3 : 2, argv, 0)) == NULL)
            return -1;
        freeReplyObject(r);
    }
    if (c->db && !c->cluster) {
        snprintf(db, sizeof db, "%d", c->db);
        argv[0] = "SELECT";
        argv[1] = db;
        if ((r = hs_command(c, n, 2, argv, 0)) == NULL)
            return -1;
        freeReplyObject(r);
    }
    for (size_t s = 0; s < c->nscripts; s++) {
        argv[0] = "SCRIPT";
        argv[1] = "LOAD";
        argv[2] = c->scripts[s].body;
        if ((r = hs_command(c, n, 3, argv, 0)) == NULL)
            return -1;
        freeReplyObject(r);
    }
    return 0;
}

/* ------------------------------------------------------------------ the slot map */

/* Reads the map from node i: CLUSTER SHARDS, else CLUSTER SLOTS. Returns 0
 * with m filled, -1 (node unusable), -2 (not a cluster node). */
static int read_map(struct rcl *c, size_t i, struct rcl_map *m)
{
    struct rnode *n = &c->nodes[i];
    const char *shards[] = { "CLUSTER", "SHARDS" }, *slots[] = { "CLUSTER", "SLOTS" };
    redisReply *r;
    int rc, old = 0;

    if (node_connect(c, i) < 0)
        return -1;
    if ((r = hs_command(c, n, 2, shards, 1)) == NULL)
        return -1;
    if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "disabled")) {
        seterr(c, "%s:%d is not a cluster node (%s); use redis.server for one node", n->host, n->port, r->str);
        freeReplyObject(r);
        return -2;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        /* Before Redis 7: "unknown subcommand". */
        freeReplyObject(r);
        if ((r = hs_command(c, n, 2, slots, 0)) == NULL)
            return -1;
        old = 1;
    }
    memset(m, 0, sizeof *m);
    rc = old ? rcl_map_from_slots(m, r, n->host) : rcl_map_from_shards(m, r, n->host);
    freeReplyObject(r);
    if (rc < 0) {
        rcl_map_free(m);
        node_drop(c, n, old ? "CLUSTER SLOTS: unexpected reply" : "CLUSTER SHARDS: unexpected reply");
        return -1;
    }
    return 0;
}

/* Makes m the client's map. A node that owns slots now and was a replica
 * in the map before is a failover seen. Nodes that left the map are
 * disconnected. Returns 0 or -1 (too many nodes). */
static int apply_map(struct rcl *c, const struct rcl_map *m)
{
    long idx[RCL_MAX_NODES];
    uint8_t was_replica[RCL_MAX_NODES] = { 0 }, owns[RCL_MAX_NODES] = { 0 };
    uint64_t nodes = 0, masters = 0;

    for (size_t i = 0; i < c->nnodes; i++)
        was_replica[i] = c->map_ok && c->nodes[i].in_map && !c->nodes[i].master;
    for (size_t i = 0; i < m->nnodes; i++)
        if ((idx[i] = node_get(c, m->nodes[i].host, m->nodes[i].port)) < 0)
            return -1;
    for (size_t i = 0; i < c->nnodes; i++)
        c->nodes[i].in_map = c->nodes[i].master = c->nodes[i].replicas = 0;
    for (size_t i = 0; i < m->nnodes; i++) {
        struct rnode *n = &c->nodes[idx[i]];
        n->in_map = 1;
        n->master = m->nodes[i].master;
        n->replicas = m->nodes[i].replicas;
        snprintf(n->id, sizeof n->id, "%s", m->nodes[i].id);
    }
    for (size_t s = 0; s < RCL_SLOTS; s++) {
        c->owner[s] = m->owner[s] == RCL_NONE ? RCL_NONE : (uint16_t)idx[m->owner[s]];
        if (c->owner[s] != RCL_NONE)
            owns[c->owner[s]] = 1;
    }
    for (size_t i = 0; i < c->nnodes; i++) {
        nodes += c->nodes[i].in_map;
        masters += owns[i];
        if (owns[i] && was_replica[i])
            STATS_INC(c->st.failovers);
        if (!c->nodes[i].in_map && c->nodes[i].ctx) {
            redisFree(c->nodes[i].ctx);
            c->nodes[i].ctx = NULL;
        }
    }
    STATS_SET(c->st.nodes, nodes);
    STATS_SET(c->st.masters, masters);
    return 0;
}

/* Reads the slot map from the first node that answers: masters of the
 * current map, then the other nodes, then the seeds. Returns 0, -1. */
static int refresh_map(struct rcl *c)
{
    size_t order[RCL_MAX_NODES + RCL_MAX_SEEDS], n = 0;
    struct rcl_map m;

    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < c->nnodes; i++)
            if (c->nodes[i].in_map && (pass == 0) == (c->nodes[i].master != 0))
                order[n++] = i;
    for (size_t s = 0; s < c->nseeds; s++)
        order[n++] = (size_t)c->seed_node[s];
    for (size_t k = 0; k < n; k++) {
        int rc = read_map(c, order[k], &m);
        if (rc == -2) {
            c->not_cluster = 1;
            return -1;
        }
        if (rc < 0)
            continue;
        rc = apply_map(c, &m);
        rcl_map_free(&m);
        if (rc < 0) {
            seterr(c, "slot map: more than %d nodes", RCL_MAX_NODES);
            return -1;
        }
        STATS_INC(c->st.map_refreshes);
        c->map_ok = 1;
        c->map_stale = 0;
        return 0;
    }
    return -1;
}

/* ------------------------------------------------------------------ open, close */

struct rcl *rcl_open(const struct rcl_config *cfg, char *err, size_t errlen)
{
    struct rcl *c = calloc(1, sizeof *c);
    char host[128];
    int port;
    long ni;

    if (c == NULL)
        goto oom;
    c->cluster = cfg->nseeds > 0;
    c->user = strdup(cfg->user ? cfg->user : "");
    c->pass = strdup(cfg->pass ? cfg->pass : "");
    if (c->user == NULL || c->pass == NULL)
        goto oom;
    c->db = cfg->db;
    c->tv_connect = cfg->tv_connect;
    c->tv_cmd = cfg->tv_cmd;
    c->max_redirects = cfg->max_redirects ? cfg->max_redirects : DEF_REDIRECTS;
    c->max_retries = cfg->max_retries ? cfg->max_retries : DEF_RETRIES;
    c->retry_usec = cfg->retry_usec ? cfg->retry_usec : DEF_RETRY_USEC;
    c->retry_max_usec = cfg->retry_max_usec ? cfg->retry_max_usec : DEF_RETRY_MAX;
    c->wait_replicas = cfg->wait_replicas;
    c->wait_msec = cfg->wait_msec ? cfg->wait_msec : DEF_WAIT_MSEC;
    for (size_t s = 0; s < RCL_SLOTS; s++)
        c->owner[s] = RCL_NONE;
    if (c->cluster && cfg->db) {
        snprintf(err, errlen, "redis.db is %d: SELECT is not allowed on a Redis Cluster "
                 "(a cluster has database 0 only)", cfg->db);
        goto fail;
    }
    if (cfg->nseeds > RCL_MAX_SEEDS) {
        snprintf(err, errlen, "redis.cluster: at most %d seed nodes", RCL_MAX_SEEDS);
        goto fail;
    }
    for (size_t s = 0; s < cfg->nseeds; s++) {
        const char *seed = cfg->seeds[s];
        if (rcl_parse_hostport(seed, strlen(seed), host, sizeof host, &port) < 0) {
            snprintf(err, errlen, "redis.cluster: '%s' is not host:port", seed);
            goto fail;
        }
        if ((ni = node_get(c, host, port)) < 0)
            goto oom;
        c->seed_node[c->nseeds++] = (int)ni;
    }
    if (!c->cluster) {
        if (cfg->server == NULL || cfg->server[0] == '\0' || strlen(cfg->server) >= sizeof host) {
            snprintf(err, errlen, "redis.server: empty or too long");
            goto fail;
        }
        if (node_get(c, cfg->server, cfg->port) < 0)
            goto oom;
        c->nodes[0].in_map = c->nodes[0].master = 1;
        for (size_t s = 0; s < RCL_SLOTS; s++)
            c->owner[s] = 0;
        c->map_ok = 1;
        STATS_SET(c->st.nodes, 1);
        STATS_SET(c->st.masters, 1);
    }
    return c;
oom:
    snprintf(err, errlen, "redis: out of memory");
fail:
    rcl_close(c);
    return NULL;
}

void rcl_close(struct rcl *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nnodes; i++) {
        if (c->nodes[i].ctx)
            redisFree(c->nodes[i].ctx);
        free(c->nodes[i].ents);
    }
    for (size_t s = 0; s < c->nscripts; s++)
        free(c->scripts[s].body);
    free(c->scripts);
    free(c->nodes);
    free(c->user);
    free(c->pass);
    free(c);
}

int rcl_is_cluster(const struct rcl *c)
{
    return c->cluster;
}

int rcl_connect(struct rcl *c, char *err, size_t errlen)
{
    int rc = c->cluster ? refresh_map(c) : node_connect(c, 0);

    if (rc < 0)
        snprintf(err, errlen, "%s", c->err[0] ? c->err : "no seed node answered");
    return rc;
}

const struct rcl_stats *rcl_stats(const struct rcl *c)
{
    return &c->st;
}

const char *rcl_errstr(const struct rcl *c)
{
    return c->err;
}

int rcl_script(struct rcl *c, const char *body, char sha[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct script *ns;

    if (!EVP_Digest(body, strlen(body), md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        return -1;
    for (unsigned i = 0; i < 20; i++)
        snprintf(sha + 2 * i, 3, "%02x", md[i]);
    for (size_t s = 0; s < c->nscripts; s++)
        if (strcmp(c->scripts[s].sha, sha) == 0)
            return 0;
    ns = realloc(c->scripts, (c->nscripts + 1) * sizeof *ns);
    if (ns == NULL)
        return -1;
    c->scripts = ns;
    if ((ns[c->nscripts].body = strdup(body)) == NULL)
        return -1;
    memcpy(ns[c->nscripts].sha, sha, 41);
    c->nscripts++;
    return 0;
}

/* ------------------------------------------------------------------ results */

/* An error reply made here (freeReplyObject() frees it like Redis's). */
static redisReply *mkerr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static redisReply *mkerr(const char *fmt, ...)
{
    redisReply *r = calloc(1, sizeof *r);
    char buf[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (r == NULL)
        return NULL;
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    r->type = REDIS_REPLY_ERROR;
    r->len = (size_t)n;
    if ((r->str = malloc((size_t)n + 1)) == NULL) {
        free(r);
        return NULL;
    }
    memcpy(r->str, buf, (size_t)n + 1);
    return r;
}

void rcl_results_free(struct rcl_result *res, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (res[i].reply)
            freeReplyObject(res[i].reply);
        res[i].reply = NULL;
    }
}

/* The state of one rcl_exec(). */
struct exec {
    struct rcl *c;
    const struct rcl_cmd *cmds;
    size_t n;
    struct rcl_result *res;
    struct cstate *cs;
    size_t pending;
    int wait;                    /* wait before the next round */
};

static void finish(struct exec *x, size_t i, enum rcl_status st, redisReply *reply);

/* Commands after i on its key are not sent once i failed: what was applied
 * on a key stays a prefix of the caller's order. */
static void fail_followers(struct exec *x, size_t i)
{
    for (long j = x->cs[i].next; j >= 0; j = x->cs[j].next)
        if (!x->cs[j].done)
            finish(x, (size_t)j, RCL_NOT_SENT,
                   mkerr("NOTSENT a command before it on the same key failed"));
}

static void finish(struct exec *x, size_t i, enum rcl_status st, redisReply *reply)
{
    if (x->cs[i].done) {
        if (reply)
            freeReplyObject(reply);
        return;
    }
    x->cs[i].done = 1;
    x->pending--;
    x->res[i].status = (uint8_t)st;
    x->res[i].reply = reply;
    if (st != RCL_OK) {
        STATS_INC(x->c->st.failed);
        fail_followers(x, i);
    }
}

/* One more retry for command i (TRYAGAIN, CLUSTERDOWN, node down); given
 * up past the limit with reply (or why) as its result. */
static void retry_later(struct exec *x, size_t i, redisReply *reply, const char *why)
{
    if (++x->cs[i].retries > x->c->max_retries) {
        finish(x, i, RCL_NOT_SENT, reply ? reply : mkerr("NOTSENT %s (after %u retries)", why,
                                                         x->c->max_retries));
        return;
    }
    if (reply)
        freeReplyObject(reply);
    x->wait = 1;
}

/* ------------------------------------------------------------------ one exec */

/* Keys, slots, refusals, and the chains of commands with the same first key. */
static int prepare(struct exec *x)
{
    int idx[MAX_KEYS];
    size_t slots = 1;
    long *table;

    while (slots < 2 * x->n)
        slots *= 2;
    table = malloc(slots * sizeof *table);
    if (table == NULL)
        return -1;
    for (size_t s = 0; s < slots; s++)
        table[s] = -1;
    for (size_t i = 0; i < x->n; i++) {
        const struct rcl_cmd *cmd = &x->cmds[i];
        struct cstate *cs = &x->cs[i];
        int nk = rcl_cmd_keys(cmd->argc, cmd->argv, cmd->argvlen, idx, MAX_KEYS);
        size_t l0;
        uint32_t h;

        cs->slot = -1;
        cs->prev = cs->next = -1;
        cs->ask = cs->load = cs->node = -1;
        if (nk < 0) {
            STATS_INC(x->c->st.refused);
            finish(x, i, RCL_REFUSED, mkerr("REFUSED %.*s: not routable (unknown command, "
                                            "MULTI/EXEC, a blocking read, or bad key count)",
                                            cmd->argc ? (int)alen(cmd->argv, cmd->argvlen, 0) : 0,
                                            cmd->argc ? cmd->argv[0] : ""));
            continue;
        }
        if (nk == 0)
            continue;
        cs->slot = (int)rcl_key_slot(cmd->argv[idx[0]], alen(cmd->argv, cmd->argvlen, idx[0]));
        for (int k = 1; k < nk; k++) {
            unsigned s = rcl_key_slot(cmd->argv[idx[k]], alen(cmd->argv, cmd->argvlen, idx[k]));
            if ((int)s != cs->slot) {
                STATS_INC(x->c->st.refused);
                finish(x, i, RCL_REFUSED,
                       mkerr("CROSSSLOT %.*s: keys in different slots: '%.*s' (slot %d), '%.*s' (slot %u)",
                             (int)alen(cmd->argv, cmd->argvlen, 0), cmd->argv[0],
                             (int)alen(cmd->argv, cmd->argvlen, idx[0]) > 200 ? 200
                             : (int)alen(cmd->argv, cmd->argvlen, idx[0]), cmd->argv[idx[0]], cs->slot,
                             (int)alen(cmd->argv, cmd->argvlen, idx[k]) > 200 ? 200
                             : (int)alen(cmd->argv, cmd->argvlen, idx[k]), cmd->argv[idx[k]], s));
                break;
            }
        }
        if (x->cs[i].done)
            continue;
        /* Chain it behind the last command with the same first key. */
        cs->key0 = cmd->argv[idx[0]];
        cs->key0len = l0 = alen(cmd->argv, cmd->argvlen, idx[0]);
        h = 2166136261u;
        for (size_t b = 0; b < l0; b++)
            h = (h ^ (uint8_t)cs->key0[b]) * 16777619u;
        for (size_t s = h & (slots - 1);; s = (s + 1) & (slots - 1)) {
            long j = table[s];
            if (j < 0) {
                table[s] = (long)i;
                break;
            }
            if (x->cs[j].key0len == l0 && memcmp(x->cs[j].key0, cs->key0, l0) == 0) {
                cs->prev = j;
                x->cs[j].next = (long)i;
                table[s] = (long)i;
                break;
            }
        }
    }
    free(table);
    return 0;
}

static int ent_add(struct rnode *n, size_t cmd, enum ent_kind kind)
{
    if (n->nents == n->cents) {
        size_t nc = n->cents ? n->cents * 2 : 64;
        void *p = realloc(n->ents, nc * sizeof *n->ents);
        if (p == NULL)
            return -1;
        n->ents = p;
        n->cents = nc;
    }
    n->ents[n->nents++] = (struct ent){ (uint32_t)cmd, (uint8_t)kind };
    return 0;
}

/* The node command i goes to this round: its ASK target, the slot's owner,
 * or (no keys) the first master that is up. -1 when none. */
static long route(struct exec *x, size_t i)
{
    struct rcl *c = x->c;
    const struct cstate *cs = &x->cs[i];

    if (cs->ask >= 0)
        return cs->ask;
    if (cs->slot >= 0)
        return c->owner[cs->slot] == RCL_NONE ? -1 : (long)c->owner[cs->slot];
    for (size_t k = 0; k < c->nnodes; k++)
        if (c->nodes[k].in_map && c->nodes[k].master && c->nodes[k].ctx)
            return (long)k;
    for (size_t k = 0; k < c->nnodes; k++)
        if (c->nodes[k].in_map && c->nodes[k].master)
            return (long)k;
    return -1;
}

/* Appends command i (with ASKING and SCRIPT LOAD before it when due) to
 * its node's part of this round. */
static void queue_cmd(struct exec *x, size_t i)
{
    struct rcl *c = x->c;
    struct cstate *cs = &x->cs[i];
    const struct rcl_cmd *cmd = &x->cmds[i];
    long ni = route(x, i);
    struct rnode *n;
    size_t *lens;
    int ok;

    if (ni < 0) {
        c->map_stale = c->cluster;
        retry_later(x, i, NULL, cs->slot >= 0 ? "slot has no node" : "no node");
        return;
    }
    n = &c->nodes[ni];
    /* One connection attempt per node and round. */
    if (n->broken || node_connect(c, (size_t)ni) < 0) {
        n->broken = 1;
        c->map_stale = c->cluster;
        cs->ask = -1;
        retry_later(x, i, NULL, c->err);
        return;
    }
    if (cs->ask >= 0) {
        const char *asking[] = { "ASKING" };
        if (redisAppendCommandArgv(n->ctx, 1, asking, NULL) != REDIS_OK || ent_add(n, i, E_ASKING) < 0)
            goto oom;
    }
    if (cs->load >= 0) {
        const char *load[] = { "SCRIPT", "LOAD", c->scripts[cs->load].body };
        if (redisAppendCommandArgv(n->ctx, 3, load, NULL) != REDIS_OK || ent_add(n, i, E_LOAD) < 0)
            goto oom;
        cs->load = -1;
    }
    cs->ask = -1;
    lens = NULL;
    if (cmd->argvlen == NULL) {
        if ((lens = malloc((size_t)cmd->argc * sizeof *lens)) == NULL)
            goto oom;
        for (int a = 0; a < cmd->argc; a++)
            lens[a] = strlen(cmd->argv[a]);
    }
    ok = redisAppendCommandArgv(n->ctx, cmd->argc, (const char **)cmd->argv,
                                cmd->argvlen ? cmd->argvlen : lens) == REDIS_OK;
    free(lens);
    if (!ok || ent_add(n, i, E_CMD) < 0)
        goto oom;
    cs->node = (int)ni;
    STATS_INC(c->st.commands);
    return;
oom:
    /* The context's buffer may hold part of it: start the node afresh. */
    node_drop(c, n, "out of memory building a pipeline");
    finish(x, i, RCL_NOT_SENT, mkerr("NOTSENT out of memory"));
}

/* The script whose SHA1 command i calls with EVALSHA; -1 if none known. */
static int script_of(const struct exec *x, size_t i)
{
    const struct rcl_cmd *cmd = &x->cmds[i];

    if (cmd->argc < 2 || (!arg_is(cmd->argv, cmd->argvlen, 0, "EVALSHA") &&
                          !arg_is(cmd->argv, cmd->argvlen, 0, "EVALSHA_RO")))
        return -1;
    for (size_t s = 0; s < x->c->nscripts; s++)
        if (alen(cmd->argv, cmd->argvlen, 1) == 40 && strncasecmp(cmd->argv[1], x->c->scripts[s].sha, 40) == 0)
            return (int)s;
    return -1;
}

static int err_is(const redisReply *r, const char *prefix)
{
    size_t n = strlen(prefix);

    return r->len >= n && memcmp(r->str, prefix, n) == 0;
}

/* A command's reply: done, or redirected, or to be retried. */
static void on_reply(struct exec *x, size_t i, redisReply *r)
{
    struct rcl *c = x->c;
    struct cstate *cs = &x->cs[i];
    char host[128];
    unsigned slot;
    int port, kind, sc;
    long ni;

    if (r->type != REDIS_REPLY_ERROR) {
        finish(x, i, RCL_OK, r);
        return;
    }
    if (c->cluster && (kind = rcl_parse_redirect(r->str, r->len, &slot, host, sizeof host, &port)) != 0) {
        STATS_INC(c->st.redirects);
        if (kind == 1)
            STATS_INC(c->st.moved);
        else
            STATS_INC(c->st.ask);
        if (++cs->redirects > c->max_redirects || (ni = node_get(c, host, port)) < 0) {
            finish(x, i, RCL_NOT_SENT, r);
            return;
        }
        if (kind == 1) {
            c->owner[slot] = (uint16_t)ni;
            c->map_stale = 1;
        } else {
            cs->ask = (int)ni;
        }
        freeReplyObject(r);
        return;
    }
    if (c->cluster && err_is(r, "TRYAGAIN")) {
        STATS_INC(c->st.tryagain);
        retry_later(x, i, r, "TRYAGAIN");
        return;
    }
    if (c->cluster && err_is(r, "CLUSTERDOWN")) {
        STATS_INC(c->st.clusterdown);
        c->map_stale = 1;
        retry_later(x, i, r, "CLUSTERDOWN");
        return;
    }
    if (err_is(r, "NOSCRIPT") && !cs->loaded && (sc = script_of(x, i)) >= 0) {
        STATS_INC(c->st.script_loads);
        cs->loaded = 1;
        cs->load = sc;
        freeReplyObject(r);
        return;
    }
    finish(x, i, RCL_OK, r);
}

/* Everything of node n's part from entry e on is unanswered. */
static void node_broke(struct exec *x, struct rnode *n, size_t e, int written)
{
    char why[300];

    snprintf(why, sizeof why, "%s", n->ctx && n->ctx->errstr[0] ? n->ctx->errstr : "connection lost");
    if (n->ctx)
        node_drop(x->c, n, why);
    x->c->map_stale = x->c->cluster;
    n->broken = 1;
    for (; e < n->nents; e++)
        if (n->ents[e].kind == E_CMD && !x->cs[n->ents[e].cmd].done)
            finish(x, n->ents[e].cmd, written ? RCL_IN_DOUBT : RCL_NOT_SENT,
                   mkerr("%s %s:%d: %s", written ? "INDOUBT sent, no reply:" : "NOTSENT", n->host,
                         n->port, why));
}

/* Commands of node n's part before entry e answered while WAIT saw too
 * few replicas. */
static void mark_unreplicated(struct exec *x, const struct rnode *n, size_t e)
{
    for (size_t k = 0; k < e; k++) {
        size_t i = n->ents[k].cmd;
        if (n->ents[k].kind == E_CMD && x->cs[i].done && x->res[i].status == RCL_OK && !x->res[i].unreplicated) {
            x->res[i].unreplicated = 1;
            STATS_INC(x->c->st.unreplicated);
        }
    }
}

static void write_part(struct exec *x, struct rnode *n)
{
    int done = 0;

    while (!done)
        if (redisBufferWrite(n->ctx, &done) != REDIS_OK) {
            node_broke(x, n, 0, 1);
            return;
        }
}

/* Reads node k's replies in order. By index: a redirect to a node not seen
 * before adds it, which may move the nodes array. */
static void read_part(struct exec *x, size_t k)
{
    struct rcl *c = x->c;
    void *v;

    for (size_t e = 0; e < c->nodes[k].nents; e++) {
        struct rnode *n = &c->nodes[k];
        const struct ent en = n->ents[e];
        redisReply *r;

        if (redisGetReply(n->ctx, &v) != REDIS_OK || v == NULL) {
            node_broke(x, n, e, 1);
            return;
        }
        r = v;
        if (en.kind == E_CMD) {
            on_reply(x, en.cmd, r);
        } else if (en.kind == E_WAIT) {
            if (r->type != REDIS_REPLY_INTEGER || r->integer < n->wait_want)
                mark_unreplicated(x, n, e);
            freeReplyObject(r);
        } else {
            /* ASKING and SCRIPT LOAD: the command's own reply tells. */
            freeReplyObject(r);
        }
    }
    STATS_INC(c->st.round_trips);
}

static void sleep_usec(uint64_t us)
{
    struct timespec ts = { (time_t)(us / 1000000u), (long)(us % 1000000u) * 1000 };

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* One round: every command whose turn it is, written per node at once,
 * then the replies read. */
static void round_once(struct exec *x)
{
    struct rcl *c = x->c;
    char wms[16];
    const char *wait[] = { "WAIT", NULL, wms };
    char nrep[16];

    for (size_t k = 0; k < c->nnodes; k++) {
        c->nodes[k].nents = 0;
        c->nodes[k].broken = 0;
    }
    for (size_t i = 0; i < x->n; i++) {
        struct cstate *cs = &x->cs[i];
        cs->node = -1;
        if (cs->done || (cs->prev >= 0 && !x->cs[cs->prev].done))
            continue;
        queue_cmd(x, i);
    }
    snprintf(wms, sizeof wms, "%d", c->wait_msec);
    wait[1] = nrep;
    for (size_t k = 0; k < c->nnodes; k++) {
        struct rnode *n = &c->nodes[k];
        if (n->nents == 0)
            continue;
        if (n->ctx == NULL) {
            /* Dropped while its part was built (out of memory). */
            node_broke(x, n, 0, 0);
            continue;
        }
        /* As many replicas as asked, but no more than the node's master
         * has online: a master left without replicas after a failover
         * would otherwise mark everything unreplicated. */
        n->wait_want = c->wait_replicas < n->replicas ? c->wait_replicas : n->replicas;
        snprintf(nrep, sizeof nrep, "%d", n->wait_want);
        if (n->wait_want > 0 &&
            (redisAppendCommandArgv(n->ctx, 3, wait, NULL) != REDIS_OK || ent_add(n, 0, E_WAIT) < 0)) {
            node_broke(x, n, 0, 0);
            continue;
        }
        write_part(x, n);
    }
    for (size_t k = 0; k < c->nnodes; k++)
        if (c->nodes[k].nents && !c->nodes[k].broken && c->nodes[k].ctx)
            read_part(x, k);
}

size_t rcl_exec(struct rcl *c, const struct rcl_cmd *cmds, size_t n, struct rcl_result *res)
{
    struct exec x = { c, cmds, n, res, NULL, n, 0 };
    uint64_t backoff = c->retry_usec;
    size_t ok = 0;

    memset(res, 0, n * sizeof *res);
    if (n == 0)
        return 0;
    x.cs = calloc(n, sizeof *x.cs);
    if (x.cs == NULL || prepare(&x) < 0) {
        for (size_t i = 0; i < n; i++)
            if (res[i].reply == NULL) {
                res[i].status = RCL_NOT_SENT;
                res[i].reply = mkerr("NOTSENT out of memory");
            }
        free(x.cs);
        return 0;
    }
    while (x.pending) {
        if (x.wait) {
            sleep_usec(backoff);
            backoff = backoff * 2 > c->retry_max_usec ? c->retry_max_usec : backoff * 2;
            x.wait = 0;
        }
        if (c->cluster && (c->map_stale || !c->map_ok) && refresh_map(c) < 0 && c->not_cluster) {
            for (size_t i = 0; i < n; i++)
                if (!x.cs[i].done)
                    finish(&x, i, RCL_NOT_SENT, mkerr("NOTSENT %s", c->err));
            break;
        }
        round_once(&x);
    }
    free(x.cs);
    for (size_t i = 0; i < n; i++)
        ok += res[i].status == RCL_OK;
    return ok;
}

/* ------------------------------------------------------------------ counters */

#define CM(member, name, help, kind) \
    { "redis_cluster/" #member, "linkwatch_redis_cluster_" name, NULL, help, \
      (uint32_t)offsetof(struct rcl_stats, member), kind, STATS_SUM, STATS_NOEVE, 0, NULL }
static const struct stats_field rcl_fields[] = {
    CM(nodes, "nodes", "Redis nodes in the slot map (1 for a single server).", STATS_GAUGE),
    CM(masters, "masters", "Redis nodes that own slots.", STATS_GAUGE),
    CM(map_refreshes, "slot_map_refreshes_total", "Cluster slot maps read (start, MOVED, a lost node).",
       STATS_COUNTER),
    CM(moved, "moved_total", "MOVED redirects followed.", STATS_COUNTER),
    CM(ask, "ask_total", "ASK redirects followed.", STATS_COUNTER),
    CM(redirects, "redirects_total", "Redirects followed (MOVED and ASK).", STATS_COUNTER),
    CM(tryagain, "tryagain_total", "TRYAGAIN replies (resent after a wait).", STATS_COUNTER),
    CM(clusterdown, "clusterdown_total", "CLUSTERDOWN replies (resent after a wait).", STATS_COUNTER),
    CM(failovers, "failovers_total", "Failovers seen: slots moved to a node that was a replica.",
       STATS_COUNTER),
    CM(node_failures, "node_failures_total", "Connections to Redis nodes refused or lost.", STATS_COUNTER),
    CM(script_loads, "script_loads_total", "Scripts loaded again after NOSCRIPT.", STATS_COUNTER),
    CM(round_trips, "round_trips_total", "Pipelines written to one node and answered.", STATS_COUNTER),
    CM(commands, "commands_total", "Commands written to Redis nodes (resends included).", STATS_COUNTER),
    CM(refused, "refused_total", "Commands refused before sending (keys in several slots, unknown).",
       STATS_COUNTER),
    CM(failed, "failed_total", "Commands reported to the caller as not applied or in doubt.",
       STATS_COUNTER),
    CM(unreplicated, "unreplicated_total", "Commands answered while WAIT saw too few replicas.",
       STATS_COUNTER),
};
#undef CM

const struct stats_module rcl_stats_module = {
    "redis_cluster", rcl_fields, STATS_NELEM(rcl_fields), sizeof(struct rcl_stats), NULL
};
