/* console-auth.c - users file (yescrypt hashes) and in-memory sessions. */
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "console-auth.h"

#define MAX_SESSIONS 1024

struct session {
    char   tok[65];
    char   user[USER_NAME_MAX + 1];
    time_t expires;
};

static struct session sessions[MAX_SESSIONS];
static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;

int user_name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > USER_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("._@-", name[i]))
            return 0;
    return 1;
}

/* Constant-time comparison of two NUL-terminated strings of public length. */
static int str_ct_eq(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char d = na != nb;

    for (size_t i = 0; i < na && i < nb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

int users_verify(const char *path, const char *name, const char *password)
{
    FILE *f;
    char line[512];
    int ok = 0;

    if (!user_name_valid(name) || !password)
        return 0;
    f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        if (strcmp(line, name) != 0)
            continue;
        struct crypt_data *cd = calloc(1, sizeof *cd);
        if (!cd)
            break;
        const char *h = crypt_r(password, colon + 1, cd);
        ok = h && h[0] == '$' && str_ct_eq(h, colon + 1);
        explicit_bzero(cd, sizeof *cd);
        free(cd);
        break;
    }
    fclose(f);
    return ok;
}

int users_add(const char *path, const char *name, const char *password,
              char *err, size_t errlen)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE], tmp[4096], line[512];
    struct crypt_data *cd = NULL;
    FILE *in = NULL, *out = NULL;
    int fd = -1;

    if (!user_name_valid(name)) {
        snprintf(err, errlen, "bad user name '%s': 1 to 64 letters, digits, '.', '_', '@', '-'", name);
        return -1;
    }
    if (strlen(password) < 8) {
        snprintf(err, errlen, "password too short (at least 8 characters)");
        return -1;
    }
    if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt)) {
        snprintf(err, errlen, "crypt_gensalt: %s", strerror(errno));
        return -1;
    }
    cd = calloc(1, sizeof *cd);
    if (!cd)
        goto fail_errno;
    const char *h = crypt_r(password, salt, cd);
    if (!h || h[0] != '$') {
        snprintf(err, errlen, "crypt: yescrypt not available");
        goto fail;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        goto fail;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(out = fdopen(fd, "w")))
        goto fail_errno;
    fd = -1;
    in = fopen(path, "r");
    if (!in && errno != ENOENT)
        goto fail_errno;
    while (in && fgets(line, sizeof line, in)) {
        size_t n = strlen(name);
        if (strncmp(line, name, n) == 0 && line[n] == ':')
            continue;
        fputs(line, out);
    }
    fprintf(out, "%s:%s\n", name, h);
    if (fflush(out) != 0 || fsync(fileno(out)) != 0)
        goto fail_errno;
    if (fclose(out) != 0) {
        out = NULL;
        goto fail_errno;
    }
    out = NULL;
    if (rename(tmp, path) != 0)
        goto fail_errno;
    if (in)
        fclose(in);
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    return 0;

fail_errno:
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
fail:
    if (fd >= 0)
        close(fd);
    if (out) {
        fclose(out);
        unlink(tmp);
    }
    if (in)
        fclose(in);
    if (cd)
        explicit_bzero(cd, sizeof *cd);
    free(cd);
    return -1;
}

int session_create(const char *user, char tok[65])
{
    unsigned char r[32];
    time_t now = time(NULL);
    int slot = -1;

    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(tok + 2 * i, 3, "%02x", r[i]);
    pthread_mutex_lock(&sessions_lock);
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (sessions[i].expires <= now) {
            slot = i;
            break;
        }
    if (slot >= 0) {
        memcpy(sessions[slot].tok, tok, 65);
        snprintf(sessions[slot].user, sizeof sessions[slot].user, "%s", user);
        sessions[slot].expires = now + SESSION_TTL;
    }
    pthread_mutex_unlock(&sessions_lock);
    return slot >= 0 ? 0 : -1;
}

int session_lookup(const char *tok, char *user)
{
    time_t now = time(NULL);
    int found = 0;

    if (strlen(tok) != 64)
        return 0;
    pthread_mutex_lock(&sessions_lock);
    for (int i = 0; i < MAX_SESSIONS && !found; i++)
        if (sessions[i].expires > now && str_ct_eq(sessions[i].tok, tok)) {
            memcpy(user, sessions[i].user, USER_NAME_MAX + 1);
            found = 1;
        }
    pthread_mutex_unlock(&sessions_lock);
    return found;
}

void session_delete(const char *tok)
{
    pthread_mutex_lock(&sessions_lock);
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (sessions[i].expires && str_ct_eq(sessions[i].tok, tok))
            memset(&sessions[i], 0, sizeof sessions[i]);
    pthread_mutex_unlock(&sessions_lock);
}
