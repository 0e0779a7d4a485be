/* worker.c - the per-worker packet pipeline; see worker.h. */
#include <stdio.h>
#include <string.h>

#include "worker.h"
#include "eve.h"
#include "log.h"

/* Timeouts are checked once per second of capture time: cheap, and finer than any timeout. */
#define EXPIRE_STEP_USEC 1000000u

static void worker_flow_end(struct flow *f, void *arg)
{
    struct worker *w = arg;

    if (!output_wants(w->out, EVT_FLOW))
        return;
    jbuf_reset(&w->jb);
    eve_flow_event(&w->jb, w->cfg->sensor_id, f);
    if (jbuf_ok(&w->jb))
        output_event(w->out, EVT_FLOW, w->jb.buf, w->jb.len);
}

int worker_init(struct worker *w, unsigned id, const struct lw_config *cfg,
                struct output *out, int dlt, char *err, size_t errlen)
{
    struct defrag_config dcfg = {
        .max_trackers = cfg->defrag.max_trackers,
        .memcap = cfg->defrag.memcap,
        .timeout_sec = cfg->defrag.timeout,
        .max_datagram = cfg->defrag.max_datagram,
    };
    struct flow_config fcfg = {
        .max_flows = cfg->flow.max_flows,
        .timeout = {
            [FLOW_TC_NEW] = cfg->flow.timeout_tcp_new,
            [FLOW_TC_ESTABLISHED] = cfg->flow.timeout_tcp_established,
            [FLOW_TC_CLOSED] = cfg->flow.timeout_tcp_closed,
            [FLOW_TC_UDP] = cfg->flow.timeout_udp,
            [FLOW_TC_DEFAULT] = cfg->flow.timeout_default,
        },
    };

    memset(w, 0, sizeof *w);
    w->id = id;
    w->cfg = cfg;
    w->out = out;
    jbuf_init(&w->jb);
    if (decoder_init(&w->dec, dlt, &dcfg) < 0) {
        snprintf(err, errlen, "worker %u: no memory for the defragmenter", id);
        goto fail;
    }
    w->flows = flow_table_new(&fcfg, id, worker_flow_end, w);
    if (!w->flows) {
        snprintf(err, errlen, "worker %u: no memory for %u flows (flow.max-flows)", id, fcfg.max_flows);
        goto fail_dec;
    }
    return 0;
fail_dec:
    decoder_destroy(&w->dec);
fail:
    jbuf_free(&w->jb);
    return -1;
}

void worker_destroy(struct worker *w)
{
    flow_table_free(w->flows);
    w->flows = NULL;
    decoder_destroy(&w->dec);
    jbuf_free(&w->jb);
}

void worker_set_datalink(struct worker *w, int dlt)
{
    w->dec.datalink = dlt;
}

static void worker_tick(struct worker *w)
{
    if (w->now < w->next_expire)
        return;
    flow_table_expire(w->flows, w->now);
    decoder_expire(&w->dec, w->now);
    w->next_expire = w->now + EXPIRE_STEP_USEC;
}

void worker_packet(struct worker *w, const uint8_t *data, uint32_t caplen,
                   uint32_t wirelen, uint64_t ts_usec)
{
    struct packet *p = &w->pkt;
    struct flow *f;

    if (ts_usec > w->now)
        w->now = ts_usec;
    worker_tick(w);
    if (decode_packet(&w->dec, p, data, caplen, wirelen, ts_usec) != DECODE_OK)
        return;
    f = flow_table_update(w->flows, p);
    if (!f)
        return;
    if (f->pkts[0] + f->pkts[1] == 1 && (f->key.proto == 1 || f->key.proto == 58)) {
        f->icmp_type = p->icmp_type;
        f->icmp_code = p->icmp_code;
    }
}

void worker_flush(struct worker *w, enum flow_end_reason why)
{
    flow_table_flush(w->flows, why);
}
