/* stream.c - TCP stream reassembly for detection; see stream.h for the policy. */
#include <stdlib.h>
#include <string.h>

#include "slab.h"
#include "stream.h"
#include "util.h"

#define STREAM_MIN_BUF      2048u   /* smallest buffer; sizes double from here */
#define STREAM_MIN_PHYS     256u    /* smallest room a slab-backed buffer starts with */
#define STREAM_CLASSES      20      /* up to 2 KiB << 19 = 1 GiB */
#define STREAM_CACHE_MAX    32      /* released buffers kept per size class */
#define STREAM_STATE_CACHE  1024    /* released flow states kept */
/* An ACK further than this past `next' is not believed (a bogus or
 * unrelated number, not a loss). */
#define STREAM_MAX_ACK_JUMP (1u << 30)
/* Slots of the handshake cache (a power of two). */
#define STREAM_SYN_SLOTS    4096u

enum { SD_NONE = 0, SD_OPEN, SD_DONE };

#define SDF_SYN     0x01u   /* started from the SYN */
#define SDF_FIN     0x02u   /* fin_off is valid */
#define SDF_DEPTH   0x04u   /* stopped at depth */
#define SDF_DIRECT  0x08u   /* the chunk points into the packet: no buffer */
#define SDF_EXACT   0x10u   /* the chunk's new data is the packet's whole payload */

struct stream_range {
    uint64_t lo, hi;
};

/* One direction. The buffer holds stream offsets [buf_off, buf_off + cap):
 * every byte of [buf_off, next) (history, then this packet's new data) and
 * the held ranges r[0..nr), sorted, disjoint, all above next. A direction
 * is on the context's LRU list exactly while it holds a buffer. */
struct stream_dir {
    struct stream_dir *lprev, *lnext;
    uint8_t *buf;
    uint64_t buf_off;
    uint32_t cap;            /* its class's size: what it may hold (buf_phys(): what it has room for) */
    uint8_t  cls;            /* size class of buf */
    uint8_t  state;          /* SD_* */
    uint8_t  flags;          /* SDF_* */
    uint8_t  nr;
    uint8_t  used;           /* given data since the eviction sweep passed (CLOCK) */
    uint8_t  ev;             /* STREAM_EV_* of the packet of `stamp' */
    uint16_t room;           /* buf_phys() of buf in 256-byte units, rounded down (at most
                              * 0xffff): what dir_phys_room() knows without asking the slab */
    uint32_t base_seq;       /* sequence number of stream offset 0 */
    uint32_t chunk_hist;     /* history bytes before chunk_lo offered to detection */
    uint32_t window;         /* cfg.window, for stream_chunk() */
    uint64_t next;           /* in-order end */
    uint64_t fin_off;
    uint64_t ack_to;         /* the peer acknowledged up to here */
    uint64_t stamp;          /* f->pkts[dir] of the packet the chunk belongs to */
    uint64_t chunk_lo;       /* this packet's new in-order data: [chunk_lo, next) */
    const uint8_t *direct;   /* SDF_DIRECT: the new data, in the packet */
    struct stream_range r[STREAM_MAX_RANGES];
};

struct stream_flow {
    struct stream_dir d[2];
    struct stream_flow *free_next;
    uint8_t rst_ok;              /* an RST was accepted (on_rst) */
    uint8_t rst_inject;          /* suspected_rst_inject was reported (once per flow) */
};

/* The ISNs of a flow whose handshake went by before any data, so that the
 * first data segment may come out of order without state per handshake:
 * one direct-mapped slot per flow id, overwritten by later handshakes. */
/* f->hs_ev: an RST came before the flow had stream state (and was not
 * refused for its timestamp), kept for suspected_rst_inject. */
#define HS_RST_TAKEN 0x80u

struct syn_slot {
    uint64_t flow_id;
    uint32_t isn[2];
    uint8_t  have;               /* bit per direction: isn[d] is set */
    uint8_t  syn_only;           /* bit per direction: its SYN had no ACK (the opener's) */
    uint8_t  ts;                 /* bit per direction: its SYN carried a timestamp */
    uint32_t tsval[2];           /* the SYN's timestamp value */
};

struct stream_ctx {
    struct stream_config cfg;
    struct lw_slab *slab;                    /* NULL: malloc */
    struct stream_stats st;
    struct stream_dir *lru_head, *lru_tail;   /* head: least recently given data */
    uint8_t *cache[STREAM_CLASSES];          /* released buffers, linked through their first bytes */
    uint32_t ncache[STREAM_CLASSES];
    struct stream_flow *free_states;
    uint32_t nfree_states;
    struct syn_slot syn[STREAM_SYN_SLOTS];
};

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static inline size_t class_size(unsigned cls)
{
    return (size_t)STREAM_MIN_BUF << cls;
}

/* ================================================================== memory */

/* Blocks from the worker's slab when there is one (a buffer larger than
 * the slab serves from malloc); lw_slab_release() frees either. */
static void *mem_get(const struct stream_ctx *s, size_t n)
{
    if (s->slab && n <= LW_SLAB_MAX)
        return lw_slab_alloc(s->slab, n);
    return malloc(n);
}

static void mem_add(struct stream_ctx *s, uint64_t n)
{
    STATS_ADD(s->st.memuse, n);
    if (s->st.memuse > s->st.memuse_max)
        STATS_SET(s->st.memuse_max, s->st.memuse);
}

static void mem_sub(struct stream_ctx *s, uint64_t n)
{
    STATS_SUB(s->st.memuse, n);
}

static void lru_unlink(struct stream_ctx *s, struct stream_dir *d)
{
    if (d->lprev)
        d->lprev->lnext = d->lnext;
    else
        s->lru_head = d->lnext;
    if (d->lnext)
        d->lnext->lprev = d->lprev;
    else
        s->lru_tail = d->lprev;
    d->lprev = d->lnext = NULL;
}

static void lru_append(struct stream_ctx *s, struct stream_dir *d)
{
    d->lnext = NULL;
    d->lprev = s->lru_tail;
    if (s->lru_tail)
        s->lru_tail->lnext = d;
    else
        s->lru_head = d;
    s->lru_tail = d;
}

/* Marks d used. The list is kept in CLOCK order (second chance) rather
 * than strict LRU: relinking on every packet would write to two other
 * flows' states, cache misses the hot path need not pay. */
static inline void lru_touch(struct stream_dir *d)
{
    d->used = 1;
}

/* Frees one cached buffer or flow state. Returns 0 when there was none. */
static int cache_drop_one(struct stream_ctx *s)
{
    for (int c = STREAM_CLASSES - 1; c >= 0; c--) {
        uint8_t *b = s->cache[c];

        if (b == NULL)
            continue;
        memcpy(&s->cache[c], b, sizeof(uint8_t *));   /* the free list link lives in the buffer */
        s->ncache[c]--;
        lw_slab_release(b);
        mem_sub(s, class_size((unsigned)c));
        return 1;
    }
    if (s->free_states) {
        struct stream_flow *sf = s->free_states;

        s->free_states = sf->free_next;
        s->nfree_states--;
        lw_slab_release(sf);
        mem_sub(s, sizeof *sf);
        return 1;
    }
    return 0;
}

static void buf_put(struct stream_ctx *s, uint8_t *b, unsigned cls)
{
    if (s->ncache[cls] < STREAM_CACHE_MAX) {
        memcpy(b, &s->cache[cls], sizeof(uint8_t *));
        s->cache[cls] = b;
        s->ncache[cls]++;
        return;
    }
    lw_slab_release(b);
    mem_sub(s, class_size(cls));
}

/* Drops d's buffer and held ranges; its sequence tracking stays. */
static void dir_release(struct stream_ctx *s, struct stream_dir *d)
{
    if (d->buf) {
        lru_unlink(s, d);
        buf_put(s, d->buf, d->cls);
        d->buf = NULL;
        d->cap = 0;
        d->room = 0;
    }
    d->nr = 0;
    d->buf_off = d->next;
}

/* Makes room for n more bytes under memcap: caches first, then the buffers
 * of the directions least recently given data, never keep's. The head of
 * the list is the oldest; one given data since it was last passed over
 * goes to the tail instead (CLOCK), so each call ends within two rounds.
 * Returns 0, or -1 when even that is not enough. */
static int mem_reserve(struct stream_ctx *s, uint64_t n, const struct stream_dir *keep)
{
    while (s->st.memuse + n > s->cfg.memcap) {
        struct stream_dir *v = s->lru_head;

        if (cache_drop_one(s))
            continue;
        if (v != NULL && v == keep)
            v = v->lnext;
        if (v == NULL)
            return -1;
        if (v->used && v->lnext) {
            v->used = 0;
            lru_unlink(s, v);
            lru_append(s, v);
            continue;
        }
        dir_release(s, v);
        STATS_INC(s->st.evictions);
    }
    return 0;
}

/* With a slab a buffer holds only the memory its bytes need, and grows
 * (dir_phys_room()) up to its class size: memcap and the counters still
 * count whole classes, so what is kept, evicted and compared is the same
 * as with whole buffers; only the resident memory differs. Without one (or
 * past what a slab serves) a buffer is its whole class. */
static size_t buf_phys(const struct stream_ctx *s, const uint8_t *b, unsigned cls)
{
    if (s->slab && lw_slab_owns(s->slab, b))
        return lw_slab_size(s->slab, b);
    return class_size(cls);
}

static size_t buf_first_size(const struct stream_ctx *s, unsigned cls, uint64_t want)
{
    size_t whole = class_size(cls);

    if (!s->slab || whole > LW_SLAB_MAX)
        return whole;
    if (want < STREAM_MIN_PHYS)
        want = STREAM_MIN_PHYS;
    return want < whole ? (size_t)want : whole;
}

/* A buffer of class cls with room for want bytes, from the cache or new.
 * NULL when memcap (or memory) says no. */
static uint8_t *buf_get(struct stream_ctx *s, unsigned cls, uint64_t want, const struct stream_dir *keep)
{
    uint8_t *b = s->cache[cls];

    if (b) {
        memcpy(&s->cache[cls], b, sizeof(uint8_t *));
        s->ncache[cls]--;
        if (buf_phys(s, b, cls) < want) {
            uint8_t *nb = lw_slab_realloc(s->slab, b, buf_first_size(s, cls, want));

            if (nb == NULL) {
                buf_put(s, b, cls);
                return NULL;
            }
            b = nb;
        }
        return b;
    }
    if (mem_reserve(s, class_size(cls), keep) < 0)
        return NULL;
    b = mem_get(s, buf_first_size(s, cls, want));
    if (b)
        mem_add(s, class_size(cls));
    return b;
}

/* d->room for d's buffer (a new one, or one that grew). */
static void dir_room_set(const struct stream_ctx *s, struct stream_dir *d)
{
    size_t u = buf_phys(s, d->buf, d->cls) >> 8;

    d->room = u > 0xffff ? 0xffff : (uint16_t)u;
}

/* Room in d's buffer for n bytes from buf_off: grows it (doubling, up to
 * its class) when it holds less. Returns 0, or -1 when memory is out. */
static int dir_phys_room(struct stream_ctx *s, struct stream_dir *d, uint64_t n)
{
    uint64_t have, want;
    uint8_t *nb;

    if (n <= (uint64_t)d->room << 8)    /* most packets: known without the slab */
        return 0;
    have = buf_phys(s, d->buf, d->cls);
    if (n <= have)
        return 0;
    want = have * 2;
    if (want < n)
        want = n;
    if (want > d->cap)
        want = d->cap;
    if ((nb = lw_slab_realloc(s->slab, d->buf, (size_t)want)) == NULL)
        return -1;
    d->buf = nb;
    dir_room_set(s, d);
    return 0;
}

static struct stream_flow *state_get(struct stream_ctx *s)
{
    struct stream_flow *sf = s->free_states;

    if (sf) {
        s->free_states = sf->free_next;
        s->nfree_states--;
    } else {
        if (mem_reserve(s, sizeof *sf, NULL) < 0 || (sf = mem_get(s, sizeof *sf)) == NULL)
            return NULL;
        mem_add(s, sizeof *sf);
    }
    memset(sf, 0, sizeof *sf);
    return sf;
}

/* ================================================================== context */

struct stream_ctx *stream_ctx_new(const struct stream_config *cfg)
{
    struct stream_ctx *s = calloc(1, sizeof *s);

    if (s == NULL)
        return NULL;
    s->cfg = *cfg;
    return s;
}

void stream_ctx_set_slab(struct stream_ctx *s, struct lw_slab *slab)
{
    s->slab = slab;
}

void stream_ctx_free(struct stream_ctx *s)
{
    if (s == NULL)
        return;
    while (cache_drop_one(s))
        ;
    free(s);
}

const struct stream_stats *stream_ctx_stats(const struct stream_ctx *s)
{
    return &s->st;
}

void stream_flow_free(struct stream_ctx *s, struct flow *f)
{
    struct stream_flow *sf = f->stream;

    if (sf == NULL)
        return;
    dir_release(s, &sf->d[0]);
    dir_release(s, &sf->d[1]);
    f->stream = NULL;
    if (s->nfree_states < STREAM_STATE_CACHE) {
        sf->free_next = s->free_states;
        s->free_states = sf;
        s->nfree_states++;
        return;
    }
    lw_slab_release(sf);
    mem_sub(s, sizeof *sf);
}

/* ================================================================== one direction */

/* (Re)starts d with stream offset 0 at sequence number base. */
static void dir_start(struct stream_ctx *s, struct stream_dir *d, uint32_t base, uint8_t flags)
{
    dir_release(s, d);
    d->state = SD_OPEN;
    d->flags = flags;
    d->base_seq = base;
    d->next = d->buf_off = d->chunk_lo = 0;
    d->fin_off = d->ack_to = 0;
}

/* The stream offset of seq, taken as the nearest to next (so sequence
 * numbers wrap). Negative: before the stream start. */
static int64_t seq_off(const struct stream_dir *d, uint32_t seq)
{
    uint32_t at = d->base_seq + (uint32_t)d->next;

    return (int64_t)d->next + (int32_t)(seq - at);
}

static uint64_t present_end(const struct stream_dir *d)
{
    return d->nr ? d->r[d->nr - 1].hi : d->next;
}

/* Moves next over held ranges that now start at or below it. */
static void advance(struct stream_dir *d)
{
    while (d->nr && d->r[0].lo <= d->next) {
        if (d->r[0].hi > d->next)
            d->next = d->r[0].hi;
        memmove(&d->r[0], &d->r[1], (size_t)(d->nr - 1) * sizeof d->r[0]);
        d->nr--;
    }
}

/* Makes the buffer cover [buf_off, hi), keeping window bytes of history
 * before this packet's new data: slides the kept bytes to the front when
 * they fit, else moves to a bigger buffer. Returns 0 or -1 (no memory). */
static int ensure_room(struct stream_ctx *s, struct stream_dir *d, uint64_t hi)
{
    uint64_t keep, need, end = present_end(d), top = hi > end ? hi : end;
    unsigned cls = 0;
    uint8_t *nb;

    if (d->buf && hi - d->buf_off <= d->cap)
        return dir_phys_room(s, d, top - d->buf_off);
    keep = d->buf ? d->chunk_lo - min_u64(s->cfg.window, d->chunk_lo - d->buf_off) : d->next;
    need = hi - keep;
    if (d->buf && need <= d->cap) {
        memmove(d->buf, d->buf + (keep - d->buf_off), end - keep);
        d->buf_off = keep;
        return dir_phys_room(s, d, top - keep);
    }
    while (cls < STREAM_CLASSES && class_size(cls) < need)
        cls++;
    if (cls == STREAM_CLASSES || (nb = buf_get(s, cls, top - keep, d)) == NULL)
        return -1;
    if (d->buf) {
        memcpy(nb, d->buf + (keep - d->buf_off), end - keep);
        lru_unlink(s, d);
        buf_put(s, d->buf, d->cls);
    }
    d->buf = nb;
    d->cls = (uint8_t)cls;
    d->cap = (uint32_t)class_size(cls);
    dir_room_set(s, d);
    d->buf_off = keep;
    lru_append(s, d);
    return 0;
}

/* Bytes [lo, hi), all below next, came again: 1 when they equal what is
 * still held, 2 when they differ, 0 when nothing is left to compare. */
static int compare_old(const struct stream_dir *d, uint64_t lo, uint64_t hi, const uint8_t *data)
{
    if (d->buf == NULL || hi <= d->buf_off)
        return 0;
    if (lo < d->buf_off) {
        data += d->buf_off - lo;
        lo = d->buf_off;
    }
    return memcmp(d->buf + (lo - d->buf_off), data, hi - lo) ? 2 : 1;
}

/* The held ranges with [lo, hi) added, into out (STREAM_MAX_RANGES + 1
 * entries). Returns their count. */
static int ranges_union(const struct stream_dir *d, uint64_t lo, uint64_t hi,
                        struct stream_range *out)
{
    int n = 0, placed = 0;

    for (int i = 0; i < d->nr; i++) {
        const struct stream_range *r = &d->r[i];

        if (r->hi < lo) {
            out[n++] = *r;
        } else if (r->lo > hi) {
            if (!placed)
                out[n++] = (struct stream_range){ lo, hi };
            placed = 1;
            out[n++] = *r;
        } else {
            lo = r->lo < lo ? r->lo : lo;
            hi = r->hi > hi ? r->hi : hi;
        }
    }
    if (!placed)
        out[n++] = (struct stream_range){ lo, hi };
    return n;
}

/* Puts [lo, hi) (lo >= next) into the buffer, first wins: bytes already
 * held are compared (*ov: 1 same, 2 different), the others copied. Then
 * moves next on when the data is in order. Returns 0, or -1 when it cannot
 * be held (no range slot, no memory); nothing is changed then. */
static int place(struct stream_ctx *s, struct stream_dir *d, uint64_t lo, uint64_t hi,
                 const uint8_t *data, int *ov)
{
    struct stream_range u[STREAM_MAX_RANGES + 1];
    uint64_t pos = lo;
    int n = ranges_union(d, lo, hi, u);

    if (n > STREAM_MAX_RANGES || ensure_room(s, d, hi) < 0)
        return -1;
    for (int i = 0; i < d->nr && pos < hi; i++) {
        uint64_t a = d->r[i].lo, b = min_u64(d->r[i].hi, hi);

        if (b <= pos)
            continue;
        if (a > pos) {
            uint64_t e = min_u64(a, hi);

            memcpy(d->buf + (pos - d->buf_off), data + (pos - lo), e - pos);
            pos = e;
        }
        if (pos < b) {
            int diff = memcmp(d->buf + (pos - d->buf_off), data + (pos - lo), b - pos) != 0;

            if (diff || *ov == 0)
                *ov = diff ? 2 : 1;
            pos = b;
        }
    }
    if (pos < hi)
        memcpy(d->buf + (pos - d->buf_off), data + (pos - lo), hi - pos);
    memcpy(d->r, u, (size_t)n * sizeof u[0]);
    d->nr = (uint8_t)n;
    advance(d);
    return 0;
}

/* Declares the bytes from next up to `to' lost: counts the gap, drops the
 * history (nothing may match across a gap) and moves next on, over held
 * data that then follows. */
static void skip_hole(struct stream_ctx *s, struct stream_dir *d, uint64_t to)
{
    uint64_t end = present_end(d);

    STATS_INC(s->st.gaps);
    d->ev |= STREAM_EV_GAP;
    STATS_ADD(s->st.gap_bytes, to - d->next);
    if (d->buf && end > to)
        memmove(d->buf, d->buf + (to - d->buf_off), end - to);
    d->buf_off = to;
    d->next = d->chunk_lo = to;
    advance(d);
}

/* In-order data that cannot be buffered (no memory): handed to detection
 * straight from the packet, without history; held data is given up. */
static void take_direct(struct stream_ctx *s, struct stream_dir *d, uint64_t lo, uint64_t hi,
                        const uint8_t *data)
{
    STATS_INC(s->st.memcap_fail);
    dir_release(s, d);
    d->direct = data;
    d->flags |= SDF_DIRECT;
    d->chunk_lo = lo;
    d->next = d->buf_off = hi;
}

static void count_overlap(struct stream_ctx *s, struct stream_dir *d, int ov)
{
    if (ov == 1) {
        STATS_INC(s->st.overlaps_same);
    } else if (ov == 2) {
        STATS_INC(s->st.overlaps_diff);
        d->ev |= STREAM_EV_OVERLAP_DIFF;
    }
}

/* One segment of stream offsets [slo, slo + len). retry: a hole was just
 * skipped for it, do not skip another. */
static void insert(struct stream_ctx *s, struct stream_dir *d, int64_t slo,
                   const uint8_t *data, uint32_t len, int retry)
{
    int64_t shi = slo + (int64_t)len, slo0 = slo;
    uint64_t lo, hi;
    int ov = 0;

    if (shi <= 0)
        return;                     /* before the stream start */
    if (slo < 0) {
        data += -slo;
        slo = 0;
    }
    lo = (uint64_t)slo;
    hi = (uint64_t)shi;
    if (s->cfg.depth && hi > s->cfg.depth)
        hi = s->cfg.depth;
    if ((d->flags & SDF_FIN) && hi > d->fin_off)
        hi = d->fin_off;
    if (lo >= hi)
        return;
    if (lo < d->next) {
        ov = compare_old(d, lo, min_u64(hi, d->next), data);
        if (hi <= d->next) {
            count_overlap(s, d, ov);
            return;
        }
        data += d->next - lo;
        lo = d->next;
    }
    if (lo == d->next) {
        int whole = !retry && lo == (uint64_t)slo0 && hi == (uint64_t)shi && lo == d->chunk_lo;

        if (place(s, d, lo, hi, data, &ov) < 0)
            take_direct(s, d, lo, hi, data);
        if (whole && ov == 0 && d->next == hi)
            d->flags |= SDF_EXACT;
        count_overlap(s, d, ov);
        return;
    }
    if (hi - d->next <= s->cfg.ooo_limit && place(s, d, lo, hi, data, &ov) == 0) {
        STATS_INC(s->st.ooo_segments);
        count_overlap(s, d, ov);
        return;
    }
    /* Cannot wait for the hole: give it up, unless this packet already
     * brought new data (a chunk has no holes). */
    if (retry || d->next != d->chunk_lo) {
        STATS_INC(s->st.ooo_dropped);
        return;
    }
    skip_hole(s, d, d->nr && d->r[0].lo < lo ? d->r[0].lo : lo);
    insert(s, d, slo, data, (uint32_t)(shi - slo), 1);
}

/* The peer acknowledged bytes past a hole: the sensor missed them. One
 * hole per packet, so the chunk stays contiguous. */
static void ack_gap(struct stream_ctx *s, struct stream_dir *d)
{
    uint64_t to = d->ack_to;

    if (d->nr && d->r[0].lo < to)
        to = d->r[0].lo;
    if (s->cfg.depth && to > s->cfg.depth)
        to = s->cfg.depth;
    if (to > d->next)
        skip_hole(s, d, to);
}

static void note_ack(struct stream_dir *o, uint32_t ack)
{
    int64_t a = seq_off(o, ack);

    if ((o->flags & SDF_FIN) && a > (int64_t)o->fin_off)
        a = (int64_t)o->fin_off;
    if (a > (int64_t)o->next && (uint64_t)a - o->next <= STREAM_MAX_ACK_JUMP && (uint64_t)a > o->ack_to)
        o->ack_to = (uint64_t)a;
}

/* A new ISN restarts a direction that has not carried data, or has ended
 * (port reuse); a SYN in the middle of a live stream is ignored, as the
 * receiving host ignores it. */
static void on_syn(struct stream_ctx *s, struct stream_dir *d, uint32_t seq)
{
    if (d->state == SD_NONE || (d->base_seq != seq + 1 && (d->state == SD_DONE || d->next == 0)))
        dir_start(s, d, seq + 1, SDF_SYN);
}

/* Only an RST at the expected place ends the stream: one elsewhere may be
 * spoofed to make the sensor stop looking. */
static void on_rst(struct stream_ctx *s, struct stream_flow *sf, struct stream_dir *d, uint32_t seq)
{
    if (d->state == SD_OPEN) {
        int64_t a = seq_off(d, seq);

        if (a < (int64_t)d->next || a > (int64_t)(d->next + s->cfg.ooo_limit)) {
            STATS_INC(s->st.rst_ignored);
            d->ev |= STREAM_EV_RST_IGNORED;
            return;
        }
    }
    STATS_INC(s->st.resets);
    sf->rst_ok = 1;
    for (int i = 0; i < 2; i++) {
        if (sf->d[i].state == SD_OPEN)
            sf->d[i].state = SD_DONE;
        dir_release(s, &sf->d[i]);
    }
}

static struct syn_slot *syn_slot(struct stream_ctx *s, uint64_t flow_id)
{
    return &s->syn[(flow_id * 0x9e3779b97f4a7c15ull) >> 52 & (STREAM_SYN_SLOTS - 1)];
}

/* The TCP timestamps option (kind 8) of p: returns 1 with tsval and tsecr
 * set, 0 when it has none. The decoder checked the header length against
 * the captured bytes; the options are walked within it. */
static int tcp_ts(const struct packet *p, uint32_t *tsval, uint32_t *tsecr)
{
    const uint8_t *o;
    uint32_t n, i = 0;
    int k;

    if (p->l4 == NULL || p->l4_len < 20 || (uint32_t)(p->l4[12] >> 4) * 4u > p->l4_len)
        return 0;
    n = (uint32_t)(p->l4[12] >> 4) * 4u - 20;
    while ((k = tcp_opt_next(p->l4 + 20, n, &i, &o)) > 0)
        if (k == 8 && o[1] == 10) {
            *tsval = lw_get32(o + 2);
            *tsecr = lw_get32(o + 6);
            return 1;
        }
    return 0;
}

/* A SYN or SYN-ACK of a flow without state: remembers its ISN and
 * timestamp. */
static void syn_note(struct stream_ctx *s, const struct flow *f, const struct packet *p, unsigned dir)
{
    struct syn_slot *e = syn_slot(s, f->flow_id);
    uint32_t tsecr;
    uint8_t bit = (uint8_t)(1u << dir);

    if (e->flow_id != f->flow_id || e->have == 0) {
        e->flow_id = f->flow_id;
        e->have = e->syn_only = e->ts = 0;
    }
    e->isn[dir] = p->tcp_seq;
    e->have |= bit;
    e->syn_only = (uint8_t)((e->syn_only & ~bit) | (p->tcp_flags & TH_ACK ? 0 : bit));
    e->ts = (uint8_t)((e->ts & ~bit) | (tcp_ts(p, &e->tsval[dir], &tsecr) ? bit : 0));
}

/* A packet of the responder while only the opener's SYN was seen (Suricata's
 * SYN_SENT state) must echo the SYN's timestamp, or none when the SYN had
 * none: one that echoes another value is an answer to a SYN the host never
 * sent, such as a forged RST or FIN that would make the sensor stop
 * looking (suricata-verify bug-3286). Marks it pkt_invalid_timestamp.
 * Returns 1 when it is invalid (the packet is then not taken as part of
 * the handshake). */
static int synsent_bad_ts(struct stream_ctx *s, struct flow *f, const struct packet *p, unsigned dir)
{
    struct syn_slot *e = syn_slot(s, f->flow_id);
    uint32_t tsval, tsecr, opener = dir ^ 1;
    int bad;

    if (e->flow_id != f->flow_id || !(e->have & e->syn_only & (1u << opener)) || (e->have & (1u << dir)) ||
        !tcp_ts(p, &tsval, &tsecr))
        return 0;
    if (e->ts & (1u << opener))
        bad = e->tsval[opener] != 0 && tsecr != 0 && tsecr != e->tsval[opener];
    else
        bad = tsecr != 0;
    if (bad) {
        STATS_INC(s->st.bad_timestamps);
        f->hs_ev |= STREAM_EV_BAD_TS;
    }
    return bad;
}

/* Starts a direction at sequence number base; syn: its SYN went by
 * (else the flow was picked up in the middle). */
static void dir_pickup(struct stream_ctx *s, struct stream_dir *d, uint32_t base, int syn)
{
    dir_start(s, d, base, syn ? SDF_SYN : 0);
    if (!syn)
        STATS_INC(s->st.midstream);
}

/* Data (and FIN) of one packet. */
static void on_data(struct stream_ctx *s, struct stream_dir *d, const struct packet *p, int syn)
{
    uint32_t seq = p->tcp_seq + ((p->tcp_flags & TH_SYN) ? 1u : 0u);
    int64_t lo;

    if (d->state == SD_NONE)
        dir_pickup(s, d, seq, syn);
    if (d->state != SD_OPEN)
        return;
    lo = seq_off(d, seq);
    if ((p->tcp_flags & TH_FIN) && !(d->flags & SDF_FIN) && lo + (int64_t)p->payload_len >= 0) {
        d->fin_off = (uint64_t)(lo + (int64_t)p->payload_len);
        d->flags |= SDF_FIN;
    }
    if (p->payload_len) {
        lru_touch(d);
        insert(s, d, lo, p->payload, p->payload_len, 0);
    }
}

/* The directions of a new state: from the handshake cache when it still
 * has their ISNs, else the peer's from this first data packet's ACK (this
 * packet's own direction then starts at its first byte, in on_data()). */
static void start_dirs(struct stream_ctx *s, const struct flow *f, struct stream_flow *sf,
                       const struct packet *p, const int *syn)
{
    struct syn_slot *e = syn_slot(s, f->flow_id);
    unsigned dir = p->dir & 1;

    for (unsigned i = 0; i < 2 && e->flow_id == f->flow_id; i++)
        if (e->have & (1u << i))
            dir_start(s, &sf->d[i], e->isn[i] + 1, SDF_SYN);
    if (e->flow_id == f->flow_id)
        e->have = 0;
    if ((p->tcp_flags & TH_ACK) && sf->d[dir ^ 1].state == SD_NONE)
        dir_pickup(s, &sf->d[dir ^ 1], p->tcp_ack, syn[dir ^ 1]);
}

void stream_packet(struct stream_ctx *s, struct flow *f, const struct packet *p)
{
    struct stream_flow *sf = f->stream;
    struct stream_dir *d;
    unsigned dir = p->dir & 1;
    uint8_t fl = p->tcp_flags;
    int syn[2] = { (f->tcp_flags_ts & TH_SYN) != 0, (f->tcp_flags_tc & TH_SYN) != 0 };
    int fresh = 0;

    if (p->proto != 6 || f->key.proto != 6)
        return;
    if (sf == NULL) {
        /* State comes with the first data: handshakes and scans cost
         * nothing. */
        f->hs_ev &= HS_RST_TAKEN;
        if (synsent_bad_ts(s, f, p, dir))
            return;
        if (fl & TH_RST)
            f->hs_ev |= HS_RST_TAKEN;
        if ((fl & (TH_SYN | TH_RST)) == TH_SYN)
            syn_note(s, f, p, dir);
        if ((fl & TH_RST) || p->payload_len == 0)
            return;
        if ((sf = state_get(s)) == NULL) {
            STATS_INC(s->st.memcap_fail);
            return;
        }
        f->stream = sf;
        STATS_INC(s->st.sessions);
        start_dirs(s, f, sf, p, syn);
        fresh = 1;
    }
    d = &sf->d[dir];
    d->stamp = f->pkts[dir];
    d->ev = 0;
    /* Data after an RST, one this stream accepted or one before it had
     * state (nothing to check that one against): the RST may have been
     * forged to make the sensor stop looking. Suricata's
     * suspected_rst_inject, once per flow (suricata-verify security-4710). */
    if (p->payload_len && !(fl & TH_RST) && !sf->rst_inject &&
        (sf->rst_ok || (fresh && (f->hs_ev & HS_RST_TAKEN)))) {
        d->ev |= STREAM_EV_RST_INJECT;
        sf->rst_inject = 1;
    }
    d->flags &= (uint8_t)~(SDF_DIRECT | SDF_EXACT);
    d->chunk_lo = d->next;
    if (d->state == SD_DONE && d->buf)
        dir_release(s, d);
    if (fl & TH_SYN)
        on_syn(s, d, p->tcp_seq);
    if ((fl & TH_ACK) && sf->d[dir ^ 1].state == SD_OPEN)
        note_ack(&sf->d[dir ^ 1], p->tcp_ack);
    if (fl & TH_RST)
        on_rst(s, sf, d, p->tcp_seq);
    else if (p->payload_len || (fl & TH_FIN))
        on_data(s, d, p, syn[dir]);
    if (d->state == SD_OPEN && d->next == d->chunk_lo && d->ack_to > d->next)
        ack_gap(s, d);
    if (d->state == SD_OPEN && s->cfg.depth && d->next >= s->cfg.depth) {
        d->state = SD_DONE;
        d->flags |= SDF_DEPTH;
        STATS_INC(s->st.depth_reached);
    } else if (d->state == SD_OPEN && (d->flags & SDF_FIN) && d->next >= d->fin_off) {
        d->state = SD_DONE;
    }
    STATS_ADD(s->st.reassembled, d->next - d->chunk_lo);
    d->chunk_hist = 0;
    d->window = s->cfg.window;
    if (d->buf && !(d->flags & SDF_DIRECT))
        d->chunk_hist = (uint32_t)min_u64(s->cfg.window, d->chunk_lo - d->buf_off);
}

enum stream_verdict stream_chunk(const struct flow *f, const struct packet *p,
                                 struct stream_chunk *c)
{
    const struct stream_flow *sf = f ? f->stream : NULL;
    const struct stream_dir *d;
    unsigned dir = p->dir & 1;

    if (sf == NULL || p->proto != 6)
        return STREAM_OFF;
    d = &sf->d[dir];
    if (d->stamp != f->pkts[dir])
        return STREAM_OFF;
    if (d->next == d->chunk_lo)
        return (d->flags & SDF_DEPTH) ? STREAM_STOPPED : STREAM_NODATA;
    c->hist = d->chunk_hist;
    c->len = d->chunk_hist + (uint32_t)(d->next - d->chunk_lo);
    c->offset = d->chunk_lo - d->chunk_hist;
    c->exact = (d->flags & SDF_EXACT) != 0;
    c->window = d->window;
    c->data = (d->flags & SDF_DIRECT) ? d->direct : d->buf + (c->offset - d->buf_off);
    return STREAM_DATA;
}

unsigned stream_events(const struct flow *f, const struct packet *p)
{
    const struct stream_flow *sf = f ? f->stream : NULL;
    const struct stream_dir *d;

    if (f == NULL || p->proto != 6)
        return 0;
    if (sf == NULL)
        return f->hs_ev & ~HS_RST_TAKEN;   /* before the first data: the handshake's anomalies */
    d = &sf->d[p->dir & 1];
    return d->stamp == f->pkts[p->dir & 1] ? d->ev : 0;
}

void stream_sizes(const struct flow *f, uint64_t out[2])
{
    const struct stream_flow *sf = f->stream;
    const uint8_t syn[2] = { f->tcp_flags_ts & TH_SYN, f->tcp_flags_tc & TH_SYN };

    for (int i = 0; i < 2; i++) {
        if (sf != NULL && sf->d[i].state != SD_NONE)
            out[i] = sf->d[i].next + 1;
        else
            out[i] = syn[i] ? 1 : 0;
    }
}

int stream_dir_closed(const struct flow *f, unsigned dir)
{
    const struct stream_flow *sf = f->stream;
    const struct stream_dir *d;

    if (sf == NULL)
        return 0;
    d = &sf->d[dir & 1];
    return d->state == SD_DONE && !(d->flags & SDF_DEPTH);
}

/* ---- counters (stats.stream.*; Suricata spells these tcp.reassembly_gap,
 * tcp.overlap, ...: ours live together under "stream") */

#define STR(member, path, prom, help, kind, merge) \
    { "stream/" path, prom, NULL, help, (uint32_t)offsetof(struct stream_stats, member), kind, merge, 0, 0, NULL }
static const struct stats_field stream_fields[] = {
    STR(sessions, "sessions", "linkwatch_stream_sessions_total", "TCP flows given stream state.", STATS_COUNTER,
        STATS_SUM),
    STR(midstream, "midstream", "linkwatch_stream_midstream_total", "Directions picked up without their SYN.",
        STATS_COUNTER, STATS_SUM),
    STR(reassembled, "reassembled_bytes", "linkwatch_stream_reassembled_bytes_total",
        "Bytes made in-order and handed to detection.", STATS_COUNTER, STATS_SUM),
    STR(ooo_segments, "ooo_segments", "linkwatch_stream_ooo_segments_total", "Segments held out of order.",
        STATS_COUNTER, STATS_SUM),
    STR(ooo_dropped, "ooo_dropped", "linkwatch_stream_ooo_dropped_total",
        "Out-of-order segments that could not be held.", STATS_COUNTER, STATS_SUM),
    STR(gaps, "gaps", "linkwatch_stream_gaps_total", "Holes in a stream declared lost.", STATS_COUNTER, STATS_SUM),
    STR(gap_bytes, "gap_bytes", "linkwatch_stream_gap_bytes_total", "Bytes skipped by gaps.", STATS_COUNTER,
        STATS_SUM),
    STR(overlaps_same, "overlaps", "linkwatch_stream_overlaps_total", "Segments re-sending bytes already had.",
        STATS_COUNTER, STATS_SUM),
    STR(overlaps_diff, "overlaps_diff_data", "linkwatch_stream_overlaps_diff_data_total",
        "Segments re-sending bytes already had, with different data.", STATS_COUNTER, STATS_SUM),
    STR(depth_reached, "depth_reached", "linkwatch_stream_depth_reached_total",
        "Directions that reached stream.depth.", STATS_COUNTER, STATS_SUM),
    STR(resets, "resets", "linkwatch_stream_resets_total", "RSTs accepted.", STATS_COUNTER, STATS_SUM),
    STR(rst_ignored, "rst_ignored", "linkwatch_stream_rst_ignored_total",
        "RSTs outside the expected sequence range.", STATS_COUNTER, STATS_SUM),
    STR(bad_timestamps, "pkt_invalid_timestamp", "linkwatch_stream_invalid_timestamps_total",
        "Handshake answers echoing a TCP timestamp the SYN did not send (ignored).", STATS_COUNTER, STATS_SUM),
    STR(evictions, "evictions", "linkwatch_stream_evictions_total", "Buffers dropped to stay under stream.memcap.",
        STATS_COUNTER, STATS_SUM),
    STR(memcap_fail, "memcap_fail", "linkwatch_stream_memcap_fail_total", "Allocations refused at stream.memcap.",
        STATS_COUNTER, STATS_SUM),
    STR(memuse, "memuse", "linkwatch_stream_memory_bytes", "Bytes of stream state and buffers.", STATS_GAUGE,
        STATS_SUM),
    STR(memuse_max, "memuse_max", NULL, NULL, STATS_GAUGE, STATS_SUM),
};
#undef STR

const struct stats_module stream_stats_module = {
    "stream", stream_fields, STATS_NELEM(stream_fields), sizeof(struct stream_stats), NULL
};
