/* redis-cmd.c - the commands that write the key layout; see redis-cmd.h and
 * docs/redis.md. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis-cmd.h"
#include "alert-index.h"
#include "eve.h"
#include "geo-summary.h"
#include "pii-t.h"
#include "util.h"

/* Lua numbers are doubles: flush ids and sequence numbers (microseconds
 * since the epoch) stay exact until 2255. Stored values are the callers'
 * strings, never Lua's rendering of a number. */
const char RCMD_TALLY_LUA[] =
    "local last = redis.call('HGET', KEYS[2], ARGV[1])\n"
    "if last and tonumber(last) >= tonumber(ARGV[2]) then return 0 end\n"
    "local mode, k = ARGV[4], tonumber(ARGV[5])\n"
    "for i = 6, #ARGV, 2 do\n"
    "  if mode == 'z' then redis.call('ZINCRBY', KEYS[1], ARGV[i+1], ARGV[i])\n"
    "  elseif mode == 's' then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1])\n"
    "  else redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i+1]) end\n"
    "end\n"
    "if mode == 'z' and k > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -k - 1) end\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
    "redis.call('EXPIRE', KEYS[2], ARGV[3])\n"
    "return 1\n";

/* ------------------------------------------------------------------ batches */

void rbatch_init(struct rbatch *b)
{
    memset(b, 0, sizeof *b);
}

void rbatch_free(struct rbatch *b)
{
    free(b->arena);
    free(b->args);
    free(b->cmds);
    memset(b, 0, sizeof *b);
}

void rbatch_reset(struct rbatch *b)
{
    b->alen = b->nargs = b->ncmds = 0;
    b->oom = 0;
}

/* Makes room for n more elements of size sz in *v (capacity *cap). */
static int grow(void **v, size_t *cap, size_t used, size_t n, size_t sz)
{
    size_t nc = *cap ? *cap : 16;
    void *p;

    if (used + n <= *cap)
        return 0;
    while (nc < used + n)
        nc *= 2;
    p = realloc(*v, nc * sz);
    if (p == NULL)
        return -1;
    *v = p;
    *cap = nc;
    return 0;
}

void rbatch_begin(struct rbatch *b, enum rcmd_kind kind)
{
    if (b->oom || grow((void **)&b->cmds, &b->ccmds, b->ncmds, 1, sizeof *b->cmds) < 0) {
        b->oom = 1;
        return;
    }
    b->cmds[b->ncmds++] = (struct rcmd){ .arg0 = b->nargs, .kind = (uint8_t)kind };
}

void rbatch_arg(struct rbatch *b, const char *s, size_t len)
{
    if (b->oom || b->ncmds == 0 ||
        grow((void **)&b->args, &b->cargs, b->nargs, 1, sizeof *b->args) < 0 ||
        grow((void **)&b->arena, &b->acap, b->alen, len + 1, 1) < 0) {
        b->oom = 1;
        return;
    }
    memcpy(b->arena + b->alen, s, len);
    b->arena[b->alen + len] = '\0';
    b->args[b->nargs++] = (struct rarg){ b->alen, len };
    b->alen += len + 1;
    b->cmds[b->ncmds - 1].nargs++;
}

void rbatch_str(struct rbatch *b, const char *s)
{
    rbatch_arg(b, s, strlen(s));
}

void rbatch_u64(struct rbatch *b, uint64_t v)
{
    char n[24], *p = n + sizeof n;

    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    rbatch_arg(b, p, (size_t)(n + sizeof n - p));
}

void rbatch_copy(struct rbatch *b, const struct rbatch *src, size_t i)
{
    const struct rcmd *c = &src->cmds[i];
    size_t len;

    rbatch_begin(b, (enum rcmd_kind)c->kind);
    if (b->oom)
        return;
    b->cmds[b->ncmds - 1].rec0 = c->rec0;
    b->cmds[b->ncmds - 1].nrec = c->nrec;
    for (size_t a = 0; a < c->nargs; a++) {
        const char *s = rbatch_argp(src, c, a, &len);
        rbatch_arg(b, s, len);
    }
}

/* ------------------------------------------------------------------ tallies */

enum fam { F_APP, F_L4, F_SRC, F_DST, F_CC, F_DIR, F_ALERTS, F_HEALTH, F_HTTP_HOST, F_DNS_QUERY, F_TLS_SNI,
           F_PII, F_MAX };
/* M_PII + enum pii_type: a personal-data type; M_PII + PII_TYPE_COUNT: bodies. */
enum metric { M_BYTES, M_PKTS, M_FLOWS, M_SID, M_SEVERITY, M_PII, M_NONE = M_PII + PII_TYPE_COUNT + 1 };

static const char *const fam_names[F_MAX] = {
    "app", "l4", "src", "dst", "cc", "dir", "alerts", "health", "http_host", "dns_query", "tls_sni", "pii",
};
static const char *const metric_names[M_NONE + 1] = {
    "bytes", "pkts", "flows", "sid", "severity",
    "cn-id", "bank-card", "cn-mobile", "email", "passport-cn", "bodies", NULL,
};

/* One destination key (of this sensor; the "all" scope sends the same
 * members), and its members in first-seen order. An hour fed by a single
 * minute of the flush, the live case, shares that minute's members. */
struct group {
    uint64_t start;              /* bucket start, Unix seconds */
    uint8_t  hour;               /* resolution: 0 minute, 1 hour */
    uint8_t  fam, metric;
    uint32_t head, tail;         /* member nodes; NIL when none */
    uint32_t minutes;            /* hour: how many minute groups feed it */
    uint32_t only;               /* hour: the first of them */
};

/* One member's value in one group: equal members (the minutes of one
 * hour, several signatures of one severity) add up in one node. */
struct mnode {
    uint32_t group;
    uint32_t next;               /* the group's next member */
    uint32_t moff, mlen;         /* member text, in the builder's text */
    uint32_t hash;
    uint64_t value;
};

#define NIL UINT32_MAX

struct builder {
    const struct rkeys *rk;
    struct group *g;
    size_t ng, cg;
    uint32_t *gindex;            /* open addressing: group number + 1 */
    size_t gslots;
    struct mnode *m;
    size_t nm, cm;
    uint32_t *mindex;            /* open addressing: node number + 1 */
    size_t mslots;
    char *text;
    size_t tlen, tcap;
    int oom;
};

static uint64_t group_hash(const struct group *g)
{
    return lw_mix64(g->start * 0x9e3779b97f4a7c15ULL ^
                    ((uint64_t)g->hour << 16 | (uint64_t)g->fam << 8 | g->metric));
}

static int group_same(const struct group *a, const struct group *b)
{
    return a->start == b->start && a->hour == b->hour && a->fam == b->fam && a->metric == b->metric;
}

/* Rebuilds an open-addressing index of n items at twice the slots. */
static int index_grow(uint32_t **index, size_t *slots, size_t n, uint32_t (*hash_of)(const void *, size_t),
                      const void *items)
{
    size_t ns = *slots ? *slots * 2 : 64;
    uint32_t *ix = calloc(ns, sizeof *ix);

    if (ix == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t s = hash_of(items, i) & (ns - 1);
        while (ix[s])
            s = (s + 1) & (ns - 1);
        ix[s] = (uint32_t)i + 1;
    }
    free(*index);
    *index = ix;
    *slots = ns;
    return 0;
}

static uint32_t group_hash_at(const void *items, size_t i)
{
    return (uint32_t)group_hash(&((const struct group *)items)[i]);
}

static uint32_t node_hash_at(const void *items, size_t i)
{
    return ((const struct mnode *)items)[i].hash;
}

/* The number of group g, created if new. NIL when out of memory. */
static uint32_t group_get(struct builder *bd, const struct group *g)
{
    size_t s;

    if (2 * (bd->ng + 1) > bd->gslots &&
        index_grow(&bd->gindex, &bd->gslots, bd->ng, group_hash_at, bd->g) < 0)
        return NIL;
    for (s = group_hash(g) & (bd->gslots - 1); bd->gindex[s]; s = (s + 1) & (bd->gslots - 1))
        if (group_same(&bd->g[bd->gindex[s] - 1], g))
            return bd->gindex[s] - 1;
    if (grow((void **)&bd->g, &bd->cg, bd->ng, 1, sizeof *bd->g) < 0)
        return NIL;
    bd->g[bd->ng] = *g;
    bd->g[bd->ng].head = bd->g[bd->ng].tail = NIL;
    bd->g[bd->ng].minutes = 0;
    bd->gindex[s] = (uint32_t)++bd->ng;
    return bd->gindex[s] - 1;
}

/* Adds value to member (moff, mlen) of group gi. */
static void member_add(struct builder *bd, uint32_t gi, size_t moff, size_t mlen, uint64_t value)
{
    const char *txt = bd->text + moff;
    uint32_t h = (uint32_t)lw_mix64(gi * 0x9e3779b97f4a7c15ULL ^ mlen), ni;
    struct group *g;
    size_t s;

    for (size_t i = 0; i < mlen; i++)
        h = (h ^ (uint8_t)txt[i]) * 16777619u;
    if (2 * (bd->nm + 1) > bd->mslots &&
        index_grow(&bd->mindex, &bd->mslots, bd->nm, node_hash_at, bd->m) < 0)
        goto oom;
    for (s = h & (bd->mslots - 1); bd->mindex[s]; s = (s + 1) & (bd->mslots - 1)) {
        struct mnode *n = &bd->m[bd->mindex[s] - 1];
        if (n->hash == h && n->group == gi && n->mlen == mlen &&
            memcmp(bd->text + n->moff, txt, mlen) == 0) {
            n->value += value;
            return;
        }
    }
    if (grow((void **)&bd->m, &bd->cm, bd->nm, 1, sizeof *bd->m) < 0)
        goto oom;
    ni = (uint32_t)bd->nm++;
    bd->m[ni] = (struct mnode){ gi, NIL, (uint32_t)moff, (uint32_t)mlen, h, value };
    bd->mindex[s] = ni + 1;
    g = &bd->g[gi];
    if (g->tail == NIL)
        g->head = ni;
    else
        bd->m[g->tail].next = ni;
    g->tail = ni;
    return;
oom:
    bd->oom = 1;
}

/* Stores member text once for all its contributions. Returns its offset. */
static size_t text_add(struct builder *bd, const char *s, size_t len)
{
    size_t off = bd->tlen;

    if (grow((void **)&bd->text, &bd->tcap, bd->tlen, len, 1) < 0) {
        bd->oom = 1;
        return 0;
    }
    memcpy(bd->text + off, s, len);
    bd->tlen += len;
    return off;
}

/* value of member (at moff) to fam/metric in the minute of bucket; hours
 * and the "all" scope are derived from the minutes (hour_groups()). */
static void contribute(struct builder *bd, uint32_t bucket, enum fam fam, enum metric metric,
                       size_t moff, size_t mlen, uint64_t value)
{
    struct group g = {
        .start = (uint64_t)bucket * 60, .fam = (uint8_t)fam, .metric = (uint8_t)metric,
    };
    uint32_t gi;

    if (value == 0 || bd->oom)
        return;
    gi = group_get(bd, &g);
    if (gi == NIL) {
        bd->oom = 1;
        return;
    }
    member_add(bd, gi, moff, mlen, value);
}

/* The hour group of every minute group; an hour fed by several minutes
 * gets their members summed, one fed by one minute shares its list. */
static void hour_groups(struct builder *bd)
{
    size_t nmin = bd->ng;
    uint32_t *hour_of = malloc((nmin + 1) * sizeof *hour_of);

    if (hour_of == NULL) {
        bd->oom = 1;
        return;
    }
    for (size_t gi = 0; gi < nmin && !bd->oom; gi++) {
        struct group h = bd->g[gi];
        uint32_t hi;

        h.start = h.start / 3600 * 3600;
        h.hour = 1;
        hi = group_get(bd, &h);
        if (hi == NIL) {
            bd->oom = 1;
            break;
        }
        hour_of[gi] = hi;
        if (bd->g[hi].minutes++ == 0)
            bd->g[hi].only = (uint32_t)gi;
    }
    for (size_t gi = 0; gi < nmin && !bd->oom; gi++) {
        uint32_t hi = hour_of[gi];
        if (bd->g[hi].minutes < 2)
            continue;
        for (uint32_t ni = bd->g[gi].head; ni != NIL && !bd->oom; ni = bd->m[ni].next)
            member_add(bd, hi, bd->m[ni].moff, bd->m[ni].mlen, bd->m[ni].value);
    }
    free(hour_of);
}

static void contribute3(struct builder *bd, const struct tally_key *k, enum fam fam,
                        const char *member, const struct tally_sums *s)
{
    size_t len = strlen(member), off = text_add(bd, member, len);

    contribute(bd, k->bucket, fam, M_BYTES, off, len, s->bytes);
    contribute(bd, k->bucket, fam, M_PKTS, off, len, s->pkts);
    contribute(bd, k->bucket, fam, M_FLOWS, off, len, s->flows);
}

static void contribute1(struct builder *bd, const struct tally_key *k, enum fam fam,
                        enum metric metric, const char *member, uint64_t v)
{
    size_t len = strlen(member), off = text_add(bd, member, len);

    contribute(bd, k->bucket, fam, metric, off, len, v);
}

/* "tcp/443", "udp/53", "icmp", "gre", "99". */
static void l4_member(char *buf, size_t len, uint8_t proto, uint64_t port)
{
    char pb[8], *p;

    snprintf(buf, len, "%s", eve_proto_name(proto, pb, sizeof pb));
    for (p = buf; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (proto == 6 || proto == 17 || proto == 132)
        snprintf(p, len - (size_t)(p - buf), "/%llu", (unsigned long long)port);
}

static void on_entry(const struct tally_key *k, const struct tally_sums *s, void *arg)
{
    struct builder *bd = arg;
    char m[LW_ADDRSTRLEN + 2 * TALLY_STR_LEN];
    struct lw_addr a;
    int other = (k->flags & TALLY_KF_OTHER) != 0;

    switch (k->kind) {
    case TALLY_APP:
        contribute3(bd, k, F_APP, other ? "other" : k->str, s);
        break;
    case TALLY_L4:
        if (!other)
            l4_member(m, sizeof m, (uint8_t)k->num[0], k->num[1]);
        contribute3(bd, k, F_L4, other ? "other" : m, s);
        break;
    case TALLY_SRC_HOST:
    case TALLY_DST_HOST:
        if (!other) {
            memset(&a, 0, sizeof a);
            a.family = k->aux;
            memcpy(a.u.b, k->num, sizeof a.u.b);
            lw_addr_str(&a, m, sizeof m);
        }
        contribute3(bd, k, k->kind == TALLY_SRC_HOST ? F_SRC : F_DST, other ? "other" : m, s);
        break;
    case TALLY_COUNTRY_PAIR:
        snprintf(m, sizeof m, "%s>%s", k->cc[0], k->cc[1]);
        contribute3(bd, k, F_CC, other ? "other" : m, s);
        contribute3(bd, k, F_DIR, other ? "other" : geo_scope_name((enum geo_scope)k->aux), s);
        break;
    case TALLY_ALERT:
        snprintf(m, sizeof m, "%llu", (unsigned long long)k->num[0]);
        contribute1(bd, k, F_ALERTS, M_SID, other ? "other" : m, s->events);
        snprintf(m, sizeof m, "%llu", (unsigned long long)k->num[1]);
        contribute1(bd, k, F_ALERTS, M_SEVERITY, other ? "other" : m, s->events);
        contribute1(bd, k, F_HEALTH, M_NONE, "alerts", s->events);
        break;
    case TALLY_HEALTH:
        contribute1(bd, k, F_HEALTH, M_NONE, "pkts", s->pkts);
        contribute1(bd, k, F_HEALTH, M_NONE, "bytes", s->bytes);
        contribute1(bd, k, F_HEALTH, M_NONE, "flows", s->flows);
        contribute1(bd, k, F_HEALTH, M_NONE, "drops", s->events);
        break;
    case TALLY_HTTP_HOST:
    case TALLY_DNS_QUERY:
    case TALLY_TLS_SNI:
        contribute1(bd, k, k->kind == TALLY_HTTP_HOST ? F_HTTP_HOST : k->kind == TALLY_DNS_QUERY ? F_DNS_QUERY : F_TLS_SNI,
                    M_NONE, other ? "other" : k->str, s->events);
        break;
    case TALLY_PII:
        snprintf(m, sizeof m, "%s>%s", k->cc[0], k->cc[1]);
        if (k->aux <= PII_TYPE_COUNT)
            contribute1(bd, k, F_PII, (enum metric)(M_PII + k->aux), other ? "other" : m, s->events);
        break;
    default:
        break;
    }
}

/* The families kept as a top-K sorted set rather than a hash. */
static int fam_is_top(enum fam f)
{
    return f == F_SRC || f == F_DST || f == F_HTTP_HOST || f == F_DNS_QUERY || f == F_TLS_SNI;
}

/* The marker field of a group in its bucket's applied-ids hash. */
static void group_field(char *buf, size_t len, const struct rkeys *rk, const struct group *g,
                        int all, const char *suffix)
{
    const char *metric = metric_names[g->metric];

    snprintf(buf, len, "%s%s%s%s%s%s", all ? rk->sensor : "", all ? ":" : "",
             fam_names[g->fam], metric ? ":" : "", metric ? metric : "", suffix);
}

/* EVALSHA sha 2 key applied field fid ttl mode K: the start of a tally
 * command for group g, of this sensor or (all) of the merged view. */
static void begin_tally(struct rbatch *b, const struct rkeys *rk, const char *sha,
                        const struct group *g, int all, char mode, uint64_t fid, const char *suffix)
{
    char key[RKEY_MAX], field[RKEY_MAX];
    const char *scope = all ? "all" : rk->sensor;
    char res = g->hour ? 'h' : 'm';

    rbatch_begin(b, RC_TALLY);
    rbatch_str(b, "EVALSHA");
    rbatch_str(b, sha);
    rbatch_str(b, "2");
    rbatch_arg(b, key, rkey_bucket(key, sizeof key, rk, scope, res, g->start,
                                   fam_names[g->fam], metric_names[g->metric]));
    rbatch_arg(b, key, rkey_bucket(key, sizeof key, rk, scope, res, g->start, "applied", NULL));
    group_field(field, sizeof field, rk, g, all, suffix);
    rbatch_str(b, field);
    rbatch_u64(b, fid);
    rbatch_u64(b, g->hour ? rk->ttl_hour : rk->ttl_minute);
    rbatch_arg(b, &mode, 1);
    rbatch_u64(b, mode == 'z' ? rk->top_k : 0);
}

static void builder_free(struct builder *bd)
{
    free(bd->g);
    free(bd->gindex);
    free(bd->m);
    free(bd->mindex);
    free(bd->text);
}

/* Moves the k largest values of v[0..n) to its front (quickselect). */
static void select_top(uint32_t *v, uint32_t n, uint32_t k, const struct mnode *m)
{
    uint32_t lo = 0, hi = n - 1;

    while (lo < hi) {
        uint64_t pivot = m[v[lo + (hi - lo) / 2]].value;
        uint32_t i = lo, j = hi, t;

        while (i <= j) {
            while (m[v[i]].value > pivot)
                i++;
            while (m[v[j]].value < pivot)
                j--;
            if (i <= j) {
                t = v[i], v[i] = v[j], v[j] = t;
                i++;
                if (j-- == 0)
                    break;
            }
        }
        if (k - 1 <= j && j != UINT32_MAX)
            hi = j;
        else if (k - 1 >= i)
            lo = i;
        else
            break;
    }
}

/* The members of a list, as member/value arguments; for a top-K set with
 * more than k members, only its k largest (the set keeps k anyway; sending
 * the rest would only have Redis add and drop them). */
static void emit_members(struct rbatch *b, const struct builder *bd, uint32_t head, uint32_t k)
{
    uint32_t *v = NULL, n = 0;

    for (uint32_t ni = head; ni != NIL && (k == 0 || n <= k); ni = bd->m[ni].next)
        n++;
    if (k && n > k) {
        n = 0;
        for (uint32_t ni = head; ni != NIL; ni = bd->m[ni].next)
            n++;
        v = malloc(n * sizeof *v);
    }
    if (v == NULL) {
        for (uint32_t ni = head; ni != NIL; ni = bd->m[ni].next) {
            rbatch_arg(b, bd->text + bd->m[ni].moff, bd->m[ni].mlen);
            rbatch_u64(b, bd->m[ni].value);
        }
        return;
    }
    n = 0;
    for (uint32_t ni = head; ni != NIL; ni = bd->m[ni].next)
        v[n++] = ni;
    select_top(v, n, k, bd->m);
    for (uint32_t i = 0; i < k; i++) {
        rbatch_arg(b, bd->text + bd->m[v[i]].moff, bd->m[v[i]].mlen);
        rbatch_u64(b, bd->m[v[i]].value);
    }
    free(v);
}

size_t rcmd_tallies(struct rbatch *b, const struct rkeys *rk, const char *sha_tally,
                    const struct tally_table *tt, uint64_t fid)
{
    struct builder bd = { .rk = rk };
    size_t n0 = b->ncmds;

    tally_foreach(tt, on_entry, &bd);
    hour_groups(&bd);
    if (bd.oom) {
        b->oom = 1;
        goto out;
    }
    for (size_t gi = 0; gi < bd.ng; gi++) {
        const struct group *g = &bd.g[gi];
        int top = fam_is_top((enum fam)g->fam);
        uint32_t head = g->hour && g->minutes == 1 ? bd.g[g->only].head : g->head;

        for (int all = 0; all <= (rk->merged && g->fam != F_HEALTH); all++) {
            begin_tally(b, rk, sha_tally, g, all, top ? 'z' : 'h', fid, "");
            emit_members(b, &bd, head, top ? rk->top_k : 0);
        }
    }
out:
    builder_free(&bd);
    return b->ncmds - n0;
}

void rcmd_gauge(struct rbatch *b, const struct rkeys *rk, const char *sha_tally, uint32_t bucket,
                const char *field, uint64_t value, uint64_t fid)
{
    uint64_t minute = (uint64_t)bucket * 60;

    for (int hour = 0; hour <= 1; hour++) {
        struct group g = {
            .start = hour ? minute / 3600 * 3600 : minute, .hour = (uint8_t)hour,
            .fam = F_HEALTH, .metric = M_NONE,
        };
        begin_tally(b, rk, sha_tally, &g, 0, 's', fid, ":set");
        rbatch_str(b, field);
        rbatch_u64(b, value);
    }
}

/* ------------------------------------------------------------------ alerts */

void rcmd_alert_index_args(struct rbatch *b, const struct aix_terms *t)
{
    rbatch_str(b, t->minute);
    rbatch_str(b, t->usec);
    rbatch_str(b, t->gkey);
    rbatch_str(b, t->gfield);
    rbatch_str(b, t->sid);
    rbatch_arg(b, t->msg ? t->msg : "", t->msg ? t->msglen : 0);
    for (size_t i = 0; i < t->nlists; i++)
        rbatch_str(b, t->lists[i]);
}


/* The (sid, signature) pairs already sent in one script call: the script
 * needs a signature's text once per call (alert-index.h). */
struct sigs_sent {
    uint64_t h[256];
    size_t n;
};

/* Whether t's message went with an earlier alert of this call (notes it
 * when not). */
static int sig_sent(struct sigs_sent *ss, const struct aix_terms *t)
{
    uint64_t h = 1469598103934665603ULL;

    for (const char *p = t->sid; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    for (size_t i = 0; i < t->msglen; i++)
        h = (h ^ (uint8_t)t->msg[i]) * 1099511628211ULL;
    for (size_t i = 0; i < ss->n; i++)
        if (ss->h[i] == h)
            return 1;
    if (ss->n < sizeof ss->h / sizeof ss->h[0])
        ss->h[ss->n++] = h;
    return 0;
}

/* One alert: seq, event, its index arguments (alert-index.h). */
static void put_alert(struct rbatch *b, const struct rkeys *rk, const struct ralert *a,
                      struct aix_terms *t, char **scratch, size_t *cap, struct sigs_sent *ss)
{
    rbatch_u64(b, a->seq);
    rbatch_arg(b, a->line, a->len);
    if (a->len + 32 > *cap) {
        char *p = realloc(*scratch, a->len + 32);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        *scratch = p;
        *cap = a->len + 32;
    }
    if (aix_terms(a->line, a->len, rk->sensor, rk, t, *scratch, *cap) < 0) {
        b->oom = 1;
        return;
    }
    if (t->msg && sig_sent(ss, t))
        t->msg = NULL;                   /* "": the script has it */
    rbatch_u64(b, aix_nargs(t));
    rcmd_alert_index_args(b, t);
}

void rcmd_alerts(struct rbatch *b, const struct rkeys *rk, const char *sha_alert,
                 uint64_t maxlen, const struct ralert *a, size_t n, size_t rec0, size_t per_cmd)
{
    char key[RKEY_MAX], keys[AIX_NKEYS][RKEY_MAX], *scratch = NULL;
    struct aix_terms *t = malloc(sizeof *t);
    size_t cap = 0;

    if (t == NULL) {
        b->oom = 1;
        return;
    }
    aix_fixed_keys(rk, keys);
    for (size_t i = 0; i < n && !b->oom; i += per_cmd) {
        size_t m = n - i < per_cmd ? n - i : per_cmd;
        struct sigs_sent ss = { .n = 0 };

        rbatch_begin(b, RC_ALERT);
        if (b->oom)
            break;
        b->cmds[b->ncmds - 1].rec0 = rec0 + i;
        b->cmds[b->ncmds - 1].nrec = m;
        rbatch_str(b, "EVALSHA");
        rbatch_str(b, sha_alert);
        rbatch_u64(b, AIX_NKEYS);
        for (size_t k = 0; k < AIX_NKEYS; k++)
            rbatch_str(b, keys[k]);
        rbatch_str(b, rk->sensor);
        rbatch_u64(b, maxlen);
        rbatch_arg(b, key, rkey_named(key, sizeof key, rk, "channel"));
        for (size_t k = i; k < i + m; k++)
            put_alert(b, rk, &a[k], t, &scratch, &cap, &ss);
    }
    free(scratch);
    free(t);
}
