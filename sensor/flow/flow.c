/* flow.c - the per-worker flow table: pool, symmetric hash, TCP state, LRU expiry. */
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "log.h"
#include "util.h"

#define FLOW_NIL UINT32_MAX
#define FLOW_ID_BITS 51
#define FLOW_ID_MASK ((UINT64_C(1) << FLOW_ID_BITS) - 1)
#define FLOW_COUNTER_BITS 40
#define FLOW_MIN_BUCKETS 1024u

#define IPPROTO_TCP_   6
#define IPPROTO_UDP_   17
#define IPPROTO_ICMP_  1
#define IPPROTO_ICMP6_ 58
#define IPPROTO_SCTP_  132

struct flow_list {
    uint32_t head, tail;
};

struct flow_table {
    struct flow_config cfg;
    uint64_t id_base;             /* worker id, already shifted into place */
    uint64_t id_counter;          /* flows created so far; low bits of the id input */
    flow_end_fn on_end;
    void *arg;

    struct flow *pool;            /* cfg.max_flows entries */
    uint32_t hiwater;             /* entries below this have been handed out once */
    uint32_t free_head;           /* ended entries, chained through hnext */

    uint32_t *buckets;
    uint32_t nbuckets;            /* a power of two */
    uint32_t mask;

    struct flow_list lists[FLOW_TC_MAX];
    struct flow_stats stats;
    uint64_t clock;               /* capture clock, flow_table_set_clock() */
};

/* ---- keys and hashing -------------------------------------------------- */

static int key_same_context(const struct flow_key *a, const struct flow_key *b)
{
    return a->proto == b->proto && a->tunnel_type == b->tunnel_type &&
           a->tunnel_id == b->tunnel_id && a->vlan[0] == b->vlan[0] &&
           a->vlan[1] == b->vlan[1];
}

/* Returns 0 when b equals a as stored, 1 when b is a reversed, -1 otherwise.
 * Compared field by field so that padding in caller-built keys is ignored. */
static int key_match(const struct flow_key *a, const struct flow_key *b)
{
    if (!key_same_context(a, b))
        return -1;
    if (a->sport == b->sport && a->dport == b->dport &&
        lw_addr_eq(&a->src, &b->src) && lw_addr_eq(&a->dst, &b->dst))
        return 0;
    if (a->sport == b->dport && a->dport == b->sport &&
        lw_addr_eq(&a->src, &b->dst) && lw_addr_eq(&a->dst, &b->src))
        return 1;
    return -1;
}

static void key_reverse(struct flow_key *k)
{
    struct lw_addr a = k->src;
    uint16_t port = k->sport;

    k->src = k->dst;
    k->dst = a;
    k->sport = k->dport;
    k->dport = port;
}

static int proto_has_ports(uint8_t proto)
{
    return proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_ || proto == IPPROTO_SCTP_;
}

/* Builds the key in the packet's own orientation. Ports are taken only for
 * TCP, UDP and SCTP; the decoder leaves them 0 when it could not read them. */
void flow_key_from_packet(struct flow_key *k, const struct packet *p)
{
    memset(k, 0, sizeof *k);
    k->src.family = p->src.family;
    memcpy(k->src.u.b, p->src.u.b, 16);
    k->dst.family = p->dst.family;
    memcpy(k->dst.u.b, p->dst.u.b, 16);
    if (proto_has_ports(p->proto)) {
        k->sport = p->sport;
        k->dport = p->dport;
    }
    k->proto = p->proto;
    k->vlan[0] = p->vlan[0];
    k->vlan[1] = p->vlan[1];
    if (p->tunnel.depth > 0) {
        k->tunnel_type = p->tunnel.type;
        k->tunnel_id = p->tunnel.key_id;
    }
}

static inline uint64_t hash_step(uint64_t h, uint64_t w)
{
    h ^= w;
    h = (h << 29) | (h >> 35);
    return h * UINT64_C(0x9e3779b97f4a7c15);
}

static uint64_t hash_endpoint(uint64_t h, const struct lw_addr *a, uint16_t port)
{
    h = hash_step(h, (uint64_t)a->u.w[0] << 32 | a->u.w[1]);
    h = hash_step(h, (uint64_t)a->u.w[2] << 32 | a->u.w[3]);
    return hash_step(h, (uint64_t)a->family << 16 | port);
}

/* Endpoint order: family, address bytes, then port. Used only to pick a
 * canonical orientation for the hash. */
static int endpoint_cmp(const struct lw_addr *a, uint16_t ap, const struct lw_addr *b, uint16_t bp)
{
    int c = lw_addr_cmp(a, b);

    if (c != 0)
        return c;
    return (int)ap - (int)bp;
}

/* Symmetric: the two endpoints are hashed lower one first, so a key and its
 * reverse hash the same. The final fmix64 spreads every input bit over the
 * low bits the bucket index uses. */
uint32_t flow_key_hash(const struct flow_key *k)
{
    uint64_t h = (uint64_t)k->proto | (uint64_t)k->tunnel_type << 8 |
                 (uint64_t)k->vlan[0] << 16 | (uint64_t)k->vlan[1] << 32;

    h = hash_step(UINT64_C(0x6c696e6b77617463), h);
    h = hash_step(h, k->tunnel_id);
    if (endpoint_cmp(&k->src, k->sport, &k->dst, k->dport) <= 0) {
        h = hash_endpoint(h, &k->src, k->sport);
        h = hash_endpoint(h, &k->dst, k->dport);
    } else {
        h = hash_endpoint(h, &k->dst, k->dport);
        h = hash_endpoint(h, &k->src, k->sport);
    }
    h = lw_mix64(h);
    return (uint32_t)(h ^ (h >> 32));
}

/* ---- flow ids ----------------------------------------------------------- */

/* A bijection on 51-bit integers: xorshifts and odd multiplications modulo
 * 2^51 are each invertible, so distinct inputs give distinct ids, and only
 * 0 maps to 0. Inputs are (worker << 40 | counter) with counter >= 1, hence
 * ids are unique per run (for < 2048 workers and < 2^40 flows each), never
 * 0, below 2^51 (exact in a JSON double) and do not look sequential. */
static uint64_t flow_id_mix(uint64_t x)
{
    x &= FLOW_ID_MASK;
    x ^= x >> 26;
    x = (x * UINT64_C(0x5851f42d4c957f2d)) & FLOW_ID_MASK;
    x ^= x >> 23;
    x = (x * UINT64_C(0x2545f4914f6cdd1d)) & FLOW_ID_MASK;
    x ^= x >> 27;
    return x;
}

static uint64_t flow_next_id(struct flow_table *ft)
{
    uint64_t c;

    ft->id_counter++;
    c = ft->id_counter & ((UINT64_C(1) << FLOW_COUNTER_BITS) - 1);
    if (c == 0)     /* wrapped after 2^40 flows: skip the zero input */
        c = ++ft->id_counter & ((UINT64_C(1) << FLOW_COUNTER_BITS) - 1);
    return flow_id_mix(ft->id_base | c);
}

/* ---- lists and hash chains --------------------------------------------- */

static inline uint32_t flow_idx(const struct flow_table *ft, const struct flow *f)
{
    return (uint32_t)(f - ft->pool);
}

static void list_unlink(struct flow_table *ft, struct flow *f)
{
    struct flow_list *l = &ft->lists[f->tclass];

    if (f->lprev != FLOW_NIL)
        ft->pool[f->lprev].lnext = f->lnext;
    else
        l->head = f->lnext;
    if (f->lnext != FLOW_NIL)
        ft->pool[f->lnext].lprev = f->lprev;
    else
        l->tail = f->lprev;
    f->lprev = f->lnext = FLOW_NIL;
}

static void list_append(struct flow_table *ft, struct flow *f)
{
    struct flow_list *l = &ft->lists[f->tclass];
    uint32_t i = flow_idx(ft, f);

    f->lnext = FLOW_NIL;
    f->lprev = l->tail;
    if (l->tail != FLOW_NIL)
        ft->pool[l->tail].lnext = i;
    else
        l->head = i;
    l->tail = i;
}

static void hash_unlink(struct flow_table *ft, struct flow *f)
{
    uint32_t *pi = &ft->buckets[f->hash & ft->mask];
    uint32_t i = flow_idx(ft, f);

    while (*pi != FLOW_NIL) {
        if (*pi == i) {
            *pi = f->hnext;
            f->hnext = FLOW_NIL;
            return;
        }
        pi = &ft->pool[*pi].hnext;
    }
}

/* Finds the flow of key k (hash h) in either orientation; *rev is set to 1
 * when k is the reverse of the stored key. */
static struct flow *hash_find(struct flow_table *ft, const struct flow_key *k, uint32_t h, int *rev)
{
    uint32_t i = ft->buckets[h & ft->mask];

    while (i != FLOW_NIL) {
        struct flow *f = &ft->pool[i];
        if (f->hash == h) {
            int m = key_match(&f->key, k);
            if (m >= 0) {
                *rev = m;
                return f;
            }
        }
        i = f->hnext;
    }
    return NULL;
}

/* ---- table lifetime ---------------------------------------------------- */

static size_t pool_bytes(const struct flow_config *cfg)
{
    return (size_t)(cfg->max_flows ? cfg->max_flows : 1) * sizeof(struct flow);
}

/* Creates the table. The pool is zeroed memory never touched up front, so
 * only entries actually used become resident; pool and buckets are on huge
 * pages where the kernel allows (lw_table_alloc). Returns NULL on failure. */
struct flow_table *flow_table_new(const struct flow_config *cfg, unsigned worker_id,
                                  flow_end_fn on_end, void *arg)
{
    struct flow_table *ft;
    uint64_t nb = FLOW_MIN_BUCKETS;

    if (cfg->max_flows >= FLOW_NIL) {
        log_error("flow: max-flows %u too large", cfg->max_flows);
        return NULL;
    }
    while (nb < cfg->max_flows)
        nb <<= 1;

    ft = calloc(1, sizeof *ft);
    if (ft == NULL)
        goto fail;
    ft->cfg = *cfg;
    ft->id_base = ((uint64_t)worker_id << FLOW_COUNTER_BITS) & FLOW_ID_MASK;
    ft->on_end = on_end;
    ft->arg = arg;
    ft->pool = lw_table_alloc(pool_bytes(cfg));
    if (ft->pool == NULL)
        goto fail;
    ft->nbuckets = (uint32_t)nb;
    ft->mask = ft->nbuckets - 1;
    ft->buckets = lw_table_alloc(nb * sizeof *ft->buckets);
    if (ft->buckets == NULL)
        goto fail;
    memset(ft->buckets, 0xff, nb * sizeof *ft->buckets);
    ft->free_head = FLOW_NIL;
    for (int c = 0; c < FLOW_TC_MAX; c++)
        ft->lists[c].head = ft->lists[c].tail = FLOW_NIL;
    return ft;

fail:
    log_error("flow: cannot allocate a table of %u flows", cfg->max_flows);
    flow_table_free(ft);
    return NULL;
}

/* Frees the table and its pool. Stage state hung on live flows (dpi, app) is
 * not freed: flush first if it must be. */
void flow_table_free(struct flow_table *ft)
{
    if (ft == NULL)
        return;
    lw_table_free(ft->pool, pool_bytes(&ft->cfg));
    ft->pool = NULL;
    lw_table_free(ft->buckets, (size_t)ft->nbuckets * sizeof *ft->buckets);
    ft->buckets = NULL;
    free(ft);
}

const struct flow_stats *flow_table_stats(const struct flow_table *ft)
{
    return &ft->stats;
}

size_t flow_table_memsize(const struct flow_table *ft)
{
    size_t n = ft->cfg.max_flows ? ft->cfg.max_flows : 1;

    return sizeof *ft + n * sizeof *ft->pool + (size_t)ft->nbuckets * sizeof *ft->buckets;
}

/* ---- ending flows ------------------------------------------------------ */

/* Hands f to the end callback, then unlinks and recycles the entry. */
static void flow_end(struct flow_table *ft, struct flow *f, enum flow_end_reason why)
{
    uint32_t i = flow_idx(ft, f);

    f->end_reason = (uint8_t)why;
    if (ft->on_end)
        ft->on_end(f, ft->arg);
    hash_unlink(ft, f);
    list_unlink(ft, f);
    memset(f, 0, sizeof *f);
    f->lprev = f->lnext = FLOW_NIL;
    f->hnext = ft->free_head;
    ft->free_head = i;
    STATS_INC(ft->stats.ended[why]);
    STATS_SUB(ft->stats.active, 1);
}

static uint64_t flow_expiry(const struct flow_table *ft, const struct flow *f)
{
    return f->seen + (uint64_t)ft->cfg.timeout[f->tclass] * 1000000u;
}

/* The least recently seen flow, or NULL when the table is empty. */
static struct flow *flow_soonest(struct flow_table *ft)
{
    struct flow *best = NULL;
    uint64_t best_t = 0;

    for (int c = 0; c < FLOW_TC_MAX; c++) {
        struct flow *f;
        uint64_t t;

        if (ft->lists[c].head == FLOW_NIL)
            continue;
        f = &ft->pool[ft->lists[c].head];
        t = f->seen;
        if (best == NULL || t < best_t) {
            best = f;
            best_t = t;
        }
    }
    return best;
}

/* Lists are in order of seen (the capture clock never goes back), so each
 * walk stops at the first head that is still alive. */
void flow_table_set_clock(struct flow_table *ft, uint64_t now_usec)
{
    if (now_usec > ft->clock)
        ft->clock = now_usec;
}

size_t flow_table_expire(struct flow_table *ft, uint64_t now_usec)
{
    size_t n = 0;

    for (int c = 0; c < FLOW_TC_MAX; c++) {
        enum flow_end_reason why = c == FLOW_TC_CLOSED ? FLOW_END_TCP_CLOSED : FLOW_END_TIMEOUT;

        while (ft->lists[c].head != FLOW_NIL) {
            struct flow *f = &ft->pool[ft->lists[c].head];
            if (flow_expiry(ft, f) > now_usec)
                break;
            flow_end(ft, f, why);
            n++;
        }
    }
    return n;
}

/* Ends all flows, least recently seen first across the classes. */
size_t flow_table_flush(struct flow_table *ft, enum flow_end_reason why)
{
    struct flow *f;
    size_t n = 0;

    if ((unsigned)why > FLOW_END_SHUTDOWN)
        why = FLOW_END_SHUTDOWN;
    while ((f = flow_soonest(ft)) != NULL) {
        flow_end(ft, f, why);
        n++;
    }
    return n;
}

/* ---- TCP state and timeout class --------------------------------------- */

static enum flow_tclass flow_class(const struct flow *f)
{
    if (f->key.proto == IPPROTO_UDP_)
        return FLOW_TC_UDP;
    if (f->key.proto != IPPROTO_TCP_)
        return FLOW_TC_DEFAULT;
    switch (f->tcp_state) {
    case FLOW_TCP_ESTABLISHED:
        return FLOW_TC_ESTABLISHED;
    case FLOW_TCP_FIN_WAIT:
    case FLOW_TCP_CLOSED:
        return FLOW_TC_CLOSED;
    default:
        return FLOW_TC_NEW;
    }
}

/* Advances the TCP state for one packet whose flags are already ORed into
 * the flow. Teardown wins over everything; a SYN-less (mid-stream) flow, or
 * one whose SYN-ACK was missed, is established once both sides have spoken. */
static void flow_tcp_update(struct flow *f, uint8_t fl)
{
    int both_ways = f->pkts[0] > 0 && f->pkts[1] > 0;
    uint8_t s = f->tcp_state;

    if (fl & TH_RST)
        s = FLOW_TCP_CLOSED;
    else if (s == FLOW_TCP_CLOSED)
        ;
    else if ((f->tcp_flags_ts & TH_FIN) && (f->tcp_flags_tc & TH_FIN))
        s = FLOW_TCP_CLOSED;
    else if (fl & TH_FIN)
        s = FLOW_TCP_FIN_WAIT;
    else if (s == FLOW_TCP_FIN_WAIT)
        ;
    else if (fl & TH_SYN) {
        if (!(fl & TH_ACK) && s == FLOW_TCP_NONE)
            s = FLOW_TCP_SYN_SENT;
        else if ((fl & TH_ACK) && (s == FLOW_TCP_NONE || s == FLOW_TCP_SYN_SENT))
            s = FLOW_TCP_SYN_RECV;
    } else if (s == FLOW_TCP_SYN_SENT || s == FLOW_TCP_SYN_RECV) {
        if ((fl & TH_ACK) && both_ways)
            s = FLOW_TCP_ESTABLISHED;
    } else if (s == FLOW_TCP_NONE && both_ways) {
        s = FLOW_TCP_ESTABLISHED;
    }
    f->tcp_state = s;
}

/* ---- update path ------------------------------------------------------- */

/* Takes a free entry when the pool is full by evicting the least recently
 * seen flow: a flood of new flows (SYNs, DNS queries from random ports)
 * then cannot push out the conversations under way. Evicting by expiry
 * instead gave up every TCP flow in teardown (tcp-closed: 10 s) first and
 * split it before its last FIN. Returns NULL only for a zero-sized pool. */
static struct flow *flow_alloc(struct flow_table *ft)
{
    struct flow *f;

    if (ft->free_head == FLOW_NIL && ft->hiwater == ft->cfg.max_flows) {
        f = flow_soonest(ft);
        if (f == NULL)
            return NULL;
        flow_end(ft, f, FLOW_END_EVICTED);
    }
    if (ft->free_head != FLOW_NIL) {
        f = &ft->pool[ft->free_head];
        ft->free_head = f->hnext;
    } else {
        f = &ft->pool[ft->hiwater++];
    }
    return f;
}

static void flow_count_proto(struct flow_stats *st, uint8_t proto)
{
    switch (proto) {
    case IPPROTO_TCP_:   STATS_INC(st->tcp); break;
    case IPPROTO_UDP_:   STATS_INC(st->udp); break;
    case IPPROTO_ICMP_:  STATS_INC(st->icmpv4); break;
    case IPPROTO_ICMP6_: STATS_INC(st->icmpv6); break;
    default:             STATS_INC(st->other); break;
    }
}

/* Creates the flow of key k; a SYN-ACK seen first means the receiver is
 * the client, so the key is stored reversed (*rev set to 1). */
static struct flow *flow_create(struct flow_table *ft, const struct packet *p,
                                const struct flow_key *k, uint32_t h, int *rev)
{
    struct flow *f = flow_alloc(ft);
    uint32_t i, b;

    if (f == NULL)
        return NULL;
    f->key = *k;
    *rev = 0;
    if (k->proto == IPPROTO_TCP_ && (p->tcp_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
        key_reverse(&f->key);
        *rev = 1;
    }
    f->flow_id = flow_next_id(ft);
    f->first_ts = f->last_ts = p->ts;
    f->seen = p->ts > ft->clock ? p->ts : ft->clock;
    f->ip_version = p->ip_version;
    if (p->tunnel.depth > 0) {
        f->tunnel = p->tunnel;
        f->flags |= FLOW_F_TUNNEL;
    }
    if (k->proto == IPPROTO_TCP_ && !(p->tcp_flags & TH_SYN))
        f->flags |= FLOW_F_MIDSTREAM;
    if (k->proto == IPPROTO_ICMP_ || k->proto == IPPROTO_ICMP6_) {   /* the first packet's type and code */
        f->icmp_type = p->icmp_type;
        f->icmp_code = p->icmp_code;
    }
    f->hash = h;
    f->tclass = FLOW_TC_MAX;    /* on no list yet */
    f->lprev = f->lnext = FLOW_NIL;

    i = flow_idx(ft, f);
    b = h & ft->mask;
    f->hnext = ft->buckets[b];
    ft->buckets[b] = i;

    STATS_INC(ft->stats.created);
    STATS_INC(ft->stats.active);
    if (ft->stats.active > ft->stats.max_active)
        STATS_SET(ft->stats.max_active, ft->stats.active);
    flow_count_proto(&ft->stats, k->proto);
    return f;
}

/* Finds or creates the packet's flow and accounts the packet to it. Nothing
 * is allocated: new flows come from the pool. Returns NULL (counted) only
 * when the pool has no entries at all. */
struct flow *flow_table_update(struct flow_table *ft, struct packet *p)
{
    struct flow_key k;
    struct flow *f;
    uint32_t h;
    int rev = 0;
    uint8_t dir, tc;

    flow_key_from_packet(&k, p);
    h = flow_key_hash(&k);
    f = hash_find(ft, &k, h, &rev);
    if (f == NULL) {
        f = flow_create(ft, p, &k, h, &rev);
        if (f == NULL) {
            STATS_INC(ft->stats.lookups_failed_full);
            p->flow = NULL;
            p->dir = 0;
            return NULL;
        }
    }
    dir = (uint8_t)rev;
    p->flow = f;
    p->dir = dir;

    f->pkts[dir]++;
    f->bytes[dir] += p->wirelen;
    if (p->ts > f->last_ts)
        f->last_ts = p->ts;
    if (p->ts > ft->clock)
        ft->clock = p->ts;
    f->seen = ft->clock;
    if (dir) {
        f->flags |= FLOW_F_TOCLIENT_SEEN;
        f->tcp_flags_tc |= p->tcp_flags;
    } else {
        f->tcp_flags_ts |= p->tcp_flags;
    }
    if (f->key.proto == IPPROTO_TCP_)
        flow_tcp_update(f, p->tcp_flags);

    tc = (uint8_t)flow_class(f);
    if (tc != f->tclass) {
        if (f->tclass != FLOW_TC_MAX)
            list_unlink(ft, f);
        f->tclass = tc;
        list_append(ft, f);
    } else if (f->lnext != FLOW_NIL) {
        list_unlink(ft, f);
        list_append(ft, f);
    }
    return f;
}

struct flow *flow_table_lookup(struct flow_table *ft, const struct flow_key *k)
{
    int rev;

    return hash_find(ft, k, flow_key_hash(k), &rev);
}

const char *flow_tcp_state_name(enum flow_tcp_state s)
{
    switch (s) {
    case FLOW_TCP_NONE:        return "none";
    case FLOW_TCP_SYN_SENT:    return "syn_sent";
    case FLOW_TCP_SYN_RECV:    return "syn_recv";
    case FLOW_TCP_ESTABLISHED: return "established";
    case FLOW_TCP_FIN_WAIT:    return "fin_wait";
    case FLOW_TCP_CLOSED:      return "closed";
    }
    return "unknown";
}

const char *flow_end_reason_name(enum flow_end_reason r)
{
    switch (r) {
    case FLOW_END_NONE:       return "none";
    case FLOW_END_TIMEOUT:    return "timeout";
    case FLOW_END_TCP_CLOSED: return "tcp-closed";
    case FLOW_END_EVICTED:    return "evicted";
    case FLOW_END_SHUTDOWN:   return "shutdown";
    }
    return "unknown";
}

/* ---- counters (stats.flow.*) */

#define FLW(member, path, prom, label, help, kind) \
    { "flow/" path, prom, label, help, (uint32_t)offsetof(struct flow_stats, member), kind, STATS_SUM, 0, 0, NULL }
static const struct stats_field flow_fields[] = {
    FLW(created, "created", "linkwatch_flows_created_total", NULL, "Flows created.", STATS_COUNTER),
    FLW(active, "active", "linkwatch_flows_active", NULL, "Flows in the flow table.", STATS_GAUGE),
    FLW(max_active, "max_active", NULL, NULL, NULL, STATS_GAUGE),
    FLW(tcp, "tcp", "linkwatch_flows_by_protocol_total", "proto=tcp", "Flows created, by IP protocol.",
        STATS_COUNTER),
    FLW(udp, "udp", "linkwatch_flows_by_protocol_total", "proto=udp", NULL, STATS_COUNTER),
    FLW(icmpv4, "icmpv4", "linkwatch_flows_by_protocol_total", "proto=icmpv4", NULL, STATS_COUNTER),
    FLW(icmpv6, "icmpv6", "linkwatch_flows_by_protocol_total", "proto=icmpv6", NULL, STATS_COUNTER),
    FLW(other, "other", "linkwatch_flows_by_protocol_total", "proto=other", NULL, STATS_COUNTER),
    FLW(lookups_failed_full, "no_entry", "linkwatch_flows_no_entry_total", NULL,
        "Packets that found no flow entry even after eviction.", STATS_COUNTER),
    FLW(ended[FLOW_END_TIMEOUT], "end/timeout", "linkwatch_flows_ended_total", "reason=timeout",
        "Flows ended, by reason.", STATS_COUNTER),
    FLW(ended[FLOW_END_TCP_CLOSED], "end/tcp-closed", "linkwatch_flows_ended_total", "reason=tcp-closed", NULL,
        STATS_COUNTER),
    FLW(ended[FLOW_END_EVICTED], "end/evicted", "linkwatch_flows_ended_total", "reason=evicted", NULL,
        STATS_COUNTER),
    FLW(ended[FLOW_END_SHUTDOWN], "end/shutdown", "linkwatch_flows_ended_total", "reason=shutdown", NULL,
        STATS_COUNTER),
};
#undef FLW

const struct stats_module flow_stats_module = {
    "flow", flow_fields, STATS_NELEM(flow_fields), sizeof(struct flow_stats), NULL
};
