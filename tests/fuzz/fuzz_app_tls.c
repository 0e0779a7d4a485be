/* fuzz_app_tls.c - libFuzzer target: the TLS parser (sensor/app/tls.c)
 * over both directions of a flow with gaps: records, handshake
 * reassembly, hellos, certificates through libcrypto; each transaction's
 * buffers and its EVE block with the chain, which must be valid JSON.
 * Bounds and memory are checked by the driver. Input: see fuzz-app.h. */
#include "fuzz-app.h"
#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jbuf jb;

static void on_tx(const struct app_parser *p, void *st, const struct app_tx *tx, void *arg)
{
    const struct tls_tx *t = (const struct tls_tx *)tx;
    const uint8_t *b;
    uint32_t n;
    int64_t nb, na;

    (void)arg;
    for (int k = TLS_BUF_SNI; k <= TLS_BUF_JA3S_STRING; k++)
        if (tls_tx_get(t, (enum tls_buffer)k, &b, &n) && n && !b)
            abort();
    for (uint32_t i = 0; tls_tx_cert(t, i, &b, &n); i++)
        if (n && !b)
            abort();
    tls_tx_validity(t, &nb, &na);
    fuzz_app_eve(p, st, tx, &jb);
    fuzz_app_json_start(&jb);
    tls_eve_write(t, &jb, TLS_EVE_CHAIN);
    fuzz_app_json_check(&jb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!jb.buf)
        jbuf_init(&jb);
    fuzz_app_run(&app_parser_tls, data, size, on_tx, NULL);
    return 0;
}
