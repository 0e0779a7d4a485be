/* test_redis_cmd.c - the key layout and the commands built from tally
 * tables (sensor/redis/redis-cmd.c), without a server. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis-cmd.h"
#include "tally.h"
#include "pii-t.h"
#include "util.h"

#define T0 1735693050000000ull       /* 2025-01-01T00:57:30Z */
#define M0 1735693020ull             /* its minute */
#define H0 1735689600ull             /* its hour */

static const struct rkeys RK = {
    .prefix = "lw", .sensor = "dc1", .ttl_minute = 172800, .ttl_hour = 2592000,
    .top_k = 3, .merged = 1,
};

static const char *arg(const struct rbatch *b, size_t c, size_t i)
{
    size_t len;

    assert_true(c < b->ncmds);
    assert_true(i < b->cmds[c].nargs);
    return rbatch_argp(b, &b->cmds[c], i, &len);
}

/* The command whose KEYS[1] is key, or fails. */
static size_t find_cmd(const struct rbatch *b, const char *key)
{
    for (size_t c = 0; c < b->ncmds; c++)
        if (b->cmds[c].nargs > 3 && strcmp(arg(b, c, 3), key) == 0)
            return c;
    fail_msg("no command for %s", key);
    return 0;
}

/* member -> value of a tally command, or -1. */
static long long member(const struct rbatch *b, size_t c, const char *m)
{
    for (size_t i = 10; i + 1 < b->cmds[c].nargs; i += 2)
        if (strcmp(arg(b, c, i), m) == 0)
            return atoll(arg(b, c, i + 1));
    return -1;
}

static struct tally_table *taken(struct tally *t)
{
    assert_int_equal(tally_swap(t, 1), 0);
    return tally_take(t);
}

static void test_tally_commands(void **state)
{
    struct tally *t = tally_new(256);
    struct tally_table *tt;
    struct rbatch b;
    struct tally_key k;
    struct lw_addr a, c6;
    size_t c;

    rbatch_init(&b);
    tally_add_app(t, T0, "DNS", 2, 150, 1);
    tally_add_app(t, T0 + 60000000u, "DNS", 1, 50, 0);          /* next minute, same hour */
    tally_add_app(t, T0 + 3 * 60000000u, "DNS", 1, 10, 0);      /* next hour */
    tally_key_l4(&k, 6, 443);
    tally_add(t, &k, T0, 3, 300, 1);
    tally_key_l4(&k, 1, 0);
    tally_add(t, &k, T0, 1, 84, 0);
    lw_addr_parse("10.0.0.1", &a);
    lw_addr_parse("2001:db8::1", &c6);
    tally_key_host(&k, TALLY_SRC_HOST, &a);
    tally_add(t, &k, T0, 5, 500, 2);
    tally_key_host(&k, TALLY_DST_HOST, &c6);
    tally_add(t, &k, T0, 5, 500, 0);
    tally_add_alert(t, T0, 2000001, 1);
    tally_add_alert(t, T0, 2000002, 1);
    tally_add_country(t, T0, "CN", "US", GEO_SCOPE_OUTBOUND, 1, 60, 1);
    tally_packet(t, T0, 60);
    tally_add_name(t, T0, TALLY_HTTP_HOST, (const uint8_t *)"www.example.com", 15);
    tally_add_name(t, T0, TALLY_HTTP_HOST, (const uint8_t *)"www.example.com", 15);
    tally_add_name(t, T0, TALLY_DNS_QUERY, (const uint8_t *)"Example.ORG", 11);
    tally_add_name(t, T0, TALLY_TLS_SNI, (const uint8_t *)"api.example.net", 15);
    {
        const struct pii_counts up = { { 12, 2, 0, 3, 0 } }, down = { { 1, 0, 0, 0, 0 } }, none = { { 0 } };

        tally_add_pii(t, T0, "CN", "US", &up);
        tally_add_pii(t, T0, "CN", "US", &up);
        tally_add_pii(t, T0, "US", "CN", &down);
        tally_add_pii(t, T0, "CN", "", &none);        /* nothing: no key at all */
    }
    tt = taken(t);
    assert_true(rcmd_tallies(&b, &RK, "SHA", tt, 42) > 0);
    assert_false(b.oom);

    /* EVALSHA sha 2 key applied field fid ttl mode K members... */
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:app:bytes");
    assert_string_equal(arg(&b, c, 0), "EVALSHA");
    assert_string_equal(arg(&b, c, 1), "SHA");
    assert_string_equal(arg(&b, c, 2), "2");
    assert_string_equal(arg(&b, c, 4), "lw:{dc1:m:1735693020}:applied");
    assert_string_equal(arg(&b, c, 5), "app:bytes");
    assert_string_equal(arg(&b, c, 6), "42");
    assert_string_equal(arg(&b, c, 7), "172800");
    assert_string_equal(arg(&b, c, 8), "h");
    assert_int_equal(b.cmds[c].kind, RC_TALLY);
    assert_int_equal(member(&b, c, "DNS"), 150);
    /* the hour sums its minutes: one member, added once */
    c = find_cmd(&b, "lw:{dc1:h:1735689600}:app:bytes");
    assert_string_equal(arg(&b, c, 7), "2592000");
    assert_int_equal(b.cmds[c].nargs, 12);
    assert_int_equal(member(&b, c, "DNS"), 200);
    c = find_cmd(&b, "lw:{dc1:h:1735693200}:app:pkts");
    assert_int_equal(member(&b, c, "DNS"), 1);
    /* a zero metric writes nothing */
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:app:flows");
    assert_int_equal(member(&b, c, "DNS"), 1);
    for (size_t i = 0; i < b.ncmds; i++)
        assert_string_not_equal(arg(&b, i, 3), "lw:{dc1:m:1735693080}:app:flows");

    c = find_cmd(&b, "lw:{dc1:m:1735693020}:l4:bytes");
    assert_int_equal(member(&b, c, "tcp/443"), 300);
    assert_int_equal(member(&b, c, "icmp"), 84);
    /* hosts are sorted sets with top-K */
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:src:flows");
    assert_string_equal(arg(&b, c, 8), "z");
    assert_string_equal(arg(&b, c, 9), "3");
    assert_int_equal(member(&b, c, "10.0.0.1"), 2);
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:dst:bytes");
    assert_int_equal(member(&b, c, "2001:db8::1"), 500);
    /* transaction names: top-K sets without a metric part, scored by count */
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:http_host");
    assert_string_equal(arg(&b, c, 5), "http_host");
    assert_string_equal(arg(&b, c, 8), "z");
    assert_int_equal(member(&b, c, "www.example.com"), 2);
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:dns_query");
    assert_int_equal(member(&b, c, "example.org"), 1);
    c = find_cmd(&b, "lw:{all:h:1735689600}:tls_sni");
    assert_int_equal(member(&b, c, "api.example.net"), 1);
    /* personal data: a hash per type and one for bodies, by the countries
     * the bodies went from and to; zero counts write nothing */
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:pii:cn-id");
    assert_string_equal(arg(&b, c, 5), "pii:cn-id");
    assert_string_equal(arg(&b, c, 8), "h");
    assert_int_equal(member(&b, c, "CN>US"), 24);
    assert_int_equal(member(&b, c, "US>CN"), 1);
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:pii:bank-card");
    assert_int_equal(member(&b, c, "CN>US"), 4);
    c = find_cmd(&b, "lw:{all:h:1735689600}:pii:email");
    assert_int_equal(member(&b, c, "CN>US"), 6);
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:pii:bodies");
    assert_int_equal(member(&b, c, "CN>US"), 2);
    assert_int_equal(member(&b, c, "US>CN"), 1);
    assert_int_equal(member(&b, c, "CN>--"), -1);
    for (size_t i = 0; i < b.ncmds; i++)
        assert_string_not_equal(arg(&b, i, 3), "lw:{dc1:m:1735693020}:pii:cn-mobile");

    /* alerts by sid and severity; severity sums both signatures */
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:alerts:sid");
    assert_int_equal(member(&b, c, "2000001"), 1);
    assert_int_equal(member(&b, c, "2000002"), 1);
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:alerts:severity");
    assert_int_equal(member(&b, c, "1"), 2);
    /* country pair and direction */
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:cc:bytes");
    assert_int_equal(member(&b, c, "CN>US"), 60);
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:dir:flows");
    assert_int_equal(member(&b, c, "cross-border-outbound"), 1);
    /* health: one hash, this sensor only */
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:health");
    assert_string_equal(arg(&b, c, 5), "health");
    assert_int_equal(member(&b, c, "pkts"), 1);
    assert_int_equal(member(&b, c, "bytes"), 60);
    assert_int_equal(member(&b, c, "alerts"), 2);
    for (size_t i = 0; i < b.ncmds; i++)
        assert_null(strstr(arg(&b, i, 3), "{all:m:1735693020}:health"));
    /* the merged view: same members, the sensor in the marker field */
    c = find_cmd(&b, "lw:{all:m:1735693020}:app:bytes");
    assert_string_equal(arg(&b, c, 4), "lw:{all:m:1735693020}:applied");
    assert_string_equal(arg(&b, c, 5), "dc1:app:bytes");
    assert_int_equal(member(&b, c, "DNS"), 150);

    tally_release(t, tt);
    rbatch_free(&b);
    tally_free(t);
}

static void test_no_merged_view(void **state)
{
    struct rkeys rk = RK;
    struct tally *t = tally_new(64);
    struct tally_table *tt;
    struct rbatch b;

    rk.merged = 0;
    rbatch_init(&b);
    tally_add_app(t, T0, "DNS", 1, 1, 1);
    tt = taken(t);
    /* bytes, pkts, flows; minute and hour */
    assert_int_equal(rcmd_tallies(&b, &rk, "SHA", tt, 1), 6);
    for (size_t i = 0; i < b.ncmds; i++)
        assert_null(strstr(arg(&b, i, 3), "{all:"));
    tally_release(t, tt);
    /* an empty table sends nothing */
    tt = taken(t);
    assert_int_equal(rcmd_tallies(&b, &rk, "SHA", tt, 2), 0);
    tally_release(t, tt);
    rbatch_free(&b);
    tally_free(t);
}

static void test_other_and_gauge(void **state)
{
    struct tally *t = tally_new(4);          /* 3 keys + reserve */
    struct tally_table *tt;
    struct rbatch b;
    char name[8];
    size_t c;

    rbatch_init(&b);
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "a%d", i);
        tally_add_app(t, T0, name, 1, 10, 0);
    }
    tt = taken(t);
    rcmd_tallies(&b, &RK, "SHA", tt, 7);
    c = find_cmd(&b, "lw:{dc1:m:1735693020}:app:pkts");
    assert_int_equal(member(&b, c, "other"), 2);
    assert_int_equal(member(&b, c, "a0"), 1);
    tally_release(t, tt);

    rbatch_reset(&b);
    rcmd_gauge(&b, &RK, "SHA", (uint32_t)(T0 / 60000000u), "flows_active", 17, 8);
    assert_int_equal(b.ncmds, 2);
    assert_string_equal(arg(&b, 0, 3), "lw:{dc1:m:1735693020}:health");
    assert_string_equal(arg(&b, 0, 5), "health:set");
    assert_string_equal(arg(&b, 0, 8), "s");
    assert_string_equal(arg(&b, 0, 10), "flows_active");
    assert_string_equal(arg(&b, 0, 11), "17");
    assert_string_equal(arg(&b, 1, 3), "lw:{dc1:h:1735689600}:health");
    rbatch_free(&b);
    tally_free(t);
}

/* A host set with more than K members in a flush: exactly the K largest
 * are sent, to minute and hour keys of both scopes. */
static void test_top_k(void **state)
{
    struct tally *t = tally_new(4096);
    struct tally_table *tt;
    struct rbatch b;
    struct tally_key k;
    struct lw_addr a;
    uint64_t vals[300];
    char ip[32];

    rbatch_init(&b);
    srand(7);
    for (int round = 0; round < 20; round++) {
        size_t n = 1 + (size_t)(rand() % 300), c;
        uint32_t kk = 1 + (uint32_t)(rand() % 12);
        struct rkeys rk = RK;
        uint64_t sorted[300], kth;

        rk.top_k = kk;
        for (size_t i = 0; i < n; i++) {
            snprintf(ip, sizeof ip, "10.0.%zu.%zu", i / 250, i % 250);
            lw_addr_parse(ip, &a);
            tally_key_host(&k, TALLY_SRC_HOST, &a);
            vals[i] = 1 + (uint64_t)(rand() % (round < 10 ? 20 : 100000));   /* ties, then few */
            tally_add(t, &k, T0, 1, vals[i], 1);
            sorted[i] = vals[i];
        }
        for (size_t i = 0; i < n; i++)          /* descending, by insertion */
            for (size_t j = i; j > 0 && sorted[j] > sorted[j - 1]; j--) {
                uint64_t x = sorted[j];
                sorted[j] = sorted[j - 1];
                sorted[j - 1] = x;
            }
        tt = taken(t);
        rbatch_reset(&b);
        rcmd_tallies(&b, &rk, "SHA", tt, 1);
        for (int scope = 0; scope < 2; scope++) {
            for (int hour = 0; hour < 2; hour++) {
                char key[RKEY_MAX];
                size_t want = n < kk ? n : kk;
                uint64_t sum = 0, wsum = 0;

                rkey_bucket(key, sizeof key, &rk, scope ? "all" : "dc1", hour ? 'h' : 'm',
                            hour ? H0 : M0, "src", "bytes");
                c = find_cmd(&b, key);
                assert_int_equal((b.cmds[c].nargs - 10) / 2, want);
                kth = sorted[want - 1];
                for (size_t i = 10; i < b.cmds[c].nargs; i += 2) {
                    uint64_t v = (uint64_t)atoll(arg(&b, c, i + 1));
                    assert_true(v >= kth);
                    sum += v;
                }
                for (size_t i = 0; i < want; i++)
                    wsum += sorted[i];
                assert_int_equal(sum, wsum);
            }
        }
        tally_release(t, tt);
    }
    rbatch_free(&b);
    tally_free(t);
}

static void test_alert_commands(void **state)
{
    struct ralert a[5];
    struct rbatch b, copy;
    char lines[5][16];

    for (int i = 0; i < 5; i++) {
        snprintf(lines[i], sizeof lines[i], "{\"n\":%d}", i);
        a[i] = (struct ralert){ 100 + (uint64_t)i, lines[i], strlen(lines[i]) };
    }
    rbatch_init(&b);
    rcmd_alerts(&b, &RK, "ASHA", 1000, a, 5, 10, 2);
    assert_int_equal(b.ncmds, 3);
    assert_int_equal(b.cmds[0].kind, RC_ALERT);
    assert_int_equal(b.cmds[0].rec0, 10);
    assert_int_equal(b.cmds[0].nrec, 2);
    assert_int_equal(b.cmds[2].rec0, 14);
    assert_int_equal(b.cmds[2].nrec, 1);
    assert_string_equal(arg(&b, 0, 1), "ASHA");
    /* the stream, its sequence hash, then the index's fixed keys (alert-index.h) */
    assert_string_equal(arg(&b, 0, 2), "11");
    assert_string_equal(arg(&b, 0, 3), "lw:{alerts}");
    assert_string_equal(arg(&b, 0, 4), "lw:{alerts}:seq");
    assert_string_equal(arg(&b, 0, 5), "lw:{alerts}:ix:meta");
    assert_string_equal(arg(&b, 0, 13), "lw:{alerts}:ix:status:closed");
    assert_string_equal(arg(&b, 0, 14), "dc1");
    assert_string_equal(arg(&b, 0, 15), "1000");
    assert_string_equal(arg(&b, 0, 16), "lw:alerts");
    /* per alert: seq, event, the count of its index arguments, those */
    assert_string_equal(arg(&b, 0, 17), "100");
    assert_string_equal(arg(&b, 0, 18), "{\"n\":0}");
    assert_string_equal(arg(&b, 0, 19), "8");
    assert_string_equal(arg(&b, 0, 21), "");                 /* no capture time */
    assert_string_equal(arg(&b, 0, 23), "0||");              /* group: no sid, no ends */
    assert_string_equal(arg(&b, 0, 25), "");                 /* no signature */
    assert_string_equal(arg(&b, 0, 26), "lw:{alerts}:ix:sid:0");
    assert_string_equal(arg(&b, 0, 27), "lw:{alerts}:ix:sensor:dc1");
    assert_string_equal(arg(&b, 0, 28), "101");
    assert_string_equal(arg(&b, 1, 17), "102");
    assert_int_equal(b.cmds[1].nargs, 17 + 2 * 11);
    /* a copy keeps the bytes and the records */
    rbatch_init(&copy);
    rbatch_copy(&copy, &b, 2);
    rbatch_free(&b);
    assert_int_equal(copy.ncmds, 1);
    assert_int_equal(copy.cmds[0].rec0, 14);
    assert_string_equal(arg(&copy, 0, 18), "{\"n\":4}");
    rbatch_free(&copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tally_commands),
        cmocka_unit_test(test_no_merged_view),
        cmocka_unit_test(test_other_and_gauge),
        cmocka_unit_test(test_top_k),
        cmocka_unit_test(test_alert_commands),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
