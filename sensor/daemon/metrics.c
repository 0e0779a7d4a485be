/* metrics.c - the /metrics endpoint; see metrics.h. */
#include <microhttpd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "http-gate.h"
#include "metrics.h"

/* A scrape is a few hundred bytes of request: it has this long to arrive
 * whole (http-gate.h); slow or idle clients take no handler. */
static const struct http_gate_config metrics_gate = {
    .max_conns = 32, .per_addr = 8, .deadline_ms = 5000, .max_head = 8192, .max_body = 0,
};

struct metrics {
    struct MHD_Daemon *d;
    struct http_gate *gate;
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
        http_gate_close_after(r);
        rc = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
        MHD_destroy_response(r);
        return rc;
    }
    if (strcmp(url, "/metrics") != 0) {
        static const char msg[] = "linkwatch: metrics are at /metrics\n";

        r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        http_gate_close_after(r);
        rc = MHD_queue_response(c, MHD_HTTP_NOT_FOUND, r);
        MHD_destroy_response(r);
        return rc;
    }
    out = open_memstream(&text, &len);
    if (!out)
        return MHD_NO;
    m->fn(m->arg, out);
    http_gate_prom(m->gate, "linkwatch_metrics", out);
    fclose(out);
    r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    http_gate_close_after(r);
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

struct metrics *metrics_start(const char *listen, metrics_collect_fn fn, void *arg,
                              char *err, size_t errlen)
{
    struct metrics *m = calloc(1, sizeof *m);
    char why[512];

    if (!m) {
        snprintf(err, errlen, "metrics: out of memory");
        return NULL;
    }
    m->fn = fn;
    m->arg = arg;
    if (!(m->gate = http_gate_new(listen, &metrics_gate, why, sizeof why))) {
        snprintf(err, errlen, "metrics.listen: %s", why);
        free(m);
        return NULL;
    }
    m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC, 0,
                            NULL, NULL, handle, m,
                            MHD_OPTION_NOTIFY_CONNECTION, http_gate_notify, m->gate,
                            MHD_OPTION_CONNECTION_LIMIT, metrics_gate.max_conns,
                            MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!m->d || http_gate_start(m->gate, m->d, why, sizeof why) < 0) {
        snprintf(err, errlen, "metrics.listen: %s", m->d ? why : "cannot start the HTTP server");
        if (m->d)
            MHD_stop_daemon(m->d);
        http_gate_free(m->gate);
        free(m);
        return NULL;
    }
    return m;
}

void metrics_stop(struct metrics *m)
{
    if (!m)
        return;
    http_gate_stop(m->gate);
    MHD_stop_daemon(m->d);
    http_gate_free(m->gate);
    free(m);
}
