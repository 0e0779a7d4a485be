/* ctable.c - single-writer counter table; see ctable.h. */
#include <stdlib.h>
#include <string.h>

#include "ctable.h"

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

struct ctable *ctable_new(size_t max_keys)
{
    struct ctable *t = calloc(1, sizeof *t);
    size_t cap = 16;

    if (!t)
        return NULL;
    while (cap < 2 * (max_keys + 1))
        cap <<= 1;
    t->v = calloc(cap, sizeof *t->v);
    t->other = calloc(1, sizeof *t->other);
    if (!t->v || !t->other) {
        ctable_free(t);
        return NULL;
    }
    strcpy(t->other->key, "other");
    t->cap = cap;
    t->max_keys = max_keys;
    return t;
}

void ctable_free(struct ctable *t)
{
    if (!t)
        return;
    free(t->v);
    free(t->other);
    free(t);
}

void ctable_add(struct ctable *t, const char *key, uint32_t tag, uint64_t n, uint64_t bytes)
{
    size_t i = hash_key(key) & (t->cap - 1);
    struct ctable_entry *e;

    for (;; i = (i + 1) & (t->cap - 1)) {
        e = &t->v[i];
        if (!e->used)
            break;
        if (strcmp(e->key, key) == 0)
            goto found;
    }
    if (t->count >= t->max_keys) {
        e = t->other;
        if (!e->used)
            __atomic_store_n(&e->used, 1, __ATOMIC_RELEASE);
        goto found;
    }
    strncpy(e->key, key, CTABLE_KEY_MAX - 1);
    e->tag = tag;
    t->count++;
    __atomic_store_n(&e->used, 1, __ATOMIC_RELEASE);
found:
    __atomic_store_n(&e->n, e->n + n, __ATOMIC_RELAXED);
    __atomic_store_n(&e->bytes, e->bytes + bytes, __ATOMIC_RELAXED);
}

void ctable_each(const struct ctable *t, void (*fn)(void *arg, const char *key, uint32_t tag,
                                                    uint64_t n, uint64_t bytes), void *arg)
{
    for (size_t i = 0; i <= t->cap; i++) {
        const struct ctable_entry *e = i < t->cap ? &t->v[i] : t->other;

        if (__atomic_load_n(&e->used, __ATOMIC_ACQUIRE))
            fn(arg, e->key, e->tag, __atomic_load_n(&e->n, __ATOMIC_RELAXED),
               __atomic_load_n(&e->bytes, __ATOMIC_RELAXED));
    }
}
