/* lwcluster - drives the Redis routing layer (sensor/redis/redis-cluster.c)
 * for the integration tests and the benchmark: reads commands on stdin and
 * prints their results.
 *
 *   lwcluster [--seed host:port]... | [--server host --port N]
 *             [--user U] [--pass P] [--db N] [--wait N] [--retries N]
 *             [--retry-usec N] [--script BODY]...
 *
 * At start it connects (an error goes to stderr, exit 2), then prints
 * "script <sha>" per --script and "ready". Input lines:
 *   batch / ... / end   the commands between (one per line, arguments
 *                       separated by single spaces) sent with one rcl_exec()
 *   <command>           a batch of one
 *   stats               "stats name=value ..." from the counters table
 *   quit
 * A batch prints "<i> <STATUS> <reply>" per command (reply: ":n", "+text",
 * "$text", "-error", "_" nil, "*n" array), then "done ok=<n> syscw=<write
 * system calls during rcl_exec, from /proc/self/io>".
 */
#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redis-cluster.h"

#define MAX_ARGS 64

static const char *const status_names[] = { "OK", "NOT_SENT", "IN_DOUBT", "REFUSED" };

/* Write system calls of this process so far; -1 when unknown. */
static long long syscw(void)
{
    char buf[1024], *p;
    int fd = open("/proc/self/io", O_RDONLY);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    p = strstr(buf, "syscw:");
    return p ? strtoll(p + 6, NULL, 10) : -1;
}

static void print_reply(const redisReply *r)
{
    switch (r->type) {
    case REDIS_REPLY_INTEGER:
        printf(":%lld", r->integer);
        break;
    case REDIS_REPLY_NIL:
        printf("_");
        break;
    case REDIS_REPLY_ARRAY:
        printf("*%zu", r->elements);
        break;
    default:
        putchar(r->type == REDIS_REPLY_ERROR ? '-' : r->type == REDIS_REPLY_STATUS ? '+' : '$');
        for (size_t i = 0; i < r->len; i++)
            putchar(isprint((unsigned char)r->str[i]) ? r->str[i] : '.');
    }
}

struct line {
    char *text;
    int argc;
    const char *argv[MAX_ARGS];
};

/* Splits text in place at single spaces. */
static int split(struct line *l)
{
    char *p = l->text;

    l->argc = 0;
    while (*p) {
        if (l->argc == MAX_ARGS)
            return -1;
        l->argv[l->argc++] = p;
        while (*p && *p != ' ')
            p++;
        if (*p)
            *p++ = '\0';
    }
    return l->argc ? 0 : -1;
}

static void run_batch(struct rcl *c, struct line *lines, size_t n)
{
    struct rcl_cmd *cmds = calloc(n ? n : 1, sizeof *cmds);
    struct rcl_result *res = calloc(n ? n : 1, sizeof *res);
    long long w0, w1;
    size_t ok;

    if (cmds == NULL || res == NULL) {
        fprintf(stderr, "lwcluster: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < n; i++)
        cmds[i] = (struct rcl_cmd){ lines[i].argc, lines[i].argv, NULL };
    w0 = syscw();
    ok = rcl_exec(c, cmds, n, res);
    w1 = syscw();
    for (size_t i = 0; i < n; i++) {
        printf("%zu %s ", i, status_names[res[i].status]);
        print_reply(res[i].reply);
        printf("%s\n", res[i].unreplicated ? " unreplicated" : "");
    }
    printf("done ok=%zu syscw=%lld\n", ok, w0 < 0 || w1 < 0 ? -1 : w1 - w0);
    rcl_results_free(res, n);
    free(res);
    free(cmds);
}

static void print_stats(const struct rcl *c)
{
    const struct rcl_stats *st = rcl_stats(c);

    printf("stats");
    for (size_t i = 0; i < rcl_stats_module.nfields; i++) {
        const struct stats_field *f = &rcl_stats_module.fields[i];
        uint64_t v;
        memcpy(&v, (const char *)st + f->off, sizeof v);
        printf(" %s=%llu", strchr(f->path, '/') + 1, (unsigned long long)v);
    }
    printf("\n");
}

static void usage(void)
{
    fprintf(stderr, "usage: lwcluster [--seed host:port]... | [--server host --port N] [--user U] [--pass P] "
            "[--db N] [--wait N] [--retries N] [--retry-usec N] [--script BODY]...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *seeds[RCL_MAX_SEEDS], *scripts[8];
    size_t nscripts = 0;
    struct rcl_config cfg = { .seeds = seeds, .server = "127.0.0.1", .port = 6379,
                              .tv_connect = { 2, 0 }, .tv_cmd = { 5, 0 } };
    struct line *batch = NULL;
    size_t nbatch = 0, cbatch = 0;
    int in_batch = 0;
    char err[512], sha[41], *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    struct rcl *c;

    signal(SIGPIPE, SIG_IGN);   /* hiredis writes with write(): a lost node is an error, not a signal */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage();
        i++;
        if (strcmp(a, "--seed") == 0 && cfg.nseeds < RCL_MAX_SEEDS)
            seeds[cfg.nseeds++] = v;
        else if (strcmp(a, "--server") == 0)
            cfg.server = v;
        else if (strcmp(a, "--port") == 0)
            cfg.port = atoi(v);
        else if (strcmp(a, "--user") == 0)
            cfg.user = v;
        else if (strcmp(a, "--pass") == 0)
            cfg.pass = v;
        else if (strcmp(a, "--db") == 0)
            cfg.db = atoi(v);
        else if (strcmp(a, "--wait") == 0)
            cfg.wait_replicas = atoi(v);
        else if (strcmp(a, "--retries") == 0)
            cfg.max_retries = (unsigned)atoi(v);
        else if (strcmp(a, "--retry-usec") == 0)
            cfg.retry_usec = strtoull(v, NULL, 10);
        else if (strcmp(a, "--script") == 0 && nscripts < 8)
            scripts[nscripts++] = v;
        else
            usage();
    }
    if ((c = rcl_open(&cfg, err, sizeof err)) == NULL) {
        fprintf(stderr, "lwcluster: %s\n", err);
        return 2;
    }
    for (size_t s = 0; s < nscripts; s++) {
        if (rcl_script(c, scripts[s], sha) < 0) {
            fprintf(stderr, "lwcluster: out of memory\n");
            return 2;
        }
        printf("script %s\n", sha);
    }
    if (rcl_connect(c, err, sizeof err) < 0) {
        fprintf(stderr, "lwcluster: %s\n", err);
        rcl_close(c);
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    while ((len = getline(&buf, &cap, stdin)) > 0) {
        struct line l;

        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        if (strcmp(buf, "quit") == 0)
            break;
        if (strcmp(buf, "stats") == 0) {
            print_stats(c);
        } else if (strcmp(buf, "batch") == 0) {
            in_batch = 1;
            continue;
        } else if (strcmp(buf, "end") == 0 && in_batch) {
            run_batch(c, batch, nbatch);
            for (size_t i = 0; i < nbatch; i++)
                free(batch[i].text);
            nbatch = 0;
            in_batch = 0;
        } else {
            if ((l.text = strdup(buf)) == NULL || split(&l) < 0) {
                printf("error: bad line\n");
                free(l.text);
            } else if (in_batch) {
                if (nbatch == cbatch) {
                    cbatch = cbatch ? 2 * cbatch : 256;
                    if ((batch = realloc(batch, cbatch * sizeof *batch)) == NULL)
                        return 2;
                }
                batch[nbatch++] = l;
                continue;
            } else {
                run_batch(c, &l, 1);
                free(l.text);
            }
        }
        fflush(stdout);
    }
    /* Argument pointers point into the texts: a line moved into batch keeps them. */
    for (size_t i = 0; i < nbatch; i++)
        free(batch[i].text);
    free(batch);
    free(buf);
    rcl_close(c);
    return 0;
}
