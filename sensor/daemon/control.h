/* control.h - the control thread: a unix socket for linkwatchctl, SIGHUP,
 * and an optional watch of the rule folders.
 *
 * The thread never touches packets. It reads one command line per
 * connection ("reload", "stats", "ruleset", "reopen-logs", "shutdown", each
 * optionally followed by " --json"), runs it through the handler the sensor
 * gave, and answers with a status line ("0" ok, "1" failed, "2" done with
 * errors) followed by the handler's text, then closes the connection.
 * SIGHUP and rule-file changes run the handler's "reload" as well (the
 * reply goes to the log only).
 *
 * Clients are read at once (up to 16; a newer one takes the oldest one's
 * place), each with 2 s to send its line, so an idle client delays no
 * other and no reload; a reply that the client does not read is given up
 * after 1 s.
 *
 * The socket is created owner-only (0600, in a folder created 0750 when
 * missing); a stale socket left by a dead sensor is replaced, a live one
 * (another sensor answers on it) is not. Anything else at its name (a
 * link, a file) is refused and left as it is (fsafe.h); the socket is
 * given away and removed through its folder's descriptor, never by a
 * path a link could redirect.
 */
#ifndef LW_CONTROL_H
#define LW_CONTROL_H

#include <stddef.h>
#include <stdio.h>

/* Runs cmd ("reload", ...) and writes the reply body to out; origin is
 * "control", "sighup" or "watch". Returns 0 ok, 1 failed, 2 done with
 * errors; -1 for an unknown command. */
typedef int (*control_handler)(void *arg, const char *cmd, const char *origin, int json, FILE *out);

struct control_config {
    const char *socket_path;       /* NULL or "": no socket */
    char **watch_dirs;             /* folders to watch for rule changes, NULL: none */
    size_t nwatch_dirs;
    unsigned debounce_ms;          /* quiet time after the last change before reloading */
    control_handler handler;
    void *arg;
};

struct control;

/* Starts the thread. A socket that cannot be set up is logged and the
 * thread runs without it (capture must not depend on it). Returns NULL
 * only when the thread itself cannot start (reason in err). */
struct control *control_start(const struct control_config *cfg, char *err, size_t errlen);

/* Stops the thread (a reload in progress finishes first), removes the
 * socket, frees everything. */
void control_stop(struct control *c);

/* Asks the control thread for a reload (SIGHUP) or for the log files to
 * be reopened (SIGUSR1: handler command "reopen-logs"). Async-signal-safe. */
void control_request_reload(void);
void control_request_reopen(void);

/* Before any thread starts: SIGHUP (reload) and SIGUSR1 (reopen) get
 * handlers that call the two above, and are blocked in the calling thread,
 * so in every thread started after it; the control thread unblocks them
 * and is the only one that takes them. A capture read is never cut short
 * by them, one sent during start-up waits for the control thread instead
 * of ending the process, and no thread stuck in a call a sanitizer does
 * not intercept can sit on one. */
void control_signals_init(void);

/* Gives the socket (and its folder when control_start() made it) to
 * uid/gid, so it can be removed after linkwatch dropped root. Returns 0 or -1. */
int control_give(struct control *c, unsigned uid, unsigned gid);

/* Whether the socket is up (for messages and tests). */
const char *control_socket_path(const struct control *c);

#endif
