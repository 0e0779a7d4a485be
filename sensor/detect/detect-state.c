/* detect-state.c - what a rule keeps or tests beyond its buffers: flowbits
 * and flowint on the flow, xbits on hosts (threshold.h holds them),
 * stream_size, stream and app-layer events, bypass; the rules that
 * matched each application-layer transaction of a flow; and the header
 * keywords a packet carries (detect-int.h). */
#include <stdlib.h>
#include <string.h>

#include "app-stage.h"
#include "detect-int.h"
#include "rule-parse.h"
#include "slab.h"
#include "stream.h"
#include "threshold.h"
#include "util.h"

/* ------------------------------------------------------------------ per-flow state */

void *detect_flow_new(const struct detect_thread *t, size_t n)
{
    return t->slab ? lw_slab_zalloc(t->slab, n) : calloc(1, n);
}

struct detect_flow *detect_flow_state(const struct detect_thread *t, struct flow *f)
{
    if (f->detect == NULL)
        f->detect = detect_flow_new(t, sizeof(struct detect_flow));
    return f->detect;
}

static int bit_find(const struct detect_flow *df, uint64_t name)
{
    for (int i = 0; df && i < df->nbits; i++)
        if (df->bits[i] == name)
            return i;
    return -1;
}

static void bit_set(struct detect_thread *t, struct detect_flow *df, uint64_t name)
{
    if (bit_find(df, name) >= 0)
        return;
    if (df->bits == NULL && (df->bits = malloc(DETECT_FLOW_MAX_BITS * sizeof *df->bits)) == NULL) {
        t->dropped_bits++;
        return;
    }
    if (df->nbits == DETECT_FLOW_MAX_BITS) {
        t->dropped_bits++;
        return;
    }
    df->bits[df->nbits++] = name;
}

static void bit_unset(struct detect_flow *df, uint64_t name)
{
    int i = bit_find(df, name);

    if (i >= 0)
        df->bits[i] = df->bits[--df->nbits];
}

static struct dflowint *int_find(const struct detect_flow *df, uint64_t name)
{
    for (int i = 0; df && i < df->nints; i++)
        if (df->ints[i].name == name)
            return &df->ints[i];
    return NULL;
}

static struct dflowint *int_get(struct detect_thread *t, struct detect_flow *df, uint64_t name)
{
    struct dflowint *v = int_find(df, name);

    if (v)
        return v;
    if (df->ints == NULL && (df->ints = malloc(DETECT_FLOW_MAX_INTS * sizeof *df->ints)) == NULL) {
        t->dropped_bits++;
        return NULL;
    }
    if (df->nints == DETECT_FLOW_MAX_INTS) {
        t->dropped_bits++;
        return NULL;
    }
    v = &df->ints[df->nints++];
    v->name = name;
    v->value = 0;
    return v;
}

/* ------------------------------------------------------------------ tests */

static int flowbit_test(const struct detect_flow *df, const struct rule_bit *b)
{
    int any = 0, all = 1;

    for (int i = 0; i < b->n; i++) {
        int set = bit_find(df, b->name[i]) >= 0;

        any |= set;
        all &= set;
    }
    if (b->op == RULE_BIT_ISSET)
        return b->any ? any : all;
    return b->any ? !all : !any;        /* isnotset: a|b one is not set; a&b none is */
}

static int xbit_test(struct detect_thread *t, const struct rule_bit *b, const struct packet *p)
{
    int any = 0, all = 1;

    for (int i = 0; i < b->n; i++) {
        int set = t->th ? threshold_xbit(t->th, RULE_BIT_ISSET, b->name[i], b->track, 0, p, p->ts) : 0;

        any |= set;
        all &= set;
    }
    if (b->op == RULE_BIT_ISSET)
        return b->any ? any : all;
    return b->any ? !all : !any;
}

static int flowint_test(const struct detect_flow *df, const struct rule_flowint *fi)
{
    const struct dflowint *v = int_find(df, fi->name), *o;
    uint32_t want;

    if (fi->op == RULE_FI_ISSET)
        return v != NULL;
    if (fi->op == RULE_FI_NOTSET)
        return v == NULL;
    if (v == NULL)
        return 0;
    if (fi->has_var) {
        if ((o = int_find(df, fi->var)) == NULL)
            return 0;
        want = o->value;
    } else {
        want = fi->value;
    }
    switch (fi->op) {
    case RULE_FI_EQ: return v->value == want;
    case RULE_FI_NE: return v->value != want;
    case RULE_FI_LT: return v->value < want;
    case RULE_FI_GT: return v->value > want;
    case RULE_FI_LE: return v->value <= want;
    case RULE_FI_GE: return v->value >= want;
    default:         return 1;
    }
}

static int stream_size_test(const struct rule_stream_size *ss, const struct flow *f)
{
    uint64_t sz[2];
    int cli, srv;

    if (f == NULL || f->key.proto != 6)
        return 0;
    stream_sizes(f, sz);
    cli = rule_cmp_match(&ss->cmp, sz[0] > UINT32_MAX ? UINT32_MAX : (uint32_t)sz[0]);
    srv = rule_cmp_match(&ss->cmp, sz[1] > UINT32_MAX ? UINT32_MAX : (uint32_t)sz[1]);
    switch (ss->side) {
    case RULE_SS_SERVER: return srv;
    case RULE_SS_CLIENT: return cli;
    case RULE_SS_BOTH:   return cli && srv;
    default:             return cli || srv;
    }
}

static int event_test(const struct rule_event *e, const struct packet *p, const struct flow *f,
                      const struct detect_src *src)
{
    if (e->kind == RULE_EV_DECODE) {
        if (e->ipver && e->ipver != p->ip_version)
            return 0;
        for (uint8_t i = 0; i < p->nev; i++)
            if (p->ev[i] == e->id)
                return 1;
        return 0;
    }
    if (e->kind == RULE_EV_STREAM)
        return (stream_events(f, p) & (1u << e->id)) != 0;
    return src != NULL && detect_event_seen(src, e->name);
}

/* A value keyword (tls.version, certificate dates, dns.opcode) against
 * what a provider gives for src. */
static int value_test(const struct rule_value *v, const struct packet *p, const struct detect_src *src)
{
    uint64_t val, nb;
    int ok;

    if (src == NULL || !detect_value_get(src, v->id, &val))
        return 0;
    switch (v->test) {
    case RULE_VT_EXPIRED:
        return p->ts / 1000000u > val;
    case RULE_VT_VALID:
        return detect_value_get(src, RULE_VAL_TLS_NOTBEFORE, &nb) && p->ts / 1000000u >= nb &&
               p->ts / 1000000u <= val;
    default:
        ok = rule_cmp_match(&v->cmp, val > UINT32_MAX ? UINT32_MAX : (uint32_t)val);
        return ok != (v->neg != 0);
    }
}

int detect_state_match(struct detect_thread *t, const struct rule *r, const struct packet *p,
                       struct flow *f, const struct detect_src *src)
{
    const struct detect_flow *df = f ? f->detect : NULL;

    for (uint32_t i = 0; i < r->nbits; i++)
        if (r->bits[i].op >= RULE_BIT_ISSET && !flowbit_test(df, &r->bits[i]))
            return 0;
    for (uint32_t i = 0; i < r->nxbits; i++)
        if (r->xbits[i].op >= RULE_BIT_ISSET && !xbit_test(t, &r->xbits[i], p))
            return 0;
    for (int i = 0; i < RULE_MAX_STREAM_SIZE && r->stream_size[i].side; i++)
        if (!stream_size_test(&r->stream_size[i], f))
            return 0;
    for (uint8_t i = 0; i < r->nvalues; i++)
        if (!value_test(&r->values[i], p, src))
            return 0;
    for (uint32_t i = 0; i < r->nevents; i++)
        if (!event_test(&r->events[i], p, f, src))
            return 0;
    return 1;
}

/* ------------------------------------------------------------------ actions */

static void flowint_apply(struct detect_thread *t, struct detect_flow *df, const struct rule_flowint *fi)
{
    struct dflowint *v, *o;
    uint32_t val = fi->value;

    if (fi->has_var) {
        if ((o = int_find(df, fi->var)) == NULL)
            return;                      /* Suricata: an unset variable changes nothing */
        val = o->value;
    }
    if ((v = int_get(t, df, fi->name)) == NULL)
        return;
    switch (fi->op) {
    case RULE_FI_SET: v->value = val; break;
    case RULE_FI_ADD: v->value += val; break;
    case RULE_FI_SUB: v->value -= val; break;
    default: break;
    }
}

void detect_state_apply(struct detect_thread *t, const struct rule *r, const struct packet *p,
                        struct flow *f)
{
    struct detect_flow *df = f && (r->tests & RULE_T_ACTIONS || r->bypass) ? detect_flow_state(t, f) : NULL;

    if (df && r->bypass)
        df->bypass = 1;
    if (!(r->tests & RULE_T_ACTIONS))
        return;
    for (uint32_t i = 0; df && i < r->nbits; i++) {
        const struct rule_bit *b = &r->bits[i];

        for (int k = 0; k < b->n; k++) {
            if (b->op == RULE_BIT_SET || (b->op == RULE_BIT_TOGGLE && bit_find(df, b->name[k]) < 0))
                bit_set(t, df, b->name[k]);
            else if (b->op == RULE_BIT_UNSET || b->op == RULE_BIT_TOGGLE)
                bit_unset(df, b->name[k]);
        }
    }
    for (uint32_t i = 0; t->th && i < r->nxbits; i++) {
        const struct rule_bit *b = &r->xbits[i];

        if (b->op < RULE_BIT_ISSET)
            for (int k = 0; k < b->n; k++)
                threshold_xbit(t->th, b->op, b->name[k], b->track, b->expire, p, p->ts);
    }
}

int detect_flowint_run(struct detect_thread *t, const struct rule *r, struct flow *f)
{
    struct detect_flow *df = f ? detect_flow_state(t, f) : NULL;

    for (uint32_t i = 0; i < r->nfints; i++) {
        const struct rule_flowint *fi = &r->fints[i];

        if (fi->op > RULE_FI_SUB) {
            if (!flowint_test(df, fi))
                return 0;
        } else if (df) {
            flowint_apply(t, df, fi);
        }
    }
    return 1;
}

/* ------------------------------------------------------------------ header keywords */

/* Whether the IPv4 options of hdr (ihl bytes) hold each option of want
 * (bit per enum rule_ipopt; RULE_IPOPT_ANY: some option). */
static int ipopts_have(const uint8_t *hdr, uint32_t ihl, uint16_t want)
{
    static const struct { uint8_t type; uint8_t opt; } kinds[] = {
        { 0, RULE_IPOPT_EOL }, { 1, RULE_IPOPT_NOP }, { 7, RULE_IPOPT_RR }, { 68, RULE_IPOPT_TS },
        { 130, RULE_IPOPT_SEC }, { 133, RULE_IPOPT_ESEC }, { 131, RULE_IPOPT_LSRR },
        { 137, RULE_IPOPT_SSRR }, { 136, RULE_IPOPT_SATID },
    };
    uint16_t have = 0;

    for (uint32_t i = 20; i < ihl;) {
        uint8_t type = hdr[i];

        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
            if (kinds[k].type == type)
                have |= (uint16_t)(1u << kinds[k].opt);
        have |= 1u << RULE_IPOPT_ANY;
        if (type == 0)
            break;
        if (type == 1 || i + 1 >= ihl || hdr[i + 1] < 2) {
            i++;
            continue;
        }
        i += hdr[i + 1];
    }
    return (have & want) == want;
}

/* ICMP echo-like messages carry an identifier and a sequence number. */
static int icmp_has_id(const struct packet *p)
{
    if (p->proto == 1)
        return p->icmp_type == 0 || p->icmp_type == 8 || (p->icmp_type >= 13 && p->icmp_type <= 18);
    return p->proto == 58 && (p->icmp_type == 128 || p->icmp_type == 129);
}

/* The MTU an ICMPv6 message carries: Packet Too Big's field, or the MTU
 * option of a Router Advertisement (options after its 16 bytes, each
 * bounds-checked against the captured length). 0 when it has none. */
static int icmpv6_mtu(const struct packet *p, uint32_t *mtu)
{
    const uint8_t *b = p->l4;
    uint32_t n = p->l4_len, off = 16;

    if (p->proto != 58 || b == NULL || n < 8)
        return 0;
    if (p->icmp_type == 2) {
        *mtu = lw_get32(b + 4);
        return 1;
    }
    if (p->icmp_type != 134)
        return 0;
    while (off + 2 <= n && b[off + 1] != 0) {
        uint32_t olen = b[off + 1] * 8u;

        if (b[off] == 5 && olen == 8 && off + 8 <= n) {
            *mtu = lw_get32(b + off + 4);
            return 1;
        }
        off += olen;
    }
    return 0;
}

int detect_header_match(const struct rule *r, const struct packet *p)
{
    int v4 = p->ip_version == 4 && p->l3 && p->l3_len >= 20;

    if (!rule_cmp_match(&r->tos, p->tos))
        return 0;
    if (r->ipid.op || r->fragoffset.op || r->fragbits.set || r->ipopts) {
        uint16_t ff;

        if (!v4)
            return 0;
        ff = lw_get16(p->l3 + 6);
        if (!rule_cmp_match(&r->ipid, lw_get16(p->l3 + 4)) ||
            !rule_cmp_match(&r->fragoffset, ff & 0x1fffu) ||
            !rule_tcpflags_match(&r->fragbits, (uint8_t)(ff >> 13)))
            return 0;
        if (r->ipopts) {
            uint32_t ihl = (uint32_t)(p->l3[0] & 0x0f) * 4;

            if (ihl > p->l3_len || !ipopts_have(p->l3, ihl, r->ipopts))
                return 0;
        }
    }
    if (r->seq.op || r->ack.op || r->window.op) {
        if (p->proto != 6 || !rule_cmp_match(&r->seq, p->tcp_seq) ||
            !rule_cmp_match(&r->ack, p->tcp_ack) || !rule_cmp_match(&r->window, p->tcp_win))
            return 0;
    }
    if (r->icmpv6_mtu.op) {
        uint32_t mtu;

        if (!icmpv6_mtu(p, &mtu) || !rule_cmp_match(&r->icmpv6_mtu, mtu))
            return 0;
    }
    if (r->icmp_id.op || r->icmp_seq.op) {
        if (!icmp_has_id(p) || p->l4 == NULL || p->l4_len < 8 ||
            !rule_cmp_match(&r->icmp_id, lw_get16(p->l4 + 4)) ||
            !rule_cmp_match(&r->icmp_seq, lw_get16(p->l4 + 6)))
            return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ transactions' matches */

int detect_tx_kind_of(unsigned proto)
{
    switch (proto) {
    case APP_PROTO_HTTP: return FK_HTTP;
    case APP_PROTO_DNS:  return FK_DNS;
    case APP_PROTO_TLS:  return FK_TLS;
    case APP_PROTO_SSH:  return FK_SSH;
    case APP_PROTO_SMB:  return FK_SMB;
    case APP_PROTO_FTP:  return FK_FTP;
    case APP_PROTO_FTPDATA: return FK_FTPDATA;
    default:             return FK_NONE;
    }
}

int detect_tx_kind(const struct flow *f)
{
    const struct detect_flow *df = f->detect;

    if (df && df->tx_kind != FK_NONE)
        return df->tx_kind;
    return detect_tx_kind_of(app_flow_proto(f));
}

int detect_tx_matched(const struct detect_flow *df, uint64_t tx_id, uint64_t rule, uint8_t slot)
{
    for (uint32_t i = 0; i < df->ntxm; i++)
        if (df->txm[i].tx_id == tx_id && df->txm[i].rule == rule && df->txm[i].slot == slot)
            return 1;
    return 0;
}

void detect_tx_matched_add(struct detect_thread *t, struct flow *f, uint64_t tx_id, uint64_t rule, uint8_t slot)
{
    struct detect_flow *df = detect_flow_state(t, f);

    if (df == NULL || detect_tx_matched(df, tx_id, rule, slot))
        return;
    if (df->ntxm == df->captxm) {
        uint32_t cap = df->captxm ? df->captxm * 2 : 8;
        struct dtxmatch *v;

        if (cap > DETECT_TX_MATCH_MAX)
            cap = DETECT_TX_MATCH_MAX;
        if (df->ntxm == cap) {
            /* full: the oldest match goes (its transaction is the likeliest done) */
            memmove(df->txm, df->txm + 1, (df->ntxm - 1) * sizeof *df->txm);
            df->ntxm--;
        } else if ((v = realloc(df->txm, cap * sizeof *v)) != NULL) {
            df->txm = v;
            df->captxm = cap;
        } else {
            return;
        }
    }
    df->txm[df->ntxm++] = (struct dtxmatch){ tx_id, rule, slot };
}

void detect_tx_matched_forget(struct detect_flow *df, uint64_t tx_id)
{
    uint32_t k = 0;

    for (uint32_t i = 0; i < df->ntxm; i++)
        if (df->txm[i].tx_id != tx_id)
            df->txm[k++] = df->txm[i];
    df->ntxm = k;
}
