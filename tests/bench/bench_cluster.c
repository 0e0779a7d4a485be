/* bench_cluster - flushes per second through the Redis routing layer
 * (sensor/redis/redis-cluster.c), one node or a cluster.
 *
 *   bench_cluster [--seed host:port]... | [--server host --port N]
 *                 [--user U --pass P] [--sensors N] [--seconds S]
 *
 * A flush is what the writer sends every flush interval, N times over
 * (N sensors' flushes in one pipeline): per sensor, 20 tally keys (EVALSHA
 * of the tally script, 10 members each) in each of its minute and hour
 * buckets and in two more tags standing for the merged view's, so 80
 * commands in 4 hash tags per sensor. Flushes are sent back to back for S seconds;
 * prints flushes/s, round trips/s (one per node written to), commands/s
 * and round trips per flush.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis-cluster.h"
#include "redis-cmd.h"

#define KEYS_PER_SCOPE 20
#define MEMBERS 10
#define ARGS (10 + 2 * MEMBERS)

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *seeds[RCL_MAX_SEEDS];
    struct rcl_config cfg = { .seeds = seeds, .server = "127.0.0.1", .port = 6379,
                              .tv_connect = { 2, 0 }, .tv_cmd = { 10, 0 } };
    int sensors = 1;
    double secs = 3;
    char err[512], sha[41];
    struct rcl *c;

    signal(SIGPIPE, SIG_IGN);   /* hiredis writes with write(): a lost node is an error, not a signal */
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seed") == 0 && cfg.nseeds < RCL_MAX_SEEDS)
            seeds[cfg.nseeds++] = argv[i + 1];
        else if (strcmp(argv[i], "--server") == 0)
            cfg.server = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            cfg.port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--user") == 0)
            cfg.user = argv[i + 1];
        else if (strcmp(argv[i], "--pass") == 0)
            cfg.pass = argv[i + 1];
        else if (strcmp(argv[i], "--sensors") == 0)
            sensors = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            secs = atof(argv[i + 1]);
        else {
            fprintf(stderr, "bench_cluster: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (sensors < 1 || sensors > 1000 || (c = rcl_open(&cfg, err, sizeof err)) == NULL) {
        fprintf(stderr, "bench_cluster: %s\n", sensors < 1 || sensors > 1000 ? "--sensors 1..1000" : err);
        return 2;
    }
    if (rcl_script(c, RCMD_TALLY_LUA, sha) < 0 || rcl_connect(c, err, sizeof err) < 0) {
        fprintf(stderr, "bench_cluster: %s\n", err);
        rcl_close(c);
        return 2;
    }

    /* The flush's commands, built once; only the flush id changes. */
    size_t ncmd = (size_t)sensors * 4 * KEYS_PER_SCOPE;
    char (*text)[ARGS][96] = calloc(ncmd, sizeof *text);
    const char *(*av)[ARGS] = calloc(ncmd, sizeof *av);
    struct rcl_cmd *cmds = calloc(ncmd, sizeof *cmds);
    struct rcl_result *res = calloc(ncmd, sizeof *res);
    if (text == NULL || av == NULL || cmds == NULL || res == NULL) {
        fprintf(stderr, "bench_cluster: out of memory\n");
        return 2;
    }
    size_t k = 0;
    for (int s = 0; s < sensors; s++)
        for (int scope = 0; scope < 4; scope++)
            for (int m = 0; m < KEYS_PER_SCOPE; m++, k++) {
                /* This sensor's buckets, and (standing for the merged view,
                 * which one writer sends once) a second tag per sensor. */
                const char *who = scope < 2 ? "bench" : "benchall";
                char res_c = scope % 2 ? 'h' : 'm';
                unsigned long long start = scope % 2 ? 1735689600ull : 1735693020ull;
                snprintf(text[k][0], 96, "EVALSHA");
                snprintf(text[k][1], 96, "%s", sha);
                snprintf(text[k][2], 96, "2");
                snprintf(text[k][3], 96, "lw:{%s%d:%c:%llu}:fam%d:bytes", who, s, res_c, start, m);
                snprintf(text[k][4], 96, "lw:{%s%d:%c:%llu}:applied", who, s, res_c, start);
                snprintf(text[k][5], 96, "bench%d:fam%d:bytes", s, m);
                /* [6] is the flush id, set per flush */
                snprintf(text[k][7], 96, "600");
                snprintf(text[k][8], 96, "h");
                snprintf(text[k][9], 96, "0");
                for (int j = 0; j < MEMBERS; j++) {
                    snprintf(text[k][10 + 2 * j], 96, "member%d", j);
                    snprintf(text[k][11 + 2 * j], 96, "%d", 1000 + j);
                }
                for (int a = 0; a < ARGS; a++)
                    av[k][a] = text[k][a];
                cmds[k] = (struct rcl_cmd){ ARGS, av[k], NULL };
            }

    const struct rcl_stats *st = rcl_stats(c);
    uint64_t rt0 = st->round_trips, cmd0 = st->commands, flushes = 0, errors = 0;
    /* Flush ids increase across runs, as the writer's do (microseconds since the epoch). */
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    uint64_t fid = (uint64_t)rt.tv_sec * 1000000u + (uint64_t)rt.tv_nsec / 1000u;
    double t0 = now(), t;
    do {
        for (size_t i = 0; i < ncmd; i++)
            snprintf(text[i][6], 96, "%llu", (unsigned long long)fid);
        fid++;
        if (rcl_exec(c, cmds, ncmd, res) != ncmd)
            errors++;
        for (size_t i = 0; i < ncmd; i++)
            if (res[i].reply->type != REDIS_REPLY_INTEGER || res[i].reply->integer != 1)
                errors++;
        rcl_results_free(res, ncmd);
        flushes++;
    } while ((t = now() - t0) < secs);
    double rts = (double)(st->round_trips - rt0), cmdn = (double)(st->commands - cmd0);
    printf("%-8s %2llu master(s), %d sensor(s), %zu commands/flush: %8.0f flushes/s, %8.0f round trips/s, "
           "%9.0f commands/s, %.2f round trips/flush, %llu errors\n",
           rcl_is_cluster(c) ? "cluster" : "one node", (unsigned long long)st->masters, sensors, ncmd,
           (double)flushes / t, rts / t, cmdn / t, rts / (double)flushes, (unsigned long long)errors);
    rcl_close(c);
    free(text);
    free(av);
    free(cmds);
    free(res);
    return errors ? 1 : 0;
}
