/* app-stage.c - the application-layer stage; see app-stage.h. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app-stage.h"
#include "dns.h"
#include "dpi.h"
#include "ftp.h"
#include "http.h"
#include "smb.h"
#include "ssh.h"
#include "stream.h"
#include "tls.h"
#include "util.h"

/* The parsers, one line each. */
static const struct app_parser *const parsers[APP_PROTO_MAX] = {
    [APP_PROTO_HTTP] = &app_parser_http,
    [APP_PROTO_DNS] = &app_parser_dns,
    [APP_PROTO_TLS] = &app_parser_tls,
    [APP_PROTO_SSH] = &app_parser_ssh,
    [APP_PROTO_SMB] = &app_parser_smb,
    [APP_PROTO_FTP] = &app_parser_ftp,
    [APP_PROTO_FTPDATA] = &app_parser_ftp_data,
};

/* What the stage hangs on f->app. */
struct app_flow {
    uint8_t proto;               /* enum app_proto; NONE while probing */
    uint8_t done;                /* no parser (given up probing, or refused): nothing more */
    uint8_t failed;              /* the parser gave up: nothing more is parsed */
    uint8_t ended[2];            /* the direction's end was given */
    uint8_t rejected;            /* bit per direction: its first bytes are no protocol we
                                  * parse; the other may still name the flow's, and the
                                  * rejected side is then not fed */
    uint64_t fed[2];             /* stream offset fed (TCP), or bytes probed */
    void *state;
};

/* A flow a parser announced (struct app_expect), between two hosts. */
struct app_expectation {
    struct lw_addr from, to;     /* who opens it, to whom */
    uint16_t port;
    uint8_t  proto;              /* enum app_proto; NONE: a free slot */
    uint16_t vlan[PKT_MAX_VLANS];
    uint32_t tunnel_id;
    uint64_t expires;            /* capture time, usec */
    void    *data;
};

struct app_stage {
    struct app_ctx ctx;
    struct app_stage_config cfg;
    /* Probing order for a port: parsers whose ports list it first. */
    uint8_t order[APP_PROTO_MAX];
    unsigned norder;
    /* Flows expected in this worker: the dispatcher sends every flow
     * between two hosts (same VLANs and tunnel) to the same worker, so a
     * data connection comes where its control connection is. */
    struct app_expectation expect[APP_EXPECT_MAX];
};

const struct app_parser *app_parser_of(enum app_proto p)
{
    return (unsigned)p < APP_PROTO_MAX ? parsers[p] : NULL;
}

const struct app_parser *app_parser_by_name(const char *name)
{
    for (unsigned i = 0; i < APP_PROTO_MAX; i++)
        if (parsers[i] && strcmp(parsers[i]->name, name) == 0)
            return parsers[i];
    return NULL;
}

struct app_stage *app_stage_new(const struct app_stage_config *cfg)
{
    struct app_stage *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->ctx.mem.cap = cfg->memcap;
    s->ctx.limits = cfg->limits;
    for (unsigned i = 0; i < APP_PROTO_MAX; i++)
        if (parsers[i] && cfg->proto[i].enabled)
            s->order[s->norder++] = (uint8_t)i;
    return s;
}

void app_stage_set_file_hashes(struct app_stage *s, uint32_t hashes)
{
    s->ctx.limits.file_hashes = hashes;
}

static void expectation_drop(struct app_stage *s, struct app_expectation *e)
{
    const struct app_parser *ap = parsers[e->proto];

    if (ap && ap->expect_free)
        ap->expect_free(&s->ctx, e->data);
    e->data = NULL;
    e->proto = APP_PROTO_NONE;
}

void app_stage_free(struct app_stage *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < APP_EXPECT_MAX; i++)
        if (s->expect[i].proto != APP_PROTO_NONE)
            expectation_drop(s, &s->expect[i]);
    for (unsigned i = 0; i < APP_PROTO_MAX; i++)
        if (parsers[i] && parsers[i]->ctx_free)
            parsers[i]->ctx_free(&s->ctx);
    free(s);
}

const struct app_stats *app_stage_stats(const struct app_stage *s)
{
    return &s->ctx.stats;
}

enum app_proto app_flow_proto(const struct flow *f)
{
    const struct app_flow *af = f->app;

    return af ? (enum app_proto)af->proto : APP_PROTO_NONE;
}

void *app_flow_state(const struct flow *f, const struct app_parser **parser)
{
    const struct app_flow *af = f->app;

    if (!af || !af->state) {
        *parser = NULL;
        return NULL;
    }
    *parser = parsers[af->proto];
    return af->state;
}

/* ---------------------------------------------------------------- choosing a parser */

static int port_listed(const struct app_stage *s, enum app_proto p, uint16_t port)
{
    const struct app_proto_config *pc = &s->cfg.proto[p];
    const uint16_t *v = pc->ports ? pc->ports : parsers[p]->ports;
    size_t n = pc->ports ? pc->nports : parsers[p]->nports;

    for (size_t i = 0; i < n; i++)
        if (v[i] == port)
            return 1;
    return 0;
}

/* The parser whose protocol nDPI named, once nDPI has a verdict. */
static enum app_proto from_dpi(const struct flow *f)
{
    const struct dpi_result *r = dpi_flow_result(f);

    if (!r)
        return APP_PROTO_NONE;
    if (strcmp(r->app_proto, "http") == 0)
        return APP_PROTO_HTTP;
    if (strcmp(r->app_proto, "dns") == 0)
        return APP_PROTO_DNS;
    if (strcmp(r->app_proto, "tls") == 0)
        return APP_PROTO_TLS;
    if (strcmp(r->app_proto, "ssh") == 0)
        return APP_PROTO_SSH;
    if (strcmp(r->app_proto, "smb") == 0)
        return APP_PROTO_SMB;
    if (strcmp(r->app_proto, "ftp") == 0)
        return APP_PROTO_FTP;
    return APP_PROTO_NONE;
}

/* Probes the first bytes of direction dir: the parsers listing the flow's
 * server port first, then the others (content decides: HTTP on port 8081 is
 * HTTP). Returns the protocol, NONE when no parser wants it, or -1 when one
 * could still say yes with more bytes. */
static int probe(const struct app_stage *s, const struct flow *f, int udp, const uint8_t *data, size_t len,
                 enum app_dir dir)
{
    int undecided = 0;

    for (int pass = 0; pass < 2; pass++)
        for (unsigned k = 0; k < s->norder; k++) {
            enum app_proto p = (enum app_proto)s->order[k];
            const struct app_parser *ap = parsers[p];
            int r;

            if ((udp ? !ap->udp : !ap->tcp) || port_listed(s, p, f->key.dport) != (pass == 0))
                continue;
            /* Without content a UDP protocol is taken only on its ports. */
            if ((udp || ap->port_only) && pass == 1)
                continue;
            r = ap->probe(data, len, dir);
            if (r == 1)
                return (int)p;
            if (r < 0)
                undecided = 1;
        }
    return undecided ? -1 : APP_PROTO_NONE;
}

static struct app_flow *flow_state(struct app_stage *s, struct flow *f)
{
    struct app_flow *af = f->app;

    if (af)
        return af;
    af = app_calloc(&s->ctx.mem, 1, sizeof *af);
    if (af)
        f->app = af;
    return af;
}

/* Starts parser p on flow f; 0, or -1 when its state cannot be had. */
static int choose(struct app_stage *s, struct flow *f, struct app_flow *af, enum app_proto p, int udp)
{
    af->proto = (uint8_t)p;
    af->state = parsers[p]->state_new(&s->ctx);
    if (!af->state) {
        STATS_INC(s->ctx.stats.alloc_failed[p]);
        af->done = 1;
        return -1;
    }
    STATS_INC(s->ctx.stats.flows[p][udp]);
    return 0;
}

/* ---------------------------------------------------------------- expected flows */

/* Keeps the flows f's parser announced; past APP_EXPECT_MAX the oldest
 * (soonest to expire) is dropped. */
static void expectations_take(struct app_stage *s, const struct flow *f, struct app_flow *af, uint64_t now)
{
    const struct app_parser *ap = parsers[af->proto];
    struct app_expect x;

    while (ap->expect_take && ap->expect_take(af->state, &x)) {
        struct app_expectation *e = NULL;

        for (unsigned i = 0; i < APP_EXPECT_MAX; i++) {
            struct app_expectation *c = &s->expect[i];

            if (c->proto != APP_PROTO_NONE && c->expires <= now) {
                expectation_drop(s, c);
                STATS_INC(s->ctx.stats.expect[2]);
            }
            if (c->proto == APP_PROTO_NONE) {
                e = c;
                break;
            }
            if (!e || c->expires < e->expires)
                e = c;
        }
        if (e->proto != APP_PROTO_NONE) {
            expectation_drop(s, e);
            STATS_INC(s->ctx.stats.expect[2]);
        }
        e->from = x.by_server ? f->key.dst : f->key.src;
        e->to = x.by_server ? f->key.src : f->key.dst;
        e->port = x.port;
        e->proto = x.proto;
        memcpy(e->vlan, f->key.vlan, sizeof e->vlan);
        e->tunnel_id = f->key.tunnel_id;
        e->expires = now + APP_EXPECT_TIMEOUT_USEC;
        e->data = x.data;
        STATS_INC(s->ctx.stats.expect[0]);
    }
}

/* The expectation flow f meets (and takes out of the table), NULL none. */
static struct app_expectation *expectation_met(struct app_stage *s, const struct flow *f, uint64_t now)
{
    for (unsigned i = 0; i < APP_EXPECT_MAX; i++) {
        struct app_expectation *e = &s->expect[i];

        if (e->proto == APP_PROTO_NONE || e->port != f->key.dport || !lw_addr_eq(&e->from, &f->key.src) ||
            !lw_addr_eq(&e->to, &f->key.dst) || e->tunnel_id != f->key.tunnel_id ||
            memcmp(e->vlan, f->key.vlan, sizeof e->vlan) != 0)
            continue;
        if (e->expires <= now) {
            expectation_drop(s, e);
            STATS_INC(s->ctx.stats.expect[2]);
            continue;
        }
        return e;
    }
    return NULL;
}

/* Starts the expected flow's parser with the expectation's data; 0, or -1
 * when it cannot be had (the data is dropped). */
static int expectation_start(struct app_stage *s, struct flow *f, struct app_flow *af, struct app_expectation *e)
{
    enum app_proto p = (enum app_proto)e->proto;
    void *data = e->data;

    e->data = NULL;
    e->proto = APP_PROTO_NONE;
    if (!s->cfg.proto[p].enabled || choose(s, f, af, p, 0) < 0) {
        parsers[p]->expect_free(&s->ctx, data);
        af->done = 1;
        STATS_INC(s->ctx.stats.expect[2]);
        return -1;
    }
    parsers[p]->expect_adopt(&s->ctx, af->state, data);
    STATS_INC(s->ctx.stats.expect[1]);
    return 0;
}

/* ---------------------------------------------------------------- transactions */

static void sync_mem(struct app_stage *s)
{
    STATS_SET(s->ctx.stats.memuse, s->ctx.mem.used);
    if (s->ctx.mem.peak > s->ctx.stats.memuse_max)
        STATS_SET(s->ctx.stats.memuse_max, s->ctx.mem.peak);
}

/* Offers every transaction to the caller, then frees those done both ways
 * and logged (all of them at flow end). */
static void walk_txs(struct app_stage *s, struct flow *f, struct app_flow *af, const struct packet *p,
                     unsigned why, app_tx_fn on_tx, void *arg)
{
    const struct app_parser *ap = parsers[af->proto];
    struct app_txlist *l = ap->txs(af->state);
    struct app_tx *tx;

    for (tx = l->head; tx; tx = tx->next)
        on_tx(arg, f, p, ap, af->state, tx, why);
    while ((tx = l->head) != NULL &&
           ((why & APP_TX_FLOW_END) ||
            (tx->progress[0] == APP_PROG_DONE && tx->progress[1] == APP_PROG_DONE &&
             (tx->logged & APP_LOGGED)))) {
        app_txlist_pop(l);
        ap->tx_free(&s->ctx, af->state, tx);
    }
}

/* Hands one stretch of bytes (or a gap, or the end) to the flow's parser. */
static void feed(struct app_stage *s, struct app_flow *af, enum app_dir dir, const uint8_t *data, size_t len,
                 unsigned flags, uint64_t ts)
{
    const struct app_parser *ap = parsers[af->proto];

    if (af->failed || af->ended[dir])
        return;
    if (flags & APP_IN_GAP)
        STATS_INC(s->ctx.stats.gaps[af->proto]);
    if (flags & APP_IN_EOF)
        af->ended[dir] = 1;
    if (ap->parse(&s->ctx, af->state, dir, data, len, flags, ts) < 0) {
        af->failed = 1;
        STATS_INC(s->ctx.stats.gave_up[af->proto]);
    }
}

/* ---------------------------------------------------------------- packets */

/* TCP: picks the parser of a flow whose direction dir has its first data
 * in chunk c: an expected flow's, else by probing. Returns 0 when the
 * parser is chosen and the data is to be fed, -1 when not (not yet: more
 * bytes, or the other side, may tell; or never). */
static int tcp_start(struct app_stage *s, struct flow *f, struct app_flow *af, const struct packet *p,
                     const struct stream_chunk *c, enum app_dir dir)
{
    struct app_expectation *e;
    int r;

    /* Probing sees the direction from its start: what the chunk
     * holds from offset 0 (the first data, or the history kept). */
    if (c->offset != 0) {
        af->done = 1;         /* picked up mid-stream past its start */
        STATS_INC(s->ctx.stats.unknown[0]);
        return -1;
    }
    if ((e = expectation_met(s, f, p->ts)) != NULL)
        return expectation_start(s, f, af, e);
    r = probe(s, f, 0, c->data, c->len, dir);
    if (r <= 0 && dpi_flow_result(f))
        r = from_dpi(f);      /* nDPI knew better */
    if (r < 0 && c->len < APP_PROBE_MAX)
        return -1;            /* more bytes, then again */
    if (r <= 0 && !(af->rejected & (1u << (dir ^ 1)))) {
        /* Not this side: the other may still say (a junk request
         * answered "HTTP/1.1 400"; Suricata probes each direction). */
        af->rejected |= (uint8_t)(1u << dir);
        return -1;
    }
    if (r <= 0 || !s->cfg.proto[r].enabled || !parsers[r] || choose(s, f, af, (enum app_proto)r, 0) < 0) {
        af->done = 1;
        if (r <= 0)
            STATS_INC(s->ctx.stats.unknown[0]);
        return -1;
    }
    return 0;
}

/* TCP: the in-order data p's direction gained. Bytes the stream skipped
 * reach the parser as a gap; a direction closed by FIN or RST ends. The
 * flows the parser announced are kept after. */
static void tcp_packet(struct app_stage *s, struct flow *f, struct app_flow *af, const struct packet *p)
{
    struct stream_chunk c;
    enum app_dir dir = (enum app_dir)(p->dir & 1);
    enum stream_verdict v = stream_chunk(f, p, &c);
    uint64_t lo, hi;

    if (v == STREAM_DATA && !(af->rejected & (1u << dir))) {   /* a rejected side is not fed */
        lo = c.offset;
        hi = c.offset + c.len;
        if (af->proto == APP_PROTO_NONE && tcp_start(s, f, af, p, &c, dir) < 0)
            return;
        if (lo > af->fed[dir]) {
            feed(s, af, dir, NULL, lo - af->fed[dir], APP_IN_GAP, p->ts);
            af->fed[dir] = lo;
        }
        if (hi > af->fed[dir]) {
            feed(s, af, dir, c.data + (af->fed[dir] - lo), hi - af->fed[dir], 0, p->ts);
            af->fed[dir] = hi;
        }
    }
    if (af->proto != APP_PROTO_NONE && stream_dir_closed(f, dir))
        feed(s, af, dir, NULL, 0, APP_IN_EOF, p->ts);
    if (af->state)
        expectations_take(s, f, af, p->ts);
}

static void udp_packet(struct app_stage *s, struct flow *f, struct app_flow *af, const struct packet *p)
{
    enum app_dir dir = (enum app_dir)(p->dir & 1);

    if (af->proto == APP_PROTO_NONE) {
        int r = probe(s, f, 1, p->payload, p->payload_len, dir);

        if (r < 0 && af->fed[dir] + p->payload_len < APP_PROBE_MAX) {
            af->fed[dir] += p->payload_len;
            return;
        }
        if (r <= 0 || choose(s, f, af, (enum app_proto)r, 1) < 0) {
            af->done = 1;
            if (r <= 0)
                STATS_INC(s->ctx.stats.unknown[1]);
            return;
        }
    }
    feed(s, af, dir, p->payload, p->payload_len, APP_IN_DGRAM, p->ts);
}

void app_packet(struct app_stage *s, struct flow *f, const struct packet *p, app_tx_fn on_tx, void *arg)
{
    struct app_flow *af = f->app;

    if (s->norder == 0 || (p->proto == 6 ? s->cfg.no_tcp : p->proto != 17) || (af && af->done))
        return;
    if (p->proto == 17 && p->payload_len == 0)
        return;
    if (!af && !(af = flow_state(s, f))) {
        STATS_INC(s->ctx.stats.unknown[p->proto == 17]);
        return;
    }
    if (p->proto == 6)
        tcp_packet(s, f, af, p);
    else
        udp_packet(s, f, af, p);
    if (af->state)
        walk_txs(s, f, af, p, APP_TX_PROGRESS, on_tx, arg);
    sync_mem(s);
}

void app_flow_end(struct app_stage *s, struct flow *f, app_tx_fn on_tx, void *arg)
{
    struct app_flow *af = f->app;

    if (!af)
        return;
    if (af->proto == APP_PROTO_NONE && !af->done && af->rejected)
        STATS_INC(s->ctx.stats.unknown[0]);   /* one side said no, the other never spoke */
    if (af->state) {
        for (int dir = 0; dir < 2; dir++)
            feed(s, af, (enum app_dir)dir, NULL, 0, APP_IN_EOF, f->last_ts);
        walk_txs(s, f, af, NULL, APP_TX_PROGRESS | APP_TX_FLOW_END, on_tx, arg);
        parsers[af->proto]->state_free(&s->ctx, af->state);
    }
    app_free(&s->ctx.mem, af, sizeof *af);
    f->app = NULL;
    sync_mem(s);
}

/* ---------------------------------------------------------------- counters */

/* Suricata's names: DNS is counted over TCP and UDP apart. */
static void transport_name(char *out, size_t n, const struct app_parser *ap, int udp)
{
    if (ap->tcp && ap->udp)
        snprintf(out, n, "%s_%s", ap->name, udp ? "udp" : "tcp");
    else
        snprintf(out, n, "%s", ap->name);
}

static struct stats_field *app_fields;
static size_t app_nfields;
static struct stats_module app_module;
static pthread_once_t app_once = PTHREAD_ONCE_INIT;

/* A string that lives as long as the process (the table is made once). */
__attribute__((format(printf, 1, 2)))
static char *keep(const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return strdup(buf);
}

static void add_field(const char *path, const char *prom, const char *label, const char *help, size_t off,
                      uint8_t kind, uint8_t flags)
{
    struct stats_field *f = &app_fields[app_nfields++];

    f->path = path;
    f->prom = prom;
    f->label = label;
    f->help = help;
    f->off = (uint32_t)off;
    f->kind = kind;
    f->merge = STATS_SUM;
    f->flags = flags;
}

static void make_table(void)
{
    size_t max = 11 + APP_PROTO_MAX * (2 * 2 + 3 + APP_MAX_EVENTS);
    const char *fl_help = "Flows given to each application-layer parser.";
    const char *tx_help = "Transactions each application-layer parser made.";
    const char *er_help = "Application-layer parser errors, by kind: gap (stream gaps handed over), "
                          "parser (flows given up), alloc (states refused at app-layer.memcap).";
    const char *ev_help = "Anomaly events of the application-layer parsers, by protocol and event.";

    app_fields = calloc(max, sizeof *app_fields);
    if (!app_fields)
        return;
    for (unsigned p = 0; p < APP_PROTO_MAX; p++) {
        const struct app_parser *ap = parsers[p];
        char name[64];

        if (!ap)
            continue;
        for (int udp = 0; udp < 2; udp++) {
            if (udp ? !ap->udp : !ap->tcp)
                continue;
            transport_name(name, sizeof name, ap, udp);
            add_field(keep("app_layer/flow/%s", name), "linkwatch_app_layer_flows_total",
                      keep("proto=%s", name), fl_help, offsetof(struct app_stats, flows[p][udp]),
                      STATS_COUNTER, 0);
            fl_help = NULL;
        }
    }
    for (int udp = 0; udp < 2; udp++) {
        add_field(udp ? "app_layer/flow/failed_udp" : "app_layer/flow/failed_tcp", "linkwatch_app_layer_flows_total",
                  udp ? "proto=failed_udp" : "proto=failed_tcp", NULL, offsetof(struct app_stats, unknown[udp]),
                  STATS_COUNTER, 0);
    }
    for (unsigned p = 0; p < APP_PROTO_MAX; p++)
        if (parsers[p]) {
            add_field(keep("app_layer/tx/%s", parsers[p]->name), "linkwatch_app_layer_tx_total",
                      keep("proto=%s", parsers[p]->name), tx_help, offsetof(struct app_stats, tx[p]),
                      STATS_COUNTER, 0);
            tx_help = NULL;
        }
    for (unsigned p = 0; p < APP_PROTO_MAX; p++) {
        const struct app_parser *ap = parsers[p];

        if (!ap)
            continue;
        add_field(keep("app_layer/error/%s/gap", ap->name), "linkwatch_app_layer_errors_total",
                  keep("proto=%s,kind=gap", ap->name), er_help, offsetof(struct app_stats, gaps[p]),
                  STATS_COUNTER, 0);
        er_help = NULL;
        add_field(keep("app_layer/error/%s/parser", ap->name), "linkwatch_app_layer_errors_total",
                  keep("proto=%s,kind=parser", ap->name), NULL, offsetof(struct app_stats, gave_up[p]),
                  STATS_COUNTER, 0);
        add_field(keep("app_layer/error/%s/alloc", ap->name), "linkwatch_app_layer_errors_total",
                  keep("proto=%s,kind=alloc", ap->name), NULL, offsetof(struct app_stats, alloc_failed[p]),
                  STATS_COUNTER, 0);
    }
    for (unsigned p = 0; p < APP_PROTO_MAX; p++) {
        const struct app_parser *ap = parsers[p];

        for (size_t e = 0; ap && e < ap->nevents && e < APP_MAX_EVENTS; e++) {
            char path[160], label[160];

            snprintf(path, sizeof path, "app_layer/%s/%s", ap->name, ap->events[e]);
            snprintf(label, sizeof label, "proto=%s,event=%s", ap->name, ap->events[e]);
            add_field(strdup(path), "linkwatch_app_layer_events_total", strdup(label), ev_help,
                      offsetof(struct app_stats, events[p][e]), STATS_COUNTER, STATS_NONZERO);
            ev_help = NULL;
        }
    }
    add_field("app_layer/expectation/announced", "linkwatch_app_layer_expectations_total", "kind=announced",
              "Flows a parser announced (FTP data connections): announced, met (the flow came), dropped "
              "(expired, past the table of each worker, or not parsed).",
              offsetof(struct app_stats, expect[0]), STATS_COUNTER, 0);
    add_field("app_layer/expectation/met", "linkwatch_app_layer_expectations_total", "kind=met", NULL,
              offsetof(struct app_stats, expect[1]), STATS_COUNTER, 0);
    add_field("app_layer/expectation/dropped", "linkwatch_app_layer_expectations_total", "kind=dropped", NULL,
              offsetof(struct app_stats, expect[2]), STATS_COUNTER, 0);
    add_field("app_layer/memuse", "linkwatch_app_layer_memory_bytes", NULL,
              "Bytes of application-layer state (app-layer.memcap bounds it per worker).",
              offsetof(struct app_stats, memuse), STATS_GAUGE, 0);
    add_field("app_layer/memuse_max", NULL, NULL, NULL, offsetof(struct app_stats, memuse_max), STATS_GAUGE, 0);
    app_module.name = "app-layer";
    app_module.fields = app_fields;
    app_module.nfields = app_nfields;
    app_module.size = sizeof(struct app_stats);
}

const struct stats_module *app_stats_module(void)
{
    pthread_once(&app_once, make_table);
    return &app_module;
}
