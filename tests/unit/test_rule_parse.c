/* test_rule_parse.c - the rule language parser: every keyword, every error
 * message, address/port semantics, the file loader and the ET Open corpus. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "rule-hashlist.h"
#include "rule-load.h"
#include "rule-parse.h"
#include "ruleset.h"
#include "util.h"

/* ------------------------------------------------------------------ fixtures */

static char *addr_names[] = { "HOME_NET", "EXTERNAL_NET", "DNS_SERVERS", "LOOP1", "LOOP2",
                              "V6NET", "BADV" };
static char *addr_values[] = { "[10.0.0.0/8,192.168.0.0/16]", "!$HOME_NET", "$HOME_NET",
                               "$LOOP2", "$LOOP1", "[2001:db8::/32, !2001:db8:1::/48]",
                               "[10.0.0.1,$NOPE]" };
static char *port_names[] = { "HTTP_PORTS", "FILE_DATA_PORTS", "SHELLCODE_PORTS" };
static char *port_values[] = { "80,8080", "[$HTTP_PORTS,110,143]", "!80" };

static struct lw_config tcfg;
static struct rule_classes *tclasses;
static struct rule_parse_env tenv;
static char tmpdir[64];

static const char class_text[] =
    "# test classes\n"
    "config classification: trojan-activity,A Network Trojan was detected,1\n"
    "config classification: misc-activity,Misc activity,3\n"
    "config classification: bad-unknown,Potentially Bad Traffic, 2\n";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    struct rule_error err;
    char path[128];

    tcfg.address_group_names.v = addr_names;
    tcfg.address_group_names.n = sizeof addr_names / sizeof addr_names[0];
    tcfg.address_group_values.v = addr_values;
    tcfg.address_group_values.n = sizeof addr_values / sizeof addr_values[0];
    tcfg.port_group_names.v = port_names;
    tcfg.port_group_names.n = sizeof port_names / sizeof port_names[0];
    tcfg.port_group_values.v = port_values;
    tcfg.port_group_values.n = sizeof port_values / sizeof port_values[0];
    strcpy(tmpdir, "/tmp/test_rule_parse.XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/classification.config", tmpdir);
    write_file(path, class_text);
    if ((tclasses = rule_classes_load(path, &err)) == NULL)
        return -1;
    tenv.cfg = &tcfg;
    tenv.classes = tclasses;
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    rule_classes_free(tclasses);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct rule *parse_ok(const char *text)
{
    struct rule_error err;
    struct rule *r;

    if (rule_parse(text, &tenv, &r, &err) < 0)
        fail_msg("rule did not parse: %s\n  %s", err.msg, text);
    return r;
}

/* Wraps options in a minimal valid header and a sid. */
static struct rule *opts_ok(const char *opts)
{
    char text[2048];

    snprintf(text, sizeof text, "alert tcp any any -> any any (%s sid:1;)", opts);
    return parse_ok(text);
}

static void parse_err(const char *text, const char *want)
{
    struct rule_error err;
    struct rule *r;

    if (rule_parse(text, &tenv, &r, &err) == 0) {
        rule_free(r);
        fail_msg("rule parsed but should not: %s", text);
    }
    assert_null(r);
    if (strcmp(err.msg, want) != 0)
        fail_msg("wrong error for %s\n  got:  %s\n  want: %s", text, err.msg, want);
}

static void opts_err(const char *opts, const char *want)
{
    char text[2048];

    snprintf(text, sizeof text, "alert tcp any any -> any any (%s sid:1;)", opts);
    parse_err(text, want);
}

/* Where rules/classification.config is: $LW_SRCDIR (make check), then
 * automake's $srcdir, else the current folder. */
static const char *source_dir(void)
{
    if (getenv("LW_SRCDIR") && *getenv("LW_SRCDIR"))
        return getenv("LW_SRCDIR");
    if (getenv("srcdir") && *getenv("srcdir"))
        return getenv("srcdir");
    return ".";
}

static struct lw_addr A(const char *s)
{
    struct lw_addr a;

    memset(&a, 0, sizeof a);
    assert_int_equal(lw_addr_parse(s, &a), 0);
    return a;
}

static int amatch(const struct rule_addrset *s, const char *addr)
{
    struct lw_addr a = A(addr);

    return rule_addr_match(s, &a);
}

static void addr_err(const char *expr, const char *want)
{
    struct rule_addrset s;
    struct rule_error err;

    if (rule_addrset_parse(&s, expr, &tcfg, &err) == 0) {
        rule_addrset_free(&s);
        fail_msg("address %s parsed but should not", expr);
    }
    if (strcmp(err.msg, want) != 0)
        fail_msg("wrong error for %s\n  got:  %s\n  want: %s", expr, err.msg, want);
}

static void port_err(const char *expr, const char *want)
{
    struct rule_portset s;
    struct rule_error err;

    if (rule_portset_parse(&s, expr, &tcfg, &err) == 0) {
        rule_portset_free(&s);
        fail_msg("port %s parsed but should not", expr);
    }
    if (strcmp(err.msg, want) != 0)
        fail_msg("wrong error for %s\n  got:  %s\n  want: %s", expr, err.msg, want);
}

/* ------------------------------------------------------------------ header */

static void test_header(void **state)
{
    static const struct { const char *text, *proto; int action, ipproto, app, ipver; } ok[] = {
        { "alert tcp any any -> any any (sid:1;)", "tcp", RULE_ACTION_ALERT, 6, 0, 0 },
        { "pass udp any any -> any any (sid:1;)", "udp", RULE_ACTION_PASS, 17, 0, 0 },
        { "drop icmp any any -> any any (sid:1;)", "icmp", RULE_ACTION_DROP, 1, 0, 0 },
        { "reject ip any any -> any any (sid:1;)", "ip", RULE_ACTION_REJECT, 0, 0, 0 },
        { "rejectboth tcp-pkt any any -> any any (sid:1;)", "tcp", RULE_ACTION_REJECT, 6, 0, 0 },
        { "alert http any any -> any any (sid:1;)", "http", RULE_ACTION_ALERT, 0, 1, 0 },
        { "alert http1 any any -> any any (sid:1;)", "http", RULE_ACTION_ALERT, 0, 1, 0 },
        { "alert tls any any -> any any (sid:1;)", "tls", RULE_ACTION_ALERT, 0, 1, 0 },
        { "alert dns any any -> any any (sid:1;)", "dns", RULE_ACTION_ALERT, 0, 1, 0 },
        { "alert modbus any any -> any any (sid:1;)", "modbus", RULE_ACTION_ALERT, 0, 1, 0 },
        { "alert krb5 any any -> any any (sid:1;)", "krb5", RULE_ACTION_ALERT, 0, 1, 0 },
        { "alert pkthdr any any -> any any (sid:1;)", "pkthdr", RULE_ACTION_ALERT, 0, 0, 0 },
        { "alert ipv4 any any -> any any (sid:1;)", "ipv4", RULE_ACTION_ALERT, 0, 0, 4 },
        { "alert ip6 any any -> any any (sid:1;)", "ipv6", RULE_ACTION_ALERT, 0, 0, 6 },
        { "alert icmpv4 any any -> any any (sid:1;)", "icmpv4", RULE_ACTION_ALERT, 1, 0, 4 },
        { "alert icmp6 any any -> any any (sid:1;)", "icmpv6", RULE_ACTION_ALERT, 1, 0, 6 },
    };
    struct rule *r;

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        r = parse_ok(ok[i].text);
        assert_string_equal(r->proto, ok[i].proto);
        assert_int_equal(r->action, ok[i].action);
        assert_int_equal(r->ipproto, ok[i].ipproto);
        assert_int_equal(r->app_layer, ok[i].app);
        assert_int_equal(r->ipver, ok[i].ipver);
        assert_int_equal(r->bidir, 0);
        assert_int_equal(r->gid, 1);
        assert_int_equal(r->rev, 0);
        assert_int_equal(r->priority, 3);
        assert_string_equal(r->msg, "");
        assert_int_equal(r->fast_pattern, -1);
        rule_free(r);
    }
    r = parse_ok("alert tcp [10.0.0.1, 10.0.0.2] any <> $HOME_NET [80, 443](sid:7;)");
    assert_int_equal(r->bidir, 1);
    assert_int_equal(r->sid, 7);
    assert_true(amatch(&r->src, "10.0.0.2"));
    assert_false(amatch(&r->src, "10.0.0.3"));
    assert_true(rule_port_match(&r->dport, 443));
    assert_false(rule_port_match(&r->dport, 444));
    assert_true(r->sport.any);
    rule_free(r);

    /* tabs between fields, options right after the last port */
    r = parse_ok("alert\tudp\t!$HOME_NET\t[53,5353] ->\t$HOME_NET any(msg:\"t\"; sid:8;)");
    assert_int_equal(r->sid, 8);
    assert_string_equal(r->msg, "t");
    assert_true(amatch(&r->src, "8.8.8.8"));
    assert_false(amatch(&r->src, "10.0.0.1"));
    assert_true(rule_port_match(&r->sport, 5353));
    rule_free(r);

    parse_err("alrt tcp any any -> any any (sid:1;)", "unknown action 'alrt'");
    parse_err("garbage", "incomplete rule header");
    parse_err("alert sctp any any -> any any (sid:1;)", "protocol 'sctp' is not supported");
    parse_err("alert tcp any any <- any any (sid:1;)", "bad direction '<-'");
    parse_err("alert tcp any any -> any (sid:1;)", "incomplete rule header");
    parse_err("alert tcp any any -> any any sid:1;", "rule options must be in parentheses");
    parse_err("alert tcp any any -> any any (sid:1;) x", "text after the closing parenthesis");
    parse_err("alert icmp any 80 -> any any (sid:1;)", "icmp rules take 'any' ports");
    parse_err("alert tcp 1.2.3 any -> any any (sid:1;)", "bad address '1.2.3'");
    parse_err("alert tcp any 99999 -> any any (sid:1;)", "bad port '99999'");
}

/* ------------------------------------------------------------------ addresses */

static void test_addr_semantics(void **state)
{
    struct rule_addrset s;
    struct rule_error err;

    assert_int_equal(rule_addrset_parse(&s, "any", NULL, &err), 0);
    assert_true(s.any);
    assert_true(amatch(&s, "1.2.3.4"));
    assert_true(amatch(&s, "::1"));
    rule_addrset_free(&s);

    /* CIDR with host bits set is masked; v4 does not match v6 */
    assert_int_equal(rule_addrset_parse(&s, "192.168.1.77/24", NULL, &err), 0);
    assert_false(s.any);
    assert_int_equal(s.n4, 1);
    assert_int_equal(s.n6, 0);
    assert_true(amatch(&s, "192.168.1.0"));
    assert_true(amatch(&s, "192.168.1.255"));
    assert_false(amatch(&s, "192.168.2.0"));
    assert_false(amatch(&s, "::ffff:192.168.1.1"));
    rule_addrset_free(&s);

    /* negation inside a list takes away from the list */
    assert_int_equal(rule_addrset_parse(&s, "[10.0.0.0/8, !10.1.0.0/16, 172.16.0.1]", NULL, &err), 0);
    assert_true(amatch(&s, "10.0.0.1"));
    assert_true(amatch(&s, "10.2.255.255"));
    assert_false(amatch(&s, "10.1.2.3"));
    assert_true(amatch(&s, "172.16.0.1"));
    assert_false(amatch(&s, "172.16.0.2"));
    assert_int_equal(s.n4, 3);
    rule_addrset_free(&s);

    /* a list of negations alone: everything else, v6 included */
    assert_int_equal(rule_addrset_parse(&s, "[!1.2.3.4, !5.6.7.0/24]", NULL, &err), 0);
    assert_false(amatch(&s, "1.2.3.4"));
    assert_false(amatch(&s, "5.6.7.200"));
    assert_true(amatch(&s, "1.2.3.5"));
    assert_true(amatch(&s, "2001:db8::1"));
    rule_addrset_free(&s);

    /* nested: 10/8 minus (10.1/16 minus 10.1.1/24) */
    assert_int_equal(rule_addrset_parse(&s, "[10.0.0.0/8,![10.1.0.0/16,!10.1.1.0/24]]", NULL, &err), 0);
    assert_true(amatch(&s, "10.9.9.9"));
    assert_false(amatch(&s, "10.1.0.1"));
    assert_true(amatch(&s, "10.1.1.1"));
    assert_false(amatch(&s, "11.0.0.0"));
    rule_addrset_free(&s);

    /* v6 CIDR, range, netmask form, address range */
    assert_int_equal(rule_addrset_parse(&s, "[2001:db8::/32, fe80::1-fe80::ff, 10.0.0.0/255.255.0.0, 1.1.1.1-1.1.1.9]", NULL, &err), 0);
    assert_true(amatch(&s, "2001:db8:ffff::1"));
    assert_false(amatch(&s, "2001:db9::"));
    assert_true(amatch(&s, "fe80::80"));
    assert_false(amatch(&s, "fe80::100"));
    assert_true(amatch(&s, "10.0.255.255"));
    assert_false(amatch(&s, "10.1.0.0"));
    assert_true(amatch(&s, "1.1.1.9"));
    assert_false(amatch(&s, "1.1.1.10"));
    assert_int_equal(s.n6, 2);
    rule_addrset_free(&s);

    /* ::/0 is all of v6 but not v4 */
    assert_int_equal(rule_addrset_parse(&s, "::/0", NULL, &err), 0);
    assert_false(s.any);
    assert_true(amatch(&s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_true(amatch(&s, "::"));
    assert_false(amatch(&s, "0.0.0.0"));
    rule_addrset_free(&s);

    /* adjacent ranges merge */
    assert_int_equal(rule_addrset_parse(&s, "[10.0.0.0/25,10.0.0.128/25]", NULL, &err), 0);
    assert_int_equal(s.n4, 1);
    assert_int_equal(s.v4[0].lo, 0x0a000000u);
    assert_int_equal(s.v4[0].hi, 0x0a0000ffu);
    rule_addrset_free(&s);
}

static void test_addr_vars(void **state)
{
    struct rule_addrset s;
    struct rule_error err;

    assert_int_equal(rule_addrset_parse(&s, "$HOME_NET", &tcfg, &err), 0);
    assert_true(amatch(&s, "10.200.0.1"));
    assert_true(amatch(&s, "192.168.5.5"));
    assert_false(amatch(&s, "8.8.8.8"));
    assert_false(amatch(&s, "2001:db8::1"));
    rule_addrset_free(&s);

    /* !$HOME_NET: everything else, v6 too */
    assert_int_equal(rule_addrset_parse(&s, "$EXTERNAL_NET", &tcfg, &err), 0);
    assert_false(amatch(&s, "10.200.0.1"));
    assert_true(amatch(&s, "8.8.8.8"));
    assert_true(amatch(&s, "2001:db8::1"));
    assert_int_equal(s.n4, 3);
    assert_int_equal(s.n6, 1);
    rule_addrset_free(&s);

    /* negating a negated variable gives it back */
    assert_int_equal(rule_addrset_parse(&s, "!$EXTERNAL_NET", &tcfg, &err), 0);
    assert_true(amatch(&s, "10.0.0.1"));
    assert_false(amatch(&s, "8.8.8.8"));
    rule_addrset_free(&s);

    /* variables in lists, v6 variable with a negation inside */
    assert_int_equal(rule_addrset_parse(&s, "[$DNS_SERVERS,!10.0.0.53,$V6NET]", &tcfg, &err), 0);
    assert_true(amatch(&s, "10.0.0.52"));
    assert_false(amatch(&s, "10.0.0.53"));
    assert_true(amatch(&s, "2001:db8:2::1"));
    assert_false(amatch(&s, "2001:db8:1::1"));
    rule_addrset_free(&s);

    addr_err("$FOO", "unknown variable '$FOO'");
    addr_err("[1.2.3.4,$BADV]", "unknown variable '$NOPE'");
    addr_err("$LOOP1", "variable '$LOOP1' nests deeper than 16 levels");
}

static void test_addr_errors(void **state)
{
    struct rule_addrset s;
    struct rule_error err;

    /* without a config every variable is unknown */
    assert_int_equal(rule_addrset_parse(&s, "$HOME_NET", NULL, &err), -1);
    assert_string_equal(err.msg, "unknown variable '$HOME_NET'");
    assert_string_equal(err.agg, "unknown variable '$HOME_NET'");

    addr_err("1.2.3.400", "bad address '1.2.3.400'");
    addr_err("10.0.0.0/33", "bad address '10.0.0.0/33'");
    addr_err("10.0.0.0/255.0.255.0", "bad address '10.0.0.0/255.0.255.0'");
    addr_err("1.1.1.9-1.1.1.1", "bad address '1.1.1.9-1.1.1.1'");
    addr_err("1.1.1.1-::1", "bad address '1.1.1.1-::1'");
    addr_err("[1.2.3.4", "unbalanced brackets in address");
    addr_err("1.2.3.4]", "unexpected ']' in address");
    addr_err("[1.2.3.4,]", "empty address in list");
    addr_err("[]", "empty address in list");
    addr_err("", "empty address");
    addr_err("!any", "address '!any' matches nothing");
    addr_err("[1.2.3.4,!1.2.3.0/24]", "address '[1.2.3.4,!1.2.3.0/24]' matches nothing");
    addr_err("$", "'$' without a variable name in address");

    assert_int_equal(rule_addrset_parse(&s, "1.2.3.999", NULL, &err), -1);
    assert_string_equal(err.agg, "bad address");
}

/* ------------------------------------------------------------------ ports */

static void test_ports(void **state)
{
    struct rule_portset s;
    struct rule_error err;

    assert_int_equal(rule_portset_parse(&s, "any", NULL, &err), 0);
    assert_true(s.any);
    assert_true(rule_port_match(&s, 0));
    assert_true(rule_port_match(&s, 65535));
    rule_portset_free(&s);

    assert_int_equal(rule_portset_parse(&s, "80", NULL, &err), 0);
    assert_true(rule_port_match(&s, 80));
    assert_false(rule_port_match(&s, 81));
    rule_portset_free(&s);

    assert_int_equal(rule_portset_parse(&s, "[1024:, !8080, :21, 100:200]", NULL, &err), 0);
    assert_true(rule_port_match(&s, 0));
    assert_true(rule_port_match(&s, 21));
    assert_false(rule_port_match(&s, 22));
    assert_true(rule_port_match(&s, 150));
    assert_false(rule_port_match(&s, 201));
    assert_true(rule_port_match(&s, 1024));
    assert_false(rule_port_match(&s, 8080));
    assert_true(rule_port_match(&s, 8081));
    assert_true(rule_port_match(&s, 65535));
    assert_int_equal(s.n, 4);
    rule_portset_free(&s);

    assert_int_equal(rule_portset_parse(&s, "!80", NULL, &err), 0);
    assert_false(rule_port_match(&s, 80));
    assert_true(rule_port_match(&s, 0));
    assert_true(rule_port_match(&s, 65535));
    rule_portset_free(&s);

    /* nested negation */
    assert_int_equal(rule_portset_parse(&s, "[1:1000,![500:600,!550]]", NULL, &err), 0);
    assert_true(rule_port_match(&s, 499));
    assert_false(rule_port_match(&s, 500));
    assert_true(rule_port_match(&s, 550));
    assert_false(rule_port_match(&s, 600));
    assert_true(rule_port_match(&s, 601));
    assert_false(rule_port_match(&s, 0));
    rule_portset_free(&s);

    /* variables: a bare comma list, nested variables, a negation */
    assert_int_equal(rule_portset_parse(&s, "$FILE_DATA_PORTS", &tcfg, &err), 0);
    assert_true(rule_port_match(&s, 80));
    assert_true(rule_port_match(&s, 8080));
    assert_true(rule_port_match(&s, 143));
    assert_false(rule_port_match(&s, 443));
    rule_portset_free(&s);
    assert_int_equal(rule_portset_parse(&s, "[$SHELLCODE_PORTS,!$HTTP_PORTS]", &tcfg, &err), 0);
    assert_false(rule_port_match(&s, 80));
    assert_false(rule_port_match(&s, 8080));
    assert_true(rule_port_match(&s, 443));
    rule_portset_free(&s);

    port_err("70000", "bad port '70000'");
    port_err("90:80", "bad port '90:80'");
    port_err(":", "bad port ':'");
    port_err("http", "bad port 'http'");
    port_err("$NOPE", "unknown variable '$NOPE'");
    port_err("$HOME_NET", "unknown variable '$HOME_NET'");
    port_err("[80,!80]", "port '[80,!80]' matches nothing");
    port_err("[80", "unbalanced brackets in port");
}

/* ------------------------------------------------------------------ content */

static const struct rule_content *C(const struct rule *r, uint32_t i)
{
    assert_true(i < r->nsm);
    assert_int_equal(r->sm[i].type, RULE_SM_CONTENT);
    return &r->sm[i].u.c;
}

static void test_content(void **state)
{
    struct rule *r;
    const struct rule_content *c;

    r = opts_ok("content:\"GET|20 2F|a\\;b\\\"c\\\\d\\:e|0d0A|\";");
    c = C(r, 0);
    assert_int_equal(c->len, 16);
    assert_memory_equal(c->bytes, "GET /a;b\"c\\d:e\r\n", 16);
    assert_int_equal(c->flags, 0);
    assert_int_equal(r->sm[0].buf, RULE_BUF_PAYLOAD);
    assert_int_equal(r->buffers, 1u << RULE_BUF_PAYLOAD);
    rule_free(r);

    r = opts_ok("content:!\"abc\"; nocase; offset:3; depth:10; content:\"xy\"; distance:-2; within:5; rawbytes;");
    c = C(r, 0);
    assert_int_equal(c->flags, RULE_CT_NEGATED | RULE_CT_NOCASE | RULE_CT_OFFSET | RULE_CT_DEPTH);
    assert_int_equal(c->offset, 3);
    assert_int_equal(c->depth, 10);
    c = C(r, 1);
    assert_int_equal(c->flags, RULE_CT_DISTANCE | RULE_CT_WITHIN | RULE_CT_RAWBYTES);
    assert_int_equal(c->distance, -2);
    assert_int_equal(c->within, 5);
    assert_int_equal(r->nsm, 2);
    rule_free(r);

    /* a relative content first in its buffer is relative to the start */
    r = opts_ok("content:\"a\"; http.uri; content:\"b\"; distance:0;");
    assert_int_equal(r->sm[1].buf, RULE_BUF_HTTP_URI);
    assert_true(C(r, 1)->flags & RULE_CT_DISTANCE);
    rule_free(r);

    /* A legacy modifier leaves no empty payload view behind: it would be
     * matched, and fail on an empty payload (a response header inspected at
     * the FIN that completed its transaction). A payload content keeps its
     * view; the views of the moved contents are closed up. */
    r = opts_ok("content:\"ng1nx\"; http_header;");
    assert_int_equal(r->nviews, 1);
    assert_int_equal(r->views[0].buf, RULE_BUF_HTTP_HEADER);
    assert_int_equal(r->sm[0].view, 0);
    rule_free(r);
    r = opts_ok("content:\"a\"; content:\"b\"; http_header; content:\"c\";");
    assert_int_equal(r->nviews, 2);
    assert_int_equal(r->views[r->sm[0].view].buf, RULE_BUF_PAYLOAD);
    assert_int_equal(r->views[r->sm[1].view].buf, RULE_BUF_HTTP_HEADER);
    assert_int_equal(r->sm[2].view, r->sm[0].view);
    rule_free(r);
    r = opts_ok("content:\"a\"; http_uri; content:\"b\"; http_header;");
    assert_int_equal(r->nviews, 2);
    assert_int_equal(r->views[r->sm[0].view].buf, RULE_BUF_HTTP_URI);
    assert_int_equal(r->views[r->sm[1].view].buf, RULE_BUF_HTTP_HEADER);
    rule_free(r);

    opts_err("content:\"abc;", "unterminated content");
    opts_err("content:\"abc\\\";", "unterminated content");
    opts_err("content:abc;", "content needs a quoted string");
    opts_err("content:\"\";", "content is empty");
    opts_err("content:\"||\";", "content is empty");
    opts_err("content:\"a\"b\";", "text after the closing quote of content");
    opts_err("content:\"|4G|\";", "bad hex in content: 'G'");
    opts_err("content:\"|414|\";", "bad hex in content: odd number of digits");
    opts_err("content:\"|4 1|\";", "bad hex in content: blank inside a byte");
    opts_err("content:\"|41\";", "unterminated hex in content");
    opts_err("content:\"a\\nb\";", "bad escape '\\n' in content");
    opts_err("depth:4;", "depth needs a preceding content");
    opts_err("nocase;", "nocase needs a preceding content");
    opts_err("distance:0;", "distance needs a preceding content");
    opts_err("within:4;", "within needs a preceding content");
    opts_err("offset:1;", "offset needs a preceding content");
    opts_err("content:\"abcd\"; within:3;", "within 3 is less than the content length 4");
    opts_err("content:\"abcd\"; depth:3;", "depth 3 is less than the content length 4");
    opts_err("content:\"a\"; depth:x;", "unknown byte_extract/byte_math variable 'x'");
    opts_err("content:\"a\"; offset:-1;", "bad offset '-1'");
    opts_err("content:\"a\"; distance:70000;", "bad distance '70000'");
    opts_err("content:\"a\"; depth:4; depth:5;", "depth given twice for one content");
    opts_err("content:\"a\"; nocase; nocase;", "nocase given twice for one content");
    opts_err("content:\"a\"; depth:4; within:5;", "within can't be mixed with offset or depth on one content");
    opts_err("content:\"a\"; distance:1; offset:5;", "offset can't be mixed with distance or within on one content");
    opts_err("content;", "keyword 'content' needs a value");
    opts_err("content:\"a\"; nocase:1;", "keyword 'nocase' takes no value");
}

static void test_fast_pattern(void **state)
{
    struct rule *r;

    r = opts_ok("content:\"a\"; content:\"bcd\"; fast_pattern; nocase;");
    assert_int_equal(r->fast_pattern, 1);
    assert_int_equal(C(r, 1)->flags, RULE_CT_FAST_PATTERN | RULE_CT_NOCASE);
    assert_int_equal(C(r, 0)->flags, 0);
    rule_free(r);
    r = opts_ok("content:\"abc\"; fast_pattern:only;");
    assert_int_equal(r->fast_pattern, 0);
    assert_int_equal(C(r, 0)->flags, RULE_CT_FAST_PATTERN | RULE_CT_FP_ONLY);
    rule_free(r);

    opts_err("fast_pattern;", "fast_pattern needs a preceding content");
    opts_err("content:\"abc\"; fast_pattern:2,5;", "fast_pattern 2,5 reaches past the content's 3 bytes");
    opts_err("content:\"abc\"; fast_pattern:x;", "bad fast_pattern 'x'");
    opts_err("content:\"a\"; fast_pattern; content:\"b\"; fast_pattern;",
             "fast_pattern given on more than one content");
    opts_err("content:!\"a\"; fast_pattern:only;",
             "fast_pattern:only can't be used with negation, offset, depth, distance or within");
    opts_err("content:\"a\"; fast_pattern:only; depth:3;",
             "fast_pattern:only can't be used with negation, offset, depth, distance or within");
}

/* ------------------------------------------------------------------ pcre */

static void test_pcre(void **state)
{
    struct rule *r;
    const struct rule_pcre *p;

    r = opts_ok("content:\"a\"; pcre:\"/^b[0-9]+\\;c/Ri\";");
    assert_int_equal(r->nsm, 2);
    assert_int_equal(r->sm[1].type, RULE_SM_PCRE);
    p = &r->sm[1].u.p;
    assert_non_null(p->code);
    assert_true(p->flags & RULE_PCRE_RELATIVE);
    assert_false(p->flags & RULE_PCRE_NEGATED);
    assert_string_equal(p->text, "/^b[0-9]+\\;c/Ri");
    assert_int_equal(r->sm[1].buf, RULE_BUF_PAYLOAD);
    rule_free(r);

    /* negation, buffer flags, options A E G s m x O B */
    r = opts_ok("pcre:!\"/x y/UsmxAEGOB\";");
    p = &r->sm[0].u.p;
    assert_int_equal(p->flags & (RULE_PCRE_NEGATED | RULE_PCRE_RAWBYTES | RULE_PCRE_RELATIVE),
                     RULE_PCRE_NEGATED | RULE_PCRE_RAWBYTES);
    assert_int_equal(r->sm[0].buf, RULE_BUF_HTTP_URI);
    rule_free(r);
    r = opts_ok("pcre:\"/a/M\"; pcre:\"/b/V\"; pcre:\"/c/W\";");
    assert_int_equal(r->sm[0].buf, RULE_BUF_HTTP_METHOD);
    assert_int_equal(r->sm[1].buf, RULE_BUF_HTTP_USER_AGENT);
    assert_int_equal(r->sm[2].buf, RULE_BUF_HTTP_HOST);
    rule_free(r);
    /* in a sticky buffer; the same buffer flag is fine */
    r = opts_ok("http.uri; content:\"/x\"; pcre:\"/\\/x\\d/UR\";");
    assert_int_equal(r->sm[1].buf, RULE_BUF_HTTP_URI);
    rule_free(r);
    r = opts_ok("dns.query; pcre:\"/^[a-z]{30,}\\./\";");
    assert_int_equal(r->sm[0].buf, RULE_BUF_DNS_QUERY);
    rule_free(r);

    opts_err("pcre:\"/a(b/\";", "bad pcre '/a(b/': missing closing parenthesis at offset 3");
    opts_err("pcre:\"/a/K\";", "pcre flag 'K' (http raw cookie) is not supported: no such buffer");
    opts_err("pcre:\"/a/q\";", "unknown pcre flag 'q'");
    opts_err("pcre:\"/a/UM\";", "pcre has flags for two buffers");
    opts_err("pcre:\"/a/R\";", "pcre /R needs a preceding content or pcre in the same buffer");
    opts_err("content:\"x\"; http.uri; pcre:\"/a/R\";",
             "pcre /R needs a preceding content or pcre in the same buffer");
    opts_err("dns.query; pcre:\"/a/U\";", "pcre flag for http.uri conflicts with the sticky buffer dns.query");
    opts_err("pcre:\"/abc\";", "bad pcre '/abc': it must be /regex/flags");
    opts_err("pcre:\"abc/\";", "bad pcre 'abc/': it must be /regex/flags");
    opts_err("pcre:/abc/;", "pcre needs a quoted string");
    opts_err("pcre:\"/abc/;", "unterminated pcre");

    {
        struct rule_error err;
        struct rule *x;

        assert_int_equal(rule_parse("alert tcp any any -> any any (pcre:\"/(/\"; sid:1;)", &tenv, &x, &err), -1);
        assert_string_equal(err.agg, "bad pcre");
        assert_int_equal(rule_parse("alert tcp any any -> any any (pcre:\"/(/K\"; sid:1;)", &tenv, &x, &err), -1);
        assert_string_equal(err.agg, "pcre flag 'K' is not supported");
    }
}

/* ------------------------------------------------------------------ sticky buffers */

static void test_sticky(void **state)
{
    static const struct { const char *kw; int buf; const char *proto; } sticky[] = {
        { "dns.query", RULE_BUF_DNS_QUERY, "dns" }, { "dns_query", RULE_BUF_DNS_QUERY, "dns" },
        { "tls.sni", RULE_BUF_TLS_SNI, "tls" }, { "tls_sni", RULE_BUF_TLS_SNI, "tls" },
        { "tls.cert_subject", RULE_BUF_TLS_CERT_SUBJECT, "tls" },
        { "tls_cert_subject", RULE_BUF_TLS_CERT_SUBJECT, "tls" },
        { "tls.cert_issuer", RULE_BUF_TLS_CERT_ISSUER, "tls" },
        { "tls_cert_issuer", RULE_BUF_TLS_CERT_ISSUER, "tls" },
        { "ja3.hash", RULE_BUF_JA3_HASH, "tls" }, { "ja3_hash", RULE_BUF_JA3_HASH, "quic" },
        { "http.host", RULE_BUF_HTTP_HOST, "http" }, { "http.uri", RULE_BUF_HTTP_URI, "http" },
        { "http.method", RULE_BUF_HTTP_METHOD, "http" },
        { "http.user_agent", RULE_BUF_HTTP_USER_AGENT, "http" },
        { "ssh.software", RULE_BUF_SSH_SOFTWARE, "ssh" },
    };
    char text[256];
    struct rule *r;

    for (size_t i = 0; i < sizeof sticky / sizeof sticky[0]; i++) {
        snprintf(text, sizeof text, "alert %s any any -> any any (content:\"p\"; %s; content:\"a\"; "
                 "content:\"b\"; sid:1;)", sticky[i].proto, sticky[i].kw);
        r = parse_ok(text);
        assert_int_equal(r->sm[0].buf, RULE_BUF_PAYLOAD);
        assert_int_equal(r->sm[1].buf, sticky[i].buf);
        assert_int_equal(r->sm[2].buf, sticky[i].buf);
        assert_int_equal(r->buffers, 1u << RULE_BUF_PAYLOAD | 1u << sticky[i].buf);
        if (strchr(sticky[i].kw, '.'))          /* the canonical name */
            assert_string_equal(rule_buffer_name((enum rule_buffer)sticky[i].buf), sticky[i].kw);
        rule_free(r);
    }
    /* a plain tcp/udp header takes any buffer; pkt_data goes back to the payload */
    r = parse_ok("alert udp any any -> any 53 (dns.query; content:\"x\"; pkt_data; content:\"y\"; sid:1;)");
    assert_int_equal(r->sm[0].buf, RULE_BUF_DNS_QUERY);
    assert_int_equal(r->sm[1].buf, RULE_BUF_PAYLOAD);
    rule_free(r);

    /* Suricata 4 style content modifiers move the content they follow */
    r = opts_ok("content:\"GET\"; http_method; content:\"/a\"; http_uri; nocase; content:\"x.org\"; "
                "http_host; content:\"curl\"; http_user_agent; content:\"z\";");
    assert_int_equal(r->sm[0].buf, RULE_BUF_HTTP_METHOD);
    assert_int_equal(r->sm[1].buf, RULE_BUF_HTTP_URI);
    assert_true(C(r, 1)->flags & RULE_CT_NOCASE);
    assert_int_equal(r->sm[2].buf, RULE_BUF_HTTP_HOST);
    assert_int_equal(r->sm[3].buf, RULE_BUF_HTTP_USER_AGENT);
    assert_int_equal(r->sm[4].buf, RULE_BUF_PAYLOAD);
    rule_free(r);

    opts_err("http_uri;", "http_uri needs a preceding content");
    opts_err("dns.query; content:\"a\"; http_uri;", "http_uri can't apply to a content in the dns.query buffer");
    opts_err("content:\"a\"; http_raw_cookie;", "keyword 'http_raw_cookie' is not supported");
    opts_err("http.cookie.raw; content:\"a\";", "keyword 'http.cookie.raw' is not supported");
    opts_err("dns.query; content:\"a\"; tls.sni; content:\"b\";", "rule mixes dns.query and tls.sni buffers");
    opts_err("http.uri; nocase;", "nocase needs a preceding content");
    opts_err("dns.query:x;", "keyword 'dns.query' takes no value");
    parse_err("alert dns any any -> any any (tls.sni; content:\"a\"; sid:1;)",
              "tls.sni can't be used with protocol 'dns'");
    parse_err("alert icmp any any -> any any (http.uri; content:\"a\"; sid:1;)",
              "http.uri can't be used with protocol 'icmp'");
}

/* ------------------------------------------------------------------ flow, flags, comparisons */

static void test_flow(void **state)
{
    static const struct { const char *v; uint8_t f; } ok[] = {
        { "to_server", RULE_FLOW_TO_SERVER }, { "from_client", RULE_FLOW_TO_SERVER },
        { "to_client", RULE_FLOW_TO_CLIENT }, { "from_server", RULE_FLOW_TO_CLIENT },
        { "established, to_server", RULE_FLOW_ESTABLISHED | RULE_FLOW_TO_SERVER },
        { "not_established", RULE_FLOW_NOT_ESTABLISHED },
        { "stateless", RULE_FLOW_STATELESS },
        { "to_client,established,only_stream", RULE_FLOW_TO_CLIENT | RULE_FLOW_ESTABLISHED | RULE_FLOW_ONLY_STREAM },
        { "no_stream", RULE_FLOW_NO_STREAM },
    };
    char opts[128];
    struct rule *r;

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(opts, sizeof opts, "flow:%s;", ok[i].v);
        r = opts_ok(opts);
        assert_int_equal(r->flow, ok[i].f);
        rule_free(r);
    }
    opts_err("flow:to_server,to_client;", "flow options to_server and to_client conflict");
    opts_err("flow:established,not_established;",
             "flow options established and not_established/stateless conflict");
    opts_err("flow:only_stream,no_stream;", "flow options only_stream and no_stream conflict");
    opts_err("flow:sideways;", "bad flow option 'sideways'");
    opts_err("flow:to_server; flow:established;", "keyword 'flow' given twice");
}

static void test_flags(void **state)
{
    struct rule *r;

    r = opts_ok("flags:S;");
    assert_true(r->tcpflags.set);
    assert_int_equal(r->tcpflags.mode, RULE_FLAGS_EXACT);
    assert_int_equal(r->tcpflags.flags, RULE_TCP_SYN);
    assert_true(rule_tcpflags_match(&r->tcpflags, RULE_TCP_SYN));
    assert_false(rule_tcpflags_match(&r->tcpflags, RULE_TCP_SYN | RULE_TCP_ACK));
    rule_free(r);

    r = opts_ok("flags:S,12;");               /* ignore CWR and ECE */
    assert_int_equal(r->tcpflags.ignore, RULE_TCP_CWR | RULE_TCP_ECE);
    assert_true(rule_tcpflags_match(&r->tcpflags, RULE_TCP_SYN | RULE_TCP_ECE | RULE_TCP_CWR));
    assert_false(rule_tcpflags_match(&r->tcpflags, RULE_TCP_SYN | RULE_TCP_ACK));
    rule_free(r);

    r = opts_ok("flags:SA+;");
    assert_int_equal(r->tcpflags.mode, RULE_FLAGS_PLUS);
    assert_true(rule_tcpflags_match(&r->tcpflags, RULE_TCP_SYN | RULE_TCP_ACK | RULE_TCP_PSH));
    assert_false(rule_tcpflags_match(&r->tcpflags, RULE_TCP_SYN));
    rule_free(r);

    r = opts_ok("flags:*FR;");
    assert_int_equal(r->tcpflags.mode, RULE_FLAGS_ANY);
    assert_true(rule_tcpflags_match(&r->tcpflags, RULE_TCP_RST | RULE_TCP_ACK));
    assert_false(rule_tcpflags_match(&r->tcpflags, RULE_TCP_ACK));
    rule_free(r);

    r = opts_ok("flags:!A;");
    assert_int_equal(r->tcpflags.mode, RULE_FLAGS_NOT);
    assert_true(rule_tcpflags_match(&r->tcpflags, RULE_TCP_SYN));
    assert_false(rule_tcpflags_match(&r->tcpflags, RULE_TCP_ACK | RULE_TCP_PSH));
    rule_free(r);

    r = opts_ok("flags:0;");
    assert_int_equal(r->tcpflags.flags, 0);
    assert_true(rule_tcpflags_match(&r->tcpflags, 0));
    assert_false(rule_tcpflags_match(&r->tcpflags, RULE_TCP_URG));
    rule_free(r);

    r = opts_ok("flags:FSRPAUCE;");
    assert_int_equal(r->tcpflags.flags, 0xff);
    rule_free(r);

    opts_err("flags:SX;", "bad tcp flag 'X'");
    opts_err("flags:S,Q;", "bad tcp flag 'Q' in the ignore mask");
    opts_err("flags:+*S;", "bad flags '+*S'");
    opts_err("flags:0S;", "bad flags '0S'");
    opts_err("flags:+;", "bad flags '+'");
}

static void test_cmp(void **state)
{
    struct rule *r;

    r = opts_ok("dsize:>100; ttl:<5; itype:8; icode:!0;");
    assert_int_equal(r->dsize.op, RULE_CMP_GT);
    assert_int_equal(r->dsize.a, 100);
    assert_int_equal(r->ttl.op, RULE_CMP_LT);
    assert_int_equal(r->ttl.a, 5);
    assert_int_equal(r->itype.op, RULE_CMP_EQ);
    assert_int_equal(r->itype.a, 8);
    assert_int_equal(r->icode.op, RULE_CMP_NE);
    assert_true(rule_cmp_match(&r->dsize, 101));
    assert_false(rule_cmp_match(&r->dsize, 100));
    assert_true(rule_cmp_match(&r->ttl, 4));
    assert_false(rule_cmp_match(&r->ttl, 5));
    assert_true(rule_cmp_match(&r->icode, 1));
    assert_false(rule_cmp_match(&r->icode, 0));
    assert_true(rule_cmp_match(&r->ip_proto, 99));     /* not given: always */
    rule_free(r);

    r = opts_ok("dsize:300<>400; ttl:>=64; itype:<=3; icode:10-20;");
    assert_int_equal(r->dsize.op, RULE_CMP_RANGE);
    assert_false(rule_cmp_match(&r->dsize, 300));      /* exclusive, as Suricata */
    assert_true(rule_cmp_match(&r->dsize, 301));
    assert_true(rule_cmp_match(&r->dsize, 399));
    assert_false(rule_cmp_match(&r->dsize, 400));
    assert_int_equal(r->ttl.op, RULE_CMP_GE);
    assert_true(rule_cmp_match(&r->ttl, 64));
    assert_int_equal(r->itype.op, RULE_CMP_LE);
    assert_int_equal(r->icode.op, RULE_CMP_RANGE);
    assert_int_equal(r->icode.a, 10);
    assert_int_equal(r->icode.b, 20);
    rule_free(r);

    r = opts_ok("ip_proto:gre;");
    assert_int_equal(r->ip_proto.op, RULE_CMP_EQ);
    assert_int_equal(r->ip_proto.a, 47);
    rule_free(r);
    r = opts_ok("ip_proto:!TCP;");
    assert_int_equal(r->ip_proto.op, RULE_CMP_NE);
    assert_int_equal(r->ip_proto.a, 6);
    rule_free(r);
    r = opts_ok("ip_proto:<17;");
    assert_int_equal(r->ip_proto.op, RULE_CMP_LT);
    rule_free(r);

    opts_err("dsize:70000;", "bad dsize '70000'");
    opts_err("dsize:400<>300;", "bad dsize '400<>300'");
    opts_err("dsize:abc;", "bad dsize 'abc'");
    opts_err("ttl:256;", "bad ttl '256'");
    opts_err("itype:>;", "bad itype '>'");
    opts_err("icode:-1;", "bad icode '-1'");
    opts_err("ip_proto:foo;", "bad ip_proto 'foo'");
    opts_err("ip_proto:1<>9;", "bad ip_proto '1<>9'");
    opts_err("dsize:1; dsize:2;", "keyword 'dsize' given twice");
}

static void test_threshold(void **state)
{
    struct rule *r;

    r = opts_ok("threshold: type limit, track by_src, count 1, seconds 60;");
    assert_int_equal(r->threshold.type, RULE_THR_LIMIT);
    assert_int_equal(r->threshold.track, RULE_TRACK_BY_SRC);
    assert_int_equal(r->threshold.count, 1);
    assert_int_equal(r->threshold.seconds, 60);
    rule_free(r);
    r = opts_ok("threshold:seconds 5,count 10,track by_both,type both;");
    assert_int_equal(r->threshold.type, RULE_THR_BOTH);
    assert_int_equal(r->threshold.track, RULE_TRACK_BY_BOTH);
    assert_int_equal(r->threshold.count, 10);
    rule_free(r);
    r = opts_ok("threshold:type threshold,track by_rule,count 3,seconds 1;");
    assert_int_equal(r->threshold.type, RULE_THR_THRESHOLD);
    assert_int_equal(r->threshold.track, RULE_TRACK_BY_RULE);
    rule_free(r);
    r = opts_ok("detection_filter: track by_dst, count 20, seconds 10;");
    assert_int_equal(r->threshold.type, RULE_THR_DETECTION_FILTER);
    assert_int_equal(r->threshold.track, RULE_TRACK_BY_DST);
    assert_int_equal(r->threshold.count, 20);
    assert_int_equal(r->threshold.seconds, 10);
    rule_free(r);

    opts_err("threshold: type limit, track by_src, count 1;", "threshold needs type, track, count and seconds");
    opts_err("detection_filter: track by_src, seconds 1;", "detection_filter needs track, count and seconds");
    opts_err("threshold: type sometimes, track by_src, count 1, seconds 1;",
             "bad threshold option 'type sometimes'");
    opts_err("threshold: type limit, track by_flow, count 1, seconds 1;",
             "bad threshold option 'track by_flow'");
    opts_err("threshold: type limit, track by_src, count 0, seconds 1;",
             "bad threshold option 'count 0'");
    opts_err("detection_filter: type limit, track by_src, count 1, seconds 1;",
             "bad detection_filter option 'type limit'");
    opts_err("threshold: type limit, track by_src, count 1, seconds 1; "
             "detection_filter: track by_src, count 1, seconds 1;",
             "only one threshold or detection_filter per rule");
}

/* ------------------------------------------------------------------ meta keywords */

static void test_meta(void **state)
{
    struct rule *r;

    r = parse_ok("alert tcp any any -> any any (msg:\"ET a \\\"b\\\" c\\; d\"; sid:2000001; rev:7; gid:3; "
                 "classtype:trojan-activity; metadata: former_category MALWARE, signature_severity Major, "
                 "created_at 2019_01_01; metadata:policy balanced-ips drop; reference:url,example.com/a,b; "
                 "reference: cve , 2021-44228 ;)");
    assert_string_equal(r->msg, "ET a \"b\" c; d");
    assert_int_equal(r->sid, 2000001);
    assert_int_equal(r->rev, 7);
    assert_int_equal(r->gid, 3);
    assert_non_null(r->cls);
    assert_string_equal(r->cls->name, "trojan-activity");
    assert_string_equal(r->cls->desc, "A Network Trojan was detected");
    assert_int_equal(r->priority, 1);
    assert_int_equal(r->nmetadata, 4);
    assert_string_equal(r->metadata[0].key, "former_category");
    assert_string_equal(r->metadata[0].value, "MALWARE");
    assert_string_equal(r->metadata[2].key, "created_at");
    assert_string_equal(r->metadata[2].value, "2019_01_01");
    assert_string_equal(r->metadata[3].key, "policy");
    assert_string_equal(r->metadata[3].value, "balanced-ips drop");
    assert_int_equal(r->nrefs, 2);
    assert_string_equal(r->refs[0].key, "url");
    assert_string_equal(r->refs[0].value, "example.com/a,b");
    assert_string_equal(r->refs[1].key, "cve");
    assert_string_equal(r->refs[1].value, "2021-44228");
    assert_null(r->file);
    rule_free(r);

    r = opts_ok("classtype:bad-unknown;");
    assert_int_equal(r->priority, 2);
    rule_free(r);
    r = opts_ok("classtype:bad-unknown; priority:9;");
    assert_int_equal(r->priority, 9);
    rule_free(r);
    r = opts_ok("priority:1; classtype:misc-activity;");
    assert_int_equal(r->priority, 1);
    rule_free(r);
    r = opts_ok("msg:unquoted text;");
    assert_string_equal(r->msg, "unquoted text");
    rule_free(r);

    parse_err("alert tcp any any -> any any (msg:\"x\";)", "missing sid");
    parse_err("alert tcp any any -> any any (msg:\"x\"; sid:0;)", "bad sid '0'");
    parse_err("alert tcp any any -> any any (sid:12a;)", "bad sid '12a'");
    parse_err("alert tcp any any -> any any (sid:99999999999;)", "bad sid '99999999999'");
    opts_err("rev:x;", "bad rev 'x'");
    opts_err("gid:-1;", "bad gid '-1'");
    opts_err("sid:2;", "keyword 'sid' given twice");
    opts_err("msg:\"a; b\";", "unterminated msg");
    opts_err("classtype:nonsense;", "unknown classtype 'nonsense'");
    opts_err("priority:0;", "bad priority '0'");
    opts_err("priority:256;", "bad priority '256'");
    opts_err("reference:nocomma;", "bad reference 'nocomma'");
    opts_err("reference:url,;", "bad reference 'url'");
    opts_err("dataset:isset,x;", "keyword 'dataset' is not supported");
    opts_err("endswith;", "endswith needs a preceding content");
    opts_err("metadata;", "keyword 'metadata' needs a value");
    /* an empty option between two semicolons is skipped; the last ';' is optional */
    r = parse_ok("alert tcp any any -> any any (msg:\"a\";; sid:5)");
    assert_int_equal(r->sid, 5);
    rule_free(r);
}

static void test_app_ndpi_geoip_ok(void **state)
{
    struct rule *r;

    r = opts_ok("app-layer-protocol:HTTP1; ndpi-protocol:TLS.Tor; geoip:src,ru,CN;");
    assert_string_equal(r->app_proto, "http");
    assert_int_equal(r->app_proto_neg, 0);
    assert_string_equal(r->ndpi_proto, "TLS.Tor");
    assert_int_equal(r->ndpi_proto_neg, 0);
    assert_non_null(r->geoip);
    assert_int_equal(r->geoip->dir, RULE_GEO_SRC);
    assert_int_equal(r->geoip->negated, 0);
    assert_int_equal(r->geoip->n, 2);
    assert_string_equal(r->geoip->cc[0], "RU");
    assert_string_equal(r->geoip->cc[1], "CN");
    rule_free(r);

    r = opts_ok("app-layer-protocol:!failed; ndpi-protocol:!DNS; geoip:!US;");
    assert_string_equal(r->app_proto, "failed");
    assert_int_equal(r->app_proto_neg, 1);
    assert_string_equal(r->ndpi_proto, "DNS");
    assert_int_equal(r->ndpi_proto_neg, 1);
    assert_int_equal(r->geoip->dir, RULE_GEO_ANY);
    assert_int_equal(r->geoip->negated, 1);
    assert_int_equal(r->geoip->n, 1);
    rule_free(r);

    r = opts_ok("geoip:both,!CN,RU,IR;");
    assert_int_equal(r->geoip->dir, RULE_GEO_BOTH);
    assert_int_equal(r->geoip->negated, 1);
    assert_int_equal(r->geoip->n, 3);
    assert_string_equal(r->geoip->cc[2], "IR");
    rule_free(r);
    r = opts_ok("geoip:dst,DE;");
    assert_int_equal(r->geoip->dir, RULE_GEO_DST);
    rule_free(r);
    r = opts_ok("geoip:any,DE;");
    assert_int_equal(r->geoip->dir, RULE_GEO_ANY);
    rule_free(r);

    opts_err("app-layer-protocol:gopher;", "unknown app-layer protocol 'gopher'");
    opts_err("app-layer-protocol:http,final;", "app-layer-protocol modes are not supported: 'http,final'");
    opts_err("ndpi-protocol:TLS Tor;", "bad ndpi-protocol 'TLS Tor'");
    opts_err("ndpi-protocol:!;", "bad ndpi-protocol ''");
    opts_err("geoip:src,RU,!CN;", "geoip: '!' negates the whole list; put it before the first country");
    opts_err("geoip:src,RUS;", "bad geoip country 'RUS'");
    opts_err("geoip:src;", "geoip needs at least one country");
    opts_err("geoip:src,;", "geoip needs at least one country");
    opts_err("geoip:US; geoip:CA;", "keyword 'geoip' given twice");
}

/* ------------------------------------------------------------------ classification */

static void test_classification(void **state)
{
    struct rule_classes *c;
    struct rule_error err;
    char path[128];
    const char *srcdir = source_dir();
    static const char *const names[] = {
        "attempted-admin", "trojan-activity", "policy-violation", "bad-unknown", "attempted-recon",
        "misc-activity", "protocol-command-decode", "web-application-attack", "coin-mining",
        "command-and-control", "network-scan", "not-suspicious", "unknown",
    };

    assert_non_null(rule_classes_find(tclasses, "misc-activity"));
    assert_int_equal(rule_classes_find(tclasses, "bad-unknown")->priority, 2);
    assert_null(rule_classes_find(tclasses, "nope"));

    snprintf(path, sizeof path, "%s/bad.config", tmpdir);
    write_file(path, "# x\n\nconfig classification: a,b,1\nconfig classification: c,d\n");
    assert_null(rule_classes_load(path, &err));
    snprintf(path, sizeof path, "%s/bad.config:4: bad classification line", tmpdir);
    assert_string_equal(err.msg, path);
    snprintf(path, sizeof path, "%s/bad.config", tmpdir);
    write_file(path, "config classification: a,b,1\nconfig classification: a,c,2\n");
    assert_null(rule_classes_load(path, &err));
    snprintf(path, sizeof path, "%s/bad.config:2: duplicate classification", tmpdir);
    assert_string_equal(err.msg, path);
    snprintf(path, sizeof path, "%s/bad.config", tmpdir);
    write_file(path, "config classification: a,b,0\n");
    assert_null(rule_classes_load(path, &err));
    assert_null(rule_classes_load("/nonexistent/x.config", &err));
    assert_string_equal(err.msg, "/nonexistent/x.config: cannot open: No such file or directory");

    /* the shipped file */
    snprintf(path, sizeof path, "%s/rules/classification.config", srcdir);
    if (access(path, R_OK) != 0) {
        print_message("skipping the shipped classification.config: %s not found\n", path);
        return;
    }
    assert_non_null(c = rule_classes_load(path, &err));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (rule_classes_find(c, names[i]) == NULL)
            fail_msg("%s lacks %s", path, names[i]);
    assert_int_equal(rule_classes_find(c, "attempted-admin")->priority, 1);
    assert_int_equal(rule_classes_find(c, "misc-activity")->priority, 3);
    assert_int_equal(rule_classes_find(c, "tcp-connection")->priority, 4);
    assert_string_equal(rule_classes_find(c, "trojan-activity")->desc, "A Network Trojan was detected");
    rule_classes_free(c);
}

/* ------------------------------------------------------------------ loader */

static const char rules_a[] =
    "# a comment\n"
    "\n"
    "   # an indented comment\n"
    "#alert tcp any any -> any any (msg:\"commented out\"; sid:99;)\n"
    "alert tcp $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (msg:\"one\"; flow:established,to_server; \\\n"
    "    content:\"abc\"; \\\n"
    "    classtype:misc-activity; sid:1; rev:2;)\n"
    "alert tcp any any -> any any (msg:\"bad\"; lua; sid:2;)\n"
    "alert tcp any any -> any any (msg:\"dup\"; sid:1;)\n"
    "alert udp any any -> any 53 (msg:\"gid 2 same sid\"; gid:2; sid:1;)\n"
    "alert tcp any any -> any any (msg:\"no sid\";)\r\n"
    "alert tcp any any -> $NOPE any (sid:3;)\n"
    "alert tcp any any -> any any (msg:\"also bad\"; lua; sid:4;)\n";

static const char rules_b[] =
    "alert dns any any -> any any (msg:\"b1\"; dns.query; content:\"evil\"; nocase; sid:10;)\n"
    "alert tcp any any -> any any (msg:\"b2 last line without newline\"; sid:11;)";

/* filemd5, filesha1, filesha256: the list is found beside the rule's file
 * (then in the configuration's folder, then from the current one), read as
 * Suricata reads it (a hex run a line, comments after it ignored, other
 * lines skipped, either case, duplicates dropped), sorted; ! negates; a
 * missing file, a digest of the wrong length and a folder are errors that
 * name the file (and line). */
static void test_filehash(void **state)
{
    char rules[128], list[128], want[512];
    struct rule_parse_env env = tenv;
    struct rule *r;
    const struct rule_hashlist *h;

    (void)state;
    snprintf(rules, sizeof rules, "%s/hash.rules", tmpdir);
    snprintf(list, sizeof list, "%s/list.md5", tmpdir);
    write_file(list, "# comment\nFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,last\n\n"
                     "090fe607a5be1228362614ccaa088577\n 5d41402abc4b2a76b9719d911017c592 (skipped: a blank first)\n"
                     "090FE607A5BE1228362614CCAA088577 again\n");
    env.file = rules;
    tenv.file = rules;
    r = parse_ok("alert http any any -> any any (filemd5:list.md5; sid:1;)");
    assert_int_equal(r->nsm, 1);
    assert_int_equal(r->sm[0].type, RULE_SM_HASHLIST);
    assert_int_equal(r->sm[0].buf, RULE_BUF_FILE_MD5);
    assert_true(r->buffers & RULE_BUF_BIT(RULE_BUF_FILE_MD5));
    h = &r->sm[0].u.h;
    assert_int_equal(h->n, 2);
    assert_int_equal(h->len, 16);
    assert_false(h->negated);
    assert_int_equal(h->v[0], 0x09);
    assert_int_equal(h->v[16], 0xff);
    assert_true(rule_hashlist_has(h, h->v));
    rule_free(r);
    /* negated, quoted, absolute; a content after it is the payload's */
    snprintf(want, sizeof want, "alert tcp any any -> any any (filemd5:! \"%s\"; content:\"x\"; sid:1;)", list);
    r = parse_ok(want);
    assert_true(r->sm[0].u.h.negated);
    assert_int_equal(r->sm[1].buf, RULE_BUF_PAYLOAD);
    rule_free(r);
    snprintf(want, sizeof want, "filesha1: %s/list.md5:2: a digest here is 40 hex digits", tmpdir);
    parse_err("alert http any any -> any any (filesha1:list.md5; sid:1;)", want);
    snprintf(want, sizeof want, "filemd5: %s/nope.md5: No such file or directory", tmpdir);
    parse_err("alert http any any -> any any (filemd5:nope.md5; sid:1;)", want);
    snprintf(want, sizeof want, "filesha256: %s/.: not a regular file", tmpdir);
    parse_err("alert http any any -> any any (filesha256:.; sid:1;)", want);
    parse_err("alert http any any -> any any (filemd5; sid:1;)", "keyword 'filemd5' needs a value");
    /* a buffer only its keyword reads is no sticky keyword */
    parse_err("alert http any any -> any any (filemd5; content:\"x\"; sid:1;)", "keyword 'filemd5' needs a value");
    assert_int_equal(rule_buffer_by_name("filemd5"), -1);
    parse_err("alert tls any any -> any any (filemd5:list.md5; sid:1;)",
              "filemd5 can't be used with protocol 'tls'");
    tenv.file = NULL;
    (void)env;
}

static void test_loader(void **state)
{
    struct rule_load_report rep;
    struct rule_list *l;
    char sub[80], pa[96], pb[96], pc[96], cls[96], glob_pat[96], want[512];
    const char *paths[3];
    const struct rule *r;

    snprintf(sub, sizeof sub, "%s/rules", tmpdir);
    mkdir(sub, 0700);
    snprintf(pa, sizeof pa, "%s/a.rules", sub);
    snprintf(pb, sizeof pb, "%s/b.rules", sub);
    snprintf(pc, sizeof pc, "%s/c.notrules", sub);
    snprintf(cls, sizeof cls, "%s/classification.config", tmpdir);
    write_file(pa, rules_a);
    write_file(pb, rules_b);
    write_file(pc, "garbage\n");

    paths[0] = sub;                     /* a directory: its *.rules */
    l = ruleset_load_files(paths, 1, &tcfg, cls, &rep);
    assert_non_null(l);
    assert_int_equal(rep.files, 2);
    assert_int_equal(rep.loaded, 4);
    assert_int_equal(rep.failed, 5);
    assert_int_equal(rep.errors, 5);
    assert_int_equal(l->n, 4);
    assert_int_equal(rep.nlines, 5);

    snprintf(want, sizeof want, "%s:8: keyword 'lua' is not supported", pa);
    assert_string_equal(rep.lines[0], want);
    snprintf(want, sizeof want, "%s:9: duplicate sid 1 (first at %s:5)", pa, pa);
    assert_string_equal(rep.lines[1], want);
    snprintf(want, sizeof want, "%s:11: missing sid", pa);
    assert_string_equal(rep.lines[2], want);
    snprintf(want, sizeof want, "%s:12: unknown variable '$NOPE'", pa);
    assert_string_equal(rep.lines[3], want);
    snprintf(want, sizeof want, "%s:13: keyword 'lua' is not supported", pa);
    assert_string_equal(rep.lines[4], want);

    assert_int_equal(rep.nreasons, 4);
    assert_string_equal(rep.reasons[0].text, "keyword 'lua' is not supported");
    assert_int_equal(rep.reasons[0].count, 2);
    assert_int_equal(rep.reasons[1].count, 1);

    /* the multi-line rule: line of its start, fully parsed */
    r = l->v[0];
    assert_int_equal(r->sid, 1);
    assert_int_equal(r->rev, 2);
    assert_int_equal(r->line, 5);
    assert_string_equal(r->file, pa);
    assert_string_equal(r->msg, "one");
    assert_int_equal(r->nsm, 1);
    assert_int_equal(r->priority, 3);
    assert_true(rule_port_match(&r->dport, 8080));
    assert_true(amatch(&r->src, "10.1.1.1"));
    assert_false(amatch(&r->dst, "10.1.1.1"));
    assert_int_equal(l->v[1]->gid, 2);
    assert_int_equal(l->v[1]->sid, 1);
    assert_int_equal(l->v[2]->sid, 10);
    assert_int_equal(l->v[3]->sid, 11);
    assert_int_equal(l->v[3]->line, 2);
    rule_list_free(l);
    rule_load_report_free(&rep);
    assert_null(rep.lines);

    /* a glob, a missing file, a classification that does not exist */
    snprintf(glob_pat, sizeof glob_pat, "%s/b*.rules", sub);
    paths[0] = glob_pat;
    paths[1] = "/nonexistent/x.rules";
    paths[2] = "/nonexistent/*.rules";
    l = ruleset_load_files(paths, 3, &tcfg, "/nonexistent/classification.config", &rep);
    assert_non_null(l);
    assert_null(l->classes);
    assert_int_equal(rep.files, 1);
    assert_int_equal(rep.loaded, 2);
    assert_int_equal(rep.failed, 0);
    assert_int_equal(rep.errors, 3);
    assert_int_equal(rep.nreasons, 0);
    assert_string_equal(rep.lines[0], "/nonexistent/classification.config: cannot open: No such file or directory");
    assert_string_equal(rep.lines[1], "/nonexistent/x.rules: No such file or directory");
    assert_string_equal(rep.lines[2], "/nonexistent/*.rules: no file matches");
    rule_list_free(l);
    rule_load_report_free(&rep);

    /* ruleset_check: the -T entry point */
    {
        char out[4096] = "";
        FILE *f = fmemopen(out, sizeof out - 1, "w");
        int rc;

        paths[0] = pb;
        rc = ruleset_check(paths, 1, &tcfg, cls, f);
        fclose(f);
        assert_int_equal(rc, 0);
        assert_non_null(strstr(out, "rules: 2 loaded, 0 failed, from 1 files"));
        f = fmemopen(out, sizeof out - 1, "w");
        paths[0] = pa;
        rc = ruleset_check(paths, 1, &tcfg, cls, f);
        fclose(f);
        assert_int_equal(rc, 1);
        assert_non_null(strstr(out, "rules: 2 loaded, 5 failed, from 1 files"));
        assert_non_null(strstr(out, "       2  keyword 'lua' is not supported\n"));
        snprintf(want, sizeof want, "%s:8: keyword 'lua' is not supported\n", pa);
        assert_non_null(strstr(out, want));
    }
}

/* More errors than the report keeps: all are counted. */
static void test_loader_bounded(void **state)
{
    struct rule_load_report rep;
    struct rule_list *l;
    char path[128];
    const char *paths[1] = { path };
    FILE *f;

    snprintf(path, sizeof path, "%s/many.rules", tmpdir);
    assert_non_null(f = fopen(path, "w"));
    for (int i = 1; i <= 1500; i++)
        fprintf(f, "alert tcp any any -> any any (msg:\"m\"; bsize:%d; sid:%d;)\n", i, i);
    fprintf(f, "alert tcp any any -> any any (sid:5000;)\n");
    fclose(f);
    l = ruleset_load_files(paths, 1, NULL, NULL, &rep);
    assert_int_equal(rep.loaded, 1);
    assert_int_equal(rep.failed, 1500);
    assert_int_equal(rep.errors, 1500);
    assert_int_equal(rep.nlines, RULE_REPORT_MAX_ERRORS);
    assert_int_equal(rep.nreasons, 1);
    assert_int_equal(rep.reasons[0].count, 1500);
    rule_list_free(l);
    rule_load_report_free(&rep);
}

/* ------------------------------------------------------------------ ET Open */

static void test_et_open(void **state)
{
    const char *root = getenv("LW_CORPUS");
    const char *srcdir = source_dir();
    char pat[512], cls[512], ours[512], err[512];
    const char *paths[1] = { pat };
    struct rule_load_report rep, rep2;
    struct lw_config cfg;
    struct rule_list *l;
    struct stat st;
    size_t pcres = 0, contents = 0, sticky = 0;

    if (root == NULL || *root == '\0') {
        print_message("LW_CORPUS not set: skipping the ET Open load\n");
        skip();
    }
    snprintf(pat, sizeof pat, "%s/rules-et-open/*.rules", root);
    snprintf(cls, sizeof cls, "%s/rules-et-open/classification.config", root);
    if (stat(cls, &st) != 0) {
        print_message("%s missing: skipping the ET Open load\n", cls);
        skip();
    }
    if (config_load(&cfg, NULL, NULL, 0, err, sizeof err) < 0)
        fail_msg("config_load: %s", err);
    l = ruleset_load_files(paths, 1, &cfg, cls, &rep);
    assert_non_null(l);
    print_message("ET Open: %zu loaded, %zu failed, %zu files, %.3f s\n",
                  rep.loaded, rep.failed, rep.files, (double)rep.usec / 1e6);
    for (size_t i = 0; i < rep.nreasons && i < 15; i++)
        print_message("  %6zu  %s\n", rep.reasons[i].count, rep.reasons[i].text);
    for (size_t i = 0; i < l->n; i++)
        for (uint32_t j = 0; j < l->v[i]->nsm; j++) {
            pcres += l->v[i]->sm[j].type == RULE_SM_PCRE;
            contents += l->v[i]->sm[j].type == RULE_SM_CONTENT;
            sticky += l->v[i]->sm[j].buf != RULE_BUF_PAYLOAD;
        }
    print_message("  loaded rules hold %zu contents, %zu pcres, %zu in sticky buffers\n",
                  contents, pcres, sticky);
    assert_true(rep.loaded >= 7000);
    assert_int_equal(rep.loaded + rep.failed, 24827);
    assert_int_equal(rep.loaded, l->n);

    /* our classification.config knows every classtype ET uses */
    snprintf(ours, sizeof ours, "%s/rules/classification.config", srcdir);
    if (access(ours, R_OK) == 0) {
        struct rule_list *l2 = ruleset_load_files(paths, 1, &cfg, ours, &rep2);

        assert_non_null(l2);
        assert_int_equal(rep2.loaded, rep.loaded);
        rule_list_free(l2);
        rule_load_report_free(&rep2);
    }
    rule_list_free(l);
    rule_load_report_free(&rep);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_addr_semantics),
        cmocka_unit_test(test_addr_vars),
        cmocka_unit_test(test_addr_errors),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_content),
        cmocka_unit_test(test_fast_pattern),
        cmocka_unit_test(test_pcre),
        cmocka_unit_test(test_sticky),
        cmocka_unit_test(test_flow),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_cmp),
        cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_meta),
        cmocka_unit_test(test_app_ndpi_geoip_ok),
        cmocka_unit_test(test_classification),
        cmocka_unit_test(test_filehash),
        cmocka_unit_test(test_loader),
        cmocka_unit_test(test_loader_bounded),
        cmocka_unit_test(test_et_open),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
