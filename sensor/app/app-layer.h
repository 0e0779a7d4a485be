/* app-layer.h - the application-layer stage's contract with its parsers.
 *
 * Between stream reassembly and detection, each flow whose protocol is known
 * (nDPI's verdict, or a probe of its first bytes) gets one parser state. The
 * stage hands the parser the bytes of each direction in order: for TCP the
 * reassembled stream (a lost stretch arrives as a gap), for UDP one datagram
 * per call. The parser turns them into transactions (an HTTP request and its
 * response, a DNS query and its answer, a TLS handshake, an SSH session's
 * banners and key exchange) and counts what it found malformed as named
 * anomaly events; it goes on after an anomaly whenever the protocol allows.
 *
 * A parser does no I/O, keeps no global state, allocates only through the
 * flow's app_mem (so app-layer.memcap bounds the whole stage), and checks
 * every read against the end of its input. Detection and EVE read its
 * transactions through the types in the parser's own header (http.h, dns.h,
 * tls.h, ssh.h); nothing in a parser knows about rules or outputs beyond
 * writing its own EVE block into a struct jbuf.
 *
 * Adding a protocol: its files under sensor/app/, one line in the table of
 * app-layer.c, its fuzz target and its unit tests.
 */
#ifndef LW_APP_LAYER_H
#define LW_APP_LAYER_H

#include <stddef.h>
#include <stdint.h>

struct jbuf;

enum app_proto {
    APP_PROTO_NONE = 0,
    APP_PROTO_HTTP,
    APP_PROTO_DNS,
    APP_PROTO_TLS,
    APP_PROTO_SSH,
    APP_PROTO_MAX
};

/* Direction of a flow's bytes: from the side that opened the flow (the
 * client), or towards it. The same numbering as struct flow's [0]/[1]. */
enum app_dir { APP_TO_SERVER = 0, APP_TO_CLIENT = 1 };

/* Flags of one parse() call. */
#define APP_IN_GAP  0x01u     /* len bytes were lost before this point; data is NULL */
#define APP_IN_EOF  0x02u     /* the direction ends here (FIN, RST, flow end); len may be 0 */
#define APP_IN_DGRAM 0x04u    /* data is one whole datagram (UDP): a message boundary on
                                 both sides. Without it the bytes are a stream (TCP). */

/* How far one direction of a transaction has come. Detection inspects
 * header buffers once a direction reaches APP_PROG_HEADERS, bodies as they
 * grow, and a direction once more when it reaches APP_PROG_DONE. */
enum app_progress {
    APP_PROG_NONE = 0,        /* nothing of this direction yet */
    APP_PROG_LINE,            /* HTTP request/status line */
    APP_PROG_HEADERS,         /* headers (a DNS message, a TLS hello, an SSH banner) complete */
    APP_PROG_BODY,            /* body data arriving */
    APP_PROG_DONE             /* this direction of the transaction will not change */
};

/* Memory of the stage, counted per worker against app-layer.memcap. A
 * parser allocates all its state through these; an allocation past the cap
 * fails (NULL), and the parser then counts its "memcap" event and drops
 * what it was building. */
struct app_mem {
    size_t used, peak, cap;
    uint64_t refused;         /* allocations refused at the cap */
};

void *app_alloc(struct app_mem *m, size_t size);
void *app_calloc(struct app_mem *m, size_t n, size_t size);
void *app_realloc(struct app_mem *m, void *p, size_t old, size_t size);
void app_free(struct app_mem *m, void *p, size_t size);

/* Limits from app-layer.* in linkwatch.yaml. */
struct app_limits {
    uint32_t max_tx;                  /* open transactions per flow; the oldest are dropped past it */
    uint64_t request_body_limit;      /* bytes of an HTTP request body kept for inspection */
    uint64_t response_body_limit;     /* bytes of a response body kept (after decompression) */
    uint64_t decompress_limit;        /* bytes one body may decompress to (bombs) */
    uint32_t max_names;               /* DNS: queries/answers kept per message */
    uint32_t max_certs;               /* TLS: certificates of a chain kept */
};

/* Every transaction starts with this header; a parser's own tx type embeds
 * it first, so detection and logging can walk any parser's transactions.
 * The parser owns the transactions and frees them in tx_free(). */
struct app_tx {
    struct app_tx *next;              /* oldest first */
    uint64_t id;                      /* 0, 1, ... per flow */
    uint8_t  progress[2];             /* enum app_progress, per enum app_dir */
    uint8_t  logged;                  /* the EVE event was written */
    uint8_t  pad;
    uint32_t detect_progress[2];      /* detection's own bookkeeping (sensor/detect) */
    uint64_t events;                  /* bit e: anomaly event e of this parser was seen in it */
};

/* A parser's transactions, oldest first. */
struct app_txlist {
    struct app_tx *head, *tail;
    uint32_t n;                       /* in the list */
    uint64_t next_id;
};

static inline void app_txlist_push(struct app_txlist *l, struct app_tx *tx)
{
    tx->next = NULL;
    tx->id = l->next_id++;
    if (l->tail)
        l->tail->next = tx;
    else
        l->head = tx;
    l->tail = tx;
    l->n++;
}

/* Removes the head; returns it (NULL when empty). */
static inline struct app_tx *app_txlist_pop(struct app_txlist *l)
{
    struct app_tx *tx = l->head;

    if (!tx)
        return NULL;
    l->head = tx->next;
    if (!l->head)
        l->tail = NULL;
    l->n--;
    tx->next = NULL;
    return tx;
}

/* Anomaly counters of one worker's stage: per protocol, per event. A
 * parser names its events in its table (struct app_parser.events), at most
 * APP_MAX_EVENTS, and counts them with app_event(). */
#define APP_MAX_EVENTS 48

struct app_stats {
    uint64_t flows[APP_PROTO_MAX];              /* flows given to each parser */
    uint64_t tx[APP_PROTO_MAX];                 /* transactions made */
    uint64_t events[APP_PROTO_MAX][APP_MAX_EVENTS];
};

/* What a parser is given with its state: the worker's memory, limits and
 * counters. Shared by every flow of one worker (no locks). */
struct app_ctx {
    struct app_mem mem;
    struct app_limits limits;
    struct app_stats stats;
};

static inline void app_event(struct app_ctx *ctx, enum app_proto p, unsigned ev, struct app_tx *tx)
{
    if (ev < APP_MAX_EVENTS) {
        ctx->stats.events[p][ev]++;
        if (tx)
            tx->events |= 1ull << ev;
    }
}

/* One protocol's parser. */
struct app_parser {
    const char *name;                 /* "http": event_type, config key app-layer.protocols.<name> */
    enum app_proto proto;
    uint8_t tcp, udp;                 /* carried over TCP, over UDP */
    const uint16_t *ports;            /* default ports (probing order, app-layer.protocols.<name>.ports) */
    size_t nports;
    const char *const *events;        /* anomaly event names: stats.app_layer.<name>.<event> */
    size_t nevents;

    /* Whether the first bytes of a direction are this protocol: 1 yes, 0 no,
     * -1 cannot tell yet (give more bytes). Looks at no more than len. */
    int (*probe)(const uint8_t *data, size_t len, enum app_dir dir);

    /* A flow's state, NULL when out of memory (counted by the caller). */
    void *(*state_new)(struct app_ctx *ctx);
    /* Frees the state and every transaction left in it. */
    void (*state_free)(struct app_ctx *ctx, void *state);

    /* Parses bytes of one direction, in order (see APP_IN_*). Returns 0, or
     * -1 when the input is beyond repair: the parser then gives up on the
     * flow (it has counted why), and is given nothing more. */
    int (*parse)(struct app_ctx *ctx, void *state, enum app_dir dir, const uint8_t *data, size_t len,
                 unsigned flags, uint64_t ts_usec);

    /* The flow's transactions, oldest first. */
    struct app_txlist *(*txs)(void *state);
    /* Frees one transaction the stage took off the list (done both ways,
     * inspected and logged, or dropped past max_tx). */
    void (*tx_free)(struct app_ctx *ctx, void *state, struct app_tx *tx);

    /* Writes the transaction's EVE block members (the caller has opened the
     * object named after the parser: "http": { ... }). */
    void (*tx_eve)(const void *state, const struct app_tx *tx, struct jbuf *jb);
};

#endif
