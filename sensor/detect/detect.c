/* detect.c - rule engine: compiles rules into port groups with Hyperscan prefilters and runs them on packets. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <hs/hs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "detect.h"
#include "dpi.h"
#include "rule-parse.h"
#include "stream.h"
#include "threshold.h"

/* A port set spanning more ports than this goes to the any-port group:
 * copying a rule into thousands of buckets would buy nothing. */
#define DETECT_SMALL_PORTSET 128
/* Content/pcre attempts per rule and buffer, so hostile payloads cannot make
 * backtracking over relative chains explode (Suricata's
 * inspection_recursion_limit plays the same role). */
#define DETECT_MATCH_BUDGET  3000
#define DETECT_NONE          UINT32_MAX
#define DETECT_NPORTS        65536u
/* A stream rule whose match may span any number of bytes: it sees all the
 * history the stream keeps (stream.inspect-window). */
#define DETECT_REACH_ANY     UINT32_MAX

/* Candidate sets: rules to try on the packet's payload, on the stream. */
#define CAND_PKT             1u
#define CAND_STREAM          2u
/* Stream rules remembered per flow direction because their fast pattern
 * went into the history (struct dhist), and found per packet. */
#define DETECT_HIST_MAX      8
#define DETECT_FOUND_MAX     32

enum { DC_TCP = 0, DC_UDP, DC_ICMP, DC_OTHER, DC_COUNT };

/* What a payload rule inspects on a TCP packet of a reassembled flow
 * (rules/README.md, "Stream reassembly"). Elsewhere every rule sees the
 * packet. */
enum {
    SM_PACKET = 0,   /* the packet's payload only */
    SM_STREAM,       /* the reassembled stream only */
    SM_BOTH,         /* both: its positions are anchored to a buffer start */
};

/* Which DPI metadata a flow-level rule reads, so a flow is offered only
 * the rules its kind of metadata can satisfy. FK_NONE: no sticky buffer
 * (ndpi-protocol and the like), or buffers of several kinds. */
enum { FK_NONE = 0, FK_HTTP, FK_TLS, FK_DNS, FK_SSH, FK_COUNT };

/* The rules that may apply to one (class, port) bucket, split by how they
 * become candidates. All lists hold ranks (indices in engine->rules) in
 * ascending order, except pat[], indexed by Hyperscan pattern id. */
struct dgroup {
    uint64_t       hash;         /* of all[], to share equal buckets */
    uint32_t      *all, nall;    /* every rank of the bucket */
    uint32_t      *pkt, npkt;    /* packet rules: always + prefiltered */
    uint32_t      *always, nalways;
    uint32_t      *salways, nsalways; /* ... those that also inspect the stream */
    uint32_t       sreach;       /* largest reach of its stream rules, 0 none */
    uint32_t       maxfp;        /* longest fast pattern of its stream rules */
    uint32_t      *iponly, niponly;  /* IP-only rules: first packet each way of a flow */
    uint32_t      *flowl[FK_COUNT], nflowl[FK_COUNT]; /* flow-level rules by kind */
    uint32_t      *flowa[FK_COUNT], nflowa[FK_COUNT]; /* ... those without a sticky fast pattern */
    struct {
        uint32_t      *pat, npat;    /* pattern id -> rank, flow-level rules */
        hs_database_t *db;
    } sb[RULE_BUF_COUNT];            /* per sticky buffer ([0] unused) */
    uint32_t      *pat, npat;    /* pattern id -> rank */
    hs_database_t *db;
};

struct dclass {
    uint32_t any;                /* group index of the any-port group */
    uint32_t *dmap, *smap;       /* port -> group index or DETECT_NONE; NULL: none */
};

struct drule {
    const struct rule *r;
    int32_t fp;                  /* sm index of the fast pattern (payload for packet
                                  * rules, a sticky buffer for flow-level ones), -1 none */
    uint8_t flow_level;
    uint8_t iponly;              /* decided by addresses and protocol alone */
    uint8_t kind;                /* FK_*, flow-level rules */
    uint8_t smode;               /* SM_* */
    uint8_t hist;                /* a stream rule whose match can start before its
                                  * fast pattern: remembered in struct dhist */
    uint32_t reach;              /* SM_STREAM/BOTH: longest span of a match, bytes */
};

struct detect_engine {
    uint64_t gen;                /* unique per compiled engine (addresses are reused) */
    struct rule_list *list;
    struct drule *rules;
    size_t n;
    struct dgroup *groups;
    size_t ngroups, capgroups;
    struct dclass cls[DC_COUNT];
    struct detect_engine_stats st;
};

struct detect_thread {
    const struct detect_engine *e;
    hs_scratch_t *scratch;
    pcre2_match_data *md;
    uint64_t *cand;              /* candidate ranks, a bit each: sorted and deduplicated for free */
    uint64_t *scand;             /* ... to try on the stream */
    size_t nwords, lo, hi;       /* words [lo, hi) of either may hold bits */
    int prefilter;
    uint32_t found[DETECT_FOUND_MAX];  /* hist rules whose pattern is in this chunk */
    uint32_t nfound;             /* may pass DETECT_FOUND_MAX: some were not kept */
    detect_geo_fn geo;           /* geoip: the worker's lookup, NULL: geoip never matches */
    void *geo_arg;
};

/* Stream rules of one flow direction whose fast pattern went into the
 * history, so that the history need not be scanned again on every packet:
 * a rule stays a candidate while new data starts at or before `until'
 * (after that its window cannot reach the pattern). While new data starts
 * before rescan_until the history is scanned all the same: more rules were
 * found than kept, or the list was not kept by this engine. */
struct dhist {
    uint64_t gen;                /* the ranks are those of the engine of this gen */
    uint64_t rescan_until;
    uint32_t n;
    uint32_t rank[DETECT_HIST_MAX];
    uint64_t until[DETECT_HIST_MAX];
};

/* What detect hangs on f->detect. */
struct detect_flow {
    uint8_t flow_rules_done;     /* flow-level rules ran for this flow */
    struct dhist *hist;          /* [2], TCP flows with stream data */
};

static uint64_t engine_gen;      /* last detect_engine.gen handed out */

void detect_thread_set_geo(struct detect_thread *t, detect_geo_fn fn, void *arg)
{
    t->geo = fn;
    t->geo_arg = arg;
}

/* ================================================================== matching */

/* Positions are indices into d. origin is where the buffer starts in
 * those terms: 0 for a packet or sticky buffer, minus the stream offset of
 * d[0] for a window of the stream, so offset/depth and the first relative
 * entry count from the stream's start. */
struct mctx {
    struct detect_thread *t;
    const struct rule *r;
    uint8_t buf;
    const uint8_t *d;
    uint32_t len;
    int64_t origin;
    int budget;
};

static int chain(struct mctx *m, int i, int64_t prev);

static int next_sm(const struct rule *r, int i, uint8_t buf)
{
    for (; i >= 0 && (uint32_t)i < r->nsm; i++)
        if (r->sm[i].buf == buf)
            return i;
    return -1;
}

static int sm_relative(const struct rule_sm *sm)
{
    if (sm->type == RULE_SM_CONTENT)
        return (sm->u.c.flags & RULE_CT_RELATIVE) != 0;
    return (sm->u.p.flags & RULE_PCRE_RELATIVE) != 0;
}

static int sm_negated(const struct rule_sm *sm)
{
    if (sm->type == RULE_SM_CONTENT)
        return (sm->u.c.flags & RULE_CT_NEGATED) != 0;
    return (sm->u.p.flags & RULE_PCRE_NEGATED) != 0;
}

/* Whether what follows entry i depends on where i matched: a later relative
 * entry reached before an entry that sets a new position of its own. Only
 * then is trying another occurrence of i worth it. */
static int later_depends(const struct mctx *m, int i)
{
    for (int j = next_sm(m->r, i + 1, m->buf); j >= 0; j = next_sm(m->r, j + 1, m->buf)) {
        if (sm_relative(&m->r->sm[j]))
            return 1;
        if (!sm_negated(&m->r->sm[j]))
            return 0;
    }
    return 0;
}

static inline uint8_t lc(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* First position >= s where c occurs ending at or before e, or -1. */
static int64_t find(const struct mctx *m, const struct rule_content *c, int64_t s, int64_t e)
{
    const uint8_t *d = m->d;

    if (e > (int64_t)m->len)
        e = m->len;
    if (s < 0)
        s = 0;
    if (e - s < (int64_t)c->len)
        return -1;
    if (!(c->flags & RULE_CT_NOCASE)) {
        const uint8_t *hit = memmem(d + s, (size_t)(e - s), c->bytes, c->len);
        return hit ? hit - d : -1;
    }
    uint8_t first = lc(c->bytes[0]);
    for (int64_t i = s; i + c->len <= e; i++) {
        uint32_t k;

        if (lc(d[i]) != first)
            continue;
        for (k = 1; k < c->len && lc(d[i + k]) == lc(c->bytes[k]); k++)
            ;
        if (k == c->len)
            return i;
    }
    return -1;
}

/* Suricata's window: absolute contents lie in [offset, offset+depth) from
 * the buffer's origin; relative ones start at prev+distance (not before
 * 0) and end by prev+distance+within. */
static void window(const struct rule_content *c, int64_t prev, int64_t origin, uint32_t len,
                   int64_t *s, int64_t *e)
{
    *e = len;
    if (c->flags & RULE_CT_RELATIVE) {
        int64_t dist = (c->flags & RULE_CT_DISTANCE) ? c->distance : 0;

        *s = prev + dist;
        if (*s < 0)
            *s = 0;
        if ((c->flags & RULE_CT_WITHIN) && prev + dist + c->within < *e)
            *e = prev + dist + c->within;
        return;
    }
    *s = origin + ((c->flags & RULE_CT_OFFSET) ? c->offset : 0);
    if ((c->flags & RULE_CT_DEPTH) && *s + c->depth < *e)
        *e = *s + c->depth;
}

static int chain_content(struct mctx *m, int i, int nxt, int64_t prev)
{
    const struct rule_content *c = &m->r->sm[i].u.c;
    int64_t s, e, pos;
    int again;

    window(c, prev, m->origin, m->len, &s, &e);
    if (c->flags & RULE_CT_NEGATED) {
        if (--m->budget < 0 || find(m, c, s, e) >= 0)
            return 0;
        return chain(m, nxt, prev);
    }
    again = later_depends(m, i);
    for (;;) {
        if (--m->budget < 0)
            return 0;
        pos = find(m, c, s, e);
        if (pos < 0)
            return 0;
        if (chain(m, nxt, pos + c->len))
            return 1;
        if (!again)
            return 0;
        s = pos + 1;
    }
}

/* Whether a pcre can only match at its start position (^ without m, \A,
 * the A flag). */
static int pcre_anchored(const struct rule_pcre *pc)
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
        if (pcre_anchored(pc))
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
                         opts, m->t->md, NULL);
        if (rc < 0)
            return (pc->flags & RULE_PCRE_NEGATED) ? chain(m, nxt, prev) : 0;
        if (pc->flags & RULE_PCRE_NEGATED)
            return 0;
        ov = pcre2_get_ovector_pointer(m->t->md);
        ms = ov[0];
        me = ov[1];
        if (chain(m, nxt, base + (uint32_t)me))
            return 1;
        if (!again || ms + 1 > m->len - base)
            return 0;
        start = ms + 1;
    }
}

/* Entries i, next_sm(i+1), ... of one buffer match with the previous match
 * ending at prev: each occurrence of a positive entry is tried in turn when
 * later relative entries fail (Suricata's content inspection). */
static int chain(struct mctx *m, int i, int64_t prev)
{
    int nxt;

    if (i < 0)
        return 1;
    nxt = next_sm(m->r, i + 1, m->buf);
    if (m->r->sm[i].type == RULE_SM_CONTENT)
        return chain_content(m, i, nxt, prev);
    return chain_pcre(m, i, nxt, prev);
}

/* ssh.software: the banner after "SSH-x.y-". */
static const char *ssh_software(const char *banner)
{
    const char *dash;

    if (strncmp(banner, "SSH-", 4) != 0)
        return banner;
    dash = strchr(banner + 4, '-');
    return dash ? dash + 1 : banner + strlen(banner);
}

/* The text of sticky buffer b, NULL when the flow has none. */
static const char *sticky_buffer(const struct dpi_result *dr, int b, uint8_t dir)
{
    const struct dpi_tls *tls = dr->tls ? dr->tls : dr->quic;

    switch (b) {
    case RULE_BUF_DNS_QUERY:        return dr->dns ? dr->dns->rrname : NULL;
    case RULE_BUF_TLS_SNI:          return tls ? tls->sni : NULL;
    case RULE_BUF_TLS_CERT_SUBJECT: return dr->tls ? dr->tls->subject : NULL;
    case RULE_BUF_TLS_CERT_ISSUER:  return dr->tls ? dr->tls->issuerdn : NULL;
    case RULE_BUF_JA3_HASH:         return tls ? tls->ja3 : NULL;
    case RULE_BUF_HTTP_HOST:        return dr->http ? dr->http->hostname : NULL;
    case RULE_BUF_HTTP_URI:         return dr->http ? dr->http->url : NULL;
    case RULE_BUF_HTTP_METHOD:      return dr->http ? dr->http->method : NULL;
    case RULE_BUF_HTTP_USER_AGENT:  return dr->http ? dr->http->user_agent : NULL;
    case RULE_BUF_SSH_SOFTWARE:
        if (dr->ssh == NULL)
            return NULL;
        return ssh_software(dir == 0 ? dr->ssh->client_version : dr->ssh->server_version);
    default:
        return NULL;
    }
}

/* The chain of buffer b over d[0, len) (origin: see struct mctx). An
 * absent or empty buffer fails, negated entries or not (as in Suricata). */
static int match_buf(struct detect_thread *t, const struct rule *r, int b,
                     const uint8_t *d, uint32_t len, int64_t origin)
{
    struct mctx m = { t, r, (uint8_t)b, d, len, origin, DETECT_MATCH_BUDGET };

    if (len == 0 || d == NULL)
        return 0;
    return chain(&m, next_sm(r, 0, (uint8_t)b), origin);
}

/* Every buffer the rule inspects matches its chain; the payload is the
 * packet's. */
static int match_buffers(struct detect_thread *t, const struct rule *r,
                         const struct packet *p, const struct dpi_result *dr)
{
    for (int b = 0; b < RULE_BUF_COUNT; b++) {
        const char *s;

        if (!(r->buffers & (1u << b)))
            continue;
        if (b == RULE_BUF_PAYLOAD) {
            if (!match_buf(t, r, b, p->payload, p->payload_len, 0))
                return 0;
            continue;
        }
        s = dr ? sticky_buffer(dr, b, p->dir) : NULL;
        if (s == NULL || !match_buf(t, r, b, (const uint8_t *)s, (uint32_t)strlen(s), 0))
            return 0;
    }
    return 1;
}

static int is_icmp(uint8_t proto)
{
    return proto == 1 || proto == 58;
}

static int port_ok(const struct rule_portset *s, const struct packet *p, uint16_t port)
{
    if (!(p->flags & PKT_F_HAS_PORTS))
        return s->any;
    return rule_port_match(s, port);
}

static int match_addrs(const struct rule *r, const struct packet *p)
{
    if (rule_addr_match(&r->src, &p->src) && rule_addr_match(&r->dst, &p->dst) &&
        port_ok(&r->sport, p, p->sport) && port_ok(&r->dport, p, p->dport))
        return 1;
    return r->bidir &&
           rule_addr_match(&r->src, &p->dst) && rule_addr_match(&r->dst, &p->src) &&
           port_ok(&r->sport, p, p->dport) && port_ok(&r->dport, p, p->sport);
}

/* Suricata's "established": the TCP handshake completed (half-closed still
 * counts), or for other protocols both sides have spoken. */
static int flow_established(const struct flow *f)
{
    if (f->key.proto == 6)
        return f->tcp_state == FLOW_TCP_ESTABLISHED || f->tcp_state == FLOW_TCP_FIN_WAIT;
    return (f->flags & FLOW_F_TOCLIENT_SEEN) != 0;
}

static int match_flow_kw(const struct rule *r, const struct packet *p, const struct flow *f)
{
    uint8_t need = r->flow & (RULE_FLOW_TO_SERVER | RULE_FLOW_TO_CLIENT |
                              RULE_FLOW_ESTABLISHED | RULE_FLOW_NOT_ESTABLISHED);

    if (need == 0)
        return 1;
    if (f == NULL)
        return 0;
    if ((r->flow & RULE_FLOW_TO_SERVER) && p->dir != 0)
        return 0;
    if ((r->flow & RULE_FLOW_TO_CLIENT) && p->dir != 1)
        return 0;
    if ((r->flow & RULE_FLOW_ESTABLISHED) && !flow_established(f))
        return 0;
    if ((r->flow & RULE_FLOW_NOT_ESTABLISHED) && flow_established(f))
        return 0;
    return 1;
}

static int match_pkt_opts(const struct rule *r, const struct packet *p)
{
    if (r->tcpflags.set && (p->proto != 6 || !rule_tcpflags_match(&r->tcpflags, p->tcp_flags)))
        return 0;
    if ((r->itype.op != RULE_CMP_NONE || r->icode.op != RULE_CMP_NONE) && !is_icmp(p->proto))
        return 0;
    return rule_cmp_match(&r->dsize, p->payload_len) && rule_cmp_match(&r->ttl, p->ttl) &&
           rule_cmp_match(&r->itype, p->icmp_type) && rule_cmp_match(&r->icode, p->icmp_code) &&
           rule_cmp_match(&r->ip_proto, p->proto);
}

/* nDPI's "TLS.Tor" matches "TLS.Tor", "TLS" and "Tor". */
static int ndpi_name_match(const char *full, const char *want)
{
    const char *dot = strchr(full, '.');
    size_t n = strlen(want);

    if (strcasecmp(full, want) == 0)
        return 1;
    if (dot == NULL)
        return 0;
    if ((size_t)(dot - full) == n && strncasecmp(full, want, n) == 0)
        return 1;
    return strcasecmp(dot + 1, want) == 0;
}

static int match_app(const struct rule *r, const struct dpi_result *dr)
{
    if ((r->app_layer || r->app_proto || r->ndpi_proto) && dr == NULL)
        return 0;
    if (r->app_layer && strcmp(dr->app_proto, r->proto) != 0)
        return 0;
    if (r->app_proto && (strcmp(dr->app_proto, r->app_proto) == 0) == (r->app_proto_neg != 0))
        return 0;
    if (r->ndpi_proto && ndpi_name_match(dr->protocol, r->ndpi_proto) == (r->ndpi_proto_neg != 0))
        return 0;
    return 1;
}

static int geo_test(const struct detect_thread *t, const struct rule_geoip *g, const struct flow *f,
                    const struct lw_addr *a)
{
    const char *cc = t->geo(t->geo_arg, f, a);
    int in = 0;

    if (cc == NULL)
        return 0;
    for (uint16_t i = 0; i < g->n && !in; i++)
        in = strcasecmp(cc, g->cc[i]) == 0;
    return in != (g->negated != 0);
}

static int match_geo(const struct detect_thread *t, const struct rule_geoip *g, const struct packet *p,
                     const struct flow *f)
{
    if (t->geo == NULL)
        return 0;
    switch (g->dir) {
    case RULE_GEO_SRC:  return geo_test(t, g, f, &p->src);
    case RULE_GEO_DST:  return geo_test(t, g, f, &p->dst);
    case RULE_GEO_BOTH: return geo_test(t, g, f, &p->src) && geo_test(t, g, f, &p->dst);
    default:            return geo_test(t, g, f, &p->src) || geo_test(t, g, f, &p->dst);
    }
}

static int match_proto(const struct rule *r, const struct packet *p)
{
    if (r->ipproto == 0)
        return 1;
    if (r->ipproto == 1)
        return is_icmp(p->proto);
    return r->ipproto == p->proto;
}

/* Everything but the buffers, on packet p, cheapest tests first. */
static int match_head(const struct detect_thread *t, const struct rule *r, const struct packet *p,
                      const struct flow *f, const struct dpi_result *dr)
{
    return match_proto(r, p) && match_addrs(r, p) && match_flow_kw(r, p, f) &&
           match_pkt_opts(r, p) && match_app(r, dr) &&
           (r->geoip == NULL || match_geo(t, r->geoip, p, f));
}

/* The whole rule on packet p. */
static int match_rule(struct detect_thread *t, const struct rule *r, const struct packet *p,
                      const struct flow *f, const struct dpi_result *dr)
{
    return match_head(t, r, p, f, dr) && (r->nsm == 0 || match_buffers(t, r, p, dr));
}

/* A stream rule on packet p whose payload is the reassembled stream: its
 * window is the new data of chunk c plus the history a match of this rule
 * can reach back into (d->reach - 1 bytes). It matches when that window
 * matches and the same window without the new data did not: each match is
 * then reported once, on the packet that completed it, and a match found
 * on an earlier packet is not reported again. (Stream rules carry only
 * payload entries: sticky buffers make a rule flow-level.) */
static int match_rule_stream(struct detect_thread *t, const struct drule *d,
                             const struct packet *p, const struct flow *f,
                             const struct dpi_result *dr, const struct stream_chunk *c)
{
    uint32_t hist = c->hist < d->reach - 1 ? c->hist : d->reach - 1;
    uint32_t skip = c->hist - hist;
    int64_t origin = -(int64_t)(c->offset + skip);

    if (!match_head(t, d->r, p, f, dr) ||
        !match_buf(t, d->r, RULE_BUF_PAYLOAD, c->data + skip, c->len - skip, origin))
        return 0;
    return hist == 0 || !match_buf(t, d->r, RULE_BUF_PAYLOAD, c->data + skip, hist, origin);
}

/* A copy of p as seen from direction dir of its flow. */
static void packet_view(struct packet *v, const struct packet *p, uint8_t dir)
{
    *v = *p;
    if (p->dir == dir)
        return;
    v->src = p->dst;
    v->dst = p->src;
    v->sport = p->dport;
    v->dport = p->sport;
    v->dir = dir;
}

/* A flow-level rule in the orientation(s) its flow keyword allows; on a
 * match *v is the packet view it matched. */
static int match_flow_rule(struct detect_thread *t, const struct rule *r, const struct packet *p,
                           const struct flow *f, const struct dpi_result *dr, struct packet *v)
{
    if (!(r->flow & RULE_FLOW_TO_CLIENT)) {
        packet_view(v, p, 0);
        if (match_rule(t, r, v, f, dr))
            return 1;
    }
    if (!(r->flow & RULE_FLOW_TO_SERVER)) {
        packet_view(v, p, 1);
        if (match_rule(t, r, v, f, dr))
            return 1;
    }
    return 0;
}

/* ================================================================== per packet */

/* Marks rank in the candidate sets given (CAND_*). */
static inline void cand_add(struct detect_thread *t, uint32_t rank, unsigned sets)
{
    size_t w = rank >> 6;
    uint64_t bit = 1ull << (rank & 63);

    if (sets & CAND_PKT)
        t->cand[w] |= bit;
    if (sets & CAND_STREAM)
        t->scand[w] |= bit;
    if (w < t->lo)
        t->lo = w;
    if (w + 1 > t->hi)
        t->hi = w + 1;
}

static void cand_clear(struct detect_thread *t)
{
    if (t->hi > t->lo) {
        memset(t->cand + t->lo, 0, (t->hi - t->lo) * sizeof *t->cand);
        memset(t->scand + t->lo, 0, (t->hi - t->lo) * sizeof *t->scand);
    }
    t->lo = t->nwords;
    t->hi = 0;
}

struct hs_ctx {
    struct detect_thread *t;
    const uint32_t *pat;         /* pattern id -> rank */
    uint32_t npat;
    unsigned sets;               /* CAND_* to mark */
    int record;                  /* note hist rules in t->found */
};

static int hs_on_match(unsigned int id, unsigned long long from, unsigned long long to,
                       unsigned int flags, void *ctx)
{
    struct hs_ctx *c = ctx;
    struct detect_thread *t = c->t;

    if (id >= c->npat)
        return 0;
    cand_add(t, c->pat[id], c->sets);
    if (c->record && t->e->rules[c->pat[id]].hist) {
        if (t->nfound < DETECT_FOUND_MAX)
            t->found[t->nfound] = c->pat[id];
        t->nfound++;
    }
    return 0;
}

static void add_list(struct detect_thread *t, const uint32_t *v, uint32_t n, unsigned sets)
{
    for (uint32_t i = 0; i < n; i++)
        cand_add(t, v[i], sets);
}

/* The group's fast patterns over d[0, len), marking sets. */
static void scan_group(struct detect_thread *t, const struct dgroup *g, const uint8_t *d,
                       uint32_t len, unsigned sets, int record)
{
    struct hs_ctx ctx = { t, g->pat, g->npat, sets, record };

    if (len == 0 || d == NULL)
        return;
    if (hs_scan(g->db, (const char *)d, len, 0, t->scratch, hs_on_match, &ctx) != HS_SUCCESS)
        add_list(t, g->pkt, g->npkt, sets);   /* cannot prefilter: evaluate everything */
}

/* Packet rules of group g for packet p, whose stream verdict is sv (chunk
 * c with STREAM_DATA): CAND_PKT for the payload, CAND_STREAM for the
 * stream. The stream is scanned from maxfp - 1 bytes before the new data
 * (a pattern ending in it), or when rescan is set from as far back as the
 * group's stream rules reach (patterns in the history the flow's struct
 * dhist does not know); when the chunk's new data is the packet's payload,
 * that one scan serves both (a candidate too many is only evaluated in
 * vain). */
static void add_packet_rules(struct detect_thread *t, const struct dgroup *g, const struct packet *p,
                             int iponly_due, enum stream_verdict sv, const struct stream_chunk *c,
                             int rescan)
{
    int on_stream = sv == STREAM_DATA && g->sreach;

    if (iponly_due)
        add_list(t, g->iponly, g->niponly, CAND_PKT);
    if (!t->prefilter) {
        add_list(t, g->pkt, g->npkt, on_stream ? CAND_PKT | CAND_STREAM : CAND_PKT);
        return;
    }
    add_list(t, g->always, g->nalways, CAND_PKT);
    if (on_stream)
        add_list(t, g->salways, g->nsalways, CAND_STREAM);
    if (g->db == NULL || sv == STREAM_STOPPED)
        return;
    if (on_stream) {
        uint32_t reach = rescan ? g->sreach : g->maxfp ? g->maxfp : 1;
        uint32_t back = c->hist < reach - 1 ? c->hist : reach - 1;

        scan_group(t, g, c->data + (c->hist - back), c->len - c->hist + back,
                   c->exact ? CAND_PKT | CAND_STREAM : CAND_STREAM, 1);
        if (c->exact)
            return;
    }
    scan_group(t, g, p->payload, p->payload_len, CAND_PKT, 0);
}

static int class_of(uint8_t proto)
{
    switch (proto) {
    case 6:  return DC_TCP;
    case 17: return DC_UDP;
    case 1: case 58: return DC_ICMP;
    default: return DC_OTHER;
    }
}

/* Whether flow-level rules run on this packet: the first one of the flow
 * that finds its DPI result final. The mark lives on f->detect. */
static int flow_rules_due(struct flow *f, const struct dpi_result *dr)
{
    struct detect_flow *df;

    if (f == NULL || dr == NULL)
        return 0;
    df = f->detect;
    if (df == NULL) {
        df = calloc(1, sizeof *df);
        if (df == NULL)
            return 0;   /* no mark, no run: never alert on every packet */
        f->detect = df;
    }
    if (df->flow_rules_done)
        return 0;
    df->flow_rules_done = 1;
    return 1;
}

static int flow_kind(const struct dpi_result *dr)
{
    if (dr->http)
        return FK_HTTP;
    if (dr->tls || dr->quic)
        return FK_TLS;
    if (dr->dns)
        return FK_DNS;
    if (dr->ssh)
        return FK_SSH;
    return FK_NONE;
}

static uint8_t buffer_kind(int b);

static void scan_sticky(struct detect_thread *t, const struct dgroup *g, int b, const char *s)
{
    struct hs_ctx ctx = { t, g->sb[b].pat, g->sb[b].npat, CAND_PKT, 0 };

    if (s == NULL || *s == '\0')
        return;
    if (hs_scan(g->sb[b].db, s, (unsigned)strlen(s), 0, t->scratch, hs_on_match, &ctx) != HS_SUCCESS)
        add_list(t, g->flowl[buffer_kind(b)], g->nflowl[buffer_kind(b)], CAND_PKT);
}

/* The flow's per-direction history list for packet p (created on first
 * use), ready for this engine and chunk: a list another engine kept, or
 * none kept yet while the chunk has history, means the history must be
 * scanned while it may still hold unknown patterns. NULL without memory. */
static struct dhist *hist_of(const struct detect_engine *e, struct flow *f, const struct packet *p,
                             const struct stream_chunk *c)
{
    struct detect_flow *df = f->detect;
    struct dhist *h;

    if (df == NULL && (df = f->detect = calloc(1, sizeof *df)) == NULL)
        return NULL;
    if (df->hist == NULL && (df->hist = calloc(2, sizeof *df->hist)) == NULL)
        return NULL;
    h = &df->hist[p->dir & 1];
    if (h->gen != e->gen) {
        h->gen = e->gen;
        h->n = 0;
        h->rescan_until = c->hist ? c->offset + c->hist + c->window : 0;
    }
    return h;
}

/* Adds the remembered stream rules still in reach to the candidates and
 * forgets the others. Returns whether the history must be scanned. */
static int hist_candidates(struct detect_thread *t, struct dhist *h, uint64_t start)
{
    uint32_t k = 0;

    if (h == NULL)
        return 1;
    for (uint32_t i = 0; i < h->n; i++) {
        if (h->until[i] < start)
            continue;
        cand_add(t, h->rank[i], CAND_STREAM);
        h->rank[k] = h->rank[i];
        h->until[k++] = h->until[i];
    }
    h->n = k;
    return start < h->rescan_until;
}

/* Remembers the hist rules whose fast pattern this chunk held: each can be
 * reached from new data starting up to its reach (or the window) after the
 * pattern, which ends by the chunk's end at the latest. */
static void hist_remember(const struct detect_engine *e, struct detect_thread *t, struct dhist *h,
                          const struct stream_chunk *c)
{
    uint64_t end = c->offset + c->len;

    if (h != NULL && t->nfound > DETECT_FOUND_MAX && h->rescan_until < end + c->window)
        h->rescan_until = end + c->window;
    for (uint32_t i = 0; h != NULL && i < t->nfound && i < DETECT_FOUND_MAX; i++) {
        const struct drule *d = &e->rules[t->found[i]];
        uint32_t back = d->reach - 1 < c->window ? d->reach - 1 : c->window;
        uint64_t until = end - d->r->sm[d->fp].u.c.len + back;
        uint32_t k;

        for (k = 0; k < h->n && h->rank[k] != t->found[i]; k++)
            ;
        if (k == h->n && h->n == DETECT_HIST_MAX) {
            if (h->rescan_until < until)
                h->rescan_until = until;
            continue;
        }
        if (k == h->n) {
            h->rank[h->n++] = t->found[i];
            h->until[k] = 0;
        }
        if (h->until[k] < until)
            h->until[k] = until;
    }
    t->nfound = 0;
}

/* Flow-level candidates of kind k: those without a sticky fast pattern,
 * and those whose pattern is in the flow's buffer of that name. A rule
 * whose buffers span kinds cannot match (one kind of metadata per flow),
 * so FK_NONE scans nothing. */
static void add_flow_rules(struct detect_thread *t, const struct dgroup *g,
                           const struct dpi_result *dr, int k)
{
    if (!t->prefilter) {
        add_list(t, g->flowl[k], g->nflowl[k], CAND_PKT);
        return;
    }
    add_list(t, g->flowa[k], g->nflowa[k], CAND_PKT);
    if (k == FK_NONE)
        return;
    for (int b = 1; b < RULE_BUF_COUNT; b++) {
        if (g->sb[b].db == NULL || buffer_kind(b) != k)
            continue;
        scan_sticky(t, g, b, sticky_buffer(dr, b, 0));
        if (b == RULE_BUF_SSH_SOFTWARE)
            scan_sticky(t, g, b, sticky_buffer(dr, b, 1));
    }
}

static void add_group(const struct detect_engine *e, const uint32_t *map, uint16_t port,
                      const struct dgroup **g, int *ng)
{
    if (map && map[port] != DETECT_NONE)
        g[(*ng)++] = &e->groups[map[port]];
}

/* Whether packet rule d looks at the packet itself, given the stream
 * verdict: past the depth no payload is inspected any more; stream rules
 * of a reassembled flow see only the stream. */
static int packet_eval_ok(const struct drule *d, enum stream_verdict sv)
{
    switch (sv) {
    case STREAM_OFF:
        return 1;
    case STREAM_STOPPED:
        return !(d->r->buffers & (1u << RULE_BUF_PAYLOAD));
    default:
        return d->smode != SM_STREAM;
    }
}

/* Runs the candidates of p's groups: packet rules when packet_rules is
 * set, flow-level rules when they are due. A rule is evaluated once per
 * packet: on the packet, then (when that did not match) on the stream. */
static void detect_run(const struct detect_engine *e, struct detect_thread *t,
                       struct threshold_ctx *th, const struct packet *p, struct flow *f,
                       detect_alert_fn on_alert, void *arg, int packet_rules)
{
    const struct dclass *c = &e->cls[class_of(p->proto)];
    const struct dpi_result *dr = f ? dpi_flow_result(f) : NULL;
    const struct dgroup *g[5];
    int ng = 0;
    struct packet view;
    struct stream_chunk sc;
    enum stream_verdict sv = packet_rules ? stream_chunk(f, p, &sc) : STREAM_OFF;
    struct dhist *h = NULL;
    int rescan = 0;

    if (p->flags & PKT_F_HAS_PORTS) {
        add_group(e, c->dmap, p->dport, g, &ng);
        add_group(e, c->smap, p->sport, g, &ng);
    }
    g[ng++] = &e->groups[c->any];
    /* IP-only rules give the same answer for every packet of one direction
     * of a flow: as Suricata, run them on the first packet each way. */
    int iponly_due = f == NULL || f->pkts[p->dir & 1] <= 1;

    if (sv == STREAM_DATA && e->st.stream_hist) {
        h = hist_of(e, f, p, &sc);
        rescan = hist_candidates(t, h, sc.offset + sc.hist);
    }
    t->nfound = 0;
    for (int i = 0; packet_rules && i < ng; i++)
        add_packet_rules(t, g[i], p, iponly_due, sv, &sc, rescan);
    if (sv == STREAM_DATA)
        hist_remember(e, t, h, &sc);
    if (e->st.flow_level && flow_rules_due(f, dr)) {
        /* flow-level rules match in either orientation: look the ports up
         * both ways too */
        if (p->flags & PKT_F_HAS_PORTS) {
            add_group(e, c->dmap, p->sport, g, &ng);
            add_group(e, c->smap, p->dport, g, &ng);
        }
        int k = flow_kind(dr);

        for (int i = 0; i < ng; i++) {
            add_flow_rules(t, g[i], dr, FK_NONE);
            if (k != FK_NONE)
                add_flow_rules(t, g[i], dr, k);
        }
    }
    for (size_t w = t->lo; w < t->hi; w++) {
        uint64_t pk = t->cand[w], st = t->scand[w], bits = pk | st;

        t->cand[w] = t->scand[w] = 0;
        while (bits) {
            uint32_t rank = (uint32_t)(w << 6) + (uint32_t)__builtin_ctzll(bits);
            uint64_t bit = bits & -bits;
            const struct drule *d = &e->rules[rank];
            const struct packet *ap = p;

            bits &= bits - 1;
            if (d->flow_level) {
                if (!match_flow_rule(t, d->r, p, f, dr, &view))
                    continue;
                ap = &view;
            } else if ((pk & bit) && packet_eval_ok(d, sv) && match_rule(t, d->r, p, f, dr)) {
                ;
            } else if ((st & bit) && sv == STREAM_DATA && d->smode != SM_PACKET &&
                       match_rule_stream(t, d, p, f, dr, &sc)) {
                view = *p;
                view.flags |= PKT_F_STREAM_MATCH;
                ap = &view;
            } else {
                continue;
            }
            if (d->r->action == RULE_ACTION_PASS) {
                cand_clear(t);
                return;
            }
            if (th == NULL || threshold_check(th, d->r, ap, ap->ts))
                on_alert(arg, d->r, ap, f);
        }
    }
    t->lo = t->nwords;
    t->hi = 0;
}

void detect_packet(const struct detect_engine *e, struct detect_thread *t,
                   struct threshold_ctx *th, struct packet *p, struct flow *f,
                   detect_alert_fn on_alert, void *arg)
{
    detect_run(e, t, th, p, f, on_alert, arg, 1);
}

void detect_flow_end(const struct detect_engine *e, struct detect_thread *t,
                     struct threshold_ctx *th, struct flow *f,
                     detect_alert_fn on_alert, void *arg)
{
    struct packet p;

    if (dpi_flow_result(f) == NULL)
        return;
    memset(&p, 0, sizeof p);
    p.src = f->key.src;
    p.dst = f->key.dst;
    p.sport = f->key.sport;
    p.dport = f->key.dport;
    p.proto = f->key.proto;
    p.ip_version = f->ip_version;
    p.ts = f->last_ts;
    p.flow = f;
    if (p.proto == 6 || p.proto == 17 || p.proto == 132)
        p.flags = PKT_F_HAS_PORTS;
    detect_run(e, t, th, &p, f, on_alert, arg, 0);
}

void detect_flow_free(struct flow *f)
{
    struct detect_flow *df = f->detect;

    if (df)
        free(df->hist);
    free(df);
    f->detect = NULL;
}

/* ================================================================== threads */

struct detect_thread *detect_thread_new(const struct detect_engine *e)
{
    struct detect_thread *t = calloc(1, sizeof *t);

    if (t == NULL)
        return NULL;
    t->e = e;
    t->prefilter = 1;
    t->nwords = e->n / 64 + 1;
    t->lo = t->nwords;
    t->cand = calloc(t->nwords, sizeof *t->cand);
    t->scand = calloc(t->nwords, sizeof *t->scand);
    t->md = pcre2_match_data_create(32, NULL);
    if (t->cand == NULL || t->scand == NULL || t->md == NULL)
        goto fail;
    for (size_t i = 0; i < e->ngroups; i++) {
        const struct dgroup *g = &e->groups[i];

        if (g->db && hs_alloc_scratch(g->db, &t->scratch) != HS_SUCCESS)
            goto fail;
        for (int b = 1; b < RULE_BUF_COUNT; b++)
            if (g->sb[b].db && hs_alloc_scratch(g->sb[b].db, &t->scratch) != HS_SUCCESS)
                goto fail;
    }
    return t;
fail:
    detect_thread_free(t);
    return NULL;
}

void detect_thread_free(struct detect_thread *t)
{
    if (t == NULL)
        return;
    hs_free_scratch(t->scratch);
    pcre2_match_data_free(t->md);
    free(t->cand);
    free(t->scand);
    free(t);
}

void detect_thread_set_prefilter(struct detect_thread *t, int on)
{
    t->prefilter = on != 0;
}

/* ================================================================== compile */

/* Suricata's order: pass first, then priority, then sid (gid breaks ties). */
static int cmp_rules(const void *a, const void *b)
{
    const struct rule *x = *(const struct rule *const *)a, *y = *(const struct rule *const *)b;
    int px = x->action != RULE_ACTION_PASS, py = y->action != RULE_ACTION_PASS;

    if (px != py)
        return px - py;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    if (x->sid != y->sid)
        return x->sid < y->sid ? -1 : 1;
    return x->gid < y->gid ? -1 : x->gid > y->gid;
}

/* The content the prefilter looks for: fast_pattern if it is a positive
 * content of the right kind of buffer (payload for packet rules, sticky
 * for flow-level ones), else the longest such content. A rule that matches
 * always has it in that buffer, so the prefilter loses nothing. */
static int32_t pick_fast_pattern(const struct rule *r, int flow_level)
{
    int32_t best = -1;

    for (uint32_t i = 0; i < r->nsm; i++) {
        const struct rule_sm *sm = &r->sm[i];

        if (sm->type != RULE_SM_CONTENT || (sm->buf == RULE_BUF_PAYLOAD) == flow_level ||
            (sm->u.c.flags & RULE_CT_NEGATED))
            continue;
        if ((int32_t)i == r->fast_pattern)
            return (int32_t)i;
        if (best < 0 || sm->u.c.len > r->sm[best].u.c.len)
            best = (int32_t)i;
    }
    return best;
}

static int has_packet_opts(const struct rule *r)
{
    return r->tcpflags.set || r->dsize.op || r->ttl.op || r->itype.op || r->icode.op ||
           r->ip_proto.op || r->geoip;
}

/* Suricata's IP-only rules: nothing but protocol and addresses (any ports,
 * no flow keyword, no inspection, no application), e.g. the IP reputation
 * lists of rule sets. Their result is fixed per flow direction. */
static int is_ip_only(const struct rule *r)
{
    return r->nsm == 0 && !has_packet_opts(r) && r->flow == 0 && !r->app_layer &&
           !r->app_proto && !r->ndpi_proto && r->sport.any && r->dport.any;
}

/* Rules on sticky buffers, and rules whose whole test is the flow's
 * application (ndpi-protocol, app-layer-protocol, an app-layer header and
 * nothing per packet), run once per flow. */
static int is_flow_level(const struct rule *r)
{
    if (r->buffers & ~(1u << RULE_BUF_PAYLOAD))
        return 1;
    return r->nsm == 0 && !has_packet_opts(r) && (r->app_layer || r->app_proto || r->ndpi_proto);
}

static unsigned rule_classes(const struct rule *r);

/* Whether where r's payload match may lie depends on where the buffer
 * starts: a content with offset or depth, a relative entry with no
 * positive entry before it (it counts from the start), an anchored pcre. */
static int payload_anchored(const struct rule *r)
{
    int first = 1;

    for (int i = next_sm(r, 0, RULE_BUF_PAYLOAD); i >= 0; i = next_sm(r, i + 1, RULE_BUF_PAYLOAD)) {
        const struct rule_sm *sm = &r->sm[i];

        if (sm->type == RULE_SM_CONTENT) {
            if ((sm->u.c.flags & (RULE_CT_OFFSET | RULE_CT_DEPTH)) ||
                (first && (sm->u.c.flags & RULE_CT_RELATIVE)))
                return 1;
        } else if (!(sm->u.p.flags & RULE_PCRE_RELATIVE) && pcre_anchored(&sm->u.p)) {
            return 1;
        }
        if (!sm_negated(sm))
            first = 0;
    }
    return 0;
}

/* SM_* of a packet rule (rules/README.md, "Stream reassembly"): payload
 * rules that can see TCP inspect the stream, unless they test something
 * only a packet has (flags, dsize, ttl, ip_proto, itype/icode) or say
 * flow:no_stream; those anchored to the buffer start also inspect each
 * packet, unless they say flow:only_stream. */
static uint8_t stream_mode(const struct rule *r)
{
    if (!(r->buffers & (1u << RULE_BUF_PAYLOAD)) || !(rule_classes(r) & (1u << DC_TCP)) ||
        (r->flow & RULE_FLOW_NO_STREAM))
        return SM_PACKET;
    if (r->flow & RULE_FLOW_ONLY_STREAM)
        return SM_STREAM;
    if (r->tcpflags.set || r->dsize.op || r->ttl.op || r->ip_proto.op || r->itype.op || r->icode.op)
        return SM_PACKET;
    return payload_anchored(r) ? SM_BOTH : SM_STREAM;
}

/* The longest span, first byte to last, of a match of r's payload entries:
 * a run of contents tied by within (from one that is not relative) is
 * bounded; a pcre, a distance without within, or two independent runs are
 * not (DETECT_REACH_ANY). Negated entries add nothing to a match. */
static uint32_t stream_reach(const struct rule *r)
{
    int64_t lo = 0, hi = 0, pmin = 0, pmax = 0;
    int runs = 0;

    for (int i = next_sm(r, 0, RULE_BUF_PAYLOAD); i >= 0; i = next_sm(r, i + 1, RULE_BUF_PAYLOAD)) {
        const struct rule_content *c = &r->sm[i].u.c;
        int64_t dist, smin, emax;

        if (sm_negated(&r->sm[i]))
            continue;
        if (r->sm[i].type != RULE_SM_CONTENT)
            return DETECT_REACH_ANY;
        if (!(c->flags & RULE_CT_RELATIVE) || runs == 0) {
            if (runs++)
                return DETECT_REACH_ANY;
            hi = pmin = pmax = c->len;
            continue;
        }
        if (!(c->flags & RULE_CT_WITHIN))
            return DETECT_REACH_ANY;
        dist = (c->flags & RULE_CT_DISTANCE) ? c->distance : 0;
        smin = pmin + dist;
        emax = pmax + dist + c->within;
        lo = smin < lo ? smin : lo;
        hi = emax > hi ? emax : hi;
        pmin = smin + c->len;
        pmax = emax;
    }
    if (hi - lo < 1)
        return 1;
    return hi - lo >= DETECT_REACH_ANY ? DETECT_REACH_ANY : (uint32_t)(hi - lo);
}

static uint8_t buffer_kind(int b)
{
    switch (b) {
    case RULE_BUF_HTTP_HOST: case RULE_BUF_HTTP_URI: case RULE_BUF_HTTP_METHOD:
    case RULE_BUF_HTTP_USER_AGENT:
        return FK_HTTP;
    case RULE_BUF_TLS_SNI: case RULE_BUF_TLS_CERT_SUBJECT: case RULE_BUF_TLS_CERT_ISSUER:
    case RULE_BUF_JA3_HASH:
        return FK_TLS;
    case RULE_BUF_DNS_QUERY:
        return FK_DNS;
    case RULE_BUF_SSH_SOFTWARE:
        return FK_SSH;
    default:
        return FK_NONE;
    }
}

static uint8_t rule_kind(const struct rule *r)
{
    uint8_t kind = FK_NONE;

    for (int b = 1; b < RULE_BUF_COUNT; b++) {
        if (!(r->buffers & (1u << b)))
            continue;
        if (kind != FK_NONE && kind != buffer_kind(b))
            return FK_NONE;
        kind = buffer_kind(b);
    }
    return kind;
}

static uint64_t hash_u32s(const uint32_t *v, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ v[i]) * 1099511628211ull;
    return h;
}

static uint32_t *dup_u32(const uint32_t *v, size_t n)
{
    uint32_t *c = malloc((n ? n : 1) * sizeof *c);

    if (c && n)
        memcpy(c, v, n * sizeof *c);
    return c;
}

static int compile_db(struct detect_engine *e, const uint32_t *pat, uint32_t npat,
                      hs_database_t **db, char *err, size_t errlen)
{
    const char **expr = NULL;
    unsigned *flags = NULL, *ids = NULL;
    size_t *lens = NULL, bytes;
    hs_compile_error_t *cerr = NULL;
    int rc = -1;

    if (npat == 0)
        return 0;
    expr = malloc(npat * sizeof *expr);
    flags = malloc(npat * sizeof *flags);
    ids = malloc(npat * sizeof *ids);
    lens = malloc(npat * sizeof *lens);
    if (expr == NULL || flags == NULL || ids == NULL || lens == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < npat; i++) {
        const struct drule *d = &e->rules[pat[i]];
        const struct rule_content *c = &d->r->sm[d->fp].u.c;

        expr[i] = (const char *)c->bytes;
        lens[i] = c->len;
        ids[i] = i;
        flags[i] = HS_FLAG_SINGLEMATCH | ((c->flags & RULE_CT_NOCASE) ? HS_FLAG_CASELESS : 0);
    }
    if (hs_compile_lit_multi(expr, flags, ids, lens, npat, HS_MODE_BLOCK, NULL,
                             db, &cerr) != HS_SUCCESS) {
        snprintf(err, errlen, "hyperscan: %s", cerr ? cerr->message : "compile failed");
        hs_free_compile_error(cerr);
        *db = NULL;
        goto fail;
    }
    if (hs_database_size(*db, &bytes) == HS_SUCCESS)
        e->st.db_bytes += bytes;
    e->st.patterns += npat;
    rc = 0;
fail:
    free(expr);
    free(flags);
    free(ids);
    free(lens);
    return rc;
}

/* Gives back the unused tails of a group's lists (they were sized for the
 * worst case). A failed shrink keeps the bigger block. */
static void shrink(uint32_t **v, uint32_t n)
{
    uint32_t *x = realloc(*v, (n ? n : 1) * sizeof **v);

    if (x)
        *v = x;
}

static void group_shrink(struct dgroup *g)
{
    shrink(&g->pkt, g->npkt);
    shrink(&g->always, g->nalways);
    shrink(&g->salways, g->nsalways);
    shrink(&g->iponly, g->niponly);
    shrink(&g->pat, g->npat);
    for (int k = 0; k < FK_COUNT; k++) {
        shrink(&g->flowl[k], g->nflowl[k]);
        shrink(&g->flowa[k], g->nflowa[k]);
    }
    for (int b = 1; b < RULE_BUF_COUNT; b++)
        shrink(&g->sb[b].pat, g->sb[b].npat);
}

/* Adds a group of the given ranks (sorted) and returns its index, or
 * DETECT_NONE with err filled. */
static uint32_t group_add(struct detect_engine *e, const uint32_t *ranks, uint32_t n,
                          uint64_t hash, char *err, size_t errlen)
{
    struct dgroup *g;

    if (e->ngroups == e->capgroups) {
        size_t cap = e->capgroups ? e->capgroups * 2 : 16;
        struct dgroup *v = realloc(e->groups, cap * sizeof *v);

        if (v == NULL)
            goto oom;
        e->groups = v;
        e->capgroups = cap;
    }
    g = &e->groups[e->ngroups++];
    memset(g, 0, sizeof *g);
    g->hash = hash;
    g->nall = n;
    g->all = dup_u32(ranks, n);
    g->pkt = malloc((n ? n : 1) * sizeof *g->pkt);
    g->always = malloc((n ? n : 1) * sizeof *g->always);
    g->salways = malloc((n ? n : 1) * sizeof *g->salways);
    g->iponly = malloc((n ? n : 1) * sizeof *g->iponly);
    g->pat = malloc((n ? n : 1) * sizeof *g->pat);
    if (g->all == NULL || g->pkt == NULL || g->always == NULL || g->salways == NULL ||
        g->iponly == NULL || g->pat == NULL)
        goto oom;
    for (int k = 0; k < FK_COUNT; k++)
        if ((g->flowl[k] = malloc((n ? n : 1) * sizeof *g->flowl[k])) == NULL ||
            (g->flowa[k] = malloc((n ? n : 1) * sizeof *g->flowa[k])) == NULL)
            goto oom;
    for (int b = 1; b < RULE_BUF_COUNT; b++)
        if ((g->sb[b].pat = malloc((n ? n : 1) * sizeof *g->sb[b].pat)) == NULL)
            goto oom;
    for (uint32_t i = 0; i < n; i++) {
        const struct drule *d = &e->rules[ranks[i]];

        if (d->flow_level) {
            uint8_t b = d->fp >= 0 ? d->r->sm[d->fp].buf : 0;

            g->flowl[d->kind][g->nflowl[d->kind]++] = ranks[i];
            if (b)
                g->sb[b].pat[g->sb[b].npat++] = ranks[i];
            else
                g->flowa[d->kind][g->nflowa[d->kind]++] = ranks[i];
            continue;
        }
        if (d->iponly) {
            g->iponly[g->niponly++] = ranks[i];
            continue;
        }
        g->pkt[g->npkt++] = ranks[i];
        if (d->fp >= 0)
            g->pat[g->npat++] = ranks[i];
        else
            g->always[g->nalways++] = ranks[i];
        if (d->smode == SM_PACKET)
            continue;
        if (d->fp < 0)
            g->salways[g->nsalways++] = ranks[i];
        else if (d->r->sm[d->fp].u.c.len > g->maxfp)
            g->maxfp = d->r->sm[d->fp].u.c.len;
        if (d->reach > g->sreach)
            g->sreach = d->reach;
    }
    e->st.always += g->nalways;
    e->st.iponly += g->niponly;
    group_shrink(g);
    if (compile_db(e, g->pat, g->npat, &g->db, err, errlen) < 0)
        return DETECT_NONE;
    for (int b = 1; b < RULE_BUF_COUNT; b++)
        if (compile_db(e, g->sb[b].pat, g->sb[b].npat, &g->sb[b].db, err, errlen) < 0)
            return DETECT_NONE;
    return (uint32_t)(e->ngroups - 1);
oom:
    snprintf(err, errlen, "out of memory");
    return DETECT_NONE;
}

/* Which classes a rule belongs to (bit per DC_*). */
static unsigned rule_classes(const struct rule *r)
{
    switch (r->ipproto) {
    case 0:  return r->app_layer ? (1u << DC_TCP) | (1u << DC_UDP) : (1u << DC_COUNT) - 1;
    case 6:  return 1u << DC_TCP;
    case 17: return 1u << DC_UDP;
    case 1:  return 1u << DC_ICMP;
    default: return 1u << DC_OTHER;
    }
}

static uint32_t port_span(const struct rule_portset *s)
{
    uint32_t n = 0;

    if (s->any)
        return DETECT_NPORTS;
    for (uint32_t i = 0; i < s->n; i++)
        n += (uint32_t)s->r[i].hi - s->r[i].lo + 1;
    return n;
}

/* 'd' (dport buckets), 's' (sport buckets) or 'a' (any-port group). */
static char rule_placement(const struct rule *r, int cls)
{
    if ((cls != DC_TCP && cls != DC_UDP) || r->bidir)
        return 'a';
    if (port_span(&r->dport) <= DETECT_SMALL_PORTSET)
        return 'd';
    if (port_span(&r->sport) <= DETECT_SMALL_PORTSET)
        return 's';
    return 'a';
}

/* Builds the port map of one class and kind: a bucket per port that some
 * rule names, holding those rules plus nothing else (the any-port group is
 * scanned separately). Equal buckets share one group. */
static int build_portmap(struct detect_engine *e, int cls, char kind, uint32_t **mapp,
                         char *err, size_t errlen)
{
    uint32_t *cnt = NULL, *off = NULL, *ent = NULL, *map = NULL, *table = NULL;
    size_t total = 0, tsize = 1;
    int rc = -1;

    cnt = calloc(DETECT_NPORTS + 1, sizeof *cnt);
    if (cnt == NULL)
        goto oom;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < e->n; k++) {
            const struct rule *r = e->rules[k].r;
            const struct rule_portset *s = kind == 'd' ? &r->dport : &r->sport;

            if (!(rule_classes(r) & (1u << cls)) || rule_placement(r, cls) != kind)
                continue;
            for (uint32_t i = 0; i < s->n; i++)
                for (uint32_t port = s->r[i].lo; port <= s->r[i].hi; port++) {
                    if (pass == 0)
                        cnt[port]++;
                    else
                        ent[off[port]++] = (uint32_t)k;
                }
        }
        if (pass == 1)
            break;
        for (uint32_t port = 0; port < DETECT_NPORTS; port++)
            total += cnt[port];
        if (total == 0) {
            rc = 0;
            goto done;
        }
        off = malloc((DETECT_NPORTS + 1) * sizeof *off);
        ent = malloc(total * sizeof *ent);
        if (off == NULL || ent == NULL)
            goto oom;
        off[0] = 0;
        for (uint32_t port = 0; port < DETECT_NPORTS; port++)
            off[port + 1] = off[port] + cnt[port];
    }
    /* off[port] now points at the end of the port's entries */
    map = malloc(DETECT_NPORTS * sizeof *map);
    while (tsize < 2 * DETECT_NPORTS)
        tsize <<= 1;
    table = malloc(tsize * sizeof *table);
    if (map == NULL || table == NULL)
        goto oom;
    memset(table, 0xff, tsize * sizeof *table);
    for (uint32_t port = 0; port < DETECT_NPORTS; port++) {
        const uint32_t *v = ent + off[port] - cnt[port];
        uint64_t h;
        size_t slot;

        map[port] = DETECT_NONE;
        if (cnt[port] == 0)
            continue;
        h = hash_u32s(v, cnt[port]);
        for (slot = h & (tsize - 1); table[slot] != DETECT_NONE; slot = (slot + 1) & (tsize - 1)) {
            const struct dgroup *g = &e->groups[table[slot]];

            if (g->hash == h && g->nall == cnt[port] && memcmp(g->all, v, cnt[port] * sizeof *v) == 0)
                break;
        }
        if (table[slot] == DETECT_NONE) {
            table[slot] = group_add(e, v, cnt[port], h, err, errlen);
            if (table[slot] == DETECT_NONE)
                goto done;
        }
        map[port] = table[slot];
    }
    *mapp = map;
    map = NULL;
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
done:
    free(cnt);
    free(off);
    free(ent);
    free(map);
    free(table);
    return rc;
}

static int build_class(struct detect_engine *e, int cls, char *err, size_t errlen)
{
    uint32_t *v = malloc((e->n ? e->n : 1) * sizeof *v), n = 0;

    if (v == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < e->n; k++)
        if ((rule_classes(e->rules[k].r) & (1u << cls)) && rule_placement(e->rules[k].r, cls) == 'a')
            v[n++] = (uint32_t)k;
    e->cls[cls].any = group_add(e, v, n, hash_u32s(v, n), err, errlen);
    free(v);
    if (e->cls[cls].any == DETECT_NONE)
        return -1;
    if (build_portmap(e, cls, 'd', &e->cls[cls].dmap, err, errlen) < 0 ||
        build_portmap(e, cls, 's', &e->cls[cls].smap, err, errlen) < 0)
        return -1;
    return 0;
}

static uint64_t now_usec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct detect_engine *detect_compile(struct rule_list *rules, char *err, size_t errlen)
{
    struct detect_engine *e = calloc(1, sizeof *e);
    const struct rule **ord = NULL;
    uint64_t t0 = now_usec();

    if (e == NULL) {
        rule_list_free(rules);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->gen = __atomic_add_fetch(&engine_gen, 1, __ATOMIC_RELAXED);
    e->list = rules;
    e->n = rules->n;
    e->rules = calloc(e->n ? e->n : 1, sizeof *e->rules);
    ord = malloc((e->n ? e->n : 1) * sizeof *ord);
    if (e->rules == NULL || ord == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < e->n; i++)
        ord[i] = rules->v[i];
    qsort(ord, e->n, sizeof *ord, cmp_rules);
    for (size_t i = 0; i < e->n; i++) {
        e->rules[i].r = ord[i];
        e->rules[i].flow_level = (uint8_t)is_flow_level(ord[i]);
        e->rules[i].fp = pick_fast_pattern(ord[i], e->rules[i].flow_level);
        e->rules[i].kind = rule_kind(ord[i]);
        e->rules[i].iponly = !e->rules[i].flow_level && is_ip_only(ord[i]);
        e->st.flow_level += e->rules[i].flow_level;
        if (!e->rules[i].flow_level && !e->rules[i].iponly)
            e->rules[i].smode = stream_mode(ord[i]);
        if (e->rules[i].smode != SM_PACKET) {
            e->rules[i].reach = stream_reach(ord[i]);
            e->st.stream += e->rules[i].smode == SM_STREAM;
            e->st.stream_both += e->rules[i].smode == SM_BOTH;
            e->rules[i].hist = e->rules[i].fp >= 0 &&
                               e->rules[i].reach > ord[i]->sm[e->rules[i].fp].u.c.len;
            e->st.stream_hist += e->rules[i].hist;
        }
    }
    for (int c = 0; c < DC_COUNT; c++)
        if (build_class(e, c, err, errlen) < 0)
            goto fail;
    free(ord);
    e->st.rules = e->n;
    e->st.groups = e->ngroups;
    e->st.compile_usec = now_usec() - t0;
    return e;
fail:
    free(ord);
    detect_engine_free(e);
    return NULL;
}

void detect_engine_free(struct detect_engine *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->ngroups; i++) {
        struct dgroup *g = &e->groups[i];

        hs_free_database(g->db);
        free(g->all);
        free(g->pkt);
        free(g->always);
        free(g->salways);
        free(g->iponly);
        for (int k = 0; k < FK_COUNT; k++) {
            free(g->flowl[k]);
            free(g->flowa[k]);
        }
        for (int b = 1; b < RULE_BUF_COUNT; b++) {
            hs_free_database(g->sb[b].db);
            free(g->sb[b].pat);
        }
        free(g->pat);
    }
    free(e->groups);
    for (int c = 0; c < DC_COUNT; c++) {
        free(e->cls[c].dmap);
        free(e->cls[c].smap);
    }
    free(e->rules);
    rule_list_free(e->list);
    free(e);
}

size_t detect_rule_count(const struct detect_engine *e)
{
    return e->n;
}

void detect_engine_stats(const struct detect_engine *e, struct detect_engine_stats *out)
{
    *out = e->st;
}
