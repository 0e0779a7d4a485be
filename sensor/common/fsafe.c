/* fsafe.c - files and folders opened without following links; see fsafe.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsafe.h"
#include "log.h"

static const char *type_name(mode_t m)
{
    return S_ISLNK(m) ? "a symbolic link" : S_ISDIR(m) ? "a folder" : S_ISREG(m) ? "a file" :
           S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : S_ISCHR(m) || S_ISBLK(m) ? "a device" :
           "of an unknown type";
}

/* Why name in dirfd could not be opened (errno e) as a folder (want_dir)
 * or a regular file: a link or a wrong type says so, anything else is e. */
static void explain(int dirfd, const char *name, const char *shown, int want_dir, int e, char *err,
                    size_t errlen)
{
    struct stat st;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        (S_ISLNK(st.st_mode) || (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))) {
        snprintf(err, errlen, "%s: is %s, not %s; refused", shown, type_name(st.st_mode),
                 want_dir ? "a folder" : "a regular file");
        return;
    }
    snprintf(err, errlen, "%s: cannot open: %s", shown, strerror(e));
}

int fs_split(const char *path, char *dir, char *base)
{
    size_t n = strlen(path);
    const char *slash;

    if (n == 0)
        return -1;
    while (n > 1 && path[n - 1] == '/')
        n--;
    slash = memrchr(path, '/', n);
    if (!slash) {
        strcpy(dir, ".");
        memcpy(base, path, n);
        base[n] = '\0';
    } else if (slash == path) {
        strcpy(dir, "/");
        if (n == 1)
            strcpy(base, ".");
        else {
            memcpy(base, path + 1, n - 1);
            base[n - 1] = '\0';
        }
    } else {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
        memcpy(base, slash + 1, n - (size_t)(slash - path) - 1);
        base[n - (size_t)(slash - path) - 1] = '\0';
    }
    return 0;
}

/* Opens (creating when asked) folder name of dirfd, not following a link. */
static int dir_at(int dirfd, const char *name, const char *shown, int create, mode_t mode, int *made,
                  char *err, size_t errlen)
{
    int fd, mk = 0;

    if (strcmp(name, "..") == 0) {
        snprintf(err, errlen, "%s: '..' is not allowed here", shown);
        return -1;
    }
    if (create) {
        if (mkdirat(dirfd, name, mode) == 0)
            mk = 1;
        else if (errno != EEXIST) {
            snprintf(err, errlen, "%s: cannot create: %s", shown, strerror(errno));
            return -1;
        }
    }
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        explain(dirfd, name, shown, 1, errno, err, errlen);
        return -1;
    }
    /* mkdir's mode went through the umask: made exactly what was asked. */
    if (mk && fchmod(fd, mode) < 0) {
        snprintf(err, errlen, "%s: cannot set its mode: %s", shown, strerror(errno));
        close(fd);
        return -1;
    }
    if (made)
        *made = mk;
    return fd;
}

int fs_open_dir(const char *path, int create, mode_t mode, int *made, char *err, size_t errlen)
{
    size_t n = strlen(path) + 2;
    char *dir = malloc(n), *base = malloc(n);
    int pfd = -1, fd = -1;

    if (made)
        *made = 0;
    if (!dir || !base) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    if (fs_split(path, dir, base) < 0) {
        snprintf(err, errlen, "empty folder name");
        goto out;
    }
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        /* "/", "x/.": nothing of ours to refuse; the operator's path as written. */
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0) {
        snprintf(err, errlen, "%s: cannot %s: its folder %s: %s", path, create ? "create" : "open", dir,
                 strerror(errno));
        goto out;
    }
    fd = dir_at(pfd, base, path, create, mode, made, err, errlen);
out:
    if (pfd >= 0)
        close(pfd);
    free(dir);
    free(base);
    return fd;
}

int fs_open_dir_at(int dirfd, const char *rel, const char *shown, int create, mode_t mode, int *made,
                   char *err, size_t errlen)
{
    char *copy, *save = NULL, *comp;
    int cur = dirfd, next;

    if (made)
        *made = 0;
    if (rel[0] == '/')
        return fs_open_dir(rel, create, mode, made, err, errlen);
    if (!(copy = strdup(rel))) {
        snprintf(err, errlen, "%s: out of memory", shown);
        return -1;
    }
    for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
        if (strcmp(comp, ".") == 0)
            continue;
        next = dir_at(cur, comp, shown, create, mode, made, err, errlen);
        if (cur != dirfd)
            close(cur);
        cur = next;
        if (cur < 0)
            break;
    }
    free(copy);
    if (cur == dirfd && (cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) < 0)
        snprintf(err, errlen, "%s: %s", shown, strerror(errno));
    return cur;
}

/* The checks of fs_open_file_at() on an open descriptor. Returns 0 or -1. */
static int check_file(int fd, const char *shown, int writing, mode_t mode, int created, char *err,
                      size_t errlen)
{
    struct stat st;

    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", shown, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: is %s, not a regular file; refused", shown, type_name(st.st_mode));
        return -1;
    }
    if (st.st_nlink != 1) {
        snprintf(err, errlen, "%s: has %lu hard links; refused (writing it would write another name too)",
                 shown, (unsigned long)st.st_nlink);
        return -1;
    }
    if (created) {
        if (fchmod(fd, mode) < 0) {
            snprintf(err, errlen, "%s: cannot set its mode: %s", shown, strerror(errno));
            return -1;
        }
    } else if (writing && (st.st_mode & 07777 & ~mode)) {
        if (fchmod(fd, st.st_mode & mode & 07777) == 0)
            log_warning("%s: was mode %04o; narrowed to %04o", shown, (unsigned)(st.st_mode & 07777),
                        (unsigned)(st.st_mode & mode & 07777));
        else
            log_warning("%s: mode %04o is more open than %04o and cannot be changed: %s", shown,
                        (unsigned)(st.st_mode & 07777), (unsigned)mode, strerror(errno));
    }
    return 0;
}

int fs_open_file_at(int dirfd, const char *name, const char *shown, int flags, mode_t mode, int *created,
                    char *err, size_t errlen)
{
    /* Never O_TRUNC at open: a file refused below must be left as it was.
     * O_NONBLOCK so a FIFO put there cannot hang the open. */
    int base = (flags & (O_ACCMODE | O_APPEND)) | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    int writing = (flags & O_ACCMODE) != O_RDONLY;
    int fd = -1, mk = 0;

    if (created)
        *created = 0;
    if (strchr(name, '/')) {
        snprintf(err, errlen, "%s: not a plain file name", shown);
        return -1;
    }
    if (flags & O_CREAT) {
        fd = openat(dirfd, name, base | O_CREAT | O_EXCL, mode);
        if (fd >= 0)
            mk = 1;
        else if (errno != EEXIST) {
            snprintf(err, errlen, "%s: cannot create: %s", shown, strerror(errno));
            return -1;
        }
    }
    if (fd < 0 && (fd = openat(dirfd, name, base)) < 0) {
        int e = errno;

        explain(dirfd, name, shown, 0, e, err, errlen);
        errno = e;
        return -1;
    }
    if (check_file(fd, shown, writing, mode, mk, err, errlen) < 0) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    if (fcntl(fd, F_SETFL, flags & O_APPEND) < 0 || ((flags & O_TRUNC) && ftruncate(fd, 0) < 0)) {
        snprintf(err, errlen, "%s: %s", shown, strerror(errno));
        close(fd);
        return -1;
    }
    if (created)
        *created = mk;
    return fd;
}

int fs_replace_at(int dirfd, const char *name, const char *shown, const void *data, size_t len,
                  mode_t mode, long gid, int sync, char *err, size_t errlen)
{
    char tmp[512];
    const char *p = data;
    int fd;

    if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", name, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: name too long", shown);
        return -1;
    }
    unlinkat(dirfd, tmp, 0);            /* a leftover, or a link someone put there: the name, never its target */
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create its temporary %s: %s", shown, tmp, strerror(errno));
        return -1;
    }
    if (fchmod(fd, mode) < 0 || (gid >= 0 && fchown(fd, (uid_t)-1, (gid_t)gid) < 0))
        goto fail;
    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        p += w;
        len -= (size_t)w;
    }
    if (sync && fsync(fd) < 0)
        goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (renameat(dirfd, tmp, dirfd, name) < 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "%s: %s", shown, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlinkat(dirfd, tmp, 0);
    return -1;
}

int fs_give(int fd, unsigned uid, unsigned gid)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode) && !(S_ISREG(st.st_mode) && st.st_nlink == 1)) {
        errno = EINVAL;
        return -1;
    }
    return fchown(fd, uid, gid);
}
