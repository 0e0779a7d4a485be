/* test_spool.c - the on-disk alert queue (sensor/output/spool.c): order,
 * commit, reopen, size bound, torn records, permissions, lock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

struct fx {
    char dir[64];
    char sub[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    snprintf(f->dir, sizeof f->dir, "/tmp/test_spool.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->sub, sizeof f->sub, "%s/spool", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[256];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static struct spool_rec rec(uint64_t seq, const char *line)
{
    return (struct spool_rec){ seq, line, strlen(line) };
}

/* A spool of sensor id in its own folder dir, as the redis exporter's. */
static struct spool *open_own(const char *dir, const char *id, uint64_t max, char *err, size_t errlen)
{
    struct spool_config c = {
        .dir = dir, .id = id, .max_bytes = max, .dir_key = "redis.spool-dir",
        .size_key = "redis.spool-max-size", .own_dir = 1,
    };

    return spool_open(&c, err, errlen);
}

static void test_order_commit_reopen(void **state)
{
    struct fx *f = *state;
    char err[256];
    struct spool *s = open_own(f->sub, "dc1", 1 << 20, err, sizeof err);
    struct spool_rec in[3] = { rec(10, "{\"a\":1}"), rec(11, "{\"a\":\"x\\ny\"}"), rec(12, "") };
    struct spool_rec out[8];
    struct stat st;

    assert_non_null(s);
    assert_int_equal(stat(f->sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(spool_pending(s), 0);
    assert_int_equal(spool_read(s, out, 8, 1 << 20), 0);
    assert_int_equal(spool_append(s, in, 3), 3);
    assert_int_equal(spool_pending(s), 3);
    assert_int_equal(spool_last_seq(s), 12);
    assert_int_equal(stat(spool_path(s), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(spool_read(s, out, 8, 1 << 20), 3);
    assert_int_equal(out[0].seq, 10);
    assert_int_equal(out[1].len, strlen("{\"a\":\"x\\ny\"}"));
    assert_memory_equal(out[1].line, in[1].line, in[1].len);
    assert_int_equal(out[2].len, 0);
    /* one delivered; the rest survives a restart */
    assert_int_equal(spool_commit(s, 1), 0);
    assert_int_equal(spool_pending(s), 2);
    spool_close(s);
    s = open_own(f->sub, "dc1", 1 << 20, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(spool_pending(s), 2);
    assert_int_equal(spool_last_seq(s), 12);
    assert_int_equal(spool_read(s, out, 1, 1 << 20), 1);
    assert_int_equal(out[0].seq, 11);
    /* appended after a partial read: still in order behind */
    in[0].seq = 13;
    assert_int_equal(spool_append(s, in, 1), 1);
    assert_int_equal(spool_commit(s, 1), 0);
    assert_int_equal(spool_read(s, out, 8, 1 << 20), 2);
    assert_int_equal(out[0].seq, 12);
    assert_int_equal(out[1].seq, 13);
    /* all delivered: the file is emptied */
    assert_int_equal(spool_commit(s, 2), 0);
    assert_int_equal(spool_pending(s), 0);
    assert_int_equal(spool_bytes(s), 0);
    assert_int_equal(stat(spool_path(s), &st), 0);
    assert_int_equal(st.st_size, 0);
    spool_close(s);
}

static void test_size_bound(void **state)
{
    struct fx *f = *state;
    char err[256], line[100];
    struct spool *s = open_own(f->sub, "dc1", 1024, err, sizeof err);
    struct spool_rec in[20], out[32];

    assert_non_null(s);
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\0';
    for (int i = 0; i < 20; i++)
        in[i] = rec(1000 + (uint64_t)i, line);
    /* each record is 99 bytes + "100x 99\n" + "\n": 9 fit in 1024 */
    assert_int_equal(spool_append(s, in, 20), 9);
    assert_true(spool_bytes(s) <= 1024);
    assert_int_equal(spool_append(s, in + 9, 1), 0);
    /* a small read budget still returns whole records, at least one */
    assert_int_equal(spool_read(s, out, 32, 10), 1);
    assert_int_equal(out[0].seq, 1000);
    assert_int_equal(spool_read(s, out, 32, 1 << 20), 9);
    assert_int_equal(spool_commit(s, 9), 0);
    assert_int_equal(spool_append(s, in + 9, 1), 1);
    spool_close(s);
}

static void test_torn_tail(void **state)
{
    struct fx *f = *state;
    char err[256], path[256];
    struct spool *s = open_own(f->sub, "dc1", 1 << 20, err, sizeof err);
    struct spool_rec in[2] = { rec(1, "{\"a\":1}"), rec(2, "{\"b\":2}") }, out[4];
    int fd;

    assert_non_null(s);
    assert_int_equal(spool_append(s, in, 2), 2);
    snprintf(path, sizeof path, "%s", spool_path(s));
    spool_close(s);
    /* a crash in the middle of a third record */
    fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "3 40\n{\"c\"", 10), 10);
    close(fd);
    s = open_own(f->sub, "dc1", 1 << 20, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(spool_pending(s), 2);
    assert_int_equal(spool_read(s, out, 4, 1 << 20), 2);
    assert_int_equal(out[1].seq, 2);
    in[0].seq = 4;
    assert_int_equal(spool_append(s, in, 1), 1);
    assert_int_equal(spool_read(s, out, 4, 1 << 20), 3);
    assert_int_equal(out[2].seq, 4);
    spool_close(s);
}

/* A spool in a folder that is not its own (outputs.spool-dir, /tmp): the
 * folder is left as it is, and must exist. A new bound applies to what is
 * appended after it. */
static void test_shared_dir_and_limit(void **state)
{
    struct fx *f = *state;
    struct spool_config c = {
        .dir = f->sub, .id = "syslog", .max_bytes = 1 << 20, .dir_key = "outputs.spool-dir",
        .size_key = "outputs.spool-size", .own_dir = 0,
    };
    struct spool_rec in[2] = { rec(1, "{\"a\":1}"), rec(2, "{\"b\":2}") }, out[4];
    char err[256], path[256];
    struct spool *s;
    struct stat st;

    s = spool_open(&c, err, sizeof err);
    assert_null(s);
    assert_non_null(strstr(err, "cannot open"));
    assert_int_equal(mkdir(f->sub, 0755), 0);
    s = spool_open(&c, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(stat(f->sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    snprintf(path, sizeof path, "%s/syslog.alerts", f->sub);
    assert_string_equal(spool_path(s), path);
    assert_int_equal(spool_append(s, in, 1), 1);
    assert_int_equal(spool_sync(s), 0);
    /* bound to what is in already: the next record does not fit */
    spool_limit(s, spool_file_size(s));
    assert_int_equal(spool_append(s, in + 1, 1), 0);
    spool_limit(s, spool_file_size(s) + 64);
    assert_int_equal(spool_append(s, in + 1, 1), 1);
    assert_int_equal(spool_read(s, out, 4, 1 << 20), 2);
    assert_int_equal(out[1].seq, 2);
    spool_close(s);
}

static void test_dir_and_lock(void **state)
{
    struct fx *f = *state;
    char err[256];
    struct spool *s, *s2;
    struct stat st;

    assert_int_equal(mkdir(f->sub, 0755), 0);
    s = open_own(f->sub, "dc1", 1 << 20, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(stat(f->sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    /* the same sensor id twice: refused */
    s2 = open_own(f->sub, "dc1", 1 << 20, err, sizeof err);
    assert_null(s2);
    assert_non_null(strstr(err, "in use by another linkwatch"));
    /* another id beside it: fine */
    s2 = open_own(f->sub, "dc2", 1 << 20, err, sizeof err);
    assert_non_null(s2);
    spool_close(s2);
    spool_close(s);
    s = open_own("/proc/nonexistent/x", "dc1", 1 << 20, err, sizeof err);
    assert_null(s);
    assert_non_null(strstr(err, "cannot create"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_commit_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_dir_and_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_and_lock, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
