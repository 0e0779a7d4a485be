/* app-util.h - what the DNS, TLS and SSH parsers share: a bounded byte
 * buffer on the stage's memory (app_mem), copies of strings, hex text and
 * the digests their fingerprints use (MD5 for JA3/JA3S/hassh, SHA-1 for
 * certificate fingerprints, both from libcrypto).
 */
#ifndef LW_APP_UTIL_H
#define LW_APP_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "app-layer.h"

/* A growable byte buffer counted against app_mem. Zeroed is empty. */
struct app_bytes {
    uint8_t *p;
    uint32_t len, cap;
};

/* Appends n bytes, growing the buffer (doubling) up to max bytes in all.
 * Returns 0, or -1 when len + n would pass max or the memory cap refused
 * the growth: nothing is appended then and the buffer is unchanged. */
int app_bytes_append(struct app_mem *m, struct app_bytes *b, const uint8_t *d, size_t n, uint32_t max);
/* Releases the buffer's memory; it is empty afterwards. */
void app_bytes_free(struct app_mem *m, struct app_bytes *b);

/* The flow's only transaction, for parsers with one per flow (SSH, TLS):
 * made zeroed (size bytes, a struct embedding app_tx first) on the first
 * call and pushed on the list, then returned as long as it lives (*tx;
 * tx_free sets it to NULL). Once made and freed it is not made again
 * (*made). NULL then, or when memory was refused (counted as event
 * memcap_event of proto). */
struct app_tx *app_single_tx(struct app_ctx *ctx, enum app_proto proto, unsigned memcap_event,
                             struct app_txlist *l, struct app_tx **tx, uint8_t *made, size_t size);

/* A NUL-terminated copy of s[0..n) on app_mem (n + 1 bytes, which is what
 * app_free() must be given). NULL when memory is refused. */
char *app_strndup(struct app_mem *m, const void *s, size_t n);

/* Writes n bytes as hex (lower or upper case), with sep between bytes
 * when sep is not 0, and a NUL. out must hold n * (sep ? 3 : 2) + 1
 * bytes. Returns the text length. */
size_t app_hex(char *out, const uint8_t *d, size_t n, int upper, char sep);

/* MD5 of d[0..n) as 32 lower-case hex digits and a NUL. Returns 0, or -1
 * when libcrypto failed (out is then ""). */
int app_md5_hex(const void *d, size_t n, char out[33]);
/* SHA-1 of d[0..n). Returns 0 or -1. */
int app_sha1(const void *d, size_t n, uint8_t out[20]);

#endif
