/* output.h - fans finished events out to the enabled exporters.
 *
 * One output per sensor, shared by the workers. A worker adds its events to
 * a batch of its own (no lock) and publishes the batch whole: one copy into
 * each interested exporter's bounded queue under that exporter's lock, and
 * at most one wake. output_event() is the same for one event (the capture
 * and control threads' few events). Each exporter writes from a thread of
 * its own, so a slow sink never stalls capture. A full queue drops events other than alerts
 * (counted). Alerts are never dropped: each gets a sequence number, and one
 * that cannot be queued or written goes to the exporter's disk spool
 * (spool.h) and is delivered later, in order, also after a restart.
 *
 * The exporters are those of a registry (exporters.h) whose configuration
 * section enables them.
 */
#ifndef LW_OUTPUT_H
#define LW_OUTPUT_H

#include <stddef.h>
#include "exporter.h"
#include "config.h"
#include "stats.h"

struct output;

/* Opens the exporters of the registry (exporters.h) the config enables,
 * with files under logdir (which must exist). Nothing below logdir is
 * followed through a link (fsafe.h). Returns NULL and a one-line reason in
 * err on failure. */
struct output *output_open(const struct lw_config *cfg, const char *logdir, char *err, size_t errlen);
/* The same with the registry given (NULL-terminated); cfg must have been
 * loaded with the registry's sections (config_load_with()). */
struct output *output_open_with(const struct exporter_def *const *registry, const struct lw_config *cfg,
                                const char *logdir, char *err, size_t errlen);
/* Stops the exporter threads after their queues are written (alerts a sink
 * does not take stay in its spool, logged) and closes everything. */
void output_close(struct output *o);

/* Whether any exporter wants events of this type (so builders can skip work). */
int output_wants(const struct output *o, enum event_type t);
void output_event(struct output *o, enum event_type t, const char *line, size_t len);

/* A batch of events with one owner (a worker): events are added without
 * locks and handed over whole by output_publish(), which the owner calls
 * when it wants them out (at ticks, before a read that may block, at the
 * end); a full batch (64 KB) is published by output_batch_add() itself.
 * Events of one batch reach each exporter in the order added; alerts are
 * numbered as they are queued, so their order per exporter is the order of
 * publication. output_batch_new() returns NULL when out of memory;
 * output_batch_free() publishes what is left first. */
struct output_batch;
struct output_batch *output_batch_new(struct output *o);
void output_batch_free(struct output_batch *b);
void output_batch_add(struct output_batch *b, enum event_type t, const char *line, size_t len);
void output_publish(struct output_batch *b);
/* Waits until each exporter has written everything queued before the call
 * and flushed its buffers, and has tried to deliver its spooled alerts (on
 * while they go, and for the exporter's drain_grace_usec without progress). */
void output_flush(struct output *o);
/* Reopens every exporter's files (SIGUSR1, logrotate). Returns 0 or -1. */
int output_reopen(struct output *o);

/* Gives what the exporters write (EVE files, the spool folders and their
 * files, redis.spool-dir included) to uid/gid on their descriptors, so a
 * sensor that drops root keeps writing, rotating and spooling. A spool
 * folder that is not root's, or is shared (sticky or writable by others),
 * keeps its owner. Returns 0, or -1 with the first failure in err. */
int output_give(struct output *o, unsigned uid, unsigned gid, char *err, size_t errlen);
/* The open exporter of that name ("eve-file", "redis"), or NULL (also for
 * a NULL o). Owned by o. */
struct exporter *output_find(const struct output *o, const char *name);

/* Events handed in, by type, and write failures over all exporters. */
uint64_t output_count(const struct output *o, enum event_type t);
uint64_t output_failures(const struct output *o);

/* Per-exporter counters (metrics). */
struct output_exporter_stats {
    const char *name;
    uint64_t written, failed;
    uint64_t dropped;          /* queue full (not alerts) */
    uint64_t spooled;          /* alerts put in the disk spool */
    uint64_t spool_pending;    /* of those, not yet delivered */
    uint64_t spool_lost;       /* alerts the full spool could not take */
    uint64_t queue_bytes;      /* in the queue now */
};
size_t output_exporters(const struct output *o, struct output_exporter_stats *v, size_t max);
/* The counters of the exporter of that name. Returns 0, or -1 when there is none. */
int output_exporter_stats(const struct output *o, const char *name, struct output_exporter_stats *st);
/* Counted by exporter_stats_module, one instance per exporter. */
extern const struct stats_module exporter_stats_module;

/* Events handed in, by type (output_stats_module). */
struct output_stats {
    uint64_t events[EVT_MAX];
};
extern const struct stats_module output_stats_module;
const struct output_stats *output_stats(const struct output *o);

#endif
