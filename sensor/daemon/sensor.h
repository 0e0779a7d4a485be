/* sensor.h - the linkwatch daemon's state, shared by its start-up
 * (main.c), the pipeline it builds (pipeline.c), its reports (report.c) and
 * its control commands (commands.c). Not a library interface.
 */
#ifndef LW_SENSOR_H
#define LW_SENSOR_H

#include <stdatomic.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "capture.h"
#include "config.h"
#include "dispatch.h"
#include "json.h"
#include "privileges.h"
#include "reload.h"
#include "stats.h"
#include "worker.h"

struct output;
struct tally_flush;
struct geo;
struct geo_merge;
struct threshold_ctx;
struct control;
struct metrics;

struct options {
    const char *config_path;
    const char *logdir;
    const char *iface;
    const char *bpf;
    char **reads;  size_t nreads;
    char **sets;   size_t nsets;
    char **rule_files; size_t nrule_files;
    int test_only;
    int verbose;
};

struct sensor {
    struct lw_config cfg;
    struct output *out;
    struct tally_flush *redis;     /* the Redis tally flusher; NULL when off */
    double redis_drain_secs;       /* how long its final drain took */
    struct worker *workers;        /* [nworkers] */
    unsigned nworkers;
    struct dispatch disp;          /* the capture stage: capture thread -> workers */
    struct geo_merge *geo_merge;   /* workers > 1: their geo summaries made one */
    struct threshold_ctx *shared_th;   /* workers > 1: by_src/by_dst/by_rule threshold keys */
    struct reload_state reload;    /* the rule sets, start-up load and reloads */
    int reload_ready;
    struct control *control;       /* linkwatchctl, SIGHUP, rules.watch */
    struct metrics *metrics;       /* /metrics, NULL when off */
    struct geo *geo;               /* geolocation databases (shared by the workers) */
    struct privileges priv;        /* privileges.*: who we become once the capture is open */
    struct capture_stats cap;      /* written by the capture thread */
    struct jbuf jb;
    uint64_t start_mono;
    uint64_t next_stats;           /* event time of the next stats event */
    uint64_t last_ts;              /* capture time of the latest packet */
    int live;
    atomic_int capturing;          /* a capture source is open and being read (linkwatchctl stats) */
    int errors;                    /* files refused or cut short */
    int fatal;                     /* could not drop privileges: stop */
};

/* main.c: stop the capture (SIGTERM, linkwatchctl shutdown). */
void sensor_request_stop(void);

/* pipeline.c: building and tearing down the pipeline. Each returns 0, or
 * -1 after printing why. */
int sensor_start_workers(struct sensor *s, char *err, size_t errlen);
void sensor_destroy_workers(struct sensor *s);
int sensor_open_geo(struct sensor *s);
int sensor_start_rules(struct sensor *s, const struct options *o);
void sensor_stop_control(struct sensor *s);
void sensor_free_shared(struct sensor *s);
/* -T: whether the rule files and geoip databases load (0: yes). */
/* A -S file or rules.files entry that cannot be read is an error; only
 * the default rules.files may match nothing (rule-paths.h). Returns 0, or
 * -1 with the reason in err. */
int sensor_check_rule_paths(const struct lw_config *cfg, const struct options *o, char *err, size_t errlen);
int sensor_check_rules(const struct lw_config *cfg, const struct options *o);
int sensor_check_geo(const struct lw_config *cfg);
/* A path of the config relative to the folder of the -c file. malloc'd or NULL. */
char *sensor_config_path(const struct lw_config *cfg, const char *path);
/* geoip.databases resolved (NULL-terminated, free with sensor_free_paths()). */
char **sensor_geo_paths(const struct lw_config *cfg);
void sensor_free_paths(char **paths, size_t n);

/* report.c: every counter of the sensor in one snapshot, and its views. */
void sensor_snapshot(struct sensor *s, struct stats_snap *snap);
void sensor_emit_stats(struct sensor *s, uint64_t ts);
void sensor_maybe_stats(struct sensor *s, uint64_t now);
void sensor_print_summary(struct sensor *s, const char *logdir, double secs);
void sensor_write_stats(struct sensor *s, int json, FILE *out);
void sensor_collect_metrics(void *arg, FILE *out);
void sensor_redis_health(struct sensor *s);

/* commands.c: the control thread's commands (a control_handler_fn). */
int sensor_control_command(void *arg, const char *cmd, const char *origin, int json, FILE *out);

#endif
