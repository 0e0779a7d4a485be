/* decode-ip.c - IPv4 and IPv6 (options, extension headers, fragments) and the
 * dispatch to the transport or tunnel they carry. */
#include <string.h>

#include "decode-int.h"
#include "defrag.h"

#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define IPV6_MAX_EXT 8

enum decode_result decode_ip_proto(struct dctx *c, uint8_t proto,
                                   const uint8_t *b, uint32_t len)
{
    switch (proto) {
    case 6:
        return decode_tcp(c, b, len);
    case 17:
        return decode_udp(c, b, len);
    case 1:
        return decode_icmpv4(c, b, len);
    case 58:
        return decode_icmpv6(c, b, len);
    case 132:
        return decode_sctp(c, b, len);
    case 47:
        return decode_gre(c, b, len);
    case 4:
    case 41:
        return decode_ipip(c, proto, b, len);
    }
    return decode_l4_other(c, b, len);
}

/* Walks IPv4 options for length sanity only. Returns 0, or -1 when an option
 * runs past the header or has a length below 2. */
static int ipv4_options(const uint8_t *opt, uint32_t n)
{
    uint32_t i = 0, olen;

    while (i < n) {
        if (opt[i] == 0)            /* end of option list */
            break;
        if (opt[i] == 1) {          /* no-op */
            i++;
            continue;
        }
        if (n - i < 2)
            return -1;
        olen = opt[i + 1];
        if (olen < 2 || olen > n - i)
            return -1;
        i += olen;
    }
    return 0;
}

/* Whether this packet's fragments can go to the defragmenter: there must be
 * one, the fragment must be whole on capture, and a datagram that is itself
 * a reassembly is not fed back into the buffer it lives in. */
static int can_defrag(const struct dctx *c)
{
    return c->dc->defrag != NULL && !c->snapped &&
           !(c->p->flags & PKT_F_REASSEMBLED);
}

static void frag_key_fill(const struct dctx *c, struct frag_key *k, uint32_t id,
                          uint8_t proto)
{
    const struct packet *p = c->p;

    memset(k, 0, sizeof(*k));      /* padding too: the defragmenter may hash the bytes */
    k->src = p->src;
    k->dst = p->dst;
    k->id = id;
    k->proto = proto;
    k->ip_version = p->ip_version;
    k->vlan[0] = p->vlan[0];
    k->vlan[1] = p->vlan[1];
    k->tunnel_id = p->tunnel.id;
}

/* Outcome of defrag_add(): a complete datagram is decoded again from its IP
 * header. The defragmenter counts the refusal reason and the reassembled
 * datagrams itself; the refused packet is ours to count. */
static enum decode_result defrag_result(struct dctx *c, int rc,
                                        const uint8_t *out, uint32_t out_len)
{
    const uint8_t *ev;
    size_t nev = defrag_events(c->dc->defrag, &ev);

    for (size_t i = 0; i < nev; i++)      /* counted by the defragmenter */
        decode_event_keep(c->p, (enum decode_event)ev[i]);
    if (rc == 0)
        return DECODE_HELD;
    if (rc < 0) {
        STATS_INC(c->dc->stats.invalid);
        return DECODE_INVALID;
    }
    c->p->flags |= PKT_F_REASSEMBLED;
    c->snapped = 0;
    c->slack = 0;
    if (c->p->ip_version == 4)
        return decode_ipv4(c, out, out_len);
    return decode_ipv6(c, out, out_len);
}

/* An IPv4 fragment (MF set or offset non-zero). Without reassembly the first
 * fragment is decoded as far as its bytes go and later ones carry only their
 * addresses and protocol. */
static enum decode_result ipv4_fragment(struct dctx *c, const uint8_t *b,
                                        uint32_t hlen, uint32_t end)
{
    struct packet *p = c->p;
    uint16_t ff = lw_get16(b + 6);
    uint32_t off = (ff & 0x1fffu) * 8u;
    const uint8_t *out;
    uint32_t out_len;
    struct frag_key k;
    int rc;

    STATS_INC(c->dc->stats.frag_ipv4);
    if (can_defrag(c)) {
        frag_key_fill(c, &k, lw_get16(b + 4), p->proto);
        rc = defrag_add(c->dc->defrag, &c->dc->stats, &k, b, hlen, 0,
                        b + hlen, off, end - hlen, (ff & 0x2000) != 0,
                        c->ts, &out, &out_len);
        return defrag_result(c, rc, out, out_len);
    }
    if (off != 0)
        return DECODE_OK;
    c->snapped = 1;                 /* the datagram goes on past this fragment */
    c->slack = UINT32_MAX;
    return decode_ip_proto(c, p->proto, b + hlen, end - hlen);
}

/* IPv4 header. The datagram ends at the total length, which keeps Ethernet
 * padding out; when the capture was cut short the captured end is used and
 * the total length may point past it. */
enum decode_result decode_ipv4(struct dctx *c, const uint8_t *b, uint32_t len)
{
    struct packet *p = c->p;
    uint32_t hlen, tot, end;

    if (len < IPV4_HLEN)
        return decode_fail(c, DE_IPV4_TRUNCATED);
    if (b[0] >> 4 != 4)
        return decode_fail(c, DE_IPV4_BAD_VERSION);
    hlen = (b[0] & 0x0fu) * 4u;
    if (hlen < IPV4_HLEN)
        return decode_fail(c, DE_IPV4_BAD_HLEN);
    tot = lw_get16(b + 2);
    if (tot < hlen || decode_len_lies(c, tot, len))
        return decode_fail(c, DE_IPV4_BAD_TOTLEN);
    if (hlen > len)
        return decode_fail(c, DE_IPV4_TRUNCATED);
    decode_count(c, DECODE_LAYER_ipv4);
    if (hlen > IPV4_HLEN) {
        if (ipv4_options(b + IPV4_HLEN, hlen - IPV4_HLEN) < 0)
            return decode_fail(c, DE_IPV4_BAD_OPT);
        p->flags |= PKT_F_IPV4_OPTIONS;
    }

    end = tot < len ? tot : len;
    c->snapped = tot > len;
    p->l3 = b;
    p->l3_len = end;
    p->ip_version = 4;
    p->tos = b[1];
    p->ttl = b[8];
    p->proto = b[9];
    lw_addr_set4(&p->src, b + 12);
    lw_addr_set4(&p->dst, b + 16);

    if (lw_get16(b + 6) & 0x3fff)
        return ipv4_fragment(c, b, hlen, end);
    return decode_ip_proto(c, p->proto, b + hlen, end - hlen);
}

/* An IPv6 fragment header at off (already bounds-checked), nh_off the byte
 * that named it. Sets *cont to 1 when the headers after it are still to be
 * walked (an atomic fragment, or a first fragment without reassembly);
 * otherwise decoding ends here with the result returned. */
static enum decode_result ipv6_fragment(struct dctx *c, const uint8_t *b, uint32_t off,
                                        uint32_t nh_off, uint32_t end, int *cont)
{
    uint16_t fo = lw_get16(b + off + 2);
    const uint8_t *out;
    uint32_t out_len;
    struct frag_key k;
    int rc;

    *cont = 0;
    if ((fo & 0xfff9u) == 0) {      /* atomic fragment: not part of any datagram */
        decode_anomaly(c, DE_IPV6_USELESS_FH);
        *cont = 1;
        return DECODE_OK;
    }
    /* RFC 8200 4.5: every fragment but the last is a multiple of 8 bytes */
    if ((fo & 1) && !c->snapped && (end - off - 8) % 8 != 0)
        decode_anomaly(c, DE_IPV6_FRAG_BAD_LEN);
    STATS_INC(c->dc->stats.frag_ipv6);
    if (can_defrag(c)) {
        frag_key_fill(c, &k, lw_get32(b + off + 4), b[off]);
        rc = defrag_add(c->dc->defrag, &c->dc->stats, &k, b, off, nh_off,
                        b + off + 8, fo & 0xfff8u, end - off - 8, fo & 1,
                        c->ts, &out, &out_len);
        return defrag_result(c, rc, out, out_len);
    }
    if (fo & 0xfff8u) {
        c->p->proto = b[off];
        return DECODE_OK;
    }
    c->snapped = 1;
    c->slack = UINT32_MAX;
    *cont = 1;
    return DECODE_OK;
}

/* Extension header length, or 0 for a next-header value that is not one we
 * step over. */
static uint32_t ipv6_ext_len(uint8_t nh, const uint8_t *h)
{
    switch (nh) {
    case 0:
    case 43:
    case 60:
        return (h[1] + 1u) * 8u;
    case 51:
        return (h[1] + 2u) * 4u;
    case 44:
        return 8;
    }
    return 0;
}

static int ipv6_is_ext(uint8_t nh)
{
    return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44;
}

/* The options of a hop-by-hop (hop) or destination options header h of
 * hlen bytes (bounds-checked by the caller): the anomalies Suricata reports
 * for them. Only option types and lengths are read, within h. As in
 * Suricata, an option may claim one byte past the header before it is an
 * invalid length, and Jumbo Payload counts neither as padding nor as another
 * option. */
static void ipv6_options(struct dctx *c, const uint8_t *h, uint32_t hlen, int hop)
{
    uint32_t off = 2, pad = 0, other = 0;

    while (off < hlen) {
        uint8_t type = h[off], olen;

        if (type == 0) {                    /* Pad1 */
            pad++;
            off++;
            continue;
        }
        if (off + 1 >= hlen || off + 1u + h[off + 1] > hlen) {
            decode_anomaly(c, DE_IPV6_BAD_OPTLEN);
            break;
        }
        olen = h[off + 1];
        if (type == 1) {                    /* PadN */
            pad++;
            if (olen == 0)
                decode_anomaly(c, DE_IPV6_ZERO_LEN_PADN);
        } else if (type == 5 || type == 0xc2 || type == 0xc9) {
            /* Router Alert (2 bytes), Jumbo Payload (4), Home Address (16) */
            if (olen < (type == 5 ? 2 : type == 0xc2 ? 4 : 16)) {
                decode_anomaly(c, DE_IPV6_BAD_OPTLEN);
                break;
            }
            other += type != 0xc2;
        } else {
            decode_anomaly(c, hop ? DE_IPV6_HH_UNKNOWN_OPT : DE_IPV6_DH_UNKNOWN_OPT);
            other++;
        }
        off += 2u + olen;
    }
    if (pad > 0 && other == 0)
        decode_anomaly(c, hop ? DE_IPV6_HH_ONLY_PAD : DE_IPV6_DH_ONLY_PAD);
}

/* Walks the extension header chain of the IPv6 header at b (end: usable bytes)
 * and hands the upper layer on. ESP and no-next-header end decoding with the
 * rest opaque. As in Suricata, a repeated header (a second hop-by-hop,
 * routing, AH or fragment header, a third destination options header) is an
 * anomaly and is stepped over, not used. */
static enum decode_result ipv6_exthdrs(struct dctx *c, const uint8_t *b, uint32_t end)
{
    struct packet *p = c->p;
    uint32_t off = IPV6_HLEN, nh_off = 6, hlen;
    uint8_t nh = b[6];
    enum decode_result r;
    int n = 0, cont, hh = 0, dh = 0, rh = 0, ah = 0, fh = 0;

    while (ipv6_is_ext(nh)) {
        if (++n > IPV6_MAX_EXT)
            return decode_fail(c, DE_IPV6_TOO_MANY_EXT);
        if (end - off < 2)
            goto trunc;
        hlen = ipv6_ext_len(nh, b + off);
        if (end - off < hlen)
            goto trunc;
        p->flags |= PKT_F_IPV6_EXTHDRS;
        switch (nh) {
        case 0:                             /* hop-by-hop options */
            if (hh++)
                decode_anomaly(c, DE_IPV6_DUPL_HH);
            else
                ipv6_options(c, b + off, hlen, 1);
            break;
        case 60:                            /* destination options: before routing, and last */
            if (dh >= 2)
                decode_anomaly(c, DE_IPV6_DUPL_DH);
            else
                ipv6_options(c, b + off, hlen, 0);
            dh++;
            break;
        case 43:                            /* routing (hlen >= 8) */
            if (rh++)
                decode_anomaly(c, DE_IPV6_DUPL_RH);
            else if (b[off + 2] == 0)
                decode_anomaly(c, DE_IPV6_RH_TYPE_0);
            break;
        case 51:                            /* authentication (hlen >= 8) */
            if (lw_get16(b + off + 2) != 0)
                decode_anomaly(c, DE_IPV6_AH_RESERVED);
            if (ah++)
                decode_anomaly(c, DE_IPV6_DUPL_AH);
            break;
        case 44:                            /* fragment (hlen 8) */
            if (b[off + 1] != 0)
                decode_anomaly(c, DE_IPV6_FH_RESERVED);
            if (fh++) {
                decode_anomaly(c, DE_IPV6_DUPL_FH);
                break;
            }
            r = ipv6_fragment(c, b, off, nh_off, end, &cont);
            if (!cont)
                return r;
            break;
        }
        nh_off = off;
        nh = b[off];
        off += hlen;
    }
    /* a chain that names an upper layer but leaves it under 2 bytes is cut
     * short (Suricata's ipv6.trunc_exthdr), not a short upper layer; the
     * refused packet keeps the protocol the chain names */
    p->proto = nh;
    if (n > 0 && nh != 59 && end - off < 2)
        goto trunc;
    if (nh == 59 && end > off)
        decode_anomaly(c, DE_IPV6_DATA_AFTER_NONE);
    if (nh == 50 || nh == 59)
        return decode_l4_other(c, b + off, end - off);
    return decode_ip_proto(c, nh, b + off, end - off);
trunc:
    return decode_fail(c, c->snapped ? DE_IPV6_TRUNCATED : DE_IPV6_BAD_EXTHDR);
}

/* IPv6 fixed header. As for IPv4, the payload length bounds the datagram, and
 * may point past a capture that was cut short. */
enum decode_result decode_ipv6(struct dctx *c, const uint8_t *b, uint32_t len)
{
    struct packet *p = c->p;
    uint32_t dend, end;

    if (len < IPV6_HLEN)
        return decode_fail(c, DE_IPV6_TRUNCATED);
    if (b[0] >> 4 != 6)
        return decode_fail(c, DE_IPV6_BAD_VERSION);
    dend = IPV6_HLEN + lw_get16(b + 4);
    if (decode_len_lies(c, dend, len))
        return decode_fail(c, DE_IPV6_BAD_PLEN);
    decode_count(c, DECODE_LAYER_ipv6);

    end = dend < len ? dend : len;
    c->snapped = dend > len;
    p->l3 = b;
    p->l3_len = end;
    p->ip_version = 6;
    p->tos = (uint8_t)(lw_get16(b) >> 4);
    p->ttl = b[7];
    lw_addr_set6(&p->src, b + 8);
    lw_addr_set6(&p->dst, b + 24);
    return ipv6_exthdrs(c, b, end);
}
