/* http.h - the HTTP/1.x parser of the application-layer stage, on libhtp 0.5.
 *
 * One libhtp connection parser per flow turns the two directions into
 * transactions (a request and its response), configured as Suricata's
 * default libhtp config: personality IDS with its URI normalisation (but no
 * lower-casing of the path), double decoding off, request and response
 * bodies kept up to limits.*_body_limit, gzip/deflate response (and
 * request) bodies decompressed with limits.decompress_layers,
 * limits.decompress_limit (bombs) and limits.decompress_time_usec.
 *
 * Each transaction keeps, once its headers are done, every HTTP sticky
 * buffer a rule can name (http_tx_buffer()), built once and stored with the
 * transaction; bodies grow as they arrive (the buffer is the bytes so far)
 * and each body is also a file (name, size, sha256, state) for EVE's
 * fileinfo. libhtp's own transaction is let go as soon as it is complete.
 *
 * Directions switch protocol after a successful CONNECT (when what follows
 * is not HTTP) or a 101 response (Upgrade: websocket, h2c, ...): from then
 * on the parser ignores both directions (http_state_tunnel()).
 *
 * Lost bytes (APP_IN_GAP): libhtp 0.5.42 can skip a gap only inside a body
 * whose end it knows without reading it (Content-Length, or until close):
 * the body's file then has gaps (no sha256, as Suricata), the body buffer
 * stops before the gap, and parsing goes on. In a compressed body of that
 * kind the rest cannot be decompressed: what was decoded stays, the file
 * ends TRUNCATED with gaps, the rest of the message is skipped and parsing
 * goes on after it (libhtp alone would fail the stream). A gap anywhere
 * else (request or status line, headers, chunked body, between
 * transactions) ends the parsing of that direction: its open body is
 * truncated and later transactions in that direction are not seen. Either
 * way "gap" is counted.
 *
 * Events are counted once per transaction (stats count transactions that
 * had the anomaly), or once each when there is no transaction to hold it.
 *
 * Memory: the state, transactions, their buffers and bodies, and data held
 * for libhtp come from the worker's app_mem. libhtp's own allocations (its
 * parser, the transactions it is parsing, decompressors) cannot be routed
 * there; they are bounded by its limits (field_limit per line, 1024
 * headers, max_tx transactions in progress) and freed with the state, but
 * for one: libhtp 0.5.42 keeps a pointer slot per transaction a flow ever
 * had (8 bytes each, until the flow ends; it has no way to compact it).
 * Its log messages are counted and freed after every call. Also outside
 * app_mem: the worker's libhtp configuration, and libcrypto's digest
 * contexts (sha256, and md5 and sha1 when app_limits.file_hashes asks),
 * one each per direction of a flow once it had a body file.
 */
#ifndef LW_HTTP_H
#define LW_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "app-file.h"
#include "app-layer.h"
#include "pii.h"

struct jbuf;

extern const struct app_parser app_parser_http;

/* Anomaly events, in app_parser_http.events order: Suricata's HTTP
 * app-layer event names (rules/http-events.rules) and ours. */
enum http_event {
    HTTP_EV_UNKNOWN_ERROR,
    HTTP_EV_GZIP_DECOMPRESSION_FAILED,
    HTTP_EV_REQUEST_FIELD_MISSING_COLON,
    HTTP_EV_RESPONSE_FIELD_MISSING_COLON,
    HTTP_EV_INVALID_REQUEST_CHUNK_LEN,
    HTTP_EV_INVALID_RESPONSE_CHUNK_LEN,
    HTTP_EV_INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST,
    HTTP_EV_INVALID_CONTENT_LENGTH_FIELD_IN_REQUEST,
    HTTP_EV_INVALID_CONTENT_LENGTH_FIELD_IN_RESPONSE,
    HTTP_EV_DUPLICATE_CONTENT_LENGTH_FIELD_IN_REQUEST,
    HTTP_EV_DUPLICATE_CONTENT_LENGTH_FIELD_IN_RESPONSE,
    HTTP_EV_100_CONTINUE_ALREADY_SEEN,
    HTTP_EV_UNABLE_TO_MATCH_RESPONSE_TO_REQUEST,
    HTTP_EV_REQUEST_HEADER_INVALID,
    HTTP_EV_RESPONSE_HEADER_INVALID,
    HTTP_EV_MISSING_HOST_HEADER,
    HTTP_EV_HOST_HEADER_AMBIGUOUS,
    HTTP_EV_INVALID_REQUEST_FIELD_FOLDING,
    HTTP_EV_INVALID_RESPONSE_FIELD_FOLDING,
    HTTP_EV_REQUEST_FIELD_TOO_LONG,
    HTTP_EV_RESPONSE_FIELD_TOO_LONG,
    HTTP_EV_REQUEST_LINE_INVALID,
    HTTP_EV_REQUEST_BODY_UNEXPECTED,
    HTTP_EV_REQUEST_URI_HOST_INVALID,
    HTTP_EV_REQUEST_HEADER_HOST_INVALID,
    HTTP_EV_REQUEST_AUTH_UNRECOGNIZED,
    HTTP_EV_REQUEST_HEADER_REPETITION,
    HTTP_EV_RESPONSE_HEADER_REPETITION,
    HTTP_EV_URI_DELIM_NON_COMPLIANT,
    HTTP_EV_METHOD_DELIM_NON_COMPLIANT,
    HTTP_EV_REQUEST_LINE_LEADING_WHITESPACE,
    HTTP_EV_TOO_MANY_ENCODING_LAYERS,
    HTTP_EV_ABNORMAL_CE_HEADER,
    HTTP_EV_RESPONSE_MULTIPART_BYTERANGES,
    HTTP_EV_RESPONSE_ABNORMAL_TRANSFER_ENCODING,
    HTTP_EV_RESPONSE_CHUNKED_OLD_PROTO,
    HTTP_EV_RESPONSE_INVALID_PROTOCOL,
    HTTP_EV_RESPONSE_INVALID_STATUS,
    HTTP_EV_REQUEST_LINE_INCOMPLETE,
    HTTP_EV_COMPRESSION_BOMB,
    HTTP_EV_REQUEST_LINE_MISSING_PROTOCOL,
    HTTP_EV_REQUEST_TOO_MANY_HEADERS,
    HTTP_EV_RESPONSE_TOO_MANY_HEADERS,
    HTTP_EV_FILE_NAME_TOO_LONG,
    /* ours */
    HTTP_EV_MEMCAP,                   /* an allocation refused at app-layer.memcap */
    HTTP_EV_TOO_MANY_TRANSACTIONS,    /* max_tx reached: a transaction dropped, or requests refused */
    HTTP_EV_GAP,                      /* bytes lost in the stream */
    HTTP_EV_PENDING_OVERFLOW,         /* more than HTTP_PENDING_MAX held while libhtp waited */
    HTTP_EV_MAX
};

/* Bytes of one direction held while libhtp waits for the other (CONNECT,
 * a response before its request). */
#define HTTP_PENDING_MAX (64u * 1024)
/* Longest file name kept (Suricata's limit); longer ones are cut. */
#define HTTP_FILENAME_MAX 1024u

/* The sticky buffers of a transaction. Each is one direction's: the first
 * block is the request's (to server), the second the response's. Suricata
 * keywords that exist in both directions (http.header, http.start, ...)
 * are two entries; http_buf_lookup() maps a keyword and a direction. */
enum http_buf {
    HTTP_BUF_URI,                     /* http.uri: path?query#fragment normalised (query url-decoded) */
    HTTP_BUF_URI_RAW,                 /* http.uri.raw: the request target as sent */
    HTTP_BUF_METHOD,                  /* http.method */
    HTTP_BUF_PROTOCOL,                /* http.protocol (request) */
    HTTP_BUF_REQUEST_LINE,            /* http.request_line */
    HTTP_BUF_HOST,                    /* http.host: lower case, no port */
    HTTP_BUF_HOST_RAW,                /* http.host.raw: the URI's host, else the Host header */
    HTTP_BUF_HEADER,                  /* http.header: "Name: value\r\n" each, without Cookie */
    HTTP_BUF_HEADER_RAW,              /* http.header.raw: the header block as sent, blank line included */
    HTTP_BUF_HEADER_NAMES,            /* http.header_names: "\r\nName\r\n...\r\n\r\n" */
    HTTP_BUF_START,                   /* http.start: request line, CRLF, every header, CRLF */
    HTTP_BUF_COOKIE,                  /* http.cookie: the Cookie header */
    HTTP_BUF_USER_AGENT,              /* http.user_agent */
    HTTP_BUF_REFERER,                 /* http.referer */
    HTTP_BUF_ACCEPT,                  /* http.accept */
    HTTP_BUF_ACCEPT_LANG,             /* http.accept_lang */
    HTTP_BUF_ACCEPT_ENC,              /* http.accept_enc */
    HTTP_BUF_CONNECTION,              /* http.connection (request) */
    HTTP_BUF_CONTENT_TYPE,            /* http.content_type (request) */
    HTTP_BUF_CONTENT_LEN,             /* http.content_len (request) */
    HTTP_BUF_REQUEST_BODY,            /* http.request_body: dechunked, up to the limit, as it grows */
    HTTP_BUF_STAT_CODE,               /* http.stat_code */
    HTTP_BUF_STAT_MSG,                /* http.stat_msg */
    HTTP_BUF_RESPONSE_LINE,           /* http.response_line */
    HTTP_BUF_RESPONSE_PROTOCOL,       /* http.protocol (response) */
    HTTP_BUF_SERVER,                  /* http.server */
    HTTP_BUF_LOCATION,                /* http.location */
    HTTP_BUF_RESPONSE_HEADER,         /* http.header (response), without Set-Cookie */
    HTTP_BUF_RESPONSE_HEADER_RAW,     /* http.header.raw (response) */
    HTTP_BUF_RESPONSE_HEADER_NAMES,   /* http.header_names (response) */
    HTTP_BUF_RESPONSE_START,          /* http.start (response) */
    HTTP_BUF_SET_COOKIE,              /* http.cookie (response): Set-Cookie */
    HTTP_BUF_RESPONSE_CONNECTION,     /* http.connection (response) */
    HTTP_BUF_RESPONSE_CONTENT_TYPE,   /* http.content_type (response) */
    HTTP_BUF_RESPONSE_CONTENT_LEN,    /* http.content_len (response) */
    HTTP_BUF_RESPONSE_BODY,           /* http.response_body: dechunked, decompressed, up to the limit */
    HTTP_BUF_FILE_DATA,               /* file.data / file_data to client: the response body */
    HTTP_BUF_MAX
};
#define HTTP_BUF_FIRST_RESPONSE HTTP_BUF_STAT_CODE

/* Transaction flags (struct http_tx.flags). */
#define HTTP_TX_CONNECT       0x01u   /* a CONNECT request */
#define HTTP_TX_UPGRADE       0x02u   /* the request asked to Upgrade (websocket, h2c, ...) */
#define HTTP_TX_SWITCHED      0x04u   /* the protocol switched after it (CONNECT 2xx, 101) */
#define HTTP_TX_NO_REQUEST    0x08u   /* a response libhtp could not match to a request */
#define HTTP_TX_OVER_LIMIT    0x10u   /* refused: libhtp already had max_tx transactions open */
#define HTTP_TX_UNDECODABLE_REQ 0x20u /* the rest of the compressed request body is not decoded: a gap in
                                       * it, or nothing reads it (past the body limit, no pii count) */
#define HTTP_TX_UNDECODABLE_RES 0x40u /* the same in the response body */

/* The bytes of a stored buffer; p NULL when absent. */
struct http_bytes {
    const uint8_t *p;
    uint32_t len;
};

struct http_body {
    uint8_t *data;                    /* kept bytes, up to the body limit */
    uint32_t len, cap;
    uint64_t seen;                    /* body bytes seen (dechunked, decompressed) */
    uint8_t  truncated;               /* more than the limit arrived, or memory ran out */
    uint8_t  gap;                     /* a gap ended what is kept */
    uint8_t  ready;                   /* rules may look before it ends: the minimal inspect
                                       * size was seen, or it stopped growing (limit, gap) */
    uint32_t window;                  /* the direction's inspect window (app_limits) */
};

/* http_tx.pii_on: a body's personal-data count. */
#define PII_BODY_TEXT   1u            /* counting: its first bytes are text */
#define PII_BODY_BINARY 2u            /* not counted: binary, or a script, style sheet or media type */

struct http_tx {
    struct app_tx tx;                 /* first: the stage's view */
    void *htx;                        /* libhtp's transaction while it parses it */
    uint32_t flags;                   /* HTTP_TX_* */
    int32_t  status;                  /* response status number, -1 none or invalid */
    int32_t  port;                    /* port of the Host header or URI, -1 none */
    uint64_t response_len;            /* response message length (EVE "length") */
    struct http_bytes buf[HTTP_BUF_MAX];
    struct http_bytes path;           /* normalised URI path (file names) */
    struct http_bytes upgrade;        /* request's Upgrade header */
    struct http_bytes cd_name;        /* response's Content-Disposition filename */
    struct http_bytes content_range;  /* response's Content-Range header */
    uint8_t *arena[2];                /* one allocation per direction holds its buffers */
    uint32_t arena_len[2];
    struct http_body body[2];         /* [APP_TO_SERVER] request, [APP_TO_CLIENT] response */
    struct app_file file[2];          /* each body's (app-file.h): named by the response's
                                       * Content-Disposition filename, else the URI path;
                                       * sized up to the body limit */
    uint8_t pii_on[2];                /* PII_BODY_*: pii[dir] counts that body (app_limits.pii_types) */
    struct pii_stream pii[2];         /* the personal data of each whole body, counted as it
                                       * arrives (decoded, past the body limit too) */
};

/* A stored buffer of tx. Returns 1 and sets *p, *len (len may be 0 for a
 * header sent empty) when the buffer exists by now, 0 when it does not
 * (yet): its direction's headers are not done, or the header is absent, or
 * no body byte arrived. The bytes stay valid until the next parse() or
 * tx_free() of the transaction's flow. */
int http_tx_buffer(const struct http_tx *tx, enum http_buf b, const uint8_t **p, uint32_t *len);

/* Whether rules may look at tx's body in dir: it is complete, or has
 * reached its minimal inspect size, or stopped growing. */
int http_tx_body_ready(const struct http_tx *tx, enum app_dir dir);

/* Where a later look at tx's body in dir starts, inspected bytes having
 * been looked at before (0: the whole body), as Suricata's inspect
 * window: at least the window's bytes before the end, and a quarter of it
 * before the new data. */
uint32_t http_tx_body_window(const struct http_tx *tx, enum app_dir dir, uint32_t inspected);

/* The direction a buffer belongs to. */
enum app_dir http_buf_dir(enum http_buf b);
/* Suricata's keyword for a buffer ("http.uri", "http.header", ...). */
const char *http_buf_name(enum http_buf b);
/* The buffer a rule keyword names in a direction: the sticky buffers
 * ("http.uri", "http_uri", "file.data", ...) and the legacy content
 * modifiers ("http_client_body", "http_raw_header", ...). Returns -1 for a
 * keyword that is not an HTTP buffer, or none in that direction. */
int http_buf_lookup(const char *keyword, enum app_dir dir);

/* app_parser.tx_pii: the personal data counted in tx's body in dir. */
int http_tx_pii(const struct app_tx *tx, enum app_dir dir, struct pii_counts *out);

/* The file of a body in direction dir, NULL when that body had none. A
 * file whose state is APP_FILE_OPEN is still growing. */
const struct app_file *http_tx_file(const struct http_tx *tx, enum app_dir dir);

/* Writes the members of EVE's "fileinfo" object for tx's body in dir
 * (filename, gaps, state, md5, sha1 and sha256 when complete, stored false,
 * size, tx_id),
 * as Suricata does; nothing when there is no file. */
void http_file_eve(const struct http_tx *tx, enum app_dir dir, struct jbuf *jb);

/* Writes "request_headers" (dir APP_TO_SERVER) or "response_headers": an
 * array of {"name", "value"} of every header, as Suricata's http logger
 * does with dump-all-headers (not written by tx_eve, as in Suricata's
 * default configuration). Nothing when the headers are not done. */
void http_eve_headers(const struct http_tx *tx, enum app_dir dir, struct jbuf *jb);

/* Sets the limits HTTP reads (max_tx, body, decompression and field limits)
 * to their APP_DEFAULT_* values, Suricata's defaults; leaves the others. */
void http_limits_default(struct app_limits *l);

/* Whether the flow's HTTP stopped because the protocol switched (CONNECT
 * tunnel, 101 Switching Protocols): the bytes that follow are not HTTP. */
int http_state_tunnel(const void *state);

#endif
