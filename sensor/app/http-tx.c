/* http-tx.c - an HTTP transaction's stored buffers, bodies and body files;
 * see http.h. The libhtp glue is http.c. */
#include <string.h>
#include <strings.h>

#include "http-int.h"

/* libhtp transactions we let go of keep this as user data, so a later
 * callback can tell them from a transaction libhtp made on its own. */
static char http_detached;
static const uint8_t http_empty[1];

/* Raw header bytes kept per direction and transaction. */
#define HTTP_RAW_HEADER_MAX (1024u * 1024)

struct http_tx *http_tx_of(const htp_tx_t *htx)
{
    void *u = htx ? htp_tx_get_user_data(htx) : NULL;

    return u == &http_detached ? NULL : u;
}

void http_tx_detach(htp_tx_t *htx)
{
    htp_tx_set_user_data(htx, &http_detached);
}

/* Appends n bytes to v, growing it by doubling. Returns 0, -1 when v would
 * pass max bytes (0: no maximum), -2 when app_mem refused (v unchanged). */
int http_vec_add(struct app_mem *m, struct http_vec *v, const void *p, size_t n, size_t max)
{
    size_t cap;
    uint8_t *np;

    if (max && (n > max || v->len > max - n))
        return -1;
    if (v->len + n > v->cap) {
        cap = v->cap ? v->cap : 256;
        while (cap < v->len + n)
            cap *= 2;
        if (max && cap > max)
            cap = max;
        np = app_realloc(m, v->p, v->cap, cap);
        if (!np)
            return -2;
        v->p = np;
        v->cap = cap;
    }
    if (n)
        memcpy(v->p + v->len, p, n);
    v->len += n;
    return 0;
}

void http_vec_free(struct app_mem *m, struct http_vec *v)
{
    app_free(m, v->p, v->cap);
    memset(v, 0, sizeof *v);
}

/* Counts ev once per transaction (the stats then count transactions with
 * the anomaly); without a transaction, every time. */
void http_tx_event(struct http_state *st, struct http_tx *tx, enum http_event ev)
{
    if (tx && (tx->tx.events & (1ull << ev)))
        return;
    app_event(st->ctx, APP_PROTO_HTTP, ev, tx ? &tx->tx : NULL);
}

/* ------------------------------------------------------------------ arena */

/* Builds one direction's buffers in two passes over the same code: the
 * first (base NULL) measures, the second writes into one allocation. */
struct arena_w {
    uint8_t *base;
    size_t off;
};

static void w_put(struct arena_w *w, const void *p, size_t n)
{
    if (w->base && n)
        memcpy(w->base + w->off, p, n);
    w->off += n;
}

static void w_bstr(struct arena_w *w, const bstr *b)
{
    if (b)
        w_put(w, bstr_ptr(b), bstr_len(b));
}

static void w_set(const struct arena_w *w, struct http_bytes *dst, size_t start)
{
    if (w->base) {
        dst->p = w->base + start;
        dst->len = (uint32_t)(w->off - start);
    }
}

static void w_field(struct arena_w *w, struct http_bytes *dst, const bstr *b)
{
    size_t s = w->off;

    if (!b)
        return;
    w_bstr(w, b);
    w_set(w, dst, s);
}

/* libhtp 0.5.42 lower-cases a host from the URI but not one from the Host
 * header; http.host is lower case either way (as with later libhtp). */
static void w_field_lower(struct arena_w *w, struct http_bytes *dst, const bstr *b)
{
    size_t s = w->off;

    w_field(w, dst, b);
    if (w->base && b)
        for (size_t i = s; i < w->off; i++)
            if (w->base[i] >= 'A' && w->base[i] <= 'Z')
                w->base[i] = (uint8_t)(w->base[i] - 'A' + 'a');
}

/* The headers the stored buffers name, found in one pass over a header
 * table: a lookup by name scans the table, and building a transaction's
 * buffers took 22 of them (measured: 9% of the HTTP parser's instructions
 * on 1kxun). The first header of a name is taken, as htp_table_get_c()
 * does; libhtp has already folded repeated headers into one. */
enum hdr {
    H_HOST, H_COOKIE, H_USER_AGENT, H_REFERER, H_ACCEPT, H_ACCEPT_LANG, H_ACCEPT_ENC, H_CONNECTION,
    H_CONTENT_TYPE, H_CONTENT_LEN, H_UPGRADE, H_SERVER, H_LOCATION, H_SET_COOKIE, H_CONTENT_RANGE,
    H_CONTENT_DISP, H_MAX
};

static const struct {
    const char *name;
    size_t len;
} hdr_names[H_MAX] = {
#define N(s) { s, sizeof s - 1 }
    [H_HOST] = N("host"), [H_COOKIE] = N("cookie"), [H_USER_AGENT] = N("user-agent"),
    [H_REFERER] = N("referer"), [H_ACCEPT] = N("accept"), [H_ACCEPT_LANG] = N("accept-language"),
    [H_ACCEPT_ENC] = N("accept-encoding"), [H_CONNECTION] = N("connection"),
    [H_CONTENT_TYPE] = N("content-type"), [H_CONTENT_LEN] = N("content-length"), [H_UPGRADE] = N("upgrade"),
    [H_SERVER] = N("server"), [H_LOCATION] = N("location"), [H_SET_COOKIE] = N("set-cookie"),
    [H_CONTENT_RANGE] = N("content-range"), [H_CONTENT_DISP] = N("content-disposition"),
#undef N
};

static void hdr_find(htp_table_t *t, const bstr *v[H_MAX])
{
    size_t n = t ? htp_table_size(t) : 0;

    for (int k = 0; k < H_MAX; k++)
        v[k] = NULL;
    for (size_t i = 0; i < n; i++) {
        htp_header_t *h = htp_table_get_index(t, i, NULL);
        size_t len = h && h->name ? bstr_len(h->name) : 0;

        if (len < 4 || len > 19)        /* "host" .. "content-disposition" */
            continue;
        for (int k = 0; k < H_MAX; k++)
            if (hdr_names[k].len == len && !v[k] &&
                strncasecmp((const char *)bstr_ptr(h->name), hdr_names[k].name, len) == 0) {
                v[k] = h->value;
                break;
            }
    }
}

/* "Name: value\r\n" for every header but skip (Cookie or Set-Cookie), as
 * Suricata's http.header; absent when empty. */
static void w_headers(struct arena_w *w, struct http_bytes *dst, htp_table_t *t, const char *skip)
{
    size_t s = w->off, n = t ? htp_table_size(t) : 0;

    for (size_t i = 0; i < n; i++) {
        htp_header_t *h = htp_table_get_index(t, i, NULL);

        if (!h || (skip && bstr_cmp_c_nocase(h->name, skip) == 0))
            continue;
        w_bstr(w, h->name);
        w_put(w, ": ", 2);
        w_bstr(w, h->value);
        w_put(w, "\r\n", 2);
    }
    if (w->off > s)
        w_set(w, dst, s);
}

/* http.header_names: "\r\nName1\r\nName2\r\n\r\n"; absent without headers. */
static void w_names(struct arena_w *w, struct http_bytes *dst, htp_table_t *t)
{
    size_t s = w->off, n = t ? htp_table_size(t) : 0;

    if (n == 0)
        return;
    w_put(w, "\r\n", 2);
    for (size_t i = 0; i < n; i++) {
        htp_header_t *h = htp_table_get_index(t, i, NULL);

        if (h) {
            w_bstr(w, h->name);
            w_put(w, "\r\n", 2);
        }
    }
    w_put(w, "\r\n", 2);
    w_set(w, dst, s);
}

/* http.start: the first line, CRLF, every header, and a CRLF after the
 * last one (none without headers), as Suricata builds it. */
static void w_start(struct arena_w *w, struct http_bytes *dst, const bstr *line, htp_table_t *t)
{
    size_t s = w->off, before;

    if (!line)
        return;
    w_bstr(w, line);
    w_put(w, "\r\n", 2);
    before = w->off;
    w_headers(w, &(struct http_bytes){ 0 }, t, NULL);
    if (w->off > before)
        w_put(w, "\r\n", 2);
    w_set(w, dst, s);
}

static void w_raw(struct arena_w *w, struct http_bytes *dst, const struct http_vec *raw)
{
    size_t s = w->off;

    if (raw->len == 0)
        return;
    w_put(w, raw->p, raw->len);
    w_set(w, dst, s);
}

/* The filename parameter of a Content-Disposition value, quotes removed;
 * 0 when there is none. Parameters are split at ';' outside quotes. */
static int cd_filename(const uint8_t *v, size_t n, const uint8_t **out, size_t *outlen)
{
    size_t i = 0;

    while (i < n) {
        size_t s, vl;
        int q = 0;
        const uint8_t *val;

        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ';'))
            i++;
        s = i;
        while (i < n && (q || v[i] != ';')) {
            if (v[i] == '"' && (i == s || v[i - 1] != '\\'))
                q = !q;
            i++;
        }
        if (i - s <= 9 || strncasecmp((const char *)v + s, "filename=", 9) != 0)
            continue;
        val = v + s + 9;
        vl = i - s - 9;
        while (vl && (val[vl - 1] == ' ' || val[vl - 1] == '\t'))
            vl--;
        if (vl && val[0] == '"') {
            val++;
            vl--;
        }
        if (vl && val[vl - 1] == '"')
            vl--;
        *out = val;
        *outlen = vl;
        return 1;
    }
    return 0;
}

/* Suricata's http.uri: path, '?' and the query url-decoded as libhtp's
 * urlencoded decoder does, '#' and the fragment (uri-include-all off). */
static void w_norm_uri(struct arena_w *w, struct http_bytes *dst, const htp_uri_t *u, const bstr *query)
{
    size_t s = w->off;

    if (!u || (!u->path && !query && !u->fragment))
        return;
    w_bstr(w, u->path);
    if (query) {
        w_put(w, "?", 1);
        w_bstr(w, query);
    }
    if (u->fragment) {
        w_put(w, "#", 1);
        w_bstr(w, u->fragment);
    }
    w_set(w, dst, s);
}

static void req_fields(struct arena_w *w, struct http_tx *tx, htp_tx_t *h, const bstr *const *hv,
                       const bstr *query, const struct http_vec *raw)
{
    htp_table_t *t = h->request_headers;
    const htp_uri_t *u = h->parsed_uri;
    struct http_bytes *b = tx->buf;

    w_field(w, &b[HTTP_BUF_METHOD], h->request_method);
    w_norm_uri(w, &b[HTTP_BUF_URI], u, query);
    w_field(w, &b[HTTP_BUF_URI_RAW], h->request_uri);
    w_field(w, &b[HTTP_BUF_PROTOCOL], h->request_protocol);
    w_field(w, &b[HTTP_BUF_REQUEST_LINE], h->request_line);
    w_field_lower(w, &b[HTTP_BUF_HOST], h->request_hostname);
    w_field(w, &b[HTTP_BUF_HOST_RAW], u && u->hostname ? u->hostname : hv[H_HOST]);
    w_headers(w, &b[HTTP_BUF_HEADER], t, "cookie");
    w_raw(w, &b[HTTP_BUF_HEADER_RAW], raw);
    w_names(w, &b[HTTP_BUF_HEADER_NAMES], t);
    w_start(w, &b[HTTP_BUF_START], h->request_line, t);
    w_field(w, &b[HTTP_BUF_COOKIE], hv[H_COOKIE]);
    w_field(w, &b[HTTP_BUF_USER_AGENT], hv[H_USER_AGENT]);
    w_field(w, &b[HTTP_BUF_REFERER], hv[H_REFERER]);
    w_field(w, &b[HTTP_BUF_ACCEPT], hv[H_ACCEPT]);
    w_field(w, &b[HTTP_BUF_ACCEPT_LANG], hv[H_ACCEPT_LANG]);
    w_field(w, &b[HTTP_BUF_ACCEPT_ENC], hv[H_ACCEPT_ENC]);
    w_field(w, &b[HTTP_BUF_CONNECTION], hv[H_CONNECTION]);
    w_field(w, &b[HTTP_BUF_CONTENT_TYPE], hv[H_CONTENT_TYPE]);
    w_field(w, &b[HTTP_BUF_CONTENT_LEN], hv[H_CONTENT_LEN]);
    w_field(w, &tx->path, u ? u->path : NULL);
    w_field(w, &tx->upgrade, hv[H_UPGRADE]);
}

static void res_fields(struct arena_w *w, struct http_tx *tx, htp_tx_t *h, const bstr *const *hv,
                       const struct http_vec *raw)
{
    htp_table_t *t = h->response_headers;
    struct http_bytes *b = tx->buf;
    const bstr *cd = hv[H_CONTENT_DISP];
    const uint8_t *fn;
    size_t fnlen, s;

    w_field(w, &b[HTTP_BUF_STAT_CODE], h->response_status);
    w_field(w, &b[HTTP_BUF_STAT_MSG], h->response_message);
    w_field(w, &b[HTTP_BUF_RESPONSE_LINE], h->response_line);
    w_field(w, &b[HTTP_BUF_RESPONSE_PROTOCOL], h->response_protocol);
    w_field(w, &b[HTTP_BUF_SERVER], hv[H_SERVER]);
    w_field(w, &b[HTTP_BUF_LOCATION], hv[H_LOCATION]);
    w_headers(w, &b[HTTP_BUF_RESPONSE_HEADER], t, "set-cookie");
    w_raw(w, &b[HTTP_BUF_RESPONSE_HEADER_RAW], raw);
    w_names(w, &b[HTTP_BUF_RESPONSE_HEADER_NAMES], t);
    w_start(w, &b[HTTP_BUF_RESPONSE_START], h->response_line, t);
    w_field(w, &b[HTTP_BUF_SET_COOKIE], hv[H_SET_COOKIE]);
    w_field(w, &b[HTTP_BUF_RESPONSE_CONNECTION], hv[H_CONNECTION]);
    w_field(w, &b[HTTP_BUF_RESPONSE_CONTENT_TYPE], hv[H_CONTENT_TYPE]);
    w_field(w, &b[HTTP_BUF_RESPONSE_CONTENT_LEN], hv[H_CONTENT_LEN]);
    w_field(w, &tx->content_range, hv[H_CONTENT_RANGE]);
    if (cd && cd_filename(bstr_ptr(cd), bstr_len(cd), &fn, &fnlen)) {
        s = w->off;
        w_put(w, fn, fnlen);
        w_set(w, &tx->cd_name, s);
    }
}

static void fields(struct arena_w *w, struct http_tx *tx, enum app_dir dir, htp_tx_t *h, const bstr *const *hv,
                   const bstr *query, const struct http_vec *raw)
{
    if (dir == APP_TO_SERVER)
        req_fields(w, tx, h, hv, query, raw);
    else
        res_fields(w, tx, h, hv, raw);
}

/* The query decoded for http.uri, in a libhtp string (freed by the caller). */
static bstr *decoded_query(htp_tx_t *h)
{
    bstr *q;
    uint64_t flags = 0;

    if (!h->parsed_uri || !h->parsed_uri->query)
        return NULL;
    q = bstr_dup(h->parsed_uri->query);
    if (q)
        htp_urldecode_inplace(h->cfg, HTP_DECODER_URLENCODED, q, &flags);
    return q;
}

/* Builds tx's buffers of one direction from libhtp's transaction (once; the
 * raw header bytes gathered in st->raw[dir] are taken). Returns 0, or -1
 * when app_mem refused (counted; the buffers stay absent). */
int http_tx_build(struct http_state *st, struct http_tx *tx, enum app_dir dir, htp_tx_t *htx)
{
    static const struct http_vec none;
    struct arena_w w = { NULL, 0 };
    /* a response libhtp could not match has no request bytes of its own */
    int own_raw = !(dir == APP_TO_SERVER && (tx->flags & HTTP_TX_NO_REQUEST));
    const struct http_vec *raw = own_raw ? &st->raw[dir] : &none;
    bstr *query = NULL;
    const bstr *hv[H_MAX];
    int rc = 0;

    if (tx->arena[dir])
        return 0;
    if (dir == APP_TO_SERVER)
        query = decoded_query(htx);
    hdr_find(dir == APP_TO_SERVER ? htx->request_headers : htx->response_headers, hv);
    fields(&w, tx, dir, htx, hv, query, raw);
    if (w.off > UINT32_MAX || !(w.base = app_alloc(&st->ctx->mem, w.off))) {
        http_tx_event(st, tx, HTTP_EV_MEMCAP);
        rc = -1;
    } else {
        tx->arena[dir] = w.base;
        tx->arena_len[dir] = (uint32_t)w.off;
        w.off = 0;
        fields(&w, tx, dir, htx, hv, query, raw);
    }
    bstr_free(query);
    if (own_raw) {
        st->raw[dir].len = 0;
        if (st->raw[dir].cap > 16384)  /* keep a small scratch buffer, not a big one */
            http_vec_free(&st->ctx->mem, &st->raw[dir]);
    }
    if (dir == APP_TO_SERVER) {
        tx->port = htx->request_port_number > 0 ? htx->request_port_number : -1;
        if (htx->request_method_number == HTP_M_CONNECT)
            tx->flags |= HTTP_TX_CONNECT;
        if (tx->upgrade.p)
            tx->flags |= HTTP_TX_UPGRADE;
    } else {
        tx->status = htx->response_status_number >= 100 ? htx->response_status_number : -1;
    }
    return rc;
}

/* Appends raw header bytes of the headers being parsed in dir. */
void http_raw_header(struct http_state *st, enum app_dir dir, const uint8_t *p, size_t n)
{
    int r = http_vec_add(&st->ctx->mem, &st->raw[dir], p, n, HTTP_RAW_HEADER_MAX);

    if (r == -2)
        http_tx_event(st, NULL, HTTP_EV_MEMCAP);
}

/* ------------------------------------------------------------- bodies */

/* Whether a body in dir is a file: every response body; request bodies of
 * PUT, and of POST unless multipart (Suricata extracts the parts of those;
 * we do not). */
static int body_is_file(enum app_dir dir, const htp_tx_t *h)
{
    if (dir == APP_TO_CLIENT)
        return 1;
    if (h->request_method_number == HTP_M_PUT)
        return 1;
    return h->request_method_number == HTP_M_POST &&
           !(h->request_content_type && bstr_cmp_c(h->request_content_type, "multipart/form-data") == 0);
}

/* Opens the file of tx's body in dir; its digests are computed when hash
 * says (a file that can only end TRUNCATED never shows one). */
static void file_open(struct http_state *st, struct http_tx *tx, enum app_dir dir, int hash)
{
    const struct http_bytes *name = tx->cd_name.p && dir == APP_TO_CLIENT ? &tx->cd_name : &tx->path;
    uint32_t len = name->len;

    if (len > HTTP_FILENAME_MAX) {
        len = HTTP_FILENAME_MAX;
        http_tx_event(st, tx, HTTP_EV_FILE_NAME_TOO_LONG);
    }
    app_file_open(&tx->file[dir], &st->md[dir], st->ctx->limits.file_hashes, name->p, len, hash);
}

/* Ends the file of tx's body in dir, if open: CLOSED (with its digests
 * when it had no gap) or TRUNCATED/ERROR. */
void http_file_close(struct http_state *st, struct http_tx *tx, enum app_dir dir, enum app_file_state how)
{
    app_file_close(&tx->file[dir], &st->md[dir], how);
}

/* The size a body will have, when its message says and nothing changes it
 * on the way (a Content-Length body, not compressed); else -1. */
static int64_t body_size(enum app_dir dir, const htp_tx_t *h)
{
    int64_t cl = dir == APP_TO_SERVER ? h->request_content_length : h->response_content_length;
    int plain = dir == APP_TO_SERVER ? h->request_transfer_coding == HTP_CODING_IDENTITY &&
                                           h->request_content_encoding <= HTP_COMPRESSION_NONE
                                     : h->response_transfer_coding == HTP_CODING_IDENTITY &&
                                           h->response_content_encoding_processing == HTP_COMPRESSION_NONE;

    return plain ? cl : -1;
}

/* body_size() up to limit, at most 1 MiB; 0 when unknown. */
static size_t body_hint(enum app_dir dir, const htp_tx_t *h, uint64_t limit)
{
    int64_t cl = body_size(dir, h);

    if (cl <= 0)
        return 0;
    if (limit && (uint64_t)cl > limit)
        cl = (int64_t)limit;
    return cl > (1 << 20) ? (size_t)1 << 20 : (size_t)cl;
}

/* The body limit of dir (0: none). */
static uint64_t body_limit(const struct http_state *st, enum app_dir dir)
{
    return dir == APP_TO_SERVER ? st->ctx->limits.request_body_limit : st->ctx->limits.response_body_limit;
}

static uint32_t undecodable_flag(enum app_dir dir)
{
    return dir == APP_TO_SERVER ? HTTP_TX_UNDECODABLE_REQ : HTTP_TX_UNDECODABLE_RES;
}

/* Keeps n more bytes of the body (data NULL: n bytes lost); the first
 * allocation takes the size the message announced, so a body is one. */
static void body_keep(struct http_state *st, struct http_tx *tx, enum app_dir dir, const uint8_t *data, size_t n,
                      size_t hint)
{
    struct http_body *b = &tx->body[dir];
    struct http_vec v = { b->data, b->len, b->cap };

    if (!data)
        b->gap = 1;
    if (b->gap || b->truncated || n == 0)
        return;
    if (v.cap == 0 && hint > n && (v.p = app_alloc(&st->ctx->mem, hint)) != NULL)
        v.cap = hint;
    if (http_vec_add(&st->ctx->mem, &v, data, n, UINT32_MAX) < 0) {
        http_tx_event(st, tx, HTTP_EV_MEMCAP);
        b->truncated = 1;
    }
    b->data = v.p;
    b->len = (uint32_t)v.len;
    b->cap = (uint32_t)v.cap;
}

static void file_feed(struct http_state *st, struct http_tx *tx, enum app_dir dir, const uint8_t *data, size_t n)
{
    app_file_feed(&tx->file[dir], &st->md[dir], data, n);
}

/* Whether a body's declared type is one that holds no personal data a
 * person entered: scripts, style sheets, media and fonts (code and assets,
 * much of a link's text bytes). Other types, and bodies without one, are
 * counted when they are text. */
static int pii_asset_type(const bstr *ct)
{
    static const char *const prefixes[] = {
        "text/css", "text/javascript", "application/javascript", "application/x-javascript",
        "application/ecmascript", "application/wasm", "image/", "video/", "audio/", "font/",
    };

    if (ct == NULL)
        return 0;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (bstr_begins_with_c(ct, prefixes[i]))
            return 1;
    return 0;
}

/* Whether the first bytes of a body are text (at most 1 in 20 of its
 * first 512 bytes a control character other than tab and line breaks;
 * UTF-8 is text). Personal data is counted in text bodies only: forms,
 * JSON, CSV, XML, HTML, multipart. Images, video, archives and other
 * binary formats hold no number the detectors could read, and are most of
 * the bytes on a link. */
static int looks_text(const uint8_t *p, size_t n)
{
    size_t bad = 0;

    if (n > 512)
        n = 512;
    for (size_t i = 0; i < n; i++)
        bad += (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != '\f') || p[i] == 0x7f;
    return bad * 20 <= n;
}

/* Body bytes of tx in dir as libhtp hands them over: dechunked and
 * decompressed; data NULL with len > 0 is a gap libhtp skipped. Keeps up
 * to the direction's body limit; the file follows the same bytes and is
 * TRUNCATED when more than the limit arrives, as Suricata's. */
void http_body_data(struct http_state *st, struct http_tx *tx, enum app_dir dir, htp_tx_t *htx,
                    const uint8_t *data, size_t len)
{
    struct http_body *b = &tx->body[dir];
    uint64_t limit = body_limit(st, dir);
    size_t take = len;

    if (len == 0 || (unsigned)dir > APP_TO_CLIENT || (tx->flags & undecodable_flag(dir)))
        return;
    if (!tx->arena[dir])
        http_tx_build(st, tx, dir, htx);
    if (tx->tx.progress[dir] < APP_PROG_BODY)
        tx->tx.progress[dir] = APP_PROG_BODY;
    if (dir == APP_TO_CLIENT)
        tx->response_len = (uint64_t)htx->response_message_len;
    if (b->seen == 0 && tx->file[dir].state == APP_FILE_NONE && body_is_file(dir, htx))
        file_open(st, tx, dir, !(limit && body_size(dir, htx) > (int64_t)limit));   /* past it: TRUNCATED */
    if (st->ctx->limits.pii_types && tx->pii_on[dir] != PII_BODY_BINARY) {
        if (tx->pii_on[dir] == 0) {
            struct pii_opts o = { st->ctx->limits.pii_types, pii_date_from_unix(st->now.tv_sec) };

            pii_stream_init(&tx->pii[dir], &o);
            tx->pii_on[dir] = pii_asset_type(dir == APP_TO_SERVER ? htx->request_content_type
                                                                  : htx->response_content_type) ||
                              (data && !looks_text(data, len)) ? PII_BODY_BINARY : PII_BODY_TEXT;
        }
        if (tx->pii_on[dir] == PII_BODY_TEXT) {
            if (data)
                pii_stream_feed(&tx->pii[dir], data, len);
            else
                pii_stream_gap(&tx->pii[dir]);
        }
    }
    if (limit && b->seen + len > limit)
        take = b->seen >= limit ? 0 : (size_t)(limit - b->seen);
    body_keep(st, tx, dir, data, take, body_hint(dir, htx, limit));
    file_feed(st, tx, dir, data, take);
    b->seen += len;
    if (take < len) {
        b->truncated = 1;
        http_file_close(st, tx, dir, APP_FILE_TRUNCATED);
    }
    b->window = dir == APP_TO_SERVER ? st->ctx->limits.request_body_inspect_window
                                     : st->ctx->limits.response_body_inspect_window;
    if (b->truncated || b->seen >= (dir == APP_TO_SERVER ? st->ctx->limits.request_body_inspect_min
                                                         : st->ctx->limits.response_body_inspect_min))
        b->ready = 1;
}

/* Whether the rest of tx's compressed body in dir needs decompressing:
 * rules and the body's file see up to the direction's body limit, the
 * personal-data count a text body whole. When nothing reads it any more,
 * later body bytes are ignored (the flag undecodable_flag() sets) and the
 * caller turns libhtp's decompression off: inflating what no one reads was
 * most of the HTTP parser's time on compressed traffic. */
int http_body_inflate_done(const struct http_state *st, struct http_tx *tx, enum app_dir dir)
{
    uint64_t limit = body_limit(st, dir);

    if ((unsigned)dir > APP_TO_CLIENT || limit == 0 || tx->body[dir].seen < limit ||
        tx->pii_on[dir] == PII_BODY_TEXT)
        return 0;
    tx->flags |= undecodable_flag(dir);
    return 1;
}

/* The rest of tx's compressed body in dir cannot be decoded (a gap): what
 * was decoded is kept, the file (opened if nothing came out of the
 * decompressor yet, when htx is still there to tell) ends TRUNCATED with
 * gaps (or stays as libhtp's end of the message left it), later bytes
 * are ignored. */
void http_body_undecodable(struct http_state *st, struct http_tx *tx, enum app_dir dir, htp_tx_t *htx)
{
    struct app_file *f = &tx->file[dir];

    tx->flags |= undecodable_flag(dir);
    tx->body[dir].gap = 1;
    tx->body[dir].ready = 1;
    if (tx->pii_on[dir] == PII_BODY_TEXT)
        pii_stream_gap(&tx->pii[dir]);
    if (htx && f->state == APP_FILE_NONE && body_is_file(dir, htx)) {
        if (!tx->arena[dir])
            http_tx_build(st, tx, dir, htx);
        file_open(st, tx, dir, 0);              /* ends here, TRUNCATED */
    }
    f->gaps = 1;
    http_file_close(st, tx, dir, APP_FILE_TRUNCATED);
}

int http_tx_pii(const struct app_tx *atx, enum app_dir dir, struct pii_counts *out)
{
    const struct http_tx *tx = (const struct http_tx *)atx;
    struct pii_stream s;

    if ((unsigned)dir > APP_TO_CLIENT || tx->pii_on[dir] != PII_BODY_TEXT)
        return 0;
    s = tx->pii[dir];           /* the end of the body, on a copy: tx stays as it is */
    pii_stream_end(&s);
    *out = s.counts;
    return 1;
}

/* Frees tx and what it holds; libhtp's transaction, if still parsed, is
 * told to forget it. */
void http_tx_release(struct app_mem *m, struct http_tx *tx)
{
    if (tx->htx)
        http_tx_detach(tx->htx);
    for (int d = 0; d < 2; d++) {
        app_free(m, tx->arena[d], tx->arena_len[d]);
        app_free(m, tx->body[d].data, tx->body[d].cap);
    }
    app_free(m, tx, sizeof *tx);
}

/* ------------------------------------------------------------- getters */

int http_tx_buffer(const struct http_tx *tx, enum http_buf b, const uint8_t **p, uint32_t *len)
{
    const struct http_body *body = NULL;

    if ((unsigned)b >= HTTP_BUF_MAX)
        return 0;
    if (b == HTTP_BUF_REQUEST_BODY)
        body = &tx->body[APP_TO_SERVER];
    else if (b == HTTP_BUF_RESPONSE_BODY || b == HTTP_BUF_FILE_DATA)
        body = &tx->body[APP_TO_CLIENT];
    if (body) {
        if (body->len == 0)
            return 0;
        *p = body->data;
        *len = body->len;
        return 1;
    }
    if (!tx->buf[b].p)
        return 0;
    *p = tx->buf[b].len ? tx->buf[b].p : http_empty;
    *len = tx->buf[b].len;
    return 1;
}

int http_tx_body_ready(const struct http_tx *tx, enum app_dir dir)
{
    return (unsigned)dir > APP_TO_CLIENT || tx->body[dir].ready || tx->tx.progress[dir] == APP_PROG_DONE;
}

uint32_t http_tx_body_window(const struct http_tx *tx, enum app_dir dir, uint32_t inspected)
{
    const struct http_body *b;
    uint32_t win, fresh;

    if ((unsigned)dir > APP_TO_CLIENT)
        return 0;
    b = &tx->body[dir];
    win = b->window;
    if (inspected == 0 || win == 0 || inspected > b->len)
        return 0;
    fresh = b->len - inspected;
    if (fresh < win)
        return inspected > win - fresh ? inspected - (win - fresh) : 0;
    return inspected - win / 4;
}

enum app_dir http_buf_dir(enum http_buf b)
{
    return b < HTTP_BUF_FIRST_RESPONSE ? APP_TO_SERVER : APP_TO_CLIENT;
}

static const char *const http_buf_names[HTTP_BUF_MAX] = {
    [HTTP_BUF_URI] = "http.uri",
    [HTTP_BUF_URI_RAW] = "http.uri.raw",
    [HTTP_BUF_METHOD] = "http.method",
    [HTTP_BUF_PROTOCOL] = "http.protocol",
    [HTTP_BUF_REQUEST_LINE] = "http.request_line",
    [HTTP_BUF_HOST] = "http.host",
    [HTTP_BUF_HOST_RAW] = "http.host.raw",
    [HTTP_BUF_HEADER] = "http.header",
    [HTTP_BUF_HEADER_RAW] = "http.header.raw",
    [HTTP_BUF_HEADER_NAMES] = "http.header_names",
    [HTTP_BUF_START] = "http.start",
    [HTTP_BUF_COOKIE] = "http.cookie",
    [HTTP_BUF_USER_AGENT] = "http.user_agent",
    [HTTP_BUF_REFERER] = "http.referer",
    [HTTP_BUF_ACCEPT] = "http.accept",
    [HTTP_BUF_ACCEPT_LANG] = "http.accept_lang",
    [HTTP_BUF_ACCEPT_ENC] = "http.accept_enc",
    [HTTP_BUF_CONNECTION] = "http.connection",
    [HTTP_BUF_CONTENT_TYPE] = "http.content_type",
    [HTTP_BUF_CONTENT_LEN] = "http.content_len",
    [HTTP_BUF_REQUEST_BODY] = "http.request_body",
    [HTTP_BUF_STAT_CODE] = "http.stat_code",
    [HTTP_BUF_STAT_MSG] = "http.stat_msg",
    [HTTP_BUF_RESPONSE_LINE] = "http.response_line",
    [HTTP_BUF_RESPONSE_PROTOCOL] = "http.protocol",
    [HTTP_BUF_SERVER] = "http.server",
    [HTTP_BUF_LOCATION] = "http.location",
    [HTTP_BUF_RESPONSE_HEADER] = "http.header",
    [HTTP_BUF_RESPONSE_HEADER_RAW] = "http.header.raw",
    [HTTP_BUF_RESPONSE_HEADER_NAMES] = "http.header_names",
    [HTTP_BUF_RESPONSE_START] = "http.start",
    [HTTP_BUF_SET_COOKIE] = "http.cookie",
    [HTTP_BUF_RESPONSE_CONNECTION] = "http.connection",
    [HTTP_BUF_RESPONSE_CONTENT_TYPE] = "http.content_type",
    [HTTP_BUF_RESPONSE_CONTENT_LEN] = "http.content_len",
    [HTTP_BUF_RESPONSE_BODY] = "http.response_body",
    [HTTP_BUF_FILE_DATA] = "file.data",
};

const char *http_buf_name(enum http_buf b)
{
    return (unsigned)b < HTTP_BUF_MAX ? http_buf_names[b] : NULL;
}

/* Keywords (sticky buffers and legacy content modifiers) by direction. */
static const struct {
    const char *kw;
    int8_t ts, tc;
} http_keywords[] = {
    { "http.uri", HTTP_BUF_URI, -1 },               { "http_uri", HTTP_BUF_URI, -1 },
    { "http.uri.raw", HTTP_BUF_URI_RAW, -1 },       { "http_raw_uri", HTTP_BUF_URI_RAW, -1 },
    { "http.method", HTTP_BUF_METHOD, -1 },         { "http_method", HTTP_BUF_METHOD, -1 },
    { "http.protocol", HTTP_BUF_PROTOCOL, HTTP_BUF_RESPONSE_PROTOCOL },
    { "http.request_line", HTTP_BUF_REQUEST_LINE, -1 },
    { "http_request_line", HTTP_BUF_REQUEST_LINE, -1 },
    { "http.host", HTTP_BUF_HOST, -1 },             { "http_host", HTTP_BUF_HOST, -1 },
    { "http.host.raw", HTTP_BUF_HOST_RAW, -1 },     { "http_raw_host", HTTP_BUF_HOST_RAW, -1 },
    { "http.header", HTTP_BUF_HEADER, HTTP_BUF_RESPONSE_HEADER },
    { "http_header", HTTP_BUF_HEADER, HTTP_BUF_RESPONSE_HEADER },
    { "http.header.raw", HTTP_BUF_HEADER_RAW, HTTP_BUF_RESPONSE_HEADER_RAW },
    { "http_raw_header", HTTP_BUF_HEADER_RAW, HTTP_BUF_RESPONSE_HEADER_RAW },
    { "http.header_names", HTTP_BUF_HEADER_NAMES, HTTP_BUF_RESPONSE_HEADER_NAMES },
    { "http.start", HTTP_BUF_START, HTTP_BUF_RESPONSE_START },
    { "http_start", HTTP_BUF_START, HTTP_BUF_RESPONSE_START },
    { "http.cookie", HTTP_BUF_COOKIE, HTTP_BUF_SET_COOKIE },
    { "http_cookie", HTTP_BUF_COOKIE, HTTP_BUF_SET_COOKIE },
    { "http.user_agent", HTTP_BUF_USER_AGENT, -1 }, { "http_user_agent", HTTP_BUF_USER_AGENT, -1 },
    { "http.referer", HTTP_BUF_REFERER, -1 },
    { "http.accept", HTTP_BUF_ACCEPT, -1 },
    { "http.accept_lang", HTTP_BUF_ACCEPT_LANG, -1 },
    { "http.accept_enc", HTTP_BUF_ACCEPT_ENC, -1 },
    { "http.connection", HTTP_BUF_CONNECTION, HTTP_BUF_RESPONSE_CONNECTION },
    { "http.content_type", HTTP_BUF_CONTENT_TYPE, HTTP_BUF_RESPONSE_CONTENT_TYPE },
    { "http.content_len", HTTP_BUF_CONTENT_LEN, HTTP_BUF_RESPONSE_CONTENT_LEN },
    { "http.request_body", HTTP_BUF_REQUEST_BODY, -1 },
    { "http_client_body", HTTP_BUF_REQUEST_BODY, -1 },
    { "http.stat_code", -1, HTTP_BUF_STAT_CODE },   { "http_stat_code", -1, HTTP_BUF_STAT_CODE },
    { "http.stat_msg", -1, HTTP_BUF_STAT_MSG },     { "http_stat_msg", -1, HTTP_BUF_STAT_MSG },
    { "http.response_line", -1, HTTP_BUF_RESPONSE_LINE },
    { "http_response_line", -1, HTTP_BUF_RESPONSE_LINE },
    { "http.server", -1, HTTP_BUF_SERVER },
    { "http.location", -1, HTTP_BUF_LOCATION },
    { "http.response_body", -1, HTTP_BUF_RESPONSE_BODY },
    { "http_server_body", -1, HTTP_BUF_RESPONSE_BODY },
    { "file.data", HTTP_BUF_REQUEST_BODY, HTTP_BUF_FILE_DATA },
    { "file_data", HTTP_BUF_REQUEST_BODY, HTTP_BUF_FILE_DATA },
};

int http_buf_lookup(const char *keyword, enum app_dir dir)
{
    for (size_t i = 0; i < sizeof http_keywords / sizeof http_keywords[0]; i++)
        if (strcmp(http_keywords[i].kw, keyword) == 0)
            return dir == APP_TO_SERVER ? http_keywords[i].ts : http_keywords[i].tc;
    return -1;
}

const struct app_file *http_tx_file(const struct http_tx *tx, enum app_dir dir)
{
    return tx->file[dir].state == APP_FILE_NONE ? NULL : &tx->file[dir];
}
