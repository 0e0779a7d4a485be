/* metrics.c - the /metrics endpoint; see metrics.h. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "metrics.h"

struct metrics {
    struct MHD_Daemon *d;
    metrics_collect_fn fn;
    void *arg;
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    struct metrics *m = cls;
    struct MHD_Response *r;
    enum MHD_Result rc;
    char *text = NULL;
    size_t len = 0;
    FILE *out;

    (void)version;
    (void)upload;
    (void)upload_size;
    (void)state;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        static const char msg[] = "only GET\n";

        r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        rc = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
        MHD_destroy_response(r);
        return rc;
    }
    if (strcmp(url, "/metrics") != 0) {
        static const char msg[] = "linkwatch: metrics are at /metrics\n";

        r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        rc = MHD_queue_response(c, MHD_HTTP_NOT_FOUND, r);
        MHD_destroy_response(r);
        return rc;
    }
    out = open_memstream(&text, &len);
    if (!out)
        return MHD_NO;
    m->fn(m->arg, out);
    fclose(out);
    r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* "host:port", "[v6]:port" or ":port" into a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    const char *colon = strrchr(s, ':');
    char host[128];
    long port;

    if (!colon || (size_t)(colon - s) >= sizeof host)
        return -1;
    port = strtol(colon + 1, NULL, 10);
    if (port <= 0 || port > 65535)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    memset(ss, 0, sizeof *ss);
    if (host[0] == '[') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        size_t hl = strlen(host);

        if (hl < 2 || host[hl - 1] != ']')
            return -1;
        host[hl - 1] = '\0';
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *len = sizeof *a;
        return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;

    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *len = sizeof *a;
    if (!host[0])
        return 0;                      /* every address */
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

struct metrics *metrics_start(const char *listen, metrics_collect_fn fn, void *arg,
                              char *err, size_t errlen)
{
    struct metrics *m = calloc(1, sizeof *m);
    struct sockaddr_storage ss;
    socklen_t sl;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;

    if (!m) {
        snprintf(err, errlen, "metrics: out of memory");
        return NULL;
    }
    if (parse_listen(listen, &ss, &sl) < 0) {
        snprintf(err, errlen, "metrics.listen: '%s': expected host:port", listen);
        free(m);
        return NULL;
    }
    (void)sl;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    m->fn = fn;
    m->arg = arg;
    m->d = MHD_start_daemon(flags, ntohs(((struct sockaddr_in *)&ss)->sin_port), NULL, NULL,
                            handle, m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                            MHD_OPTION_END);
    if (!m->d) {
        snprintf(err, errlen, "metrics.listen: cannot listen on %s (in use?)", listen);
        free(m);
        return NULL;
    }
    return m;
}

void metrics_stop(struct metrics *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->d);
    free(m);
}
