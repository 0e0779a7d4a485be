/* eve-file.c - EVE JSON lines to a file, buffered, reopened on request. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter.h"

struct eve_file {
    char *path;
    FILE *fp;
};

static int eve_file_write(struct exporter *x, enum event_type t, const char *line, size_t len)
{
    struct eve_file *ef = x->priv;

    if (!ef->fp)
        return -1;
    if (fwrite(line, 1, len, ef->fp) != len || putc('\n', ef->fp) == EOF)
        return -1;
    return 0;
}

static int eve_file_flush(struct exporter *x)
{
    struct eve_file *ef = x->priv;
    return ef->fp && fflush(ef->fp) == 0 ? 0 : -1;
}

/* Appends, as Suricata does, so a restart never truncates what analysts have. */
static FILE *eve_file_fopen(const char *path)
{
    FILE *fp = fopen(path, "a");
    if (fp)
        setvbuf(fp, NULL, _IOFBF, 1 << 16);
    return fp;
}

static int eve_file_reopen(struct exporter *x)
{
    struct eve_file *ef = x->priv;

    if (ef->fp)
        fclose(ef->fp);
    ef->fp = eve_file_fopen(ef->path);
    return ef->fp ? 0 : -1;
}

static void eve_file_close(struct exporter *x)
{
    struct eve_file *ef = x->priv;

    if (ef->fp)
        fclose(ef->fp);
    free(ef->path);
    free(ef);
    free(x);
}

static const struct exporter_ops eve_file_ops = {
    .name = "eve-file",
    .write_event = eve_file_write,
    .flush = eve_file_flush,
    .reopen = eve_file_reopen,
    .close = eve_file_close,
};

struct exporter *eve_file_open(const char *path, uint32_t types, char *err, size_t errlen)
{
    struct exporter *x = calloc(1, sizeof *x);
    struct eve_file *ef = calloc(1, sizeof *ef);

    if (!x || !ef)
        goto fail;
    ef->path = strdup(path);
    if (!ef->path)
        goto fail;
    ef->fp = eve_file_fopen(path);
    if (!ef->fp) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto fail_quiet;
    }
    x->ops = &eve_file_ops;
    x->types = types;
    x->priv = ef;
    return x;
fail:
    snprintf(err, errlen, "%s: out of memory", path);
fail_quiet:
    if (ef)
        free(ef->path);
    free(ef);
    free(x);
    return NULL;
}
