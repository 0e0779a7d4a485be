/* reload.c - start-up load and hot reload of the rules; see reload.h. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "eve.h"
#include "json.h"
#include "log.h"
#include "reload.h"
#include "util.h"

/* How long a reload waits for the workers to leave the old set before
 * leaving it for later (a worker stuck in a long packet, say). */
#define RELOAD_QUIESCE_USEC 5000000u

static const char *const status_names[] = {
    [RELOAD_OK] = "ok",
    [RELOAD_WITH_ERRORS] = "loaded-with-errors",
    [RELOAD_KEPT_OLD] = "kept-old",
    [RELOAD_FAILED] = "failed",
};

const char *reload_status_name(enum reload_status s)
{
    return (unsigned)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "?";
}

int reload_init(struct reload_state *r, const struct lw_config *cfg, unsigned nworkers,
                char **paths, size_t npaths, char *classification, char *threshold_file)
{
    memset(r, 0, sizeof *r);
    rules_slot_init(&r->slot, nworkers);
    pthread_mutex_init(&r->stats_lock, NULL);
    r->src.cfg = cfg;
    r->src.paths = paths;
    r->src.npaths = npaths;
    r->src.classification = classification;
    r->src.threshold_file = threshold_file;
    r->src.nworkers = nworkers;
    r->strict = cfg->rules.strict;
    r->sensor_id = cfg->sensor_id;
    return 0;
}

static void free_pending(struct reload_state *r)
{
    for (size_t i = 0; i < r->npending; i++)
        ruleset_free(r->pending[i]);
    r->npending = 0;
}

void reload_destroy(struct reload_state *r)
{
    free_pending(r);
    rules_slot_destroy(&r->slot);
    pthread_mutex_destroy(&r->stats_lock);
    for (size_t i = 0; i < r->src.npaths; i++)
        free(r->src.paths[i]);
    free(r->src.paths);
    free((char *)r->src.classification);
    free((char *)r->src.threshold_file);
}

/* What one reload did, for the reports. */
struct outcome {
    const char *origin;
    enum reload_status status;
    const char *why;               /* kept-old / failed: the reason */
    char err[512];
    const struct ruleset *rs;      /* the set built (NULL when it could not be) */
    const struct ruleset *old;     /* the set it kept (kept-old, failed), else NULL */
    uint64_t old_version;          /* the version that was live before, 0: none */
    uint64_t latency_usec;
    int old_freed;
    int64_t rss_after;
};

static double ms(uint64_t usec)
{
    return (double)usec / 1000.0;
}

static void report_json(struct jbuf *j, const struct outcome *o)
{
    const struct ruleset *rs = o->rs;

    jbuf_bool(j, "ok", o->status == RELOAD_OK || o->status == RELOAD_WITH_ERRORS);
    jbuf_str(j, "status", reload_status_name(o->status));
    jbuf_str(j, "origin", o->origin);
    if (o->why)
        jbuf_str(j, "message", o->why);
    if (rs) {
        char hash[17];

        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)rs->hash);
        if (o->status <= RELOAD_WITH_ERRORS)
            jbuf_u64(j, "version", rs->version);
        jbuf_str(j, "hash", hash);
        jbuf_u64(j, "files", rs->rep.files);
        jbuf_u64(j, "rules_loaded", rs->rep.loaded);
        jbuf_u64(j, "rules_failed", rs->rep.failed);
        jbuf_u64(j, "added", rs->added);
        jbuf_u64(j, "removed", rs->removed);
        jbuf_u64(j, "changed", rs->changed);
        jbuf_u64(j, "threshold_entries", rs->threshold_entries);
        jbuf_double(j, "load_ms", ms(rs->load_usec));
        jbuf_double(j, "compile_ms", ms(rs->compile_usec));
        jbuf_i64(j, "memory_bytes", rs->mem_bytes);
        jbuf_open_array(j, "errors");
        for (size_t i = 0; i < rs->rep.nlines; i++)
            jbuf_str(j, NULL, rs->rep.lines[i]);
        jbuf_close_array(j);
        if (rs->rep.errors > rs->rep.nlines)
            jbuf_u64(j, "errors_not_listed", rs->rep.errors - rs->rep.nlines);
    }
    if (o->old_version)
        jbuf_u64(j, "previous_version", o->old_version);
    if (o->status <= RELOAD_WITH_ERRORS) {
        jbuf_double(j, "latency_ms", ms(o->latency_usec));
        jbuf_bool(j, "old_freed", o->old_freed);
    }
    if (o->rss_after)
        jbuf_i64(j, "rss_after_bytes", o->rss_after);
}

static void report_text(FILE *out, const struct outcome *o)
{
    const struct ruleset *rs = o->rs;

    if (o->status <= RELOAD_WITH_ERRORS)
        fprintf(out, "reload: %s: rule set version %llu (hash %016llx) live in %.1f ms\n",
                reload_status_name(o->status), (unsigned long long)rs->version,
                (unsigned long long)rs->hash, ms(o->latency_usec));
    else
        fprintf(out, "reload: %s: %s\n", reload_status_name(o->status), o->why);
    if (o->status > RELOAD_WITH_ERRORS && o->old)
        fprintf(out, "        version %llu stays live\n", (unsigned long long)o->old->version);
    if (!rs)
        return;
    fprintf(out, "rules: %zu loaded, %zu failed from %zu file(s); %zu added, %zu removed, %zu changed; "
            "threshold.config: %zu entries\n", rs->rep.loaded, rs->rep.failed, rs->rep.files,
            rs->added, rs->removed, rs->changed, rs->threshold_entries);
    fprintf(out, "load %.1f ms, compile %.1f ms, memory %+.1f MB%s\n", ms(rs->load_usec),
            ms(rs->compile_usec), (double)rs->mem_bytes / 1048576.0,
            o->status > RELOAD_WITH_ERRORS ? "" : o->old_freed ? "; old set freed" : "; old set still in use");
    for (size_t i = 0; i < rs->rep.nlines; i++)
        fprintf(out, "%s\n", rs->rep.lines[i]);
    if (rs->rep.errors > rs->rep.nlines)
        fprintf(out, "... %zu more errors not listed (linkwatch -T lists them all)\n",
                rs->rep.errors - rs->rep.nlines);
}

static void report(struct reload_state *r, const struct outcome *o, int json, FILE *out)
{
    struct jbuf j;

    jbuf_init(&j);
    if (json && out) {
        jbuf_open_object(&j, NULL);
        report_json(&j, o);
        jbuf_close_object(&j);
        if (jbuf_ok(&j))
            fprintf(out, "%.*s\n", (int)j.len, j.buf);
    } else if (out) {
        report_text(out, o);
    }
    if (r->out && output_wants(r->out, EVT_RELOAD)) {
        jbuf_reset(&j);
        jbuf_open_object(&j, NULL);
        jbuf_timestamp(&j, "timestamp", lw_now_real_usec());
        jbuf_str(&j, "sensor_id", r->sensor_id);
        jbuf_str(&j, "event_type", "reload");
        jbuf_open_object(&j, "reload");
        report_json(&j, o);
        jbuf_close_object(&j);
        jbuf_close_object(&j);
        if (jbuf_ok(&j))
            output_event(r->out, EVT_RELOAD, j.buf, j.len);
    }
    jbuf_free(&j);
    if (o->status <= RELOAD_WITH_ERRORS)
        log_info("rules (%s): version %llu live: %zu loaded, %zu failed, %zu added, %zu removed, "
                 "%zu changed, in %.1f ms", o->origin, (unsigned long long)o->rs->version,
                 o->rs->rep.loaded, o->rs->rep.failed, o->rs->added, o->rs->removed, o->rs->changed,
                 ms(o->latency_usec));
    else
        log_error("rules (%s): %s: %s", o->origin, reload_status_name(o->status), o->why);
    if (o->rs)
        for (size_t i = 0; i < o->rs->rep.nlines; i++)
            log_warning("rules: %s", o->rs->rep.lines[i]);
}

/* Frees old once every worker has left it, else keeps it for later. */
static int retire(struct reload_state *r, struct ruleset *old, uint64_t epoch)
{
    if (!old)
        return 1;
    if (rules_slot_wait(&r->slot, epoch, RELOAD_QUIESCE_USEC, &r->stopping) == 0) {
        ruleset_free(old);
        free_pending(r);           /* older ones are certainly left too */
        malloc_trim(0);            /* give the old set's pages back */
        return 1;
    }
    if (r->npending == RELOAD_MAX_PENDING) {
        log_error("rules: a worker has not passed a quiescent point for %d reloads; "
                  "keeping the old set's memory until shutdown", RELOAD_MAX_PENDING);
        ruleset_free(r->pending[0]);   /* the oldest: the workers hold at most the last one */
        memmove(r->pending, r->pending + 1, (RELOAD_MAX_PENDING - 1) * sizeof *r->pending);
        r->npending--;
    }
    r->pending[r->npending++] = old;
    return 0;
}

/* Copies the counters and the live set's counts to r->pub. Called with
 * slot.lock held. */
static void publish_stats(struct reload_state *r)
{
    const struct ruleset *rs = rules_slot_get(&r->slot);
    struct reload_stats p = {
        .loaded = rs ? rs->rep.loaded : 0,
        .failed = rs ? rs->rep.failed : 0,
        .version = rs ? rs->version : 0,
        .reloads = r->reloads,
        .failures = r->reload_failures,
        .last_latency_usec = r->last_latency_usec,
        .last_status = (uint64_t)r->last_status,
    };

    pthread_mutex_lock(&r->stats_lock);
    r->pub = p;
    pthread_mutex_unlock(&r->stats_lock);
}

enum reload_status reload_rules(struct reload_state *r, const char *origin, int json, FILE *out)
{
    struct outcome o = { .origin = origin };
    uint64_t t0 = lw_now_mono_usec(), epoch;
    struct ruleset *rs, *old;
    int startup = strcmp(origin, "startup") == 0;

    pthread_mutex_lock(&r->slot.lock);
    old = rules_slot_get(&r->slot);
    o.old = old;
    o.old_version = old ? old->version : 0;
    rs = ruleset_build(&r->src, old, o.err, sizeof o.err);
    o.rs = rs;
    if (!rs) {
        o.status = RELOAD_FAILED;
        o.why = o.err;
    } else if (r->strict && rs->rep.errors) {
        o.status = RELOAD_KEPT_OLD;
        snprintf(o.err, sizeof o.err, "rules.strict: %zu error(s) in the new rules", rs->rep.errors);
        o.why = o.err;
    } else if (ruleset_rule_count(rs) == 0 && ruleset_rule_count(old) > 0) {
        o.status = RELOAD_KEPT_OLD;
        snprintf(o.err, sizeof o.err, "the new rules load no rule at all (%zu error(s)); "
                 "not replacing %zu rules with none", rs->rep.errors, ruleset_rule_count(old));
        o.why = o.err;
    } else {
        o.status = rs->rep.errors ? RELOAD_WITH_ERRORS : RELOAD_OK;
        rs->version = old ? old->version + 1 : 1;
        old = rules_slot_publish(&r->slot, rs, &epoch);
        o.old = NULL;
        o.latency_usec = lw_now_mono_usec() - t0;
        o.old_freed = retire(r, old, epoch);
        o.rss_after = lw_rss_bytes();
    }
    if (!startup) {
        r->reloads++;
        if (o.status >= RELOAD_KEPT_OLD)
            r->reload_failures++;
        r->last_latency_usec = o.latency_usec;
        r->last_status = o.status;
        r->last_at = lw_now_real_usec();
    }
    publish_stats(r);
    report(r, &o, json, out);
    if (o.status >= RELOAD_KEPT_OLD)
        ruleset_free(rs);
    pthread_mutex_unlock(&r->slot.lock);
    return o.status;
}

void reload_describe(struct reload_state *r, int json, FILE *out)
{
    struct ruleset *rs;
    struct jbuf j;
    char hash[17];

    pthread_mutex_lock(&r->slot.lock);
    rs = rules_slot_get(&r->slot);
    snprintf(hash, sizeof hash, "%016llx", rs ? (unsigned long long)rs->hash : 0ull);
    if (!json) {
        if (!rs) {
            fprintf(out, "no rule set loaded\n");
        } else {
            fprintf(out, "version %llu, hash %s, %zu rules loaded, %zu failed, from %zu file(s)\n",
                    (unsigned long long)rs->version, hash, rs->rep.loaded, rs->rep.failed, rs->rep.files);
            fprintf(out, "built in %.1f ms (load %.1f, compile %.1f), memory %+.1f MB\n",
                    ms(rs->load_usec + rs->compile_usec), ms(rs->load_usec), ms(rs->compile_usec),
                    (double)rs->mem_bytes / 1048576.0);
        }
        fprintf(out, "reloads: %llu, failed %llu, last %s in %.1f ms\n", (unsigned long long)r->reloads,
                (unsigned long long)r->reload_failures,
                r->reloads ? reload_status_name((enum reload_status)r->last_status) : "-",
                ms(r->last_latency_usec));
        pthread_mutex_unlock(&r->slot.lock);
        return;
    }
    jbuf_init(&j);
    jbuf_open_object(&j, NULL);
    jbuf_bool(&j, "ok", 1);
    if (rs) {
        jbuf_u64(&j, "version", rs->version);
        jbuf_str(&j, "hash", hash);
        jbuf_u64(&j, "rules_loaded", rs->rep.loaded);
        jbuf_u64(&j, "rules_failed", rs->rep.failed);
        jbuf_u64(&j, "files", rs->rep.files);
        jbuf_double(&j, "load_ms", ms(rs->load_usec));
        jbuf_double(&j, "compile_ms", ms(rs->compile_usec));
        jbuf_i64(&j, "memory_bytes", rs->mem_bytes);
        jbuf_timestamp(&j, "built_at", rs->built_at);
    }
    jbuf_u64(&j, "reloads", r->reloads);
    jbuf_u64(&j, "reload_failures", r->reload_failures);
    if (r->reloads) {
        jbuf_str(&j, "last_status", reload_status_name((enum reload_status)r->last_status));
        jbuf_double(&j, "last_latency_ms", ms(r->last_latency_usec));
    }
    jbuf_close_object(&j);
    if (jbuf_ok(&j))
        fprintf(out, "%.*s\n", (int)j.len, j.buf);
    jbuf_free(&j);
    pthread_mutex_unlock(&r->slot.lock);
}

void reload_get_stats(struct reload_state *r, struct reload_stats *out)
{
    pthread_mutex_lock(&r->stats_lock);
    *out = r->pub;
    pthread_mutex_unlock(&r->stats_lock);
}

#define RL(member, prom, help, kind, scale) \
    { "rules/" #member, prom, NULL, help, (uint32_t)offsetof(struct reload_stats, member), kind, STATS_SUM, \
      STATS_NOEVE, scale, NULL }
static const struct stats_field reload_fields[] = {
    RL(loaded, "linkwatch_rules_loaded", "Rules in the live rule set.", STATS_GAUGE, 0),
    RL(failed, "linkwatch_rules_failed", "Rules of the live set's files that did not load.", STATS_GAUGE, 0),
    RL(version, "linkwatch_ruleset_version", "Version of the live rule set (1 at start, +1 per reload).",
       STATS_GAUGE, 0),
    RL(reloads, "linkwatch_rule_reloads_total", "Rule reloads attempted.", STATS_COUNTER, 0),
    RL(failures, "linkwatch_rule_reload_failures_total", "Rule reloads that kept the old set.", STATS_COUNTER, 0),
    RL(last_latency_usec, "linkwatch_rule_reload_last_latency_seconds", "Request to new set live, last reload.",
       STATS_GAUGE, 1e-6),
    RL(last_status, "linkwatch_rule_reload_last_status",
       "Last reload: 0 ok, 1 loaded with errors, 2 kept old, 3 failed.", STATS_GAUGE, 0),
};
#undef RL

const struct stats_module reload_stats_module = {
    "rules", reload_fields, STATS_NELEM(reload_fields), sizeof(struct reload_stats), NULL
};
