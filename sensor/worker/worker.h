/* worker.h - one worker: decoded packets in, flows, application
 * identification, stream reassembly, rules and geolocation, events out.
 *
 * A worker owns its flow table, nDPI state, stream state, rule scratch,
 * threshold context, geolocation cache and tally table; nothing in it is
 * shared, so it runs without locks. It receives only what the capture stage
 * (dispatch.h) sends it: decoded packets, ticks of capture time and a final
 * flush, on a thread of its own or, for worker 0 when the capture thread
 * runs it, inline. Events leave through the shared output.
 *
 * Everything a stage needs from outside comes through the worker's own
 * context: the geolocation handle (struct eve_ctx, the geoip lookup of its
 * rule scratch) and the capture stage's ordering wait for shared
 * thresholds (worker_set_order()). No process-wide hooks.
 */
#ifndef LW_WORKER_H
#define LW_WORKER_H

#include <stdint.h>
#include "config.h"
#include "app-layer.h"
#include "dpi.h"
#include "eve.h"
#include "flow.h"
#include "json.h"
#include "output.h"
#include "stats.h"
#include "tally.h"
#include "ctable.h"

struct detect_engine;
struct detect_thread;
struct threshold_ctx;
struct rules_slot;
struct geo;
struct geo_thread;
struct stream_ctx;
struct geo_merge;
struct app_stage;
struct lw_slab;

/* The worker's own counters (written by its thread with STATS_ADD; see
 * worker_stats_module). */
struct worker_stats {
    uint64_t packets;          /* decoded packets processed */
    uint64_t alerts;           /* alert events produced */
    uint64_t rule_switches;    /* rule sets switched to */
    uint64_t rule_version;     /* version of the set it matches with, 0: none */
};
extern const struct stats_module worker_stats_module;

struct worker {
    unsigned id;
    const struct lw_config *cfg;
    struct output *out;
    struct lw_slab *slab;      /* per-flow state (nDPI, results, stream, rule marks), sized at start */
    struct output_batch *ob;   /* this worker's events, published at ticks, before blocking, at the end */
    struct flow_table *flows;
    struct dpi_engine *dpi;
    struct tally *tally;       /* tallies for the Redis flusher (sensor/redis/tally.h) */
    const atomic_int *tally_want;   /* its swap flag (tally_swap_flag()), read per packet */
    int tally_on;              /* redis.enabled: count into tally */
    struct stream_ctx *stream; /* TCP reassembly; NULL when stream.enabled is no */
    struct app_stage *app;     /* application-layer parsers; NULL when every one is off */
    uint16_t app_ports[APP_PROTO_MAX][CONFIG_MAX_LIST];   /* app-layer.protocols.<name>.ports */
    struct jbuf jb;
    struct eve_ctx eve;        /* sensor id and this worker's geo context, for events */
    uint8_t xff_last;          /* outputs.xff.deployment reverse: the header's last entry */
    const struct detect_engine *detect;  /* NULL: no rules */
    struct detect_thread *dt;  /* this worker's scratch for detect */
    struct threshold_ctx *th;  /* this worker's thresholds (owned), NULL: none */
    void (*order)(void *arg);  /* capture-order wait before shared threshold checks, NULL: none */
    void *order_arg;
    struct geo_thread *geo;    /* this worker's geolocation context (owned), NULL: no geo stage */
    struct geo_merge *gmerge;  /* several workers: where their geo summaries become one (shared) */
    uint64_t gm_next;          /* capture time at which to tell gmerge how far we are */
    struct worker_stats st;
    struct ctable *alert_counts;   /* "gid:sid" -> alerts, tag = severity (metrics) */
    struct ctable *app_counts;     /* nDPI protocol -> ended flows, bytes (metrics) */
    struct rules_slot *rules;  /* where reloads publish rule sets; NULL: worker_set_detect() only */
    uint64_t now;              /* capture time as the capture stage keeps it (usec) */
};

/* Sets up worker id. Returns 0, or -1 with a one-line reason in err. */
int worker_init(struct worker *w, unsigned id, const struct lw_config *cfg,
                struct output *out, char *err, size_t errlen);
void worker_destroy(struct worker *w);

/* Gives the worker a compiled rule set (shared, read-only; NULL for none)
 * and its own threshold context (owned from then on; NULL for none). The
 * previous ones are released. Returns 0, or -1 with err filled when the
 * detect scratch cannot be allocated (the worker keeps its old engine). */
int worker_set_detect(struct worker *w, const struct detect_engine *e, struct threshold_ctx *th,
                      char *err, size_t errlen);

/* Makes the worker follow the rule sets published in slot: before each
 * message it switches to the current one (taking that set's scratch and
 * threshold context for this worker, carrying over the counters of rules
 * whose sid and rev did not change), and after it reports a quiescent
 * point. */
void worker_use_rules(struct worker *w, struct rules_slot *slot);

/* The wait the worker's threshold context calls before a check in the
 * table all workers share (dispatch.c: until every other worker has done
 * the packets before this one). */
void worker_set_order(struct worker *w, void (*fn)(void *arg), void *arg);

/* Hands the events the worker has batched to the exporters. It does at
 * each tick, when idle, before a blocking read and at the final flush. */
void worker_publish(struct worker *w);

/* Before a read that may block (a live capture, a pipe): the worker's
 * events are published, and it holds no rule set until its next message,
 * so reloads need not wait for it. */
void worker_offline(struct worker *w);

/* Between messages with nothing to do: hands the tally table to the Redis
 * flusher if it asked for it, picks up a new rule set and reports a
 * quiescent point. */
void worker_idle(struct worker *w);

/* Gives the worker the geo stage of the sensor's struct geo (shared; NULL
 * for none): flows are then geolocated, events carry geo{}, geoip rules
 * use the flows' countries, and a geo_summary event is written per scope
 * and country pair every geoip.summary-interval of capture time and by
 * worker_flush(). Returns 0, or -1 with err filled when out of memory (the
 * worker keeps its old state). */
int worker_set_geo(struct worker *w, struct geo *g, char *err, size_t errlen);
/* Several workers write one geo summary through m (shared, outlives them). */
void worker_set_geo_merge(struct worker *w, struct geo_merge *m);

/* One decoded packet. p's pointers point into a buffer valid for the call;
 * now is the capture time as the capture stage keeps it (the latest seen). */
void worker_packet(struct worker *w, struct packet *p, uint64_t now);
/* A packet the decoder held or refused, carrying decoder events (no flow):
 * the pkthdr rules run on it. */
void worker_held_packet(struct worker *w, struct packet *p, uint64_t now);
/* A tick of capture time: flows idle past their timeout end. The capture
 * stage sends it every WORKER_TICK_USEC of capture time, at the same
 * packets for any number of workers. */
void worker_tick(struct worker *w, uint64_t now);
/* Capture time moves to now (a geo summary interval that ended is
 * written), nothing expires: before the final flush. */
void worker_clock(struct worker *w, uint64_t now);
/* Ends every flow still open with the given reason (shutdown at exit), then
 * writes the open geo summary interval. */
void worker_flush(struct worker *w, enum flow_end_reason why);

/* Timeouts are checked once per second of capture time (cheap, and finer
 * than any timeout), at the first packet at or past the last check + 1 s. */
#define WORKER_TICK_USEC 1000000u

static inline int worker_tick_due(uint64_t now, uint64_t *next)
{
    if (now < *next)
        return 0;
    *next = now + WORKER_TICK_USEC;
    return 1;
}

#endif
