/* test_json.c - unit tests for the JSON encoder (sensor/common/json.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "json.h"

/* Feeds text to python3's strict JSON parser (input decoded as strict
 * UTF-8). With check_pairs, the document must be an array of
 * [hex-of-raw-bytes, string] pairs, and every string must decode to the raw
 * bytes read as UTF-8 with each invalid byte taken as Latin-1. Returns the
 * exit status (0 when it parses and, if asked, every pair matches). */
static int python_check(const char *text, size_t len, int check_pairs)
{
    static const char plain[] =
        "python3 -c 'import json,sys; json.loads(sys.stdin.buffer.read().decode(\"utf-8\"))' 2>/dev/null";
    static const char pairs[] =
        "python3 -c '\n"
        "import codecs, json, sys\n"
        "codecs.register_error(\"l1\", lambda e: (e.object[e.start:e.start+1].decode(\"latin-1\"), e.start+1))\n"
        "doc = json.loads(sys.stdin.buffer.read().decode(\"utf-8\"))\n"
        "bad = [p for p in doc if bytes.fromhex(p[0]).decode(\"utf-8\", \"l1\") != p[1]]\n"
        "sys.exit(1 if bad else 0)' 2>/dev/null";
    FILE *f = popen(check_pairs ? pairs : plain, "w");
    int st;

    if (f == NULL)
        return -1;
    fwrite(text, 1, len, f);
    st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_nesting_commas(void **state)
{
    struct jbuf j;

    jbuf_init(&j);
    jbuf_open_object(&j, NULL);
    jbuf_u64(&j, "a", 1);
    jbuf_open_array(&j, "b");
    jbuf_u64(&j, NULL, 1);
    jbuf_u64(&j, NULL, 2);
    jbuf_open_object(&j, NULL);
    jbuf_null(&j, "c");
    jbuf_close_object(&j);
    jbuf_open_array(&j, NULL);
    jbuf_close_array(&j);
    jbuf_close_array(&j);
    jbuf_open_object(&j, "d");
    jbuf_close_object(&j);
    jbuf_bool(&j, "t", 1);
    jbuf_bool(&j, "f", 0);
    jbuf_raw(&j, "r", "{\"x\":[1]}", 9);
    jbuf_str(&j, "s", "v");
    jbuf_str(&j, "n", NULL);
    jbuf_close_object(&j);
    assert_true(jbuf_ok(&j));
    assert_string_equal(j.buf, "{\"a\":1,\"b\":[1,2,{\"c\":null},[]],\"d\":{},"
                               "\"t\":true,\"f\":false,\"r\":{\"x\":[1]},\"s\":\"v\",\"n\":null}");
    assert_int_equal(j.len, strlen(j.buf));
    assert_int_equal(j.depth, 0);
    assert_int_equal(python_check(j.buf, j.len, 0), 0);

    /* reset keeps the allocation and starts a fresh document */
    char *old = j.buf;
    jbuf_reset(&j);
    assert_int_equal(j.len, 0);
    assert_ptr_equal(j.buf, old);
    jbuf_open_array(&j, NULL);
    jbuf_str(&j, NULL, "x");
    jbuf_close_array(&j);
    assert_string_equal(j.buf, "[\"x\"]");
    jbuf_free(&j);
    assert_null(j.buf);
}

static void test_misuse_latches(void **state)
{
    struct jbuf j;

    jbuf_init(&j);
    for (int i = 0; i < JBUF_MAX_DEPTH; i++)
        jbuf_open_array(&j, NULL);
    assert_true(jbuf_ok(&j));
    assert_int_equal(j.depth, JBUF_MAX_DEPTH);
    jbuf_open_array(&j, NULL);
    assert_false(jbuf_ok(&j));
    size_t len = j.len;
    jbuf_u64(&j, NULL, 5);             /* ignored once failed */
    jbuf_close_array(&j);
    assert_int_equal(j.len, len);
    assert_false(jbuf_ok(&j));

    jbuf_reset(&j);
    assert_true(jbuf_ok(&j));
    jbuf_open_object(&j, NULL);
    jbuf_u64(&j, NULL, 1);             /* object member without a key */
    assert_false(jbuf_ok(&j));

    jbuf_reset(&j);
    jbuf_open_object(&j, NULL);
    jbuf_close_array(&j);              /* wrong closer */
    assert_false(jbuf_ok(&j));

    jbuf_reset(&j);
    jbuf_close_object(&j);             /* nothing open */
    assert_false(jbuf_ok(&j));

    /* exactly JBUF_MAX_DEPTH levels is fine and closes cleanly */
    jbuf_reset(&j);
    for (int i = 0; i < JBUF_MAX_DEPTH; i++)
        jbuf_open_object(&j, i ? "k" : NULL);
    for (int i = 0; i < JBUF_MAX_DEPTH; i++)
        jbuf_close_object(&j);
    assert_true(jbuf_ok(&j));
    assert_int_equal(python_check(j.buf, j.len, 0), 0);
    jbuf_free(&j);
}

/* Encodes n raw bytes as one array element and compares with want. */
static void check_str(const char *raw, size_t n, const char *want)
{
    struct jbuf j;

    jbuf_init(&j);
    jbuf_open_array(&j, NULL);
    jbuf_strn(&j, NULL, (const uint8_t *)raw, n);
    jbuf_close_array(&j);
    assert_true(jbuf_ok(&j));
    assert_string_equal(j.buf, want);
    assert_int_equal(python_check(j.buf, j.len, 0), 0);
    jbuf_free(&j);
}

#define CHECK_STR(lit, want) check_str(lit, sizeof(lit) - 1, want)

static void test_escapes(void **state)
{
    CHECK_STR("\"\\/\b\f\n\r\t", "[\"\\\"\\\\/\\b\\f\\n\\r\\t\"]");
    CHECK_STR("\x01\x1f\x7f\x20~", "[\"\\u0001\\u001f\\u007f ~\"]");
    CHECK_STR("\x0b\x1b", "[\"\\u000b\\u001b\"]");
    CHECK_STR("a\0b", "[\"a\\u0000b\"]");          /* embedded NUL via strn */
    CHECK_STR("", "[\"\"]");

    /* every control character, each as its own escape */
    for (int c = 0; c < 0x20; c++) {
        char raw[1] = { (char)c }, want[16];
        const char *s = NULL;
        switch (c) {
        case '\b': s = "b"; break;
        case '\f': s = "f"; break;
        case '\n': s = "n"; break;
        case '\r': s = "r"; break;
        case '\t': s = "t"; break;
        }
        if (s)
            snprintf(want, sizeof want, "[\"\\%s\"]", s);
        else
            snprintf(want, sizeof want, "[\"\\u%04x\"]", c);
        check_str(raw, 1, want);
    }

    /* keys are escaped too */
    struct jbuf j;
    jbuf_init(&j);
    jbuf_open_object(&j, NULL);
    jbuf_u64(&j, "a\"b", 1);
    jbuf_close_object(&j);
    assert_string_equal(j.buf, "{\"a\\\"b\":1}");
    jbuf_free(&j);
}

static void test_utf8_valid(void **state)
{
    CHECK_STR("\xc2\x80", "[\"\xc2\x80\"]");                   /* U+0080 */
    CHECK_STR("caf\xc3\xa9", "[\"caf\xc3\xa9\"]");             /* U+00E9 */
    CHECK_STR("\xdf\xbf", "[\"\xdf\xbf\"]");                   /* U+07FF */
    CHECK_STR("\xe0\xa0\x80", "[\"\xe0\xa0\x80\"]");           /* U+0800 */
    CHECK_STR("\xe2\x82\xac", "[\"\xe2\x82\xac\"]");           /* EURO */
    CHECK_STR("\xed\x9f\xbf", "[\"\xed\x9f\xbf\"]");           /* U+D7FF */
    CHECK_STR("\xee\x80\x80", "[\"\xee\x80\x80\"]");           /* U+E000 */
    CHECK_STR("\xef\xbf\xbf", "[\"\xef\xbf\xbf\"]");           /* U+FFFF */
    CHECK_STR("\xf0\x90\x80\x80", "[\"\xf0\x90\x80\x80\"]");   /* U+10000 */
    CHECK_STR("\xf0\x9d\x84\x9e", "[\"\xf0\x9d\x84\x9e\"]");   /* G clef */
    CHECK_STR("\xf4\x8f\xbf\xbf", "[\"\xf4\x8f\xbf\xbf\"]");   /* U+10FFFF */
    CHECK_STR("\xe4\xb8\xad\xe6\x96\x87\n", "[\"\xe4\xb8\xad\xe6\x96\x87\\n\"]");
}

static void test_utf8_invalid(void **state)
{
    /* stray continuation bytes and bytes that never start a sequence */
    CHECK_STR("\x80", "[\"\\u0080\"]");
    CHECK_STR("a\xbf" "b", "[\"a\\u00bfb\"]");
    CHECK_STR("\xfe\xff", "[\"\\u00fe\\u00ff\"]");
    CHECK_STR("\xf5\x80\x80\x80", "[\"\\u00f5\\u0080\\u0080\\u0080\"]");
    /* overlongs */
    CHECK_STR("\xc0\xaf", "[\"\\u00c0\\u00af\"]");
    CHECK_STR("\xc1\xbf", "[\"\\u00c1\\u00bf\"]");
    CHECK_STR("\xe0\x80\xaf", "[\"\\u00e0\\u0080\\u00af\"]");
    CHECK_STR("\xe0\x9f\xbf", "[\"\\u00e0\\u009f\\u00bf\"]");
    CHECK_STR("\xf0\x80\x80\xaf", "[\"\\u00f0\\u0080\\u0080\\u00af\"]");
    CHECK_STR("\xf0\x8f\xbf\xbf", "[\"\\u00f0\\u008f\\u00bf\\u00bf\"]");
    /* UTF-16 surrogates */
    CHECK_STR("\xed\xa0\x80", "[\"\\u00ed\\u00a0\\u0080\"]");
    CHECK_STR("\xed\xbf\xbf", "[\"\\u00ed\\u00bf\\u00bf\"]");
    /* beyond U+10FFFF */
    CHECK_STR("\xf4\x90\x80\x80", "[\"\\u00f4\\u0090\\u0080\\u0080\"]");
    /* truncated: at the end, and followed by ASCII or a new lead byte */
    CHECK_STR("\xc3", "[\"\\u00c3\"]");
    CHECK_STR("\xe2\x82", "[\"\\u00e2\\u0082\"]");
    CHECK_STR("\xe2\x82" "A", "[\"\\u00e2\\u0082A\"]");
    CHECK_STR("\xf0\x9d\x84", "[\"\\u00f0\\u009d\\u0084\"]");
    CHECK_STR("\xc3\xc3\xa9", "[\"\\u00c3\xc3\xa9\"]");
    CHECK_STR("\xe2\x28\xa1", "[\"\\u00e2(\\u00a1\"]");
}

/* Random bytes, weighted towards the interesting ranges, must round-trip
 * through python's strict decoder to the UTF-8-else-Latin-1 reading. */
static void test_utf8_random_python(void **state)
{
    static const uint8_t pick[] = { 0x00, 0x09, 0x22, 0x5c, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f,
                                    0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4,
                                    0xf5, 0xff };
    struct jbuf j;
    unsigned seed = 12345;

    jbuf_init(&j);
    jbuf_open_array(&j, NULL);
    for (int i = 0; i < 3000; i++) {
        uint8_t raw[12];
        char hex[25];
        size_t n = (size_t)(rand_r(&seed) % 12);

        for (size_t k = 0; k < n; k++) {
            int r = rand_r(&seed);
            raw[k] = (r & 1) ? pick[(r >> 1) % sizeof pick] : (uint8_t)(r >> 8);
            snprintf(hex + 2 * k, 3, "%02x", raw[k]);
        }
        hex[2 * n] = '\0';
        jbuf_open_array(&j, NULL);
        jbuf_str(&j, NULL, hex);
        jbuf_strn(&j, NULL, raw, n);
        jbuf_close_array(&j);
    }
    jbuf_close_array(&j);
    assert_true(jbuf_ok(&j));
    assert_int_equal(python_check(j.buf, j.len, 1), 0);

    /* and the checker itself can fail: a wrong pair is caught */
    const char bad[] = "[[\"41\",\"B\"]]";
    assert_int_not_equal(python_check(bad, sizeof bad - 1, 1), 0);
    const char broken[] = "[\"\xc0\xaf\"]";
    assert_int_not_equal(python_check(broken, sizeof broken - 1, 0), 0);
    jbuf_free(&j);
}

static void test_long_string_grows(void **state)
{
    struct jbuf j;
    size_t n = 100000;
    uint8_t *raw = malloc(n);

    assert_non_null(raw);
    for (size_t i = 0; i < n; i++)
        raw[i] = (uint8_t)(i % 3 == 0 ? '\n' : 'x');
    jbuf_init(&j);
    jbuf_open_object(&j, NULL);
    jbuf_strn(&j, "payload", raw, n);
    jbuf_close_object(&j);
    assert_true(jbuf_ok(&j));
    assert_int_equal(j.len, strlen("{\"payload\":\"\"}") + n + (n + 2) / 3);
    assert_true(j.cap > j.len);
    assert_int_equal(python_check(j.buf, j.len, 0), 0);
    jbuf_free(&j);
    free(raw);
}

static void test_numbers(void **state)
{
    struct jbuf j;

    jbuf_init(&j);
    jbuf_open_array(&j, NULL);
    jbuf_u64(&j, NULL, 0);
    jbuf_u64(&j, NULL, 7);
    jbuf_u64(&j, NULL, 1000000);
    jbuf_u64(&j, NULL, UINT64_MAX);
    jbuf_i64(&j, NULL, 0);
    jbuf_i64(&j, NULL, -1);
    jbuf_i64(&j, NULL, INT64_MAX);
    jbuf_i64(&j, NULL, INT64_MIN);
    jbuf_close_array(&j);
    assert_string_equal(j.buf, "[0,7,1000000,18446744073709551615,0,-1,"
                               "9223372036854775807,-9223372036854775808]");
    assert_int_equal(python_check(j.buf, j.len, 0), 0);

    jbuf_reset(&j);
    jbuf_open_array(&j, NULL);
    jbuf_double(&j, NULL, 0.0);
    jbuf_double(&j, NULL, 0.1);
    jbuf_double(&j, NULL, -1.5);
    jbuf_double(&j, NULL, 100.0);
    jbuf_double(&j, NULL, 1e300);
    jbuf_double(&j, NULL, 2.5e-7);
    jbuf_double(&j, NULL, NAN);
    jbuf_double(&j, NULL, INFINITY);
    jbuf_double(&j, NULL, -INFINITY);
    jbuf_double(&j, NULL, 1.0 / 3.0);
    jbuf_close_array(&j);
    assert_string_equal(j.buf, "[0,0.1,-1.5,100,1e+300,2.5e-07,null,null,null,"
                               "0.33333333333333331]");
    assert_int_equal(python_check(j.buf, j.len, 0), 0);

    /* doubles round-trip exactly */
    unsigned seed = 7;
    for (int i = 0; i < 1000; i++) {
        double v = (double)rand_r(&seed) / (double)rand_r(&seed) * pow(10, rand_r(&seed) % 40 - 20);
        jbuf_reset(&j);
        jbuf_double(&j, NULL, v);
        assert_true(strtod(j.buf, NULL) == v);
    }

    jbuf_reset(&j);
    jbuf_open_object(&j, NULL);
    jbuf_double(&j, "x", NAN);
    jbuf_double(&j, "y", 2.0);
    jbuf_close_object(&j);
    assert_string_equal(j.buf, "{\"x\":null,\"y\":2}");
    jbuf_free(&j);
}

static void check_ts(uint64_t ts, const char *want)
{
    char out[40];
    struct jbuf j;
    char quoted[48];

    json_format_timestamp(out, sizeof out, ts);
    assert_string_equal(out, want);
    jbuf_init(&j);
    jbuf_open_object(&j, NULL);
    jbuf_timestamp(&j, "timestamp", ts);
    jbuf_close_object(&j);
    snprintf(quoted, sizeof quoted, "\"%s\"", want);
    assert_true(strstr(j.buf, quoted) != NULL);
    assert_int_equal(j.len, strlen("{\"timestamp\":}") + strlen(quoted));
    jbuf_free(&j);
}

static void test_timestamps(void **state)
{
    check_ts(0, "1970-01-01T00:00:00.000000+0000");
    check_ts(1704164645000000ULL + 123456, "2024-01-02T03:04:05.123456+0000");
    check_ts(1709210096000000ULL + 789012, "2024-02-29T12:34:56.789012+0000");   /* leap day */
    check_ts(951782400000000ULL, "2000-02-29T00:00:00.000000+0000");             /* 400-year leap */
    check_ts(951782400000000ULL - 1, "2000-02-28T23:59:59.999999+0000");
    check_ts(4107542400000000ULL, "2100-03-01T00:00:00.000000+0000");            /* 2100 not leap */
    check_ts(4107542400000000ULL - 86400000000ULL, "2100-02-28T00:00:00.000000+0000");
    check_ts(946684799999999ULL, "1999-12-31T23:59:59.999999+0000");
    check_ts(2147483648000001ULL, "2038-01-19T03:14:08.000001+0000");

    /* agrees with gmtime_r across a wide range */
    unsigned seed = 99;
    for (int i = 0; i < 20000; i++) {
        uint64_t secs = ((uint64_t)rand_r(&seed) << 16 ^ (uint64_t)rand_r(&seed)) % 253402300800ULL;
        uint64_t usec = (uint64_t)rand_r(&seed) % 1000000;
        time_t t = (time_t)secs;
        struct tm tm;
        char want[64], out[40];

        gmtime_r(&t, &tm);
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06u+0000", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)usec);
        json_format_timestamp(out, sizeof out, secs * 1000000 + usec);
        assert_string_equal(out, want);
    }

    /* short output buffers are truncated, never overrun */
    char small[11];
    json_format_timestamp(small, sizeof small, 0);
    assert_string_equal(small, "1970-01-01");
    /* the far future widens the year instead of wrapping */
    char big[40];
    json_format_timestamp(big, sizeof big, UINT64_MAX);
    assert_true(strlen(big) >= 31);
    assert_true(strstr(big, "+0000") != NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nesting_commas),
        cmocka_unit_test(test_misuse_latches),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_utf8_random_python),
        cmocka_unit_test(test_long_string_grows),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_timestamps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
