/* bench.c - decode+flow throughput on a capture held in memory.
 *
 *   bench replicate IN OUT N [overlap]
 *                              write N copies of IN one after another: copy k
 *                              has every IPv4 address shifted by k (both ends,
 *                              so flows stay flows) and its time shifted past
 *                              the previous copy, so each copy's flows are new.
 *                              With "overlap" the copies are interleaved packet
 *                              by packet at IN's times (copy k k microseconds
 *                              later): N times the traffic in the same minutes,
 *                              as a busier link carries (the Redis benchmark)
 *   bench pipeline FILE [R] [key=value ...]
 *                              load FILE into memory, then run the worker
 *                              pipeline (decode, flow table, nDPI unless
 *                              dpi.enabled=no) over it R times (default 1);
 *                              prints packets/s and ns/packet for the
 *                              pipeline alone, no I/O, and the thread's CPU
 *                              time (steadier when other work shares the
 *                              machine). key=value are --set
 *                              overrides, except
 *                                rules=PATH     load these rules (file, folder or
 *                                               glob; repeatable) into the pipeline
 *                                classification=FILE  their classification.config
 *                                maxrules=N     keep N of the loaded rules, spread
 *                                               evenly over the load order
 *                                geo=DB[,DB]    the geo stage with these MMDB files
 *                                               ("geo=" alone: the stage without
 *                                               databases); without it, no geo stage
 *                              With rules, prints the rule count, compile time,
 *                              Hyperscan bytes and the RSS the engine added;
 *                              with stream reassembly on (stream.enabled, the
 *                              default), the bytes reassembled and its memory.
 *                              With redis.enabled=yes (and redis.port=...,
 *                              redis.spool-dir=...) the Redis writer runs beside
 *                              the pipeline, as in the sensor: the worker counts
 *                              tallies, the writer's thread flushes them; its
 *                              commands and round trips are printed.
 *   bench events N DIR         encodes N flow events (JSON encoder alone), then
 *                              hands N to the output layer writing DIR/eve.json
 *                              (queue, exporter thread, eve-file): events/s of each
 *   bench pick-rules OUT N PATH...
 *                              writes to OUT the source lines of N of the rules
 *                              of PATH... that load, spread evenly (a rule set
 *                              of a given size for the reload benchmark)
 *   bench geolookup FILE DB[,DB] [N]
 *                              the addresses of FILE's packets that are not
 *                              internal, looked up N times in all (default
 *                              2,000,000) in capture order: without the cache,
 *                              then through the per-worker cache (geoip.cache-size
 *                              default); prints lookups/s and the hit rate
 *
 * Compare with ../shared/bench/pcapread (the bare libpcap read loop) on the
 * same file; tests/bench/run.sh does both.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "dispatch.h"
#include "decode.h"
#include "detect.h"
#include "eve.h"
#include "json.h"
#include "geo.h"
#include "rule-load.h"
#include "rule-parse.h"
#include "output.h"
#include "tally-flush.h"
#include "stream.h"
#include "util.h"
#include "worker.h"

struct frame {
    uint64_t ts;
    uint32_t caplen, wirelen;
    uint32_t off;            /* into the arena */
};

struct capfile {
    int dlt;
    struct frame *f;
    size_t n, cap;
    uint8_t *arena;
    size_t used, size;
    int in_table;            /* the arena is lw_table_alloc'ed (huge pages), not malloc'ed */
};

/* Moves the loaded arena to lw_table_alloc memory: 2 MiB-aligned and
 * advised for transparent huge pages. The arena is the benchmark's
 * stand-in for the capture buffer: on 4 KiB pages nearly every frame costs
 * the decode stage a TLB miss (a frame is ~1.5 KB, the arena hundreds of
 * MB), which is harness cost, not pipeline cost, and varies from run to
 * run on a VM. Where huge pages cannot be had (THP off, AddressSanitizer)
 * the copy is ordinary memory and nothing else changes. */
static void capfile_to_huge(struct capfile *cf)
{
    uint8_t *a;

    if (cf->used == 0 || (a = lw_table_alloc(cf->used)) == NULL)
        return;
    memcpy(a, cf->arena, cf->used);
    free(cf->arena);
    cf->arena = a;
    cf->in_table = 1;
}

static void capfile_free_arena(struct capfile *cf)
{
    if (cf->in_table)
        lw_table_free(cf->arena, cf->used);
    else
        free(cf->arena);
    cf->arena = NULL;
}

static int capfile_load(const char *path, struct capfile *cf)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    struct pcap_pkthdr *h;
    const u_char *d;

    if (!p) {
        fprintf(stderr, "bench: %s: %s\n", path, ebuf);
        return -1;
    }
    memset(cf, 0, sizeof *cf);
    cf->dlt = pcap_datalink(p);
    while (pcap_next_ex(p, &h, &d) == 1) {
        if (cf->n == cf->cap) {
            cf->cap = cf->cap ? cf->cap * 2 : 4096;
            cf->f = realloc(cf->f, cf->cap * sizeof *cf->f);
        }
        if (cf->used + h->caplen > cf->size) {
            cf->size = cf->size ? cf->size * 2 : (1u << 24);
            while (cf->size < cf->used + h->caplen)
                cf->size *= 2;
            cf->arena = realloc(cf->arena, cf->size);
        }
        if (!cf->f || !cf->arena) {
            fprintf(stderr, "bench: out of memory\n");
            exit(1);
        }
        memcpy(cf->arena + cf->used, d, h->caplen);
        cf->f[cf->n++] = (struct frame){
            .ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec,
            .caplen = h->caplen, .wirelen = h->len, .off = (uint32_t)cf->used,
        };
        cf->used += h->caplen;
    }
    pcap_close(p);
    capfile_to_huge(cf);
    return 0;
}

/* Shifts both IPv4 addresses of the outermost IP header by k, so each copy is
 * a new set of flows with the same shape. Non-IPv4 frames are left alone. */
static void shift_addresses(struct decoder *dc, uint8_t *data, const struct frame *fr, unsigned k)
{
    struct packet p;

    if (decode_packet(dc, &p, data, fr->caplen, fr->wirelen, fr->ts) != DECODE_OK || p.ip_version != 4 ||
        (p.flags & PKT_F_REASSEMBLED) || p.tunnel.depth)
        return;
    uint8_t *ip = data + (p.l3 - data);
    for (int a = 12; a <= 16; a += 4) {
        uint32_t v = lw_get32(ip + a) + k;
        ip[a] = (uint8_t)(v >> 24); ip[a + 1] = (uint8_t)(v >> 16);
        ip[a + 2] = (uint8_t)(v >> 8); ip[a + 3] = (uint8_t)v;
    }
}

static void dump_frame(pcap_dumper_t *dump, const struct frame *fr, const uint8_t *d, uint64_t ts)
{
    struct pcap_pkthdr h = {
        .ts = { .tv_sec = (time_t)(ts / 1000000u), .tv_usec = (suseconds_t)(ts % 1000000u) },
        .caplen = fr->caplen, .len = fr->wirelen,
    };

    pcap_dump((u_char *)dump, &h, d);
}

static int cmd_replicate(const char *in, const char *out, unsigned n, int overlap)
{
    struct capfile cf;
    struct decoder dc;
    pcap_t *dead;
    pcap_dumper_t *dump;
    uint64_t span;
    uint8_t *tmp = malloc(262144);

    if (!tmp || capfile_load(in, &cf) < 0 || cf.n == 0)
        return 1;
    span = cf.f[cf.n - 1].ts - cf.f[0].ts + 1000000u;
    dead = pcap_open_dead(cf.dlt, 262144);
    dump = pcap_dump_open(dead, out);
    if (!dump) {
        fprintf(stderr, "bench: %s: %s\n", out, pcap_geterr(dead));
        return 1;
    }
    decoder_init(&dc, cf.dlt, NULL);
    if (overlap) {
        /* Packet by packet, every copy in turn, copy k k microseconds later:
         * time keeps going forward, as on a link N times as busy. */
        for (size_t i = 0; i < cf.n; i++) {
            const struct frame *fr = &cf.f[i];
            for (unsigned k = 0; k < n; k++) {
                memcpy(tmp, cf.arena + fr->off, fr->caplen);
                if (k > 0)
                    shift_addresses(&dc, tmp, fr, k);
                dump_frame(dump, fr, tmp, fr->ts + k);
            }
        }
    } else {
        for (unsigned k = 0; k < n; k++) {
            for (size_t i = 0; i < cf.n; i++) {
                const struct frame *fr = &cf.f[i];
                uint8_t *d = cf.arena + fr->off;
                if (k > 0)
                    shift_addresses(&dc, d, fr, 1);   /* cumulative: copy k is shifted by k */
                dump_frame(dump, fr, d, fr->ts + k * span);
            }
        }
    }
    decoder_destroy(&dc);
    pcap_dump_close(dump);
    pcap_close(dead);
    free(tmp);
    free(cf.f);
    capfile_free_arena(&cf);
    return 0;
}

/* CPU time of this thread: on a machine busy with other work it says more
 * than the wall clock. */
static uint64_t cpu_usec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Keeps `keep` rules of l, evenly spaced over the load order. */
static void thin_rules(struct rule_list *l, size_t keep)
{
    size_t n = 0;

    if (keep >= l->n)
        return;
    for (size_t i = 0; i < l->n; i++) {
        if (keep && (i * keep) / l->n != ((i + 1) * keep) / l->n)
            l->v[n++] = l->v[i];
        else
            rule_free(l->v[i]);
    }
    l->n = n;
}

static struct detect_engine *bench_rules(const struct lw_config *cfg, const char **paths, size_t np,
                                         const char *classes, size_t maxrules)
{
    struct rule_load_report rep;
    struct detect_engine_stats st;
    struct detect_engine *e;
    char err[512];
    int64_t rss0 = lw_rss_bytes();
    struct rule_list *l = ruleset_load_files(paths, np, cfg, classes, &rep);

    if (!l)
        return NULL;
    thin_rules(l, maxrules ? maxrules : l->n);
    e = detect_compile(l, err, sizeof err);
    if (!e) {
        fprintf(stderr, "bench: %s\n", err);
        rule_load_report_free(&rep);
        return NULL;
    }
    detect_engine_stats(e, &st);
    fprintf(stderr, "rules: %zu loaded (%zu failed), %zu used; load %.2f s, compile %.2f s, "
            "%zu groups, %zu fast patterns, %zu IP-only, %zu on the TCP stream (+%zu also on "
            "packets), Hyperscan %.1f MB, engine RSS +%ld MB\n",
            rep.loaded, rep.failed, st.rules, rep.usec / 1e6, st.compile_usec / 1e6, st.groups,
            st.patterns, st.iponly, st.stream, st.stream_both, st.db_bytes / 1048576.0,
            (long)((lw_rss_bytes() - rss0) >> 20));
    rule_load_report_free(&rep);
    return e;
}

/* Splits "a,b,c" in place into at most max paths. */
static size_t split_paths(char *s, const char **out, size_t max)
{
    size_t n = 0;

    for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ","))
        out[n++] = tok;
    return n;
}

static struct geo *bench_geo(const struct lw_config *cfg, char *dbs)
{
    const char *paths[GEO_MAX_DATABASES];
    size_t n = split_paths(dbs, paths, GEO_MAX_DATABASES);
    char err[512];
    struct geo *g = geo_open(cfg, paths, n, err, sizeof err);

    if (!g)
        fprintf(stderr, "bench: %s\n", err);
    return g;
}

static int cmd_pipeline(const char *path, unsigned rounds, char **extra, int nextra)
{
    const char *rpaths[16];
    const char *classes = NULL;
    size_t nrpaths = 0, maxrules = 0;
    struct detect_engine *de = NULL;
    struct geo *geo = NULL;
    char *geodbs = NULL;
    struct capfile cf;
    struct lw_config cfg;
    struct worker w;
    struct dispatch d;
    struct output *out;
    struct tally_flush *rd = NULL;
    struct redis_stats rst;
    char err[512];
    char *sets[16] = { "outputs.eve-file.enabled=no" };
    size_t nsets = 1;
    uint64_t t0, t1, c0, c1, pkts = 0, bytes = 0;

    for (int i = 0; i < nextra; i++) {
        if (strncmp(extra[i], "rules=", 6) == 0 && nrpaths < 16)
            rpaths[nrpaths++] = extra[i] + 6;
        else if (strncmp(extra[i], "classification=", 15) == 0)
            classes = extra[i] + 15;
        else if (strncmp(extra[i], "maxrules=", 9) == 0)
            maxrules = strtoul(extra[i] + 9, NULL, 10);
        else if (strncmp(extra[i], "geo=", 4) == 0)
            geodbs = extra[i] + 4;
        else if (nsets < 16)
            sets[nsets++] = extra[i];
    }
    if (capfile_load(path, &cf) < 0)
        return 1;
    if (config_load(&cfg, NULL, sets, nsets, err, sizeof err) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    out = output_open(&cfg, ".", err, sizeof err);
    /* One worker, run inline by the capture stage: the sensor's path for
     * workers 1. */
    if (!out || worker_init(&w, 0, &cfg, out, err, sizeof err) < 0 ||
        dispatch_init(&d, &w, 1, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    dispatch_set_datalink(&d, cf.dlt);
    if (geodbs) {
        geo = bench_geo(&cfg, geodbs);
        if (!geo || worker_set_geo(&w, geo, err, sizeof err) < 0)
            return 1;
    }
    if (nrpaths) {
        de = bench_rules(&cfg, rpaths, nrpaths, classes, maxrules);
        if (!de || worker_set_detect(&w, de, NULL, err, sizeof err) < 0)
            return 1;
    }
    if (cfg.redis.enabled && (!(rd = tally_flush_new(&cfg, out, err, sizeof err)) ||
                              tally_flush_add_tally(rd, w.tally) < 0 || tally_flush_add_tally(rd, d.tally) < 0)) {
        fprintf(stderr, "bench: redis: %s\n", err);
        return 1;
    }
    if (dispatch_start(&d, err, sizeof err) < 0)
        return 1;
    t0 = lw_now_mono_usec();
    c0 = cpu_usec();
    for (unsigned r = 0; r < rounds; r++) {
        for (size_t i = 0; i < cf.n; i++) {
            const struct frame *fr = &cf.f[i];
            dispatch_packet(&d, cf.arena + fr->off, fr->caplen, fr->wirelen, fr->ts);
            bytes += fr->wirelen;
        }
        pkts += cf.n;
    }
    dispatch_finish(&d, FLOW_END_SHUTDOWN);
    c1 = cpu_usec();
    t1 = lw_now_mono_usec();
    if (rd) {
        output_flush(out);
        tally_flush_finish(rd, w.now);
    }
    double secs = (double)(t1 - t0) / 1e6, cpu = (double)(c1 - c0) / 1e6;
    const struct flow_stats *fs = flow_table_stats(w.flows);
    printf("%s: %llu packets, %llu flows, %.3f s, %.0f packets/s, %.1f ns/packet, %.2f Gbit/s, "
           "cpu %.3f s (%.0f packets/cpu-s)",
           path, (unsigned long long)pkts, (unsigned long long)fs->created, secs, pkts / secs,
           secs * 1e9 / (double)pkts, bytes * 8 / secs / 1e9, cpu, pkts / cpu);
    if (de)
        printf(", %llu alerts", (unsigned long long)w.st.alerts);
    if (rd) {
        tally_flush_stats(rd, &rst);
        printf(", redis %llu commands, %llu round trips (%.0f/s, %.0f/s), %llu flushes",
               (unsigned long long)rst.commands, (unsigned long long)rst.round_trips,
               rst.commands / secs, rst.round_trips / secs, (unsigned long long)rst.flushes);
    }
    if (w.geo) {
        const struct geo_stats *gs = geo_thread_stats(w.geo);
        printf(", geo: %llu flows, %llu lookups, %llu cache hits",
               (unsigned long long)gs->flows, (unsigned long long)gs->lookups,
               (unsigned long long)gs->cache_hits);
    }
    if (w.stream) {
        const struct stream_stats *ss = stream_ctx_stats(w.stream);

        printf(", stream %.1f MB reassembled, %llu gaps, memory max %.1f MB",
               ss->reassembled / 1048576.0, (unsigned long long)ss->gaps, ss->memuse_max / 1048576.0);
    }
    printf("\n");
    tally_flush_free(rd);
    worker_destroy(&w);
    dispatch_destroy(&d);
    geo_close(geo);
    detect_engine_free(de);
    output_close(out);
    config_free(&cfg);
    free(cf.f);
    capfile_free_arena(&cf);
    return 0;
}

/* The text of line `line` of file path (one-line rules: ET Open writes
 * each rule on one line). Returns 0 when found. */
static int source_line(const char *path, uint32_t line, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    uint32_t n = 0;
    int rc = -1;

    if (!f)
        return -1;
    while (fgets(buf, (int)len, f))
        if (++n == line) {
            rc = 0;
            break;
        }
    fclose(f);
    return rc;
}

static int cmd_pick_rules(const char *out, size_t n, const char **paths, size_t np)
{
    struct rule_load_report rep;
    struct lw_config cfg;
    char err[256];
    static char line[65536];
    struct rule_list *l;
    FILE *f;
    size_t written = 0;

    if (config_load(&cfg, NULL, NULL, 0, err, sizeof err) < 0)
        return 1;
    l = ruleset_load_files(paths, np, &cfg, NULL, &rep);
    if (!l || !(f = fopen(out, "w")))
        return 1;
    thin_rules(l, n);
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i]->file && source_line(l->v[i]->file, l->v[i]->line, line, sizeof line) == 0) {
            fputs(line, f);
            written++;
        }
    fclose(f);
    fprintf(stderr, "bench: %zu rules written to %s\n", written, out);
    rule_list_free(l);
    rule_load_report_free(&rep);
    config_free(&cfg);
    return written ? 0 : 1;
}

/* A flow with TLS-sized metadata strings to encode, made up but typical. */
static void bench_flow(struct flow *f, uint64_t i)
{
    memset(f, 0, sizeof *f);
    lw_addr_parse("10.1.2.3", &f->key.src);
    lw_addr_parse("203.0.113.77", &f->key.dst);
    f->key.sport = (uint16_t)(40000 + i % 20000);
    f->key.dport = 443;
    f->key.proto = 6;
    f->flow_id = 1000000 + i;
    f->first_ts = 1735700000000000ull + i * 1000;
    f->last_ts = f->first_ts + 2500000;
    f->pkts[0] = 12;
    f->pkts[1] = 14;
    f->bytes[0] = 1800;
    f->bytes[1] = 9600;
    f->tcp_state = FLOW_TCP_CLOSED;
    f->tcp_flags_ts = f->tcp_flags_tc = 0x1b;
    f->flags = FLOW_F_TOCLIENT_SEEN;
    f->end_reason = FLOW_END_TCP_CLOSED;
}

static int cmd_events(uint64_t n, const char *dir)
{
    struct lw_config cfg;
    struct output *out;
    struct jbuf j;
    struct flow f;
    char err[512];
    char *sets[] = { "metrics.enabled=no" };
    uint64_t t0, t1, bytes = 0;

    if (config_load(&cfg, NULL, sets, 1, err, sizeof err) < 0 ||
        !(out = output_open(&cfg, dir, err, sizeof err))) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    jbuf_init(&j);
    t0 = lw_now_mono_usec();
    for (uint64_t i = 0; i < n; i++) {
        bench_flow(&f, i);
        jbuf_reset(&j);
        eve_flow_event(&j, &(struct eve_ctx){ .sensor_id = "bench" }, &f, NULL);
        bytes += j.len;
    }
    t1 = lw_now_mono_usec();
    printf("JSON encoder: %llu flow events, %.0f events/s, %.0f ns/event, %.0f MB/s\n",
           (unsigned long long)n, n / ((t1 - t0) / 1e6), (t1 - t0) * 1e3 / n, bytes / ((t1 - t0) / 1e6) / 1e6);
    t0 = lw_now_mono_usec();
    for (uint64_t i = 0; i < n; i++) {
        bench_flow(&f, i);
        jbuf_reset(&j);
        eve_flow_event(&j, &(struct eve_ctx){ .sensor_id = "bench" }, &f, NULL);
        output_event(out, EVT_FLOW, j.buf, j.len);
    }
    output_flush(out);
    t1 = lw_now_mono_usec();
    {
        struct output_exporter_stats xs;

        output_exporters(out, &xs, 1);
        printf("encoder + eve-file: %llu events, %.0f events/s, %.0f ns/event (written %llu, dropped %llu)\n",
               (unsigned long long)n, n / ((t1 - t0) / 1e6), (t1 - t0) * 1e3 / n,
               (unsigned long long)xs.written, (unsigned long long)xs.dropped);
    }
    jbuf_free(&j);
    output_close(out);
    config_free(&cfg);
    return 0;
}

/* Times n lookups of addrs (in order, round robin) on t. */
static double time_lookups(struct geo_thread *t, const struct lw_addr *addrs, size_t na, size_t n,
                           int cached, size_t *found)
{
    struct geo_ep ep;
    uint64_t t0 = lw_now_mono_usec();

    *found = 0;
    for (size_t i = 0; i < n; i++) {
        if (cached)
            geo_lookup(t, &addrs[i % na], &ep);
        else
            geo_lookup_nocache(t, &addrs[i % na], &ep);
        *found += ep.cc[0] != '\0';
    }
    return (double)(lw_now_mono_usec() - t0) / 1e6;
}

static int addr_cmp(const void *a, const void *b)
{
    return lw_addr_cmp(a, b);
}

static int cmd_geolookup(const char *path, char *dbs, size_t n)
{
    struct capfile cf;
    struct lw_config cfg;
    struct decoder dc;
    struct geo *g;
    struct geo_thread *t;
    struct geo_ep ep;
    struct lw_addr *addrs, *sorted;
    size_t na = 0, distinct = 0, found;
    char err[512];
    double secs;

    if (capfile_load(path, &cf) < 0)
        return 1;
    if (config_load(&cfg, NULL, NULL, 0, err, sizeof err) < 0 || (g = bench_geo(&cfg, dbs)) == NULL)
        return 1;
    t = geo_thread_new(g, 0);
    addrs = malloc(2 * cf.n * sizeof *addrs);
    if (!t || !addrs) {
        fprintf(stderr, "bench: out of memory\n");
        return 1;
    }
    geo_thread_quiescent(t);
    decoder_init(&dc, cf.dlt, NULL);
    for (size_t i = 0; i < cf.n; i++) {
        struct packet p;
        if (decode_packet(&dc, &p, cf.arena + cf.f[i].off, cf.f[i].caplen, cf.f[i].wirelen,
                          cf.f[i].ts) != DECODE_OK)
            continue;
        const struct lw_addr *two[2] = { &p.src, &p.dst };
        for (int k = 0; k < 2; k++) {
            geo_lookup_nocache(t, two[k], &ep);
            if (!(ep.flags & GEO_EP_INTERNAL))
                addrs[na++] = *two[k];
        }
    }
    decoder_destroy(&dc);
    if (na == 0) {
        fprintf(stderr, "bench: no address outside the internal ranges in %s\n", path);
        return 1;
    }
    sorted = malloc(na * sizeof *sorted);
    if (sorted) {
        memcpy(sorted, addrs, na * sizeof *sorted);
        qsort(sorted, na, sizeof *sorted, addr_cmp);
        for (size_t i = 0; i < na; i++)
            distinct += i == 0 || lw_addr_cmp(&sorted[i], &sorted[i - 1]) != 0;
        free(sorted);
    }
    printf("%zu database(s), %zu addresses (%zu distinct) from %s\n", geo_database_count(g), na,
           distinct, path);
    secs = time_lookups(t, addrs, na, n, 0, &found);
    printf("%-24s %zu lookups, %.3f s, %.0f lookups/s, %.0f ns/lookup, %.1f%% with a country\n",
           "geo lookup, no cache", n, secs, n / secs, secs * 1e9 / (double)n, 100.0 * found / n);
    {
        const struct geo_stats *gs = geo_thread_stats(t);
        uint64_t h0 = gs->cache_hits;
        secs = time_lookups(t, addrs, na, n, 1, &found);
        printf("%-24s %zu lookups, %.3f s, %.0f lookups/s, %.0f ns/lookup, %.1f%% cache hits "
               "(cache %u entries)\n", "geo lookup, cached", n, secs, n / secs, secs * 1e9 / (double)n,
               100.0 * (double)(gs->cache_hits - h0) / (double)n, cfg.geoip.cache_size);
    }
    geo_thread_free(t);
    geo_close(g);
    config_free(&cfg);
    free(addrs);
    free(cf.f);
    capfile_free_arena(&cf);
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "replicate") == 0)
        return cmd_replicate(argv[2], argv[3], (unsigned)atoi(argv[4]),
                             argc == 6 && strcmp(argv[5], "overlap") == 0);
    if (argc >= 3 && strcmp(argv[1], "pipeline") == 0)
        return cmd_pipeline(argv[2], argc >= 4 ? (unsigned)atoi(argv[3]) : 1,
                            argv + 4, argc > 4 ? argc - 4 : 0);
    if (argc == 4 && strcmp(argv[1], "events") == 0)
        return cmd_events(strtoull(argv[2], NULL, 10), argv[3]);
    if (argc >= 5 && strcmp(argv[1], "pick-rules") == 0)
        return cmd_pick_rules(argv[2], strtoul(argv[3], NULL, 10), (const char **)argv + 4,
                              (size_t)argc - 4);

    if ((argc == 4 || argc == 5) && strcmp(argv[1], "geolookup") == 0)
        return cmd_geolookup(argv[2], argv[3], argc == 5 ? strtoul(argv[4], NULL, 10) : 2000000);
    fprintf(stderr, "usage: bench replicate IN OUT N [overlap] | bench pipeline FILE [ROUNDS] [key=value ...] |\n"
                    "       bench geolookup FILE DB[,DB] [N] | bench events N DIR | bench pick-rules OUT N PATH...\n");
    return 2;
}
