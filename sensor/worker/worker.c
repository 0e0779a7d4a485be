/* worker.c - the per-worker packet pipeline; see worker.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"
#include "app-stage.h"
#include "detect.h"
#include "slab.h"
#include "ruleset.h"
#include "geo.h"
#include "geo-merge.h"
#include "geo-summary.h"
#include "pii.h"
#include "stream.h"
#include "threshold.h"
#include "util.h"


/* Tallies for Redis (sensor/redis/tally.h), per packet so that each minute holds
 * the traffic it saw. A flow's application name is final only once DPI is
 * done: its packets before that are added in one go, under the final name,
 * by the packet that completes detection, or at flow end. was_done: DPI was
 * done before this packet. The geo summary's top applications get the bytes
 * of their own interval only (geo_flow_app()); country pairs count once the
 * geo stage has classified the flow. */
static void worker_tally_packet(struct worker *w, struct flow *f,
                                const struct packet *p, int was_done)
{
    const struct dpi_result *r = dpi_flow_result(f);

    if (r && w->geo)
        geo_flow_app(w->geo, f, r->protocol);
    if (!w->tally_on)
        return;
    if (r && !was_done)
        tally_flow_app(w->tally, f, p->ts, r->protocol, f->pkts[0] + f->pkts[1] - 1,
                       f->bytes[0] + f->bytes[1] - p->wirelen);
    tally_flow_packet(w->tally, f, p, r ? r->protocol : NULL);
    if (f->geo.scope != GEO_SCOPE_NONE)
        tally_flow_country(w->tally, f, p->ts, f->geo.src.cc, f->geo.dst.cc,
                           (enum geo_scope)f->geo.scope, p->wirelen);
}

/* At flow end (DPI ended): the flow, and its packets unless already added. */
static void worker_tally_end(struct worker *w, struct flow *f, int was_done)
{
    const struct dpi_result *r = dpi_flow_result(f);
    const char *app = r ? r->protocol : "Unknown";

    if (w->geo)
        geo_flow_app(w->geo, f, app);
    if (!w->tally_on)
        return;
    if (!was_done)
        tally_add_app(w->tally, f->last_ts, app, f->pkts[0] + f->pkts[1],
                      f->bytes[0] + f->bytes[1], 0);
    tally_flow_end(w->tally, f, app);
    if (f->geo.scope != GEO_SCOPE_NONE)
        tally_add_country(w->tally, f->last_ts, f->geo.src.cc, f->geo.dst.cc,
                          (enum geo_scope)f->geo.scope, 0, 0, 1);
}

/* outputs.xff: the address of tx's X-Forwarded-For (tx NULL: the flow's
 * newest transaction that has the header) into *a. Returns a, or NULL when
 * xff is off, the flow has no parser that reads headers, or no address. */
static const struct lw_addr *worker_xff(const struct worker *w, const struct flow *f,
                                        const struct app_tx *tx, struct lw_addr *a)
{
    const struct app_parser *ap;
    const void *state;
    const uint8_t *v = NULL;
    size_t len = 0;

    if (w->eve.xff_mode == EVE_XFF_OFF || !f || !(state = app_flow_state(f, &ap)) || !ap->tx_request_header)
        return NULL;
    if (tx) {
        v = ap->tx_request_header(tx, w->cfg->outputs.xff.header, &len);
    } else {
        for (const struct app_tx *t = ap->txs((void *)state)->head; t; t = t->next) {
            size_t n;
            const uint8_t *x = ap->tx_request_header(t, w->cfg->outputs.xff.header, &n);

            if (x) {
                v = x;
                len = n;
            }
        }
    }
    if (!v || lw_xff_pick((const char *)v, len, w->xff_last, a) < 0)
        return NULL;
    return a;
}

/* An alert's counts and tallies; 1 when its event is wanted. */
static int worker_alert_count(struct worker *w, const struct rule *r, const struct packet *p, struct flow *f)
{
    char key[CTABLE_KEY_MAX];

    if (f)
        f->flags |= FLOW_F_ALERTED;
    STATS_INC(w->st.alerts);
    if (w->tally_on)
        tally_add_alert(w->tally, p->ts, r->sid, r->priority);
    snprintf(key, sizeof key, "%u:%u", r->gid, r->sid);
    ctable_add(w->alert_counts, key, r->priority, 1, 0);
    if (f && w->geo)
        geo_flow_alert(w->geo, f, w->now);
    return output_wants(w->out, EVT_ALERT);
}

static void worker_alert(void *arg, const struct rule *r, const struct packet *p, struct flow *f)
{
    struct worker *w = arg;
    struct lw_addr xff;

    if (!worker_alert_count(w, r, p, f))
        return;
    jbuf_reset(&w->jb);
    w->eve.pii = detect_alert_pii(w->dt, r);
    w->eve.xff = worker_xff(w, f, NULL, &xff);
    eve_alert_event(&w->jb, &w->eve, r, p, f, f ? dpi_eve_write : NULL);
    w->eve.xff = NULL;
    if (jbuf_ok(&w->jb))
        output_batch_add(w->ob, EVT_ALERT, w->jb.buf, w->jb.len);
}

/* The matched transaction's block in its alert, as the parser logs it
 * (app_proto too while nDPI has no verdict yet). arg: the tx. */
static void worker_tx_block(struct jbuf *j, const struct flow *f, const void *arg)
{
    const struct app_parser *ap;
    const void *state = app_flow_state(f, &ap);

    if (!state)
        return;
    if (!dpi_flow_result(f))
        jbuf_str(j, "app_proto", ap->name);
    jbuf_open_object(j, app_eve_name(ap));
    ap->tx_eve(state, arg, j);
    jbuf_close_object(j);
}

/* A rule matched an application-layer transaction: the alert carries it. */
static void worker_tx_alert(void *arg, const struct rule *r, const struct packet *p, struct flow *f,
                            const struct app_tx *tx)
{
    struct worker *w = arg;
    struct lw_addr xff;

    if (!worker_alert_count(w, r, p, f))
        return;
    jbuf_reset(&w->jb);
    w->eve.pii = detect_alert_pii(w->dt, r);
    w->eve.xff = worker_xff(w, f, tx, &xff);
    eve_alert_tx_event(&w->jb, &w->eve, r, p, f, dpi_eve_summary, tx->id, worker_tx_block, tx);
    w->eve.xff = NULL;
    if (jbuf_ok(&w->jb))
        output_event(w->out, EVT_ALERT, w->jb.buf, w->jb.len);
}

static void worker_app_tx(void *arg, struct flow *f, const struct packet *p, const struct app_parser *ap,
                          void *state, struct app_tx *tx, unsigned why);

static void worker_flow_end(struct flow *f, void *arg)
{
    struct worker *w = arg;
    int was_done = dpi_flow_result(f) != NULL;

    /* The flow's last transactions: inspected and logged before it goes. */
    if (w->app)
        app_flow_end(w->app, f, worker_app_tx, w);
    dpi_flow_end(w->dpi, f);
    {
        const struct dpi_result *r = dpi_flow_result(f);

        ctable_add(w->app_counts, r ? r->protocol : "Unknown", 0, 1, f->bytes[0] + f->bytes[1]);
    }
    /* Flow-level rules whose metadata became final only now. */
    if (w->detect)
        detect_flow_end(w->detect, w->dt, w->th, f, worker_alert, w);
    worker_tally_end(w, f, was_done);
    if (output_wants(w->out, EVT_FLOW)) {
        jbuf_reset(&w->jb);
        eve_flow_event(&w->jb, &w->eve, f, dpi_eve_write);
        if (jbuf_ok(&w->jb))
            output_batch_add(w->ob, EVT_FLOW, w->jb.buf, w->jb.len);
    }
    detect_flow_free(f);
    stream_flow_free(w->stream, f);
    dpi_flow_free(f);
}

/* One event of the parser's type (http, dns, tls, ssh) for tx: its block
 * written by the parser (of direction dir when it logs per direction). */
static void worker_tx_event(struct worker *w, const struct flow *f, uint64_t ts, const struct app_parser *ap,
                            const void *state, const struct app_tx *tx, int dir)
{
    int t = event_type_parse(app_eve_name(ap));

    if (t < 0 || !output_wants(w->out, (enum event_type)t))
        return;
    jbuf_reset(&w->jb);
    eve_begin(&w->jb, ts, w->cfg->sensor_id, app_eve_name(ap), f);
    jbuf_u64(&w->jb, "tx_id", tx->id);
    jbuf_open_object(&w->jb, app_eve_name(ap));
    if (dir >= 0)
        ap->tx_eve_dir(state, tx, (enum app_dir)dir, &w->jb);
    else
        ap->tx_eve(state, tx, &w->jb);
    jbuf_close_object(&w->jb);
    eve_end(&w->jb);
    if (jbuf_ok(&w->jb))
        output_event(w->out, (enum event_type)t, w->jb.buf, w->jb.len);
}

/* One fileinfo event per file the transaction carries (HTTP bodies), with
 * the transaction's block beside it, as Suricata writes them. */
static void worker_tx_files(struct worker *w, const struct flow *f, uint64_t ts, const struct app_parser *ap,
                            const void *state, const struct app_tx *tx)
{
    for (unsigned i = 0; ap->tx_file_eve && i < ap->nfiles && output_wants(w->out, EVT_FILEINFO); i++) {
        jbuf_reset(&w->jb);
        eve_begin(&w->jb, ts, w->cfg->sensor_id, "fileinfo", f);
        jbuf_open_object(&w->jb, app_eve_name(ap));
        ap->tx_eve(state, tx, &w->jb);
        jbuf_close_object(&w->jb);
        jbuf_str(&w->jb, "app_proto", ap->name);
        jbuf_open_object(&w->jb, "fileinfo");
        if (!ap->tx_file_eve(tx, i, &w->jb))
            continue;
        jbuf_close_object(&w->jb);
        eve_end(&w->jb);
        if (jbuf_ok(&w->jb))
            output_event(w->out, EVT_FILEINFO, w->jb.buf, w->jb.len);
    }
}

struct tx_tally {
    struct worker *w;
    uint64_t ts;
};

/* One name of a done transaction into the tallies (app_parser.tx_names). */
static void worker_tally_name(void *arg, enum app_name_kind kind, const uint8_t *name, size_t len)
{
    static const enum tally_kind kinds[] = {
        [APP_NAME_HTTP_HOST] = TALLY_HTTP_HOST, [APP_NAME_DNS_QUERY] = TALLY_DNS_QUERY,
        [APP_NAME_TLS_SNI] = TALLY_TLS_SNI,
    };
    struct tx_tally *tt = arg;

    tally_add_name(tt->w->tally, tt->ts, kinds[kind], name, len);
}

/* One body's personal data (dir 0 a request, 1 a response) into the geo
 * summary's row and the tallies, under the countries it went from and to. */
static void worker_pii(struct worker *w, struct flow *f, uint64_t ts, int dir, const struct pii_counts *c)
{
    const char *from = dir ? f->geo.dst.cc : f->geo.src.cc, *to = dir ? f->geo.src.cc : f->geo.dst.cc;

    if (!pii_counts_any(c) || f->geo.scope == GEO_SCOPE_NONE)
        return;
    if (w->geo)
        geo_flow_pii(w->geo, f, dir, c, w->now);
    if (w->tally_on)
        tally_add_pii(w->tally, ts, from, to, c);
}

/* A transaction's events: once it is complete both ways (or its flow
 * ends); a parser that logs per direction, each direction as it is done. */
static void worker_log_tx(struct worker *w, struct flow *f, uint64_t ts, const struct app_parser *ap,
                          const void *state, struct app_tx *tx, int flow_end)
{
    int done = tx->progress[APP_TO_SERVER] == APP_PROG_DONE && tx->progress[APP_TO_CLIENT] == APP_PROG_DONE;

    if (ap->tx_eve_dir) {
        for (int dir = 0; dir < 2; dir++) {
            uint8_t bit = dir == APP_TO_SERVER ? APP_LOGGED_TS : APP_LOGGED_TC;

            if (!(tx->logged & bit) && tx->progress[dir] == APP_PROG_DONE) {
                tx->logged |= bit;
                worker_tx_event(w, f, ts, ap, state, tx, dir);
            }
        }
    } else if (done || flow_end) {
        worker_tx_event(w, f, ts, ap, state, tx, -1);
    }
    if (done || flow_end) {
        tx->logged |= APP_LOGGED;
        worker_tx_files(w, f, ts, ap, state, tx);
        if (w->tally_on && ap->tx_names) {
            struct tx_tally tt = { w, ts };

            ap->tx_names(state, tx, worker_tally_name, &tt);
        }
        for (int dir = 0; ap->tx_pii && dir < 2; dir++) {
            struct pii_counts c;

            if (ap->tx_pii(tx, (enum app_dir)dir, &c))
                worker_pii(w, f, ts, dir, &c);
        }
    }
}

/* A transaction that moved on: the rules on it (alerts before its events,
 * as Suricata), and its events. */
static void worker_app_tx(void *arg, struct flow *f, const struct packet *p, const struct app_parser *ap,
                          void *state, struct app_tx *tx, unsigned why)
{
    struct worker *w = arg;

    if (w->detect)
        detect_tx(w->detect, w->dt, w->th, p, f, ap->proto, tx, worker_tx_alert, w);
    if (!(tx->logged & APP_LOGGED))
        worker_log_tx(w, f, p ? p->ts : f->last_ts, ap, state, tx, (why & APP_TX_FLOW_END) != 0);
}

/* One protocol of app-layer.protocols: enabled, and its ports (texts the
 * config checked) or the parser's own. */
static void app_proto_config(struct worker *w, struct app_proto_config *pc, enum app_proto p,
                             const struct cfg_app_proto *c)
{
    pc->enabled = c->enabled;
    if (c->ports.n == 0)
        return;
    for (size_t i = 0; i < c->ports.n && i < CONFIG_MAX_LIST; i++)
        w->app_ports[p][i] = (uint16_t)strtoul(c->ports.v[i], NULL, 10);
    pc->ports = w->app_ports[p];
    pc->nports = c->ports.n < CONFIG_MAX_LIST ? c->ports.n : CONFIG_MAX_LIST;
}

/* The application-layer stage from app-layer.*; NULL (and 0) when every
 * parser is off, -1 when out of memory. */
static int worker_app_init(struct worker *w, const struct lw_config *cfg)
{
    const struct lw_config *c = cfg;
    struct app_stage_config ac = {
        .memcap = c->app_layer.memcap,
        .no_tcp = !c->stream.enabled,
        .limits = {
            .max_tx = c->app_layer.max_tx,
            .request_body_limit = c->app_layer.request_body_limit,
            .response_body_limit = c->app_layer.response_body_limit,
            .request_body_inspect_min = c->app_layer.request_body_inspect_min,
            .response_body_inspect_min = c->app_layer.response_body_inspect_min,
            .request_body_inspect_window = c->app_layer.request_body_inspect_window,
            .response_body_inspect_window = c->app_layer.response_body_inspect_window,
            .decompress_limit = c->app_layer.decompress_limit,
            .decompress_layers = APP_DEFAULT_DECOMPRESS_LAYERS,
            .decompress_time_usec = c->app_layer.decompress_time_usec,
            .field_limit = APP_DEFAULT_FIELD_LIMIT,
            .max_names = APP_DEFAULT_MAX_NAMES,
            .max_certs = APP_DEFAULT_MAX_CERTS,
            .pii_types = c->pii.count_always ? PII_T_ALL : 0,
        },
    };

    app_proto_config(w, &ac.proto[APP_PROTO_HTTP], APP_PROTO_HTTP, &c->app_layer.http);
    app_proto_config(w, &ac.proto[APP_PROTO_DNS], APP_PROTO_DNS, &c->app_layer.dns);
    app_proto_config(w, &ac.proto[APP_PROTO_TLS], APP_PROTO_TLS, &c->app_layer.tls);
    app_proto_config(w, &ac.proto[APP_PROTO_SSH], APP_PROTO_SSH, &c->app_layer.ssh);
    app_proto_config(w, &ac.proto[APP_PROTO_SMB], APP_PROTO_SMB, &c->app_layer.smb);
    app_proto_config(w, &ac.proto[APP_PROTO_FTP], APP_PROTO_FTP, &c->app_layer.ftp);
    ac.proto[APP_PROTO_FTPDATA].enabled = c->app_layer.ftp.enabled;
    if (!c->app_layer.http.enabled && !c->app_layer.dns.enabled && !c->app_layer.tls.enabled &&
        !c->app_layer.ssh.enabled && !c->app_layer.smb.enabled && !c->app_layer.ftp.enabled) {
        w->app = NULL;                /* no stage: nothing for it to do on any packet */
        return 0;
    }
    w->app = app_stage_new(&ac);
    return w->app ? 0 : -1;
}

int worker_init(struct worker *w, unsigned id, const struct lw_config *cfg,
                struct output *out, char *err, size_t errlen)
{
    struct flow_config fcfg = {
        .max_flows = cfg->flow.max_flows,
        .timeout = {
            [FLOW_TC_NEW] = cfg->flow.timeout_tcp_new,
            [FLOW_TC_ESTABLISHED] = cfg->flow.timeout_tcp_established,
            [FLOW_TC_CLOSED] = cfg->flow.timeout_tcp_closed,
            [FLOW_TC_UDP] = cfg->flow.timeout_udp,
            [FLOW_TC_DEFAULT] = cfg->flow.timeout_default,
        },
    };
    struct dpi_config dpicfg = {
        .enabled = cfg->dpi.enabled,
        .max_packets = cfg->dpi.max_packets,
        .protos_file = cfg->dpi.protos_file,
    };
    struct stream_config scfg = {
        .depth = cfg->stream.depth,
        .memcap = cfg->stream.memcap,
        .window = cfg->stream.inspect_window,
        .ooo_limit = cfg->stream.ooo_limit,
    };

    memset(w, 0, sizeof *w);
    w->id = id;
    w->cfg = cfg;
    w->out = out;
    w->eve.sensor_id = cfg->sensor_id;
    if (cfg->outputs.xff.enabled) {
        w->eve.xff_mode = strcmp(cfg->outputs.xff.mode, "overwrite") == 0 ? EVE_XFF_OVERWRITE : EVE_XFF_EXTRA;
        w->xff_last = strcmp(cfg->outputs.xff.deployment, "reverse") == 0;
    }
    jbuf_init(&w->jb);
    w->slab = lw_slab_new(cfg->flow.state_memory);
    if (!w->slab) {
        snprintf(err, errlen, "worker %u: cannot reserve %llu bytes for per-flow state (flow.state-memory)", id,
                 (unsigned long long)cfg->flow.state_memory);
        goto fail;
    }
    dpicfg.slab = w->slab;
    w->ob = output_batch_new(out);
    if (!w->ob) {
        snprintf(err, errlen, "worker %u: no memory for its event batch", id);
        goto fail;
    }
    w->flows = flow_table_new(&fcfg, id, worker_flow_end, w);
    if (!w->flows) {
        snprintf(err, errlen, "worker %u: no memory for %u flows (flow.max-flows)", id, fcfg.max_flows);
        goto fail;
    }
    w->dpi = dpi_engine_new(&dpicfg);
    if (!w->dpi) {
        snprintf(err, errlen, "worker %u: nDPI could not be set up (dpi.protos-file '%s')", id,
                 cfg->dpi.protos_file ? cfg->dpi.protos_file : "");
        goto fail;
    }
    w->tally_on = cfg->redis.enabled;
    w->tally = tally_new(w->tally_on ? cfg->redis.max_keys : 64);
    w->alert_counts = ctable_new(65536);
    w->app_counts = ctable_new(4096);
    if (!w->tally || !w->alert_counts || !w->app_counts) {
        snprintf(err, errlen, "worker %u: no memory for the tally tables (redis.max-keys %u)", id,
                 cfg->redis.max_keys);
        goto fail;
    }
    w->tally_want = tally_swap_flag(w->tally);
    if (cfg->stream.enabled && (w->stream = stream_ctx_new(&scfg)) == NULL) {
        snprintf(err, errlen, "worker %u: no memory for stream reassembly", id);
        goto fail;
    }
    if (w->stream)
        stream_ctx_set_slab(w->stream, w->slab);
    if (worker_app_init(w, cfg) < 0) {
        snprintf(err, errlen, "worker %u: no memory for the application-layer parsers", id);
        goto fail;
    }
    return 0;
fail:
    worker_destroy(w);
    return -1;
}

/* Gives the worker's rule scratch and threshold context what they need
 * from the worker: its geoip lookup and the capture-order wait. */
/* Files get the digests the rules in use read (filemd5, filesha1). */
static void worker_file_hashes(struct worker *w)
{
    uint64_t b = detect_engine_buffers(w->detect);

    if (w->app)
        app_stage_set_file_hashes(w->app, ((b & RULE_BUF_BIT(RULE_BUF_FILE_MD5)) ? APP_FILE_MD5 : 0) |
                                              ((b & RULE_BUF_BIT(RULE_BUF_FILE_SHA1)) ? APP_FILE_SHA1 : 0));
}

static void worker_wire_detect(struct worker *w)
{
    worker_file_hashes(w);
    if (w->dt) {
        detect_thread_set_geo(w->dt, w->geo ? geo_detect_country : NULL, w->geo);
        detect_thread_set_slab(w->dt, w->slab);
    }
    if (w->th)
        threshold_set_order(w->th, w->order, w->order_arg);
}

int worker_set_geo(struct worker *w, struct geo *g, char *err, size_t errlen)
{
    struct geo_thread *t = NULL;

    if (g) {
        t = geo_thread_new(g, w->id);
        if (!t) {
            snprintf(err, errlen, "worker %u: no memory for the geolocation cache and summary", w->id);
            return -1;
        }
        geo_thread_quiescent(t);
    }
    geo_thread_free(w->geo);
    w->geo = t;
    w->eve.geo = t;
    worker_wire_detect(w);
    return 0;
}

void worker_set_order(struct worker *w, void (*fn)(void *arg), void *arg)
{
    w->order = fn;
    w->order_arg = arg;
    worker_wire_detect(w);
}

int worker_set_detect(struct worker *w, const struct detect_engine *e, struct threshold_ctx *th,
                      char *err, size_t errlen)
{
    struct detect_thread *dt = NULL;

    if (e) {
        dt = detect_thread_new(e);
        if (!dt) {
            snprintf(err, errlen, "worker %u: no memory for the rule matcher's scratch", w->id);
            return -1;
        }
    }
    detect_thread_free(w->dt);
    threshold_free(w->th);
    w->detect = e;
    w->dt = dt;
    w->th = th;
    worker_wire_detect(w);
    return 0;
}

void worker_use_rules(struct worker *w, struct rules_slot *slot)
{
    w->rules = slot;
}

/* Threshold counters survive a reload when the rule is the same gid:sid and
 * rev. The rev is the one kept with the counter, so the set that counted
 * may already be gone. */
static int carry_keep(void *arg, uint32_t gid, uint32_t sid, uint32_t rev)
{
    return ruleset_rev(arg, gid, sid) == (int64_t)rev;
}

/* Moves to the published set: its engine, and this worker's scratch and
 * threshold context from it. Nothing of the previous set is read: it may be
 * freed already when the worker was offline (blocked in a read). */
static void worker_switch_rules(struct worker *w, struct ruleset *rs)
{
    struct detect_thread *dt = NULL;
    struct threshold_ctx *th = NULL;

    if (rs && w->id < rs->nworkers) {
        dt = rs->dt[w->id];
        th = rs->th[w->id];
        rs->dt[w->id] = NULL;
        rs->th[w->id] = NULL;
    }
    if (th && w->th)
        threshold_carry_over(th, w->th, carry_keep, rs);
    detect_thread_free(w->dt);
    threshold_free(w->th);
    w->dt = dt;
    w->th = th;
    w->detect = rs && dt ? rs->engine : NULL;
    worker_wire_detect(w);
    STATS_SET(w->st.rule_version, rs ? rs->version : 0);
    STATS_INC(w->st.rule_switches);
}

/* Before a message (or when idle): announce the epoch first, so a reload
 * that publishes after we look cannot free what we then use. */
static inline void worker_rules_enter(struct worker *w)
{
    struct ruleset *rs;

    if (!w->rules)
        return;
    rules_slot_quiescent(w->rules, w->id);
    rs = rules_slot_get(w->rules);
    if ((rs ? rs->version : 0) != w->st.rule_version)
        worker_switch_rules(w, rs);
}

static inline void worker_rules_leave(struct worker *w)
{
    if (w->rules)
        rules_slot_quiescent(w->rules, w->id);
}

void worker_publish(struct worker *w)
{
    if (w->ob)
        output_publish(w->ob);
}

void worker_offline(struct worker *w)
{
    worker_publish(w);
    if (w->rules)
        rules_slot_offline(w->rules, w->id);
}

void worker_idle(struct worker *w)
{
    worker_publish(w);
    /* Redis: hand the tally table over on a quiet link too. */
    if (atomic_load_explicit(w->tally_want, memory_order_relaxed))
        tally_swap(w->tally, w->now);
    worker_rules_enter(w);
    worker_rules_leave(w);
}

void worker_destroy(struct worker *w)
{
    /* Ended flows free their DPI state; flush before destroying anything. */
    if (w->flows)
        worker_rules_enter(w);
    if (w->geo)
        geo_thread_quiescent(w->geo);
    flow_table_flush(w->flows, FLOW_END_SHUTDOWN);
    flow_table_free(w->flows);
    w->flows = NULL;
    stream_ctx_free(w->stream);
    w->stream = NULL;
    app_stage_free(w->app);
    w->app = NULL;
    detect_thread_free(w->dt);
    w->dt = NULL;
    w->detect = NULL;
    threshold_free(w->th);
    w->th = NULL;
    tally_free(w->tally);
    w->tally = NULL;
    ctable_free(w->alert_counts);
    ctable_free(w->app_counts);
    w->alert_counts = w->app_counts = NULL;
    geo_thread_free(w->geo);
    w->geo = NULL;
    w->eve.geo = NULL;
    dpi_engine_free(w->dpi);
    w->dpi = NULL;
    output_batch_free(w->ob);
    w->ob = NULL;
    jbuf_free(&w->jb);
    lw_slab_destroy(w->slab);      /* last: every flow's state lived in it */
    w->slab = NULL;
}

/* One geo_summary event per row of s (a geo_merge_write_fn). */
static void write_geo_summary(void *arg, const struct geo_thread *gt, const struct geo_summary *s)
{
    struct worker *w = arg;
    struct eve_ctx ctx = { .sensor_id = w->cfg->sensor_id, .geo = gt };

    if (!s || !output_wants(w->out, EVT_GEO_SUMMARY))
        return;
    for (uint32_t i = 0; i < s->nrows; i++) {
        jbuf_reset(&w->jb);
        eve_geo_summary_event(&w->jb, &ctx, s, &s->rows[s->order[i]]);
        if (jbuf_ok(&w->jb))
            output_batch_add(w->ob, EVT_GEO_SUMMARY, w->jb.buf, w->jb.len);
    }
}

void worker_set_geo_merge(struct worker *w, struct geo_merge *m)
{
    w->gmerge = m;
    w->gm_next = 0;
}

/* Writes a finished summary interval, one geo_summary event per row, and
 * starts the next. With several workers the interval goes to the merger. */
static void worker_geo_summary(struct worker *w, uint64_t end)
{
    if (w->gmerge)
        geo_merge_add(w->gmerge, w->id, w->geo, end, write_geo_summary, w);
    else
        write_geo_summary(w, w->geo, geo_summary_close(w->geo, end));
    geo_summary_open(w->geo);
}

/* Capture time moves to now: a geo summary interval that ended is written
 * before anything of the new time is counted. */
static inline void worker_advance(struct worker *w, uint64_t now)
{
    if (now > w->now)
        w->now = now;
    if (w->geo) {
        geo_thread_quiescent(w->geo);
        if (geo_summary_due(w->geo, w->now))
            worker_geo_summary(w, w->now);
        if (w->gmerge && w->now >= w->gm_next)
            w->gm_next = geo_merge_progress(w->gmerge, w->id, w->geo, w->now, write_geo_summary, w);
    }
}

void worker_packet(struct worker *w, struct packet *p, uint64_t now)
{
    struct flow *f;
    int was_done;

    worker_rules_enter(w);
    worker_advance(w, now);
    if (atomic_load_explicit(w->tally_want, memory_order_relaxed))
        tally_swap(w->tally, w->now);
    STATS_INC(w->st.packets);
    if (w->now > p->ts)             /* flow_table_update() takes the packet's time itself */
        flow_table_set_clock(w->flows, w->now);
    f = flow_table_update(w->flows, p);
    if (f) {
        if (w->geo)
            geo_flow_packet(w->geo, f, p, w->now);
        was_done = dpi_flow_result(f) != NULL;
        if (!was_done)                /* most packets: their flow's DPI is done */
            dpi_process(w->dpi, f, p);
        worker_tally_packet(w, f, p, was_done);
        if (w->stream)
            stream_packet(w->stream, f, p);
        if (w->app)
            app_packet(w->app, f, p, worker_app_tx, w);
        if (w->detect)
            detect_packet(w->detect, w->dt, w->th, p, f, worker_alert, w);
    }
    worker_rules_leave(w);
}

void worker_held_packet(struct worker *w, struct packet *p, uint64_t now)
{
    worker_rules_enter(w);
    worker_advance(w, now);
    if (w->detect)
        detect_held_packet(w->detect, w->dt, w->th, p, worker_alert, w);
    worker_rules_leave(w);
}

/* Capture time moves to now; with expire, idle flows end (which runs
 * flow-level rules and writes events). */
static void worker_time(struct worker *w, uint64_t now, int expire)
{
    worker_rules_enter(w);
    worker_advance(w, now);
    if (expire)
        flow_table_expire(w->flows, w->now);
    worker_rules_leave(w);
}

void worker_clock(struct worker *w, uint64_t now)
{
    worker_time(w, now, 0);
}

void worker_tick(struct worker *w, uint64_t now)
{
    worker_time(w, now, 1);
    worker_publish(w);
}

void worker_flush(struct worker *w, enum flow_end_reason why)
{
    /* Ending flows runs flow-level rules: with the current set, not with
     * one freed while this worker was offline. */
    worker_rules_enter(w);
    if (w->geo)
        geo_thread_quiescent(w->geo);
    flow_table_flush(w->flows, why);
    if (w->geo) {
        worker_geo_summary(w, w->now);
        if (w->gmerge)
            w->gm_next = geo_merge_progress(w->gmerge, w->id, w->geo, UINT64_MAX, write_geo_summary, w);
    }
    worker_publish(w);
}

/* ---- counters (not in the stats event: the run summary, /metrics, linkwatchctl) */

static const struct stats_field worker_fields[] = {
    { "worker/packets", "linkwatch_worker_packets_total", NULL, "Packets each worker processed.",
      (uint32_t)offsetof(struct worker_stats, packets), STATS_COUNTER, STATS_SUM, STATS_EACH, 0, NULL },
    { "worker/alerts", NULL, NULL, NULL, (uint32_t)offsetof(struct worker_stats, alerts), STATS_COUNTER,
      STATS_SUM, STATS_NOEVE, 0, NULL },
    { "worker/rule_switches", "linkwatch_worker_rule_switches_total", NULL,
      "Rule sets each worker switched to.", (uint32_t)offsetof(struct worker_stats, rule_switches),
      STATS_COUNTER, STATS_SUM, STATS_EACH, 0, NULL },
    /* the oldest set any worker still matches with */
    { "worker/rule_version", NULL, NULL, NULL, (uint32_t)offsetof(struct worker_stats, rule_version),
      STATS_GAUGE, STATS_MIN, STATS_NOEVE, 0, NULL },
};

const struct stats_module worker_stats_module = {
    "worker", worker_fields, STATS_NELEM(worker_fields), sizeof(struct worker_stats), "worker"
};
