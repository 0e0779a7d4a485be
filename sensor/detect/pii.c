/* pii.c - personal-data detectors and the `pii` keyword; see pii.h for the
 * recognition rules.
 *
 * Three small machines run on every decoded character, in this order:
 * the email machine (from an '@' to the end of the domain), the number
 * machine (digit groups, tokens of groups, their boundaries), and the
 * two-character context (prev, prev2) both of them look back at. The
 * decoder in front turns raw bytes into decoded characters. While all
 * three are idle, bytes that cannot start anything are skipped in bulk.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "json.h"
#include "pii.h"

/* decoder states */
enum { D_NONE = 0, D_PCT, D_PCT1, D_ESC, D_U };
/* number machine: after a digit group, the character after it decides */
enum {
    N_IDLE = 0,
    N_GROUP,                /* in a digit group */
    N_SEP,                  /* a token's group, then one separator */
    N_DOT,                  /* a group, then '.': a digit next makes it a decimal */
    N_X                     /* a group, then 'X'/'x': an identity number's check character? */
};
/* email machine */
enum { E_IDLE = 0, E_LABEL_START, E_LABEL };

#define G_TOKEN     0x01u   /* the group belongs to a token */
#define G_PASSPORT  0x02u   /* the group follows a lone 'E' or 'G' */

#define EF_ALPHA    0x01u   /* the label is letters only */
#define EF_DASH     0x02u   /* its last character is '-' */

#define LABEL_MAX   63u
#define DOMAIN_MAX  253u

static const char *const type_names[PII_TYPE_COUNT] = {
    [PII_CN_ID] = "cn-id",
    [PII_BANK_CARD] = "bank-card",
    [PII_CN_MOBILE] = "cn-mobile",
    [PII_EMAIL] = "email",
    [PII_PASSPORT_CN] = "passport-cn",
};

/* ------------------------------------------------------------------ characters */

static inline int is_digit(uint8_t c) { return (unsigned)(c - '0') < 10u; }
static inline int is_alpha(uint8_t c) { return (unsigned)((c | 0x20u) - 'a') < 26u; }
static inline int is_alnum(uint8_t c) { return is_digit(c) || is_alpha(c); }
static inline int is_sep(uint8_t c) { return c == ' ' || c == '-' || c == '+'; }
/* The last character of an email's local part. */
static inline int is_local(uint8_t c) { return is_alnum(c) || c == '_' || c == '+' || c == '-'; }

static inline int hexval(uint8_t c)
{
    if (is_digit(c))
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static inline unsigned dig2(const uint8_t *d) { return (unsigned)(d[0] - '0') * 10u + (unsigned)(d[1] - '0'); }

static unsigned digits_value(const uint8_t *d, unsigned n)
{
    unsigned v = 0;

    for (unsigned i = 0; i < n; i++)
        v = v * 10u + (unsigned)(d[i] - '0');
    return v;
}

static inline void hit(struct pii_stream *s, int t)
{
    if (s->opts.types & (1u << t))
        s->counts.n[t]++;
}

/* ------------------------------------------------------------------ validators */

static int leap(unsigned y) { return y % 4u == 0 && (y % 100u != 0 || y % 400u == 0); }

/* Whether YYYYMMDD is a calendar date from 1900-01-01 to today (0: no bound). */
static int date_ok(const uint8_t *d, uint32_t today)
{
    static const uint8_t mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    unsigned y = digits_value(d, 4), m = dig2(d + 4), day = dig2(d + 6);

    if (y < 1900 || m < 1 || m > 12 || day < 1)
        return 0;
    if (day > mdays[m - 1] + (unsigned)(m == 2 && leap(y)))
        return 0;
    return today == 0 || y * 10000u + m * 100u + day <= today;
}

static int province_ok(unsigned p)
{
    /* bit p: 11-15 21-23 31-37 41-46 50-54 61-65 71 81 82 83 */
    static const uint64_t lo = (0x1full << 11) | (0x7ull << 21) | (0x7full << 31) | (0x3full << 41) |
                               (0x1full << 50) | (0x7ull << 61);
    static const uint64_t hi = 0x3ull | (1ull << (71 - 64)) | (0x7ull << (81 - 64));

    return p < 64 ? (int)(lo >> p & 1) : (int)(hi >> (p - 64) & 1);
}

/* d: 17 digits; check: the 18th character. GB 11643 / ISO 7064 MOD 11-2. */
static int id_ok(const uint8_t *d, uint8_t check, uint32_t today)
{
    static const uint8_t w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
    static const char map[11] = "10X98765432";
    unsigned sum = 0;

    if (!province_ok(dig2(d)) || !date_ok(d + 6, today))
        return 0;
    for (unsigned i = 0; i < 17; i++)
        sum += w[i] * (unsigned)(d[i] - '0');
    return map[sum % 11u] == (check == 'x' ? 'X' : check);
}

static int luhn_ok(const uint8_t *d, unsigned n)
{
    unsigned sum = 0;

    for (unsigned i = 0; i < n; i++) {
        unsigned v = (unsigned)(d[n - 1 - i] - '0');
        if (i & 1u) {
            v *= 2u;
            if (v > 9u)
                v -= 9u;
        }
        sum += v;
    }
    return sum % 10u == 0;
}

/* Issuer prefixes: the first `digits` digits in [lo, hi], and the lengths. */
static const struct issuer {
    uint16_t lo, hi;
    uint8_t  digits, minlen, maxlen;
} issuers[] = {
    { 62, 62, 2, 16, 19 }, { 81, 81, 2, 16, 19 },                 /* UnionPay */
    { 4, 4, 1, 16, 19 },                                          /* Visa */
    { 51, 55, 2, 16, 16 }, { 2221, 2720, 4, 16, 16 },             /* Mastercard */
    { 34, 34, 2, 15, 15 }, { 37, 37, 2, 15, 15 },                 /* American Express */
    { 3528, 3589, 4, 16, 19 },                                    /* JCB */
    { 6011, 6011, 4, 16, 19 }, { 644, 649, 3, 16, 19 }, { 65, 65, 2, 16, 19 },   /* Discover */
    { 5018, 5018, 4, 16, 19 }, { 5020, 5020, 4, 16, 19 }, { 5038, 5038, 4, 16, 19 },
    { 5893, 5893, 4, 16, 19 }, { 6304, 6304, 4, 16, 19 }, { 6759, 6759, 4, 16, 19 },
    { 6761, 6763, 4, 16, 19 },                                    /* Maestro */
    { 2200, 2204, 4, 16, 19 },                                    /* Mir */
};

static int card_ok(const uint8_t *d, unsigned n)
{
    for (size_t i = 0; i < sizeof issuers / sizeof issuers[0]; i++) {
        const struct issuer *is = &issuers[i];
        unsigned v;

        if (n < is->minlen || n > is->maxlen)
            continue;
        v = digits_value(d, is->digits);
        if (v >= is->lo && v <= is->hi)
            return luhn_ok(d, n);
    }
    return 0;
}

static inline int mobile_ok(const uint8_t *d) { return d[0] == '1' && d[1] >= '3' && d[1] <= '9'; }

static int layout_is(const uint8_t *g, unsigned ng, const uint8_t *want, unsigned nw)
{
    return ng == nw && memcmp(g, want, nw) == 0;
}

/* Whether the groups after a country code of cc digits (the first group)
 * lay out a mobile number: 11, or 3-4-4. */
static int mobile_after_cc(const uint8_t *g, unsigned ng, unsigned cc)
{
    static const uint8_t cc344[2][4] = { { 2, 3, 4, 4 }, { 4, 3, 4, 4 } };
    const uint8_t cc11[2] = { (uint8_t)cc, 11 };

    return ng == 1 || layout_is(g, ng, cc11, 2) || layout_is(g, ng, cc344[cc == 4], 4);
}

/* What the digits d[0..n) written as groups g[0..ng) are, if anything: a
 * pii_type, or -1. x: a check character 'X' follows the digits. n <= 19,
 * ng <= PII_MAX_GROUPS. */
static int classify(const uint8_t *d, unsigned n, const uint8_t *g, unsigned ng, int x, uint32_t today)
{
    static const uint8_t id684[3] = { 6, 8, 4 }, id683[3] = { 6, 8, 3 }, m344[3] = { 3, 4, 4 },
                         amex465[3] = { 4, 6, 5 }, four[4] = { 4, 4, 4, 4 };

    if (x)
        return n == 17 && (ng == 1 || layout_is(g, ng, id683, 3)) && id_ok(d, 'X', today) ? PII_CN_ID : -1;
    switch (n) {
    case 11:
        return (ng == 1 || layout_is(g, ng, m344, 3)) && mobile_ok(d) ? PII_CN_MOBILE : -1;
    case 13:
        return d[0] == '8' && d[1] == '6' && mobile_ok(d + 2) && mobile_after_cc(g, ng, 2) ? PII_CN_MOBILE : -1;
    case 15:
        if (memcmp(d, "0086", 4) == 0)
            return mobile_ok(d + 4) && mobile_after_cc(g, ng, 4) ? PII_CN_MOBILE : -1;
        return (ng == 1 || layout_is(g, ng, amex465, 3)) && card_ok(d, n) ? PII_BANK_CARD : -1;
    case 16: case 17: case 18: case 19:
        if (n == 18 && (ng == 1 || layout_is(g, ng, id684, 3)) && id_ok(d, d[17], today))
            return PII_CN_ID;
        if (ng == 1 || ((ng == 4 || ng == 5) && memcmp(g, four, 4) == 0))
            return card_ok(d, n) ? PII_BANK_CARD : -1;
        return -1;
    default:
        return -1;
    }
}

/* ------------------------------------------------------------------ the number machine */

static inline int tok_over(const struct pii_stream *s)
{
    return s->tlen > PII_NUM_MAX || s->ngroups > PII_MAX_GROUPS;
}

/* What a new group (not a token's continuation) is, from the characters
 * before it. */
static uint8_t grp_context(const struct pii_stream *s)
{
    uint8_t p = s->prev, q = s->prev2;

    if (s->est != E_IDLE || s->gap || p == '@' || is_digit(p) || (p == '.' && is_digit(q)))
        return 0;
    if (is_alpha(p))
        return ((p | 0x20u) == 'e' || (p | 0x20u) == 'g') && !is_alnum(q) ? G_PASSPORT : 0;
    return G_TOKEN;
}

static inline void grp_add(struct pii_stream *s, uint8_t c)
{
    if (s->glen < PII_NUM_MAX)
        s->gdig[s->glen] = c;
    if (s->glen <= PII_NUM_MAX)
        s->glen++;
    if (s->gflags & G_TOKEN) {
        if (s->tlen < PII_NUM_MAX)
            s->tdig[s->tlen] = c;
        if (s->tlen <= PII_NUM_MAX)
            s->tlen++;
    }
}

/* Starts a group at digit c; join: it continues the token (after one separator). */
static void grp_begin(struct pii_stream *s, uint8_t c, int join)
{
    s->gflags = join ? G_TOKEN : grp_context(s);
    if (!join && (s->gflags & G_TOKEN)) {
        s->tlen = 0;
        s->ngroups = 0;
        s->single = 0;
    }
    if ((s->gflags & G_TOKEN) && s->ngroups <= PII_MAX_GROUPS)
        s->ngroups++;
    s->glen = 0;
    grp_add(s, c);
    s->nst = N_GROUP;
}

/* The group is over; ok: the character after it is a boundary; x: it is an
 * identity number's check character (then ok says what follows the 'X'). */
static void grp_end(struct pii_stream *s, int ok, int x)
{
    int t;

    if (!(s->gflags & G_TOKEN)) {
        if (ok && !x && (s->gflags & G_PASSPORT) && s->glen == 8)
            hit(s, PII_PASSPORT_CN);
        return;
    }
    if (s->ngroups <= PII_MAX_GROUPS)
        s->glens[s->ngroups - 1] = s->glen;
    if (!ok || s->glen > PII_NUM_MAX)
        return;
    t = classify(s->gdig, s->glen, &s->glen, 1, x, s->opts.today);
    if (t < 0)
        return;
    /* held until the token ends: the whole token may be this number
     * written with its country code; a token too long to be one number
     * cannot, and then at most one group is held at a time */
    if (tok_over(s)) {
        hit(s, t);
    } else {
        if (s->single)
            hit(s, s->single - 1);
        s->single = (uint8_t)(t + 1);
    }
}

/* The token is over: it counts as a whole, or else its groups that counted
 * on their own do. */
static void tok_end(struct pii_stream *s, int ok, int x)
{
    int t = -1;

    if (ok && !tok_over(s))
        t = classify(s->tdig, s->tlen, s->glens, s->ngroups, x, s->opts.today);
    if (t >= 0)
        hit(s, t);
    else if (s->single)
        hit(s, s->single - 1);
    s->single = 0;
    s->ngroups = 0;
    s->tlen = 0;
}

static void num_finish(struct pii_stream *s, int ok, int x)
{
    grp_end(s, ok, x);
    if (s->gflags & G_TOKEN)
        tok_end(s, ok, x);
    s->nst = N_IDLE;
}

static void num_char(struct pii_stream *s, uint8_t c)
{
    switch (s->nst) {
    case N_GROUP:
        if (is_digit(c)) {
            grp_add(s, c);
            return;
        }
        if (c == '.') {
            s->nst = N_DOT;
            return;
        }
        if ((c | 0x20u) == 'x') {
            s->nst = N_X;
            return;
        }
        if (is_sep(c) && (s->gflags & G_TOKEN)) {
            grp_end(s, 1, 0);
            s->nst = N_SEP;
            return;
        }
        num_finish(s, !is_alpha(c) && c != '@', 0);
        return;
    case N_SEP:
        if (is_digit(c)) {
            grp_begin(s, c, 1);
            return;
        }
        tok_end(s, 1, 0);
        s->nst = N_IDLE;
        return;
    case N_DOT:
        num_finish(s, !is_digit(c), 0);
        break;
    case N_X:
        num_finish(s, !is_alnum(c) && c != '@', 1);
        break;
    default:
        break;
    }
    if (is_digit(c))
        grp_begin(s, c, 0);
}

/* ------------------------------------------------------------------ the email machine */

/* Top-level "domains" that are file names: "icon@2x.png". */
static int file_ext(const uint8_t *e, unsigned n)
{
    static const char *const exts[] = {
        "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "css", "js", "json", "html",
        "htm", "xml", "txt", "pdf", "php", "jsp", "asp", "aspx", "map",
    };

    if (n > PII_EXT_MAX)
        return 0;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strlen(exts[i]) == n && memcmp(exts[i], e, n) == 0)
            return 1;
    return 0;
}

static void email_open(struct pii_stream *s)
{
    s->est = E_LABEL_START;
    s->enlab = 0;
    s->etld = 0;
    s->elen = 0;
}

static void email_close(struct pii_stream *s, int ok)
{
    if (ok && s->enlab >= 2 && s->etld)
        hit(s, PII_EMAIL);
    s->est = E_IDLE;
}

static void label_add(struct pii_stream *s, uint8_t c)
{
    if (s->elab < PII_EXT_MAX)
        s->ext[s->elab] = (uint8_t)(is_alpha(c) ? c | 0x20u : c);
    if (!is_alpha(c))
        s->eflags &= (uint8_t)~EF_ALPHA;
    s->eflags = (uint8_t)((s->eflags & ~EF_DASH) | (c == '-' ? EF_DASH : 0));
    s->elab++;
    s->elen++;
}

/* Ends the current label; returns 0 when it is not a valid one. */
static int label_finish(struct pii_stream *s)
{
    if (s->eflags & EF_DASH)
        return 0;
    s->etld = (s->elab >= 2 && (s->eflags & EF_ALPHA) && !file_ext(s->ext, s->elab)) ||
              (s->elab > 4 && memcmp(s->ext, "xn--", 4) == 0);
    if (s->enlab < UINT8_MAX)
        s->enlab++;
    return 1;
}

static void email_char(struct pii_stream *s, uint8_t c)
{
    switch (s->est) {
    case E_LABEL_START:
        if (is_alnum(c)) {
            s->elab = 0;
            s->eflags = EF_ALPHA;
            label_add(s, c);
            s->est = E_LABEL;
            return;
        }
        /* no label after '@', or a '.' that ended the sentence, not the domain */
        email_close(s, c != '@');
        break;
    case E_LABEL:
        if (is_alnum(c) || c == '-') {
            label_add(s, c);
            if (s->elab > LABEL_MAX || s->elen > DOMAIN_MAX)
                s->est = E_IDLE;
            return;
        }
        if (!label_finish(s)) {
            s->est = E_IDLE;
        } else if (c == '.') {
            s->elen++;
            s->est = E_LABEL_START;
            return;
        } else {
            email_close(s, c != '@');
        }
        break;
    default:
        break;
    }
    if (c == '@' && is_local(s->prev) && !s->gap)
        email_open(s);
}

/* ------------------------------------------------------------------ decoding, driving */

/* One decoded character. */
static void step(struct pii_stream *s, uint8_t c)
{
    email_char(s, c);
    if (s->opts.types & PII_T_NUMBERS)
        num_char(s, c);
    s->prev2 = s->prev;
    s->prev = c;
    s->gap = 0;
}

/* An escape that turned out not to be one: its characters are themselves. */
static void dec_flush(struct pii_stream *s)
{
    uint8_t n = s->dlen;

    s->dst = D_NONE;
    s->dlen = 0;
    for (uint8_t i = 0; i < n; i++)
        step(s, s->dbuf[i]);
}

static void dec_byte(struct pii_stream *s, uint8_t b)
{
    for (;;) {      /* twice at most: a byte that breaks an escape is read again */
        switch (s->dst) {
        case D_NONE:
            if (b == '%' || b == '\\') {
                s->dst = b == '%' ? D_PCT : D_ESC;
                s->dbuf[0] = b;
                s->dlen = 1;
            } else {
                step(s, b);
            }
            return;
        case D_PCT:
        case D_PCT1:
            if (hexval(b) < 0)
                break;
            if (s->dst == D_PCT) {
                s->dbuf[s->dlen++] = b;
                s->dst = D_PCT1;
            } else {
                s->dst = D_NONE;
                s->dlen = 0;
                step(s, (uint8_t)(hexval(s->dbuf[1]) << 4 | hexval(b)));
            }
            return;
        case D_ESC:
            if (b == 'u') {
                s->dbuf[s->dlen++] = b;
                s->dst = D_U;
                return;
            }
            if (!strchr("nrtbf\"\\/", b) || b == '\0')
                break;
            s->dst = D_NONE;
            s->dlen = 0;
            step(s, strchr("nrtbf", b) ? '\n' : b);
            return;
        case D_U:
            if (hexval(b) < 0)
                break;
            s->dbuf[s->dlen++] = b;
            if (s->dlen == 6) {
                unsigned cp = 0;

                for (unsigned i = 2; i < 6; i++)
                    cp = cp << 4 | (unsigned)hexval(s->dbuf[i]);
                s->dst = D_NONE;
                s->dlen = 0;
                step(s, cp < 0x80u ? (uint8_t)cp : 0x80u);
            }
            return;
        }
        dec_flush(s);
    }
}

static inline int is_special(uint8_t c) { return c == '%' || c == '\\' || c == '@'; }

#ifdef __SSE2__
/* Each byte of v that is a, b or c as 0xff, the others 0. */
static inline __m128i any_of(__m128i v, char a, char b, char c)
{
    return _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(a)), _mm_cmpeq_epi8(v, _mm_set1_epi8(b))),
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(c)));
}

/* The first position in p[0..64) where the machines must look, as a bit
 * mask of candidates (0: none). A digit run matters when it may be or
 * join a number: 8 digits or more, or followed by a separator or an
 * escape, or touching the end of the block (its length is not known
 * yet); a shorter run followed by anything else can count nothing, and
 * passing over it as plain bytes leaves the same context. A run's
 * position is its first digit: p[0] is never inside a run (the caller's
 * invariant: the machines are idle, so the last decoded character was no
 * digit). */
static uint64_t block_stops(const uint8_t *p, int digits)
{
    const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
    uint64_t d = 0, sep = 0, x = 0, l8, me;

    for (unsigned k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        __m128i t = _mm_sub_epi8(v, zero);
        __m128i esc = any_of(v, '%', '\\', '%');

        d |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(t, nine), t)) << (16 * k);
        x |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(esc, any_of(v, '@', '@', '@'))) << (16 * k);
        sep |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(esc, any_of(v, ' ', '-', '+'))) << (16 * k);
    }
    if (!digits || !d)
        return x;
    l8 = d & d >> 1 & d >> 2 & d >> 3 & d >> 4 & d >> 5 & d >> 6 & d >> 7;   /* a run of 8 starts here */
    me = d & ~(d >> 1) & ((sep >> 1) | 1ull << 63);                        /* a run ends here, and matters */
    if (me) {
        unsigned e = (unsigned)__builtin_ctzll(me);
        uint64_t starts = d & ~(d << 1) & ((2ull << e) - 1);

        x |= 1ull << (63 - __builtin_clzll(starts));
    }
    return x | l8;
}
#endif

/* The first byte at or after i that the machines must read, the machines
 * being idle: '%', '\', '@', or (when digits matter) the first digit of
 * a run that may count. The bytes before it are plain. */
static size_t skip_plain(const uint8_t *p, size_t i, size_t n, int digits)
{
#ifdef __SSE2__
    while (!digits && i + 16 <= n) {     /* email alone: the specials only */
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        unsigned bits = (unsigned)_mm_movemask_epi8(any_of(v, '%', '\\', '@'));

        if (bits)
            return i + (unsigned)__builtin_ctz(bits);
        i += 16;
    }
    while (i + 64 <= n) {
        uint64_t stops = block_stops(p + i, digits);

        if (stops)
            return i + (unsigned)__builtin_ctzll(stops);
        i += 64;
    }
#endif
    while (i < n && !is_special(p[i]) && !(digits && is_digit(p[i])))
        i++;
    return i;
}

/* p[i..j) was read outside the machines: plain bytes, which decode to
 * themselves. */
static inline void passed(struct pii_stream *s, const uint8_t *p, size_t i, size_t j)
{
    s->prev2 = j - i >= 2 ? p[j - 2] : s->prev;
    s->prev = p[j - 1];
    s->gap = 0;
}

/* At a raw digit in the idle state: a group that ends inside this piece
 * and is settled by the byte after it (a letter: nothing counts; a
 * boundary that continues nothing: the group counts on its own) is
 * decided here, as the machines would; most digits (numbers in JSON,
 * base64, hex) go this way. Returns the end of the group, or i when the
 * machines must read it (a separator, '.', 'X', an escape or '@' after it,
 * or the piece ends in it). */
static size_t group_fast(struct pii_stream *s, const uint8_t *p, size_t i, size_t n)
{
    size_t j = i, len;
    uint8_t c;

    while (j < n && is_digit(p[j]))
        j++;
    if (j == n)
        return i;
    c = p[j];
    if (c == '.' || is_sep(c) || (c | 0x20u) == 'x' || c == '%' || c == '\\' || c == '@')
        return i;
    len = j - i;
    if (!is_alpha(c) && (len == 8 || len >= 11)) {
        uint8_t fl = grp_context(s), glen = (uint8_t)len;
        int t = -1;

        if ((fl & G_TOKEN) && len <= PII_NUM_MAX)
            t = classify(p + i, glen, &glen, 1, 0, s->opts.today);
        else if ((fl & G_PASSPORT) && len == 8)
            t = PII_PASSPORT_CN;
        if (t >= 0)
            hit(s, t);
    }
    passed(s, p, i, j);
    return j;
}

static inline int idle(const struct pii_stream *s)
{
    return s->dst == D_NONE && s->nst == N_IDLE && s->est == E_IDLE;
}

void pii_stream_init(struct pii_stream *s, const struct pii_opts *opts)
{
    memset(s, 0, sizeof *s);
    s->opts = *opts;
    s->prev = s->prev2 = '\n';
}

void pii_stream_feed(struct pii_stream *s, const uint8_t *p, size_t n)
{
    int digits = (s->opts.types & PII_T_NUMBERS) != 0;
    size_t i = 0, j;

    if (!s->opts.types)
        return;
    while (i < n) {
        if (idle(s)) {
            j = skip_plain(p, i, n, digits);
            if (j > i) {
                passed(s, p, i, j);
                if ((i = j) == n)
                    break;
            }
            if (digits && is_digit(p[i]) && (j = group_fast(s, p, i, n)) > i) {
                i = j;
                continue;
            }
        } else if (s->nst == N_GROUP && s->dst == D_NONE && s->est == E_IDLE) {
            for (j = i; j < n && is_digit(p[j]); j++)
                grp_add(s, p[j]);
            if (j > i) {
                passed(s, p, i, j);
                i = j;
                continue;
            }
        }
        dec_byte(s, p[i++]);
    }
}

void pii_stream_gap(struct pii_stream *s)
{
    s->dst = D_NONE;
    s->dlen = 0;
    /* a group held by the token was complete, with a separator after it */
    if (s->nst != N_IDLE && s->single)
        hit(s, s->single - 1);
    s->single = 0;
    s->ngroups = 0;
    s->tlen = 0;
    s->nst = N_IDLE;
    s->est = E_IDLE;
    s->gap = 1;
}

void pii_stream_end(struct pii_stream *s)
{
    if (!s->opts.types)
        return;
    dec_flush(s);
    step(s, '\n');          /* the end of the body is a boundary */
}

void pii_scan(const uint8_t *buf, size_t len, const struct pii_opts *opts, struct pii_counts *out)
{
    struct pii_stream s;

    pii_stream_init(&s, opts);
    pii_stream_feed(&s, buf, len);
    pii_stream_end(&s);
    *out = s.counts;
}

/* ------------------------------------------------------------------ names, dates */

const char *pii_type_name(enum pii_type t)
{
    return (unsigned)t < PII_TYPE_COUNT ? type_names[t] : NULL;
}

int pii_type_lookup(const char *s, size_t n)
{
    for (int t = 0; t < PII_TYPE_COUNT; t++)
        if (strlen(type_names[t]) == n && strncasecmp(type_names[t], s, n) == 0)
            return t;
    return -1;
}

uint32_t pii_date_from_unix(int64_t secs)
{
    /* days to civil date (H. Hinnant's algorithm), proleptic Gregorian */
    int64_t z = (secs >= 0 ? secs : secs - 86399) / 86400 + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);

    if (y < 0 || y > 9999)
        return y < 0 ? 0 : 99991231u;
    return (uint32_t)(y * 10000 + m * 100 + d);
}

/* ------------------------------------------------------------------ the keyword */

static int kw_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int kw_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Parses "<op> N" at p into kw->cmp; returns the end or NULL. */
static const char *kw_cmp(const char *p, struct rule_cmp *c)
{
    static const struct { const char *s; uint8_t op; } ops[] = {
        { ">=", RULE_CMP_GE }, { "<=", RULE_CMP_LE }, { "!=", RULE_CMP_NE },
        { ">", RULE_CMP_GT }, { "<", RULE_CMP_LT }, { "=", RULE_CMP_EQ },
    };
    uint64_t v = 0;
    const char *d;

    c->op = RULE_CMP_NONE;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strncmp(p, ops[i].s, strlen(ops[i].s)) == 0) {
            c->op = ops[i].op;
            p += strlen(ops[i].s);
            break;
        }
    if (c->op == RULE_CMP_NONE)
        return NULL;
    d = p = skip_ws(p);
    while (is_digit((uint8_t)*p) && v <= UINT32_MAX)
        v = v * 10u + (uint64_t)(*p++ - '0');
    if (p == d || v > UINT32_MAX || is_digit((uint8_t)*p))
        return NULL;
    c->a = (uint32_t)v;
    return p;
}

int pii_keyword_parse(const char *val, struct pii_keyword *kw, char *err, size_t errlen)
{
    const char *p = val, *b;
    int t;

    memset(kw, 0, sizeof *kw);
    for (;;) {
        b = p = skip_ws(p);
        while (is_alnum((uint8_t)*p) || *p == '-' || *p == '_')
            p++;
        if (p == b)
            return kw_fail(err, errlen, "pii: a type is missing at '%.30s'", b);
        if ((t = pii_type_lookup(b, (size_t)(p - b))) < 0)
            return kw_fail(err, errlen, "pii: unknown type '%.*s' (cn-id, bank-card, cn-mobile, email, passport-cn)",
                           (int)(p - b > 40 ? 40 : p - b), b);
        if (kw->types & (1u << t))
            return kw_fail(err, errlen, "pii: type '%s' is listed twice", type_names[t]);
        kw->types |= 1u << t;
        p = skip_ws(p);
        if (*p != '|')
            break;
        p++;
    }
    if (*p == '\0') {
        kw->cmp.op = RULE_CMP_GE;
        kw->cmp.a = 1;
        return 0;
    }
    if (*p != ',')
        return kw_fail(err, errlen, "pii: expected '|' or ',' after the types, not '%.30s'", p);
    p = skip_ws(p + 1);
    if (strncasecmp(p, "count", 5) != 0 || is_alnum((uint8_t)p[5]) ||
        !(p = kw_cmp(skip_ws(p + 5), &kw->cmp)))
        return kw_fail(err, errlen, "pii: expected 'count <op> N' (op > >= < <= = !=, N 0-4294967295) after ','");
    if (*skip_ws(p) != '\0')
        return kw_fail(err, errlen, "pii: unexpected '%.30s' after the count", skip_ws(p));
    if ((kw->cmp.op == RULE_CMP_LT && kw->cmp.a == 0) || (kw->cmp.op == RULE_CMP_GT && kw->cmp.a == UINT32_MAX))
        return kw_fail(err, errlen, "pii: count %s %u can never match", kw->cmp.op == RULE_CMP_LT ? "<" : ">",
                       kw->cmp.a);
    return 0;
}

int pii_keyword_eval(const struct pii_keyword *kw, const struct pii_counts *c)
{
    uint64_t sum = 0;

    for (int t = 0; t < PII_TYPE_COUNT; t++)
        if (kw->types & (1u << t))
            sum += c->n[t];
    return rule_cmp_match(&kw->cmp, sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum);
}

int pii_keyword_match(const struct pii_keyword *kw, const uint8_t *buf, size_t len, uint32_t today,
                      struct pii_counts *out)
{
    struct pii_opts o = { kw->types, today };
    struct pii_counts c;

    pii_scan(buf, len, &o, &c);
    if (out)
        *out = c;
    return pii_keyword_eval(kw, &c);
}

/* ------------------------------------------------------------------ output, tallies */

void pii_counts_json(struct jbuf *j, const char *key, const struct pii_counts *c, uint32_t types)
{
    jbuf_open_object(j, key);
    for (int t = 0; t < PII_TYPE_COUNT; t++)
        if (types & (1u << t))
            jbuf_u64(j, type_names[t], c->n[t]);
    jbuf_close_object(j);
}

int pii_counts_any(const struct pii_counts *c)
{
    for (int i = 0; i < PII_TYPE_COUNT; i++)
        if (c->n[i])
            return 1;
    return 0;
}

void pii_tally_add(struct pii_tally *t, const struct pii_counts *c)
{
    for (int i = 0; i < PII_TYPE_COUNT; i++)
        t->n[i] += c->n[i];
    t->bodies += pii_counts_any(c);
}

void pii_tally_merge(struct pii_tally *dst, const struct pii_tally *src)
{
    for (int i = 0; i < PII_TYPE_COUNT; i++)
        dst->n[i] += src->n[i];
    dst->bodies += src->bodies;
}

int pii_tally_any(const struct pii_tally *t)
{
    return t->bodies != 0;
}

void pii_tally_json(struct jbuf *j, const char *key, const struct pii_tally *t)
{
    jbuf_open_object(j, key);
    for (int i = 0; i < PII_TYPE_COUNT; i++)
        jbuf_u64(j, type_names[i], t->n[i]);
    jbuf_u64(j, "bodies", t->bodies);
    jbuf_close_object(j);
}
