/* fuzz_defrag.c - libFuzzer target: a sequence of frames through one
 * decoder with reassembly on and tight limits, so fragments of IPv4 and
 * IPv6 datagrams (overlaps, holes, oversize, too many trackers) meet.
 * Checks the memory cap after every frame. Input: see fuzz-common.h. */
#include <stdlib.h>

#include "defrag.h"
#include "fuzz-common.h"
#include "packet-t.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct defrag_config dcfg = {
        .max_trackers = 8, .memcap = 16384, .timeout_sec = 2, .max_datagram = 65535 + 60,
    };
    struct decoder dc;
    struct packet p;
    const uint8_t *frame;
    uint32_t len;
    uint64_t ts = 1000000;

    if (size < 1 || decoder_init(&dc, fuzz_dlt(data[0]), &dcfg) < 0)
        return 0;
    data++;
    size--;
    while (fuzz_next_frame(&data, &size, &frame, &len)) {
        memset(&p, 0, sizeof p);
        decode_packet(&dc, &p, frame, len, len, ts);
        if (defrag_memuse(dc.defrag) > dcfg.memcap || defrag_trackers(dc.defrag) > dcfg.max_trackers)
            abort();                   /* the bounds are the point of the defragmenter */
        ts += 500000;
        if (len && frame[0] == 0xff)
            decoder_expire(&dc, ts);
    }
    decoder_destroy(&dc);
    return 0;
}
