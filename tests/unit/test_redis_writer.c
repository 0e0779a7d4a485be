/* test_redis_writer.c - the redis exporter and the tally flusher without a
 * reachable Redis (sensor/redis/redis-alerts.c, tally-flush.c): alerts
 * handed to the output go to the redis exporter's spool, in order, with
 * increasing sequence numbers, also those handed in after the flusher
 * finished; the counters say so; the next open finds them and numbers new
 * alerts after them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "output.h"
#include "redis-alerts.h"
#include "spool.h"
#include "tally-flush.h"

/* A loopback port nothing listens on (bound, then closed). */
static int closed_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void alert(struct output *o, const char *line)
{
    output_event(o, EVT_ALERT, line, strlen(line));
}

static void test_spooled_in_order_also_after_finish(void **state)
{
    char dir[] = "/tmp/test_redis_writer.XXXXXX", spool[128], set_port[64], set_spool[192], err[256];
    char *sets[] = { "redis.enabled=yes", set_port, set_spool, "sensor-id=w1",
                     "redis.timeouts.connect=1", "redis.reconnect-max=1", "outputs.eve-file.enabled=no" };
    struct spool_config sc = { .dir_key = "redis.spool-dir", .size_key = "redis.spool-max-size",
                               .id = "w1", .max_bytes = 1 << 20, .own_dir = 1 };
    struct lw_config cfg;
    struct output *o;
    struct tally_flush *tf;
    struct redis_stats st;
    struct redis_alert_stats as;
    struct output_exporter_stats xs;
    struct spool *sp;
    struct spool_rec a[8];

    assert_non_null(mkdtemp(dir));
    snprintf(spool, sizeof spool, "%s/spool", dir);
    snprintf(set_port, sizeof set_port, "redis.port=%d", closed_port());
    snprintf(set_spool, sizeof set_spool, "redis.spool-dir=%s", spool);
    assert_int_equal(config_load(&cfg, NULL, sets, 7, err, sizeof err), 0);

    assert_int_equal(redis_alerts_stats(NULL, &as), -1);
    o = output_open(&cfg, dir, err, sizeof err);
    assert_non_null(o);
    assert_non_null(output_find(o, "redis"));
    assert_null(output_find(o, "eve-file"));
    tf = tally_flush_new(&cfg, o, err, sizeof err);
    assert_non_null(tf);
    alert(o, "{\"a\":1}");
    alert(o, "{\"a\":2}");
    tally_flush_finish(tf, 0);
    /* after the flusher is done: the exporter goes on, behind the others */
    alert(o, "{\"a\":3}");
    output_flush(o);
    tally_flush_stats(tf, &st);
    assert_int_equal(st.alerts_spooled, 3);
    assert_int_equal(st.alerts_in_spool, 3);
    assert_int_equal(st.alerts_sent, 0);
    assert_int_equal(st.alerts_spool_full, 0);
    assert_int_equal(st.flushes, 0);
    assert_int_equal(redis_alerts_stats(output_find(o, "redis"), &as), 0);
    assert_int_equal(as.alerts_sent, 0);
    assert_int_equal(as.conn.round_trips, 0);
    assert_int_equal(output_exporter_stats(o, "redis", &xs), 0);
    assert_int_equal(xs.spool_pending, 3);
    tally_flush_free(tf);
    output_close(o);

    sc.dir = spool;
    sp = spool_open(&sc, err, sizeof err);
    assert_non_null(sp);
    assert_int_equal(spool_pending(sp), 3);
    assert_int_equal(spool_read(sp, a, 8, 1 << 20), 3);
    assert_memory_equal(a[0].line, "{\"a\":1}", 7);
    assert_memory_equal(a[1].line, "{\"a\":2}", 7);
    assert_memory_equal(a[2].line, "{\"a\":3}", 7);
    assert_true(a[0].seq < a[1].seq && a[1].seq < a[2].seq);
    spool_close(sp);

    /* the next open numbers new alerts after what the spool holds, and
     * keeps them behind */
    o = output_open(&cfg, dir, err, sizeof err);
    assert_non_null(o);
    alert(o, "{\"a\":4}");
    output_close(o);
    sp = spool_open(&sc, err, sizeof err);
    assert_non_null(sp);
    assert_int_equal(spool_read(sp, a, 8, 1 << 20), 4);
    assert_memory_equal(a[3].line, "{\"a\":4}", 7);
    assert_true(a[2].seq < a[3].seq);
    spool_close(sp);
    config_free(&cfg);
    snprintf(err, sizeof err, "rm -rf '%s'", dir);
    assert_int_equal(system(err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spooled_in_order_also_after_finish),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
