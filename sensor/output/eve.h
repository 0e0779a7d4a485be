/* eve.h - builds EVE JSON events (Suricata's field names) into a jbuf.
 *
 * The builders only encode; where the line goes is the output stage's
 * business. Every event opens with timestamp, flow_id (when it has a flow),
 * sensor_id and event_type, in that order, as Suricata writes them.
 */
#ifndef LW_EVE_H
#define LW_EVE_H

#include <stdint.h>
#include "json.h"
#include "flow-t.h"
#include "flow.h"
#include "decode.h"
#include "dpi.h"
#include "geo-summary.h"

struct geo_stats;
#include "stream.h"

/* Capture counters as libpcap reports them (live) or as counted (files). */
struct capture_stats {
    uint64_t packets;        /* frames handed to the sensor */
    uint64_t bytes;
    uint64_t kernel_packets; /* ps_recv */
    uint64_t kernel_drops;   /* ps_drop */
    uint64_t kernel_ifdrops; /* ps_ifdrop */
    uint64_t files;          /* files read (offline) */
    uint64_t file_errors;    /* files refused or cut short */
};

/* Everything a stats event reports, gathered by the caller. */
struct eve_stats_src {
    uint64_t ts_usec;             /* event time (capture time offline) */
    uint64_t uptime_sec;
    const struct capture_stats *capture;
    const struct decode_stats *decode;
    const struct flow_stats *flow;
    const struct dpi_stats *dpi;  /* NULL when DPI is off */
    const struct geo_stats *geo;  /* NULL without the geo stage */
    const struct stream_stats *stream;  /* NULL when reassembly is off */
};

/* "TCP", "UDP", "ICMP", "IPv6-ICMP", "SCTP", or the number as text in buf. */
const char *eve_proto_name(uint8_t proto, char *buf, size_t buflen);
const char *eve_tunnel_type_name(uint8_t type);

/* Opens the event object and writes the common header and the flow's
 * 5-tuple, vlan and tunnel members; the caller adds its own members and closes
 * the object with eve_end(). flow may be NULL for events without one. */
void eve_begin(struct jbuf *j, uint64_t ts_usec, const char *sensor_id,
               const char *event_type, const struct flow *f);
void eve_end(struct jbuf *j);

/* Adds a stage's members (app_proto, tls{}, ...) to an open event. The geo
 * block (geo{src{country,internal,asn,org,city,lat,lon},dest{...},scope})
 * is written by eve_flow_event() and eve_alert_event() themselves for any
 * flow the geo stage has seen, after the extra members. */
typedef void (*eve_extra_fn)(struct jbuf *j, const struct flow *f);

/* A whole flow event for a flow that has just ended; extra (may be NULL)
 * adds the later stages' members before the object is closed. */
void eve_flow_event(struct jbuf *j, const char *sensor_id, const struct flow *f, eve_extra_fn extra);
struct rule;

/* A whole alert event: rule r matched packet p of flow f. Addresses are the
 * packet's (src is who sent it), as Suricata writes them; extra adds the
 * flow's app-layer members. */
void eve_alert_event(struct jbuf *j, const char *sensor_id, const struct rule *r,
                     const struct packet *p, const struct flow *f, eve_extra_fn extra);

/* One geo_summary event: row r of finished interval s (the worker writes
 * one per row, in s->order). Times are capture time; the event's timestamp
 * is the interval's end. Run on the worker's thread (ASN organisations are
 * read from its database set). */
void eve_geo_summary_event(struct jbuf *j, const char *sensor_id, const struct geo_summary *s,
                           const struct geo_sum_row *r);

/* A whole stats event. */
void eve_stats_event(struct jbuf *j, const char *sensor_id, const struct eve_stats_src *s);

#endif
