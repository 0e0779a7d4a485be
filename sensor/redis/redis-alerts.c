/* redis-alerts.c - the redis exporter; see redis-alerts.h. */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "redis-alerts.h"
#include "alert-index.h"
#include "redis-ctx.h"
#include "log.h"
#include "spool.h"

#define ALERTS_PER_CMD  256          /* alerts per script call */

#define CNT_ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)
#define CNT_GET(x)    __atomic_load_n(&(x), __ATOMIC_RELAXED)

struct redis_alerts {
    struct exporter *x;
    struct rconn conn;
    struct rcx *cx;                  /* the same client, for the stream's trimming */
    struct rkeys rk;
    char *prefix, *sensor;
    uint64_t alerts_maxlen, flows_maxlen;
    uint64_t gen;                    /* connection whose alerts-seq was read */
    struct rbatch out;               /* the pipeline being built */
    struct ralert *recs;             /* the batch's alerts */
    size_t *at;                      /* their index in the batch */
    size_t cap;
    long long *replies;
    size_t creplies;
    struct {                         /* written by the exporter thread, read by anyone */
        uint64_t alerts_sent, alerts_duplicate, flows_sent, flows_dropped;
    } st;
};

/* Learns the last sequence number Redis has from this sensor, so that
 * alerts numbered from now on are above it (a clock set back between two
 * runs would otherwise have Redis drop them as repeats). With a stream of
 * its own, files it in the set of shards the console reads. Returns 0 or
 * -1 (connection dropped). */
static int learn_seq(struct redis_alerts *r)
{
    char key[RKEY_MAX];
    const char *argv[3] = { "HGET", key, r->sensor };
    redisReply *rep;

    if (r->rk.shard) {
        const char *sadd[3] = { "SADD", key, r->sensor };

        rkey_named(key, sizeof key, &r->rk, "shards");
        if ((rep = rconn_command(&r->conn, "SADD", 3, sadd)) == NULL)
            return -1;
        freeReplyObject(rep);
    }
    rkey_named(key, sizeof key, &r->rk, "alerts-seq");
    if ((rep = rconn_command(&r->conn, "HGET", 3, argv)) == NULL)
        return -1;
    if (rep->type == REDIS_REPLY_STRING) {
        uint64_t seq = strtoull(rep->str, NULL, 10);

        if (seq > __atomic_load_n(&r->x->seq_floor, __ATOMIC_RELAXED))
            __atomic_store_n(&r->x->seq_floor, seq, __ATOMIC_RELAXED);
    }
    freeReplyObject(rep);
    r->gen = r->conn.generation;
    return 0;
}

/* Room for n events' bookkeeping. Returns 0 or -1. */
static int reserve(struct redis_alerts *r, size_t n)
{
    struct ralert *recs;
    size_t *at;

    if (n <= r->cap)
        return 0;
    recs = realloc(r->recs, n * sizeof *recs);
    if (recs == NULL)
        return -1;
    r->recs = recs;
    at = realloc(r->at, n * sizeof *at);
    if (at == NULL)
        return -1;
    r->at = at;
    r->cap = n;
    return 0;
}

/* XADD of one ended flow (best effort). */
static void add_flow(struct redis_alerts *r, const char *key, size_t klen, const struct exporter_event *ev)
{
    rbatch_begin(&r->out, RC_BEST);
    rbatch_str(&r->out, "XADD");
    rbatch_arg(&r->out, key, klen);
    if (r->flows_maxlen) {
        rbatch_str(&r->out, "MAXLEN");
        rbatch_str(&r->out, "~");
        rbatch_u64(&r->out, r->flows_maxlen);
    }
    rbatch_str(&r->out, "*");
    rbatch_str(&r->out, "sensor");
    rbatch_str(&r->out, r->sensor);
    rbatch_str(&r->out, "event");
    rbatch_arg(&r->out, ev->line, ev->len);
}

/* Builds the batch's pipeline into r->out: the alerts' script calls, then
 * one XADD per flow (at[na..) their event indices). Returns the number of
 * alerts, or -1 when out of memory. */
static long build(struct redis_alerts *r, const struct exporter_event *ev, size_t n)
{
    char key[RKEY_MAX];
    size_t na = 0, klen;

    if (reserve(r, n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].type != EVT_ALERT)
            continue;
        r->recs[na] = (struct ralert){ ev[i].seq, ev[i].line, ev[i].len };
        r->at[na++] = i;
    }
    rbatch_reset(&r->out);
    rcmd_alerts(&r->out, &r->rk, r->conn.sha_alert, r->alerts_maxlen, r->recs, na, 0, ALERTS_PER_CMD);
    klen = rkey_named(key, sizeof key, &r->rk, "flows");
    for (size_t i = 0, k = na; i < n; i++)
        if (ev[i].type == EVT_FLOW) {
            add_flow(r, key, klen, &ev[i]);
            r->at[k++] = i;
        }
    if (r->out.oom)
        return -1;
    if (r->out.ncmds > r->creplies) {
        long long *rep = realloc(r->replies, r->out.ncmds * sizeof *rep);

        if (rep == NULL)
            return -1;
        r->replies = rep;
        r->creplies = r->out.ncmds;
    }
    return (long)na;
}

static size_t count_flows(const struct exporter_event *ev, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        k += ev[i].type == EVT_FLOW;
    return k;
}

/* The writer trims the stream, not XADD MAXLEN, so that the alert indexes
 * lose the trimmed ids in the same call (alert-index.h). */
static void trim_alerts(struct redis_alerts *r)
{
    char why[300] = "alerts trim: ";

    if (r->alerts_maxlen && r->conn.up &&
        aix_trim(r->cx, &r->rk, r->alerts_maxlen, why + 13, sizeof why - 13) < 0)
        rconn_drop(&r->conn, why);
}

/* One pipeline for the batch; see exporter.h. An alert command Redis
 * refused fails its alerts and drops the connection; the ones after it that
 * Redis took are handed in again later and dropped by Redis as repeats.
 * Unanswered ones (a node down, a failover, a master no replica followed)
 * fail too and go to the spool; as all of a sensor's alerts are on one
 * key, the ones Redis has are a prefix, and the spool's replay adds the
 * rest once each. */
static void redis_write_batch(struct exporter *x, const struct exporter_event *ev, size_t n,
                              unsigned char *ok)
{
    struct redis_alerts *r = x->priv;
    size_t nflows = count_flows(ev, n), cmd, flow0;
    int refused = 0;
    long na;

    memset(ok, 0, n);
    if (!rconn_ensure(&r->conn) || (r->gen != r->conn.generation && learn_seq(r) < 0)) {
        CNT_ADD(r->st.flows_dropped, nflows);
        return;
    }
    if ((na = build(r, ev, n)) < 0) {
        log_error("redis: out of memory building a pipeline of %zu events", n);
        CNT_ADD(r->st.flows_dropped, nflows);
        return;
    }
    rconn_pipeline(&r->conn, &r->out, r->replies);
    flow0 = r->out.ncmds - nflows;
    for (cmd = 0; cmd < flow0; cmd++) {
        const struct rcmd *c = &r->out.cmds[cmd];

        if (r->replies[cmd] < 0) {
            refused |= r->replies[cmd] == RCONN_ERROR;
            continue;
        }
        for (size_t k = c->rec0; k < c->rec0 + c->nrec; k++)
            ok[r->at[k]] = 1;
        CNT_ADD(r->st.alerts_sent, c->nrec);
        if ((uint64_t)r->replies[cmd] < c->nrec)
            CNT_ADD(r->st.alerts_duplicate, c->nrec - (uint64_t)r->replies[cmd]);
    }
    for (size_t k = 0; k < nflows; k++, cmd++) {
        int sent = r->replies[cmd] >= 0;

        ok[r->at[(size_t)na + k]] = (unsigned char)sent;
        CNT_ADD(*(sent ? &r->st.flows_sent : &r->st.flows_dropped), 1);
    }
    if (refused && r->conn.up)
        rconn_drop(&r->conn, "Redis refused alerts (error reply above)");
    else if (na > 0)
        trim_alerts(r);
}

static int redis_write_event(struct exporter *x, const struct exporter_event *ev)
{
    unsigned char ok;

    redis_write_batch(x, ev, 1, &ok);
    return ok ? 0 : -1;
}

static int redis_noop(struct exporter *x)
{
    return 0;
}

static void redis_close(struct exporter *x)
{
    struct redis_alerts *r = x->priv;

    rcx_free(r->cx);
    rconn_fini(&r->conn);
    rbatch_free(&r->out);
    free(r->recs);
    free(r->at);
    free(r->replies);
    free(r->prefix);
    free(r->sensor);
    free(r);
    free(x);
}

static const struct exporter_ops redis_ops = {
    .write_event = redis_write_event,
    .write_batch = redis_write_batch,
    .flush = redis_noop,
    .reopen = redis_noop,
    .close = redis_close,
};

/* Does not connect: the first batch does. Fails only for memory. */
static struct exporter *redis_open(const struct exporter_params *p, char *err, size_t errlen)
{
    const struct lw_config *cfg = p->cfg;
    struct exporter *x = calloc(1, sizeof *x);
    struct redis_alerts *r = calloc(1, sizeof *r);

    if (!x || !r) {
        free(x);
        free(r);
        snprintf(err, errlen, "redis: out of memory");
        return NULL;
    }
    x->ops = &redis_ops;
    x->types = p->types;
    x->priv = r;
    r->x = x;
    rbatch_init(&r->out);
    r->prefix = strdup(cfg->redis.prefix);
    r->sensor = strdup(cfg->sensor_id);
    snprintf(err, errlen, "redis: out of memory");
    if (!r->prefix || !r->sensor || rconn_init(&r->conn, cfg, "alerts go to the spool", err, errlen) < 0 ||
        (r->cx = rcx_wrap(r->conn.rc)) == NULL) {
        redis_close(x);
        return NULL;
    }
    err[0] = '\0';
    r->rk = (struct rkeys){
        .prefix = r->prefix, .sensor = r->sensor, .ttl_minute = cfg->redis.retention_minute,
        .ttl_hour = cfg->redis.retention_hour, .top_k = cfg->redis.top_hosts, .merged = cfg->redis.merged_view,
        .shard = redis_alerts_per_sensor(cfg) ? r->sensor : NULL,
    };
    r->alerts_maxlen = cfg->redis.alerts_stream_maxlen;
    r->flows_maxlen = cfg->redis.flows_stream_maxlen;
    /* At the end of a run, Redis gets as long to come back as it had before. */
    x->drain_grace_usec = 2 * (uint64_t)cfg->redis.connect_timeout * 1000000u;
    return x;
}

static int redis_enabled(const struct exporter_params *p, uint32_t *types)
{
    *types = 1u << EVT_ALERT | (p->cfg->redis.flows_stream ? 1u << EVT_FLOW : 0);
    return p->cfg->redis.enabled;
}

static void redis_spool(const struct exporter_params *p, struct spool_config *sc)
{
    *sc = (struct spool_config){
        .dir = p->cfg->redis.spool_dir, .id = p->cfg->sensor_id,
        .max_bytes = p->cfg->redis.spool_max_size, .dir_key = "redis.spool-dir",
        .size_key = "redis.spool-max-size", .own_dir = 1,
    };
}

int redis_alerts_per_sensor(const struct lw_config *cfg)
{
    const char *l = cfg->redis.alerts_layout;

    return strcmp(l, "per-sensor") == 0 || (strcmp(l, "auto") == 0 && cfg->redis.cluster.n > 0);
}

int redis_alerts_stats(const struct exporter *x, struct redis_alert_stats *st)
{
    const struct redis_alerts *r;

    memset(st, 0, sizeof *st);
    if (x == NULL || x->ops != &redis_ops)
        return -1;
    r = x->priv;
    st->alerts_sent = CNT_GET(r->st.alerts_sent);
    st->alerts_duplicate = CNT_GET(r->st.alerts_duplicate);
    st->flows_sent = CNT_GET(r->st.flows_sent);
    st->flows_dropped = CNT_GET(r->st.flows_dropped);
    rconn_get_stats(&r->conn, &st->conn);
    rconn_add_cluster_stats(&r->conn, &st->cluster);
    return 0;
}

/* redis.*: the connection, the key layout, the alerts and flows streams,
 * the tallies (tally-flush.h) and the spool. Shared: the values land in
 * struct lw_config's redis member. */
static const char *const alerts_layouts[] = { "auto", "shared", "per-sensor", NULL };
#define RKEY(p, t, m)            CFG_KTXT(p, t, struct lw_config, redis.m)
#define RNUM(p, t, m, lo, hi)    CFG_KNUM(p, t, struct lw_config, redis.m, lo, hi)
static const struct cfg_key redis_keys[] = {
    RKEY("enabled", CFG_BOOL, enabled),
    RKEY("server", CFG_NONEMPTY, server),
    RNUM("port", CFG_UINT, port, 1, 65535),
    RKEY("cluster", CFG_STRLIST, cluster),
    RNUM("wait-replicas", CFG_UINT, wait_replicas, 0, 16),
    CFG_KSET("alerts-layout", CFG_ENUM, struct lw_config, redis.alerts_layout, alerts_layouts),
    RKEY("username", CFG_STRING, username),
    RKEY("password", CFG_STRING, password),
    RKEY("password-file", CFG_STRING, password_file),
    RNUM("db", CFG_UINT, db, 0, 65535),
    CFG_KMAP("timeouts"),
    RNUM("timeouts.connect", CFG_DURATION, connect_timeout, 1, 300),
    RNUM("timeouts.command", CFG_DURATION, command_timeout, 1, 300),
    RNUM("reconnect-max", CFG_DURATION, reconnect_max, 1, 3600),
    RKEY("prefix", CFG_IDENT, prefix),
    RNUM("flush-interval", CFG_DURATION, flush_interval, 1, 3600),
    RNUM("alerts-stream-maxlen", CFG_UINT, alerts_stream_maxlen, 0, 1000000000),
    CFG_KMAP("flows-stream"),
    RKEY("flows-stream.enabled", CFG_BOOL, flows_stream),
    RNUM("flows-stream.maxlen", CFG_UINT, flows_stream_maxlen, 0, 1000000000),
    RNUM("top-hosts", CFG_UINT, top_hosts, 1, 1000000),
    RKEY("merged-view", CFG_BOOL, merged_view),
    RNUM("max-keys", CFG_UINT, max_keys, 64, 16777216),
    RNUM("pending-max-keys", CFG_UINT, pending_max_keys, 1024, 100000000),
    CFG_KMAP("retention"),
    RNUM("retention.minute", CFG_DURATION, retention_minute, 1, 3650 * CFG_DAY),
    RNUM("retention.hour", CFG_DURATION, retention_hour, 1, 3650 * CFG_DAY),
    RKEY("spool-dir", CFG_NONEMPTY, spool_dir),
    RNUM("spool-max-size", CFG_SIZE, spool_max_size, 1 * CFG_KB, 1024 * CFG_GB),
};

const struct exporter_def redis_alert_exporter = {
    .name = "redis",
    .config = CFG_SECTION_SHARED("redis", redis_keys),
    .enabled = redis_enabled,
    .open = redis_open,
    .spool = redis_spool,
};
