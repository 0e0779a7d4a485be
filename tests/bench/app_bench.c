/* app_bench.c - parse speed of the DNS, TLS and SSH parsers: each runs over
 * its inputs (the fuzz targets' format, tests/fuzz/fuzz-app.h) again and
 * again for the given seconds, transactions freed as the stage will, and
 * the rate is printed in MB/s of application data and in sessions/s.
 *
 * Usage: app_bench SECONDS PROTO DIR|FILE... [-- PROTO DIR|FILE...]...
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dns.h"
#include "fuzz-app.h"
#include "ssh.h"
#include "tls.h"

struct input {
    uint8_t *data;
    size_t len, payload;                /* bytes of the file, of application data in it */
};

static struct input inputs[4096];
static size_t ninputs;

/* Application bytes of an input: the data of its frames, gaps left out. */
static size_t payload_of(const uint8_t *d, size_t n)
{
    const uint8_t *frame;
    uint32_t len;
    size_t total = 0;

    if (n < 1)
        return 0;
    d++;
    n--;
    while (fuzz_next_frame(&d, &n, &frame, &len))
        if (len > 1 && !(frame[0] & 2))
            total += len - 1;
    return total;
}

static void add_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct input *in = &inputs[ninputs];
    long len;

    if (!f || ninputs == sizeof inputs / sizeof inputs[0])
        goto out;
    if (fseek(f, 0, SEEK_END) || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) ||
        !(in->data = malloc((size_t)len)) || fread(in->data, 1, (size_t)len, f) != (size_t)len)
        goto out;
    in->len = (size_t)len;
    in->payload = payload_of(in->data, in->len);
    ninputs++;
out:
    if (f)
        fclose(f);
}

static void add_path(const char *path)
{
    struct stat st;
    struct dirent *e;
    DIR *d;

    if (stat(path, &st) || !S_ISDIR(st.st_mode) || !(d = opendir(path))) {
        add_file(path);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        char p[4096];

        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        add_file(p);
    }
    closedir(d);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bench(const struct app_parser *p, double seconds)
{
    double t0 = now(), t;
    size_t bytes = 0, runs = 0, total = 0;

    for (size_t i = 0; i < ninputs; i++)
        total += inputs[i].payload;
    if (!ninputs || !total) {
        printf("app_bench %-4s no input\n", p->name);
        return;
    }
    do {
        for (size_t i = 0; i < ninputs; i++) {
            fuzz_app_run(p, inputs[i].data, inputs[i].len, NULL, NULL);
            bytes += inputs[i].payload;
            runs++;
        }
        t = now() - t0;
    } while (t < seconds);
    printf("app_bench %-4s %7.1f MB/s  %9.0f sessions/s  (%zu inputs, %zu bytes of application data)\n",
           p->name, bytes / t / 1e6, runs / t, ninputs, total);
}

int main(int argc, char **argv)
{
    static const struct app_parser *const parsers[] = { &app_parser_dns, &app_parser_tls, &app_parser_ssh };
    const struct app_parser *p = NULL;
    double seconds;
    int i = 2;

    if (argc < 4 || (seconds = atof(argv[1])) <= 0) {
        fprintf(stderr, "usage: app_bench SECONDS PROTO DIR|FILE... [-- PROTO DIR|FILE...]...\n");
        return 2;
    }
    while (i < argc) {
        p = NULL;
        for (size_t k = 0; k < sizeof parsers / sizeof parsers[0]; k++)
            if (!strcmp(argv[i], parsers[k]->name))
                p = parsers[k];
        if (!p) {
            fprintf(stderr, "app_bench: no parser %s\n", argv[i]);
            return 2;
        }
        for (i++; i < argc && strcmp(argv[i], "--"); i++)
            add_path(argv[i]);
        bench(p, seconds);
        while (ninputs)
            free(inputs[--ninputs].data);
        i++;
    }
    return 0;
}
