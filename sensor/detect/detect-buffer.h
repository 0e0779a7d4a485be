/* detect-buffer.h - where the detection engine gets the bytes of a sticky
 * buffer: the seam between detection and whoever fills buffers.
 *
 * The engine asks detect_buffer_get() for buffer b of a packet, flow,
 * transaction and direction (index 0, 1, ... for the buffers a transaction
 * has several of: each DNS query, each certificate). Behind it is a table of
 * providers (detect-buffer.c), each declaring the buffers it fills. The
 * flow's nDPI summary (detect-ndpi.c) fills the buffers nDPI extracts once
 * per flow (tx NULL), for flows no parser took; the application-layer
 * parsers are providers of transaction buffers (tx non-NULL), one line each
 * in that table; no keyword code changes.
 *
 * Reachability follows the declarations: a rule on a buffer no provider
 * fills can never match. While no transaction provider exists for a
 * buffer's protocol such a rule is "pending" (loaded, waiting for its
 * parser); once one exists, every buffer of that protocol it does not fill
 * is an error (detect_buffer_state()).
 */
#ifndef LW_DETECT_BUFFER_H
#define LW_DETECT_BUFFER_H

#include <stddef.h>
#include <stdint.h>
#include "flow-t.h"
#include "packet-t.h"
#include "rule-t.h"

struct app_tx;

/* Bytes of one buffer, valid until the next call for the same source. */
struct detect_bytes {
    const uint8_t *data;
    uint32_t len;
    uint8_t small[24];             /* room for a provider to format a short value */
};

/* What a buffer is asked for. */
struct detect_src {
    const struct packet *p;        /* the packet being inspected; NULL at flow end */
    const struct flow   *f;        /* its flow (never NULL for a sticky buffer) */
    const struct app_tx *tx;       /* the transaction; NULL: the flow's summary */
    uint8_t dir;                   /* 0 to server (from the initiator), 1 to client */
    uint8_t proto;                 /* enum app_proto of tx (its parser's); 0 without tx */
};

/* One provider: fills the buffers in bufs (RULE_BUF_BIT). get() returns 1
 * with *out set when the source has instance index of buffer b, 0 when not
 * (an absent buffer, or index past the last instance). tx: it answers for
 * transactions (src->tx non-NULL), else for the flow's summary. event(),
 * optional, says whether app-layer event "proto.name" was seen. */
struct detect_provider {
    const char *name;
    uint8_t  tx;
    uint64_t bufs;
    int (*get)(const struct detect_src *s, unsigned b, uint32_t index, struct detect_bytes *out);
    int (*event)(const struct detect_src *s, const char *name);
    const char *events_proto;      /* the protocol whose events it reports, NULL none */
    uint32_t values;               /* bit per enum rule_value_id it gives */
    int (*value)(const struct detect_src *s, unsigned id, uint64_t *out);
};

/* Buffer b of s at index: 1 and *out set, or 0 when nothing has it. */
int detect_buffer_get(const struct detect_src *s, unsigned b, uint32_t index, struct detect_bytes *out);

/* Value id (enum rule_value_id) of s: 1 and *out set, or 0. */
int detect_value_get(const struct detect_src *s, unsigned id, uint64_t *out);

/* Whether app-layer event name ("http.invalid_...") was seen for s. */
int detect_event_seen(const struct detect_src *s, const char *name);

/* How a buffer (or the events of an application protocol) stands. */
enum detect_fill {
    DETECT_FILLED = 0,             /* a provider fills it */
    DETECT_PENDING,                /* nothing fills it yet; its protocol has no parser plugged in */
    DETECT_UNFILLED                /* its protocol's parser is plugged in and does not fill it */
};
enum detect_fill detect_buffer_state(unsigned b);
enum detect_fill detect_events_state(const char *proto);
enum detect_fill detect_value_state(unsigned id);

/* The provider table. */
const struct detect_provider *const *detect_providers(size_t *n);

/* The nDPI provider (detect-ndpi.c). */
extern const struct detect_provider detect_ndpi_provider;

/* The transaction providers of the HTTP, DNS, TLS, SSH and SMB parsers
 * (detect-app.c, detect-app.h). */
extern const struct detect_provider detect_http_provider;
extern const struct detect_provider detect_dns_provider;
extern const struct detect_provider detect_tls_provider;
extern const struct detect_provider detect_ssh_provider;
extern const struct detect_provider detect_smb_provider;
/* The FTP control and data connection parsers' (detect-app.c). */
extern const struct detect_provider detect_ftp_provider;
extern const struct detect_provider detect_ftpdata_provider;

#endif
