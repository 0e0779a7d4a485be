/* decode-int.h - decoder internals shared by the decode-*.c layer files.
 *
 * Every decode_<proto>() takes the bytes from its header to the end of what
 * is usable at that level (captured bytes, already bounded by any enclosing
 * datagram's end), checks each read against that length first, fills the
 * packet, counts its layer and hands the rest to the next layer. A refusal
 * goes through decode_fail(), which counts exactly one reason; callers only
 * pass results up, so a packet is never counted twice.
 */
#ifndef LW_DECODE_INT_H
#define LW_DECODE_INT_H

#include <stdint.h>

#include "decode.h"
#include "util.h"

/* Per-packet decoding state, on the stack of decode_packet(). */
struct dctx {
    struct decoder *dc;
    struct packet  *p;
    uint64_t ts;
    uint32_t layers;      /* bit per enum decode_layer met in this packet */
    uint8_t  depth;       /* tunnel layers removed so far */
    uint8_t  frame_tags;  /* VLAN tags read in the current Ethernet frame */
    uint8_t  nsh;         /* NSH headers removed so far (each may carry Ethernet) */
    uint8_t  snapped;     /* the bytes end before the enclosing datagram does
                           * (snap length or a first fragment): a length field
                           * past the end is then truncation, not a lie */
    uint32_t slack;       /* most bytes that can exist past the captured end:
                           * wirelen - caplen for a snap cut, unbounded past a
                           * fragment, 0 in a reassembled datagram. A length
                           * field beyond len + slack is a lie even when snapped */
};

_Static_assert(DECODE_LAYER_MAX <= 32, "layer mask is 32 bits");

static inline void decode_count(struct dctx *c, enum decode_layer l)
{
    c->layers |= 1u << l;
}

_Static_assert(DE_MAX <= 256, "a packet keeps its events in bytes");

/* Keeps ev in the packet's event list (once), for decode-event rules. */
static inline void decode_event_keep(struct packet *p, enum decode_event ev)
{
    for (uint8_t i = 0; i < p->nev; i++)
        if (p->ev[i] == (uint8_t)ev)
            return;
    if (p->nev < PKT_MAX_EVENTS)
        p->ev[p->nev++] = (uint8_t)ev;
}

/* Counts a refused packet under reason ev; returns DECODE_INVALID. */
static inline enum decode_result decode_fail(struct dctx *c, enum decode_event ev)
{
    STATS_INC(c->dc->stats.invalid);
    STATS_INC(c->dc->stats.event[ev]);
    decode_event_keep(c->p, ev);
    return DECODE_INVALID;
}

/* Counts an anomaly that does not stop decoding (a malformed TCP option
 * list, a useless IPv6 fragment header): the packet still reaches the flow
 * and detection stages, as in Suricata, so an attacker cannot hide a
 * segment behind it, and carries the event for decode-event rules. */
static inline void decode_anomaly(struct dctx *c, enum decode_event ev)
{
    STATS_INC(c->dc->stats.event[ev]);
    decode_event_keep(c->p, ev);
}

/* Whether a length field claiming want bytes from here is impossible: more
 * than the captured len plus what the wire may still hold. */
static inline int decode_len_lies(const struct dctx *c, uint32_t want, uint32_t len)
{
    return (uint64_t)want > (uint64_t)len + (c->snapped ? c->slack : 0);
}

/* decode-link.c */
enum decode_result decode_ethernet(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_sll(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_sll2(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_raw(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_null(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_ppp(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_chdlc(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_ethertype(struct dctx *c, uint16_t type,
                                    const uint8_t *b, uint32_t len);
enum decode_result decode_vlan(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_mpls(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_pppoe(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_nsh(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_ppp_proto(struct dctx *c, enum decode_event trunc,
                                    const uint8_t *b, uint32_t len);

/* decode-ip.c */
enum decode_result decode_ipv4(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_ipv6(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_ip_proto(struct dctx *c, uint8_t proto,
                                   const uint8_t *b, uint32_t len);

/* decode-l4.c */
enum decode_result decode_tcp(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_udp(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_icmpv4(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_icmpv6(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_sctp(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_l4_other(struct dctx *c, const uint8_t *b, uint32_t len);

/* decode-tunnel.c */
enum decode_result tunnel_enter(struct dctx *c, enum tunnel_type type, uint32_t id, int symmetric);
enum decode_result decode_ipip(struct dctx *c, uint8_t proto, const uint8_t *b, uint32_t len);
enum decode_result decode_gre(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_erspan2(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_erspan3(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_vxlan(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_geneve(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_teredo(struct dctx *c, const uint8_t *b, uint32_t len);
enum decode_result decode_gtp(struct dctx *c, const uint8_t *b, uint32_t len);

#endif
