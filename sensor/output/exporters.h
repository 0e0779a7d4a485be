/* exporters.h - the exporter registry: every exporter, once.
 *
 * EXPORTERS is the one list. Each entry names a struct exporter_def defined
 * in the exporter's own file (exporter.h); from the list come the registry
 * output_open() loops over and the configuration sections config_load()
 * checks and fills (config_load() is defined here for that). Adding an
 * exporter is its file, one line here, and its section in linkwatch.yaml.
 */
#ifndef LW_EXPORTERS_H
#define LW_EXPORTERS_H

#include "exporter.h"

#define EXPORTERS(X)            \
    X(eve_file_exporter)        \
    X(syslog_exporter)          \
    X(unix_socket_exporter)     \
    X(redis_alert_exporter)

/* Helpers to expand a list like EXPORTERS into the two tables. */
#define EXPORTER_DECLARE(d)  extern const struct exporter_def d;
#define EXPORTER_ENTRY(d)    &d,
#define EXPORTER_SECTION(d)  &d.config,

EXPORTERS(EXPORTER_DECLARE)

/* The registry, NULL-terminated, in the order exporters are opened. */
extern const struct exporter_def *const exporter_registry[];

#endif
