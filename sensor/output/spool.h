/* spool.h - the on-disk queue of alerts an exporter could not take yet.
 *
 * One file per spool, <dir>/<id>.alerts, of records
 *     "<seq> <length>\n" <length bytes of EVE JSON> "\n"
 * appended in order, and <dir>/<id>.offset holding how far they have been
 * delivered. Records are read back from that offset, in order, and
 * committed once the exporter took them; when every record is delivered
 * the file is emptied. A record delivered but not yet committed when the
 * sensor stops is read again next time, with its sequence number: the Redis
 * alert script drops such a repeat (redis-cmd.h).
 *
 * The files are created 0600, in the folder's descriptor, never through a
 * link (fsafe.h): a link, a file of another type or with another hard link
 * under a spool's name is refused. The data file is locked (flock) so two
 * sensors cannot share it. It never grows past max_bytes: records that
 * would are refused, and the caller counts and logs them. A record cut
 * short by a crash is dropped (and logged) when the spool is opened.
 * Appends are written, not synced: spool_sync() puts them on disk.
 *
 * Not thread-safe: the caller serialises every call but spool_sync(),
 * which touches only the file and may run beside the others.
 */
#ifndef LW_SPOOL_H
#define LW_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

/* One alert record: its sequence number and EVE line. */
struct spool_rec {
    uint64_t seq;
    const char *line;
    size_t len;
};

struct spool_config {
    const char *dir;             /* the folder */
    int dirfd;                   /* > 0: the folder, opened by the caller (fsafe.h), which keeps
                                  * it; else the spool opens dir itself */
    const char *id;              /* file names: <dir>/<id>.alerts, <dir>/<id>.offset */
    uint64_t max_bytes;          /* the data file never grows past it */
    const char *dir_key;         /* the setting naming dir, for messages */
    const char *size_key;        /* the setting giving max_bytes, for messages */
    /* The folder is the spool's own: created owner-only (0700) when absent,
     * refused when a user other than this one (or handed_uid) owns it,
     * made owner-only when others could read it. Otherwise it must exist
     * and is left as it is. */
    int own_dir;
    long handed_uid;             /* > 0: the user linkwatch hands its files to (privileges.user) */
};

/* Opens (creating as needed) the spool c describes. Returns NULL with a
 * one-line reason in err. */
struct spool *spool_open(const struct spool_config *c, char *err, size_t errlen);
void spool_close(struct spool *s);

/* Appends r[0..n) in order (not synced). Returns how many were written:
 * those after it would have grown the file past max_bytes (or hit a write
 * error, logged) were not. */
size_t spool_append(struct spool *s, const struct spool_rec *r, size_t n);
/* Puts what was appended on disk (fdatasync). Returns 0 or -1. */
int spool_sync(struct spool *s);

/* Reads up to max records (and about max_bytes) from the delivered offset
 * into r, whose line pointers stay valid until the next read or close.
 * Returns the number read; 0 when the spool is empty. */
size_t spool_read(struct spool *s, struct spool_rec *r, size_t max, size_t max_bytes);
/* The first n records of the last read were delivered. Returns 0 or -1. */
int spool_commit(struct spool *s, size_t n);

/* Changes the bound of the data file (records already in stay). */
void spool_limit(struct spool *s, uint64_t max_bytes);

/* Records not delivered yet, and their bytes; the data file's size. */
uint64_t spool_pending(const struct spool *s);
uint64_t spool_bytes(const struct spool *s);
uint64_t spool_file_size(const struct spool *s);
/* The highest sequence number in the file (0 when empty). */
uint64_t spool_last_seq(const struct spool *s);
const char *spool_path(const struct spool *s);
/* The spool's folder (owned by the spool). */
int spool_dirfd(const struct spool *s);

/* Gives the spool's data file (and its offset file, when there is one) to
 * uid/gid, on their descriptors (before linkwatch drops root). Returns 0 or
 * -1 with errno set. */
int spool_give(struct spool *s, unsigned uid, unsigned gid);

#endif
