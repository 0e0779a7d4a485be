/* test_pii.c - unit tests for the personal-data detectors, the `pii`
 * keyword and the counters' JSON (sensor/detect/pii.c).
 *
 * The numbers come from pii-vectors.h, written by tests/gen/gen_pii.py,
 * which computes check digits on its own (nothing in it is real). Every
 * body checked with EXPECT() is also scanned split in two at every byte,
 * one byte at a time, and once per type alone, and must count the same
 * each way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pii.h"
#include "pii-vectors.h"

#define TODAY PV_REFERENCE_DATE
#define BODY_MAX 16384

enum { ID = 0, CARD, MOB, MAIL, PASS };

/* ------------------------------------------------------------------ helpers */

static void show(char *out, size_t outlen, const uint8_t *b, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < n && k + 5 < outlen; i++)
        k += (size_t)snprintf(out + k, outlen - k, b[i] >= 0x20 && b[i] < 0x7f ? "%c" : "\\x%02x", b[i]);
    out[k] = '\0';
}

static void scan_split(const uint8_t *b, size_t n, const struct pii_opts *o, size_t k, struct pii_counts *c)
{
    struct pii_stream s;

    pii_stream_init(&s, o);
    pii_stream_feed(&s, b, k);
    pii_stream_feed(&s, b + k, n - k);
    pii_stream_end(&s);
    *c = s.counts;
}

static int same(const struct pii_counts *a, const struct pii_counts *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* The counts of b whole, after checking that every way of feeding it and
 * every type scanned alone count the same. */
static void scan_all_ways(const char *where, const uint8_t *b, size_t n, uint32_t today, struct pii_counts *whole)
{
    struct pii_opts o = { PII_T_ALL, today };
    struct pii_counts c;
    struct pii_stream s;
    char text[400];
    size_t stride = n > 2048 ? n / 512 : 1;

    pii_scan(b, n, &o, whole);
    show(text, sizeof text, b, n);
    for (size_t k = 0; k <= n; k += stride) {
        scan_split(b, n, &o, k, &c);
        if (!same(&c, whole))
            fail_msg("%s: split at %zu counts differently: \"%s\"", where, k, text);
    }
    pii_stream_init(&s, &o);
    for (size_t i = 0; i < n; i++)
        pii_stream_feed(&s, b + i, 1);
    pii_stream_end(&s);
    if (!same(&s.counts, whole))
        fail_msg("%s: fed byte by byte counts differently: \"%s\"", where, text);
    for (int t = 0; t < PII_TYPE_COUNT; t++) {
        struct pii_opts one = { 1u << t, today };

        pii_scan(b, n, &one, &c);
        for (int u = 0; u < PII_TYPE_COUNT; u++)
            if (c.n[u] != (u == t ? whole->n[t] : 0))
                fail_msg("%s: %s alone counts %s %llu, with all types %llu: \"%s\"", where, pii_type_name(t),
                         pii_type_name(u), (unsigned long long)c.n[u], (unsigned long long)whole->n[u], text);
    }
}

static void expect_counts(const char *where, const uint8_t *b, size_t n, uint32_t today, const unsigned want[5])
{
    struct pii_counts c;
    char text[400];

    scan_all_ways(where, b, n, today, &c);
    for (int t = 0; t < PII_TYPE_COUNT; t++)
        if (c.n[t] != want[t]) {
            show(text, sizeof text, b, n);
            fail_msg("%s: %s: %llu, want %u: \"%s\"", where, pii_type_name(t), (unsigned long long)c.n[t],
                     want[t], text);
        }
}

#define STR_(x) #x
#define STR(x) STR_(x)
#define HERE __FILE__ ":" STR(__LINE__)
#define EXPECT(body, id, card, mob, mail, pass) \
    expect_counts(HERE, (const uint8_t *)(body), strlen(body), TODAY, (const unsigned[5]){ id, card, mob, mail, pass })
#define EXPECT_ONE(body, type) \
    expect_counts(HERE, (const uint8_t *)(body), strlen(body), TODAY, \
                  (const unsigned[5]){ (type) == ID, (type) == CARD, (type) == MOB, (type) == MAIL, (type) == PASS })
#define EXPECT_NONE(body) EXPECT(body, 0, 0, 0, 0, 0)

/* The contexts bodies carry a value in: before it, after it. */
static const char *const contexts[][2] = {
    { "", "" },
    { "call me at ", " please" },
    { "\xe6\x89\x8b\xe6\x9c\xba\xe5\x8f\xb7", "\xef\xbc\x8c\xe8\xb0\xa2\xe8\xb0\xa2" },   /* UTF-8 text */
    { "{\"name\":\"x\",\"v\":\"", "\",\"n\":1}" },
    { "a=1&v=", "&b=2" },
    { "name,", ",x\r\nnext,row\r\n" },
    { "GET /u/", "/profile HTTP/1.1" },
    { "<td>", "</td>" },
    { "(", ")" },
    { "v: ", "." },
    { "\t", "\n" },
};
#define NCTX (sizeof contexts / sizeof contexts[0])

static size_t around(char *out, size_t outlen, const char *pre, const char *v, const char *post)
{
    int n = snprintf(out, outlen, "%s%s%s", pre, v, post);

    assert_true(n > 0 && (size_t)n < outlen);
    return (size_t)n;
}

static void expect_each(const char *where, const char *const *vals, size_t nvals, int type)
{
    char body[512];
    unsigned want[5] = { 0 };

    if (type >= 0)
        want[type] = 1;
    for (size_t i = 0; i < nvals; i++)
        for (unsigned k = 0; k < NCTX; k++) {
            size_t n = around(body, sizeof body, contexts[k][0], vals[i], contexts[k][1]);
            expect_counts(where, (const uint8_t *)body, n, TODAY, want);
        }
}

/* v with sep between groups of the given lengths (0-terminated). */
static void grouped(char *out, const char *v, const char *sep, const unsigned *lens)
{
    size_t k = 0;

    out[0] = '\0';
    for (unsigned g = 0; lens[g]; g++) {
        if (g)
            strcat(out, sep);
        strncat(out, v + k, lens[g]);
        k += lens[g];
    }
    assert_int_equal(k, strlen(v));
}

/* Percent-encodes every byte of s (all: even letters and digits), or only
 * '@', '+' and ' ' (a form's encoding, space as '+'). */
static void urlenc(char *out, const char *s, int all)
{
    size_t k = 0;

    for (; *s; s++) {
        if (all || *s == '@' || *s == '+')
            k += (size_t)sprintf(out + k, "%%%02X", (unsigned char)*s);
        else
            out[k++] = *s == ' ' ? '+' : *s;
    }
    out[k] = '\0';
}

/* ------------------------------------------------------------------ valid and invalid numbers */

static void test_valid_each_type(void **state)
{
    expect_each(HERE, pv_id, PV_N(pv_id), ID);
    expect_each(HERE, pv_card, PV_N(pv_card), CARD);
    expect_each(HERE, pv_mobile, PV_N(pv_mobile), MOB);
    expect_each(HERE, pv_email, PV_N(pv_email), MAIL);
    expect_each(HERE, pv_passport, PV_N(pv_passport), PASS);
}

static void test_wrong_check_digit(void **state)
{
    expect_each(HERE, pv_id_bad_check, PV_N(pv_id_bad_check), -1);
    expect_each(HERE, pv_card_bad_luhn, PV_N(pv_card_bad_luhn), -1);
}

static void test_near_misses(void **state)
{
    expect_each(HERE, pv_id_17, PV_N(pv_id_17), -1);
    expect_each(HERE, pv_id_19, PV_N(pv_id_19), -1);
    expect_each(HERE, pv_id_bad_date, PV_N(pv_id_bad_date), -1);
    expect_each(HERE, pv_id_bad_region, PV_N(pv_id_bad_region), -1);
    expect_each(HERE, pv_card_bad_issuer, PV_N(pv_card_bad_issuer), -1);
    expect_each(HERE, pv_mobile_bad, PV_N(pv_mobile_bad), -1);
    expect_each(HERE, pv_email_bad, PV_N(pv_email_bad), -1);
    expect_each(HERE, pv_passport_bad, PV_N(pv_passport_bad), -1);
}

/* The vectors' dates: the reference date itself counts, the day after it
 * does not; Feb 29 counts in 2000 and 1996, not in 1900 or 1990. */
static void test_birth_dates(void **state)
{
    struct pii_counts c;
    struct pii_opts none = { PII_T_CN_ID, 0 }, early = { PII_T_CN_ID, 20000228 };
    int seen_today = 0, seen_leap = 0;

    for (size_t i = 0; i < PV_N(pv_id); i++) {
        seen_today += memcmp(pv_id[i] + 6, "20240601", 8) == 0;
        seen_leap += memcmp(pv_id[i] + 6, "20000229", 8) == 0;
    }
    assert_int_equal(seen_today, 1);
    assert_int_equal(seen_leap, 1);
    for (size_t i = 0; i < PV_N(pv_id_bad_date); i++) {
        const char *v = pv_id_bad_date[i];
        /* without a reference date only the future ones become valid */
        int future_only = memcmp(v + 6, "20240602", 8) == 0 || memcmp(v + 6, "20990101", 8) == 0;

        pii_scan((const uint8_t *)v, strlen(v), &none, &c);
        assert_int_equal(c.n[PII_CN_ID], future_only);
    }
    for (size_t i = 0; i < PV_N(pv_id); i++) {
        const char *v = pv_id[i];

        pii_scan((const uint8_t *)v, strlen(v), &early, &c);
        assert_int_equal(c.n[PII_CN_ID], memcmp(v + 6, "20000228", 8) <= 0);
    }
}

static void test_longer_runs(void **state)
{
    char body[128];

    expect_each(HERE, pv_longer, PV_N(pv_longer), -1);
    /* letters and decimals around digits */
    for (size_t i = 0; i < PV_N(pv_mobile); i++) {
        static const char *const ctx[][2] = { { "a", "" }, { "", "a" }, { "x", "" }, { "v1.", "" }, { "", ".5" },
                                              { "0.", "" }, { "E", "" }, { "", "@" }, { "@", "" }, { "", "X" } };
        for (size_t k = 0; k < sizeof ctx / sizeof ctx[0]; k++) {
            around(body, sizeof body, ctx[k][0], pv_mobile[i], ctx[k][1]);
            EXPECT_NONE(body);
        }
        around(body, sizeof body, "_", pv_mobile[i], "_x");
        EXPECT_ONE(body, MOB);                  /* '_' is a boundary */
    }
    /* a card as a float's fraction, an identity number in a hex string */
    snprintf(body, sizeof body, "{\"p\":0.%s}", pv_card[14]);
    EXPECT_NONE(body);
    snprintf(body, sizeof body, "deadbeef%scafe", pv_id[0]);
    EXPECT_NONE(body);
    /* the boundary is the character right after the digits */
    snprintf(body, sizeof body, "%s.", pv_mobile[0]);
    EXPECT_ONE(body, MOB);
    snprintf(body, sizeof body, "%s.txt", pv_mobile[0]);
    EXPECT_ONE(body, MOB);
    snprintf(body, sizeof body, "%s-", pv_mobile[0]);
    EXPECT_ONE(body, MOB);
}

static void test_check_x(void **state)
{
    char body[64], v[32];
    int n = 0;

    for (size_t i = 0; i < PV_N(pv_id); i++) {
        if (pv_id[i][17] != 'X')
            continue;
        n++;
        strcpy(v, pv_id[i]);
        v[17] = 'x';                      /* lower case too */
        EXPECT_ONE(v, ID);
        snprintf(body, sizeof body, "%sa", pv_id[i]);
        EXPECT_NONE(body);
        snprintf(body, sizeof body, "%s1", pv_id[i]);
        EXPECT_NONE(body);
        snprintf(body, sizeof body, "%s@example.com", pv_id[i]);
        EXPECT(body, 0, 0, 0, 1, 0);
        snprintf(body, sizeof body, "%s %s", pv_id[i], pv_mobile[0]);
        EXPECT(body, 1, 0, 1, 0, 0);
        snprintf(body, sizeof body, "%.17s0X", pv_id[i]);   /* 18 digits and the 'X' */
        EXPECT_NONE(body);
        snprintf(body, sizeof body, "%.16sX", pv_id[i]);    /* 16 */
        EXPECT_NONE(body);
    }
    assert_true(n >= 6);
}

/* ------------------------------------------------------------------ separators */

static void test_separators(void **state)
{
    static const char *const seps[] = { " ", "-", "+", "%20", "%2D", "%2b" };
    static const unsigned l16[] = { 4, 4, 4, 4, 0 }, l19[] = { 4, 4, 4, 4, 3, 0 }, l18[] = { 4, 4, 4, 4, 2, 0 },
                          l17[] = { 4, 4, 4, 4, 1, 0 }, l465[] = { 4, 6, 5, 0 }, l684[] = { 6, 8, 4, 0 },
                          l344[] = { 3, 4, 4, 0 };
    char g[96], body[160];
    int ncards = 0;

    for (size_t s = 0; s < sizeof seps / sizeof seps[0]; s++) {
        for (size_t i = 0; i < PV_N(pv_card); i++) {
            size_t n = strlen(pv_card[i]);
            const unsigned *l = n == 15 ? l465 : n == 16 ? l16 : n == 17 ? l17 : n == 18 ? l18 : l19;

            grouped(g, pv_card[i], seps[s], l);
            snprintf(body, sizeof body, "card=%s&x=1", g);
            EXPECT_ONE(body, CARD);
            ncards++;
        }
        for (size_t i = 0; i < PV_N(pv_id); i++) {
            grouped(g, pv_id[i], seps[s], l684);
            snprintf(body, sizeof body, "id: %s;", g);
            EXPECT_ONE(body, ID);
        }
        for (size_t i = 0; i < PV_N(pv_mobile); i++) {
            static const char *const cc[] = { "", "+86", "86", "0086", "%2B86" };

            grouped(g, pv_mobile[i], seps[s], l344);
            for (size_t k = 0; k < sizeof cc / sizeof cc[0]; k++) {
                snprintf(body, sizeof body, "tel %s%s%s end", cc[k], cc[k][0] ? seps[s] : "", g);
                EXPECT_ONE(body, MOB);
            }
        }
    }
    assert_int_equal(ncards, 6 * PV_N(pv_card));
    /* the country code run together with the number */
    snprintf(body, sizeof body, "+86%s 86%s 0086%s %%2B86%s", pv_mobile[0], pv_mobile[1], pv_mobile[2], pv_mobile[3]);
    EXPECT(body, 0, 0, 4, 0, 0);
    snprintf(body, sizeof body, "86 %s, 0086-%s", pv_mobile[4], pv_mobile[5]);
    EXPECT(body, 0, 0, 2, 0, 0);
}

static void test_separator_near_misses(void **state)
{
    static const unsigned l610[] = { 6, 10, 0 }, l38[] = { 3, 8, 0 }, l4444[] = { 4, 4, 4, 4, 0 },
                          l344[] = { 3, 4, 4, 0 }, l99[] = { 9, 9, 0 };
    char g[96], body[160];

    const struct { const char *v, *sep; const unsigned *lens; } none[] = {
        /* layouts that are not the way these are written */
        { pv_card[0], " ", l610 }, { pv_mobile[0], " ", l38 }, { pv_id[0], " ", l99 },
        /* a wrong Luhn digit stays wrong when grouped */
        { pv_card_bad_luhn[0], " ", l4444 },
        /* two separators, or a separator of another kind, end the token */
        { pv_mobile[0], "  ", l344 }, { pv_mobile[0], ".", l344 }, { pv_mobile[0], ",", l344 },
    };

    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        grouped(g, none[i].v, none[i].sep, none[i].lens);
        EXPECT_NONE(g);
    }
    /* a country code needs the number's own layout after it */
    snprintf(body, sizeof body, "86 %.3s %s, 8613 %.4s %s, 0086 %.5s %s", pv_mobile[0], pv_mobile[0] + 3,
             pv_mobile[1], pv_mobile[1] + 4, pv_mobile[2], pv_mobile[2] + 5);
    EXPECT_NONE(body);
    snprintf(body, sizeof body, "85 %s, 086 %s, 00086%s", pv_mobile[0], pv_mobile[1], pv_mobile[2]);
    EXPECT(body, 0, 0, 2, 0, 0);       /* the numbers on their own, not with these prefixes */
    /* a grouped number counts only as the whole token */
    grouped(g, pv_mobile[0], " ", l344);
    snprintf(body, sizeof body, "123 %s", g);
    EXPECT_NONE(body);
    snprintf(body, sizeof body, "%s 12", g);
    EXPECT_NONE(body);
    snprintf(body, sizeof body, "%s 12a", g);
    EXPECT_NONE(body);
    grouped(g, pv_card[0], " ", l4444);
    snprintf(body, sizeof body, "%s 1234 5678", g);
    EXPECT_NONE(body);
    /* a letter-led group is not part of a token: the phone after it counts */
    grouped(g, pv_mobile[0], " ", l344);
    snprintf(body, sizeof body, "%s %s", pv_passport[0], g);
    EXPECT(body, 0, 0, 1, 0, 1);
    /* ungrouped numbers in a list each count */
    snprintf(body, sizeof body, "%s %s-%s+%s", pv_mobile[0], pv_mobile[1], pv_id[0], pv_card[0]);
    EXPECT(body, 1, 1, 2, 0, 0);
    snprintf(body, sizeof body, "2024 %s", pv_mobile[0]);
    EXPECT_ONE(body, MOB);
    snprintf(body, sizeof body, "1 2 3 4 5 6 7 8 9 10 11 12 %s 13 14", pv_mobile[0]);
    EXPECT_ONE(body, MOB);
    /* a long list of short numbers: nothing, and bounded state */
    {
        char big[4096];
        size_t k = 0;

        while (k + 8 < sizeof big)
            k += (size_t)snprintf(big + k, sizeof big - k, "%u ", (unsigned)(k % 97));
        EXPECT_NONE(big);
    }
}

/* Numbers at every offset around the scanner's 64-byte blocks: runs that
 * cross a block's end, short runs that begin a token at its end. */
static void test_block_edges(void **state)
{
    static const unsigned l344[] = { 3, 4, 4, 0 };
    char g[32], pad[200], body[512];
    const struct { const char *pre, *v, *post; int type; } cases[] = {
        { " ", g, " ", MOB },
        { " 12-", pv_mobile[1], " ", MOB },
        { " 1234567+", pv_id[2], ",", ID },
        { " ", pv_passport[0], " ", PASS },
        { " ", pv_email[1], " ", MAIL },
        { " 123%20", pv_card[3], " ", CARD },
        { " 1234567", pv_mobile[2], " ", -1 },
        { " a1234567 ", pv_mobile[3], " ", MOB },
    };

    grouped(g, pv_mobile[0], " ", l344);
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (unsigned k = 0; k < 140; k++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            unsigned want[5] = { 0 };
            int n = snprintf(body, sizeof body, "%.*s%s%s%s%.64s", k, pad, cases[c].pre, cases[c].v, cases[c].post, pad);

            if (cases[c].type >= 0)
                want[cases[c].type] = 1;
            expect_counts(HERE, (const uint8_t *)body, (size_t)n, TODAY, want);
        }
}

/* ------------------------------------------------------------------ encodings, bodies */

static void test_url_encoded(void **state)
{
    char e[256], body[320];
    static const unsigned l344[] = { 3, 4, 4, 0 };
    char g[64];

    for (int all = 0; all <= 1; all++) {
        for (size_t i = 0; i < PV_N(pv_email); i++) {
            urlenc(e, pv_email[i], all);
            snprintf(body, sizeof body, "email=%s&next=1", e);
            EXPECT_ONE(body, MAIL);
        }
        for (size_t i = 0; i < PV_N(pv_id); i += 5) {
            urlenc(e, pv_id[i], all);
            snprintf(body, sizeof body, "q=%s", e);
            EXPECT_ONE(body, ID);
        }
        grouped(g, pv_mobile[0], " ", l344);
        urlenc(e, g, all);
        snprintf(body, sizeof body, "phone=%%2B86+%s&a=b", e);
        EXPECT_ONE(body, MOB);
        urlenc(e, pv_passport[0], all);
        snprintf(body, sizeof body, "p=%s", e);
        EXPECT_ONE(body, PASS);
    }
    /* lower-case hex */
    EXPECT_ONE("zhang%2esan%40example%2ecom", MAIL);
    /* one level only: %2540 is "%40" */
    EXPECT_NONE("zhang%2540example.com");
    /* '%' that is no escape is itself, and the bytes after it are read again */
    snprintf(body, sizeof body, "100%%%s", pv_mobile[0]);
    EXPECT_NONE(body);                  /* "%13" is a byte: 800... is 9 digits */
    snprintf(body, sizeof body, "%%zz %s %%4 %s %%%% %s %%4%s %%zz%s", pv_mobile[0], pv_mobile[1], pv_mobile[2],
             pv_mobile[3], pv_mobile[4]);
    EXPECT(body, 0, 0, 3, 0, 0);        /* "%4" "1..." is %41, 'A'; "zz" is letters */
    snprintf(body, sizeof body, "x%%");
    EXPECT_NONE(body);
    snprintf(body, sizeof body, "%s%%4", pv_mobile[0]);
    EXPECT_ONE(body, MOB);
    /* an encoded letter before the digits is a letter */
    snprintf(body, sizeof body, "%%61%s", pv_mobile[0]);
    EXPECT_NONE(body);
}

static void test_json(void **state)
{
    char body[1024];

    snprintf(body, sizeof body,
             "{\"user\":{\"name\":\"\\u5f20\\u4e09\",\"id_no\":\"%s\",\"phone\":%s,\"mobile\":\"+86 %s\","
             "\"email\":\"%s\",\"card\":\"%s\",\"passport\":\"%s\",\"score\":0.%s,\"ts\":1717200000123,"
             "\"tags\":[\"a\",\"b\"]}}",
             pv_id[3], pv_mobile[1], pv_mobile[2], pv_email[0], pv_card[5], pv_passport[1], pv_card[6]);
    EXPECT(body, 1, 1, 2, 1, 1);
    /* escapes: a line break before digits, an escaped '@', escaped digits */
    snprintf(body, sizeof body, "{\"csv\":\"id,phone\\n1,%s\\n2,%s\\r\\n\",\"m\":\"a\\u0040example.com\","
             "\"d\":\"\\u0031%s\",\"s\":\"\\/%s\\/\"}",
             pv_mobile[0], pv_id[0], pv_mobile[1] + 1, pv_mobile[2]);
    EXPECT(body, 1, 0, 3, 1, 0);
    /* a line break is no separator */
    {
        static const unsigned l344[] = { 3, 4, 4, 0 }, l4444[] = { 4, 4, 4, 4, 0 };
        char g[96];

        grouped(g, pv_mobile[0], "\\n", l344);
        EXPECT_NONE(g);
        grouped(g, pv_card[0], "\\r\\n", l4444);
        EXPECT_NONE(g);
    }
    /* a letter, not an escape: "\q" leaves '\' and 'q' */
    snprintf(body, sizeof body, "\\q%s \\\\n%s", pv_mobile[0], pv_mobile[1]);
    EXPECT_NONE(body);
    /* broken \u escapes are themselves */
    snprintf(body, sizeof body, "\\u12 %s \\u", pv_mobile[0]);
    EXPECT_ONE(body, MOB);
    /* a non-ASCII \u escape is a boundary */
    snprintf(body, sizeof body, "\\u624b%s\\uff0c", pv_mobile[0]);
    EXPECT_ONE(body, MOB);
}

static void test_csv_multipart(void **state)
{
    static const char boundary[] = "---------------------------9051914041544843365972754266";
    char *body = malloc(BODY_MAX);
    size_t k = 0;
    unsigned rows = 12;

    assert_non_null(body);
    k += (size_t)snprintf(body + k, BODY_MAX - k,
                          "--%s\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nquarterly export 2024-06-01\r\n"
                          "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"users.csv\"\r\n"
                          "Content-Type: text/csv\r\n\r\nname,id_no,mobile,email,card,passport,amount\r\n",
                          boundary, boundary);
    for (unsigned r = 0; r < rows; r++)
        k += (size_t)snprintf(body + k, BODY_MAX - k, "user%u,%s,%s,%s,%s,%s,%u.%02u\r\n", r,
                              pv_id[r], pv_mobile[r], pv_email[r], pv_card[r], pv_passport[r], r * 37, r);
    k += (size_t)snprintf(body + k, BODY_MAX - k, "\r\n--%s--\r\n", boundary);
    expect_counts(HERE, (const uint8_t *)body, k, TODAY, (const unsigned[5]){ rows, rows, rows, rows, rows });
    free(body);
}

static void test_email_rules(void **state)
{
    EXPECT_ONE("mailto:a@example.com?subject=x", MAIL);
    EXPECT_ONE("a@example.com.", MAIL);                 /* the sentence's dot */
    EXPECT_ONE("<a@EXAMPLE.co>", MAIL);
    EXPECT_NONE("a@example.com@");
    EXPECT(" a@b.example.com, c@d.example.org; e@f.example.net ", 0, 0, 0, 3, 0);
    EXPECT_NONE("a@example.c-m");
    EXPECT_NONE("background:url(img@2x.png)");
    EXPECT_ONE("a@example.pngx", MAIL);
    /* label and domain length limits */
    {
        char body[400];

        snprintf(body, sizeof body, "a@%063d.com", 0);
        EXPECT_ONE(body, MAIL);
        snprintf(body, sizeof body, "a@%064d.com", 0);
        EXPECT_NONE(body);
        snprintf(body, sizeof body, "a@%063d.%063d.%063d.%057d.com", 0, 0, 0, 0);
        EXPECT_ONE(body, MAIL);          /* a domain of 253 characters */
        snprintf(body, sizeof body, "a@%063d.%063d.%063d.%058d.com", 0, 0, 0, 0);
        EXPECT_NONE(body);
    }
    /* digits in the domain or right at the local part are no numbers */
    {
        char body[128];

        snprintf(body, sizeof body, "%s@example.com", pv_mobile[0]);
        EXPECT_ONE(body, MAIL);
        snprintf(body, sizeof body, "a@b.%s.example.com", pv_mobile[0]);
        EXPECT_ONE(body, MAIL);
    }
}

/* ------------------------------------------------------------------ streaming */

static void test_split_calls(void **state)
{
    char body[256];
    struct pii_opts o = { PII_T_ALL, TODAY };
    struct pii_stream s;

    /* every split point is covered by EXPECT; here three pieces and a
     * number cut inside its %XX escape */
    snprintf(body, sizeof body, "a=%s&b=%%31%%33%%38%%20%s", pv_id[0], "0013%208000");
    for (size_t i = 0; i <= strlen(body); i++)
        for (size_t j = i; j <= strlen(body); j++) {
            pii_stream_init(&s, &o);
            pii_stream_feed(&s, (const uint8_t *)body, i);
            pii_stream_feed(&s, (const uint8_t *)body + i, j - i);
            pii_stream_feed(&s, (const uint8_t *)body + j, strlen(body) - j);
            pii_stream_end(&s);
            assert_int_equal(s.counts.n[PII_CN_ID], 1);
            assert_int_equal(s.counts.n[PII_CN_MOBILE], 1);
        }
    /* a count is final once the character after the number is in */
    pii_stream_init(&s, &o);
    pii_stream_feed(&s, (const uint8_t *)pv_mobile[0], 11);
    assert_int_equal(s.counts.n[PII_CN_MOBILE], 0);
    pii_stream_feed(&s, (const uint8_t *)",", 1);
    assert_int_equal(s.counts.n[PII_CN_MOBILE], 1);
    /* after the end the stream reads a new body, counts going on */
    pii_stream_end(&s);
    pii_stream_feed(&s, (const uint8_t *)pv_mobile[1], 11);
    pii_stream_end(&s);
    assert_int_equal(s.counts.n[PII_CN_MOBILE], 2);
    /* empty pieces and an empty body */
    pii_stream_init(&s, &o);
    pii_stream_feed(&s, NULL, 0);
    pii_stream_end(&s);
    assert_int_equal(s.counts.n[PII_CN_MOBILE] + s.counts.n[PII_EMAIL], 0);
}

static void feed_str(struct pii_stream *s, const char *t)
{
    pii_stream_feed(s, (const uint8_t *)t, strlen(t));
}

static void test_gap(void **state)
{
    struct pii_opts o = { PII_T_ALL, TODAY };
    struct pii_stream s;
    char a[64];

    /* a number complete before the gap counts; one cut by it does not;
     * digits right after it do not; the stream goes on afterwards */
    pii_stream_init(&s, &o);
    snprintf(a, sizeof a, "x %s 138", pv_mobile[0]);
    feed_str(&s, a);
    pii_stream_gap(&s);
    feed_str(&s, "0013 8000 ");
    feed_str(&s, pv_mobile[1]);
    pii_stream_end(&s);
    assert_int_equal(s.counts.n[PII_CN_MOBILE], 2);

    pii_stream_init(&s, &o);
    feed_str(&s, "1380013");
    pii_stream_gap(&s);
    feed_str(&s, "8000 zhang");
    pii_stream_gap(&s);
    feed_str(&s, "@example.com a@exa");
    pii_stream_gap(&s);
    feed_str(&s, "mple.com %4");
    pii_stream_gap(&s);
    feed_str(&s, "0example.com");
    pii_stream_end(&s);
    for (int t = 0; t < PII_TYPE_COUNT; t++)
        assert_int_equal(s.counts.n[t], 0);

    pii_stream_init(&s, &o);
    pii_stream_gap(&s);
    feed_str(&s, " ");
    feed_str(&s, pv_mobile[2]);
    feed_str(&s, " a@example.com");
    pii_stream_end(&s);
    assert_int_equal(s.counts.n[PII_CN_MOBILE], 1);
    assert_int_equal(s.counts.n[PII_EMAIL], 1);

    /* the gap's mark goes with the first character after it, decoded or not */
    pii_stream_init(&s, &o);
    pii_stream_gap(&s);
    feed_str(&s, "%20");
    feed_str(&s, pv_mobile[3]);
    feed_str(&s, " ");
    pii_stream_gap(&s);
    feed_str(&s, "1 ");
    feed_str(&s, pv_mobile[4]);
    pii_stream_end(&s);
    assert_int_equal(s.counts.n[PII_CN_MOBILE], 2);
}

/* Random bodies of valid, invalid and broken pieces: whole, split and
 * per-type scans must agree (scan_all_ways), and with none of the broken
 * pieces the counts are the pieces'. */
static void test_random_bodies(void **state)
{
    static const char *const filler[] = {
        " ", "-", "+", ".", ",", "\r\n", "a", "%", "%2", "%20", "\\", "\\u00", "\\n", "@", "x@", "0", "12",
        "E", "G1234", "\xe4\xb8\xad", "{\"k\":", "}", "&v=", "=", "X", "86", "0086", "9",
    };
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    char *body = malloc(BODY_MAX);

    assert_non_null(body);
    for (int round = 0; round < 300; round++) {
        size_t k = 0;
        int pieces = 1 + (int)(rng % 40);

        for (int p = 0; p < pieces && k + 64 < BODY_MAX; p++) {
            const char *v;

            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            switch ((rng >> 33) % 8) {
            case 0: v = pv_id[(rng >> 40) % PV_N(pv_id)]; break;
            case 1: v = pv_card[(rng >> 40) % PV_N(pv_card)]; break;
            case 2: v = pv_mobile[(rng >> 40) % PV_N(pv_mobile)]; break;
            case 3: v = pv_email[(rng >> 40) % PV_N(pv_email)]; break;
            case 4: v = pv_passport[(rng >> 40) % PV_N(pv_passport)]; break;
            case 5: v = pv_id_bad_check[(rng >> 40) % PV_N(pv_id_bad_check)]; break;
            default: v = filler[(rng >> 40) % (sizeof filler / sizeof filler[0])]; break;
            }
            k += (size_t)snprintf(body + k, BODY_MAX - k, "%s", v);
        }
        {
            struct pii_counts c;

            scan_all_ways(HERE, (const uint8_t *)body, k, TODAY, &c);
        }
    }
    /* the same pieces with a plain separator between them count exactly */
    {
        unsigned want[5] = { 0 };
        size_t k = 0;

        for (int p = 0; p < 200; p++) {
            int t = p % 5;
            const char *v = t == ID ? pv_id[p % PV_N(pv_id)] : t == CARD ? pv_card[p % PV_N(pv_card)] :
                            t == MOB ? pv_mobile[p % PV_N(pv_mobile)] : t == MAIL ? pv_email[p % PV_N(pv_email)] :
                            pv_passport[p % PV_N(pv_passport)];

            k += (size_t)snprintf(body + k, BODY_MAX - k, "%s%s", v, p % 3 ? ", " : "\n");
            want[t]++;
        }
        expect_counts(HERE, (const uint8_t *)body, k, TODAY, want);
    }
    free(body);
}

/* ------------------------------------------------------------------ the keyword */

static void test_keyword_parse(void **state)
{
    struct pii_keyword kw;
    char err[160];

    assert_int_equal(pii_keyword_parse("cn-id, count >= 10", &kw, err, sizeof err), 0);
    assert_int_equal(kw.types, PII_T_CN_ID);
    assert_int_equal(kw.cmp.op, RULE_CMP_GE);
    assert_int_equal(kw.cmp.a, 10);
    assert_int_equal(pii_keyword_parse(" cn-id|bank-card | cn-mobile|email|passport-cn ,count>0 ", &kw, err,
                                       sizeof err), 0);
    assert_int_equal(kw.types, PII_T_ALL);
    assert_int_equal(kw.cmp.op, RULE_CMP_GT);
    assert_int_equal(kw.cmp.a, 0);
    assert_int_equal(pii_keyword_parse("Bank-Card, COUNT = 3", &kw, err, sizeof err), 0);
    assert_int_equal(kw.types, PII_T_BANK_CARD);
    assert_int_equal(kw.cmp.op, RULE_CMP_EQ);
    assert_int_equal(pii_keyword_parse("email, count != 0", &kw, err, sizeof err), 0);
    assert_int_equal(kw.cmp.op, RULE_CMP_NE);
    assert_int_equal(pii_keyword_parse("email, count < 5", &kw, err, sizeof err), 0);
    assert_int_equal(kw.cmp.op, RULE_CMP_LT);
    assert_int_equal(pii_keyword_parse("email, count <= 4294967295", &kw, err, sizeof err), 0);
    assert_int_equal(kw.cmp.op, RULE_CMP_LE);
    assert_int_equal(kw.cmp.a, 4294967295u);
    /* no count clause: at least one */
    assert_int_equal(pii_keyword_parse("passport-cn", &kw, err, sizeof err), 0);
    assert_int_equal(kw.cmp.op, RULE_CMP_GE);
    assert_int_equal(kw.cmp.a, 1);

    static const struct { const char *val, *msg; } bad[] = {
        { "", "a type is missing" },
        { "cn_id, count > 1", "unknown type 'cn_id'" },
        { "cn-id|, count > 1", "a type is missing" },
        { "cn-id|cn-id", "listed twice" },
        { "cn-id bank-card", "expected '|' or ','" },
        { "cn-id,", "expected 'count" },
        { "cn-id, count", "expected 'count" },
        { "cn-id, count >", "expected 'count" },
        { "cn-id, count >= -1", "expected 'count" },
        { "cn-id, count == 1", "expected 'count" },
        { "cn-id, count => 1", "expected 'count" },
        { "cn-id, counts > 1", "expected 'count" },
        { "cn-id, count > 4294967296", "expected 'count" },
        { "cn-id, count > 99999999999999999999999", "expected 'count" },
        { "cn-id, count > 1x", "unexpected 'x'" },
        { "cn-id, count > 1 2", "unexpected '2'" },
        { "cn-id, count > 1;", "unexpected ';'" },
        { "cn-id, count < 0", "never match" },
        { "cn-id, count > 4294967295", "never match" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (pii_keyword_parse(bad[i].val, &kw, err, sizeof err) != -1 || !strstr(err, bad[i].msg))
            fail_msg("'%s': want an error with '%s', got '%s'", bad[i].val, bad[i].msg, err);
        assert_int_equal(strncmp(err, "pii: ", 5), 0);
    }
    /* no error buffer, a long value */
    {
        char longv[300];

        memset(longv, 'a', sizeof longv - 1);
        longv[sizeof longv - 1] = '\0';
        assert_int_equal(pii_keyword_parse(longv, &kw, NULL, 0), -1);
        assert_int_equal(pii_keyword_parse(longv, &kw, err, 8), -1);
        assert_int_equal(strlen(err), 7);
    }
}

/* count <op> N just under, at and just over N; the sum over the types. */
static void test_keyword_match(void **state)
{
    static const struct { const char *op; int under, at, over; } ops[] = {
        { ">", 0, 0, 1 }, { ">=", 0, 1, 1 }, { "<", 1, 0, 0 }, { "<=", 1, 1, 0 }, { "=", 0, 1, 0 }, { "!=", 1, 0, 1 },
    };
    char *body = malloc(BODY_MAX), val[64];
    struct pii_keyword kw;
    struct pii_counts c;
    const unsigned n = 10;

    assert_non_null(body);
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        snprintf(val, sizeof val, "cn-id, count %s %u", ops[o].op, n);
        assert_int_equal(pii_keyword_parse(val, &kw, NULL, 0), 0);
        for (unsigned have = n - 1; have <= n + 1; have++) {
            size_t k = 0;
            int want = have < n ? ops[o].under : have == n ? ops[o].at : ops[o].over;

            for (unsigned i = 0; i < have; i++)
                k += (size_t)snprintf(body + k, BODY_MAX - k, "%s,%s,%s\n", pv_id[i], pv_id_bad_check[i],
                                      pv_mobile[i]);
            assert_int_equal(pii_keyword_match(&kw, (const uint8_t *)body, k, TODAY, &c), want);
            assert_int_equal(c.n[PII_CN_ID], have);
            assert_int_equal(c.n[PII_CN_MOBILE], 0);          /* only the keyword's types are scanned */
        }
    }
    /* the sum of the listed types */
    snprintf(body, BODY_MAX, "%s %s %s %s", pv_id[0], pv_card[0], pv_card[1], pv_mobile[0]);
    assert_int_equal(pii_keyword_parse("cn-id|bank-card, count = 3", &kw, NULL, 0), 0);
    assert_int_equal(pii_keyword_match(&kw, (const uint8_t *)body, strlen(body), TODAY, NULL), 1);
    assert_int_equal(pii_keyword_parse("cn-id|bank-card|cn-mobile, count = 3", &kw, NULL, 0), 0);
    assert_int_equal(pii_keyword_match(&kw, (const uint8_t *)body, strlen(body), TODAY, NULL), 0);
    /* evaluation from counts taken with every type */
    memset(&c, 0, sizeof c);
    c.n[PII_EMAIL] = 7;
    c.n[PII_CN_ID] = 100;
    assert_int_equal(pii_keyword_parse("email, count >= 7", &kw, NULL, 0), 0);
    assert_int_equal(pii_keyword_eval(&kw, &c), 1);
    assert_int_equal(pii_keyword_parse("email, count > 7", &kw, NULL, 0), 0);
    assert_int_equal(pii_keyword_eval(&kw, &c), 0);
    /* a sum past 2^32 compares as 4294967295 */
    c.n[PII_EMAIL] = UINT64_MAX / 2;
    assert_int_equal(pii_keyword_parse("email, count = 4294967295", &kw, NULL, 0), 0);
    assert_int_equal(pii_keyword_eval(&kw, &c), 1);
    /* none: no personal data at all */
    assert_int_equal(pii_keyword_parse("cn-id|bank-card|cn-mobile|email|passport-cn, count = 0", &kw, NULL, 0), 0);
    assert_int_equal(pii_keyword_match(&kw, (const uint8_t *)"POST /upload {\"a\":1}", 20, TODAY, NULL), 1);
    free(body);
}

/* ------------------------------------------------------------------ JSON, tallies */

static void test_json_never_values(void **state)
{
    char *body = malloc(BODY_MAX);
    struct pii_opts o = { PII_T_ALL, TODAY };
    struct pii_counts c;
    struct pii_tally t = { { 0 }, 0 };
    struct jbuf j;
    size_t k = 0;
    char *text;
    const char *const *lists[] = { pv_id, pv_card, pv_mobile, pv_email, pv_passport };
    const size_t lens[] = { PV_N(pv_id), PV_N(pv_card), PV_N(pv_mobile), PV_N(pv_email), PV_N(pv_passport) };

    assert_non_null(body);
    for (int l = 0; l < 5; l++)
        for (size_t i = 0; i < 3; i++)
            k += (size_t)snprintf(body + k, BODY_MAX - k, "%s\n", lists[l][i]);
    pii_scan((const uint8_t *)body, k, &o, &c);
    pii_tally_add(&t, &c);
    jbuf_init(&j);
    jbuf_open_object(&j, NULL);
    pii_counts_json(&j, "pii", &c, PII_T_ALL);
    pii_tally_json(&j, "pii_summary", &t);
    jbuf_close_object(&j);
    assert_true(jbuf_ok(&j));
    text = strndup(j.buf, j.len);
    assert_non_null(text);
    assert_string_equal(text, "{\"pii\":{\"cn-id\":3,\"bank-card\":3,\"cn-mobile\":3,\"email\":3,\"passport-cn\":3},"
                              "\"pii_summary\":{\"cn-id\":3,\"bank-card\":3,\"cn-mobile\":3,\"email\":3,"
                              "\"passport-cn\":3,\"bodies\":1}}");
    /* no value, and no 6 characters in a row of any value */
    for (int l = 0; l < 5; l++)
        for (size_t i = 0; i < lens[l]; i++)
            for (size_t s = 0; s + 6 <= strlen(lists[l][i]); s++) {
                char part[8];

                memcpy(part, lists[l][i] + s, 6);
                part[6] = '\0';
                if (strstr(text, part))
                    fail_msg("'%s' of '%s' is in the JSON: %s", part, lists[l][i], text);
            }
    free(text);
    /* a mask writes its types only, zeros included */
    jbuf_reset(&j);
    jbuf_open_object(&j, NULL);
    memset(&c, 0, sizeof c);
    c.n[PII_EMAIL] = 2;
    pii_counts_json(&j, "pii", &c, PII_T_CN_ID | PII_T_EMAIL);
    jbuf_close_object(&j);
    assert_int_equal(j.len, strlen("{\"pii\":{\"cn-id\":0,\"email\":2}}"));
    assert_memory_equal(j.buf, "{\"pii\":{\"cn-id\":0,\"email\":2}}", j.len);
    jbuf_free(&j);
    free(body);
}

static void test_tally(void **state)
{
    struct pii_tally a = { { 0 }, 0 }, b = { { 0 }, 0 };
    struct pii_counts c = { { 0 } };

    assert_false(pii_tally_any(&a));
    pii_tally_add(&a, &c);                   /* a body with nothing */
    assert_false(pii_tally_any(&a));
    assert_int_equal(a.bodies, 0);
    c.n[PII_CN_ID] = 12;
    c.n[PII_EMAIL] = 1;
    pii_tally_add(&a, &c);
    pii_tally_add(&a, &c);
    assert_true(pii_tally_any(&a));
    assert_int_equal(a.n[PII_CN_ID], 24);
    assert_int_equal(a.n[PII_EMAIL], 2);
    assert_int_equal(a.bodies, 2);
    c.n[PII_CN_ID] = 0;
    c.n[PII_PASSPORT_CN] = 5;
    pii_tally_add(&b, &c);
    pii_tally_merge(&a, &b);
    assert_int_equal(a.n[PII_CN_ID], 24);
    assert_int_equal(a.n[PII_EMAIL], 3);
    assert_int_equal(a.n[PII_PASSPORT_CN], 5);
    assert_int_equal(a.n[PII_BANK_CARD], 0);
    assert_int_equal(a.bodies, 3);
}

static void test_names_dates(void **state)
{
    assert_string_equal(pii_type_name(PII_CN_ID), "cn-id");
    assert_string_equal(pii_type_name(PII_PASSPORT_CN), "passport-cn");
    assert_null(pii_type_name(PII_TYPE_COUNT));
    assert_int_equal(pii_type_lookup("bank-card", 9), PII_BANK_CARD);
    assert_int_equal(pii_type_lookup("EMAIL", 5), PII_EMAIL);
    assert_int_equal(pii_type_lookup("email", 4), -1);
    assert_int_equal(pii_type_lookup("emails", 6), -1);
    assert_int_equal(pii_date_from_unix(0), 19700101u);
    assert_int_equal(pii_date_from_unix(-1), 19691231u);
    assert_int_equal(pii_date_from_unix(951782400), 20000229u);
    assert_int_equal(pii_date_from_unix(1717200000 - 1), 20240531u);
    assert_int_equal(pii_date_from_unix(1717200000), 20240601u);
    assert_int_equal(pii_date_from_unix(4102444800), 21000101u);
    assert_int_equal(pii_date_from_unix(-2208988800), 19000101u);
}

static void test_no_types(void **state)
{
    struct pii_opts o = { 0, TODAY };
    struct pii_counts c;

    memset(&c, 0xff, sizeof c);
    pii_scan((const uint8_t *)pv_mobile[0], 11, &o, &c);
    for (int t = 0; t < PII_TYPE_COUNT; t++)
        assert_int_equal(c.n[t], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_each_type),
        cmocka_unit_test(test_wrong_check_digit),
        cmocka_unit_test(test_near_misses),
        cmocka_unit_test(test_birth_dates),
        cmocka_unit_test(test_longer_runs),
        cmocka_unit_test(test_check_x),
        cmocka_unit_test(test_separators),
        cmocka_unit_test(test_separator_near_misses),
        cmocka_unit_test(test_block_edges),
        cmocka_unit_test(test_url_encoded),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_csv_multipart),
        cmocka_unit_test(test_email_rules),
        cmocka_unit_test(test_split_calls),
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_random_bodies),
        cmocka_unit_test(test_keyword_parse),
        cmocka_unit_test(test_keyword_match),
        cmocka_unit_test(test_json_never_values),
        cmocka_unit_test(test_tally),
        cmocka_unit_test(test_names_dates),
        cmocka_unit_test(test_no_types),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
