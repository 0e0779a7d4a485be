/* defrag.h - IPv4 and IPv6 fragment reassembly, bounded in trackers, bytes
 * and time.
 *
 * Policy on overlaps: first fragment wins (the bytes already held are kept,
 * later bytes for the same offsets are ignored), as Linux does for IPv4 since
 * 2018 and as RFC 5722 requires IPv6 to drop the datagram: an IPv6 datagram
 * with overlapping fragments is dropped whole. Every overlap is counted.
 */
#ifndef LW_DEFRAG_H
#define LW_DEFRAG_H

#include <stddef.h>
#include <stdint.h>
#include "decode-t.h"
#include "packet-t.h"

/* Fragment reassembly limits, from the config's `defrag` section. */
struct defrag_config {
    uint32_t max_trackers;     /* datagrams being reassembled at once */
    uint64_t memcap;           /* bytes held in fragments, all trackers */
    uint32_t timeout_sec;      /* a datagram not complete after this is dropped */
    uint32_t max_datagram;     /* largest reassembled datagram (<= 65535 + header) */
};

/* Creates a reassembly table. Returns NULL when memory cannot be had. */
struct defrag *defrag_new(const struct defrag_config *cfg);
void defrag_free(struct defrag *d);

/* Where a fragment came from, identifying the datagram it belongs to. */
struct frag_key {
    struct lw_addr src, dst;
    uint32_t id;              /* IPv4 id (16 bits) or IPv6 fragment id */
    uint8_t  proto;           /* IPv4 protocol / IPv6 next header after the fragment header */
    uint8_t  ip_version;
    uint16_t vlan[PKT_MAX_VLANS];
    uint32_t tunnel_id;
};

/* Adds one fragment: payload bytes [offset, offset+len) of the datagram, more
 * says whether more fragments follow. hdr/hdr_len is the unfragmentable part
 * (IPv4 header, or IPv6 header plus extension headers before the fragment
 * header), taken from the fragment with offset 0. For IPv6, nh_off is the
 * offset in hdr of the next-header byte that named the fragment header (6 when
 * the fragment header follows the fixed header); ignored for IPv4.
 *
 * Returns 1 when the datagram is complete: *out points to a buffer holding the
 * whole datagram with a rewritten IP header (total/payload length set,
 * fragment fields cleared; for IPv6 the fragment header removed) and *out_len
 * its length; the buffer is valid until the next call. Returns 0 when the
 * fragment is held, -1 when it is refused (the reason counted in st). */
int defrag_add(struct defrag *d, struct decode_stats *st, const struct frag_key *key,
               const uint8_t *hdr, uint32_t hdr_len, uint32_t nh_off,
               const uint8_t *frag, uint32_t offset, uint32_t len, int more,
               uint64_t ts_usec, const uint8_t **out, uint32_t *out_len);

/* The events (enum decode_event) of the fragment the last defrag_add()
 * took: an overlap, or why it was refused, for the fragment's packet
 * (decode-event rules). At most DEFRAG_MAX_EVENTS; *ev is valid until the
 * next call. */
#define DEFRAG_MAX_EVENTS 2
size_t defrag_events(const struct defrag *d, const uint8_t **ev);

/* Drops datagrams whose first fragment is older than the timeout. */
void defrag_expire(struct defrag *d, struct decode_stats *st, uint64_t now_usec);

/* Bytes currently held, for metrics and tests. */
uint64_t defrag_memuse(const struct defrag *d);
uint32_t defrag_trackers(const struct defrag *d);

#endif
