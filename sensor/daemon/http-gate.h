/* http-gate.h - the listener in front of a libmicrohttpd daemon: a request
 * reaches the daemon only once it has arrived whole.
 *
 * libmicrohttpd's connection timeout counts from the last byte received, so
 * a client sending one byte every two seconds holds a connection forever,
 * and a few dozen of them keep every scrape or analyst out. The gate owns
 * the listening socket and one thread. It accepts, and looks at what each
 * connection sent (MSG_PEEK: nothing is consumed) until the request head and
 * its body (Content-Length) are all there; only then is the socket handed to
 * the daemon (MHD_add_connection), which reads the same bytes. A connection
 * whose request is not whole within the deadline is answered 408 and closed.
 *
 * Bounds: connections held at once (waiting and handed over) and per client
 * address; a newcomer finding the gate full takes the place of the oldest
 * waiting connection. The client address is the peer's, or, when the peer is
 * one of the trusted proxies, the right-most address of X-Forwarded-For that
 * is not a trusted proxy itself. Refused before the daemon sees them:
 * duplicate Content-Length headers, Content-Length with Transfer-Encoding,
 * any Transfer-Encoding (bodies must be sized), a head or body too large.
 *
 * The daemon must answer with "Connection: close" (http_gate_close_after())
 * so that each request passes the gate, and must be started with
 * MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC and MHD_OPTION_NOTIFY_CONNECTION
 * set to http_gate_notify with the gate, so it learns when a connection ends.
 */
#ifndef LW_HTTP_GATE_H
#define LW_HTTP_GATE_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

struct http_gate_config {
    unsigned max_conns;            /* held at once, waiting and handed over (<= 1024) */
    unsigned per_addr;             /* of them per client address */
    unsigned deadline_ms;          /* the whole request (head and body) within this */
    size_t max_head;               /* bytes of request line and headers */
    size_t max_body;               /* bytes of body; 0: none accepted */
    const struct lw_cidr *trusted; /* proxies whose X-Forwarded-For is believed */
    size_t ntrusted;
};

/* Why connections were turned away, and how many went through. */
struct http_gate_stats {
    uint64_t accepted;             /* handed to the daemon */
    uint64_t timeout;              /* 408: not whole within the deadline */
    uint64_t busy;                 /* 503, or evicted while waiting: the gate was full */
    uint64_t per_addr;             /* 429: too many from that client address */
    uint64_t framing;              /* 400/411: unparsable head, duplicate or conflicting lengths */
    uint64_t too_large;            /* 413/431 */
    uint64_t closed;               /* the client went away before its request was whole */
};

struct http_gate;

/* A gate for listener "host:port" (names or addresses; "[v6]:port";
 * ":port" for every IPv4 address), bound now. Returns NULL with err. */
struct http_gate *http_gate_new(const char *listen, const struct http_gate_config *c, char *err, size_t errlen);
/* Starts the thread handing requests to d. Returns 0 or -1 with err. */
int http_gate_start(struct http_gate *g, struct MHD_Daemon *d, char *err, size_t errlen);
/* Stops the thread and closes what is still waiting (call before
 * MHD_stop_daemon); then frees the gate after the daemon stopped. */
void http_gate_stop(struct http_gate *g);
void http_gate_free(struct http_gate *g);

/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the gate. */
void http_gate_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe);

/* The client address of a connection the daemon serves (see above), as
 * text into out (LW_ADDRSTRLEN bytes) and into *a when not NULL. Returns 1
 * when it came through a trusted proxy, 0 when it is the peer itself, -1
 * when the gate does not know the connection. */
int http_gate_client(struct http_gate *g, struct MHD_Connection *conn, char *out, struct lw_addr *a);

/* Adds "Connection: close" to r (every answer of a gated daemon). */
void http_gate_close_after(struct MHD_Response *r);

void http_gate_get_stats(struct http_gate *g, struct http_gate_stats *st);
/* Prometheus lines of the stats, family <prefix>_http_refused_total{reason}
 * and <prefix>_http_requests_total. */
void http_gate_prom(struct http_gate *g, const char *prefix, FILE *out);

/* Parses "a, b, c" of trusted proxies (addresses or CIDRs) into a new
 * array (*out, *n). Returns 0, or -1 with the bad entry in err. */
int http_gate_parse_cidrs(const char *text, struct lw_cidr **out, size_t *n, char *err, size_t errlen);

/* The framing checks on a request head (exposed for the unit tests): the
 * head's length including its blank line (0: not whole yet) and the
 * Content-Length (0 when none) through *head_len, *body_len. Returns 0, or
 * the HTTP status to refuse with (400, 411, 413, 431). */
int http_gate_check_head(const char *buf, size_t n, size_t max_head, size_t max_body, size_t *head_len,
                         size_t *body_len);

#endif
