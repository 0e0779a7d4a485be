/* detect-app.c - the transaction buffer providers: the sticky buffers,
 * values and app-layer events of the transactions the application-layer
 * parsers make (HTTP, DNS, TLS, SSH, SMB, FTP, ftp-data), one provider
 * per parser (detect-buffer.h). Each answers only for a source whose transaction is
 * of its protocol (struct detect_src.proto); the bytes it hands out are the
 * parser's, valid until the parser next runs on the flow. */
#include <string.h>

#include "app-stage.h"
#include "detect-app.h"
#include "dns.h"
#include "ftp.h"
#include "http.h"
#include "rule-buffers.h"
#include "smb.h"
#include "ssh.h"
#include "tls.h"

static int set_out(struct detect_bytes *out, const uint8_t *p, uint32_t n)
{
    out->data = p;
    out->len = n;
    return 1;
}

/* The buffer a rule buffer reads in the direction it is asked for: its own
 * direction for a one-sided buffer (http.uri in a rule that also reads the
 * response), the source's for one each side has (http.header). */
static uint8_t pick_dir(unsigned b, uint8_t dir)
{
    uint8_t d = rule_buffer_info(b)->dir;

    return d == RULE_DIR_TOSERVER ? APP_TO_SERVER : d == RULE_DIR_TOCLIENT ? APP_TO_CLIENT : (dir & 1);
}

/* ---------------------------------------------------------------- HTTP */

/* Rule buffer -> the parser's buffer for the request and for the response
 * (-1: none on that side). */
static const int8_t http_map[RULE_BUF_COUNT][2] = {
    [RULE_BUF_HTTP_URI] = { HTTP_BUF_URI, -1 },
    [RULE_BUF_HTTP_URI_RAW] = { HTTP_BUF_URI_RAW, -1 },
    [RULE_BUF_HTTP_METHOD] = { HTTP_BUF_METHOD, -1 },
    [RULE_BUF_HTTP_HOST] = { HTTP_BUF_HOST, -1 },
    [RULE_BUF_HTTP_HOST_RAW] = { HTTP_BUF_HOST_RAW, -1 },
    [RULE_BUF_HTTP_USER_AGENT] = { HTTP_BUF_USER_AGENT, -1 },
    [RULE_BUF_HTTP_REQUEST_LINE] = { HTTP_BUF_REQUEST_LINE, -1 },
    [RULE_BUF_HTTP_HEADER] = { HTTP_BUF_HEADER, HTTP_BUF_RESPONSE_HEADER },
    [RULE_BUF_HTTP_HEADER_RAW] = { HTTP_BUF_HEADER_RAW, HTTP_BUF_RESPONSE_HEADER_RAW },
    [RULE_BUF_HTTP_HEADER_NAMES] = { HTTP_BUF_HEADER_NAMES, HTTP_BUF_RESPONSE_HEADER_NAMES },
    [RULE_BUF_HTTP_COOKIE] = { HTTP_BUF_COOKIE, HTTP_BUF_SET_COOKIE },
    [RULE_BUF_HTTP_REFERER] = { HTTP_BUF_REFERER, -1 },
    [RULE_BUF_HTTP_ACCEPT] = { HTTP_BUF_ACCEPT, -1 },
    [RULE_BUF_HTTP_ACCEPT_LANG] = { HTTP_BUF_ACCEPT_LANG, -1 },
    [RULE_BUF_HTTP_ACCEPT_ENC] = { HTTP_BUF_ACCEPT_ENC, -1 },
    [RULE_BUF_HTTP_CONNECTION] = { HTTP_BUF_CONNECTION, HTTP_BUF_RESPONSE_CONNECTION },
    [RULE_BUF_HTTP_CONTENT_TYPE] = { HTTP_BUF_CONTENT_TYPE, HTTP_BUF_RESPONSE_CONTENT_TYPE },
    [RULE_BUF_HTTP_CONTENT_LEN] = { HTTP_BUF_CONTENT_LEN, HTTP_BUF_RESPONSE_CONTENT_LEN },
    [RULE_BUF_HTTP_PROTOCOL] = { HTTP_BUF_PROTOCOL, HTTP_BUF_RESPONSE_PROTOCOL },
    [RULE_BUF_HTTP_START] = { HTTP_BUF_START, HTTP_BUF_RESPONSE_START },
    [RULE_BUF_HTTP_REQUEST_BODY] = { HTTP_BUF_REQUEST_BODY, -1 },
    [RULE_BUF_HTTP_STAT_CODE] = { -1, HTTP_BUF_STAT_CODE },
    [RULE_BUF_HTTP_STAT_MSG] = { -1, HTTP_BUF_STAT_MSG },
    [RULE_BUF_HTTP_RESPONSE_LINE] = { -1, HTTP_BUF_RESPONSE_LINE },
    [RULE_BUF_HTTP_SERVER] = { -1, HTTP_BUF_SERVER },
    [RULE_BUF_HTTP_LOCATION] = { -1, HTTP_BUF_LOCATION },
    [RULE_BUF_HTTP_RESPONSE_BODY] = { -1, HTTP_BUF_RESPONSE_BODY },
    /* file.data: the body of either side (an upload, a download) */
    [RULE_BUF_FILE_DATA] = { HTTP_BUF_REQUEST_BODY, HTTP_BUF_FILE_DATA },
    /* http.request_header / response_header: lines of http.start */
    [RULE_BUF_HTTP_REQUEST_HEADER] = { HTTP_BUF_START, -1 },
    [RULE_BUF_HTTP_RESPONSE_HEADER] = { -1, HTTP_BUF_RESPONSE_START },
};

/* Header i of a start buffer ("line\r\nName: value\r\n...\r\n"): the
 * line after the first i + 1 CRLFs, up to its CRLF; 0 past the last. */
static int start_line(const uint8_t *p, uint32_t n, uint32_t i, struct detect_bytes *out)
{
    const uint8_t *end = p + n, *s = p, *e;

    for (uint32_t k = 0; k <= i; k++) {
        e = memmem(s, (size_t)(end - s), "\r\n", 2);
        if (e == NULL)
            return 0;
        s = e + 2;
    }
    e = memmem(s, (size_t)(end - s), "\r\n", 2);
    if (e == NULL || e == s)
        return 0;                 /* the blank line ends the headers */
    return set_out(out, s, (uint32_t)(e - s));
}

/* filemd5, filesha1, filesha256: the digest of file f, once it closed
 * complete (as Suricata's, which only looks at closed files); file.name:
 * its name, once it is open. */
static int file_buffer(const struct app_file *f, unsigned b, struct detect_bytes *out)
{
    enum app_hash h = b == RULE_BUF_FILE_MD5 ? APP_HASH_MD5 : b == RULE_BUF_FILE_SHA1 ? APP_HASH_SHA1
                                                                                      : APP_HASH_SHA256;
    const uint8_t *p;
    uint32_t n;

    if (f && b == RULE_BUF_FILE_NAME)
        return f->name != NULL && set_out(out, f->name, f->name_len);
    return f && f->state == APP_FILE_CLOSED && app_file_hash(f, h, &p, &n) && set_out(out, p, n);
}

/* filesize: the size of file f once it no longer grows (closed or
 * truncated). */
static int file_size(const struct app_file *f, uint64_t *out)
{
    if (f == NULL || f->state == APP_FILE_NONE || f->state == APP_FILE_OPEN)
        return 0;
    *out = f->size;
    return 1;
}

static int is_file_buffer(unsigned b)
{
    return b == RULE_BUF_FILE_MD5 || b == RULE_BUF_FILE_SHA1 || b == RULE_BUF_FILE_SHA256 || b == RULE_BUF_FILE_NAME;
}

static int http_get(const struct detect_src *s, unsigned b, uint32_t index, struct detect_bytes *out)
{
    const struct http_tx *tx = (const struct http_tx *)s->tx;
    int hb;
    const uint8_t *p;
    uint32_t n;

    /* http_map's rows of other buffers are zeros: the provider's set decides */
    if (s->proto != APP_PROTO_HTTP || b >= RULE_BUF_COUNT || !(detect_http_provider.bufs & RULE_BUF_BIT(b)))
        return 0;
    if (is_file_buffer(b))
        return index == 0 && file_buffer(http_tx_file(tx, (enum app_dir)(s->dir & 1)), b, out);
    hb = http_map[b][pick_dir(b, s->dir)];
    if (hb < 0)
        return 0;
    if (!http_tx_buffer(tx, (enum http_buf)hb, &p, &n))
        return 0;
    if (b == RULE_BUF_HTTP_REQUEST_HEADER || b == RULE_BUF_HTTP_RESPONSE_HEADER)
        return start_line(p, n, index, out);
    return index == 0 && set_out(out, p, n);
}

/* Whether event name ("http.gzip_decompression_failed") of parser proto
 * was seen in tx. */
static int tx_event(const struct app_tx *tx, enum app_proto proto, const char *name)
{
    const struct app_parser *ap = app_parser_of(proto);
    size_t pl;

    if (ap == NULL || tx == NULL)
        return 0;
    pl = strlen(ap->name);
    if (strncmp(name, ap->name, pl) != 0 || name[pl] != '.')
        return 0;
    for (size_t e = 0; e < ap->nevents && e < APP_MAX_EVENTS; e++)
        if (strcmp(ap->events[e], name + pl + 1) == 0)
            return (tx->events >> e) & 1;
    return 0;
}

/* An app-layer event of the source's transaction; for a packet (no
 * transaction), of any transaction the flow's parser still holds. */
static int app_event_seen(const struct detect_src *s, enum app_proto proto, const char *name)
{
    const struct app_parser *ap;
    void *state;

    if (s->tx)
        return s->proto == proto && tx_event(s->tx, proto, name);
    if (s->f == NULL || (state = app_flow_state(s->f, &ap)) == NULL || ap->proto != proto)
        return 0;
    for (const struct app_tx *tx = ap->txs(state)->head; tx; tx = tx->next)
        if (tx_event(tx, proto, name))
            return 1;
    return 0;
}

static int http_event(const struct detect_src *s, const char *name)
{
    return app_event_seen(s, APP_PROTO_HTTP, name);
}

/* filesize: the size of the body's file in the source's direction. */
static int http_value(const struct detect_src *s, unsigned id, uint64_t *out)
{
    return s->proto == APP_PROTO_HTTP && id == RULE_VAL_FILESIZE &&
           file_size(http_tx_file((const struct http_tx *)s->tx, (enum app_dir)(s->dir & 1)), out);
}

/* ---------------------------------------------------------------- DNS */

static int dns_get(const struct detect_src *s, unsigned b, uint32_t index, struct detect_bytes *out)
{
    const uint8_t *p;
    uint32_t n;

    if (s->proto != APP_PROTO_DNS || b != RULE_BUF_DNS_QUERY ||
        !dns_tx_query((const struct dns_tx *)s->tx, index, &p, &n))
        return 0;
    return set_out(out, p, n);
}

static int dns_value(const struct detect_src *s, unsigned id, uint64_t *out)
{
    const struct dns_tx *tx = (const struct dns_tx *)s->tx;

    if (s->proto != APP_PROTO_DNS || id != RULE_VAL_DNS_OPCODE || (!tx->req && !tx->resp))
        return 0;
    *out = dns_tx_opcode(tx);
    return 1;
}

static int dns_event(const struct detect_src *s, const char *name)
{
    return app_event_seen(s, APP_PROTO_DNS, name);
}

/* ---------------------------------------------------------------- TLS */

static int tls_get(const struct detect_src *s, unsigned b, uint32_t index, struct detect_bytes *out)
{
    const struct tls_tx *tx = (const struct tls_tx *)s->tx;
    const uint8_t *p;
    uint32_t n;
    int tb;

    if (s->proto != APP_PROTO_TLS)
        return 0;
    if (b == RULE_BUF_TLS_CERTS)
        return tls_tx_cert(tx, index, &p, &n) && set_out(out, p, n);
    switch (b) {
    case RULE_BUF_TLS_SNI:              tb = TLS_BUF_SNI; break;
    case RULE_BUF_TLS_CERT_SUBJECT:     tb = TLS_BUF_CERT_SUBJECT; break;
    case RULE_BUF_TLS_CERT_ISSUER:      tb = TLS_BUF_CERT_ISSUER; break;
    case RULE_BUF_TLS_CERT_SERIAL:      tb = TLS_BUF_CERT_SERIAL; break;
    case RULE_BUF_TLS_CERT_FINGERPRINT: tb = TLS_BUF_CERT_FINGERPRINT; break;
    case RULE_BUF_JA3_HASH:             tb = TLS_BUF_JA3_HASH; break;
    case RULE_BUF_JA3_STRING:           tb = TLS_BUF_JA3_STRING; break;
    case RULE_BUF_JA3S_HASH:            tb = TLS_BUF_JA3S_HASH; break;
    case RULE_BUF_JA3S_STRING:          tb = TLS_BUF_JA3S_STRING; break;
    default:                            return 0;
    }
    return index == 0 && tls_tx_get(tx, (enum tls_buffer)tb, &p, &n) && set_out(out, p, n);
}

/* tls.version is the version of the side the rule inspects (the client's
 * highest offered, the server's selected), as Suricata's. */
static int tls_value(const struct detect_src *s, unsigned id, uint64_t *out)
{
    const struct tls_tx *tx = (const struct tls_tx *)s->tx;
    int64_t nb, na;

    if (s->proto != APP_PROTO_TLS)
        return 0;
    if (id == RULE_VAL_TLS_VERSION) {
        *out = tls_tx_version(tx, (enum app_dir)(s->dir & 1));
        return *out != 0;
    }
    if ((id != RULE_VAL_TLS_NOTBEFORE && id != RULE_VAL_TLS_NOTAFTER) || !tls_tx_validity(tx, &nb, &na))
        return 0;
    *out = (uint64_t)(id == RULE_VAL_TLS_NOTBEFORE ? nb : na);
    return 1;
}

static int tls_event(const struct detect_src *s, const char *name)
{
    return app_event_seen(s, APP_PROTO_TLS, name);
}

/* ---------------------------------------------------------------- SSH */

static int ssh_get(const struct detect_src *s, unsigned b, uint32_t index, struct detect_bytes *out)
{
    const uint8_t *p;
    uint32_t n;
    enum ssh_buffer sb;

    if (s->proto != APP_PROTO_SSH || index != 0)
        return 0;
    switch (b) {
    case RULE_BUF_SSH_PROTO:                 sb = SSH_BUF_PROTO; break;
    case RULE_BUF_SSH_SOFTWARE:              sb = SSH_BUF_SOFTWARE; break;
    case RULE_BUF_SSH_HASSH:
    case RULE_BUF_SSH_HASSH_SERVER:          sb = SSH_BUF_HASSH; break;
    case RULE_BUF_SSH_HASSH_STRING:
    case RULE_BUF_SSH_HASSH_SERVER_STRING:   sb = SSH_BUF_HASSH_STRING; break;
    default:                                 return 0;
    }
    return ssh_tx_get((const struct ssh_tx *)s->tx, (enum app_dir)pick_dir(b, s->dir), sb, &p, &n) &&
           set_out(out, p, n);
}

static int ssh_event(const struct detect_src *s, const char *name)
{
    return app_event_seen(s, APP_PROTO_SSH, name);
}

/* ---------------------------------------------------------------- FTP */

static int ftp_event(const struct detect_src *s, const char *name)
{
    return app_event_seen(s, APP_PROTO_FTP, name);
}

/* ftp-data: the file, in the direction that carries it (as a body's is
 * in its own direction). */
static const struct app_file *ftpdata_file(const struct detect_src *s)
{
    const struct ftp_data_tx *tx = (const struct ftp_data_tx *)s->tx;

    return tx->data_dir == (int8_t)(s->dir & 1) ? ftp_data_tx_file(tx) : NULL;
}

static int ftpdata_get(const struct detect_src *s, unsigned b, uint32_t index, struct detect_bytes *out)
{
    const uint8_t *p;
    uint32_t n;

    if (s->proto != APP_PROTO_FTPDATA || index != 0)
        return 0;
    if (b == RULE_BUF_FILE_DATA)
        return ftp_data_tx_bytes((const struct ftp_data_tx *)s->tx, (enum app_dir)(s->dir & 1), &p, &n) &&
               set_out(out, p, n);
    return is_file_buffer(b) && file_buffer(ftpdata_file(s), b, out);
}

static int ftpdata_value(const struct detect_src *s, unsigned id, uint64_t *out)
{
    const struct ftp_data_tx *tx = (const struct ftp_data_tx *)s->tx;

    if (s->proto != APP_PROTO_FTPDATA)
        return 0;
    if (id == RULE_VAL_FILESIZE)
        return file_size(ftpdata_file(s), out);
    if (id != RULE_VAL_FTPDATA_COMMAND || !tx->info)
        return 0;
    *out = tx->info->command;
    return 1;
}

static int ftpdata_event(const struct detect_src *s, const char *name)
{
    return app_event_seen(s, APP_PROTO_FTPDATA, name);
}

/* ---------------------------------------------------------------- SMB */

/* file.data, file.name and the file digests of the source's direction: a
 * write's file to the server, a read's to the client. */
static int smb_get(const struct detect_src *s, unsigned b, uint32_t index, struct detect_bytes *out)
{
    const struct smb_tx *tx = (const struct smb_tx *)s->tx;
    const uint8_t *p;
    uint32_t n;

    if (s->proto != APP_PROTO_SMB || index != 0)
        return 0;
    if (b == RULE_BUF_FILE_DATA)
        return smb_tx_file_data(tx, (enum app_dir)(s->dir & 1), &p, &n) && set_out(out, p, n);
    return is_file_buffer(b) && file_buffer(smb_tx_file(tx, (enum app_dir)(s->dir & 1)), b, out);
}

static int smb_value(const struct detect_src *s, unsigned id, uint64_t *out)
{
    return s->proto == APP_PROTO_SMB && id == RULE_VAL_FILESIZE &&
           file_size(smb_tx_file((const struct smb_tx *)s->tx, (enum app_dir)(s->dir & 1)), out);
}

static int smb_event(const struct detect_src *s, const char *name)
{
    return app_event_seen(s, APP_PROTO_SMB, name);
}

/* ---------------------------------------------------------------- the providers */

#define B(x) RULE_BUF_BIT(RULE_BUF_##x)

const struct detect_provider detect_http_provider = {
    .name = "http", .tx = 1,
    .bufs = B(HTTP_URI) | B(HTTP_URI_RAW) | B(HTTP_METHOD) | B(HTTP_HOST) | B(HTTP_HOST_RAW) |
            B(HTTP_USER_AGENT) | B(HTTP_REQUEST_LINE) | B(HTTP_HEADER) | B(HTTP_HEADER_RAW) |
            B(HTTP_HEADER_NAMES) | B(HTTP_COOKIE) | B(HTTP_REFERER) | B(HTTP_ACCEPT) | B(HTTP_ACCEPT_LANG) |
            B(HTTP_ACCEPT_ENC) | B(HTTP_CONNECTION) | B(HTTP_CONTENT_TYPE) | B(HTTP_CONTENT_LEN) |
            B(HTTP_PROTOCOL) | B(HTTP_START) | B(HTTP_REQUEST_BODY) | B(HTTP_STAT_CODE) | B(HTTP_STAT_MSG) |
            B(HTTP_RESPONSE_LINE) | B(HTTP_SERVER) | B(HTTP_LOCATION) | B(HTTP_RESPONSE_BODY) | B(FILE_DATA) |
            B(HTTP_REQUEST_HEADER) | B(HTTP_RESPONSE_HEADER) | B(FILE_MD5) | B(FILE_SHA1) | B(FILE_SHA256) |
            B(FILE_NAME),
    .get = http_get,
    .event = http_event,
    .events_proto = "http",
    .values = 1u << RULE_VAL_FILESIZE,
    .value = http_value,
};

const struct detect_provider detect_dns_provider = {
    .name = "dns", .tx = 1,
    .bufs = B(DNS_QUERY),
    .get = dns_get,
    .event = dns_event,
    .events_proto = "dns",
    .values = 1u << RULE_VAL_DNS_OPCODE,
    .value = dns_value,
};

const struct detect_provider detect_tls_provider = {
    .name = "tls", .tx = 1,
    .bufs = B(TLS_SNI) | B(TLS_CERT_SUBJECT) | B(TLS_CERT_ISSUER) | B(TLS_CERT_SERIAL) |
            B(TLS_CERT_FINGERPRINT) | B(TLS_CERTS) | B(JA3_HASH) | B(JA3_STRING) | B(JA3S_HASH) |
            B(JA3S_STRING),
    .get = tls_get,
    .event = tls_event,
    .events_proto = "tls",
    .values = 1u << RULE_VAL_TLS_VERSION | 1u << RULE_VAL_TLS_NOTBEFORE | 1u << RULE_VAL_TLS_NOTAFTER,
    .value = tls_value,
};

const struct detect_provider detect_ssh_provider = {
    .name = "ssh", .tx = 1,
    .bufs = B(SSH_PROTO) | B(SSH_SOFTWARE) | B(SSH_HASSH) | B(SSH_HASSH_STRING) | B(SSH_HASSH_SERVER) |
            B(SSH_HASSH_SERVER_STRING),
    .get = ssh_get,
    .event = ssh_event,
    .events_proto = "ssh",
};

const struct detect_provider detect_ftp_provider = {
    .name = "ftp", .tx = 1,
    .event = ftp_event,
    .events_proto = "ftp",
};

const struct detect_provider detect_ftpdata_provider = {
    .name = "ftp-data", .tx = 1,
    .bufs = B(FILE_DATA) | B(FILE_NAME) | B(FILE_MD5) | B(FILE_SHA1) | B(FILE_SHA256),
    .get = ftpdata_get,
    .event = ftpdata_event,
    .events_proto = "ftp-data",
    .values = 1u << RULE_VAL_FTPDATA_COMMAND | 1u << RULE_VAL_FILESIZE,
    .value = ftpdata_value,
};

const struct detect_provider detect_smb_provider = {
    .name = "smb", .tx = 1,
    .bufs = B(FILE_DATA) | B(FILE_NAME) | B(FILE_MD5) | B(FILE_SHA1) | B(FILE_SHA256),
    .get = smb_get,
    .event = smb_event,
    .events_proto = "smb",
    .values = 1u << RULE_VAL_FILESIZE,
    .value = smb_value,
};

#undef B

/* ---------------------------------------------------------------- progress */

int detect_body_waits(enum app_proto proto, const struct app_tx *tx, uint8_t side)
{
    return proto == APP_PROTO_HTTP && !http_tx_body_ready((const struct http_tx *)tx, (enum app_dir)(side & 1));
}

uint32_t detect_body_from(enum app_proto proto, const struct app_tx *tx, uint8_t side)
{
    return proto == APP_PROTO_HTTP
               ? http_tx_body_window((const struct http_tx *)tx, (enum app_dir)(side & 1), tx->body_inspected[side & 1])
               : 0;
}

void detect_body_looked(enum app_proto proto, struct app_tx *tx, uint8_t side)
{
    const uint8_t *p;
    uint32_t n;

    if (proto == APP_PROTO_HTTP && !detect_body_waits(proto, tx, side) &&
        http_tx_buffer((const struct http_tx *)tx, (side & 1) ? HTTP_BUF_RESPONSE_BODY : HTTP_BUF_REQUEST_BODY,
                       &p, &n))
        tx->body_inspected[side & 1] = n;
}

/* A stamp: the progress in its low bits, the length of what grows (body
 * bytes, certificates, ...) from STAMP_LEN_SHIFT up, bits 26 (a file
 * closed) and 27 up (events) XORed over it. */
#define STAMP_LEN_SHIFT 3
#define STAMP_LEN_BITS  23               /* below bit 26: a length under 8 MiB is alone there */

uint32_t detect_app_stamp(enum app_proto proto, const struct app_tx *tx, uint8_t dir)
{
    uint32_t stamp = tx->progress[dir & 1];
    const uint8_t *p;
    uint32_t n = 0;

    if (stamp < APP_PROG_HEADERS)
        return 0;
    if (proto == APP_PROTO_HTTP &&
        !http_tx_buffer((const struct http_tx *)tx, (dir & 1) ? HTTP_BUF_RESPONSE_BODY : HTTP_BUF_REQUEST_BODY,
                        &p, &n))
        n = 0;
    if (proto == APP_PROTO_TLS && (dir & 1))
        n = ((const struct tls_tx *)tx)->ncerts;
    if (proto == APP_PROTO_SSH)
        n = ((const struct ssh_tx *)tx)->side[dir & 1].have_hassh;
    if (proto == APP_PROTO_FTPDATA && !ftp_data_tx_bytes((const struct ftp_data_tx *)tx, (enum app_dir)(dir & 1),
                                                         &p, &n))
        n = 0;
    if (proto == APP_PROTO_SMB)
        n = ((const struct smb_tx *)tx)->dir == (dir & 1) ? ((const struct smb_tx *)tx)->data.len : 0;
    stamp |= (n > (UINT32_MAX >> STAMP_LEN_SHIFT) ? UINT32_MAX >> STAMP_LEN_SHIFT : n) << STAMP_LEN_SHIFT;
    /* A body's file closing gives it its digests (filemd5, ...): due again. */
    if ((proto == APP_PROTO_HTTP && ((const struct http_tx *)tx)->file[dir & 1].state == APP_FILE_CLOSED) ||
        (proto == APP_PROTO_FTPDATA && ((const struct ftp_data_tx *)tx)->file.state == APP_FILE_CLOSED))
        stamp ^= 1u << 26;
    /* A new anomaly event of the transaction (which may come from the
     * other direction: too many encoding layers in the response of a
     * request a to_server rule is about) makes each direction due again
     * for the rules that read events. */
    return stamp ^ (uint32_t)__builtin_popcountll(tx->events) << 27;
}

int detect_app_stamp_body_only(uint32_t a, uint32_t b)
{
    return ((a ^ b) & ~(((1u << STAMP_LEN_BITS) - 1) << STAMP_LEN_SHIFT)) == 0;
}
