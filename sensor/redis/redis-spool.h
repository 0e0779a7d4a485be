/* redis-spool.h - the on-disk queue of alerts Redis could not take yet.
 *
 * One file per sensor id, <dir>/<sensor-id>.alerts, of records
 *     "<seq> <length>\n" <length bytes of EVE JSON> "\n"
 * appended in order, and <dir>/<sensor-id>.offset holding how far they have
 * been delivered. Records are read back from that offset, in order, and
 * committed once Redis acknowledged them; when every record is delivered
 * the file is emptied. A record delivered but not yet committed when the
 * sensor stops is read again next time: the alert script drops it by its
 * sequence number, so replays never duplicate.
 *
 * The folder is created owner-only (0700) and the files 0600; an existing
 * folder readable by others is made owner-only. The spool file is locked
 * (flock) so two sensors with the same id cannot share it. The file never
 * grows past max_bytes: records that would are refused, and the caller
 * counts and logs them. A record cut short by a crash is dropped (and
 * logged) when the spool is opened.
 *
 * Not thread-safe: one owner (the Redis thread).
 */
#ifndef LW_REDIS_SPOOL_H
#define LW_REDIS_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include "redis-cmd.h"

struct rspool;

/* Opens (creating as needed) the spool of sensor id in dir. Returns NULL
 * with a one-line reason in err. */
struct rspool *rspool_open(const char *dir, const char *id, uint64_t max_bytes, char *err, size_t errlen);
void rspool_close(struct rspool *s);

/* Appends a[0..n) in order and syncs them to disk. Returns how many were
 * written: those after it would have grown the file past max_bytes (or hit
 * a write error, logged) were not. */
size_t rspool_append(struct rspool *s, const struct ralert *a, size_t n);

/* Reads up to max records (and about max_bytes) from the delivered offset
 * into a, whose line pointers stay valid until the next read or close.
 * Returns the number read; 0 when the spool is empty. */
size_t rspool_read(struct rspool *s, struct ralert *a, size_t max, size_t max_bytes);
/* The first n records of the last read were delivered. Returns 0 or -1. */
int rspool_commit(struct rspool *s, size_t n);

/* Records not delivered yet, and their bytes. */
uint64_t rspool_pending(const struct rspool *s);
uint64_t rspool_bytes(const struct rspool *s);
/* The highest sequence number in the file (0 when empty). */
uint64_t rspool_last_seq(const struct rspool *s);
const char *rspool_path(const struct rspool *s);

#endif
