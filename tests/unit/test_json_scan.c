/* test_json_scan.c - reading values out of JSON object text in one pass
 * (sensor/common/json-scan.c): paths, the last occurrence winning as in
 * jansson, string decoding, integers, and malformed or cut texts, which
 * must give -1 and never a read past the end (every prefix is tried from a
 * buffer of exactly its length, so ASan sees any over-read). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "json-scan.h"

static const char EVE[] =
    "{\"timestamp\":\"2024-06-10T06:13:20.000123+0000\",\"src_ip\":\"10.1.3.4\","
    " \"alert\" : {\"signature_id\":2000001, \"signature\":\"ET SCAN \\\"odd\\\" \\u00e9\\ud83d\\ude00\","
    "\"severity\":2,\"metadata\":{\"signature_id\":[7]}},\"geo\":{\"src\":{\"country\":\"CN\"},"
    "\"dest\":{\"country\":\"US\"},\"scope\":\"cross-border-outbound\"},\"list\":[1,{\"a\":[]},\"x\",null,true]}";

static void want_init(struct jscan_want *w, const char *const *paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (struct jscan_want){ .path = paths[i] };
}

static void test_paths(void **state)
{
    static const char *const paths[] = { "timestamp", "alert.signature_id", "alert.signature",
                                         "geo.dest.country", "geo.scope", "alert", "list",
                                         "alert.metadata.signature_id", "nosuch", "geo.src.nosuch" };
    struct jscan_want w[10];
    uint64_t v;
    char s[128];

    (void)state;
    want_init(w, paths, 10);
    assert_int_equal(jscan_object(EVE, strlen(EVE), w, 10), 0);
    assert_int_equal(w[0].type, JS_STRING);
    assert_int_equal(jscan_string(&w[0], s, sizeof s), 31);
    assert_string_equal(s, "2024-06-10T06:13:20.000123+0000");
    assert_int_equal(jscan_u64(&w[1], &v), 0);
    assert_int_equal(v, 2000001);
    /* escapes: quote, U+00E9 and a surrogate pair, as UTF-8 */
    assert_int_equal(jscan_string(&w[2], s, sizeof s), 20);
    assert_string_equal(s, "ET SCAN \"odd\" \xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(jscan_string(&w[3], s, sizeof s), 2);
    assert_string_equal(s, "US");
    assert_int_equal(w[4].type, JS_STRING);
    assert_int_equal(w[5].type, JS_OBJECT);
    assert_int_equal(w[5].p[0], '{');
    assert_int_equal(w[5].p[w[5].n - 1], '}');
    assert_int_equal(w[6].type, JS_ARRAY);
    assert_int_equal(w[7].type, JS_ARRAY);
    assert_int_equal(w[8].type, JS_NONE);
    assert_int_equal(w[9].type, JS_NONE);
    /* a string is not a number, a number not a string */
    assert_int_equal(jscan_u64(&w[0], &v), -1);
    assert_int_equal(jscan_string(&w[1], s, sizeof s), -1);
}

/* A member given twice counts by its last occurrence, also an object that
 * replaces an earlier one (and so forgets what only the first had). */
static void test_last_wins(void **state)
{
    static const char js[] = "{\"a\":{\"x\":1,\"y\":2},\"b\":1,\"a\":{\"x\":3},\"b\":\"two\"}";
    static const char *const paths[] = { "a.x", "a.y", "b" };
    struct jscan_want w[3];
    uint64_t v;

    (void)state;
    want_init(w, paths, 3);
    assert_int_equal(jscan_object(js, strlen(js), w, 3), 0);
    assert_int_equal(jscan_u64(&w[0], &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(w[1].type, JS_NONE);
    assert_int_equal(w[2].type, JS_STRING);
}

static void test_keys_with_escapes(void **state)
{
    static const char js[] = "{\"s\\u0069d\":5,\"a\\\"b\":6}";
    static const char *const paths[] = { "sid", "a\"b" };
    struct jscan_want w[2];
    uint64_t v;

    (void)state;
    want_init(w, paths, 2);
    assert_int_equal(jscan_object(js, strlen(js), w, 2), 0);
    assert_int_equal(jscan_u64(&w[0], &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(jscan_u64(&w[1], &v), 0);
    assert_int_equal(v, 6);
}

static void test_strings_refused(void **state)
{
    /* what jansson refuses: \u0000, a lone surrogate, a control character,
     * an unknown escape, a cut \u */
    static const char *const bad[] = {
        "{\"s\":\"a\\u0000b\"}", "{\"s\":\"\\ud83d\"}", "{\"s\":\"\\ude00x\"}", "{\"s\":\"\\x41\"}",
        "{\"s\":\"\\u12\"}", "{\"s\":\"\\ud83d\\u0041\"}",
    };
    struct jscan_want w = { .path = "s" };
    char s[64];

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jscan_object(bad[i], strlen(bad[i]), &w, 1);
        assert_int_equal(jscan_string(&w, s, sizeof s), -1);
    }
    /* a raw control character makes the whole text malformed */
    assert_int_equal(jscan_object("{\"s\":\"a\tb\"}", 11, &w, 1), -1);
    /* too small a buffer: -1, never a cut string */
    jscan_object("{\"s\":\"abcdef\"}", 14, &w, 1);
    assert_int_equal(jscan_string(&w, s, 6), -1);
    assert_int_equal(jscan_string(&w, s, 7), 6);
}

static void test_numbers(void **state)
{
    static const char *const ok[] = { "{\"n\":0}", "{\"n\":18446744073709551615}" };
    static const char *const no[] = { "{\"n\":18446744073709551616}", "{\"n\":-1}", "{\"n\":1.0}",
                                      "{\"n\":1e3}", "{\"n\":\"7\"}", "{\"n\":true}" };
    struct jscan_want w = { .path = "n" };
    uint64_t v;

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(jscan_object(ok[i], strlen(ok[i]), &w, 1), 0);
        assert_int_equal(jscan_u64(&w, &v), 0);
    }
    assert_true(v == UINT64_MAX);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        jscan_object(no[i], strlen(no[i]), &w, 1);
        assert_int_equal(jscan_u64(&w, &v), -1);
    }
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":1 \"b\":2}", "{a:1}",
        "{\"a\":tru}", "{\"a\":[1,]}", "{\"a\":1}x", "{\"a\":\"x}", "{\"a\":-}", "{\"a\":{\"b\":1}",
    };
    struct jscan_want w = { .path = "a" };
    char deep[JSCAN_MAX_DEPTH * 2 + 16];
    size_t o = 0;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(jscan_object(bad[i], strlen(bad[i]), &w, 1), -1);
    /* nesting past the bound is refused, just under it is not */
    deep[o++] = '{';
    deep[o++] = '"';
    deep[o++] = 'a';
    deep[o++] = '"';
    deep[o++] = ':';
    for (int i = 0; i < JSCAN_MAX_DEPTH; i++)
        deep[o++] = '[';
    for (int i = 0; i < JSCAN_MAX_DEPTH; i++)
        deep[o++] = ']';
    deep[o++] = '}';
    assert_int_equal(jscan_object(deep, o, &w, 1), -1);
    assert_int_equal(jscan_object(deep + 0, 5, &w, 1), -1);
    memmove(deep + 6, deep + 7, o - 7);
    memmove(deep + o - 3, deep + o - 2, 2);
    assert_int_equal(jscan_object(deep, o - 2, &w, 1), 0);
    assert_int_equal(w.type, JS_ARRAY);
}

/* Every cut of a good text is read from a buffer of exactly its length. */
static void test_every_prefix(void **state)
{
    static const char *const paths[] = { "timestamp", "alert.signature", "geo.dest.country", "list" };
    struct jscan_want w[4];
    size_t n = strlen(EVE);

    (void)state;
    want_init(w, paths, 4);
    for (size_t len = 0; len < n; len++) {
        char *p = malloc(len ? len : 1);
        char s[128];
        assert_non_null(p);
        memcpy(p, EVE, len);
        assert_int_equal(jscan_object(p, len, w, 4), -1);
        for (int i = 0; i < 4; i++)
            jscan_string(&w[i], s, sizeof s);
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_last_wins),
        cmocka_unit_test(test_keys_with_escapes),
        cmocka_unit_test(test_strings_refused),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_every_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
