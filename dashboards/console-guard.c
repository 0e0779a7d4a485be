/* console-guard.c - login throttling; see console-guard.h. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "console-guard.h"

#define FORGET_AFTER 3600            /* seconds without a failure */
#define KEY_MAX      80

struct record {
    char key[KEY_MAX];               /* "u:name" or "a:address"; "" free */
    unsigned failures;
    time_t last;                     /* last failure */
    time_t until;                    /* no try before */
};

static struct {
    pthread_mutex_t mu;
    struct record r[GUARD_ENTRIES];
    uint64_t failures, throttled, logins;
    sem_t hashes;
    pthread_once_t once;
} g = { .mu = PTHREAD_MUTEX_INITIALIZER, .once = PTHREAD_ONCE_INIT };

static void init_sem(void)
{
    sem_init(&g.hashes, 0, GUARD_HASHES);
}

static void make_key(char *k, char kind, const char *v)
{
    snprintf(k, KEY_MAX, "%c:%s", kind, v ? v : "");
}

/* The record of key, or NULL; with create, a free or the stalest one. Under g.mu. */
static struct record *find(const char *key, int create, time_t now)
{
    struct record *stale = NULL;

    for (int i = 0; i < GUARD_ENTRIES; i++) {
        struct record *r = &g.r[i];

        if (r->key[0] && strcmp(r->key, key) == 0) {
            if (now - r->last > FORGET_AFTER && now >= r->until) {
                r->failures = 0;
                r->until = 0;
            }
            return r;
        }
        if (!stale || !r->key[0] || (stale->key[0] && r->last < stale->last))
            stale = r;
    }
    if (!create)
        return NULL;
    memset(stale, 0, sizeof *stale);
    snprintf(stale->key, sizeof stale->key, "%s", key);
    return stale;
}

static unsigned wait_of(const char *key, time_t now)
{
    struct record *r = find(key, 0, now);

    return r && r->until > now ? (unsigned)(r->until - now) : 0;
}

unsigned guard_wait(const char *user, const char *addr)
{
    char ku[KEY_MAX], ka[KEY_MAX];
    time_t now = time(NULL);
    unsigned a, b;

    make_key(ku, 'u', user);
    make_key(ka, 'a', addr);
    pthread_mutex_lock(&g.mu);
    a = user ? wait_of(ku, now) : 0;
    b = addr ? wait_of(ka, now) : 0;
    pthread_mutex_unlock(&g.mu);
    return a > b ? a : b;
}

static unsigned fail_key(const char *key, time_t now)
{
    struct record *r = find(key, 1, now);

    r->failures++;
    r->last = now;
    if (r->failures >= GUARD_FREE_FAILURES) {
        unsigned shift = r->failures - GUARD_FREE_FAILURES;
        time_t wait = shift >= 10 ? GUARD_MAX_WAIT : (time_t)1 << shift;

        r->until = now + (wait > GUARD_MAX_WAIT ? GUARD_MAX_WAIT : wait);
    }
    return r->failures;
}

void guard_failed(const char *user, const char *addr, const char *how)
{
    char ku[KEY_MAX], ka[KEY_MAX];
    time_t now = time(NULL);
    unsigned nu = 0, na = 0;

    make_key(ku, 'u', user);
    make_key(ka, 'a', addr);
    pthread_mutex_lock(&g.mu);
    if (user)
        nu = fail_key(ku, now);
    if (addr)
        na = fail_key(ka, now);
    g.failures++;
    pthread_mutex_unlock(&g.mu);
    /* The name as typed may be anything: only what a user name may hold is printed. */
    fprintf(stderr, "linkwatch-console: login failed (%s) for user '%.64s' from %s (%u failures for the user, "
            "%u from the address)\n", how, user && strspn(user, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
            "0123456789._@-") == strlen(user) ? user : "?", addr ? addr : "?", nu, na);
}

void guard_succeeded(const char *user, const char *addr)
{
    char ku[KEY_MAX], ka[KEY_MAX];
    time_t now = time(NULL);
    struct record *r;

    make_key(ku, 'u', user);
    make_key(ka, 'a', addr);
    pthread_mutex_lock(&g.mu);
    if (user && (r = find(ku, 0, now)) != NULL)
        memset(r, 0, sizeof *r);
    if (addr && (r = find(ka, 0, now)) != NULL)
        memset(r, 0, sizeof *r);
    g.logins++;
    pthread_mutex_unlock(&g.mu);
}

void guard_throttled(void)
{
    pthread_mutex_lock(&g.mu);
    g.throttled++;
    pthread_mutex_unlock(&g.mu);
}

int guard_hash_enter(void)
{
    struct timespec ts;

    pthread_once(&g.once, init_sem);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    while (sem_timedwait(&g.hashes, &ts) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

void guard_hash_leave(void)
{
    sem_post(&g.hashes);
}

void guard_prom(FILE *out)
{
    uint64_t f, t, l;

    pthread_mutex_lock(&g.mu);
    f = g.failures;
    t = g.throttled;
    l = g.logins;
    pthread_mutex_unlock(&g.mu);
    fprintf(out, "# HELP linkwatch_console_login_failures_total Password checks that failed (page and Basic).\n"
            "# TYPE linkwatch_console_login_failures_total counter\nlinkwatch_console_login_failures_total %llu\n"
            "# HELP linkwatch_console_login_throttled_total Tries answered 429 without a check (backoff, or "
            "too many checks at once).\n# TYPE linkwatch_console_login_throttled_total counter\n"
            "linkwatch_console_login_throttled_total %llu\n"
            "# HELP linkwatch_console_logins_total Password checks that succeeded.\n"
            "# TYPE linkwatch_console_logins_total counter\nlinkwatch_console_logins_total %llu\n",
            (unsigned long long)f, (unsigned long long)t, (unsigned long long)l);
}
