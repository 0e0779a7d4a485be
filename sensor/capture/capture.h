/* capture.h - packet sources: capture files (pcap, pcapng), folders of them,
 * and live interfaces through libpcap.
 */
#ifndef LW_CAPTURE_H
#define LW_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "stats.h"

struct capture;

/* Counters of the capture (stats.capture.*): written by the capture thread
 * (kernel_* by whoever polls the live handle, under the same rule). */
struct capture_stats {
    uint64_t packets;        /* frames handed to the sensor */
    uint64_t bytes;
    uint64_t kernel_packets; /* ps_recv */
    uint64_t kernel_drops;   /* ps_drop */
    uint64_t kernel_ifdrops; /* ps_ifdrop */
    uint64_t files;          /* files read (offline) */
    uint64_t file_errors;    /* files refused or cut short */
};
extern const struct stats_module capture_stats_module;

/* Opens a capture file; bpf may be NULL or "". Returns NULL with a one-line
 * reason in err. */
struct capture *capture_open_file(const char *path, const char *bpf, char *err, size_t errlen);

/* Opens a live interface with the capture.* settings; bpf overrides
 * capture.bpf when not NULL. Returns NULL with a one-line reason in err. */
struct capture *capture_open_live(const char *iface, const struct lw_config *cfg,
                                  const char *bpf, char *err, size_t errlen);
void capture_close(struct capture *c);

int capture_datalink(const struct capture *c);
const char *capture_name(const struct capture *c);
int capture_is_live(const struct capture *c);
/* Whether a read may wait for input: live, or a file that is not a
 * regular file (a pipe, a FIFO). */
int capture_may_block(const struct capture *c);

/* Reads the next frame. Returns 1 with *data, *caplen, *wirelen, *ts_usec
 * set; 0 when a live read timed out (call again); -1 at the end of a file;
 * -2 on a read error (reason in err: e.g. a file cut short). */
int capture_next(struct capture *c, const uint8_t **data, uint32_t *caplen,
                 uint32_t *wirelen, uint64_t *ts_usec, char *err, size_t errlen);

/* Makes a blocked read of the live capture return at once (as the end of
 * capture). Async-signal-safe: meant for SIGINT/SIGTERM handlers. */
void capture_interrupt(void);

/* Kernel counters of a live capture into st (files: left as they are). */
void capture_kernel_stats(struct capture *c, struct capture_stats *st);

/* Expands -r arguments: files are kept, folders give their *.pcap, *.pcapng
 * and *.cap files sorted by name. *out is a NULL-terminated array the caller
 * frees with capture_free_paths(). Returns the count, or -1 with a reason in err. */
int capture_expand_paths(char *const *in, size_t n, char ***out, char *err, size_t errlen);
void capture_free_paths(char **paths);

/* "EN10MB (Ethernet)" style name of a link type, for messages. */
const char *capture_datalink_desc(int dlt, char *buf, size_t buflen);

#endif
