/* smb.c - the SMB parser; see smb.h. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "smb.h"
#include "stats.h"
#include "util.h"

const char *const smb_event_names[SMB_EV_MAX] = {
    [SMB_EV_MALFORMED_DATA] = "malformed_data",
    [SMB_EV_RECORD_OVERFLOW] = "record_overflow",
    [SMB_EV_FILE_OVERLAP] = "file_overlap",
    [SMB_EV_REQUEST_TO_CLIENT] = "request_to_client",
    [SMB_EV_RESPONSE_TO_SERVER] = "response_to_server",
    [SMB_EV_WRITE_QUEUE_SIZE_EXCEEDED] = "write_queue_size_exceeded",
    [SMB_EV_READ_QUEUE_SIZE_EXCEEDED] = "read_queue_size_exceeded",
    [SMB_EV_MEMCAP] = "memcap",
    [SMB_EV_TOO_MANY_FILES] = "too_many_files",
    [SMB_EV_GAP] = "gap",
};

/* SMB1 commands (MS-CIFS 2.2.2.1) and SMB2 commands (MS-SMB2 2.2.1). */
enum {
    SMB1_CLOSE = 0x04, SMB1_WRITE = 0x0b, SMB1_LOCKING_ANDX = 0x24, SMB1_OPEN_ANDX = 0x2d,
    SMB1_READ_ANDX = 0x2e, SMB1_WRITE_ANDX = 0x2f, SMB1_NEGOTIATE = 0x72, SMB1_SESSION_SETUP_ANDX = 0x73,
    SMB1_LOGOFF_ANDX = 0x74, SMB1_TREE_CONNECT_ANDX = 0x75, SMB1_NT_CREATE_ANDX = 0xa2, SMB1_NONE = 0xff,
};
enum { SMB2_NEGOTIATE = 0, SMB2_CREATE = 5, SMB2_CLOSE = 6, SMB2_READ = 8, SMB2_WRITE = 9 };

#define SMB1_HDR 32u
#define SMB2_HDR 64u
#define SMB1_FLAGS_REPLY 0x80u
#define SMB1_FLAGS2_UNICODE 0x8000u
#define SMB2_FLAGS_RESPONSE 0x01u
#define SMB2_FLAGS_RELATED 0x04u
#define SMB_STATUS_BUFFER_OVERFLOW 0x80000005u

enum smb_mode {
    RD_HDR = 0,                 /* reading an NBSS header */
    RD_BUFFER,                  /* buffering the message */
    RD_STREAM,                  /* following a file's data past the buffer */
    RD_SKIP,                    /* skipping the rest of the message */
    RD_LOST                     /* framing lost: looking for an NBSS + SMB header */
};

enum { PEND_CREATE = 1, PEND_READ };

struct smb_name_ent {
    struct smb_key key;
    char *name;
    uint32_t len;
};

/* A request awaiting its response: a CREATE (its name) or a READ (its
 * file and offset). */
struct smb_pending {
    uint8_t kind;               /* PEND_*; 0 unused */
    uint8_t version;
    uint64_t id;                /* SMB2 MessageId; SMB1 MID, PID, UID, TID */
    struct smb_key key;
    uint64_t offset;
    char *name;
    uint32_t len;
};

struct smb_reader {
    uint8_t  mode;              /* enum smb_mode */
    uint8_t  nhdr;
    uint8_t  hdr[4];
    uint32_t left;              /* bytes of the message not seen yet */
    uint32_t want;              /* bytes of it to buffer */
    struct app_bytes buf;
    /* RD_STREAM: skip, then sleft bytes of data to the file skey at soff */
    uint8_t  sversion;
    uint16_t scmd;
    struct smb_key skey;
    uint32_t sskip, sleft;
    uint64_t soff;
};

struct smb_state {
    struct app_txlist txs;
    struct smb_reader rd[2];
    struct smb_name_ent names[SMB_MAX_NAMES];
    uint32_t name_next;
    struct smb_pending pend[SMB_MAX_PENDING];
    uint32_t pend_next;
    uint32_t open_files;
    uint32_t ooo_bytes;
    uint16_t dialect;           /* SMB2 DialectRevision; 0x0100 SMB1 NT LM 0.12; 0 unknown */
    int8_t   nt_lm_index;       /* SMB1: index of "NT LM 0.12" in the NEGOTIATE request, -1 none */
};

/* What one parse call works on. */
struct smb_run {
    struct app_ctx *ctx;
    struct smb_state *st;
    enum app_dir dir;
    struct smb_key cmp_key;     /* SMB2: the key of the compound's last CREATE */
};

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int key_eq(const struct smb_key *a, const struct smb_key *b)
{
    return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

static struct smb_key key_of(const uint8_t *p, uint8_t len)
{
    struct smb_key k = { len, { 0 } };

    memcpy(k.b, p, len);
    return k;
}

static void smb_event(struct smb_run *r, unsigned e, struct smb_tx *tx)
{
    app_event(r->ctx, APP_PROTO_SMB, e, tx ? &tx->tx : NULL);
}

/* ---------------------------------------------------------------- names */

/* A file name as UTF-8 into out (at most SMB_NAME_MAX bytes): UTF-16LE
 * when unicode, else bytes; trailing NULs dropped. Returns its length. */
static uint32_t smb_name(const uint8_t *p, size_t n, int unicode, char out[SMB_NAME_MAX])
{
    uint32_t o = 0;

    if (!unicode) {
        for (size_t i = 0; i < n && o < SMB_NAME_MAX; i++)
            out[o++] = (char)p[i];
    } else {
        for (size_t i = 0; i + 1 < n; i += 2) {
            unsigned c = le16(p + i);

            if (c >= 0xd800 && c < 0xe000)
                c = '?';                 /* surrogates: not worth a full decoder here */
            if (c < 0x80 && o + 1 <= SMB_NAME_MAX) {
                out[o++] = (char)c;
            } else if (c < 0x800 && o + 2 <= SMB_NAME_MAX) {
                out[o++] = (char)(0xc0 | c >> 6);
                out[o++] = (char)(0x80 | (c & 0x3f));
            } else if (c >= 0x800 && o + 3 <= SMB_NAME_MAX) {
                out[o++] = (char)(0xe0 | c >> 12);
                out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
                out[o++] = (char)(0x80 | (c & 0x3f));
            } else {
                break;
            }
        }
    }
    while (o && out[o - 1] == '\0')
        o--;
    return o;
}

static struct smb_name_ent *name_find(struct smb_state *st, const struct smb_key *k)
{
    for (uint32_t i = 0; i < SMB_MAX_NAMES; i++)
        if (st->names[i].key.len && key_eq(&st->names[i].key, k))
            return &st->names[i];
    return NULL;
}

/* Names file k (a copy of name); the oldest name goes when the table is full. */
static void name_set(struct smb_run *r, const struct smb_key *k, const char *name, uint32_t len)
{
    struct smb_state *st = r->st;
    struct smb_name_ent *e = name_find(st, k);
    char *c = app_strndup(&r->ctx->mem, name, len);

    if (!c) {
        smb_event(r, SMB_EV_MEMCAP, NULL);
        return;
    }
    if (!e)
        e = &st->names[st->name_next++ % SMB_MAX_NAMES];
    if (e->name)
        app_free(&r->ctx->mem, e->name, e->len + 1);
    e->key = *k;
    e->name = c;
    e->len = len;
}

/* ---------------------------------------------------------------- pending requests */

static void pend_clear(struct app_mem *m, struct smb_pending *p)
{
    if (p->name)
        app_free(m, p->name, p->len + 1);
    memset(p, 0, sizeof *p);
}

static struct smb_pending *pend_find(struct smb_state *st, uint8_t kind, uint8_t version, uint64_t id)
{
    for (uint32_t i = 0; i < SMB_MAX_PENDING; i++)
        if (st->pend[i].kind == kind && st->pend[i].version == version && st->pend[i].id == id)
            return &st->pend[i];
    return NULL;
}

/* A slot for a new pending request (the oldest goes when all are taken). */
static struct smb_pending *pend_new(struct smb_run *r, uint8_t kind, uint8_t version, uint64_t id)
{
    struct smb_state *st = r->st;
    struct smb_pending *p = pend_find(st, kind, version, id);

    if (!p)
        p = &st->pend[st->pend_next++ % SMB_MAX_PENDING];
    pend_clear(&r->ctx->mem, p);
    p->kind = kind;
    p->version = version;
    p->id = id;
    return p;
}

/* ---------------------------------------------------------------- files */

static uint64_t keep_limit(const struct app_ctx *ctx, enum app_dir dir)
{
    uint64_t l = dir == APP_TO_SERVER ? ctx->limits.request_body_limit : ctx->limits.response_body_limit;

    return l == 0 || l > SMB_FILE_KEEP_MAX ? SMB_FILE_KEEP_MAX : l;
}

/* The open file k in direction fdir. */
static struct smb_tx *file_find(struct smb_state *st, const struct smb_key *k, enum app_dir fdir)
{
    for (struct app_tx *t = st->txs.head; t; t = t->next) {
        struct smb_tx *tx = (struct smb_tx *)t;

        if (tx->dir == fdir && tx->file.state == APP_FILE_OPEN && key_eq(&tx->key, k))
            return tx;
    }
    return NULL;
}

/* A new transaction for file k in direction fdir, named if its name is
 * known; NULL past the limits or without memory (counted). */
static struct smb_tx *file_new(struct smb_run *r, const struct smb_key *k, enum app_dir fdir, uint8_t version)
{
    struct smb_state *st = r->st;
    struct smb_name_ent *ne = name_find(st, k);
    struct smb_pending *p = NULL;
    struct smb_tx *tx;
    uint64_t msgid;
    uint32_t name_len = 0;

    if (st->open_files >= SMB_MAX_FILES || st->txs.n >= r->ctx->limits.max_tx) {
        smb_event(r, SMB_EV_TOO_MANY_FILES, NULL);
        return NULL;
    }
    if (!(tx = app_calloc(&r->ctx->mem, 1, sizeof *tx))) {
        smb_event(r, SMB_EV_MEMCAP, NULL);
        return NULL;
    }
    if (!ne && k->len == 9) {
        memcpy(&msgid, k->b + 1, 8);           /* a compound's CREATE: its request names it */
        p = pend_find(st, PEND_CREATE, 2, msgid);
    }
    if (ne || (p && p->name)) {
        name_len = ne ? ne->len : p->len;
        if (!(tx->name = app_strndup(&r->ctx->mem, ne ? ne->name : p->name, name_len))) {
            smb_event(r, SMB_EV_MEMCAP, NULL);
            name_len = 0;
        }
    }
    tx->dir = (uint8_t)fdir;
    tx->version = version;
    tx->key = *k;
    tx->tx.progress[fdir] = APP_PROG_BODY;
    tx->tx.progress[fdir ^ 1] = APP_PROG_HEADERS;
    app_file_open(&tx->file, &tx->md, r->ctx->limits.file_hashes, (const uint8_t *)tx->name, name_len, 1);
    app_txlist_push(&st->txs, &tx->tx);
    STATS_INC(r->ctx->stats.tx[APP_PROTO_SMB]);
    st->open_files++;
    return tx;
}

/* In-order bytes of the file (data NULL: lost): to the file and to
 * file.data while it keeps them. */
static void file_append(struct smb_run *r, struct smb_tx *tx, const uint8_t *data, size_t n)
{
    uint32_t max = (uint32_t)keep_limit(r->ctx, (enum app_dir)tx->dir);

    app_file_feed(&tx->file, &tx->md, data, n);
    tx->tracked += n;
    if (!data)
        tx->keep_full = 1;
    if (tx->keep_full || n == 0)
        return;
    if (tx->data.len + (uint64_t)n > max) {
        n = max - tx->data.len;          /* file.data ends at the limit */
        tx->keep_full = 1;
    }
    if (app_bytes_append(&r->ctx->mem, &tx->data, data, n, max) < 0) {
        smb_event(r, SMB_EV_MEMCAP, tx);
        tx->keep_full = 1;
    }
}

static void chunk_free(struct smb_run *r, struct smb_tx *tx, struct smb_chunk *c)
{
    tx->ooo_bytes -= c->len;
    r->st->ooo_bytes -= c->len;
    app_free(&r->ctx->mem, c, sizeof *c + c->len);
}

/* The waiting chunks that now follow in order. */
static void file_drain(struct smb_run *r, struct smb_tx *tx)
{
    struct smb_chunk *c;

    while ((c = tx->ooo) != NULL && c->offset == tx->tracked) {
        tx->ooo = c->next;
        file_append(r, tx, c->data, c->len);
        chunk_free(r, tx, c);
    }
}

/* Holds a chunk that arrived ahead of its predecessors. Returns 0, or -1
 * when it overlaps one already waiting. */
static int file_hold(struct smb_run *r, struct smb_tx *tx, uint64_t off, const uint8_t *d, uint32_t n)
{
    struct smb_chunk **pp = &tx->ooo, *c;

    while (*pp && (*pp)->offset + (*pp)->len <= off)
        pp = &(*pp)->next;
    if (*pp && (*pp)->offset < off + n)
        return -1;
    if (r->st->ooo_bytes + (uint64_t)n > SMB_MAX_OOO || !(c = app_alloc(&r->ctx->mem, sizeof *c + n))) {
        smb_event(r, tx->dir == APP_TO_SERVER ? SMB_EV_WRITE_QUEUE_SIZE_EXCEEDED : SMB_EV_READ_QUEUE_SIZE_EXCEEDED,
                  tx);
        tx->file.gaps = 1;          /* these bytes will be missing */
        tx->keep_full = 1;
        return 0;
    }
    c->offset = off;
    c->len = n;
    memcpy(c->data, d, n);
    c->next = *pp;
    *pp = c;
    tx->ooo_bytes += n;
    r->st->ooo_bytes += n;
    return 0;
}

/* n bytes of file k at file offset off, going fdir (data NULL: lost). */
static void file_data(struct smb_run *r, uint8_t version, uint16_t cmd, const struct smb_key *k, enum app_dir fdir,
                      uint64_t off, const uint8_t *data, uint32_t n)
{
    struct smb_tx *tx = file_find(r->st, k, fdir);

    if (n == 0 || (!tx && !(tx = file_new(r, k, fdir, version))))
        return;
    tx->command = cmd;
    if (off < tx->tracked) {
        /* Suricata's file_overlap: data below what the file has in order */
        smb_event(r, SMB_EV_FILE_OVERLAP, tx);
        return;
    }
    if (!data) {
        if (off == tx->tracked)
            file_append(r, tx, NULL, n);
        else
            tx->file.gaps = 1;
        return;
    }
    if (off > tx->tracked) {
        if (file_hold(r, tx, off, data, n) < 0)
            smb_event(r, SMB_EV_FILE_OVERLAP, tx);
        return;
    }
    if (tx->ooo && tx->ooo->offset < off + n) {
        smb_event(r, SMB_EV_FILE_OVERLAP, tx);
        n = (uint32_t)(tx->ooo->offset - off);   /* what came first stays */
    }
    file_append(r, tx, data, n);
    tx->tx.progress[fdir] = APP_PROG_BODY;
    file_drain(r, tx);
}

/* Ends tx's file: CLOSED when nothing is missing, else TRUNCATED. */
static void file_end(struct smb_run *r, struct smb_tx *tx, enum app_file_state how)
{
    if (tx->file.state != APP_FILE_OPEN)
        return;
    while (tx->ooo) {
        struct smb_chunk *c = tx->ooo;

        tx->ooo = c->next;
        chunk_free(r, tx, c);
        how = APP_FILE_TRUNCATED;
    }
    app_file_close(&tx->file, &tx->md, how);
    app_file_md_free(&tx->md);             /* its digests are final: no more contexts */
    tx->tx.progress[0] = tx->tx.progress[1] = APP_PROG_DONE;
    r->st->open_files--;
}

/* The CLOSE of file k: both directions' files end. */
static void file_close(struct smb_run *r, const struct smb_key *k)
{
    for (int d = 0; d < 2; d++) {
        struct smb_tx *tx = file_find(r->st, k, (enum app_dir)d);

        if (tx)
            file_end(r, tx, APP_FILE_CLOSED);
    }
}

/* The data of a WRITE request or READ response: datalen bytes at dataoff
 * of a message of total bytes of which avail are in m. What lies past
 * avail is followed as it arrives (the reader's RD_STREAM). Returns 1 when
 * it is, so the message is parsed no further. */
static int smb_data(struct smb_run *r, uint8_t version, uint16_t cmd, const struct smb_key *k, uint64_t off,
                    const uint8_t *m, uint32_t avail, uint32_t total, uint32_t dataoff, uint32_t datalen)
{
    struct smb_reader *rd = &r->st->rd[r->dir];
    uint32_t have;

    if (dataoff > total || datalen > total - dataoff) {
        smb_event(r, SMB_EV_RECORD_OVERFLOW, NULL);
        if (dataoff > total)
            return 0;
        datalen = total - dataoff;
    }
    have = dataoff >= avail ? 0 : avail - dataoff < datalen ? avail - dataoff : datalen;
    file_data(r, version, cmd, k, r->dir, off, have ? m + dataoff : m, have);
    if (have == datalen)
        return 0;
    rd->sversion = version;
    rd->scmd = cmd;
    rd->skey = *k;
    rd->sskip = dataoff > avail ? dataoff - avail : 0;
    rd->sleft = datalen - have;
    rd->soff = off + have;
    return 1;
}

/* ---------------------------------------------------------------- SMB1 */

/* SMB1 MID, PID, UID and TID: a request's identity for its response. */
static uint64_t smb1_id(const uint8_t *h)
{
    return (uint64_t)le16(h + 30) | (uint64_t)le16(h + 26) << 16 | (uint64_t)le16(h + 28) << 32 |
           (uint64_t)le16(h + 24) << 48;
}

/* NEGOTIATE request: where "NT LM 0.12" is in the dialect list. */
static void smb1_negotiate(struct smb_state *st, const uint8_t *b, uint32_t bc)
{
    int idx = 0;

    st->nt_lm_index = -1;
    for (uint32_t i = 0; i < bc && idx < 100; idx++) {
        const uint8_t *end;

        if (b[i] != 0x02 || !(end = memchr(b + i + 1, 0, bc - i - 1)))
            return;
        if ((size_t)(end - (b + i + 1)) == 10 && memcmp(b + i + 1, "NT LM 0.12", 10) == 0)
            st->nt_lm_index = (int8_t)idx;
        i = (uint32_t)(end - b) + 1;
    }
}

/* NT_CREATE_ANDX request: its name, kept for the response's FID. */
static void smb1_create_req(struct smb_run *r, const uint8_t *m, uint32_t avail, const uint8_t *w, uint32_t boff,
                            uint32_t bc)
{
    int unicode = (le16(m + 10) & SMB1_FLAGS2_UNICODE) != 0;
    uint32_t nlen = le16(w + 5), off = boff;
    struct smb_pending *p;
    char name[SMB_NAME_MAX];
    uint32_t n;

    if (unicode && (off & 1)) {
        off++;                       /* the name is aligned to 2 from the header */
        bc = bc ? bc - 1 : 0;
    }
    if (nlen > bc)
        nlen = bc;
    if (off > avail || nlen > avail - off) {
        smb_event(r, SMB_EV_MALFORMED_DATA, NULL);
        return;
    }
    n = smb_name(m + off, nlen, unicode, name);
    p = pend_new(r, PEND_CREATE, 1, smb1_id(m));
    if (!(p->name = app_strndup(&r->ctx->mem, name, n))) {
        smb_event(r, SMB_EV_MEMCAP, NULL);
        pend_clear(&r->ctx->mem, p);
        return;
    }
    p->len = n;
}

/* One command of an SMB1 message: words w (wc of them), bytes at boff
 * (bc). Returns 1 when the rest of the message is followed as file data. */
static int smb1_command(struct smb_run *r, uint8_t cmd, const uint8_t *m, uint32_t avail, uint32_t total,
                        const uint8_t *w, uint8_t wc, uint32_t boff, uint32_t bc)
{
    int reply = (m[9] & SMB1_FLAGS_REPLY) != 0;
    uint32_t status = le32(m + 5);
    struct smb_key k;
    struct smb_pending *p;

    if (!reply) {
        switch (cmd) {
        case SMB1_NEGOTIATE:
            smb1_negotiate(r->st, m + boff, bc);
            return 0;
        case SMB1_NT_CREATE_ANDX:
            if (wc == 24)
                smb1_create_req(r, m, avail, w, boff, bc);
            return 0;
        case SMB1_CLOSE:
            if (wc >= 3) {
                k = key_of(w, 2);
                file_close(r, &k);
            }
            return 0;
        case SMB1_WRITE_ANDX:
            if (wc != 12 && wc != 14)
                break;
            k = key_of(w + 4, 2);
            return smb_data(r, 1, cmd, &k, le32(w + 6) | (wc == 14 ? (uint64_t)le32(w + 24) << 32 : 0), m, avail,
                            total, le16(w + 22), (uint32_t)le16(w + 20) | (uint32_t)le16(w + 18) << 16);
        case SMB1_WRITE:
            /* bytes: buffer format 0x01, data length, data */
            if (wc != 5 || bc < 3 || boff + 3 > avail || m[boff] != 0x01)
                break;
            k = key_of(w, 2);
            return smb_data(r, 1, cmd, &k, le32(w + 4), m, avail, total, boff + 3, le16(m + boff + 1));
        case SMB1_READ_ANDX:
            if (wc != 10 && wc != 12)
                break;
            p = pend_new(r, PEND_READ, 1, smb1_id(m));
            p->key = key_of(w + 4, 2);
            p->offset = le32(w + 6) | (wc == 12 ? (uint64_t)le32(w + 20) << 32 : 0);
            return 0;
        default:
            return 0;
        }
        smb_event(r, SMB_EV_MALFORMED_DATA, NULL);
        return 0;
    }
    if (cmd == SMB1_NEGOTIATE && status == 0 && wc >= 1 && r->st->nt_lm_index >= 0 &&
        le16(w) == (uint16_t)r->st->nt_lm_index)
        r->st->dialect = 0x0100;
    if (cmd == SMB1_NT_CREATE_ANDX && (p = pend_find(r->st, PEND_CREATE, 1, smb1_id(m))) != NULL) {
        if (status == 0 && wc >= 4) {
            k = key_of(w + 5, 2);
            name_set(r, &k, p->name, p->len);
        }
        pend_clear(&r->ctx->mem, p);
        return 0;
    }
    if (cmd == SMB1_READ_ANDX && (p = pend_find(r->st, PEND_READ, 1, smb1_id(m))) != NULL) {
        uint64_t off = p->offset;

        k = p->key;
        pend_clear(&r->ctx->mem, p);
        if ((status != 0 && status != SMB_STATUS_BUFFER_OVERFLOW) || wc != 12)
            return 0;
        return smb_data(r, 1, cmd, &k, off, m, avail, total, le16(w + 12),
                        (uint32_t)le16(w + 10) | (uint32_t)le16(w + 14) << 16);
    }
    return 0;
}

static int smb1_is_andx(uint8_t cmd)
{
    switch (cmd) {
    case SMB1_LOCKING_ANDX: case SMB1_OPEN_ANDX: case SMB1_READ_ANDX: case SMB1_WRITE_ANDX:
    case SMB1_SESSION_SETUP_ANDX: case SMB1_LOGOFF_ANDX: case SMB1_TREE_CONNECT_ANDX: case SMB1_NT_CREATE_ANDX:
        return 1;
    default:
        return 0;
    }
}

/* An SMB1 message: its commands along the AndX chain, each at the offset
 * its predecessor names (forwards only). m holds avail of its total bytes. */
static void smb1_message(struct smb_run *r, const uint8_t *m, uint32_t avail, uint32_t total)
{
    uint8_t cmd = m[4];
    uint32_t off = SMB1_HDR;

    if ((m[9] & SMB1_FLAGS_REPLY) ? r->dir == APP_TO_SERVER : r->dir == APP_TO_CLIENT) {
        smb_event(r, r->dir == APP_TO_SERVER ? SMB_EV_RESPONSE_TO_SERVER : SMB_EV_REQUEST_TO_CLIENT, NULL);
        return;
    }
    for (unsigned i = 0; i < SMB_MAX_ANDX; i++) {
        const uint8_t *w;
        uint8_t wc;
        uint32_t boff, bc, next;

        if (off >= avail || off + 1 + 2u * m[off] + 2 > avail) {
            if (avail == total)
                smb_event(r, SMB_EV_MALFORMED_DATA, NULL);
            return;
        }
        wc = m[off];
        w = m + off + 1;
        boff = off + 1 + 2u * wc + 2;
        bc = le16(m + boff - 2);
        if (bc > total - boff) {
            smb_event(r, SMB_EV_RECORD_OVERFLOW, NULL);
            bc = total - boff;
        }
        if (bc > avail - boff)
            bc = avail - boff;
        if (smb1_command(r, cmd, m, avail, total, w, wc, boff, bc))
            return;
        if (!smb1_is_andx(cmd) || wc < 2 || w[0] == SMB1_NONE)
            return;
        next = le16(w + 2);
        if (next <= off) {
            smb_event(r, SMB_EV_MALFORMED_DATA, NULL);     /* backwards: a loop */
            return;
        }
        cmd = w[0];
        off = next;
    }
}

/* ---------------------------------------------------------------- SMB2 */

/* A FileId of the message; all ones in a related compound is the CREATE's. */
static struct smb_key smb2_key(const struct smb_run *r, const uint8_t *id)
{
    static const uint8_t ones[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

    if (memcmp(id, ones, 16) == 0 && r->cmp_key.len)
        return r->cmp_key;
    return key_of(id, 16);
}

/* The key of a related compound's CREATE request, until its FileId is known. */
static struct smb_key smb2_create_key(uint64_t msgid)
{
    struct smb_key k = { 9, { 'C' } };

    memcpy(k.b + 1, &msgid, 8);
    return k;
}

/* CREATE response: the name of the request goes to the FileId; what the
 * compound did with the CREATE's file before it was known moves to it. */
static void smb2_created(struct smb_run *r, uint64_t msgid, const uint8_t *fileid)
{
    struct smb_pending *p = pend_find(r->st, PEND_CREATE, 2, msgid);
    struct smb_key tmp = smb2_create_key(msgid), k = key_of(fileid, 16);

    if (p) {
        name_set(r, &k, p->name, p->len);
        pend_clear(&r->ctx->mem, p);
    }
    for (struct app_tx *t = r->st->txs.head; t; t = t->next)
        if (key_eq(&((struct smb_tx *)t)->key, &tmp))
            ((struct smb_tx *)t)->key = k;
    for (uint32_t i = 0; i < SMB_MAX_PENDING; i++)
        if (r->st->pend[i].kind == PEND_READ && key_eq(&r->st->pend[i].key, &tmp))
            r->st->pend[i].key = k;
}

/* One SMB2 command at h of a message of which avail bytes are in m (end:
 * where the command ends in the message). Returns 1
 * when the rest of the message is followed as file data. */
static int smb2_command(struct smb_run *r, const uint8_t *m, uint32_t avail, uint32_t h, uint32_t end)
{
    const uint8_t *hd = m + h, *b = hd + SMB2_HDR;
    uint16_t cmd = le16(hd + 12);
    uint32_t lim = end < avail ? end : avail;   /* what of this command is here */
    uint32_t status = le32(hd + 8), flags = le32(hd + 16), blen = lim - h - SMB2_HDR;
    uint64_t msgid = le64(hd + 24);
    struct smb_pending *p;
    struct smb_key k;

    if (flags & SMB2_FLAGS_RESPONSE) {
        if (cmd == SMB2_NEGOTIATE && status == 0 && blen >= 6)
            r->st->dialect = le16(b + 4);
        if (cmd == SMB2_CREATE && blen >= 80) {
            if (status == 0)
                smb2_created(r, msgid, b + 64);
            else if ((p = pend_find(r->st, PEND_CREATE, 2, msgid)) != NULL)
                pend_clear(&r->ctx->mem, p);
        }
        if (cmd == SMB2_READ && (p = pend_find(r->st, PEND_READ, 2, msgid)) != NULL) {
            uint64_t off = p->offset;

            k = p->key;
            pend_clear(&r->ctx->mem, p);
            if ((status == 0 || status == SMB_STATUS_BUFFER_OVERFLOW) && blen >= 16)
                return smb_data(r, 2, cmd, &k, off, m, avail, end, h + b[2], le32(b + 4));
        }
        return 0;
    }
    switch (cmd) {
    case SMB2_CREATE:
        if (blen < 56)
            break;
        {
            uint32_t noff = le16(b + 44), nlen = le16(b + 46);
            char name[SMB_NAME_MAX];
            uint32_t n;

            if (nlen && (noff > lim - h || nlen > lim - h - noff))
                break;
            n = smb_name(hd + noff, nlen, 1, name);
            p = pend_new(r, PEND_CREATE, 2, msgid);
            if (!(p->name = app_strndup(&r->ctx->mem, name, n))) {
                smb_event(r, SMB_EV_MEMCAP, NULL);
                pend_clear(&r->ctx->mem, p);
            } else {
                p->len = n;
            }
            r->cmp_key = smb2_create_key(msgid);
        }
        return 0;
    case SMB2_CLOSE:
        if (blen < 24)
            break;
        k = smb2_key(r, b + 8);
        file_close(r, &k);
        return 0;
    case SMB2_READ:
        if (blen < 48)
            break;
        p = pend_new(r, PEND_READ, 2, msgid);
        p->key = smb2_key(r, b + 16);
        p->offset = le64(b + 8);
        return 0;
    case SMB2_WRITE:
        if (blen < 48)
            break;
        k = smb2_key(r, b + 16);
        return smb_data(r, 2, cmd, &k, le64(b + 8), m, avail, end, h + le16(b + 2), le32(b + 4));
    default:
        return 0;
    }
    smb_event(r, SMB_EV_MALFORMED_DATA, NULL);
    return 0;
}

/* An SMB2 message: each command of its compound. */
static void smb2_message(struct smb_run *r, const uint8_t *m, uint32_t avail, uint32_t total)
{
    uint32_t h = 0;

    r->cmp_key.len = 0;
    for (unsigned i = 0; i < SMB_MAX_COMPOUND; i++) {
        uint32_t next, end, flags;

        if (avail - h < SMB2_HDR || le16(m + h + 4) != SMB2_HDR || memcmp(m + h, "\xfeSMB", 4) != 0) {
            if (avail == total || avail - h >= SMB2_HDR)
                smb_event(r, SMB_EV_MALFORMED_DATA, NULL);
            return;
        }
        flags = le32(m + h + 16);
        if (i == 0 && ((flags & SMB2_FLAGS_RESPONSE) ? r->dir == APP_TO_SERVER : r->dir == APP_TO_CLIENT)) {
            smb_event(r, r->dir == APP_TO_SERVER ? SMB_EV_RESPONSE_TO_SERVER : SMB_EV_REQUEST_TO_CLIENT, NULL);
            return;
        }
        if (!(flags & SMB2_FLAGS_RELATED))
            r->cmp_key.len = 0;
        next = le32(m + h + 20);
        if (next && (next < SMB2_HDR || next > total - h)) {
            smb_event(r, SMB_EV_MALFORMED_DATA, NULL);
            return;
        }
        end = next ? h + next : total;
        if (smb2_command(r, m, avail, h, end) || !next)
            return;
        h += next;
        if (h >= avail)
            return;
    }
}

/* ---------------------------------------------------------------- framing */

/* A buffered message: avail of its total bytes in m. */
static void smb_message(struct smb_run *r, const uint8_t *m, uint32_t avail, uint32_t total)
{
    if (avail >= SMB1_HDR && memcmp(m, "\xffSMB", 4) == 0)
        smb1_message(r, m, avail, total);
    else if (avail >= 4 && memcmp(m, "\xfeSMB", 4) == 0)
        smb2_message(r, m, avail, total);
    else if (avail < 4 || (memcmp(m, "\xfdSMB", 4) != 0 && memcmp(m, "\xfcSMB", 4) != 0))
        smb_event(r, SMB_EV_MALFORMED_DATA, NULL);
    /* encrypted (transform header) and compressed messages are not read */
}

/* Where an NBSS session message with an SMB header starts in d, or -1. */
static long smb_resync(const uint8_t *d, size_t len)
{
    for (size_t i = 0; i + 8 <= len; i++)
        if (d[i] == 0 && (d[i + 5] == 'S' && d[i + 6] == 'M' && d[i + 7] == 'B') &&
            (d[i + 4] == 0xff || d[i + 4] == 0xfe || d[i + 4] == 0xfd))
            return (long)i;
    return -1;
}

/* The NBSS header is read: what to do with the message. */
static void smb_header(struct smb_run *r, struct smb_reader *rd)
{
    uint32_t len = (uint32_t)rd->hdr[1] << 16 | (uint32_t)rd->hdr[2] << 8 | rd->hdr[3];

    rd->nhdr = 0;
    rd->left = len;
    if (rd->hdr[0] != 0x00) {
        if (rd->hdr[0] < 0x81 || rd->hdr[0] > 0x85)
            smb_event(r, SMB_EV_MALFORMED_DATA, NULL);
        rd->mode = len ? RD_SKIP : RD_HDR;
        return;
    }
    rd->want = len < SMB_MSG_BUFFER ? len : SMB_MSG_BUFFER;
    rd->mode = len ? RD_BUFFER : RD_HDR;
}

/* The message's first rd->want bytes are buffered. */
static void smb_buffered(struct smb_run *r, struct smb_reader *rd)
{
    uint32_t total = rd->buf.len + rd->left;

    rd->sleft = 0;
    smb_message(r, rd->buf.p, rd->buf.len, total);
    rd->mode = rd->left == 0 ? RD_HDR : rd->sleft ? RD_STREAM : RD_SKIP;
    /* a big buffer is not kept for an idle flow */
    if (rd->buf.cap > 4096)
        app_bytes_free(&r->ctx->mem, &rd->buf);
    rd->buf.len = 0;
}

/* Takes bytes of one direction; returns how many it used. */
static size_t smb_step(struct smb_run *r, struct smb_reader *rd, const uint8_t *d, size_t len)
{
    size_t n;
    long at;

    switch (rd->mode) {
    case RD_HDR:
        n = 4u - rd->nhdr < len ? 4u - rd->nhdr : len;
        memcpy(rd->hdr + rd->nhdr, d, n);
        rd->nhdr = (uint8_t)(rd->nhdr + n);
        if (rd->nhdr == 4)
            smb_header(r, rd);
        return n;
    case RD_BUFFER:
        n = rd->want - rd->buf.len < len ? rd->want - rd->buf.len : len;
        if (app_bytes_append(&r->ctx->mem, &rd->buf, d, n, SMB_MSG_BUFFER) < 0) {
            smb_event(r, SMB_EV_MEMCAP, NULL);
            rd->buf.len = 0;
            rd->mode = RD_SKIP;
            return 0;
        }
        rd->left -= (uint32_t)n;
        if (rd->buf.len == rd->want)
            smb_buffered(r, rd);
        return n;
    case RD_STREAM:
        if (rd->sskip) {
            n = rd->sskip < len ? rd->sskip : len;
            rd->sskip -= (uint32_t)n;
        } else {
            n = rd->sleft < len ? rd->sleft : len;
            file_data(r, rd->sversion, rd->scmd, &rd->skey, r->dir, rd->soff, d, (uint32_t)n);
            rd->soff += n;
            rd->sleft -= (uint32_t)n;
        }
        rd->left -= (uint32_t)n;
        if (rd->left == 0)
            rd->mode = RD_HDR;
        else if (rd->sleft == 0)
            rd->mode = RD_SKIP;
        return n;
    case RD_SKIP:
        n = rd->left < len ? rd->left : len;
        rd->left -= (uint32_t)n;
        if (rd->left == 0)
            rd->mode = RD_HDR;
        return n;
    default:
        if ((at = smb_resync(d, len)) < 0)
            return len;
        rd->mode = RD_HDR;
        rd->nhdr = 0;
        return (size_t)at;
    }
}

/* len bytes of the direction were lost. */
static void smb_gap(struct smb_run *r, struct smb_reader *rd, size_t len)
{
    smb_event(r, SMB_EV_GAP, NULL);
    if (rd->mode == RD_STREAM && !rd->sskip && len <= rd->left) {
        uint32_t n = len < rd->sleft ? (uint32_t)len : rd->sleft;

        file_data(r, rd->sversion, rd->scmd, &rd->skey, r->dir, rd->soff, NULL, n);
        rd->soff += n;
        rd->sleft -= n;
        rd->left -= (uint32_t)len;
        rd->mode = rd->left == 0 ? RD_HDR : rd->sleft ? RD_STREAM : RD_SKIP;
        return;
    }
    if ((rd->mode == RD_BUFFER || rd->mode == RD_SKIP || rd->mode == RD_STREAM) && len <= rd->left) {
        rd->left -= (uint32_t)len;
        rd->buf.len = 0;
        rd->mode = rd->left ? RD_SKIP : RD_HDR;
        return;
    }
    rd->buf.len = 0;
    rd->nhdr = 0;
    rd->mode = RD_LOST;
}

/* The direction ended: the files going that way were not closed. */
static void smb_eof(struct smb_run *r)
{
    for (struct app_tx *t = r->st->txs.head; t; t = t->next) {
        struct smb_tx *tx = (struct smb_tx *)t;

        if (tx->dir == r->dir)
            file_end(r, tx, APP_FILE_TRUNCATED);
    }
}

static int smb_parse(struct app_ctx *ctx, void *state, enum app_dir dir, const uint8_t *data, size_t len,
                     unsigned flags, uint64_t ts_usec)
{
    struct smb_run r = { ctx, state, dir, { 0, { 0 } } };
    struct smb_reader *rd = &r.st->rd[dir];

    (void)ts_usec;
    if (flags & APP_IN_GAP) {
        if (len)
            smb_gap(&r, rd, len);
    } else {
        while (len) {
            size_t n = smb_step(&r, rd, data, len);

            data += n;
            len -= n;
        }
    }
    if (flags & APP_IN_EOF)
        smb_eof(&r);
    return 0;
}

/* ---------------------------------------------------------------- the parser */

/* NBSS session message with an SMB header (SMB1, SMB2, SMB3 transform), or
 * an NBSS session request (port 139). */
static int smb_probe(const uint8_t *data, size_t len, enum app_dir dir)
{
    (void)dir;
    if (len == 0)
        return -1;
    if (data[0] == 0x81)
        return len < 4 ? -1 : (data[1] == 0 && data[2] == 0);
    if (data[0] != 0x00)
        return 0;
    if (len < 8)
        return -1;
    return (data[4] == 0xff || data[4] == 0xfe || data[4] == 0xfd) && memcmp(data + 5, "SMB", 3) == 0;
}

static void *smb_state_new(struct app_ctx *ctx)
{
    struct smb_state *st = app_calloc(&ctx->mem, 1, sizeof *st);

    if (st)
        st->nt_lm_index = -1;
    return st;
}

static void smb_tx_free(struct app_ctx *ctx, void *state, struct app_tx *t)
{
    struct smb_run r = { ctx, state, APP_TO_SERVER, { 0, { 0 } } };
    struct smb_tx *tx = (struct smb_tx *)t;

    if (tx->file.state == APP_FILE_OPEN)
        r.st->open_files--;
    while (tx->ooo) {
        struct smb_chunk *c = tx->ooo;

        tx->ooo = c->next;
        chunk_free(&r, tx, c);
    }
    app_file_md_free(&tx->md);
    if (tx->name)
        app_free(&ctx->mem, tx->name, tx->file.name_len + 1);
    app_bytes_free(&ctx->mem, &tx->data);
    app_free(&ctx->mem, tx, sizeof *tx);
}

static void smb_state_free(struct app_ctx *ctx, void *state)
{
    struct smb_state *st = state;
    struct app_tx *tx;

    if (!st)
        return;
    while ((tx = app_txlist_pop(&st->txs)) != NULL)
        smb_tx_free(ctx, st, tx);
    for (int d = 0; d < 2; d++)
        app_bytes_free(&ctx->mem, &st->rd[d].buf);
    for (uint32_t i = 0; i < SMB_MAX_NAMES; i++)
        if (st->names[i].name)
            app_free(&ctx->mem, st->names[i].name, st->names[i].len + 1);
    for (uint32_t i = 0; i < SMB_MAX_PENDING; i++)
        pend_clear(&ctx->mem, &st->pend[i]);
    app_free(&ctx->mem, st, sizeof *st);
}

static struct app_txlist *smb_txs(void *state)
{
    return &((struct smb_state *)state)->txs;
}

int smb_tx_file_data(const struct smb_tx *tx, enum app_dir dir, const uint8_t **p, uint32_t *n)
{
    if (tx->dir != dir || tx->data.len == 0)
        return 0;
    *p = tx->data.p;
    *n = tx->data.len;
    return 1;
}

const struct app_file *smb_tx_file(const struct smb_tx *tx, enum app_dir dir)
{
    return tx->dir == dir ? &tx->file : NULL;
}

static const char *smb_command_name(uint8_t version, uint16_t cmd)
{
    if (version == 1)
        return cmd == SMB1_WRITE_ANDX ? "SMB1_COMMAND_WRITE_ANDX" : cmd == SMB1_WRITE ? "SMB1_COMMAND_WRITE"
                                                                                      : "SMB1_COMMAND_READ_ANDX";
    return cmd == SMB2_WRITE ? "SMB2_COMMAND_WRITE" : "SMB2_COMMAND_READ";
}

/* Suricata's dialect names: "NT LM 0.12", "2.02", ..., "3.11", "2.??". */
static void smb_dialect_name(uint16_t d, char out[16])
{
    if (d == 0x0100)
        snprintf(out, 16, "NT LM 0.12");
    else if (d == 0x02ff)
        snprintf(out, 16, "2.??");
    else
        snprintf(out, 16, "%x.%02x", d >> 8, d & 0xff);
}

static void smb_tx_eve(const void *state, const struct app_tx *t, struct jbuf *jb)
{
    const struct smb_state *st = state;
    const struct smb_tx *tx = (const struct smb_tx *)t;
    char dialect[16];

    jbuf_u64(jb, "id", t->id);
    if (st->dialect) {
        smb_dialect_name(st->dialect, dialect);
        jbuf_str(jb, "dialect", dialect);
    }
    jbuf_str(jb, "command", smb_command_name(tx->version, tx->command));
    jbuf_strn(jb, "filename", tx->file.name ? tx->file.name : (const uint8_t *)"", tx->file.name_len);
}

static int smb_tx_file_eve(const struct app_tx *t, unsigned i, struct jbuf *jb)
{
    const struct smb_tx *tx = (const struct smb_tx *)t;

    if (i != 0 || tx->file.state == APP_FILE_NONE)
        return 0;
    app_file_eve(&tx->file, t->id, jb);
    return 1;
}

static const uint16_t smb_ports[] = { 445, 139 };

const struct app_parser app_parser_smb = {
    .name = "smb",
    .proto = APP_PROTO_SMB,
    .tcp = 1,
    .ports = smb_ports,
    .nports = sizeof smb_ports / sizeof smb_ports[0],
    .events = smb_event_names,
    .nevents = SMB_EV_MAX,
    .probe = smb_probe,
    .state_new = smb_state_new,
    .state_free = smb_state_free,
    .parse = smb_parse,
    .txs = smb_txs,
    .tx_free = smb_tx_free,
    .tx_eve = smb_tx_eve,
    .tx_file_eve = smb_tx_file_eve,
    .nfiles = 1,
};
