/* eve-file.c - EVE JSON lines to files: one, or one per event type;
 * buffered; rotated by size and/or age; reopened on request (logrotate). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eve-file.h"
#include "exporter.h"
#include "fsafe.h"
#include "log.h"
#include "util.h"

/* One output file. */
struct ef_file {
    char *path;                /* for messages */
    char *name;                /* in the folder */
    FILE *fp;
    uint64_t size;             /* bytes in the current file */
    uint64_t synced;           /* of which known to be on disk: whole lines only */
    uint64_t unsynced;         /* events written since, still in the stdio buffer */
    uint64_t opened;           /* mono usec */
};

struct eve_file {
    int dirfd;                 /* the files' folder: every name is opened in it, never through a link */
    struct ef_file f[EVT_MAX]; /* split: one per type; else all in f[0] */
    int split;
    uint64_t rotate_size;
    uint64_t rotate_usec;
    uint32_t keep;
    uint64_t rotations;
};

/* Appends, as Suricata does, so a restart never truncates what analysts
 * have. The file is created 0640 (EVE lines carry payloads, and
 * payload_printable cleartext credentials). Returns 0, or -1 with err. */
static int ef_open(const struct eve_file *ef, struct ef_file *f, char *err, size_t errlen)
{
    int fd = fs_open_file_at(ef->dirfd, f->name, f->path, O_WRONLY | O_APPEND | O_CREAT, 0640, NULL,
                             err, errlen);
    off_t pos;

    if (fd < 0)
        return -1;
    pos = lseek(fd, 0, SEEK_END);
    if (!(f->fp = fdopen(fd, "a"))) {
        snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
        close(fd);
        return -1;
    }
    setvbuf(f->fp, NULL, _IOFBF, 1 << 16);
    f->size = f->synced = pos > 0 ? (uint64_t)pos : 0;
    f->unsynced = 0;
    f->opened = lw_now_mono_usec();
    return 0;
}

/* ef_open() for the writer's thread: a failure is logged. */
static int ef_reopen(const struct eve_file *ef, struct ef_file *f)
{
    char err[512];

    if (ef_open(ef, f, err, sizeof err) == 0)
        return 0;
    log_error("eve-file: %s", err);
    return -1;
}

/* eve.json -> eve.json.1 -> ... -> eve.json.KEEP (the oldest is deleted). */
static int ef_rotate(struct eve_file *ef, struct ef_file *f)
{
    size_t len = strlen(f->name) + 16;
    char *from = malloc(len), *to = malloc(len);
    int rc = -1;

    if (!from || !to)
        goto out;
    if (f->fp) {
        fclose(f->fp);
        f->fp = NULL;
    }
    /* Names in the folder: renaming or removing a link moves the link, never its target. */
    snprintf(to, len, "%s.%u", f->name, ef->keep);
    unlinkat(ef->dirfd, to, 0);
    for (uint32_t i = ef->keep; i > 1; i--) {
        snprintf(from, len, "%s.%u", f->name, i - 1);
        snprintf(to, len, "%s.%u", f->name, i);
        renameat(ef->dirfd, from, ef->dirfd, to);
    }
    snprintf(to, len, "%s.1", f->name);
    if (renameat(ef->dirfd, f->name, ef->dirfd, to) < 0 && errno != ENOENT)
        log_warning("eve-file: %s: cannot rotate: %s", f->path, strerror(errno));
    rc = ef_reopen(ef, f);
    ef->rotations++;
out:
    free(from);
    free(to);
    return rc;
}

/* A write failed (disk full, I/O error): the events still in the stdio
 * buffer are lost, and part of them may have reached the file. Cuts the
 * file back to its last whole line, so a reader never sees half an event
 * and later events start on a line of their own; counts the lost events as
 * failed rather than written. The next write reopens the file. */
static void ef_fail(struct exporter *x, struct ef_file *f)
{
    int fd = f->fp ? dup(fileno(f->fp)) : -1;

    if (f->fp) {
        fclose(f->fp);             /* fails too; what it held is dropped */
        f->fp = NULL;
    }
    /* The file it wrote, not whatever has its name now. */
    if (fd >= 0 && ftruncate(fd, (off_t)f->synced) < 0)
        log_warning("eve-file: %s: cannot cut back to its last whole event: %s", f->path, strerror(errno));
    if (fd >= 0)
        close(fd);
    __atomic_sub_fetch(&x->counters.written, f->unsynced, __ATOMIC_RELAXED);
    __atomic_add_fetch(&x->counters.failed, f->unsynced, __ATOMIC_RELAXED);
    f->unsynced = 0;
}

/* Flushes f. Returns 0, or -1 after ef_fail(). */
static int ef_sync(struct exporter *x, struct ef_file *f)
{
    if (!f->fp)
        return 0;
    if (fflush(f->fp) != 0) {
        ef_fail(x, f);
        return -1;
    }
    f->synced = f->size;
    f->unsynced = 0;
    return 0;
}

static struct ef_file *ef_for(struct eve_file *ef, enum event_type t)
{
    return &ef->f[ef->split ? t : 0];
}

static int eve_file_write(struct exporter *x, const struct exporter_event *ev)
{
    struct eve_file *ef = x->priv;
    enum event_type t = ev->type;
    struct ef_file *f = ef_for(ef, t);
    const char *line = ev->line;
    size_t len = ev->len;

    if ((ef->rotate_size && f->size + len + 1 > ef->rotate_size && f->size > 0) ||
        (ef->rotate_usec && lw_now_mono_usec() - f->opened >= ef->rotate_usec))
        ef_rotate(ef, f);
    if (!f->fp && ef_reopen(ef, f) < 0)
        return -1;
    if (fwrite(line, 1, len, f->fp) != len || putc('\n', f->fp) == EOF) {
        ef_fail(x, f);
        return -1;
    }
    f->size += len + 1;
    /* An alert is on disk before it counts as written: if it cannot be,
     * the caller spools it instead of losing it with the buffer. */
    if (t == EVT_ALERT)
        return ef_sync(x, f);
    f->unsynced++;
    return 0;
}

static int eve_file_flush(struct exporter *x)
{
    struct eve_file *ef = x->priv;

    /* A failed flush counts its lost events as failed itself (ef_fail), so
     * the caller must not count one more. */
    for (int i = 0; i < EVT_MAX; i++)
        ef_sync(x, &ef->f[i]);
    return 0;
}

static int eve_file_reopen(struct exporter *x)
{
    struct eve_file *ef = x->priv;
    int rc = 0;

    for (int i = 0; i < EVT_MAX; i++) {
        if (!ef->f[i].path)
            continue;
        if (ef->f[i].fp)
            fclose(ef->f[i].fp);
        ef->f[i].fp = NULL;
        if (ef_reopen(ef, &ef->f[i]) < 0)
            rc = -1;
    }
    return rc;
}

static void eve_file_close(struct exporter *x)
{
    struct eve_file *ef = x->priv;

    for (int i = 0; i < EVT_MAX; i++) {
        if (ef->f[i].fp)
            fclose(ef->f[i].fp);
        free(ef->f[i].path);
        free(ef->f[i].name);
    }
    if (ef->dirfd >= 0)
        close(ef->dirfd);
    free(ef);
    free(x);
}

static int eve_file_give(struct exporter *x, unsigned uid, unsigned gid)
{
    struct eve_file *ef = x->priv;
    int rc = 0;

    for (int i = 0; i < EVT_MAX; i++)
        if (ef->f[i].fp && fs_give(fileno(ef->f[i].fp), uid, gid) < 0)
            rc = -1;
    return rc;
}

static const struct exporter_ops eve_file_ops = {
    .write_event = eve_file_write,
    .flush = eve_file_flush,
    .reopen = eve_file_reopen,
    .close = eve_file_close,
    .give = eve_file_give,
};

/* "dir/eve.json" + "alert" -> "dir/eve-alert.json". */
static char *type_path(const char *path, const char *type)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    char *out;

    if (!dot || (slash && dot < slash))
        dot = path + strlen(path);
    if (asprintf(&out, "%.*s-%s%s", (int)(dot - path), path, type, dot) < 0)
        return NULL;
    return out;
}

/* f's path from the configured one (split: named after type t) and its
 * name in the folder. Returns 0 or -1 (out of memory). */
static int ef_name(struct ef_file *f, const char *path, int split, enum event_type t)
{
    char *dir;

    f->path = split ? type_path(path, event_type_name(t)) : strdup(path);
    if (!f->path || !(dir = malloc(strlen(f->path) + 2)) || !(f->name = malloc(strlen(f->path) + 2)))
        return -1;
    fs_split(f->path, dir, f->name);
    free(dir);
    return 0;
}

/* Opens the file(s) of the section under p->logdir. Returns NULL and a
 * reason in err when a file cannot be opened. */
static struct exporter *eve_file_open(const struct exporter_params *p, char *err, size_t errlen)
{
    const struct eve_file_config *cfg = p->section;
    uint32_t types = p->types;
    char *path = lw_join_path(p->logdir, cfg->filename), *dir = NULL, *base = NULL;
    struct exporter *x = calloc(1, sizeof *x);
    struct eve_file *ef = calloc(1, sizeof *ef);

    if (x && ef) {
        x->priv = ef;
        ef->dirfd = -1;
    }
    if (!x || !ef || !path || !(dir = malloc(strlen(path) + 2)) || !(base = malloc(strlen(path) + 2)))
        goto oom;
    x->ops = &eve_file_ops;
    x->types = types;
    ef->split = cfg->split_by_type;
    ef->rotate_size = cfg->rotate_size;
    ef->rotate_usec = (uint64_t)cfg->rotate_interval * 1000000u;
    ef->keep = cfg->rotate_keep ? cfg->rotate_keep : 1;
    fs_split(path, dir, base);
    if ((ef->dirfd = fs_open_dir(dir, 0, 0, NULL, err, errlen)) < 0)
        goto fail;
    for (int t = 0; t < EVT_MAX; t++) {
        struct ef_file *f = &ef->f[t];

        if (ef->split ? !((types >> t) & 1u) : t > 0)
            continue;
        if (ef_name(f, path, ef->split, (enum event_type)t) < 0)
            goto oom;
        if (ef_open(ef, f, err, errlen) < 0)
            goto fail;
    }
    free(path);
    free(dir);
    free(base);
    return x;
oom:
    snprintf(err, errlen, "%s: out of memory", path ? path : cfg->filename);
fail:
    free(path);
    free(dir);
    free(base);
    if (x && ef) {
        eve_file_close(x);
        return NULL;
    }
    free(ef);
    free(x);
    return NULL;
}

static const struct cfg_key eve_file_keys[] = {
    CFG_KTXT("enabled", CFG_BOOL, struct eve_file_config, x.enabled),
    CFG_KTXT("filename", CFG_NONEMPTY, struct eve_file_config, filename),
    CFG_KSET("types", CFG_ENUMLIST, struct eve_file_config, x.types, event_type_names),
    CFG_KTXT("split-by-type", CFG_BOOL, struct eve_file_config, split_by_type),
    CFG_KNUM("rotate-size", CFG_SIZE, struct eve_file_config, rotate_size, 0, 1024 * CFG_GB),
    CFG_KNUM("rotate-interval", CFG_DURATION, struct eve_file_config, rotate_interval, 0, 30 * CFG_DAY),
    CFG_KNUM("rotate-keep", CFG_UINT, struct eve_file_config, rotate_keep, 1, 1000),
};

/* eve-file: EVE JSON lines appended to outputs.eve-file.filename (or, with
 * split-by-type, to one file per type named after it: eve.json ->
 * eve-alert.json), rotated by size and/or time keeping rotate-keep files. */
const struct exporter_def eve_file_exporter = {
    .name = "eve-file",
    .config = CFG_SECTION("outputs.eve-file", struct eve_file_config, eve_file_keys),
    .enabled = exporter_switch_enabled,
    .open = eve_file_open,
};

const char *eve_file_filename(const struct lw_config *cfg)
{
    const struct eve_file_config *c = config_section(cfg, &eve_file_exporter.config);

    return c ? c->filename : "";
}
