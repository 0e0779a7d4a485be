/* app_eve.c - runs one application-layer parser over inputs in the fuzz
 * targets' format (tests/fuzz/fuzz-app.h) and prints, for each
 * transaction, an EVE event ({"timestamp", "event_type": PROTO, PROTO:
 * {...}}), one per line, as the stage will log them. For the integration
 * tests (tests/integration/test_app_eve.py): schema and values.
 *
 * Usage: app_eve dns|tls|ssh [--messages] [--chain] FILE...
 *   --messages  DNS: an event per message (request, response) instead of
 *               per transaction
 *   --chain     TLS: with Suricata's custom "chain"
 * After each file a line "# FILE tx=N EVENT=COUNT ..." gives the parser's
 * transaction and anomaly counters for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "fuzz-app.h"
#include "ssh.h"
#include "tls.h"

static struct jbuf jb;
static int messages, chain;

static void print_block(const char *name, void (*write)(const void *, const void *, struct jbuf *),
                        const void *a, const void *b)
{
    jbuf_reset(&jb);
    jbuf_open_object(&jb, NULL);
    write(a, b, &jb);
    jbuf_close_object(&jb);
    if (jbuf_ok(&jb))
        printf("{\"timestamp\":\"2023-11-14T22:13:20.000000+0000\",\"event_type\":\"%s\",\"%s\":%s}\n", name,
               name, jb.buf);
}

static void write_request(const void *tx, const void *unused, struct jbuf *j)
{
    (void)unused;
    dns_eve_message(tx, APP_TO_SERVER, j);
}

static void write_response(const void *tx, const void *unused, struct jbuf *j)
{
    (void)unused;
    dns_eve_message(tx, APP_TO_CLIENT, j);
}

static void write_chain(const void *tx, const void *unused, struct jbuf *j)
{
    (void)unused;
    tls_eve_write(tx, j, TLS_EVE_CHAIN);
}

static const struct app_parser *cur;

static void write_tx(const void *st, const void *tx, struct jbuf *j)
{
    cur->tx_eve(st, tx, j);
}

static void on_tx(const struct app_parser *p, void *st, const struct app_tx *tx, void *arg)
{
    const struct dns_tx *d = (const struct dns_tx *)tx;

    (void)arg;
    if (p == &app_parser_dns && messages) {
        if (d->req)
            print_block("dns", write_request, tx, NULL);
        if (d->resp)
            print_block("dns", write_response, tx, NULL);
    } else if (p == &app_parser_tls && chain) {
        print_block("tls", write_chain, tx, NULL);
    } else {
        print_block(p->name, write_tx, st, tx);
    }
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)len + 1)) && fread(buf, 1, (size_t)len, f) == (size_t)len) {
        *n = (size_t)len;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* The worker's counters are inside fuzz_app_run's context: run it with a
 * context of our own to print them. */
static struct app_stats totals;

static void run_file(const struct app_parser *p, const char *path)
{
    size_t n = 0;
    uint8_t *buf = slurp(path, &n);

    if (!buf) {
        fprintf(stderr, "app_eve: cannot read %s\n", path);
        exit(1);
    }
    memset(&totals, 0, sizeof totals);
    fuzz_app_run_stats(p, buf, n, on_tx, NULL, &totals);
    printf("# %s tx=%llu", path, (unsigned long long)totals.tx[p->proto]);
    for (size_t e = 0; e < p->nevents; e++)
        if (totals.events[p->proto][e])
            printf(" %s=%llu", p->events[e], (unsigned long long)totals.events[p->proto][e]);
    printf("\n");
    free(buf);
}

int main(int argc, char **argv)
{
    static const struct app_parser *const parsers[] = { &app_parser_dns, &app_parser_tls, &app_parser_ssh };
    int i = 2;

    if (argc < 3)
        goto usage;
    for (size_t k = 0; k < sizeof parsers / sizeof parsers[0]; k++)
        if (!strcmp(argv[1], parsers[k]->name))
            cur = parsers[k];
    if (!cur)
        goto usage;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--messages"))
            messages = 1;
        else if (!strcmp(argv[i], "--chain"))
            chain = 1;
        else
            goto usage;
    }
    jbuf_init(&jb);
    for (; i < argc; i++)
        run_file(cur, argv[i]);
    jbuf_free(&jb);
    return 0;
usage:
    fprintf(stderr, "usage: app_eve dns|tls|ssh [--messages] [--chain] FILE...\n");
    return 2;
}
