/* flow-t.h - flow types, included by every stage that reads a flow. */
#ifndef LW_FLOW_T_H
#define LW_FLOW_T_H

#include <stdint.h>
#include "packet-t.h"
#include "geo-t.h"

/* The bidirectional key. Stored in the initiator's orientation (src is who
 * spoke first); lookups match either orientation. vlan and tunnel_id keep
 * tenants that reuse the same addresses apart. */
struct flow_key {
    struct lw_addr src, dst;
    uint16_t sport, dport;      /* ICMP: type/code are not ports; 0 */
    uint8_t  proto;
    uint8_t  tunnel_type;       /* enum tunnel_type, 0 if none */
    uint16_t vlan[PKT_MAX_VLANS];
    uint32_t tunnel_id;         /* the packet's tunnel.key_id (innermost VNI / GRE key /
                                 * ERSPAN session); 0 if none */
};

enum flow_tcp_state {
    FLOW_TCP_NONE = 0,          /* not TCP */
    FLOW_TCP_SYN_SENT,
    FLOW_TCP_SYN_RECV,          /* SYN-ACK seen */
    FLOW_TCP_ESTABLISHED,       /* handshake done, or picked up mid-stream with data both ways */
    FLOW_TCP_FIN_WAIT,          /* one side sent FIN */
    FLOW_TCP_CLOSED,            /* both FIN, or RST */
};

/* Timeout classes: each has its own LRU list so the head is the next to expire. */
enum flow_tclass {
    FLOW_TC_NEW = 0,            /* TCP before established, and any flow seen one way only */
    FLOW_TC_ESTABLISHED,        /* TCP established */
    FLOW_TC_CLOSED,             /* TCP FIN/RST */
    FLOW_TC_UDP,
    FLOW_TC_DEFAULT,            /* ICMP, SCTP, other IP protocols */
    FLOW_TC_MAX
};

enum flow_end_reason {
    FLOW_END_NONE = 0,
    FLOW_END_TIMEOUT,
    FLOW_END_TCP_CLOSED,        /* closed and the closed timeout passed */
    FLOW_END_EVICTED,           /* table full: emergency eviction */
    FLOW_END_SHUTDOWN,          /* still open when capture ended */
};

/* Flow flags. */
#define FLOW_F_TOCLIENT_SEEN  0x01u   /* the responder has sent at least one packet */
#define FLOW_F_MIDSTREAM      0x02u   /* TCP flow picked up without a SYN */
#define FLOW_F_TUNNEL         0x04u   /* tunnel metadata below is valid */
#define FLOW_F_ALERTED        0x08u   /* a rule alerted on this flow */

/* The flow's entries in its worker's current tally table (sensor/redis/tally.c),
 * valid while gen is the table's; so that counting a packet costs no look-up.
 * Zeroed with the flow. */
enum { TALLY_FC_APP, TALLY_FC_L4, TALLY_FC_SRC, TALLY_FC_DST, TALLY_FC_COUNTRY, TALLY_FC_MAX };
struct flow_tally {
    uint32_t gen;
    uint32_t ix[TALLY_FC_MAX];   /* entry number + 1; 0: not looked up yet */
};

struct flow {
    struct flow_key key;
    uint64_t flow_id;            /* unique per sensor run, fits a JSON number */
    uint64_t first_ts, last_ts;  /* microseconds */
    uint64_t seen;               /* capture clock (latest time of any packet so far) at this
                                  * flow's last packet: >= last_ts; timeouts count from it, so
                                  * out-of-order input (several files) still expires in order */
    uint64_t pkts[2], bytes[2];  /* [0] to server (from the initiator), [1] to client */
    uint8_t  tcp_state;          /* enum flow_tcp_state */
    uint8_t  tclass;             /* enum flow_tclass: the list it is on */
    uint8_t  end_reason;         /* enum flow_end_reason, set when it ends */
    uint8_t  flags;              /* FLOW_F_* */
    uint8_t  tcp_flags_ts, tcp_flags_tc;   /* OR of TCP flags each way */
    uint8_t  ip_version;
    uint8_t  icmp_type, icmp_code;   /* of the first packet, ICMP flows */
    uint8_t  hs_ev;              /* before stream state: STREAM_EV_* of the latest packet,
                                  * and whether an RST was taken (stream.c) */
    struct pkt_tunnel tunnel;    /* outer tunnel of the first packet */

    /* Table links (indices into the flow pool; UINT32_MAX ends a list). */
    uint32_t hnext;              /* hash chain */
    uint32_t lprev, lnext;       /* timeout-class LRU list */
    uint32_t hash;               /* symmetric hash of the key */
    struct flow_tally tally;     /* owned by sensor/redis/tally.c */

    /* Per-stage state hung on the flow by later stages. */
    void *dpi;                   /* nDPI (sensor/app/dpi.c) */
    void *detect;                /* the rule engine's per-flow marks (sensor/detect/detect.c) */
    void *app;                   /* the application-layer parser's state (sensor/app/app-stage.c) */
    struct flow_geo geo;         /* both ends geolocated once, at the flow's first packet */
    void *stream;                /* TCP reassembly (stream.c) */
};

#endif
