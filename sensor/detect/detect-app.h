/* detect-app.h - the transaction buffer providers (detect-app.c, declared
 * in detect-buffer.h for its provider table): the buffers, values and
 * app-layer events of the HTTP, DNS, TLS and SSH transactions the
 * application-layer parsers make (app-layer.h).
 *
 * A provider answers for a source whose tx is set and whose proto is its
 * parser's (struct detect_src). A buffer that exists on both sides
 * (http.header, http.cookie, file.data, ssh.software) is the side of
 * src->dir; a one-sided buffer (http.uri, http.stat_code, ja3s.hash) is
 * its own side's whatever the source's direction, so a rule may read the
 * request and the response of one transaction. http.request_header and
 * http.response_header are multi-buffers: instance i is header i. */
#ifndef LW_DETECT_APP_H
#define LW_DETECT_APP_H

#include <stdint.h>

#include "app-layer.h"
#include "detect-buffer.h"

/* How far direction dir of tx has come for detection: 0 before its
 * headers are done, else a value that changes whenever what the rules of
 * that direction can see grows (progress, body bytes, certificates, the
 * hassh). Detection runs a direction's rules again only when it changed. */
uint32_t detect_app_stamp(enum app_proto proto, const struct app_tx *tx, uint8_t dir);

/* Whether two stamps of a direction differ only in its body's length
 * (while the body is shorter than 8 MiB, as a body waiting for its
 * minimal inspect size is). */
int detect_app_stamp_body_only(uint32_t a, uint32_t b);

/* Whether the body of tx's side (0 request, 1 response) is still too
 * short to inspect (HTTP's minimal inspect sizes, as Suricata: a body
 * rule waits until that much arrived or the body ended). */
int detect_body_waits(enum app_proto proto, const struct app_tx *tx, uint8_t side);

/* Where body rules look at the body of tx's side from (0: the start):
 * after an earlier look at it, its inspect window before the new data. */
uint32_t detect_body_from(enum app_proto proto, const struct app_tx *tx, uint8_t side);

/* The body rules of tx's side ran: a later look starts from its window. */
void detect_body_looked(enum app_proto proto, struct app_tx *tx, uint8_t side);

#endif
