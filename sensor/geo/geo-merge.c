/* geo-merge.c - one geo summary out of several workers'; see geo-merge.h. */
#include <pthread.h>
#include <stdlib.h>

#include "geo-merge.h"
#include "geo.h"
#include "geo-summary.h"
#include "log.h"

struct geo_acc {
    struct geo_sum *sum;
    uint64_t start, end;         /* interval start; end: the latest end a worker gave */
    struct geo_acc *next;        /* by start */
};

struct geo_merge {
    pthread_mutex_t mu;
    unsigned n;
    uint64_t *progress;          /* [n]: capture time each worker has passed */
    struct geo_acc *pending;     /* by start */
    struct geo_acc *spare;
    unsigned npending;
};

struct geo_merge *geo_merge_new(unsigned nworkers)
{
    struct geo_merge *m = calloc(1, sizeof *m);

    if (!m)
        return NULL;
    m->progress = calloc(nworkers, sizeof *m->progress);
    if (!m->progress) {
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    m->n = nworkers;
    return m;
}

static void acc_free_list(struct geo_acc *a)
{
    while (a) {
        struct geo_acc *nx = a->next;

        geo_sum_free(a->sum);
        free(a);
        a = nx;
    }
}

void geo_merge_free(struct geo_merge *m)
{
    if (!m)
        return;
    acc_free_list(m->pending);
    acc_free_list(m->spare);
    free(m->progress);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* Writes the oldest pending interval (lock held). */
static void write_first(struct geo_merge *m, const struct geo_thread *gt, geo_merge_write_fn write,
                        void *arg)
{
    struct geo_acc *a = m->pending;
    const struct geo_summary *s;

    m->pending = a->next;
    m->npending--;
    s = geo_sum_close(a->sum, a->end);
    if (s)
        write(arg, gt, s);
    geo_sum_open(a->sum);
    a->next = m->spare;
    m->spare = a;
}

/* The accumulator of the interval starting at start (lock held); NULL when
 * out of memory. */
static struct geo_acc *acc_for(struct geo_merge *m, const struct geo_sum *like, uint64_t start)
{
    struct geo_acc **pp = &m->pending, *a;

    while (*pp && (*pp)->start < start)
        pp = &(*pp)->next;
    if (*pp && (*pp)->start == start)
        return *pp;
    if ((a = m->spare) != NULL) {
        m->spare = a->next;
    } else {
        a = calloc(1, sizeof *a);
        if (!a || !(a->sum = geo_sum_new_like(like))) {
            free(a);
            return NULL;
        }
    }
    a->start = start;
    a->end = 0;
    a->next = *pp;
    *pp = a;
    m->npending++;
    return a;
}

void geo_merge_add(struct geo_merge *m, unsigned worker, struct geo_thread *gt, uint64_t end,
                   geo_merge_write_fn write, void *arg)
{
    struct geo_sum *own = geo_thread_sum(gt);
    const struct geo_summary *s = geo_summary_close(gt, end);
    struct geo_acc *a;

    if (!s)
        return;
    pthread_mutex_lock(&m->mu);
    a = acc_for(m, own, s->start_usec);
    if (a) {
        geo_sum_merge(a->sum, own);
        if (s->end_usec > a->end)
            a->end = s->end_usec;
    } else {
        log_warning("geo summary: out of memory merging worker %u's interval; written apart", worker);
        write(arg, gt, s);
    }
    while (m->npending > GEO_MERGE_MAX_PENDING) {
        log_warning("geo summary: a worker is %u intervals behind; the interval starting at %llu s "
                    "is written without its share", GEO_MERGE_MAX_PENDING,
                    (unsigned long long)(m->pending->start / 1000000u));
        write_first(m, gt, write, arg);
    }
    pthread_mutex_unlock(&m->mu);
}

uint64_t geo_merge_progress(struct geo_merge *m, unsigned worker, struct geo_thread *gt,
                            uint64_t now, geo_merge_write_fn write, void *arg)
{
    uint64_t interval = geo_sum_interval(geo_thread_sum(gt));
    uint64_t low = UINT64_MAX;

    pthread_mutex_lock(&m->mu);
    m->progress[worker] = now;
    for (unsigned i = 0; i < m->n; i++)
        if (m->progress[i] < low)
            low = m->progress[i];
    while (m->pending && (low == UINT64_MAX || m->pending->start + interval <= low))
        write_first(m, gt, write, arg);
    pthread_mutex_unlock(&m->mu);
    return now == UINT64_MAX ? UINT64_MAX : now - now % interval + interval;
}
