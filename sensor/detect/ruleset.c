/* ruleset.c - building one generation of the rules and publishing it; see ruleset.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "detect.h"
#include "log.h"
#include "ruleset.h"
#include "threshold.h"
#include "util.h"
#include "rule-load.h"

#define FNV_OFFSET 1469598103934665603ull
#define FNV_PRIME  1099511628211ull

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV_PRIME;
    return h;
}

static int key_cmp(const void *a, const void *b)
{
    const struct ruleset_key *x = a, *y = b;

    if (x->gid != y->gid)
        return x->gid < y->gid ? -1 : 1;
    return x->sid < y->sid ? -1 : x->sid > y->sid;
}

static const struct ruleset_key *key_find(const struct ruleset *rs, uint32_t gid, uint32_t sid)
{
    struct ruleset_key k = { .gid = gid, .sid = sid };

    if (!rs || rs->nkeys == 0)
        return NULL;
    return bsearch(&k, rs->keys, rs->nkeys, sizeof k, key_cmp);
}

int64_t ruleset_rev(const struct ruleset *rs, uint32_t gid, uint32_t sid)
{
    const struct ruleset_key *k = key_find(rs, gid, sid);

    return k ? (int64_t)k->rev : -1;
}

/* The keys of l, sorted, and the set's content hash over them. */
static int collect_keys(struct ruleset *rs, const struct rule_list *l)
{
    rs->keys = malloc((l->n ? l->n : 1) * sizeof *rs->keys);
    if (!rs->keys)
        return -1;
    for (size_t i = 0; i < l->n; i++) {
        const struct rule *r = l->v[i];

        rs->keys[i] = (struct ruleset_key){ r->gid, r->sid, r->rev, r->text_hash };
    }
    rs->nkeys = l->n;
    qsort(rs->keys, rs->nkeys, sizeof *rs->keys, key_cmp);
    for (size_t i = 0; i < rs->nkeys; i++) {
        const struct ruleset_key *k = &rs->keys[i];

        rs->hash = fnv(rs->hash, &k->gid, sizeof k->gid);
        rs->hash = fnv(rs->hash, &k->sid, sizeof k->sid);
        rs->hash = fnv(rs->hash, &k->text_hash, sizeof k->text_hash);
    }
    return 0;
}

/* added / removed / changed (same gid:sid, other rev or text) against old. */
static void diff(struct ruleset *rs, const struct ruleset *old)
{
    size_t i = 0, j = 0, no = old ? old->nkeys : 0;

    while (i < rs->nkeys || j < no) {
        int c = i == rs->nkeys ? 1 : j == no ? -1 : key_cmp(&rs->keys[i], &old->keys[j]);

        if (c < 0) {
            rs->added++;
            i++;
        } else if (c > 0) {
            rs->removed++;
            j++;
        } else {
            if (rs->keys[i].rev != old->keys[j].rev || rs->keys[i].text_hash != old->keys[j].text_hash)
                rs->changed++;
            i++;
            j++;
        }
    }
}

/* Hashes the threshold file's bytes into rs->hash; a missing file hashes as empty. */
static void hash_file(struct ruleset *rs, const char *path)
{
    char buf[8192];
    size_t n;
    FILE *f = fopen(path, "rb");

    if (!f)
        return;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        rs->hash = fnv(rs->hash, buf, n);
    fclose(f);
}

/* One threshold context per worker, each with the threshold file loaded. */
static int build_thresholds(struct ruleset *rs, const char *path, struct threshold_ctx *shared,
                            char *err, size_t errlen)
{
    struct stat st;
    int have = path && path[0];

    if (have && stat(path, &st) < 0 && errno == ENOENT) {
        log_warning("rules.threshold-file: %s: not found, no thresholds or suppressions", path);
        have = 0;
    }
    for (unsigned w = 0; w < rs->nworkers; w++) {
        int n;

        rs->th[w] = threshold_new(0);
        if (!rs->th[w]) {
            snprintf(err, errlen, "out of memory for thresholds");
            return -1;
        }
        if (shared)
            threshold_use_shared(rs->th[w], shared);
        if (!have)
            continue;
        n = threshold_config_load(rs->th[w], path, err, errlen);
        if (n < 0)
            return -1;
        rs->threshold_entries = (size_t)n;
    }
    if (have)
        hash_file(rs, path);
    return 0;
}

struct ruleset *ruleset_build(const struct ruleset_source *src, const struct ruleset *old,
                              char *err, size_t errlen)
{
    struct ruleset *rs = calloc(1, sizeof *rs);
    struct rule_list *l;
    int64_t rss0 = lw_rss_bytes();
    uint64_t t0;

    if (!rs)
        goto oom;
    rs->hash = FNV_OFFSET;
    rs->nworkers = src->nworkers ? src->nworkers : 1;
    rs->dt = calloc(rs->nworkers, sizeof *rs->dt);
    rs->th = calloc(rs->nworkers, sizeof *rs->th);
    if (!rs->dt || !rs->th)
        goto oom;
    t0 = lw_now_mono_usec();
    l = ruleset_load_files((const char *const *)src->paths, src->npaths, src->cfg,
                           src->classification, &rs->rep);
    rs->load_usec = lw_now_mono_usec() - t0;
    if (!l)
        goto oom;
    if (collect_keys(rs, l) < 0) {
        rule_list_free(l);
        goto oom;
    }
    diff(rs, old);
    if (build_thresholds(rs, src->threshold_file, src->shared_th, err, errlen) < 0) {
        rule_list_free(l);
        goto fail;
    }
    t0 = lw_now_mono_usec();
    if (l->n == 0) {
        rule_list_free(l);
    } else {
        char cerr[512];

        rs->engine = detect_compile(l, cerr, sizeof cerr);   /* owns l from here */
        if (!rs->engine) {
            snprintf(err, errlen, "rules: %s", cerr);
            goto fail;
        }
        for (unsigned w = 0; w < rs->nworkers; w++)
            if (!(rs->dt[w] = detect_thread_new(rs->engine))) {
                snprintf(err, errlen, "out of memory for the rule matcher's scratch");
                goto fail;
            }
    }
    rs->compile_usec = lw_now_mono_usec() - t0;
    rs->mem_bytes = lw_rss_bytes() - rss0;
    rs->built_at = lw_now_real_usec();
    return rs;
oom:
    snprintf(err, errlen, "out of memory loading rules");
fail:
    ruleset_free(rs);
    return NULL;
}

void ruleset_free(struct ruleset *rs)
{
    if (!rs)
        return;
    for (unsigned w = 0; w < rs->nworkers; w++) {
        if (rs->dt)
            detect_thread_free(rs->dt[w]);
        if (rs->th)
            threshold_free(rs->th[w]);
    }
    free(rs->dt);
    free(rs->th);
    detect_engine_free(rs->engine);
    rule_load_report_free(&rs->rep);
    free(rs->keys);
    free(rs);
}

size_t ruleset_rule_count(const struct ruleset *rs)
{
    return rs ? rs->nkeys : 0;
}

/* ---------------------------------------------------------------- publication */

void rules_slot_init(struct rules_slot *s, unsigned nworkers)
{
    atomic_init(&s->cur, NULL);
    atomic_init(&s->epoch, 1);
    for (unsigned i = 0; i < RULES_MAX_WORKERS; i++)
        atomic_init(&s->qs[i], 1);
    s->nworkers = nworkers < RULES_MAX_WORKERS ? nworkers : RULES_MAX_WORKERS;
    pthread_mutex_init(&s->lock, NULL);
}

void rules_slot_destroy(struct rules_slot *s)
{
    ruleset_free(atomic_exchange(&s->cur, NULL));
    pthread_mutex_destroy(&s->lock);
}

struct ruleset *rules_slot_publish(struct rules_slot *s, struct ruleset *rs, uint64_t *epoch)
{
    struct ruleset *old = atomic_exchange_explicit(&s->cur, rs, memory_order_seq_cst);

    *epoch = atomic_fetch_add_explicit(&s->epoch, 1, memory_order_seq_cst) + 1;
    return old;
}

int rules_slot_wait(struct rules_slot *s, uint64_t epoch, uint64_t timeout_usec,
                    const volatile int *stop)
{
    uint64_t deadline = lw_now_mono_usec() + timeout_usec;
    struct timespec nap = { 0, 200000 };   /* 0.2 ms */

    for (;;) {
        unsigned w;

        for (w = 0; w < s->nworkers; w++)
            if (atomic_load_explicit(&s->qs[w], memory_order_seq_cst) < epoch)
                break;
        if (w == s->nworkers)
            return 0;
        if ((stop && *stop) || lw_now_mono_usec() > deadline)
            return -1;
        nanosleep(&nap, NULL);
    }
}

/* ---------------------------------------------------------------- linkwatch -T */

struct reach_report {
    FILE *out;
    size_t shown;
    char **why;                    /* pending reasons, one entry per distinct text */
    size_t *count;
    size_t n, cap;
};

static void reach_note(void *arg, const struct rule *r, const char *why, int pending)
{
    struct reach_report *rr = arg;
    size_t i;

    if (!pending) {
        if (rr->shown++ < RULE_REPORT_MAX_ERRORS)
            fprintf(rr->out, "%s:%u: never matches: %s\n", r->file ? r->file : "-", r->line, why);
        return;
    }
    for (i = 0; i < rr->n && strcmp(rr->why[i], why) != 0; i++)
        ;
    if (i == rr->n) {
        if (rr->n == rr->cap) {
            size_t cap = rr->cap ? rr->cap * 2 : 16;
            char **w = realloc(rr->why, cap * sizeof *w);
            size_t *c = realloc(rr->count, cap * sizeof *c);

            if (w)
                rr->why = w;
            if (c)
                rr->count = c;
            if (w == NULL || c == NULL)
                return;
            rr->cap = cap;
        }
        if ((rr->why[i] = strdup(why)) == NULL)
            return;
        rr->count[i] = 0;
        rr->n++;
    }
    rr->count[i]++;
}

int ruleset_check(const char *const *paths, size_t n, const struct lw_config *cfg,
                  const char *classification_path, FILE *out)
{
    struct reach_report rr = { .out = out };
    struct rule_load_report rep;
    struct detect_engine *e;
    struct rule_list *l;
    size_t bad, pending;
    char err[256];
    int rc;

    if ((l = ruleset_load_files(paths, n, cfg, classification_path, &rep)) == NULL) {
        fprintf(out, "rules: out of memory\n");
        return 2;
    }
    rule_load_report_print(&rep, out, 15);
    rc = rep.errors ? 1 : 0;
    rule_load_report_free(&rep);
    if ((e = detect_compile(l, err, sizeof err)) == NULL) {
        fprintf(out, "rules: the engine can not be built: %s\n", err);
        return 2;
    }
    bad = detect_engine_check(e, reach_note, &rr, &pending);
    if (bad)
        fprintf(out, "rules: %zu loaded but can never match\n", bad);
    if (pending)
        fprintf(out, "rules: %zu loaded, waiting for the application-layer parser that fills what they inspect:\n",
                pending);
    for (size_t i = 1; i < rr.n; i++)          /* most frequent first (insertion sort: few) */
        for (size_t k = i; k > 0 && rr.count[k] > rr.count[k - 1]; k--) {
            size_t c = rr.count[k];
            char *w = rr.why[k];

            rr.count[k] = rr.count[k - 1];
            rr.why[k] = rr.why[k - 1];
            rr.count[k - 1] = c;
            rr.why[k - 1] = w;
        }
    for (size_t i = 0; i < rr.n; i++) {
        fprintf(out, "%8zu  %s\n", rr.count[i], rr.why[i]);
        free(rr.why[i]);
    }
    free(rr.why);
    free(rr.count);
    detect_engine_free(e);
    return bad ? 1 : rc;
}
