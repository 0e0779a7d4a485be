/* test_geo.c - geolocation: internal ranges, lookups in MMDB files this test
 * writes itself (IPv4 and IPv6, MaxMind and ip-location-db field names,
 * several databases), the cache, scopes, reload, the summary numbers, the
 * geo block of events, and the geoip rule keyword on geolocated flows. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "detect.h"
#include "ruletest.h"
#include "eve.h"
#include "geo.h"
#include "pii.h"
#include "json.h"
#include "mmdbwrite.h"
#include "rule-parse.h"
#include "util.h"

static char tmpdir[64];
static char path_city[128], path_asn[128], path_flat[128], path_alt[128];

#define T0 1700000040000000ull      /* capture time, a multiple of 60 s */

/* ---------------------------------------------------------------- fixtures */

static void write_db(const char *path, const char *type, const char *const *lines)
{
    struct mmdbw *w = mmdbw_new(type);

    assert_non_null(w);
    for (size_t i = 0; lines[i]; i += 2)
        if (mmdbw_insert(w, lines[i], lines[i + 1]) < 0)
            fail_msg("mmdbw_insert %s %s", lines[i], lines[i + 1]);
    assert_int_equal(mmdbw_write(w, path), 0);
    mmdbw_free(w);
}

/* A GeoIP2-City-like database, a GeoLite2-ASN-like one, an ip-location-db
 * one with flat fields, and a replacement for the reload test. */
static int setup_dbs(void **state)
{
    static const char *const city[] = {
        "11.0.0.0/8", "country.iso_code=US registered_country.iso_code=US city.names.en=\"Mountain View\" "
                      "location.latitude=37.386 location.longitude=-122.0838",
        "11.1.0.0/16", "country.iso_code=GB",
        "36.0.0.0/8", "country.iso_code=CN city.names.en=Hangzhou location.latitude=30.25 location.longitude=120.1667",
        "41.0.0.0/8", "registered_country.iso_code=ZA",
        "43.0.0.0/8", "country.iso_code=jp",
        "2a00:1450::/32", "country.iso_code=DE city.names.en=Berlin location.latitude=52.52 location.longitude=13.405",
        "240e::/20", "country.iso_code=CN",
        NULL,
    };
    static const char *const asn[] = {
        "11.0.0.0/8", "autonomous_system_number=15169 autonomous_system_organization=\"Google LLC\"",
        "36.0.0.0/8", "autonomous_system_number=4134 autonomous_system_organization=CHINANET",
        "2a00:1450::/32", "autonomous_system_number=15169 autonomous_system_organization=\"Google LLC\"",
        "45.0.0.0/8", "autonomous_system_number=16276 autonomous_system_organization=OVH",
        NULL,
    };
    static const char *const flat[] = {
        "45.0.0.0/8", "country_code=FR city=Paris latitude=48.8566 longitude=2.3522",
        "2001:41d0::/32", "country_code=FR",
        NULL,
    };
    static const char *const alt[] = {
        "11.0.0.0/8", "country.iso_code=CA city.names.en=Toronto location.latitude=43.7 location.longitude=-79.42",
        NULL,
    };

    strcpy(tmpdir, "/tmp/lwgeo-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(path_city, sizeof path_city, "%s/city.mmdb", tmpdir);
    snprintf(path_asn, sizeof path_asn, "%s/asn.mmdb", tmpdir);
    snprintf(path_flat, sizeof path_flat, "%s/flat.mmdb", tmpdir);
    snprintf(path_alt, sizeof path_alt, "%s/alt.mmdb", tmpdir);
    write_db(path_city, "GeoIP2-City", city);
    write_db(path_asn, "GeoLite2-ASN", asn);
    write_db(path_flat, "ip-location-db", flat);
    write_db(path_alt, "GeoIP2-City", alt);
    return 0;
}

static int teardown_dbs(void **state)
{
    unlink(path_city);
    unlink(path_asn);
    unlink(path_flat);
    unlink(path_alt);
    rmdir(tmpdir);
    return 0;
}

struct env {
    struct lw_config cfg;
    struct geo *g;
    struct geo_thread *t;
};

/* A geo over the databases (count 0..3 of city, asn, flat), with extra
 * --set overrides. */
static void env_open(struct env *e, size_t ndb, const char *const *sets, size_t nsets)
{
    const char *paths[] = { path_city, path_asn, path_flat };
    char *all[16];
    char err[512];
    size_t n = 0;

    all[n++] = "home-net=[10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 11.2.0.0/16, 2a00:1450:4001::/48]";
    for (size_t i = 0; i < nsets; i++)
        all[n++] = (char *)sets[i];
    if (config_load(&e->cfg, NULL, all, n, err, sizeof err) < 0)
        fail_msg("config_load: %s", err);
    e->g = geo_open(&e->cfg, paths, ndb, err, sizeof err);
    if (e->g == NULL)
        fail_msg("geo_open: %s", err);
    e->t = geo_thread_new(e->g, 0);
    assert_non_null(e->t);
    geo_thread_quiescent(e->t);
}

static void env_close(struct env *e)
{
    geo_thread_free(e->t);
    geo_close(e->g);
    config_free(&e->cfg);
}

static struct lw_addr A(const char *s)
{
    struct lw_addr a;

    if (lw_addr_parse(s, &a) < 0)
        fail_msg("bad address %s", s);
    return a;
}

static void mkflow(struct flow *f, const char *src, const char *dst)
{
    memset(f, 0, sizeof *f);
    f->key.src = A(src);
    f->key.dst = A(dst);
    f->key.sport = 40000;
    f->key.dport = 443;
    f->key.proto = 6;
    f->tcp_state = FLOW_TCP_ESTABLISHED;
    f->flags = FLOW_F_TOCLIENT_SEEN;
}

/* Packet of f in direction dir (0: from the initiator). */
static void mkpkt(struct packet *p, struct flow *f, int dir, uint32_t wirelen, uint64_t ts)
{
    memset(p, 0, sizeof *p);
    p->src = dir ? f->key.dst : f->key.src;
    p->dst = dir ? f->key.src : f->key.dst;
    p->sport = dir ? f->key.dport : f->key.sport;
    p->dport = dir ? f->key.sport : f->key.dport;
    p->proto = f->key.proto;
    p->ip_version = p->src.family;
    p->flags = PKT_F_HAS_PORTS;
    p->tcp_flags = TH_ACK;
    p->wirelen = wirelen;
    p->ts = ts;
    p->flow = f;
    p->dir = (uint8_t)dir;
}

/* ---------------------------------------------------------------- lookups */

static void test_internal_ranges(void **state)
{
    static const char *const internal[] = {
        "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "127.0.0.1", "169.254.1.1",
        "100.64.0.1", "100.127.255.255", "192.0.2.5", "198.51.100.7", "203.0.113.9", "192.0.0.8",
        "198.18.0.1", "198.19.255.1", "224.0.0.251", "239.1.1.1", "255.255.255.255", "0.0.0.0",
        "::1", "::", "fe80::1", "fd00::1", "fc00::2", "2001:db8::1", "ff02::1", "3fff::1",
        "100::1", "::ffff:10.0.0.1", "::ffff:11.2.0.1",
        "11.2.3.4", "2a00:1450:4001::5",            /* home-net */
    };
    static const char *const external[] = {
        "100.128.0.1", "100.63.255.255", "172.32.0.1", "172.15.0.1", "192.169.0.1", "198.20.0.1",
        "11.3.0.1", "223.255.255.255", "2a00:1450:4002::5", "2001:db9::1", "8.8.8.8",
    };
    struct env e;
    struct geo_ep ep;

    env_open(&e, 3, NULL, 0);
    for (size_t i = 0; i < sizeof internal / sizeof internal[0]; i++) {
        struct lw_addr a = A(internal[i]);
        geo_lookup(e.t, &a, &ep);
        if (!(ep.flags & GEO_EP_INTERNAL) || !(ep.flags & GEO_EP_HOME) || strcmp(ep.cc, "CN") != 0)
            fail_msg("%s should be internal (in CN)", internal[i]);
    }
    assert_int_equal(geo_thread_stats(e.t)->lookups, 0);   /* never looked up */
    assert_int_equal(geo_thread_stats(e.t)->internal, sizeof internal / sizeof internal[0]);
    for (size_t i = 0; i < sizeof external / sizeof external[0]; i++) {
        struct lw_addr a = A(external[i]);
        geo_lookup(e.t, &a, &ep);
        if (ep.flags & GEO_EP_INTERNAL)
            fail_msg("%s should not be internal", external[i]);
    }
    assert_int_equal(geo_thread_stats(e.t)->lookups, sizeof external / sizeof external[0]);
    env_close(&e);
}

static void expect_ep(struct env *e, const char *addr, const char *cc, uint32_t asn,
                      const char *org, const char *city, double lat, double lon)
{
    struct lw_addr a = A(addr);
    struct geo_ep ep;
    struct geo_detail d;

    geo_lookup(e->t, &a, &ep);
    if (strcmp(ep.cc, cc) != 0)
        fail_msg("%s: country '%s', want '%s'", addr, ep.cc, cc);
    if (ep.asn != asn)
        fail_msg("%s: asn %u, want %u", addr, ep.asn, asn);
    geo_ep_detail(e->t, &ep, &a, geo_thread_epoch(e->t), &d);
    if (org == NULL)
        assert_null(d.org.s);
    else if (d.org.s == NULL || d.org.n != strlen(org) || memcmp(d.org.s, org, d.org.n) != 0)
        fail_msg("%s: org '%.*s', want '%s'", addr, (int)d.org.n, d.org.s ? d.org.s : "", org);
    if (city == NULL)
        assert_null(d.city.s);
    else if (d.city.s == NULL || d.city.n != strlen(city) || memcmp(d.city.s, city, d.city.n) != 0)
        fail_msg("%s: city '%.*s', want '%s'", addr, (int)d.city.n, d.city.s ? d.city.s : "", city);
    if (city) {
        assert_true(d.has_loc);
        assert_true(d.lat == lat && d.lon == lon);
    }
}

static void test_lookup_v4_v6(void **state)
{
    struct env e;

    env_open(&e, 3, NULL, 0);
    assert_int_equal(geo_database_count(e.g), 3);
    /* country + city from the first database, ASN + org from the second */
    expect_ep(&e, "11.3.0.1", "US", 15169, "Google LLC", "Mountain View", 37.386, -122.0838);
    /* a narrower network of the first database: its country, no city */
    expect_ep(&e, "11.1.2.3", "GB", 15169, "Google LLC", NULL, 0, 0);
    expect_ep(&e, "36.1.1.1", "CN", 4134, "CHINANET", "Hangzhou", 30.25, 120.1667);
    expect_ep(&e, "2a00:1450:1::1", "DE", 15169, "Google LLC", "Berlin", 52.52, 13.405);
    expect_ep(&e, "240e:1::1", "CN", 0, NULL, NULL, 0, 0);
    /* registered_country when there is no country; lower case made upper */
    expect_ep(&e, "41.1.1.1", "ZA", 0, NULL, NULL, 0, 0);
    expect_ep(&e, "43.1.1.1", "JP", 0, NULL, NULL, 0, 0);
    /* ip-location-db's flat country_code / city / latitude in the third */
    expect_ep(&e, "45.1.1.1", "FR", 16276, "OVH", "Paris", 48.8566, 2.3522);
    expect_ep(&e, "2001:41d0::8", "FR", 0, NULL, NULL, 0, 0);
    /* in no database */
    expect_ep(&e, "8.8.8.8", "", 0, NULL, NULL, 0, 0);
    expect_ep(&e, "2600::1", "", 0, NULL, NULL, 0, 0);
    assert_int_equal(geo_thread_stats(e.t)->found, 9);
    env_close(&e);
}

static void test_cache(void **state)
{
    static const char *const nocache[] = { "geoip.cache-size=0" };
    struct lw_addr a = A("11.3.0.1"), b = A("2a00:1450:1::1");
    struct geo_ep ep;
    struct env e;

    env_open(&e, 2, NULL, 0);
    for (int i = 0; i < 5; i++) {
        geo_lookup(e.t, &a, &ep);
        geo_lookup(e.t, &b, &ep);
    }
    assert_int_equal(geo_thread_stats(e.t)->lookups, 2);
    assert_int_equal(geo_thread_stats(e.t)->cache_hits, 8);
    assert_string_equal(ep.cc, "DE");
    assert_int_equal(ep.asn, 15169);
    env_close(&e);

    env_open(&e, 2, nocache, 1);
    for (int i = 0; i < 5; i++)
        geo_lookup(e.t, &a, &ep);
    assert_int_equal(geo_thread_stats(e.t)->lookups, 5);
    assert_int_equal(geo_thread_stats(e.t)->cache_hits, 0);
    assert_string_equal(ep.cc, "US");
    env_close(&e);
}

static void test_scopes(void **state)
{
    static const struct { const char *src, *dst; enum geo_scope scope; } cases[] = {
        { "10.0.0.1", "10.0.0.2", GEO_SCOPE_INTERNAL },
        { "fd00::1", "192.168.1.1", GEO_SCOPE_INTERNAL },
        { "10.0.0.1", "36.1.1.1", GEO_SCOPE_DOMESTIC },
        { "36.1.1.1", "36.2.2.2", GEO_SCOPE_DOMESTIC },
        { "11.2.0.9", "240e::5", GEO_SCOPE_DOMESTIC },         /* home-net counts as CN */
        { "10.0.0.1", "11.3.0.1", GEO_SCOPE_OUTBOUND },
        { "fd00::1", "2a00:1450:1::1", GEO_SCOPE_OUTBOUND },
        { "36.1.1.1", "11.3.0.1", GEO_SCOPE_OUTBOUND },        /* a public CN initiator */
        { "11.3.0.1", "10.0.0.1", GEO_SCOPE_INBOUND },
        { "2a00:1450:1::1", "2a00:1450:4001::1", GEO_SCOPE_INBOUND },
        { "11.3.0.1", "2a00:1450:1::1", GEO_SCOPE_TRANSIT },
        { "45.1.1.1", "11.1.1.1", GEO_SCOPE_TRANSIT },
        { "10.0.0.1", "8.8.8.8", GEO_SCOPE_EXTERNAL },
        { "8.8.8.8", "11.3.0.1", GEO_SCOPE_EXTERNAL },
    };
    struct env e;
    struct flow f;
    struct packet p;

    env_open(&e, 3, NULL, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mkflow(&f, cases[i].src, cases[i].dst);
        mkpkt(&p, &f, 0, 100, T0);
        geo_flow_packet(e.t, &f, &p, T0);
        if (f.geo.scope != cases[i].scope)
            fail_msg("%s -> %s: scope %s, want %s", cases[i].src, cases[i].dst,
                     geo_scope_name(f.geo.scope), geo_scope_name(cases[i].scope));
    }
    assert_int_equal(geo_thread_stats(e.t)->flows, sizeof cases / sizeof cases[0]);
    env_close(&e);
}

static void test_no_database(void **state)
{
    struct env e;
    struct flow f;
    struct packet p;

    env_open(&e, 0, NULL, 0);
    assert_int_equal(geo_database_count(e.g), 0);
    mkflow(&f, "10.0.0.1", "11.3.0.1");
    mkpkt(&p, &f, 0, 100, T0);
    geo_flow_packet(e.t, &f, &p, T0);
    assert_int_equal(f.geo.scope, GEO_SCOPE_EXTERNAL);
    assert_string_equal(f.geo.src.cc, "CN");
    assert_string_equal(f.geo.dst.cc, "");
    assert_string_equal(geo_detect_country(e.t, &f, &f.key.src), "CN");
    assert_null(geo_detect_country(e.t, &f, &f.key.dst));
    mkflow(&f, "10.0.0.1", "fd00::7");
    geo_flow_packet(e.t, &f, &p, T0);
    assert_int_equal(f.geo.scope, GEO_SCOPE_INTERNAL);
    env_close(&e);
}

/* A database that cannot be opened stops start-up, and fails a reload
 * without touching the set in use. */
static void test_bad_database(void **state)
{
    struct lw_config cfg;
    char err[512], bad[160];
    const char *paths[1] = { bad };
    struct env e;
    FILE *fp;

    assert_int_equal(config_load(&cfg, NULL, NULL, 0, err, sizeof err), 0);
    snprintf(bad, sizeof bad, "%s/missing.mmdb", tmpdir);
    assert_null(geo_open(&cfg, paths, 1, err, sizeof err));
    assert_non_null(strstr(err, "missing.mmdb"));
    snprintf(bad, sizeof bad, "%s/garbage.mmdb", tmpdir);
    fp = fopen(bad, "w");
    assert_non_null(fp);
    fputs("not a database\n", fp);
    fclose(fp);
    assert_null(geo_open(&cfg, paths, 1, err, sizeof err));
    assert_non_null(strstr(err, "garbage.mmdb"));
    config_free(&cfg);

    env_open(&e, 1, NULL, 0);
    assert_int_equal(geo_reload(e.g, paths, 1, err, sizeof err), -1);
    assert_int_equal(geo_database_count(e.g), 1);
    assert_int_equal(geo_reload_count(e.g), 0);
    env_close(&e);
    unlink(bad);
}

static void test_reload(void **state)
{
    const char *alt[] = { path_alt, path_asn };
    struct lw_addr a = A("11.3.0.1");
    struct geo_thread *t2;
    struct geo_ep ep;
    struct geo_detail d;
    struct flow f;
    struct packet p;
    struct env e;
    char err[512];

    env_open(&e, 2, NULL, 0);
    t2 = geo_thread_new(e.g, 1);
    assert_non_null(t2);
    mkflow(&f, "10.0.0.1", "11.3.0.1");
    mkpkt(&p, &f, 0, 100, T0);
    geo_flow_packet(e.t, &f, &p, T0);
    assert_string_equal(f.geo.dst.cc, "US");
    geo_lookup(e.t, &a, &ep);                       /* cached under the first set */

    assert_int_equal(geo_reload(e.g, alt, 2, err, sizeof err), 0);
    assert_int_equal(geo_reload_count(e.g), 1);
    /* Neither worker has passed a quiescent point: the old set stays, and
     * a worker still reads it. */
    assert_int_equal(geo_reclaim(e.g), 1);
    geo_lookup_nocache(e.t, &a, &ep);
    assert_string_equal(ep.cc, "US");

    geo_thread_quiescent(e.t);
    assert_int_equal(geo_reclaim(e.g), 1);          /* t2 is still on it */
    geo_lookup(e.t, &a, &ep);                       /* the cache entry is stale */
    assert_string_equal(ep.cc, "CA");
    assert_int_equal(geo_thread_stats(e.t)->set_changes, 1);
    /* The flow keeps its country; its city is read from the new set. */
    assert_string_equal(f.geo.dst.cc, "US");
    geo_ep_detail(e.t, &f.geo.dst, &f.key.dst, f.geo.epoch, &d);
    assert_non_null(d.city.s);
    assert_memory_equal(d.city.s, "Toronto", 7);
    assert_non_null(d.org.s);
    assert_memory_equal(d.org.s, "Google LLC", 10);

    geo_thread_quiescent(t2);                       /* last one: t2 frees it */
    assert_int_equal(geo_reclaim(e.g), 0);
    geo_thread_free(t2);

    /* A reload while one worker never comes back is freed when it leaves. */
    assert_int_equal(geo_reload(e.g, alt, 1, err, sizeof err), 0);
    assert_int_equal(geo_database_count(e.g), 1);
    assert_int_equal(geo_reclaim(e.g), 1);
    env_close(&e);                                  /* ASan: no leak, no use after free */
}

/* Reloads on one thread while two workers look up on theirs: every answer
 * comes from one whole set (US before, CA after), and no set is used after
 * it is freed (ASan). Bounded: 40 reloads; workers stop with them (at
 * most 5,000,000 lookups each). */
struct reload_worker {
    struct geo *g;
    unsigned id;
    atomic_int *stop;
    int bad;
    atomic_int seen_us, seen_ca;    /* read by the reloading thread while this one runs */
    long lookups;
};

static void *reload_worker_run(void *arg)
{
    struct reload_worker *rw = arg;
    struct geo_thread *t = geo_thread_new(rw->g, rw->id);
    struct lw_addr a;
    struct geo_ep ep;
    struct geo_detail d;

    if (t == NULL) {
        rw->bad = 1;
        return NULL;
    }
    lw_addr_parse("11.3.0.1", &a);
    for (int i = 0; i < 5000000 && !atomic_load(rw->stop); i++) {
        geo_thread_quiescent(t);
        geo_lookup(t, &a, &ep);
        geo_ep_detail(t, &ep, &a, geo_thread_epoch(t), &d);
        if (strcmp(ep.cc, "US") == 0) {
            atomic_store(&rw->seen_us, 1);
            rw->bad |= d.city.s == NULL || d.city.n != 13 || memcmp(d.city.s, "Mountain View", 13) != 0;
        } else if (strcmp(ep.cc, "CA") == 0) {
            atomic_store(&rw->seen_ca, 1);
            rw->bad |= d.city.s == NULL || d.city.n != 7 || memcmp(d.city.s, "Toronto", 7) != 0;
        } else {
            rw->bad = 1;
        }
        rw->lookups++;
    }
    geo_thread_free(t);
    return NULL;
}

static void test_reload_threads(void **state)
{
    const char *sets[2][2] = { { path_city, path_asn }, { path_alt, path_asn } };
    struct reload_worker rw[2];
    pthread_t th[2];
    atomic_int stop;
    char err[512];
    struct env e;

    env_open(&e, 2, NULL, 0);
    atomic_init(&stop, 0);
    for (unsigned i = 0; i < 2; i++) {
        rw[i] = (struct reload_worker){ .g = e.g, .id = i + 1, .stop = &stop };
        atomic_init(&rw[i].seen_us, 0);
        atomic_init(&rw[i].seen_ca, 0);
        assert_int_equal(pthread_create(&th[i], NULL, reload_worker_run, &rw[i]), 0);
    }
    /* At least 40 reloads, and on until each reader has seen both sets
     * (a loaded machine may not run a reader during the first 40): at most
     * 20,000, 10 s. */
    int n = 0;
    for (; n < 20000; n++) {
        int all = 1;

        for (unsigned i = 0; i < 2; i++)
            all &= atomic_load(&rw[i].seen_us) && atomic_load(&rw[i].seen_ca);
        if (n >= 40 && all)
            break;
        assert_int_equal(geo_reload(e.g, sets[(n + 1) % 2], 2, err, sizeof err), 0);
        usleep(500);
    }
    atomic_store(&stop, 1);
    for (unsigned i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(rw[i].bad, 0);
        assert_true(atomic_load(&rw[i].seen_us) && atomic_load(&rw[i].seen_ca));   /* reloads happened under it */
    }
    assert_int_equal(geo_reload_count(e.g), n);
    geo_thread_quiescent(e.t);
    assert_int_equal(geo_reclaim(e.g), 0);          /* every old set freed */
    env_close(&e);
}

/* ---------------------------------------------------------------- summary */

static const struct geo_sum_row *find_row(const struct geo_summary *s, enum geo_scope scope,
                                          const char *src_cc, const char *dst_cc)
{
    for (uint32_t i = 0; i < s->nrows; i++) {
        const struct geo_sum_row *r = &s->rows[i];
        if (r->scope == scope && strcmp(r->src_cc, src_cc) == 0 && strcmp(r->dst_cc, dst_cc) == 0)
            return r;
    }
    fail_msg("no row %s %s -> %s", geo_scope_name(scope), src_cc, dst_cc);
    return NULL;
}

/* n packets of wirelen each way-0 and m of wirelen2 back, at ts. */
static void traffic(struct env *e, struct flow *f, int n, uint32_t len, int m, uint32_t len2, uint64_t ts)
{
    struct packet p;

    for (int i = 0; i < n; i++) {
        mkpkt(&p, f, 0, len, ts);
        f->pkts[0]++;
        f->bytes[0] += len;
        geo_flow_packet(e->t, f, &p, ts);
    }
    for (int i = 0; i < m; i++) {
        mkpkt(&p, f, 1, len2, ts);
        f->pkts[1]++;
        f->bytes[1] += len2;
        geo_flow_packet(e->t, f, &p, ts);
    }
}

static void test_summary(void **state)
{
    static struct flow f[8];
    const struct geo_summary *s;
    const struct geo_sum_row *r;
    struct env e;

    env_open(&e, 2, NULL, 0);
    assert_int_equal(geo_summary_due(e.t, T0), 0);         /* nothing open yet */
    /* Interval 1 [T0, T0+60s): three inside hosts to the US (two to one
     * Google address), one inbound from the US, one internal, one to CN. */
    mkflow(&f[0], "10.0.0.1", "11.3.0.1");
    traffic(&e, &f[0], 10, 1000, 5, 100, T0 + 1000000);
    mkflow(&f[1], "10.0.0.2", "11.3.0.1");
    traffic(&e, &f[1], 2, 500, 2, 60, T0 + 2000000);
    mkflow(&f[2], "10.0.0.1", "11.4.0.1");
    traffic(&e, &f[2], 1, 300, 0, 0, T0 + 3000000);
    mkflow(&f[3], "11.3.0.1", "10.0.0.9");
    traffic(&e, &f[3], 3, 200, 3, 200, T0 + 4000000);
    mkflow(&f[4], "10.0.0.1", "10.0.0.2");
    traffic(&e, &f[4], 1, 64, 1, 64, T0 + 5000000);
    mkflow(&f[5], "fd00::1", "2a00:1450:1::1");
    traffic(&e, &f[5], 4, 1500, 0, 0, T0 + 6000000);
    geo_flow_alert(e.t, &f[0], T0 + 6000000);
    geo_flow_alert(e.t, &f[0], T0 + 6000000);
    /* Applications get the flows' bytes of this interval, once. */
    geo_flow_app(e.t, &f[0], "TLS.Google");
    geo_flow_app(e.t, &f[0], "TLS.Google");
    geo_flow_app(e.t, &f[1], "HTTP");
    geo_flow_app(e.t, &f[2], "TLS.Google");

    assert_int_equal(geo_summary_due(e.t, T0 + 59999999), 0);
    assert_int_equal(geo_summary_due(e.t, T0 + 60000000), 1);
    s = geo_summary_close(e.t, T0 + 61000000);
    assert_non_null(s);
    assert_int_equal(s->start_usec, T0);
    assert_int_equal(s->end_usec, T0 + 60000000);
    assert_string_equal(s->home_cc, "CN");
    assert_int_equal(s->nrows, 4);
    /* Ordered by scope, then bytes. */
    assert_int_equal(s->rows[s->order[0]].scope, GEO_SCOPE_INTERNAL);
    assert_int_equal(s->rows[s->order[1]].scope, GEO_SCOPE_OUTBOUND);
    assert_string_equal(s->rows[s->order[1]].dst_cc, "US");
    assert_string_equal(s->rows[s->order[2]].dst_cc, "DE");
    assert_int_equal(s->rows[s->order[3]].scope, GEO_SCOPE_INBOUND);

    r = find_row(s, GEO_SCOPE_OUTBOUND, "CN", "US");
    assert_string_equal(geo_sum_row_country(r), "US");
    assert_int_equal(r->flows, 3);
    assert_int_equal(r->pkts, 10 + 5 + 2 + 2 + 1);
    assert_int_equal(r->bytes, 10000 + 500 + 1000 + 120 + 300);
    assert_int_equal(r->alerts, 2);
    assert_int_equal(r->internal_hosts, 2);                   /* 10.0.0.1, 10.0.0.2 */
    assert_int_equal(r->ntop_ep, 2);
    assert_memory_equal(&r->top_ep[0].addr, &f[0].key.dst, sizeof f[0].key.dst);
    assert_int_equal(r->top_ep[0].bytes, 10500 + 1120);
    assert_string_equal(r->top_ep[0].cc, "US");
    assert_int_equal(r->top_ep[0].asn, 15169);
    assert_int_equal(r->top_ep[1].bytes, 300);
    assert_int_equal(r->ntop_asn, 1);
    assert_int_equal(r->top_asn[0].asn, 15169);
    assert_int_equal(r->top_asn[0].bytes, 11920);
    {
        struct geo_str org = geo_asn_org(e.t, &r->top_asn[0]);
        assert_non_null(org.s);
        assert_memory_equal(org.s, "Google LLC", 10);
    }
    assert_int_equal(r->ntop_app, 2);
    assert_string_equal(r->top_app[0].name, "TLS.Google");
    assert_int_equal(r->top_app[0].bytes, 10800);
    assert_string_equal(r->top_app[1].name, "HTTP");
    assert_int_equal(r->app_bytes, r->bytes);

    r = find_row(s, GEO_SCOPE_INBOUND, "US", "CN");
    assert_string_equal(geo_sum_row_country(r), "US");
    assert_int_equal(r->flows, 1);
    assert_int_equal(r->bytes, 1200);
    assert_int_equal(r->app_bytes, 0);                        /* not identified (yet) */
    assert_int_equal(r->internal_hosts, 1);
    assert_int_equal(r->ntop_ep, 1);
    assert_memory_equal(&r->top_ep[0].addr, &f[3].key.src, sizeof f[3].key.src);

    r = find_row(s, GEO_SCOPE_INTERNAL, "CN", "CN");
    assert_null(geo_sum_row_country(r));
    assert_int_equal(r->bytes, 128);
    assert_int_equal(r->internal_hosts, 2);
    assert_int_equal(r->ntop_ep, 0);

    r = find_row(s, GEO_SCOPE_OUTBOUND, "CN", "DE");
    assert_int_equal(r->bytes, 6000);
    assert_int_equal(r->internal_hosts, 1);
    geo_summary_open(e.t);

    /* Interval 2 (after a gap): the long flow goes on and is not counted
     * again as a flow; a new flow to the US from a third host. */
    traffic(&e, &f[0], 1, 1000, 0, 0, T0 + 185000000);
    mkflow(&f[6], "10.0.0.3", "11.3.0.1");
    traffic(&e, &f[6], 1, 40, 0, 0, T0 + 186000000);
    /* f[3] sent nothing in this interval: identifying it now credits
     * nothing here (its bytes were the last interval's, unidentified). */
    geo_flow_app(e.t, &f[3], "SSH");
    geo_flow_app(e.t, &f[6], "TLS");
    s = geo_summary_close(e.t, T0 + 190000000);             /* capture ended */
    assert_non_null(s);
    assert_int_equal(s->start_usec, T0 + 180000000);
    assert_int_equal(s->end_usec, T0 + 190000000);
    assert_int_equal(s->nrows, 1);
    r = &s->rows[0];
    assert_int_equal(r->flows, 1);
    assert_int_equal(r->pkts, 2);
    assert_int_equal(r->bytes, 1040);
    assert_int_equal(r->internal_hosts, 2);
    assert_int_equal(r->app_bytes, 40);
    geo_summary_open(e.t);
    assert_null(geo_summary_close(e.t, T0 + 200000000));   /* nothing counted */
    env_close(&e);
}

/* Bounds: more country pairs than rows go to one overflow row per scope;
 * more remote endpoints than tracked keep the heavy ones (Space-Saving). */
static void test_summary_bounds(void **state)
{
    struct geo_sum *s = geo_sum_new(60000000, "CN", 0);
    const struct geo_summary *out;
    uint64_t total = 0;
    uint8_t hint = 0;
    char cc[3] = "AA";
    int overflow = -1;
    uint16_t in;

    assert_non_null(s);
    geo_sum_start(s, T0);
    in = geo_sum_row(s, GEO_SCOPE_INBOUND, "US", "CN");
    for (int i = 0; i < 26 * 26; i++) {
        uint16_t row;
        cc[0] = (char)('A' + i / 26);
        cc[1] = (char)('A' + i % 26);
        row = geo_sum_row(s, GEO_SCOPE_OUTBOUND, "CN", cc);
        geo_sum_row_at(s, row)->bytes += 1;
        total++;
    }
    /* 20 endpoints in one row: two heavy ones, eighteen light ones. */
    {
        struct geo_sum_row *r = geo_sum_row_at(s, in);
        for (int round = 0; round < 3; round++)
            for (int i = 0; i < 20; i++) {
                char a[32];
                struct lw_addr ad;
                snprintf(a, sizeof a, "11.0.0.%d", i);
                ad = A(a);
                geo_sum_top_ep(r, &ad, "US", 0, i < 2 ? 10000 : 10, &hint);
            }
    }
    out = geo_sum_close(s, T0 + 60000000);
    assert_non_null(out);
    assert_int_equal(out->nrows, GEO_SUM_ROWS - GEO_SCOPE_MAX + 1);
    assert_int_equal(out->rows_overflow, 26 * 26 - (GEO_SUM_ROWS - GEO_SCOPE_MAX - 1));
    uint64_t sum = 0;
    for (uint32_t i = 0; i < out->nrows; i++) {
        if (out->rows[i].scope == GEO_SCOPE_OUTBOUND)
            sum += out->rows[i].bytes;
        if (out->rows[i].flags & GEO_ROW_OVERFLOW)
            overflow = (int)i;
    }
    assert_int_equal(sum, total);                             /* scope totals stay exact */
    assert_true(overflow >= 0);
    assert_null(geo_sum_row_country(&out->rows[overflow]));
    for (uint32_t i = 0; i < out->nrows; i++)
        if (out->rows[i].scope == GEO_SCOPE_INBOUND) {
            const struct geo_sum_row *r = &out->rows[i];
            struct lw_addr h0 = A("11.0.0.0"), h1 = A("11.0.0.1");
            assert_int_equal(r->ntop_ep, GEO_SUM_TOPK);
            assert_true(r->top_ep[0].bytes >= 30000 && r->top_ep[1].bytes >= 30000);
            assert_true((memcmp(&r->top_ep[0].addr, &h0, sizeof h0) == 0 &&
                         memcmp(&r->top_ep[1].addr, &h1, sizeof h1) == 0) ||
                        (memcmp(&r->top_ep[0].addr, &h1, sizeof h1) == 0 &&
                         memcmp(&r->top_ep[1].addr, &h0, sizeof h0) == 0));
        }
    geo_sum_open(s);
    assert_true(geo_sum_memsize() < 2u * 1024 * 1024);
    geo_sum_free(s);
}

static void test_summary_hosts(void **state)
{
    struct geo_sum *s = geo_sum_new(60000000, "CN", 0);
    const struct geo_summary *out;
    uint16_t row;

    assert_non_null(s);
    geo_sum_start(s, T0);
    row = geo_sum_row(s, GEO_SCOPE_OUTBOUND, "CN", "US");
    for (uint32_t i = 0; i < GEO_SUM_HOSTS + 100; i++) {
        struct lw_addr a;
        uint8_t b[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
        lw_addr_set4(&a, b);
        geo_sum_add_host(s, row, &a);
        geo_sum_add_host(s, row, &a);                        /* twice: counted once */
    }
    out = geo_sum_close(s, T0 + 1);
    assert_non_null(out);
    assert_int_equal(out->rows[row].internal_hosts, GEO_SUM_HOSTS);
    assert_int_equal(out->hosts_overflow, 200);
    geo_sum_open(s);
    /* A new interval starts empty. */
    geo_sum_start(s, T0 + 60000000);
    row = geo_sum_row(s, GEO_SCOPE_OUTBOUND, "CN", "US");
    {
        struct lw_addr a = A("10.9.9.9");
        geo_sum_add_host(s, row, &a);
    }
    out = geo_sum_close(s, T0 + 60000001);
    assert_int_equal(out->rows[row].internal_hosts, 1);
    assert_int_equal(out->hosts_overflow, 0);
    geo_sum_free(s);
}

/* Feeds one row of s: bytes to an endpoint, an app and an internal host. */
static void feed_row(struct geo_sum *s, enum geo_scope scope, const char *dcc, uint32_t ep,
                     const char *app, uint32_t host, uint64_t bytes)
{
    uint16_t row = geo_sum_row(s, scope, "CN", dcc);
    struct geo_sum_row *r = geo_sum_row_at(s, row);
    uint8_t b[4] = { 11, 1, (uint8_t)(ep >> 8), (uint8_t)ep };
    uint8_t h[4] = { 10, 0, (uint8_t)(host >> 8), (uint8_t)host };
    struct lw_addr a, ha;
    uint8_t hint = 0;

    lw_addr_set4(&a, b);
    lw_addr_set4(&ha, h);
    r->bytes += bytes;
    r->pkts += 1;
    geo_sum_top_ep(r, &a, dcc, 100 + ep % 3, bytes, &hint);
    hint = 0;
    geo_sum_top_app(r, app, bytes, &hint);
    geo_sum_add_host(s, row, &ha);
}

/* Several workers' accumulators merged give what one accumulator fed with
 * everything gives: counters, united host sets (a host seen by two workers
 * counts once), top lists with ties in key order; and a list that evicted
 * is marked approximate. */
static void test_summary_merge(void **state)
{
    static const char *const apps[] = { "TLS", "HTTP", "DNS", "QUIC" };
    struct geo_sum *one = geo_sum_new(60000000, "CN", 0);
    struct geo_sum *w[3], *m;
    const struct geo_summary *a, *b;

    (void)state;
    assert_non_null(one);
    for (int k = 0; k < 3; k++) {
        w[k] = geo_sum_new(60000000, "CN", (unsigned)k);
        assert_non_null(w[k]);
        geo_sum_start(w[k], T0);
    }
    geo_sum_start(one, T0);
    for (uint32_t i = 0; i < 600; i++) {
        const char *dcc = i % 3 == 0 ? "US" : i % 3 == 1 ? "DE" : "JP";
        enum geo_scope sc = i % 5 == 0 ? GEO_SCOPE_INBOUND : GEO_SCOPE_OUTBOUND;
        uint32_t ep = i % 6, host = i % 40;
        uint64_t bytes = 100 + (i % 7) * 10;

        feed_row(one, sc, dcc, ep, apps[i % 4], host, bytes);
        feed_row(w[(i * 7) % 3], sc, dcc, ep, apps[i % 4], host, bytes);
    }
    /* One row with more endpoints than a top list holds. */
    for (uint32_t i = 0; i < 20; i++) {
        feed_row(one, GEO_SCOPE_TRANSIT, "FR", 50 + i, "TLS", 1, 1000 + i);
        feed_row(w[i % 3], GEO_SCOPE_TRANSIT, "FR", 50 + i, "TLS", 1, 1000 + i);
    }
    m = geo_sum_new_like(w[0]);
    assert_non_null(m);
    for (int k = 0; k < 3; k++) {
        assert_non_null(geo_sum_close(w[k], T0 + 60000000));
        geo_sum_merge(m, w[k]);
    }
    a = geo_sum_close(one, T0 + 60000000);
    b = geo_sum_close(m, T0 + 60000000);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->nrows, b->nrows);
    assert_int_equal(a->start_usec, b->start_usec);
    assert_int_equal(a->end_usec, b->end_usec);
    for (uint32_t i = 0; i < a->nrows; i++) {
        const struct geo_sum_row *x = &a->rows[i], *y = find_row(b, (enum geo_scope)x->scope, x->src_cc, x->dst_cc);

        assert_int_equal(x->scope, y->scope);
        assert_memory_equal(x->dst_cc, y->dst_cc, 3);
        assert_int_equal(x->bytes, y->bytes);
        assert_int_equal(x->pkts, y->pkts);
        assert_int_equal(x->internal_hosts, y->internal_hosts);
        assert_int_equal(x->app_bytes, y->app_bytes);
        assert_int_equal(x->flags & GEO_ROW_TOP_APPROX, y->flags & GEO_ROW_TOP_APPROX);
        if (x->flags & GEO_ROW_TOP_APPROX) {
            assert_int_equal(x->scope, GEO_SCOPE_TRANSIT);
            continue;               /* Space-Saving estimates: order-dependent */
        }
        assert_int_equal(x->ntop_ep, y->ntop_ep);
        assert_int_equal(x->ntop_app, y->ntop_app);
        for (uint8_t k = 0; k < x->ntop_ep; k++) {
            assert_memory_equal(&x->top_ep[k].addr, &y->top_ep[k].addr, sizeof x->top_ep[k].addr);
            assert_int_equal(x->top_ep[k].bytes, y->top_ep[k].bytes);
        }
        for (uint8_t k = 0; k < x->ntop_app; k++) {
            assert_string_equal(x->top_app[k].name, y->top_app[k].name);
            assert_int_equal(x->top_app[k].bytes, y->top_app[k].bytes);
        }
    }
    /* The US outbound row (i % 3 == 0, i % 5 != 0) has 32 of the 40 host
     * numbers, each counted once though every worker saw some of them. */
    assert_int_equal(find_row(b, GEO_SCOPE_OUTBOUND, "CN", "US")->internal_hosts, 32);
    for (int k = 0; k < 3; k++)
        geo_sum_free(w[k]);
    geo_sum_free(m);
    geo_sum_free(one);
}

/* ---------------------------------------------------------------- events */

/* The jbuf's text as a C string (a static copy). */
static const char *jtext(const struct jbuf *j)
{
    static char out[8192];

    assert_true(jbuf_ok(j) && j->len < sizeof out);
    memcpy(out, j->buf, j->len);
    out[j->len] = '\0';
    return out;
}

static void test_eve_geo(void **state)
{
    static const char *const want_flow =
        "\"geo\":{\"src\":{\"country\":\"CN\",\"internal\":true},"
        "\"dest\":{\"country\":\"US\",\"asn\":15169,\"org\":\"Google LLC\",\"city\":\"Mountain View\","
        "\"lat\":37.386,\"lon\":-122.0838},\"scope\":\"cross-border-outbound\"}";
    static const char *const want_alert =
        "\"geo\":{\"src\":{\"country\":\"US\",\"asn\":15169,\"org\":\"Google LLC\",\"city\":\"Mountain View\","
        "\"lat\":37.386,\"lon\":-122.0838},\"dest\":{\"country\":\"CN\",\"internal\":true},"
        "\"scope\":\"cross-border-outbound\"}";
    struct rule_parse_env env = { NULL, NULL, NULL };
    struct rule_error rerr;
    struct rule *rule = NULL;
    const struct geo_summary *s;
    struct packet p;
    struct flow f;
    struct jbuf j;
    struct env e;

    env_open(&e, 2, NULL, 0);
    jbuf_init(&j);
    mkflow(&f, "10.0.0.1", "11.3.0.1");
    f.first_ts = f.last_ts = T0;
    traffic(&e, &f, 1, 100, 1, 200, T0);
    eve_flow_event(&j, &(struct eve_ctx){ .sensor_id = "s1", .geo = e.t }, &f, NULL);
    if (strstr(jtext(&j), want_flow) == NULL)
        fail_msg("flow event: %s", jtext(&j));

    /* An alert on the reply: the event's src is the responder. */
    assert_int_equal(rule_parse("alert tcp any any -> any any (msg:\"x\"; sid:1;)", &env, &rule, &rerr), 0);
    mkpkt(&p, &f, 1, 200, T0);
    jbuf_reset(&j);
    eve_alert_event(&j, &(struct eve_ctx){ .sensor_id = "s1", .geo = e.t }, rule, &p, &f, NULL);
    if (strstr(jtext(&j), want_alert) == NULL)
        fail_msg("alert event: %s", jtext(&j));
    rule_free(rule);

    /* A flow the geo stage never saw has no geo block. */
    mkflow(&f, "10.0.0.1", "11.3.0.1");
    jbuf_reset(&j);
    eve_flow_event(&j, &(struct eve_ctx){ .sensor_id = "s1", .geo = e.t }, &f, NULL);
    assert_null(strstr(jtext(&j), "\"geo\""));

    s = geo_summary_close(e.t, T0 + 1000000);
    assert_non_null(s);
    jbuf_reset(&j);
    eve_geo_summary_event(&j, &(struct eve_ctx){ .sensor_id = "s1", .geo = e.t }, s, &s->rows[0]);
    if (strstr(jtext(&j), "\"event_type\":\"geo_summary\",\"geo_summary\":{\"start\":\"2023-11-14T22:14:00.000000+0000\","
                      "\"end\":\"2023-11-14T22:14:01.000000+0000\",\"worker\":0,\"home_country\":\"CN\","
                      "\"scope\":\"cross-border-outbound\",\"country\":\"US\",\"src_country\":\"CN\","
                      "\"dest_country\":\"US\",\"bytes\":300,\"packets\":2,\"flows\":1,\"alerts\":0,"
                      "\"internal_hosts\":1,\"unidentified_bytes\":300,\"top_asns\":[{\"asn\":15169,\"org\":\"Google LLC\",\"bytes\":300}],"
                      "\"top_endpoints\":[{\"ip\":\"11.3.0.1\",\"country\":\"US\",\"asn\":15169,\"bytes\":300}],"
                      "\"top_apps\":[]}}") == NULL)
        fail_msg("geo_summary event: %s", jtext(&j));
    geo_summary_open(e.t);

    /* Personal data in the flow's bodies: counted into its row, by direction,
     * written only when there is some. */
    {
        const struct pii_counts up = { { 12, 0, 1, 0, 0 } }, down = { { 0, 0, 0, 2, 0 } };

        mkflow(&f, "10.0.0.1", "11.3.0.1");
        f.first_ts = f.last_ts = T0 + 2000000;
        traffic(&e, &f, 1, 100, 1, 200, T0 + 2000000);
        geo_flow_pii(e.t, &f, 0, &up, T0 + 2000000);
        geo_flow_pii(e.t, &f, 0, &up, T0 + 2000000);
        geo_flow_pii(e.t, &f, 1, &down, T0 + 2000000);
        s = geo_summary_close(e.t, T0 + 3000000);
        jbuf_reset(&j);
        eve_geo_summary_event(&j, &(struct eve_ctx){ .sensor_id = "s1", .geo = e.t }, s, &s->rows[0]);
        if (strstr(jtext(&j), "\"pii\":{\"to_server\":{\"cn-id\":24,\"bank-card\":0,\"cn-mobile\":2,"
                          "\"email\":0,\"passport-cn\":0,\"bodies\":2},\"to_client\":{\"cn-id\":0,"
                          "\"bank-card\":0,\"cn-mobile\":0,\"email\":2,\"passport-cn\":0,\"bodies\":1}}") == NULL)
            fail_msg("geo_summary event with pii: %s", jtext(&j));
        geo_summary_open(e.t);
        /* near miss: a row without any has no pii member */
        traffic(&e, &f, 1, 100, 1, 200, T0 + 3500000);
        s = geo_summary_close(e.t, T0 + 4000000);
        jbuf_reset(&j);
        eve_geo_summary_event(&j, &(struct eve_ctx){ .sensor_id = "s1", .geo = e.t }, s, &s->rows[0]);
        assert_null(strstr(jtext(&j), "\"pii\""));
        geo_summary_open(e.t);
    }
    jbuf_free(&j);
    env_close(&e);
}

/* ---------------------------------------------------------------- geoip rules */

struct alerts {
    size_t n;
    uint32_t sid[32];
};

static void on_alert(void *arg, const struct rule *r, const struct packet *p, struct flow *f)
{
    struct alerts *a = arg;

    if (a->n < 32)
        a->sid[a->n] = r->sid;
    a->n++;
}


/* The sids (as a bit set over 1..31) the packet of f in direction dir fires. */
/* The geolocation context fired() gives its scratch's geoip lookup. */
static struct geo_thread *fired_geo;

static uint32_t fired(struct detect_engine *de, struct flow *f, int dir)
{
    struct detect_thread *t = detect_thread_new(de);
    struct alerts a = { 0 };
    struct packet p;
    uint32_t bits = 0;

    assert_non_null(t);
    detect_thread_set_geo(t, geo_detect_country, fired_geo);
    mkpkt(&p, f, dir, 100, T0);
    p.tcp_flags = TH_ACK | TH_PUSH;
    detect_packet(de, t, NULL, &p, f, on_alert, &a);
    for (size_t i = 0; i < a.n && i < 32; i++)
        bits |= 1u << a.sid[i];
    detect_thread_free(t);
    detect_flow_free(f);
    return bits;
}

#define S(n) (1u << (n))

static void test_geoip_rules(void **state)
{
    static const char *const rules[] = {
        "alert tcp any any -> any any (msg:\"1\"; geoip:dst,US; sid:1;)",
        "alert tcp any any -> any any (msg:\"2\"; geoip:src,US; sid:2;)",
        "alert tcp any any -> any any (msg:\"3\"; geoip:both,US,CN; sid:3;)",
        "alert tcp any any -> any any (msg:\"4\"; geoip:any,DE; sid:4;)",
        "alert tcp any any -> any any (msg:\"5\"; geoip:dst,!CN; sid:5;)",
        "alert tcp any any -> any any (msg:\"6\"; geoip:both,!CN; sid:6;)",
        "alert tcp any any -> any any (msg:\"7\"; geoip:src,CN; sid:7;)",
        "alert tcp any any -> any any (msg:\"8\"; geoip:DE,US; sid:8;)",
        "alert tcp any any -> any any (msg:\"9\"; geoip:any,!CN; sid:9;)",
        NULL,
    };
    struct detect_engine *de = ruletest_engine(rules);
    struct packet p;
    struct flow f;
    struct env e;

    env_open(&e, 3, NULL, 0);
    fired_geo = e.t;

    /* IPv4, inside (CN) -> US; and the reply US -> inside. */
    mkflow(&f, "10.0.0.1", "11.3.0.1");
    mkpkt(&p, &f, 0, 100, T0);
    geo_flow_packet(e.t, &f, &p, T0);
    assert_int_equal(fired(de, &f, 0), S(1) | S(3) | S(5) | S(7) | S(8) | S(9));
    assert_int_equal(fired(de, &f, 1), S(2) | S(3) | S(8) | S(9));

    /* IPv6, inside (CN) -> DE. */
    mkflow(&f, "fd00::1", "2a00:1450:1::1");
    geo_flow_packet(e.t, &f, &p, T0);
    assert_int_equal(fired(de, &f, 0), S(4) | S(5) | S(7) | S(8) | S(9));
    assert_int_equal(fired(de, &f, 1), S(4) | S(8) | S(9));

    /* IPv6 transit DE -> FR: both foreign. */
    mkflow(&f, "2a00:1450:1::1", "2001:41d0::8");
    geo_flow_packet(e.t, &f, &p, T0);
    assert_int_equal(fired(de, &f, 0), S(4) | S(5) | S(6) | S(8) | S(9));

    /* An address with no known country never matches, negated or not. */
    mkflow(&f, "10.0.0.1", "8.8.8.8");
    geo_flow_packet(e.t, &f, &p, T0);
    assert_int_equal(fired(de, &f, 0), S(7));
    assert_int_equal(fired(de, &f, 1), 0);

    /* Internal to internal: both CN. */
    mkflow(&f, "10.0.0.1", "192.168.0.1");
    geo_flow_packet(e.t, &f, &p, T0);
    assert_int_equal(fired(de, &f, 0), S(3) | S(7));

    /* The flow's countries are used: no lookup for geoip. */
    {
        uint64_t before = geo_thread_stats(e.t)->lookups + geo_thread_stats(e.t)->cache_hits;
        mkflow(&f, "10.0.0.1", "36.1.1.1");
        geo_flow_packet(e.t, &f, &p, T0);
        uint64_t mid = geo_thread_stats(e.t)->lookups + geo_thread_stats(e.t)->cache_hits;
        assert_int_equal(mid - before, 1);
        assert_int_equal(fired(de, &f, 0), S(3) | S(7));
        assert_int_equal(geo_thread_stats(e.t)->lookups + geo_thread_stats(e.t)->cache_hits, mid);
    }
    fired_geo = NULL;
    detect_engine_free(de);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_internal_ranges),
        cmocka_unit_test(test_lookup_v4_v6),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_no_database),
        cmocka_unit_test(test_bad_database),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_reload_threads),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_summary_bounds),
        cmocka_unit_test(test_summary_hosts),
        cmocka_unit_test(test_summary_merge),
        cmocka_unit_test(test_eve_geo),
        cmocka_unit_test(test_geoip_rules),
    };
    return cmocka_run_group_tests(tests, setup_dbs, teardown_dbs);
}
