/* alertfeed.c - writes EVE alert lines, one per line on stdin, through the
 * sensor's own output layer with only its redis exporter enabled
 * (sensor/redis/redis-alerts.c: its queue, its thread, its scripts and
 * indexes, its trimming, its spool), as a sensor that raised them would.
 * For the console tests and tests/bench/console_bench.py, which need many
 * alerts of a chosen shape.
 *
 *   alertfeed [--set key.path=value ...]      (redis.enabled=yes is implied)
 *
 * The queue is drained every 1000 alerts (output_flush), so alerts wait in
 * memory rather than in the spool when Redis takes them slower than they
 * come. Prints one line to stderr: how many were fed, in how long, and what
 * Redis acknowledged. Exits 1 when Redis did not take every alert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "event-types.h"
#include "output.h"
#include "redis-alerts.h"
#include "util.h"

int main(int argc, char **argv)
{
    char **sets = calloc((size_t)argc + 3, sizeof *sets), err[1024], *line = NULL;
    size_t nsets = 0, cap = 0;
    uint64_t fed = 0, t0;
    struct lw_config cfg;
    struct redis_alert_stats st;
    struct output *o;
    ssize_t n;

    if (sets == NULL)
        return 1;
    sets[nsets++] = "redis.enabled=yes";
    sets[nsets++] = "outputs.eve-file.enabled=no";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--set") != 0 || i + 1 == argc || !strchr(argv[i + 1], '=')) {
            fprintf(stderr, "usage: alertfeed [--set key.path=value ...] < eve-alert-lines\n");
            return 1;
        }
        sets[nsets++] = argv[++i];
    }
    if (config_load(&cfg, NULL, sets, nsets, err, sizeof err) < 0 ||
        (o = output_open(&cfg, ".", err, sizeof err)) == NULL) {
        fprintf(stderr, "alertfeed: %s\n", err);
        return 1;
    }
    t0 = lw_now_mono_usec();
    while ((n = getline(&line, &cap, stdin)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        output_event(o, EVT_ALERT, line, (size_t)n);
        if (++fed % 1000 == 0)
            output_flush(o);
    }
    output_flush(o);
    if (redis_alerts_stats(output_find(o, "redis"), &st) < 0)
        memset(&st, 0, sizeof st);
    fprintf(stderr, "alertfeed: fed %llu alerts in %.2f s; redis: %llu sent, %llu repeats\n",
            (unsigned long long)fed, (double)(lw_now_mono_usec() - t0) / 1e6,
            (unsigned long long)st.alerts_sent, (unsigned long long)st.alerts_duplicate);
    output_close(o);
    config_free(&cfg);
    free(line);
    free(sets);
    return st.alerts_sent >= fed ? 0 : 1;
}
