/* unix-socket.c - EVE lines to a unix stream socket a local shipper
 * listens on (as Suricata's unix_stream output). The sensor connects; when
 * the shipper is away, writes fail (alerts are spooled by the output layer)
 * and a reconnect is tried at most once a second. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "exporter.h"
#include "log.h"
#include "unix-socket.h"
#include "util.h"

struct usock {
    char *path;
    int fd;
    uint64_t retry_at;         /* mono usec */
    int warned;
};

static int us_connect(struct usock *u)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    if (u->fd >= 0)
        return 0;
    if (lw_now_mono_usec() < u->retry_at)
        return -1;
    u->retry_at = lw_now_mono_usec() + 1000000u;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", u->path);
    u->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (u->fd >= 0 && connect(u->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (!u->warned++)
            log_warning("unix-socket: %s: %s; retrying every second", u->path, strerror(errno));
        close(u->fd);
        u->fd = -1;
    }
    if (u->fd >= 0)
        u->warned = 0;
    return u->fd >= 0 ? 0 : -1;
}

/* A line is either sent whole or reported failed; a peer that went away
 * mid-line gets the rest never (it reconnects to a fresh stream). */
static int us_write(struct exporter *x, const struct exporter_event *ev)
{
    struct usock *u = x->priv;

    if (us_connect(u) < 0)
        return -1;
    if (lw_send_all(u->fd, ev->line, ev->len) < 0 || lw_send_all(u->fd, "\n", 1) < 0) {
        close(u->fd);
        u->fd = -1;
        return -1;
    }
    return 0;
}

static int us_flush(struct exporter *x)
{
    (void)x;
    return 0;
}

static int us_reopen(struct exporter *x)
{
    struct usock *u = x->priv;

    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
    u->retry_at = 0;
    return 0;
}

static void us_close(struct exporter *x)
{
    struct usock *u = x->priv;

    if (u->fd >= 0)
        close(u->fd);
    free(u->path);
    free(u);
    free(x);
}

static const struct exporter_ops unix_socket_ops = {
    .write_event = us_write,
    .flush = us_flush,
    .reopen = us_reopen,
    .close = us_close,
};

/* Never fails but for memory or a path too long: an absent peer is retried. */
static struct exporter *unix_socket_open(const struct exporter_params *p, char *err, size_t errlen)
{
    const struct unix_socket_config *cfg = p->section;
    const char *path = cfg->path;
    uint32_t types = p->types;
    struct exporter *x = calloc(1, sizeof *x);
    struct usock *u = calloc(1, sizeof *u);

    if (!x || !u || !(u->path = strdup(path))) {
        free(u);
        free(x);
        snprintf(err, errlen, "unix-socket: out of memory");
        return NULL;
    }
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        snprintf(err, errlen, "outputs.unix-socket.path: %s: path too long", path);
        free(u->path);
        free(u);
        free(x);
        return NULL;
    }
    u->fd = -1;
    x->ops = &unix_socket_ops;
    x->types = types;
    x->priv = u;
    us_connect(u);
    return x;
}

static const struct cfg_key unix_socket_keys[] = {
    CFG_KTXT("enabled", CFG_BOOL, struct unix_socket_config, x.enabled),
    CFG_KTXT("path", CFG_NONEMPTY, struct unix_socket_config, path),
    CFG_KSET("types", CFG_ENUMLIST, struct unix_socket_config, x.types, event_type_names),
};

/* unix-socket: EVE lines to a unix stream socket (a local shipper), with
 * reconnection. */
const struct exporter_def unix_socket_exporter = {
    .name = "unix-socket",
    .config = CFG_SECTION("outputs.unix-socket", struct unix_socket_config, unix_socket_keys),
    .enabled = exporter_switch_enabled,
    .open = unix_socket_open,
};
