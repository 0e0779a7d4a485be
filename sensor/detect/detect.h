/* detect.h - the rule matcher: a parsed rule list compiled into an immutable
 * engine, run on each packet of a flow.
 *
 * detect_compile() takes a struct rule_list (rule-parse.h) and builds:
 *   - the rules in Suricata's evaluation order: pass rules first, then the
 *     rules that set flowbits (flowint, xbits) before those that set and
 *     test them, before those that only test them, then by priority (1
 *     first), then by sid;
 *   - groups: per IP protocol class (tcp, udp, icmp = ICMPv4 and ICMPv6,
 *     other) a rule goes to the buckets of each destination port it names
 *     when its dport set is small, else to the buckets of each source port
 *     when that is small, else to the class's "any port" group; a packet is
 *     checked against at most three groups (its dport, its sport, any);
 *   - per group one Hyperscan block-mode database of the rules' payload fast
 *     patterns (the content marked fast_pattern, else the longest one that
 *     is not negated); a rule is fully evaluated only when its pattern was
 *     seen in the payload. Rules with no such content are always candidates.
 * IP-only rules (protocol and addresses only: any ports, no flow keyword,
 * no content, no test but for flowbits/xbits they set - IP reputation
 * lists) are run, as in Suricata, on the first packet of each direction of
 * a flow only, so each alerts at most once per flow direction; they are
 * looked up in an address index (detect-iponly.c).
 * Nothing compiled changes afterwards, so any number of threads can share
 * an engine and a reload can swap engines (each thread then needs a new
 * struct detect_thread).
 *
 * Flow-level rules - rules on a sticky buffer (tls.sni, http.uri, ...) or an
 * application value (tls.version, ...), and rules whose only inspection is
 * ndpi-protocol / app-layer-protocol / an app-layer header - are evaluated
 * on the application-layer transactions of a flow that has a parser of
 * their kind (detect_tx(): each HTTP request and response, DNS query, TLS
 * handshake, SSH session), else once per flow, on the flow's nDPI summary,
 * on the first packet that finds the flow's DPI result final
 * (dpi_flow_result() non-NULL), or by detect_flow_end() when that
 * happens only at the flow's end. They are offered only to flows with their
 * kind of metadata (http, tls/quic, dns, ssh), and prefiltered by one
 * Hyperscan database per group, sticky buffer and transform chain over
 * the buffer as the rules transform it. Their buffers come through
 * detect_buffer_get() (detect-buffer.h) from the providers that fill them.
 * Their header and flow direction are matched against the flow's
 * orientation (initiator -> responder; responder -> initiator for
 * flow:to_client or a to_client buffer; both tried otherwise), and the
 * alert is reported with a copy of the packet turned that way, so src/dst
 * in the alert are the rule's. Each alerts at most once per flow, or once
 * per direction when its buffers are ones each side has (ssh.software,
 * http.header, ...). A matching rule makes its flowbits/xbits changes
 * (also with noalert), and bypass stops all inspection of its flow.
 *
 * Rules on an application protocol (header "http", app-layer-protocol,
 * ndpi-protocol) need the final DPI result: on packets before nDPI is done
 * they do not match. *
 * TCP payload rules and the reassembled stream (stream.h; rules/README.md,
 * "Stream reassembly", is the reference). On a TCP packet whose flow is
 * reassembled (stream_chunk() does not say STREAM_OFF), a packet rule with
 * payload contents or pcres that can apply to TCP is
 *   - a stream rule: matched against the stream only, on packets that add
 *     in-order data, over the new bytes plus as much history as a match of
 *     the rule can span (a run of contents tied by within: its span; a
 *     pcre, an unbounded distance or independent contents: all the history
 *     kept, stream.inspect-window). It matches when that window does and
 *     the window without the new bytes did not, so a match is reported
 *     once, with the packet that completed it (PKT_F_STREAM_MATCH set on
 *     the copy given to on_alert). offset/depth count from the stream's
 *     start, ^ of a pcre matches only there;
 *   - or both, when its positions are anchored to a buffer start (offset,
 *     depth, an anchored pcre, a leading relative content): each packet's
 *     payload as before, and the stream (from its start) when the packet
 *     did not match;
 *   - or packet-only with flags, dsize, ttl, ip_proto, itype/icode or
 *     flow:no_stream; flow:only_stream makes any of them stream-only.
 * Each rule is evaluated at most once per packet. Past stream.depth
 * (STREAM_STOPPED) no payload is inspected for that direction. Without
 * reassembly every rule sees the packet as before.
 * Prefilter on the stream: each packet's new data (and the few bytes a
 * fast pattern may reach back) is scanned once; stream rules whose match
 * can start before their fast pattern and whose pattern was seen are
 * remembered per flow direction (a few ranks on f->detect) while their window
 * can reach it, so the history is not scanned again; it is only when more
 * were seen than kept, or after the engine changed.
 */
#ifndef LW_DETECT_H
#define LW_DETECT_H

#include <stddef.h>
#include <stdint.h>
#include "flow-t.h"
#include "packet-t.h"
#include "rule-t.h"

struct detect_engine;
struct detect_thread;
struct threshold_ctx;

struct detect_engine_stats {
    size_t   rules;              /* rules compiled */
    size_t   groups;             /* port groups incl. the any-port ones */
    size_t   patterns;           /* fast patterns over all Hyperscan databases */
    size_t   always;             /* packet rules without a fast pattern, summed over groups */
    size_t   iponly;             /* IP-only rules, summed over groups */
    size_t   flow_level;         /* flow-level rules */
    size_t   stream;             /* payload rules that see the stream, not packets, on TCP */
    size_t   stream_both;        /* ... that see both (anchored to the buffer start) */
    size_t   stream_hist;        /* ... whose match may start before their fast pattern */
    size_t   db_bytes;           /* Hyperscan database bytes */
    uint64_t compile_usec;
};

/* Compiles rules into an engine that owns them from then on (also on
 * error: they are freed). Returns NULL with err filled when Hyperscan
 * refuses a database or memory runs out. */
struct detect_engine *detect_compile(struct rule_list *rules, char *err, size_t errlen);
void detect_engine_free(struct detect_engine *e);
size_t detect_rule_count(const struct detect_engine *e);
void detect_engine_stats(const struct detect_engine *e, struct detect_engine_stats *out);
/* The buffers e's rules inspect, RULE_BUF_BIT each (0 for e NULL): what
 * the stages before detection must fill (a file's MD5 for filemd5). */
uint64_t detect_engine_buffers(const struct detect_engine *e);

/* Reachability: every rule of e that can never match is reported to cb
 * with the reason: a rule the engine put in no list a packet or flow is
 * offered, a rule classed against what it tests (IP-only with packet
 * options, ...), a rule on a buffer no provider fills (detect-buffer.h).
 * pending is set when the only reason is a buffer or event whose
 * application-layer parser is not plugged in yet: such rules are counted
 * in *npending, the others are returned. cb may be NULL. */
typedef void (*detect_reach_fn)(void *arg, const struct rule *r, const char *why, int pending);
size_t detect_engine_check(const struct detect_engine *e, detect_reach_fn cb, void *arg, size_t *npending);

/* Per-worker scratch: Hyperscan scratch, PCRE2 match data, the candidate
 * list. NULL when out of memory. */
struct detect_thread *detect_thread_new(const struct detect_engine *e);
void detect_thread_free(struct detect_thread *t);
/* Testing and benchmarking aid: on == 0 makes every rule of a group a
 * candidate, so results can be compared with the prefilter's. */
void detect_thread_set_prefilter(struct detect_thread *t, int on);

typedef void (*detect_alert_fn)(void *arg, const struct rule *r, const struct packet *p,
                                struct flow *f);
/* An alert on an application-layer transaction: tx is the one that matched. */
struct app_tx;
typedef void (*detect_tx_alert_fn)(void *arg, const struct rule *r, const struct packet *p,
                                   struct flow *f, const struct app_tx *tx);

/* Runs every applicable rule on p (f may be NULL: flow keywords other than
 * stateless then fail and flow-level rules are not run), and stream rules
 * on the stream p extended when stream_packet() has seen p. Calls on_alert
 * for each match that threshold_check() lets through (th NULL: every
 * match), in rule order. A matching pass rule reports nothing and stops
 * later rules for this packet. Allocates only the per-flow state, once per
 * flow. */
void detect_packet(const struct detect_engine *e, struct detect_thread *t,
                   struct threshold_ctx *th, struct packet *p, struct flow *f,
                   detect_alert_fn on_alert, void *arg);

/* A packet the decoder held (a fragment kept for reassembly) or refused,
 * that carries decoder events (p->nev > 0): the pkthdr rules and the rules
 * with a decode-event run on it (decode-event:ipv6.frag_overlap on the
 * fragment that overlaps), as Suricata runs its invalid packets. p has no
 * flow (flow keywords other than stateless fail); its addresses and
 * protocol are set as far as the decoder got. */
void detect_held_packet(const struct detect_engine *e, struct detect_thread *t,
                        struct threshold_ctx *th, struct packet *p,
                        detect_alert_fn on_alert, void *arg);

/* Runs the flow-level rules of an ending flow that never had them run (its
 * DPI result became final only at its end, after dpi_flow_end(): a DNS
 * query without an answer, say). Alerts carry a packet made from the flow
 * key (no payload, ts = f->last_ts, pointers NULL). Call before
 * detect_flow_free(). */
void detect_flow_end(const struct detect_engine *e, struct detect_thread *t,
                     struct threshold_ctx *th, struct flow *f,
                     detect_alert_fn on_alert, void *arg);

/* Runs the flow-level rules on transaction tx of flow f, made by the
 * parser of proto (enum app_proto), which just moved on (app-stage.h's
 * callback): p is the packet whose data made it move (NULL at flow end: a
 * packet is made from the flow key, as by detect_flow_end()).
 *
 * The rules are those whose buffers (or values) are the parser's kind
 * (http.*, file.data, dns.*, tls.* and ja3*, ssh.*): while a flow has a parser,
 * its transactions have them and its summary does not. Each direction of
 * the transaction is inspected once its headers are done (struct
 * app_tx.progress >= APP_PROG_HEADERS): every rule of that direction
 * (to_server buffers or flow keyword: the request; to_client: the
 * response; buffers each side has: each direction in turn), its flow
 * keyword checked against the flow at packet p; after that, again each
 * time what the direction holds grows (a body, the certificates, the
 * hassh, its end), only the rules that read what grows. A rule alerts at
 * most once per transaction and direction (the matches are kept on
 * f->detect, up to DETECT_TX_MATCH_MAX per flow). The alert's packet is p
 * turned into the rule's direction; on_alert gets tx. Uses
 * tx->detect_progress[] as its bookkeeping. */
void detect_tx(const struct detect_engine *e, struct detect_thread *t, struct threshold_ctx *th,
               const struct packet *p, struct flow *f, unsigned proto, struct app_tx *tx,
               detect_tx_alert_fn on_alert, void *arg);

/* Frees what detect hung on f->detect (safe when nothing was), to the
 * slab it came from (slab.h) or to malloc. */
void detect_flow_free(struct flow *f);

/* The per-flow state of this scratch's matches comes from slab (the
 * worker's per-flow memory, slab.h); NULL (the default): from malloc. */
struct lw_slab;
void detect_thread_set_slab(struct detect_thread *t, struct lw_slab *slab);

/* geoip: fn returns the ISO 3166-1 alpha-2 code (upper case) of address a,
 * one of the packet's addresses, or NULL when unknown. f is the packet's
 * flow (NULL when it has none), so fn can answer from the countries the
 * flow was given at its start instead of looking the address up again
 * (geo_detect_country() does). Each worker gives its scratch its own
 * lookup and argument (its geolocation context); until one is set, geoip
 * rules never match. */
typedef const char *(*detect_geo_fn)(void *arg, const struct flow *f, const struct lw_addr *a);
void detect_thread_set_geo(struct detect_thread *t, detect_geo_fn fn, void *arg);

struct pii_counts;
/* For an alert callback of rule r: the counts its pii keyword found in the
 * buffer it matched (the types of r->pii_types), NULL when r has none. */
const struct pii_counts *detect_alert_pii(const struct detect_thread *t, const struct rule *r);

#endif
