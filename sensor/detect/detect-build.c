/* detect-build.c - the engine builder: orders the rules, classifies each
 * one (packet, stream, IP-only, flow-level), picks fast patterns, and builds
 * the port groups with their Hyperscan databases (detect.h describes the
 * layout). */
#include <hs/hs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect-int.h"
#include "rule-load.h"
#include "rule-buffers.h"
#include "rule-parse.h"

static uint64_t engine_gen;      /* last detect_engine.gen handed out */

/* How a rule uses one kind of state (flowbits, flowint, xbits), for the
 * order: rules that only set (set, unset, toggle) first, then those that
 * set and read, then those that only read, then the others (Suricata's
 * sigorder), so a setter runs before the rules that check what it set. */
static int state_class(int sets, int reads)
{
    return sets && !reads ? 0 : sets ? 1 : reads ? 2 : 3;
}

static int bits_class(const struct rule_bit *v, uint32_t n)
{
    int sets = 0, reads = 0;

    for (uint32_t i = 0; i < n; i++) {
        sets |= v[i].op < RULE_BIT_ISSET;
        reads |= v[i].op >= RULE_BIT_ISSET;
    }
    return state_class(sets, reads);
}

static int fints_class(const struct rule *r)
{
    int sets = 0, reads = 0;

    for (uint32_t i = 0; i < r->nfints; i++) {
        sets |= r->fints[i].op <= RULE_FI_SUB;
        reads |= r->fints[i].op > RULE_FI_SUB;
    }
    return state_class(sets, reads);
}

/* Suricata's order: pass first, then flowbits, flowint, xbits setters
 * before readers, then priority, then sid (gid breaks ties). */
static int cmp_rules(const void *a, const void *b)
{
    const struct rule *x = *(const struct rule *const *)a, *y = *(const struct rule *const *)b;
    int px = x->action != RULE_ACTION_PASS, py = y->action != RULE_ACTION_PASS;
    int cx, cy;

    if (px != py)
        return px - py;
    if ((cx = bits_class(x->bits, x->nbits)) != (cy = bits_class(y->bits, y->nbits)))
        return cx - cy;
    if ((cx = fints_class(x)) != (cy = fints_class(y)))
        return cx - cy;
    if ((cx = bits_class(x->xbits, x->nxbits)) != (cy = bits_class(y->xbits, y->nxbits)))
        return cx - cy;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    if (x->sid != y->sid)
        return x->sid < y->sid ? -1 : 1;
    return x->gid < y->gid ? -1 : x->gid > y->gid;
}

/* The content the prefilter looks for: fast_pattern if it is a positive
 * content of the right kind of buffer (the payload for packet rules, a
 * sticky buffer for flow-level ones; never base64_data, which is not in
 * any buffer as such), else the longest such content. A rule that matches
 * always has it in that buffer (as its view transforms it), so the
 * prefilter loses nothing. */
static int32_t pick_fast_pattern(const struct rule *r, int flow_level)
{
    int32_t best = -1;

    for (uint32_t i = 0; i < r->nsm; i++) {
        const struct rule_sm *sm = &r->sm[i];

        if (sm->type != RULE_SM_CONTENT || sm->buf == RULE_BUF_BASE64 ||
            (sm->buf == RULE_BUF_PAYLOAD) == flow_level || (sm->u.c.flags & RULE_CT_NEGATED))
            continue;
        if ((int32_t)i == r->fast_pattern)
            return (int32_t)i;
        if (best < 0 || sm->u.c.len > r->sm[best].u.c.len)
            best = (int32_t)i;
    }
    return best;
}

/* Anything tested besides addresses and protocol, packet by packet. */
static int has_packet_opts(const struct rule *r)
{
    return r->tests != 0 || r->geoip;
}

/* Suricata's IP-only rules: nothing but protocol and addresses (any ports,
 * no flow keyword, no inspection, no application, no state test), e.g. the
 * IP reputation lists of rule sets. Their result is fixed per flow
 * direction. As in Suricata they may set flowbits and xbits (the lists
 * mark their flows for other rules). */
static int is_ip_only(const struct rule *r)
{
    return r->nsm == 0 && r->nviews == 0 && (r->tests & ~RULE_T_ACTIONS) == 0 && r->nfints == 0 &&
           !r->geoip && r->flow == 0 && !r->app_layer && !r->app_proto && !r->ndpi_proto &&
           r->sport.any && r->dport.any && !r->bypass;
}

/* Whether r's events are all app-layer events of its header's protocol
 * ("alert http ... (app-layer-event:http.missing_host_header;)"): events
 * of its transactions. */
static int app_events_only(const struct rule *r)
{
    size_t n = strlen(r->proto);

    if (!r->app_layer || r->nevents == 0 || r->geoip ||
        (r->tests & ~(RULE_T_EVENT | RULE_T_STATE | RULE_T_ACTIONS)))
        return 0;
    for (uint32_t i = 0; i < r->nevents; i++)
        if (r->events[i].kind != RULE_EV_APP || strncmp(r->events[i].name, r->proto, n) != 0 ||
            r->events[i].name[n] != '.')
            return 0;
    return 1;
}

/* Whether r also runs on packets the decoder held or refused (with
 * their decoder events, no flow): pkthdr rules and rules with a
 * decode-event, as Suricata runs its invalid packets. */
static int runs_on_held(const struct rule *r)
{
    if (strcmp(r->proto, "pkthdr") == 0)
        return 1;
    for (uint32_t i = 0; i < r->nevents; i++)
        if (r->events[i].kind == RULE_EV_DECODE)
            return 1;
    return 0;
}

/* Rules on sticky buffers, rules whose whole test is the flow's
 * application (ndpi-protocol, app-layer-protocol, an app-layer header and
 * nothing per packet) and rules on their protocol's app-layer events run
 * on the flow's transactions, or once per flow. */
static int is_flow_level(const struct rule *r)
{
    if ((r->buffers & ~(RULE_BUF_BIT(RULE_BUF_PAYLOAD) | RULE_BUF_BIT(RULE_BUF_BASE64))) || r->nvalues)
        return 1;
    if (r->nsm == 0 && app_events_only(r))
        return 1;
    return r->nsm == 0 && !has_packet_opts(r) && (r->app_layer || r->app_proto || r->ndpi_proto);
}

static unsigned rule_classes(const struct rule *r);

/* Whether where r's payload match may lie depends on where the buffer
 * starts or ends: a content with offset, depth or endswith, an entry read
 * relative to the start (a relative one with no positive entry before it,
 * an absolute byte keyword, isdataat or base64_decode), an anchored pcre. */
static int payload_anchored(const struct rule *r, int view)
{
    int first = 1;

    for (int i = next_sm(r, 0, view); i >= 0; i = next_sm(r, i + 1, view)) {
        const struct rule_sm *sm = &r->sm[i];

        if (sm->type == RULE_SM_CONTENT) {
            if ((sm->u.c.flags & (RULE_CT_OFFSET | RULE_CT_DEPTH | RULE_CT_ENDSWITH)) ||
                (first && (sm->u.c.flags & RULE_CT_RELATIVE)))
                return 1;
        } else if (sm->type == RULE_SM_PCRE) {
            if (!(sm->u.p.flags & RULE_PCRE_RELATIVE) && detect_pcre_anchored(&sm->u.p))
                return 1;
        } else if (first || !detect_sm_relative(sm)) {
            return 1;
        }
        if (!sm_negated(sm))
            first = 0;
    }
    return 0;
}

/* SM_* of a packet rule (rules/README.md, "Stream reassembly"): payload
 * rules that can see TCP inspect the stream, unless they test something
 * only a packet has (flags, dsize, ttl, ip_proto, itype/icode, the other
 * header keywords, stream events) or say flow:no_stream; those anchored to
 * the buffer start also inspect each packet, unless they say
 * flow:only_stream. */
static uint8_t stream_mode(const struct rule *r, int view)
{
    if (view < 0 || !(rule_classes(r) & (1u << DC_TCP)) || (r->flow & RULE_FLOW_NO_STREAM))
        return SM_PACKET;
    if (r->flow & RULE_FLOW_ONLY_STREAM)
        return SM_STREAM;
    if (r->tests & (RULE_T_PACKET | RULE_T_EVENT))
        return SM_PACKET;
    return payload_anchored(r, view) ? SM_BOTH : SM_STREAM;
}

/* The longest span, first byte to last, of a match of r's payload entries:
 * a run of contents tied by within (from one that is not relative) is
 * bounded; a pcre, a byte keyword, a distance without within, or two
 * independent runs are not (DETECT_REACH_ANY). Negated entries add nothing
 * to a match. */
static uint32_t stream_reach(const struct rule *r, int view)
{
    int64_t lo = 0, hi = 0, pmin = 0, pmax = 0;
    int runs = 0;

    for (int i = next_sm(r, 0, view); i >= 0; i = next_sm(r, i + 1, view)) {
        const struct rule_content *c = &r->sm[i].u.c;
        int64_t dist, smin, emax;

        if (sm_negated(&r->sm[i]))
            continue;
        if (r->sm[i].type != RULE_SM_CONTENT || c->var[RULE_POS_DISTANCE] >= 0 || c->var[RULE_POS_WITHIN] >= 0)
            return DETECT_REACH_ANY;
        if (!(c->flags & RULE_CT_RELATIVE) || runs == 0) {
            if (runs++)
                return DETECT_REACH_ANY;
            hi = pmin = pmax = c->len;
            continue;
        }
        if (!(c->flags & RULE_CT_WITHIN))
            return DETECT_REACH_ANY;
        dist = (c->flags & RULE_CT_DISTANCE) ? c->distance : 0;
        smin = pmin + dist;
        emax = pmax + dist + c->within;
        lo = smin < lo ? smin : lo;
        hi = emax > hi ? emax : hi;
        pmin = smin + c->len;
        pmax = emax;
    }
    if (hi - lo < 1)
        return 1;
    return hi - lo >= DETECT_REACH_ANY ? DETECT_REACH_ANY : (uint32_t)(hi - lo);
}

/* The kind (FK_*) of an application protocol's name. */
static uint8_t proto_kind(const char *proto)
{
    if (strcmp(proto, "http") == 0 || strcmp(proto, "file") == 0)
        return FK_HTTP;
    if (strcmp(proto, "tls") == 0)
        return FK_TLS;
    if (strcmp(proto, "dns") == 0)
        return FK_DNS;
    if (strcmp(proto, "ssh") == 0)
        return FK_SSH;
    if (strcmp(proto, "ftp") == 0)
        return FK_FTP;
    if (strcmp(proto, "ftp-data") == 0)
        return FK_FTPDATA;
    if (strcmp(proto, "smb") == 0)
        return FK_SMB;
    return FK_NONE;
}

static int is_file_buffer(int b)
{
    const struct rule_buffer_info *bi = rule_buffer_info((unsigned)b);

    return bi && bi->proto && strcmp(bi->proto, "file") == 0;
}

int detect_kind_has_files(int k)
{
    return k == FK_HTTP || k == FK_SMB || k == FK_FTPDATA || k == FK_FILE;
}

int detect_buffer_in_kind(int b, int k)
{
    return is_file_buffer(b) ? detect_kind_has_files(k) : detect_buffer_kind(b) == k;
}

/* The kind a file keyword gives a rule: its header's protocol when that
 * one carries files we parse (http, smb, ftp-data), FK_FILE on a header
 * without an application (tcp, ip), else none. */
static uint8_t file_kind(const struct rule *r)
{
    uint8_t k;

    if (!r->app_layer)
        return FK_FILE;
    k = proto_kind(r->proto);
    return detect_kind_has_files(k) ? k : FK_NONE;
}

/* Two kinds of one rule together: file keywords go with a kind that
 * carries files; anything else must agree. FK_COUNT: no kind yet. */
static uint8_t kind_merge(uint8_t have, uint8_t k)
{
    if (have == FK_COUNT || have == k)
        return k;
    if (have == FK_FILE && detect_kind_has_files(k))
        return k;
    if (k == FK_FILE && detect_kind_has_files(have))
        return have;
    return FK_NONE;
}

uint8_t detect_buffer_kind(int b)
{
    const struct rule_buffer_info *bi = rule_buffer_info((unsigned)b);

    return bi == NULL || bi->proto == NULL ? FK_NONE : proto_kind(bi->proto);
}

int detect_buffer_late(int b)
{
    switch (b) {
    case RULE_BUF_HTTP_REQUEST_BODY: case RULE_BUF_HTTP_RESPONSE_BODY: case RULE_BUF_FILE_DATA:
    case RULE_BUF_TLS_CERT_SUBJECT: case RULE_BUF_TLS_CERT_ISSUER: case RULE_BUF_TLS_CERT_SERIAL:
    case RULE_BUF_TLS_CERT_FINGERPRINT: case RULE_BUF_TLS_CERTS:
    case RULE_BUF_SSH_HASSH: case RULE_BUF_SSH_HASSH_STRING:
    case RULE_BUF_SSH_HASSH_SERVER: case RULE_BUF_SSH_HASSH_SERVER_STRING:
    case RULE_BUF_FILE_MD5: case RULE_BUF_FILE_SHA1: case RULE_BUF_FILE_SHA256: case RULE_BUF_FILE_NAME:
        return 1;
    default:
        return 0;
    }
}

/* Whether flow-level rule r reads something that grows after a
 * transaction's headers: a late buffer, a certificate's validity, or an
 * app-layer event (anomalies come at any time). */
static int rule_late(const struct rule *r)
{
    for (int b = 1; b < RULE_BUF_COUNT; b++)
        if ((r->buffers & RULE_BUF_BIT(b)) && detect_buffer_late(b))
            return 1;
    for (uint8_t i = 0; i < r->nvalues; i++)
        if (r->values[i].id == RULE_VAL_TLS_NOTBEFORE || r->values[i].id == RULE_VAL_TLS_NOTAFTER ||
            r->values[i].id == RULE_VAL_FILESIZE)
            return 1;
    return (r->tests & RULE_T_EVENT) != 0;
}

/* The kind of a value (enum rule_value_id): filesize's is file_kind(). */
static uint8_t value_kind(const struct rule *r, uint8_t id)
{
    switch (id) {
    case RULE_VAL_FILESIZE:        return file_kind(r);
    case RULE_VAL_DNS_OPCODE:      return FK_DNS;
    case RULE_VAL_FTPDATA_COMMAND: return FK_FTPDATA;
    default:                       return FK_TLS;
    }
}

/* The kind of metadata a flow-level rule reads: its buffers' and values'
 * (file keywords: file_kind()). */
static uint8_t rule_kind(const struct rule *r)
{
    uint8_t kind = FK_COUNT;

    for (int b = 1; b < RULE_BUF_COUNT && kind != FK_NONE; b++) {
        if (!(r->buffers & RULE_BUF_BIT(b)) || b == RULE_BUF_BASE64)
            continue;
        kind = kind_merge(kind, is_file_buffer(b) ? file_kind(r) : detect_buffer_kind(b));
    }
    for (uint8_t i = 0; i < r->nvalues && kind != FK_NONE; i++)
        kind = kind_merge(kind, value_kind(r, r->values[i].id));
    if (kind == FK_COUNT)
        kind = FK_NONE;
    /* app-layer-event:http.* on an http rule: the transaction's events */
    if (kind == FK_NONE && app_events_only(r))
        kind = proto_kind(r->proto);
    return kind;
}

static int xforms_equal(const struct rule_view *a, const struct rule_view *b)
{
    if (a->buf != b->buf || a->nxf != b->nxf)
        return 0;
    for (unsigned i = 0; i < a->nxf; i++)
        if (a->xf[i].type != b->xf[i].type || a->xf[i].keylen != b->xf[i].keylen ||
            (a->xf[i].keylen && memcmp(a->xf[i].key, b->xf[i].key, a->xf[i].keylen) != 0))
            return 0;
    return 1;
}

/* Untransformed file.data and http.response_body: one vkey, scanned as
 * file.data (which on an HTTP response is the response body): a body is
 * prefiltered once, not twice. A response-body rule that so becomes a
 * candidate on a request body is not due there (its direction). */
static int body_alias(const struct rule_view *a, const struct rule_view *b)
{
    return a->nxf == 0 && b->nxf == 0 &&
           ((a->buf == RULE_BUF_FILE_DATA && b->buf == RULE_BUF_HTTP_RESPONSE_BODY) ||
            (a->buf == RULE_BUF_HTTP_RESPONSE_BODY && b->buf == RULE_BUF_FILE_DATA));
}

/* The vkey of view v (made when new). -1 when out of memory. */
static int vkey_of(struct detect_engine *e, const struct rule_view *v, size_t *cap)
{
    for (size_t k = 0; k < e->nvkeys; k++) {
        if (xforms_equal(e->vkeys[k].rep, v))
            return (int)k;
        if (body_alias(e->vkeys[k].rep, v)) {
            if (v->buf == RULE_BUF_FILE_DATA) {   /* scanned as file.data */
                e->vkeys[k].rep = v;
                e->vkeys[k].buf = v->buf;
            }
            return (int)k;
        }
    }
    if (e->nvkeys == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        struct dvkey *n = realloc(e->vkeys, c * sizeof *n);

        if (n == NULL)
            return -1;
        e->vkeys = n;
        *cap = c;
    }
    e->vkeys[e->nvkeys].buf = v->buf;
    e->vkeys[e->nvkeys].late_fp = 0;
    e->vkeys[e->nvkeys].rep = v;
    return (int)e->nvkeys++;
}

static uint64_t hash_u32s(const uint32_t *v, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ v[i]) * 1099511628211ull;
    return h;
}

static uint32_t *dup_u32(const uint32_t *v, size_t n)
{
    uint32_t *c = malloc((n ? n : 1) * sizeof *c);

    if (c && n)
        memcpy(c, v, n * sizeof *c);
    return c;
}

static int compile_db(struct detect_engine *e, const uint32_t *pat, uint32_t npat,
                      hs_database_t **db, char *err, size_t errlen)
{
    const char **expr = NULL;
    unsigned *flags = NULL, *ids = NULL;
    size_t *lens = NULL, bytes;
    hs_compile_error_t *cerr = NULL;
    int rc = -1;

    if (npat == 0)
        return 0;
    expr = malloc(npat * sizeof *expr);
    flags = malloc(npat * sizeof *flags);
    ids = malloc(npat * sizeof *ids);
    lens = malloc(npat * sizeof *lens);
    if (expr == NULL || flags == NULL || ids == NULL || lens == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < npat; i++) {
        const struct drule *d = &e->rules[pat[i]];
        const struct rule_content *c = &d->r->sm[d->fp].u.c;

        expr[i] = (const char *)c->bytes + ((c->flags & RULE_CT_FP_CHOP) ? c->fp_off : 0);
        lens[i] = (c->flags & RULE_CT_FP_CHOP) ? c->fp_len : c->len;
        ids[i] = i;
        flags[i] = HS_FLAG_SINGLEMATCH | ((c->flags & RULE_CT_NOCASE) ? HS_FLAG_CASELESS : 0);
    }
    if (hs_compile_lit_multi(expr, flags, ids, lens, npat, HS_MODE_BLOCK, NULL,
                             db, &cerr) != HS_SUCCESS) {
        snprintf(err, errlen, "hyperscan: %s", cerr ? cerr->message : "compile failed");
        hs_free_compile_error(cerr);
        *db = NULL;
        goto fail;
    }
    if (hs_database_size(*db, &bytes) == HS_SUCCESS)
        e->st.db_bytes += bytes;
    e->st.patterns += npat;
    rc = 0;
fail:
    free(expr);
    free(flags);
    free(ids);
    free(lens);
    return rc;
}

/* Gives back the unused tails of a group's lists (they were sized for the
 * worst case). A failed shrink keeps the bigger block. */
static void shrink(uint32_t **v, uint32_t n)
{
    uint32_t *x = realloc(*v, (n ? n : 1) * sizeof **v);

    if (x)
        *v = x;
}

static void group_shrink(struct dgroup *g)
{
    shrink(&g->pkt, g->npkt);
    shrink(&g->always, g->nalways);
    shrink(&g->salways, g->nsalways);
    shrink(&g->iponly, g->niponly);
    shrink(&g->pat, g->npat);
    for (int k = 0; k < FK_COUNT; k++) {
        shrink(&g->flowl[k], g->nflowl[k]);
        shrink(&g->flowa[k], g->nflowa[k]);
    }
}

/* Appends rank to a group's sticky pattern list. -1 when out of memory. */
static int sticky_add(struct dsticky *sb, const struct drule *d, uint32_t rank)
{
    const struct rule_content *c = &d->r->sm[d->fp].u.c;
    uint32_t len = (c->flags & RULE_CT_FP_CHOP) ? c->fp_len : c->len;

    if (len > sb->maxlen)
        sb->maxlen = len;
    if (!d->body)
        sb->eager = 1;
    if ((sb->npat & (sb->npat - 1)) == 0) {      /* 0, 1, 2, 4, ...: grow to the next power */
        uint32_t *v = realloc(sb->pat, (sb->npat ? sb->npat * 2 : 1) * sizeof *v);

        if (v == NULL)
            return -1;
        sb->pat = v;
    }
    sb->pat[sb->npat++] = rank;
    return 0;
}

/* Adds a group of the given ranks (sorted) and returns its index, or
 * DETECT_NONE with err filled. */
static uint32_t group_add(struct detect_engine *e, const uint32_t *ranks, uint32_t n,
                          uint64_t hash, char *err, size_t errlen)
{
    struct dgroup *g;

    if (e->ngroups == e->capgroups) {
        size_t cap = e->capgroups ? e->capgroups * 2 : 16;
        struct dgroup *v = realloc(e->groups, cap * sizeof *v);

        if (v == NULL)
            goto oom;
        e->groups = v;
        e->capgroups = cap;
    }
    g = &e->groups[e->ngroups++];
    memset(g, 0, sizeof *g);
    g->hash = hash;
    g->nall = n;
    g->all = dup_u32(ranks, n);
    g->pkt = malloc((n ? n : 1) * sizeof *g->pkt);
    g->always = malloc((n ? n : 1) * sizeof *g->always);
    g->salways = malloc((n ? n : 1) * sizeof *g->salways);
    g->iponly = malloc((n ? n : 1) * sizeof *g->iponly);
    g->pat = malloc((n ? n : 1) * sizeof *g->pat);
    if (g->all == NULL || g->pkt == NULL || g->always == NULL || g->salways == NULL ||
        g->iponly == NULL || g->pat == NULL)
        goto oom;
    for (int k = 0; k < FK_COUNT; k++)
        if ((g->flowl[k] = malloc((n ? n : 1) * sizeof *g->flowl[k])) == NULL ||
            (g->flowa[k] = malloc((n ? n : 1) * sizeof *g->flowa[k])) == NULL)
            goto oom;
    if (e->nvkeys && (g->sb = calloc(e->nvkeys, sizeof *g->sb)) == NULL)
        goto oom;
    for (uint32_t i = 0; i < n; i++) {
        const struct drule *d = &e->rules[ranks[i]];

        if (d->flow_level) {
            g->flowl[d->kind][g->nflowl[d->kind]++] = ranks[i];
            if (d->fp >= 0 && sticky_add(&g->sb[d->fpkey], d, ranks[i]) < 0)
                goto oom;
            else if (d->fp < 0)
                g->flowa[d->kind][g->nflowa[d->kind]++] = ranks[i];
            continue;
        }
        if (d->iponly) {
            g->iponly[g->niponly++] = ranks[i];
            continue;
        }
        g->pkt[g->npkt++] = ranks[i];
        if (d->fp >= 0)
            g->pat[g->npat++] = ranks[i];
        else
            g->always[g->nalways++] = ranks[i];
        if (d->smode == SM_PACKET)
            continue;
        if (d->fp < 0)
            g->salways[g->nsalways++] = ranks[i];
        else if (d->r->sm[d->fp].u.c.len > g->maxfp)
            g->maxfp = d->r->sm[d->fp].u.c.len;
        if (d->reach > g->sreach)
            g->sreach = d->reach;
    }
    e->st.always += g->nalways;
    e->st.iponly += g->niponly;
    group_shrink(g);
    if (diponly_build(&g->ipx, e, g->iponly, g->niponly) < 0)
        goto oom;
    if (compile_db(e, g->pat, g->npat, &g->db, err, errlen) < 0)
        return DETECT_NONE;
    for (size_t k = 0; k < e->nvkeys; k++)
        if (compile_db(e, g->sb[k].pat, g->sb[k].npat, &g->sb[k].db, err, errlen) < 0)
            return DETECT_NONE;
    return (uint32_t)(e->ngroups - 1);
oom:
    snprintf(err, errlen, "out of memory");
    return DETECT_NONE;
}

/* Which classes a rule belongs to (bit per DC_*). */
static unsigned rule_classes(const struct rule *r)
{
    switch (r->ipproto) {
    case 0:  return r->app_layer ? (1u << DC_TCP) | (1u << DC_UDP) : (1u << DC_COUNT) - 1;
    case 6:  return 1u << DC_TCP;
    case 17: return 1u << DC_UDP;
    case 1:  return 1u << DC_ICMP;
    default: return 1u << DC_OTHER;
    }
}

static uint32_t port_span(const struct rule_portset *s)
{
    uint32_t n = 0;

    if (s->any)
        return DETECT_NPORTS;
    for (uint32_t i = 0; i < s->n; i++)
        n += (uint32_t)s->r[i].hi - s->r[i].lo + 1;
    return n;
}

/* 'd' (dport buckets), 's' (sport buckets) or 'a' (any-port group). */
static char rule_placement(const struct rule *r, int cls)
{
    if ((cls != DC_TCP && cls != DC_UDP) || r->bidir)
        return 'a';
    if (port_span(&r->dport) <= DETECT_SMALL_PORTSET)
        return 'd';
    if (port_span(&r->sport) <= DETECT_SMALL_PORTSET)
        return 's';
    return 'a';
}

/* Builds the port map of one class and kind: a bucket per port that some
 * rule names, holding those rules plus nothing else (the any-port group is
 * scanned separately). Equal buckets share one group. */
static int build_portmap(struct detect_engine *e, int cls, char kind, uint32_t **mapp,
                         char *err, size_t errlen)
{
    uint32_t *cnt = NULL, *off = NULL, *ent = NULL, *map = NULL, *table = NULL;
    size_t total = 0, tsize = 1;
    int rc = -1;

    cnt = calloc(DETECT_NPORTS + 1, sizeof *cnt);
    if (cnt == NULL)
        goto oom;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < e->n; k++) {
            const struct rule *r = e->rules[k].r;
            const struct rule_portset *s = kind == 'd' ? &r->dport : &r->sport;

            if (!(rule_classes(r) & (1u << cls)) || rule_placement(r, cls) != kind)
                continue;
            for (uint32_t i = 0; i < s->n; i++)
                for (uint32_t port = s->r[i].lo; port <= s->r[i].hi; port++) {
                    if (pass == 0)
                        cnt[port]++;
                    else
                        ent[off[port]++] = (uint32_t)k;
                }
        }
        if (pass == 1)
            break;
        for (uint32_t port = 0; port < DETECT_NPORTS; port++)
            total += cnt[port];
        if (total == 0) {
            rc = 0;
            goto done;
        }
        off = malloc((DETECT_NPORTS + 1) * sizeof *off);
        ent = malloc(total * sizeof *ent);
        if (off == NULL || ent == NULL)
            goto oom;
        off[0] = 0;
        for (uint32_t port = 0; port < DETECT_NPORTS; port++)
            off[port + 1] = off[port] + cnt[port];
    }
    /* off[port] now points at the end of the port's entries */
    map = malloc(DETECT_NPORTS * sizeof *map);
    while (tsize < 2 * DETECT_NPORTS)
        tsize <<= 1;
    table = malloc(tsize * sizeof *table);
    if (map == NULL || table == NULL)
        goto oom;
    memset(table, 0xff, tsize * sizeof *table);
    for (uint32_t port = 0; port < DETECT_NPORTS; port++) {
        const uint32_t *v = ent + off[port] - cnt[port];
        uint64_t h;
        size_t slot;

        map[port] = DETECT_NONE;
        if (cnt[port] == 0)
            continue;
        h = hash_u32s(v, cnt[port]);
        for (slot = h & (tsize - 1); table[slot] != DETECT_NONE; slot = (slot + 1) & (tsize - 1)) {
            const struct dgroup *g = &e->groups[table[slot]];

            if (g->hash == h && g->nall == cnt[port] && memcmp(g->all, v, cnt[port] * sizeof *v) == 0)
                break;
        }
        if (table[slot] == DETECT_NONE) {
            table[slot] = group_add(e, v, cnt[port], h, err, errlen);
            if (table[slot] == DETECT_NONE)
                goto done;
        }
        map[port] = table[slot];
    }
    *mapp = map;
    map = NULL;
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
done:
    free(cnt);
    free(off);
    free(ent);
    free(map);
    free(table);
    return rc;
}

static int build_class(struct detect_engine *e, int cls, char *err, size_t errlen)
{
    uint32_t *v = malloc((e->n ? e->n : 1) * sizeof *v), n = 0;

    if (v == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < e->n; k++)
        if ((rule_classes(e->rules[k].r) & (1u << cls)) && rule_placement(e->rules[k].r, cls) == 'a')
            v[n++] = (uint32_t)k;
    e->cls[cls].any = group_add(e, v, n, hash_u32s(v, n), err, errlen);
    free(v);
    if (e->cls[cls].any == DETECT_NONE)
        return -1;
    if (build_portmap(e, cls, 'd', &e->cls[cls].dmap, err, errlen) < 0 ||
        build_portmap(e, cls, 's', &e->cls[cls].smap, err, errlen) < 0)
        return -1;
    return 0;
}

static uint64_t now_usec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct detect_engine *detect_compile(struct rule_list *rules, char *err, size_t errlen)
{
    struct detect_engine *e = calloc(1, sizeof *e);
    const struct rule **ord = NULL;
    uint64_t t0 = now_usec();
    size_t vkcap = 0;

    if (e == NULL) {
        rule_list_free(rules);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->gen = __atomic_add_fetch(&engine_gen, 1, __ATOMIC_RELAXED);
    e->list = rules;
    e->n = rules->n;
    e->rules = calloc(e->n ? e->n : 1, sizeof *e->rules);
    ord = malloc((e->n ? e->n : 1) * sizeof *ord);
    if (e->rules == NULL || ord == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < e->n; i++)
        ord[i] = rules->v[i];
    qsort(ord, e->n, sizeof *ord, cmp_rules);
    for (size_t i = 0; i < e->n; i++) {
        struct drule *d = &e->rules[i];

        d->r = ord[i];
        d->pview = (int16_t)view_of(ord[i], RULE_BUF_PAYLOAD);
        d->flow_level = (uint8_t)is_flow_level(ord[i]);
        d->fp = pick_fast_pattern(ord[i], d->flow_level);
        if (d->flow_level && d->fp >= 0) {
            int k = vkey_of(e, &ord[i]->views[ord[i]->sm[d->fp].view], &vkcap);

            if (k < 0) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            d->fpkey = (uint16_t)k;
        }
        e->rules[i].kind = rule_kind(ord[i]);
        d->late = (uint8_t)(d->flow_level && rule_late(ord[i]));
        /* A rule on a body waits for it (detect_body_waits()), unless it
         * also reads the packet: that part is the packet's that brings it. */
        if (!(ord[i]->buffers & RULE_BUF_BIT(RULE_BUF_PAYLOAD)))
            d->body = (uint8_t)(((ord[i]->buffers & RULE_BUF_BIT(RULE_BUF_HTTP_REQUEST_BODY)) ? DETECT_BODY_TS : 0) |
                            ((ord[i]->buffers & RULE_BUF_BIT(RULE_BUF_HTTP_RESPONSE_BODY)) ? DETECT_BODY_TC : 0) |
                            ((ord[i]->buffers & RULE_BUF_BIT(RULE_BUF_FILE_DATA)) ? DETECT_BODY_DIR : 0));
        /* A late rule whose fast pattern is in a buffer complete with the
         * headers ("http.method; content:"POST"; http.request_body; ...")
         * must still become a candidate when its late part arrives. */
        if (d->late && d->fp >= 0 && !detect_buffer_late(ord[i]->views[ord[i]->sm[d->fp].view].buf))
            e->vkeys[d->fpkey].late_fp = 1;
        for (unsigned k = 1; d->flow_level && k < RULE_BUF_COUNT; k++)
            if ((ord[i]->buffers & RULE_BUF_BIT(k)) && rule_buffer_info(k)->dir == RULE_DIR_BOTH)
                d->bothdirs = 1;
        /* A transaction's events are each direction's, as Suricata
         * inspects them: a rule without a direction alerts once each way. */
        if (d->flow_level && d->kind != FK_NONE && app_events_only(ord[i]))
            d->bothdirs = 1;
        e->rules[i].iponly = !e->rules[i].flow_level && is_ip_only(ord[i]);
        e->st.flow_level += e->rules[i].flow_level;
        if (!e->rules[i].flow_level && !e->rules[i].iponly)
            e->rules[i].smode = stream_mode(ord[i], d->pview);
        if (e->rules[i].smode != SM_PACKET) {
            e->rules[i].reach = stream_reach(ord[i], d->pview);
            e->st.stream += e->rules[i].smode == SM_STREAM;
            e->st.stream_both += e->rules[i].smode == SM_BOTH;
            e->rules[i].hist = e->rules[i].fp >= 0 &&
                               e->rules[i].reach > ord[i]->sm[e->rules[i].fp].u.c.len;
            e->st.stream_hist += e->rules[i].hist;
        }
    }
    for (int c = 0; c < DC_COUNT; c++)
        if (build_class(e, c, err, errlen) < 0)
            goto fail;
    for (size_t i = 0; i < e->n; i++) {
        if (!runs_on_held(e->rules[i].r))
            continue;
        if (!e->held && !(e->held = malloc(e->n * sizeof *e->held))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        e->held[e->nheld++] = (uint32_t)i;
    }
    free(ord);
    e->st.rules = e->n;
    e->st.groups = e->ngroups;
    e->st.compile_usec = now_usec() - t0;
    return e;
fail:
    free(ord);
    detect_engine_free(e);
    return NULL;
}

void detect_engine_free(struct detect_engine *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->ngroups; i++) {
        struct dgroup *g = &e->groups[i];

        hs_free_database(g->db);
        free(g->all);
        free(g->pkt);
        free(g->always);
        free(g->salways);
        free(g->iponly);
        diponly_free(&g->ipx);
        for (int k = 0; k < FK_COUNT; k++) {
            free(g->flowl[k]);
            free(g->flowa[k]);
        }
        for (size_t k = 0; g->sb && k < e->nvkeys; k++) {
            hs_free_database(g->sb[k].db);
            free(g->sb[k].pat);
        }
        free(g->sb);
        free(g->pat);
    }
    free(e->groups);
    for (int c = 0; c < DC_COUNT; c++) {
        free(e->cls[c].dmap);
        free(e->cls[c].smap);
    }
    free(e->rules);
    free(e->vkeys);
    free(e->held);
    rule_list_free(e->list);
    free(e);
}

size_t detect_rule_count(const struct detect_engine *e)
{
    return e->n;
}

uint64_t detect_engine_buffers(const struct detect_engine *e)
{
    uint64_t b = 0;

    for (size_t i = 0; e && i < e->n; i++)
        b |= e->rules[i].r->buffers;
    return b;
}

void detect_engine_stats(const struct detect_engine *e, struct detect_engine_stats *out)
{
    *out = e->st;
}

/* ================================================================== reachability */

/* The largest value c lets through (UINT32_MAX when unbounded). */
static uint32_t cmp_max(const struct rule_cmp *c)
{
    switch (c->op) {
    case RULE_CMP_EQ:    return c->a;
    case RULE_CMP_LT:    return c->a ? c->a - 1 : 0;
    case RULE_CMP_LE:    return c->a;
    case RULE_CMP_RANGE: return c->b - 1;
    default:             return UINT32_MAX;
    }
}

/* The longest positive content of view v (0 none): a buffer shorter than
 * it can not match. */
static uint32_t view_min_len(const struct rule *r, int v)
{
    uint32_t need = 0;

    for (int i = next_sm(r, 0, v); i >= 0; i = next_sm(r, i + 1, v)) {
        const struct rule_content *c = &r->sm[i].u.c;

        if (r->sm[i].type == RULE_SM_CONTENT && !(c->flags & RULE_CT_NEGATED) && c->len > need)
            need = c->len;
    }
    return need;
}

/* Tests of r that contradict each other or its protocol. */
static const char *rule_contradiction(const struct rule *r, char *buf, size_t n)
{
    int pv = view_of(r, RULE_BUF_PAYLOAD);

    if (pv >= 0 && r->dsize.op && cmp_max(&r->dsize) < view_min_len(r, pv)) {
        snprintf(buf, n, "dsize allows at most %u bytes, its content needs %u", cmp_max(&r->dsize),
                 view_min_len(r, pv));
        return buf;
    }
    if ((r->seq.op || r->ack.op || r->window.op || r->tcpflags.set) && r->ipproto && r->ipproto != 6) {
        snprintf(buf, n, "TCP header keywords on a %s rule", r->proto);
        return buf;
    }
    if ((r->icmp_id.op || r->icmp_seq.op || r->itype.op || r->icode.op || r->icmpv6_mtu.op) && r->ipproto &&
        r->ipproto != 1) {
        snprintf(buf, n, "ICMP keywords on a %s rule", r->proto);
        return buf;
    }
    if (r->stream_size[0].side && r->ipproto && r->ipproto != 6) {
        snprintf(buf, n, "stream_size on a %s rule", r->proto);
        return buf;
    }
    for (uint32_t v = 0; v < r->nviews; v++) {
        const struct rule_view *rv = &r->views[v];

        if (rv->nxf == 0 && rv->bsize.op && cmp_max(&rv->bsize) < view_min_len(r, (int)v)) {
            snprintf(buf, n, "bsize allows at most %u bytes of %s, its content needs %u", cmp_max(&rv->bsize),
                     rule_buffer_name((enum rule_buffer)rv->buf), view_min_len(r, (int)v));
            return buf;
        }
    }
    return NULL;
}

/* Why r, as parsed, can never match with the buffer providers there are,
 * NULL when it can. *pending: only because a buffer (or app-layer event)
 * waits for a parser not plugged in yet. */
static const char *rule_unreachable(const struct rule *r, int *pending, char *buf, size_t n)
{
    static const char *const what[] = { "is filled", "waits for its application-layer parser",
                                        "is filled by no provider although its protocol's parser is plugged in" };

    *pending = 0;
    if (rule_contradiction(r, buf, n))
        return buf;
    for (unsigned b = 1; b < RULE_BUF_COUNT; b++) {
        enum detect_fill st;

        if (!(r->buffers & RULE_BUF_BIT(b)) || (st = detect_buffer_state(b)) == DETECT_FILLED)
            continue;
        *pending = st == DETECT_PENDING;
        snprintf(buf, n, "buffer %s %s", rule_buffer_name((enum rule_buffer)b), what[st]);
        return buf;
    }
    for (uint8_t i = 0; i < r->nvalues; i++) {
        static const char *const names[RULE_VAL_COUNT] = {
            [RULE_VAL_TLS_VERSION] = "tls.version", [RULE_VAL_TLS_NOTBEFORE] = "tls_cert_notbefore",
            [RULE_VAL_TLS_NOTAFTER] = "tls_cert_notafter", [RULE_VAL_DNS_OPCODE] = "dns.opcode",
            [RULE_VAL_FILESIZE] = "filesize", [RULE_VAL_FTPDATA_COMMAND] = "ftpdata_command" };
        enum detect_fill st = detect_value_state(r->values[i].id);

        if (st == DETECT_FILLED)
            continue;
        *pending = st == DETECT_PENDING;
        snprintf(buf, n, "%s %s", names[r->values[i].id], what[st]);
        return buf;
    }
    for (uint32_t i = 0; i < r->nevents; i++) {
        char proto[32];
        enum detect_fill st;

        if (r->events[i].kind != RULE_EV_APP)
            continue;
        snprintf(proto, sizeof proto, "%.*s", (int)strcspn(r->events[i].name, "."), r->events[i].name);
        if ((st = detect_events_state(proto)) == DETECT_FILLED)
            continue;
        *pending = st == DETECT_PENDING;
        snprintf(buf, n, "app-layer-event %s: %s events %s", r->events[i].name, proto,
                 st == DETECT_PENDING ? "wait for their parser" : "are reported by no provider");
        return buf;
    }
    return NULL;
}

/* The engine's own promises about d: the lists it was put in. */
static const char *placement_wrong(const struct detect_engine *e, const struct drule *d, char *buf, size_t n)
{
    const struct rule *r = d->r;

    if (d->iponly && (!is_ip_only(r) || (r->tests & ~RULE_T_ACTIONS) || r->nsm || r->nviews))
        snprintf(buf, n, "classed IP-only but it has tests an IP-only rule can not have");
    else if (d->flow_level && d->kind == FK_NONE && rule_kind(r) != FK_NONE)
        snprintf(buf, n, "flow-level with no kind of metadata while its buffers have one");
    else if (!d->flow_level && (r->buffers & ~(RULE_BUF_BIT(RULE_BUF_PAYLOAD) | RULE_BUF_BIT(RULE_BUF_BASE64))))
        snprintf(buf, n, "a packet rule with sticky buffers");
    else if (d->fp >= 0 && d->r->sm[d->fp].type != RULE_SM_CONTENT)
        snprintf(buf, n, "its fast pattern is not a content");
    else
        return NULL;
    return buf;
}

size_t detect_engine_check(const struct detect_engine *e, detect_reach_fn cb, void *arg, size_t *npending)
{
    uint8_t *seen = calloc(e->n ? e->n : 1, 1);
    size_t bad = 0;
    char buf[256];

    *npending = 0;
    for (size_t g = 0; seen && g < e->ngroups; g++) {
        const struct dgroup *gr = &e->groups[g];

        for (uint32_t i = 0; i < gr->npkt; i++)
            seen[gr->pkt[i]] = 1;
        for (uint32_t i = 0; i < gr->niponly; i++)
            seen[gr->iponly[i]] = 1;
        for (int k = 0; k < FK_COUNT; k++)
            for (uint32_t i = 0; i < gr->nflowl[k]; i++)
                seen[gr->flowl[k][i]] = 1;
    }
    for (size_t i = 0; i < e->n; i++) {
        const struct drule *d = &e->rules[i];
        const char *why;
        int pending = 0;

        if (seen == NULL)
            why = "out of memory checking the engine";
        else if (!seen[i])
            why = "in no group: no packet or flow would ever be offered it";
        else if ((why = placement_wrong(e, d, buf, sizeof buf)) == NULL)
            why = rule_unreachable(d->r, &pending, buf, sizeof buf);
        if (why == NULL)
            continue;
        if (pending)
            (*npending)++;
        else
            bad++;
        if (cb)
            cb(arg, d->r, why, pending);
    }
    free(seen);
    return bad;
}
