/* fuzz_alert_index.c - libFuzzer target: what the Redis writer files an
 * alert under (sensor/redis/alert-index.c, over sensor/common/json-scan.c),
 * from a stream entry's event text, which anyone who can write to Redis
 * could have put there (the writer's trim and the console's --reindex read
 * entries back). The input is the text itself. Invariants: no read past
 * it; a scratch of its length + 32 always suffices; every list is an index
 * key, NUL-terminated; the message fits what was promised. */
#include <stdlib.h>
#include <string.h>

#include "alert-index.h"
#include "json-scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct rkeys RK = { .prefix = "lw", .sensor = "fz" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const paths[] = { "a", "a.b", "alert", "alert.signature", "x.y.z" };
    struct jscan_want w[5];
    struct aix_terms *t = malloc(sizeof *t);
    char *line = malloc(size ? size : 1), *scratch = malloc(size + 32), *out = malloc(size + 1);

    if (!t || !line || !scratch || !out)
        abort();
    memcpy(line, data, size);
    if (aix_terms(line, size, "fz", &RK, t, scratch, size + 32) != 0)
        abort();
    if (t->nlists == 0 || t->nlists > AIX_MAX_LISTS || (t->msg && t->msglen >= size + 32))
        abort();
    for (size_t i = 0; i < t->nlists; i++)
        if (memchr(t->lists[i], '\0', RKEY_MAX) == NULL || strncmp(t->lists[i], "lw:{alerts}:ix:", 15) != 0)
            abort();
    for (int i = 0; i < 5; i++)
        w[i] = (struct jscan_want){ .path = paths[i] };
    jscan_object(line, size, w, 5);
    for (int i = 0; i < 5; i++) {
        long n = jscan_string(&w[i], out, size + 1);
        if (n >= 0 && (size_t)n > size)
            abort();
        if (w[i].type != JS_NONE && (w[i].p < line || w[i].p + w[i].n > line + size))
            abort();
    }
    free(out);
    free(scratch);
    free(line);
    free(t);
    return 0;
}
