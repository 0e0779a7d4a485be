/* dns.c - the DNS parser; see dns.h.
 *
 * Every read is checked against the message's length first; a section
 * that does not fit ends the decoding of the message there (counted by
 * its event) and what was decoded before it is kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app-util.h"
#include "dns.h"
#include "json.h"
#include "stats.h"
#include "util.h"

/* Malformed messages in a row after which a flow is given up (it is not DNS). */
#define DNS_MAX_BAD_RUN   8
#define DNS_TCP_MAX_MSG   65535u

const char *const dns_event_names[DNS_EV_MAX] = {
    [DNS_EV_MALFORMED_DATA] = "malformed_data",
    [DNS_EV_NOT_REQUEST] = "not_request",
    [DNS_EV_NOT_RESPONSE] = "not_response",
    [DNS_EV_Z_FLAG_SET] = "z_flag_set",
    [DNS_EV_INVALID_OPCODE] = "invalid_opcode",
    [DNS_EV_NAME_TOO_LONG] = "name_too_long",
    [DNS_EV_INFINITE_LOOP] = "infinite_loop",
    [DNS_EV_TOO_MANY_LABELS] = "too_many_labels",
    [DNS_EV_INVALID_ADDITIONALS] = "invalid_additionals",
    [DNS_EV_INVALID_AUTHORITIES] = "invalid_authorities",
    [DNS_EV_FLOODED] = "flooded",
    [DNS_EV_MEMCAP] = "memcap",
    [DNS_EV_TOO_MANY_RECORDS] = "too_many_records",
};

/* TCP framing of one direction. */
struct dns_tcp {
    uint8_t  hdr[2];
    uint8_t  nhdr;              /* bytes of the length prefix had */
    uint32_t need;              /* the message's length */
    uint32_t skip;              /* bytes of a message being dropped */
    struct app_bytes buf;       /* a message split across calls */
};

struct dns_state {
    struct app_txlist txs;
    uint32_t open;              /* requests waiting for their response */
    uint32_t bad_run;           /* malformed messages in a row */
    struct dns_tcp tcp[2];
};

/* ---------------------------------------------------------------- names */

static const struct { uint16_t type; const char *name; } dns_types[] = {
    { 1, "A" }, { 2, "NS" }, { 3, "MD" }, { 4, "MF" }, { 5, "CNAME" }, { 6, "SOA" }, { 7, "MB" },
    { 8, "MG" }, { 9, "MR" }, { 10, "NULL" }, { 11, "WKS" }, { 12, "PTR" }, { 13, "HINFO" },
    { 14, "MINFO" }, { 15, "MX" }, { 16, "TXT" }, { 17, "RP" }, { 18, "AFSDB" }, { 19, "X25" },
    { 20, "ISDN" }, { 21, "RT" }, { 22, "NSAP" }, { 23, "NSAPPTR" }, { 24, "SIG" }, { 25, "KEY" },
    { 26, "PX" }, { 27, "GPOS" }, { 28, "AAAA" }, { 29, "LOC" }, { 30, "NXT" }, { 33, "SRV" },
    { 34, "ATMA" }, { 35, "NAPTR" }, { 36, "KX" }, { 37, "CERT" }, { 38, "A6" }, { 39, "DNAME" },
    { 41, "OPT" }, { 42, "APL" }, { 43, "DS" }, { 44, "SSHFP" }, { 45, "IPSECKEY" }, { 46, "RRSIG" },
    { 47, "NSEC" }, { 48, "DNSKEY" }, { 49, "DHCID" }, { 50, "NSEC3" }, { 51, "NSEC3PARAM" },
    { 52, "TLSA" }, { 55, "HIP" }, { 59, "CDS" }, { 60, "CDNSKEY" }, { 65, "HTTPS" }, { 99, "SPF" },
    { 249, "TKEY" }, { 250, "TSIG" }, { 254, "MAILA" }, { 255, "ANY" }, { 256, "URI" },
};

const char *dns_rrtype_name(uint16_t type, char buf[8])
{
    for (size_t i = 0; i < sizeof dns_types / sizeof dns_types[0]; i++)
        if (dns_types[i].type == type)
            return dns_types[i].name;
    snprintf(buf, 8, "%u", type);
    return buf;
}

const char *dns_rcode_name(unsigned rcode, char buf[8])
{
    static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
                                         "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
                                         "NOTZONE" };

    if (rcode < sizeof names / sizeof names[0])
        return names[rcode];
    snprintf(buf, 8, "%u", rcode & 0xffffu);
    return buf;
}

/* ---------------------------------------------------------------- decoding */

/* One message being decoded. */
struct dns_dec {
    const uint8_t *m;
    size_t len;
    size_t pos;
    struct app_mem *mem;
    struct dns_msg *msg;
    uint32_t events;            /* bits of enum dns_event */
    int nomem;
};

#define DNS_EV(d, e) ((d)->events |= 1u << (e))

/* Decoding stops at the first question or record that does not fit: the
 * questions and answers count malformed_data, the authorities
 * invalid_authorities, the additionals invalid_additionals; a name that
 * loops or has too many labels adds infinite_loop or too_many_labels. */

/* Appends n bytes to the message's pool; *off is where they start.
 * Returns 0, or -1 when memory was refused (d->nomem set). */
static int dns_pool_add(struct dns_dec *d, const uint8_t *p, size_t n, uint32_t *off)
{
    *off = d->msg->pool.len;
    if (app_bytes_append(d->mem, &d->msg->pool, p, n, UINT32_MAX) < 0) {
        d->nomem = 1;
        return -1;
    }
    return 0;
}

/* Reads the name at off: its text (labels joined by '.', at most
 * DNS_MAX_NAME bytes, *trunc when cut) into out, and in *next the offset
 * just after its wire form at off (after the first pointer when it is
 * compressed). Pointers may go anywhere in the message; DNS_MAX_POINTERS
 * and DNS_MAX_LABELS bound the walk. Returns 0, or -1 with the reason
 * added to d->events. */
static int dns_name_text(struct dns_dec *d, size_t off, size_t *next, uint8_t out[DNS_MAX_NAME],
                         uint16_t *outlen, uint8_t *trunc)
{
    size_t p = off, end = 0, n = 0;
    unsigned ptrs = 0, labels = 0;

    *trunc = 0;
    for (;;) {
        uint8_t c;

        if (p >= d->len)
            goto malformed;
        c = d->m[p];
        if (c == 0) {
            if (!ptrs)
                end = p + 1;
            break;
        }
        if ((c & 0xc0) == 0xc0) {
            if (p + 1 >= d->len)
                goto malformed;
            if (!ptrs)
                end = p + 2;
            if (++ptrs > DNS_MAX_POINTERS) {
                DNS_EV(d, DNS_EV_INFINITE_LOOP);
                return -1;
            }
            p = (size_t)(c & 0x3f) << 8 | d->m[p + 1];
            continue;
        }
        if (c & 0xc0)                  /* extended (0x40) and reserved (0x80) label types */
            goto malformed;
        if (++labels > DNS_MAX_LABELS) {
            DNS_EV(d, DNS_EV_TOO_MANY_LABELS);
            return -1;
        }
        if (c > d->len - p - 1)
            goto malformed;
        for (size_t i = n ? 0 : 1; i <= c; i++) {   /* i == 0: the '.' before the label */
            if (n == DNS_MAX_NAME) {
                *trunc = 1;
                break;
            }
            out[n++] = i ? d->m[p + i] : '.';
        }
        p += 1 + (size_t)c;
    }
    if (*trunc)
        DNS_EV(d, DNS_EV_NAME_TOO_LONG);
    *next = end;
    *outlen = (uint16_t)n;
    return 0;
malformed:
    DNS_EV(d, DNS_EV_MALFORMED_DATA);
    return -1;
}

/* Reads the name at off into the pool (keep) or only walks it. */
static int dns_name_read(struct dns_dec *d, size_t off, size_t *next, struct dns_name *name, int keep)
{
    uint8_t text[DNS_MAX_NAME];
    uint16_t n;
    uint8_t trunc;

    if (dns_name_text(d, off, next, text, &n, &trunc) < 0)
        return -1;
    if (keep) {
        if (dns_pool_add(d, text, n, &name->off) < 0)
            return -1;
        name->len = n;
        name->truncated = trunc;
    }
    return 0;
}

/* A name inside record data [rd, rd_end): it must end within it. */
static int dns_rdata_name(struct dns_dec *d, size_t rd, size_t rd_end, size_t *next, struct dns_name *name)
{
    struct dns_dec sub = *d;

    /* Compression pointers may leave the record data, so the whole message
     * is readable; only the name's own wire form must stay inside. */
    if (dns_name_read(&sub, rd, next, name, 1) < 0 || *next > rd_end) {
        d->events |= sub.events | 1u << DNS_EV_MALFORMED_DATA;
        d->nomem |= sub.nomem;
        return -1;
    }
    d->events |= sub.events;
    return 0;
}

/* Decodes a record's data [rd, rd + n) by its type. Data that does not
 * decode as its type is kept raw (and counted as malformed). */
static void dns_rdata(struct dns_dec *d, struct dns_rr *rr, size_t rd, size_t n)
{
    const uint8_t *p = d->m + rd;
    size_t end = rd + n, next;
    int typed = 1;              /* a type decoded here: raw data is malformed */

    switch (rr->type) {
    case 1:     /* A */
    case 28:    /* AAAA */
        if (n != (rr->type == 1 ? 4u : 16u))
            break;
        rr->kind = DNS_RD_ADDR;
        break;
    case 2:     /* NS */
    case 5:     /* CNAME */
    case 12:    /* PTR */
        if (dns_rdata_name(d, rd, end, &next, &rr->target) == 0)
            rr->kind = DNS_RD_NAME;
        break;
    case 15:    /* MX */
        if (n >= 2 && dns_rdata_name(d, rd + 2, end, &next, &rr->target) == 0) {
            rr->num[0] = lw_get16(p);
            rr->kind = DNS_RD_NAME;
        }
        break;
    case 6:     /* SOA */
        if (dns_rdata_name(d, rd, end, &next, &rr->target) == 0 &&
            dns_rdata_name(d, next, end, &next, &rr->rname) == 0 && end - next >= 20) {
            for (int i = 0; i < 5; i++)
                rr->num[i] = lw_get32(d->m + next + 4 * (size_t)i);
            rr->kind = DNS_RD_SOA;
        }
        break;
    case 33:    /* SRV */
        if (n >= 6 && dns_rdata_name(d, rd + 6, end, &next, &rr->target) == 0) {
            rr->num[0] = lw_get16(p);
            rr->num[1] = lw_get16(p + 2);
            rr->num[2] = lw_get16(p + 4);
            rr->kind = DNS_RD_SRV;
        }
        break;
    case 44:    /* SSHFP */
        if (n >= 2) {
            rr->num[0] = p[0];
            rr->num[1] = p[1];
            rr->kind = DNS_RD_SSHFP;
        }
        break;
    default:
        typed = 0;
        break;
    }
    if (typed && rr->kind == DNS_RD_RAW)
        DNS_EV(d, DNS_EV_MALFORMED_DATA);
    if (rr->kind == DNS_RD_SSHFP) {
        p += 2;
        n -= 2;
    }
    if ((rr->kind == DNS_RD_ADDR || rr->kind == DNS_RD_RAW || rr->kind == DNS_RD_SSHFP) &&
        dns_pool_add(d, p, n, &rr->data_off) == 0)
        rr->data_len = (uint32_t)n;
}

/* Reads one record of section sec at d->pos; keeps it when there is room.
 * Returns 0, or -1 when it does not fit the message. */
static int dns_rr_read(struct dns_dec *d, int sec, uint32_t keep_max, uint32_t max_names)
{
    struct dns_msg *msg = d->msg;
    struct dns_rr tmp, *rr = &tmp;
    size_t next, rd;
    uint16_t rdlen;
    int keep = msg->nrr[sec] < keep_max;

    if (keep)
        rr = &msg->rr[sec][msg->nrr[sec]];
    memset(rr, 0, sizeof *rr);
    if (dns_name_read(d, d->pos, &next, &rr->name, keep) < 0 || d->len - next < 10)
        return -1;
    rr->type = lw_get16(d->m + next);
    rr->class = lw_get16(d->m + next + 2);
    rr->ttl = lw_get32(d->m + next + 4);
    rdlen = lw_get16(d->m + next + 8);
    rd = next + 10;
    if (rdlen > d->len - rd)
        return -1;
    if (keep) {
        dns_rdata(d, rr, rd, rdlen);
        msg->nrr[sec]++;
    } else if (msg->nrr[sec] >= max_names) {
        DNS_EV(d, DNS_EV_TOO_MANY_RECORDS);
    }
    d->pos = rd + rdlen;
    return d->nomem ? -1 : 0;
}

static void dns_msg_free(struct app_mem *mem, struct dns_msg *msg)
{
    if (!msg)
        return;
    app_bytes_free(mem, &msg->pool);
    app_free(mem, msg, msg->size);
}

static uint32_t dns_min3(uint32_t a, uint32_t b, uint32_t c)
{
    return a < b ? (a < c ? a : c) : (b < c ? b : c);
}

/* Decodes the questions, then the three record sections. A section that
 * does not fit ends the decoding (its event: malformed_data for the
 * questions and answers, invalid_authorities, invalid_additionals). */
static void dns_sections(struct dns_dec *d, uint32_t max_names, uint32_t kq, const uint32_t krr[3])
{
    static const int sec_event[3] = { DNS_EV_MALFORMED_DATA, DNS_EV_INVALID_AUTHORITIES,
                                      DNS_EV_INVALID_ADDITIONALS };
    struct dns_msg *msg = d->msg;

    for (uint32_t i = 0; i < msg->qdcount; i++) {
        struct dns_query tmp, *q = i < kq ? &msg->q[msg->nq] : &tmp;
        size_t next;

        if (dns_name_read(d, d->pos, &next, &q->name, i < kq) < 0)
            goto bad_query;
        if (d->len - next < 4) {
            DNS_EV(d, DNS_EV_MALFORMED_DATA);
            goto bad_query;
        }
        q->type = lw_get16(d->m + next);
        q->class = lw_get16(d->m + next + 2);
        d->pos = next + 4;
        if (i < kq)
            msg->nq++;
        else if (i >= max_names)
            DNS_EV(d, DNS_EV_TOO_MANY_RECORDS);
    }
    for (int s = 0; s < 3; s++)
        for (uint32_t i = 0; i < msg->rrcount[s]; i++) {
            uint32_t before = d->events;

            if (dns_rr_read(d, s, krr[s], max_names) < 0) {
                /* the section's event says it; a name's loop or labels too */
                if (!d->nomem)
                    d->events = (before | (d->events & ~(1u << DNS_EV_MALFORMED_DATA))) | 1u << sec_event[s];
                return;
            }
        }
    return;
bad_query:
    if (!d->nomem)
        DNS_EV(d, DNS_EV_MALFORMED_DATA);
}

/* Decodes the message m[0..len). Returns it (on ctx's memory), or NULL
 * when it has no header or memory was refused (events say which). */
static struct dns_msg *dns_msg_decode(struct app_ctx *ctx, const uint8_t *m, size_t len, uint32_t *events)
{
    struct dns_dec d = { .m = m, .len = len, .pos = 12, .mem = &ctx->mem };
    uint32_t max_names = ctx->limits.max_names, kq, krr[3];
    size_t rest = len > 12 ? len - 12 : 0, size;
    struct dns_msg *msg;
    char *p;

    if (len < 12) {
        *events = 1u << DNS_EV_MALFORMED_DATA;
        return NULL;
    }
    /* Kept entries: no more than the limit, nor than the bytes could hold
     * (a question takes 5 bytes at least, a record 11). */
    kq = dns_min3(lw_get16(m + 4), max_names, (uint32_t)(rest / 5));
    for (int s = 0; s < 3; s++)
        krr[s] = dns_min3(lw_get16(m + 6 + 2 * s), max_names, (uint32_t)(rest / 11));
    size = sizeof *msg + kq * sizeof(struct dns_query) + (krr[0] + krr[1] + krr[2]) * sizeof(struct dns_rr);
    if (!(msg = app_calloc(&ctx->mem, 1, size))) {
        *events = 1u << DNS_EV_MEMCAP;
        return NULL;
    }
    msg->size = size;
    p = (char *)(msg + 1);
    for (int s = 0; s < 3; s++) {
        msg->rr[s] = (struct dns_rr *)p;
        p += krr[s] * sizeof(struct dns_rr);
    }
    msg->q = (struct dns_query *)p;
    msg->id = lw_get16(m);
    msg->flags = lw_get16(m + 2);
    msg->qdcount = lw_get16(m + 4);
    for (int s = 0; s < 3; s++)
        msg->rrcount[s] = lw_get16(m + 6 + 2 * s);
    d.msg = msg;
    dns_sections(&d, max_names, kq, krr);
    if (d.nomem) {
        dns_msg_free(&ctx->mem, msg);
        *events = d.events | 1u << DNS_EV_MEMCAP;
        return NULL;
    }
    *events = d.events;
    return msg;
}

/* ---------------------------------------------------------------- transactions */

static struct dns_tx *dns_tx_new(struct app_ctx *ctx, struct dns_state *st)
{
    struct dns_tx *tx = app_calloc(&ctx->mem, 1, sizeof *tx);

    if (!tx)
        return NULL;
    app_txlist_push(&st->txs, &tx->tx);
    STATS_INC(ctx->stats.tx[APP_PROTO_DNS]);
    return tx;
}

/* A request that will get no response (the flow ends, or too many wait):
 * its response direction is done, with nothing to log. */
static void dns_close(struct dns_state *st, struct dns_tx *tx)
{
    tx->open = 0;
    st->open--;
    tx->tx.progress[APP_TO_CLIENT] = APP_PROG_DONE;
    if (!tx->resp)
        tx->tx.logged |= APP_LOGGED_TC;
}

/* A request opens a transaction; past max_tx waiting ones the oldest is
 * given up first. */
static struct dns_tx *dns_request(struct app_ctx *ctx, struct dns_state *st, struct dns_msg *msg)
{
    uint32_t max = ctx->limits.max_tx ? ctx->limits.max_tx : UINT32_MAX;
    struct dns_tx *tx;

    for (struct app_tx *t = st->txs.head; t && st->open >= max; t = t->next) {
        struct dns_tx *old = (struct dns_tx *)t;

        if (old->open) {
            dns_close(st, old);
            app_event(ctx, APP_PROTO_DNS, DNS_EV_FLOODED, t);
        }
    }
    if (!(tx = dns_tx_new(ctx, st)))
        return NULL;
    tx->req = msg;
    tx->open = 1;
    st->open++;
    tx->tx.progress[APP_TO_SERVER] = APP_PROG_DONE;
    return tx;
}

/* A response closes the oldest waiting request with its id, or stands alone. */
static struct dns_tx *dns_response(struct app_ctx *ctx, struct dns_state *st, struct dns_msg *msg)
{
    struct dns_tx *tx;

    for (struct app_tx *t = st->txs.head; t && st->open; t = t->next) {
        tx = (struct dns_tx *)t;
        if (tx->open && tx->req->id == msg->id) {
            tx->resp = msg;
            dns_close(st, tx);
            return tx;
        }
    }
    if (!(tx = dns_tx_new(ctx, st)))
        return NULL;
    tx->resp = msg;
    tx->tx.progress[APP_TO_SERVER] = APP_PROG_DONE;
    tx->tx.progress[APP_TO_CLIENT] = APP_PROG_DONE;
    tx->tx.logged |= APP_LOGGED_TS;      /* no request to log */
    return tx;
}

/* One whole message of direction dir. */
static void dns_message(struct app_ctx *ctx, struct dns_state *st, enum app_dir dir, const uint8_t *m, size_t len)
{
    uint32_t ev = 0;
    struct dns_msg *msg = dns_msg_decode(ctx, m, len, &ev);
    struct dns_tx *tx = NULL;

    if (msg) {
        if (dir == APP_TO_SERVER && (msg->flags & DNS_FLAG_QR))
            ev |= 1u << DNS_EV_NOT_REQUEST;
        if (dir == APP_TO_CLIENT && !(msg->flags & DNS_FLAG_QR))
            ev |= 1u << DNS_EV_NOT_RESPONSE;
        if (msg->flags & 0x0040)
            ev |= 1u << DNS_EV_Z_FLAG_SET;
        if (DNS_OPCODE(msg->flags) >= 7)
            ev |= 1u << DNS_EV_INVALID_OPCODE;
        tx = dir == APP_TO_SERVER ? dns_request(ctx, st, msg) : dns_response(ctx, st, msg);
        if (!tx) {
            dns_msg_free(&ctx->mem, msg);
            ev |= 1u << DNS_EV_MEMCAP;
        }
    }
    for (unsigned e = 0; e < DNS_EV_MAX; e++)
        if (ev & 1u << e)
            app_event(ctx, APP_PROTO_DNS, e, tx ? &tx->tx : NULL);
    if (!msg || (ev & 1u << DNS_EV_MALFORMED_DATA))
        st->bad_run++;
    else
        st->bad_run = 0;
}

/* TCP: length-prefixed messages, split across calls or several per call. */
static void dns_stream(struct app_ctx *ctx, struct dns_state *st, enum app_dir dir, const uint8_t *d, size_t len)
{
    struct dns_tcp *t = &st->tcp[dir];

    while (len && st->bad_run < DNS_MAX_BAD_RUN) {
        size_t take;

        if (t->skip) {
            take = len < t->skip ? len : t->skip;
            t->skip -= (uint32_t)take;
            d += take;
            len -= take;
            if (!t->skip)
                t->nhdr = 0;
            continue;
        }
        if (t->nhdr < 2) {
            t->hdr[t->nhdr++] = *d++;
            len--;
            if (t->nhdr == 2 && !(t->need = lw_get16(t->hdr))) {
                app_event(ctx, APP_PROTO_DNS, DNS_EV_MALFORMED_DATA, NULL);
                st->bad_run++;
                t->nhdr = 0;
            }
            continue;
        }
        if (!t->buf.len && len >= t->need) {         /* whole in this call: no copy */
            dns_message(ctx, st, dir, d, t->need);
            d += t->need;
            len -= t->need;
            t->nhdr = 0;
            continue;
        }
        take = t->need - t->buf.len;
        if (take > len)
            take = len;
        if (app_bytes_append(&ctx->mem, &t->buf, d, take, DNS_TCP_MAX_MSG) < 0) {
            app_event(ctx, APP_PROTO_DNS, DNS_EV_MEMCAP, NULL);
            t->skip = t->need - t->buf.len;
            app_bytes_free(&ctx->mem, &t->buf);
            continue;
        }
        d += take;
        len -= take;
        if (t->buf.len == t->need) {
            dns_message(ctx, st, dir, t->buf.p, t->buf.len);
            app_bytes_free(&ctx->mem, &t->buf);
            t->nhdr = 0;
        }
    }
}

/* ---------------------------------------------------------------- parser */

static int dns_parse(struct app_ctx *ctx, void *state, enum app_dir dir, const uint8_t *data, size_t len,
                     unsigned flags, uint64_t ts_usec)
{
    struct dns_state *st = state;

    (void)ts_usec;
    if (flags & APP_IN_GAP) {
        /* The framing is lost: what follows is taken as a new message. */
        struct dns_tcp *t = &st->tcp[dir];

        app_bytes_free(&ctx->mem, &t->buf);
        t->nhdr = 0;
        t->skip = 0;
    } else if (len && (flags & APP_IN_DGRAM)) {
        dns_message(ctx, st, dir, data, len);
    } else if (len) {
        dns_stream(ctx, st, dir, data, len);
    }
    if ((flags & APP_IN_EOF) && dir == APP_TO_CLIENT)
        for (struct app_tx *t = st->txs.head; t && st->open; t = t->next)
            if (((struct dns_tx *)t)->open)
                dns_close(st, (struct dns_tx *)t);
    return st->bad_run >= DNS_MAX_BAD_RUN ? -1 : 0;
}

/* Whether d[0..len) starts like a DNS message of direction dir: a header
 * with a sane opcode, the direction's QR bit and 1 to 8 questions, and
 * the first question's name (of printable labels, as host names are) and
 * type within reach. Stricter than the parser, which takes any bytes. */
static int dns_probe_msg(const uint8_t *d, size_t len, enum app_dir dir)
{
    uint16_t flags, qd;
    size_t p = 12;

    if (len < 12)
        return -1;
    flags = lw_get16(d + 2);
    qd = lw_get16(d + 4);
    if (!(flags & DNS_FLAG_QR) != (dir == APP_TO_SERVER) || DNS_OPCODE(flags) >= 7 || qd == 0 || qd > 8)
        return 0;
    for (unsigned labels = 0;; labels++) {
        if (p >= len)
            return -1;
        if (d[p] == 0 || (d[p] & 0xc0) == 0xc0) {
            p += d[p] ? 2 : 1;
            break;
        }
        if ((d[p] & 0xc0) || labels >= DNS_MAX_LABELS)
            return 0;
        for (size_t i = p + 1; i <= p + d[p] && i < len; i++)
            if (d[i] < 0x21 || d[i] > 0x7e)
                return 0;
        p += 1 + (size_t)d[p];
    }
    return p + 4 <= len ? 1 : -1;
}

/* A UDP datagram is a message; a TCP stream starts with the length. */
static int dns_probe(const uint8_t *d, size_t len, enum app_dir dir)
{
    int udp = dns_probe_msg(d, len, dir), tcp = -1;

    if (len >= 2) {
        size_t n = lw_get16(d);

        tcp = n < 12 ? 0 : dns_probe_msg(d + 2, len - 2 < n ? len - 2 : n, dir);
    }
    if (udp == 1 || tcp == 1)
        return 1;
    return udp < 0 || tcp < 0 ? -1 : 0;
}

static void *dns_state_new(struct app_ctx *ctx)
{
    return app_calloc(&ctx->mem, 1, sizeof(struct dns_state));
}

static void dns_tx_free(struct app_ctx *ctx, void *state, struct app_tx *t)
{
    struct dns_state *st = state;
    struct dns_tx *tx = (struct dns_tx *)t;

    if (tx->open)
        st->open--;
    dns_msg_free(&ctx->mem, tx->req);
    dns_msg_free(&ctx->mem, tx->resp);
    app_free(&ctx->mem, tx, sizeof *tx);
}

static void dns_state_free(struct app_ctx *ctx, void *state)
{
    struct dns_state *st = state;
    struct app_tx *t;

    if (!st)
        return;
    while ((t = app_txlist_pop(&st->txs)) != NULL)
        dns_tx_free(ctx, st, t);
    for (int i = 0; i < 2; i++)
        app_bytes_free(&ctx->mem, &st->tcp[i].buf);
    app_free(&ctx->mem, st, sizeof *st);
}

static struct app_txlist *dns_txs(void *state)
{
    return &((struct dns_state *)state)->txs;
}

/* ---------------------------------------------------------------- getters */

const struct dns_msg *dns_tx_msg(const struct dns_tx *tx, enum app_dir dir)
{
    return dir == APP_TO_SERVER ? tx->req : tx->resp;
}

int dns_tx_query(const struct dns_tx *tx, uint32_t i, const uint8_t **name, uint32_t *len)
{
    const struct dns_msg *m = tx->req ? tx->req : tx->resp;

    if (!m || i >= m->nq)
        return 0;
    *name = dns_msg_bytes(m, m->q[i].name.off);
    *len = m->q[i].name.len;
    return 1;
}

unsigned dns_tx_opcode(const struct dns_tx *tx)
{
    const struct dns_msg *m = tx->req ? tx->req : tx->resp;

    return m ? DNS_OPCODE(m->flags) : 0;
}

/* ---------------------------------------------------------------- EVE */

static void dns_eve_name(struct jbuf *jb, const char *key, const struct dns_msg *m, const struct dns_name *n)
{
    char tkey[32];

    jbuf_strn(jb, key, dns_msg_bytes(m, n->off), n->len);
    if (n->truncated) {
        snprintf(tkey, sizeof tkey, "%s_truncated", key);
        jbuf_bool(jb, tkey, 1);
    }
}

/* Suricata's address text: dotted quad, or eight groups of 4 hex digits. */
static void dns_eve_addr(struct jbuf *jb, const struct dns_msg *m, const struct dns_rr *rr)
{
    const uint8_t *a = dns_msg_bytes(m, rr->data_off);
    char s[40];

    if (rr->data_len == 4) {
        snprintf(s, sizeof s, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    } else {
        char *o = s;

        for (int i = 0; i < 16; i += 2)
            o += snprintf(o, (size_t)(s + sizeof s - o), "%s%02x%02x", i ? ":" : "", a[i], a[i + 1]);
    }
    jbuf_str(jb, "rdata", s);
}

/* key: n bytes as lower-case hex, sep between bytes when not 0. */
static void dns_eve_hex(struct jbuf *jb, const char *key, const uint8_t *p, size_t n, char sep)
{
    char small[3 * 64 + 1], *s = small;

    if (n > 64 && !(s = malloc(3 * n + 1)))
        return;
    app_hex(s, p, n, 0, sep);
    jbuf_str(jb, key, s);
    if (s != small)
        free(s);
}

/* The OPT record's options ({code, data hex}) when jb is set; returns how
 * many there are (those that fit the record). */
static int dns_eve_opt(struct jbuf *jb, const uint8_t *p, uint32_t n)
{
    int k = 0;

    for (uint32_t i = 0; n - i >= 4; k++) {
        uint16_t olen = lw_get16(p + i + 2);

        if (olen > n - i - 4)
            break;
        if (jb) {
            jbuf_open_object(jb, NULL);
            jbuf_u64(jb, "code", lw_get16(p + i));
            dns_eve_hex(jb, "data", p + i + 4, olen, 0);
            jbuf_close_object(jb);
        }
        i += 4u + olen;
    }
    return k;
}

static void dns_eve_soa(struct jbuf *jb, const char *key, const struct dns_msg *m, const struct dns_rr *rr)
{
    static const char *const nums[5] = { "serial", "refresh", "retry", "expire", "minimum" };

    jbuf_open_object(jb, key);
    dns_eve_name(jb, "mname", m, &rr->target);
    dns_eve_name(jb, "rname", m, &rr->rname);
    for (int i = 0; i < 5; i++)
        jbuf_u64(jb, nums[i], rr->num[i]);
    jbuf_close_object(jb);
}

/* One record entry as Suricata's answer detail (a TXT record's string
 * txt, from 0). */
static void dns_eve_rr(struct jbuf *jb, const struct dns_msg *m, const struct dns_rr *rr,
                       const uint8_t *txt, uint32_t txt_len)
{
    char tb[8];

    jbuf_open_object(jb, NULL);
    dns_eve_name(jb, "rrname", m, &rr->name);
    jbuf_str(jb, "rrtype", dns_rrtype_name(rr->type, tb));
    jbuf_u64(jb, "ttl", rr->ttl);
    switch (rr->kind) {
    case DNS_RD_ADDR:
        dns_eve_addr(jb, m, rr);
        break;
    case DNS_RD_NAME:
        jbuf_strn(jb, "rdata", dns_msg_bytes(m, rr->target.off), rr->target.len);
        if (rr->target.truncated)
            jbuf_bool(jb, "rdata_truncated", 1);
        break;
    case DNS_RD_SOA:
        dns_eve_soa(jb, "soa", m, rr);
        break;
    case DNS_RD_SRV:
        jbuf_open_object(jb, "srv");
        jbuf_u64(jb, "priority", rr->num[0]);
        jbuf_u64(jb, "weight", rr->num[1]);
        jbuf_u64(jb, "port", rr->num[2]);
        jbuf_strn(jb, "name", dns_msg_bytes(m, rr->target.off), rr->target.len);
        jbuf_close_object(jb);
        break;
    case DNS_RD_SSHFP:
        jbuf_open_object(jb, "sshfp");
        dns_eve_hex(jb, "fingerprint", dns_msg_bytes(m, rr->data_off), rr->data_len, ':');
        jbuf_u64(jb, "algo", rr->num[0]);
        jbuf_u64(jb, "type", rr->num[1]);
        jbuf_close_object(jb);
        break;
    default:
        if (txt)
            jbuf_strn(jb, "rdata", txt, txt_len);
        else if (rr->type == 10)        /* NULL: its bytes as a string */
            jbuf_strn(jb, "rdata", dns_msg_bytes(m, rr->data_off), rr->data_len);
        else if (rr->type == 41) {
            jbuf_open_array(jb, "opt");
            dns_eve_opt(jb, dns_msg_bytes(m, rr->data_off), rr->data_len);
            jbuf_close_array(jb);
        }
        break;
    }
    jbuf_close_object(jb);
}

/* Entries of one record: one per TXT string, none for an OPT record
 * without options, else one. Writes them when jb is set; returns how many. */
static int dns_eve_entries(struct jbuf *jb, const struct dns_msg *m, const struct dns_rr *rr)
{
    const uint8_t *p = dns_msg_bytes(m, rr->data_off);
    int k = 0;

    if (rr->type == 41 && rr->kind == DNS_RD_RAW && dns_eve_opt(NULL, p, rr->data_len) == 0)
        return 0;
    if (rr->type != 16 || rr->kind != DNS_RD_RAW) {
        if (jb)
            dns_eve_rr(jb, m, rr, NULL, 0);
        return 1;
    }
    for (uint32_t i = 0; i < rr->data_len && p[i] < rr->data_len - i; i += 1u + p[i], k++)
        if (jb)
            dns_eve_rr(jb, m, rr, p + i + 1, p[i]);
    return k;
}

/* A section as an array, left out when it would be empty. */
static void dns_eve_section(struct jbuf *jb, const char *key, const struct dns_msg *m, int sec)
{
    int any = 0;

    for (uint16_t i = 0; i < m->nrr[sec] && !any; i++)
        any = dns_eve_entries(NULL, m, &m->rr[sec][i]) > 0;
    if (!any)
        return;
    jbuf_open_array(jb, key);
    for (uint16_t i = 0; i < m->nrr[sec]; i++)
        dns_eve_entries(jb, m, &m->rr[sec][i]);
    jbuf_close_array(jb);
}

void dns_eve_message(const struct dns_tx *tx, enum app_dir dir, struct jbuf *jb)
{
    static const struct { uint16_t bit; const char *key; } bits[] = {
        { 0x8000, "qr" }, { 0x0400, "aa" }, { 0x0200, "tc" }, { 0x0100, "rd" }, { 0x0080, "ra" }, { 0x0040, "z" },
    };
    const struct dns_msg *m = dns_tx_msg(tx, dir);
    char buf[8];

    if (!m)
        return;
    jbuf_u64(jb, "version", 3);
    jbuf_str(jb, "type", dir == APP_TO_SERVER ? "request" : "response");
    jbuf_u64(jb, "tx_id", tx->tx.id);
    jbuf_u64(jb, "id", m->id);
    snprintf(buf, sizeof buf, "%x", m->flags);
    jbuf_str(jb, "flags", buf);
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (m->flags & bits[i].bit)
            jbuf_bool(jb, bits[i].key, 1);
    jbuf_u64(jb, "opcode", DNS_OPCODE(m->flags));
    jbuf_str(jb, "rcode", dns_rcode_name(DNS_RCODE(m->flags), buf));
    if (m->nq) {
        jbuf_open_array(jb, "queries");
        for (uint16_t i = 0; i < m->nq; i++) {
            jbuf_open_object(jb, NULL);
            dns_eve_name(jb, "rrname", m, &m->q[i].name);
            jbuf_str(jb, "rrtype", dns_rrtype_name(m->q[i].type, buf));
            jbuf_close_object(jb);
        }
        jbuf_close_array(jb);
    }
    dns_eve_section(jb, "answers", m, DNS_SEC_ANSWER);
    dns_eve_section(jb, "authorities", m, DNS_SEC_AUTHORITY);
    dns_eve_section(jb, "additionals", m, DNS_SEC_ADDITIONAL);
}

/* Per transaction: the response when there is one, else the request. */
static void dns_tx_eve(const void *state, const struct app_tx *t, struct jbuf *jb)
{
    const struct dns_tx *tx = (const struct dns_tx *)t;

    (void)state;
    dns_eve_message(tx, tx->resp ? APP_TO_CLIENT : APP_TO_SERVER, jb);
}

static const uint16_t dns_ports[] = { 53 };

/* One message of a transaction: the request (APP_TO_SERVER) or the response. */
static void dns_tx_eve_dir(const void *state, const struct app_tx *tx, enum app_dir dir, struct jbuf *jb)
{
    (void)state;
    dns_eve_message((const struct dns_tx *)tx, dir, jb);
}

/* Every query name of the transaction (app_parser.tx_names). */
static void dns_tx_names(const void *state, const struct app_tx *t, app_name_fn fn, void *arg)
{
    const uint8_t *name;
    uint32_t len;

    (void)state;
    for (uint32_t i = 0; dns_tx_query((const struct dns_tx *)t, i, &name, &len); i++)
        fn(arg, APP_NAME_DNS_QUERY, name, len);
}

const struct app_parser app_parser_dns = {
    .name = "dns",
    .proto = APP_PROTO_DNS,
    .tcp = 1,
    .udp = 1,
    .ports = dns_ports,
    .nports = sizeof dns_ports / sizeof dns_ports[0],
    .events = dns_event_names,
    .nevents = DNS_EV_MAX,
    .probe = dns_probe,
    .state_new = dns_state_new,
    .state_free = dns_state_free,
    .parse = dns_parse,
    .txs = dns_txs,
    .tx_free = dns_tx_free,
    .tx_eve = dns_tx_eve,
    .tx_eve_dir = dns_tx_eve_dir,
    .tx_names = dns_tx_names,
};
