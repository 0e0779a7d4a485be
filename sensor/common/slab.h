/* slab.h - a worker's memory for per-flow state: size classes carved from
 * one region reserved at start.
 *
 * Every piece of state a worker keeps per flow (nDPI's flow struct and the
 * strings nDPI allocates for it, the DPI result, the rule engine's marks,
 * stream states and buffers, and the application-layer parsers' state)
 * comes from its worker's slab, so a flow costs no malloc/free and no lock.
 * The region is reserved (not touched) at start, max_bytes of address
 * space: pages become resident as they are first used, so the resident
 * size follows the most state held at once. A region is split into 64 KB
 * pages; a page serves one size class (16-byte steps up to 256 B, coarser
 * above, powers of two from 32 KB to 2 MB, spans of pages past 64 KB).
 * Freed blocks go to their class's free list and are reused first; pages
 * are not handed back, nor moved between classes.
 *
 * One owner per slab: alloc and free from one thread at a time, no locks.
 * lw_slab_release() finds the slab a block came from (or none: malloc's)
 * by address, so a block can be freed without its slab at hand.
 */
#ifndef LW_SLAB_H
#define LW_SLAB_H

#include <stddef.h>
#include <stdint.h>

/* The largest block a slab serves; larger requests return NULL. */
#define LW_SLAB_MAX (2u << 20)

struct lw_slab_stats {
    uint64_t in_use;         /* bytes of the blocks held (their class sizes) */
    uint64_t peak;           /* the most in_use has been */
    uint64_t blocks;         /* blocks held */
    uint64_t pages_bytes;    /* bytes of pages handed to size classes (what may be resident) */
    uint64_t refused;        /* allocations refused: the region is used up, or too large */
};

struct lw_slab;

/* Reserves a region of max_bytes (rounded up to whole pages). Returns NULL
 * when the address space cannot be had. */
struct lw_slab *lw_slab_new(size_t max_bytes);
/* Unmaps the region; every block in it is gone. NULL is fine. */
void lw_slab_destroy(struct lw_slab *s);

/* A block of at least n bytes (n > 0), not zeroed; NULL when n is larger
 * than LW_SLAB_MAX or the region is used up (counted as refused). */
void *lw_slab_alloc(struct lw_slab *s, size_t n);
/* The same, zeroed. */
void *lw_slab_zalloc(struct lw_slab *s, size_t n);
/* Gives p (a block of s) back to s. */
void lw_slab_free(struct lw_slab *s, void *p);
/* p moved to a block of at least n bytes, its first min(old, n) bytes
 * kept; p itself when it is big enough. NULL (p untouched) when none. */
void *lw_slab_realloc(struct lw_slab *s, void *p, size_t n);
/* The usable size of p, a block of s. */
size_t lw_slab_size(const struct lw_slab *s, const void *p);
/* Whether p lies in s's region. */
int lw_slab_owns(const struct lw_slab *s, const void *p);

/* Frees p wherever it came from: the slab whose region holds it, else
 * malloc (free()). NULL is fine. Any thread may call it for a slab that
 * thread owns. */
void lw_slab_release(void *p);
/* The slab whose region holds p, or NULL. */
struct lw_slab *lw_slab_of(const void *p);

void lw_slab_get_stats(const struct lw_slab *s, struct lw_slab_stats *st);

#endif
