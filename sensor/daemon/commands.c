/* commands.c - what the control thread does for linkwatchctl, SIGHUP and
 * rules.watch: reload, ruleset, stats, reopen-logs, shutdown. */
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "log.h"
#include "output.h"
#include "sensor.h"

/* Reopens geoip.databases with the rules (SIGHUP, linkwatchctl reload):
 * the new set is published atomically, the old one freed once the workers
 * passed a quiescent point. Writes one line to out; returns 0 or -1 (the
 * old databases stay). */
static int reload_geo(struct sensor *s, int json, FILE *out)
{
    char err[1024];
    char **paths = sensor_geo_paths(&s->cfg);
    size_t n = s->cfg.geoip.databases.n;
    int rc = paths ? geo_reload(s->geo, (const char *const *)paths, n, err, sizeof err) : -1;

    if (!paths)
        snprintf(err, sizeof err, "out of memory");
    if (rc == 0)
        log_info("geoip: %zu database(s) reloaded", geo_database_count(s->geo));
    else
        log_error("geoip: reload failed, the old databases stay: %s", err);
    if (json) {
        struct jbuf j;

        jbuf_init(&j);
        jbuf_open_object(&j, NULL);
        jbuf_bool(&j, "geoip_ok", rc == 0);
        jbuf_u64(&j, "geoip_databases", geo_database_count(s->geo));
        if (rc < 0)
            jbuf_str(&j, "geoip_error", err);
        jbuf_close_object(&j);
        if (jbuf_ok(&j))
            fprintf(out, "%.*s\n", (int)j.len, j.buf);
        jbuf_free(&j);
    } else if (rc == 0) {
        fprintf(out, "geoip: %zu database(s) reloaded\n", geo_database_count(s->geo));
    } else {
        fprintf(out, "geoip: reload failed, the old databases stay: %s\n", err);
    }
    sensor_free_paths(paths, n);
    return rc;
}

/* Returns 0 ok, 1 failed, 2 done with errors, -1 unknown command. */
int sensor_control_command(void *arg, const char *cmd, const char *origin, int json, FILE *out)
{
    struct sensor *s = arg;

    if (strcmp(cmd, "reload") == 0) {
        enum reload_status st = reload_rules(&s->reload, origin, json, out);
        int rc = st == RELOAD_OK ? 0 : st == RELOAD_WITH_ERRORS ? 2 : 1;

        if (s->geo && reload_geo(s, json, out) < 0 && rc == 0)
            rc = 2;
        return rc;
    }
    if (strcmp(cmd, "ruleset") == 0) {
        reload_describe(&s->reload, json, out);
        return 0;
    }
    if (strcmp(cmd, "stats") == 0) {
        sensor_write_stats(s, json, out);
        return 0;
    }
    if (strcmp(cmd, "reopen-logs") == 0) {
        int rc = output_reopen(s->out);

        fprintf(out, json ? "{\"ok\":%s}\n" : "%s\n", json ? (rc == 0 ? "true" : "false")
                : (rc == 0 ? "log files reopened" : "reopen failed (see the log)"));
        return rc == 0 ? 0 : 1;
    }
    if (strcmp(cmd, "shutdown") == 0) {
        sensor_request_stop();
        fprintf(out, json ? "{\"ok\":true}\n" : "stopping\n");
        return 0;
    }
    return -1;
}
