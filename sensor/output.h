/* output.h - fans finished events out to the enabled exporters.
 *
 * One output per sensor, shared by the workers: output_event() takes a lock
 * only for the copy into the exporters' buffers. Events are filtered per
 * exporter by type.
 */
#ifndef LW_OUTPUT_H
#define LW_OUTPUT_H

#include <stddef.h>
#include "exporter.h"
#include "config.h"

struct output;

/* Opens the exporters the config enables, with files under logdir. Returns
 * NULL and a one-line reason in err on failure. */
struct output *output_open(const struct lw_config *cfg, const char *logdir, char *err, size_t errlen);
void output_close(struct output *o);

/* Whether any exporter wants events of this type (so builders can skip work). */
int output_wants(const struct output *o, enum event_type t);
void output_event(struct output *o, enum event_type t, const char *line, size_t len);
void output_flush(struct output *o);
/* Reopens every exporter's files (SIGUSR1, logrotate). Returns 0 or -1. */
int output_reopen(struct output *o);

/* The open exporter of that name ("eve-file", "redis"), or NULL. Owned by o. */
struct exporter *output_find(const struct output *o, const char *name);

/* Events handed in, by type, and write failures over all exporters. */
uint64_t output_count(const struct output *o, enum event_type t);
uint64_t output_failures(const struct output *o);

#endif
