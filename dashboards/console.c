/* console.c - linkwatch-console: the analysts' web console over the Redis
 * data the sensors write (docs/redis.md). Serves the page and a JSON API:
 * alerts (filtered, grouped, one in detail), triage, summaries of the
 * tallies, sensor health, and new alerts live (Server-Sent Events).
 *
 * Every API call needs a login (HTTP Basic or the session cookie of
 * POST /api/login; sessions live in Redis, console-session.h). Password
 * checks are throttled (console-guard.h). Each request opens its own Redis
 * connection; every command is sent as an argv array, so no request value
 * is ever parsed by Redis as syntax. What Redis holds is not trusted
 * either: oversized entries are skipped and answers are bounded.
 *
 * Requests reach the handlers only once they have arrived whole (the HTTP
 * gate, http-gate.h). Started as root, the console binds its port, then
 * runs as console.user.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <microhttpd.h>

#include "config.h"
#include "json.h"
#include "console-auth.h"
#include "console-filter.h"
#include "console-query.h"
#include "console-redis.h"
#include "console-summary.h"
#include "alert-index.h"
#include "redis-cluster.h"
#include "redis-ctx.h"
#include "redis-keys.h"
#include "util.h"
#include "console-guard.h"
#include "console-session.h"
#include "console-shards.h"
#include "http-gate.h"
#include "privileges.h"

#define BODY_MAX      16384
#define LIST_MAX      1000
#define SCAN_BATCH    1000
#define NOTE_MAX      2000
#define BUCKETS_MAX   1440
#define QUERY_BUDGET_USEC 1000000u   /* most time one list or grouping reads */
#define FIELD_MAX     CQ_FIELD_MAX   /* a stream field larger than this is skipped (hostile) */
#define TRIAGE_MAX    CQ_TRIAGE_MAX  /* a triage record or history entry larger is skipped */
#define HISTORY_MAX   200            /* newest history entries answered */
#define ANSWER_MAX    (8u << 20)     /* bytes of events one answer gathers at most */
#define SESSION_TTL   (12 * 3600)

extern const char web_index_html[], web_app_js[], web_style_css[], web_world_json[];

static struct lw_config cfg;
static volatile sig_atomic_t stop_requested;
static struct http_gate *gate;
static struct session_limits slim;
static uint64_t hostile_skipped;     /* Redis entries skipped as too large */

/* The requests of one address: http-gate.h. 32 at once from one address
 * (SSE streams included), each whole within 10 s. */
static const struct http_gate_config console_gate_defaults = {
    .max_conns = 128, .per_addr = 32, .deadline_ms = 10000, .max_head = 16384, .max_body = BODY_MAX,
};

/* ------------------------------------------------------------------ redis */

/* Key names come from the sensor's own layout (redis-keys.h). */
static struct rkeys rk;

/* An alert of the API: its shard's keys and its stream id. */
struct alert_ref {
    char shard[CR_SHARD_MAX];
    char xid[CR_XID_MAX];
    struct rkeys k;
};

/* Reads an API alert id (console-redis.h). Returns 0, or -1 malformed. */
static int alert_ref(const char *id, struct alert_ref *a)
{
    if (cr_id_parse(id, a->shard, a->xid) < 0)
        return -1;
    a->k = cr_shard_keys(&rk, a->shard);
    return 0;
}

/* A context for one request (redis-ctx.h): NULL when no node answers. */
static struct rcx *connect_redis(void)
{
    char err[256] = "";

    return rcx_connect(&cfg, err, sizeof err);
}

/* A stream entry's field as a string or NULL (cq_entry_field); one larger
 * than FIELD_MAX is not an event the sensor wrote: skipped and counted. */
static const char *field(redisReply *fields, const char *name)
{
    int big = 0;
    const redisReply *v = cq_entry_field(fields, name, &big);

    if (big)
        __atomic_add_fetch(&hostile_skipped, 1, __ATOMIC_RELAXED);
    return v ? v->str : NULL;
}

/* ------------------------------------------------------------------ http */

struct req {
    char   *body;
    size_t  len;
    int     too_big;
};

static void security_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
}

static enum MHD_Result send_buf(struct MHD_Connection *conn, unsigned status,
                                const char *type, const char *buf, size_t len,
                                const char *cookie)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)buf,
                                                             MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (!r)
        return MHD_NO;
    security_headers(r);
    http_gate_close_after(r);
    MHD_add_response_header(r, "Content-Type", type);
    if (strncmp(type, "application/json", 16) == 0)
        MHD_add_response_header(r, "Cache-Control", "no-store");
    /* The page asks with X-Requested-With and shows its own login form;
     * other clients are told they may use Basic. */
    if (status == MHD_HTTP_UNAUTHORIZED &&
        !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Requested-With"))
        MHD_add_response_header(r, "WWW-Authenticate", "Basic realm=\"linkwatch\", charset=\"UTF-8\"");
    if (cookie)
        MHD_add_response_header(r, "Set-Cookie", cookie);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Sends j (stolen) as the JSON body; one past ANSWER_MAX (plus room for
 * its wrapping) is refused rather than sent. */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *j,
                                 const char *cookie)
{
    static const char big[] = "{\"error\":\"answer too large: narrow the filters or lower limit\"}";
    char *s = json_dumps(j, JSON_COMPACT);
    enum MHD_Result ret;

    json_decref(j);
    if (!s)
        return MHD_NO;
    if (strlen(s) > ANSWER_MAX + (ANSWER_MAX >> 2))
        ret = send_buf(conn, MHD_HTTP_BAD_GATEWAY, "application/json; charset=utf-8", big, sizeof big - 1, NULL);
    else
        ret = send_buf(conn, status, "application/json; charset=utf-8", s, strlen(s), cookie);
    free(s);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    return send_json(conn, status, json_pack("{s:s}", "error", msg), NULL);
}

/* 429 with Retry-After: a login try refused before any password check. */
static enum MHD_Result send_throttled(struct MHD_Connection *conn, unsigned retry)
{
    char *s = NULL, secs[16];
    struct MHD_Response *r;
    enum MHD_Result ret;
    json_t *j = json_pack("{s:s,s:i}", "error", "too many failed logins: wait before trying again",
                          "retry_after", (int)retry);

    if (j)
        s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s || !(r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE))) {
        free(s);
        return MHD_NO;
    }
    snprintf(secs, sizeof secs, "%u", retry ? retry : 1);
    security_headers(r);
    http_gate_close_after(r);
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Retry-After", secs);
    ret = MHD_queue_response(conn, MHD_HTTP_TOO_MANY_REQUESTS, r);
    MHD_destroy_response(r);
    return ret;
}

/* ------------------------------------------------------------------ auth */

enum auth { AUTH_NO, AUTH_OK, AUTH_THROTTLED, AUTH_REDIS };

/* The client's address as the gate knows it (the proxy's client when it is trusted). */
static void client_of(struct MHD_Connection *conn, char *addr)
{
    if (http_gate_client(gate, conn, addr, NULL) < 0)
        snprintf(addr, LW_ADDRSTRLEN, "unknown");
}

/* One password check through the guard (console-guard.h): AUTH_OK with the
 * user's fingerprint in fp, AUTH_NO, or AUTH_THROTTLED with *retry. */
static enum auth check_password(const char *name, const char *pass, const char *addr, const char *how,
                                char *fp, unsigned *retry)
{
    int ok;

    if ((*retry = guard_wait(user_name_valid(name) ? name : NULL, addr)) != 0 || guard_hash_enter() < 0) {
        if (!*retry)
            *retry = 1;
        guard_throttled();
        return AUTH_THROTTLED;
    }
    ok = users_verify(cfg.console.users_file, name, pass, fp);
    guard_hash_leave();
    if (ok)
        guard_succeeded(name, addr);
    else
        guard_failed(user_name_valid(name) ? name : NULL, addr, how);
    return ok ? AUTH_OK : AUTH_NO;
}

/* The logged-in user of this request into user: a session cookie whose
 * user still has the hash it logged in with, else HTTP Basic. */
static enum auth authenticate(struct MHD_Connection *conn, struct rcx *c, char *user, unsigned *retry)
{
    const char *tok = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "lw_session");
    char fp[USER_FP_LEN + 1], now_fp[USER_FP_LEN + 1], addr[LW_ADDRSTRLEN];
    char *pass = NULL, *name;
    enum auth a = AUTH_NO;
    int found;

    if (tok) {
        if ((found = session_lookup(c, &slim, tok, user, fp)) < 0)
            return AUTH_REDIS;
        if (found) {
            if (users_fingerprint(cfg.console.users_file, user, now_fp) && strcmp(fp, now_fp) == 0)
                return AUTH_OK;
            session_delete(c, &slim, tok);       /* removed, or a new password since */
        }
    }
    name = MHD_basic_auth_get_username_password(conn, &pass);
    if (name && pass) {
        client_of(conn, addr);
        a = check_password(name, pass, addr, "basic", fp, retry);
        if (a == AUTH_OK)
            snprintf(user, USER_NAME_MAX + 1, "%s", name);
    }
    if (pass) {
        explicit_bzero(pass, strlen(pass));
        MHD_free(pass);
    }
    if (name)
        MHD_free(name);
    return a;
}

static void session_cookie(char *cookie, size_t n, const char *tok, int max_age)
{
    snprintf(cookie, n, "lw_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s", tok, max_age,
             cfg.console.secure_cookies ? "; Secure" : "");
}

static enum MHD_Result api_login(struct MHD_Connection *conn, struct rcx *c, struct req *rq)
{
    json_error_t je;
    json_t *b = rq->body ? json_loadb(rq->body, rq->len, 0, &je) : NULL;
    const char *name = json_string_value(json_object_get(b, "user"));
    const char *pass = json_string_value(json_object_get(b, "password"));
    char tok[65], cookie[200], fp[USER_FP_LEN + 1], addr[LW_ADDRSTRLEN];
    enum MHD_Result ret;
    unsigned retry = 0;
    enum auth a;

    if (!name || !pass) {
        json_decref(b);
        return send_error(conn, MHD_HTTP_BAD_REQUEST, "expected {\"user\": ..., \"password\": ...}");
    }
    client_of(conn, addr);
    a = check_password(name, pass, addr, "page", fp, &retry);
    if (a != AUTH_OK) {
        json_decref(b);
        return a == AUTH_THROTTLED ? send_throttled(conn, retry)
                                   : send_error(conn, MHD_HTTP_UNAUTHORIZED, "wrong user name or password");
    }
    if (session_create(c, &slim, name, fp, tok) < 0) {
        json_decref(b);
        return send_error(conn, MHD_HTTP_BAD_GATEWAY, "redis: cannot store the session");
    }
    session_cookie(cookie, sizeof cookie, tok, SESSION_TTL);
    ret = send_json(conn, MHD_HTTP_OK, json_pack("{s:s}", "user", name), cookie);
    explicit_bzero(tok, sizeof tok);
    json_decref(b);
    return ret;
}

/* Logs out this session, or (everywhere) every session of user. */
static enum MHD_Result api_logout(struct MHD_Connection *conn, struct rcx *c, const char *user, int everywhere)
{
    const char *tok = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "lw_session");
    char cookie[200];
    long n = 0;

    if (everywhere)
        n = session_delete_user(c, &slim, user);
    else if (tok)
        session_delete(c, &slim, tok);
    if (n < 0)
        return send_error(conn, MHD_HTTP_BAD_GATEWAY, "redis: cannot end the sessions");
    session_cookie(cookie, sizeof cookie, "", 0);
    return send_json(conn, MHD_HTTP_OK, everywhere ? json_pack("{s:I}", "sessions_ended", (json_int_t)n)
                                                   : json_object(), cookie);
}

/* Whether a POST may be acted on: a JSON body (exactly application/json,
 * parameters allowed) and, when the browser says where the page came from
 * (Origin, else Referer), this console's own origin: the Host it was
 * asked as, or X-Forwarded-Host from a trusted proxy. A client that sends
 * neither is not a browser a foreign page could drive. */
static const char *post_refused(struct MHD_Connection *conn)
{
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    const char *fwd = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-Host");
    const char *auth, *end;
    size_t n;

    if (!ct || strncasecmp(ct, "application/json", 16) != 0 || (ct[16] && ct[16] != ';' && ct[16] != ' '))
        return "expected Content-Type: application/json";
    if (!origin)
        origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Referer");
    if (!origin)
        return NULL;
    if (strncasecmp(origin, "http://", 7) == 0)
        auth = origin + 7;
    else if (strncasecmp(origin, "https://", 8) == 0)
        auth = origin + 8;
    else
        return "request from a foreign origin refused";
    end = auth + strcspn(auth, "/?#");
    n = (size_t)(end - auth);
    if (host && strlen(host) == n && strncasecmp(host, auth, n) == 0)
        return NULL;
    if (fwd && http_gate_client(gate, conn, NULL, NULL) == 1 && strlen(fwd) == n && strncasecmp(fwd, auth, n) == 0)
        return NULL;
    return "request from a foreign origin refused";
}

/* ------------------------------------------------------------------ query */

struct query {
    struct alert_filter f;
    unsigned limit;
    uint64_t scan;               /* most stream entries read for one answer */
    char     before[CR_CURSOR_MAX];  /* cursor (console-redis.h): answer entries older than it */
    char     res;                /* summary: 'm' or 'h' */
    char     err[256];
    int      bad;
    int      summary;            /* accepts summary parameters */
};

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct query *q = cls;
    char *end;

    if (q->bad)
        return MHD_YES;
    if (!value)
        value = "";
    if (strcmp(key, "limit") == 0) {
        unsigned long v = strtoul(value, &end, 10);
        if (!isdigit((unsigned char)value[0]) || *end || v < 1 || v > LIST_MAX)
            goto bad_limit;
        q->limit = (unsigned)v;
    } else if (strcmp(key, "scan") == 0) {
        unsigned long long v = strtoull(value, &end, 10);
        if (!isdigit((unsigned char)value[0]) || *end || v < 1 || v > 100000000ULL) {
            snprintf(q->err, sizeof q->err, "scan: expected 1 to 100000000 entries");
            q->bad = 1;
        }
        q->scan = v;
    } else if (strcmp(key, "before") == 0) {
        if (!cr_cursor_valid(value)) {
            snprintf(q->err, sizeof q->err, "before: expected a stream id such as 1718000000000-0, "
                     "or the next of an answer");
            q->bad = 1;
        } else {
            snprintf(q->before, sizeof q->before, "%s", value);
        }
    } else if (strcmp(key, "res") == 0 && q->summary) {
        if (strcmp(value, "m") != 0 && strcmp(value, "h") != 0) {
            snprintf(q->err, sizeof q->err, "res: expected m or h");
            q->bad = 1;
        }
        q->res = value[0];
    } else {
        int r = filter_set(&q->f, key, value, q->err, sizeof q->err);
        if (r < 0)
            q->bad = 1;
        else if (r > 0) {
            snprintf(q->err, sizeof q->err, "unknown parameter '%.64s'", key);
            for (char *p = q->err; *p; p++)
                if (!isprint((unsigned char)*p))
                    *p = '?';
            q->bad = 1;
        }
    }
    return MHD_YES;
bad_limit:
    snprintf(q->err, sizeof q->err, "limit: expected 1 to %d", LIST_MAX);
    q->bad = 1;
    return MHD_YES;
}

static int query_parse(struct MHD_Connection *conn, struct query *q, int summary)
{
    memset(q, 0, sizeof *q);
    filter_init(&q->f);
    q->limit = 100;
    q->scan = 1000000;
    q->res = 0;
    q->summary = summary;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_arg, q);
    return q->bad ? -1 : 0;
}

/* ------------------------------------------------------------------ alerts */

/* The triage record of entry `id` from an HMGET reply element, or NULL. */
static json_t *triage_of(redisReply *e)
{
    if (!e || e->type != REDIS_REPLY_STRING || e->len > TRIAGE_MAX)
        return NULL;
    return json_loadb(e->str, e->len, 0, NULL);
}

static json_t *alert_entry(const char *id, const char *sensor, json_t *ev, json_t *triage)
{
    json_t *o = json_object();
    const char *st = json_string_value(json_object_get(triage, "status"));

    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "sensor", json_string(sensor ? sensor : ""));
    json_object_set_new(o, "status", json_string(st ? st : "new"));
    json_object_set_new(o, "triage", triage ? triage : json_null());
    json_object_set(o, "event", ev);
    return o;
}

/* Walks the alerts q selects in every alert shard, through the indexes
 * (console-query.c), in time order across shards when `ordered` (a list);
 * the answer's bookkeeping goes into a, the cursor of the next page into
 * *next (malloc'd; NULL at the end). Returns 0, or -1 when Redis failed
 * (a->index may be set: the caller frees it). */
static int walk(struct rcx *c, const struct query *q, int ordered, cq_visit_fn visit, void *cls,
                struct cq_answer *a, char **next)
{
    struct cq_query cq = { .f = &q->f, .before = q->before, .scan = q->scan,
                           .budget_usec = QUERY_BUDGET_USEC };
    struct cr_shards sh;
    int rc, oom = 0;

    *next = NULL;
    memset(a, 0, sizeof *a);
    if (cr_shards(c, &rk, q->f.sensor, &sh) < 0)
        return -1;
    cr_cursor_apply(&sh, q->before);
    rc = csh_walk(c, &rk, &sh, &cq, ordered, q->limit, ANSWER_MAX, visit, cls, a);
    if (rc == 0) {
        /* the shared stream alone: its stream id, as before shards */
        if (sh.n == 1 && sh.v[0].name[0] == '\0')
            oom = a->next[0] && (*next = strdup(a->next)) == NULL;
        else
            *next = cr_cursor_format(&sh, &oom);
        rc = oom ? -1 : 0;
    }
    __atomic_add_fetch(&hostile_skipped, a->skipped, __ATOMIC_RELAXED);
    cr_shards_free(&sh);
    return rc;
}

/* The fields every walked answer has: next (stolen), scanned, partial, index. */
static json_t *walk_fields(json_t *o, struct cq_answer *a, char *next)
{
    json_object_set_new(o, "next", next ? json_string(next) : json_null());
    free(next);
    json_object_set_new(o, "scanned", json_integer((json_int_t)a->scanned));
    json_object_set_new(o, "partial", json_boolean(a->partial));
    json_object_set_new(o, "index", a->index ? a->index : json_null());
    a->index = NULL;
    return o;
}

/* The list is written as text (the sensor's JSON encoder), each event as
 * the stream holds it: parsing it again into the answer would cost as much
 * as the rest of the request. */
struct list_ctx {
    struct jbuf j;
    unsigned n, limit;
    size_t bytes;                /* of events gathered (ANSWER_MAX) */
};

/* Takes ownership of triage. */
static int list_visit(void *cls, const char *id, const char *sensor, json_t *ev, const char *raw,
                      size_t rawlen, json_t *tr)
{
    struct list_ctx *l = cls;
    const char *st = json_string_value(json_object_get(tr, "status"));
    char *t = tr ? json_dumps(tr, JSON_COMPACT) : NULL;

    (void)ev;
    jbuf_open_object(&l->j, NULL);
    jbuf_str(&l->j, "id", id);
    jbuf_str(&l->j, "sensor", sensor ? sensor : "");
    jbuf_str(&l->j, "status", st ? st : "new");
    if (t)
        jbuf_raw(&l->j, "triage", t, strlen(t));
    else
        jbuf_null(&l->j, "triage");
    jbuf_raw(&l->j, "event", raw, rawlen);
    jbuf_close_object(&l->j);
    free(t);
    json_decref(tr);
    /* What Redis holds bounds nothing: the answer is bounded here. */
    l->bytes += rawlen;
    return ++l->n >= l->limit || l->bytes > ANSWER_MAX;
}

static enum MHD_Result api_alerts(struct MHD_Connection *conn, struct rcx *c)
{
    struct query q;
    struct list_ctx l;
    struct cq_answer a;
    char *next;

    if (query_parse(conn, &q, 0) < 0)
        return send_error(conn, MHD_HTTP_BAD_REQUEST, q.err);
    jbuf_init(&l.j);
    l.n = 0;
    l.bytes = 0;
    l.limit = q.limit;
    jbuf_open_object(&l.j, NULL);
    jbuf_open_array(&l.j, "alerts");
    if (walk(c, &q, 1, list_visit, &l, &a, &next) < 0) {
        jbuf_free(&l.j);
        json_decref(a.index);
        return send_error(conn, MHD_HTTP_BAD_GATEWAY, "redis: cannot read the alerts stream");
    }
    jbuf_close_array(&l.j);
    /* next, scanned, partial, index, as walk_fields() gives them */
    char *ix = a.index ? json_dumps(a.index, JSON_COMPACT) : NULL;
    json_decref(a.index);
    if (next)
        jbuf_str(&l.j, "next", next);
    else
        jbuf_null(&l.j, "next");
    free(next);
    jbuf_u64(&l.j, "scanned", a.scanned);
    jbuf_bool(&l.j, "partial", a.partial);
    if (ix)
        jbuf_raw(&l.j, "index", ix, strlen(ix));
    else
        jbuf_null(&l.j, "index");
    jbuf_close_object(&l.j);
    free(ix);
    enum MHD_Result ret = jbuf_ok(&l.j)
        ? send_buf(conn, MHD_HTTP_OK, "application/json; charset=utf-8", l.j.buf, l.j.len, NULL)
        : send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    jbuf_free(&l.j);
    return ret;
}

/* Whether two API alert ids are of one shard. */
static int same_shard(const char *a, const char *b)
{
    const char *ca = strchr(a, ':'), *cb = strchr(b, ':');
    size_t na = ca ? (size_t)(ca - a) : 0, nb = cb ? (size_t)(cb - b) : 0;

    return na == nb && strncmp(a, b, na) == 0;
}

struct group_ctx {
    json_t *groups;          /* "sid|src|dst" -> group object */
};

static int group_visit(void *cls, const char *id, const char *sensor, json_t *ev, const char *raw,
                       size_t rawlen, json_t *tr)
{
    struct group_ctx *g = cls;
    json_t *alert = json_object_get(ev, "alert");
    json_int_t sid = json_integer_value(json_object_get(alert, "signature_id"));
    const char *src = json_string_value(json_object_get(ev, "src_ip"));
    const char *dst = json_string_value(json_object_get(ev, "dest_ip"));
    const char *ts = json_string_value(json_object_get(ev, "timestamp"));
    char key[160];

    json_decref(tr);
    snprintf(key, sizeof key, "%lld|%s|%s", (long long)sid, src ? src : "", dst ? dst : "");
    json_t *o = json_object_get(g->groups, key);
    if (!o) {
        o = json_pack("{s:I,s:O,s:O,s:s?,s:s?,s:I,s:s?,s:s?,s:s,s:O}",
                      "sid", sid, "signature", json_object_get(alert, "signature"),
                      "severity", json_object_get(alert, "severity"),
                      "src_ip", src, "dest_ip", dst, "count", (json_int_t)0,
                      "first_seen", ts, "last_seen", ts, "latest_id", id,
                      "geo", json_object_get(ev, "geo") ? json_object_get(ev, "geo") : json_null());
        if (!o)
            return 0;
        json_object_set_new(g->groups, key, o);
    }
    json_object_set_new(o, "count", json_integer(json_integer_value(json_object_get(o, "count")) + 1));
    /* Newest first within a shard: each later visit of it is older (by
     * stream order, not always by capture time); another shard's is the
     * latest when its capture time is. */
    if (ts) {
        const char *first = json_string_value(json_object_get(o, "first_seen"));
        const char *lastts = json_string_value(json_object_get(o, "last_seen"));
        const char *latest = json_string_value(json_object_get(o, "latest_id"));
        if (!first || strcmp(ts, first) < 0)
            json_object_set_new(o, "first_seen", json_string(ts));
        if (!lastts || strcmp(ts, lastts) > 0) {
            json_object_set_new(o, "last_seen", json_string(ts));
            if (latest && !same_shard(latest, id))
                json_object_set_new(o, "latest_id", json_string(id));
        }
    }
    (void)sensor;
    return 0;
}

static int group_cmp(const void *a, const void *b)
{
    json_int_t ca = json_integer_value(json_object_get(*(json_t *const *)a, "count"));
    json_int_t cb = json_integer_value(json_object_get(*(json_t *const *)b, "count"));
    return ca < cb ? 1 : ca > cb ? -1 : 0;
}

/* Whether a query has no filter at all (and no cursor): what the group
 * counters answer. */
static int unfiltered(const struct query *q)
{
    const struct alert_filter *f = &q->f;

    return !f->from && !f->to && !f->nsev && !f->nsid && !f->text[0] && !f->has_src && !f->has_dst &&
           !f->has_ip && !f->country[0] && !f->scope[0] && !f->sensor[0] && !f->proto[0] &&
           !f->status[0] && !q->before[0];
}

/* Groups of every alert in the stream, from the write-time counters. */
static enum MHD_Result groups_counted(struct MHD_Connection *conn, struct rcx *c, const struct query *q)
{
    char err[128];
    uint64_t total = 0;
    struct cr_shards sh;
    json_t *arr;

    if (cr_shards(c, &rk, NULL, &sh) < 0)
        return send_error(conn, MHD_HTTP_BAD_GATEWAY, "redis: cannot read the group counters");
    arr = csh_groups(c, &rk, &sh, q->limit, &total, err, sizeof err);
    cr_shards_free(&sh);
    if (arr == NULL)
        return send_error(conn, MHD_HTTP_BAD_GATEWAY, err);
    return send_json(conn, MHD_HTTP_OK,
                     json_pack("{s:o,s:I,s:I,s:n,s:b,s:{s:s}}", "groups", arr, "total_groups",
                               (json_int_t)total, "scanned", (json_int_t)0, "next", "partial", 0,
                               "index", "driver", "group counters"), NULL);
}

static enum MHD_Result api_groups(struct MHD_Connection *conn, struct rcx *c)
{
    struct query q;
    struct group_ctx g;
    struct cq_answer a;
    const char *k;
    json_t *v, **all, *arr;
    size_t n = 0;
    char *next;

    if (query_parse(conn, &q, 0) < 0)
        return send_error(conn, MHD_HTTP_BAD_REQUEST, q.err);
    if (unfiltered(&q))
        return groups_counted(conn, c, &q);
    g.groups = json_object();
    if (walk(c, &q, 0, group_visit, &g, &a, &next) < 0) {
        json_decref(g.groups);
        json_decref(a.index);
        return send_error(conn, MHD_HTTP_BAD_GATEWAY, "redis: cannot read the alerts stream");
    }
    all = malloc((json_object_size(g.groups) + 1) * sizeof *all);
    if (!all) {
        json_decref(g.groups);
        json_decref(a.index);
        free(next);
        return MHD_NO;
    }
    json_object_foreach(g.groups, k, v)
        all[n++] = v;
    qsort(all, n, sizeof *all, group_cmp);
    arr = json_array();
    for (size_t i = 0; i < n && i < q.limit; i++)
        json_array_append(arr, all[i]);
    free(all);
    json_t *out = walk_fields(json_pack("{s:o,s:I}", "groups", arr, "total_groups", (json_int_t)n), &a, next);
    json_decref(g.groups);
    return send_json(conn, MHD_HTTP_OK, out, NULL);
}

/* The EVE flow event of flow_id from the flows stream of the alert's shard
 * when it is kept (redis.flows-stream), looking at its newest 20000
 * entries; or NULL. */
static json_t *find_flow(struct rcx *c, const struct rkeys *k, json_int_t flow_id)
{
    char key[RKEY_MAX], pat[48], start[64] = "+";
    json_t *found = NULL;

    rkey_named(key, sizeof key, k, "flows");
    snprintf(pat, sizeof pat, "\"flow_id\":%lld,", (long long)flow_id);
    for (int batch = 0; batch < 20 && !found; batch++) {
        redisReply *r = rcx_argv(c, "XREVRANGE", key, start, "-", "COUNT", "1000", NULL);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
            freeReplyObject(r);
            break;
        }
        for (size_t i = 0; i < r->elements && !found; i++) {
            const char *raw = field(r->element[i]->element[1], "event");
            if (raw && strstr(raw, pat))
                found = json_loads(raw, 0, NULL);
        }
        snprintf(start, sizeof start, "(%s", r->element[r->elements - 1]->element[0]->str);
        freeReplyObject(r);
    }
    return found;
}

static json_t *history_of(struct rcx *c, const struct alert_ref *a)
{
    char hkey[RKEY_MAX];
    json_t *arr = json_array();

    rkey_history(hkey, sizeof hkey, &a->k, a->xid);
    /* The newest HISTORY_MAX: a list of any length may be waiting there. */
    char from[16];
    snprintf(from, sizeof from, "-%d", HISTORY_MAX);
    redisReply *r = rcx_argv(c, "LRANGE", hkey, from, "-1", NULL);
    if (r && r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++) {
            json_t *h = r->element[i]->type == REDIS_REPLY_STRING && r->element[i]->len <= TRIAGE_MAX
                      ? json_loadb(r->element[i]->str, r->element[i]->len, 0, NULL) : NULL;
            if (h)
                json_array_append_new(arr, h);
        }
    freeReplyObject(r);
    return arr;
}

#define BAD_ALERT_ID "expected an alert id such as 1718000000000-0 or dc1:1718000000000-0"

static enum MHD_Result api_alert(struct MHD_Connection *conn, struct rcx *c, const char *id)
{
    char key[RKEY_MAX], tkey[RKEY_MAX];
    struct alert_ref a;
    redisReply *r, *t;

    if (alert_ref(id, &a) < 0)
        return send_error(conn, MHD_HTTP_BAD_REQUEST, BAD_ALERT_ID);
    rkey_named(key, sizeof key, &a.k, "alerts");
    rkey_named(tkey, sizeof tkey, &a.k, "triage");
    r = rcx_argv(c, "XRANGE", key, a.xid, a.xid, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return send_error(conn, MHD_HTTP_BAD_GATEWAY, "redis: cannot read the alerts stream");
    }
    if (r->elements == 0) {
        freeReplyObject(r);
        return send_error(conn, MHD_HTTP_NOT_FOUND, "no such alert (trimmed from the stream?)");
    }
    const char *raw = field(r->element[0]->element[1], "event");
    json_t *ev = raw ? json_loads(raw, 0, NULL) : NULL;
    if (!ev)
        ev = json_null();
    t = rcx_argv(c, "HGET", tkey, a.xid, NULL);
    json_t *o = alert_entry(id, field(r->element[0]->element[1], "sensor"), ev, triage_of(t));
    freeReplyObject(t);
    json_object_set_new(o, "seq", json_string(field(r->element[0]->element[1], "seq") ?
                                              field(r->element[0]->element[1], "seq") : ""));
    json_object_set_new(o, "history", history_of(c, &a));
    json_t *fid = json_object_get(ev, "flow_id");
    json_t *flow = json_is_integer(fid) ? find_flow(c, &a.k, json_integer_value(fid)) : NULL;
    json_object_set_new(o, "flow_event", flow ? flow : json_null());
    json_decref(ev);
    freeReplyObject(r);
    return send_json(conn, MHD_HTTP_OK, o, NULL);
}

static enum MHD_Result api_triage(struct MHD_Connection *conn, struct rcx *c, const char *id,
                                  const char *user, struct req *rq)
{
    char tkey[RKEY_MAX];
    json_t *b = rq->body ? json_loadb(rq->body, rq->len, 0, NULL) : NULL;
    json_t *old = NULL;
    const char *status, *assignee, *note;
    struct alert_ref a;
    redisReply *r;
    time_t now = time(NULL);

    if (alert_ref(id, &a) < 0) {
        json_decref(b);
        return send_error(conn, MHD_HTTP_BAD_REQUEST, BAD_ALERT_ID);
    }
    if (!json_is_object(b)) {
        json_decref(b);
        return send_error(conn, MHD_HTTP_BAD_REQUEST,
                          "expected a JSON object {status, assignee, note}");
    }
    status = json_string_value(json_object_get(b, "status"));
    assignee = json_string_value(json_object_get(b, "assignee"));
    note = json_string_value(json_object_get(b, "note"));
    if ((json_object_get(b, "status") && (!status || !status_valid(status))) ||
        (json_object_get(b, "assignee") && (!assignee || (assignee[0] && !user_name_valid(assignee)))) ||
        (json_object_get(b, "note") && (!note || strlen(note) > NOTE_MAX)) ||
        (!status && !assignee && !note)) {
        json_decref(b);
        return send_error(conn, MHD_HTTP_BAD_REQUEST,
                          "expected status (new, acknowledged, escalated, closed), assignee "
                          "(a user name or \"\") and/or note (up to 2000 characters)");
    }
    rkey_named(tkey, sizeof tkey, &a.k, "triage");
    r = rcx_argv(c, "HGET", tkey, a.xid, NULL);
    old = triage_of(r);
    freeReplyObject(r);
    if (!old)
        old = json_pack("{s:s,s:s}", "status", "new", "assignee", "");
    if (status)
        json_object_set_new(old, "status", json_string(status));
    if (assignee)
        json_object_set_new(old, "assignee", json_string(assignee));
    json_object_set_new(old, "by", json_string(user));
    json_object_set_new(old, "at", json_integer((json_int_t)now));
    if (note && note[0])
        json_object_set_new(old, "notes",
                            json_integer(json_integer_value(json_object_get(old, "notes")) + 1));
    json_t *h = json_pack("{s:s,s:I}", "by", user, "at", (json_int_t)now);
    if (status)
        json_object_set_new(h, "status", json_string(status));
    if (assignee)
        json_object_set_new(h, "assignee", json_string(assignee));
    if (note && note[0])
        json_object_set_new(h, "note", json_string(note));
    char *ts = json_dumps(old, JSON_COMPACT), *hs = json_dumps(h, JSON_COMPACT);
    int stored = ts && hs ? csh_triage(c, &a.k, a.xid, status, ts, hs) : -1;
    free(ts);
    free(hs);
    json_decref(h);
    json_decref(b);
    if (stored <= 0) {
        json_decref(old);
        return stored == 0 ? send_error(conn, MHD_HTTP_NOT_FOUND, "no such alert")
                           : send_error(conn, MHD_HTTP_BAD_GATEWAY, "redis: triage not stored");
    }
    return send_json(conn, MHD_HTTP_OK, json_pack("{s:s,s:o,s:o}", "id", id, "triage", old,
                                                  "history", history_of(c, &a)), NULL);
}

/* ------------------------------------------------------------------ summaries */

static enum MHD_Result api_summary(struct MHD_Connection *conn, struct rcx *c)
{
    struct query q;
    const char *scope;
    int64_t from, to, step;

    if (query_parse(conn, &q, 1) < 0)
        return send_error(conn, MHD_HTTP_BAD_REQUEST, q.err);
    if (q.f.nsev || q.f.nsid || q.f.text[0] || q.f.has_src || q.f.has_dst || q.f.has_ip ||
        q.f.country[0] || q.f.scope[0] || q.f.proto[0] || q.f.status[0])
        return send_error(conn, MHD_HTTP_BAD_REQUEST,
                          "summary takes from, to, res and sensor only");
    scope = q.f.sensor[0] ? q.f.sensor : "all";
    step = q.res == 'h' ? 3600 : 60;
    to = q.f.to ? q.f.to : cs_latest_capture(c, &rk) + 1;
    from = q.f.from ? q.f.from : to - (q.res == 'h' ? 24 * 3600 : 3600);
    from -= from % step;
    if (to <= from)
        return send_error(conn, MHD_HTTP_BAD_REQUEST, "from must be before to");
    if ((to - from) / step > BUCKETS_MAX)
        return send_error(conn, MHD_HTTP_BAD_REQUEST,
                          "at most 1440 buckets: narrow from/to or use res=h");
    if (!q.res)
        q.res = 'm';
    json_t *out = cs_summary(c, &rk, scope, q.res, from, to, cfg.home_country);
    if (out == NULL)
        return send_error(conn, MHD_HTTP_BAD_GATEWAY, "redis: cannot read the tallies");
    return send_json(conn, MHD_HTTP_OK, out, NULL);
}

static enum MHD_Result api_sensors(struct MHD_Connection *conn, struct rcx *c)
{
    json_t *out = cs_sensors(c, &rk);

    if (out == NULL)
        return send_error(conn, MHD_HTTP_BAD_GATEWAY, "redis: cannot read the sensor list");
    return send_json(conn, MHD_HTTP_OK, out, NULL);
}

/* ------------------------------------------------------------------ live */

struct sse {
    struct cr_sub *sub;          /* the channel, on some node (console-redis.h) */
    char   *pending;
    size_t  len, off;
    int     started;
};

/* Sends new alerts as "event: alert" messages from the pub/sub channel, and
 * a comment every 15 s so proxies keep the connection. */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct sse *s = cls;
    (void)pos;

    while (!stop_requested) {
        if (s->pending && s->off < s->len) {
            size_t n = s->len - s->off < max ? s->len - s->off : max;
            memcpy(buf, s->pending + s->off, n);
            s->off += n;
            return (ssize_t)n;
        }
        free(s->pending);
        s->pending = NULL;
        s->len = s->off = 0;
        if (!s->started) {
            s->started = 1;
            s->pending = strdup("retry: 3000\n: linkwatch live alerts\n\n");
            s->len = s->pending ? strlen(s->pending) : 0;
            continue;
        }
        redisReply *r = NULL;
        int got = cr_sub_next(s->sub, 15000, &r);
        if (got < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (got == 0) {
            s->pending = strdup(": keepalive\n\n");
            s->len = s->pending ? strlen(s->pending) : 0;
            continue;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            r->element[2]->type == REDIS_REPLY_STRING &&
            strcmp(r->element[0]->str, "message") == 0 && r->element[2]->len <= FIELD_MAX &&
            /* A line break of either kind would end the data line: a forged event. */
            !memchr(r->element[2]->str, '\n', r->element[2]->len) &&
            !memchr(r->element[2]->str, '\r', r->element[2]->len) &&
            strlen(r->element[2]->str) == r->element[2]->len) {
            size_t n = r->element[2]->len + 32;
            s->pending = malloc(n);
            if (s->pending)
                s->len = (size_t)snprintf(s->pending, n, "event: alert\ndata: %s\n\n", r->element[2]->str);
        }
        freeReplyObject(r);
    }
    return MHD_CONTENT_READER_END_OF_STREAM;
}

static void sse_free(void *cls)
{
    struct sse *s = cls;

    cr_sub_close(s->sub);
    free(s->pending);
    free(s);
}

static enum MHD_Result api_events(struct MHD_Connection *conn)
{
    char chan[RKEY_MAX];
    struct sse *s = calloc(1, sizeof *s);
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (!s)
        return MHD_NO;
    rkey_named(chan, sizeof chan, &rk, "channel");
    if ((s->sub = cr_sub_open(&cfg, chan)) == NULL) {
        sse_free(s);
        return send_error(conn, MHD_HTTP_BAD_GATEWAY, "redis: cannot subscribe");
    }
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8192, sse_read, s, sse_free);
    if (!resp) {
        sse_free(s);
        return MHD_NO;
    }
    security_headers(resp);
    http_gate_close_after(resp);
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ------------------------------------------------------------------ routing */

static enum MHD_Result serve_static(struct MHD_Connection *conn, const char *url)
{
    static const struct { const char *path, *type; const char *data; } files[] = {
        { "/", "text/html; charset=utf-8", web_index_html },
        { "/index.html", "text/html; charset=utf-8", web_index_html },
        { "/app.js", "text/javascript; charset=utf-8", web_app_js },
        { "/style.css", "text/css; charset=utf-8", web_style_css },
        { "/world.json", "application/json; charset=utf-8", web_world_json },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (strcmp(url, files[i].path) == 0)
            return send_buf(conn, MHD_HTTP_OK, files[i].type, files[i].data,
                            strlen(files[i].data), NULL);
    return send_error(conn, MHD_HTTP_NOT_FOUND, "not found");
}

static enum MHD_Result console_metrics(struct MHD_Connection *conn)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    enum MHD_Result ret;

    if (!out)
        return MHD_NO;
    guard_prom(out);
    users_prom(out);
    http_gate_prom(gate, "linkwatch_console", out);
    fprintf(out, "# HELP linkwatch_console_redis_skipped_total Redis entries skipped as too large to be the "
            "sensor's.\n# TYPE linkwatch_console_redis_skipped_total counter\n"
            "linkwatch_console_redis_skipped_total %llu\n",
            (unsigned long long)__atomic_load_n(&hostile_skipped, __ATOMIC_RELAXED));
    fclose(out);
    ret = send_buf(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len, NULL);
    free(text);
    return ret;
}

/* The API routes that need a login and Redis. */
static enum MHD_Result route_api(struct MHD_Connection *conn, struct rcx *c, const char *url, int get,
                                 int post, const char *user, struct req *rq)
{
    if (strcmp(url, "/api/logout") == 0 && post)
        return api_logout(conn, c, user, 0);
    if (strcmp(url, "/api/logout-all") == 0 && post)
        return api_logout(conn, c, user, 1);
    if (strcmp(url, "/api/me") == 0 && get)
        return send_json(conn, MHD_HTTP_OK, json_pack("{s:s}", "user", user), NULL);
    if (strcmp(url, "/api/alerts") == 0 && get)
        return api_alerts(conn, c);
    if (strcmp(url, "/api/groups") == 0 && get)
        return api_groups(conn, c);
    if (strcmp(url, "/api/summary") == 0 && get)
        return api_summary(conn, c);
    if (strcmp(url, "/api/sensors") == 0 && get)
        return api_sensors(conn, c);
    if (strncmp(url, "/api/alerts/", 12) == 0) {
        char id[CR_ID_MAX];
        const char *rest = url + 12, *slash = strchr(rest, '/');
        size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
        if (n >= sizeof id)              /* cut, it could name another alert */
            return send_error(conn, MHD_HTTP_BAD_REQUEST, BAD_ALERT_ID);
        memcpy(id, rest, n);
        id[n] = '\0';
        if (!slash && get)
            return api_alert(conn, c, id);
        if (slash && strcmp(slash, "/triage") == 0 && post)
            return api_triage(conn, c, id, user, rq);
    }
    return send_error(conn, MHD_HTTP_NOT_FOUND, "not found");
}

static enum MHD_Result route(struct MHD_Connection *conn, const char *url, const char *method,
                             struct req *rq)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    char user[USER_NAME_MAX + 1];
    const char *why;
    struct rcx *c;
    enum MHD_Result ret;
    unsigned retry = 0;
    enum auth a;

    if (strcmp(url, "/metrics") == 0 && get)
        return console_metrics(conn);
    if (strncmp(url, "/api/", 5) != 0) {
        if (!get)
            return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
        return serve_static(conn, url);
    }
    if (rq->too_big)
        return send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
    if (post && (why = post_refused(conn)) != NULL)
        return send_error(conn, strncmp(why, "expected", 8) == 0 ? MHD_HTTP_UNSUPPORTED_MEDIA_TYPE
                                                                 : MHD_HTTP_FORBIDDEN, why);
    if (strcmp(url, "/api/events") == 0 && get) {
        /* SSE keeps its own connection: the login is checked on a short one. */
        if (!(c = connect_redis()))
            return send_error(conn, MHD_HTTP_BAD_GATEWAY, "redis: cannot connect");
        a = authenticate(conn, c, user, &retry);
        rcx_free(c);
        if (a != AUTH_OK)
            return a == AUTH_THROTTLED ? send_throttled(conn, retry) : a == AUTH_REDIS
                   ? send_error(conn, MHD_HTTP_BAD_GATEWAY, "redis: cannot check the session")
                   : send_error(conn, MHD_HTTP_UNAUTHORIZED, "login required");
        return api_events(conn);
    }
    if (!(c = connect_redis()))
        return send_error(conn, MHD_HTTP_BAD_GATEWAY, "redis: cannot connect");
    if (strcmp(url, "/api/login") == 0 && post) {
        ret = api_login(conn, c, rq);
    } else if ((a = authenticate(conn, c, user, &retry)) != AUTH_OK) {
        ret = a == AUTH_THROTTLED ? send_throttled(conn, retry) : a == AUTH_REDIS
              ? send_error(conn, MHD_HTTP_BAD_GATEWAY, "redis: cannot check the session")
              : send_error(conn, MHD_HTTP_UNAUTHORIZED, "login required");
    } else {
        ret = route_api(conn, c, url, get, post, user, rq);
    }
    rcx_free(c);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    struct req *rq = *con_cls;

    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        if (rq->len + *upload_size > BODY_MAX) {
            rq->too_big = 1;
        } else {
            char *nb = realloc(rq->body, rq->len + *upload_size + 1);
            if (!nb)
                return MHD_NO;
            rq->body = nb;
            memcpy(rq->body + rq->len, upload, *upload_size);
            rq->len += *upload_size;
            rq->body[rq->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return route(conn, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;

    if (rq) {
        if (rq->body)
            explicit_bzero(rq->body, rq->len);
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

/* ------------------------------------------------------------------ main */

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: linkwatch-console [-c linkwatch.yaml] [--set key.path=value ...]\n"
"       linkwatch-console [-c linkwatch.yaml] --add-user NAME   (password on stdin)\n"
"       linkwatch-console [-c linkwatch.yaml] --reindex         (rebuild the alert indexes)\n"
"       linkwatch-console [-c linkwatch.yaml] --remove-user NAME   (its sessions end too)\n"
"Serves the SOC console on console.listen over the Redis of the redis: keys.\n");
}

/* The group the users file is given to: console.user's, when root writes
 * it for a console that will run as that user; else -1 (0600, root's). */
static long users_group(void)
{
    uid_t uid;
    gid_t gid;

    if (geteuid() != 0 || !cfg.console.user[0] || lw_lookup_user(cfg.console.user, &uid, &gid) < 0)
        return -1;
    return (long)gid;
}

static int add_user(const char *name)
{
    char pw[1024], err[512];
    int rc;

    if (isatty(STDIN_FILENO))
        fprintf(stderr, "password for %s: ", name);
    if (!fgets(pw, sizeof pw, stdin)) {
        fprintf(stderr, "linkwatch-console: error: no password on stdin\n");
        return 1;
    }
    pw[strcspn(pw, "\r\n")] = '\0';
    rc = users_add(cfg.console.users_file, name, pw, users_group(), err, sizeof err);
    explicit_bzero(pw, sizeof pw);
    if (rc < 0) {
        fprintf(stderr, "linkwatch-console: error: %s\n", err);
        return 1;
    }
    fprintf(stderr, "linkwatch-console: user %s saved in %s (yescrypt)\n", name, cfg.console.users_file);
    return 0;
}

/* --reindex: rebuilds the alert indexes of every alert shard from its
 * stream (alert-maint.c), for alerts written before the sensors kept them. */
static int reindex(void)
{
    struct aix_reindex_stats st, sum = { 0 };
    struct cr_shards sh;
    struct rcx *c;
    uint64_t t0 = lw_now_mono_usec();
    char err[512] = "";
    int rc = 0;

    /* a big stream takes a while: no command timeout */
    cfg.redis.command_timeout = 0;
    if ((c = rcx_connect(&cfg, err, sizeof err)) == NULL) {
        fprintf(stderr, "linkwatch-console: error: redis: cannot connect: %s\n", err);
        return 1;
    }
    if (cr_shards(c, &rk, NULL, &sh) < 0) {
        fprintf(stderr, "linkwatch-console: error: reindex: cannot read the alert shards: %s\n",
                rcx_errstr(c)[0] ? rcx_errstr(c) : "redis failed");
        rcx_free(c);
        return 1;
    }
    for (size_t i = 0; i < sh.n; i++) {
        struct rkeys k = cr_shard_keys(&rk, sh.v[i].name);
        uint64_t t1 = lw_now_mono_usec();
        const char *name = sh.v[i].name[0] ? sh.v[i].name : "(shared)";

        memset(&st, 0, sizeof st);
        if (aix_reindex(c, &k, &st, err, sizeof err) < 0) {
            fprintf(stderr, "linkwatch-console: error: reindex %s: %s\n", name, err);
            rc = 1;
            continue;                    /* the other shards are still rebuilt */
        }
        if (sh.n > 1)
            fprintf(stderr, "linkwatch-console: shard %s: %llu alerts in %.2f s\n", name,
                    (unsigned long long)st.entries, (double)(lw_now_mono_usec() - t1) / 1e6);
        sum.entries += st.entries;
        sum.keys_deleted += st.keys_deleted;
        sum.batches += st.batches;
    }
    if (rc == 0)
        fprintf(stderr, "linkwatch-console: reindexed %llu alerts in %.2f s (%llu index keys deleted first, "
                "%llu batches%s)\n", (unsigned long long)sum.entries, (double)(lw_now_mono_usec() - t0) / 1e6,
                (unsigned long long)sum.keys_deleted, (unsigned long long)sum.batches,
                sh.n > 1 ? ", every shard" : "");
    cr_shards_free(&sh);
    rcx_free(c);
    return rc;
}

/* Removes the user; its sessions would be refused anyway (its fingerprint
 * is gone), and are ended in Redis when it can be reached. */
static int remove_user(const char *name)
{
    char err[512];
    int rc = users_remove(cfg.console.users_file, name, users_group(), err, sizeof err);
    struct rcx *c;
    long n;

    if (rc < 0) {
        fprintf(stderr, "linkwatch-console: error: %s\n", err);
        return 1;
    }
    if (rc > 0) {
        fprintf(stderr, "linkwatch-console: error: no user %s in %s\n", name, cfg.console.users_file);
        return 1;
    }
    n = (c = connect_redis()) ? session_delete_user(c, &slim, name) : -1;
    rcx_free(c);
    fprintf(stderr, "linkwatch-console: user %s removed from %s; %s\n", name, cfg.console.users_file,
            n >= 0 ? "its sessions ended" : "Redis not reached: its sessions end at their next request");
    return 0;
}

/* Started as root: becomes console.user (and its group) now that the port
 * is bound; nothing it does later needs root. Returns 0 or -1 with err. */
static int drop_root(char *err, size_t errlen)
{
    struct privileges p;

    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (geteuid() != 0)
        return 0;
    if (!cfg.console.user[0]) {
        fprintf(stderr, "linkwatch-console: warning: console.user is empty: running as root\n");
        return 0;
    }
    memset(&p, 0, sizeof p);
    if (lw_lookup_user(cfg.console.user, &p.uid, &p.gid) < 0 || p.uid == 0) {
        snprintf(err, errlen, "console.user: %s: no such user, or root", cfg.console.user);
        return -1;
    }
    p.drop = 1;
    p.user = cfg.console.user;
    return privileges_drop(&p, err, errlen);
}

/* Warns when the users file can be read by anyone: its hashes can be
 * guessed at offline. */
static void check_users_file(void)
{
    struct stat st;

    if (stat(cfg.console.users_file, &st) < 0)
        fprintf(stderr, "linkwatch-console: warning: %s: %s: nobody can log in "
                "(add a user with --add-user NAME)\n", cfg.console.users_file, strerror(errno));
    else if (st.st_mode & S_IROTH)
        fprintf(stderr, "linkwatch-console: warning: %s is readable by others (mode %04o): chmod o-r\n",
                cfg.console.users_file, (unsigned)(st.st_mode & 07777));
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "set", required_argument, NULL, 's' },
        { "add-user", required_argument, NULL, 'a' },
        { "reindex", no_argument, NULL, 'x' },
        { "remove-user", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *config_path = NULL, *new_user = NULL, *old_user = NULL;
    int reindex_wanted = 0;
    char **sets = calloc((size_t)argc + 1, sizeof *sets), err[1024];
    size_t nsets = 0, ntrusted = 0;
    struct http_gate_config gc = console_gate_defaults;
    struct lw_cidr *trusted = NULL;
    struct MHD_Daemon *d;
    int ch;

    if (!sets)
        return 1;
    while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': config_path = optarg; break;
        case 's':
            if (!strchr(optarg, '=')) {
                fprintf(stderr, "linkwatch-console: error: --set %s: expected key.path=value\n", optarg);
                return 1;
            }
            sets[nsets++] = optarg;
            break;
        case 'a': new_user = optarg; break;
        case 'x': reindex_wanted = 1; break;
        case 'r': old_user = optarg; break;
        case 'h': usage(stdout); free(sets); return 0;
        default: usage(stderr); free(sets); return 1;
        }
    }
    if (optind < argc) {
        usage(stderr);
        free(sets);
        return 1;
    }
    if (config_load(&cfg, config_path, sets, nsets, err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch-console: error: %s\n", err);
        free(sets);
        return 1;
    }
    free(sets);
    rk = (struct rkeys){ .prefix = cfg.redis.prefix };
    slim = (struct session_limits){ cfg.redis.prefix, cfg.console.session_idle, SESSION_TTL,
                                    cfg.console.sessions_per_user };
    if (reindex_wanted) {
        int rc = reindex();
        config_free(&cfg);
        return rc;
    }
    if (new_user || old_user) {
        int rc = new_user ? add_user(new_user) : remove_user(old_user);
        config_free(&cfg);
        return rc;
    }
    if (http_gate_parse_cidrs(cfg.console.trusted_proxies, &trusted, &ntrusted, err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch-console: error: console.trusted-proxies: %s\n", err);
        config_free(&cfg);
        return 1;
    }
    gc.trusted = trusted;
    gc.ntrusted = ntrusted;
    if (users_init() < 0) {
        fprintf(stderr, "linkwatch-console: error: crypt: yescrypt not available\n");
        config_free(&cfg);
        return 1;
    }
    /* A yescrypt run maps ~15 MB and frees it: keep such blocks mapped
     * apart (returned at free) and the arenas few, so RSS stays bounded. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_ARENA_MAX, 2);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (!(gate = http_gate_new(cfg.console.listen, &gc, err, sizeof err))) {
        fprintf(stderr, "linkwatch-console: error: console.listen: %s\n", err);
        free(trusted);
        config_free(&cfg);
        return 1;
    }
    if (drop_root(err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch-console: error: %s\n", err);
        http_gate_free(gate);
        free(trusted);
        config_free(&cfg);
        return 1;
    }
    check_users_file();
    d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC | MHD_USE_ERROR_LOG,
                         0, NULL, NULL, on_request, NULL,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                         MHD_OPTION_NOTIFY_CONNECTION, http_gate_notify, gate,
                         MHD_OPTION_CONNECTION_LIMIT, gc.max_conns,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                         MHD_OPTION_END);
    if (!d || http_gate_start(gate, d, err, sizeof err) < 0) {
        fprintf(stderr, "linkwatch-console: error: cannot serve on %s: %s\n", cfg.console.listen,
                d ? err : "the HTTP server did not start");
        if (d)
            MHD_stop_daemon(d);
        http_gate_free(gate);
        free(trusted);
        config_free(&cfg);
        return 1;
    }
    fprintf(stderr, "linkwatch-console: listening on http://%s/ (redis %s:%u, prefix %s)\n",
            cfg.console.listen, cfg.redis.server, cfg.redis.port, cfg.redis.prefix);
    while (!stop_requested)
        pause();
    http_gate_stop(gate);
    MHD_stop_daemon(d);
    http_gate_free(gate);
    free(trusted);
    config_free(&cfg);
    return 0;
}
