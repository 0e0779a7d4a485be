/* decode-tunnel.c - tunnels decoded down to the inner packet: IP-in-IP, GRE
 * (incl. PPTP), ERSPAN I/II/III, VXLAN, GENEVE, Teredo and GTP-U. */
#include <stddef.h>
#include <string.h>

#include "decode-int.h"

#define GRE_C 0x8000u
#define GRE_R 0x4000u
#define GRE_K 0x2000u
#define GRE_S 0x1000u
#define GRE_A 0x0080u       /* version 1: acknowledgment number present */

#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86dd
#define ETH_P_TEB    0x6558
#define ETH_P_PPP    0x880b
#define ETH_P_ERSPAN 0x88be
#define ETH_P_ERSPAN3 0x22eb

/* Steps into a tunnel: records the outer addresses, ports and protocol when
 * this is the outermost tunnel, then clears the L3/L4 fields for the inner
 * packet (VLAN ids stay: the flow key keeps the outer frame's tags). The
 * tunnel id is the outermost one that has an id; the key id the innermost
 * one that is the same in both directions. Refuses nesting deeper than
 * PKT_MAX_TUNNEL_DEPTH, which also bounds the decoder's recursion. */
enum decode_result tunnel_enter(struct dctx *c, enum tunnel_type type, uint32_t id, int symmetric)
{
    struct packet *p = c->p;
    struct pkt_tunnel *t = &p->tunnel;

    if (c->depth >= PKT_MAX_TUNNEL_DEPTH)
        return decode_fail(c, DE_TUNNEL_TOO_DEEP);
    if (c->depth == 0) {
        t->type = (uint8_t)type;
        t->proto = p->proto;
        t->src = p->src;
        t->dst = p->dst;
        if (p->flags & PKT_F_HAS_PORTS) {
            t->sport = p->sport;
            t->dport = p->dport;
        }
    }
    if (t->id == 0)
        t->id = id;
    if (symmetric && id != 0)
        t->key_id = id;     /* the innermost wins: it names the tenant */
    t->depth = ++c->depth;

    memset(&p->l3, 0, offsetof(struct packet, flow) - offsetof(struct packet, l3));
    p->flags &= PKT_F_REASSEMBLED;
    return DECODE_OK;
}

/* IPv4 (proto 4) or IPv6 (proto 41) carried directly in IPv4 or IPv6. */
enum decode_result decode_ipip(struct dctx *c, uint8_t proto, const uint8_t *b, uint32_t len)
{
    enum decode_result r;
    int outer6 = c->p->ip_version == 6;

    if (proto == 4)
        decode_count(c, outer6 ? DECODE_LAYER_ipv4_in_ipv6 : DECODE_LAYER_ipv4_in_ipv4);
    else
        decode_count(c, outer6 ? DECODE_LAYER_ipv6_in_ipv6 : DECODE_LAYER_ipv6_in_ipv4);
    if ((r = tunnel_enter(c, TUNNEL_IPIP, 0, 1)) != DECODE_OK)
        return r;
    return proto == 4 ? decode_ipv4(c, b, len) : decode_ipv6(c, b, len);
}

/* RFC 1701 source route entries, up to the null entry. Returns the offset
 * after them, or 0 when they run past len. */
static uint32_t gre_sre_skip(const uint8_t *b, uint32_t off, uint32_t len)
{
    uint32_t af, sre_len;

    for (;;) {
        if (len - off < 4)
            return 0;
        af = lw_get16(b + off);
        sre_len = b[off + 3];
        off += 4;
        if (af == 0 && sre_len == 0)
            return off;
        if (len - off < sre_len)
            return 0;
        off += sre_len;
    }
}

/* GRE version 0 header length (checksum/offset, key, sequence, routing);
 * stores the key in *key. Returns 0 when the header is cut. */
static uint32_t gre_v0_hlen(const uint8_t *b, uint32_t len, uint16_t flags, uint32_t *key)
{
    uint32_t off = 4;

    if (flags & (GRE_C | GRE_R))
        off += 4;
    if (flags & GRE_K) {
        if (len < off + 4)
            return 0;
        *key = lw_get32(b + off);
        off += 4;
    }
    if (flags & GRE_S)
        off += 4;
    if (off > len)
        return 0;
    if (flags & GRE_R)
        off = gre_sre_skip(b, off, len);
    return off;
}

/* Enhanced GRE (PPTP, RFC 2637): key holds payload length and call id; the
 * payload is PPP. An acknowledgment-only packet carries no payload and is a
 * plain GRE packet. */
static enum decode_result decode_gre_v1(struct dctx *c, const uint8_t *b, uint32_t len,
                                        uint16_t flags, uint16_t proto)
{
    enum decode_result r;
    uint32_t off = 8;

    if (!(flags & GRE_K) || (flags & (GRE_C | GRE_R)))
        return decode_fail(c, DE_GRE_BAD_VERSION);
    if (flags & GRE_S)
        off += 4;
    if (flags & GRE_A)
        off += 4;
    if (len < off)
        return decode_fail(c, DE_GRE_TRUNCATED);
    decode_count(c, DECODE_LAYER_gre);
    if (lw_get16(b + 4) == 0)
        return decode_l4_other(c, b, len);
    if (proto != ETH_P_PPP)
        return decode_fail(c, DE_GRE_UNKNOWN_PAYLOAD);
    if ((r = tunnel_enter(c, TUNNEL_GRE, lw_get16(b + 6), 0)) != DECODE_OK)
        return r;
    return decode_ppp_proto(c, DE_GRE_TRUNCATED, b + off, len - off);
}

enum decode_result decode_gre(struct dctx *c, const uint8_t *b, uint32_t len)
{
    enum decode_result r;
    uint16_t flags, proto;
    uint32_t off, key = 0;

    if (len < 4)
        return decode_fail(c, DE_GRE_TRUNCATED);
    flags = lw_get16(b);
    proto = lw_get16(b + 2);
    if ((flags & 7) == 1)
        return decode_gre_v1(c, b, len, flags, proto);
    if ((flags & 7) != 0)
        return decode_fail(c, DE_GRE_BAD_VERSION);
    if ((off = gre_v0_hlen(b, len, flags, &key)) == 0)
        return decode_fail(c, DE_GRE_TRUNCATED);
    decode_count(c, DECODE_LAYER_gre);
    b += off;
    len -= off;

    switch (proto) {
    case ETH_P_ERSPAN:
        /* Type I has no ERSPAN header and no GRE sequence number. */
        if (flags & GRE_S)
            return decode_erspan2(c, b, len);
        decode_count(c, DECODE_LAYER_erspan);
        if ((r = tunnel_enter(c, TUNNEL_ERSPAN, 0, 1)) != DECODE_OK)
            return r;
        return decode_ethernet(c, b, len);
    case ETH_P_ERSPAN3:
        return decode_erspan3(c, b, len);
    case ETH_P_IP:
    case ETH_P_IPV6:
    case ETH_P_TEB:
    case ETH_P_PPP:
        break;
    default:
        return decode_fail(c, DE_GRE_UNKNOWN_PAYLOAD);
    }
    if ((r = tunnel_enter(c, TUNNEL_GRE, key, 1)) != DECODE_OK)
        return r;
    switch (proto) {
    case ETH_P_IP:
        return decode_ipv4(c, b, len);
    case ETH_P_IPV6:
        return decode_ipv6(c, b, len);
    case ETH_P_TEB:
        return decode_ethernet(c, b, len);
    }
    return decode_ppp_proto(c, DE_GRE_TRUNCATED, b, len);
}

/* ERSPAN type II: 8-byte header, version 1, 10-bit session id; the VLAN field
 * describes the mirrored port and is not taken as a tag of the packet. */
enum decode_result decode_erspan2(struct dctx *c, const uint8_t *b, uint32_t len)
{
    enum decode_result r;

    if (len < 8)
        return decode_fail(c, DE_ERSPAN_TRUNCATED);
    if (b[0] >> 4 != 1)
        return decode_fail(c, DE_ERSPAN_BAD_VERSION);
    decode_count(c, DECODE_LAYER_erspan);
    if ((r = tunnel_enter(c, TUNNEL_ERSPAN, lw_get16(b + 2) & 0x3ffu, 1)) != DECODE_OK)
        return r;
    return decode_ethernet(c, b + 8, len - 8);
}

/* ERSPAN type III: 12-byte header, version 2, then an 8-byte platform
 * specific subheader when the O bit (last bit of the header) is set. */
enum decode_result decode_erspan3(struct dctx *c, const uint8_t *b, uint32_t len)
{
    enum decode_result r;
    uint32_t hlen = 12;

    if (len < 12)
        return decode_fail(c, DE_ERSPAN_TRUNCATED);
    if (b[0] >> 4 != 2)
        return decode_fail(c, DE_ERSPAN_BAD_VERSION);
    if (b[11] & 0x01)
        hlen += 8;
    if (len < hlen)
        return decode_fail(c, DE_ERSPAN_TRUNCATED);
    decode_count(c, DECODE_LAYER_erspan);
    if ((r = tunnel_enter(c, TUNNEL_ERSPAN, lw_get16(b + 2) & 0x3ffu, 1)) != DECODE_OK)
        return r;
    return decode_ethernet(c, b + hlen, len - hlen);
}

/* VXLAN (RFC 7348): the I flag says the VNI is valid; inner Ethernet. */
enum decode_result decode_vxlan(struct dctx *c, const uint8_t *b, uint32_t len)
{
    enum decode_result r;

    if (len < 8)
        return decode_fail(c, DE_VXLAN_TRUNCATED);
    if (!(b[0] & 0x08))
        return decode_fail(c, DE_VXLAN_BAD_FLAGS);
    decode_count(c, DECODE_LAYER_vxlan);
    if ((r = tunnel_enter(c, TUNNEL_VXLAN, lw_get24(b + 4), 1)) != DECODE_OK)
        return r;
    return decode_ethernet(c, b + 8, len - 8);
}

/* GENEVE (RFC 8926): version 0, options skipped, Ethernet or IP inside. */
enum decode_result decode_geneve(struct dctx *c, const uint8_t *b, uint32_t len)
{
    enum decode_result r;
    uint32_t hlen;
    uint16_t proto;

    if (len < 8)
        return decode_fail(c, DE_GENEVE_TRUNCATED);
    if (b[0] >> 6 != 0)
        return decode_fail(c, DE_GENEVE_BAD_VERSION);
    hlen = 8 + (b[0] & 0x3fu) * 4u;
    if (hlen > len)
        return decode_fail(c, c->snapped ? DE_GENEVE_TRUNCATED : DE_GENEVE_BAD_OPT_LEN);
    proto = lw_get16(b + 2);
    if (proto != ETH_P_TEB && proto != ETH_P_IP && proto != ETH_P_IPV6)
        return decode_fail(c, DE_GENEVE_UNKNOWN_PAYLOAD);
    decode_count(c, DECODE_LAYER_geneve);
    if ((r = tunnel_enter(c, TUNNEL_GENEVE, lw_get24(b + 4), 1)) != DECODE_OK)
        return r;
    b += hlen;
    len -= hlen;
    if (proto == ETH_P_IP)
        return decode_ipv4(c, b, len);
    if (proto == ETH_P_IPV6)
        return decode_ipv6(c, b, len);
    return decode_ethernet(c, b, len);
}

/* Where the IPv6 packet starts in a Teredo payload (after the optional
 * authentication and origin indication headers), or -1 when the payload is
 * not a plausible IPv6 packet whose payload length fills the datagram. */
static int teredo_inner(const uint8_t *b, uint32_t len, int snapped)
{
    uint32_t off = 0, dend;

    if (len >= 4 && b[0] == 0 && b[1] == 1)
        off = 4u + b[2] + b[3] + 8u + 1u;
    if (off <= len && len - off >= 2 && b[off] == 0 && b[off + 1] == 0)
        off += 8;
    if (off > len || len - off < 40 || b[off] >> 4 != 6)
        return -1;
    dend = 40u + lw_get16(b + off + 4);
    if (dend == len - off || (snapped && dend > len - off))
        return (int)off;
    return -1;
}

/* Teredo (RFC 4380): IPv6 in UDP port 3544. Anything else on that port
 * stays plain UDP. */
enum decode_result decode_teredo(struct dctx *c, const uint8_t *b, uint32_t len)
{
    enum decode_result r;
    int off = teredo_inner(b, len, c->snapped);

    if (off < 0)
        return DECODE_OK;
    decode_count(c, DECODE_LAYER_teredo);
    if ((r = tunnel_enter(c, TUNNEL_TEREDO, 0, 1)) != DECODE_OK)
        return r;
    return decode_ipv6(c, b + off, len - (uint32_t)off);
}

/* GTP-U extension headers, from the next-type byte at b[11]: each is a
 * multiple of 4 bytes whose last byte names the next. Returns the offset of
 * the T-PDU or 0 when they run past end. */
static uint32_t gtp_ext_skip(const uint8_t *b, uint32_t end)
{
    uint32_t off = 12, elen;
    uint8_t next = b[11];

    while (next != 0) {
        if (off >= end)
            return 0;
        elen = b[off] * 4u;
        if (elen == 0 || end - off < elen)
            return 0;
        next = b[off + elen - 1];
        off += elen;
    }
    return off;
}

/* GTP-U G-PDU (version 1, message type 255) carrying IPv4/IPv6; TEID is the
 * tunnel id. Other GTP messages (echo, end marker, ...) stay plain UDP. */
enum decode_result decode_gtp(struct dctx *c, const uint8_t *b, uint32_t len)
{
    enum decode_result r;
    uint32_t end, off = 8;
    unsigned v;
    int cut;

    if (len < 1 || b[0] >> 5 != 1 || !(b[0] & 0x10))
        return DECODE_OK;
    if (len < 8)
        return decode_fail(c, DE_GTP_TRUNCATED);
    if (b[1] != 255)
        return DECODE_OK;
    end = 8u + lw_get16(b + 2);
    cut = end > len;
    if (cut) {
        if (!c->snapped)
            return decode_fail(c, DE_GTP_TRUNCATED);
        end = len;
    }
    if (b[0] & 0x07) {
        if (end < 12)
            return decode_fail(c, DE_GTP_TRUNCATED);
        off = (b[0] & 0x04) ? gtp_ext_skip(b, end) : 12;
        if (off == 0)
            return decode_fail(c, DE_GTP_TRUNCATED);
    }
    if (off >= end)
        return decode_fail(c, DE_GTP_TRUNCATED);
    v = b[off] >> 4;
    if (v != 4 && v != 6)
        return DECODE_OK;
    decode_count(c, DECODE_LAYER_gtp);
    if ((r = tunnel_enter(c, TUNNEL_GTP, lw_get32(b + 4), 0)) != DECODE_OK)
        return r;
    c->snapped = cut;
    return v == 4 ? decode_ipv4(c, b + off, end - off) : decode_ipv6(c, b + off, end - off);
}
