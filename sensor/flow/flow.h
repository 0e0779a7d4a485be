/* flow.h - the per-worker flow table: bounded, preallocated, no locks.
 *
 * Flows live in one pool of max_flows entries reserved at start (pages are
 * touched only as flows are used, so RSS follows the live flow count). A flow
 * is found by a symmetric hash of its key; each timeout class keeps an LRU
 * list, so expiry looks only at list heads. When the pool is full a flow is
 * evicted (counted) to make room: the least recently seen.
 *
 * Ended flows are handed to the caller's end callback, which may read them
 * (emit an event, free stage state) but must not keep the pointer: the entry
 * is reused afterwards.
 */
#ifndef LW_FLOW_H
#define LW_FLOW_H

#include <stddef.h>
#include <stdint.h>
#include "flow-t.h"
#include "stats.h"

struct flow_config {
    uint32_t max_flows;
    uint32_t timeout[FLOW_TC_MAX];    /* seconds, per timeout class */
};

struct flow_stats {
    uint64_t created;
    uint64_t ended[FLOW_END_SHUTDOWN + 1];   /* by enum flow_end_reason */
    uint64_t active;
    uint64_t max_active;
    uint64_t tcp, udp, icmpv4, icmpv6, other;    /* created, by protocol */
    uint64_t lookups_failed_full;                /* no entry even after eviction (max_flows 0) */
};
extern const struct stats_module flow_stats_module;

typedef void (*flow_end_fn)(struct flow *f, void *arg);

struct flow_table;

/* Creates a table. worker_id is mixed into flow ids so that workers never
 * hand out the same id. Returns NULL when memory cannot be had. */
struct flow_table *flow_table_new(const struct flow_config *cfg, unsigned worker_id,
                                  flow_end_fn on_end, void *arg);
/* Frees the table without calling the end callback (see flow_table_flush). */
void flow_table_free(struct flow_table *ft);

/* Finds or creates the flow of a decoded IP packet, updates its counters,
 * TCP state, timeout class and LRU position, and sets p->flow and p->dir.
 * Returns the flow, or NULL when none could be had (counted). */
struct flow *flow_table_update(struct flow_table *ft, struct packet *p);

/* Lookup without creating or updating; for tests and the control socket. */
struct flow *flow_table_lookup(struct flow_table *ft, const struct flow_key *k);

/* The capture clock: the latest capture time of any packet so far (with
 * several workers, of the whole capture, not only this table's packets).
 * A flow's timeout counts from the clock at its last packet. Packets also
 * advance it. */
void flow_table_set_clock(struct flow_table *ft, uint64_t now_usec);

/* Ends every flow whose timeout has passed at capture time now. Returns how many. */
size_t flow_table_expire(struct flow_table *ft, uint64_t now_usec);

/* Ends every flow with the given reason (FLOW_END_SHUTDOWN at exit). */
size_t flow_table_flush(struct flow_table *ft, enum flow_end_reason why);

const struct flow_stats *flow_table_stats(const struct flow_table *ft);
/* Bytes reserved for the pool and hash buckets. */
size_t flow_table_memsize(const struct flow_table *ft);

/* Builds the key of a packet in its own orientation (src = p->src). */
void flow_key_from_packet(struct flow_key *k, const struct packet *p);
/* Direction-independent hash of a key (equal for a key and its reverse). */
uint32_t flow_key_hash(const struct flow_key *k);

const char *flow_tcp_state_name(enum flow_tcp_state s);
const char *flow_end_reason_name(enum flow_end_reason r);

#endif
