/* app-mem.c - the application-layer stage's memory accounting; see app-layer.h. */
#include <stdlib.h>
#include <string.h>

#include "app-layer.h"

static int app_mem_take(struct app_mem *m, size_t size)
{
    if (size > m->cap || m->used > m->cap - size) {
        m->refused++;
        return -1;
    }
    m->used += size;
    if (m->used > m->peak)
        m->peak = m->used;
    return 0;
}

void *app_alloc(struct app_mem *m, size_t size)
{
    void *p;

    if (app_mem_take(m, size) < 0)
        return NULL;
    p = malloc(size ? size : 1);
    if (!p)
        m->used -= size;
    return p;
}

void *app_calloc(struct app_mem *m, size_t n, size_t size)
{
    void *p;

    if (size && n > SIZE_MAX / size)
        return NULL;
    p = app_alloc(m, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

/* On failure the old block stays valid and counted. */
void *app_realloc(struct app_mem *m, void *p, size_t old, size_t size)
{
    void *np;

    if (size > old && app_mem_take(m, size - old) < 0)
        return NULL;
    np = realloc(p, size ? size : 1);
    if (!np) {
        if (size > old)
            m->used -= size - old;
        return NULL;
    }
    if (size < old)
        m->used -= old - size;
    return np;
}

void app_free(struct app_mem *m, void *p, size_t size)
{
    if (!p)
        return;
    free(p);
    m->used = m->used >= size ? m->used - size : 0;
}
