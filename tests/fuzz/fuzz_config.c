/* fuzz_config.c - libFuzzer target: the YAML configuration loader. The input
 * up to its first NUL byte is the linkwatch.yaml file; what follows are
 * NUL-separated --set overrides ("key.path=value", value read as YAML).
 * Any mix of types, anchors, aliases, tags and deep nesting must give a
 * loaded configuration or one clean error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t ylen = nul ? (size_t)(nul - data) : size;
    char *sets[8], path[64], err[1024];
    size_t nsets = 0;
    struct lw_config cfg;
    int fd = memfd_create("fuzz-config", MFD_CLOEXEC);

    if (fd < 0)
        return 0;
    if (write(fd, data, ylen) != (ssize_t)ylen) {
        close(fd);
        return 0;
    }
    if (nul) {
        const char *s = (const char *)nul + 1, *end = (const char *)data + size;

        while (s < end && nsets < 8) {
            const char *z = memchr(s, 0, (size_t)(end - s));
            size_t n = z ? (size_t)(z - s) : (size_t)(end - s);

            sets[nsets] = strndup(s, n);
            if (sets[nsets] && strchr(sets[nsets], '='))
                nsets++;
            else
                free(sets[nsets]);
            s += n + 1;
        }
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    memset(&cfg, 0, sizeof cfg);
    if (config_load(&cfg, path, sets, nsets, err, sizeof err) == 0)
        config_free(&cfg);
    else if (!memchr(err, 0, sizeof err) || !err[0])
        abort();                       /* every refusal says why */
    for (size_t i = 0; i < nsets; i++)
        free(sets[i]);
    close(fd);
    return 0;
}
