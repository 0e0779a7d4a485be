/* test_dpi.c - the nDPI stage: app_proto names, metadata on corpus captures, memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <malloc.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "dpi.h"
#include "flow.h"
#include "json.h"
#include "slab.h"
#include "util.h"

/* After ours: nDPI pulls in <netinet/tcp.h>, whose TH_* clash with packet-t.h's. */
#include <ndpi_api.h>


/* ---- nDPI heap accounting (through nDPI's allocator hooks) ---------- */

static int64_t ndpi_live, ndpi_peak;

static void *count_malloc(size_t n)
{
    void *p = malloc(n);

    if (p) {
        ndpi_live += (int64_t)malloc_usable_size(p);
        if (ndpi_live > ndpi_peak)
            ndpi_peak = ndpi_live;
    }
    return p;
}

static void count_free(void *p)
{
    if (p)
        ndpi_live -= (int64_t)malloc_usable_size(p);
    free(p);
}

/* ---- driving captures through decode -> flow -> dpi ------------------ */

union meta {
    struct dpi_tls  tls;
    struct dpi_http http;
    struct dpi_dns  dns;
    struct dpi_ssh  ssh;
};

/* What a flow left behind when it ended, copied before the flow is reused. */
struct seen {
    struct flow_key key;
    int has_result;
    struct dpi_result r;     /* metadata pointers re-pointed into m */
    union meta m;
    char eve[4096];
};

struct run {
    struct dpi_engine *e;
    struct seen *v;
    size_t n, cap;
    struct jbuf j;
};

/* $LW_CORPUS_PCAPS, else $LW_CORPUS/pcaps (set by make check), else none:
 * the corpus tests then skip. */
static const char *corpus_dir(void)
{
    static char buf[256];
    const char *d = getenv("LW_CORPUS_PCAPS");

    if (d)
        return d;
    d = getenv("LW_CORPUS");
    snprintf(buf, sizeof buf, "%s/pcaps", d ? d : "/nonexistent");
    return buf;
}

static void copy_result(struct seen *s, const struct dpi_result *r)
{
    s->r = *r;
    if (r->tls)  { s->m.tls = *r->tls;   s->r.tls = &s->m.tls; }
    if (r->quic) { s->m.tls = *r->quic;  s->r.quic = &s->m.tls; }
    if (r->http) { s->m.http = *r->http; s->r.http = &s->m.http; }
    if (r->dns)  { s->m.dns = *r->dns;   s->r.dns = &s->m.dns; }
    if (r->ssh)  { s->m.ssh = *r->ssh;   s->r.ssh = &s->m.ssh; }
}

static void on_flow_end(struct flow *f, void *arg)
{
    struct run *run = arg;
    const struct dpi_result *r;
    struct seen *s;

    dpi_flow_end(run->e, f);
    if (run->n == run->cap) {
        run->cap = run->cap ? run->cap * 2 : 16;
        run->v = realloc(run->v, run->cap * sizeof *run->v);
        assert_non_null(run->v);
    }
    s = &run->v[run->n++];
    memset(s, 0, sizeof *s);
    s->key = f->key;
    if ((r = dpi_flow_result(f)) != NULL) {
        s->has_result = 1;
        copy_result(s, r);
    }
    jbuf_reset(&run->j);
    jbuf_open_object(&run->j, NULL);
    dpi_eve_write(&run->j, f);
    jbuf_close_object(&run->j);
    assert_true(jbuf_ok(&run->j));
    assert_true(run->j.len < sizeof s->eve);
    memcpy(s->eve, run->j.buf, run->j.len);
    s->eve[run->j.len] = '\0';
    dpi_flow_free(f);
    assert_null(f->dpi);
}

static struct flow_table *new_table(struct run *run)
{
    struct flow_config fc = { .max_flows = 65536 };
    int i;

    /* Long timeouts: a capture's flows end only at the final flush, as in ndpiReader. */
    for (i = 0; i < FLOW_TC_MAX; i++)
        fc.timeout[i] = 1000000;
    return flow_table_new(&fc, 0, on_flow_end, run);
}

/* Runs one capture from the corpus through the real decoder and flow table.
 * Returns 0, or -1 when the corpus is missing (the caller skips). */
static int run_pcap(struct run *run, const char *name)
{
    struct defrag_config dfc = { .max_trackers = 1024, .memcap = 16u << 20,
                                 .timeout_sec = 60, .max_datagram = 65535 + 60 };
    char path[512], err[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *data;
    struct flow_table *ft;
    struct decoder dc;
    pcap_t *pc;

    snprintf(path, sizeof path, "%s/%s", corpus_dir(), name);
    if (access(path, R_OK) != 0) {
        print_message("skipped: %s not found (corpus missing)\n", path);
        return -1;
    }
    pc = pcap_open_offline(path, err);
    assert_non_null(pc);
    assert_int_equal(decoder_init(&dc, pcap_datalink(pc), &dfc), 0);
    ft = new_table(run);
    assert_non_null(ft);
    while (pcap_next_ex(pc, &h, &data) == 1) {
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        struct packet p;
        struct flow *f;

        memset(&p, 0, sizeof p);
        if (decode_packet(&dc, &p, data, h->caplen, h->len, ts) != DECODE_OK)
            continue;
        if ((f = flow_table_update(ft, &p)) != NULL)
            dpi_process(run->e, f, &p);
    }
    flow_table_flush(ft, FLOW_END_SHUTDOWN);
    flow_table_free(ft);
    decoder_destroy(&dc);
    pcap_close(pc);
    return 0;
}

static void run_init(struct run *run, const struct dpi_config *cfg)
{
    memset(run, 0, sizeof *run);
    run->e = dpi_engine_new(cfg);
    assert_non_null(run->e);
    jbuf_init(&run->j);
}

static void run_done(struct run *run)
{
    const struct dpi_stats *st = dpi_engine_stats(run->e);

    /* Every flow ended and was freed: nothing may be left on the books. */
    assert_int_equal(st->states_active, 0);
    assert_int_equal(st->state_bytes, 0);
    assert_int_equal(st->results_active, 0);
    assert_int_equal(st->result_bytes, 0);
    dpi_engine_free(run->e);
    jbuf_free(&run->j);
    free(run->v);
}

static const struct dpi_config default_cfg = { .enabled = 1, .max_packets = 0, .protos_file = NULL };

/* The flow with this port on either side (and this L4 protocol). */
static const struct seen *find_port(const struct run *run, uint8_t proto, uint16_t port)
{
    size_t i;

    for (i = 0; i < run->n; i++)
        if (run->v[i].key.proto == proto &&
            (run->v[i].key.sport == port || run->v[i].key.dport == port))
            return &run->v[i];
    return NULL;
}

static const struct seen *find_port_ok(const struct run *run, uint8_t proto, uint16_t port)
{
    const struct seen *s = find_port(run, proto, port);

    assert_non_null(s);
    assert_true(s->has_result);
    return s;
}

/* ---- tests ------------------------------------------------------------ */

static void test_app_proto_names(void **state)
{
    (void)state;
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_HTTP), "http");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_HTTP_CONNECT), "http");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_TLS), "tls");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_MAIL_SMTPS), "tls");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_DNS), "dns");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_SSH), "ssh");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_SMBV1), "smb");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_SMBV23), "smb");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_FTP_CONTROL), "ftp");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_FTP_DATA), "ftp-data");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_MAIL_SMTP), "smtp");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_MAIL_IMAP), "imap");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_MAIL_POP), "pop3");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_QUIC), "quic");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_DHCP), "dhcp");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_NTP), "ntp");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_SNMP), "snmp");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_RDP), "rdp");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_SIP), "sip");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_MQTT), "mqtt");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_MODBUS), "modbus");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_DNP3), "dnp3");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_KERBEROS), "krb5");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_NFS), "nfs");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_TFTP), "tftp");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_VNC), "rfb");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_TELNET), "telnet");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_BITTORRENT), "bittorrent");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_LDAP), "ldap");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_MYSQL), "mysql");
    assert_string_equal(dpi_app_proto_name(NDPI_PROTOCOL_POSTGRES), "pgsql");
    /* the same numbers written out, so a renumbered nDPI is noticed */
    assert_string_equal(dpi_app_proto_name(91), "tls");
    assert_string_equal(dpi_app_proto_name(7), "http");
    assert_string_equal(dpi_app_proto_name(5), "dns");
    assert_string_equal(dpi_app_proto_name(188), "quic");
    /* no Suricata parser */
    assert_null(dpi_app_proto_name(NDPI_PROTOCOL_UNKNOWN));
    assert_null(dpi_app_proto_name(NDPI_PROTOCOL_TOR));
    assert_null(dpi_app_proto_name(NDPI_PROTOCOL_YOUTUBE));
    assert_null(dpi_app_proto_name(NDPI_PROTOCOL_OPENVPN));
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(dpi_risk_name(NDPI_BINARY_APPLICATION_TRANSFER), "Binary Application Transfer");
    assert_string_equal(dpi_risk_name(NDPI_HTTP_NUMERIC_IP_HOST), "HTTP Numeric IP Address");
    assert_null(dpi_risk_name(0));
    assert_null(dpi_risk_name(NDPI_MAX_RISK));
    assert_null(dpi_risk_name(1000));
    assert_string_equal(dpi_confidence_name(NDPI_CONFIDENCE_DPI), "DPI");
    assert_string_equal(dpi_confidence_name(NDPI_CONFIDENCE_MATCH_BY_PORT), "Match by port");
    assert_string_equal(dpi_confidence_name(200), "Unknown");
    assert_int_equal(dpi_ndpi_flow_size(), SIZEOF_FLOW_STRUCT);
}

static void test_engine_config(void **state)
{
    struct dpi_config off = { .enabled = 0 };
    struct dpi_config bad = { .enabled = 1, .protos_file = "/nonexistent/protos.txt" };
    struct dpi_engine *e;
    struct flow f;
    struct packet p;
    uint8_t ip[20] = { 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2 };

    (void)state;
    e = dpi_engine_new(&off);
    assert_non_null(e);
    memset(&f, 0, sizeof f);
    memset(&p, 0, sizeof p);
    p.l3 = ip;
    p.l3_len = sizeof ip;
    p.flow = &f;
    dpi_process(e, &f, &p);
    assert_null(f.dpi);
    dpi_flow_end(e, &f);
    dpi_flow_free(&f);
    assert_int_equal(dpi_engine_stats(e)->flows_inspected, 0);
    dpi_engine_free(e);

    assert_null(dpi_engine_new(&bad));
}

/* 443-curl.pcap, reference line:
 * TCP 192.168.1.13:55523 <-> 178.62.197.130:443 [proto: 91.26/TLS.ntop][Confidence: DPI]
 * [cat: Network/14][Hostname/SNI: www.ntop.org][ALPN: h2;http/1.1][TLSv1.2]
 * [JA3C: 2a26b1a62e40d25d4de3babc9d532f30][JA3S: ae53107a2e47ea20c72ac44821a728bf]
 * [Issuer: C=US, O=Let's Encrypt, CN=Let's Encrypt Authority X3][Subject: CN=www.ntop.org]
 * [Certificate SHA-1: DB:A7:E4:3E:6D:BB:21:AB:68:47:35:E8:0B:8F:15:DF:DB:C7:C9:6F]
 * [Validity: 2019-12-17 01:17:28 - 2020-03-16 01:17:28] */
static void test_tls_443_curl(void **state)
{
    struct run run;
    const struct seen *s;

    (void)state;
    run_init(&run, &default_cfg);
    if (run_pcap(&run, "443-curl.pcap") != 0) {
        run_done(&run);
        skip();
    }
    assert_int_equal(run.n, 1);
    s = find_port_ok(&run, 6, 443);
    assert_int_equal(s->r.master_id, 91);
    assert_int_equal(s->r.app_id, 26);
    assert_string_equal(s->r.protocol, "TLS.ntop");
    assert_string_equal(s->r.app_proto, "tls");
    assert_string_equal(s->r.category, "Network");
    assert_string_equal(dpi_confidence_name(s->r.confidence), "DPI");
    assert_false(s->r.flags & DPI_F_GIVEUP);
    assert_non_null(s->r.tls);
    assert_null(s->r.http);
    assert_string_equal(s->r.tls->sni, "www.ntop.org");
    assert_string_equal(s->r.tls->version, "TLS 1.2");
    assert_int_equal(s->r.tls->version_num, 0x0303);
    assert_string_equal(s->r.tls->ja3, "2a26b1a62e40d25d4de3babc9d532f30");
    assert_string_equal(s->r.tls->ja3s, "ae53107a2e47ea20c72ac44821a728bf");
    assert_string_equal(s->r.tls->subject, "CN=www.ntop.org");
    assert_string_equal(s->r.tls->issuerdn, "C=US, O=Let's Encrypt, CN=Let's Encrypt Authority X3");
    assert_string_equal(s->r.tls->fingerprint, "db:a7:e4:3e:6d:bb:21:ab:68:47:35:e8:0b:8f:15:df:db:c7:c9:6f");
    assert_int_equal(s->r.tls->notbefore, 1576545448);    /* 2019-12-17 01:17:28 UTC */
    assert_int_equal(s->r.tls->notafter, 1584321448);     /* 2020-03-16 01:17:28 UTC */
    assert_string_equal(s->r.tls->alpn, "h2,http/1.1");
    /* detection ended once the certificate was seen, well before the 109 packets */
    assert_true(s->r.pkts < 32);
    assert_false(s->r.flags & DPI_F_MAXPKTS);

    assert_string_equal(s->eve,
        "{\"app_proto\":\"tls\","
        "\"ndpi\":{\"protocol\":\"TLS.ntop\",\"category\":\"Network\",\"confidence\":\"DPI\"},"
        "\"tls\":{\"subject\":\"CN=www.ntop.org\","
        "\"issuerdn\":\"C=US, O=Let's Encrypt, CN=Let's Encrypt Authority X3\","
        "\"fingerprint\":\"db:a7:e4:3e:6d:bb:21:ab:68:47:35:e8:0b:8f:15:df:db:c7:c9:6f\","
        "\"sni\":\"www.ntop.org\",\"version\":\"TLS 1.2\","
        "\"notbefore\":\"2019-12-17T01:17:28\",\"notafter\":\"2020-03-16T01:17:28\","
        "\"ja3\":{\"hash\":\"2a26b1a62e40d25d4de3babc9d532f30\"},"
        "\"ja3s\":{\"hash\":\"ae53107a2e47ea20c72ac44821a728bf\"},"
        "\"alpn\":\"h2,http/1.1\"}}");
    run_done(&run);
}

/* google_ssl.pcap: [proto: 91.126/TLS.Google][Confidence: Match by IP], no
 * handshake in the capture: nDPI gives up and guesses, so no app_proto claim. */
static void test_tls_google_guessed(void **state)
{
    struct run run;
    const struct seen *s;

    (void)state;
    run_init(&run, &default_cfg);
    if (run_pcap(&run, "google_ssl.pcap") != 0) {
        run_done(&run);
        skip();
    }
    s = find_port_ok(&run, 6, 443);
    assert_string_equal(s->r.protocol, "TLS.Google");
    assert_string_equal(dpi_confidence_name(s->r.confidence), "Match by IP");
    assert_true(s->r.flags & DPI_F_GIVEUP);
    assert_true(s->r.flags & DPI_F_GUESSED);
    assert_string_equal(s->r.app_proto, "failed");
    assert_null(s->r.tls);    /* nothing known: no metadata block, no empty object */
    assert_null(strstr(s->eve, "\"tls\""));
    assert_int_equal(dpi_engine_stats(run.e)->flows_given_up, 1);
    assert_int_equal(dpi_engine_stats(run.e)->flows_guessed, 1);
    run_done(&run);
}

/* http.pcapng: TCP 192.168.1.128:42170 <-> 216.58.208.142:80 [proto: 7.126/HTTP.Google]
 * [Hostname/SNI: google.com][URL: google.com/][StatusCode: 301][Content-Type: text/html]
 * [User-Agent: curl/7.68.0]; the request is "GET / HTTP/1.1". */
static void test_http_google(void **state)
{
    struct run run;
    const struct seen *s;

    (void)state;
    run_init(&run, &default_cfg);
    if (run_pcap(&run, "http.pcapng") != 0) {
        run_done(&run);
        skip();
    }
    s = find_port_ok(&run, 6, 80);
    assert_string_equal(s->r.protocol, "HTTP.Google");
    assert_string_equal(s->r.app_proto, "http");
    assert_non_null(s->r.http);
    assert_string_equal(s->r.http->hostname, "google.com");
    assert_string_equal(s->r.http->url, "/");
    assert_string_equal(s->r.http->user_agent, "curl/7.68.0");
    assert_string_equal(s->r.http->method, "GET");
    assert_int_equal(s->r.http->status, 301);
    assert_string_equal(s->r.http->content_type, "text/html");
    assert_string_equal(s->eve,
        "{\"app_proto\":\"http\","
        "\"ndpi\":{\"protocol\":\"HTTP.Google\",\"category\":\"Web\",\"confidence\":\"DPI\"},"
        "\"http\":{\"hostname\":\"google.com\",\"url\":\"/\",\"http_user_agent\":\"curl/7.68.0\","
        "\"http_content_type\":\"text/html\",\"http_method\":\"GET\",\"status\":301}}");
    run_done(&run);
}

/* exe_download.pcap: [proto: 7/HTTP][Hostname/SNI: 144.91.69.195]
 * [URL: 144.91.69.195/solar.php][StatusCode: 200][Content-Type: application/octet-stream]
 * [User-Agent: pwtyyEKzNtGatwnJjmCcBLbOveCVpc]
 * [Risk: ** Binary Application Transfer **** HTTP Numeric IP Address **] */
static void test_http_exe_download(void **state)
{
    struct run run;
    const struct seen *s;

    (void)state;
    run_init(&run, &default_cfg);
    if (run_pcap(&run, "exe_download.pcap") != 0) {
        run_done(&run);
        skip();
    }
    s = find_port_ok(&run, 6, 80);
    assert_string_equal(s->r.protocol, "HTTP");
    assert_string_equal(s->r.category, "Download");
    assert_string_equal(s->r.http->hostname, "144.91.69.195");
    assert_string_equal(s->r.http->url, "/solar.php");
    assert_string_equal(s->r.http->user_agent, "pwtyyEKzNtGatwnJjmCcBLbOveCVpc");
    assert_string_equal(s->r.http->content_type, "application/octet-stream");
    assert_int_equal(s->r.http->status, 200);
    assert_true(s->r.risk & (1ULL << NDPI_BINARY_APPLICATION_TRANSFER));
    assert_true(s->r.risk & (1ULL << NDPI_HTTP_NUMERIC_IP_HOST));
    assert_non_null(strstr(s->eve,
        "\"risks\":[\"Binary Application Transfer\",\"HTTP Numeric IP Address\"]"));
    run_done(&run);
}

/* dns.pcap: UDP 82.178.113.245:47255 <-> 82.178.158.181:53 [VLAN: 785]
 * [proto: 5.142/DNS.WhatsApp][Hostname/SNI: e7.whatsapp.net][169.45.219.235], and
 * UDP 192.168.170.20:53 <-> 192.168.170.8:32795 [proto: 5.126/DNS.Google]
 * [Hostname/SNI: www.l.google.com]. */
static void test_dns(void **state)
{
    struct run run;
    const struct seen *s;
    char buf[LW_ADDRSTRLEN];

    (void)state;
    run_init(&run, &default_cfg);
    if (run_pcap(&run, "dns.pcap") != 0) {
        run_done(&run);
        skip();
    }
    s = find_port_ok(&run, 17, 47255);
    assert_string_equal(s->r.protocol, "DNS.WhatsApp");
    assert_string_equal(s->r.app_proto, "dns");
    assert_string_equal(s->r.category, "Chat");
    assert_non_null(s->r.dns);
    assert_string_equal(s->r.dns->rrname, "e7.whatsapp.net");
    assert_int_equal(s->r.dns->rrtype, 1);
    assert_true(s->r.dns->response);
    assert_int_equal(s->r.dns->rcode, 0);
    assert_int_equal(s->r.dns->answer.family, 4);
    assert_string_equal(lw_addr_str(&s->r.dns->answer, buf, sizeof buf), "169.45.219.235");
    assert_non_null(strstr(s->eve,
        "\"dns\":{\"version\":2,\"rrname\":\"e7.whatsapp.net\",\"rrtype\":\"A\",\"rcode\":\"NOERROR\","
        "\"answers\":[{\"rrname\":\"e7.whatsapp.net\",\"rrtype\":\"A\",\"rdata\":\"169.45.219.235\"}]}"));

    s = find_port_ok(&run, 17, 32795);
    assert_string_equal(s->r.protocol, "DNS.Google");
    assert_string_equal(s->r.dns->rrname, "www.l.google.com");
    assert_int_equal(s->r.dns->answer.family, 0);
    run_done(&run);
}

/* ssh.pcap: TCP 172.16.238.1:58395 <-> 172.16.238.168:22 [proto: 92/SSH]
 * [Hostname/SNI: SSH-2.0-OpenSSH_5.3][HASSH-C: 21B457A327CE7A2D4FCE5EF2C42400BD]
 * [Server: SSH-2.0-OpenSSH_5.6][HASSH-S: B1C6C0D56317555B85C7005A3DE29325]
 * [Risk: ** SSH Obsolete Client Version/Cipher **** SSH Obsolete Server Version/Cipher **];
 * the server (port 22) sends its banner, OpenSSH_5.3, first: nDPI 4.2 files
 * it as the client's, we put it back on the server's side.
 * TCP 127.0.0.1:58496 <-> 127.0.0.1:8000 client SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.11,
 * server SSH-2.0-APACHE-SSHD-2.5.0. Hashes are written in lower case, as Suricata does. */
static void test_ssh(void **state)
{
    struct run run;
    const struct seen *s;

    (void)state;
    run_init(&run, &default_cfg);
    if (run_pcap(&run, "ssh.pcap") != 0) {
        run_done(&run);
        skip();
    }
    s = find_port_ok(&run, 6, 22);
    assert_string_equal(s->r.protocol, "SSH");
    assert_string_equal(s->r.app_proto, "ssh");
    assert_non_null(s->r.ssh);
    assert_string_equal(s->r.ssh->client_version, "SSH-2.0-OpenSSH_5.6");
    assert_string_equal(s->r.ssh->server_version, "SSH-2.0-OpenSSH_5.3");
    assert_string_equal(s->r.ssh->hassh_client, "21b457a327ce7a2d4fce5ef2c42400bd");
    assert_string_equal(s->r.ssh->hassh_server, "b1c6c0d56317555b85c7005a3de29325");
    assert_true(s->r.risk & (1ULL << NDPI_SSH_OBSOLETE_CLIENT_VERSION_OR_CIPHER));
    assert_true(s->r.risk & (1ULL << NDPI_SSH_OBSOLETE_SERVER_VERSION_OR_CIPHER));
    assert_non_null(strstr(s->eve,
        "\"ssh\":{\"client\":{\"proto_version\":\"2.0\",\"software_version\":\"OpenSSH_5.6\","
        "\"hassh\":{\"hash\":\"21b457a327ce7a2d4fce5ef2c42400bd\"}},"
        "\"server\":{\"proto_version\":\"2.0\",\"software_version\":\"OpenSSH_5.3\","
        "\"hassh\":{\"hash\":\"b1c6c0d56317555b85c7005a3de29325\"}}}"));

    s = find_port_ok(&run, 6, 8000);
    assert_string_equal(s->r.ssh->client_version, "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.11");
    assert_string_equal(s->r.ssh->server_version, "SSH-2.0-APACHE-SSHD-2.5.0");
    assert_string_equal(s->r.ssh->hassh_client, "c11b200866cf918393e62ea25d851d90");
    assert_string_equal(s->r.ssh->hassh_server, "ca6dd86b2d9a44e4a3f1a55c53e6b0fa");
    assert_true(s->r.risk & (1ULL << NDPI_KNOWN_PROTOCOL_ON_NON_STANDARD_PORT));
    /* Suricata's split of a banner with a comment */
    assert_non_null(strstr(s->eve, "\"software_version\":\"OpenSSH_8.2p1\""));
    assert_non_null(strstr(s->eve, "\"software_version\":\"APACHE-SSHD-2.5.0\""));
    run_done(&run);
}

/* gquic.pcap: UDP 10.44.5.25:61097 -> 216.58.213.163:443 [proto: 188.126/QUIC.Google]
 * [Hostname/SNI: www.gstatic.com]; quic_0RTT.pcap: UDP [::1]:60459 <-> [::1]:4443
 * [proto: 188/QUIC][Hostname/SNI: abcd][ALPN: h3-32][JA3C: a7b629a5bd67bfc25e2c78b3daa4c12f]. */
static void test_quic(void **state)
{
    struct run run;
    const struct seen *s;

    (void)state;
    run_init(&run, &default_cfg);
    if (run_pcap(&run, "gquic.pcap") != 0 || run_pcap(&run, "quic_0RTT.pcap") != 0) {
        run_done(&run);
        skip();
    }
    s = find_port_ok(&run, 17, 61097);
    assert_string_equal(s->r.protocol, "QUIC.Google");
    assert_string_equal(s->r.app_proto, "quic");
    assert_null(s->r.tls);
    assert_non_null(s->r.quic);
    assert_string_equal(s->r.quic->sni, "www.gstatic.com");
    assert_non_null(strstr(s->eve, "\"quic\":{\"sni\":\"www.gstatic.com\"}"));

    s = find_port_ok(&run, 17, 60459);
    assert_string_equal(s->r.protocol, "QUIC");
    assert_string_equal(s->r.quic->sni, "abcd");
    assert_string_equal(s->r.quic->alpn, "h3-32");
    assert_string_equal(s->r.quic->ja3, "a7b629a5bd67bfc25e2c78b3daa4c12f");
    assert_non_null(strstr(s->eve,
        "\"quic\":{\"sni\":\"abcd\",\"ja3\":{\"hash\":\"a7b629a5bd67bfc25e2c78b3daa4c12f\"}}"));
    run_done(&run);
}

/* max_packets bounds the work per flow: with 1, the TLS flow of 443-curl
 * is decided on its SYN alone (nDPI gives up and guesses). */
static void test_max_packets(void **state)
{
    struct dpi_config cfg = { .enabled = 1, .max_packets = 1 };
    struct run run;
    const struct seen *s;

    (void)state;
    run_init(&run, &cfg);
    if (run_pcap(&run, "443-curl.pcap") != 0) {
        run_done(&run);
        skip();
    }
    s = find_port_ok(&run, 6, 443);
    assert_int_equal(s->r.pkts, 1);
    assert_true(s->r.flags & DPI_F_MAXPKTS);
    assert_true(s->r.flags & DPI_F_GIVEUP);
    assert_null(s->r.tls);
    assert_int_equal(dpi_engine_stats(run.e)->pkts, 1);
    run_done(&run);
}

/* A custom protocols file (nDPI protos.txt format) is loaded and used. */
static void test_protos_file(void **state)
{
    char path[] = "/tmp/test_dpi_protosXXXXXX";
    struct dpi_config cfg = { .enabled = 1, .protos_file = path };
    /* an exact host: nDPI's built-in "ntop.org" match would win over a suffix */
    const char *text = "host:\"www.ntop.org\"@LinkwatchTest\n";
    struct run run;
    const struct seen *s;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    run_init(&run, &cfg);
    if (run_pcap(&run, "443-curl.pcap") != 0) {
        run_done(&run);
        unlink(path);
        skip();
    }
    s = find_port_ok(&run, 6, 443);
    assert_string_equal(s->r.protocol, "TLS.LinkwatchTest");
    assert_string_equal(s->r.app_proto, "tls");
    assert_string_equal(s->r.tls->sni, "www.ntop.org");
    run_done(&run);
    unlink(path);
}

/* Builds an IPv4/TCP packet 10.0.0.1:40000 -> 10.0.0.2:80 with the payload. */
static size_t build_tcp4(uint8_t *buf, size_t cap, uint8_t flags, uint32_t seq, uint32_t ack,
                         const char *payload, int reply)
{
    size_t plen = payload ? strlen(payload) : 0, tot = 40 + plen;
    uint8_t *ip = buf, *tcp = buf + 20;

    assert_true(tot <= cap);
    memset(buf, 0, 40);
    ip[0] = 0x45;
    ip[2] = (uint8_t)(tot >> 8);
    ip[3] = (uint8_t)tot;
    ip[8] = 64;
    ip[9] = 6;
    ip[12] = 10; ip[15] = reply ? 2 : 1;
    ip[16] = 10; ip[19] = reply ? 1 : 2;
    tcp[0] = reply ? 0 : 0x9c; tcp[1] = reply ? 80 : 0x40;   /* 40000 or 80 */
    tcp[2] = reply ? 0x9c : 0; tcp[3] = reply ? 0x40 : 80;
    tcp[4] = (uint8_t)(seq >> 24); tcp[5] = (uint8_t)(seq >> 16); tcp[6] = (uint8_t)(seq >> 8); tcp[7] = (uint8_t)seq;
    tcp[8] = (uint8_t)(ack >> 24); tcp[9] = (uint8_t)(ack >> 16); tcp[10] = (uint8_t)(ack >> 8); tcp[11] = (uint8_t)ack;
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14] = 0xff; tcp[15] = 0xff;
    if (plen)
        memcpy(buf + 40, payload, plen);
    return tot;
}

/* Values longer than the result's fields are cut and stay terminated. */
static void test_long_fields_truncated(void **state)
{
    static uint8_t pkt[4096];
    static char req[3000];
    char url[1200], ua[1000];
    struct run run;
    struct decoder dc;
    struct flow_table *ft;
    const struct seen *s;
    size_t n;
    int i;
    struct { uint8_t flags; uint32_t seq, ack; const char *payload; int reply; } seqs[4];

    (void)state;
    memset(url, 'a', sizeof url - 1);
    url[0] = '/';
    url[sizeof url - 1] = '\0';
    memset(ua, 'b', sizeof ua - 1);
    ua[sizeof ua - 1] = '\0';
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: example.com\r\nUser-Agent: %s\r\n\r\n", url, ua);
    seqs[0].flags = TH_SYN;           seqs[0].seq = 100; seqs[0].ack = 0;   seqs[0].payload = NULL; seqs[0].reply = 0;
    seqs[1].flags = TH_SYN | TH_ACK;  seqs[1].seq = 500; seqs[1].ack = 101; seqs[1].payload = NULL; seqs[1].reply = 1;
    seqs[2].flags = TH_ACK;           seqs[2].seq = 101; seqs[2].ack = 501; seqs[2].payload = NULL; seqs[2].reply = 0;
    seqs[3].flags = TH_ACK | TH_PSH;  seqs[3].seq = 101; seqs[3].ack = 501; seqs[3].payload = req;  seqs[3].reply = 0;

    run_init(&run, &default_cfg);
    assert_int_equal(decoder_init(&dc, DLT_RAW, NULL), 0);
    ft = new_table(&run);
    for (i = 0; i < 4; i++) {
        struct packet p;
        struct flow *f;

        n = build_tcp4(pkt, sizeof pkt, seqs[i].flags, seqs[i].seq, seqs[i].ack, seqs[i].payload, seqs[i].reply);
        memset(&p, 0, sizeof p);
        assert_int_equal(decode_packet(&dc, &p, pkt, (uint32_t)n, (uint32_t)n, 1000000u * (uint64_t)(i + 1)), DECODE_OK);
        f = flow_table_update(ft, &p);
        assert_non_null(f);
        dpi_process(run.e, f, &p);
    }
    flow_table_flush(ft, FLOW_END_SHUTDOWN);
    flow_table_free(ft);
    decoder_destroy(&dc);

    s = find_port_ok(&run, 6, 80);
    assert_string_equal(s->r.app_proto, "http");
    assert_non_null(s->r.http);
    assert_string_equal(s->r.http->hostname, "example.com");
    assert_int_equal(strlen(s->r.http->url), DPI_URL_LEN - 1);
    assert_memory_equal(s->r.http->url, url, DPI_URL_LEN - 1);
    assert_int_equal(strlen(s->r.http->user_agent), DPI_UA_LEN - 1);
    assert_memory_equal(s->r.http->user_agent, ua, DPI_UA_LEN - 1);
    assert_string_equal(s->r.http->method, "GET");
    run_done(&run);
}

/* What a flow costs: nDPI's heap while detecting, and after it is freed.
 * Counted through nDPI's allocator hooks on captures holding one flow. */
static void measure(const char *name, int64_t *during, size_t *after)
{
    struct run run;
    int64_t base;

    run_init(&run, &default_cfg);
    base = ndpi_live;
    ndpi_peak = ndpi_live;
    if (run_pcap(&run, name) != 0) {
        run_done(&run);
        skip();
    }
    assert_int_equal(run.n, 1);
    *during = ndpi_peak - base;
    *after = sizeof(struct dpi_result);
    if (run.v[0].r.tls || run.v[0].r.quic) *after += sizeof(struct dpi_tls);
    if (run.v[0].r.http) *after += sizeof(struct dpi_http);
    if (run.v[0].r.dns)  *after += sizeof(struct dpi_dns);
    if (run.v[0].r.ssh)  *after += sizeof(struct dpi_ssh);
    /* once the flow is over nDPI holds nothing more for it */
    assert_true(ndpi_live - base <= 0);
    run_done(&run);
}

static void test_memory_per_flow(void **state)
{
    static const char *const names[] = {
        "443-curl.pcap", "tls_verylong_certificate.pcap", "http.pcapng", "exe_download.pcap",
        "gquic.pcap", "ssh_unidirectional.pcap", "NTPv4.pcap",
    };
    size_t i, after;
    int64_t during;

    (void)state;
    print_message("sizeof dpi_result %zu, dpi_tls %zu, dpi_http %zu, dpi_dns %zu, dpi_ssh %zu, "
                  "nDPI flow struct %zu\n", sizeof(struct dpi_result), sizeof(struct dpi_tls),
                  sizeof(struct dpi_http), sizeof(struct dpi_dns), sizeof(struct dpi_ssh),
                  dpi_ndpi_flow_size());
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        measure(names[i], &during, &after);
        print_message("%-32s nDPI heap during detection %6lld B, held after %5zu B\n",
                      names[i], (long long)during, after);
        /* the nDPI flow struct itself is always part of the peak */
        assert_true(during >= (int64_t)dpi_ndpi_flow_size());
        assert_true(after <= sizeof(struct dpi_result) + sizeof(union meta));
    }
}

/* Statistics across a capture with many flows of several kinds. */
static void test_stats_many_flows(void **state)
{
    struct run run;
    const struct dpi_stats *st;
    size_t i, failed = 0, tls = 0;

    (void)state;
    run_init(&run, &default_cfg);
    if (run_pcap(&run, "wechat.pcap") != 0) {
        run_done(&run);
        skip();
    }
    st = dpi_engine_stats(run.e);
    /* reference: 103 flows */
    assert_int_equal(run.n, 103);
    assert_int_equal(st->flows_inspected, 103);
    assert_int_equal(st->flows_detected + st->flows_given_up, 103);
    assert_true(st->pkts <= 103 * 32);
    for (i = 0; i < run.n; i++) {
        assert_true(run.v[i].has_result);
        failed += strcmp(run.v[i].r.app_proto, "failed") == 0;
        tls += strcmp(run.v[i].r.protocol, "TLS.WeChat") == 0;
    }
    /* reference: 91.197/TLS.WeChat on 40 flows of this capture */
    print_message("wechat.pcap: %zu flows, %zu TLS.WeChat, %zu app_proto failed, %llu pkts to nDPI\n",
                  run.n, tls, failed, (unsigned long long)st->pkts);
    assert_true(tls > 0);
    run_done(&run);
}

/* nDPI's flow struct kept packed in a slab between packets, the last few
 * flows' left open in the engine's slots until other flows need them: on a
 * capture of 103 interleaved flows every result and EVE block equals the
 * one of a struct kept whole (no slab). With a slab too small for all of
 * them, the flows whose result gets no memory are counted, and every state
 * and result still goes back. (Packing itself falls back to malloc, as
 * nDPI's own allocations do: its failure needs malloc to fail.) */
static void test_packed_state(void **state)
{
    struct dpi_config cfg = default_cfg;
    struct run whole, packed, tight;
    struct lw_slab *slab;
    size_t i;

    (void)state;
    run_init(&whole, &default_cfg);
    if (run_pcap(&whole, "wechat.pcap") != 0) {
        run_done(&whole);
        skip();
    }
    cfg.slab = slab = lw_slab_new(256u << 20);
    assert_non_null(slab);
    run_init(&packed, &cfg);
    assert_int_equal(run_pcap(&packed, "wechat.pcap"), 0);
    assert_int_equal(packed.n, whole.n);
    for (i = 0; i < whole.n; i++) {
        assert_memory_equal(&packed.v[i].key, &whole.v[i].key, sizeof whole.v[i].key);
        assert_int_equal(packed.v[i].has_result, whole.v[i].has_result);
        assert_string_equal(packed.v[i].eve, whole.v[i].eve);
    }
    assert_int_equal(dpi_engine_stats(packed.e)->alloc_failed, 0);
    run_done(&packed);
    lw_slab_destroy(slab);

    cfg.slab = slab = lw_slab_new(48u << 10);
    assert_non_null(slab);
    run_init(&tight, &cfg);
    assert_int_equal(run_pcap(&tight, "wechat.pcap"), 0);
    print_message("wechat.pcap in a 48 KiB slab: %zu flows, %llu allocations refused\n", tight.n,
                  (unsigned long long)dpi_engine_stats(tight.e)->alloc_failed);
    assert_int_equal(tight.n, whole.n);
    assert_true(dpi_engine_stats(tight.e)->alloc_failed > 0);
    run_done(&tight);                 /* every state and result went back */
    lw_slab_destroy(slab);
    run_done(&whole);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_app_proto_names),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_engine_config),
        cmocka_unit_test(test_tls_443_curl),
        cmocka_unit_test(test_tls_google_guessed),
        cmocka_unit_test(test_http_google),
        cmocka_unit_test(test_http_exe_download),
        cmocka_unit_test(test_dns),
        cmocka_unit_test(test_ssh),
        cmocka_unit_test(test_quic),
        cmocka_unit_test(test_max_packets),
        cmocka_unit_test(test_protos_file),
        cmocka_unit_test(test_long_fields_truncated),
        cmocka_unit_test(test_memory_per_flow),
        cmocka_unit_test(test_stats_many_flows),
        cmocka_unit_test(test_packed_state),
    };

    /* Before any nDPI call, so every block nDPI frees went through the hook. */
    set_ndpi_malloc(count_malloc);
    set_ndpi_free(count_free);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
