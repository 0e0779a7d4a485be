/* rule-kw-payload.c - the keywords that inspect a buffer: content and its
 * modifiers, pcre, sticky buffers and their transforms, isdataat, bsize,
 * urilen, byte_test, byte_jump, byte_extract, byte_math, base64_decode and
 * base64_data (rule-parse-int.h). */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pcre2.h>

#include "config.h"
#include "rule-buffers.h"
#include "pii.h"
#include "rule-hashlist.h"
#include "rule-parse-int.h"
#include "rule-text.h"

/* ------------------------------------------------------------------ views */

void rp_xforms_free(struct rule_xform *xf, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        free(xf[i].key);
        xf[i].key = NULL;
        pcre2_code_free((pcre2_code *)xf[i].re);
        xf[i].re = NULL;
    }
}

static int xforms_equal(const struct rule_xform *a, unsigned na, const struct rule_xform *b, unsigned nb)
{
    if (na != nb)
        return 0;
    for (unsigned i = 0; i < na; i++)
        if (a[i].type != b[i].type || a[i].keylen != b[i].keylen ||
            (a[i].keylen && memcmp(a[i].key, b[i].key, a[i].keylen) != 0))
            return 0;
    return 1;
}

/* A deep copy of transform x into d (a pcrexform's regex compiled again
 * from its text). -1 when out of memory. */
static int xform_copy(struct rule_xform *d, const struct rule_xform *x)
{
    PCRE2_SIZE off;
    int ec;

    *d = *x;
    d->key = NULL;
    d->re = NULL;
    if (x->keylen && (d->key = malloc(x->keylen + 1)) == NULL)
        return -1;
    if (x->keylen) {
        memcpy(d->key, x->key, x->keylen);
        d->key[x->keylen] = '\0';
    }
    if (x->type == RULE_XF_PCREXFORM) {
        d->re = (struct pcre2_real_code_8 *)pcre2_compile((PCRE2_SPTR)d->key, x->keylen, 0, &ec, &off, NULL);
        if (d->re == NULL)
            return -1;
        pcre2_jit_compile((pcre2_code *)d->re, PCRE2_JIT_COMPLETE);
    }
    return 0;
}

/* The view of buffer buf with transforms xf[0, nxf) (copied into it), made
 * when the rule has none yet. -1 when out of memory. */
static int view_get(struct pctx *pc, uint8_t buf, const struct rule_xform *xf, uint8_t nxf)
{
    struct rule *r = pc->r;
    struct rule_view *v;

    for (uint32_t i = 0; i < r->nviews; i++)
        if (r->views[i].buf == buf && xforms_equal(r->views[i].xf, r->views[i].nxf, xf, nxf))
            return (int)i;
    if (rule_grow((void **)&r->views, &pc->view_cap, r->nviews, sizeof *r->views) < 0)
        return perr(pc, NULL, "out of memory");
    v = &r->views[r->nviews++];
    memset(v, 0, sizeof *v);
    v->buf = buf;
    for (uint8_t i = 0; i < nxf; i++) {
        if (xform_copy(&v->xf[i], &xf[i]) < 0)
            return perr(pc, NULL, "out of memory");
        v->nxf = (uint8_t)(i + 1);
    }
    return (int)(r->nviews - 1);
}

int rp_view(struct pctx *pc)
{
    if (pc->cur_view < 0) {
        pc->cur_view = view_get(pc, pc->cur_buf, pc->pxf, pc->npxf);
        pc->xf_used = 1;
    }
    return pc->cur_view;
}

/* A new match entry of type in view. NULL with the error set. */
static struct rule_sm *sm_new(struct pctx *pc, uint8_t type, int view)
{
    struct rule *r = pc->r;
    struct rule_sm *sm;

    if (view < 0)
        return NULL;
    if (rule_grow((void **)&r->sm, &pc->sm_cap, r->nsm, sizeof *r->sm) < 0) {
        perr(pc, NULL, "out of memory");
        return NULL;
    }
    sm = &r->sm[r->nsm++];
    memset(sm, 0, sizeof *sm);
    sm->type = type;
    sm->view = (uint8_t)view;
    sm->buf = r->views[view].buf;
    return sm;
}

static int view_has_sm(const struct rule *r, int view)
{
    for (uint32_t i = 0; i < r->nsm; i++)
        if (r->sm[i].view == view)
            return 1;
    return 0;
}

int rp_var(const struct pctx *pc, const char *s)
{
    for (int i = 0; i < RULE_MAX_VARS && pc->vars[i]; i++)
        if (strcmp(pc->vars[i], s) == 0)
            return i;
    return -1;
}

/* A number in [min, max] or the name of a variable: *var is its index or -1. */
static int num_or_var(struct pctx *pc, const char *s, long long min, long long max,
                      long long *v, int8_t *var)
{
    *var = -1;
    if (isalpha((unsigned char)*s) || *s == '_') {
        int k = rp_var(pc, s);

        if (k < 0)
            return perr(pc, "unknown byte variable", "unknown byte_extract/byte_math variable '%.40s'", s);
        *var = (int8_t)k;
        *v = 0;
        return 0;
    }
    return rp_num_hex(s, min, max, v);
}

static int var_new(struct pctx *pc, const char *name)
{
    int n;

    if (*name == '\0' || !(isalpha((unsigned char)*name) || *name == '_'))
        return perr(pc, "bad byte variable name", "bad variable name '%.40s'", name);
    if (rp_var(pc, name) >= 0)
        return perr(pc, NULL, "variable '%.40s' defined twice", name);
    for (n = 0; n < RULE_MAX_VARS && pc->vars[n]; n++)
        ;
    if (n == RULE_MAX_VARS)
        return perr(pc, NULL, "more than %d byte_extract/byte_math variables", RULE_MAX_VARS);
    if ((pc->vars[n] = strdup(name)) == NULL)
        return perr(pc, NULL, "out of memory");
    pc->r->nvars = (uint8_t)(n + 1);
    return n;
}

/* ------------------------------------------------------------------ content */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes the quoted content string at v ("...": |hex| runs, escapes \" \;
 * \\ \:) into out (at least strlen(v) bytes). Returns the length or -1. */
static long content_decode(struct pctx *pc, const char *v, uint8_t *out)
{
    size_t n = strlen(v), o = 0;
    int hex = 0, nib = -1, h;

    if (*v != '"')
        return perr(pc, NULL, "content needs a quoted string");
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)v[i];

        if (hex) {
            if (c == '|') {
                if (nib >= 0)
                    return perr(pc, "bad hex in content", "bad hex in content: odd number of digits");
                hex = 0;
            } else if (c == ' ' || c == '\t') {
                if (nib >= 0)
                    return perr(pc, "bad hex in content", "bad hex in content: blank inside a byte");
            } else if ((h = hexval(c)) >= 0) {
                if (nib < 0) {
                    nib = h;
                } else {
                    out[o++] = (uint8_t)(nib << 4 | h);
                    nib = -1;
                }
            } else if (c == '"') {
                return perr(pc, NULL, "unterminated hex in content");
            } else {
                return perr(pc, "bad hex in content", "bad hex in content: '%c'", c);
            }
        } else if (c == '\\') {
            if (i + 1 >= n)
                return perr(pc, NULL, "unterminated content");
            c = (unsigned char)v[++i];
            if (c != '"' && c != ';' && c != '\\' && c != ':')
                return perr(pc, "bad escape in content", "bad escape '\\%c' in content", c);
            out[o++] = c;
        } else if (c == '|') {
            hex = 1;
        } else if (c == '"') {
            if (i + 1 != n)
                return perr(pc, NULL, "text after the closing quote of content");
            if (o == 0)
                return perr(pc, NULL, "content is empty");
            return (long)o;
        } else {
            out[o++] = c;
        }
    }
    return perr(pc, NULL, "unterminated content");
}

/* content:[!]"..." into view; sets last_content. */
static int content_add(struct pctx *pc, char *val, int view)
{
    struct rule_sm *sm;
    uint8_t *bytes;
    long len;
    int neg = 0;

    if (*val == '!') {
        neg = 1;
        val = rule_trim(val + 1);
    }
    if ((bytes = malloc(strlen(val) + 1)) == NULL)
        return perr(pc, NULL, "out of memory");
    if ((len = content_decode(pc, val, bytes)) < 0 || (sm = sm_new(pc, RULE_SM_CONTENT, view)) == NULL) {
        free(bytes);
        return -1;
    }
    sm->u.c.bytes = bytes;
    sm->u.c.len = (uint32_t)len;
    sm->u.c.flags = neg ? RULE_CT_NEGATED : 0;
    memset(sm->u.c.var, -1, sizeof sm->u.c.var);
    pc->last_content = (int32_t)(pc->r->nsm - 1);
    return 0;
}

int kw_content(struct pctx *pc, const struct keyword *kw, char *val)
{
    return content_add(pc, val, rp_view(pc));
}

/* uricontent:"x" is content:"x"; http_uri; (Snort's spelling). */
int kw_uricontent(struct pctx *pc, const struct keyword *kw, char *val)
{
    static const struct rule_xform none[1];

    return content_add(pc, val, view_get(pc, RULE_BUF_HTTP_URI, none, 0));
}

/* The content a modifier applies to, or NULL with the error set. */
static struct rule_content *last_content(struct pctx *pc, const char *kw)
{
    if (pc->last_content < 0) {
        perr(pc, NULL, "%s needs a preceding content", kw);
        return NULL;
    }
    return &pc->r->sm[pc->last_content].u.c;
}

int kw_flagmod(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_content *c = last_content(pc, kw->name);

    if (c == NULL)
        return -1;
    if (c->flags & (unsigned)kw->arg)
        return perr(pc, NULL, "%s given twice for one content", kw->name);
    c->flags |= (uint16_t)kw->arg;
    return 0;
}

/* offset, depth, distance, within: kw->arg is the RULE_CT_ flag. The value
 * is a number or a byte_extract/byte_math variable. */
int kw_position(struct pctx *pc, const struct keyword *kw, char *val)
{
    static const unsigned idx[] = { [RULE_CT_OFFSET] = RULE_POS_OFFSET, [RULE_CT_DEPTH] = RULE_POS_DEPTH,
                                    [RULE_CT_DISTANCE] = RULE_POS_DISTANCE, [RULE_CT_WITHIN] = RULE_POS_WITHIN };
    struct rule_content *c = last_content(pc, kw->name);
    unsigned f = (unsigned)kw->arg;
    int rel = (f & RULE_CT_RELATIVE) != 0;
    long long v;
    int8_t var;
    char agg[64];

    if (c == NULL)
        return -1;
    if (c->flags & f)
        return perr(pc, NULL, "%s given twice for one content", kw->name);
    if (c->flags & (RULE_CT_STARTSWITH))
        return perr(pc, NULL, "%s can't be used with startswith", kw->name);
    if (c->flags & (rel ? (RULE_CT_OFFSET | RULE_CT_DEPTH) : RULE_CT_RELATIVE))
        return perr(pc, NULL, "%s can't be mixed with %s on one content", kw->name,
                    rel ? "offset or depth" : "distance or within");
    if (num_or_var(pc, val, f == RULE_CT_DISTANCE ? -65535 : 0, 65535, &v, &var) < 0) {
        if (pc->err->msg[0])
            return -1;
        snprintf(agg, sizeof agg, "bad %s", kw->name);
        return perr(pc, agg, "bad %s '%.60s'", kw->name, val);
    }
    if (var < 0 && (f == RULE_CT_DEPTH || f == RULE_CT_WITHIN) && v < (long long)c->len)
        return perr(pc, NULL, "%s %lld is less than the content length %u", kw->name, v, c->len);
    c->flags |= (uint16_t)f;
    c->var[idx[f]] = var;
    switch (f) {
    case RULE_CT_OFFSET:   c->offset = (uint16_t)v; break;
    case RULE_CT_DEPTH:    c->depth = (uint16_t)v; break;
    case RULE_CT_DISTANCE: c->distance = (int32_t)v; break;
    default:               c->within = (uint32_t)v; break;
    }
    return 0;
}

/* startswith: the content sits at the very start (offset 0, depth len). */
int kw_startswith(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_content *c = last_content(pc, kw->name);

    if (c == NULL)
        return -1;
    if (c->flags & (RULE_CT_OFFSET | RULE_CT_DEPTH | RULE_CT_RELATIVE | RULE_CT_STARTSWITH))
        return perr(pc, NULL, "startswith can't be mixed with offset, depth, distance or within");
    c->flags |= RULE_CT_STARTSWITH | RULE_CT_OFFSET | RULE_CT_DEPTH;
    c->offset = 0;
    c->depth = (uint16_t)(c->len > 65535 ? 65535 : c->len);
    return 0;
}

/* endswith: the content's match ends at the end of the buffer. */
int kw_endswith(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_content *c = last_content(pc, kw->name);

    if (c == NULL)
        return -1;
    if (c->flags & RULE_CT_ENDSWITH)
        return perr(pc, NULL, "endswith given twice for one content");
    c->flags |= RULE_CT_ENDSWITH;
    return 0;
}

/* fast_pattern, fast_pattern:only, fast_pattern:offset,length. */
int kw_fast_pattern(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_content *c = last_content(pc, "fast_pattern");
    int32_t idx = pc->last_content;
    uint16_t f = RULE_CT_FAST_PATTERN;

    if (c == NULL)
        return -1;
    if (val != NULL && strcmp(val, "only") == 0) {
        f |= RULE_CT_FP_ONLY;
    } else if (val != NULL) {
        char *fld[3];
        long long off, len;

        if (rp_split(val, fld, 2) != 2 || rp_num(fld[0], 0, 65535, &off) < 0 ||
            rp_num(fld[1], 1, 65535, &len) < 0)
            return perr(pc, "bad fast_pattern", "bad fast_pattern '%.60s'", val);
        if (off + len > (long long)c->len)
            return perr(pc, NULL, "fast_pattern %lld,%lld reaches past the content's %u bytes",
                        off, len, c->len);
        c->fp_off = (uint16_t)off;
        c->fp_len = (uint16_t)len;
        f |= RULE_CT_FP_CHOP;
    }
    if (pc->r->fast_pattern >= 0 && pc->r->fast_pattern != idx)
        return perr(pc, NULL, "fast_pattern given on more than one content");
    pc->r->fast_pattern = idx;
    c->flags |= f;
    return 0;
}

/* ------------------------------------------------------------------ sticky buffers */

int kw_sticky(struct pctx *pc, const struct keyword *kw, char *val)
{
    if (pc->npxf && !pc->xf_used)
        return perr(pc, NULL, "transforms before %s apply to no content", kw->name);
    rp_xforms_free(pc->pxf, pc->npxf);
    pc->npxf = 0;
    pc->cur_buf = (uint8_t)kw->arg;
    pc->cur_view = -1;
    return 0;
}

int kw_pkt_data(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct keyword k = *kw;

    k.arg = RULE_BUF_PAYLOAD;
    return kw_sticky(pc, &k, val);
}

/* Suricata 4 style: "content:...; http_uri;" moves that content to the
 * buffer's view without transforms. */
int kw_content_buffer(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_content *c = last_content(pc, kw->name);
    static const struct rule_xform none[1];
    struct rule_sm *sm;
    int view;

    if (c == NULL)
        return -1;
    sm = &pc->r->sm[pc->last_content];
    if (sm->buf != RULE_BUF_PAYLOAD && sm->buf != kw->arg)
        return perr(pc, NULL, "%s can't apply to a content in the %s buffer",
                    kw->name, rule_buffer_name((enum rule_buffer)sm->buf));
    if ((view = view_get(pc, (uint8_t)kw->arg, none, 0)) < 0)
        return -1;
    sm = &pc->r->sm[pc->last_content];
    sm->buf = (uint8_t)kw->arg;
    sm->view = (uint8_t)view;
    return 0;
}

/* dotprefix, to_lowercase, ... (kw->arg: enum rule_xform_type); pcrexform
 * and xor take a quoted value. */
int kw_transform(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_xform *x;

    if (pc->cur_buf == RULE_BUF_PAYLOAD || pc->cur_buf == RULE_BUF_BASE64)
        return perr(pc, NULL, "%s needs a sticky buffer before it", kw->name);
    /* After contents, a transform starts a new view of the buffer with the
     * transforms so far and this one (the contents before keep theirs). */
    pc->cur_view = -1;
    pc->xf_used = 0;
    if (pc->npxf == RULE_MAX_XFORMS)
        return perr(pc, NULL, "more than %d transforms on one buffer", RULE_MAX_XFORMS);
    x = &pc->pxf[pc->npxf];
    memset(x, 0, sizeof *x);
    x->type = (uint8_t)kw->arg;
    if (x->type == RULE_XF_PCREXFORM) {
        char *re = rp_string_raw(pc, kw->name, val);
        PCRE2_UCHAR msg[160];
        PCRE2_SIZE off;
        int ec;

        if (re == NULL)
            return pc->err->msg[0] ? -1 : perr(pc, NULL, "out of memory");
        x->re = (struct pcre2_real_code_8 *)pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0,
                                                           &ec, &off, NULL);
        if (x->re == NULL) {
            pcre2_get_error_message(ec, msg, sizeof msg);
            perr(pc, "bad pcrexform", "bad pcrexform '%.60s': %s", re, (char *)msg);
            free(re);
            return -1;
        }
        pcre2_jit_compile((pcre2_code *)x->re, PCRE2_JIT_COMPLETE);
        x->key = (uint8_t *)re;
        x->keylen = (uint32_t)strlen(re);
    } else if (x->type == RULE_XF_XOR) {
        char *hex = rp_string(pc, kw->name, val);
        size_t n = hex ? strlen(hex) : 0;

        if (hex == NULL)
            return pc->err->msg[0] ? -1 : perr(pc, NULL, "out of memory");
        if (n == 0 || n % 2 || n > 510) {
            free(hex);
            return perr(pc, "bad xor key", "bad xor key: an even number of hex digits, at most 255 bytes");
        }
        for (size_t i = 0; i < n; i += 2) {
            int h = hexval(hex[i]), l = hexval(hex[i + 1]);

            if (h < 0 || l < 0) {
                char bad[3] = { hex[i], hex[i + 1], '\0' };

                free(hex);
                return perr(pc, "bad xor key", "bad xor key: '%s' is not hex", bad);
            }
            hex[i / 2] = (char)(h << 4 | l);
        }
        x->key = (uint8_t *)hex;
        x->keylen = (uint32_t)(n / 2);
    }
    pc->npxf++;
    return 0;
}

/* ------------------------------------------------------------------ pcre */

static const char *pcre_missing_buffer(char f)
{
    return f == 'K' ? "http raw cookie" : NULL;
}

/* Reads the flags after the closing '/': compile options, RULE_PCRE_*
 * flags and the buffer a flag names (-1 none). */
static int pcre_flags(struct pctx *pc, const char *f, uint32_t *opts, uint8_t *flags, int *buf)
{
    const char *missing;
    int b;

    for (; *f; f++) {
        switch (*f) {
        case 'i': *opts |= PCRE2_CASELESS; continue;
        case 's': *opts |= PCRE2_DOTALL; continue;
        case 'm': *opts |= PCRE2_MULTILINE; continue;
        case 'x': *opts |= PCRE2_EXTENDED; continue;
        case 'A': *opts |= PCRE2_ANCHORED; continue;
        case 'E': *opts |= PCRE2_DOLLAR_ENDONLY; continue;
        case 'G': *opts |= PCRE2_UNGREEDY; continue;
        case 'R': *flags |= RULE_PCRE_RELATIVE; continue;
        case 'B': *flags |= RULE_PCRE_RAWBYTES; continue;
        case 'O': continue;             /* match-limit override: ours are fixed */
        default: break;
        }
        if ((b = rule_buffer_by_pcre_flag(*f)) >= 0) {
            if (*buf >= 0 && *buf != b)
                return perr(pc, NULL, "pcre has flags for two buffers");
            *buf = b;
        } else if ((missing = pcre_missing_buffer(*f)) != NULL) {
            char agg[96];

            snprintf(agg, sizeof agg, "pcre flag '%c' is not supported", *f);
            return perr(pc, agg, "pcre flag '%c' (%s) is not supported: no such buffer", *f, missing);
        } else {
            return perr(pc, "unknown pcre flag", "unknown pcre flag '%c'", *f);
        }
    }
    return 0;
}

/* Compiles re with opts, JIT when possible. NULL with the error set. */
static pcre2_code *pcre_compile(struct pctx *pc, const char *text, const char *re,
                                size_t len, uint32_t opts, uint8_t *flags)
{
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE off;
    pcre2_code *code;
    int ec;

    code = pcre2_compile((PCRE2_SPTR)re, len, opts, &ec, &off, NULL);
    if (code == NULL) {
        pcre2_get_error_message(ec, msg, sizeof msg);
        perr(pc, "bad pcre", "bad pcre '%.80s': %s at offset %zu", text, (char *)msg, (size_t)off);
        return NULL;
    }
    if (pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0)
        *flags |= RULE_PCRE_JIT;
    return code;
}

int kw_pcre(struct pctx *pc, const struct keyword *kw, char *val)
{
    static const struct rule_xform none[1];
    uint32_t opts = 0;
    uint8_t flags = 0;
    int buf = -1, view;
    size_t n;
    char *slash;
    struct rule_sm *sm;
    pcre2_code *code;

    if (*val == '!') {
        flags |= RULE_PCRE_NEGATED;
        val = rule_trim(val + 1);
    }
    n = strlen(val);
    if (*val != '"')
        return perr(pc, NULL, "pcre needs a quoted string");
    if (n < 2 || val[n - 1] != '"' || val[n - 2] == '\\')
        return perr(pc, NULL, "unterminated pcre");
    val[--n] = '\0';
    val++;
    if (*val != '/' || (slash = strrchr(val, '/')) == val)
        return perr(pc, "bad pcre", "bad pcre '%.80s': it must be /regex/flags", val);
    if (pcre_flags(pc, slash + 1, &opts, &flags, &buf) < 0)
        return -1;
    if (buf == RULE_BUF_FILE_DATA && pc->cur_buf == RULE_BUF_HTTP_RESPONSE_BODY)
        buf = pc->cur_buf;               /* Suricata 7: the same buffer for HTTP */
    if (buf >= 0 && pc->cur_buf != RULE_BUF_PAYLOAD && pc->cur_buf != buf)
        return perr(pc, NULL, "pcre flag for %s conflicts with the sticky buffer %s",
                    rule_buffer_name((enum rule_buffer)buf), rule_buffer_name((enum rule_buffer)pc->cur_buf));
    view = buf >= 0 && buf != pc->cur_buf ? view_get(pc, (uint8_t)buf, none, 0) : rp_view(pc);
    if (view < 0)
        return -1;
    if ((flags & RULE_PCRE_RELATIVE) && !view_has_sm(pc->r, view))
        return perr(pc, NULL, "pcre /R needs a preceding content or pcre in the same buffer");
    if ((code = pcre_compile(pc, val, val + 1, (size_t)(slash - val - 1), opts, &flags)) == NULL)
        return -1;
    if ((sm = sm_new(pc, RULE_SM_PCRE, view)) == NULL) {
        pcre2_code_free(code);
        return -1;
    }
    sm->u.p.code = (struct pcre2_real_code_8 *)code;
    sm->u.p.flags = flags;
    if ((sm->u.p.text = strdup(val)) == NULL)
        return perr(pc, NULL, "out of memory");
    return 0;
}

/* ------------------------------------------------------------------ isdataat, bsize, urilen */

/* isdataat:[!]N|var[,relative][,rawbytes] */
int kw_isdataat(struct pctx *pc, const struct keyword *kw, char *val)
{
    char *f[4];
    int n = rp_split(val, f, 4);
    struct rule_sm *sm;
    long long v;
    int8_t var;
    uint8_t flags = 0;
    char *num;

    if (n < 1)
        return perr(pc, "bad isdataat", "bad isdataat '%.60s'", val);
    num = f[0];
    if (*num == '!') {
        flags |= RULE_ID_NEGATED;
        num = rule_trim(num + 1);
    }
    for (int i = 1; i < n; i++) {
        if (strcmp(f[i], "relative") == 0)
            flags |= RULE_ID_RELATIVE;
        else if (strcmp(f[i], "rawbytes") != 0)
            return perr(pc, "bad isdataat", "bad isdataat option '%.40s'", f[i]);
    }
    if (num_or_var(pc, num, 0, 65535, &v, &var) < 0)
        return pc->err->msg[0] ? -1 : perr(pc, "bad isdataat", "bad isdataat '%.60s'", num);
    if ((sm = sm_new(pc, RULE_SM_ISDATAAT, rp_view(pc))) == NULL)
        return -1;
    sm->u.d.flags = flags;
    sm->u.d.var = var;
    sm->u.d.n = (uint32_t)v;
    return 0;
}

/* bsize:[op]N or N<>M: the length of the current sticky buffer. */
int kw_bsize(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct rule_view *v;
    int view;

    if (pc->cur_buf == RULE_BUF_PAYLOAD)
        return perr(pc, NULL, "bsize needs a sticky buffer before it");
    if ((view = rp_view(pc)) < 0)
        return -1;
    v = &pc->r->views[view];
    if (v->bsize.op != RULE_CMP_NONE)
        return perr(pc, NULL, "bsize given twice for %s", rule_buffer_name((enum rule_buffer)v->buf));
    if (rp_cmp(val, UINT32_MAX - 1, NULL, &v->bsize) < 0) {
        v->bsize.op = RULE_CMP_NONE;
        return perr(pc, "bad bsize", "bad bsize '%.60s'", val);
    }
    return 0;
}

/* pii:<type>[|<type>...][, count <op> N]: validated personal-data items in
 * the current buffer (the payload without a sticky buffer), sensor/detect/pii.h.
 * Not relative, and sets no position: it looks at the whole buffer. */
int kw_pii(struct pctx *pc, const struct keyword *kw, char *val)
{
    struct pii_keyword pk;
    struct rule_sm *sm;
    char why[160];

    (void)kw;
    if (pii_keyword_parse(val, &pk, why, sizeof why) < 0)
        return perr(pc, "bad pii", "bad pii '%.60s': %s", val, why);
    if ((sm = sm_new(pc, RULE_SM_PII, rp_view(pc))) == NULL)
        return -1;
    sm->u.pii = pk;
    pc->r->pii_types |= pk.types;
    return 0;
}

/* urilen:[op]N[<>M][,norm|raw]: the length of http.uri (norm) or
 * http.uri.raw. */
int kw_urilen(struct pctx *pc, const struct keyword *kw, char *val)
{
    static const struct rule_xform none[1];
    char *f[2];
    int n = rp_split(val, f, 2), view;
    uint8_t buf = RULE_BUF_HTTP_URI;
    struct rule_view *v;

    if (n < 1)
        return perr(pc, "bad urilen", "bad urilen '%.60s'", val);
    if (n == 2) {
        if (strcmp(f[1], "raw") == 0)
            buf = RULE_BUF_HTTP_URI_RAW;
        else if (strcmp(f[1], "norm") != 0)
            return perr(pc, "bad urilen", "bad urilen option '%.40s'", f[1]);
    }
    if ((view = view_get(pc, buf, none, 0)) < 0)
        return -1;
    v = &pc->r->views[view];
    if (v->urilen.op != RULE_CMP_NONE)
        return perr(pc, NULL, "urilen given twice for %s", rule_buffer_name((enum rule_buffer)buf));
    if (rp_cmp(f[0], 65535, NULL, &v->urilen) < 0) {
        v->urilen.op = RULE_CMP_NONE;
        return perr(pc, "bad urilen", "bad urilen '%.60s'", val);
    }
    return 0;
}

/* ------------------------------------------------------------------ byte_test, byte_jump, byte_extract */

static int byte_op(const char *s, uint8_t *op, int test)
{
    static const struct { const char *s; uint8_t op; } ops[] = {
        { "<", RULE_BOP_LT }, { ">", RULE_BOP_GT }, { "=", RULE_BOP_EQ }, { "<=", RULE_BOP_LE },
        { ">=", RULE_BOP_GE }, { "&", RULE_BOP_AND }, { "^", RULE_BOP_OR },
        { "+", RULE_BOP_ADD }, { "-", RULE_BOP_SUB }, { "*", RULE_BOP_MUL }, { "/", RULE_BOP_DIV },
        { "<<", RULE_BOP_SHL }, { ">>", RULE_BOP_SHR },
    };

    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(s, ops[i].s) == 0 && (ops[i].op <= RULE_BOP_OR) == (test != 0)) {
            *op = ops[i].op;
            return 0;
        }
    return -1;
}

static int byte_base(const char *s, uint8_t *base)
{
    if (strcmp(s, "dec") == 0)
        *base = 10;
    else if (strcmp(s, "hex") == 0)
        *base = 16;
    else if (strcmp(s, "oct") == 0)
        *base = 8;
    else
        return -1;
    return 0;
}

/* The bitmask's value and whether it is usable. */
static int byte_mask(struct pctx *pc, struct rule_byte *b, const char *s)
{
    long long v;

    if (s == NULL || rp_num_hex(s, 1, UINT32_MAX, &v) < 0)
        return perr(pc, "bad bitmask", "bad bitmask '%.40s'", s ? s : "");
    b->bitmask = (uint64_t)v;
    b->flags |= RULE_BY_BITMASK;
    return 0;
}

/* The optional words after the positional fields of byte_test, byte_jump,
 * byte_extract (w[0, n)): which are allowed depends on the keyword. */
static int byte_options(struct pctx *pc, const char *kw, struct rule_byte *b, int type, char **w, int n)
{
    for (int i = 0; i < n; i++) {
        const char *s = w[i], *next = i + 1 < n ? w[i + 1] : NULL;
        long long v;

        if (strcmp(s, "relative") == 0) {
            b->flags |= RULE_BY_RELATIVE;
        } else if (strcmp(s, "big") == 0) {
            b->flags &= (uint16_t)~RULE_BY_LITTLE;
        } else if (strcmp(s, "little") == 0) {
            b->flags |= RULE_BY_LITTLE;
        } else if (strcmp(s, "dce") == 0) {
            b->flags |= RULE_BY_DCE | RULE_BY_LITTLE;
        } else if (strcmp(s, "string") == 0) {
            b->flags |= RULE_BY_STRING;
            if (next && byte_base(next, &b->base) == 0)
                i++;
        } else if (byte_base(s, &b->base) == 0 && (b->flags & RULE_BY_STRING)) {
            ;
        } else if (strcmp(s, "bitmask") == 0 && type != RULE_SM_BYTE_EXTRACT) {
            if (byte_mask(pc, b, next) < 0)
                return -1;
            i++;
        } else if (strcmp(s, "multiplier") == 0 && type != RULE_SM_BYTE_TEST) {
            if (next == NULL || rp_num(next, 1, 65535, &v) < 0)
                return perr(pc, "bad byte option", "%s: bad multiplier", kw);
            b->multiplier = (uint32_t)v;
            i++;
        } else if (strcmp(s, "align") == 0 && type == RULE_SM_BYTE_JUMP) {
            b->flags |= RULE_BY_ALIGN;
        } else if (strcmp(s, "align") == 0 && type == RULE_SM_BYTE_EXTRACT) {
            if (next == NULL || rp_num(next, 2, 4, &v) < 0 || v == 3)
                return perr(pc, "bad byte option", "%s: align must be 2 or 4", kw);
            b->flags |= RULE_BY_ALIGN;
            b->align = (uint8_t)v;
            i++;
        } else if (strcmp(s, "from_beginning") == 0 && type == RULE_SM_BYTE_JUMP) {
            b->flags |= RULE_BY_FROM_BEGIN;
        } else if (strcmp(s, "from_end") == 0 && type == RULE_SM_BYTE_JUMP) {
            b->flags |= RULE_BY_FROM_END;
        } else if (strcmp(s, "post_offset") == 0 && type == RULE_SM_BYTE_JUMP) {
            if (next == NULL || rp_num(next, -65535, 65535, &v) < 0)
                return perr(pc, "bad byte option", "%s: bad post_offset", kw);
            b->post_offset = (int32_t)v;
            i++;
        } else {
            return perr(pc, "bad byte option", "%s: unknown option '%.40s'", kw, s);
        }
    }
    return 0;
}

/* Splits the option fields after the positional ones into words. */
static int byte_words(char **f, int nf, char **w, int maxw)
{
    int n = 0;

    for (int i = 0; i < nf; i++) {
        char *save = NULL;

        for (char *t = strtok_r(f[i], " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
            if (n == maxw)
                return -1;
            w[n++] = t;
        }
    }
    return n;
}

/* nbytes within the limits of its form (binary 1..8, string 1..23). */
static int byte_check(struct pctx *pc, const char *kw, struct rule_byte *b)
{
    if ((b->flags & RULE_BY_STRING) && b->base == 0)
        b->base = 10;
    if (b->nbytes_var < 0 && b->nbytes > ((b->flags & RULE_BY_STRING) ? 23 : 8))
        return perr(pc, NULL, "%s: %u bytes is out of range (0-8, or 0-23 with string)", kw, b->nbytes);
    if ((b->flags & RULE_BY_FROM_BEGIN) && (b->flags & RULE_BY_FROM_END))
        return perr(pc, NULL, "%s: from_beginning and from_end conflict", kw);
    return 0;
}

/* The nbytes field: a number or a variable. */
static int byte_nbytes(struct pctx *pc, struct rule_byte *b, const char *s)
{
    long long v;

    if (num_or_var(pc, s, 0, 255, &v, &b->nbytes_var) < 0)
        return -1;
    b->nbytes = (uint8_t)v;
    return 0;
}

/* byte_test:N,[!]op,value,offset[,options]
 * byte_jump:N,offset[,options]
 * byte_extract:N,offset,name[,options]   (kw->arg: RULE_SM_BYTE_*) */
int kw_byte(struct pctx *pc, const struct keyword *kw, char *val)
{
    char *f[16], *w[32];
    int type = kw->arg, npos = type == RULE_SM_BYTE_TEST ? 4 : type == RULE_SM_BYTE_JUMP ? 2 : 3;
    int nf = rp_split(val, f, 16), nw;
    struct rule_byte b;
    struct rule_sm *sm;
    long long v;
    char agg[64];

    snprintf(agg, sizeof agg, "bad %s", kw->name);
    if (nf < npos)
        return perr(pc, agg, "bad %s '%.60s': too few fields", kw->name, val);
    memset(&b, 0, sizeof b);
    b.nbytes_var = b.offset_var = b.value_var = b.result = -1;
    b.multiplier = 1;
    if (byte_nbytes(pc, &b, f[0]) < 0)
        return pc->err->msg[0] ? -1 : perr(pc, agg, "bad %s byte count '%.40s'", kw->name, f[0]);
    if (type == RULE_SM_BYTE_TEST) {
        char *op = f[1];

        if (*op == '!') {
            b.flags |= RULE_BY_NEGATE;
            op = rule_trim(op + 1);
        }
        if (strcmp(op, "!=") == 0 || (*op == '\0' && (b.flags & RULE_BY_NEGATE))) {
            b.flags |= RULE_BY_NEGATE;
            op = "=";
        }
        if (byte_op(op, &b.op, 1) < 0)
            return perr(pc, agg, "bad %s operator '%.20s'", kw->name, f[1]);
        if (num_or_var(pc, f[2], 0, (long long)(UINT64_MAX >> 1), &v, &b.value_var) < 0)
            return pc->err->msg[0] ? -1 : perr(pc, agg, "bad %s value '%.40s'", kw->name, f[2]);
        b.value = (uint64_t)v;
    }
    if (num_or_var(pc, f[type == RULE_SM_BYTE_TEST ? 3 : 1], -65535, 65535, &v, &b.offset_var) < 0)
        return pc->err->msg[0] ? -1 : perr(pc, agg, "bad %s offset", kw->name);
    b.offset = (int32_t)v;
    if ((nw = byte_words(f + npos, nf - npos, w, 32)) < 0 ||
        byte_options(pc, kw->name, &b, type, w, nw) < 0 || byte_check(pc, kw->name, &b) < 0)
        return pc->err->msg[0] ? -1 : perr(pc, agg, "bad %s options", kw->name);
    if (type == RULE_SM_BYTE_EXTRACT && (b.nbytes_var >= 0 || (b.result = (int8_t)var_new(pc, f[2])) < 0))
        return pc->err->msg[0] ? -1 : perr(pc, agg, "%s takes a number of bytes", kw->name);
    if ((sm = sm_new(pc, (uint8_t)type, rp_view(pc))) == NULL)
        return -1;
    sm->u.b = b;
    return 0;
}

/* byte_math:bytes N, offset N, oper OP, rvalue N|var, result name
 * [, relative][, endian big|little|dce][, string dec|hex|oct][, dce][, bitmask N] */
int kw_byte_math(struct pctx *pc, const struct keyword *kw, char *val)
{
    char *f[16];
    int nf = rp_split(val, f, 16);
    unsigned have = 0;
    const char *result = NULL;
    struct rule_byte b;
    struct rule_sm *sm;
    long long v;

    if (nf < 0)
        return perr(pc, "bad byte_math", "bad byte_math '%.60s'", val);
    memset(&b, 0, sizeof b);
    b.nbytes_var = b.offset_var = b.value_var = b.result = -1;
    b.multiplier = 1;
    for (int i = 0; i < nf; i++) {
        char *k = f[i], *a = k + strcspn(k, " \t");

        if (*a)
            *a++ = '\0';
        a = rule_trim(a);
        if (strcmp(k, "bytes") == 0 && byte_nbytes(pc, &b, a) == 0) {
            have |= 1;
        } else if (strcmp(k, "offset") == 0 && rp_num(a, -65535, 65535, &v) == 0) {
            b.offset = (int32_t)v;
            have |= 2;
        } else if (strcmp(k, "oper") == 0 && byte_op(a, &b.op, 0) == 0) {
            have |= 4;
        } else if (strcmp(k, "rvalue") == 0 &&
                   num_or_var(pc, a, 0, UINT32_MAX, &v, &b.value_var) == 0) {
            b.value = (uint64_t)v;
            have |= 8;
        } else if (strcmp(k, "result") == 0 && *a) {
            result = a;
            have |= 16;
        } else if (strcmp(k, "relative") == 0 && *a == '\0') {
            b.flags |= RULE_BY_RELATIVE;
        } else if (strcmp(k, "dce") == 0 && *a == '\0') {
            b.flags |= RULE_BY_DCE | RULE_BY_LITTLE;
        } else if (strcmp(k, "endian") == 0 && strcmp(a, "little") == 0) {
            b.flags |= RULE_BY_LITTLE;
        } else if (strcmp(k, "endian") == 0 && strcmp(a, "dce") == 0) {
            b.flags |= RULE_BY_DCE | RULE_BY_LITTLE;
        } else if (strcmp(k, "endian") == 0 && strcmp(a, "big") == 0) {
            ;
        } else if (strcmp(k, "string") == 0 && byte_base(a, &b.base) == 0) {
            b.flags |= RULE_BY_STRING;
        } else if (strcmp(k, "bitmask") == 0) {
            if (byte_mask(pc, &b, a) < 0)
                return -1;
        } else {
            return pc->err->msg[0] ? -1 : perr(pc, "bad byte_math", "bad byte_math field '%.40s'", f[i]);
        }
    }
    if (have != 31)
        return perr(pc, "bad byte_math", "byte_math needs bytes, offset, oper, rvalue and result");
    if (b.nbytes_var < 0 && b.nbytes > 10 && !(b.flags & RULE_BY_STRING))
        return perr(pc, NULL, "byte_math: bytes must be 1-10");
    if (byte_check(pc, kw->name, &b) < 0 || (b.result = (int8_t)var_new(pc, result)) < 0)
        return -1;
    if ((sm = sm_new(pc, RULE_SM_BYTE_MATH, rp_view(pc))) == NULL)
        return -1;
    sm->u.b = b;
    return 0;
}

/* ------------------------------------------------------------------ base64 */

/* base64_decode[:bytes N][, offset N][, relative] */
int kw_base64_decode(struct pctx *pc, const struct keyword *kw, char *val)
{
    char *f[3];
    int n = val ? rp_split(val, f, 3) : 0;
    struct rule_sm *sm;
    struct rule_b64 d = { 0, 0, 0 };

    if (n < 0)
        return perr(pc, "bad base64_decode", "bad base64_decode '%.60s'", val);
    if (pc->cur_buf == RULE_BUF_BASE64)
        return perr(pc, NULL, "base64_decode can't decode base64_data again");
    for (int i = 0; i < n; i++) {
        char *k = f[i], *a = k + strcspn(k, " \t");
        long long v;

        if (*a)
            *a++ = '\0';
        a = rule_trim(a);
        if (strcmp(k, "bytes") == 0 && rp_num(a, 1, 65535, &v) == 0)
            d.bytes = (uint32_t)v;
        else if (strcmp(k, "offset") == 0 && rp_num(a, 0, 65535, &v) == 0)
            d.offset = (uint32_t)v;
        else if (strcmp(k, "relative") == 0 && *a == '\0')
            d.relative = 1;
        else
            return perr(pc, "bad base64_decode", "bad base64_decode option '%.40s'", f[i]);
    }
    if ((sm = sm_new(pc, RULE_SM_B64_DECODE, rp_view(pc))) == NULL)
        return -1;
    sm->u.b64 = d;
    return 0;
}

int kw_base64_data(struct pctx *pc, const struct keyword *kw, char *val)
{
    const struct rule *r = pc->r;
    int have = 0;

    for (uint32_t i = 0; i < r->nsm && !have; i++)
        have = r->sm[i].type == RULE_SM_B64_DECODE;
    if (!have)
        return perr(pc, NULL, "base64_data needs a base64_decode before it");
    if (pc->npxf && !pc->xf_used)
        return perr(pc, NULL, "transforms before base64_data apply to no content");
    rp_xforms_free(pc->pxf, pc->npxf);
    pc->npxf = 0;
    pc->cur_buf = RULE_BUF_BASE64;
    pc->cur_view = -1;
    return 0;
}

/* ------------------------------------------------------------------ file digests */

/* The folder of path (without its '/'), "" when it has none. */
static int dir_len(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;

    return slash ? (int)(slash - path) : -1;
}

/* Opens the digest list a filemd5/filesha1/filesha256 names: as written
 * when absolute; else beside the rule's file, then in the configuration's
 * folder (where rules.files are looked for: Suricata's default-rule-path),
 * then from the current folder. path gets the name opened, or when none
 * opens the first one tried (errno that one's). */
static FILE *hashlist_open(const struct rule_parse_env *env, const char *name, char *path, size_t cap)
{
    const char *bases[2] = { env->file, env->cfg ? env->cfg->source_path : NULL };
    int first_errno = 0;
    FILE *f;

    path[0] = '\0';
    for (int i = 0; name[0] != '/' && i < 2; i++) {
        char p[4096];
        int n = dir_len(bases[i]);

        if (n < 0 || snprintf(p, sizeof p, "%.*s/%s", n, bases[i], name) >= (int)sizeof p)
            continue;
        if ((f = fopen(p, "r")) != NULL) {
            snprintf(path, cap, "%s", p);
            return f;
        }
        if (path[0] == '\0') {
            snprintf(path, cap, "%s", p);
            first_errno = errno;
        }
    }
    if ((f = fopen(name, "r")) != NULL || path[0] == '\0') {
        snprintf(path, cap, "%s", name);
        return f;
    }
    errno = first_errno;
    return NULL;
}

/* filemd5, filesha1, filesha256 ([!]FILE, kw->arg the digest's buffer):
 * the digest of a complete file is (or with '!' is not) in the list FILE
 * holds (rule-hashlist.h). The list is read now, once per rule. */
int kw_filehash(struct pctx *pc, const struct keyword *kw, char *val)
{
    static const struct rule_xform none[1];
    uint8_t len = kw->arg == RULE_BUF_FILE_MD5 ? 16 : kw->arg == RULE_BUF_FILE_SHA1 ? 20 : 32;
    struct rule_hashlist h = { 0 };
    char path[4096], why[RULE_ERR_LEN - 64], *name;
    struct rule_sm *sm;
    struct stat st;
    FILE *f;
    int rc, err;

    if (*val == '!') {
        h.negated = 1;
        val = rule_trim(val + 1);
    }
    if ((name = rp_string(pc, kw->name, val)) == NULL)
        return -1;
    if (*name == '\0') {
        free(name);
        return perr(pc, NULL, "%s needs a file name", kw->name);
    }
    f = hashlist_open(pc->env, name, path, sizeof path);
    err = errno;
    free(name);
    if (f == NULL)
        return perr(pc, "cannot open the digest list", "%s: %.300s: %s", kw->name, path, strerror(err));
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        fclose(f);          /* a FIFO or device would block or never end */
        return perr(pc, "cannot open the digest list", "%s: %.300s: not a regular file", kw->name, path);
    }
    rc = rule_hashlist_read(&h, f, path, len, why, sizeof why);
    fclose(f);
    if (rc < 0)
        return perr(pc, "bad digest list", "%s: %s", kw->name, why);
    if ((sm = sm_new(pc, RULE_SM_HASHLIST, view_get(pc, (uint8_t)kw->arg, none, 0))) == NULL) {
        rule_hashlist_free(&h);
        return -1;
    }
    sm->u.h = h;
    return 0;
}

/* ------------------------------------------------------------------ whole-rule checks */

/* "content:...; http_header;" parses the content into the payload view and
 * then moves it to the buffer's; when nothing else is on the payload, that
 * view is left empty. It would still be matched, and an empty view over an
 * empty payload fails: a response-header rule inspected at the FIN that
 * completed its transaction never alerted (suricata-verify
 * http-close-headers). Empty payload views are dropped and the contents'
 * view indexes closed up. */
static void drop_empty_payload_views(struct rule *r)
{
    uint32_t n = 0;

    for (uint32_t v = 0; v < r->nviews; v++) {
        const struct rule_view *w = &r->views[v];
        int used = w->buf != RULE_BUF_PAYLOAD || w->nxf || w->bsize.op != RULE_CMP_NONE ||
                   w->urilen.op != RULE_CMP_NONE;

        for (uint32_t i = 0; !used && i < r->nsm; i++)
            used = r->sm[i].view == v;
        if (!used)
            continue;
        for (uint32_t i = 0; i < r->nsm; i++)
            if (r->sm[i].view == v)
                r->sm[i].view = (uint8_t)n;
        if (n != v)
            r->views[n] = r->views[v];
        n++;
    }
    r->nviews = n;
}

int rp_check_payload(struct pctx *pc)
{
    struct rule *r = pc->r;

    drop_empty_payload_views(r);

    if (pc->npxf && !pc->xf_used)
        return perr(pc, NULL, "transforms at the end of the rule apply to no content");
    for (uint32_t i = 0; i < r->nsm; i++) {
        const struct rule_sm *sm = &r->sm[i];
        const struct rule_content *c = &sm->u.c;

        r->buffers |= RULE_BUF_BIT(sm->buf);
        if (sm->type != RULE_SM_CONTENT || !(c->flags & RULE_CT_FP_ONLY))
            continue;
        if (c->flags & (RULE_CT_NEGATED | RULE_CT_OFFSET | RULE_CT_DEPTH | RULE_CT_RELATIVE))
            return perr(pc, NULL, "fast_pattern:only can't be used with negation, "
                        "offset, depth, distance or within");
        if (c->flags & RULE_CT_ENDSWITH)
            return perr(pc, NULL, "fast_pattern:only can't be used with endswith");
    }
    for (uint32_t i = 0; i < r->nviews; i++)
        if (r->views[i].bsize.op != RULE_CMP_NONE || r->views[i].urilen.op != RULE_CMP_NONE)
            r->buffers |= RULE_BUF_BIT(r->views[i].buf);
    return 0;
}
