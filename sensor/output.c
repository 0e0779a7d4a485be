/* output.c - event fan-out to exporters; see output.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "log.h"

#define OUTPUT_MAX_EXPORTERS 8

struct output {
    pthread_mutex_t lock;
    struct exporter *x[OUTPUT_MAX_EXPORTERS];
    size_t n;
    uint32_t wanted;                  /* union of the exporters' type masks */
    uint64_t count[EVT_MAX];
};

static const char *const type_names[EVT_MAX] = {
    [EVT_ALERT] = "alert", [EVT_FLOW] = "flow", [EVT_STATS] = "stats",
    [EVT_GEO_SUMMARY] = "geo_summary", [EVT_RELOAD] = "reload",
};

int event_type_parse(const char *name)
{
    for (int i = 0; i < EVT_MAX; i++)
        if (strcmp(name, type_names[i]) == 0)
            return i;
    return -1;
}

const char *event_type_name(enum event_type t)
{
    return t < EVT_MAX ? type_names[t] : "unknown";
}

/* Type names were checked by the config loader; an unknown one here is a bug there. */
static uint32_t types_mask(const struct cfg_strlist *l)
{
    uint32_t m = 0;
    for (size_t i = 0; i < l->n; i++) {
        int t = event_type_parse(l->v[i]);
        if (t >= 0)
            m |= 1u << t;
    }
    return m;
}

static int output_add(struct output *o, struct exporter *x)
{
    if (o->n == OUTPUT_MAX_EXPORTERS)
        return -1;
    o->x[o->n++] = x;
    o->wanted |= x->types;
    return 0;
}

struct output *output_open(const struct lw_config *cfg, const char *logdir, char *err, size_t errlen)
{
    struct output *o = calloc(1, sizeof *o);
    char path[4096];

    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&o->lock, NULL);
    if (cfg->outputs.eve_file.enabled) {
        const char *fn = cfg->outputs.eve_file.filename;
        struct exporter *x;

        if (fn[0] == '/')
            snprintf(path, sizeof path, "%s", fn);
        else
            snprintf(path, sizeof path, "%s/%s", logdir, fn);
        x = eve_file_open(path, types_mask(&cfg->outputs.eve_file.types), err, errlen);
        if (!x || output_add(o, x) < 0)
            goto fail;
    }
    if (cfg->redis.enabled) {
        uint32_t types = 1u << EVT_ALERT | (cfg->redis.flows_stream ? 1u << EVT_FLOW : 0);
        struct exporter *x = redis_exporter_open(cfg, types, err, errlen);

        if (!x)
            goto fail;
        if (output_add(o, x) < 0) {
            x->ops->close(x);
            goto fail;
        }
    }
    return o;
fail:
    output_close(o);
    return NULL;
}

void output_close(struct output *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++) {
        o->x[i]->ops->flush(o->x[i]);
        o->x[i]->ops->close(o->x[i]);
    }
    pthread_mutex_destroy(&o->lock);
    free(o);
}

int output_wants(const struct output *o, enum event_type t)
{
    return (o->wanted >> t) & 1u;
}

void output_event(struct output *o, enum event_type t, const char *line, size_t len)
{
    pthread_mutex_lock(&o->lock);
    o->count[t]++;
    for (size_t i = 0; i < o->n; i++) {
        struct exporter *x = o->x[i];
        if (!((x->types >> t) & 1u))
            continue;
        if (x->ops->write_event(x, t, line, len) == 0)
            x->counters.written++;
        else
            x->counters.failed++;
    }
    pthread_mutex_unlock(&o->lock);
}

void output_flush(struct output *o)
{
    pthread_mutex_lock(&o->lock);
    for (size_t i = 0; i < o->n; i++)
        if (o->x[i]->ops->flush(o->x[i]) < 0)
            o->x[i]->counters.failed++;
    pthread_mutex_unlock(&o->lock);
}

int output_reopen(struct output *o)
{
    int rc = 0;

    pthread_mutex_lock(&o->lock);
    for (size_t i = 0; i < o->n; i++) {
        if (o->x[i]->ops->reopen(o->x[i]) < 0) {
            log_error("%s: reopen failed", o->x[i]->ops->name);
            rc = -1;
        }
    }
    pthread_mutex_unlock(&o->lock);
    return rc;
}

struct exporter *output_find(const struct output *o, const char *name)
{
    for (size_t i = 0; o && i < o->n; i++)
        if (strcmp(o->x[i]->ops->name, name) == 0)
            return o->x[i];
    return NULL;
}

uint64_t output_count(const struct output *o, enum event_type t)
{
    return o->count[t];
}

uint64_t output_failures(const struct output *o)
{
    uint64_t n = 0;
    for (size_t i = 0; i < o->n; i++)
        n += o->x[i]->counters.failed;
    return n;
}
