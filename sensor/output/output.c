/* output.c - event fan-out to exporters; see output.h.
 *
 * Each exporter has a bounded byte queue and a thread of its own: a worker
 * fills a batch of its own without any lock (output_batch_add()) and hands
 * the whole batch over at once (output_publish()): one lock per exporter,
 * the batch copied into its queue, and at most one wake. The thread sleeps
 * until enough is queued or a short deadline passes (OUTPUT_NAP_USEC), so
 * a busy link costs a wake per batch, not per event; a thread that found
 * nothing at its deadline sleeps until the next publish. A slow or dead
 * sink never stalls capture. Every alert is numbered as it is queued (per
 * exporter, increasing across restarts), and is delivered in that order,
 * once, whatever fails on the way. Alerts wait in three places, oldest
 * first:
 *
 *   spool     alerts the exporter failed (or could not be offered while
 *             older ones waited), on disk; only this thread touches it;
 *   queue     the ring below, in memory;
 *   overflow  alerts that found the queue full, on disk, appended by the
 *             workers; while it holds any, newer alerts go there too.
 *
 * The thread offers the queue's alerts only while the spool is empty, and
 * the overflow only once the spool is empty and the alerts queued before
 * the overflow began (the barrier) were taken. A failed alert, and every
 * alert of its batch after it, goes to the spool; spooled alerts are
 * offered again after a wait that doubles from 0.1 s to 5 s. Events other
 * than alerts are dropped when the queue is full and counted as failed
 * when the exporter refuses them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "output.h"
#include "exporters.h"
#include "fsafe.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#define OUTPUT_MAX_EXPORTERS 8
#define XQ_BATCH      (256u << 10)   /* bytes a thread takes off its queue at once */
#define XQ_HDR        13u            /* record header: [u8 type][u32 len][u64 seq] */
#define XQ_MAX_EVENT  (XQ_BATCH - XQ_HDR)  /* longer events are not queued (counted) */
#define REPLAY_RECORDS 1024          /* spooled alerts offered at once */
#define REPLAY_BYTES  (1u << 20)
#define RETRY_MIN_MS  100
#define RETRY_MAX_MS  5000
#define LOG_EVERY_USEC 10000000u     /* "spool full" at most this often */
/* A worker's batch: published when full (and at ticks, before blocking reads). */
#define OUTPUT_BATCH_BYTES (64u << 10)
/* A napping exporter thread is woken only once this much is queued; else
 * it takes what came at its deadline. */
#define WAKE_BYTES    (XQ_BATCH / 2)
#define OUTPUT_NAP_USEC 10000u

/* What an exporter thread is doing, for the wake policy (under q->mu). */
enum xq_idle { XQ_BUSY = 0, XQ_NAP, XQ_SLEEP };

#define CNT_INC(x)    __atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)
#define CNT_ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)
#define CNT_GET(x)    __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* One exporter, its queue, its spools and its thread. */
struct xq {
    struct exporter *x;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t wake;             /* queue not empty, or a request */
    pthread_cond_t done;             /* a flush/reopen request finished */
    char *ring;                      /* records: [u8 type][u32 len][u64 seq][bytes], wrapping */
    size_t cap, head, used;          /* head: where the oldest record starts */
    int stop;
    int idle;                        /* enum xq_idle */
    uint64_t flush_req, flush_done;  /* generation counters */
    uint64_t reopen_req, reopen_done;
    int reopen_rc;

    /* Alerts not delivered yet (NULL: the exporter takes no alerts). */
    struct spool *spool, *overflow;
    const char *size_key;            /* the setting bounding them, for messages */
    uint64_t spool_max;              /* bytes, both files together */
    int own_dir;                     /* in a folder of their own (redis.spool-dir) */
    int overflowing;                 /* new alerts go to the overflow (keeps order) */
    int overflow_dirty;              /* appended, not synced yet */
    uint64_t pushed, taken;          /* bytes ever queued / taken off the queue */
    uint64_t barrier;                /* the overflow is offered once taken >= barrier */
    uint64_t last_seq;
    uint64_t retry_at;               /* mono usec before which the spools are not offered */
    unsigned retry_ms;
    uint64_t dropped[EVT_MAX];       /* queue full, not an alert */
    uint64_t spool_lost;             /* alerts the full spool could not take */
    uint64_t spooled;                /* alerts put in a spool */
    uint64_t log_full;               /* mono usec of the last "spool full" message */

    /* The thread's own. */
    char *batch;
    struct exporter_event *ev;
    struct spool_rec *keep;
    unsigned char *ok;
    size_t cev;
};

struct output {
    struct xq *q[OUTPUT_MAX_EXPORTERS];
    char *spool_dir;                 /* made by output_open(), for messages */
    int spool_fd;                    /* that folder */
    size_t n;
    uint32_t wanted;                 /* union of the exporters' type masks */
    struct output_stats st;          /* handed in (atomic) */
};

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

static int ring_push(struct xq *q, enum event_type t, uint64_t seq, const char *line, uint32_t len)
{
    size_t need = XQ_HDR + len, tail;
    unsigned char hdr[XQ_HDR];

    if (q->cap - q->used < need || len > XQ_MAX_EVENT)
        return -1;
    tail = (q->head + q->used) % q->cap;
    hdr[0] = (unsigned char)t;
    memcpy(hdr + 1, &len, 4);
    memcpy(hdr + 5, &seq, 8);
    ring_put(q, hdr, XQ_HDR, tail);
    ring_put(q, line, len, (tail + XQ_HDR) % q->cap);
    q->used += need;
    q->pushed += need;
    return 0;
}

/* Moves whole records (at most XQ_BATCH bytes, at least one) into batch. */
static size_t ring_take(struct xq *q, char *batch)
{
    size_t n = 0;

    while (q->used) {
        unsigned char hdr[XQ_HDR];
        uint32_t len;

        ring_get(q, hdr, XQ_HDR, q->head);
        memcpy(&len, hdr + 1, 4);
        if (n && n + XQ_HDR + len > XQ_BATCH)
            break;
        ring_get(q, batch + n, XQ_HDR + len, q->head);
        n += XQ_HDR + len;
        q->head = (q->head + XQ_HDR + len) % q->cap;
        q->used -= XQ_HDR + len;
        q->taken += XQ_HDR + len;
    }
    if (q->used == 0)
        q->head = 0;     /* start over: only the most ever queued at once becomes resident */
    return n;
}

/* ---------------------------------------------------------------- alerts on disk */

/* Sequence numbers: microseconds since the epoch, made to increase, and
 * above what the sink says it has (exporter.seq_floor). Under q->mu. */
static uint64_t next_seq(struct xq *q)
{
    uint64_t now = lw_now_real_usec(), floor = CNT_GET(q->x->seq_floor);

    if (floor > q->last_seq)
        q->last_seq = floor;
    q->last_seq = now > q->last_seq ? now : q->last_seq + 1;
    return q->last_seq;
}

/* Appends r[0..n) to s within what the two spools may hold together, and
 * counts. Returns how many went in. Under q->mu. */
static size_t spool_put(struct xq *q, struct spool *s, const struct spool_rec *r, size_t n)
{
    struct spool *other = s == q->spool ? q->overflow : q->spool;
    uint64_t used = spool_file_size(other), now;
    size_t put;

    spool_limit(s, q->spool_max > used ? q->spool_max - used : 0);
    put = spool_append(s, r, n);
    q->spooled += put;
    if (put == n)
        return put;
    q->spool_lost += n - put;
    now = lw_now_mono_usec();
    if (!q->log_full || now - q->log_full > LOG_EVERY_USEC) {
        log_error("%s: alert spool %s is full (%s) or cannot be written: %llu alert(s) not "
                  "spooled so far; they are lost for this exporter", q->x->name, spool_path(s),
                  q->size_key, (unsigned long long)q->spool_lost);
        q->log_full = now;
    }
    return put;
}

/* A worker's alert that found the queue full, or the overflow in use. */
static void overflow_alert(struct xq *q, uint64_t seq, const char *line, size_t len)
{
    struct spool_rec r = { seq, line, len };

    if (spool_put(q, q->overflow, &r, 1) != 1)
        return;
    if (!q->overflowing)
        q->barrier = q->pushed;
    q->overflowing = 1;
    q->overflow_dirty = 1;
}

static void backoff(struct xq *q)
{
    q->retry_ms = q->retry_ms ? q->retry_ms * 2 : RETRY_MIN_MS;
    if (q->retry_ms > RETRY_MAX_MS)
        q->retry_ms = RETRY_MAX_MS;
    q->retry_at = lw_now_mono_usec() + q->retry_ms * 1000ull;
}

/* The spool whose alerts go next, or NULL. Under q->mu. */
static struct spool *next_spool(const struct xq *q)
{
    if (q->spool && spool_pending(q->spool))
        return q->spool;
    if (q->overflow && spool_pending(q->overflow) && q->taken >= q->barrier)
        return q->overflow;
    return NULL;
}

/* ---------------------------------------------------------------- writing */

/* Room for n events in the thread's arrays. Returns 0 or -1. */
static int reserve(struct xq *q, size_t n)
{
    struct exporter_event *ev;
    struct spool_rec *keep;
    unsigned char *ok;

    if (n <= q->cev)
        return 0;
    if ((ev = realloc(q->ev, n * sizeof *ev)) == NULL)
        return -1;
    q->ev = ev;
    if ((keep = realloc(q->keep, n * sizeof *keep)) == NULL)
        return -1;
    q->keep = keep;
    if ((ok = realloc(q->ok, n)) == NULL)
        return -1;
    q->ok = ok;
    q->cev = n;
    return 0;
}

/* Hands ev[0..n) to the exporter, in one batch when it takes batches, and
 * sets ok[i]. Once an alert failed, later alerts are not offered. */
static void offer(struct xq *q, const struct exporter_event *ev, size_t n, unsigned char *ok)
{
    int alert_failed = 0;

    if (q->x->ops->write_batch) {
        q->x->ops->write_batch(q->x, ev, n, ok);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (ev[i].type == EVT_ALERT && alert_failed) {
            ok[i] = 0;
            continue;
        }
        ok[i] = q->x->ops->write_event(q->x, &ev[i]) == 0;
        if (!ok[i] && ev[i].type == EVT_ALERT)
            alert_failed = 1;
    }
}

/* Offers up to one read of spooled alerts (from s) again. Returns how many
 * were delivered; fewer than read starts a wait. Called with q->mu held;
 * drops it around the writes. */
static size_t replay(struct xq *q, struct spool *s)
{
    struct spool_rec r[REPLAY_RECORDS];
    size_t n = spool_read(s, r, REPLAY_RECORDS, REPLAY_BYTES), k = 0;

    if (n == 0 || reserve(q, n) < 0) {
        backoff(q);                    /* cannot read it now (logged there): later */
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        q->ev[i] = (struct exporter_event){ EVT_ALERT, r[i].seq, r[i].line, r[i].len };
    pthread_mutex_unlock(&q->mu);
    offer(q, q->ev, n, q->ok);
    while (k < n && q->ok[k])
        k++;
    CNT_ADD(q->x->counters.written, k);
    if (k < n)
        CNT_INC(q->x->counters.failed);
    pthread_mutex_lock(&q->mu);
    if (spool_commit(s, k) < 0)
        log_error("%s: spool %s: cannot record the delivered offset: %s", q->x->name, spool_path(s),
                  strerror(errno));
    if (s == q->overflow && spool_pending(s) == 0)
        q->overflowing = 0;            /* drained: new alerts may use the queue again */
    if (k < n)
        backoff(q);
    else
        q->retry_ms = 0;
    return k;
}

/* Parses a batch taken off the queue into q->ev. Returns the count, or 0
 * when out of memory (the batch is then lost, logged). */
static size_t parse_batch(struct xq *q, const char *batch, size_t len)
{
    size_t n = 0;

    for (size_t off = 0; off < len; n++) {
        uint32_t l;

        memcpy(&l, batch + off + 1, 4);
        off += XQ_HDR + l;
    }
    if (reserve(q, n) < 0) {
        log_error("%s: out of memory: %zu events lost", q->x->name, n);
        return 0;
    }
    n = 0;
    for (size_t off = 0; off < len; n++) {
        struct exporter_event *e = &q->ev[n];
        uint32_t l;

        e->type = (enum event_type)(unsigned char)batch[off];
        memcpy(&l, batch + off + 1, 4);
        memcpy(&e->seq, batch + off + 5, 8);
        e->line = batch + off + XQ_HDR;
        e->len = l;
        off += XQ_HDR + l;
    }
    return n;
}

/* Writes a batch taken off the queue. While older alerts wait in the spool
 * its alerts join them unoffered; an alert the exporter fails, and those
 * after it, go there too. Called without q->mu. */
static void deliver(struct xq *q, const char *batch, size_t len)
{
    size_t n = parse_batch(q, batch, len), ns = 0, nk = 0;
    struct exporter_event *send;
    int behind, kept_alert = 0;

    if (n == 0)
        return;
    pthread_mutex_lock(&q->mu);
    behind = q->spool && spool_pending(q->spool) > 0;
    pthread_mutex_unlock(&q->mu);
    /* What is offered: everything, or only the events other than alerts,
     * moved to the front (q->ev keeps its order for what stays). */
    send = q->ev;
    if (behind) {
        for (size_t i = 0; i < n; i++) {
            if (q->ev[i].type == EVT_ALERT)
                q->keep[nk++] = (struct spool_rec){ q->ev[i].seq, q->ev[i].line, q->ev[i].len };
            else
                q->ev[ns++] = q->ev[i];
        }
    } else {
        ns = n;
    }
    if (ns)
        offer(q, send, ns, q->ok);
    for (size_t i = 0; i < ns; i++) {
        const struct exporter_event *e = &send[i];

        if (e->type == EVT_ALERT && (kept_alert || !q->ok[i])) {
            kept_alert = 1;
            q->keep[nk++] = (struct spool_rec){ e->seq, e->line, e->len };
        } else if (q->ok[i]) {
            CNT_INC(q->x->counters.written);
        } else {
            CNT_INC(q->x->counters.failed);
        }
    }
    if (nk == 0)
        return;
    pthread_mutex_lock(&q->mu);
    spool_put(q, q->spool, q->keep, nk);
    if (!behind)
        backoff(q);
    pthread_mutex_unlock(&q->mu);
    spool_sync(q->spool);
}

/* Offers the spooled alerts now, regardless of the wait: on while they go,
 * and for grace usec without progress. Called with q->mu held (the queue
 * is empty). */
static void drain(struct xq *q, uint64_t grace)
{
    uint64_t deadline = lw_now_mono_usec() + grace;
    struct spool *s;

    while ((s = next_spool(q)) != NULL) {
        if (replay(q, s) > 0)
            deadline = lw_now_mono_usec() + grace;
        else if (lw_now_mono_usec() >= deadline)
            break;
        else {
            uint64_t nap = deadline - lw_now_mono_usec();

            pthread_mutex_unlock(&q->mu);
            usleep((useconds_t)(nap < 100000u ? nap : 100000u));
            pthread_mutex_lock(&q->mu);
        }
    }
}

/* ---------------------------------------------------------------- the thread */

/* Waits for work, with q->mu held. After work (napped 0) it naps for
 * OUTPUT_NAP_USEC: only a full queue, an overflowed alert or a request
 * wakes it earlier, so small publishes pile up meanwhile. After a nap that
 * brought nothing it sleeps until the next publish. Spooled alerts cut
 * either short when they are due. */
static void idle(struct xq *q, int napped)
{
    uint64_t now = lw_now_mono_usec(), until = UINT64_MAX;

    if (q->flush_req != q->flush_done || q->reopen_req != q->reopen_done)
        return;
    if (next_spool(q)) {
        if (now >= q->retry_at)
            return;
        until = q->retry_at;
    }
    if (!napped && now + OUTPUT_NAP_USEC < until)
        until = now + OUTPUT_NAP_USEC;
    q->idle = napped ? XQ_SLEEP : XQ_NAP;
    if (until == UINT64_MAX) {
        pthread_cond_wait(&q->wake, &q->mu);
    } else {
        struct timespec ts = { (time_t)(until / 1000000u), (long)(until % 1000000u) * 1000 };

        pthread_cond_timedwait(&q->wake, &q->mu, &ts);
    }
    q->idle = XQ_BUSY;
}

/* A publisher wakes the thread when it sleeps, or when it naps and the
 * queue is worth a write (or an alert overflowed: urgent). Under q->mu. */
static void wake_thread(struct xq *q, int urgent)
{
    if (q->idle == XQ_SLEEP || (q->idle == XQ_NAP && (urgent || q->used >= WAKE_BYTES)))
        pthread_cond_signal(&q->wake);
}

/* Serves a reopen request: what was queued before it belongs to the old
 * file. With q->mu held. */
static void reopen_now(struct xq *q)
{
    uint64_t g = q->reopen_req;
    size_t n;
    int rc;

    while ((n = ring_take(q, q->batch)) > 0) {
        pthread_mutex_unlock(&q->mu);
        deliver(q, q->batch, n);
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

/* Serves a flush request (the queue is empty). With q->mu held. */
static void flush_now(struct xq *q)
{
    uint64_t g = q->flush_req;

    drain(q, q->x->drain_grace_usec);
    pthread_mutex_unlock(&q->mu);
    if (q->x->ops->flush(q->x) < 0)
        CNT_INC(q->x->counters.failed);
    pthread_mutex_lock(&q->mu);
    q->flush_done = g;
    pthread_cond_broadcast(&q->done);
}

static void sync_overflow(struct xq *q)
{
    if (!q->overflow_dirty)
        return;
    q->overflow_dirty = 0;
    pthread_mutex_unlock(&q->mu);
    spool_sync(q->overflow);
    pthread_mutex_lock(&q->mu);
}

static void *xq_main(void *arg)
{
    struct xq *q = arg;
    struct spool *s;
    size_t n;
    int napped = 0;

    pthread_mutex_lock(&q->mu);
    for (;;) {
        sync_overflow(q);
        if ((s = next_spool(q)) != NULL && lw_now_mono_usec() >= q->retry_at)
            replay(q, s);
        if (q->used == 0 && q->flush_req != q->flush_done)
            flush_now(q);
        if (q->reopen_req != q->reopen_done)
            reopen_now(q);
        if (q->used == 0) {
            if (q->stop)
                break;
            idle(q, napped);
            napped = q->used == 0;
            continue;
        }
        napped = 0;
        n = ring_take(q, q->batch);
        pthread_mutex_unlock(&q->mu);
        deliver(q, q->batch, n);
        pthread_mutex_lock(&q->mu);
    }
    /* Shutting down: one last attempt to deliver spooled alerts. */
    drain(q, 0);
    sync_overflow(q);
    if (next_spool(q))
        log_warning("%s: %llu alert(s) left in the spool %s; they are delivered first, in order, "
                    "the next time linkwatch runs", q->x->name,
                    (unsigned long long)(spool_pending(q->spool) + spool_pending(q->overflow)),
                    spool_path(spool_pending(q->spool) ? q->spool : q->overflow));
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

/* ---------------------------------------------------------------- set-up */

/* The thread's deadlines are monotonic times (lw_now_mono_usec()). */
static void init_wake(pthread_cond_t *c)
{
    pthread_condattr_t a;

    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

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
    spool_close(q->overflow);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->wake);
    pthread_cond_destroy(&q->done);
    free(q->ring);
    free(q->batch);
    free(q->ev);
    free(q->keep);
    free(q->ok);
    free(q);
}

/* The alert spool of the version before this one, <outputs.spool-dir>/
 * <name>.alerts.spool (an 8-byte delivered offset, then [u32 length][bytes]
 * records), is taken into the spool once, numbered, and removed: an upgrade
 * loses none of the alerts it waited with. */
static void import_old_spool(struct xq *q, int dirfd, const char *dir, const char *name)
{
    char path[4096], file[300], err[512], *buf = NULL, *nb;
    uint64_t off, n = 0;
    uint32_t len;
    FILE *f = NULL;
    int fd;

    snprintf(file, sizeof file, "%s.alerts.spool", name);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    fd = fs_open_file_at(dirfd, file, path, O_RDONLY, 0600, NULL, err, sizeof err);
    if (fd < 0) {
        if (errno != ENOENT)
            log_error("%s: %s", q->x->name, err);
        return;
    }
    if ((f = fdopen(fd, "r")) == NULL) {
        close(fd);
        return;
    }
    if (fread(&off, sizeof off, 1, f) == 1 && off >= sizeof off && fseeko(f, (off_t)off, SEEK_SET) == 0)
        while (fread(&len, sizeof len, 1, f) == 1 && len > 0 && len <= XQ_MAX_EVENT &&
               (nb = realloc(buf, len)) != NULL && fread(buf = nb, 1, len, f) == len) {
            struct spool_rec r = { next_seq(q), buf, len };

            n += spool_put(q, q->spool, &r, 1);
        }
    fclose(f);
    free(buf);
    if (spool_sync(q->spool) == 0 && unlinkat(dirfd, file, 0) == 0 && n)
        log_info("%s: %llu alert(s) of %s taken into %s", q->x->name, (unsigned long long)n, path,
                 spool_path(q->spool));
}

/* Opens x's two spools where its definition says (by default in the
 * output's spool folder, named after it). Returns 0 or -1. */
static int open_spools(struct xq *q, const struct exporter_def *def, const struct exporter_params *p,
                       const struct output *o, char *err, size_t errlen)
{
    struct spool_config sc = {
        .dir = o->spool_dir, .dirfd = o->spool_fd, .id = def->name, .max_bytes = p->cfg->outputs.spool_size,
        .dir_key = "outputs.spool-dir", .size_key = "outputs.spool-size", .handed_uid = -1,
    };
    char id[300];

    if (def->spool)
        def->spool(p, &sc);
    q->size_key = sc.size_key;
    q->spool_max = sc.max_bytes;
    q->own_dir = sc.own_dir;
    if (sc.own_dir) {
        uid_t uid;
        gid_t gid;

        /* Opened by the spool; may already be privileges.user's (output_give()). */
        sc.dirfd = -1;
        sc.handed_uid = geteuid() == 0 && p->cfg->privileges.user && p->cfg->privileges.user[0] &&
                        lw_lookup_user(p->cfg->privileges.user, &uid, &gid) == 0 ? (long)uid : -1;
    }
    if ((q->spool = spool_open(&sc, err, errlen)) == NULL)
        return -1;
    snprintf(id, sizeof id, "%s.overflow", sc.id);
    sc.id = id;
    if ((q->overflow = spool_open(&sc, err, errlen)) == NULL)
        return -1;
    q->last_seq = spool_last_seq(q->spool) > spool_last_seq(q->overflow) ? spool_last_seq(q->spool)
                                                                           : spool_last_seq(q->overflow);
    q->overflowing = spool_pending(q->overflow) > 0;
    import_old_spool(q, o->spool_fd, o->spool_dir, def->name);
    if (spool_pending(q->spool) || spool_pending(q->overflow))
        log_info("%s: %llu alert(s) spooled by an earlier run will be delivered first", def->name,
                 (unsigned long long)(spool_pending(q->spool) + spool_pending(q->overflow)));
    return 0;
}

/* Opens the exporter of def, with its queue, spools and thread, when its
 * section enables it. Returns 0, or -1 with err. */
static int output_add(struct output *o, const struct exporter_def *def, const struct lw_config *cfg,
                      const char *logdir, char *err, size_t errlen)
{
    struct exporter_params p = { cfg, config_section(cfg, &def->config), logdir, 0 };
    struct xq *q;

    if (p.section == NULL) {
        snprintf(err, errlen, "%s: its configuration section %s was not loaded", def->name,
                 def->config.path);
        return -1;
    }
    if (!def->enabled(&p, &p.types))
        return 0;
    if (o->n == OUTPUT_MAX_EXPORTERS || !(q = calloc(1, sizeof *q))) {
        snprintf(err, errlen, "%s: too many exporters or out of memory", def->name);
        return -1;
    }
    pthread_mutex_init(&q->mu, NULL);
    init_wake(&q->wake);
    pthread_cond_init(&q->done, NULL);
    o->q[o->n++] = q;
    if ((q->x = def->open(&p, err, errlen)) == NULL)
        return -1;
    q->x->name = def->name;
    q->cap = cfg->outputs.queue_size;
    q->ring = malloc(q->cap);
    q->batch = malloc(XQ_BATCH);
    if (!q->ring || !q->batch) {
        snprintf(err, errlen, "%s: no memory for a %zu-byte queue (outputs.queue-size)", def->name, q->cap);
        return -1;
    }
    if ((q->x->types & (1u << EVT_ALERT)) && open_spools(q, def, &p, o, err, errlen) < 0)
        return -1;
    if (pthread_create(&q->thread, NULL, xq_main, q) != 0) {
        snprintf(err, errlen, "%s: cannot start its thread", def->name);
        return -1;
    }
    q->started = 1;
    o->wanted |= q->x->types;
    return 0;
}

struct output *output_open_with(const struct exporter_def *const *registry, const struct lw_config *cfg,
                                const char *logdir, char *err, size_t errlen)
{
    struct output *o = calloc(1, sizeof *o);
    const char *rel = cfg->outputs.spool_dir[0] ? cfg->outputs.spool_dir : "spool";
    int logfd;

    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    o->spool_fd = -1;
    o->spool_dir = lw_join_path(logdir, rel);
    if (!o->spool_dir) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* Below the log folder (the user's after a drop) nothing is followed. */
    if ((logfd = fs_open_dir(logdir, 0, 0, NULL, err, errlen)) < 0)
        goto fail;
    o->spool_fd = fs_open_dir_at(logfd, rel, o->spool_dir, 1, 0700, NULL, err, errlen);
    close(logfd);
    if (o->spool_fd < 0) {
        char why[600];

        snprintf(why, sizeof why, "outputs.spool-dir: %s", err);
        snprintf(err, errlen, "%s", why);
        goto fail;
    }
    for (size_t i = 0; registry[i]; i++)
        if (output_add(o, registry[i], cfg, logdir, err, errlen) < 0)
            goto fail;
    return o;
fail:
    output_close(o);
    return NULL;
}

struct output *output_open(const struct lw_config *cfg, const char *logdir, char *err, size_t errlen)
{
    return output_open_with(exporter_registry, cfg, logdir, err, errlen);
}

void output_close(struct output *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++)
        xq_free(o->q[i]);
    if (o->spool_fd >= 0)
        close(o->spool_fd);
    free(o->spool_dir);
    free(o);
}

/* Gives spool folder fd to uid/gid when it is linkwatch's: root's, and not
 * a shared one (spool-dir: /tmp) that others may write into. */
static int give_spool_dir(int fd, const char *dir, unsigned uid, unsigned gid, char *err, size_t errlen)
{
    struct stat st;

    if (fstat(fd, &st) == 0 && st.st_uid == 0 && !(st.st_mode & (S_ISVTX | S_IWOTH)) &&
        fs_give(fd, uid, gid) < 0) {
        snprintf(err, errlen, "%s: cannot give to uid %u: %s", dir, uid, strerror(errno));
        return -1;
    }
    return 0;
}

int output_give(struct output *o, unsigned uid, unsigned gid, char *err, size_t errlen)
{
    if (give_spool_dir(o->spool_fd, o->spool_dir, uid, gid, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < o->n; i++) {
        struct xq *q = o->q[i];

        if (q->own_dir && give_spool_dir(spool_dirfd(q->spool), spool_path(q->spool), uid, gid, err, errlen) < 0)
            return -1;
        if ((q->spool && (spool_give(q->spool, uid, gid) < 0 || spool_give(q->overflow, uid, gid) < 0)) ||
            (q->x->ops->give && q->x->ops->give(q->x, uid, gid) < 0)) {
            snprintf(err, errlen, "%s: cannot give its files to uid %u: %s", q->x->name, uid,
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

/* One event into q's queue, under q->mu: an alert is numbered, and goes to
 * the overflow when the queue is full or the overflow is in use (behind the
 * overflowed ones); another event that does not fit is dropped (counted).
 * Returns 1 when an alert overflowed (the thread syncs the overflow). */
static int queue_one(struct xq *q, enum event_type t, const char *line, size_t len)
{
    uint64_t seq = t == EVT_ALERT ? next_seq(q) : 0;

    if (t == EVT_ALERT && q->overflowing) {
        overflow_alert(q, seq, line, len);
        return 1;
    }
    if (ring_push(q, t, seq, line, (uint32_t)len) == 0)
        return 0;
    if (t == EVT_ALERT) {
        overflow_alert(q, seq, line, len);
        return 1;
    }
    q->dropped[t]++;
    return 0;
}

void output_event(struct output *o, enum event_type t, const char *line, size_t len)
{
    __atomic_add_fetch(&o->st.events[t], 1, __ATOMIC_RELAXED);
    for (size_t i = 0; i < o->n; i++) {
        struct xq *q = o->q[i];

        if (!((q->x->types >> t) & 1u))
            continue;
        pthread_mutex_lock(&q->mu);
        wake_thread(q, queue_one(q, t, line, len));
        pthread_mutex_unlock(&q->mu);
    }
}

/* ---------------------------------------------------------------- worker batches */

/* Records as in the queue ([u8 type][u32 len][u64 seq][bytes]), so a batch
 * goes into a queue with one copy; the seq of alerts is set per exporter
 * as it is queued. */
struct output_batch {
    struct output *o;
    char *buf;
    size_t len;
    uint32_t types;                  /* bit per type present */
    uint32_t nalerts;
    uint64_t count[EVT_MAX];
};

struct output_batch *output_batch_new(struct output *o)
{
    struct output_batch *b = calloc(1, sizeof *b);

    if (!b)
        return NULL;
    b->o = o;
    if ((b->buf = malloc(OUTPUT_BATCH_BYTES)) == NULL) {
        free(b);
        return NULL;
    }
    return b;
}

void output_batch_free(struct output_batch *b)
{
    if (!b)
        return;
    output_publish(b);
    free(b->buf);
    free(b);
}

void output_batch_add(struct output_batch *b, enum event_type t, const char *line, size_t len)
{
    size_t need = XQ_HDR + len;
    unsigned char *r;
    uint32_t l = (uint32_t)len;

    if (need > OUTPUT_BATCH_BYTES - b->len) {
        output_publish(b);
        if (need > OUTPUT_BATCH_BYTES) {     /* on its own, as output_event() takes it */
            output_event(b->o, t, line, len);
            return;
        }
    }
    r = (unsigned char *)b->buf + b->len;
    r[0] = (unsigned char)t;
    memcpy(r + 1, &l, 4);
    memset(r + 5, 0, 8);
    memcpy(r + XQ_HDR, line, len);
    b->len += need;
    b->types |= 1u << t;
    b->nalerts += t == EVT_ALERT;
    b->count[t]++;
}

/* Numbers the batch's alerts for q, in order. Under q->mu. */
static void number_alerts(struct xq *q, struct output_batch *b)
{
    for (size_t off = 0; off < b->len;) {
        uint32_t l;

        memcpy(&l, b->buf + off + 1, 4);
        if ((unsigned char)b->buf[off] == EVT_ALERT) {
            uint64_t seq = next_seq(q);

            memcpy(b->buf + off + 5, &seq, 8);
        }
        off += XQ_HDR + l;
    }
}

/* The batch into q: with one copy when q takes every type in it, has room
 * for all of it and no overflow to queue its alerts behind; else event by
 * event, as output_event() would. */
static void publish_to(struct xq *q, struct output_batch *b)
{
    int urgent = 0;

    pthread_mutex_lock(&q->mu);
    if ((b->types & ~q->x->types) == 0 && !(q->overflowing && b->nalerts) && q->cap - q->used >= b->len) {
        if (b->nalerts)
            number_alerts(q, b);
        ring_put(q, b->buf, b->len, (q->head + q->used) % q->cap);
        q->used += b->len;
        q->pushed += b->len;
    } else {
        for (size_t off = 0; off < b->len;) {
            enum event_type t = (enum event_type)(unsigned char)b->buf[off];
            uint32_t l;

            memcpy(&l, b->buf + off + 1, 4);
            if ((q->x->types >> t) & 1u)
                urgent |= queue_one(q, t, b->buf + off + XQ_HDR, l);
            off += XQ_HDR + l;
        }
    }
    wake_thread(q, urgent);
    pthread_mutex_unlock(&q->mu);
}

void output_publish(struct output_batch *b)
{
    struct output *o = b->o;

    if (b->len == 0)
        return;
    for (int t = 0; t < EVT_MAX; t++)
        if (b->count[t])
            __atomic_add_fetch(&o->st.events[t], b->count[t], __ATOMIC_RELAXED);
    for (size_t i = 0; i < o->n; i++)
        if (b->types & o->q[i]->x->types)
            publish_to(o->q[i], b);
    b->len = 0;
    b->types = b->nalerts = 0;
    memset(b->count, 0, sizeof b->count);
}

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
            log_error("%s: reopen failed", q->x->name);
            rc = -1;
        }
        pthread_mutex_unlock(&q->mu);
    }
    return rc;
}

struct exporter *output_find(const struct output *o, const char *name)
{
    for (size_t i = 0; o && i < o->n; i++)
        if (strcmp(o->q[i]->x->name, name) == 0)
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

static void xq_stats(struct xq *q, struct output_exporter_stats *v)
{
    pthread_mutex_lock(&q->mu);
    v->name = q->x->name;
    v->written = CNT_GET(q->x->counters.written);
    v->failed = CNT_GET(q->x->counters.failed);
    v->dropped = 0;
    for (int t = 0; t < EVT_MAX; t++)
        v->dropped += q->dropped[t];
    v->spooled = q->spooled;
    v->spool_pending = q->spool ? spool_pending(q->spool) + spool_pending(q->overflow) : 0;
    v->spool_lost = q->spool_lost;
    v->queue_bytes = q->used;
    pthread_mutex_unlock(&q->mu);
}

size_t output_exporters(const struct output *o, struct output_exporter_stats *v, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < o->n && n < max; i++, n++)
        xq_stats(o->q[i], &v[n]);
    return n;
}

int output_exporter_stats(const struct output *o, const char *name, struct output_exporter_stats *st)
{
    for (size_t i = 0; o && i < o->n; i++)
        if (strcmp(o->q[i]->x->name, name) == 0) {
            xq_stats(o->q[i], st);
            return 0;
        }
    return -1;
}

const struct output_stats *output_stats(const struct output *o)
{
    return &o->st;
}

#define EV(id, name) \
    { "events/" name, "linkwatch_events_total", "type=" name, "Events produced, by type.", \
      (uint32_t)offsetof(struct output_stats, events[EVT_##id]), STATS_COUNTER, STATS_SUM, STATS_NOEVE, 0, NULL },
static const struct stats_field output_fields[] = {
    EVENT_TYPES(EV)
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
