/* eve-file.h - the eve-file exporter's configuration (outputs.eve-file).
 *
 * EVE JSON lines appended to a file (or, with split-by-type, to one file
 * per type named after it: eve.json -> eve-alert.json), rotated by size
 * and/or time keeping rotate-keep files, reopened on request (logrotate).
 * Its registry entry is eve_file_exporter (exporters.h).
 */
#ifndef LW_EVE_FILE_H
#define LW_EVE_FILE_H

#include <stdint.h>
#include "exporter.h"

/* outputs.eve-file */
struct eve_file_config {
    struct exporter_switch x;  /* enabled, types */
    char    *filename;         /* relative to the log folder */
    int      split_by_type;    /* one file per event type: eve-alert.json, ... */
    uint64_t rotate_size;      /* bytes, 0: no rotation by size */
    uint32_t rotate_interval;  /* seconds, 0: no rotation by time */
    uint32_t rotate_keep;      /* rotated files kept */
};

/* outputs.eve-file.filename as loaded into cfg (for the run summary). */
const char *eve_file_filename(const struct lw_config *cfg);

#endif
