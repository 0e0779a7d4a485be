/* control.c - the control thread; see control.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "util.h"

#define CONTROL_LINE_MAX     256
#define CONTROL_READ_TIMEOUT 2000     /* ms a client has to send its command */

/* The self-pipe SIGHUP writes to: one per process, as signals are. */
static int wake_pipe[2] = { -1, -1 };

struct control {
    pthread_t thread;
    int started;
    int listen_fd;                 /* -1: no socket */
    int inotify_fd;                /* -1: no watch */
    char *socket_path;             /* set when we created the socket */
    char *made_dir;                /* the socket's folder, when we created it */
    unsigned debounce_ms;
    control_handler handler;
    void *arg;
};

static void wake(char b)
{
    if (wake_pipe[1] >= 0) {
        int saved = errno;
        ssize_t n = write(wake_pipe[1], &b, 1);

        (void)n;   /* a full pipe already holds a request */
        errno = saved;
    }
}

void control_request_reload(void)
{
    wake('r');
}

void control_request_reopen(void)
{
    wake('o');
}

static int make_dir_for(struct control *c, const char *path)
{
    char *dir = strdup(path), *slash;
    int rc = 0;

    if (!dir)
        return -1;
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0750) == 0) {
            c->made_dir = dir;
            dir = NULL;
        } else if (errno != EEXIST) {
            rc = -1;
        }
    }
    free(dir);
    return rc;
}

/* Binds the socket owner-only. Returns the fd or -1 (logged). */
static int open_socket(struct control *c, const char *path)
{
    struct sockaddr_un sa;
    mode_t old;
    int fd;

    if (strlen(path) >= sizeof sa.sun_path) {
        log_warning("control.socket: %s: path too long; no control socket", path);
        return -1;
    }
    if (make_dir_for(c, path) < 0) {
        log_warning("control.socket: %s: cannot create its folder: %s; no control socket", path,
                    strerror(errno));
        return -1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        log_warning("control.socket: %s: another linkwatch answers on it; no control socket", path);
        close(fd);
        return -1;
    }
    close(fd);
    unlink(path);                  /* stale: nobody answers */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    old = umask(077);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0) {
        umask(old);
        log_warning("control.socket: %s: %s; no control socket", path, strerror(errno));
        close(fd);
        return -1;
    }
    umask(old);
    chmod(path, 0600);
    c->socket_path = strdup(path);
    return fd;
}

static void open_watch(struct control *c, char **dirs, size_t n)
{
    int added = 0;

    c->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (c->inotify_fd < 0) {
        log_warning("rules.watch: inotify: %s; rule files are not watched", strerror(errno));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (inotify_add_watch(c->inotify_fd, dirs[i],
                              IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE) < 0)
            log_warning("rules.watch: %s: %s; not watched", dirs[i], strerror(errno));
        else
            added++;
    }
    if (!added) {
        close(c->inotify_fd);
        c->inotify_fd = -1;
    } else {
        log_info("rules.watch: watching %d folder(s) for rule changes", added);
    }
}

/* Whether a change to this name can change the rules. Editors write
 * temporary files beside the real ones; only rule and config files count. */
static int relevant_name(const char *name)
{
    size_t n = strlen(name);

    return (n > 6 && strcmp(name + n - 6, ".rules") == 0) ||
           (n > 7 && strcmp(name + n - 7, ".config") == 0);
}

/* Drains inotify; returns 1 when a relevant file changed. */
static int read_watch(struct control *c)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int hit = 0;
    ssize_t len;

    while ((len = read(c->inotify_fd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;

            if (ev->len && relevant_name(ev->name))
                hit = 1;
            p += sizeof *ev + ev->len;
        }
    }
    return hit;
}

#define WANT_QUIT   1
#define WANT_RELOAD 2
#define WANT_REOPEN 4

/* Drains the self-pipe: 'r' asks for a reload, 'o' for a reopen, 'q' for
 * the thread to end. Returns WANT_* bits. */
static int drain_pipe(void)
{
    char buf[64];
    int what = 0;
    ssize_t n;

    while ((n = read(wake_pipe[0], buf, sizeof buf)) > 0)
        for (ssize_t k = 0; k < n; k++)
            what |= buf[k] == 'q' ? WANT_QUIT : buf[k] == 'r' ? WANT_RELOAD :
                    buf[k] == 'o' ? WANT_REOPEN : 0;
    return what;
}

/* Runs a command whose reply only goes to the log. */
static void background(struct control *c, const char *cmd, const char *origin)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    if (!out) {
        log_error("%s (%s): out of memory", cmd, origin);
        return;
    }
    c->handler(c->arg, cmd, origin, 0, out);
    fclose(out);
    free(text);                    /* the handler logs what happened */
}

/* Reads one command line with a deadline. Returns its length or -1. */
static int read_line(int fd, char *line, size_t cap)
{
    size_t n = 0;
    uint64_t deadline = lw_now_mono_usec() + CONTROL_READ_TIMEOUT * 1000ull;

    while (n + 1 < cap) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        int64_t left = (int64_t)(deadline - lw_now_mono_usec()) / 1000;
        ssize_t r;

        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return -1;
        r = read(fd, line + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (memchr(line, '\n', n))
            break;
    }
    line[n] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    return (int)strlen(line);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void serve_client(struct control *c, int fd)
{
    char line[CONTROL_LINE_MAX], cmd[CONTROL_LINE_MAX], status[16];
    char *text = NULL;
    size_t len = 0;
    int json = 0, rc;
    FILE *out;

    if (read_line(fd, line, sizeof line) <= 0)
        return;
    if (sscanf(line, "%255s", cmd) != 1)
        return;
    json = strstr(line, "--json") != NULL;
    out = open_memstream(&text, &len);
    if (!out)
        return;
    rc = c->handler(c->arg, cmd, "control", json, out);
    if (rc < 0) {
        if (json)
            fprintf(out, "{\"ok\":false,\"error\":\"unknown command\"}\n");
        else
            fprintf(out, "unknown command '%s' (reload, stats, ruleset, reopen-logs, shutdown)\n", cmd);
        rc = 1;
    }
    fclose(out);
    snprintf(status, sizeof status, "%d\n", rc);
    write_all(fd, status, strlen(status));
    write_all(fd, text, len);
    free(text);
}

static void *control_main(void *arg)
{
    struct control *c = arg;
    uint64_t reload_at = 0;        /* debounce deadline, 0: none pending */

    for (;;) {
        struct pollfd pfd[3];
        int n = 0, timeout = -1;

        pfd[n++] = (struct pollfd){ wake_pipe[0], POLLIN, 0 };
        if (c->listen_fd >= 0)
            pfd[n++] = (struct pollfd){ c->listen_fd, POLLIN, 0 };
        if (c->inotify_fd >= 0)
            pfd[n++] = (struct pollfd){ c->inotify_fd, POLLIN, 0 };
        if (reload_at) {
            int64_t left = (int64_t)(reload_at - lw_now_mono_usec()) / 1000;

            timeout = left > 0 ? (int)left : 0;
        }
        if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            if (pfd[i].fd == wake_pipe[0]) {
                int what = drain_pipe();

                if (what & WANT_QUIT)
                    return NULL;
                if (what & WANT_REOPEN)
                    background(c, "reopen-logs", "sigusr1");
                if (what & WANT_RELOAD)
                    background(c, "reload", "sighup");
            } else if (pfd[i].fd == c->listen_fd) {
                int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);

                if (fd >= 0) {
                    serve_client(c, fd);
                    close(fd);
                }
            } else if (read_watch(c)) {
                reload_at = lw_now_mono_usec() + c->debounce_ms * 1000ull;
            }
        }
        if (reload_at && lw_now_mono_usec() >= reload_at) {
            reload_at = 0;
            background(c, "reload", "watch");
        }
    }
    return NULL;
}

struct control *control_start(const struct control_config *cfg, char *err, size_t errlen)
{
    struct control *c = calloc(1, sizeof *c);
    sigset_t all, old;
    int rc;

    if (!c) {
        snprintf(err, errlen, "out of memory for the control thread");
        return NULL;
    }
    c->listen_fd = c->inotify_fd = -1;
    c->handler = cfg->handler;
    c->arg = cfg->arg;
    c->debounce_ms = cfg->debounce_ms;
    if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
        snprintf(err, errlen, "control thread: pipe: %s", strerror(errno));
        free(c);
        return NULL;
    }
    if (cfg->socket_path && cfg->socket_path[0])
        c->listen_fd = open_socket(c, cfg->socket_path);
    if (cfg->nwatch_dirs)
        open_watch(c, cfg->watch_dirs, cfg->nwatch_dirs);
    /* Signals stay with the capture thread: its blocking reads are what they interrupt. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&c->thread, NULL, control_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "control thread: %s", strerror(rc));
        control_stop(c);
        return NULL;
    }
    c->started = 1;
    if (c->socket_path)
        log_info("control socket %s", c->socket_path);
    return c;
}

void control_stop(struct control *c)
{
    char q = 'q';

    if (!c)
        return;
    if (c->started) {
        while (write(wake_pipe[1], &q, 1) != 1) {
            struct timespec nap = { 0, 1000000 };

            nanosleep(&nap, NULL);   /* the pipe is full of reload requests */
        }
        pthread_join(c->thread, NULL);
    }
    if (c->listen_fd >= 0)
        close(c->listen_fd);
    if (c->inotify_fd >= 0)
        close(c->inotify_fd);
    if (c->socket_path)
        unlink(c->socket_path);
    free(c->socket_path);
    free(c->made_dir);
    free(c);
}

int control_give(struct control *c, unsigned uid, unsigned gid)
{
    if (!c)
        return 0;
    if (c->made_dir && chown(c->made_dir, uid, gid) < 0)
        return -1;
    return c->socket_path ? chown(c->socket_path, uid, gid) : 0;
}

const char *control_socket_path(const struct control *c)
{
    return c ? c->socket_path : NULL;
}
