/* rule-t.h - the parsed, immutable form of one Suricata-language rule.
 *
 * rule-parse.c fills these from rule text; nothing changes them afterwards,
 * so the detection engine may share one struct rule between threads. Every
 * pointer in a rule is owned by it (rule_free()), except cls and file, which
 * point into the struct rule_list the rule was loaded into.
 */
#ifndef LW_RULE_T_H
#define LW_RULE_T_H

#include <stddef.h>
#include <stdint.h>
#include "packet-t.h"

struct pcre2_real_code_8;          /* pcre2_code with PCRE2_CODE_UNIT_WIDTH 8 */

enum rule_action {
    RULE_ACTION_ALERT = 0,
    RULE_ACTION_PASS,              /* stops later rules for the packet */
    RULE_ACTION_DROP,              /* passive sensor: alerts like alert */
    RULE_ACTION_REJECT             /* also rejectsrc/rejectdst/rejectboth */
};

/* ------------------------------------------------------------------ addresses, ports */

/* Address and port sets are sorted, disjoint, non-adjacent inclusive ranges,
 * so any nesting of lists, negations and variables compiles to one exact set
 * and a lookup is a binary search. */
struct rule_range4 { uint32_t lo, hi; };                /* host byte order */
struct rule_u128   { uint64_t hi, lo; };                /* hi: first 8 bytes */
struct rule_range6 { struct rule_u128 lo, hi; };

struct rule_addrset {
    uint8_t             any;       /* every IPv4 and IPv6 address; v4/v6 empty */
    uint32_t            n4, n6;
    struct rule_range4 *v4;
    struct rule_range6 *v6;
};

struct rule_portrange { uint16_t lo, hi; };

struct rule_portset {
    uint8_t                any;    /* 0-65535; r empty */
    uint32_t               n;
    struct rule_portrange *r;
};

/* ------------------------------------------------------------------ buffers */

/* Where a content, pcre or byte keyword looks: the payload (the packet's L4
 * payload or the reassembled TCP stream) or a sticky buffer. rule-buffers.c
 * describes each one (name, legacy modifier, protocol, direction); the
 * detection engine gets the bytes of a sticky buffer from whoever fills it
 * (detect-buffer.h). The first ids keep their historic numbers. */
enum rule_buffer {
    RULE_BUF_PAYLOAD = 0,
    RULE_BUF_DNS_QUERY,
    RULE_BUF_TLS_SNI,
    RULE_BUF_TLS_CERT_SUBJECT,
    RULE_BUF_TLS_CERT_ISSUER,
    RULE_BUF_JA3_HASH,
    RULE_BUF_HTTP_HOST,
    RULE_BUF_HTTP_URI,
    RULE_BUF_HTTP_METHOD,
    RULE_BUF_HTTP_USER_AGENT,
    RULE_BUF_SSH_SOFTWARE,
    RULE_BUF_BASE64,               /* base64_data: what base64_decode decoded */
    RULE_BUF_HTTP_URI_RAW,
    RULE_BUF_HTTP_HOST_RAW,
    RULE_BUF_HTTP_REQUEST_LINE,
    RULE_BUF_HTTP_HEADER,
    RULE_BUF_HTTP_HEADER_RAW,
    RULE_BUF_HTTP_HEADER_NAMES,
    RULE_BUF_HTTP_COOKIE,
    RULE_BUF_HTTP_REFERER,
    RULE_BUF_HTTP_ACCEPT,
    RULE_BUF_HTTP_ACCEPT_LANG,
    RULE_BUF_HTTP_ACCEPT_ENC,
    RULE_BUF_HTTP_CONNECTION,
    RULE_BUF_HTTP_CONTENT_TYPE,
    RULE_BUF_HTTP_CONTENT_LEN,
    RULE_BUF_HTTP_PROTOCOL,
    RULE_BUF_HTTP_START,
    RULE_BUF_HTTP_REQUEST_BODY,
    RULE_BUF_HTTP_STAT_CODE,
    RULE_BUF_HTTP_STAT_MSG,
    RULE_BUF_HTTP_RESPONSE_LINE,
    RULE_BUF_HTTP_SERVER,
    RULE_BUF_HTTP_LOCATION,
    RULE_BUF_HTTP_RESPONSE_BODY,
    RULE_BUF_FILE_DATA,
    RULE_BUF_HTTP_REQUEST_HEADER,
    RULE_BUF_HTTP_RESPONSE_HEADER,
    RULE_BUF_TLS_CERT_SERIAL,
    RULE_BUF_TLS_CERT_FINGERPRINT,
    RULE_BUF_TLS_CERTS,
    RULE_BUF_JA3_STRING,
    RULE_BUF_JA3S_HASH,
    RULE_BUF_JA3S_STRING,
    RULE_BUF_SSH_PROTO,
    RULE_BUF_SSH_HASSH,
    RULE_BUF_SSH_HASSH_STRING,
    RULE_BUF_SSH_HASSH_SERVER,
    RULE_BUF_SSH_HASSH_SERVER_STRING,
    RULE_BUF_FILE_MD5,             /* a complete file's digest, 16 raw bytes (filemd5) */
    RULE_BUF_FILE_SHA1,            /* ... 20 bytes (filesha1) */
    RULE_BUF_FILE_SHA256,          /* ... 32 bytes (filesha256) */
    RULE_BUF_FILE_NAME,            /* file.name (filename, fileext) */
    RULE_BUF_COUNT
};

/* A bit per buffer (struct rule.buffers). */
#define RULE_BUF_BIT(b)      (UINT64_C(1) << (b))

/* Which side of a flow a buffer (or a rule) is about. */
enum rule_dir { RULE_DIR_BOTH = 0, RULE_DIR_TOSERVER, RULE_DIR_TOCLIENT };

#define RULE_BUFF_TX         0x01u      /* one per application transaction */
#define RULE_BUFF_MULTI      0x02u      /* several per transaction (dns.query, tls.certs) */
#define RULE_BUFF_KEYWORD    0x04u      /* no sticky keyword names it: one keyword reads it
                                         * whole (filemd5 a file's MD5) */

/* One row of the buffer table (rule-buffers.c). */
struct rule_buffer_info {
    const char *name;              /* Suricata's name, "http.uri" */
    const char *alias;             /* the older sticky spelling ("http_uri_raw"), NULL none */
    const char *legacy;            /* the Suricata 4 content modifier ("http_uri"), NULL none */
    char        pcre;              /* the pcre flag naming it ('U'), 0 none */
    const char *proto;             /* "http", "tls", "dns", "ssh", "file"; NULL: the payload */
    uint8_t     dir;               /* enum rule_dir */
    uint8_t     flags;             /* RULE_BUFF_* */
    const char *doc;               /* what it holds, one line */
};

/* Transforms turn a sticky buffer into something else before its matches
 * are tried (Suricata's transform keywords), in the order written. */
enum rule_xform_type {
    RULE_XF_DOTPREFIX = 1,
    RULE_XF_TO_LOWERCASE,
    RULE_XF_TO_UPPERCASE,
    RULE_XF_STRIP_WHITESPACE,
    RULE_XF_COMPRESS_WHITESPACE,
    RULE_XF_URL_DECODE,
    RULE_XF_TO_MD5,
    RULE_XF_TO_SHA1,
    RULE_XF_TO_SHA256,
    RULE_XF_HEADER_LOWERCASE,
    RULE_XF_STRIP_PSEUDO_HEADERS,
    RULE_XF_PCREXFORM,
    RULE_XF_XOR,
};

#define RULE_MAX_XFORMS      8

struct rule_xform {
    uint8_t   type;                /* enum rule_xform_type */
    uint8_t  *key;                 /* xor: the key bytes */
    uint32_t  keylen;
    struct pcre2_real_code_8 *re;  /* pcrexform: its regex */
};

/* ------------------------------------------------------------------ content, pcre */

#define RULE_CT_NOCASE       0x0001u
#define RULE_CT_NEGATED      0x0002u    /* content:!"..." */
#define RULE_CT_OFFSET       0x0004u    /* offset is set */
#define RULE_CT_DEPTH        0x0008u    /* depth is set */
#define RULE_CT_DISTANCE     0x0010u    /* distance is set: relative */
#define RULE_CT_WITHIN       0x0020u    /* within is set: relative */
#define RULE_CT_RELATIVE     (RULE_CT_DISTANCE | RULE_CT_WITHIN)
#define RULE_CT_FAST_PATTERN 0x0040u    /* fast_pattern given on this content */
#define RULE_CT_FP_ONLY      0x0080u    /* fast_pattern:only */
#define RULE_CT_RAWBYTES     0x0100u    /* accepted, no effect */
#define RULE_CT_STARTSWITH   0x0200u    /* startswith: offset 0, depth len */
#define RULE_CT_ENDSWITH     0x0400u    /* endswith: the match ends at the buffer's end */
#define RULE_CT_FP_CHOP      0x0800u    /* fast_pattern:offset,length */

/* Which of offset, depth, distance, within come from a variable. */
enum { RULE_POS_OFFSET = 0, RULE_POS_DEPTH, RULE_POS_DISTANCE, RULE_POS_WITHIN, RULE_POS_COUNT };

/* Positions follow Suricata: offset and depth are absolute (depth counts
 * from offset, so the pattern must end within offset+depth); distance and
 * within are relative to the end of the previous match in the same buffer
 * (content, pcre, or the position a byte_jump/byte_extract/byte_math left;
 * the buffer start when there is none): the pattern starts at least
 * distance bytes after it (distance may be negative) and ends at most
 * within bytes after it. A content has either absolute or relative
 * positions, never both. A position may be a byte_extract/byte_math
 * variable (var[] >= 0), read when the rule is evaluated. */
struct rule_content {
    uint8_t  *bytes;               /* unescaped, hex decoded; not NUL-terminated */
    uint32_t  len;                 /* > 0 */
    uint16_t  flags;               /* RULE_CT_* */
    uint16_t  offset, depth;       /* valid with RULE_CT_OFFSET / RULE_CT_DEPTH */
    int32_t   distance;            /* valid with RULE_CT_DISTANCE */
    uint32_t  within;              /* valid with RULE_CT_WITHIN; >= len unless a variable */
    int8_t    var[RULE_POS_COUNT]; /* variable index per position, -1: the number above */
    uint16_t  fp_off, fp_len;      /* RULE_CT_FP_CHOP: the part the prefilter looks for */
};

#define RULE_PCRE_NEGATED    0x01u  /* pcre:!"..." */
#define RULE_PCRE_RELATIVE   0x02u  /* R: starts at the end of the previous match in the buffer */
#define RULE_PCRE_RAWBYTES   0x04u  /* B: accepted, no effect */
#define RULE_PCRE_JIT        0x08u  /* JIT compilation succeeded */

struct rule_pcre {
    struct pcre2_real_code_8 *code; /* compiled with i s m x A E G as options */
    char     *text;                 /* "/re/flags" as written, for messages */
    uint8_t   flags;                /* RULE_PCRE_* */
};

/* isdataat:[!]N[,relative]: absolute, data at N (N < length); relative,
 * N more bytes after the previous match (prev + N <= length), Suricata's
 * one-byte difference. */
#define RULE_ID_NEGATED      0x01u
#define RULE_ID_RELATIVE     0x02u

struct rule_isdataat {
    uint8_t  flags;                /* RULE_ID_* */
    int8_t   var;                  /* N from a variable, -1 none */
    uint32_t n;
};

/* byte_test, byte_jump, byte_extract, byte_math: read nbytes at offset
 * (from the buffer start, or with RULE_BY_RELATIVE from the previous match),
 * as a big or little endian binary number or as a string number (base 8,
 * 10, 16), mask it, then: byte_test compares it, byte_jump moves the
 * position, byte_extract stores it in a variable, byte_math computes with it
 * and stores the result. */
#define RULE_BY_RELATIVE     0x0001u
#define RULE_BY_LITTLE       0x0002u
#define RULE_BY_STRING       0x0004u
#define RULE_BY_NEGATE       0x0008u    /* byte_test: !op */
#define RULE_BY_ALIGN        0x0010u    /* byte_jump: round up to 4; byte_extract: to align */
#define RULE_BY_FROM_BEGIN   0x0020u    /* byte_jump */
#define RULE_BY_FROM_END     0x0040u    /* byte_jump */
#define RULE_BY_BITMASK      0x0080u
#define RULE_BY_DCE          0x0100u    /* accepted: DCE/RPC byte order (little endian here) */

enum rule_byte_op {
    RULE_BOP_LT = 1, RULE_BOP_GT, RULE_BOP_EQ, RULE_BOP_LE, RULE_BOP_GE,
    RULE_BOP_AND, RULE_BOP_OR,                              /* byte_test & and ^ */
    RULE_BOP_ADD, RULE_BOP_SUB, RULE_BOP_MUL, RULE_BOP_DIV,  /* byte_math oper */
    RULE_BOP_SHL, RULE_BOP_SHR
};

#define RULE_MAX_VARS        8          /* byte_extract / byte_math variables per rule */

struct rule_byte {
    uint16_t flags;                /* RULE_BY_* */
    uint8_t  nbytes;               /* 0..8 binary (0: reads nothing, the value is 0),
                                    * 0..23 string (0: the rest of the buffer, at most 23) */
    uint8_t  base;                 /* 8, 10, 16 with RULE_BY_STRING */
    uint8_t  op;                   /* enum rule_byte_op (byte_test, byte_math) */
    uint8_t  align;                /* byte_extract: 2 or 4 */
    int8_t   nbytes_var;           /* nbytes from a variable, -1 none */
    int8_t   offset_var;           /* offset from a variable, -1 none */
    int8_t   value_var;            /* byte_test value / byte_math rvalue from a variable, -1 none */
    int8_t   result;               /* byte_extract / byte_math: the variable written */
    int32_t  offset;
    int32_t  post_offset;          /* byte_jump */
    uint32_t multiplier;           /* byte_jump, byte_extract; 1 by default */
    uint64_t value;                /* byte_test value, byte_math rvalue */
    uint64_t bitmask;              /* with RULE_BY_BITMASK */
};

/* base64_decode:[bytes N][, offset N][, relative]: decodes from the buffer
 * (from the previous match with relative) for base64_data. */
struct rule_b64 {
    uint32_t bytes;                /* 0: to the end */
    uint32_t offset;
    uint8_t  relative;
};

/* dsize, ttl, itype, icode, ip_proto and the other header numbers, bsize,
 * urilen, pii counts. RANGE is exclusive as in Suricata: "dsize:10<>20" matches 11..19. */
enum rule_cmp_op {
    RULE_CMP_NONE = 0,             /* keyword not given */
    RULE_CMP_EQ, RULE_CMP_NE, RULE_CMP_LT, RULE_CMP_LE,
    RULE_CMP_GT, RULE_CMP_GE, RULE_CMP_RANGE
};

struct rule_cmp {
    uint8_t  op;                   /* enum rule_cmp_op */
    uint32_t a, b;                 /* b only for RANGE */
};

/* Whether v satisfies c (NONE: always). */
static inline int rule_cmp_match(const struct rule_cmp *c, uint32_t v)
{
    switch (c->op) {
    case RULE_CMP_EQ:    return v == c->a;
    case RULE_CMP_NE:    return v != c->a;
    case RULE_CMP_LT:    return v < c->a;
    case RULE_CMP_LE:    return v <= c->a;
    case RULE_CMP_GT:    return v > c->a;
    case RULE_CMP_GE:    return v >= c->a;
    case RULE_CMP_RANGE: return v > c->a && v < c->b;
    default:             return 1;
    }
}

/* pii:<type>[|<type>...][, count <op> N] (sensor/detect/pii.h): the
 * validated personal-data items of the listed types in the buffer. */
struct pii_keyword {
    uint32_t        types;           /* PII_T_* */
    struct rule_cmp cmp;             /* op: RULE_CMP_EQ .. RULE_CMP_GE, a: N */
};

/* filemd5, filesha1, filesha256: [!]FILE, a list of digests, one in hex
 * per line. The buffer (a complete file's digest) is in the list, or with
 * negated is not. */
struct rule_hashlist {
    uint8_t  *v;                   /* n digests of len bytes, sorted, no duplicates */
    uint32_t  n;
    uint8_t   len;                 /* 16, 20 or 32 */
    uint8_t   negated;
};

enum rule_sm_type {
    RULE_SM_CONTENT = 0, RULE_SM_PCRE, RULE_SM_ISDATAAT, RULE_SM_BYTE_TEST,
    RULE_SM_BYTE_JUMP, RULE_SM_BYTE_EXTRACT, RULE_SM_BYTE_MATH, RULE_SM_B64_DECODE,
    RULE_SM_PII, RULE_SM_HASHLIST
};

/* One inspection of a buffer, in rule order. The matcher walks them per
 * view: relative positions refer to the previous entry of the same view. */
struct rule_sm {
    uint8_t type;                  /* enum rule_sm_type */
    uint8_t buf;                   /* enum rule_buffer (the view's) */
    uint8_t view;                  /* index in rule.views */
    union {
        struct rule_content  c;
        struct rule_pcre     p;
        struct rule_isdataat d;
        struct rule_byte     b;
        struct rule_b64      b64;
        struct pii_keyword   pii;
        struct rule_hashlist h;
    } u;
};

/* ------------------------------------------------------------------ other options */

/* One sticky buffer as a rule inspects it: the buffer, the transforms
 * applied to it first, and what its length must be. A rule has a view per
 * buffer and transform chain it names; its matches (struct rule_sm) say
 * which view they belong to. */
struct rule_view {
    uint8_t  buf;                  /* enum rule_buffer */
    uint8_t  nxf;
    struct rule_xform xf[RULE_MAX_XFORMS];
    struct rule_cmp bsize;         /* bsize; op NONE: not given */
    struct rule_cmp urilen;        /* urilen (on http.uri or http.uri.raw) */
};

#define RULE_FLOW_TO_SERVER       0x01u  /* also from_client */
#define RULE_FLOW_TO_CLIENT       0x02u  /* also from_server */
#define RULE_FLOW_ESTABLISHED     0x04u
#define RULE_FLOW_NOT_ESTABLISHED 0x08u
#define RULE_FLOW_STATELESS       0x10u
#define RULE_FLOW_ONLY_STREAM     0x20u  /* accepted; we match packets */
#define RULE_FLOW_NO_STREAM       0x40u  /* accepted; we match packets */

/* TCP header flag bits as on the wire. */
#define RULE_TCP_FIN 0x01u
#define RULE_TCP_SYN 0x02u
#define RULE_TCP_RST 0x04u
#define RULE_TCP_PSH 0x08u
#define RULE_TCP_ACK 0x10u
#define RULE_TCP_URG 0x20u
#define RULE_TCP_ECE 0x40u
#define RULE_TCP_CWR 0x80u

/* flags:[+*!]FLAGS[,IGNORE]. With v = packet flags & ~ignore:
 * EXACT v == flags; PLUS (v & flags) == flags; ANY (v & flags) != 0;
 * NOT (v & flags) != flags (Suricata's "!"). */
enum rule_tcpflags_mode { RULE_FLAGS_EXACT = 0, RULE_FLAGS_PLUS, RULE_FLAGS_ANY, RULE_FLAGS_NOT };

struct rule_tcpflags {
    uint8_t set;                   /* keyword given */
    uint8_t mode;                  /* enum rule_tcpflags_mode */
    uint8_t flags;
    uint8_t ignore;
};

enum rule_thr_type {
    RULE_THR_NONE = 0,
    RULE_THR_LIMIT, RULE_THR_THRESHOLD, RULE_THR_BOTH,   /* threshold: type ... */
    RULE_THR_DETECTION_FILTER                            /* detection_filter */
};
enum rule_track { RULE_TRACK_BY_SRC = 0, RULE_TRACK_BY_DST, RULE_TRACK_BY_RULE, RULE_TRACK_BY_BOTH };

struct rule_threshold {
    uint8_t  type;                 /* enum rule_thr_type */
    uint8_t  track;                /* enum rule_track */
    uint32_t count;                /* >= 1 */
    uint32_t seconds;              /* >= 1 */
};

/* geoip: Suricata's semantics. SRC/DST: that address's country is in the
 * list; ANY: either is; BOTH: both are. negated: "not in the list" for each
 * address tested. An address with no country never matches. */
enum rule_geo_dir { RULE_GEO_SRC = 1, RULE_GEO_DST, RULE_GEO_ANY, RULE_GEO_BOTH };

struct rule_geoip {
    uint8_t  dir;                  /* enum rule_geo_dir */
    uint8_t  negated;
    uint16_t n;
    char   (*cc)[3];               /* upper-case ISO 3166-1 alpha-2, NUL-terminated */
};

/* flowbits: per flow; xbits: per address or address pair, with expiry.
 * A bit is known by its name's hash (rule_name_hash()), so a flow keeps its
 * bits across a rule reload. set/unset/toggle act when the rule matches
 * (after everything else in it); isset/isnotset are tests. Several names:
 * "a|b" any of them (tests), "a&b" all of them. */
enum rule_bit_op {
    RULE_BIT_SET = 1, RULE_BIT_UNSET, RULE_BIT_TOGGLE, RULE_BIT_ISSET, RULE_BIT_ISNOTSET
};
enum rule_xtrack { RULE_XT_SRC = 0, RULE_XT_DST, RULE_XT_PAIR };

#define RULE_MAX_BITNAMES 8

struct rule_bit {
    uint8_t  op;                   /* enum rule_bit_op */
    uint8_t  any;                  /* names joined by '|': one is enough */
    uint8_t  n;                    /* names, 1..RULE_MAX_BITNAMES */
    uint8_t  track;                /* xbits: enum rule_xtrack */
    uint32_t expire;               /* xbits: seconds (0: the default) */
    uint64_t name[RULE_MAX_BITNAMES];
    char    *text;                 /* the names as written, for messages */
};

/* flowint:name,op[,value]: integer flow variables. */
enum rule_fint_op {
    RULE_FI_SET = 1, RULE_FI_ADD, RULE_FI_SUB,                  /* modifiers: act on match */
    RULE_FI_EQ, RULE_FI_NE, RULE_FI_LT, RULE_FI_GT, RULE_FI_LE, RULE_FI_GE,
    RULE_FI_ISSET, RULE_FI_NOTSET                               /* tests */
};

struct rule_flowint {
    uint8_t  op;                   /* enum rule_fint_op */
    uint8_t  has_var;              /* the value is another flowint */
    uint64_t name;                 /* rule_name_hash() */
    uint64_t var;                  /* with has_var */
    uint32_t value;
};

/* stream_size:server|client|both|either,op,N: bytes each TCP side sent
 * (next sequence number minus the initial one, as Suricata counts). */
enum rule_ss_side { RULE_SS_SERVER = 1, RULE_SS_CLIENT, RULE_SS_BOTH, RULE_SS_EITHER };

struct rule_stream_size {
    uint8_t side;                  /* enum rule_ss_side; 0: not given */
    struct rule_cmp cmp;
};

#define RULE_MAX_STREAM_SIZE 4

/* Values of a transaction or of the flow's summary that keywords compare
 * (tls.version:1.2, tls_cert_notafter:>2020-01-01, dns.opcode:!0, ...);
 * a provider gives them (detect-buffer.h). */
enum rule_value_id {
    RULE_VAL_TLS_VERSION = 0,      /* as on the wire, 0x0303 for TLS 1.2 */
    RULE_VAL_TLS_NOTBEFORE,        /* certificate validity, UTC seconds */
    RULE_VAL_TLS_NOTAFTER,
    RULE_VAL_DNS_OPCODE,
    RULE_VAL_FILESIZE,             /* a file's size in bytes, once it is closed or truncated */
    RULE_VAL_FTPDATA_COMMAND,      /* enum ftp_data_cmd: 1 STOR, 2 RETR */
    RULE_VAL_COUNT
};

/* A value test. EXPIRED / VALID compare the certificate's dates with the
 * packet's time instead of cmp. */
enum rule_vtest { RULE_VT_CMP = 0, RULE_VT_EXPIRED, RULE_VT_VALID };

struct rule_value {
    uint8_t id;                    /* enum rule_value_id (VALID/EXPIRED: NOTAFTER) */
    uint8_t test;                  /* enum rule_vtest */
    uint8_t neg;
    struct rule_cmp cmp;
};

#define RULE_MAX_VALUES 4

/* decode-event, stream-event, app-layer-event: an anomaly a stage names. */
enum rule_event_kind { RULE_EV_DECODE = 1, RULE_EV_STREAM, RULE_EV_APP };

struct rule_event {
    uint8_t  kind;                 /* enum rule_event_kind */
    uint8_t  ipver;                /* decode events by Suricata's name: 4 or 6 when the
                                    * name says the IP version ("ipv6.frag_overlap"), else 0 */
    uint16_t id;                   /* the stage's event number */
    char    *name;                 /* as written, "ipv4.opt_invalid_len" */
};

/* fragbits:[+*!]MDR[,IGNORE] on the IPv4 flags, as flags: does on TCP's. */
#define RULE_FRAG_R 0x04u          /* reserved bit */
#define RULE_FRAG_D 0x02u          /* don't fragment */
#define RULE_FRAG_M 0x01u          /* more fragments */

/* ipopts names, a bit each. */
enum rule_ipopt {
    RULE_IPOPT_RR = 0, RULE_IPOPT_EOL, RULE_IPOPT_NOP, RULE_IPOPT_TS, RULE_IPOPT_SEC,
    RULE_IPOPT_ESEC, RULE_IPOPT_LSRR, RULE_IPOPT_SSRR, RULE_IPOPT_SATID, RULE_IPOPT_ANY
};

/* tag:session|host[,COUNT,packets|bytes|seconds[,src|dst]]: Suricata tags
 * the packets that follow an alert (of its flow, or to and from one of its
 * addresses) for logging. Parsed and kept; linkwatch logs no tagged
 * packets (rules/README.md). */
enum rule_tag_scope { RULE_TAG_SESSION = 1, RULE_TAG_HOST };
enum rule_tag_metric { RULE_TAG_PACKETS = 1, RULE_TAG_BYTES, RULE_TAG_SECONDS };

struct rule_tag {
    uint8_t  scope;                /* enum rule_tag_scope */
    uint8_t  metric;               /* enum rule_tag_metric */
    uint8_t  host_src;             /* host: the alert's source address, else its destination */
    uint32_t count;                /* default 256 packets */
};

#define RULE_MAX_TAGS 4

/* target:src_ip|dest_ip: which end of the alert is the target. */
enum rule_target { RULE_TARGET_NONE = 0, RULE_TARGET_SRC, RULE_TARGET_DST };

/* What kinds of tests a rule has besides its buffers, so the engine can
 * tell where to run it (struct rule.tests). */
#define RULE_T_PACKET        0x0001u    /* per-packet header tests (dsize, ttl, flags, seq, ...) */
#define RULE_T_STATE         0x0002u    /* flowbits, flowint, xbits tests */
#define RULE_T_ACTIONS       0x0004u    /* sets flowbits, flowint, xbits */
#define RULE_T_STREAM_SIZE   0x0008u
#define RULE_T_EVENT         0x0010u    /* decode-, stream-, app-layer-event */
#define RULE_T_GEO           0x0020u
#define RULE_T_VALUE         0x0040u    /* application values (tls.version, ...) */

struct rule_kv {
    char *key, *value;             /* metadata "key value"; reference "type,value" */
};

/* A classification.config entry. */
struct rule_class {
    char *name;                    /* "trojan-activity" */
    char *desc;                    /* "A Network Trojan was detected" */
    int   priority;                /* 1 (highest) .. 255 */
};

struct rule_classes {
    struct rule_class *v;
    size_t             n;
};

/* ------------------------------------------------------------------ errors */

#define RULE_ERR_LEN            512

/* One refusal: msg is the full reason, agg the same reason without the
 * values that differ from rule to rule ("bad pcre"), for the report's
 * reason counts. Neither carries file:line. */
struct rule_error {
    char msg[RULE_ERR_LEN];
    char agg[RULE_ERR_LEN];
    uint8_t skipped;               /* not an error: requires: is not met (Suricata skips the rule) */
};

/* ------------------------------------------------------------------ the rule */

#define RULE_PROTO_LEN 16

struct rule {
    uint32_t gid, sid, rev;        /* gid 1 and rev 0 unless given */
    uint8_t  action;               /* enum rule_action */
    uint8_t  bidir;                /* "<>": also match with src/dst swapped */
    uint8_t  ipproto;              /* 6 tcp, 17 udp, 1 icmp (v4 and v6); 0: ip or app-layer */
    uint8_t  app_layer;            /* proto is an application protocol: match the flow's app_proto */
    uint8_t  ipver;                /* ipv4/ipv6/icmpv4/icmpv6: 4 or 6, the IP version it matches; 0 any */
    char     proto[RULE_PROTO_LEN];/* normalised header protocol: "tcp", "http" (for http1) */
    uint8_t  priority;             /* priority:, else the classtype's, else 3 */
    uint8_t  flow;                 /* RULE_FLOW_* */
    struct rule_tcpflags tcpflags;

    struct rule_addrset src, dst;
    struct rule_portset sport, dport;

    char    *msg;                  /* "" when not given */
    const struct rule_class *cls;  /* NULL without classtype */
    struct rule_kv *metadata;
    uint32_t nmetadata;
    struct rule_kv *refs;
    uint32_t nrefs;

    struct rule_sm *sm;            /* buffer inspections in rule order */
    uint32_t nsm;
    struct rule_view *views;       /* the buffers inspected, with their transforms */
    uint32_t nviews;
    int32_t  fast_pattern;         /* index in sm of the fast_pattern content, -1 none */
    uint64_t buffers;              /* RULE_BUF_BIT(b) for each buffer inspected */
    uint8_t  nvars;                /* byte_extract / byte_math variables */
    uint8_t  dir;                  /* enum rule_dir its buffers and flow keyword imply */
    uint16_t tests;                /* RULE_T_* */

    struct rule_cmp dsize, ttl, itype, icode, ip_proto;
    struct rule_cmp tos, ipid, fragoffset, window, icmp_id, icmp_seq, seq, ack;
    struct rule_cmp icmpv6_mtu;    /* icmpv6.mtu: Packet Too Big's MTU, or a Router Advertisement's */
    struct rule_tcpflags fragbits; /* on the IPv4 flags: RULE_FRAG_* */
    uint16_t ipopts;               /* bit 1 << enum rule_ipopt, each must be present */

    struct rule_bit *bits;         /* flowbits, in rule order */
    uint32_t nbits;
    struct rule_bit *xbits;
    uint32_t nxbits;
    struct rule_flowint *fints;
    uint32_t nfints;
    struct rule_stream_size stream_size[RULE_MAX_STREAM_SIZE];   /* side 0 ends the list */
    struct rule_value values[RULE_MAX_VALUES];
    uint8_t  nvalues;
    struct rule_event *events;
    uint32_t nevents;
    uint8_t  noalert;              /* noalert, flowbits:noalert, xbits:noalert */
    uint8_t  bypass;               /* bypass: stop inspecting the flow after a match */
    uint8_t  target;               /* enum rule_target */
    uint8_t  ntags;
    struct rule_tag tags[RULE_MAX_TAGS];   /* tag keywords, in rule order */
    uint32_t pii_types;            /* PII_T_* of its pii keywords: the alert's "pii" object */
    struct rule_threshold threshold;   /* threshold or detection_filter */

    char    *app_proto;            /* app-layer-protocol value (lower case), NULL none */
    uint8_t  app_proto_neg;
    char    *ndpi_proto;           /* ndpi-protocol value ("TLS.Tor"), NULL none */
    uint8_t  ndpi_proto_neg;
    struct rule_geoip *geoip;      /* NULL none */

    uint64_t text_hash;            /* FNV-1a of the rule text: a reload tells changed rules by it */
    const char *file;              /* where it was loaded from; NULL for rule_parse() */
    uint32_t    line;              /* first line of the rule */
};

/* What ruleset_load_files() returns. Owns the rules, the classification
 * they point at, and the file names in rule->file. */
struct rule_list {
    struct rule       **v;
    size_t              n;
    struct rule_classes *classes;  /* NULL when none was loaded */
    char              **files;
    size_t              nfiles;
};

#endif
