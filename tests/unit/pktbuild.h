/* pktbuild.h - test helper that builds frames header by header.
 *
 * Headers are appended outer first into a fixed buffer. Length fields that
 * depend on what follows (IPv4 total length and checksum, IPv6 payload
 * length, UDP length, PPPoE length, GTP length) are filled in by pb_finish(),
 * which closes every header still open against the current end of the
 * buffer. Bytes appended after pb_finish() (Ethernet padding, say) are not
 * counted by any header. Every append returns the offset of what it wrote,
 * so a test can poke a field afterwards with pb_put8/16/32.
 *
 * Ethertype-like "next" fields are written by the header that carries them:
 * pb_eth(b, 0x8100) then pb_vlan(b, 10, 0x0800) then pb_ipv4(...).
 * Overflowing the buffer aborts: it is a bug in the test.
 */
#ifndef LW_PKTBUILD_H
#define LW_PKTBUILD_H

#include <stddef.h>
#include <stdint.h>

#define PB_MAX 16384
#define PB_MAX_OPEN 16

struct pb {
    uint8_t  buf[PB_MAX];
    uint32_t len;
    int      nopen;
    struct { uint8_t kind; uint32_t off; } open[PB_MAX_OPEN];
};

/* GRE flag bits for pb_gre(). */
#define PB_GRE_C 0x8000u
#define PB_GRE_K 0x2000u
#define PB_GRE_S 0x1000u

void     pb_init(struct pb *b);
/* Closes all open headers (lengths, IPv4 checksums). Returns the length. */
uint32_t pb_finish(struct pb *b);

uint32_t pb_bytes(struct pb *b, const void *data, uint32_t n);
uint32_t pb_zero(struct pb *b, uint32_t n);
uint32_t pb_str(struct pb *b, const char *s);
void     pb_put8(struct pb *b, uint32_t off, uint8_t v);
void     pb_put16(struct pb *b, uint32_t off, uint16_t v);
void     pb_put32(struct pb *b, uint32_t off, uint32_t v);

/* Link layers. */
uint32_t pb_eth(struct pb *b, uint16_t type);
uint32_t pb_vlan(struct pb *b, uint16_t vid, uint16_t type);
uint32_t pb_mpls(struct pb *b, uint32_t label, int bos);
uint32_t pb_pppoe(struct pb *b, uint16_t session, uint16_t ppp_proto);
uint32_t pb_sll(struct pb *b, uint16_t proto);
uint32_t pb_sll2(struct pb *b, uint16_t proto);
/* BSD loopback header; big_endian selects DLT_LOOP order. */
uint32_t pb_null(struct pb *b, uint32_t family, int big_endian);
/* PPP header, with the ff 03 address/control bytes when addr_ctl. */
uint32_t pb_ppp(struct pb *b, uint16_t proto, int addr_ctl);
uint32_t pb_chdlc(struct pb *b, uint16_t type);

/* Network layers; addresses in text. TTL 64, IPv4 id 0x1234. */
uint32_t pb_ipv4(struct pb *b, const char *src, const char *dst, uint8_t proto);
/* IPv4 with options (optlen a multiple of 4). */
uint32_t pb_ipv4_opt(struct pb *b, const char *src, const char *dst, uint8_t proto,
                     const uint8_t *opt, uint32_t optlen);
/* Marks the IPv4 header at off as a fragment: offset in bytes (multiple of 8). */
void     pb_ipv4_frag(struct pb *b, uint32_t off, uint32_t frag_off, int more);
uint32_t pb_ipv6(struct pb *b, const char *src, const char *dst, uint8_t nh);
/* Generic extension header (hop-by-hop, routing, dest opts): (len8+1)*8 bytes. */
uint32_t pb_ipv6_ext(struct pb *b, uint8_t nh, uint8_t len8);
uint32_t pb_ipv6_frag(struct pb *b, uint8_t nh, uint32_t frag_off, int more, uint32_t id);

/* Transport layers; checksums are left zero. */
uint32_t pb_tcp(struct pb *b, uint16_t sport, uint16_t dport, uint8_t flags,
                uint32_t seq, uint32_t ack);
/* TCP with options (optlen a multiple of 4). */
uint32_t pb_tcp_opt(struct pb *b, uint16_t sport, uint16_t dport, uint8_t flags,
                    const uint8_t *opt, uint32_t optlen);
uint32_t pb_udp(struct pb *b, uint16_t sport, uint16_t dport);
uint32_t pb_icmp(struct pb *b, uint8_t type, uint8_t code);
uint32_t pb_sctp(struct pb *b, uint16_t sport, uint16_t dport);

/* Tunnels. */
uint32_t pb_gre(struct pb *b, uint16_t flags, uint16_t proto, uint32_t key, uint32_t seq);
/* PPTP enhanced GRE (version 1) with payload length filled by pb_finish(). */
uint32_t pb_gre_v1(struct pb *b, uint16_t call_id, uint32_t seq);
uint32_t pb_erspan2(struct pb *b, uint16_t session, uint16_t vlan);
uint32_t pb_erspan3(struct pb *b, uint16_t session, uint16_t vlan, int with_subhdr);
uint32_t pb_vxlan(struct pb *b, uint32_t vni);
uint32_t pb_geneve(struct pb *b, uint32_t vni, uint16_t proto, uint8_t opt_words);
/* GTP-U G-PDU; with_seq adds the optional 4 bytes. */
uint32_t pb_gtpu(struct pb *b, uint32_t teid, int with_seq);

#endif
