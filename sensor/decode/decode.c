/* decode.c - packet decoder entry points: names, link dispatch, counters. */
#include <string.h>
#include <pcap/dlt.h>

#include "decode-int.h"
#include "defrag.h"

/* The link-type number in capture files for raw IP; libpcap maps it to DLT_RAW
 * when reading, but a caller may hand it over as is. */
#define LINKTYPE_RAW 101

#define X_NAME(id, name) name,
static const char *const layer_names[] = { DECODE_LAYERS(X_NAME) };
static const char *const event_names[] = { DECODE_EVENTS(X_NAME) };
#undef X_NAME

const char *decode_layer_name(enum decode_layer l)
{
    if ((unsigned)l >= DECODE_LAYER_MAX)
        return "unknown";
    return layer_names[l];
}

const char *decode_event_name(enum decode_event e)
{
    if ((unsigned)e >= DE_MAX)
        return "unknown";
    return event_names[e];
}

int decode_datalink_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_RAW:
    case LINKTYPE_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_NULL:
    case DLT_LOOP:
    case DLT_PPP:
    case DLT_C_HDLC:
        return 1;
    }
    return 0;
}

/* Sets up dc for link type dlt; the defragmenter only when dcfg is given.
 * Returns -1, with dc holding nothing, when the defragmenter cannot be had. */
int decoder_init(struct decoder *dc, int dlt, const struct defrag_config *dcfg)
{
    memset(dc, 0, sizeof(*dc));
    dc->datalink = dlt;
    if (dcfg != NULL) {
        dc->defrag = defrag_new(dcfg);
        if (dc->defrag == NULL)
            return -1;
    }
    return 0;
}

void decoder_destroy(struct decoder *dc)
{
    defrag_free(dc->defrag);
    dc->defrag = NULL;
}

void decoder_expire(struct decoder *dc, uint64_t now_usec)
{
    if (dc->defrag != NULL)
        defrag_expire(dc->defrag, &dc->stats, now_usec);
}

static enum decode_result decode_link(struct dctx *c, const uint8_t *b, uint32_t len)
{
    switch (c->dc->datalink) {
    case DLT_EN10MB:
        return decode_ethernet(c, b, len);
    case DLT_LINUX_SLL:
        return decode_sll(c, b, len);
    case DLT_LINUX_SLL2:
        return decode_sll2(c, b, len);
    case DLT_RAW:
    case LINKTYPE_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        return decode_raw(c, b, len);
    case DLT_NULL:
    case DLT_LOOP:
        return decode_null(c, b, len);
    case DLT_PPP:
        return decode_ppp(c, b, len);
    case DLT_C_HDLC:
        return decode_chdlc(c, b, len);
    }
    return decode_fail(c, DE_LINK_UNSUPPORTED);
}

/* Decodes one frame into p (see decode.h). Allocates nothing: all state lives
 * in p and on this stack frame, layers are counted once each at the end. */
enum decode_result decode_packet(struct decoder *dc, struct packet *p,
                                 const uint8_t *data, uint32_t caplen,
                                 uint32_t wirelen, uint64_t ts_usec)
{
    struct dctx c = { .dc = dc, .p = p, .ts = ts_usec };
    enum decode_result r;
    uint32_t m;

    memset(p, 0, sizeof(*p));
    p->data = data;
    p->caplen = caplen;
    p->wirelen = wirelen;
    p->ts = ts_usec;
    p->datalink = dc->datalink;

    dc->stats.pkts++;
    dc->stats.bytes += wirelen;
    if (wirelen > dc->stats.max_pkt_size)
        dc->stats.max_pkt_size = wirelen;

    c.snapped = caplen < wirelen;
    c.slack = c.snapped ? wirelen - caplen : 0;
    r = decode_link(&c, data, caplen);

    for (m = c.layers; m != 0; m &= m - 1)
        dc->stats.layer[__builtin_ctz(m)]++;
    return r;
}
