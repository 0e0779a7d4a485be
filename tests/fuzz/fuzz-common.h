/* fuzz-common.h - what the libFuzzer targets share: the packet input format
 * and a JSON well-formedness check.
 *
 * Packet inputs: one byte choosing the link type, then frames, each a
 * little-endian u16 length and that many bytes (a short last frame takes
 * what is left). tests/fuzz/seeds.py writes seeds in this format from
 * capture files.
 */
#ifndef LW_FUZZ_COMMON_H
#define LW_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode.h"

/* The link types decode_datalink_supported() accepts, by selector byte. */
static const int fuzz_dlts[] = { 1 /* EN10MB */, 101 /* RAW */, 12 /* RAW (BSD) */, 0 /* NULL */,
                                 108 /* LOOP */, 113 /* LINUX_SLL */, 276 /* LINUX_SLL2 */,
                                 9 /* PPP */, 104 /* C_HDLC */, 228 /* IPV4 */, 229 /* IPV6 */ };

static inline int fuzz_dlt(uint8_t sel)
{
    int dlt = fuzz_dlts[sel % (sizeof fuzz_dlts / sizeof fuzz_dlts[0])];

    return decode_datalink_supported(dlt) ? dlt : 1;
}

/* Takes the next frame off *d. Returns 0 when nothing is left. */
static inline int fuzz_next_frame(const uint8_t **d, size_t *n, const uint8_t **frame, uint32_t *len)
{
    size_t want;

    if (*n < 2)
        return 0;
    want = (size_t)(*d)[0] | (size_t)(*d)[1] << 8;
    *d += 2;
    *n -= 2;
    if (want > *n)
        want = *n;
    *frame = *d;
    *len = (uint32_t)want;
    *d += want;
    *n -= want;
    return 1;
}

/* JSON well-formedness (RFC 8259) of s[0..n): returns the end of one value
 * starting at s, or NULL. Depth-limited like the encoder. */
static const char *fuzz_json_value(const char *s, const char *e, int depth);

static const char *fuzz_json_ws(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++;
    return s;
}

static const char *fuzz_json_string(const char *s, const char *e)
{
    if (s >= e || *s++ != '"')
        return NULL;
    while (s < e) {
        unsigned char c = (unsigned char)*s;
        int more;

        if (c == '"')
            return s + 1;
        if (c < 0x20)
            return NULL;
        if (c == '\\') {
            if (++s >= e)
                return NULL;
            if (*s == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (s + i >= e || !strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
                        return NULL;
                s += 5;
            } else if (*s && strchr("\"\\/bfnrt", *s)) {
                s++;
            } else {
                return NULL;
            }
            continue;
        }
        /* UTF-8: shortest form, no surrogates, at most U+10FFFF */
        more = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
        if (more < 0 || c == 0xc0 || c == 0xc1 || c > 0xf4 || s + more >= e)
            return NULL;
        for (int i = 1; i <= more; i++)
            if (((unsigned char)s[i] & 0xc0) != 0x80)
                return NULL;
        if ((c == 0xe0 && (unsigned char)s[1] < 0xa0) || (c == 0xed && (unsigned char)s[1] >= 0xa0) ||
            (c == 0xf0 && (unsigned char)s[1] < 0x90) || (c == 0xf4 && (unsigned char)s[1] >= 0x90))
            return NULL;
        s += 1 + more;
    }
    return NULL;
}

static const char *fuzz_json_number(const char *s, const char *e)
{
    const char *st;

    if (s < e && *s == '-')
        s++;
    if (s < e && *s == '0')
        s++;
    else if (s < e && *s >= '1' && *s <= '9')
        while (s < e && *s >= '0' && *s <= '9')
            s++;
    else
        return NULL;
    if (s < e && *s == '.') {
        st = ++s;
        while (s < e && *s >= '0' && *s <= '9')
            s++;
        if (s == st)
            return NULL;
    }
    if (s < e && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < e && (*s == '+' || *s == '-'))
            s++;
        st = s;
        while (s < e && *s >= '0' && *s <= '9')
            s++;
        if (s == st)
            return NULL;
    }
    return s;
}

static const char *fuzz_json_value(const char *s, const char *e, int depth)
{
    char close;

    s = fuzz_json_ws(s, e);
    if (s >= e || depth > 64)
        return NULL;
    if (*s == '"')
        return fuzz_json_string(s, e);
    if (*s == '{' || *s == '[') {
        close = *s == '{' ? '}' : ']';
        s = fuzz_json_ws(s + 1, e);
        if (s < e && *s == close)
            return s + 1;
        for (;;) {
            if (close == '}') {
                s = fuzz_json_string(fuzz_json_ws(s, e), e);
                if (!s || (s = fuzz_json_ws(s, e)) >= e || *s++ != ':')
                    return NULL;
            }
            if (!(s = fuzz_json_value(s, e, depth + 1)) || (s = fuzz_json_ws(s, e)) >= e)
                return NULL;
            if (*s == close)
                return s + 1;
            if (*s++ != ',')
                return NULL;
        }
    }
    if (e - s >= 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4)))
        return s + 4;
    if (e - s >= 5 && !memcmp(s, "false", 5))
        return s + 5;
    return fuzz_json_number(s, e);
}

/* Whether buf[0..n) is exactly one JSON value. */
static inline int fuzz_json_ok(const char *buf, size_t n)
{
    const char *end = fuzz_json_value(buf, buf + n, 0);

    return end && fuzz_json_ws(end, buf + n) == buf + n;
}

#endif
