/* util.c - see util.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "util.h"

char *lw_addr_str(const struct lw_addr *a, char *out, size_t outlen)
{
    if (a->family == 4)
        inet_ntop(AF_INET, a->u.b, out, (socklen_t)outlen);
    else if (a->family == 6)
        inet_ntop(AF_INET6, a->u.b, out, (socklen_t)outlen);
    else if (outlen > 0)
        out[0] = '\0';
    return out;
}

int lw_addr_parse(const char *s, struct lw_addr *a)
{
    uint8_t b[16];

    if (inet_pton(AF_INET, s, b) == 1) {
        lw_addr_set4(a, b);
        return 0;
    }
    if (inet_pton(AF_INET6, s, b) == 1) {
        lw_addr_set6(a, b);
        return 0;
    }
    return -1;
}

int lw_xff_entry(const char *s, size_t len, struct lw_addr *out)
{
    char text[LW_ADDRSTRLEN + 2];
    const char *colon;

    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len && *s == '[') {                       /* [v6] or [v6]:port */
        const char *close = memchr(s, ']', len);

        if (!close || (close + 1 < s + len && close[1] != ':'))
            return -1;
        len = (size_t)(close - s - 1);
        s++;
    } else if ((colon = memchr(s, ':', len)) != NULL && !memchr(colon + 1, ':', (size_t)(s + len - colon - 1))) {
        len = (size_t)(colon - s);                /* one colon: v4:port */
    }
    if (len == 0 || len >= sizeof text)
        return -1;
    memcpy(text, s, len);
    text[len] = '\0';
    return lw_addr_parse(text, out);
}

int lw_xff_pick(const char *v, size_t len, int last, struct lw_addr *out)
{
    const char *end = v + len, *s = NULL, *e = NULL;

    for (const char *p = v; p <= end;) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        const char *q = c ? c : end;
        const char *a = p;

        while (a < q && (*a == ' ' || *a == '\t'))
            a++;
        if (a < q) {                              /* a non-empty entry */
            s = p;
            e = q;
            if (!last)
                break;
        }
        if (!c)
            break;
        p = c + 1;
    }
    return s ? lw_xff_entry(s, (size_t)(e - s), out) : -1;
}

int lw_cidr_parse(const char *s, struct lw_cidr *c)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    unsigned maxp;
    long p;
    char *end;

    if (alen == 0 || alen >= sizeof buf)
        return -1;
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    if (lw_addr_parse(buf, &c->addr) < 0)
        return -1;
    maxp = c->addr.family == 4 ? 32 : 128;
    if (slash) {
        /* digits only: strtol alone would take " 8" and "+8" */
        if (!isdigit((unsigned char)slash[1]))
            return -1;
        p = strtol(slash + 1, &end, 10);
        if (*end != '\0' || p < 0 || p > (long)maxp)
            return -1;
    } else {
        p = maxp;
    }
    c->prefix = (uint8_t)p;
    for (unsigned i = 0; i < 16; i++) {
        unsigned bit = i * 8;
        if (bit >= (unsigned)p)
            c->addr.u.b[i] = 0;
        else if (bit + 8 > (unsigned)p)
            c->addr.u.b[i] &= (uint8_t)(0xff << (8 - (p - bit)));
    }
    return 0;
}

int lw_cidr_contains(const struct lw_cidr *c, const struct lw_addr *a)
{
    unsigned p = c->prefix, full = p / 8, rest = p % 8;

    if (a->family != c->addr.family)
        return 0;
    if (memcmp(a->u.b, c->addr.u.b, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((a->u.b[full] ^ c->addr.u.b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int lw_time_parse(const char *s, int64_t *usec)
{
    char *end;
    struct tm tm;
    int64_t frac = 0, scale = 100000;
    long long v;

    if (*s == '\0')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end == '\0' && errno == 0 && v >= 0 && v < INT64_MAX / 1000000) {
        *usec = (int64_t)v * 1000000;
        return 0;
    }
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%dT%H:%M", &tm);
    if (!end)
        return -1;
    if (*end == ':') {
        char *e2 = strptime(end + 1, "%S", &tm);
        if (!e2)
            return -1;
        end = e2;
    }
    if (*end == '.')
        for (end++; isdigit((unsigned char)*end); end++, scale /= 10)
            frac += scale ? (int64_t)(*end - '0') * scale : 0;
    if (*end == 'Z' || strcmp(end, "+0000") == 0 || strcmp(end, "+00:00") == 0)
        end += strlen(end);
    if (*end != '\0')
        return -1;
    *usec = (int64_t)timegm(&tm) * 1000000 + frac;
    return 0;
}

uint64_t lw_now_mono_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t lw_now_real_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t lw_rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return (int64_t)rss * sysconf(_SC_PAGESIZE);
}

int lw_send_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

char *lw_join_path(const char *dir, const char *name)
{
    char *p;

    if (name[0] == '/')
        return strdup(name);
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* A decimal id (an account /etc does not name). Returns 0 or -1. */
static int parse_id(const char *text, unsigned long *id)
{
    char *end;

    errno = 0;
    *id = strtoul(text, &end, 10);
    return errno || end == text || *end || *id >= (uid_t)-1 ? -1 : 0;
}

int lw_lookup_user(const char *name, uid_t *uid, gid_t *gid)
{
    struct passwd *pw = getpwnam(name);
    unsigned long v;

    if (!pw && parse_id(name, &v) == 0)
        pw = getpwuid((uid_t)v);
    if (pw) {
        *uid = pw->pw_uid;
        *gid = pw->pw_gid;
        return 0;
    }
    if (parse_id(name, &v) < 0)
        return -1;
    *uid = (uid_t)v;       /* no passwd entry: its group id is the same number */
    *gid = (gid_t)v;
    return 0;
}

int lw_parse_id(const char *text, unsigned long *id)
{
    return parse_id(text, id);
}

#if defined(__SANITIZE_ADDRESS__)
#define LW_TABLE_MMAP 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LW_TABLE_MMAP 0
#endif
#endif
#ifndef LW_TABLE_MMAP
#define LW_TABLE_MMAP 1
#endif

static int table_mapped(size_t size)
{
    return LW_TABLE_MMAP && size >= LW_HUGE_PAGE;
}

void *lw_table_alloc(size_t size)
{
    char *m, *p;
    size_t len;

    if (!table_mapped(size))
        return calloc(1, size ? size : 1);
    len = (size + LW_HUGE_PAGE - 1) & ~(LW_HUGE_PAGE - 1);
    /* Over-map by one huge page, then trim both ends to the aligned span. */
    m = mmap(NULL, len + LW_HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    p = (char *)(((uintptr_t)m + LW_HUGE_PAGE - 1) & ~(uintptr_t)(LW_HUGE_PAGE - 1));
    if (p > m)
        munmap(m, (size_t)(p - m));
    if (p + len < m + len + LW_HUGE_PAGE)
        munmap(p + len, (size_t)(m + len + LW_HUGE_PAGE - (p + len)));
#ifdef MADV_HUGEPAGE
    (void)madvise(p, len, MADV_HUGEPAGE);   /* advice only: 4 KiB pages when THP is off */
#endif
    return p;
}

void lw_table_free(void *p, size_t size)
{
    if (p == NULL)
        return;
    if (!table_mapped(size)) {
        free(p);
        return;
    }
    munmap(p, (size + LW_HUGE_PAGE - 1) & ~(LW_HUGE_PAGE - 1));
}
