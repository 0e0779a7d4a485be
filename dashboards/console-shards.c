/* console-shards.c - the alert list, groups and triage over every alert
 * shard; see console-shards.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console-shards.h"
#include "alert-index.h"
#include "redis-cluster.h"
#include "util.h"

/* A stream id, in numbers. */
struct xid { uint64_t ms, seq; };

static int xparse(const char *s, struct xid *x)
{
    return aix_id_parse(s, &x->ms, &x->seq);
}

static int xcmp(struct xid a, struct xid b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    return a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0;
}

/* ------------------------------------------------------------------ list */

/* A match of one shard, held for the merge. */
struct held {
    char xid[CR_XID_MAX];
    struct xid x;
    int64_t t;                   /* capture time, usec (the id's, without one) */
    char *sensor;                /* NULL when the entry has none */
    json_t *ev;
    char *raw;
    size_t rawlen;
    json_t *tr;
};

/* A shard's matches, and how its walk ended. */
struct holder {
    struct held *v;
    size_t n, cap, head;         /* head: the next one the merge takes */
    size_t bytes, bytes_max;
    unsigned limit;
    int oom, walked, partial;
    char next[48];
};

static int hold_visit(void *cls, const char *id, const char *sensor, json_t *ev, const char *raw,
                      size_t rawlen, json_t *tr)
{
    struct holder *h = cls;
    const char *ts = json_string_value(json_object_get(ev, "timestamp"));
    struct held *e;

    if (h->n == h->cap) {
        size_t nc = h->cap ? 2 * h->cap : 16;
        struct held *nv = realloc(h->v, nc * sizeof *nv);
        if (nv == NULL)
            goto oom;
        h->v = nv;
        h->cap = nc;
    }
    e = &h->v[h->n];
    memset(e, 0, sizeof *e);
    snprintf(e->xid, sizeof e->xid, "%s", id);
    xparse(id, &e->x);
    if (ts == NULL || lw_time_parse(ts, &e->t) < 0)
        e->t = (int64_t)(e->x.ms * 1000);
    e->sensor = sensor ? strdup(sensor) : NULL;
    e->raw = malloc(rawlen + 1);
    if ((sensor && e->sensor == NULL) || e->raw == NULL) {
        free(e->sensor);
        free(e->raw);
        goto oom;
    }
    memcpy(e->raw, raw, rawlen);
    e->raw[rawlen] = '\0';
    e->rawlen = rawlen;
    e->ev = json_incref(ev);
    e->tr = tr;
    h->n++;
    h->bytes += rawlen;
    return h->n >= h->limit || h->bytes > h->bytes_max;
oom:
    json_decref(tr);
    h->oom = 1;
    return 1;
}

static void holder_free(struct holder *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].sensor);
        free(h->v[i].raw);
        json_decref(h->v[i].ev);
        json_decref(h->v[i].tr);
    }
    free(h->v);
}

/* Visits a shard's match under its API id. */
struct pass {
    const char *shard;
    cq_visit_fn visit;
    void *cls;
    int stopped;
};

static int pass_visit(void *cls, const char *id, const char *sensor, json_t *ev, const char *raw,
                      size_t rawlen, json_t *tr)
{
    struct pass *p = cls;
    char api[CR_ID_MAX];

    cr_id_format(api, sizeof api, p->shard, id);
    return p->stopped = p->visit(p->cls, api, sensor, ev, raw, rawlen, tr);
}

/* A shard's share of what is left of total, with `left` shards to go. */
static uint64_t share(uint64_t total, uint64_t used, size_t left)
{
    uint64_t rem = total > used ? total - used : 0;

    return left ? rem / left + (rem % left != 0) : rem;
}

/* Where the next page of shard s starts, after a walk that ended so. */
static void advance(struct cr_shard *s, const char *next, int partial)
{
    if (next[0])
        snprintf(s->pos, sizeof s->pos, "%s", next);
    else if (!partial)
        s->done = 1;
    /* else: gave up before reading anything: the same position again */
}

/* >0 when x is newer than y: capture time, then stream id. */
static int held_cmp(const struct held *x, const struct held *y)
{
    if (x->t != y->t)
        return x->t > y->t ? 1 : -1;
    return xcmp(x->x, y->x);
}

/* Visits the held matches of every shard newest first, until the visitor
 * says stop or a shard that may hold more has none left here; then sets
 * each shard's position after what was visited. */
static void merge(struct cr_shards *sh, struct holder *h, cq_visit_fn visit, void *cls)
{
    for (;;) {
        size_t best = sh->n;
        int blocked = 0;

        for (size_t i = 0; i < sh->n; i++) {
            const struct holder *b = &h[i];
            if (b->head < b->n) {
                if (best == sh->n || held_cmp(&b->v[b->head], &h[best].v[h[best].head]) > 0)
                    best = i;
            } else if (!sh->v[i].done && !(b->walked && !b->next[0] && !b->partial)) {
                blocked = 1;             /* it may have more, not read */
            }
        }
        if (blocked || best == sh->n)
            break;
        struct held *e = &h[best].v[h[best].head++];
        char id[CR_ID_MAX];
        json_t *tr = e->tr;

        e->tr = NULL;
        cr_id_format(id, sizeof id, sh->v[best].name, e->xid);
        if (visit(cls, id, e->sensor, e->ev, e->raw, e->rawlen, tr))
            break;
    }
    for (size_t i = 0; i < sh->n; i++) {
        const struct holder *b = &h[i];
        if (!b->walked)
            continue;
        if (b->head == b->n)
            advance(&sh->v[i], b->next, b->partial);
        else if (b->head > 0)
            snprintf(sh->v[i].pos, sizeof sh->v[i].pos, "%s", b->v[b->head - 1].xid);
    }
}

/* One shard's walk from its position, with its share of scan and time. */
static int walk_shard(struct rcx *c, const struct rkeys *rk, const struct cr_shard *s,
                      const struct cq_query *q, uint64_t scan, uint64_t budget, cq_visit_fn visit,
                      void *cls, struct cq_answer *sa)
{
    struct rkeys k = cr_shard_keys(rk, s->name);
    struct cq_query sq = *q;

    sq.before = s->pos;
    sq.scan = scan;
    sq.budget_usec = budget;
    return cq_walk(c, &k, &sq, visit, cls, sa);
}

/* The index of an answer over several shards: each shard's, and their
 * notes once. */
static json_t *shards_index(json_t *each)
{
    json_t *notes = json_array(), *v, *n;
    size_t i, j, k;

    json_array_foreach(each, i, v)
        json_array_foreach(json_object_get(v, "notes"), j, n) {
            int seen = 0;
            for (k = 0; k < json_array_size(notes) && !seen; k++)
                seen = json_equal(json_array_get(notes, k), n);
            if (!seen)
                json_array_append(notes, n);
        }
    return json_pack("{s:s,s:o,s:o}", "driver", "shards", "notes", notes, "shards", each);
}

int csh_walk(struct rcx *c, const struct rkeys *rk, struct cr_shards *sh, const struct cq_query *q,
             int ordered, unsigned limit, size_t bytes_max, cq_visit_fn visit, void *cls,
             struct cq_answer *a)
{
    uint64_t t0 = lw_now_mono_usec();
    struct holder *h = NULL;
    json_t *each = json_array();
    size_t left = 0;
    int rc = -1, stopped = 0;

    memset(a, 0, sizeof *a);
    for (size_t i = 0; i < sh->n; i++)
        left += !sh->v[i].done;
    if (ordered && left > 1 && (h = calloc(sh->n, sizeof *h)) == NULL)
        goto out;
    for (size_t i = 0; i < sh->n && !stopped; i++) {
        struct cr_shard *s = &sh->v[i];
        uint64_t scan, budget;
        struct cq_answer sa;
        int r;

        if (s->done)
            continue;
        scan = share(q->scan, a->scanned, left);
        budget = share(q->budget_usec, lw_now_mono_usec() - t0, left);
        left--;
        if (scan == 0 || budget == 0) {
            a->partial = 1;              /* not read: its position stays */
            continue;
        }
        if (h) {
            h[i].limit = limit;
            h[i].bytes_max = bytes_max;
            r = walk_shard(c, rk, s, q, scan, budget, hold_visit, &h[i], &sa);
            h[i].walked = 1;
            h[i].partial = sa.partial;
            snprintf(h[i].next, sizeof h[i].next, "%s", sa.next);
            if (h[i].oom)
                r = -1;
        } else {
            struct pass p = { s->name, visit, cls, 0 };
            r = walk_shard(c, rk, s, q, scan, budget, pass_visit, &p, &sa);
            stopped = p.stopped;
            if (sh->n == 1)
                memcpy(a->next, sa.next, sizeof a->next);
            advance(s, sa.next, sa.partial);
        }
        a->scanned += sa.scanned;
        a->candidates += sa.candidates;
        a->skipped += sa.skipped;
        a->partial |= sa.partial;
        if (sh->n == 1) {
            a->index = sa.index;
        } else if (sa.index) {
            json_object_set_new(sa.index, "shard", json_string(s->name));
            json_array_append_new(each, sa.index);
        }
        if (r < 0)
            goto out;
    }
    if (h)
        merge(sh, h, visit, cls);
    rc = 0;
out:
    if (sh->n != 1)
        a->index = shards_index(each);
    else
        json_decref(each);
    for (size_t i = 0; h && i < sh->n; i++)
        holder_free(&h[i]);
    free(h);
    return rc;
}

/* ------------------------------------------------------------------ groups */

/* Larger count first; then by sid, source, destination, so that the order
 * does not depend on the shards'. */
static int group_order(const void *pa, const void *pb)
{
    json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    json_int_t ca = json_integer_value(json_object_get(a, "count"));
    json_int_t cb = json_integer_value(json_object_get(b, "count"));
    json_int_t sa = json_integer_value(json_object_get(a, "sid"));
    json_int_t sb = json_integer_value(json_object_get(b, "sid"));
    int r;

    if (ca != cb)
        return ca < cb ? 1 : -1;
    if (sa != sb)
        return sa < sb ? -1 : 1;
    const char *xa = json_string_value(json_object_get(a, "src_ip"));
    const char *xb = json_string_value(json_object_get(b, "src_ip"));
    if ((r = strcmp(xa ? xa : "", xb ? xb : "")) != 0)
        return r;
    xa = json_string_value(json_object_get(a, "dest_ip"));
    xb = json_string_value(json_object_get(b, "dest_ip"));
    return strcmp(xa ? xa : "", xb ? xb : "");
}

/* Adds group g of another shard to o (the same sid, source, destination). */
static void group_add(json_t *o, json_t *g)
{
    const char *of = json_string_value(json_object_get(o, "first_seen"));
    const char *gf = json_string_value(json_object_get(g, "first_seen"));
    const char *ol = json_string_value(json_object_get(o, "last_seen"));
    const char *gl = json_string_value(json_object_get(g, "last_seen"));

    json_object_set_new(o, "count", json_integer(json_integer_value(json_object_get(o, "count")) +
                                                 json_integer_value(json_object_get(g, "count"))));
    /* the same format throughout (json_format_timestamp): text order is time order */
    if (gf && (!of || strcmp(gf, of) < 0))
        json_object_set(o, "first_seen", json_object_get(g, "first_seen"));
    if (gl && (!ol || strcmp(gl, ol) > 0))
        json_object_set(o, "last_seen", json_object_get(g, "last_seen"));
    if (!json_object_get(o, "signature") && json_object_get(g, "signature")) {
        json_object_set(o, "signature", json_object_get(g, "signature"));
        json_object_set(o, "severity", json_object_get(g, "severity"));
    }
}

json_t *csh_groups(struct rcx *c, const struct rkeys *rk, const struct cr_shards *sh, unsigned limit,
                  uint64_t *total, char *err, size_t errlen)
{
    json_t *by = json_object(), *out = NULL, *v, **all = NULL;
    const char *k;
    size_t n = 0, i;

    *total = 0;
    if (sh->n == 1) {
        struct rkeys one = cr_shard_keys(rk, sh->v[0].name);
        json_decref(by);
        return cq_groups(c, &one, limit, total, err, errlen);
    }
    for (size_t s = 0; s < sh->n; s++) {
        struct rkeys one = cr_shard_keys(rk, sh->v[s].name);
        uint64_t t = 0;
        json_t *g = cq_groups(c, &one, limit, &t, err, errlen);

        if (g == NULL)
            goto out;
        *total += t;
        json_array_foreach(g, i, v) {
            const char *src = json_string_value(json_object_get(v, "src_ip"));
            const char *dst = json_string_value(json_object_get(v, "dest_ip"));
            char key[AIX_FIELD_MAX + 32];
            json_t *o;

            snprintf(key, sizeof key, "%lld|%s|%s", (long long)json_integer_value(json_object_get(v, "sid")),
                     src ? src : "", dst ? dst : "");
            if ((o = json_object_get(by, key)) != NULL)
                group_add(o, v);
            else
                json_object_set(by, key, v);
        }
        json_decref(g);
    }
    if ((all = malloc((json_object_size(by) + 1) * sizeof *all)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    json_object_foreach(by, k, v)
        all[n++] = v;
    qsort(all, n, sizeof *all, group_order);
    out = json_array();
    for (i = 0; i < n && i < limit; i++)
        json_array_append(out, all[i]);
out:
    free(all);
    json_decref(by);
    return out;
}

/* ------------------------------------------------------------------ triage */

/* A triage write, in one call: the alert's state, its history and the
 * status indexes change together, and only while the alert is in the
 * stream. Every key is in the alert's shard, so in one slot.
 * KEYS: the stream, the triage hash, the alert's history, the status
 * zsets of acknowledged, escalated, closed. ARGV: the stream id, the
 * triage record, the history entry, the status as 1 to 3 for those zsets
 * (0: new, in none; "": unchanged), its millisecond (the zsets' score).
 * Returns 1, or 0 when the alert is not in the stream. */
static const char TRIAGE_LUA[] =
    "if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return 0 end\n"
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
    "redis.call('RPUSH', KEYS[3], ARGV[3])\n"
    "if ARGV[4] ~= '' then\n"
    "  local s = tonumber(ARGV[4])\n"
    "  for i = 1, 3 do\n"
    "    if i == s then redis.call('ZADD', KEYS[3 + i], ARGV[5], ARGV[1])\n"
    "    else redis.call('ZREM', KEYS[3 + i], ARGV[1]) end\n"
    "  end\n"
    "end\n"
    "return 1\n";

int csh_triage(struct rcx *c, const struct rkeys *k, const char *xid, const char *status, const char *ts,
               const char *hs)
{
    static const char *const indexed[] = { "acknowledged", "escalated", "closed" };
    char keys[6][RKEY_MAX], sha[41], which[4] = "", ms[24];
    redisReply *r;
    int rc;

    rkey_named(keys[0], sizeof keys[0], k, "alerts");
    rkey_named(keys[1], sizeof keys[1], k, "triage");
    rkey_history(keys[2], sizeof keys[2], k, xid);
    for (int i = 0; i < 3; i++) {
        rkey_ix_status(keys[3 + i], sizeof keys[3 + i], k, indexed[i]);
        if (status && strcmp(status, indexed[i]) == 0)
            snprintf(which, sizeof which, "%d", i + 1);
    }
    if (status && !which[0])
        snprintf(which, sizeof which, "0");
    snprintf(ms, sizeof ms, "%.*s", (int)strcspn(xid, "-"), xid);
    if (rcl_script(rcx_client(c), TRIAGE_LUA, sha) < 0)
        return -1;
    r = rcx_argv(c, "EVALSHA", sha, "6", keys[0], keys[1], keys[2], keys[3], keys[4], keys[5],
                 xid, ts, hs, which, ms, NULL);
    rc = r && r->type == REDIS_REPLY_INTEGER ? r->integer == 1 : -1;
    freeReplyObject(r);
    return rc;
}
