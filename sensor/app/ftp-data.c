/* ftp-data.c - the FTP data connection parser; see ftp.h. */
#include <string.h>

#include "ftp.h"
#include "json.h"

enum ftp_data_event { FTP_DATA_EV_MEMCAP = 0, FTP_DATA_EV_MAX };

static const char *const ftp_data_event_names[FTP_DATA_EV_MAX] = {
    [FTP_DATA_EV_MEMCAP] = "memcap",
};

struct ftp_data_state {
    struct app_txlist txs;
    struct app_tx *tx;                /* the flow's transaction while it is in the list */
    uint8_t made;
    struct ftp_data_info *info;       /* until the transaction takes it */
    struct app_file_md md;
};

const char *ftp_data_cmd_name(unsigned cmd)
{
    return cmd == FTP_DATA_STOR ? "STOR" : cmd == FTP_DATA_RETR ? "RETR" : "";
}

void ftp_data_info_free(struct app_ctx *ctx, void *data)
{
    struct ftp_data_info *info = data;

    if (info)
        app_free(&ctx->mem, info, sizeof *info + info->name_len);
}

static struct ftp_data_tx *ftp_data_tx_of(struct app_ctx *ctx, struct ftp_data_state *st)
{
    struct ftp_data_tx *tx = (struct ftp_data_tx *)app_single_tx(ctx, APP_PROTO_FTPDATA, FTP_DATA_EV_MEMCAP,
                                                                 &st->txs, &st->tx, &st->made, sizeof *tx);

    if (tx && st->info) {
        tx->info = st->info;
        st->info = NULL;
        tx->data_dir = -1;
        /* the command is known both ways from the start (ftpdata_command) */
        tx->tx.progress[APP_TO_SERVER] = tx->tx.progress[APP_TO_CLIENT] = APP_PROG_HEADERS;
    }
    return tx;
}

/* The file ends (how) and so does the transaction. */
static void ftp_data_end(struct ftp_data_state *st, enum app_file_state how)
{
    struct ftp_data_tx *tx = (struct ftp_data_tx *)st->tx;

    if (!tx)
        return;
    app_file_close(&tx->file, &st->md, how);
    tx->tx.progress[APP_TO_SERVER] = tx->tx.progress[APP_TO_CLIENT] = APP_PROG_DONE;
}

static int ftp_data_parse(struct app_ctx *ctx, void *state, enum app_dir dir, const uint8_t *data, size_t len,
                          unsigned flags, uint64_t ts_usec)
{
    struct ftp_data_state *st = state;
    struct ftp_data_tx *tx = ftp_data_tx_of(ctx, st);

    (void)ts_usec;
    if (!tx || tx->tx.progress[dir] == APP_PROG_DONE)
        return 0;
    if (tx->data_dir < 0 && len && !(flags & APP_IN_GAP)) {
        tx->data_dir = (int8_t)dir;
        app_file_open(&tx->file, &st->md, ctx->limits.file_hashes, tx->info ? tx->info->name : NULL,
                      tx->info ? tx->info->name_len : 0, 1);
    }
    if (tx->data_dir != (int8_t)dir)
        return 0;                     /* the other side's bytes are no part of the file */
    if (flags & APP_IN_GAP) {
        app_file_feed(&tx->file, &st->md, NULL, len);
        ftp_data_end(st, APP_FILE_TRUNCATED);
        return 0;
    }
    app_file_feed(&tx->file, &st->md, data, len);
    if (len && tx->kept.len < FTP_DATA_KEEP) {
        size_t take = FTP_DATA_KEEP - tx->kept.len < len ? FTP_DATA_KEEP - tx->kept.len : len;

        if (app_bytes_append(&ctx->mem, &tx->kept, data, take, FTP_DATA_KEEP) < 0)
            app_event(ctx, APP_PROTO_FTPDATA, FTP_DATA_EV_MEMCAP, &tx->tx);
        else
            tx->tx.progress[dir] = APP_PROG_BODY;
    }
    if (flags & APP_IN_EOF)
        ftp_data_end(st, APP_FILE_CLOSED);
    return 0;
}

/* Never probed: a data connection is known only from its control one. */
static int ftp_data_probe(const uint8_t *d, size_t len, enum app_dir dir)
{
    (void)d;
    (void)len;
    (void)dir;
    return 0;
}

static void *ftp_data_state_new(struct app_ctx *ctx)
{
    return app_calloc(&ctx->mem, 1, sizeof(struct ftp_data_state));
}

static void ftp_data_adopt(struct app_ctx *ctx, void *state, void *data)
{
    struct ftp_data_state *st = state;

    ftp_data_info_free(ctx, st->info);
    st->info = data;
    (void)ftp_data_tx_of(ctx, st);
}

static void ftp_data_tx_free(struct app_ctx *ctx, void *state, struct app_tx *t)
{
    struct ftp_data_state *st = state;
    struct ftp_data_tx *tx = (struct ftp_data_tx *)t;

    if (st->tx == t) {
        app_file_close(&tx->file, &st->md, APP_FILE_TRUNCATED);
        st->tx = NULL;
    }
    ftp_data_info_free(ctx, tx->info);
    app_bytes_free(&ctx->mem, &tx->kept);
    app_free(&ctx->mem, tx, sizeof *tx);
}

static void ftp_data_state_free(struct app_ctx *ctx, void *state)
{
    struct ftp_data_state *st = state;
    struct app_tx *t;

    if (!st)
        return;
    while ((t = app_txlist_pop(&st->txs)) != NULL)
        ftp_data_tx_free(ctx, st, t);
    ftp_data_info_free(ctx, st->info);
    app_file_md_free(&st->md);
    app_free(&ctx->mem, st, sizeof *st);
}

static struct app_txlist *ftp_data_txs(void *state)
{
    return &((struct ftp_data_state *)state)->txs;
}

/* ---------------------------------------------------------------- getters, EVE */

int ftp_data_tx_bytes(const struct ftp_data_tx *tx, enum app_dir dir, const uint8_t **p, uint32_t *len)
{
    if (tx->data_dir != (int8_t)dir || tx->kept.len == 0)
        return 0;
    *p = tx->kept.p;
    *len = tx->kept.len;
    return 1;
}

const struct app_file *ftp_data_tx_file(const struct ftp_data_tx *tx)
{
    return tx->file.state == APP_FILE_NONE ? NULL : &tx->file;
}

static void ftp_data_tx_eve(const void *state, const struct app_tx *t, struct jbuf *jb)
{
    const struct ftp_data_tx *tx = (const struct ftp_data_tx *)t;

    (void)state;
    if (!tx->info)
        return;
    jbuf_strn(jb, "filename", tx->info->name, tx->info->name_len);
    jbuf_str(jb, "command", ftp_data_cmd_name(tx->info->command));
}

static int ftp_data_tx_file_eve(const struct app_tx *t, unsigned i, struct jbuf *jb)
{
    const struct ftp_data_tx *tx = (const struct ftp_data_tx *)t;

    if (i != 0 || tx->file.state == APP_FILE_NONE)
        return 0;
    app_file_eve(&tx->file, t->id, jb);
    return 1;
}

const struct app_parser app_parser_ftp_data = {
    .name = "ftp-data",
    .eve_name = "ftp_data",
    .proto = APP_PROTO_FTPDATA,
    .tcp = 1,
    .port_only = 1,
    .events = ftp_data_event_names,
    .nevents = FTP_DATA_EV_MAX,
    .probe = ftp_data_probe,
    .state_new = ftp_data_state_new,
    .state_free = ftp_data_state_free,
    .parse = ftp_data_parse,
    .txs = ftp_data_txs,
    .tx_free = ftp_data_tx_free,
    .tx_eve = ftp_data_tx_eve,
    .tx_file_eve = ftp_data_tx_file_eve,
    .nfiles = 1,
    .expect_adopt = ftp_data_adopt,
    .expect_free = ftp_data_info_free,
};
