/* test_alert_index.c - what an alert is filed under (sensor/redis/
 * alert-index.c): the index lists, group, time and signature terms taken
 * from EVE alert lines, near misses that must not be indexed, and the
 * encoding of stream ids in the lists. Without a server: the scripts that
 * use these are run against a real Redis by tests/integration/
 * test_console_index.py. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "alert-index.h"

static const struct rkeys RK = { .prefix = "lw", .sensor = "dc1" };

static const char EVE4[] =
    "{\"timestamp\":\"2024-06-10T06:13:20.000123+0000\",\"flow_id\":1,\"event_type\":\"alert\","
    "\"src_ip\":\"10.1.3.4\",\"src_port\":4000,\"dest_ip\":\"81.2.69.7\",\"dest_port\":443,"
    "\"proto\":\"TCP\",\"app_proto\":\"TLS\",\"alert\":{\"signature_id\":2000001,\"rev\":1,"
    "\"signature\":\"ET SCAN Odd \\\"probe\\\"\",\"severity\":2},\"ndpi\":{\"protocol\":\"TLS.YouTube\"},"
    "\"geo\":{\"src\":{\"country\":\"CN\"},\"dest\":{\"country\":\"US\"},\"scope\":\"cross-border-outbound\"}}";

static int has_list(const struct aix_terms *t, const char *key)
{
    for (size_t i = 0; i < t->nlists; i++)
        if (strcmp(t->lists[i], key) == 0)
            return 1;
    return 0;
}

static void test_terms_ipv4(void **state)
{
    struct aix_terms t;
    char scratch[sizeof EVE4 + 32], gkey[RKEY_MAX];
    static const char *const want[] = {
        "lw:{alerts}:ix:sid:2000001", "lw:{alerts}:ix:sev:2", "lw:{alerts}:ix:sensor:dc1",
        "lw:{alerts}:ix:src:10.1.3.4", "lw:{alerts}:ix:srcnet:10.1.3.0/24",
        "lw:{alerts}:ix:dst:81.2.69.7", "lw:{alerts}:ix:dstnet:81.2.69.0/24",
        "lw:{alerts}:ix:cc:CN", "lw:{alerts}:ix:cc:US", "lw:{alerts}:ix:scope:cross-border-outbound",
        "lw:{alerts}:ix:proto:tls", "lw:{alerts}:ix:proto:tls.youtube",
    };

    (void)state;
    assert_int_equal(aix_terms(EVE4, strlen(EVE4), "dc1", &RK, &t, scratch, sizeof scratch), 0);
    assert_string_equal(t.lists[0], "lw:{alerts}:ix:sid:2000001");
    assert_int_equal(t.nlists, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_true(has_list(&t, want[i]));
    assert_string_equal(t.sid, "2000001");
    assert_string_equal(t.usec, "1718000000000123");
    assert_string_equal(t.minute, "28633333");
    assert_string_equal(t.gfield, "2000001|10.1.3.4|81.2.69.7");
    rkey_ix_group(gkey, sizeof gkey, &RK, t.gfield, strlen(t.gfield));
    assert_string_equal(t.gkey, gkey);
    assert_true(strncmp(gkey, "lw:{alerts}:ix:grp:", 19) == 0);
    assert_true(atoi(gkey + 19) < RKEY_GROUP_BUCKETS);
    assert_int_equal(t.msglen, strlen("2 ET SCAN Odd \"probe\""));
    assert_memory_equal(t.msg, "2 ET SCAN Odd \"probe\"", t.msglen);
    /* the arguments the scripts read: minute, usec, group key and field,
     * sid, message, then the lists */
    assert_int_equal(aix_nargs(&t), 6 + t.nlists);
}

static void test_terms_ipv6_and_dedup(void **state)
{
    static const char js[] =
        "{\"src_ip\":\"2001:DB8:0:1:0:0:0:5\",\"dest_ip\":\"2001:db8::1:0:0:9\",\"app_proto\":\"dns\","
        "\"ndpi\":{\"protocol\":\"DNS\"},\"alert\":{\"signature_id\":7,\"severity\":1},"
        "\"geo\":{\"src\":{\"country\":\"SE\"},\"dest\":{\"country\":\"SE\"},\"scope\":\"domestic\"}}";
    struct aix_terms t;
    char scratch[sizeof js + 32];

    (void)state;
    assert_int_equal(aix_terms(js, strlen(js), "dc1", &RK, &t, scratch, sizeof scratch), 0);
    /* addresses as inet_ntop writes them, and their /64s */
    assert_true(has_list(&t, "lw:{alerts}:ix:src:2001:db8:0:1::5"));
    assert_true(has_list(&t, "lw:{alerts}:ix:srcnet:2001:db8:0:1::/64"));
    assert_true(has_list(&t, "lw:{alerts}:ix:dst:2001:db8::1:0:0:9"));
    assert_true(has_list(&t, "lw:{alerts}:ix:dstnet:2001:db8::/64"));
    /* one list for a country at both ends, one for app_proto = nDPI */
    assert_true(has_list(&t, "lw:{alerts}:ix:cc:SE"));
    assert_true(has_list(&t, "lw:{alerts}:ix:proto:dns"));
    assert_true(has_list(&t, "lw:{alerts}:ix:scope:domestic"));
    assert_int_equal(t.nlists, 10);
    /* no signature: no message; no timestamp: no time */
    assert_null(t.msg);
    assert_string_equal(t.minute, "");
    assert_string_equal(t.usec, "");
}

/* Values no filter can ask for are not indexed; a line that is no alert at
 * all still has its sid list ("0") and sensor. */
static void test_near_misses(void **state)
{
    static const char js[] =
        "{\"timestamp\":\"2024-06-10 06:13:20\",\"src_ip\":\"10.1.3.256\",\"dest_ip\":\"host\","
        "\"app_proto\":\"t l s\",\"alert\":{\"signature_id\":\"9\",\"severity\":-1,\"signature\":7},"
        "\"geo\":{\"src\":{\"country\":\"USA\"},\"dest\":{\"country\":\"u\"},\"scope\":1}}";
    struct aix_terms t;
    char scratch[sizeof js + 32];

    (void)state;
    assert_int_equal(aix_terms(js, strlen(js), NULL, &RK, &t, scratch, sizeof scratch), 0);
    assert_int_equal(t.nlists, 1);
    assert_string_equal(t.lists[0], "lw:{alerts}:ix:sid:0");
    assert_string_equal(t.minute, "");
    assert_null(t.msg);
    assert_string_equal(t.gfield, "0|10.1.3.256|host");
    assert_int_equal(aix_terms("not json", 8, "dc1", &RK, &t, scratch, sizeof scratch), 0);
    assert_int_equal(t.nlists, 2);
    assert_string_equal(t.gfield, "0||");
    /* the scratch must hold the signature */
    assert_int_equal(aix_terms(EVE4, strlen(EVE4), "dc1", &RK, &t, scratch, 16), -1);
}

static void test_id_codec(void **state)
{
    char id[48];

    (void)state;
    assert_int_equal(aix_id_decode("1718000000000007", 16, id, sizeof id), 0);
    assert_string_equal(id, "1718000000000-7");
    assert_int_equal(aix_id_decode("1718000000000999", 16, id, sizeof id), 0);
    assert_string_equal(id, "1718000000000-999");
    assert_int_equal(aix_id_decode("1718000000000-1000", 18, id, sizeof id), 0);
    assert_string_equal(id, "1718000000000-1000");
    assert_int_equal(aix_id_decode("0005", 4, id, sizeof id), 0);
    assert_string_equal(id, "0-5");
    assert_int_equal(aix_id_decode("005", 3, id, sizeof id), -1);
    assert_int_equal(aix_id_decode("17180000x0007", 13, id, sizeof id), -1);
    assert_int_equal(aix_id_decode("1-2-3", 5, id, sizeof id), -1);
    assert_int_equal(aix_id_decode("", 0, id, sizeof id), -1);
    assert_true(aix_id_cmp("1718000000000-9", "1718000000000-10") < 0);
    assert_true(aix_id_cmp("1718000000001-0", "1718000000000-10") > 0);
    assert_int_equal(aix_id_cmp("5-5", "5-5"), 0);
}

static void test_fixed_keys(void **state)
{
    char keys[AIX_NKEYS][RKEY_MAX];

    (void)state;
    aix_fixed_keys(&RK, keys);
    assert_string_equal(keys[0], "lw:{alerts}");
    assert_string_equal(keys[1], "lw:{alerts}:seq");
    assert_string_equal(keys[2], "lw:{alerts}:ix:meta");
    assert_string_equal(keys[3], "lw:{alerts}:ix:lock");
    assert_string_equal(keys[7], "lw:{alerts}:ix:time");
    assert_string_equal(keys[8], "lw:{alerts}:ix:status:acknowledged");
    assert_string_equal(keys[10], "lw:{alerts}:ix:status:closed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terms_ipv4),
        cmocka_unit_test(test_terms_ipv6_and_dedup),
        cmocka_unit_test(test_near_misses),
        cmocka_unit_test(test_id_codec),
        cmocka_unit_test(test_fixed_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
