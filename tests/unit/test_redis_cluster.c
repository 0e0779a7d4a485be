/* test_redis_cluster.c - the routing layer's parts without a server
 * (sensor/redis/redis-cluster.c): CRC16 and hash tags, the command key
 * table, redirect and address parsing, slot maps from recorded CLUSTER
 * SHARDS and CLUSTER SLOTS replies (built here as hiredis reply objects),
 * and what rcl_exec() reports when it cannot send: refusals naming the
 * keys, bounded retries, commands behind a failed one on the same key. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "redis-cluster.h"
#include "redis-ctx.h"

/* ---- reply objects, as hiredis builds them (freeReplyObject() frees them) */

static redisReply *mk(int type)
{
    redisReply *r = calloc(1, sizeof *r);

    assert_non_null(r);
    r->type = type;
    return r;
}

static redisReply *rnum(long long v)
{
    redisReply *r = mk(REDIS_REPLY_INTEGER);

    r->integer = v;
    return r;
}

static redisReply *rstr(const char *s)
{
    redisReply *r = mk(REDIS_REPLY_STRING);

    r->len = strlen(s);
    r->str = strdup(s);
    assert_non_null(r->str);
    return r;
}

/* An array of n elements given as arguments. */
static redisReply *rarr(size_t n, ...)
{
    redisReply *r = mk(REDIS_REPLY_ARRAY);
    va_list ap;

    r->elements = n;
    r->element = calloc(n ? n : 1, sizeof *r->element);
    assert_non_null(r->element);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        r->element[i] = va_arg(ap, redisReply *);
    va_end(ap);
    return r;
}

/* One node of CLUSTER SHARDS, as Redis 7.0 sends it. */
static redisReply *shard_node(const char *id, int port, const char *ip, const char *endpoint,
                              const char *role, const char *health)
{
    return rarr(14, rstr("id"), rstr(id), rstr("port"), rnum(port), rstr("ip"), rstr(ip),
                rstr("endpoint"), rstr(endpoint), rstr("role"), rstr(role),
                rstr("replication-offset"), rnum(1234), rstr("health"), rstr(health));
}

/* ---- CRC16 and slots */

static unsigned slot_of(const char *k)
{
    return rcl_key_slot(k, strlen(k));
}

static void test_crc16_vector(void **state)
{
    (void)state;
    /* The Redis Cluster specification's test vector. */
    assert_int_equal(rcl_crc16("123456789", 9), 0x31C3);
    assert_int_equal(rcl_crc16("", 0), 0);
    assert_int_equal(slot_of("123456789"), 0x31C3 & 16383);
    assert_int_equal(slot_of("foo"), 12182);      /* CLUSTER KEYSLOT foo */
    assert_int_equal(slot_of("bar"), 5061);
}

static void test_hash_tags(void **state)
{
    (void)state;
    /* The specification's examples. */
    assert_int_equal(slot_of("{user1000}.following"), slot_of("user1000"));
    assert_int_equal(slot_of("{user1000}.followers"), slot_of("{user1000}.following"));
    /* Empty first tag: the whole key. */
    assert_int_equal(slot_of("foo{}{bar}"), rcl_crc16("foo{}{bar}", 10) & 16383);
    assert_int_not_equal(slot_of("foo{}{bar}"), slot_of("bar"));
    /* From the first '{' to the first '}' after it: "{bar". */
    assert_int_equal(slot_of("foo{{bar}}zap"), slot_of("{bar"));
    /* Only the first tag counts. */
    assert_int_equal(slot_of("foo{bar}{zap}"), slot_of("bar"));
    /* No closing brace, or no opening one: the whole key. */
    assert_int_equal(slot_of("foo{bar"), rcl_crc16("foo{bar", 7) & 16383);
    assert_int_equal(slot_of("foo}bar{"), rcl_crc16("foo}bar{", 8) & 16383);
    /* linkwatch's layout: one bucket is one slot. */
    assert_int_equal(slot_of("lw:{dc1:m:1735693020}:app:bytes"), slot_of("lw:{dc1:m:1735693020}:applied"));
    assert_int_equal(slot_of("lw:{alerts}"), slot_of("lw:{alerts}:seq"));
    /* Binary keys: lengths, not NUL. */
    assert_int_equal(rcl_key_slot("a\0{x}", 5), slot_of("x"));
}

/* ---- the key table */

static int keys(const char *const *argv, int argc, int *idx)
{
    return rcl_cmd_keys(argc, argv, NULL, idx, 16);
}

static void test_cmd_keys(void **state)
{
    int idx[16];
    (void)state;

    const char *evalsha[] = { "evalsha", "abc", "2", "k1", "k2", "a1" };
    assert_int_equal(keys(evalsha, 6, idx), 2);
    assert_int_equal(idx[0], 3);
    assert_int_equal(idx[1], 4);
    const char *eval0[] = { "EVAL", "return 1", "0" };
    assert_int_equal(keys(eval0, 3, idx), 0);
    /* numkeys past the arguments, not a number, negative: refused. */
    const char *evalbad[] = { "EVALSHA", "abc", "3", "k1", "k2" };
    assert_int_equal(keys(evalbad, 5, idx), -1);
    const char *evalnan[] = { "EVALSHA", "abc", "x", "k1" };
    assert_int_equal(keys(evalnan, 4, idx), -1);
    const char *evalneg[] = { "EVALSHA", "abc", "-1", "k1" };
    assert_int_equal(keys(evalneg, 4, idx), -1);
    const char *hset[] = { "HSET", "h", "f", "v" };
    assert_int_equal(keys(hset, 4, idx), 1);
    assert_int_equal(idx[0], 1);
    const char *mset[] = { "MSET", "a", "1", "b", "2" };
    assert_int_equal(keys(mset, 5, idx), 2);
    assert_int_equal(idx[1], 3);
    const char *msetodd[] = { "MSET", "a", "1", "b" };
    assert_int_equal(keys(msetodd, 4, idx), -1);
    const char *del[] = { "DEL", "a", "b", "c" };
    assert_int_equal(keys(del, 4, idx), 3);
    const char *xread[] = { "XREAD", "COUNT", "10", "STREAMS", "s1", "s2", "0", "0" };
    assert_int_equal(keys(xread, 8, idx), 2);
    assert_int_equal(idx[0], 4);
    assert_int_equal(idx[1], 5);
    const char *xblock[] = { "XREAD", "BLOCK", "0", "STREAMS", "s1", "$" };
    assert_int_equal(keys(xblock, 6, idx), -1);
    const char *xgroup[] = { "XGROUP", "CREATE", "s", "g", "$" };
    assert_int_equal(keys(xgroup, 5, idx), 1);
    assert_int_equal(idx[0], 2);
    const char *ping[] = { "PING" };
    assert_int_equal(keys(ping, 1, idx), 0);
    const char *multi[] = { "MULTI" };
    assert_int_equal(keys(multi, 1, idx), -1);
    const char *select[] = { "SELECT", "1" };
    assert_int_equal(keys(select, 2, idx), -1);
    const char *getnokey[] = { "GET" };
    assert_int_equal(keys(getnokey, 1, idx), -1);
    /* More keys than room: refused, not cut. */
    assert_int_equal(rcl_cmd_keys(4, del, NULL, idx, 2), -1);
    /* Lengths given: the name is compared by length, not as a prefix. */
    size_t lens[] = { 3, 1 };
    const char *getx[] = { "GETSET-not", "k" };
    assert_int_equal(rcl_cmd_keys(2, getx, lens, idx, 16), 1);
    lens[0] = 4;
    assert_int_equal(rcl_cmd_keys(2, getx, lens, idx, 16), -1);
    /* SCAN goes where its MATCH pattern's literal hash tag is; a pattern
     * whose tag (or what precedes it) has wildcards, or none, is refused. */
    const char *scan[] = { "SCAN", "0", "MATCH", "lw:{alerts:s1}:ix:*", "COUNT", "1000" };
    assert_int_equal(keys(scan, 6, idx), 1);
    assert_int_equal(idx[0], 3);
    const char *scanwild[] = { "SCAN", "0", "MATCH", "lw:{alerts*}:ix:*" };
    assert_int_equal(keys(scanwild, 4, idx), -1);
    const char *scanpre[] = { "SCAN", "0", "MATCH", "l?:{alerts}:ix:*" };
    assert_int_equal(keys(scanpre, 4, idx), -1);
    const char *scanesc[] = { "SCAN", "0", "MATCH", "lw:\\{alerts}:*" };
    assert_int_equal(keys(scanesc, 4, idx), -1);
    const char *scannotag[] = { "SCAN", "0", "MATCH", "lw:*" };
    assert_int_equal(keys(scannotag, 4, idx), -1);
    const char *scanempty[] = { "SCAN", "0", "MATCH", "lw:{}:*" };
    assert_int_equal(keys(scanempty, 4, idx), -1);
    const char *scanall[] = { "SCAN", "0" };
    assert_int_equal(keys(scanall, 2, idx), -1);
}

/* ---- redirects and addresses */

static void test_redirects(void **state)
{
    char host[64];
    unsigned slot = 0;
    int port = 0;
    const char *m = "MOVED 3999 127.0.0.1:6381";
    (void)state;

    assert_int_equal(rcl_parse_redirect(m, strlen(m), &slot, host, sizeof host, &port), 1);
    assert_int_equal(slot, 3999);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 6381);
    m = "ASK 16383 ::1:7002";
    assert_int_equal(rcl_parse_redirect(m, strlen(m), &slot, host, sizeof host, &port), 2);
    assert_int_equal(slot, 16383);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 7002);
    m = "ASK 0 redis-3.example:6379";
    assert_int_equal(rcl_parse_redirect(m, strlen(m), &slot, host, sizeof host, &port), 2);
    assert_string_equal(host, "redis-3.example");
    /* Near misses. */
    const char *bad[] = {
        "MOVED 16384 127.0.0.1:6381", "MOVED x 127.0.0.1:6381", "MOVED 1 127.0.0.1",
        "MOVED 1 127.0.0.1:99999", "MOVED 1 :6379", "MOVED 1  h:1", "MOVED 1", "MOVED ",
        "ERR MOVED 1 h:1", "moved 1 h:1", "ASKING", "ASK 1 h:", "ASK 1 h:6x",
        "MOVED 99999999999999999999 h:1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(rcl_parse_redirect(bad[i], strlen(bad[i]), &slot, host, sizeof host, &port), 0);
    /* The length bounds the read: a valid prefix only. */
    m = "MOVED 12 h:6379";
    assert_int_equal(rcl_parse_redirect(m, 9, &slot, host, sizeof host, &port), 0);
    assert_int_equal(rcl_parse_redirect(m, 11, &slot, host, sizeof host, &port), 0);
    assert_int_equal(rcl_parse_redirect(m, 12, &slot, host, sizeof host, &port), 1);
    assert_int_equal(port, 6);
    /* A host longer than the buffer. */
    assert_int_equal(rcl_parse_hostport("abcdefgh:1", 10, host, 8, &port), -1);
    assert_int_equal(rcl_parse_hostport("[::1]:7000", 10, host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 7000);
    assert_int_equal(rcl_parse_hostport("h:0", 3, host, sizeof host, &port), -1);
}

/* ---- slot maps */

static void test_map_from_shards(void **state)
{
    struct rcl_map m;
    redisReply *r;
    (void)state;

    /* Three shards; the second's master failed and its replica took over
     * (Redis lists the old master as a failed master until it returns). */
    r = rarr(3,
        rarr(4, rstr("slots"), rarr(2, rnum(0), rnum(5460)), rstr("nodes"),
             rarr(2, shard_node("a1", 7000, "127.0.0.1", "127.0.0.1", "master", "online"),
                  shard_node("a2", 7003, "127.0.0.1", "127.0.0.1", "replica", "online"))),
        rarr(4, rstr("slots"), rarr(2, rnum(5461), rnum(10922)), rstr("nodes"),
             rarr(2, shard_node("b1", 7001, "127.0.0.1", "127.0.0.1", "master", "failed"),
                  shard_node("b2", 7004, "127.0.0.1", "127.0.0.1", "master", "online"))),
        rarr(4, rstr("slots"), rarr(4, rnum(10923), rnum(16000), rnum(16001), rnum(16383)), rstr("nodes"),
             rarr(2, shard_node("c1", 7002, "10.0.0.3", "?", "master", "online"),
                  shard_node("c2", 7005, "", "", "replica", "loading"))));
    memset(&m, 0, sizeof m);
    assert_int_equal(rcl_map_from_shards(&m, r, "seed.example"), 0);
    assert_int_equal(m.nnodes, 6);
    assert_int_equal(m.nodes[m.owner[0]].port, 7000);
    assert_int_equal(m.nodes[m.owner[5460]].port, 7000);
    assert_int_equal(m.nodes[m.owner[5461]].port, 7004);   /* the online master */
    assert_string_equal(m.nodes[m.owner[5461]].id, "b2");
    assert_int_equal(m.nodes[m.owner[16383]].port, 7002);
    assert_string_equal(m.nodes[m.owner[16383]].host, "10.0.0.3");   /* endpoint "?": the ip */
    assert_int_equal(m.nodes[5].port, 7005);
    assert_string_equal(m.nodes[5].host, "seed.example");           /* neither: the node asked */
    assert_int_equal(m.nodes[1].master, 0);
    /* Replicas online per master: a1 has a2; b2 (after the failover) none;
     * c1's replica is still loading. WAIT asks no more than that. */
    assert_int_equal(m.nodes[m.owner[0]].replicas, 1);
    assert_int_equal(m.nodes[m.owner[5461]].replicas, 0);
    assert_int_equal(m.nodes[m.owner[16383]].replicas, 0);
    rcl_map_free(&m);
    freeReplyObject(r);

    /* A shard without slots (a node being added) owns nothing. */
    r = rarr(1, rarr(4, rstr("slots"), rarr(0), rstr("nodes"),
                     rarr(1, shard_node("d1", 7006, "127.0.0.1", "127.0.0.1", "master", "online"))));
    memset(&m, 0, sizeof m);
    assert_int_equal(rcl_map_from_shards(&m, r, "x"), 0);
    for (size_t s = 0; s < RCL_SLOTS; s++)
        assert_int_equal(m.owner[s], RCL_NONE);
    rcl_map_free(&m);
    freeReplyObject(r);
}

static void test_map_from_shards_malformed(void **state)
{
    struct rcl_map m;
    redisReply *bad[6];
    (void)state;

    /* Odd slot list; a range past 16383; reversed range; no port; no nodes; not an array. */
    bad[0] = rarr(1, rarr(4, rstr("slots"), rarr(1, rnum(0)), rstr("nodes"),
                          rarr(1, shard_node("a", 1, "h", "h", "master", "online"))));
    bad[1] = rarr(1, rarr(4, rstr("slots"), rarr(2, rnum(0), rnum(16384)), rstr("nodes"),
                          rarr(1, shard_node("a", 1, "h", "h", "master", "online"))));
    bad[2] = rarr(1, rarr(4, rstr("slots"), rarr(2, rnum(10), rnum(9)), rstr("nodes"),
                          rarr(1, shard_node("a", 1, "h", "h", "master", "online"))));
    bad[3] = rarr(1, rarr(4, rstr("slots"), rarr(2, rnum(0), rnum(1)), rstr("nodes"),
                          rarr(1, rarr(2, rstr("ip"), rstr("h")))));
    bad[4] = rarr(1, rarr(2, rstr("slots"), rarr(2, rnum(0), rnum(1))));
    bad[5] = rstr("CLUSTER SHARDS");
    for (size_t i = 0; i < 6; i++) {
        memset(&m, 0, sizeof m);
        assert_int_equal(rcl_map_from_shards(&m, bad[i], "x"), -1);
        rcl_map_free(&m);
        freeReplyObject(bad[i]);
    }
}

static void test_map_from_slots(void **state)
{
    struct rcl_map m;
    redisReply *r;
    (void)state;

    r = rarr(3,
        rarr(4, rnum(0), rnum(5460), rarr(3, rstr("127.0.0.1"), rnum(7000), rstr("a1")),
             rarr(3, rstr("127.0.0.1"), rnum(7003), rstr("a2"))),
        rarr(3, rnum(5461), rnum(10922), rarr(3, rstr(""), rnum(7001), rstr("b1"))),
        rarr(4, rnum(10923), rnum(16383), rarr(2, rstr("127.0.0.1"), rnum(7002)),
             rarr(4, rstr("127.0.0.1"), rnum(7005), rstr("c2"), rarr(0))));
    memset(&m, 0, sizeof m);
    assert_int_equal(rcl_map_from_slots(&m, r, "10.1.1.1"), 0);
    assert_int_equal(m.nnodes, 5);
    assert_int_equal(m.nodes[m.owner[0]].port, 7000);
    assert_int_equal(m.nodes[m.owner[6000]].port, 7001);
    assert_string_equal(m.nodes[m.owner[6000]].host, "10.1.1.1");    /* "": the node asked */
    assert_int_equal(m.nodes[m.owner[16383]].port, 7002);
    assert_string_equal(m.nodes[m.owner[16383]].id, "");
    assert_int_equal(m.nodes[1].master, 0);
    assert_string_equal(m.nodes[1].id, "a2");
    assert_int_equal(m.nodes[m.owner[0]].replicas, 1);
    assert_int_equal(m.nodes[m.owner[6000]].replicas, 0);
    assert_int_equal(m.nodes[m.owner[16383]].replicas, 1);
    rcl_map_free(&m);
    freeReplyObject(r);

    /* Near misses: a master without a port, a slot past the end, two elements only. */
    redisReply *bad[3] = {
        rarr(1, rarr(3, rnum(0), rnum(1), rarr(1, rstr("h")))),
        rarr(1, rarr(3, rnum(0), rnum(16384), rarr(2, rstr("h"), rnum(1)))),
        rarr(1, rarr(2, rnum(0), rnum(1))),
    };
    for (size_t i = 0; i < 3; i++) {
        memset(&m, 0, sizeof m);
        assert_int_equal(rcl_map_from_slots(&m, bad[i], "x"), -1);
        rcl_map_free(&m);
        freeReplyObject(bad[i]);
    }
}

/* ---- the client without a server */

/* A loopback port nothing listens on (bound, then closed). */
static int closed_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void test_open_checks(void **state)
{
    char err[256];
    const char *seeds[] = { "127.0.0.1:7000" }, *badseed[] = { "127.0.0.1" };
    struct rcl_config cfg = { .seeds = seeds, .nseeds = 1, .db = 2 };
    struct rcl *c;
    (void)state;

    err[0] = '\0';
    assert_null(rcl_open(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "SELECT is not allowed on a Redis Cluster"));
    cfg.db = 0;
    cfg.seeds = badseed;
    assert_null(rcl_open(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "'127.0.0.1' is not host:port"));
    cfg.seeds = seeds;
    c = rcl_open(&cfg, err, sizeof err);
    assert_non_null(c);
    assert_true(rcl_is_cluster(c));
    rcl_close(c);
    /* A single node may SELECT. */
    struct rcl_config one = { .server = "127.0.0.1", .port = 6379, .db = 2 };
    c = rcl_open(&one, err, sizeof err);
    assert_non_null(c);
    assert_false(rcl_is_cluster(c));
    assert_int_equal(rcl_stats(c)->nodes, 1);
    rcl_close(c);
}

static void test_script_sha(void **state)
{
    struct rcl_config cfg = { .server = "127.0.0.1", .port = 6379 };
    char err[128], sha[41];
    struct rcl *c = rcl_open(&cfg, err, sizeof err);
    (void)state;

    assert_non_null(c);
    assert_int_equal(rcl_script(c, "return 1", sha), 0);
    assert_string_equal(sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");   /* SCRIPT LOAD's answer */
    assert_int_equal(rcl_script(c, "return 1", sha), 0);                    /* once */
    rcl_close(c);
}

/* Nothing listens: refusals come first and name the keys; the rest is
 * retried max_retries times, then reported, never silently dropped. */
static void test_exec_unreachable(void **state)
{
    struct rcl_config cfg = {
        .server = "127.0.0.1", .port = closed_port(), .tv_connect = { 1, 0 }, .tv_cmd = { 1, 0 },
        .max_retries = 2, .retry_usec = 1000, .retry_max_usec = 2000,
    };
    char err[256];
    struct rcl *c = rcl_open(&cfg, err, sizeof err);
    const char *a0[] = { "MSET", "{a}x", "1", "{b}y", "2" };
    const char *a1[] = { "RPUSH", "lw:{s1}:l", "1" };
    const char *a2[] = { "RPUSH", "lw:{s1}:l", "2" };
    const char *a3[] = { "EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "2", "lw:{alerts}", "lw:{x}:seq" };
    const char *a4[] = { "MULTI" };
    const char *a5[] = { "MSET", "{a}x", "1", "{a}y", "2" };
    struct rcl_cmd cmds[] = {
        { 5, a0, NULL }, { 3, a1, NULL }, { 3, a2, NULL }, { 5, a3, NULL }, { 1, a4, NULL }, { 5, a5, NULL },
    };
    struct rcl_result res[6];
    (void)state;

    assert_non_null(c);
    assert_int_equal(rcl_connect(c, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot connect"));
    assert_int_equal(rcl_exec(c, cmds, 6, res), 0);
    assert_int_equal(res[0].status, RCL_REFUSED);
    assert_non_null(strstr(res[0].reply->str, "CROSSSLOT"));
    assert_non_null(strstr(res[0].reply->str, "'{a}x' (slot"));
    assert_non_null(strstr(res[0].reply->str, "'{b}y' (slot"));
    assert_int_equal(res[3].status, RCL_REFUSED);
    assert_non_null(strstr(res[3].reply->str, "'lw:{alerts}'"));
    assert_non_null(strstr(res[3].reply->str, "'lw:{x}:seq'"));
    assert_int_equal(res[4].status, RCL_REFUSED);
    assert_non_null(strstr(res[4].reply->str, "MULTI"));
    /* Same slot: routed, and not sent since nothing answers. */
    assert_int_equal(res[5].status, RCL_NOT_SENT);
    assert_int_equal(res[1].status, RCL_NOT_SENT);
    assert_non_null(strstr(res[1].reply->str, "after 2 retries"));
    /* Behind a failed command on the same key: never sent. */
    assert_int_equal(res[2].status, RCL_NOT_SENT);
    assert_string_equal(res[2].reply->str, "NOTSENT a command before it on the same key failed");
    assert_int_equal(rcl_stats(c)->refused, 3);
    assert_int_equal(rcl_stats(c)->failed, 6);
    assert_int_equal(rcl_stats(c)->commands, 0);
    assert_int_equal(rcl_stats(c)->round_trips, 0);
    assert_true(rcl_stats(c)->node_failures >= 3);
    rcl_results_free(res, 6);
    rcl_close(c);
}

/* The hiredis-style calls over a client whose server is away: no answer
 * is REDIS_ERR / NULL with the reason, the queue is sent at the first
 * read, arguments are copied when queued, and the context stays usable. */
static void test_ctx_unreachable(void **state)
{
    struct rcl_config cfg = {
        .server = "127.0.0.1", .port = closed_port(), .tv_connect = { 1, 0 }, .tv_cmd = { 1, 0 },
        .max_retries = 1, .retry_usec = 1000, .retry_max_usec = 1000,
    };
    char err[256], key[16] = "lw:{s1}:a";
    struct rcl *c = rcl_open(&cfg, err, sizeof err);
    struct rcx *x = rcx_wrap(c);
    const char *get[] = { "GET", key };
    const char *cross[] = { "MGET", "{a}x", "{b}y" };
    redisReply *r = (redisReply *)1;
    (void)state;

    assert_non_null(x);
    assert_ptr_equal(rcx_client(x), c);
    /* Nothing queued. */
    assert_int_equal(rcx_get_reply(x, &r), REDIS_ERR);
    assert_null(r);
    assert_string_equal(rcx_errstr(x), "no command queued");
    assert_int_equal(rcx_append(x, 2, get, NULL), REDIS_OK);
    key[0] = 'X';                                   /* copied when queued */
    assert_int_equal(rcx_append(x, 3, cross, NULL), REDIS_OK);
    assert_int_equal(rcl_stats(c)->failed, 0);      /* not sent yet */
    assert_int_equal(rcx_get_reply(x, &r), REDIS_ERR);
    assert_null(r);
    assert_non_null(strstr(rcx_errstr(x), "NOTSENT"));
    assert_int_equal(rcx_get_reply(x, &r), REDIS_ERR);
    assert_non_null(strstr(rcx_errstr(x), "CROSSSLOT"));
    assert_non_null(strstr(rcx_errstr(x), "'{a}x'"));
    assert_int_equal(rcx_get_reply(x, &r), REDIS_ERR);
    assert_string_equal(rcx_errstr(x), "no command queued");
    assert_int_equal(rcl_stats(c)->refused, 1);
    /* One command at once, the queue untouched. */
    assert_null(rcx_argv(x, "GET", "lw:{s1}:b", NULL));
    assert_non_null(strstr(rcx_errstr(x), "NOTSENT"));
    assert_int_equal(rcl_stats(c)->failed, 3);
    rcx_free(x);
    rcl_close(c);
    /* rcx_connect() reports the first failure. */
    struct lw_config lc;
    memset(&lc, 0, sizeof lc);
    lc.redis.server = (char *)"127.0.0.1";
    lc.redis.port = (uint32_t)cfg.port;
    lc.redis.username = lc.redis.password = (char *)"";
    lc.redis.connect_timeout = lc.redis.command_timeout = 1;
    err[0] = '\0';
    assert_null(rcx_connect(&lc, err, sizeof err));
    assert_non_null(strstr(err, "cannot connect"));
    char *seeds[] = { (char *)"nope" };
    lc.redis.cluster.v = seeds;
    lc.redis.cluster.n = 1;
    assert_null(rcx_connect(&lc, err, sizeof err));
    assert_string_equal(err, "redis.cluster: 'nope' is not host:port");
}

/* The counters table covers every field of the struct, once. */
static void test_stats_table(void **state)
{
    uint8_t seen[sizeof(struct rcl_stats) / 8] = { 0 };
    (void)state;

    assert_int_equal(rcl_stats_module.size, sizeof(struct rcl_stats));
    assert_int_equal(rcl_stats_module.nfields, sizeof(struct rcl_stats) / 8);
    for (size_t i = 0; i < rcl_stats_module.nfields; i++) {
        uint32_t off = rcl_stats_module.fields[i].off;
        assert_true(off % 8 == 0 && off < sizeof(struct rcl_stats));
        assert_false(seen[off / 8]);
        seen[off / 8] = 1;
        assert_non_null(rcl_stats_module.fields[i].prom);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_vector),
        cmocka_unit_test(test_hash_tags),
        cmocka_unit_test(test_cmd_keys),
        cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_map_from_shards),
        cmocka_unit_test(test_map_from_shards_malformed),
        cmocka_unit_test(test_map_from_slots),
        cmocka_unit_test(test_open_checks),
        cmocka_unit_test(test_script_sha),
        cmocka_unit_test(test_exec_unreachable),
        cmocka_unit_test(test_ctx_unreachable),
        cmocka_unit_test(test_stats_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
