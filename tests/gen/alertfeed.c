/* alertfeed.c - writes EVE alert lines, one per line on stdin, through the
 * sensor's own Redis writer (the redis exporter of sensor/redis/redis.c:
 * its queue, its thread, its scripts and indexes, its trimming), as a
 * sensor that raised them would. For the console tests and
 * tests/bench/console_bench.py, which need many alerts of a chosen shape.
 *
 *   alertfeed [--set key.path=value ...]      (redis.enabled=yes is implied)
 *
 * An alert the writer refuses (its queue stays full for a command timeout:
 * Redis takes alerts slower than they come) is offered again, for up to
 * ten minutes, so that every line gets in (the summary's "lost ... queue"
 * counts those refusals). Prints one line to stderr: how many were fed, in
 * how long, and the writer's summary. Exits 1 when Redis did not take
 * every alert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exporter.h"
#include "redis.h"
#include "util.h"

int main(int argc, char **argv)
{
    char **sets = calloc((size_t)argc + 1, sizeof *sets), err[1024], *line = NULL;
    size_t nsets = 0, cap = 0;
    uint64_t fed = 0, t0;
    struct lw_config cfg;
    struct redis_stats st;
    struct exporter *x;
    struct redis *r;
    ssize_t n;

    if (sets == NULL)
        return 1;
    sets[nsets++] = "redis.enabled=yes";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--set") != 0 || i + 1 == argc || !strchr(argv[i + 1], '=')) {
            fprintf(stderr, "usage: alertfeed [--set key.path=value ...] < eve-alert-lines\n");
            return 1;
        }
        sets[nsets++] = argv[++i];
    }
    if (config_load(&cfg, NULL, sets, nsets, err, sizeof err) < 0 ||
        (x = redis_exporter_open(&cfg, 1u << EVT_ALERT, err, sizeof err)) == NULL) {
        fprintf(stderr, "alertfeed: %s\n", err);
        return 1;
    }
    r = redis_of(x);
    t0 = lw_now_mono_usec();
    while ((n = getline(&line, &cap, stdin)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        for (int tries = 0; x->ops->write_event(x, EVT_ALERT, line, (size_t)n) < 0; tries++)
            if (tries == 120) {
                fprintf(stderr, "alertfeed: alert %llu refused for ten minutes\n", (unsigned long long)fed);
                break;
            }
        fed++;
    }
    redis_finish(r, lw_now_real_usec());
    redis_get_stats(r, &st);
    fprintf(stderr, "alertfeed: fed %llu alerts in %.2f s;", (unsigned long long)fed,
            (double)(lw_now_mono_usec() - t0) / 1e6);
    redis_print_summary(r, stderr);
    x->ops->close(x);
    config_free(&cfg);
    free(line);
    free(sets);
    return st.alerts_sent == fed ? 0 : 1;
}
