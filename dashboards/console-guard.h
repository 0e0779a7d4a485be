/* console-guard.h - login throttling: per-user and per-address backoff,
 * and a bound on the password hashes computed at once.
 *
 * Every password check (page login and HTTP Basic alike) asks first. After
 * GUARD_FREE_FAILURES failures of one user name, or from one client address
 * (http-gate.h: the peer, or the client a trusted proxy names), each further
 * failure doubles the wait before the next try of that name or address
 * (1 s, 2 s, 4 s ... up to GUARD_MAX_WAIT); a try during the wait is
 * answered 429 with Retry-After and costs no hash. A success clears the
 * user's and the address's record; a record an hour quiet is forgotten.
 *
 * yescrypt takes ~30 ms and ~15 MB per check: at most GUARD_HASHES run at
 * once, and a check that cannot start within a second is answered 429 too.
 *
 * Failures are logged (user, address, count) and counted (guard_prom()).
 * Thread-safe. The tables are fixed in size (GUARD_ENTRIES); when full, the
 * record quiet the longest is reused.
 */
#ifndef LW_CONSOLE_GUARD_H
#define LW_CONSOLE_GUARD_H

#include <stdio.h>

#define GUARD_FREE_FAILURES 5
#define GUARD_MAX_WAIT      900      /* seconds */
#define GUARD_HASHES        2
#define GUARD_ENTRIES       4096

/* Seconds user (may be NULL) or addr must still wait before a try; 0: go. */
unsigned guard_wait(const char *user, const char *addr);
/* Records a failed or a successful check. */
void guard_failed(const char *user, const char *addr, const char *how);
void guard_succeeded(const char *user, const char *addr);
/* Counts a try refused by guard_wait() or guard_hash_enter(). */
void guard_throttled(void);

/* Takes one of the GUARD_HASHES places for a yescrypt run, waiting up to a
 * second. Returns 0 (call guard_hash_leave() after), or -1 when none
 * freed up. */
int guard_hash_enter(void);
void guard_hash_leave(void);

/* Prometheus lines: linkwatch_console_login_failures_total,
 * linkwatch_console_login_throttled_total, linkwatch_console_logins_total. */
void guard_prom(FILE *out);

#endif
