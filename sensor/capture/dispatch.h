/* dispatch.h - the capture stage: frames in, decoded packets to workers.
 *
 * For any number of workers N the capture thread runs this one path for
 * each frame: the capture clock (the latest capture time seen; a tick to
 * every worker each second of it, at the same packets whatever N is, and
 * the defragmenter's expiry), the capture tally (per-minute packets and
 * bytes of every frame, for Redis), decode with IP reassembly (so
 * fragments, also those of an outer tunnel header, are whole before
 * anything is hashed), and the choice of a worker by a symmetric hash of
 * the innermost addresses and the flow key's VLAN tags and tunnel id (both
 * directions of a flow, and every flow between two hosts, go to the same
 * worker). A worker only ever receives decoded packets, ticks and a final
 * flush (worker.h).
 *
 * Worker 0 runs on the capture thread itself ("inline") when N is 1, and
 * when capture-worker asks for it; it is then handed each message at once.
 * Every other worker has a thread and a single-producer single-consumer
 * ring: the capture thread copies the decoded packet (header and datagram
 * bytes, not the frame) into it, rings are published batch by batch and
 * at once before a read that may block, and an idle worker sleeps on a
 * futex the capture thread wakes. A full ring makes the capture thread
 * sleep until a quarter of it is free. Nothing on a worker's path
 * allocates, locks or makes a system call while packets are waiting.
 *
 * Shared thresholds (by source, destination or rule) are checked in
 * capture order: before such a check a worker waits, through the ordering
 * callback the capture stage gives each worker (worker_set_order()), until
 * every other worker has done the packets before its own.
 */
#ifndef LW_DISPATCH_H
#define LW_DISPATCH_H

#include <pthread.h>
#include <stdint.h>
#include "config.h"
#include "decode.h"
#include "flow.h"
#include "stats.h"
#include "worker.h"

struct dispatch_ring;
struct tally;
struct dispatch;

/* Counters of one worker's share of the capture stage (dispatch_stage_module:
 * one sample per worker). Written by the capture thread (queued, full
 * waits) and by the worker (busy, order waits). */
struct worker_stage_stats {
    uint64_t busy_ns;        /* time spent processing (not waiting for packets); the inline
                              * worker's is sampled, one packet in 16 timed */
    uint64_t queued;         /* packets the capture thread gave it */
    uint64_t full_waits;     /* times the capture thread found its ring full */
    uint64_t full_wait_ns;   /* time the capture thread waited for space in it */
    uint64_t queue_bytes;    /* bytes in its ring (dispatch_refresh_stats()) */
    uint64_t order_waits;    /* thresholded matches that waited for other workers' earlier packets */
    uint64_t order_wait_ns;  /* time they waited */
};
extern const struct stats_module dispatch_stage_module;

/* The capture thread's own counters (dispatch_stats_module). */
struct dispatch_stats {
    uint64_t busy_ns;        /* decode, hash and copy (sampled), not the inline worker's share */
    uint64_t frames;         /* frames given to dispatch_packet() */
    uint64_t workers;        /* N */
};
extern const struct stats_module dispatch_stats_module;

/* A worker's end of the capture stage: what its ordering wait needs. */
struct dispatch_port {
    struct dispatch *d;
    unsigned i;                     /* the worker */
    uint64_t seq;                   /* the message it is at (its place in the capture) */
};

struct dispatch {
    unsigned n;                     /* workers */
    struct worker *w;               /* [n], owned by the caller */
    const struct lw_config *cfg;
    struct decoder dec;             /* decode + defrag for every worker */
    int dec_ready;
    struct tally *tally;            /* per-minute packets/bytes of every frame (Redis) */
    const atomic_int *tally_want;   /* its swap flag (tally_swap_flag()), read per frame */
    int tally_on;
    uint64_t now, next_tick;        /* capture time */
    uint64_t wait_ns;               /* capture thread: waited for room in a ring */
    struct dispatch_stats cs;
    int inline0;                    /* the capture thread runs worker 0 itself */
    int numbered;                   /* reading files: packets carry their frame's number */
    struct dispatch_ring **rings;   /* [n]; worker 0's is empty when inline */
    struct dispatch_port *ports;    /* [n] */
    uint64_t seq;                   /* packets queued so far (the last one's number) */
    uint32_t unpublished;           /* messages written since the last publish */
    _Atomic uint64_t pub_seq;       /* every packet up to this one is published */
    struct worker_stage_stats *st;  /* [n] */
    pthread_t *threads;             /* [n]; 0 for the inline worker */
    int started;
};

/* Workers for a config: cfg->workers, or 0 -> usable CPUs - 1 (at least 1),
 * never more than the rule slot can track. */
unsigned dispatch_workers_for(const struct lw_config *cfg);

/* The defragmenter's limits from the config's defrag section. */
struct defrag_config dispatch_defrag_config(const struct lw_config *cfg);

/* Sets up the capture stage for workers w[0..n-1] (already initialised;
 * each is given its ordering callback). Returns 0, or -1 with a reason in
 * err. */
int dispatch_init(struct dispatch *d, struct worker *w, unsigned n, const struct lw_config *cfg,
                  char *err, size_t errlen);
/* Starts the worker threads (none when N is 1); before the first packet,
 * after rules and geolocation were given to the workers. Returns 0, or -1
 * with err. */
int dispatch_start(struct dispatch *d, char *err, size_t errlen);
/* The link type of the frames that follow (a new capture source). */
void dispatch_set_datalink(struct dispatch *d, int dlt);
/* One frame from the capture. */
void dispatch_packet(struct dispatch *d, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                     uint64_t ts_usec);
/* Before a read that may block: what is queued is published, the inline
 * worker holds no rule set. */
void dispatch_offline(struct dispatch *d);
/* The inline worker's batched events to the exporters (before the capture
 * thread writes an event of its own). */
void dispatch_publish(struct dispatch *d);
/* A live read timed out: the inline worker's idle work. */
void dispatch_idle(struct dispatch *d);
/* Ends every open flow with reason why, waits for the workers to write
 * their last events and stops their threads. */
void dispatch_finish(struct dispatch *d, enum flow_end_reason why);
void dispatch_destroy(struct dispatch *d);

/* Updates the counters read off the rings (queue_bytes), before a snapshot. */
void dispatch_refresh_stats(struct dispatch *d);

#endif
