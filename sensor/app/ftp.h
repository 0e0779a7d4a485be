/* ftp.h - the FTP parsers: the control connection (ftp.c) and the data
 * connections it announces (ftp-data.c).
 *
 * Control (RFC 959, 2428): each direction is read as lines ending in LF
 * (a CR before it is dropped). A line is kept up to FTP_MAX_LINE bytes, as
 * Suricata's ftp max-line-length: the rest of a longer line is skipped to
 * its LF, the line is marked truncated and request_command_too_long (a
 * command) or response_command_too_long (a reply) is counted. Each command
 * line opens a transaction: its command (the first word, upper-cased) and
 * command_data (what follows the space). Reply lines go to the oldest
 * transaction still waiting for its reply; a reply that finds none (the
 * 220 greeting) makes a transaction of its own without a command. A reply
 * line "NNN text" or "NNN-text" gives a completion code and its text;
 * a transaction is done when a final line ("NNN text") with a code that
 * is not 1xx arrives: 150 before a transfer is followed by its 226 in the
 * same transaction, as Suricata. At most FTP_MAX_REPLIES lines are kept.
 * Past limits.max_tx transactions waiting for a reply the oldest is given
 * up (too_many_transactions).
 *
 * Data connections: PORT and EPRT commands (active mode: the server will
 * connect to the client) and 227 and 229 replies (passive: the client
 * connects to the server) give the port; the next STOR or RETR makes an
 * expectation (struct app_expect) of a flow between the same two hosts to
 * that port, from the server (active) or the client (passive), carrying
 * the command and the file name. As Suricata, the address in PORT, EPRT or
 * 227 is not used: the data connection must be between the control
 * connection's hosts. A malformed or out-of-range PORT, EPRT, 227 or 229
 * (a number over 255, a port 0 or over 65535, too few fields) counts
 * invalid_port and announces nothing.
 *
 * ftp-data: the expected flow's one transaction holds the command (STOR
 * or RETR) and file name from the start, both directions; the bytes of
 * the first direction that sends any are the file (app-file.h), the first
 * FTP_DATA_KEEP of them kept for file.data. The file closes when that
 * direction ends (CLOSED), or TRUNCATED at a gap or when the flow ends
 * without it. Bytes in the other direction are ignored.
 *
 * Events: Suricata's request_command_too_long, response_command_too_long;
 * ours: invalid_port, too_many_transactions, memcap.
 */
#ifndef LW_FTP_H
#define LW_FTP_H

#include <stddef.h>
#include <stdint.h>

#include "app-file.h"
#include "app-layer.h"
#include "app-util.h"

#define FTP_MAX_LINE     4096u        /* bytes of a line kept (Suricata's default max-line-length) */
#define FTP_MAX_REPLIES  16u          /* reply lines kept per transaction */
#define FTP_DATA_KEEP    (100u * 1024) /* bytes of a data connection kept for file.data */

enum ftp_event {
    FTP_EV_REQUEST_COMMAND_TOO_LONG = 0,
    FTP_EV_RESPONSE_COMMAND_TOO_LONG,
    FTP_EV_INVALID_PORT,
    FTP_EV_TOO_MANY_TRANSACTIONS,
    FTP_EV_MEMCAP,
    FTP_EV_MAX
};

extern const char *const ftp_event_names[FTP_EV_MAX];

/* struct ftp_tx.mode, struct ftp_state's announced data connection. */
enum ftp_mode { FTP_MODE_NONE = 0, FTP_MODE_ACTIVE, FTP_MODE_PASSIVE };

/* The data commands that make an expectation (ftpdata_command). */
enum ftp_data_cmd { FTP_DATA_NONE = 0, FTP_DATA_STOR, FTP_DATA_RETR };

/* One command and its reply. */
struct ftp_tx {
    struct app_tx tx;                 /* first */
    uint8_t  has_command;             /* 0: a reply no command asked for (the greeting) */
    uint8_t  command_truncated;
    uint8_t  reply_truncated;
    uint8_t  reply_received;
    uint8_t  mode;                    /* enum ftp_mode: PORT/EPRT or 227/229 gave dynamic_port */
    uint8_t  nreplies;
    uint16_t dynamic_port;
    uint16_t command_len;             /* command: line[0 .. command_len) */
    uint32_t data_off;                /* command_data: line[data_off .. line.len) */
    struct app_bytes line;            /* the command line as kept, without CR LF */
    struct app_bytes replies;         /* the reply lines, each followed by '\n' */
    uint32_t reply_off[FTP_MAX_REPLIES];  /* where each line starts in replies */
    char     code[FTP_MAX_REPLIES][4];    /* its completion code, "" for none */
};

/* An expectation's data (struct app_expect.data): what the data
 * connection is for. On app_mem, sizeof + name_len bytes. */
struct ftp_data_info {
    uint8_t  command;                 /* enum ftp_data_cmd */
    uint32_t name_len;
    uint8_t  name[];                  /* the file name as the command gave it */
};

/* The data connection's one transaction. */
struct ftp_data_tx {
    struct app_tx tx;                 /* first */
    struct ftp_data_info *info;       /* NULL when the flow was not expected */
    int8_t   data_dir;                /* the direction that carries the file, -1 none yet */
    struct app_file file;
    struct app_bytes kept;            /* the first FTP_DATA_KEEP bytes of the file */
};

/* The file.data and file.name of a data transaction in direction dir;
 * 0 when that direction has none. */
int ftp_data_tx_bytes(const struct ftp_data_tx *tx, enum app_dir dir, const uint8_t **p, uint32_t *len);
const struct app_file *ftp_data_tx_file(const struct ftp_data_tx *tx);
/* Frees an expectation's struct ftp_data_info (app_parser.expect_free). */
void ftp_data_info_free(struct app_ctx *ctx, void *data);
/* "STOR", "RETR" ("" for none). */
const char *ftp_data_cmd_name(unsigned cmd);

/* Parses the argument of PORT ("h1,h2,h3,h4,p1,p2"), of EPRT
 * ("|1|addr|port|"), and the text of a 227 reply ("... (h1,...,p2)") or a
 * 229 reply ("... (|||port|)"). Return the port (1 to 65535), or -1 when
 * the text is malformed or a value out of range. */
int ftp_parse_port(const uint8_t *s, size_t n);
int ftp_parse_eprt(const uint8_t *s, size_t n);
int ftp_parse_227(const uint8_t *s, size_t n);
int ftp_parse_229(const uint8_t *s, size_t n);

extern const struct app_parser app_parser_ftp;
extern const struct app_parser app_parser_ftp_data;

#endif
