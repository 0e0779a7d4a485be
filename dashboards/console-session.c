/* console-session.c - console sessions in Redis; see console-session.h. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/evp.h>

#include "console-session.h"
#include "console-redis.h"

#define KEY_MAX 256

static void sha_hex(const char *tok, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;

    memset(md, 0, sizeof md);
    EVP_Digest(tok, strlen(tok), md, &len, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void key_session(char *k, const struct session_limits *l, const char *h)
{
    snprintf(k, KEY_MAX, "%s:{console}:session:%s", l->prefix, h);
}

static void key_user(char *k, const struct session_limits *l, const char *user)
{
    snprintf(k, KEY_MAX, "%s:{console}:sessions:%s", l->prefix, user);
}

static int ok_reply(redisReply *r)
{
    int ok = r && r->type != REDIS_REPLY_ERROR;

    freeReplyObject(r);
    return ok;
}

/* Drops the user's sessions that expired, then the oldest ones past the cap. */
static void enforce_cap(redisContext *c, const struct session_limits *l, const char *ukey)
{
    redisReply *r = cr_argv(c, "ZRANGE", ukey, "0", "-1", NULL);
    size_t live = 0;

    if (!r || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return;
    }
    for (size_t i = 0; i < r->elements; i++) {
        char skey[KEY_MAX];
        redisReply *e;

        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        key_session(skey, l, r->element[i]->str);
        e = cr_argv(c, "EXISTS", skey, NULL);
        if (e && e->type == REDIS_REPLY_INTEGER && e->integer == 0)
            ok_reply(cr_argv(c, "ZREM", ukey, r->element[i]->str, NULL));
        else
            live++;
        freeReplyObject(e);
    }
    /* Oldest first: evict from the start while more than the cap live. */
    for (size_t i = 0; i < r->elements && live > l->cap; i++) {
        char skey[KEY_MAX];
        redisReply *e;

        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        key_session(skey, l, r->element[i]->str);
        e = cr_argv(c, "DEL", skey, NULL);
        if (e && e->type == REDIS_REPLY_INTEGER && e->integer > 0)
            live--;
        freeReplyObject(e);
        ok_reply(cr_argv(c, "ZREM", ukey, r->element[i]->str, NULL));
    }
    freeReplyObject(r);
}

int session_create(redisContext *c, const struct session_limits *l, const char *user, const char *fp,
                   char tok[65])
{
    unsigned char rnd[32];
    char h[65], skey[KEY_MAX], ukey[KEY_MAX], now_s[24], idle_s[16], ttl_s[16], score[32], old[32];
    struct timespec ts;
    int ok = 1;

    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(tok + 2 * i, 3, "%02x", rnd[i]);
    explicit_bzero(rnd, sizeof rnd);
    sha_hex(tok, h);
    key_session(skey, l, h);
    key_user(ukey, l, user);
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(now_s, sizeof now_s, "%lld", (long long)ts.tv_sec);
    snprintf(idle_s, sizeof idle_s, "%u", l->idle);
    snprintf(ttl_s, sizeof ttl_s, "%u", l->ttl);
    snprintf(score, sizeof score, "%lld", (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    snprintf(old, sizeof old, "%lld", ((long long)ts.tv_sec - l->ttl) * 1000000);
    /* {console}: one slot, so the session and its user's index change together. */
    ok &= ok_reply(cr_argv(c, "MULTI", NULL));
    ok &= ok_reply(cr_argv(c, "HSET", skey, "user", user, "fp", fp, "created", now_s, NULL));
    ok &= ok_reply(cr_argv(c, "EXPIRE", skey, idle_s, NULL));
    ok &= ok_reply(cr_argv(c, "ZADD", ukey, score, h, NULL));
    ok &= ok_reply(cr_argv(c, "ZREMRANGEBYSCORE", ukey, "-inf", old, NULL));
    ok &= ok_reply(cr_argv(c, "EXPIRE", ukey, ttl_s, NULL));
    {
        redisReply *r = cr_argv(c, "EXEC", NULL);

        ok &= r && r->type == REDIS_REPLY_ARRAY;
        freeReplyObject(r);
    }
    if (!ok)
        return -1;
    enforce_cap(c, l, ukey);
    return 0;
}

static int tok_valid(const char *tok)
{
    size_t n = strlen(tok);

    if (n != 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)tok[i]))
            return 0;
    return 1;
}

int session_lookup(redisContext *c, const struct session_limits *l, const char *tok, char *user, char *fp)
{
    char h[65], skey[KEY_MAX], idle_s[16];
    redisReply *r;
    long long created;
    int found = 0;

    if (!tok_valid(tok))
        return 0;
    sha_hex(tok, h);
    key_session(skey, l, h);
    r = cr_argv(c, "HMGET", skey, "user", "fp", "created", NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        freeReplyObject(r);
        return -1;
    }
    if (r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING &&
        r->element[2]->type == REDIS_REPLY_STRING && r->element[0]->len <= USER_NAME_MAX &&
        r->element[1]->len == USER_FP_LEN && user_name_valid(r->element[0]->str)) {
        created = atoll(r->element[2]->str);
        memcpy(user, r->element[0]->str, r->element[0]->len + 1);
        memcpy(fp, r->element[1]->str, USER_FP_LEN + 1);
        found = (long long)time(NULL) - created < (long long)l->ttl ? 1 : 2;
    }
    freeReplyObject(r);
    if (found == 2) {
        session_delete(c, l, tok);
        return 0;
    }
    if (found) {
        snprintf(idle_s, sizeof idle_s, "%u", l->idle);
        ok_reply(cr_argv(c, "EXPIRE", skey, idle_s, NULL));
    }
    return found;
}

void session_delete(redisContext *c, const struct session_limits *l, const char *tok)
{
    char h[65], skey[KEY_MAX], ukey[KEY_MAX];
    redisReply *r;

    if (!tok_valid(tok))
        return;
    sha_hex(tok, h);
    key_session(skey, l, h);
    r = cr_argv(c, "HGET", skey, "user", NULL);
    if (r && r->type == REDIS_REPLY_STRING && user_name_valid(r->str)) {
        key_user(ukey, l, r->str);
        ok_reply(cr_argv(c, "ZREM", ukey, h, NULL));
    }
    freeReplyObject(r);
    ok_reply(cr_argv(c, "DEL", skey, NULL));
}

long session_delete_user(redisContext *c, const struct session_limits *l, const char *user)
{
    char ukey[KEY_MAX];
    redisReply *r;
    long n = 0;

    key_user(ukey, l, user);
    r = cr_argv(c, "ZRANGE", ukey, "0", "-1", NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return -1;
    }
    for (size_t i = 0; i < r->elements; i++) {
        char skey[KEY_MAX];
        redisReply *e;

        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        key_session(skey, l, r->element[i]->str);
        e = cr_argv(c, "DEL", skey, NULL);
        if (e && e->type == REDIS_REPLY_INTEGER)
            n += (long)e->integer;
        freeReplyObject(e);
    }
    freeReplyObject(r);
    ok_reply(cr_argv(c, "DEL", ukey, NULL));
    return n;
}
