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

size_t rkey_ix(char *buf, size_t len, const struct rkeys *rk, const char *family, const char *value)
{
    return kprintf(buf, len, "%s:{alerts}:ix:%s%s%s", rk->prefix, family, value ? ":" : "",
                   value ? value : "");
}

size_t rkey_ix_net(char *buf, size_t len, const struct rkeys *rk, const char *side,
                   const struct lw_addr *a)
{
    struct lw_addr net = *a;
    char txt[LW_ADDRSTRLEN], fam[8];
    unsigned bits = a->family == 4 ? 24 : 64;

    memset(net.u.b + bits / 8, 0, sizeof net.u.b - bits / 8);
    lw_addr_str(&net, txt, sizeof txt);
    snprintf(fam, sizeof fam, "%snet", side);
    return kprintf(buf, len, "%s:{alerts}:ix:%s:%s/%u", rk->prefix, fam, txt, bits);
}

size_t rkey_ix_group(char *buf, size_t len, const struct rkeys *rk, const char *field, size_t flen)
{
    uint64_t h = 1469598103934665603ULL;       /* FNV-1a, then mixed */

    for (size_t i = 0; i < flen; i++)
        h = (h ^ (uint8_t)field[i]) * 1099511628211ULL;
    return kprintf(buf, len, "%s:{alerts}:ix:grp:%llu", rk->prefix,
                   (unsigned long long)(lw_mix64(h) % RKEY_GROUP_BUCKETS));
}
