/* rule-value.c - the rule parser's value readers, shared by the header
 * parser (rule-parse.c) and the keyword handlers (rule-kw-*.c): numbers,
 * quoted strings, comma lists, comparisons, the header protocols, and the
 * error report. They call nothing back, so the keyword files depend on
 * them and not on the parser that dispatches to them. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule-parse-int.h"
#include "rule-text.h"

int perr(struct pctx *pc, const char *agg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(pc->err->msg, sizeof pc->err->msg, fmt, ap);
    va_end(ap);
    snprintf(pc->err->agg, sizeof pc->err->agg, "%s", agg ? agg : pc->err->msg);
    return -1;
}

/* Header protocols: the name as written, the one stored, the IP protocol
 * (0: any; 1: ICMP of either IP version), whether it is an application
 * protocol seen through nDPI, and the IP version it is limited to (0: any). */
static const struct {
    const char *name, *norm;
    uint8_t     ipproto, app, ipver;
} protocols[] = {
    { "ip", "ip", 0, 0, 0 },        { "pkthdr", "pkthdr", 0, 0, 0 },   /* any packet: decode-event rules */
    { "ipv4", "ipv4", 0, 0, 4 },    { "ip4", "ipv4", 0, 0, 4 },
    { "ipv6", "ipv6", 0, 0, 6 },    { "ip6", "ipv6", 0, 0, 6 },
    { "tcp", "tcp", 6, 0, 0 },      { "tcp-pkt", "tcp", 6, 0, 0 },
    { "udp", "udp", 17, 0, 0 },     { "icmp", "icmp", 1, 0, 0 },
    { "icmpv4", "icmpv4", 1, 0, 4 }, { "icmp4", "icmpv4", 1, 0, 4 },
    { "icmpv6", "icmpv6", 1, 0, 6 }, { "icmp6", "icmpv6", 1, 0, 6 },
    { "http", "http", 0, 1, 0 },       { "http1", "http", 0, 1, 0 },
    { "tls", "tls", 0, 1, 0 },         { "dtls", "dtls", 0, 1, 0 },
    { "dns", "dns", 0, 1, 0 },         { "ssh", "ssh", 0, 1, 0 },
    { "smb", "smb", 0, 1, 0 },         { "ftp", "ftp", 0, 1, 0 },
    { "ftp-data", "ftp-data", 0, 1, 0 }, { "smtp", "smtp", 0, 1, 0 },
    { "imap", "imap", 0, 1, 0 },       { "pop3", "pop3", 0, 1, 0 },
    { "quic", "quic", 0, 1, 0 },       { "dhcp", "dhcp", 0, 1, 0 },
    { "ntp", "ntp", 0, 1, 0 },         { "snmp", "snmp", 0, 1, 0 },
    { "rdp", "rdp", 0, 1, 0 },         { "sip", "sip", 0, 1, 0 },
    { "mqtt", "mqtt", 0, 1, 0 },       { "modbus", "modbus", 0, 1, 0 },
    { "dnp3", "dnp3", 0, 1, 0 },       { "krb5", "krb5", 0, 1, 0 },
    { "nfs", "nfs", 0, 1, 0 },         { "tftp", "tftp", 0, 1, 0 },
    { "rfb", "rfb", 0, 1, 0 },         { "telnet", "telnet", 0, 1, 0 },
    { "irc", "irc", 0, 1, 0 },         { "bittorrent", "bittorrent", 0, 1, 0 },
    { "ldap", "ldap", 0, 1, 0 },       { "mysql", "mysql", 0, 1, 0 },
    { "pgsql", "pgsql", 0, 1, 0 },     { "dcerpc", "dcerpc", 0, 1, 0 },
    { "enip", "enip", 0, 1, 0 },       { "websocket", "websocket", 0, 1, 0 },
};

int rp_protocol(const char *name, const char **norm, uint8_t *ipproto, uint8_t *app, uint8_t *ipver)
{
    for (size_t i = 0; i < sizeof protocols / sizeof protocols[0]; i++)
        if (strcmp(name, protocols[i].name) == 0) {
            *norm = protocols[i].norm;
            *ipproto = protocols[i].ipproto;
            *app = protocols[i].app;
            *ipver = protocols[i].ipver;
            return 0;
        }
    return -1;
}

int rp_app_proto_known(const char *s)
{
    if (strcmp(s, "failed") == 0 || strcmp(s, "unknown") == 0)
        return 1;
    for (size_t i = 0; i < sizeof protocols / sizeof protocols[0]; i++)
        if (protocols[i].app && strcmp(protocols[i].norm, s) == 0)
            return 1;
    return 0;
}

static int parse_int(const char *s, int base, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    while (*s == ' ' || *s == '\t')
        s++;
    if (!(*s == '-' || (*s >= '0' && *s <= '9')))
        return -1;
    errno = 0;
    v = strtoll(s, &end, base);
    while (*end == ' ' || *end == '\t')
        end++;
    if (errno || *end || end == s || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int rp_num(const char *s, long long min, long long max, long long *out)
{
    return parse_int(s, 10, min, max, out);
}

int rp_num_hex(const char *s, long long min, long long max, long long *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        return isxdigit((unsigned char)s[2]) ? parse_int(s, 16, min, max, out) : -1;
    return parse_int(s, 10, min, max, out);
}

int rp_u32(const char *s, uint32_t min, uint32_t *out)
{
    long long v;

    if (rp_num(s, min, UINT32_MAX, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* A quoted string into a new one: raw keeps backslashes but before '"'
 * and ';' (a regex), else every "\x" is x. */
static char *unquote(struct pctx *pc, const char *kw, const char *v, int raw)
{
    size_t n = strlen(v), o = 0;
    char *s;

    if (*v != '"')
        return strdup(v);
    if ((s = malloc(n)) == NULL)
        return NULL;
    for (size_t i = 1; i < n; i++) {
        if (v[i] == '\\' && i + 1 < n && (!raw || v[i + 1] == '"' || v[i + 1] == ';')) {
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

char *rp_string(struct pctx *pc, const char *kw, const char *v)
{
    return unquote(pc, kw, v, 0);
}

char *rp_string_raw(struct pctx *pc, const char *kw, const char *v)
{
    return unquote(pc, kw, v, 1);
}

int rp_split(char *s, char **f, int max)
{
    int n = 0;
    char *p = s;

    for (;;) {
        char *comma = strchr(p, ',');

        if (n == max)
            return -1;
        if (comma)
            *comma = '\0';
        f[n++] = rule_trim(p);
        if (comma == NULL)
            return n;
        p = comma + 1;
    }
}

uint64_t rule_name_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h ? h : 1;
}

int rp_cmp(const char *s, uint32_t max, int (*name)(const char *, uint32_t *),
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
    else if (p[0] == '!') { c->op = RULE_CMP_NE; p += p[1] == '=' ? 2 : 1; }
    else if (p[0] == '=') { c->op = RULE_CMP_EQ; p += p[1] == '=' ? 2 : 1; }
    else if ((sep = strstr(p, "<>")) != NULL || (sep = strchr(p + 1, '-')) != NULL) {
        c->op = RULE_CMP_RANGE;
        sep[0] = '\0';
        sep += sep[1] == '>' ? 2 : 1;
        if (rp_num_hex(p, 0, max, &a) < 0 || rp_num_hex(sep, 0, max, &b) < 0 || a >= b)
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
    if (rp_num_hex(p, 0, max, &a) < 0)
        return -1;
    c->a = (uint32_t)a;
    return 0;
}
