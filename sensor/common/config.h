/* config.h - linkwatch.yaml: load, merge, override, validate, and expose as a
 * typed struct.
 *
 * Order of precedence: built-in defaults (the shipped linkwatch.yaml, compiled
 * in) < the file given with -c < each --set key.path=value in order. A key the
 * schema does not know, or a value of the wrong kind or out of range, stops
 * loading with "<key.path>: <reason>" (and the file:line when it came from a
 * file). The typed struct owns every string in it; free with config_free().
 */
#ifndef LW_CONFIG_H
#define LW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "config-schema.h"

#define CONFIG_MAX_LIST 64
#define CONFIG_MAX_SECTIONS 32

struct cfg_strlist {
    char  **v;
    size_t  n;
};

struct lw_config {
    char  *sensor_id;
    char  *default_log_dir;              /* default-log-dir: where outputs go without -l */
    struct cfg_strlist home_net;         /* CIDRs as written */
    char  *home_country;                 /* ISO 3166-1 alpha-2 */

    /* vars: name -> value strings, in file order */
    struct cfg_strlist address_group_names, address_group_values;
    struct cfg_strlist port_group_names, port_group_values;

    struct {
        char    *interface;
        uint32_t snaplen;
        uint64_t buffer_size;            /* bytes; "64mb" style sizes accepted */
        char    *bpf;
        int      promisc;
        int      immediate;
    } capture;

    uint32_t workers;                    /* 0: cores - 1 (at least 1) */
    uint64_t worker_queue_size;          /* bytes of each worker's packet ring (workers > 1) */
    char    *capture_worker;             /* auto, yes, no: the capture thread runs worker 0 */

    struct {
        uint32_t max_flows;
        uint64_t state_memory;           /* bytes of per-flow state (nDPI, results, stream, marks) */
        uint32_t timeout_tcp_new;        /* before established */
        uint32_t timeout_tcp_established;
        uint32_t timeout_tcp_closed;
        uint32_t timeout_udp;
        uint32_t timeout_default;
    } flow;

    struct {
        uint32_t max_trackers;
        uint64_t memcap;
        uint32_t timeout;
        uint32_t max_datagram;
    } defrag;

    struct {
        int      enabled;
        uint32_t max_packets;
        char    *protos_file;
    } dpi;

    struct {
        int      enabled;
        uint64_t depth;                  /* bytes per direction; 0: no limit */
        uint64_t memcap;
        uint32_t inspect_window;         /* history kept before new data */
        uint32_t ooo_limit;              /* bytes out-of-order data may reach past a hole */
    } stream;

    struct {
        uint64_t memcap;                 /* the stage's memory, all workers */
        uint32_t max_tx;                 /* open transactions per flow */
        uint64_t request_body_limit;     /* HTTP bodies kept for inspection; 0: no limit */
        uint64_t response_body_limit;
        uint64_t request_body_inspect_min;   /* body bytes before rules look at an unfinished body */
        uint64_t response_body_inspect_min;
        uint32_t request_body_inspect_window;  /* bytes before the new data a later look sees */
        uint32_t response_body_inspect_window;
        uint64_t decompress_limit;       /* bytes one HTTP body may decompress to */
        uint32_t decompress_time_usec;   /* time one HTTP body may spend decompressing */
        struct cfg_app_proto {
            int enabled;
            struct cfg_strlist ports;    /* empty: the parser's own */
        } http, dns, tls, ssh, smb, ftp; /* ftp: its data connections too */
    } app_layer;

    struct {
        int count_always;                /* count personal data in every HTTP body */
    } pii;

    struct {
        struct cfg_strlist files;        /* globs, relative to the config file's folder */
        char  *threshold_file;
        char  *classification_file;
        int    watch;
        int    strict;
    } rules;

    struct {
        struct cfg_strlist databases;    /* .mmdb files, relative to the config file's folder */
        uint32_t summary_interval;       /* seconds of capture time */
        uint32_t cache_size;             /* lookup cache entries per worker, 0: none */
    } geoip;

    /* redis.*: described by sensor/redis/redis-config.c (a section shared by
     * the Redis alert exporter, the tally flusher, the workers' tallies and
     * the console). */
    struct {
        int      enabled;
        char    *server;                 /* host name, address, or unix socket path (starts with /) */
        uint32_t port;
        struct cfg_strlist cluster;      /* Redis Cluster seed nodes "host:port"; empty: server */
        uint32_t wait_replicas;          /* cluster: WAIT for that many replicas per round */
        char    *alerts_layout;          /* auto, shared, per-sensor */
        char    *username;               /* AUTH user (Redis 6 ACL); empty: password only */
        char    *password;               /* after load: from password-file, else the environment, else this key */
        char    *password_file;
        uint32_t db;
        uint32_t connect_timeout;        /* seconds */
        uint32_t command_timeout;        /* seconds */
        uint32_t reconnect_max;          /* seconds: longest wait between two connection attempts */
        char    *prefix;
        uint32_t flush_interval;         /* seconds */
        uint64_t alerts_stream_maxlen;   /* 0: not trimmed */
        int      flows_stream;           /* ended flows to a stream too */
        uint64_t flows_stream_maxlen;
        uint32_t top_hosts;              /* K of the per-bucket host top-K sets */
        int      merged_view;            /* also count into the all-sensors keys */
        uint32_t max_keys;               /* tally keys per worker table */
        uint32_t pending_max_keys;       /* tally keys kept while Redis is away */
        uint64_t retention_minute;       /* seconds */
        uint64_t retention_hour;         /* seconds */
        char    *spool_dir;
        uint64_t spool_max_size;         /* bytes */
    } redis;

    /* The output layer's own keys; each exporter's are in its section
     * (outputs.eve-file, outputs.syslog, ...: see exporters.h). */
    struct {
        uint64_t queue_size;             /* bytes per exporter */
        char    *spool_dir;              /* "": LOGDIR/spool */
        uint64_t spool_size;             /* bytes per exporter */
        struct {                         /* outputs.xff: alerts of HTTP flows */
            int   enabled;
            char *mode;                  /* extra-data (alert.xff), overwrite (the client's IP) */
            char *deployment;            /* reverse (last entry), forward (first entry) */
            char *header;                /* X-Forwarded-For */
        } xff;
    } outputs;

    struct {
        int      enabled;
        uint32_t interval;               /* seconds between stats events */
    } stats;

    struct { int enabled; char *listen; } metrics;
    struct { char *socket; } control;
    struct { char *user, *group, *chroot; } privileges;
    struct {
        char    *listen;
        char    *users_file;
        char    *user;                   /* runs as this account after binding, when started as root */
        char    *trusted_proxies;        /* X-Forwarded-For believed from these */
        int      secure_cookies;
        uint32_t session_idle;           /* seconds */
        uint32_t sessions_per_user;
    } console;

    char *logging_level;                 /* error, warning, info, debug */
    char *source_path;                   /* the -c file, or NULL for built-in defaults */

    /* The sections loaded besides the keys above (NULL-terminated) and the
     * struct of each, in the same order (NULL for one with size 0). */
    const struct cfg_section *const *sections;
    void *section_data[CONFIG_MAX_SECTIONS];
};

/* Loads defaults, then path (may be NULL), then the --set overrides
 * ("key.path=value", value read as YAML), checking the keys above and those
 * of the sections given (NULL-terminated, at most CONFIG_MAX_SECTIONS). On
 * error returns -1 and writes one line "key.path: reason" (prefixed
 * "file:line: " when known) into err; *cfg is then left freed. Returns 0 on
 * success. */
int config_load_with(struct lw_config *cfg, const struct cfg_section *const *sections,
                     const char *path, char *const *sets, size_t nsets, char *err, size_t errlen);
/* config_load_with() with the sections of every exporter of the registry.
 * Defined by the registry (sensor/output/exporters.c), which knows them:
 * config.c itself knows no exporter. */
int config_load(struct lw_config *cfg, const char *path,
                char *const *sets, size_t nsets, char *err, size_t errlen);

/* The struct of section sec as loaded into cfg (cfg itself for a section
 * of size 0), or NULL when cfg was not loaded with sec. Owned by cfg. */
const void *config_section(const struct lw_config *cfg, const struct cfg_section *sec);

void config_free(struct lw_config *cfg);

/* Parses "64mb", "1gb", "512kb", "1000" into bytes. Returns 0 or -1. */
int config_parse_size(const char *s, uint64_t *out);
/* Parses "2d", "30d", "12h", "90m", "45s", "3600" into seconds. Returns 0 or -1. */
int config_parse_duration(const char *s, uint64_t *out);

/* The compiled-in default configuration text (the shipped linkwatch.yaml). */
extern const char config_default_yaml[];

#endif
