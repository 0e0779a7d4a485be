/* fuzz_app_ftp.c - libFuzzer target: the FTP control parser
 * (sensor/app/ftp.c) over both directions of a flow with gaps: command and
 * reply lines, too-long lines, PORT/EPRT/227/229; each transaction's EVE
 * block, which must be valid JSON, and each data connection it announces,
 * whose file the ftp-data parser (ftp-data.c) is then fed the same input.
 * Bounds and memory are checked by the driver. Input: see fuzz-app.h. */
#include <string.h>

#include "fuzz-app.h"
#include "ftp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jbuf jb;

static void on_tx(const struct app_parser *p, void *st, const struct app_tx *tx, void *arg)
{
    const struct ftp_tx *t = (const struct ftp_tx *)tx;

    (void)arg;
    if (p == &app_parser_ftp && (t->line.len > FTP_MAX_LINE || t->nreplies > FTP_MAX_REPLIES ||
                                 t->data_off > t->line.len))
        abort();
    fuzz_app_eve(p, st, tx, &jb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!jb.buf)
        jbuf_init(&jb);
    fuzz_app_run(&app_parser_ftp, data, size, on_tx, NULL);
    fuzz_app_run(&app_parser_ftp_data, data, size, on_tx, NULL);
    return 0;
}
