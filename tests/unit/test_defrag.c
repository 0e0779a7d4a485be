/* test_defrag.c - unit tests for IPv4/IPv6 fragment reassembly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "defrag.h"
#include "util.h"

#ifdef TEST_WITH_DECODER
#include <pcap/dlt.h>
#endif

#define SEC 1000000ull

struct env {
    struct defrag *d;
    struct decode_stats st;
    struct defrag_config cfg;
    const uint8_t *out;
    uint32_t out_len;
};

static const struct defrag_config default_cfg = {
    .max_trackers = 64,
    .memcap = 1u << 20,
    .timeout_sec = 30,
    .max_datagram = 65535,
};

static struct env *env_new(const struct defrag_config *cfg)
{
    struct env *e = calloc(1, sizeof *e);

    assert_non_null(e);
    e->cfg = *cfg;
    e->d = defrag_new(cfg);
    assert_non_null(e->d);
    return e;
}

static void env_free(struct env *e)
{
    defrag_free(e->d);
    free(e);
}

static void key4(struct frag_key *k, uint32_t id)
{
    static const uint8_t s[4] = {10, 0, 0, 1}, d[4] = {192, 168, 1, 2};

    memset(k, 0, sizeof *k);
    lw_addr_set4(&k->src, s);
    lw_addr_set4(&k->dst, d);
    k->id = id;
    k->proto = 17;
    k->ip_version = 4;
}

static void key6(struct frag_key *k, uint32_t id, uint8_t proto)
{
    uint8_t s[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    uint8_t d[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

    memset(k, 0, sizeof *k);
    lw_addr_set6(&k->src, s);
    lw_addr_set6(&k->dst, d);
    k->id = id;
    k->proto = proto;
    k->ip_version = 6;
}

/* An IPv4 fragment header as a sender would write it, with opt_len bytes of
 * options (NOPs) and a deliberately wrong checksum. */
static uint32_t ip4_hdr(uint8_t *h, uint16_t id, uint32_t opt_len, uint32_t off,
                        uint32_t len, int more)
{
    uint32_t hl = 20 + opt_len, fo = off / 8 | (more ? 0x2000u : 0);

    memset(h, 0, hl);
    h[0] = (uint8_t)(0x40 | hl / 4);
    h[2] = (uint8_t)((hl + len) >> 8);
    h[3] = (uint8_t)(hl + len);
    h[4] = (uint8_t)(id >> 8);
    h[5] = (uint8_t)id;
    h[6] = (uint8_t)(fo >> 8 | 0x40);   /* DF set too: must survive */
    h[7] = (uint8_t)fo;
    h[8] = 64;
    h[9] = 17;
    h[10] = 0xde;
    h[11] = 0xad;
    memcpy(h + 12, (uint8_t[]){10, 0, 0, 1, 192, 168, 1, 2}, 8);
    memset(h + 20, 1, opt_len);
    return hl;
}

/* A fixed IPv6 header; ext_len bytes of hop-by-hop options follow when
 * ext_len > 0, whose next header (at offset 40) names the fragment header. */
static uint32_t ip6_hdr(uint8_t *h, uint32_t ext_len, uint32_t *nh_off)
{
    memset(h, 0, 40 + ext_len);
    h[0] = 0x60;
    h[7] = 64;
    h[8] = 0x20;
    h[24] = 0x20;
    if (ext_len == 0) {
        h[6] = 44;
        *nh_off = 6;
    } else {
        h[6] = 0;                   /* hop-by-hop */
        h[40] = 44;
        h[41] = (uint8_t)(ext_len / 8 - 1);
        h[42] = 1;                  /* PadN filling the rest */
        h[43] = (uint8_t)(ext_len - 4);
        *nh_off = 40;
    }
    return 40 + ext_len;
}

static void pattern(uint8_t *p, uint32_t n, uint32_t seed)
{
    uint32_t i;

    for (i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 8));
}

static int add4(struct env *e, uint32_t id, const uint8_t *payload, uint32_t off,
                uint32_t len, int more, uint64_t ts)
{
    struct frag_key k;
    uint8_t h[60];
    uint32_t hl = ip4_hdr(h, (uint16_t)id, 0, off, len, more);

    key4(&k, id);
    return defrag_add(e->d, &e->st, &k, h, hl, 0, payload + off, off, len, more, ts,
                      &e->out, &e->out_len);
}

static int add6(struct env *e, uint32_t id, uint32_t ext_len, const uint8_t *payload,
                uint32_t off, uint32_t len, int more, uint64_t ts)
{
    struct frag_key k;
    uint8_t h[128];
    uint32_t nh_off, hl = ip6_hdr(h, ext_len, &nh_off);

    key6(&k, id, 17);
    return defrag_add(e->d, &e->st, &k, h, hl, nh_off, payload + off, off, len, more,
                      ts, &e->out, &e->out_len);
}

static int ip4_checksum_ok(const uint8_t *h, uint32_t hl)
{
    uint32_t sum = 0, i;

    for (i = 0; i < hl; i += 2)
        sum += lw_get16(h + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

/* Checks a reassembled IPv4 datagram against the payload it should carry. */
static void check_ip4_out(const struct env *e, uint32_t hl, const uint8_t *payload,
                          uint32_t n)
{
    assert_int_equal(e->out_len, hl + n);
    assert_int_equal(lw_get16(e->out + 2), hl + n);
    assert_int_equal(lw_get16(e->out + 6), 0x4000);  /* DF kept, MF and offset gone */
    assert_true(ip4_checksum_ok(e->out, hl));
    assert_memory_equal(e->out + hl, payload, n);
}

static void check_empty(const struct env *e)
{
    assert_int_equal(defrag_memuse(e->d), 0);
    assert_int_equal(defrag_trackers(e->d), 0);
}

static void test_ipv4_in_order(void **state)
{
    struct env *e = env_new(&default_cfg);
    uint8_t pl[64];

    pattern(pl, sizeof pl, 1);
    assert_int_equal(add4(e, 7, pl, 0, 24, 1, SEC), 0);
    assert_int_equal(defrag_trackers(e->d), 1);
    assert_true(defrag_memuse(e->d) >= 24);
    assert_int_equal(add4(e, 7, pl, 24, 24, 1, SEC), 0);
    assert_int_equal(add4(e, 7, pl, 48, 16, 0, SEC), 1);
    check_ip4_out(e, 20, pl, 64);
    assert_int_equal(e->out[9], 17);
    assert_int_equal(lw_get16(e->out + 4), 7);
    assert_int_equal(e->st.reassembled_ipv4, 1);
    assert_int_equal(e->st.reassembled_ipv6, 0);
    assert_int_equal(e->st.frag_ipv4, 0);       /* the decoder's counter */
    check_empty(e);
    env_free(e);
}

static void test_ipv4_reverse(void **state)
{
    struct env *e = env_new(&default_cfg);
    uint8_t pl[100];

    pattern(pl, sizeof pl, 2);
    assert_int_equal(add4(e, 9, pl, 96, 4, 0, SEC), 0);
    assert_int_equal(add4(e, 9, pl, 64, 32, 1, SEC), 0);
    assert_int_equal(add4(e, 9, pl, 32, 32, 1, SEC), 0);
    assert_int_equal(add4(e, 9, pl, 0, 32, 1, SEC), 1);
    check_ip4_out(e, 20, pl, 100);
    assert_int_equal(e->st.event[DE_FRAG_OVERLAP], 0);
    check_empty(e);
    env_free(e);
}

static void test_ipv4_shuffled(void **state)
{
    static const int order[][10] = {
        {3, 7, 0, 9, 1, 5, 8, 2, 6, 4},
        {9, 0, 8, 1, 7, 2, 6, 3, 5, 4},
        {5, 4, 6, 3, 7, 2, 8, 1, 9, 0},
    };
    struct env *e = env_new(&default_cfg);
    uint8_t pl[10 * 16 - 5];
    size_t r;
    int i, f, rc;

    pattern(pl, sizeof pl, 3);
    for (r = 0; r < sizeof order / sizeof order[0]; r++) {
        for (i = 0; i < 10; i++) {
            f = order[r][i];
            rc = add4(e, 100 + (uint32_t)r, pl, (uint32_t)f * 16,
                      f == 9 ? 16 - 5 : 16, f != 9, SEC);
            assert_int_equal(rc, i == 9 ? 1 : 0);
        }
        check_ip4_out(e, 20, pl, sizeof pl);
        check_empty(e);
    }
    assert_int_equal(e->st.reassembled_ipv4, 3);
    env_free(e);
}

static void test_missing_piece_times_out(void **state)
{
    struct env *e = env_new(&default_cfg);
    uint8_t pl[48];

    pattern(pl, sizeof pl, 4);
    assert_int_equal(add4(e, 1, pl, 0, 16, 1, 10 * SEC), 0);
    assert_int_equal(add4(e, 1, pl, 32, 16, 0, 11 * SEC), 0);
    assert_int_equal(add4(e, 1, pl, 32, 16, 0, 12 * SEC), 0);  /* repeat: no completion */
    assert_true(defrag_memuse(e->d) > 0);
    defrag_expire(e->d, &e->st, 40 * SEC);          /* exactly the timeout: kept */
    assert_int_equal(defrag_trackers(e->d), 1);
    assert_int_equal(e->st.event[DE_FRAG_TIMEOUT], 0);
    defrag_expire(e->d, &e->st, 40 * SEC + 1);
    assert_int_equal(e->st.event[DE_FRAG_TIMEOUT], 1);
    assert_int_equal(e->st.reassembled_ipv4, 0);
    check_empty(e);
    defrag_expire(e->d, &e->st, 100 * SEC);
    assert_int_equal(e->st.event[DE_FRAG_TIMEOUT], 1);
    env_free(e);
}

static void test_lazy_timeout_on_lookup(void **state)
{
    struct env *e = env_new(&default_cfg);
    uint8_t pl[32];

    pattern(pl, sizeof pl, 5);
    assert_int_equal(add4(e, 2, pl, 0, 16, 1, 1 * SEC), 0);
    /* The rest arrives too late: the stale half is dropped, not completed. */
    assert_int_equal(add4(e, 2, pl, 16, 16, 0, 60 * SEC), 0);
    assert_int_equal(e->st.event[DE_FRAG_TIMEOUT], 1);
    assert_int_equal(defrag_trackers(e->d), 1);
    assert_true(defrag_memuse(e->d) > 0);
    assert_int_equal(add4(e, 2, pl, 0, 16, 1, 61 * SEC), 1);
    check_ip4_out(e, 20, pl, 32);
    check_empty(e);
    env_free(e);
}

static void test_ipv4_overlap_first_wins(void **state)
{
    struct env *e = env_new(&default_cfg);
    uint8_t a[64], b[64], c[64], want[40];

    memset(a, 'A', sizeof a);
    memset(b, 'B', sizeof b);
    memset(c, 'C', sizeof c);
    /* A holds [0,16), B [8,24) overlaps it, C [24,40) ends it. */
    assert_int_equal(add4(e, 3, a, 0, 16, 1, SEC), 0);
    assert_int_equal(add4(e, 3, b, 8, 16, 1, SEC), 0);
    assert_int_equal(e->st.event[DE_FRAG_OVERLAP], 1);
    assert_int_equal(add4(e, 3, c, 24, 16, 0, SEC), 1);
    memset(want, 'A', 16);
    memset(want + 16, 'B', 8);
    memset(want + 24, 'C', 16);
    check_ip4_out(e, 20, want, 40);
    assert_int_equal(e->st.event[DE_FRAG_OVERLAP], 1);
    check_empty(e);

    /* A later fragment spanning two holes fills only the holes. */
    assert_int_equal(add4(e, 4, a, 0, 8, 1, SEC), 0);
    assert_int_equal(add4(e, 4, c, 16, 8, 1, SEC), 0);
    assert_int_equal(add4(e, 4, b, 0, 32, 0, SEC), 1);
    memset(want, 'A', 8);
    memset(want + 8, 'B', 8);
    memset(want + 16, 'C', 8);
    memset(want + 24, 'B', 8);
    check_ip4_out(e, 20, want, 32);
    assert_int_equal(e->st.event[DE_FRAG_OVERLAP], 2);
    check_empty(e);
    env_free(e);
}

static void test_ipv6_overlap_drops(void **state)
{
    struct env *e = env_new(&default_cfg);
    uint8_t pl[48];

    pattern(pl, sizeof pl, 6);
    assert_int_equal(add6(e, 0x1234, 0, pl, 0, 16, 1, SEC), 0);
    assert_int_equal(add6(e, 0x1234, 0, pl, 8, 16, 1, SEC), -1);
    assert_int_equal(e->st.event[DE_FRAG_OVERLAP], 1);
    check_empty(e);
    /* What is left of the datagram cannot complete it. */
    assert_int_equal(add6(e, 0x1234, 0, pl, 24, 24, 0, SEC), 0);
    assert_int_equal(add6(e, 0x1234, 0, pl, 16, 8, 1, SEC), 0);
    assert_int_equal(e->st.reassembled_ipv6, 0);
    assert_int_equal(defrag_trackers(e->d), 1);
    env_free(e);
}

static void test_duplicate(void **state)
{
    struct env *e = env_new(&default_cfg);
    uint8_t pl[40];
    uint64_t mem;

    pattern(pl, sizeof pl, 7);
    assert_int_equal(add4(e, 5, pl, 0, 24, 1, SEC), 0);
    mem = defrag_memuse(e->d);
    assert_int_equal(add4(e, 5, pl, 0, 24, 1, SEC), 0);
    assert_int_equal(e->st.event[DE_FRAG_OVERLAP], 1);
    assert_int_equal(defrag_memuse(e->d), mem);
    assert_int_equal(add4(e, 5, pl, 24, 16, 0, SEC), 1);
    check_ip4_out(e, 20, pl, 40);
    check_empty(e);

    /* IPv6: an exact duplicate is counted and ignored, not fatal. */
    assert_int_equal(add6(e, 5, 0, pl, 0, 24, 1, SEC), 0);
    assert_int_equal(add6(e, 5, 0, pl, 0, 24, 1, SEC), 0);
    assert_int_equal(e->st.event[DE_FRAG_OVERLAP], 2);
    assert_int_equal(add6(e, 5, 0, pl, 24, 16, 0, SEC), 1);
    assert_int_equal(e->out_len, 40 + 40);
    assert_memory_equal(e->out + 40, pl, 40);
    check_empty(e);

    /* IPv6: same range, different bytes is an overlap and kills it. */
    assert_int_equal(add6(e, 6, 0, pl, 0, 24, 1, SEC), 0);
    pl[3] ^= 0xff;
    assert_int_equal(add6(e, 6, 0, pl, 0, 24, 1, SEC), -1);
    assert_int_equal(e->st.event[DE_FRAG_OVERLAP], 3);
    check_empty(e);
    env_free(e);
}

static void test_too_large(void **state)
{
    struct defrag_config cfg = default_cfg;
    struct env *e = env_new(&default_cfg), *small;
    struct frag_key k;
    uint8_t *pl = calloc(1, 70000), h[60];
    uint32_t hl;

    assert_non_null(pl);
    /* Ping of death: ends past 65535. */
    assert_int_equal(add4(e, 8, pl, 0, 64, 1, SEC), 0);
    assert_int_equal(add4(e, 8, pl, 65528, 16, 0, SEC), -1);
    assert_int_equal(e->st.event[DE_FRAG_TOO_LARGE], 1);
    check_empty(e);

    /* Fits the payload limit, but not behind a 60-byte header. */
    key4(&k, 9);
    hl = ip4_hdr(h, 9, 40, 0, 64, 1);
    assert_int_equal(defrag_add(e->d, &e->st, &k, h, hl, 0, pl, 0, 64, 1, SEC,
                                &e->out, &e->out_len), 0);
    assert_int_equal(add4(e, 9, pl, 65480, 8, 0, SEC), -1);
    assert_int_equal(e->st.event[DE_FRAG_TOO_LARGE], 2);
    check_empty(e);

    /* The configured limit. */
    cfg.max_datagram = 1000;
    small = env_new(&cfg);
    assert_int_equal(add4(small, 10, pl, 0, 496, 1, SEC), 0);
    assert_int_equal(add4(small, 10, pl, 496, 496, 1, SEC), 0);
    assert_int_equal(add4(small, 10, pl, 992, 16, 0, SEC), -1);
    assert_int_equal(small->st.event[DE_FRAG_TOO_LARGE], 1);
    check_empty(small);
    assert_int_equal(add4(small, 11, pl, 0, 496, 1, SEC), 0);
    assert_int_equal(add4(small, 11, pl, 496, 504, 0, SEC), 1);
    assert_int_equal(small->out_len, 1020);
    env_free(small);
    free(pl);
    env_free(e);
}

static void test_bad_len(void **state)
{
    struct env *e = env_new(&default_cfg);
    uint8_t pl[64];

    pattern(pl, sizeof pl, 8);
    assert_int_equal(add4(e, 12, pl, 0, 12, 1, SEC), -1);   /* not a multiple of 8 */
    assert_int_equal(add4(e, 12, pl, 16, 0, 1, SEC), -1);   /* empty */
    assert_int_equal(add4(e, 12, pl, 16, 0, 0, SEC), -1);
    assert_int_equal(add6(e, 12, 0, pl, 0, 20, 1, SEC), -1);
    assert_int_equal(e->st.event[DE_FRAG_BAD_LEN], 4);
    assert_int_equal(e->st.invalid, 0);
    check_empty(e);

    /* A non-multiple of 8 is fine at the end. */
    assert_int_equal(add4(e, 13, pl, 0, 16, 1, SEC), 0);
    assert_int_equal(add4(e, 13, pl, 16, 13, 0, SEC), 1);
    check_ip4_out(e, 20, pl, 29);

    /* A last fragment that ends before bytes already held is refused, and
     * so is anything past the end once it is known. */
    assert_int_equal(add4(e, 14, pl, 32, 16, 1, SEC), 0);
    assert_int_equal(add4(e, 14, pl, 0, 24, 0, SEC), -1);
    assert_int_equal(add4(e, 14, pl, 48, 8, 0, SEC), 0);
    assert_int_equal(add4(e, 14, pl, 48, 16, 1, SEC), -1);
    assert_int_equal(add4(e, 14, pl, 0, 32, 1, SEC), 1);
    check_ip4_out(e, 20, pl, 56);
    assert_int_equal(e->st.event[DE_FRAG_BAD_LEN], 6);
    assert_int_equal(e->st.event[DE_FRAG_OVERLAP], 1);       /* 48-64 past the end overlapped 48-56 */
    check_empty(e);

    /* A last fragment ending early whose bytes overlap held ones: overlap
     * reported as well (suricata-verify ipv6-malformed-fragments-29: one
     * byte at offset 8 after 0-24 and 32-48). */
    assert_int_equal(add6(e, 15, 0, pl, 0, 24, 1, SEC), 0);
    assert_int_equal(add6(e, 15, 0, pl, 32, 16, 1, SEC), 0);
    assert_int_equal(add6(e, 15, 0, pl, 8, 1, 0, SEC), -1);
    assert_int_equal(e->st.event[DE_FRAG_BAD_LEN], 7);
    assert_int_equal(e->st.event[DE_FRAG_OVERLAP], 2);
    /* near miss: ending early inside the hole (24-32) overlaps nothing */
    assert_int_equal(add6(e, 15, 0, pl, 24, 4, 0, SEC), -1);
    assert_int_equal(e->st.event[DE_FRAG_BAD_LEN], 8);
    assert_int_equal(e->st.event[DE_FRAG_OVERLAP], 2);
    env_free(e);
}

static void test_memcap(void **state)
{
    struct defrag_config cfg = default_cfg;
    struct env *e;
    uint8_t pl[512];

    cfg.memcap = 300;
    e = env_new(&cfg);
    pattern(pl, sizeof pl, 9);
    assert_int_equal(add4(e, 20, pl, 0, 200, 1, SEC), 0);
    assert_true(defrag_memuse(e->d) <= 300);
    assert_int_equal(add4(e, 20, pl, 200, 200, 1, SEC), -1);
    assert_int_equal(e->st.event[DE_FRAG_MEMCAP], 1);
    assert_true(defrag_memuse(e->d) <= 300);
    /* A refused first fragment leaves no tracker behind. */
    assert_int_equal(add4(e, 21, pl, 0, 200, 1, SEC), -1);
    assert_int_equal(e->st.event[DE_FRAG_MEMCAP], 2);
    assert_int_equal(defrag_trackers(e->d), 1);
    /* Small ones still fit, and the datagram can complete. */
    assert_int_equal(add4(e, 20, pl, 200, 8, 0, SEC), 1);
    check_ip4_out(e, 20, pl, 208);
    check_empty(e);

    /* Bytes held by a due tracker are given back before refusing. */
    assert_int_equal(add4(e, 22, pl, 0, 200, 1, SEC), 0);
    assert_int_equal(add4(e, 23, pl, 0, 200, 1, 100 * SEC), 0);
    assert_int_equal(e->st.event[DE_FRAG_TIMEOUT], 1);
    assert_int_equal(e->st.event[DE_FRAG_MEMCAP], 2);
    assert_int_equal(defrag_trackers(e->d), 1);
    env_free(e);
}

static void test_table_full(void **state)
{
    struct defrag_config cfg = default_cfg;
    struct env *e;
    uint8_t pl[32];

    cfg.max_trackers = 2;
    e = env_new(&cfg);
    pattern(pl, sizeof pl, 10);
    assert_int_equal(add4(e, 30, pl, 0, 16, 1, 1 * SEC), 0);
    assert_int_equal(add4(e, 31, pl, 0, 16, 1, 2 * SEC), 0);
    assert_int_equal(add4(e, 32, pl, 0, 16, 1, 3 * SEC), 0);  /* evicts 30 */
    assert_int_equal(e->st.event[DE_FRAG_TABLE_FULL], 1);
    assert_int_equal(defrag_trackers(e->d), 2);
    assert_int_equal(add4(e, 31, pl, 16, 16, 0, 4 * SEC), 1);
    assert_int_equal(add4(e, 32, pl, 16, 16, 0, 4 * SEC), 1);
    check_ip4_out(e, 20, pl, 32);
    /* 30 lost its first half: its second half starts afresh. */
    assert_int_equal(add4(e, 30, pl, 16, 16, 0, 5 * SEC), 0);
    assert_int_equal(defrag_trackers(e->d), 1);
    assert_int_equal(e->st.reassembled_ipv4, 2);
    /* A due tracker makes room as a timeout, not as table_full. */
    assert_int_equal(add4(e, 33, pl, 0, 16, 1, 6 * SEC), 0);
    assert_int_equal(add4(e, 34, pl, 0, 16, 1, 36 * SEC), 0);
    assert_int_equal(e->st.event[DE_FRAG_TABLE_FULL], 1);
    assert_int_equal(e->st.event[DE_FRAG_TIMEOUT], 1);
    env_free(e);
}

static void test_many_concurrent(void **state)
{
    enum { N = 300, NF = 5, FL = 24 };
    struct defrag_config cfg = default_cfg;
    struct env *e;
    static uint8_t pl[N][NF * FL];
    int i, f, fi, rc;

    cfg.max_trackers = N;
    e = env_new(&cfg);
    for (i = 0; i < N; i++)
        pattern(pl[i], sizeof pl[i], (uint32_t)i);
    for (fi = 0; fi < NF; fi++) {
        for (i = 0; i < N; i++) {
            /* Even datagrams in order, odd ones backwards. */
            f = i % 2 ? NF - 1 - fi : fi;
            rc = add4(e, 1000 + (uint32_t)i, pl[i], (uint32_t)(f * FL), FL, f != NF - 1, SEC);
            if (fi < NF - 1) {
                assert_int_equal(rc, 0);
                continue;
            }
            assert_int_equal(rc, 1);
            check_ip4_out(e, 20, pl[i], NF * FL);
            assert_int_equal(lw_get16(e->out + 4), 1000 + i);
        }
        if (fi < NF - 1)
            assert_int_equal(defrag_trackers(e->d), N);
    }
    assert_int_equal(e->st.reassembled_ipv4, N);
    assert_int_equal(e->st.event[DE_FRAG_TABLE_FULL], 0);
    assert_int_equal(e->st.event[DE_FRAG_OVERLAP], 0);
    check_empty(e);
    env_free(e);
}

/* Same id and addresses but another VLAN, tunnel or protocol: separate datagrams. */
static void test_key_separation(void **state)
{
    struct env *e = env_new(&default_cfg);
    struct frag_key k[4];
    uint8_t pl[32], h[20];
    int i;

    pattern(pl, sizeof pl, 11);
    for (i = 0; i < 4; i++)
        key4(&k[i], 77);
    k[1].vlan[0] = 100;
    k[2].tunnel_id = 5;
    k[3].proto = 6;
    k[0].src.pad[0] = 0xaa;         /* junk in padding must not matter */
    ip4_hdr(h, 77, 0, 0, 16, 1);
    for (i = 0; i < 4; i++)
        assert_int_equal(defrag_add(e->d, &e->st, &k[i], h, 20, 0, pl, 0, 16, 1, SEC,
                                    &e->out, &e->out_len), 0);
    assert_int_equal(defrag_trackers(e->d), 4);
    k[0].src.pad[0] = 0;
    for (i = 0; i < 4; i++) {
        assert_int_equal(defrag_add(e->d, &e->st, &k[i], h, 20, 0, pl + 16, 16, 16, 0,
                                    SEC, &e->out, &e->out_len), 1);
        assert_int_equal(defrag_trackers(e->d), 3 - i);
    }
    check_empty(e);
    env_free(e);
}

static void test_ipv4_options_checksum(void **state)
{
    struct env *e = env_new(&default_cfg);
    struct frag_key k;
    uint8_t pl[48], h[60], opts[8];
    uint32_t hl;

    memset(opts, 1, sizeof opts);
    pattern(pl, sizeof pl, 12);
    key4(&k, 40);
    /* Non-first fragments carry no options; the offset-0 header is used. */
    hl = ip4_hdr(h, 40, 0, 32, 16, 0);
    assert_int_equal(defrag_add(e->d, &e->st, &k, h, hl, 0, pl + 32, 32, 16, 0, SEC,
                                &e->out, &e->out_len), 0);
    hl = ip4_hdr(h, 40, 8, 0, 32, 1);
    assert_int_equal(defrag_add(e->d, &e->st, &k, h, hl, 0, pl, 0, 32, 1, SEC,
                                &e->out, &e->out_len), 1);
    check_ip4_out(e, 28, pl, 48);
    assert_int_equal(e->out[0], 0x47);
    assert_memory_equal(e->out + 20, opts, 8);
    assert_int_not_equal(lw_get16(e->out + 10), 0xdead);
    check_empty(e);
    env_free(e);
}

static void test_ipv6_nh(void **state)
{
    struct env *e = env_new(&default_cfg);
    uint8_t pl[72];

    pattern(pl, sizeof pl, 13);
    /* Fragment header straight after the fixed header. */
    assert_int_equal(add6(e, 50, 0, pl, 32, 40, 0, SEC), 0);
    assert_int_equal(add6(e, 50, 0, pl, 0, 32, 1, SEC), 1);
    assert_int_equal(e->out_len, 40 + 72);
    assert_int_equal(e->out[6], 17);
    assert_int_equal(lw_get16(e->out + 4), 72);
    assert_memory_equal(e->out + 40, pl, 72);
    assert_int_equal(e->st.reassembled_ipv6, 1);
    check_empty(e);

    /* Behind a 16-byte hop-by-hop header: its next header is rewritten, the
     * fixed header's stays, and the payload length counts the ext header. */
    assert_int_equal(add6(e, 51, 16, pl, 0, 32, 1, SEC), 0);
    assert_int_equal(add6(e, 51, 16, pl, 32, 40, 0, SEC), 1);
    assert_int_equal(e->out_len, 56 + 72);
    assert_int_equal(e->out[6], 0);
    assert_int_equal(e->out[40], 17);
    assert_int_equal(e->out[41], 1);
    assert_int_equal(lw_get16(e->out + 4), 16 + 72);
    assert_memory_equal(e->out + 56, pl, 72);
    assert_int_equal(e->st.reassembled_ipv6, 2);
    check_empty(e);

    /* Atomic fragment: offset 0, no more. */
    assert_int_equal(add6(e, 52, 0, pl, 0, 13, 0, SEC), 1);
    assert_int_equal(e->out_len, 53);
    assert_int_equal(lw_get16(e->out + 4), 13);
    check_empty(e);

    /* ... which stays apart from a datagram in progress with its id. */
    assert_int_equal(add6(e, 53, 0, pl, 16, 16, 1, SEC), 0);
    assert_int_equal(add6(e, 53, 0, pl, 0, 13, 0, SEC), 1);
    assert_int_equal(e->out_len, 53);
    assert_memory_equal(e->out + 40, pl, 13);
    assert_int_equal(defrag_trackers(e->d), 1);
    assert_int_equal(e->st.event[DE_FRAG_BAD_LEN], 0);
    env_free(e);
}

static void test_expire_many(void **state)
{
    struct env *e = env_new(&default_cfg);
    uint8_t pl[16];
    uint32_t i;

    pattern(pl, sizeof pl, 14);
    for (i = 0; i < 50; i++)
        assert_int_equal(add4(e, 2000 + i, pl, 0, 16, 1, (1 + i) * SEC), 0);
    defrag_expire(e->d, &e->st, 41 * SEC);      /* ts 1..10 are due */
    assert_int_equal(e->st.event[DE_FRAG_TIMEOUT], 10);
    assert_int_equal(defrag_trackers(e->d), 40);
    defrag_expire(e->d, &e->st, 1000 * SEC);
    assert_int_equal(e->st.event[DE_FRAG_TIMEOUT], 50);
    check_empty(e);
    env_free(e);
}

static uint32_t rng_next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Random cuts, delivered shuffled across datagrams and versions with some
 * fragments sent twice: each datagram must come out once and whole. */
static void test_random_mix(void **state)
{
    enum { N = 40, MAXF = 64 };
    struct frag { uint16_t dg, off, len; uint8_t more; } *fr, tmp;
    struct env *e = env_new(&default_cfg);
    static uint8_t pl[N][2000];
    uint32_t x = 0x9e3779b9, size[N], done[N] = {0}, nf = 0, i, j, off, len;
    int rc, dup;

    fr = calloc(N * MAXF * 2, sizeof *fr);
    assert_non_null(fr);
    for (i = 0; i < N; i++) {
        size[i] = 100 + rng_next(&x) % 1900;
        pattern(pl[i], size[i], i);
        dup = 0;
        for (off = 0; off < size[i]; off += len) {
            len = 8 * (1 + rng_next(&x) % 40);
            if (off + len >= size[i])
                len = size[i] - off;
            fr[nf++] = (struct frag){(uint16_t)i, (uint16_t)off, (uint16_t)len,
                                     off + len < size[i]};
            /* One duplicate at most per datagram, of a part: two late
             * copies could make up a second whole datagram. */
            if (!dup && len < size[i] && rng_next(&x) % 3 == 0) {
                fr[nf] = fr[nf - 1];
                nf++;
                dup = 1;
            }
        }
    }
    for (i = nf - 1; i > 0; i--) {
        j = rng_next(&x) % (i + 1);
        tmp = fr[i];
        fr[i] = fr[j];
        fr[j] = tmp;
    }
    for (i = 0; i < nf; i++) {
        const struct frag *f = &fr[i];

        if (f->dg % 2)
            rc = add6(e, 500 + f->dg, 0, pl[f->dg], f->off, f->len, f->more, SEC);
        else
            rc = add4(e, 500 + f->dg, pl[f->dg], f->off, f->len, f->more, SEC);
        assert_true(rc == 0 || rc == 1);
        if (rc == 0)
            continue;
        done[f->dg]++;
        assert_int_equal(e->out_len, (f->dg % 2 ? 40 : 20) + size[f->dg]);
        assert_memory_equal(e->out + (f->dg % 2 ? 40 : 20), pl[f->dg], size[f->dg]);
    }
    /* A duplicate arriving after completion may open a new tracker; drop those. */
    defrag_expire(e->d, &e->st, 100 * SEC);
    for (i = 0; i < N; i++)
        assert_int_equal(done[i], 1);
    assert_int_equal(e->st.reassembled_ipv4 + e->st.reassembled_ipv6, N);
    assert_true(e->st.event[DE_FRAG_OVERLAP] > 5);  /* the duplicates did arrive */
    assert_int_equal(e->st.event[DE_FRAG_BAD_LEN] + e->st.event[DE_FRAG_MEMCAP] +
                     e->st.event[DE_FRAG_TOO_LARGE] + e->st.event[DE_FRAG_TABLE_FULL], 0);
    check_empty(e);
    free(fr);
    env_free(e);
}

/* Freeing a table that still holds datagrams frees their bytes too (checked
 * by ASan/valgrind). */
static void test_free_with_pending(void **state)
{
    struct env *e = env_new(&default_cfg);
    uint8_t pl[64];

    pattern(pl, sizeof pl, 15);
    assert_int_equal(add4(e, 60, pl, 0, 16, 1, SEC), 0);
    assert_int_equal(add4(e, 60, pl, 32, 16, 1, SEC), 0);
    assert_int_equal(add6(e, 61, 0, pl, 8, 16, 1, SEC), 0);
    assert_int_equal(defrag_trackers(e->d), 2);
    env_free(e);
}

#ifdef TEST_WITH_DECODER
/* Through the decoder: real Ethernet frames in, transport fields out. */

static const uint8_t eth_src[6] = {0x02, 0, 0, 0, 0, 1}, eth_dst[6] = {0x02, 0, 0, 0, 0, 2};
static const uint8_t s6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t d6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

static uint32_t eth_hdr(uint8_t *f, uint16_t type)
{
    memcpy(f, eth_dst, 6);
    memcpy(f + 6, eth_src, 6);
    f[12] = (uint8_t)(type >> 8);
    f[13] = (uint8_t)type;
    return 14;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *b, uint32_t n)
{
    uint32_t i;

    for (i = 0; i + 1 < n; i += 2)
        sum += lw_get16(b + i);
    if (n % 2)
        sum += (uint32_t)b[n - 1] << 8;
    return sum;
}

/* An Ethernet frame carrying bytes [off, off+len) of an IPv4 datagram
 * payload, with a valid header checksum. */
static uint32_t frame4(uint8_t *f, uint16_t id, uint8_t proto, const uint8_t *dg,
                       uint32_t off, uint32_t len, int more)
{
    uint32_t n = eth_hdr(f, 0x0800);
    uint8_t *h = f + n;

    ip4_hdr(h, id, 0, off, len, more);
    h[6] &= 0xbf;                   /* no DF on a fragmented datagram */
    h[9] = proto;
    h[10] = h[11] = 0;
    h[10] = (uint8_t)(csum_fold(csum_add(0, h, 20)) >> 8);
    h[11] = (uint8_t)csum_fold(csum_add(0, h, 20));
    memcpy(h + 20, dg + off, len);
    return n + 20 + len;
}

/* An Ethernet frame with an IPv6 fragment, behind ext_len bytes of
 * hop-by-hop options when ext_len > 0. */
static uint32_t frame6(uint8_t *f, uint32_t id, uint8_t proto, uint32_t ext_len,
                       const uint8_t *dg, uint32_t off, uint32_t len, int more)
{
    uint32_t n = eth_hdr(f, 0x86dd), nh_off, hl;
    uint8_t *h = f + n, *fh;

    hl = ip6_hdr(h, ext_len, &nh_off);
    memcpy(h + 8, s6, 16);
    memcpy(h + 24, d6, 16);
    h[4] = (uint8_t)((hl - 40 + 8 + len) >> 8);
    h[5] = (uint8_t)(hl - 40 + 8 + len);
    fh = h + hl;
    fh[0] = proto;
    fh[1] = 0;
    fh[2] = (uint8_t)(off >> 8);
    fh[3] = (uint8_t)((off & 0xf8) | (more ? 1 : 0));
    fh[4] = (uint8_t)(id >> 24);
    fh[5] = (uint8_t)(id >> 16);
    fh[6] = (uint8_t)(id >> 8);
    fh[7] = (uint8_t)id;
    memcpy(fh + 8, dg + off, len);
    return n + hl + 8 + len;
}

/* A UDP datagram of n payload bytes; checksum over the IPv6 pseudo-header
 * when src6/dst6 are given, else 0 (none, as IPv4 allows). */
static uint32_t udp_dgram(uint8_t *dg, uint16_t sport, uint16_t dport, uint32_t n,
                          const uint8_t *src6, const uint8_t *dst6)
{
    uint32_t ulen = 8 + n, sum;
    uint16_t c;

    dg[0] = (uint8_t)(sport >> 8);
    dg[1] = (uint8_t)sport;
    dg[2] = (uint8_t)(dport >> 8);
    dg[3] = (uint8_t)dport;
    dg[4] = (uint8_t)(ulen >> 8);
    dg[5] = (uint8_t)ulen;
    dg[6] = dg[7] = 0;
    pattern(dg + 8, n, 21);
    if (src6 != NULL) {
        sum = csum_add(0, src6, 16);
        sum = csum_add(sum, dst6, 16);
        sum += ulen + 17;
        c = csum_fold(csum_add(sum, dg, ulen));
        dg[6] = (uint8_t)((c ? c : 0xffff) >> 8);
        dg[7] = (uint8_t)(c ? c : 0xffff);
    }
    return ulen;
}

static struct decoder *decoder_new(void)
{
    struct decoder *dc = calloc(1, sizeof *dc);

    assert_non_null(dc);
    assert_int_equal(decoder_init(dc, DLT_EN10MB, &default_cfg), 0);
    assert_non_null(dc->defrag);
    return dc;
}

static void decoder_del(struct decoder *dc)
{
    assert_int_equal(defrag_memuse(dc->defrag), 0);
    decoder_destroy(dc);
    free(dc);
}

static void test_decode_ipv4_udp(void **state)
{
    static const uint32_t cut[][3] = {{48, 48, 1}, {96, 12, 0}, {0, 48, 1}};
    struct decoder *dc = decoder_new();
    struct packet p;
    uint8_t dg[108], f[200];
    uint32_t i, n;
    enum decode_result r;

    udp_dgram(dg, 1234, 5353, 100, NULL, NULL);
    for (i = 0; i < 3; i++) {
        memset(&p, 0, sizeof p);
        n = frame4(f, 0x4242, 17, dg, cut[i][0], cut[i][1], (int)cut[i][2]);
        r = decode_packet(dc, &p, f, n, n, (1 + i) * SEC);
        assert_int_equal(r, i < 2 ? DECODE_HELD : DECODE_OK);
    }
    memset(f, 0, sizeof f);         /* the result must not point into the frame */
    assert_true(p.flags & PKT_F_REASSEMBLED);
    assert_true(p.flags & PKT_F_HAS_PORTS);
    assert_int_equal(p.ip_version, 4);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.sport, 1234);
    assert_int_equal(p.dport, 5353);
    assert_int_equal(p.l3_len, 20 + 108);
    assert_int_equal(p.l4_len, 108);
    assert_int_equal(p.payload_len, 100);
    assert_memory_equal(p.payload, dg + 8, 100);
    assert_int_equal(dc->stats.frag_ipv4, 3);
    assert_int_equal(dc->stats.reassembled_ipv4, 1);
    assert_int_equal(dc->stats.invalid, 0);
    decoder_del(dc);
}

static void test_decode_ipv4_tcp(void **state)
{
    struct decoder *dc = decoder_new();
    struct packet p;
    uint8_t dg[220], f[200];
    uint32_t off, len, n;
    enum decode_result r;

    memset(dg, 0, 20);
    dg[0] = 40000 >> 8;
    dg[1] = 40000 & 0xff;
    dg[3] = 80;
    dg[7] = 1;                      /* seq 1 */
    dg[12] = 5 << 4;
    dg[13] = TH_PSH | TH_ACK;
    dg[15] = 0xff;
    pattern(dg + 20, 200, 22);
    for (off = 0; off < sizeof dg; off += len) {
        len = sizeof dg - off > 64 ? 64 : (uint32_t)sizeof dg - off;
        memset(&p, 0, sizeof p);
        n = frame4(f, 0x77, 6, dg, off, len, off + len < sizeof dg);
        r = decode_packet(dc, &p, f, n, n, SEC);
        assert_int_equal(r, off + len < sizeof dg ? DECODE_HELD : DECODE_OK);
    }
    assert_true(p.flags & PKT_F_REASSEMBLED);
    assert_int_equal(p.proto, 6);
    assert_int_equal(p.sport, 40000);
    assert_int_equal(p.dport, 80);
    assert_int_equal(p.tcp_flags, TH_PSH | TH_ACK);
    assert_int_equal(p.tcp_seq, 1);
    assert_int_equal(p.payload_len, 200);
    assert_memory_equal(p.payload, dg + 20, 200);
    assert_int_equal(dc->stats.reassembled_ipv4, 1);
    decoder_del(dc);
}

static void test_decode_ipv6_udp_exthdr(void **state)
{
    struct decoder *dc = decoder_new();
    struct packet p;
    uint8_t dg[108], f[200];
    uint32_t n;

    udp_dgram(dg, 5353, 53, 100, s6, d6);
    memset(&p, 0, sizeof p);
    n = frame6(f, 0xabcdef01, 17, 8, dg, 56, 52, 0);
    assert_int_equal(decode_packet(dc, &p, f, n, n, SEC), DECODE_HELD);
    memset(&p, 0, sizeof p);
    n = frame6(f, 0xabcdef01, 17, 8, dg, 0, 56, 1);
    assert_int_equal(decode_packet(dc, &p, f, n, n, SEC), DECODE_OK);
    assert_true(p.flags & PKT_F_REASSEMBLED);
    assert_int_equal(p.ip_version, 6);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.sport, 5353);
    assert_int_equal(p.dport, 53);
    assert_int_equal(p.l3_len, 40 + 8 + 108);
    assert_int_equal(p.l4_len, 108);
    assert_int_equal(p.payload_len, 100);
    assert_memory_equal(p.payload, dg + 8, 100);
    assert_int_equal(lw_get16(p.l3 + 4), 8 + 108);
    assert_int_equal(p.l3[40], 17);     /* hop-by-hop now names UDP */
    assert_int_equal(dc->stats.frag_ipv6, 2);
    assert_int_equal(dc->stats.reassembled_ipv6, 1);
    assert_int_equal(dc->stats.invalid, 0);
    decoder_del(dc);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_in_order),
        cmocka_unit_test(test_ipv4_reverse),
        cmocka_unit_test(test_ipv4_shuffled),
        cmocka_unit_test(test_missing_piece_times_out),
        cmocka_unit_test(test_lazy_timeout_on_lookup),
        cmocka_unit_test(test_ipv4_overlap_first_wins),
        cmocka_unit_test(test_ipv6_overlap_drops),
        cmocka_unit_test(test_duplicate),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_bad_len),
        cmocka_unit_test(test_memcap),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_many_concurrent),
        cmocka_unit_test(test_key_separation),
        cmocka_unit_test(test_ipv4_options_checksum),
        cmocka_unit_test(test_ipv6_nh),
        cmocka_unit_test(test_expire_many),
        cmocka_unit_test(test_random_mix),
        cmocka_unit_test(test_free_with_pending),
#ifdef TEST_WITH_DECODER
        cmocka_unit_test(test_decode_ipv4_udp),
        cmocka_unit_test(test_decode_ipv4_tcp),
        cmocka_unit_test(test_decode_ipv6_udp_exthdr),
#endif
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
