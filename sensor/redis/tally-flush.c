/* tally-flush.c - the tally flusher thread; see tally-flush.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tally-flush.h"
#include "redis-cluster.h"
#include "exporters.h"
#include "redis-alerts.h"
#include "redis-cmd.h"
#include "redis-conn.h"
#include "autoconf.h"
#include "log.h"
#include "util.h"

#define MAX_TALLIES   260     /* the workers (at most 256) and the capture thread */

struct tally_flush {
    /* Configuration, fixed at start. */
    struct rkeys rk;
    char *prefix, *sensor;
    uint64_t flush_usec;
    int cluster;                     /* redis.cluster: a Redis Cluster */
    struct rcl_stats cluster_final;  /* the client's counters once it is gone (under lock) */
    int conn_gone;                   /* under lock: conn's client is freed */
    const struct output *out;        /* the redis exporter's counters */

    /* Shared with the sensor's thread, under lock. */
    pthread_mutex_t lock;
    pthread_cond_t wake;             /* the thread: a tick, finish */
    struct tally *tallies[MAX_TALLIES];
    size_t ntallies;
    struct redis_health health;
    int kick;                        /* collect and flush now (tally_flush_finish) */
    int finishing, finished;
    struct redis_stats pub;          /* the thread's counters as of its last round */
    atomic_int health_want;
    pthread_t thread;
    int started;

    /* The thread's own. */
    struct rconn conn;
    struct redis_stats st;
    struct tally_table *pending;     /* deltas not sent yet */
    struct rbatch indoubt;           /* tally commands sent without an answer, oldest first */
    struct rbatch out_b;             /* the pipeline being built */
    uint64_t last_fid;
    uint64_t last_drops;
    uint64_t gauge_active;
    uint32_t gauge_bucket;
    int have_gauge;
};

/* What one round works on, taken from the shared part under the lock. */
struct round {
    struct redis_health health;
    struct tally *tallies[MAX_TALLIES];
    size_t ntallies;
    int tick;                        /* collect tallies, send status */
    int final;                       /* finishing: send whatever is pending */
};

static uint64_t mono(void)
{
    return lw_now_mono_usec();
}

static void abstime(struct timespec *ts, uint64_t usec_from_now)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(usec_from_now / 1000000u);
    ts->tv_nsec += (long)(usec_from_now % 1000000u) * 1000;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Flush ids: microseconds since the epoch, made to increase, so they keep
 * increasing across restarts. */
static uint64_t next_id(uint64_t *last)
{
    uint64_t now = lw_now_real_usec();

    *last = now > *last ? now : *last + 1;
    return *last;
}

/* The redis exporter's counters, and its spool's as the output counts them. */
struct alert_side {
    struct redis_alert_stats x;
    struct output_exporter_stats spool;
};

static void alert_side(const struct tally_flush *tf, struct alert_side *a)
{
    redis_alerts_stats(output_find(tf->out, redis_alert_exporter.name), &a->x);
    if (output_exporter_stats(tf->out, redis_alert_exporter.name, &a->spool) < 0)
        memset(&a->spool, 0, sizeof a->spool);
}

/* ------------------------------------------------------------------ collecting */

/* Takes every table the workers handed over into the pending store and asks
 * for the next ones. */
static void collect_tallies(struct tally_flush *tf, struct tally **t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct tally_table *tt = tally_take(t[i]);

        if (tt) {
            tf->st.tally_keys_other += tally_table_merge(tf->pending, tt);
            tally_release(t[i], tt);
        }
        tally_request_swap(t[i]);
    }
}

/* Drops since the last snapshot into the pending store; keeps the gauge. */
static void collect_health(struct tally_flush *tf, const struct redis_health *h)
{
    struct tally_key k;
    struct tally_sums s = { 0 };

    if (h->ts_usec == 0)
        return;
    if (h->drops > tf->last_drops) {
        tally_key_health(&k);
        k.bucket = tally_bucket(h->ts_usec);
        s.events = h->drops - tf->last_drops;
        tf->st.tally_keys_other += (uint64_t)tally_table_add(tf->pending, &k, &s);
        tf->last_drops = h->drops;
    }
    tf->gauge_active = h->flows_active;
    tf->gauge_bucket = tally_bucket(h->ts_usec);
    tf->have_gauge = 1;
}

/* The sensor's status hash and its entry in the sensors set (best effort). */
static void add_status(struct tally_flush *tf, const struct redis_health *h)
{
    struct rbatch *b = &tf->out_b;
    struct alert_side as;
    char key[RKEY_MAX];
    uint64_t now = lw_now_real_usec() / 1000000u;

    alert_side(tf, &as);
    rbatch_begin(b, RC_BEST);
    rbatch_str(b, "HSET");
    rbatch_arg(b, key, rkey_named(key, sizeof key, &tf->rk, "sensor"));
#define FIELD(name, v) do { rbatch_str(b, name); rbatch_u64(b, (v)); } while (0)
    rbatch_str(b, "version");
    rbatch_str(b, PACKAGE_VERSION);
    FIELD("updated", now);
    FIELD("capture_ts", h->ts_usec / 1000000u);
    FIELD("packets", h->packets);
    FIELD("bytes", h->bytes);
    FIELD("drops", h->drops);
    FIELD("flows_active", h->flows_active);
    FIELD("flows", h->flows_created);
    FIELD("alerts", h->alerts);
    FIELD("alerts_spooled", as.spool.spool_pending);
    FIELD("alerts_spool_full", as.spool.spool_lost);
    FIELD("alerts_queue_full", 0);
    FIELD("tally_pending_keys", tally_table_used(tf->pending));
    FIELD("tally_keys_other", tf->st.tally_keys_other);
    FIELD("reconnects", tf->st.reconnects + as.x.conn.reconnects);
    if (tf->cluster) {
        struct rcl_stats cs;

        tally_flush_cluster_stats(tf, &cs);
        FIELD("cluster_nodes", cs.nodes);
        FIELD("cluster_masters", cs.masters);
        FIELD("cluster_slot_map_refreshes", cs.map_refreshes);
        FIELD("cluster_redirects", cs.redirects);
        FIELD("cluster_moved", cs.moved);
        FIELD("cluster_ask", cs.ask);
        FIELD("cluster_tryagain", cs.tryagain);
        FIELD("cluster_failovers", cs.failovers);
        FIELD("cluster_node_failures", cs.node_failures);
        FIELD("cluster_unreplicated", cs.unreplicated);
    }
#undef FIELD
    rbatch_begin(b, RC_BEST);
    rbatch_str(b, "EXPIRE");
    rbatch_arg(b, key, strlen(key));
    rbatch_u64(b, tf->rk.ttl_minute);
    rbatch_begin(b, RC_BEST);
    rbatch_str(b, "ZADD");
    rbatch_arg(b, key, rkey_named(key, sizeof key, &tf->rk, "sensors"));
    rbatch_u64(b, now);
    rbatch_str(b, tf->sensor);
    /* Sensors not heard of for the hour retention leave the set. */
    rbatch_begin(b, RC_BEST);
    rbatch_str(b, "ZREMRANGEBYSCORE");
    rbatch_arg(b, key, strlen(key));
    rbatch_str(b, "-inf");
    rbatch_u64(b, now > tf->rk.ttl_hour ? now - tf->rk.ttl_hour : 0);
}

/* ------------------------------------------------------------------ one round */

/* After a pipeline of tf->out_b: tally commands without an answer (or
 * that no replica took in time) are kept in doubt (resent first, as they
 * are: the script applies each once); error replies to tallies are given
 * up, counted. */
static void settle(struct tally_flush *tf, const long long *replies)
{
    const struct rbatch *b = &tf->out_b;
    struct rbatch keep;

    rbatch_init(&keep);
    for (size_t i = 0; i < b->ncmds; i++) {
        const struct rcmd *c = &b->cmds[i];

        if (c->kind != RC_TALLY)
            continue;
        if (replies[i] == RCONN_UNANSWERED)
            rbatch_copy(&keep, b, i);
        else if (replies[i] < 0)
            tf->st.tally_cmds_lost++;
        else if (replies[i] == 0)
            tf->st.tally_repeats++;
    }
    if (keep.oom) {
        log_error("redis: out of memory keeping %zu unanswered tally commands; given up",
                  keep.ncmds);
        tf->st.tally_cmds_lost += keep.ncmds;
        rbatch_reset(&keep);
    }
    rbatch_free(&tf->indoubt);
    tf->indoubt = keep;
}

/* Builds this round's pipeline into tf->out_b: commands in doubt first,
 * then the pending tallies and the gauge, the status. Returns 0, or -1 when
 * out of memory (nothing taken from the pending store then). */
static int build(struct tally_flush *tf, const struct round *rd)
{
    uint64_t fid = 0;

    rbatch_reset(&tf->out_b);
    for (size_t i = 0; i < tf->indoubt.ncmds; i++)
        rbatch_copy(&tf->out_b, &tf->indoubt, i);
    if (rd->tick || rd->final) {
        fid = next_id(&tf->last_fid);
        if (rcmd_tallies(&tf->out_b, &tf->rk, tf->conn.sha_tally, tf->pending, fid))
            tf->st.flushes++;
        if (tf->have_gauge)
            rcmd_gauge(&tf->out_b, &tf->rk, tf->conn.sha_tally, tf->gauge_bucket, "flows_active",
                       tf->gauge_active, fid);
        if (rd->tick)
            add_status(tf, &rd->health);
    }
    if (tf->out_b.oom)
        return -1;
    if (fid) {
        tally_table_reset(tf->pending);
        tf->have_gauge = 0;
    }
    return 0;
}

static void sync_conn_stats(struct tally_flush *tf)
{
    struct rconn_stats cs;

    rconn_get_stats(&tf->conn, &cs);
    tf->st.round_trips = cs.round_trips;
    tf->st.commands = cs.commands;
    tf->st.reconnects = cs.reconnects;
    tf->st.errors = cs.errors;
}

/* One round: tallies collected on a tick; then, when connected, everything
 * sent in one pipeline. Returns 1 when a pipeline was answered in full, 0
 * otherwise. */
static int run_round(struct tally_flush *tf, struct round *rd)
{
    long long *replies;
    size_t acked;

    if (rd->tick) {
        collect_tallies(tf, rd->tallies, rd->ntallies);
        collect_health(tf, &rd->health);
    }
    if (!rconn_ensure(&tf->conn))
        return 0;
    if (build(tf, rd) < 0 || (replies = calloc(tf->out_b.ncmds + 1, sizeof *replies)) == NULL) {
        log_error("redis: out of memory building a pipeline; tallies kept");
        return 0;
    }
    acked = rconn_pipeline(&tf->conn, &tf->out_b, replies);
    settle(tf, replies);
    free(replies);
    return acked == tf->out_b.ncmds && tf->conn.up;
}

/* ------------------------------------------------------------------ the thread */

static int work_left(struct tally_flush *tf)
{
    return tf->indoubt.ncmds || tally_table_used(tf->pending) || tf->have_gauge;
}

/* Waits for something to do; returns with the lock held and rd filled. */
static void wait_work(struct tally_flush *tf, struct round *rd, uint64_t *next_flush)
{
    struct timespec ts;
    uint64_t now, until;

    pthread_mutex_lock(&tf->lock);
    for (;;) {
        now = mono();
        if (tf->finishing || tf->kick || now >= *next_flush)
            break;
        until = *next_flush;
        if (!tf->conn.up && work_left(tf)) {
            if (now >= tf->conn.next_attempt)
                break;
            if (tf->conn.next_attempt < until)
                until = tf->conn.next_attempt;
        }
        abstime(&ts, until - now);
        pthread_cond_timedwait(&tf->wake, &tf->lock, &ts);
    }
    rd->tick = now >= *next_flush || tf->kick || (tf->finishing && !rd->final);
    rd->final = tf->finishing;
    if (rd->tick) {
        *next_flush = now + tf->flush_usec;
        atomic_store_explicit(&tf->health_want, 1, memory_order_relaxed);
    }
    tf->kick = 0;
    rd->health = tf->health;
    rd->ntallies = tf->ntallies;
    memcpy(rd->tallies, tf->tallies, tf->ntallies * sizeof *tf->tallies);
}

/* What could not be delivered by the end: said, never silent. */
static void report_left(struct tally_flush *tf)
{
    uint64_t keys = tally_table_used(tf->pending);

    if (keys || tf->indoubt.ncmds)
        log_error("redis: Redis unreachable at exit: %llu tally key(s) and %zu tally command(s) "
                  "not delivered (lost; eve.json has the flows)", (unsigned long long)keys,
                  tf->indoubt.ncmds);
    tf->st.tally_cmds_lost += tf->indoubt.ncmds;
}

static void *flush_thread(void *arg)
{
    struct tally_flush *tf = arg;
    struct round rd;
    uint64_t next_flush = mono() + tf->flush_usec, deadline = 0;
    uint64_t grace = 2 * ((uint64_t)tf->conn.tv_connect.tv_sec * 1000000u +
                          (uint64_t)tf->conn.tv_connect.tv_usec);
    int progress;

    pthread_setname_np(pthread_self(), "lw-redis-flush");
    memset(&rd, 0, sizeof rd);
    for (;;) {
        wait_work(tf, &rd, &next_flush);
        pthread_mutex_unlock(&tf->lock);
        progress = run_round(tf, &rd);
        sync_conn_stats(tf);
        pthread_mutex_lock(&tf->lock);
        tf->pub = tf->st;
        pthread_mutex_unlock(&tf->lock);
        if (!rd.final)
            continue;
        /* Finishing: on while Redis takes things, for a grace period without progress. */
        if (!deadline || progress)
            deadline = mono() + grace;
        if (!work_left(tf) || mono() >= deadline)
            break;
        if (!rconn_due(&tf->conn)) {
            uint64_t nap = tf->conn.next_attempt - mono();

            usleep((useconds_t)(nap < 200000u ? nap : 200000u));
        }
    }
    report_left(tf);
    /* The routing client's counters outlive it, for the summary. */
    pthread_mutex_lock(&tf->lock);
    rconn_add_cluster_stats(&tf->conn, &tf->cluster_final);
    tf->conn_gone = 1;
    pthread_mutex_unlock(&tf->lock);
    rconn_fini(&tf->conn);
    pthread_mutex_lock(&tf->lock);
    tf->finished = 1;
    tf->pub = tf->st;
    pthread_mutex_unlock(&tf->lock);
    return NULL;
}

/* ------------------------------------------------------------------ the sensor's side */

int tally_flush_add_tally(struct tally_flush *tf, struct tally *t)
{
    int rc = -1;

    pthread_mutex_lock(&tf->lock);
    if (tf->ntallies < MAX_TALLIES && !tf->finishing) {
        tf->tallies[tf->ntallies++] = t;
        tally_request_swap(t);
        rc = 0;
    }
    pthread_mutex_unlock(&tf->lock);
    return rc;
}

int tally_flush_health_wanted(struct tally_flush *tf)
{
    return atomic_load_explicit(&tf->health_want, memory_order_relaxed);
}

void tally_flush_set_health(struct tally_flush *tf, const struct redis_health *h)
{
    atomic_store_explicit(&tf->health_want, 0, memory_order_relaxed);
    pthread_mutex_lock(&tf->lock);
    tf->health = *h;
    pthread_mutex_unlock(&tf->lock);
}

/* Lets the thread finish and waits for it. */
static void flush_stop(struct tally_flush *tf)
{
    if (!tf->started)
        return;
    pthread_mutex_lock(&tf->lock);
    tf->finishing = 1;
    pthread_cond_signal(&tf->wake);
    pthread_mutex_unlock(&tf->lock);
    pthread_join(tf->thread, NULL);
    tf->started = 0;
}

void tally_flush_finish(struct tally_flush *tf, uint64_t now_usec)
{
    uint64_t until = mono() + 5000000u;
    size_t n;

    if (!tf->started)
        return;
    pthread_mutex_lock(&tf->lock);
    n = tf->ntallies;
    pthread_mutex_unlock(&tf->lock);
    /* The other table may wait in the hand-off for the next flush: ask for
     * a collection until the last swap goes through. */
    for (size_t i = 0; i < n; i++) {
        while (tally_swap(tf->tallies[i], now_usec) < 0) {
            if (mono() >= until) {
                log_error("redis: the last tally interval of worker %zu could not be handed over "
                          "(the Redis thread is stuck); its counts are not sent", i);
                break;
            }
            pthread_mutex_lock(&tf->lock);
            tf->kick = 1;
            pthread_cond_signal(&tf->wake);
            pthread_mutex_unlock(&tf->lock);
            usleep(1000);
        }
    }
    flush_stop(tf);
}

void tally_flush_stats(struct tally_flush *tf, struct redis_stats *st)
{
    struct alert_side as;

    pthread_mutex_lock(&tf->lock);
    *st = tf->pub;
    pthread_mutex_unlock(&tf->lock);
    alert_side(tf, &as);
    st->round_trips += as.x.conn.round_trips;
    st->commands += as.x.conn.commands;
    st->reconnects += as.x.conn.reconnects;
    st->errors += as.x.conn.errors;
    st->alerts_sent = as.x.alerts_sent;
    st->alerts_duplicate = as.x.alerts_duplicate;
    st->alerts_spooled = as.spool.spooled;
    st->alerts_spool_full = as.spool.spool_lost;
    st->alerts_queue_full = 0;
    st->alerts_in_spool = as.spool.spool_pending;
    st->flows_sent = as.x.flows_sent;
    st->flows_dropped = as.x.flows_dropped;
}

void tally_flush_cluster_stats(struct tally_flush *tf, struct rcl_stats *st)
{
    struct alert_side as;

    alert_side(tf, &as);
    *st = as.x.cluster;
    /* Locked: the flusher thread frees its client at the end (after
     * keeping its counters in cluster_final). */
    pthread_mutex_lock(&tf->lock);
    if (tf->conn_gone)
        rconn_add_cluster_stats_from(&tf->cluster_final, st);
    else
        rconn_add_cluster_stats(&tf->conn, st);
    pthread_mutex_unlock(&tf->lock);
}

void tally_flush_print_summary(struct tally_flush *tf, FILE *fp)
{
    struct redis_stats st;

    tally_flush_stats(tf, &st);
    fprintf(fp, "  redis: %llu round trips, %llu commands, %llu flushes; alerts %llu sent "
            "(%llu repeats dropped), %llu spooled, %llu in spool, %llu lost (spool %llu, queue %llu); "
            "tally commands resent and found applied %llu, given up %llu; flows %llu sent, "
            "%llu dropped; %llu reconnects, %llu errors\n",
            (unsigned long long)st.round_trips, (unsigned long long)st.commands,
            (unsigned long long)st.flushes, (unsigned long long)st.alerts_sent,
            (unsigned long long)st.alerts_duplicate, (unsigned long long)st.alerts_spooled,
            (unsigned long long)st.alerts_in_spool,
            (unsigned long long)(st.alerts_spool_full + st.alerts_queue_full),
            (unsigned long long)st.alerts_spool_full, (unsigned long long)st.alerts_queue_full,
            (unsigned long long)st.tally_repeats, (unsigned long long)st.tally_cmds_lost,
            (unsigned long long)st.flows_sent, (unsigned long long)st.flows_dropped,
            (unsigned long long)st.reconnects, (unsigned long long)st.errors);
    if (tf->cluster) {
        struct rcl_stats cs;

        tally_flush_cluster_stats(tf, &cs);
        fprintf(fp, "  redis cluster: %llu nodes, %llu masters; %llu node round trips; %llu slot maps read, "
                "%llu redirects (%llu MOVED, %llu ASK), %llu TRYAGAIN, %llu CLUSTERDOWN, %llu failovers seen, "
                "%llu node failures, %llu unreplicated\n",
                (unsigned long long)cs.nodes, (unsigned long long)cs.masters,
                (unsigned long long)cs.round_trips, (unsigned long long)cs.map_refreshes,
                (unsigned long long)cs.redirects, (unsigned long long)cs.moved, (unsigned long long)cs.ask,
                (unsigned long long)cs.tryagain, (unsigned long long)cs.clusterdown,
                (unsigned long long)cs.failovers, (unsigned long long)cs.node_failures,
                (unsigned long long)cs.unreplicated);
    }
}

void tally_flush_free(struct tally_flush *tf)
{
    if (tf == NULL)
        return;
    /* Not finished (an error path): the tallies may be gone already, so
     * the thread forgets them and sends only what it holds. */
    pthread_mutex_lock(&tf->lock);
    tf->ntallies = 0;
    pthread_mutex_unlock(&tf->lock);
    flush_stop(tf);
    rconn_fini(&tf->conn);
    tally_table_free(tf->pending);
    rbatch_free(&tf->indoubt);
    rbatch_free(&tf->out_b);
    free(tf->prefix);
    free(tf->sensor);
    pthread_cond_destroy(&tf->wake);
    pthread_mutex_destroy(&tf->lock);
    free(tf);
}

struct tally_flush *tally_flush_new(const struct lw_config *cfg, const struct output *out,
                                    char *err, size_t errlen)
{
    struct tally_flush *tf = calloc(1, sizeof *tf);
    pthread_condattr_t ca;

    if (tf == NULL) {
        snprintf(err, errlen, "redis: out of memory");
        return NULL;
    }
    pthread_mutex_init(&tf->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&tf->wake, &ca);
    pthread_condattr_destroy(&ca);
    rbatch_init(&tf->indoubt);
    rbatch_init(&tf->out_b);
    tf->out = out;
    tf->prefix = strdup(cfg->redis.prefix);
    tf->sensor = strdup(cfg->sensor_id);
    tf->pending = tally_table_new(cfg->redis.pending_max_keys);
    snprintf(err, errlen, "redis: out of memory");
    if (!tf->prefix || !tf->sensor || !tf->pending ||
        rconn_init(&tf->conn, cfg, "tallies are kept in memory", err, errlen) < 0)
        goto fail;
    err[0] = '\0';
    tf->rk = (struct rkeys){
        .prefix = tf->prefix, .sensor = tf->sensor, .ttl_minute = cfg->redis.retention_minute,
        .ttl_hour = cfg->redis.retention_hour, .top_k = cfg->redis.top_hosts, .merged = cfg->redis.merged_view,
    };
    tf->flush_usec = (uint64_t)cfg->redis.flush_interval * 1000000u;
    tf->cluster = cfg->redis.cluster.n > 0;
    if (pthread_create(&tf->thread, NULL, flush_thread, tf) != 0) {
        snprintf(err, errlen, "redis: cannot start the tally flusher thread");
        goto fail;
    }
    tf->started = 1;
    return tf;
fail:
    tally_flush_free(tf);
    return NULL;
}

/* ---- counters (/metrics) */

#define RM(member, name, help, kind) \
    { "redis/" #member, "linkwatch_redis_" name, NULL, help, (uint32_t)offsetof(struct redis_stats, member), \
      kind, STATS_SUM, STATS_NOEVE, 0, NULL }
static const struct stats_field redis_fields[] = {
    RM(round_trips, "round_trips_total", "Pipelines sent to Redis and answered.", STATS_COUNTER),
    RM(commands, "commands_total", "Commands sent to Redis.", STATS_COUNTER),
    RM(alerts_sent, "alerts_sent_total", "Alerts Redis acknowledged in the stream.", STATS_COUNTER),
    RM(alerts_spooled, "alerts_spooled_total", "Alerts written to the Redis disk spool while Redis was away.",
       STATS_COUNTER),
    RM(alerts_in_spool, "alerts_in_spool", "Alerts in the Redis spool, not delivered yet.", STATS_GAUGE),
    RM(alerts_spool_full, "alerts_lost_total", "Alerts a full Redis spool refused (still in eve.json).",
       STATS_COUNTER),
    RM(alerts_queue_full, "alerts_queue_full_total", "Alerts the Redis writer's full queue refused.",
       STATS_COUNTER),
    RM(tally_cmds_lost, "tally_commands_lost_total", "Tally commands given up.", STATS_COUNTER),
    RM(reconnects, "reconnects_total", "Reconnections to Redis.", STATS_COUNTER),
    RM(errors, "errors_total", "Error replies from Redis.", STATS_COUNTER),
};
#undef RM

const struct stats_module redis_stats_module = {
    "redis", redis_fields, STATS_NELEM(redis_fields), sizeof(struct redis_stats), NULL
};
