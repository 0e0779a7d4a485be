/* json.c - the JSON encoder behind every EVE event (see json.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JBUF_INITIAL_CAP 256

/* need_comma[] holds two bits per open container. */
#define JB_COMMA  0x01u      /* a member has been written: the next needs a comma */
#define JB_ARRAY  0x02u      /* the container is an array (members take no key) */

static const char hexdig[] = "0123456789abcdef";

/* Byte classes for string escaping: 0 copies as is, 1 needs an escape,
 * 2 starts (or is a stray part of) a multi-byte UTF-8 sequence. */
static const uint8_t esc_class[256] = {
    [0x00] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1, [0x7f] = 1,
    [0x80] = 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* ---- buffer ------------------------------------------------------------ */

void jbuf_init(struct jbuf *j)
{
    memset(j, 0, sizeof *j);
}

void jbuf_free(struct jbuf *j)
{
    free(j->buf);
    j->buf = NULL;
    j->len = j->cap = 0;
    j->depth = 0;
    j->failed = 0;
}

/* Empties the text and the nesting stack but keeps the allocation. */
void jbuf_reset(struct jbuf *j)
{
    j->len = 0;
    j->depth = 0;
    j->failed = 0;
    memset(j->need_comma, 0, sizeof j->need_comma);
    if (j->buf)
        j->buf[0] = '\0';
}

int jbuf_ok(const struct jbuf *j)
{
    return !j->failed;
}

/* Makes room for n more bytes plus the terminating NUL. Returns 0, or -1
 * with the failure latched. */
static int jbuf_reserve(struct jbuf *j, size_t n)
{
    size_t need, cap;
    char *nb;

    if (j->failed)
        return -1;
    if (n < j->cap - j->len)
        return 0;
    need = j->len + n + 1;
    if (need < n)
        goto fail;
    cap = j->cap ? j->cap : JBUF_INITIAL_CAP;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            goto fail;
        cap *= 2;
    }
    nb = realloc(j->buf, cap);
    if (nb == NULL)
        goto fail;
    j->buf = nb;
    j->cap = cap;
    return 0;

fail:
    j->failed = 1;
    return -1;
}

static void jbuf_put(struct jbuf *j, const void *s, size_t n)
{
    if (jbuf_reserve(j, n) < 0)
        return;
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void jbuf_putc(struct jbuf *j, char c)
{
    if (jbuf_reserve(j, 1) < 0)
        return;
    j->buf[j->len++] = c;
    j->buf[j->len] = '\0';
}

/* ---- strings ----------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (n bytes left), or 0 when
 * the lead byte is not the start of one: overlongs (C0, C1, E0 80-9F,
 * F0 80-8F), surrogates (ED A0-BF), code points past U+10FFFF (F4 90+, F5-FF),
 * stray continuation bytes and truncated sequences are all rejected. */
size_t json_utf8_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0], lo = 0x80, hi = 0xbf;
    size_t len;

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

static char *put_u00(char *o, uint8_t c)
{
    memcpy(o, "\\u00", 4);
    o[4] = hexdig[c >> 4];
    o[5] = hexdig[c & 15];
    return o + 6;
}

/* Writes s as a quoted JSON string. Room for the worst case (every byte
 * as \u00XX) is reserved once, so the loop itself does no bounds checks. */
static void jbuf_put_string(struct jbuf *j, const uint8_t *s, size_t n)
{
    const uint8_t *end = s + n;
    char *o;

    if (n > (SIZE_MAX - 2) / 6 || jbuf_reserve(j, n * 6 + 2) < 0) {
        j->failed = 1;
        return;
    }
    o = j->buf + j->len;
    *o++ = '"';
    while (s < end) {
        const uint8_t *run = s;
        size_t l;

        while (s < end && esc_class[*s] == 0)
            s++;
        memcpy(o, run, (size_t)(s - run));
        o += s - run;
        if (s == end)
            break;
        if (esc_class[*s] == 2) {
            l = json_utf8_len(s, (size_t)(end - s));
            if (l > 0) {
                memcpy(o, s, l);
                o += l;
                s += l;
            } else {
                o = put_u00(o, *s++);
            }
            continue;
        }
        switch (*s) {
        case '"':  *o++ = '\\'; *o++ = '"';  break;
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\b': *o++ = '\\'; *o++ = 'b';  break;
        case '\f': *o++ = '\\'; *o++ = 'f';  break;
        case '\n': *o++ = '\\'; *o++ = 'n';  break;
        case '\r': *o++ = '\\'; *o++ = 'r';  break;
        case '\t': *o++ = '\\'; *o++ = 't';  break;
        default:   o = put_u00(o, *s);       break;
        }
        s++;
    }
    *o++ = '"';
    j->len = (size_t)(o - j->buf);
    j->buf[j->len] = '\0';
}

/* ---- members and containers -------------------------------------------- */

/* Writes the separator and key that precede a value. Inside an object the
 * key is required (a NULL key latches failure); inside an array and at the
 * top level it is ignored. Returns 0, or -1 when nothing must be written. */
static int jbuf_member(struct jbuf *j, const char *key)
{
    uint8_t *st;

    if (j->failed)
        return -1;
    if (j->depth == 0)
        return 0;
    st = &j->need_comma[j->depth - 1];
    if (!(*st & JB_ARRAY) && key == NULL) {
        j->failed = 1;
        return -1;
    }
    if (*st & JB_COMMA)
        jbuf_putc(j, ',');
    *st |= JB_COMMA;
    if (!(*st & JB_ARRAY)) {
        jbuf_put_string(j, (const uint8_t *)key, strlen(key));
        jbuf_putc(j, ':');
    }
    return j->failed ? -1 : 0;
}

static void jbuf_open(struct jbuf *j, const char *key, char c, uint8_t kind)
{
    if (j->depth >= JBUF_MAX_DEPTH) {
        j->failed = 1;
        return;
    }
    if (jbuf_member(j, key) < 0)
        return;
    jbuf_putc(j, c);
    j->need_comma[j->depth++] = kind;
}

static void jbuf_close(struct jbuf *j, char c, uint8_t kind)
{
    if (j->failed)
        return;
    if (j->depth == 0 || (j->need_comma[j->depth - 1] & JB_ARRAY) != kind) {
        j->failed = 1;
        return;
    }
    j->need_comma[--j->depth] = 0;
    jbuf_putc(j, c);
}

void jbuf_open_object(struct jbuf *j, const char *key)  { jbuf_open(j, key, '{', 0); }
void jbuf_close_object(struct jbuf *j)                  { jbuf_close(j, '}', 0); }
void jbuf_open_array(struct jbuf *j, const char *key)   { jbuf_open(j, key, '[', JB_ARRAY); }
void jbuf_close_array(struct jbuf *j)                   { jbuf_close(j, ']', JB_ARRAY); }

/* A NULL string is written as null rather than crashing the event. */
void jbuf_str(struct jbuf *j, const char *key, const char *s)
{
    if (s == NULL) {
        jbuf_null(j, key);
        return;
    }
    jbuf_strn(j, key, (const uint8_t *)s, strlen(s));
}

void jbuf_strn(struct jbuf *j, const char *key, const uint8_t *s, size_t n)
{
    if (s == NULL && n > 0) {
        jbuf_null(j, key);
        return;
    }
    if (jbuf_member(j, key) < 0)
        return;
    jbuf_put_string(j, s ? s : (const uint8_t *)"", n);
}

/* Formats v right-aligned ending at end; returns the first digit. */
static char *fmt_u64(char *end, uint64_t v)
{
    char *p = end;

    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return p;
}

void jbuf_u64(struct jbuf *j, const char *key, uint64_t v)
{
    char tmp[24], *p;

    if (jbuf_member(j, key) < 0)
        return;
    p = fmt_u64(tmp + sizeof tmp, v);
    jbuf_put(j, p, (size_t)(tmp + sizeof tmp - p));
}

void jbuf_i64(struct jbuf *j, const char *key, int64_t v)
{
    char tmp[24], *p;
    /* Negating in unsigned arithmetic keeps INT64_MIN defined. */
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    if (jbuf_member(j, key) < 0)
        return;
    p = fmt_u64(tmp + sizeof tmp, mag);
    if (v < 0)
        *--p = '-';
    jbuf_put(j, p, (size_t)(tmp + sizeof tmp - p));
}

/* Shortest of %.15g and %.17g that reads back exactly: 0.1 stays "0.1"
 * yet every double round-trips. %g output ("1e+20", "-0", "2.5e-07") is
 * valid JSON; the sensor never calls setlocale, so the point is '.'. */
void jbuf_double(struct jbuf *j, const char *key, double v)
{
    char tmp[40];
    int n;

    if (!isfinite(v)) {
        jbuf_null(j, key);
        return;
    }
    if (jbuf_member(j, key) < 0)
        return;
    n = snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v)
        n = snprintf(tmp, sizeof tmp, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        j->failed = 1;
        return;
    }
    jbuf_put(j, tmp, (size_t)n);
}

void jbuf_bool(struct jbuf *j, const char *key, int v)
{
    if (jbuf_member(j, key) < 0)
        return;
    if (v)
        jbuf_put(j, "true", 4);
    else
        jbuf_put(j, "false", 5);
}

void jbuf_null(struct jbuf *j, const char *key)
{
    if (jbuf_member(j, key) < 0)
        return;
    jbuf_put(j, "null", 4);
}

void jbuf_raw(struct jbuf *j, const char *key, const char *json, size_t n)
{
    if (jbuf_member(j, key) < 0)
        return;
    jbuf_put(j, json, n);
}

/* ---- timestamps -------------------------------------------------------- */

static char *put2(char *o, unsigned v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
    return o + 2;
}

/* Writes ts_usec as 2024-01-02T03:04:05.123456+0000 at o and returns the
 * end (31 bytes for four-digit years, up to 33 for the far future). The
 * date comes from Howard Hinnant's days-to-civil arithmetic: a handful of
 * integer operations, cheaper than gmtime_r and with no locale or TZ
 * lookups, so there is nothing worth caching per second. */
static char *fmt_timestamp(char *o, uint64_t ts_usec)
{
    uint64_t secs = ts_usec / 1000000u, days = secs / 86400u;
    unsigned usec = (unsigned)(ts_usec % 1000000u), sod = (unsigned)(secs % 86400u);
    uint64_t z = days + 719468u, era = z / 146097u;
    unsigned doe = (unsigned)(z - era * 146097u);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned day = doy - (153 * mp + 2) / 5 + 1;
    unsigned mon = mp < 10 ? mp + 3 : mp - 9;
    uint64_t year = era * 400 + yoe + (mon <= 2);
    char tmp[24], *p = fmt_u64(tmp + sizeof tmp, year);

    while (tmp + sizeof tmp - p < 4)
        *--p = '0';
    memcpy(o, p, (size_t)(tmp + sizeof tmp - p));
    o += tmp + sizeof tmp - p;
    *o++ = '-';
    o = put2(o, mon);
    *o++ = '-';
    o = put2(o, day);
    *o++ = 'T';
    o = put2(o, sod / 3600);
    *o++ = ':';
    o = put2(o, sod / 60 % 60);
    *o++ = ':';
    o = put2(o, sod % 60);
    *o++ = '.';
    for (int i = 5; i >= 0; i--) {
        o[i] = (char)('0' + usec % 10);
        usec /= 10;
    }
    o += 6;
    memcpy(o, "+0000", 5);
    return o + 5;
}

/* Formats into out, truncating (always NUL-terminated) when outlen is short. */
void json_format_timestamp(char *out, size_t outlen, uint64_t ts_usec)
{
    char tmp[48];
    size_t n = (size_t)(fmt_timestamp(tmp, ts_usec) - tmp);

    if (outlen == 0)
        return;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, tmp, n);
    out[n] = '\0';
}

void jbuf_timestamp(struct jbuf *j, const char *key, uint64_t ts_usec)
{
    char tmp[48], *e;

    if (jbuf_member(j, key) < 0)
        return;
    tmp[0] = '"';
    e = fmt_timestamp(tmp + 1, ts_usec);
    *e++ = '"';
    jbuf_put(j, tmp, (size_t)(e - tmp));
}
