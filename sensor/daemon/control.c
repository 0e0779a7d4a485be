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
#include "fsafe.h"
#include "log.h"
#include "util.h"

#define CONTROL_LINE_MAX     256
#define CONTROL_READ_TIMEOUT 2000     /* ms a client has to send its command */
#define CONTROL_CLIENTS      16       /* read at once; a newer one evicts the oldest */
#define CONTROL_SEND_TIMEOUT 1000     /* ms a reply may wait for a client that does not read */

/* The self-pipe SIGHUP writes to: one per process, as signals are. */
static int wake_pipe[2] = { -1, -1 };

/* A client that has not sent its whole command line yet. */
struct control_client {
    int fd;                        /* -1: a free slot */
    size_t n;
    uint64_t deadline;             /* mono usec */
    char line[CONTROL_LINE_MAX];
};

struct control {
    pthread_t thread;
    int started;
    int listen_fd;                 /* -1: no socket */
    int inotify_fd;                /* -1: no watch */
    char *socket_path;             /* set when we created the socket */
    char *sock_name;               /* its name in dir_fd */
    int dir_fd;                    /* the socket's folder, -1: none */
    int made_dir;                  /* we created that folder */
    struct control_client clients[CONTROL_CLIENTS];
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

static void on_reload(int sig) { (void)sig; control_request_reload(); }
static void on_reopen(int sig) { (void)sig; control_request_reopen(); }

/* The signals only the control thread takes. */
static void request_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
}

void control_signals_init(void)
{
    struct sigaction sa;
    sigset_t req;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_reopen;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_reload;
    sigaction(SIGHUP, &sa, NULL);
    request_set(&req);
    pthread_sigmask(SIG_BLOCK, &req, NULL);
}

/* Opens (creating 0750 when missing) the socket's folder into c->dir_fd
 * and its name into c->sock_name. Returns 0, or -1 with err. */
static int open_dir_for(struct control *c, const char *path, char *err, size_t errlen)
{
    char *dir = malloc(strlen(path) + 2), *base = malloc(strlen(path) + 2);
    int rc = -1;

    if (!dir || !base || fs_split(path, dir, base) < 0 || strcmp(base, ".") == 0) {
        snprintf(err, errlen, "%s: not a socket path", path);
        goto out;
    }
    c->dir_fd = fs_open_dir(dir, 1, 0750, &c->made_dir, err, errlen);
    if (c->dir_fd < 0)
        goto out;
    c->sock_name = base;
    base = NULL;
    rc = 0;
out:
    free(dir);
    free(base);
    return rc;
}

/* What is at the socket's name: 0 nothing (or a stale socket, removed),
 * 1 a live linkwatch, -1 something that is not ours to remove (logged). */
static int clear_name(struct control *c, const char *path, const struct sockaddr_un *sa)
{
    struct stat st;
    int fd;

    if (fstatat(c->dir_fd, c->sock_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISSOCK(st.st_mode)) {
        /* A link or a file put there is never followed nor deleted. */
        log_error("control.socket: %s: is %s, not a socket; refused (remove it if nothing uses it); "
                  "no control socket", path, S_ISLNK(st.st_mode) ? "a symbolic link" :
                  S_ISREG(st.st_mode) ? "a regular file" : S_ISDIR(st.st_mode) ? "a folder" : "not a socket");
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0) {
        close(fd);
        return 1;
    }
    close(fd);
    unlinkat(c->dir_fd, c->sock_name, 0);          /* stale: nobody answers */
    return 0;
}

/* Binds the socket owner-only. Returns the fd or -1 (logged). */
static int open_socket(struct control *c, const char *path)
{
    struct sockaddr_un sa;
    char err[512];
    mode_t old;
    int fd, rc;

    if (strlen(path) >= sizeof sa.sun_path) {
        log_warning("control.socket: %s: path too long; no control socket", path);
        return -1;
    }
    if (open_dir_for(c, path, err, sizeof err) < 0) {
        log_error("control.socket: %s; no control socket", err);
        return -1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    if ((rc = clear_name(c, path, &sa)) != 0) {
        if (rc > 0)
            log_warning("control.socket: %s: another linkwatch answers on it; no control socket", path);
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* bind() never follows a link at the name; the umask makes it 0600
     * from the start, so no chmod by name is needed after. */
    old = umask(0177);             /* a socket is made 0777 & ~umask */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0) {
        umask(old);
        log_warning("control.socket: %s: %s; no control socket", path, strerror(errno));
        close(fd);
        return -1;
    }
    umask(old);
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

/* Runs the command of a complete line and answers it. */
static void serve_client(struct control *c, int fd, char *line)
{
    char cmd[CONTROL_LINE_MAX], status[16];
    char *text = NULL;
    size_t len = 0;
    int json = 0, rc;
    FILE *out;

    line[strcspn(line, "\r\n")] = '\0';
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

static void client_close(struct control_client *k)
{
    if (k->fd >= 0)
        close(k->fd);
    k->fd = -1;
    k->n = 0;
}

/* Takes a new client into a free slot, else into the oldest one's: an
 * idle or slow client never keeps the others (nor a reload) waiting. */
static void client_accept(struct control *c)
{
    /* tv_usec must stay below a second (else EDOM, and no timeout at all) */
    struct timeval snd = { CONTROL_SEND_TIMEOUT / 1000, CONTROL_SEND_TIMEOUT % 1000 * 1000 };
    struct control_client *slot = NULL;
    int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (fd < 0)
        return;
    for (int i = 0; i < CONTROL_CLIENTS; i++) {
        struct control_client *k = &c->clients[i];

        if (k->fd < 0) {
            slot = k;
            break;
        }
        if (!slot || k->deadline < slot->deadline)
            slot = k;
    }
    client_close(slot);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd) < 0)
        log_warning("control socket: SO_SNDTIMEO: %s", strerror(errno));
    slot->fd = fd;
    slot->deadline = lw_now_mono_usec() + CONTROL_READ_TIMEOUT * 1000ull;
}

/* Reads what a client sent; a whole line is served and the client closed. */
static void client_read(struct control *c, struct control_client *k)
{
    ssize_t r = read(k->fd, k->line + k->n, sizeof k->line - 1 - k->n);

    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r > 0)
        k->n += (size_t)r;
    k->line[k->n] = '\0';
    if (r > 0 && !memchr(k->line, '\n', k->n) && k->n + 1 < sizeof k->line)
        return;
    if (k->n > 0 && fcntl(k->fd, F_SETFL, 0) == 0)
        serve_client(c, k->fd, k->line);
    client_close(k);
}

/* Closes the clients past their deadline; returns the ms until the next
 * one's, or -1 when none waits. */
static int clients_expire(struct control *c)
{
    uint64_t now = lw_now_mono_usec(), next = 0;

    for (int i = 0; i < CONTROL_CLIENTS; i++) {
        struct control_client *k = &c->clients[i];

        if (k->fd < 0)
            continue;
        if (k->deadline <= now)
            client_close(k);
        else if (!next || k->deadline < next)
            next = k->deadline;
    }
    return next ? (int)((next - now) / 1000) + 1 : -1;
}

static void *control_main(void *arg)
{
    struct control *c = arg;
    uint64_t reload_at = 0;        /* debounce deadline, 0: none pending */
    sigset_t req;

    /* The one thread that takes SIGHUP and SIGUSR1 (control_signals_init
     * blocked them everywhere else): their handlers wake this poll through
     * the pipe. */
    request_set(&req);
    pthread_sigmask(SIG_UNBLOCK, &req, NULL);
    for (;;) {
        struct pollfd pfd[3 + CONTROL_CLIENTS];
        struct control_client *who[3 + CONTROL_CLIENTS] = { NULL };
        int n = 0, timeout = clients_expire(c);

        pfd[n++] = (struct pollfd){ wake_pipe[0], POLLIN, 0 };
        if (c->listen_fd >= 0)
            pfd[n++] = (struct pollfd){ c->listen_fd, POLLIN, 0 };
        if (c->inotify_fd >= 0)
            pfd[n++] = (struct pollfd){ c->inotify_fd, POLLIN, 0 };
        for (int i = 0; i < CONTROL_CLIENTS; i++)
            if (c->clients[i].fd >= 0) {
                who[n] = &c->clients[i];
                pfd[n++] = (struct pollfd){ c->clients[i].fd, POLLIN, 0 };
            }
        if (reload_at) {
            int64_t left = (int64_t)(reload_at - lw_now_mono_usec()) / 1000;

            if (left < 0)
                left = 0;
            if (timeout < 0 || left < timeout)
                timeout = (int)left;
        }
        if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (who[i]) {
                client_read(c, who[i]);
            } else if (pfd[i].fd == wake_pipe[0]) {
                int what = drain_pipe();

                if (what & WANT_QUIT)
                    return NULL;
                if (what & WANT_REOPEN)
                    background(c, "reopen-logs", "sigusr1");
                if (what & WANT_RELOAD)
                    background(c, "reload", "sighup");
            } else if (pfd[i].fd == c->listen_fd) {
                client_accept(c);
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
    c->listen_fd = c->inotify_fd = c->dir_fd = -1;
    for (int i = 0; i < CONTROL_CLIENTS; i++)
        c->clients[i].fd = -1;
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
    /* SIGINT and SIGTERM stay with the capture thread: its blocking reads
     * are what they interrupt. The thread unblocks SIGHUP and SIGUSR1. */
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
    for (int i = 0; i < CONTROL_CLIENTS; i++)
        client_close(&c->clients[i]);
    if (c->socket_path) {
        struct stat st;

        /* Only our socket: whatever else took its name stays. */
        if (fstatat(c->dir_fd, c->sock_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode))
            unlinkat(c->dir_fd, c->sock_name, 0);
    }
    if (c->dir_fd >= 0)
        close(c->dir_fd);
    free(c->socket_path);
    free(c->sock_name);
    free(c);
}

int control_give(struct control *c, unsigned uid, unsigned gid)
{
    struct stat st;
    int fd, rc;

    if (!c || !c->socket_path)
        return 0;
    if (c->made_dir && fs_give(c->dir_fd, uid, gid) < 0)
        return -1;
    /* The inode at the name, held by an O_PATH descriptor while it is
     * checked and given: a link or a file swapped in is never given. */
    fd = openat(c->dir_fd, c->sock_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_nlink != 1) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    rc = fchownat(fd, "", uid, gid, AT_EMPTY_PATH);
    close(fd);
    return rc;
}

const char *control_socket_path(const struct control *c)
{
    return c ? c->socket_path : NULL;
}
