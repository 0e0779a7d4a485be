/* spool.c - append-only disk queue; see spool.h.
 *
 * File layout: an 8-byte header holding the offset of the first
 * undelivered record, then records [u32 length][bytes]. Acknowledging a
 * record moves the header offset; when everything is delivered the file is
 * cut back to its header, so a spool that keeps up stays small.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

#define SPOOL_HDR 8u

struct spool {
    int fd;
    uint64_t max_bytes;
    uint64_t rd;            /* offset of the next record to deliver */
    uint64_t end;           /* end of the last whole record */
    uint64_t pending;
    uint32_t peeked;        /* length of the record spool_peek() returned, 0: none */
};

static int write_hdr(struct spool *s)
{
    uint64_t v = s->rd;

    return pwrite(s->fd, &v, sizeof v, 0) == (ssize_t)sizeof v ? 0 : -1;
}

/* Counts the whole records after rd; a torn last record (a crash while
 * appending) is cut off. */
static int scan(struct spool *s, uint64_t size)
{
    uint64_t off = s->rd;
    uint32_t len;

    s->pending = 0;
    while (off + 4 <= size && pread(s->fd, &len, 4, (off_t)off) == 4 && off + 4 + len <= size) {
        off += 4u + len;
        s->pending++;
    }
    s->end = off;
    if (off != size && ftruncate(s->fd, (off_t)off) < 0)
        return -1;
    return 0;
}

struct spool *spool_open(const char *path, uint64_t max_bytes, char *err, size_t errlen)
{
    struct spool *s = calloc(1, sizeof *s);
    struct stat st;
    uint64_t v = SPOOL_HDR;

    if (!s) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    s->max_bytes = max_bytes;
    s->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->fd < 0 || fstat(s->fd, &st) < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if ((uint64_t)st.st_size < SPOOL_HDR) {
        if (ftruncate(s->fd, 0) < 0 || pwrite(s->fd, &v, sizeof v, 0) != (ssize_t)sizeof v) {
            snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
            goto fail;
        }
        st.st_size = SPOOL_HDR;
    } else if (pread(s->fd, &v, sizeof v, 0) != (ssize_t)sizeof v || v < SPOOL_HDR ||
               v > (uint64_t)st.st_size) {
        v = SPOOL_HDR;     /* a damaged header: deliver everything again rather than lose it */
    }
    s->rd = v;
    if (scan(s, (uint64_t)st.st_size) < 0) {
        snprintf(err, errlen, "%s: cannot repair: %s", path, strerror(errno));
        goto fail;
    }
    return s;
fail:
    spool_close(s);
    return NULL;
}

void spool_close(struct spool *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

int spool_append(struct spool *s, const void *data, uint32_t len)
{
    char hdr[4];

    if (s->end + 4 + len > s->max_bytes)
        return -1;
    memcpy(hdr, &len, 4);
    if (pwrite(s->fd, hdr, 4, (off_t)s->end) != 4 ||
        pwrite(s->fd, data, len, (off_t)(s->end + 4)) != (ssize_t)len) {
        /* leave no torn record behind */
        if (ftruncate(s->fd, (off_t)s->end) < 0)
            return -1;
        return -1;
    }
    s->end += 4u + len;
    s->pending++;
    return 0;
}

int64_t spool_peek(struct spool *s, char **buf, size_t *cap)
{
    uint32_t len;

    if (s->pending == 0)
        return 0;
    if (pread(s->fd, &len, 4, (off_t)s->rd) != 4)
        return -1;
    if (*cap < (size_t)len + 1) {
        char *b = realloc(*buf, (size_t)len + 1);

        if (!b)
            return -1;
        *buf = b;
        *cap = (size_t)len + 1;
    }
    if (pread(s->fd, *buf, len, (off_t)(s->rd + 4)) != (ssize_t)len)
        return -1;
    (*buf)[len] = '\0';
    s->peeked = len;
    return len ? (int64_t)len : -1;
}

void spool_ack(struct spool *s)
{
    if (s->pending == 0)
        return;
    s->rd += 4u + s->peeked;
    s->peeked = 0;
    s->pending--;
    if (s->pending == 0) {
        /* all delivered: start over at the header */
        s->rd = s->end = SPOOL_HDR;
        if (ftruncate(s->fd, SPOOL_HDR) < 0)
            s->end = s->rd;    /* nothing to do but go on; the header below still says "empty" */
    }
    write_hdr(s);
}

uint64_t spool_pending(const struct spool *s)
{
    return s->pending;
}

uint64_t spool_bytes(const struct spool *s)
{
    return s->end;
}

int spool_give(struct spool *s, unsigned uid, unsigned gid)
{
    return fchown(s->fd, uid, gid);
}
