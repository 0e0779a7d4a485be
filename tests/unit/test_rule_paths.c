/* test_rule_paths.c - rule-paths: every rule path gives something to load;
 * only the default rules.files may match nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "rule-paths.h"

static char tmpdir[64];

static const char *path_of(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
    return buf;
}

static int setup(void **state)
{
    char p[128];
    FILE *f;

    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lw-rulepaths-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    if (mkdir(path_of(p, sizeof p, "dir"), 0755) < 0 || mkdir(path_of(p, sizeof p, "empty"), 0755) < 0)
        return -1;
    if (!(f = fopen(path_of(p, sizeof p, "dir/a.rules"), "w")))
        return -1;
    fputs("# no rules\n", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    char p[128];

    (void)state;
    unlink(path_of(p, sizeof p, "dir/a.rules"));
    rmdir(path_of(p, sizeof p, "dir"));
    rmdir(path_of(p, sizeof p, "empty"));
    rmdir(tmpdir);
    return 0;
}

/* Checks one path both ways: may_be_empty 0 and 1. */
static int check1(const char *name, int may_be_empty, char *err, size_t errlen)
{
    char p[128];
    const char *v[1] = { path_of(p, sizeof p, name) };

    err[0] = '\0';
    return rule_paths_check(v, 1, may_be_empty, err, errlen);
}

static void test_readable_paths(void **state)
{
    char err[256];

    (void)state;
    assert_int_equal(check1("dir/a.rules", 0, err, sizeof err), 0);
    assert_int_equal(check1("dir", 0, err, sizeof err), 0);
    assert_int_equal(check1("dir/", 0, err, sizeof err), 0);
    assert_int_equal(check1("dir/*.rules", 0, err, sizeof err), 0);
    assert_int_equal(check1("d?r/a.rules", 0, err, sizeof err), 0);
    assert_string_equal(err, "");
}

static void test_missing_file(void **state)
{
    char err[256], want[256];

    (void)state;
    /* A named file is never allowed to be missing, default or not. */
    for (int m = 0; m < 2; m++) {
        assert_int_equal(check1("dir/mispelled.rules", m, err, sizeof err), -1);
        snprintf(want, sizeof want, "rule file %s/dir/mispelled.rules: No such file or directory", tmpdir);
        assert_string_equal(err, want);
    }
    assert_int_equal(check1("dir/a.rules/x.rules", 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "Not a directory"));
}

static void test_empty_pattern(void **state)
{
    char err[256], want[256];

    (void)state;
    assert_int_equal(check1("dir/*.rulez", 0, err, sizeof err), -1);
    snprintf(want, sizeof want, "rule files %s/dir/*.rulez: no file matches", tmpdir);
    assert_string_equal(err, want);
    assert_int_equal(check1("dir/*.rulez", 1, err, sizeof err), 0);   /* the default rules.files */
    assert_string_equal(err, "");
    /* A named folder without *.rules is an error even for the default. */
    assert_int_equal(check1("empty", 1, err, sizeof err), -1);
    snprintf(want, sizeof want, "rule files %s/empty/*.rules: no file matches", tmpdir);
    assert_string_equal(err, want);
}

static void test_first_bad_path_reported(void **state)
{
    char a[128], b[128], c[128], err[256];
    const char *v[3] = { path_of(a, sizeof a, "dir/a.rules"), path_of(b, sizeof b, "gone.rules"),
                         path_of(c, sizeof c, "also-gone.rules") };

    (void)state;
    assert_int_equal(rule_paths_check(v, 3, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "/gone.rules: No such file"));
    assert_int_equal(rule_paths_check(v, 1, 0, err, sizeof err), 0);
    assert_int_equal(rule_paths_check(v, 0, 0, err, sizeof err), 0);
}

static void test_files_default(void **state)
{
    struct lw_config cfg;
    char err[256];
    char *one[] = { "rules.files=[rules/*.rules]" }, *other[] = { "rules.files=[site/*.rules]" },
         *two[] = { "rules.files=[rules/*.rules, local.rules]" };

    (void)state;
    assert_int_equal(config_load(&cfg, NULL, NULL, 0, err, sizeof err), 0);
    assert_int_equal(rule_files_default(&cfg), 1);
    config_free(&cfg);
    assert_int_equal(config_load(&cfg, NULL, one, 1, err, sizeof err), 0);
    assert_int_equal(rule_files_default(&cfg), 1);       /* the same value, given again */
    config_free(&cfg);
    assert_int_equal(config_load(&cfg, NULL, other, 1, err, sizeof err), 0);
    assert_int_equal(rule_files_default(&cfg), 0);
    config_free(&cfg);
    assert_int_equal(config_load(&cfg, NULL, two, 1, err, sizeof err), 0);
    assert_int_equal(rule_files_default(&cfg), 0);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readable_paths),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_empty_pattern),
        cmocka_unit_test(test_first_bad_path_reported),
        cmocka_unit_test(test_files_default),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
