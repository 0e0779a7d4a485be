/* rule-vars.c - address and port expressions of rule headers: variables,
 * lists, negation, ranges, compiled into sorted range sets and matched.
 *
 * An expression is evaluated as exact set algebra over ranges (IPv4 and
 * IPv6 apart, ports 0-65535), so "[a, ![b, !c]]" or a negated variable that
 * holds a negation mean what set theory says, in any nesting. In a list the
 * negated items are taken away from the union of the others (from
 * everything when there are no others), as Suricata does.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rule-vars.h"
#include "util.h"

__extension__ typedef unsigned __int128 u128;

#define U128_MAX  (~(u128)0)
#define V4_MAX    ((u128)0xffffffffu)
#define PORT_MAX  ((u128)65535)

struct iv { u128 lo, hi; };

struct ivset {
    struct iv *v;
    size_t     n, cap;
};

/* A value under evaluation: addresses use part[0] (IPv4) and part[1]
 * (IPv6); ports part[0] only. */
struct xset { struct ivset part[2]; };

struct xkind {
    const char *noun;                       /* "address", "port" */
    int         nparts;
    u128        max[2];
    int       (*atom)(const char *tok, struct xset *out);
    const struct cfg_strlist *names, *values;
};

struct xparse {
    const struct xkind *k;
    struct rule_error  *err;
};

static int xerr(struct xparse *xp, const char *agg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int xerr(struct xparse *xp, const char *agg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(xp->err->msg, sizeof xp->err->msg, fmt, ap);
    va_end(ap);
    snprintf(xp->err->agg, sizeof xp->err->agg, "%s", agg ? agg : xp->err->msg);
    return -1;
}

/* ------------------------------------------------------------------ range sets */

static void iv_free(struct ivset *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static int iv_add(struct ivset *s, u128 lo, u128 hi)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        struct iv *v = realloc(s->v, cap * sizeof *v);

        if (v == NULL)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].lo = lo;
    s->v[s->n].hi = hi;
    s->n++;
    return 0;
}

static int iv_cmp(const void *a, const void *b)
{
    const struct iv *x = a, *y = b;

    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges overlapping or touching ranges in place. */
static void iv_norm(struct ivset *s)
{
    size_t o = 0;

    if (s->n < 2)
        return;
    qsort(s->v, s->n, sizeof *s->v, iv_cmp);
    for (size_t i = 1; i < s->n; i++) {
        struct iv *last = &s->v[o];

        if (last->hi == U128_MAX || s->v[i].lo <= last->hi + 1) {
            if (s->v[i].hi > last->hi)
                last->hi = s->v[i].hi;
        } else {
            s->v[++o] = s->v[i];
        }
    }
    s->n = o + 1;
}

/* Replaces the normalised set s by [0, max] minus s. Returns 0 or -1. */
static int iv_complement(struct ivset *s, u128 max)
{
    struct ivset r = { 0 };
    u128 next = 0;
    int done = 0;

    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].lo > next && iv_add(&r, next, s->v[i].lo - 1) < 0)
            goto fail;
        if (s->v[i].hi >= max) {
            done = 1;
            break;
        }
        next = s->v[i].hi + 1;
    }
    if (!done && iv_add(&r, next, max) < 0)
        goto fail;
    iv_free(s);
    *s = r;
    return 0;
fail:
    iv_free(&r);
    return -1;
}

/* dst |= src (both normalised). */
static int iv_union(struct ivset *dst, const struct ivset *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (iv_add(dst, src->v[i].lo, src->v[i].hi) < 0)
            return -1;
    iv_norm(dst);
    return 0;
}

/* ------------------------------------------------------------------ values */

static void x_free(struct xset *x)
{
    iv_free(&x->part[0]);
    iv_free(&x->part[1]);
}

static int x_all(const struct xkind *k, struct xset *x)
{
    for (int i = 0; i < k->nparts; i++)
        if (iv_add(&x->part[i], 0, k->max[i]) < 0)
            return -1;
    return 0;
}

static int x_complement(const struct xkind *k, struct xset *x)
{
    for (int i = 0; i < k->nparts; i++)
        if (iv_complement(&x->part[i], k->max[i]) < 0)
            return -1;
    return 0;
}

static int x_union(const struct xkind *k, struct xset *dst, const struct xset *src)
{
    for (int i = 0; i < k->nparts; i++)
        if (iv_union(&dst->part[i], &src->part[i]) < 0)
            return -1;
    return 0;
}

/* a -= b, through a & ~b = ~(~a | b). b is consumed. */
static int x_subtract(const struct xkind *k, struct xset *a, struct xset *b)
{
    if (x_complement(k, a) < 0 || x_union(k, a, b) < 0 || x_complement(k, a) < 0)
        return -1;
    return 0;
}

static int x_empty(const struct xkind *k, const struct xset *x)
{
    for (int i = 0; i < k->nparts; i++)
        if (x->part[i].n)
            return 0;
    return 1;
}

/* ------------------------------------------------------------------ atoms */

static u128 bytes_to_u128(const uint8_t *b, size_t n)
{
    u128 v = 0;

    for (size_t i = 0; i < n; i++)
        v = v << 8 | b[i];
    return v;
}

/* One address: fam 4 or 6 and its value. Returns 0 or -1. */
static int addr_value(const char *s, int *fam, u128 *v)
{
    uint8_t b[16];

    if (inet_pton(AF_INET, s, b) == 1) {
        *fam = 4;
        *v = bytes_to_u128(b, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, s, b) == 1) {
        *fam = 6;
        *v = bytes_to_u128(b, 16);
        return 0;
    }
    return -1;
}

/* Prefix length from "24" or, for IPv4, a contiguous netmask "255.255.255.0". */
static int prefix_value(const char *s, int fam, unsigned *pfx)
{
    unsigned bits = fam == 4 ? 32 : 128, n = 0;
    char *end;
    u128 m;
    int mfam;

    if (*s >= '0' && *s <= '9' && strchr(s, '.') == NULL) {
        unsigned long p = strtoul(s, &end, 10);

        if (*end || p > bits || end - s > 3)
            return -1;
        *pfx = (unsigned)p;
        return 0;
    }
    if (fam != 4 || addr_value(s, &mfam, &m) < 0 || mfam != 4)
        return -1;
    while (n < 32 && (m >> (31 - n) & 1))
        n++;
    if (n < 32 && (m & ((((u128)1) << (32 - n)) - 1)) != 0)
        return -1;
    *pfx = n;
    return 0;
}

/* "any", "a", "a/len", "a/mask", "a-b". */
static int addr_atom(const char *tok, struct xset *out)
{
    char buf[128], *sep;
    int fam, fam2;
    u128 lo, hi, host;
    unsigned pfx, bits;

    if (strcmp(tok, "any") == 0) {
        if (iv_add(&out->part[0], 0, V4_MAX) < 0 || iv_add(&out->part[1], 0, U128_MAX) < 0)
            return -2;
        return 0;
    }
    if (strlen(tok) >= sizeof buf)
        return -1;
    strcpy(buf, tok);
    if ((sep = strchr(buf, '/')) != NULL) {
        *sep++ = '\0';
        if (addr_value(buf, &fam, &lo) < 0 || prefix_value(sep, fam, &pfx) < 0)
            return -1;
        bits = fam == 4 ? 32 : 128;
        if (pfx == 0)
            host = fam == 4 ? V4_MAX : U128_MAX;
        else if (pfx == bits)
            host = 0;
        else
            host = (((u128)1) << (bits - pfx)) - 1;
        lo &= ~host;                        /* Suricata ignores host bits too */
        hi = lo | host;
    } else if ((sep = strchr(buf, '-')) != NULL) {
        *sep++ = '\0';
        if (addr_value(buf, &fam, &lo) < 0 || addr_value(sep, &fam2, &hi) < 0 ||
            fam != fam2 || lo > hi)
            return -1;
    } else {
        if (addr_value(buf, &fam, &lo) < 0)
            return -1;
        hi = lo;
    }
    return iv_add(&out->part[fam == 4 ? 0 : 1], lo, hi) < 0 ? -2 : 0;
}

static int port_number(const char *s, const char *end, u128 *v)
{
    unsigned long n = 0;

    if (s == end || end - s > 5)
        return -1;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        n = n * 10 + (unsigned long)(*s - '0');
    }
    if (n > 65535)
        return -1;
    *v = n;
    return 0;
}

/* "any", "n", "a:b", "a:", ":b". */
static int port_atom(const char *tok, struct xset *out)
{
    const char *colon = strchr(tok, ':'), *end = tok + strlen(tok);
    u128 lo = 0, hi = PORT_MAX;

    if (strcmp(tok, "any") == 0) {
        lo = 0;
    } else if (colon == NULL) {
        if (port_number(tok, end, &lo) < 0)
            return -1;
        hi = lo;
    } else {
        if (colon == tok && colon + 1 == end)
            return -1;
        if (colon > tok && port_number(tok, colon, &lo) < 0)
            return -1;
        if (colon + 1 < end && port_number(colon + 1, end, &hi) < 0)
            return -1;
        if (lo > hi)
            return -1;
    }
    return iv_add(&out->part[0], lo, hi) < 0 ? -2 : 0;
}

/* ------------------------------------------------------------------ expressions */

static int x_list(struct xparse *xp, const char **pp, int depth, char close, struct xset *out);

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static const char *var_value(const struct xkind *k, const char *name, size_t len)
{
    for (size_t i = 0; k->names && i < k->names->n && i < k->values->n; i++)
        if (strlen(k->names->v[i]) == len && memcmp(k->names->v[i], name, len) == 0)
            return k->values->v[i];
    return NULL;
}

/* $NAME at *pp: evaluates the variable's whole value one level deeper. */
static int x_var(struct xparse *xp, const char **pp, int depth, struct xset *out)
{
    const char *p = *pp + 1, *name = p, *val, *vp;
    size_t len;

    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
           (*p >= '0' && *p <= '9') || *p == '_')
        p++;
    len = (size_t)(p - name);
    *pp = p;
    if (len == 0)
        return xerr(xp, NULL, "'$' without a variable name in %s", xp->k->noun);
    if ((val = var_value(xp->k, name, len)) == NULL)
        return xerr(xp, NULL, "unknown variable '$%.*s'", (int)(len > 60 ? 60 : len), name);
    if (depth >= RULE_VAR_MAX_DEPTH)
        return xerr(xp, NULL, "variable '$%.*s' nests deeper than %d levels",
                    (int)(len > 60 ? 60 : len), name, RULE_VAR_MAX_DEPTH);
    vp = val;
    if (x_list(xp, &vp, depth + 1, '\0', out) < 0)
        return -1;
    return 0;
}

/* One item: [!]... atom, [list] or $VAR. *neg gets the parity of the '!'s. */
static int x_item(struct xparse *xp, const char **pp, int depth, struct xset *out, int *neg)
{
    const char *p = skip_ws(*pp), *start;
    char tok[128];
    size_t len;
    int rc;

    *neg = 0;
    while (*p == '!') {
        *neg ^= 1;
        p = skip_ws(p + 1);
    }
    if (*p == '[') {
        p++;
        if (x_list(xp, &p, depth + 1, ']', out) < 0)
            return -1;
        p++;                                /* x_list stopped on ']' */
    } else if (*p == '$') {
        if (x_var(xp, &p, depth, out) < 0)
            return -1;
    } else {
        start = p;
        while (*p && *p != ',' && *p != ']' && *p != '[' && *p != ' ' && *p != '\t')
            p++;
        len = (size_t)(p - start);
        if (len == 0)
            return xerr(xp, NULL, "empty %s in list", xp->k->noun);
        if (len >= sizeof tok)
            return xerr(xp, NULL, "bad %s '%.60s...'", xp->k->noun, start);
        memcpy(tok, start, len);
        tok[len] = '\0';
        if ((rc = xp->k->atom(tok, out)) == -2)
            return xerr(xp, NULL, "out of memory");
        if (rc < 0) {
            char agg[64];

            snprintf(agg, sizeof agg, "bad %s", xp->k->noun);
            return xerr(xp, agg, "bad %s '%s'", xp->k->noun, tok);
        }
    }
    *pp = skip_ws(p);
    return 0;
}

/* Items separated by ',' up to close ('\0' at top level and in a
 * variable's value, ']' in brackets; *pp is left on it). */
static int x_list(struct xparse *xp, const char **pp, int depth, char close, struct xset *out)
{
    const struct xkind *k = xp->k;
    struct xset pos = { 0 }, negs = { 0 }, item;
    const char *p = *pp;
    int neg, have_pos = 0;

    if (depth > RULE_VAR_MAX_DEPTH) {
        xerr(xp, NULL, "%s lists nest deeper than %d levels", k->noun, RULE_VAR_MAX_DEPTH);
        goto fail;
    }
    for (;;) {
        memset(&item, 0, sizeof item);
        if (x_item(xp, &p, depth, &item, &neg) < 0) {
            x_free(&item);
            goto fail;
        }
        for (int i = 0; i < k->nparts; i++)
            iv_norm(&item.part[i]);
        if (neg && x_union(k, &negs, &item) < 0)
            goto oom_item;
        if (!neg && x_union(k, &pos, &item) < 0)
            goto oom_item;
        have_pos |= !neg;
        x_free(&item);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == close)
            break;
        if (*p == '\0')
            xerr(xp, NULL, "unbalanced brackets in %s", k->noun);
        else
            xerr(xp, NULL, "unexpected '%c' in %s", *p, k->noun);
        goto fail;
    }
    if (!have_pos && x_all(k, &pos) < 0)
        goto oom;
    if (x_subtract(k, &pos, &negs) < 0)
        goto oom;
    x_free(&negs);
    if (x_union(k, out, &pos) < 0)
        goto oom;
    x_free(&pos);
    *pp = p;
    return 0;
oom_item:
    x_free(&item);
oom:
    xerr(xp, NULL, "out of memory");
fail:
    x_free(&pos);
    x_free(&negs);
    return -1;
}

/* Evaluates a whole expression into out (normalised). */
static int x_parse(const struct xkind *k, const char *expr, struct xset *out, struct rule_error *err)
{
    struct xparse xp = { k, err };
    const char *p = expr;

    memset(out, 0, sizeof *out);
    if (*skip_ws(p) == '\0')
        return xerr(&xp, NULL, "empty %s", k->noun);
    if (x_list(&xp, &p, 0, '\0', out) < 0)
        goto fail;
    if (x_empty(k, out)) {
        char agg[64];

        snprintf(agg, sizeof agg, "%s matches nothing", k->noun);
        xerr(&xp, agg, "%s '%.200s' matches nothing", k->noun, expr);
        goto fail;
    }
    return 0;
fail:
    x_free(out);
    return -1;
}

/* ------------------------------------------------------------------ public */

static void u128_split(u128 v, struct rule_u128 *o)
{
    o->hi = (uint64_t)(v >> 64);
    o->lo = (uint64_t)v;
}

int rule_addrset_parse(struct rule_addrset *out, const char *expr,
                       const struct lw_config *cfg, struct rule_error *err)
{
    struct xkind k = { "address", 2, { V4_MAX, U128_MAX }, addr_atom,
                       cfg ? &cfg->address_group_names : NULL,
                       cfg ? &cfg->address_group_values : NULL };
    struct ivset *s4, *s6;
    struct xset x;

    memset(out, 0, sizeof *out);
    if (x_parse(&k, expr, &x, err) < 0)
        return -1;
    s4 = &x.part[0];
    s6 = &x.part[1];
    if (s4->n == 1 && s4->v[0].lo == 0 && s4->v[0].hi == V4_MAX &&
        s6->n == 1 && s6->v[0].lo == 0 && s6->v[0].hi == U128_MAX) {
        out->any = 1;
        x_free(&x);
        return 0;
    }
    if ((s4->n && (out->v4 = calloc(s4->n, sizeof *out->v4)) == NULL) ||
        (s6->n && (out->v6 = calloc(s6->n, sizeof *out->v6)) == NULL))
        goto oom;
    for (size_t i = 0; i < s4->n; i++) {
        out->v4[i].lo = (uint32_t)s4->v[i].lo;
        out->v4[i].hi = (uint32_t)s4->v[i].hi;
    }
    for (size_t i = 0; i < s6->n; i++) {
        u128_split(s6->v[i].lo, &out->v6[i].lo);
        u128_split(s6->v[i].hi, &out->v6[i].hi);
    }
    out->n4 = (uint32_t)s4->n;
    out->n6 = (uint32_t)s6->n;
    x_free(&x);
    return 0;
oom:
    x_free(&x);
    rule_addrset_free(out);
    snprintf(err->msg, sizeof err->msg, "out of memory");
    snprintf(err->agg, sizeof err->agg, "out of memory");
    return -1;
}

int rule_portset_parse(struct rule_portset *out, const char *expr,
                       const struct lw_config *cfg, struct rule_error *err)
{
    struct xkind k = { "port", 1, { PORT_MAX, 0 }, port_atom,
                       cfg ? &cfg->port_group_names : NULL,
                       cfg ? &cfg->port_group_values : NULL };
    struct ivset *s;
    struct xset x;

    memset(out, 0, sizeof *out);
    if (x_parse(&k, expr, &x, err) < 0)
        return -1;
    s = &x.part[0];
    if (s->n == 1 && s->v[0].lo == 0 && s->v[0].hi == PORT_MAX) {
        out->any = 1;
        x_free(&x);
        return 0;
    }
    if ((out->r = calloc(s->n, sizeof *out->r)) == NULL) {
        x_free(&x);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        snprintf(err->agg, sizeof err->agg, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < s->n; i++) {
        out->r[i].lo = (uint16_t)s->v[i].lo;
        out->r[i].hi = (uint16_t)s->v[i].hi;
    }
    out->n = (uint32_t)s->n;
    x_free(&x);
    return 0;
}

void rule_addrset_free(struct rule_addrset *s)
{
    free(s->v4);
    free(s->v6);
    s->v4 = NULL;
    s->v6 = NULL;
    s->n4 = s->n6 = 0;
}

void rule_portset_free(struct rule_portset *s)
{
    free(s->r);
    s->r = NULL;
    s->n = 0;
}

static int u128_le(const struct rule_u128 *a, uint64_t hi, uint64_t lo)
{
    return a->hi < hi || (a->hi == hi && a->lo <= lo);
}

int rule_addr_match(const struct rule_addrset *s, const struct lw_addr *a)
{
    size_t lo = 0, hi;

    if (s->any)
        return 1;
    if (a->family == 4) {
        uint32_t k = lw_get32(a->u.b);

        hi = s->n4;
        while (lo < hi) {                   /* first range with lo > k */
            size_t mid = lo + (hi - lo) / 2;

            if (s->v4[mid].lo <= k)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo > 0 && k <= s->v4[lo - 1].hi;
    }
    if (a->family == 6) {
        uint64_t kh = (uint64_t)lw_get32(a->u.b) << 32 | lw_get32(a->u.b + 4);
        uint64_t kl = (uint64_t)lw_get32(a->u.b + 8) << 32 | lw_get32(a->u.b + 12);

        hi = s->n6;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;

            if (u128_le(&s->v6[mid].lo, kh, kl))
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == 0)
            return 0;
        {
            const struct rule_u128 *h = &s->v6[lo - 1].hi;

            return kh < h->hi || (kh == h->hi && kl <= h->lo);
        }
    }
    return 0;
}

int rule_port_match(const struct rule_portset *s, uint16_t port)
{
    size_t lo = 0, hi = s->n;

    if (s->any)
        return 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (s->r[mid].lo <= port)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && port <= s->r[lo - 1].hi;
}
