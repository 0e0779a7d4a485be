/* rule-class.c - classification.config: the classtype table rules refer to. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule-class.h"
#include "rule-text.h"

/* "config classification: name,description,priority" into *c. The
 * description may hold commas: the priority is after the last one. */
static int class_line(char *line, struct rule_class *c)
{
    static const char pfx[] = "config classification:";
    char *name, *desc, *comma, *end;
    long prio;

    if (strncmp(line, pfx, sizeof pfx - 1) != 0)
        return -1;
    name = line + sizeof pfx - 1;
    if ((comma = strchr(name, ',')) == NULL)
        return -1;
    *comma = '\0';
    desc = comma + 1;
    if ((comma = strrchr(desc, ',')) == NULL)
        return -1;
    *comma = '\0';
    name = rule_trim(name);
    desc = rule_trim(desc);
    prio = strtol(rule_trim(comma + 1), &end, 10);
    if (*name == '\0' || *desc == '\0' || *end != '\0' || end == rule_trim(comma + 1) ||
        prio < 1 || prio > 255 || strcspn(name, " \t") != strlen(name))
        return -1;
    c->name = strdup(name);
    c->desc = strdup(desc);
    c->priority = (int)prio;
    return c->name && c->desc ? 0 : -2;
}

struct rule_classes *rule_classes_load(const char *path, struct rule_error *err)
{
    struct rule_classes *c = calloc(1, sizeof *c);
    uint32_t cap = 0;
    char *line = NULL, *s;
    size_t len = 0;
    unsigned lineno = 0;
    FILE *f = NULL;
    int rc;

    if (c == NULL || (f = fopen(path, "r")) == NULL) {
        snprintf(err->msg, sizeof err->msg, "%s: cannot open: %s", path,
                 c ? strerror(errno) : "out of memory");
        goto fail;
    }
    while (getline(&line, &len, f) != -1) {
        lineno++;
        s = rule_trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        if (rule_grow((void **)&c->v, &cap, (uint32_t)c->n, sizeof *c->v) < 0)
            goto oom;
        memset(&c->v[c->n], 0, sizeof c->v[c->n]);
        rc = class_line(s, &c->v[c->n]);
        if (rc == -1 || (rc == 0 && rule_classes_find(c, c->v[c->n].name))) {
            snprintf(err->msg, sizeof err->msg, "%s:%u: %s", path, lineno,
                     rc == 0 ? "duplicate classification" : "bad classification line");
            c->n++;
            goto fail;
        }
        c->n++;
        if (rc < 0)
            goto oom;
    }
    if (ferror(f)) {
        snprintf(err->msg, sizeof err->msg, "%s: read error: %s", path, strerror(errno));
        goto fail;
    }
    free(line);
    fclose(f);
    return c;
oom:
    snprintf(err->msg, sizeof err->msg, "%s: out of memory", path);
fail:
    snprintf(err->agg, sizeof err->agg, "bad classification file");
    free(line);
    if (f)
        fclose(f);
    rule_classes_free(c);
    return NULL;
}

void rule_classes_free(struct rule_classes *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].name);
        free(c->v[i].desc);
    }
    free(c->v);
    free(c);
}

const struct rule_class *rule_classes_find(const struct rule_classes *c, const char *name)
{
    for (size_t i = 0; c && i < c->n; i++)
        if (c->v[i].name && strcmp(c->v[i].name, name) == 0)
            return &c->v[i];
    return NULL;
}
