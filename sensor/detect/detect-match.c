/* detect-match.c - one view of a rule over one buffer: the content chain
 * (content, pcre, isdataat, byte_test, byte_jump, byte_extract, byte_math,
 * base64_decode) with Suricata's relative positions, and the inspection of
 * a sticky buffer's instances through the buffer seam (detect-int.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detect-app.h"
#include "detect-int.h"
#include "rule-buffers.h"
#include "rule-hashlist.h"
#include "rule-parse.h"

/* Positions are indices into d. origin is where the buffer starts in
 * those terms (see detect_match_view()). */
struct mctx {
    struct detect_thread *t;
    const struct rule *r;
    int view;
    const uint8_t *d;
    uint32_t len;
    int64_t origin;
    int budget;
    uint64_t *vars;
    int pii_done;                /* t->pii_try holds this buffer's counts */
};

static int chain(struct mctx *m, int i, int64_t prev);

int detect_sm_relative(const struct rule_sm *sm)
{
    switch (sm->type) {
    case RULE_SM_CONTENT:     return (sm->u.c.flags & RULE_CT_RELATIVE) != 0;
    case RULE_SM_PCRE:        return (sm->u.p.flags & RULE_PCRE_RELATIVE) != 0;
    case RULE_SM_ISDATAAT:    return (sm->u.d.flags & RULE_ID_RELATIVE) != 0;
    case RULE_SM_B64_DECODE:  return sm->u.b64.relative;
    case RULE_SM_PII:         return 0;
    case RULE_SM_HASHLIST:    return 0;
    default:                  return (sm->u.b.flags & RULE_BY_RELATIVE) != 0;
    }
}

/* Whether entry sm sets the position later relative entries count from
 * without reading the one before it. */
static int sm_sets_position(const struct rule_sm *sm)
{
    switch (sm->type) {
    case RULE_SM_CONTENT:
    case RULE_SM_PCRE:
        return !sm_negated(sm);
    case RULE_SM_BYTE_JUMP:
    case RULE_SM_BYTE_EXTRACT:
    case RULE_SM_BYTE_MATH:
        return 1;
    default:
        return 0;
    }
}

/* Whether what follows entry i depends on where i matched: a later relative
 * entry reached before an entry that sets a new position of its own. Only
 * then is trying another occurrence of i worth it. */
static int later_depends(const struct mctx *m, int i)
{
    for (int j = next_sm(m->r, i + 1, m->view); j >= 0; j = next_sm(m->r, j + 1, m->view)) {
        if (detect_sm_relative(&m->r->sm[j]))
            return 1;
        if (sm_sets_position(&m->r->sm[j]))
            return 0;
    }
    return 0;
}

static inline uint8_t lc(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static int bytes_eq(const uint8_t *a, const struct rule_content *c)
{
    if (!(c->flags & RULE_CT_NOCASE))
        return memcmp(a, c->bytes, c->len) == 0;
    for (uint32_t k = 0; k < c->len; k++)
        if (lc(a[k]) != lc(c->bytes[k]))
            return 0;
    return 1;
}

/* A nocase content c in d[s, e) (e - s >= c->len): its first byte is looked
 * for in both cases with memchr (vectorised), then the rest compared; the
 * earlier of the two candidates is tried first. Most of ET Open's contents
 * are nocase, and a byte-by-byte loop over every payload byte was the
 * largest cost of matching after Hyperscan. Returns the position or -1. */
static int64_t find_nocase(const uint8_t *d, const struct rule_content *c, int64_t s, int64_t e)
{
    const uint8_t lo = lc(c->bytes[0]);
    const uint8_t up = (lo >= 'a' && lo <= 'z') ? (uint8_t)(lo - 32) : lo;
    const uint8_t *end = d + e - c->len + 1;      /* candidates lie in [d + s, end) */
    const uint8_t *a = memchr(d + s, lo, (size_t)(end - (d + s)));
    const uint8_t *b = lo == up ? NULL : memchr(d + s, up, (size_t)(end - (d + s)));

    while (a || b) {
        const uint8_t *q = (b == NULL || (a && a < b)) ? a : b;

        if (bytes_eq(q, c))
            return q - d;
        if (q == a)
            a = a + 1 < end ? memchr(a + 1, lo, (size_t)(end - a - 1)) : NULL;
        else
            b = b + 1 < end ? memchr(b + 1, up, (size_t)(end - b - 1)) : NULL;
    }
    return -1;
}

/* First position >= s where c occurs ending at or before e (for endswith:
 * exactly at the buffer's end), or -1. */
static int64_t find(const struct mctx *m, const struct rule_content *c, int64_t s, int64_t e)
{
    const uint8_t *d = m->d;

    if (e > (int64_t)m->len)
        e = m->len;
    if (s < 0)
        s = 0;
    if (e - s < (int64_t)c->len)
        return -1;
    if (c->flags & RULE_CT_ENDSWITH) {
        int64_t at = (int64_t)m->len - c->len;

        return e == (int64_t)m->len && at >= s && bytes_eq(d + at, c) ? at : -1;
    }
    if (!(c->flags & RULE_CT_NOCASE)) {
        const uint8_t *hit = memmem(d + s, (size_t)(e - s), c->bytes, c->len);
        return hit ? hit - d : -1;
    }
    return find_nocase(d, c, s, e);
}

/* A content position: its number, or the variable's value. */
static int64_t pos_val(const struct mctx *m, const struct rule_content *c, int which, int64_t v)
{
    return c->var[which] >= 0 ? (int64_t)m->vars[c->var[which]] : v;
}

/* Suricata's window: absolute contents lie in [offset, offset+depth) from
 * the buffer's origin; relative ones start at prev+distance (not before
 * 0) and end by prev+distance+within. */
static void window(const struct mctx *m, const struct rule_content *c, int64_t prev, int64_t *s, int64_t *e)
{
    *e = m->len;
    if (c->flags & RULE_CT_RELATIVE) {
        int64_t dist = (c->flags & RULE_CT_DISTANCE) ? pos_val(m, c, RULE_POS_DISTANCE, c->distance) : 0;
        int64_t within = pos_val(m, c, RULE_POS_WITHIN, c->within);

        *s = prev + dist;
        if (*s < 0)
            *s = 0;
        if ((c->flags & RULE_CT_WITHIN) && prev + dist + within < *e)
            *e = prev + dist + within;
        return;
    }
    *s = m->origin + ((c->flags & RULE_CT_OFFSET) ? pos_val(m, c, RULE_POS_OFFSET, c->offset) : 0);
    if ((c->flags & RULE_CT_DEPTH) && *s + pos_val(m, c, RULE_POS_DEPTH, c->depth) < *e)
        *e = *s + pos_val(m, c, RULE_POS_DEPTH, c->depth);
}

/* Content i was not found from prev: whether no other way through the
 * entries before it can find it either, so the view has failed. That
 * holds when its window cannot grow with a later prev (absolute, or
 * relative without within; no variable positions) and the entries before
 * it that set positions are contents: the search tries their occurrences
 * in order, so prev was the smallest any way through reaches (Suricata
 * stops an independent content the same way). Without this, a rule such
 * as content A; content B, distance 0 would look for B after every A of a
 * body that has none. */
static int miss_is_final(const struct mctx *m, int i)
{
    const struct rule_content *c = &m->r->sm[i].u.c;

    if ((c->flags & RULE_CT_WITHIN) || c->var[RULE_POS_DISTANCE] >= 0 || c->var[RULE_POS_OFFSET] >= 0 ||
        c->var[RULE_POS_DEPTH] >= 0)
        return 0;
    if (!(c->flags & RULE_CT_RELATIVE))
        return 1;
    for (int j = next_sm(m->r, 0, m->view); j >= 0 && j < i; j = next_sm(m->r, j + 1, m->view))
        switch (m->r->sm[j].type) {
        case RULE_SM_CONTENT: case RULE_SM_ISDATAAT: case RULE_SM_BYTE_TEST: case RULE_SM_PII:
        case RULE_SM_HASHLIST:
            break;
        default:
            return 0;
        }
    return 1;
}

static int chain_content(struct mctx *m, int i, int nxt, int64_t prev)
{
    const struct rule_content *c = &m->r->sm[i].u.c;
    int64_t s, e, pos;
    int again;

    window(m, c, prev, &s, &e);
    if (c->flags & RULE_CT_NEGATED) {
        if (--m->budget < 0 || find(m, c, s, e) >= 0)
            return 0;
        return chain(m, nxt, prev);
    }
    again = later_depends(m, i) && !(c->flags & RULE_CT_ENDSWITH);
    for (;;) {
        if (--m->budget < 0)
            return 0;
        pos = find(m, c, s, e);
        if (pos < 0) {
            if (miss_is_final(m, i))
                m->budget = 0;           /* every way back gives up at once */
            return 0;
        }
        if (chain(m, nxt, pos + c->len))
            return 1;
        if (!again)
            return 0;
        s = pos + 1;
    }
}

int detect_pcre_anchored(const struct rule_pcre *pc)
{
    uint32_t o = 0;

    pcre2_pattern_info((const pcre2_code *)pc->code, PCRE2_INFO_ALLOPTIONS, &o);
    return (o & PCRE2_ANCHORED) != 0;
}

static int chain_pcre(struct mctx *m, int i, int nxt, int64_t prev)
{
    const struct rule_pcre *pc = &m->r->sm[i].u.p;
    int64_t from = (pc->flags & RULE_PCRE_RELATIVE) ? prev : m->origin;
    uint32_t base = 0, opts = 0;
    PCRE2_SIZE start = 0, *ov;
    int again, rc;

    if (from < 0) {
        /* Where it starts (the stream's start) is before the window: an
         * anchored pattern cannot match, ^ is no line start here. */
        if (detect_pcre_anchored(pc))
            return (pc->flags & RULE_PCRE_NEGATED) ? chain(m, nxt, prev) : 0;
        opts = PCRE2_NOTBOL;
    } else {
        base = from > m->len ? m->len : (uint32_t)from;
    }
    again = later_depends(m, i);
    for (;;) {
        PCRE2_SIZE ms, me;

        if (--m->budget < 0)
            return 0;
        rc = pcre2_match((const pcre2_code *)pc->code, m->d + base, m->len - base, start,
                         opts, (pcre2_match_data *)m->t->md, NULL);
        if (rc < 0)
            return (pc->flags & RULE_PCRE_NEGATED) ? chain(m, nxt, prev) : 0;
        if (pc->flags & RULE_PCRE_NEGATED)
            return 0;
        ov = pcre2_get_ovector_pointer((pcre2_match_data *)m->t->md);
        ms = ov[0];
        me = ov[1];
        if (chain(m, nxt, base + (uint32_t)me))
            return 1;
        if (!again || ms + 1 > m->len - base)
            return 0;
        start = ms + 1;
    }
}

/* isdataat: absolute, byte N exists (N < length); relative, N more bytes
 * after the previous match (prev + N <= length), Suricata's semantics. */
static int isdataat_ok(const struct mctx *m, const struct rule_isdataat *d, int64_t prev)
{
    int64_t n = d->var >= 0 ? (int64_t)m->vars[d->var] : d->n;
    int have = (d->flags & RULE_ID_RELATIVE) ? prev + n <= (int64_t)m->len : m->origin + n < (int64_t)m->len;

    return have != ((d->flags & RULE_ID_NEGATED) != 0);
}

/* Reads b's number at *pos (the start of the bytes, updated to their end).
 * Returns 0, or -1 when the bytes are not in the buffer or no number is
 * there. */
static int byte_read(const struct mctx *m, const struct rule_byte *b, int64_t prev, int64_t *pos, uint64_t *val)
{
    int64_t nbytes = b->nbytes_var >= 0 ? (int64_t)m->vars[b->nbytes_var] : b->nbytes;
    int64_t off = b->offset_var >= 0 ? (int64_t)m->vars[b->offset_var] : b->offset;
    int64_t at = ((b->flags & RULE_BY_RELATIVE) ? prev : m->origin) + off;
    const uint8_t *p;

    /* Suricata (after its bug 4623): no bytes to read may sit at the very end. */
    if (at < 0 || at > (int64_t)m->len || (at == (int64_t)m->len && nbytes != 0))
        return -1;
    if (nbytes == 0 && (b->flags & RULE_BY_STRING))
        nbytes = (int64_t)m->len - at < 23 ? (int64_t)m->len - at : 23;   /* the rest of the buffer */
    if (nbytes == 0 && !(b->flags & RULE_BY_STRING)) {
        *val = 0;                        /* byte_jump:0,...,from_end; a variable that is 0 */
        *pos = at;
        return 0;
    }
    if (nbytes < 0 || nbytes > ((b->flags & RULE_BY_STRING) ? 23 : 8) || nbytes > (int64_t)m->len - at)
        return -1;
    p = m->d + at;
    if (b->flags & RULE_BY_STRING) {
        char s[24], *end;

        memcpy(s, p, (size_t)nbytes);
        s[nbytes] = '\0';
        errno = 0;
        *val = strtoull(s, &end, b->base);
        if (end == s || errno == ERANGE)
            return -1;
        *pos = at + (end - s);
        return 0;
    }
    *val = 0;
    for (int64_t k = 0; k < nbytes; k++)
        *val = (b->flags & RULE_BY_LITTLE) ? *val | (uint64_t)p[k] << (8 * k) : *val << 8 | p[k];
    *pos = at + nbytes;
    return 0;
}

static uint64_t byte_mask(const struct rule_byte *b, uint64_t v)
{
    if (!(b->flags & RULE_BY_BITMASK))
        return v;
    v &= b->bitmask;
    return b->bitmask ? v >> __builtin_ctzll(b->bitmask) : v;
}

static int byte_test(const struct mctx *m, const struct rule_byte *b, int64_t prev)
{
    uint64_t v, want = b->value_var >= 0 ? m->vars[b->value_var] : b->value;
    int64_t end;
    int ok;

    if (byte_read(m, b, prev, &end, &v) < 0)
        return 0;
    v = byte_mask(b, v);
    switch (b->op) {
    case RULE_BOP_LT:  ok = v < want; break;
    case RULE_BOP_GT:  ok = v > want; break;
    case RULE_BOP_EQ:  ok = v == want; break;
    case RULE_BOP_LE:  ok = v <= want; break;
    case RULE_BOP_GE:  ok = v >= want; break;
    case RULE_BOP_AND: ok = (v & want) != 0; break;
    case RULE_BOP_OR:  ok = (v ^ want) != 0; break;
    default:           ok = 0; break;
    }
    return ok != ((b->flags & RULE_BY_NEGATE) != 0);
}

/* byte_jump: the new position, or -1. */
static int64_t byte_jump(const struct mctx *m, const struct rule_byte *b, int64_t prev)
{
    int64_t end, to;
    uint64_t v;

    if (byte_read(m, b, prev, &end, &v) < 0)
        return -1;
    v = byte_mask(b, v) * b->multiplier;
    if ((b->flags & RULE_BY_ALIGN) && v % 4)
        v += 4 - v % 4;
    if (v > (uint64_t)INT32_MAX)
        return -1;
    if (b->flags & RULE_BY_FROM_BEGIN)
        to = m->origin + (int64_t)v;
    else if (b->flags & RULE_BY_FROM_END)
        to = (int64_t)m->len + (int64_t)v;
    else
        to = end + (int64_t)v;
    to += b->post_offset;
    if (to < m->origin)
        to = m->origin;             /* Suricata: before the start, back to the start */
    return to > (int64_t)m->len ? -1 : to;    /* the very end is a place to jump to */
}

/* byte_extract / byte_math: stores the variable, returns the new position
 * (after the bytes read), or -1. */
static int64_t byte_store(struct mctx *m, const struct rule_sm *sm, int64_t prev)
{
    const struct rule_byte *b = &sm->u.b;
    int64_t end;
    uint64_t v, rv;

    if (byte_read(m, b, prev, &end, &v) < 0)
        return -1;
    if (sm->type == RULE_SM_BYTE_EXTRACT) {
        v *= b->multiplier;
        if ((b->flags & RULE_BY_ALIGN) && b->align && v % b->align)
            v += b->align - v % b->align;
    } else {
        rv = b->value_var >= 0 ? m->vars[b->value_var] : b->value;
        switch (b->op) {
        case RULE_BOP_ADD: v += rv; break;
        case RULE_BOP_SUB: v -= rv; break;
        case RULE_BOP_MUL: v *= rv; break;
        case RULE_BOP_DIV: if (rv == 0) return -1; v /= rv; break;
        case RULE_BOP_SHL: v = rv < 64 ? v << rv : 0; break;
        case RULE_BOP_SHR: v = rv < 64 ? v >> rv : 0; break;
        default: break;
        }
        v = byte_mask(b, v);
    }
    m->vars[b->result] = v;
    return end;
}

/* base64_decode, then base64_data's matches over what it decoded: a match
 * there is the rule's match in this buffer (as in Suricata, what follows
 * base64_decode in the buffer is then not looked at). Without base64_data,
 * decoding something is enough and the chain goes on. */
static int chain_b64(struct mctx *m, int i, int nxt, int64_t prev)
{
    const struct rule_b64 *b = &m->r->sm[i].u.b64;
    int64_t at = (b->relative ? prev : m->origin) + b->offset, n;
    int view = view_of(m->r, RULE_BUF_BASE64);
    uint32_t dn;

    if (at < 0 || at >= (int64_t)m->len)
        return 0;
    n = (int64_t)m->len - at;
    if (b->bytes && n > b->bytes)
        n = b->bytes;
    if (n > (int64_t)DETECT_B64_MAX * 4 / 3)
        n = (int64_t)DETECT_B64_MAX * 4 / 3;
    dn = detect_base64_decode(m->d + at, (uint32_t)n, m->t->b64);
    if (dn == 0)
        return 0;
    if (view >= 0)
        return detect_match_view(m->t, m->r, view, m->t->b64, dn, 0, m->vars);
    return chain(m, nxt, prev);
}

/* Entries i, next_sm(i+1), ... of one view match with the previous match
 * ending at prev: each occurrence of a positive entry is tried in turn when
 * later relative entries fail (Suricata's content inspection). */
static int chain(struct mctx *m, int i, int64_t prev)
{
    const struct rule_sm *sm;
    int64_t to;
    int nxt;

    if (i < 0)
        return 1;
    sm = &m->r->sm[i];
    nxt = next_sm(m->r, i + 1, m->view);
    switch (sm->type) {
    case RULE_SM_CONTENT:
        return chain_content(m, i, nxt, prev);
    case RULE_SM_PCRE:
        return chain_pcre(m, i, nxt, prev);
    case RULE_SM_ISDATAAT:
        return --m->budget >= 0 && isdataat_ok(m, &sm->u.d, prev) && chain(m, nxt, prev);
    case RULE_SM_BYTE_TEST:
        return --m->budget >= 0 && byte_test(m, &sm->u.b, prev) && chain(m, nxt, prev);
    case RULE_SM_BYTE_JUMP:
        return --m->budget >= 0 && (to = byte_jump(m, &sm->u.b, prev)) >= 0 && chain(m, nxt, to);
    case RULE_SM_BYTE_EXTRACT:
    case RULE_SM_BYTE_MATH:
        return --m->budget >= 0 && (to = byte_store(m, sm, prev)) >= 0 && chain(m, nxt, to);
    case RULE_SM_B64_DECODE:
        return --m->budget >= 0 && chain_b64(m, i, nxt, prev);
    case RULE_SM_PII:
        /* The whole buffer, whatever the previous entries matched: one
         * scan however often the chain comes back here. */
        if (!m->pii_done) {
            m->pii_done = 1;
            pii_scan(m->d, m->len, &(struct pii_opts){ m->r->pii_types, m->t->pii_today }, &m->t->pii_try);
        }
        return --m->budget >= 0 && pii_keyword_eval(&sm->u.pii, &m->t->pii_try) && chain(m, nxt, prev);
    case RULE_SM_HASHLIST:
        return --m->budget >= 0 && m->len == sm->u.h.len &&
               rule_hashlist_has(&sm->u.h, m->d) != sm->u.h.negated && chain(m, nxt, prev);
    default:
        return 0;
    }
}

int detect_match_view(struct detect_thread *t, const struct rule *r, int view,
                      const uint8_t *d, uint32_t len, int64_t origin, uint64_t *vars)
{
    struct mctx m = { t, r, view, d, len, origin, DETECT_MATCH_BUDGET, vars, 0 };

    if (len == 0 || d == NULL)
        return 0;
    if (!chain(&m, next_sm(r, 0, view), origin))
        return 0;
    if (m.pii_done)
        t->pii = t->pii_try;
    return 1;
}

/* PCRE2's JIT may read a SIMD word past the end of its subject (never
 * across a page, so harmless), and a transaction's buffer often ends its
 * allocation (a certificate's subject, a header): memcheck would see a read
 * past the block. A pcre on such a buffer gets a copy with zeroed slack.
 * Returns d itself when no copy can be had. */
static const uint8_t *pcre_subject(struct detect_thread *t, const uint8_t *d, uint32_t n)
{
    if (t->padcap < (size_t)n + DETECT_PCRE_SLACK) {
        uint8_t *p = realloc(t->pad, (size_t)n + DETECT_PCRE_SLACK);

        if (p == NULL)
            return d;
        t->pad = p;
        t->padcap = (size_t)n + DETECT_PCRE_SLACK;
    }
    memcpy(t->pad, d, n);
    memset(t->pad + n, 0, DETECT_PCRE_SLACK);
    return t->pad;
}

static int view_has_pcre(const struct rule *r, int view)
{
    for (int i = next_sm(r, 0, view); i >= 0; i = next_sm(r, i + 1, view))
        if (r->sm[i].type == RULE_SM_PCRE)
            return 1;
    return 0;
}

int detect_inspect_view(struct detect_thread *t, const struct rule *r, int view,
                        const struct detect_src *src, uint64_t *vars)
{
    const struct rule_view *v = &r->views[view];
    int multi = (rule_buffer_info(v->buf)->flags & RULE_BUFF_MULTI) != 0;
    int has_sm = next_sm(r, 0, view) >= 0;
    int copy = src->tx != NULL && view_has_pcre(r, view);
    /* A body looked at before: from its inspect window on, as Suricata
     * (positions still count from the body's start). Not a personal-data
     * count, which is the whole body's. */
    int side = src->tx != NULL && v->nxf == 0 && r->pii_types == 0 ? detect_body_side(v->buf, src->dir) : -1;
    uint32_t from = side >= 0 ? detect_body_from((enum app_proto)src->proto, src->tx, (uint8_t)side) : 0;

    for (uint32_t idx = 0; idx < DETECT_MAX_INSTANCES; idx++) {
        struct detect_bytes b;
        const uint8_t *d;
        uint32_t n;

        if (!detect_buffer_get(src, v->buf, idx, &b))
            return 0;
        if (b.len != 0 && detect_transform(&t->xb, v, b.data, b.len, t->md, &d, &n) == 0 &&
            (!copy || (d = pcre_subject(t, d, n)) != NULL) &&
            rule_cmp_match(&v->bsize, n) && rule_cmp_match(&v->urilen, n) &&
            (!has_sm || (from < n && detect_match_view(t, r, view, d + from, n - from, -(int64_t)from, vars))))
            return 1;
        if (!multi)
            return 0;
    }
    return 0;
}
