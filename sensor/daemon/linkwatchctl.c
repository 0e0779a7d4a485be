/* linkwatchctl.c - talks to a running linkwatch over its control socket.
 *
 *   linkwatchctl [-c linkwatch.yaml] [-s SOCKET] [--json] COMMAND
 *
 * COMMAND: reload, stats, ruleset, reopen-logs, shutdown. The socket is -s,
 * else control.socket of the -c file (or of the built-in defaults). Prints
 * the sensor's reply; exits 0 when the command did what was asked, 1 when it
 * failed (a reload that kept the old rule set, say), 2 when it was done with
 * errors (a reload that left some rules out), 3 when the sensor could not be
 * reached (or what answered is not to be believed: see peer_trusted()).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

/* A reload of a large rule set may take a while; never wait forever. */
#define CTL_TIMEOUT_MS 120000

static void usage(FILE *fp)
{
    fputs("usage: linkwatchctl [-c linkwatch.yaml] [-s SOCKET] [--json] COMMAND\n"
          "\n"
          "  reload       reload the rule files and threshold.config; prints what loaded and failed\n"
          "  ruleset      version, content hash and counts of the live rule set\n"
          "  stats        packets, flows, alerts\n"
          "  reopen-logs  reopen the log files (after logrotate moved them)\n"
          "  shutdown     stop capture, flush the flows and exit\n"
          "\n"
          "  -c FILE      read control.socket from this configuration\n"
          "  -s SOCKET    the control socket (overrides -c)\n"
          "  --json       machine-readable reply\n"
          "exit status: 0 done, 1 failed, 2 done with errors, 3 sensor not reachable\n", fp);
}

static int connect_to(const char *path)
{
    struct sockaddr_un sa;
    int fd;

    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "linkwatchctl: %s: path too long\n", path);
        return -1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "linkwatchctl: %s: %s (is linkwatch running?)\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Whether the process that answers on fd is the sensor and not someone
 * who took the socket's name: its uid (SO_PEERCRED) is root's, ours, the
 * configured privileges.user's, or that of the socket's owner when the
 * socket's folder lets nobody else put a socket there. Prints why not. */
static int peer_trusted(int fd, const char *path, const char *priv_user)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    struct stat st, dst;
    char *dir = strdup(path), *slash;
    uid_t uid;
    gid_t gid;
    int ok = 0;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
        fprintf(stderr, "linkwatchctl: %s: cannot learn who answers: %s\n", path, strerror(errno));
        free(dir);
        return 0;
    }
    if (cr.uid == 0 || cr.uid == geteuid())
        ok = 1;
    else if (priv_user && priv_user[0] && lw_lookup_user(priv_user, &uid, &gid) == 0 && cr.uid == uid)
        ok = 1;
    else if (dir && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == cr.uid) {
        slash = strrchr(dir, '/');
        if (slash)
            *(slash == dir ? slash + 1 : slash) = '\0';
        if (stat(slash ? dir : ".", &dst) == 0 && (dst.st_uid == 0 || dst.st_uid == cr.uid) &&
            !(dst.st_mode & (S_IWGRP | S_IWOTH)))
            ok = 1;
    }
    if (!ok)
        fprintf(stderr, "linkwatchctl: %s: answered by uid %u, which is not root, you, privileges.user "
                "nor the owner of a socket in a folder only it can write; not believed\n", path,
                (unsigned)cr.uid);
    free(dir);
    return ok;
}

/* Reads the whole reply; returns it (malloc'd, NUL-terminated) or NULL. */
static char *read_reply(int fd)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);

    while (buf) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        ssize_t n;

        if (poll(&pfd, 1, CTL_TIMEOUT_MS) <= 0) {
            fprintf(stderr, "linkwatchctl: no reply within %d s\n", CTL_TIMEOUT_MS / 1000);
            free(buf);
            return NULL;
        }
        if (len + 1 == cap) {
            char *b = realloc(buf, cap * 2);

            if (!b)
                break;
            buf = b;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            buf[len] = '\0';
            return buf;
        }
        len += (size_t)n;
    }
    free(buf);
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = NULL, *sock = NULL;
    struct lw_config cfg;
    char err[512], line[128], *reply, *body;
    int json = 0, have_cfg = 0, c, fd, rc;

    while ((c = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 's': sock = optarg; break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 3;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 3;
    }
    if (strlen(argv[optind]) > 64) {
        fprintf(stderr, "linkwatchctl: unknown command\n");
        return 3;
    }
    memset(&cfg, 0, sizeof cfg);
    /* The configuration names the socket (unless -s does) and the user the
     * sensor runs as; with -s, a configuration that cannot be read only
     * leaves that user unknown. */
    if (config_load(&cfg, config, NULL, 0, err, sizeof err) == 0)
        have_cfg = 1;
    else if (!sock) {
        fprintf(stderr, "linkwatchctl: %s\n", err);
        return 3;
    }
    if (!sock)
        sock = cfg.control.socket;
    fd = connect_to(sock);
    if (fd >= 0 && !peer_trusted(fd, sock, have_cfg ? cfg.privileges.user : NULL)) {
        close(fd);
        fd = -1;
    }
    if (have_cfg)
        config_free(&cfg);         /* sock is not used after this */
    if (fd < 0)
        return 3;
    snprintf(line, sizeof line, "%s%s\n", argv[optind], json ? " --json" : "");
    rc = write(fd, line, strlen(line)) == (ssize_t)strlen(line) ? 0 : 3;
    reply = rc == 0 ? read_reply(fd) : NULL;
    close(fd);
    if (!reply || !reply[0]) {
        fprintf(stderr, "linkwatchctl: the sensor closed the connection without a reply\n");
        free(reply);
        return 3;
    }
    rc = atoi(reply);
    body = strchr(reply, '\n');
    fputs(body ? body + 1 : "", stdout);
    free(reply);
    return rc >= 0 && rc <= 2 ? rc : 3;
}
