/* detect-iponly.c - an address index of IP-only rules (detect-int.h).
 *
 * IP-only rules are mostly reputation lists: a long list of addresses on
 * one side, $HOME_NET or any on the other. Trying each of them on every new
 * flow costs a binary search per rule; instead each rule is indexed, per
 * address family, by the ranges of its narrower side (source or
 * destination), and a packet looks its source up in the source index and
 * its destination in the destination index. A rule whose narrower side is
 * still broad (or that is bidirectional) is always a candidate. Candidates
 * are then matched in full, so the index only decides what is tried.
 */
#include <stdlib.h>
#include <string.h>

#include "detect-int.h"
#include "util.h"

/* A side spanning more than this many IPv4 addresses (2^24) or IPv6 /64s
 * (2^24) is not worth indexing: its rule is always tried. */
#define IPONLY_BROAD ((double)(1u << 24))

struct diponly_e4 { uint32_t lo, hi, maxhi, rank; };
struct diponly_e6 { struct rule_u128 lo, hi, maxhi; uint32_t rank; };

static double span4(const struct rule_addrset *s)
{
    double n = 0;

    if (s->any)
        return 1e40;
    for (uint32_t i = 0; i < s->n4; i++)
        n += (double)s->v4[i].hi - s->v4[i].lo + 1;
    return n;
}

static double span6(const struct rule_addrset *s)
{
    double n = 0;

    if (s->any)
        return 1e40;
    for (uint32_t i = 0; i < s->n6; i++)
        n += (double)(s->v6[i].hi.hi - s->v6[i].lo.hi) + 1;
    return n;
}

static int u128_cmp(const struct rule_u128 *a, const struct rule_u128 *b)
{
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    return a->lo < b->lo ? -1 : a->lo > b->lo;
}

static int cmp4(const void *a, const void *b)
{
    const struct diponly_e4 *x = a, *y = b;

    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp6(const void *a, const void *b)
{
    return u128_cmp(&((const struct diponly_e6 *)a)->lo, &((const struct diponly_e6 *)b)->lo);
}

static int push(uint32_t **v, uint32_t *n, uint32_t rank)
{
    uint32_t *x = realloc(*v, (*n + 1) * sizeof *x);

    if (x == NULL)
        return -1;
    x[(*n)++] = rank;
    *v = x;
    return 0;
}

/* Where rule r goes for family fam: 0/1 the source/destination index,
 * 2 the broad list, 3 nowhere (no address of that family on a side). */
static int place(const struct rule *r, int fam)
{
    double s = fam == 4 ? span4(&r->src) : span6(&r->src);
    double d = fam == 4 ? span4(&r->dst) : span6(&r->dst);

    if (s == 0 || d == 0)
        return 3;
    if (r->bidir || (s > IPONLY_BROAD && d > IPONLY_BROAD))
        return 2;
    return s <= d ? 0 : 1;
}

int diponly_build(struct diponly *ix, const struct detect_engine *e, const uint32_t *ranks, uint32_t n)
{
    size_t c4[2] = { 0, 0 }, c6[2] = { 0, 0 };

    memset(ix, 0, sizeof *ix);
    for (uint32_t i = 0; i < n; i++) {
        const struct rule *r = e->rules[ranks[i]].r;
        int p4 = place(r, 4), p6 = place(r, 6);

        if (p4 < 2)
            c4[p4] += (p4 ? r->dst.n4 : r->src.n4);
        if (p6 < 2)
            c6[p6] += (p6 ? r->dst.n6 : r->src.n6);
        if ((p4 == 2 && push(&ix->broad4, &ix->nbroad4, ranks[i]) < 0) ||
            (p6 == 2 && push(&ix->broad6, &ix->nbroad6, ranks[i]) < 0))
            return -1;
    }
    for (int k = 0; k < 2; k++) {
        ix->v4[k] = malloc((c4[k] ? c4[k] : 1) * sizeof *ix->v4[k]);
        ix->v6[k] = malloc((c6[k] ? c6[k] : 1) * sizeof *ix->v6[k]);
        if (ix->v4[k] == NULL || ix->v6[k] == NULL)
            return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct rule *r = e->rules[ranks[i]].r;
        int p4 = place(r, 4), p6 = place(r, 6);
        const struct rule_addrset *s4 = p4 ? &r->dst : &r->src, *s6 = p6 ? &r->dst : &r->src;

        for (uint32_t k = 0; p4 < 2 && k < s4->n4; k++)
            ix->v4[p4][ix->n4[p4]++] = (struct diponly_e4){ s4->v4[k].lo, s4->v4[k].hi, 0, ranks[i] };
        for (uint32_t k = 0; p6 < 2 && k < s6->n6; k++)
            ix->v6[p6][ix->n6[p6]++] = (struct diponly_e6){ s6->v6[k].lo, s6->v6[k].hi, { 0, 0 }, ranks[i] };
    }
    for (int k = 0; k < 2; k++) {
        /* Sorted by start; maxhi: the furthest end so far, so a look-up
         * walks back only while a range before can still reach it. */
        qsort(ix->v4[k], ix->n4[k], sizeof *ix->v4[k], cmp4);
        qsort(ix->v6[k], ix->n6[k], sizeof *ix->v6[k], cmp6);
        for (uint32_t i = 0; i < ix->n4[k]; i++)
            ix->v4[k][i].maxhi = i && ix->v4[k][i - 1].maxhi > ix->v4[k][i].hi ? ix->v4[k][i - 1].maxhi
                                                                              : ix->v4[k][i].hi;
        for (uint32_t i = 0; i < ix->n6[k]; i++)
            ix->v6[k][i].maxhi = i && u128_cmp(&ix->v6[k][i - 1].maxhi, &ix->v6[k][i].hi) > 0
                                 ? ix->v6[k][i - 1].maxhi : ix->v6[k][i].hi;
    }
    return 0;
}

static void find4(const struct diponly_e4 *v, uint32_t n, uint32_t a, void (*add)(void *, uint32_t), void *arg)
{
    uint32_t lo = 0, hi = n;

    while (lo < hi) {                   /* first entry with lo > a */
        uint32_t mid = lo + (hi - lo) / 2;

        if (v[mid].lo <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    while (lo-- > 0 && v[lo].maxhi >= a)
        if (v[lo].hi >= a)
            add(arg, v[lo].rank);
}

static void find6(const struct diponly_e6 *v, uint32_t n, const struct rule_u128 *a,
                  void (*add)(void *, uint32_t), void *arg)
{
    uint32_t lo = 0, hi = n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (u128_cmp(&v[mid].lo, a) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    while (lo-- > 0 && u128_cmp(&v[lo].maxhi, a) >= 0)
        if (u128_cmp(&v[lo].hi, a) >= 0)
            add(arg, v[lo].rank);
}

static struct rule_u128 key6(const struct lw_addr *a)
{
    struct rule_u128 k;

    k.hi = (uint64_t)lw_get32(a->u.b) << 32 | lw_get32(a->u.b + 4);
    k.lo = (uint64_t)lw_get32(a->u.b + 8) << 32 | lw_get32(a->u.b + 12);
    return k;
}

void diponly_candidates(const struct diponly *ix, const struct packet *p, void (*add)(void *, uint32_t),
                        void *arg)
{
    if (p->src.family == 4) {
        for (uint32_t i = 0; i < ix->nbroad4; i++)
            add(arg, ix->broad4[i]);
        find4(ix->v4[0], ix->n4[0], lw_get32(p->src.u.b), add, arg);
        find4(ix->v4[1], ix->n4[1], lw_get32(p->dst.u.b), add, arg);
    } else if (p->src.family == 6) {
        struct rule_u128 s = key6(&p->src), d = key6(&p->dst);

        for (uint32_t i = 0; i < ix->nbroad6; i++)
            add(arg, ix->broad6[i]);
        find6(ix->v6[0], ix->n6[0], &s, add, arg);
        find6(ix->v6[1], ix->n6[1], &d, add, arg);
    }
}

void diponly_free(struct diponly *ix)
{
    free(ix->broad4);
    free(ix->broad6);
    for (int k = 0; k < 2; k++) {
        free(ix->v4[k]);
        free(ix->v6[k]);
    }
    memset(ix, 0, sizeof *ix);
}
