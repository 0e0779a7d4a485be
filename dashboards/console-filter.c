/* console-filter.c - alert filters: parse and check query values, match
 * EVE alerts. See console-filter.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "console-filter.h"

static const char *const statuses[] = { "new", "acknowledged", "escalated", "closed", NULL };
static const char *const scopes[] = { "internal", "domestic", "cross-border-outbound",
    "cross-border-inbound", "transit", "external", "cross-border", NULL };

void filter_init(struct alert_filter *f)
{
    memset(f, 0, sizeof *f);
}

int status_valid(const char *s)
{
    for (int i = 0; statuses[i]; i++)
        if (strcmp(s, statuses[i]) == 0)
            return 1;
    return 0;
}

int parse_time(const char *s, int64_t *out)
{
    int64_t usec;

    if (lw_time_parse(s, &usec) < 0)
        return -1;
    /* whole seconds, rounded down also before 1970 */
    *out = usec >= 0 ? usec / 1000000 : -((-usec + 999999) / 1000000);
    return 0;
}

/* Whether the EVE address text addr lies in c. */
static int cidr_has(const struct lw_cidr *c, const char *addr)
{
    struct lw_addr a;

    return addr && lw_addr_parse(addr, &a) == 0 && lw_cidr_contains(c, &a);
}

/* A comma-separated list of integers in [lo, hi]. */
static int parse_uint_list(const char *s, uint64_t lo, uint64_t hi, uint64_t *out, int *n)
{
    const char *p = s;

    *n = 0;
    while (*p) {
        char *end;
        if (!isdigit((unsigned char)*p) || *n == FILTER_MAX_LIST)
            return -1;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno || v < lo || v > hi)
            return -1;
        out[(*n)++] = v;
        if (*end == ',')
            end++;
        else if (*end != '\0')
            return -1;
        p = end;
    }
    return *n ? 0 : -1;
}

/* Copies a value made only of characters in `allowed` (plus alnum). */
static int copy_token(char *dst, size_t dstlen, const char *s, const char *allowed)
{
    size_t n = strlen(s);

    if (n == 0 || n >= dstlen)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(allowed, s[i]))
            return -1;
    memcpy(dst, s, n + 1);
    return 0;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int filter_set(struct alert_filter *f, const char *name, const char *value,
               char *err, size_t errlen)
{
    if (strcmp(name, "from") == 0 || strcmp(name, "to") == 0) {
        int64_t t;
        if (parse_time(value, &t) < 0)
            FAIL("%s: expected Unix seconds or YYYY-MM-DDTHH:MM:SS (UTC)", name);
        if (name[0] == 'f')
            f->from = t;
        else
            f->to = t;
    } else if (strcmp(name, "severity") == 0) {
        uint64_t v[FILTER_MAX_LIST];
        if (parse_uint_list(value, 1, 255, v, &f->nsev) < 0)
            FAIL("severity: expected a list of 1 to %d numbers 1..255, e.g. 1,2", FILTER_MAX_LIST);
        for (int i = 0; i < f->nsev; i++)
            f->sev[i] = (int)v[i];
    } else if (strcmp(name, "sid") == 0) {
        if (parse_uint_list(value, 1, UINT32_MAX, f->sid, &f->nsid) < 0)
            FAIL("sid: expected a list of 1 to %d signature ids", FILTER_MAX_LIST);
    } else if (strcmp(name, "q") == 0 || strcmp(name, "signature") == 0) {
        size_t n = strlen(value);
        if (n == 0 || n >= sizeof f->text)
            FAIL("%s: expected 1 to %zu characters", name, sizeof f->text - 1);
        memcpy(f->text, value, n + 1);
    } else if (strcmp(name, "src") == 0 || strcmp(name, "dst") == 0 || strcmp(name, "ip") == 0) {
        struct lw_cidr *c = name[0] == 's' ? &f->src : name[0] == 'd' ? &f->dst : &f->ip;
        if (lw_cidr_parse(value, c) < 0)
            FAIL("%s: expected an IPv4/IPv6 address or CIDR", name);
        if (name[0] == 's')
            f->has_src = 1;
        else if (name[0] == 'd')
            f->has_dst = 1;
        else
            f->has_ip = 1;
    } else if (strcmp(name, "country") == 0) {
        if (!((strlen(value) == 2 && isalpha((unsigned char)value[0]) &&
               isalpha((unsigned char)value[1])) || strcmp(value, "--") == 0))
            FAIL("country: expected an ISO 3166-1 alpha-2 code such as US, or --");
        f->country[0] = (char)toupper((unsigned char)value[0]);
        f->country[1] = (char)toupper((unsigned char)value[1]);
        f->country[2] = '\0';
    } else if (strcmp(name, "scope") == 0) {
        int ok = 0;
        for (int i = 0; scopes[i]; i++)
            ok |= strcmp(value, scopes[i]) == 0;
        if (!ok)
            FAIL("scope: expected internal, domestic, cross-border, cross-border-outbound, "
                 "cross-border-inbound, transit or external");
        snprintf(f->scope, sizeof f->scope, "%s", value);
    } else if (strcmp(name, "sensor") == 0) {
        if (copy_token(f->sensor, sizeof f->sensor, value, ".-_") < 0)
            FAIL("sensor: expected a sensor id (letters, digits, '.', '-', '_')");
    } else if (strcmp(name, "proto") == 0 || strcmp(name, "app_proto") == 0) {
        if (copy_token(f->proto, sizeof f->proto, value, ".-_") < 0)
            FAIL("%s: expected a protocol name such as http or TLS.YouTube", name);
    } else if (strcmp(name, "status") == 0) {
        if (!status_valid(value))
            FAIL("status: expected new, acknowledged, escalated or closed");
        snprintf(f->status, sizeof f->status, "%s", value);
    } else {
        return 1;
    }
    return 0;
}

static const char *str_at(json_t *o, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    return json_string_value(v);
}

static int eq_nocase(const char *a, const char *b)
{
    return a && b && strcasecmp(a, b) == 0;
}

int filter_match(const struct alert_filter *f, json_t *ev, const char *sensor,
                 const char *status)
{
    json_t *alert = json_object_get(ev, "alert");

    if (f->from || f->to) {
        const char *ts = json_string_value(json_object_get(ev, "timestamp"));
        int64_t t;
        if (!ts || parse_time(ts, &t) < 0)
            return 0;
        if ((f->from && t < f->from) || (f->to && t >= f->to))
            return 0;
    }
    if (f->nsev) {
        json_int_t s = json_integer_value(json_object_get(alert, "severity"));
        int ok = 0;
        for (int i = 0; i < f->nsev; i++)
            ok |= s == f->sev[i];
        if (!ok)
            return 0;
    }
    if (f->nsid) {
        json_int_t s = json_integer_value(json_object_get(alert, "signature_id"));
        int ok = 0;
        for (int i = 0; i < f->nsid; i++)
            ok |= (uint64_t)s == f->sid[i];
        if (!ok)
            return 0;
    }
    if (f->text[0]) {
        const char *sig = json_string_value(json_object_get(alert, "signature"));
        if (!sig || !strcasestr(sig, f->text))
            return 0;
    }
    const char *src = str_at(ev, "src_ip", NULL, NULL), *dst = str_at(ev, "dest_ip", NULL, NULL);
    if (f->has_src && !cidr_has(&f->src, src))
        return 0;
    if (f->has_dst && !cidr_has(&f->dst, dst))
        return 0;
    if (f->has_ip && !cidr_has(&f->ip, src) && !cidr_has(&f->ip, dst))
        return 0;
    if (f->country[0]) {
        const char *a = str_at(ev, "geo", "src", "country"), *b = str_at(ev, "geo", "dest", "country");
        if (!(a && strcmp(a, f->country) == 0) && !(b && strcmp(b, f->country) == 0))
            return 0;
    }
    if (f->scope[0]) {
        const char *s = str_at(ev, "geo", "scope", NULL);
        if (!s)
            return 0;
        if (strcmp(f->scope, "cross-border") == 0 ? strncmp(s, "cross-border", 12) != 0
                                                  : strcmp(s, f->scope) != 0)
            return 0;
    }
    if (f->sensor[0] && !(sensor && strcmp(sensor, f->sensor) == 0))
        return 0;
    if (f->proto[0] && !eq_nocase(str_at(ev, "app_proto", NULL, NULL), f->proto) &&
        !eq_nocase(str_at(ev, "ndpi", "protocol", NULL), f->proto))
        return 0;
    if (f->status[0] && strcmp(status ? status : "new", f->status) != 0)
        return 0;
    return 1;
}
