/* geo-summary.h - a worker's geolocated traffic summary, one interval at a
 * time: per (scope, initiator's country, responder's country) the bytes and
 * packets seen in the interval, the flows that started in it, the alerts
 * raised in it, the distinct internal hosts with packets in it, and the top
 * remote ASNs, remote endpoints (by bytes) and applications. The remote end
 * is the foreign one across the border, the responder in transit, the end
 * that is not internal otherwise. Applications get the interval's bytes
 * whose application nDPI knew by the interval's end (a flow's bytes of the
 * interval are credited when its answer becomes final, at the latest when
 * the flow ends in that interval); the rest of the row's bytes are
 * app_bytes short of bytes ("unidentified_bytes" in the event): flows still
 * being identified when the interval closed, or ended later unidentified.
 *
 * Memory is fixed when the accumulator is created and nothing is allocated
 * afterwards (about 1.4 MB per worker):
 *   - GEO_SUM_ROWS rows per interval; the last GEO_SCOPE_MAX of them are
 *     kept for one "overflow" row per scope, which takes the traffic of
 *     keys that found the table full (counted in rows_overflow), so scope
 *     totals stay exact;
 *   - each top list tracks GEO_SUM_TOPK keys by bytes with the Space-Saving
 *     algorithm (Metwally et al. 2005): exact while a row sees at most
 *     GEO_SUM_TOPK distinct keys; beyond that the heavy keys are kept and a
 *     count may be overestimated by at most the smallest tracked count;
 *   - distinct internal hosts are counted exactly in a set of at most
 *     GEO_SUM_HOSTS (row, address) pairs per interval (GEO_SUM_HOST_SLOTS
 *     slots); pairs that find it full are not counted (hosts_overflow says
 *     how many), so internal_hosts is then a lower bound.
 *
 * Not thread-safe: an accumulator belongs to one worker. A finished interval
 * (struct geo_summary) is read on the worker's thread, between
 * geo_sum_close() and geo_sum_open(); a consumer that needs it later copies
 * what it needs (e.g. the Redis tally adds its country pairs).
 */
#ifndef LW_GEO_SUMMARY_H
#define LW_GEO_SUMMARY_H

#include <stddef.h>
#include <stdint.h>
#include "geo-t.h"
#include "pii-t.h"
#include "packet-t.h"

#define GEO_SUM_ROWS      512u
#define GEO_SUM_TOPK      8u         /* keys tracked per top list */
#define GEO_SUM_TOPN      5u         /* keys reported per top list */
#define GEO_SUM_HOST_SLOTS 32768u    /* open-addressing slots of the host set */
#define GEO_SUM_HOSTS     (GEO_SUM_HOST_SLOTS / 4 * 3)  /* (row, internal host) pairs per interval */
#define GEO_SUM_APP_LEN   48u        /* nDPI protocol name, NUL included (as TALLY_STR_LEN) */

/* geo_sum_row.flags */
#define GEO_ROW_OVERFLOW  0x01u      /* keys that found the row table full */
#define GEO_ROW_TOP_APPROX 0x02u     /* a top list evicted a key: its counts are Space-Saving
                                      * estimates (and the order of arrival matters) */

struct geo_top_ep {
    struct lw_addr addr;
    char     cc[3];
    uint8_t  pad;
    uint32_t asn;
    uint64_t bytes;
};

struct geo_top_asn {
    uint32_t asn;
    uint32_t org_off;                /* organisation record, as struct geo_ep */
    uint8_t  org_db;
    uint8_t  pad[3];
    uint32_t epoch;                  /* database set org_off belongs to */
    uint64_t bytes;
};

struct geo_top_app {
    char     name[GEO_SUM_APP_LEN];
    uint64_t bytes;
};

/* One row: all traffic of one (scope, src_cc, dst_cc) in the interval.
 * Countries are the initiator's and the responder's, internal ends as the
 * home country, "" when unknown. After geo_sum_close() each top list is
 * sorted by bytes, largest first, and holds ntop_* entries. */
struct geo_sum_row {
    uint8_t  scope;                  /* enum geo_scope */
    uint8_t  flags;                  /* GEO_ROW_* */
    char     src_cc[3], dst_cc[3];
    uint16_t hnext;                  /* hash chain (private) */
    uint32_t internal_hosts;
    uint64_t bytes, pkts, flows, alerts;
    uint64_t app_bytes;              /* bytes credited to applications (exact) */
    struct pii_tally pii[2];         /* personal data in HTTP bodies: [0] requests (src -> dest),
                                      * [1] responses (dest -> src) */
    uint8_t  ntop_ep, ntop_asn, ntop_app;
    struct geo_top_ep  top_ep[GEO_SUM_TOPK];
    struct geo_top_asn top_asn[GEO_SUM_TOPK];
    struct geo_top_app top_app[GEO_SUM_TOPK];
};

/* A finished interval of one worker. Valid until geo_sum_open(). */
struct geo_summary {
    uint64_t start_usec;             /* capture time, aligned to the interval */
    uint64_t end_usec;               /* start + interval; the capture's end for the last one */
    unsigned worker;
    char     home_cc[3];
    uint32_t nrows;
    const struct geo_sum_row *rows;  /* in first-use order */
    const uint16_t *order;           /* row indices by scope, then bytes (largest first) */
    uint64_t rows_overflow;          /* additions that went to an overflow row */
    uint64_t hosts_overflow;         /* internal hosts not counted: the set was full */
};

struct geo_sum;

/* Creates an accumulator for intervals of interval_usec (> 0) of capture
 * time. Returns NULL when memory cannot be had. */
struct geo_sum *geo_sum_new(uint64_t interval_usec, const char *home_cc, unsigned worker);
void geo_sum_free(struct geo_sum *s);
/* An empty accumulator with s's interval and home country (worker 0). */
struct geo_sum *geo_sum_new_like(const struct geo_sum *s);
uint64_t geo_sum_interval(const struct geo_sum *s);
size_t geo_sum_memsize(void);

/* The current interval's generation: a non-zero number that changes at
 * every geo_sum_open(), so a flow can tell whether its cached row is still
 * valid. It wraps after 65535 intervals: check a cached row with
 * geo_sum_row_is() too. */
uint16_t geo_sum_gen(const struct geo_sum *s);
/* Whether row is a row of the open interval with this key (or the scope's
 * overflow row). The countries are 3-byte arrays padded with NULs, as in
 * struct geo_ep. */
int geo_sum_row_is(const struct geo_sum *s, uint16_t row, uint8_t scope, const char src_cc[3],
                   const char dst_cc[3]);

/* Whether the interval that is open should be closed before a packet of
 * capture time now is counted (now is past its end). False while nothing
 * was counted yet. */
int geo_sum_due(const struct geo_sum *s, uint64_t now_usec);
/* Starts counting at capture time now if no interval is open (aligned to
 * the interval). Cheap; called before each addition. */
void geo_sum_start(struct geo_sum *s, uint64_t now_usec);

/* The row of (scope, src_cc, dst_cc) in the open interval, created when
 * new, or the scope's overflow row when the table is full. */
uint16_t geo_sum_row(struct geo_sum *s, uint8_t scope, const char *src_cc, const char *dst_cc);
struct geo_sum_row *geo_sum_row_at(struct geo_sum *s, uint16_t row);

/* Counts internal host a for the row once per interval. */
void geo_sum_add_host(struct geo_sum *s, uint16_t row, const struct lw_addr *a);

/* Top lists. *hint is the caller's remembered slot (any value at first). */
void geo_sum_top_ep(struct geo_sum_row *r, const struct lw_addr *a, const char *cc, uint32_t asn,
                    uint64_t bytes, uint8_t *hint);
void geo_sum_top_asn(struct geo_sum_row *r, uint32_t asn, uint8_t org_db, uint32_t org_off,
                     uint32_t epoch, uint64_t bytes, uint8_t *hint);
void geo_sum_top_app(struct geo_sum_row *r, const char *app, uint64_t bytes, uint8_t *hint);

/* Closes the open interval at capture time end_usec (the interval's own end
 * when that is earlier) and returns it, or NULL when nothing was counted.
 * The result stays valid until geo_sum_open(). */
const struct geo_summary *geo_sum_close(struct geo_sum *s, uint64_t end_usec);
/* Adds src's interval (open or closed; same interval length, same start
 * or dst empty) into dst's open one: counters summed, the internal-host
 * sets united (so a host two workers saw counts once), top lists merged
 * (exact while a row has at most GEO_SUM_TOPK keys over both). Used to
 * make one summary of several workers'. */
void geo_sum_merge(struct geo_sum *dst, const struct geo_sum *src);
/* Forgets the closed interval; counting starts again at the next addition. */
void geo_sum_open(struct geo_sum *s);

const char *geo_scope_name(enum geo_scope s);
/* The country a row is about: the foreign end's (the responder's for
 * transit), NULL for internal/domestic/external and overflow rows. */
const char *geo_sum_row_country(const struct geo_sum_row *r);

#endif
