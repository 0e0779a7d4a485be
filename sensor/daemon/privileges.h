/* privileges.h - dropping root after the capture is open.
 *
 * linkwatch starts as root (or with CAP_NET_RAW) to open the capture, then
 * becomes privileges.user / privileges.group (optionally inside
 * privileges.chroot) before it parses the first packet, as OpenBSD tcpdump
 * does. Everything opened at start-up that the sensor writes later (log
 * folder, EVE files, spool, control socket) is handed to that user first,
 * on its descriptor (fsafe.h: never by a name a link could redirect), so
 * rotation, reopen and the spool keep working.
 */
#ifndef LW_PRIVILEGES_H
#define LW_PRIVILEGES_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

struct privileges {
    int drop;                  /* a user is configured: privileges_drop() changes ids */
    int dropped;               /* privileges_drop() succeeded */
    uid_t uid;
    gid_t gid;
    char *user;                /* for messages */
    char *chroot;              /* NULL: no chroot */
};

/* Looks up privileges.user and privileges.group (names or numeric ids;
 * the group defaults to the user's primary group) while /etc is still
 * reachable. No user configured: p->drop is 0 and nothing will change.
 * Sets no_new_privs in every case (linkwatch never executes a program);
 * call it before starting threads.
 * Returns 0, or -1 with a reason in err (unknown user, a group without a
 * user, a user configured but linkwatch not started as root). */
int privileges_resolve(struct privileges *p, const struct lw_config *cfg, char *err, size_t errlen);
void privileges_free(struct privileges *p);

/* Gives fd (a folder, or a file with one link, that linkwatch created)
 * to the configured user and group. Does nothing when no drop is
 * configured. Returns 0 or -1 with errno set. */
int privileges_give(const struct privileges *p, int fd);

/* Whether the configured user may write into folder dirfd (mode bits and
 * ownership only; ACLs are not looked at). */
int privileges_can_write(const struct privileges *p, int dirfd);

/* chroot (when configured), then setgroups, setgid, setuid, and checks
 * that root cannot be regained (setuid(0) must fail) and that every thread
 * runs with the new ids. Idempotent: a second call does nothing. Returns 0,
 * or -1 with a reason in err; the caller must then stop, as the process may
 * be half-dropped. */
int privileges_drop(struct privileges *p, char *err, size_t errlen);

#endif
