/* detect-buffer.c - the buffer providers and the seam the engine gets
 * sticky buffers through (detect-buffer.h). */
#include <string.h>

#include "detect-buffer.h"
#include "rule-buffers.h"

/* Every provider, transaction providers first. Plugging in an
 * application-layer parser is one line here. */
static const struct detect_provider *const providers[] = {
    &detect_http_provider,
    &detect_dns_provider,
    &detect_tls_provider,
    &detect_ssh_provider,
    &detect_smb_provider,
    &detect_ftp_provider,
    &detect_ftpdata_provider,
    &detect_ndpi_provider,
};

#define NPROVIDERS (sizeof providers / sizeof providers[0])

const struct detect_provider *const *detect_providers(size_t *n)
{
    *n = NPROVIDERS;
    return providers;
}

int detect_buffer_get(const struct detect_src *s, unsigned b, uint32_t index, struct detect_bytes *out)
{
    for (size_t i = 0; i < NPROVIDERS; i++) {
        const struct detect_provider *pv = providers[i];

        if ((pv->bufs & RULE_BUF_BIT(b)) && (pv->tx != 0) == (s->tx != NULL) &&
            pv->get(s, b, index, out))
            return 1;
    }
    return 0;
}

int detect_value_get(const struct detect_src *s, unsigned id, uint64_t *out)
{
    for (size_t i = 0; i < NPROVIDERS; i++) {
        const struct detect_provider *pv = providers[i];

        if ((pv->values & (1u << id)) && (pv->tx != 0) == (s->tx != NULL) && pv->value(s, id, out))
            return 1;
    }
    return 0;
}

int detect_event_seen(const struct detect_src *s, const char *name)
{
    for (size_t i = 0; i < NPROVIDERS; i++)
        if (providers[i]->event && providers[i]->event(s, name))
            return 1;
    return 0;
}

/* Whether a transaction provider exists for protocol proto. */
static int proto_plugged(const char *proto)
{
    for (size_t i = 0; i < NPROVIDERS; i++) {
        const struct detect_provider *pv = providers[i];

        if (!pv->tx)
            continue;
        for (unsigned b = 1; b < RULE_BUF_COUNT; b++) {
            const char *bp = rule_buffer_info(b)->proto;

            if ((pv->bufs & RULE_BUF_BIT(b)) && bp && strcmp(bp, proto) == 0)
                return 1;
        }
    }
    return 0;
}

enum detect_fill detect_buffer_state(unsigned b)
{
    const char *proto = b < RULE_BUF_COUNT ? rule_buffer_info(b)->proto : NULL;

    for (size_t i = 0; i < NPROVIDERS; i++)
        if (providers[i]->bufs & RULE_BUF_BIT(b))
            return DETECT_FILLED;
    if (b == RULE_BUF_PAYLOAD || b == RULE_BUF_BASE64)
        return DETECT_FILLED;
    return proto && proto_plugged(strcmp(proto, "file") == 0 ? "http" : proto) ? DETECT_UNFILLED
                                                                               : DETECT_PENDING;
}

enum detect_fill detect_events_state(const char *proto)
{
    for (size_t i = 0; i < NPROVIDERS; i++)
        if (providers[i]->event && providers[i]->events_proto &&
            strcmp(providers[i]->events_proto, proto) == 0)
            return DETECT_FILLED;
    return proto_plugged(proto) ? DETECT_UNFILLED : DETECT_PENDING;
}

enum detect_fill detect_value_state(unsigned id)
{
    static const char *const proto[RULE_VAL_COUNT] = {
        [RULE_VAL_TLS_VERSION] = "tls", [RULE_VAL_TLS_NOTBEFORE] = "tls",
        [RULE_VAL_TLS_NOTAFTER] = "tls", [RULE_VAL_DNS_OPCODE] = "dns", [RULE_VAL_FILESIZE] = "file",
        [RULE_VAL_FTPDATA_COMMAND] = "ftp-data",
    };

    for (size_t i = 0; i < NPROVIDERS; i++)
        if (providers[i]->values & (1u << id))
            return DETECT_FILLED;
    return id < RULE_VAL_COUNT && proto_plugged(proto[id]) ? DETECT_UNFILLED : DETECT_PENDING;
}
