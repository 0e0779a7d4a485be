/* ssh.c - the SSH parser; see ssh.h. */
#include <string.h>

#include "app-util.h"
#include "json.h"
#include "ssh.h"
#include "util.h"

const char *const ssh_event_names[SSH_EV_MAX] = {
    [SSH_EV_INVALID_BANNER] = "invalid_banner",
    [SSH_EV_LONG_BANNER] = "long_banner",
    [SSH_EV_INVALID_RECORD] = "invalid_record",
    [SSH_EV_MEMCAP] = "memcap",
};

enum ssh_phase {
    SSH_PH_BANNER = 0,          /* reading lines up to the version line */
    SSH_PH_PACKETS,             /* binary packets, in the clear */
    SSH_PH_OFF                  /* encrypted, unparseable or ended: skipped */
};

/* Reading one direction. */
struct ssh_reader {
    uint8_t  phase;             /* enum ssh_phase */
    uint8_t  line_long;         /* the current line passed SSH_MAX_BANNER: skipping to LF */
    uint8_t  lines;             /* lines before the version line */
    uint16_t line_len;
    uint8_t  line[SSH_MAX_BANNER + 1];   /* + a CR we may strip */
    uint8_t  hdr[6];            /* packet_length, padding_length, message code */
    uint8_t  nhdr;
    uint32_t rest;              /* bytes of the current packet after hdr */
    uint32_t kex_len;           /* of them, the KEXINIT payload to keep (0: skip all) */
    struct app_bytes kex;
};

struct ssh_state {
    struct app_txlist txs;
    struct app_tx *tx;          /* the flow's transaction (a struct ssh_tx) while it is in the list */
    uint8_t  made;              /* the transaction was made (and may be gone) */
    struct ssh_reader rd[2];
};

/* ---------------------------------------------------------------- transaction */

static struct ssh_tx *ssh_tx_of(struct app_ctx *ctx, struct ssh_state *st)
{
    return (struct ssh_tx *)app_single_tx(ctx, APP_PROTO_SSH, SSH_EV_MEMCAP, &st->txs, &st->tx, &st->made,
                                          sizeof(struct ssh_tx));
}

/* The transaction if it lives, without making it. */
static struct ssh_tx *ssh_tx_now(const struct ssh_state *st)
{
    return (struct ssh_tx *)st->tx;
}

static void ssh_event(struct app_ctx *ctx, struct ssh_state *st, unsigned e)
{
    app_event(ctx, APP_PROTO_SSH, e, st->tx);
}

/* The direction is read no further. */
static void ssh_stop(struct app_ctx *ctx, struct ssh_state *st, enum app_dir dir)
{
    struct ssh_reader *r = &st->rd[dir];

    r->phase = SSH_PH_OFF;
    app_bytes_free(&ctx->mem, &r->kex);
    if (st->tx)
        st->tx->progress[dir] = APP_PROG_DONE;
}

/* ---------------------------------------------------------------- banner */

/* Splits a version line "SSH-proto-software comments" into the side.
 * Returns 0, or -1 when it is not one. */
static int ssh_banner(struct ssh_side *s, const uint8_t *line, size_t n)
{
    const uint8_t *dash, *sp;

    if (n < 4 || memcmp(line, "SSH-", 4) != 0)
        return -1;
    if (!(dash = memchr(line + 4, '-', n - 4)))
        return -1;
    memcpy(s->banner, line, n);
    s->banner_len = (uint16_t)n;
    s->proto_off = 4;
    s->proto_len = (uint16_t)(dash - line - 4);
    s->soft_off = (uint16_t)(dash - line + 1);
    sp = memchr(dash + 1, ' ', (size_t)(line + n - dash - 1));
    s->soft_len = (uint16_t)((sp ? sp : line + n) - dash - 1);
    if (sp) {
        s->comments_off = (uint16_t)(sp - line + 1);
        s->comments_len = (uint16_t)(line + n - sp - 1);
    }
    s->have_banner = 1;
    return 0;
}

/* One whole line of direction dir (CR LF stripped). Returns -1 when the
 * flow cannot be SSH. */
static int ssh_line(struct app_ctx *ctx, struct ssh_state *st, enum app_dir dir)
{
    struct ssh_reader *r = &st->rd[dir];
    struct ssh_tx *tx = ssh_tx_of(ctx, st);

    if (r->line_len && r->line[r->line_len - 1] == '\r')
        r->line_len--;
    if (tx && ssh_banner(&tx->side[dir], r->line, r->line_len) == 0) {
        tx->tx.progress[dir] = APP_PROG_HEADERS;
        r->phase = SSH_PH_PACKETS;
        return 0;
    }
    if (!tx) {
        ssh_stop(ctx, st, dir);
        return 0;
    }
    if (r->line_len >= 4 && memcmp(r->line, "SSH-", 4) == 0) {
        ssh_event(ctx, st, SSH_EV_INVALID_BANNER);       /* SSH- without a software part */
        ssh_stop(ctx, st, dir);
        return 0;
    }
    /* RFC 4253 4.2: only the server may say other things first */
    if (dir == APP_TO_SERVER || ++r->lines > SSH_MAX_PRE_LINES) {
        ssh_event(ctx, st, SSH_EV_INVALID_BANNER);
        ssh_stop(ctx, st, dir);
        return -1;
    }
    return 0;
}

/* Lines until the version line. Returns the bytes used, or -1. */
static long ssh_read_lines(struct app_ctx *ctx, struct ssh_state *st, enum app_dir dir, const uint8_t *d, size_t len)
{
    struct ssh_reader *r = &st->rd[dir];
    size_t i = 0;

    while (i < len && r->phase == SSH_PH_BANNER) {
        const uint8_t *lf = memchr(d + i, '\n', len - i);
        size_t n = (lf ? (size_t)(lf - d) : len) - i;

        if (!r->line_long) {
            size_t room = sizeof r->line - r->line_len, take = n < room ? n : room;

            memcpy(r->line + r->line_len, d + i, take);
            r->line_len += (uint16_t)take;
            if (n > room || (r->line_len > SSH_MAX_BANNER && r->line[SSH_MAX_BANNER] != '\r')) {
                r->line_long = 1;
                ssh_event(ctx, st, SSH_EV_LONG_BANNER);
            }
        }
        i += n;
        if (!lf)
            break;
        i++;
        if (r->line_len > SSH_MAX_BANNER && r->line[r->line_len - 1] != '\r')
            r->line_len = SSH_MAX_BANNER;          /* a long line, kept cut */
        if (ssh_line(ctx, st, dir) < 0)
            return -1;
        r->line_len = 0;
        r->line_long = 0;
    }
    return (long)i;
}

/* ---------------------------------------------------------------- packets */

/* Takes a name-list (uint32 length, bytes) off *p..e. Returns 0 or -1. */
static int ssh_namelist(const uint8_t **p, const uint8_t *e, const uint8_t **s, uint32_t *n)
{
    if (e - *p < 4)
        return -1;
    *n = lw_get32(*p);
    if (*n > (size_t)(e - *p - 4))
        return -1;
    *s = *p + 4;
    *p += 4 + *n;
    return 0;
}

/* The KEXINIT payload (after the message code): cookie, ten name-lists,
 * first_kex_packet_follows, reserved. Makes the side's hassh. */
static int ssh_kexinit(struct app_ctx *ctx, struct ssh_state *st, enum app_dir dir, const uint8_t *p, size_t n)
{
    /* name-lists of the hassh: kex, then enc, mac, comp of the sender's own direction */
    static const int want[2][4] = { { 0, 2, 4, 6 }, { 0, 3, 5, 7 } };
    const uint8_t *e, *list[10];
    uint32_t len[10], total = 3;
    struct ssh_side *s;
    char *h;

    if (n < 16 + 10 * 4 + 5)
        return -1;
    e = p + n;
    p += 16;
    for (int i = 0; i < 10; i++)
        if (ssh_namelist(&p, e, &list[i], &len[i]) < 0)
            return -1;
    if (e - p < 5)
        return -1;
    if (!st->tx || ssh_tx_now(st)->side[dir].have_hassh)
        return 0;
    s = &ssh_tx_now(st)->side[dir];
    for (int i = 0; i < 4; i++)
        total += len[want[dir][i]];
    if (!(h = app_alloc(&ctx->mem, (size_t)total + 1))) {
        ssh_event(ctx, st, SSH_EV_MEMCAP);
        return 0;
    }
    s->hassh_string = h;
    s->hassh_string_len = total;
    for (int i = 0; i < 4; i++) {
        if (i)
            *h++ = ';';
        memcpy(h, list[want[dir][i]], len[want[dir][i]]);
        h += len[want[dir][i]];
    }
    *h = '\0';
    app_md5_hex(s->hassh_string, total, s->hassh);
    s->have_hassh = 1;
    return 0;
}

/* The 6-byte packet header is complete: checks it and decides what of
 * the packet to keep. Returns 0, or -1 when it cannot be a packet. */
static int ssh_packet_start(struct ssh_reader *r)
{
    uint32_t plen = lw_get32(r->hdr);
    uint8_t pad = r->hdr[4];

    if (plen < 2 || plen > SSH_MAX_PACKET || pad > plen - 2)
        return -1;
    r->rest = plen - 2;                      /* after padding_length and the code */
    r->kex_len = 0;
    if (r->hdr[5] == 20) {
        r->kex_len = plen - 2 - pad;
        if (r->kex_len > SSH_MAX_KEXINIT)
            return -1;
    }
    return 0;
}

/* The packet whose header is in r->hdr is complete (its payload, if kept,
 * in r->kex). */
static void ssh_packet_end(struct app_ctx *ctx, struct ssh_state *st, enum app_dir dir)
{
    struct ssh_reader *r = &st->rd[dir];

    if (r->hdr[5] == 20 && ssh_kexinit(ctx, st, dir, r->kex.p, r->kex.len) < 0) {
        ssh_event(ctx, st, SSH_EV_INVALID_RECORD);
        ssh_stop(ctx, st, dir);
    } else if (r->hdr[5] == 21) {
        if (st->tx)
            ssh_tx_now(st)->side[dir].newkeys = 1;
        ssh_stop(ctx, st, dir);              /* encrypted from here */
    }
    app_bytes_free(&ctx->mem, &r->kex);
    r->nhdr = 0;
}

/* Binary packets. */
static void ssh_read_packets(struct app_ctx *ctx, struct ssh_state *st, enum app_dir dir, const uint8_t *d, size_t len)
{
    struct ssh_reader *r = &st->rd[dir];

    while (len && r->phase == SSH_PH_PACKETS) {
        size_t take;

        if (r->nhdr < sizeof r->hdr) {
            take = sizeof r->hdr - r->nhdr;
            take = take < len ? take : len;
            memcpy(r->hdr + r->nhdr, d, take);
            r->nhdr += (uint8_t)take;
            d += take;
            len -= take;
            if (r->nhdr == sizeof r->hdr && ssh_packet_start(r) < 0) {
                ssh_event(ctx, st, SSH_EV_INVALID_RECORD);
                ssh_stop(ctx, st, dir);
            } else if (r->nhdr == sizeof r->hdr && r->rest == 0) {
                ssh_packet_end(ctx, st, dir);
            }
            continue;
        }
        take = r->rest < len ? r->rest : len;
        if (r->kex.len < r->kex_len) {
            size_t k = r->kex_len - r->kex.len < take ? r->kex_len - r->kex.len : take;

            if (app_bytes_append(&ctx->mem, &r->kex, d, k, SSH_MAX_KEXINIT) < 0) {
                ssh_event(ctx, st, SSH_EV_MEMCAP);
                ssh_stop(ctx, st, dir);
                return;
            }
        }
        r->rest -= (uint32_t)take;
        d += take;
        len -= take;
        if (!r->rest)
            ssh_packet_end(ctx, st, dir);
    }
}

/* ---------------------------------------------------------------- parser */

static int ssh_parse(struct app_ctx *ctx, void *state, enum app_dir dir, const uint8_t *data, size_t len,
                     unsigned flags, uint64_t ts_usec)
{
    struct ssh_state *st = state;
    struct ssh_reader *r = &st->rd[dir];

    (void)ts_usec;
    if (flags & APP_IN_GAP) {
        ssh_stop(ctx, st, dir);             /* the framing is lost */
    } else if (r->phase == SSH_PH_BANNER && len) {
        long used = ssh_read_lines(ctx, st, dir, data, len);

        if (used < 0)
            return -1;
        ssh_read_packets(ctx, st, dir, data + used, len - (size_t)used);
    } else if (r->phase == SSH_PH_PACKETS) {
        ssh_read_packets(ctx, st, dir, data, len);
    }
    if (flags & APP_IN_EOF)
        ssh_stop(ctx, st, dir);
    return 0;
}

static int ssh_probe(const uint8_t *d, size_t len, enum app_dir dir)
{
    size_t n = len < 4 ? len : 4;

    (void)dir;
    if (memcmp(d, "SSH-", n) != 0)
        return 0;
    return len < 4 ? -1 : 1;
}

static void *ssh_state_new(struct app_ctx *ctx)
{
    return app_calloc(&ctx->mem, 1, sizeof(struct ssh_state));
}

static void ssh_tx_free(struct app_ctx *ctx, void *state, struct app_tx *t)
{
    struct ssh_state *st = state;
    struct ssh_tx *tx = (struct ssh_tx *)t;

    for (int i = 0; i < 2; i++)
        if (tx->side[i].hassh_string)
            app_free(&ctx->mem, tx->side[i].hassh_string, tx->side[i].hassh_string_len + 1);
    if (st->tx == t)
        st->tx = NULL;
    app_free(&ctx->mem, tx, sizeof *tx);
}

static void ssh_state_free(struct app_ctx *ctx, void *state)
{
    struct ssh_state *st = state;
    struct app_tx *t;

    if (!st)
        return;
    while ((t = app_txlist_pop(&st->txs)) != NULL)
        ssh_tx_free(ctx, st, t);
    for (int i = 0; i < 2; i++)
        app_bytes_free(&ctx->mem, &st->rd[i].kex);
    app_free(&ctx->mem, st, sizeof *st);
}

static struct app_txlist *ssh_txs(void *state)
{
    return &((struct ssh_state *)state)->txs;
}

/* ---------------------------------------------------------------- getters, EVE */

int ssh_tx_get(const struct ssh_tx *tx, enum app_dir dir, enum ssh_buffer b, const uint8_t **p, uint32_t *n)
{
    const struct ssh_side *s = &tx->side[dir];

    switch (b) {
    case SSH_BUF_PROTO:
        *p = s->banner + s->proto_off;
        *n = s->proto_len;
        return s->have_banner;
    case SSH_BUF_SOFTWARE:
        *p = s->banner + s->soft_off;
        *n = s->soft_len;
        return s->have_banner;
    case SSH_BUF_HASSH:
        *p = (const uint8_t *)s->hassh;
        *n = 32;
        return s->have_hassh;
    case SSH_BUF_HASSH_STRING:
        *p = (const uint8_t *)s->hassh_string;
        *n = s->hassh_string_len;
        return s->have_hassh;
    }
    return 0;
}

static void ssh_tx_eve(const void *state, const struct app_tx *t, struct jbuf *jb)
{
    const struct ssh_tx *tx = (const struct ssh_tx *)t;
    static const char *const names[2] = { "client", "server" };

    (void)state;
    for (int d = 0; d < 2; d++) {
        const struct ssh_side *s = &tx->side[d];

        if (!s->have_banner && !s->have_hassh)
            continue;
        jbuf_open_object(jb, names[d]);
        if (s->have_banner) {
            jbuf_strn(jb, "proto_version", s->banner + s->proto_off, s->proto_len);
            jbuf_strn(jb, "software_version", s->banner + s->soft_off, s->soft_len);
        }
        if (s->have_hassh) {
            jbuf_open_object(jb, "hassh");
            jbuf_str(jb, "hash", s->hassh);
            jbuf_strn(jb, "string", (const uint8_t *)s->hassh_string, s->hassh_string_len);
            jbuf_close_object(jb);
        }
        jbuf_close_object(jb);
    }
}

static const uint16_t ssh_ports[] = { 22 };

const struct app_parser app_parser_ssh = {
    .name = "ssh",
    .proto = APP_PROTO_SSH,
    .tcp = 1,
    .udp = 0,
    .ports = ssh_ports,
    .nports = sizeof ssh_ports / sizeof ssh_ports[0],
    .events = ssh_event_names,
    .nevents = SSH_EV_MAX,
    .probe = ssh_probe,
    .state_new = ssh_state_new,
    .state_free = ssh_state_free,
    .parse = ssh_parse,
    .txs = ssh_txs,
    .tx_free = ssh_tx_free,
    .tx_eve = ssh_tx_eve,
};
