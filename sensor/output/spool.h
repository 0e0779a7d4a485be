/* spool.h - an append-only disk queue of records, read back in order.
 *
 * Alerts that an exporter cannot take right now (its queue is full, or its
 * sink is down) go here and are delivered later, in order, so none is lost.
 * A record is a 4-byte length and the bytes. The file survives a restart:
 * spool_open() finds what an earlier run left and spool_read() delivers it
 * first. Size is bounded: an append that would pass max_bytes is refused
 * (the caller counts and logs it). Not thread-safe: the caller serialises.
 */
#ifndef LW_SPOOL_H
#define LW_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

/* Opens (creating, owner-only) the spool file at path. Returns NULL with
 * the reason in err. */
struct spool *spool_open(const char *path, uint64_t max_bytes, char *err, size_t errlen);
void spool_close(struct spool *s);

/* Appends one record. Returns 0, or -1 when full or on a write error. */
int spool_append(struct spool *s, const void *data, uint32_t len);

/* Reads the next undelivered record into *buf (grown as needed, caller
 * frees). Returns its length, 0 when there is none, -1 on a read error.
 * The record counts as delivered only after spool_ack(). */
int64_t spool_peek(struct spool *s, char **buf, size_t *cap);
void spool_ack(struct spool *s);

/* Records appended and not yet acknowledged; bytes on disk. */
uint64_t spool_pending(const struct spool *s);
uint64_t spool_bytes(const struct spool *s);

/* Gives the spool file to uid/gid (before linkwatch drops root). Returns 0 or -1. */
int spool_give(struct spool *s, unsigned uid, unsigned gid);

#endif
