/* tls.c - the TLS parser; see tls.h.
 *
 * Hello and certificate messages are read through a cursor whose reads
 * past its end return 0 and latch `bad', so a message is checked once,
 * after its fields are taken. Certificates are decoded by libcrypto
 * (d2i_X509), whose transient allocations are its own; what is kept goes
 * on app_mem.
 *
 * They are decoded in a library context of their own that has only
 * OpenSSL's null provider: d2i_X509 then leaves the public key undecoded
 * (OpenSSL 3.0 turns it into a key object through its provider decoders,
 * about nine tenths of the time of d2i_X509: 450 us against 50 us for a
 * P-256 certificate here), and the key is not used. The context is made
 * once, then only read, which OpenSSL allows from any thread; it lives as
 * long as the process. Without it d2i_X509 runs in the default context.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "app-util.h"
#include "json.h"
#include "tls.h"
#include "util.h"

const char *const tls_event_names[TLS_EV_MAX] = {
    [TLS_EV_INVALID_SSLV2_HEADER] = "invalid_sslv2_header",
    [TLS_EV_INVALID_RECORD_VERSION] = "invalid_record_version",
    [TLS_EV_INVALID_RECORD_TYPE] = "invalid_record_type",
    [TLS_EV_INVALID_RECORD_LENGTH] = "invalid_record_length",
    [TLS_EV_INVALID_HANDSHAKE_MESSAGE] = "invalid_handshake_message",
    [TLS_EV_HEARTBEAT_MESSAGE] = "heartbeat_message",
    [TLS_EV_INVALID_HEARTBEAT_MESSAGE] = "invalid_heartbeat_message",
    [TLS_EV_OVERFLOW_HEARTBEAT_MESSAGE] = "overflow_heartbeat_message",
    [TLS_EV_HANDSHAKE_INVALID_LENGTH] = "handshake_invalid_length",
    [TLS_EV_MULTIPLE_SNI_EXTENSIONS] = "multiple_sni_extensions",
    [TLS_EV_INVALID_SNI_TYPE] = "invalid_sni_type",
    [TLS_EV_INVALID_SNI_LENGTH] = "invalid_sni_length",
    [TLS_EV_TOO_MANY_RECORDS_IN_PACKET] = "too_many_records_in_packet",
    [TLS_EV_INVALID_ALERT_MESSAGE] = "invalid_alert_message",
    [TLS_EV_INVALID_CERTIFICATE] = "invalid_certificate",
    [TLS_EV_CERTIFICATE_INVALID_LENGTH] = "certificate_invalid_length",
    [TLS_EV_CERTIFICATE_INVALID_DER] = "certificate_invalid_der",
    [TLS_EV_CERTIFICATE_INVALID_SUBJECT] = "certificate_invalid_subject",
    [TLS_EV_CERTIFICATE_INVALID_ISSUER] = "certificate_invalid_issuer",
    [TLS_EV_CERTIFICATE_INVALID_SERIAL] = "certificate_invalid_serial",
    [TLS_EV_CERTIFICATE_INVALID_VALIDITY] = "certificate_invalid_validity",
    [TLS_EV_ERROR_MESSAGE_ENCOUNTERED] = "error_message_encountered",
    [TLS_EV_MEMCAP] = "memcap",
    [TLS_EV_HANDSHAKE_TOO_LONG] = "handshake_too_long",
    [TLS_EV_TOO_MANY_CERTIFICATES] = "too_many_certificates",
};

enum { REC_CCS = 20, REC_ALERT = 21, REC_HANDSHAKE = 22, REC_APPDATA = 23, REC_HEARTBEAT = 24 };
enum { HS_CLIENT_HELLO = 1, HS_SERVER_HELLO = 2, HS_CERTIFICATE = 11 };
enum { EXT_SNI = 0, EXT_GROUPS = 10, EXT_POINT_FORMATS = 11, EXT_ALPN = 16, EXT_SUPPORTED_VERSIONS = 43 };

#define SSLV2_MAX_RECORD 32767u

/* Reading one direction. */
struct tls_dir {
    uint8_t  off;               /* read no further */
    uint8_t  encrypted;         /* record payloads are opaque from here */
    uint8_t  started;           /* a record was seen */
    uint8_t  resync;            /* after a gap: the next bytes must start a record */
    uint8_t  v2;                /* reading an SSLv2 record (the first of the direction) */
    uint8_t  hdr[5];
    uint8_t  nhdr;
    uint8_t  peek[3];           /* the first payload bytes of an alert or heartbeat */
    uint8_t  npeek;
    uint32_t rlen, rest;        /* the current record's length, its bytes left */
    uint8_t  hs_hdr[4];         /* handshake message header: type, 24-bit length */
    uint8_t  hs_nhdr;
    uint32_t hs_need, hs_skip;
    struct app_bytes hs;        /* a handshake message (or the SSLv2 record) being gathered */
};

struct tls_state {
    struct app_txlist txs;
    struct app_tx *tx;          /* the flow's transaction (a struct tls_tx) while it lives */
    uint8_t  made;
    struct tls_dir dir[2];
};

static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

static struct tls_tx *tls_tx_of(struct app_ctx *ctx, struct tls_state *st)
{
    return (struct tls_tx *)app_single_tx(ctx, APP_PROTO_TLS, TLS_EV_MEMCAP, &st->txs, &st->tx, &st->made,
                                          sizeof(struct tls_tx));
}

static void tls_event(struct app_ctx *ctx, struct tls_state *st, unsigned e)
{
    app_event(ctx, APP_PROTO_TLS, e, st->tx);
}

static void tls_progress(struct tls_state *st, enum app_dir dir, enum app_progress p)
{
    if (st->tx && st->tx->progress[dir] < p)
        st->tx->progress[dir] = (uint8_t)p;
}

static int tls_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* A version a hello may name: SSLv3 to TLS 1.3, or a TLS 1.3 draft. */
static int tls_version_valid(uint16_t v)
{
    return (v >= 0x0300 && v <= 0x0304) || (v >> 8) == 0x7f;
}

/* ---------------------------------------------------------------- cursor */

struct cur {
    const uint8_t *p, *e;
    int bad;
};

static const uint8_t *cur_take(struct cur *c, size_t n)
{
    const uint8_t *r = c->p;

    if ((size_t)(c->e - c->p) < n) {
        c->bad = 1;
        c->p = c->e;
        return NULL;
    }
    c->p += n;
    return r;
}

static unsigned cur_u8(struct cur *c)
{
    const uint8_t *p = cur_take(c, 1);

    return p ? p[0] : 0;
}

static unsigned cur_u16(struct cur *c)
{
    const uint8_t *p = cur_take(c, 2);

    return p ? lw_get16(p) : 0;
}

static uint32_t cur_u24(struct cur *c)
{
    const uint8_t *p = cur_take(c, 3);

    return p ? lw_get24(p) : 0;
}

/* ---------------------------------------------------------------- hellos */

/* What a hello says, pointing into the message. */
struct hello {
    uint16_t version;
    const uint8_t *random;
    const uint8_t *sid;
    unsigned sid_len;
    const uint8_t *ciphers;     /* the list (ClientHello) or the choice (ServerHello) */
    unsigned ciphers_len;
    const uint8_t *exts;        /* the extensions block, NULL when absent */
    unsigned exts_len;
    const uint8_t *groups, *formats, *alpn, *sni;
    unsigned groups_len, formats_len, alpn_len, sni_len;
    uint16_t supported_version; /* first valid listed (client), selected (server); 0: none */
};

/* One extension of a hello. Counts what is malformed in it. */
static void tls_extension(struct app_ctx *ctx, struct tls_state *st, struct hello *h, int server,
                          unsigned type, const uint8_t *d, unsigned n, unsigned *nsni)
{
    struct cur c = { d, d + n, 0 };

    switch (type) {
    case EXT_SNI: {
        unsigned stype, len;
        const uint8_t *name;

        if (server || n == 0)               /* the server's is an empty acknowledgement */
            return;
        if (++*nsni > 1) {
            tls_event(ctx, st, TLS_EV_MULTIPLE_SNI_EXTENSIONS);
            return;
        }
        cur_u16(&c);
        stype = cur_u8(&c);
        len = cur_u16(&c);
        name = cur_take(&c, len);
        if (c.bad) {
            tls_event(ctx, st, TLS_EV_HANDSHAKE_INVALID_LENGTH);
        } else if (stype != 0) {
            tls_event(ctx, st, TLS_EV_INVALID_SNI_TYPE);
        } else if (len > 255) {
            tls_event(ctx, st, TLS_EV_INVALID_SNI_LENGTH);
        } else {
            h->sni = name;
            h->sni_len = len;
        }
        return;
    }
    case EXT_GROUPS:
        h->groups_len = cur_u16(&c);
        h->groups = cur_take(&c, h->groups_len);
        if (c.bad || h->groups_len % 2) {
            tls_event(ctx, st, TLS_EV_HANDSHAKE_INVALID_LENGTH);
            h->groups = NULL;
            h->groups_len = 0;
        }
        return;
    case EXT_POINT_FORMATS:
        h->formats_len = cur_u8(&c);
        if (!(h->formats = cur_take(&c, h->formats_len))) {
            tls_event(ctx, st, TLS_EV_HANDSHAKE_INVALID_LENGTH);
            h->formats_len = 0;
        }
        return;
    case EXT_ALPN:
        h->alpn_len = cur_u16(&c);
        if (!(h->alpn = cur_take(&c, h->alpn_len))) {
            tls_event(ctx, st, TLS_EV_HANDSHAKE_INVALID_LENGTH);
            h->alpn_len = 0;
        }
        return;
    case EXT_SUPPORTED_VERSIONS:
        if (server) {
            h->supported_version = (uint16_t)cur_u16(&c);
        } else {
            unsigned len = cur_u8(&c);
            const uint8_t *v = cur_take(&c, len);

            for (unsigned i = 0; v && i + 1 < len; i += 2)
                if (tls_version_valid(lw_get16(v + i)) && !tls_grease(lw_get16(v + i))) {
                    h->supported_version = lw_get16(v + i);
                    break;
                }
        }
        if (c.bad)
            tls_event(ctx, st, TLS_EV_HANDSHAKE_INVALID_LENGTH);
        return;
    default:
        return;
    }
}

/* Parses a ClientHello (server 0) or ServerHello (server 1) body. Returns
 * 0, or -1 when its framing is broken (counted). */
static int tls_hello(struct app_ctx *ctx, struct tls_state *st, const uint8_t *m, size_t n, int server,
                     struct hello *h)
{
    struct cur c = { m, m + n, 0 };
    unsigned nsni = 0;

    memset(h, 0, sizeof *h);
    h->version = (uint16_t)cur_u16(&c);
    h->random = cur_take(&c, 32);
    h->sid_len = cur_u8(&c);
    h->sid = cur_take(&c, h->sid_len);
    h->ciphers_len = server ? 2 : cur_u16(&c);
    h->ciphers = cur_take(&c, h->ciphers_len);
    cur_take(&c, server ? 1 : cur_u8(&c));      /* compression method(s) */
    if (c.bad || h->sid_len > 32 || h->ciphers_len % 2)
        goto bad;
    if (c.p < c.e) {
        struct cur x;

        h->exts_len = cur_u16(&c);
        h->exts = cur_take(&c, h->exts_len);
        if (c.bad)
            goto bad;
        x = (struct cur){ h->exts, h->exts + h->exts_len, 0 };
        while (!x.bad && x.p < x.e) {
            unsigned type = cur_u16(&x), len = cur_u16(&x);
            const uint8_t *d = cur_take(&x, len);

            if (!x.bad)
                tls_extension(ctx, st, h, server, type, d, len, &nsni);
        }
        if (x.bad)
            goto bad;
    }
    return 0;
bad:
    tls_event(ctx, st, TLS_EV_HANDSHAKE_INVALID_LENGTH);
    return -1;
}

/* Appends the decimal values of a list (16-bit, or 8-bit when width is 1),
 * GREASE left out, joined by '-'. */
static char *tls_ja3_list(char *o, const uint8_t *p, unsigned len, unsigned width)
{
    int first = 1;

    for (unsigned i = 0; p && i + width <= len; i += width) {
        unsigned v = width == 2 ? lw_get16(p + i) : p[i];

        if (width == 2 && tls_grease((uint16_t)v))
            continue;
        o += sprintf(o, first ? "%u" : "-%u", v);
        first = 0;
    }
    return o;
}

/* The extension types of a hello, GREASE left out, joined by '-'. */
static char *tls_ja3_exts(char *o, const struct hello *h)
{
    struct cur x = { h->exts, h->exts ? h->exts + h->exts_len : NULL, 0 };
    int first = 1;

    while (x.p < x.e) {
        unsigned type = cur_u16(&x);

        cur_take(&x, cur_u16(&x));
        if (x.bad)
            break;
        if (tls_grease((uint16_t)type))
            continue;
        o += sprintf(o, first ? "%u" : "-%u", type);
        first = 0;
    }
    return o;
}

/* JA3 (client) or JA3S (server) of a hello, on app_mem (length + 1
 * bytes); its MD5 into hash. Returns the string (length in *len), or NULL
 * without memory. */
static char *tls_ja3(struct app_mem *mem, const struct hello *h, int server, uint32_t *len, char hash[33])
{
    /* each value takes at most 6 characters with its separator */
    size_t cap = 32 + 6 * ((size_t)h->ciphers_len / 2 + h->exts_len / 4 + h->groups_len / 2) +
                 4 * (size_t)h->formats_len;
    char *s = app_alloc(mem, cap), *o, *exact;

    if (!s)
        return NULL;
    o = s + sprintf(s, "%u,", h->version);
    if (server) {
        o += sprintf(o, "%u,", lw_get16(h->ciphers));
        o = tls_ja3_exts(o, h);
    } else {
        o = tls_ja3_list(o, h->ciphers, h->ciphers_len, 2);
        *o++ = ',';
        o = tls_ja3_exts(o, h);
        *o++ = ',';
        o = tls_ja3_list(o, h->groups, h->groups_len, 2);
        *o++ = ',';
        o = tls_ja3_list(o, h->formats, h->formats_len, 1);
    }
    *o = '\0';
    *len = (uint32_t)(o - s);
    app_md5_hex(s, *len, hash);
    exact = app_strndup(mem, s, *len);
    app_free(mem, s, cap);
    return exact;
}

/* A copy of n bytes on app_mem into *dst (length in *dst_len); counted
 * memcap when refused. */
static void tls_keep(struct app_ctx *ctx, struct tls_state *st, uint8_t **dst, uint32_t *dst_len,
                     const uint8_t *p, size_t n)
{
    if (!p)
        return;
    if (!(*dst = (uint8_t *)app_strndup(&ctx->mem, p, n))) {
        tls_event(ctx, st, TLS_EV_MEMCAP);
        return;
    }
    *dst_len = (uint32_t)n;
}

static void tls_client_hello(struct app_ctx *ctx, struct tls_state *st, const uint8_t *m, size_t n)
{
    struct tls_tx *tx = (struct tls_tx *)st->tx;
    struct hello h;

    if (tls_hello(ctx, st, m, n, 0, &h) < 0 || tx->have_client_hello)
        return;                             /* only the first counts (a second follows a retry) */
    tx->have_client_hello = 1;
    tx->legacy_version[APP_TO_SERVER] = h.version;
    tx->version[APP_TO_SERVER] = h.supported_version ? h.supported_version : h.version;
    tx->session_id_len = (uint8_t)h.sid_len;
    if (h.sid_len)
        memcpy(tx->session_id, h.sid, h.sid_len);
    tls_keep(ctx, st, &tx->sni, &tx->sni_len, h.sni, h.sni_len);
    tls_keep(ctx, st, &tx->alpn[APP_TO_SERVER], &tx->alpn_len[APP_TO_SERVER], h.alpn, h.alpn_len);
    if (!(tx->ja3 = tls_ja3(&ctx->mem, &h, 0, &tx->ja3_len, tx->ja3_hash)))
        tls_event(ctx, st, TLS_EV_MEMCAP);
    tls_progress(st, APP_TO_SERVER, APP_PROG_HEADERS);
}

/* Payloads of both directions are opaque from here on. */
static void tls_encrypted(struct app_ctx *ctx, struct tls_state *st, enum app_dir dir)
{
    struct tls_dir *t = &st->dir[dir];

    t->encrypted = 1;
    t->hs_nhdr = 0;
    t->hs_skip = 0;
    app_bytes_free(&ctx->mem, &t->hs);
}

static void tls_server_hello(struct app_ctx *ctx, struct tls_state *st, const uint8_t *m, size_t n)
{
    struct tls_tx *tx = (struct tls_tx *)st->tx;
    struct hello h;

    if (tls_hello(ctx, st, m, n, 1, &h) < 0 || tx->have_server_hello)
        return;
    if (!memcmp(h.random, hrr_random, 32))
        return;                             /* HelloRetryRequest: the ServerHello comes later */
    tx->have_server_hello = 1;
    tx->legacy_version[APP_TO_CLIENT] = h.version;
    tx->version[APP_TO_CLIENT] = h.supported_version ? h.supported_version : h.version;
    tx->cipher = lw_get16(h.ciphers);
    tls_keep(ctx, st, &tx->alpn[APP_TO_CLIENT], &tx->alpn_len[APP_TO_CLIENT], h.alpn, h.alpn_len);
    if (!(tx->ja3s = tls_ja3(&ctx->mem, &h, 1, &tx->ja3s_len, tx->ja3s_hash)))
        tls_event(ctx, st, TLS_EV_MEMCAP);
    tls_progress(st, APP_TO_CLIENT, APP_PROG_HEADERS);
    if (tx->version[APP_TO_CLIENT] == 0x0304 || tx->version[APP_TO_CLIENT] >> 8 == 0x7f) {
        /* TLS 1.3: everything after this message is encrypted, both ways */
        tx->tls13 = 1;
        tls_encrypted(ctx, st, APP_TO_CLIENT);
        tls_encrypted(ctx, st, APP_TO_SERVER);
        tls_progress(st, APP_TO_SERVER, APP_PROG_DONE);
        tls_progress(st, APP_TO_CLIENT, APP_PROG_DONE);
    } else if (h.sid_len && h.sid_len == tx->session_id_len && !memcmp(h.sid, tx->session_id, h.sid_len)) {
        tx->resumed = 1;
    }
}

/* ---------------------------------------------------------------- certificates */

static OSSL_LIB_CTX *tls_libctx;
static pthread_once_t tls_libctx_once = PTHREAD_ONCE_INIT;

static void tls_libctx_init(void)
{
    OSSL_LIB_CTX *c = OSSL_LIB_CTX_new();

    if (c && !OSSL_PROVIDER_load(c, "null")) {
        OSSL_LIB_CTX_free(c);
        c = NULL;
    }
    tls_libctx = c;
}

/* d2i_X509 of der[0..len) in the keyless library context. NULL when it is
 * not one certificate filling len (libcrypto's error queue cleared). */
static X509 *tls_x509(const uint8_t *der, uint32_t len)
{
    const unsigned char *p = der;
    X509 *x;

    pthread_once(&tls_libctx_once, tls_libctx_init);
    x = X509_new_ex(tls_libctx, NULL);
    if (x && d2i_X509(&x, &p, (long)len) && p == der + len)
        return x;
    X509_free(x);
    ERR_clear_error();
    return NULL;
}

/* RDN attribute names as Suricata (x509-parser) writes them. */
static const char *tls_attr_name(const ASN1_OBJECT *obj, char *buf, size_t len)
{
    static const struct { int nid; const char *name; } abbrev[] = {
        { NID_commonName, "CN" }, { NID_countryName, "C" }, { NID_localityName, "L" },
        { NID_stateOrProvinceName, "ST" }, { NID_organizationName, "O" },
        { NID_organizationalUnitName, "OU" }, { NID_domainComponent, "DC" },
        { NID_pkcs9_emailAddress, "Email" },
    };
    int nid = OBJ_obj2nid(obj);
    size_t n;

    for (size_t i = 0; i < sizeof abbrev / sizeof abbrev[0]; i++)
        if (abbrev[i].nid == nid)
            return abbrev[i].name;
    if (nid != NID_undef && OBJ_nid2ln(nid))
        return OBJ_nid2ln(nid);
    memcpy(buf, "OID(", 4);
    OBJ_obj2txt(buf + 4, (int)len - 6, obj, 1);
    n = strlen(buf);
    memcpy(buf + n, ")", 2);
    return buf;
}

/* An attribute value: a string type as UTF-8, anything else as upper-case hex. */
static int tls_attr_value(struct app_mem *mem, struct app_bytes *b, const ASN1_STRING *s)
{
    static const int strings[] = { V_ASN1_UTF8STRING, V_ASN1_NUMERICSTRING, V_ASN1_PRINTABLESTRING,
                                   V_ASN1_T61STRING, V_ASN1_VIDEOTEXSTRING, V_ASN1_IA5STRING,
                                   V_ASN1_GRAPHICSTRING, V_ASN1_VISIBLESTRING, V_ASN1_GENERALSTRING,
                                   V_ASN1_UNIVERSALSTRING, V_ASN1_BMPSTRING };
    const uint8_t *d = ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s), rc;
    unsigned char *u = NULL;
    char *hex;

    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        int un;

        if (ASN1_STRING_type(s) != strings[i])
            continue;
        if ((un = ASN1_STRING_to_UTF8(&u, s)) < 0)
            break;
        rc = app_bytes_append(mem, b, u, (size_t)un, TLS_MAX_HANDSHAKE);
        OPENSSL_free(u);
        return rc;
    }
    if (!(hex = malloc(2 * (size_t)n + 1)))
        return -1;
    app_hex(hex, d, (size_t)n, 1, 0);
    rc = app_bytes_append(mem, b, (const uint8_t *)hex, 2 * (size_t)n, TLS_MAX_HANDSHAKE);
    free(hex);
    return rc;
}

/* A name in Suricata's text form, NUL-terminated on app_mem. NULL when it
 * cannot be written (or without memory). */
static char *tls_name(struct app_mem *mem, const X509_NAME *name, uint32_t *len)
{
    struct app_bytes b = { 0 };
    int prev_set = -1;
    char *s = NULL;

    for (int i = 0; i < X509_NAME_entry_count(name); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        int set = X509_NAME_ENTRY_set(e);
        const char *sep = i == 0 ? "" : set == prev_set ? " + " : ", ";
        char buf[96];
        const char *key = tls_attr_name(X509_NAME_ENTRY_get_object(e), buf, sizeof buf);

        prev_set = set;
        if (app_bytes_append(mem, &b, (const uint8_t *)sep, strlen(sep), TLS_MAX_HANDSHAKE) < 0 ||
            app_bytes_append(mem, &b, (const uint8_t *)key, strlen(key), TLS_MAX_HANDSHAKE) < 0 ||
            app_bytes_append(mem, &b, (const uint8_t *)"=", 1, TLS_MAX_HANDSHAKE) < 0 ||
            tls_attr_value(mem, &b, X509_NAME_ENTRY_get_data(e)) < 0)
            goto out;
    }
    if ((s = app_strndup(mem, b.p, b.len)))
        *len = b.len;
out:
    app_bytes_free(mem, &b);
    return s;
}

/* The serial as Suricata writes it: the DER INTEGER's content bytes in
 * upper-case hex joined by ':'. */
static char *tls_serial(struct app_mem *mem, X509 *x, uint32_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &der);
    size_t hl = 2, cl;
    char *s = NULL;

    if (n < 2)
        goto out;
    if (der[1] & 0x80) {                    /* long form length */
        hl = 2 + (der[1] & 0x7f);
        if (hl > (size_t)n)
            goto out;
    }
    cl = (size_t)n - hl;
    /* "AB:CD": 3 characters a byte, less a separator, plus the NUL */
    if ((s = app_alloc(mem, cl ? 3 * cl : 1)))
        *len = (uint32_t)app_hex(s, der + hl, cl, 1, ':');
out:
    OPENSSL_free(der);
    return s;
}

static int tls_time(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

/* Adds a certificate of the chain: its DER and what libcrypto decodes. */
static void tls_cert_add(struct app_ctx *ctx, struct tls_state *st, const uint8_t *der, uint32_t len)
{
    struct tls_tx *tx = (struct tls_tx *)st->tx;
    struct tls_cert *c;
    uint8_t sha1[20];
    X509 *x;

    if (!tx->certs && !(tx->certs = app_calloc(&ctx->mem, ctx->limits.max_certs, sizeof *tx->certs))) {
        tls_event(ctx, st, TLS_EV_MEMCAP);
        return;
    }
    c = &tx->certs[tx->ncerts];
    if (!(c->der = app_alloc(&ctx->mem, len ? len : 1))) {
        tls_event(ctx, st, TLS_EV_MEMCAP);
        return;
    }
    memcpy(c->der, der, len);
    c->der_len = len;
    tx->ncerts++;
    if (!(x = tls_x509(der, len))) {
        tls_event(ctx, st, TLS_EV_CERTIFICATE_INVALID_DER);
        return;
    }
    if (app_sha1(der, len, sha1) == 0)
        app_hex(c->fingerprint, sha1, 20, 0, ':');
    if (!(c->subject = tls_name(&ctx->mem, X509_get_subject_name(x), &c->subject_len)))
        tls_event(ctx, st, TLS_EV_CERTIFICATE_INVALID_SUBJECT);
    if (!(c->issuer = tls_name(&ctx->mem, X509_get_issuer_name(x), &c->issuer_len)))
        tls_event(ctx, st, TLS_EV_CERTIFICATE_INVALID_ISSUER);
    if (!(c->serial = tls_serial(&ctx->mem, x, &c->serial_len)))
        tls_event(ctx, st, TLS_EV_CERTIFICATE_INVALID_SERIAL);
    if (tls_time(X509_get0_notBefore(x), &c->notbefore) == 0 && tls_time(X509_get0_notAfter(x), &c->notafter) == 0)
        c->have_validity = 1;
    else
        tls_event(ctx, st, TLS_EV_CERTIFICATE_INVALID_VALIDITY);
    X509_free(x);
}

/* The server's Certificate message: a 24-bit list length, then each
 * certificate behind its own 24-bit length. */
static void tls_certificates(struct app_ctx *ctx, struct tls_state *st, const uint8_t *m, size_t n)
{
    struct tls_tx *tx = (struct tls_tx *)st->tx;
    struct cur c = { m, m + n, 0 }, l;
    uint32_t total = cur_u24(&c);

    if (tx->ncerts || !ctx->limits.max_certs)
        return;                             /* one chain per session, if any is kept */
    if (c.bad || total != (size_t)(c.e - c.p)) {
        tls_event(ctx, st, TLS_EV_INVALID_CERTIFICATE);
        if (c.bad)
            return;
        if (total > (size_t)(c.e - c.p))
            total = (uint32_t)(c.e - c.p);
    }
    l = (struct cur){ c.p, c.p + total, 0 };
    while (l.p < l.e) {
        uint32_t len = cur_u24(&l);
        const uint8_t *der = cur_take(&l, len);

        if (l.bad) {
            tls_event(ctx, st, TLS_EV_CERTIFICATE_INVALID_LENGTH);
            return;
        }
        if (tx->ncerts >= ctx->limits.max_certs) {
            tls_event(ctx, st, TLS_EV_TOO_MANY_CERTIFICATES);
            return;
        }
        tls_cert_add(ctx, st, der, len);
    }
}

/* ---------------------------------------------------------------- handshake stream */

/* One whole handshake message of direction dir. */
static void tls_message(struct app_ctx *ctx, struct tls_state *st, enum app_dir dir, unsigned type,
                        const uint8_t *m, size_t n)
{
    switch (type) {
    case HS_CLIENT_HELLO:
        if (dir == APP_TO_SERVER)
            tls_client_hello(ctx, st, m, n);
        else
            tls_event(ctx, st, TLS_EV_INVALID_HANDSHAKE_MESSAGE);
        break;
    case HS_SERVER_HELLO:
        if (dir == APP_TO_CLIENT)
            tls_server_hello(ctx, st, m, n);
        else
            tls_event(ctx, st, TLS_EV_INVALID_HANDSHAKE_MESSAGE);
        break;
    case HS_CERTIFICATE:
        if (dir == APP_TO_CLIENT)           /* a client's own certificate is not kept */
            tls_certificates(ctx, st, m, n);
        break;
    /* hello request, hello verify, tickets, end of early data, encrypted
     * extensions, key exchanges, certificate request and verify, server
     * hello done, finished, certificate URL and status, supplemental
     * data, key update, compressed certificate, message hash */
    case 0: case 3: case 4: case 5: case 6: case 8: case 12: case 13: case 14: case 15: case 16:
    case 20: case 21: case 22: case 23: case 24: case 25: case 254:
        break;
    default:
        tls_event(ctx, st, TLS_EV_INVALID_HANDSHAKE_MESSAGE);
        break;
    }
}

/* Bytes of handshake records in the clear: messages are found across
 * record boundaries; one longer than TLS_MAX_HANDSHAKE is skipped. */
static void tls_handshake_bytes(struct app_ctx *ctx, struct tls_state *st, enum app_dir dir, const uint8_t *d,
                                size_t n)
{
    struct tls_dir *t = &st->dir[dir];

    while (n && !t->encrypted) {
        size_t k;

        if (t->hs_skip) {
            k = n < t->hs_skip ? n : t->hs_skip;
            t->hs_skip -= (uint32_t)k;
            d += k;
            n -= k;
            if (!t->hs_skip)
                t->hs_nhdr = 0;
            continue;
        }
        if (t->hs_nhdr < 4) {
            t->hs_hdr[t->hs_nhdr++] = *d++;
            n--;
            if (t->hs_nhdr < 4)
                continue;
            t->hs_need = lw_get24(t->hs_hdr + 1);
            if (t->hs_need > TLS_MAX_HANDSHAKE) {
                tls_event(ctx, st, TLS_EV_HANDSHAKE_TOO_LONG);
                t->hs_skip = t->hs_need;
            } else if (t->hs_need == 0) {
                tls_message(ctx, st, dir, t->hs_hdr[0], d, 0);
                t->hs_nhdr = 0;
            }
            continue;
        }
        if (!t->hs.len && n >= t->hs_need) {        /* whole in this piece: no copy */
            t->hs_nhdr = 0;
            tls_message(ctx, st, dir, t->hs_hdr[0], d, t->hs_need);
            d += t->hs_need;
            n -= t->hs_need;
            continue;
        }
        k = t->hs_need - t->hs.len;
        k = k < n ? k : n;
        if (app_bytes_append(&ctx->mem, &t->hs, d, k, TLS_MAX_HANDSHAKE) < 0) {
            tls_event(ctx, st, TLS_EV_MEMCAP);
            t->hs_skip = t->hs_need - t->hs.len;
            app_bytes_free(&ctx->mem, &t->hs);
            continue;
        }
        d += k;
        n -= k;
        if (t->hs.len == t->hs_need) {
            t->hs_nhdr = 0;
            tls_message(ctx, st, dir, t->hs_hdr[0], t->hs.p, t->hs.len);
            app_bytes_free(&ctx->mem, &t->hs);
        }
    }
}

/* ---------------------------------------------------------------- SSLv2 */

/* An SSLv2 CLIENT-HELLO (1) or SERVER-HELLO (4) record body. */
static void tls_sslv2_message(struct app_ctx *ctx, struct tls_state *st, enum app_dir dir, const uint8_t *m,
                              size_t n)
{
    struct tls_tx *tx = (struct tls_tx *)st->tx;
    struct cur c = { m, m + n, 0 };
    unsigned type = cur_u8(&c), version, a, b, k;

    if (dir == APP_TO_SERVER && type == 1) {
        version = cur_u16(&c);
        a = cur_u16(&c);                     /* cipher specs */
        b = cur_u16(&c);                     /* session id */
        k = cur_u16(&c);                     /* challenge */
        if (c.bad || a % 3 || (size_t)a + b + k != (size_t)(c.e - c.p)) {
            tls_event(ctx, st, TLS_EV_INVALID_SSLV2_HEADER);
            return;
        }
        tx->sslv2 = 1;
        tx->legacy_version[APP_TO_SERVER] = (uint16_t)version;
        tx->version[APP_TO_SERVER] = (uint16_t)version;
        tls_progress(st, APP_TO_SERVER, APP_PROG_HEADERS);
    } else if (dir == APP_TO_CLIENT && type == 4) {
        const uint8_t *cert;
        unsigned conn_id;

        cur_u8(&c);                          /* session id hit */
        k = cur_u8(&c);                      /* certificate type: 1 is X.509 */
        version = cur_u16(&c);
        a = cur_u16(&c);                     /* certificate */
        b = cur_u16(&c);                     /* cipher specs */
        conn_id = cur_u16(&c);
        cert = cur_take(&c, a);
        if (c.bad || (size_t)b + conn_id != (size_t)(c.e - c.p)) {
            tls_event(ctx, st, TLS_EV_INVALID_SSLV2_HEADER);
            return;
        }
        tx->sslv2 = 1;
        tx->legacy_version[APP_TO_CLIENT] = (uint16_t)version;
        tx->version[APP_TO_CLIENT] = 0x0002;
        if (k == 1 && !tx->ncerts && ctx->limits.max_certs)
            tls_cert_add(ctx, st, cert, a);
        /* the rest of an SSLv2 session is encrypted, both ways */
        for (int d = 0; d < 2; d++) {
            st->dir[d].off = 1;
            tls_progress(st, (enum app_dir)d, APP_PROG_DONE);
        }
    } else {
        tls_event(ctx, st, TLS_EV_INVALID_SSLV2_HEADER);
    }
}

/* A direction's first record in SSLv2 form (2-byte header, high bit set).
 * Returns the bytes used. */
static size_t tls_sslv2(struct app_ctx *ctx, struct tls_state *st, enum app_dir dir, const uint8_t *d, size_t n)
{
    struct tls_dir *t = &st->dir[dir];
    size_t used = 0, k;

    while (t->nhdr < 2 && used < n)
        t->hdr[t->nhdr++] = d[used++];
    if (t->nhdr < 2)
        return used;
    t->rlen = (uint32_t)(t->hdr[0] & 0x7f) << 8 | t->hdr[1];
    if (t->rlen == 0) {
        tls_event(ctx, st, TLS_EV_INVALID_SSLV2_HEADER);
        t->v2 = 0;
        t->nhdr = 0;
        return used;
    }
    k = t->rlen - t->hs.len < n - used ? t->rlen - t->hs.len : n - used;
    if (app_bytes_append(&ctx->mem, &t->hs, d + used, k, SSLV2_MAX_RECORD) < 0) {
        tls_event(ctx, st, TLS_EV_MEMCAP);
        t->off = 1;
        tls_progress(st, dir, APP_PROG_DONE);
        return n;
    }
    used += k;
    if (t->hs.len == t->rlen) {
        tls_sslv2_message(ctx, st, dir, t->hs.p, t->hs.len);
        app_bytes_free(&ctx->mem, &t->hs);
        t->v2 = 0;
        t->nhdr = 0;
    }
    return used;
}

/* ---------------------------------------------------------------- records */

/* A record header is complete. Returns 0, or -1 when the flow cannot be TLS. */
static int tls_record_start(struct app_ctx *ctx, struct tls_state *st, enum app_dir dir)
{
    struct tls_dir *t = &st->dir[dir];
    unsigned type = t->hdr[0];

    if (type < REC_CCS || type > REC_HEARTBEAT) {
        tls_event(ctx, st, TLS_EV_INVALID_RECORD_TYPE);
        return -1;
    }
    if (t->hdr[1] != 3)
        tls_event(ctx, st, TLS_EV_INVALID_RECORD_VERSION);
    t->rlen = t->rest = lw_get16(t->hdr + 3);
    if (t->rlen > TLS_MAX_RECORD) {
        tls_event(ctx, st, TLS_EV_INVALID_RECORD_LENGTH);
        return -1;
    }
    t->npeek = 0;
    t->started = 1;
    if (type == REC_HEARTBEAT)
        tls_event(ctx, st, TLS_EV_HEARTBEAT_MESSAGE);
    return 0;
}

/* The current record is complete. */
static void tls_record_end(struct app_ctx *ctx, struct tls_state *st, enum app_dir dir)
{
    struct tls_dir *t = &st->dir[dir];
    struct tls_tx *tx = (struct tls_tx *)st->tx;

    t->nhdr = 0;
    if (t->encrypted && t->hdr[0] != REC_CCS)
        return;
    switch (t->hdr[0]) {
    case REC_CCS:
        if (!tx->tls13 && !t->encrypted) {
            tls_encrypted(ctx, st, dir);
            tls_progress(st, dir, APP_PROG_DONE);
        }
        break;
    case REC_ALERT:
        if (t->rlen != 2)
            tls_event(ctx, st, TLS_EV_INVALID_ALERT_MESSAGE);
        else if (t->peek[0] == 2)
            tls_event(ctx, st, TLS_EV_ERROR_MESSAGE_ENCOUNTERED);
        break;
    case REC_HEARTBEAT:
        /* type, payload_length, payload, at least 16 bytes of padding */
        if (t->rlen < 3 || (t->peek[0] != 1 && t->peek[0] != 2))
            tls_event(ctx, st, TLS_EV_INVALID_HEARTBEAT_MESSAGE);
        else if ((uint32_t)lw_get16(t->peek + 1) + 3 + 16 > t->rlen)
            tls_event(ctx, st, TLS_EV_OVERFLOW_HEARTBEAT_MESSAGE);
        break;
    default:
        break;
    }
}

/* After a gap: whether d starts like a record header (as far as it goes). */
static int tls_looks_like_record(const uint8_t *d, size_t n)
{
    return d[0] >= REC_CCS && d[0] <= REC_HEARTBEAT && (n < 2 || d[1] == 3) &&
           (n < 5 || lw_get16(d + 3) <= TLS_MAX_RECORD);
}

static int tls_records(struct app_ctx *ctx, struct tls_state *st, enum app_dir dir, const uint8_t *d, size_t n)
{
    struct tls_dir *t = &st->dir[dir];
    unsigned records = 0;

    if (t->resync) {
        t->resync = 0;
        if (!tls_looks_like_record(d, n)) {
            t->off = 1;
            tls_progress(st, dir, APP_PROG_DONE);
            return 0;
        }
    }
    while (n && !t->off) {
        size_t k;

        if (t->v2 || (!t->started && !t->nhdr && (d[0] & 0x80))) {
            t->v2 = 1;
            k = tls_sslv2(ctx, st, dir, d, n);
            t->started = !t->v2;
            d += k;
            n -= k;
            continue;
        }
        if (t->nhdr < 5) {
            k = 5 - (size_t)t->nhdr < n ? 5 - (size_t)t->nhdr : n;
            memcpy(t->hdr + t->nhdr, d, k);
            t->nhdr += (uint8_t)k;
            d += k;
            n -= k;
            if (t->nhdr < 5)
                continue;
            if (tls_record_start(ctx, st, dir) < 0)
                return -1;
            if (++records == TLS_MAX_RECORDS_PER_CALL + 1)
                tls_event(ctx, st, TLS_EV_TOO_MANY_RECORDS_IN_PACKET);
            if (!t->rest)
                tls_record_end(ctx, st, dir);
            continue;
        }
        k = n < t->rest ? n : t->rest;
        if (t->hdr[0] == REC_HANDSHAKE && !t->encrypted)
            tls_handshake_bytes(ctx, st, dir, d, k);
        /* the record's first bytes, for alerts and heartbeats: peek[i] is
         * the record's byte i, d[0] its byte rlen - rest */
        for (size_t i = t->npeek; i < sizeof t->peek && i < t->rlen - t->rest + k; i++)
            t->peek[t->npeek++] = d[i - (t->rlen - t->rest)];
        t->rest -= (uint32_t)k;
        d += k;
        n -= k;
        if (!t->rest)
            tls_record_end(ctx, st, dir);
    }
    return 0;
}

/* ---------------------------------------------------------------- parser */

static int tls_parse(struct app_ctx *ctx, void *state, enum app_dir dir, const uint8_t *data, size_t len,
                     unsigned flags, uint64_t ts_usec)
{
    struct tls_state *st = state;
    struct tls_dir *t = &st->dir[dir];
    int rc = 0;

    (void)ts_usec;
    if (flags & APP_IN_GAP) {
        /* the record framing is lost: resume only at what looks like a record */
        t->nhdr = 0;
        t->rest = 0;
        t->v2 = 0;
        t->hs_nhdr = 0;
        t->hs_skip = 0;
        t->resync = 1;
        app_bytes_free(&ctx->mem, &t->hs);
    } else if (len && !t->off && tls_tx_of(ctx, st)) {
        rc = tls_records(ctx, st, dir, data, len);
    }
    if (flags & APP_IN_EOF) {
        t->off = 1;
        app_bytes_free(&ctx->mem, &t->hs);
        tls_progress(st, dir, APP_PROG_DONE);
    }
    return rc;
}

/* A TLS record carrying the direction's hello, or an SSLv2 CLIENT-HELLO. */
static int tls_probe(const uint8_t *d, size_t len, enum app_dir dir)
{
    static const uint8_t want[5] = { REC_HANDSHAKE, 3, 0, 0, 0 };

    if (len == 0)
        return -1;
    if (d[0] & 0x80) {                       /* SSLv2: length, CLIENT-HELLO, version */
        if (dir != APP_TO_SERVER)
            return 0;
        if (len < 3)
            return -1;
        if (d[2] != 1)
            return 0;
        if (len < 5)
            return -1;
        return (d[3] == 0 && d[4] == 2) || (d[3] == 3 && d[4] <= 4);
    }
    for (size_t i = 0; i < 2 && i < len; i++)
        if (d[i] != want[i])
            return 0;
    if (len < 6)
        return len > 2 && d[2] > 4 ? 0 : -1;
    return d[2] <= 4 && d[5] == (dir == APP_TO_SERVER ? HS_CLIENT_HELLO : HS_SERVER_HELLO);
}

static void *tls_state_new(struct app_ctx *ctx)
{
    return app_calloc(&ctx->mem, 1, sizeof(struct tls_state));
}

static void tls_free_str(struct app_mem *mem, void *p, uint32_t len)
{
    if (p)
        app_free(mem, p, (size_t)len + 1);
}

static void tls_tx_free(struct app_ctx *ctx, void *state, struct app_tx *t)
{
    struct tls_state *st = state;
    struct tls_tx *tx = (struct tls_tx *)t;

    for (uint32_t i = 0; i < tx->ncerts; i++) {
        struct tls_cert *c = &tx->certs[i];

        app_free(&ctx->mem, c->der, c->der_len ? c->der_len : 1);
        tls_free_str(&ctx->mem, c->subject, c->subject_len);
        tls_free_str(&ctx->mem, c->issuer, c->issuer_len);
        tls_free_str(&ctx->mem, c->serial, c->serial_len);
    }
    if (tx->certs)
        app_free(&ctx->mem, tx->certs, ctx->limits.max_certs * sizeof *tx->certs);
    tls_free_str(&ctx->mem, tx->sni, tx->sni_len);
    tls_free_str(&ctx->mem, tx->alpn[0], tx->alpn_len[0]);
    tls_free_str(&ctx->mem, tx->alpn[1], tx->alpn_len[1]);
    tls_free_str(&ctx->mem, tx->ja3, tx->ja3_len);
    tls_free_str(&ctx->mem, tx->ja3s, tx->ja3s_len);
    if (st->tx == t)
        st->tx = NULL;
    app_free(&ctx->mem, tx, sizeof *tx);
}

static void tls_state_free(struct app_ctx *ctx, void *state)
{
    struct tls_state *st = state;
    struct app_tx *t;

    if (!st)
        return;
    while ((t = app_txlist_pop(&st->txs)) != NULL)
        tls_tx_free(ctx, st, t);
    for (int i = 0; i < 2; i++)
        app_bytes_free(&ctx->mem, &st->dir[i].hs);
    app_free(&ctx->mem, st, sizeof *st);
}

static struct app_txlist *tls_txs(void *state)
{
    return &((struct tls_state *)state)->txs;
}

/* ---------------------------------------------------------------- getters */

static const struct tls_cert *tls_cert0(const struct tls_tx *tx)
{
    return tx->ncerts && tx->certs[0].subject ? &tx->certs[0] : NULL;
}

int tls_tx_get(const struct tls_tx *tx, enum tls_buffer b, const uint8_t **p, uint32_t *n)
{
    const struct tls_cert *c = tls_cert0(tx);
    const char *v = NULL;
    size_t len = 0;

    switch (b) {
    case TLS_BUF_SNI:
        v = (const char *)tx->sni;
        len = tx->sni_len;
        break;
    case TLS_BUF_CERT_SUBJECT:
        v = c ? c->subject : NULL;
        len = c ? c->subject_len : 0;
        break;
    case TLS_BUF_CERT_ISSUER:
        v = c ? c->issuer : NULL;
        len = c ? c->issuer_len : 0;
        break;
    case TLS_BUF_CERT_SERIAL:
        v = c ? c->serial : NULL;
        len = c ? c->serial_len : 0;
        break;
    case TLS_BUF_CERT_FINGERPRINT:
        v = c ? c->fingerprint : NULL;
        len = c ? strlen(c->fingerprint) : 0;
        break;
    case TLS_BUF_JA3_HASH:
        v = tx->ja3 ? tx->ja3_hash : NULL;
        len = 32;
        break;
    case TLS_BUF_JA3_STRING:
        v = tx->ja3;
        len = tx->ja3_len;
        break;
    case TLS_BUF_JA3S_HASH:
        v = tx->ja3s ? tx->ja3s_hash : NULL;
        len = 32;
        break;
    case TLS_BUF_JA3S_STRING:
        v = tx->ja3s;
        len = tx->ja3s_len;
        break;
    }
    if (!v)
        return 0;
    *p = (const uint8_t *)v;
    *n = (uint32_t)len;
    return 1;
}

int tls_tx_cert(const struct tls_tx *tx, uint32_t i, const uint8_t **der, uint32_t *n)
{
    if (i >= tx->ncerts)
        return 0;
    *der = tx->certs[i].der;
    *n = tx->certs[i].der_len;
    return 1;
}

uint16_t tls_tx_version(const struct tls_tx *tx, enum app_dir dir)
{
    return tx->version[dir];
}

int tls_tx_validity(const struct tls_tx *tx, int64_t *notbefore, int64_t *notafter)
{
    const struct tls_cert *c = tls_cert0(tx);

    if (!c || !c->have_validity)
        return 0;
    *notbefore = c->notbefore;
    *notafter = c->notafter;
    return 1;
}

const char *tls_version_name(uint16_t v, char buf[24])
{
    switch (v) {
    case 0: return "UNDETERMINED";
    case 0x0002: return "SSLv2";
    case 0x0300: return "SSLv3";
    case 0x0301: return "TLSv1";
    case 0x0302: return "TLS 1.1";
    case 0x0303: return "TLS 1.2";
    case 0x0304: return "TLS 1.3";
    default: break;
    }
    if (v >= 0x7f10 && v <= 0x7f1c)
        snprintf(buf, 24, "TLS 1.3 draft-%u", v - 0x7f00u);
    else if (v > 0x7f00 && v < 0x7f10)
        snprintf(buf, 24, "TLS 1.3 draft-<16");
    else
        snprintf(buf, 24, "0x%04x", v);
    return buf;
}

/* ---------------------------------------------------------------- EVE */

/* "YYYY-MM-DDTHH:MM:SS" in UTC; left out beyond the years 1000-2999 that
 * the EVE schema's pattern allows. */
static void tls_eve_time(struct jbuf *jb, const char *key, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char s[32];

    if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 < 1000 || tm.tm_year + 1900 > 2999)
        return;
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    jbuf_str(jb, key, s);
}

static void tls_eve_alpns(struct jbuf *jb, const char *key, const uint8_t *p, uint32_t n)
{
    uint32_t i;

    if (!p || n == 0 || p[0] >= n)
        return;
    jbuf_open_array(jb, key);
    for (i = 0; i < n && p[i] < n - i; i += 1u + p[i])
        jbuf_strn(jb, NULL, p + i + 1, p[i]);
    jbuf_close_array(jb);
}

static void tls_eve_chain(struct jbuf *jb, const struct tls_tx *tx)
{
    jbuf_open_array(jb, "chain");
    for (uint32_t i = 0; i < tx->ncerts; i++) {
        char *b64 = malloc(4 * ((size_t)tx->certs[i].der_len / 3 + 1) + 1);

        if (!b64)
            continue;
        EVP_EncodeBlock((unsigned char *)b64, tx->certs[i].der, (int)tx->certs[i].der_len);
        jbuf_str(jb, NULL, b64);
        free(b64);
    }
    jbuf_close_array(jb);
}

void tls_eve_write(const struct tls_tx *tx, struct jbuf *jb, unsigned flags)
{
    const struct tls_cert *c = tls_cert0(tx);
    char buf[24];

    if (c) {
        jbuf_strn(jb, "subject", (const uint8_t *)c->subject, c->subject_len);
        if (c->issuer)
            jbuf_strn(jb, "issuerdn", (const uint8_t *)c->issuer, c->issuer_len);
    }
    if (tx->resumed)
        jbuf_bool(jb, "session_resumed", 1);
    if (c) {
        if (c->serial)
            jbuf_str(jb, "serial", c->serial);
        jbuf_str(jb, "fingerprint", c->fingerprint);
    }
    if (tx->sni)
        jbuf_strn(jb, "sni", tx->sni, tx->sni_len);
    jbuf_str(jb, "version", tls_version_name(tx->version[APP_TO_CLIENT], buf));
    if (c && c->have_validity) {
        tls_eve_time(jb, "notbefore", c->notbefore);
        tls_eve_time(jb, "notafter", c->notafter);
    }
    if (tx->ja3) {
        jbuf_open_object(jb, "ja3");
        jbuf_str(jb, "hash", tx->ja3_hash);
        jbuf_str(jb, "string", tx->ja3);
        jbuf_close_object(jb);
    }
    if (tx->ja3s) {
        jbuf_open_object(jb, "ja3s");
        jbuf_str(jb, "hash", tx->ja3s_hash);
        jbuf_str(jb, "string", tx->ja3s);
        jbuf_close_object(jb);
    }
    tls_eve_alpns(jb, "client_alpns", tx->alpn[APP_TO_SERVER], tx->alpn_len[APP_TO_SERVER]);
    tls_eve_alpns(jb, "server_alpns", tx->alpn[APP_TO_CLIENT], tx->alpn_len[APP_TO_CLIENT]);
    if ((flags & TLS_EVE_CHAIN) && tx->ncerts)
        tls_eve_chain(jb, tx);
}

static void tls_tx_eve(const void *state, const struct app_tx *t, struct jbuf *jb)
{
    (void)state;
    tls_eve_write((const struct tls_tx *)t, jb, 0);
}

static const uint16_t tls_ports[] = { 443, 465, 636, 853, 989, 990, 992, 993, 994, 995, 5061, 8443 };

/* The ClientHello's server name (app_parser.tx_names). */
static void tls_tx_names(const void *state, const struct app_tx *t, app_name_fn fn, void *arg)
{
    const struct tls_tx *tx = (const struct tls_tx *)t;

    (void)state;
    if (tx->sni && tx->sni_len)
        fn(arg, APP_NAME_TLS_SNI, tx->sni, tx->sni_len);
}

const struct app_parser app_parser_tls = {
    .name = "tls",
    .proto = APP_PROTO_TLS,
    .tcp = 1,
    .udp = 0,
    .ports = tls_ports,
    .nports = sizeof tls_ports / sizeof tls_ports[0],
    .events = tls_event_names,
    .nevents = TLS_EV_MAX,
    .probe = tls_probe,
    .state_new = tls_state_new,
    .state_free = tls_state_free,
    .parse = tls_parse,
    .txs = tls_txs,
    .tx_free = tls_tx_free,
    .tx_eve = tls_tx_eve,
    .tx_names = tls_tx_names,
};
