/* threshold.h - alert thresholds, detection filters and suppressions.
 *
 * Decides, for a rule that matched a packet, whether the match becomes an
 * alert, with Suricata's semantics:
 *   limit      alert on the first `count` matches of each window
 *   threshold  alert on every `count`-th match within a window
 *   both       alert once per window, on the `count`-th match
 *   detection_filter  alert on every match after the `count`-th in a window
 * A window opens at the first match of a tracked key and lasts `seconds` of
 * capture time: a match at exactly start + seconds opens the next one.
 * Keys are (gid, sid, track, tracked address(es)): by_src tracks p->src,
 * by_dst p->dst, by_rule nothing, by_both the address pair in either order.
 *
 * threshold.config (Suricata's format) adds
 *   suppress gen_id G, sig_id S[, track by_src|by_dst|by_either, ip A]
 *   threshold gen_id G, sig_id S, type limit|threshold|both,
 *             track by_src|by_dst|by_rule|by_both, count N, seconds T
 *   event_filter  (the same as threshold)
 * where gen_id 0 / sig_id 0 mean every gid / sid and A is an address, a
 * CIDR or a [list] of them. A threshold/event_filter naming a sid replaces
 * the rule's own threshold or detection_filter keyword; a wildcard one
 * (sig_id 0) applies only to rules that have none. The most specific entry
 * wins: gid:sid, then 0:sid, then gid:0, then 0:0. Suppressions add up: any
 * that matches drops the alert, and a suppressed match counts nowhere.
 *
 * Memory is bounded: threshold_new() allocates everything; a check never
 * allocates. When all max_entries keys are in use, the key whose window
 * opened longest ago is dropped (counted in threshold_stats().evicted).
 *
 * Threads: a context is not locked; each worker owns one, or the caller
 * serialises the calls. With several workers, each worker's context is
 * linked to one shared context (threshold_use_shared()): keys tracked
 * by_src, by_dst and by_rule are kept there (a host's flows are spread
 * over the workers) under its lock, after the order hook has waited until
 * every packet before this one is done, so the checks come in capture
 * order and the alerts are those of a single worker. by_both keys (the
 * host pair: always one worker's) and the config entries stay per worker.
 * The shared context outlives rule reloads: a key whose rule's rev changed
 * starts counting again.
 */
#ifndef LW_THRESHOLD_H
#define LW_THRESHOLD_H

#include <stddef.h>
#include <stdint.h>
#include "packet-t.h"
#include "rule-t.h"

#define THRESHOLD_DEFAULT_ENTRIES 65536u
#define THRESHOLD_MAX_ENTRIES     (1u << 22)   /* ~400 MB of keys */
#define THRESHOLD_MAX_LINE        4096      /* continuations joined */

struct threshold_ctx;

struct threshold_stats {
    uint64_t entries;          /* tracked keys now */
    uint64_t max_entries;      /* the bound given to threshold_new() */
    uint64_t evicted;          /* keys dropped to make room */
    uint64_t evicted_open;     /* of those, keys whose window was still open */
    uint64_t suppressed;       /* matches dropped by a suppress entry */
    uint64_t thresholded;      /* matches dropped by a threshold/detection_filter */
    uint64_t config_entries;   /* threshold.config lines loaded */
};

/* Allocates a context tracking at most max_entries keys (0: the default;
 * more than THRESHOLD_MAX_ENTRIES is capped). Returns NULL when out of
 * memory. Free with threshold_free(). */
struct threshold_ctx *threshold_new(size_t max_entries);
void threshold_free(struct threshold_ctx *t);

/* Loads a threshold.config and adds its entries to t. The file loads as a
 * whole or not at all: on the first error nothing of it is kept, err gets
 * "file:line: reason" (or "file: reason" when it cannot be read) and -1 is
 * returned. Returns the number of entries loaded. */
int threshold_config_load(struct threshold_ctx *t, const char *path, char *err, size_t errlen);

/* Rule r matched p at capture time ts_usec (usually p->ts). Returns 1 when
 * the match is an alert, 0 when a suppression or threshold drops it. */
int threshold_check(struct threshold_ctx *t, const struct rule *r,
                    const struct packet *p, uint64_t ts_usec);

/* xbits: op (enum rule_bit_op) on bit `name' (its hash) of p's source,
 * destination or address pair (xt, enum rule_xtrack). A set bit expires
 * after expire seconds (0: an hour) of capture time. Bits are keys of the
 * same bounded table as the thresholds (the oldest go first when it is
 * full); by ip_src and ip_dst they are kept in the shared context when
 * there is one, by ip_pair per worker. Returns, for ISSET/ISNOTSET,
 * whether the test holds; 1 for the others. */
int threshold_xbit(struct threshold_ctx *t, uint8_t op, uint64_t name, uint8_t xt, uint32_t expire,
                   const struct packet *p, uint64_t ts_usec);

/* Copies into dst the tracked keys of src that keep() accepts, given the
 * gid, sid and the rev of the rule that counted them (a hot reload keeps
 * the counters of rules whose sid and rev did not change); xbits are
 * always copied.
 * Keys are copied oldest window first, so if dst fills up it keeps the
 * newest ones. dst's threshold.config is its own; src is unchanged. */
void threshold_carry_over(struct threshold_ctx *dst, const struct threshold_ctx *src,
                          int (*keep)(void *arg, uint32_t gid, uint32_t sid, uint32_t rev),
                          void *arg);

void threshold_stats(const struct threshold_ctx *t, struct threshold_stats *out);

/* A context for the keys all workers share (locked; see above). */
struct threshold_ctx *threshold_new_shared(size_t max_entries);
void threshold_use_shared(struct threshold_ctx *t, struct threshold_ctx *shared);
/* fn(arg) is called before each check in the shared context: the capture
 * stage's wait until every other worker has done the packets before the
 * calling worker's (dispatch.c). Set by the worker on its own context. */
void threshold_set_order(struct threshold_ctx *t, void (*fn)(void *arg), void *arg);

#endif
