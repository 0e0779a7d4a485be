/* test_config.c - config: defaults, -c merge, --set overrides, every error message, size/duration parsers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "eve-file.h"
#include "exporters.h"
#include "syslog-exporter.h"
#include "unix-socket.h"

/* The exporters' sections as loaded into c. */
#define EVE_FILE(c)    ((const struct eve_file_config *)config_section((c), &eve_file_exporter.config))
#define SYSLOG(c)      ((const struct syslog_config *)config_section((c), &syslog_exporter.config))
#define UNIX_SOCKET(c) ((const struct unix_socket_config *)config_section((c), &unix_socket_exporter.config))

static char tmpdir[64];

/* Writes text to tmpdir/name and returns the path (static buffer per call
 * slot: callers use at most two at a time). */
static const char *write_yaml(const char *name, const char *text)
{
    static char paths[2][256];
    static int slot;
    char *p = paths[slot++ % 2];
    FILE *f;

    snprintf(p, sizeof paths[0], "%s/%s", tmpdir, name);
    f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return p;
}

/* Loads and expects failure with exactly want; cfg must come back zeroed. */
static void expect_error(const char *path, char *const *sets, size_t nsets, const char *want)
{
    struct lw_config cfg;
    char err[512];

    memset(&cfg, 0xab, sizeof cfg);
    assert_int_equal(config_load(&cfg, path, sets, nsets, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_null(cfg.sensor_id);
    assert_null(cfg.home_net.v);
    assert_int_equal(cfg.home_net.n, 0);
}

/* A file whose only content is yaml, expecting "<path>:<msg>". */
static void expect_file_error(const char *yaml, const char *msg)
{
    const char *p = write_yaml("bad.yaml", yaml);
    char want[512];

    snprintf(want, sizeof want, "%s:%s", p, msg);
    expect_error(p, NULL, 0, want);
}

static void expect_set_error(const char *set, const char *want)
{
    char *sets[] = { (char *)set };

    expect_error(NULL, sets, 1, want);
}

static void load_ok(struct lw_config *cfg, const char *path, char *const *sets, size_t nsets)
{
    char err[512] = "";

    if (config_load(cfg, path, sets, nsets, err, sizeof err) != 0)
        fail_msg("config_load: %s", err);
}

static const char *var(const struct cfg_strlist *names, const struct cfg_strlist *vals,
                       const char *name)
{
    assert_int_equal(names->n, vals->n);
    for (size_t i = 0; i < names->n; i++)
        if (strcmp(names->v[i], name) == 0)
            return vals->v[i];
    return NULL;
}

#define ADDR(c, n) var(&(c)->address_group_names, &(c)->address_group_values, n)
#define PORT(c, n) var(&(c)->port_group_names, &(c)->port_group_values, n)

/* ------------------------------------------------------------------ defaults */

static void test_defaults(void **state)
{
    struct lw_config c;

    load_ok(&c, NULL, NULL, 0);
    assert_string_equal(c.sensor_id, "dc1-link1");
    assert_string_equal(c.default_log_dir, "/var/log/linkwatch");
    assert_int_equal(c.home_net.n, 3);
    assert_string_equal(c.home_net.v[0], "10.0.0.0/8");
    assert_string_equal(c.home_net.v[1], "172.16.0.0/12");
    assert_string_equal(c.home_net.v[2], "192.168.0.0/16");
    assert_string_equal(c.home_country, "CN");
    assert_string_equal(ADDR(&c, "HOME_NET"), "[10.0.0.0/8,172.16.0.0/12,192.168.0.0/16]");
    assert_string_equal(ADDR(&c, "EXTERNAL_NET"), "!$HOME_NET");
    assert_string_equal(ADDR(&c, "HTTP_SERVERS"), "$HOME_NET");
    assert_string_equal(ADDR(&c, "DNS_SERVERS"), "$HOME_NET");
    assert_string_equal(ADDR(&c, "SMTP_SERVERS"), "$HOME_NET");
    assert_string_equal(ADDR(&c, "SQL_SERVERS"), "$HOME_NET");
    assert_string_equal(ADDR(&c, "TELNET_SERVERS"), "$HOME_NET");
    assert_string_equal(ADDR(&c, "AIM_SERVERS"), "$EXTERNAL_NET");
    assert_string_equal(c.address_group_names.v[0], "HOME_NET");
    assert_string_equal(PORT(&c, "HTTP_PORTS"), "80,8080");
    assert_string_equal(PORT(&c, "SSH_PORTS"), "22");
    assert_string_equal(PORT(&c, "SHELLCODE_PORTS"), "!80");
    assert_string_equal(PORT(&c, "ORACLE_PORTS"), "1521");
    assert_string_equal(PORT(&c, "FILE_DATA_PORTS"), "[$HTTP_PORTS,110,143]");
    assert_string_equal(PORT(&c, "FTP_PORTS"), "21");

    assert_string_equal(c.capture.interface, "eth1");
    assert_int_equal(c.capture.snaplen, 65535);
    assert_int_equal(c.capture.buffer_size, 64ULL << 20);
    assert_string_equal(c.capture.bpf, "");
    assert_int_equal(c.capture.promisc, 1);
    assert_int_equal(c.capture.immediate, 1);
    assert_int_equal(c.workers, 0);

    assert_int_equal(c.flow.max_flows, 1000000);
    assert_int_equal(c.flow.timeout_tcp_new, 60);
    assert_int_equal(c.flow.timeout_tcp_established, 3600);
    assert_int_equal(c.flow.timeout_tcp_closed, 10);
    assert_int_equal(c.flow.timeout_udp, 60);
    assert_int_equal(c.flow.timeout_default, 30);

    assert_int_equal(c.defrag.max_trackers, 65535);
    assert_int_equal(c.defrag.memcap, 32ULL << 20);
    assert_int_equal(c.defrag.timeout, 60);
    assert_int_equal(c.defrag.max_datagram, 65535);

    assert_int_equal(c.dpi.enabled, 1);
    assert_int_equal(c.dpi.max_packets, 32);
    assert_string_equal(c.dpi.protos_file, "");

    assert_int_equal(c.stream.enabled, 1);
    assert_int_equal(c.stream.depth, 1ULL << 20);
    assert_int_equal(c.stream.memcap, 256ULL << 20);
    assert_int_equal(c.stream.inspect_window, 2048);
    assert_int_equal(c.stream.ooo_limit, 65536);

    assert_int_equal(c.rules.files.n, 1);
    assert_string_equal(c.rules.files.v[0], "rules/*.rules");
    assert_string_equal(c.rules.threshold_file, "rules/threshold.config");
    assert_string_equal(c.rules.classification_file, "rules/classification.config");
    assert_int_equal(c.rules.watch, 0);
    assert_int_equal(c.rules.strict, 0);

    assert_int_equal(c.geoip.databases.n, 0);
    assert_int_equal(c.geoip.summary_interval, 60);
    assert_int_equal(c.geoip.cache_size, 32768);

    assert_int_equal(c.redis.enabled, 0);
    assert_string_equal(c.redis.server, "127.0.0.1");
    assert_int_equal(c.redis.port, 6379);
    assert_string_equal(c.redis.password, "");
    assert_int_equal(c.redis.db, 0);
    assert_string_equal(c.redis.prefix, "lw");
    assert_int_equal(c.redis.flush_interval, 1);
    assert_int_equal(c.redis.alerts_stream_maxlen, 1000000);
    assert_int_equal(c.redis.retention_minute, 2 * 86400);
    assert_int_equal(c.redis.retention_hour, 30 * 86400);
    assert_string_equal(c.redis.spool_dir, "/var/spool/linkwatch");
    assert_string_equal(c.redis.username, "");
    assert_int_equal(c.redis.connect_timeout, 2);
    assert_int_equal(c.redis.command_timeout, 5);
    assert_int_equal(c.redis.reconnect_max, 10);
    assert_int_equal(c.redis.flows_stream, 0);
    assert_int_equal(c.redis.flows_stream_maxlen, 1000000);
    assert_int_equal(c.redis.top_hosts, 100);
    assert_int_equal(c.redis.merged_view, 1);
    assert_int_equal(c.redis.max_keys, 65536);
    assert_int_equal(c.redis.pending_max_keys, 262144);
    assert_int_equal(c.redis.spool_max_size, 256ull << 20);

    assert_int_equal(EVE_FILE(&c)->x.enabled, 1);
    assert_string_equal(EVE_FILE(&c)->filename, "eve.json");
    assert_int_equal(EVE_FILE(&c)->x.types.n, 13);       /* smb, ftp and ftp_data too */
    assert_string_equal(EVE_FILE(&c)->x.types.v[0], "alert");
    assert_string_equal(EVE_FILE(&c)->x.types.v[1], "flow");
    assert_string_equal(EVE_FILE(&c)->x.types.v[2], "stats");
    assert_string_equal(EVE_FILE(&c)->x.types.v[3], "geo_summary");
    assert_string_equal(EVE_FILE(&c)->x.types.v[4], "reload");
    assert_string_equal(EVE_FILE(&c)->x.types.v[5], "http");
    assert_string_equal(EVE_FILE(&c)->x.types.v[9], "smb");
    assert_string_equal(EVE_FILE(&c)->x.types.v[10], "ftp");
    assert_string_equal(EVE_FILE(&c)->x.types.v[12], "fileinfo");
    assert_int_equal(SYSLOG(&c)->x.enabled, 0);
    assert_string_equal(SYSLOG(&c)->facility, "local5");
    assert_int_equal(UNIX_SOCKET(&c)->x.enabled, 0);
    assert_string_equal(UNIX_SOCKET(&c)->path, "/run/linkwatch/eve.sock");

    assert_int_equal(c.stats.enabled, 1);
    assert_int_equal(c.stats.interval, 8);
    assert_int_equal(c.metrics.enabled, 1);
    assert_string_equal(c.metrics.listen, "127.0.0.1:9917");
    assert_string_equal(c.control.socket, "/run/linkwatch/control.sock");
    assert_string_equal(c.privileges.user, "");
    assert_string_equal(c.privileges.group, "");
    assert_string_equal(c.privileges.chroot, "");
    assert_string_equal(c.console.listen, "127.0.0.1:8080");
    assert_string_equal(c.console.users_file, "/etc/linkwatch/console-users");
    assert_string_equal(c.logging_level, "warning");
    assert_null(c.source_path);

    config_free(&c);
    assert_null(c.sensor_id);
    assert_null(c.home_net.v);
    assert_int_equal(c.flow.max_flows, 0);
    config_free(&c);                    /* a freed config frees again harmlessly */
}

/* The shipped file, loaded as a -c file, gives the same as no file. */
static void test_defaults_as_file(void **state)
{
    const char *p = write_yaml("linkwatch.yaml", config_default_yaml);
    struct lw_config c;

    load_ok(&c, p, NULL, 0);
    assert_string_equal(c.source_path, p);
    assert_string_equal(c.sensor_id, "dc1-link1");
    assert_int_equal(c.address_group_names.n, 15);
    config_free(&c);
}

/* ------------------------------------------------------------------ -c merge */

static void test_file_merges(void **state)
{
    const char *p = write_yaml("site.yaml",
        "sensor-id: dc2-link7\n"
        "home-net: [100.64.0.0/10, \"2001:db8::/32\"]\n"
        "vars:\n"
        "  address-groups:\n"
        "    DB_SERVERS: [10.1.0.0/16, 10.2.0.0/16]\n"
        "  port-groups:\n"
        "    HTTP_PORTS: \"[80,8000:8100]\"\n"
        "capture:\n"
        "  interface: ens1f0\n"
        "  buffer-size: 1gb\n"
        "flow:\n"
        "  timeouts:\n"
        "    udp: 2m\n"
        "rules:\n"
        "  files: [a.rules, b/*.rules]\n"
        "geoip:\n"
        "  databases:\n"
        "redis:\n"
        "  retention: {hour: 12h}\n"
        "outputs:\n"
        "  eve-file:\n"
        "    types: [alert]\n"
        "stats:\n"
        "logging: {level: debug}\n");
    struct lw_config c;

    load_ok(&c, p, NULL, 0);
    assert_string_equal(c.source_path, p);
    assert_string_equal(c.sensor_id, "dc2-link7");
    assert_int_equal(c.home_net.n, 2);
    assert_string_equal(c.home_net.v[1], "2001:db8::/32");
    /* "$home-net" follows home-net, wherever it was set */
    assert_string_equal(ADDR(&c, "HOME_NET"), "[100.64.0.0/10,2001:db8::/32]");
    assert_string_equal(ADDR(&c, "DB_SERVERS"), "[10.1.0.0/16,10.2.0.0/16]");
    assert_string_equal(ADDR(&c, "EXTERNAL_NET"), "!$HOME_NET");
    assert_string_equal(c.address_group_names.v[c.address_group_names.n - 1], "DB_SERVERS");
    assert_string_equal(PORT(&c, "HTTP_PORTS"), "[80,8000:8100]");
    assert_string_equal(PORT(&c, "SSH_PORTS"), "22");
    /* mappings merge key by key */
    assert_string_equal(c.capture.interface, "ens1f0");
    assert_int_equal(c.capture.buffer_size, 1ULL << 30);
    assert_int_equal(c.capture.snaplen, 65535);
    assert_int_equal(c.flow.timeout_udp, 120);
    assert_int_equal(c.flow.timeout_tcp_established, 3600);
    assert_int_equal(c.flow.max_flows, 1000000);
    assert_int_equal(c.redis.retention_hour, 12 * 3600);
    assert_int_equal(c.redis.retention_minute, 2 * 86400);
    /* lists replace */
    assert_int_equal(c.rules.files.n, 2);
    assert_string_equal(c.rules.files.v[0], "a.rules");
    assert_string_equal(c.rules.files.v[1], "b/*.rules");
    assert_int_equal(EVE_FILE(&c)->x.types.n, 1);
    assert_string_equal(EVE_FILE(&c)->x.types.v[0], "alert");
    assert_int_equal(c.geoip.databases.n, 0);
    /* an empty value leaves a mapping as it was */
    assert_int_equal(c.stats.enabled, 1);
    assert_int_equal(c.stats.interval, 8);
    assert_string_equal(c.logging_level, "debug");
    config_free(&c);
}

static void test_empty_file(void **state)
{
    const char *p = write_yaml("empty.yaml", "# nothing here\n");
    struct lw_config c;

    load_ok(&c, p, NULL, 0);
    assert_string_equal(c.sensor_id, "dc1-link1");
    assert_int_equal(c.flow.max_flows, 1000000);
    config_free(&c);
}

/* ------------------------------------------------------------------ --set */

static void test_set_overrides(void **state)
{
    const char *p = write_yaml("site.yaml", "flow: {max-flows: 5000}\ncapture: {bpf: \"not port 22\"}\n");
    char *sets[] = {
        "flow.max-flows=7000",                      /* beats the file */
        "outputs.eve-file.enabled=no",
        "home-net=[10.0.0.0/8, 192.0.2.1]",
        "flow.timeouts.tcp-established=2h",
        "vars.port-groups.HTTP_PORTS=[80,81]",
        "vars.address-groups.NEW_NET=198.51.100.0/24",
        "redis={enabled: yes, port: 6380}",         /* a mapping merges */
        "capture.bpf=",                             /* empty value: empty text */
        "rules.files=only.rules",                   /* one value: a list of one */
        "sensor-id=first",
        "sensor-id=second",                         /* the last one wins */
        "default-log-dir=/tmp/lw-logs",
        "geoip.databases=[/a.mmdb, /b.mmdb]",
    };
    struct lw_config c;

    load_ok(&c, p, sets, sizeof sets / sizeof sets[0]);
    assert_int_equal(c.flow.max_flows, 7000);
    assert_int_equal(EVE_FILE(&c)->x.enabled, 0);
    assert_string_equal(EVE_FILE(&c)->filename, "eve.json");
    assert_int_equal(c.home_net.n, 2);
    assert_string_equal(c.home_net.v[1], "192.0.2.1");
    assert_string_equal(ADDR(&c, "HOME_NET"), "[10.0.0.0/8,192.0.2.1]");
    assert_string_equal(ADDR(&c, "NEW_NET"), "198.51.100.0/24");
    assert_int_equal(c.flow.timeout_tcp_established, 7200);
    assert_int_equal(c.flow.timeout_udp, 60);
    assert_string_equal(PORT(&c, "HTTP_PORTS"), "[80,81]");
    assert_int_equal(c.redis.enabled, 1);
    assert_int_equal(c.redis.port, 6380);
    assert_string_equal(c.redis.server, "127.0.0.1");
    assert_string_equal(c.capture.bpf, "");
    assert_int_equal(c.rules.files.n, 1);
    assert_string_equal(c.rules.files.v[0], "only.rules");
    assert_string_equal(c.sensor_id, "second");
    assert_string_equal(c.default_log_dir, "/tmp/lw-logs");
    assert_int_equal(c.geoip.databases.n, 2);
    assert_string_equal(c.geoip.databases.v[1], "/b.mmdb");
    config_free(&c);
}

static void test_set_value_kinds(void **state)
{
    char *sets[] = {
        "capture.bpf=tcp port 80 and host 10.0.0.1",
        "metrics.listen=\"[::1]:9917\"",             /* YAML: quote a leading [ */
        "console.listen=localhost:8081",
        "dpi.enabled=off",
        "capture.promisc=false",
        "rules.strict=TRUE",
        "defrag.memcap=512kb",
        "workers=4",
        "redis.password=\"yes\"",
    };
    struct lw_config c;

    load_ok(&c, NULL, sets, sizeof sets / sizeof sets[0]);
    assert_string_equal(c.capture.bpf, "tcp port 80 and host 10.0.0.1");
    assert_string_equal(c.metrics.listen, "[::1]:9917");
    assert_string_equal(c.console.listen, "localhost:8081");
    assert_int_equal(c.dpi.enabled, 0);
    assert_int_equal(c.capture.promisc, 0);
    assert_int_equal(c.rules.strict, 1);
    assert_int_equal(c.defrag.memcap, 512 * 1024);
    assert_int_equal(c.workers, 4);
    assert_string_equal(c.redis.password, "yes");
    config_free(&c);
}

/* ------------------------------------------------------------------ errors from a file */

static void test_error_unknown_key(void **state)
{
    const char *p = write_yaml("x.yaml", "flow:\n  max-flows: 10\n  timeoutz:\n    udp: 3\n");
    char want[512];

    snprintf(want, sizeof want, "%s:3: flow.timeoutz: unknown key", p);
    expect_error(p, NULL, 0, want);
    expect_file_error("sensor-id: a\nsensorid: b\n", "2: sensorid: unknown key");
    expect_file_error("flow:\n  max-flows: 10\n  timeouts:\n    udp: 3\n    icmp: 5\n",
                      "5: flow.timeouts.icmp: unknown key");
}

/* The example from the brief, with the error on line 12. */
static void test_error_bad_int(void **state)
{
    const char *p = write_yaml("linkwatch.yaml",
        "# site config\n\nsensor-id: dc1-link1\nhome-country: CN\n\ncapture:\n"
        "  interface: eth1\n  snaplen: 1500\n\n# flows\nflow:\n  max-flows: lots\n");
    char want[512];

    snprintf(want, sizeof want,
             "%s:12: flow.max-flows: expected an integer from 1 to 100000000, got 'lots'", p);
    expect_error(p, NULL, 0, want);
    expect_file_error("workers: -1\n", "1: workers: expected an integer from 0 to 256, got '-1'");
    expect_file_error("workers: 2.5\n", "1: workers: expected an integer from 0 to 256, got '2.5'");
    expect_file_error("redis:\n  port: 99999999999999999999999\n",
                      "2: redis.port: expected an integer from 1 to 65535, got '99999999999999999999999'");
}

static void test_error_out_of_range(void **state)
{
    expect_file_error("flow:\n  max-flows: 0\n",
                      "2: flow.max-flows: expected an integer from 1 to 100000000, got '0'");
    expect_file_error("flow: {max-flows: 100000001}\n",
                      "1: flow.max-flows: expected an integer from 1 to 100000000, got '100000001'");
    expect_file_error("capture:\n  snaplen: 63\n",
                      "2: capture.snaplen: expected an integer from 64 to 262144, got '63'");
    expect_file_error("capture:\n  buffer-size: 3gb\n",
                      "2: capture.buffer-size: expected a size such as 64mb, from 64kb to 2gb, got '3gb'");
    expect_file_error("flow:\n  timeouts:\n    udp: 8d\n",
                      "3: flow.timeouts.udp: expected a duration such as 90s, 15m, 12h or 2d, from 1s to 7d, got '8d'");
    expect_file_error("geoip:\n  cache-size: 16777217\n",
                      "2: geoip.cache-size: expected an integer from 0 to 16777216, got '16777217'");
    expect_set_error("geoip.summary-interval=0",
                     "--set geoip.summary-interval: expected a duration such as 90s, 15m, 12h or 2d, from 1s to 1d, got '0'");
}

static void test_error_bad_bool(void **state)
{
    expect_file_error("dpi:\n  enabled: maybe\n", "2: dpi.enabled: expected yes or no, got 'maybe'");
    expect_file_error("dpi:\n  enabled:\n", "2: dpi.enabled: expected yes or no, got an empty value");
}

static void test_error_bad_size(void **state)
{
    expect_file_error("defrag:\n  memcap: 32xb\n",
                      "2: defrag.memcap: expected a size such as 64mb, from 64kb to 64gb, got '32xb'");
    expect_file_error("defrag:\n  memcap: mb\n",
                      "2: defrag.memcap: expected a size such as 64mb, from 64kb to 64gb, got 'mb'");
}

static void test_error_bad_duration(void **state)
{
    expect_file_error("redis:\n  retention:\n    minute: 2w\n",
                      "3: redis.retention.minute: expected a duration such as 90s, 15m, 12h or 2d, from 1s to 3650d, got '2w'");
    expect_file_error("stats: {interval: soon}\n",
                      "1: stats.interval: expected a duration such as 90s, 15m, 12h or 2d, from 1s to 1d, got 'soon'");
}

static void test_error_bad_cidr(void **state)
{
    /* the line is the bad element's, not the key's */
    expect_file_error("home-net:\n  - 10.0.0.0/8\n  - 10.0.0.0/33\n",
                      "3: home-net: expected an address or CIDR such as 10.0.0.0/8, got '10.0.0.0/33'");
    expect_file_error("home-net: [10.0.0.0/8, corp-lan]\n",
                      "1: home-net: expected an address or CIDR such as 10.0.0.0/8, got 'corp-lan'");
    /* a prefix length is digits only: strtol alone would take the sign */
    expect_file_error("home-net: [10.0.0.0/+8]\n",
                      "1: home-net: expected an address or CIDR such as 10.0.0.0/8, got '10.0.0.0/+8'");
    expect_file_error("home-net: [10.0.0.0/]\n",
                      "1: home-net: expected an address or CIDR such as 10.0.0.0/8, got '10.0.0.0/'");
    expect_file_error("home-net: []\n",
                      "1: home-net: expected a list of addresses or CIDRs, got an empty list");
    expect_file_error("home-net: {a: 1}\n",
                      "1: home-net: expected a list of addresses or CIDRs, got a mapping");
}

static void test_error_bad_country(void **state)
{
    expect_file_error("home-country: China\n",
                      "1: home-country: expected a two-letter upper-case country code such as CN, got 'China'");
    expect_file_error("home-country: cn\n",
                      "1: home-country: expected a two-letter upper-case country code such as CN, got 'cn'");
}

static void test_error_other_values(void **state)
{
    expect_file_error("flow: 3\n", "1: flow: expected a mapping, got '3'");
    expect_file_error("flow: [1]\n", "1: flow: expected a mapping, got a list");
    expect_file_error("sensor-id: [a]\n",
                      "1: sensor-id: expected 1 to 64 letters, digits, '.', '-' or '_', other than 'all', got a list");
    expect_file_error("sensor-id: \"dc1 {x}\"\n",
                      "1: sensor-id: expected 1 to 64 letters, digits, '.', '-' or '_', other than 'all', got 'dc1 {x}'");
    expect_file_error("sensor-id: all\n",
                      "1: sensor-id: expected 1 to 64 letters, digits, '.', '-' or '_', other than 'all', got 'all'");
    expect_file_error("redis:\n  prefix: \"lw{x}\"\n",
                      "2: redis.prefix: expected 1 to 64 letters, digits, '.', '-' or '_', got 'lw{x}'");
    expect_file_error("redis:\n  spool-max-size: 100\n",
                      "2: redis.spool-max-size: expected a size such as 64mb, from 1kb to 1024gb, got '100'");
    expect_file_error("metrics:\n  listen: 9917\n",
                      "2: metrics.listen: expected host:port such as 127.0.0.1:9917, got '9917'");
    expect_file_error("metrics:\n  listen: \"::1:9917\"\n",
                      "2: metrics.listen: expected host:port such as 127.0.0.1:9917, got '::1:9917'");
    expect_file_error("logging:\n  level: loud\n",
                      "2: logging.level: expected one of error, warning, info, debug, got 'loud'");
    expect_file_error("outputs:\n  eve-file:\n    types: [alert, smtp]\n",
                      "3: outputs.eve-file.types: expected one of alert, flow, stats, geo_summary, reload, http, "
                      "dns, tls, ssh, smb, ftp, ftp_data, fileinfo, got 'smtp'");
    expect_file_error("vars:\n  port-groups:\n    BAD-NAME: 80\n",
                      "3: vars.port-groups.BAD-NAME: a variable name is 1 to 64 letters, digits or '_'");
    expect_file_error("vars:\n  port-groups:\n    WEB: {a: b}\n",
                      "3: vars.port-groups.WEB: expected a text value or a list of text values, got a mapping");
    expect_file_error("vars:\n  address-groups: [a]\n",
                      "2: vars.address-groups: expected a mapping of NAME: value, got a list");
    expect_file_error("flow:\n  max-flows: 1\n  max-flows: 2\n", "3: flow.max-flows: duplicate key");
    expect_file_error("- a\n- b\n", "1: expected a mapping at the top level, got a list");
    expect_file_error("a: &x [*x]\n", "1: a: nested more than 16 levels deep");
    expect_file_error("flow: {}\n---\nflow: {}\n", "3: more than one YAML document");
}

static void test_error_yaml_syntax(void **state)
{
    expect_file_error("flow:\n  max-flows: [1, 2\nfoo: bar\n",
                      "3: YAML syntax error: did not find expected ',' or ']'");
    expect_file_error("sensor-id: a\ncapture: b\n  interface: eth0\n",
                      "3: YAML syntax error: mapping values are not allowed in this context");
    expect_file_error("sensor-id: \"abc\n", "2: YAML syntax error: found unexpected end of stream");
    expect_file_error("a: b\nx: \xff\n", "2: YAML syntax error: invalid leading UTF-8 octet");
}

static void test_error_cannot_open(void **state)
{
    char p[256], want[512];

    snprintf(p, sizeof p, "%s/does-not-exist.yaml", tmpdir);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", p);
    expect_error(p, NULL, 0, want);
    /* a folder opens but cannot be read */
    snprintf(want, sizeof want, "%s: cannot read: Is a directory", tmpdir);
    expect_error(tmpdir, NULL, 0, want);
}

/* ------------------------------------------------------------------ errors from --set */

/* The Redis password: password-file wins over LINKWATCH_REDIS_PASSWORD,
 * which wins over redis.password; an unreadable or empty file is an error. */
static void test_redis_password_sources(void **state)
{
    struct lw_config cfg;
    const char *pw = write_yaml("redis-pw", "s3cret-from-file\nsecond line ignored\n");
    char set_file[400], *sets[2] = { "redis.password=in-the-config", set_file };
    char missing[300];

    (void)state;
    unsetenv("LINKWATCH_REDIS_PASSWORD");
    load_ok(&cfg, NULL, sets, 1);
    assert_string_equal(cfg.redis.password, "in-the-config");
    config_free(&cfg);
    setenv("LINKWATCH_REDIS_PASSWORD", "from-env", 1);
    load_ok(&cfg, NULL, sets, 1);
    assert_string_equal(cfg.redis.password, "from-env");
    config_free(&cfg);
    snprintf(set_file, sizeof set_file, "redis.password-file=%s", pw);
    load_ok(&cfg, NULL, sets, 2);
    assert_string_equal(cfg.redis.password, "s3cret-from-file");
    config_free(&cfg);
    unsetenv("LINKWATCH_REDIS_PASSWORD");
    snprintf(missing, sizeof missing, "%s/no-such-pw", tmpdir);
    snprintf(set_file, sizeof set_file, "redis.password-file=%s", missing);
    {
        struct lw_config c2;
        char err[512];

        assert_int_equal(config_load(&c2, NULL, sets, 2, err, sizeof err), -1);
        assert_non_null(strstr(err, missing));
    }
    pw = write_yaml("redis-pw", "\n");
    snprintf(set_file, sizeof set_file, "redis.password-file=%s", pw);
    {
        struct lw_config c2;
        char err[512];

        assert_int_equal(config_load(&c2, NULL, sets, 2, err, sizeof err), -1);
        assert_non_null(strstr(err, "empty"));
    }
}

static void test_error_set(void **state)
{
    expect_set_error("flow.timeoutz=3", "--set flow.timeoutz: unknown key");
    expect_set_error("capture.snaplen.x=3", "--set capture.snaplen.x: unknown key");
    expect_set_error("vars.port-groups.A.B=3", "--set vars.port-groups.A.B: unknown key");
    expect_set_error("flow.max-flows", "--set flow.max-flows: expected key.path=value");
    expect_set_error("=5", "--set =5: missing key path before '='");
    expect_set_error("flow..max-flows=5", "--set flow..max-flows: empty part in key path");
    expect_set_error("stream.inspect-window=1mb",
                     "--set stream.inspect-window: expected a size such as 64mb, from 0 to 64kb, got '1mb'");
    expect_set_error("flow.max-flows=lots",
                     "--set flow.max-flows: expected an integer from 1 to 100000000, got 'lots'");
    expect_set_error("home-net=[10.0.0.0/8, 300.1.1.1]",
                     "--set home-net: expected an address or CIDR such as 10.0.0.0/8, got '300.1.1.1'");
    expect_set_error("flow={max-flows: 5, bogus: 1}", "--set flow.bogus: unknown key");
    expect_set_error("flow.max-flows=[1", "--set flow.max-flows: YAML syntax error: did not find expected ',' or ']'");
    expect_set_error("outputs.eve-file.enabled=", "--set outputs.eve-file.enabled: expected yes or no, got an empty value");
    expect_set_error("default-log-dir=", "--set default-log-dir: expected a non-empty text value, got an empty value");
    expect_set_error("capture.interface=\"\"", "--set capture.interface: expected a non-empty text value, got ''");
}

/* The first failing layer is reported; a bad --set after a bad file is not. */
static void test_error_order(void **state)
{
    const char *p = write_yaml("x.yaml", "workers: many\n");
    char *sets[] = { "flow.max-flows=5", "bogus=1", "workers=lots" };
    char want[512];

    snprintf(want, sizeof want, "%s:1: workers: expected an integer from 0 to 256, got 'many'", p);
    expect_error(p, sets, 3, want);
    expect_error(NULL, sets, 3, "--set bogus: unknown key");
}

static void test_error_no_errbuf(void **state)
{
    struct lw_config c;
    char *sets[] = { "bogus=1" };

    assert_int_equal(config_load(&c, NULL, sets, 1, NULL, 0), -1);
    assert_null(c.sensor_id);
}

/* ------------------------------------------------------------------ parsers */

static void test_parse_size(void **state)
{
    uint64_t v;

    assert_int_equal(config_parse_size("64mb", &v), 0);
    assert_int_equal(v, 64ULL << 20);
    assert_int_equal(config_parse_size("1gb", &v), 0);
    assert_int_equal(v, 1ULL << 30);
    assert_int_equal(config_parse_size("512kb", &v), 0);
    assert_int_equal(v, 512ULL << 10);
    assert_int_equal(config_parse_size("1000", &v), 0);
    assert_int_equal(v, 1000);
    assert_int_equal(config_parse_size("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(config_parse_size("32MB", &v), 0);
    assert_int_equal(v, 32ULL << 20);
    assert_int_equal(config_parse_size("2 GiB", &v), 0);
    assert_int_equal(v, 2ULL << 30);
    assert_int_equal(config_parse_size("100b", &v), 0);
    assert_int_equal(v, 100);
    assert_int_equal(config_parse_size("8k", &v), 0);
    assert_int_equal(v, 8192);
    assert_int_equal(config_parse_size("18446744073709551615", &v), 0);
    assert_int_equal(v, UINT64_MAX);

    assert_int_equal(config_parse_size("", &v), -1);
    assert_int_equal(config_parse_size("mb", &v), -1);
    assert_int_equal(config_parse_size("-1", &v), -1);
    assert_int_equal(config_parse_size("1.5gb", &v), -1);
    assert_int_equal(config_parse_size("64xb", &v), -1);
    assert_int_equal(config_parse_size("1tb", &v), -1);
    assert_int_equal(config_parse_size("18446744073709551616", &v), -1);
    assert_int_equal(config_parse_size("17179869184gb", &v), -1);
    assert_int_equal(config_parse_size(NULL, &v), -1);
}

static void test_parse_duration(void **state)
{
    uint64_t v;

    assert_int_equal(config_parse_duration("2d", &v), 0);
    assert_int_equal(v, 172800);
    assert_int_equal(config_parse_duration("30d", &v), 0);
    assert_int_equal(v, 30 * 86400);
    assert_int_equal(config_parse_duration("12h", &v), 0);
    assert_int_equal(v, 43200);
    assert_int_equal(config_parse_duration("90m", &v), 0);
    assert_int_equal(v, 5400);
    assert_int_equal(config_parse_duration("45s", &v), 0);
    assert_int_equal(v, 45);
    assert_int_equal(config_parse_duration("3600", &v), 0);
    assert_int_equal(v, 3600);
    assert_int_equal(config_parse_duration("1H", &v), 0);
    assert_int_equal(v, 3600);

    assert_int_equal(config_parse_duration("", &v), -1);
    assert_int_equal(config_parse_duration("d", &v), -1);
    assert_int_equal(config_parse_duration("2w", &v), -1);
    assert_int_equal(config_parse_duration("1h30m", &v), -1);
    assert_int_equal(config_parse_duration("-5s", &v), -1);
    assert_int_equal(config_parse_duration("213503982334602d", &v), -1);
    assert_int_equal(config_parse_duration(NULL, &v), -1);
}

/* ------------------------------------------------------------------ main */

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_config.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    static const char *const names[] = {
        "bad.yaml", "x.yaml", "site.yaml", "empty.yaml", "linkwatch.yaml", "redis-pw",
    };
    char p[256];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        unlink(p);
    }
    return rmdir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_defaults_as_file),
        cmocka_unit_test(test_file_merges),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_set_overrides),
        cmocka_unit_test(test_set_value_kinds),
        cmocka_unit_test(test_error_unknown_key),
        cmocka_unit_test(test_error_bad_int),
        cmocka_unit_test(test_error_out_of_range),
        cmocka_unit_test(test_error_bad_bool),
        cmocka_unit_test(test_error_bad_size),
        cmocka_unit_test(test_error_bad_duration),
        cmocka_unit_test(test_error_bad_cidr),
        cmocka_unit_test(test_error_bad_country),
        cmocka_unit_test(test_error_other_values),
        cmocka_unit_test(test_error_yaml_syntax),
        cmocka_unit_test(test_error_cannot_open),
        cmocka_unit_test(test_error_set),
        cmocka_unit_test(test_redis_password_sources),
        cmocka_unit_test(test_error_order),
        cmocka_unit_test(test_error_no_errbuf),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
