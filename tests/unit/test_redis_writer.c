/* test_redis_writer.c - the redis exporter without a reachable Redis
 * (sensor/redis/redis.c): alerts handed in go to its spool, in order, also
 * those the output layer hands in after redis_finish() (its own spool
 * replayed while closing), and the next open finds them. */
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
#include "redis.h"
#include "redis-spool.h"

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

static void test_spooled_in_order_also_after_finish(void **state)
{
    char dir[] = "/tmp/test_redis_writer.XXXXXX", spool[128], set_port[64], set_spool[192], err[256];
    char *sets[] = { "redis.enabled=yes", set_port, set_spool, "sensor-id=w1",
                     "redis.timeouts.connect=1", "redis.reconnect-max=1" };
    struct lw_config cfg;
    struct exporter *x;
    struct redis *r;
    struct redis_stats st;
    struct rspool *sp;
    struct ralert a[4];

    assert_non_null(mkdtemp(dir));
    snprintf(spool, sizeof spool, "%s/spool", dir);
    snprintf(set_port, sizeof set_port, "redis.port=%d", closed_port());
    snprintf(set_spool, sizeof set_spool, "redis.spool-dir=%s", spool);
    assert_int_equal(config_load(&cfg, NULL, sets, 6, err, sizeof err), 0);

    x = redis_exporter_open(&cfg, 1u << EVT_ALERT, err, sizeof err);
    assert_non_null(x);
    r = redis_of(x);
    assert_non_null(r);
    assert_null(redis_of(NULL));
    assert_int_equal(x->ops->write_event(x, EVT_ALERT, "{\"a\":1}", 7), 0);
    assert_int_equal(x->ops->write_event(x, EVT_ALERT, "{\"a\":2}", 7), 0);
    redis_finish(r, 0);
    /* after the thread is done: straight to the spool, behind the others */
    assert_int_equal(x->ops->write_event(x, EVT_ALERT, "{\"a\":3}", 7), 0);
    redis_get_stats(r, &st);
    assert_int_equal(st.alerts_queued, 3);
    assert_int_equal(st.alerts_spooled, 3);
    assert_int_equal(st.alerts_sent, 0);
    x->ops->close(x);

    sp = rspool_open(spool, "w1", 1 << 20, err, sizeof err);
    assert_non_null(sp);
    assert_int_equal(rspool_pending(sp), 3);
    assert_int_equal(rspool_read(sp, a, 4, 1 << 20), 3);
    assert_memory_equal(a[0].line, "{\"a\":1}", 7);
    assert_memory_equal(a[1].line, "{\"a\":2}", 7);
    assert_memory_equal(a[2].line, "{\"a\":3}", 7);
    assert_true(a[0].seq < a[1].seq && a[1].seq < a[2].seq);
    rspool_close(sp);

    /* the next writer starts after what the spool holds */
    x = redis_exporter_open(&cfg, 1u << EVT_ALERT, err, sizeof err);
    assert_non_null(x);
    x->ops->close(x);
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
