/* replay-main.c - runs a fuzz target's LLVMFuzzerTestOneInput() over files
 * or folders of inputs without libFuzzer, so the committed seeds and every
 * input that once crashed a target (tests/fuzz/regress/) are replayed by
 * the ordinary gcc and sanitizer builds' make check.
 *
 * Usage: replay_TARGET FILE|DIR...   Prints one TAP line per file.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;

    if (!f || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
        !(buf = malloc((size_t)len + 1)) || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        printf("not ok %d - %s: cannot read\n", ++n, path);
        if (f)
            fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)len);   /* a crash or sanitizer report ends the run */
    free(buf);
    printf("ok %d - %s\n", ++n, path);
    fflush(stdout);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_path(const char *path)
{
    struct stat st;
    struct dirent *e;
    char **names = NULL;
    size_t k = 0, cap = 0;
    int rc = 0;
    DIR *d;

    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return replay_file(path);
    if (!(d = opendir(path)))
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (k == cap && !(names = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names)))
            abort();
        if (asprintf(&names[k++], "%s/%s", path, e->d_name) < 0)
            abort();
    }
    closedir(d);
    qsort(names, k, sizeof *names, cmp);
    for (size_t i = 0; i < k; i++) {
        if (replay_file(names[i]) < 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;

    for (int i = 1; i < argc; i++)
        if (replay_path(argv[i]) < 0)
            rc = 1;
    printf("1..%d\n", n);
    return rc;
}
