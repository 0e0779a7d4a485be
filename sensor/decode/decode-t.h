/* decode-t.h - the decoder's types: its layers and events (named once, in
 * decode-events.h) and its counters. Included by the decoder and the
 * defragmenter, which counts into the same struct. */
#ifndef LW_DECODE_T_H
#define LW_DECODE_T_H

#include <stdint.h>
#include "decode-events.h"

#define X_ENUM(id, name) DECODE_LAYER_##id,
enum decode_layer { DECODE_LAYERS(X_ENUM) DECODE_LAYER_MAX };
#undef X_ENUM
#define X_ENUM(id, name) DE_##id,
enum decode_event { DECODE_EVENTS(X_ENUM) DE_MAX };
#undef X_ENUM

struct decode_stats {
    uint64_t pkts;
    uint64_t bytes;                     /* wire bytes */
    uint64_t invalid;                   /* packets refused (sum over events) */
    uint64_t max_pkt_size;
    uint64_t layer[DECODE_LAYER_MAX];
    uint64_t event[DE_MAX];
    /* defragmentation (stats.defrag.*) */
    uint64_t frag_ipv4, frag_ipv6;          /* fragments seen */
    uint64_t reassembled_ipv4, reassembled_ipv6;
};

#endif
