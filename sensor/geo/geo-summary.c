/* geo-summary.c - per-worker geolocated summary intervals; see geo-summary.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo-summary.h"
#include "pii.h"
#include "util.h"

#define ROW_NIL      UINT16_MAX
#define ROW_BUCKETS  1024u          /* power of two */
#define ROWS_PLAIN   (GEO_SUM_ROWS - GEO_SCOPE_MAX)

/* A (row, host) pair of the host set; a slot whose gen is not the current
 * interval's is empty, so the set empties itself when an interval opens. */
struct host_slot {
    uint32_t gen;
    uint16_t row;
    uint16_t pad;
    struct lw_addr addr;
};

struct geo_sum {
    uint64_t interval;
    uint64_t start, end;             /* the open interval; end 0: none open */
    uint16_t gen;                    /* of rows; wraps, flows check the row too */
    uint32_t hgen;                   /* of host slots: never wraps in practice */
    unsigned worker;
    char     home_cc[3];
    uint32_t nrows;
    uint32_t nhosts;
    uint64_t rows_overflow, hosts_overflow;
    uint16_t overflow_row[GEO_SCOPE_MAX];
    uint16_t buckets[ROW_BUCKETS];
    uint16_t order[GEO_SUM_ROWS];
    struct geo_summary out;
    struct geo_sum_row rows[GEO_SUM_ROWS];
    struct host_slot hosts[GEO_SUM_HOST_SLOTS];
};

const char *geo_scope_name(enum geo_scope s)
{
    static const char *const names[GEO_SCOPE_MAX] = {
        [GEO_SCOPE_NONE] = "none", [GEO_SCOPE_INTERNAL] = "internal",
        [GEO_SCOPE_DOMESTIC] = "domestic", [GEO_SCOPE_OUTBOUND] = "cross-border-outbound",
        [GEO_SCOPE_INBOUND] = "cross-border-inbound", [GEO_SCOPE_TRANSIT] = "transit",
        [GEO_SCOPE_EXTERNAL] = "external",
    };
    return (unsigned)s < GEO_SCOPE_MAX ? names[s] : "none";
}

static void sum_reset(struct geo_sum *s)
{
    if (++s->gen == 0)
        s->gen = 1;
    s->hgen++;
    s->nrows = 0;
    s->nhosts = 0;
    s->rows_overflow = s->hosts_overflow = 0;
    s->start = s->end = 0;
    memset(s->buckets, 0xff, sizeof s->buckets);
    memset(s->overflow_row, 0xff, sizeof s->overflow_row);
}

/* Everything is allocated here, once: see the bound in geo-summary.h. */
struct geo_sum *geo_sum_new(uint64_t interval_usec, const char *home_cc, unsigned worker)
{
    struct geo_sum *s;

    if (interval_usec == 0)
        return NULL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->interval = interval_usec;
    s->worker = worker;
    if (home_cc)
        memcpy(s->home_cc, home_cc, strnlen(home_cc, 2));
    sum_reset(s);
    return s;
}

struct geo_sum *geo_sum_new_like(const struct geo_sum *s)
{
    return geo_sum_new(s->interval, s->home_cc, 0);
}

uint64_t geo_sum_interval(const struct geo_sum *s)
{
    return s->interval;
}

void geo_sum_free(struct geo_sum *s)
{
    free(s);
}

size_t geo_sum_memsize(void)
{
    return sizeof(struct geo_sum);
}

uint16_t geo_sum_gen(const struct geo_sum *s)
{
    return s->gen;
}

int geo_sum_due(const struct geo_sum *s, uint64_t now_usec)
{
    return s->end != 0 && now_usec >= s->end;
}

void geo_sum_start(struct geo_sum *s, uint64_t now_usec)
{
    if (s->end != 0)
        return;
    s->start = now_usec - now_usec % s->interval;
    s->end = s->start + s->interval;
}

static uint32_t row_hash(uint8_t scope, const char *a, const char *b)
{
    uint64_t k = (uint64_t)scope | (uint64_t)(uint8_t)a[0] << 8 | (uint64_t)(uint8_t)a[1] << 16 |
                 (uint64_t)(uint8_t)b[0] << 24 | (uint64_t)(uint8_t)b[1] << 32;
    return (uint32_t)lw_mix64(k) & (ROW_BUCKETS - 1);
}

static void cc_copy(char dst[3], const char *src)
{
    dst[0] = dst[1] = dst[2] = '\0';
    if (src && src[0] && src[1]) {
        dst[0] = src[0];
        dst[1] = src[1];
    }
}

static uint16_t row_new(struct geo_sum *s, uint8_t scope, const char *src_cc, const char *dst_cc,
                        uint8_t flags)
{
    uint16_t i = (uint16_t)s->nrows++;
    struct geo_sum_row *r = &s->rows[i];

    memset(r, 0, offsetof(struct geo_sum_row, top_ep));
    r->scope = scope;
    r->flags = flags;
    cc_copy(r->src_cc, src_cc);
    cc_copy(r->dst_cc, dst_cc);
    r->hnext = ROW_NIL;
    return i;
}

int geo_sum_row_is(const struct geo_sum *s, uint16_t row, uint8_t scope, const char src_cc[3],
                   const char dst_cc[3])
{
    const struct geo_sum_row *r = &s->rows[row];

    if (row >= s->nrows || r->scope != scope)
        return 0;
    return (r->flags & GEO_ROW_OVERFLOW) ||
           (r->src_cc[0] == src_cc[0] && r->src_cc[1] == src_cc[1] && r->src_cc[2] == src_cc[2] &&
            r->dst_cc[0] == dst_cc[0] && r->dst_cc[1] == dst_cc[1] && r->dst_cc[2] == dst_cc[2]);
}

uint16_t geo_sum_row(struct geo_sum *s, uint8_t scope, const char *src_cc, const char *dst_cc)
{
    char a[3], b[3];
    uint32_t h;
    uint16_t i;

    if (scope >= GEO_SCOPE_MAX)
        scope = GEO_SCOPE_NONE;
    cc_copy(a, src_cc);
    cc_copy(b, dst_cc);
    h = row_hash(scope, a, b);
    for (i = s->buckets[h]; i != ROW_NIL; i = s->rows[i].hnext) {
        const struct geo_sum_row *r = &s->rows[i];
        if (r->scope == scope && memcmp(r->src_cc, a, 3) == 0 && memcmp(r->dst_cc, b, 3) == 0)
            return i;
    }
    if (s->nrows < ROWS_PLAIN) {
        i = row_new(s, scope, a, b, 0);
        s->rows[i].hnext = s->buckets[h];
        s->buckets[h] = i;
        return i;
    }
    s->rows_overflow++;
    if (s->overflow_row[scope] == ROW_NIL)
        s->overflow_row[scope] = row_new(s, scope, "", "", GEO_ROW_OVERFLOW);
    return s->overflow_row[scope];
}

struct geo_sum_row *geo_sum_row_at(struct geo_sum *s, uint16_t row)
{
    return &s->rows[row];
}

void geo_sum_add_host(struct geo_sum *s, uint16_t row, const struct lw_addr *a)
{
    uint64_t h = lw_mix64(((uint64_t)a->u.w[0] << 32 | a->u.w[1]) ^
                          lw_mix64(((uint64_t)a->u.w[2] << 32 | a->u.w[3]) + ((uint64_t)row << 8 | a->family)));
    uint32_t i = (uint32_t)h & (GEO_SUM_HOST_SLOTS - 1);

    for (;;) {
        struct host_slot *e = &s->hosts[i];
        if (e->gen != s->hgen) {
            if (s->nhosts >= GEO_SUM_HOSTS) {
                s->hosts_overflow++;
                return;
            }
            e->gen = s->hgen;
            e->row = row;
            e->addr = *a;
            s->nhosts++;
            s->rows[row].internal_hosts++;
            return;
        }
        if (e->row == row && lw_addr_eq(&e->addr, a))
            return;
        i = (i + 1) & (GEO_SUM_HOST_SLOTS - 1);
    }
}

/* Space-Saving: a key not tracked takes a free slot, or when the list is
 * full the slot of the smallest count, and adds to that count. Returns the
 * slot for a new key and sets *hint to it; a free slot's count is zeroed
 * (slots keep the last interval's values). */
static uint8_t top_victim(uint8_t *flags, uint8_t *n, uint64_t *counts, size_t stride, uint8_t *hint)
{
    uint8_t best = 0;

    if (*n < GEO_SUM_TOPK) {
        *(uint64_t *)(void *)((char *)counts + *n * stride) = 0;
        return *hint = (*n)++;
    }
    *flags |= GEO_ROW_TOP_APPROX;
    for (uint8_t i = 1; i < GEO_SUM_TOPK; i++)
        if (*(const uint64_t *)(const void *)((const char *)counts + i * stride) <
            *(const uint64_t *)(const void *)((const char *)counts + best * stride))
            best = i;
    return *hint = best;
}

static int ep_is(const struct geo_top_ep *e, const struct lw_addr *a)
{
    return lw_addr_eq(&e->addr, a);
}

void geo_sum_top_ep(struct geo_sum_row *r, const struct lw_addr *a, const char *cc, uint32_t asn,
                    uint64_t bytes, uint8_t *hint)
{
    struct geo_top_ep *e;

    if (*hint < r->ntop_ep && ep_is(&r->top_ep[*hint], a)) {
        r->top_ep[*hint].bytes += bytes;
        return;
    }
    for (uint8_t i = 0; i < r->ntop_ep; i++)
        if (ep_is(&r->top_ep[i], a)) {
            r->top_ep[*hint = i].bytes += bytes;
            return;
        }
    e = &r->top_ep[top_victim(&r->flags, &r->ntop_ep, &r->top_ep[0].bytes, sizeof r->top_ep[0], hint)];
    e->addr = *a;
    cc_copy(e->cc, cc);
    e->asn = asn;
    e->bytes += bytes;
}

void geo_sum_top_asn(struct geo_sum_row *r, uint32_t asn, uint8_t org_db, uint32_t org_off,
                     uint32_t epoch, uint64_t bytes, uint8_t *hint)
{
    struct geo_top_asn *e;

    if (*hint < r->ntop_asn && r->top_asn[*hint].asn == asn) {
        r->top_asn[*hint].bytes += bytes;
        return;
    }
    for (uint8_t i = 0; i < r->ntop_asn; i++)
        if (r->top_asn[i].asn == asn) {
            r->top_asn[*hint = i].bytes += bytes;
            return;
        }
    e = &r->top_asn[top_victim(&r->flags, &r->ntop_asn, &r->top_asn[0].bytes, sizeof r->top_asn[0], hint)];
    e->asn = asn;
    e->org_db = org_db;
    e->org_off = org_off;
    e->epoch = epoch;
    e->bytes += bytes;
}

/* A slot holds at most GEO_SUM_APP_LEN - 1 characters: a longer name
 * matches the slot holding its cut form. */
static int app_is(const struct geo_top_app *e, const char *app)
{
    return strncmp(e->name, app, GEO_SUM_APP_LEN - 1) == 0;
}

/* The Space-Saving insertion of an application, without the row's
 * app_bytes (which the caller keeps). */
static void top_app_add(struct geo_sum_row *r, const char *app, uint64_t bytes, uint8_t *hint)
{
    struct geo_top_app *e;

    if (*hint < r->ntop_app && app_is(&r->top_app[*hint], app)) {
        r->top_app[*hint].bytes += bytes;
        return;
    }
    for (uint8_t i = 0; i < r->ntop_app; i++)
        if (app_is(&r->top_app[i], app)) {
            r->top_app[*hint = i].bytes += bytes;
            return;
        }
    e = &r->top_app[top_victim(&r->flags, &r->ntop_app, &r->top_app[0].bytes, sizeof r->top_app[0], hint)];
    strncpy(e->name, app, GEO_SUM_APP_LEN - 1);
    e->name[GEO_SUM_APP_LEN - 1] = '\0';
    e->bytes += bytes;
}

void geo_sum_top_app(struct geo_sum_row *r, const char *app, uint64_t bytes, uint8_t *hint)
{
    if (app == NULL || app[0] == '\0')
        app = "Unknown";
    r->app_bytes += bytes;
    top_app_add(r, app, bytes, hint);
}

/* Key order for equal byte counts, so that the lists do not depend on the
 * order keys arrived in (several workers' lists merge into the same one). */
static int ep_before(const struct geo_top_ep *a, const struct geo_top_ep *b)
{
    return a->addr.family != b->addr.family ? a->addr.family < b->addr.family
                                            : memcmp(a->addr.u.b, b->addr.u.b, 16) < 0;
}

static int asn_before(const struct geo_top_asn *a, const struct geo_top_asn *b)
{
    return a->asn < b->asn;
}

static int app_before(const struct geo_top_app *a, const struct geo_top_app *b)
{
    return strcmp(a->name, b->name) < 0;
}

/* Largest first, ties by key; lists are at most GEO_SUM_TOPK long. */
#define SORT_DESC(arr, n, before)                                   \
    do {                                                            \
        for (uint8_t i_ = 1; i_ < (n); i_++)                        \
            for (uint8_t j_ = i_; j_ > 0 && ((arr)[j_].bytes > (arr)[j_ - 1].bytes || \
                 ((arr)[j_].bytes == (arr)[j_ - 1].bytes && before(&(arr)[j_], &(arr)[j_ - 1]))); j_--) { \
                __typeof__((arr)[0]) t_ = (arr)[j_];                \
                (arr)[j_] = (arr)[j_ - 1];                          \
                (arr)[j_ - 1] = t_;                                 \
            }                                                       \
    } while (0)

static int row_before(const struct geo_sum_row *a, const struct geo_sum_row *b)
{
    if (a->scope != b->scope)
        return a->scope < b->scope;
    if ((a->flags ^ b->flags) & GEO_ROW_OVERFLOW)
        return !(a->flags & GEO_ROW_OVERFLOW);
    return a->bytes > b->bytes;
}

const struct geo_summary *geo_sum_close(struct geo_sum *s, uint64_t end_usec)
{
    if (s->end == 0 || s->nrows == 0)
        return NULL;
    for (uint32_t i = 0; i < s->nrows; i++) {
        struct geo_sum_row *r = &s->rows[i];
        SORT_DESC(r->top_ep, r->ntop_ep, ep_before);
        SORT_DESC(r->top_asn, r->ntop_asn, asn_before);
        SORT_DESC(r->top_app, r->ntop_app, app_before);
        /* Insertion sort of the order: at most GEO_SUM_ROWS, once an interval. */
        uint32_t j = i;
        for (; j > 0 && row_before(r, &s->rows[s->order[j - 1]]); j--)
            s->order[j] = s->order[j - 1];
        s->order[j] = (uint16_t)i;
    }
    s->out.start_usec = s->start;
    s->out.end_usec = end_usec < s->end ? end_usec : s->end;
    if (s->out.end_usec < s->start)
        s->out.end_usec = s->start;
    s->out.worker = s->worker;
    memcpy(s->out.home_cc, s->home_cc, sizeof s->out.home_cc);
    s->out.nrows = s->nrows;
    s->out.rows = s->rows;
    s->out.order = s->order;
    s->out.rows_overflow = s->rows_overflow;
    s->out.hosts_overflow = s->hosts_overflow;
    return &s->out;
}

void geo_sum_merge(struct geo_sum *dst, const struct geo_sum *src)
{
    uint16_t map[GEO_SUM_ROWS];

    if (src->end == 0 || src->nrows == 0)
        return;
    if (dst->end == 0) {
        dst->start = src->start;
        dst->end = src->end;
    }
    for (uint32_t i = 0; i < src->nrows; i++) {
        const struct geo_sum_row *r = &src->rows[i];
        struct geo_sum_row *o;
        uint16_t d;
        uint8_t hint = 0;

        if (r->flags & GEO_ROW_OVERFLOW) {
            if (dst->overflow_row[r->scope] == ROW_NIL)
                dst->overflow_row[r->scope] = row_new(dst, r->scope, "", "", GEO_ROW_OVERFLOW);
            d = dst->overflow_row[r->scope];
        } else {
            d = geo_sum_row(dst, r->scope, r->src_cc, r->dst_cc);
        }
        map[i] = d;
        o = &dst->rows[d];
        o->flags |= r->flags & GEO_ROW_TOP_APPROX;
        o->bytes += r->bytes;
        o->pkts += r->pkts;
        o->flows += r->flows;
        o->alerts += r->alerts;
        for (int k = 0; k < 2; k++)
            pii_tally_merge(&o->pii[k], &r->pii[k]);
        for (uint8_t k = 0; k < r->ntop_ep; k++)
            geo_sum_top_ep(o, &r->top_ep[k].addr, r->top_ep[k].cc, r->top_ep[k].asn,
                           r->top_ep[k].bytes, &hint);
        for (uint8_t k = 0; k < r->ntop_asn; k++)
            geo_sum_top_asn(o, r->top_asn[k].asn, r->top_asn[k].org_db, r->top_asn[k].org_off,
                            r->top_asn[k].epoch, r->top_asn[k].bytes, &hint);
        for (uint8_t k = 0; k < r->ntop_app; k++)
            top_app_add(o, r->top_app[k].name, r->top_app[k].bytes, &hint);
        o->app_bytes += r->app_bytes;
    }
    dst->rows_overflow += src->rows_overflow;
    dst->hosts_overflow += src->hosts_overflow;
    for (uint32_t i = 0; i < GEO_SUM_HOST_SLOTS; i++) {
        const struct host_slot *e = &src->hosts[i];

        if (e->gen == src->hgen && e->row < src->nrows)
            geo_sum_add_host(dst, map[e->row], &e->addr);
    }
}

void geo_sum_open(struct geo_sum *s)
{
    sum_reset(s);
}

const char *geo_sum_row_country(const struct geo_sum_row *r)
{
    const char *cc;

    if (r->flags & GEO_ROW_OVERFLOW)
        return NULL;
    switch (r->scope) {
    case GEO_SCOPE_OUTBOUND:
    case GEO_SCOPE_TRANSIT:  cc = r->dst_cc; break;
    case GEO_SCOPE_INBOUND:  cc = r->src_cc; break;
    default:                 return NULL;
    }
    return cc[0] ? cc : NULL;
}
