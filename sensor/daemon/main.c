/* main.c - the linkwatch daemon: command line, set-up, the capture loop and
 * an orderly shutdown. Command-line letters follow Suricata's. */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autoconf.h"
#include "control.h"
#include "fsafe.h"
#include "geo.h"
#include "log.h"
#include "metrics.h"
#include "output.h"
#include "build-info.h"
#include "tally-flush.h"
#include "sensor.h"
#include "util.h"

/* Set by signal handlers and the control thread (linkwatchctl shutdown). */
static atomic_int stop_requested;

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
"  --list-keywords  print every rule keyword with its meaning and an example, then exit\n"
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
    enum { OPT_SET = 256, OPT_WORKERS, OPT_LIST_KEYWORDS, OPT_BUILD_INFO };
    static const struct option longopts[] = {
        { "set", required_argument, NULL, OPT_SET },
        { "workers", required_argument, NULL, OPT_WORKERS },
        { "build-info", no_argument, NULL, OPT_BUILD_INFO },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "list-keywords", no_argument, NULL, OPT_LIST_KEYWORDS },
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
        case OPT_LIST_KEYWORDS: rule_keywords_print(stdout); return 1;
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

void sensor_request_stop(void)
{
    stop_requested = 1;
    capture_interrupt();
}

static void on_stop(int sig)
{
    sensor_request_stop();
}

/* Before any thread starts: the control thread's signals (control.h),
 * and SIGPIPE ignored (a reader that went away is an error, not an end). */
static void request_signals(void)
{
    struct sigaction sa;

    control_signals_init();
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
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

/* How often a live capture reads the kernel's counters while packets flow. */
#define KERNEL_STATS_USEC 100000u

/* Runs one source to its end (or until stopped). Returns 0, or -1 when the
 * source failed part-way (reason already logged). */
static int run_source(struct sensor *s, struct capture *c)
{
    char err[512];
    const uint8_t *data;
    uint32_t caplen, wirelen;
    uint64_t ts, kstats_at = 0;
    int may_block = capture_may_block(c);

    dispatch_set_datalink(&s->disp, capture_datalink(c));
    s->disp.numbered = !s->live;
    while (!stop_requested) {
        int rc;

        /* A read that may block: reloads need not wait for us, and the
         * workers get what is queued. A regular file does not block: the
         * queues are published batch by batch. */
        if (may_block)
            dispatch_offline(&s->disp);
        rc = capture_next(c, &data, &caplen, &wirelen, &ts, err, sizeof err);
        if (rc == 1) {
            STATS_INC(s->cap.packets);
            STATS_ADD(s->cap.bytes, wirelen);
            if (ts > s->last_ts)
                s->last_ts = ts;
            dispatch_packet(&s->disp, data, caplen, wirelen, ts);
            if (!s->live)
                sensor_maybe_stats(s, s->last_ts);
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
            uint64_t now = lw_now_real_usec();

            /* pcap_stats() is a getsockopt and two sysfs reads: not per packet */
            if (rc == 0 || now - kstats_at >= KERNEL_STATS_USEC) {
                capture_kernel_stats(c, &s->cap);
                kstats_at = now;
            }
            sensor_maybe_stats(s, now);
        }
        if (s->redis && tally_flush_health_wanted(s->redis))
            sensor_redis_health(s);
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
            STATS_INC(s->cap.file_errors);
            s->errors++;
            continue;
        }
        STATS_INC(s->cap.files);
        if (drop_privileges(s) < 0) {
            capture_close(c);
            break;
        }
        atomic_store(&s->capturing, 1);
        if (run_source(s, c) < 0) {
            STATS_INC(s->cap.file_errors);
            s->errors++;
        }
        atomic_store(&s->capturing, 0);
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
    atomic_store(&s->capturing, 1);
    if (run_source(s, c) < 0)
        s->errors++;
    atomic_store(&s->capturing, 0);
    capture_kernel_stats(c, &s->cap);
    capture_close(c);
    return 0;
}

/* Opens the log folder, creating it 0750 when missing (*made); a link
 * there is refused (fsafe.h). Returns its descriptor, or -1 after printing why. */
static int open_logdir(const char *dir, int *made)
{
    char err[512];
    int fd = fs_open_dir(dir, 1, 0750, made, err, sizeof err);

    if (fd < 0)
        fprintf(stderr, "linkwatch: error: cannot use as log folder: %s\n", err);
    return fd;
}

/* Hands what was opened as root and is written later to privileges.user:
 * the log folder when we made it, the EVE files, the spool, the control
 * socket; each on its descriptor. Returns 0, or -1 after printing why. */
static int give_files(struct sensor *s, const char *logdir, int logfd, int made_logdir)
{
    char err[512];

    if (!s->priv.drop)
        return 0;
    if (made_logdir && privileges_give(&s->priv, logfd) < 0) {
        fprintf(stderr, "linkwatch: error: %s: cannot give to %s: %s\n", logdir, s->priv.user, strerror(errno));
        return -1;
    }
    if (!privileges_can_write(&s->priv, logfd))
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

static int start_threads(struct sensor *s)
{
    char err[256];

    if (dispatch_start(&s->disp, err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        return -1;
    }
    return 0;
}


static int sensor_run(struct sensor *s, const struct options *o)
{
    char err[1024];
    const char *logdir = o->logdir ? o->logdir : s->cfg.default_log_dir;
    uint64_t t0;
    double secs;
    int made, logfd, rc;

    request_signals();
    s->start_mono = lw_now_mono_usec();
    if (privileges_resolve(&s->priv, &s->cfg, err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        return 1;
    }
    if ((logfd = open_logdir(logdir, &made)) < 0) {
        privileges_free(&s->priv);
        return 1;
    }
    s->out = output_open(&s->cfg, logdir, err, sizeof err);
    if (!s->out) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        close(logfd);
        privileges_free(&s->priv);
        return 1;
    }
    if (sensor_start_workers(s, err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        close(logfd);
        output_close(s->out);
        privileges_free(&s->priv);
        return 1;
    }
    /* Redis: the flusher takes every tally table (before any thread that
     * reads s->redis starts). */
    if (s->cfg.redis.enabled && !(s->redis = tally_flush_new(&s->cfg, s->out, err, sizeof err)))
        fprintf(stderr, "linkwatch: error: %s\n", err);
    for (unsigned i = 0; s->redis && i <= s->nworkers; i++) {
        struct tally *t = i < s->nworkers ? s->workers[i].tally : s->disp.tally;

        if (t && tally_flush_add_tally(s->redis, t) < 0) {
            tally_flush_free(s->redis);
            fprintf(stderr, "linkwatch: error: redis: too many tally tables (%u workers)\n", s->nworkers);
            s->redis = NULL;
        }
    }
    rc = sensor_open_geo(s) < 0 || sensor_start_rules(s, o) < 0 || give_files(s, logdir, logfd, made) < 0;
    close(logfd);
    if (rc || start_threads(s) < 0) {
        sensor_stop_control(s);
        dispatch_finish(&s->disp, FLOW_END_SHUTDOWN);
        sensor_destroy_workers(s);
        if (s->reload_ready)
            reload_destroy(&s->reload);
        sensor_free_shared(s);
        geo_close(s->geo);
        output_close(s->out);
        privileges_free(&s->priv);
        return 1;
    }
    if (s->cfg.metrics.enabled) {
        s->metrics = metrics_start(s->cfg.metrics.listen, sensor_collect_metrics, s, err, sizeof err);
        if (!s->metrics)
            log_warning("%s; no /metrics", err);   /* capture does not depend on it */
    }
    jbuf_init(&s->jb);
    install_signals();
    t0 = lw_now_mono_usec();

    if ((o->iface ? run_live(s, o) : run_files(s, o)) < 0)
        s->errors++;

    sensor_stop_control(s);
    metrics_stop(s->metrics);
    s->metrics = NULL;
    dispatch_finish(&s->disp, FLOW_END_SHUTDOWN);
    sensor_emit_stats(s, s->live ? lw_now_real_usec() : s->last_ts);
    output_flush(s->out);
    /* The run's rate is over capture, processing and the exporters (the
     * Redis alerts included); the tally flusher's final drain (a replay's
     * last tallies) is timed apart. */
    secs = (double)(lw_now_mono_usec() - t0) / 1e6;
    /* ---- Redis (issue 6): last counts out. */
    if (s->redis) {
        uint64_t d0 = lw_now_mono_usec();

        sensor_redis_health(s);
        tally_flush_finish(s->redis, s->last_ts);
        s->redis_drain_secs = (double)(lw_now_mono_usec() - d0) / 1e6;
    }
    /* ---- end Redis */
    sensor_print_summary(s, logdir, secs);
    tally_flush_free(s->redis);
    s->redis = NULL;

    sensor_destroy_workers(s);
    reload_destroy(&s->reload);
    s->reload_ready = 0;
    sensor_free_shared(s);
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
    if (sensor_check_rule_paths(&s.cfg, &o, err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        rc = 1;
        goto out_cfg;
    }
    if (o.test_only) {
        printf("linkwatch: configuration %s is valid\n",
               o.config_path ? o.config_path : "(built-in defaults)");
        rc = sensor_check_rules(&s.cfg, &o) == 0 ? 0 : 1;
        if (sensor_check_geo(&s.cfg) < 0)
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
