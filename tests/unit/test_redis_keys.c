/* test_redis_keys.c - the key names of docs/redis.md, as built by
 * sensor/redis/redis-keys.c for the sensor and the console alike. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "redis-keys.h"

static const struct rkeys RK = { .prefix = "lw", .sensor = "dc1" };

static void test_bucket_keys(void **state)
{
    char k[RKEY_MAX];

    (void)state;
    assert_int_equal(rkey_bucket(k, sizeof k, &RK, "dc1", 'm', 1735693020, "app", "bytes"),
                     strlen("lw:{dc1:m:1735693020}:app:bytes"));
    assert_string_equal(k, "lw:{dc1:m:1735693020}:app:bytes");
    rkey_bucket(k, sizeof k, &RK, "all", 'h', 1735689600, "health", NULL);
    assert_string_equal(k, "lw:{all:h:1735689600}:health");
}

static void test_named_keys(void **state)
{
    static const char *const want[][2] = {
        { "alerts", "lw:{alerts}" }, { "alerts-seq", "lw:{alerts}:seq" },
        { "triage", "lw:{alerts}:triage" }, { "channel", "lw:alerts" }, { "flows", "lw:flows" },
        { "sensor", "lw:{dc1}:sensor" }, { "sensors", "lw:sensors" },
    };
    char k[RKEY_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(rkey_named(k, sizeof k, &RK, want[i][0]), strlen(want[i][1]));
        assert_string_equal(k, want[i][1]);
    }
    rkey_sensor(k, sizeof k, &RK, "edge-2");
    assert_string_equal(k, "lw:{edge-2}:sensor");
    rkey_history(k, sizeof k, &RK, "1718000000000-3");
    assert_string_equal(k, "lw:{alerts}:history:1718000000000-3");
}

/* A per-sensor alert shard: every key of the stream's slot carries the
 * shard's tag, so one slot holds the stream, its seq, triage, history and
 * indexes; the names outside the slot do not change. */
static void test_shard_keys(void **state)
{
    static const char *const want[][2] = {
        { "alerts", "lw:{alerts:dc1}" }, { "alerts-seq", "lw:{alerts:dc1}:seq" },
        { "triage", "lw:{alerts:dc1}:triage" }, { "channel", "lw:alerts" }, { "flows", "lw:{flows:dc1}" },
        { "shards", "lw:alert-shards" }, { "sensor", "lw:{dc1}:sensor" }, { "sensors", "lw:sensors" },
    };
    struct rkeys rk = RK;
    char k[RKEY_MAX];
    struct lw_addr a;

    (void)state;
    rk.shard = "dc1";
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(rkey_named(k, sizeof k, &rk, want[i][0]), strlen(want[i][1]));
        assert_string_equal(k, want[i][1]);
    }
    rkey_history(k, sizeof k, &rk, "1718000000000-3");
    assert_string_equal(k, "lw:{alerts:dc1}:history:1718000000000-3");
    rkey_ix(k, sizeof k, &rk, "sid", "2000001");
    assert_string_equal(k, "lw:{alerts:dc1}:ix:sid:2000001");
    rkey_ix_status(k, sizeof k, &rk, "closed");
    assert_string_equal(k, "lw:{alerts:dc1}:ix:status:closed");
    lw_addr_set4(&a, (const uint8_t[]){ 10, 1, 3, 5 });
    rkey_ix_net(k, sizeof k, &rk, "src", &a);
    assert_string_equal(k, "lw:{alerts:dc1}:ix:srcnet:10.1.3.0/24");
    rkey_ix_group(k, sizeof k, &rk, "1|a|b", 5);
    assert_memory_equal(k, "lw:{alerts:dc1}:ix:grp:", strlen("lw:{alerts:dc1}:ix:grp:"));
    /* An empty shard is the shared stream. */
    rk.shard = "";
    rkey_named(k, sizeof k, &rk, "alerts");
    assert_string_equal(k, "lw:{alerts}");
    rkey_ix(k, sizeof k, &rk, "words", NULL);
    assert_string_equal(k, "lw:{alerts}:ix:words");
}

/* A name longer than the buffer is cut, NUL-terminated, and its length is
 * what was written. */
static void test_cut(void **state)
{
    char k[8];

    (void)state;
    assert_int_equal(rkey_named(k, sizeof k, &RK, "alerts-seq"), 7);
    assert_string_equal(k, "lw:{ale");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_keys),
        cmocka_unit_test(test_named_keys),
        cmocka_unit_test(test_shard_keys),
        cmocka_unit_test(test_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
