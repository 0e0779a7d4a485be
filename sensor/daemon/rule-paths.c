/* rule-paths.c - checking the rule paths before the first load; see rule-paths.h. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rule-paths.h"

/* 0 when path opens for reading (O_NONBLOCK: a FIFO must not hang the
 * check), else -1 with the reason in err. *is_dir tells a folder. */
static int readable(const char *path, int *is_dir, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "rule file %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    *is_dir = S_ISDIR(st.st_mode);
    return 0;
}

/* The files pattern matches must each be readable; no match is an error
 * unless may_be_empty. what names the path for messages. */
static int check_matches(const char *pattern, const char *what, int may_be_empty, char *err, size_t errlen)
{
    glob_t g;
    int grc = glob(pattern, 0, NULL, &g), rc = 0, dir;

    if (grc == GLOB_NOMATCH) {
        globfree(&g);
        if (may_be_empty)
            return 0;           /* the loader warns "no file matches" */
        snprintf(err, errlen, "rule files %s: no file matches", what);
        return -1;
    }
    if (grc != 0) {
        snprintf(err, errlen, "rule files %s: cannot expand the pattern (glob error %d)", what, grc);
        return -1;
    }
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
        rc = readable(g.gl_pathv[i], &dir, err, errlen);
    globfree(&g);
    return rc;
}

int rule_paths_check(const char *const *paths, size_t n, int may_be_empty, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = paths[i];
        char *pat;
        int dir, rc;

        if (strpbrk(p, "*?[")) {        /* the loader's rule: a pattern, not a name */
            rc = check_matches(p, p, may_be_empty, err, errlen);
        } else if ((rc = readable(p, &dir, err, errlen)) == 0 && dir) {
            size_t len = strlen(p);

            while (len > 1 && p[len - 1] == '/')
                len--;
            if (asprintf(&pat, "%.*s/*.rules", (int)len, p) < 0) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            rc = check_matches(pat, pat, 0, err, errlen);
            free(pat);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

int rule_files_default(const struct lw_config *cfg)
{
    struct lw_config def;
    char err[256];
    int same;

    if (config_load(&def, NULL, NULL, 0, err, sizeof err) < 0)
        return 0;
    same = def.rules.files.n == cfg->rules.files.n;
    for (size_t i = 0; same && i < def.rules.files.n; i++)
        same = strcmp(def.rules.files.v[i], cfg->rules.files.v[i]) == 0;
    config_free(&def);
    return same;
}
