/* redis-keys.c - the key layout of docs/redis.md; see redis-keys.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "redis-keys.h"

/* snprintf that returns the length written (cut at len - 1). */
static size_t kprintf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static size_t kprintf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

size_t rkey_bucket(char *buf, size_t len, const struct rkeys *rk, const char *scope, char res,
                   uint64_t start, const char *fam, const char *metric)
{
    return kprintf(buf, len, "%s:{%s:%c:%llu}:%s%s%s", rk->prefix, scope, res,
                   (unsigned long long)start, fam, metric ? ":" : "", metric ? metric : "");
}

size_t rkey_named(char *buf, size_t len, const struct rkeys *rk, const char *which)
{
    if (strcmp(which, "alerts") == 0)
        return kprintf(buf, len, "%s:{alerts}", rk->prefix);
    if (strcmp(which, "alerts-seq") == 0)
        return kprintf(buf, len, "%s:{alerts}:seq", rk->prefix);
    if (strcmp(which, "triage") == 0)
        return kprintf(buf, len, "%s:{alerts}:triage", rk->prefix);
    if (strcmp(which, "channel") == 0)
        return kprintf(buf, len, "%s:alerts", rk->prefix);
    if (strcmp(which, "flows") == 0)
        return kprintf(buf, len, "%s:flows", rk->prefix);
    if (strcmp(which, "sensor") == 0)
        return rkey_sensor(buf, len, rk, rk->sensor ? rk->sensor : "");
    return kprintf(buf, len, "%s:sensors", rk->prefix);
}

size_t rkey_sensor(char *buf, size_t len, const struct rkeys *rk, const char *sensor)
{
    return kprintf(buf, len, "%s:{%s}:sensor", rk->prefix, sensor);
}

size_t rkey_history(char *buf, size_t len, const struct rkeys *rk, const char *id)
{
    return kprintf(buf, len, "%s:{alerts}:history:%s", rk->prefix, id);
}
