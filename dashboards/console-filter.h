/* console-filter.h - the alert filters of linkwatch-console's API: parsed
 * from query-string values, checked, and matched against EVE alert events.
 *
 * Every value is validated here, before anything reaches Redis; a bad value
 * makes filter_set() fail with a message fit for a 400 reply.
 */
#ifndef LW_CONSOLE_FILTER_H
#define LW_CONSOLE_FILTER_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "util.h"

#define FILTER_MAX_LIST 16

struct alert_filter {
    int64_t  from, to;                       /* Unix seconds of EVE timestamp; 0: open */
    int      nsev;  int sev[FILTER_MAX_LIST];
    int      nsid;  uint64_t sid[FILTER_MAX_LIST];
    char     text[257];                      /* signature substring, case-insensitive */
    int      has_src, has_dst, has_ip;
    struct lw_cidr src, dst, ip;             /* ip: either end (the sensor's CIDR code, util.h) */
    char     country[3];                     /* either end's geo country */
    char     scope[32];
    char     sensor[65];
    char     proto[33];                      /* app_proto or ndpi.protocol */
    char     status[16];                     /* new, acknowledged, escalated, closed */
};

void filter_init(struct alert_filter *f);

/* Sets filter `name` from `value`. Returns 0, 1 when `name` is not a filter
 * (the caller handles it), or -1 with a message in err. */
int filter_set(struct alert_filter *f, const char *name, const char *value,
               char *err, size_t errlen);

/* Whether the EVE alert `ev` from `sensor` with triage status `status`
 * ("new" when never triaged) passes every filter set in f. */
int filter_match(const struct alert_filter *f, json_t *ev, const char *sensor,
                 const char *status);

/* Parses a time: Unix seconds or "YYYY-MM-DDTHH:MM[:SS]" (UTC, EVE's form with
 * fraction and +0000 accepted). Returns 0 or -1. */
int parse_time(const char *s, int64_t *out);

/* Whether s is a triage status name. */
int status_valid(const char *s);

#endif
