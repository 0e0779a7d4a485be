/* detect.c - the rule matcher: runs a compiled engine (detect-build.c) on
 * packets and flows: candidates from the Hyperscan prefilters, then each
 * candidate rule's header, options and content chains. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <hs/hs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "detect-app.h"
#include "detect-int.h"
#include "app-stage.h"
#include "dpi.h"
#include "rule-buffers.h"
#include "rule-parse.h"
#include "slab.h"
#include "stream.h"
#include "threshold.h"

const struct pii_counts *detect_alert_pii(const struct detect_thread *t, const struct rule *r)
{
    return r->pii_types ? &t->pii : NULL;
}

void detect_thread_set_geo(struct detect_thread *t, detect_geo_fn fn, void *arg)
{
    t->geo = fn;
    t->geo_arg = arg;
}

/* ================================================================== matching */

/* The payload view of r over d[0, len) with origin (detect_match_view()). */
static int match_payload(struct detect_thread *t, const struct drule *d, const uint8_t *data,
                         uint32_t len, int64_t origin, uint64_t *vars)
{
    return detect_match_view(t, d->r, d->pview, data, len, origin, vars);
}

/* Every view r inspects matches: the payload over the packet's payload,
 * the sticky buffers through the buffer seam (base64_data is run by the
 * base64_decode before it). */
static int match_views(struct detect_thread *t, const struct drule *d, const struct packet *p,
                       const struct detect_src *src, uint64_t *vars)
{
    const struct rule *r = d->r;

    for (uint32_t v = 0; v < r->nviews; v++) {
        unsigned b = r->views[v].buf;

        if (b == RULE_BUF_BASE64)
            continue;
        if (b == RULE_BUF_PAYLOAD) {
            if (!match_payload(t, d, p->payload, p->payload_len, 0, vars))
                return 0;
        } else if (src->f == NULL || !detect_inspect_view(t, r, (int)v, src, vars)) {
            return 0;
        }
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
           rule_cmp_match(&r->ip_proto, p->proto) && detect_header_match(r, p);
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

/* The application tests: the header's protocol and app-layer-protocol
 * against app (the transaction's parser, else nDPI's app_proto; NULL none
 * known), ndpi-protocol against nDPI's result. */
static int match_app(const struct rule *r, const struct dpi_result *dr, const char *app)
{
    if (((r->app_layer || r->app_proto) && app == NULL) || (r->ndpi_proto && dr == NULL))
        return 0;
    if (r->app_layer && strcmp(app, r->proto) != 0)
        return 0;
    if (r->app_proto && (strcmp(app, r->app_proto) == 0) == (r->app_proto_neg != 0))
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
    if (r->ipver && r->ipver != p->ip_version)
        return 0;
    if (r->ipproto == 0)
        return 1;
    if (r->ipproto == 1)
        return is_icmp(p->proto);
    return r->ipproto == p->proto;
}

/* Everything but the buffers, on packet p, cheapest tests first. */
static int match_head(struct detect_thread *t, const struct rule *r, const struct packet *p,
                      struct flow *f, const struct dpi_result *dr, const struct detect_src *src)
{
    const struct app_parser *ap = NULL;
    const char *app;

    /* The transaction's parser; for a packet, the parser the flow was given
     * (as Suricata's flow alproto: known from the first packet a parser
     * took, while nDPI may still be looking), else nDPI's app_proto. */
    if (src->tx)
        ap = app_parser_of((enum app_proto)src->proto);
    else if (f)
        (void)app_flow_state(f, &ap);
    app = ap ? ap->name : dr ? dr->app_proto : NULL;

    return match_proto(r, p) && match_addrs(r, p) && match_flow_kw(r, p, f) &&
           match_pkt_opts(r, p) && match_app(r, dr, app) &&
           (r->geoip == NULL || match_geo(t, r->geoip, p, f)) &&
           (!(r->tests & (RULE_T_STATE | RULE_T_STREAM_SIZE | RULE_T_EVENT | RULE_T_VALUE)) ||
            detect_state_match(t, r, p, f, src));
}

/* The whole rule on packet p: on transaction tx of protocol proto, or
 * (tx NULL) on the flow's summary, in orientation p->dir. */
int detect_match_rule(struct detect_thread *t, const struct drule *d, const struct packet *p,
                      struct flow *f, const struct dpi_result *dr, const struct app_tx *tx, unsigned proto)
{
    const struct detect_src src = { p, f, tx, p->dir, (uint8_t)proto };
    uint64_t vars[RULE_MAX_VARS];

    return match_head(t, d->r, p, f, dr, &src) && (d->r->nviews == 0 || match_views(t, d, p, &src, vars)) &&
           (d->r->nfints == 0 || detect_flowint_run(t, d->r, f));
}

/* A stream rule on packet p whose payload is the reassembled stream: its
 * window is the new data of chunk c plus the history a match of this rule
 * can reach back into (d->reach - 1 bytes). It matches when that window
 * matches and the same window without the new data did not: each match is
 * then reported once, on the packet that completed it, and a match found
 * on an earlier packet is not reported again. (Stream rules carry only
 * payload entries: sticky buffers make a rule flow-level.) */
static int match_rule_stream(struct detect_thread *t, const struct drule *d,
                             const struct packet *p, struct flow *f,
                             const struct dpi_result *dr, const struct stream_chunk *c)
{
    const struct detect_src src = { p, f, NULL, p->dir, 0 };
    uint32_t hist = c->hist < d->reach - 1 ? c->hist : d->reach - 1;
    uint32_t skip = c->hist - hist;
    int64_t origin = -(int64_t)(c->offset + skip);
    uint64_t vars[RULE_MAX_VARS];

    if (!match_head(t, d->r, p, f, dr, &src) ||
        !match_payload(t, d, c->data + skip, c->len - skip, origin, vars))
        return 0;
    if (hist != 0 && match_payload(t, d, c->data + skip, hist, origin, vars))
        return 0;
    return d->r->nfints == 0 || detect_flowint_run(t, d->r, f);
}

void detect_packet_view(struct packet *v, const struct packet *p, uint8_t dir)
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

/* A flow-level rule in the orientations its flow keyword and buffers
 * allow: a bit per orientation it matched (bit 0: initiator -> responder).
 * Rules whose buffers each side has (ssh.software, http.header, ...) are
 * tried both ways, as Suricata inspects each direction; the others stop at
 * the first orientation that matches. */
static unsigned match_flow_rule(struct detect_thread *t, const struct drule *d, const struct packet *p,
                                struct flow *f, const struct dpi_result *dr)
{
    struct packet v;
    unsigned m = 0;

    if (d->r->dir != RULE_DIR_TOCLIENT) {
        detect_packet_view(&v, p, 0);
        if (detect_match_rule(t, d, &v, f, dr, NULL, 0))
            m |= 1;
    }
    if (d->r->dir != RULE_DIR_TOSERVER && (m == 0 || d->bothdirs)) {
        detect_packet_view(&v, p, 1);
        if (detect_match_rule(t, d, &v, f, dr, NULL, 0))
            m |= 2;
    }
    return m;
}

int detect_matched(struct detect_thread *t, struct threshold_ctx *th, const struct drule *d,
                   const struct packet *ap, struct flow *f, const struct detect_sink *k)
{
    if (d->r->tests & RULE_T_ACTIONS || d->r->bypass)
        detect_state_apply(t, d->r, ap, f);
    if (d->r->action == RULE_ACTION_PASS)
        return 1;
    if (!d->r->noalert && (th == NULL || threshold_check(th, d->r, ap, ap->ts))) {
        if (k->tx_fn)
            k->tx_fn(k->arg, d->r, ap, f, k->tx);
        else
            k->fn(k->arg, d->r, ap, f);
    }
    return 0;
}

/* ================================================================== per packet */

static inline void cand_add(struct detect_thread *t, uint32_t rank, unsigned sets)
{
    detect_cand_add(t, rank, sets);
}

void detect_cand_clear(struct detect_thread *t)
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
    struct dbody *keep;          /* a body's memory: note each rank found */
};

/* Remembers rank in body memory b (full when there is no room). */
static void body_keep(struct dbody *b, uint32_t rank)
{
    for (uint16_t i = 0; i < b->n; i++)
        if (b->rank[i] == rank)
            return;
    if (b->n == b->cap) {
        uint16_t cap = b->cap ? (uint16_t)(b->cap * 2) : 8;
        uint32_t *v = cap <= DETECT_BODY_RANKS ? realloc(b->rank, cap * sizeof *v) : NULL;

        if (v == NULL) {
            b->full = 1;
            return;
        }
        b->rank = v;
        b->cap = cap;
    }
    b->rank[b->n++] = rank;
}

static int hs_on_match(unsigned int id, unsigned long long from, unsigned long long to,
                       unsigned int flags, void *ctx)
{
    struct hs_ctx *c = ctx;
    struct detect_thread *t = c->t;

    if (id >= c->npat)
        return 0;
    cand_add(t, c->pat[id], c->sets);
    if (c->keep)
        body_keep(c->keep, c->pat[id]);
    if (c->record && t->e->rules[c->pat[id]].hist) {
        if (t->nfound < DETECT_FOUND_MAX)
            t->found[t->nfound] = c->pat[id];
        t->nfound++;
    }
    return 0;
}

void detect_add_list(struct detect_thread *t, const uint32_t *v, uint32_t n, unsigned sets)
{
    for (uint32_t i = 0; i < n; i++)
        cand_add(t, v[i], sets);
}

static void iponly_add(void *arg, uint32_t rank)
{
    cand_add(arg, rank, CAND_PKT);
}

/* The group's fast patterns over d[0, len), marking sets. */
static void scan_group(struct detect_thread *t, const struct dgroup *g, const uint8_t *d,
                       uint32_t len, unsigned sets, int record)
{
    struct hs_ctx ctx = { t, g->pat, g->npat, sets, record, NULL };

    if (len == 0 || d == NULL)
        return;
    if (hs_scan(g->db, (const char *)d, len, 0, t->scratch, hs_on_match, &ctx) != HS_SUCCESS)
        detect_add_list(t, g->pkt, g->npkt, sets);   /* cannot prefilter: evaluate everything */
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

    if (iponly_due && t->prefilter)
        diponly_candidates(&g->ipx, p, iponly_add, t);
    else if (iponly_due)
        detect_add_list(t, g->iponly, g->niponly, CAND_PKT);
    if (!t->prefilter) {
        detect_add_list(t, g->pkt, g->npkt, on_stream ? CAND_PKT | CAND_STREAM : CAND_PKT);
        return;
    }
    detect_add_list(t, g->always, g->nalways, CAND_PKT);
    if (on_stream)
        detect_add_list(t, g->salways, g->nsalways, CAND_STREAM);
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

int detect_class_of(uint8_t proto)
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
static int flow_rules_due(struct detect_thread *t, struct flow *f, const struct dpi_result *dr)
{
    struct detect_flow *df;

    if (f == NULL || dr == NULL)
        return 0;
    if ((df = detect_flow_state(t, f)) == NULL)
        return 0;       /* no mark, no run: never alert on every packet */
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

/* b for a new body, nothing scanned (its rank array stays for reuse). */
static void body_reset(struct dbody *b, uint64_t gen, uint64_t tx_id, uint16_t vkey, uint16_t group, uint8_t dir,
                       uint8_t proto)
{
    *b = (struct dbody){ .gen = gen, .tx_id = tx_id, .vkey = vkey, .group = group, .dir = dir, .proto = proto,
                         .cap = b->cap, .rank = b->rank };
}

/* The body memory of (transaction, direction, vkey k, group gi) of src's
 * flow: found, or a new entry (scanned 0) in a free slot or the oldest
 * transaction's. NULL without memory. */
static struct dbody *body_of(struct detect_thread *t, const struct detect_src *src, uint8_t dir, size_t k,
                             size_t gi)
{
    struct detect_flow *df = src->f ? src->f->detect : NULL;    /* detect_tx made it */
    struct dbody *b, *victim = NULL;

    if (df == NULL)
        return NULL;
    if (df->body == NULL && (df->body = detect_flow_new(t, DETECT_BODY_MAX * sizeof *df->body)) == NULL)
        return NULL;
    for (int i = 0; i < DETECT_BODY_MAX; i++) {
        b = &df->body[i];
        if (b->gen == t->e->gen && b->tx_id == src->tx->id && b->proto == src->proto && b->dir == dir &&
            b->vkey == k && b->group == gi)
            return b;
        if (b->gen != t->e->gen ? victim == NULL || victim->gen == t->e->gen
                                : victim == NULL || (victim->gen == t->e->gen && b->tx_id < victim->tx_id))
            victim = b;
    }
    body_reset(victim, t->e->gen, src->tx->id, (uint16_t)k, (uint16_t)gi, dir, src->proto);
    return victim;
}

/* The transaction's bodies are done: their memory goes. */
void detect_body_forget(struct detect_flow *df, uint64_t tx_id)
{
    for (int i = 0; df->body && i < DETECT_BODY_MAX; i++)
        if (df->body[i].tx_id == tx_id)
            df->body[i].gen = 0;
}

/* Body bytes d[0, n) of src's transaction in vkey k of group g: from where
 * the last scan ended, with the ranks found before as candidates (struct
 * dbody). Returns the scan's status. */
static hs_error_t scan_body(struct detect_thread *t, const struct dgroup *g, size_t k, const struct detect_src *src,
                            uint8_t dir, const uint8_t *d, uint32_t n, struct hs_ctx *ctx)
{
    struct dbody *b;
    uint32_t from = 0;
    hs_error_t rc;

    /* The rules with a pattern here read this body: while it waits for
     * its minimal inspect size (detect_body_waits()) none of them runs,
     * and it is scanned later, from where the last scan ended. */
    if (!t->tx_end && !g->sb[k].eager &&
        detect_body_waits((enum app_proto)src->proto, src->tx, (uint8_t)detect_body_side(t->e->vkeys[k].buf, dir)))
        return HS_SUCCESS;
    b = body_of(t, src, dir, k, (size_t)(g - t->e->groups));
    if (b != NULL && !b->full && n >= b->scanned) {
        for (uint16_t i = 0; i < b->n; i++)
            cand_add(t, b->rank[i], CAND_PKT);
        if (n == b->scanned)
            return HS_SUCCESS;
        from = b->scanned > g->sb[k].maxlen - 1 ? b->scanned - (g->sb[k].maxlen - 1) : 0;
    } else if (b != NULL && n < b->scanned) {
        b->scanned = 0;                  /* not the body scanned before: start again */
        b->n = 0;
        b->full = 0;
    }
    ctx->keep = b != NULL && !b->full ? b : NULL;
    rc = hs_scan(g->sb[k].db, (const char *)d + from, n - from, 0, t->scratch, hs_on_match, ctx);
    if (b != NULL)
        b->scanned = rc == HS_SUCCESS ? n : 0;
    return rc;
}

/* The flow-level rules whose fast pattern is in vkey k, for the instances
 * of its buffer that from (the flow's summary or a transaction) has in
 * direction dir (transformed as the rules transform them). */
static void scan_sticky(struct detect_thread *t, const struct dgroup *g, size_t k, const struct detect_src *from,
                        uint8_t dir, int kind)
{
    const struct dvkey *vk = &t->e->vkeys[k];
    const struct detect_src src = { NULL, from->f, from->tx, dir, from->proto };
    struct hs_ctx ctx = { t, g->sb[k].pat, g->sb[k].npat, CAND_PKT, 0, NULL };
    /* a body without transforms, of a transaction: scanned as it grows */
    int incremental = from->tx != NULL && detect_body_side(vk->buf, dir) >= 0 && vk->rep->nxf == 0 &&
                      !(rule_buffer_info(vk->buf)->flags & RULE_BUFF_MULTI);

    for (uint32_t idx = 0; idx < DETECT_MAX_INSTANCES; idx++) {
        struct detect_bytes b;
        const uint8_t *d;
        uint32_t n;

        if (!detect_buffer_get(&src, vk->buf, idx, &b))
            return;
        if (b.len == 0)
            continue;
        if (incremental) {
            if (scan_body(t, g, k, &src, dir, b.data, b.len, &ctx) != HS_SUCCESS) {
                detect_add_list(t, g->flowl[kind], g->nflowl[kind], CAND_PKT);
                return;
            }
            continue;
        }
        if (detect_transform(&t->pxb, vk->rep, b.data, b.len, t->md, &d, &n) < 0 ||
            (n && hs_scan(g->sb[k].db, (const char *)d, n, 0, t->scratch, hs_on_match, &ctx) != HS_SUCCESS)) {
            detect_add_list(t, g->flowl[kind], g->nflowl[kind], CAND_PKT);   /* cannot prefilter */
            return;
        }
        if (!(rule_buffer_info(vk->buf)->flags & RULE_BUFF_MULTI))
            return;
    }
}

/* The flow's per-direction history list for packet p (created on first
 * use), ready for this engine and chunk: a list another engine kept, or
 * none kept yet while the chunk has history, means the history must be
 * scanned while it may still hold unknown patterns. NULL without memory. */
static struct dhist *hist_of(const struct detect_engine *e, struct detect_thread *t, struct flow *f,
                             const struct packet *p, const struct stream_chunk *c)
{
    struct detect_flow *df = f->detect;
    struct dhist *h;

    if (df == NULL && (df = f->detect = detect_flow_new(t, sizeof *df)) == NULL)
        return NULL;
    if (df->hist == NULL && (df->hist = detect_flow_new(t, 2 * sizeof *df->hist)) == NULL)
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

void detect_add_flow_rules(struct detect_thread *t, const struct dgroup *g, const struct detect_src *src,
                           int k, int dir, int late_only)
{
    if (!t->prefilter) {
        detect_add_list(t, g->flowl[k], g->nflowl[k], CAND_PKT);
        return;
    }
    detect_add_list(t, g->flowa[k], g->nflowa[k], CAND_PKT);
    if (k == FK_NONE)
        return;
    for (size_t v = 0; v < t->e->nvkeys; v++) {
        uint8_t b = t->e->vkeys[v].buf, bdir = rule_buffer_info(b)->dir;

        if (g->sb[v].db == NULL || !detect_buffer_in_kind(b, k) ||
            (late_only && !detect_buffer_late(b) && !t->e->vkeys[v].late_fp))
            continue;
        for (uint8_t d = 0; d < 2; d++)
            if (bdir == RULE_DIR_BOTH ? dir < 0 || d == dir : d == (bdir == RULE_DIR_TOCLIENT))
                scan_sticky(t, g, v, src, d, k);
    }
}

void detect_add_group(const struct detect_engine *e, const uint32_t *map, uint16_t port,
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
        return !(d->r->buffers & RULE_BUF_BIT(RULE_BUF_PAYLOAD));
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
    const struct dclass *c = &e->cls[detect_class_of(p->proto)];
    const struct dpi_result *dr = f ? dpi_flow_result(f) : NULL;
    const struct dgroup *g[5];
    int ng = 0;
    struct packet view;
    struct stream_chunk sc;
    enum stream_verdict sv = packet_rules ? stream_chunk(f, p, &sc) : STREAM_OFF;
    struct dhist *h = NULL;
    int rescan = 0;
    const struct detect_sink sink = { on_alert, NULL, arg, NULL };

    if (f && f->detect && ((struct detect_flow *)f->detect)->bypass)
        return;                          /* a bypass rule matched earlier */
    t->th = th;
    if (p->flags & PKT_F_HAS_PORTS) {
        detect_add_group(e, c->dmap, p->dport, g, &ng);
        detect_add_group(e, c->smap, p->sport, g, &ng);
    }
    g[ng++] = &e->groups[c->any];
    /* IP-only rules give the same answer for every packet of one direction
     * of a flow: as Suricata, run them on the first packet each way. */
    int iponly_due = f == NULL || f->pkts[p->dir & 1] <= 1;

    if (sv == STREAM_DATA && e->st.stream_hist) {
        h = hist_of(e, t, f, p, &sc);
        rescan = hist_candidates(t, h, sc.offset + sc.hist);
    }
    t->nfound = 0;
    for (int i = 0; packet_rules && i < ng; i++)
        add_packet_rules(t, g[i], p, iponly_due, sv, &sc, rescan);
    if (sv == STREAM_DATA)
        hist_remember(e, t, h, &sc);
    if (e->st.flow_level && flow_rules_due(t, f, dr)) {
        /* flow-level rules match in either orientation: look the ports up
         * both ways too */
        if (p->flags & PKT_F_HAS_PORTS) {
            detect_add_group(e, c->dmap, p->sport, g, &ng);
            detect_add_group(e, c->smap, p->dport, g, &ng);
        }
        int k = flow_kind(dr);
        const struct detect_src fs = { NULL, f, NULL, 0, 0 };

        if (k == detect_tx_kind(f))
            k = FK_NONE;             /* its parser's transactions have these rules */
        for (int i = 0; i < ng; i++) {
            detect_add_flow_rules(t, g[i], &fs, FK_NONE, -1, 0);
            if (k != FK_NONE)
                detect_add_flow_rules(t, g[i], &fs, k, -1, 0);
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
                unsigned m = match_flow_rule(t, d, p, f, dr);

                for (uint8_t dir = 0; dir < 2; dir++) {
                    if (!(m & (1u << dir)))
                        continue;
                    /* the summary is the first transaction's: a parser
                     * that starts late must not alert on it again */
                    if (d->kind != FK_NONE)
                        detect_tx_matched_add(t, f, 0, detect_rule_key(d), detect_tx_slot(d, dir));
                    detect_packet_view(&view, p, dir);
                    if (detect_matched(t, th, d, &view, f, &sink)) {
                        detect_cand_clear(t);
                        return;
                    }
                }
                continue;
            }
            if ((pk & bit) && packet_eval_ok(d, sv) && detect_match_rule(t, d, p, f, dr, NULL, 0)) {
                ;
            } else if ((st & bit) && sv == STREAM_DATA && d->smode != SM_PACKET &&
                       match_rule_stream(t, d, p, f, dr, &sc)) {
                view = *p;
                view.flags |= PKT_F_STREAM_MATCH;
                ap = &view;
            } else {
                continue;
            }
            if (detect_matched(t, th, d, ap, f, &sink)) {
                detect_cand_clear(t);
                return;
            }
        }
    }
    t->lo = t->nwords;
    t->hi = 0;
}

void detect_packet(const struct detect_engine *e, struct detect_thread *t,
                   struct threshold_ctx *th, struct packet *p, struct flow *f,
                   detect_alert_fn on_alert, void *arg)
{
    detect_thread_time(t, p->ts);
    detect_run(e, t, th, p, f, on_alert, arg, 1);
}

void detect_held_packet(const struct detect_engine *e, struct detect_thread *t,
                        struct threshold_ctx *th, struct packet *p,
                        detect_alert_fn on_alert, void *arg)
{
    const struct detect_sink sink = { on_alert, NULL, arg, NULL };

    if (e->nheld == 0)
        return;
    detect_thread_time(t, p->ts);
    t->th = th;
    for (size_t i = 0; i < e->nheld; i++) {
        const struct drule *d = &e->rules[e->held[i]];

        if (detect_match_rule(t, d, p, NULL, NULL, NULL, 0) && detect_matched(t, th, d, p, NULL, &sink))
            return;
    }
}

void detect_flow_end(const struct detect_engine *e, struct detect_thread *t,
                     struct threshold_ctx *th, struct flow *f,
                     detect_alert_fn on_alert, void *arg)
{
    struct packet p;

    if (dpi_flow_result(f) == NULL)
        return;
    detect_flow_packet(&p, f);
    detect_thread_time(t, p.ts);
    detect_run(e, t, th, &p, f, on_alert, arg, 0);
}

void detect_flow_packet(struct packet *p, struct flow *f)
{
    memset(p, 0, sizeof *p);
    p->src = f->key.src;
    p->dst = f->key.dst;
    p->sport = f->key.sport;
    p->dport = f->key.dport;
    p->proto = f->key.proto;
    p->ip_version = f->ip_version;
    p->ts = f->last_ts;
    p->flow = f;
    if (p->proto == 6 || p->proto == 17 || p->proto == 132)
        p->flags = PKT_F_HAS_PORTS;
}

void detect_flow_free(struct flow *f)
{
    struct detect_flow *df = f->detect;

    if (df) {
        lw_slab_release(df->hist);
        for (int i = 0; df->body && i < DETECT_BODY_MAX; i++)
            free(df->body[i].rank);
        lw_slab_release(df->body);
        free(df->bits);
        free(df->ints);
        free(df->txm);
    }
    lw_slab_release(df);
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
    t->md = (struct pcre2_real_match_data_8 *)pcre2_match_data_create(32, NULL);
    t->b64 = malloc(DETECT_B64_MAX);
    if (t->cand == NULL || t->scand == NULL || t->md == NULL || t->b64 == NULL)
        goto fail;
    for (size_t i = 0; i < e->ngroups; i++) {
        const struct dgroup *g = &e->groups[i];

        if (g->db && hs_alloc_scratch(g->db, &t->scratch) != HS_SUCCESS)
            goto fail;
        for (size_t k = 0; k < e->nvkeys; k++)
            if (g->sb[k].db && hs_alloc_scratch(g->sb[k].db, &t->scratch) != HS_SUCCESS)
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
    pcre2_match_data_free((pcre2_match_data *)t->md);
    detect_xbuf_free(&t->xb);
    detect_xbuf_free(&t->pxb);
    free(t->b64);
    free(t->pad);
    free(t->cand);
    free(t->scand);
    free(t);
}

void detect_thread_set_slab(struct detect_thread *t, struct lw_slab *slab)
{
    t->slab = slab;
}

void detect_thread_set_prefilter(struct detect_thread *t, int on)
{
    t->prefilter = on != 0;
}
