/* console-summary.c - the summary and sensor answers of linkwatch-console,
 * read from the sensors' tallies and status hashes (docs/redis.md); see
 * console-summary.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console-summary.h"


static void add_num(json_t *obj, const char *k, double v)
{
    json_t *o = json_object_get(obj, k);
    json_object_set_new(obj, k, json_real((o ? json_number_value(o) : 0) + v));
}

/* Adds a HGETALL or WITHSCORES reply's member -> number pairs into obj;
 * returns the sum. */
static double add_pairs(json_t *obj, redisReply *r)
{
    double sum = 0;

    if (!r || r->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        if (r->element[i]->type != REDIS_REPLY_STRING || r->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        double v = strtod(r->element[i + 1]->str, NULL);
        if (obj)
            add_num(obj, r->element[i]->str, v);
        sum += v;
    }
    return sum;
}

int64_t cs_latest_capture(struct rcx *c, const struct rkeys *rk)
{
    char key[160];
    int64_t best = 0;

    rkey_named(key, sizeof key, rk, "sensors");
    const char *zr[] = { "ZRANGE", key, "0", "-1" };
    redisReply *r = rcx_command(c, 4, zr, NULL);
    if (r && r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++) {
            char skey[160];
            rkey_sensor(skey, sizeof skey, rk, r->element[i]->str);
            const char *hg[] = { "HGET", skey, "capture_ts" };
            redisReply *h = rcx_command(c, 3, hg, NULL);
            if (h && h->type == REDIS_REPLY_STRING && atoll(h->str) > best)
                best = atoll(h->str);
            freeReplyObject(h);
        }
    freeReplyObject(r);
    return best ? best : (int64_t)time(NULL);
}

static json_t *sorted_pairs(json_t *obj, size_t top)
{
    const char *k;
    json_t *v, *arr = json_array();
    size_t n = json_object_size(obj), m = 0;
    struct kv { const char *k; double v; } *a = malloc((n + 1) * sizeof *a);

    if (!a)
        return arr;
    json_object_foreach(obj, k, v) {
        a[m].k = k;
        a[m++].v = json_number_value(v);
    }
    for (size_t i = 0; i < m && i < top; i++) {
        size_t best = i;
        for (size_t j = i + 1; j < m; j++)
            if (a[j].v > a[best].v)
                best = j;
        struct kv tmp = a[i]; a[i] = a[best]; a[best] = tmp;
        json_array_append_new(arr, json_pack("{s:s,s:f}", "name", a[i].k, "value", a[i].v));
    }
    free(a);
    return arr;
}

/* The metrics of the pii family (docs/redis.md), in the answer's order; the
 * first PII_KINDS are occurrences of a type, summed in "total", the last is
 * the bodies that held any. */
static const char *const pii_metrics[] = { "cn-id", "bank-card", "cn-mobile", "email", "passport-cn", "bodies" };
#define PII_TYPES (sizeof pii_metrics / sizeof pii_metrics[0])
#define PII_KINDS (PII_TYPES - 1)

/* Splits a tally member "<from>><to>" into its two country codes (each at
 * most 7 bytes, as the cc family writes them); 0 when it is not one. */
static int country_pair(const char *member, char *from, char *to)
{
    const char *gt = strchr(member, '>');

    if (!gt || gt == member || gt - member > 7 || strchr(gt + 1, '>') || !gt[1] || strlen(gt + 1) > 7)
        return 0;
    memcpy(from, member, (size_t)(gt - member));
    from[gt - member] = '\0';
    strcpy(to, gt + 1);
    return 1;
}

static int by_total(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    double tx = json_number_value(json_object_get(x, "total"));
    double ty = json_number_value(json_object_get(y, "total"));

    if (tx != ty)
        return tx < ty ? 1 : -1;
    return strcmp(json_string_value(json_object_get(x, "country")),
                  json_string_value(json_object_get(y, "country")));
}

/* Personal data sent abroad: of the pii hashes' members (pii[t] the sums
 * of metric pii_metrics[t]), those from home to another country, per
 * destination: [{country, <metric>: count..., total}], the largest total
 * first (ties by country code). */
static json_t *pii_abroad(json_t *const pii[], const char *home)
{
    json_t *per = json_object(), *arr = json_array();
    const char *k;
    json_t *v;

    for (size_t t = 0; t < PII_TYPES; t++)
        json_object_foreach(pii[t], k, v) {
            char from[8], to[8];
            if (!country_pair(k, from, to) || strcmp(from, home) != 0 || strcmp(to, home) == 0)
                continue;
            json_t *o = json_object_get(per, to);
            if (!o) {
                o = json_pack("{s:s,s:f}", "country", to, "total", 0.0);
                for (size_t i = 0; i < PII_TYPES; i++)
                    add_num(o, pii_metrics[i], 0);
                json_object_set_new(per, to, o);
            }
            add_num(o, pii_metrics[t], json_number_value(v));
            if (t < PII_KINDS)
                add_num(o, "total", json_number_value(v));
        }
    size_t n = json_object_size(per), m = 0;
    json_t **a = malloc((n + 1) * sizeof *a);
    if (a) {
        json_object_foreach(per, k, v)
            a[m++] = v;
        qsort(a, m, sizeof *a, by_total);
        for (size_t i = 0; i < m; i++)
            json_array_append(arr, a[i]);
    }
    free(a);
    json_decref(per);
    return arr;
}

json_t *cs_summary(struct rcx *c, const struct rkeys *rk, const char *scope, char res, int64_t from,
                   int64_t to, const char *home_country)
{
    /* family and metric read per bucket: hashes whole, the sorted sets'
     * twenty largest members; targets[] below takes the replies in this order */
    static const struct { const char *family, *metric; int top; } fams[] = {
        { "app", "bytes", 0 }, { "l4", "bytes", 0 }, { "cc", "bytes", 0 }, { "cc", "flows", 0 },
        { "dir", "bytes", 0 }, { "alerts", "severity", 0 }, { "alerts", "sid", 0 },
        /* pii: in pii_metrics' order */
        { "pii", "cn-id", 0 }, { "pii", "bank-card", 0 }, { "pii", "cn-mobile", 0 },
        { "pii", "email", 0 }, { "pii", "passport-cn", 0 }, { "pii", "bodies", 0 },
        { "src", "bytes", 1 }, { "dst", "bytes", 1 },
        { "http_host", NULL, 1 }, { "dns_query", NULL, 1 }, { "tls_sni", NULL, 1 } };
    int64_t step = res == 'h' ? 3600 : 60;

    json_t *app = json_object(), *l4 = json_object(), *cc = json_object(), *ccf = json_object(),
           *dir = json_object(), *sev = json_object(), *sid = json_object(),
           *src = json_object(), *dst = json_object(), *hosts = json_object(), *queries = json_object(),
           *snis = json_object(), *series = json_array();
    json_t *pii[PII_TYPES];
    for (size_t t = 0; t < PII_TYPES; t++)
        pii[t] = json_object();
    size_t nb = (size_t)((to - from + step - 1) / step);
    for (size_t b = 0; b < nb; b++) {
        int64_t start = from + (int64_t)b * step;
        char key[RKEY_MAX];
        for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++) {
            rkey_bucket(key, sizeof key, rk, scope, res, (uint64_t)start, fams[i].family, fams[i].metric);
            const char *hash[] = { "HGETALL", key };
            const char *top[] = { "ZREVRANGE", key, "0", "19", "WITHSCORES" };
            if (fams[i].top)
                rcx_append(c, 5, top, NULL);
            else
                rcx_append(c, 2, hash, NULL);
        }
    }
    json_t *targets[] = { app, l4, cc, ccf, dir, sev, sid, pii[0], pii[1], pii[2], pii[3], pii[4], pii[5],
                          src, dst, hosts, queries, snis };
    int err = 0;
    for (size_t b = 0; b < nb; b++) {
        double bytes = 0, alerts = 0;
        /* the charts': alerts by severity and bytes by scope, per bucket */
        json_t *bsev = json_object(), *bscope = json_object();
        for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
            redisReply *r = NULL;
            if (rcx_get_reply(c, &r) != REDIS_OK || !r) {
                err = 1;
                break;
            }
            double s = add_pairs(targets[i], r);
            if (i == 0)
                bytes = s;
            if (i == 4)
                add_pairs(bscope, r);
            if (i == 5) {
                alerts = s;
                add_pairs(bsev, r);
            }
            freeReplyObject(r);
        }
        if (!err && (bytes || alerts))
            json_array_append_new(series, json_pack("{s:I,s:f,s:f,s:O,s:O}",
                                                    "t", (json_int_t)(from + (int64_t)b * step),
                                                    "bytes", bytes, "alerts", alerts,
                                                    "alerts_by_severity", bsev, "bytes_by_scope", bscope));
        json_decref(bsev);
        json_decref(bscope);
        if (err)
            break;
    }
    /* Cross-border by country: pairs "A>B" where one end is abroad. */
    json_t *countries = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(cc, k, v) {
        char a[8], b2[8];
        if (!country_pair(k, a, b2) || strcmp(a, b2) == 0)
            continue;
        double val = json_number_value(v);
        double fl = json_number_value(json_object_get(ccf, k));
        const char *home = home_country;
        const char *abroad = strcmp(a, home) == 0 ? b2 : a;
        const char *dirn = strcmp(a, home) == 0 ? "out_bytes" : strcmp(b2, home) == 0 ? "in_bytes" : "transit_bytes";
        json_t *o = json_object_get(countries, abroad);
        if (!o) {
            o = json_pack("{s:s,s:f,s:f,s:f,s:f}", "country", abroad, "out_bytes", 0.0,
                          "in_bytes", 0.0, "transit_bytes", 0.0, "flows", 0.0);
            json_object_set_new(countries, abroad, o);
        }
        add_num(o, dirn, val);
        add_num(o, "flows", fl);
    }
    json_t *out = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
        "scope", scope, "res", res == 'h' ? "h" : "m", "step", (json_int_t)step,
        "from", (json_int_t)from, "to", (json_int_t)to,
        "home_country", home_country,
        "protocols", sorted_pairs(app, 20), "services", sorted_pairs(l4, 20),
        "top_src", sorted_pairs(src, 10), "top_dst", sorted_pairs(dst, 10),
        "country_pairs", sorted_pairs(cc, 50), "scopes", sorted_pairs(dir, 10),
        "alerts_by_severity", sorted_pairs(sev, 10), "alerts_by_sid", sorted_pairs(sid, 20),
        "countries", countries, "pii_abroad", pii_abroad(pii, home_country), "series", series,
        "http_hosts", sorted_pairs(hosts, 10), "dns_queries", sorted_pairs(queries, 10),
        "tls_snis", sorted_pairs(snis, 10));
    json_decref(app); json_decref(l4); json_decref(cc); json_decref(ccf); json_decref(dir);
    json_decref(sev); json_decref(sid); json_decref(src); json_decref(dst);
    json_decref(hosts); json_decref(queries); json_decref(snis);
    for (size_t t = 0; t < PII_TYPES; t++)
        json_decref(pii[t]);
    if (err) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *cs_sensors(struct rcx *c, const struct rkeys *rk)
{
    char key[160];
    json_t *arr = json_array();
    time_t now = time(NULL);

    rkey_named(key, sizeof key, rk, "sensors");
    const char *zr[] = { "ZRANGE", key, "0", "-1", "WITHSCORES" };
    redisReply *r = rcx_command(c, 5, zr, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        json_decref(arr);
        return NULL;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        char skey[160];
        json_t *o = json_object();
        rkey_sensor(skey, sizeof skey, rk, r->element[i]->str);
        const char *hga[] = { "HGETALL", skey };
        redisReply *h = rcx_command(c, 2, hga, NULL);
        if (h && h->type == REDIS_REPLY_ARRAY)
            for (size_t j = 0; j + 1 < h->elements; j += 2) {
                const char *s = h->element[j + 1]->str;
                char *end;
                long long n = strtoll(s, &end, 10);
                json_object_set_new(o, h->element[j]->str,
                                    *s && !*end ? json_integer(n) : json_string(s));
            }
        freeReplyObject(h);
        long long seen = atoll(r->element[i + 1]->str);
        json_object_set_new(o, "id", json_string(r->element[i]->str));
        json_object_set_new(o, "last_flush", json_integer(seen));
        json_object_set_new(o, "stale", json_boolean(now - seen > 120));
        json_array_append_new(arr, o);
    }
    freeReplyObject(r);
    return json_pack("{s:o}", "sensors", arr);
}
