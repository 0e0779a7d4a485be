/* decode-link.c - link layers: Ethernet, Linux SLL/SLL2, raw IP, BSD null,
 * PPP, Cisco HDLC, and what rides on an ethertype (VLAN, MPLS, PPPoE). */
#include <pcap/dlt.h>

#include "decode-int.h"

#define ETH_HLEN   14
#define SLL_HLEN   16
#define SLL2_HLEN  20
#define ARPHRD_NETLINK 824

/* A frame whose type field is a length (802.3/LLC) or an ethertype we do not
 * read: well formed, just not IP. */
static enum decode_result not_ip(struct dctx *c, enum decode_layer l)
{
    decode_count(c, l);
    return DECODE_NOT_IP;
}

enum decode_result decode_ethertype(struct dctx *c, uint16_t type,
                                    const uint8_t *b, uint32_t len)
{
    switch (type) {
    case 0x0800:
        return decode_ipv4(c, b, len);
    case 0x86dd:
        return decode_ipv6(c, b, len);
    case 0x8100:
    case 0x88a8:
    case 0x9100:
        return decode_vlan(c, b, len);
    case 0x8847:
    case 0x8848:
        return decode_mpls(c, b, len);
    case 0x894f:
        return decode_nsh(c, b, len);
    case 0x8864:
        return decode_pppoe(c, b, len);
    case 0x8863:
        return not_ip(c, DECODE_LAYER_pppoe);   /* discovery stage */
    case 0x0806:
        return not_ip(c, DECODE_LAYER_arp);
    }
    return not_ip(c, DECODE_LAYER_other);
}

enum decode_result decode_ethernet(struct dctx *c, const uint8_t *b, uint32_t len)
{
    uint16_t type;

    if (len < ETH_HLEN)
        return decode_fail(c, DE_ETH_TRUNCATED);
    decode_count(c, DECODE_LAYER_ethernet);
    c->frame_tags = 0;
    type = lw_get16(b + 12);
    if (type < 0x0600)
        return not_ip(c, DECODE_LAYER_other);
    return decode_ethertype(c, type, b + ETH_HLEN, len - ETH_HLEN);
}

/* 802.1Q / 802.1ad tag. Tags of the outer frame are stored outer first; a
 * frame with more tags than PKT_MAX_VLANS is refused. An inner frame (out of
 * a tunnel) appends its tags while there is room, then drops them silently. */
enum decode_result decode_vlan(struct dctx *c, const uint8_t *b, uint32_t len)
{
    struct packet *p = c->p;
    uint16_t type;

    if (c->frame_tags >= PKT_MAX_VLANS)
        return decode_fail(c, DE_VLAN_TOO_MANY);
    if (len < 4)
        return decode_fail(c, DE_VLAN_TRUNCATED);
    c->frame_tags++;
    decode_count(c, DECODE_LAYER_vlan);
    if (c->frame_tags == 2)
        decode_count(c, DECODE_LAYER_vlan_qinq);
    if (p->vlan_count < PKT_MAX_VLANS)
        p->vlan[p->vlan_count++] = lw_get16(b) & 0x0fff;
    type = lw_get16(b + 2);
    if (type < 0x0600)
        return not_ip(c, DECODE_LAYER_other);
    return decode_ethertype(c, type, b + 4, len - 4);
}

/* MPLS label stack up to the bottom-of-stack bit, then a guess at the payload
 * from its first nibble, since MPLS does not say what it carries. The label
 * count is kept over the whole packet, which also bounds how often an
 * Ethernet pseudowire can nest more MPLS. */
enum decode_result decode_mpls(struct dctx *c, const uint8_t *b, uint32_t len)
{
    struct packet *p = c->p;
    uint32_t off = 0, entry;

    decode_count(c, DECODE_LAYER_mpls);
    do {
        if (p->mpls_count >= PKT_MAX_MPLS_LABELS)
            return decode_fail(c, DE_MPLS_TOO_MANY);
        if (len - off < 4)
            return decode_fail(c, DE_MPLS_TRUNCATED);
        entry = lw_get32(b + off);
        off += 4;
        p->mpls_count++;
    } while (!(entry & 0x100));

    if (off >= len)
        return decode_fail(c, DE_MPLS_TRUNCATED);
    switch (b[off] >> 4) {
    case 4:
        return decode_ipv4(c, b + off, len - off);
    case 6:
        return decode_ipv6(c, b + off, len - off);
    case 0:
        /* Pseudowire control word (0000 flags/length/sequence), then Ethernet. */
        if (len - off >= 4 + ETH_HLEN)
            return decode_ethernet(c, b + off + 4, len - off - 4);
        break;
    }
    return decode_fail(c, DE_MPLS_BAD_PAYLOAD);
}

/* Network Service Header (RFC 8300), the service function chaining header
 * of data-centre fabrics: a base header (version, O bit, TTL, length in
 * 4-byte words, MD type, next protocol), a service path header (SPI, SI),
 * then context headers: MD type 1 a fixed 16 bytes (length 6), type 2
 * variable. The packet's flow is the inner one's, as in Suricata; the
 * reasons it refuses are Suricata's events. At most PKT_MAX_TUNNEL_DEPTH
 * headers, since one may carry Ethernet and that NSH again. */
enum decode_result decode_nsh(struct dctx *c, const uint8_t *b, uint32_t len)
{
    uint32_t hlen;
    uint8_t md;

    if (c->nsh >= PKT_MAX_TUNNEL_DEPTH)
        return decode_fail(c, DE_NSH_TOO_MANY);
    if (len < 8)
        return decode_fail(c, DE_NSH_TRUNCATED);
    if (b[0] >> 6 != 0)
        return decode_fail(c, DE_NSH_BAD_VERSION);
    hlen = (b[1] & 0x3fu) * 4u;
    md = b[2] & 0x0f;
    if (md == 0 || md == 0x0f)
        return decode_fail(c, DE_NSH_RESERVED_TYPE);
    if (md > 2)
        return decode_fail(c, DE_NSH_UNSUPPORTED_TYPE);
    if (hlen < 8 || (md == 1 && hlen != 24))
        return decode_fail(c, DE_NSH_BAD_LEN);
    if (len < hlen)
        return decode_fail(c, DE_NSH_TRUNCATED);
    c->nsh++;
    decode_count(c, DECODE_LAYER_nsh);
    switch (b[3]) {
    case 1:
        return decode_ipv4(c, b + hlen, len - hlen);
    case 2:
        return decode_ipv6(c, b + hlen, len - hlen);
    case 3:
        return decode_ethernet(c, b + hlen, len - hlen);
    case 5:
        return decode_mpls(c, b + hlen, len - hlen);
    }
    return decode_fail(c, DE_NSH_UNKNOWN_PAYLOAD);
}

/* PPP protocol field (after an optional ff 03 address/control pair; one byte
 * when compressed) and its payload. Control protocols (LCP, IPCP, ...) are
 * well formed but not IP; other data protocols are unsupported. trunc is the
 * reason counted when the field itself is cut, as it depends on the carrier. */
enum decode_result decode_ppp_proto(struct dctx *c, enum decode_event trunc,
                                    const uint8_t *b, uint32_t len)
{
    uint32_t off = 0;
    uint16_t proto;

    if (len >= 2 && b[0] == 0xff && b[1] == 0x03)
        off = 2;
    if (off >= len)
        return decode_fail(c, trunc);
    if (b[off] & 1) {
        proto = b[off];
        off += 1;
    } else {
        if (len - off < 2)
            return decode_fail(c, trunc);
        proto = lw_get16(b + off);
        off += 2;
    }
    switch (proto) {
    case 0x0021:
        return decode_ipv4(c, b + off, len - off);
    case 0x0057:
        return decode_ipv6(c, b + off, len - off);
    }
    if (proto >= 0x8000)
        return not_ip(c, DECODE_LAYER_other);
    return decode_fail(c, DE_PPP_UNSUPPORTED);
}

/* PPPoE session stage: ver/type 0x11, code 0, then PPP. The PPPoE length
 * bounds the payload, which keeps Ethernet padding out of it. */
enum decode_result decode_pppoe(struct dctx *c, const uint8_t *b, uint32_t len)
{
    uint32_t plen;

    if (len < 8)
        return decode_fail(c, DE_PPPOE_TRUNCATED);
    if (b[0] != 0x11 || b[1] != 0)
        return decode_fail(c, DE_PPPOE_BAD_VERSION);
    plen = lw_get16(b + 4);
    if (plen < 2 || (plen > len - 6 && !c->snapped))
        return decode_fail(c, DE_PPPOE_BAD_LEN);
    decode_count(c, DECODE_LAYER_pppoe);
    if (plen <= len - 6) {
        len = plen + 6;
        c->snapped = 0;
    }
    return decode_ppp_proto(c, DE_PPPOE_TRUNCATED, b + 6, len - 6);
}

/* Linux cooked capture protocol field: an ethertype, or one of the small
 * values Linux uses for 802.3/802.2 frames. */
static enum decode_result sll_proto(struct dctx *c, uint16_t hatype, uint16_t proto,
                                    const uint8_t *b, uint32_t len)
{
    if (hatype == ARPHRD_NETLINK || proto < 0x0600)
        return not_ip(c, DECODE_LAYER_other);
    return decode_ethertype(c, proto, b, len);
}

enum decode_result decode_sll(struct dctx *c, const uint8_t *b, uint32_t len)
{
    if (len < SLL_HLEN)
        return decode_fail(c, DE_SLL_TRUNCATED);
    decode_count(c, DECODE_LAYER_sll);
    return sll_proto(c, lw_get16(b + 2), lw_get16(b + 14), b + SLL_HLEN, len - SLL_HLEN);
}

enum decode_result decode_sll2(struct dctx *c, const uint8_t *b, uint32_t len)
{
    if (len < SLL2_HLEN)
        return decode_fail(c, DE_SLL2_TRUNCATED);
    decode_count(c, DECODE_LAYER_sll2);
    return sll_proto(c, lw_get16(b + 8), lw_get16(b), b + SLL2_HLEN, len - SLL2_HLEN);
}

/* Raw IP: DLT_IPV4/DLT_IPV6 say the version, DLT_RAW leaves it to the first
 * nibble. */
enum decode_result decode_raw(struct dctx *c, const uint8_t *b, uint32_t len)
{
    decode_count(c, DECODE_LAYER_raw);
    if (c->dc->datalink == DLT_IPV6)
        return decode_ipv6(c, b, len);
    if (c->dc->datalink != DLT_IPV4 && len >= 1 && b[0] >> 4 == 6)
        return decode_ipv6(c, b, len);
    return decode_ipv4(c, b, len);
}

static int null_is_ipv6(uint32_t fam)
{
    return fam == 24 || fam == 28 || fam == 30;     /* NetBSD/OpenBSD, FreeBSD, macOS */
}

/* BSD loopback: a 4-byte address family in the capturing host's byte order
 * (DLT_NULL) or network order (DLT_LOOP); both orders are tried, since files
 * travel between hosts. */
enum decode_result decode_null(struct dctx *c, const uint8_t *b, uint32_t len)
{
    uint32_t be, le;

    if (len < 4)
        return decode_fail(c, DE_NULL_TRUNCATED);
    decode_count(c, DECODE_LAYER_null);
    be = lw_get32(b);
    le = (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
    if (be == 2 || le == 2)
        return decode_ipv4(c, b + 4, len - 4);
    if (null_is_ipv6(be) || null_is_ipv6(le))
        return decode_ipv6(c, b + 4, len - 4);
    return decode_fail(c, DE_NULL_UNKNOWN_FAMILY);
}

enum decode_result decode_ppp(struct dctx *c, const uint8_t *b, uint32_t len)
{
    decode_count(c, DECODE_LAYER_ppp);
    return decode_ppp_proto(c, DE_PPP_TRUNCATED, b, len);
}

/* Cisco HDLC: address, control, then an ethertype. */
enum decode_result decode_chdlc(struct dctx *c, const uint8_t *b, uint32_t len)
{
    if (len < 4)
        return decode_fail(c, DE_CHDLC_TRUNCATED);
    decode_count(c, DECODE_LAYER_chdlc);
    return decode_ethertype(c, lw_get16(b + 2), b + 4, len - 4);
}
