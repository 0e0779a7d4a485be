/* test_fsafe.c - files and folders opened without following links
 * (sensor/common/fsafe.c): links, wrong types and extra hard links refused
 * with the target untouched; modes whatever the umask; the relative walk;
 * the atomic replace; giving away only what was checked. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fsafe.h"

struct fx {
    char dir[64];
    char path[256];
    int dfd;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    snprintf(f->dir, sizeof f->dir, "/tmp/test_fsafe.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
    *state = f;
    return f->dfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[256];

    close(f->dfd);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static const char *at(struct fx *f, const char *name)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    return f->path;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    chmod(path, mode);
}

/* The target's bytes and mode, to show it was not touched. */
static void assert_untouched(const char *path, const char *text, mode_t mode)
{
    char buf[256] = "";
    struct stat st;
    int fd = open(path, O_RDONLY);
    ssize_t n;

    assert_true(fd >= 0);
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_string_equal(buf, text);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, mode);
}

static void test_create_mode_whatever_umask(void **state)
{
    struct fx *f = *state;
    char err[512] = "";
    struct stat st;
    mode_t old = umask(0);
    int created, fd = fs_open_file_at(f->dfd, "eve.json", "eve.json", O_WRONLY | O_APPEND | O_CREAT, 0640,
                                      &created, err, sizeof err);

    umask(old);
    assert_true(fd >= 0);
    assert_int_equal(created, 1);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    close(fd);
    /* an existing file more open than allowed is narrowed; a tighter one is left */
    chmod(at(f, "eve.json"), 0666);
    fd = fs_open_file_at(f->dfd, "eve.json", "eve.json", O_WRONLY | O_CREAT, 0640, &created, err, sizeof err);
    assert_true(fd >= 0);
    assert_int_equal(created, 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    close(fd);
    chmod(at(f, "eve.json"), 0600);
    fd = fs_open_file_at(f->dfd, "eve.json", "eve.json", O_WRONLY | O_CREAT, 0640, NULL, err, sizeof err);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    close(fd);
}

static void test_link_refused_target_untouched(void **state)
{
    struct fx *f = *state;
    char target[256], err[512] = "";
    int fd;

    snprintf(target, sizeof target, "%s", at(f, "secret"));
    write_file(target, "root only\n", 0600);
    assert_int_equal(symlink(target, at(f, "eve.json")), 0);
    fd = fs_open_file_at(f->dfd, "eve.json", "LOG/eve.json", O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, 0640,
                         NULL, err, sizeof err);
    assert_int_equal(fd, -1);
    assert_non_null(strstr(err, "LOG/eve.json: is a symbolic link"));
    assert_non_null(strstr(err, "refused"));
    assert_untouched(target, "root only\n", 0600);
    /* a dangling link: not created through either */
    snprintf(target, sizeof target, "%s", at(f, "nowhere"));
    assert_int_equal(symlink(target, at(f, "spool.alerts")), 0);
    fd = fs_open_file_at(f->dfd, "spool.alerts", "spool.alerts", O_RDWR | O_CREAT, 0600, NULL, err, sizeof err);
    assert_int_equal(fd, -1);
    assert_int_equal(access(target, F_OK), -1);
}

static void test_hard_link_and_types_refused(void **state)
{
    struct fx *f = *state;
    char target[256], err[512] = "";
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, s;

    snprintf(target, sizeof target, "%s", at(f, "secret"));
    write_file(target, "root only\n", 0600);
    assert_int_equal(link(target, at(f, "eve.json")), 0);
    fd = fs_open_file_at(f->dfd, "eve.json", "eve.json", O_WRONLY | O_CREAT | O_TRUNC, 0640, NULL, err, sizeof err);
    assert_int_equal(fd, -1);
    assert_non_null(strstr(err, "hard links; refused"));
    assert_untouched(target, "root only\n", 0600);
    /* a FIFO does not hang the open, and is refused */
    assert_int_equal(mkfifo(at(f, "fifo"), 0600), 0);
    fd = fs_open_file_at(f->dfd, "fifo", "fifo", O_WRONLY | O_CREAT, 0640, NULL, err, sizeof err);
    assert_int_equal(fd, -1);
    assert_non_null(strstr(err, "a FIFO"));
    /* a folder where a file is expected, and a socket */
    assert_int_equal(mkdirat(f->dfd, "d", 0700), 0);
    assert_int_equal(fs_open_file_at(f->dfd, "d", "d", O_RDONLY, 0600, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "is a folder"));
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(strlen(at(f, "sock")) < sizeof sa.sun_path);
    memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(fs_open_file_at(f->dfd, "sock", "sock", O_RDONLY, 0600, NULL, err, sizeof err), -1);
    close(s);
    /* a missing file without O_CREAT: ENOENT, so callers can tell "none yet" */
    assert_int_equal(fs_open_file_at(f->dfd, "none", "none", O_RDONLY, 0600, NULL, err, sizeof err), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_dirs(void **state)
{
    struct fx *f = *state;
    char err[512] = "", target[256];
    struct stat st;
    mode_t old = umask(0);
    int made, fd = fs_open_dir(at(f, "log"), 1, 0750, &made, err, sizeof err);

    umask(old);
    assert_true(fd >= 0);
    assert_int_equal(made, 1);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    close(fd);
    fd = fs_open_dir(at(f, "log/"), 1, 0750, &made, err, sizeof err);
    assert_true(fd >= 0);
    assert_int_equal(made, 0);
    /* below it: each component without following, created as asked */
    {
        int sub = fs_open_dir_at(fd, "spool/a", "spool/a", 1, 0700, &made, err, sizeof err);

        assert_true(sub >= 0);
        assert_int_equal(made, 1);
        close(sub);
        assert_int_equal(fs_open_dir_at(fd, "../x", "../x", 1, 0700, NULL, err, sizeof err), -1);
        assert_non_null(strstr(err, "'..'"));
    }
    /* a link in place of a folder: refused, the target gets nothing */
    snprintf(target, sizeof target, "%s", at(f, "rootdir"));
    assert_int_equal(mkdir(target, 0700), 0);
    assert_int_equal(symlinkat(target, fd, "linked"), 0);
    assert_int_equal(fs_open_dir_at(fd, "linked/sub", "linked/sub", 1, 0700, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "is a symbolic link"));
    assert_int_equal(fs_open_dir(at(f, "log/linked"), 1, 0700, NULL, err, sizeof err), -1);
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(st.st_nlink, 2);          /* still empty */
    /* a file in place of a folder */
    write_file(at(f, "log/file"), "x", 0600);
    assert_int_equal(fs_open_dir(at(f, "log/file"), 1, 0700, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "is a file, not a folder"));
    close(fd);
}

static void test_replace(void **state)
{
    struct fx *f = *state;
    char target[256], tmp[300], err[512] = "";
    struct stat st;
    mode_t old = umask(0);

    snprintf(target, sizeof target, "%s", at(f, "secret"));
    write_file(target, "root only\n", 0600);
    /* a link waiting at the temporary's name is removed, never written through */
    snprintf(tmp, sizeof tmp, "%s/users.tmp%ld", f->dir, (long)getpid());
    assert_int_equal(symlink(target, tmp), 0);
    assert_int_equal(fs_replace_at(f->dfd, "users", "users", "a:b\n", 4, 0600, -1, 1, err, sizeof err), 0);
    umask(old);
    assert_untouched(target, "root only\n", 0600);
    assert_untouched(at(f, "users"), "a:b\n", 0600);
    assert_int_equal(lstat(tmp, &st), -1);
    /* replacing a link at the name replaces the link, not its target */
    assert_int_equal(symlink(target, at(f, "offset")), 0);
    assert_int_equal(fs_replace_at(f->dfd, "offset", "offset", "7\n", 2, 0600, -1, 0, err, sizeof err), 0);
    assert_untouched(target, "root only\n", 0600);
    assert_int_equal(lstat(at(f, "offset"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
}

static void test_give_checks(void **state)
{
    struct fx *f = *state;
    int fd, s;

    char a[256];

    snprintf(a, sizeof a, "%s", at(f, "a"));
    write_file(a, "x", 0600);
    fd = open(a, O_RDONLY);
    assert_int_equal(fs_give(fd, getuid(), getgid()), 0);
    assert_int_equal(link(a, at(f, "b")), 0);
    assert_int_equal(fs_give(fd, getuid(), getgid()), -1);     /* now it has two names */
    assert_int_equal(errno, EINVAL);
    close(fd);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(fs_give(s, getuid(), getgid()), -1);
    close(s);
    assert_int_equal(fs_give(f->dfd, getuid(), getgid()), 0);
}

static void test_split(void **state)
{
    char d[64], b[64];

    (void)state;
    assert_int_equal(fs_split("/var/log/linkwatch/", d, b), 0);
    assert_string_equal(d, "/var/log");
    assert_string_equal(b, "linkwatch");
    assert_int_equal(fs_split("eve.json", d, b), 0);
    assert_string_equal(d, ".");
    assert_string_equal(b, "eve.json");
    assert_int_equal(fs_split("/x", d, b), 0);
    assert_string_equal(d, "/");
    assert_string_equal(b, "x");
    assert_int_equal(fs_split("/", d, b), 0);
    assert_string_equal(b, ".");
    assert_int_equal(fs_split("", d, b), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_mode_whatever_umask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_refused_target_untouched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hard_link_and_types_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_give_checks, setup, teardown),
        cmocka_unit_test(test_split),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
