/* stats.c - counters described once, rendered everywhere; see stats.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "stats.h"

void stats_snap_init(struct stats_snap *s)
{
    memset(s, 0, sizeof *s);
}

static uint64_t field_at(const void *base, const struct stats_field *f)
{
    return __atomic_load_n((const uint64_t *)((const char *)base + f->off), __ATOMIC_RELAXED);
}

static uint64_t *slot(uint64_t *base, const struct stats_field *f)
{
    return (uint64_t *)((char *)base + f->off);
}

void stats_snap_add(struct stats_snap *s, const struct stats_module *m, const void *const *inst,
                    unsigned n, const char *const *names)
{
    struct stats_part *p;
    size_t words = (m->size + sizeof(uint64_t) - 1) / sizeof(uint64_t);

    if (s->n == STATS_MAX_MODULES) {
        s->failed = 1;
        return;
    }
    p = &s->part[s->n];
    memset(p, 0, sizeof *p);
    p->m = m;
    p->ninst = n;
    p->sum = calloc(words ? words : 1, sizeof(uint64_t));
    p->inst = calloc((size_t)(n ? n : 1) * (words ? words : 1), sizeof(uint64_t));
    p->names = calloc(n ? n : 1, sizeof *p->names);
    if (!p->sum || !p->inst || !p->names) {
        free(p->sum);
        free(p->inst);
        free(p->names);
        s->failed = 1;
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        char buf[16];
        uint64_t *copy = p->inst + (size_t)i * words;

        snprintf(buf, sizeof buf, "%u", i);
        p->names[i] = strdup(names && names[i] ? names[i] : buf);
        for (size_t k = 0; k < m->nfields; k++) {
            const struct stats_field *f = &m->fields[k];
            uint64_t v;

            if (f->derive)
                continue;
            v = field_at(inst[i], f);
            *slot(copy, f) = v;
            if (i == 0 || f->merge == STATS_SUM)
                *slot(p->sum, f) += v;
            else if (f->merge == STATS_MAX)
                *slot(p->sum, f) = v > *slot(p->sum, f) ? v : *slot(p->sum, f);
            else
                *slot(p->sum, f) = v < *slot(p->sum, f) ? v : *slot(p->sum, f);
        }
    }
    s->n++;
}

void stats_snap_add1(struct stats_snap *s, const struct stats_module *m, const void *inst)
{
    stats_snap_add(s, m, &inst, 1, NULL);
}

void stats_snap_free(struct stats_snap *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct stats_part *p = &s->part[i];

        for (unsigned k = 0; k < p->ninst; k++)
            free(p->names[k]);
        free(p->names);
        free(p->sum);
        free(p->inst);
    }
    s->n = 0;
}

/* The value of field f of part p: merged, or instance i's (i >= 0). */
static uint64_t value_of(const struct stats_part *p, const struct stats_field *f, int i)
{
    size_t words = (p->m->size + sizeof(uint64_t) - 1) / sizeof(uint64_t);
    const uint64_t *base = i < 0 ? p->sum : p->inst + (size_t)i * words;

    if (f->derive)
        return f->derive(base);
    return *(const uint64_t *)((const char *)base + f->off);
}

static const struct stats_field *find(const struct stats_snap *s, const char *path,
                                      const struct stats_part **part)
{
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < s->part[i].m->nfields; k++)
            if (strcmp(s->part[i].m->fields[k].path, path) == 0) {
                *part = &s->part[i];
                return &s->part[i].m->fields[k];
            }
    return NULL;
}

uint64_t stats_get(const struct stats_snap *s, const char *path, int *found)
{
    const struct stats_part *p;
    const struct stats_field *f = find(s, path, &p);

    if (found)
        *found = f != NULL;
    return f ? value_of(p, f, -1) : 0;
}

uint64_t stats_get_each(const struct stats_snap *s, const char *path, unsigned i)
{
    const struct stats_part *p;
    const struct stats_field *f = find(s, path, &p);

    return f && i < p->ninst ? value_of(p, f, (int)i) : 0;
}

unsigned stats_instances(const struct stats_snap *s, const char *path)
{
    const struct stats_part *p;

    return find(s, path, &p) ? p->ninst : 0;
}

/* ---------------------------------------------------------------- EVE */

/* Length of the object prefix of path (up to its last '/'). */
static size_t dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? (size_t)(slash - path) : 0;
}

#define EVE_DEPTH 8

/* The objects open while writing the stats event. */
struct eve_path {
    char comp[EVE_DEPTH][64];
    int depth;
};

/* Closes and opens objects so that the open ones are dir[0..dlen), split
 * at '/'. A table keeps each object's fields together. */
static void eve_move_to(struct jbuf *j, struct eve_path *cur, const char *dir, size_t dlen)
{
    char tgt[EVE_DEPTH][64];
    int n = 0, common = 0;

    for (size_t i = 0; i < dlen && n < EVE_DEPTH;) {
        size_t e = i;

        while (e < dlen && dir[e] != '/')
            e++;
        snprintf(tgt[n++], sizeof tgt[0], "%.*s", (int)(e - i), dir + i);
        i = e + 1;
    }
    while (common < cur->depth && common < n && strcmp(cur->comp[common], tgt[common]) == 0)
        common++;
    for (; cur->depth > common; cur->depth--)
        jbuf_close_object(j);
    for (; cur->depth < n; cur->depth++) {
        jbuf_open_object(j, tgt[cur->depth]);
        memcpy(cur->comp[cur->depth], tgt[cur->depth], sizeof tgt[0]);
    }
}

/* Whether an IFANY field of part p is not zero. */
static int any_ifany(const struct stats_part *p)
{
    for (size_t k = 0; k < p->m->nfields; k++) {
        const struct stats_field *f = &p->m->fields[k];

        if ((f->flags & STATS_IFANY) && value_of(p, f, -1))
            return 1;
    }
    return 0;
}

void stats_eve(const struct stats_snap *s, struct jbuf *j)
{
    struct eve_path cur = { .depth = 0 };

    for (size_t i = 0; i < s->n; i++) {
        const struct stats_part *p = &s->part[i];
        int ifany = -1;

        for (size_t k = 0; k < p->m->nfields; k++) {
            const struct stats_field *f = &p->m->fields[k];
            uint64_t v;
            size_t dlen = dir_len(f->path);

            if (f->flags & (STATS_NOEVE | STATS_EACH))
                continue;
            /* The field's object is written even when it holds nothing
             * ("event": {} when no decoder event happened). */
            eve_move_to(j, &cur, f->path, dlen);
            v = value_of(p, f, -1);
            if ((f->flags & STATS_NONZERO) && v == 0)
                continue;
            if (f->flags & STATS_IFANY) {
                if (ifany < 0)
                    ifany = any_ifany(p);
                if (!ifany)
                    continue;
            }
            jbuf_u64(j, f->path + (dlen ? dlen + 1 : 0), v);
        }
    }
    eve_move_to(j, &cur, "", 0);
}

/* ---------------------------------------------------------------- Prometheus */

void stats_prom_family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void label_value(FILE *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fprintf(out, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", out);
        else
            fputc(*v, out);
    }
}

static void sample_value(FILE *out, double value)
{
    if (value == (double)(uint64_t)value && value < 1e17)
        fprintf(out, " %llu\n", (unsigned long long)value);
    else
        fprintf(out, " %.9g\n", value);
}

void stats_prom_sample(FILE *out, const char *name, double value, ...)
{
    va_list ap;
    const char *k;
    int first = 1;

    fputs(name, out);
    va_start(ap, value);
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);

        fprintf(out, "%s%s=\"", first ? "{" : ",", k);
        label_value(out, v ? v : "");
        fputc('"', out);
        first = 0;
    }
    va_end(ap);
    if (!first)
        fputc('}', out);
    sample_value(out, value);
}

/* One sample of field f: inst (may be NULL) and the field's own labels
 * ("k=v" or "k1=v1,k2=v2"). */
static void prom_one(FILE *out, const struct stats_field *f, const char *iname, const char *ival,
                     double v)
{
    int first = 1;

    fputs(f->prom, out);
    if (iname) {
        fprintf(out, "{%s=\"", iname);
        label_value(out, ival);
        fputc('"', out);
        first = 0;
    }
    for (const char *l = f->label; l && *l;) {
        const char *eq = strchr(l, '='), *end = strchr(l, ',');
        char val[128];

        if (!eq)
            break;
        if (!end)
            end = l + strlen(l);
        fprintf(out, "%s%.*s=\"", first ? "{" : ",", (int)(eq - l), l);
        snprintf(val, sizeof val, "%.*s", (int)(end - eq - 1), eq + 1);
        label_value(out, val);
        fputc('"', out);
        first = 0;
        l = *end ? end + 1 : end;
    }
    if (!first)
        fputc('}', out);
    sample_value(out, v);
}

static int family_seen_before(const struct stats_snap *s, size_t pi, size_t fi, const char *name)
{
    for (size_t i = 0; i <= pi; i++) {
        const struct stats_module *m = s->part[i].m;
        size_t end = i == pi ? fi : m->nfields;

        for (size_t k = 0; k < end; k++)
            if (m->fields[k].prom && strcmp(m->fields[k].prom, name) == 0)
                return 1;
    }
    return 0;
}

void stats_prom(const struct stats_snap *s, FILE *out)
{
    for (size_t pi = 0; pi < s->n; pi++) {
        const struct stats_module *m = s->part[pi].m;

        for (size_t fi = 0; fi < m->nfields; fi++) {
            const struct stats_field *head = &m->fields[fi];

            if (!head->prom || family_seen_before(s, pi, fi, head->prom))
                continue;
            stats_prom_family(out, head->prom, head->kind == STATS_GAUGE ? "gauge" : "counter",
                              head->help ? head->help : "");
            /* Every field of this family, in every part from here on. */
            for (size_t pj = pi; pj < s->n; pj++) {
                const struct stats_part *p = &s->part[pj];

                for (size_t fk = pj == pi ? fi : 0; fk < p->m->nfields; fk++) {
                    const struct stats_field *f = &p->m->fields[fk];
                    double sc = f->scale != 0 ? f->scale : 1;

                    if (!f->prom || strcmp(f->prom, head->prom) != 0)
                        continue;
                    if (f->flags & STATS_EACH) {
                        for (unsigned i = 0; i < p->ninst; i++)
                            prom_one(out, f, p->m->instance ? p->m->instance : "instance",
                                     p->names[i], (double)value_of(p, f, (int)i) * sc);
                    } else {
                        uint64_t v = value_of(p, f, -1);

                        if ((f->flags & STATS_NONZERO) && v == 0)
                            continue;
                        prom_one(out, f, NULL, NULL, (double)v * sc);
                    }
                }
            }
        }
    }
}

void stats_each_label(const struct stats_snap *s, const char *prom,
                      void (*fn)(void *arg, const char *label_value, uint64_t v), void *arg)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct stats_part *p = &s->part[i];

        for (size_t k = 0; k < p->m->nfields; k++) {
            const struct stats_field *f = &p->m->fields[k];
            const char *eq;
            uint64_t v;

            if (!f->prom || strcmp(f->prom, prom) != 0 || (f->flags & STATS_EACH))
                continue;
            v = value_of(p, f, -1);
            eq = f->label ? strchr(f->label, '=') : NULL;
            if (v)
                fn(arg, eq ? eq + 1 : "", v);
        }
    }
}
