/* fuzz_dpi.c - libFuzzer target: frames through decode, the flow table and
 * nDPI (dpi_process), then every flow ended and its metadata (TLS SNI and
 * JA3, HTTP host/URL/user agent, DNS query, SSH banners, QUIC) written as
 * an EVE object, which must be valid JSON. Input: see fuzz-common.h. */
#include <stdlib.h>

#include "dpi.h"
#include "flow-t.h"
#include "flow.h"
#include "fuzz-common.h"
#include "json.h"
#include "packet-t.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dpi_engine *engine;
static struct jbuf jb;

static void on_end(struct flow *f, void *arg)
{
    (void)arg;
    dpi_flow_end(engine, f);
    jbuf_reset(&jb);
    jbuf_open_object(&jb, NULL);
    dpi_eve_write(&jb, f);
    jbuf_close_object(&jb);
    if (jbuf_ok(&jb) && !fuzz_json_ok(jb.buf, jb.len))
        abort();                       /* the EVE writer emitted something that is not JSON */
    dpi_flow_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct defrag_config dcfg = {
        .max_trackers = 8, .memcap = 65536, .timeout_sec = 30, .max_datagram = 65535 + 60,
    };
    struct flow_config fc = { .max_flows = 64, .timeout = { 30, 60, 10, 60, 30 } };
    struct decoder dc;
    struct flow_table *ft;
    struct packet p;
    const uint8_t *frame;
    uint32_t len;
    uint64_t ts = 1000000;

    if (!engine) {
        struct dpi_config cfg = { .enabled = 1, .max_packets = 32 };

        engine = dpi_engine_new(&cfg);
        jbuf_init(&jb);
        if (!engine)
            abort();
    }
    if (size < 1 || decoder_init(&dc, fuzz_dlt(data[0]), &dcfg) < 0)
        return 0;
    ft = flow_table_new(&fc, 0, on_end, NULL);
    if (!ft) {
        decoder_destroy(&dc);
        return 0;
    }
    data++;
    size--;
    while (fuzz_next_frame(&data, &size, &frame, &len)) {
        struct flow *f;

        memset(&p, 0, sizeof p);
        ts += 1000;
        if (decode_packet(&dc, &p, frame, len, len, ts) != DECODE_OK)
            continue;
        if ((f = flow_table_update(ft, &p)) != NULL)
            dpi_process(engine, f, &p);
    }
    flow_table_flush(ft, FLOW_END_SHUTDOWN);
    flow_table_free(ft);
    decoder_destroy(&dc);
    return 0;
}
