/* app-file.c - the files parsers carry; see app-file.h. */
#include <openssl/evp.h>

#include "app-file.h"
#include "json.h"

static const EVP_MD *hash_md(enum app_hash h)
{
    return h == APP_HASH_MD5 ? EVP_md5() : h == APP_HASH_SHA1 ? EVP_sha1() : EVP_sha256();
}

/* Where each digest lives in struct app_file, and its length. */
static const struct { size_t off; uint32_t len; } hash_slot[APP_HASH_COUNT] = {
    [APP_HASH_SHA256] = { offsetof(struct app_file, sha256), 32 },
    [APP_HASH_MD5] = { offsetof(struct app_file, md5), 16 },
    [APP_HASH_SHA1] = { offsetof(struct app_file, sha1), 20 },
};

int app_file_hash(const struct app_file *f, enum app_hash h, const uint8_t **p, uint32_t *len)
{
    if (f == NULL || (unsigned)h >= APP_HASH_COUNT || !(f->hashed & APP_HASH_BIT(h)))
        return 0;
    *p = (const uint8_t *)f + hash_slot[h].off;
    *len = hash_slot[h].len;
    return 1;
}

void app_file_open(struct app_file *f, struct app_file_md *md, uint32_t file_hashes, const uint8_t *name,
                   uint32_t len, int hash)
{
    unsigned want = APP_HASH_BIT(APP_HASH_SHA256);

    if (file_hashes & APP_FILE_MD5)
        want |= APP_HASH_BIT(APP_HASH_MD5);
    if (file_hashes & APP_FILE_SHA1)
        want |= APP_HASH_BIT(APP_HASH_SHA1);
    f->state = APP_FILE_OPEN;
    f->name = name;
    f->name_len = len;
    for (int h = 0; hash && h < APP_HASH_COUNT; h++) {
        EVP_MD_CTX **ctx = (EVP_MD_CTX **)&md->md[h];

        if (!(want & APP_HASH_BIT(h)))
            continue;
        if (!*ctx)
            *ctx = EVP_MD_CTX_new();
        if (*ctx && EVP_DigestInit_ex(*ctx, hash_md((enum app_hash)h), NULL) == 1)
            f->hashing |= (uint8_t)APP_HASH_BIT(h);
    }
}

void app_file_feed(struct app_file *f, struct app_file_md *md, const uint8_t *data, size_t n)
{
    if (f->state != APP_FILE_OPEN || n == 0)
        return;
    f->size += n;
    if (!data)
        f->gaps = 1;
    for (int h = 0; data && !f->gaps && h < APP_HASH_COUNT; h++)
        if ((f->hashing & APP_HASH_BIT(h)) && EVP_DigestUpdate(md->md[h], data, n) != 1)
            f->hashing &= (uint8_t)~APP_HASH_BIT(h);
}

void app_file_close(struct app_file *f, struct app_file_md *md, enum app_file_state how)
{
    if (f->state != APP_FILE_OPEN)
        return;
    f->state = (uint8_t)how;
    for (int h = 0; how == APP_FILE_CLOSED && !f->gaps && h < APP_HASH_COUNT; h++) {
        unsigned int n = 0;

        if ((f->hashing & APP_HASH_BIT(h)) &&
            EVP_DigestFinal_ex(md->md[h], (uint8_t *)f + hash_slot[h].off, &n) == 1 && n == hash_slot[h].len)
            f->hashed |= (uint8_t)APP_HASH_BIT(h);
    }
    f->hashing = 0;
}

void app_file_md_free(struct app_file_md *md)
{
    for (int h = 0; h < APP_HASH_COUNT; h++) {
        EVP_MD_CTX_free(md->md[h]);
        md->md[h] = NULL;
    }
}

static const char *file_state_name(uint8_t s)
{
    switch (s) {
    case APP_FILE_OPEN:
        return "OPEN";
    case APP_FILE_CLOSED:
        return "CLOSED";
    case APP_FILE_TRUNCATED:
        return "TRUNCATED";
    case APP_FILE_ERROR:
        return "ERROR";
    default:
        return "UNKNOWN";
    }
}

/* Suricata writes "sid": [...] only when a filestore rule matched (the
 * schema wants at least one), and "stored": false for a file not stored. */
void app_file_eve(const struct app_file *f, uint64_t tx_id, struct jbuf *jb)
{
    static const struct { enum app_hash h; const char *name; } digests[] = {
        { APP_HASH_MD5, "md5" }, { APP_HASH_SHA1, "sha1" }, { APP_HASH_SHA256, "sha256" },
    };
    char hex[65];

    jbuf_strn(jb, "filename", f->name ? f->name : (const uint8_t *)"", f->name ? f->name_len : 0);
    jbuf_bool(jb, "gaps", f->gaps);
    jbuf_str(jb, "state", file_state_name(f->state));
    for (size_t k = 0; k < sizeof digests / sizeof digests[0]; k++) {
        const uint8_t *d;
        uint32_t n;

        if (!app_file_hash(f, digests[k].h, &d, &n))
            continue;
        for (uint32_t i = 0; i < n; i++) {
            hex[2 * i] = "0123456789abcdef"[d[i] >> 4];
            hex[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
        }
        hex[2 * n] = '\0';
        jbuf_str(jb, digests[k].name, hex);
    }
    jbuf_bool(jb, "stored", 0);
    jbuf_u64(jb, "size", f->size);
    jbuf_u64(jb, "tx_id", tx_id);
}
