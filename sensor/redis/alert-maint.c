/* alert-maint.c - keeping the alert indexes with the stream: trimming both
 * together (the writer) and rebuilding them (linkwatch-console --reindex);
 * see alert-index.h. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "alert-index.h"
#include "json-scan.h"
#include "redis-cmd.h"
#include "redis-ctx.h"
#include "util.h"

#define TRIM_BATCH      512
#define TRIM_BATCHES    128         /* per call: more than one round of the writer can add */
#define REINDEX_BATCH   1000
#define LOCK_MS         "60000"

/* Sends b's only command and returns its reply, or NULL with the reason in
 * err (an error reply is freed and reported too). */
static redisReply *run(struct rcx *c, const struct rbatch *b, char *err, size_t errlen)
{
    const struct rcmd *cmd = &b->cmds[0];
    const char **argv = malloc(cmd->nargs * sizeof *argv);
    size_t *lens = malloc(cmd->nargs * sizeof *lens);
    redisReply *r = NULL;

    if (b->oom || argv == NULL || lens == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < cmd->nargs; i++)
        argv[i] = rbatch_argp(b, cmd, i, &lens[i]);
    r = rcx_command(c, (int)cmd->nargs, argv, lens);
    if (r == NULL)
        snprintf(err, errlen, "%s", rcx_errstr(c)[0] ? rcx_errstr(c) : "no answer");
    else if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s", r->str);
        freeReplyObject(r);
        r = NULL;
    }
out:
    free(argv);
    free(lens);
    return r;
}

/* A command of plain strings, NULL-terminated. */
static redisReply *runv(struct rcx *c, char *err, size_t errlen, const char *a0, ...)
{
    struct rbatch b;
    redisReply *r;
    va_list ap;

    rbatch_init(&b);
    rbatch_begin(&b, RC_BEST);
    va_start(ap, a0);
    for (const char *a = a0; a; a = va_arg(ap, const char *))
        rbatch_str(&b, a);
    va_end(ap);
    r = run(c, &b, err, errlen);
    rbatch_free(&b);
    return r;
}

/* "EVAL script 11 <fixed keys>": the start of every index script call. */
static void begin_eval(struct rbatch *b, const char *script, const struct rkeys *rk)
{
    char keys[AIX_NKEYS][RKEY_MAX];

    aix_fixed_keys(rk, keys);
    rbatch_begin(b, RC_BEST);
    rbatch_str(b, "EVAL");
    rbatch_str(b, script);
    rbatch_u64(b, AIX_NKEYS);
    for (int i = 0; i < AIX_NKEYS; i++)
        rbatch_str(b, keys[i]);
}

const redisReply *aix_entry_field(const redisReply *fields, const char *name)
{
    if (fields == NULL || fields->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, name) == 0 &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING)
            return fields->element[i + 1];
    return NULL;
}

/* Whether e is a well-formed stream entry: [id, [field, value, ...]]. */
static int entry_ok(const redisReply *e)
{
    return e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
           e->element[0]->type == REDIS_REPLY_STRING;
}

/* Files entry e (its event and sensor fields) into t. */
static int entry_terms(const redisReply *e, const struct rkeys *rk, struct aix_terms *t,
                       char **scratch, size_t *cap)
{
    const redisReply *ev = aix_entry_field(e->element[1], "event");
    const redisReply *sensor = aix_entry_field(e->element[1], "sensor");
    const char *line = ev ? ev->str : "";
    size_t len = ev ? ev->len : 0;

    if (len + 32 > *cap) {
        char *p = realloc(*scratch, len + 32);
        if (p == NULL)
            return -1;
        *scratch = p;
        *cap = len + 32;
    }
    return aix_terms(line, len, sensor ? sensor->str : NULL, rk, t, *scratch, *cap);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts v[0..n) and drops repeats, counting each in cnt (when not NULL);
 * returns the new count. */
static size_t unique(const char **v, size_t n, uint32_t *cnt)
{
    size_t m = 0;

    qsort(v, n, sizeof *v, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (m == 0 || strcmp(v[m - 1], v[i]) != 0) {
            if (cnt)
                cnt[m] = 0;
            v[m++] = v[i];
        }
        if (cnt)
            cnt[m - 1]++;
    }
    return m;
}

/* One AIX_TRIM_LUA call for the entries of r (the stream's oldest).
 * Returns how many it deleted, or -1. */
static long trim_batch(struct rcx *c, const struct rkeys *rk, const redisReply *r,
                       struct aix_terms *t, char *err, size_t errlen)
{
    const char **lists = malloc((r->elements * AIX_MAX_LISTS + 1) * sizeof *lists);
    const char **mins = malloc((r->elements + 1) * sizeof *mins);
    uint32_t *cnt = malloc((r->elements * AIX_MAX_LISTS + 1) * sizeof *cnt);
    char *scratch = NULL;
    size_t cap = 0, nl = 0, nm = 0, k = 0;
    struct rbatch b;
    redisReply *rep = NULL;
    long removed = -1;

    rbatch_init(&b);
    if (lists == NULL || mins == NULL || cnt == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->elements; i++) {
        if (!entry_ok(r->element[i]))
            continue;
        if (entry_terms(r->element[i], rk, &t[k], &scratch, &cap) < 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        for (size_t j = 0; j < t[k].nlists; j++)
            lists[nl++] = t[k].lists[j];
        if (t[k].minute[0])
            mins[nm++] = t[k].minute;
        k++;
    }
    nl = unique(lists, nl, cnt);
    nm = unique(mins, nm, NULL);
    begin_eval(&b, AIX_TRIM_LUA, rk);
    rbatch_u64(&b, k);
    rbatch_u64(&b, nl);
    rbatch_u64(&b, nm);
    for (size_t i = 0, a = 0; i < r->elements; i++) {
        if (!entry_ok(r->element[i]))
            continue;
        rbatch_str(&b, r->element[i]->element[0]->str);
        rbatch_str(&b, t[a].gkey);
        rbatch_str(&b, t[a].gfield);
        rbatch_str(&b, t[a].sid);
        rbatch_str(&b, t[a].lists[0]);
        a++;
    }
    for (size_t i = 0; i < nl; i++) {
        rbatch_str(&b, lists[i]);
        rbatch_u64(&b, cnt[i]);
    }
    for (size_t i = 0; i < nm; i++)
        rbatch_str(&b, mins[i]);
    if ((rep = run(c, &b, err, errlen)) != NULL)
        removed = rep->type == REDIS_REPLY_INTEGER ? (long)rep->integer : 0;
out:
    freeReplyObject(rep);
    rbatch_free(&b);
    free(scratch);
    free(lists);
    free(mins);
    free(cnt);
    return removed;
}

long aix_trim(struct rcx *c, const struct rkeys *rk, uint64_t maxlen, char *err, size_t errlen)
{
    char stream[RKEY_MAX], count[24];
    uint64_t margin = maxlen / 1000 < 64 ? 64 : maxlen / 1000 > 4096 ? 4096 : maxlen / 1000;
    uint64_t len;
    int batches = 0;
    struct aix_terms *t = NULL;
    long total = 0, n;
    redisReply *r;

    rkey_named(stream, sizeof stream, rk, "alerts");
    if ((r = runv(c, err, errlen, "XLEN", stream, NULL)) == NULL)
        return -1;
    len = r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? (uint64_t)r->integer : 0;
    freeReplyObject(r);
    if (maxlen == 0 || len <= maxlen + margin)
        return 0;
    if ((t = malloc(TRIM_BATCH * sizeof *t)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    while (len > maxlen && batches++ < TRIM_BATCHES) {
        uint64_t k = len - maxlen < TRIM_BATCH ? len - maxlen : TRIM_BATCH;

        snprintf(count, sizeof count, "%llu", (unsigned long long)k);
        if ((r = runv(c, err, errlen, "XRANGE", stream, "-", "+", "COUNT", count, NULL)) == NULL)
            goto fail;
        if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
            freeReplyObject(r);
            break;
        }
        n = trim_batch(c, rk, r, t, err, errlen);
        freeReplyObject(r);
        if (n < 0)
            goto fail;
        total += n;
        len -= k;
    }
    free(t);
    return total;
fail:
    free(t);
    return -1;
}

/* ------------------------------------------------------------------ reindex */

/* A random token for the lock, so that only this run lets go of it. */
static void make_token(char *tok, size_t len)
{
    unsigned char raw[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, raw, sizeof raw) : -1;

    if (fd >= 0)
        close(fd);
    if (got != (ssize_t)sizeof raw) {
        uint64_t x = lw_mix64(lw_now_real_usec() ^ (uint64_t)getpid() << 32);
        memcpy(raw, &x, sizeof x);
        x = lw_mix64(x);
        memcpy(raw + 8, &x, sizeof x);
    }
    for (size_t i = 0; i < sizeof raw && 2 * i + 2 < len; i++)
        snprintf(tok + 2 * i, 3, "%02x", raw[i]);
}

/* The glob pattern matching every index key: its prefix with the glob's
 * own characters escaped, then '*'. */
static void ix_pattern(const struct rkeys *rk, char *pat, size_t len)
{
    char base[RKEY_MAX];
    size_t o = 0;

    rkey_ix(base, sizeof base, rk, "", NULL);       /* "<prefix>:{alerts}:ix:" */
    for (const char *p = base; *p && o + 3 < len; p++) {
        if (strchr("*?[]\\", *p))
            pat[o++] = '\\';
        pat[o++] = *p;
    }
    pat[o++] = '*';
    pat[o] = '\0';
}

/* Deletes every index key but the lock. */
static int delete_index(struct rcx *c, const struct rkeys *rk, struct aix_reindex_stats *st,
                        char *err, size_t errlen)
{
    char pat[2 * RKEY_MAX], lock[RKEY_MAX], cursor[32] = "0";
    redisReply *r;

    ix_pattern(rk, pat, sizeof pat);
    rkey_ix(lock, sizeof lock, rk, "lock", NULL);
    do {
        struct rbatch b;
        size_t n = 0;

        if ((r = runv(c, err, errlen, "SCAN", cursor, "MATCH", pat, "COUNT", "1000", NULL)) == NULL)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[1]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            snprintf(err, errlen, "SCAN: unexpected reply");
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        rbatch_init(&b);
        rbatch_begin(&b, RC_BEST);
        rbatch_str(&b, "UNLINK");
        for (size_t i = 0; i < r->element[1]->elements; i++)
            if (strcmp(r->element[1]->element[i]->str, lock) != 0) {
                rbatch_str(&b, r->element[1]->element[i]->str);
                n++;
            }
        freeReplyObject(r);
        r = n ? run(c, &b, err, errlen) : NULL;
        rbatch_free(&b);
        if (n && r == NULL)
            return -1;
        freeReplyObject(r);
        st->keys_deleted += n;
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

/* The status zset of a triage record (JSON), "" for new or none. */
static void status_key(const redisReply *tr, const struct rkeys *rk, char *key, size_t len)
{
    struct jscan_want w = { .path = "status" };
    char st[32];

    key[0] = '\0';
    if (tr == NULL || tr->type != REDIS_REPLY_STRING || jscan_object(tr->str, tr->len, &w, 1) < 0 ||
        jscan_string(&w, st, sizeof st) < 0)
        return;
    if (strcmp(st, "acknowledged") == 0 || strcmp(st, "escalated") == 0 || strcmp(st, "closed") == 0)
        rkey_ix_status(key, len, rk, st);
}

/* The triage records of the entries of r, in order (HMGET). */
static redisReply *triage_of(struct rcx *c, const struct rkeys *rk, const redisReply *r,
                             char *err, size_t errlen)
{
    char key[RKEY_MAX];
    struct rbatch b;
    redisReply *t;

    rbatch_init(&b);
    rbatch_begin(&b, RC_BEST);
    rbatch_str(&b, "HMGET");
    rbatch_arg(&b, key, rkey_named(key, sizeof key, rk, "triage"));
    for (size_t i = 0; i < r->elements; i++)
        rbatch_str(&b, entry_ok(r->element[i]) ? r->element[i]->element[0]->str : "-");
    t = run(c, &b, err, errlen);
    rbatch_free(&b);
    if (t && (t->type != REDIS_REPLY_ARRAY || t->elements != r->elements)) {
        snprintf(err, errlen, "HMGET: unexpected reply");
        freeReplyObject(t);
        t = NULL;
    }
    return t;
}

/* Files the entries of r (one AIX_REINDEX_LUA call). */
static int reindex_batch(struct rcx *c, const struct rkeys *rk, const char *tok, const redisReply *r,
                         struct aix_terms *t, char *err, size_t errlen)
{
    redisReply *tr = triage_of(c, rk, r, err, errlen), *rep;
    char *scratch = NULL, sk[RKEY_MAX];
    size_t cap = 0;
    struct rbatch b;
    int rc = -1;

    if (tr == NULL)
        return -1;
    rbatch_init(&b);
    begin_eval(&b, AIX_REINDEX_LUA, rk);
    rbatch_str(&b, tok);
    for (size_t i = 0; i < r->elements; i++) {
        if (!entry_ok(r->element[i]))
            continue;
        if (entry_terms(r->element[i], rk, t, &scratch, &cap) < 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        status_key(tr->element[i], rk, sk, sizeof sk);
        rbatch_str(&b, r->element[i]->element[0]->str);
        rbatch_str(&b, sk);
        rbatch_u64(&b, aix_nargs(t));
        rcmd_alert_index_args(&b, t);
    }
    if ((rep = run(c, &b, err, errlen)) != NULL) {
        freeReplyObject(rep);
        rc = 0;
    }
out:
    rbatch_free(&b);
    free(scratch);
    freeReplyObject(tr);
    return rc;
}

/* AIX_REINDEX_DONE_LUA: 1 when finished, 0 when more came, -1. */
static int reindex_done(struct rcx *c, const struct rkeys *rk, const char *tok, char *err, size_t errlen)
{
    struct rbatch b;
    redisReply *r;
    int rc = -1;

    rbatch_init(&b);
    begin_eval(&b, AIX_REINDEX_DONE_LUA, rk);
    rbatch_str(&b, tok);
    if ((r = run(c, &b, err, errlen)) != NULL) {
        rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        freeReplyObject(r);
    }
    rbatch_free(&b);
    return rc;
}

int aix_reindex(struct rcx *c, const struct rkeys *rk, struct aix_reindex_stats *st,
                char *err, size_t errlen)
{
    char tok[40] = "", lock[RKEY_MAX], meta[RKEY_MAX], stream[RKEY_MAX], start[64] = "-";
    struct aix_terms *t = malloc(sizeof *t);
    redisReply *r;
    int done = 0;

    memset(st, 0, sizeof *st);
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    make_token(tok, sizeof tok);
    rkey_ix(lock, sizeof lock, rk, "lock", NULL);
    rkey_ix(meta, sizeof meta, rk, "meta", NULL);
    rkey_named(stream, sizeof stream, rk, "alerts");
    if ((r = runv(c, err, errlen, "SET", lock, tok, "NX", "PX", LOCK_MS, NULL)) == NULL)
        goto fail;
    if (r->type != REDIS_REPLY_STATUS) {
        snprintf(err, errlen, "another reindex holds %s (it expires 60 s after that run stops)", lock);
        freeReplyObject(r);
        goto fail;
    }
    freeReplyObject(r);
    if (delete_index(c, rk, st, err, errlen) < 0 ||
        (r = runv(c, err, errlen, "HSET", meta, "reindex_pos", "0-0", "groups", "0", NULL)) == NULL)
        goto fail;
    freeReplyObject(r);
    while (!done) {
        if ((r = runv(c, err, errlen, "XRANGE", stream, start, "+", "COUNT", "1000", NULL)) == NULL)
            goto fail;
        if (r->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            snprintf(err, errlen, "XRANGE: unexpected reply");
            goto fail;
        }
        if (r->elements && reindex_batch(c, rk, tok, r, t, err, errlen) < 0) {
            freeReplyObject(r);
            goto fail;
        }
        st->entries += r->elements;
        st->batches += r->elements ? 1 : 0;
        if (r->elements && entry_ok(r->element[r->elements - 1]))
            snprintf(start, sizeof start, "(%s", r->element[r->elements - 1]->element[0]->str);
        if (r->elements < REINDEX_BATCH && (done = reindex_done(c, rk, tok, err, errlen)) < 0) {
            freeReplyObject(r);
            goto fail;
        }
        freeReplyObject(r);
    }
    free(t);
    return 0;
fail:
    free(t);
    return -1;
}
