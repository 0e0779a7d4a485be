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
#include "redis-cluster.h"

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

/* A new session in one call, with its user's cap: the session's hash and
 * its user's sorted set share the hash tag {console}, so they are in one
 * slot, and so are the user's other sessions, which the script reads and
 * ends by name (a script may use keys of its own slot it was not given).
 * KEYS: the session's hash, the user's sorted set. ARGV: user, fp,
 * created (Unix time), idle seconds, the session's score (microseconds),
 * the oldest score kept, the set's TTL, the cap, the session's SHA-256,
 * the name of a session's hash before its SHA-256. Drops from the set the
 * sessions that expired, then ends the oldest past the cap. Returns how
 * many of the user's sessions live. */
static const char SESSION_LUA[] =
    "redis.call('HSET', KEYS[1], 'user', ARGV[1], 'fp', ARGV[2], 'created', ARGV[3])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[4])\n"
    "redis.call('ZADD', KEYS[2], ARGV[5], ARGV[9])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[6])\n"
    "redis.call('EXPIRE', KEYS[2], ARGV[7])\n"
    "local live = {}\n"
    "for _, h in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do\n"
    "  if redis.call('EXISTS', ARGV[10] .. h) == 1 then live[#live + 1] = h\n"
    "  else redis.call('ZREM', KEYS[2], h) end\n"
    "end\n"
    "local over = #live - tonumber(ARGV[8])\n"
    "for i = 1, over do\n"
    "  redis.call('DEL', ARGV[10] .. live[i])\n"
    "  redis.call('ZREM', KEYS[2], live[i])\n"
    "end\n"
    "return over > 0 and #live - over or #live\n";

int session_create(struct rcx *c, const struct session_limits *l, const char *user, const char *fp,
                   char tok[65])
{
    unsigned char rnd[32];
    char h[65], skey[KEY_MAX], ukey[KEY_MAX], now_s[24], idle_s[16], ttl_s[16], score[32], old[32];
    char cap_s[16], base[KEY_MAX], sha[41];
    struct timespec ts;
    redisReply *r;
    int ok;

    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(tok + 2 * i, 3, "%02x", rnd[i]);
    explicit_bzero(rnd, sizeof rnd);
    sha_hex(tok, h);
    key_session(skey, l, h);
    key_session(base, l, "");
    key_user(ukey, l, user);
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(now_s, sizeof now_s, "%lld", (long long)ts.tv_sec);
    snprintf(idle_s, sizeof idle_s, "%u", l->idle);
    snprintf(ttl_s, sizeof ttl_s, "%u", l->ttl);
    snprintf(cap_s, sizeof cap_s, "%u", l->cap);
    snprintf(score, sizeof score, "%lld", (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    snprintf(old, sizeof old, "%lld", ((long long)ts.tv_sec - l->ttl) * 1000000);
    if (rcl_script(rcx_client(c), SESSION_LUA, sha) < 0)
        return -1;
    r = rcx_argv(c, "EVALSHA", sha, "2", skey, ukey, user, fp, now_s, idle_s, score, old, ttl_s, cap_s, h,
                 base, NULL);
    ok = r && r->type == REDIS_REPLY_INTEGER;
    freeReplyObject(r);
    return ok ? 0 : -1;
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

int session_lookup(struct rcx *c, const struct session_limits *l, const char *tok, char *user, char *fp)
{
    char h[65], skey[KEY_MAX], idle_s[16];
    redisReply *r;
    long long created;
    int found = 0;

    if (!tok_valid(tok))
        return 0;
    sha_hex(tok, h);
    key_session(skey, l, h);
    r = rcx_argv(c, "HMGET", skey, "user", "fp", "created", NULL);
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
        ok_reply(rcx_argv(c, "EXPIRE", skey, idle_s, NULL));
    }
    return found;
}

void session_delete(struct rcx *c, const struct session_limits *l, const char *tok)
{
    char h[65], skey[KEY_MAX], ukey[KEY_MAX];
    redisReply *r;

    if (!tok_valid(tok))
        return;
    sha_hex(tok, h);
    key_session(skey, l, h);
    r = rcx_argv(c, "HGET", skey, "user", NULL);
    if (r && r->type == REDIS_REPLY_STRING && user_name_valid(r->str)) {
        key_user(ukey, l, r->str);
        ok_reply(rcx_argv(c, "ZREM", ukey, h, NULL));
    }
    freeReplyObject(r);
    ok_reply(rcx_argv(c, "DEL", skey, NULL));
}

long session_delete_user(struct rcx *c, const struct session_limits *l, const char *user)
{
    char ukey[KEY_MAX];
    redisReply *r;
    long n = 0;

    key_user(ukey, l, user);
    r = rcx_argv(c, "ZRANGE", ukey, "0", "-1", NULL);
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
        e = rcx_argv(c, "DEL", skey, NULL);
        if (e && e->type == REDIS_REPLY_INTEGER)
            n += (long)e->integer;
        freeReplyObject(e);
    }
    freeReplyObject(r);
    ok_reply(rcx_argv(c, "DEL", ukey, NULL));
    return n;
}
