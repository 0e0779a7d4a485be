/* metrics.h - Prometheus text exposition on /metrics (libmicrohttpd).
 *
 * The server runs its own thread; on each scrape it calls the collector the
 * sensor gave, which writes families (stats_prom() and the helpers of
 * stats.h). Collectors read counters the workers update (relaxed atomic
 * loads): a scrape never stops a worker.
 *
 * Requests pass an HTTP gate (http-gate.h) first: 32 connections at most,
 * 8 per address, each request whole within 5 s and without a body, so
 * slow or idle clients cannot keep scrapes out. Its refusals are counted
 * on /metrics itself (linkwatch_metrics_http_refused_total).
 */
#ifndef LW_METRICS_H
#define LW_METRICS_H

#include <stdint.h>
#include <stdio.h>

typedef void (*metrics_collect_fn)(void *arg, FILE *out);

struct metrics;

/* Listens on listen ("127.0.0.1:9917", "[::1]:9917", ":9917" for every
 * address). Returns NULL with the reason in err. */
struct metrics *metrics_start(const char *listen, metrics_collect_fn fn, void *arg,
                              char *err, size_t errlen);
void metrics_stop(struct metrics *m);

#endif
