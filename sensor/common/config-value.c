/* config-value.c - the value formats of linkwatch.yaml: sizes, durations,
 * numbers, booleans, names, countries and host:port (config-int.h). */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include "config.h"
#include "config-int.h"
#include "util.h"

/* ------------------------------------------------------------------ value parsers */

/* Reads a decimal number and the unit letters after it (spaces between are
 * allowed). Returns 0, or -1 when there are no digits or it overflows. */
static int parse_number_unit(const char *s, uint64_t *num, const char **unit)
{
    uint64_t v = 0;
    const char *p = s;

    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    while (*p == ' ')
        p++;
    *num = v;
    *unit = p;
    return 0;
}

static int scale(uint64_t v, uint64_t mult, uint64_t *out)
{
    if (mult != 0 && v > UINT64_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}

int config_parse_size(const char *s, uint64_t *out)
{
    static const struct { const char *u; uint64_t mult; } units[] = {
        { "", 1 }, { "b", 1 },
        { "k", 1ULL << 10 }, { "kb", 1ULL << 10 }, { "kib", 1ULL << 10 },
        { "m", 1ULL << 20 }, { "mb", 1ULL << 20 }, { "mib", 1ULL << 20 },
        { "g", 1ULL << 30 }, { "gb", 1ULL << 30 }, { "gib", 1ULL << 30 },
    };
    const char *unit;
    uint64_t v;

    if (s == NULL || parse_number_unit(s, &v, &unit) < 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(unit, units[i].u) == 0)
            return scale(v, units[i].mult, out);
    return -1;
}

int config_parse_duration(const char *s, uint64_t *out)
{
    static const struct { const char *u; uint64_t mult; } units[] = {
        { "", 1 }, { "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 },
    };
    const char *unit;
    uint64_t v;

    if (s == NULL || parse_number_unit(s, &v, &unit) < 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(unit, units[i].u) == 0)
            return scale(v, units[i].mult, out);
    return -1;
}

int cfgv_parse_uint(const char *s, uint64_t *out)
{
    const char *unit;

    return parse_number_unit(s, out, &unit) < 0 || *unit != '\0' ? -1 : 0;
}

int cfgv_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

/* Sensor ids end up inside Redis keys and hash tags: keep them tame. */
int cfgv_valid_ident(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_')
            return 0;
    return 1;
}

int cfgv_valid_varname(const char *s)
{
    if (*s == '\0' || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

int cfgv_valid_country(const char *s)
{
    return s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == '\0';
}

int cfgv_valid_port(const char *s)
{
    uint64_t v;

    return cfgv_parse_uint(s, &v) == 0 && v >= 1 && v <= 65535;
}

/* "host:port", "[v6addr]:port". A host name is letters, digits, '.', '-'. */
int cfgv_valid_hostport(const char *s)
{
    const char *colon, *close;
    struct lw_addr a;
    char buf[64];

    if (*s == '[') {
        close = strchr(s, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= sizeof buf)
            return 0;
        memcpy(buf, s + 1, (size_t)(close - s - 1));
        buf[close - s - 1] = '\0';
        return lw_addr_parse(buf, &a) == 0 && a.family == 6 && cfgv_valid_port(close + 2);
    }
    colon = strchr(s, ':');
    if (colon == NULL || colon == s || strchr(colon + 1, ':') != NULL)
        return 0;
    for (const char *p = s; p < colon; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
            return 0;
    return cfgv_valid_port(colon + 1);
}
