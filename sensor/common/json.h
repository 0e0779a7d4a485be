/* json.h - the one JSON encoder every event goes through.
 *
 * A jbuf is a growable byte buffer with a small nesting stack; the caller
 * opens objects/arrays, adds members, closes them, and takes the text. Commas
 * are placed by the encoder. Strings are escaped per RFC 8259: '"', '\\' and
 * control characters are escaped, valid UTF-8 passes through, and every byte
 * of invalid UTF-8 is written as \u00XX of its Latin-1 reading, so output is
 * always valid UTF-8 JSON whatever bytes came off the wire.
 *
 * Memory: the buffer grows by doubling and is kept across jbuf_reset() so the
 * hot path reuses it. On allocation failure the jbuf latches an error flag,
 * further calls do nothing, and jbuf_ok() returns 0.
 */
#ifndef LW_JSON_H
#define LW_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JBUF_MAX_DEPTH 32

struct jbuf {
    char    *buf;
    size_t   len, cap;
    uint8_t  depth;
    uint8_t  failed;
    uint8_t  need_comma[JBUF_MAX_DEPTH];
};

void jbuf_init(struct jbuf *j);
void jbuf_free(struct jbuf *j);
void jbuf_reset(struct jbuf *j);
int  jbuf_ok(const struct jbuf *j);

/* Containers. key may be NULL inside arrays (and must be non-NULL inside objects). */
void jbuf_open_object(struct jbuf *j, const char *key);
void jbuf_close_object(struct jbuf *j);
void jbuf_open_array(struct jbuf *j, const char *key);
void jbuf_close_array(struct jbuf *j);

/* Members (key NULL inside arrays). */
void jbuf_str(struct jbuf *j, const char *key, const char *s);
void jbuf_strn(struct jbuf *j, const char *key, const uint8_t *s, size_t n);
void jbuf_u64(struct jbuf *j, const char *key, uint64_t v);
void jbuf_i64(struct jbuf *j, const char *key, int64_t v);
void jbuf_double(struct jbuf *j, const char *key, double v);   /* non-finite -> null */
void jbuf_bool(struct jbuf *j, const char *key, int v);
void jbuf_null(struct jbuf *j, const char *key);
/* Inserts already-encoded JSON text as a member value (trusted input only). */
void jbuf_raw(struct jbuf *j, const char *key, const char *json, size_t n);

/* Appends one EVE timestamp in Suricata's form, 2024-01-02T03:04:05.123456+0000. */
void jbuf_timestamp(struct jbuf *j, const char *key, uint64_t ts_usec);
/* Formats ts_usec the same way into out (at least 32 bytes). */
void json_format_timestamp(char *out, size_t outlen, uint64_t ts_usec);

/* Length of the well-formed UTF-8 sequence at s (n bytes left, n > 0), or
 * 0 when s[0] does not start one (overlongs, surrogates, past U+10FFFF,
 * stray continuation bytes, truncated sequences). */
size_t json_utf8_len(const uint8_t *s, size_t n);

#endif
