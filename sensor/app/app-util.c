/* app-util.c - helpers shared by the application-layer parsers; see app-util.h. */
#include <string.h>

#include <openssl/evp.h>

#include "app-util.h"
#include "stats.h"

int app_bytes_append(struct app_mem *m, struct app_bytes *b, const uint8_t *d, size_t n, uint32_t max)
{
    if (n > max || b->len > max - n)
        return -1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        uint8_t *p;

        while (cap < b->len + n)
            cap *= 2;
        if (cap > max)
            cap = max;
        p = app_realloc(m, b->p, b->cap, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = (uint32_t)cap;
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += (uint32_t)n;
    return 0;
}

void app_bytes_free(struct app_mem *m, struct app_bytes *b)
{
    app_free(m, b->p, b->cap);
    b->p = NULL;
    b->len = b->cap = 0;
}

struct app_tx *app_single_tx(struct app_ctx *ctx, enum app_proto proto, unsigned memcap_event,
                             struct app_txlist *l, struct app_tx **tx, uint8_t *made, size_t size)
{
    if (*tx || *made)
        return *tx;
    *made = 1;
    if (!(*tx = app_calloc(&ctx->mem, 1, size))) {
        app_event(ctx, proto, memcap_event, NULL);
        return NULL;
    }
    app_txlist_push(l, *tx);
    STATS_INC(ctx->stats.tx[proto]);
    return *tx;
}

char *app_strndup(struct app_mem *m, const void *s, size_t n)
{
    char *c = app_alloc(m, n + 1);

    if (!c)
        return NULL;
    if (n)
        memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

size_t app_hex(char *out, const uint8_t *d, size_t n, int upper, char sep)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *o = out;

    for (size_t i = 0; i < n; i++) {
        if (sep && i)
            *o++ = sep;
        *o++ = digits[d[i] >> 4];
        *o++ = digits[d[i] & 15];
    }
    *o = '\0';
    return (size_t)(o - out);
}

int app_md5_hex(const void *d, size_t n, char out[33])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    out[0] = '\0';
    if (EVP_Digest(d, n, md, &len, EVP_md5(), NULL) != 1 || len != 16)
        return -1;
    app_hex(out, md, 16, 0, 0);
    return 0;
}

int app_sha1(const void *d, size_t n, uint8_t out[20])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (EVP_Digest(d, n, md, &len, EVP_sha1(), NULL) != 1 || len != 20)
        return -1;
    memcpy(out, md, 20);
    return 0;
}
