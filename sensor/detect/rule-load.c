/* rule-load.c - rule files: reading them (globs, folders, continuation
 * lines), parsing each rule, refusing duplicate sids, and the report of what
 * did not load and why (linkwatch -T, reload replies). */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rule-load.h"
#include "rule-parse.h"
#include "rule-text.h"
#include "util.h"

/* ------------------------------------------------------------------ loader state */

/* gid:sid -> index of the rule in the list; open addressing. */
struct sidmap {
    uint64_t *keys;                    /* 0: empty (gid:sid 0:0 is never stored) */
    uint32_t *idx;
    size_t    cap, n;
};

struct loader {
    struct rule_list        *list;
    struct rule_load_report *rep;
    struct rule_parse_env    env;
    struct sidmap            sids;
    size_t                   cap;
    struct rule_reason      *reasons;  /* open-addressed by text while loading */
    size_t                   rcap, rn;
};

static int sidmap_grow(struct sidmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *idx = calloc(cap, sizeof *idx);

    if (keys == NULL || idx == NULL) {
        free(keys);
        free(idx);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        size_t h;

        if (m->keys[i] == 0)
            continue;
        for (h = lw_mix64(m->keys[i]) & (cap - 1); keys[h]; h = (h + 1) & (cap - 1))
            ;
        keys[h] = m->keys[i];
        idx[h] = m->idx[i];
    }
    free(m->keys);
    free(m->idx);
    m->keys = keys;
    m->idx = idx;
    m->cap = cap;
    return 0;
}

/* Finds key; when absent, inserts it with value v. Returns the slot's
 * value (v when inserted), or -1 when out of memory. *found tells which. */
static long sidmap_put(struct sidmap *m, uint64_t key, uint32_t v, int *found)
{
    size_t h;

    if ((m->n + 1) * 2 > m->cap && sidmap_grow(m) < 0)
        return -1;
    for (h = lw_mix64(key) & (m->cap - 1); m->keys[h]; h = (h + 1) & (m->cap - 1))
        if (m->keys[h] == key) {
            *found = 1;
            return m->idx[h];
        }
    m->keys[h] = key;
    m->idx[h] = v;
    m->n++;
    *found = 0;
    return v;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

static int reason_count(struct loader *ld, const char *text)
{
    size_t h;

    if ((ld->rn + 1) * 2 > ld->rcap) {
        size_t cap = ld->rcap ? ld->rcap * 2 : 64;
        struct rule_reason *v = calloc(cap, sizeof *v);

        if (v == NULL)
            return -1;
        for (size_t i = 0; i < ld->rcap; i++) {
            if (ld->reasons[i].text == NULL)
                continue;
            for (h = str_hash(ld->reasons[i].text) & (cap - 1); v[h].text; h = (h + 1) & (cap - 1))
                ;
            v[h] = ld->reasons[i];
        }
        free(ld->reasons);
        ld->reasons = v;
        ld->rcap = cap;
    }
    for (h = str_hash(text) & (ld->rcap - 1); ld->reasons[h].text; h = (h + 1) & (ld->rcap - 1))
        if (strcmp(ld->reasons[h].text, text) == 0) {
            ld->reasons[h].count++;
            return 0;
        }
    if ((ld->reasons[h].text = strdup(text)) == NULL)
        return -1;
    ld->reasons[h].count = 1;
    ld->rn++;
    return 0;
}

/* Records one error. line 0: no line number. agg NULL: not a rule (a file
 * or classification error), not counted as a failed rule. */
static int report_error(struct loader *ld, const char *file, unsigned line,
                        const char *msg, const char *agg)
{
    struct rule_load_report *rep = ld->rep;
    char *s;
    int n;

    rep->errors++;
    if (agg) {
        rep->failed++;
        if (reason_count(ld, agg) < 0)
            return -1;
    }
    if (rep->nlines >= RULE_REPORT_MAX_ERRORS)
        return 0;
    if (file == NULL)
        n = asprintf(&s, "%s", msg);
    else if (line)
        n = asprintf(&s, "%s:%u: %s", file, line, msg);
    else
        n = asprintf(&s, "%s: %s", file, msg);
    if (n < 0)
        return -1;
    if (rep->lines == NULL && (rep->lines = calloc(RULE_REPORT_MAX_ERRORS, sizeof *rep->lines)) == NULL) {
        free(s);
        return -1;
    }
    rep->lines[rep->nlines++] = s;
    return 0;
}

static int reason_cmp(const void *a, const void *b)
{
    const struct rule_reason *x = a, *y = b;

    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->text, y->text);
}

/* Moves the reason counts into the report, most frequent first. */
static void report_reasons(struct loader *ld)
{
    struct rule_load_report *rep = ld->rep;
    size_t o = 0;

    for (size_t i = 0; i < ld->rcap; i++)
        if (ld->reasons[i].text)
            ld->reasons[o++] = ld->reasons[i];
    if (o)
        qsort(ld->reasons, o, sizeof *ld->reasons, reason_cmp);
    rep->reasons = ld->reasons;
    rep->nreasons = o;
    ld->reasons = NULL;
}

/* ------------------------------------------------------------------ loading */

/* Parses one rule text from file:line into the list; refused rules and
 * duplicates go to the report. Returns -1 only when out of memory. */
static int load_rule(struct loader *ld, const char *text, const char *file, unsigned line)
{
    struct rule_list *l = ld->list;
    struct rule_error err;
    struct rule *r;
    char msg[RULE_ERR_LEN + 64];
    long first;
    int found;

    if (strlen(text) > RULE_MAX_TEXT)
        return report_error(ld, file, line, "rule longer than 65536 bytes", "rule too long");
    ld->env.file = file;
    if (rule_parse(text, &ld->env, &r, &err) < 0) {
        if (!err.skipped)
            return report_error(ld, file, line, err.msg, err.agg);
        ld->rep->skipped++;
        return 0;
    }
    r->file = file;
    r->line = line;
    first = sidmap_put(&ld->sids, (uint64_t)r->gid << 32 | r->sid, (uint32_t)l->n, &found);
    if (first < 0)
        goto oom;
    if (found) {
        const struct rule *o = l->v[first];

        snprintf(msg, sizeof msg, "duplicate sid %u (first at %s:%u)", r->sid, o->file, o->line);
        rule_free(r);
        return report_error(ld, file, line, msg, "duplicate sid");
    }
    if (l->n == ld->cap) {
        size_t cap = ld->cap ? ld->cap * 2 : 256;
        struct rule **v = realloc(l->v, cap * sizeof *v);

        if (v == NULL)
            goto oom;
        l->v = v;
        ld->cap = cap;
    }
    l->v[l->n++] = r;
    ld->rep->loaded++;
    return 0;
oom:
    rule_free(r);
    return -1;
}

/* Appends a physical line to the logical one in *buf, without the
 * continuation backslash. Returns 1 when the rule goes on, 0 when
 * complete, -1 when out of memory. */
static int join_line(char **buf, size_t *len, size_t *cap, const char *line)
{
    size_t n = strlen(line);
    int more;

    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    more = n && line[n - 1] == '\\';
    if (more)
        n--;
    if (*len + n + 1 > *cap) {
        size_t c = (*len + n + 1) * 2;
        char *p = realloc(*buf, c);

        if (p == NULL)
            return -1;
        *buf = p;
        *cap = c;
    }
    memcpy(*buf + *len, line, n);
    *len += n;
    (*buf)[*len] = '\0';
    return more;
}

/* Loads every rule of one file. Returns -1 only when out of memory. */
static int load_file(struct loader *ld, const char *path)
{
    char *line = NULL, *text = NULL, *s, *name, **files;
    size_t llen = 0, tlen = 0, tcap = 0;
    unsigned lineno = 0, first = 0;
    FILE *f;
    int rc = 0, more;

    if ((f = fopen(path, "r")) == NULL)
        return report_error(ld, path, 0, strerror(errno), NULL);
    if ((name = strdup(path)) == NULL ||
        (files = realloc(ld->list->files, (ld->list->nfiles + 1) * sizeof *files)) == NULL) {
        free(name);
        fclose(f);
        return -1;
    }
    ld->list->files = files;
    files[ld->list->nfiles++] = name;
    ld->rep->files++;
    while (rc == 0 && getline(&line, &llen, f) != -1) {
        if (tlen == 0)
            first = lineno + 1;
        lineno++;
        if ((more = join_line(&text, &tlen, &tcap, line)) < 0) {
            rc = -1;
            break;
        }
        if (more)
            continue;
        s = rule_trim(text);
        if (*s != '\0' && *s != '#')
            rc = load_rule(ld, s, name, first);
        tlen = 0;
    }
    if (rc == 0 && tlen && *(s = rule_trim(text)) != '\0' && *s != '#')
        rc = load_rule(ld, s, name, first);
    if (rc == 0 && ferror(f))
        rc = report_error(ld, path, 0, "read error", NULL);
    free(line);
    free(text);
    fclose(f);
    return rc;
}

/* Expands one path (glob pattern, or a directory's *.rules) and loads
 * each file. Returns -1 only when out of memory. */
static int load_path(struct loader *ld, const char *path)
{
    char *pat = NULL, msg[64];
    struct stat st;
    glob_t g;
    int rc = 0, grc;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t n = strlen(path);

        while (n > 1 && path[n - 1] == '/')
            n--;
        if (asprintf(&pat, "%.*s/*.rules", (int)n, path) < 0)
            return -1;
    } else if (strpbrk(path, "*?[") == NULL) {
        return load_file(ld, path);
    }
    grc = glob(pat ? pat : path, 0, NULL, &g);
    if (grc == GLOB_NOMATCH) {
        rc = report_error(ld, pat ? pat : path, 0, "no file matches", NULL);
    } else if (grc != 0) {
        snprintf(msg, sizeof msg, "glob failed (%d)", grc);
        rc = report_error(ld, pat ? pat : path, 0, msg, NULL);
    } else {
        for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
            rc = load_file(ld, g.gl_pathv[i]);
    }
    if (grc == 0 || grc == GLOB_NOMATCH)
        globfree(&g);
    free(pat);
    return rc;
}

struct rule_list *ruleset_load_files(const char *const *paths, size_t n,
                                     const struct lw_config *cfg,
                                     const char *classification_path,
                                     struct rule_load_report *rep)
{
    struct loader ld;
    struct rule_error err;
    uint64_t t0 = lw_now_mono_usec();

    memset(rep, 0, sizeof *rep);
    memset(&ld, 0, sizeof ld);
    ld.rep = rep;
    if ((ld.list = calloc(1, sizeof *ld.list)) == NULL)
        return NULL;
    if (classification_path) {
        ld.list->classes = rule_classes_load(classification_path, &err);
        if (ld.list->classes == NULL && report_error(&ld, NULL, 0, err.msg, NULL) < 0)
            goto oom;
    }
    ld.env.cfg = cfg;
    ld.env.classes = ld.list->classes;
    for (size_t i = 0; i < n; i++)
        if (load_path(&ld, paths[i]) < 0)
            goto oom;
    report_reasons(&ld);
    free(ld.sids.keys);
    free(ld.sids.idx);
    rep->usec = lw_now_mono_usec() - t0;
    return ld.list;
oom:
    for (size_t i = 0; i < ld.rcap; i++)
        free(ld.reasons[i].text);
    free(ld.reasons);
    free(ld.sids.keys);
    free(ld.sids.idx);
    rule_list_free(ld.list);
    rule_load_report_free(rep);
    return NULL;
}

void rule_list_free(struct rule_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        rule_free(l->v[i]);
    free(l->v);
    rule_classes_free(l->classes);
    for (size_t i = 0; i < l->nfiles; i++)
        free(l->files[i]);
    free(l->files);
    free(l);
}

void rule_load_report_free(struct rule_load_report *rep)
{
    for (size_t i = 0; i < rep->nlines; i++)
        free(rep->lines[i]);
    free(rep->lines);
    for (size_t i = 0; i < rep->nreasons; i++)
        free(rep->reasons[i].text);
    free(rep->reasons);
    memset(rep, 0, sizeof *rep);
}

void rule_load_report_print(const struct rule_load_report *rep, FILE *out, size_t top)
{
    for (size_t i = 0; i < rep->nlines; i++)
        fprintf(out, "%s\n", rep->lines[i]);
    if (rep->errors > rep->nlines)
        fprintf(out, "... %zu more errors not shown\n", rep->errors - rep->nlines);
    fprintf(out, "rules: %zu loaded, %zu failed, from %zu files in %.2f s\n",
            rep->loaded, rep->failed, rep->files, (double)rep->usec / 1e6);
    if (rep->skipped)
        fprintf(out, "rules: %zu skipped (their requires: is not met)\n", rep->skipped);
    if (rep->nreasons == 0 || top == 0)
        return;
    fprintf(out, "why rules did not load (top %zu of %zu reasons):\n",
            top < rep->nreasons ? top : rep->nreasons, rep->nreasons);
    for (size_t i = 0; i < rep->nreasons && i < top; i++)
        fprintf(out, "%8zu  %s\n", rep->reasons[i].count, rep->reasons[i].text);
}
