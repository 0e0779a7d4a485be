/* test_tally.c - unit tests for the per-worker tally tables (sensor/redis/tally.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "tally.h"
#include "util.h"

/* What tally_foreach() reported, in order. */
#define SEEN_MAX 64
struct seen {
    size_t n;
    struct tally_key k[SEEN_MAX];
    struct tally_sums s[SEEN_MAX];
    struct tally_sums total;
};

static void collect(const struct tally_key *k, const struct tally_sums *s, void *arg)
{
    struct seen *sn = arg;

    sn->total.pkts += s->pkts;
    sn->total.bytes += s->bytes;
    sn->total.flows += s->flows;
    if (sn->n < SEEN_MAX) {
        sn->k[sn->n] = *k;
        sn->s[sn->n] = *s;
    }
    sn->n++;
}

/* Swaps the worker's table out and takes it as the flusher would. */
static struct tally_table *swap_take(struct tally *t, uint64_t now)
{
    assert_int_equal(tally_swap(t, now), 0);
    return tally_take(t);
}

static void test_add_accumulates(void **state)
{
    struct tally *t = tally_new(16);
    struct tally_table *tt;
    struct seen sn = {0};

    assert_non_null(t);
    assert_int_equal(tally_add_app(t, 0, "TLS.YouTube", 1, 100, 0), 0);
    assert_int_equal(tally_add_app(t, 0, "DNS", 2, 150, 1), 0);
    assert_int_equal(tally_add_app(t, 0, "TLS.YouTube", 3, 1000, 1), 0);
    tt = swap_take(t, 60000000);
    assert_non_null(tt);
    assert_int_equal(tally_table_used(tt), 2);
    assert_int_equal(tally_table_overflow(tt), 0);
    tally_foreach(tt, collect, &sn);
    assert_int_equal(sn.n, 2);
    /* first-use order */
    assert_int_equal(sn.k[0].kind, TALLY_APP);
    assert_string_equal(sn.k[0].str, "TLS.YouTube");
    assert_int_equal(sn.s[0].pkts, 4);
    assert_int_equal(sn.s[0].bytes, 1100);
    assert_int_equal(sn.s[0].flows, 1);
    assert_string_equal(sn.k[1].str, "DNS");
    assert_int_equal(sn.s[1].pkts, 2);
    assert_int_equal(sn.s[1].bytes, 150);
    assert_int_equal(sn.s[1].flows, 1);
    tally_release(t, tt);
    tally_free(t);
}

static void test_app_names(void **state)
{
    struct tally *t = tally_new(16);
    struct tally_table *tt;
    struct seen sn = {0};
    char longname[100];

    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    tally_add_app(t, 0, NULL, 1, 10, 0);
    tally_add_app(t, 0, "", 1, 10, 0);
    tally_add_app(t, 0, "Unknown", 1, 10, 1);
    tally_add_app(t, 0, longname, 1, 1, 0);
    tally_add_app(t, 0, "Direct_Download_Link.Direct_Download_Link", 1, 1, 0);
    tt = swap_take(t, 1);
    tally_foreach(tt, collect, &sn);
    assert_int_equal(sn.n, 3);
    /* NULL, "" and "Unknown" are one key */
    assert_string_equal(sn.k[0].str, "Unknown");
    assert_int_equal(sn.s[0].pkts, 3);
    assert_int_equal(sn.s[0].flows, 1);
    /* cut, always terminated */
    assert_int_equal(strlen(sn.k[1].str), TALLY_STR_LEN - 1);
    /* the longest nDPI 4.2 name fits whole */
    assert_string_equal(sn.k[2].str, "Direct_Download_Link.Direct_Download_Link");
    tally_release(t, tt);
    tally_free(t);
}

/* Transaction names: lower case, one key per name and kind, the same name
 * of two kinds apart, a long name keeps its end behind '~', empty ones and
 * the application kind not taken. */
static void test_names(void **state)
{
    struct tally *t = tally_new(16);
    struct tally_table *tt;
    struct seen sn = {0};
    char lng[80], want[TALLY_STR_LEN];
    const uint8_t *u;

    (void)state;
    for (size_t i = 0; i < sizeof lng - 1; i++)
        lng[i] = (char)('a' + i % 26);
    lng[sizeof lng - 1] = '\0';
    u = (const uint8_t *)"WWW.Example.COM";
    assert_int_equal(tally_add_name(t, 0, TALLY_HTTP_HOST, u, 15), 0);
    assert_int_equal(tally_add_name(t, 0, TALLY_HTTP_HOST, (const uint8_t *)"www.example.com", 15), 0);
    assert_int_equal(tally_add_name(t, 0, TALLY_TLS_SNI, (const uint8_t *)"www.example.com", 15), 0);
    assert_int_equal(tally_add_name(t, 0, TALLY_DNS_QUERY, (const uint8_t *)lng, strlen(lng)), 0);
    assert_int_equal(tally_add_name(t, 0, TALLY_DNS_QUERY, (const uint8_t *)"", 0), 0);
    assert_int_equal(tally_add_name(t, 0, TALLY_APP, u, 15), 0);
    /* one '?' per UTF-8 character, per stray byte, per space or control */
    assert_int_equal(tally_add_name(t, 0, TALLY_TLS_SNI, (const uint8_t *)"Caf\xc3\xa9 \xbc\xbd.x\x01", 11), 0);
    tt = swap_take(t, 1);
    tally_foreach(tt, collect, &sn);
    assert_int_equal(sn.n, 4);
    assert_int_equal(sn.k[3].kind, TALLY_TLS_SNI);
    assert_string_equal(sn.k[3].str, "caf????.x?");
    assert_int_equal(sn.k[0].kind, TALLY_HTTP_HOST);
    assert_string_equal(sn.k[0].str, "www.example.com");
    assert_int_equal(sn.s[0].events, 2);
    assert_int_equal(sn.s[0].bytes, 0);
    assert_int_equal(sn.k[1].kind, TALLY_TLS_SNI);
    assert_int_equal(sn.s[1].events, 1);
    assert_int_equal(sn.k[2].kind, TALLY_DNS_QUERY);
    want[0] = '~';
    memcpy(want + 1, lng + strlen(lng) - (TALLY_STR_LEN - 2), TALLY_STR_LEN - 2);
    want[TALLY_STR_LEN - 1] = '\0';
    assert_string_equal(sn.k[2].str, want);
    tally_release(t, tt);
    tally_free(t);
}

static void test_kinds_are_distinct(void **state)
{
    struct tally *t = tally_new(16);
    struct tally_table *tt;
    struct seen sn = {0};
    struct tally_key k;
    struct lw_addr a4, a6, a4b;

    assert_int_equal(lw_addr_parse("192.0.2.1", &a4), 0);
    assert_int_equal(lw_addr_parse("192.0.2.2", &a4b), 0);
    assert_int_equal(lw_addr_parse("2001:db8::1", &a6), 0);
    tally_key_l4(&k, 6, 80);
    tally_add(t, &k, 0, 1, 60, 1);
    tally_key_l4(&k, 17, 80);
    tally_add(t, &k, 0, 1, 60, 1);
    tally_key_l4(&k, 6, 80);
    tally_add(t, &k, 0, 1, 60, 0);
    tally_key_host(&k, TALLY_SRC_HOST, &a4);
    tally_add(t, &k, 0, 1, 1, 0);
    tally_key_host(&k, TALLY_SRC_HOST, &a4b);
    tally_add(t, &k, 0, 1, 1, 0);
    tally_key_host(&k, TALLY_SRC_HOST, &a6);
    tally_add(t, &k, 0, 1, 1, 0);
    tally_key_pair(&k, "DE", "US", GEO_SCOPE_OUTBOUND);
    tally_add(t, &k, 0, 1, 1, 0);
    tally_key_pair(&k, "US", "DE", GEO_SCOPE_OUTBOUND);
    tally_add(t, &k, 0, 1, 1, 0);
    tally_key_app(&k, "DE");
    tally_add(t, &k, 0, 1, 1, 0);
    tt = swap_take(t, 1);
    tally_foreach(tt, collect, &sn);
    assert_int_equal(sn.n, 8);
    assert_int_equal(sn.k[0].kind, TALLY_L4);
    assert_int_equal(sn.k[0].num[0], 6);
    assert_int_equal(sn.k[0].num[1], 80);
    assert_int_equal(sn.s[0].pkts, 2);
    assert_int_equal(sn.s[0].flows, 1);
    assert_int_equal(sn.k[1].num[0], 17);
    assert_int_equal(sn.k[2].kind, TALLY_SRC_HOST);
    assert_int_equal(sn.k[2].aux, 4);
    assert_memory_equal(sn.k[2].num, a4.u.b, 16);
    assert_int_equal(sn.k[4].aux, 6);
    assert_string_equal(sn.k[5].cc[0], "DE");
    assert_string_equal(sn.k[5].cc[1], "US");
    assert_string_equal(sn.k[6].cc[0], "US");
    assert_int_equal(sn.k[7].kind, TALLY_APP);
    tally_release(t, tt);
    tally_free(t);
}

static void test_capacity_overflow(void **state)
{
    struct tally *t = tally_new(4);   /* 3 keys and a reserve of 1 for "other" keys */
    struct tally_table *tt;
    struct seen sn = {0};
    struct tally_key k;
    char name[16];
    int i;

    for (i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "app%d", i);
        assert_int_equal(tally_add_app(t, 0, name, 1, 10, 1), i < 3 ? 0 : 1);
    }
    /* known keys still count when full; new ones of another kind overflow
     * too, here past the reserve into the table-wide other */
    assert_int_equal(tally_add_app(t, 0, "app0", 1, 10, 0), 0);
    tally_key_l4(&k, 6, 443);
    assert_int_equal(tally_add(t, &k, 120000000, 5, 500, 1), 1);
    tt = swap_take(t, 1);
    assert_int_equal(tally_table_capacity(tt), 4);
    assert_int_equal(tally_table_used(tt), 4);
    assert_int_equal(tally_table_overflow(tt), 4);
    tally_foreach(tt, collect, &sn);
    assert_int_equal(sn.n, 5);
    assert_string_equal(sn.k[0].str, "app0");
    assert_int_equal(sn.s[0].pkts, 2);
    /* the app "other" key of minute 0, in the reserve */
    assert_int_equal(sn.k[3].kind, TALLY_APP);
    assert_int_equal(sn.k[3].flags, TALLY_KF_OTHER);
    assert_int_equal(sn.k[3].bucket, 0);
    assert_int_equal(sn.s[3].pkts, 3);
    assert_int_equal(sn.s[3].bytes, 30);
    assert_int_equal(sn.s[3].flows, 3);
    /* table-wide other, reported in the latest minute */
    assert_int_equal(sn.k[4].kind, TALLY_L4);
    assert_int_equal(sn.k[4].flags, TALLY_KF_OTHER);
    assert_int_equal(sn.k[4].bucket, 2);
    assert_int_equal(sn.s[4].bytes, 500);
    /* nothing is lost */
    assert_int_equal(sn.total.pkts, 12);
    assert_int_equal(sn.total.bytes, 570);
    assert_int_equal(sn.total.flows, 7);
    tally_release(t, tt);
    tally_free(t);
}

/* The same key in two minutes is two keys; "other" keys are per minute. */
static void test_buckets(void **state)
{
    struct tally *t = tally_new(64);
    struct tally_table *tt;
    struct seen sn = {0};

    assert_int_equal(tally_bucket(59999999), 0);
    assert_int_equal(tally_bucket(60000000), 1);
    tally_add_app(t, 1699999980000000ull, "DNS", 1, 10, 0);
    tally_add_app(t, 1700000039000000ull, "DNS", 1, 10, 0);
    tally_add_app(t, 1700000041000000ull, "DNS", 1, 10, 1);
    tally_add_alert(t, 1700000041000000ull, 2000001, 2);
    tally_add_alert(t, 1700000042000000ull, 2000001, 2);
    tally_add_country(t, 1700000041000000ull, "CN", NULL, GEO_SCOPE_OUTBOUND, 1, 100, 0);
    tt = swap_take(t, 1);
    tally_foreach(tt, collect, &sn);
    assert_int_equal(sn.n, 4);
    assert_int_equal(sn.k[0].bucket, 1699999980 / 60);
    assert_int_equal(sn.s[0].pkts, 2);
    assert_int_equal(sn.k[1].bucket, 1699999980 / 60 + 1);
    assert_int_equal(sn.s[1].flows, 1);
    assert_int_equal(sn.k[2].kind, TALLY_ALERT);
    assert_int_equal(sn.k[2].num[0], 2000001);
    assert_int_equal(sn.k[2].num[1], 2);
    assert_int_equal(sn.s[2].events, 2);
    assert_int_equal(sn.k[3].kind, TALLY_COUNTRY_PAIR);
    assert_string_equal(sn.k[3].cc[0], "CN");
    assert_string_equal(sn.k[3].cc[1], "--");
    assert_int_equal(sn.k[3].aux, GEO_SCOPE_OUTBOUND);
    tally_release(t, tt);
    tally_free(t);
}

static void mkflow(struct flow *f, const char *src, const char *dst, uint8_t proto, uint16_t dport)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(lw_addr_parse(src, &f->key.src), 0);
    assert_int_equal(lw_addr_parse(dst, &f->key.dst), 0);
    f->key.proto = proto;
    f->key.sport = 40000;
    f->key.dport = dport;
}

static const struct seen *find_kind(const struct seen *sn, enum tally_kind kind, size_t nth, size_t *at)
{
    for (size_t i = 0; i < sn->n && i < SEEN_MAX; i++)
        if (sn->k[i].kind == kind && nth-- == 0) {
            *at = i;
            return sn;
        }
    fail_msg("kind %d #%zu not reported", kind, nth);
    return NULL;
}

/* Per-packet counting through the flow's cache: the same sums as plain
 * adds, across a swap and a minute change, and one flow at the end. */
static void test_flow_cache(void **state)
{
    struct tally *t = tally_new(64);
    struct tally_table *tt;
    struct seen sn = {0};
    struct flow f, g;
    struct packet p = {0};
    size_t at;
    uint64_t t0 = 1700000000000000ull;

    mkflow(&f, "10.0.0.1", "192.0.2.9", 6, 443);
    mkflow(&g, "10.0.0.2", "192.0.2.9", 17, 53);
    p.wirelen = 100;
    for (int i = 0; i < 5; i++) {
        p.ts = t0 + (uint64_t)i * 1000000u;
        tally_packet(t, p.ts, p.wirelen);
        tally_flow_packet(t, &f, &p, i < 2 ? NULL : "TLS");
        tally_flow_packet(t, &g, &p, "DNS");
        if (i == 1)
            tally_flow_country(t, &f, p.ts, "CN", "US", GEO_SCOPE_OUTBOUND, 100);
    }
    assert_int_equal(f.tally.gen, g.tally.gen);
    assert_true(f.tally.ix[TALLY_FC_L4] != 0);
    /* the table goes, the cache with it */
    tt = swap_take(t, t0 + 5000000u);
    p.ts = t0 + 61000000u;       /* next minute */
    tally_flow_packet(t, &f, &p, "TLS");
    f.last_ts = p.ts;
    tally_flow_end(t, &f, "TLS");
    tally_foreach(tt, collect, &sn);
    /* health, then f's L4, src, dst, g's app, L4, src, dst(shared), country, f's app */
    find_kind(&sn, TALLY_HEALTH, 0, &at);
    assert_int_equal(sn.s[at].pkts, 5);
    assert_int_equal(sn.s[at].bytes, 500);
    find_kind(&sn, TALLY_L4, 0, &at);
    assert_int_equal(sn.k[at].num[0], 6);
    assert_int_equal(sn.k[at].num[1], 443);
    assert_int_equal(sn.s[at].pkts, 5);
    find_kind(&sn, TALLY_DST_HOST, 0, &at);
    assert_int_equal(sn.s[at].pkts, 10);     /* both flows go to 192.0.2.9 */
    find_kind(&sn, TALLY_APP, 0, &at);
    assert_string_equal(sn.k[at].str, "DNS");
    assert_int_equal(sn.s[at].pkts, 5);
    find_kind(&sn, TALLY_APP, 1, &at);
    assert_string_equal(sn.k[at].str, "TLS");
    assert_int_equal(sn.s[at].pkts, 3);
    find_kind(&sn, TALLY_COUNTRY_PAIR, 0, &at);
    assert_int_equal(sn.s[at].pkts, 1);
    assert_int_equal(sn.s[at].bytes, 100);
    tally_release(t, tt);

    memset(&sn, 0, sizeof sn);
    tt = swap_take(t, t0 + 62000000u);
    tally_foreach(tt, collect, &sn);
    /* minute 2: f's packet to app/L4/src/dst, then its flow to those and health */
    assert_int_equal(sn.n, 5);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(sn.k[i].bucket, tally_bucket(t0) + 1);
        assert_int_equal(sn.s[i].pkts, 1);
        assert_int_equal(sn.s[i].flows, 1);
    }
    assert_int_equal(sn.k[4].kind, TALLY_HEALTH);
    assert_int_equal(sn.s[4].flows, 1);
    assert_int_equal(sn.s[4].pkts, 0);
    tally_release(t, tt);
    tally_free(t);
}

/* The flusher's pending store: tables merge minute by minute, and what does
 * not fit still adds up. */
static void test_merge(void **state)
{
    struct tally *t = tally_new(64);
    struct tally_table *pend = tally_table_new(1024), *small = tally_table_new(8), *tt;
    struct seen sn = {0};
    char name[16];

    assert_non_null(pend);
    assert_non_null(small);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 20; i++) {
            snprintf(name, sizeof name, "a%d", i);
            tally_add_app(t, (uint64_t)round * 60000000u, name, 1, 10, 1);
        }
        tt = swap_take(t, 1);
        assert_int_equal(tally_table_merge(pend, tt), 0);
        assert_int_equal(tally_table_merge(small, tt), round == 0 ? 13 : 20);
        tally_release(t, tt);
    }
    assert_int_equal(tally_table_used(pend), 60);
    tally_foreach(small, collect, &sn);
    assert_int_equal(sn.total.pkts, 60);
    assert_int_equal(sn.total.bytes, 600);
    assert_int_equal(sn.total.flows, 60);
    memset(&sn, 0, sizeof sn);
    tally_foreach(pend, collect, &sn);
    assert_int_equal(sn.total.flows, 60);
    tally_table_reset(pend);
    assert_int_equal(tally_table_used(pend), 0);
    tally_table_free(pend);
    tally_table_free(small);
    assert_null(tally_table_new(0));
    tally_free(t);
}

/* Many keys through a small index: every one must be found again. */
static void test_many_keys(void **state)
{
    struct tally *t = tally_new(6000);
    struct tally_table *tt;
    struct seen sn = {0};
    struct tally_key k;
    int i, round;

    for (round = 0; round < 3; round++) {
        for (i = 0; i < 5000; i++) {
            tally_key_l4(&k, (uint8_t)(i & 1 ? 6 : 17), (uint16_t)i);
            assert_int_equal(tally_add(t, &k, 0, 1, (uint64_t)i, 0), 0);
        }
    }
    tt = swap_take(t, 1);
    assert_int_equal(tally_table_used(tt), 5000);
    assert_int_equal(tally_table_overflow(tt), 0);
    tally_foreach(tt, collect, &sn);
    assert_int_equal(sn.n, 5000);
    assert_int_equal(sn.total.pkts, 15000);
    assert_int_equal(sn.total.bytes, 3ull * (4999ull * 5000ull / 2));
    assert_int_equal(sn.s[7].pkts, 3);
    assert_int_equal(sn.s[7].bytes, 21);
    tally_release(t, tt);
    tally_free(t);
}

static void test_swap(void **state)
{
    struct tally *t = tally_new(8);
    struct tally_table *a, *b;
    struct seen sn = {0}, sn2 = {0};

    /* nothing to take before a swap */
    assert_null(tally_take(t));
    tally_add_app(t, 0, "HTTP", 1, 100, 0);
    a = swap_take(t, 1000);
    assert_non_null(a);
    assert_null(tally_take(t));
    assert_int_equal(tally_table_start(a), 0);
    assert_int_equal(tally_table_end(a), 1000);
    /* the worker goes on in an empty table; the taken one does not change */
    tally_add_app(t, 0, "SSH", 2, 200, 1);
    tally_add_app(t, 0, "HTTP", 4, 400, 0);
    tally_foreach(a, collect, &sn);
    assert_int_equal(sn.n, 1);
    assert_int_equal(sn.s[0].pkts, 1);
    /* flusher still holds a: the swap is refused, counting goes on */
    assert_int_equal(tally_swap(t, 2000), -1);
    assert_int_equal(tally_swaps_busy(t), 1);
    assert_null(tally_take(t));
    tally_add_app(t, 0, "SSH", 8, 800, 0);
    tally_release(t, a);
    assert_int_equal(tally_table_used(a), 0);
    assert_int_equal(tally_table_start(a), 0);
    b = swap_take(t, 3000);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_int_equal(tally_table_start(b), 1000);
    assert_int_equal(tally_table_end(b), 3000);
    tally_foreach(b, collect, &sn2);
    assert_int_equal(sn2.n, 2);
    assert_string_equal(sn2.k[0].str, "SSH");
    assert_int_equal(sn2.s[0].pkts, 10);
    assert_int_equal(sn2.s[0].flows, 1);
    assert_string_equal(sn2.k[1].str, "HTTP");
    assert_int_equal(sn2.s[1].pkts, 4);
    /* a came back empty and is the worker's table now */
    tally_add_app(t, 0, "DNS", 1, 1, 1);
    tally_release(t, b);
    assert_ptr_equal(swap_take(t, 4000), a);
    assert_int_equal(tally_table_used(a), 1);
    tally_release(t, a);
    tally_free(t);
}

static void test_swap_request(void **state)
{
    struct tally *t = tally_new(8);
    const atomic_int *want = tally_swap_flag(t);

    assert_false(atomic_load(want));
    tally_request_swap(t);
    assert_true(atomic_load(want));
    assert_int_equal(tally_swap(t, 1), 0);
    assert_false(atomic_load(want));
    tally_free(t);
}

static void test_memsize(void **state)
{
    struct tally *t = tally_new(0);

    assert_non_null(t);
    /* two tables, each at least its entries; and not absurdly more */
    assert_true(tally_memsize(t) > 2 * TALLY_DEFAULT_CAPACITY * sizeof(struct tally_key));
    assert_true(tally_memsize(t) < 2 * TALLY_DEFAULT_CAPACITY * 256);
    tally_free(t);
    assert_null(tally_new(UINT32_MAX));
}

/* A worker thread counting and swapping against a flusher thread draining:
 * every count arrives exactly once. */
#define THR_KEYS 50
#define THR_ADDS 200000
struct thr {
    struct tally *t;
    atomic_int done;
    struct tally_sums got;
    uint64_t tables;
};

static void sum_cb(const struct tally_key *k, const struct tally_sums *s, void *arg)
{
    struct tally_sums *g = arg;

    g->pkts += s->pkts;
    g->bytes += s->bytes;
    g->flows += s->flows;
}

static void *flusher(void *arg)
{
    struct thr *th = arg;
    struct tally_table *tt;
    int d;

    for (;;) {
        d = atomic_load(&th->done);
        tt = tally_take(th->t);
        if (tt) {
            tally_foreach(tt, sum_cb, &th->got);
            th->tables++;
            tally_release(th->t, tt);
            continue;
        }
        if (d)
            return NULL;
        sched_yield();
    }
}

static void test_threads(void **state)
{
    struct thr th = {0};
    pthread_t tid;
    char name[16];
    uint64_t i, bytes = 0;

    th.t = tally_new(THR_KEYS);
    atomic_init(&th.done, 0);
    assert_int_equal(pthread_create(&tid, NULL, flusher, &th), 0);
    for (i = 0; i < THR_ADDS; i++) {
        snprintf(name, sizeof name, "p%u", (unsigned)(i % (THR_KEYS + 3)));
        tally_add_app(th.t, 0, name, 1, i & 0xff, (i & 7) == 0);
        if (i % 1000 == 999)
            tally_swap(th.t, i);
    }
    while (tally_swap(th.t, i) != 0)
        sched_yield();
    atomic_store(&th.done, 1);
    assert_int_equal(pthread_join(tid, NULL), 0);
    assert_int_equal(th.got.pkts, THR_ADDS);
    assert_int_equal(th.got.flows, THR_ADDS / 8);
    for (i = 0; i < THR_ADDS; i++)
        bytes += i & 0xff;
    assert_int_equal(th.got.bytes, bytes);
    assert_true(th.tables >= 1);
    print_message("      %llu tables flushed, %llu swaps refused\n",
                  (unsigned long long)th.tables, (unsigned long long)tally_swaps_busy(th.t));
    tally_free(th.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_accumulates),
        cmocka_unit_test(test_app_names),
        cmocka_unit_test(test_kinds_are_distinct),
        cmocka_unit_test(test_capacity_overflow),
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_flow_cache),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_swap),
        cmocka_unit_test(test_swap_request),
        cmocka_unit_test(test_memsize),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
