/* worker.c - the per-worker packet pipeline; see worker.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"
#include "detect.h"
#include "eve.h"
#include "ruleset.h"
#include "geo.h"
#include "geo-summary.h"
#include "stream.h"
#include "threshold.h"
#include "log.h"


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

static void worker_alert(void *arg, const struct rule *r, const struct packet *p, struct flow *f)
{
    struct worker *w = arg;

    char key[CTABLE_KEY_MAX];

    if (f)
        f->flags |= FLOW_F_ALERTED;
    __atomic_store_n(&w->alerts, w->alerts + 1, __ATOMIC_RELAXED);
    if (w->tally_on)
        tally_add_alert(w->tally, p->ts, r->sid, r->priority);
    snprintf(key, sizeof key, "%u:%u", r->gid, r->sid);
    ctable_add(w->alert_counts, key, r->priority, 1, 0);
    if (f && w->geo)
        geo_flow_alert(w->geo, f, w->now);
    if (!output_wants(w->out, EVT_ALERT))
        return;
    jbuf_reset(&w->jb);
    eve_alert_event(&w->jb, w->cfg->sensor_id, r, p, f, f ? dpi_eve_write : NULL);
    if (jbuf_ok(&w->jb))
        output_event(w->out, EVT_ALERT, w->jb.buf, w->jb.len);
}

static void worker_flow_end(struct flow *f, void *arg)
{
    struct worker *w = arg;
    int was_done = dpi_flow_result(f) != NULL;

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
        eve_flow_event(&w->jb, w->cfg->sensor_id, f, dpi_eve_write);
        if (jbuf_ok(&w->jb))
            output_event(w->out, EVT_FLOW, w->jb.buf, w->jb.len);
    }
    detect_flow_free(f);
    stream_flow_free(w->stream, f);
    dpi_flow_free(f);
}

struct defrag_config worker_defrag_config(const struct lw_config *cfg)
{
    struct defrag_config dcfg = {
        .max_trackers = cfg->defrag.max_trackers,
        .memcap = cfg->defrag.memcap,
        .timeout_sec = cfg->defrag.timeout,
        .max_datagram = cfg->defrag.max_datagram,
    };

    return dcfg;
}

int worker_init(struct worker *w, unsigned id, const struct lw_config *cfg,
                struct output *out, int dlt, char *err, size_t errlen)
{
    struct defrag_config dcfg = worker_defrag_config(cfg);
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
    jbuf_init(&w->jb);
    if (decoder_init(&w->dec, dlt, &dcfg) < 0) {
        snprintf(err, errlen, "worker %u: no memory for the defragmenter", id);
        goto fail;
    }
    w->flows = flow_table_new(&fcfg, id, worker_flow_end, w);
    if (!w->flows) {
        snprintf(err, errlen, "worker %u: no memory for %u flows (flow.max-flows)", id, fcfg.max_flows);
        goto fail_dec;
    }
    w->dpi = dpi_engine_new(&dpicfg);
    if (!w->dpi) {
        snprintf(err, errlen, "worker %u: nDPI could not be set up (dpi.protos-file '%s')", id,
                 cfg->dpi.protos_file ? cfg->dpi.protos_file : "");
        goto fail_flows;
    }
    w->tally_on = cfg->redis.enabled;
    w->tally = tally_new(w->tally_on ? cfg->redis.max_keys : 64);
    w->alert_counts = ctable_new(65536);
    w->app_counts = ctable_new(4096);
    if (!w->tally || !w->alert_counts || !w->app_counts) {
        snprintf(err, errlen, "worker %u: no memory for the tally tables (redis.max-keys %u)", id,
                 cfg->redis.max_keys);
        goto fail_dpi;
    }
    if (cfg->stream.enabled && (w->stream = stream_ctx_new(&scfg)) == NULL) {
        snprintf(err, errlen, "worker %u: no memory for stream reassembly", id);
        goto fail_tally;
    }
    return 0;
fail_tally:
    tally_free(w->tally);
    w->tally = NULL;
fail_dpi:
    tally_free(w->tally);
    ctable_free(w->alert_counts);
    ctable_free(w->app_counts);
    dpi_engine_free(w->dpi);
    w->dpi = NULL;
fail_flows:
    flow_table_free(w->flows);
    w->flows = NULL;
fail_dec:
    decoder_destroy(&w->dec);
fail:
    jbuf_free(&w->jb);
    return -1;
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
        detect_set_geo_lookup(geo_detect_country);
    }
    geo_thread_free(w->geo);
    w->geo = t;
    return 0;
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
    w->rs_version = rs ? rs->version : 0;
    w->rule_switches++;
}

/* Back from offline (or between packets): announce the epoch first, so a
 * reload that publishes after we look cannot free what we then use. */
static inline void worker_rules_enter(struct worker *w)
{
    struct ruleset *rs;

    rules_slot_quiescent(w->rules, w->id);
    rs = rules_slot_get(w->rules);
    if ((rs ? rs->version : 0) != w->rs_version)
        worker_switch_rules(w, rs);
}

void worker_offline(struct worker *w)
{
    if (w->rules)
        rules_slot_offline(w->rules, w->id);
}

void worker_idle(struct worker *w)
{
    /* Redis: hand the tally table over on a quiet link too. */
    if (tally_swap_wanted(w->tally))
        tally_swap(w->tally, w->now);
    if (!w->rules)
        return;
    worker_rules_enter(w);
    rules_slot_quiescent(w->rules, w->id);
}

void worker_destroy(struct worker *w)
{
    /* Ended flows free their DPI state; flush before destroying anything. */
    if (w->rules && w->flows)
        worker_rules_enter(w);
    if (w->geo)
        geo_thread_quiescent(w->geo);
    flow_table_flush(w->flows, FLOW_END_SHUTDOWN);
    flow_table_free(w->flows);
    w->flows = NULL;
    stream_ctx_free(w->stream);
    w->stream = NULL;
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
    dpi_engine_free(w->dpi);
    w->dpi = NULL;
    decoder_destroy(&w->dec);
    jbuf_free(&w->jb);
}

void worker_set_datalink(struct worker *w, int dlt)
{
    w->dec.datalink = dlt;
}

/* One geo_summary event per row of s. */
static void write_geo_summary(struct output *out, struct jbuf *jb, const char *sensor_id,
                              const struct geo_summary *s)
{
    if (!s || !output_wants(out, EVT_GEO_SUMMARY))
        return;
    for (uint32_t i = 0; i < s->nrows; i++) {
        jbuf_reset(jb);
        eve_geo_summary_event(jb, sensor_id, s, &s->rows[s->order[i]]);
        if (jbuf_ok(jb))
            output_event(out, EVT_GEO_SUMMARY, jb->buf, jb->len);
    }
}

/* ---- one summary out of several workers'.
 *
 * Each worker closes its own intervals; the rows go into the merger's
 * accumulator for that interval. An interval is written once every worker
 * has passed its end in capture time (all workers get the capture thread's
 * ticks, so none lags for want of packets), then it is the same summary a
 * single worker would have made. Accumulators are made when an interval
 * first closes (not per packet) and kept for reuse. */
struct geo_acc {
    struct geo_sum *sum;
    uint64_t start, end;         /* interval start; end: the latest end a worker gave */
    struct geo_acc *next;        /* by start */
};

struct geo_merge {
    pthread_mutex_t mu;
    unsigned n;
    uint64_t *progress;          /* [n]: capture time each worker has passed */
    struct geo_acc *pending;     /* by start */
    struct geo_acc *spare;
    unsigned npending;
    struct output *out;
    const char *sensor_id;
    struct jbuf jb;
};

/* Most intervals waiting for a slow worker; beyond it the oldest is written
 * early (with a warning: the slow worker's share of it then comes as rows
 * of their own) rather than memory growing without bound. */
#define GEO_MERGE_MAX_PENDING 64u

struct geo_merge *geo_merge_new(unsigned nworkers, struct output *out, const char *sensor_id)
{
    struct geo_merge *m = calloc(1, sizeof *m);

    if (!m)
        return NULL;
    m->progress = calloc(nworkers, sizeof *m->progress);
    if (!m->progress) {
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    m->n = nworkers;
    m->out = out;
    m->sensor_id = sensor_id;
    jbuf_init(&m->jb);
    return m;
}

static void acc_free_list(struct geo_acc *a)
{
    while (a) {
        struct geo_acc *nx = a->next;

        geo_sum_free(a->sum);
        free(a);
        a = nx;
    }
}

void geo_merge_free(struct geo_merge *m)
{
    if (!m)
        return;
    acc_free_list(m->pending);
    acc_free_list(m->spare);
    free(m->progress);
    jbuf_free(&m->jb);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void worker_set_geo_merge(struct worker *w, struct geo_merge *m)
{
    w->gmerge = m;
    w->gm_next = 0;
}

/* Writes the oldest pending interval (lock held). */
static void merge_write_first(struct geo_merge *m)
{
    struct geo_acc *a = m->pending;

    m->pending = a->next;
    m->npending--;
    write_geo_summary(m->out, &m->jb, m->sensor_id, geo_sum_close(a->sum, a->end));
    geo_sum_open(a->sum);
    a->next = m->spare;
    m->spare = a;
}

/* Writes the intervals every worker has passed (lock held). */
static void merge_write_ready(struct geo_merge *m, uint64_t interval)
{
    uint64_t low = UINT64_MAX;

    for (unsigned i = 0; i < m->n; i++)
        if (m->progress[i] < low)
            low = m->progress[i];
    while (m->pending && (low == UINT64_MAX || m->pending->start + interval <= low))
        merge_write_first(m);
}

/* The accumulator of the interval starting at start (lock held); NULL when
 * out of memory. */
static struct geo_acc *merge_acc(struct geo_merge *m, const struct geo_sum *like, uint64_t start)
{
    struct geo_acc **pp = &m->pending, *a;

    while (*pp && (*pp)->start < start)
        pp = &(*pp)->next;
    if (*pp && (*pp)->start == start)
        return *pp;
    if ((a = m->spare) != NULL) {
        m->spare = a->next;
    } else {
        a = calloc(1, sizeof *a);
        if (!a || !(a->sum = geo_sum_new_like(like))) {
            free(a);
            return NULL;
        }
    }
    a->start = start;
    a->end = 0;
    a->next = *pp;
    *pp = a;
    m->npending++;
    return a;
}

/* The worker closed its interval: into the merger with it. */
static void geo_merge_add(struct worker *w, uint64_t end)
{
    struct geo_merge *m = w->gmerge;
    struct geo_sum *own = geo_thread_sum(w->geo);
    const struct geo_summary *s = geo_summary_close(w->geo, end);
    struct geo_acc *a;

    if (!s)
        return;
    pthread_mutex_lock(&m->mu);
    a = merge_acc(m, own, s->start_usec);
    if (a) {
        geo_sum_merge(a->sum, own);
        if (s->end_usec > a->end)
            a->end = s->end_usec;
    } else {
        log_warning("geo summary: out of memory merging worker %u's interval; written apart", w->id);
        write_geo_summary(m->out, &m->jb, m->sensor_id, s);
    }
    while (m->npending > GEO_MERGE_MAX_PENDING) {
        log_warning("geo summary: a worker is %u intervals behind; the interval starting at %llu s "
                    "is written without its share", GEO_MERGE_MAX_PENDING,
                    (unsigned long long)(m->pending->start / 1000000u));
        merge_write_first(m);
    }
    pthread_mutex_unlock(&m->mu);
}

/* The worker has passed capture time now (UINT64_MAX: it is done). */
static void geo_merge_progress(struct worker *w, uint64_t now)
{
    struct geo_merge *m = w->gmerge;
    uint64_t interval = geo_sum_interval(geo_thread_sum(w->geo));

    pthread_mutex_lock(&m->mu);
    m->progress[w->id] = now;
    merge_write_ready(m, interval);
    pthread_mutex_unlock(&m->mu);
    w->gm_next = now == UINT64_MAX ? UINT64_MAX : now - now % interval + interval;
}

/* Writes a finished summary interval, one geo_summary event per row, and
 * starts the next. With several workers the interval goes to the merger. */
static void worker_geo_summary(struct worker *w, uint64_t end)
{
    if (w->gmerge)
        geo_merge_add(w, end);
    else
        write_geo_summary(w->out, &w->jb, w->cfg->sensor_id, geo_summary_close(w->geo, end));
    geo_summary_open(w->geo);
}

static void worker_tick(struct worker *w)
{
    if (!worker_tick_due(w->now, &w->next_expire))
        return;
    flow_table_expire(w->flows, w->now);
    decoder_expire(&w->dec, w->now);
}

static void worker_run(struct worker *w, const uint8_t *data, uint32_t caplen,
                       uint32_t wirelen, uint64_t ts_usec);

void worker_packet(struct worker *w, const uint8_t *data, uint32_t caplen,
                   uint32_t wirelen, uint64_t ts_usec)
{
    if (!w->rules) {
        worker_run(w, data, caplen, wirelen, ts_usec);
        return;
    }
    worker_rules_enter(w);
    worker_run(w, data, caplen, wirelen, ts_usec);
    rules_slot_quiescent(w->rules, w->id);
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
            geo_merge_progress(w, w->now);
    }
}

/* A decoded packet: flow, nDPI, tallies, stream, rules. */
static void worker_process(struct worker *w, struct packet *p)
{
    struct flow *f;
    int was_done;

    w->pkts++;
    flow_table_set_clock(w->flows, w->now);
    f = flow_table_update(w->flows, p);
    if (!f)
        return;
    if (f->pkts[0] + f->pkts[1] == 1 && (f->key.proto == 1 || f->key.proto == 58)) {
        f->icmp_type = p->icmp_type;
        f->icmp_code = p->icmp_code;
    }
    if (w->geo)
        geo_flow_packet(w->geo, f, p, w->now);
    was_done = dpi_flow_result(f) != NULL;
    dpi_process(w->dpi, f, p);
    worker_tally_packet(w, f, p, was_done);
    if (w->stream)
        stream_packet(w->stream, f, p);
    if (w->detect)
        detect_packet(w->detect, w->dt, w->th, p, f, worker_alert, w);
}

static void worker_run(struct worker *w, const uint8_t *data, uint32_t caplen,
                       uint32_t wirelen, uint64_t ts_usec)
{
    struct packet *p = &w->pkt;

    worker_advance(w, ts_usec);
    worker_tick(w);
    if (tally_swap_wanted(w->tally))
        tally_swap(w->tally, w->now);
    if (w->tally_on)
        tally_packet(w->tally, ts_usec, wirelen);
    if (decode_packet(&w->dec, p, data, caplen, wirelen, ts_usec) != DECODE_OK)
        return;
    worker_process(w, p);
}

void worker_decoded(struct worker *w, struct packet *p, uint64_t now)
{
    if (w->rules)
        worker_rules_enter(w);
    worker_advance(w, now);
    if (tally_swap_wanted(w->tally))
        tally_swap(w->tally, w->now);
    worker_process(w, p);
    if (w->rules)
        rules_slot_quiescent(w->rules, w->id);
}

/* Capture time moves to now; with expire, idle flows end (which runs
 * flow-level rules and writes events). */
static void worker_time(struct worker *w, uint64_t now, int expire)
{
    if (w->rules)
        worker_rules_enter(w);
    worker_advance(w, now);
    if (expire)
        flow_table_expire(w->flows, w->now);
    if (w->rules)
        rules_slot_quiescent(w->rules, w->id);
}

void worker_clock(struct worker *w, uint64_t now)
{
    worker_time(w, now, 0);
}

void worker_tick_at(struct worker *w, uint64_t now)
{
    worker_time(w, now, 1);
}

void worker_flush(struct worker *w, enum flow_end_reason why)
{
    /* Ending flows runs flow-level rules: with the current set, not with
     * one freed while this worker was offline. */
    if (w->rules)
        worker_rules_enter(w);
    if (w->geo)
        geo_thread_quiescent(w->geo);
    flow_table_flush(w->flows, why);
    if (w->geo) {
        worker_geo_summary(w, w->now);
        if (w->gmerge)
            geo_merge_progress(w, UINT64_MAX);
    }
}
