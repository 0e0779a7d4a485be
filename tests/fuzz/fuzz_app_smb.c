/* fuzz_app_smb.c - libFuzzer target: the SMB parser (sensor/app/smb.c)
 * over both directions of a flow with gaps: NBSS framing, SMB1 AndX chains,
 * SMB2 compounds, file data by offset; each transaction's file.data (never
 * past its limit) and its EVE and fileinfo blocks, which must be valid
 * JSON. Bounds and memory are checked by the driver. Input: see
 * fuzz-app.h. */
#include <stdlib.h>

#include "fuzz-app.h"
#include "smb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jbuf jb;

static void on_tx(const struct app_parser *p, void *st, const struct app_tx *tx, void *arg)
{
    const struct smb_tx *s = (const struct smb_tx *)tx;
    const uint8_t *b;
    uint32_t n;

    (void)arg;
    for (int dir = 0; dir < 2; dir++)
        if (smb_tx_file_data(s, (enum app_dir)dir, &b, &n) && (n > SMB_FILE_KEEP_MAX || n > s->file.size))
            abort();
    fuzz_app_eve(p, st, tx, &jb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!jb.buf)
        jbuf_init(&jb);
    fuzz_app_run(&app_parser_smb, data, size, on_tx, NULL);
    return 0;
}
