/* syslog-exporter.h - the syslog exporter's configuration (outputs.syslog).
 * (Not "syslog.h": that would shadow the C library's header.)
 *
 * EVE lines as RFC 5424 messages to the local syslog daemon or to a server
 * over UDP or TCP. Its registry entry is syslog_exporter (exporters.h).
 */
#ifndef LW_SYSLOG_EXPORTER_H
#define LW_SYSLOG_EXPORTER_H

#include <stdint.h>
#include "exporter.h"

/* outputs.syslog */
struct syslog_config {
    struct exporter_switch x;  /* enabled, types */
    char    *facility;
    char    *server;           /* "": the local syslog daemon */
    uint32_t port;
    char    *protocol;         /* udp, tcp */
    char    *ident;
};

#endif
