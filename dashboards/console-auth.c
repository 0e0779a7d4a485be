/* console-auth.c - the users file and password checks; see console-auth.h. */
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "console-auth.h"
#include "fsafe.h"

#define LINE_MAX_LEN  1024
#define USERS_MAX     100000
#define FILE_MAX      (16u << 20)

struct user {
    char *name;
    char *hash;
    char fp[USER_FP_LEN + 1];
};

/* The users file as last read, and what it looked like then. */
static struct {
    pthread_mutex_t mu;
    int loaded;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    struct user *v;
    size_t n;
    char *dummy;                   /* the hash an unknown name is checked against */
} users = { .mu = PTHREAD_MUTEX_INITIALIZER };

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

static void fingerprint(const char *name, const char *hash, char *fp)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    memset(md, 0, sizeof md);
    if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, name, strlen(name)) &&
        EVP_DigestUpdate(c, ":", 1) && EVP_DigestUpdate(c, hash, strlen(hash)))
        EVP_DigestFinal_ex(c, md, &mdlen);
    EVP_MD_CTX_free(c);
    for (int i = 0; i < USER_FP_LEN / 2; i++)
        snprintf(fp + 2 * i, 3, "%02x", md[i]);
}

static void users_clear(void)
{
    for (size_t i = 0; i < users.n; i++) {
        free(users.v[i].name);
        explicit_bzero(users.v[i].hash, strlen(users.v[i].hash));
        free(users.v[i].hash);
    }
    free(users.v);
    users.v = NULL;
    users.n = 0;
}

/* Reads the file again when it is not the one read last. Under users.mu. */
static void users_refresh(const char *path)
{
    struct stat st;
    char line[LINE_MAX_LEN];
    FILE *f;
    size_t cap = 0;

    if (stat(path, &st) < 0) {
        users_clear();
        users.loaded = 0;
        return;
    }
    if (users.loaded && st.st_dev == users.dev && st.st_ino == users.ino && st.st_size == users.size &&
        st.st_mtim.tv_sec == users.mtime.tv_sec && st.st_mtim.tv_nsec == users.mtime.tv_nsec)
        return;
    users_clear();
    users.loaded = 0;
    if (!(f = fopen(path, "re")))
        return;
    if (fstat(fileno(f), &st) == 0) {
        users.dev = st.st_dev;
        users.ino = st.st_ino;
        users.size = st.st_size;
        users.mtime = st.st_mtim;
    }
    while (users.n < USERS_MAX && fgets(line, sizeof line, f)) {
        char *colon;
        struct user *nv;

        line[strcspn(line, "\r\n")] = '\0';
        if (!(colon = strchr(line, ':')))
            continue;
        *colon = '\0';
        if (!user_name_valid(line) || colon[1] != '$')
            continue;
        if (users.n == cap) {
            cap = cap ? cap * 2 : 16;
            if (!(nv = realloc(users.v, cap * sizeof *nv)))
                break;
            users.v = nv;
        }
        users.v[users.n].name = strdup(line);
        users.v[users.n].hash = strdup(colon + 1);
        if (!users.v[users.n].name || !users.v[users.n].hash) {
            free(users.v[users.n].name);
            free(users.v[users.n].hash);
            break;
        }
        fingerprint(line, colon + 1, users.v[users.n].fp);
        users.n++;
    }
    explicit_bzero(line, sizeof line);
    fclose(f);
    users.loaded = 1;
}

static const struct user *user_find(const char *name)
{
    for (size_t i = 0; i < users.n; i++)
        if (strcmp(users.v[i].name, name) == 0)
            return &users.v[i];
    return NULL;
}

int users_init(void)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE], pw[33];
    struct crypt_data *cd = calloc(1, sizeof *cd);
    const char *h;
    int rc = -1;

    /* Same algorithm and cost as users_add(): the same time per check. */
    if (cd && crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt)) {
        snprintf(pw, sizeof pw, "%08lx%08lx", (unsigned long)random(), (unsigned long)getpid());
        h = crypt_r(pw, salt, cd);
        if (h && h[0] == '$' && (users.dummy = strdup(h)) != NULL)
            rc = 0;
    }
    free(cd);
    return rc;
}

/* Password hashes run, by their setting (algorithm and cost, "$y$j9T$"):
 * what the time of a check depends on, counted instead of timed. */
#define HASH_SETTINGS 4
static struct {
    pthread_mutex_t mu;
    unsigned n;
    struct { char setting[32]; uint64_t runs; } v[HASH_SETTINGS];
} hashes = { PTHREAD_MUTEX_INITIALIZER, 0, { { "", 0 } } };

static void count_hash(const char *hash)
{
    char setting[32];
    size_t n = 0;
    unsigned i;

    /* "$id$params$salt$hash": the first three '$'-ended fields, without the salt. */
    for (int dollars = 0; hash[n] && n + 1 < sizeof setting; n++)
        if (hash[n] == '$' && ++dollars == 3) {
            n++;
            break;
        }
    memcpy(setting, hash, n);
    setting[n] = '\0';
    pthread_mutex_lock(&hashes.mu);
    for (i = 0; i < hashes.n && strcmp(hashes.v[i].setting, setting) != 0; i++)
        ;
    if (i == hashes.n && i < HASH_SETTINGS) {
        memcpy(hashes.v[i].setting, setting, n + 1);
        hashes.n++;
    }
    if (i < hashes.n)
        hashes.v[i].runs++;
    pthread_mutex_unlock(&hashes.mu);
}

void users_prom(FILE *out)
{
    fprintf(out, "# HELP linkwatch_console_password_hashes_total Password hashes run to check logins, by "
            "setting (algorithm and cost): an unknown user costs one like a known one.\n"
            "# TYPE linkwatch_console_password_hashes_total counter\n");
    pthread_mutex_lock(&hashes.mu);
    for (unsigned i = 0; i < hashes.n; i++)
        fprintf(out, "linkwatch_console_password_hashes_total{setting=\"%s\"} %llu\n", hashes.v[i].setting,
                (unsigned long long)hashes.v[i].runs);
    pthread_mutex_unlock(&hashes.mu);
}

int users_verify(const char *path, const char *name, const char *password, char *fp)
{
    struct crypt_data *cd;
    const struct user *u;
    char *hash = NULL;
    const char *h;
    int found = 0, ok;

    if (!password)
        return 0;
    pthread_mutex_lock(&users.mu);
    users_refresh(path);
    if (user_name_valid(name) && (u = user_find(name)) != NULL) {
        hash = strdup(u->hash);
        memcpy(fp, u->fp, USER_FP_LEN + 1);
        found = hash != NULL;
    }
    if (!hash && users.dummy)
        hash = strdup(users.dummy);
    pthread_mutex_unlock(&users.mu);
    if (!hash || !(cd = calloc(1, sizeof *cd))) {
        free(hash);
        return 0;
    }
    h = crypt_r(password, hash, cd);
    count_hash(hash);
    ok = h && h[0] == '$' && str_ct_eq(h, hash);
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    explicit_bzero(hash, strlen(hash));
    free(hash);
    return found && ok;
}

int users_fingerprint(const char *path, const char *name, char *fp)
{
    const struct user *u;
    int found = 0;

    pthread_mutex_lock(&users.mu);
    users_refresh(path);
    if ((u = user_find(name)) != NULL) {
        memcpy(fp, u->fp, USER_FP_LEN + 1);
        found = 1;
    }
    pthread_mutex_unlock(&users.mu);
    return found;
}

/* Rewrites the users file without name's line, plus `add` (a whole line)
 * when not NULL. Returns 0, 1 when removing a name that was not there,
 * -1 with err. */
static int users_rewrite(const char *path, const char *name, const char *add, long gid, char *err,
                         size_t errlen)
{
    char *dir = malloc(strlen(path) + 2), *base = malloc(strlen(path) + 2), *in = NULL, *out = NULL;
    size_t inlen = 0, outlen = 0, n = strlen(name);
    int dfd = -1, fd, rc = -1, found = 0;
    FILE *m = NULL;

    if (!dir || !base || fs_split(path, dir, base) < 0) {
        snprintf(err, errlen, "%s: not a file name", path);
        goto out;
    }
    if ((dfd = fs_open_dir(dir, 0, 0, NULL, err, errlen)) < 0)
        goto out;
    fd = fs_open_file_at(dfd, base, path, O_RDONLY, 0640, NULL, err, errlen);
    if (fd < 0 && errno != ENOENT)
        goto out;
    if (fd >= 0) {
        FILE *f = fdopen(fd, "r");
        char buf[4096];
        size_t got;

        if (!f || !(m = open_memstream(&in, &inlen))) {
            if (f)
                fclose(f);
            else
                close(fd);
            snprintf(err, errlen, "%s: out of memory", path);
            goto out;
        }
        while ((got = fread(buf, 1, sizeof buf, f)) > 0 && inlen < FILE_MAX)
            fwrite(buf, 1, got, m);
        fclose(f);
        fclose(m);
        m = NULL;
    }
    if (!(m = open_memstream(&out, &outlen))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    for (char *p = in, *nl; p && p < in + inlen; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(in + inlen - p));
        if (!nl)
            nl = in + inlen;
        if ((size_t)(nl - p) > n && strncmp(p, name, n) == 0 && p[n] == ':') {
            found = 1;
            continue;
        }
        fwrite(p, 1, (size_t)(nl - p), m);
        fputc('\n', m);
    }
    if (add)
        fputs(add, m);
    fclose(m);
    m = NULL;
    if (!add && !found) {
        rc = 1;
        goto out;
    }
    rc = fs_replace_at(dfd, base, path, out, outlen, gid >= 0 ? 0640 : 0600, gid, 1, err, errlen);
out:
    if (m)
        fclose(m);
    if (in)
        explicit_bzero(in, inlen);
    if (out)
        explicit_bzero(out, outlen);
    free(in);
    free(out);
    free(dir);
    free(base);
    if (dfd >= 0)
        close(dfd);
    return rc;
}

int users_add(const char *path, const char *name, const char *password, long gid, char *err, size_t errlen)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE], line[LINE_MAX_LEN];
    struct crypt_data *cd;
    const char *h;
    int rc = -1;

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
    if (!(cd = calloc(1, sizeof *cd))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h = crypt_r(password, salt, cd);
    if (!h || h[0] != '$')
        snprintf(err, errlen, "crypt: yescrypt not available");
    else if (snprintf(line, sizeof line, "%s:%s\n", name, h) >= (int)sizeof line)
        snprintf(err, errlen, "hash too long");
    else
        rc = users_rewrite(path, name, line, gid, err, errlen);
    explicit_bzero(line, sizeof line);
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    return rc;
}

int users_remove(const char *path, const char *name, long gid, char *err, size_t errlen)
{
    if (!user_name_valid(name)) {
        snprintf(err, errlen, "bad user name '%s'", name);
        return -1;
    }
    return users_rewrite(path, name, NULL, gid, err, errlen);
}
