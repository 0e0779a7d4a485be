/* config.c - linkwatch.yaml: read with libyaml into a small tree, check each
 * layer (defaults, -c file, --set) against the schema, merge, fill lw_config. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <yaml.h>

#include "config.h"
#include "config-int.h"
#include "log.h"
#include "util.h"

#define CFG_PATH_MAX    256         /* longest key.path we look at */
#define CFG_MAX_DEPTH   16          /* nesting; also stops self-referencing aliases */
#define CFG_MAX_NODES   100000      /* stops alias expansion bombs */
#define CFG_MAX_FILE    (16u << 20) /* a config file larger than this is a mistake */
#define CFG_DEFAULTS    "(built-in defaults)"

/* ------------------------------------------------------------------ tree */

enum cnode_kind { CN_NULL, CN_SCALAR, CN_SEQ, CN_MAP };

struct cnode;

struct centry {
    char         *key;
    unsigned      line;             /* of the key */
    struct cnode *val;
};

/* One YAML node with where it came from. file points at a string that
 * outlives the tree (a literal or the caller's path); NULL means --set. */
struct cnode {
    enum cnode_kind kind;
    const char     *file;
    unsigned        line;
    char           *text;           /* CN_SCALAR */
    struct cnode  **items;          /* CN_SEQ */
    struct centry  *ents;           /* CN_MAP */
    size_t          n, cap;
};

/* Load state: where the one error line goes, and the node budget. */
struct ctx {
    char  *err;
    size_t errlen;
    int    failed;
    size_t nodes;
    const struct cfg_section *const *sections;   /* beside schema[]; NULL-terminated */
};

struct kpath {
    char   buf[CFG_PATH_MAX];
    size_t len;
};

/* ------------------------------------------------------------------ errors */

static int fail_plain(struct ctx *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail_at(struct ctx *cx, const char *file, unsigned line,
                   const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Records the first error only: later ones are consequences of it. */
static int fail_plain(struct ctx *cx, const char *fmt, ...)
{
    va_list ap;

    if (cx->failed++ || cx->err == NULL || cx->errlen == 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(cx->err, cx->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* "file:line: key.path: reason", or "--set key.path: reason" when file is NULL. */
static int fail_at(struct ctx *cx, const char *file, unsigned line,
                   const char *path, const char *fmt, ...)
{
    char reason[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (file == NULL)
        return fail_plain(cx, "--set %s: %s", path, reason);
    if (*path == '\0')
        return fail_plain(cx, "%s:%u: %s", file, line, reason);
    return fail_plain(cx, "%s:%u: %s: %s", file, line, path, reason);
}

/* Quotes a value for a message: one line, at most ~60 characters. */
static const char *quote(const char *s, char *buf, size_t len)
{
    size_t o = 0, max = len > 8 ? len - 6 : 0;

    buf[o++] = '\'';
    for (; *s && o < max; s++)
        buf[o++] = isprint((unsigned char)*s) ? *s : '?';
    if (*s) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

/* What a node is, for "got ..." in messages. */
static const char *node_got(const struct cnode *n, char *buf, size_t len)
{
    switch (n->kind) {
    case CN_NULL:   return "an empty value";
    case CN_SEQ:    return "a list";
    case CN_MAP:    return "a mapping";
    case CN_SCALAR: break;
    }
    return quote(n->text, buf, len);
}

/* ------------------------------------------------------------------ key paths */

/* Appends ".key" (or "key" at the top). Returns the length to restore, or -1
 * when the path would not fit. */
static long kpath_push(struct kpath *p, const char *key)
{
    size_t old = p->len, klen = strlen(key), sep = old ? 1 : 0;

    if (old + sep + klen >= sizeof p->buf)
        return -1;
    if (sep)
        p->buf[p->len++] = '.';
    memcpy(p->buf + p->len, key, klen + 1);
    p->len += klen;
    return (long)old;
}

static void kpath_pop(struct kpath *p, long old)
{
    p->len = (size_t)old;
    p->buf[p->len] = '\0';
}

/* ------------------------------------------------------------------ nodes */

static struct cnode *node_new(struct ctx *cx, enum cnode_kind kind,
                              const char *file, unsigned line)
{
    struct cnode *n;

    if (++cx->nodes > CFG_MAX_NODES) {
        fail_plain(cx, "%s: more than %d YAML nodes", file ? file : "--set",
                   CFG_MAX_NODES);
        return NULL;
    }
    n = calloc(1, sizeof *n);
    if (n == NULL) {
        fail_plain(cx, "out of memory");
        return NULL;
    }
    n->kind = kind;
    n->file = file;
    n->line = line;
    return n;
}

static void node_free(struct cnode *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; n->kind == CN_SEQ && i < n->n; i++)
        node_free(n->items[i]);
    for (size_t i = 0; n->kind == CN_MAP && i < n->n; i++) {
        free(n->ents[i].key);
        node_free(n->ents[i].val);
    }
    free(n->text);
    free(n->items);
    free(n->ents);
    free(n);
}

/* Makes room for want children. Returns 0 or -1 (nothing changed). */
static int node_reserve(struct cnode *n, size_t want)
{
    size_t cap = n->cap ? n->cap : 4;
    void *p;

    if (want <= n->cap)
        return 0;
    while (cap < want)
        cap *= 2;
    if (n->kind == CN_SEQ) {
        p = realloc(n->items, cap * sizeof *n->items);
        if (p == NULL)
            return -1;
        n->items = p;
    } else {
        p = realloc(n->ents, cap * sizeof *n->ents);
        if (p == NULL)
            return -1;
        n->ents = p;
    }
    n->cap = cap;
    return 0;
}

static struct centry *map_get(const struct cnode *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->ents[i].key, key) == 0)
            return &m->ents[i];
    return NULL;
}

/* Adds key -> val to map m, taking val (freed on error). Returns 0 or -1. */
static int map_add(struct ctx *cx, struct cnode *m, const char *key,
                   unsigned line, struct cnode *val)
{
    char *k = strdup(key);

    if (k == NULL || node_reserve(m, m->n + 1) < 0) {
        free(k);
        node_free(val);
        return fail_plain(cx, "out of memory");
    }
    m->ents[m->n].key = k;
    m->ents[m->n].line = line;
    m->ents[m->n].val = val;
    m->n++;
    return 0;
}

/* Merges src into *dstp and always consumes src: mappings merge key by key,
 * anything else replaces, and an empty value leaves a mapping as it was.
 * Returns 0, or -1 when out of memory (dst is then still a whole tree). */
static int node_merge(struct cnode **dstp, struct cnode *src)
{
    struct cnode *dst = *dstp;
    struct centry *e, *d;
    int rc = 0;

    if (dst->kind == CN_MAP && src->kind == CN_NULL) {
        node_free(src);
        return 0;
    }
    if (dst->kind != CN_MAP || src->kind != CN_MAP) {
        node_free(dst);
        *dstp = src;
        return 0;
    }
    if (node_reserve(dst, dst->n + src->n) < 0) {
        node_free(src);
        return -1;
    }
    for (size_t i = 0; i < src->n; i++) {
        e = &src->ents[i];
        d = map_get(dst, e->key);
        if (d != NULL) {
            rc |= node_merge(&d->val, e->val);
            free(e->key);
        } else {
            dst->ents[dst->n++] = *e;
        }
    }
    free(src->ents);
    free(src);
    return rc;
}

/* ------------------------------------------------------------------ YAML -> tree */

static struct cnode *node_from_yaml(struct ctx *cx, yaml_document_t *doc,
                                    yaml_node_t *yn, const char *file,
                                    struct kpath *p, int depth);

static int is_null_scalar(const yaml_node_t *yn)
{
    const char *s = (const char *)yn->data.scalar.value;

    if (yn->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static struct cnode *seq_from_yaml(struct ctx *cx, yaml_document_t *doc,
                                   yaml_node_t *yn, const char *file,
                                   struct kpath *p, int depth)
{
    struct cnode *n, *kid;
    yaml_node_item_t *it;

    n = node_new(cx, CN_SEQ, file, (unsigned)yn->start_mark.line + 1);
    if (n == NULL)
        return NULL;
    for (it = yn->data.sequence.items.start; it < yn->data.sequence.items.top; it++) {
        kid = node_from_yaml(cx, doc, yaml_document_get_node(doc, *it), file, p, depth + 1);
        if (kid == NULL)
            goto fail;
        if (node_reserve(n, n->n + 1) < 0) {
            node_free(kid);
            fail_plain(cx, "out of memory");
            goto fail;
        }
        n->items[n->n++] = kid;
    }
    return n;
fail:
    node_free(n);
    return NULL;
}

/* Keys must be plain text and unique: a repeated key is almost always a
 * paste error, and silently taking one of them hides it. */
static struct cnode *map_from_yaml(struct ctx *cx, yaml_document_t *doc,
                                   yaml_node_t *yn, const char *file,
                                   struct kpath *p, int depth)
{
    struct cnode *n, *kid;
    yaml_node_pair_t *pr;
    yaml_node_t *kn;
    const char *key;
    unsigned kline;
    long old;

    n = node_new(cx, CN_MAP, file, (unsigned)yn->start_mark.line + 1);
    if (n == NULL)
        return NULL;
    for (pr = yn->data.mapping.pairs.start; pr < yn->data.mapping.pairs.top; pr++) {
        kn = yaml_document_get_node(doc, pr->key);
        kline = (unsigned)kn->start_mark.line + 1;
        if (kn->type != YAML_SCALAR_NODE) {
            fail_at(cx, file, kline, p->buf, "a key must be a plain value");
            goto fail;
        }
        key = (const char *)kn->data.scalar.value;
        if ((old = kpath_push(p, key)) < 0) {
            fail_at(cx, file, kline, p->buf, "key path too long");
            goto fail;
        }
        if (map_get(n, key) != NULL) {
            fail_at(cx, file, kline, p->buf, "duplicate key");
            goto fail;
        }
        kid = node_from_yaml(cx, doc, yaml_document_get_node(doc, pr->value), file, p, depth + 1);
        if (kid == NULL || map_add(cx, n, key, kline, kid) < 0)
            goto fail;
        kpath_pop(p, old);
    }
    return n;
fail:
    node_free(n);
    return NULL;
}

/* Copies one libyaml node (and its children) into a new tree owned by the
 * caller. On error returns NULL with the error recorded. */
static struct cnode *node_from_yaml(struct ctx *cx, yaml_document_t *doc,
                                    yaml_node_t *yn, const char *file,
                                    struct kpath *p, int depth)
{
    unsigned line = (unsigned)yn->start_mark.line + 1;
    struct cnode *n;

    if (depth > CFG_MAX_DEPTH) {
        fail_at(cx, file, line, p->buf, "nested more than %d levels deep", CFG_MAX_DEPTH);
        return NULL;
    }
    switch (yn->type) {
    case YAML_SEQUENCE_NODE:
        return seq_from_yaml(cx, doc, yn, file, p, depth);
    case YAML_MAPPING_NODE:
        return map_from_yaml(cx, doc, yn, file, p, depth);
    case YAML_SCALAR_NODE:
        if (is_null_scalar(yn))
            return node_new(cx, CN_NULL, file, line);
        n = node_new(cx, CN_SCALAR, file, line);
        if (n != NULL && (n->text = strdup((const char *)yn->data.scalar.value)) == NULL) {
            node_free(n);
            fail_plain(cx, "out of memory");
            return NULL;
        }
        return n;
    case YAML_NO_NODE:
        break;
    }
    return node_new(cx, CN_NULL, file, line);
}

/* Reports a libyaml failure as "<where>:<line>: YAML syntax error: <problem>". */
static int yaml_fail(struct ctx *cx, const yaml_parser_t *yp, const char *text,
                     size_t len, const char *file, const char *setpath)
{
    const char *problem = yp->problem ? yp->problem : "cannot parse";
    size_t line = yp->problem_mark.line + 1;

    if (yp->error == YAML_MEMORY_ERROR)
        return fail_plain(cx, "out of memory");
    if (yp->error == YAML_READER_ERROR) {
        line = 1;
        for (size_t i = 0; i < yp->problem_offset && i < len; i++)
            line += text[i] == '\n';
    }
    if (file == NULL)
        return fail_plain(cx, "--set %s: YAML syntax error: %s", setpath, problem);
    return fail_plain(cx, "%s:%zu: YAML syntax error: %s", file, line, problem);
}

/* Parses one YAML document from text into a new tree. file names the source
 * for messages (NULL for a --set value, then setpath is its key path, which
 * also prefixes key paths inside the value). An empty document gives a
 * CN_NULL node; a second document in the same text is an error.
 * Returns the tree, or NULL with the error recorded. */
static struct cnode *parse_yaml(struct ctx *cx, const char *text, size_t len,
                                const char *file, const char *setpath)
{
    yaml_parser_t yp;
    yaml_document_t doc, extra;
    yaml_node_t *root;
    struct cnode *n = NULL;
    struct kpath p = { "", 0 };

    if (setpath != NULL && kpath_push(&p, setpath) < 0) {
        fail_plain(cx, "--set %.40s...: key path too long", setpath);
        return NULL;
    }
    if (!yaml_parser_initialize(&yp)) {
        fail_plain(cx, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    if (!yaml_parser_load(&yp, &doc)) {
        yaml_fail(cx, &yp, text, len, file, setpath);
        goto out;
    }
    root = yaml_document_get_root_node(&doc);
    n = root ? node_from_yaml(cx, &doc, root, file, &p, 0)
             : node_new(cx, CN_NULL, file, 1);
    yaml_document_delete(&doc);
    if (n == NULL)
        goto out;
    if (!yaml_parser_load(&yp, &extra)) {
        yaml_fail(cx, &yp, text, len, file, setpath);
        goto fail;
    }
    root = yaml_document_get_root_node(&extra);
    if (root != NULL) {
        fail_at(cx, file, (unsigned)root->start_mark.line + 1, p.buf,
                "more than one YAML document");
        yaml_document_delete(&extra);
        goto fail;
    }
    yaml_document_delete(&extra);
    goto out;
fail:
    node_free(n);
    n = NULL;
out:
    yaml_parser_delete(&yp);
    return n;
}

/* Reads a whole file into a NUL-terminated buffer the caller frees.
 * Returns NULL with "<file>: cannot open: <reason>" (or read) recorded. */
static char *read_file(struct ctx *cx, const char *path, size_t *lenp)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL, *nb;
    size_t len = 0, cap = 0, got;

    if (f == NULL) {
        fail_plain(cx, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (cap - len < 4097) {
            cap = cap ? cap * 2 : 8192;
            if (cap > CFG_MAX_FILE + 8192) {
                fail_plain(cx, "%s: cannot read: larger than %u bytes", path, CFG_MAX_FILE);
                goto fail;
            }
            if ((nb = realloc(buf, cap)) == NULL) {
                fail_plain(cx, "out of memory");
                goto fail;
            }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fail_plain(cx, "%s: cannot read: %s", path, strerror(errno));
        goto fail;
    }
    fclose(f);
    buf[len] = '\0';
    *lenp = len;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

/* ------------------------------------------------------------------ schema */

/* Short names for the key kinds of config-schema.h. */
#define T_MAP        CFG_MAP
#define T_VARMAP     CFG_VARMAP
#define T_BOOL       CFG_BOOL
#define T_UINT       CFG_UINT
#define T_SIZE       CFG_SIZE
#define T_DURATION   CFG_DURATION
#define T_STRING     CFG_STRING
#define T_NONEMPTY   CFG_NONEMPTY
#define T_IDENT      CFG_IDENT
#define T_SENSORID   CFG_SENSORID
#define T_ENUM       CFG_ENUM
#define T_COUNTRY    CFG_COUNTRY
#define T_HOSTPORT   CFG_HOSTPORT
#define T_CIDRLIST   CFG_CIDRLIST
#define T_STRLIST    CFG_STRLIST
#define T_ENUMLIST   CFG_ENUMLIST
#define T_PORTLIST   CFG_PORTLIST

static const char *const levels[] = { "error", "warning", "info", "debug", NULL };
static const char *const capture_worker_modes[] = { "auto", "yes", "no", NULL };
static const char *const xff_modes[] = { "extra-data", "overwrite", NULL };
static const char *const xff_deployments[] = { "reverse", "forward", NULL };

#define KMAP(p)                CFG_KMAP(p)
#define KVARS(p, names, vals)  { p, CFG_VARMAP, CFG_FIELD(struct lw_config, names), \
                                 offsetof(struct lw_config, vals), 0, 0, NULL }
#define KNUM(p, t, m, lo, hi)  CFG_KNUM(p, t, struct lw_config, m, lo, hi)
#define KSET(p, t, m, ch)      CFG_KSET(p, t, struct lw_config, m, ch)
#define KTXT(p, t, m)          CFG_KTXT(p, t, struct lw_config, m)

#define KB      CFG_KB
#define MB      CFG_MB
#define GB      CFG_GB
#define DAY     CFG_DAY

/* The sensor's own keys of linkwatch.yaml; the modules' sections
 * (config-schema.h) hold the others. Filled in this order (home-net before
 * vars: address groups expand "$home-net"), then the sections. */
static const struct cfg_key schema[] = {
    KTXT("sensor-id", T_SENSORID, sensor_id),
    KTXT("default-log-dir", T_NONEMPTY, default_log_dir),
    KTXT("home-net", T_CIDRLIST, home_net),
    KTXT("home-country", T_COUNTRY, home_country),
    KMAP("vars"),
    KVARS("vars.address-groups", address_group_names, address_group_values),
    KVARS("vars.port-groups", port_group_names, port_group_values),
    KMAP("capture"),
    KTXT("capture.interface", T_NONEMPTY, capture.interface),
    KNUM("capture.snaplen", T_UINT, capture.snaplen, 64, 262144),
    KNUM("capture.buffer-size", T_SIZE, capture.buffer_size, 64 * KB, 2 * GB),
    KTXT("capture.bpf", T_STRING, capture.bpf),
    KTXT("capture.promisc", T_BOOL, capture.promisc),
    KTXT("capture.immediate", T_BOOL, capture.immediate),
    KNUM("workers", T_UINT, workers, 0, 256),
    KNUM("worker-queue-size", T_SIZE, worker_queue_size, 1 * MB, 4 * GB),
    KSET("capture-worker", T_ENUM, capture_worker, capture_worker_modes),
    KMAP("flow"),
    KNUM("flow.max-flows", T_UINT, flow.max_flows, 1, 100000000),
    KNUM("flow.state-memory", T_SIZE, flow.state_memory, 16 * MB, 1024 * GB),
    KMAP("flow.timeouts"),
    KNUM("flow.timeouts.tcp-new", T_DURATION, flow.timeout_tcp_new, 1, 7 * DAY),
    KNUM("flow.timeouts.tcp-established", T_DURATION, flow.timeout_tcp_established, 1, 7 * DAY),
    KNUM("flow.timeouts.tcp-closed", T_DURATION, flow.timeout_tcp_closed, 1, 7 * DAY),
    KNUM("flow.timeouts.udp", T_DURATION, flow.timeout_udp, 1, 7 * DAY),
    KNUM("flow.timeouts.default", T_DURATION, flow.timeout_default, 1, 7 * DAY),
    KMAP("defrag"),
    KNUM("defrag.max-trackers", T_UINT, defrag.max_trackers, 1, 10000000),
    KNUM("defrag.memcap", T_SIZE, defrag.memcap, 64 * KB, 64 * GB),
    KNUM("defrag.timeout", T_DURATION, defrag.timeout, 1, 3600),
    KNUM("defrag.max-datagram", T_UINT, defrag.max_datagram, 576, 65535),
    KMAP("dpi"),
    KTXT("dpi.enabled", T_BOOL, dpi.enabled),
    KNUM("dpi.max-packets", T_UINT, dpi.max_packets, 1, 1000),
    KTXT("dpi.protos-file", T_STRING, dpi.protos_file),
    KMAP("stream"),
    KTXT("stream.enabled", T_BOOL, stream.enabled),
    KNUM("stream.depth", T_SIZE, stream.depth, 0, 64 * GB),
    KNUM("stream.memcap", T_SIZE, stream.memcap, 1 * MB, 64 * GB),
    KNUM("stream.inspect-window", T_SIZE, stream.inspect_window, 0, 64 * KB),
    KNUM("stream.ooo-limit", T_SIZE, stream.ooo_limit, 0, 16 * MB),
    KMAP("app-layer"),
    KNUM("app-layer.memcap", T_SIZE, app_layer.memcap, 1 * MB, 64 * GB),
    KNUM("app-layer.max-tx", T_UINT, app_layer.max_tx, 1, 100000),
    KMAP("app-layer.protocols"),
    KMAP("app-layer.protocols.http"),
    KTXT("app-layer.protocols.http.enabled", T_BOOL, app_layer.http.enabled),
    KTXT("app-layer.protocols.http.ports", T_PORTLIST, app_layer.http.ports),
    KNUM("app-layer.protocols.http.request-body-limit", T_SIZE, app_layer.request_body_limit, 0, 1 * GB),
    KNUM("app-layer.protocols.http.response-body-limit", T_SIZE, app_layer.response_body_limit, 0, 1 * GB),
    KNUM("app-layer.protocols.http.request-body-minimal-inspect-size", T_SIZE,
         app_layer.request_body_inspect_min, 0, 1 * GB),
    KNUM("app-layer.protocols.http.response-body-minimal-inspect-size", T_SIZE,
         app_layer.response_body_inspect_min, 0, 1 * GB),
    KNUM("app-layer.protocols.http.request-body-inspect-window", T_SIZE,
         app_layer.request_body_inspect_window, 0, 1 * GB),
    KNUM("app-layer.protocols.http.response-body-inspect-window", T_SIZE,
         app_layer.response_body_inspect_window, 0, 1 * GB),
    KNUM("app-layer.protocols.http.decompress-limit", T_SIZE, app_layer.decompress_limit, 1 * KB, 1 * GB),
    KNUM("app-layer.protocols.http.decompress-time-limit", T_UINT, app_layer.decompress_time_usec,
         1000, 60000000),
    KMAP("app-layer.protocols.dns"),
    KTXT("app-layer.protocols.dns.enabled", T_BOOL, app_layer.dns.enabled),
    KTXT("app-layer.protocols.dns.ports", T_PORTLIST, app_layer.dns.ports),
    KMAP("app-layer.protocols.tls"),
    KTXT("app-layer.protocols.tls.enabled", T_BOOL, app_layer.tls.enabled),
    KTXT("app-layer.protocols.tls.ports", T_PORTLIST, app_layer.tls.ports),
    KMAP("app-layer.protocols.ssh"),
    KTXT("app-layer.protocols.ssh.enabled", T_BOOL, app_layer.ssh.enabled),
    KTXT("app-layer.protocols.ssh.ports", T_PORTLIST, app_layer.ssh.ports),
    KMAP("app-layer.protocols.smb"),
    KTXT("app-layer.protocols.smb.enabled", T_BOOL, app_layer.smb.enabled),
    KTXT("app-layer.protocols.smb.ports", T_PORTLIST, app_layer.smb.ports),
    KMAP("app-layer.protocols.ftp"),
    KTXT("app-layer.protocols.ftp.enabled", T_BOOL, app_layer.ftp.enabled),
    KTXT("app-layer.protocols.ftp.ports", T_PORTLIST, app_layer.ftp.ports),
    KMAP("pii"),
    KTXT("pii.count-always", T_BOOL, pii.count_always),
    KMAP("rules"),
    KTXT("rules.files", T_STRLIST, rules.files),
    KTXT("rules.threshold-file", T_STRING, rules.threshold_file),
    KTXT("rules.classification-file", T_STRING, rules.classification_file),
    KTXT("rules.watch", T_BOOL, rules.watch),
    KTXT("rules.strict", T_BOOL, rules.strict),
    KMAP("geoip"),
    KTXT("geoip.databases", T_STRLIST, geoip.databases),
    KNUM("geoip.summary-interval", T_DURATION, geoip.summary_interval, 1, DAY),
    KNUM("geoip.cache-size", T_UINT, geoip.cache_size, 0, 16777216),
    KMAP("outputs"),
    KNUM("outputs.queue-size", T_SIZE, outputs.queue_size, 64 * KB, 16 * GB),
    KTXT("outputs.spool-dir", T_STRING, outputs.spool_dir),
    KNUM("outputs.spool-size", T_SIZE, outputs.spool_size, 64 * KB, 1024 * GB),
    KMAP("outputs.xff"),
    KTXT("outputs.xff.enabled", T_BOOL, outputs.xff.enabled),
    KSET("outputs.xff.mode", T_ENUM, outputs.xff.mode, xff_modes),
    KSET("outputs.xff.deployment", T_ENUM, outputs.xff.deployment, xff_deployments),
    KTXT("outputs.xff.header", T_NONEMPTY, outputs.xff.header),
    KMAP("stats"),
    KTXT("stats.enabled", T_BOOL, stats.enabled),
    KNUM("stats.interval", T_DURATION, stats.interval, 1, DAY),
    KMAP("metrics"),
    KTXT("metrics.enabled", T_BOOL, metrics.enabled),
    KTXT("metrics.listen", T_HOSTPORT, metrics.listen),
    KMAP("control"),
    KTXT("control.socket", T_STRING, control.socket),
    KMAP("privileges"),
    KTXT("privileges.user", T_STRING, privileges.user),
    KTXT("privileges.group", T_STRING, privileges.group),
    KTXT("privileges.chroot", T_STRING, privileges.chroot),
    KMAP("console"),
    KTXT("console.listen", T_HOSTPORT, console.listen),
    KTXT("console.users-file", T_STRING, console.users_file),
    KTXT("console.user", T_STRING, console.user),
    KTXT("console.trusted-proxies", T_STRING, console.trusted_proxies),
    KTXT("console.secure-cookies", T_BOOL, console.secure_cookies),
    KNUM("console.session-idle", T_DURATION, console.session_idle, 60, DAY),
    KNUM("console.sessions-per-user", T_UINT, console.sessions_per_user, 1, 1024),
    KMAP("logging"),
    KSET("logging.level", T_ENUM, logging_level, levels),
};

#define NSCHEMA (sizeof schema / sizeof schema[0])

/* A section's own mapping, as a key: what "outputs.syslog" itself is. */
static const struct cfg_key section_map = CFG_KMAP("");

/* The key at path: one of config.c's, or one of a section's (path below
 * the section's). NULL when none has it. */
static const struct cfg_key *schema_find(const struct ctx *cx, const char *path)
{
    for (size_t i = 0; i < NSCHEMA; i++)
        if (strcmp(schema[i].path, path) == 0)
            return &schema[i];
    for (size_t i = 0; cx->sections && cx->sections[i]; i++) {
        const struct cfg_section *sec = cx->sections[i];
        size_t plen = strlen(sec->path);

        if (strncmp(path, sec->path, plen) != 0)
            continue;
        if (path[plen] == '\0')
            return &section_map;
        if (path[plen] != '.')
            continue;
        for (size_t k = 0; k < sec->nkeys; k++)
            if (strcmp(sec->keys[k].path, path + plen + 1) == 0)
                return &sec->keys[k];
    }
    return NULL;
}

/* A key path is known when the schema has it, or when it names one
 * variable of a free-form variable map. */
static int schema_known(const struct ctx *cx, const char *path)
{
    const char *dot = strrchr(path, '.');
    const struct cfg_key *k;
    char parent[CFG_PATH_MAX];

    if (schema_find(cx, path) != NULL)
        return 1;
    if (dot == NULL || (size_t)(dot - path) >= sizeof parent || !cfgv_valid_varname(dot + 1))
        return 0;
    memcpy(parent, path, (size_t)(dot - path));
    parent[dot - path] = '\0';
    k = schema_find(cx, parent);
    return k != NULL && k->type == T_VARMAP;
}

/* Writes "600s" as "10m" and 3 * 2^20 as "3mb" for range messages. */
static const char *fmt_unit(uint64_t v, int size, char *buf, size_t len)
{
    static const struct unit { uint64_t mult; const char *u; } su[] = {
        { GB, "gb" }, { MB, "mb" }, { KB, "kb" }, { 1, "" },
    }, du[] = {
        { DAY, "d" }, { 3600, "h" }, { 60, "m" }, { 1, "s" },
    };
    const struct unit *t = size ? su : du;

    for (size_t i = 0; i < 4; i++) {
        if (v % t[i].mult == 0 && v >= t[i].mult) {
            snprintf(buf, len, "%llu%s", (unsigned long long)(v / t[i].mult), t[i].u);
            return buf;
        }
    }
    snprintf(buf, len, "%llu%s", (unsigned long long)v, size ? "" : "s");
    return buf;
}

static void fmt_choices(const char *const *ch, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; ch[i] && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", ch[i]);
}

/* What a key wants, for "expected <what>, got ..." messages. For a list,
 * elem selects the phrase for one element. */
static const char *describe(const struct cfg_key *k, int elem, char *buf, size_t len)
{
    char a[32], b[32], ch[256];

    switch (k->type) {
    case T_MAP:      return "a mapping";
    case T_VARMAP:   return "a mapping of NAME: value";
    case T_BOOL:     return "yes or no";
    case T_STRING:   return "a text value";
    case T_NONEMPTY: return "a non-empty text value";
    case T_IDENT:    return "1 to 64 letters, digits, '.', '-' or '_'";
    case T_SENSORID: return "1 to 64 letters, digits, '.', '-' or '_', other than 'all'";
    case T_COUNTRY:  return "a two-letter upper-case country code such as CN";
    case T_HOSTPORT: return "host:port such as 127.0.0.1:9917";
    case T_STRLIST:  return elem ? "a text value" : "a list of text values";
    case T_PORTLIST: return elem ? "a port number from 1 to 65535" : "a list of port numbers from 1 to 65535";
    case T_CIDRLIST:
        return elem ? "an address or CIDR such as 10.0.0.0/8"
                    : "a list of addresses or CIDRs";
    case T_UINT:
        snprintf(buf, len, "an integer from %llu to %llu",
                 (unsigned long long)k->min, (unsigned long long)k->max);
        return buf;
    case T_SIZE:
        snprintf(buf, len, "a size such as 64mb, from %s to %s",
                 fmt_unit(k->min, 1, a, sizeof a), fmt_unit(k->max, 1, b, sizeof b));
        return buf;
    case T_DURATION:
        snprintf(buf, len, "a duration such as 90s, 15m, 12h or 2d, from %s to %s",
                 fmt_unit(k->min, 0, a, sizeof a), fmt_unit(k->max, 0, b, sizeof b));
        return buf;
    case T_ENUM:
    case T_ENUMLIST:
        fmt_choices(k->choices, ch, sizeof ch);
        snprintf(buf, len, "%s%s", elem || k->type == T_ENUM ? "one of " : "a list of ", ch);
        return buf;
    }
    return "?";
}

/* Converts one scalar for a number-like key into *out (range checked).
 * Returns 0 or -1. */
static int scalar_number(const struct cfg_key *k, const char *s, uint64_t *out)
{
    int rc = -1;

    switch (k->type) {
    case T_UINT:     rc = cfgv_parse_uint(s, out); break;
    case T_SIZE:     rc = config_parse_size(s, out); break;
    case T_DURATION: rc = config_parse_duration(s, out); break;
    default:         break;
    }
    return rc < 0 || *out < k->min || *out > k->max ? -1 : 0;
}

static int choice_ok(const char *const *ch, const char *s)
{
    for (; *ch; ch++)
        if (strcmp(*ch, s) == 0)
            return 1;
    return 0;
}

/* Checks a scalar text against a scalar key (or one element of a list key). */
static int scalar_ok(const struct cfg_key *k, const char *s)
{
    uint64_t v;
    int b;
    struct lw_cidr c;

    switch (k->type) {
    case T_BOOL:      return cfgv_parse_bool(s, &b) == 0;
    case T_UINT:
    case T_SIZE:
    case T_DURATION:  return scalar_number(k, s, &v) == 0;
    case T_IDENT:     return cfgv_valid_ident(s);
    case T_SENSORID:  return cfgv_valid_ident(s) && strcmp(s, "all") != 0;
    case T_NONEMPTY:  return *s != '\0';
    case T_COUNTRY:   return cfgv_valid_country(s);
    case T_HOSTPORT:  return cfgv_valid_hostport(s);
    case T_ENUM:
    case T_ENUMLIST:  return choice_ok(k->choices, s);
    case T_CIDRLIST:  return lw_cidr_parse(s, &c) == 0;
    case T_PORTLIST:  return cfgv_parse_uint(s, &v) == 0 && v >= 1 && v <= 65535;
    case T_STRING:
    case T_STRLIST:   return 1;
    case T_MAP:
    case T_VARMAP:    break;
    }
    return 0;
}

/* ------------------------------------------------------------------ validation */

static int is_list_type(enum cfg_type t)
{
    return t == T_CIDRLIST || t == T_STRLIST || t == T_ENUMLIST || t == T_PORTLIST;
}

/* Keys whose value is kept as a char * the configuration owns. */
static int is_text_type(enum cfg_type t)
{
    return t == T_STRING || t == T_NONEMPTY || t == T_IDENT || t == T_SENSORID ||
           t == T_ENUM || t == T_COUNTRY || t == T_HOSTPORT;
}

/* List keys take a list, one value (a list of one), or nothing (empty). */
static size_t list_len(const struct cnode *n)
{
    return n->kind == CN_SEQ ? n->n : n->kind == CN_SCALAR;
}

static const struct cnode *list_at(const struct cnode *n, size_t i)
{
    return n->kind == CN_SEQ ? n->items[i] : n;
}

static int check_list(struct ctx *cx, const struct cfg_key *k,
                      const struct cnode *n, const char *path)
{
    char want[384], got[80];
    const struct cnode *e;

    if (n->kind == CN_MAP)
        return fail_at(cx, n->file, n->line, path, "expected %s, got a mapping",
                       describe(k, 0, want, sizeof want));
    if (list_len(n) > CONFIG_MAX_LIST)
        return fail_at(cx, n->file, n->line, path, "expected at most %d entries, got %zu",
                       CONFIG_MAX_LIST, list_len(n));
    if (k->type == T_CIDRLIST && list_len(n) == 0)
        return fail_at(cx, n->file, n->line, path, "expected %s, got an empty list",
                       describe(k, 0, want, sizeof want));
    for (size_t i = 0; i < list_len(n); i++) {
        e = list_at(n, i);
        if (e->kind != CN_SCALAR || !scalar_ok(k, e->text))
            return fail_at(cx, e->file, e->line, path, "expected %s, got %s",
                           describe(k, 1, want, sizeof want), node_got(e, got, sizeof got));
    }
    return 0;
}

static int check_value(struct ctx *cx, const struct cfg_key *k,
                       const struct cnode *n, const char *path)
{
    char want[384], got[80];

    if (is_list_type(k->type))
        return check_list(cx, k, n, path);
    if (n->kind == CN_NULL && k->type == T_STRING)
        return 0;
    if (n->kind != CN_SCALAR || !scalar_ok(k, n->text))
        return fail_at(cx, n->file, n->line, path, "expected %s, got %s",
                       describe(k, 0, want, sizeof want), node_got(n, got, sizeof got));
    return 0;
}

/* A variable is NAME: text, or NAME: [text, ...]. */
static int check_var(struct ctx *cx, const struct centry *e, const char *path)
{
    const struct cnode *n = e->val;
    char got[80];

    if (!cfgv_valid_varname(e->key))
        return fail_at(cx, n->file, e->line, path,
                       "a variable name is 1 to 64 letters, digits or '_'");
    if (n->kind == CN_SCALAR)
        return 0;
    if (n->kind == CN_SEQ && n->n > CONFIG_MAX_LIST)
        return fail_at(cx, n->file, n->line, path, "expected at most %d entries, got %zu",
                       CONFIG_MAX_LIST, n->n);
    if (n->kind == CN_SEQ && n->n > 0) {
        for (size_t i = 0; i < n->n; i++)
            if (n->items[i]->kind != CN_SCALAR)
                return fail_at(cx, n->items[i]->file, n->items[i]->line, path,
                               "expected a text value, got %s",
                               node_got(n->items[i], got, sizeof got));
        return 0;
    }
    return fail_at(cx, n->file, n->line, path,
                   "expected a text value or a list of text values, got %s",
                   n->kind == CN_SEQ ? "an empty list" : node_got(n, got, sizeof got));
}

/* Checks every key of mapping m (whose schema entry is k, NULL at the top)
 * and below. An empty value stands for an empty mapping. Returns 0 or -1. */
static int check_map(struct ctx *cx, const struct cfg_key *k, const struct cnode *m,
                     struct kpath *p)
{
    const struct cfg_key *kk;
    const struct centry *e;
    char want[64], got[80];
    long old;
    int rc = 0;

    if (m->kind == CN_NULL)
        return 0;
    if (m->kind != CN_MAP)
        return fail_at(cx, m->file, m->line, p->buf, "expected %s, got %s",
                       k ? describe(k, 0, want, sizeof want) : "a mapping at the top level",
                       node_got(m, got, sizeof got));
    for (size_t i = 0; i < m->n && rc == 0; i++) {
        e = &m->ents[i];
        if ((old = kpath_push(p, e->key)) < 0)
            return fail_at(cx, e->val->file, e->line, p->buf, "key path too long");
        if (k != NULL && k->type == T_VARMAP)
            rc = check_var(cx, e, p->buf);
        else if ((kk = schema_find(cx, p->buf)) == NULL)
            rc = fail_at(cx, e->val->file, e->line, p->buf, "unknown key");
        else if (kk->type == T_MAP || kk->type == T_VARMAP)
            rc = check_map(cx, kk, e->val, p);
        else
            rc = check_value(cx, kk, e->val, p->buf);
        kpath_pop(p, old);
    }
    return rc;
}

static int check_tree(struct ctx *cx, const struct cnode *root)
{
    struct kpath p = { "", 0 };

    return check_map(cx, NULL, root, &p);
}

/* ------------------------------------------------------------------ --set */

/* Turns "a.b.c=value" into the tree {a: {b: {c: value}}}, every node
 * marked as coming from --set. Returns the tree or NULL with the error. */
static struct cnode *set_tree(struct ctx *cx, const char *arg)
{
    const char *eq = strchr(arg, '='), *val;
    char path[CFG_PATH_MAX], *comp, *dot;
    struct cnode *n, *m;

    if (eq == NULL) {
        fail_plain(cx, "--set %s: expected key.path=value", arg);
        return NULL;
    }
    if (eq == arg) {
        fail_plain(cx, "--set %s: missing key path before '='", arg);
        return NULL;
    }
    if ((size_t)(eq - arg) >= sizeof path) {
        fail_plain(cx, "--set %.40s...: key path too long", arg);
        return NULL;
    }
    memcpy(path, arg, (size_t)(eq - arg));
    path[eq - arg] = '\0';
    if (path[0] == '.' || strstr(path, "..") != NULL || path[strlen(path) - 1] == '.') {
        fail_plain(cx, "--set %s: empty part in key path", path);
        return NULL;
    }
    if (!schema_known(cx, path)) {
        fail_plain(cx, "--set %s: unknown key", path);
        return NULL;
    }
    val = eq + 1;
    n = parse_yaml(cx, val, strlen(val), NULL, path);
    /* Wrap from the innermost key outwards. */
    while (n != NULL) {
        dot = strrchr(path, '.');
        comp = dot ? dot + 1 : path;
        if ((m = node_new(cx, CN_MAP, NULL, 0)) == NULL || map_add(cx, m, comp, 0, n) < 0) {
            if (m == NULL)
                node_free(n);
            node_free(m);
            return NULL;
        }
        n = m;
        if (dot == NULL)
            break;
        *dot = '\0';
    }
    return n;
}

/* ------------------------------------------------------------------ filling the struct */

static const struct cnode *node_find(const struct cnode *n, const char *path)
{
    char buf[CFG_PATH_MAX], *save = NULL, *comp;
    const struct centry *e;

    snprintf(buf, sizeof buf, "%s", path);
    for (comp = strtok_r(buf, ".", &save); comp && n; comp = strtok_r(NULL, ".", &save)) {
        if (n->kind != CN_MAP)
            return NULL;
        e = map_get(n, comp);
        n = e ? e->val : NULL;
    }
    return n;
}

static int strlist_add(struct cfg_strlist *l, char *s)
{
    char **v;

    if (s == NULL)
        return -1;
    v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (v == NULL) {
        free(s);
        return -1;
    }
    l->v = v;
    l->v[l->n++] = s;
    return 0;
}

static void strlist_free(struct cfg_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Joins texts as "[a,b,c]" (the rule language's list form). Caller frees. */
static char *join_list(const char *const *v, size_t n)
{
    size_t len = 3;
    char *s, *o;

    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 1;
    if ((s = malloc(len)) == NULL)
        return NULL;
    o = s;
    *o++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *o++ = ',';
        o = stpcpy(o, v[i]);
    }
    *o++ = ']';
    *o = '\0';
    return s;
}

/* Returns a copy of s with every "$home-net" replaced by home. */
static char *expand_home_net(const char *s, const char *home)
{
    static const char tok[] = "$home-net";
    size_t tl = sizeof tok - 1, hl = strlen(home), cnt = 0;
    const char *p;
    char *r, *o;

    for (p = s; (p = strstr(p, tok)) != NULL; p += tl)
        cnt++;
    if ((r = malloc(strlen(s) + cnt * hl + 1)) == NULL)
        return NULL;
    for (o = r; (p = strstr(s, tok)) != NULL; s = p + tl) {
        memcpy(o, s, (size_t)(p - s));
        o = stpcpy(o + (p - s), home);
    }
    strcpy(o, s);
    return r;
}

/* The text of one variable: its value, or its list joined as "[a,b]". */
static char *var_text(const struct cnode *n)
{
    const char *v[CONFIG_MAX_LIST];
    size_t k = 0;

    if (n->kind == CN_SCALAR)
        return strdup(n->text);
    for (size_t i = 0; i < n->n && k < sizeof v / sizeof v[0]; i++)
        v[k++] = n->items[i]->text;
    return join_list(v, k);
}

static int fill_vars(struct lw_config *cfg, const struct cfg_key *k, const struct cnode *m)
{
    struct cfg_strlist *names = (void *)((char *)cfg + k->off);
    struct cfg_strlist *vals = (void *)((char *)cfg + k->off2);
    int addr = strcmp(k->path, "vars.address-groups") == 0;
    char *home = NULL, *t, *x;
    int rc = 0;

    if (addr && (home = join_list((const char *const *)cfg->home_net.v, cfg->home_net.n)) == NULL)
        return -1;
    for (size_t i = 0; m->kind == CN_MAP && i < m->n && rc == 0; i++) {
        t = var_text(m->ents[i].val);
        if (addr && t != NULL) {
            x = expand_home_net(t, home);
            free(t);
            t = x;
        }
        if (strlist_add(names, strdup(m->ents[i].key)) < 0) {
            free(t);
            rc = -1;
        } else if (strlist_add(vals, t) < 0) {
            rc = -1;
        }
    }
    free(home);
    return rc;
}

static int fill_list(struct cfg_strlist *l, const struct cnode *n)
{
    for (size_t i = 0; i < list_len(n); i++)
        if (strlist_add(l, strdup(list_at(n, i)->text)) < 0)
            return -1;
    return 0;
}

/* Stores the (already validated) value n of key k into the struct at base
 * (cfg, or a section's). Returns 0 or -1 when out of memory. */
static int fill_one(struct lw_config *cfg, void *base, const struct cfg_key *k, const struct cnode *n)
{
    void *f = (char *)base + k->off;
    uint64_t v = 0;
    uint32_t v32;
    int b = 0;

    switch (k->type) {
    case T_MAP:
        return 0;
    case T_VARMAP:
        return fill_vars(cfg, k, n);
    case T_CIDRLIST:
    case T_STRLIST:
    case T_ENUMLIST:
    case T_PORTLIST:
        return fill_list(f, n);
    case T_BOOL:
        cfgv_parse_bool(n->text, &b);
        *(int *)f = b;
        return 0;
    case T_UINT:
    case T_SIZE:
    case T_DURATION:
        scalar_number(k, n->text, &v);
        if (k->width == sizeof v32) {
            v32 = (uint32_t)v;
            memcpy(f, &v32, sizeof v32);
        } else {
            memcpy(f, &v, sizeof v);
        }
        return 0;
    case T_STRING:
    case T_NONEMPTY:
    case T_IDENT:
    case T_SENSORID:
    case T_ENUM:
    case T_COUNTRY:
    case T_HOSTPORT:
        *(char **)f = strdup(n->kind == CN_SCALAR ? n->text : "");
        return *(char **)f ? 0 : -1;
    }
    return -1;
}

/* Fills the keys k[0..n) under prefix ("" or "outputs.syslog") into base. */
static int fill_keys(struct ctx *cx, struct lw_config *cfg, void *base, const char *prefix,
                     const struct cfg_key *k, size_t n, const struct cnode *root)
{
    char path[CFG_PATH_MAX];
    const struct cnode *v;

    for (size_t i = 0; i < n; i++) {
        if (k[i].type == T_MAP)
            continue;
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k[i].path);
        if ((v = node_find(root, path)) == NULL)
            return fail_plain(cx, "%s: missing from the built-in defaults", path);
        if (fill_one(cfg, base, &k[i], v) < 0)
            return fail_plain(cx, "out of memory");
    }
    return 0;
}

/* The struct a section's values go to: cfg itself for a shared section. */
static void *section_base(struct lw_config *cfg, size_t i)
{
    return cfg->sections[i]->size ? cfg->section_data[i] : cfg;
}

static int fill(struct ctx *cx, struct lw_config *cfg, const struct cnode *root)
{
    if (fill_keys(cx, cfg, cfg, "", schema, NSCHEMA, root) < 0)
        return -1;
    for (size_t i = 0; cfg->sections && cfg->sections[i]; i++) {
        const struct cfg_section *sec = cfg->sections[i];

        if (i == CONFIG_MAX_SECTIONS)
            return fail_plain(cx, "more than %d configuration sections", CONFIG_MAX_SECTIONS);
        if (sec->size && (cfg->section_data[i] = calloc(1, sec->size)) == NULL)
            return fail_plain(cx, "out of memory");
        if (fill_keys(cx, cfg, section_base(cfg, i), sec->path, sec->keys, sec->nkeys, root) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ public */

/* Frees what the keys k[0..n) hold in base. */
static void free_keys(struct lw_config *cfg, void *base, const struct cfg_key *k, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *f = (char *)base + k[i].off;

        if (k[i].type == T_VARMAP) {
            strlist_free(f);
            strlist_free((void *)((char *)cfg + k[i].off2));
        } else if (is_list_type(k[i].type)) {
            strlist_free(f);
        } else if (is_text_type(k[i].type)) {
            free(*(char **)f);
            *(char **)f = NULL;
        }
    }
}

void config_free(struct lw_config *cfg)
{
    free_keys(cfg, cfg, schema, NSCHEMA);
    for (size_t i = 0; cfg->sections && cfg->sections[i] && i < CONFIG_MAX_SECTIONS; i++) {
        const struct cfg_section *sec = cfg->sections[i];

        if (sec->size && cfg->section_data[i] == NULL)
            continue;                      /* not filled: the load stopped before it */
        free_keys(cfg, section_base(cfg, i), sec->keys, sec->nkeys);
        free(cfg->section_data[i]);
    }
    free(cfg->source_path);
    memset(cfg, 0, sizeof *cfg);
}

const void *config_section(const struct lw_config *cfg, const struct cfg_section *sec)
{
    for (size_t i = 0; cfg->sections && cfg->sections[i] && i < CONFIG_MAX_SECTIONS; i++)
        if (cfg->sections[i] == sec)
            return sec->size ? cfg->section_data[i] : (const void *)cfg;
    return NULL;
}

/* Checks one parsed layer (NULL: its parse failed) and merges it into
 * *root, taking it either way. Checking each layer alone reports an error
 * against the source that caused it. Returns 0 or -1. */
static int add_layer(struct ctx *cx, struct cnode **root, struct cnode *layer)
{
    if (layer == NULL)
        return -1;
    if (check_tree(cx, layer) < 0) {
        node_free(layer);
        return -1;
    }
    if (*root == NULL) {
        *root = layer;
        return 0;
    }
    if (node_merge(root, layer) < 0)
        return fail_plain(cx, "out of memory");
    return 0;
}

/* The Redis password: redis.password-file, else $LINKWATCH_REDIS_PASSWORD,
 * else redis.password (which anyone who reads the configuration reads:
 * warned when others can). text is the -c file's content, or NULL.
 * Returns 0, or -1 with err (a password file that cannot be read). */
static int redis_password(struct ctx *cx, struct lw_config *cfg, const char *path, const char *text)
{
    const char *env = getenv("LINKWATCH_REDIS_PASSWORD"), *file = cfg->redis.password_file;
    char *pw = NULL;
    struct stat st;
    size_t len;

    if (file && file[0]) {
        if ((pw = read_file(cx, file, &len)) == NULL)
            return -1;
        pw[strcspn(pw, "\r\n")] = '\0';
        if (!pw[0]) {
            free(pw);
            return fail_plain(cx, "redis.password-file: %s: empty (the password is its first line)", file);
        }
        if (stat(file, &st) == 0 && (st.st_mode & S_IROTH))
            log_warning("redis.password-file: %s is readable by others (mode %04o): chmod o-r", file,
                        (unsigned)(st.st_mode & 07777));
    } else if (env && env[0]) {
        if ((pw = strdup(env)) == NULL)
            return fail_plain(cx, "out of memory");
    } else {
        if (cfg->redis.password && cfg->redis.password[0] && path && text && strstr(text, "password") &&
            stat(path, &st) == 0 && (st.st_mode & S_IROTH))
            log_warning("%s names redis.password and is readable by others (mode %04o): chmod o-r, or "
                        "move the password to redis.password-file", path, (unsigned)(st.st_mode & 07777));
        return 0;
    }
    explicit_bzero(cfg->redis.password, strlen(cfg->redis.password));
    free(cfg->redis.password);
    cfg->redis.password = pw;
    return 0;
}

int config_load_with(struct lw_config *cfg, const struct cfg_section *const *sections,
                     const char *path, char *const *sets, size_t nsets, char *err, size_t errlen)
{
    struct ctx cx = { err, errlen, 0, 0, sections };
    struct cnode *root = NULL;
    char *text = NULL;
    size_t len;

    memset(cfg, 0, sizeof *cfg);
    cfg->sections = sections;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (add_layer(&cx, &root, parse_yaml(&cx, config_default_yaml,
                                         strlen(config_default_yaml), CFG_DEFAULTS, NULL)) < 0)
        goto fail;
    if (path != NULL) {
        if ((text = read_file(&cx, path, &len)) == NULL)
            goto fail;
        if (add_layer(&cx, &root, parse_yaml(&cx, text, len, path, NULL)) < 0)
            goto fail;
        if ((cfg->source_path = strdup(path)) == NULL) {
            fail_plain(&cx, "out of memory");
            goto fail;
        }
    }
    for (size_t i = 0; i < nsets; i++)
        if (add_layer(&cx, &root, set_tree(&cx, sets[i])) < 0)
            goto fail;
    if (fill(&cx, cfg, root) < 0)
        goto fail;
    /* The redis section may be absent (a registry without it). */
    if (cfg->redis.password && redis_password(&cx, cfg, path, text) < 0)
        goto fail;
    free(text);
    node_free(root);
    return 0;
fail:
    free(text);
    node_free(root);
    config_free(cfg);
    return -1;
}
