/* json-scan.h - reading a few values out of one JSON object text in a
 * single pass, without building a tree and without allocating.
 *
 * The Redis writer uses it to take the fields it indexes out of each EVE
 * alert line (sensor/redis/alert-index.c), and linkwatch-console's
 * --reindex does the same with the same code. The text may come from
 * anyone who can write to Redis, so every read is checked against the end
 * of the text and nesting is bounded (JSCAN_MAX_DEPTH); a malformed text
 * gives -1, never a read past its end.
 *
 * Values are returned as spans of the caller's text; jscan_string() and
 * jscan_u64() decode them. A member that occurs twice counts by its last
 * occurrence, as in jansson (what the console parses the same lines with).
 */
#ifndef LW_JSON_SCAN_H
#define LW_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

#define JSCAN_MAX_DEPTH 64
#define JSCAN_MAX_PATH  128

enum jtype { JS_NONE = 0, JS_STRING, JS_NUMBER, JS_OBJECT, JS_ARRAY, JS_TRUE, JS_FALSE, JS_NULL };

/* One value asked for: path is member names joined by '.', e.g.
 * "alert.signature_id"; type and the value's text (p, n; a string's span
 * includes its quotes) are filled in when found, type JS_NONE otherwise. */
struct jscan_want {
    const char *path;
    enum jtype  type;
    const char *p;
    size_t      n;
};

/* Walks the object text js[0..len) once and fills in every wanted path
 * (at most 32 of them, of at most 8 names each). Returns 0, or -1 when the
 * text is not one well-formed JSON object (what was found before the fault
 * is still filled in) or there are too many wants. */
int jscan_object(const char *js, size_t len, struct jscan_want *w, size_t nw);

/* Decodes the string value of w (escapes, \u with surrogate pairs to UTF-8)
 * into out, NUL-terminated. out needs at most w->n bytes (decoding never
 * lengthens). Returns the decoded length, or -1 when w is not a string, is
 * malformed, holds a control character or \u0000 (which jansson refuses),
 * or does not fit in outlen. */
long jscan_string(const struct jscan_want *w, char *out, size_t outlen);

/* The value of w when it is a plain unsigned integer (digits only, no sign,
 * fraction or exponent) that fits 64 bits. Returns 0, or -1. */
int jscan_u64(const struct jscan_want *w, uint64_t *out);

#endif
