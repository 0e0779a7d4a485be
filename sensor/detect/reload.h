/* reload.h - loading the rules at start-up and reloading them while capture
 * runs: build off the packet path, publish atomically, free the old set once
 * every worker has moved on, and say plainly what happened.
 *
 * Policy for a new set:
 *   - it cannot be built (out of memory, a threshold file that does not
 *     parse, Hyperscan refusing it): the old set stays ("failed");
 *   - rules.strict and any rule or file error: the old set stays ("kept-old");
 *   - it loads no rule while the old one had some: the old set stays
 *     ("kept-old"), as an empty set is nearly always a mistake;
 *   - otherwise it goes live, with the rules that loaded ("ok", or
 *     "loaded-with-errors" listing each file:line: reason).
 * Threshold and detection_filter counters of rules whose gid:sid and rev are
 * unchanged carry over (each worker copies them when it switches).
 *
 * Every reload is reported to the log, as an EVE "reload" event, and to the
 * requester (text or JSON).
 */
#ifndef LW_RELOAD_H
#define LW_RELOAD_H

#include <stdint.h>
#include <stdio.h>
#include "output.h"
#include "ruleset.h"
#include "stats.h"

#define RELOAD_MAX_PENDING 8   /* old sets a slow worker may still hold */

enum reload_status { RELOAD_OK = 0, RELOAD_WITH_ERRORS, RELOAD_KEPT_OLD, RELOAD_FAILED };

struct reload_state {
    struct rules_slot slot;
    struct ruleset_source src;     /* paths owned */
    int strict;
    struct output *out;            /* for reload events; NULL: none */
    const char *sensor_id;
    volatile int stopping;         /* shutdown: stop waiting for workers */

    struct ruleset *pending[RELOAD_MAX_PENDING];   /* old sets not yet freed */
    size_t npending;

    /* What the metrics and `ruleset` report. Written under slot.lock. */
    uint64_t reloads;              /* attempts, start-up excluded */
    uint64_t reload_failures;      /* kept-old or failed */
    uint64_t last_latency_usec;    /* request -> new set live */
    int      last_status;          /* enum reload_status */
    uint64_t last_at;              /* wall clock, usec */

    /* A copy of those and of the live set's counts for the metrics, under
     * its own lock: slot.lock is held for a whole reload, including the
     * wait for the workers' quiescent points, and the capture thread
     * (worker 0 when it runs inline) writes the periodic stats. Waiting
     * there for slot.lock would hold up the very quiescent point the
     * reload waits for, and stop the capture for RELOAD_QUIESCE_USEC. */
    pthread_mutex_t stats_lock;
    struct reload_stats {
        uint64_t loaded, failed;   /* rules of the live set, and of its files that did not load */
        uint64_t version;          /* of the live set, 0: none */
        uint64_t reloads, failures;
        uint64_t last_latency_usec;
        uint64_t last_status;      /* enum reload_status */
    } pub;
};

/* Sets up the state for nworkers workers; takes ownership of paths (an
 * array of npaths malloc'd strings), classification and threshold_file
 * (malloc'd or NULL). Returns 0 or -1 (out of memory). */
int reload_init(struct reload_state *r, const struct lw_config *cfg, unsigned nworkers,
                char **paths, size_t npaths, char *classification, char *threshold_file);
void reload_destroy(struct reload_state *r);

/* Builds and (policy permitting) publishes a new set. origin: "startup",
 * "sighup", "control", "watch". Writes the report to out (JSON when json)
 * and returns the status. Serialised: a second caller waits. */
enum reload_status reload_rules(struct reload_state *r, const char *origin, int json, FILE *out);

/* The rule sets' counters (reload_stats_module), copied under stats_lock:
 * any thread may ask, and none waits for a reload in progress. */
extern const struct stats_module reload_stats_module;
void reload_get_stats(struct reload_state *r, struct reload_stats *out);

/* The live set's description (`linkwatchctl ruleset`). */
void reload_describe(struct reload_state *r, int json, FILE *out);

const char *reload_status_name(enum reload_status s);

#endif
