/* json-scan.c - one pass over a JSON object text for a few wanted values;
 * see json-scan.h. Every read checks the position against the end first. */
#include <string.h>

#include "json-scan.h"

struct scan {
    const char *s;
    size_t len, pos;
    struct jscan_want *w;
    size_t nw;
    int depth;
};

static void skip_ws(struct scan *sc)
{
    while (sc->pos < sc->len && (sc->s[sc->pos] == ' ' || sc->s[sc->pos] == '\t' ||
                                 sc->s[sc->pos] == '\n' || sc->s[sc->pos] == '\r'))
        sc->pos++;
}

/* Skips the string whose opening quote is at pos. Control characters are
 * refused, as jansson does; escapes are checked when decoded. */
static int skip_string(struct scan *sc)
{
    sc->pos++;
    while (sc->pos < sc->len) {
        unsigned char c = (unsigned char)sc->s[sc->pos++];
        if (c == '"')
            return 0;
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (sc->pos >= sc->len)
                return -1;
            sc->pos++;
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

static int walk_object(struct scan *sc, char *path, size_t plen);

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
    case '{': *t = JS_OBJECT; return walk_object(sc, NULL, 0);
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

#define WANTED 1                 /* `path` is asked for (*which) */
#define PARENT 2                 /* ... or is the parent of a path asked for */

static int wanted(const struct scan *sc, const char *path, size_t n, size_t *which)
{
    int r = 0;

    for (size_t i = 0; i < sc->nw; i++) {
        const char *wp = sc->w[i].path;
        if (strncmp(wp, path, n) != 0)
            continue;
        if (wp[n] == '\0') {
            *which = i;
            r |= WANTED;
        } else if (wp[n] == '.') {
            r |= PARENT;
        }
    }
    return r;
}

/* A member met again replaces what its first occurrence gave: forgets
 * every wanted value below path. */
static void forget_below(struct scan *sc, const char *path, size_t n)
{
    for (size_t i = 0; i < sc->nw; i++)
        if (strncmp(sc->w[i].path, path, n) == 0 && sc->w[i].path[n] == '.')
            sc->w[i].type = JS_NONE;
}

static long decode(const char *p, size_t n, char *out, size_t outlen);

/* The object at pos, whose own path is path[0..plen) (path NULL: an object
 * nobody asked into, only skipped). */
static int walk_object(struct scan *sc, char *path, size_t plen)
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
        size_t kstart, vstart, n = 0, which = 0;
        int kind = 0;
        enum jtype t;

        skip_ws(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
            return -1;
        kstart = sc->pos;
        if (skip_string(sc) < 0)
            return -1;
        if (path) {
            /* path + "." + key; a key that does not fit matches nothing */
            size_t dot = plen ? 1 : 0;
            long kl = plen + dot < JSCAN_MAX_PATH
                    ? decode(sc->s + kstart, sc->pos - kstart, path + plen + dot,
                             JSCAN_MAX_PATH - plen - dot)
                    : -1;
            if (kl >= 0) {
                if (dot)
                    path[plen] = '.';
                n = plen + dot + (size_t)kl;
                kind = wanted(sc, path, n, &which);
            }
        }
        skip_ws(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos++] != ':')
            return -1;
        skip_ws(sc);
        vstart = sc->pos;
        if (kind & PARENT)
            forget_below(sc, path, n);
        if ((kind & PARENT) && sc->pos < sc->len && sc->s[sc->pos] == '{') {
            t = JS_OBJECT;
            if (walk_object(sc, path, n) < 0)
                return -1;
        } else if (skip_value(sc, &t) < 0) {
            return -1;
        }
        if (kind & WANTED) {
            sc->w[which].type = t;
            sc->w[which].p = sc->s + vstart;
            sc->w[which].n = sc->pos - vstart;
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
    char path[JSCAN_MAX_PATH];

    for (size_t i = 0; i < nw; i++)
        w[i].type = JS_NONE;
    skip_ws(&sc);
    if (walk_object(&sc, path, 0) < 0)
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
