/* dispatch.h - the capture side: frames in, workers fed.
 *
 * With one worker the capture thread runs the whole pipeline itself
 * (worker_packet()). With N > 1 the capture thread decodes each frame (so
 * IP fragments, also those of an outer tunnel header, are reassembled before
 * anything is hashed), picks a worker by a symmetric hash of the innermost
 * addresses and the flow key's VLAN tags and tunnel id (both directions of a
 * flow, and every flow between two hosts, go to the same worker), and copies
 * the decoded packet (header and datagram bytes) into that worker's
 * single-producer single-consumer ring. Rings are published batch by batch;
 * a worker thread takes what is there, runs flow -> nDPI -> stream ->
 * rules -> events, and hands the space back. Nothing on a worker's path
 * allocates, locks or makes a system call while packets are waiting; an
 * idle worker sleeps on a futex the capture thread wakes.
 *
 * Time is the capture's: the capture thread keeps "now" (the latest capture
 * time seen) and sends every worker a tick each second of it, at the same
 * packets a single worker would have checked its timeouts, so flows end the
 * same way and at the same capture time with any number of workers.
 */
#ifndef LW_DISPATCH_H
#define LW_DISPATCH_H

#include <pthread.h>
#include <stdint.h>
#include "config.h"
#include "decode.h"
#include "flow.h"
#include "worker.h"

struct dispatch_ring;
struct geo_stats;
struct stream_stats;
struct dpi_stats;
struct tally;

/* Counters of one worker's stage, for metrics and the summary. Written by
 * their owner thread, read relaxed by others. */
struct worker_stage_stats {
    uint64_t packets;        /* packets the worker processed */
    uint64_t busy_ns;        /* time spent processing (not waiting for packets); with one
                              * worker sampled, one packet in 16 timed */
    uint64_t queued;         /* packets the capture thread put in its ring */
    uint64_t full_waits;     /* times the capture thread found its ring full */
    uint64_t full_wait_ns;   /* time the capture thread waited for space in it */
    uint64_t queue_bytes;    /* bytes in its ring now (approximate) */
    uint64_t order_waits;    /* thresholded matches that waited for other workers' earlier packets */
    uint64_t order_wait_ns;  /* time they waited */
};

struct dispatch {
    unsigned n;                     /* workers */
    struct worker *w;               /* [n], owned by the caller */
    const struct lw_config *cfg;
    /* n > 1: the capture thread's own stages */
    struct decoder dec;             /* decode + defrag for all workers */
    struct tally *tally;            /* per-minute packets/bytes of every frame (Redis) */
    int tally_on;
    uint64_t now, next_tick;        /* capture time, as a single worker keeps it */
    uint64_t busy_ns;               /* capture thread: decode + hash + copy (sampled) */
    uint64_t frames;                /* frames given to dispatch_packet() */
    uint64_t wait_ns;               /* capture thread: waited for room in a ring */
    int inline0;                    /* the capture thread runs worker 0 itself (capture-worker) */
    struct dispatch_ring **rings;   /* [n] */
    uint64_t seq;                   /* packets queued so far (the last one's number) */
    uint32_t unpublished;           /* messages written since the last publish */
    _Atomic uint64_t pub_seq;       /* every packet up to this one is published */
    struct worker_stage_stats *st;  /* [n] */
    pthread_t *threads;
    int started;
};

/* Workers for a config: cfg->workers, or 0 -> online cores - 1 (at least 1),
 * never more than the rule slot can track. */
unsigned dispatch_workers_for(const struct lw_config *cfg);

/* Sets up the capture side for workers w[0..n-1] (already initialised).
 * Returns 0, or -1 with a reason in err. */
int dispatch_init(struct dispatch *d, struct worker *w, unsigned n, const struct lw_config *cfg,
                  char *err, size_t errlen);
/* Starts the worker threads (n > 1); before the first packet, after rules
 * and geolocation were given to the workers. Returns 0, or -1 with err. */
int dispatch_start(struct dispatch *d, char *err, size_t errlen);
void dispatch_set_datalink(struct dispatch *d, int dlt);
/* One frame from the capture. */
void dispatch_packet(struct dispatch *d, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                     uint64_t ts_usec);
/* Before a read that may block: what is queued is published. */
void dispatch_offline(struct dispatch *d);
/* A live read timed out. */
void dispatch_idle(struct dispatch *d);
/* Ends every open flow with reason why, waits for the workers to write
 * their last events and stops their threads. */
void dispatch_finish(struct dispatch *d, enum flow_end_reason why);
void dispatch_destroy(struct dispatch *d);

/* Sums over the workers (and the capture thread's decoder). Each is read
 * while workers may be writing: figures are a moment's, not a snapshot. */
const struct decode_stats *dispatch_decode_stats(const struct dispatch *d);
void dispatch_flow_stats(const struct dispatch *d, struct flow_stats *out);
void dispatch_dpi_stats(const struct dispatch *d, struct dpi_stats *out);
int dispatch_geo_stats(const struct dispatch *d, struct geo_stats *out);     /* 0: no geo stage */
int dispatch_stream_stats(const struct dispatch *d, struct stream_stats *out); /* 0: no stream stage */
uint64_t dispatch_alerts(const struct dispatch *d);
/* Stage counters of worker i (n == 1: the capture thread's loop). */
void dispatch_stage_stats(const struct dispatch *d, unsigned i, struct worker_stage_stats *out);
/* The capture thread's decode-and-dispatch busy time (n > 1), ns. */
uint64_t dispatch_busy_ns(const struct dispatch *d);

#endif
