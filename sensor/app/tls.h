/* tls.h - the TLS parser: records and the handshake in the clear, up to
 * where a side starts encrypting.
 *
 * A flow is one transaction. Each direction is read as TLS records (type,
 * version, length; a record may be split across calls and a call may hold
 * many). The payload of handshake records is one stream per direction in
 * which handshake messages are found whatever the record boundaries
 * (several messages per record, a message across records), a message of at
 * most TLS_MAX_HANDSHAKE bytes being reassembled. Other records are
 * checked and skipped: alerts (a fatal one in the clear counts
 * error_message_encountered), ChangeCipherSpec, application data,
 * heartbeats (an overflowing request counts overflow_heartbeat_message).
 * A direction's first record may be an SSLv2 CLIENT-HELLO (or a server's
 * SSLv2 SERVER-HELLO), which is recognised: its version is kept.
 *
 * What is kept:
 *   - ClientHello: legacy version and supported_versions (the client's
 *     tls.version: the first valid one listed, else the legacy version),
 *     SNI, ALPN, the session id; the JA3 string (legacy version, cipher
 *     suites, extension types, supported groups, EC point formats, each
 *     list in decimal joined by '-', GREASE values left out) and its MD5.
 *     Only the first ClientHello counts (a second one follows a
 *     HelloRetryRequest).
 *   - ServerHello (a HelloRetryRequest is passed over): legacy version,
 *     supported_versions (the server's tls.version: the selected one, else
 *     the legacy version), cipher suite, ALPN; the JA3S string (legacy
 *     version, cipher, extension types) and its MD5.
 *   - Certificate (the server's): up to limits.max_certs certificates,
 *     each decoded with libcrypto: subject and issuer in Suricata's text
 *     form ("C=US, O=Example, CN=www.example.com": RDNs in certificate
 *     order joined by ", ", multi-valued ones by " + ", values as UTF-8 or,
 *     for non-string values, upper-case hex), the serial (the DER INTEGER's
 *     bytes, upper-case hex joined by ':'), the SHA-1 fingerprint (lower-
 *     case hex joined by ':'), notBefore/notAfter (seconds since the
 *     epoch) and the DER itself.
 *
 * Progress: APP_TO_SERVER is APP_PROG_HEADERS with the ClientHello,
 * APP_TO_CLIENT with the ServerHello; a direction is APP_PROG_DONE with its
 * ChangeCipherSpec (TLS 1.2 and before), its end, a gap it cannot
 * recover from, or an SSLv2 SERVER-HELLO. A ServerHello that selects TLS
 * 1.3 ends the visible handshake of both directions at once (DONE): all
 * that follows is encrypted and only its record framing is followed, with
 * no anomaly counted.
 *
 * Events: Suricata's names (see tls_event_names) for what this parser can
 * tell, and ours: memcap, handshake_too_long, too_many_certificates.
 */
#ifndef LW_TLS_H
#define LW_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "app-layer.h"

#define TLS_MAX_HANDSHAKE   131072u     /* bytes of one handshake message reassembled */
#define TLS_MAX_RECORD      (16384u + 2048u)
#define TLS_MAX_RECORDS_PER_CALL 255    /* more records in one call: too_many_records_in_packet */

enum tls_event {
    TLS_EV_INVALID_SSLV2_HEADER = 0,
    TLS_EV_INVALID_RECORD_VERSION,
    TLS_EV_INVALID_RECORD_TYPE,
    TLS_EV_INVALID_RECORD_LENGTH,
    TLS_EV_INVALID_HANDSHAKE_MESSAGE,
    TLS_EV_HEARTBEAT_MESSAGE,
    TLS_EV_INVALID_HEARTBEAT_MESSAGE,
    TLS_EV_OVERFLOW_HEARTBEAT_MESSAGE,
    TLS_EV_HANDSHAKE_INVALID_LENGTH,
    TLS_EV_MULTIPLE_SNI_EXTENSIONS,
    TLS_EV_INVALID_SNI_TYPE,
    TLS_EV_INVALID_SNI_LENGTH,
    TLS_EV_TOO_MANY_RECORDS_IN_PACKET,
    TLS_EV_INVALID_ALERT_MESSAGE,
    TLS_EV_INVALID_CERTIFICATE,
    TLS_EV_CERTIFICATE_INVALID_LENGTH,
    TLS_EV_CERTIFICATE_INVALID_DER,
    TLS_EV_CERTIFICATE_INVALID_SUBJECT,
    TLS_EV_CERTIFICATE_INVALID_ISSUER,
    TLS_EV_CERTIFICATE_INVALID_SERIAL,
    TLS_EV_CERTIFICATE_INVALID_VALIDITY,
    TLS_EV_ERROR_MESSAGE_ENCOUNTERED,
    TLS_EV_MEMCAP,
    TLS_EV_HANDSHAKE_TOO_LONG,
    TLS_EV_TOO_MANY_CERTIFICATES,
    TLS_EV_MAX
};

extern const char *const tls_event_names[TLS_EV_MAX];

/* One certificate of the server's chain. Strings are NUL-terminated. */
struct tls_cert {
    uint8_t *der;
    uint32_t der_len;
    char    *subject, *issuer, *serial;     /* NULL when not decoded */
    uint32_t subject_len, issuer_len, serial_len;
    char     fingerprint[60];               /* SHA-1, "ab:cd:..." (59 characters) */
    int64_t  notbefore, notafter;           /* seconds since the epoch, UTC */
    uint8_t  have_validity;
};

struct tls_tx {
    struct app_tx tx;                       /* first */
    uint16_t version[2];                    /* tls.version per enum app_dir; 0: not seen */
    uint16_t legacy_version[2];             /* the hellos' version fields */
    uint16_t cipher;                        /* the server's choice */
    uint8_t  have_client_hello, have_server_hello;
    uint8_t  sslv2;                         /* an SSLv2 hello was seen */
    uint8_t  tls13;                         /* the server selected TLS 1.3 */
    uint8_t  resumed;                       /* the server echoed the client's session id (TLS <= 1.2) */
    uint8_t  session_id_len;
    uint8_t  session_id[32];                /* the client's */
    uint8_t *sni;
    uint32_t sni_len;
    uint8_t *alpn[2];                       /* the hellos' protocol_name_list (ALPN extension) */
    uint32_t alpn_len[2];
    char    *ja3, *ja3s;                    /* NUL-terminated */
    uint32_t ja3_len, ja3s_len;
    char     ja3_hash[33], ja3s_hash[33];
    struct tls_cert *certs;
    uint32_t ncerts;
};

/* Buffers for rules: tls.sni and ja3.* (the client's, to_server), the
 * tls.cert_* ones of the first certificate and ja3s.* (to_client). */
enum tls_buffer {
    TLS_BUF_SNI,
    TLS_BUF_CERT_SUBJECT,
    TLS_BUF_CERT_ISSUER,
    TLS_BUF_CERT_SERIAL,
    TLS_BUF_CERT_FINGERPRINT,
    TLS_BUF_JA3_HASH,
    TLS_BUF_JA3_STRING,
    TLS_BUF_JA3S_HASH,
    TLS_BUF_JA3S_STRING
};

/* Returns 1 and the buffer in *p and *n, or 0 when the session has none. */
int tls_tx_get(const struct tls_tx *tx, enum tls_buffer b, const uint8_t **p, uint32_t *n);
/* tls.certs: the DER of certificate i of the chain (0: the server's own).
 * Returns 1, or 0 past the end. */
int tls_tx_cert(const struct tls_tx *tx, uint32_t i, const uint8_t **der, uint32_t *n);
/* tls.version of the client (APP_TO_SERVER) or the server; 0 when unseen. */
uint16_t tls_tx_version(const struct tls_tx *tx, enum app_dir dir);
/* The first certificate's validity, for tls_cert_notbefore, _notafter,
 * _expired and _valid. Returns 1, or 0 when there is none. */
int tls_tx_validity(const struct tls_tx *tx, int64_t *notbefore, int64_t *notafter);

/* Suricata's name of a version: "TLS 1.2", "TLSv1", "SSLv3", "UNDETERMINED" (0), ... */
const char *tls_version_name(uint16_t version, char buf[24]);

/* EVE "tls" members as Suricata's extended logging writes them (subject,
 * issuerdn, session_resumed, serial, fingerprint, sni, version, notbefore,
 * notafter, ja3, ja3s, client_alpns, server_alpns), and with TLS_EVE_CHAIN
 * Suricata's custom "chain" (each certificate's DER in base64). */
#define TLS_EVE_CHAIN 0x1u
void tls_eve_write(const struct tls_tx *tx, struct jbuf *jb, unsigned flags);

extern const struct app_parser app_parser_tls;

#endif
