/* fuzz_app_ssh.c - libFuzzer target: the SSH parser (sensor/app/ssh.c)
 * over both directions of a flow with gaps: banners, binary packets,
 * KEXINIT; each transaction's buffers and its EVE block, which must be
 * valid JSON. Bounds and memory are checked by the driver. Input: see
 * fuzz-app.h. */
#include "fuzz-app.h"
#include "ssh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jbuf jb;

static void on_tx(const struct app_parser *p, void *st, const struct app_tx *tx, void *arg)
{
    const struct ssh_tx *s = (const struct ssh_tx *)tx;
    const uint8_t *b;
    uint32_t n;

    (void)arg;
    for (int dir = 0; dir < 2; dir++)
        for (int k = SSH_BUF_PROTO; k <= SSH_BUF_HASSH_STRING; k++)
            if (ssh_tx_get(s, (enum app_dir)dir, (enum ssh_buffer)k, &b, &n) && k < SSH_BUF_HASSH &&
                n > SSH_MAX_BANNER)
                abort();
    fuzz_app_eve(p, st, tx, &jb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!jb.buf)
        jbuf_init(&jb);
    fuzz_app_run(&app_parser_ssh, data, size, on_tx, NULL);
    return 0;
}
