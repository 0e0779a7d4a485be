/* packet-t.h - the decoded packet: types only, included everywhere.
 *
 * A packet is decoded once into a struct packet whose pointers point into the
 * capture buffer (or, for a reassembled IP datagram, into the defragmenter's
 * buffer, valid until the next packet is decoded by the same worker). Nothing
 * here owns memory.
 */
#ifndef LW_PACKET_T_H
#define LW_PACKET_T_H

#include <stdint.h>

/* Deepest tunnel nesting decoded; deeper packets count tunnel.too_deep. */
#define PKT_MAX_TUNNEL_DEPTH 4
/* Most 802.1Q/802.1ad tags and MPLS labels read before giving up. */
#define PKT_MAX_VLANS 2
#define PKT_MAX_MPLS_LABELS 16
/* Decoder events kept per packet (Suricata keeps 15; a packet with more
 * than a few is rare, and they all still count). */
#define PKT_MAX_EVENTS 6

/* An IPv4 or IPv6 address. IPv4 sits in the first 4 bytes, the rest is zero,
 * so two addresses compare with memcmp over the 16 bytes plus the family. */
struct lw_addr {
    uint8_t family;          /* 4 or 6; 0 for none */
    uint8_t pad[3];
    union {
        uint8_t  b[16];
        uint32_t w[4];
    } u;
};

enum tunnel_type {
    TUNNEL_NONE = 0,
    TUNNEL_GRE,
    TUNNEL_ERSPAN,
    TUNNEL_VXLAN,
    TUNNEL_GENEVE,
    TUNNEL_IPIP,     /* IPv4-in-IPv4, IPv6-in-IPv4, IPv4-in-IPv6, IPv6-in-IPv6 */
    TUNNEL_TEREDO,
    TUNNEL_GTP,
};

/* The outermost tunnel a packet came through, kept as metadata for events. */
struct pkt_tunnel {
    uint8_t  type;           /* enum tunnel_type of the outermost tunnel */
    uint8_t  depth;          /* how many tunnel layers were removed */
    uint8_t  proto;          /* outer IP protocol (17 for VXLAN, 47 for GRE, ...) */
    uint8_t  pad;
    uint32_t id;             /* outermost id: VNI, GRE key, ERSPAN session id, GTP TEID; 0 if none */
    uint32_t key_id;         /* innermost id that is the same both ways (VNI, GRE key,
                              * ERSPAN session): the tenant, part of the flow key. GTP
                              * TEIDs and PPTP call ids differ per direction: never here */
    struct lw_addr src, dst; /* outer IP addresses */
    uint16_t sport, dport;   /* outer UDP ports, 0 if none */
};

/* Packet flags. */
#define PKT_F_REASSEMBLED   0x0001u  /* l3 points into the defragmenter's buffer */
#define PKT_F_IPV4_OPTIONS  0x0002u
#define PKT_F_IPV6_EXTHDRS  0x0004u
#define PKT_F_HAS_PORTS     0x0008u  /* sport/dport are valid (TCP, UDP, SCTP) */
#define PKT_F_TRUNCATED_L7  0x0010u  /* payload shorter on capture than on the wire */
#define PKT_F_STREAM_MATCH  0x0020u  /* an alert's packet: the rule matched the reassembled
                                      * stream this packet completed, not its own payload */

struct flow;

struct packet {
    /* Capture. */
    const uint8_t *data;     /* first byte of the frame */
    uint32_t caplen;         /* bytes captured */
    uint32_t wirelen;        /* bytes on the wire */
    uint64_t ts;             /* capture time, microseconds since the epoch */
    int      datalink;       /* DLT_* of the capture */

    /* Link layer. */
    uint16_t vlan[PKT_MAX_VLANS];   /* outer tag first; 0 when absent */
    uint8_t  vlan_count;
    uint8_t  mpls_count;
    uint16_t flags;                 /* PKT_F_* */

    struct pkt_tunnel tunnel;       /* tunnel.depth == 0: not tunnelled */

    /* Network layer (innermost IP header). */
    const uint8_t *l3;
    uint32_t l3_len;                /* captured bytes from l3 to the IP datagram end */
    uint8_t  ip_version;            /* 4 or 6 */
    uint8_t  ttl;                   /* TTL or hop limit */
    uint8_t  proto;                 /* IP protocol of the transport (after IPv6 ext hdrs) */
    uint8_t  tos;
    struct lw_addr src, dst;

    /* Transport layer. */
    const uint8_t *l4;
    uint32_t l4_len;                /* captured bytes from l4 to the datagram end */
    uint16_t sport, dport;          /* valid when PKT_F_HAS_PORTS */
    uint8_t  tcp_flags;             /* TH_* bits */
    uint8_t  icmp_type, icmp_code;
    uint8_t  pad2;
    uint32_t tcp_seq, tcp_ack;
    uint16_t tcp_win;
    uint16_t pad3;

    /* Application payload (after the transport header). */
    const uint8_t *payload;
    uint32_t payload_len;
    uint32_t pcap_cnt;              /* its frame's number in the capture files read (from 1),
                                     * 0 live: EVE's pcap_cnt (in what was padding) */

    /* Filled by the flow stage. */
    struct flow *flow;
    uint8_t  dir;                   /* 0: from the flow's initiator, 1: reply */

    /* Decoder events of this packet (enum decode_event), in the order met:
     * anomalies that did not stop decoding, for decode-event rules. Past
     * PKT_MAX_EVENTS they are still counted, not kept. In the struct's
     * tail padding: a packet is no larger for them. */
    uint8_t  nev;
    uint8_t  ev[PKT_MAX_EVENTS];
};

/* TCP flag bits as on the wire, spelt exactly as <netinet/tcp.h> (pulled in
 * by nDPI's headers) spells them, so either may be included first. */
#define TH_FIN  0x01
#define TH_SYN  0x02
#define TH_RST  0x04
#define TH_PUSH 0x08
#define TH_ACK  0x10
#define TH_URG  0x20
#define TH_PSH  TH_PUSH
#define TH_ECE  0x40
#define TH_CWR  0x80

/* Steps through the options of a TCP header, opt[0..n) (the bytes after
 * its fixed 20): returns the kind of the option at *i and sets *o to it
 * (kind, length, value) and *i past it; 0 at the end (end-of-list, or n
 * reached); -1 when an option's length is below 2 or runs past n. Shared
 * by the decoder's sanity check and the stream's timestamp reading. */
static inline int tcp_opt_next(const uint8_t *opt, uint32_t n, uint32_t *i, const uint8_t **o)
{
    uint32_t at = *i;

    if (at >= n || opt[at] == 0)
        return 0;
    *o = opt + at;
    if (opt[at] == 1) {
        *i = at + 1;
        return 1;
    }
    if (n - at < 2 || opt[at + 1] < 2 || opt[at + 1] > n - at)
        return -1;
    *i = at + opt[at + 1];
    return opt[at];
}

#endif
