/* slab.c - size classes over one reserved region; see slab.h. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "slab.h"
#include "util.h"

#define PAGE_SHIFT 16u
#define PAGE       ((size_t)1 << PAGE_SHIFT)
#define NCLASS     60u                /* class 0 unused; 59 is LW_SLAB_MAX */
#define MAX_SLABS  256u

struct slab_class {
    void *free;                       /* freed blocks, linked through their first bytes */
    char *cur, *end;                  /* the rest of the page (or span) being carved */
};

struct lw_slab {
    char *base;                       /* PAGE-aligned */
    size_t npages, next_page;
    void *map;                        /* what mmap returned, for munmap */
    size_t map_len;
    uint8_t *page_class;              /* [npages]: the class a page serves, 0 none yet */
    struct slab_class cls[NCLASS];
    struct lw_slab_stats st;
    unsigned slot;                    /* in the registry */
};

/* Every live slab, so a block can be freed by address (lw_slab_release()). */
static _Atomic(struct lw_slab *) registry[MAX_SLABS];
static atomic_uint registry_top;      /* slots below this may be in use */

/* Classes: 16-byte steps to 256, 64-byte steps to 1 KB, 256-byte steps to
 * 4 KB, 1 KB steps to 16 KB, then powers of two to 2 MB. Block sizes stay
 * within 25% of the request (nDPI's 688-byte flow struct takes 704). */
static inline unsigned size_class(size_t n)
{
    unsigned c = 53;
    size_t sz = 32768;

    if (n <= 256)
        return n ? (unsigned)((n + 15) >> 4) : 1;
    if (n <= 1024)
        return 16 + (unsigned)((n - 256 + 63) >> 6);
    if (n <= 4096)
        return 28 + (unsigned)((n - 1024 + 255) >> 8);
    if (n <= 16384)
        return 40 + (unsigned)((n - 4096 + 1023) >> 10);
    while (sz < n) {
        sz <<= 1;
        c++;
    }
    return c;
}

static inline size_t class_bytes(unsigned c)
{
    if (c <= 16)
        return (size_t)c * 16;
    if (c <= 28)
        return 256 + (size_t)(c - 16) * 64;
    if (c <= 40)
        return 1024 + (size_t)(c - 28) * 256;
    if (c <= 52)
        return 4096 + (size_t)(c - 40) * 1024;
    return (size_t)32768 << (c - 53);
}

struct lw_slab *lw_slab_new(size_t max_bytes)
{
    struct lw_slab *s = calloc(1, sizeof *s);
    size_t npages = (max_bytes + PAGE - 1) >> PAGE_SHIFT;
    uintptr_t a;
    unsigned i;

    if (!s)
        return NULL;
    if (npages == 0)
        npages = 1;
    /* Room to align the base to a huge page: pages are handed out from the
     * base upwards and never back, so the region fills 2 MiB at a time
     * whether or not the kernel backs it with huge pages. */
    s->map_len = (npages << PAGE_SHIFT) + LW_HUGE_PAGE;
    s->map = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                  -1, 0);
    s->page_class = calloc(npages, 1);
    if (s->map == MAP_FAILED || !s->page_class)
        goto fail;
    a = ((uintptr_t)s->map + LW_HUGE_PAGE - 1) & ~(uintptr_t)(LW_HUGE_PAGE - 1);
    s->base = (char *)a;
    s->npages = npages;
#ifdef MADV_HUGEPAGE
    /* Advice only. Where THP is on "madvise" (Debian's default), the first
     * touch of each 2 MiB faults once instead of 512 times: nDPI's flow
     * structs and the stream buffers of new flows stop paying a fault per
     * 4 KiB, and random access to flow state misses the TLB less. */
    (void)madvise(s->base, npages << PAGE_SHIFT, MADV_HUGEPAGE);
#endif
    for (i = 0; i < MAX_SLABS; i++) {
        struct lw_slab *none = NULL;

        if (atomic_compare_exchange_strong(&registry[i], &none, s))
            break;
    }
    if (i == MAX_SLABS)
        goto fail;
    s->slot = i;
    while (atomic_load(&registry_top) <= i)
        atomic_fetch_add(&registry_top, 1);
    return s;
fail:
    if (s->map && s->map != MAP_FAILED)
        munmap(s->map, s->map_len);
    free(s->page_class);
    free(s);
    return NULL;
}

void lw_slab_destroy(struct lw_slab *s)
{
    if (!s)
        return;
    atomic_store(&registry[s->slot], NULL);
    munmap(s->map, s->map_len);
    free(s->page_class);
    free(s);
}

int lw_slab_owns(const struct lw_slab *s, const void *p)
{
    return (const char *)p >= s->base && (const char *)p < s->base + (s->npages << PAGE_SHIFT);
}

/* Gives class c a new page (a span of pages for blocks past a page).
 * Returns 0, or -1 when the region is used up. */
static int new_page(struct lw_slab *s, unsigned c)
{
    size_t sz = class_bytes(c), pages = sz > PAGE ? sz >> PAGE_SHIFT : 1;
    struct slab_class *k = &s->cls[c];

    if (s->next_page + pages > s->npages)
        return -1;
    memset(s->page_class + s->next_page, (int)c, pages);
    k->cur = s->base + (s->next_page << PAGE_SHIFT);
    k->end = k->cur + (sz > PAGE ? sz : PAGE / sz * sz);
    s->next_page += pages;
    s->st.pages_bytes += pages << PAGE_SHIFT;
    return 0;
}

void *lw_slab_alloc(struct lw_slab *s, size_t n)
{
    unsigned c;
    struct slab_class *k;
    void *p;

    if (n > LW_SLAB_MAX) {
        s->st.refused++;
        return NULL;
    }
    c = size_class(n);
    k = &s->cls[c];
    if ((p = k->free) != NULL) {
        memcpy(&k->free, p, sizeof k->free);
    } else {
        if (k->cur == k->end && new_page(s, c) < 0) {
            s->st.refused++;
            return NULL;
        }
        p = k->cur;
        k->cur += class_bytes(c);
    }
    s->st.in_use += class_bytes(c);
    s->st.blocks++;
    if (s->st.in_use > s->st.peak)
        s->st.peak = s->st.in_use;
    return p;
}

void *lw_slab_zalloc(struct lw_slab *s, size_t n)
{
    void *p = lw_slab_alloc(s, n);

    if (p)
        memset(p, 0, n);
    return p;
}

size_t lw_slab_size(const struct lw_slab *s, const void *p)
{
    return class_bytes(s->page_class[(size_t)((const char *)p - s->base) >> PAGE_SHIFT]);
}

void lw_slab_free(struct lw_slab *s, void *p)
{
    unsigned c = s->page_class[(size_t)((char *)p - s->base) >> PAGE_SHIFT];
    struct slab_class *k = &s->cls[c];

    memcpy(p, &k->free, sizeof k->free);
    k->free = p;
    s->st.in_use -= class_bytes(c);
    s->st.blocks--;
}

void *lw_slab_realloc(struct lw_slab *s, void *p, size_t n)
{
    size_t have;
    void *np;

    if (!p)
        return lw_slab_alloc(s, n);
    have = lw_slab_size(s, p);
    if (n <= have)
        return p;
    if ((np = lw_slab_alloc(s, n)) == NULL)
        return NULL;
    memcpy(np, p, have);
    lw_slab_free(s, p);
    return np;
}

struct lw_slab *lw_slab_of(const void *p)
{
    unsigned top = atomic_load_explicit(&registry_top, memory_order_acquire);

    for (unsigned i = 0; i < top; i++) {
        struct lw_slab *s = atomic_load_explicit(&registry[i], memory_order_acquire);

        if (s && lw_slab_owns(s, p))
            return s;
    }
    return NULL;
}

void lw_slab_release(void *p)
{
    struct lw_slab *s;

    if (!p)
        return;
    if ((s = lw_slab_of(p)) != NULL)
        lw_slab_free(s, p);
    else
        free(p);
}

void lw_slab_get_stats(const struct lw_slab *s, struct lw_slab_stats *st)
{
    *st = s->st;
}
