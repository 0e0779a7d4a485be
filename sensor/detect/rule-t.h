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

/* Where a content or pcre looks. Sticky buffers come from the flow's nDPI
 * metadata (struct dpi_result); the payload is the packet's L4 payload. */
enum rule_buffer {
    RULE_BUF_PAYLOAD = 0,
    RULE_BUF_DNS_QUERY,            /* dns.query: dpi_dns.rrname */
    RULE_BUF_TLS_SNI,              /* tls.sni: dpi_tls.sni */
    RULE_BUF_TLS_CERT_SUBJECT,     /* dpi_tls.subject */
    RULE_BUF_TLS_CERT_ISSUER,      /* dpi_tls.issuerdn */
    RULE_BUF_JA3_HASH,             /* dpi_tls.ja3 */
    RULE_BUF_HTTP_HOST,            /* dpi_http.hostname */
    RULE_BUF_HTTP_URI,             /* dpi_http.url */
    RULE_BUF_HTTP_METHOD,          /* dpi_http.method */
    RULE_BUF_HTTP_USER_AGENT,      /* dpi_http.user_agent */
    RULE_BUF_SSH_SOFTWARE,         /* dpi_ssh.*_version after "SSH-x.y-" */
    RULE_BUF_COUNT
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

/* Positions follow Suricata: offset and depth are absolute (depth counts
 * from offset, so the pattern must end within offset+depth); distance and
 * within are relative to the end of the previous content or pcre match in
 * the same buffer (to the buffer start when there is none): the pattern
 * starts at least distance bytes after it (distance may be negative) and
 * ends at most within bytes after it. A content has either absolute or
 * relative positions, never both. */
struct rule_content {
    uint8_t  *bytes;               /* unescaped, hex decoded; not NUL-terminated */
    uint32_t  len;                 /* > 0 */
    uint16_t  flags;               /* RULE_CT_* */
    uint16_t  offset, depth;       /* valid with RULE_CT_OFFSET / RULE_CT_DEPTH */
    int32_t   distance;            /* valid with RULE_CT_DISTANCE */
    uint32_t  within;              /* valid with RULE_CT_WITHIN; >= len */
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

enum rule_sm_type { RULE_SM_CONTENT = 0, RULE_SM_PCRE };

/* One payload/buffer inspection, in rule order. The matcher walks them per
 * buffer: relative positions refer to the previous entry of the same buffer. */
struct rule_sm {
    uint8_t type;                  /* enum rule_sm_type */
    uint8_t buf;                   /* enum rule_buffer */
    union {
        struct rule_content c;
        struct rule_pcre    p;
    } u;
};

/* ------------------------------------------------------------------ other options */

/* dsize, ttl, itype, icode, ip_proto. RANGE is exclusive as in Suricata:
 * "dsize:10<>20" matches 11..19. */
enum rule_cmp_op {
    RULE_CMP_NONE = 0,             /* keyword not given */
    RULE_CMP_EQ, RULE_CMP_NE, RULE_CMP_LT, RULE_CMP_LE,
    RULE_CMP_GT, RULE_CMP_GE, RULE_CMP_RANGE
};

struct rule_cmp {
    uint8_t  op;                   /* enum rule_cmp_op */
    uint32_t a, b;                 /* b only for RANGE */
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
};

/* ------------------------------------------------------------------ the rule */

#define RULE_PROTO_LEN 16

struct rule {
    uint32_t gid, sid, rev;        /* gid 1 and rev 0 unless given */
    uint8_t  action;               /* enum rule_action */
    uint8_t  bidir;                /* "<>": also match with src/dst swapped */
    uint8_t  ipproto;              /* 6 tcp, 17 udp, 1 icmp (v4 and v6); 0: ip or app-layer */
    uint8_t  app_layer;            /* proto is an application protocol: match the flow's app_proto */
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

    struct rule_sm *sm;            /* contents and pcres in rule order */
    uint32_t nsm;
    int32_t  fast_pattern;         /* index in sm of the fast_pattern content, -1 none */
    uint32_t buffers;              /* bit 1 << RULE_BUF_x for each buffer inspected */

    struct rule_cmp dsize, ttl, itype, icode, ip_proto;
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
