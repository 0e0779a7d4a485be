/* app-file.h - a file an application-layer parser carries (an HTTP body,
 * an SMB file read or written, an FTP data connection), as Suricata's file
 * tracking logs it: its name, size, state, whether bytes were lost inside
 * it, and its digests.
 *
 * The parser opens it, feeds it the file's bytes in order (NULL for lost
 * ones: a gap) and closes it. SHA-256 is computed for every file that can
 * end complete, MD5 and SHA-1 too when the rules read them
 * (app_limits.file_hashes); a digest is final only for a file closed
 * complete without gaps. The digest contexts (libcrypto's, outside
 * app_mem) are the parser's: one struct app_file_md per file being fed at
 * a time (HTTP and ftp-data reuse theirs from file to file; SMB, whose
 * files are open side by side, has one per file), freed by
 * app_file_md_free().
 */
#ifndef LW_APP_FILE_H
#define LW_APP_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "app-layer.h"

struct jbuf;

enum app_file_state { APP_FILE_NONE = 0, APP_FILE_OPEN, APP_FILE_CLOSED, APP_FILE_TRUNCATED, APP_FILE_ERROR };

/* The digests a file may get (struct app_file.hashing, .hashed). */
enum app_hash { APP_HASH_SHA256 = 0, APP_HASH_MD5, APP_HASH_SHA1, APP_HASH_COUNT };
#define APP_HASH_BIT(h) (1u << (h))

struct app_file {
    uint8_t  state;                   /* enum app_file_state */
    uint8_t  gaps;                    /* bytes were lost inside it */
    uint8_t  logged;                  /* for the stage: its fileinfo event was written */
    uint8_t  hashing;                 /* internal: APP_HASH_BIT of each digest under way */
    uint8_t  hashed;                  /* APP_HASH_BIT of each digest below that is final:
                                       * closed complete and without gaps */
    uint8_t  sha256[32];
    uint8_t  md5[16];                 /* with app_limits.file_hashes APP_FILE_MD5 */
    uint8_t  sha1[20];                /* with APP_FILE_SHA1 */
    uint64_t size;                    /* bytes tracked (gaps included) */
    const uint8_t *name;              /* owned by the parser's transaction */
    uint32_t name_len;
};

/* The digest contexts of a file being fed (NULL until first needed). */
struct app_file_md {
    void *md[APP_HASH_COUNT];         /* EVP_MD_CTX */
};

/* Opens f named name[0..len) (kept by pointer). Its digests are computed
 * when hash is set (a file that can only end TRUNCATED never shows one):
 * SHA-256, and those file_hashes (APP_FILE_*) asks for. */
void app_file_open(struct app_file *f, struct app_file_md *md, uint32_t file_hashes, const uint8_t *name,
                   uint32_t len, int hash);
/* n more bytes of an open file; data NULL: n bytes lost (a gap). */
void app_file_feed(struct app_file *f, struct app_file_md *md, const uint8_t *data, size_t n);
/* Ends f if open: how is APP_FILE_CLOSED (its digests then final when it
 * had no gap), APP_FILE_TRUNCATED or APP_FILE_ERROR. */
void app_file_close(struct app_file *f, struct app_file_md *md, enum app_file_state how);
void app_file_md_free(struct app_file_md *md);

/* The digest h of a file: 1 with *p and *len set when it is final (the
 * file closed complete, without gaps, and the digest was asked for), 0
 * when not (yet). */
int app_file_hash(const struct app_file *f, enum app_hash h, const uint8_t **p, uint32_t *len);

/* The members of EVE's "fileinfo" object for f (filename, gaps, state,
 * md5, sha1 and sha256 when final, stored false, size, tx_id), as
 * Suricata writes them. */
void app_file_eve(const struct app_file *f, uint64_t tx_id, struct jbuf *jb);

#endif
