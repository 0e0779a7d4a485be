/* defrag.c - IPv4 and IPv6 fragment reassembly (see defrag.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "defrag.h"
#include "stats.h"
#include "util.h"

/* Largest unfragmentable part kept per datagram: an IPv4 header with options
 * (60) or an IPv6 header with a few extension headers. The output buffer has
 * this much room on top of max_datagram, so hdr_len + end always fits. */
#define DEFRAG_HDR_MAX 128
#define IPV4_HDR_MIN   20
#define IPV6_HDR_LEN   40
#define IP_MAX_LEN     65535u

/* A run of payload bytes held for a datagram. A tracker's pieces are sorted
 * by offset and never overlap: overlapping input is trimmed to the holes
 * before it is stored, which is what makes first-wins cheap. */
struct frag_piece {
    struct frag_piece *next;
    uint32_t off, len;
    uint8_t  data[];
};

/* One datagram being reassembled. Lives in the pool; linked into a hash
 * bucket and into the age list (oldest first) while in use, into the free
 * list (through newer) otherwise. */
struct frag_tracker {
    struct frag_key key;            /* normalised: padding and unused bytes zero */
    struct frag_tracker *hnext;     /* bucket chain */
    struct frag_tracker **hprev;    /* link that points at us */
    struct frag_tracker *older, *newer;
    struct frag_piece *pieces;
    uint64_t first_ts;              /* capture time of the first fragment seen */
    uint32_t held;                  /* payload bytes held */
    uint32_t hi;                    /* end of the highest byte held */
    uint32_t end;                   /* datagram payload length, once the last fragment is seen */
    uint16_t hdr_len, nh_off;
    uint8_t  has_last, has_hdr;
    uint8_t  hdr[DEFRAG_HDR_MAX];   /* from the offset-0 fragment */
};

struct defrag {
    struct frag_tracker *pool;
    struct frag_tracker *free_list;
    struct frag_tracker **buckets;
    struct frag_tracker *oldest, *newest;
    uint64_t seed;
    uint64_t memcap, memuse;
    uint64_t timeout_usec;
    uint32_t nbuckets;              /* power of two */
    uint32_t max_trackers, ntrackers;
    uint32_t max_datagram;          /* largest payload end accepted, <= 65535 */
    uint8_t *out;                   /* max_datagram + DEFRAG_HDR_MAX bytes */
    uint8_t nev;                    /* events of the fragment defrag_add() took last */
    uint8_t ev[DEFRAG_MAX_EVENTS];
};

/* Counts ev, an event of the fragment being added, and keeps it for
 * defrag_events(). */
static void frag_event(struct defrag *d, struct decode_stats *st, enum decode_event ev)
{
    STATS_INC(st->event[ev]);
    if (d->nev < DEFRAG_MAX_EVENTS)
        d->ev[d->nev++] = (uint8_t)ev;
}

size_t defrag_events(const struct defrag *d, const uint8_t **ev)
{
    *ev = d->ev;
    return d->nev;
}

/* What adding a fragment to a tracker would do, worked out before any change. */
struct frag_scan {
    uint64_t need;                  /* bytes to allocate for the holes it fills */
    uint32_t fresh;                 /* payload bytes it adds */
    int      overlap;               /* some of its bytes are held already */
    int      same;                  /* every held byte it covers is equal to its own */
};

static uint64_t defrag_seed(void)
{
    uint64_t s;

    if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s)
        s = lw_now_real_usec() ^ lw_now_mono_usec() << 20;
    return s;
}

/* Creates a table bounded by cfg (copied). The tracker pool, hash buckets and
 * output buffer are all allocated here, so defrag_add() only allocates the
 * fragment bytes it holds. Returns NULL when memory cannot be had. */
struct defrag *defrag_new(const struct defrag_config *cfg)
{
    struct defrag *d;
    uint32_t i;

    if ((d = calloc(1, sizeof *d)) == NULL)
        return NULL;
    d->max_trackers = cfg->max_trackers ? cfg->max_trackers : 1;
    d->memcap = cfg->memcap;
    d->timeout_usec = (uint64_t)cfg->timeout_sec * 1000000u;
    d->max_datagram = cfg->max_datagram && cfg->max_datagram < IP_MAX_LEN ?
                      cfg->max_datagram : IP_MAX_LEN;
    d->seed = defrag_seed();
    d->nbuckets = 16;
    while (d->nbuckets < d->max_trackers * 2ull && d->nbuckets < (1u << 31))
        d->nbuckets <<= 1;

    d->pool = calloc(d->max_trackers, sizeof *d->pool);
    d->buckets = calloc(d->nbuckets, sizeof *d->buckets);
    d->out = malloc((size_t)d->max_datagram + DEFRAG_HDR_MAX);
    if (d->pool == NULL || d->buckets == NULL || d->out == NULL)
        goto fail;
    for (i = d->max_trackers; i > 0; i--) {
        d->pool[i - 1].newer = d->free_list;
        d->free_list = &d->pool[i - 1];
    }
    return d;

fail:
    defrag_free(d);
    return NULL;
}

static void tracker_free_pieces(struct defrag *d, struct frag_tracker *t)
{
    struct frag_piece *p, *next;

    for (p = t->pieces; p != NULL; p = next) {
        next = p->next;
        d->memuse -= sizeof *p + p->len;
        free(p);
    }
    t->pieces = NULL;
}

/* Frees the table and every fragment it holds. */
void defrag_free(struct defrag *d)
{
    uint32_t i;

    if (d == NULL)
        return;
    if (d->pool != NULL)
        for (i = 0; i < d->max_trackers; i++)
            tracker_free_pieces(d, &d->pool[i]);
    free(d->pool);
    d->pool = NULL;
    free(d->buckets);
    d->buckets = NULL;
    free(d->out);
    d->out = NULL;
    free(d);
}

uint64_t defrag_memuse(const struct defrag *d)
{
    return d->memuse;
}

uint32_t defrag_trackers(const struct defrag *d)
{
    return d->ntrackers;
}

/* Copies the fields that identify a datagram, so that padding and the
 * unused bytes of an IPv4 address cannot make two keys differ. */
static void key_normalise(struct frag_key *dst, const struct frag_key *src)
{
    memset(dst, 0, sizeof *dst);
    dst->src.family = src->src.family;
    dst->dst.family = src->dst.family;
    memcpy(dst->src.u.b, src->src.u.b, src->ip_version == 4 ? 4 : 16);
    memcpy(dst->dst.u.b, src->dst.u.b, src->ip_version == 4 ? 4 : 16);
    dst->id = src->id;
    dst->proto = src->proto;
    dst->ip_version = src->ip_version;
    memcpy(dst->vlan, src->vlan, sizeof dst->vlan);
    dst->tunnel_id = src->tunnel_id;
}

static int key_equal(const struct frag_key *a, const struct frag_key *b)
{
    return a->id == b->id && a->proto == b->proto &&
           a->ip_version == b->ip_version && a->tunnel_id == b->tunnel_id &&
           a->vlan[0] == b->vlan[0] && a->vlan[1] == b->vlan[1] &&
           a->src.family == b->src.family && a->dst.family == b->dst.family &&
           memcmp(a->src.u.b, b->src.u.b, 16) == 0 &&
           memcmp(a->dst.u.b, b->dst.u.b, 16) == 0;
}

/* Seeded so that an attacker cannot aim fragments at one bucket. */
static uint32_t key_bucket(const struct defrag *d, const struct frag_key *k)
{
    uint64_t w[4], h;
    int i;

    memcpy(&w[0], k->src.u.b, 8);
    memcpy(&w[1], k->src.u.b + 8, 8);
    memcpy(&w[2], k->dst.u.b, 8);
    memcpy(&w[3], k->dst.u.b + 8, 8);
    h = lw_mix64(d->seed ^ k->id ^ (uint64_t)k->proto << 32 ^
                 (uint64_t)k->ip_version << 40 ^ (uint64_t)k->tunnel_id << 48);
    h = lw_mix64(h ^ k->tunnel_id ^ (uint64_t)k->vlan[0] << 32 ^ (uint64_t)k->vlan[1] << 48);
    for (i = 0; i < 4; i++)
        h = lw_mix64(h ^ w[i]);
    return (uint32_t)h & (d->nbuckets - 1);
}

/* Unlinks t from its bucket and the age list, frees its fragments and puts
 * it back into the pool. */
static void tracker_release(struct defrag *d, struct frag_tracker *t)
{
    tracker_free_pieces(d, t);
    *t->hprev = t->hnext;
    if (t->hnext != NULL)
        t->hnext->hprev = t->hprev;
    if (t->older != NULL)
        t->older->newer = t->newer;
    else
        d->oldest = t->newer;
    if (t->newer != NULL)
        t->newer->older = t->older;
    else
        d->newest = t->older;
    memset(t, 0, sizeof *t);
    t->newer = d->free_list;
    d->free_list = t;
    d->ntrackers--;
}

static int tracker_expired(const struct defrag *d, const struct frag_tracker *t,
                           uint64_t now)
{
    return now > t->first_ts && now - t->first_ts > d->timeout_usec;
}

/* Walks the age list from the oldest end, so it costs one look when nothing
 * is due. Timestamps that run backwards only delay an expiry. */
void defrag_expire(struct defrag *d, struct decode_stats *st, uint64_t now_usec)
{
    while (d->oldest != NULL && tracker_expired(d, d->oldest, now_usec)) {
        tracker_release(d, d->oldest);
        STATS_INC(st->event[DE_FRAG_TIMEOUT]);
    }
}

/* Finds the live tracker for k; one found expired at ts is dropped (and
 * counted) as if defrag_expire() had run. */
static struct frag_tracker *tracker_lookup(struct defrag *d, struct decode_stats *st,
                                           const struct frag_key *k, uint32_t b,
                                           uint64_t ts)
{
    struct frag_tracker *t;

    for (t = d->buckets[b]; t != NULL; t = t->hnext) {
        if (!key_equal(&t->key, k))
            continue;
        if (tracker_expired(d, t, ts)) {
            tracker_release(d, t);
            STATS_INC(st->event[DE_FRAG_TIMEOUT]);
            return NULL;
        }
        return t;
    }
    return NULL;
}

/* Takes a tracker from the pool for k. When the pool is empty the oldest
 * datagram makes room: as a timeout if it is due anyway, else counted as
 * table_full. Never fails. */
static struct frag_tracker *tracker_create(struct defrag *d, struct decode_stats *st,
                                           const struct frag_key *k, uint32_t b,
                                           uint64_t ts)
{
    struct frag_tracker *t;

    if (d->free_list == NULL) {
        if (tracker_expired(d, d->oldest, ts)) {
            STATS_INC(st->event[DE_FRAG_TIMEOUT]);
        } else {
            STATS_INC(st->event[DE_FRAG_TABLE_FULL]);
        }
        tracker_release(d, d->oldest);
    }
    t = d->free_list;
    d->free_list = t->newer;
    memset(t, 0, sizeof *t);
    t->key = *k;
    t->first_ts = ts;

    t->hnext = d->buckets[b];
    if (t->hnext != NULL)
        t->hnext->hprev = &t->hnext;
    t->hprev = &d->buckets[b];
    d->buckets[b] = t;

    t->older = d->newest;
    if (d->newest != NULL)
        d->newest->newer = t;
    else
        d->oldest = t;
    d->newest = t;
    d->ntrackers++;
    return t;
}

/* Checks a fragment on its own, before any tracker is touched. Returns the
 * event that refuses it, or DE_MAX when it is acceptable. */
static enum decode_event frag_check(const struct defrag *d, const struct frag_key *key,
                                    const uint8_t *hdr, uint32_t hdr_len, uint32_t nh_off,
                                    uint32_t offset, uint32_t len, int more)
{
    uint32_t min_hdr = key->ip_version == 4 ? IPV4_HDR_MIN : IPV6_HDR_LEN;

    if (key->ip_version != 4 && key->ip_version != 6)
        return DE_FRAG_BAD_LEN;
    if (len == 0 || offset % 8 != 0 || (more && len % 8 != 0))
        return DE_FRAG_BAD_LEN;
    if (offset == 0 && (hdr == NULL || hdr_len < min_hdr ||
                        (key->ip_version == 6 && nh_off >= hdr_len)))
        return DE_FRAG_BAD_LEN;
    if (offset == 0 && hdr_len > DEFRAG_HDR_MAX)
        return DE_FRAG_TOO_LARGE;
    if (offset > d->max_datagram || len > d->max_datagram - offset)
        return DE_FRAG_TOO_LARGE;
    return DE_MAX;
}

/* Whether a payload of end bytes behind a header of hdr_len would overflow
 * the 16-bit IP length field (IPv4 total length, IPv6 payload length). */
static int ip_len_overflows(uint8_t version, uint32_t hdr_len, uint32_t end)
{
    if (version == 4)
        return hdr_len + end > IP_MAX_LEN;
    return hdr_len - IPV6_HDR_LEN + end > IP_MAX_LEN;
}

/* Compares [off, off+len) of the fragment against what t holds and sizes the
 * holes it would fill. Changes nothing. */
static void frag_scan(const struct frag_tracker *t, const uint8_t *frag,
                      uint32_t off, uint32_t len, struct frag_scan *s)
{
    const struct frag_piece *p;
    uint32_t pos = off, fend = off + len, pend, lo, hi;

    memset(s, 0, sizeof *s);
    s->same = 1;
    for (p = t->pieces; p != NULL && p->off < fend && pos < fend; p = p->next) {
        pend = p->off + p->len;
        if (pend <= pos)
            continue;
        if (p->off > pos) {
            s->need += sizeof(struct frag_piece) + (p->off - pos);
            s->fresh += p->off - pos;
        }
        lo = p->off > pos ? p->off : pos;
        hi = pend < fend ? pend : fend;
        s->overlap = 1;
        if (memcmp(p->data + (lo - p->off), frag + (lo - off), hi - lo) != 0)
            s->same = 0;
        pos = hi;
    }
    if (pos < fend) {
        s->need += sizeof(struct frag_piece) + (fend - pos);
        s->fresh += fend - pos;
    }
}

static struct frag_piece *piece_new(struct defrag *d, const uint8_t *bytes,
                                    uint32_t off, uint32_t len)
{
    struct frag_piece *p;

    if ((p = malloc(sizeof *p + len)) == NULL)
        return NULL;
    p->next = NULL;
    p->off = off;
    p->len = len;
    memcpy(p->data, bytes, len);
    d->memuse += sizeof *p + len;
    return p;
}

/* Stores the bytes of [off, off+len) that t does not hold yet, as new pieces
 * in the holes: first wins. Returns 0, or -1 when malloc fails (what was
 * stored before the failure stays, consistent). */
static int frag_fill(struct defrag *d, struct frag_tracker *t, const uint8_t *frag,
                     uint32_t off, uint32_t len)
{
    struct frag_piece **link = &t->pieces, *p, *n;
    uint32_t pos = off, fend = off + len, gap_end;

    while (pos < fend) {
        p = *link;
        if (p != NULL && p->off + p->len <= pos) {
            link = &p->next;
            continue;
        }
        if (p != NULL && p->off <= pos) {
            pos = p->off + p->len;
            link = &p->next;
            continue;
        }
        gap_end = p != NULL && p->off < fend ? p->off : fend;
        if ((n = piece_new(d, frag + (pos - off), pos, gap_end - pos)) == NULL)
            return -1;
        n->next = p;
        *link = n;
        link = &n->next;
        t->held += gap_end - pos;
        if (gap_end > t->hi)
            t->hi = gap_end;
        pos = gap_end;
    }
    return 0;
}

/* RFC 1071 checksum over an IPv4 header whose checksum field is zero. */
static uint16_t ipv4_checksum(const uint8_t *h, uint32_t len)
{
    uint32_t sum = 0, i;

    for (i = 0; i + 1 < len; i += 2)
        sum += lw_get16(h + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Rewrites the IP header at the start of d->out, which holds hl header
 * bytes and end payload bytes, as that of a whole packet. Returns the
 * datagram's length. */
static uint32_t dgram_finish(struct defrag *d, uint8_t version, uint8_t proto,
                             uint32_t hl, uint32_t nh_off, uint32_t end)
{
    uint8_t *o = d->out;

    if (version == 4) {
        put16(o + 2, hl + end);
        o[6] &= 0xc0;               /* keep DF and the reserved bit, clear MF */
        o[7] = 0;
        o[10] = o[11] = 0;
        put16(o + 10, ipv4_checksum(o, hl));
    } else {
        o[nh_off] = proto;
        put16(o + 4, hl - IPV6_HDR_LEN + end);
    }
    return hl + end;
}

/* Writes t's datagram into d->out. Returns its length. t must be complete. */
static uint32_t tracker_build(struct defrag *d, const struct frag_tracker *t)
{
    const struct frag_piece *p;

    memcpy(d->out, t->hdr, t->hdr_len);
    for (p = t->pieces; p != NULL; p = p->next)
        memcpy(d->out + t->hdr_len + p->off, p->data, p->len);
    return dgram_finish(d, t->key.ip_version, t->key.proto, t->hdr_len, t->nh_off, t->end);
}

static void count_reassembled(struct decode_stats *st, uint8_t version)
{
    if (version == 4)
        STATS_INC(st->reassembled_ipv4);
    else
        STATS_INC(st->reassembled_ipv6);
}

/* An IPv6 atomic fragment (offset 0, no more) is a whole datagram; RFC 6946
 * wants it handled on its own, apart from any other fragment with its id. */
static int frag_atomic(struct defrag *d, struct decode_stats *st, const struct frag_key *k,
                       const uint8_t *hdr, uint32_t hl, uint32_t nh_off,
                       const uint8_t *frag, uint32_t len,
                       const uint8_t **out, uint32_t *out_len)
{
    if (ip_len_overflows(k->ip_version, hl, len)) {
        frag_event(d, st, DE_FRAG_TOO_LARGE);
        return -1;
    }
    memcpy(d->out, hdr, hl);
    memcpy(d->out + hl, frag, len);
    *out = d->out;
    *out_len = dgram_finish(d, k->ip_version, k->proto, hl, nh_off, len);
    count_reassembled(st, k->ip_version);
    return 1;
}

/* Checks a fragment against what t already knows of the datagram's end:
 * once the last fragment is seen nothing may reach past it, and a last
 * fragment may not end before bytes already held. */
static int frag_end_consistent(const struct frag_tracker *t, uint32_t fend, int more)
{
    if (t->has_last)
        return fend <= t->end && (more || fend == t->end);
    return more || fend >= t->hi;
}

/* Accounts for and applies the overlap policy. Returns 1 when the fragment
 * should be stored (its new bytes, if any), 0 when it is a harmless
 * duplicate, -1 when the datagram was dropped (IPv6). */
static int frag_overlap_policy(struct defrag *d, struct decode_stats *st,
                               struct frag_tracker *t, const struct frag_scan *s)
{
    if (!s->overlap)
        return 1;
    frag_event(d, st, DE_FRAG_OVERLAP);
    if (t->key.ip_version == 4)
        return 1;
    /* RFC 8200 4.5 lets exact duplicates through: a SPAN port that copies
     * each packet twice must not kill every IPv6 datagram. */
    if (s->same && s->fresh == 0)
        return 0;
    tracker_release(d, t);
    return -1;
}

/* Once the end and the header are known and the pieces, which never
 * overlap, add up to the end, there is no hole left: the datagram is built
 * and its tracker freed. Returns 1 then, 0 while it is incomplete. */
static int tracker_complete(struct defrag *d, struct decode_stats *st,
                            struct frag_tracker *t, const uint8_t **out, uint32_t *out_len)
{
    if (!t->has_last || !t->has_hdr || t->held != t->end)
        return 0;
    *out = d->out;
    *out_len = tracker_build(d, t);
    count_reassembled(st, t->key.ip_version);
    tracker_release(d, t);
    return 1;
}

static int refuse(struct defrag *d, struct decode_stats *st, struct frag_tracker *t,
                  enum decode_event ev)
{
    frag_event(d, st, ev);
    if (t != NULL && t->pieces == NULL)
        tracker_release(d, t);
    return -1;
}

/* See defrag.h. The fragment is checked on its own first, then against its
 * datagram; every refusal names its reason in st->event[] (st->invalid is the
 * caller's). A datagram whose end would exceed the limits is dropped whole. */
int defrag_add(struct defrag *d, struct decode_stats *st, const struct frag_key *key,
               const uint8_t *hdr, uint32_t hdr_len, uint32_t nh_off,
               const uint8_t *frag, uint32_t offset, uint32_t len, int more,
               uint64_t ts_usec, const uint8_t **out, uint32_t *out_len)
{
    struct frag_key k;
    struct frag_tracker *t;
    struct frag_scan s;
    enum decode_event ev;
    uint32_t b, fend = offset + len, hl, top;
    int r;

    d->nev = 0;
    ev = frag_check(d, key, hdr, hdr_len, nh_off, offset, len, more);
    key_normalise(&k, key);
    b = key_bucket(d, &k);
    t = tracker_lookup(d, st, &k, b, ts_usec);
    if (ev == DE_FRAG_TOO_LARGE && t != NULL)
        tracker_release(d, t);
    if (ev != DE_MAX)
        return refuse(d, st, NULL, ev);
    if (k.ip_version == 6 && offset == 0 && !more)
        return frag_atomic(d, st, &k, hdr, hdr_len, nh_off, frag, len, out, out_len);

    if (t == NULL)
        t = tracker_create(d, st, &k, b, ts_usec);
    hl = t->has_hdr ? t->hdr_len : offset == 0 ? hdr_len : 0;
    top = fend > t->hi ? fend : t->hi;
    if (hl != 0 && ip_len_overflows(k.ip_version, hl, top)) {
        frag_event(d, st, DE_FRAG_TOO_LARGE);
        tracker_release(d, t);
        return -1;
    }
    frag_scan(t, frag, offset, len, &s);
    if (!frag_end_consistent(t, fend, more)) {
        /* Its bytes may still overlap held ones: that is reported too, as
         * Suricata looks at overlap before it looks at the datagram's end
         * (suricata-verify ipv6-malformed-fragments-29: a 1-byte last
         * fragment at offset 8 of a datagram already 808 bytes long). */
        if (s.overlap)
            frag_event(d, st, DE_FRAG_OVERLAP);
        return refuse(d, st, t, DE_FRAG_BAD_LEN);
    }
    if ((r = frag_overlap_policy(d, st, t, &s)) < 0)
        return -1;
    if (d->memuse + s.need > d->memcap) {
        /* Due trackers give their bytes back before a fragment is refused. */
        defrag_expire(d, st, ts_usec);
        if (d->memuse + s.need > d->memcap)
            return refuse(d, st, t, DE_FRAG_MEMCAP);
    }
    if (r > 0 && frag_fill(d, t, frag, offset, len) < 0)
        return refuse(d, st, t, DE_FRAG_MEMCAP);

    if (offset == 0 && !t->has_hdr) {
        memcpy(t->hdr, hdr, hdr_len);
        t->hdr_len = (uint16_t)hdr_len;
        t->nh_off = (uint16_t)nh_off;
        t->has_hdr = 1;
    }
    if (!more && !t->has_last) {
        t->end = fend;
        t->has_last = 1;
    }
    return tracker_complete(d, st, t, out, out_len);
}
