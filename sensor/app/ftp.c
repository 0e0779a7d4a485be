/* ftp.c - the FTP control connection parser; see ftp.h. */
#include <ctype.h>
#include <string.h>

#include "ftp.h"
#include "json.h"
#include "stats.h"

const char *const ftp_event_names[FTP_EV_MAX] = {
    [FTP_EV_REQUEST_COMMAND_TOO_LONG] = "request_command_too_long",
    [FTP_EV_RESPONSE_COMMAND_TOO_LONG] = "response_command_too_long",
    [FTP_EV_INVALID_PORT] = "invalid_port",
    [FTP_EV_TOO_MANY_TRANSACTIONS] = "too_many_transactions",
    [FTP_EV_MEMCAP] = "memcap",
};

#define FTP_MAX_PENDING 4u            /* expectations announced and not yet taken by the stage */

/* Reading one direction's lines. */
struct ftp_reader {
    struct app_bytes line;            /* the line so far, up to FTP_MAX_LINE */
    uint8_t too_long;                 /* the line passed FTP_MAX_LINE: skipping to LF */
    uint8_t off;                      /* a gap: nothing is read any more */
};

struct ftp_state {
    struct app_txlist txs;
    struct ftp_reader rd[2];
    uint32_t waiting;                 /* transactions waiting for (the rest of) their reply */
    uint8_t  mode;                    /* enum ftp_mode of the announced port, NONE when none */
    uint16_t port;
    struct app_expect pend[FTP_MAX_PENDING];
    uint8_t  npend;
};

static void ftp_event(struct app_ctx *ctx, unsigned e, struct ftp_tx *tx)
{
    app_event(ctx, APP_PROTO_FTP, e, tx ? &tx->tx : NULL);
}

/* ---------------------------------------------------------------- ports */

/* Reads a decimal number of at most 5 digits at *p (< e); -1 when none. */
static long ftp_number(const uint8_t **p, const uint8_t *e)
{
    long v = 0;
    int n = 0;

    while (*p < e && isdigit(**p) && n < 6) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n == 0 || n > 5 ? -1 : v;
}

/* "h1,h2,h3,h4,p1,p2" from p (< e), each 0 to 255; the port, or -1. */
static int ftp_six(const uint8_t *p, const uint8_t *e)
{
    long v[6];

    for (int i = 0; i < 6; i++) {
        while (p < e && *p == ' ')
            p++;
        if ((v[i] = ftp_number(&p, e)) < 0 || v[i] > 255)
            return -1;
        while (p < e && *p == ' ')
            p++;
        if (i < 5 && (p >= e || *p++ != ','))
            return -1;
    }
    return v[4] * 256 + v[5] == 0 ? -1 : (int)(v[4] * 256 + v[5]);
}

int ftp_parse_port(const uint8_t *s, size_t n)
{
    return ftp_six(s, s + n);
}

int ftp_parse_227(const uint8_t *s, size_t n)
{
    const uint8_t *e = s + n, *p = s;

    /* the numbers follow "(" or, without one, the first digit of the text */
    const uint8_t *paren = memchr(s, '(', n);

    if (paren)
        return ftp_six(paren + 1, e);
    while (p < e && !isdigit(*p))
        p++;
    return ftp_six(p, e);
}

/* "<d>proto<d>addr<d>port<d>" (EPRT, proto 1 or 2) or "<d><d><d>port<d>"
 * (229): d is one printable character. want_fields: 0 for 229 (no proto,
 * no address). Returns the port or -1. */
static int ftp_delimited(const uint8_t *p, const uint8_t *e, int eprt)
{
    uint8_t d;
    long port;

    if (p >= e || *p < 33 || *p > 126)
        return -1;
    d = *p++;
    if (eprt) {
        if (p + 2 > e || (p[0] != '1' && p[0] != '2') || p[1] != d)
            return -1;
        p += 2;
        while (p < e && *p != d)
            p++;                      /* the address */
    } else {
        if (p + 2 > e || p[0] != d || p[1] != d)
            return -1;
        p += 1;
    }
    if (p >= e || *p++ != d)
        return -1;
    if ((port = ftp_number(&p, e)) < 1 || port > 65535 || p >= e || *p != d)
        return -1;
    return (int)port;
}

int ftp_parse_eprt(const uint8_t *s, size_t n)
{
    return ftp_delimited(s, s + n, 1);
}

int ftp_parse_229(const uint8_t *s, size_t n)
{
    const uint8_t *paren = memchr(s, '(', n);

    return paren ? ftp_delimited(paren + 1, s + n, 0) : -1;
}

/* ---------------------------------------------------------------- transactions */

static struct ftp_tx *ftp_tx_new(struct app_ctx *ctx, struct ftp_state *st)
{
    struct ftp_tx *tx = app_calloc(&ctx->mem, 1, sizeof *tx);

    if (!tx) {
        ftp_event(ctx, FTP_EV_MEMCAP, NULL);
        return NULL;
    }
    app_txlist_push(&st->txs, &tx->tx);
    STATS_INC(ctx->stats.tx[APP_PROTO_FTP]);
    return tx;
}

/* The transaction has had its reply (or will get none). */
static void ftp_tx_close(struct ftp_state *st, struct ftp_tx *tx)
{
    if (tx->tx.progress[APP_TO_CLIENT] == APP_PROG_DONE)
        return;
    tx->tx.progress[APP_TO_CLIENT] = APP_PROG_DONE;
    if (st->waiting)
        st->waiting--;
}

/* The oldest transaction waiting for its reply (a command's, or a
 * multi-line greeting's rest), NULL when none. */
static struct ftp_tx *ftp_waiting(const struct ftp_state *st)
{
    for (struct app_tx *t = st->txs.head; t && st->waiting; t = t->next)
        if (t->progress[APP_TO_CLIENT] != APP_PROG_DONE)
            return (struct ftp_tx *)t;
    return NULL;
}

static int ftp_is(const struct ftp_tx *tx, const char *cmd)
{
    size_t n = strlen(cmd);

    return tx->command_len == n && memcmp(tx->line.p, cmd, n) == 0;
}

/* Announces the data connection a STOR or RETR will use, once. */
static void ftp_expect(struct app_ctx *ctx, struct ftp_state *st, struct ftp_tx *tx, uint8_t cmd)
{
    uint32_t n = tx->line.len - tx->data_off;
    struct ftp_data_info *info;
    struct app_expect *e;

    if (st->mode == FTP_MODE_NONE)
        return;
    if (st->npend == FTP_MAX_PENDING) {
        STATS_INC(ctx->stats.expect[2]);
        return;
    }
    if (!(info = app_alloc(&ctx->mem, sizeof *info + n))) {
        ftp_event(ctx, FTP_EV_MEMCAP, tx);
        return;
    }
    info->command = cmd;
    info->name_len = n;
    memcpy(info->name, tx->line.p + tx->data_off, n);
    e = &st->pend[st->npend++];
    e->proto = APP_PROTO_FTPDATA;
    e->by_server = st->mode == FTP_MODE_ACTIVE;
    e->port = st->port;
    e->data = info;
    st->mode = FTP_MODE_NONE;         /* a port serves one transfer */
}

/* The port a command or reply announced (port < 0: malformed). */
static void ftp_announce(struct app_ctx *ctx, struct ftp_state *st, struct ftp_tx *tx, int port, uint8_t mode)
{
    if (port < 0) {
        ftp_event(ctx, FTP_EV_INVALID_PORT, tx);
        return;
    }
    st->port = (uint16_t)port;
    st->mode = mode;
    tx->dynamic_port = (uint16_t)port;
    tx->mode = mode;
}

/* One whole command line (in rd->line). */
static void ftp_command(struct app_ctx *ctx, struct ftp_state *st, struct ftp_reader *rd)
{
    uint32_t max = ctx->limits.max_tx ? ctx->limits.max_tx : UINT32_MAX;
    struct ftp_tx *tx, *old;
    const uint8_t *sp;

    while (st->waiting >= max && (old = ftp_waiting(st)) != NULL) {
        ftp_tx_close(st, old);
        ftp_event(ctx, FTP_EV_TOO_MANY_TRANSACTIONS, old);
    }
    if (!(tx = ftp_tx_new(ctx, st)))
        return;
    tx->line = rd->line;              /* the transaction takes the line */
    memset(&rd->line, 0, sizeof rd->line);
    tx->has_command = 1;
    tx->command_truncated = rd->too_long;
    if (rd->too_long)
        ftp_event(ctx, FTP_EV_REQUEST_COMMAND_TOO_LONG, tx);
    sp = tx->line.len ? memchr(tx->line.p, ' ', tx->line.len) : NULL;
    tx->command_len = (uint16_t)(sp ? (uint32_t)(sp - tx->line.p) : tx->line.len < 0xffff ? tx->line.len : 0xffff);
    tx->data_off = sp ? (uint32_t)(sp - tx->line.p) + 1 : tx->line.len;
    for (uint32_t i = 0; i < tx->command_len; i++)
        tx->line.p[i] = (uint8_t)toupper(tx->line.p[i]);
    tx->tx.progress[APP_TO_SERVER] = APP_PROG_DONE;
    st->waiting++;
    if (ftp_is(tx, "PORT"))
        ftp_announce(ctx, st, tx, ftp_parse_port(tx->line.p + tx->data_off, tx->line.len - tx->data_off),
                     FTP_MODE_ACTIVE);
    else if (ftp_is(tx, "EPRT"))
        ftp_announce(ctx, st, tx, ftp_parse_eprt(tx->line.p + tx->data_off, tx->line.len - tx->data_off),
                     FTP_MODE_ACTIVE);
    else if (ftp_is(tx, "STOR"))
        ftp_expect(ctx, st, tx, FTP_DATA_STOR);
    else if (ftp_is(tx, "RETR"))
        ftp_expect(ctx, st, tx, FTP_DATA_RETR);
}

/* One whole reply line (in rd->line). */
static void ftp_reply(struct app_ctx *ctx, struct ftp_state *st, struct ftp_reader *rd)
{
    const uint8_t *l = rd->line.p;
    uint32_t n = rd->line.len, text = 0;
    struct ftp_tx *tx = ftp_waiting(st);
    int coded = n >= 3 && isdigit(l[0]) && isdigit(l[1]) && isdigit(l[2]) && (n == 3 || l[3] == ' ' || l[3] == '-');
    int final = coded && (n == 3 || l[3] == ' ');
    static const uint8_t nl = '\n';

    if (!tx) {
        if (!(tx = ftp_tx_new(ctx, st)))
            return;
        tx->tx.progress[APP_TO_SERVER] = APP_PROG_DONE;
        st->waiting++;
    }
    if (rd->too_long) {
        tx->reply_truncated = 1;
        ftp_event(ctx, FTP_EV_RESPONSE_COMMAND_TOO_LONG, tx);
    }
    tx->reply_received = 1;
    if (tx->tx.progress[APP_TO_CLIENT] < APP_PROG_HEADERS)
        tx->tx.progress[APP_TO_CLIENT] = APP_PROG_HEADERS;
    if (coded)
        text = n > 3 ? 4 : 3;
    if (tx->nreplies < FTP_MAX_REPLIES) {
        uint32_t at = tx->replies.len;

        if (app_bytes_append(&ctx->mem, &tx->replies, l + text, n - text, FTP_MAX_REPLIES * (FTP_MAX_LINE + 1)) < 0 ||
            app_bytes_append(&ctx->mem, &tx->replies, &nl, 1, FTP_MAX_REPLIES * (FTP_MAX_LINE + 1)) < 0) {
            ftp_event(ctx, FTP_EV_MEMCAP, tx);
        } else {
            tx->reply_off[tx->nreplies] = at;
            if (coded)
                memcpy(tx->code[tx->nreplies], l, 3);
            tx->nreplies++;
        }
    }
    if (coded && (l[0] == '2' && l[1] == '2' && (l[2] == '7' || l[2] == '9')) && final)
        ftp_announce(ctx, st, tx, l[2] == '7' ? ftp_parse_227(l + text, n - text) : ftp_parse_229(l + text, n - text),
                     FTP_MODE_PASSIVE);
    if (final && l[0] != '1')
        ftp_tx_close(st, tx);
}

/* Lines of direction dir in d[0..len). */
static void ftp_read(struct app_ctx *ctx, struct ftp_state *st, enum app_dir dir, const uint8_t *d, size_t len)
{
    struct ftp_reader *rd = &st->rd[dir];
    size_t i = 0;

    while (i < len) {
        const uint8_t *lf = memchr(d + i, '\n', len - i);
        size_t n = (lf ? (size_t)(lf - d) : len) - i;

        if (!rd->too_long) {
            size_t room = FTP_MAX_LINE - rd->line.len, take = n < room ? n : room;

            if (app_bytes_append(&ctx->mem, &rd->line, d + i, take, FTP_MAX_LINE + 1) < 0) {
                ftp_event(ctx, FTP_EV_MEMCAP, NULL);
                rd->off = 1;
                return;
            }
            /* a CR right at the limit is the line's own end, not a byte too many */
            if (n > room && !(n == room + 1 && d[i + n - 1] == '\r'))
                rd->too_long = 1;
        }
        i += n;
        if (!lf)
            break;
        i++;
        if (!rd->too_long && rd->line.len && rd->line.p[rd->line.len - 1] == '\r')
            rd->line.len--;
        if (rd->line.len == 0 && !rd->too_long)
            continue;                 /* an empty line says nothing */
        if (dir == APP_TO_SERVER)
            ftp_command(ctx, st, rd);
        else
            ftp_reply(ctx, st, rd);
        rd->line.len = 0;
        rd->too_long = 0;
    }
}

/* ---------------------------------------------------------------- parser */

static int ftp_parse(struct app_ctx *ctx, void *state, enum app_dir dir, const uint8_t *data, size_t len,
                     unsigned flags, uint64_t ts_usec)
{
    struct ftp_state *st = state;
    struct ftp_reader *rd = &st->rd[dir];

    (void)ts_usec;
    if (flags & APP_IN_GAP) {
        rd->off = 1;                  /* the line framing is lost */
        app_bytes_free(&ctx->mem, &rd->line);
    } else if (!rd->off && len) {
        ftp_read(ctx, st, dir, data, len);
    }
    if ((flags & APP_IN_EOF) && dir == APP_TO_CLIENT)
        for (struct ftp_tx *tx; (tx = ftp_waiting(st)) != NULL;)
            ftp_tx_close(st, tx);   /* no reply will come */
    return 0;
}

/* A command word of letters, then a space or the line's end: "USER x\r\n". */
static int ftp_probe(const uint8_t *d, size_t len, enum app_dir dir)
{
    size_t i = 0;

    if (dir == APP_TO_CLIENT) {
        /* "220" then " " or "-" */
        for (; i < len && i < 3; i++)
            if (!isdigit(d[i]))
                return 0;
        if (len < 4)
            return -1;
        return d[0] == '2' && d[1] == '2' && d[2] == '0' && (d[3] == ' ' || d[3] == '-');
    }
    for (; i < len && i < 5 && isalpha(d[i]); i++)
        ;
    if (i == len)
        return len < 5 ? -1 : 0;
    return i >= 3 && (d[i] == ' ' || d[i] == '\r' || d[i] == '\n');
}

static void *ftp_state_new(struct app_ctx *ctx)
{
    return app_calloc(&ctx->mem, 1, sizeof(struct ftp_state));
}

static void ftp_tx_free(struct app_ctx *ctx, void *state, struct app_tx *t)
{
    struct ftp_state *st = state;
    struct ftp_tx *tx = (struct ftp_tx *)t;

    if (t->progress[APP_TO_CLIENT] != APP_PROG_DONE && st->waiting)
        st->waiting--;
    app_bytes_free(&ctx->mem, &tx->line);
    app_bytes_free(&ctx->mem, &tx->replies);
    app_free(&ctx->mem, tx, sizeof *tx);
}

static void ftp_state_free(struct app_ctx *ctx, void *state)
{
    struct ftp_state *st = state;
    struct app_tx *t;

    if (!st)
        return;
    while ((t = app_txlist_pop(&st->txs)) != NULL)
        ftp_tx_free(ctx, st, t);
    for (int i = 0; i < 2; i++)
        app_bytes_free(&ctx->mem, &st->rd[i].line);
    for (unsigned i = 0; i < st->npend; i++)
        ftp_data_info_free(ctx, st->pend[i].data);
    app_free(&ctx->mem, st, sizeof *st);
}

static struct app_txlist *ftp_txs(void *state)
{
    return &((struct ftp_state *)state)->txs;
}

static int ftp_expect_take(void *state, struct app_expect *out)
{
    struct ftp_state *st = state;

    if (st->npend == 0)
        return 0;
    *out = st->pend[0];
    memmove(&st->pend[0], &st->pend[1], (st->npend - 1) * sizeof st->pend[0]);
    st->npend--;
    return 1;
}

/* ---------------------------------------------------------------- EVE */

static void ftp_tx_eve(const void *state, const struct app_tx *t, struct jbuf *jb)
{
    const struct ftp_tx *tx = (const struct ftp_tx *)t;
    int ncodes = 0;

    (void)state;
    if (tx->has_command) {
        jbuf_strn(jb, "command", tx->line.p, tx->command_len);
        if (tx->data_off < tx->line.len)
            jbuf_strn(jb, "command_data", tx->line.p + tx->data_off, tx->line.len - tx->data_off);
    }
    if (tx->nreplies) {
        jbuf_open_array(jb, "reply");
        for (unsigned i = 0; i < tx->nreplies; i++) {
            uint32_t at = tx->reply_off[i], end = i + 1 < tx->nreplies ? tx->reply_off[i + 1] : tx->replies.len;

            jbuf_strn(jb, NULL, tx->replies.p + at, end - at - 1);
            ncodes += tx->code[i][0] != '\0';
        }
        jbuf_close_array(jb);
    }
    if (ncodes) {
        jbuf_open_array(jb, "completion_code");
        for (unsigned i = 0; i < tx->nreplies; i++)
            if (tx->code[i][0])
                jbuf_str(jb, NULL, tx->code[i]);
        jbuf_close_array(jb);
    }
    if (tx->mode != FTP_MODE_NONE) {
        jbuf_u64(jb, "dynamic_port", tx->dynamic_port);
        jbuf_str(jb, "mode", tx->mode == FTP_MODE_ACTIVE ? "active" : "passive");
    }
    jbuf_str(jb, "reply_received", tx->reply_received ? "yes" : "no");
    jbuf_bool(jb, "command_truncated", tx->command_truncated);
    jbuf_bool(jb, "reply_truncated", tx->reply_truncated);
}

static const uint16_t ftp_ports[] = { 21 };

const struct app_parser app_parser_ftp = {
    .name = "ftp",
    .proto = APP_PROTO_FTP,
    .tcp = 1,
    .ports = ftp_ports,
    .nports = sizeof ftp_ports / sizeof ftp_ports[0],
    .events = ftp_event_names,
    .nevents = FTP_EV_MAX,
    .probe = ftp_probe,
    .state_new = ftp_state_new,
    .state_free = ftp_state_free,
    .parse = ftp_parse,
    .txs = ftp_txs,
    .tx_free = ftp_tx_free,
    .tx_eve = ftp_tx_eve,
    .expect_take = ftp_expect_take,
    .port_only = 1,
};
