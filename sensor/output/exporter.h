/* exporter.h - the small interface every event exporter implements.
 *
 * An exporter receives finished EVE lines (no trailing newline) and owns how
 * they leave the sensor. All its operations are called from one thread of
 * its own (sensor/output/output.c), so it needs no locking and may block: the
 * workers only fill its queue. write_event returns -1 when the line did not
 * leave; alerts are then spooled and retried, other events counted as failed.
 */
#ifndef LW_EXPORTER_H
#define LW_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

enum event_type {
    EVT_ALERT = 0,
    EVT_FLOW,
    EVT_STATS,
    EVT_GEO_SUMMARY,
    EVT_RELOAD,
    EVT_HTTP,           /* one per HTTP transaction (sensor/app/http.c) */
    EVT_DNS,
    EVT_TLS,
    EVT_SSH,
    EVT_FILEINFO,       /* one per HTTP body */
    EVT_MAX
};

struct exporter_counters {
    uint64_t written;
    uint64_t failed;
    uint64_t dropped;
};

struct exporter;

struct exporter_ops {
    const char *name;
    /* Writes one event line; returns 0, or -1 when it could not be written (counted by the caller). */
    int  (*write_event)(struct exporter *x, enum event_type t, const char *line, size_t len);
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
    uint32_t types;                    /* bit (1 << enum event_type) per accepted type */
    struct exporter_counters counters;
    void *priv;
};

/* Parses an event type name ("alert", "flow", "stats", "geo_summary", "reload", "http", "dns",
 * "tls", "ssh", "fileinfo"). Returns -1 if unknown. */
int event_type_parse(const char *name);
const char *event_type_name(enum event_type t);

struct cfg_eve_file;
struct cfg_syslog;

/* eve-file: EVE JSON lines appended to path (or, with split_by_type, to
 * one file per type named after it: eve.json -> eve-alert.json), rotated
 * by size and/or time keeping rotate_keep files. Returns NULL and writes a
 * reason into err when a file cannot be opened. */
struct exporter *eve_file_open(const char *path, uint32_t types, const struct cfg_eve_file *cfg,
                               char *err, size_t errlen);

/* syslog: RFC 5424 messages to the local syslog daemon or a UDP/TCP server. */
struct exporter *syslog_exporter_open(const struct cfg_syslog *cfg, uint32_t types,
                                      char *err, size_t errlen);

/* unix-socket: EVE lines to a unix stream socket (a local shipper), with
 * reconnection. Never fails to open: an absent peer is retried. */
struct exporter *unix_socket_open(const char *path, uint32_t types, char *err, size_t errlen);

struct lw_config;
/* redis (sensor/redis/redis.h): alerts to the shared Redis stream and channel,
 * spooled to disk while Redis cannot take them; the same thread flushes the
 * tallies. Starts the thread, which connects and replays the spool at once.
 * types: alert, and flow for the flows stream. Returns NULL with a one-line
 * reason in err (spool folder unusable or locked, out of memory). */
struct exporter *redis_exporter_open(const struct lw_config *cfg, uint32_t types, char *err,
                                     size_t errlen);

#endif
