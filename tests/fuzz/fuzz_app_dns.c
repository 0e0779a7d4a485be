/* fuzz_app_dns.c - libFuzzer target: the DNS parser (sensor/app/dns.c)
 * over both directions of a flow, as datagrams or as a TCP stream with
 * gaps; each transaction's query getters and its EVE blocks (per
 * transaction and per message), which must be valid JSON. Bounds and
 * memory are checked by the driver. Input: see fuzz-app.h. */
#include "dns.h"
#include "fuzz-app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jbuf jb;

static void on_tx(const struct app_parser *p, void *st, const struct app_tx *tx, void *arg)
{
    const struct dns_tx *d = (const struct dns_tx *)tx;
    const uint8_t *name;
    uint32_t n;

    (void)arg;
    for (uint32_t i = 0; dns_tx_query(d, i, &name, &n); i++)
        if (n > DNS_MAX_NAME)
            abort();
    if (dns_tx_opcode(d) > 15)
        abort();
    fuzz_app_eve(p, st, tx, &jb);
    for (int dir = 0; dir < 2; dir++) {
        fuzz_app_json_start(&jb);
        dns_eve_message(d, (enum app_dir)dir, &jb);
        fuzz_app_json_check(&jb);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!jb.buf)
        jbuf_init(&jb);
    fuzz_app_run(&app_parser_dns, data, size, on_tx, NULL);
    return 0;
}
