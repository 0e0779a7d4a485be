/* detect-transform.c - transforms of sticky buffers (detect-transform.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "detect-transform.h"

static int is_space(uint8_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Room for n bytes in work buffer k. */
static uint8_t *room(struct detect_xbuf *xb, int k, uint32_t n)
{
    if (n > xb->cap[k]) {
        uint32_t cap = xb->cap[k] ? xb->cap[k] : 256;
        uint8_t *p;

        while (cap < n)
            cap *= 2;
        if ((p = realloc(xb->b[k], cap)) == NULL)
            return NULL;
        xb->b[k] = p;
        xb->cap[k] = cap;
    }
    return xb->b[k];
}

static int hexv(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static uint32_t url_decode(const uint8_t *in, uint32_t n, uint8_t *o)
{
    uint32_t k = 0;

    for (uint32_t i = 0; i < n; i++) {
        if (in[i] == '%' && i + 2 < n + 0u && hexv(in[i + 1]) >= 0 && hexv(in[i + 2]) >= 0) {
            o[k++] = (uint8_t)(hexv(in[i + 1]) << 4 | hexv(in[i + 2]));
            i += 2;
        } else {
            o[k++] = in[i] == '+' ? ' ' : in[i];
        }
    }
    return k;
}

/* Lines "name: value" (CRLF or LF separated): lower-cases each name, or
 * drops the lines whose name starts with ':' (strip). */
static uint32_t headers(const uint8_t *in, uint32_t n, uint8_t *o, int strip)
{
    uint32_t k = 0, i = 0;

    while (i < n) {
        uint32_t e = i;
        int in_name = 1;

        while (e < n && in[e] != '\n')
            e++;
        if (e < n)
            e++;                                   /* keep the line's '\n' */
        if (strip && in[i] == ':') {
            i = e;
            continue;
        }
        for (; i < e; i++) {
            uint8_t c = in[i];

            if (c == ':')
                in_name = 0;
            o[k++] = (!strip && in_name && c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
        }
    }
    return k;
}

static uint32_t digest(const EVP_MD *md, const uint8_t *in, uint32_t n, uint8_t *o)
{
    unsigned int len = 0;

    if (EVP_Digest(in, n, o, &len, md, NULL) != 1)
        return 0;
    return len;
}

/* pcrexform: the last group that took part in the match (the whole match
 * without groups), as Suricata; the input unchanged when there is no
 * match. Returns the length written to o. */
static uint32_t pcrexform(const struct rule_xform *x, const uint8_t *in, uint32_t n, uint8_t *o,
                          struct pcre2_real_match_data_8 *md)
{
    pcre2_match_data *m = (pcre2_match_data *)md;
    int rc = pcre2_match((const pcre2_code *)x->re, in, n, 0, 0, m, NULL);
    PCRE2_SIZE *ov;

    if (rc <= 0) {
        memcpy(o, in, n);
        return n;
    }
    ov = pcre2_get_ovector_pointer(m);
    if (ov[2 * (rc - 1)] == PCRE2_UNSET || ov[2 * (rc - 1) + 1] < ov[2 * (rc - 1)])
        return 0;
    memcpy(o, in + ov[2 * (rc - 1)], ov[2 * (rc - 1) + 1] - ov[2 * (rc - 1)]);
    return (uint32_t)(ov[2 * (rc - 1) + 1] - ov[2 * (rc - 1)]);
}

/* One transform of in[0, n) into o (room for n + 64 bytes). */
static uint32_t xform_one(const struct rule_xform *x, const uint8_t *in, uint32_t n, uint8_t *o,
                          struct pcre2_real_match_data_8 *md)
{
    uint32_t k = 0;

    switch (x->type) {
    case RULE_XF_DOTPREFIX:
        o[0] = '.';
        memcpy(o + 1, in, n);
        return n + 1;
    case RULE_XF_TO_LOWERCASE:
    case RULE_XF_TO_UPPERCASE:
        for (uint32_t i = 0; i < n; i++) {
            uint8_t c = in[i];

            if (x->type == RULE_XF_TO_LOWERCASE && c >= 'A' && c <= 'Z')
                c = (uint8_t)(c + 32);
            else if (x->type == RULE_XF_TO_UPPERCASE && c >= 'a' && c <= 'z')
                c = (uint8_t)(c - 32);
            o[i] = c;
        }
        return n;
    case RULE_XF_STRIP_WHITESPACE:
        for (uint32_t i = 0; i < n; i++)
            if (!is_space(in[i]))
                o[k++] = in[i];
        return k;
    case RULE_XF_COMPRESS_WHITESPACE:
        /* Suricata keeps the first whitespace character of each run. */
        for (uint32_t i = 0; i < n; i++)
            if (!is_space(in[i]) || i == 0 || !is_space(in[i - 1]))
                o[k++] = in[i];
        return k;
    case RULE_XF_URL_DECODE:
        return url_decode(in, n, o);
    case RULE_XF_TO_MD5:
        return digest(EVP_md5(), in, n, o);
    case RULE_XF_TO_SHA1:
        return digest(EVP_sha1(), in, n, o);
    case RULE_XF_TO_SHA256:
        return digest(EVP_sha256(), in, n, o);
    case RULE_XF_HEADER_LOWERCASE:
        return headers(in, n, o, 0);
    case RULE_XF_STRIP_PSEUDO_HEADERS:
        return headers(in, n, o, 1);
    case RULE_XF_PCREXFORM:
        return pcrexform(x, in, n, o, md);
    case RULE_XF_XOR:
        for (uint32_t i = 0; i < n; i++)
            o[i] = in[i] ^ x->key[i % x->keylen];
        return n;
    default:
        memcpy(o, in, n);
        return n;
    }
}

int detect_transform(struct detect_xbuf *xb, const struct rule_view *v, const uint8_t *in, uint32_t len,
                     struct pcre2_real_match_data_8 *md, const uint8_t **out, uint32_t *outlen)
{
    const uint8_t *cur = in;
    uint32_t n = len > DETECT_XFORM_MAX ? DETECT_XFORM_MAX : len;

    for (unsigned i = 0; i < v->nxf; i++) {
        uint8_t *o = room(xb, (int)(i & 1), n + 64);

        if (o == NULL)
            return -1;
        n = xform_one(&v->xf[i], cur, n, o, md);
        cur = o;
    }
    *out = cur;
    *outlen = v->nxf ? n : len;
    return 0;
}

void detect_xbuf_free(struct detect_xbuf *xb)
{
    for (int k = 0; k < 2; k++) {
        free(xb->b[k]);
        xb->b[k] = NULL;
        xb->cap[k] = 0;
    }
}

static int b64v(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

uint32_t detect_base64_decode(const uint8_t *in, uint32_t len, uint8_t *out)
{
    uint32_t acc = 0, k = 0;
    int bits = 0;

    for (uint32_t i = 0; i < len; i++) {
        int v;

        if (in[i] == '=')
            break;
        if ((v = b64v(in[i])) < 0)
            continue;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (uint8_t)(acc >> bits);
        }
    }
    return k;
}
