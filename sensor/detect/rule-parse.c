/* rule-parse.c - the Suricata rule language subset: one rule's header and
 * options into a struct rule (rule-load.c reads the files).
 *
 * A rule is parsed option by option in order, as Suricata does: a content
 * belongs to the sticky buffer named before it (the payload when none),
 * content modifiers apply to the last content, and checks that need the
 * whole rule run at the end. Anything we cannot honour exactly refuses the
 * rule with a reason, so a loaded rule never half-matches.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pcre2.h>

#include "config.h"
#include "rule-parse.h"
#include "rule-text.h"
#include "util.h"

/* Parse state of one rule. */
struct pctx {
    struct rule                 *r;
    const struct rule_parse_env *env;
    struct rule_error           *err;
    uint8_t  cur_buf;                  /* sticky buffer for the next content/pcre */
    int32_t  last_content;             /* index in r->sm, -1 none */
    uint32_t sm_cap, md_cap, ref_cap;
    uint8_t  seen[96];                 /* single-use keywords given, by table index */
    uint8_t  have_prio;
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
};

static int perr(struct pctx *pc, const char *agg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills the rule's error: fmt is the full reason, agg its aggregate form
 * (NULL: the same). Always returns -1. */
static int perr(struct pctx *pc, const char *agg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(pc->err->msg, sizeof pc->err->msg, fmt, ap);
    va_end(ap);
    snprintf(pc->err->agg, sizeof pc->err->agg, "%s", agg ? agg : pc->err->msg);
    return -1;
}

/* ------------------------------------------------------------------ names */

static const char *const buffer_names[RULE_BUF_COUNT] = {
    [RULE_BUF_PAYLOAD]          = "payload",
    [RULE_BUF_DNS_QUERY]        = "dns.query",
    [RULE_BUF_TLS_SNI]          = "tls.sni",
    [RULE_BUF_TLS_CERT_SUBJECT] = "tls.cert_subject",
    [RULE_BUF_TLS_CERT_ISSUER]  = "tls.cert_issuer",
    [RULE_BUF_JA3_HASH]         = "ja3.hash",
    [RULE_BUF_HTTP_HOST]        = "http.host",
    [RULE_BUF_HTTP_URI]         = "http.uri",
    [RULE_BUF_HTTP_METHOD]      = "http.method",
    [RULE_BUF_HTTP_USER_AGENT]  = "http.user_agent",
    [RULE_BUF_SSH_SOFTWARE]     = "ssh.software",
};

/* The application protocol each sticky buffer comes from. */
static const char *const buffer_proto[RULE_BUF_COUNT] = {
    [RULE_BUF_PAYLOAD]          = NULL,
    [RULE_BUF_DNS_QUERY]        = "dns",
    [RULE_BUF_TLS_SNI]          = "tls",
    [RULE_BUF_TLS_CERT_SUBJECT] = "tls",
    [RULE_BUF_TLS_CERT_ISSUER]  = "tls",
    [RULE_BUF_JA3_HASH]         = "tls",
    [RULE_BUF_HTTP_HOST]        = "http",
    [RULE_BUF_HTTP_URI]         = "http",
    [RULE_BUF_HTTP_METHOD]      = "http",
    [RULE_BUF_HTTP_USER_AGENT]  = "http",
    [RULE_BUF_SSH_SOFTWARE]     = "ssh",
};

const char *rule_buffer_name(enum rule_buffer b)
{
    return (unsigned)b < RULE_BUF_COUNT ? buffer_names[b] : "?";
}

const char *rule_action_name(enum rule_action a)
{
    switch (a) {
    case RULE_ACTION_ALERT:  return "alert";
    case RULE_ACTION_PASS:   return "pass";
    case RULE_ACTION_DROP:   return "drop";
    case RULE_ACTION_REJECT: return "reject";
    }
    return "?";
}

/* Header protocols: the name as written, the one stored, the IP protocol
 * (0: any) and whether it is an application protocol seen through nDPI. */
static const struct {
    const char *name, *norm;
    uint8_t     ipproto, app;
} protocols[] = {
    { "ip", "ip", 0, 0 },           { "tcp", "tcp", 6, 0 },
    { "tcp-pkt", "tcp", 6, 0 },     { "udp", "udp", 17, 0 },
    { "icmp", "icmp", 1, 0 },
    { "http", "http", 0, 1 },       { "http1", "http", 0, 1 },
    { "tls", "tls", 0, 1 },         { "dtls", "dtls", 0, 1 },
    { "dns", "dns", 0, 1 },         { "ssh", "ssh", 0, 1 },
    { "smb", "smb", 0, 1 },         { "ftp", "ftp", 0, 1 },
    { "ftp-data", "ftp-data", 0, 1 }, { "smtp", "smtp", 0, 1 },
    { "imap", "imap", 0, 1 },       { "pop3", "pop3", 0, 1 },
    { "quic", "quic", 0, 1 },       { "dhcp", "dhcp", 0, 1 },
    { "ntp", "ntp", 0, 1 },         { "snmp", "snmp", 0, 1 },
    { "rdp", "rdp", 0, 1 },         { "sip", "sip", 0, 1 },
    { "mqtt", "mqtt", 0, 1 },       { "modbus", "modbus", 0, 1 },
    { "dnp3", "dnp3", 0, 1 },       { "krb5", "krb5", 0, 1 },
    { "nfs", "nfs", 0, 1 },         { "tftp", "tftp", 0, 1 },
    { "rfb", "rfb", 0, 1 },         { "telnet", "telnet", 0, 1 },
    { "irc", "irc", 0, 1 },         { "bittorrent", "bittorrent", 0, 1 },
    { "ldap", "ldap", 0, 1 },       { "mysql", "mysql", 0, 1 },
    { "pgsql", "pgsql", 0, 1 },     { "dcerpc", "dcerpc", 0, 1 },
    { "enip", "enip", 0, 1 },       { "websocket", "websocket", 0, 1 },
};

static int app_proto_known(const char *s)
{
    if (strcmp(s, "failed") == 0 || strcmp(s, "unknown") == 0)
        return 1;
    for (size_t i = 0; i < sizeof protocols / sizeof protocols[0]; i++)
        if (protocols[i].app && strcmp(protocols[i].norm, s) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ small parsers */

/* Decimal in [min, max], nothing else around it but blanks. */
static int parse_num(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    while (*s == ' ' || *s == '\t')
        s++;
    if (!(*s == '-' || (*s >= '0' && *s <= '9')))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_u32(const char *s, uint32_t min, uint32_t *out)
{
    long long v;

    if (parse_num(s, min, UINT32_MAX, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* A quoted option string ("..." with \x escapes for any x) into a new
 * string; unquoted text is taken as is. NULL when unterminated or out of
 * memory (pc->err filled). */
static char *parse_string(struct pctx *pc, const char *kw, const char *v)
{
    size_t n = strlen(v), o = 0;
    char *s;

    if (*v != '"')
        return strdup(v);
    if ((s = malloc(n)) == NULL)
        return NULL;
    for (size_t i = 1; i < n; i++) {
        if (v[i] == '\\' && i + 1 < n) {
            s[o++] = v[++i];
        } else if (v[i] == '"') {
            if (i + 1 != n)
                break;
            s[o] = '\0';
            return s;
        } else {
            s[o++] = v[i];
        }
    }
    free(s);
    perr(pc, NULL, "unterminated %s", kw);
    return NULL;
}

static struct rule_sm *sm_new(struct pctx *pc, uint8_t type, uint8_t buf)
{
    struct rule *r = pc->r;
    struct rule_sm *sm;

    if (rule_grow((void **)&r->sm, &pc->sm_cap, r->nsm, sizeof *r->sm) < 0) {
        perr(pc, NULL, "out of memory");
        return NULL;
    }
    sm = &r->sm[r->nsm++];
    memset(sm, 0, sizeof *sm);
    sm->type = type;
    sm->buf = buf;
    return sm;
}

static int kv_add(struct pctx *pc, struct rule_kv **v, uint32_t *n, uint32_t *cap,
                  const char *key, size_t klen, const char *value)
{
    struct rule_kv *kv;

    if (rule_grow((void **)v, cap, *n, sizeof **v) < 0)
        return perr(pc, NULL, "out of memory");
    kv = &(*v)[*n];
    kv->key = strndup(key, klen);
    kv->value = strdup(value);
    (*n)++;
    if (kv->key == NULL || kv->value == NULL)
        return perr(pc, NULL, "out of memory");
    return 0;
}

/* ------------------------------------------------------------------ meta keywords */

static int kw_msg(struct pctx *pc, const struct keyword *kw, char *val)
{
    char *s = parse_string(pc, "msg", val);

    if (s == NULL)
        return pc->err->msg[0] ? -1 : perr(pc, NULL, "out of memory");
    free(pc->r->msg);
    pc->r->msg = s;
    return 0;
}

static int kw_id(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule *r = pc->r;
    uint32_t *field = kw->arg == 0 ? &r->sid : kw->arg == 1 ? &r->rev : &r->gid;
    char agg[64];

    if (parse_u32(val, kw->arg == 0 ? 1 : 0, field) < 0) {
        snprintf(agg, sizeof agg, "bad %s", kw->name);
        return perr(pc, agg, "bad %s '%.60s'", kw->name, val);
    }
    return 0;
}

static int kw_classtype(struct pctx *pc, const struct keyword *kw, char *val)
{
    const struct rule_classes *c = pc->env->classes;

    if (c == NULL)
        return 0;
    if ((pc->r->cls = rule_classes_find(c, val)) == NULL)
        return perr(pc, NULL, "unknown classtype '%.60s'", val);
    return 0;
}

static int kw_priority(struct pctx *pc, const struct keyword *kw, char *val)
{
    long long v;

    if (parse_num(val, 1, 255, &v) < 0)
        return perr(pc, "bad priority", "bad priority '%.60s'", val);
    pc->r->priority = (uint8_t)v;
    pc->have_prio = 1;
    return 0;
}

/* metadata: key value[, key value ...]; kept as given, repeatable. */
static int kw_metadata(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule *r = pc->r;
    char *save = NULL, *ent;

    for (ent = strtok_r(val, ",", &save); ent; ent = strtok_r(NULL, ",", &save)) {
        char *e = rule_trim(ent);
        size_t k = strcspn(e, " \t");

        if (*e == '\0')
            continue;
        if (kv_add(pc, &r->metadata, &r->nmetadata, &pc->md_cap, e, k, rule_trim(e + k)) < 0)
            return -1;
    }
    return 0;
}

static int kw_reference(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule *r = pc->r;
    char *comma = strchr(val, ','), *type, *v;

    if (comma == NULL)
        return perr(pc, "bad reference", "bad reference '%.60s'", val);
    *comma = '\0';
    type = rule_trim(val);
    v = rule_trim(comma + 1);
    if (*type == '\0' || *v == '\0')
        return perr(pc, "bad reference", "bad reference '%.60s'", val);
    return kv_add(pc, &r->refs, &r->nrefs, &pc->ref_cap, type, strlen(type), v);
}

/* ------------------------------------------------------------------ content */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes the quoted content string at v ("...": |hex| runs, escapes \" \;
 * \\ \:) into out (at least strlen(v) bytes). Returns the length or -1. */
static long content_decode(struct pctx *pc, const char *v, uint8_t *out)
{
    size_t n = strlen(v), o = 0;
    int hex = 0, nib = -1, h;

    if (*v != '"')
        return perr(pc, NULL, "content needs a quoted string");
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)v[i];

        if (hex) {
            if (c == '|') {
                if (nib >= 0)
                    return perr(pc, "bad hex in content", "bad hex in content: odd number of digits");
                hex = 0;
            } else if (c == ' ' || c == '\t') {
                if (nib >= 0)
                    return perr(pc, "bad hex in content", "bad hex in content: blank inside a byte");
            } else if ((h = hexval(c)) >= 0) {
                if (nib < 0) {
                    nib = h;
                } else {
                    out[o++] = (uint8_t)(nib << 4 | h);
                    nib = -1;
                }
            } else if (c == '"') {
                return perr(pc, NULL, "unterminated hex in content");
            } else {
                return perr(pc, "bad hex in content", "bad hex in content: '%c'", c);
            }
        } else if (c == '\\') {
            if (i + 1 >= n)
                return perr(pc, NULL, "unterminated content");
            c = (unsigned char)v[++i];
            if (c != '"' && c != ';' && c != '\\' && c != ':')
                return perr(pc, "bad escape in content", "bad escape '\\%c' in content", c);
            out[o++] = c;
        } else if (c == '|') {
            hex = 1;
        } else if (c == '"') {
            if (i + 1 != n)
                return perr(pc, NULL, "text after the closing quote of content");
            if (o == 0)
                return perr(pc, NULL, "content is empty");
            return (long)o;
        } else {
            out[o++] = c;
        }
    }
    return perr(pc, NULL, "unterminated content");
}

static int kw_content(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_sm *sm;
    uint8_t *bytes;
    long len;
    int neg = 0;

    if (*val == '!') {
        neg = 1;
        val = rule_trim(val + 1);
    }
    if ((bytes = malloc(strlen(val) + 1)) == NULL)
        return perr(pc, NULL, "out of memory");
    if ((len = content_decode(pc, val, bytes)) < 0 ||
        (sm = sm_new(pc, RULE_SM_CONTENT, pc->cur_buf)) == NULL) {
        free(bytes);
        return -1;
    }
    sm->u.c.bytes = bytes;
    sm->u.c.len = (uint32_t)len;
    sm->u.c.flags = neg ? RULE_CT_NEGATED : 0;
    pc->last_content = (int32_t)(pc->r->nsm - 1);
    return 0;
}

/* The content a modifier applies to, or NULL with the error set. */
static struct rule_content *last_content(struct pctx *pc, const char *kw)
{
    if (pc->last_content < 0) {
        perr(pc, NULL, "%s needs a preceding content", kw);
        return NULL;
    }
    return &pc->r->sm[pc->last_content].u.c;
}

static int kw_flagmod(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_content *c = last_content(pc, kw->name);

    if (c == NULL)
        return -1;
    if (c->flags & (unsigned)kw->arg)
        return perr(pc, NULL, "%s given twice for one content", kw->name);
    c->flags |= (uint16_t)kw->arg;
    return 0;
}

/* offset, depth, distance, within: kw->arg is the RULE_CT_ flag. */
static int kw_position(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_content *c = last_content(pc, kw->name);
    unsigned f = (unsigned)kw->arg;
    int rel = (f & RULE_CT_RELATIVE) != 0;
    long long v;
    char agg[64];

    if (c == NULL)
        return -1;
    if (c->flags & f)
        return perr(pc, NULL, "%s given twice for one content", kw->name);
    if (c->flags & (rel ? (RULE_CT_OFFSET | RULE_CT_DEPTH) : RULE_CT_RELATIVE))
        return perr(pc, NULL, "%s can't be mixed with %s on one content", kw->name,
                    rel ? "offset or depth" : "distance or within");
    if (parse_num(val, f == RULE_CT_DISTANCE ? -65535 : 0, 65535, &v) < 0) {
        snprintf(agg, sizeof agg, "bad %s", kw->name);
        return perr(pc, agg, "bad %s '%.60s'", kw->name, val);
    }
    if ((f == RULE_CT_DEPTH || f == RULE_CT_WITHIN) && v < (long long)c->len)
        return perr(pc, NULL, "%s %lld is less than the content length %u",
                    kw->name, v, c->len);
    c->flags |= (uint16_t)f;
    switch (f) {
    case RULE_CT_OFFSET:   c->offset = (uint16_t)v; break;
    case RULE_CT_DEPTH:    c->depth = (uint16_t)v; break;
    case RULE_CT_DISTANCE: c->distance = (int32_t)v; break;
    default:               c->within = (uint32_t)v; break;
    }
    return 0;
}

static int kw_fast_pattern(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_content *c = last_content(pc, "fast_pattern");
    int32_t idx = pc->last_content;

    if (c == NULL)
        return -1;
    if (val != NULL && strcmp(val, "only") != 0) {
        if (strchr(val, ',') != NULL)
            return perr(pc, NULL, "fast_pattern with offset,length (chop) is not supported");
        return perr(pc, "bad fast_pattern", "bad fast_pattern '%.60s'", val);
    }
    if (pc->r->fast_pattern >= 0 && pc->r->fast_pattern != idx)
        return perr(pc, NULL, "fast_pattern given on more than one content");
    pc->r->fast_pattern = idx;
    c->flags |= RULE_CT_FAST_PATTERN | (val ? RULE_CT_FP_ONLY : 0);
    return 0;
}

/* Sticky buffer: the next contents and pcres look in kw->arg. */
static int kw_sticky(struct pctx *pc, const struct keyword *kw, char *val)
{
    pc->cur_buf = (uint8_t)kw->arg;
    return 0;
}

/* Suricata 4 style: "content:...; http_uri;" moves that content. */
static int kw_content_buffer(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_content *c = last_content(pc, kw->name);
    struct rule_sm *sm;

    if (c == NULL)
        return -1;
    sm = &pc->r->sm[pc->last_content];
    if (sm->buf != RULE_BUF_PAYLOAD && sm->buf != kw->arg)
        return perr(pc, NULL, "%s can't apply to a content in the %s buffer",
                    kw->name, buffer_names[sm->buf]);
    sm->buf = (uint8_t)kw->arg;
    return 0;
}

/* ------------------------------------------------------------------ pcre */

/* Suricata's pcre flags that pick an HTTP buffer we have; the others
 * name buffers nDPI does not give us. */
static int pcre_buffer_flag(char f)
{
    switch (f) {
    case 'U': return RULE_BUF_HTTP_URI;
    case 'M': return RULE_BUF_HTTP_METHOD;
    case 'V': return RULE_BUF_HTTP_USER_AGENT;
    case 'W': return RULE_BUF_HTTP_HOST;
    default:  return -1;
    }
}

static const char *pcre_missing_buffer(char f)
{
    switch (f) {
    case 'I': return "http raw uri";
    case 'P': return "http request body";
    case 'Q': return "http response body";
    case 'H': return "http header";
    case 'D': return "http raw header";
    case 'C': return "http cookie";
    case 'K': return "http raw cookie";
    case 'S': return "http stat code";
    case 'Y': return "http stat msg";
    case 'Z': return "http raw host";
    default:  return NULL;
    }
}

/* Reads the flags after the closing '/': compile options, RULE_PCRE_*
 * flags and the buffer a flag names (-1 none). */
static int pcre_flags(struct pctx *pc, const char *f, uint32_t *opts, uint8_t *flags, int *buf)
{
    const char *missing;
    int b;

    for (; *f; f++) {
        switch (*f) {
        case 'i': *opts |= PCRE2_CASELESS; continue;
        case 's': *opts |= PCRE2_DOTALL; continue;
        case 'm': *opts |= PCRE2_MULTILINE; continue;
        case 'x': *opts |= PCRE2_EXTENDED; continue;
        case 'A': *opts |= PCRE2_ANCHORED; continue;
        case 'E': *opts |= PCRE2_DOLLAR_ENDONLY; continue;
        case 'G': *opts |= PCRE2_UNGREEDY; continue;
        case 'R': *flags |= RULE_PCRE_RELATIVE; continue;
        case 'B': *flags |= RULE_PCRE_RAWBYTES; continue;
        case 'O': continue;             /* match-limit override: ours are fixed */
        default: break;
        }
        if ((b = pcre_buffer_flag(*f)) >= 0) {
            if (*buf >= 0 && *buf != b)
                return perr(pc, NULL, "pcre has flags for two buffers");
            *buf = b;
        } else if ((missing = pcre_missing_buffer(*f)) != NULL) {
            char agg[96];

            snprintf(agg, sizeof agg, "pcre flag '%c' is not supported", *f);
            return perr(pc, agg, "pcre flag '%c' (%s) is not supported: no such buffer", *f, missing);
        } else {
            return perr(pc, "unknown pcre flag", "unknown pcre flag '%c'", *f);
        }
    }
    return 0;
}

static int has_sm_in(const struct rule *r, uint8_t buf)
{
    for (uint32_t i = 0; i < r->nsm; i++)
        if (r->sm[i].buf == buf)
            return 1;
    return 0;
}

/* Compiles re with opts, JIT when possible. NULL with the error set. */
static pcre2_code *pcre_compile(struct pctx *pc, const char *text, const char *re,
                                size_t len, uint32_t opts, uint8_t *flags)
{
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE off;
    pcre2_code *code;
    int ec;

    code = pcre2_compile((PCRE2_SPTR)re, len, opts, &ec, &off, NULL);
    if (code == NULL) {
        pcre2_get_error_message(ec, msg, sizeof msg);
        perr(pc, "bad pcre", "bad pcre '%.80s': %s at offset %zu", text, (char *)msg, (size_t)off);
        return NULL;
    }
    if (pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0)
        *flags |= RULE_PCRE_JIT;
    return code;
}

static int kw_pcre(struct pctx *pc, const struct keyword *kw, char *val)
{
    uint32_t opts = 0;
    uint8_t flags = 0;
    int buf = -1;
    size_t n;
    char *slash;
    struct rule_sm *sm;
    pcre2_code *code;

    if (*val == '!') {
        flags |= RULE_PCRE_NEGATED;
        val = rule_trim(val + 1);
    }
    n = strlen(val);
    if (*val != '"')
        return perr(pc, NULL, "pcre needs a quoted string");
    if (n < 2 || val[n - 1] != '"' || val[n - 2] == '\\')
        return perr(pc, NULL, "unterminated pcre");
    val[--n] = '\0';
    val++;
    if (*val != '/' || (slash = strrchr(val, '/')) == val)
        return perr(pc, "bad pcre", "bad pcre '%.80s': it must be /regex/flags", val);
    if (pcre_flags(pc, slash + 1, &opts, &flags, &buf) < 0)
        return -1;
    if (buf >= 0 && pc->cur_buf != RULE_BUF_PAYLOAD && pc->cur_buf != buf)
        return perr(pc, NULL, "pcre flag for %s conflicts with the sticky buffer %s",
                    buffer_names[buf], buffer_names[pc->cur_buf]);
    if (buf < 0)
        buf = pc->cur_buf;
    if ((flags & RULE_PCRE_RELATIVE) && !has_sm_in(pc->r, (uint8_t)buf))
        return perr(pc, NULL, "pcre /R needs a preceding content or pcre in the same buffer");
    if ((code = pcre_compile(pc, val, val + 1, (size_t)(slash - val - 1), opts, &flags)) == NULL)
        return -1;
    if ((sm = sm_new(pc, RULE_SM_PCRE, (uint8_t)buf)) == NULL) {
        pcre2_code_free(code);
        return -1;
    }
    sm->u.p.code = code;
    sm->u.p.flags = flags;
    if ((sm->u.p.text = strdup(val)) == NULL)
        return perr(pc, NULL, "out of memory");
    return 0;
}

/* ------------------------------------------------------------------ flow, flags, comparisons */

static int kw_flow(struct pctx *pc, const struct keyword *kw, char *val)
{
    static const struct { const char *name; uint8_t f; } opts[] = {
        { "to_server", RULE_FLOW_TO_SERVER },   { "from_client", RULE_FLOW_TO_SERVER },
        { "to_client", RULE_FLOW_TO_CLIENT },   { "from_server", RULE_FLOW_TO_CLIENT },
        { "established", RULE_FLOW_ESTABLISHED },
        { "not_established", RULE_FLOW_NOT_ESTABLISHED },
        { "stateless", RULE_FLOW_STATELESS },
        { "only_stream", RULE_FLOW_ONLY_STREAM }, { "no_stream", RULE_FLOW_NO_STREAM },
    };
    char *save = NULL, *tok;
    uint8_t f = 0;
    size_t i;

    for (tok = strtok_r(val, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = rule_trim(tok);
        for (i = 0; i < sizeof opts / sizeof opts[0]; i++)
            if (strcmp(tok, opts[i].name) == 0)
                break;
        if (i == sizeof opts / sizeof opts[0])
            return perr(pc, NULL, "bad flow option '%.60s'", tok);
        f |= opts[i].f;
    }
    if ((f & RULE_FLOW_TO_SERVER) && (f & RULE_FLOW_TO_CLIENT))
        return perr(pc, NULL, "flow options to_server and to_client conflict");
    if ((f & RULE_FLOW_ESTABLISHED) && (f & (RULE_FLOW_NOT_ESTABLISHED | RULE_FLOW_STATELESS)))
        return perr(pc, NULL, "flow options established and not_established/stateless conflict");
    if ((f & RULE_FLOW_ONLY_STREAM) && (f & RULE_FLOW_NO_STREAM))
        return perr(pc, NULL, "flow options only_stream and no_stream conflict");
    pc->r->flow = f;
    return 0;
}

static int tcp_flag_bit(char c)
{
    switch (c) {
    case 'F': return RULE_TCP_FIN;
    case 'S': return RULE_TCP_SYN;
    case 'R': return RULE_TCP_RST;
    case 'P': return RULE_TCP_PSH;
    case 'A': return RULE_TCP_ACK;
    case 'U': return RULE_TCP_URG;
    case 'E': case '2': return RULE_TCP_ECE;
    case 'C': case '1': return RULE_TCP_CWR;
    default:  return -1;
    }
}

/* flags:[+*!]FLAGS[,IGNORE]; the modifier may also follow the flags. */
static int kw_flags(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_tcpflags *t = &pc->r->tcpflags;
    char *comma = strchr(val, ','), *p;
    int mods = 0, zero = 0, b;

    if (comma)
        *comma = '\0';
    for (p = rule_trim(val); *p; p++) {
        switch (*p) {
        case '+': t->mode = RULE_FLAGS_PLUS; mods++; continue;
        case '*': t->mode = RULE_FLAGS_ANY; mods++; continue;
        case '!': t->mode = RULE_FLAGS_NOT; mods++; continue;
        case '0': zero = 1; continue;
        default: break;
        }
        if ((b = tcp_flag_bit(*p)) < 0)
            return perr(pc, "bad tcp flag", "bad tcp flag '%c'", *p);
        t->flags |= (uint8_t)b;
    }
    if (mods > 1 || (zero && (t->flags || mods)) || (!zero && t->flags == 0))
        return perr(pc, "bad flags", "bad flags '%.60s'", val);
    for (p = comma ? rule_trim(comma + 1) : ""; *p; p++) {
        if ((b = tcp_flag_bit(*p)) < 0)
            return perr(pc, "bad tcp flag", "bad tcp flag '%c' in the ignore mask", *p);
        t->ignore |= (uint8_t)b;
    }
    t->set = 1;
    return 0;
}

/* "n", "<n", "<=n", ">n", ">=n", "!n", "=n", "n<>m", "n-m" with n,m in
 * [0,max]. name(s) may be given for numbers (ip_proto). */
static int parse_cmp(const char *s, uint32_t max, int (*name)(const char *, uint32_t *),
                     struct rule_cmp *c)
{
    char buf[64], *p = buf, *sep;
    long long a, b;
    uint32_t v;

    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    p = rule_trim(buf);
    if (*p == '\0')
        return -1;
    c->op = RULE_CMP_EQ;
    if (p[0] == '<' && p[1] == '=') { c->op = RULE_CMP_LE; p += 2; }
    else if (p[0] == '>' && p[1] == '=') { c->op = RULE_CMP_GE; p += 2; }
    else if (p[0] == '<') { c->op = RULE_CMP_LT; p++; }
    else if (p[0] == '>') { c->op = RULE_CMP_GT; p++; }
    else if (p[0] == '!') { c->op = RULE_CMP_NE; p++; }
    else if (p[0] == '=') { c->op = RULE_CMP_EQ; p++; }
    else if ((sep = strstr(p, "<>")) != NULL || (sep = strchr(p + 1, '-')) != NULL) {
        c->op = RULE_CMP_RANGE;
        sep[0] = '\0';
        sep += sep[1] == '>' ? 2 : 1;
        if (parse_num(p, 0, max, &a) < 0 || parse_num(sep, 0, max, &b) < 0 || a >= b)
            return -1;
        c->a = (uint32_t)a;
        c->b = (uint32_t)b;
        return 0;
    }
    p = rule_trim(p);
    if (name && name(p, &v) == 0) {
        c->a = v;
        return 0;
    }
    if (parse_num(p, 0, max, &a) < 0)
        return -1;
    c->a = (uint32_t)a;
    return 0;
}

static int kw_cmp(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule *r = pc->r;
    struct rule_cmp *f = kw->arg == 0 ? &r->dsize : kw->arg == 1 ? &r->ttl :
                         kw->arg == 2 ? &r->itype : &r->icode;
    char agg[64];

    if (parse_cmp(val, kw->arg == 0 ? 65535 : 255, NULL, f) < 0) {
        snprintf(agg, sizeof agg, "bad %s", kw->name);
        return perr(pc, agg, "bad %s '%.60s'", kw->name, val);
    }
    return 0;
}

static int ipproto_name(const char *s, uint32_t *v)
{
    static const struct { const char *n; uint8_t p; } names[] = {
        { "icmp", 1 }, { "igmp", 2 }, { "ipip", 4 }, { "tcp", 6 }, { "udp", 17 },
        { "ipv6", 41 }, { "rsvp", 46 }, { "gre", 47 }, { "esp", 50 }, { "ah", 51 },
        { "ipv6-icmp", 58 }, { "icmpv6", 58 }, { "ospf", 89 }, { "pim", 103 },
        { "vrrp", 112 }, { "l2tp", 115 }, { "sctp", 132 },
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(s, names[i].n) == 0) {
            *v = names[i].p;
            return 0;
        }
    return -1;
}

static int kw_ip_proto(struct pctx *pc, const struct keyword *kw, char *val)
{
    if (parse_cmp(val, 255, ipproto_name, &pc->r->ip_proto) < 0 ||
        pc->r->ip_proto.op == RULE_CMP_LE || pc->r->ip_proto.op == RULE_CMP_GE ||
        pc->r->ip_proto.op == RULE_CMP_RANGE)
        return perr(pc, "bad ip_proto", "bad ip_proto '%.60s'", val);
    return 0;
}

/* ------------------------------------------------------------------ threshold, detection_filter */

static int thr_option(struct rule_threshold *t, const char *k, const char *v, int is_df,
                      unsigned *have)
{
    static const char *const types[] = { "limit", "threshold", "both" };
    static const char *const tracks[] = { "by_src", "by_dst", "by_rule", "by_both" };

    if (strcmp(k, "type") == 0 && !is_df) {
        for (unsigned i = 0; i < 3; i++)
            if (strcmp(v, types[i]) == 0) {
                t->type = (uint8_t)(RULE_THR_LIMIT + i);
                *have |= 1;
                return 0;
            }
    } else if (strcmp(k, "track") == 0) {
        for (unsigned i = 0; i < 4; i++)
            if (strcmp(v, tracks[i]) == 0) {
                t->track = (uint8_t)i;
                *have |= 2;
                return 0;
            }
    } else if (strcmp(k, "count") == 0) {
        *have |= 4;
        return parse_u32(v, 1, &t->count);
    } else if (strcmp(k, "seconds") == 0) {
        *have |= 8;
        return parse_u32(v, 1, &t->seconds);
    }
    return -1;
}

/* threshold: type T, track K, count N, seconds S (any order);
 * detection_filter: the same without type. */
static int kw_threshold(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_threshold *t = &pc->r->threshold;
    int is_df = kw->arg;
    unsigned have = 0;
    char *save = NULL, *ent;
    char agg[64];

    if (t->type != RULE_THR_NONE)
        return perr(pc, NULL, "only one threshold or detection_filter per rule");
    snprintf(agg, sizeof agg, "bad %s", kw->name);
    for (ent = strtok_r(val, ",", &save); ent; ent = strtok_r(NULL, ",", &save)) {
        char *e = rule_trim(ent);
        size_t k = strcspn(e, " \t");
        char *v = rule_trim(e + k);

        e[k] = '\0';
        if (thr_option(t, e, v, is_df, &have) < 0)
            return perr(pc, agg, "bad %s option '%.30s %.30s'", kw->name, e, v);
    }
    if (is_df && have != 14)
        return perr(pc, NULL, "detection_filter needs track, count and seconds");
    if (!is_df && have != 15)
        return perr(pc, NULL, "threshold needs type, track, count and seconds");
    if (is_df)
        t->type = RULE_THR_DETECTION_FILTER;
    return 0;
}

/* ------------------------------------------------------------------ flow metadata */

static int kw_app_layer_protocol(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule *r = pc->r;

    if (*val == '!') {
        r->app_proto_neg = 1;
        val = rule_trim(val + 1);
    }
    if (strchr(val, ',') != NULL)
        return perr(pc, NULL, "app-layer-protocol modes are not supported: '%.60s'", val);
    for (char *p = val; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (strcmp(val, "http1") == 0)
        val[4] = '\0';
    if (!app_proto_known(val))
        return perr(pc, NULL, "unknown app-layer protocol '%.60s'", val);
    if ((r->app_proto = strdup(val)) == NULL)
        return perr(pc, NULL, "out of memory");
    return 0;
}

/* ndpi-protocol:[!]NAME, NAME as nDPI spells it ("TLS", "TLS.Tor"). The
 * name is checked against nDPI when the ruleset is compiled. */
static int kw_ndpi_protocol(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule *r = pc->r;

    if (*val == '!') {
        r->ndpi_proto_neg = 1;
        val = rule_trim(val + 1);
    }
    if (*val == '\0')
        return perr(pc, "bad ndpi-protocol", "bad ndpi-protocol '%.60s'", val);
    for (const char *p = val; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-' && *p != '+')
            return perr(pc, "bad ndpi-protocol", "bad ndpi-protocol '%.60s'", val);
    if ((r->ndpi_proto = strdup(val)) == NULL)
        return perr(pc, NULL, "out of memory");
    return 0;
}

static int geo_dir(const char *s)
{
    if (strcmp(s, "src") == 0)  return RULE_GEO_SRC;
    if (strcmp(s, "dst") == 0)  return RULE_GEO_DST;
    if (strcmp(s, "any") == 0)  return RULE_GEO_ANY;
    if (strcmp(s, "both") == 0) return RULE_GEO_BOTH;
    return 0;
}

/* geoip:[src|dst|both|any,][!]CC[,CC...]. Suricata: one '!' negates the
 * whole list; we want it before the first country. */
static int kw_geoip(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_geoip *g;
    char *save = NULL, *tok;
    size_t ntok = 1;
    int first = 1;

    for (const char *p = val; *p; p++)
        ntok += *p == ',';
    if ((g = calloc(1, sizeof *g)) == NULL || (g->cc = calloc(ntok, sizeof *g->cc)) == NULL) {
        free(g);
        return perr(pc, NULL, "out of memory");
    }
    pc->r->geoip = g;
    g->dir = RULE_GEO_ANY;
    for (tok = strtok_r(val, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = rule_trim(tok);
        if (first && geo_dir(tok)) {
            g->dir = (uint8_t)geo_dir(tok);
            first = 0;
            continue;
        }
        if (*tok == '!') {
            if (g->n != 0)
                return perr(pc, NULL, "geoip: '!' negates the whole list; put it before the first country");
            g->negated = 1;
            tok = rule_trim(tok + 1);
        }
        if (strlen(tok) != 2 || !isalpha((unsigned char)tok[0]) || !isalpha((unsigned char)tok[1]))
            return perr(pc, "bad geoip country", "bad geoip country '%.60s'", tok);
        g->cc[g->n][0] = (char)toupper((unsigned char)tok[0]);
        g->cc[g->n][1] = (char)toupper((unsigned char)tok[1]);
        g->n++;
        first = 0;
    }
    if (g->n == 0)
        return perr(pc, NULL, "geoip needs at least one country");
    return 0;
}

static int kw_pkt_data(struct pctx *pc, const struct keyword *kw, char *val)
{
    pc->cur_buf = RULE_BUF_PAYLOAD;
    return 0;
}

/* ------------------------------------------------------------------ keyword table */

static const struct keyword keywords[] = {
    { "msg", kw_msg, VAL_NEED, 1, 0 },
    { "sid", kw_id, VAL_NEED, 1, 0 },
    { "rev", kw_id, VAL_NEED, 1, 1 },
    { "gid", kw_id, VAL_NEED, 1, 2 },
    { "classtype", kw_classtype, VAL_NEED, 1, 0 },
    { "priority", kw_priority, VAL_NEED, 1, 0 },
    { "metadata", kw_metadata, VAL_NEED, 0, 0 },
    { "reference", kw_reference, VAL_NEED, 0, 0 },
    { "content", kw_content, VAL_NEED, 0, 0 },
    { "nocase", kw_flagmod, VAL_NONE, 0, RULE_CT_NOCASE },
    { "rawbytes", kw_flagmod, VAL_NONE, 0, RULE_CT_RAWBYTES },
    { "offset", kw_position, VAL_NEED, 0, RULE_CT_OFFSET },
    { "depth", kw_position, VAL_NEED, 0, RULE_CT_DEPTH },
    { "distance", kw_position, VAL_NEED, 0, RULE_CT_DISTANCE },
    { "within", kw_position, VAL_NEED, 0, RULE_CT_WITHIN },
    { "fast_pattern", kw_fast_pattern, VAL_OPT, 0, 0 },
    { "pcre", kw_pcre, VAL_NEED, 0, 0 },
    { "flow", kw_flow, VAL_NEED, 1, 0 },
    { "flags", kw_flags, VAL_NEED, 1, 0 },
    { "dsize", kw_cmp, VAL_NEED, 1, 0 },
    { "ttl", kw_cmp, VAL_NEED, 1, 1 },
    { "itype", kw_cmp, VAL_NEED, 1, 2 },
    { "icode", kw_cmp, VAL_NEED, 1, 3 },
    { "ip_proto", kw_ip_proto, VAL_NEED, 1, 0 },
    { "threshold", kw_threshold, VAL_NEED, 0, 0 },
    { "detection_filter", kw_threshold, VAL_NEED, 0, 1 },
    { "pkt_data", kw_pkt_data, VAL_NONE, 0, 0 },
    { "dns.query", kw_sticky, VAL_NONE, 0, RULE_BUF_DNS_QUERY },
    { "dns_query", kw_sticky, VAL_NONE, 0, RULE_BUF_DNS_QUERY },
    { "tls.sni", kw_sticky, VAL_NONE, 0, RULE_BUF_TLS_SNI },
    { "tls_sni", kw_sticky, VAL_NONE, 0, RULE_BUF_TLS_SNI },
    { "tls.cert_subject", kw_sticky, VAL_NONE, 0, RULE_BUF_TLS_CERT_SUBJECT },
    { "tls_cert_subject", kw_sticky, VAL_NONE, 0, RULE_BUF_TLS_CERT_SUBJECT },
    { "tls.cert_issuer", kw_sticky, VAL_NONE, 0, RULE_BUF_TLS_CERT_ISSUER },
    { "tls_cert_issuer", kw_sticky, VAL_NONE, 0, RULE_BUF_TLS_CERT_ISSUER },
    { "ja3.hash", kw_sticky, VAL_NONE, 0, RULE_BUF_JA3_HASH },
    { "ja3_hash", kw_sticky, VAL_NONE, 0, RULE_BUF_JA3_HASH },
    { "http.host", kw_sticky, VAL_NONE, 0, RULE_BUF_HTTP_HOST },
    { "http.uri", kw_sticky, VAL_NONE, 0, RULE_BUF_HTTP_URI },
    { "http.method", kw_sticky, VAL_NONE, 0, RULE_BUF_HTTP_METHOD },
    { "http.user_agent", kw_sticky, VAL_NONE, 0, RULE_BUF_HTTP_USER_AGENT },
    { "ssh.software", kw_sticky, VAL_NONE, 0, RULE_BUF_SSH_SOFTWARE },
    { "http_host", kw_content_buffer, VAL_NONE, 0, RULE_BUF_HTTP_HOST },
    { "http_uri", kw_content_buffer, VAL_NONE, 0, RULE_BUF_HTTP_URI },
    { "http_method", kw_content_buffer, VAL_NONE, 0, RULE_BUF_HTTP_METHOD },
    { "http_user_agent", kw_content_buffer, VAL_NONE, 0, RULE_BUF_HTTP_USER_AGENT },
    { "app-layer-protocol", kw_app_layer_protocol, VAL_NEED, 1, 0 },
    { "ndpi-protocol", kw_ndpi_protocol, VAL_NEED, 1, 0 },
    { "geoip", kw_geoip, VAL_NEED, 1, 0 },
};

_Static_assert(sizeof keywords / sizeof keywords[0] <= sizeof ((struct pctx *)0)->seen,
               "pctx.seen too small for the keyword table");

/* ------------------------------------------------------------------ options */

/* Runs one "name[:value]" option (NUL-terminated, not trimmed). */
static int parse_option(struct pctx *pc, char *opt)
{
    char *colon = strchr(opt, ':'), *name, *val = NULL;
    size_t i;

    if (colon) {
        *colon = '\0';
        val = rule_trim(colon + 1);
    }
    name = rule_trim(opt);
    if (*name == '\0' && val == NULL)
        return 0;                       /* ";;" */
    for (i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strcmp(name, keywords[i].name) == 0)
            break;
    if (i == sizeof keywords / sizeof keywords[0])
        return perr(pc, NULL, "keyword '%.60s' is not supported", name);
    if (keywords[i].val == VAL_NONE && val != NULL)
        return perr(pc, NULL, "keyword '%s' takes no value", name);
    if (keywords[i].val == VAL_NEED && (val == NULL || *val == '\0'))
        return perr(pc, NULL, "keyword '%s' needs a value", name);
    if (keywords[i].once && pc->seen[i]++)
        return perr(pc, NULL, "keyword '%s' given twice", name);
    return keywords[i].fn(pc, &keywords[i], val);
}

/* Splits the text between the parentheses at unescaped ';' and parses
 * each option in order. opts is modified. */
static int parse_options(struct pctx *pc, char *opts)
{
    char *p = opts, *start = opts;

    for (;; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
            continue;
        }
        if (*p != ';' && *p != '\0')
            continue;
        if (*p == ';') {
            *p = '\0';
            if (parse_option(pc, start) < 0)
                return -1;
            start = p + 1;
            continue;
        }
        if (*rule_trim(start) != '\0' && parse_option(pc, start) < 0)
            return -1;
        return 0;
    }
}

/* ------------------------------------------------------------------ header */

/* Next blank-separated header token; brackets may hold blanks. The token
 * is NUL-terminated in place. NULL when there is none before '('. */
static char *header_token(char **pp)
{
    char *p = *pp, *start;
    int depth = 0;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0' || *p == '(')
        return NULL;
    start = p;
    for (; *p; p++) {
        if (*p == '[')
            depth++;
        else if (*p == ']' && depth > 0)
            depth--;
        else if (depth == 0 && (*p == ' ' || *p == '\t' || *p == '('))
            break;
    }
    if (*p == '(') {
        /* "any any)" never happens; a '(' right after a token ends it */
        memmove(p + 1, p, strlen(p) + 1);
    }
    if (*p)
        *p++ = '\0';
    *pp = p;
    return start;
}

static int parse_action(struct pctx *pc, const char *s)
{
    static const struct { const char *n; uint8_t a; } acts[] = {
        { "alert", RULE_ACTION_ALERT }, { "pass", RULE_ACTION_PASS },
        { "drop", RULE_ACTION_DROP },   { "reject", RULE_ACTION_REJECT },
        { "rejectsrc", RULE_ACTION_REJECT }, { "rejectdst", RULE_ACTION_REJECT },
        { "rejectboth", RULE_ACTION_REJECT },
    };

    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (strcmp(s, acts[i].n) == 0) {
            pc->r->action = acts[i].a;
            return 0;
        }
    return perr(pc, "unknown action", "unknown action '%.60s'", s);
}

static int parse_proto(struct pctx *pc, const char *s)
{
    struct rule *r = pc->r;

    for (size_t i = 0; i < sizeof protocols / sizeof protocols[0]; i++)
        if (strcmp(s, protocols[i].name) == 0) {
            snprintf(r->proto, sizeof r->proto, "%s", protocols[i].norm);
            r->ipproto = protocols[i].ipproto;
            r->app_layer = protocols[i].app;
            return 0;
        }
    return perr(pc, NULL, "protocol '%.60s' is not supported", s);
}

/* action proto src sport dir dst dport, then *pp points at '('. */
static int parse_header(struct pctx *pc, char **pp)
{
    struct rule *r = pc->r;
    const struct lw_config *cfg = pc->env->cfg;
    char *t[7];

    for (int i = 0; i < 7; i++)
        if ((t[i] = header_token(pp)) == NULL)
            return perr(pc, NULL, "incomplete rule header");
    if (parse_action(pc, t[0]) < 0 || parse_proto(pc, t[1]) < 0)
        return -1;
    if (strcmp(t[4], "->") == 0)
        r->bidir = 0;
    else if (strcmp(t[4], "<>") == 0)
        r->bidir = 1;
    else
        return perr(pc, "bad direction", "bad direction '%.60s'", t[4]);
    if (rule_addrset_parse(&r->src, t[2], cfg, pc->err) < 0 ||
        rule_portset_parse(&r->sport, t[3], cfg, pc->err) < 0 ||
        rule_addrset_parse(&r->dst, t[5], cfg, pc->err) < 0 ||
        rule_portset_parse(&r->dport, t[6], cfg, pc->err) < 0)
        return -1;
    if (r->ipproto == 1 && (!r->sport.any || !r->dport.any))
        return perr(pc, NULL, "icmp rules take 'any' ports");
    return 0;
}

/* ------------------------------------------------------------------ whole-rule checks */

static int check_contents(struct pctx *pc)
{
    for (uint32_t i = 0; i < pc->r->nsm; i++) {
        const struct rule_content *c = &pc->r->sm[i].u.c;

        if (pc->r->sm[i].type != RULE_SM_CONTENT || !(c->flags & RULE_CT_FP_ONLY))
            continue;
        if (c->flags & (RULE_CT_NEGATED | RULE_CT_OFFSET | RULE_CT_DEPTH | RULE_CT_RELATIVE))
            return perr(pc, NULL, "fast_pattern:only can't be used with negation, "
                        "offset, depth, distance or within");
    }
    return 0;
}

/* Sticky buffers come from one application protocol, which must fit the
 * header's (a plain ip/tcp/udp header fits any). */
static int check_buffers(struct pctx *pc)
{
    struct rule *r = pc->r;
    const char *want = NULL;
    int wbuf = 0;

    for (uint32_t i = 0; i < r->nsm; i++) {
        int b = r->sm[i].buf;
        const char *bp = buffer_proto[b];

        r->buffers |= 1u << b;
        if (bp == NULL)
            continue;
        if (want && strcmp(want, bp) != 0)
            return perr(pc, NULL, "rule mixes %s and %s buffers", buffer_names[wbuf], buffer_names[b]);
        want = bp;
        wbuf = b;
        if (r->ipproto == 1 ||
            (r->app_layer && strcmp(r->proto, bp) != 0 &&
             !(strcmp(bp, "tls") == 0 && strcmp(r->proto, "quic") == 0)))
            return perr(pc, NULL, "%s can't be used with protocol '%s'", buffer_names[b], r->proto);
    }
    return 0;
}

static int check_rule(struct pctx *pc)
{
    struct rule *r = pc->r;

    if (r->sid == 0)
        return perr(pc, NULL, "missing sid");
    if (!pc->have_prio)
        r->priority = r->cls ? (uint8_t)r->cls->priority : 3;
    if (r->msg == NULL && (r->msg = strdup("")) == NULL)
        return perr(pc, NULL, "out of memory");
    if (check_contents(pc) < 0 || check_buffers(pc) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ rule */

int rule_parse(const char *text, const struct rule_parse_env *env,
               struct rule **out, struct rule_error *err)
{
    struct pctx pc;
    struct rule *r;
    char *buf, *p, *close;

    *out = NULL;
    err->msg[0] = err->agg[0] = '\0';
    /* header_token() may shift the text by one byte */
    if ((buf = malloc(strlen(text) + 2)) == NULL || (r = calloc(1, sizeof *r)) == NULL) {
        free(buf);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        snprintf(err->agg, sizeof err->agg, "out of memory");
        return -1;
    }
    strcpy(buf, text);
    r->text_hash = 1469598103934665603ull;
    for (const unsigned char *t = (const unsigned char *)text; *t; t++)
        r->text_hash = (r->text_hash ^ *t) * 1099511628211ull;
    memset(&pc, 0, sizeof pc);
    pc.r = r;
    pc.env = env;
    pc.err = err;
    pc.last_content = -1;
    r->gid = 1;
    r->fast_pattern = -1;
    p = buf;
    if (parse_header(&pc, &p) < 0)
        goto fail;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '(' || (close = strrchr(p, ')')) == NULL) {
        perr(&pc, NULL, "rule options must be in parentheses");
        goto fail;
    }
    if (*rule_trim(close + 1) != '\0') {
        perr(&pc, NULL, "text after the closing parenthesis");
        goto fail;
    }
    *close = '\0';
    if (parse_options(&pc, p + 1) < 0 || check_rule(&pc) < 0)
        goto fail;
    free(buf);
    *out = r;
    return 0;
fail:
    free(buf);
    rule_free(r);
    return -1;
}

void rule_free(struct rule *r)
{
    if (r == NULL)
        return;
    rule_addrset_free(&r->src);
    rule_addrset_free(&r->dst);
    rule_portset_free(&r->sport);
    rule_portset_free(&r->dport);
    free(r->msg);
    for (uint32_t i = 0; i < r->nmetadata; i++) {
        free(r->metadata[i].key);
        free(r->metadata[i].value);
    }
    free(r->metadata);
    for (uint32_t i = 0; i < r->nrefs; i++) {
        free(r->refs[i].key);
        free(r->refs[i].value);
    }
    free(r->refs);
    for (uint32_t i = 0; i < r->nsm; i++) {
        if (r->sm[i].type == RULE_SM_CONTENT) {
            free(r->sm[i].u.c.bytes);
        } else {
            pcre2_code_free((pcre2_code *)r->sm[i].u.p.code);
            free(r->sm[i].u.p.text);
        }
    }
    free(r->sm);
    free(r->app_proto);
    free(r->ndpi_proto);
    if (r->geoip)
        free(r->geoip->cc);
    free(r->geoip);
    free(r);
}
