/* fuzz_decode.c - libFuzzer target: one frame of any supported link type
 * through decode_packet() (every encapsulation: VLAN, MPLS, PPPoE, GRE,
 * ERSPAN, VXLAN, Geneve, IP-in-IP, Teredo, GTP; IPv4/IPv6 options and
 * extension headers; TCP/UDP/SCTP/ICMP). Input: selector byte, then the frame. */
#include "fuzz-common.h"
#include "packet-t.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct decoder dc;
    struct packet p;

    if (size < 1)
        return 0;
    if (decoder_init(&dc, fuzz_dlt(data[0]), NULL) < 0)
        return 0;
    memset(&p, 0, sizeof p);
    /* wirelen above caplen: a snapped frame must be told apart from a short one */
    decode_packet(&dc, &p, data + 1, (uint32_t)(size - 1), (uint32_t)(size - 1) + (data[0] & 0x80 ? 100 : 0),
                  1000000);
    decoder_destroy(&dc);
    return 0;
}
