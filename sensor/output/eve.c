/* eve.c - EVE JSON event builders; see eve.h. */
#include <stdio.h>
#include <string.h>

#include "eve.h"
#include "flow.h"
#include "geo.h"
#include "pii.h"
#include "rule-t.h"
#include "util.h"

const char *eve_proto_name(uint8_t proto, char *buf, size_t buflen)
{
    switch (proto) {
    case 1:   return "ICMP";
    case 6:   return "TCP";
    case 17:  return "UDP";
    case 58:  return "IPv6-ICMP";
    case 132: return "SCTP";
    case 47:  return "GRE";
    case 50:  return "ESP";
    case 51:  return "AH";
    default:
        snprintf(buf, buflen, "%u", proto);
        return buf;
    }
}

const char *eve_tunnel_type_name(uint8_t type)
{
    static const char *const names[] = {
        [TUNNEL_NONE] = "none", [TUNNEL_GRE] = "gre", [TUNNEL_ERSPAN] = "erspan",
        [TUNNEL_VXLAN] = "vxlan", [TUNNEL_GENEVE] = "geneve", [TUNNEL_IPIP] = "ipip",
        [TUNNEL_TEREDO] = "teredo", [TUNNEL_GTP] = "gtp",
    };
    return type < sizeof names / sizeof names[0] && names[type] ? names[type] : "unknown";
}

static int proto_has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132;
}

static void eve_tunnel(struct jbuf *j, const struct pkt_tunnel *t)
{
    char a[LW_ADDRSTRLEN], pbuf[8];

    jbuf_open_object(j, "tunnel");
    jbuf_str(j, "type", eve_tunnel_type_name(t->type));
    if (t->id)
        jbuf_u64(j, "id", t->id);
    if (t->key_id && t->key_id != t->id)
        jbuf_u64(j, "tenant_id", t->key_id);   /* inner VNI under an ERSPAN/GRE session */
    jbuf_u64(j, "depth", t->depth);
    jbuf_str(j, "src_ip", lw_addr_str(&t->src, a, sizeof a));
    jbuf_str(j, "dest_ip", lw_addr_str(&t->dst, a, sizeof a));
    if (t->sport || t->dport) {
        jbuf_u64(j, "src_port", t->sport);
        jbuf_u64(j, "dest_port", t->dport);
    }
    jbuf_str(j, "proto", eve_proto_name(t->proto, pbuf, sizeof pbuf));
    jbuf_close_object(j);
}

void eve_begin(struct jbuf *j, uint64_t ts_usec, const char *sensor_id,
               const char *event_type, const struct flow *f)
{
    char a[LW_ADDRSTRLEN], pbuf[8];

    jbuf_open_object(j, NULL);
    jbuf_timestamp(j, "timestamp", ts_usec);
    if (f)
        jbuf_u64(j, "flow_id", f->flow_id);
    jbuf_str(j, "sensor_id", sensor_id);
    jbuf_str(j, "event_type", event_type);
    if (!f)
        return;
    jbuf_str(j, "src_ip", lw_addr_str(&f->key.src, a, sizeof a));
    if (proto_has_ports(f->key.proto))
        jbuf_u64(j, "src_port", f->key.sport);
    jbuf_str(j, "dest_ip", lw_addr_str(&f->key.dst, a, sizeof a));
    if (proto_has_ports(f->key.proto))
        jbuf_u64(j, "dest_port", f->key.dport);
    jbuf_str(j, "proto", eve_proto_name(f->key.proto, pbuf, sizeof pbuf));
    if (f->key.vlan[0] || f->key.vlan[1]) {
        jbuf_open_array(j, "vlan");
        for (int i = 0; i < PKT_MAX_VLANS && f->key.vlan[i]; i++)
            jbuf_u64(j, NULL, f->key.vlan[i]);
        jbuf_close_array(j);
    }
    if (f->flags & FLOW_F_TUNNEL)
        eve_tunnel(j, &f->tunnel);
}

void eve_end(struct jbuf *j)
{
    jbuf_close_object(j);
}

static void eve_tcp_flags(struct jbuf *j, const char *key, uint8_t flags)
{
    char hex[3];
    snprintf(hex, sizeof hex, "%02x", flags);
    jbuf_str(j, key, hex);
}

static void eve_tcp(struct jbuf *j, const struct flow *f)
{
    static const struct { uint8_t bit; const char *name; } bits[] = {
        { TH_SYN, "syn" }, { TH_FIN, "fin" }, { TH_RST, "rst" }, { TH_PSH, "psh" },
        { TH_ACK, "ack" }, { TH_URG, "urg" }, { TH_ECE, "ecn" }, { TH_CWR, "cwr" },
    };
    uint8_t all = f->tcp_flags_ts | f->tcp_flags_tc;

    jbuf_open_object(j, "tcp");
    eve_tcp_flags(j, "tcp_flags", all);
    eve_tcp_flags(j, "tcp_flags_ts", f->tcp_flags_ts);
    eve_tcp_flags(j, "tcp_flags_tc", f->tcp_flags_tc);
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (all & bits[i].bit)
            jbuf_bool(j, bits[i].name, 1);
    jbuf_str(j, "state", flow_tcp_state_name((enum flow_tcp_state)f->tcp_state));
    if (f->flags & FLOW_F_MIDSTREAM)
        jbuf_bool(j, "midstream", 1);
    jbuf_close_object(j);
}

/* The flow's counters and start, as in both flow and alert events. */
static void eve_flow_counters(struct jbuf *j, const struct flow *f)
{
    jbuf_u64(j, "pkts_toserver", f->pkts[0]);
    jbuf_u64(j, "pkts_toclient", f->pkts[1]);
    jbuf_u64(j, "bytes_toserver", f->bytes[0]);
    jbuf_u64(j, "bytes_toclient", f->bytes[1]);
    jbuf_timestamp(j, "start", f->first_ts);
}

/* Suricata's three flow states: new (one way only), established, closed. */
static const char *eve_flow_state(const struct flow *f)
{
    if (f->key.proto == 6) {
        if (f->tcp_state == FLOW_TCP_CLOSED || f->tcp_state == FLOW_TCP_FIN_WAIT)
            return "closed";
        return f->tcp_state == FLOW_TCP_ESTABLISHED ? "established" : "new";
    }
    return (f->flags & FLOW_F_TOCLIENT_SEEN) ? "established" : "new";
}

static void eve_geo_ep(struct jbuf *j, const struct geo_thread *gt, const char *key,
                       const struct geo_ep *ep, const struct lw_addr *a, uint32_t epoch)
{
    struct geo_detail d;

    geo_ep_detail(gt, ep, a, epoch, &d);
    jbuf_open_object(j, key);
    if (ep->cc[0])
        jbuf_str(j, "country", ep->cc);
    if (ep->flags & GEO_EP_INTERNAL)
        jbuf_bool(j, "internal", 1);
    if (ep->asn)
        jbuf_u64(j, "asn", ep->asn);
    if (d.org.s)
        jbuf_strn(j, "org", (const uint8_t *)d.org.s, d.org.n);
    if (d.city.s)
        jbuf_strn(j, "city", (const uint8_t *)d.city.s, d.city.n);
    if (d.has_loc) {
        jbuf_double(j, "lat", d.lat);
        jbuf_double(j, "lon", d.lon);
    }
    jbuf_close_object(j);
}

/* geo{src{...},dest{...},scope} of a flow that went through the geo stage.
 * swap: the event's src is the flow's responder (an alert on a reply). */
static void eve_geo(struct jbuf *j, const struct geo_thread *gt, const struct flow *f, int swap)
{
    const struct flow_geo *g = &f->geo;

    if (g->scope == GEO_SCOPE_NONE)
        return;
    jbuf_open_object(j, "geo");
    eve_geo_ep(j, gt, "src", swap ? &g->dst : &g->src, swap ? &f->key.dst : &f->key.src, g->epoch);
    eve_geo_ep(j, gt, "dest", swap ? &g->src : &g->dst, swap ? &f->key.src : &f->key.dst, g->epoch);
    jbuf_str(j, "scope", geo_scope_name((enum geo_scope)g->scope));
    jbuf_close_object(j);
}

void eve_flow_event(struct jbuf *j, const struct eve_ctx *ctx, const struct flow *f, eve_extra_fn extra)
{
    eve_begin(j, f->last_ts, ctx->sensor_id, "flow", f);
    if (f->key.proto == 1 || f->key.proto == 58) {
        /* The ICMP type/code of the first packet is kept in the key's ports. */
        jbuf_u64(j, "icmp_type", f->icmp_type);
        jbuf_u64(j, "icmp_code", f->icmp_code);
    }
    jbuf_open_object(j, "flow");
    eve_flow_counters(j, f);
    jbuf_timestamp(j, "end", f->last_ts);
    jbuf_u64(j, "age", (f->last_ts - f->first_ts) / 1000000u);
    jbuf_str(j, "state", eve_flow_state(f));
    jbuf_str(j, "reason", flow_end_reason_name((enum flow_end_reason)f->end_reason));
    jbuf_bool(j, "alerted", (f->flags & FLOW_F_ALERTED) != 0);
    jbuf_close_object(j);
    if (f->key.proto == 6)
        eve_tcp(j, f);
    if (extra)
        extra(j, f);
    eve_geo(j, ctx->geo, f, 0);
    eve_end(j);
}

/* Suricata groups metadata by key: {"created_at":["2024_01_01"],...}. The
 * rule's pairs are few, so a quadratic pass keeps the encoder allocation-free. */
static void eve_alert_metadata(struct jbuf *j, const struct rule *r)
{
    if (r->nmetadata == 0)
        return;
    jbuf_open_object(j, "metadata");
    for (uint32_t i = 0; i < r->nmetadata; i++) {
        uint32_t k;
        for (k = 0; k < i; k++)
            if (strcmp(r->metadata[k].key, r->metadata[i].key) == 0)
                break;
        if (k < i)
            continue;                   /* key written with its first occurrence */
        jbuf_open_array(j, r->metadata[i].key);
        for (k = i; k < r->nmetadata; k++)
            if (strcmp(r->metadata[k].key, r->metadata[i].key) == 0)
                jbuf_str(j, NULL, r->metadata[k].value);
        jbuf_close_array(j);
    }
    jbuf_close_object(j);
}

/* alert.source / alert.target: {"ip", "port"} of one end of the packet. */
/* Whether the rule's metadata has the pair "key value". */
static int metadata_is(const struct rule *r, const char *key, const char *value)
{
    for (uint32_t i = 0; i < r->nmetadata; i++)
        if (strcmp(r->metadata[i].key, key) == 0 && strcmp(r->metadata[i].value, value) == 0)
            return 1;
    return 0;
}

static void eve_alert_end(struct jbuf *j, const char *name, const struct lw_addr *a, uint16_t port,
                          const struct packet *p)
{
    char s[LW_ADDRSTRLEN];

    jbuf_open_object(j, name);
    jbuf_str(j, "ip", lw_addr_str(a, s, sizeof s));
    if (p->flags & PKT_F_HAS_PORTS)
        jbuf_u64(j, "port", port);
    jbuf_close_object(j);
}

/* A transaction's part of an alert event. */
struct eve_txpart {
    uint64_t id;
    eve_block_fn block;
    const void *arg;
};

static void alert_event(struct jbuf *j, const struct eve_ctx *ctx, const struct rule *r,
                        const struct packet *p, const struct flow *f, eve_extra_fn extra,
                        const struct eve_txpart *tx)
{
    char a[LW_ADDRSTRLEN], pbuf[8];
    const struct lw_addr *src = &p->src, *dst = &p->dst;

    /* outputs.xff overwrite: the proxied client's address stands for the
     * client end of the packet (its source to the server, else its
     * destination), as Suricata's xff overwrite mode. */
    if (ctx->xff && ctx->xff_mode == EVE_XFF_OVERWRITE) {
        if (p->dir)
            dst = ctx->xff;
        else
            src = ctx->xff;
    }
    jbuf_open_object(j, NULL);
    jbuf_timestamp(j, "timestamp", p->ts);
    if (f)
        jbuf_u64(j, "flow_id", f->flow_id);
    if (p->pcap_cnt)
        jbuf_u64(j, "pcap_cnt", p->pcap_cnt);
    jbuf_str(j, "sensor_id", ctx->sensor_id);
    jbuf_str(j, "event_type", "alert");
    jbuf_str(j, "src_ip", lw_addr_str(src, a, sizeof a));
    if (p->flags & PKT_F_HAS_PORTS)
        jbuf_u64(j, "src_port", p->sport);
    jbuf_str(j, "dest_ip", lw_addr_str(dst, a, sizeof a));
    if (p->flags & PKT_F_HAS_PORTS)
        jbuf_u64(j, "dest_port", p->dport);
    jbuf_str(j, "proto", eve_proto_name(p->proto, pbuf, sizeof pbuf));
    if (p->proto == 1 || p->proto == 58) {
        jbuf_u64(j, "icmp_type", p->icmp_type);
        jbuf_u64(j, "icmp_code", p->icmp_code);
    }
    if (f && (f->key.vlan[0] || f->key.vlan[1])) {
        jbuf_open_array(j, "vlan");
        for (int i = 0; i < PKT_MAX_VLANS && f->key.vlan[i]; i++)
            jbuf_u64(j, NULL, f->key.vlan[i]);
        jbuf_close_array(j);
    }
    if (f && (f->flags & FLOW_F_TUNNEL))
        eve_tunnel(j, &f->tunnel);
    if (tx)
        jbuf_u64(j, "tx_id", tx->id);
    jbuf_str(j, "direction", p->dir ? "to_client" : "to_server");

    jbuf_open_object(j, "alert");
    /* Passive sensor: nothing is blocked, so every action is reported as
     * Suricata reports it in IDS mode. */
    jbuf_str(j, "action", "allowed");
    jbuf_u64(j, "gid", r->gid);
    jbuf_u64(j, "signature_id", r->sid);
    jbuf_u64(j, "rev", r->rev);
    jbuf_str(j, "signature", r->msg);
    jbuf_str(j, "category", r->cls ? r->cls->desc : "");
    jbuf_u64(j, "severity", r->priority);
    eve_alert_metadata(j, r);
    if (ctx->xff && ctx->xff_mode == EVE_XFF_EXTRA)
        jbuf_str(j, "xff", lw_addr_str(ctx->xff, a, sizeof a));
    if (r->target != RULE_TARGET_NONE) {
        /* target: keyword: Suricata's alert.source and alert.target */
        int src_is_target = r->target == RULE_TARGET_SRC;

        eve_alert_end(j, "source", src_is_target ? &p->dst : &p->src, src_is_target ? p->dport : p->sport, p);
        eve_alert_end(j, "target", src_is_target ? &p->src : &p->dst, src_is_target ? p->sport : p->dport, p);
    }
    jbuf_close_object(j);

    if (f) {
        jbuf_open_object(j, "flow");
        eve_flow_counters(j, f);
        char ca[LW_ADDRSTRLEN], sa[LW_ADDRSTRLEN];
        jbuf_str(j, "src_ip", lw_addr_str(&f->key.src, ca, sizeof ca));
        jbuf_str(j, "dest_ip", lw_addr_str(&f->key.dst, sa, sizeof sa));
        if (proto_has_ports(f->key.proto)) {
            jbuf_u64(j, "src_port", f->key.sport);
            jbuf_u64(j, "dest_port", f->key.dport);
        }
        jbuf_close_object(j);
        if (extra)
            extra(j, f);
        if (tx)
            tx->block(j, f, tx->arg);
        eve_geo(j, ctx->geo, f, !(p->src.family == f->key.src.family &&
                        memcmp(p->src.u.b, f->key.src.u.b, 16) == 0));
    }
    /* The personal data a pii rule counted: counts only, and no payload
     * unless the rule asks for it (the log must not become the leak). */
    if (ctx->pii)
        pii_counts_json(j, "pii", ctx->pii, r->pii_types);
    if (p->payload_len && (!r->pii_types || metadata_is(r, "pii_payload", "printable"))) {
        /* As Suricata's payload_printable: printable bytes kept, others '.'. */
        char buf[257];
        uint32_t n = p->payload_len < sizeof buf - 1 ? p->payload_len : (uint32_t)sizeof buf - 1;
        for (uint32_t i = 0; i < n; i++)
            buf[i] = p->payload[i] >= 0x20 && p->payload[i] < 0x7f ? (char)p->payload[i] : '.';
        buf[n] = '\0';
        jbuf_str(j, "payload_printable", buf);
    }
    /* As Suricata: 1 when the match was on the reassembled stream, which
     * this packet completed (its payload need not hold the whole match). */
    if (p->proto == 6)
        jbuf_u64(j, "stream", (p->flags & PKT_F_STREAM_MATCH) ? 1 : 0);
    jbuf_close_object(j);
}

void eve_alert_event(struct jbuf *j, const struct eve_ctx *ctx, const struct rule *r,
                     const struct packet *p, const struct flow *f, eve_extra_fn extra)
{
    alert_event(j, ctx, r, p, f, extra, NULL);
}

void eve_alert_tx_event(struct jbuf *j, const struct eve_ctx *ctx, const struct rule *r,
                        const struct packet *p, const struct flow *f, eve_extra_fn extra,
                        uint64_t tx_id, eve_block_fn block, const void *arg)
{
    const struct eve_txpart tx = { tx_id, block, arg };

    alert_event(j, ctx, r, p, f, extra, f ? &tx : NULL);
}

static void eve_geo_tops(struct jbuf *j, const struct geo_thread *gt, const struct geo_sum_row *r)
{
    char a[LW_ADDRSTRLEN];
    unsigned n;

    n = r->ntop_asn < GEO_SUM_TOPN ? r->ntop_asn : GEO_SUM_TOPN;
    jbuf_open_array(j, "top_asns");
    for (unsigned i = 0; i < n; i++) {
        struct geo_str org = geo_asn_org(gt, &r->top_asn[i]);
        jbuf_open_object(j, NULL);
        jbuf_u64(j, "asn", r->top_asn[i].asn);
        if (org.s)
            jbuf_strn(j, "org", (const uint8_t *)org.s, org.n);
        jbuf_u64(j, "bytes", r->top_asn[i].bytes);
        jbuf_close_object(j);
    }
    jbuf_close_array(j);
    n = r->ntop_ep < GEO_SUM_TOPN ? r->ntop_ep : GEO_SUM_TOPN;
    jbuf_open_array(j, "top_endpoints");
    for (unsigned i = 0; i < n; i++) {
        const struct geo_top_ep *e = &r->top_ep[i];
        jbuf_open_object(j, NULL);
        jbuf_str(j, "ip", lw_addr_str(&e->addr, a, sizeof a));
        if (e->cc[0])
            jbuf_str(j, "country", e->cc);
        if (e->asn)
            jbuf_u64(j, "asn", e->asn);
        jbuf_u64(j, "bytes", e->bytes);
        jbuf_close_object(j);
    }
    jbuf_close_array(j);
    n = r->ntop_app < GEO_SUM_TOPN ? r->ntop_app : GEO_SUM_TOPN;
    jbuf_open_array(j, "top_apps");
    for (unsigned i = 0; i < n; i++) {
        jbuf_open_object(j, NULL);
        jbuf_str(j, "app", r->top_app[i].name);
        jbuf_u64(j, "bytes", r->top_app[i].bytes);
        jbuf_close_object(j);
    }
    jbuf_close_array(j);
}

void eve_geo_summary_event(struct jbuf *j, const struct eve_ctx *ctx, const struct geo_summary *s,
                           const struct geo_sum_row *r)
{
    const char *cc = geo_sum_row_country(r);

    eve_begin(j, s->end_usec, ctx->sensor_id, "geo_summary", NULL);
    jbuf_open_object(j, "geo_summary");
    jbuf_timestamp(j, "start", s->start_usec);
    jbuf_timestamp(j, "end", s->end_usec);
    jbuf_u64(j, "worker", s->worker);
    jbuf_str(j, "home_country", s->home_cc);
    jbuf_str(j, "scope", geo_scope_name((enum geo_scope)r->scope));
    if (r->flags & GEO_ROW_OVERFLOW) {
        jbuf_bool(j, "overflow", 1);
    } else {
        if (cc)
            jbuf_str(j, "country", cc);
        if (r->src_cc[0])
            jbuf_str(j, "src_country", r->src_cc);
        if (r->dst_cc[0])
            jbuf_str(j, "dest_country", r->dst_cc);
    }
    jbuf_u64(j, "bytes", r->bytes);
    jbuf_u64(j, "packets", r->pkts);
    jbuf_u64(j, "flows", r->flows);
    jbuf_u64(j, "alerts", r->alerts);
    jbuf_u64(j, "internal_hosts", r->internal_hosts);
    jbuf_u64(j, "unidentified_bytes", r->bytes > r->app_bytes ? r->bytes - r->app_bytes : 0);
    if (s->hosts_overflow)
        jbuf_bool(j, "internal_hosts_truncated", 1);
    if (r->flags & GEO_ROW_TOP_APPROX)
        jbuf_bool(j, "top_approximate", 1);
    if (pii_tally_any(&r->pii[0]) || pii_tally_any(&r->pii[1])) {
        jbuf_open_object(j, "pii");
        if (pii_tally_any(&r->pii[0]))
            pii_tally_json(j, "to_server", &r->pii[0]);
        if (pii_tally_any(&r->pii[1]))
            pii_tally_json(j, "to_client", &r->pii[1]);
        jbuf_close_object(j);
    }
    eve_geo_tops(j, ctx->geo, r);
    jbuf_close_object(j);
    eve_end(j);
}

void eve_stats_event(struct jbuf *j, const char *sensor_id, uint64_t ts_usec, const struct stats_snap *s)
{
    eve_begin(j, ts_usec, sensor_id, "stats", NULL);
    jbuf_open_object(j, "stats");
    stats_eve(s, j);
    jbuf_close_object(j);
    eve_end(j);
}
