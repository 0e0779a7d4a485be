/* stream.h - TCP stream reassembly for detection, per flow and direction.
 *
 * Each TCP flow gets, with its first data packet (handshakes and scans
 * cost no state), a struct stream_flow on f->stream: per direction the
 * sequence number of stream offset 0, the in-order end `next', and one
 * buffer holding recent in-order bytes plus the out-of-order segments held
 * past a hole. Offset 0 is the byte after the direction's SYN: the ISNs
 * of a handshake wait in a small direct-mapped cache (STREAM_SYN_SLOTS
 * slots, a later handshake may take the slot) until the first data.
 * Without them the first data packet's own byte starts its direction and
 * its acknowledgement number the other one; bytes before offset 0 that
 * arrive later are then ignored. Directions whose SYN was not seen are
 * counted as mid-stream pickups. Offsets are 64-bit, so sequence numbers
 * wrap freely.
 *
 * Policy, per direction:
 *   - first wins: a byte once received (in order or held out of order) is
 *     never replaced; a segment that brings bytes already had is counted as
 *     an overlap with the same or with different data (different data is
 *     what evasion attempts look like; the first copy is what is inspected);
 *   - out-of-order segments are held while they end within ooo_limit bytes
 *     of `next' (and in at most STREAM_MAX_RANGES separate ranges); a
 *     segment beyond that does not wait: the first hole is declared a gap
 *     (counted, its bytes skipped) and the held data after it moves on;
 *   - a hole is also declared a gap when the other side acknowledges bytes
 *     beyond it (the sensor missed them: capture loss);
 *   - a gap resets the history: no match spans a gap;
 *   - FIN marks the end: bytes past it are ignored. An RST whose sequence
 *     number lies in [next, next + ooo_limit] ends reassembly both ways
 *     (other RSTs are counted and ignored, they may be spoofed to blind the
 *     sensor). A SYN with a new ISN restarts its direction (port reuse);
 *   - after `depth' bytes of a direction (0: no limit) nothing more is
 *     reassembled, the direction's buffer is released and the direction's
 *     payload inspection stops (stream_chunk() says STREAM_STOPPED).
 *
 * Memory: flow state and buffers come from per-context pools (buffers in
 * power-of-two sizes, cached when released), all counted against memcap.
 * When memcap would be passed, cached memory goes first, then the buffers of
 * the directions least recently given data (CLOCK order: a direction given
 * data since the sweep last passed gets a second chance) are evicted
 * (counted): such a direction loses its history and held segments but
 * keeps its sequence tracking. Without any memory left, in-order data is still handed to
 * detection straight from the packet (no history); held segments are lost.
 * Nothing is allocated per packet once a flow's buffer has its size.
 *
 * One context per worker (no locks); flows must be freed with
 * stream_flow_free() by the same context.
 */
#ifndef LW_STREAM_H
#define LW_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include "flow-t.h"
#include "packet-t.h"
#include "stats.h"

/* Separate held ranges of out-of-order data per direction. */
#define STREAM_MAX_RANGES 8

struct stream_config {
    uint64_t depth;          /* bytes reassembled per direction; 0: no limit */
    uint64_t memcap;         /* bytes of state and buffers, this context */
    uint32_t window;         /* already inspected bytes kept before new data */
    uint32_t ooo_limit;      /* bytes past `next' that out-of-order data may reach */
};

struct stream_stats {
    uint64_t sessions;         /* TCP flows given stream state */
    uint64_t midstream;        /* directions picked up without their SYN */
    uint64_t reassembled;      /* bytes made in-order and handed to detection */
    uint64_t ooo_segments;     /* segments held out of order */
    uint64_t ooo_dropped;      /* out-of-order segments that could not be held */
    uint64_t gaps;             /* holes declared lost */
    uint64_t gap_bytes;        /* bytes skipped by them */
    uint64_t overlaps_same;    /* segments re-sending bytes already had, same data */
    uint64_t overlaps_diff;    /* ... with different data (first copy kept) */
    uint64_t depth_reached;    /* directions that reached depth */
    uint64_t resets;           /* RSTs accepted */
    uint64_t rst_ignored;      /* RSTs outside the expected sequence range */
    uint64_t bad_timestamps;   /* handshake answers echoing a timestamp no SYN sent (ignored) */
    uint64_t evictions;        /* buffers dropped to stay under memcap */
    uint64_t memcap_fail;      /* no memory even after evicting: no state, or no buffer */
    uint64_t memuse;           /* bytes in use now (state, buffers, caches) */
    uint64_t memuse_max;
};
extern const struct stats_module stream_stats_module;

/* What stream_chunk() found for a packet. */
enum stream_verdict {
    STREAM_OFF = 0,      /* not reassembled (not TCP, reassembly off, no state):
                          * match the packet's payload as it is */
    STREAM_NODATA,       /* reassembled, but this packet added no in-order data
                          * (retransmission, held out of order, pure ACK, after FIN/RST) */
    STREAM_DATA,         /* the chunk holds new in-order data */
    STREAM_STOPPED,      /* depth reached: no more payload inspection this direction */
};

/* In-order data of a packet: data[0, hist) was inspected before (at most
 * window bytes, none right after a gap), data[hist, len) is new. offset is
 * the stream offset of data[0]. exact: the new data is the packet's whole
 * payload, byte for byte (in order, no overlap, nothing cut or merged).
 * Valid until the next packet of the worker. */
struct stream_chunk {
    const uint8_t *data;
    uint32_t hist;
    uint32_t len;
    uint64_t offset;
    int exact;
    uint32_t window;         /* the most history any chunk has (the config's) */
};

struct stream_ctx;

/* Creates a context. Returns NULL when out of memory. */
struct stream_ctx *stream_ctx_new(const struct stream_config *cfg);
/* States and buffers come from slab (the worker's per-flow memory, slab.h)
 * from then on instead of malloc; call before the first packet. A
 * slab-backed buffer takes only the room its bytes need and grows up to
 * its size class, so memcap counts (and stream.memuse reports) the classes
 * while the resident memory follows the bytes held. */
struct lw_slab;
void stream_ctx_set_slab(struct stream_ctx *s, struct lw_slab *slab);
/* Frees the context and its caches; every flow must have been freed. */
void stream_ctx_free(struct stream_ctx *s);
const struct stream_stats *stream_ctx_stats(const struct stream_ctx *s);

/* Feeds one decoded packet of flow f (after flow_table_update(), which set
 * p->dir). Non-TCP packets are ignored. Creates f->stream when needed. */
void stream_packet(struct stream_ctx *s, struct flow *f, const struct packet *p);

/* The in-order data packet p (the latest packet fed for its direction)
 * added to its flow. Fills c for STREAM_DATA. */
enum stream_verdict stream_chunk(const struct flow *f, const struct packet *p,
                                 struct stream_chunk *c);

/* Whether direction dir of f has ended: its FIN's bytes are all in, or an
 * RST was accepted (not: stream.depth was reached). */
int stream_dir_closed(const struct flow *f, unsigned dir);
/* Anomalies of the latest packet fed for p's direction (stream-event). */
#define STREAM_EV_OVERLAP_DIFF 0x01u   /* it re-sent bytes already had with other data */
#define STREAM_EV_GAP          0x02u   /* a hole before its data was declared lost */
#define STREAM_EV_RST_IGNORED  0x04u   /* an RST outside the expected sequence range */
#define STREAM_EV_RST_INJECT   0x08u   /* data after an RST (the flow's first such packet) */
#define STREAM_EV_BAD_TS       0x10u   /* a timestamp echo that answers no SYN of the peer's */

/* STREAM_EV_* of p, the latest packet fed for its direction (0 when it was
 * not, or the flow has no stream state). */
unsigned stream_events(const struct flow *f, const struct packet *p);

/* The bytes each side of TCP flow f sent so far as Suricata's stream_size
 * counts them (next sequence number minus the initial one, the SYN
 * counting one): out[0] the initiator's, out[1] the responder's. A side
 * without stream state counts 1 when its SYN was seen, else 0. */
void stream_sizes(const struct flow *f, uint64_t out[2]);

/* Releases f->stream (safe when there is none) and sets it to NULL. */
void stream_flow_free(struct stream_ctx *s, struct flow *f);

#endif
