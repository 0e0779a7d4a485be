/* rule-buffers.h - the one table of buffers a rule can inspect: each sticky
 * buffer's Suricata name, older spelling, legacy content modifier, pcre
 * flag, application protocol, direction, whether it is per transaction and
 * whether a transaction has several of it (struct rule_buffer_info in
 * rule-t.h). The parser, the keyword list and the detection engine all read
 * it; nothing else names a buffer. */
#ifndef LW_RULE_BUFFERS_H
#define LW_RULE_BUFFERS_H

#include "rule-t.h"

/* The row of buffer b, NULL when b is out of range. */
const struct rule_buffer_info *rule_buffer_info(unsigned b);

/* "payload", "dns.query", "tls.sni", ... (Suricata's names). */
const char *rule_buffer_name(enum rule_buffer b);

/* The buffer a sticky keyword names (its name or its older spelling; not
 * a RULE_BUFF_KEYWORD one, which only its keyword reads), the one a legacy
 * content modifier moves a content to, the one a pcre flag letter names:
 * -1 when none. */
int rule_buffer_by_name(const char *name);
int rule_buffer_by_legacy(const char *modifier);
int rule_buffer_by_pcre_flag(char flag);

/* Whether a buffer of protocol bp ("http", "file", ...) can be used by a
 * rule whose header protocol is proto (a plain ip/tcp/udp header fits any;
 * file data comes with http, smtp, ftp-data, smb and nfs; tls buffers also
 * with quic). */
int rule_buffer_proto_fits(const char *bp, const char *proto, int app_layer);

#endif
