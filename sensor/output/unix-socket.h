/* unix-socket.h - the unix-socket exporter's configuration
 * (outputs.unix-socket).
 *
 * EVE lines to a unix stream socket a local shipper listens on, with
 * reconnection. Its registry entry is unix_socket_exporter (exporters.h).
 */
#ifndef LW_UNIX_SOCKET_H
#define LW_UNIX_SOCKET_H

#include "exporter.h"

/* outputs.unix-socket */
struct unix_socket_config {
    struct exporter_switch x;  /* enabled, types */
    char *path;
};

#endif
