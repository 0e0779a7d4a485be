/* ruleset.h - one loaded generation of the rules, and its atomic publication.
 *
 * A struct ruleset is everything the workers need from one load of the rule
 * files: the compiled engine (immutable, shared), and per worker a detect
 * scratch and a threshold context, made ready by the thread that built the
 * set so that a worker switching to it allocates nothing. It also carries
 * what a reload reports: version, content hash, counts, diff against the set
 * it replaces, timings and memory.
 *
 * Publication is RCU style: struct rules_slot holds the current set behind an
 * atomic pointer and an epoch. A reload builds the new set off the packet
 * path, stores it with one atomic store, bumps the epoch, and frees the old
 * set only when every worker has reported a quiescent point at or after the
 * new epoch (rules_slot_quiescent(), called between packets and when idle).
 * Workers never take a lock. Reloads are serialised by the slot's mutex, so
 * at most two sets are alive: the current one and the one being replaced.
 */
#ifndef LW_RULESET_H
#define LW_RULESET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include "config.h"
#include "rule-load.h"
#include "rule-parse.h"

struct detect_engine;
struct detect_thread;
struct threshold_ctx;

/* (gid, sid) -> rev and text hash, sorted, to diff sets and to tell which
 * threshold counters survive a reload. */
struct ruleset_key {
    uint32_t gid, sid, rev;
    uint64_t text_hash;
};

struct ruleset {
    uint64_t version;              /* 1 for the first set, +1 per published set */
    uint64_t hash;                 /* FNV-1a over the rules (gid, sid, text) and the threshold file */
    struct detect_engine *engine;  /* NULL when no rule loaded */
    struct rule_load_report rep;
    size_t   threshold_entries;    /* threshold.config lines loaded */
    size_t   added, removed, changed;   /* against the set it replaced */
    uint64_t load_usec, compile_usec;
    int64_t  mem_bytes;            /* resident memory the build added */
    uint64_t built_at;             /* wall clock, usec */

    struct ruleset_key *keys;
    size_t nkeys;

    unsigned nworkers;
    struct detect_thread **dt;     /* per worker, taken (set NULL) when the worker switches */
    struct threshold_ctx **th;
};

/* What to load. Paths are resolved by the caller. */
struct ruleset_source {
    const struct lw_config *cfg;
    char **paths;                  /* rule files, globs or folders */
    size_t npaths;
    const char *classification;    /* NULL: none */
    const char *threshold_file;    /* NULL: none; a missing file is a warning, not an error */
    unsigned nworkers;
    struct threshold_ctx *shared_th;   /* several workers: where by_src/by_dst/by_rule keys
                                        * live (threshold.h); NULL: per worker */
};

/* Loads, compiles and prepares a set for nworkers workers; old (may be
 * NULL) is what it will replace, for the diff. Rule errors do not fail the
 * build: they are in rep (rep.errors). Returns NULL only when the set
 * cannot be built at all (out of memory, Hyperscan refusal, a threshold file
 * that does not parse), with the reason in err. */
struct ruleset *ruleset_build(const struct ruleset_source *src, const struct ruleset *old,
                              char *err, size_t errlen);
void ruleset_free(struct ruleset *rs);
size_t ruleset_rule_count(const struct ruleset *rs);

/* The rev of gid:sid in rs, or -1 when it has no such rule. */
int64_t ruleset_rev(const struct ruleset *rs, uint32_t gid, uint32_t sid);

/* linkwatch -T: loads the rules, prints the load report to out, compiles
 * them and reports every loaded rule that could never match (as
 * "file:line: never matches: why", an error) and those waiting for an
 * application-layer parser (counted by reason). Frees everything. Returns
 * 0 when there was no error at all, 1 otherwise (2 when out of memory or
 * the engine cannot be built). */
int ruleset_check(const char *const *paths, size_t n, const struct lw_config *cfg,
                  const char *classification_path, FILE *out);

/* ---------------------------------------------------------------- publication */

#define RULES_MAX_WORKERS 256

struct rules_slot {
    _Atomic(struct ruleset *) cur;
    _Atomic uint64_t epoch;
    _Atomic uint64_t qs[RULES_MAX_WORKERS];   /* last epoch each worker passed */
    unsigned nworkers;
    pthread_mutex_t lock;          /* one reload at a time */
};

void rules_slot_init(struct rules_slot *s, unsigned nworkers);
void rules_slot_destroy(struct rules_slot *s);

static inline struct ruleset *rules_slot_get(struct rules_slot *s)
{
    return atomic_load_explicit(&s->cur, memory_order_acquire);
}

/* Worker w holds no reference to any set it loaded before this call. */
static inline void rules_slot_quiescent(struct rules_slot *s, unsigned w)
{
    atomic_store_explicit(&s->qs[w], atomic_load_explicit(&s->epoch, memory_order_seq_cst),
                          memory_order_seq_cst);
}

/* Worker w holds no set until its next rules_slot_quiescent() (it is about
 * to block in a read). */
static inline void rules_slot_offline(struct rules_slot *s, unsigned w)
{
    atomic_store_explicit(&s->qs[w], UINT64_MAX, memory_order_seq_cst);
}

/* Publishes rs and returns the set it replaces (the caller frees it after
 * rules_slot_wait()), with the epoch to wait for in *epoch. */
struct ruleset *rules_slot_publish(struct rules_slot *s, struct ruleset *rs, uint64_t *epoch);

/* Waits until every worker passed a quiescent point at or after epoch, or
 * timeout_usec passed, or *stop became non-zero. Returns 0 when they all
 * did, -1 otherwise (the old set must then be kept until shutdown). */
int rules_slot_wait(struct rules_slot *s, uint64_t epoch, uint64_t timeout_usec,
                    const volatile int *stop);

#endif
