/* app-layer.h - the application-layer stage's contract with its parsers.
 *
 * Between stream reassembly and detection, each flow whose protocol is known
 * (nDPI's verdict, or a probe of its first bytes) gets one parser state. The
 * stage hands the parser the bytes of each direction in order: for TCP the
 * reassembled stream (a lost stretch arrives as a gap), for UDP one datagram
 * per call. The parser turns them into transactions (an HTTP request and its
 * response, a DNS query and its answer, a TLS handshake, an SSH session's
 * banners and key exchange, an SMB file read or written) and counts what it found malformed as named
 * anomaly events; it goes on after an anomaly whenever the protocol allows.
 *
 * A parser does no I/O, keeps no global state, allocates only through the
 * flow's app_mem (so app-layer.memcap bounds the whole stage), and checks
 * every read against the end of its input. Detection and EVE read its
 * transactions through the types in the parser's own header (http.h, dns.h,
 * tls.h, ssh.h, smb.h); nothing in a parser knows about rules or outputs beyond
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
    APP_PROTO_SMB,
    APP_PROTO_FTP,
    APP_PROTO_FTPDATA,
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

/* Limits from app-layer.* in linkwatch.yaml. The APP_DEFAULT_* values are
 * Suricata's defaults (suricata.yaml's libhtp default-config). */
struct app_limits {
    uint32_t max_tx;                  /* open transactions per flow; the oldest are dropped past it */
    uint64_t request_body_limit;      /* bytes of an HTTP request body kept for inspection; 0: no limit */
    uint64_t response_body_limit;     /* bytes of a response body kept (after decompression); 0: no limit */
    uint64_t request_body_inspect_min;   /* HTTP: body bytes seen before rules look at a body not */
    uint64_t response_body_inspect_min;  /* yet complete (Suricata's *-body-minimal-inspect-size) */
    uint32_t request_body_inspect_window;  /* HTTP: bytes before the new data a later look */
    uint32_t response_body_inspect_window; /* at a body sees (Suricata's *-body-inspect-window) */
    uint64_t decompress_limit;        /* bytes one body may decompress to (bombs) */
    uint32_t max_names;               /* DNS: queries/answers kept per message */
    uint32_t max_certs;               /* TLS: certificates of a chain kept */
    uint32_t decompress_layers;       /* HTTP: Content-Encoding layers decoded (0: no limit) */
    uint32_t decompress_time_usec;    /* HTTP: CPU time one body may spend decompressing */
    uint32_t field_limit;             /* HTTP: longest request/header line buffered (bytes) */
    uint32_t pii_types;               /* HTTP: personal-data types (PII_T_*) counted in every body,
                                       * whole (pii.count-always); 0: none */
    uint32_t file_hashes;             /* APP_FILE_*: digests files get besides SHA-256 */
};

/* struct app_limits.file_hashes: the digests of a complete file computed
 * besides its SHA-256 (which every file gets), because rules read them
 * (filemd5, filesha1). They are set for files opened from then on. */
#define APP_FILE_MD5  0x01u
#define APP_FILE_SHA1 0x02u

#define APP_DEFAULT_MAX_TX               512u
#define APP_DEFAULT_BODY_LIMIT           (100u * 1024)
#define APP_DEFAULT_REQUEST_INSPECT_MIN  (32u * 1024)
#define APP_DEFAULT_RESPONSE_INSPECT_MIN (40u * 1024)
#define APP_DEFAULT_REQUEST_INSPECT_WIN  (4u * 1024)
#define APP_DEFAULT_RESPONSE_INSPECT_WIN (16u * 1024)
#define APP_DEFAULT_DECOMPRESS_LIMIT     (1024u * 1024)
#define APP_DEFAULT_DECOMPRESS_LAYERS    2u
#define APP_DEFAULT_DECOMPRESS_TIME_USEC 100000u
#define APP_DEFAULT_FIELD_LIMIT          18000u
#define APP_DEFAULT_MAX_NAMES            256u     /* DNS records kept per message and section */
#define APP_DEFAULT_MAX_CERTS            16u      /* TLS certificates kept per chain */

/* A flow a parser announced (FTP's data connections): the stage keeps it
 * for APP_EXPECT_TIMEOUT_USEC, at most APP_EXPECT_MAX per worker, and a
 * TCP flow between the announcing flow's two hosts (same VLANs, tunnel)
 * to that port, opened by the side by_server says, is then parsed as proto
 * without probing, its state given data. */
struct app_expect {
    uint8_t  proto;                   /* enum app_proto of the expected flow */
    uint8_t  by_server;               /* 1: the announcing flow's server opens it (active FTP) */
    uint16_t port;                    /* the port it is opened to */
    void    *data;                    /* the expected parser's (expect_adopt, expect_free) */
};

#define APP_EXPECT_MAX           64u
#define APP_EXPECT_TIMEOUT_USEC  (60u * 1000000ull)

/* Every transaction starts with this header; a parser's own tx type embeds
 * it first, so detection and logging can walk any parser's transactions.
 * The parser owns the transactions and frees them in tx_free(). */
struct app_tx {
    struct app_tx *next;              /* oldest first */
    uint64_t id;                      /* 0, 1, ... per flow */
    uint8_t  progress[2];             /* enum app_progress, per enum app_dir */
    uint8_t  logged;                  /* APP_LOGGED_*: which EVE events were written */
    uint8_t  pad;
    uint32_t detect_progress[2];      /* detection's own bookkeeping (sensor/detect) */
    uint32_t body_inspected[2];       /* ... a body's length when its rules last ran */
    uint64_t events;                  /* bit e: anomaly event e of this parser was seen in it */
};

/* struct app_tx.logged: a per-direction event (tx_eve_dir), and the whole
 * transaction's, after which the stage may free it. A parser that logs
 * per direction sets a direction's bit itself when that direction has no
 * message to log (a DNS response without its request, a request that got
 * none), so that no event with an empty block is written. */
#define APP_LOGGED_TS 0x01u
#define APP_LOGGED_TC 0x02u
#define APP_LOGGED    0x04u

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

/* Counters of one worker's stage (stats.app_layer.*): per protocol, and per
 * protocol and anomaly event. A parser names its events in its table
 * (struct app_parser.events), at most APP_MAX_EVENTS, and counts them with
 * app_event(), and its transactions in tx[]. Written only by the worker's
 * thread, with relaxed atomic stores (stats.h), so any thread may read them. */
#define APP_MAX_EVENTS 64

struct app_stats {
    uint64_t flows[APP_PROTO_MAX][2];           /* flows given to each parser, [0] TCP [1] UDP */
    uint64_t tx[APP_PROTO_MAX];                 /* transactions made */
    uint64_t gaps[APP_PROTO_MAX];               /* stream gaps handed to a parser */
    uint64_t gave_up[APP_PROTO_MAX];            /* flows a parser gave up on (input beyond repair) */
    uint64_t alloc_failed[APP_PROTO_MAX];       /* states refused at app-layer.memcap */
    uint64_t expect[3];                         /* expected flows: announced, met, dropped
                                                 * (table full, expired, or no state) */
    uint64_t unknown[2];                        /* flows no parser claimed, TCP and UDP */
    uint64_t memuse, memuse_max;                /* the stage's memory (a copy of struct app_mem's) */
    uint64_t events[APP_PROTO_MAX][APP_MAX_EVENTS];
};

/* What a parser is given with its state: the worker's memory, limits and
 * counters. Shared by every flow of one worker (no locks). */
struct app_ctx {
    struct app_mem mem;
    struct app_limits limits;
    struct app_stats stats;
    /* What a parser keeps per worker (HTTP: the libhtp configuration built
     * from limits), made by the parser on first use, freed by its ctx_free(). */
    void *parser_ctx[APP_PROTO_MAX];
};

static inline void app_event(struct app_ctx *ctx, enum app_proto p, unsigned ev, struct app_tx *tx)
{
    if (ev < APP_MAX_EVENTS) {
        __atomic_store_n(&ctx->stats.events[p][ev], ctx->stats.events[p][ev] + 1, __ATOMIC_RELAXED);
        if (tx)
            tx->events |= 1ull << ev;
    }
}

/* The names a transaction carries that analysts count per time bucket
 * (the Redis tallies' top HTTP hosts, DNS query names and TLS SNIs). */
enum app_name_kind { APP_NAME_HTTP_HOST, APP_NAME_DNS_QUERY, APP_NAME_TLS_SNI };
typedef void (*app_name_fn)(void *arg, enum app_name_kind kind, const uint8_t *name, size_t len);

/* One protocol's parser. */
struct pii_counts;

struct app_parser {
    const char *name;                 /* "http": event_type, config key app-layer.protocols.<name> */
    enum app_proto proto;
    uint8_t tcp, udp;                 /* carried over TCP, over UDP */
    uint8_t port_only;                /* probed only on its ports (elsewhere nDPI's verdict
                                       * names it): its first bytes look like others' (FTP's
                                       * 220 greeting is SMTP's too) */
    const uint16_t *ports;            /* default ports (probing order, app-layer.protocols.<name>.ports) */
    size_t nports;
    const char *const *events;        /* anomaly event names: stats.app_layer.<name>.<event> */
    size_t nevents;

    /* Whether the first bytes of a direction are this protocol: 1 yes, 0 no,
     * -1 cannot tell yet (give more bytes). Looks at no more than len. */
    int (*probe)(const uint8_t *data, size_t len, enum app_dir dir);

    /* Frees what the parser keeps in ctx->parser_ctx[proto] (NULL: it keeps
     * nothing). Called at worker end, and when the limits change, after every
     * state of this parser in the worker is freed. */
    void (*ctx_free)(struct app_ctx *ctx);

    /* A flow's state, NULL when out of memory (counted by the caller). */
    void *(*state_new)(struct app_ctx *ctx);
    /* Frees the state and every transaction left in it. */
    void (*state_free)(struct app_ctx *ctx, void *state);

    /* Parses bytes of one direction, in order (see APP_IN_*). Returns 0, or
     * -1 when the input is beyond repair: the parser then gives up on the
     * flow (it has counted why), and is given nothing more. A call may free
     * transactions past limits.max_tx, and buffers a parser hands out may
     * move when their transaction grows: hold no pointer across calls. */
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

    /* Optional: when set, a transaction is logged one event per direction,
     * as each is done (DNS: the request and the response, as Suricata's
     * version-3 log), with this writing that direction's block members;
     * tx_eve is then not used for events. */
    void (*tx_eve_dir)(const void *state, const struct app_tx *tx, enum app_dir dir, struct jbuf *jb);

    /* Optional: the members of EVE's "fileinfo" object for the
     * transaction's file i (0 to nfiles - 1: HTTP's request and response
     * bodies); returns 0, writing nothing, when it has no file i. */
    int (*tx_file_eve)(const struct app_tx *tx, unsigned i, struct jbuf *jb);
    unsigned nfiles;

    /* Optional: EVE's event type and block name when they are not name
     * (ftp-data logs "ftp_data"). */
    const char *eve_name;

    /* Optional: takes one flow the parser announced (struct app_expect)
     * since the last call: 1 with *out set, its data the caller's now; 0
     * when there is none. */
    int (*expect_take)(void *state, struct app_expect *out);
    /* Optional, on an expected flow's parser: gives a new state the data
     * of the expectation the flow met (it owns it from then on). */
    void (*expect_adopt)(struct app_ctx *ctx, void *state, void *data);
    /* Frees the data of an expectation that was never met. */
    void (*expect_free)(struct app_ctx *ctx, void *data);

    /* Optional: calls fn for each name of the transaction that is counted
     * (enum app_name_kind), once the transaction is done. */
    void (*tx_names)(const void *state, const struct app_tx *tx, app_name_fn fn, void *arg);

    /* Optional: the value of the transaction's request header name (any
     * case; a repeated header once, its values joined by ", "), *len its
     * length; NULL when it has none. Valid until the next parse call. The
     * alert's X-Forwarded-For (outputs.xff) comes from here. */
    const uint8_t *(*tx_request_header)(const struct app_tx *tx, const char *name, size_t *len);

    /* Optional: the personal data counted in the transaction's body in dir
     * (limits.pii_types), final once that direction is done or the flow
     * ends. Returns 0, leaving *out alone, when no body byte was counted. */
    int (*tx_pii)(const struct app_tx *tx, enum app_dir dir, struct pii_counts *out);
};

/* The EVE event type and block name of a parser's transactions. */
static inline const char *app_eve_name(const struct app_parser *ap)
{
    return ap->eve_name ? ap->eve_name : ap->name;
}

#endif
