/* util.h - small helpers shared by every stage: addresses and time. */
#ifndef LW_UTIL_H
#define LW_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include "packet-t.h"

#define LW_ADDRSTRLEN 46

/* Formats an address as inet_ntop does (IPv6 compressed). Returns out. */
char *lw_addr_str(const struct lw_addr *a, char *out, size_t outlen);
/* Parses a dotted-quad or IPv6 text address. Returns 0 or -1. */
int lw_addr_parse(const char *s, struct lw_addr *a);
/* Inline: the decoder sets two addresses per packet. */
static inline void lw_addr_set4(struct lw_addr *a, const uint8_t *b4)
{
    memset(a, 0, sizeof *a);
    a->family = 4;
    memcpy(a->u.b, b4, 4);
}

static inline void lw_addr_set6(struct lw_addr *a, const uint8_t *b16)
{
    memset(a, 0, sizeof *a);
    a->family = 6;
    memcpy(a->u.b, b16, 16);
}

/* -1, 0, 1 ordering over family then bytes (memcmp's order, compared a
 * big-endian word at a time). */
static inline int lw_addr_cmp(const struct lw_addr *a, const struct lw_addr *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    for (int i = 0; i < 16; i += 4) {
        const uint8_t *x = a->u.b + i, *y = b->u.b + i;
        uint32_t wx = (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 | (uint32_t)x[2] << 8 | x[3];
        uint32_t wy = (uint32_t)y[0] << 24 | (uint32_t)y[1] << 16 | (uint32_t)y[2] << 8 | y[3];

        if (wx != wy)
            return wx < wy ? -1 : 1;
    }
    return 0;
}
/* 1 when a and b are the same address (family and all 16 bytes). */
static inline int lw_addr_eq(const struct lw_addr *a, const struct lw_addr *b)
{
    return a->family == b->family &&
           ((a->u.w[0] ^ b->u.w[0]) | (a->u.w[1] ^ b->u.w[1]) |
            (a->u.w[2] ^ b->u.w[2]) | (a->u.w[3] ^ b->u.w[3])) == 0;
}

/* One X-Forwarded-For entry [s, s+len): spaces and tabs around it are
 * ignored, and so is a port ("192.0.2.1:8080", "[2001:db8::1]:443"); an
 * IPv6 address may be bracketed. Returns 0, or -1 when it is no address. */
int lw_xff_entry(const char *s, size_t len, struct lw_addr *out);
/* The address an X-Forwarded-For value gives: its first entry (last == 0:
 * a forward proxy's list, the client first) or its last (last == 1: behind
 * a reverse proxy, which appends the peer it saw). Empty entries are
 * skipped. Returns 0, or -1 when that entry is no address. */
int lw_xff_pick(const char *v, size_t len, int last, struct lw_addr *out);

/* A CIDR: address plus prefix length. */
struct lw_cidr {
    struct lw_addr addr;     /* bits past the prefix are zeroed */
    uint8_t prefix;
};
/* Parses "10.0.0.0/8", "2001:db8::/32" or a bare address (full prefix). */
int lw_cidr_parse(const char *s, struct lw_cidr *c);
int lw_cidr_contains(const struct lw_cidr *c, const struct lw_addr *a);

/* Parses a time: Unix seconds ("1718000000") or "YYYY-MM-DDTHH:MM[:SS][.frac]"
 * in UTC, optionally ending in "Z", "+0000" or "+00:00" (EVE's timestamp is
 * one of these). Into *usec: microseconds since the epoch (fraction digits
 * past the sixth are dropped). Returns 0, or -1 for anything else. */
int lw_time_parse(const char *s, int64_t *usec);

/* 64-bit finaliser (murmur3 fmix64): a cheap, well-mixed hash step. */
static inline uint64_t lw_mix64(uint64_t x)
{
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33; return x;
}

/* A transparent huge page (x86-64): what lw_table_alloc and the slab align to. */
#define LW_HUGE_PAGE ((size_t)2 << 20)

/* Zeroed memory for a large table read at random (the flow pool, the flow
 * hash buckets). Pages become resident only when touched, as with calloc,
 * but a table of 2 MiB or more is 2 MiB-aligned and marked for transparent
 * huge pages: its first touches fault a 2 MiB page at a time instead of 4 KiB
 * (512 times fewer faults while a table fills) and its lookups miss the TLB
 * less. Under AddressSanitizer it is plain calloc, so bounds stay checked.
 * Free with lw_table_free() and the same size. NULL when out of memory. */
void *lw_table_alloc(size_t size);
void lw_table_free(void *p, size_t size);

/* Monotonic wall clock in microseconds (for uptimes, not packet time). */
uint64_t lw_now_mono_usec(void);
/* Real time in microseconds since the epoch. */
uint64_t lw_now_real_usec(void);
/* Sends all n bytes on a socket (no SIGPIPE), retrying short sends and
 * EINTR. Returns 0, or -1 when the peer is gone or the send failed. */
int lw_send_all(int fd, const void *p, size_t n);
/* name itself when it is absolute, else "dir/name": a new string the caller
 * frees, or NULL when out of memory. */
char *lw_join_path(const char *dir, const char *name);

/* A user name, else a decimal id, into its uid and primary gid (a number
 * /etc does not name: that number for both). Returns 0 or -1. */
int lw_lookup_user(const char *name, uid_t *uid, gid_t *gid);
/* A decimal user or group id below (uid_t)-1. Returns 0 or -1. */
int lw_parse_id(const char *text, unsigned long *id);

/* This process's resident set size in bytes (0 when unknown). */
int64_t lw_rss_bytes(void);

static inline uint16_t lw_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t lw_get24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }
static inline uint32_t lw_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
