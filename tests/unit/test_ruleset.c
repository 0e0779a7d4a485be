/* test_ruleset.c - rule set generations: diff, content hash, publication
 * and the quiescent-state wait (sensor/detect/ruleset.c); the reload's
 * counters read while a reload runs (sensor/detect/reload.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "reload.h"
#include "ruleset.h"

static char dir[] = "/tmp/lw-ruleset-XXXXXX";
static struct lw_config cfg;

static char *write_rules(const char *name, const char *text)
{
    char *path;
    FILE *f;

    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static struct ruleset *build(const char *text, const struct ruleset *old, unsigned nworkers)
{
    char *path = write_rules("r.rules", text);
    struct ruleset_source src = { &cfg, &path, 1, NULL, NULL, nworkers, NULL };
    char err[256];
    struct ruleset *rs = ruleset_build(&src, old, err, sizeof err);

    if (!rs)
        fail_msg("ruleset_build: %s", err);
    free(path);
    return rs;
}

#define R1 "alert tcp any any -> any 80 (msg:\"one\"; content:\"GET\"; sid:1; rev:1;)\n"
#define R2 "alert tcp any any -> any 80 (msg:\"two\"; content:\"POST\"; sid:2; rev:1;)\n"
#define R2b "alert tcp any any -> any 80 (msg:\"two, better\"; content:\"POST\"; sid:2; rev:1;)\n"
#define R2r "alert tcp any any -> any 80 (msg:\"two\"; content:\"POST\"; sid:2; rev:2;)\n"
#define R3 "alert udp any any -> any 53 (msg:\"three\"; sid:3;)\n"

static void test_diff_and_hash(void **state)
{
    struct ruleset *a = build(R1 R2, NULL, 2), *b, *c, *d;

    (void)state;
    assert_int_equal(ruleset_rule_count(a), 2);
    assert_int_equal(a->added, 2);
    assert_non_null(a->engine);
    assert_non_null(a->dt[0]);
    assert_non_null(a->dt[1]);
    assert_non_null(a->th[1]);
    /* the same text: same hash, nothing added/removed/changed */
    b = build(R1 R2, a, 2);
    assert_true(a->hash == b->hash);
    assert_int_equal(b->added + b->removed + b->changed, 0);
    /* one rule's text changed, same rev: changed */
    c = build(R1 R2b, b, 1);
    assert_true(c->hash != b->hash);
    assert_int_equal(c->changed, 1);
    assert_int_equal(c->added + c->removed, 0);
    /* rev bumped, one removed, one added */
    d = build(R2r R3, c, 1);
    assert_int_equal(d->changed, 1);
    assert_int_equal(d->removed, 1);
    assert_int_equal(d->added, 1);
    assert_int_equal(ruleset_rev(d, 1, 2), 2);
    assert_int_equal(ruleset_rev(d, 1, 1), -1);
    assert_int_equal(ruleset_rev(c, 1, 1), 1);
    ruleset_free(a);
    ruleset_free(b);
    ruleset_free(c);
    ruleset_free(d);
}

static void test_errors_counted(void **state)
{
    struct ruleset *rs = build(R1 "alert tcp any any -> any any (frobnicate; sid:9;)\n", NULL, 1);

    (void)state;
    assert_int_equal(rs->rep.loaded, 1);
    assert_int_equal(rs->rep.failed, 1);
    assert_true(rs->rep.nlines >= 1);
    assert_non_null(strstr(rs->rep.lines[0], "r.rules:2: keyword 'frobnicate' is not supported"));
    ruleset_free(rs);
}

static void test_empty_set(void **state)
{
    struct ruleset *rs = build("# no rules\n", NULL, 1);

    (void)state;
    assert_int_equal(ruleset_rule_count(rs), 0);
    assert_null(rs->engine);
    assert_null(rs->dt[0]);
    ruleset_free(rs);
}

/* A reload waits for every worker's quiescent point after the publish;
 * an offline worker does not hold it up; stop ends the wait. */
static void test_publish_and_wait(void **state)
{
    struct rules_slot slot;
    struct ruleset *a = build(R1, NULL, 2), *b = build(R2, a, 2), *old;
    uint64_t epoch;
    volatile int stop = 0;

    (void)state;
    rules_slot_init(&slot, 2);
    old = rules_slot_publish(&slot, a, &epoch);
    assert_null(old);
    assert_ptr_equal(rules_slot_get(&slot), a);
    rules_slot_quiescent(&slot, 0);
    rules_slot_quiescent(&slot, 1);
    old = rules_slot_publish(&slot, b, &epoch);
    assert_ptr_equal(old, a);
    /* neither worker has passed a quiescent point since: the wait times out */
    assert_int_equal(rules_slot_wait(&slot, epoch, 20000, &stop), -1);
    rules_slot_quiescent(&slot, 0);
    assert_int_equal(rules_slot_wait(&slot, epoch, 20000, &stop), -1);
    rules_slot_offline(&slot, 1);      /* blocked in a read: holds nothing */
    assert_int_equal(rules_slot_wait(&slot, epoch, 20000, &stop), 0);
    /* stop ends a wait at once */
    old = rules_slot_publish(&slot, a, &epoch);
    rules_slot_quiescent(&slot, 1);
    stop = 1;
    assert_int_equal(rules_slot_wait(&slot, epoch, 10000000, &stop), -1);
    assert_ptr_equal(old, b);
    ruleset_free(old);
    rules_slot_destroy(&slot);         /* frees a */
}

struct stats_reader {
    struct reload_state *r;
    struct reload_stats st;
};

static void *read_stats(void *arg)
{
    struct stats_reader *q = arg;

    reload_get_stats(q->r, &q->st);
    return NULL;
}

/* The periodic stats are written by the capture thread, which is worker 0
 * when one worker runs inline. A reload holds the slot's lock while it
 * waits for that worker's quiescent point: reading the reload counters
 * must not wait for that lock, or the capture stops for the whole wait
 * (seen as kernel drops during reloads). */
static void test_stats_while_reloading(void **state)
{
    struct reload_state r;
    struct stats_reader q = { &r, { 0 } };
    char **paths = malloc(sizeof *paths);
    FILE *out = fopen("/dev/null", "w");
    struct timespec until;
    pthread_t t;
    int rc;

    (void)state;
    assert_non_null(paths);
    assert_non_null(out);
    paths[0] = write_rules("reload.rules", R1 R2);
    assert_int_equal(reload_init(&r, &cfg, 1, paths, 1, NULL, NULL), 0);
    assert_int_equal(reload_rules(&r, "startup", 0, out), RELOAD_OK);
    assert_int_equal(reload_rules(&r, "control", 0, out), RELOAD_OK);

    pthread_mutex_lock(&r.slot.lock);      /* a reload in progress */
    assert_int_equal(pthread_create(&t, NULL, read_stats, &q), 0);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    rc = pthread_timedjoin_np(t, NULL, &until);
    pthread_mutex_unlock(&r.slot.lock);
    if (rc == ETIMEDOUT)
        pthread_join(t, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(q.st.loaded, 2);
    assert_int_equal(q.st.version, 2);
    assert_int_equal(q.st.reloads, 1);
    assert_int_equal(q.st.last_status, RELOAD_OK);
    reload_destroy(&r);
    fclose(out);
}

static int setup(void **state)
{
    char err[256];

    (void)state;
    assert_non_null(mkdtemp(dir));
    return config_load(&cfg, NULL, NULL, 0, err, sizeof err);
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    config_free(&cfg);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff_and_hash),
        cmocka_unit_test(test_errors_counted),
        cmocka_unit_test(test_empty_set),
        cmocka_unit_test(test_publish_and_wait),
        cmocka_unit_test(test_stats_while_reloading),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
