/* app-file.h - a file carried by an application protocol (an SMB read or
 * write), as Suricata's file tracking logs it: its name, its state, its
 * size, whether bytes were lost inside it, and its digests once it closed
 * complete.
 *
 * SHA-256 is computed for every file; MD5 and SHA-1 when the rules read
 * them (app_limits.file_hashes, APP_FILE_*). The digest contexts are the
 * file's own (libcrypto's, outside app_mem), made at open and freed at
 * close or by app_file_free(). A file with a gap gets no digest.
 */
#ifndef LW_APP_FILE_H
#define LW_APP_FILE_H

#include <stddef.h>
#include <stdint.h>

struct jbuf;

enum app_file_state { APP_FILE_NONE = 0, APP_FILE_OPEN, APP_FILE_CLOSED, APP_FILE_TRUNCATED, APP_FILE_ERROR };

enum app_hash { APP_HASH_SHA256 = 0, APP_HASH_MD5, APP_HASH_SHA1, APP_HASH_COUNT };
#define APP_HASH_BIT(h) (1u << (h))

struct app_file {
    uint8_t  state;                   /* enum app_file_state */
    uint8_t  gaps;                    /* bytes were lost inside it */
    uint8_t  hashing;                 /* APP_HASH_BIT of each digest under way */
    uint8_t  hashed;                  /* APP_HASH_BIT of each digest below that is final */
    uint8_t  sha256[32];
    uint8_t  md5[16];
    uint8_t  sha1[20];
    uint64_t size;                    /* bytes of the file seen (gaps included) */
    void    *md[APP_HASH_COUNT];      /* libcrypto digest contexts while open */
};

/* Opens f (zeroed, or closed before): OPEN, size 0, computing SHA-256 and
 * the digests file_hashes (APP_FILE_MD5, APP_FILE_SHA1) asks for. A digest
 * whose context cannot be had is simply not computed. */
void app_file_open(struct app_file *f, uint32_t file_hashes);

/* n more bytes of an open file; data NULL: n bytes were lost (a gap). */
void app_file_feed(struct app_file *f, const uint8_t *data, size_t n);

/* Ends an open file as how (CLOSED: its digests are final unless it had a
 * gap; TRUNCATED, ERROR). Nothing when the file is not open. */
void app_file_close(struct app_file *f, enum app_file_state how);

/* Frees what an open file holds (its digest contexts); it is then closed
 * TRUNCATED. */
void app_file_free(struct app_file *f);

/* Digest h of f: 1 with *p and *len when final, else 0. */
int app_file_hash(const struct app_file *f, enum app_hash h, const uint8_t **p, uint32_t *len);

/* Suricata's name of a file state: "OPEN", "CLOSED", "TRUNCATED", ... */
const char *app_file_state_name(enum app_file_state s);

/* Writes the members of EVE's "fileinfo" object for f, named name, of
 * transaction tx_id: filename, gaps, state, md5, sha1 and sha256 when
 * final, stored (false), size, tx_id. */
void app_file_eve(const struct app_file *f, const uint8_t *name, size_t name_len, uint64_t tx_id, struct jbuf *jb);

#endif
