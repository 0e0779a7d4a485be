/* report.c - the sensor's counters, gathered in one snapshot (stats.h) and
 * rendered as the EVE stats event, /metrics, the run summary and
 * `linkwatchctl stats`. Values come from the modules' tables only: a
 * counter added to a table shows up in the stats event and on /metrics
 * without a line here.
 */
#include <stdlib.h>
#include <string.h>

#include "autoconf.h"
#include "app-stage.h"
#include "ctable.h"
#include "decode.h"
#include "dpi.h"
#include "eve.h"
#include "geo.h"
#include "output.h"
#include "eve-file.h"
#include "tally-flush.h"
#include "redis-cluster.h"
#include "sensor.h"
#include "stream.h"
#include "util.h"

/* The daemon's own counters (the top of the stats event). */
struct sensor_stats {
    uint64_t uptime;
};

static const struct stats_field sensor_fields[] = {
    { "uptime", "linkwatch_uptime_seconds", NULL, "Seconds since start.",
      (uint32_t)offsetof(struct sensor_stats, uptime), STATS_GAUGE, STATS_SUM, 0, 0, NULL },
};

static const struct stats_module sensor_stats_module = {
    "sensor", sensor_fields, STATS_NELEM(sensor_fields), sizeof(struct sensor_stats), NULL
};

/* Adds module m with one instance per worker, the instance given by get. */
static void add_per_worker(struct stats_snap *snap, struct sensor *s, const struct stats_module *m,
                           const void *(*get)(const struct worker *w))
{
    const void **inst = calloc(s->nworkers, sizeof *inst);

    if (!inst) {
        snap->failed = 1;
        return;
    }
    for (unsigned i = 0; i < s->nworkers; i++)
        inst[i] = get(&s->workers[i]);
    stats_snap_add(snap, m, inst, s->nworkers, NULL);
    free(inst);
}

static const void *w_flow(const struct worker *w) { return flow_table_stats(w->flows); }
static const void *w_dpi(const struct worker *w) { return dpi_engine_stats(w->dpi); }
static const void *w_geo(const struct worker *w) { return geo_thread_stats(w->geo); }
static const void *w_stream(const struct worker *w) { return stream_ctx_stats(w->stream); }
static const void *w_own(const struct worker *w) { return &w->st; }
static const void *w_app(const struct worker *w) { return app_stage_stats(w->app); }

void sensor_snapshot(struct sensor *s, struct stats_snap *snap)
{
    struct sensor_stats ss = { (lw_now_mono_usec() - s->start_mono) / 1000000u };
    struct output_exporter_stats xs[8];
    size_t nx = s->out ? output_exporters(s->out, xs, 8) : 0;
    const void *xinst[8];
    const char *xnames[8];
    const void **st = calloc(s->nworkers, sizeof *st);

    stats_snap_init(snap);
    /* What the stats event shows, in its order. */
    stats_snap_add1(snap, &sensor_stats_module, &ss);
    stats_snap_add1(snap, &capture_stats_module, &s->cap);
    stats_snap_add1(snap, &decode_stats_module, &s->disp.dec.stats);
    add_per_worker(snap, s, &flow_stats_module, w_flow);
    if (s->cfg.dpi.enabled)
        add_per_worker(snap, s, &dpi_stats_module, w_dpi);
    if (s->workers && s->workers[0].geo)
        add_per_worker(snap, s, &geo_stats_module, w_geo);
    if (s->workers && s->workers[0].stream)
        add_per_worker(snap, s, &stream_stats_module, w_stream);
    if (s->workers && s->workers[0].app)
        add_per_worker(snap, s, app_stats_module(), w_app);
    /* The rest: /metrics, the summary and linkwatchctl. */
    add_per_worker(snap, s, &worker_stats_module, w_own);
    dispatch_refresh_stats(&s->disp);
    for (unsigned i = 0; st && i < s->nworkers; i++)
        st[i] = &s->disp.st[i];
    if (st)
        stats_snap_add(snap, &dispatch_stage_module, st, s->nworkers, NULL);
    free(st);
    stats_snap_add1(snap, &dispatch_stats_module, &s->disp.cs);
    if (s->reload_ready) {
        struct reload_stats rs;

        reload_get_stats(&s->reload, &rs);
        stats_snap_add1(snap, &reload_stats_module, &rs);
    }
    if (s->out)
        stats_snap_add1(snap, &output_stats_module, output_stats(s->out));
    for (size_t i = 0; i < nx; i++) {
        xinst[i] = &xs[i];
        xnames[i] = xs[i].name;
    }
    stats_snap_add(snap, &exporter_stats_module, xinst, (unsigned)nx, xnames);
    if (s->redis) {
        struct redis_stats rs;

        struct rcl_stats cs = { 0 };

        tally_flush_stats(s->redis, &rs);
        stats_snap_add1(snap, &redis_stats_module, &rs);
        tally_flush_cluster_stats(s->redis, &cs);
        stats_snap_add1(snap, &rcl_stats_module, &cs);
    }
}

void sensor_emit_stats(struct sensor *s, uint64_t ts)
{
    struct stats_snap snap;

    if (!output_wants(s->out, EVT_STATS))
        return;
    /* The capture thread's own worker's events first, as they came. */
    dispatch_publish(&s->disp);
    sensor_snapshot(s, &snap);
    jbuf_reset(&s->jb);
    eve_stats_event(&s->jb, s->cfg.sensor_id, ts, &snap);
    if (jbuf_ok(&s->jb))
        output_event(s->out, EVT_STATS, s->jb.buf, s->jb.len);
    stats_snap_free(&snap);
}

/* Stats come every stats.interval seconds: of capture time when reading
 * files (so a replay reports as the link would have), of wall time live. */
void sensor_maybe_stats(struct sensor *s, uint64_t now)
{
    uint64_t step = (uint64_t)s->cfg.stats.interval * 1000000u;

    if (!s->cfg.stats.enabled || step == 0)
        return;
    if (s->next_stats == 0) {
        s->next_stats = now + step;
        return;
    }
    if (now < s->next_stats)
        return;
    sensor_emit_stats(s, now);
    s->next_stats = now + step;
}

/* The Redis writer's view of the sensor (status hash, health). */
void sensor_redis_health(struct sensor *s)
{
    struct stats_snap snap;
    struct redis_health h;

    sensor_snapshot(s, &snap);
    h = (struct redis_health){
        .ts_usec = s->last_ts, .packets = stats_get(&snap, "capture/packets", NULL),
        .bytes = stats_get(&snap, "capture/bytes", NULL),
        .drops = stats_get(&snap, "capture/kernel_drops", NULL) + stats_get(&snap, "capture/kernel_ifdrops", NULL),
        .flows_active = stats_get(&snap, "flow/active", NULL),
        .flows_created = stats_get(&snap, "flow/created", NULL),
        .alerts = stats_get(&snap, "worker/alerts", NULL),
    };
    stats_snap_free(&snap);
    tally_flush_set_health(s->redis, &h);
}

/* ---- the run summary */

#define V(path) ((unsigned long long)stats_get(snap, path, NULL))

struct list_arg {
    FILE *out;
    const char *first, *sep;
    int n;
    int events;                 /* decoder events: 1 refusal reasons only, 2 anomalies only */
};

/* Whether the decoder event called name lets its packet through. */
static int event_is_anomaly(const char *name)
{
    int e = decode_event_by_name(name);

    return e >= 0 && decode_event_keeps_packet((enum decode_event)e);
}

static void list_item(void *arg, const char *name, uint64_t v)
{
    struct list_arg *a = arg;

    if (a->events && event_is_anomaly(name) != (a->events == 2))
        return;
    fprintf(a->out, "%s%s %llu", a->n++ ? a->sep : a->first, name, (unsigned long long)v);
}

static void print_stream_summary(const struct stats_snap *snap)
{
    printf("  stream: %llu bytes reassembled, %llu gaps (%llu bytes), overlaps %llu same / %llu "
           "different data, depth reached %llu, evictions %llu, memory %llu (max %llu)\n",
           V("stream/reassembled_bytes"), V("stream/gaps"), V("stream/gap_bytes"), V("stream/overlaps"),
           V("stream/overlaps_diff_data"), V("stream/depth_reached"), V("stream/evictions"),
           V("stream/memuse"), V("stream/memuse_max"));
}

/* With several workers: how the packets were shared out and how busy each
 * stage was, to see which one holds the others up. */
static void print_worker_summary(const struct stats_snap *snap, unsigned n)
{
    printf("  workers: %u; capture thread busy %.3f s (decode and dispatch)\n", n,
           (double)stats_get(snap, "dispatch/busy_ns", NULL) / 1e9);
    for (unsigned i = 0; i < n; i++)
        printf("    worker %u: %llu packets, busy %.3f s, queue full %llu times (%.3f s waited), "
               "threshold order waits %llu (%.3f s)\n", i,
               (unsigned long long)stats_get_each(snap, "worker/packets", i),
               (double)stats_get_each(snap, "dispatch/worker/busy_ns", i) / 1e9,
               (unsigned long long)stats_get_each(snap, "dispatch/worker/full_waits", i),
               (double)stats_get_each(snap, "dispatch/worker/full_wait_ns", i) / 1e9,
               (unsigned long long)stats_get_each(snap, "dispatch/worker/order_waits", i),
               (double)stats_get_each(snap, "dispatch/worker/order_wait_ns", i) / 1e9);
}

void sensor_print_summary(struct sensor *s, const char *logdir, double secs)
{
    struct stats_snap sn, *snap = &sn;
    struct list_arg layers = { stdout, " ", " ", 0, 0 }, events = { stdout, " (", ", ", 0, 1 };
    struct list_arg anomalies = { stdout, "\n  anomalies: ", ", ", 0, 2 };
    int found;

    sensor_snapshot(s, snap);
    printf("linkwatch: %llu packets, %llu bytes in %.3f s (%.0f packets/s)\n", V("capture/packets"),
           V("capture/bytes"), secs, secs > 0 ? (double)V("capture/packets") / secs : 0.0);
    if (s->live)
        printf("  capture: kernel received %llu, dropped %llu, interface dropped %llu\n",
               V("capture/kernel_packets"), V("capture/kernel_drops"), V("capture/kernel_ifdrops"));
    printf("  decoded:");
    stats_each_label(snap, "linkwatch_decoded_packets_total", list_item, &layers);
    printf("\n  invalid: %llu", V("decoder/invalid"));
    stats_each_label(snap, "linkwatch_decode_events_total", list_item, &events);
    printf("%s", events.n ? ")" : "");
    stats_each_label(snap, "linkwatch_decode_events_total", list_item, &anomalies);
    printf("\n");
    printf("  flows: %llu (tcp %llu, udp %llu, icmp %llu, other %llu); ended: timeout %llu, "
           "tcp-closed %llu, evicted %llu, shutdown %llu\n",
           V("flow/created"), V("flow/tcp"), V("flow/udp"), V("flow/icmpv4") + V("flow/icmpv6"),
           V("flow/other"), V("flow/end/timeout"), V("flow/end/tcp-closed"), V("flow/end/evicted"),
           V("flow/end/shutdown"));
    stats_get(snap, "stream/sessions", &found);
    if (found)
        print_stream_summary(snap);
    printf("  rules: %llu loaded, %llu failed (version %llu, %llu reload(s)); alerts: %llu\n",
           V("rules/loaded"), V("rules/failed"), V("rules/version"), V("rules/reloads"), V("worker/alerts"));
    if (s->nworkers > 1)
        print_worker_summary(snap, s->nworkers);
    stats_get(snap, "geo/flows", &found);
    if (found)
        printf("  geo: %zu database(s); %llu flows geolocated, %llu lookups, %llu cache hits, "
               "%llu internal\n", geo_database_count(s->geo), V("geo/flows"), V("geo/lookups"),
               V("geo/cache_hits"), V("geo/internal"));
    printf("  events:");
    for (int t = 0; t < EVT_MAX; t++) {
        char path[64];

        snprintf(path, sizeof path, "events/%s", event_type_name((enum event_type)t));
        printf("%s %s %llu", t ? "," : "", event_type_name((enum event_type)t), V(path));
    }
    printf(" -> %s/%s\n", logdir, eve_file_filename(&s->cfg));
    if (s->redis) {
        tally_flush_print_summary(s->redis, stdout);
        printf("  redis: final drain (last tallies to Redis) %.3f s\n", s->redis_drain_secs);
    }
    stats_snap_free(snap);
}

/* ---- linkwatchctl stats: a few counters, by name */

static const struct { const char *key, *path, *pre, *post; } ctl_stats[] = {
    { "uptime", "uptime", "uptime ", " s; " },
    { "packets", "capture/packets", "packets ", ", " },
    { "bytes", "capture/bytes", "bytes ", ", " },
    { "kernel_drops", "capture/kernel_drops", "kernel drops ", ", " },
    { "invalid", "decoder/invalid", "invalid ", "; " },
    { "flows_created", "flow/created", "flows ", " created, " },
    { "flows_active", "flow/active", "", " active; " },
    { "alerts", "worker/alerts", "alerts ", "; " },
    /* the oldest set any worker still matches with */
    { "worker_rule_version", "worker/rule_version", "worker on rule set version ", "\n" },
};

void sensor_write_stats(struct sensor *s, int json, FILE *out)
{
    struct stats_snap snap;

    sensor_snapshot(s, &snap);
    /* capturing: a source is open (live: the interface is being read, so
     * traffic sent now is seen; files: one is being read) */
    if (json)
        fprintf(out, "{\"ok\":true,\"capturing\":%s", atomic_load(&s->capturing) ? "true" : "false");
    else
        fprintf(out, "capturing %s; ", atomic_load(&s->capturing) ? "yes" : "no");
    for (size_t i = 0; i < STATS_NELEM(ctl_stats); i++) {
        unsigned long long v = stats_get(&snap, ctl_stats[i].path, NULL);

        if (json)
            fprintf(out, ",\"%s\":%llu", ctl_stats[i].key, v);
        else
            fprintf(out, "%s%llu%s", ctl_stats[i].pre, v, ctl_stats[i].post);
    }
    if (json)
        fputs("}\n", out);
    stats_snap_free(&snap);
}

/* ---- /metrics: the tables, and the by-rule and by-application counts */

static void emit_ctable_alert(void *arg, const char *key, uint32_t tag, uint64_t n, uint64_t bytes)
{
    char gid[16], sev[16];
    const char *colon = strchr(key, ':');

    (void)bytes;
    snprintf(gid, sizeof gid, "%.*s", colon ? (int)(colon - key) : 0, key);
    snprintf(sev, sizeof sev, "%u", tag);
    stats_prom_sample(arg, "linkwatch_alerts_total", (double)n, "gid", gid, "sid", colon ? colon + 1 : key,
                      "severity", sev, NULL);
}

static void add_ctable(void *arg, const char *key, uint32_t tag, uint64_t n, uint64_t bytes)
{
    ctable_add(arg, key, tag, n, bytes);
}

static void emit_ctable_app(void *arg, const char *key, uint32_t tag, uint64_t n, uint64_t bytes)
{
    FILE **o = arg;

    (void)tag;
    stats_prom_sample(o[0], "linkwatch_app_flows_total", (double)n, "protocol", key, NULL);
    stats_prom_sample(o[1], "linkwatch_app_bytes_total", (double)bytes, "protocol", key, NULL);
}

/* Per-protocol and per-rule counts live in each worker's own table: one sum. */
static void collect_ctables(struct sensor *s, FILE *out)
{
    struct ctable *apps = s->nworkers > 1 ? ctable_new(4096) : NULL;
    struct ctable *alerts = s->nworkers > 1 ? ctable_new(65536) : NULL;
    char *app_bytes = NULL;
    size_t app_len = 0;
    FILE *o2;

    if (apps && alerts)
        for (unsigned i = 0; i < s->nworkers; i++) {
            ctable_each(s->workers[i].app_counts, add_ctable, apps);
            ctable_each(s->workers[i].alert_counts, add_ctable, alerts);
        }
    stats_prom_family(out, "linkwatch_app_flows_total", "counter", "Ended flows by nDPI protocol.");
    o2 = open_memstream(&app_bytes, &app_len);
    if (o2) {
        FILE *pair[2] = { out, o2 };

        stats_prom_family(o2, "linkwatch_app_bytes_total", "counter", "Bytes of ended flows by nDPI protocol.");
        ctable_each(apps ? apps : s->workers[0].app_counts, emit_ctable_app, pair);
        fclose(o2);
        fwrite(app_bytes, 1, app_len, out);
        free(app_bytes);
    }
    stats_prom_family(out, "linkwatch_alerts_total", "counter", "Alerts, by rule and severity.");
    ctable_each(alerts ? alerts : s->workers[0].alert_counts, emit_ctable_alert, out);
    ctable_free(apps);
    ctable_free(alerts);
}

void sensor_collect_metrics(void *arg, FILE *out)
{
    struct sensor *s = arg;
    struct stats_snap snap;

    stats_prom_family(out, "linkwatch_build_info", "gauge", "Build of the sensor.");
    stats_prom_sample(out, "linkwatch_build_info", 1, "version", PACKAGE_VERSION, "sensor_id", s->cfg.sensor_id,
                      NULL);
    sensor_snapshot(s, &snap);
    stats_prom(&snap, out);
    stats_snap_free(&snap);
    collect_ctables(s, out);
}
