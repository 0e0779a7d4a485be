/* ssh.h - the SSH parser: each direction's banner, then its binary packets
 * up to NEWKEYS, for the KEXINIT fingerprints (hassh).
 *
 * A flow is one transaction. Each direction starts with its version line,
 * "SSH-protoversion-softwareversion SP comments CR LF" (RFC 4253 4.2),
 * whichever side speaks first: the direction is the stage's enum app_dir,
 * never the order of arrival. The server may send other lines before its
 * version line (at most SSH_MAX_PRE_LINES); a client may not. A line is at
 * most SSH_MAX_BANNER bytes: a longer one counts long_banner and is kept
 * cut. As Suricata does, software_version ends at the first space (the
 * comments are kept apart).
 *
 * After its banner a direction is read as binary packets (packet_length,
 * padding_length, payload, padding; no MAC before NEWKEYS). Its first
 * KEXINIT (message 20) gives the hassh string, as the hassh definition
 * says: for the client (APP_TO_SERVER) "kex;enc c2s;mac c2s;comp c2s",
 * for the server (APP_TO_CLIENT) "kex;enc s2c;mac s2c;comp s2c" (the
 * name-lists verbatim), and its MD5 in lower-case hex. NEWKEYS (21) ends
 * what can be read of a direction: it is APP_PROG_DONE from then on and
 * its bytes are skipped without a look. A packet that cannot be one
 * (length < 2 or > SSH_MAX_PACKET, padding past the end, a KEXINIT over
 * SSH_MAX_KEXINIT or whose lists overrun it) counts invalid_record and ends
 * the direction the same way; so do a gap and the end of the direction.
 * A direction is APP_PROG_HEADERS once its banner is read.
 *
 * Events: Suricata's invalid_banner, long_banner, invalid_record; ours:
 * memcap.
 */
#ifndef LW_SSH_H
#define LW_SSH_H

#include <stddef.h>
#include <stdint.h>

#include "app-layer.h"

#define SSH_MAX_BANNER     255       /* bytes of a line, without CR LF */
#define SSH_MAX_PRE_LINES  16        /* lines a server may send before its banner */
#define SSH_MAX_PACKET     262144u   /* packet_length of a plausible packet */
#define SSH_MAX_KEXINIT    65536u    /* bytes of a KEXINIT payload kept */

enum ssh_event {
    SSH_EV_INVALID_BANNER = 0,
    SSH_EV_LONG_BANNER,
    SSH_EV_INVALID_RECORD,
    SSH_EV_MEMCAP,
    SSH_EV_MAX
};

extern const char *const ssh_event_names[SSH_EV_MAX];

/* What one side said. */
struct ssh_side {
    uint8_t  banner[SSH_MAX_BANNER];    /* the version line without CR LF */
    uint16_t banner_len;
    uint16_t proto_off, proto_len;       /* in banner */
    uint16_t soft_off, soft_len;
    uint16_t comments_off, comments_len;
    uint8_t  have_banner;
    uint8_t  have_hassh;
    uint8_t  newkeys;                    /* NEWKEYS seen */
    char     hassh[33];                  /* MD5 of hassh_string, lower-case hex */
    char    *hassh_string;               /* NUL-terminated, on app_mem */
    uint32_t hassh_string_len;
};

struct ssh_tx {
    struct app_tx tx;                    /* first */
    struct ssh_side side[2];             /* by enum app_dir: [APP_TO_SERVER] is the client */
};

/* Buffers for rules: ssh.proto and ssh.software of either side (the rule's
 * direction picks it), ssh.hassh (+ .string) of the client (APP_TO_SERVER)
 * and ssh.hassh.server (+ .string) of the server (APP_TO_CLIENT). */
enum ssh_buffer { SSH_BUF_PROTO, SSH_BUF_SOFTWARE, SSH_BUF_HASSH, SSH_BUF_HASSH_STRING };

/* Returns 1 and the buffer in *p and *n, or 0 when that side has not said it. */
int ssh_tx_get(const struct ssh_tx *tx, enum app_dir dir, enum ssh_buffer b, const uint8_t **p, uint32_t *n);

extern const struct app_parser app_parser_ssh;

#endif
