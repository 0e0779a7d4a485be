/* main.c - the linkwatch daemon: command line, set-up, the capture loop and
 * an orderly shutdown. Command-line letters follow Suricata's. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autoconf.h"
#include "capture.h"
#include "config.h"
#include "detect.h"
#include "eve.h"
#include "log.h"
#include "output.h"
#include "redis.h"
#include "rule-parse.h"
#include "threshold.h"
#include "util.h"
#include "worker.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reopen_requested;
static volatile sig_atomic_t reload_requested;

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
    struct worker worker;
    struct detect_engine *detect;  /* NULL: no rule loaded */
    struct rule_load_report rules; /* of the rule set in use */
    struct capture_stats cap;
    struct jbuf jb;
    uint64_t start_mono;
    uint64_t next_stats;       /* event time of the next stats event */
    uint64_t last_ts;          /* capture time of the latest packet */
    int live;
    int errors;                /* files refused or cut short */
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
"  --set k.p=value  override any configuration key; value is YAML (e.g. --set home-net=[10.0.0.0/8])\n"
"  -V, --version    print the version\n"
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
    enum { OPT_SET = 256 };
    static const struct option longopts[] = {
        { "set", required_argument, NULL, OPT_SET },
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
        case 'V': printf("linkwatch %s\n", PACKAGE_VERSION); return 1;
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
static void on_reopen(int sig) { reopen_requested = 1; }
static void on_reload(int sig) { reload_requested = 1; }

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_reopen;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_reload;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static void emit_stats(struct sensor *s, uint64_t ts)
{
    struct eve_stats_src src = {
        .ts_usec = ts,
        .uptime_sec = (lw_now_mono_usec() - s->start_mono) / 1000000u,
        .capture = &s->cap,
        .decode = &s->worker.dec.stats,
        .flow = flow_table_stats(s->worker.flows),
        .dpi = s->cfg.dpi.enabled ? dpi_engine_stats(s->worker.dpi) : NULL,
    };

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
    const struct flow_stats *f = flow_table_stats(s->worker.flows);
    struct redis_health h = {
        .ts_usec = s->last_ts, .packets = s->cap.packets, .bytes = s->cap.bytes,
        .drops = s->cap.kernel_drops + s->cap.kernel_ifdrops,
        .flows_active = f->active, .flows_created = f->created, .alerts = s->worker.alerts,
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
    if (reload_requested) {
        reload_requested = 0;
        log_info("SIGHUP: no rule engine in this build's pipeline yet; nothing reloaded");
    }
}

/* Runs one source to its end (or until stopped). Returns 0, or -1 when the
 * source failed part-way (reason already logged). */
static int run_source(struct sensor *s, struct capture *c)
{
    char err[512];
    const uint8_t *data;
    uint32_t caplen, wirelen;
    uint64_t ts;

    worker_set_datalink(&s->worker, capture_datalink(c));
    while (!stop_requested) {
        int rc = capture_next(c, &data, &caplen, &wirelen, &ts, err, sizeof err);
        if (rc == 1) {
            s->cap.packets++;
            s->cap.bytes += wirelen;
            if (ts > s->last_ts)
                s->last_ts = ts;
            worker_packet(&s->worker, data, caplen, wirelen, ts);
            if (!s->live)
                maybe_stats(s, s->last_ts);
        } else if (rc == 0) {
            /* live read timed out: a chance for wall-clock work */
            worker_idle(&s->worker);
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
    s->live = 1;
    log_info("capturing on %s", o->iface);
    if (run_source(s, c) < 0)
        s->errors++;
    capture_kernel_stats(c, &s->cap);
    capture_close(c);
    return 0;
}

static void print_summary(struct sensor *s, const char *logdir, double secs)
{
    const struct decode_stats *d = &s->worker.dec.stats;
    const struct flow_stats *f = flow_table_stats(s->worker.flows);
    int any = 0;

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
    printf("  rules: %zu loaded, %zu failed; alerts: %llu\n", s->rules.loaded, s->rules.failed,
           (unsigned long long)s->worker.alerts);
    printf("  events: alert %llu, flow %llu, stats %llu -> %s/%s\n",
           (unsigned long long)output_count(s->out, EVT_ALERT),
           (unsigned long long)output_count(s->out, EVT_FLOW),
           (unsigned long long)output_count(s->out, EVT_STATS), logdir,
           s->cfg.outputs.eve_file.filename);
    if (s->redis)
        redis_print_summary(s->redis, stdout);
}

static int ensure_dir(const char *dir)
{
    struct stat st;

    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : -1;
    return mkdir(dir, 0750);
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

/* Loads the rules and threshold.config and hands them to the worker. A rule
 * that does not load is logged as file:line: reason and skipped (refused
 * outright with rules.strict). Returns 0, or -1 after printing why. */
static int load_rules(struct sensor *s, const struct options *o)
{
    const struct lw_config *cfg = &s->cfg;
    char err[1024];
    size_t n;
    int ok;
    char **paths = rule_paths(cfg, o, &n);
    char *classes = classification_path(cfg, &ok);
    struct rule_list *rl = NULL;
    struct threshold_ctx *th = NULL;
    int rc = -1;

    if (!paths || !ok) {
        fprintf(stderr, "linkwatch: error: out of memory loading rules\n");
        goto out;
    }
    rl = ruleset_load_files((const char *const *)paths, n, cfg, classes, &s->rules);
    if (!rl) {
        fprintf(stderr, "linkwatch: error: out of memory loading rules\n");
        goto out;
    }
    for (size_t i = 0; i < s->rules.nlines; i++)
        lw_log(LOG_LVL_WARNING, "rules: %s", s->rules.lines[i]);
    if (s->rules.nlines < s->rules.errors)
        lw_log(LOG_LVL_WARNING, "rules: %zu more errors not shown (linkwatch -T lists the reasons)",
               s->rules.errors - s->rules.nlines);
    if (s->rules.errors && cfg->rules.strict) {
        fprintf(stderr, "linkwatch: error: rules.strict: %zu rule error(s), not starting\n",
                s->rules.errors);
        rule_list_free(rl);
        goto out;
    }
    th = threshold_new(0);
    if (!th) {
        fprintf(stderr, "linkwatch: error: out of memory for thresholds\n");
        rule_list_free(rl);
        goto out;
    }
    if (cfg->rules.threshold_file && cfg->rules.threshold_file[0]) {
        char *tp = config_relative(cfg, cfg->rules.threshold_file);
        struct stat st;

        if (tp && stat(tp, &st) < 0 && errno == ENOENT) {
            lw_log(LOG_LVL_WARNING, "rules.threshold-file: %s: not found, no thresholds or suppressions", tp);
        } else if (!tp || threshold_config_load(th, tp, err, sizeof err) < 0) {
            fprintf(stderr, "linkwatch: error: rules.threshold-file: %s\n", tp ? err : "out of memory");
            free(tp);
            rule_list_free(rl);
            goto out;
        }
        free(tp);
    }
    if (rl->n == 0) {
        rule_list_free(rl);
    } else {
        s->detect = detect_compile(rl, err, sizeof err);
        if (!s->detect) {
            fprintf(stderr, "linkwatch: error: rules: %s\n", err);
            goto out;
        }
    }
    if (worker_set_detect(&s->worker, s->detect, th, err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        goto out;
    }
    th = NULL;
    lw_log(LOG_LVL_INFO, "rules: %zu loaded, %zu failed from %zu file(s)", s->rules.loaded,
           s->rules.failed, s->rules.files);
    rc = 0;
out:
    threshold_free(th);
    free_paths(paths, n);
    free(classes);
    return rc;
}

static int sensor_run(struct sensor *s, const struct options *o)
{
    char err[1024];
    const char *logdir = o->logdir ? o->logdir : s->cfg.default_log_dir;
    uint64_t t0;
    double secs;

    if (ensure_dir(logdir) < 0) {
        fprintf(stderr, "linkwatch: error: %s: cannot use as log folder: %s\n", logdir, strerror(errno));
        return 1;
    }
    s->out = output_open(&s->cfg, logdir, err, sizeof err);
    if (!s->out) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        return 1;
    }
    if (worker_init(&s->worker, 0, &s->cfg, s->out, 1 /* DLT_EN10MB until a source says */,
                    err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        output_close(s->out);
        return 1;
    }
    if (load_rules(s, o) < 0) {
        worker_destroy(&s->worker);
        output_close(s->out);
        rule_load_report_free(&s->rules);
        return 1;
    }
    /* ---- Redis (issue 6): the flusher takes the worker's tallies. */
    s->redis = redis_of(output_find(s->out, "redis"));
    if (s->redis && redis_add_tally(s->redis, s->worker.tally) < 0) {
        fprintf(stderr, "linkwatch: error: redis: too many tally tables\n");
        s->redis = NULL;
    }
    /* ---- end Redis */
    jbuf_init(&s->jb);
    install_signals();
    s->start_mono = t0 = lw_now_mono_usec();

    if ((o->iface ? run_live(s, o) : run_files(s, o)) < 0)
        s->errors++;

    worker_flush(&s->worker, FLOW_END_SHUTDOWN);
    emit_stats(s, s->live ? lw_now_real_usec() : s->last_ts);
    output_flush(s->out);
    /* ---- Redis (issue 6): last counts and alerts out (or to the spool). */
    if (s->redis) {
        redis_health(s);
        redis_finish(s->redis, s->last_ts);
    }
    /* ---- end Redis */
    secs = (double)(lw_now_mono_usec() - t0) / 1e6;
    print_summary(s, logdir, secs);

    worker_destroy(&s->worker);
    detect_engine_free(s->detect);
    s->detect = NULL;
    rule_load_report_free(&s->rules);
    jbuf_free(&s->jb);
    output_close(s->out);
    s->out = NULL;
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
    if (o.test_only) {
        printf("linkwatch: configuration %s is valid\n",
               o.config_path ? o.config_path : "(built-in defaults)");
        rc = check_rules(&s.cfg, &o) == 0 ? 0 : 1;
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
