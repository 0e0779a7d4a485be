/* console-query.h - the alert list and groups of linkwatch-console, answered
 * from the alert indexes the sensors keep next to the stream (docs/redis.md,
 * "Alert indexes"; sensor/redis/alert-index.h), never by reading the whole
 * stream.
 *
 * A query's filters become terms: each a union of index lists (severity=1,2
 * is two lists; ip=10.1.0.0/16 is the 512 /24 lists of both ends; q= text is
 * the lists of the signatures whose text matches, found through the word
 * index). The smallest term drives: its ids are merged newest first, each
 * batch is intersected with the next smallest terms where that is cheap
 * (their ids in the batch's span are few), and what is left is read from
 * the stream and checked against every filter (console-filter.c), so the
 * answer is exactly what a scan of the stream would give. A filter with no
 * index (a CIDR wider than /16 or /56, status=new alone, a query with no
 * filter) walks the stream itself. Every walk stops after q->scan entries
 * or q->budget_usec, and says so (partial, next).
 */
#ifndef LW_CONSOLE_QUERY_H
#define LW_CONSOLE_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "console-filter.h"
#include "redis-ctx.h"
#include "redis-keys.h"

/* An alert that passes every filter, newest first: its stream id, sensor,
 * EVE event parsed (borrowed) and as the stream holds it (raw[0..rawlen),
 * borrowed: well-formed JSON, since it parsed), and its triage record (NULL
 * or owned by the callee). Returns nonzero to stop the walk there. */
typedef int (*cq_visit_fn)(void *cls, const char *id, const char *sensor, json_t *ev,
                           const char *raw, size_t rawlen, json_t *triage);

struct cq_query {
    const struct alert_filter *f;
    const char *before;          /* "" or a stream id: only alerts older than it */
    uint64_t scan;               /* most stream entries read */
    uint64_t budget_usec;        /* most time spent */
};

/* An event larger than this is not one a sensor wrote: skipped, counted
 * (cq_answer.skipped); a triage record larger is read as none. */
#define CQ_FIELD_MAX  (256u << 10)
#define CQ_TRIAGE_MAX (16u << 10)

/* A stream entry's field (alert-index.h's aix_entry_field) as a string
 * reply, or NULL when it is missing, or larger than CQ_FIELD_MAX: then
 * *big is set (the entry is not one a sensor wrote; the caller skips and
 * counts it). The one bounded accessor the list, the detail and the walk
 * share. */
const redisReply *cq_entry_field(const redisReply *fields, const char *name, int *big);

struct cq_answer {
    char next[48];               /* where the walk stopped when more may follow; "" at the end */
    uint64_t scanned;            /* stream entries read */
    uint64_t candidates;         /* ids taken from the driving index */
    uint64_t skipped;            /* entries skipped as larger than CQ_FIELD_MAX */
    int partial;                 /* stopped by scan or budget */
    json_t *index;               /* how it was answered: terms, sizes, driver, notes (caller frees) */
};

/* Walks the alerts q selects, newest first, calling visit on each until it
 * says stop. Returns 0 (a filled in), or -1 when Redis failed (a->index
 * may still be set: the caller frees it). */
int cq_walk(struct rcx *c, const struct rkeys *rk, const struct cq_query *q, cq_visit_fn visit,
            void *cls, struct cq_answer *a);

/* The limit largest groups (sid, source, destination) of every alert in
 * the stream, from the write-time counters: [{sid, signature, severity,
 * src_ip, dest_ip, count, first_seen, last_seen}], largest first, and their
 * total in *total. NULL with err set when Redis failed. */
json_t *cq_groups(struct rcx *c, const struct rkeys *rk, unsigned limit, uint64_t *total,
                  char *err, size_t errlen);

#endif
