/* exporter.h - the small interface every event exporter implements.
 *
 * An exporter receives finished EVE lines (no trailing newline) and owns how
 * they leave the sensor. All its operations are called from one thread of
 * its own (sensor/output/output.c), so it needs no locking and may block:
 * the workers only fill its queue. An alert it cannot take is kept by the
 * output layer (the exporter's spool, spool.h) and handed to it again later,
 * in order, with the same sequence number; other events it refuses are
 * counted as failed.
 *
 * Adding an exporter: a file with its ops, its configuration keys (a
 * struct cfg_section, config-schema.h), an open function and a struct
 * exporter_def naming them; one line in the registry (exporters.h); its
 * section in linkwatch.yaml (the compiled-in defaults).
 */
#ifndef LW_EXPORTER_H
#define LW_EXPORTER_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "event-types.h"

/* One event handed to an exporter. */
struct exporter_event {
    enum event_type type;
    uint64_t seq;        /* alerts: increasing per exporter, also across restarts,
                          * and the same when the alert is handed in again */
    const char *line;    /* the EVE line, without newline */
    size_t len;
};

struct exporter_counters {
    uint64_t written;
    uint64_t failed;
    uint64_t dropped;
};

struct exporter;

struct exporter_ops {
    /* Writes one event; returns 0, or -1 when it could not be written. */
    int  (*write_event)(struct exporter *x, const struct exporter_event *ev);
    /* Optional: writes ev[0..n) in order as one unit (a pipeline, one send)
     * and sets ok[i] to 1 for each event that left, 0 for the others. From
     * the first alert without ok on, every alert of the batch is kept and
     * handed in again later: an exporter that can fail in the middle fails
     * the alerts after that point too (or takes a repeat; see redis-alerts.c).
     * Without it, write_event is called for each event. */
    void (*write_batch)(struct exporter *x, const struct exporter_event *ev, size_t n,
                        unsigned char *ok);
    int  (*flush)(struct exporter *x);
    /* Closes and reopens files (log rotation); returns 0 or -1. */
    int  (*reopen)(struct exporter *x);
    void (*close)(struct exporter *x);
    /* Optional: gives the files it writes to uid/gid (before linkwatch drops
     * root, so rotation and reopen keep working). Returns 0 or -1. */
    int  (*give)(struct exporter *x, unsigned uid, unsigned gid);
};

struct exporter {
    const struct exporter_ops *ops;
    const char *name;                  /* its registry name; set by the output layer */
    uint32_t types;                    /* bit (1 << enum event_type) per accepted type */
    struct exporter_counters counters;
    /* Set by the exporter (atomically) when it learns that its sink holds
     * sequence numbers up to this one: alerts numbered later get higher ones. */
    uint64_t seq_floor;
    /* How long the final delivery of spooled alerts (output_flush) keeps
     * retrying without progress; 0: one attempt. Set by open. */
    uint64_t drain_grace_usec;
    void *priv;
};

/* What an exporter is opened with. */
struct exporter_params {
    const struct lw_config *cfg;       /* the whole configuration (sensor-id, redis.*, ...) */
    const void *section;               /* its own section's struct (exporter_def.config) */
    const char *logdir;                /* relative file names are under it */
    uint32_t types;                    /* the event types it takes, from enabled() */
};

struct spool_config;

/* One registry entry (exporters.h). */
struct exporter_def {
    const char *name;                  /* "eve-file": messages, metrics, its spool */
    struct cfg_section config;         /* its keys of linkwatch.yaml */
    /* Whether the configuration enables it; *types: the event types it takes. */
    int (*enabled)(const struct exporter_params *p, uint32_t *types);
    /* Opens it. Returns NULL with a one-line reason in err. */
    struct exporter *(*open)(const struct exporter_params *p, char *err, size_t errlen);
    /* Optional: where its alert spool lives (fills *sc). Without it the
     * spool is <outputs.spool-dir>/<name>, bounded by outputs.spool-size. */
    void (*spool)(const struct exporter_params *p, struct spool_config *sc);
};

/* What every outputs.<name> section starts with: its "enabled" and "types"
 * keys. */
struct exporter_switch {
    int enabled;
    struct cfg_strlist types;
};

/* exporter_def.enabled for a section that starts with struct exporter_switch. */
int exporter_switch_enabled(const struct exporter_params *p, uint32_t *types);

#endif
