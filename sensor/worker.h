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

struct detect_engine;
struct detect_thread;
struct threshold_ctx;

struct worker {
    unsigned id;
    const struct lw_config *cfg;
    struct output *out;
    struct decoder dec;
    struct flow_table *flows;
    struct dpi_engine *dpi;
    struct tally *tally;       /* tallies for the Redis flusher (sensor/tally.h) */
    int tally_on;              /* redis.enabled: count into tally */
    struct jbuf jb;
    const struct detect_engine *detect;  /* NULL: no rules */
    struct detect_thread *dt;  /* this worker's scratch for detect */
    struct threshold_ctx *th;  /* this worker's thresholds (owned), NULL: none */
    uint64_t alerts;           /* alert events produced */
    uint64_t now;              /* latest capture time seen (usec), never goes back */
    uint64_t next_expire;      /* capture time of the next timeout scan */
    struct packet pkt;         /* reused for every packet: no per-packet allocation */
};

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

/* Switches the link type (a new capture file); flows carry over. */
void worker_set_datalink(struct worker *w, int dlt);

/* Runs one frame through the pipeline. ts_usec is its capture time. */
void worker_packet(struct worker *w, const uint8_t *data, uint32_t caplen,
                   uint32_t wirelen, uint64_t ts_usec);

/* Between packets on a quiet live link: hands the tally table over if the
 * flusher asked for it, so counts do not wait for the next packet. */
void worker_idle(struct worker *w);

/* Ends every flow still open with the given reason (shutdown at exit). */
void worker_flush(struct worker *w, enum flow_end_reason why);

#endif
