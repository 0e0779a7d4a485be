/* console-query.c - the alert list and groups from the alert indexes; see
 * console-query.h. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "console-query.h"
#include "alert-index.h"
#include "redis-cluster.h"
#include "redis-ctx.h"
#include "json.h"
#include "util.h"

#define CHUNK       128        /* ids per refill of a driving list */
#define BATCH       256        /* candidates read from the stream at once */
#define ISECT_CAP   2048       /* most ids of one list read to intersect a batch */
#define ISECT_RATIO 32         /* intersect with terms at most this much larger than the driver */
#define ISECT_LISTS 64         /* ... and made of at most this many lists */
#define MAX_TERMS   12
#define STREAM_PAGE 1000

struct xid { uint64_t ms, seq; };

static const struct xid XID_TOP = { UINT64_MAX, UINT64_MAX };

static int xcmp(struct xid a, struct xid b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    return a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0;
}

static int xparse(const char *s, struct xid *x)
{
    return aix_id_parse(s, &x->ms, &x->seq);
}

static void xstr(struct xid x, char *buf, size_t len)
{
    snprintf(buf, len, "%llu-%llu", (unsigned long long)x.ms, (unsigned long long)x.seq);
}

/* The id right after x: "before xnext(x)" includes x. */
static struct xid xnext(struct xid x)
{
    if (x.seq == UINT64_MAX)
        return (struct xid){ x.ms + 1, 0 };
    return (struct xid){ x.ms, x.seq + 1 };
}

static int xcmp_desc(const void *a, const void *b)
{
    return -xcmp(*(const struct xid *)a, *(const struct xid *)b);
}

/* ------------------------------------------------------------------ plan */

/* One index list (or status zset) of a term, with its read-ahead. */
struct source {
    char key[RKEY_MAX];
    uint64_t size;
    struct xid *ids;             /* read ahead, newest first */
    size_t n, head, cap;
    struct xid hi;               /* the next read: ids before this */
    int done;                    /* nothing older left in the window */
};

/* One filter: the union of its sources. */
struct term {
    char name[300];
    struct source *s;
    size_t ns, cs;
    uint64_t size;
};

struct plan {
    struct term t[MAX_TERMS];
    size_t nt;
    struct xid lo, hi;           /* the window: lo <= id < hi */
    int empty;                   /* a filter matches nothing */
    int use_index;               /* the index may be used at all */
    struct xid from;             /* it covers ids >= from */
    int partial_index;           /* the stream has older ids than from */
    json_t *notes;
};

struct walk {
    struct rcx *c;
    const struct rkeys *rk;
    const struct cq_query *q;
    cq_visit_fn visit;
    void *cls;
    struct cq_answer *a;
    struct plan p;
    char stream[RKEY_MAX], triage[RKEY_MAX], sha[48];
    uint64_t t0;
    int stop;                    /* the visitor said stop */
    int any;                     /* last is set */
    struct xid last;             /* the last id examined */
};

static redisReply *cmdv(struct rcx *c, int argc, const char **argv)
{
    redisReply *r = rcx_command(c, argc, argv, NULL);

    if (r && r->type == REDIS_REPLY_ERROR) {
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

static struct term *term_new(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A new term named as fmt says; NULL when there are too many. */
static struct term *term_new(struct plan *p, const char *fmt, ...)
{
    struct term *t;
    va_list ap;

    if (p->nt == MAX_TERMS)
        return NULL;
    t = &p->t[p->nt++];
    memset(t, 0, sizeof *t);
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    return t;
}

static int term_add(struct term *t, const char *key)
{
    if (t == NULL)
        return -1;
    if (t->ns == t->cs) {
        size_t nc = t->cs ? 2 * t->cs : 4;
        struct source *ns = realloc(t->s, nc * sizeof *ns);
        if (ns == NULL)
            return -1;
        t->s = ns;
        t->cs = nc;
    }
    memset(&t->s[t->ns], 0, sizeof t->s[t->ns]);
    snprintf(t->s[t->ns].key, RKEY_MAX, "%s", key);
    t->s[t->ns++].hi = XID_TOP;
    return 0;
}

static void plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->nt; i++) {
        for (size_t j = 0; j < p->t[i].ns; j++)
            free(p->t[i].s[j].ids);
        free(p->t[i].s);
    }
    p->nt = 0;
}

static void note(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Says in the answer how a filter was (not) answered. */
static void note(struct plan *p, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_array_append_new(p->notes, json_string(buf));
}

/* The lists of one end for a CIDR: its host, its /24 or /64, or every /24
 * (/64) of a /16 to /23 (/56 to /63). Returns -1 when wider: no index. */
static int cidr_lists(struct term *t, const struct rkeys *rk, const char *side, const struct lw_cidr *c)
{
    unsigned v4 = c->addr.family == 4, full = v4 ? 32 : 128, net = v4 ? 24 : 64, widest = v4 ? 16 : 56;
    char key[RKEY_MAX], txt[LW_ADDRSTRLEN];

    if (c->prefix == full) {
        lw_addr_str(&c->addr, txt, sizeof txt);
        rkey_ix(key, sizeof key, rk, side, txt);
        return term_add(t, key);
    }
    if (c->prefix < widest)
        return -1;
    for (unsigned i = 0; i < 1u << (c->prefix >= net ? 0 : net - c->prefix); i++) {
        struct lw_addr a = c->addr;
        a.u.b[net / 8 - 1] |= (uint8_t)i;
        rkey_ix_net(key, sizeof key, rk, side, &a);
        if (term_add(t, key) < 0)
            return -1;
    }
    return 0;
}

static void cidr_term(struct plan *p, const struct rkeys *rk, const char *name,
                      const struct lw_cidr *c)
{
    char txt[LW_ADDRSTRLEN + 8];
    struct term *t;
    int rc;

    lw_addr_str(&c->addr, txt, sizeof txt);
    snprintf(txt + strlen(txt), sizeof txt - strlen(txt), "/%u", c->prefix);
    t = term_new(p, "%s=%s", name, txt);
    if (t == NULL)
        return;
    if (strcmp(name, "ip") == 0)
        rc = cidr_lists(t, rk, "src", c) < 0 ? -1 : cidr_lists(t, rk, "dst", c);
    else
        rc = cidr_lists(t, rk, name, c);
    if (rc < 0) {
        free(t->s);
        p->nt--;
        note(p, "%s: no index for a network wider than /16 (IPv4) or /56 (IPv6); "
             "read from the stream, bounded in time", txt);
    }
}

/* ---- text: signature ids whose message contains the text */

/* Whether one of the "<sev> <signature>" lines of a msg value contains text. */
static int msg_matches(const char *v, size_t n, const char *text)
{
    char *copy = malloc(n + 1);
    int hit = 0;

    if (copy == NULL)
        return 0;
    memcpy(copy, v, n);
    copy[n] = '\0';
    for (size_t off = 0; off < n && !hit; off += strlen(copy + off) + 1) {
        const char *sig = strchr(copy + off, ' ');
        hit = sig && strcasestr(sig + 1, text) != NULL;
    }
    free(copy);
    return hit;
}

/* The word of text to look up: a whole word (letters and digits with
 * something else on both sides) is exact; the last word, with something
 * before it, may be the start of a longer one. Returns its length (0: no
 * usable word) with *exact set. */
static size_t pick_word(const char *text, char *word, size_t wlen, int *exact)
{
    size_t n = strlen(text), best = 0, i = 0;

    *exact = 0;
    while (i < n) {
        size_t s = i;
        if (!isalnum((unsigned char)text[i])) {
            i++;
            continue;
        }
        while (i < n && isalnum((unsigned char)text[i]))
            i++;
        int left = s > 0, right = i < n, len = (int)(i - s);
        if (!left || len <= 0 || (size_t)len >= wlen)
            continue;
        /* an exact word beats a prefix; a longer one beats a shorter */
        if ((right && (!*exact || (size_t)len > best)) || (!right && !*exact && (size_t)len > best)) {
            for (int k = 0; k < len; k++)
                word[k] = (char)tolower((unsigned char)text[s + k]);
            word[len] = '\0';
            best = (size_t)len;
            *exact = right;
        }
    }
    return best;
}

/* Adds to t the sid lists of the signatures containing text. Returns the
 * number of signatures, or -1 on a Redis error. */
static long text_lists(struct rcx *c, const struct rkeys *rk, struct plan *p, struct term *t,
                       const char *text)
{
    char msg[RKEY_MAX], words[RKEY_MAX], word[200], lo[210], hi[210], key[RKEY_MAX];
    int exact;
    size_t wl = pick_word(text, word, sizeof word, &exact);
    redisReply *r, *m = NULL;
    long found = 0;

    rkey_ix(msg, sizeof msg, rk, "msg", NULL);
    rkey_ix(words, sizeof words, rk, "words", NULL);
    if (wl == 0) {
        /* no word to look up: every signature's text is checked */
        const char *argv[] = { "HGETALL", msg };
        if ((r = cmdv(c, 2, argv)) == NULL)
            return -1;
        note(p, "q: no whole word or word start to look up (%s): every signature's text checked", text);
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
            if (msg_matches(r->element[i + 1]->str, r->element[i + 1]->len, text)) {
                rkey_ix(key, sizeof key, rk, "sid", r->element[i]->str);
                if (term_add(t, key) == 0)
                    found++;
            }
        freeReplyObject(r);
        return found;
    }
    snprintf(lo, sizeof lo, "[%s%s", word, exact ? " " : "");
    snprintf(hi, sizeof hi, "(%s%s", word, exact ? "!" : "\x7f");
    const char *argv[] = { "ZRANGEBYLEX", words, lo, hi };
    if ((r = cmdv(c, 4, argv)) == NULL || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return -1;
    }
    if (r->elements) {
        const char **hm = malloc((r->elements + 2) * sizeof *hm);
        if (hm == NULL) {
            freeReplyObject(r);
            return -1;
        }
        hm[0] = "HMGET";
        hm[1] = msg;
        for (size_t i = 0; i < r->elements; i++) {
            const char *sp = strrchr(r->element[i]->str, ' ');
            hm[i + 2] = sp ? sp + 1 : "";
        }
        m = rcx_command(c, (int)r->elements + 2, hm, NULL);
        for (size_t i = 0; m && m->type == REDIS_REPLY_ARRAY && i < m->elements; i++) {
            const redisReply *v = m->element[i];
            /* a sid met under several words is listed once */
            int dup = 0;
            for (size_t k = 0; k < i && !dup; k++)
                dup = strcmp(hm[k + 2], hm[i + 2]) == 0;
            if (!dup && v->type == REDIS_REPLY_STRING && msg_matches(v->str, v->len, text)) {
                rkey_ix(key, sizeof key, rk, "sid", hm[i + 2]);
                if (term_add(t, key) == 0)
                    found++;
            }
        }
        free(hm);
        if (m == NULL) {
            freeReplyObject(r);
            return -1;
        }
        freeReplyObject(m);
    }
    freeReplyObject(r);
    return found;
}

/* ---- the window of capture times, from the index's time map */

static void time_window(struct plan *p, const redisReply *tm, int64_t from, int64_t to)
{
    struct xid lo = XID_TOP, hi = { 0, 0 };
    int any = 0;

    for (size_t i = 0; tm && tm->type == REDIS_REPLY_ARRAY && i + 1 < tm->elements; i += 2) {
        long long m = atoll(tm->element[i]->str);
        char a[48] = "", b[48] = "";
        struct xid f, l;
        /* minute m holds times [60m, 60m + 60) */
        if ((from && (m + 1) * 60 <= from) || (to && m * 60 >= to))
            continue;
        if (sscanf(tm->element[i + 1]->str, "%47s %47s", a, b) != 2 || xparse(a, &f) < 0 ||
            xparse(b, &l) < 0)
            continue;
        if (xcmp(f, lo) < 0)
            lo = f;
        if (xcmp(l, hi) > 0)
            hi = l;
        any = 1;
    }
    if (!any) {
        p->empty = 1;
        note(p, "%s: no alert was captured in that time", "from/to");
        return;
    }
    if (xcmp(lo, p->lo) > 0)
        p->lo = lo;
    if (xcmp(xnext(hi), p->hi) < 0)
        p->hi = xnext(hi);
}

/* ---- building the plan */

/* The index's state: whether it is usable, and from which id. */
static void index_state(struct plan *p, const redisReply *meta, const redisReply *lock,
                        const redisReply *first)
{
    const char *from = NULL;

    for (size_t i = 0; meta && meta->type == REDIS_REPLY_ARRAY && i + 1 < meta->elements; i += 2)
        if (strcmp(meta->element[i]->str, "from") == 0)
            from = meta->element[i + 1]->str;
    if (lock && lock->type == REDIS_REPLY_INTEGER && lock->integer) {
        note(p, "%s", "the index is being rebuilt (linkwatch-console --reindex): read from the stream");
        return;
    }
    if (from == NULL || xparse(from, &p->from) < 0) {
        note(p, "%s", "no complete index for this stream (run linkwatch-console --reindex): "
             "read from the stream");
        return;
    }
    p->use_index = 1;
    if (first && first->type == REDIS_REPLY_ARRAY && first->elements == 1) {
        struct xid f;
        if (xparse(first->element[0]->element[0]->str, &f) == 0 && xcmp(f, p->from) < 0 &&
            (p->partial_index = 1))
            note(p, "alerts before %s were written without the index: they are read from the "
                 "stream (linkwatch-console --reindex files them)", from);
    }
}

/* Terms of every indexed filter of f; notes for the others. */
static int plan_terms(struct rcx *c, const struct rkeys *rk, struct plan *p, const struct alert_filter *f)
{
    char key[RKEY_MAX], v[48];
    struct term *t;

    for (int i = 0; i < f->nsev; i++) {
        snprintf(v, sizeof v, "%d", f->sev[i]);
        if (i == 0)
            t = term_new(p, "severity=%s", v);
        else if (t)
            snprintf(t->name + strlen(t->name), sizeof t->name - strlen(t->name), ",%s", v);
        rkey_ix(key, sizeof key, rk, "sev", v);
        term_add(t, key);
    }
    for (int i = 0; i < f->nsid; i++) {
        snprintf(v, sizeof v, "%llu", (unsigned long long)f->sid[i]);
        if (i == 0)
            t = term_new(p, "sid=%s", v);
        else if (t)
            snprintf(t->name + strlen(t->name), sizeof t->name - strlen(t->name), ",%s", v);
        rkey_ix(key, sizeof key, rk, "sid", v);
        term_add(t, key);
    }
    if (f->text[0]) {
        long n;
        t = term_new(p, "q=%s", f->text);
        if (t == NULL || (n = text_lists(c, rk, p, t, f->text)) < 0)
            return -1;
        if (n == 0)
            p->empty = 1;
    }
    if (f->has_src)
        cidr_term(p, rk, "src", &f->src);
    if (f->has_dst)
        cidr_term(p, rk, "dst", &f->dst);
    if (f->has_ip)
        cidr_term(p, rk, "ip", &f->ip);
    if (f->country[0]) {
        t = term_new(p, "country=%s", f->country);
        rkey_ix(key, sizeof key, rk, "cc", f->country);
        term_add(t, key);
    }
    if (f->scope[0]) {
        t = term_new(p, "scope=%s", f->scope);
        if (strcmp(f->scope, "cross-border") == 0) {
            rkey_ix(key, sizeof key, rk, "scope", "cross-border-outbound");
            term_add(t, key);
            rkey_ix(key, sizeof key, rk, "scope", "cross-border-inbound");
        } else {
            rkey_ix(key, sizeof key, rk, "scope", f->scope);
        }
        term_add(t, key);
    }
    if (f->sensor[0]) {
        t = term_new(p, "sensor=%s", f->sensor);
        rkey_ix(key, sizeof key, rk, "sensor", f->sensor);
        term_add(t, key);
    }
    if (f->proto[0]) {
        char low[sizeof f->proto];
        for (size_t i = 0; i < sizeof low; i++)
            low[i] = (char)tolower((unsigned char)f->proto[i]);
        t = term_new(p, "proto=%s", low);
        rkey_ix(key, sizeof key, rk, "proto", low);
        term_add(t, key);
    }
    if (f->status[0] && strcmp(f->status, "new") != 0) {
        t = term_new(p, "status=%s", f->status);
        rkey_ix_status(key, sizeof key, rk, f->status);
        term_add(t, key);
    } else if (f->status[0]) {
        note(p, "%s: no index (every alert starts new); checked on each alert read", "status=new");
    }
    return 0;
}

/* The size of every source (LLEN / ZCARD, one pipeline) and of its term. */
static int plan_sizes(struct rcx *c, struct plan *p)
{
    for (size_t i = 0; i < p->nt; i++)
        for (size_t j = 0; j < p->t[i].ns; j++) {
            int zset = strstr(p->t[i].s[j].key, ":ix:status:") != NULL;
            const char *argv[] = { zset ? "ZCARD" : "LLEN", p->t[i].s[j].key };
            rcx_append(c, 2, argv, NULL);
        }
    for (size_t i = 0; i < p->nt; i++) {
        p->t[i].size = 0;
        for (size_t j = 0; j < p->t[i].ns; j++) {
            redisReply *r = NULL;
            if (rcx_get_reply(c, &r) != REDIS_OK || r == NULL)
                return -1;
            p->t[i].s[j].size = r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? (uint64_t)r->integer : 0;
            p->t[i].size += p->t[i].s[j].size;
            freeReplyObject(r);
        }
    }
    return 0;
}

static int term_by_size(const void *a, const void *b)
{
    const struct term *x = a, *y = b;

    return x->size < y->size ? -1 : x->size > y->size;
}

/* Reads the index's state and the filters into p. Returns 0 or -1. */
static int plan_build(struct walk *w)
{
    struct plan *p = &w->p;
    const struct alert_filter *f = w->q->f;
    char meta[RKEY_MAX], lock[RKEY_MAX], tmap[RKEY_MAX];
    redisReply *rm = NULL, *rl = NULL, *rf = NULL, *rt = NULL;
    int rc = -1;

    p->lo = (struct xid){ 0, 0 };
    p->hi = XID_TOP;
    if (w->q->before && w->q->before[0] && xparse(w->q->before, &p->hi) < 0)
        return -1;
    rkey_ix(meta, sizeof meta, w->rk, "meta", NULL);
    rkey_ix(lock, sizeof lock, w->rk, "lock", NULL);
    rkey_ix(tmap, sizeof tmap, w->rk, "time", NULL);
    const char *a1[] = { "HGETALL", meta }, *a2[] = { "EXISTS", lock },
               *a3[] = { "XRANGE", w->stream, "-", "+", "COUNT", "1" }, *a4[] = { "HGETALL", tmap };
    rcx_append(w->c, 2, a1, NULL);
    rcx_append(w->c, 2, a2, NULL);
    rcx_append(w->c, 6, a3, NULL);
    if (f->from || f->to)
        rcx_append(w->c, 2, a4, NULL);
    if (rcx_get_reply(w->c, &rm) != REDIS_OK || rcx_get_reply(w->c, &rl) != REDIS_OK ||
        rcx_get_reply(w->c, &rf) != REDIS_OK ||
        ((f->from || f->to) && rcx_get_reply(w->c, &rt) != REDIS_OK))
        goto out;
    index_state(p, rm, rl, rf);
    if (p->use_index) {
        if (plan_terms(w->c, w->rk, p, f) < 0 || plan_sizes(w->c, p) < 0)
            goto out;
        /* the time map knows indexed alerts only */
        if ((f->from || f->to) && !p->partial_index)
            time_window(p, rt, f->from, f->to);
        qsort(p->t, p->nt, sizeof p->t[0], term_by_size);
    }
    rc = 0;
out:
    freeReplyObject(rm);
    freeReplyObject(rl);
    freeReplyObject(rf);
    freeReplyObject(rt);
    return rc;
}

/* ------------------------------------------------------------------ reading */

/* Cheap test on the raw JSON before parsing it: a sid filter needs its
 * number in the text. */
static int raw_may_match(const struct alert_filter *f, const char *raw)
{
    char pat[48];

    if (!f->nsid)
        return 1;
    for (int i = 0; i < f->nsid; i++) {
        snprintf(pat, sizeof pat, "\"signature_id\":%llu", (unsigned long long)f->sid[i]);
        if (strstr(raw, pat))
            return 1;
    }
    return 0;
}

const redisReply *cq_entry_field(const redisReply *fields, const char *name, int *big)
{
    const redisReply *v = aix_entry_field(fields, name);

    if (v && v->len > CQ_FIELD_MAX) {
        *big = 1;
        return NULL;
    }
    return v;
}

/* Examines one stream entry (its field list, or NULL when it is gone) with
 * its triage record: visits it when it passes the filters. */
static void examine(struct walk *w, struct xid id, const redisReply *fields, const redisReply *tr)
{
    int big = 0;
    const redisReply *rawr = cq_entry_field(fields, "event", &big), *sr = cq_entry_field(fields, "sensor", &big);
    const char *raw = rawr ? rawr->str : NULL, *sensor = sr ? sr->str : NULL;
    char ids[48];
    json_t *ev, *t;

    w->last = id;
    w->any = 1;
    if (fields == NULL)
        return;
    w->a->scanned++;
    if (big) {
        w->a->skipped++;
        return;
    }
    if (!raw || !raw_may_match(w->q->f, raw) || (ev = json_loadb(raw, rawr->len, 0, NULL)) == NULL)
        return;
    t = tr && tr->type == REDIS_REPLY_STRING && tr->len <= CQ_TRIAGE_MAX ? json_loadb(tr->str, tr->len, 0, NULL) : NULL;
    const char *st = json_string_value(json_object_get(t, "status"));
    xstr(id, ids, sizeof ids);
    if (filter_match(w->q->f, ev, sensor, st ? st : "new"))
        w->stop = w->visit(w->cls, ids, sensor, ev, raw, rawr->len, t);
    else
        json_decref(t);
    json_decref(ev);
}

/* HMGET of the triage records of n ids, appended to the pipeline. */
static void append_triage(struct walk *w, char (*ids)[48], size_t n)
{
    const char **argv = malloc((n + 2) * sizeof *argv);

    if (argv == NULL) {
        const char *one[] = { "HMGET", w->triage, "-" };
        rcx_append(w->c, 3, one, NULL);
        return;
    }
    argv[0] = "HMGET";
    argv[1] = w->triage;
    for (size_t i = 0; i < n; i++)
        argv[i + 2] = ids[i];
    rcx_append(w->c, (int)n + 2, argv, NULL);
    free(argv);
}

/* Reads the entries of ids[0..n) (newest first) from the stream and
 * examines them in order. Returns 0 or -1. */
static int read_batch(struct walk *w, const struct xid *ids, size_t n)
{
    char (*s)[48] = malloc((n + 1) * sizeof *s);
    redisReply **e = calloc(n + 1, sizeof *e), *tr = NULL;
    int rc = -1;

    if (s == NULL || e == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        xstr(ids[i], s[i], sizeof s[i]);
        const char *argv[] = { "XRANGE", w->stream, s[i], s[i] };
        rcx_append(w->c, 4, argv, NULL);
    }
    append_triage(w, s, n);
    for (size_t i = 0; i < n; i++)
        if (rcx_get_reply(w->c, &e[i]) != REDIS_OK || e[i] == NULL)
            goto out;
    if (rcx_get_reply(w->c, &tr) != REDIS_OK || tr == NULL || tr->type != REDIS_REPLY_ARRAY ||
        tr->elements != n)
        goto out;
    for (size_t i = 0; i < n && !w->stop; i++) {
        const redisReply *x = e[i];
        int ok = x->type == REDIS_REPLY_ARRAY && x->elements == 1 && x->element[0]->elements == 2;
        examine(w, ids[i], ok ? x->element[0]->element[1] : NULL, tr->element[i]);
    }
    rc = 0;
out:
    for (size_t i = 0; e && i < n; i++)
        freeReplyObject(e[i]);
    freeReplyObject(tr);
    free(e);
    free(s);
    return rc;
}

/* Asks for the newest `want` ids of index key `key` before hi
 * (AIX_READ_LUA), appended to the pipeline; read_take() reads the answer. */
static void read_send(struct walk *w, const char *key, struct xid hi, size_t want)
{
    char ms[24], seq[24], n[24];
    const char *argv[] = { "EVALSHA", w->sha, "1", key, ms, seq, n };

    snprintf(ms, sizeof ms, "%llu", (unsigned long long)hi.ms);
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)hi.seq);
    snprintf(n, sizeof n, "%zu", want);
    rcx_append(w->c, 7, argv, NULL);
}

/* The answer to read_send(..., hi, want): the ids before hi and at or
 * after lo, newest first, at most want (a zset's answer has every id of
 * its last millisecond, in text order: they are sorted here before the
 * cut), into *out (*cap grown as needed). Sets *full when the source may
 * hold more in the window. Returns the count or -1. */
static long read_take(struct walk *w, struct xid hi, struct xid lo, size_t want, struct xid **out,
                      size_t *cap, int *full)
{
    redisReply *r = NULL;
    size_t k = 0, m = 0;
    struct xid oldest = XID_TOP;

    if (rcx_get_reply(w->c, &r) != REDIS_OK || r == NULL || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return -1;
    }
    if (r->elements + 1 > *cap) {
        struct xid *p = realloc(*out, (r->elements + 1) * sizeof *p);
        if (p == NULL) {
            freeReplyObject(r);
            return -1;
        }
        *out = p;
        *cap = r->elements + 1;
    }
    for (size_t i = 0; i < r->elements; i++) {
        char id[48];
        struct xid x;
        if (r->element[i]->type != REDIS_REPLY_STRING ||
            aix_id_decode(r->element[i]->str, r->element[i]->len, id, sizeof id) < 0 || xparse(id, &x) < 0)
            continue;
        if (xcmp(x, oldest) < 0)
            oldest = x;
        if (xcmp(x, hi) < 0)
            (*out)[k++] = x;
    }
    *full = r->elements >= want && xcmp(oldest, lo) >= 0;
    freeReplyObject(r);
    qsort(*out, k, sizeof **out, xcmp_desc);
    /* drop repeats (a zset's last millisecond), what is below the window,
     * and what is past the newest `want` */
    for (size_t i = 0; i < k && m < want; i++)
        if ((m == 0 || xcmp((*out)[m - 1], (*out)[i]) != 0) && xcmp((*out)[i], lo) >= 0)
            (*out)[m++] = (*out)[i];
    if (m == want && m < k)
        *full = 1;
    return (long)m;
}

/* Reads the next ids of every source of t whose read-ahead is used up, in
 * one pipeline. Returns 0 or -1. */
static int refill(struct walk *w, struct term *t)
{
    size_t asked = 0;

    for (size_t i = 0; i < t->ns; i++) {
        struct source *s = &t->s[i];
        if (s->head == s->n && !s->done) {
            read_send(w, s->key, s->hi, CHUNK);
            asked++;
        }
    }
    for (size_t i = 0; i < t->ns && asked; i++) {
        struct source *s = &t->s[i];
        int full;
        long n;
        if (s->head != s->n || s->done)
            continue;
        asked--;
        if ((n = read_take(w, s->hi, w->p.lo, CHUNK, &s->ids, &s->cap, &full)) < 0)
            return -1;
        s->head = 0;
        s->n = (size_t)n;
        s->done = !full;
        if (n)
            s->hi = s->ids[n - 1];
        else if (full)
            s->hi = (struct xid){ s->hi.ms, 0 };   /* a millisecond of ids all above hi: go below it */
    }
    return 0;
}

/* The next id of the union of t's sources, newest first. Returns 1 with
 * *out, 0 when they are all exhausted, -1 on an error. */
static int union_next(struct walk *w, struct term *t, struct xid *prev, int *have_prev, struct xid *out)
{
    for (;;) {
        size_t best = t->ns;
        int again = 1;

        while (again) {
            again = 0;
            if (refill(w, t) < 0)
                return -1;
            for (size_t i = 0; i < t->ns; i++)
                again |= t->s[i].head == t->s[i].n && !t->s[i].done;
        }
        for (size_t i = 0; i < t->ns; i++) {
            struct source *s = &t->s[i];
            if (s->head < s->n && (best == t->ns || xcmp(s->ids[s->head], t->s[best].ids[t->s[best].head]) > 0))
                best = i;
        }
        if (best == t->ns)
            return 0;
        *out = t->s[best].ids[t->s[best].head++];
        if (*have_prev && xcmp(*out, *prev) == 0)
            continue;                    /* in two lists of the union (ip=: both ends) */
        *prev = *out;
        *have_prev = 1;
        return 1;
    }
}

/* Keeps the ids of c[0..*n) (newest first) that term t also holds, when
 * t's ids in their span are few enough to read (ISECT_CAP per list, all
 * lists in one pipeline); else leaves c as it is. Returns 0 or -1. */
static int intersect(struct walk *w, struct term *t, struct xid *c, size_t *n)
{
    struct xid *set = NULL, *part = NULL, lo = c[*n - 1], hi = xnext(c[0]);
    size_t ns = 0, cap = 0, pcap = 0;
    int rc = 0, whole = 1;

    for (size_t i = 0; i < t->ns; i++)
        read_send(w, t->s[i].key, hi, ISECT_CAP);
    for (size_t i = 0; i < t->ns; i++) {
        int full;
        long k = read_take(w, hi, lo, ISECT_CAP, &part, &pcap, &full);
        if (k < 0) {
            rc = -1;
            whole = 0;
            continue;                    /* the rest of the replies are still read */
        }
        whole &= !full;
        if (k == 0)
            continue;
        if (ns + (size_t)k > cap) {
            struct xid *p = realloc(set, (ns + (size_t)k + 1) * sizeof *p);
            if (p == NULL) {
                rc = -1;
                whole = 0;
                continue;
            }
            set = p;
            cap = ns + (size_t)k + 1;
        }
        memcpy(set + ns, part, (size_t)k * sizeof *part);
        ns += (size_t)k;
    }
    if (whole) {
        size_t m = 0;
        if (ns)
            qsort(set, ns, sizeof *set, xcmp_desc);
        for (size_t i = 0, j = 0; i < *n; i++) {
            while (j < ns && xcmp(set[j], c[i]) > 0)
                j++;
            if (j < ns && xcmp(set[j], c[i]) == 0)
                c[m++] = c[i];
        }
        *n = m;
    }
    free(part);
    free(set);
    return rc;
}

static int over_budget(struct walk *w)
{
    return w->a->scanned >= w->q->scan || lw_now_mono_usec() - w->t0 >= w->q->budget_usec;
}

/* Walks the driving term (the smallest), intersecting each batch with the
 * next terms where cheap, reading what is left. Returns 1 when exhausted,
 * 0 when stopped, -1 on an error. */
static int walk_index(struct walk *w)
{
    struct term *d = &w->p.t[0];
    struct xid batch[BATCH], prev = { 0, 0 };
    int have_prev = 0, rc;

    for (size_t i = 0; i < d->ns; i++)
        d->s[i].hi = w->p.hi;
    rc = 1;
    for (;;) {
        size_t n = 0;
        while (n < BATCH && (rc = union_next(w, d, &prev, &have_prev, &batch[n])) == 1)
            n++;
        if (rc < 0)
            return -1;
        w->a->candidates += n;
        struct xid oldest = n ? batch[n - 1] : prev;
        size_t n0 = n;
        for (size_t k = 1; k < w->p.nt && n >= 8; k++) {
            struct term *t = &w->p.t[k];
            if (t->size > ISECT_RATIO * (d->size + 1) || t->ns > ISECT_LISTS)
                continue;
            if (intersect(w, t, batch, &n) < 0)
                return -1;
        }
        if (n && read_batch(w, batch, n) < 0)
            return -1;
        if (w->stop)
            return 0;
        if (n0) {
            w->last = oldest;            /* the batch was examined down to here */
            w->any = 1;
        }
        if (rc == 0)
            return 1;
        if (over_budget(w)) {
            w->a->partial = 1;
            return 0;
        }
    }
}

/* Walks the stream itself in [lo, hi), newest first. Returns 1 when
 * exhausted, 0 when stopped, -1 on an error. */
static int walk_stream(struct walk *w, struct xid lo, struct xid hi)
{
    char start[64], end[64], count[16];

    xstr(lo, end, sizeof end);
    if (xcmp(hi, XID_TOP) == 0)
        snprintf(start, sizeof start, "+");
    else
        snprintf(start, sizeof start, "(%llu-%llu", (unsigned long long)hi.ms, (unsigned long long)hi.seq);
    for (;;) {
        uint64_t left = w->q->scan > w->a->scanned ? w->q->scan - w->a->scanned : 0;
        size_t want = left < STREAM_PAGE ? (size_t)left : STREAM_PAGE;
        char (*ids)[48];
        redisReply *r, *tr = NULL;

        if (want == 0) {
            w->a->partial = 1;
            return 0;
        }
        snprintf(count, sizeof count, "%zu", want);
        const char *argv[] = { "XREVRANGE", w->stream, start, end, "COUNT", count };
        if ((r = cmdv(w->c, 6, argv)) == NULL || r->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            return -1;
        }
        if (r->elements == 0) {
            freeReplyObject(r);
            return 1;
        }
        if ((ids = malloc(r->elements * sizeof *ids)) == NULL) {
            freeReplyObject(r);
            return -1;
        }
        for (size_t i = 0; i < r->elements; i++)
            snprintf(ids[i], sizeof ids[i], "%s", r->element[i]->element[0]->str);
        append_triage(w, ids, r->elements);
        if (rcx_get_reply(w->c, &tr) != REDIS_OK || tr == NULL || tr->type != REDIS_REPLY_ARRAY ||
            tr->elements != r->elements) {
            freeReplyObject(tr);
            freeReplyObject(r);
            free(ids);
            return -1;
        }
        for (size_t i = 0; i < r->elements && !w->stop; i++) {
            struct xid x;
            if (xparse(ids[i], &x) == 0)
                examine(w, x, r->element[i]->element[1], tr->element[i]);
        }
        snprintf(start, sizeof start, "(%s", ids[r->elements - 1]);
        int ended = r->elements < want;
        freeReplyObject(tr);
        freeReplyObject(r);
        free(ids);
        if (w->stop)
            return 0;
        if (ended)
            return 1;
        if (over_budget(w)) {
            w->a->partial = 1;
            return 0;
        }
    }
}

static json_t *plan_json(const struct walk *w, const char *driver)
{
    json_t *terms = json_array();

    for (size_t i = 0; i < w->p.nt; i++)
        json_array_append_new(terms, json_pack("{s:s,s:I,s:I}", "filter", w->p.t[i].name,
                                               "lists", (json_int_t)w->p.t[i].ns,
                                               "size", (json_int_t)w->p.t[i].size));
    return json_pack("{s:s,s:o,s:O}", "driver", driver, "terms", terms, "notes", w->p.notes);
}

int cq_walk(struct rcx *c, const struct rkeys *rk, const struct cq_query *q, cq_visit_fn visit,
            void *cls, struct cq_answer *a)
{
    struct walk w = { .c = c, .rk = rk, .q = q, .visit = visit, .cls = cls, .a = a };
    int rc = -1, done;

    memset(a, 0, sizeof *a);
    w.t0 = lw_now_mono_usec();
    w.p.notes = json_array();
    rkey_named(w.stream, sizeof w.stream, rk, "alerts");
    rkey_named(w.triage, sizeof w.triage, rk, "triage");
    /* EVALSHA, loaded again by the routing layer on a node that answers NOSCRIPT */
    if (rcl_script(rcx_client(c), AIX_READ_LUA, w.sha) < 0)
        goto out;
    if (plan_build(&w) < 0)
        goto out;
    if (w.p.empty) {
        done = 1;
    } else if (w.p.use_index && w.p.nt) {
        /* the index, down to where it starts; older alerts from the stream */
        struct xid lo = w.p.lo;
        if (xcmp(w.p.from, lo) > 0)
            w.p.lo = w.p.from;
        done = walk_index(&w);
        if (done == 1 && w.p.partial_index && xcmp(w.p.from, lo) > 0 && xcmp(w.p.from, w.p.hi) < 0)
            done = walk_stream(&w, lo, w.p.from);
    } else {
        done = walk_stream(&w, w.p.lo, w.p.hi);
    }
    if (done < 0)
        goto out;
    if (done == 0 && w.any)
        xstr(w.last, a->next, sizeof a->next);
    rc = 0;
out:
    a->index = plan_json(&w, w.p.use_index && w.p.nt ? w.p.t[0].name : "stream");
    json_decref(w.p.notes);
    plan_free(&w.p);
    return rc;
}

/* ------------------------------------------------------------------ groups */

/* One group object from its field ("<sid>|<src>|<dst>") and counter value
 * ("<count> <first usec>[ <last usec>]"). */
static json_t *group_json(const char *field, const char *value)
{
    const char *a = strchr(field, '|'), *b = strrchr(field, '|');
    long long count = 0, first = 0, last = 0;
    char f[40], l[40];
    int n;

    if (a == NULL || value == NULL)
        return NULL;
    n = sscanf(value, "%lld %lld %lld", &count, &first, &last);
    if (n < 1)
        return NULL;
    if (n == 2)
        last = first;
    json_format_timestamp(f, sizeof f, (uint64_t)first);
    json_format_timestamp(l, sizeof l, (uint64_t)last);
    return json_pack("{s:I,s:s%,s:s%,s:I,s:s?,s:s?}", "sid", (json_int_t)atoll(field),
                     "src_ip", a + 1, (size_t)(b - a - 1), "dest_ip", b + 1, strlen(b + 1),
                     "count", (json_int_t)count, "first_seen", n >= 2 ? f : NULL,
                     "last_seen", n >= 2 ? l : NULL);
}

/* Appends up to `want` groups of count 1 (they are in no zset) from the
 * counting hashes, a pipeline of 512 hashes at a time, into fields/values. */
static int fill_singles(struct rcx *c, const struct rkeys *rk, size_t want, json_t *out)
{
    char key[RKEY_MAX], n[16];

    for (unsigned b0 = 0; b0 < RKEY_GROUP_BUCKETS && json_array_size(out) < want; b0 += 512) {
        for (unsigned b = b0; b < b0 + 512; b++) {
            snprintf(n, sizeof n, "%u", b);
            rkey_ix(key, sizeof key, rk, "grp", n);
            const char *argv[] = { "HGETALL", key };
            rcx_append(c, 2, argv, NULL);
        }
        for (unsigned b = b0; b < b0 + 512; b++) {
            redisReply *r = NULL;
            if (rcx_get_reply(c, &r) != REDIS_OK || r == NULL)
                return -1;
            for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements &&
                               json_array_size(out) < want; i += 2)
                if (strncmp(r->element[i + 1]->str, "1 ", 2) == 0) {
                    json_t *g = group_json(r->element[i]->str, r->element[i + 1]->str);
                    if (g)
                        json_array_append_new(out, g);
                }
            freeReplyObject(r);
        }
    }
    return 0;
}

/* Adds signature and severity to every group, from the msg hash (the
 * latest "<severity> <signature>" its sid was seen with). */
static int name_groups(struct rcx *c, const struct rkeys *rk, json_t *groups)
{
    size_t n = json_array_size(groups);
    const char **argv = malloc((n + 2) * sizeof *argv);
    char (*sids)[24] = malloc((n + 1) * sizeof *sids), key[RKEY_MAX];
    redisReply *r = NULL;
    int rc = -1;

    if (argv == NULL || sids == NULL)
        goto out;
    rkey_ix(key, sizeof key, rk, "msg", NULL);
    argv[0] = "HMGET";
    argv[1] = key;
    for (size_t i = 0; i < n; i++) {
        snprintf(sids[i], sizeof sids[i], "%lld",
                 (long long)json_integer_value(json_object_get(json_array_get(groups, i), "sid")));
        argv[i + 2] = sids[i];
    }
    if (n == 0 || (r = cmdv(c, (int)n + 2, argv)) == NULL || r->type != REDIS_REPLY_ARRAY ||
        r->elements != n) {
        rc = n == 0 ? 0 : -1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *g = json_array_get(groups, i);
        const redisReply *v = r->element[i];
        const char *line = NULL, *sp;
        if (v->type != REDIS_REPLY_STRING)
            continue;
        for (size_t off = 0; off < v->len; off += strlen(v->str + off) + 1)
            line = v->str + off;         /* the latest line */
        if (line && (sp = strchr(line, ' ')) != NULL) {
            json_object_set_new(g, "severity", json_integer(atoll(line)));
            json_object_set_new(g, "signature", json_string(sp + 1));
        }
    }
    rc = 0;
out:
    freeReplyObject(r);
    free(argv);
    free(sids);
    return rc;
}

json_t *cq_groups(struct rcx *c, const struct rkeys *rk, unsigned limit, uint64_t *total,
                  char *err, size_t errlen)
{
    char top[RKEY_MAX], meta[RKEY_MAX], stop[16], key[RKEY_MAX];
    json_t *out = json_array();
    redisReply *r = NULL, *m = NULL;

    rkey_ix(top, sizeof top, rk, "grptop", NULL);
    rkey_ix(meta, sizeof meta, rk, "meta", NULL);
    snprintf(stop, sizeof stop, "%u", limit ? limit - 1 : 0);
    const char *a1[] = { "ZREVRANGE", top, "0", stop }, *a2[] = { "HGET", meta, "groups" };
    if ((r = cmdv(c, 4, a1)) == NULL || r->type != REDIS_REPLY_ARRAY || (m = cmdv(c, 3, a2)) == NULL)
        goto fail;
    *total = m->type == REDIS_REPLY_STRING ? strtoull(m->str, NULL, 10) : 0;
    /* their counters, one HGET each */
    for (size_t i = 0; i < r->elements; i++) {
        rkey_ix_group(key, sizeof key, rk, r->element[i]->str, r->element[i]->len);
        const char *argv[] = { "HGET", key, r->element[i]->str };
        rcx_append(c, 3, argv, NULL);
    }
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *v = NULL;
        if (rcx_get_reply(c, &v) != REDIS_OK || v == NULL)
            goto fail;
        json_t *g = group_json(r->element[i]->str, v->type == REDIS_REPLY_STRING ? v->str : NULL);
        if (g)
            json_array_append_new(out, g);
        freeReplyObject(v);
    }
    if (json_array_size(out) < limit && json_array_size(out) < *total &&
        fill_singles(c, rk, limit, out) < 0)
        goto fail;
    if (name_groups(c, rk, out) < 0)
        goto fail;
    freeReplyObject(r);
    freeReplyObject(m);
    return out;
fail:
    snprintf(err, errlen, "redis: cannot read the group counters");
    freeReplyObject(r);
    freeReplyObject(m);
    json_decref(out);
    return NULL;
}
