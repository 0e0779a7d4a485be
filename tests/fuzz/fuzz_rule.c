/* fuzz_rule.c - libFuzzer target: rule text through rule_parse() with the
 * shipped configuration's variables ($HOME_NET, $HTTP_PORTS, ...), and the
 * address and port expressions on their own; a rule that parses is
 * compiled and run on a TCP packet and an HTTP/DNS flow whose payload and
 * sticky buffers are the bytes after the first newline (the content chain,
 * byte keywords, transforms, base64 on hostile data). Input: the rule
 * text, optionally a newline and the data. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rule-load.h"
#include "detect.h"
#include "dpi.h"
#include "rule-parse.h"
#include "threshold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_alert(void *arg, const struct rule *r, const struct packet *p, struct flow *f)
{
    (*(size_t *)arg)++;
}

/* Compiles r alone (the engine owns it then) and runs it on data as a TCP
 * payload and as the flow's HTTP and DNS metadata. */
static void run_rule(struct rule *r, const uint8_t *data, size_t len)
{
    static struct dpi_result dr;
    static struct dpi_http http;
    static struct dpi_dns dns;
    struct rule_list *l = calloc(1, sizeof *l);
    struct detect_engine *e;
    struct detect_thread *t;
    struct threshold_ctx *th;
    struct packet p;
    struct flow f;
    size_t alerts = 0;
    char err[256];

    if (l == NULL || (l->v = calloc(1, sizeof *l->v)) == NULL) {
        free(l);
        rule_free(r);
        return;
    }
    l->v[l->n++] = r;
    if ((e = detect_compile(l, err, sizeof err)) == NULL)
        return;
    t = detect_thread_new(e);
    th = threshold_new(1024);
    memset(&p, 0, sizeof p);
    memset(&f, 0, sizeof f);
    p.src.family = p.dst.family = 4;
    p.ip_version = 4;
    p.proto = 6;
    p.flags = PKT_F_HAS_PORTS;
    p.sport = 40000;
    p.dport = 80;
    p.payload = data;
    p.payload_len = (uint32_t)len;
    p.flow = &f;
    f.key.proto = 6;
    f.tcp_state = FLOW_TCP_ESTABLISHED;
    f.pkts[0] = 1;
    memset(&dr, 0, sizeof dr);
    dr.flags = DPI_F_DONE;
    strcpy(dr.app_proto, len & 1 ? "http" : "dns");
    snprintf(http.url, sizeof http.url, "%.*s", (int)len, (const char *)data);
    snprintf(http.user_agent, sizeof http.user_agent, "%.*s", (int)len, (const char *)data);
    snprintf(dns.rrname, sizeof dns.rrname, "%.*s", (int)len, (const char *)data);
    if (len & 1)
        dr.http = &http;
    else
        dr.dns = &dns;
    f.dpi = &dr;
    if (t && th) {
        detect_packet(e, t, th, &p, &f, on_alert, &alerts);
        detect_packet(e, t, th, &p, &f, on_alert, &alerts);
    }
    detect_flow_free(&f);
    threshold_free(th);
    detect_thread_free(t);
    detect_engine_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct lw_config cfg;
    static int loaded;
    struct rule_parse_env env;
    struct rule_error err;
    struct rule *r = NULL;
    struct rule_addrset as;
    struct rule_portset ps;
    char *text;

    if (!loaded) {
        char e[512];

        if (config_load(&cfg, NULL, NULL, 0, e, sizeof e) < 0)
            abort();
        loaded = 1;
    }
    if (size > RULE_MAX_TEXT)
        return 0;
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    env.cfg = &cfg;
    env.classes = NULL;
    env.file = NULL;
    {
        char *nl = strchr(text, '\n');
        const uint8_t *d = nl ? (const uint8_t *)nl + 1 : (const uint8_t *)"";
        size_t dlen = nl ? size - (size_t)(nl + 1 - text) : 0;

        if (nl)
            *nl = '\0';
        if (rule_parse(text, &env, &r, &err) == 0)
            run_rule(r, d, dlen);
        if (nl)
            *nl = '\n';
    }
    memset(&as, 0, sizeof as);
    if (rule_addrset_parse(&as, text, &cfg, &err) == 0)
        rule_addrset_free(&as);
    memset(&ps, 0, sizeof ps);
    if (rule_portset_parse(&ps, text, &cfg, &err) == 0)
        rule_portset_free(&ps);
    free(text);
    return 0;
}
