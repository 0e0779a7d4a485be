/* bench_http.c - HTTP parser throughput (`make bench-http`).
 *
 *   bench_http [FLOWS [TX]]    FLOWS keep-alive connections (default 200) of
 *                              TX transactions each (default 100), fed to
 *                              app_parser_http in 1448-byte segments, request
 *                              then response, as a stage would. The traffic
 *                              is typical browsing: a page (6 KB HTML), a
 *                              script (gzip, chunked), an image revalidated
 *                              (304) and a form POST with a JSON answer, with
 *                              browser-sized headers.
 *
 * Prints MB/s of HTTP bytes (both directions) and transactions/s per CPU
 * second of this process (steadier on a shared machine; wall time too), the
 * allocations (malloc, calloc, realloc: ours and libhtp's, counted by
 * wrapping glibc's allocator in this program) per transaction and per
 * flow, and app_mem's peak for one flow. Runs each flow's parse with
 * the stage's routine: the transactions done both ways are freed after
 * every segment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "app-layer.h"
#include "http.h"

/* glibc's allocator under the names this program wraps. */
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

static unsigned long long n_alloc;

void *malloc(size_t n)
{
    n_alloc++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    n_alloc++;
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    n_alloc++;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}

static const struct app_parser *P = &app_parser_http;

struct msg {
    char *p;
    size_t n;
};

static struct msg text(const char *hdr, const void *body, size_t blen)
{
    size_t h = strlen(hdr);
    struct msg m = { __libc_malloc(h + blen + 1), h + blen };

    if (!m.p)
        exit(1);
    memcpy(m.p, hdr, h);
    memcpy(m.p + h, body, blen);
    return m;
}

#define BROWSER_HEADERS                                                                               \
    "Host: www.example.com\r\n"                                                                       \
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "            \
    "Chrome/120.0.0.0 Safari/537.36\r\n"                                                              \
    "Accept-Language: en-US,en;q=0.9\r\n"                                                             \
    "Accept-Encoding: gzip, deflate, br\r\n"                                                          \
    "Cookie: session=8f2a9c1e7b3d4f60a1b2c3d4e5f60718; theme=dark; consent=yes\r\n"                   \
    "Connection: keep-alive\r\n"

#define SERVER_HEADERS                                                                                \
    "Date: Mon, 04 Mar 2024 10:00:00 GMT\r\nServer: nginx/1.24.0\r\n"                                 \
    "Cache-Control: max-age=600\r\nConnection: keep-alive\r\n"

/* The four exchanges a flow cycles through. */
static struct msg req[4], res[4];

static void make_traffic(void)
{
    static char html[6144], js[9000], gz[9000], json[512], chunked[12000], hdr[1024];
    uLongf gzlen = sizeof gz;
    z_stream z;
    size_t off;

    for (size_t i = 0; i < sizeof html; i++)
        html[i] = "<p>lorem ipsum dolor sit amet, consectetur</p>\n"[i % 47];
    for (size_t i = 0; i < sizeof js; i++)
        js[i] = "function f(a,b){return a+b;} var x = f(1,2);\n"[i % 45];
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        exit(1);
    z.next_in = (Bytef *)js;
    z.avail_in = sizeof js;
    z.next_out = (Bytef *)gz;
    z.avail_out = (uInt)gzlen;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        exit(1);
    gzlen = z.total_out;
    deflateEnd(&z);
    off = 0;
    for (size_t i = 0; i < gzlen; i += 1000) {
        size_t k = gzlen - i < 1000 ? gzlen - i : 1000;

        off += (size_t)sprintf(chunked + off, "%zx\r\n", k);
        memcpy(chunked + off, gz + i, k);
        off += k;
        memcpy(chunked + off, "\r\n", 2);
        off += 2;
    }
    memcpy(chunked + off, "0\r\n\r\n", 5);
    off += 5;
    for (size_t i = 0; i < sizeof json - 1; i++)
        json[i] = "{\"ok\":true,\"id\":12345}"[i % 22];

    req[0] = text("GET /news/index.html?page=2 HTTP/1.1\r\n" BROWSER_HEADERS
                  "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
                  "Referer: https://www.example.com/\r\n\r\n", "", 0);
    snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\n" SERVER_HEADERS "Content-Type: text/html; charset=utf-8\r\n"
                              "Content-Length: %zu\r\n\r\n", sizeof html);
    res[0] = text(hdr, html, sizeof html);
    req[1] = text("GET /static/app.js HTTP/1.1\r\n" BROWSER_HEADERS "Accept: */*\r\n"
                  "Referer: https://www.example.com/news/index.html?page=2\r\n\r\n", "", 0);
    res[1] = text("HTTP/1.1 200 OK\r\n" SERVER_HEADERS "Content-Type: application/javascript\r\n"
                  "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", chunked, off);
    req[2] = text("GET /img/logo.png HTTP/1.1\r\n" BROWSER_HEADERS "Accept: image/avif,image/webp,*/*\r\n"
                  "If-None-Match: \"5f2b-1a2b3c\"\r\nIf-Modified-Since: Sun, 03 Mar 2024 10:00:00 GMT\r\n\r\n",
                  "", 0);
    res[2] = text("HTTP/1.1 304 Not Modified\r\n" SERVER_HEADERS "ETag: \"5f2b-1a2b3c\"\r\n\r\n", "", 0);
    snprintf(hdr, sizeof hdr, "POST /api/comment HTTP/1.1\r\n" BROWSER_HEADERS "Accept: application/json\r\n"
                              "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", 300);
    {
        char form[300];

        for (size_t i = 0; i < sizeof form; i++)
            form[i] = "name=alice&text=hello+world&id=7&"[i % 33];
        req[3] = text(hdr, form, sizeof form);
    }
    snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\n" SERVER_HEADERS "Content-Type: application/json\r\n"
                              "Content-Length: %zu\r\n\r\n", sizeof json - 1);
    res[3] = text(hdr, json, sizeof json - 1);
}

/* Feeds one message in segments; frees what is done, as a stage would. */
static void send_msg(struct app_ctx *ctx, void *st, enum app_dir d, const struct msg *m, uint64_t *ts)
{
    struct app_txlist *l = P->txs(st);

    for (size_t o = 0; o < m->n; o += 1448) {
        size_t k = m->n - o < 1448 ? m->n - o : 1448;

        *ts += 100;
        if (P->parse(ctx, st, d, (const uint8_t *)m->p + o, k, 0, *ts) < 0) {
            fprintf(stderr, "bench_http: the parser gave up\n");
            exit(1);
        }
        while (l->head && l->head->progress[0] == APP_PROG_DONE && l->head->progress[1] == APP_PROG_DONE)
            P->tx_free(ctx, st, app_txlist_pop(l));
    }
}

static double now(clockid_t c)
{
    struct timespec t;

    clock_gettime(c, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    unsigned flows = argc > 1 ? (unsigned)atoi(argv[1]) : 200, ntx = argc > 2 ? (unsigned)atoi(argv[2]) : 100;
    struct app_ctx ctx;
    unsigned long long bytes = 0, allocs, flow_allocs;
    size_t peak = 0;
    double t0, c0, t, c;
    uint64_t ts = 1700000000000000ull;

    make_traffic();
    memset(&ctx, 0, sizeof ctx);
    http_limits_default(&ctx.limits);
    ctx.mem.cap = 256u << 20;
    P->state_free(&ctx, P->state_new(&ctx));          /* the per-worker libhtp config, once */
    /* allocations of a flow without transactions */
    allocs = n_alloc;
    P->state_free(&ctx, P->state_new(&ctx));
    flow_allocs = n_alloc - allocs;
    allocs = n_alloc;
    t0 = now(CLOCK_MONOTONIC);
    c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    for (unsigned f = 0; f < flows; f++) {
        void *st = P->state_new(&ctx);

        if (!st)
            return 1;
        for (unsigned i = 0; i < ntx; i++) {
            send_msg(&ctx, st, APP_TO_SERVER, &req[i % 4], &ts);
            send_msg(&ctx, st, APP_TO_CLIENT, &res[i % 4], &ts);
            bytes += req[i % 4].n + res[i % 4].n;
        }
        if (ctx.mem.peak > peak)
            peak = ctx.mem.peak;
        P->state_free(&ctx, st);
        ctx.mem.peak = 0;
    }
    t = now(CLOCK_MONOTONIC) - t0;
    c = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    allocs = n_alloc - allocs;
    printf("http parser: %u flows x %u transactions, %.1f MB: %.3f s CPU, %.1f MB/s, %.0f transactions/s "
           "(wall %.3f s, %.1f MB/s)\n", flows, ntx, (double)bytes / 1e6, c, (double)bytes / 1e6 / c,
           (double)flows * ntx / c, t, (double)bytes / 1e6 / t);
    printf("allocations: %.1f per transaction (ours and libhtp's), %llu per flow without transactions\n",
           (double)(allocs - flow_allocs * flows) / ((double)flows * ntx), flow_allocs);
    printf("app_mem: peak %zu bytes for one flow; %zu bytes in use at the end\n", peak, ctx.mem.used);
    P->ctx_free(&ctx);
    return ctx.mem.used != 0;
}
