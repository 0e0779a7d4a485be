/* rule-parse-int.h - what the parser's files share: the parse state of one
 * rule, the keyword table's shape, the handlers of each keyword family and
 * the small parsers they all use. Nothing outside the rule parser includes
 * it; rule-parse.h is the contract.
 *
 * rule-parse.c       header, option loop, keyword table, whole-rule checks
 * rule-kw-payload.c  content and its modifiers, pcre, sticky buffers and
 *                    transforms, isdataat, bsize, urilen, byte_*, base64,
 *                    the file digests (filemd5, filesha1, filesha256)
 * rule-kw-other.c    meta, flow and header keywords, thresholds, state
 *                    (flowbits, flowint, xbits, stream_size), events and the
 *                    keywords a passive sensor accepts (target, bypass, ...)
 */
#ifndef LW_RULE_PARSE_INT_H
#define LW_RULE_PARSE_INT_H

#include <stddef.h>
#include <stdint.h>
#include "rule-parse.h"


#define RULE_MAX_SEEN        192        /* keyword table rows */

/* Parse state of one rule. Contents, pcres and the other buffer keywords
 * go to the current view: the sticky buffer named last (the payload when
 * none) with the transforms written right after it. The view is made (or
 * found, when the rule already has one of the same buffer and transforms)
 * when the first of them arrives, so "http.uri; content:a; http.uri;
 * content:b;" is one view and "http.uri; to_lowercase;" another. */
struct pctx {
    struct rule                 *r;
    const struct rule_parse_env *env;
    struct rule_error           *err;
    uint8_t  cur_buf;                  /* buffer of the last sticky keyword */
    int32_t  cur_view;                 /* its view in r->views, -1 not made yet */
    struct rule_xform pxf[RULE_MAX_XFORMS];   /* transforms since the sticky keyword */
    uint8_t  npxf;
    uint8_t  xf_used;                  /* a view was made with pxf as it is */
    int32_t  last_content;             /* index in r->sm, -1 none */
    uint32_t sm_cap, md_cap, ref_cap, view_cap, bit_cap, xbit_cap, fint_cap, ev_cap;
    char    *vars[RULE_MAX_VARS];      /* byte_extract / byte_math names */
    uint8_t  seen[RULE_MAX_SEEN];      /* single-use keywords given, by table index */
    uint8_t  have_prio;
    uint8_t  skip;                     /* requires: not met; the rule is refused as skipped */
};

struct keyword;
typedef int (*kw_fn)(struct pctx *pc, const struct keyword *kw, char *val);

enum { VAL_NONE, VAL_NEED, VAL_OPT };

struct keyword {
    const char *name;
    kw_fn       fn;
    uint8_t     val;                   /* VAL_* */
    uint8_t     once;                  /* may be given once per rule */
    int         arg;                   /* buffer, field, ... per handler */
    const char *doc;                   /* what it means, one line (the keyword list) */
    const char *example;               /* one use, as written in a rule */
};

/* ------------------------------------------------------------------ helpers (rule-parse.c) */

/* Fills the rule's error: fmt is the full reason, agg its aggregate form
 * (NULL: the same). Always returns -1. */
int perr(struct pctx *pc, const char *agg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Decimal in [min, max], nothing else around it but blanks. 0 or -1. */
int rp_num(const char *s, long long min, long long max, long long *out);
/* The same with 0x hex accepted. */
int rp_num_hex(const char *s, long long min, long long max, long long *out);
int rp_u32(const char *s, uint32_t min, uint32_t *out);

/* A quoted option string ("..." with \x escapes for any x) into a new
 * string; unquoted text is taken as is. NULL when unterminated or out of
 * memory (pc->err filled). */
char *rp_string(struct pctx *pc, const char *kw, const char *v);
/* The same keeping backslashes (a regex), but for \" and \;. */
char *rp_string_raw(struct pctx *pc, const char *kw, const char *v);

/* "n", "<n", "<=n", ">n", ">=n", "!n", "=n", "n<>m", "n-m" with n,m in
 * [0,max]. name may translate words to numbers (ip_proto). 0 or -1. */
int rp_cmp(const char *s, uint32_t max, int (*name)(const char *, uint32_t *), struct rule_cmp *c);

/* Splits s at commas into at most max trimmed fields (in place). Returns
 * how many, or -1 when there are more. */
int rp_split(char *s, char **f, int max);

/* FNV-1a of a flowbit / xbit / flowint name. */
uint64_t rule_name_hash(const char *s, size_t n);

/* ------------------------------------------------------------------ payload (rule-kw-payload.c) */

/* The view the next buffer keyword goes to (made now when needed); -1 with
 * the error set when out of memory. */
int rp_view(struct pctx *pc);
/* Frees transforms (their keys and regexes). */
void rp_xforms_free(struct rule_xform *xf, unsigned n);
/* The variable named s (byte_extract / byte_math), -1 when none. */
int rp_var(const struct pctx *pc, const char *s);
/* Whole-rule checks of the buffer keywords (fast_pattern:only, bsize
 * against contents, relative keywords); fills r->buffers. 0 or -1. */
int rp_check_payload(struct pctx *pc);

int kw_content(struct pctx *pc, const struct keyword *kw, char *val);
int kw_uricontent(struct pctx *pc, const struct keyword *kw, char *val);
int kw_flagmod(struct pctx *pc, const struct keyword *kw, char *val);
int kw_position(struct pctx *pc, const struct keyword *kw, char *val);
int kw_startswith(struct pctx *pc, const struct keyword *kw, char *val);
int kw_endswith(struct pctx *pc, const struct keyword *kw, char *val);
int kw_fast_pattern(struct pctx *pc, const struct keyword *kw, char *val);
int kw_pcre(struct pctx *pc, const struct keyword *kw, char *val);
int kw_pkt_data(struct pctx *pc, const struct keyword *kw, char *val);
int kw_sticky(struct pctx *pc, const struct keyword *kw, char *val);
int kw_content_buffer(struct pctx *pc, const struct keyword *kw, char *val);
int kw_transform(struct pctx *pc, const struct keyword *kw, char *val);
int kw_isdataat(struct pctx *pc, const struct keyword *kw, char *val);
int kw_bsize(struct pctx *pc, const struct keyword *kw, char *val);
int kw_pii(struct pctx *pc, const struct keyword *kw, char *val);
int kw_urilen(struct pctx *pc, const struct keyword *kw, char *val);
int kw_byte(struct pctx *pc, const struct keyword *kw, char *val);
int kw_byte_math(struct pctx *pc, const struct keyword *kw, char *val);
int kw_base64_decode(struct pctx *pc, const struct keyword *kw, char *val);
int kw_base64_data(struct pctx *pc, const struct keyword *kw, char *val);
int kw_filehash(struct pctx *pc, const struct keyword *kw, char *val);

/* ------------------------------------------------------------------ the rest (rule-kw-other.c) */

int kw_msg(struct pctx *pc, const struct keyword *kw, char *val);
int kw_id(struct pctx *pc, const struct keyword *kw, char *val);
int kw_classtype(struct pctx *pc, const struct keyword *kw, char *val);
int kw_priority(struct pctx *pc, const struct keyword *kw, char *val);
int kw_metadata(struct pctx *pc, const struct keyword *kw, char *val);
int kw_reference(struct pctx *pc, const struct keyword *kw, char *val);
int kw_flow(struct pctx *pc, const struct keyword *kw, char *val);
int kw_flags(struct pctx *pc, const struct keyword *kw, char *val);
int kw_fragbits(struct pctx *pc, const struct keyword *kw, char *val);
int kw_cmp(struct pctx *pc, const struct keyword *kw, char *val);
int kw_ip_proto(struct pctx *pc, const struct keyword *kw, char *val);
int kw_ipopts(struct pctx *pc, const struct keyword *kw, char *val);
int kw_threshold(struct pctx *pc, const struct keyword *kw, char *val);
int kw_app_layer_protocol(struct pctx *pc, const struct keyword *kw, char *val);
int kw_ndpi_protocol(struct pctx *pc, const struct keyword *kw, char *val);
int kw_geoip(struct pctx *pc, const struct keyword *kw, char *val);
int kw_bits(struct pctx *pc, const struct keyword *kw, char *val);
int kw_flowint(struct pctx *pc, const struct keyword *kw, char *val);
int kw_stream_size(struct pctx *pc, const struct keyword *kw, char *val);
int kw_noalert(struct pctx *pc, const struct keyword *kw, char *val);
int kw_bypass(struct pctx *pc, const struct keyword *kw, char *val);
int kw_target(struct pctx *pc, const struct keyword *kw, char *val);
int kw_tag(struct pctx *pc, const struct keyword *kw, char *val);
int kw_requires(struct pctx *pc, const struct keyword *kw, char *val);
int kw_prefilter(struct pctx *pc, const struct keyword *kw, char *val);
int kw_event(struct pctx *pc, const struct keyword *kw, char *val);
int kw_tls_version(struct pctx *pc, const struct keyword *kw, char *val);
int kw_tls_cert_date(struct pctx *pc, const struct keyword *kw, char *val);
int kw_tls_cert_state(struct pctx *pc, const struct keyword *kw, char *val);
int kw_dns_opcode(struct pctx *pc, const struct keyword *kw, char *val);
int kw_value_content(struct pctx *pc, const struct keyword *kw, char *val);
int kw_ftpdata_command(struct pctx *pc, const struct keyword *kw, char *val);
int kw_filesize(struct pctx *pc, const struct keyword *kw, char *val);

/* Whether s names a header protocol that is an application protocol
 * (app-layer-protocol's values), "failed" and "unknown" included. */
int rp_app_proto_known(const char *s);
/* Header protocol name: its stored name, IP protocol (0: any) and whether
 * it is an application protocol. Returns 0, or -1 when not supported. */
int rp_protocol(const char *name, const char **norm, uint8_t *ipproto, uint8_t *app, uint8_t *ipver);

#endif
