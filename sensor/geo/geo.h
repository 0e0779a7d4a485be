/* geo.h - geolocation of flows with libmaxminddb, the flow's scope, and the
 * database set that can be reloaded without a restart.
 *
 * Both ends of a flow are classified once, at its first packet:
 *   - internal, without a lookup: the reserved ranges (IPv4 0/8, 10/8,
 *     100.64/10 CGNAT, 127/8, 169.254/16, 172.16/12, 192.0.0/24,
 *     192.0.2/24, 192.168/16, 198.18/15, 198.51.100/24, 203.0.113/24,
 *     224/4 multicast, 240/4; IPv6 ::, ::1, 100::/64, 2001:db8::/32,
 *     3fff::/20, fc00::/7, fe80::/10, ff00::/8, and IPv4-mapped addresses
 *     as their IPv4 address) and the configured home-net. An internal end
 *     is in the home country: its country is home-country, in events,
 *     summaries, scopes and geoip rules alike.
 *   - otherwise looked up in each configured MMDB file in turn
 *     (MMDB_MODE_MMAP, so the file is shared by every worker and the
 *     kernel's page cache): the first database with a country gives the
 *     country (MaxMind's country.iso_code, else registered_country.iso_code,
 *     else ip-location-db's flat country_code), the first with
 *     autonomous_system_number the ASN and its organisation, the first with
 *     a city or a location (city.names.en or a flat city; location.latitude
 *     or a flat latitude) the city and coordinates. GeoLite2, GeoIP2, DB-IP
 *     lite and ip-location-db files all work.
 * Lookups go through a per-worker cache (geoip.cache-size entries, direct
 * mapped, tagged with the database set so a reload empties it).
 *
 * Reload (RCU style): geo_reload() opens the new files off the hot path,
 * publishes the new set with one atomic pointer store, and queues the old
 * one; each worker picks the new set up at its next quiescent point
 * (geo_thread_quiescent(), between packets) and the old set is unmapped
 * once every registered worker has passed one. Flows keep the countries
 * and ASNs they were given; their city/organisation come from the set of
 * the moment (looked up again after a reload).
 *
 * Threads: struct geo is shared; geo_reload() and geo_reclaim() may be
 * called from any thread (they take a mutex workers never wait on). A
 * struct geo_thread belongs to one worker.
 */
#ifndef LW_GEO_H
#define LW_GEO_H

#include <stddef.h>
#include <stdint.h>
#include "geo-t.h"
#include "geo-summary.h"
#include "flow-t.h"
#include "packet-t.h"
#include "stats.h"

struct lw_config;

#define GEO_MAX_DATABASES 8

struct geo;
struct geo_thread;

/* Per worker; read by the stats event. */
struct geo_stats {
    uint64_t flows;             /* flows geolocated */
    uint64_t internal;          /* endpoints internal (no lookup) */
    uint64_t lookups;           /* database lookups (cache misses) */
    uint64_t cache_hits;
    uint64_t found;             /* lookups that gave a country */
    uint64_t set_changes;       /* database sets picked up after a reload */
};
extern const struct stats_module geo_stats_module;

/* Opens the databases at paths (already resolved; n may be 0: geolocation
 * off, scopes are then internal or external) with home-net, home-country,
 * geoip.cache-size and geoip.summary-interval from cfg. Logs what was
 * loaded, or a warning that geolocation is off. Returns NULL with a
 * one-line reason in err when a file cannot be opened or is not an MMDB
 * file, or memory runs out. */
struct geo *geo_open(const struct lw_config *cfg, const char *const *paths, size_t n,
                     char *err, size_t errlen);
/* Frees everything. Every geo_thread must have been freed before. */
void geo_close(struct geo *g);
/* Opens and closes the databases at paths, logging nothing (linkwatch -T).
 * Returns 0, or -1 with the reason in err. */
int geo_check_databases(const char *const *paths, size_t n, char *err, size_t errlen);

/* Replaces the database set with the files at paths (n may be 0). On
 * error returns -1 with err filled and the current set stays in use.
 * Returns 0 once the new set is published; the old one is freed by
 * geo_reclaim() when every worker has passed a quiescent point. */
int geo_reload(struct geo *g, const char *const *paths, size_t n, char *err, size_t errlen);
/* Frees the replaced sets no worker can still be using. Returns how many
 * are still waiting. Workers call it themselves when they switch sets. */
size_t geo_reclaim(struct geo *g);
/* Databases in the current set; reloads done. */
size_t geo_database_count(const struct geo *g);
uint64_t geo_reload_count(const struct geo *g);

/* A worker's context: its cache and summary accumulator, registered with g
 * for reclamation. Returns NULL when memory cannot be had. */
struct geo_thread *geo_thread_new(struct geo *g, unsigned worker_id);
void geo_thread_free(struct geo_thread *t);
/* A quiescent point: the worker holds nothing from the database set (call
 * between packets). Picks up a reloaded set and makes t the calling
 * thread's context for the event writers and the geoip rule keyword. */
void geo_thread_quiescent(struct geo_thread *t);
const struct geo_stats *geo_thread_stats(const struct geo_thread *t);

/* Classifies and (if not internal) looks up one address, through the
 * cache. ep is fully written; its record offsets belong to the set of
 * geo_thread_epoch(t). */
void geo_lookup(struct geo_thread *t, const struct lw_addr *a, struct geo_ep *ep);
/* The same without the cache, for benchmarks and tests. */
void geo_lookup_nocache(struct geo_thread *t, const struct lw_addr *a, struct geo_ep *ep);
uint32_t geo_thread_epoch(const struct geo_thread *t);
/* The scope of a flow whose ends are src (initiator) and dst. */
enum geo_scope geo_scope_of(const struct geo_ep *src, const struct geo_ep *dst);

/* ---- flows (worker side; now is the worker's capture time) ---- */

/* Counts packet p of flow f in the summary; on the flow's first packet
 * geolocates both ends and sets f->geo first. */
void geo_flow_packet(struct geo_thread *t, struct flow *f, const struct packet *p, uint64_t now);
/* Credits the bytes flow f sent in the open summary interval and not yet
 * credited (counted by geo_flow_packet()) to application app, nDPI's final
 * protocol name. Call it on each packet once the answer is final, and at
 * the flow's end. */
void geo_flow_app(struct geo_thread *t, struct flow *f, const char *app);
/* Counts an alert on flow f. */
void geo_flow_alert(struct geo_thread *t, struct flow *f, uint64_t now);
struct pii_counts;
/* Adds one HTTP body's personal-data counts to flow f's row: dir 0 a
 * request (initiator -> responder), 1 a response. */
void geo_flow_pii(struct geo_thread *t, struct flow *f, int dir, const struct pii_counts *c, uint64_t now);

/* ---- summary intervals (see geo-summary.h) ---- */

/* Whether the open interval ends before capture time now. */
int geo_summary_due(const struct geo_thread *t, uint64_t now);
/* Closes the open interval at capture time end and returns it (NULL when
 * it counted nothing). Read it, then call geo_summary_open(). */
const struct geo_summary *geo_summary_close(struct geo_thread *t, uint64_t end);
/* The thread's accumulator itself (for merging several workers'). */
struct geo_sum *geo_thread_sum(struct geo_thread *t);
void geo_summary_open(struct geo_thread *t);

/* ---- for event writers (on the worker's thread) ---- */

/* A string inside a database record: not NUL-terminated, valid until the
 * calling worker's next quiescent point. s is NULL when unknown. */
struct geo_str {
    const char *s;
    size_t n;
};

struct geo_detail {
    struct geo_str org, city;
    int has_loc;
    double lat, lon;
};

/* The organisation, city and coordinates of endpoint ep (address a) of a
 * flow geolocated with set epoch (compared on its low 16 bits, as flows
 * keep it), from t's database set (all unknown when t is NULL). */
void geo_ep_detail(const struct geo_thread *t, const struct geo_ep *ep, const struct lw_addr *a,
                   uint32_t epoch, struct geo_detail *d);
/* The organisation of a summary's top ASN entry, from t's set. */
struct geo_str geo_asn_org(const struct geo_thread *t, const struct geo_top_asn *e);

/* The geoip rule keyword's lookup (a detect_geo_fn; arg is the worker's
 * struct geo_thread): the country of address a, an endpoint of flow f, as
 * the flow was geolocated (internal ends: the home country); an address
 * that is not one of f's ends (or f NULL) is looked up through arg. NULL
 * when unknown. */
const char *geo_detect_country(void *arg, const struct flow *f, const struct lw_addr *a);

#endif
