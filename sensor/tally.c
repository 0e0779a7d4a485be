/* tally.c - per-worker interval counters and their hand-off; see tally.h. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tally.h"
#include "util.h"

/* The key is hashed and compared as whole 64-bit words. */
_Static_assert(sizeof(struct tally_key) % 8 == 0, "tally_key must be a whole number of words");

#define TALLY_MAX_CAPACITY (1u << 28)

struct tally_entry {
    struct tally_key  key;
    struct tally_sums sums;
    uint32_t hash;
    uint32_t slot;               /* its index slot, so a reset clears only used slots */
};

/* Keys live densely in e[0..used) in first-use order; index is an open
 * addressing table (linear probing, at most half full) of entry numbers
 * plus one, 0 meaning empty. */
struct tally_table {
    uint32_t capacity;
    uint32_t used;
    uint32_t mask;               /* index slots - 1 */
    uint64_t overflow;
    uint64_t start, end;
    uint32_t *index;
    struct tally_entry *e;
    struct tally_sums other[TALLY_KIND_MAX];
};

/* The worker writes cur. A full table travels to the flusher through
 * `full` and comes back emptied through `empty`; at any time at most one of
 * the two holds a table, the other table being cur. */
struct tally {
    struct tally_table *cur;
    _Atomic(struct tally_table *) full;
    _Atomic(struct tally_table *) empty;
    atomic_int want;
    _Atomic uint64_t busy;
    struct tally_table *tables[2];
};

static void table_free(struct tally_table *tt)
{
    if (tt == NULL)
        return;
    free(tt->index);
    tt->index = NULL;
    free(tt->e);
    tt->e = NULL;
    free(tt);
}

/* Allocates a table for capacity keys. calloc: pages not yet used are not
 * touched, so RSS follows the keys actually seen. Returns NULL on failure. */
static struct tally_table *table_new(uint32_t capacity)
{
    struct tally_table *tt;
    uint32_t slots = 2;

    while (slots < 2 * capacity)
        slots <<= 1;
    tt = calloc(1, sizeof *tt);
    if (tt == NULL)
        goto fail;
    tt->capacity = capacity;
    tt->mask = slots - 1;
    tt->index = calloc(slots, sizeof *tt->index);
    tt->e = calloc(capacity, sizeof *tt->e);
    if (tt->index == NULL || tt->e == NULL)
        goto fail;
    return tt;
fail:
    table_free(tt);
    return NULL;
}

static void table_reset(struct tally_table *tt)
{
    uint32_t i;

    for (i = 0; i < tt->used; i++)
        tt->index[tt->e[i].slot] = 0;
    tt->used = 0;
    tt->overflow = 0;
    tt->start = tt->end = 0;
    memset(tt->other, 0, sizeof tt->other);
}

struct tally *tally_new(uint32_t capacity)
{
    struct tally *t;

    if (capacity == 0)
        capacity = TALLY_DEFAULT_CAPACITY;
    if (capacity > TALLY_MAX_CAPACITY)
        return NULL;
    t = calloc(1, sizeof *t);
    if (t == NULL)
        goto fail;
    t->tables[0] = table_new(capacity);
    t->tables[1] = table_new(capacity);
    if (t->tables[0] == NULL || t->tables[1] == NULL)
        goto fail;
    t->cur = t->tables[0];
    atomic_init(&t->full, NULL);
    atomic_init(&t->empty, t->tables[1]);
    atomic_init(&t->want, 0);
    atomic_init(&t->busy, 0);
    return t;
fail:
    tally_free(t);
    return NULL;
}

void tally_free(struct tally *t)
{
    if (t == NULL)
        return;
    table_free(t->tables[0]);
    t->tables[0] = NULL;
    table_free(t->tables[1]);
    t->tables[1] = NULL;
    free(t);
}

/* ------------------------------------------------------------------ */
/* Keys. */

/* Copies src (NULL: "") cut to TALLY_STR_LEN - 1 characters. */
static void key_str(char *dst, const char *src)
{
    size_t n;

    if (src == NULL)
        src = "";
    n = strnlen(src, TALLY_STR_LEN - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void tally_key_app(struct tally_key *k, const char *app)
{
    memset(k, 0, sizeof *k);
    k->kind = TALLY_APP;
    key_str(k->str[0], app && *app ? app : "Unknown");
}

void tally_key_l4(struct tally_key *k, uint8_t ipproto, uint16_t port)
{
    memset(k, 0, sizeof *k);
    k->kind = TALLY_L4;
    k->num[0] = ipproto;
    k->num[1] = port;
}

void tally_key_host(struct tally_key *k, const struct lw_addr *a)
{
    memset(k, 0, sizeof *k);
    k->kind = TALLY_HOST;
    k->aux = a->family;
    memcpy(k->num, a->u.b, sizeof k->num);
}

void tally_key_pair(struct tally_key *k, const char *src_cc, const char *dst_cc)
{
    memset(k, 0, sizeof *k);
    k->kind = TALLY_COUNTRY_PAIR;
    key_str(k->str[0], src_cc);
    key_str(k->str[1], dst_cc);
}

static uint32_t key_hash(const struct tally_key *k)
{
    uint64_t h = 0, w;
    size_t i;

    for (i = 0; i < sizeof *k; i += 8) {
        memcpy(&w, (const uint8_t *)k + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }
    return (uint32_t)lw_mix64(h);
}

/* ------------------------------------------------------------------ */
/* Counting (worker). */

/* The entry of k, created if new. NULL when k is new and the table is full. */
static struct tally_entry *table_find(struct tally_table *tt, const struct tally_key *k)
{
    uint32_t h = key_hash(k), i = h & tt->mask, ix;
    struct tally_entry *e;

    while ((ix = tt->index[i]) != 0) {
        e = &tt->e[ix - 1];
        if (e->hash == h && memcmp(&e->key, k, sizeof *k) == 0)
            return e;
        i = (i + 1) & tt->mask;
    }
    if (tt->used == tt->capacity)
        return NULL;
    e = &tt->e[tt->used++];
    e->key = *k;
    e->hash = h;
    e->slot = i;
    memset(&e->sums, 0, sizeof e->sums);
    tt->index[i] = tt->used;
    return e;
}

static void sums_add(struct tally_sums *s, uint64_t pkts, uint64_t bytes, uint64_t flows)
{
    s->pkts += pkts;
    s->bytes += bytes;
    s->flows += flows;
}

int tally_add(struct tally *t, const struct tally_key *k,
              uint64_t pkts, uint64_t bytes, uint64_t flows)
{
    struct tally_table *tt = t->cur;
    struct tally_entry *e = table_find(tt, k);

    if (e == NULL) {
        tt->overflow++;
        sums_add(&tt->other[k->kind < TALLY_KIND_MAX ? k->kind : 0], pkts, bytes, flows);
        return 1;
    }
    sums_add(&e->sums, pkts, bytes, flows);
    return 0;
}

int tally_add_app(struct tally *t, const char *app, uint64_t pkts, uint64_t bytes,
                  uint64_t flows)
{
    struct tally_key k;

    tally_key_app(&k, app);
    return tally_add(t, &k, pkts, bytes, flows);
}

/* ------------------------------------------------------------------ */
/* Hand-off. */

int tally_swap(struct tally *t, uint64_t now_usec)
{
    struct tally_table *next;

    /* Cleared even when busy: a refused request is not retried per packet. */
    atomic_store_explicit(&t->want, 0, memory_order_relaxed);
    /* Acquire: the flusher's reset of this table happens before we write it. */
    next = atomic_exchange_explicit(&t->empty, NULL, memory_order_acquire);
    if (next == NULL) {
        atomic_fetch_add_explicit(&t->busy, 1, memory_order_relaxed);
        return -1;
    }
    t->cur->end = now_usec;
    next->start = now_usec;
    /* Release: every count in cur is visible to the flusher that takes it. */
    atomic_store_explicit(&t->full, t->cur, memory_order_release);
    t->cur = next;
    return 0;
}

int tally_swap_wanted(struct tally *t)
{
    return atomic_load_explicit(&t->want, memory_order_relaxed);
}

void tally_request_swap(struct tally *t)
{
    atomic_store_explicit(&t->want, 1, memory_order_relaxed);
}

struct tally_table *tally_take(struct tally *t)
{
    return atomic_exchange_explicit(&t->full, NULL, memory_order_acquire);
}

void tally_release(struct tally *t, struct tally_table *tt)
{
    table_reset(tt);
    atomic_store_explicit(&t->empty, tt, memory_order_release);
}

void tally_foreach(const struct tally_table *tt, tally_fn fn, void *arg)
{
    static const struct tally_sums zero;
    struct tally_key k;
    uint32_t i;

    for (i = 0; i < tt->used; i++)
        fn(&tt->e[i].key, &tt->e[i].sums, arg);
    for (i = 0; i < TALLY_KIND_MAX; i++) {
        if (memcmp(&tt->other[i], &zero, sizeof zero) == 0)
            continue;
        memset(&k, 0, sizeof k);
        k.kind = (uint8_t)i;
        k.flags = TALLY_KF_OTHER;
        fn(&k, &tt->other[i], arg);
    }
}

/* ------------------------------------------------------------------ */
/* Accessors. */

uint32_t tally_table_used(const struct tally_table *tt) { return tt->used; }
uint32_t tally_table_capacity(const struct tally_table *tt) { return tt->capacity; }
uint64_t tally_table_overflow(const struct tally_table *tt) { return tt->overflow; }
uint64_t tally_table_start(const struct tally_table *tt) { return tt->start; }
uint64_t tally_table_end(const struct tally_table *tt) { return tt->end; }

uint64_t tally_swaps_busy(const struct tally *t)
{
    return atomic_load_explicit(&t->busy, memory_order_relaxed);
}

static size_t table_memsize(const struct tally_table *tt)
{
    return sizeof *tt + ((size_t)tt->mask + 1) * sizeof *tt->index +
           (size_t)tt->capacity * sizeof *tt->e;
}

size_t tally_memsize(const struct tally *t)
{
    return sizeof *t + table_memsize(t->tables[0]) + table_memsize(t->tables[1]);
}
