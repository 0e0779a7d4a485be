/* test_output.c - the output layer (sensor/output/output.c) and the
 * exporter registry (exporters.h):
 *   - an exporter added by one line in a registry list: its configuration
 *     section is checked and filled like any other, output_open_with()
 *     opens it, and it gets the event types it asked for, in order;
 *   - the spool serves an exporter other than Redis: syslog over TCP to a
 *     server that is down, then up: every alert arrives once, in order;
 *   - order under every kind of trouble at once: a sink that blocks while
 *     the queue overflows to disk, then fails, then recovers; with
 *     write_event and with write_batch: every alert once, in order.
 * Waits are bounded polls (a failure, never a timing assertion). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "exporters.h"
#include "output.h"
#include "util.h"

/* ------------------------------------------------------------------ a test exporter */

/* outputs.memory: lines kept in memory; a sink the test can block or fail. */
struct memory_config {
    struct exporter_switch x;
    int batch;                         /* offer write_batch */
};

#define MEM_MAX 8192

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int closed_gate;                   /* writes wait while set */
    unsigned block_on;                 /* closes the gate when this alert ("n") comes, 0: none */
    int blocked;                       /* a write is waiting at the gate */
    int fail;                          /* writes fail while set */
    unsigned failures;                 /* writes that failed */
    char *line[MEM_MAX];
    enum event_type type[MEM_MAX];
    uint64_t seq[MEM_MAX];
    size_t n;
    int opened;
} mem = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, { 0 }, { 0 }, { 0 }, 0, 0 };

static int mem_write(struct exporter *x, const struct exporter_event *ev)
{
    int rc = -1;
    unsigned n;

    pthread_mutex_lock(&mem.mu);
    if (mem.block_on && ev->type == EVT_ALERT && sscanf(ev->line, "{\"n\":%u", &n) == 1 && n == mem.block_on) {
        mem.block_on = 0;
        mem.closed_gate = 1;
    }
    while (mem.closed_gate) {
        mem.blocked = 1;
        pthread_cond_broadcast(&mem.cv);
        pthread_cond_wait(&mem.cv, &mem.mu);
    }
    mem.blocked = 0;
    if (!mem.fail && mem.n < MEM_MAX) {
        mem.line[mem.n] = strndup(ev->line, ev->len);
        mem.type[mem.n] = ev->type;
        mem.seq[mem.n++] = ev->seq;
        rc = 0;
    } else {
        mem.failures++;
    }
    pthread_mutex_unlock(&mem.mu);
    return rc;
}

/* A batch fails from its middle on, as a pipeline cut short would. */
static void mem_write_batch(struct exporter *x, const struct exporter_event *ev, size_t n, unsigned char *ok)
{
    int down = 0;

    for (size_t i = 0; i < n; i++) {
        ok[i] = !down && mem_write(x, &ev[i]) == 0;
        down |= !ok[i];
    }
}

static int mem_noop(struct exporter *x)
{
    return 0;
}

static void mem_close(struct exporter *x)
{
    pthread_mutex_lock(&mem.mu);
    mem.opened--;
    pthread_mutex_unlock(&mem.mu);
    free(x);
}

static const struct exporter_ops mem_ops = {
    .write_event = mem_write, .flush = mem_noop, .reopen = mem_noop, .close = mem_close,
};
static const struct exporter_ops mem_batch_ops = {
    .write_event = mem_write, .write_batch = mem_write_batch, .flush = mem_noop, .reopen = mem_noop,
    .close = mem_close,
};

static struct exporter *mem_open(const struct exporter_params *p, char *err, size_t errlen)
{
    const struct memory_config *c = p->section;
    struct exporter *x = calloc(1, sizeof *x);

    if (!x) {
        snprintf(err, errlen, "memory: out of memory");
        return NULL;
    }
    x->ops = c->batch ? &mem_batch_ops : &mem_ops;
    x->types = p->types;
    pthread_mutex_lock(&mem.mu);
    mem.opened++;
    pthread_mutex_unlock(&mem.mu);
    return x;
}

static const struct cfg_key memory_keys[] = {
    CFG_KTXT("enabled", CFG_BOOL, struct memory_config, x.enabled),
    CFG_KSET("types", CFG_ENUMLIST, struct memory_config, x.types, event_type_names),
    CFG_KTXT("batch", CFG_BOOL, struct memory_config, batch),
};

const struct exporter_def memory_exporter = {
    .name = "memory",
    .config = CFG_SECTION("outputs.memory", struct memory_config, memory_keys),
    .enabled = exporter_switch_enabled,
    .open = mem_open,
};

/* The registry with one line more. */
#define TEST_EXPORTERS(X) EXPORTERS(X) X(memory_exporter)

static const struct exporter_def *const test_registry[] = { TEST_EXPORTERS(EXPORTER_ENTRY) NULL };
static const struct cfg_section *const test_sections[] = { TEST_EXPORTERS(EXPORTER_SECTION) NULL };

static void mem_reset(void)
{
    pthread_mutex_lock(&mem.mu);
    for (size_t i = 0; i < mem.n; i++)
        free(mem.line[i]);
    mem.n = 0;
    mem.fail = mem.closed_gate = mem.blocked = 0;
    mem.block_on = 0;
    mem.failures = 0;
    pthread_mutex_unlock(&mem.mu);
}

static size_t mem_count(void)
{
    size_t n;

    pthread_mutex_lock(&mem.mu);
    n = mem.n;
    pthread_mutex_unlock(&mem.mu);
    return n;
}

/* ------------------------------------------------------------------ helpers */

struct fx {
    char dir[64];
    char yaml[128];
    char spool[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    FILE *fp;

    snprintf(f->dir, sizeof f->dir, "/tmp/test_output.XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->yaml, sizeof f->yaml, "%s/site.yaml", f->dir);
    snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
    fp = fopen(f->yaml, "w");
    if (!fp)
        return -1;
    fprintf(fp, "outputs:\n"
                "  eve-file: {enabled: no}\n"
                "  memory:\n"
                "    enabled: yes\n"
                "    types: [alert, flow]\n"
                "    batch: no\n"
                "  spool-dir: %s\n", f->spool);
    fclose(fp);
    mem_reset();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    mem_reset();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Polls cond until true, for at most 30 s. */
static int wait_for(int (*cond)(void *), void *arg)
{
    for (int i = 0; i < 3000; i++) {
        if (cond(arg))
            return 1;
        usleep(10000);
    }
    return cond(arg);
}

/* {"<key>":<n>} as an event of type t. */
static void event(struct output *o, enum event_type t, const char *key, unsigned n)
{
    char line[128];
    int len = snprintf(line, sizeof line, "{\"%s\":%u}", key, n);

    output_event(o, t, line, (size_t)len);
}

/* ------------------------------------------------------------------ the registry */

static void test_registry_line(void **state)
{
    struct fx *f = *state;
    char *bad[] = { "outputs.memory.batch=perhaps" };
    char err[512];
    struct lw_config cfg;
    const struct memory_config *mc;
    struct output *o;

    /* Without the line, its section is nobody's. */
    assert_int_equal(config_load(&cfg, f->yaml, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "outputs.memory: unknown key"));
    assert_int_equal(config_load_with(&cfg, test_sections, f->yaml, bad, 1, err, sizeof err), -1);
    assert_string_equal(err, "--set outputs.memory.batch: expected yes or no, got 'perhaps'");
    /* With it, its keys are checked and filled like any other. */
    assert_int_equal(config_load_with(&cfg, test_sections, f->yaml, NULL, 0, err, sizeof err), 0);
    mc = config_section(&cfg, &memory_exporter.config);
    assert_non_null(mc);
    assert_int_equal(mc->x.enabled, 1);
    assert_int_equal(mc->x.types.n, 2);
    assert_int_equal(mc->batch, 0);
    /* the others' still come from the built-in defaults */
    assert_int_equal(cfg.outputs.queue_size, 64u << 20);
    assert_non_null(config_section(&cfg, &syslog_exporter.config));

    o = output_open_with(test_registry, &cfg, f->dir, err, sizeof err);
    assert_non_null(o);
    assert_non_null(output_find(o, "memory"));
    assert_null(output_find(o, "eve-file"));
    assert_true(output_wants(o, EVT_ALERT) && output_wants(o, EVT_FLOW));
    assert_false(output_wants(o, EVT_STATS));
    event(o, EVT_ALERT, "n", 1);
    event(o, EVT_STATS, "n", 2);
    event(o, EVT_FLOW, "n", 3);
    event(o, EVT_ALERT, "n", 4);
    output_flush(o);
    assert_int_equal(mem_count(), 3);
    assert_string_equal(mem.line[0], "{\"n\":1}");
    assert_int_equal(mem.type[1], EVT_FLOW);
    assert_string_equal(mem.line[2], "{\"n\":4}");
    assert_true(mem.seq[0] > 0 && mem.seq[2] > mem.seq[0]);
    assert_int_equal(mem.seq[1], 0);
    output_close(o);
    assert_int_equal(mem.opened, 0);
    /* The default registry does not open it. */
    o = output_open(&cfg, f->dir, err, sizeof err);
    assert_non_null(o);
    assert_null(output_find(o, "memory"));
    output_close(o);
    config_free(&cfg);
    /* A registry with it needs a configuration loaded with its section. */
    assert_int_equal(config_load(&cfg, NULL, NULL, 0, err, sizeof err), 0);
    assert_null(output_open_with(test_registry, &cfg, f->dir, err, sizeof err));
    assert_string_equal(err, "memory: its configuration section outputs.memory was not loaded");
    assert_int_equal(mem.opened, 0);
    config_free(&cfg);
}

/* ------------------------------------------------------------------ syslog down, then up */

struct tcp_sink {
    int lfd;
    int port;
    char buf[1 << 20];
    size_t len;
};

static int listen_on(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static int free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* The JSON bodies of the octet-counted RFC 5424 messages in buf[0..len). */
static size_t bodies(const char *buf, size_t len, char out[][64], size_t max)
{
    size_t n = 0, off = 0;

    while (off < len && n < max) {
        char *end;
        unsigned long m = strtoul(buf + off, &end, 10);
        const char *msg = end + 1, *brace;

        if (*end != ' ' || (size_t)(msg - buf) + m > len)
            break;
        brace = memchr(msg, '{', m);
        assert_non_null(brace);
        snprintf(out[n++], 64, "%.*s", (int)(msg + m - brace), brace);
        off = (size_t)(msg - buf) + m;
    }
    return n;
}

struct spool_wait {
    struct output *o;
    uint64_t want;
};

static int spooled_at_least(void *arg)
{
    struct spool_wait *w = arg;
    struct output_exporter_stats st;

    return output_exporter_stats(w->o, "syslog", &st) == 0 && st.spool_pending >= w->want;
}

struct recv_wait {
    int fd;
    struct tcp_sink *s;
    size_t want;
};

static int received(void *arg)
{
    struct recv_wait *w = arg;
    char b[64][64];
    ssize_t got;

    while ((got = recv(w->fd, w->s->buf + w->s->len, sizeof w->s->buf - w->s->len, MSG_DONTWAIT)) > 0)
        w->s->len += (size_t)got;
    return bodies(w->s->buf, w->s->len, b, 64) >= w->want;
}

static void test_syslog_down_then_up(void **state)
{
    struct fx *f = *state;
    static struct tcp_sink sink;
    char set_port[64], set_spool[192], err[512];
    char *sets[] = { "outputs.eve-file.enabled=no", "outputs.syslog.enabled=yes",
                     "outputs.syslog.server=127.0.0.1", "outputs.syslog.protocol=tcp",
                     "outputs.syslog.types=[alert, flow]", set_port, set_spool };
    char got[64][64];
    struct lw_config cfg;
    struct output *o;
    struct output_exporter_stats st;
    struct spool_wait sw;
    struct recv_wait rw;
    int cfd;
    size_t n;

    memset(&sink, 0, sizeof sink);
    sink.port = free_port();
    snprintf(set_port, sizeof set_port, "outputs.syslog.port=%d", sink.port);
    snprintf(set_spool, sizeof set_spool, "outputs.spool-dir=%s", f->spool);
    assert_int_equal(config_load(&cfg, NULL, sets, 7, err, sizeof err), 0);
    o = output_open(&cfg, f->dir, err, sizeof err);
    assert_non_null(o);
    /* Down: the alerts wait in the spool; a flow is refused, counted. */
    for (unsigned i = 1; i <= 10; i++)
        event(o, EVT_ALERT, "a", i);
    event(o, EVT_FLOW, "f", 1);
    sw = (struct spool_wait){ o, 10 };
    assert_true(wait_for(spooled_at_least, &sw));
    /* Up: the spool first, then the alerts that came after, each once. */
    sink.lfd = listen_on(sink.port);
    for (unsigned i = 11; i <= 20; i++)
        event(o, EVT_ALERT, "a", i);
    cfd = accept(sink.lfd, NULL, NULL);
    assert_true(cfd >= 0);
    rw = (struct recv_wait){ cfd, &sink, 20 };
    assert_true(wait_for(received, &rw));
    output_flush(o);
    assert_int_equal(output_exporter_stats(o, "syslog", &st), 0);
    output_close(o);
    rw.want = 64;
    received(&rw);                      /* anything sent after: there must be nothing */
    n = bodies(sink.buf, sink.len, got, 64);
    assert_int_equal(n, 20);
    for (unsigned i = 0; i < n; i++) {
        char want[64];

        snprintf(want, sizeof want, "{\"a\":%u}", i + 1);
        assert_string_equal(got[i], want);
    }
    assert_true(st.spooled >= 10);
    assert_int_equal(st.spool_pending, 0);
    assert_int_equal(st.spool_lost, 0);
    assert_int_equal(st.written, 20);
    assert_true(st.failed >= 1);
    close(cfd);
    close(sink.lfd);
    config_free(&cfg);
}

/* ------------------------------------------------------------------ order under trouble */

static int gate_blocked(void *arg)
{
    int b;

    pthread_mutex_lock(&mem.mu);
    b = mem.blocked;
    pthread_mutex_unlock(&mem.mu);
    return b;
}

static int failed_thrice(void *arg)
{
    unsigned n;

    pthread_mutex_lock(&mem.mu);
    n = mem.failures;
    pthread_mutex_unlock(&mem.mu);
    return n >= 3;
}

static void set_state(int gate, int fail)
{
    pthread_mutex_lock(&mem.mu);
    mem.closed_gate = gate;
    mem.fail = fail;
    pthread_cond_broadcast(&mem.cv);
    pthread_mutex_unlock(&mem.mu);
}

/* The alert numbers the sink got, in order, and whether their sequence
 * numbers increase. Copied out under the lock, checked by the caller. */
static size_t sink_alerts(unsigned *v, size_t max, int *increasing)
{
    uint64_t last = 0;
    size_t n = 0;

    *increasing = 1;
    pthread_mutex_lock(&mem.mu);
    for (size_t i = 0; i < mem.n && n < max; i++) {
        if (mem.type[i] != EVT_ALERT)
            continue;
        if (sscanf(mem.line[i], "{\"n\":%u", &v[n]) != 1)
            v[n] = ~0u;
        *increasing &= mem.seq[i] > last;
        last = mem.seq[i];
        n++;
    }
    pthread_mutex_unlock(&mem.mu);
    return n;
}

/* Every alert of want[0..n) arrived once, in order, numbered in order. */
static void check_sink(const unsigned *want, size_t n)
{
    unsigned *got = calloc(MEM_MAX, sizeof *got);
    int increasing;
    size_t ngot;

    assert_non_null(got);
    ngot = sink_alerts(got, MEM_MAX, &increasing);
    assert_int_equal(ngot, n);
    assert_memory_equal(got, want, n * sizeof *want);
    assert_true(increasing);
    free(got);
}

/* A ~1 KB alert (or flow) numbered i. */
static void big_event(struct output *o, enum event_type t, unsigned i)
{
    char pad[1001], line[1100];
    int len;

    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    len = snprintf(line, sizeof line, "{\"n\":%u,\"pad\":\"%s\"}", i, pad);
    output_event(o, t, line, (size_t)len);
}

static void order_under_trouble(struct fx *f, const char *batch)
{
    enum { PART = 300 };
    char set_spool[192], set_batch[64], err[512];
    char *sets[] = { "outputs.queue-size=64kb", set_spool, set_batch };
    unsigned want[2000 + 2 * PART], nwant = 0, i = 0;
    struct lw_config cfg;
    struct output *o;
    struct output_exporter_stats st;

    snprintf(set_spool, sizeof set_spool, "outputs.spool-dir=%s", f->spool);
    snprintf(set_batch, sizeof set_batch, "outputs.memory.batch=%s", batch);
    assert_int_equal(config_load_with(&cfg, test_sections, f->yaml, sets, 3, err, sizeof err), 0);
    o = output_open_with(test_registry, &cfg, f->dir, err, sizeof err);
    assert_non_null(o);

    /* 1. The sink blocks on the first alert; ~1 KB flows fill the 64 KB
     * queue, and the alerts after them overflow to disk. Unblocked, it
     * gets what was queued first, then the overflow: it blocks again in
     * the middle of that; the alerts that come meanwhile, though the queue
     * has room again, go behind the overflow. */
    set_state(1, 0);
    event(o, EVT_ALERT, "n", i);
    want[nwant++] = i++;
    assert_true(wait_for(gate_blocked, NULL));
    for (; i < 70; i++)
        big_event(o, EVT_FLOW, i);
    for (; i < 70 + 1500; i++)
        event(o, EVT_ALERT, "n", want[nwant++] = i);
    assert_int_equal(output_exporter_stats(o, "memory", &st), 0);
    assert_true(st.spool_pending >= 1000);             /* the overflow took most */
    pthread_mutex_lock(&mem.mu);
    mem.block_on = 1000;
    mem.closed_gate = mem.blocked = 0;
    pthread_cond_broadcast(&mem.cv);
    pthread_mutex_unlock(&mem.mu);
    assert_true(wait_for(gate_blocked, NULL));
    for (; i < 70 + 1500 + 10; i++)
        event(o, EVT_ALERT, "n", want[nwant++] = i);
    set_state(0, 0);
    output_flush(o);
    check_sink(want, nwant);

    /* 2. It fails, again when the spool is offered, and recovers; the
     * alerts that come while the spool waits for its next turn go behind
     * the spooled ones (small ones: they fit in the queue). */
    set_state(0, 1);
    for (unsigned end = i + PART; i < end; i++)
        event(o, EVT_ALERT, "n", want[nwant++] = i);
    assert_true(wait_for(failed_thrice, NULL));
    set_state(0, 0);
    for (unsigned end = i + PART; i < end; i++)
        event(o, EVT_ALERT, "n", want[nwant++] = i);
    output_flush(o);
    assert_int_equal(output_exporter_stats(o, "memory", &st), 0);
    output_close(o);
    check_sink(want, nwant);
    assert_true(st.spooled > 0);
    assert_int_equal(st.spool_pending, 0);
    assert_int_equal(st.spool_lost, 0);
    mem_reset();
    config_free(&cfg);
}

/* A spool the version before this one left (8-byte delivered offset, then
 * [u32 length][bytes] records) is delivered first, then removed. */
static void test_old_spool_taken(void **state)
{
    struct fx *f = *state;
    static const char *const old[] = { "{\"old\":1}", "{\"old\":2}", "{\"old\":3}" };
    char path[256], err[512];
    struct lw_config cfg;
    struct output *o;
    uint64_t off = 8 + 4 + strlen(old[0]);       /* the first was delivered */
    FILE *fp;

    assert_int_equal(mkdir(f->spool, 0700), 0);
    snprintf(path, sizeof path, "%s/memory.alerts.spool", f->spool);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fwrite(&off, 8, 1, fp);
    for (int i = 0; i < 3; i++) {
        uint32_t len = (uint32_t)strlen(old[i]);

        fwrite(&len, 4, 1, fp);
        fwrite(old[i], 1, len, fp);
    }
    fwrite("\x40\0\0\0{\"torn", 1, 10, fp);   /* cut short by a crash: not taken */
    fclose(fp);
    assert_int_equal(config_load_with(&cfg, test_sections, f->yaml, NULL, 0, err, sizeof err), 0);
    o = output_open_with(test_registry, &cfg, f->dir, err, sizeof err);
    assert_non_null(o);
    assert_int_equal(access(path, F_OK), -1);
    event(o, EVT_ALERT, "n", 1);
    output_flush(o);
    output_close(o);
    assert_int_equal(mem_count(), 3);
    assert_string_equal(mem.line[0], old[1]);
    assert_string_equal(mem.line[1], old[2]);
    assert_string_equal(mem.line[2], "{\"n\":1}");
    assert_true(mem.seq[0] < mem.seq[1] && mem.seq[1] < mem.seq[2]);
    config_free(&cfg);
}

static void test_order_write_event(void **state)
{
    order_under_trouble(*state, "no");
}

static void test_order_write_batch(void **state)
{
    order_under_trouble(*state, "yes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registry_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syslog_down_then_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_spool_taken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_write_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_write_batch, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
