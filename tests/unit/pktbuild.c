/* pktbuild.c - test helper that builds frames header by header. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktbuild.h"

/* Headers whose length field pb_finish() fills in. */
enum { OPEN_IPV4, OPEN_IPV6, OPEN_UDP, OPEN_PPPOE, OPEN_GTP, OPEN_GRE_V1 };

static uint8_t *grow(struct pb *b, uint32_t n, uint32_t *off)
{
    if (n > PB_MAX - b->len) {
        fprintf(stderr, "pktbuild: frame larger than %u bytes\n", PB_MAX);
        abort();
    }
    *off = b->len;
    b->len += n;
    return b->buf + *off;
}

static void push_open(struct pb *b, int kind, uint32_t off)
{
    if (b->nopen >= PB_MAX_OPEN) {
        fprintf(stderr, "pktbuild: too many open headers\n");
        abort();
    }
    b->open[b->nopen].kind = (uint8_t)kind;
    b->open[b->nopen].off = off;
    b->nopen++;
}

static void text_addr(const char *s, int af, uint8_t *out)
{
    if (inet_pton(af, s, out) != 1) {
        fprintf(stderr, "pktbuild: bad address %s\n", s);
        abort();
    }
}

void pb_init(struct pb *b)
{
    memset(b, 0, sizeof(*b));
}

void pb_put8(struct pb *b, uint32_t off, uint8_t v)
{
    b->buf[off] = v;
}

void pb_put16(struct pb *b, uint32_t off, uint16_t v)
{
    b->buf[off] = (uint8_t)(v >> 8);
    b->buf[off + 1] = (uint8_t)v;
}

void pb_put32(struct pb *b, uint32_t off, uint32_t v)
{
    pb_put16(b, off, (uint16_t)(v >> 16));
    pb_put16(b, off + 2, (uint16_t)v);
}

static uint16_t ip_checksum(const uint8_t *h, uint32_t n)
{
    uint32_t sum = 0, i;

    for (i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(h[i] << 8 | h[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

uint32_t pb_finish(struct pb *b)
{
    int i;

    /* Innermost first, so an outer IPv4 checksum covers final inner bytes
     * only when it matters: checksums here cover the IPv4 header alone. */
    for (i = b->nopen - 1; i >= 0; i--) {
        uint32_t off = b->open[i].off, n = b->len - off;

        switch (b->open[i].kind) {
        case OPEN_IPV4:
            pb_put16(b, off + 2, (uint16_t)n);
            pb_put16(b, off + 10, 0);
            pb_put16(b, off + 10, ip_checksum(b->buf + off, (b->buf[off] & 0x0fu) * 4u));
            break;
        case OPEN_IPV6:
            pb_put16(b, off + 4, (uint16_t)(n - 40));
            break;
        case OPEN_UDP:
            pb_put16(b, off + 4, (uint16_t)n);
            break;
        case OPEN_PPPOE:
            pb_put16(b, off + 4, (uint16_t)(n - 6));
            break;
        case OPEN_GTP:
            pb_put16(b, off + 2, (uint16_t)(n - 8));
            break;
        case OPEN_GRE_V1:
            pb_put16(b, off + 4, (uint16_t)(n - 12));
            break;
        }
    }
    b->nopen = 0;
    return b->len;
}

uint32_t pb_bytes(struct pb *b, const void *data, uint32_t n)
{
    uint32_t off;

    memcpy(grow(b, n, &off), data, n);
    return off;
}

uint32_t pb_zero(struct pb *b, uint32_t n)
{
    uint32_t off;

    memset(grow(b, n, &off), 0, n);
    return off;
}

uint32_t pb_str(struct pb *b, const char *s)
{
    return pb_bytes(b, s, (uint32_t)strlen(s));
}

uint32_t pb_eth(struct pb *b, uint16_t type)
{
    static const uint8_t macs[12] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
                                      0x00, 0x66, 0x77, 0x88, 0x99, 0xaa };
    uint32_t off = pb_bytes(b, macs, sizeof(macs));

    pb_zero(b, 2);
    pb_put16(b, off + 12, type);
    return off;
}

uint32_t pb_vlan(struct pb *b, uint16_t vid, uint16_t type)
{
    uint32_t off = pb_zero(b, 4);

    pb_put16(b, off, vid & 0x0fffu);
    pb_put16(b, off + 2, type);
    return off;
}

uint32_t pb_mpls(struct pb *b, uint32_t label, int bos)
{
    uint32_t off = pb_zero(b, 4);

    pb_put32(b, off, (label & 0xfffffu) << 12 | (bos ? 0x100u : 0) | 64u);
    return off;
}

uint32_t pb_pppoe(struct pb *b, uint16_t session, uint16_t ppp_proto)
{
    uint32_t off = pb_zero(b, 8);

    pb_put8(b, off, 0x11);
    pb_put16(b, off + 2, session);
    pb_put16(b, off + 6, ppp_proto);
    push_open(b, OPEN_PPPOE, off);
    return off;
}

uint32_t pb_sll(struct pb *b, uint16_t proto)
{
    uint32_t off = pb_zero(b, 16);

    pb_put16(b, off + 2, 1);        /* ARPHRD_ETHER */
    pb_put16(b, off + 4, 6);
    pb_put16(b, off + 14, proto);
    return off;
}

uint32_t pb_sll2(struct pb *b, uint16_t proto)
{
    uint32_t off = pb_zero(b, 20);

    pb_put16(b, off, proto);
    pb_put32(b, off + 4, 2);        /* ifindex */
    pb_put16(b, off + 8, 1);        /* ARPHRD_ETHER */
    pb_put8(b, off + 11, 6);
    return off;
}

uint32_t pb_null(struct pb *b, uint32_t family, int big_endian)
{
    uint32_t off = pb_zero(b, 4);

    if (big_endian) {
        pb_put32(b, off, family);
    } else {
        b->buf[off] = (uint8_t)family;
        b->buf[off + 1] = (uint8_t)(family >> 8);
        b->buf[off + 2] = (uint8_t)(family >> 16);
        b->buf[off + 3] = (uint8_t)(family >> 24);
    }
    return off;
}

uint32_t pb_ppp(struct pb *b, uint16_t proto, int addr_ctl)
{
    uint32_t off = b->len;

    if (addr_ctl) {
        static const uint8_t ac[2] = { 0xff, 0x03 };
        pb_bytes(b, ac, 2);
    }
    pb_put16(b, pb_zero(b, 2), proto);
    return off;
}

uint32_t pb_chdlc(struct pb *b, uint16_t type)
{
    uint32_t off = pb_zero(b, 4);

    pb_put8(b, off, 0x0f);
    pb_put16(b, off + 2, type);
    return off;
}

uint32_t pb_ipv4_opt(struct pb *b, const char *src, const char *dst, uint8_t proto,
                     const uint8_t *opt, uint32_t optlen)
{
    uint32_t off = pb_zero(b, 20);

    pb_put8(b, off, (uint8_t)(0x40 | (5 + optlen / 4)));
    pb_put16(b, off + 4, 0x1234);
    pb_put8(b, off + 8, 64);
    pb_put8(b, off + 9, proto);
    text_addr(src, AF_INET, b->buf + off + 12);
    text_addr(dst, AF_INET, b->buf + off + 16);
    if (optlen)
        pb_bytes(b, opt, optlen);
    push_open(b, OPEN_IPV4, off);
    return off;
}

uint32_t pb_ipv4(struct pb *b, const char *src, const char *dst, uint8_t proto)
{
    return pb_ipv4_opt(b, src, dst, proto, NULL, 0);
}

void pb_ipv4_frag(struct pb *b, uint32_t off, uint32_t frag_off, int more)
{
    pb_put16(b, off + 6, (uint16_t)((more ? 0x2000u : 0) | (frag_off / 8)));
}

uint32_t pb_ipv6(struct pb *b, const char *src, const char *dst, uint8_t nh)
{
    uint32_t off = pb_zero(b, 40);

    pb_put8(b, off, 0x60);
    pb_put8(b, off + 6, nh);
    pb_put8(b, off + 7, 64);
    text_addr(src, AF_INET6, b->buf + off + 8);
    text_addr(dst, AF_INET6, b->buf + off + 24);
    push_open(b, OPEN_IPV6, off);
    return off;
}

uint32_t pb_ipv6_ext(struct pb *b, uint8_t nh, uint8_t len8)
{
    uint32_t off = pb_zero(b, (len8 + 1u) * 8u);

    /* The zero bytes after the two-byte header are Pad1 options. */
    pb_put8(b, off, nh);
    pb_put8(b, off + 1, len8);
    return off;
}

uint32_t pb_ipv6_frag(struct pb *b, uint8_t nh, uint32_t frag_off, int more, uint32_t id)
{
    uint32_t off = pb_zero(b, 8);

    pb_put8(b, off, nh);
    pb_put16(b, off + 2, (uint16_t)((frag_off & 0xfff8u) | (more ? 1u : 0)));
    pb_put32(b, off + 4, id);
    return off;
}

uint32_t pb_tcp_opt(struct pb *b, uint16_t sport, uint16_t dport, uint8_t flags,
                    const uint8_t *opt, uint32_t optlen)
{
    uint32_t off = pb_zero(b, 20);

    pb_put16(b, off, sport);
    pb_put16(b, off + 2, dport);
    pb_put8(b, off + 12, (uint8_t)((5 + optlen / 4) << 4));
    pb_put8(b, off + 13, flags);
    pb_put16(b, off + 14, 65535);
    if (optlen)
        pb_bytes(b, opt, optlen);
    return off;
}

uint32_t pb_tcp(struct pb *b, uint16_t sport, uint16_t dport, uint8_t flags,
                uint32_t seq, uint32_t ack)
{
    uint32_t off = pb_tcp_opt(b, sport, dport, flags, NULL, 0);

    pb_put32(b, off + 4, seq);
    pb_put32(b, off + 8, ack);
    return off;
}

uint32_t pb_udp(struct pb *b, uint16_t sport, uint16_t dport)
{
    uint32_t off = pb_zero(b, 8);

    pb_put16(b, off, sport);
    pb_put16(b, off + 2, dport);
    push_open(b, OPEN_UDP, off);
    return off;
}

uint32_t pb_icmp(struct pb *b, uint8_t type, uint8_t code)
{
    uint32_t off = pb_zero(b, 8);

    pb_put8(b, off, type);
    pb_put8(b, off + 1, code);
    return off;
}

uint32_t pb_sctp(struct pb *b, uint16_t sport, uint16_t dport)
{
    uint32_t off = pb_zero(b, 12);

    pb_put16(b, off, sport);
    pb_put16(b, off + 2, dport);
    pb_put32(b, off + 4, 0xdeadbeef);   /* verification tag */
    return off;
}

uint32_t pb_gre(struct pb *b, uint16_t flags, uint16_t proto, uint32_t key, uint32_t seq)
{
    uint32_t off = pb_zero(b, 4);

    pb_put16(b, off, flags);
    pb_put16(b, off + 2, proto);
    if (flags & PB_GRE_C)
        pb_zero(b, 4);
    if (flags & PB_GRE_K)
        pb_put32(b, pb_zero(b, 4), key);
    if (flags & PB_GRE_S)
        pb_put32(b, pb_zero(b, 4), seq);
    return off;
}

uint32_t pb_gre_v1(struct pb *b, uint16_t call_id, uint32_t seq)
{
    uint32_t off = pb_zero(b, 12);

    pb_put16(b, off, 0x3001);           /* K, S, version 1 */
    pb_put16(b, off + 2, 0x880b);
    pb_put16(b, off + 6, call_id);
    pb_put32(b, off + 8, seq);
    push_open(b, OPEN_GRE_V1, off);
    return off;
}

uint32_t pb_erspan2(struct pb *b, uint16_t session, uint16_t vlan)
{
    uint32_t off = pb_zero(b, 8);

    pb_put16(b, off, (uint16_t)(0x1000u | (vlan & 0x0fffu)));
    pb_put16(b, off + 2, session & 0x3ffu);
    pb_put32(b, off + 4, 7);            /* index */
    return off;
}

uint32_t pb_erspan3(struct pb *b, uint16_t session, uint16_t vlan, int with_subhdr)
{
    uint32_t off = pb_zero(b, 12);

    pb_put16(b, off, (uint16_t)(0x2000u | (vlan & 0x0fffu)));
    pb_put16(b, off + 2, session & 0x3ffu);
    pb_put32(b, off + 4, 0x01020304);   /* timestamp */
    if (with_subhdr) {
        pb_put8(b, off + 11, 0x01);     /* O bit */
        pb_zero(b, 8);
    }
    return off;
}

uint32_t pb_vxlan(struct pb *b, uint32_t vni)
{
    uint32_t off = pb_zero(b, 8);

    pb_put8(b, off, 0x08);
    pb_put32(b, off + 4, (vni & 0xffffffu) << 8);
    return off;
}

uint32_t pb_geneve(struct pb *b, uint32_t vni, uint16_t proto, uint8_t opt_words)
{
    uint32_t off = pb_zero(b, 8);

    pb_put8(b, off, opt_words & 0x3fu);
    pb_put16(b, off + 2, proto);
    pb_put32(b, off + 4, (vni & 0xffffffu) << 8);
    if (opt_words)
        pb_zero(b, opt_words * 4u);
    return off;
}

uint32_t pb_gtpu(struct pb *b, uint32_t teid, int with_seq)
{
    uint32_t off = pb_zero(b, 8);

    pb_put8(b, off, (uint8_t)(0x30 | (with_seq ? 0x02 : 0)));
    pb_put8(b, off + 1, 255);
    pb_put32(b, off + 4, teid);
    if (with_seq)
        pb_zero(b, 4);
    push_open(b, OPEN_GTP, off);
    return off;
}
