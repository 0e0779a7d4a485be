/* threshold.c - alert thresholds, detection filters and suppressions; see threshold.h. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "threshold.h"
#include "util.h"

#define NIL UINT32_MAX
#define USEC_PER_SEC 1000000ull

/* A suppress entry's track; threshold entries use enum rule_track. */
enum { SUP_TRACK_NONE = 0, SUP_TRACK_SRC, SUP_TRACK_DST, SUP_TRACK_EITHER };

/* One threshold.config line. */
struct th_cfg {
    uint32_t gid, sid;             /* 0: any */
    uint8_t  suppress;             /* else a threshold / event_filter */
    uint8_t  sup_track;            /* SUP_TRACK_* */
    struct rule_threshold thr;     /* threshold / event_filter */
    struct lw_cidr *ip;            /* suppress ip; owned */
    uint32_t nip;
    uint32_t line;
};

/* One tracked key and its window. Entries live in a pool; the index is an
 * open addressing table of pool numbers (linear probing, at most half
 * full), so the backward-shift delete moves numbers, never entries, and
 * the window-age list linking entries stays valid. */
struct th_entry {
    uint64_t hash;
    uint64_t start;                /* window start, usec capture time */
    uint32_t gid, sid;
    uint32_t count;                /* matches in this window (see check_entry) */
    uint32_t seconds;              /* window length the key last ran under */
    uint32_t prev, next;           /* age list by window start; free list uses next */
    uint32_t rev;                  /* of the rule that last counted here */
    uint8_t  track;
    uint8_t  pad[3];
    struct lw_addr a, b;
};

struct threshold_ctx {
    struct th_entry *pool;
    uint32_t max, live;
    uint32_t free_head;
    uint32_t head, tail;           /* oldest and newest window */
    uint32_t *slots;
    uint32_t mask;

    struct th_cfg *spec;           /* sig_id != 0, sorted by sid then gid */
    size_t nspec;
    struct th_cfg *wild;           /* sig_id 0, in file order */
    size_t nwild;

    struct threshold_stats st;

    /* Several workers: keys tracked by source, destination or rule live in
     * one shared context (locked), checked in capture order. */
    struct threshold_ctx *shared;  /* NULL: all keys here */
    void (*order)(void *arg);      /* waits for capture order before a shared check */
    void *order_arg;
    pthread_mutex_t mu;            /* of a shared context */
    int is_shared;
};


struct threshold_ctx *threshold_new_shared(size_t max_entries)
{
    struct threshold_ctx *t = threshold_new(max_entries);

    if (t) {
        pthread_mutex_init(&t->mu, NULL);
        t->is_shared = 1;
    }
    return t;
}

void threshold_use_shared(struct threshold_ctx *t, struct threshold_ctx *shared)
{
    t->shared = shared;
}

void threshold_set_order(struct threshold_ctx *t, void (*fn)(void *arg), void *arg)
{
    t->order = fn;
    t->order_arg = arg;
}

/* ------------------------------------------------------------------ context */

struct threshold_ctx *threshold_new(size_t max_entries)
{
    struct threshold_ctx *t;
    size_t cap = 2;

    if (max_entries == 0)
        max_entries = THRESHOLD_DEFAULT_ENTRIES;
    if (max_entries > THRESHOLD_MAX_ENTRIES)
        max_entries = THRESHOLD_MAX_ENTRIES;
    while (cap < max_entries * 2)
        cap <<= 1;
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->pool = calloc(max_entries, sizeof *t->pool);
    t->slots = malloc(cap * sizeof *t->slots);
    if (t->pool == NULL || t->slots == NULL)
        goto fail;
    memset(t->slots, 0xff, cap * sizeof *t->slots);
    t->mask = (uint32_t)(cap - 1);
    t->max = (uint32_t)max_entries;
    for (uint32_t i = 0; i < t->max; i++)
        t->pool[i].next = i + 1 < t->max ? i + 1 : NIL;
    t->free_head = 0;
    t->head = t->tail = NIL;
    t->st.max_entries = t->max;
    return t;
fail:
    threshold_free(t);
    return NULL;
}

static void cfg_free(struct th_cfg *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].ip);
    free(v);
}

void threshold_free(struct threshold_ctx *t)
{
    if (t == NULL)
        return;
    cfg_free(t->spec, t->nspec);
    cfg_free(t->wild, t->nwild);
    if (t->is_shared)
        pthread_mutex_destroy(&t->mu);
    free(t->pool);
    free(t->slots);
    free(t);
}

void threshold_stats(const struct threshold_ctx *t, struct threshold_stats *out)
{
    *out = t->st;
    out->entries = t->live;
    out->config_entries = t->nspec + t->nwild;
}

/* ------------------------------------------------------------------ the key table */

static void age_unlink(struct threshold_ctx *t, uint32_t i)
{
    struct th_entry *e = &t->pool[i];

    if (e->prev != NIL)
        t->pool[e->prev].next = e->next;
    else
        t->head = e->next;
    if (e->next != NIL)
        t->pool[e->next].prev = e->prev;
    else
        t->tail = e->prev;
    e->prev = e->next = NIL;
}

static void age_append(struct threshold_ctx *t, uint32_t i)
{
    struct th_entry *e = &t->pool[i];

    e->prev = t->tail;
    e->next = NIL;
    if (t->tail != NIL)
        t->pool[t->tail].next = i;
    else
        t->head = i;
    t->tail = i;
}

static uint64_t key_hash(uint32_t gid, uint32_t sid, uint8_t track,
                         const struct lw_addr *a, const struct lw_addr *b)
{
    uint64_t h = lw_mix64(((uint64_t)gid << 32 | sid) ^ ((uint64_t)track << 56));

    for (int i = 0; i < 4; i++)
        h = lw_mix64(h ^ ((uint64_t)a->u.w[i] << 32 | b->u.w[i]));
    return lw_mix64(h ^ ((uint64_t)a->family << 8 | b->family));
}

static int key_eq(const struct th_entry *e, uint64_t h, uint32_t gid, uint32_t sid,
                  uint8_t track, const struct lw_addr *a, const struct lw_addr *b)
{
    return e->hash == h && e->gid == gid && e->sid == sid && e->track == track &&
           lw_addr_cmp(&e->a, a) == 0 && lw_addr_cmp(&e->b, b) == 0;
}

/* 1 when now is inside the window opened at start. A packet older than the
 * window start (capture times from several sources may step back a little)
 * counts as inside. */
static int in_window(uint64_t start, uint64_t now, uint32_t seconds)
{
    return now < start || now - start < (uint64_t)seconds * USEC_PER_SEC;
}

/* Removes pool entry i from the index (backward-shift delete, so no
 * tombstones accumulate) and from the age list, and frees it. */
static void entry_remove(struct threshold_ctx *t, uint32_t i)
{
    uint32_t s = (uint32_t)t->pool[i].hash & t->mask, j, k;

    while (t->slots[s] != i)
        s = (s + 1) & t->mask;
    j = s;
    for (;;) {
        j = (j + 1) & t->mask;
        if (t->slots[j] == NIL)
            break;
        k = (uint32_t)t->pool[t->slots[j]].hash & t->mask;
        /* The entry at j may move to s only if its home is not in (s, j]. */
        if (s <= j ? (s < k && k <= j) : (s < k || k <= j))
            continue;
        t->slots[s] = t->slots[j];
        s = j;
    }
    t->slots[s] = NIL;
    age_unlink(t, i);
    t->pool[i].next = t->free_head;
    t->free_head = i;
    t->live--;
}

/* Makes room by dropping the key whose window opened longest ago. */
static void evict_oldest(struct threshold_ctx *t, uint64_t now)
{
    uint32_t i = t->head;
    const struct th_entry *e = &t->pool[i];

    /* An open window lost means a threshold may alert early or late:
     * worth telling apart from dropping a key that had gone quiet. */
    if (in_window(e->start, now, e->seconds))
        t->st.evicted_open++;
    t->st.evicted++;
    entry_remove(t, i);
}

/* Finds the key, or adds it with an empty window (count 0, start 0, not
 * yet in the age list: the caller opens the window). Never fails: when
 * full, the oldest window goes. *fresh tells which happened. */
static struct th_entry *entry_get(struct threshold_ctx *t, uint32_t gid, uint32_t sid,
                                  uint8_t track, const struct lw_addr *a,
                                  const struct lw_addr *b, uint64_t now, int *fresh)
{
    uint64_t h = key_hash(gid, sid, track, a, b);
    uint32_t s = (uint32_t)h & t->mask, i;
    struct th_entry *e;

    while ((i = t->slots[s]) != NIL) {
        if (key_eq(&t->pool[i], h, gid, sid, track, a, b)) {
            *fresh = 0;
            return &t->pool[i];
        }
        s = (s + 1) & t->mask;
    }
    if (t->live == t->max) {
        evict_oldest(t, now);
        s = (uint32_t)h & t->mask;        /* the delete may have shifted slots */
        while (t->slots[s] != NIL)
            s = (s + 1) & t->mask;
    }
    i = t->free_head;
    e = &t->pool[i];
    t->free_head = e->next;
    memset(e, 0, sizeof *e);
    e->hash = h;
    e->gid = gid;
    e->sid = sid;
    e->track = track;
    e->a = *a;
    e->b = *b;
    e->prev = e->next = NIL;
    t->slots[s] = i;
    t->live++;
    age_append(t, i);
    *fresh = 1;
    return e;
}

/* ------------------------------------------------------------------ checking */

/* Counts one match of e under thr at now; returns 1 for an alert. */
static int check_entry(struct threshold_ctx *t, struct th_entry *e, int fresh,
                       const struct rule_threshold *thr, uint64_t now)
{
    if (fresh || !in_window(e->start, now, thr->seconds)) {
        e->start = now;
        e->count = 0;
        e->seconds = thr->seconds;
        age_unlink(t, (uint32_t)(e - t->pool));
        age_append(t, (uint32_t)(e - t->pool));
    }
    if (e->count < UINT32_MAX)
        e->count++;
    switch (thr->type) {
    case RULE_THR_LIMIT:
        return e->count <= thr->count;
    case RULE_THR_THRESHOLD:
        if (e->count < thr->count)
            return 0;
        e->count = 0;                    /* every count-th, window unchanged */
        return 1;
    case RULE_THR_BOTH:
        return e->count == thr->count;
    case RULE_THR_DETECTION_FILTER:
        return e->count > thr->count;
    default:
        return 1;
    }
}

/* Picks the tracked addresses of p for track: by_both orders the pair so
 * both directions share one key. */
static void track_addrs(uint8_t track, const struct packet *p,
                        struct lw_addr *a, struct lw_addr *b)
{
    memset(a, 0, sizeof *a);
    memset(b, 0, sizeof *b);
    switch (track) {
    case RULE_TRACK_BY_SRC:
        *a = p->src;
        break;
    case RULE_TRACK_BY_DST:
        *a = p->dst;
        break;
    case RULE_TRACK_BY_BOTH:
        if (lw_addr_cmp(&p->src, &p->dst) <= 0) {
            *a = p->src;
            *b = p->dst;
        } else {
            *a = p->dst;
            *b = p->src;
        }
        break;
    default:
        break;
    }
}

static int ip_in(const struct th_cfg *c, const struct lw_addr *a)
{
    for (uint32_t i = 0; i < c->nip; i++)
        if (lw_cidr_contains(&c->ip[i], a))
            return 1;
    return 0;
}

static int suppress_hits(const struct th_cfg *c, const struct packet *p)
{
    switch (c->sup_track) {
    case SUP_TRACK_SRC:    return ip_in(c, &p->src);
    case SUP_TRACK_DST:    return ip_in(c, &p->dst);
    case SUP_TRACK_EITHER: return ip_in(c, &p->src) || ip_in(c, &p->dst);
    default:               return 1;
    }
}

/* The first spec entry with this sid, or NULL. */
static const struct th_cfg *spec_first(const struct threshold_ctx *t, uint32_t sid)
{
    size_t lo = 0, hi = t->nspec;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->spec[mid].sid < sid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->nspec && t->spec[lo].sid == sid ? &t->spec[lo] : NULL;
}

/* Applies the config entries for r to p: returns 1 when a suppression
 * drops the match; else sets *thr to the threshold that governs r (the
 * most specific config entry, or NULL to use the rule's own). */
static int config_lookup(const struct threshold_ctx *t, const struct rule *r,
                         const struct packet *p, const struct rule_threshold **thr)
{
    const struct th_cfg *c = spec_first(t, r->sid), *end = t->spec + t->nspec;
    const struct th_cfg *exact = NULL, *anygid = NULL, *wgid = NULL, *wall = NULL;

    for (; c != NULL && c < end && c->sid == r->sid; c++) {
        if (c->gid != 0 && c->gid != r->gid)
            continue;
        if (c->suppress) {
            if (suppress_hits(c, p))
                return 1;
        } else if (c->gid != 0) {
            exact = c;
        } else {
            anygid = c;
        }
    }
    for (size_t i = 0; i < t->nwild; i++) {
        c = &t->wild[i];
        if (c->gid != 0 && c->gid != r->gid)
            continue;
        if (c->suppress) {
            if (suppress_hits(c, p))
                return 1;
        } else if (c->gid != 0) {
            wgid = c;
        } else {
            wall = c;
        }
    }
    if (exact != NULL || anygid != NULL)
        *thr = exact != NULL ? &exact->thr : &anygid->thr;
    else if (r->threshold.type == RULE_THR_NONE && (wgid != NULL || wall != NULL))
        *thr = wgid != NULL ? &wgid->thr : &wall->thr;
    return 0;
}

int threshold_check(struct threshold_ctx *t, const struct rule *r,
                    const struct packet *p, uint64_t ts_usec)
{
    const struct rule_threshold *thr = NULL;
    struct threshold_ctx *k;
    struct lw_addr a, b;
    struct th_entry *e;
    int fresh, ok;

    if ((t->nspec != 0 || t->nwild != 0) && config_lookup(t, r, p, &thr)) {
        t->st.suppressed++;
        return 0;
    }
    if (thr == NULL)
        thr = &r->threshold;
    if (thr->type == RULE_THR_NONE)
        return 1;
    track_addrs(thr->track, p, &a, &b);
    /* A source (destination, rule) has flows in every worker: one shared
     * table, and the checks in the order a single worker makes them. */
    k = t->shared && thr->track != RULE_TRACK_BY_BOTH ? t->shared : t;
    if (k != t) {
        if (t->order)
            t->order(t->order_arg);
        pthread_mutex_lock(&k->mu);
    }
    e = entry_get(k, r->gid, r->sid, thr->track, &a, &b, ts_usec, &fresh);
    if (!fresh && e->rev != r->rev)
        fresh = 1;                   /* the rule changed (reload): counting starts over */
    e->rev = r->rev;
    ok = check_entry(k, e, fresh, thr, ts_usec);
    if (k != t)
        pthread_mutex_unlock(&k->mu);
    if (ok)
        return 1;
    t->st.thresholded++;
    return 0;
}

/* ------------------------------------------------------------------ xbits */

/* An xbit is an entry of the key table: gid:sid hold its name's hash,
 * track is XBIT_TRACK + the rule_xtrack (so it never meets a threshold
 * key), start the time it was set and seconds its expiry. */
#define XBIT_TRACK 16u
#define XBIT_DEFAULT_EXPIRE 3600u

static void xbit_addrs(uint8_t xt, const struct packet *p, struct lw_addr *a, struct lw_addr *b)
{
    track_addrs(xt == RULE_XT_SRC ? RULE_TRACK_BY_SRC : xt == RULE_XT_DST ? RULE_TRACK_BY_DST
                                                                            : RULE_TRACK_BY_BOTH, p, a, b);
}

/* The live entry of the bit in k, NULL when not set (or expired: then
 * removed). */
static struct th_entry *xbit_find(struct threshold_ctx *k, uint64_t name, uint8_t xt,
                                  const struct lw_addr *a, const struct lw_addr *b, uint64_t now)
{
    uint32_t gid = (uint32_t)(name >> 32), sid = (uint32_t)name;
    uint8_t track = (uint8_t)(XBIT_TRACK + xt);
    uint64_t h = key_hash(gid, sid, track, a, b);

    for (uint32_t s = (uint32_t)h & k->mask, i; (i = k->slots[s]) != NIL; s = (s + 1) & k->mask)
        if (key_eq(&k->pool[i], h, gid, sid, track, a, b)) {
            if (in_window(k->pool[i].start, now, k->pool[i].seconds))
                return &k->pool[i];
            entry_remove(k, i);
            return NULL;
        }
    return NULL;
}

int threshold_xbit(struct threshold_ctx *t, uint8_t op, uint64_t name, uint8_t xt, uint32_t expire,
                   const struct packet *p, uint64_t ts_usec)
{
    struct threshold_ctx *k = t->shared && xt != RULE_XT_PAIR ? t->shared : t;
    struct lw_addr a, b;
    struct th_entry *e;
    int fresh, set;

    xbit_addrs(xt, p, &a, &b);
    if (k != t) {
        if (t->order)
            t->order(t->order_arg);
        pthread_mutex_lock(&k->mu);
    }
    e = xbit_find(k, name, xt, &a, &b, ts_usec);
    set = e != NULL;
    if ((op == RULE_BIT_UNSET || op == RULE_BIT_TOGGLE) && e != NULL) {
        entry_remove(k, (uint32_t)(e - k->pool));
    } else if (op == RULE_BIT_SET || (op == RULE_BIT_TOGGLE && e == NULL)) {
        e = entry_get(k, (uint32_t)(name >> 32), (uint32_t)name, (uint8_t)(XBIT_TRACK + xt), &a, &b,
                      ts_usec, &fresh);
        e->start = ts_usec;
        e->seconds = expire ? expire : XBIT_DEFAULT_EXPIRE;
        e->count = 1;
        age_unlink(k, (uint32_t)(e - k->pool));
        age_append(k, (uint32_t)(e - k->pool));
    }
    if (k != t)
        pthread_mutex_unlock(&k->mu);
    switch (op) {
    case RULE_BIT_ISSET:    return set;
    case RULE_BIT_ISNOTSET: return !set;
    default:                return 1;
    }
}

void threshold_carry_over(struct threshold_ctx *dst, const struct threshold_ctx *src,
                          int (*keep)(void *arg, uint32_t gid, uint32_t sid, uint32_t rev),
                          void *arg)
{
    for (uint32_t i = src->head; i != NIL; i = src->pool[i].next) {
        const struct th_entry *s = &src->pool[i];
        struct th_entry *d;
        int fresh;

        if (s->track < XBIT_TRACK && !keep(arg, s->gid, s->sid, s->rev))
            continue;                /* xbits are the hosts' state: they stay */
        d = entry_get(dst, s->gid, s->sid, s->track, &s->a, &s->b, s->start, &fresh);
        d->rev = s->rev;
        d->start = s->start;
        d->count = s->count;
        d->seconds = s->seconds;
        /* Oldest first: appending keeps dst's age list in window order. */
        age_unlink(dst, (uint32_t)(d - dst->pool));
        age_append(dst, (uint32_t)(d - dst->pool));
    }
}

/* ------------------------------------------------------------------ threshold.config */

struct cfg_parse {
    const char *path;
    uint32_t line;
    char *err;
    size_t errlen;
};

static int perr(struct cfg_parse *cp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fills the error as "file:line: reason"; returns -1. */
static int perr(struct cfg_parse *cp, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (cp->errlen == 0)
        return -1;
    n = snprintf(cp->err, cp->errlen, "%s:%u: ", cp->path, cp->line);
    if (n < 0 || (size_t)n >= cp->errlen)
        return -1;
    va_start(ap, fmt);
    vsnprintf(cp->err + n, cp->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int parse_u32(const char *s, uint32_t *out)
{
    unsigned long long v;
    char *end;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Parses "A", "A/N" or "[A, B/N, ...]" into a new array in c. */
static int parse_ip(struct cfg_parse *cp, struct th_cfg *c, char *v)
{
    size_t len = strlen(v), n = 1;
    char *tok, *save = NULL;

    if (v[0] == '$')
        return perr(cp, "ip '%s': address variables are not supported", v);
    if (v[0] == '[') {
        if (len < 2 || v[len - 1] != ']')
            return perr(cp, "ip '%s': unterminated list", v);
        v[len - 1] = '\0';
        v++;
    }
    for (const char *s = v; *s; s++)
        n += *s == ',';
    c->ip = calloc(n, sizeof *c->ip);
    if (c->ip == NULL)
        return perr(cp, "out of memory");
    for (tok = strtok_r(v, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        tok = trim(tok);
        if (tok[0] == '$')
            return perr(cp, "ip '%s': address variables are not supported", tok);
        if (tok[0] == '!' || tok[0] == '[')
            return perr(cp, "ip '%s': negation and nested lists are not supported", tok);
        if (lw_cidr_parse(tok, &c->ip[c->nip]) < 0)
            return perr(cp, "bad ip '%s'", tok);
        c->nip++;
    }
    if (c->nip == 0)
        return perr(cp, "ip: empty list");
    return 0;
}

static int parse_type(struct cfg_parse *cp, const char *v, uint8_t *out)
{
    if (strcmp(v, "limit") == 0)
        *out = RULE_THR_LIMIT;
    else if (strcmp(v, "threshold") == 0)
        *out = RULE_THR_THRESHOLD;
    else if (strcmp(v, "both") == 0)
        *out = RULE_THR_BOTH;
    else
        return perr(cp, "bad type '%s' (limit, threshold or both)", v);
    return 0;
}

static int parse_track(struct cfg_parse *cp, struct th_cfg *c, const char *v)
{
    static const char *const thr_names[] = { "by_src", "by_dst", "by_rule", "by_both" };
    static const char *const sup_names[] = { "by_src", "by_dst", "by_either" };

    if (c->suppress) {
        for (size_t i = 0; i < sizeof sup_names / sizeof *sup_names; i++)
            if (strcmp(v, sup_names[i]) == 0) {
                c->sup_track = (uint8_t)(SUP_TRACK_SRC + i);
                return 0;
            }
        return perr(cp, "bad track '%s' for suppress (by_src, by_dst or by_either)", v);
    }
    for (size_t i = 0; i < sizeof thr_names / sizeof *thr_names; i++)
        if (strcmp(v, thr_names[i]) == 0) {
            c->thr.track = (uint8_t)i;     /* enum rule_track order */
            return 0;
        }
    return perr(cp, "bad track '%s' (by_src, by_dst, by_rule or by_both)", v);
}

/* Splits "key value" items at top-level commas (an ip list has its own). */
static char *next_item(char **cur)
{
    char *s = *cur, *p;
    int depth = 0;

    if (s == NULL)
        return NULL;
    for (p = s; *p; p++) {
        if (*p == '[')
            depth++;
        else if (*p == ']')
            depth--;
        else if (*p == ',' && depth <= 0)
            break;
    }
    *cur = *p ? p + 1 : NULL;
    *p = '\0';
    return s;
}

#define SEEN_GID     0x01u
#define SEEN_SID     0x02u
#define SEEN_TYPE    0x04u
#define SEEN_TRACK   0x08u
#define SEEN_COUNT   0x10u
#define SEEN_SECONDS 0x20u
#define SEEN_IP      0x40u

/* One "key value" item of an entry. */
static int parse_item(struct cfg_parse *cp, struct th_cfg *c, char *item, unsigned *seen)
{
    static const char *const keys[] = { "gen_id", "sig_id", "type", "track", "count", "seconds", "ip" };
    char *k = trim(item), *v = k;
    unsigned bit = 0;
    size_t i;

    while (*v && !isspace((unsigned char)*v))
        v++;
    if (*v)
        *v++ = '\0';
    v = trim(v);
    if (*k == '\0')
        return perr(cp, "empty option");
    for (i = 0; i < sizeof keys / sizeof *keys; i++)
        if (strcmp(k, keys[i]) == 0)
            bit = 1u << i;
    if (bit == 0)
        return perr(cp, "unknown option '%s'", k);
    if (*seen & bit)
        return perr(cp, "option '%s' given twice", k);
    *seen |= bit;
    if (*v == '\0')
        return perr(cp, "option '%s' needs a value", k);
    if (c->suppress && (bit & (SEEN_TYPE | SEEN_COUNT | SEEN_SECONDS)))
        return perr(cp, "option '%s' is not valid for suppress", k);
    if (!c->suppress && bit == SEEN_IP)
        return perr(cp, "option 'ip' is only valid for suppress");
    switch (bit) {
    case SEEN_GID:
        return parse_u32(v, &c->gid) < 0 ? perr(cp, "bad gen_id '%s'", v) : 0;
    case SEEN_SID:
        return parse_u32(v, &c->sid) < 0 ? perr(cp, "bad sig_id '%s'", v) : 0;
    case SEEN_TYPE:
        return parse_type(cp, v, &c->thr.type);
    case SEEN_TRACK:
        return parse_track(cp, c, v);
    case SEEN_COUNT:
        if (parse_u32(v, &c->thr.count) < 0 || c->thr.count == 0)
            return perr(cp, "bad count '%s' (1 or more)", v);
        return 0;
    case SEEN_SECONDS:
        if (parse_u32(v, &c->thr.seconds) < 0 || c->thr.seconds == 0)
            return perr(cp, "bad seconds '%s' (1 or more)", v);
        return 0;
    default:
        return parse_ip(cp, c, v);
    }
}

/* Parses one entry (comment and continuations already removed). */
static int parse_entry(struct cfg_parse *cp, char *text, struct th_cfg *c)
{
    char *rest = text, *dir, *item;
    unsigned seen = 0;

    memset(c, 0, sizeof *c);
    c->line = cp->line;
    dir = rest;
    while (*rest && !isspace((unsigned char)*rest))
        rest++;
    if (*rest)
        *rest++ = '\0';
    if (strcmp(dir, "suppress") == 0)
        c->suppress = 1;
    else if (strcmp(dir, "rate_filter") == 0)
        return perr(cp, "rate_filter is not supported (linkwatch is passive)");
    else if (strcmp(dir, "threshold") != 0 && strcmp(dir, "event_filter") != 0)
        return perr(cp, "unknown entry '%s' (suppress, threshold or event_filter)", dir);
    while ((item = next_item(&rest)) != NULL)
        if (parse_item(cp, c, item, &seen) < 0)
            return -1;
    if ((seen & (SEEN_GID | SEEN_SID)) != (SEEN_GID | SEEN_SID))
        return perr(cp, "%s needs gen_id and sig_id", dir);
    if (c->suppress) {
        if ((seen & SEEN_TRACK) && !(seen & SEEN_IP))
            return perr(cp, "suppress with track needs ip");
        if ((seen & SEEN_IP) && !(seen & SEEN_TRACK))
            return perr(cp, "suppress with ip needs track");
        return 0;
    }
    if ((seen & (SEEN_TYPE | SEEN_TRACK | SEEN_COUNT | SEEN_SECONDS)) !=
        (SEEN_TYPE | SEEN_TRACK | SEEN_COUNT | SEEN_SECONDS))
        return perr(cp, "%s needs type, track, count and seconds", dir);
    return 0;
}

struct cfg_vec {
    struct th_cfg *v;
    size_t n, cap;
};

static int vec_push(struct cfg_vec *vec, const struct th_cfg *c)
{
    if (vec->n == vec->cap) {
        size_t cap = vec->cap ? vec->cap * 2 : 16;
        struct th_cfg *v = realloc(vec->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        vec->v = v;
        vec->cap = cap;
    }
    vec->v[vec->n++] = *c;
    return 0;
}

static int cfg_cmp(const void *x, const void *y)
{
    const struct th_cfg *a = x, *b = y;

    if (a->sid != b->sid)
        return a->sid < b->sid ? -1 : 1;
    if (a->gid != b->gid)
        return a->gid < b->gid ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line;
}

/* Refuses a second threshold for the same gen_id/sig_id, in the file or
 * already loaded: which one should win would be a guess. */
static int check_dup(struct cfg_parse *cp, const struct threshold_ctx *t,
                     const struct cfg_vec *vec, const struct th_cfg *c)
{
    const struct th_cfg *old = c->sid != 0 ? t->spec : t->wild;
    size_t nold = c->sid != 0 ? t->nspec : t->nwild;

    if (c->suppress)
        return 0;
    for (size_t i = 0; i < vec->n; i++)
        if (!vec->v[i].suppress && vec->v[i].gid == c->gid && vec->v[i].sid == c->sid)
            return perr(cp, "gen_id %u, sig_id %u already has a threshold (line %u)",
                        c->gid, c->sid, vec->v[i].line);
    for (size_t i = 0; i < nold; i++)
        if (!old[i].suppress && old[i].gid == c->gid && old[i].sid == c->sid)
            return perr(cp, "gen_id %u, sig_id %u already has a threshold (an earlier file)",
                        c->gid, c->sid);
    return 0;
}

/* Appends the parsed entries to t; on failure t is unchanged. */
static int cfg_commit(struct threshold_ctx *t, struct cfg_vec *spec, struct cfg_vec *wild)
{
    struct th_cfg *s = NULL, *w = NULL;

    if (spec->n != 0) {
        s = realloc(t->spec, (t->nspec + spec->n) * sizeof *s);
        if (s == NULL)
            return -1;
        t->spec = s;
    }
    if (wild->n != 0) {
        w = realloc(t->wild, (t->nwild + wild->n) * sizeof *w);
        if (w == NULL)
            return -1;
        t->wild = w;
    }
    if (spec->n != 0)
        memcpy(t->spec + t->nspec, spec->v, spec->n * sizeof *s);
    if (wild->n != 0)
        memcpy(t->wild + t->nwild, wild->v, wild->n * sizeof *w);
    t->nspec += spec->n;
    t->nwild += wild->n;
    if (t->nspec != 0)
        qsort(t->spec, t->nspec, sizeof *t->spec, cfg_cmp);
    spec->n = wild->n = 0;             /* the ip arrays now belong to t */
    return 0;
}

/* Reads one logical line: strips the comment, joins lines ending in a
 * backslash. Returns 1 with the text in buf, 0 at end of file, -1 on
 * error. cp->line is the logical line's first line. */
static int read_entry(FILE *f, struct cfg_parse *cp, uint32_t *phys, char *buf, size_t len)
{
    char raw[THRESHOLD_MAX_LINE];
    size_t used = 0;
    int more = 0;

    buf[0] = '\0';
    while (fgets(raw, sizeof raw, f) != NULL) {
        size_t n = strlen(raw);
        char *hash;

        ++*phys;
        if (!more)
            cp->line = *phys;
        if (n == sizeof raw - 1 && raw[n - 1] != '\n' && !feof(f))
            return perr(cp, "line too long (more than %d bytes)", THRESHOLD_MAX_LINE - 2);
        if ((hash = strchr(raw, '#')) != NULL)
            *hash = '\0';
        n = strlen(raw);
        while (n > 0 && isspace((unsigned char)raw[n - 1]))
            raw[--n] = '\0';
        more = n > 0 && raw[n - 1] == '\\';
        if (more)
            raw[--n] = '\0';
        if (used + n + 2 > len)
            return perr(cp, "line too long (more than %d bytes)", THRESHOLD_MAX_LINE - 2);
        memcpy(buf + used, raw, n);
        used += n;
        buf[used++] = ' ';
        buf[used] = '\0';
        if (!more && trim(buf)[0] != '\0')
            return 1;
        if (!more)
            used = 0;
    }
    if (ferror(f))
        return perr(cp, "read error: %s", strerror(errno));
    return trim(buf)[0] != '\0';
}

int threshold_config_load(struct threshold_ctx *t, const char *path, char *err, size_t errlen)
{
    struct cfg_parse cp = { path, 0, err, errlen };
    struct cfg_vec spec = { 0 }, wild = { 0 };
    char *buf = NULL;
    uint32_t phys = 0;
    FILE *f;
    int rc, loaded;

    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    buf = malloc(THRESHOLD_MAX_LINE);
    if (buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    while ((rc = read_entry(f, &cp, &phys, buf, THRESHOLD_MAX_LINE)) == 1) {
        struct th_cfg c;

        if (parse_entry(&cp, trim(buf), &c) < 0 ||
            check_dup(&cp, t, c.sid != 0 ? &spec : &wild, &c) < 0) {
            free(c.ip);
            goto fail;
        }
        if (vec_push(c.sid != 0 ? &spec : &wild, &c) < 0) {
            free(c.ip);
            perr(&cp, "out of memory");
            goto fail;
        }
    }
    if (rc < 0)
        goto fail;
    loaded = (int)(spec.n + wild.n);
    if (cfg_commit(t, &spec, &wild) < 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    free(spec.v);
    free(wild.v);
    free(buf);
    fclose(f);
    return loaded;
fail:
    cfg_free(spec.v, spec.n);
    cfg_free(wild.v, wild.n);
    free(buf);
    fclose(f);
    return -1;
}
