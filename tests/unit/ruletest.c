/* ruletest.c - see ruletest.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ruletest.h"
#include "rule-parse.h"
#include "util.h"

static void never_reached(void *arg, const struct rule *r, const char *why, int pending)
{
    if (!pending)
        print_error("rule %u can never match: %s\n", r->sid, why);
}

struct detect_engine *ruletest_engine(const char *const *texts)
{
    size_t pending;
    struct rule_parse_env env = { NULL, NULL, NULL };
    struct rule_list *l = calloc(1, sizeof *l);
    struct detect_engine *e;
    char err[256];
    size_t n = 0;

    assert_non_null(l);
    while (texts[n])
        n++;
    l->v = calloc(n ? n : 1, sizeof *l->v);
    assert_non_null(l->v);
    for (size_t i = 0; i < n; i++) {
        struct rule_error rerr;

        if (rule_parse(texts[i], &env, &l->v[l->n], &rerr) < 0)
            fail_msg("rule %s: %s", texts[i], rerr.msg);
        l->n++;
    }
    e = detect_compile(l, err, sizeof err);
    if (e == NULL)
        fail_msg("detect_compile: %s", err);
    /* Every rule a test loads must be one the engine can reach (or one
     * waiting for an application-layer parser). */
    if (detect_engine_check(e, never_reached, NULL, &pending) != 0)
        fail_msg("a rule can never match");
    return e;
}

struct dpi_result *ruletest_dpi(const char *protocol, const char *app_proto)
{
    struct dpi_result *r = calloc(1, sizeof *r + sizeof(struct dpi_tls) + sizeof(struct dpi_http) +
                                     sizeof(struct dpi_dns) + sizeof(struct dpi_ssh));

    assert_non_null(r);
    r->flags = DPI_F_DONE;
    snprintf(r->protocol, sizeof r->protocol, "%s", protocol);
    snprintf(r->app_proto, sizeof r->app_proto, "%s", app_proto);
    return r;
}

void ruletest_packet(struct packet *p, uint8_t proto, const uint8_t *payload, uint32_t len)
{
    memset(p, 0, sizeof *p);
    lw_addr_parse("10.0.0.1", &p->src);
    lw_addr_parse("192.0.2.1", &p->dst);
    p->ip_version = 4;
    p->ttl = 64;
    p->proto = proto;
    if (proto == 6 || proto == 17) {
        p->flags |= PKT_F_HAS_PORTS;
        p->sport = 40000;
        p->dport = 80;
    }
    if (proto == 6)
        p->tcp_flags = TH_ACK | TH_PUSH;
    p->payload = payload;
    p->payload_len = len;
    p->ts = 1700000000000000ull;
}

void ruletest_flow(struct flow *f, struct packet *p, struct dpi_result *r)
{
    memset(f, 0, sizeof *f);
    f->key.src = p->src;
    f->key.dst = p->dst;
    f->key.sport = p->sport;
    f->key.dport = p->dport;
    f->key.proto = p->proto;
    f->tcp_state = p->proto == 6 ? FLOW_TCP_ESTABLISHED : FLOW_TCP_NONE;
    f->flags = FLOW_F_TOCLIENT_SEEN;
    f->dpi = r;
    p->flow = f;
    p->dir = 0;
}

uint32_t ruletest_rand(uint32_t *state)
{
    *state = *state * 1103515245u + 12345u;
    return (*state >> 8) & 0xffffff;
}

void ruletest_tx_alert(void *arg, const struct rule *r, const struct packet *p, struct flow *f,
                       const struct app_tx *tx)
{
    struct ruletest_alerts *a = arg;

    (void)p;
    (void)f;
    (void)tx;
    if (a->n < RULETEST_ALERTS)
        a->sid[a->n] = r->sid;
    a->n++;
}

size_t ruletest_count(const struct ruletest_alerts *a, uint32_t sid)
{
    size_t n = 0;

    for (size_t i = 0; i < a->n && i < RULETEST_ALERTS; i++)
        n += a->sid[i] == sid;
    return n;
}
