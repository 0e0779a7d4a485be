/* fuzz_json.c - libFuzzer target: the EVE JSON encoder (jbuf_*) driven by
 * the input: nested objects and arrays, keys and string values of arbitrary
 * bytes (invalid UTF-8, controls, quotes), integers, doubles (NaN, inf).
 * Whatever the bytes, the result must be one well-formed JSON value, or the
 * encoder must say it failed. Input: [op byte][length byte][bytes]... */
#include <stdlib.h>

#include "fuzz-common.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the next len bytes (a NUL inside cuts it short,
 * as a C string key would be). */
static char *take(const uint8_t **d, size_t *n, size_t len, size_t *got)
{
    char *s;

    if (len > *n)
        len = *n;
    s = malloc(len + 1);
    if (!s)
        abort();
    memcpy(s, *d, len);
    s[len] = '\0';
    *d += len;
    *n -= len;
    *got = len;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jbuf j;
    uint64_t v;

    jbuf_init(&j);
    jbuf_open_object(&j, NULL);
    while (size >= 2) {
        uint8_t op = data[0], len = data[1];
        size_t klen, vlen;
        char *key, *val;
        int in_array;

        data += 2;
        size -= 2;
        in_array = j.depth > 0 && (j.need_comma[j.depth - 1] & 0x02u);
        key = take(&data, &size, op >> 4, &klen);
        val = take(&data, &size, len, &vlen);
        v = 0;
        memcpy(&v, val, vlen < sizeof v ? vlen : sizeof v);
        switch (op & 0x0f) {
        case 0: jbuf_open_object(&j, in_array ? NULL : key); break;
        case 1: jbuf_open_array(&j, in_array ? NULL : key); break;
        case 2: if (j.depth > 1) jbuf_close_object(&j); break;
        case 3: if (j.depth > 1) jbuf_close_array(&j); break;
        case 4: jbuf_str(&j, in_array ? NULL : key, val); break;
        case 5: jbuf_strn(&j, in_array ? NULL : key, (const uint8_t *)val, vlen); break;
        case 6: jbuf_u64(&j, in_array ? NULL : key, v); break;
        case 7: jbuf_i64(&j, in_array ? NULL : key, (int64_t)v); break;
        case 8: { double dv; memcpy(&dv, &v, sizeof dv); jbuf_double(&j, in_array ? NULL : key, dv); } break;
        case 9: jbuf_bool(&j, in_array ? NULL : key, (int)(v & 1)); break;
        case 10: jbuf_null(&j, in_array ? NULL : key); break;
        case 11: jbuf_timestamp(&j, in_array ? NULL : key, v); break;
        default: jbuf_strn(&j, in_array ? NULL : key, (const uint8_t *)key, klen); break;
        }
        free(key);
        free(val);
    }
    while (j.depth > 0 && jbuf_ok(&j)) {     /* a failed close latches: stop */
        if (j.need_comma[j.depth - 1] & 0x02u)
            jbuf_close_array(&j);
        else
            jbuf_close_object(&j);
    }
    if (jbuf_ok(&j) && !fuzz_json_ok(j.buf, j.len))
        abort();                       /* an event line that is not JSON */
    jbuf_free(&j);
    return 0;
}
