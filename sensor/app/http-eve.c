/* http-eve.c - EVE "http" and "fileinfo" members of an HTTP transaction,
 * with Suricata's names and types (output-json-http.c with extended
 * logging, output-json-file.c); see http.h. */
#include <string.h>
#include <strings.h>

#include "http-int.h"
#include "json.h"

static void str_member(struct jbuf *jb, const char *key, const struct http_bytes *b)
{
    if (b->p)
        jbuf_strn(jb, key, b->p, b->len);
}

/* A non-negative decimal number spanning s[*i..]; -1 when none. */
static int64_t range_num(const uint8_t *s, size_t n, size_t *i)
{
    int64_t v = 0;
    size_t st = *i;

    while (*i < n && s[*i] >= '0' && s[*i] <= '9' && v < (INT64_MAX - 9) / 10)
        v = v * 10 + (s[(*i)++] - '0');
    return *i > st ? v : -1;
}

/* "bytes START-END/SIZE" (START-END or SIZE may be "*"). Returns 0 and
 * the parts (-1 for "*"), or -1 when it is not of that form. */
static int content_range(const uint8_t *s, size_t n, int64_t *start, int64_t *end, int64_t *size)
{
    size_t i = 0;

    while (i < n && s[i] == ' ')
        i++;
    if (n - i < 6 || strncasecmp((const char *)s + i, "bytes", 5) != 0)
        return -1;
    i += 5;
    while (i < n && s[i] == ' ')
        i++;
    *start = *end = *size = -1;
    if (i < n && s[i] == '*') {
        i++;
    } else {
        if ((*start = range_num(s, n, &i)) < 0 || i >= n || s[i++] != '-' || (*end = range_num(s, n, &i)) < 0)
            return -1;
    }
    if (i >= n || s[i++] != '/')
        return -1;
    if (i < n && s[i] == '*')
        i++;
    else if ((*size = range_num(s, n, &i)) < 0)
        return -1;
    return i == n ? 0 : -1;
}

static void range_member(struct jbuf *jb, const struct http_bytes *cr)
{
    int64_t start, end, size;

    if (!cr->p)
        return;
    jbuf_open_object(jb, "content_range");
    jbuf_strn(jb, "raw", cr->p, cr->len);
    if (content_range(cr->p, cr->len, &start, &end, &size) == 0) {
        if (start >= 0)
            jbuf_u64(jb, "start", (uint64_t)start);
        if (end >= 0)
            jbuf_u64(jb, "end", (uint64_t)end);
        if (size >= 0)
            jbuf_u64(jb, "size", (uint64_t)size);
    }
    jbuf_close_object(jb);
}

/* From the http.header buffer ("Name: value\r\n" each, Cookie left out;
 * libhtp has already joined a repeated header with ", "). */
const uint8_t *http_tx_request_header(const struct app_tx *atx, const char *name, size_t *len)
{
    const struct http_tx *tx = (const struct http_tx *)atx;
    const struct http_bytes *h = &tx->buf[HTTP_BUF_HEADER];
    const uint8_t *p = h->p, *end = h->p ? h->p + h->len : NULL;
    size_t nl = strlen(name);

    while (p && p < end) {
        const uint8_t *eol = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *le = eol ? eol : end;
        const uint8_t *v = p + nl + 1;

        if ((size_t)(le - p) > nl && p[nl] == ':' && strncasecmp((const char *)p, name, nl) == 0) {
            while (v < le && (*v == ' ' || *v == '\t'))
                v++;
            while (le > v && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
                le--;
            *len = (size_t)(le - v);
            return v;
        }
        p = eol ? eol + 1 : end;
    }
    return NULL;
}

void http_tx_names(const void *state, const struct app_tx *atx, app_name_fn fn, void *arg)
{
    const struct http_bytes *h = &((const struct http_tx *)atx)->buf[HTTP_BUF_HOST];

    (void)state;
    if (h->p && h->len)
        fn(arg, APP_NAME_HTTP_HOST, h->p, h->len);
}

/* The members of "http": {...} (app_parser.tx_eve). As Suricata:
 * hostname is the normalised host, url the request target as sent,
 * http_content_type the response's Content-Type up to ';', status a number
 * (status_string when the status line's code is not a valid one), redirect
 * the Location header, length the response body's length on the wire. */
void http_tx_eve(const void *state, const struct app_tx *atx, struct jbuf *jb)
{
    const struct http_tx *tx = (const struct http_tx *)atx;
    const struct http_bytes *b = tx->buf, *ct = &b[HTTP_BUF_RESPONSE_CONTENT_TYPE];

    (void)state;
    str_member(jb, "hostname", &b[HTTP_BUF_HOST]);
    if (tx->port >= 0)
        jbuf_u64(jb, "http_port", (uint64_t)tx->port);
    str_member(jb, "url", &b[HTTP_BUF_URI_RAW]);
    str_member(jb, "http_user_agent", &b[HTTP_BUF_USER_AGENT]);
    if (ct->p) {
        const uint8_t *semi = memchr(ct->p, ';', ct->len);

        jbuf_strn(jb, "http_content_type", ct->p, semi ? (size_t)(semi - ct->p) : ct->len);
    }
    range_member(jb, &tx->content_range);
    str_member(jb, "http_refer", &b[HTTP_BUF_REFERER]);
    str_member(jb, "http_method", &b[HTTP_BUF_METHOD]);
    str_member(jb, "protocol", &b[HTTP_BUF_PROTOCOL]);
    if (b[HTTP_BUF_STAT_CODE].p) {
        if (tx->status >= 0)
            jbuf_u64(jb, "status", (uint64_t)tx->status);
        else
            jbuf_strn(jb, "status_string", b[HTTP_BUF_STAT_CODE].p, b[HTTP_BUF_STAT_CODE].len);
        str_member(jb, "redirect", &b[HTTP_BUF_LOCATION]);
    }
    jbuf_u64(jb, "length", tx->response_len);
}

void http_file_eve(const struct http_tx *tx, enum app_dir dir, struct jbuf *jb)
{
    const struct app_file *f = http_tx_file(tx, dir);

    if (f)
        app_file_eve(f, tx->tx.id, jb);
}

/* Splits http.start (line, then "Name: value" lines) back into headers:
 * libhtp joins folded lines, so a value holds no LF, and a name no ':'. */
void http_eve_headers(const struct http_tx *tx, enum app_dir dir, struct jbuf *jb)
{
    const struct http_bytes *s = &tx->buf[dir == APP_TO_SERVER ? HTTP_BUF_START : HTTP_BUF_RESPONSE_START];
    const uint8_t *p, *end, *eol, *colon;
    int open = 0;

    if (!s->p)
        return;
    p = s->p;
    end = s->p + s->len;
    eol = memchr(p, '\n', (size_t)(end - p));
    for (p = eol ? eol + 1 : end; p < end; p = eol + 1) {
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol || eol - p < 1 || eol[-1] != '\r' || eol - p == 1)
            break;
        colon = memchr(p, ':', (size_t)(eol - 1 - p));
        if (!colon || colon + 1 >= eol || colon[1] != ' ')
            break;
        if (!open) {
            jbuf_open_array(jb, dir == APP_TO_SERVER ? "request_headers" : "response_headers");
            open = 1;
        }
        jbuf_open_object(jb, NULL);
        jbuf_strn(jb, "name", p, (size_t)(colon - p));
        jbuf_strn(jb, "value", colon + 2, (size_t)(eol - 1 - (colon + 2)));
        jbuf_close_object(jb);
    }
    if (open)
        jbuf_close_array(jb);
}
