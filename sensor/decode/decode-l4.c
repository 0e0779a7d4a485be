/* decode-l4.c - transport layers: TCP, UDP (and the tunnels found by UDP
 * port), ICMPv4, ICMPv6, SCTP, and the opaque rest. */
#include "decode-int.h"

#define TCP_HLEN  20
#define UDP_HLEN  8
#define ICMP_HLEN 8
#define SCTP_HLEN 12

#define PORT_VXLAN        4789
#define PORT_VXLAN_LINUX  8472
#define PORT_GENEVE       6081
#define PORT_GTPU         2152
#define PORT_TEREDO       3544

/* Sets the transport and payload pointers; len is what is usable from b. */
static void l4_set(struct dctx *c, const uint8_t *b, uint32_t len, uint32_t hlen)
{
    struct packet *p = c->p;

    p->l4 = b;
    p->l4_len = len;
    p->payload = b + hlen;
    p->payload_len = len - hlen;
    if (c->snapped)
        p->flags |= PKT_F_TRUNCATED_L7;
}

/* Walks TCP options for length sanity. Returns 0 or -1. */
static int tcp_options(const uint8_t *opt, uint32_t n)
{
    const uint8_t *o;
    uint32_t i = 0;
    int k;

    while ((k = tcp_opt_next(opt, n, &i, &o)) > 0)
        ;
    return k;
}

enum decode_result decode_tcp(struct dctx *c, const uint8_t *b, uint32_t len)
{
    struct packet *p = c->p;
    uint32_t hlen;

    if (len < TCP_HLEN)
        return decode_fail(c, DE_TCP_TRUNCATED);
    hlen = (b[12] >> 4) * 4u;
    if (hlen < TCP_HLEN)
        return decode_fail(c, DE_TCP_BAD_HLEN);
    if (hlen > len)
        return decode_fail(c, c->snapped ? DE_TCP_TRUNCATED : DE_TCP_BAD_HLEN);
    if (tcp_options(b + TCP_HLEN, hlen - TCP_HLEN) < 0)
        decode_anomaly(c, DE_TCP_BAD_OPT);
    decode_count(c, DECODE_LAYER_tcp);

    p->sport = lw_get16(b);
    p->dport = lw_get16(b + 2);
    p->tcp_seq = lw_get32(b + 4);
    p->tcp_ack = lw_get32(b + 8);
    p->tcp_flags = b[13];
    p->tcp_win = lw_get16(b + 14);
    p->flags |= PKT_F_HAS_PORTS;
    l4_set(c, b, len, hlen);
    return DECODE_OK;
}

/* Tunnels recognised by UDP destination port (Teredo: either port). A payload
 * that does not look like its tunnel stays plain UDP for GTP-U and Teredo, which
 * share their ports with other traffic; VXLAN and GENEVE are refused. */
static enum decode_result udp_tunnel(struct dctx *c, const uint8_t *b, uint32_t len)
{
    const struct packet *p = c->p;

    switch (p->dport) {
    case PORT_VXLAN:
    case PORT_VXLAN_LINUX:
        return decode_vxlan(c, b, len);
    case PORT_GENEVE:
        return decode_geneve(c, b, len);
    case PORT_GTPU:
        return decode_gtp(c, b, len);
    }
    if (p->sport == PORT_TEREDO || p->dport == PORT_TEREDO)
        return decode_teredo(c, b, len);
    return DECODE_OK;
}

/* UDP. The UDP length bounds the payload when shorter than the IP payload; a
 * length past the datagram is only accepted when the capture was cut. */
enum decode_result decode_udp(struct dctx *c, const uint8_t *b, uint32_t len)
{
    struct packet *p = c->p;
    uint32_t ulen;

    if (len < UDP_HLEN)
        return decode_fail(c, DE_UDP_TRUNCATED);
    ulen = lw_get16(b + 4);
    if (ulen < UDP_HLEN || decode_len_lies(c, ulen, len))
        return decode_fail(c, DE_UDP_BAD_LEN);
    decode_count(c, DECODE_LAYER_udp);
    if (ulen <= len) {
        len = ulen;
        c->snapped = 0;
    }

    p->sport = lw_get16(b);
    p->dport = lw_get16(b + 2);
    p->flags |= PKT_F_HAS_PORTS;
    l4_set(c, b, len, UDP_HLEN);
    return udp_tunnel(c, b + UDP_HLEN, len - UDP_HLEN);
}

static enum decode_result icmp_common(struct dctx *c, const uint8_t *b, uint32_t len)
{
    c->p->icmp_type = b[0];
    c->p->icmp_code = b[1];
    l4_set(c, b, len, ICMP_HLEN);
    return DECODE_OK;
}

enum decode_result decode_icmpv4(struct dctx *c, const uint8_t *b, uint32_t len)
{
    if (len < ICMP_HLEN)
        return decode_fail(c, DE_ICMPV4_TRUNCATED);
    decode_count(c, DECODE_LAYER_icmpv4);
    return icmp_common(c, b, len);
}

enum decode_result decode_icmpv6(struct dctx *c, const uint8_t *b, uint32_t len)
{
    if (len < ICMP_HLEN)
        return decode_fail(c, DE_ICMPV6_TRUNCATED);
    decode_count(c, DECODE_LAYER_icmpv6);
    return icmp_common(c, b, len);
}

/* SCTP common header: ports and verification tag; chunks are payload. */
enum decode_result decode_sctp(struct dctx *c, const uint8_t *b, uint32_t len)
{
    struct packet *p = c->p;

    if (len < SCTP_HLEN)
        return decode_fail(c, DE_SCTP_TRUNCATED);
    decode_count(c, DECODE_LAYER_sctp);
    p->sport = lw_get16(b);
    p->dport = lw_get16(b + 2);
    p->flags |= PKT_F_HAS_PORTS;
    l4_set(c, b, len, SCTP_HLEN);
    return DECODE_OK;
}

/* A protocol we do not look into (ESP, OSPF, ...): all of it is payload. */
enum decode_result decode_l4_other(struct dctx *c, const uint8_t *b, uint32_t len)
{
    l4_set(c, b, len, 0);
    return DECODE_OK;
}
