/* http-int.h - what http.c (libhtp glue), http-tx.c (a transaction's
 * buffers, bodies and files) and http-eve.c share; not part of the API. */
#ifndef LW_HTTP_INT_H
#define LW_HTTP_INT_H

#include <stdint.h>

#include <htp/htp.h>
#include <openssl/evp.h>

#include "app-layer.h"
#include "http.h"

/* A growable byte buffer counted in app_mem. */
struct http_vec {
    uint8_t *p;
    size_t len, cap;
};

/* One flow's parser. */
struct http_state {
    struct app_ctx *ctx;              /* the worker's; callbacks count through it */
    htp_connp_t *connp;
    htp_conn_t *conn;
    struct app_txlist txs;
    htp_time_t now;                   /* timestamp of the bytes being parsed */
    uint8_t dir;                      /* direction being fed to libhtp */
    uint8_t eof[2];                   /* direction ended (libhtp told) */
    uint8_t dead[2];                  /* no more parsing in this direction */
    uint8_t blocked[2];               /* libhtp wants the other side first (DATA_OTHER) */
    uint8_t tunnel;                   /* the protocol switched: nothing more is HTTP */
    uint8_t failed;                   /* libhtp gave up on the stream: parse() returns -1 */
    uint8_t refuse;                   /* max_tx: the next request line is refused */
    uint32_t live;                    /* libhtp transactions not yet complete */
    uint64_t req_started, res_started, res_done;
    struct http_vec pend[2];          /* bytes held back from libhtp, per direction */
    struct http_vec raw[2];           /* raw header bytes of the headers being parsed */
    struct app_file_md md[2];         /* digests of the body file open in each direction */
};

/* http-tx.c */
struct http_tx *http_tx_of(const htp_tx_t *htx);
void http_tx_detach(htp_tx_t *htx);
void http_raw_header(struct http_state *st, enum app_dir dir, const uint8_t *p, size_t n);
int  http_vec_add(struct app_mem *m, struct http_vec *v, const void *p, size_t n, size_t max);
void http_vec_free(struct app_mem *m, struct http_vec *v);
void http_tx_event(struct http_state *st, struct http_tx *tx, enum http_event ev);
int  http_tx_build(struct http_state *st, struct http_tx *tx, enum app_dir dir, htp_tx_t *htx);
void http_body_data(struct http_state *st, struct http_tx *tx, enum app_dir dir, htp_tx_t *htx,
                    const uint8_t *data, size_t len);
void http_file_close(struct http_state *st, struct http_tx *tx, enum app_dir dir, enum app_file_state how);
int http_body_inflate_done(const struct http_state *st, struct http_tx *tx, enum app_dir dir);
void http_body_undecodable(struct http_state *st, struct http_tx *tx, enum app_dir dir, htp_tx_t *htx);
void http_tx_release(struct app_mem *m, struct http_tx *tx);

/* http-eve.c */
void http_tx_eve(const void *state, const struct app_tx *atx, struct jbuf *jb);
/* A request header's value (app_parser.tx_request_header). */
const uint8_t *http_tx_request_header(const struct app_tx *atx, const char *name, size_t *len);
/* The request's host (app_parser.tx_names). */
void http_tx_names(const void *state, const struct app_tx *atx, app_name_fn fn, void *arg);

#endif
