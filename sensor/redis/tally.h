/* tally.h - per-worker counters in one-minute buckets (bytes, packets,
 * flows, events by key), handed to the Redis flusher.
 *
 * A worker counts into its own table without locks: applications
 * ("TLS.YouTube"), L4 services (proto + server port), source and destination
 * hosts, country pairs, alerts by signature and severity, and the sensor's
 * own health. Every key carries the capture minute its counts belong to, so
 * a table may span minutes and still be exact per minute. Every interval the
 * worker swaps the table out and goes on with an empty one; a flusher thread
 * reads the full one and hands it back. The two tables are a double buffer
 * passed through two C11 atomic pointers, so neither side ever waits on the
 * other.
 *
 * Capacity is fixed at creation: all memory is allocated by tally_new() and
 * the add path never allocates. A key that finds the table full is counted
 * in the "other" key of its kind and minute (flags TALLY_KF_OTHER); a small
 * reserve of the table is kept for those. Only when the reserve is full too
 * do the sums go to the table-wide "other" of the kind, reported under the
 * table's latest minute. Totals stay right even when the detail does not fit.
 *
 * The per-packet path is one compare and a few additions: a flow remembers
 * its entries in the current table (struct flow_tally on the flow) until the
 * next swap or minute.
 *
 * Threads: tally_add*(), tally_flow_*(), tally_packet() and tally_swap()
 * belong to the worker; tally_take(), tally_foreach() on the taken table and
 * tally_release() to one flusher. tally_request_swap() may be called from
 * any thread. A table made with tally_table_new() belongs to its creator.
 */
#ifndef LW_TALLY_H
#define LW_TALLY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "flow-t.h"
#include "packet-t.h"

#define TALLY_DEFAULT_CAPACITY 4096u
#define TALLY_MAX_CAPACITY (1u << 28)
/* Buckets are capture minutes: key.bucket = ts_usec / TALLY_BUCKET_USEC. */
#define TALLY_BUCKET_USEC 60000000ull
/* NUL included. nDPI 4.2's longest "master.app" name is 41 characters
 * (its longest protocol name, "Direct_Download_Link", twice). Longer
 * strings are cut, which would merge their keys. */
#define TALLY_STR_LEN 48

enum tally_kind {
    TALLY_APP = 1,          /* str: nDPI protocol name, "Unknown" when none */
    TALLY_L4,               /* num[0]: IP protocol, num[1]: server port (0 when none) */
    TALLY_SRC_HOST,         /* the flow's initiator: aux family 4/6, num[0..1] the 16 address bytes */
    TALLY_DST_HOST,         /* the flow's responder, as TALLY_SRC_HOST */
    TALLY_COUNTRY_PAIR,     /* cc[0], cc[1]: initiator's and responder's country;
                             * aux: the flow's enum geo_scope (geo-t.h) */
    TALLY_ALERT,            /* num[0]: signature id, num[1]: severity; events: alerts */
    TALLY_HEALTH,           /* one key a minute: every captured packet and byte,
                             * flows ended; events: packets dropped */
    TALLY_HTTP_HOST,        /* str: an HTTP request's host; events: transactions */
    TALLY_DNS_QUERY,        /* str: a DNS query name; events: queries */
    TALLY_TLS_SNI,          /* str: a TLS ClientHello's server name; events: handshakes */
    TALLY_PII,              /* cc[0], cc[1]: the countries a body went from and to; aux: the
                             * personal-data type (enum pii_type), or PII_TYPE_COUNT for the
                             * bodies with any; events: occurrences (bodies) */
    TALLY_KIND_MAX
};

/* tally_key.flags */
#define TALLY_KF_OTHER 0x01u   /* the "other" key of its kind: keys that did not fit */

/* A key is compared as bytes: build it with the tally_key_*() functions,
 * which zero it first, never field by field on an uninitialised struct.
 * The adding functions set bucket. Only TALLY_APP uses str: the other kinds
 * are hashed and compared on their first 24 bytes. */
struct tally_key {
    uint8_t  kind;                       /* enum tally_kind */
    uint8_t  aux;                        /* kind-specific small number */
    uint8_t  flags;                      /* TALLY_KF_* */
    uint8_t  pad;
    uint32_t bucket;                     /* capture minute since the epoch */
    union {
        uint64_t num[2];
        char     cc[2][8];               /* TALLY_COUNTRY_PAIR, NUL-terminated */
    };
    char     str[TALLY_STR_LEN];
};

struct tally_sums {
    uint64_t pkts, bytes, flows;
    uint64_t events;                     /* TALLY_ALERT: alerts; TALLY_HEALTH: drops */
};

struct tally;          /* the worker's handle: both tables and the hand-off */
struct tally_table;    /* one interval's counters */

typedef void (*tally_fn)(const struct tally_key *k, const struct tally_sums *s, void *arg);

/* Creates the double buffer, each table holding up to capacity keys
 * (0: TALLY_DEFAULT_CAPACITY). Returns NULL when memory cannot be had or
 * capacity is above TALLY_MAX_CAPACITY. */
struct tally *tally_new(uint32_t capacity);
/* Frees both tables. The flusher must be done with a taken table. */
void tally_free(struct tally *t);

void tally_key_app(struct tally_key *k, const char *app);
void tally_key_l4(struct tally_key *k, uint8_t ipproto, uint16_t port);
/* kind: TALLY_SRC_HOST or TALLY_DST_HOST. */
void tally_key_host(struct tally_key *k, enum tally_kind kind, const struct lw_addr *a);
/* NULL or "" country codes count as "--" (not located). */
void tally_key_pair(struct tally_key *k, const char *src_cc, const char *dst_cc,
                    enum geo_scope scope);
void tally_key_alert(struct tally_key *k, uint32_t sid, uint32_t severity);
void tally_key_health(struct tally_key *k);
/* The bucket (capture minute) of a time in microseconds. */
static inline uint32_t tally_bucket(uint64_t ts_usec)
{
    return (uint32_t)(ts_usec / TALLY_BUCKET_USEC);
}

/* Adds to the counters of k, in the minute of ts_usec, in the worker's
 * current table. Returns 0, or 1 when the table was full and the sums went
 * to an "other" key. Never allocates. */
int tally_add(struct tally *t, const struct tally_key *k, uint64_t ts_usec,
              uint64_t pkts, uint64_t bytes, uint64_t flows);
int tally_add_sums(struct tally *t, const struct tally_key *k, uint64_t ts_usec,
                   const struct tally_sums *s);

/* Application tally under nDPI's protocol name (NULL or "" count as
 * "Unknown"). See the worker for when it is called. */
int tally_add_app(struct tally *t, uint64_t ts_usec, const char *app, uint64_t pkts,
                  uint64_t bytes, uint64_t flows);
/* One transaction's name (kind TALLY_HTTP_HOST, TALLY_DNS_QUERY or
 * TALLY_TLS_SNI), as the application-layer parser saw it: counted in
 * lower case, with '?' for each character that is not printable ASCII
 * (a UTF-8 character, or a byte that is not part of one; space included);
 * a name longer than TALLY_STR_LEN - 1 keeps its last characters behind a
 * leading '~' (the registrable domain is at the end), and of a name longer
 * than TALLY_NAME_SCAN bytes only the last TALLY_NAME_SCAN are read. An
 * empty name is not counted (returns 0). */
#define TALLY_NAME_SCAN 512
int tally_add_name(struct tally *t, uint64_t ts_usec, enum tally_kind kind, const uint8_t *name, size_t len);
/* One alert of signature sid with that severity (the rule's priority). */
int tally_add_alert(struct tally *t, uint64_t ts_usec, uint32_t sid, uint32_t severity);

struct pii_counts;
/* One HTTP body's personal data (sensor/detect/pii-t.h), counted when its
 * transaction is done: each type's occurrences, and one body when it had
 * any, under the countries it went from and to (codes as
 * tally_add_country's, the request's from the initiator's, a response's
 * from the responder's). Nothing is counted for a body without any. */
int tally_add_pii(struct tally *t, uint64_t ts_usec, const char *from_cc, const char *to_cc,
                  const struct pii_counts *c);

/* Country-pair tally, fed from the geo stage's result on the flow
 * (f->geo, sensor/geo/geo-t.h):
 *   src_cc, dst_cc  ISO 3166-1 alpha-2 codes, upper case, of the flow's
 *                   initiator and responder (f->geo.src.cc, f->geo.dst.cc;
 *                   EVE geo.src.country / geo.dest.country); NULL or ""
 *                   when not located, counted as "--".
 *   scope           the flow's enum geo_scope (f->geo.scope; EVE
 *                   geo.scope), not GEO_SCOPE_NONE.
 *   pkts, bytes     per packet: 1 and the packet's wire length, both
 *                   directions of the flow; flows: 1 once, when it ends, with
 *                   ts_usec = the flow's last packet time (as the other
 *                   kinds, so a bucket's flows equal its EVE flow events).
 * Prefer tally_flow_country() per packet: it costs one compare after the
 * first packet of the flow in each interval. */
int tally_add_country(struct tally *t, uint64_t ts_usec, const char *src_cc, const char *dst_cc,
                      enum geo_scope scope, uint64_t pkts, uint64_t bytes, uint64_t flows);

/* Per packet of flow f (p->flow == f): its wire length and one packet to
 * the L4 service and both hosts of the flow, and to app when it is not
 * NULL (the flow's final protocol name). Cached on f->tally. */
void tally_flow_packet(struct tally *t, struct flow *f, const struct packet *p, const char *app);
/* count pkts and bytes to f's application (its final name), in the minute
 * of ts_usec, through f's cache: the packets a flow had before its
 * protocol was known, added when it is. */
void tally_flow_app(struct tally *t, struct flow *f, uint64_t ts_usec, const char *app,
                    uint64_t pkts, uint64_t bytes);
/* tally_add_country() for one packet of f, cached on f->tally. */
void tally_flow_country(struct tally *t, struct flow *f, uint64_t ts_usec, const char *src_cc,
                        const char *dst_cc, enum geo_scope scope, uint64_t bytes);
/* When f ends: one flow to its app (NULL: "Unknown"), L4 service, hosts and
 * the health key, in the minute of its last packet. */
void tally_flow_end(struct tally *t, const struct flow *f, const char *app);
/* Every captured frame, decoded or not: the health key's packets and bytes. */
void tally_packet(struct tally *t, uint64_t ts_usec, uint32_t wirelen);

/* Worker side: closes the current interval at capture time now_usec, hands
 * the table to the flusher and continues with the empty one. Returns 0, or
 * -1 when the flusher has not given the previous table back yet: then
 * nothing changes and counting goes on in the same table (the next swap
 * carries both intervals; the table's interval start says so). */
int tally_swap(struct tally *t, uint64_t now_usec);
/* The flag that says the flusher asked for a swap (tally_request_swap)
 * since the last one. The owner keeps the pointer and tests it on every
 * packet without a call: atomic_load_explicit(flag, memory_order_relaxed). */
const atomic_int *tally_swap_flag(const struct tally *t);
/* Any thread: asks the worker to swap at its next packet. */
void tally_request_swap(struct tally *t);

/* Flusher side: the table handed over by the last swap, or NULL when there
 * is none. The caller owns it until tally_release(). */
struct tally_table *tally_take(struct tally *t);
/* Flusher side: empties a taken table and gives it back to the worker. */
void tally_release(struct tally *t, struct tally_table *tt);

/* A stand-alone table (the flusher's store of deltas not yet sent).
 * Returns NULL when memory cannot be had. */
struct tally_table *tally_table_new(uint32_t capacity);
void tally_table_free(struct tally_table *tt);
void tally_table_reset(struct tally_table *tt);
/* Adds s to k (its bucket as set) in tt, as tally_add does. Returns 0 or 1. */
int tally_table_add(struct tally_table *tt, const struct tally_key *k, const struct tally_sums *s);
/* Adds every count of src into dst, minute by minute. Returns the number of
 * src keys that went to an "other" key of dst. */
uint64_t tally_table_merge(struct tally_table *dst, const struct tally_table *src);

/* Calls fn for every key of tt in first-use order, then for each kind's
 * non-empty table-wide "other" (flags TALLY_KF_OTHER, bucket the table's
 * latest). */
void tally_foreach(const struct tally_table *tt, tally_fn fn, void *arg);

uint32_t tally_table_used(const struct tally_table *tt);
uint32_t tally_table_capacity(const struct tally_table *tt);
/* Look-ups of new keys that went to an "other" key because the table was full. */
uint64_t tally_table_overflow(const struct tally_table *tt);
/* The interval [start, end) in capture microseconds; start is 0 for the
 * first table of a run. */
uint64_t tally_table_start(const struct tally_table *tt);
uint64_t tally_table_end(const struct tally_table *tt);

/* Swaps refused because the flusher still held the other table. */
uint64_t tally_swaps_busy(const struct tally *t);
/* Bytes allocated by tally_new() for both tables. */
size_t tally_memsize(const struct tally *t);

#endif
