/* dpi.c - the nDPI 4.2 stage: per-flow detection, metadata extraction, EVE members. */
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Ours before nDPI's: packet-t.h's TH_* flags are also defined by the
 * <netinet/tcp.h> nDPI pulls in, and only a system header may redefine them
 * quietly. */
#include "dpi.h"
#include "json.h"
#include "log.h"
#include "slab.h"
#include "util.h"

#include <ndpi_api.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* nDPI's flow struct in 8-byte words (its size is a multiple of 8). */
#define STATE_WORDS (SIZEOF_FLOW_STRUCT / 8)
_Static_assert(SIZEOF_FLOW_STRUCT % 8 == 0 && STATE_WORDS <= 128, "nDPI flow struct packing");
/* Flows whose nDPI struct is kept open (unpacked) at once, per engine. */
#define DPI_OPEN_SLOTS 8

struct dpi_engine {
    struct ndpi_detection_module_struct *ndpi;   /* NULL when disabled */
    uint32_t max_packets;
    struct lw_slab *slab;                         /* NULL: malloc, and flow structs kept whole */
    struct dpi_stats stats;
    /* With a slab, a flow's nDPI struct is kept packed between its packets
     * and opened into one of these for nDPI's calls (see state_open()). */
    struct dpi_open {
        _Alignas(64) uint64_t w[STATE_WORDS];
        struct dpi_result *r;                     /* whose struct is here, not packed back yet; NULL: free */
        struct flow *f;                           /* ... and its flow */
        uint64_t used;                            /* e->uses at its last opening */
    } open[DPI_OPEN_SLOTS];
    uint64_t uses;
};

/* nDPI documents that module creation must not run in parallel. */
static pthread_mutex_t dpi_init_lock = PTHREAD_MUTEX_INITIALIZER;

/* nDPI's allocator hooks are process-wide: what nDPI allocates goes to the
 * slab of the engine whose call runs on this thread (set around every call
 * that may allocate), else to malloc; a block is freed wherever its address
 * says it came from. */
static __thread struct lw_slab *dpi_cur_slab;
static pthread_once_t dpi_hooks_once = PTHREAD_ONCE_INIT;

static void *dpi_malloc_hook(size_t n)
{
    void *p = dpi_cur_slab ? lw_slab_alloc(dpi_cur_slab, n) : NULL;

    return p ? p : malloc(n);
}

static void dpi_free_hook(void *p)
{
    if (dpi_cur_slab && lw_slab_owns(dpi_cur_slab, p))
        lw_slab_free(dpi_cur_slab, p);
    else
        lw_slab_release(p);
}

static void dpi_set_hooks(void)
{
    set_ndpi_malloc(dpi_malloc_hook);
    set_ndpi_free(dpi_free_hook);
}

/* Around nDPI calls of engine e: its allocations go to e's slab. */
static inline struct lw_slab *dpi_enter(const struct dpi_engine *e)
{
    struct lw_slab *prev = dpi_cur_slab;

    dpi_cur_slab = e->slab;
    return prev;
}

static inline void dpi_leave(struct lw_slab *prev)
{
    dpi_cur_slab = prev;
}

/* Copies at most srcmax bytes of src (which need not be terminated within
 * them) into dst of size n, always terminated. NULL src gives "". */
static void copy_bounded(char *dst, size_t n, const char *src, size_t srcmax)
{
    size_t len;

    if (n == 0)
        return;
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    len = strnlen(src, srcmax);
    if (len >= n)
        len = n - 1;
    memmove(dst, src, len);    /* src may be dst (nDPI filled it) */
    dst[len] = '\0';
}

#define COPY_ARR(dst, arr) copy_bounded((dst), sizeof(dst), (arr), sizeof(arr))
#define COPY_STR(dst, s)   copy_bounded((dst), sizeof(dst), (s), SIZE_MAX)

static void lowercase(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

struct dpi_engine *dpi_engine_new(const struct dpi_config *cfg)
{
    struct dpi_engine *e;
    NDPI_PROTOCOL_BITMASK all;

    if ((e = calloc(1, sizeof *e)) == NULL) {
        log_error("dpi: out of memory");
        return NULL;
    }
    e->max_packets = cfg->max_packets ? cfg->max_packets : DPI_DEFAULT_MAX_PACKETS;
    e->slab = cfg->slab;
    if (!cfg->enabled)
        return e;
    if (e->slab)
        pthread_once(&dpi_hooks_once, dpi_set_hooks);

    pthread_mutex_lock(&dpi_init_lock);
    e->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
    if (e->ndpi == NULL) {
        log_error("dpi: nDPI %s: cannot create a detection module", ndpi_revision());
        goto fail;
    }
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(e->ndpi, &all);
    if (cfg->protos_file && cfg->protos_file[0] &&
        ndpi_load_protocols_file(e->ndpi, cfg->protos_file) != 0) {
        log_error("dpi: cannot load protocols file %s", cfg->protos_file);
        goto fail;
    }
    ndpi_finalize_initialization(e->ndpi);
    pthread_mutex_unlock(&dpi_init_lock);
    return e;

fail:
    if (e->ndpi)
        ndpi_exit_detection_module(e->ndpi);
    pthread_mutex_unlock(&dpi_init_lock);
    free(e);
    return NULL;
}

void dpi_engine_free(struct dpi_engine *e)
{
    struct lw_slab *prev;

    if (e == NULL)
        return;
    prev = dpi_enter(e);
    if (e->ndpi)
        ndpi_exit_detection_module(e->ndpi);
    dpi_leave(prev);
    free(e);
}

const struct dpi_stats *dpi_engine_stats(const struct dpi_engine *e)
{
    return &e->stats;
}

size_t dpi_ndpi_flow_size(void)
{
    return SIZEOF_FLOW_STRUCT;
}

/* ------------------------------------------------------------------ */
/* Names. */

const char *dpi_app_proto_name(uint16_t id)
{
    switch (id) {
    case NDPI_PROTOCOL_HTTP:
    case NDPI_PROTOCOL_HTTP_CONNECT:
    case NDPI_PROTOCOL_HTTP_PROXY:      return "http";
    case NDPI_PROTOCOL_TLS:
    case NDPI_PROTOCOL_MAIL_SMTPS:
    case NDPI_PROTOCOL_MAIL_IMAPS:
    case NDPI_PROTOCOL_MAIL_POPS:       return "tls";
    case NDPI_PROTOCOL_DTLS:            return "dtls";
    case NDPI_PROTOCOL_DNS:             return "dns";
    case NDPI_PROTOCOL_SSH:             return "ssh";
    case NDPI_PROTOCOL_SMBV1:
    case NDPI_PROTOCOL_SMBV23:          return "smb";
    case NDPI_PROTOCOL_FTP_CONTROL:     return "ftp";
    case NDPI_PROTOCOL_FTP_DATA:        return "ftp-data";
    case NDPI_PROTOCOL_MAIL_SMTP:       return "smtp";
    case NDPI_PROTOCOL_MAIL_IMAP:       return "imap";
    case NDPI_PROTOCOL_MAIL_POP:        return "pop3";
    case NDPI_PROTOCOL_QUIC:            return "quic";
    case NDPI_PROTOCOL_DHCP:            return "dhcp";
    case NDPI_PROTOCOL_NTP:             return "ntp";
    case NDPI_PROTOCOL_SNMP:            return "snmp";
    case NDPI_PROTOCOL_RDP:             return "rdp";
    case NDPI_PROTOCOL_SIP:             return "sip";
    case NDPI_PROTOCOL_MQTT:            return "mqtt";
    case NDPI_PROTOCOL_MODBUS:          return "modbus";
    case NDPI_PROTOCOL_DNP3:            return "dnp3";
    case NDPI_PROTOCOL_KERBEROS:        return "krb5";
    case NDPI_PROTOCOL_NFS:             return "nfs";
    case NDPI_PROTOCOL_TFTP:            return "tftp";
    case NDPI_PROTOCOL_VNC:             return "rfb";
    case NDPI_PROTOCOL_TELNET:          return "telnet";
    case NDPI_PROTOCOL_BITTORRENT:      return "bittorrent";
    case NDPI_PROTOCOL_LDAP:            return "ldap";
    case NDPI_PROTOCOL_MYSQL:           return "mysql";
    case NDPI_PROTOCOL_POSTGRES:        return "pgsql";
    case NDPI_PROTOCOL_DCERPC:          return "dcerpc";
    case NDPI_PROTOCOL_ETHERNET_IP:     return "enip";
    case NDPI_PROTOCOL_WEBSOCKET:       return "websocket";
    default:                            return NULL;
    }
}

const char *dpi_risk_name(unsigned risk)
{
    if (risk == 0 || risk >= NDPI_MAX_RISK)
        return NULL;
    return ndpi_risk2str((ndpi_risk_enum)risk);
}

const char *dpi_confidence_name(uint8_t confidence)
{
    if (confidence >= NDPI_CONFIDENCE_MAX)
        return "Unknown";
    return ndpi_confidence_get_name((ndpi_confidence_t)confidence);
}

/* Suricata's spelling of a TLS/SSL version; nDPI's for the rest. */
static void tls_version_name(char *out, size_t n, uint16_t v)
{
    uint8_t unknown = 0;

    switch (v) {
    case 0:      out[0] = '\0'; return;
    case 0x0200: snprintf(out, n, "SSLv2"); return;
    case 0x0300: snprintf(out, n, "SSLv3"); return;
    case 0x0301: snprintf(out, n, "TLSv1"); return;
    case 0x0302: snprintf(out, n, "TLS 1.1"); return;
    case 0x0303: snprintf(out, n, "TLS 1.2"); return;
    case 0x0304: snprintf(out, n, "TLS 1.3"); return;
    default:
        /* some nDPI versions return a static string instead of filling out */
        copy_bounded(out, n, ndpi_ssl_version2str(out, (int)n, v, &unknown), n);
        return;
    }
}

/* ------------------------------------------------------------------ */
/* Per-flow state. */

enum dpi_kind { KIND_NONE = 0, KIND_TLS, KIND_QUIC, KIND_HTTP, KIND_DNS, KIND_SSH };

static size_t kind_size(enum dpi_kind k)
{
    switch (k) {
    case KIND_TLS:
    case KIND_QUIC: return sizeof(struct dpi_tls);
    case KIND_HTTP: return sizeof(struct dpi_http);
    case KIND_DNS:  return sizeof(struct dpi_dns);
    case KIND_SSH:  return sizeof(struct dpi_ssh);
    default:        return 0;
    }
}

static enum dpi_kind result_kind(const struct dpi_result *r)
{
    if (r->tls)  return KIND_TLS;
    if (r->quic) return KIND_QUIC;
    if (r->http) return KIND_HTTP;
    if (r->dns)  return KIND_DNS;
    if (r->ssh)  return KIND_SSH;
    return KIND_NONE;
}

static size_t result_size(const struct dpi_result *r)
{
    return sizeof *r + kind_size(result_kind(r));
}

/* Allocates the result and nDPI's flow state for a flow's first packet.
 * Returns NULL (counted) when either cannot be had. */
static struct dpi_result *dpi_result_new(struct dpi_engine *e)
{
    struct dpi_result *r;

    if ((r = e->slab ? lw_slab_zalloc(e->slab, sizeof *r) : calloc(1, sizeof *r)) == NULL)
        goto fail;
    if (e->slab) {
        /* packed: no word set yet, the zeroed struct nDPI wants */
        if ((r->ndpi = dpi_malloc_hook(2 * sizeof(uint64_t))) == NULL)
            goto fail;
        memset(r->ndpi, 0, 2 * sizeof(uint64_t));
    } else {
        /* nDPI 4.2 wants the flow struct zeroed and freed with ndpi_flow_free(). */
        if ((r->ndpi = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT)) == NULL)
            goto fail;
        memset(r->ndpi, 0, SIZEOF_FLOW_STRUCT);
    }
    r->eng = e;
    STATS_INC(e->stats.flows_inspected);
    STATS_INC(e->stats.states_active);
    STATS_ADD(e->stats.state_bytes, SIZEOF_FLOW_STRUCT);
    STATS_INC(e->stats.results_active);
    STATS_ADD(e->stats.result_bytes, sizeof *r);
    return r;

fail:
    lw_slab_release(r);
    STATS_INC(e->stats.alloc_failed);
    return NULL;
}

/* ---- nDPI's flow struct between packets.
 *
 * A flow waiting for its next packet holds nDPI's struct packed: a bitmap
 * of its non-zero 8-byte words, then those words (most of the 688 bytes are
 * zero: 10 to 25 words are set for most flows). For each call nDPI gets it
 * back whole in one of the engine's DPI_OPEN_SLOTS open slots, byte for
 * byte as it left it (its pointers are to blocks of its own, never into
 * the struct). A flow's struct stays open after the call and is packed
 * back only when its slot is the least recently used one and another flow
 * needs a slot: most of nDPI's calls are for one of the few flows of the
 * last moment (a handshake, a request and its answer), and they skip both
 * steps. nDPI keeps no pointer to a flow struct between calls. Without a
 * slab the struct stays whole. */

static int state_pack(struct dpi_engine *e, struct dpi_open *o);
static void dpi_finish(struct dpi_engine *e, struct flow *f, struct dpi_result *r,
                       struct ndpi_flow_struct *nf, int at_end);

/* Slot o, result r's, holds no flow's struct any more: free for the next
 * flow. (r, not o->r: a result that grew while open has moved.) */
static void state_close(struct dpi_open *o, struct dpi_result *r)
{
    r->slot = 0;
    o->r = NULL;
    o->f = NULL;
}

/* Slot o's struct goes back into its flow's block and o is free. When no
 * memory is left for it, that flow's detection ends here (counted), as
 * nDPI's own answer would end it: its result is made final from the open
 * struct. */
static void state_park(struct dpi_engine *e, struct dpi_open *o)
{
    if (o->r == NULL)
        return;
    if (state_pack(e, o) == 0) {
        state_close(o, o->r);
        return;
    }
    STATS_INC(e->stats.alloc_failed);
    dpi_finish(e, o->f, o->r, (struct ndpi_flow_struct *)o->w, 1);   /* frees o */
}

/* Flow f's nDPI struct (of its result r), whole, for the calls that follow. */
static struct ndpi_flow_struct *state_open(struct dpi_engine *e, struct flow *f, struct dpi_result *r)
{
    const uint64_t *pk = (const uint64_t *)r->ndpi;
    const uint64_t *w = pk + 2;
    struct dpi_open *o;

    if (!e->slab)
        return r->ndpi;
    if (r->slot) {
        o = &e->open[r->slot - 1];
        o->used = ++e->uses;
        o->f = f;
        return (struct ndpi_flow_struct *)o->w;
    }
    o = &e->open[0];                     /* a free slot, else the least recently used */
    for (unsigned i = 1; i < DPI_OPEN_SLOTS && o->r; i++)
        if (!e->open[i].r || e->open[i].used < o->used)
            o = &e->open[i];
    state_park(e, o);
    memset(o->w, 0, sizeof o->w);
    for (unsigned h = 0; h < 2; h++)
        for (uint64_t m = pk[h]; m; m &= m - 1)
            o->w[h * 64 + (unsigned)__builtin_ctzll(m)] = *w++;
    o->r = r;
    o->f = f;
    o->used = ++e->uses;
    r->slot = (uint8_t)(o - e->open + 1);
    return (struct ndpi_flow_struct *)o->w;
}

/* The bitmap of an open slot's non-zero words (map[2]). */
static void scratch_map(const uint64_t *sc, uint64_t map[2])
{
    unsigned i = 0;

    map[0] = map[1] = 0;
#ifdef __SSE2__
    /* Eight words (a cache line) at a time: a bit per byte that is not
     * zero, then a bit per word whose bytes are not all zero. */
    const __m128i z = _mm_setzero_si128();

    for (; i + 8 <= STATE_WORDS; i += 8) {
        const __m128i *v = (const __m128i *)(sc + i);
        uint64_t nzb = ~((uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(v), z)) |
                         (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(v + 1), z)) << 16 |
                         (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(v + 2), z)) << 32 |
                         (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(v + 3), z)) << 48);

        nzb |= nzb >> 4;
        nzb |= nzb >> 2;
        nzb |= nzb >> 1;
        nzb &= 0x0101010101010101ull;              /* bit 0 of byte j: word j is not zero */
        map[i >> 6] |= ((nzb * 0x0102040810204080ull) >> 56) << (i & 63);
    }
#endif
    for (; i < STATE_WORDS; i++)
        map[i >> 6] |= (uint64_t)(sc[i] != 0) << (i & 63);
}

/* Packs slot o back into its flow's block (a bigger one when it grew).
 * Returns 0, or -1 when no memory is left (the flow keeps its older
 * packing). */
static int state_pack(struct dpi_engine *e, struct dpi_open *o)
{
    struct dpi_result *r = o->r;
    uint64_t map[2], *pk = (uint64_t *)r->ndpi, *w;
    size_t nz, need;

    scratch_map(o->w, map);
    nz = 0;
    for (unsigned h = 0; h < 2; h++)
        for (uint64_t m = map[h]; m; m &= m - 1)
            nz++;
    need = (2 + nz) * sizeof(uint64_t);
    if (!lw_slab_owns(e->slab, pk) || lw_slab_size(e->slab, pk) < need) {
        uint64_t *np = dpi_malloc_hook(need);

        if (np == NULL)
            return -1;
        lw_slab_release(pk);
        r->ndpi = (struct ndpi_flow_struct *)np;
        pk = np;
    }
    pk[0] = map[0];
    pk[1] = map[1];
    w = pk + 2;
    for (unsigned h = 0; h < 2; h++)
        for (uint64_t m = map[h]; m; m &= m - 1)
            *w++ = o->w[h * 64 + (unsigned)__builtin_ctzll(m)];
    return 0;
}

/* Frees nDPI's state of r, flow f's (nf: it opened, or NULL). */
static void dpi_state_free(struct flow *f, struct dpi_result *r, struct ndpi_flow_struct *nf)
{
    struct dpi_engine *e = r->eng;

    if (r->ndpi == NULL)
        return;
    if (e->slab) {
        if (!nf)
            nf = state_open(e, f, r);
        ndpi_free_flow_data(nf);               /* nDPI's strings and buffers */
        if (r->slot)                           /* its slot holds nothing to pack back */
            state_close(&e->open[r->slot - 1], r);
        lw_slab_release(r->ndpi);
    } else {
        ndpi_flow_free(r->ndpi);   /* frees nDPI's strings and buffers too */
    }
    r->ndpi = NULL;
    STATS_SUB(r->eng->stats.states_active, 1);
    STATS_SUB(r->eng->stats.state_bytes, SIZEOF_FLOW_STRUCT);
}

/* ------------------------------------------------------------------ */
/* Extraction from nDPI's flow struct into the result. */

static int is_proto(ndpi_protocol p, uint16_t id)
{
    return p.master_protocol == id || p.app_protocol == id;
}

/* Protocols whose dissectors write nDPI's protos union with something other
 * than tls_quic; for them the union must not be read as TLS. */
static int uses_other_union_member(ndpi_protocol p)
{
    static const uint16_t ids[] = {
        NDPI_PROTOCOL_DNS, NDPI_PROTOCOL_NTP, NDPI_PROTOCOL_KERBEROS,
        NDPI_PROTOCOL_SSH, NDPI_PROTOCOL_TELNET, NDPI_PROTOCOL_UBNTAC2,
        NDPI_PROTOCOL_BITTORRENT, NDPI_PROTOCOL_DHCP,
    };
    size_t i;

    for (i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (is_proto(p, ids[i]))
            return 1;
    return 0;
}

/* Which metadata block a flow gets; mirrors ndpiReader's choice, since the
 * protos union in nDPI's flow is only meaningful for the protocol that wrote it. */
static enum dpi_kind flow_kind(ndpi_protocol p, const struct ndpi_flow_struct *nf)
{
    /* an undetected flow's union may hold a half-run dissector's guesses */
    if (p.master_protocol == NDPI_PROTOCOL_UNKNOWN && p.app_protocol == NDPI_PROTOCOL_UNKNOWN)
        return KIND_NONE;
    if (is_proto(p, NDPI_PROTOCOL_DNS))
        return KIND_DNS;
    if (is_proto(p, NDPI_PROTOCOL_HTTP) || is_proto(p, NDPI_PROTOCOL_HTTP_CONNECT) ||
        is_proto(p, NDPI_PROTOCOL_HTTP_PROXY))
        return KIND_HTTP;
    if (is_proto(p, NDPI_PROTOCOL_SSH))
        return KIND_SSH;
    if (is_proto(p, NDPI_PROTOCOL_QUIC))
        return KIND_QUIC;
    if (is_proto(p, NDPI_PROTOCOL_TLS) || is_proto(p, NDPI_PROTOCOL_DTLS) ||
        is_proto(p, NDPI_PROTOCOL_MAIL_SMTPS) || is_proto(p, NDPI_PROTOCOL_MAIL_IMAPS) ||
        is_proto(p, NDPI_PROTOCOL_MAIL_POPS))
        return KIND_TLS;
    if (!uses_other_union_member(p) && nf->protos.tls_quic.ja3_client[0] != '\0')
        return KIND_TLS;
    return KIND_NONE;
}

static void hex_fingerprint(char *out, size_t n, const uint8_t *b, size_t len)
{
    size_t i, o = 0;

    out[0] = '\0';
    for (i = 0; i < len && o + 3 < n; i++)
        o += (size_t)snprintf(out + o, n - o, i ? ":%02x" : "%02x", b[i]);
}

static void fill_tls(struct dpi_tls *t, const struct ndpi_flow_struct *nf, int quic)
{
    COPY_ARR(t->sni, nf->host_server_name);
    t->version_num = nf->protos.tls_quic.ssl_version;
    tls_version_name(t->version, sizeof t->version, t->version_num);
    COPY_ARR(t->ja3, nf->protos.tls_quic.ja3_client);
    COPY_ARR(t->ja3s, nf->protos.tls_quic.ja3_server);
    COPY_STR(t->alpn, nf->protos.tls_quic.alpn);
    if (quic)
        return;
    COPY_STR(t->subject, nf->protos.tls_quic.subjectDN);
    COPY_STR(t->issuerdn, nf->protos.tls_quic.issuerDN);
    t->notbefore = (time_t)nf->protos.tls_quic.notBefore;
    t->notafter = (time_t)nf->protos.tls_quic.notAfter;
    /* l4.tcp is only TCP's half of a union */
    if (nf->l4_proto == IPPROTO_TCP && nf->l4.tcp.tls.fingerprint_set)
        hex_fingerprint(t->fingerprint, sizeof t->fingerprint,
                        nf->protos.tls_quic.sha1_certificate_fingerprint, 20);
}

/* nDPI 4.2 keeps Host + request target in one string (only the target for
 * CONNECT and absolute-form requests); Suricata's url is the target alone. */
static const char *http_target(const char *url, ndpi_http_method m)
{
    const char *slash;

    if (url == NULL)
        return NULL;
    if (m == NDPI_HTTP_METHOD_CONNECT || strncmp(url, "http://", 7) == 0)
        return url;
    slash = strchr(url, '/');
    return slash ? slash : url;
}

static void fill_http(struct dpi_http *h, const struct ndpi_flow_struct *nf)
{
    COPY_ARR(h->hostname, nf->host_server_name);
    COPY_STR(h->url, http_target(nf->http.url, nf->http.method));
    COPY_STR(h->user_agent, nf->http.user_agent);
    COPY_STR(h->content_type, nf->http.content_type);
    if (nf->http.method != NDPI_HTTP_METHOD_UNKNOWN)
        COPY_STR(h->method, ndpi_http_method2str(nf->http.method));
    h->status = nf->http.response_status_code;
}

static void fill_dns(struct dpi_dns *d, const struct ndpi_flow_struct *nf)
{
    COPY_ARR(d->rrname, nf->host_server_name);
    d->rrtype = nf->protos.dns.query_type;
    d->response = nf->protos.dns.is_query == 0 && nf->protos.dns.num_answers + nf->protos.dns.reply_code > 0;
    d->rcode = nf->protos.dns.reply_code;
    d->answers = nf->protos.dns.num_answers;
    if (nf->protos.dns.rsp_type == 1)
        lw_addr_set4(&d->answer, (const uint8_t *)&nf->protos.dns.rsp_addr.ipv4);
    else if (nf->protos.dns.rsp_type == 28)
        lw_addr_set6(&d->answer, (const uint8_t *)&nf->protos.dns.rsp_addr.ipv6);
}

static void fill_ssh(struct dpi_ssh *s, const struct ndpi_flow_struct *nf)
{
    COPY_ARR(s->client_version, nf->protos.ssh.client_signature);
    COPY_ARR(s->server_version, nf->protos.ssh.server_signature);
    COPY_ARR(s->hassh_client, nf->protos.ssh.hassh_client);
    COPY_ARR(s->hassh_server, nf->protos.ssh.hassh_server);
    lowercase(s->hassh_client);    /* md5 hex, as Suricata writes it */
    lowercase(s->hassh_server);
}

/* Suricata's app_proto: its parser name for what nDPI found by inspection,
 * else nDPI's own name in lower case; "failed" when inspection found
 * nothing in a flow that carried payload (a port guess is not an
 * identification); "" for flows Suricata would not label at all. */
static void set_app_proto(struct dpi_engine *e, struct dpi_result *r, uint8_t l4proto)
{
    const char *name;
    uint16_t lower = r->master_id ? r->master_id : r->app_id;

    r->app_proto[0] = '\0';
    if (l4proto != IPPROTO_TCP && l4proto != IPPROTO_UDP)
        return;
    if (lower == NDPI_PROTOCOL_UNKNOWN || (r->flags & DPI_F_GIVEUP)) {
        if (r->flags & DPI_F_PAYLOAD)
            COPY_STR(r->app_proto, "failed");
        return;
    }
    if ((name = dpi_app_proto_name(r->master_id)) == NULL &&
        (name = dpi_app_proto_name(r->app_id)) == NULL) {
        COPY_STR(r->app_proto, ndpi_get_proto_name(e->ndpi, lower));
        lowercase(r->app_proto);
        return;
    }
    COPY_STR(r->app_proto, name);
}

union dpi_meta {
    struct dpi_tls  tls;
    struct dpi_http http;
    struct dpi_dns  dns;
    struct dpi_ssh  ssh;
};

/* Fills m for kind; returns 0 when nDPI knew nothing worth keeping, so the
 * flow is not charged a metadata block (nor the event an empty object). */
static int fill_meta(union dpi_meta *m, enum dpi_kind kind, const struct ndpi_flow_struct *nf)
{
    memset(m, 0, sizeof *m);
    switch (kind) {
    case KIND_TLS:
    case KIND_QUIC:
        fill_tls(&m->tls, nf, kind == KIND_QUIC);
        return m->tls.sni[0] || m->tls.version[0] || m->tls.ja3[0] || m->tls.ja3s[0] ||
               m->tls.subject[0] || m->tls.issuerdn[0] || m->tls.alpn[0] ||
               m->tls.fingerprint[0] || m->tls.notafter;
    case KIND_HTTP:
        fill_http(&m->http, nf);
        return m->http.hostname[0] || m->http.url[0] || m->http.user_agent[0] ||
               m->http.method[0] || m->http.content_type[0] || m->http.status;
    case KIND_DNS:
        fill_dns(&m->dns, nf);
        return m->dns.rrname[0] || m->dns.rrtype || m->dns.response;
    case KIND_SSH:
        fill_ssh(&m->ssh, nf);
        return m->ssh.client_version[0] || m->ssh.server_version[0] ||
               m->ssh.hassh_client[0] || m->ssh.hassh_server[0];
    default:
        return 0;
    }
}

/* Copies protocol, names, risks and the kind's metadata out of nDPI's flow.
 * Grows the result block for the metadata; on failure the metadata is
 * dropped (counted), the rest kept. Returns the (possibly moved) result. */
static struct dpi_result *dpi_extract(struct dpi_engine *e, struct dpi_result *r,
                                      struct ndpi_flow_struct *nf, ndpi_protocol proto, uint8_t l4proto)
{
    enum dpi_kind kind = flow_kind(proto, nf);
    union dpi_meta m;
    struct dpi_result *nr;
    void *meta;

    r->master_id = proto.master_protocol;
    r->app_id = proto.app_protocol;
    r->category_id = (uint16_t)proto.category;
    r->confidence = (uint8_t)nf->confidence;
    r->risk = nf->risk;
    ndpi_protocol2name(e->ndpi, proto, r->protocol, sizeof r->protocol);
    r->protocol[sizeof r->protocol - 1] = '\0';
    COPY_STR(r->category, ndpi_category_get_name(e->ndpi, proto.category));
    set_app_proto(e, r, l4proto);

    if (!fill_meta(&m, kind, nf))
        return r;
    /* nDPI 4.2 files the first SSH banner it sees as the client's; most
     * servers send theirs first, so put each banner on its own side. */
    if (kind == KIND_SSH && (r->flags & DPI_F_SERVER_FIRST)) {
        struct dpi_ssh *s = &m.ssh;
        char tmp[sizeof s->client_version];

        memcpy(tmp, s->client_version, sizeof tmp);
        memcpy(s->client_version, s->server_version, sizeof tmp);
        memcpy(s->server_version, tmp, sizeof tmp);
    }
    nr = e->slab ? lw_slab_realloc(e->slab, r, sizeof *r + kind_size(kind))
                 : realloc(r, sizeof *r + kind_size(kind));
    if (nr == NULL) {
        STATS_INC(e->stats.alloc_failed);
        return r;
    }
    r = nr;
    STATS_ADD(e->stats.result_bytes, kind_size(kind));
    meta = r + 1;
    memcpy(meta, &m, kind_size(kind));
    switch (kind) {
    case KIND_TLS:  r->tls = meta; break;
    case KIND_QUIC: r->quic = meta; break;
    case KIND_HTTP: r->http = meta; break;
    case KIND_DNS:  r->dns = meta; break;
    case KIND_SSH:  r->ssh = meta; break;
    default:        break;
    }
    return r;
}

/* Ends detection: gives up when nDPI has no answer (or, at flow end, when it
 * is still waiting for metadata, as ndpiReader does), extracts, frees nDPI's
 * state. The result may move; f->dpi is updated. */
static void dpi_finish(struct dpi_engine *e, struct flow *f, struct dpi_result *r,
                       struct ndpi_flow_struct *nf, int at_end)
{
    ndpi_protocol proto = { r->master_id, r->app_id, (ndpi_protocol_category_t)r->category_id };
    int known = proto.master_protocol || proto.app_protocol;
    uint8_t guessed = 0;

    if (!known || at_end)
        proto = ndpi_detection_giveup(e->ndpi, nf, 1, &guessed);
    if (known) {
        STATS_INC(e->stats.flows_detected);
    } else {
        r->flags |= DPI_F_GIVEUP;
        STATS_INC(e->stats.flows_given_up);
        if (proto.master_protocol || proto.app_protocol) {
            r->flags |= DPI_F_GUESSED;
            STATS_INC(e->stats.flows_guessed);
        }
    }
    r = dpi_extract(e, r, nf, proto, f->key.proto);
    dpi_state_free(f, r, nf);
    r->flags |= DPI_F_DONE;
    f->dpi = r;
}

/* One packet to nDPI; detection ends (the result is made final) when nDPI
 * has its answer and nothing more to extract, or at max_packets. */
static void dpi_inspect(struct dpi_engine *e, struct flow *f, struct dpi_result *r, const struct packet *p)
{
    struct ndpi_flow_struct *nf = state_open(e, f, r);
    ndpi_protocol proto;
    unsigned short len;

    /* nDPI 4.2 takes the length as unsigned short; it refuses an IP packet
     * whose header claims more than it is given, so cutting is safe. */
    len = p->l3_len > 0xffff ? 0xffff : (unsigned short)p->l3_len;
    r->pkts++;
    STATS_INC(e->stats.pkts);
    if (p->payload_len > 0) {
        if (!(r->flags & DPI_F_PAYLOAD) && (p->dir & 1))
            r->flags |= DPI_F_SERVER_FIRST;
        r->flags |= DPI_F_PAYLOAD;
    }
    proto = ndpi_detection_process_packet(e->ndpi, nf, p->l3, len, p->ts / 1000);
    r->master_id = proto.master_protocol;
    r->app_id = proto.app_protocol;
    r->category_id = (uint16_t)proto.category;

    if (r->pkts >= e->max_packets) {
        r->flags |= DPI_F_MAXPKTS;
        dpi_finish(e, f, r, nf, 0);
    } else if ((proto.master_protocol || proto.app_protocol) &&
               !ndpi_extra_dissection_possible(e->ndpi, nf)) {
        dpi_finish(e, f, r, nf, 0);
    }
    /* else the struct stays open in its slot until another flow needs it */
}

void dpi_process(struct dpi_engine *e, struct flow *f, const struct packet *p)
{
    struct dpi_result *r = f->dpi;
    struct lw_slab *prev;

    if (e->ndpi == NULL || p->l3 == NULL || p->l3_len == 0 || (r && (r->flags & DPI_F_DONE)))
        return;
    prev = dpi_enter(e);
    if (r == NULL)
        r = f->dpi = dpi_result_new(e);
    if (r)
        dpi_inspect(e, f, r, p);
    dpi_leave(prev);
}

void dpi_flow_end(struct dpi_engine *e, struct flow *f)
{
    struct dpi_result *r = f->dpi;
    struct lw_slab *prev;

    if (r == NULL || (r->flags & DPI_F_DONE) || e->ndpi == NULL)
        return;
    prev = dpi_enter(e);
    dpi_finish(e, f, r, state_open(e, f, r), 1);
    dpi_leave(prev);
}

void dpi_flow_free(struct flow *f)
{
    struct dpi_result *r = f->dpi;
    struct lw_slab *prev;

    if (r == NULL)
        return;
    prev = dpi_enter(r->eng);
    dpi_state_free(f, r, NULL);
    dpi_leave(prev);
    STATS_SUB(r->eng->stats.results_active, 1);
    STATS_SUB(r->eng->stats.result_bytes, result_size(r));
    lw_slab_release(r);
    f->dpi = NULL;
}

/* ------------------------------------------------------------------ */
/* EVE. */

/* Suricata's time format for certificate validity (UTC, no zone). */
static void eve_cert_time(struct jbuf *j, const char *key, time_t t)
{
    struct tm tm;
    char buf[32];

    if (t == 0 || gmtime_r(&t, &tm) == NULL)
        return;
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    jbuf_str(j, key, buf);
}

static void eve_opt_str(struct jbuf *j, const char *key, const char *s)
{
    if (s[0] != '\0')
        jbuf_str(j, key, s);
}

static void eve_hash(struct jbuf *j, const char *key, const char *hash)
{
    if (hash[0] == '\0')
        return;
    jbuf_open_object(j, key);
    jbuf_str(j, "hash", hash);
    jbuf_close_object(j);
}

static void eve_tls(struct jbuf *j, const struct dpi_tls *t)
{
    jbuf_open_object(j, "tls");
    eve_opt_str(j, "subject", t->subject);
    eve_opt_str(j, "issuerdn", t->issuerdn);
    eve_opt_str(j, "fingerprint", t->fingerprint);
    eve_opt_str(j, "sni", t->sni);
    eve_opt_str(j, "version", t->version);
    eve_cert_time(j, "notbefore", t->notbefore);
    eve_cert_time(j, "notafter", t->notafter);
    eve_hash(j, "ja3", t->ja3);
    eve_hash(j, "ja3s", t->ja3s);
    eve_opt_str(j, "alpn", t->alpn);
    jbuf_close_object(j);
}

static void eve_quic(struct jbuf *j, const struct dpi_tls *t)
{
    jbuf_open_object(j, "quic");
    eve_opt_str(j, "sni", t->sni);
    eve_hash(j, "ja3", t->ja3);
    jbuf_close_object(j);
}

static void eve_http(struct jbuf *j, const struct dpi_http *h)
{
    jbuf_open_object(j, "http");
    eve_opt_str(j, "hostname", h->hostname);
    eve_opt_str(j, "url", h->url);
    eve_opt_str(j, "http_user_agent", h->user_agent);
    eve_opt_str(j, "http_content_type", h->content_type);
    eve_opt_str(j, "http_method", h->method);
    if (h->status)
        jbuf_u64(j, "status", h->status);
    jbuf_close_object(j);
}

static void dns_type_name(char *out, size_t n, uint16_t t)
{
    static const struct { uint16_t t; const char *name; } types[] = {
        {1, "A"}, {2, "NS"}, {5, "CNAME"}, {6, "SOA"}, {12, "PTR"}, {15, "MX"},
        {16, "TXT"}, {28, "AAAA"}, {33, "SRV"}, {35, "NAPTR"}, {43, "DS"},
        {46, "RRSIG"}, {48, "DNSKEY"}, {64, "SVCB"}, {65, "HTTPS"}, {99, "SPF"},
        {255, "ANY"}, {257, "CAA"},
    };
    size_t i;

    for (i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].t == t) {
            snprintf(out, n, "%s", types[i].name);
            return;
        }
    snprintf(out, n, "%u", t);
}

static void dns_rcode_name(char *out, size_t n, uint8_t rc)
{
    static const char *const names[] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
        "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
    };

    if (rc < sizeof names / sizeof names[0])
        snprintf(out, n, "%s", names[rc]);
    else
        snprintf(out, n, "%u", rc);
}

static void eve_dns(struct jbuf *j, const struct dpi_dns *d)
{
    char buf[LW_ADDRSTRLEN];

    jbuf_open_object(j, "dns");
    /* Suricata's schema requires the layout's version; this one (name,
     * type, rcode and answers at the top) is version 2's answer layout. */
    jbuf_u64(j, "version", 2);
    eve_opt_str(j, "rrname", d->rrname);
    if (d->rrtype) {
        dns_type_name(buf, sizeof buf, d->rrtype);
        jbuf_str(j, "rrtype", buf);
    }
    if (d->response) {
        dns_rcode_name(buf, sizeof buf, d->rcode);
        jbuf_str(j, "rcode", buf);
    }
    if (d->answer.family) {
        jbuf_open_array(j, "answers");
        jbuf_open_object(j, NULL);
        eve_opt_str(j, "rrname", d->rrname);
        jbuf_str(j, "rrtype", d->answer.family == 4 ? "A" : "AAAA");
        jbuf_str(j, "rdata", lw_addr_str(&d->answer, buf, sizeof buf));
        jbuf_close_object(j);
        jbuf_close_array(j);
    }
    jbuf_close_object(j);
}

/* "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4" -> proto_version "2.0", software_version
 * "OpenSSH_8.2p1", as Suricata splits a banner. */
static void eve_ssh_side(struct jbuf *j, const char *key, const char *banner, const char *hassh)
{
    const char *v, *sw, *end;

    if (banner[0] == '\0' && hassh[0] == '\0')
        return;
    jbuf_open_object(j, key);
    if (strncmp(banner, "SSH-", 4) == 0 && (sw = strchr(banner + 4, '-')) != NULL) {
        v = banner + 4;
        jbuf_strn(j, "proto_version", (const uint8_t *)v, (size_t)(sw - v));
        sw++;
        end = sw + strcspn(sw, " \r\n");
        jbuf_strn(j, "software_version", (const uint8_t *)sw, (size_t)(end - sw));
    } else if (banner[0] != '\0') {
        jbuf_str(j, "software_version", banner);
    }
    eve_hash(j, "hassh", hassh);
    jbuf_close_object(j);
}

static void eve_ssh(struct jbuf *j, const struct dpi_ssh *s)
{
    jbuf_open_object(j, "ssh");
    eve_ssh_side(j, "client", s->client_version, s->hassh_client);
    eve_ssh_side(j, "server", s->server_version, s->hassh_server);
    jbuf_close_object(j);
}

void dpi_eve_write(struct jbuf *j, const struct flow *f)
{
    const struct dpi_result *r = dpi_flow_result(f);

    if (r == NULL)
        return;
    dpi_eve_summary(j, f);
    if (r->tls)
        eve_tls(j, r->tls);
    if (r->quic)
        eve_quic(j, r->quic);
    if (r->http)
        eve_http(j, r->http);
    if (r->dns)
        eve_dns(j, r->dns);
    if (r->ssh)
        eve_ssh(j, r->ssh);
}

void dpi_eve_summary(struct jbuf *j, const struct flow *f)
{
    const struct dpi_result *r = dpi_flow_result(f);
    unsigned i;

    if (r == NULL)
        return;
    eve_opt_str(j, "app_proto", r->app_proto);
    jbuf_open_object(j, "ndpi");
    jbuf_str(j, "protocol", r->protocol);
    eve_opt_str(j, "category", r->category);
    jbuf_str(j, "confidence", dpi_confidence_name(r->confidence));
    if (r->risk) {
        jbuf_open_array(j, "risks");
        for (i = 1; i < NDPI_MAX_RISK && i < 64; i++)
            if (r->risk & (1ULL << i))
                jbuf_str(j, NULL, dpi_risk_name(i));
        jbuf_close_array(j);
    }
    jbuf_close_object(j);
}

/* ---- counters (stats.dpi.*) */

#define DPI(member, prom, help, kind) \
    { "dpi/" #member, prom, NULL, help, (uint32_t)offsetof(struct dpi_stats, member), kind, STATS_SUM, 0, 0, NULL }
static const struct stats_field dpi_fields[] = {
    DPI(pkts, "linkwatch_dpi_packets_total", "Packets handed to nDPI.", STATS_COUNTER),
    DPI(flows_inspected, "linkwatch_dpi_flows_inspected_total", "Flows given nDPI state.", STATS_COUNTER),
    DPI(flows_detected, "linkwatch_dpi_flows_detected_total", "Flows whose protocol nDPI found by inspection.",
        STATS_COUNTER),
    DPI(flows_given_up, "linkwatch_dpi_flows_given_up_total", "Flows nDPI gave up on.", STATS_COUNTER),
    DPI(flows_guessed, "linkwatch_dpi_flows_guessed_total",
        "Flows given up on whose protocol nDPI guessed from port or address.", STATS_COUNTER),
    DPI(alloc_failed, "linkwatch_dpi_alloc_failed_total", "Flows left without DPI for want of memory.",
        STATS_COUNTER),
    DPI(states_active, "linkwatch_dpi_states_active", "Flows holding nDPI state.", STATS_GAUGE),
    DPI(state_bytes, "linkwatch_dpi_state_bytes", "Bytes of nDPI flow state held.", STATS_GAUGE),
    DPI(results_active, "linkwatch_dpi_results_active", "DPI results held.", STATS_GAUGE),
    DPI(result_bytes, "linkwatch_dpi_result_bytes", "Bytes of DPI results held, metadata included.", STATS_GAUGE),
};
#undef DPI

const struct stats_module dpi_stats_module = {
    "dpi", dpi_fields, STATS_NELEM(dpi_fields), sizeof(struct dpi_stats), NULL
};
