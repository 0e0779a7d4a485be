/* bench_pii.c - `make bench`: the personal-data scanner (sensor/detect/pii.c)
 * over generated request bodies, in MB/s, beside memchr() over the same
 * buffer.
 *
 * Usage: bench_pii [MB]   (default 100)
 *
 * The bodies are a deterministic mix of what uploads carry: JSON API
 * requests (ids, timestamps, prices, coordinates, words), form posts
 * (URL-encoded), HTML/text, CSV files in multipart bodies, and base64
 * blobs (file uploads inside JSON). About one body in twenty carries
 * personal data from tests/unit/pii-vectors.h (generated, not real), in
 * ones and, in CSV exports, in bulk. Every planted item sits between clean
 * boundaries, so the counts must equal what was planted; a difference is
 * printed and the program exits 1.
 *
 * Each figure is the best of 3 runs, in this thread's CPU time (the
 * machine is shared: wall time would count the other work on it):
 *   memchr              a byte that is not in the buffer: the whole buffer, at memory speed
 *   pii all, per body   pii_scan() on each body, every type
 *   pii all, pieces     each body fed in 1460-byte pieces through a pii_stream
 *   pii <type>          each type alone (a rule asking for one type)
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pii.h"
#include "pii-vectors.h"

struct gen {
    uint8_t *buf;
    size_t   len, cap;
    uint64_t rng;
    size_t  *starts;               /* body i is buf[starts[i] .. starts[i + 1]) */
    size_t   nbodies, capbodies;
    unsigned with_pii;
    uint64_t planted[PII_TYPE_COUNT];
};

static const char *const words[] = {
    "order", "update", "customer", "shipping", "address", "payment", "status", "pending", "complete",
    "invoice", "product", "category", "search", "session", "account", "profile", "settings", "report",
    "quarterly", "export", "region", "warehouse", "delivery", "tracking", "review", "comment", "the", "and",
    "with", "from", "data", "service", "cloud", "backup", "sync", "mobile", "device", "version", "release",
    "\xe8\xae\xa2\xe5\x8d\x95", "\xe5\xae\xa2\xe6\x88\xb7", "\xe5\x9c\xb0\xe5\x9d\x80",   /* UTF-8 words */
    "\xe6\x94\xaf\xe4\xbb\x98", "\xe6\x8a\xa5\xe5\x91\x8a",
};
#define NWORDS (sizeof words / sizeof words[0])

static uint64_t rnd(struct gen *g)
{
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned below(struct gen *g, unsigned n) { return (unsigned)(rnd(g) % n); }

static void reserve(struct gen *g, size_t n)
{
    if (g->len + n <= g->cap)
        return;
    while (g->len + n > g->cap)
        g->cap = g->cap ? g->cap * 2 : 1u << 20;
    if (!(g->buf = realloc(g->buf, g->cap))) {
        fprintf(stderr, "bench_pii: out of memory\n");
        exit(2);
    }
}

static void put(struct gen *g, const char *s)
{
    size_t n = strlen(s);

    reserve(g, n);
    memcpy(g->buf + g->len, s, n);
    g->len += n;
}

static void putf(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct gen *g, const char *fmt, ...)
{
    va_list ap;
    int n;

    reserve(g, 512);
    va_start(ap, fmt);
    n = vsnprintf((char *)g->buf + g->len, 512, fmt, ap);
    va_end(ap);
    if (n > 0)
        g->len += (size_t)n < 512 ? (size_t)n : 511;
}

static const char *word(struct gen *g) { return words[below(g, NWORDS)]; }

static void hex(struct gen *g, unsigned n)
{
    reserve(g, n);
    for (unsigned i = 0; i < n; i++)
        g->buf[g->len++] = "0123456789abcdef"[below(g, 16)];
}

/* A planted value of type t; returns it. */
static const char *plant(struct gen *g, int t)
{
    g->planted[t]++;
    switch (t) {
    case PII_CN_ID: return pv_id[below(g, PV_N(pv_id))];
    case PII_BANK_CARD: return pv_card[below(g, PV_N(pv_card))];
    case PII_CN_MOBILE: return pv_mobile[below(g, PV_N(pv_mobile))];
    case PII_EMAIL: return pv_email[below(g, PV_N(pv_email))];
    default: return pv_passport[below(g, PV_N(pv_passport))];
    }
}

static void body_json(struct gen *g, int pii)
{
    unsigned items = 1 + below(g, 12);

    putf(g, "{\"request_id\":\"%08x-%04x\",\"ts\":%llu,\"user_id\":%u,\"action\":\"%s_%s\",\"items\":[",
         (unsigned)rnd(g), below(g, 65536), 1717200000000ull + below(g, 86400000), below(g, 9000000),
         word(g), word(g));
    for (unsigned i = 0; i < items; i++)
        putf(g, "%s{\"sku\":\"%c%c-%04u\",\"qty\":%u,\"price\":%u.%02u,\"name\":\"%s %s\"}", i ? "," : "",
             'A' + below(g, 26), 'A' + below(g, 26), below(g, 10000), 1 + below(g, 9), below(g, 2000),
             below(g, 100), word(g), word(g));
    putf(g, "],\"geo\":{\"lat\":%u.%06u,\"lng\":%u.%06u},\"session\":\"", 20 + below(g, 30), below(g, 1000000),
         100 + below(g, 20), below(g, 1000000));
    hex(g, 32);
    put(g, "\"");
    if (pii) {
        putf(g, ",\"contact\":{\"name\":\"%s\",\"phone\":\"%s\",\"email\":\"%s\"", word(g), plant(g, PII_CN_MOBILE),
             plant(g, PII_EMAIL));
        if (below(g, 2))
            putf(g, ",\"id_no\":\"%s\"", plant(g, PII_CN_ID));
        if (below(g, 3) == 0)
            putf(g, ",\"card\":\"%s\"", plant(g, PII_BANK_CARD));
        if (below(g, 5) == 0)
            putf(g, ",\"passport\":\"%s\"", plant(g, PII_PASSPORT_CN));
        put(g, "}");
    }
    putf(g, ",\"note\":\"%s %s %s %u %s\"}", word(g), word(g), word(g), below(g, 1000), word(g));
}

static void body_form(struct gen *g, int pii)
{
    putf(g, "action=%s&user=%s%u&page=%u&q=%s+%s&token=", word(g), word(g), below(g, 1000), below(g, 50), word(g),
         word(g));
    hex(g, 40);
    putf(g, "&ref=https%%3A%%2F%%2Fwww.example.com%%2F%s%%3Fid%%3D%u&lang=zh-CN&v=2.%u.%u", word(g), below(g, 100000),
         below(g, 10), below(g, 100));
    if (pii) {
        const char *e = plant(g, PII_EMAIL);

        putf(g, "&mobile=%s&email=", plant(g, PII_CN_MOBILE));
        for (; *e; e++) {
            char one[2] = { *e, '\0' };

            put(g, *e == '@' ? "%40" : *e == '+' ? "%2B" : one);
        }
        if (below(g, 2))
            putf(g, "&id_card=%s", plant(g, PII_CN_ID));
    }
    putf(g, "&comment=%s+%s+%s", word(g), word(g), word(g));
}

static void body_text(struct gen *g, int pii)
{
    unsigned paras = 2 + below(g, 10);

    put(g, "<html><head><title>report</title></head><body>\n");
    for (unsigned p = 0; p < paras; p++) {
        unsigned n = 20 + below(g, 60);

        put(g, "<p class=\"para\">");
        for (unsigned i = 0; i < n; i++) {
            if (i % 9 == 8)
                putf(g, "%u ", below(g, 10000));
            put(g, word(g));
            put(g, " ");
        }
        put(g, "</p>\n");
        if (pii && p == 0)
            putf(g, "<p>contact: %s, tel %s</p>\n", plant(g, PII_EMAIL), plant(g, PII_CN_MOBILE));
    }
    put(g, "</body></html>\n");
}

static void body_multipart(struct gen *g, int pii)
{
    unsigned rows = 20 + below(g, 200);

    put(g, "-----------------------------9051914041544843365972754266\r\n"
           "Content-Disposition: form-data; name=\"file\"; filename=\"export.csv\"\r\n"
           "Content-Type: text/csv\r\n\r\n");
    put(g, pii ? "name,id_no,mobile,email,card,city,amount\r\n" : "sku,name,qty,price,warehouse,updated\r\n");
    for (unsigned r = 0; r < rows; r++) {
        if (pii)
            putf(g, "%s,%s,%s,%s,%s,%s,%u.%02u\r\n", word(g), plant(g, PII_CN_ID), plant(g, PII_CN_MOBILE),
                 plant(g, PII_EMAIL), plant(g, PII_BANK_CARD), word(g), below(g, 100000), below(g, 100));
        else
            putf(g, "SKU-%06u,%s %s,%u,%u.%02u,%s,2024-%02u-%02u %02u:%02u:%02u\r\n", below(g, 1000000),
                 word(g), word(g), below(g, 500), below(g, 5000), below(g, 100), word(g), 1 + below(g, 12),
                 1 + below(g, 28), below(g, 24), below(g, 60), below(g, 60));
    }
    put(g, "\r\n-----------------------------9051914041544843365972754266--\r\n");
}

static void body_base64(struct gen *g)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned n = 4096 + below(g, 28672);

    putf(g, "{\"filename\":\"%s.jpg\",\"content\":\"", word(g));
    reserve(g, n);
    for (unsigned i = 0; i < n; i++)
        g->buf[g->len++] = (uint8_t)b64[below(g, 64)];
    put(g, "\"}");
}

static void generate(struct gen *g, size_t bytes)
{
    while (g->len < bytes) {
        unsigned kind = below(g, 100);
        int pii = below(g, 20) == 0;

        if (g->nbodies + 2 > g->capbodies) {
            g->capbodies = g->capbodies ? g->capbodies * 2 : 4096;
            if (!(g->starts = realloc(g->starts, g->capbodies * sizeof *g->starts)))
                exit(2);
        }
        g->starts[g->nbodies++] = g->len;
        if (kind < 45)
            body_json(g, pii);
        else if (kind < 65)
            body_form(g, pii);
        else if (kind < 80)
            body_text(g, pii);
        else if (kind < 88)
            body_multipart(g, pii && below(g, 4) == 0);
        else
            body_base64(g), pii = 0;
        g->with_pii += pii;
    }
    g->starts[g->nbodies] = g->len;
}

/* CPU time of this thread: the machine is shared, and wall time would
 * measure the other work on it too. */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum mode { M_MEMCHR, M_BODY, M_PIECES };

/* One run; returns seconds, the counts in *c. */
static double run(const struct gen *g, enum mode m, uint32_t types, struct pii_counts *c)
{
    struct pii_opts o = { types, PV_REFERENCE_DATE };
    const void *volatile sink = NULL;
    double t0 = now();

    memset(c, 0, sizeof *c);
    if (m == M_MEMCHR) {
        sink = memchr(g->buf, 0x01, g->len);
    } else {
        for (size_t b = 0; b < g->nbodies; b++) {
            const uint8_t *p = g->buf + g->starts[b];
            size_t n = g->starts[b + 1] - g->starts[b];
            struct pii_counts one;

            if (m == M_BODY) {
                pii_scan(p, n, &o, &one);
            } else {
                struct pii_stream s;

                pii_stream_init(&s, &o);
                for (size_t k = 0; k < n; k += 1460)
                    pii_stream_feed(&s, p + k, n - k < 1460 ? n - k : 1460);
                pii_stream_end(&s);
                one = s.counts;
            }
            for (int t = 0; t < PII_TYPE_COUNT; t++)
                c->n[t] += one.n[t];
        }
    }
    (void)sink;
    return now() - t0;
}

static int measure(const struct gen *g, const char *label, enum mode m, uint32_t types, double memchr_mbs)
{
    struct pii_counts c;
    double best = 1e9, mbs;
    int bad = 0;

    for (int i = 0; i < 3; i++) {
        double s = run(g, m, types, &c);

        if (s < best)
            best = s;
    }
    mbs = (double)g->len / 1e6 / best;
    printf("%-28s %9.0f MB/s  %6.2f s/GB", label, mbs, best * 1e9 / (double)g->len);
    if (memchr_mbs > 0)
        printf("  %5.1f%% of memchr", 100.0 * mbs / memchr_mbs);
    if (m != M_MEMCHR) {
        printf("  counts");
        for (int t = 0; t < PII_TYPE_COUNT; t++)
            if (types & (1u << t)) {
                printf(" %s %llu", pii_type_name(t), (unsigned long long)c.n[t]);
                bad |= c.n[t] != g->planted[t];
            }
    }
    printf("\n");
    if (bad)
        printf("  MISMATCH: counted differs from planted\n");
    return bad;
}

int main(int argc, char **argv)
{
    struct gen g = { .rng = 24 };
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
    double memchr_mbs;
    int bad = 0;
    struct pii_counts c;

    if (mb == 0 || mb > 4096) {
        fprintf(stderr, "usage: bench_pii [MB 1-4096]\n");
        return 2;
    }
    generate(&g, mb * 1000000);
    printf("pii: %.1f MB of generated request bodies, %zu bodies, %u with personal data; planted",
           (double)g.len / 1e6, g.nbodies, g.with_pii);
    for (int t = 0; t < PII_TYPE_COUNT; t++)
        printf(" %s %llu", pii_type_name(t), (unsigned long long)g.planted[t]);
    printf("\n");
    run(&g, M_MEMCHR, 0, &c);            /* page the buffer in */
    {
        double best = 1e9;

        for (int i = 0; i < 3; i++) {
            double s = run(&g, M_MEMCHR, 0, &c);
            if (s < best)
                best = s;
        }
        memchr_mbs = (double)g.len / 1e6 / best;
        printf("%-28s %9.0f MB/s  %6.2f s/GB\n", "memchr (absent byte)", memchr_mbs, best * 1e9 / (double)g.len);
    }
    bad |= measure(&g, "pii all types, per body", M_BODY, PII_T_ALL, memchr_mbs);
    bad |= measure(&g, "pii all, 1460-byte pieces", M_PIECES, PII_T_ALL, memchr_mbs);
    for (int t = 0; t < PII_TYPE_COUNT; t++) {
        char label[40];

        snprintf(label, sizeof label, "pii %s only", pii_type_name(t));
        bad |= measure(&g, label, M_BODY, 1u << t, memchr_mbs);
    }
    free(g.buf);
    free(g.starts);
    return bad;
}
