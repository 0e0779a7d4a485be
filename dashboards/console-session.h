/* console-session.h - console sessions, kept in Redis.
 *
 * A session is a random 256-bit token (the cookie). Redis holds, under the
 * SHA-256 of the token (so whoever reads Redis cannot take sessions over):
 *
 *   <prefix>:{console}:session:<sha256>   hash: user, fp, created
 *                                          expires after `idle` seconds unused
 *   <prefix>:{console}:sessions:<user>    sorted set: the user's sessions by creation
 *
 * so a console restart, or a second console behind the same proxy, keeps
 * them. A session ends when it was not used for `idle` seconds, `ttl`
 * seconds after it began, at logout, at "log out everywhere", or when the
 * user's fingerprint (console-auth.h: the user was removed or has a new
 * password) is no longer the one it was made with: the caller checks that.
 * A user holds at most `cap` sessions: a new one ends the oldest. Both
 * keys carry the hash tag {console}, so every session is in one slot (on a
 * Redis Cluster too), and a session is created, and the cap enforced, in
 * one script call: no transaction, no window where a user holds more.
 */
#ifndef LW_CONSOLE_SESSION_H
#define LW_CONSOLE_SESSION_H

#include <hiredis/hiredis.h>

#include "console-auth.h"
#include "redis-ctx.h"

struct session_limits {
    const char *prefix;            /* redis.prefix */
    unsigned idle;                 /* seconds */
    unsigned ttl;                  /* seconds */
    unsigned cap;                  /* sessions per user */
};

/* Creates a session of user (fp: its fingerprint); writes its token (64
 * hex digits) into tok. Returns 0, or -1 (no random bytes, Redis failed). */
int session_create(struct rcx *c, const struct session_limits *l, const char *user, const char *fp,
                   char tok[65]);

/* The session of tok: 1 with its user (USER_NAME_MAX + 1 bytes) and fp
 * (USER_FP_LEN + 1) filled and its idle time started again; 0 when there
 * is none (or it is past its ttl: then removed); -1 when Redis failed. */
int session_lookup(struct rcx *c, const struct session_limits *l, const char *tok, char *user, char *fp);

/* Ends the session of tok. */
void session_delete(struct rcx *c, const struct session_limits *l, const char *tok);
/* Ends every session of user. Returns how many, or -1 when Redis failed. */
long session_delete_user(struct rcx *c, const struct session_limits *l, const char *user);

#endif
