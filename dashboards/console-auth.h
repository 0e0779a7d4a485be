/* console-auth.h - console users and sessions.
 *
 * The users file holds one "name:hash" line per user; the hash is crypt(3)
 * yescrypt ("$y$...", libxcrypt, salted, slow by design) and the file is
 * written 0600. Sessions are random 256-bit tokens kept in memory only (a
 * restart logs everyone out), valid for SESSION_TTL seconds.
 */
#ifndef LW_CONSOLE_AUTH_H
#define LW_CONSOLE_AUTH_H

#include <stddef.h>

#define SESSION_TTL   (12 * 3600)
#define USER_NAME_MAX 64

/* Whether name is a valid user name: 1 to 64 of [A-Za-z0-9._@-]. */
int user_name_valid(const char *name);

/* Adds or replaces user `name` with a new salted hash of `password` in the
 * users file at path (rewritten atomically, mode 0600). Returns 0, or -1
 * with the reason in err. */
int users_add(const char *path, const char *name, const char *password,
              char *err, size_t errlen);

/* Whether name/password match a line of the users file. The file is read
 * at each call, so users added while the console runs can log in. */
int users_verify(const char *path, const char *name, const char *password);

/* Creates a session for user; writes its token (64 hex digits + NUL) into
 * tok. Returns 0, or -1 when no random bytes or no room. */
int session_create(const char *user, char tok[65]);

/* Copies the user of a live session into user (USER_NAME_MAX + 1 bytes).
 * Returns 1 when found, 0 otherwise. */
int session_lookup(const char *tok, char *user);

void session_delete(const char *tok);

#endif
