/* geo.c - flow geolocation with libmaxminddb; see geo.h. */
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "geo.h"
#include "log.h"
#include "pii.h"
#include "util.h"

struct geo_db {
    MMDB_s mmdb;
    int    open;
};

/* An immutable set of open databases; epoch names it in flows and caches. */
struct geo_dbset {
    uint32_t epoch;
    uint32_t retire_epoch;           /* epoch of the set that replaced it */
    struct geo_dbset *next;          /* retired list */
    size_t n;
    struct geo_db db[];
};

struct geo {
    char     home_cc[3];
    struct lw_cidr *home;
    size_t   nhome;
    uint32_t cache_size;             /* entries per worker, a power of two; 0: none */
    uint64_t interval_usec;
    _Atomic(struct geo_dbset *) cur;
    atomic_uint nretired;            /* sets waiting for reclamation */
    pthread_mutex_t lock;            /* epoch, retired, threads */
    uint32_t epoch;
    struct geo_dbset *retired;
    struct geo_thread *threads;
    uint64_t reloads;
};

struct cache_entry {
    struct lw_addr addr;
    uint32_t epoch;                  /* 0: empty */
    struct geo_ep ep;
};

struct geo_thread {
    struct geo *g;
    const struct geo_dbset *set;     /* this worker's snapshot, changed at quiescent points */
    atomic_uint seen;                /* epoch of set, read by geo_reclaim() */
    struct geo_thread *next;
    struct cache_entry *cache;
    uint32_t cache_mask;
    struct geo_sum *sum;
    struct geo_stats st;
    struct geo_ep scratch;           /* geo_detect_country() for addresses off the flow */
    unsigned id;
};

/* The per-flow cost that README and test_manyflows.sh state. */
_Static_assert(sizeof(struct flow_geo) == 56, "struct flow_geo is 56 bytes per flow");

/* The calling thread's context: event writers and the geoip keyword have
 * no other way to reach the worker's database snapshot. */

/* ================================================================ databases */

static void dbset_free(struct geo_dbset *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        if (s->db[i].open)
            MMDB_close(&s->db[i].mmdb);
    free(s);
}

/* Opens every file; on any failure closes what was opened and returns NULL
 * with the reason. */
static struct geo_dbset *dbset_open(const char *const *paths, size_t n, char *err, size_t errlen)
{
    struct geo_dbset *s;

    if (n > GEO_MAX_DATABASES) {
        snprintf(err, errlen, "geoip.databases: at most %d databases, got %zu", GEO_MAX_DATABASES, n);
        return NULL;
    }
    s = calloc(1, sizeof *s + n * sizeof s->db[0]);
    if (s == NULL) {
        snprintf(err, errlen, "geoip: out of memory");
        return NULL;
    }
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        int rc = MMDB_open(paths[i], MMDB_MODE_MMAP, &s->db[i].mmdb);
        if (rc != MMDB_SUCCESS) {
            int e = errno;
            int sys = rc == MMDB_IO_ERROR || rc == MMDB_FILE_OPEN_ERROR;
            snprintf(err, errlen, "geoip.databases: %s: %s%s%s", paths[i], MMDB_strerror(rc),
                     sys ? ": " : "", sys ? strerror(e) : "");
            dbset_free(s);
            return NULL;
        }
        s->db[i].open = 1;
    }
    return s;
}

static void dbset_log(const struct geo_dbset *s, const char *const *paths)
{
    if (s->n == 0) {
        log_warning("geoip: no databases (geoip.databases): geolocation is off; "
                    "flows are scoped internal or external only");
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        const MMDB_metadata_s *m = &s->db[i].mmdb.metadata;
        log_info("geoip: %s: %s, IPv%u, %u nodes, built %llu", paths[i],
                 m->database_type ? m->database_type : "?", (unsigned)m->ip_version,
                 (unsigned)m->node_count, (unsigned long long)m->build_epoch);
    }
}

static uint32_t pow2_at_least(uint32_t v)
{
    uint32_t p = 1;

    while (p < v && p < (1u << 31))
        p <<= 1;
    return p;
}

struct geo *geo_open(const struct lw_config *cfg, const char *const *paths, size_t n,
                     char *err, size_t errlen)
{
    struct geo *g = calloc(1, sizeof *g);
    struct geo_dbset *s;

    if (g == NULL) {
        snprintf(err, errlen, "geoip: out of memory");
        return NULL;
    }
    if (cfg->home_country)
        memcpy(g->home_cc, cfg->home_country, strnlen(cfg->home_country, 2));
    g->cache_size = cfg->geoip.cache_size ? pow2_at_least(cfg->geoip.cache_size) : 0;
    g->interval_usec = (uint64_t)(cfg->geoip.summary_interval ? cfg->geoip.summary_interval : 60) * 1000000u;
    g->home = calloc(cfg->home_net.n ? cfg->home_net.n : 1, sizeof *g->home);
    if (g->home == NULL) {
        snprintf(err, errlen, "geoip: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < cfg->home_net.n; i++) {
        if (lw_cidr_parse(cfg->home_net.v[i], &g->home[g->nhome]) < 0) {
            snprintf(err, errlen, "home-net: bad address or CIDR '%s'", cfg->home_net.v[i]);
            goto fail;
        }
        g->nhome++;
    }
    s = dbset_open(paths, n, err, errlen);
    if (s == NULL)
        goto fail;
    s->epoch = g->epoch = 1;
    atomic_init(&g->cur, s);
    atomic_init(&g->nretired, 0);
    pthread_mutex_init(&g->lock, NULL);
    dbset_log(s, paths);
    return g;
fail:
    free(g->home);
    free(g);
    return NULL;
}

void geo_close(struct geo *g)
{
    struct geo_dbset *r, *next;

    if (g == NULL)
        return;
    for (r = g->retired; r; r = next) {
        next = r->next;
        dbset_free(r);
    }
    dbset_free(atomic_load(&g->cur));
    pthread_mutex_destroy(&g->lock);
    free(g->home);
    free(g);
}

int geo_check_databases(const char *const *paths, size_t n, char *err, size_t errlen)
{
    struct geo_dbset *s = dbset_open(paths, n, err, errlen);

    dbset_free(s);
    return s ? 0 : -1;
}

int geo_reload(struct geo *g, const char *const *paths, size_t n, char *err, size_t errlen)
{
    struct geo_dbset *s = dbset_open(paths, n, err, errlen), *old;

    if (s == NULL)
        return -1;
    dbset_log(s, paths);            /* before publishing: a later reload may free s */
    pthread_mutex_lock(&g->lock);
    s->epoch = ++g->epoch;
    old = atomic_load_explicit(&g->cur, memory_order_relaxed);
    atomic_store_explicit(&g->cur, s, memory_order_release);
    old->retire_epoch = s->epoch;
    old->next = g->retired;
    g->retired = old;
    atomic_fetch_add(&g->nretired, 1);
    g->reloads++;
    pthread_mutex_unlock(&g->lock);
    geo_reclaim(g);
    return 0;
}

/* Frees the retired sets every registered thread has moved past. Called
 * with g->lock held. */
static size_t reclaim_locked(struct geo *g)
{
    uint32_t min = UINT32_MAX;
    struct geo_dbset **pr = &g->retired;
    size_t left = 0;

    for (struct geo_thread *t = g->threads; t; t = t->next) {
        uint32_t e = atomic_load_explicit(&t->seen, memory_order_acquire);
        if (e < min)
            min = e;
    }
    while (*pr) {
        struct geo_dbset *r = *pr;
        if (r->retire_epoch <= min) {
            *pr = r->next;
            dbset_free(r);
            atomic_fetch_sub(&g->nretired, 1);
        } else {
            pr = &r->next;
            left++;
        }
    }
    return left;
}

size_t geo_reclaim(struct geo *g)
{
    size_t left;

    pthread_mutex_lock(&g->lock);
    left = reclaim_locked(g);
    pthread_mutex_unlock(&g->lock);
    return left;
}

/* Under the lock: the current set cannot be retired, nor freed, meanwhile. */
size_t geo_database_count(const struct geo *g)
{
    struct geo *mg = (struct geo *)g;
    size_t n;

    pthread_mutex_lock(&mg->lock);
    n = atomic_load_explicit(&mg->cur, memory_order_relaxed)->n;
    pthread_mutex_unlock(&mg->lock);
    return n;
}

uint64_t geo_reload_count(const struct geo *g)
{
    struct geo *mg = (struct geo *)g;
    uint64_t n;

    pthread_mutex_lock(&mg->lock);
    n = mg->reloads;
    pthread_mutex_unlock(&mg->lock);
    return n;
}

/* ================================================================ threads */

struct geo_thread *geo_thread_new(struct geo *g, unsigned worker_id)
{
    struct geo_thread *t = calloc(1, sizeof *t);

    if (t == NULL)
        return NULL;
    t->g = g;
    t->id = worker_id;
    if (g->cache_size) {
        t->cache = calloc(g->cache_size, sizeof *t->cache);
        if (t->cache == NULL)
            goto fail;
        t->cache_mask = g->cache_size - 1;
    }
    t->sum = geo_sum_new(g->interval_usec, g->home_cc, worker_id);
    if (t->sum == NULL)
        goto fail;
    pthread_mutex_lock(&g->lock);
    t->set = atomic_load_explicit(&g->cur, memory_order_acquire);
    atomic_init(&t->seen, t->set->epoch);
    t->next = g->threads;
    g->threads = t;
    pthread_mutex_unlock(&g->lock);
    return t;
fail:
    free(t->cache);
    free(t);
    return NULL;
}

void geo_thread_free(struct geo_thread *t)
{
    struct geo_thread **pp;

    if (t == NULL)
        return;
    pthread_mutex_lock(&t->g->lock);
    for (pp = &t->g->threads; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    reclaim_locked(t->g);
    pthread_mutex_unlock(&t->g->lock);
    geo_sum_free(t->sum);
    free(t->cache);
    free(t);
}

void geo_thread_quiescent(struct geo_thread *t)
{
    struct geo_dbset *cur = atomic_load_explicit(&t->g->cur, memory_order_acquire);

    if (cur == t->set)
        return;
    t->set = cur;
    STATS_INC(t->st.set_changes);
    atomic_store_explicit(&t->seen, cur->epoch, memory_order_release);
    /* Free the old set if this was the last worker on it; never wait. */
    if (atomic_load_explicit(&t->g->nretired, memory_order_relaxed) &&
        pthread_mutex_trylock(&t->g->lock) == 0) {
        reclaim_locked(t->g);
        pthread_mutex_unlock(&t->g->lock);
    }
}

const struct geo_stats *geo_thread_stats(const struct geo_thread *t)
{
    return &t->st;
}

uint32_t geo_thread_epoch(const struct geo_thread *t)
{
    return t->set->epoch;
}

/* ================================================================ lookups */

static int reserved4(const uint8_t *b)
{
    switch (b[0]) {
    case 0: case 10: case 127:
        return 1;
    case 100: return (b[1] & 0xc0) == 64;                          /* 100.64/10 */
    case 169: return b[1] == 254;
    case 172: return (b[1] & 0xf0) == 16;
    case 192: return b[1] == 168 || (b[1] == 0 && (b[2] == 0 || b[2] == 2));
    case 198: return (b[1] & 0xfe) == 18 || (b[1] == 51 && b[2] == 100);
    case 203: return b[1] == 0 && b[2] == 113;
    default:  return b[0] >= 224;                                  /* multicast, 240/4 */
    }
}

static int zeros(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static int mapped4(const uint8_t *b)
{
    return zeros(b, 10) && b[10] == 0xff && b[11] == 0xff;
}

static int reserved6(const uint8_t *b)
{
    if ((b[0] & 0xfe) == 0xfc || b[0] == 0xff)                     /* ULA, multicast */
        return 1;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)                     /* link-local */
        return 1;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return 1;                                                  /* 2001:db8::/32 */
    if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0)        /* 3fff::/20 */
        return 1;
    if (b[0] == 0x01 && zeros(b + 1, 7))                           /* 100::/64 discard */
        return 1;
    if (zeros(b, 15) && b[15] <= 1)                                /* ::, ::1 */
        return 1;
    return mapped4(b) && reserved4(b + 12);
}

static int is_internal(const struct geo *g, const struct lw_addr *a)
{
    if (a->family == 4 ? reserved4(a->u.b) : reserved6(a->u.b))
        return 1;
    for (size_t i = 0; i < g->nhome; i++)
        if (lw_cidr_contains(&g->home[i], a))
            return 1;
    if (a->family == 6 && mapped4(a->u.b)) {
        struct lw_addr v4;
        lw_addr_set4(&v4, a->u.b + 12);
        for (size_t i = 0; i < g->nhome; i++)
            if (lw_cidr_contains(&g->home[i], &v4))
                return 1;
    }
    return 0;
}

static int get_str(MMDB_entry_s *e, struct geo_str *out, const char *const *path)
{
    MMDB_entry_data_s d;

    if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data ||
        d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size == 0)
        return 0;
    out->s = d.utf8_string;
    out->n = d.data_size;
    return 1;
}

static int get_num(MMDB_entry_s *e, double *out, const char *const *path)
{
    MMDB_entry_data_s d;

    if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data)
        return 0;
    switch (d.type) {
    case MMDB_DATA_TYPE_DOUBLE: *out = d.double_value; return 1;
    case MMDB_DATA_TYPE_FLOAT:  *out = d.float_value; return 1;
    case MMDB_DATA_TYPE_UINT16: *out = d.uint16; return 1;
    case MMDB_DATA_TYPE_UINT32: *out = d.uint32; return 1;
    case MMDB_DATA_TYPE_INT32:  *out = d.int32; return 1;
    case MMDB_DATA_TYPE_UINT64: *out = (double)d.uint64; return 1;
    default: return 0;
    }
}

static const char *const P_COUNTRY[] = { "country", "iso_code", NULL };
static const char *const P_REG_COUNTRY[] = { "registered_country", "iso_code", NULL };
static const char *const P_COUNTRY_CODE[] = { "country_code", NULL };
static const char *const P_ASN[] = { "autonomous_system_number", NULL };
static const char *const P_ORG[] = { "autonomous_system_organization", NULL };
static const char *const P_CITY[] = { "city", "names", "en", NULL };
static const char *const P_CITY_FLAT[] = { "city", NULL };
static const char *const P_LAT[] = { "location", "latitude", NULL };
static const char *const P_LON[] = { "location", "longitude", NULL };
static const char *const P_LAT_FLAT[] = { "latitude", NULL };
static const char *const P_LON_FLAT[] = { "longitude", NULL };

static int rec_country(MMDB_entry_s *e, char cc[3])
{
    static const char *const *const paths[] = { P_COUNTRY, P_REG_COUNTRY, P_COUNTRY_CODE };
    struct geo_str s;

    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (!get_str(e, &s, paths[i]) || s.n != 2)
            continue;
        char a = s.s[0] & ~0x20, b = s.s[1] & ~0x20;   /* upper case */
        if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z')
            continue;
        cc[0] = a;
        cc[1] = b;
        cc[2] = '\0';
        return 1;
    }
    return 0;
}

static int rec_has_loc(MMDB_entry_s *e)
{
    struct geo_str s;
    double v;

    return get_num(e, &v, P_LAT) || get_num(e, &v, P_LAT_FLAT) ||
           get_str(e, &s, P_CITY) || get_str(e, &s, P_CITY_FLAT);
}

static void to_sockaddr(const struct lw_addr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->family == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, a->u.b, 4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a->u.b, 16);
    }
}

/* Every database in order, each filling in what the earlier ones lacked. */
static void lookup_dbs(const struct geo_dbset *set, const struct lw_addr *a, struct geo_ep *ep)
{
    struct sockaddr_storage ss;

    to_sockaddr(a, &ss);
    for (size_t i = 0; i < set->n; i++) {
        int err = MMDB_SUCCESS;
        MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&set->db[i].mmdb, (const struct sockaddr *)&ss, &err);
        double asn;

        if (err != MMDB_SUCCESS || !r.found_entry)
            continue;
        if (!ep->cc[0])
            rec_country(&r.entry, ep->cc);
        if (!ep->asn && get_num(&r.entry, &asn, P_ASN) && asn > 0 && asn < 4294967296.0) {
            ep->asn = (uint32_t)asn;
            ep->org_db = (uint8_t)(i + 1);
            ep->org_off = r.entry.offset;
        }
        if (!ep->loc_db && rec_has_loc(&r.entry)) {
            ep->loc_db = (uint8_t)(i + 1);
            ep->loc_off = r.entry.offset;
        }
    }
}

static int classify(struct geo_thread *t, const struct lw_addr *a, struct geo_ep *ep)
{
    memset(ep, 0, sizeof *ep);
    if (!is_internal(t->g, a))
        return 0;
    memcpy(ep->cc, t->g->home_cc, 3);
    ep->flags = GEO_EP_INTERNAL | GEO_EP_HOME;
    STATS_INC(t->st.internal);
    return 1;
}

static void lookup_raw(struct geo_thread *t, const struct lw_addr *a, struct geo_ep *ep)
{
    lookup_dbs(t->set, a, ep);
    STATS_INC(t->st.lookups);
    if (ep->cc[0]) {
        STATS_INC(t->st.found);
        ep->flags |= memcmp(ep->cc, t->g->home_cc, 2) == 0 ? GEO_EP_HOME : GEO_EP_FOREIGN;
    }
}

void geo_lookup_nocache(struct geo_thread *t, const struct lw_addr *a, struct geo_ep *ep)
{
    if (!classify(t, a, ep) && t->set->n > 0)
        lookup_raw(t, a, ep);
}

static uint32_t addr_hash(const struct lw_addr *a)
{
    uint64_t h = lw_mix64(((uint64_t)a->u.w[0] << 32 | a->u.w[1]) ^
                          lw_mix64(((uint64_t)a->u.w[2] << 32 | a->u.w[3]) + a->family));
    return (uint32_t)(h ^ h >> 32);
}

void geo_lookup(struct geo_thread *t, const struct lw_addr *a, struct geo_ep *ep)
{
    struct cache_entry *e;

    if (classify(t, a, ep) || t->set->n == 0)
        return;                  /* internal, or no database to ask */
    if (t->cache == NULL) {
        lookup_raw(t, a, ep);
        return;
    }
    e = &t->cache[addr_hash(a) & t->cache_mask];
    if (e->epoch == t->set->epoch && lw_addr_eq(&e->addr, a)) {
        *ep = e->ep;
        STATS_INC(t->st.cache_hits);
        return;
    }
    lookup_raw(t, a, ep);
    e->addr = *a;
    e->epoch = t->set->epoch;
    e->ep = *ep;
}

/* An internal end counts as the home country; an end that is neither
 * internal nor geolocated makes the flow external. */
enum geo_scope geo_scope_of(const struct geo_ep *src, const struct geo_ep *dst)
{
    int hs = (src->flags & GEO_EP_HOME) != 0, hd = (dst->flags & GEO_EP_HOME) != 0;

    if ((src->flags & dst->flags & GEO_EP_INTERNAL) != 0)
        return GEO_SCOPE_INTERNAL;
    if (!src->cc[0] || !dst->cc[0])
        return GEO_SCOPE_EXTERNAL;
    if (hs && hd)
        return GEO_SCOPE_DOMESTIC;
    if (hs)
        return GEO_SCOPE_OUTBOUND;
    if (hd)
        return GEO_SCOPE_INBOUND;
    return GEO_SCOPE_TRANSIT;
}

/* ================================================================ flows */

static void flow_locate(struct geo_thread *t, struct flow *f)
{
    geo_lookup(t, &f->key.src, &f->geo.src);
    geo_lookup(t, &f->key.dst, &f->geo.dst);
    f->geo.epoch = (uint16_t)t->set->epoch;
    f->geo.scope = (uint8_t)geo_scope_of(&f->geo.src, &f->geo.dst);
    STATS_INC(t->st.flows);
}

/* The flow's row in the open interval (found once per interval). A packet
 * (with_hosts) also counts the flow's internal ends as the row's hosts, once
 * per interval: a late credit (an application known at flow end, an alert
 * at flow end) does not make a host active in an interval. */
static int flow_row_current(const struct geo_thread *t, const struct flow *f)
{
    return f->geo.row_gen == geo_sum_gen(t->sum) &&
           geo_sum_row_is(t->sum, f->geo.row, f->geo.scope, f->geo.src.cc, f->geo.dst.cc);
}

static struct geo_sum_row *flow_row(struct geo_thread *t, struct flow *f, uint64_t now, int with_hosts)
{
    geo_sum_start(t->sum, now);
    if (!flow_row_current(t, f)) {
        f->geo.row = geo_sum_row(t->sum, f->geo.scope, f->geo.src.cc, f->geo.dst.cc);
        f->geo.row_gen = geo_sum_gen(t->sum);
        f->geo.sflags &= (uint8_t)~GEO_SF_HOSTS;
        f->geo.pending = 0;
        f->geo.hint_ep = f->geo.hint_asn = f->geo.hint_app = 0;
    }
    if (with_hosts && !(f->geo.sflags & GEO_SF_HOSTS)) {
        f->geo.sflags |= GEO_SF_HOSTS;
        if (f->geo.src.flags & GEO_EP_INTERNAL)
            geo_sum_add_host(t->sum, f->geo.row, &f->key.src);
        if (f->geo.dst.flags & GEO_EP_INTERNAL)
            geo_sum_add_host(t->sum, f->geo.row, &f->key.dst);
    }
    return geo_sum_row_at(t->sum, f->geo.row);
}

/* The end the summary's top lists are about: the foreign one across the
 * border, the responder in transit, the end that is not internal otherwise;
 * none when both are internal. */
static int flow_remote(const struct flow *f, const struct lw_addr **a, const struct geo_ep **ep)
{
    int src;

    switch (f->geo.scope) {
    case GEO_SCOPE_INTERNAL: return 0;
    case GEO_SCOPE_INBOUND:  src = 1; break;
    default:                 src = (f->geo.dst.flags & GEO_EP_INTERNAL) != 0; break;
    }
    *a = src ? &f->key.src : &f->key.dst;
    *ep = src ? &f->geo.src : &f->geo.dst;
    return 1;
}

void geo_flow_packet(struct geo_thread *t, struct flow *f, const struct packet *p, uint64_t now)
{
    const struct lw_addr *ra;
    const struct geo_ep *rep;
    struct geo_sum_row *r;

    if (f->geo.scope == GEO_SCOPE_NONE)
        flow_locate(t, f);
    r = flow_row(t, f, now, 1);
    r->pkts++;
    r->bytes += p->wirelen;
    f->geo.pending += p->wirelen;
    if (!(f->geo.sflags & GEO_SF_COUNTED)) {
        f->geo.sflags |= GEO_SF_COUNTED;
        r->flows++;
    }
    if (!flow_remote(f, &ra, &rep))
        return;
    geo_sum_top_ep(r, ra, rep->cc, rep->asn, p->wirelen, &f->geo.hint_ep);
    if (rep->asn)
        geo_sum_top_asn(r, rep->asn, rep->org_db, rep->org_off, f->geo.epoch, p->wirelen,
                        &f->geo.hint_asn);
}

void geo_flow_app(struct geo_thread *t, struct flow *f, const char *app)
{
    if (f->geo.scope == GEO_SCOPE_NONE || f->geo.pending == 0)
        return;
    /* Bytes of an interval already closed are its unidentified bytes. */
    if (flow_row_current(t, f))
        geo_sum_top_app(geo_sum_row_at(t->sum, f->geo.row), app, f->geo.pending, &f->geo.hint_app);
    f->geo.pending = 0;
}

void geo_flow_alert(struct geo_thread *t, struct flow *f, uint64_t now)
{
    if (f->geo.scope == GEO_SCOPE_NONE)
        return;
    flow_row(t, f, now, 0)->alerts++;
}

void geo_flow_pii(struct geo_thread *t, struct flow *f, int dir, const struct pii_counts *c, uint64_t now)
{
    if (f->geo.scope == GEO_SCOPE_NONE || (unsigned)dir > 1)
        return;
    pii_tally_add(&flow_row(t, f, now, 0)->pii[dir], c);
}

int geo_summary_due(const struct geo_thread *t, uint64_t now)
{
    return geo_sum_due(t->sum, now);
}

const struct geo_summary *geo_summary_close(struct geo_thread *t, uint64_t end)
{
    return geo_sum_close(t->sum, end);
}

void geo_summary_open(struct geo_thread *t)
{
    geo_sum_open(t->sum);
}

struct geo_sum *geo_thread_sum(struct geo_thread *t)
{
    return t->sum;
}

/* ================================================================ events */

/* The entry at (db, off) of t's set, when that set is the one epoch names. */
static int entry_at(const struct geo_thread *t, uint8_t db, uint32_t off, uint32_t epoch, MMDB_entry_s *e)
{
    if (t == NULL || db == 0 || db > t->set->n || (uint16_t)t->set->epoch != (uint16_t)epoch)
        return 0;
    e->mmdb = &t->set->db[db - 1].mmdb;
    e->offset = off;
    return 1;
}

void geo_ep_detail(const struct geo_thread *t, const struct geo_ep *ep, const struct lw_addr *a,
                   uint32_t epoch, struct geo_detail *d)
{
    struct geo_ep fresh;
    MMDB_entry_s e;

    memset(d, 0, sizeof *d);
    if ((ep->flags & GEO_EP_INTERNAL) || t == NULL)
        return;
    if ((uint16_t)epoch != (uint16_t)t->set->epoch) {
        /* Reloaded since the flow started: the offsets are the old file's. */
        lookup_dbs(t->set, a, memset(&fresh, 0, sizeof fresh));
        ep = &fresh;
        epoch = t->set->epoch;
    }
    if (entry_at(t, ep->org_db, ep->org_off, epoch, &e))
        get_str(&e, &d->org, P_ORG);
    if (entry_at(t, ep->loc_db, ep->loc_off, epoch, &e)) {
        if (!get_str(&e, &d->city, P_CITY))
            get_str(&e, &d->city, P_CITY_FLAT);
        d->has_loc = (get_num(&e, &d->lat, P_LAT) && get_num(&e, &d->lon, P_LON)) ||
                     (get_num(&e, &d->lat, P_LAT_FLAT) && get_num(&e, &d->lon, P_LON_FLAT));
    }
}

struct geo_str geo_asn_org(const struct geo_thread *t, const struct geo_top_asn *a)
{
    struct geo_str s = { NULL, 0 };
    MMDB_entry_s e;

    if (entry_at(t, a->org_db, a->org_off, a->epoch, &e))
        get_str(&e, &s, P_ORG);
    return s;
}

const char *geo_detect_country(void *arg, const struct flow *f, const struct lw_addr *a)
{
    struct geo_thread *t = arg;
    const struct geo_ep *ep = NULL;

    if (f && f->geo.scope != GEO_SCOPE_NONE) {
        if (lw_addr_eq(a, &f->key.src))
            ep = &f->geo.src;
        else if (lw_addr_eq(a, &f->key.dst))
            ep = &f->geo.dst;
    }
    if (ep == NULL) {
        if (t == NULL)
            return NULL;
        geo_lookup(t, a, &t->scratch);
        ep = &t->scratch;
    }
    return ep->cc[0] ? ep->cc : NULL;
}

/* ---- counters (stats.geo.*) */

#define GEO(member, prom, help) \
    { "geo/" #member, prom, NULL, help, (uint32_t)offsetof(struct geo_stats, member), STATS_COUNTER, \
      STATS_SUM, 0, 0, NULL }
static const struct stats_field geo_fields[] = {
    GEO(flows, "linkwatch_geo_flows_total", "Flows geolocated."),
    GEO(internal, "linkwatch_geo_internal_total", "Flow endpoints inside home-net (no lookup)."),
    GEO(lookups, "linkwatch_geo_lookups_total", "Database lookups (cache misses)."),
    GEO(cache_hits, "linkwatch_geo_cache_hits_total", "Lookups answered by the cache."),
    GEO(found, "linkwatch_geo_found_total", "Lookups that gave a country."),
    GEO(set_changes, "linkwatch_geo_set_changes_total", "Database sets picked up after a reload."),
};
#undef GEO

const struct stats_module geo_stats_module = {
    "geo", geo_fields, STATS_NELEM(geo_fields), sizeof(struct geo_stats), NULL
};
