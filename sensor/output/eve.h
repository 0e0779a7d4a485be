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
#include "geo-summary.h"
#include "stats.h"

/* "TCP", "UDP", "ICMP", "IPv6-ICMP", "SCTP", or the number as text in buf. */
const char *eve_proto_name(uint8_t proto, char *buf, size_t buflen);
const char *eve_tunnel_type_name(uint8_t type);

/* Opens the event object and writes the common header and the flow's
 * 5-tuple, vlan and tunnel members; the caller adds its own members and closes
 * the object with eve_end(). flow may be NULL for events without one. */
void eve_begin(struct jbuf *j, uint64_t ts_usec, const char *sensor_id,
               const char *event_type, const struct flow *f);
void eve_end(struct jbuf *j);

struct geo_thread;

/* What the event builders of one thread need: the sensor id, and the
 * thread's geolocation context (NULL without the geo stage), from whose
 * database set organisations and cities are read. */
struct pii_counts;
struct eve_ctx {
    const char *sensor_id;
    const struct geo_thread *geo;
    /* For the alert being written: its rule's pii counts (detect_alert_pii()),
     * NULL when the rule has no pii keyword. */
    const struct pii_counts *pii;
    /* outputs.xff: EVE_XFF_OFF, _EXTRA (alert.xff) or _OVERWRITE (the
     * client's address); and for the alert being written, the address its
     * HTTP transaction's X-Forwarded-For gave (NULL: none). */
    int xff_mode;
    const struct lw_addr *xff;
};

#define EVE_XFF_OFF       0
#define EVE_XFF_EXTRA     1
#define EVE_XFF_OVERWRITE 2

/* Adds a stage's members (app_proto, tls{}, ...) to an open event. The geo
 * block (geo{src{country,internal,asn,org,city,lat,lon},dest{...},scope})
 * is written by eve_flow_event() and eve_alert_event() themselves for any
 * flow the geo stage has seen, after the extra members. */
typedef void (*eve_extra_fn)(struct jbuf *j, const struct flow *f);

/* A whole flow event for a flow that has just ended; extra (may be NULL)
 * adds the later stages' members before the object is closed. */
void eve_flow_event(struct jbuf *j, const struct eve_ctx *ctx, const struct flow *f, eve_extra_fn extra);
struct rule;

/* A whole alert event: rule r matched packet p of flow f. Addresses are the
 * packet's (src is who sent it), as Suricata writes them; extra adds the
 * flow's app-layer members. */
void eve_alert_event(struct jbuf *j, const struct eve_ctx *ctx, const struct rule *r,
                     const struct packet *p, const struct flow *f, eve_extra_fn extra);

/* The block of the application-layer transaction an alert matched: writes
 * its members (app_proto when extra had none, and "http": {...} or the
 * like) into the open event; arg is the caller's. */
typedef void (*eve_block_fn)(struct jbuf *j, const struct flow *f, const void *arg);

/* eve_alert_event() for a match on transaction tx_id of flow f (not NULL):
 * the event also has "tx_id", and after extra's members block's, as
 * Suricata writes an alert on a transaction (alert.http, alert.tls, ...). */
void eve_alert_tx_event(struct jbuf *j, const struct eve_ctx *ctx, const struct rule *r,
                        const struct packet *p, const struct flow *f, eve_extra_fn extra,
                        uint64_t tx_id, eve_block_fn block, const void *arg);

/* One geo_summary event: row r of finished interval s (the worker writes
 * one per row, in s->order). Times are capture time; the event's timestamp
 * is the interval's end. ASN organisations are read from ctx->geo's set. */
void eve_geo_summary_event(struct jbuf *j, const struct eve_ctx *ctx, const struct geo_summary *s,
                           const struct geo_sum_row *r);

/* A whole stats event at ts_usec: stats{} holds every counter of the
 * snapshot (stats.h), uptime first. */
void eve_stats_event(struct jbuf *j, const char *sensor_id, uint64_t ts_usec, const struct stats_snap *s);

#endif
