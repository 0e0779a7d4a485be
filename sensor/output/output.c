/* output.c - event fan-out to exporters; see output.h.
 *
 * Each exporter has a bounded byte queue and a thread of its own: a worker
 * only copies the line into the queues (a short lock per exporter), so a
 * slow or dead sink never stalls capture. When a queue is full, events
 * other than alerts are dropped and counted; alerts go to the exporter's
 * disk spool and are delivered, in order, once the exporter can take them
 * again. An exporter that fails to write an alert also spools it and
 * retries with backoff. Spools survive a restart.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "output.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#define OUTPUT_MAX_EXPORTERS 8
#define XQ_BATCH      (256u << 10)   /* bytes a thread takes off its queue at once */
#define RETRY_MIN_MS  100
#define RETRY_MAX_MS  5000
#define XQ_MAX_EVENT  (XQ_BATCH - 5)  /* longer events are not queued (counted) */

#define CNT_INC(x) __atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)
#define CNT_GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* One exporter, its queue and its thread. */
struct xq {
    struct exporter *x;
    struct output *o;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t wake;             /* queue not empty, or a request */
    pthread_cond_t done;             /* a flush/reopen request finished */
    char *ring;                      /* records: [u8 type][u32 len][bytes], wrapping */
    size_t cap, head, used;          /* head: where the oldest record starts */
    int stop;
    uint64_t flush_req, flush_done;  /* generation counters */
    uint64_t reopen_req, reopen_done;
    int reopen_rc;
    struct spool *spool;             /* alerts that could not be queued or written */
    int spooling;                    /* alerts go to the spool until it drains (keeps order) */
    uint64_t pushed, taken;          /* bytes ever queued / taken off the queue */
    uint64_t barrier;                /* the spool drains once taken >= barrier: alerts
                                      * queued before spooling began go first */
    uint64_t retry_at;               /* mono usec before which the spool is not retried */
    unsigned retry_ms;
    uint64_t dropped[EVT_MAX];       /* queue full, not an alert */
    uint64_t spool_lost;             /* alerts the full spool could not take */
    uint64_t spooled;                /* alerts put in the spool */
};

struct output {
    struct xq *q[OUTPUT_MAX_EXPORTERS];
    char *spool_dir;                 /* made by output_open() */
    size_t n;
    uint32_t wanted;                 /* union of the exporters' type masks */
    struct output_stats st;          /* handed in (atomic) */
};

static const char *const type_names[EVT_MAX] = {
    [EVT_ALERT] = "alert", [EVT_FLOW] = "flow", [EVT_STATS] = "stats",
    [EVT_GEO_SUMMARY] = "geo_summary", [EVT_RELOAD] = "reload", [EVT_HTTP] = "http", [EVT_DNS] = "dns",
    [EVT_TLS] = "tls", [EVT_SSH] = "ssh", [EVT_FILEINFO] = "fileinfo",
};

int event_type_parse(const char *name)
{
    for (int i = 0; i < EVT_MAX; i++)
        if (strcmp(name, type_names[i]) == 0)
            return i;
    return -1;
}

const char *event_type_name(enum event_type t)
{
    return t < EVT_MAX ? type_names[t] : "unknown";
}

/* Type names were checked by the config loader; an unknown one here is a bug there. */
static uint32_t types_mask(const struct cfg_strlist *l)
{
    uint32_t m = 0;
    for (size_t i = 0; i < l->n; i++) {
        int t = event_type_parse(l->v[i]);
        if (t >= 0)
            m |= 1u << t;
    }
    return m;
}

/* ---------------------------------------------------------------- the ring */

static void ring_put(struct xq *q, const void *src, size_t n, size_t at)
{
    size_t first = q->cap - at < n ? q->cap - at : n;

    memcpy(q->ring + at, src, first);
    memcpy(q->ring, (const char *)src + first, n - first);
}

static void ring_get(const struct xq *q, void *dst, size_t n, size_t at)
{
    size_t first = q->cap - at < n ? q->cap - at : n;

    memcpy(dst, q->ring + at, first);
    memcpy((char *)dst + first, q->ring, n - first);
}

static int ring_push(struct xq *q, enum event_type t, const char *line, uint32_t len)
{
    size_t need = 5u + len, tail;
    unsigned char hdr[5];

    if (q->cap - q->used < need || len > XQ_MAX_EVENT)
        return -1;
    tail = (q->head + q->used) % q->cap;
    hdr[0] = (unsigned char)t;
    memcpy(hdr + 1, &len, 4);
    ring_put(q, hdr, 5, tail);
    ring_put(q, line, len, (tail + 5) % q->cap);
    q->used += need;
    q->pushed += need;
    return 0;
}

/* Moves whole records (at most XQ_BATCH bytes, at least one) into batch. */
static size_t ring_take(struct xq *q, char *batch)
{
    size_t n = 0;

    while (q->used) {
        unsigned char hdr[5];
        uint32_t len;

        ring_get(q, hdr, 5, q->head);
        memcpy(&len, hdr + 1, 4);
        if (n && n + 5u + len > XQ_BATCH)
            break;
        ring_get(q, batch + n, 5u + len, q->head);
        n += 5u + len;
        q->head = (q->head + 5u + len) % q->cap;
        q->used -= 5u + len;
        q->taken += 5u + len;
    }
    return n;
}

/* ---------------------------------------------------------------- the thread */

static int spool_alert(struct xq *q, const char *line, uint32_t len)
{
    if (q->spool && spool_append(q->spool, line, len) == 0) {
        q->spooled++;
        if (!q->spooling)
            q->barrier = q->pushed;
        q->spooling = 1;
        return 0;
    }
    if (q->spool_lost++ % 1000 == 0)
        log_error("%s: alert spool full or unwritable: %llu alert(s) lost so far",
                  q->x->ops->name, (unsigned long long)q->spool_lost);
    return -1;
}

static void backoff(struct xq *q)
{
    q->retry_ms = q->retry_ms ? q->retry_ms * 2 : RETRY_MIN_MS;
    if (q->retry_ms > RETRY_MAX_MS)
        q->retry_ms = RETRY_MAX_MS;
    q->retry_at = lw_now_mono_usec() + q->retry_ms * 1000ull;
}

/* Writes what the spool holds, in order, until it is empty or the exporter
 * fails again. Called with q->mu held; drops it around each write. */
static void drain_spool(struct xq *q, char **buf, size_t *cap)
{
    while (q->spooling) {
        int64_t n = spool_peek(q->spool, buf, cap);
        int rc;

        if (n == 0) {
            q->spooling = 0;           /* empty: new alerts may use the queue again */
            q->retry_ms = 0;
            return;
        }
        if (n < 0) {
            backoff(q);
            return;
        }
        pthread_mutex_unlock(&q->mu);
        rc = q->x->ops->write_event(q->x, EVT_ALERT, *buf, (size_t)n);
        pthread_mutex_lock(&q->mu);
        if (rc != 0) {
            CNT_INC(q->x->counters.failed);
            backoff(q);
            return;
        }
        CNT_INC(q->x->counters.written);
        spool_ack(q->spool);
    }
}

/* Writes a batch; an alert the exporter refuses goes to the spool. */
static void write_batch(struct xq *q, const char *batch, size_t n)
{
    for (size_t off = 0; off < n;) {
        enum event_type t = (enum event_type)(unsigned char)batch[off];
        uint32_t len;
        int rc;

        memcpy(&len, batch + off + 1, 4);
        rc = (t == EVT_ALERT && q->spooling) ? -1 : q->x->ops->write_event(q->x, t, batch + off + 5, len);
        if (rc == 0) {
            CNT_INC(q->x->counters.written);
        } else if (t == EVT_ALERT) {
            pthread_mutex_lock(&q->mu);
            if (!q->spooling)
                backoff(q);
            spool_alert(q, batch + off + 5, len);
            pthread_mutex_unlock(&q->mu);
        } else {
            CNT_INC(q->x->counters.failed);
        }
        off += 5u + len;
    }
}

static void *xq_main(void *arg)
{
    struct xq *q = arg;
    char *batch = malloc(XQ_BATCH), *sbuf = NULL;
    size_t scap = 0;

    pthread_mutex_lock(&q->mu);
    for (;;) {
        size_t n;

        if (q->spooling && lw_now_mono_usec() >= q->retry_at && q->taken >= q->barrier)
            drain_spool(q, &sbuf, &scap);
        if (q->used == 0 && q->flush_req != q->flush_done) {
            uint64_t g = q->flush_req;

            pthread_mutex_unlock(&q->mu);
            if (q->x->ops->flush(q->x) < 0)
                CNT_INC(q->x->counters.failed);
            pthread_mutex_lock(&q->mu);
            q->flush_done = g;
            pthread_cond_broadcast(&q->done);
        }
        if (q->reopen_req != q->reopen_done) {
            uint64_t g = q->reopen_req;
            int rc;

            /* what was queued before the request belongs to the old file */
            while ((n = ring_take(q, batch)) > 0) {
                pthread_mutex_unlock(&q->mu);
                write_batch(q, batch, n);
                pthread_mutex_lock(&q->mu);
            }
            pthread_mutex_unlock(&q->mu);
            q->x->ops->flush(q->x);
            rc = q->x->ops->reopen(q->x);
            pthread_mutex_lock(&q->mu);
            q->reopen_rc = rc;
            q->reopen_done = g;
            pthread_cond_broadcast(&q->done);
        }
        if (q->used == 0) {
            if (q->stop)
                break;
            if (q->spooling) {
                struct timespec ts;
                uint64_t at = lw_now_mono_usec() > q->retry_at ? lw_now_mono_usec() : q->retry_at;
                uint64_t real = lw_now_real_usec() + (at - lw_now_mono_usec());

                ts.tv_sec = (time_t)(real / 1000000u);
                ts.tv_nsec = (long)(real % 1000000u) * 1000;
                pthread_cond_timedwait(&q->wake, &q->mu, &ts);
            } else if (q->flush_req == q->flush_done && q->reopen_req == q->reopen_done) {
                pthread_cond_wait(&q->wake, &q->mu);
            }
            continue;
        }
        n = batch ? ring_take(q, batch) : 0;
        pthread_mutex_unlock(&q->mu);
        if (n)
            write_batch(q, batch, n);
        pthread_mutex_lock(&q->mu);
    }
    /* Shutting down: one last attempt to deliver spooled alerts. */
    if (q->spooling) {
        q->retry_at = 0;
        drain_spool(q, &sbuf, &scap);
        if (q->spooling)
            log_warning("%s: %llu alert(s) stay in the spool for the next start",
                        q->x->ops->name, (unsigned long long)spool_pending(q->spool));
    }
    pthread_mutex_unlock(&q->mu);
    free(batch);
    free(sbuf);
    return NULL;
}

/* ---------------------------------------------------------------- set-up */

static void xq_free(struct xq *q)
{
    if (!q)
        return;
    if (q->started) {
        pthread_mutex_lock(&q->mu);
        q->stop = 1;
        pthread_cond_signal(&q->wake);
        pthread_mutex_unlock(&q->mu);
        pthread_join(q->thread, NULL);
    }
    if (q->x) {
        q->x->ops->flush(q->x);
        q->x->ops->close(q->x);
    }
    spool_close(q->spool);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->wake);
    pthread_cond_destroy(&q->done);
    free(q->ring);
    free(q);
}

/* Queues and starts a thread for x (owned from here, also on error). */
static int output_add(struct output *o, struct exporter *x, const struct lw_config *cfg,
                      const char *spool_dir, char *err, size_t errlen)
{
    struct xq *q;
    char path[4096];

    if (o->n == OUTPUT_MAX_EXPORTERS || !(q = calloc(1, sizeof *q))) {
        x->ops->close(x);
        snprintf(err, errlen, "too many exporters or out of memory");
        return -1;
    }
    q->x = x;
    q->o = o;
    q->cap = cfg->outputs.queue_size;
    q->ring = malloc(q->cap);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->wake, NULL);
    pthread_cond_init(&q->done, NULL);
    o->q[o->n++] = q;
    if (!q->ring) {
        snprintf(err, errlen, "%s: no memory for a %zu-byte queue (outputs.queue-size)", x->ops->name, q->cap);
        return -1;
    }
    if (x->types & (1u << EVT_ALERT)) {
        snprintf(path, sizeof path, "%s/%s.alerts.spool", spool_dir, x->ops->name);
        q->spool = spool_open(path, cfg->outputs.spool_size, err, errlen);
        if (!q->spool)
            return -1;
        if (spool_pending(q->spool)) {
            q->spooling = 1;           /* an earlier run left alerts: they go first */
            log_info("%s: %llu alert(s) spooled by an earlier run will be delivered first",
                     x->ops->name, (unsigned long long)spool_pending(q->spool));
        }
    }
    if (pthread_create(&q->thread, NULL, xq_main, q) != 0) {
        snprintf(err, errlen, "%s: cannot start its thread", x->ops->name);
        return -1;
    }
    q->started = 1;
    o->wanted |= x->types;
    return 0;
}

static char *log_path(const char *logdir, const char *name)
{
    char *p;

    if (name[0] == '/')
        return strdup(name);
    return asprintf(&p, "%s/%s", logdir, name) < 0 ? NULL : p;
}

struct output *output_open(const struct lw_config *cfg, const char *logdir, char *err, size_t errlen)
{
    struct output *o = calloc(1, sizeof *o);
    char *spool_dir = NULL;
    struct exporter *x;

    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    spool_dir = log_path(logdir, cfg->outputs.spool_dir[0] ? cfg->outputs.spool_dir : "spool");
    if (!spool_dir || (mkdir(spool_dir, 0700) < 0 && errno != EEXIST)) {
        snprintf(err, errlen, "outputs.spool-dir: %s: cannot create: %s", spool_dir ? spool_dir : "",
                 strerror(errno));
        goto fail;
    }
    if (cfg->outputs.eve_file.enabled) {
        char *path = log_path(logdir, cfg->outputs.eve_file.filename);

        x = path ? eve_file_open(path, types_mask(&cfg->outputs.eve_file.types), &cfg->outputs.eve_file,
                                 err, errlen) : NULL;
        free(path);
        if (!x || output_add(o, x, cfg, spool_dir, err, errlen) < 0)
            goto fail;
    }
    if (cfg->outputs.syslog.enabled) {
        x = syslog_exporter_open(&cfg->outputs.syslog, types_mask(&cfg->outputs.syslog.types),
                                 err, errlen);
        if (!x || output_add(o, x, cfg, spool_dir, err, errlen) < 0)
            goto fail;
    }
    if (cfg->outputs.unix_socket.enabled) {
        x = unix_socket_open(cfg->outputs.unix_socket.path, types_mask(&cfg->outputs.unix_socket.types),
                             err, errlen);
        if (!x || output_add(o, x, cfg, spool_dir, err, errlen) < 0)
            goto fail;
    }
    /* redis (sensor/redis/redis.h): its write_event only queues for its own
     * thread, which pipelines, spools to redis.spool-dir while Redis is away
     * and replays exactly once; the spool here takes alerts only when that
     * queue is full. */
    if (cfg->redis.enabled) {
        x = redis_exporter_open(cfg, 1u << EVT_ALERT | (cfg->redis.flows_stream ? 1u << EVT_FLOW : 0),
                                err, errlen);
        if (!x || output_add(o, x, cfg, spool_dir, err, errlen) < 0)
            goto fail;
    }
    o->spool_dir = spool_dir;
    return o;
fail:
    free(spool_dir);
    output_close(o);
    return NULL;
}

void output_close(struct output *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++)
        xq_free(o->q[i]);
    free(o->spool_dir);
    free(o);
}

int output_give(struct output *o, unsigned uid, unsigned gid, char *err, size_t errlen)
{
    struct stat st;

    /* The spool folder is linkwatch's own, but never take over a shared
     * one (spool-dir: /tmp) that others may write into. */
    if (stat(o->spool_dir, &st) == 0 && st.st_uid == 0 && !(st.st_mode & (S_ISVTX | S_IWOTH)) &&
        chown(o->spool_dir, uid, gid) < 0) {
        snprintf(err, errlen, "%s: cannot give to uid %u: %s", o->spool_dir, uid, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < o->n; i++) {
        struct xq *q = o->q[i];

        if ((q->spool && spool_give(q->spool, uid, gid) < 0) ||
            (q->x->ops->give && q->x->ops->give(q->x, uid, gid) < 0)) {
            snprintf(err, errlen, "%s: cannot give its files to uid %u: %s", q->x->ops->name, uid,
                     strerror(errno));
            return -1;
        }
    }
    return 0;
}

int output_wants(const struct output *o, enum event_type t)
{
    return (o->wanted >> t) & 1u;
}

void output_event(struct output *o, enum event_type t, const char *line, size_t len)
{
    __atomic_add_fetch(&o->st.events[t], 1, __ATOMIC_RELAXED);
    for (size_t i = 0; i < o->n; i++) {
        struct xq *q = o->q[i];

        if (!((q->x->types >> t) & 1u))
            continue;
        pthread_mutex_lock(&q->mu);
        if (t == EVT_ALERT && q->spooling) {
            spool_alert(q, line, (uint32_t)len);          /* behind the spooled ones */
        } else if (ring_push(q, t, line, (uint32_t)len) == 0) {
            if (q->used == 5u + len)                        /* it was empty: the thread sleeps */
                pthread_cond_signal(&q->wake);
        } else if (t == EVT_ALERT) {
            spool_alert(q, line, (uint32_t)len);
            pthread_cond_signal(&q->wake);
        } else {
            q->dropped[t]++;
        }
        pthread_mutex_unlock(&q->mu);
    }
}

/* Waits until each exporter has written everything queued before the call
 * and flushed its buffers. */
void output_flush(struct output *o)
{
    for (size_t i = 0; i < o->n; i++) {
        struct xq *q = o->q[i];
        uint64_t g;

        pthread_mutex_lock(&q->mu);
        g = ++q->flush_req;
        pthread_cond_signal(&q->wake);
        while (q->flush_done < g)
            pthread_cond_wait(&q->done, &q->mu);
        pthread_mutex_unlock(&q->mu);
    }
}

int output_reopen(struct output *o)
{
    int rc = 0;

    for (size_t i = 0; i < o->n; i++) {
        struct xq *q = o->q[i];
        uint64_t g;

        pthread_mutex_lock(&q->mu);
        g = ++q->reopen_req;
        pthread_cond_signal(&q->wake);
        while (q->reopen_done < g)
            pthread_cond_wait(&q->done, &q->mu);
        if (q->reopen_rc < 0) {
            log_error("%s: reopen failed", q->x->ops->name);
            rc = -1;
        }
        pthread_mutex_unlock(&q->mu);
    }
    return rc;
}

struct exporter *output_find(const struct output *o, const char *name)
{
    for (size_t i = 0; o && i < o->n; i++)
        if (strcmp(o->q[i]->x->ops->name, name) == 0)
            return o->q[i]->x;
    return NULL;
}

uint64_t output_count(const struct output *o, enum event_type t)
{
    return __atomic_load_n(&o->st.events[t], __ATOMIC_RELAXED);
}

uint64_t output_failures(const struct output *o)
{
    uint64_t n = 0;

    for (size_t i = 0; i < o->n; i++)
        n += CNT_GET(o->q[i]->x->counters.failed);
    return n;
}

size_t output_exporters(const struct output *o, struct output_exporter_stats *v, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < o->n && n < max; i++, n++) {
        struct xq *q = o->q[i];

        pthread_mutex_lock(&q->mu);
        v[n].name = q->x->ops->name;
        v[n].written = CNT_GET(q->x->counters.written);
        v[n].failed = CNT_GET(q->x->counters.failed);
        v[n].dropped = 0;
        for (int t = 0; t < EVT_MAX; t++)
            v[n].dropped += q->dropped[t];
        v[n].spooled = q->spooled;
        v[n].spool_pending = q->spool ? spool_pending(q->spool) : 0;
        v[n].spool_lost = q->spool_lost;
        v[n].queue_bytes = q->used;
        pthread_mutex_unlock(&q->mu);
    }
    return n;
}

const struct output_stats *output_stats(const struct output *o)
{
    return &o->st;
}

#define EV(t, name) \
    { "events/" name, "linkwatch_events_total", "type=" name, "Events produced, by type.", \
      (uint32_t)offsetof(struct output_stats, events[t]), STATS_COUNTER, STATS_SUM, STATS_NOEVE, 0, NULL }
static const struct stats_field output_fields[] = {
    EV(EVT_ALERT, "alert"), EV(EVT_FLOW, "flow"), EV(EVT_STATS, "stats"), EV(EVT_GEO_SUMMARY, "geo_summary"),
    EV(EVT_RELOAD, "reload"), EV(EVT_HTTP, "http"), EV(EVT_DNS, "dns"), EV(EVT_TLS, "tls"), EV(EVT_SSH, "ssh"),
    EV(EVT_FILEINFO, "fileinfo"),
};
#undef EV

const struct stats_module output_stats_module = {
    "output", output_fields, STATS_NELEM(output_fields), sizeof(struct output_stats), NULL
};

#define XS(member, prom, label, help, kind) \
    { "exporter/" #member, prom, label, help, (uint32_t)offsetof(struct output_exporter_stats, member), kind, \
      STATS_SUM, STATS_EACH, 0, NULL }
static const struct stats_field exporter_fields[] = {
    XS(written, "linkwatch_exporter_events_total", "result=written",
       "Events per exporter: written, failed (sink refused), dropped (queue full).", STATS_COUNTER),
    XS(failed, "linkwatch_exporter_events_total", "result=failed", NULL, STATS_COUNTER),
    XS(dropped, "linkwatch_exporter_events_total", "result=dropped", NULL, STATS_COUNTER),
    XS(spooled, "linkwatch_exporter_alerts_spooled_total", NULL, "Alerts put in an exporter's disk spool.",
       STATS_COUNTER),
    XS(spool_pending, "linkwatch_exporter_spool_pending", NULL, "Spooled alerts not yet delivered.", STATS_GAUGE),
    XS(spool_lost, "linkwatch_exporter_alerts_lost_total", NULL, "Alerts lost: the spool was full.", STATS_COUNTER),
    XS(queue_bytes, "linkwatch_exporter_queue_bytes", NULL, "Bytes waiting in an exporter's queue.", STATS_GAUGE),
};
#undef XS

const struct stats_module exporter_stats_module = {
    "exporters", exporter_fields, STATS_NELEM(exporter_fields), sizeof(struct output_exporter_stats), "exporter"
};
