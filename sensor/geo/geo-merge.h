/* geo-merge.h - one geo summary out of several workers'.
 *
 * Each worker closes its own summary intervals (geo.h); with several
 * workers the rows go into the merger's accumulator for that interval. An
 * interval is written once every worker has passed its end in capture time
 * (every worker gets the capture stage's ticks, so none lags for want of
 * packets); it is then the same summary a single worker would have made.
 * Accumulators are made when an interval first closes (not per packet) and
 * kept for reuse. Thread-safe: workers call it from their own threads; the
 * interval is written, under the merger's lock, by the worker whose call
 * completed it, through the write function that worker passes.
 */
#ifndef LW_GEO_MERGE_H
#define LW_GEO_MERGE_H

#include <stdint.h>

struct geo_merge;
struct geo_thread;
struct geo_summary;

/* Writes one finished interval (its rows as events); gt is the calling
 * worker's geolocation context, from whose database set names are read. */
typedef void (*geo_merge_write_fn)(void *arg, const struct geo_thread *gt, const struct geo_summary *s);

/* Most intervals kept waiting for a slow worker; beyond it the oldest is
 * written early (with a warning: the slow worker's share of it then comes
 * as rows of their own) rather than memory growing without bound. */
#define GEO_MERGE_MAX_PENDING 64u

/* A merger for nworkers workers; NULL when out of memory. */
struct geo_merge *geo_merge_new(unsigned nworkers);
void geo_merge_free(struct geo_merge *m);

/* Worker `worker' closed its open interval at capture time end: its rows
 * go into that interval's accumulator (or, out of memory, are written at
 * once with write). Call instead of writing geo_summary_close()'s result;
 * the caller then opens its next interval. */
void geo_merge_add(struct geo_merge *m, unsigned worker, struct geo_thread *gt, uint64_t end,
                   geo_merge_write_fn write, void *arg);

/* Worker `worker' has passed capture time now (UINT64_MAX: it is done):
 * every interval all workers have passed is written. Returns the capture
 * time at which the worker should report again. */
uint64_t geo_merge_progress(struct geo_merge *m, unsigned worker, struct geo_thread *gt,
                            uint64_t now, geo_merge_write_fn write, void *arg);

#endif
