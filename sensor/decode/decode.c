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

int decode_event_by_name(const char *name)
{
    for (int i = 0; i < DE_MAX; i++)
        if (strcmp(name, event_names[i]) == 0)
            return i;
    return -1;
}

int decode_event_keeps_packet(enum decode_event e)
{
    return e == DE_TCP_BAD_OPT || (e >= DE_IPV6_USELESS_FH && e <= DE_IPV6_DATA_AFTER_NONE);
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

    STATS_INC(dc->stats.pkts);
    STATS_ADD(dc->stats.bytes, wirelen);
    if (wirelen > dc->stats.max_pkt_size)
        STATS_SET(dc->stats.max_pkt_size, wirelen);

    c.snapped = caplen < wirelen;
    c.slack = c.snapped ? wirelen - caplen : 0;
    r = decode_link(&c, data, caplen);

    for (m = c.layers; m != 0; m &= m - 1)
        STATS_INC(dc->stats.layer[__builtin_ctz(m)]);
    return r;
}

/* ---- counters (stats.decoder.*, stats.defrag.*) */

static uint64_t avg_pkt_size(const void *sum)
{
    const struct decode_stats *d = sum;

    return d->pkts ? d->bytes / d->pkts : 0;
}

#define DEC(member, path, prom, label, help, kind, merge, flags) \
    { path, prom, label, help, (uint32_t)offsetof(struct decode_stats, member), kind, merge, flags, 0, NULL }
#define X_LAYER(id, name) \
    DEC(layer[DECODE_LAYER_##id], "decoder/" name, "linkwatch_decoded_packets_total", "layer=" name, \
        "Packets decoded, by layer.", STATS_COUNTER, STATS_SUM, 0),
#define X_EVENT(id, name) \
    DEC(event[DE_##id], "decoder/event/" name, "linkwatch_decode_events_total", "reason=" name, \
        "Decoder events (malformed input, anomalies), by reason.", STATS_COUNTER, STATS_SUM, STATS_NONZERO),
static const struct stats_field decode_fields[] = {
    DEC(pkts, "decoder/pkts", NULL, NULL, NULL, STATS_COUNTER, STATS_SUM, 0),
    DEC(bytes, "decoder/bytes", NULL, NULL, NULL, STATS_COUNTER, STATS_SUM, 0),
    DEC(invalid, "decoder/invalid", "linkwatch_invalid_packets_total", NULL, "Malformed packets refused.",
        STATS_COUNTER, STATS_SUM, 0),
    DEC(max_pkt_size, "decoder/max_pkt_size", NULL, NULL, NULL, STATS_GAUGE, STATS_MAX, 0),
    { "decoder/avg_pkt_size", NULL, NULL, NULL, 0, STATS_GAUGE, STATS_SUM, 0, 0, avg_pkt_size },
    DECODE_LAYERS(X_LAYER)
    DECODE_EVENTS(X_EVENT)
    DEC(frag_ipv4, "defrag/ipv4/fragments", "linkwatch_defrag_fragments_total", "ip=ipv4",
        "IP fragments seen.", STATS_COUNTER, STATS_SUM, 0),
    DEC(reassembled_ipv4, "defrag/ipv4/reassembled", "linkwatch_defrag_reassembled_total", "ip=ipv4",
        "IP datagrams reassembled from fragments.", STATS_COUNTER, STATS_SUM, 0),
    DEC(frag_ipv6, "defrag/ipv6/fragments", "linkwatch_defrag_fragments_total", "ip=ipv6", NULL,
        STATS_COUNTER, STATS_SUM, 0),
    DEC(reassembled_ipv6, "defrag/ipv6/reassembled", "linkwatch_defrag_reassembled_total", "ip=ipv6", NULL,
        STATS_COUNTER, STATS_SUM, 0),
};
#undef X_LAYER
#undef X_EVENT
#undef DEC

const struct stats_module decode_stats_module = {
    "decode", decode_fields, STATS_NELEM(decode_fields), sizeof(struct decode_stats), NULL
};
