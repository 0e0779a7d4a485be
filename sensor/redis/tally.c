/* tally.c - per-worker minute counters and their hand-off; see tally.h. */
#include <stdatomic.h>
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tally.h"
#include "json.h"
#include "pii-t.h"
#include "util.h"

/* The key is hashed and compared as whole 64-bit words. */
_Static_assert(sizeof(struct tally_key) % 8 == 0, "tally_key must be a whole number of words");
_Static_assert(offsetof(struct tally_key, str) % 8 == 0, "tally_key.str must start a word");

/* What a look-up reads comes first: a host or service look-up touches one
 * cache line (hash, sums and the key's first 24 bytes); entries are
 * cache-line aligned. */
struct tally_entry {
    uint32_t hash;
    uint32_t slot;               /* its index slot, so a reset clears only used slots */
    struct tally_sums sums;
    struct tally_key  key;
} __attribute__((aligned(64)));

#define CACHE_LINE 64

/* Keys live densely in e[0..used) in first-use order; index is an open
 * addressing table (linear probing, at most half full) of entry numbers
 * plus one, 0 meaning empty. The last `reserve` entries are kept for the
 * per-minute "other" keys. */
struct tally_table {
    uint32_t capacity;
    uint32_t reserve;
    uint32_t used;
    uint32_t mask;               /* index slots - 1 */
    uint32_t last_bucket;        /* of the latest key added: where `other` is reported */
    uint64_t overflow;
    uint64_t start, end;
    uint32_t *index;
    struct tally_entry *e;       /* in emem, aligned */
    void *emem;
    struct tally_sums other[TALLY_KIND_MAX];   /* when even the reserve is full */
};

/* The worker writes cur. A full table travels to the flusher through
 * `full` and comes back emptied through `empty`; at any time at most one of
 * the two holds a table, the other table being cur. gen changes with cur
 * and with the current bucket, which is what flows' cached entries check. */
struct tally {
    struct tally_table *cur;
    uint32_t gen;
    uint32_t bucket;             /* of the latest packet counted */
    uint32_t health_gen;         /* health_ix is valid while this is gen */
    uint32_t health_ix;
    _Atomic(struct tally_table *) full;
    _Atomic(struct tally_table *) empty;
    atomic_int want;
    _Atomic uint64_t busy;
    struct tally_table *tables[2];
};

void tally_table_free(struct tally_table *tt)
{
    if (tt == NULL)
        return;
    free(tt->index);
    tt->index = NULL;
    free(tt->emem);
    tt->emem = NULL;
    tt->e = NULL;
    free(tt);
}

/* calloc: pages not yet used are not touched, so RSS follows the keys
 * actually seen. */
struct tally_table *tally_table_new(uint32_t capacity)
{
    struct tally_table *tt;
    uint32_t slots = 2;

    if (capacity == 0 || capacity > TALLY_MAX_CAPACITY)
        return NULL;
    while (slots < 2 * capacity)
        slots <<= 1;
    tt = calloc(1, sizeof *tt);
    if (tt == NULL)
        goto fail;
    tt->capacity = capacity;
    tt->reserve = capacity / 16 + 1;
    tt->mask = slots - 1;
    tt->index = calloc(slots, sizeof *tt->index);
    tt->emem = calloc((size_t)capacity * sizeof *tt->e + CACHE_LINE, 1);
    if (tt->index == NULL || tt->emem == NULL)
        goto fail;
    tt->e = (struct tally_entry *)(((uintptr_t)tt->emem + CACHE_LINE - 1) & ~(uintptr_t)(CACHE_LINE - 1));
    return tt;
fail:
    tally_table_free(tt);
    return NULL;
}

void tally_table_reset(struct tally_table *tt)
{
    uint32_t i;

    for (i = 0; i < tt->used; i++)
        tt->index[tt->e[i].slot] = 0;
    tt->used = 0;
    tt->overflow = 0;
    tt->last_bucket = 0;
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
    t->tables[0] = tally_table_new(capacity);
    t->tables[1] = tally_table_new(capacity);
    if (t->tables[0] == NULL || t->tables[1] == NULL)
        goto fail;
    t->cur = t->tables[0];
    t->gen = 1;
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
    tally_table_free(t->tables[0]);
    t->tables[0] = NULL;
    tally_table_free(t->tables[1]);
    t->tables[1] = NULL;
    free(t);
}

/* ------------------------------------------------------------------ */
/* Keys. */

/* Copies src (NULL: "") cut to size - 1 characters. */
static void key_str(char *dst, size_t size, const char *src)
{
    size_t n;

    if (src == NULL)
        src = "";
    n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void key_init(struct tally_key *k, enum tally_kind kind)
{
    memset(k, 0, sizeof *k);
    k->kind = (uint8_t)kind;
}

void tally_key_app(struct tally_key *k, const char *app)
{
    key_init(k, TALLY_APP);
    key_str(k->str, sizeof k->str, app && *app ? app : "Unknown");
}

void tally_key_l4(struct tally_key *k, uint8_t ipproto, uint16_t port)
{
    key_init(k, TALLY_L4);
    k->num[0] = ipproto;
    k->num[1] = port;
}

void tally_key_host(struct tally_key *k, enum tally_kind kind, const struct lw_addr *a)
{
    key_init(k, kind);
    k->aux = a->family;
    memcpy(k->num, a->u.b, sizeof k->num);
}

void tally_key_pair(struct tally_key *k, const char *src_cc, const char *dst_cc,
                    enum geo_scope scope)
{
    key_init(k, TALLY_COUNTRY_PAIR);
    k->aux = (unsigned)scope < GEO_SCOPE_MAX ? (uint8_t)scope : GEO_SCOPE_NONE;
    key_str(k->cc[0], sizeof k->cc[0], src_cc && *src_cc ? src_cc : "--");
    key_str(k->cc[1], sizeof k->cc[1], dst_cc && *dst_cc ? dst_cc : "--");
}

void tally_key_alert(struct tally_key *k, uint32_t sid, uint32_t severity)
{
    key_init(k, TALLY_ALERT);
    k->num[0] = sid;
    k->num[1] = severity;
}

void tally_key_health(struct tally_key *k)
{
    key_init(k, TALLY_HEALTH);
}

/* The kinds whose key is a name in str. */
static int kind_has_str(unsigned kind)
{
    return kind == TALLY_APP || kind == TALLY_HTTP_HOST || kind == TALLY_DNS_QUERY || kind == TALLY_TLS_SNI;
}

/* The bytes of k that can differ: only named kinds use str. */
static size_t key_len(const struct tally_key *k)
{
    return kind_has_str(k->kind) ? sizeof *k : offsetof(struct tally_key, str);
}

/* len bytes of two keys, as words: shorter than a memcmp call for 24 bytes. */
static int key_eq(const struct tally_key *a, const struct tally_key *b, size_t len)
{
    const uint8_t *pa = (const uint8_t *)a, *pb = (const uint8_t *)b;
    uint64_t wa, wb;

    for (size_t i = 0; i < len; i += 8) {
        memcpy(&wa, pa + i, 8);
        memcpy(&wb, pb + i, 8);
        if (wa != wb)
            return 0;
    }
    return 1;
}

static uint32_t key_hash(const struct tally_key *k, size_t len)
{
    uint64_t h = 0, w;
    size_t i;

    for (i = 0; i < len; i += 8) {
        memcpy(&w, (const uint8_t *)k + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }
    return (uint32_t)lw_mix64(h);
}

/* ------------------------------------------------------------------ */
/* Counting. */

/* The entry of k, created if new and there is room below limit. NULL when
 * k is new and the table holds limit keys. */
static struct tally_entry *table_find(struct tally_table *tt, const struct tally_key *k,
                                      uint32_t limit)
{
    size_t len = key_len(k);
    uint32_t h = key_hash(k, len), i = h & tt->mask, ix;
    struct tally_entry *e;

    while ((ix = tt->index[i]) != 0) {
        e = &tt->e[ix - 1];
        if (e->hash == h && key_eq(&e->key, k, len))
            return e;
        i = (i + 1) & tt->mask;
    }
    if (tt->used >= limit)
        return NULL;
    e = &tt->e[tt->used++];
    e->key = *k;
    e->hash = h;
    e->slot = i;
    memset(&e->sums, 0, sizeof e->sums);
    tt->index[i] = tt->used;
    return e;
}

/* The sums k counts into: its entry, else its kind's "other" entry for the
 * minute (in the reserve), else the table-wide other. *ixp gets the entry
 * number + 1, or 0 for the table-wide other (which must not be cached). */
static struct tally_sums *table_get(struct tally_table *tt, const struct tally_key *k, uint32_t *ixp)
{
    struct tally_entry *e;
    struct tally_key o;
    unsigned kind = k->kind < TALLY_KIND_MAX ? k->kind : 0;

    tt->last_bucket = k->bucket;
    e = table_find(tt, k, (k->flags & TALLY_KF_OTHER) ? tt->capacity : tt->capacity - tt->reserve);
    if (e == NULL) {
        tt->overflow++;
        key_init(&o, (enum tally_kind)kind);
        o.flags = TALLY_KF_OTHER;
        o.bucket = k->bucket;
        e = table_find(tt, &o, tt->capacity);
    }
    if (e == NULL) {
        *ixp = 0;
        return &tt->other[kind];
    }
    *ixp = (uint32_t)(e - tt->e) + 1;
    return &e->sums;
}

static void sums_add(struct tally_sums *s, const struct tally_sums *d)
{
    s->pkts += d->pkts;
    s->bytes += d->bytes;
    s->flows += d->flows;
    s->events += d->events;
}

int tally_table_add(struct tally_table *tt, const struct tally_key *k, const struct tally_sums *s)
{
    uint32_t ix;
    struct tally_sums *to = table_get(tt, k, &ix);

    sums_add(to, s);
    return ix == 0 || (tt->e[ix - 1].key.flags & TALLY_KF_OTHER) != (k->flags & TALLY_KF_OTHER);
}

int tally_add_sums(struct tally *t, const struct tally_key *k, uint64_t ts_usec,
                   const struct tally_sums *s)
{
    struct tally_key kb = *k;

    kb.bucket = tally_bucket(ts_usec);
    return tally_table_add(t->cur, &kb, s);
}

int tally_add(struct tally *t, const struct tally_key *k, uint64_t ts_usec,
              uint64_t pkts, uint64_t bytes, uint64_t flows)
{
    struct tally_sums s = { pkts, bytes, flows, 0 };

    return tally_add_sums(t, k, ts_usec, &s);
}

int tally_add_app(struct tally *t, uint64_t ts_usec, const char *app, uint64_t pkts,
                  uint64_t bytes, uint64_t flows)
{
    struct tally_key k;

    tally_key_app(&k, app);
    return tally_add(t, &k, ts_usec, pkts, bytes, flows);
}

int tally_add_name(struct tally *t, uint64_t ts_usec, enum tally_kind kind, const uint8_t *name, size_t len)
{
    struct tally_key k;
    struct tally_sums s = { 0, 0, 0, 1 };
    char m[TALLY_NAME_SCAN];
    size_t room = sizeof k.str - 1, n = 0, i = len > sizeof m ? len - sizeof m : 0;

    if (len == 0 || !kind_has_str(kind) || kind == TALLY_APP)
        return 0;
    /* Printable ASCII in lower case; '?' for anything else, one per UTF-8
     * character or per byte that is not one (EVE's \u00XX). */
    while (i < len && n < sizeof m) {
        size_t u = name[i] >= 0x80 ? json_utf8_len(name + i, len - i) : 1;

        m[n++] = name[i] > 0x20 && name[i] < 0x7f ? (char)tolower(name[i]) : '?';
        i += u ? u : 1;
    }
    key_init(&k, kind);
    if (n > room) {
        k.str[0] = '~';
        memcpy(k.str + 1, m + n - (room - 1), room - 1);
    } else {
        memcpy(k.str, m, n);
    }
    return tally_add_sums(t, &k, ts_usec, &s);
}

int tally_add_alert(struct tally *t, uint64_t ts_usec, uint32_t sid, uint32_t severity)
{
    struct tally_key k;
    struct tally_sums s = { 0, 0, 0, 1 };

    tally_key_alert(&k, sid, severity);
    return tally_add_sums(t, &k, ts_usec, &s);
}

int tally_add_pii(struct tally *t, uint64_t ts_usec, const char *from_cc, const char *to_cc,
                  const struct pii_counts *c)
{
    struct tally_key k;
    struct tally_sums s = { 0, 0, 0, 0 };
    uint64_t any = 0;
    int r = 0;

    tally_key_pair(&k, from_cc, to_cc, GEO_SCOPE_NONE);
    k.kind = TALLY_PII;
    for (unsigned i = 0; i < PII_TYPE_COUNT; i++) {
        if (c->n[i] == 0)
            continue;
        any = 1;
        k.aux = (uint8_t)i;
        s.events = c->n[i];
        r |= tally_add_sums(t, &k, ts_usec, &s);
    }
    if (!any)
        return 0;
    k.aux = PII_TYPE_COUNT;
    s.events = 1;
    return r | tally_add_sums(t, &k, ts_usec, &s);
}

int tally_add_country(struct tally *t, uint64_t ts_usec, const char *src_cc, const char *dst_cc,
                      enum geo_scope scope, uint64_t pkts, uint64_t bytes, uint64_t flows)
{
    struct tally_key k;

    tally_key_pair(&k, src_cc, dst_cc, scope);
    return tally_add(t, &k, ts_usec, pkts, bytes, flows);
}

/* Moves the worker to bucket b: every cached entry is of the old minute. */
static void tally_set_bucket(struct tally *t, uint32_t b)
{
    if (b == t->bucket)
        return;
    t->bucket = b;
    if (++t->gen == 0)
        t->gen = 1;
}

/* The flow's key for a cache slot. */
static void flow_slot_key(struct tally_key *k, const struct flow *f, int slot, const char *app)
{
    switch (slot) {
    case TALLY_FC_APP: tally_key_app(k, app); break;
    case TALLY_FC_L4:  tally_key_l4(k, f->key.proto, f->key.dport); break;
    case TALLY_FC_SRC: tally_key_host(k, TALLY_SRC_HOST, &f->key.src); break;
    default:           tally_key_host(k, TALLY_DST_HOST, &f->key.dst); break;
    }
}

/* The sums a flow's packet counts into for one slot, looked up once per
 * table and minute. k is built only on a miss, by the caller's key. */
static struct tally_sums *flow_slot(struct tally *t, struct flow *f, int slot, struct tally_key *k)
{
    uint32_t ix = f->tally.ix[slot];
    struct tally_sums *s;

    if (ix)
        return &t->cur->e[ix - 1].sums;
    k->bucket = t->bucket;
    s = table_get(t->cur, k, &ix);
    f->tally.ix[slot] = ix;
    return s;
}

/* Starts f's cache over when the table or the minute changed. */
static void flow_cache_check(struct tally *t, struct flow *f, uint64_t ts_usec)
{
    tally_set_bucket(t, tally_bucket(ts_usec));
    if (f->tally.gen != t->gen) {
        memset(&f->tally, 0, sizeof f->tally);
        f->tally.gen = t->gen;
    }
}

void tally_flow_packet(struct tally *t, struct flow *f, const struct packet *p, const char *app)
{
    struct tally_key k;
    struct tally_sums *s;
    int slot;

    flow_cache_check(t, f, p->ts);
    for (slot = app ? TALLY_FC_APP : TALLY_FC_L4; slot <= TALLY_FC_DST; slot++) {
        if (!f->tally.ix[slot])
            flow_slot_key(&k, f, slot, app);
        s = flow_slot(t, f, slot, &k);
        s->pkts++;
        s->bytes += p->wirelen;
    }
}

void tally_flow_app(struct tally *t, struct flow *f, uint64_t ts_usec, const char *app,
                    uint64_t pkts, uint64_t bytes)
{
    struct tally_key k;
    struct tally_sums *s;

    flow_cache_check(t, f, ts_usec);
    if (!f->tally.ix[TALLY_FC_APP])
        tally_key_app(&k, app);
    s = flow_slot(t, f, TALLY_FC_APP, &k);
    s->pkts += pkts;
    s->bytes += bytes;
}

void tally_flow_country(struct tally *t, struct flow *f, uint64_t ts_usec, const char *src_cc,
                        const char *dst_cc, enum geo_scope scope, uint64_t bytes)
{
    struct tally_key k;
    struct tally_sums *s;

    flow_cache_check(t, f, ts_usec);
    if (!f->tally.ix[TALLY_FC_COUNTRY])
        tally_key_pair(&k, src_cc, dst_cc, scope);
    s = flow_slot(t, f, TALLY_FC_COUNTRY, &k);
    s->pkts++;
    s->bytes += bytes;
}

void tally_flow_end(struct tally *t, const struct flow *f, const char *app)
{
    /* Entries the flow looked up in this table and minute are still good:
     * most flows end soon after their last packet. */
    int cached = f->tally.gen == t->gen && tally_bucket(f->last_ts) == t->bucket;
    struct tally_key k;
    int slot;

    for (slot = TALLY_FC_APP; slot <= TALLY_FC_DST; slot++) {
        if (cached && f->tally.ix[slot]) {
            t->cur->e[f->tally.ix[slot] - 1].sums.flows++;
            continue;
        }
        flow_slot_key(&k, f, slot, app);
        tally_add(t, &k, f->last_ts, 0, 0, 1);
    }
    if (cached && t->health_gen == t->gen && t->health_ix) {
        t->cur->e[t->health_ix - 1].sums.flows++;
        return;
    }
    tally_key_health(&k);
    tally_add(t, &k, f->last_ts, 0, 0, 1);
}

void tally_packet(struct tally *t, uint64_t ts_usec, uint32_t wirelen)
{
    struct tally_key k;
    struct tally_sums *s;
    uint32_t ix;

    tally_set_bucket(t, tally_bucket(ts_usec));
    if (t->health_gen == t->gen && t->health_ix) {
        s = &t->cur->e[t->health_ix - 1].sums;
    } else {
        tally_key_health(&k);
        k.bucket = t->bucket;
        s = table_get(t->cur, &k, &ix);
        t->health_ix = ix;
        t->health_gen = t->gen;
    }
    s->pkts++;
    s->bytes += wirelen;
}

uint64_t tally_table_merge(struct tally_table *dst, const struct tally_table *src)
{
    struct tally_key k;
    uint64_t lost = 0;
    uint32_t i;

    for (i = 0; i < src->used; i++)
        lost += (uint64_t)tally_table_add(dst, &src->e[i].key, &src->e[i].sums);
    for (i = 0; i < TALLY_KIND_MAX; i++) {
        if (!src->other[i].pkts && !src->other[i].bytes && !src->other[i].flows && !src->other[i].events)
            continue;
        key_init(&k, (enum tally_kind)i);
        k.flags = TALLY_KF_OTHER;
        k.bucket = src->last_bucket;
        tally_table_add(dst, &k, &src->other[i]);
    }
    return lost;
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
    if (++t->gen == 0)
        t->gen = 1;
    return 0;
}

const atomic_int *tally_swap_flag(const struct tally *t)
{
    return &t->want;
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
    tally_table_reset(tt);
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
        key_init(&k, (enum tally_kind)i);
        k.flags = TALLY_KF_OTHER;
        k.bucket = tt->last_bucket;
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
           (size_t)tt->capacity * sizeof *tt->e + CACHE_LINE;
}

size_t tally_memsize(const struct tally *t)
{
    return sizeof *t + table_memsize(t->tables[0]) + table_memsize(t->tables[1]);
}
