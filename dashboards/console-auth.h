/* console-auth.h - console users: the users file and password checks.
 *
 * The users file holds one "name:hash" line per user; the hash is crypt(3)
 * yescrypt ("$y$...", libxcrypt, salted, slow by design). It is written
 * through a new temporary file renamed over it (fsafe.h: a link at either
 * name is never followed), mode 0640 with the group of the console's
 * account when root writes it for one, else 0600.
 *
 * Readers keep the file in memory and read it again when it changed (its
 * inode, size or modification time), so a user added, removed or given a
 * new password takes effect at the next request. Each user has a
 * fingerprint (a SHA-256 of its hash line): a session remembers it, and is
 * over when the user's fingerprint is no longer the same.
 *
 * Every check runs yescrypt exactly once, also for a name that is not in
 * the file (against a dummy hash made at start), so the time taken does not
 * tell which names exist.
 */
#ifndef LW_CONSOLE_AUTH_H
#define LW_CONSOLE_AUTH_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define USER_NAME_MAX 64
#define USER_FP_LEN   32          /* hex digits of a fingerprint */

/* Whether name is a valid user name: 1 to 64 of [A-Za-z0-9._@-]. */
int user_name_valid(const char *name);

/* Adds or replaces user `name` with a new salted hash of `password` in the
 * users file at path. gid >= 0: the file is made 0640 and given that group
 * (the console's account reads it after dropping root); else 0600.
 * Returns 0, or -1 with the reason in err. */
int users_add(const char *path, const char *name, const char *password, long gid, char *err, size_t errlen);

/* Removes user `name` from the users file (same modes as users_add).
 * Returns 0, 1 when there was no such user, -1 with err. */
int users_remove(const char *path, const char *name, long gid, char *err, size_t errlen);

/* Makes the dummy hash unknown names are checked against. Call once at
 * start. Returns 0 or -1 (no yescrypt). */
int users_init(void);

/* Checks name/password against the users file (read again when it
 * changed), with one yescrypt run whatever the outcome. Returns 1 and the
 * user's fingerprint in fp (USER_FP_LEN + 1 bytes) when they match, 0 when
 * not (or the file cannot be read). */
int users_verify(const char *path, const char *name, const char *password, char *fp);

/* The password hashes users_verify() ran, by setting, for /metrics. */
void users_prom(FILE *out);

/* The current fingerprint of user name into fp. Returns 1, or 0 when there
 * is no such user (now). */
int users_fingerprint(const char *path, const char *name, char *fp);

#endif
