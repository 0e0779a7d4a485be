/* worker.h - one packet pipeline: decode -> flow -> (dpi, detect, geo) ->
 * events. A worker owns its decoder, flow table and buffers; nothing in it is
 * shared, so it runs without locks. Events leave through the shared output.
 */
#ifndef LW_WORKER_H
#define LW_WORKER_H

#include <stdint.h>
#include "config.h"
#include "decode.h"
#include "dpi.h"
#include "flow.h"
#include "json.h"
#include "output.h"
#include "tally.h"
#include "ctable.h"

struct detect_engine;
struct detect_thread;
struct threshold_ctx;
struct rules_slot;
struct ruleset;
struct geo;
struct geo_thread;
struct stream_ctx;
struct geo_merge;

struct worker {
    unsigned id;
    const struct lw_config *cfg;
    struct output *out;
    struct decoder dec;
    struct flow_table *flows;
    struct dpi_engine *dpi;
    struct tally *tally;       /* tallies for the Redis flusher (sensor/redis/tally.h) */
    int tally_on;              /* redis.enabled: count into tally */
    struct stream_ctx *stream; /* TCP reassembly; NULL when stream.enabled is no */
    struct jbuf jb;
    const struct detect_engine *detect;  /* NULL: no rules */
    struct detect_thread *dt;  /* this worker's scratch for detect */
    struct threshold_ctx *th;  /* this worker's thresholds (owned), NULL: none */
    struct geo_thread *geo;    /* this worker's geolocation context (owned), NULL: no geo stage */
    struct geo_merge *gmerge;  /* several workers: where their geo summaries become one (shared) */
    uint64_t gm_next;          /* capture time at which to tell gmerge how far we are */
    uint64_t alerts;           /* alert events produced */
    uint64_t pkts;             /* decoded packets processed (flow stage onwards) */
    struct ctable *alert_counts;   /* "gid:sid" -> alerts, tag = severity (metrics) */
    struct ctable *app_counts;     /* nDPI protocol -> ended flows, bytes (metrics) */
    struct rules_slot *rules;  /* where reloads publish rule sets; NULL: worker_set_detect() only */
    uint64_t rs_version;       /* version of the set this worker matches with, 0: none */
    uint64_t rule_switches;    /* rule sets switched to */
    uint64_t now;              /* latest capture time seen (usec), never goes back */
    uint64_t next_expire;      /* capture time of the next timeout scan */
    struct packet pkt;         /* reused for every packet: no per-packet allocation */
};

/* Timeouts are checked once per second of capture time (cheap, and finer
 * than any timeout), at the first packet at or past the last check + 1 s:
 * with one worker in worker_packet(), with several by the capture thread,
 * which then ticks every worker (dispatch.c): the same packets either way. */
#define WORKER_TICK_USEC 1000000u

static inline int worker_tick_due(uint64_t now, uint64_t *next)
{
    if (now < *next)
        return 0;
    *next = now + WORKER_TICK_USEC;
    return 1;
}

/* The defragmenter's limits from the config's defrag section. */
struct defrag_config worker_defrag_config(const struct lw_config *cfg);

/* Sets up a worker for frames of link type dlt. Returns 0, or -1 with a
 * one-line reason in err. */
int worker_init(struct worker *w, unsigned id, const struct lw_config *cfg,
                struct output *out, int dlt, char *err, size_t errlen);
void worker_destroy(struct worker *w);

/* Gives the worker a compiled rule set (shared, read-only; NULL for none)
 * and its own threshold context (owned from then on; NULL for none). The
 * previous ones are released. Returns 0, or -1 with err filled when the
 * detect scratch cannot be allocated (the worker keeps its old engine). */
int worker_set_detect(struct worker *w, const struct detect_engine *e, struct threshold_ctx *th,
                      char *err, size_t errlen);

/* Makes the worker follow the rule sets published in slot: before each
 * packet it switches to the current one (taking that set's scratch and
 * threshold context for this worker, carrying over the counters of rules
 * whose sid and rev did not change), and after each packet it reports a
 * quiescent point. */
void worker_use_rules(struct worker *w, struct rules_slot *slot);

/* Before a read that may block (a live capture, a pipe): the worker holds
 * no rule set until its next packet, so reloads need not wait for it. */
void worker_offline(struct worker *w);

/* Between packets with nothing to do (live read timed out, next file):
 * hands the tally table to the Redis writer if it asked for it, picks up a
 * new rule set and reports a quiescent point. */
void worker_idle(struct worker *w);
/* Gives the worker the geo stage of the sensor's struct geo (shared; NULL
 * for none): flows are then geolocated, events carry geo{}, geoip rules
 * use the flows' countries, and a geo_summary event is written per scope
 * and country pair every geoip.summary-interval of capture time and by
 * worker_flush(). Returns 0, or -1 with err filled when out of memory (the
 * worker keeps its old state). */
int worker_set_geo(struct worker *w, struct geo *g, char *err, size_t errlen);

/* Several workers write one geo summary: each worker's closed intervals go
 * to m (shared, thread-safe), which writes an interval's events once every
 * worker has passed its end. m outlives the workers. */
struct geo_merge *geo_merge_new(unsigned nworkers, struct output *out, const char *sensor_id);
void geo_merge_free(struct geo_merge *m);
void worker_set_geo_merge(struct worker *w, struct geo_merge *m);

/* Switches the link type (a new capture file); flows carry over. */
void worker_set_datalink(struct worker *w, int dlt);

/* Runs one frame through the pipeline. ts_usec is its capture time. */
void worker_packet(struct worker *w, const uint8_t *data, uint32_t caplen,
                   uint32_t wirelen, uint64_t ts_usec);

/* The same for a packet the capture thread decoded (dispatch.h): p's
 * pointers point into a buffer valid for the call; now is the capture
 * time as the capture thread keeps it (the latest seen). Timeouts are not
 * checked here but by worker_tick_at(). */
void worker_decoded(struct worker *w, struct packet *p, uint64_t now);
/* A tick of capture time from the capture thread: flows idle past their
 * timeout end. Sent at the packets where a single worker checks them. */
void worker_tick_at(struct worker *w, uint64_t now);
/* Capture time moves to now (a geo summary interval that ended is
 * written), nothing expires: before the final flush. */
void worker_clock(struct worker *w, uint64_t now);

/* Ends every flow still open with the given reason (shutdown at exit), then
 * writes the open geo summary interval. */
void worker_flush(struct worker *w, enum flow_end_reason why);

#endif
