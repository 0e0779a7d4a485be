/* http-gate.c - whole requests only reach libmicrohttpd; see http-gate.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http-gate.h"

#define GATE_MAX_CONNS 1024

/* One connection the gate holds: waiting for its request, or handed over. */
struct gate_conn {
    int fd;                          /* -1: a free slot */
    int handed;                      /* the daemon has it */
    struct MHD_Connection *mhd;      /* the daemon's, once it said it started */
    uint64_t deadline;               /* mono usec, while waiting */
    size_t seen;                     /* bytes looked at so far */
    struct sockaddr_storage peer;
    socklen_t peerlen;
    int client_known;                /* client is set (peer, or X-Forwarded-For) */
    int via_proxy;                   /* the peer is a trusted proxy */
    struct lw_addr client;
};

struct http_gate {
    struct http_gate_config c;
    int listen_fd;
    int stop_pipe[2];
    pthread_t thread;
    int started;
    struct MHD_Daemon *d;
    pthread_mutex_t mu;              /* the slots and the stats: the daemon's threads end connections */
    struct gate_conn *conn;
    struct http_gate_stats st;
    char *buf;                       /* one peek */
};

/* ---------------------------------------------------------------- parsing */

/* Whether header line [p, end) is named name (case-insensitive); sets
 * *val to its trimmed value. */
static int header_is(const char *p, const char *end, const char *name, const char **val, size_t *vlen)
{
    size_t n = strlen(name);
    const char *v, *e = end;

    if ((size_t)(end - p) <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
        return 0;
    v = p + n + 1;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    *val = v;
    *vlen = (size_t)(e - v);
    return 1;
}

/* Where the head ends (after its blank line), or 0 when it has not yet. */
static size_t head_end(const char *buf, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (buf[i] != '\n')
            continue;
        if (buf[i + 1] == '\n')
            return i + 2;
        if (buf[i + 1] == '\r' && i + 2 < n && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

int http_gate_check_head(const char *buf, size_t n, size_t max_head, size_t max_body, size_t *head_len,
                         size_t *body_len)
{
    size_t end = head_end(buf, n < max_head ? n : max_head), cl = 0;
    int ncl = 0, te = 0;
    const char *p, *nl;

    *head_len = *body_len = 0;
    if (end == 0)
        return n >= max_head ? 431 : 0;
    p = memchr(buf, '\n', end);               /* past the request line, which must be there */
    if (!p || p == buf || (p == buf + 1 && buf[0] == '\r'))
        return 400;
    for (p = p + 1; p < buf + end; p = nl + 1) {
        const char *v;
        size_t vl;

        nl = memchr(p, '\n', (size_t)(buf + end - p));
        if (!nl || nl == p || (nl == p + 1 && *p == '\r'))
            break;                             /* the blank line */
        if (*p == ' ' || *p == '\t')
            return 400;                        /* obsolete line folding: a smuggling tool */
        if (header_is(p, nl, "content-length", &v, &vl)) {
            char digits[24];
            char *e;

            if (++ncl > 1 || vl == 0 || vl >= sizeof digits)
                return 400;
            memcpy(digits, v, vl);
            digits[vl] = '\0';
            for (size_t i = 0; i < vl; i++)
                if (!isdigit((unsigned char)digits[i]))
                    return 400;
            cl = (size_t)strtoull(digits, &e, 10);
        } else if (header_is(p, nl, "transfer-encoding", &v, &vl)) {
            te = 1;
        }
    }
    if (te)
        return ncl ? 400 : 411;
    if (cl > max_body)
        return 413;
    *head_len = end;
    *body_len = cl;
    return 0;
}

#define XFF_MAX 32

/* The client a trusted proxy speaks for: of the X-Forwarded-For entries of
 * head [buf, buf+n) (headers in order, each left to right; the right-most
 * is the nearest hop), the right-most that is not a trusted proxy itself,
 * else the left-most. Returns 0, or -1 when there is none. */
static int forwarded_client(const struct http_gate *g, const char *buf, size_t n, struct lw_addr *out)
{
    struct lw_addr hop[XFF_MAX];
    const char *p = memchr(buf, '\n', n), *nl, *v;
    size_t vl, nhop = 0;

    for (p = p ? p + 1 : buf + n; p < buf + n; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(buf + n - p));
        if (!nl)
            break;
        if (!header_is(p, nl, "x-forwarded-for", &v, &vl))
            continue;
        for (const char *s = v, *e; s < v + vl; s = e + 1) {
            e = memchr(s, ',', (size_t)(v + vl - s));
            if (!e)
                e = v + vl;
            if (lw_xff_entry(s, (size_t)(e - s), &hop[nhop % XFF_MAX]) == 0)
                nhop++;                        /* past XFF_MAX, the nearest ones are kept */
        }
    }
    if (nhop == 0)
        return -1;
    for (size_t i = nhop; i > 0 && i + XFF_MAX > nhop; i--) {
        const struct lw_addr *a = &hop[(i - 1) % XFF_MAX];
        int trusted = 0;

        for (size_t t = 0; t < g->c.ntrusted; t++)
            trusted |= lw_cidr_contains(&g->c.trusted[t], a);
        *out = *a;
        if (!trusted)
            break;
    }
    return 0;
}

static void sockaddr_addr(const struct sockaddr_storage *ss, struct lw_addr *a)
{
    memset(a, 0, sizeof *a);
    if (ss->ss_family == AF_INET) {
        lw_addr_set4(a, (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr);
    } else if (ss->ss_family == AF_INET6) {
        const uint8_t *b = (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
        static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

        if (memcmp(b, mapped, 12) == 0)
            lw_addr_set4(a, b + 12);
        else
            lw_addr_set6(a, b);
    }
}

static int peer_trusted(const struct http_gate *g, const struct gate_conn *k)
{
    struct lw_addr a;

    sockaddr_addr(&k->peer, &a);
    for (size_t i = 0; i < g->c.ntrusted; i++)
        if (lw_cidr_contains(&g->c.trusted[i], &a))
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- slots */

/* Answers status with msg (best effort: never waits) and closes fd. */
static void refuse(int fd, int status, const char *msg, int retry_after)
{
    char out[512], retry[48] = "";
    const char *reason = status == 400 ? "Bad Request" : status == 408 ? "Request Timeout" :
                         status == 411 ? "Length Required" : status == 413 ? "Content Too Large" :
                         status == 429 ? "Too Many Requests" : status == 431 ?
                         "Request Header Fields Too Large" : "Service Unavailable";
    int n;

    if (retry_after > 0)
        snprintf(retry, sizeof retry, "Retry-After: %d\r\n", retry_after);
    n = snprintf(out, sizeof out, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n%s\r\n%s\n", status, reason,
                 strlen(msg) + 1, retry, msg);
    if (n > 0 && (size_t)n < sizeof out)
        (void)!send(fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
}

static void slot_free(struct gate_conn *k)
{
    memset(k, 0, sizeof *k);
    k->fd = -1;
}

/* Connections held from address a (waiting and handed over). Under g->mu. */
static unsigned count_addr(const struct http_gate *g, const struct lw_addr *a)
{
    unsigned n = 0;

    for (unsigned i = 0; i < g->c.max_conns; i++)
        if (g->conn[i].fd >= 0 && g->conn[i].client_known && lw_addr_cmp(&g->conn[i].client, a) == 0)
            n++;
    return n;
}

/* A free slot; when none, the oldest waiting connection's (closed: it is
 * the slowest to send its request). NULL when all are handed over. */
static struct gate_conn *slot_take(struct http_gate *g)
{
    struct gate_conn *old = NULL;

    for (unsigned i = 0; i < g->c.max_conns; i++) {
        struct gate_conn *k = &g->conn[i];

        if (k->fd < 0)
            return k;
        if (!k->handed && (!old || k->deadline < old->deadline))
            old = k;
    }
    if (old) {
        g->st.busy++;
        refuse(old->fd, 503, "busy: your request did not arrive in time", 1);
        slot_free(old);
    }
    return old;
}

static void gate_accept(struct http_gate *g)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(g->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    struct gate_conn *k;
    struct lw_addr a;

    if (fd < 0)
        return;
    sockaddr_addr(&ss, &a);
    pthread_mutex_lock(&g->mu);
    k = slot_take(g);
    if (!k) {
        g->st.busy++;
        pthread_mutex_unlock(&g->mu);
        refuse(fd, 503, "busy: too many connections", 1);
        return;
    }
    k->fd = fd;
    k->peer = ss;
    k->peerlen = sl;
    k->deadline = lw_now_mono_usec() + (uint64_t)g->c.deadline_ms * 1000u;
    /* A trusted proxy's connections count by the client they carry, known
     * once the head is in; anyone else's by its own address, now. */
    if (!peer_trusted(g, k)) {
        if (count_addr(g, &a) >= g->c.per_addr) {
            g->st.per_addr++;
            slot_free(k);
            pthread_mutex_unlock(&g->mu);
            refuse(fd, 429, "too many connections from your address", 1);
            return;
        }
        k->client = a;
        k->client_known = 1;
    }
    pthread_mutex_unlock(&g->mu);
}

/* Looks at what k sent. Hands it to the daemon when its request is whole,
 * refuses it when it is bad; otherwise waits for more. Under g->mu. */
static void gate_look(struct http_gate *g, struct gate_conn *k, short revents)
{
    size_t cap = g->c.max_head + g->c.max_body + 1, head, body;
    ssize_t n = recv(k->fd, g->buf, cap, MSG_PEEK | MSG_DONTWAIT);
    int status, fd = k->fd, one = 1;
    struct sockaddr_storage peer;
    socklen_t peerlen;

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        g->st.closed++;
        close(fd);
        slot_free(k);
        return;
    }
    if ((status = http_gate_check_head(g->buf, (size_t)n, g->c.max_head, g->c.max_body, &head, &body)) != 0) {
        if (status == 413 || status == 431)
            g->st.too_large++;
        else
            g->st.framing++;
        slot_free(k);
        refuse(fd, status, status == 411 ? "send a Content-Length, not a Transfer-Encoding" :
               status == 413 ? "request body too large" : status == 431 ? "request head too large" :
               "malformed request (duplicate or conflicting Content-Length / Transfer-Encoding?)", 0);
        return;
    }
    if (head == 0 || (size_t)n < head + body) {
        if (revents & (POLLRDHUP | POLLHUP | POLLERR)) {
            g->st.closed++;            /* it will send no more */
            close(fd);
            slot_free(k);
            return;
        }
        /* Not whole: be woken only when more than this has arrived. */
        int lowat = (int)n + 1;

        k->seen = (size_t)n;
        setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat);
        return;
    }
    if (!k->client_known) {
        if (forwarded_client(g, g->buf, head, &k->client) < 0)
            sockaddr_addr(&k->peer, &k->client);
        k->client_known = 1;
        k->via_proxy = 1;
        if (count_addr(g, &k->client) > g->c.per_addr) {
            g->st.per_addr++;
            slot_free(k);
            refuse(fd, 429, "too many connections from your address", 1);
            return;
        }
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
    k->handed = 1;
    peer = k->peer;
    peerlen = k->peerlen;
    /* The daemon takes (and closes) the socket in any case; it calls back
     * (http_gate_notify) under the same lock, so it is released here. */
    pthread_mutex_unlock(&g->mu);
    if (MHD_add_connection(g->d, fd, (const struct sockaddr *)&peer, peerlen) != MHD_YES) {
        pthread_mutex_lock(&g->mu);
        g->st.busy++;
        for (unsigned i = 0; i < g->c.max_conns; i++)
            if (g->conn[i].fd == fd && g->conn[i].handed && !g->conn[i].mhd)
                slot_free(&g->conn[i]);
        return;
    }
    pthread_mutex_lock(&g->mu);
    g->st.accepted++;
}

static void *gate_main(void *arg)
{
    struct http_gate *g = arg;
    struct pollfd *pfd = calloc(g->c.max_conns + 2, sizeof *pfd);
    int *slot = calloc(g->c.max_conns + 2, sizeof *slot);

    while (pfd && slot) {
        uint64_t now = lw_now_mono_usec(), next = 0;
        int n = 0, timeout;

        pfd[n] = (struct pollfd){ g->stop_pipe[0], POLLIN, 0 };
        slot[n++] = -1;
        pfd[n] = (struct pollfd){ g->listen_fd, POLLIN, 0 };
        slot[n++] = -1;
        pthread_mutex_lock(&g->mu);
        for (unsigned i = 0; i < g->c.max_conns; i++) {
            struct gate_conn *k = &g->conn[i];

            if (k->fd < 0 || k->handed)
                continue;
            if (k->deadline <= now) {
                g->st.timeout++;
                refuse(k->fd, 408, "request not received in time", 0);
                slot_free(k);
                continue;
            }
            if (!next || k->deadline < next)
                next = k->deadline;
            pfd[n] = (struct pollfd){ k->fd, POLLIN | POLLRDHUP, 0 };
            slot[n++] = (int)i;
        }
        pthread_mutex_unlock(&g->mu);
        timeout = next ? (int)((next - now) / 1000) + 1 : -1;
        if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
            break;
        if (pfd[0].revents)
            break;
        pthread_mutex_lock(&g->mu);
        for (int i = 2; i < n; i++) {
            struct gate_conn *k = &g->conn[slot[i]];

            if (pfd[i].revents && k->fd == pfd[i].fd && !k->handed)
                gate_look(g, k, pfd[i].revents);
        }
        pthread_mutex_unlock(&g->mu);
        if (pfd[1].revents & POLLIN)
            gate_accept(g);
    }
    free(pfd);
    free(slot);
    return NULL;
}

/* ---------------------------------------------------------------- the daemon's side */

void http_gate_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe)
{
    struct http_gate *g = cls;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int fd = ci ? ci->connect_fd : -1;

    (void)socket_context;
    pthread_mutex_lock(&g->mu);
    for (unsigned i = 0; i < g->c.max_conns; i++) {
        struct gate_conn *k = &g->conn[i];

        if (toe == MHD_CONNECTION_NOTIFY_STARTED && k->fd == fd && k->handed && !k->mhd) {
            k->mhd = conn;
            break;
        }
        if (toe == MHD_CONNECTION_NOTIFY_CLOSED && k->fd >= 0 && k->mhd == conn) {
            slot_free(k);
            break;
        }
    }
    pthread_mutex_unlock(&g->mu);
}

int http_gate_client(struct http_gate *g, struct MHD_Connection *conn, char *out, struct lw_addr *a)
{
    int rc = -1;

    pthread_mutex_lock(&g->mu);
    for (unsigned i = 0; i < g->c.max_conns; i++)
        if (g->conn[i].fd >= 0 && g->conn[i].mhd == conn && g->conn[i].client_known) {
            if (out)
                lw_addr_str(&g->conn[i].client, out, LW_ADDRSTRLEN);
            if (a)
                *a = g->conn[i].client;
            rc = g->conn[i].via_proxy;
            break;
        }
    pthread_mutex_unlock(&g->mu);
    return rc;
}

void http_gate_close_after(struct MHD_Response *r)
{
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
}

/* ---------------------------------------------------------------- set-up */

static int open_listener(const char *listen_at, char *err, size_t errlen)
{
    const char *colon = strrchr(listen_at, ':');
    char host[256];
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV | AI_PASSIVE }, *ai = NULL;
    size_t n;
    int fd, rc, one = 1;

    if (!colon) {
        snprintf(err, errlen, "%s: expected host:port", listen_at);
        return -1;
    }
    n = (size_t)(colon - listen_at);
    if (n >= 2 && listen_at[0] == '[' && listen_at[n - 1] == ']') {
        listen_at++;
        n -= 2;
    }
    if (n >= sizeof host) {
        snprintf(err, errlen, "%s: host too long", listen_at);
        return -1;
    }
    memcpy(host, listen_at, n);
    host[n] = '\0';
    if (n == 0)
        hints.ai_family = AF_INET;
    if ((rc = getaddrinfo(n ? host : NULL, colon + 1, &hints, &ai)) != 0) {
        snprintf(err, errlen, "%s: %s", listen_at, gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
                    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0)) {
        snprintf(err, errlen, "cannot listen on %s: %s", listen_at, strerror(errno));
        close(fd);
        fd = -1;
    } else if (fd < 0) {
        snprintf(err, errlen, "%s: socket: %s", listen_at, strerror(errno));
    }
    freeaddrinfo(ai);
    return fd;
}

struct http_gate *http_gate_new(const char *listen_at, const struct http_gate_config *c, char *err,
                                size_t errlen)
{
    struct http_gate *g = calloc(1, sizeof *g);

    if (!g || c->max_conns == 0 || c->max_conns > GATE_MAX_CONNS || c->per_addr == 0) {
        snprintf(err, errlen, g ? "http gate: bad limits" : "out of memory");
        free(g);
        return NULL;
    }
    g->c = *c;
    g->listen_fd = g->stop_pipe[0] = g->stop_pipe[1] = -1;
    pthread_mutex_init(&g->mu, NULL);
    g->conn = calloc(c->max_conns, sizeof *g->conn);
    g->buf = malloc(c->max_head + c->max_body + 1);
    if (!g->conn || !g->buf) {
        snprintf(err, errlen, "out of memory");
        http_gate_free(g);
        return NULL;
    }
    for (unsigned i = 0; i < c->max_conns; i++)
        slot_free(&g->conn[i]);
    if ((g->listen_fd = open_listener(listen_at, err, errlen)) < 0 ||
        pipe2(g->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        if (g->listen_fd >= 0)
            snprintf(err, errlen, "pipe: %s", strerror(errno));
        http_gate_free(g);
        return NULL;
    }
    return g;
}

int http_gate_start(struct http_gate *g, struct MHD_Daemon *d, char *err, size_t errlen)
{
    int rc;

    g->d = d;
    if ((rc = pthread_create(&g->thread, NULL, gate_main, g)) != 0) {
        snprintf(err, errlen, "http gate thread: %s", strerror(rc));
        return -1;
    }
    g->started = 1;
    return 0;
}

void http_gate_stop(struct http_gate *g)
{
    if (!g || !g->started)
        return;
    (void)!write(g->stop_pipe[1], "q", 1);
    pthread_join(g->thread, NULL);
    g->started = 0;
    pthread_mutex_lock(&g->mu);
    for (unsigned i = 0; i < g->c.max_conns; i++)
        if (g->conn[i].fd >= 0 && !g->conn[i].handed) {
            close(g->conn[i].fd);
            slot_free(&g->conn[i]);
        }
    pthread_mutex_unlock(&g->mu);
}

void http_gate_free(struct http_gate *g)
{
    if (!g)
        return;
    http_gate_stop(g);
    if (g->listen_fd >= 0)
        close(g->listen_fd);
    if (g->stop_pipe[0] >= 0)
        close(g->stop_pipe[0]);
    if (g->stop_pipe[1] >= 0)
        close(g->stop_pipe[1]);
    pthread_mutex_destroy(&g->mu);
    free(g->conn);
    free(g->buf);
    free(g);
}

void http_gate_get_stats(struct http_gate *g, struct http_gate_stats *st)
{
    pthread_mutex_lock(&g->mu);
    *st = g->st;
    pthread_mutex_unlock(&g->mu);
}

void http_gate_prom(struct http_gate *g, const char *prefix, FILE *out)
{
    struct http_gate_stats st;

    http_gate_get_stats(g, &st);
    fprintf(out, "# HELP %s_http_requests_total Requests that arrived whole and were served.\n"
            "# TYPE %s_http_requests_total counter\n%s_http_requests_total %llu\n", prefix, prefix, prefix,
            (unsigned long long)st.accepted);
    fprintf(out, "# HELP %s_http_refused_total Connections turned away before a handler saw them, by reason.\n"
            "# TYPE %s_http_refused_total counter\n", prefix, prefix);
#define R(name) fprintf(out, "%s_http_refused_total{reason=\"" #name "\"} %llu\n", prefix, \
                        (unsigned long long)st.name)
    R(timeout);
    R(busy);
    R(per_addr);
    R(framing);
    R(too_large);
    R(closed);
#undef R
}

int http_gate_parse_cidrs(const char *text, struct lw_cidr **out, size_t *n, char *err, size_t errlen)
{
    char *copy = strdup(text ? text : ""), *save = NULL, *tok;
    struct lw_cidr *v = NULL, *nv;
    size_t k = 0;

    *out = NULL;
    *n = 0;
    if (!copy)
        return -1;
    for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (!(nv = realloc(v, (k + 1) * sizeof *v))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        v = nv;
        if (lw_cidr_parse(tok, &v[k]) < 0) {
            snprintf(err, errlen, "'%s': expected an address or a CIDR", tok);
            goto fail;
        }
        k++;
    }
    free(copy);
    *out = v;
    *n = k;
    return 0;
fail:
    free(copy);
    free(v);
    return -1;
}
