/* syslog.c - EVE lines as RFC 5424 syslog messages, to the local daemon
 * (/dev/log, datagrams) or to a server over UDP or TCP (octet counting,
 * RFC 6587). The message is the EVE JSON line; alerts carry the severity of
 * their priority. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "exporter.h"
#include "log.h"
#include "syslog-exporter.h"
#include "util.h"

static const char *const syslog_protocols[] = { "udp", "tcp", NULL };
static const char *const facilities[] = {
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
    "user", "daemon", "auth", "authpriv", NULL,
};

#define SYSLOG_DEV      "/dev/log"
#define SYSLOG_MAX_MSG  65000      /* under a UDP datagram */

struct lw_syslog {
    int fd;                    /* -1: not connected */
    int facility;              /* code, 0..23 */
    int tcp;
    char *server;              /* NULL: /dev/log */
    char port[8];
    char *ident;
    char host[256];
    char *buf;
    size_t cap;
    uint64_t retry_at;         /* mono usec: no reconnect before */
};

static int facility_code(const char *name)
{
    static const struct { const char *n; int c; } v[] = {
        { "user", 1 }, { "daemon", 3 }, { "auth", 4 }, { "authpriv", 10 },
        { "local0", 16 }, { "local1", 17 }, { "local2", 18 }, { "local3", 19 },
        { "local4", 20 }, { "local5", 21 }, { "local6", 22 }, { "local7", 23 },
    };

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (strcmp(v[i].n, name) == 0)
            return v[i].c;
    return 21;
}

/* Alert priority 1 is the most urgent: crit; 2 err; 3 warning; 4+ notice.
 * The line is not NUL-terminated: every read stays within len. */
static int severity_of(enum event_type t, const char *line, size_t len)
{
    static const char key[] = "\"severity\":";
    const char *p, *end = line + len;
    int v = 0;

    if (t != EVT_ALERT)
        return 6;                          /* info */
    p = memmem(line, len, key, sizeof key - 1);
    if (p == NULL)
        v = 3;
    for (p = p ? p + sizeof key - 1 : end; p < end && *p >= '0' && *p <= '9' && v < 100; p++)
        v = v * 10 + (*p - '0');
    switch (v) {
    case 1:  return 2;
    case 2:  return 3;
    case 3:  return 4;
    default: return 5;
    }
}

static int sl_connect(struct lw_syslog *s)
{
    if (s->fd >= 0)
        return 0;
    if (lw_now_mono_usec() < s->retry_at)
        return -1;
    s->retry_at = lw_now_mono_usec() + 1000000u;   /* at most one attempt a second */
    if (!s->server) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        strcpy(sa.sun_path, SYSLOG_DEV);
        s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s->fd >= 0 && connect(s->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
            close(s->fd);
            s->fd = -1;
        }
        return s->fd >= 0 ? 0 : -1;
    }
    struct addrinfo hints = { .ai_socktype = s->tcp ? SOCK_STREAM : SOCK_DGRAM }, *res, *ai;

    if (getaddrinfo(s->server, s->port, &hints, &res) != 0)
        return -1;
    for (ai = res; ai; ai = ai->ai_next) {
        s->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (s->fd < 0)
            continue;
        if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(s->fd);
        s->fd = -1;
    }
    freeaddrinfo(res);
    return s->fd >= 0 ? 0 : -1;
}

static int syslog_write(struct exporter *x, const struct exporter_event *ev)
{
    struct lw_syslog *s = x->priv;
    enum event_type t = ev->type;
    const char *line = ev->line;
    size_t len = ev->len;
    char ts[40], hdr[512];
    struct timespec now;
    struct tm tm;
    int hl;
    size_t total;

    if (len > SYSLOG_MAX_MSG)
        len = SYSLOG_MAX_MSG;              /* cut; a UDP datagram cannot carry more */
    if (sl_connect(s) < 0)
        return -1;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    /* <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG */
    hl = snprintf(hdr, sizeof hdr, "<%d>1 %s.%06ldZ %s %s %d %s - ",
                  s->facility * 8 + severity_of(t, line, len), ts, now.tv_nsec / 1000, s->host, s->ident,
                  (int)getpid(), event_type_name(t));
    total = (size_t)hl + len + 24;
    if (total > s->cap) {
        char *b = realloc(s->buf, total);

        if (!b)
            return -1;
        s->buf = b;
        s->cap = total;
    }
    if (s->tcp) {
        int pl = snprintf(s->buf, s->cap, "%zu ", (size_t)hl + len);

        memcpy(s->buf + pl, hdr, (size_t)hl);
        memcpy(s->buf + pl + hl, line, len);
        total = (size_t)pl + (size_t)hl + len;
    } else {
        memcpy(s->buf, hdr, (size_t)hl);
        memcpy(s->buf + hl, line, len);
        total = (size_t)hl + len;
    }
    if (lw_send_all(s->fd, s->buf, total) < 0) {
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    return 0;
}

static int syslog_flush(struct exporter *x)
{
    (void)x;
    return 0;
}

static int syslog_reopen(struct exporter *x)
{
    struct lw_syslog *s = x->priv;

    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->retry_at = 0;
    return 0;
}

static void syslog_close(struct exporter *x)
{
    struct lw_syslog *s = x->priv;

    if (s->fd >= 0)
        close(s->fd);
    free(s->server);
    free(s->ident);
    free(s->buf);
    free(s);
    free(x);
}

static const struct exporter_ops syslog_ops = {
    .write_event = syslog_write,
    .flush = syslog_flush,
    .reopen = syslog_reopen,
    .close = syslog_close,
};

/* Never fails but for memory: an absent server is retried. */
static struct exporter *syslog_open(const struct exporter_params *p, char *err, size_t errlen)
{
    const struct syslog_config *cfg = p->section;
    uint32_t types = p->types;
    struct exporter *x = calloc(1, sizeof *x);
    struct lw_syslog *s = calloc(1, sizeof *s);

    if (!x || !s) {
        free(x);
        free(s);
        snprintf(err, errlen, "syslog: out of memory");
        return NULL;
    }
    s->fd = -1;
    s->facility = facility_code(cfg->facility);
    s->tcp = strcmp(cfg->protocol, "tcp") == 0;
    s->server = cfg->server[0] ? strdup(cfg->server) : NULL;
    s->ident = strdup(cfg->ident);
    snprintf(s->port, sizeof s->port, "%u", cfg->port);
    if (gethostname(s->host, sizeof s->host) < 0 || !s->host[0])
        strcpy(s->host, "-");
    x->ops = &syslog_ops;
    x->types = types;
    x->priv = s;
    if (sl_connect(s) < 0)
        log_warning("syslog: %s:%s not reachable yet; alerts are spooled until it is",
                    s->server ? s->server : SYSLOG_DEV, s->server ? s->port : "");
    return x;
}

static const struct cfg_key syslog_keys[] = {
    CFG_KTXT("enabled", CFG_BOOL, struct syslog_config, x.enabled),
    CFG_KSET("facility", CFG_ENUM, struct syslog_config, facility, facilities),
    CFG_KTXT("server", CFG_STRING, struct syslog_config, server),
    CFG_KNUM("port", CFG_UINT, struct syslog_config, port, 1, 65535),
    CFG_KSET("protocol", CFG_ENUM, struct syslog_config, protocol, syslog_protocols),
    CFG_KTXT("ident", CFG_NONEMPTY, struct syslog_config, ident),
    CFG_KSET("types", CFG_ENUMLIST, struct syslog_config, x.types, event_type_names),
};

/* syslog: RFC 5424 messages to the local syslog daemon or a UDP/TCP server. */
const struct exporter_def syslog_exporter = {
    .name = "syslog",
    .config = CFG_SECTION("outputs.syslog", struct syslog_config, syslog_keys),
    .enabled = exporter_switch_enabled,
    .open = syslog_open,
};
