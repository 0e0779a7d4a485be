/* capture.c - libpcap sources; see capture.h. */
#include <dirent.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "decode.h"
#include "log.h"

/* The live capture a signal handler may interrupt; libpcap documents
 * pcap_breakloop() as safe to call from a signal handler and it wakes poll(). */
/* The live handle capture_interrupt() breaks: set by the capture thread,
 * read by signal handlers and the control thread. */
static _Atomic(pcap_t *) live_pcap;

/* A quiet live link still returns to the caller this often (stats, the
 * tally hand-over): libpcap's own read timeout does not fire when no
 * packet comes at all, so capture_next() polls. */
#define CAPTURE_POLL_MS 100

struct capture {
    pcap_t *pcap;
    char   *name;
    int     live;
    int     dlt;
    int     fd;              /* live, non-blocking: pcap's selectable fd; -1 otherwise */
};

const char *capture_datalink_desc(int dlt, char *buf, size_t buflen)
{
    const char *name = pcap_datalink_val_to_name(dlt);
    const char *desc = pcap_datalink_val_to_description(dlt);

    snprintf(buf, buflen, "%d %s (%s)", dlt, name ? name : "?", desc ? desc : "unknown");
    return buf;
}

static int capture_set_filter(struct capture *c, const char *bpf, char *err, size_t errlen)
{
    struct bpf_program prog;

    if (!bpf || !*bpf)
        return 0;
    if (pcap_compile(c->pcap, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) < 0) {
        snprintf(err, errlen, "%s: bad BPF filter '%s': %s", c->name, bpf, pcap_geterr(c->pcap));
        return -1;
    }
    if (pcap_setfilter(c->pcap, &prog) < 0) {
        snprintf(err, errlen, "%s: cannot set BPF filter: %s", c->name, pcap_geterr(c->pcap));
        pcap_freecode(&prog);
        return -1;
    }
    pcap_freecode(&prog);
    return 0;
}

/* Link types the decoder cannot read are refused at open, not packet by packet. */
static int capture_check_datalink(struct capture *c, char *err, size_t errlen)
{
    char d[128];

    c->dlt = pcap_datalink(c->pcap);
    if (decode_datalink_supported(c->dlt))
        return 0;
    snprintf(err, errlen, "%s: link type %s is not supported "
             "(supported: EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP, PPP, C_HDLC)",
             c->name, capture_datalink_desc(c->dlt, d, sizeof d));
    return -1;
}

struct capture *capture_open_file(const char *path, const char *bpf, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    struct capture *c = calloc(1, sizeof *c);

    if (!c || !(c->name = strdup(path))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    c->fd = -1;
    c->pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    if (!c->pcap) {
        snprintf(err, errlen, "%s: cannot read capture: %s", path, ebuf);
        goto fail;
    }
    if (capture_check_datalink(c, err, errlen) < 0 || capture_set_filter(c, bpf, err, errlen) < 0)
        goto fail;
    return c;
fail:
    capture_close(c);
    return NULL;
}

struct capture *capture_open_live(const char *iface, const struct lw_config *cfg,
                                  const char *bpf, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    struct capture *c = calloc(1, sizeof *c);
    int rc;

    if (!c || !(c->name = strdup(iface))) {
        snprintf(err, errlen, "%s: out of memory", iface);
        goto fail;
    }
    c->live = 1;
    c->fd = -1;
    c->pcap = pcap_create(iface, ebuf);
    if (!c->pcap) {
        snprintf(err, errlen, "%s: cannot open interface: %s", iface, ebuf);
        goto fail;
    }
    pcap_set_snaplen(c->pcap, (int)cfg->capture.snaplen);
    pcap_set_promisc(c->pcap, cfg->capture.promisc);
    /* A short timeout keeps signals, stats and timeouts responsive on a quiet link. */
    pcap_set_timeout(c->pcap, 100);
    if (cfg->capture.buffer_size)
        pcap_set_buffer_size(c->pcap, (int)(cfg->capture.buffer_size > INT32_MAX ? INT32_MAX
                                                                            : cfg->capture.buffer_size));
    pcap_set_immediate_mode(c->pcap, cfg->capture.immediate);
    pcap_set_tstamp_precision(c->pcap, PCAP_TSTAMP_PRECISION_MICRO);
    rc = pcap_activate(c->pcap);
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot start capture: %s", iface,
                 rc == PCAP_ERROR ? pcap_geterr(c->pcap) : pcap_statustostr(rc));
        goto fail;
    }
    if (rc > 0)
        log_warning("%s: %s", iface, rc == PCAP_WARNING ? pcap_geterr(c->pcap) : pcap_statustostr(rc));
    if (capture_check_datalink(c, err, errlen) < 0 ||
        capture_set_filter(c, bpf ? bpf : cfg->capture.bpf, err, errlen) < 0)
        goto fail;
    if (pcap_setnonblock(c->pcap, 1, ebuf) == 0)
        c->fd = pcap_get_selectable_fd(c->pcap);
    atomic_store(&live_pcap, c->pcap);
    return c;
fail:
    capture_close(c);
    return NULL;
}

void capture_close(struct capture *c)
{
    if (!c)
        return;
    if (c->pcap == atomic_load(&live_pcap))
        atomic_store(&live_pcap, NULL);
    if (c->pcap)
        pcap_close(c->pcap);
    free(c->name);
    free(c);
}

int capture_datalink(const struct capture *c) { return c->dlt; }
const char *capture_name(const struct capture *c) { return c->name; }
int capture_may_block(const struct capture *c)
{
    struct stat st;
    FILE *fp;

    if (c->live)
        return 1;
    fp = pcap_file(c->pcap);
    return !fp || fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode);
}

int capture_is_live(const struct capture *c) { return c->live; }

int capture_next(struct capture *c, const uint8_t **data, uint32_t *caplen,
                 uint32_t *wirelen, uint64_t *ts_usec, char *err, size_t errlen)
{
    struct pcap_pkthdr *h;
    const u_char *d;
    int rc = pcap_next_ex(c->pcap, &h, &d);

    if (rc == 0 && c->fd >= 0) {
        /* Nothing yet: wait for a packet, a signal (EINTR) or the poll time. */
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        poll(&pfd, 1, CAPTURE_POLL_MS);
        rc = pcap_next_ex(c->pcap, &h, &d);
    }
    if (rc == 1) {
        *data = d;
        *caplen = h->caplen;
        *wirelen = h->len;
        *ts_usec = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        return 1;
    }
    if (rc == 0)
        return 0;
    if (rc == PCAP_ERROR_BREAK)
        return -1;
    snprintf(err, errlen, "%s: read error: %s", c->name, pcap_geterr(c->pcap));
    return -2;
}

void capture_interrupt(void)
{
    pcap_t *p = atomic_load(&live_pcap);

    if (p)
        pcap_breakloop(p);
}

void capture_kernel_stats(struct capture *c, struct capture_stats *st)
{
    struct pcap_stat ps;

    if (!c->live || pcap_stats(c->pcap, &ps) < 0)
        return;
    STATS_SET(st->kernel_packets, ps.ps_recv);
    STATS_SET(st->kernel_drops, ps.ps_drop);
    STATS_SET(st->kernel_ifdrops, ps.ps_ifdrop);
}

static int has_capture_suffix(const char *n)
{
    static const char *const sfx[] = { ".pcap", ".pcapng", ".cap" };
    size_t len = strlen(n);

    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        size_t sl = strlen(sfx[i]);
        if (len > sl && strcmp(n + len - sl, sfx[i]) == 0)
            return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct pathvec {
    char **v;
    size_t n, cap;
};

static int pathvec_push(struct pathvec *pv, char *s)
{
    if (!s)
        return -1;
    if (pv->n + 2 > pv->cap) {
        size_t nc = pv->cap ? pv->cap * 2 : 16;
        char **nv = realloc(pv->v, nc * sizeof *nv);
        if (!nv) {
            free(s);
            return -1;
        }
        pv->v = nv;
        pv->cap = nc;
    }
    pv->v[pv->n++] = s;
    pv->v[pv->n] = NULL;
    return 0;
}

static int expand_dir(const char *dir, struct pathvec *pv, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t first = pv->n;

    if (!d) {
        snprintf(err, errlen, "%s: cannot open folder: %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d))) {
        char *p;
        if (de->d_name[0] == '.' || !has_capture_suffix(de->d_name))
            continue;
        if (asprintf(&p, "%s/%s", dir, de->d_name) < 0 || pathvec_push(pv, p) < 0) {
            closedir(d);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    closedir(d);
    qsort(pv->v + first, pv->n - first, sizeof *pv->v, cmp_str);
    return 0;
}

int capture_expand_paths(char *const *in, size_t n, char ***out, char *err, size_t errlen)
{
    struct pathvec pv = { 0 };
    struct stat st;

    for (size_t i = 0; i < n; i++) {
        if (stat(in[i], &st) < 0) {
            snprintf(err, errlen, "%s: %s", in[i], strerror(errno));
            goto fail;
        }
        if (S_ISDIR(st.st_mode)) {
            if (expand_dir(in[i], &pv, err, errlen) < 0)
                goto fail;
        } else if (pathvec_push(&pv, strdup(in[i])) < 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    if (pv.n == 0) {
        snprintf(err, errlen, "no capture files found (looked for *.pcap, *.pcapng, *.cap)");
        goto fail;
    }
    *out = pv.v;
    return (int)pv.n;
fail:
    if (pv.v)
        capture_free_paths(pv.v);
    return -1;
}

void capture_free_paths(char **paths)
{
    for (char **p = paths; *p; p++)
        free(*p);
    free(paths);
}

#define CAP(member, path, prom, help, flags) \
    { "capture/" path, prom, NULL, help, (uint32_t)offsetof(struct capture_stats, member), \
      STATS_COUNTER, STATS_SUM, flags, 0, NULL }
static const struct stats_field capture_fields[] = {
    CAP(kernel_packets, "kernel_packets", "linkwatch_kernel_packets_total",
        "Packets the kernel received (live capture).", 0),
    CAP(kernel_drops, "kernel_drops", "linkwatch_kernel_drops_total",
        "Packets the kernel dropped: the sensor did not keep up.", 0),
    CAP(kernel_ifdrops, "kernel_ifdrops", "linkwatch_interface_drops_total", "Packets the interface dropped.", 0),
    CAP(packets, "packets", "linkwatch_packets_total", "Packets read from the capture.", 0),
    CAP(bytes, "bytes", "linkwatch_bytes_total", "Wire bytes read from the capture.", 0),
    CAP(files, "files", "linkwatch_capture_files_total", "Capture files read.", STATS_IFANY),
    CAP(file_errors, "file_errors", "linkwatch_capture_file_errors_total",
        "Capture files refused or cut short.", STATS_IFANY),
};
#undef CAP

const struct stats_module capture_stats_module = {
    "capture", capture_fields, STATS_NELEM(capture_fields), sizeof(struct capture_stats), NULL
};
