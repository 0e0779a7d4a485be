/* http.c - the HTTP/1.x parser: libhtp 0.5 glue (configuration, callbacks,
 * feeding both directions); see http.h. Buffers, bodies and files are in
 * http-tx.c, the EVE writers in http-eve.c. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http-int.h"
#include "stats.h"

static const char *const http_event_names[HTTP_EV_MAX] = {
    [HTTP_EV_UNKNOWN_ERROR] = "unknown_error",
    [HTTP_EV_GZIP_DECOMPRESSION_FAILED] = "gzip_decompression_failed",
    [HTTP_EV_REQUEST_FIELD_MISSING_COLON] = "request_field_missing_colon",
    [HTTP_EV_RESPONSE_FIELD_MISSING_COLON] = "response_field_missing_colon",
    [HTTP_EV_INVALID_REQUEST_CHUNK_LEN] = "invalid_request_chunk_len",
    [HTTP_EV_INVALID_RESPONSE_CHUNK_LEN] = "invalid_response_chunk_len",
    [HTTP_EV_INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST] = "invalid_transfer_encoding_value_in_request",
    [HTTP_EV_INVALID_CONTENT_LENGTH_FIELD_IN_REQUEST] = "invalid_content_length_field_in_request",
    [HTTP_EV_INVALID_CONTENT_LENGTH_FIELD_IN_RESPONSE] = "invalid_content_length_field_in_response",
    [HTTP_EV_DUPLICATE_CONTENT_LENGTH_FIELD_IN_REQUEST] = "duplicate_content_length_field_in_request",
    [HTTP_EV_DUPLICATE_CONTENT_LENGTH_FIELD_IN_RESPONSE] = "duplicate_content_length_field_in_response",
    [HTTP_EV_100_CONTINUE_ALREADY_SEEN] = "100_continue_already_seen",
    [HTTP_EV_UNABLE_TO_MATCH_RESPONSE_TO_REQUEST] = "unable_to_match_response_to_request",
    [HTTP_EV_REQUEST_HEADER_INVALID] = "request_header_invalid",
    [HTTP_EV_RESPONSE_HEADER_INVALID] = "response_header_invalid",
    [HTTP_EV_MISSING_HOST_HEADER] = "missing_host_header",
    [HTTP_EV_HOST_HEADER_AMBIGUOUS] = "host_header_ambiguous",
    [HTTP_EV_INVALID_REQUEST_FIELD_FOLDING] = "invalid_request_field_folding",
    [HTTP_EV_INVALID_RESPONSE_FIELD_FOLDING] = "invalid_response_field_folding",
    [HTTP_EV_REQUEST_FIELD_TOO_LONG] = "request_field_too_long",
    [HTTP_EV_RESPONSE_FIELD_TOO_LONG] = "response_field_too_long",
    [HTTP_EV_REQUEST_LINE_INVALID] = "request_line_invalid",
    [HTTP_EV_REQUEST_BODY_UNEXPECTED] = "request_body_unexpected",
    [HTTP_EV_REQUEST_URI_HOST_INVALID] = "request_uri_host_invalid",
    [HTTP_EV_REQUEST_HEADER_HOST_INVALID] = "request_header_host_invalid",
    [HTTP_EV_REQUEST_AUTH_UNRECOGNIZED] = "request_auth_unrecognized",
    [HTTP_EV_REQUEST_HEADER_REPETITION] = "request_header_repetition",
    [HTTP_EV_RESPONSE_HEADER_REPETITION] = "response_header_repetition",
    [HTTP_EV_URI_DELIM_NON_COMPLIANT] = "uri_delim_non_compliant",
    [HTTP_EV_METHOD_DELIM_NON_COMPLIANT] = "method_delim_non_compliant",
    [HTTP_EV_REQUEST_LINE_LEADING_WHITESPACE] = "request_line_leading_whitespace",
    [HTTP_EV_TOO_MANY_ENCODING_LAYERS] = "too_many_encoding_layers",
    [HTTP_EV_ABNORMAL_CE_HEADER] = "abnormal_ce_header",
    [HTTP_EV_RESPONSE_MULTIPART_BYTERANGES] = "response_multipart_byteranges",
    [HTTP_EV_RESPONSE_ABNORMAL_TRANSFER_ENCODING] = "response_abnormal_transfer_encoding",
    [HTTP_EV_RESPONSE_CHUNKED_OLD_PROTO] = "response_chunked_old_proto",
    [HTTP_EV_RESPONSE_INVALID_PROTOCOL] = "response_invalid_protocol",
    [HTTP_EV_RESPONSE_INVALID_STATUS] = "response_invalid_status",
    [HTTP_EV_REQUEST_LINE_INCOMPLETE] = "request_line_incomplete",
    [HTTP_EV_COMPRESSION_BOMB] = "compression_bomb",
    [HTTP_EV_REQUEST_LINE_MISSING_PROTOCOL] = "request_line_missing_protocol",
    [HTTP_EV_REQUEST_TOO_MANY_HEADERS] = "request_too_many_headers",
    [HTTP_EV_RESPONSE_TOO_MANY_HEADERS] = "response_too_many_headers",
    [HTTP_EV_FILE_NAME_TOO_LONG] = "file_name_too_long",
    [HTTP_EV_MEMCAP] = "memcap",
    [HTTP_EV_TOO_MANY_TRANSACTIONS] = "too_many_transactions",
    [HTTP_EV_GAP] = "gap",
    [HTTP_EV_PENDING_OVERFLOW] = "pending_overflow",
};

/* libhtp 0.5.42's log messages, by prefix, as Suricata maps them (its
 * htp_errors/htp_warnings tables), with the wording of this libhtp
 * version where it changed. -1: not a traffic anomaly (our own use of the
 * API; "gap" is counted where the gap is handed over). */
static const struct {
    const char *prefix;
    int ev;
} http_messages[] = {
    { "GZip decompressor:", HTTP_EV_GZIP_DECOMPRESSION_FAILED },
    { "Request field invalid: colon missing", HTTP_EV_REQUEST_FIELD_MISSING_COLON },
    { "Response field invalid: missing colon", HTTP_EV_RESPONSE_FIELD_MISSING_COLON },
    { "Request chunk encoding: Invalid chunk length", HTTP_EV_INVALID_REQUEST_CHUNK_LEN },
    { "Response chunk encoding: Invalid chunk length", HTTP_EV_INVALID_RESPONSE_CHUNK_LEN },
    { "Invalid C-L field in response", HTTP_EV_INVALID_CONTENT_LENGTH_FIELD_IN_RESPONSE },
    { "Already seen 100-Continue", HTTP_EV_100_CONTINUE_ALREADY_SEEN },
    { "Unable to match response to request", HTTP_EV_UNABLE_TO_MATCH_RESPONSE_TO_REQUEST },
    { "Request buffer over", HTTP_EV_REQUEST_FIELD_TOO_LONG },
    { "Response the buffer limit", HTTP_EV_RESPONSE_FIELD_TOO_LONG },
    { "Request field length exceeds folded maximum", HTTP_EV_REQUEST_FIELD_TOO_LONG },
    { "Response field length exceeds folded maximum", HTTP_EV_RESPONSE_FIELD_TOO_LONG },
    { "C-T multipart/byteranges in responses not supported", HTTP_EV_RESPONSE_MULTIPART_BYTERANGES },
    { "Compression bomb:", HTTP_EV_COMPRESSION_BOMB },
    { "Request field invalid", HTTP_EV_REQUEST_HEADER_INVALID },
    { "Response field invalid", HTTP_EV_RESPONSE_HEADER_INVALID },
    { "Request header name is not a token", HTTP_EV_REQUEST_HEADER_INVALID },
    { "Response header name is not a token", HTTP_EV_RESPONSE_HEADER_INVALID },
    { "Response header value contains null", HTTP_EV_RESPONSE_HEADER_INVALID },
    { "Invalid request field folding", HTTP_EV_INVALID_REQUEST_FIELD_FOLDING },
    { "Invalid response field folding", HTTP_EV_INVALID_RESPONSE_FIELD_FOLDING },
    { "Request line: URI contains non-compliant delimiter", HTTP_EV_URI_DELIM_NON_COMPLIANT },
    { "Request line: non-compliant delimiter between Method and URI", HTTP_EV_METHOD_DELIM_NON_COMPLIANT },
    { "Request line: leading whitespace", HTTP_EV_REQUEST_LINE_LEADING_WHITESPACE },
    { "Request line: missing protocol", HTTP_EV_REQUEST_LINE_MISSING_PROTOCOL },
    { "Request line: unknown method", HTTP_EV_REQUEST_LINE_INVALID },
    { "Too many response content encoding layers", HTTP_EV_TOO_MANY_ENCODING_LAYERS },
    { "C-E gzip has abnormal value", HTTP_EV_ABNORMAL_CE_HEADER },
    { "C-E deflate has abnormal value", HTTP_EV_ABNORMAL_CE_HEADER },
    { "C-E unknown setting", HTTP_EV_ABNORMAL_CE_HEADER },
    { "Transfer-encoding has abnormal chunked value", HTTP_EV_RESPONSE_ABNORMAL_TRANSFER_ENCODING },
    { "Chunked transfer-encoding on HTTP/0.9 or HTTP/1.0", HTTP_EV_RESPONSE_CHUNKED_OLD_PROTO },
    { "Invalid response line: invalid protocol", HTTP_EV_RESPONSE_INVALID_PROTOCOL },
    { "Invalid response line: invalid response status", HTTP_EV_RESPONSE_INVALID_STATUS },
    { "Request line incomplete", HTTP_EV_REQUEST_LINE_INCOMPLETE },
    { "Unexpected request body", HTTP_EV_REQUEST_BODY_UNEXPECTED },
    { "Ambiguous request C-L value", HTTP_EV_DUPLICATE_CONTENT_LENGTH_FIELD_IN_REQUEST },
    { "Ambiguous response C-L value", HTTP_EV_DUPLICATE_CONTENT_LENGTH_FIELD_IN_RESPONSE },
    { "Too many request headers", HTTP_EV_REQUEST_TOO_MANY_HEADERS },
    { "Too many response headers", HTTP_EV_RESPONSE_TOO_MANY_HEADERS },
    { "Gaps are not allowed", -1 },
    { "Zero-length data chunks", -1 },
    { "Inbound parser is in", -1 },
    { "Outbound parser is in", -1 },
    { "Connection is already open", -1 },
    { "Request body data callback returned error", -1 },
};

static const uint16_t http_ports[] = { 80, 8080, 8000, 8008, 8081, 3128 };

/* Suricata's request methods for HTTP detection. */
static const char *const http_methods[] = {
    "GET", "PUT", "POST", "HEAD", "TRACE", "OPTIONS", "CONNECT", "DELETE", "PATCH", "PROPFIND",
    "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "CHECKOUT", "UNCHECKOUT", "CHECKIN",
    "UPDATE", "LABEL", "REPORT", "MKWORKSPACE", "MKACTIVITY", "MERGE", "INVALID", "VERSION-CONTROL",
    "BASELINE-CONTROL",
};

/* To server: a method (any case) and a space or tab; to client: "HTTP/".
 * -1 while what is there is a prefix of one of those. */
static int http_probe(const uint8_t *data, size_t len, enum app_dir dir)
{
    int maybe = 0;

    if (len == 0)
        return -1;
    if (dir == APP_TO_CLIENT) {
        if (strncasecmp((const char *)data, "HTTP/", len < 5 ? len : 5) != 0)
            return 0;
        return len < 5 ? -1 : 1;
    }
    for (size_t i = 0; i < sizeof http_methods / sizeof http_methods[0]; i++) {
        size_t k = strlen(http_methods[i]);

        if (strncasecmp((const char *)data, http_methods[i], len < k ? len : k) != 0)
            continue;
        if (len <= k)
            maybe = 1;
        else if (data[k] == ' ' || data[k] == '\t')
            return 1;
    }
    return maybe ? -1 : 0;
}

/* ------------------------------------------------------------ callbacks */

static struct http_state *state_of(htp_connp_t *connp)
{
    return htp_connp_get_user_data(connp);
}

static void drop_tx(struct http_state *st, struct http_tx *victim)
{
    struct app_tx **pp = &st->txs.head, *prev = NULL;

    while (*pp && *pp != &victim->tx) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = victim->tx.next;
    if (st->txs.tail == &victim->tx)
        st->txs.tail = prev;
    st->txs.n--;
    http_tx_release(&st->ctx->mem, victim);
}

/* Makes room under max_tx: drops the oldest transaction done both ways,
 * else the oldest (counted). */
static void make_room(struct http_state *st)
{
    uint32_t max = st->ctx->limits.max_tx;
    struct app_tx *t, *victim;

    while (max && st->txs.n >= max) {
        victim = st->txs.head;
        for (t = st->txs.head; t; t = t->next)
            if (t->progress[0] == APP_PROG_DONE && t->progress[1] == APP_PROG_DONE) {
                victim = t;
                break;
            }
        http_tx_event(st, NULL, HTTP_EV_TOO_MANY_TRANSACTIONS);
        drop_tx(st, (struct http_tx *)victim);
    }
}

/* A transaction for libhtp's htx, at the end of the list; NULL (counted)
 * when app_mem refuses. */
static struct http_tx *new_tx(struct http_state *st, htp_tx_t *htx)
{
    struct http_tx *tx;

    make_room(st);
    tx = app_calloc(&st->ctx->mem, 1, sizeof *tx);
    if (!tx) {
        http_tx_event(st, NULL, HTTP_EV_MEMCAP);
        http_tx_detach(htx);
        return NULL;
    }
    tx->status = -1;
    tx->port = -1;
    tx->htx = htx;
    for (int d = 0; d < 2; d++)
        if (st->dead[d] || st->eof[d] || st->tunnel)
            tx->tx.progress[d] = APP_PROG_DONE;
    htp_tx_set_user_data(htx, tx);
    app_txlist_push(&st->txs, &tx->tx);
    STATS_INC(st->ctx->stats.tx[APP_PROTO_HTTP]);
    return tx;
}

/* Suricata's anomalies read from libhtp's request flags. */
static void request_flags(struct http_state *st, struct http_tx *tx, const htp_tx_t *h)
{
    static const struct {
        uint64_t flag;
        int ev;
    } map[] = {
        { HTP_REQUEST_INVALID_T_E, HTTP_EV_INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST },
        { HTP_REQUEST_INVALID_C_L, HTTP_EV_INVALID_CONTENT_LENGTH_FIELD_IN_REQUEST },
        { HTP_HOST_MISSING, HTTP_EV_MISSING_HOST_HEADER },
        { HTP_HOST_AMBIGUOUS, HTTP_EV_HOST_HEADER_AMBIGUOUS },
        { HTP_HOSTU_INVALID, HTTP_EV_REQUEST_URI_HOST_INVALID },
        { HTP_HOSTH_INVALID, HTTP_EV_REQUEST_HEADER_HOST_INVALID },
    };

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (h->flags & map[i].flag)
            http_tx_event(st, tx, map[i].ev);
    if (h->request_auth_type == HTP_AUTH_UNRECOGNIZED)
        http_tx_event(st, tx, HTTP_EV_REQUEST_AUTH_UNRECOGNIZED);
    if (h->is_protocol_0_9 && h->request_method_number == HTP_M_UNKNOWN &&
        (h->request_protocol_number == HTP_PROTOCOL_INVALID || h->request_protocol_number == HTP_PROTOCOL_UNKNOWN))
        http_tx_event(st, tx, HTTP_EV_REQUEST_LINE_INVALID);
}

/* A request past max_tx transactions that libhtp has not finished is
 * refused (its request line fails, and with it the request stream), which
 * bounds libhtp's own memory, as Suricata's max-tx does in libhtp 0.5.4x. */
static int cb_req_start(htp_tx_t *htx)
{
    struct http_state *st = state_of(htx->connp);
    uint32_t max = st->ctx->limits.max_tx;

    st->req_started++;
    st->live++;
    if (max && st->live > max) {
        st->refuse = 1;
        http_tx_detach(htx);
        http_tx_event(st, NULL, HTTP_EV_TOO_MANY_TRANSACTIONS);
        return HTP_OK;
    }
    new_tx(st, htx);
    return HTP_OK;
}

static int cb_req_line(htp_tx_t *htx)
{
    struct http_state *st = state_of(htx->connp);
    struct http_tx *tx = http_tx_of(htx);

    if (st->refuse)
        return HTP_ERROR;
    if (tx) {
        tx->tx.progress[APP_TO_SERVER] = APP_PROG_LINE;
        request_flags(st, tx, htx);
    }
    return HTP_OK;
}

static int cb_req_header_data(htp_tx_data_t *d)
{
    if (d->len && d->data)
        http_raw_header(state_of(d->tx->connp), APP_TO_SERVER, d->data, d->len);
    return HTP_OK;
}

static int cb_res_header_data(htp_tx_data_t *d)
{
    if (d->len && d->data)
        http_raw_header(state_of(d->tx->connp), APP_TO_CLIENT, d->data, d->len);
    return HTP_OK;
}

static void headers_done(htp_tx_t *htx, enum app_dir dir)
{
    struct http_state *st = state_of(htx->connp);
    struct http_tx *tx = http_tx_of(htx);

    if (!tx) {
        st->raw[dir].len = 0;
        return;
    }
    http_tx_build(st, tx, dir, htx);
    if (tx->tx.progress[dir] < APP_PROG_HEADERS)
        tx->tx.progress[dir] = APP_PROG_HEADERS;
    if (dir == APP_TO_SERVER)
        request_flags(st, tx, htx);
    else if (tx->status == 101)
        tx->flags |= HTTP_TX_SWITCHED;
}

static int cb_req_headers(htp_tx_t *htx)
{
    headers_done(htx, APP_TO_SERVER);
    return HTP_OK;
}

static int cb_res_headers(htp_tx_t *htx)
{
    headers_done(htx, APP_TO_CLIENT);
    return HTP_OK;
}

static void body_data(htp_tx_data_t *d, enum app_dir dir)
{
    struct http_tx *tx = http_tx_of(d->tx);

    if (tx)
        http_body_data(state_of(d->tx->connp), tx, dir, d->tx, d->data, d->len);
}

static int cb_req_body(htp_tx_data_t *d)
{
    body_data(d, APP_TO_SERVER);
    return HTP_OK;
}

static int cb_res_body(htp_tx_data_t *d)
{
    body_data(d, APP_TO_CLIENT);
    return HTP_OK;
}

/* How a body file ends when libhtp completes its message: libhtp also
 * completes a Content-Length body cut short by the end of the stream,
 * which Suricata then logs CLOSED; we log it TRUNCATED. */
static enum app_file_state short_body(enum htp_transfer_coding_t coding, int64_t content_length, int64_t seen)
{
    if (coding == HTP_CODING_IDENTITY && content_length >= 0 && seen < content_length)
        return APP_FILE_TRUNCATED;
    return APP_FILE_CLOSED;
}

static int cb_req_complete(htp_tx_t *htx)
{
    struct http_state *st = state_of(htx->connp);
    struct http_tx *tx = http_tx_of(htx);

    if (!tx)
        return HTP_OK;
    http_tx_build(st, tx, APP_TO_SERVER, htx);       /* HTTP/0.9: no headers */
    request_flags(st, tx, htx);
    tx->tx.progress[APP_TO_SERVER] = APP_PROG_DONE;
    http_file_close(st, tx, APP_TO_SERVER,
                    short_body(htx->request_transfer_coding, htx->request_content_length, htx->request_message_len));
    return HTP_OK;
}

/* A response libhtp could not match makes its own transaction, without
 * REQUEST_START: it is ours to count and wrap. */
static int cb_res_start(htp_tx_t *htx)
{
    struct http_state *st = state_of(htx->connp);
    struct http_tx *tx;

    st->res_started++;
    if (htp_tx_get_user_data(htx) != NULL)
        return HTP_OK;
    st->live++;
    tx = new_tx(st, htx);
    if (tx) {
        tx->flags |= HTTP_TX_NO_REQUEST;
        http_tx_build(st, tx, APP_TO_SERVER, htx);
    }
    return HTP_OK;
}

static int cb_res_line(htp_tx_t *htx)
{
    struct http_tx *tx = http_tx_of(htx);

    if (tx)
        tx->tx.progress[APP_TO_CLIENT] = APP_PROG_LINE;
    return HTP_OK;
}

static int cb_res_complete(htp_tx_t *htx)
{
    struct http_state *st = state_of(htx->connp);
    struct http_tx *tx = http_tx_of(htx);

    st->res_done++;
    if (!tx)
        return HTP_OK;
    http_tx_build(st, tx, APP_TO_CLIENT, htx);       /* a body without a status line */
    tx->response_len = (uint64_t)htx->response_message_len;
    tx->tx.progress[APP_TO_CLIENT] = APP_PROG_DONE;
    http_file_close(st, tx, APP_TO_CLIENT,
                    short_body(htx->response_transfer_coding, htx->response_content_length,
                               htx->response_message_len));
    return HTP_OK;
}

/* libhtp frees its transaction after this (auto-destroy): we hold nothing
 * of it from here on. */
static int cb_tx_complete(htp_tx_t *htx)
{
    struct http_state *st = state_of(htx->connp);
    struct http_tx *tx = http_tx_of(htx);

    st->live--;
    if (tx)
        tx->htx = NULL;
    htp_tx_set_user_data(htx, NULL);
    return HTP_OK;
}

/* The transaction being parsed in st->dir. */
static struct http_tx *current_tx(struct http_state *st)
{
    return http_tx_of(st->dir == APP_TO_SERVER ? htp_connp_get_in_tx(st->connp) : htp_connp_get_out_tx(st->connp));
}

static int cb_log(htp_log_t *log)
{
    struct http_state *st = state_of(log->connp);
    struct http_tx *tx = log->tx ? http_tx_of(log->tx) : current_tx(st);
    int ev = HTTP_EV_UNKNOWN_ERROR;

    if (!log->msg)
        return HTP_OK;
    if (strncmp(log->msg, "Repetition for header", 21) == 0) {
        ev = st->dir == APP_TO_SERVER ? HTTP_EV_REQUEST_HEADER_REPETITION : HTTP_EV_RESPONSE_HEADER_REPETITION;
    } else {
        for (size_t i = 0; i < sizeof http_messages / sizeof http_messages[0]; i++)
            if (strncmp(log->msg, http_messages[i].prefix, strlen(http_messages[i].prefix)) == 0) {
                ev = http_messages[i].ev;
                break;
            }
    }
    if (ev >= 0)
        http_tx_event(st, tx, ev);
    return HTP_OK;
}

/* ------------------------------------------------------- configuration */

struct http_ctx {
    htp_cfg_t *cfg;
};

/* libhtp configured as Suricata's default: its callbacks and defaults
 * (HTPConfigSetDefaultsPhase1), then suricata.yaml's default-config
 * (personality IDS without path lower-casing, decompression layers),
 * then our limits. Transactions are freed by libhtp once complete. */
static htp_cfg_t *http_cfg_new(const struct app_limits *l)
{
    htp_cfg_t *cfg = htp_config_create();

    if (!cfg)
        return NULL;
    htp_config_register_request_start(cfg, cb_req_start);
    htp_config_register_request_line(cfg, cb_req_line);
    htp_config_register_request_header_data(cfg, cb_req_header_data);
    htp_config_register_request_headers(cfg, cb_req_headers);
    htp_config_register_request_body_data(cfg, cb_req_body);
    htp_config_register_request_complete(cfg, cb_req_complete);
    htp_config_register_response_start(cfg, cb_res_start);
    htp_config_register_response_line(cfg, cb_res_line);
    htp_config_register_response_header_data(cfg, cb_res_header_data);
    htp_config_register_response_headers(cfg, cb_res_headers);
    htp_config_register_response_body_data(cfg, cb_res_body);
    htp_config_register_response_complete(cfg, cb_res_complete);
    htp_config_register_transaction_complete(cfg, cb_tx_complete);
    htp_config_register_log(cfg, cb_log);
    htp_config_set_parse_request_cookies(cfg, 0);
    htp_config_set_plusspace_decode(cfg, HTP_DECODER_URLENCODED, 0);
    htp_config_set_request_decompression(cfg, 1);
    htp_config_set_response_decompression(cfg, 1);
    htp_config_set_lzma_layers(cfg, 0);
    htp_config_set_lzma_memlimit(cfg, 1048576);
    htp_config_set_compression_bomb_limit(cfg, l->decompress_limit ? l->decompress_limit : APP_DEFAULT_DECOMPRESS_LIMIT);
    htp_config_set_compression_time_limit(cfg, l->decompress_time_usec ? l->decompress_time_usec
                                                                        : APP_DEFAULT_DECOMPRESS_TIME_USEC);
    htp_config_set_field_limits(cfg, 9000, l->field_limit ? l->field_limit : APP_DEFAULT_FIELD_LIMIT);
    htp_config_set_number_headers_limit(cfg, 1024);
    htp_config_set_server_personality(cfg, HTP_SERVER_IDS);
    htp_config_set_convert_lowercase(cfg, HTP_DECODER_URL_PATH, 0);
    htp_config_set_response_decompression_layer_limit(cfg, (int)l->decompress_layers);
    htp_config_set_tx_auto_destroy(cfg, 1);
    return cfg;
}

void http_limits_default(struct app_limits *l)
{
    l->max_tx = APP_DEFAULT_MAX_TX;
    l->request_body_limit = APP_DEFAULT_BODY_LIMIT;
    l->response_body_limit = APP_DEFAULT_BODY_LIMIT;
    l->request_body_inspect_min = APP_DEFAULT_REQUEST_INSPECT_MIN;
    l->response_body_inspect_min = APP_DEFAULT_RESPONSE_INSPECT_MIN;
    l->request_body_inspect_window = APP_DEFAULT_REQUEST_INSPECT_WIN;
    l->response_body_inspect_window = APP_DEFAULT_RESPONSE_INSPECT_WIN;
    l->decompress_limit = APP_DEFAULT_DECOMPRESS_LIMIT;
    l->decompress_layers = APP_DEFAULT_DECOMPRESS_LAYERS;
    l->decompress_time_usec = APP_DEFAULT_DECOMPRESS_TIME_USEC;
    l->field_limit = APP_DEFAULT_FIELD_LIMIT;
}

static void http_ctx_free(struct app_ctx *ctx)
{
    struct http_ctx *hc = ctx->parser_ctx[APP_PROTO_HTTP];

    if (!hc)
        return;
    htp_config_destroy(hc->cfg);
    free(hc);
    ctx->parser_ctx[APP_PROTO_HTTP] = NULL;
}

/* The worker's libhtp configuration, made on first use from its limits
 * (not counted in app_mem: one per worker, not per flow). */
static htp_cfg_t *http_cfg(struct app_ctx *ctx)
{
    struct http_ctx *hc = ctx->parser_ctx[APP_PROTO_HTTP];

    if (hc)
        return hc->cfg;
    hc = calloc(1, sizeof *hc);
    if (!hc)
        return NULL;
    hc->cfg = http_cfg_new(&ctx->limits);
    if (!hc->cfg) {
        free(hc);
        return NULL;
    }
    ctx->parser_ctx[APP_PROTO_HTTP] = hc;
    return hc->cfg;
}

/* ----------------------------------------------------------------- state */

static void *http_state_new(struct app_ctx *ctx)
{
    htp_cfg_t *cfg = http_cfg(ctx);
    struct http_state *st;

    if (!cfg)
        return NULL;
    st = app_calloc(&ctx->mem, 1, sizeof *st);
    if (!st)
        return NULL;
    st->ctx = ctx;
    st->connp = htp_connp_create(cfg);
    if (!st->connp) {
        app_free(&ctx->mem, st, sizeof *st);
        return NULL;
    }
    st->conn = htp_connp_get_connection(st->connp);
    htp_connp_set_user_data(st->connp, st);
    htp_connp_open(st->connp, NULL, 0, NULL, 0, NULL);
    return st;
}

static void http_state_free(struct app_ctx *ctx, void *state)
{
    struct http_state *st = state;
    struct app_tx *t;

    if (!st)
        return;
    st->ctx = ctx;
    while ((t = app_txlist_pop(&st->txs)) != NULL)
        http_tx_release(&ctx->mem, (struct http_tx *)t);
    htp_connp_destroy_all(st->connp);
    for (int d = 0; d < 2; d++) {
        http_vec_free(&ctx->mem, &st->pend[d]);
        http_vec_free(&ctx->mem, &st->raw[d]);
        app_file_md_free(&st->md[d]);
    }
    app_free(&ctx->mem, st, sizeof *st);
}

static struct app_txlist *http_txs(void *state)
{
    return &((struct http_state *)state)->txs;
}

static void http_tx_free(struct app_ctx *ctx, void *state, struct app_tx *tx)
{
    (void)state;
    http_tx_release(&ctx->mem, (struct http_tx *)tx);
}

int http_state_tunnel(const void *state)
{
    return ((const struct http_state *)state)->tunnel;
}

/* --------------------------------------------------------------- feeding */

/* libhtp keeps every log message in the connection (we have counted each
 * in cb_log): free them, so a long flow does not pile them up. They were
 * made with calloc() and strdup(), as htp_conn_destroy() frees them. */
static void drain_log(struct http_state *st)
{
    htp_log_t *l;

    htp_connp_clear_error(st->connp);
    while (htp_list_size(st->conn->messages) > 0 && (l = htp_list_pop(st->conn->messages)) != NULL) {
        free((void *)l->msg);
        free(l);
    }
}

/* Ends what a direction has open: no more of it will be parsed. */
static void finish_dir(struct http_state *st, enum app_dir dir)
{
    for (struct app_tx *t = st->txs.head; t; t = t->next) {
        if (t->progress[dir] != APP_PROG_DONE)
            http_file_close(st, (struct http_tx *)t, dir, APP_FILE_TRUNCATED);
        t->progress[dir] = APP_PROG_DONE;
    }
}

static void finish_all(struct http_state *st)
{
    finish_dir(st, APP_TO_SERVER);
    finish_dir(st, APP_TO_CLIENT);
}

/* The protocol switched (CONNECT accepted and not HTTP inside, or 101):
 * mark the transaction that switched it and stop. */
static void switched(struct http_state *st)
{
    struct app_tx *t;

    st->tunnel = 1;
    for (t = st->txs.head; t; t = t->next) {
        struct http_tx *tx = (struct http_tx *)t;

        if ((tx->flags & HTTP_TX_CONNECT) && tx->status >= 200 && tx->status <= 299)
            tx->flags |= HTTP_TX_SWITCHED;
    }
    finish_all(st);
}

/* libhtp's transaction whose compressed body dir is in, or NULL. */
static htp_tx_t *compressed_body(struct http_state *st, enum app_dir dir)
{
    htp_tx_t *htx;

    if (dir == APP_TO_SERVER) {
        htx = htp_connp_get_in_tx(st->connp);
        return htx && htx->request_progress == HTP_REQUEST_BODY &&
                       htx->request_content_encoding > HTP_COMPRESSION_NONE
                   ? htx
                   : NULL;
    }
    htx = htp_connp_get_out_tx(st->connp);
    return htx && htx->response_progress == HTP_RESPONSE_BODY &&
                   htx->response_content_encoding_processing > HTP_COMPRESSION_NONE
               ? htx
               : NULL;
}

/* Turns libhtp's decompression off for the rest of htx's body in dir:
 * libhtp passes the compressed bytes through. */
static void inflate_off(htp_tx_t *htx, enum app_dir dir)
{
    if (dir == APP_TO_SERVER)
        htx->request_content_encoding = HTP_COMPRESSION_NONE;
    else
        htx->response_content_encoding_processing = HTP_COMPRESSION_NONE;
}

/* Decompression off for the rest of the compressed body dir is in when
 * nothing reads it any more (http_body_inflate_done()); the bytes libhtp
 * then passes through are ignored. */
static void inflate_check(struct http_state *st, enum app_dir dir)
{
    htp_tx_t *htx = compressed_body(st, dir);
    struct http_tx *tx = htx ? http_tx_of(htx) : NULL;

    if (tx && http_body_inflate_done(st, tx, dir))
        inflate_off(htx, dir);
}

/* Hands n bytes of dir to libhtp (data NULL: a gap of n). Returns how many
 * it consumed; with fewer than n, libhtp waits for the other direction. */
static size_t feed(struct http_state *st, enum app_dir dir, const uint8_t *data, size_t n)
{
    int r;

    st->dir = dir;
    if (data)
        inflate_check(st, dir);
    r = dir == APP_TO_SERVER ? htp_connp_req_data(st->connp, &st->now, data, n)
                             : htp_connp_res_data(st->connp, &st->now, data, n);
    st->blocked[dir] = 0;
    switch (r) {
    case HTP_STREAM_DATA_OTHER:
        st->blocked[dir] = 1;
        return dir == APP_TO_SERVER ? htp_connp_req_data_consumed(st->connp)
                                    : htp_connp_res_data_consumed(st->connp);
    case HTP_STREAM_TUNNEL:
        switched(st);
        break;
    case HTP_STREAM_ERROR:
        st->failed = 1;
        finish_all(st);
        break;
    case HTP_STREAM_CLOSED:                     /* a gap libhtp cannot skip */
    case HTP_STREAM_STOP:
        st->dead[dir] = 1;
        finish_dir(st, dir);
        break;
    default:
        break;
    }
    return n;
}

static int stopped(const struct http_state *st, enum app_dir dir)
{
    return st->tunnel || st->failed || st->dead[dir] || st->eof[dir];
}

/* A response is held back while no request waits for it and the client
 * may still send one: the stage may hand a response over before the
 * request it answers, and libhtp would then make a request-less
 * transaction of it. */
static int hold_response(const struct http_state *st)
{
    return !stopped(st, APP_TO_SERVER) && st->res_started == st->res_done && st->req_started <= st->res_started;
}

static int may_feed(const struct http_state *st, enum app_dir dir)
{
    return !stopped(st, dir) && (dir == APP_TO_SERVER || !hold_response(st));
}

/* Feeds what dir holds back. Returns whether libhtp took any of it. */
static int flush(struct http_state *st, enum app_dir dir)
{
    struct http_vec *v = &st->pend[dir];
    size_t used;

    if (v->len == 0)
        return 0;
    used = feed(st, dir, v->p, v->len);
    if (stopped(st, dir))
        used = v->len;
    if (used)
        memmove(v->p, v->p + used, v->len - used);
    v->len -= used;
    if (v->len == 0)
        http_vec_free(&st->ctx->mem, v);
    return used > 0;
}

/* Lets each direction go on while the other's progress unblocks it. */
static void settle(struct http_state *st)
{
    for (int round = 0; round < 16; round++) {
        int moved = 0;

        for (int d = 0; d < 2; d++)
            if (st->pend[d].len && may_feed(st, (enum app_dir)d))
                moved |= flush(st, (enum app_dir)d);
        if (!moved)
            break;
    }
}

/* Holds bytes of dir back from libhtp. Past HTTP_PENDING_MAX (or app_mem),
 * a held response goes to libhtp anyway; a direction libhtp blocked stops. */
static void hold(struct http_state *st, enum app_dir dir, const uint8_t *data, size_t n)
{
    int r = http_vec_add(&st->ctx->mem, &st->pend[dir], data, n, HTTP_PENDING_MAX);

    if (r == 0)
        return;
    http_tx_event(st, current_tx(st), r == -1 ? HTTP_EV_PENDING_OVERFLOW : HTTP_EV_MEMCAP);
    if (!st->blocked[dir]) {                    /* a response held for its request: let it go */
        flush(st, dir);
        if (!stopped(st, dir) && !st->pend[dir].len) {
            size_t used = feed(st, dir, data, n);

            if (used == n || stopped(st, dir) ||
                http_vec_add(&st->ctx->mem, &st->pend[dir], data + used, n - used, HTTP_PENDING_MAX) == 0)
                return;
        }
        if (stopped(st, dir))
            return;
    }
    http_vec_free(&st->ctx->mem, &st->pend[dir]);
    st->dead[dir] = 1;
    finish_dir(st, dir);
}

static void input(struct http_state *st, enum app_dir dir, const uint8_t *data, size_t n)
{
    size_t used;

    if (stopped(st, dir))
        return;
    if (st->pend[dir].len || st->blocked[dir] || !may_feed(st, dir)) {
        hold(st, dir, data, n);
    } else {
        used = feed(st, dir, data, n);
        if (used < n && !stopped(st, dir))
            hold(st, dir, data + used, n - used);
    }
    settle(st);
}

/* A gap of n in dir, in the compressed body of htx (tx its own, or NULL).
 * libhtp hands the gap to the decompressor, which gives out what it holds
 * and ends; the next compressed bytes would fail the stream. So after the
 * gap, decompression is off (libhtp passes the rest of the message through
 * and goes on after it), and the rest of the body is ignored: the body and
 * its file end at the gap, the file with gaps. */
static void gap_in_compressed(struct http_state *st, enum app_dir dir, htp_tx_t *htx, struct http_tx *tx, size_t n)
{
    htp_tx_t *cur;

    if (tx)
        tx->file[dir].gaps = 1;                 /* no sha256 for what the decompressor gives out */
    feed(st, dir, NULL, n);
    cur = dir == APP_TO_SERVER ? htp_connp_get_in_tx(st->connp) : htp_connp_get_out_tx(st->connp);
    if (cur != htx)
        htx = NULL;                             /* done with, perhaps freed */
    else
        inflate_off(htx, dir);
    if (tx)
        http_body_undecodable(st, tx, dir, htx);
}

/* n bytes of dir were lost. libhtp skips them inside a body of known
 * extent; anywhere else the direction cannot be followed any more. */
static void gap(struct http_state *st, enum app_dir dir, size_t n)
{
    htp_tx_t *htx;

    st->dir = dir;
    http_tx_event(st, current_tx(st), HTTP_EV_GAP);
    if (stopped(st, dir))
        return;
    if (st->pend[dir].len && !st->blocked[dir])
        flush(st, dir);                         /* a held response goes before the gap */
    if (stopped(st, dir))
        return;
    if (st->pend[dir].len || st->blocked[dir] || n == 0) {
        http_vec_free(&st->ctx->mem, &st->pend[dir]);
        st->dead[dir] = 1;
        finish_dir(st, dir);
        return;
    }
    if ((htx = compressed_body(st, dir)) != NULL)
        gap_in_compressed(st, dir, htx, http_tx_of(htx), n);
    else
        feed(st, dir, NULL, n);
    settle(st);
}

/* The direction ended. Held bytes go first; the client's end closes the
 * request side; the server's closes the connection (libhtp has no
 * response-only close), which ends bodies delimited by the close. */
static void eof(struct http_state *st, enum app_dir dir)
{
    if (st->eof[dir])
        return;
    if (!st->tunnel && !st->failed) {
        if (!st->dead[dir])
            flush(st, dir);
        if (dir == APP_TO_SERVER && !st->dead[APP_TO_SERVER]) {
            st->eof[APP_TO_SERVER] = 1;
            htp_connp_req_close(st->connp, &st->now);
            settle(st);                         /* held responses need no request now */
        } else if (dir == APP_TO_CLIENT && !st->dead[APP_TO_CLIENT]) {
            htp_connp_close(st->connp, &st->now);
        } else if (dir == APP_TO_CLIENT && !st->dead[APP_TO_SERVER] && !st->eof[APP_TO_SERVER]) {
            htp_connp_req_close(st->connp, &st->now);
        }
    }
    st->eof[dir] = 1;
    if (dir == APP_TO_CLIENT)
        st->eof[APP_TO_SERVER] = 1;
    finish_dir(st, dir);
    if (dir == APP_TO_CLIENT)
        finish_dir(st, APP_TO_SERVER);
}

static int http_parse(struct app_ctx *ctx, void *state, enum app_dir dir, const uint8_t *data, size_t len,
                      unsigned flags, uint64_t ts_usec)
{
    struct http_state *st = state;

    if (st->failed || (unsigned)dir > APP_TO_CLIENT)
        return -1;
    st->ctx = ctx;
    st->now.tv_sec = (time_t)(ts_usec / 1000000);
    st->now.tv_usec = (suseconds_t)(ts_usec % 1000000);
    if (flags & APP_IN_GAP)
        gap(st, dir, len);
    else if (data && len)
        input(st, dir, data, len);
    if (flags & APP_IN_EOF)
        eof(st, dir);
    drain_log(st);
    return st->failed ? -1 : 0;
}

/* A transaction's files: 0 the request body's, 1 the response body's. */
static int http_tx_file_eve(const struct app_tx *tx, unsigned i, struct jbuf *jb)
{
    const struct http_tx *t = (const struct http_tx *)tx;
    enum app_dir dir = i == 0 ? APP_TO_SERVER : APP_TO_CLIENT;

    if (i > 1 || !http_tx_file(t, dir))
        return 0;
    http_file_eve(t, dir, jb);
    return 1;
}

const struct app_parser app_parser_http = {
    .name = "http",
    .proto = APP_PROTO_HTTP,
    .tcp = 1,
    .udp = 0,
    .ports = http_ports,
    .nports = sizeof http_ports / sizeof http_ports[0],
    .events = http_event_names,
    .nevents = HTTP_EV_MAX,
    .probe = http_probe,
    .ctx_free = http_ctx_free,
    .state_new = http_state_new,
    .state_free = http_state_free,
    .parse = http_parse,
    .txs = http_txs,
    .tx_free = http_tx_free,
    .tx_eve = http_tx_eve,
    .tx_names = http_tx_names,
    .tx_request_header = http_tx_request_header,
    .tx_pii = http_tx_pii,
    .tx_file_eve = http_tx_file_eve,
    .nfiles = 2,
};
