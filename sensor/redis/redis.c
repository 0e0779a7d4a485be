/* redis.c - the Redis writer thread and the redis exporter; see redis.h. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "redis.h"
#include "redis-cmd.h"
#include "alert-index.h"
#include "redis-spool.h"
#include "autoconf.h"
#include "config.h"
#include "log.h"
#include "util.h"

#define REDIS_MAX_TALLIES   260     /* the workers (at most 256) and the capture thread */
#define QUEUE_MAX_BYTES     (32u << 20)   /* alerts waiting for the thread */
#define FLOWQ_MAX_BYTES     (8u << 20)    /* flows waiting for the thread */
#define ALERTS_PER_CMD      256           /* alerts per script call */
#define REPLAY_RECORDS      1024          /* spooled alerts per replay pipeline */
#define REPLAY_BYTES        (4u << 20)
#define REPLAY_ROUNDS       8             /* replay pipelines per round, before tallies get a turn */
#define BACKOFF_MIN_USEC    100000u
#define ALERT_BATCH_USEC    5000u         /* alerts wait this long for company: round trips stay few */

/* Lines handed in by the output, each as [u32 length][bytes]. */
struct queue {
    char  *buf;
    size_t len, cap;
    size_t n;
};

struct redis {
    /* Configuration, fixed at open. */
    struct rkeys rk;
    char *prefix, *sensor, *server, *user, *pass;
    char where[300];                 /* "host:port" or the socket path, for messages */
    int port, db;
    struct timeval tv_connect, tv_cmd;
    uint64_t flush_usec, backoff_max_usec, alerts_maxlen, flows_maxlen;
    int flows_on;

    /* Shared with the sensor's threads, under lock. */
    pthread_mutex_t lock;
    pthread_cond_t wake;             /* the thread: work, finish */
    pthread_cond_t room;             /* the output: the alert queue drained */
    struct queue alerts, flows;
    uint64_t alerts_first;           /* monotonic time the alert queue became non-empty */
    struct tally *tallies[REDIS_MAX_TALLIES];
    size_t ntallies;
    struct redis_health health;
    int kick;                        /* collect and flush now (redis_finish) */
    int finishing, finished;
    struct redis_stats pub;          /* the thread's counters as of its last round */
    uint64_t alerts_queued, alerts_queue_full, flows_queue_full;
    uint64_t log_queue_full;         /* monotonic time of the last "queue full" message */
    atomic_int health_want;
    pthread_t thread;
    int started;

    /* The thread's own. */
    struct redis_stats st;
    redisContext *c;
    char sha_tally[48], sha_alert[48];
    uint64_t next_attempt, backoff;
    uint64_t down_since;             /* monotonic, 0 while connected */
    int ever_connected;
    struct tally_table *pending;     /* deltas not sent yet */
    struct rbatch indoubt;           /* tally commands sent without an answer, oldest first */
    struct rbatch out;               /* the pipeline being built */
    struct rspool *spool;
    uint64_t last_seq, last_fid;
    uint64_t last_drops;
    uint64_t gauge_active;
    uint32_t gauge_bucket;
    int have_gauge;
    struct ralert *recs;             /* this round's alerts */
    size_t nrecs, crecs;
    uint64_t log_spool_full;         /* monotonic time of the last "spool full" message */
};

/* ------------------------------------------------------------------ queues */

static int queue_push(struct queue *q, const char *line, size_t len, size_t max)
{
    uint32_t l = (uint32_t)len;
    size_t need = q->len + sizeof l + len;
    char *nb;

    if (need > max)
        return -1;
    if (need > q->cap) {
        size_t nc = q->cap ? q->cap : 65536;
        while (nc < need)
            nc *= 2;
        if ((nb = realloc(q->buf, nc)) == NULL)
            return -1;
        q->buf = nb;
        q->cap = nc;
    }
    memcpy(q->buf + q->len, &l, sizeof l);
    memcpy(q->buf + q->len + sizeof l, line, len);
    q->len = need;
    q->n++;
    return 0;
}

/* Moves everything of *from into *to (which must be empty). */
static void queue_take(struct queue *to, struct queue *from)
{
    struct queue t = *to;

    *to = *from;
    *from = t;
    from->len = from->n = 0;
}

/* The next line at *pos of q. Returns 0 at the end. */
static int queue_next(const struct queue *q, size_t *pos, const char **line, size_t *len)
{
    uint32_t l;

    if (*pos >= q->len)
        return 0;
    memcpy(&l, q->buf + *pos, sizeof l);
    *line = q->buf + *pos + sizeof l;
    *len = l;
    *pos += sizeof l + l;
    return 1;
}

/* ------------------------------------------------------------------ time */

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

/* Flush ids and sequence numbers: microseconds since the epoch, made to
 * increase, so they keep increasing across restarts. */
static uint64_t next_id(uint64_t *last)
{
    uint64_t now = lw_now_real_usec();

    *last = now > *last ? now : *last + 1;
    return *last;
}

/* ------------------------------------------------------------------ connection */

static void disconnect(struct redis *r, const char *why)
{
    uint64_t now = mono();

    if (r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
    if (!r->down_since) {
        r->down_since = now;
        log_warning("redis %s: %s; alerts go to the spool and tallies are kept in memory until it is back",
                    r->where, why);
    } else {
        log_debug("redis %s: %s", r->where, why);
    }
    r->backoff = r->backoff ? r->backoff * 2 : BACKOFF_MIN_USEC;
    if (r->backoff > r->backoff_max_usec)
        r->backoff = r->backoff_max_usec;
    /* +-25% so that many sensors do not come back in step. */
    r->next_attempt = now + r->backoff * 3 / 4 + (uint64_t)rand() % (r->backoff / 2 + 1);
}

/* One command, waited for. Returns the reply (caller frees) or NULL with
 * the connection dropped; an error reply is logged, freed, and NULL. */
static redisReply *command(struct redis *r, const char *what, int argc, const char **argv)
{
    redisReply *rep = redisCommandArgv(r->c, argc, argv, NULL);
    char why[256];

    if (rep == NULL) {
        snprintf(why, sizeof why, "%s: %s", what, r->c->errstr[0] ? r->c->errstr : "connection lost");
        disconnect(r, why);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof why, "%s: %s", what, rep->str);
        freeReplyObject(rep);
        disconnect(r, why);
        return NULL;
    }
    return rep;
}

static int load_script(struct redis *r, const char *body, char *sha, size_t shalen)
{
    const char *argv[] = { "SCRIPT", "LOAD", body };
    redisReply *rep = command(r, "SCRIPT LOAD", 3, argv);

    if (rep == NULL)
        return -1;
    if (rep->type != REDIS_REPLY_STRING || rep->len >= shalen) {
        freeReplyObject(rep);
        disconnect(r, "SCRIPT LOAD: unexpected reply");
        return -1;
    }
    memcpy(sha, rep->str, rep->len + 1);
    freeReplyObject(rep);
    return 0;
}

/* Connects, authenticates, selects, loads the scripts and learns the last
 * alert sequence number Redis has from this sensor. Returns 0 or -1. */
static int redis_connect(struct redis *r)
{
    char key[RKEY_MAX], db[16];
    redisReply *rep;
    const char *argv[4];

    r->c = r->server[0] == '/' ? redisConnectUnixWithTimeout(r->server, r->tv_connect)
                               : redisConnectWithTimeout(r->server, r->port, r->tv_connect);
    if (r->c == NULL || r->c->err) {
        char why[300];
        snprintf(why, sizeof why, "cannot connect: %s", r->c ? r->c->errstr : "out of memory");
        disconnect(r, why);
        return -1;
    }
    redisSetTimeout(r->c, r->tv_cmd);
    /* Not on a unix socket: hiredis 0.14 would leave its error on the context. */
    if (r->server[0] != '/')
        redisEnableKeepAlive(r->c);
    if (r->pass[0]) {
        argv[0] = "AUTH";
        argv[1] = r->user[0] ? r->user : r->pass;
        argv[2] = r->pass;
        if ((rep = command(r, "AUTH", r->user[0] ? 3 : 2, argv)) == NULL)
            return -1;
        freeReplyObject(rep);
    }
    if (r->db) {
        snprintf(db, sizeof db, "%d", r->db);
        argv[0] = "SELECT";
        argv[1] = db;
        if ((rep = command(r, "SELECT", 2, argv)) == NULL)
            return -1;
        freeReplyObject(rep);
    }
    if (load_script(r, RCMD_TALLY_LUA, r->sha_tally, sizeof r->sha_tally) < 0 ||
        load_script(r, RCMD_ALERT_LUA, r->sha_alert, sizeof r->sha_alert) < 0)
        return -1;
    argv[0] = "HGET";
    argv[1] = key;
    argv[2] = r->sensor;
    rkey_named(key, sizeof key, &r->rk, "alerts-seq");
    if ((rep = command(r, "HGET", 3, argv)) == NULL)
        return -1;
    if (rep->type == REDIS_REPLY_STRING) {
        uint64_t seq = strtoull(rep->str, NULL, 10);
        if (seq > r->last_seq)
            r->last_seq = seq;
    }
    freeReplyObject(rep);
    if (r->down_since)
        log_warning("redis %s: connected again after %.1f s; %llu spooled alert(s) to replay",
                    r->where, (double)(mono() - r->down_since) / 1e6,
                    (unsigned long long)rspool_pending(r->spool));
    else
        log_info("redis %s: connected", r->where);
    if (r->ever_connected)
        r->st.reconnects++;
    r->ever_connected = 1;
    r->down_since = 0;
    r->backoff = 0;
    return 0;
}

/* Connected, or tried when due. Returns 1 when connected. */
static int ensure_connected(struct redis *r)
{
    if (r->c)
        return 1;
    if (mono() < r->next_attempt)
        return 0;
    return redis_connect(r) == 0;
}

/* ------------------------------------------------------------------ pipelines */

/* Sends every command of b and reads the replies in order. Returns how many
 * were answered; a connection failure stops there (and disconnects).
 * *errors counts error replies (answered, not applied); added[i] the
 * alerts script's count for command i when added is not NULL. */
static size_t pipeline(struct redis *r, const struct rbatch *b, long long *added)
{
    const char **argv = NULL;
    size_t *argvlen = NULL, maxargs = 0, i, done = 0;
    redisReply *rep;
    void *vrep;

    if (b->ncmds == 0)
        return 0;
    for (i = 0; i < b->ncmds; i++)
        if (b->cmds[i].nargs > maxargs)
            maxargs = b->cmds[i].nargs;
    argv = malloc(maxargs * sizeof *argv);
    argvlen = malloc(maxargs * sizeof *argvlen);
    if (argv == NULL || argvlen == NULL)
        goto out;
    for (i = 0; i < b->ncmds; i++) {
        const struct rcmd *c = &b->cmds[i];
        for (size_t a = 0; a < c->nargs; a++)
            argv[a] = rbatch_argp(b, c, a, &argvlen[a]);
        if (redisAppendCommandArgv(r->c, (int)c->nargs, argv, argvlen) != REDIS_OK) {
            disconnect(r, "out of memory building a pipeline");
            goto out;
        }
    }
    r->st.commands += b->ncmds;
    for (done = 0; done < b->ncmds; done++) {
        if (redisGetReply(r->c, &vrep) != REDIS_OK) {
            char why[300];
            snprintf(why, sizeof why, "%s", r->c->errstr[0] ? r->c->errstr : "connection lost");
            disconnect(r, why);
            break;
        }
        rep = vrep;
        if (rep->type == REDIS_REPLY_ERROR) {
            r->st.errors++;
            if (added)
                added[done] = -1;
            log_warning("redis: error reply: %s", rep->str);
        } else if (added) {
            added[done] = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
        }
        freeReplyObject(rep);
    }
    if (done == b->ncmds)
        r->st.round_trips++;
out:
    free(argv);
    free(argvlen);
    return done;
}

/* ------------------------------------------------------------------ alerts */

static void spool_records(struct redis *r, const struct ralert *a, size_t n)
{
    size_t put;
    uint64_t now;

    if (n == 0)
        return;
    put = rspool_append(r->spool, a, n);
    r->st.alerts_spooled += put;
    if (put == n)
        return;
    r->st.alerts_spool_full += n - put;
    now = mono();
    if (!r->log_spool_full || now - r->log_spool_full > 10000000u) {
        log_error("redis spool %s is full (redis.spool-max-size): %llu alert(s) not spooled so far; "
                  "they are in eve.json but will not reach Redis",
                  rspool_path(r->spool), (unsigned long long)r->st.alerts_spool_full);
        r->log_spool_full = now;
    }
}

/* This round's alerts, from the queue, numbered. */
static int take_alerts(struct redis *r, const struct queue *q)
{
    size_t pos = 0, len;
    const char *line;

    if (q->n > r->crecs) {
        struct ralert *nr = realloc(r->recs, q->n * sizeof *nr);
        if (nr == NULL)
            return -1;
        r->recs = nr;
        r->crecs = q->n;
    }
    r->nrecs = 0;
    while (queue_next(q, &pos, &line, &len)) {
        r->recs[r->nrecs].seq = next_id(&r->last_seq);
        r->recs[r->nrecs].line = line;
        r->recs[r->nrecs++].len = len;
    }
    return 0;
}

/* Acknowledged alert commands: their counts. */
static void alerts_acked(struct redis *r, const struct rcmd *c, long long added)
{
    r->st.alerts_sent += c->nrec;
    if (added >= 0 && (uint64_t)added < c->nrec)
        r->st.alerts_duplicate += c->nrec - (uint64_t)added;
}

/* Replays spooled alerts in order, a pipeline at a time. Returns 0 when the
 * spool is empty, 1 when some are left, -1 when the connection broke. */
static int replay(struct redis *r)
{
    struct ralert a[REPLAY_RECORDS];
    long long added[REPLAY_RECORDS / ALERTS_PER_CMD + 1];
    size_t n, acked, recs;

    for (int round = 0; round < REPLAY_ROUNDS; round++) {
        n = rspool_read(r->spool, a, REPLAY_RECORDS, REPLAY_BYTES);
        if (n == 0)
            return 0;
        rbatch_reset(&r->out);
        rcmd_alerts(&r->out, &r->rk, r->sha_alert, r->alerts_maxlen, a, n, 0, ALERTS_PER_CMD);
        if (r->out.oom)
            return -1;
        acked = pipeline(r, &r->out, added);
        recs = 0;
        for (size_t i = 0; i < acked && added[i] >= 0; i++) {
            alerts_acked(r, &r->out.cmds[i], added[i]);
            recs += r->out.cmds[i].nrec;
        }
        if (rspool_commit(r->spool, recs) < 0)
            log_error("redis spool %s: cannot record the delivered offset: %s", rspool_path(r->spool),
                      strerror(errno));
        if (acked < r->out.ncmds)
            return -1;
        if (recs < n) {
            disconnect(r, "Redis refused alerts (error reply above)");
            return -1;
        }
    }
    return rspool_pending(r->spool) ? 1 : 0;
}

/* ------------------------------------------------------------------ tallies */

/* Takes every table the workers handed over into the pending store and asks
 * for the next ones. */
static void collect_tallies(struct redis *r, struct tally **t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct tally_table *tt = tally_take(t[i]);
        if (tt) {
            r->st.tally_keys_other += tally_table_merge(r->pending, tt);
            tally_release(t[i], tt);
        }
        tally_request_swap(t[i]);
    }
}

/* Drops since the last snapshot into the pending store; keeps the gauge. */
static void collect_health(struct redis *r, const struct redis_health *h)
{
    struct tally_key k;
    struct tally_sums s = { 0 };

    if (h->ts_usec == 0)
        return;
    if (h->drops > r->last_drops) {
        tally_key_health(&k);
        k.bucket = tally_bucket(h->ts_usec);
        s.events = h->drops - r->last_drops;
        r->st.tally_keys_other += (uint64_t)tally_table_add(r->pending, &k, &s);
        r->last_drops = h->drops;
    }
    r->gauge_active = h->flows_active;
    r->gauge_bucket = tally_bucket(h->ts_usec);
    r->have_gauge = 1;
}

/* The sensor's status hash and its entry in the sensors set (best effort). */
static void add_status(struct redis *r, const struct redis_health *h)
{
    char key[RKEY_MAX];
    uint64_t now = lw_now_real_usec() / 1000000u;

    rbatch_begin(&r->out, RC_BEST);
    rbatch_str(&r->out, "HSET");
    rbatch_arg(&r->out, key, rkey_named(key, sizeof key, &r->rk, "sensor"));
#define FIELD(name, v) do { rbatch_str(&r->out, name); rbatch_u64(&r->out, (v)); } while (0)
    rbatch_str(&r->out, "version");
    rbatch_str(&r->out, PACKAGE_VERSION);
    FIELD("updated", now);
    FIELD("capture_ts", h->ts_usec / 1000000u);
    FIELD("packets", h->packets);
    FIELD("bytes", h->bytes);
    FIELD("drops", h->drops);
    FIELD("flows_active", h->flows_active);
    FIELD("flows", h->flows_created);
    FIELD("alerts", h->alerts);
    FIELD("alerts_spooled", rspool_pending(r->spool));
    FIELD("alerts_spool_full", r->st.alerts_spool_full);
    FIELD("alerts_queue_full", r->st.alerts_queue_full);
    FIELD("tally_pending_keys", tally_table_used(r->pending));
    FIELD("tally_keys_other", r->st.tally_keys_other);
    FIELD("reconnects", r->st.reconnects);
#undef FIELD
    rbatch_begin(&r->out, RC_BEST);
    rbatch_str(&r->out, "EXPIRE");
    rbatch_arg(&r->out, key, strlen(key));
    rbatch_u64(&r->out, r->rk.ttl_minute);
    rbatch_begin(&r->out, RC_BEST);
    rbatch_str(&r->out, "ZADD");
    rbatch_arg(&r->out, key, rkey_named(key, sizeof key, &r->rk, "sensors"));
    rbatch_u64(&r->out, now);
    rbatch_str(&r->out, r->sensor);
    /* Sensors not heard of for the hour retention leave the set. */
    rbatch_begin(&r->out, RC_BEST);
    rbatch_str(&r->out, "ZREMRANGEBYSCORE");
    rbatch_arg(&r->out, key, strlen(key));
    rbatch_str(&r->out, "-inf");
    rbatch_u64(&r->out, now > r->rk.ttl_hour ? now - r->rk.ttl_hour : 0);
}

/* Ended flows to their stream (best effort). */
static void add_flows(struct redis *r, const struct queue *q)
{
    char key[RKEY_MAX];
    size_t pos = 0, len, klen = rkey_named(key, sizeof key, &r->rk, "flows");
    const char *line;

    while (queue_next(q, &pos, &line, &len)) {
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
        rbatch_arg(&r->out, line, len);
    }
}

/* ------------------------------------------------------------------ one round */

/* What one round works on, taken from the shared part under the lock. */
struct round {
    struct queue alerts, flows;
    struct redis_health health;
    struct tally *tallies[REDIS_MAX_TALLIES];
    size_t ntallies;
    int tick;                        /* collect tallies, send status */
    int final;                       /* finishing: send whatever is pending */
};

/* After a pipeline answered the first `acked` commands of r->out: tally
 * commands without an answer are kept in doubt (resent first, as they are:
 * the script applies each once); alerts without one, or refused, go to the
 * spool; error replies to tallies are given up, counted. */
static void settle(struct redis *r, size_t acked, const long long *added)
{
    const struct rbatch *b = &r->out;
    struct rbatch keep;
    int refused = 0;

    rbatch_init(&keep);
    for (size_t i = 0; i < b->ncmds; i++) {
        const struct rcmd *c = &b->cmds[i];
        int answered = i < acked, ok = answered && added[i] >= 0;

        if (c->kind == RC_TALLY && !answered) {
            rbatch_copy(&keep, b, i);
        } else if (c->kind == RC_TALLY && !ok) {
            r->st.tally_cmds_lost++;
        } else if (c->kind == RC_TALLY && added[i] == 0) {
            r->st.tally_repeats++;
        } else if (c->kind == RC_ALERT && ok) {
            alerts_acked(r, c, added[i]);
        } else if (c->kind == RC_ALERT) {
            spool_records(r, r->recs + c->rec0, c->nrec);
            refused |= answered;
        }
    }
    if (keep.oom) {
        log_error("redis: out of memory keeping %zu unanswered tally commands; given up",
                  keep.ncmds);
        r->st.tally_cmds_lost += keep.ncmds;
        rbatch_reset(&keep);
    }
    rbatch_free(&r->indoubt);
    r->indoubt = keep;
    if (refused && r->c)
        disconnect(r, "Redis refused alerts (error reply above)");
}

/* Builds this round's pipeline into r->out: commands in doubt first, then
 * the pending tallies and the gauge, the status, the alerts, the flows.
 * Returns the index of the first flow command, or -1 when out of memory
 * (nothing taken from the pending store then). */
static long build(struct redis *r, const struct round *rd)
{
    uint64_t fid = 0;
    long flow0;

    rbatch_reset(&r->out);
    for (size_t i = 0; i < r->indoubt.ncmds; i++)
        rbatch_copy(&r->out, &r->indoubt, i);
    if (rd->tick || rd->final) {
        fid = next_id(&r->last_fid);
        if (rcmd_tallies(&r->out, &r->rk, r->sha_tally, r->pending, fid))
            r->st.flushes++;
        if (r->have_gauge)
            rcmd_gauge(&r->out, &r->rk, r->sha_tally, r->gauge_bucket, "flows_active",
                       r->gauge_active, fid);
        if (rd->tick)
            add_status(r, &rd->health);
    }
    rcmd_alerts(&r->out, &r->rk, r->sha_alert, r->alerts_maxlen, r->recs, r->nrecs, 0, ALERTS_PER_CMD);
    flow0 = (long)r->out.ncmds;
    add_flows(r, &rd->flows);
    if (r->out.oom)
        return -1;
    if (fid) {
        tally_table_reset(r->pending);
        r->have_gauge = 0;
    }
    return flow0;
}

/* The writer trims the stream, not XADD MAXLEN, so that the alert indexes
 * lose the trimmed ids in the same call (alert-index.h). */
static void trim_alerts(struct redis *r)
{
    char why[300] = "alerts trim: ";

    if (r->alerts_maxlen && r->c &&
        aix_trim(r->c, &r->rk, r->alerts_maxlen, why + 13, sizeof why - 13) < 0)
        disconnect(r, why);
}

/* One round: alerts numbered; tallies collected on a tick; then, when
 * connected, the spool replayed and everything else sent in one pipeline.
 * Returns 1 when a pipeline was answered in full, 0 otherwise. */
static int run_round(struct redis *r, struct round *rd)
{
    long long *added;
    long flow0;
    size_t acked, nflows = rd->flows.n, answered;
    int rc;

    if (take_alerts(r, &rd->alerts) < 0) {
        log_error("redis: out of memory numbering %zu alerts; they are not sent", rd->alerts.n);
        r->st.alerts_spool_full += rd->alerts.n;
        r->nrecs = 0;
    }
    if (rd->tick) {
        collect_tallies(r, rd->tallies, rd->ntallies);
        collect_health(r, &rd->health);
    }
    if (!ensure_connected(r)) {
        spool_records(r, r->recs, r->nrecs);
        r->st.flows_dropped += nflows;
        return 0;
    }
    rc = replay(r);
    if (rc != 0) {
        /* Behind what is still spooled. */
        spool_records(r, r->recs, r->nrecs);
        r->nrecs = 0;
        if (rc < 0) {
            r->st.flows_dropped += nflows;
            return 0;
        }
    }
    flow0 = build(r, rd);
    if (flow0 < 0 || (added = calloc(r->out.ncmds + 1, sizeof *added)) == NULL) {
        log_error("redis: out of memory building a pipeline; alerts spooled, tallies kept");
        spool_records(r, r->recs, r->nrecs);
        r->st.flows_dropped += nflows;
        return 0;
    }
    acked = pipeline(r, &r->out, added);
    settle(r, acked, added);
    free(added);
    if (r->nrecs || rd->tick)
        trim_alerts(r);
    answered = acked > (size_t)flow0 ? acked - (size_t)flow0 : 0;
    if (answered > nflows)
        answered = nflows;
    r->st.flows_sent += answered;
    r->st.flows_dropped += nflows - answered;
    return acked == r->out.ncmds && r->c != NULL;
}

/* ------------------------------------------------------------------ the thread */

static int work_left(struct redis *r)
{
    return rspool_pending(r->spool) || r->indoubt.ncmds || tally_table_used(r->pending) ||
           r->have_gauge;
}

/* Waits for something to do; returns with the lock held and rd filled. */
static void wait_work(struct redis *r, struct round *rd, uint64_t *next_flush)
{
    struct timespec ts;
    uint64_t now, until;

    pthread_mutex_lock(&r->lock);
    for (;;) {
        now = mono();
        if (r->finishing || r->kick || r->flows.len > FLOWQ_MAX_BYTES / 2 || now >= *next_flush)
            break;
        until = *next_flush;
        if (r->alerts.n) {
            if (now >= r->alerts_first + ALERT_BATCH_USEC || r->alerts.len > QUEUE_MAX_BYTES / 4)
                break;
            if (r->alerts_first + ALERT_BATCH_USEC < until)
                until = r->alerts_first + ALERT_BATCH_USEC;
        }
        if (!r->c && work_left(r)) {
            if (now >= r->next_attempt)
                break;
            if (r->next_attempt < until)
                until = r->next_attempt;
        }
        abstime(&ts, until - now);
        pthread_cond_timedwait(&r->wake, &r->lock, &ts);
    }
    rd->tick = now >= *next_flush || r->kick || (r->finishing && !rd->final);
    rd->final = r->finishing;
    if (rd->tick) {
        *next_flush = now + r->flush_usec;
        atomic_store_explicit(&r->health_want, 1, memory_order_relaxed);
    }
    r->kick = 0;
    queue_take(&rd->alerts, &r->alerts);
    queue_take(&rd->flows, &r->flows);
    rd->health = r->health;
    rd->ntallies = r->ntallies;
    memcpy(rd->tallies, r->tallies, r->ntallies * sizeof *r->tallies);
    pthread_cond_broadcast(&r->room);
}

/* What could not be delivered by the end: said, never silent. */
static void report_left(struct redis *r)
{
    uint64_t keys = tally_table_used(r->pending);

    if (keys || r->indoubt.ncmds)
        log_error("redis: Redis unreachable at exit: %llu tally key(s) and %zu tally command(s) "
                  "not delivered (lost; eve.json has the flows)", (unsigned long long)keys,
                  r->indoubt.ncmds);
    r->st.tally_cmds_lost += r->indoubt.ncmds;
    if (rspool_pending(r->spool))
        log_warning("redis: %llu alert(s) left in the spool %s; they are delivered, in order, "
                    "the next time linkwatch runs with Redis reachable",
                    (unsigned long long)rspool_pending(r->spool), rspool_path(r->spool));
}

static void *redis_thread(void *arg)
{
    struct redis *r = arg;
    struct round rd;
    uint64_t next_flush = mono() + r->flush_usec, deadline = 0;
    uint64_t grace = 2 * ((uint64_t)r->tv_connect.tv_sec * 1000000u + (uint64_t)r->tv_connect.tv_usec);
    int progress, queued;

    pthread_setname_np(pthread_self(), "lw-redis");
    memset(&rd, 0, sizeof rd);
    for (;;) {
        wait_work(r, &rd, &next_flush);
        pthread_mutex_unlock(&r->lock);
        progress = run_round(r, &rd);
        rd.alerts.len = rd.alerts.n = 0;
        rd.flows.len = rd.flows.n = 0;
        r->st.alerts_in_spool = rspool_pending(r->spool);
        pthread_mutex_lock(&r->lock);
        r->pub = r->st;
        pthread_mutex_unlock(&r->lock);
        if (!rd.final)
            continue;
        /* Finishing: on while Redis takes things, for a grace period without progress. */
        if (!deadline || progress)
            deadline = mono() + grace;
        pthread_mutex_lock(&r->lock);
        queued = r->alerts.n || r->flows.n;
        pthread_mutex_unlock(&r->lock);
        if (!queued && !work_left(r))
            break;
        if (mono() >= deadline)
            break;
        if (!r->c && r->next_attempt > mono()) {
            uint64_t nap = r->next_attempt - mono();
            usleep((useconds_t)(nap < 200000u ? nap : 200000u));
        }
    }
    /* Alerts handed in after the last round go to the spool, behind the
     * rest; from here on redis_write() spools them itself (the output layer
     * may still replay its own spool into this exporter while closing). */
    pthread_mutex_lock(&r->lock);
    queue_take(&rd.alerts, &r->alerts);
    if (rd.alerts.n && take_alerts(r, &rd.alerts) == 0)
        spool_records(r, r->recs, r->nrecs);
    report_left(r);
    r->finished = 1;
    r->pub = r->st;
    pthread_mutex_unlock(&r->lock);
    if (r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
    free(rd.alerts.buf);
    free(rd.flows.buf);
    return NULL;
}

/* ------------------------------------------------------------------ the sensor's side */

int redis_add_tally(struct redis *r, struct tally *t)
{
    int rc = -1;

    pthread_mutex_lock(&r->lock);
    if (r->ntallies < REDIS_MAX_TALLIES && !r->finishing) {
        r->tallies[r->ntallies++] = t;
        tally_request_swap(t);
        rc = 0;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int redis_health_wanted(struct redis *r)
{
    return atomic_load_explicit(&r->health_want, memory_order_relaxed);
}

void redis_set_health(struct redis *r, const struct redis_health *h)
{
    atomic_store_explicit(&r->health_want, 0, memory_order_relaxed);
    pthread_mutex_lock(&r->lock);
    r->health = *h;
    pthread_mutex_unlock(&r->lock);
}

/* Lets the thread finish and waits for it. */
static void redis_stop(struct redis *r)
{
    if (!r->started)
        return;
    pthread_mutex_lock(&r->lock);
    r->finishing = 1;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    r->started = 0;
}

void redis_finish(struct redis *r, uint64_t now_usec)
{
    uint64_t until = mono() + 5000000u;
    size_t n;

    if (!r->started)
        return;
    pthread_mutex_lock(&r->lock);
    n = r->ntallies;
    pthread_mutex_unlock(&r->lock);
    /* The other table may wait in the hand-off for the next flush: ask for
     * a collection until the last swap goes through. */
    for (size_t i = 0; i < n; i++) {
        while (tally_swap(r->tallies[i], now_usec) < 0) {
            if (mono() >= until) {
                log_error("redis: the last tally interval of worker %zu could not be handed over "
                          "(the Redis thread is stuck); its counts are not sent", i);
                break;
            }
            pthread_mutex_lock(&r->lock);
            r->kick = 1;
            pthread_cond_signal(&r->wake);
            pthread_mutex_unlock(&r->lock);
            usleep(1000);
        }
    }
    redis_stop(r);
}

void redis_get_stats(struct redis *r, struct redis_stats *st)
{
    pthread_mutex_lock(&r->lock);
    *st = r->pub;
    st->alerts_queued = r->alerts_queued;
    st->alerts_queue_full = r->alerts_queue_full;
    st->flows_dropped += r->flows_queue_full;
    pthread_mutex_unlock(&r->lock);
}

void redis_print_summary(struct redis *r, FILE *fp)
{
    struct redis_stats st;

    redis_get_stats(r, &st);
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
}

/* ------------------------------------------------------------------ the exporter */

static int redis_write(struct exporter *x, enum event_type t, const char *line, size_t len)
{
    struct redis *r = x->priv;
    struct timespec ts;
    uint64_t until, now;
    int rc;

    pthread_mutex_lock(&r->lock);
    if (r->finished || !r->started) {
        /* The thread is done: an alert goes straight to the spool (refused
         * when full: the output layer keeps it in its own spool then). */
        rc = -1;
        if (t == EVT_ALERT) {
            struct ralert a = { next_id(&r->last_seq), line, len };
            uint64_t before = r->st.alerts_spooled;

            r->alerts_queued++;
            spool_records(r, &a, 1);
            rc = r->st.alerts_spooled > before ? 0 : -1;
            r->pub = r->st;
        }
        pthread_mutex_unlock(&r->lock);
        return rc;
    }
    if (t == EVT_FLOW) {
        rc = queue_push(&r->flows, line, len, FLOWQ_MAX_BYTES);
        if (rc < 0)
            r->flows_queue_full++;
        else if (r->flows.len > FLOWQ_MAX_BYTES / 2)
            pthread_cond_signal(&r->wake);   /* else they go with the next flush */
        pthread_mutex_unlock(&r->lock);
        return rc;
    }
    /* The thread drains the queue within a command timeout even when Redis
     * hangs (to the spool): wait that long for room before giving up. */
    until = mono() + (uint64_t)r->tv_cmd.tv_sec * 1000000u + 1000000u;
    while ((rc = queue_push(&r->alerts, line, len, QUEUE_MAX_BYTES)) < 0 && r->started &&
           (now = mono()) < until) {
        pthread_cond_signal(&r->wake);
        abstime(&ts, until - now);
        pthread_cond_timedwait(&r->room, &r->lock, &ts);
    }
    if (rc < 0) {
        r->alerts_queue_full++;
        now = mono();
        if (!r->log_queue_full || now - r->log_queue_full > 10000000u) {
            log_error("redis: alert queue full (%u MB): %llu alert(s) not sent to Redis so far "
                      "(they are in eve.json)", QUEUE_MAX_BYTES >> 20,
                      (unsigned long long)r->alerts_queue_full);
            r->log_queue_full = now;
        }
    } else {
        r->alerts_queued++;
        if (r->alerts.n == 1) {
            r->alerts_first = mono();
            pthread_cond_signal(&r->wake);
        }
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

static int redis_flush(struct exporter *x)
{
    struct redis *r = x->priv;

    pthread_mutex_lock(&r->lock);
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static int redis_reopen(struct exporter *x)
{
    return 0;
}

static void redis_free(struct redis *r)
{
    if (r == NULL)
        return;
    rspool_close(r->spool);
    tally_table_free(r->pending);
    rbatch_free(&r->indoubt);
    rbatch_free(&r->out);
    free(r->alerts.buf);
    free(r->flows.buf);
    free(r->recs);
    free(r->prefix);
    free(r->sensor);
    free(r->server);
    free(r->user);
    free(r->pass);
    pthread_cond_destroy(&r->wake);
    pthread_cond_destroy(&r->room);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Closing without redis_finish() (an error path): the tallies may be gone
 * already, so the thread forgets them and sends only what it holds. */
static void redis_close(struct exporter *x)
{
    struct redis *r = x->priv;

    pthread_mutex_lock(&r->lock);
    r->ntallies = 0;
    pthread_mutex_unlock(&r->lock);
    redis_stop(r);
    redis_free(r);
    free(x);
}

static const struct exporter_ops redis_ops = {
    .name = "redis",
    .write_event = redis_write,
    .flush = redis_flush,
    .reopen = redis_reopen,
    .close = redis_close,
};

struct redis *redis_of(struct exporter *x)
{
    return x && x->ops == &redis_ops ? x->priv : NULL;
}

static struct timeval secs_tv(uint32_t s)
{
    return (struct timeval){ .tv_sec = (time_t)s, .tv_usec = 0 };
}

struct exporter *redis_exporter_open(const struct lw_config *cfg, uint32_t types, char *err,
                                     size_t errlen)
{
    struct exporter *x = calloc(1, sizeof *x);
    struct redis *r = calloc(1, sizeof *r);
    pthread_condattr_t ca;

    if (x == NULL || r == NULL) {
        free(x);
        free(r);
        snprintf(err, errlen, "redis: out of memory");
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->wake, &ca);
    pthread_cond_init(&r->room, &ca);
    pthread_condattr_destroy(&ca);
    r->prefix = strdup(cfg->redis.prefix);
    r->sensor = strdup(cfg->sensor_id);
    r->server = strdup(cfg->redis.server);
    r->user = strdup(cfg->redis.username);
    r->pass = strdup(cfg->redis.password);
    if (!r->prefix || !r->sensor || !r->server || !r->user || !r->pass)
        goto oom;
    r->rk = (struct rkeys){
        .prefix = r->prefix, .sensor = r->sensor, .ttl_minute = cfg->redis.retention_minute,
        .ttl_hour = cfg->redis.retention_hour, .top_k = cfg->redis.top_hosts, .merged = cfg->redis.merged_view,
    };
    r->port = (int)cfg->redis.port;
    if (r->server[0] == '/')
        snprintf(r->where, sizeof r->where, "%s", r->server);
    else
        snprintf(r->where, sizeof r->where, "%s:%d", r->server, r->port);
    r->db = (int)cfg->redis.db;
    r->tv_connect = secs_tv(cfg->redis.connect_timeout);
    r->tv_cmd = secs_tv(cfg->redis.command_timeout);
    r->flush_usec = (uint64_t)cfg->redis.flush_interval * 1000000u;
    r->backoff_max_usec = (uint64_t)cfg->redis.reconnect_max * 1000000u;
    r->alerts_maxlen = cfg->redis.alerts_stream_maxlen;
    r->flows_maxlen = cfg->redis.flows_stream_maxlen;
    r->flows_on = cfg->redis.flows_stream;
    rbatch_init(&r->indoubt);
    rbatch_init(&r->out);
    r->pending = tally_table_new(cfg->redis.pending_max_keys);
    if (r->pending == NULL)
        goto oom;
    r->spool = rspool_open(cfg->redis.spool_dir, cfg->sensor_id, cfg->redis.spool_max_size, err, errlen);
    if (r->spool == NULL)
        goto fail;
    r->last_seq = rspool_last_seq(r->spool);
    if (rspool_pending(r->spool))
        log_info("redis spool %s: %llu alert(s) from an earlier run to deliver first",
                 rspool_path(r->spool), (unsigned long long)rspool_pending(r->spool));
    x->ops = &redis_ops;
    x->types = types;
    x->priv = r;
    r->started = 1;
    if (pthread_create(&r->thread, NULL, redis_thread, r) != 0) {
        r->started = 0;
        snprintf(err, errlen, "redis: cannot start its thread");
        goto fail;
    }
    return x;
oom:
    snprintf(err, errlen, "redis: out of memory");
fail:
    redis_free(r);
    free(x);
    return NULL;
}
