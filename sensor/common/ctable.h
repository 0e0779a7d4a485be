/* ctable.h - a fixed-size table of named counters: one writer (a worker),
 * any number of readers (the metrics scrape), no locks.
 *
 * Keys are short strings ("1:9000301", "TLS.YouTube"); each entry has a tag
 * (e.g. an alert's severity) and two counters. The table never grows: once
 * full, new keys are counted under the entry "other" that ctable_new()
 * reserves. A reader sees every entry the writer finished adding.
 */
#ifndef LW_CTABLE_H
#define LW_CTABLE_H

#include <stddef.h>
#include <stdint.h>

#define CTABLE_KEY_MAX 48

struct ctable_entry {
    char     key[CTABLE_KEY_MAX];
    uint32_t tag;
    uint64_t n, bytes;
    int      used;             /* set (release) once key and tag are written */
};

struct ctable {
    struct ctable_entry *v;
    size_t cap;                /* power of two */
    size_t count;              /* keys in use */
    size_t max_keys;           /* cap / 2: probing stays short */
    struct ctable_entry *other;
};

/* A table for up to max_keys keys (+ "other"). NULL when out of memory. */
struct ctable *ctable_new(size_t max_keys);
void ctable_free(struct ctable *t);

/* Adds n and bytes to key's counters (writer only). */
void ctable_add(struct ctable *t, const char *key, uint32_t tag, uint64_t n, uint64_t bytes);

/* Calls fn for each key in use, with relaxed reads of its counters. */
void ctable_each(const struct ctable *t, void (*fn)(void *arg, const char *key, uint32_t tag,
                                                    uint64_t n, uint64_t bytes), void *arg);

#endif
