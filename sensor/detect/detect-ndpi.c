/* detect-ndpi.c - the buffers nDPI's per-flow summary (struct dpi_result)
 * fills: one value per flow, for the flow's summary (no transaction). */
#include <stdio.h>
#include <string.h>

#include "detect-buffer.h"
#include "dpi.h"

/* "SSH-2.0-OpenSSH_8.9": the protocol ("2.0") or the software part. */
static const char *ssh_part(const char *banner, int software, size_t *n)
{
    const char *v, *dash;

    if (strncmp(banner, "SSH-", 4) != 0) {
        *n = strlen(banner);
        return software ? banner : NULL;
    }
    v = banner + 4;
    dash = strchr(v, '-');
    if (!software) {
        *n = dash ? (size_t)(dash - v) : strlen(v);
        return v;
    }
    v = dash ? dash + 1 : v + strlen(v);
    *n = strlen(v);
    return v;
}

/* The text of buffer b, NULL when the flow has none. */
static const char *text_of(const struct dpi_result *dr, unsigned b, uint8_t dir, size_t *n,
                           struct detect_bytes *out)
{
    const struct dpi_tls *tls = dr->tls ? dr->tls : dr->quic;
    const char *banner;

    *n = SIZE_MAX;
    switch (b) {
    case RULE_BUF_DNS_QUERY:         return dr->dns ? dr->dns->rrname : NULL;
    case RULE_BUF_TLS_SNI:           return tls ? tls->sni : NULL;
    case RULE_BUF_TLS_CERT_SUBJECT:  return dr->tls ? dr->tls->subject : NULL;
    case RULE_BUF_TLS_CERT_ISSUER:   return dr->tls ? dr->tls->issuerdn : NULL;
    case RULE_BUF_TLS_CERT_FINGERPRINT: return dr->tls ? dr->tls->fingerprint : NULL;
    case RULE_BUF_JA3_HASH:          return tls ? tls->ja3 : NULL;
    case RULE_BUF_JA3S_HASH:         return dr->tls ? dr->tls->ja3s : NULL;
    case RULE_BUF_HTTP_HOST:         return dr->http ? dr->http->hostname : NULL;
    case RULE_BUF_HTTP_URI:          return dr->http ? dr->http->url : NULL;
    case RULE_BUF_HTTP_METHOD:       return dr->http ? dr->http->method : NULL;
    case RULE_BUF_HTTP_USER_AGENT:   return dr->http ? dr->http->user_agent : NULL;
    case RULE_BUF_HTTP_CONTENT_TYPE: return dr->http && dir == 1 ? dr->http->content_type : NULL;
    case RULE_BUF_HTTP_STAT_CODE:
        if (dr->http == NULL || dr->http->status == 0 || dir != 1)
            return NULL;
        *n = (size_t)snprintf((char *)out->small, sizeof out->small, "%u", dr->http->status);
        return (const char *)out->small;
    case RULE_BUF_SSH_SOFTWARE:
    case RULE_BUF_SSH_PROTO:
        if (dr->ssh == NULL)
            return NULL;
        banner = dir == 0 ? dr->ssh->client_version : dr->ssh->server_version;
        return ssh_part(banner, b == RULE_BUF_SSH_SOFTWARE, n);
    case RULE_BUF_SSH_HASSH:         return dr->ssh && dir == 0 ? dr->ssh->hassh_client : NULL;
    case RULE_BUF_SSH_HASSH_SERVER:  return dr->ssh && dir == 1 ? dr->ssh->hassh_server : NULL;
    default:                         return NULL;
    }
}

static int ndpi_get(const struct detect_src *s, unsigned b, uint32_t index, struct detect_bytes *out)
{
    const struct dpi_result *dr = s->f ? dpi_flow_result(s->f) : NULL;
    const char *t;
    size_t n;

    if (dr == NULL || index != 0 || (t = text_of(dr, b, s->dir, &n, out)) == NULL)
        return 0;
    if (n == SIZE_MAX)
        n = strlen(t);
    out->data = (const uint8_t *)t;
    out->len = (uint32_t)n;
    return 1;
}

static int ndpi_value(const struct detect_src *s, unsigned id, uint64_t *out)
{
    const struct dpi_result *dr = s->f ? dpi_flow_result(s->f) : NULL;
    const struct dpi_tls *tls = dr ? (dr->tls ? dr->tls : dr->quic) : NULL;

    if (tls == NULL)
        return 0;
    switch (id) {
    case RULE_VAL_TLS_VERSION:
        *out = tls->version_num;
        return tls->version_num != 0;
    case RULE_VAL_TLS_NOTBEFORE:
        *out = (uint64_t)tls->notbefore;
        return tls->notbefore > 0;
    case RULE_VAL_TLS_NOTAFTER:
        *out = (uint64_t)tls->notafter;
        return tls->notafter > 0;
    default:
        return 0;
    }
}

const struct detect_provider detect_ndpi_provider = {
    .name = "ndpi",
    .tx = 0,
    .bufs = RULE_BUF_BIT(RULE_BUF_DNS_QUERY) | RULE_BUF_BIT(RULE_BUF_TLS_SNI) |
            RULE_BUF_BIT(RULE_BUF_TLS_CERT_SUBJECT) | RULE_BUF_BIT(RULE_BUF_TLS_CERT_ISSUER) |
            RULE_BUF_BIT(RULE_BUF_TLS_CERT_FINGERPRINT) | RULE_BUF_BIT(RULE_BUF_JA3_HASH) |
            RULE_BUF_BIT(RULE_BUF_JA3S_HASH) | RULE_BUF_BIT(RULE_BUF_HTTP_HOST) |
            RULE_BUF_BIT(RULE_BUF_HTTP_URI) | RULE_BUF_BIT(RULE_BUF_HTTP_METHOD) |
            RULE_BUF_BIT(RULE_BUF_HTTP_USER_AGENT) | RULE_BUF_BIT(RULE_BUF_HTTP_CONTENT_TYPE) |
            RULE_BUF_BIT(RULE_BUF_HTTP_STAT_CODE) | RULE_BUF_BIT(RULE_BUF_SSH_SOFTWARE) |
            RULE_BUF_BIT(RULE_BUF_SSH_PROTO) | RULE_BUF_BIT(RULE_BUF_SSH_HASSH) |
            RULE_BUF_BIT(RULE_BUF_SSH_HASSH_SERVER),
    .get = ndpi_get,
    .event = NULL,
    .events_proto = NULL,
    .values = 1u << RULE_VAL_TLS_VERSION | 1u << RULE_VAL_TLS_NOTBEFORE | 1u << RULE_VAL_TLS_NOTAFTER,
    .value = ndpi_value,
};
