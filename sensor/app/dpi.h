/* dpi.h - application identification with nDPI 4.2 (one engine per worker).
 *
 * The dpi stage runs after the flow stage. For each flow it keeps nDPI's
 * per-flow state only while detection is going on: once nDPI has a final
 * answer and has extracted the metadata it can (or the flow reached
 * max_packets, or ended), everything is copied into a compact struct
 * dpi_result and nDPI's state is freed, so long flows hold only the result.
 *
 * Memory per flow, x86-64 with nDPI 4.2, measured by tests/unit/test_dpi.c
 * through nDPI's allocator hooks on one-flow captures:
 *   while detecting: a 200-byte dpi_result plus nDPI's heap for the flow:
 *     its flow struct (688 B) alone for NTP or SSH; ~0.7-0.8 KB for HTTP
 *     (URL/UA strings); ~2 KB for QUIC; 5.5 KB for TLS (443-curl) and
 *     10.9 KB for TLS with a long certificate chain (reassembly buffer);
 *   after detection (nDPI's state freed): 200 B with no metadata, +108 B
 *     DNS, +162 B SSH, +824 B TLS/QUIC, +958 B HTTP. Fixed-size fields make
 *     an HTTP result bigger than nDPI's own HTTP state; the gain is for TLS
 *     and for every flow that lives past detection.
 * dpi_stats.state_bytes counts only the fixed 688 B per live nDPI flow.
 *
 * With a slab (dpi_config.slab) every allocation for a flow comes from it:
 * the result, nDPI's flow struct, and the strings and buffers nDPI
 * allocates while it inspects (nDPI's allocator hooks, set once for the
 * process, send them to the slab of the engine whose call is running on
 * the calling thread, and anything else to malloc).
 *
 * Not thread-safe: an engine and the flows it has seen belong to one worker.
 * Engines may be created from several threads (creation is serialised).
 */
#ifndef LW_DPI_H
#define LW_DPI_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "flow-t.h"
#include "packet-t.h"
#include "stats.h"

struct jbuf;
struct ndpi_flow_struct;
struct dpi_engine;
struct lw_slab;

#define DPI_DEFAULT_MAX_PACKETS 32

struct dpi_config {
    int         enabled;       /* 0: the engine exists but inspects nothing */
    uint32_t    max_packets;   /* packets per flow handed to nDPI; 0: the default */
    const char *protos_file;   /* nDPI protos.txt-format file; NULL or "": none */
    struct lw_slab *slab;      /* the worker's per-flow memory (slab.h): results, nDPI's
                                * flow structs and what nDPI allocates while it inspects
                                * (through its allocator hooks); NULL: malloc */
};

/* Buffer sizes, NUL included. Longer values are cut (never unterminated).
 * DPI_HOST_LEN is nDPI 4.2's own limit for host names and SNI. */
#define DPI_PROTO_LEN      64
#define DPI_APP_PROTO_LEN  24
#define DPI_CATEGORY_LEN   32
#define DPI_HOST_LEN       80
#define DPI_HASH_LEN       33      /* 32 hex digits */
#define DPI_TLS_VERSION_LEN 16
#define DPI_DN_LEN         256
#define DPI_ALPN_LEN       64
#define DPI_FINGERPRINT_LEN 60     /* SHA-1 as "aa:bb:..." */
#define DPI_URL_LEN        512
#define DPI_UA_LEN         256
#define DPI_CTYPE_LEN      96
#define DPI_METHOD_LEN     12
#define DPI_SSH_VERSION_LEN 48     /* nDPI 4.2 keeps 47 bytes of an SSH banner */

/* TLS and QUIC (QUIC carries a TLS ClientHello; only sni, version, alpn
 * and ja3 can be set for it). Empty strings and 0 times mean unknown. */
struct dpi_tls {
    char     sni[DPI_HOST_LEN];
    char     version[DPI_TLS_VERSION_LEN];   /* Suricata's spelling: "TLS 1.2", "TLSv1", "SSLv3" */
    uint16_t version_num;                    /* as on the wire, 0x0303 for TLS 1.2 */
    char     ja3[DPI_HASH_LEN];              /* client (JA3) md5 */
    char     ja3s[DPI_HASH_LEN];             /* server (JA3S) md5 */
    char     subject[DPI_DN_LEN];
    char     issuerdn[DPI_DN_LEN];
    time_t   notbefore, notafter;            /* certificate validity, UTC seconds */
    char     alpn[DPI_ALPN_LEN];             /* client's offer, comma-separated */
    char     fingerprint[DPI_FINGERPRINT_LEN];
};

struct dpi_http {
    char     hostname[DPI_HOST_LEN];
    char     url[DPI_URL_LEN];               /* request target as sent ("/a?b"), as Suricata's http.url */
    char     user_agent[DPI_UA_LEN];
    char     method[DPI_METHOD_LEN];
    char     content_type[DPI_CTYPE_LEN];    /* of the response */
    uint16_t status;                         /* 0: no response seen */
};

struct dpi_dns {
    char     rrname[DPI_HOST_LEN];           /* the query name */
    uint16_t rrtype;                         /* query type, 1 = A */
    uint8_t  rcode;                          /* valid when response is set */
    uint8_t  response;                       /* a response was seen */
    uint8_t  answers;                        /* answer count of the response */
    struct lw_addr answer;                   /* first A/AAAA answer; family 0 when none */
};

struct dpi_ssh {
    char client_version[DPI_SSH_VERSION_LEN];   /* banner, "SSH-2.0-OpenSSH_5.3" */
    char server_version[DPI_SSH_VERSION_LEN];
    char hassh_client[DPI_HASH_LEN];
    char hassh_server[DPI_HASH_LEN];
};

/* dpi_result flags */
#define DPI_F_DONE      0x01u   /* final: nDPI state freed, fields below are set */
#define DPI_F_GIVEUP    0x02u   /* nDPI found nothing by inspection and gave up */
#define DPI_F_GUESSED   0x04u   /* the protocol comes from nDPI's guess (port/IP), not inspection */
#define DPI_F_PAYLOAD   0x08u   /* at least one inspected packet carried payload */
#define DPI_F_MAXPKTS   0x10u   /* stopped at max_packets */
#define DPI_F_SERVER_FIRST 0x20u /* the first packet with payload went to the client */

/* What the dpi stage hangs on flow->dpi. Everything up to the private part
 * is read-only for other stages and valid once DPI_F_DONE is set. At most
 * one of tls/quic/http/dns/ssh is non-NULL; they point into the same block. */
struct dpi_result {
    uint16_t master_id;                  /* nDPI ids: "TLS.YouTube" is 91.124 */
    uint16_t app_id;
    uint16_t category_id;                /* ndpi_protocol_category_t */
    uint8_t  confidence;                 /* ndpi_confidence_t */
    uint8_t  flags;                      /* DPI_F_* */
    uint8_t  slot;                       /* private to dpi.c: 1 + the engine's open slot
                                          * holding its nDPI struct, 0: packed */
    uint32_t pkts;                       /* packets handed to nDPI */
    uint64_t risk;                       /* bit n set: ndpi_risk_enum n (see dpi_risk_name) */
    char     protocol[DPI_PROTO_LEN];    /* ndpi_protocol2name(): "TLS.YouTube", "Unknown" */
    /* Suricata-style: its parser name for what nDPI found by inspection
     * ("tls"), else nDPI's name in lower case ("openvpn"); "failed" when
     * inspection found nothing (a port/IP guess does not count) in a TCP/UDP
     * flow with payload; "" otherwise (no payload, not TCP/UDP). */
    char     app_proto[DPI_APP_PROTO_LEN];
    char     category[DPI_CATEGORY_LEN];
    struct dpi_tls  *tls;
    struct dpi_tls  *quic;
    struct dpi_http *http;
    struct dpi_dns  *dns;
    struct dpi_ssh  *ssh;

    /* Private to dpi.c. */
    struct ndpi_flow_struct *ndpi;       /* live nDPI state; NULL once done */
    struct dpi_engine *eng;              /* for the counters when freed */
};

struct dpi_stats {
    uint64_t pkts;              /* packets handed to nDPI */
    uint64_t flows_inspected;   /* flows given nDPI state */
    uint64_t flows_detected;    /* done with a protocol found by inspection */
    uint64_t flows_given_up;    /* done with nothing found by inspection (giveup called) */
    uint64_t flows_guessed;     /* ... of which nDPI guessed a protocol from port or address */
    uint64_t alloc_failed;      /* flows left without DPI for want of memory */
    uint64_t states_active;     /* flows holding nDPI state now */
    uint64_t state_bytes;       /* their nDPI flow structs (nDPI's own extra allocations not included) */
    uint64_t results_active;    /* dpi_result blocks held now */
    uint64_t result_bytes;      /* their bytes, metadata included */
};
extern const struct stats_module dpi_stats_module;

/* Creates an engine: an nDPI detection module with every protocol enabled,
 * the optional custom protocols file loaded, initialisation finalised.
 * cfg->enabled == 0 gives an engine that inspects nothing (no nDPI module).
 * Returns NULL, after log_error(), when nDPI cannot be set up or the
 * protocols file cannot be loaded. */
struct dpi_engine *dpi_engine_new(const struct dpi_config *cfg);
/* Frees the engine. Flows it inspected must have been freed with
 * dpi_flow_free() (or at least ended with dpi_flow_end()) before. */
void dpi_engine_free(struct dpi_engine *e);
const struct dpi_stats *dpi_engine_stats(const struct dpi_engine *e);

/* Inspects one packet of flow f (p->flow == f, p->dir set, p->l3 the
 * innermost IP header). Allocates f->dpi on the flow's first packet; once
 * the result is final, later packets cost one test. Allocation failure is
 * counted and the flow goes without DPI. */
void dpi_process(struct dpi_engine *e, struct flow *f, const struct packet *p);
/* Finishes detection of an ending flow (nDPI gives up and guesses if it has
 * no answer yet), fills the result and frees nDPI's state. The result stays
 * on f->dpi for the event writer. Idempotent. */
void dpi_flow_end(struct dpi_engine *e, struct flow *f);
/* Frees everything hung on f->dpi (nDPI state too if still live) and sets
 * it to NULL. Safe on a flow DPI never saw. */
void dpi_flow_free(struct flow *f);

/* The flow's final result, or NULL when there is none (yet). Inline: the
 * worker asks for it on every packet. */
static inline const struct dpi_result *dpi_flow_result(const struct flow *f)
{
    const struct dpi_result *r = f->dpi;

    return r && (r->flags & DPI_F_DONE) ? r : NULL;
}

/* Writes the flow's members into the open EVE object j: "app_proto",
 * "ndpi":{protocol,category,confidence,risks}, and the metadata object of
 * the flow's kind ("tls", "quic", "http", "dns" or "ssh", Suricata's
 * shapes, only fields that are known). Writes nothing for a flow without a
 * final result (call dpi_flow_end() first). */
void dpi_eve_write(struct jbuf *j, const struct flow *f);
/* Only "app_proto" and "ndpi" of dpi_eve_write(): for an event that
 * carries a transaction's own block (an alert on an HTTP request). */
void dpi_eve_summary(struct jbuf *j, const struct flow *f);

/* Suricata's app-layer name for an nDPI protocol id ("tls" for 91), or NULL
 * when Suricata has no parser for it. */
const char *dpi_app_proto_name(uint16_t ndpi_proto);
/* nDPI's name for a risk bit ("TLS Certificate Expired"); NULL out of range. */
const char *dpi_risk_name(unsigned risk);
/* "Unknown", "Match by port", "Match by IP", "DPI (cache)", "DPI". */
const char *dpi_confidence_name(uint8_t confidence);
/* Bytes of one nDPI flow struct (SIZEOF_FLOW_STRUCT). */
size_t dpi_ndpi_flow_size(void);

#endif
