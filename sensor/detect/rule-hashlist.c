/* rule-hashlist.c - the digest lists of filemd5, filesha1 and filesha256
 * (rule-hashlist.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rule-hashlist.h"

static int hexval(int c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static int digest_cmp(const void *a, const void *b, void *len)
{
    return memcmp(a, b, *(const uint8_t *)len);
}

/* Appends the digest of line (its leading hex run) to h, growing *cap.
 * 0 (also for a line without one), 1 when the run has the wrong length,
 * -1 when out of memory. */
static int add_line(struct rule_hashlist *h, uint32_t *cap, const char *line)
{
    size_t run = 0;
    uint8_t *d;

    while (isxdigit((unsigned char)line[run]))
        run++;
    if (run == 0)
        return 0;
    if (run != 2u * h->len)
        return 1;
    if (h->n == *cap) {
        uint32_t c = *cap ? *cap * 2 : 64;
        uint8_t *v = c > *cap ? realloc(h->v, (size_t)c * h->len) : NULL;

        if (v == NULL)
            return -1;
        h->v = v;
        *cap = c;
    }
    d = h->v + (size_t)h->n * h->len;
    for (uint8_t i = 0; i < h->len; i++)
        d[i] = (uint8_t)(hexval(line[2 * i]) << 4 | hexval(line[2 * i + 1]));
    h->n++;
    return 0;
}

/* Sorts h and drops duplicate digests. */
static void sort_unique(struct rule_hashlist *h)
{
    uint32_t o = 0;

    if (h->n < 2)
        return;
    qsort_r(h->v, h->n, h->len, digest_cmp, &h->len);
    for (uint32_t i = 1; i < h->n; i++)
        if (memcmp(h->v + (size_t)i * h->len, h->v + (size_t)o * h->len, h->len) != 0 && ++o != i)
            memcpy(h->v + (size_t)o * h->len, h->v + (size_t)i * h->len, h->len);
    h->n = o + 1;
}

int rule_hashlist_read(struct rule_hashlist *h, FILE *f, const char *shown, uint8_t len, char *err,
                       size_t errlen)
{
    char *line = NULL;
    size_t lcap = 0;
    unsigned lineno = 0;
    uint32_t cap = 0;
    int rc = 0;

    h->v = NULL;
    h->n = 0;
    h->len = len;
    while (rc == 0 && getline(&line, &lcap, f) != -1) {
        lineno++;
        rc = add_line(h, &cap, line);
    }
    free(line);
    if (rc == 0 && ferror(f))
        snprintf(err, errlen, "%s: read error", shown);
    else if (rc > 0)
        snprintf(err, errlen, "%s:%u: a digest here is %u hex digits", shown, lineno, 2u * len);
    else if (rc < 0)
        snprintf(err, errlen, "%s: out of memory", shown);
    if (rc != 0 || ferror(f)) {
        rule_hashlist_free(h);
        return -1;
    }
    sort_unique(h);
    return 0;
}

int rule_hashlist_has(const struct rule_hashlist *h, const uint8_t *d)
{
    uint32_t lo = 0, hi = h->n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = memcmp(h->v + (size_t)mid * h->len, d, h->len);

        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

void rule_hashlist_free(struct rule_hashlist *h)
{
    free(h->v);
    h->v = NULL;
    h->n = 0;
}
