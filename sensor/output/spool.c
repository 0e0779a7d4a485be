/* spool.c - on-disk alert queue; see spool.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "fsafe.h"
#include "log.h"

/* Longest record header: two 20-digit numbers, a space and a newline. */
#define HDR_MAX 48

struct spool {
    int fd;
    int dirfd;                   /* the folder */
    char *path, *offpath;        /* for messages */
    char *offname;               /* the offset file's name in the folder */
    uint64_t max_bytes;
    uint64_t size;               /* file size */
    uint64_t off;                /* delivered up to here */
    uint64_t pending;            /* records from off to size */
    uint64_t last_seq;
    char *rbuf;                  /* the last read's records */
    size_t rcap;
    uint64_t roff[1024 + 1];     /* file offset after each record of the last read */
    size_t rn;
};

/* Reads record i's header at off: its seq and line length, and the offset
 * of its line. Returns the offset after the record, 0 when the record is
 * incomplete or malformed. */
static uint64_t record_at(const struct spool *s, uint64_t off, uint64_t *seq, uint64_t *len,
                          uint64_t *line)
{
    char h[HDR_MAX + 1], *nl, *end;
    ssize_t got = pread(s->fd, h, HDR_MAX, (off_t)off);
    unsigned long long a, b;

    if (got <= 0)
        return 0;
    h[got] = '\0';
    nl = memchr(h, '\n', (size_t)got);
    if (nl == NULL)
        return 0;
    *nl = '\0';
    a = strtoull(h, &end, 10);
    if (end == h || *end != ' ')
        return 0;
    b = strtoull(end + 1, &end, 10);
    if (*end != '\0' || b > s->size)
        return 0;
    *seq = a;
    *len = b;
    *line = off + (uint64_t)(nl - h) + 1;
    if (*line + b + 1 > s->size)
        return 0;
    return *line + b + 1;
}

/* Walks the undelivered records: counts them, finds the last seq, and cuts
 * a torn record at the end (a crash mid-append). */
static int spool_scan(struct spool *s)
{
    uint64_t off = s->off, next, seq, len, line;

    s->pending = 0;
    while (off < s->size && (next = record_at(s, off, &seq, &len, &line)) != 0) {
        s->pending++;
        if (seq > s->last_seq)
            s->last_seq = seq;
        off = next;
    }
    if (off < s->size) {
        log_warning("spool %s: %llu bytes at the end are not a whole record (cut short by a "
                    "crash?), dropped", s->path, (unsigned long long)(s->size - off));
        if (ftruncate(s->fd, (off_t)off) < 0)
            return -1;
        s->size = off;
    }
    return 0;
}

/* The delivered offset, 0 when there is none (or it cannot be read: the
 * alerts are then delivered again rather than lost). */
static uint64_t read_offset(const struct spool *s)
{
    char err[512], buf[32];
    int fd = fs_open_file_at(s->dirfd, s->offname, s->offpath, O_RDONLY, 0600, NULL, err, sizeof err);
    ssize_t n;

    if (fd < 0) {
        if (errno != ENOENT)
            log_warning("spool: %s; its alerts are delivered again from the start", err);
        return 0;
    }
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtoull(buf, NULL, 10);
}

/* Opens the spool's folder (c->dirfd unset): its own one created and
 * checked (own_dir in spool.h), else one that must exist. Returns the
 * descriptor or -1 with err. */
static int open_dir(const struct spool_config *c, char *err, size_t errlen)
{
    char why[512];
    struct stat st;
    uid_t me = geteuid();
    int fd = fs_open_dir(c->dir, c->own_dir, 0700, NULL, why, sizeof why);

    if (fd < 0) {
        snprintf(err, errlen, "%s %s", c->dir_key, why);
        return -1;
    }
    if (!c->own_dir)
        return fd;
    if (fstat(fd, &st) < 0 || (st.st_uid != me && (c->handed_uid <= 0 || st.st_uid != (uid_t)c->handed_uid))) {
        snprintf(err, errlen, "%s %s: owned by uid %u, not by this user (uid %u)%s", c->dir_key, c->dir,
                 (unsigned)st.st_uid, (unsigned)me, c->handed_uid > 0 ? " nor privileges.user" : "");
        close(fd);
        return -1;
    }
    if ((st.st_mode & 077) != 0) {
        if (fchmod(fd, 0700) < 0) {
            snprintf(err, errlen, "%s %s: cannot make it owner-only: %s", c->dir_key, c->dir, strerror(errno));
            close(fd);
            return -1;
        }
        log_warning("%s %s: was open to others (mode %03o); made owner-only (700)",
                    c->dir_key, c->dir, (unsigned)(st.st_mode & 0777));
    }
    return fd;
}

/* Written aside and renamed: a crash leaves the old offset or the new. */
static int write_offset(const struct spool *s)
{
    char buf[32], err[512];
    int n = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)s->off);

    if (fs_replace_at(s->dirfd, s->offname, s->offpath, buf, (size_t)n, 0600, -1, 0, err, sizeof err) < 0) {
        log_error("spool: %s", err);
        return -1;
    }
    return 0;
}

struct spool *spool_open(const struct spool_config *c, char *err, size_t errlen)
{
    struct spool *s = calloc(1, sizeof *s);
    char *name = NULL;
    struct stat st;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->fd = s->dirfd = -1;
    s->max_bytes = c->max_bytes;
    if (c->dirfd > 0 ? (s->dirfd = fcntl(c->dirfd, F_DUPFD_CLOEXEC, 0)) < 0 : (s->dirfd = open_dir(c, err, errlen)) < 0) {
        if (c->dirfd > 0)
            snprintf(err, errlen, "spool %s: %s", c->dir, strerror(errno));
        goto fail;
    }
    if (asprintf(&s->path, "%s/%s.alerts", c->dir, c->id) < 0)
        s->path = NULL;
    if (s->path && asprintf(&s->offpath, "%s/%s.offset", c->dir, c->id) < 0)
        s->offpath = NULL;
    if (s->offpath && asprintf(&s->offname, "%s.offset", c->id) < 0)
        s->offname = NULL;
    if (s->offname && asprintf(&name, "%s.alerts", c->id) < 0)
        name = NULL;
    if (!name) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s->fd = fs_open_file_at(s->dirfd, name, s->path, O_RDWR | O_CREAT | O_APPEND, 0600, NULL, err, errlen);
    if (s->fd < 0)
        goto fail;
    if (flock(s->fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, errlen, "spool %s: in use by another linkwatch (same sensor-id and %s?)",
                 s->path, c->dir_key);
        goto fail;
    }
    if (fstat(s->fd, &st) < 0) {
        snprintf(err, errlen, "spool %s: %s", s->path, strerror(errno));
        goto fail;
    }
    s->size = (uint64_t)st.st_size;
    s->off = read_offset(s);
    if (s->off > s->size)
        s->off = 0;       /* the file was replaced: deliver it all again rather than lose it */
    if (spool_scan(s) < 0) {
        snprintf(err, errlen, "spool %s: %s", s->path, strerror(errno));
        goto fail;
    }
    free(name);
    return s;
fail:
    free(name);
    spool_close(s);
    return NULL;
}

void spool_close(struct spool *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s->path);
    free(s->offpath);
    free(s->offname);
    free(s->rbuf);
    free(s);
}

size_t spool_append(struct spool *s, const struct spool_rec *a, size_t n)
{
    char *buf = NULL;
    size_t len = 0, i;
    FILE *m = open_memstream(&buf, &len);
    uint64_t room = s->max_bytes > s->size ? s->max_bytes - s->size : 0;
    size_t fit = 0;
    long at;

    if (m == NULL)
        return 0;
    for (i = 0; i < n; i++) {
        at = ftell(m);
        fprintf(m, "%llu %zu\n", (unsigned long long)a[i].seq, a[i].len);
        fwrite(a[i].line, 1, a[i].len, m);
        fputc('\n', m);
        if ((uint64_t)ftell(m) > room) {
            fseek(m, at, SEEK_SET);
            break;
        }
        fit = i + 1;
    }
    at = ftell(m);
    if (fclose(m) != 0 || at < 0) {
        free(buf);
        return 0;
    }
    if (at > 0 && write(s->fd, buf, (size_t)at) != (ssize_t)at) {
        log_error("spool %s: write failed: %s", s->path, strerror(errno));
        /* Drop whatever part made it: a torn record would hide the rest. */
        if (ftruncate(s->fd, (off_t)s->size) < 0)
            log_error("spool %s: cannot cut back a failed write: %s", s->path, strerror(errno));
        free(buf);
        return 0;
    }
    free(buf);
    s->size += (uint64_t)at;
    s->pending += fit;
    for (i = 0; i < fit; i++)
        if (a[i].seq > s->last_seq)
            s->last_seq = a[i].seq;
    return fit;
}

int spool_sync(struct spool *s)
{
    return fdatasync(s->fd);
}

size_t spool_read(struct spool *s, struct spool_rec *a, size_t max, size_t max_bytes)
{
    uint64_t off = s->off, end, seq, len, line, want;
    size_t n = 0;
    char *nb;

    if (max > sizeof s->roff / sizeof s->roff[0] - 1)
        max = sizeof s->roff / sizeof s->roff[0] - 1;
    /* One read of the region, then records are cut out of it. */
    want = s->size - off < max_bytes ? s->size - off : max_bytes;
    s->rn = 0;
    if (want == 0)
        return 0;
    if (want + 1 > s->rcap) {
        nb = realloc(s->rbuf, (size_t)want + 1);
        if (nb == NULL)
            return 0;
        s->rbuf = nb;
        s->rcap = (size_t)want + 1;
    }
    if (pread(s->fd, s->rbuf, (size_t)want, (off_t)off) != (ssize_t)want)
        return 0;
    while (n < max && (end = record_at(s, off, &seq, &len, &line)) != 0) {
        if (end - s->off > want) {
            if (n > 0)
                break;
            /* One record larger than max_bytes: read it alone. */
            return spool_read(s, a, 1, (size_t)(end - s->off));
        }
        a[n].seq = seq;
        a[n].line = s->rbuf + (line - s->off);
        a[n].len = (size_t)len;
        s->roff[n++] = end;
        off = end;
    }
    s->rn = n;
    return n;
}

int spool_commit(struct spool *s, size_t n)
{
    if (n == 0 || n > s->rn)
        return n == 0 ? 0 : -1;
    s->off = s->roff[n - 1];
    s->pending -= n;
    s->rn = 0;
    if (s->off >= s->size) {
        /* All delivered: start over empty. */
        if (ftruncate(s->fd, 0) < 0)
            return -1;
        s->size = s->off = 0;
        s->pending = 0;
        unlinkat(s->dirfd, s->offname, 0);
        return 0;
    }
    return write_offset(s);
}

void spool_limit(struct spool *s, uint64_t max_bytes) { s->max_bytes = max_bytes; }
uint64_t spool_pending(const struct spool *s) { return s->pending; }
uint64_t spool_bytes(const struct spool *s) { return s->size - s->off; }
uint64_t spool_file_size(const struct spool *s) { return s->size; }
uint64_t spool_last_seq(const struct spool *s) { return s->last_seq; }
const char *spool_path(const struct spool *s) { return s->path; }
int spool_dirfd(const struct spool *s) { return s->dirfd; }

int spool_give(struct spool *s, unsigned uid, unsigned gid)
{
    char err[512];
    int fd, rc;

    if (fs_give(s->fd, uid, gid) < 0)
        return -1;
    fd = fs_open_file_at(s->dirfd, s->offname, s->offpath, O_RDONLY, 0600, NULL, err, sizeof err);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    rc = fs_give(fd, uid, gid);
    close(fd);
    return rc;
}
