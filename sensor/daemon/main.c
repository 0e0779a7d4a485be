/* main.c - the linkwatch daemon: command line, set-up, the capture loop and
 * an orderly shutdown. Command-line letters follow Suricata's. */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autoconf.h"
#include "capture.h"
#include "config.h"
#include "control.h"
#include "detect.h"
#include "eve.h"
#include "geo.h"
#include "log.h"
#include "metrics.h"
#include "output.h"
#include "build-info.h"
#include "privileges.h"
#include "rule-paths.h"
#include "redis.h"
#include "reload.h"
#include "rule-parse.h"
#include "ruleset.h"
#include "stream.h"
#include "threshold.h"
#include "util.h"
#include "worker.h"
#include "dispatch.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reopen_requested;

struct options {
    const char *config_path;
    const char *logdir;
    const char *iface;
    const char *bpf;
    char **reads;  size_t nreads;
    char **sets;   size_t nsets;
    char **rule_files; size_t nrule_files;
    int test_only;
    int verbose;
};

struct sensor {
    struct lw_config cfg;
    struct output *out;
    struct redis *redis;           /* the Redis writer (owned by out); NULL when off */
    double redis_drain_secs;       /* how long its final drain took */
    struct worker *workers;        /* [nworkers] */
    unsigned nworkers;
    struct dispatch disp;          /* capture thread -> workers */
    struct geo_merge *geo_merge;   /* workers > 1: their geo summaries made one */
    struct threshold_ctx *shared_th;   /* workers > 1: by_src/by_dst/by_rule threshold keys */
    struct reload_state reload;    /* the rule sets, start-up load and reloads */
    int reload_ready;
    struct control *control;       /* linkwatchctl, SIGHUP, rules.watch */
    struct metrics *metrics;       /* /metrics, NULL when off */
    struct geo *geo;               /* geolocation databases (shared by the workers) */
    struct privileges priv;        /* privileges.*: who we become once the capture is open */
    struct capture_stats cap;
    struct jbuf jb;
    uint64_t start_mono;
    uint64_t next_stats;       /* event time of the next stats event */
    uint64_t last_ts;          /* capture time of the latest packet */
    int live;
    int errors;                /* files refused or cut short */
    int fatal;                 /* could not drop privileges: stop */
};

static void usage(FILE *fp)
{
    fputs(
"usage: linkwatch [-c linkwatch.yaml] (-r FILE|DIR ... | -i IFACE) [-l LOGDIR]\n"
"                 [-S RULEFILE ...] [-T] [-f BPF] [-v] [--set key.path=value ...]\n"
"\n"
"  -c FILE          configuration (default: built-in, same as the shipped linkwatch.yaml)\n"
"  -r FILE|DIR      read capture files (pcap, pcapng); a folder reads its *.pcap, *.pcapng, *.cap\n"
"                   in name order; may be given several times\n"
"  -i IFACE         capture live on an interface (mirror/SPAN port)\n"
"  -l LOGDIR        folder for eve.json and other outputs (default: default-log-dir)\n"
"  -S RULEFILE      load only these rule files instead of rules.files (may repeat)\n"
"  -T               check the configuration and rule files, then exit (0 when valid)\n"
"  -f BPF           BPF capture filter (overrides capture.bpf)\n"
"  -v               more messages (repeat for debug)\n"
"  --workers N      worker threads (default: workers in the config; 0 = CPUs - 1)\n"
"  --set k.p=value  override any configuration key; value is YAML (e.g. --set home-net=[10.0.0.0/8])\n"
"  -V, --version    print the version\n"
"  --build-info     print the version, compiler flags and library versions\n"
"  -h, --help       this text\n"
"\n"
"Signals: SIGINT/SIGTERM stop and flush every open flow; SIGUSR1 reopens log files;\n"
"SIGHUP reloads rule files.\n", fp);
}

static int push_arg(char ***v, size_t *n, char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    nv[(*n)++] = s;
    *v = nv;
    return 0;
}

/* Returns 0 to go on, 1 to exit 0 (help, version), -1 to exit 1. */
static int parse_args(int argc, char **argv, struct options *o)
{
    enum { OPT_SET = 256, OPT_WORKERS, OPT_BUILD_INFO };
    static const struct option longopts[] = {
        { "set", required_argument, NULL, OPT_SET },
        { "workers", required_argument, NULL, OPT_WORKERS },
        { "build-info", no_argument, NULL, OPT_BUILD_INFO },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    while ((c = getopt_long(argc, argv, "c:r:i:l:S:Tf:vVh", longopts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'c': o->config_path = optarg; break;
        case 'r': rc = push_arg(&o->reads, &o->nreads, optarg); break;
        case 'i': o->iface = optarg; break;
        case 'l': o->logdir = optarg; break;
        case 'S': rc = push_arg(&o->rule_files, &o->nrule_files, optarg); break;
        case 'T': o->test_only = 1; break;
        case 'f': o->bpf = optarg; break;
        case 'v': o->verbose++; break;
        case OPT_SET:
            if (!strchr(optarg, '=')) {
                fprintf(stderr, "linkwatch: error: --set %s: expected key.path=value\n", optarg);
                return -1;
            }
            rc = push_arg(&o->sets, &o->nsets, optarg);
            break;
        case OPT_WORKERS: {
            /* --workers N is --set workers=N (the config check applies). */
            static char set[64];

            snprintf(set, sizeof set, "workers=%s", optarg);
            rc = push_arg(&o->sets, &o->nsets, set);
            break;
        }
        case 'V': printf("linkwatch %s\n", PACKAGE_VERSION); return 1;
        case OPT_BUILD_INFO: build_info_print(stdout); return 1;
        case 'h': usage(stdout); return 1;
        default:
            fprintf(stderr, "linkwatch: error: bad command line (see linkwatch --help)\n");
            return -1;
        }
        if (rc < 0) {
            fprintf(stderr, "linkwatch: error: out of memory\n");
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "linkwatch: error: unexpected argument '%s' (see linkwatch --help)\n", argv[optind]);
        return -1;
    }
    if (!o->test_only && !o->nreads && !o->iface) {
        fprintf(stderr, "linkwatch: error: nothing to read: give -r FILE|DIR or -i IFACE (see linkwatch --help)\n");
        return -1;
    }
    if (o->nreads && o->iface) {
        fprintf(stderr, "linkwatch: error: -r and -i cannot be used together\n");
        return -1;
    }
    return 0;
}

static void on_stop(int sig)
{
    stop_requested = 1;
    capture_interrupt();
}
static volatile sig_atomic_t control_running;

/* The control thread reopens the logs at once, even while capture waits for
 * packets; without it, the capture loop does between packets. */
static void on_reopen(int sig)
{
    if (control_running)
        control_request_reopen();
    else
        reopen_requested = 1;
}
static void on_reload(int sig) { control_request_reload(); }

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* Reopen and reload are handled elsewhere: they must not cut a read short. */
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_reopen;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_reload;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_flags = 0;
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static void emit_stats(struct sensor *s, uint64_t ts)
{
    struct flow_stats fs;
    struct dpi_stats ds;
    struct geo_stats gs;
    struct stream_stats ss;
    int have_geo = dispatch_geo_stats(&s->disp, &gs), have_stream = dispatch_stream_stats(&s->disp, &ss);
    struct eve_stats_src src = {
        .ts_usec = ts,
        .uptime_sec = (lw_now_mono_usec() - s->start_mono) / 1000000u,
        .capture = &s->cap,
        .decode = dispatch_decode_stats(&s->disp),
        .flow = &fs,
        .dpi = s->cfg.dpi.enabled ? &ds : NULL,
        .geo = have_geo ? &gs : NULL,
        .stream = have_stream ? &ss : NULL,
    };

    dispatch_flow_stats(&s->disp, &fs);
    dispatch_dpi_stats(&s->disp, &ds);

    if (!output_wants(s->out, EVT_STATS))
        return;
    jbuf_reset(&s->jb);
    eve_stats_event(&s->jb, s->cfg.sensor_id, &src);
    if (jbuf_ok(&s->jb))
        output_event(s->out, EVT_STATS, s->jb.buf, s->jb.len);
}

/* Stats come every stats.interval seconds: of capture time when reading
 * files (so a replay reports as the link would have), of wall time live. */
static void maybe_stats(struct sensor *s, uint64_t now)
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
    emit_stats(s, now);
    s->next_stats = now + step;
}

/* ---- Redis (issue 6): the sensor's counters for the Redis writer. */
static void redis_health(struct sensor *s)
{
    struct flow_stats f;
    struct redis_health h;

    dispatch_flow_stats(&s->disp, &f);
    h = (struct redis_health){
        .ts_usec = s->last_ts, .packets = s->cap.packets, .bytes = s->cap.bytes,
        .drops = s->cap.kernel_drops + s->cap.kernel_ifdrops,
        .flows_active = f.active, .flows_created = f.created, .alerts = dispatch_alerts(&s->disp),
    };

    redis_set_health(s->redis, &h);
}
/* ---- end Redis */

static void handle_signals(struct sensor *s)
{
    if (reopen_requested) {
        reopen_requested = 0;
        if (output_reopen(s->out) == 0)
            log_info("log files reopened");
    }
}

/* Rule, threshold and classification files are read again on every
 * reload, now as the unprivileged user: say so at once when it cannot. */
static void check_readable_after_drop(const struct sensor *s)
{
    const struct reload_state *r = &s->reload;
    const char *extra[2] = { r->src.threshold_file, r->src.classification };

    for (size_t i = 0; i < r->src.npaths + 2; i++) {
        const char *p = i < r->src.npaths ? r->src.paths[i] : extra[i - r->src.npaths];

        glob_t g;

        if (!p || !p[0] || glob(p, GLOB_NOCHECK, NULL, &g) != 0)
            continue;
        for (size_t k = 0; k < g.gl_pathc; k++)
            if (access(g.gl_pathv[k], R_OK) < 0)
                log_warning("privileges: %s: not readable as %s (%s): rule reloads will fail",
                            g.gl_pathv[k], s->priv.user, strerror(errno));
        globfree(&g);
    }
}

/* Called once a capture is open and before its first packet is parsed.
 * Returns 0, or -1 (logged; s->fatal set) when the drop failed. */
static int drop_privileges(struct sensor *s)
{
    char err[512];

    if (!s->priv.drop || s->priv.dropped)
        return 0;
    if (privileges_drop(&s->priv, err, sizeof err) < 0) {
        log_error("%s", err);
        s->fatal = 1;
        return -1;
    }
    check_readable_after_drop(s);
    return 0;
}

/* Runs one source to its end (or until stopped). Returns 0, or -1 when the
 * source failed part-way (reason already logged). */
static int run_source(struct sensor *s, struct capture *c)
{
    char err[512];
    const uint8_t *data;
    uint32_t caplen, wirelen;
    uint64_t ts;
    int may_block = capture_may_block(c);

    dispatch_set_datalink(&s->disp, capture_datalink(c));
    while (!stop_requested) {
        int rc;

        /* A read that may block: reloads need not wait for us, and the
         * workers get what is queued. A regular file does not block: the
         * queues are published batch by batch. */
        if (may_block)
            dispatch_offline(&s->disp);
        rc = capture_next(c, &data, &caplen, &wirelen, &ts, err, sizeof err);
        if (rc == 1) {
            /* read by the control thread's stats command */
            __atomic_store_n(&s->cap.packets, s->cap.packets + 1, __ATOMIC_RELAXED);
            __atomic_store_n(&s->cap.bytes, s->cap.bytes + wirelen, __ATOMIC_RELAXED);
            if (ts > s->last_ts)
                s->last_ts = ts;
            dispatch_packet(&s->disp, data, caplen, wirelen, ts);
            if (!s->live)
                maybe_stats(s, s->last_ts);
        } else if (rc == 0) {
            /* live read timed out: a chance for wall-clock work */
            dispatch_idle(&s->disp);
        } else if (rc == -1) {
            break;
        } else {
            log_error("%s", err);
            return -1;
        }
        if (s->live) {
            capture_kernel_stats(c, &s->cap);
            maybe_stats(s, lw_now_real_usec());
        }
        handle_signals(s);
        if (s->redis && redis_health_wanted(s->redis))
            redis_health(s);
    }
    return 0;
}

static int run_files(struct sensor *s, const struct options *o)
{
    char err[512];
    char **paths;
    int n = capture_expand_paths(o->reads, o->nreads, &paths, err, sizeof err);

    if (n < 0) {
        log_error("%s", err);
        return -1;
    }
    for (int i = 0; i < n && !stop_requested; i++) {
        struct capture *c = capture_open_file(paths[i], o->bpf, err, sizeof err);
        if (!c) {
            log_error("%s", err);
            s->cap.file_errors++;
            s->errors++;
            continue;
        }
        s->cap.files++;
        if (drop_privileges(s) < 0) {
            capture_close(c);
            break;
        }
        if (run_source(s, c) < 0) {
            s->cap.file_errors++;
            s->errors++;
        }
        capture_close(c);
    }
    capture_free_paths(paths);
    return 0;
}

static int run_live(struct sensor *s, const struct options *o)
{
    char err[512];
    struct capture *c = capture_open_live(o->iface, &s->cfg, o->bpf, err, sizeof err);

    if (!c) {
        log_error("%s", err);
        return -1;
    }
    if (drop_privileges(s) < 0) {
        capture_close(c);
        return -1;
    }
    s->live = 1;
    log_info("capturing on %s", o->iface);
    if (run_source(s, c) < 0)
        s->errors++;
    capture_kernel_stats(c, &s->cap);
    capture_close(c);
    return 0;
}

static void print_stream_summary(const struct stream_stats *st)
{
    printf("  stream: %llu bytes reassembled, %llu gaps (%llu bytes), overlaps %llu same / %llu "
           "different data, depth reached %llu, evictions %llu, memory %llu (max %llu)\n",
           (unsigned long long)st->reassembled, (unsigned long long)st->gaps,
           (unsigned long long)st->gap_bytes, (unsigned long long)st->overlaps_same,
           (unsigned long long)st->overlaps_diff, (unsigned long long)st->depth_reached,
           (unsigned long long)st->evictions, (unsigned long long)st->memuse,
           (unsigned long long)st->memuse_max);
}

/* With several workers: how the packets were shared out and how busy each
 * stage was, to see which one holds the others up. */
static void print_worker_summary(const struct sensor *s)
{
    printf("  workers: %u; capture thread busy %.3f s (decode and dispatch)\n", s->nworkers,
           (double)dispatch_busy_ns(&s->disp) / 1e9);
    for (unsigned i = 0; i < s->nworkers; i++) {
        struct worker_stage_stats st;

        dispatch_stage_stats(&s->disp, i, &st);
        printf("    worker %u: %llu packets, busy %.3f s, queue full %llu times (%.3f s waited), "
               "threshold order waits %llu (%.3f s)\n", i,
               (unsigned long long)st.packets, (double)st.busy_ns / 1e9,
               (unsigned long long)st.full_waits, (double)st.full_wait_ns / 1e9,
               (unsigned long long)st.order_waits, (double)st.order_wait_ns / 1e9);
    }
}

static void print_summary(struct sensor *s, const char *logdir, double secs)
{
    const struct decode_stats *d = dispatch_decode_stats(&s->disp);
    struct flow_stats fs;
    const struct flow_stats *f = &fs;
    struct stream_stats ss;
    struct geo_stats gs;
    int any = 0;

    dispatch_flow_stats(&s->disp, &fs);

    printf("linkwatch: %llu packets, %llu bytes in %.3f s (%.0f packets/s)\n",
           (unsigned long long)s->cap.packets, (unsigned long long)s->cap.bytes, secs,
           secs > 0 ? (double)s->cap.packets / secs : 0.0);
    if (s->live)
        printf("  capture: kernel received %llu, dropped %llu, interface dropped %llu\n",
               (unsigned long long)s->cap.kernel_packets, (unsigned long long)s->cap.kernel_drops,
               (unsigned long long)s->cap.kernel_ifdrops);
    printf("  decoded:");
    for (int i = 0; i < DECODE_LAYER_MAX; i++)
        if (d->layer[i])
            printf(" %s %llu", decode_layer_name((enum decode_layer)i), (unsigned long long)d->layer[i]);
    printf("\n  invalid: %llu", (unsigned long long)d->invalid);
    for (int i = 0; i < DE_MAX; i++) {
        if (!d->event[i])
            continue;
        printf("%s%s %llu", any ? ", " : " (", decode_event_name((enum decode_event)i),
               (unsigned long long)d->event[i]);
        any = 1;
    }
    printf("%s\n", any ? ")" : "");
    printf("  flows: %llu (tcp %llu, udp %llu, icmp %llu, other %llu); ended: timeout %llu, "
           "tcp-closed %llu, evicted %llu, shutdown %llu\n",
           (unsigned long long)f->created, (unsigned long long)f->tcp, (unsigned long long)f->udp,
           (unsigned long long)(f->icmpv4 + f->icmpv6), (unsigned long long)f->other,
           (unsigned long long)f->ended[FLOW_END_TIMEOUT], (unsigned long long)f->ended[FLOW_END_TCP_CLOSED],
           (unsigned long long)f->ended[FLOW_END_EVICTED], (unsigned long long)f->ended[FLOW_END_SHUTDOWN]);
    if (dispatch_stream_stats(&s->disp, &ss))
        print_stream_summary(&ss);
    {
        const struct ruleset *rs = s->reload_ready ? rules_slot_get(&s->reload.slot) : NULL;

        printf("  rules: %zu loaded, %zu failed (version %llu, %llu reload(s)); alerts: %llu\n",
               rs ? rs->rep.loaded : 0, rs ? rs->rep.failed : 0,
               (unsigned long long)(rs ? rs->version : 0), (unsigned long long)s->reload.reloads,
               (unsigned long long)dispatch_alerts(&s->disp));
    }
    if (s->nworkers > 1)
        print_worker_summary(s);
    if (dispatch_geo_stats(&s->disp, &gs)) {
        const struct geo_stats *g = &gs;
        printf("  geo: %zu database(s); %llu flows geolocated, %llu lookups, %llu cache hits, "
               "%llu internal\n", geo_database_count(s->geo), (unsigned long long)g->flows,
               (unsigned long long)g->lookups, (unsigned long long)g->cache_hits,
               (unsigned long long)g->internal);
    }
    printf("  events: alert %llu, flow %llu, stats %llu, geo_summary %llu, reload %llu -> %s/%s\n",
           (unsigned long long)output_count(s->out, EVT_ALERT),
           (unsigned long long)output_count(s->out, EVT_FLOW),
           (unsigned long long)output_count(s->out, EVT_STATS),
           (unsigned long long)output_count(s->out, EVT_GEO_SUMMARY),
           (unsigned long long)output_count(s->out, EVT_RELOAD), logdir,
           s->cfg.outputs.eve_file.filename);
    if (s->redis) {
        redis_print_summary(s->redis, stdout);
        printf("  redis: final drain (last tallies and alerts to Redis) %.3f s\n", s->redis_drain_secs);
    }
}

/* Returns 0 when dir exists, 1 when it was made, -1 on error. */
static int ensure_dir(const char *dir)
{
    struct stat st;

    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : -1;
    return mkdir(dir, 0750) == 0 ? 1 : -1;
}

/* Hands what was opened as root and is written later to privileges.user:
 * the log folder when we made it, the EVE files, the spool, the control
 * socket. Returns 0, or -1 after printing why. */
static int give_files(struct sensor *s, const char *logdir, int made_logdir)
{
    char err[512];

    if (!s->priv.drop)
        return 0;
    if (made_logdir && privileges_give(&s->priv, logdir) < 0) {
        fprintf(stderr, "linkwatch: error: %s: cannot give to %s: %s\n", logdir, s->priv.user, strerror(errno));
        return -1;
    }
    if (!privileges_can_write(&s->priv, logdir))
        log_warning("privileges: %s: not writable by %s: EVE rotation and reopen will fail",
                    logdir, s->priv.user);
    if (output_give(s->out, s->priv.uid, s->priv.gid, err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        return -1;
    }
    if (control_give(s->control, s->priv.uid, s->priv.gid) < 0)
        log_warning("privileges: control socket: cannot give to %s: %s", s->priv.user, strerror(errno));
    return 0;
}

/* A relative path in the configuration is relative to the folder of the
 * -c file (as rules/... in the shipped linkwatch.yaml), or to the current
 * folder with the built-in defaults. Returns a malloc'd path or NULL. */
static char *config_relative(const struct lw_config *cfg, const char *path)
{
    const char *src = cfg->source_path, *slash = src ? strrchr(src, '/') : NULL;
    char *out;

    if (path[0] == '/' || !slash)
        return strdup(path);
    if (asprintf(&out, "%.*s/%s", (int)(slash - src), src, path) < 0)
        return NULL;
    return out;
}

/* The rule files to load: the -S files as given, else rules.files relative
 * to the config's folder. Returns a NULL-terminated malloc'd array (free
 * with free_paths()) or NULL when out of memory. */
static char **rule_paths(const struct lw_config *cfg, const struct options *o, size_t *n)
{
    char **paths;

    *n = o->nrule_files ? o->nrule_files : cfg->rules.files.n;
    paths = calloc(*n + 1, sizeof *paths);
    if (!paths)
        return NULL;
    for (size_t i = 0; i < *n; i++) {
        paths[i] = o->nrule_files ? strdup(o->rule_files[i]) : config_relative(cfg, cfg->rules.files.v[i]);
        if (!paths[i]) {
            for (size_t k = 0; k < i; k++)
                free(paths[k]);
            free(paths);
            return NULL;
        }
    }
    return paths;
}

static void free_paths(char **paths, size_t n)
{
    for (size_t i = 0; paths && i < n; i++)
        free(paths[i]);
    free(paths);
}

/* A -S file or rules.files entry that cannot be read is an error; only
 * the default rules.files may match nothing (rule-paths.h). */
static int check_rule_paths(const struct lw_config *cfg, const struct options *o, char *err, size_t errlen)
{
    size_t n;
    char **paths = rule_paths(cfg, o, &n);
    int rc;

    if (!paths) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = rule_paths_check((const char *const *)paths, n, !o->nrule_files && rule_files_default(cfg), err, errlen);
    free_paths(paths, n);
    return rc;
}

/* geoip.databases, each relative to the config's folder. Returns a
 * NULL-terminated malloc'd array (free with free_paths()) or NULL when out
 * of memory. A reload (geo_reload()) takes the same list. */
static char **geo_paths(const struct lw_config *cfg)
{
    const struct cfg_strlist *l = &cfg->geoip.databases;
    char **paths = calloc(l->n + 1, sizeof *paths);

    for (size_t i = 0; paths && i < l->n; i++) {
        paths[i] = config_relative(cfg, l->v[i]);
        if (!paths[i]) {
            free_paths(paths, i);
            return NULL;
        }
    }
    return paths;
}

/* -T: whether every file of geoip.databases opens as an MMDB file. Returns
 * 0, or -1 after printing why. */
static int check_geo(const struct lw_config *cfg)
{
    char err[1024];
    char **paths = geo_paths(cfg);
    int rc = paths ? geo_check_databases((const char *const *)paths, cfg->geoip.databases.n,
                                         err, sizeof err) : -1;

    if (rc < 0)
        fprintf(stderr, "linkwatch: error: %s\n", paths ? err : "out of memory");
    free_paths(paths, cfg->geoip.databases.n);
    return rc;
}

/* Opens geoip.databases (none is fine: geolocation is off) and gives the
 * worker its geo stage. Returns 0, or -1 after printing why. */
static int open_geo(struct sensor *s)
{
    char err[1024];
    char **paths = geo_paths(&s->cfg);

    if (!paths) {
        fprintf(stderr, "linkwatch: error: out of memory opening geoip.databases\n");
        return -1;
    }
    s->geo = geo_open(&s->cfg, (const char *const *)paths, s->cfg.geoip.databases.n, err, sizeof err);
    free_paths(paths, s->cfg.geoip.databases.n);
    if (!s->geo) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        return -1;
    }
    for (unsigned i = 0; i < s->nworkers; i++)
        if (worker_set_geo(&s->workers[i], s->geo, err, sizeof err) < 0) {
            fprintf(stderr, "linkwatch: error: %s\n", err);
            return -1;
        }
    if (s->nworkers > 1) {
        s->geo_merge = geo_merge_new(s->nworkers, s->out, s->cfg.sensor_id);
        if (!s->geo_merge) {
            fprintf(stderr, "linkwatch: error: out of memory for the geo summary of %u workers\n", s->nworkers);
            return -1;
        }
        for (unsigned i = 0; i < s->nworkers; i++)
            worker_set_geo_merge(&s->workers[i], s->geo_merge);
    }
    return 0;
}

/* The classification file, or NULL when the config names none. *ok is 0
 * when out of memory. */
static char *classification_path(const struct lw_config *cfg, int *ok)
{
    char *p;

    *ok = 1;
    if (!cfg->rules.classification_file || !cfg->rules.classification_file[0])
        return NULL;
    p = config_relative(cfg, cfg->rules.classification_file);
    *ok = p != NULL;
    return p;
}

/* -T: parses every rule file (the -S files, else rules.files) and reports
 * each error as file:line: reason, then the counts. Returns 0 when all load. */
static int check_rules(const struct lw_config *cfg, const struct options *o)
{
    size_t n;
    int ok;
    char **paths = rule_paths(cfg, o, &n);
    char *classes = classification_path(cfg, &ok);
    int rc = 2;

    if (paths && ok)
        rc = ruleset_check((const char *const *)paths, n, cfg, classes, stdout);
    if (rc == 2)
        fprintf(stderr, "linkwatch: error: out of memory checking rules\n");
    free_paths(paths, n);
    free(classes);
    return rc;
}

/* The folders rules.watch watches: each rule path's folder (the path itself
 * when it is one), and the threshold and classification files' folders. */
static char **watch_dirs(const struct reload_state *r, size_t *n)
{
    size_t cap = r->src.npaths + 2, k = 0;
    char **v = calloc(cap, sizeof *v);
    const char *extra[2] = { r->src.threshold_file, r->src.classification };

    *n = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < cap; i++) {
        const char *p = i < r->src.npaths ? r->src.paths[i] : extra[i - r->src.npaths];
        struct stat st;
        char *d;

        if (!p || !p[0])
            continue;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            d = strdup(p);
        } else {
            const char *slash = strrchr(p, '/');

            d = slash ? strndup(p, (size_t)(slash - p) + (slash == p)) : strdup(".");
        }
        if (!d)
            continue;
        for (size_t j = 0; j < k; j++)
            if (strcmp(v[j], d) == 0) {
                free(d);
                d = NULL;
                break;
            }
        if (d)
            v[k++] = d;
    }
    *n = k;
    return v;
}

static void write_stats(struct sensor *s, int json, FILE *out)
{
    struct flow_stats f;
    uint64_t pk = __atomic_load_n(&s->cap.packets, __ATOMIC_RELAXED);
    uint64_t by = __atomic_load_n(&s->cap.bytes, __ATOMIC_RELAXED);
    uint64_t kd = __atomic_load_n(&s->cap.kernel_drops, __ATOMIC_RELAXED);
    uint64_t inv = __atomic_load_n(&dispatch_decode_stats(&s->disp)->invalid, __ATOMIC_RELAXED);
    uint64_t fc, fa, al = dispatch_alerts(&s->disp);
    uint64_t ver = UINT64_MAX;
    uint64_t up = (lw_now_mono_usec() - s->start_mono) / 1000000u;

    dispatch_flow_stats(&s->disp, &f);
    fc = f.created;
    fa = f.active;
    /* The oldest set any worker still matches with. */
    for (unsigned i = 0; i < s->nworkers; i++) {
        uint64_t v = __atomic_load_n(&s->workers[i].rs_version, __ATOMIC_RELAXED);

        if (v < ver)
            ver = v;
    }

    if (json)
        fprintf(out, "{\"ok\":true,\"uptime\":%llu,\"packets\":%llu,\"bytes\":%llu,\"kernel_drops\":%llu,"
                "\"invalid\":%llu,\"flows_created\":%llu,\"flows_active\":%llu,\"alerts\":%llu,"
                "\"worker_rule_version\":%llu}\n", (unsigned long long)up, (unsigned long long)pk,
                (unsigned long long)by, (unsigned long long)kd, (unsigned long long)inv,
                (unsigned long long)fc, (unsigned long long)fa, (unsigned long long)al,
                (unsigned long long)ver);
    else
        fprintf(out, "uptime %llu s; packets %llu, bytes %llu, kernel drops %llu, invalid %llu; "
                "flows %llu created, %llu active; alerts %llu; worker on rule set version %llu\n",
                (unsigned long long)up, (unsigned long long)pk, (unsigned long long)by,
                (unsigned long long)kd, (unsigned long long)inv, (unsigned long long)fc,
                (unsigned long long)fa, (unsigned long long)al, (unsigned long long)ver);
}

/* Reopens geoip.databases with the rules (SIGHUP, linkwatchctl reload):
 * the new set is published atomically, the old one freed once the workers
 * passed a quiescent point. Writes one line to out; returns 0 or -1 (the
 * old databases stay). */
static int reload_geo(struct sensor *s, int json, FILE *out)
{
    char err[1024];
    char **paths = geo_paths(&s->cfg);
    size_t n = s->cfg.geoip.databases.n;
    int rc = paths ? geo_reload(s->geo, (const char *const *)paths, n, err, sizeof err) : -1;

    if (!paths)
        snprintf(err, sizeof err, "out of memory");
    if (rc == 0)
        log_info("geoip: %zu database(s) reloaded", geo_database_count(s->geo));
    else
        log_error("geoip: reload failed, the old databases stay: %s", err);
    if (json) {
        struct jbuf j;

        jbuf_init(&j);
        jbuf_open_object(&j, NULL);
        jbuf_bool(&j, "geoip_ok", rc == 0);
        jbuf_u64(&j, "geoip_databases", geo_database_count(s->geo));
        if (rc < 0)
            jbuf_str(&j, "geoip_error", err);
        jbuf_close_object(&j);
        if (jbuf_ok(&j))
            fprintf(out, "%.*s\n", (int)j.len, j.buf);
        jbuf_free(&j);
    } else if (rc == 0) {
        fprintf(out, "geoip: %zu database(s) reloaded\n", geo_database_count(s->geo));
    } else {
        fprintf(out, "geoip: reload failed, the old databases stay: %s\n", err);
    }
    free_paths(paths, n);
    return rc;
}

/* The control thread's commands. Returns 0 ok, 1 failed, 2 done with errors. */
static int control_command(void *arg, const char *cmd, const char *origin, int json, FILE *out)
{
    struct sensor *s = arg;

    if (strcmp(cmd, "reload") == 0) {
        enum reload_status st = reload_rules(&s->reload, origin, json, out);
        int rc = st == RELOAD_OK ? 0 : st == RELOAD_WITH_ERRORS ? 2 : 1;

        if (s->geo && reload_geo(s, json, out) < 0 && rc == 0)
            rc = 2;
        return rc;
    }
    if (strcmp(cmd, "ruleset") == 0) {
        reload_describe(&s->reload, json, out);
        return 0;
    }
    if (strcmp(cmd, "stats") == 0) {
        write_stats(s, json, out);
        return 0;
    }
    if (strcmp(cmd, "reopen-logs") == 0) {
        int rc = output_reopen(s->out);

        fprintf(out, json ? "{\"ok\":%s}\n" : "%s\n", json ? (rc == 0 ? "true" : "false")
                : (rc == 0 ? "log files reopened" : "reopen failed (see the log)"));
        return rc == 0 ? 0 : 1;
    }
    if (strcmp(cmd, "shutdown") == 0) {
        stop_requested = 1;
        capture_interrupt();
        fprintf(out, json ? "{\"ok\":true}\n" : "stopping\n");
        return 0;
    }
    return -1;
}

#define LD(x) ((double)__atomic_load_n(&(x), __ATOMIC_RELAXED))

static void emit_ctable_alert(void *arg, const char *key, uint32_t tag, uint64_t n, uint64_t bytes)
{
    char gid[16], sev[16];
    const char *colon = strchr(key, ':');

    (void)bytes;
    snprintf(gid, sizeof gid, "%.*s", colon ? (int)(colon - key) : 0, key);
    snprintf(sev, sizeof sev, "%u", tag);
    metrics_sample(arg, "linkwatch_alerts_total", (double)n, "gid", gid, "sid", colon ? colon + 1 : key,
                   "severity", sev, NULL);
}

static void add_ctable(void *arg, const char *key, uint32_t tag, uint64_t n, uint64_t bytes)
{
    ctable_add(arg, key, tag, n, bytes);
}

/* Per worker and per stage, so an operator sees which one is the
 * bottleneck: a worker busy nearly all the time while the capture thread
 * waits on its full queue is the one holding up the link. */
static void worker_metrics(struct sensor *s, FILE *out)
{
    static const struct { const char *name, *type, *help; size_t off; double scale; } fam[] = {
#define WM(n, t, h, f, sc) { "linkwatch_worker_" n, t, h, offsetof(struct worker_stage_stats, f), sc }
        WM("packets_total", "counter", "Packets each worker processed.", packets, 1),
        WM("busy_seconds_total", "counter", "Time each worker spent processing packets (not waiting for them).", busy_ns, 1e-9),
        WM("queued_packets_total", "counter", "Packets the capture thread queued for each worker (workers > 1).", queued, 1),
        WM("queue_full_total", "counter", "Times the capture thread found a worker's queue full.", full_waits, 1),
        WM("queue_full_seconds_total", "counter", "Time the capture thread waited for room in a worker's queue.", full_wait_ns, 1e-9),
        WM("queue_bytes", "gauge", "Bytes waiting in each worker's queue.", queue_bytes, 1),
        WM("order_waits_total", "counter", "Thresholded matches that waited for other workers' earlier packets.", order_waits, 1),
        WM("order_wait_seconds_total", "counter", "Time those matches waited.", order_wait_ns, 1e-9),
#undef WM
    };
    struct worker_stage_stats *st = calloc(s->nworkers, sizeof *st);

    if (!st)
        return;
    for (unsigned i = 0; i < s->nworkers; i++)
        dispatch_stage_stats(&s->disp, i, &st[i]);
    for (size_t k = 0; k < sizeof fam / sizeof fam[0]; k++) {
        metrics_family(out, fam[k].name, fam[k].type, fam[k].help);
        for (unsigned i = 0; i < s->nworkers; i++) {
            char id[16];

            snprintf(id, sizeof id, "%u", i);
            metrics_sample(out, fam[k].name,
                           (double)*(const uint64_t *)((const char *)&st[i] + fam[k].off) * fam[k].scale,
                           "worker", id, NULL);
        }
    }
    metrics_family(out, "linkwatch_capture_busy_seconds_total", "counter",
                   "Time the capture thread spent decoding and dispatching packets (workers > 1).");
    metrics_sample(out, "linkwatch_capture_busy_seconds_total", (double)dispatch_busy_ns(&s->disp) / 1e9, NULL);
    metrics_family(out, "linkwatch_workers", "gauge", "Worker threads.");
    metrics_sample(out, "linkwatch_workers", (double)s->nworkers, NULL);
    free(st);
}

static void emit_ctable_app(void *arg, const char *key, uint32_t tag, uint64_t n, uint64_t bytes)
{
    FILE **o = arg;

    (void)tag;
    metrics_sample(o[0], "linkwatch_app_flows_total", (double)n, "protocol", key, NULL);
    metrics_sample(o[1], "linkwatch_app_bytes_total", (double)bytes, "protocol", key, NULL);
}

/* Everything /metrics shows. Counters the worker writes are read relaxed. */
static void collect_metrics(void *arg, FILE *out)
{
    struct sensor *s = arg;
    const struct decode_stats *d = dispatch_decode_stats(&s->disp);
    struct flow_stats fs;
    const struct flow_stats *f = &fs;
    struct ctable *apps = s->nworkers > 1 ? ctable_new(4096) : NULL;
    struct ctable *alerts = s->nworkers > 1 ? ctable_new(65536) : NULL;
    struct output_exporter_stats xs[8];
    size_t nx = output_exporters(s->out, xs, 8);
    char *app_bytes = NULL;
    size_t app_len = 0;
    FILE *o2;

    dispatch_flow_stats(&s->disp, &fs);
    /* Workers count per protocol and rule in their own tables: one sum. */
    if (apps && alerts)
        for (unsigned i = 0; i < s->nworkers; i++) {
            ctable_each(s->workers[i].app_counts, add_ctable, apps);
            ctable_each(s->workers[i].alert_counts, add_ctable, alerts);
        }
    metrics_family(out, "linkwatch_build_info", "gauge", "Build of the sensor.");
    metrics_sample(out, "linkwatch_build_info", 1, "version", PACKAGE_VERSION, "sensor_id", s->cfg.sensor_id, NULL);
    metrics_family(out, "linkwatch_uptime_seconds", "gauge", "Seconds since start.");
    metrics_sample(out, "linkwatch_uptime_seconds", (double)(lw_now_mono_usec() - s->start_mono) / 1e6, NULL);
    metrics_family(out, "linkwatch_packets_total", "counter", "Packets read from the capture.");
    metrics_sample(out, "linkwatch_packets_total", LD(s->cap.packets), NULL);
    metrics_family(out, "linkwatch_bytes_total", "counter", "Wire bytes read from the capture.");
    metrics_sample(out, "linkwatch_bytes_total", LD(s->cap.bytes), NULL);
    metrics_family(out, "linkwatch_kernel_packets_total", "counter", "Packets the kernel received (live capture).");
    metrics_sample(out, "linkwatch_kernel_packets_total", LD(s->cap.kernel_packets), NULL);
    metrics_family(out, "linkwatch_kernel_drops_total", "counter", "Packets the kernel dropped: the sensor did not keep up.");
    metrics_sample(out, "linkwatch_kernel_drops_total", LD(s->cap.kernel_drops), NULL);
    metrics_family(out, "linkwatch_interface_drops_total", "counter", "Packets the interface dropped.");
    metrics_sample(out, "linkwatch_interface_drops_total", LD(s->cap.kernel_ifdrops), NULL);

    metrics_family(out, "linkwatch_decoded_packets_total", "counter", "Packets decoded, by layer.");
    for (int i = 0; i < DECODE_LAYER_MAX; i++)
        metrics_sample(out, "linkwatch_decoded_packets_total", LD(d->layer[i]),
                       "layer", decode_layer_name((enum decode_layer)i), NULL);
    metrics_family(out, "linkwatch_invalid_packets_total", "counter", "Malformed packets refused.");
    metrics_sample(out, "linkwatch_invalid_packets_total", LD(d->invalid), NULL);
    metrics_family(out, "linkwatch_decode_events_total", "counter", "Decoder events (malformed input, anomalies), by reason.");
    for (int i = 0; i < DE_MAX; i++)
        if (__atomic_load_n(&d->event[i], __ATOMIC_RELAXED))
            metrics_sample(out, "linkwatch_decode_events_total", LD(d->event[i]),
                           "reason", decode_event_name((enum decode_event)i), NULL);

    metrics_family(out, "linkwatch_flows_active", "gauge", "Flows in the flow table.");
    metrics_sample(out, "linkwatch_flows_active", LD(f->active), NULL);
    metrics_family(out, "linkwatch_flows_created_total", "counter", "Flows created.");
    metrics_sample(out, "linkwatch_flows_created_total", LD(f->created), NULL);
    metrics_family(out, "linkwatch_flows_ended_total", "counter", "Flows ended, by reason.");
    for (int r = FLOW_END_TIMEOUT; r <= FLOW_END_SHUTDOWN; r++)
        metrics_sample(out, "linkwatch_flows_ended_total", LD(f->ended[r]),
                       "reason", flow_end_reason_name((enum flow_end_reason)r), NULL);

    metrics_family(out, "linkwatch_app_flows_total", "counter", "Ended flows by nDPI protocol.");
    o2 = open_memstream(&app_bytes, &app_len);
    if (o2) {
        FILE *pair[2] = { out, o2 };

        metrics_family(o2, "linkwatch_app_bytes_total", "counter", "Bytes of ended flows by nDPI protocol.");
        ctable_each(apps ? apps : s->workers[0].app_counts, emit_ctable_app, pair);
        fclose(o2);
        fwrite(app_bytes, 1, app_len, out);
        free(app_bytes);
    }
    metrics_family(out, "linkwatch_alerts_total", "counter", "Alerts, by rule and severity.");
    ctable_each(alerts ? alerts : s->workers[0].alert_counts, emit_ctable_alert, out);
    ctable_free(apps);
    ctable_free(alerts);

    pthread_mutex_lock(&s->reload.slot.lock);
    {
        const struct ruleset *rs = rules_slot_get(&s->reload.slot);

        metrics_family(out, "linkwatch_rules_loaded", "gauge", "Rules in the live rule set.");
        metrics_sample(out, "linkwatch_rules_loaded", rs ? (double)rs->rep.loaded : 0, NULL);
        metrics_family(out, "linkwatch_rules_failed", "gauge", "Rules of the live set's files that did not load.");
        metrics_sample(out, "linkwatch_rules_failed", rs ? (double)rs->rep.failed : 0, NULL);
        metrics_family(out, "linkwatch_ruleset_version", "gauge", "Version of the live rule set (1 at start, +1 per reload).");
        metrics_sample(out, "linkwatch_ruleset_version", rs ? (double)rs->version : 0, NULL);
        metrics_family(out, "linkwatch_rule_reloads_total", "counter", "Rule reloads attempted.");
        metrics_sample(out, "linkwatch_rule_reloads_total", (double)s->reload.reloads, NULL);
        metrics_family(out, "linkwatch_rule_reload_failures_total", "counter", "Rule reloads that kept the old set.");
        metrics_sample(out, "linkwatch_rule_reload_failures_total", (double)s->reload.reload_failures, NULL);
        metrics_family(out, "linkwatch_rule_reload_last_latency_seconds", "gauge", "Request to new set live, last reload.");
        metrics_sample(out, "linkwatch_rule_reload_last_latency_seconds", (double)s->reload.last_latency_usec / 1e6, NULL);
        metrics_family(out, "linkwatch_rule_reload_last_status", "gauge", "Last reload: 0 ok, 1 loaded with errors, 2 kept old, 3 failed.");
        metrics_sample(out, "linkwatch_rule_reload_last_status", (double)s->reload.last_status, NULL);
    }
    pthread_mutex_unlock(&s->reload.slot.lock);

    metrics_family(out, "linkwatch_events_total", "counter", "Events produced, by type.");
    for (int t = 0; t < EVT_MAX; t++)
        metrics_sample(out, "linkwatch_events_total", (double)output_count(s->out, (enum event_type)t),
                       "type", event_type_name((enum event_type)t), NULL);
    metrics_family(out, "linkwatch_exporter_events_total", "counter",
                   "Events per exporter: written, failed (sink refused), dropped (queue full).");
    for (size_t i = 0; i < nx; i++) {
        metrics_sample(out, "linkwatch_exporter_events_total", (double)xs[i].written, "exporter", xs[i].name, "result", "written", NULL);
        metrics_sample(out, "linkwatch_exporter_events_total", (double)xs[i].failed, "exporter", xs[i].name, "result", "failed", NULL);
        metrics_sample(out, "linkwatch_exporter_events_total", (double)xs[i].dropped, "exporter", xs[i].name, "result", "dropped", NULL);
    }
    {
        static const struct { const char *name, *type, *help; size_t off; } xm[] = {
#define XM(n, t, h, f) { "linkwatch_exporter_" n, t, h, offsetof(struct output_exporter_stats, f) }
            XM("alerts_spooled_total", "counter", "Alerts put in an exporter's disk spool.", spooled),
            XM("spool_pending", "gauge", "Spooled alerts not yet delivered.", spool_pending),
            XM("alerts_lost_total", "counter", "Alerts lost: the spool was full.", spool_lost),
            XM("queue_bytes", "gauge", "Bytes waiting in an exporter's queue.", queue_bytes),
#undef XM
        };

        for (size_t k = 0; k < sizeof xm / sizeof xm[0]; k++) {
            metrics_family(out, xm[k].name, xm[k].type, xm[k].help);
            for (size_t i = 0; i < nx; i++)
                metrics_sample(out, xm[k].name, (double)*(const uint64_t *)((const char *)&xs[i] + xm[k].off),
                               "exporter", xs[i].name, NULL);
        }
    }

    if (s->redis) {
        struct redis_stats rs;
        static const struct { const char *name, *help; size_t off; int gauge; } rm[] = {
#define RM(n, h, f, g) { "linkwatch_redis_" n, h, offsetof(struct redis_stats, f), g }
            RM("round_trips_total", "Pipelines sent to Redis and answered.", round_trips, 0),
            RM("commands_total", "Commands sent to Redis.", commands, 0),
            RM("alerts_sent_total", "Alerts Redis acknowledged in the stream.", alerts_sent, 0),
            RM("alerts_spooled_total", "Alerts written to the Redis disk spool while Redis was away.", alerts_spooled, 0),
            RM("alerts_in_spool", "Alerts in the Redis spool, not delivered yet.", alerts_in_spool, 1),
            RM("alerts_lost_total", "Alerts a full Redis spool refused (still in eve.json).", alerts_spool_full, 0),
            RM("alerts_queue_full_total", "Alerts the Redis writer's full queue refused.", alerts_queue_full, 0),
            RM("tally_commands_lost_total", "Tally commands given up.", tally_cmds_lost, 0),
            RM("reconnects_total", "Reconnections to Redis.", reconnects, 0),
            RM("errors_total", "Error replies from Redis.", errors, 0),
#undef RM
        };

        redis_get_stats(s->redis, &rs);
        for (size_t i = 0; i < sizeof rm / sizeof rm[0]; i++) {
            metrics_family(out, rm[i].name, rm[i].gauge ? "gauge" : "counter", rm[i].help);
            metrics_sample(out, rm[i].name, (double)*(const uint64_t *)((const char *)&rs + rm[i].off), NULL);
        }
    }
    worker_metrics(s, out);
}

/* Loads the rules (rules.files or -S, threshold.config) as rule set version
 * 1 and starts the control thread that reloads them. A rule that does not
 * load is logged as file:line: reason and skipped (rules.strict refuses to
 * start instead). Returns 0, or -1 after printing why. */
static int start_rules(struct sensor *s, const struct options *o)
{
    const struct lw_config *cfg = &s->cfg;
    struct control_config cc = { 0 };
    char err[512];
    size_t n, nwatch = 0;
    int ok;
    char **paths = rule_paths(cfg, o, &n);
    char *classes = classification_path(cfg, &ok);
    char *thr = cfg->rules.threshold_file && cfg->rules.threshold_file[0]
                ? config_relative(cfg, cfg->rules.threshold_file) : NULL;
    char **dirs = NULL;
    enum reload_status st;

    if (!paths || !ok || (cfg->rules.threshold_file && cfg->rules.threshold_file[0] && !thr)) {
        free_paths(paths, n);
        free(classes);
        free(thr);
        fprintf(stderr, "linkwatch: error: out of memory loading rules\n");
        return -1;
    }
    reload_init(&s->reload, cfg, s->nworkers, paths, n, classes, thr);
    if (s->nworkers > 1) {
        s->shared_th = threshold_new_shared(0);
        if (!s->shared_th) {
            fprintf(stderr, "linkwatch: error: out of memory for the shared threshold table\n");
            reload_destroy(&s->reload);
            return -1;
        }
        s->reload.src.shared_th = s->shared_th;
    }
    s->reload.out = s->out;
    s->reload_ready = 1;
    for (unsigned i = 0; i < s->nworkers; i++)
        worker_use_rules(&s->workers[i], &s->reload.slot);
    st = reload_rules(&s->reload, "startup", 0, NULL);
    if (st >= RELOAD_KEPT_OLD) {
        fprintf(stderr, "linkwatch: error: rules could not be loaded (see above)\n");
        return -1;
    }
    if (cfg->rules.watch)
        dirs = watch_dirs(&s->reload, &nwatch);
    cc.socket_path = cfg->control.socket;
    cc.watch_dirs = dirs;
    cc.nwatch_dirs = nwatch;
    cc.debounce_ms = 300;
    cc.handler = control_command;
    cc.arg = s;
    s->control = control_start(&cc, err, sizeof err);
    control_running = s->control != NULL;
    free_paths(dirs, nwatch);
    if (!s->control) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        return -1;
    }
    return 0;
}

/* Stops reloads: the control thread first, so no set is freed under the
 * final flush. */
static void stop_control(struct sensor *s)
{
    control_running = 0;
    s->reload.stopping = 1;
    control_stop(s->control);
    s->control = NULL;
}

static void destroy_workers(struct sensor *s)
{
    for (unsigned i = 0; s->workers && i < s->nworkers; i++)
        worker_destroy(&s->workers[i]);
    dispatch_destroy(&s->disp);
    free(s->workers);
    s->workers = NULL;
    geo_merge_free(s->geo_merge);
    s->geo_merge = NULL;
}

/* The workers (each with its share of flow.max-flows and stream.memcap)
 * and the capture side that feeds them. Returns 0, or -1 with err. */
static int start_workers(struct sensor *s, char *err, size_t errlen)
{
    s->nworkers = dispatch_workers_for(&s->cfg);
    if (s->nworkers > 1) {
        /* Each worker's tables are its share of the sensor's. */
        s->cfg.flow.max_flows = (s->cfg.flow.max_flows + s->nworkers - 1) / s->nworkers;
        s->cfg.stream.memcap = (s->cfg.stream.memcap + s->nworkers - 1) / s->nworkers;
    }
    s->workers = calloc(s->nworkers, sizeof *s->workers);
    if (!s->workers) {
        snprintf(err, errlen, "no memory for %u workers", s->nworkers);
        return -1;
    }
    for (unsigned i = 0; i < s->nworkers; i++)
        if (worker_init(&s->workers[i], i, &s->cfg, s->out, 1 /* DLT_EN10MB until a source says */,
                        err, errlen) < 0) {
            s->nworkers = i;          /* the ones set up */
            destroy_workers(s);
            return -1;
        }
    if (dispatch_init(&s->disp, s->workers, s->nworkers, &s->cfg, err, errlen) < 0) {
        destroy_workers(s);
        return -1;
    }
    if (s->nworkers > 1)
        log_info("%u workers, %llu MB queue each", s->nworkers,
                 (unsigned long long)(s->cfg.worker_queue_size >> 20));
    return 0;
}

static int start_threads(struct sensor *s)
{
    char err[256];

    if (dispatch_start(&s->disp, err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        return -1;
    }
    return 0;
}


/* After the workers and every rule set are gone. */
static void free_shared(struct sensor *s)
{
    threshold_free(s->shared_th);
    s->shared_th = NULL;
}

static int sensor_run(struct sensor *s, const struct options *o)
{
    char err[1024];
    const char *logdir = o->logdir ? o->logdir : s->cfg.default_log_dir;
    uint64_t t0;
    double secs;
    int made;

    if (privileges_resolve(&s->priv, &s->cfg, err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        return 1;
    }
    if ((made = ensure_dir(logdir)) < 0) {
        fprintf(stderr, "linkwatch: error: %s: cannot use as log folder: %s\n", logdir, strerror(errno));
        privileges_free(&s->priv);
        return 1;
    }
    s->out = output_open(&s->cfg, logdir, err, sizeof err);
    if (!s->out) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        privileges_free(&s->priv);
        return 1;
    }
    if (start_workers(s, err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        output_close(s->out);
        privileges_free(&s->priv);
        return 1;
    }
    if (open_geo(s) < 0 || start_rules(s, o) < 0 || give_files(s, logdir, made) < 0 ||
        start_threads(s) < 0) {
        stop_control(s);
        dispatch_finish(&s->disp, FLOW_END_SHUTDOWN);
        destroy_workers(s);
        if (s->reload_ready)
            reload_destroy(&s->reload);
        free_shared(s);
        geo_close(s->geo);
        output_close(s->out);
        privileges_free(&s->priv);
        return 1;
    }
    /* ---- Redis (issue 6): the flusher takes the worker's tallies. */
    s->redis = redis_of(output_find(s->out, "redis"));
    for (unsigned i = 0; s->redis && i <= s->nworkers; i++) {
        struct tally *t = i < s->nworkers ? s->workers[i].tally : s->disp.tally;

        if (t && redis_add_tally(s->redis, t) < 0) {
            fprintf(stderr, "linkwatch: error: redis: too many tally tables (%u workers)\n", s->nworkers);
            s->redis = NULL;
        }
    }
    /* ---- end Redis */
    if (s->cfg.metrics.enabled) {
        s->metrics = metrics_start(s->cfg.metrics.listen, collect_metrics, s, err, sizeof err);
        if (!s->metrics)
            log_warning("%s; no /metrics", err);   /* capture does not depend on it */
    }
    jbuf_init(&s->jb);
    install_signals();
    s->start_mono = t0 = lw_now_mono_usec();

    if ((o->iface ? run_live(s, o) : run_files(s, o)) < 0)
        s->errors++;

    stop_control(s);
    metrics_stop(s->metrics);
    s->metrics = NULL;
    dispatch_finish(&s->disp, FLOW_END_SHUTDOWN);
    emit_stats(s, s->live ? lw_now_real_usec() : s->last_ts);
    output_flush(s->out);
    /* The run's rate is over capture and processing; the Redis writer's
     * final drain (a replay's last tallies and alerts) is timed apart. */
    secs = (double)(lw_now_mono_usec() - t0) / 1e6;
    /* ---- Redis (issue 6): last counts and alerts out (or to the spool). */
    if (s->redis) {
        uint64_t d0 = lw_now_mono_usec();

        redis_health(s);
        redis_finish(s->redis, s->last_ts);
        s->redis_drain_secs = (double)(lw_now_mono_usec() - d0) / 1e6;
    }
    /* ---- end Redis */
    print_summary(s, logdir, secs);

    destroy_workers(s);
    reload_destroy(&s->reload);
    s->reload_ready = 0;
    free_shared(s);
    geo_close(s->geo);
    s->geo = NULL;
    jbuf_free(&s->jb);
    output_close(s->out);
    s->out = NULL;
    privileges_free(&s->priv);
    if (s->fatal) {
        fprintf(stderr, "linkwatch: error: could not drop privileges; stopped before the first packet\n");
        return 1;
    }
    if (s->errors) {
        fprintf(stderr, "linkwatch: error: %d source(s) could not be read completely (see above)\n", s->errors);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = { 0 };
    struct sensor s = { 0 };
    char err[1024];
    enum log_level lvl;
    int rc;

    rc = parse_args(argc, argv, &o);
    if (rc != 0) {
        rc = rc > 0 ? 0 : 1;
        goto out;
    }
    if (config_load(&s.cfg, o.config_path, o.sets, o.nsets, err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        rc = 1;
        goto out;
    }
    if (log_parse_level(s.cfg.logging_level, &lvl) == 0)
        log_set_level(lvl);
    for (int i = 0; i < o.verbose && log_get_level() < LOG_LVL_DEBUG; i++)
        log_set_level(log_get_level() + 1);
    if (check_rule_paths(&s.cfg, &o, err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        rc = 1;
        goto out;
    }
    if (o.test_only) {
        printf("linkwatch: configuration %s is valid\n",
               o.config_path ? o.config_path : "(built-in defaults)");
        rc = check_rules(&s.cfg, &o) == 0 ? 0 : 1;
        if (check_geo(&s.cfg) < 0)
            rc = 1;
        if (privileges_resolve(&s.priv, &s.cfg, err, sizeof err) < 0) {
            fprintf(stderr, "linkwatch: error: %s\n", err);
            rc = 1;
        }
        privileges_free(&s.priv);
        goto out_cfg;
    }
    rc = sensor_run(&s, &o);
out_cfg:
    config_free(&s.cfg);
out:
    free(o.reads);
    free(o.sets);
    free(o.rule_files);
    return rc;
}
