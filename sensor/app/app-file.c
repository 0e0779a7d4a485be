/* app-file.c - files of the application protocols; see app-file.h. */
#include <stddef.h>
#include <string.h>

#include <openssl/evp.h>

#include "app-file.h"
#include "app-layer.h"
#include "app-util.h"
#include "json.h"

/* Where each digest lives in struct app_file, and its length. */
static const struct { size_t off; uint32_t len; } slot[APP_HASH_COUNT] = {
    [APP_HASH_SHA256] = { offsetof(struct app_file, sha256), 32 },
    [APP_HASH_MD5] = { offsetof(struct app_file, md5), 16 },
    [APP_HASH_SHA1] = { offsetof(struct app_file, sha1), 20 },
};

static const EVP_MD *digest_of(enum app_hash h)
{
    return h == APP_HASH_MD5 ? EVP_md5() : h == APP_HASH_SHA1 ? EVP_sha1() : EVP_sha256();
}

static void drop_contexts(struct app_file *f)
{
    for (int h = 0; h < APP_HASH_COUNT; h++) {
        EVP_MD_CTX_free(f->md[h]);
        f->md[h] = NULL;
    }
    f->hashing = 0;
}

void app_file_open(struct app_file *f, uint32_t file_hashes)
{
    unsigned want = APP_HASH_BIT(APP_HASH_SHA256);

    if (file_hashes & APP_FILE_MD5)
        want |= APP_HASH_BIT(APP_HASH_MD5);
    if (file_hashes & APP_FILE_SHA1)
        want |= APP_HASH_BIT(APP_HASH_SHA1);
    drop_contexts(f);
    f->state = APP_FILE_OPEN;
    f->gaps = 0;
    f->hashed = 0;
    f->size = 0;
    for (int h = 0; h < APP_HASH_COUNT; h++) {
        if (!(want & APP_HASH_BIT(h)) || !(f->md[h] = EVP_MD_CTX_new()))
            continue;
        if (EVP_DigestInit_ex(f->md[h], digest_of((enum app_hash)h), NULL) == 1)
            f->hashing |= (uint8_t)APP_HASH_BIT(h);
    }
}

void app_file_feed(struct app_file *f, const uint8_t *data, size_t n)
{
    if (f->state != APP_FILE_OPEN || n == 0)
        return;
    f->size += n;
    if (!data) {
        f->gaps = 1;
        return;
    }
    for (int h = 0; !f->gaps && h < APP_HASH_COUNT; h++)
        if ((f->hashing & APP_HASH_BIT(h)) && EVP_DigestUpdate(f->md[h], data, n) != 1)
            f->hashing &= (uint8_t)~APP_HASH_BIT(h);
}

void app_file_close(struct app_file *f, enum app_file_state how)
{
    if (f->state != APP_FILE_OPEN)
        return;
    f->state = (uint8_t)how;
    for (int h = 0; how == APP_FILE_CLOSED && !f->gaps && h < APP_HASH_COUNT; h++) {
        unsigned int n = 0;

        if ((f->hashing & APP_HASH_BIT(h)) &&
            EVP_DigestFinal_ex(f->md[h], (uint8_t *)f + slot[h].off, &n) == 1 && n == slot[h].len)
            f->hashed |= (uint8_t)APP_HASH_BIT(h);
    }
    drop_contexts(f);
}

void app_file_free(struct app_file *f)
{
    app_file_close(f, APP_FILE_TRUNCATED);
    drop_contexts(f);
}

int app_file_hash(const struct app_file *f, enum app_hash h, const uint8_t **p, uint32_t *len)
{
    if (f == NULL || (unsigned)h >= APP_HASH_COUNT || !(f->hashed & APP_HASH_BIT(h)))
        return 0;
    *p = (const uint8_t *)f + slot[h].off;
    *len = slot[h].len;
    return 1;
}

const char *app_file_state_name(enum app_file_state s)
{
    switch (s) {
    case APP_FILE_OPEN:      return "OPEN";
    case APP_FILE_CLOSED:    return "CLOSED";
    case APP_FILE_TRUNCATED: return "TRUNCATED";
    case APP_FILE_ERROR:     return "ERROR";
    default:                 return "UNKNOWN";
    }
}

/* Suricata writes "sid": [...] only when a filestore rule matched, and
 * "stored": false for a file not stored. */
void app_file_eve(const struct app_file *f, const uint8_t *name, size_t name_len, uint64_t tx_id, struct jbuf *jb)
{
    static const struct { enum app_hash h; const char *key; } digests[] = {
        { APP_HASH_MD5, "md5" }, { APP_HASH_SHA1, "sha1" }, { APP_HASH_SHA256, "sha256" },
    };
    char hex[65];

    jbuf_strn(jb, "filename", name ? name : (const uint8_t *)"", name ? name_len : 0);
    jbuf_bool(jb, "gaps", f->gaps);
    jbuf_str(jb, "state", app_file_state_name((enum app_file_state)f->state));
    for (size_t k = 0; k < sizeof digests / sizeof digests[0]; k++) {
        const uint8_t *d;
        uint32_t n;

        if (!app_file_hash(f, digests[k].h, &d, &n))
            continue;
        app_hex(hex, d, n, 0, 0);
        jbuf_str(jb, digests[k].key, hex);
    }
    jbuf_bool(jb, "stored", 0);
    jbuf_u64(jb, "size", f->size);
    jbuf_u64(jb, "tx_id", tx_id);
}
