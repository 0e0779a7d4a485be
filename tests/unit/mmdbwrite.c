/* mmdbwrite.c - MaxMind DB writer for tests; see mmdbwrite.h and the
 * MaxMind DB File Format Specification 2.0. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmdbwrite.h"

enum { T_PTR = 1, T_STR = 2, T_DOUBLE = 3, T_U16 = 5, T_U32 = 6, T_MAP = 7, T_U64 = 9, T_ARRAY = 11 };
enum { R_EMPTY = 0, R_NODE, R_DATA };

struct rec {
    uint8_t  kind;
    uint32_t v;                      /* node index or data offset */
};

struct node {
    struct rec r[2];
};

struct buf {
    uint8_t *p;
    size_t len, cap;
    int failed;
};

struct mmdbw {
    char *type;
    struct node *nodes;
    size_t nnodes, capnodes;
    struct buf data;
};

static void put(struct buf *b, const void *d, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t c = b->cap ? b->cap * 2 : 4096;
        while (c < b->len + n)
            c *= 2;
        uint8_t *np = realloc(b->p, c);
        if (np == NULL) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = c;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

/* Control byte, extended type byte, size bytes. */
static void put_ctrl(struct buf *b, int type, size_t size)
{
    uint8_t c[5];
    size_t n = 1;

    c[0] = type <= 7 ? (uint8_t)(type << 5) : 0;
    if (type > 7)
        c[n++] = (uint8_t)(type - 7);
    if (size < 29) {
        c[0] |= (uint8_t)size;
    } else if (size < 29 + 256) {
        c[0] |= 29;
        c[n++] = (uint8_t)(size - 29);
    } else if (size < 285 + 65536) {
        c[0] |= 30;
        c[n++] = (uint8_t)((size - 285) >> 8);
        c[n++] = (uint8_t)(size - 285);
    } else {
        c[0] |= 31;
        c[n++] = (uint8_t)((size - 65821) >> 16);
        c[n++] = (uint8_t)((size - 65821) >> 8);
        c[n++] = (uint8_t)(size - 65821);
    }
    put(b, c, n);
}

static void put_str(struct buf *b, const char *s)
{
    put_ctrl(b, T_STR, strlen(s));
    put(b, s, strlen(s));
}

static void put_uint(struct buf *b, int type, uint64_t v)
{
    uint8_t d[8];
    size_t n = 0;

    for (int sh = 56; sh >= 0; sh -= 8)
        if (n || (v >> sh) & 0xff)
            d[n++] = (uint8_t)(v >> sh);
    put_ctrl(b, type, n);
    put(b, d, n);
}

static void put_double(struct buf *b, double v)
{
    uint64_t u;
    uint8_t d[8];

    memcpy(&u, &v, 8);
    for (int i = 0; i < 8; i++)
        d[i] = (uint8_t)(u >> (56 - 8 * i));
    put_ctrl(b, T_DOUBLE, 8);
    put(b, d, 8);
}

/* ---- fields -> nested maps ---------------------------------------------- */

struct field {
    char *key;                       /* one path component */
    char *val;                       /* NULL: a map of kids */
    struct field *kids, *next;
};

static void field_free(struct field *f)
{
    while (f) {
        struct field *n = f->next;
        field_free(f->kids);
        free(f->key);
        free(f->val);
        free(f);
        f = n;
    }
}

static struct field *field_child(struct field **list, const char *key, size_t klen)
{
    struct field **pp;

    for (pp = list; *pp; pp = &(*pp)->next)
        if (strlen((*pp)->key) == klen && memcmp((*pp)->key, key, klen) == 0)
            return *pp;
    *pp = calloc(1, sizeof **pp);
    if (*pp)
        (*pp)->key = strndup(key, klen);
    return *pp;
}

/* Parses "a.b=v c=\"x y\" ..." into a tree. Returns 0 or -1. */
static int fields_parse(const char *s, struct field **root)
{
    while (*s) {
        const char *k, *eq, *v, *end;
        struct field **level = root, *f = NULL;
        char *val;

        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            break;
        k = s;
        eq = strchr(k, '=');
        if (eq == NULL || eq == k)
            return -1;
        v = eq + 1;
        if (*v == '"') {
            end = strchr(v + 1, '"');
            if (end == NULL)
                return -1;
            val = strndup(v + 1, (size_t)(end - v - 1));
            s = end + 1;
        } else {
            end = v;
            while (*end && !isspace((unsigned char)*end))
                end++;
            val = strndup(v, (size_t)(end - v));
            s = end;
        }
        while (k < eq) {
            const char *dot = memchr(k, '.', (size_t)(eq - k));
            const char *ke = dot ? dot : eq;
            f = field_child(level, k, (size_t)(ke - k));
            if (f == NULL) {
                free(val);
                return -1;
            }
            level = &f->kids;
            k = dot ? dot + 1 : eq;
        }
        free(f->val);
        f->val = val;
    }
    return 0;
}

static void put_value(struct buf *b, const char *v)
{
    char *end;
    double d;
    int digits = *v != '\0';

    if (strncmp(v, "s:", 2) == 0) {
        put_str(b, v + 2);
        return;
    }
    for (const char *p = v; *p; p++)
        digits &= isdigit((unsigned char)*p) != 0;
    if (digits && strlen(v) <= 10 && strtoull(v, NULL, 10) <= UINT32_MAX) {
        put_uint(b, T_U32, strtoull(v, NULL, 10));
        return;
    }
    d = strtod(v, &end);
    if (*v && *end == '\0' && strchr(v, '.')) {
        put_double(b, d);
        return;
    }
    put_str(b, v);
}

static void put_map(struct buf *b, const struct field *f)
{
    size_t n = 0;

    for (const struct field *k = f; k; k = k->next)
        n++;
    put_ctrl(b, T_MAP, n);
    for (; f; f = f->next) {
        put_str(b, f->key);
        if (f->val)
            put_value(b, f->val);
        else
            put_map(b, f->kids);
    }
}

/* ---- the tree ----------------------------------------------------------- */

static int node_new(struct mmdbw *w, struct rec fill)
{
    if (w->nnodes == w->capnodes) {
        size_t c = w->capnodes ? w->capnodes * 2 : 64;
        struct node *n = realloc(w->nodes, c * sizeof *n);
        if (n == NULL)
            return -1;
        w->nodes = n;
        w->capnodes = c;
    }
    w->nodes[w->nnodes].r[0] = w->nodes[w->nnodes].r[1] = fill;
    return (int)w->nnodes++;
}

struct mmdbw *mmdbw_new(const char *database_type)
{
    struct mmdbw *w = calloc(1, sizeof *w);
    struct rec empty = { R_EMPTY, 0 };

    if (w == NULL)
        return NULL;
    w->type = strdup(database_type);
    if (w->type == NULL || node_new(w, empty) < 0) {
        mmdbw_free(w);
        return NULL;
    }
    return w;
}

void mmdbw_free(struct mmdbw *w)
{
    if (w == NULL)
        return;
    free(w->type);
    free(w->nodes);
    free(w->data.p);
    free(w);
}

int mmdbw_insert(struct mmdbw *w, const char *cidr, const char *fields)
{
    uint8_t a[16] = { 0 };
    char host[64];
    const char *slash = strchr(cidr, '/');
    size_t hl = slash ? (size_t)(slash - cidr) : strlen(cidr);
    unsigned bits, depth;
    struct field *root = NULL;
    uint32_t off;
    uint32_t node = 0;

    if (hl >= sizeof host)
        return -1;
    memcpy(host, cidr, hl);
    host[hl] = '\0';
    if (inet_pton(AF_INET, host, a + 12) == 1) {
        bits = slash ? (unsigned)atoi(slash + 1) : 32;
        if (bits > 32)
            return -1;
        depth = 96 + bits;
    } else if (inet_pton(AF_INET6, host, a) == 1) {
        bits = slash ? (unsigned)atoi(slash + 1) : 128;
        if (bits > 128)
            return -1;
        depth = bits;
    } else {
        return -1;
    }
    if (depth == 0 || fields_parse(fields, &root) < 0) {
        field_free(root);
        return -1;
    }
    off = (uint32_t)w->data.len;
    put_map(&w->data, root);
    field_free(root);
    if (w->data.failed)
        return -1;
    for (unsigned d = 0; d < depth; d++) {
        int bit = (a[d / 8] >> (7 - d % 8)) & 1;
        struct rec *r = &w->nodes[node].r[bit];
        if (d == depth - 1) {
            r->kind = R_DATA;
            r->v = off;
            break;
        }
        if (r->kind != R_NODE) {
            struct rec inherit = *r;     /* the wider network's data splits in two */
            int n = node_new(w, inherit);
            if (n < 0)
                return -1;
            r = &w->nodes[node].r[bit];  /* node_new may have moved the array */
            r->kind = R_NODE;
            r->v = (uint32_t)n;
        }
        node = r->v;
    }
    return 0;
}

static uint32_t rec_value(const struct mmdbw *w, const struct rec *r)
{
    switch (r->kind) {
    case R_NODE: return r->v;
    case R_DATA: return (uint32_t)w->nnodes + 16 + r->v;
    default:     return (uint32_t)w->nnodes;
    }
}

int mmdbw_write(struct mmdbw *w, const char *path)
{
    static const uint8_t marker[] = "\xab\xcd\xefMaxMind.com";
    static const uint8_t zero16[16];
    struct buf out = { 0 };
    FILE *fp;
    int rc = 0;

    for (size_t i = 0; i < w->nnodes; i++)
        for (int k = 0; k < 2; k++) {
            uint32_t v = rec_value(w, &w->nodes[i].r[k]);
            uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
            put(&out, b, 4);
        }
    put(&out, zero16, sizeof zero16);
    put(&out, w->data.p, w->data.len);
    put(&out, marker, sizeof marker - 1);
    put_ctrl(&out, T_MAP, 9);
    put_str(&out, "binary_format_major_version");
    put_uint(&out, T_U16, 2);
    put_str(&out, "binary_format_minor_version");
    put_uint(&out, T_U16, 0);
    put_str(&out, "build_epoch");
    put_uint(&out, T_U64, 1700000000);
    put_str(&out, "database_type");
    put_str(&out, w->type);
    put_str(&out, "description");
    put_ctrl(&out, T_MAP, 1);
    put_str(&out, "en");
    put_str(&out, "linkwatch test database");
    put_str(&out, "ip_version");
    put_uint(&out, T_U16, 6);
    put_str(&out, "languages");
    put_ctrl(&out, T_ARRAY, 1);
    put_str(&out, "en");
    put_str(&out, "node_count");
    put_uint(&out, T_U32, w->nnodes);
    put_str(&out, "record_size");
    put_uint(&out, T_U16, 32);
    if (out.failed) {
        errno = ENOMEM;
        free(out.p);
        return -1;
    }
    fp = fopen(path, "wb");
    if (fp == NULL) {
        free(out.p);
        return -1;
    }
    if (fwrite(out.p, 1, out.len, fp) != out.len)
        rc = -1;
    if (fclose(fp) != 0)
        rc = -1;
    free(out.p);
    return rc;
}
