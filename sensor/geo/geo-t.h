/* geo-t.h - geolocation types: what the geo stage keeps on each flow.
 *
 * Included by flow-t.h (every flow carries a struct flow_geo, zeroed with
 * the flow) and by the stages that read it (eve, detect, tallies).
 */
#ifndef LW_GEO_T_H
#define LW_GEO_T_H

#include <stdint.h>

/* Where a flow runs, seen from the home country. An internal endpoint
 * (a reserved range or home-net) counts as being in the home country. */
enum geo_scope {
    GEO_SCOPE_NONE = 0,         /* not classified: the flow has not been through geo */
    GEO_SCOPE_INTERNAL,         /* both ends internal */
    GEO_SCOPE_DOMESTIC,         /* both ends in the home country, not both internal */
    GEO_SCOPE_OUTBOUND,         /* home initiator -> foreign responder */
    GEO_SCOPE_INBOUND,          /* foreign initiator -> home responder */
    GEO_SCOPE_TRANSIT,          /* foreign to foreign */
    GEO_SCOPE_EXTERNAL,         /* an end outside the internal ranges whose country is unknown */
    GEO_SCOPE_MAX
};

/* geo_ep.flags */
#define GEO_EP_INTERNAL  0x01u  /* reserved range or home-net: never looked up */
#define GEO_EP_HOME      0x02u  /* in the home country (internal ones included) */
#define GEO_EP_FOREIGN   0x04u  /* geolocated outside the home country */

/* One endpoint as geolocated when its flow started. city, coordinates and
 * the AS organisation stay in the database: loc_db/org_db name the database
 * (1-based index in the set of epoch flow_geo.epoch, 0 none) and *_off the
 * record's data offset, so a flow carries 20 bytes per end, not strings. */
struct geo_ep {
    char     cc[3];             /* ISO 3166-1 alpha-2, "" when unknown; internal: the home country */
    uint8_t  flags;             /* GEO_EP_* */
    uint32_t asn;               /* 0 when unknown */
    uint32_t loc_off;           /* record holding city / location */
    uint32_t org_off;           /* record holding autonomous_system_organization */
    uint8_t  loc_db, org_db;
    uint8_t  pad[2];
};

/* flow_geo.sflags */
#define GEO_SF_COUNTED   0x01u  /* the flow was counted in a summary interval */
#define GEO_SF_HOSTS     0x02u  /* its internal ends were counted in row_gen's row */

/* On every flow (struct flow.geo), 56 bytes. The summary fields cache the
 * flow's row in the worker's current summary interval, so a packet costs no
 * lookup. */
struct flow_geo {
    struct geo_ep src, dst;     /* the flow key's src (initiator) and dst */
    uint32_t pending;           /* bytes of the row's interval not yet credited to an application */
    uint16_t epoch;             /* database set the record offsets belong to (low 16 bits) */
    uint16_t row_gen;           /* summary interval the row belongs to (0 none) */
    uint16_t row;               /* summary row, valid while row_gen is current */
    uint8_t  scope;             /* enum geo_scope */
    uint8_t  sflags;            /* GEO_SF_* */
    uint8_t  hint_ep, hint_asn, hint_app;   /* top-list slots last used */
    uint8_t  pad;
};

#endif
