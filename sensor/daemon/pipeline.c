/* pipeline.c - the daemon builds its pipeline: the workers and the capture
 * stage that feeds them, their geolocation, the rule sets with their
 * control thread; and -T's checks of the same inputs. */
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "geo.h"
#include "geo-merge.h"
#include "log.h"
#include "ruleset.h"
#include "rule-paths.h"
#include "sensor.h"
#include "threshold.h"
#include "rule-load.h"

char *sensor_config_path(const struct lw_config *cfg, const char *path)
{
    const char *src = cfg->source_path, *slash = src ? strrchr(src, '/') : NULL;
    char *out;

    /* A relative path in the configuration is relative to the folder of
     * the -c file (as rules/... in the shipped linkwatch.yaml), or to the
     * current folder with the built-in defaults. */
    if (path[0] == '/' || !slash)
        return strdup(path);
    if (asprintf(&out, "%.*s/%s", (int)(slash - src), src, path) < 0)
        return NULL;
    return out;
}

void sensor_free_paths(char **paths, size_t n)
{
    for (size_t i = 0; paths && i < n; i++)
        free(paths[i]);
    free(paths);
}

/* The rule files to load: the -S files as given, else rules.files relative
 * to the config's folder. Returns a NULL-terminated malloc'd array (free
 * with sensor_free_paths()) or NULL when out of memory. */
static char **rule_paths(const struct lw_config *cfg, const struct options *o, size_t *n)
{
    char **paths;

    *n = o->nrule_files ? o->nrule_files : cfg->rules.files.n;
    paths = calloc(*n + 1, sizeof *paths);
    if (!paths)
        return NULL;
    for (size_t i = 0; i < *n; i++) {
        paths[i] = o->nrule_files ? strdup(o->rule_files[i]) : sensor_config_path(cfg, cfg->rules.files.v[i]);
        if (!paths[i]) {
            sensor_free_paths(paths, i);
            return NULL;
        }
    }
    return paths;
}

char **sensor_geo_paths(const struct lw_config *cfg)
{
    const struct cfg_strlist *l = &cfg->geoip.databases;
    char **paths = calloc(l->n + 1, sizeof *paths);

    for (size_t i = 0; paths && i < l->n; i++) {
        paths[i] = sensor_config_path(cfg, l->v[i]);
        if (!paths[i]) {
            sensor_free_paths(paths, i);
            return NULL;
        }
    }
    return paths;
}

int sensor_check_geo(const struct lw_config *cfg)
{
    char err[1024];
    char **paths = sensor_geo_paths(cfg);
    int rc = paths ? geo_check_databases((const char *const *)paths, cfg->geoip.databases.n,
                                         err, sizeof err) : -1;

    if (rc < 0)
        fprintf(stderr, "linkwatch: error: %s\n", paths ? err : "out of memory");
    sensor_free_paths(paths, cfg->geoip.databases.n);
    return rc;
}

/* Opens geoip.databases (none is fine: geolocation is off) and gives each
 * worker its geo stage; several workers write one summary through a merger. */
int sensor_open_geo(struct sensor *s)
{
    char err[1024];
    char **paths = sensor_geo_paths(&s->cfg);

    if (!paths) {
        fprintf(stderr, "linkwatch: error: out of memory opening geoip.databases\n");
        return -1;
    }
    s->geo = geo_open(&s->cfg, (const char *const *)paths, s->cfg.geoip.databases.n, err, sizeof err);
    sensor_free_paths(paths, s->cfg.geoip.databases.n);
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
        s->geo_merge = geo_merge_new(s->nworkers);
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
    p = sensor_config_path(cfg, cfg->rules.classification_file);
    *ok = p != NULL;
    return p;
}

int sensor_check_rule_paths(const struct lw_config *cfg, const struct options *o, char *err, size_t errlen)
{
    size_t n;
    char **paths = rule_paths(cfg, o, &n);
    int rc;

    if (!paths) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = rule_paths_check((const char *const *)paths, n, !o->nrule_files && rule_files_default(cfg), err, errlen);
    sensor_free_paths(paths, n);
    return rc;
}

int sensor_check_rules(const struct lw_config *cfg, const struct options *o)
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
    sensor_free_paths(paths, n);
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

/* Loads the rules (rules.files or -S, threshold.config) as rule set version
 * 1 and starts the control thread that reloads them. A rule that does not
 * load is logged as file:line: reason and skipped (rules.strict refuses to
 * start instead). */
int sensor_start_rules(struct sensor *s, const struct options *o)
{
    const struct lw_config *cfg = &s->cfg;
    struct control_config cc = { 0 };
    char err[512];
    size_t n, nwatch = 0;
    int ok;
    char **paths = rule_paths(cfg, o, &n);
    char *classes = classification_path(cfg, &ok);
    char *thr = cfg->rules.threshold_file && cfg->rules.threshold_file[0]
                ? sensor_config_path(cfg, cfg->rules.threshold_file) : NULL;
    char **dirs = NULL;
    enum reload_status st;

    if (!paths || !ok || (cfg->rules.threshold_file && cfg->rules.threshold_file[0] && !thr)) {
        sensor_free_paths(paths, n);
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
    cc.handler = sensor_control_command;
    cc.arg = s;
    s->control = control_start(&cc, err, sizeof err);
    sensor_free_paths(dirs, nwatch);
    if (!s->control) {
        fprintf(stderr, "linkwatch: error: %s\n", err);
        return -1;
    }
    return 0;
}

/* Stops reloads: the control thread first, so no set is freed under the
 * final flush. */
void sensor_stop_control(struct sensor *s)
{
    s->reload.stopping = 1;
    control_stop(s->control);
    s->control = NULL;
}

void sensor_destroy_workers(struct sensor *s)
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
 * and the capture stage that feeds them. */
int sensor_start_workers(struct sensor *s, char *err, size_t errlen)
{
    s->nworkers = dispatch_workers_for(&s->cfg);
    if (s->nworkers > 1) {
        /* Each worker's tables are its share of the sensor's. */
        s->cfg.flow.max_flows = (s->cfg.flow.max_flows + s->nworkers - 1) / s->nworkers;
        s->cfg.stream.memcap = (s->cfg.stream.memcap + s->nworkers - 1) / s->nworkers;
        s->cfg.app_layer.memcap = (s->cfg.app_layer.memcap + s->nworkers - 1) / s->nworkers;
        s->cfg.flow.state_memory = (s->cfg.flow.state_memory + s->nworkers - 1) / s->nworkers;
    }
    s->workers = calloc(s->nworkers, sizeof *s->workers);
    if (!s->workers) {
        snprintf(err, errlen, "no memory for %u workers", s->nworkers);
        return -1;
    }
    for (unsigned i = 0; i < s->nworkers; i++)
        if (worker_init(&s->workers[i], i, &s->cfg, s->out, err, errlen) < 0) {
            s->nworkers = i;          /* the ones set up */
            sensor_destroy_workers(s);
            return -1;
        }
    if (dispatch_init(&s->disp, s->workers, s->nworkers, &s->cfg, err, errlen) < 0) {
        sensor_destroy_workers(s);
        return -1;
    }
    if (s->nworkers > 1)
        log_info("%u workers, %llu MB queue each", s->nworkers,
                 (unsigned long long)(s->cfg.worker_queue_size >> 20));
    return 0;
}

/* After the workers and every rule set are gone. */
void sensor_free_shared(struct sensor *s)
{
    threshold_free(s->shared_th);
    s->shared_th = NULL;
}
