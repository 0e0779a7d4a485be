/* event-types.h - the EVE event types, named once.
 *
 * EVENT_TYPES is the one list: it makes the enum, the name table (the
 * "event_type" of each EVE line, the "types" choices of every exporter's
 * configuration section, the Prometheus "type" label, eve-file's per-type
 * file names) and nothing else spells them. Keep names stable: they are in
 * users' configurations and dashboards.
 */
#ifndef LW_EVENT_TYPES_H
#define LW_EVENT_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define EVENT_TYPES(X)                   \
    X(ALERT,       "alert")              \
    X(FLOW,        "flow")               \
    X(STATS,       "stats")              \
    X(GEO_SUMMARY, "geo_summary")        \
    X(RELOAD,      "reload")             \
    X(HTTP,        "http")               \
    X(DNS,         "dns")                \
    X(TLS,         "tls")                \
    X(SSH,         "ssh")                \
    X(SMB,         "smb")                \
    X(FTP,         "ftp")                \
    X(FTP_DATA,    "ftp_data")           \
    X(FILEINFO,    "fileinfo")

enum event_type {
#define EVT_ENUM(id, name) EVT_##id,
    EVENT_TYPES(EVT_ENUM)
#undef EVT_ENUM
    EVT_MAX
};

/* The names, in enum order, NULL-terminated (a configuration choice list). */
extern const char *const event_type_names[EVT_MAX + 1];

/* The type named name, or -1 when it is none. */
int event_type_parse(const char *name);
/* The name of t; "unknown" for a value out of range. */
const char *event_type_name(enum event_type t);
/* The bit mask (1 << type) of a list of names; unknown names are skipped
 * (the configuration loader has refused them already). */
uint32_t event_type_mask(char *const *names, size_t n);

#endif
