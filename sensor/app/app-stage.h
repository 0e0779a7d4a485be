/* app-stage.h - the application-layer stage: one per worker, between
 * stream reassembly and detection.
 *
 * For each flow the stage picks a parser (app-layer.h), then hands it the
 * flow's bytes: for TCP the in-order data stream reassembly released for
 * each packet (lost stretches as gaps, FIN and RST as the end of a
 * direction), for UDP each datagram. The parser is picked by probing the
 * first bytes of the flow (the parsers whose ports match the flow first,
 * then the others), so an HTTP request on port 8081 is parsed as HTTP; a
 * flow no parser claims within APP_PROBE_MAX bytes each way, or whose nDPI
 * verdict names no parser's protocol by then, is left alone.
 *
 * After each parse the stage offers the flow's transactions that changed to
 * the caller's callback (detection and logging); a transaction is freed once
 * it is complete both ways and the caller marked it logged, or when its flow
 * ends. Memory is the worker's app_mem, bounded by app-layer.memcap; a flow
 * whose state cannot be had is counted and left alone.
 */
#ifndef LW_APP_STAGE_H
#define LW_APP_STAGE_H

#include <stdint.h>
#include "app-layer.h"
#include "flow-t.h"
#include "packet-t.h"
#include "stats.h"

/* Bytes of each direction looked at before giving up on finding a parser. */
#define APP_PROBE_MAX 4096u

struct app_proto_config {
    int enabled;
    const uint16_t *ports;      /* NULL: the parser's own default ports */
    size_t nports;
};

struct app_stage_config {
    uint64_t memcap;
    int no_tcp;                   /* TCP is not parsed (no stream reassembly to give it data) */
    struct app_limits limits;
    struct app_proto_config proto[APP_PROTO_MAX];
};

/* Why a transaction is offered to the callback. */
#define APP_TX_PROGRESS 0x01u   /* a direction moved on (headers done, body grew, done) */
#define APP_TX_FLOW_END 0x02u   /* the flow ends: last chance; it is freed after */

/* The caller's view of one transaction: p is the packet whose data made it
 * progress (NULL at flow end); state is the parser's flow state. */
typedef void (*app_tx_fn)(void *arg, struct flow *f, const struct packet *p, const struct app_parser *parser,
                          void *state, struct app_tx *tx, unsigned why);

struct app_stage;

/* A stage; NULL when out of memory. */
struct app_stage *app_stage_new(const struct app_stage_config *cfg);
/* The digests (APP_FILE_*) files opened from now on get besides SHA-256:
 * the ones the rules in use read. */
void app_stage_set_file_hashes(struct app_stage *s, uint32_t hashes);
void app_stage_free(struct app_stage *s);

/* Packet p of flow f, after stream_packet() saw it. */
void app_packet(struct app_stage *s, struct flow *f, const struct packet *p, app_tx_fn on_tx, void *arg);
/* The flow ends: each direction gets its end, every transaction left is
 * offered once more (APP_TX_FLOW_END), then the flow's state is freed. */
void app_flow_end(struct app_stage *s, struct flow *f, app_tx_fn on_tx, void *arg);

/* The protocol the stage parses flow f as (APP_PROTO_NONE: none yet, or none). */
enum app_proto app_flow_proto(const struct flow *f);
/* The flow's parser state and parser, NULL when none. */
void *app_flow_state(const struct flow *f, const struct app_parser **parser);

/* The parser table: the parser of proto, by name, and each in turn. */
const struct app_parser *app_parser_of(enum app_proto p);
const struct app_parser *app_parser_by_name(const char *name);

/* The stage's counters (struct app_stats, app-layer.h; stats.app_layer.*):
 * one instance per worker. The table is made from the parsers' event names
 * on first use. */
const struct stats_module *app_stats_module(void);
const struct app_stats *app_stage_stats(const struct app_stage *s);

#endif
