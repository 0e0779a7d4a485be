/* test_threshold.c - unit tests for thresholds, detection filters and suppressions (sensor/detect/threshold.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "threshold.h"
#include "util.h"

#define SEC 1000000ull

static struct rule mkrule(uint32_t gid, uint32_t sid, uint8_t type, uint8_t track,
                          uint32_t count, uint32_t seconds)
{
    struct rule r;

    memset(&r, 0, sizeof r);
    r.gid = gid;
    r.sid = sid;
    r.threshold.type = type;
    r.threshold.track = track;
    r.threshold.count = count;
    r.threshold.seconds = seconds;
    return r;
}

static struct packet mkpkt(const char *src, const char *dst)
{
    struct packet p;

    memset(&p, 0, sizeof p);
    assert_int_equal(lw_addr_parse(src, &p.src), 0);
    assert_int_equal(lw_addr_parse(dst, &p.dst), 0);
    p.ip_version = p.src.family;
    return p;
}

/* Writes text to a fresh temporary file; returns its path (static buffer). */
static const char *write_cfg(const char *text)
{
    static char path[64];
    int fd;

    snprintf(path, sizeof path, "/tmp/test_threshold_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* Loads text as a threshold.config into t; returns what the load returned. */
static int load_text(struct threshold_ctx *t, const char *text, char *err, size_t errlen)
{
    const char *path = write_cfg(text);
    int rc = threshold_config_load(t, path, err, errlen);

    unlink(path);
    return rc;
}

/* What the n-th match (1-based) of one key in one window gives. */
static int model(uint8_t type, uint32_t n, uint32_t count)
{
    switch (type) {
    case RULE_THR_LIMIT:     return n <= count;
    case RULE_THR_THRESHOLD: return n % count == 0;
    case RULE_THR_BOTH:      return n == count;
    default:                 return n > count;
    }
}

/* ------------------------------------------------------------------ types x tracks */

/* Three matches of packet A, then two of probe Q: Q's matches are the 4th
 * and 5th of A's key when the track shares the key, else the 1st and 2nd. */
static void run_probe(uint8_t type, uint8_t track, const struct packet *q, int shared)
{
    struct threshold_ctx *t = threshold_new(64);
    struct rule r = mkrule(1, 1000, type, track, 2, 10);
    struct packet a = mkpkt("10.0.0.1", "10.0.0.2");
    uint32_t n;

    assert_non_null(t);
    for (n = 1; n <= 3; n++)
        assert_int_equal(threshold_check(t, &r, &a, n * SEC), model(type, n, 2));
    for (uint32_t k = 1; k <= 2; k++) {
        uint32_t want_n = shared ? 3 + k : k;
        assert_int_equal(threshold_check(t, &r, q, (3 + k) * SEC), model(type, want_n, 2));
    }
    threshold_free(t);
}

static void test_types_by_tracks(void **state)
{
    static const uint8_t types[] = { RULE_THR_LIMIT, RULE_THR_THRESHOLD, RULE_THR_BOTH,
                                     RULE_THR_DETECTION_FILTER };
    struct packet other_src = mkpkt("10.0.0.9", "10.0.0.2");
    struct packet other_dst = mkpkt("10.0.0.1", "10.0.0.9");
    struct packet reversed = mkpkt("10.0.0.2", "10.0.0.1");
    struct packet same = mkpkt("10.0.0.1", "10.0.0.2");
    /* shared[track][probe]: same, other src, other dst, reversed */
    static const int shared[4][4] = {
        [RULE_TRACK_BY_SRC]  = { 1, 0, 1, 0 },
        [RULE_TRACK_BY_DST]  = { 1, 1, 0, 0 },
        [RULE_TRACK_BY_RULE] = { 1, 1, 1, 1 },
        [RULE_TRACK_BY_BOTH] = { 1, 0, 0, 1 },
    };
    const struct packet *probes[4] = { &same, &other_src, &other_dst, &reversed };

    for (size_t ti = 0; ti < sizeof types; ti++)
        for (uint8_t tr = 0; tr < 4; tr++)
            for (int pi = 0; pi < 4; pi++)
                run_probe(types[ti], tr, probes[pi], shared[tr][pi]);
}

/* The exact patterns, spelt out, so the model above cannot hide a bug. */
static void test_type_patterns(void **state)
{
    static const struct { uint8_t type; int want[7]; } cases[] = {
        { RULE_THR_LIMIT,            { 1, 1, 1, 0, 0, 0, 0 } },
        { RULE_THR_THRESHOLD,        { 0, 0, 1, 0, 0, 1, 0 } },
        { RULE_THR_BOTH,             { 0, 0, 1, 0, 0, 0, 0 } },
        { RULE_THR_DETECTION_FILTER, { 0, 0, 0, 1, 1, 1, 1 } },
    };
    struct packet p = mkpkt("192.0.2.1", "198.51.100.1");

    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        struct threshold_ctx *t = threshold_new(8);
        struct rule r = mkrule(1, 5, cases[c].type, RULE_TRACK_BY_SRC, 3, 60);
        struct threshold_stats st;
        int alerts = 0;

        for (int i = 0; i < 7; i++) {
            int got = threshold_check(t, &r, &p, 1000 * SEC + (uint64_t)i);
            assert_int_equal(got, cases[c].want[i]);
            alerts += got;
        }
        threshold_stats(t, &st);
        assert_int_equal(st.thresholded, 7 - alerts);
        assert_int_equal(st.entries, 1);
        threshold_free(t);
    }
}

static void test_no_threshold_always_alerts(void **state)
{
    struct threshold_ctx *t = threshold_new(4);
    struct rule r = mkrule(1, 7, RULE_THR_NONE, 0, 0, 0);
    struct packet p = mkpkt("10.0.0.1", "10.0.0.2");
    struct threshold_stats st;

    for (int i = 0; i < 10; i++)
        assert_int_equal(threshold_check(t, &r, &p, (uint64_t)i), 1);
    threshold_stats(t, &st);
    assert_int_equal(st.entries, 0);
    threshold_free(t);
}

/* ------------------------------------------------------------------ windows */

static void test_window_rollover_exact(void **state)
{
    struct threshold_ctx *t = threshold_new(4);
    struct rule r = mkrule(1, 10, RULE_THR_LIMIT, RULE_TRACK_BY_SRC, 1, 60);
    struct packet p = mkpkt("10.0.0.1", "10.0.0.2");
    uint64_t t0 = 1700000000ull * SEC;

    assert_int_equal(threshold_check(t, &r, &p, t0), 1);
    assert_int_equal(threshold_check(t, &r, &p, t0 + 60 * SEC - 1), 0);
    assert_int_equal(threshold_check(t, &r, &p, t0 + 60 * SEC), 1);   /* new window */
    assert_int_equal(threshold_check(t, &r, &p, t0 + 120 * SEC - 1), 0);
    assert_int_equal(threshold_check(t, &r, &p, t0 + 120 * SEC), 1);
    /* A packet a little older than the window start stays in the window. */
    assert_int_equal(threshold_check(t, &r, &p, t0 + 119 * SEC), 0);
    threshold_free(t);
}

static void test_window_resets_counts(void **state)
{
    struct threshold_ctx *t = threshold_new(4);
    struct rule thr = mkrule(1, 11, RULE_THR_THRESHOLD, RULE_TRACK_BY_RULE, 3, 10);
    struct rule both = mkrule(1, 12, RULE_THR_BOTH, RULE_TRACK_BY_RULE, 2, 10);
    struct packet p = mkpkt("10.0.0.1", "10.0.0.2");

    /* threshold: two matches, window ends, the count starts again. */
    assert_int_equal(threshold_check(t, &thr, &p, 0), 0);
    assert_int_equal(threshold_check(t, &thr, &p, 9 * SEC), 0);
    assert_int_equal(threshold_check(t, &thr, &p, 10 * SEC), 0);
    assert_int_equal(threshold_check(t, &thr, &p, 11 * SEC), 0);
    assert_int_equal(threshold_check(t, &thr, &p, 12 * SEC), 1);
    /* both: once per window. */
    assert_int_equal(threshold_check(t, &both, &p, 0), 0);
    assert_int_equal(threshold_check(t, &both, &p, 1 * SEC), 1);
    assert_int_equal(threshold_check(t, &both, &p, 2 * SEC), 0);
    assert_int_equal(threshold_check(t, &both, &p, 10 * SEC), 0);
    assert_int_equal(threshold_check(t, &both, &p, 19 * SEC), 1);
    threshold_free(t);
}

static void test_detection_filter(void **state)
{
    struct threshold_ctx *t = threshold_new(16);
    struct rule r = mkrule(1, 20, RULE_THR_DETECTION_FILTER, RULE_TRACK_BY_SRC, 5, 10);
    struct packet scan = mkpkt("203.0.113.5", "10.0.0.1");
    struct packet other = mkpkt("203.0.113.6", "10.0.0.1");
    int alerts = 0;

    /* A port scan: 20 probes in 2 s; the 6th onwards alert. */
    for (int i = 1; i <= 20; i++) {
        int got = threshold_check(t, &r, &scan, (uint64_t)i * 100000u);
        assert_int_equal(got, i > 5);
        alerts += got;
    }
    assert_int_equal(alerts, 15);
    assert_int_equal(threshold_check(t, &r, &other, 3 * SEC), 0);
    /* After the window, five more are needed again. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(threshold_check(t, &r, &scan, 20 * SEC + (uint64_t)i), 0);
    assert_int_equal(threshold_check(t, &r, &scan, 20 * SEC + 5), 1);
    threshold_free(t);
}

static void test_ipv6_tracking(void **state)
{
    struct threshold_ctx *t = threshold_new(8);
    struct rule r = mkrule(1, 30, RULE_THR_LIMIT, RULE_TRACK_BY_SRC, 1, 60);
    struct packet a = mkpkt("2001:db8::1", "2001:db8::2");
    struct packet b = mkpkt("2001:db8::3", "2001:db8::2");
    struct packet v4 = mkpkt("0.0.0.0", "10.0.0.1");
    struct packet none;

    memset(&none, 0, sizeof none);
    assert_int_equal(threshold_check(t, &r, &a, 0), 1);
    assert_int_equal(threshold_check(t, &r, &a, 1), 0);
    assert_int_equal(threshold_check(t, &r, &b, 2), 1);
    /* 0.0.0.0 and "no address" are different keys. */
    assert_int_equal(threshold_check(t, &r, &v4, 3), 1);
    assert_int_equal(threshold_check(t, &r, &none, 4), 1);
    assert_int_equal(threshold_check(t, &r, &none, 5), 0);
    threshold_free(t);
}

/* ------------------------------------------------------------------ suppress */

static void test_suppress_without_ip(void **state)
{
    struct threshold_ctx *t = threshold_new(8);
    struct rule r100 = mkrule(1, 100, RULE_THR_NONE, 0, 0, 0);
    struct rule r101 = mkrule(1, 101, RULE_THR_NONE, 0, 0, 0);
    struct rule g3 = mkrule(3, 100, RULE_THR_NONE, 0, 0, 0);
    struct packet p = mkpkt("10.0.0.1", "10.0.0.2");
    struct threshold_stats st;
    char err[256] = "";

    assert_int_equal(load_text(t, "suppress gen_id 1, sig_id 100\n", err, sizeof err), 1);
    assert_int_equal(threshold_check(t, &r100, &p, 0), 0);
    assert_int_equal(threshold_check(t, &r101, &p, 0), 1);
    assert_int_equal(threshold_check(t, &g3, &p, 0), 1);
    threshold_stats(t, &st);
    assert_int_equal(st.suppressed, 1);
    assert_int_equal(st.config_entries, 1);
    threshold_free(t);
}

static void test_suppress_with_ip(void **state)
{
    struct threshold_ctx *t = threshold_new(8);
    struct rule r1 = mkrule(1, 201, RULE_THR_NONE, 0, 0, 0);
    struct rule r2 = mkrule(1, 202, RULE_THR_NONE, 0, 0, 0);
    struct rule r3 = mkrule(1, 203, RULE_THR_NONE, 0, 0, 0);
    struct packet in_src = mkpkt("10.1.2.3", "192.0.2.1");
    struct packet in_dst = mkpkt("192.0.2.1", "10.1.2.3");
    struct packet outside = mkpkt("192.0.2.1", "192.0.2.2");
    struct packet v6 = mkpkt("2001:db8:0:1::5", "192.0.2.2");
    struct packet host = mkpkt("198.51.100.7", "192.0.2.2");
    char err[256] = "";

    assert_int_equal(load_text(t,
        "suppress gen_id 1, sig_id 201, track by_src, ip 10.0.0.0/8\n"
        "suppress gen_id 1, sig_id 202, track by_dst, ip [10.0.0.0/8, 2001:db8::/32]\n"
        "suppress gen_id 1, sig_id 203, track by_either, ip [ 10.0.0.0/8 , 198.51.100.7 ]\n",
        err, sizeof err), 3);
    assert_string_equal(err, "");
    assert_int_equal(threshold_check(t, &r1, &in_src, 0), 0);
    assert_int_equal(threshold_check(t, &r1, &in_dst, 0), 1);
    assert_int_equal(threshold_check(t, &r1, &outside, 0), 1);
    assert_int_equal(threshold_check(t, &r2, &in_src, 0), 1);
    assert_int_equal(threshold_check(t, &r2, &in_dst, 0), 0);
    assert_int_equal(threshold_check(t, &r2, &v6, 0), 1);       /* v6 is the source */
    assert_int_equal(threshold_check(t, &r3, &in_src, 0), 0);
    assert_int_equal(threshold_check(t, &r3, &in_dst, 0), 0);
    assert_int_equal(threshold_check(t, &r3, &host, 0), 0);
    assert_int_equal(threshold_check(t, &r3, &outside, 0), 1);
    threshold_free(t);
}

static void test_suppress_wildcards(void **state)
{
    struct threshold_ctx *t = threshold_new(8);
    struct rule a = mkrule(1, 300, RULE_THR_NONE, 0, 0, 0);
    struct rule b = mkrule(2, 300, RULE_THR_NONE, 0, 0, 0);
    struct rule c = mkrule(3, 301, RULE_THR_NONE, 0, 0, 0);
    struct packet p = mkpkt("10.0.0.1", "10.0.0.2");
    struct packet q = mkpkt("172.16.0.1", "10.0.0.2");
    char err[256] = "";

    /* gen_id 0: every gid of sid 300; sig_id 0: every sid of gid 3, from one host. */
    assert_int_equal(load_text(t,
        "suppress gen_id 0, sig_id 300\n"
        "suppress gen_id 3, sig_id 0, track by_src, ip 172.16.0.0/12\n", err, sizeof err), 2);
    assert_int_equal(threshold_check(t, &a, &p, 0), 0);
    assert_int_equal(threshold_check(t, &b, &p, 0), 0);
    assert_int_equal(threshold_check(t, &c, &p, 0), 1);
    assert_int_equal(threshold_check(t, &c, &q, 0), 0);
    threshold_free(t);

    t = threshold_new(8);
    assert_int_equal(load_text(t, "suppress gen_id 0, sig_id 0\n", err, sizeof err), 1);
    assert_int_equal(threshold_check(t, &a, &p, 0), 0);
    assert_int_equal(threshold_check(t, &c, &q, 0), 0);
    threshold_free(t);
}

/* A suppressed match counts toward no threshold. */
static void test_suppress_before_threshold(void **state)
{
    struct threshold_ctx *t = threshold_new(8);
    struct rule r = mkrule(1, 310, RULE_THR_LIMIT, RULE_TRACK_BY_RULE, 1, 60);
    struct packet in = mkpkt("10.0.0.1", "10.0.0.2");
    struct packet out = mkpkt("192.0.2.1", "10.0.0.2");
    char err[256] = "";

    assert_int_equal(load_text(t, "suppress gen_id 1, sig_id 310, track by_src, ip 10.0.0.1\n",
                               err, sizeof err), 1);
    assert_int_equal(threshold_check(t, &r, &in, 0), 0);
    assert_int_equal(threshold_check(t, &r, &out, 1), 1);
    assert_int_equal(threshold_check(t, &r, &out, 2), 0);
    threshold_free(t);
}

/* ------------------------------------------------------------------ config overrides */

static void test_config_overrides_rule(void **state)
{
    struct threshold_ctx *t = threshold_new(16);
    struct rule own = mkrule(1, 400, RULE_THR_LIMIT, RULE_TRACK_BY_SRC, 5, 60);
    struct rule df = mkrule(1, 401, RULE_THR_DETECTION_FILTER, RULE_TRACK_BY_SRC, 2, 60);
    struct rule plain = mkrule(1, 402, RULE_THR_NONE, 0, 0, 0);
    struct rule g2 = mkrule(2, 403, RULE_THR_NONE, 0, 0, 0);
    struct packet a = mkpkt("10.0.0.1", "10.0.0.2");
    struct packet b = mkpkt("10.0.0.3", "10.0.0.2");
    char err[256] = "";

    assert_int_equal(load_text(t,
        "# sid 400: one alert a minute for everybody instead of five per source\n"
        "threshold gen_id 1, sig_id 400, type limit, track by_rule, count 1, seconds 60\n"
        "event_filter gen_id 0, sig_id 0, type both, track by_src, count 2, seconds 60\n"
        "event_filter gen_id 2, sig_id 0, type limit, track by_dst, count 1, seconds 60\n",
        err, sizeof err), 3);
    /* The sid entry replaces the rule's own keyword. */
    assert_int_equal(threshold_check(t, &own, &a, 0), 1);
    assert_int_equal(threshold_check(t, &own, &a, 1), 0);
    assert_int_equal(threshold_check(t, &own, &b, 2), 0);
    /* Wildcards leave a rule's own detection_filter alone... */
    assert_int_equal(threshold_check(t, &df, &a, 0), 0);
    assert_int_equal(threshold_check(t, &df, &a, 1), 0);
    assert_int_equal(threshold_check(t, &df, &a, 2), 1);
    /* ...and apply to rules without one: 0:0 "both 2" here... */
    assert_int_equal(threshold_check(t, &plain, &a, 0), 0);
    assert_int_equal(threshold_check(t, &plain, &a, 1), 1);
    assert_int_equal(threshold_check(t, &plain, &a, 2), 0);
    /* ...and gid 2's own wildcard beats 0:0. */
    assert_int_equal(threshold_check(t, &g2, &a, 0), 1);
    assert_int_equal(threshold_check(t, &g2, &b, 1), 0);
    threshold_free(t);
}

static void test_config_precedence(void **state)
{
    struct threshold_ctx *t = threshold_new(16);
    struct rule r = mkrule(1, 500, RULE_THR_NONE, 0, 0, 0);
    struct rule r7 = mkrule(7, 500, RULE_THR_NONE, 0, 0, 0);
    struct packet p = mkpkt("10.0.0.1", "10.0.0.2");
    char err[256] = "";

    /* 1:500 (limit 1) beats 0:500 (limit 3) for gid 1; gid 7 gets 0:500. */
    assert_int_equal(load_text(t,
        "threshold gen_id 0, sig_id 500, type limit, track by_rule, count 3, seconds 60\n"
        "threshold gen_id 1, sig_id 500, type limit, track by_rule, count 1, seconds 60\n",
        err, sizeof err), 2);
    assert_int_equal(threshold_check(t, &r, &p, 0), 1);
    assert_int_equal(threshold_check(t, &r, &p, 1), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(threshold_check(t, &r7, &p, (uint64_t)i), 1);
    assert_int_equal(threshold_check(t, &r7, &p, 3), 0);
    threshold_free(t);
}

static void test_config_syntax(void **state)
{
    struct threshold_ctx *t = threshold_new(16);
    struct rule r = mkrule(1, 600, RULE_THR_NONE, 0, 0, 0);
    struct rule r2 = mkrule(1, 601, RULE_THR_NONE, 0, 0, 0);
    struct packet p = mkpkt("10.0.0.1", "10.0.0.2");
    char err[256] = "";

    /* Comments, blank lines, tabs, trailing comments and continuations. */
    assert_int_equal(load_text(t,
        "# a comment\n\n   \t\n"
        "threshold gen_id 1, sig_id 600, \\\n"
        "    type limit, track by_src, \\\n"
        "    count 1, seconds 60   # trailing comment\n"
        "\tsuppress\tgen_id 1,sig_id 601", err, sizeof err), 2);
    assert_int_equal(threshold_check(t, &r, &p, 0), 1);
    assert_int_equal(threshold_check(t, &r, &p, 1), 0);
    assert_int_equal(threshold_check(t, &r2, &p, 1), 0);
    /* An empty file loads nothing, successfully. */
    assert_int_equal(load_text(t, "# nothing\n", err, sizeof err), 0);
    threshold_free(t);
}

static void test_shipped_config(void **state)
{
    struct threshold_ctx *t = threshold_new(16);
    const char *dir = getenv("LW_SRCDIR");
    struct threshold_stats st;
    char path[4096], err[256] = "";

    snprintf(path, sizeof path, "%s/rules/threshold.config", dir != NULL ? dir : ".");
    assert_true(threshold_config_load(t, path, err, sizeof err) >= 1);
    assert_string_equal(err, "");
    threshold_stats(t, &st);
    assert_true(st.config_entries >= 1);
    threshold_free(t);
}

/* Every error, with its file:line, and nothing of a bad file kept. */
static void test_parse_errors(void **state)
{
    static const struct { const char *text; unsigned line; const char *msg; } cases[] = {
        { "rate_filter gen_id 1, sig_id 1, track by_rule, count 1, seconds 1, new_action drop, timeout 10\n",
          1, "rate_filter is not supported (linkwatch is passive)" },
        { "\n# x\nfilter gen_id 1, sig_id 1\n", 3, "unknown entry 'filter' (suppress, threshold or event_filter)" },
        { "suppress sig_id 1\n", 1, "suppress needs gen_id and sig_id" },
        { "suppress gen_id 1\n", 1, "suppress needs gen_id and sig_id" },
        { "suppress gen_id x, sig_id 1\n", 1, "bad gen_id 'x'" },
        { "suppress gen_id 1, sig_id -5\n", 1, "bad sig_id '-5'" },
        { "suppress gen_id 1, sig_id 4294967296\n", 1, "bad sig_id '4294967296'" },
        { "suppress gen_id 1, sig_id 1, colour red\n", 1, "unknown option 'colour'" },
        { "suppress gen_id 1, sig_id 1, sig_id 2\n", 1, "option 'sig_id' given twice" },
        { "suppress gen_id 1, sig_id\n", 1, "option 'sig_id' needs a value" },
        { "suppress gen_id 1, , sig_id 1\n", 1, "empty option" },
        { "suppress gen_id 1, sig_id 1, count 1\n", 1, "option 'count' is not valid for suppress" },
        { "suppress gen_id 1, sig_id 1, track by_src\n", 1, "suppress with track needs ip" },
        { "suppress gen_id 1, sig_id 1, ip 10.0.0.1\n", 1, "suppress with ip needs track" },
        { "suppress gen_id 1, sig_id 1, track by_rule, ip 10.0.0.1\n", 1,
          "bad track 'by_rule' for suppress (by_src, by_dst or by_either)" },
        { "suppress gen_id 1, sig_id 1, track by_src, ip 10.0.0.300\n", 1, "bad ip '10.0.0.300'" },
        { "suppress gen_id 1, sig_id 1, track by_src, ip 10.0.0.0/33\n", 1, "bad ip '10.0.0.0/33'" },
        { "suppress gen_id 1, sig_id 1, track by_src, ip $HOME_NET\n", 1,
          "ip '$HOME_NET': address variables are not supported" },
        { "suppress gen_id 1, sig_id 1, track by_src, ip [10.0.0.1, $DNS]\n", 1,
          "ip '$DNS': address variables are not supported" },
        { "suppress gen_id 1, sig_id 1, track by_src, ip [10.0.0.1, !10.0.0.2]\n", 1,
          "ip '!10.0.0.2': negation and nested lists are not supported" },
        { "suppress gen_id 1, sig_id 1, track by_src, ip [10.0.0.1\n", 1,
          "ip '[10.0.0.1': unterminated list" },
        { "suppress gen_id 1, sig_id 1, track by_src, ip []\n", 1, "ip: empty list" },
        { "threshold gen_id 1, sig_id 1, type limit, track by_src, count 1\n", 1,
          "threshold needs type, track, count and seconds" },
        { "event_filter gen_id 1, sig_id 1\n", 1, "event_filter needs type, track, count and seconds" },
        { "threshold gen_id 1, sig_id 1, type often, track by_src, count 1, seconds 1\n", 1,
          "bad type 'often' (limit, threshold or both)" },
        { "threshold gen_id 1, sig_id 1, type limit, track by_either, count 1, seconds 1\n", 1,
          "bad track 'by_either' (by_src, by_dst, by_rule or by_both)" },
        { "threshold gen_id 1, sig_id 1, type limit, track by_src, count 0, seconds 1\n", 1,
          "bad count '0' (1 or more)" },
        { "threshold gen_id 1, sig_id 1, type limit, track by_src, count 1, seconds 0\n", 1,
          "bad seconds '0' (1 or more)" },
        { "threshold gen_id 1, sig_id 1, type limit, track by_src, count 1, seconds 1, ip 10.0.0.1\n", 1,
          "option 'ip' is only valid for suppress" },
        { "suppress gen_id 1, sig_id 9\n"
          "threshold gen_id 1, sig_id 1, type limit, track by_src, count 1, seconds 1\n"
          "event_filter gen_id 1, sig_id 1, type both, track by_src, count 1, seconds 1\n", 3,
          "gen_id 1, sig_id 1 already has a threshold (line 2)" },
    };
    char err[256];

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct threshold_ctx *t = threshold_new(4);
        struct threshold_stats st;
        const char *path = write_cfg(cases[i].text);
        char want[512];
        struct rule r9 = mkrule(1, 9, RULE_THR_NONE, 0, 0, 0);
        struct packet p = mkpkt("10.0.0.1", "10.0.0.2");

        snprintf(want, sizeof want, "%s:%u: %s", path, cases[i].line, cases[i].msg);
        err[0] = '\0';
        assert_int_equal(threshold_config_load(t, path, err, sizeof err), -1);
        assert_string_equal(err, want);
        threshold_stats(t, &st);
        assert_int_equal(st.config_entries, 0);
        assert_int_equal(threshold_check(t, &r9, &p, 0), 1);
        unlink(path);
        threshold_free(t);
    }
}

static void test_parse_errors_file(void **state)
{
    struct threshold_ctx *t = threshold_new(4);
    char err[256], line[THRESHOLD_MAX_LINE + 64];
    char *big;

    assert_int_equal(threshold_config_load(t, "/nonexistent/threshold.config", err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/threshold.config: No such file or directory");

    /* A duplicate of an entry loaded from an earlier file. */
    assert_int_equal(load_text(t, "threshold gen_id 1, sig_id 2, type limit, track by_src, count 1, seconds 1\n",
                               err, sizeof err), 1);
    assert_int_equal(load_text(t, "threshold gen_id 1, sig_id 2, type both, track by_src, count 1, seconds 1\n",
                               err, sizeof err), -1);
    assert_non_null(strstr(err, ":1: gen_id 1, sig_id 2 already has a threshold (an earlier file)"));

    /* An over-long line. */
    memset(line, 'x', sizeof line);
    memcpy(line, "suppress gen_id 1, sig_id 1, ", 29);
    line[sizeof line - 2] = '\n';
    line[sizeof line - 1] = '\0';
    big = malloc(strlen(line) + 64);
    assert_non_null(big);
    snprintf(big, strlen(line) + 64, "# first\n%s", line);
    assert_int_equal(load_text(t, big, err, sizeof err), -1);
    assert_non_null(strstr(err, ":2: line too long"));
    free(big);
    /* A tiny error buffer is cut, not overrun. */
    assert_int_equal(load_text(t, "bogus\n", err, 8), -1);
    assert_int_equal(strlen(err), 7);
    threshold_free(t);
}

/* ------------------------------------------------------------------ memory bound */

static void test_eviction_bound(void **state)
{
    struct threshold_ctx *t = threshold_new(4);
    struct rule r = mkrule(1, 700, RULE_THR_LIMIT, RULE_TRACK_BY_SRC, 1, 100);
    struct threshold_stats st;
    struct packet p[6];
    char ip[32];

    for (int i = 0; i < 6; i++) {
        snprintf(ip, sizeof ip, "10.0.0.%d", i + 1);
        p[i] = mkpkt(ip, "192.0.2.1");
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(threshold_check(t, &r, &p[i], (uint64_t)i * SEC), 1);
    threshold_stats(t, &st);
    assert_int_equal(st.entries, 4);
    assert_int_equal(st.evicted, 0);
    /* A fifth key drops the oldest window: p[0]'s. */
    assert_int_equal(threshold_check(t, &r, &p[4], 4 * SEC), 1);
    threshold_stats(t, &st);
    assert_int_equal(st.entries, 4);
    assert_int_equal(st.evicted, 1);
    assert_int_equal(st.evicted_open, 1);
    assert_int_equal(threshold_check(t, &r, &p[1], 5 * SEC), 0);     /* still tracked */
    /* p[0] is forgotten and alerts again; it pushes out p[1], whose window
     * (opened at 1 s) is still the oldest: a match inside it moved nothing. */
    assert_int_equal(threshold_check(t, &r, &p[0], 5 * SEC), 1);
    threshold_stats(t, &st);
    assert_int_equal(st.evicted, 2);
    assert_int_equal(st.evicted_open, 2);
    /* A key whose window restarts becomes the newest: p[3] outlives p[2]. */
    assert_int_equal(threshold_check(t, &r, &p[3], 150 * SEC), 1);
    assert_int_equal(threshold_check(t, &r, &p[5], 151 * SEC), 1);   /* evicts p[2], closed */
    threshold_stats(t, &st);
    assert_int_equal(st.evicted, 3);
    assert_int_equal(st.evicted_open, 2);
    assert_int_equal(threshold_check(t, &r, &p[3], 152 * SEC), 0);
    assert_int_equal(threshold_check(t, &r, &p[2], 153 * SEC), 1);   /* evicts p[4] */
    assert_int_equal(threshold_check(t, &r, &p[0], 153 * SEC), 1);   /* its window closed */
    threshold_stats(t, &st);
    assert_int_equal(st.entries, 4);
    assert_int_equal(st.evicted, 4);
    threshold_free(t);
}

/* Many keys through a small table: the index stays consistent after many
 * backward-shift deletes, and the newest max_entries keys stay tracked. */
static void test_eviction_churn(void **state)
{
    enum { MAX = 16, KEYS = 5000 };
    struct threshold_ctx *t = threshold_new(MAX);
    struct rule r = mkrule(1, 710, RULE_THR_LIMIT, RULE_TRACK_BY_BOTH, 1, 3600);
    struct threshold_stats st;
    struct packet p;
    char src[32];

    for (int i = 0; i < KEYS; i++) {
        snprintf(src, sizeof src, "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
        p = mkpkt(src, "192.0.2.1");
        assert_int_equal(threshold_check(t, &r, &p, (uint64_t)i), 1);
    }
    threshold_stats(t, &st);
    assert_int_equal(st.entries, MAX);
    assert_int_equal(st.evicted, KEYS - MAX);
    assert_int_equal(st.max_entries, MAX);
    for (int i = KEYS - MAX; i < KEYS; i++) {
        snprintf(src, sizeof src, "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
        p = mkpkt("192.0.2.1", src);                     /* by_both: either order */
        assert_int_equal(threshold_check(t, &r, &p, KEYS), 0);
    }
    threshold_stats(t, &st);
    assert_int_equal(st.evicted, KEYS - MAX);
    threshold_free(t);
}

static void test_new_bounds(void **state)
{
    struct threshold_ctx *t = threshold_new(0);
    struct threshold_stats st;

    assert_non_null(t);
    threshold_stats(t, &st);
    assert_int_equal(st.max_entries, THRESHOLD_DEFAULT_ENTRIES);
    threshold_free(t);
    threshold_free(NULL);
    t = threshold_new(1);
    assert_non_null(t);
    threshold_stats(t, &st);
    assert_int_equal(st.max_entries, 1);
    threshold_free(t);
}

/* ------------------------------------------------------------------ carry-over */

static int keep_sid(void *arg, uint32_t gid, uint32_t sid, uint32_t rev)
{
    (void)rev;
    return gid == 1 && sid == *(uint32_t *)arg;
}

static void test_carry_over(void **state)
{
    struct threshold_ctx *old = threshold_new(16), *cur = threshold_new(16);
    struct rule kept = mkrule(1, 800, RULE_THR_LIMIT, RULE_TRACK_BY_SRC, 2, 60);
    struct rule gone = mkrule(1, 801, RULE_THR_LIMIT, RULE_TRACK_BY_SRC, 2, 60);
    struct packet a = mkpkt("10.0.0.1", "10.0.0.2");
    struct packet b = mkpkt("10.0.0.3", "10.0.0.2");
    struct threshold_stats st;
    uint32_t sid = 800;

    for (int i = 0; i < 2; i++) {
        assert_int_equal(threshold_check(old, &kept, &a, (uint64_t)i), 1);
        assert_int_equal(threshold_check(old, &gone, &a, (uint64_t)i), 1);
    }
    assert_int_equal(threshold_check(old, &kept, &b, 2), 1);
    threshold_carry_over(cur, old, keep_sid, &sid);
    threshold_stats(cur, &st);
    assert_int_equal(st.entries, 2);
    /* sid 800's counters survive: a is at its limit, b has one left. */
    assert_int_equal(threshold_check(cur, &kept, &a, 3), 0);
    assert_int_equal(threshold_check(cur, &kept, &b, 3), 1);
    assert_int_equal(threshold_check(cur, &kept, &b, 4), 0);
    /* The window start came along too: at 60 s a's window rolls over. */
    assert_int_equal(threshold_check(cur, &kept, &a, 60 * SEC), 1);
    /* sid 801 starts afresh; the old context is untouched. */
    assert_int_equal(threshold_check(cur, &gone, &a, 5), 1);
    assert_int_equal(threshold_check(old, &gone, &a, 5), 0);
    threshold_free(old);
    threshold_free(cur);
}

static int keep_all(void *arg, uint32_t gid, uint32_t sid, uint32_t rev)
{
    (void)rev;
    return 1;
}

/* Into a smaller context, the newest windows win. */
static void test_carry_over_smaller(void **state)
{
    struct threshold_ctx *old = threshold_new(8), *cur = threshold_new(2);
    struct rule r = mkrule(1, 810, RULE_THR_LIMIT, RULE_TRACK_BY_SRC, 1, 60);
    struct threshold_stats st;
    struct packet p[4];
    char ip[32];

    for (int i = 0; i < 4; i++) {
        snprintf(ip, sizeof ip, "10.0.1.%d", i);
        p[i] = mkpkt(ip, "10.0.0.2");
        assert_int_equal(threshold_check(old, &r, &p[i], (uint64_t)i), 1);
    }
    threshold_carry_over(cur, old, keep_all, NULL);
    threshold_stats(cur, &st);
    assert_int_equal(st.entries, 2);
    assert_int_equal(st.evicted, 2);
    assert_int_equal(threshold_check(cur, &r, &p[3], 10), 0);
    assert_int_equal(threshold_check(cur, &r, &p[2], 10), 0);
    threshold_free(old);
    threshold_free(cur);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_by_tracks),
        cmocka_unit_test(test_type_patterns),
        cmocka_unit_test(test_no_threshold_always_alerts),
        cmocka_unit_test(test_window_rollover_exact),
        cmocka_unit_test(test_window_resets_counts),
        cmocka_unit_test(test_detection_filter),
        cmocka_unit_test(test_ipv6_tracking),
        cmocka_unit_test(test_suppress_without_ip),
        cmocka_unit_test(test_suppress_with_ip),
        cmocka_unit_test(test_suppress_wildcards),
        cmocka_unit_test(test_suppress_before_threshold),
        cmocka_unit_test(test_config_overrides_rule),
        cmocka_unit_test(test_config_precedence),
        cmocka_unit_test(test_config_syntax),
        cmocka_unit_test(test_shipped_config),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_errors_file),
        cmocka_unit_test(test_eviction_bound),
        cmocka_unit_test(test_eviction_churn),
        cmocka_unit_test(test_new_bounds),
        cmocka_unit_test(test_carry_over),
        cmocka_unit_test(test_carry_over_smaller),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
