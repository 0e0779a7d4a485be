/* dispatch.c - the capture side feeding the workers; see dispatch.h. */
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "dispatch.h"
#include "ruleset.h"
#include "tally.h"
#include "util.h"

/* Packets queued before the ring's head is published to the worker. */
#define BATCH          32u
/* Messages a worker takes before handing their space back. */
#define TAKE           64u
#define MSG_ALIGN      16u
/* The capture thread times one frame in this many (a power of two): at
 * 100,000 packets/s that is still 1,500 samples a second. */
#define BUSY_SAMPLE    64u

enum msg_type { MSG_PAD = 0, MSG_PKT, MSG_TICK, MSG_FLUSH, MSG_HELD };

struct msg {
    uint32_t len;              /* whole message, header included, MSG_ALIGN multiple */
    uint16_t type;             /* enum msg_type */
    uint16_t why;              /* MSG_FLUSH: enum flow_end_reason */
    uint64_t now;              /* capture time as the capture thread keeps it */
    uint64_t seq;              /* MSG_PKT: the packet's place in the capture (1, 2, ...);
                                * others: the next packet's */
};

/* MSG_PKT: struct msg, then this, then the datagram (l3_len bytes). */
struct msg_pkt {
    struct packet p;           /* pointers are offsets from the datagram's first byte */
};

struct dispatch_ring {
    /* Producer's line. */
    _Alignas(64) _Atomic uint64_t head;      /* published: bytes written */
    /* Consumer's line. */
    _Alignas(64) _Atomic uint64_t tail;      /* bytes taken back */
    _Atomic uint32_t sleeping;               /* the worker waits on wake */
    _Atomic uint32_t wake;                   /* futex word */
    _Atomic uint32_t pwaiting;               /* the producer waits for room on pwake */
    _Atomic uint32_t pwake;                  /* futex word */
    /* Consumer: every packet before this seq given to it is done. */
    _Alignas(64) _Atomic uint64_t done;
    /* Producer's private state. */
    _Alignas(64) uint64_t phead;             /* written, not yet published */
    uint64_t tail_seen;
    uint64_t size, mask;
    uint8_t *buf;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t val, long timeout_ns)
{
    struct timespec ts = { timeout_ns / 1000000000L, timeout_ns % 1000000000L };

    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/* The CPUs this process may run on (taskset, cpusets, systemd
 * CPUAffinity=), not all the machine's. */
static unsigned usable_cpus(void)
{
    cpu_set_t set;
    long c = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                        : sysconf(_SC_NPROCESSORS_ONLN);

    return c > 1 ? (unsigned)c : 1;
}

unsigned dispatch_workers_for(const struct lw_config *cfg)
{
    unsigned n = cfg->workers;

    if (n == 0)
        n = usable_cpus() > 1 ? usable_cpus() - 1 : 1;
    if (n > RULES_MAX_WORKERS)
        n = RULES_MAX_WORKERS;
    return n;
}

/* ---- the ring ----------------------------------------------------------- */

static struct dispatch_ring *ring_new(uint64_t size)
{
    struct dispatch_ring *r;
    uint64_t sz = 1;

    while (sz < size)
        sz <<= 1;
    if (posix_memalign((void **)&r, 64, sizeof *r) != 0)
        return NULL;
    memset(r, 0, sizeof *r);
    if (posix_memalign((void **)&r->buf, 64, sz) != 0) {
        free(r);
        return NULL;
    }
    memset(r->buf, 0, sz);         /* touch it now, not on the first packets */
    r->size = sz;
    r->mask = sz - 1;
    return r;
}

static void ring_free(struct dispatch_ring *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

/* Producer: makes the written messages visible and wakes a sleeping worker. */
static void ring_publish(struct dispatch_ring *r)
{
    if (atomic_load_explicit(&r->head, memory_order_relaxed) == r->phead)
        return;
    atomic_store_explicit(&r->head, r->phead, memory_order_seq_cst);
    if (atomic_load_explicit(&r->sleeping, memory_order_seq_cst)) {
        atomic_fetch_add_explicit(&r->wake, 1, memory_order_seq_cst);
        futex_wake(&r->wake);
    }
}

/* Producer: space for a message of len bytes (a pad first when it would
 * not fit before the end). Waits while the worker is behind: offline that
 * is back-pressure, live the kernel's buffer holds the traffic meanwhile. */
static void publish_all(struct dispatch *d);

static uint8_t *ring_reserve(struct dispatch *d, struct dispatch_ring *r, uint32_t len,
                             struct worker_stage_stats *st)
{
    uint64_t off = r->phead & r->mask;
    uint64_t pad = off + len > r->size ? r->size - off : 0;
    uint64_t need = pad + len;

    if (r->phead + need - r->tail_seen > r->size) {
        r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (r->phead + need - r->tail_seen > r->size) {
            uint64_t t0 = mono_ns();
            unsigned spins = 0;

            STATS_INC(st->full_waits);
            publish_all(d);
            /* Spin briefly, then sleep until the worker has emptied a
             * quarter of the ring (it wakes us): no core burnt that a
             * worker could use. */
            while (r->phead + need - (r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire))
                   > r->size) {
                if (++spins < 64) {
                    cpu_relax();
                } else {
                    uint32_t seq = atomic_load_explicit(&r->pwake, memory_order_seq_cst);

                    atomic_store_explicit(&r->pwaiting, 1, memory_order_seq_cst);
                    if (r->phead + need - atomic_load_explicit(&r->tail, memory_order_seq_cst) > r->size)
                        futex_wait(&r->pwake, seq, 10000000L);
                    atomic_store_explicit(&r->pwaiting, 0, memory_order_relaxed);
                }
            }
            t0 = mono_ns() - t0;
            STATS_ADD(st->full_wait_ns, t0);
            d->wait_ns += t0;
        }
    }
    if (pad) {
        struct msg *m = (struct msg *)(r->buf + off);

        m->len = (uint32_t)pad;
        m->type = MSG_PAD;
        r->phead += pad;
        off = 0;
    }
    return r->buf + off;
}

static void ring_commit(struct dispatch *d, struct dispatch_ring *r, uint32_t len)
{
    r->phead += len;
    if (++d->unpublished >= BATCH)
        publish_all(d);
}

/* All rings at once, then the sequence number they reach: a worker that
 * holds packet s knows every packet before s is visible in its ring. */
static void publish_all(struct dispatch *d)
{
    d->unpublished = 0;
    for (unsigned i = 0; i < d->n; i++)
        ring_publish(d->rings[i]);
    atomic_store_explicit(&d->pub_seq, d->seq, memory_order_release);
}

/* ---- capture order for shared thresholds ------------------------------- */

/* Waits until every other worker has done every packet before the one
 * worker port->i is at (the threshold checks of a host's packets then come
 * in capture order, as with one worker). A worker at packet q, or at a
 * tick or flush numbered q (the next packet's number), has done all its
 * packets before q; a worker whose ring is empty has nothing before ours.
 * The worker with the smallest number never waits, so nobody waits for
 * ever; workers at the same tick do not wait for each other (flow-end
 * checks of one tick in different workers are the one thing not ordered).
 * The threshold context calls it (worker_set_order()). */
static void order_wait(void *arg)
{
    struct dispatch_port *port = arg;
    struct dispatch *d = port->d;
    uint64_t s = port->seq, t0 = 0;

    if (d->n == 1)
        return;
    if (d->inline0 && port->i == 0)
        publish_all(d);            /* we are the capture thread: nothing may stay unpublished */
    /* every packet before ours visible (pub_seq p: all up to p are) */
    while (atomic_load_explicit(&d->pub_seq, memory_order_acquire) + 1 < s)
        cpu_relax();
    for (unsigned w = 0; w < d->n; w++) {
        struct dispatch_ring *r = d->rings[w];
        unsigned spins = 0;

        if (w == port->i)
            continue;
        while (atomic_load_explicit(&r->done, memory_order_acquire) < s &&
               atomic_load_explicit(&r->head, memory_order_acquire) !=
               atomic_load_explicit(&r->tail, memory_order_acquire)) {
            if (spins == 0)
                t0 = mono_ns();
            if (++spins < 256) {
                cpu_relax();
            } else {
                struct timespec ts = { 0, 10000 };
                nanosleep(&ts, NULL);          /* leave the core to the one we wait for */
            }
        }
        if (spins) {
            struct worker_stage_stats *st = &d->st[port->i];

            STATS_INC(st->order_waits);
            STATS_ADD(st->order_wait_ns, mono_ns() - t0);
        }
    }
}

/* ---- the worker threads ------------------------------------------------- */

/* Consumer: hands space back, and wakes the capture thread if it waits for
 * room and a quarter of the ring is free. */
static inline void ring_release(struct dispatch_ring *r, uint64_t tail, uint64_t head)
{
    atomic_store_explicit(&r->tail, tail, memory_order_seq_cst);
    if (atomic_load_explicit(&r->pwaiting, memory_order_seq_cst) && head - tail <= r->size / 4 * 3) {
        atomic_store_explicit(&r->pwaiting, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->pwake, 1, memory_order_seq_cst);
        futex_wake(&r->pwake);
    }
}

/* What a worker does with one message, on its own thread or (worker 0,
 * the inline worker) on the capture thread. seq is the message's place in
 * the capture: a packet's own number, or for a tick or flush the next
 * packet's; every packet of ours before it is done, which is what other
 * workers waiting for capture order look at. Returns 1 after a flush. */
static int deliver(struct dispatch *d, unsigned i, enum msg_type type, uint64_t seq, uint64_t now,
                   uint16_t why, struct packet *p)
{
    struct worker *w = &d->w[i];

    if (d->n > 1) {                   /* what order_wait() reads; one worker never waits */
        d->ports[i].seq = seq;
        atomic_store_explicit(&d->rings[i]->done, seq, memory_order_release);
    }
    switch (type) {
    case MSG_PKT:
        worker_packet(w, p, now);
        return 0;
    case MSG_HELD:
        worker_held_packet(w, p, now);
        return 0;
    case MSG_TICK:
        worker_tick(w, now);          /* flows end here */
        return 0;
    case MSG_FLUSH:
        worker_clock(w, now);
        worker_flush(w, (enum flow_end_reason)why);
        worker_offline(w);
        return 1;
    default:
        return 0;
    }
}

static void *worker_main(void *arg)
{
    struct dispatch_port *port = arg;
    struct dispatch *d = port->d;
    unsigned i = port->i;
    struct worker *w = &d->w[i];
    struct dispatch_ring *r = d->rings[i];
    struct worker_stage_stats *st = &d->st[i];
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    int done = 0;

    while (!done) {
        uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
        uint64_t t0, n = 0;

        if (head == tail) {
            /* Nothing queued: spin a little, then do idle work and sleep
             * until the capture thread publishes (or 100 ms, for the idle
             * work's sake). */
            for (unsigned k = 0; k < 200 && head == tail; k++) {
                cpu_relax();
                head = atomic_load_explicit(&r->head, memory_order_acquire);
            }
            if (head == tail) {
                uint32_t seq = atomic_load_explicit(&r->wake, memory_order_seq_cst);

                worker_idle(w);
                worker_offline(w);
                atomic_store_explicit(&r->sleeping, 1, memory_order_seq_cst);
                if (atomic_load_explicit(&r->head, memory_order_seq_cst) == tail)
                    futex_wait(&r->wake, seq, 100000000L);
                atomic_store_explicit(&r->sleeping, 0, memory_order_relaxed);
                continue;
            }
        }
        t0 = mono_ns();
        while (tail != head && !done) {
            struct msg *m = (struct msg *)(r->buf + (tail & r->mask));
            struct packet *p = NULL;

            if (m->type == MSG_PKT || m->type == MSG_HELD) {
                struct msg_pkt *mp = (struct msg_pkt *)(m + 1);
                uint8_t *base = (uint8_t *)(mp + 1);

                p = &mp->p;
                p->l3 = base;
                p->l4 = p->l4 ? base + (uintptr_t)p->l4 - 1 : NULL;
                p->payload = p->payload ? base + (uintptr_t)p->payload - 1 : NULL;
                n++;
            }
            if (m->type != MSG_PAD)
                done = deliver(d, i, (enum msg_type)m->type, m->seq, m->now, m->why, p);
            tail += m->len;
            if (n % TAKE == 0)
                ring_release(r, tail, head);
        }
        ring_release(r, tail, head);
        STATS_ADD(st->busy_ns, mono_ns() - t0);
    }
    return NULL;
}

/* ---- the capture side --------------------------------------------------- */

struct defrag_config dispatch_defrag_config(const struct lw_config *cfg)
{
    struct defrag_config dcfg = {
        .max_trackers = cfg->defrag.max_trackers,
        .memcap = cfg->defrag.memcap,
        .timeout_sec = cfg->defrag.timeout,
        .max_datagram = cfg->defrag.max_datagram,
    };

    return dcfg;
}

int dispatch_init(struct dispatch *d, struct worker *w, unsigned n, const struct lw_config *cfg,
                  char *err, size_t errlen)
{
    struct defrag_config dcfg = dispatch_defrag_config(cfg);
    uint64_t rsize = cfg->worker_queue_size;
    const char *cw;

    memset(d, 0, sizeof *d);
    d->n = n;
    d->w = w;
    d->cfg = cfg;
    STATS_SET(d->cs.workers, n);
    d->st = calloc(n, sizeof *d->st);
    d->ports = calloc(n, sizeof *d->ports);
    d->rings = calloc(n, sizeof *d->rings);
    d->threads = calloc(n, sizeof *d->threads);
    if (!d->st || !d->ports || !d->rings || !d->threads) {
        snprintf(err, errlen, "no memory for %u workers", n);
        goto fail;
    }
    /* The largest message (a full reassembled datagram) must fit twice. */
    if (rsize < 4u * (65536u + sizeof(struct msg) + sizeof(struct msg_pkt)))
        rsize = 4u * (65536u + sizeof(struct msg) + sizeof(struct msg_pkt));
    if (decoder_init(&d->dec, 1, &dcfg) < 0) {
        snprintf(err, errlen, "no memory for the defragmenter");
        goto fail;
    }
    d->dec_ready = 1;
    d->tally_on = cfg->redis.enabled;
    d->tally = tally_new(d->tally_on ? cfg->redis.max_keys : 64);
    if (!d->tally) {
        snprintf(err, errlen, "no memory for the capture tally (redis.max-keys %u)", cfg->redis.max_keys);
        goto fail;
    }
    d->tally_want = tally_swap_flag(d->tally);
    /* Worker 0 runs on the capture thread when it is the only one, or when
     * capture-worker asks for it (there are no more CPUs than workers). */
    cw = cfg->capture_worker ? cfg->capture_worker : "auto";
    d->inline0 = n == 1 || strcmp(cw, "yes") == 0 || (strcmp(cw, "auto") == 0 && n >= usable_cpus());
    for (unsigned i = 0; i < n; i++) {
        d->ports[i].d = d;
        d->ports[i].i = i;
        worker_set_order(&w[i], order_wait, &d->ports[i]);
        /* The capture thread's own worker has an empty ring (its "done"
         * is what the others look at). */
        d->rings[i] = ring_new(i == 0 && d->inline0 ? 4096 : rsize);
        if (!d->rings[i]) {
            snprintf(err, errlen, "no memory for worker %u's queue (worker-queue-size %llu)", i,
                     (unsigned long long)rsize);
            goto fail;
        }
    }
    return 0;
fail:
    dispatch_destroy(d);
    return -1;
}

int dispatch_start(struct dispatch *d, char *err, size_t errlen)
{
    if (d->started)
        return 0;
    for (unsigned i = 0; i < d->n; i++) {
        int rc;

        if (i == 0 && d->inline0) {
            d->threads[0] = 0;
            continue;
        }
        /* The worker threads start offline: reloads need not wait for them. */
        worker_offline(&d->w[i]);
        rc = pthread_create(&d->threads[i], NULL, worker_main, &d->ports[i]);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start worker %u: %s", i, strerror(rc));
            /* the ones running are stopped by dispatch_finish() */
            for (unsigned k = i; k < d->n; k++)
                d->threads[k] = 0;
            d->started = 1;
            return -1;
        }
        {
            char name[16];

            snprintf(name, sizeof name, "lw-worker-%u", i % 1000u);
            pthread_setname_np(d->threads[i], name);
        }
    }
    d->started = 1;
    return 0;
}

void dispatch_set_datalink(struct dispatch *d, int dlt)
{
    d->dec.datalink = dlt;
}

/* Both directions of a flow, and every flow between the same two hosts in
 * the same VLANs and tunnel, hash alike. */
static inline uint32_t packet_hash(const struct packet *p)
{
    uint64_t a = (uint64_t)p->src.u.w[0] << 32 ^ p->src.u.w[1] ^ ((uint64_t)p->src.u.w[2] << 32 ^ p->src.u.w[3]) * 31;
    uint64_t b = (uint64_t)p->dst.u.w[0] << 32 ^ p->dst.u.w[1] ^ ((uint64_t)p->dst.u.w[2] << 32 ^ p->dst.u.w[3]) * 31;
    uint64_t k = lw_mix64(a) + lw_mix64(b);

    k ^= (uint64_t)p->vlan[0] << 48 ^ (uint64_t)p->vlan[1] << 32 ^ p->tunnel.key_id;
    return (uint32_t)(lw_mix64(k) >> 32);
}

static void push_msg(struct dispatch *d, unsigned i, enum msg_type type, uint16_t why)
{
    struct dispatch_ring *r = d->rings[i];
    uint32_t len = (sizeof(struct msg) + MSG_ALIGN - 1) & ~(MSG_ALIGN - 1);
    struct msg *m;

    if (i == 0 && d->inline0) {       /* the capture thread's own worker: at once */
        deliver(d, 0, type, d->seq + 1, d->now, why, NULL);
        return;
    }
    m = (struct msg *)ring_reserve(d, r, len, &d->st[i]);
    m->len = len;
    m->type = (uint16_t)type;
    m->why = why;
    m->now = d->now;
    m->seq = d->seq + 1;
    ring_commit(d, r, len);
}

static void push_packet(struct dispatch *d, unsigned i, const struct packet *p, enum msg_type type)
{
    struct dispatch_ring *r = d->rings[i];
    uint32_t len = (uint32_t)(sizeof(struct msg) + sizeof(struct msg_pkt) + p->l3_len + MSG_ALIGN - 1) &
                   ~(MSG_ALIGN - 1);
    struct msg *m = (struct msg *)ring_reserve(d, r, len, &d->st[i]);
    struct msg_pkt *mp = (struct msg_pkt *)(m + 1);
    uint8_t *base = (uint8_t *)(mp + 1);

    m->len = len;
    m->type = (uint16_t)type;
    m->now = d->now;
    m->seq = ++d->seq;
    mp->p = *p;
    /* Offsets (+1, so NULL stays NULL) from l3; the frame itself stays behind. */
    mp->p.data = NULL;
    mp->p.l3 = NULL;
    mp->p.l4 = p->l4 ? (const uint8_t *)(uintptr_t)(p->l4 - p->l3 + 1) : NULL;
    mp->p.payload = p->payload ? (const uint8_t *)(uintptr_t)(p->payload - p->l3 + 1) : NULL;
    mp->p.flow = NULL;
    mp->p.dir = 0;
    if (p->l3_len)
        memcpy(base, p->l3, p->l3_len);
    ring_commit(d, r, len);
    if (type == MSG_PKT)
        STATS_INC(d->st[i].queued);
}

/* The worker a packet goes to: both directions of a flow to the same. */
static inline unsigned worker_of(const struct dispatch *d, const struct packet *p)
{
    return d->n == 1 ? 0 : packet_hash(p) % d->n;
}

/* A frame the decoder held or refused that carries decoder events: to the
 * worker its addresses hash to, for the pkthdr rules (rare: only anomalous
 * frames take this path, and a worker without such rules returns at once). */
static void __attribute__((noinline)) dispatch_held(struct dispatch *d, struct packet *p, enum decode_result dr)
{
    unsigned i;

    if (p->nev == 0 || dr == DECODE_NOT_IP)
        return;
    i = worker_of(d, p);
    if (i == 0 && d->inline0)
        deliver(d, 0, MSG_HELD, ++d->seq, d->now, 0, p);
    else
        push_packet(d, i, p, MSG_HELD);
}

/* One frame: clock and ticks, the capture tally, decode, and the hand-off
 * (worker 0 inline: its whole pipeline runs here). Returns the nanoseconds
 * the inline worker took when timed, else 0. */
static inline __attribute__((always_inline))
uint64_t dispatch_frame(struct dispatch *d, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                        uint64_t ts_usec, int timed)
{
    struct packet p;
    uint64_t worker_ns = 0;

    if (ts_usec > d->now)
        d->now = ts_usec;
    /* Every second of capture time: the same packets for any N. */
    if (worker_tick_due(d->now, &d->next_tick)) {
        for (unsigned i = 0; i < d->n; i++)
            push_msg(d, i, MSG_TICK, 0);
        decoder_expire(&d->dec, d->now);
    }
    if (atomic_load_explicit(d->tally_want, memory_order_relaxed))
        tally_swap(d->tally, d->now);
    if (d->tally_on)
        tally_packet(d->tally, ts_usec, wirelen);
    enum decode_result dr = decode_packet(&d->dec, &p, data, caplen, wirelen, ts_usec);

    if (d->numbered)
        p.pcap_cnt = (uint32_t)d->cs.frames;

    if (dr == DECODE_OK) {
        unsigned i = worker_of(d, &p);

        if (i == 0 && d->inline0) {
            uint64_t t1 = timed ? mono_ns() : 0;

            deliver(d, 0, MSG_PKT, ++d->seq, d->now, 0, &p);
            STATS_INC(d->st[0].queued);
            if (timed) {
                worker_ns = mono_ns() - t1;
                STATS_ADD(d->st[0].busy_ns, worker_ns * BUSY_SAMPLE);
            }
        } else {
            push_packet(d, i, &p, MSG_PKT);
        }
    } else {
        dispatch_held(d, &p, dr);
    }
    return worker_ns;
}

/* A frame whose time is sampled: it counts for BUSY_SAMPLE frames. */
static void __attribute__((noinline)) dispatch_frame_timed(struct dispatch *d, const uint8_t *data,
                                                          uint32_t caplen, uint32_t wirelen, uint64_t ts_usec)
{
    uint64_t t0 = mono_ns(), wait0 = d->wait_ns;
    uint64_t worker_ns = dispatch_frame(d, data, caplen, wirelen, ts_usec, 1);
    uint64_t el = mono_ns() - t0 - worker_ns;    /* not the inline worker's time */
    uint64_t w = d->wait_ns - wait0;

    STATS_ADD(d->cs.busy_ns, (el > w ? el - w : 0) * BUSY_SAMPLE);
}

void dispatch_packet(struct dispatch *d, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                     uint64_t ts_usec)
{
    /* Busy time is sampled: one frame in BUSY_SAMPLE is timed and counts
     * for all of them (two clock reads per frame would cost ~3%). */
    if ((d->cs.frames++ & (BUSY_SAMPLE - 1)) == 0)
        dispatch_frame_timed(d, data, caplen, wirelen, ts_usec);
    else
        dispatch_frame(d, data, caplen, wirelen, ts_usec, 0);
}

void dispatch_offline(struct dispatch *d)
{
    if (d->inline0)
        worker_offline(&d->w[0]);
    publish_all(d);
}

void dispatch_publish(struct dispatch *d)
{
    if (d->inline0 && d->n)
        worker_publish(&d->w[0]);
}

void dispatch_idle(struct dispatch *d)
{
    if (atomic_load_explicit(d->tally_want, memory_order_relaxed))
        tally_swap(d->tally, d->now);
    if (d->inline0)
        worker_idle(&d->w[0]);
    dispatch_offline(d);
}

void dispatch_finish(struct dispatch *d, enum flow_end_reason why)
{
    if (!d->started)
        return;
    for (unsigned i = 0; i < d->n; i++)
        if (d->threads[i])
            push_msg(d, i, MSG_FLUSH, (uint16_t)why);
    publish_all(d);
    if (d->inline0)
        push_msg(d, 0, MSG_FLUSH, (uint16_t)why);
    for (unsigned i = 0; i < d->n; i++)
        if (d->threads[i])
            pthread_join(d->threads[i], NULL);
    d->started = 0;
    if (d->tally_on)
        tally_swap(d->tally, d->now);
}

void dispatch_destroy(struct dispatch *d)
{
    if (d->rings)
        for (unsigned i = 0; i < d->n; i++)
            ring_free(d->rings[i]);
    if (d->dec_ready)
        decoder_destroy(&d->dec);
    d->dec_ready = 0;
    tally_free(d->tally);
    free(d->rings);
    free(d->threads);
    free(d->st);
    free(d->ports);
    d->rings = NULL;
    d->threads = NULL;
    d->st = NULL;
    d->ports = NULL;
    d->tally = NULL;
    d->n = 0;                        /* a second call does nothing */
}

/* ---- counters ------------------------------------------------------------ */

void dispatch_refresh_stats(struct dispatch *d)
{
    for (unsigned i = 0; i < d->n; i++) {
        uint64_t h = atomic_load_explicit(&d->rings[i]->head, memory_order_relaxed);
        uint64_t t = atomic_load_explicit(&d->rings[i]->tail, memory_order_relaxed);

        STATS_SET(d->st[i].queue_bytes, h > t ? h - t : 0);
    }
}

#define WS(member, name, kind, help, scale) \
    { "dispatch/worker/" #member, "linkwatch_worker_" name, NULL, help, \
      (uint32_t)offsetof(struct worker_stage_stats, member), kind, STATS_SUM, STATS_EACH, scale, NULL }
static const struct stats_field stage_fields[] = {
    WS(busy_ns, "busy_seconds_total", STATS_COUNTER,
       "Time each worker spent processing packets (not waiting for them).", 1e-9),
    WS(queued, "queued_packets_total", STATS_COUNTER, "Packets the capture thread queued for each worker.", 0),
    WS(full_waits, "queue_full_total", STATS_COUNTER, "Times the capture thread found a worker's queue full.", 0),
    WS(full_wait_ns, "queue_full_seconds_total", STATS_COUNTER,
       "Time the capture thread waited for room in a worker's queue.", 1e-9),
    WS(queue_bytes, "queue_bytes", STATS_GAUGE, "Bytes waiting in each worker's queue.", 0),
    WS(order_waits, "order_waits_total", STATS_COUNTER,
       "Thresholded matches that waited for other workers' earlier packets.", 0),
    WS(order_wait_ns, "order_wait_seconds_total", STATS_COUNTER, "Time those matches waited.", 1e-9),
};
#undef WS

const struct stats_module dispatch_stage_module = {
    "worker stage", stage_fields, STATS_NELEM(stage_fields), sizeof(struct worker_stage_stats), "worker"
};

static const struct stats_field capture_stage_fields[] = {
    { "dispatch/busy_ns", "linkwatch_capture_busy_seconds_total", NULL,
      "Time the capture thread spent decoding and dispatching packets.",
      (uint32_t)offsetof(struct dispatch_stats, busy_ns), STATS_COUNTER, STATS_SUM, STATS_NOEVE, 1e-9, NULL },
    { "dispatch/workers", "linkwatch_workers", NULL, "Worker threads.",
      (uint32_t)offsetof(struct dispatch_stats, workers), STATS_GAUGE, STATS_SUM, STATS_NOEVE, 0, NULL },
};

const struct stats_module dispatch_stats_module = {
    "capture stage", capture_stage_fields, STATS_NELEM(capture_stage_fields), sizeof(struct dispatch_stats),
    NULL
};
