/* decode.h - packet decoder: link layer to application payload, through
 * VLAN/QinQ, MPLS, PPPoE, GRE/ERSPAN, VXLAN, GENEVE, IP-in-IP, Teredo and
 * GTP-U, with IPv4/IPv6 fragment reassembly.
 *
 * One struct decoder per worker; not thread-safe, needs no locks.
 */
#ifndef LW_DECODE_H
#define LW_DECODE_H

#include <stdint.h>
#include "packet-t.h"
#include "decode-t.h"
#include "defrag.h"
#include "stats.h"

/* What decode_packet() made of a frame. */
enum decode_result {
    DECODE_OK = 0,      /* an IP packet; struct packet is filled */
    DECODE_NOT_IP,      /* a well-formed frame with no IP in it (ARP, LLDP, ...): counted, no flow */
    DECODE_HELD,        /* an IP fragment kept for reassembly; nothing to process yet */
    DECODE_INVALID,     /* malformed or truncated: counted under its reason, skip it */
};

/* The decoder's counters (struct decode_stats, decode-t.h) described for stats.h. */
extern const struct stats_module decode_stats_module;

struct decoder {
    struct decode_stats stats;
    struct defrag *defrag;     /* NULL: fragments are counted and not reassembled */
    int datalink;
};

const char *decode_layer_name(enum decode_layer l);
const char *decode_event_name(enum decode_event e);

/* The event called name (as in the counters), or -1. */
int decode_event_by_name(const char *name);

/* Whether e is an anomaly that lets the packet through (kept in
 * packet.ev for decode-event rules), not a reason it was refused. */
int decode_event_keeps_packet(enum decode_event e);

/* Whether the capture link type is one the decoder reads (Ethernet, Linux
 * SLL/SLL2, raw IP, BSD null/loopback, PPP, Cisco HDLC). */
int decode_datalink_supported(int dlt);

/* Sets up a decoder for frames of link type dlt. dc is caller-owned; the
 * defragmenter is created from dcfg (NULL: no reassembly). Returns 0, or -1
 * when memory for the defragmenter cannot be had. */
int decoder_init(struct decoder *dc, int dlt, const struct defrag_config *dcfg);
void decoder_destroy(struct decoder *dc);

/* Decodes one frame into p. p's pointers point into data (or into the
 * decoder's reassembly buffer, valid until the next call). Never reads past
 * caplen. Counts layers and events into dc->stats. */
enum decode_result decode_packet(struct decoder *dc, struct packet *p,
                                 const uint8_t *data, uint32_t caplen,
                                 uint32_t wirelen, uint64_t ts_usec);

/* Ages out partial datagrams older than the timeout at capture time now. */
void decoder_expire(struct decoder *dc, uint64_t now_usec);

#endif
