/* tally.h - per-worker interval counters (bytes, packets, flows by key).
 *
 * A worker counts into its own table without locks: applications
 * ("TLS.YouTube"), L4 services (proto + port), hosts, country pairs. Every
 * interval the worker swaps the table out and goes on with an empty one; a
 * flusher thread (the Redis exporter) reads the full one and hands it back.
 * The two tables are a double buffer passed through two C11 atomic
 * pointers, so neither side ever waits on the other.
 *
 * Capacity is fixed at creation: all memory is allocated by tally_new() and
 * the add path never allocates. A key that finds the table full is counted
 * in the "other" bucket of its kind, and in the table's overflow counter, so
 * totals stay right even when the detail does not fit.
 *
 * Threads: tally_add*() and tally_swap() belong to the worker; tally_take(),
 * tally_foreach() on the taken table and tally_release() to one flusher.
 * tally_request_swap() may be called from any thread.
 */
#ifndef LW_TALLY_H
#define LW_TALLY_H

#include <stddef.h>
#include <stdint.h>
#include "packet-t.h"

#define TALLY_DEFAULT_CAPACITY 4096u
/* NUL included. nDPI 4.2's longest "master.app" name is 41 characters
 * (its longest protocol name, "Direct_Download_Link", twice). Longer
 * strings are cut, which would merge their keys. */
#define TALLY_STR_LEN 48

enum tally_kind {
    TALLY_APP = 1,          /* str[0]: nDPI protocol name, "Unknown" when none */
    TALLY_L4,               /* num[0]: IP protocol, num[1]: server port (0 when none) */
    TALLY_HOST,             /* aux: address family 4/6; num[0..1]: the 16 address bytes */
    TALLY_COUNTRY_PAIR,     /* str[0], str[1]: ISO 3166-1 alpha-2 codes, source first */
    TALLY_KIND_MAX
};

/* tally_key.flags */
#define TALLY_KF_OTHER 0x01u   /* the "other" bucket of its kind: keys that did not fit */

/* A key is compared as bytes: build it with the tally_key_*() functions,
 * which zero it first, never field by field on an uninitialised struct. */
struct tally_key {
    uint8_t  kind;                       /* enum tally_kind */
    uint8_t  aux;                        /* kind-specific small number */
    uint8_t  flags;                      /* TALLY_KF_* */
    uint8_t  pad[5];
    uint64_t num[2];
    char     str[2][TALLY_STR_LEN];
};

struct tally_sums {
    uint64_t pkts, bytes, flows;
};

struct tally;          /* the worker's handle: both tables and the hand-off */
struct tally_table;    /* one interval's counters */

typedef void (*tally_fn)(const struct tally_key *k, const struct tally_sums *s, void *arg);

/* Creates the double buffer, each table holding up to capacity keys
 * (0: TALLY_DEFAULT_CAPACITY). Returns NULL when memory cannot be had. */
struct tally *tally_new(uint32_t capacity);
/* Frees both tables. The flusher must be done with a taken table. */
void tally_free(struct tally *t);

void tally_key_app(struct tally_key *k, const char *app);
void tally_key_l4(struct tally_key *k, uint8_t ipproto, uint16_t port);
void tally_key_host(struct tally_key *k, const struct lw_addr *a);
void tally_key_pair(struct tally_key *k, const char *src_cc, const char *dst_cc);

/* Adds to the counters of k in the worker's current table. Returns 0, or
 * 1 when the table was full and the sums went to the "other" bucket of
 * k's kind. Never allocates. */
int tally_add(struct tally *t, const struct tally_key *k,
              uint64_t pkts, uint64_t bytes, uint64_t flows);

/* Application tally under nDPI's protocol name (NULL or "" count as
 * "Unknown"). Per packet: flows 0; when a flow ends: its 1 flow (with the
 * packets and bytes not yet added). See the worker for the scheme. */
int tally_add_app(struct tally *t, const char *app, uint64_t pkts, uint64_t bytes,
                  uint64_t flows);

/* Worker side: closes the current interval at capture time now_usec, hands
 * the table to the flusher and continues with the empty one. Returns 0, or
 * -1 when the flusher has not given the previous table back yet: then
 * nothing changes and counting goes on in the same table (the next swap
 * carries both intervals; the table's interval start says so). */
int tally_swap(struct tally *t, uint64_t now_usec);
/* Whether the flusher asked for a swap (tally_request_swap) since the last
 * one. One relaxed atomic load: cheap enough to test once per packet. */
int tally_swap_wanted(struct tally *t);
/* Any thread: asks the worker to swap at its next packet. */
void tally_request_swap(struct tally *t);

/* Flusher side: the table handed over by the last swap, or NULL when there
 * is none. The caller owns it until tally_release(). */
struct tally_table *tally_take(struct tally *t);
/* Flusher side: empties a taken table and gives it back to the worker. */
void tally_release(struct tally *t, struct tally_table *tt);

/* Calls fn for every key of tt in first-use order, then for each kind's
 * non-empty "other" bucket (flags TALLY_KF_OTHER). */
void tally_foreach(const struct tally_table *tt, tally_fn fn, void *arg);

uint32_t tally_table_used(const struct tally_table *tt);
uint32_t tally_table_capacity(const struct tally_table *tt);
/* Additions that went to an "other" bucket because the table was full. */
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
