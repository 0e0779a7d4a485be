/* rule-kw-other.c - the keywords that do not inspect a buffer: meta data,
 * flow and header tests, thresholds, application protocol, geoip, flow and
 * host state (flowbits, flowint, xbits, stream_size), anomaly events, and
 * what a passive sensor accepts (noalert, bypass, target, requires,
 * prefilter) (rule-parse-int.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode.h"
#include "rule-buffers.h"
#include "rule-parse-int.h"
#include "rule-text.h"

/* ------------------------------------------------------------------ meta keywords */

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


int kw_msg(struct pctx *pc, const struct keyword *kw, char *val)
{
    char *s = rp_string(pc, "msg", val);

    if (s == NULL)
        return pc->err->msg[0] ? -1 : perr(pc, NULL, "out of memory");
    free(pc->r->msg);
    pc->r->msg = s;
    return 0;
}

int kw_id(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule *r = pc->r;
    uint32_t *field = kw->arg == 0 ? &r->sid : kw->arg == 1 ? &r->rev : &r->gid;
    char agg[64];

    if (rp_u32(val, kw->arg == 0 ? 1 : 0, field) < 0) {
        snprintf(agg, sizeof agg, "bad %s", kw->name);
        return perr(pc, agg, "bad %s '%.60s'", kw->name, val);
    }
    return 0;
}

int kw_classtype(struct pctx *pc, const struct keyword *kw, char *val)
{
    const struct rule_classes *c = pc->env->classes;

    if (c == NULL)
        return 0;
    if ((pc->r->cls = rule_classes_find(c, val)) == NULL)
        return perr(pc, NULL, "unknown classtype '%.60s'", val);
    return 0;
}

int kw_priority(struct pctx *pc, const struct keyword *kw, char *val)
{
    long long v;

    if (rp_num(val, 1, 255, &v) < 0)
        return perr(pc, "bad priority", "bad priority '%.60s'", val);
    pc->r->priority = (uint8_t)v;
    pc->have_prio = 1;
    return 0;
}

/* metadata: key value[, key value ...]; kept as given, repeatable. */
int kw_metadata(struct pctx *pc, const struct keyword *kw, char *val)
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

int kw_reference(struct pctx *pc, const struct keyword *kw, char *val)
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


/* ------------------------------------------------------------------ flow, flags, comparisons */

int kw_flow(struct pctx *pc, const struct keyword *kw, char *val)
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

static int frag_bit(char c)
{
    switch (c) {
    case 'M': return RULE_FRAG_M;
    case 'D': return RULE_FRAG_D;
    case 'R': return RULE_FRAG_R;
    default:  return -1;
    }
}

/* [+*!]FLAGS[,IGNORE] into t, bit() naming the letters; the modifier may
 * also follow the flags. 0, or -1 with the error set. */
static int flagset(struct pctx *pc, const char *kw, const char *noun, char *val, int (*bit)(char),
                   struct rule_tcpflags *t)
{
    char *comma = strchr(val, ','), *p;
    int mods = 0, zero = 0, b;
    char agg[64];

    snprintf(agg, sizeof agg, "bad %s", kw);
    if (t->set)
        return perr(pc, NULL, "keyword '%s' given twice", kw);
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
        if ((b = bit(*p)) < 0)
            return perr(pc, noun, "%s '%c'", noun, *p);
        t->flags |= (uint8_t)b;
    }
    if (mods > 1 || (zero && (t->flags || mods)) || (!zero && t->flags == 0))
        return perr(pc, agg, "bad %s '%.60s'", kw, val);
    for (p = comma ? rule_trim(comma + 1) : ""; *p; p++) {
        if ((b = bit(*p)) < 0)
            return perr(pc, noun, "%s '%c' in the ignore mask", noun, *p);
        t->ignore |= (uint8_t)b;
    }
    t->set = 1;
    pc->r->tests |= RULE_T_PACKET;
    return 0;
}

/* flags:[+*!]FLAGS[,IGNORE] */
int kw_flags(struct pctx *pc, const struct keyword *kw, char *val)
{
    return flagset(pc, "flags", "bad tcp flag", val, tcp_flag_bit, &pc->r->tcpflags);
}

/* fragbits:[+*!]MDR[,IGNORE] on the IPv4 flags. */
int kw_fragbits(struct pctx *pc, const struct keyword *kw, char *val)
{
    return flagset(pc, "fragbits", "bad fragbits flag", val, frag_bit, &pc->r->fragbits);
}

/* dsize, ttl, itype, icode and the header numbers (kw->arg: CMP_*). */
enum { CMP_DSIZE, CMP_TTL, CMP_ITYPE, CMP_ICODE, CMP_TOS, CMP_ID, CMP_FRAGOFFSET, CMP_WINDOW,
       CMP_ICMP_ID, CMP_ICMP_SEQ, CMP_SEQ, CMP_ACK, CMP_ICMPV6_MTU };

int kw_cmp(struct pctx *pc, const struct keyword *kw, char *val)
{
    static const uint32_t max[] = { 65535, 255, 255, 255, 255, 65535, 8191, 65535, 65535, 65535,
                                    UINT32_MAX - 1, UINT32_MAX - 1, UINT32_MAX - 1 };
    struct rule *r = pc->r;
    struct rule_cmp *f[] = { &r->dsize, &r->ttl, &r->itype, &r->icode, &r->tos, &r->ipid,
                             &r->fragoffset, &r->window, &r->icmp_id, &r->icmp_seq, &r->seq, &r->ack,
                             &r->icmpv6_mtu };
    char agg[64];

    if (rp_cmp(val, max[kw->arg], NULL, f[kw->arg]) < 0) {
        f[kw->arg]->op = RULE_CMP_NONE;
        snprintf(agg, sizeof agg, "bad %s", kw->name);
        return perr(pc, agg, "bad %s '%.60s'", kw->name, val);
    }
    if (kw->arg == CMP_DSIZE && pc->r->dsize.op == RULE_CMP_RANGE && pc->r->dsize.b - pc->r->dsize.a < 2)
        return perr(pc, NULL, "dsize range %u<>%u holds no size", pc->r->dsize.a, pc->r->dsize.b);
    r->tests |= RULE_T_PACKET;
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

int kw_ip_proto(struct pctx *pc, const struct keyword *kw, char *val)
{
    if (rp_cmp(val, 255, ipproto_name, &pc->r->ip_proto) < 0 ||
        pc->r->ip_proto.op == RULE_CMP_LE || pc->r->ip_proto.op == RULE_CMP_GE ||
        pc->r->ip_proto.op == RULE_CMP_RANGE)
        return perr(pc, "bad ip_proto", "bad ip_proto '%.60s'", val);
    pc->r->tests |= RULE_T_PACKET;
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
        return rp_u32(v, 1, &t->count);
    } else if (strcmp(k, "seconds") == 0) {
        *have |= 8;
        return rp_u32(v, 1, &t->seconds);
    }
    return -1;
}

/* threshold: type T, track K, count N, seconds S (any order);
 * detection_filter: the same without type. */
int kw_threshold(struct pctx *pc, const struct keyword *kw, char *val)
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

int kw_app_layer_protocol(struct pctx *pc, const struct keyword *kw, char *val)
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
    if (!rp_app_proto_known(val))
        return perr(pc, NULL, "unknown app-layer protocol '%.60s'", val);
    if ((r->app_proto = strdup(val)) == NULL)
        return perr(pc, NULL, "out of memory");
    return 0;
}

/* ndpi-protocol:[!]NAME, NAME as nDPI spells it ("TLS", "TLS.Tor"). The
 * name is checked against nDPI when the ruleset is compiled. */
int kw_ndpi_protocol(struct pctx *pc, const struct keyword *kw, char *val)
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
int kw_geoip(struct pctx *pc, const struct keyword *kw, char *val)
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
    pc->r->tests |= RULE_T_GEO;
    return 0;
}

/* ------------------------------------------------------------------ ip options */

/* ipopts:NAME: the IPv4 option is present (any: some option is). */
int kw_ipopts(struct pctx *pc, const struct keyword *kw, char *val)
{
    static const char *const names[] = {
        [RULE_IPOPT_RR] = "rr", [RULE_IPOPT_EOL] = "eol", [RULE_IPOPT_NOP] = "nop",
        [RULE_IPOPT_TS] = "ts", [RULE_IPOPT_SEC] = "sec", [RULE_IPOPT_ESEC] = "esec",
        [RULE_IPOPT_LSRR] = "lsrr", [RULE_IPOPT_SSRR] = "ssrr", [RULE_IPOPT_SATID] = "satid",
        [RULE_IPOPT_ANY] = "any",
    };

    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(val, names[i]) == 0) {
            pc->r->ipopts |= (uint16_t)(1u << i);
            pc->r->tests |= RULE_T_PACKET;
            return 0;
        }
    return perr(pc, "bad ipopts", "bad ipopts '%.40s'", val);
}

/* ------------------------------------------------------------------ flowbits, xbits */

static int bit_op(const char *s, uint8_t *op)
{
    static const char *const ops[] = { NULL, "set", "unset", "toggle", "isset", "isnotset" };

    for (uint8_t i = 1; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(s, ops[i]) == 0) {
            *op = i;
            return 0;
        }
    return -1;
}

/* "a", "a|b|c" or "a&b" into b's names; '|' only for tests. */
static int bit_names(struct pctx *pc, const char *kw, struct rule_bit *b, char *s)
{
    char sep = strchr(s, '|') ? '|' : '&', *save = NULL, seps[2] = { sep, '\0' };

    if (strchr(s, '|') && strchr(s, '&'))
        return perr(pc, NULL, "%s: '|' and '&' can't be mixed", kw);
    if (sep == '|' && b->op != RULE_BIT_ISSET && b->op != RULE_BIT_ISNOTSET)
        return perr(pc, NULL, "%s: '|' is only for isset and isnotset", kw);
    b->any = sep == '|' && strchr(s, '|') != NULL;
    if ((b->text = strdup(s)) == NULL)
        return perr(pc, NULL, "out of memory");
    for (char *t = strtok_r(s, seps, &save); t; t = strtok_r(NULL, seps, &save)) {
        t = rule_trim(t);
        if (*t == '\0' || strcspn(t, " \t,") != strlen(t))
            return perr(pc, NULL, "%s: bad name '%.40s'", kw, t);
        if (b->n == RULE_MAX_BITNAMES)
            return perr(pc, NULL, "%s: more than %d names", kw, RULE_MAX_BITNAMES);
        b->name[b->n++] = rule_name_hash(t, strlen(t));
    }
    return b->n ? 0 : perr(pc, NULL, "%s needs a name", kw);
}

/* xbits' "track ip_src|ip_dst|ip_pair" and "expire N". */
static int xbit_options(struct pctx *pc, const char *kw, struct rule_bit *b, char **f, int n)
{
    int have_track = 0;

    for (int i = 0; i < n; i++) {
        char *k = f[i], *a = k + strcspn(k, " \t");
        long long v;

        if (*a)
            *a++ = '\0';
        a = rule_trim(a);
        if (strcmp(k, "track") == 0) {
            if (strcmp(a, "ip_src") == 0 || strcmp(a, "by_src") == 0)
                b->track = RULE_XT_SRC;
            else if (strcmp(a, "ip_dst") == 0 || strcmp(a, "by_dst") == 0)
                b->track = RULE_XT_DST;
            else if (strcmp(a, "ip_pair") == 0 && strcmp(kw, "xbits") == 0)
                b->track = RULE_XT_PAIR;
            else
                return perr(pc, NULL, "%s: bad track '%.30s'", kw, a);
            have_track = 1;
        } else if (strcmp(k, "expire") == 0 && rp_num(a, 1, 86400 * 365, &v) == 0) {
            b->expire = (uint32_t)v;
        } else {
            return perr(pc, NULL, "%s: bad option '%.40s'", kw, f[i]);
        }
    }
    return have_track ? 0 : perr(pc, NULL, "%s needs track ip_src, ip_dst or ip_pair", kw);
}

/* flowbits:OP,NAMES | flowbits:noalert; xbits:OP,NAMES,track T[,expire N]
 * (hostbits: the same without ip_pair). kw->arg: 0 flowbits, 1 xbits. */
int kw_bits(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule *r = pc->r;
    struct rule_bit **v = kw->arg ? &r->xbits : &r->bits, *b;
    uint32_t *n = kw->arg ? &r->nxbits : &r->nbits, *cap = kw->arg ? &pc->xbit_cap : &pc->bit_cap;
    char *f[6];
    int nf = rp_split(val, f, 6);

    if (nf == 1 && strcmp(f[0], "noalert") == 0) {
        r->noalert = 1;
        return 0;
    }
    if (nf < 2 || (kw->arg == 0 && nf != 2))
        return perr(pc, NULL, "bad %s '%.60s'", kw->name, val);
    if (rule_grow((void **)v, cap, *n, sizeof **v) < 0)
        return perr(pc, NULL, "out of memory");
    b = &(*v)[(*n)++];
    memset(b, 0, sizeof *b);
    if (bit_op(f[0], &b->op) < 0)
        return perr(pc, NULL, "bad %s operation '%.30s'", kw->name, f[0]);
    if (bit_names(pc, kw->name, b, f[1]) < 0 ||
        (kw->arg && xbit_options(pc, kw->name, b, f + 2, nf - 2) < 0))
        return -1;
    r->tests |= b->op >= RULE_BIT_ISSET ? RULE_T_STATE : RULE_T_ACTIONS;
    return 0;
}

/* ------------------------------------------------------------------ flowint */

static int fint_op(const char *s, uint8_t *op)
{
    static const struct { const char *s; uint8_t op; } ops[] = {
        { "=", RULE_FI_SET }, { "+", RULE_FI_ADD }, { "-", RULE_FI_SUB },
        { "==", RULE_FI_EQ }, { "!=", RULE_FI_NE }, { "<", RULE_FI_LT }, { ">", RULE_FI_GT },
        { "<=", RULE_FI_LE }, { ">=", RULE_FI_GE },
        { "isset", RULE_FI_ISSET }, { "notset", RULE_FI_NOTSET }, { "isnotset", RULE_FI_NOTSET },
    };

    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(s, ops[i].s) == 0) {
            *op = ops[i].op;
            return 0;
        }
    return -1;
}

/* flowint:NAME,OP[,VALUE]; VALUE is a number or another flowint. */
int kw_flowint(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule *r = pc->r;
    struct rule_flowint *fi;
    char *f[3];
    int nf = rp_split(val, f, 3);
    long long v;

    if (nf < 2 || *f[0] == '\0')
        return perr(pc, "bad flowint", "bad flowint '%.60s'", val);
    if (rule_grow((void **)&r->fints, &pc->fint_cap, r->nfints, sizeof *r->fints) < 0)
        return perr(pc, NULL, "out of memory");
    fi = &r->fints[r->nfints++];
    memset(fi, 0, sizeof *fi);
    fi->name = rule_name_hash(f[0], strlen(f[0]));
    if (fint_op(f[1], &fi->op) < 0)
        return perr(pc, "bad flowint", "bad flowint operation '%.20s'", f[1]);
    if ((fi->op == RULE_FI_ISSET || fi->op == RULE_FI_NOTSET) != (nf == 2))
        return perr(pc, "bad flowint", "bad flowint '%.60s': value missing or extra", val);
    if (nf == 3) {
        if (isalpha((unsigned char)*f[2]) || *f[2] == '_') {
            fi->has_var = 1;
            fi->var = rule_name_hash(f[2], strlen(f[2]));
        } else if (rp_num(f[2], 0, UINT32_MAX, &v) == 0) {
            fi->value = (uint32_t)v;
        } else {
            return perr(pc, "bad flowint", "bad flowint value '%.40s'", f[2]);
        }
    }
    r->tests |= fi->op <= RULE_FI_SUB ? RULE_T_ACTIONS : RULE_T_STATE;
    return 0;
}

/* ------------------------------------------------------------------ stream_size */

/* stream_size:server|client|both|either,OP,N with OP one of < > = != <= >=. */
int kw_stream_size(struct pctx *pc, const struct keyword *kw, char *val)
{
    static const char *const sides[] = { NULL, "server", "client", "both", "either" };
    struct rule_stream_size *ss = pc->r->stream_size;
    char *f[3], cmp[40];

    while (ss < pc->r->stream_size + RULE_MAX_STREAM_SIZE && ss->side)
        ss++;
    if (ss == pc->r->stream_size + RULE_MAX_STREAM_SIZE)
        return perr(pc, NULL, "more than %d stream_size keywords", RULE_MAX_STREAM_SIZE);
    if (rp_split(val, f, 3) != 3)
        return perr(pc, "bad stream_size", "bad stream_size '%.60s'", val);
    for (uint8_t i = 1; i < 5; i++)
        if (strcmp(f[0], sides[i]) == 0)
            ss->side = i;
    if (ss->side == 0 || strlen(f[1]) > 2 || strchr("<>=!", *f[1]) == NULL) {
        ss->side = 0;
        return perr(pc, "bad stream_size", "bad stream_size '%.60s'", val);
    }
    snprintf(cmp, sizeof cmp, "%s%s", f[1], f[2]);
    if (strcmp(f[1], "=") == 0)
        snprintf(cmp, sizeof cmp, "%s", f[2]);
    if (rp_cmp(cmp, UINT32_MAX - 1, NULL, &ss->cmp) < 0 || ss->cmp.op == RULE_CMP_RANGE) {
        ss->side = 0;
        return perr(pc, "bad stream_size", "bad stream_size '%.60s'", val);
    }
    pc->r->tests |= RULE_T_STREAM_SIZE;
    return 0;
}

/* ------------------------------------------------------------------ passive-sensor keywords */

int kw_noalert(struct pctx *pc, const struct keyword *kw, char *val)
{
    pc->r->noalert = 1;
    return 0;
}

int kw_bypass(struct pctx *pc, const struct keyword *kw, char *val)
{
    pc->r->bypass = 1;
    return 0;
}

/* tag:session|host[,COUNT,packets|bytes|seconds[,src|dst]], as Suricata
 * parses it: a direction only for host and after a count; without a count
 * 256 packets, of the destination for host. */
int kw_tag(struct pctx *pc, const struct keyword *kw, char *val)
{
    static const char *const metrics[] = { NULL, "packets", "bytes", "seconds" };
    struct rule_tag t = { .metric = RULE_TAG_PACKETS, .count = 256 };
    char text[64], *f[4];
    int n;

    snprintf(text, sizeof text, "%s", val);         /* rp_split() cuts val up */
    n = rp_split(val, f, 4);
    if (n < 1 || n == 2)
        return perr(pc, "bad tag", "bad tag '%s'", text);
    if (strcmp(f[0], "session") == 0)
        t.scope = RULE_TAG_SESSION;
    else if (strcmp(f[0], "host") == 0)
        t.scope = RULE_TAG_HOST;
    else
        return perr(pc, "bad tag", "bad tag '%s': the scope is session or host", text);
    if (n >= 3) {
        if (rp_u32(f[1], 1, &t.count) < 0)
            return perr(pc, "bad tag", "bad tag '%s': the count is a number >= 1", text);
        for (t.metric = RULE_TAG_PACKETS; t.metric <= RULE_TAG_SECONDS; t.metric++)
            if (strcmp(f[2], metrics[t.metric]) == 0)
                break;
        if (t.metric > RULE_TAG_SECONDS)
            return perr(pc, "bad tag", "bad tag '%s': the metric is packets, bytes or seconds", text);
    }
    if (n == 4) {
        if (t.scope != RULE_TAG_HOST || (strcmp(f[3], "src") != 0 && strcmp(f[3], "dst") != 0))
            return perr(pc, "bad tag", "bad tag '%s': a direction (src or dst) goes with host", text);
        t.host_src = strcmp(f[3], "src") == 0;
    }
    if (pc->r->ntags >= RULE_MAX_TAGS)
        return perr(pc, NULL, "more than %d tag keywords", RULE_MAX_TAGS);
    pc->r->tags[pc->r->ntags++] = t;
    return 0;
}

int kw_target(struct pctx *pc, const struct keyword *kw, char *val)
{
    if (strcmp(val, "src_ip") == 0)
        pc->r->target = RULE_TARGET_SRC;
    else if (strcmp(val, "dest_ip") == 0)
        pc->r->target = RULE_TARGET_DST;
    else
        return perr(pc, "bad target", "bad target '%.40s': src_ip or dest_ip", val);
    return 0;
}

/* prefilter: Suricata's hint to prefilter on the keyword before it; our
 * prefilter choice does not change what matches, so it is accepted as is. */
int kw_prefilter(struct pctx *pc, const struct keyword *kw, char *val)
{
    return 0;
}

/* The Suricata version linkwatch's rule language follows, and the features
 * requires: may ask for that it has. */
#define RULE_COMPAT_MAJOR 7
#define RULE_COMPAT_MINOR 0
#define RULE_COMPAT_PATCH 10

static const char *const features[] = { "geoip", "hyperscan", "pcre2" };

static int version_cmp(const char *v)
{
    long a[3] = { 0, 0, 0 }, have[3] = { RULE_COMPAT_MAJOR, RULE_COMPAT_MINOR, RULE_COMPAT_PATCH };
    char *end;

    for (int i = 0; i < 3 && *v; i++) {
        a[i] = strtol(v, &end, 10);
        if (end == v)
            return 2;
        v = *end == '.' ? end + 1 : end;
    }
    for (int i = 0; i < 3; i++)
        if (have[i] != a[i])
            return have[i] < a[i] ? -1 : 1;
    return 0;
}

/* One "version OP V [OP V]" requirement: 1 met, 0 not, -1 bad. */
static int version_ok(char *s)
{
    char *save = NULL;
    int ok = 1, terms = 0;
    char *w[4];
    int n = 0;

    for (char *t = strtok_r(s, " \t", &save); t && n < 4; t = strtok_r(NULL, " \t", &save))
        w[n++] = t;
    if (n != 2 && n != 4)
        return -1;
    for (int i = 0; i < n; i += 2) {
        int c = version_cmp(w[i + 1]);

        if (c == 2)
            return -1;
        if (strcmp(w[i], ">=") == 0)
            ok &= c >= 0;
        else if (strcmp(w[i], ">") == 0)
            ok &= c > 0;
        else if (strcmp(w[i], "<") == 0)
            ok &= c < 0;
        else if (strcmp(w[i], "<=") == 0)
            ok &= c <= 0;
        else if (strcmp(w[i], "=") == 0)
            ok &= c == 0;
        else
            return -1;
        terms++;
    }
    return terms ? ok : -1;
}

/* requires: feature F, version OP V[ OP V], ...: a rule whose requirements
 * this sensor does not meet is skipped (not loaded, not an error), as
 * Suricata does. */
int kw_requires(struct pctx *pc, const struct keyword *kw, char *val)
{
    char *f[8];
    int n = rp_split(val, f, 8);

    if (n < 1)
        return perr(pc, "bad requires", "bad requires '%.60s'", val);
    for (int i = 0; i < n; i++) {
        char *k = f[i], *a = k + strcspn(k, " \t");
        int ok = -1;

        if (*a)
            *a++ = '\0';
        a = rule_trim(a);
        if (strcmp(k, "feature") == 0) {
            ok = 0;
            for (size_t j = 0; j < sizeof features / sizeof features[0]; j++)
                ok |= strcmp(a, features[j]) == 0;
        } else if (strcmp(k, "version") == 0) {
            ok = version_ok(a);
        }
        if (ok < 0)
            return perr(pc, "bad requires", "bad requires '%.60s'", f[i]);
        if (ok == 0) {
            pc->skip = 1;
            return perr(pc, "requires: not met", "requires: %s %s not met (Suricata %d.%d.%d rule language)",
                        k, a, RULE_COMPAT_MAJOR, RULE_COMPAT_MINOR, RULE_COMPAT_PATCH);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ events */

/* stream-event names: what stream.h reports per packet. */
static const char *const stream_events[] = {
    "reassembly_overlap_different_data",     /* STREAM_EV_OVERLAP_DIFF */
    "reassembly_seq_gap",                    /* STREAM_EV_GAP */
    "rst_invalid",                           /* STREAM_EV_RST_IGNORED */
    "suspected_rst_inject",                  /* STREAM_EV_RST_INJECT */
    "pkt_invalid_timestamp",                 /* STREAM_EV_BAD_TS */
};

/* Suricata's names for decoder events that linkwatch names otherwise (its
 * decoder-events.rules and suricata-verify use them), with the IP version
 * the name implies. */
static const struct {
    const char *name;
    enum decode_event ev;
    uint8_t ipver;
} decode_aliases[] = {
    { "ipv4.frag_overlap", DE_FRAG_OVERLAP, 4 },        { "ipv6.frag_overlap", DE_FRAG_OVERLAP, 6 },
    { "ipv4.frag_pkt_too_large", DE_FRAG_TOO_LARGE, 4 }, { "ipv6.frag_pkt_too_large", DE_FRAG_TOO_LARGE, 6 },
    { "ipv4.pkt_too_small", DE_IPV4_TRUNCATED, 4 },     { "ipv6.pkt_too_small", DE_IPV6_TRUNCATED, 6 },
    { "ipv4.wrong_ip_version", DE_IPV4_BAD_VERSION, 4 }, { "ipv6.wrong_ip_version", DE_IPV6_BAD_VERSION, 6 },
    { "ipv4.hlen_too_small", DE_IPV4_BAD_HLEN, 4 },     { "ipv4.iplen_smaller_than_hlen", DE_IPV4_BAD_TOTLEN, 4 },
    { "ipv6.trunc_pkt", DE_IPV6_BAD_PLEN, 6 },          { "ipv6.trunc_exthdr", DE_IPV6_BAD_EXTHDR, 6 },
    { "tcp.pkt_too_small", DE_TCP_TRUNCATED, 0 },       { "tcp.hlen_too_small", DE_TCP_BAD_HLEN, 0 },
    { "tcp.invalid_optlen", DE_TCP_BAD_OPT, 0 },        { "udp.pkt_too_small", DE_UDP_TRUNCATED, 0 },
    { "udp.hlen_too_small", DE_UDP_TRUNCATED, 0 },      { "udp.hlen_invalid", DE_UDP_BAD_LEN, 0 },
    { "udp.len_invalid", DE_UDP_BAD_LEN, 0 },           { "icmpv4.pkt_too_small", DE_ICMPV4_TRUNCATED, 0 },
    { "icmpv6.pkt_too_small", DE_ICMPV6_TRUNCATED, 0 }, { "ethernet.pkt_too_small", DE_ETH_TRUNCATED, 0 },
    { "vlan.header_too_small", DE_VLAN_TRUNCATED, 0 },  { "gre.pkt_too_small", DE_GRE_TRUNCATED, 0 },
    { "gre.wrong_version", DE_GRE_BAD_VERSION, 0 },     { "sctp.pkt_too_small", DE_SCTP_TRUNCATED, 0 },
};

/* decode-event, stream-event, app-layer-event (kw->arg: enum
 * rule_event_kind). decode events go with the packet they were met on:
 * an anomaly rides a packet that goes through; a packet the decoder
 * refused or a fragment it holds is run, without a flow, against the rules
 * with a decode-event (and pkthdr rules), as Suricata runs its invalid
 * packets. app-layer events are matched by name against what the
 * application-layer parsers report. */
int kw_event(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule *r = pc->r;
    struct rule_event *e;
    int id = -1, ipver = 0;

    if (kw->arg == RULE_EV_DECODE) {
        id = decode_event_by_name(val);
        for (size_t i = 0; i < sizeof decode_aliases / sizeof decode_aliases[0] && id < 0; i++)
            if (strcmp(val, decode_aliases[i].name) == 0) {
                id = (int)decode_aliases[i].ev;
                ipver = decode_aliases[i].ipver;
            }
        if (id < 0)
            return perr(pc, "unknown decode-event", "unknown decode-event '%.60s'", val);
    } else if (kw->arg == RULE_EV_STREAM) {
        for (int i = 0; i < (int)(sizeof stream_events / sizeof stream_events[0]); i++)
            if (strcmp(val, stream_events[i]) == 0)
                id = i;
        if (id < 0)
            return perr(pc, "unknown stream-event", "unknown stream-event '%.60s'", val);
    } else {
        char *dot = strchr(val, '.');

        if (dot == NULL || dot == val || dot[1] == '\0')
            return perr(pc, "bad app-layer-event", "bad app-layer-event '%.60s': want proto.event", val);
        *dot = '\0';
        if (!rp_app_proto_known(val))
            return perr(pc, NULL, "app-layer-event: unknown protocol '%.40s'", val);
        *dot = '.';
    }
    if (rule_grow((void **)&r->events, &pc->ev_cap, r->nevents, sizeof *r->events) < 0)
        return perr(pc, NULL, "out of memory");
    e = &r->events[r->nevents++];
    e->kind = (uint8_t)kw->arg;
    e->ipver = (uint8_t)ipver;
    e->id = (uint16_t)(id < 0 ? 0 : id);
    if ((e->name = strdup(val)) == NULL)
        return perr(pc, NULL, "out of memory");
    r->tests |= RULE_T_EVENT;
    return 0;
}

/* ------------------------------------------------------------------ application values */

static struct rule_value *value_new(struct pctx *pc, uint8_t id, uint8_t test)
{
    struct rule *r = pc->r;
    struct rule_value *v;

    if (r->nvalues == RULE_MAX_VALUES) {
        perr(pc, NULL, "more than %d value keywords", RULE_MAX_VALUES);
        return NULL;
    }
    v = &r->values[r->nvalues++];
    memset(v, 0, sizeof *v);
    v->id = id;
    v->test = test;
    r->tests |= RULE_T_VALUE;
    return v;
}

/* tls.version:1.0|1.1|1.2|1.3|ssl3|0xNNNN */
int kw_tls_version(struct pctx *pc, const struct keyword *kw, char *val)
{
    static const struct { const char *s; uint16_t v; } names[] = {
        { "1.0", 0x0301 }, { "1.1", 0x0302 }, { "1.2", 0x0303 }, { "1.3", 0x0304 },
        { "ssl3", 0x0300 }, { "sslv3", 0x0300 }, { "2.0", 0x0200 },
    };
    struct rule_value *v = value_new(pc, RULE_VAL_TLS_VERSION, RULE_VT_CMP);
    long long n;

    if (v == NULL)
        return -1;
    v->cmp.op = RULE_CMP_EQ;
    if (*val == '!') {
        v->neg = 1;
        val = rule_trim(val + 1);
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(val, names[i].s) == 0) {
            v->cmp.a = names[i].v;
            return 0;
        }
    if (rp_num_hex(val, 0, 0xffff, &n) < 0)
        return perr(pc, "bad tls.version", "bad tls.version '%.40s'", val);
    v->cmp.a = (uint32_t)n;
    return 0;
}

/* A date "YYYY-MM-DD[THH:MM[:SS]]" (UTC) into seconds since the epoch. */
static int parse_date(const char *s, uint32_t *out)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    long long days;

    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
        return -1;
    s += n;
    if (*s == 'T' || *s == ' ') {
        n = 0;
        if (sscanf(s + 1, "%2d:%2d%n", &h, &mi, &n) != 2)
            return -1;
        s += 1 + n;
        if (*s == ':' && sscanf(s + 1, "%2d%n", &sec, &n) == 1)
            s += 1 + n;
    }
    if (*s || y < 1970 || y > 2105 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    /* days from civil (Howard Hinnant's algorithm) */
    y -= mo <= 2;
    {
        long long era = y / 400, yoe = y - era * 400;
        long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

        days = era * 146097 + doe - 719468;
    }
    *out = (uint32_t)(days * 86400 + h * 3600 + mi * 60 + sec);
    return 0;
}

/* tls_cert_notbefore / tls_cert_notafter: [<|>]DATE or DATE<>DATE
 * (kw->arg: the value id). */
int kw_tls_cert_date(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_value *v = value_new(pc, (uint8_t)kw->arg, RULE_VT_CMP);
    char *sep;

    if (v == NULL)
        return -1;
    if ((sep = strstr(val, "<>")) != NULL) {
        *sep = '\0';
        v->cmp.op = RULE_CMP_RANGE;
        if (parse_date(rule_trim(val), &v->cmp.a) < 0 || parse_date(rule_trim(sep + 2), &v->cmp.b) < 0)
            return perr(pc, "bad certificate date", "bad %s date", kw->name);
        return 0;
    }
    v->cmp.op = *val == '<' ? RULE_CMP_LT : *val == '>' ? RULE_CMP_GT : RULE_CMP_EQ;
    if (v->cmp.op != RULE_CMP_EQ)
        val = rule_trim(val + 1);
    if (parse_date(val, &v->cmp.a) < 0)
        return perr(pc, "bad certificate date", "bad %s date '%.40s'", kw->name, val);
    return 0;
}

/* tls_cert_expired, tls_cert_valid: the certificate's dates against the
 * packet's time. */
int kw_tls_cert_state(struct pctx *pc, const struct keyword *kw, char *val)
{
    return value_new(pc, RULE_VAL_TLS_NOTAFTER, (uint8_t)kw->arg) ? 0 : -1;
}

/* dns.opcode:[!]N */
int kw_dns_opcode(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_value *v = value_new(pc, RULE_VAL_DNS_OPCODE, RULE_VT_CMP);

    if (v == NULL)
        return -1;
    if (rp_cmp(val, 15, NULL, &v->cmp) < 0)
        return perr(pc, "bad dns.opcode", "bad dns.opcode '%.40s'", val);
    return 0;
}

/* filesize:[<|>|!]N or N<>M: bytes, up to 4 GB - 2 */
int kw_filesize(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_value *v = value_new(pc, RULE_VAL_FILESIZE, RULE_VT_CMP);

    (void)kw;
    if (v == NULL)
        return -1;
    if (rp_cmp(val, UINT32_MAX - 1, NULL, &v->cmp) < 0)
        return perr(pc, "bad filesize", "bad filesize '%.40s'", val);
    return 0;
}

/* tls.subject, tls.issuerdn, tls.fingerprint, filename, fileext (older
 * keywords with a value): a content in tls.cert_subject, tls.cert_issuer,
 * tls.cert_fingerprint, file.name; the fingerprint must be the whole
 * buffer, an extension its end after a '.', in any case. kw->arg: the
 * buffer. */
int kw_value_content(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct keyword k = { "value buffer", kw_sticky, VAL_NONE, 0, kw->arg, NULL, NULL };
    struct keyword sw = { "startswith", kw_startswith, VAL_NONE, 0, 0, NULL, NULL };
    struct keyword nc = { "nocase", kw_flagmod, VAL_NONE, 0, RULE_CT_NOCASE, NULL, NULL };
    int ext = strcmp(kw->name, "fileext") == 0;
    char quoted[RULE_ERR_LEN];
    int neg = *val == '!';
    size_t n;

    if (neg)
        val = rule_trim(val + 1);
    n = strlen(val);
    if (n >= 2 && *val == '"' && val[n - 1] == '"') {
        val[n - 1] = '\0';
        val++;
    }
    snprintf(quoted, sizeof quoted, "%s\"%s%s\"", neg ? "!" : "", ext ? "." : "", val);
    if (kw_sticky(pc, &k, NULL) < 0 || kw_content(pc, kw, quoted) < 0)
        return -1;
    if (kw->arg == RULE_BUF_TLS_CERT_FINGERPRINT) {
        /* the whole fingerprint, in any case (Suricata lower-cases it) */
        if (kw_startswith(pc, &sw, NULL) < 0 || kw_endswith(pc, &sw, NULL) < 0 || kw_flagmod(pc, &nc, NULL) < 0)
            return -1;
    } else if (ext && (kw_endswith(pc, &sw, NULL) < 0 || kw_flagmod(pc, &nc, NULL) < 0)) {
        return -1;
    }
    pc->cur_buf = RULE_BUF_PAYLOAD;      /* what follows is the payload again */
    pc->cur_view = -1;
    return 0;
}

/* ftpdata_command:stor|retr */
int kw_ftpdata_command(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_value *v = value_new(pc, RULE_VAL_FTPDATA_COMMAND, RULE_VT_CMP);

    (void)kw;
    if (v == NULL)
        return -1;
    v->cmp.op = RULE_CMP_EQ;
    if (strcmp(val, "stor") == 0)
        v->cmp.a = 1;                    /* enum ftp_data_cmd */
    else if (strcmp(val, "retr") == 0)
        v->cmp.a = 2;
    else
        return perr(pc, "bad ftpdata_command", "bad ftpdata_command '%.40s': want stor or retr", val);
    return 0;
}
