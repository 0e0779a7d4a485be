/* json-scan.c - one pass over a JSON object text for a few wanted values;
 * see json-scan.h. Every read checks the position against the end first. */
#include <string.h>

#include "json-scan.h"

#define MAX_WANTS 32             /* one bit each in a mask */
#define MAX_SEGS  8              /* member names in one path */

struct scan {
    const char *s;
    size_t len, pos;
    struct jscan_want *w;
    size_t nw;
    int depth;
    /* each wanted path cut at its dots, so that a member name is compared
     * with the one name of each path at its level */
    struct { const char *p; size_t n; } seg[MAX_WANTS][MAX_SEGS];
    unsigned nseg[MAX_WANTS];
};

static void skip_ws(struct scan *sc)
{
    while (sc->pos < sc->len && (sc->s[sc->pos] == ' ' || sc->s[sc->pos] == '\t' ||
                                 sc->s[sc->pos] == '\n' || sc->s[sc->pos] == '\r'))
        sc->pos++;
}

/* What a byte is inside a string: 0 plain, 1 a control character, 2 the
 * closing quote, 3 a backslash. */
static const uint8_t in_string[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1, [0x07] = 1,
    [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1,
    [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
    [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1,
    ['"'] = 2, ['\\'] = 3,
};

/* Skips the string whose opening quote is at pos. Control characters are
 * refused, as jansson does; escapes are checked when decoded. */
static int skip_string(struct scan *sc)
{
    const unsigned char *p = (const unsigned char *)sc->s + sc->pos + 1;
    const unsigned char *end = (const unsigned char *)sc->s + sc->len;

    while (p < end) {
        switch (in_string[*p++]) {
        case 0:
            continue;
        case 2:
            sc->pos = (size_t)(p - (const unsigned char *)sc->s);
            return 0;
        case 3:
            if (p++ < end)
                continue;
            return -1;
        default:
            return -1;
        }
    }
    return -1;
}

static int skip_literal(struct scan *sc, const char *lit)
{
    size_t n = strlen(lit);

    if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, lit, n) != 0)
        return -1;
    sc->pos += n;
    return 0;
}

static int skip_number(struct scan *sc)
{
    size_t start = sc->pos, digits = 0;

    while (sc->pos < sc->len) {
        char c = sc->s[sc->pos];
        if (c >= '0' && c <= '9')
            digits++;
        else if (c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E')
            break;
        sc->pos++;
    }
    return digits && sc->pos > start ? 0 : -1;
}

static int walk_object(struct scan *sc, unsigned level, uint32_t mask);

/* Skips one value of any kind at pos; its kind in *t. */
static int skip_value(struct scan *sc, enum jtype *t)
{
    char c;

    if (sc->pos >= sc->len)
        return -1;
    c = sc->s[sc->pos];
    switch (c) {
    case '"': *t = JS_STRING; return skip_string(sc);
    case 't': *t = JS_TRUE;   return skip_literal(sc, "true");
    case 'f': *t = JS_FALSE;  return skip_literal(sc, "false");
    case 'n': *t = JS_NULL;   return skip_literal(sc, "null");
    case '{': *t = JS_OBJECT; return walk_object(sc, 0, 0);
    case '[': break;
    default:  *t = JS_NUMBER; return skip_number(sc);
    }
    *t = JS_ARRAY;
    if (++sc->depth > JSCAN_MAX_DEPTH)
        return -1;
    sc->pos++;
    skip_ws(sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == ']') {
        sc->pos++;
        sc->depth--;
        return 0;
    }
    for (;;) {
        enum jtype et;
        skip_ws(sc);
        if (skip_value(sc, &et) < 0)
            return -1;
        skip_ws(sc);
        if (sc->pos >= sc->len)
            return -1;
        if (sc->s[sc->pos] == ']') {
            sc->pos++;
            sc->depth--;
            return 0;
        }
        if (sc->s[sc->pos++] != ',')
            return -1;
    }
}

static long decode(const char *p, size_t n, char *out, size_t outlen);

/* The object at pos, `level` names deep; mask: the wanted paths whose
 * first `level` names lead here (0: an object nobody asked into, only
 * skipped). */
static int walk_object(struct scan *sc, unsigned level, uint32_t mask)
{
    if (++sc->depth > JSCAN_MAX_DEPTH || sc->pos >= sc->len || sc->s[sc->pos] != '{')
        return -1;
    sc->pos++;
    skip_ws(sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == '}') {
        sc->pos++;
        sc->depth--;
        return 0;
    }
    for (;;) {
        size_t kstart, vstart, klen = 0;
        uint32_t exact = 0, below = 0;
        char kbuf[JSCAN_MAX_PATH];
        const char *key = NULL;
        enum jtype t;

        skip_ws(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
            return -1;
        kstart = sc->pos;
        if (skip_string(sc) < 0)
            return -1;
        if (mask) {
            /* the name as written, or decoded when it has escapes */
            key = sc->s + kstart + 1;
            klen = sc->pos - kstart - 2;
            if (memchr(key, '\\', klen)) {
                long kl = decode(sc->s + kstart, sc->pos - kstart, kbuf, sizeof kbuf);
                key = kl < 0 ? NULL : kbuf;
                klen = kl < 0 ? 0 : (size_t)kl;
            }
        }
        for (unsigned i = 0; key && i < sc->nw; i++)
            if ((mask >> i & 1) && sc->seg[i][level].n == klen &&
                memcmp(sc->seg[i][level].p, key, klen) == 0) {
                if (sc->nseg[i] == level + 1)
                    exact |= 1u << i;
                else
                    below |= 1u << i;
            }
        skip_ws(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos++] != ':')
            return -1;
        skip_ws(sc);
        vstart = sc->pos;
        /* a member met again replaces what its first occurrence gave */
        for (unsigned i = 0; below && i < sc->nw; i++)
            if (below >> i & 1)
                sc->w[i].type = JS_NONE;
        if (below && sc->pos < sc->len && sc->s[sc->pos] == '{') {
            t = JS_OBJECT;
            if (walk_object(sc, level + 1, below) < 0)
                return -1;
        } else if (skip_value(sc, &t) < 0) {
            return -1;
        }
        for (unsigned i = 0; exact && i < sc->nw; i++)
            if (exact >> i & 1) {
                sc->w[i].type = t;
                sc->w[i].p = sc->s + vstart;
                sc->w[i].n = sc->pos - vstart;
            }
        skip_ws(sc);
        if (sc->pos >= sc->len)
            return -1;
        if (sc->s[sc->pos] == '}') {
            sc->pos++;
            sc->depth--;
            return 0;
        }
        if (sc->s[sc->pos++] != ',')
            return -1;
    }
}

int jscan_object(const char *js, size_t len, struct jscan_want *w, size_t nw)
{
    struct scan sc = { .s = js, .len = len, .w = w, .nw = nw };
    uint32_t mask = 0;

    for (size_t i = 0; i < nw; i++)
        w[i].type = JS_NONE;
    if (nw > MAX_WANTS)
        return -1;
    for (size_t i = 0; i < nw; i++) {
        const char *p = w[i].path, *dot;
        unsigned n = 0;
        for (; n < MAX_SEGS; n++, p = dot + 1) {
            dot = strchr(p, '.');
            sc.seg[i][n].p = p;
            sc.seg[i][n].n = dot ? (size_t)(dot - p) : strlen(p);
            if (!dot)
                break;
        }
        sc.nseg[i] = n < MAX_SEGS ? n + 1 : 0;   /* deeper paths match nothing */
        if (sc.nseg[i])
            mask |= 1u << i;
    }
    skip_ws(&sc);
    if (walk_object(&sc, 0, mask) < 0)
        return -1;
    skip_ws(&sc);
    return sc.pos == sc.len ? 0 : -1;
}

static int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
        if (d > 15)
            return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

/* Appends code point cp as UTF-8 at out[*o] (room checked by the caller:
 * the escape it came from is never shorter than its UTF-8). */
static void put_utf8(char *out, size_t *o, unsigned cp)
{
    if (cp < 0x80) {
        out[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*o)++] = (char)(0xc0 | cp >> 6);
        out[(*o)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*o)++] = (char)(0xe0 | cp >> 12);
        out[(*o)++] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[(*o)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*o)++] = (char)(0xf0 | cp >> 18);
        out[(*o)++] = (char)(0x80 | (cp >> 12 & 0x3f));
        out[(*o)++] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[(*o)++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* The \u escape at p[i] (p[i] == 'u'), a surrogate pair taking the next
 * one too. Returns the code point and advances *i past it, or -1. */
static long unicode_escape(const char *p, size_t n, size_t *i)
{
    unsigned hi, lo;

    if (n - *i < 5 || hex4(p + *i + 1, &hi) < 0)
        return -1;
    *i += 5;
    if (hi == 0 || (hi >= 0xdc00 && hi <= 0xdfff))
        return -1;
    if (hi < 0xd800 || hi > 0xdbff)
        return hi;
    if (n - *i < 6 || p[*i] != '\\' || p[*i + 1] != 'u' || hex4(p + *i + 2, &lo) < 0 ||
        lo < 0xdc00 || lo > 0xdfff)
        return -1;
    *i += 6;
    return 0x10000 + ((long)(hi - 0xd800) << 10) + (long)(lo - 0xdc00);
}

/* Decodes the string text p[0..n) (quotes included) into out. */
static long decode(const char *p, size_t n, char *out, size_t outlen)
{
    size_t i = 1, o = 0;

    if (n < 2 || p[0] != '"' || p[n - 1] != '"')
        return -1;
    n--;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        char e;
        long cp;

        if (o + 1 >= outlen)
            return -1;
        if (c < 0x20)
            return -1;
        if (c != '\\') {
            out[o++] = (char)c;
            i++;
            continue;
        }
        if (++i >= n)
            return -1;
        e = p[i];
        switch (e) {
        case '"': case '\\': case '/': out[o++] = e; i++; continue;
        case 'b': out[o++] = '\b'; i++; continue;
        case 'f': out[o++] = '\f'; i++; continue;
        case 'n': out[o++] = '\n'; i++; continue;
        case 'r': out[o++] = '\r'; i++; continue;
        case 't': out[o++] = '\t'; i++; continue;
        case 'u': break;
        default: return -1;
        }
        if ((cp = unicode_escape(p, n, &i)) < 0)
            return -1;
        if (o + 4 >= outlen)
            return -1;
        put_utf8(out, &o, (unsigned)cp);
    }
    if (o >= outlen)
        return -1;
    out[o] = '\0';
    return (long)o;
}

long jscan_string(const struct jscan_want *w, char *out, size_t outlen)
{
    if (w->type != JS_STRING || outlen == 0)
        return -1;
    return decode(w->p, w->n, out, outlen);
}

int jscan_u64(const struct jscan_want *w, uint64_t *out)
{
    uint64_t v = 0;

    if (w->type != JS_NUMBER || w->n == 0)
        return -1;
    for (size_t i = 0; i < w->n; i++) {
        unsigned d = (unsigned)(w->p[i] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}
