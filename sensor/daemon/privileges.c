/* privileges.c - dropping root after the capture is open; see privileges.h. */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsafe.h"
#include "log.h"
#include "privileges.h"
#include "util.h"

static int lookup_group(const char *name, gid_t *gid)
{
    struct group *gr = getgrnam(name);
    unsigned long v;

    if (gr) {
        *gid = gr->gr_gid;
        return 0;
    }
    if (lw_parse_id(name, &v) < 0)
        return -1;
    *gid = (gid_t)v;
    return 0;
}

int privileges_resolve(struct privileges *p, const struct lw_config *cfg, char *err, size_t errlen)
{
    const char *user = cfg->privileges.user, *group = cfg->privileges.group;
    const char *root = cfg->privileges.chroot;

    memset(p, 0, sizeof *p);
    /* linkwatch never runs another program: no set-user-id one could give
     * root back. Set before any thread starts, since threads inherit it. */
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (!user || !user[0]) {
        if ((group && group[0]) || (root && root[0])) {
            snprintf(err, errlen, "privileges.group and privileges.chroot need privileges.user");
            return -1;
        }
        return 0;
    }
    if (lw_lookup_user(user, &p->uid, &p->gid) < 0) {
        snprintf(err, errlen, "privileges.user: %s: no such user", user);
        return -1;
    }
    if (p->uid == 0) {
        snprintf(err, errlen, "privileges.user: %s: is root; name an unprivileged user", user);
        return -1;
    }
    if (group && group[0] && lookup_group(group, &p->gid) < 0) {
        snprintf(err, errlen, "privileges.group: %s: no such group", group);
        return -1;
    }
    if (geteuid() != 0) {
        /* Already the user (systemd User=, or a re-exec): nothing to drop. */
        if (geteuid() == p->uid && getegid() == p->gid && !(root && root[0]))
            return 0;
        snprintf(err, errlen, "privileges.user: %s: linkwatch must start as root to change user "
                 "(it runs as uid %u)", user, (unsigned)geteuid());
        return -1;
    }
    p->user = strdup(user);
    p->chroot = root && root[0] ? strdup(root) : NULL;
    if (!p->user || (root && root[0] && !p->chroot)) {
        privileges_free(p);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->drop = 1;
    return 0;
}

void privileges_free(struct privileges *p)
{
    free(p->user);
    p->user = NULL;
    free(p->chroot);
    p->chroot = NULL;
}

int privileges_give(const struct privileges *p, int fd)
{
    if (!p->drop || p->dropped)
        return 0;
    return fs_give(fd, p->uid, p->gid);
}

int privileges_can_write(const struct privileges *p, int dirfd)
{
    struct stat st;

    if (!p->drop)
        return 1;
    if (fstat(dirfd, &st) < 0)
        return 0;
    if (st.st_uid == p->uid)
        return (st.st_mode & S_IWUSR) && (st.st_mode & S_IXUSR);
    if (st.st_gid == p->gid)
        return (st.st_mode & S_IWGRP) && (st.st_mode & S_IXGRP);
    return (st.st_mode & S_IWOTH) && (st.st_mode & S_IXOTH);
}

/* Every thread's real, effective, saved and filesystem ids from
 * /proc/self/task/N/status ("Uid:\t1\t1\t1\t1"). glibc changes the ids of
 * all threads, but the exporter, control and metrics threads started
 * before the drop are exactly what we must not get wrong. Returns 0, 1
 * when /proc is not there (inside a chroot), -1 on a mismatch. */
static int check_threads(uid_t uid, gid_t gid, char *err, size_t errlen)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int rc = 0;

    if (!d)
        return 1;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        char path[64], line[256];
        FILE *f;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%.20s/status", e->d_name);
        if (!(f = fopen(path, "r")))
            continue;          /* the thread ended */
        while (fgets(line, sizeof line, f)) {
            unsigned long v[4];
            int isuid = strncmp(line, "Uid:", 4) == 0;

            if (!isuid && strncmp(line, "Gid:", 4) != 0)
                continue;
            if (sscanf(line + 4, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4)
                continue;
            for (int i = 0; i < 4; i++)
                if (v[i] != (isuid ? (unsigned long)uid : (unsigned long)gid)) {
                    snprintf(err, errlen, "thread %s still has %s %lu after the drop", e->d_name,
                             isuid ? "uid" : "gid", v[i]);
                    rc = -1;
                }
        }
        fclose(f);
    }
    closedir(d);
    return rc;
}

int privileges_drop(struct privileges *p, char *err, size_t errlen)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;

    if (!p->drop || p->dropped)
        return 0;
    if (p->chroot && (chroot(p->chroot) < 0 || chdir("/") < 0)) {
        snprintf(err, errlen, "privileges.chroot: %s: %s", p->chroot, strerror(errno));
        return -1;
    }
    if (setgroups(1, &p->gid) < 0 || setresgid(p->gid, p->gid, p->gid) < 0 ||
        setresuid(p->uid, p->uid, p->uid) < 0) {
        snprintf(err, errlen, "privileges: cannot become %s (uid %u gid %u): %s", p->user,
                 (unsigned)p->uid, (unsigned)p->gid, strerror(errno));
        return -1;
    }
    /* The drop must be final: a process that can get root back has gained nothing. */
    if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) {
        snprintf(err, errlen, "privileges: root could be regained after the drop");
        return -1;
    }
    if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0 ||
        r != p->uid || e != p->uid || s != p->uid || rg != p->gid || eg != p->gid || sg != p->gid) {
        snprintf(err, errlen, "privileges: ids are not all %u/%u after the drop",
                 (unsigned)p->uid, (unsigned)p->gid);
        return -1;
    }
    if (check_threads(p->uid, p->gid, err, errlen) < 0)
        return -1;
    p->dropped = 1;
    log_info("privileges: running as %s (uid %u, gid %u)%s%s", p->user, (unsigned)p->uid,
             (unsigned)p->gid, p->chroot ? " in chroot " : "", p->chroot ? p->chroot : "");
    return 0;
}
