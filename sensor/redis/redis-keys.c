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

/* The parts, NULL-terminated, joined into buf (cut at len - 1): what the
 * writer builds a dozen times per alert, without printf's cost. */
static size_t kjoin(char *buf, size_t len, ...)
{
    size_t o = 0;
    va_list ap;

    if (len == 0)
        return 0;
    va_start(ap, len);
    for (const char *p = va_arg(ap, const char *); p; p = va_arg(ap, const char *)) {
        size_t n = strlen(p);
        if (n > len - 1 - o)
            n = len - 1 - o;
        memcpy(buf + o, p, n);
        o += n;
    }
    va_end(ap);
    buf[o] = '\0';
    return o;
}

size_t rkey_bucket(char *buf, size_t len, const struct rkeys *rk, const char *scope, char res,
                   uint64_t start, const char *fam, const char *metric)
{
    return kprintf(buf, len, "%s:{%s:%c:%llu}:%s%s%s", rk->prefix, scope, res,
                   (unsigned long long)start, fam, metric ? ":" : "", metric ? metric : "");
}

/* "<prefix>:{alerts}" or "<prefix>:{alerts:<shard>}": the stem every key
 * of the alerts stream's slot starts with. */
static const char *shard_sep(const struct rkeys *rk)
{
    return rk->shard && rk->shard[0] ? ":" : "";
}

static const char *shard_name(const struct rkeys *rk)
{
    return rk->shard && rk->shard[0] ? rk->shard : "";
}

size_t rkey_named(char *buf, size_t len, const struct rkeys *rk, const char *which)
{
    if (strcmp(which, "alerts") == 0)
        return kjoin(buf, len, rk->prefix, ":{alerts", shard_sep(rk), shard_name(rk), "}", (const char *)NULL);
    if (strcmp(which, "alerts-seq") == 0)
        return kjoin(buf, len, rk->prefix, ":{alerts", shard_sep(rk), shard_name(rk), "}:seq",
                     (const char *)NULL);
    if (strcmp(which, "triage") == 0)
        return kjoin(buf, len, rk->prefix, ":{alerts", shard_sep(rk), shard_name(rk), "}:triage",
                     (const char *)NULL);
    if (strcmp(which, "channel") == 0)
        return kprintf(buf, len, "%s:alerts", rk->prefix);
    if (strcmp(which, "flows") == 0)
        return rk->shard && rk->shard[0] ? kprintf(buf, len, "%s:{flows:%s}", rk->prefix, rk->shard)
                                         : kprintf(buf, len, "%s:flows", rk->prefix);
    if (strcmp(which, "shards") == 0)
        return kprintf(buf, len, "%s:alert-shards", rk->prefix);
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
    return kjoin(buf, len, rk->prefix, ":{alerts", shard_sep(rk), shard_name(rk), "}:history:", id,
                 (const char *)NULL);
}

size_t rkey_ix(char *buf, size_t len, const struct rkeys *rk, const char *family, const char *value)
{
    return kjoin(buf, len, rk->prefix, ":{alerts", shard_sep(rk), shard_name(rk), "}:ix:", family,
                 value ? ":" : "", value ? value : "", (const char *)NULL);
}

size_t rkey_ix_net(char *buf, size_t len, const struct rkeys *rk, const char *side,
                   const struct lw_addr *a)
{
    struct lw_addr net = *a;
    char txt[LW_ADDRSTRLEN], *o = txt;
    unsigned bits = a->family == 4 ? 24 : 64;

    memset(net.u.b + bits / 8, 0, sizeof net.u.b - bits / 8);
    if (a->family == 4) {
        /* a.b.c.0, as inet_ntop writes it (a dozen times cheaper) */
        for (int i = 0; i < 3; i++) {
            unsigned v = net.u.b[i];
            if (v >= 100)
                *o++ = (char)('0' + v / 100);
            if (v >= 10)
                *o++ = (char)('0' + v / 10 % 10);
            *o++ = (char)('0' + v % 10);
            *o++ = '.';
        }
        memcpy(o, "0", 2);
    } else {
        lw_addr_str(&net, txt, sizeof txt);
    }
    return kjoin(buf, len, rk->prefix, ":{alerts", shard_sep(rk), shard_name(rk), "}:ix:", side, "net:", txt,
                 bits == 24 ? "/24" : "/64", (const char *)NULL);
}

size_t rkey_ix_group(char *buf, size_t len, const struct rkeys *rk, const char *field, size_t flen)
{
    uint64_t h = 1469598103934665603ULL;       /* FNV-1a, then mixed */
    char n[8], *p = n + sizeof n;
    unsigned b;

    for (size_t i = 0; i < flen; i++)
        h = (h ^ (uint8_t)field[i]) * 1099511628211ULL;
    b = (unsigned)(lw_mix64(h) % RKEY_GROUP_BUCKETS);
    *--p = '\0';
    do {
        *--p = (char)('0' + b % 10);
        b /= 10;
    } while (b);
    return kjoin(buf, len, rk->prefix, ":{alerts", shard_sep(rk), shard_name(rk), "}:ix:grp:", p,
                 (const char *)NULL);
}
