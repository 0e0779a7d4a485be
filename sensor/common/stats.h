/* stats.h - the sensor's counters, each described once.
 *
 * A module keeps its counters in a struct of uint64_t fields and describes
 * them in one table (struct stats_module): for each, its place in the EVE
 * stats event, its Prometheus family and label, its help, its kind, and
 * where it lives in the struct. A snapshot sums the module's instances
 * (one per worker, or one) field by field; the EVE stats event, /metrics,
 * the run summary and `linkwatchctl stats` are all rendered from snapshots,
 * so adding a counter is one line in its module's table.
 *
 * Threads: a counters struct has one writer, its owner thread, which
 * updates fields with STATS_ADD()/STATS_SET() (relaxed atomic stores of its
 * own plain reads); snapshots are taken on any thread with relaxed atomic
 * loads. A snapshot of live workers is a moment's, not a cut across them;
 * after the workers stopped it is exact.
 */
#ifndef LW_STATS_H
#define LW_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct jbuf;

/* Writer side: only the owner thread updates a field. On x86-64 an add to
 * an aligned 8-byte word in memory is one instruction whose store no load
 * sees torn, the same micro-ops as the load, add and atomic store the
 * portable form compiles to, in a third of the instructions (counters sit
 * on every packet's path). Under ThreadSanitizer, which cannot see into
 * asm, and elsewhere the portable form. */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define STATS_ADD(x, n)                                                              \
    do {                                                                             \
        _Static_assert(sizeof(x) == 8, "a counter is a uint64_t");                  \
        __asm__ volatile("addq %1, %0" : "+m"(x) : "er"((uint64_t)(n)));             \
    } while (0)
#else
#define STATS_ADD(x, n) __atomic_store_n(&(x), (x) + (n), __ATOMIC_RELAXED)
#endif
#define STATS_SUB(x, n) STATS_ADD(x, -(uint64_t)(n))   /* modulo 2^64, as a subtraction */
#define STATS_INC(x) STATS_ADD(x, 1)
#define STATS_SET(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define STATS_GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

enum stats_kind { STATS_COUNTER = 0, STATS_GAUGE };
enum stats_merge { STATS_SUM = 0, STATS_MAX, STATS_MIN };

/* Field flags. */
#define STATS_NONZERO 0x01u   /* EVE: written only when not zero */
#define STATS_IFANY   0x02u   /* EVE: written, like the other IFANY fields of its module, only
                               * when one of them is not zero */
#define STATS_NOEVE   0x04u   /* not in the EVE stats event */
#define STATS_EACH    0x08u   /* per instance: one labelled sample each on /metrics (never
                               * merged, never in EVE) */

struct stats_field {
    const char *path;         /* in the EVE stats event, '/' nesting objects ("flow/end/timeout");
                               * summaries and linkwatchctl name fields by it */
    const char *prom;         /* Prometheus family; NULL: not on /metrics */
    const char *label;        /* "reason=timeout": the sample's label; NULL: none */
    const char *help;         /* the family's help, on the family's first field */
    uint32_t off;             /* offset of the uint64_t in the module's struct */
    uint8_t kind;             /* enum stats_kind */
    uint8_t merge;            /* enum stats_merge, over instances */
    uint8_t flags;            /* STATS_* */
    double scale;             /* /metrics shows value * scale (0: 1), e.g. 1e-9 for ns as s */
    uint64_t (*derive)(const void *sum);  /* computed from the merged struct instead of read */
};

struct stats_module {
    const char *name;         /* for messages */
    const struct stats_field *fields;
    size_t nfields;
    size_t size;              /* of the counters struct */
    const char *instance;     /* label name of STATS_EACH samples ("worker", "exporter") */
};

#define STATS_FIELD(type, member, path, prom, label, help, kind) \
    { path, prom, label, help, (uint32_t)offsetof(type, member), kind, STATS_SUM, 0, 0, NULL }
#define STATS_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- snapshots */

#define STATS_MAX_MODULES 32

struct stats_part {
    const struct stats_module *m;
    unsigned ninst;
    char **names;             /* [ninst] instance names */
    uint64_t *sum;            /* merged counters (the module's struct layout) */
    uint64_t *inst;           /* [ninst] copies, for STATS_EACH fields */
};

struct stats_snap {
    struct stats_part part[STATS_MAX_MODULES];
    size_t n;
    int failed;               /* out of memory: a part is missing */
};

void stats_snap_init(struct stats_snap *s);
/* Adds module m's instances inst[0..n) (their live counters structs) to s:
 * each field read with a relaxed atomic load, merged by its rule. names are
 * the instances' names for STATS_EACH samples (NULL: "0", "1", ...). A
 * module not added (its stage is off) is absent from every rendering. */
void stats_snap_add(struct stats_snap *s, const struct stats_module *m, const void *const *inst,
                    unsigned n, const char *const *names);
/* The same for one instance. */
void stats_snap_add1(struct stats_snap *s, const struct stats_module *m, const void *inst);
void stats_snap_free(struct stats_snap *s);

/* The merged value of the field at path; 0 when absent. *found (may be
 * NULL) says whether it is there. */
uint64_t stats_get(const struct stats_snap *s, const char *path, int *found);
/* Instance i's value of the field at path (STATS_EACH fields too); 0 when absent. */
uint64_t stats_get_each(const struct stats_snap *s, const char *path, unsigned i);
/* Instances of the module that has the field at path. */
unsigned stats_instances(const struct stats_snap *s, const char *path);

/* Writes every part's fields into the open "stats" object of an EVE event,
 * nesting by path, in table order. */
void stats_eve(const struct stats_snap *s, struct jbuf *j);
/* Writes every part's Prometheus families (# HELP, # TYPE, samples). */
void stats_prom(const struct stats_snap *s, FILE *out);
/* Calls fn for each non-zero field of the Prometheus family prom, with
 * its label's value ("timeout" of "reason=timeout") and the merged value,
 * in table order (the summary's lists of layers and reasons). */
void stats_each_label(const struct stats_snap *s, const char *prom,
                      void (*fn)(void *arg, const char *label_value, uint64_t v), void *arg);

/* Prometheus text exposition helpers (also for families outside any
 * table: by-rule and by-application counts). */
void stats_prom_family(FILE *out, const char *name, const char *type, const char *help);
/* One sample; labels is NULL or "k1", "v1", "k2", "v2", ..., NULL (values escaped). */
void stats_prom_sample(FILE *out, const char *name, double value, ...);

#endif
