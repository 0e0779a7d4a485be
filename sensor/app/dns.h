/* dns.h - the DNS parser: messages over UDP (one per datagram) and over TCP
 * (each behind its 2-byte length, split across calls or several per call),
 * decoded into transactions of a query and its response.
 *
 * A message is decoded whole: the header, every question and every
 * answer, authority and additional record (limits.max_names of each
 * section are kept, the rest is walked and skipped). Names are
 * decompressed into their dotted text form ("www.example.com", the root
 * is ""), at most DNS_MAX_NAME bytes (longer ones are cut there and
 * flagged truncated), following at most DNS_MAX_POINTERS compression
 * pointers and DNS_MAX_LABELS labels. Record data is kept decoded for A,
 * AAAA, CNAME, NS, PTR, MX, SOA, SRV, SSHFP and the raw bytes for TXT,
 * NULL, OPT and every other type.
 *
 * Transactions: a message from the client (APP_TO_SERVER) is a request
 * and opens a transaction; a message from the server is a response and
 * closes the oldest open transaction with the same id, or makes a
 * transaction of its own (a lone response). At most limits.max_tx
 * requests wait for their response: past that the oldest one is given up
 * (event "flooded"). A request's direction is APP_PROG_DONE at once; the
 * response direction becomes DONE with the response, when the request is
 * given up or when the server's direction ends.
 *
 * Anomalies carry Suricata's DNS event names (malformed_data, not_request,
 * not_response, z_flag_set, invalid_opcode, name_too_long, infinite_loop,
 * too_many_labels, invalid_additionals, invalid_authorities) and ours
 * (flooded, memcap, too_many_records); see dns_event_names.
 *
 * EVE: Suricata's version-3 "dns" object of one message (dns_eve_message),
 * and per transaction (the parser's tx_eve) the response when there is one,
 * else the request.
 */
#ifndef LW_DNS_H
#define LW_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "app-layer.h"
#include "app-util.h"

#define DNS_MAX_NAME      255     /* bytes of a name's text form */
#define DNS_MAX_POINTERS  32      /* compression pointers followed per name */
#define DNS_MAX_LABELS    128     /* labels per name */

enum dns_event {
    DNS_EV_MALFORMED_DATA = 0,
    DNS_EV_NOT_REQUEST,
    DNS_EV_NOT_RESPONSE,
    DNS_EV_Z_FLAG_SET,
    DNS_EV_INVALID_OPCODE,
    DNS_EV_NAME_TOO_LONG,
    DNS_EV_INFINITE_LOOP,
    DNS_EV_TOO_MANY_LABELS,
    DNS_EV_INVALID_ADDITIONALS,
    DNS_EV_INVALID_AUTHORITIES,
    DNS_EV_FLOODED,             /* a request given up: too many were waiting */
    DNS_EV_MEMCAP,              /* app_mem refused; the message was dropped */
    DNS_EV_TOO_MANY_RECORDS,    /* a section had more than limits.max_names entries */
    DNS_EV_MAX
};

extern const char *const dns_event_names[DNS_EV_MAX];

/* A name in a message's text pool. */
struct dns_name {
    uint32_t off;               /* into dns_msg.pool */
    uint16_t len;
    uint8_t  truncated;         /* longer than DNS_MAX_NAME: cut */
};

struct dns_query {
    struct dns_name name;
    uint16_t type, class;
};

/* How a record's data is kept. */
enum dns_rdata {
    DNS_RD_RAW = 0,             /* data: the raw bytes (TXT, NULL, OPT, unknown types, bad data) */
    DNS_RD_ADDR,                /* data: 4 (A) or 16 (AAAA) address bytes */
    DNS_RD_NAME,                /* target: CNAME, NS, PTR; MX (num[0] preference) */
    DNS_RD_SOA,                 /* target: mname, rname; num: serial refresh retry expire minimum */
    DNS_RD_SRV,                 /* target; num: priority weight port */
    DNS_RD_SSHFP                /* num: algo type; data: the fingerprint */
};

struct dns_rr {
    struct dns_name name;
    uint16_t type, class;
    uint32_t ttl;
    uint8_t  kind;              /* enum dns_rdata */
    struct dns_name target, rname;
    uint32_t data_off, data_len;   /* into the pool */
    uint32_t num[5];
};

enum dns_section { DNS_SEC_ANSWER = 0, DNS_SEC_AUTHORITY, DNS_SEC_ADDITIONAL };

/* One decoded message. Names and data live in pool. */
struct dns_msg {
    uint16_t id, flags;
    uint16_t qdcount, rrcount[3];   /* as the header says */
    uint16_t nq, nrr[3];            /* kept */
    struct dns_query *q;
    struct dns_rr *rr[3];
    struct app_bytes pool;
    size_t   size;                  /* bytes of the struct and its arrays, for app_free */
};

#define DNS_FLAG_QR 0x8000u
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_RCODE(flags)  ((flags) & 0xf)

/* Pointer to a name's (or record data's) bytes in its message. */
static inline const uint8_t *dns_msg_bytes(const struct dns_msg *m, uint32_t off)
{
    return m->pool.p ? m->pool.p + off : (const uint8_t *)"";     /* a message of empty names has no pool */
}

/* A transaction: a request and/or its response. */
struct dns_tx {
    struct app_tx tx;               /* first */
    struct dns_msg *req, *resp;
    uint8_t open;                   /* a request waiting for its response */
};

/* The request (APP_TO_SERVER) or the response (APP_TO_CLIENT), or NULL. */
const struct dns_msg *dns_tx_msg(const struct dns_tx *tx, enum app_dir dir);

/* dns.query: the transaction's query names, the request's questions (a
 * lone response's when there is no request), i from 0. Returns 1 and the
 * name in *name and *len, or 0 when there is no query i. */
int dns_tx_query(const struct dns_tx *tx, uint32_t i, const uint8_t **name, uint32_t *len);
/* dns.opcode: the opcode of the request (else the response). */
unsigned dns_tx_opcode(const struct dns_tx *tx);

/* Writes the version-3 EVE members of one message of the transaction
 * ("version": 3, "type": "request"/"response", "tx_id", "id", flags,
 * "opcode", "rcode", "queries", "answers", "authorities", "additionals")
 * into an open object. Nothing when that message is absent. */
void dns_eve_message(const struct dns_tx *tx, enum app_dir dir, struct jbuf *jb);

/* Suricata's name of a record type ("A", "AAAA", ...; unknown: the number). */
const char *dns_rrtype_name(uint16_t type, char buf[8]);
/* Suricata's name of a response code ("NOERROR", ...; unknown: the number). */
const char *dns_rcode_name(unsigned rcode, char buf[8]);

extern const struct app_parser app_parser_dns;

#endif
