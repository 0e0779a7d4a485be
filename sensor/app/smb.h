/* smb.h - the SMB parser (SMB1 and SMB2/3 over NBSS, ports 445 and 139):
 * the files a flow reads and writes, for file.data, the file keywords and
 * EVE's fileinfo.
 *
 * Each direction is a run of NBSS messages (a 4-byte header: type, 24-bit
 * length). A session message (type 0) of at most SMB_MSG_BUFFER bytes is
 * buffered whole and parsed: an SMB1 message with its AndX chain (each
 * command where AndXOffset says, forwards only), or an SMB2 message with
 * its compound requests (NextCommand). A longer message is parsed from its
 * first SMB_MSG_BUFFER bytes: when its first command is a WRITE (request)
 * or READ (response) whose data runs past them, the data is followed to
 * the file as it arrives and the rest of the message is skipped. Other NBSS
 * types (keep-alive, session request) are skipped; so are encrypted (SMB3
 * transform) and compressed messages.
 *
 * Names: an NT_CREATE_ANDX (SMB1) or CREATE (SMB2) request names a file,
 * its response gives the FID / FileId; both are kept per flow (at most
 * SMB_MAX_NAMES) to name the files. In a related compound (CREATE, WRITE,
 * CLOSE in one message) the FileId of all ones is the CREATE's file.
 *
 * Files: a WRITE request (SMB1 WRITE_ANDX, WRITE; SMB2 WRITE) carries
 * data to the server at a file offset; a READ response (SMB1 READ_ANDX,
 * SMB2 READ, matched to its request by MID / MessageId) to the client.
 * Each file and direction is one transaction, open from its first data to
 * the file's CLOSE (or the end of the flow, which truncates it). Its data
 * is put together by offset: in-order bytes go to the file; bytes past the
 * end so far wait (at most SMB_MAX_OOO bytes per flow, then the file has a
 * gap) until what comes before them arrived. Data that starts before the
 * end of what the file already has is an overlap (Suricata's file_overlap:
 * the offset is below what was tracked in order): it raises file_overlap
 * and is dropped, so the file keeps what came first. At most SMB_MAX_FILES
 * files are open per flow; data for more counts too_many_files and is
 * skipped. file.data is the file's bytes kept so far, up to the body limit
 * of its direction (app_limits.request_body_limit for writes,
 * response_body_limit for reads; 0: SMB_FILE_KEEP_MAX).
 *
 * A direction is APP_PROG_BODY while its file grows and APP_PROG_DONE once
 * the file closed; the other direction of the transaction follows, so
 * that rules of either direction see the transaction (as Suricata's).
 *
 * Lost bytes (APP_IN_GAP): inside file data they become a gap of the file;
 * elsewhere the message in progress is skipped when its length is known,
 * else the direction looks for the next NBSS header followed by an SMB
 * header. Either way "gap" is counted.
 *
 * Events: Suricata's malformed_data, record_overflow, file_overlap,
 * request_to_client, response_to_server, write_queue_size_exceeded,
 * read_queue_size_exceeded; ours: memcap, too_many_files, gap.
 */
#ifndef LW_SMB_H
#define LW_SMB_H

#include <stddef.h>
#include <stdint.h>

#include "app-file.h"
#include "app-layer.h"
#include "app-util.h"

#define SMB_MSG_BUFFER    (64u * 1024 + 512)   /* bytes of an NBSS message buffered */
#define SMB_MAX_FILES     64u                  /* files open per flow */
#define SMB_MAX_NAMES     64u                  /* FID / FileId -> name kept per flow */
#define SMB_MAX_PENDING   32u                  /* CREATE and READ requests awaiting their response */
#define SMB_MAX_OOO       (1u << 20)           /* bytes held out of order per flow */
#define SMB_NAME_MAX      1024u                /* bytes of a file name kept (UTF-8) */
#define SMB_FILE_KEEP_MAX (16u << 20)          /* file.data kept when the body limit is 0 */
#define SMB_MAX_ANDX      32u                  /* commands of one SMB1 AndX chain */
#define SMB_MAX_COMPOUND  64u                  /* commands of one SMB2 compound */

enum smb_event {
    SMB_EV_MALFORMED_DATA = 0,
    SMB_EV_RECORD_OVERFLOW,
    SMB_EV_FILE_OVERLAP,
    SMB_EV_REQUEST_TO_CLIENT,
    SMB_EV_RESPONSE_TO_SERVER,
    SMB_EV_WRITE_QUEUE_SIZE_EXCEEDED,
    SMB_EV_READ_QUEUE_SIZE_EXCEEDED,
    /* ours */
    SMB_EV_MEMCAP,
    SMB_EV_TOO_MANY_FILES,
    SMB_EV_GAP,
    SMB_EV_MAX
};

extern const char *const smb_event_names[SMB_EV_MAX];

/* A file's identity: an SMB1 FID (2 bytes), an SMB2 FileId (16), or
 * (9 bytes) the CREATE of a related compound whose FileId is not known yet. */
struct smb_key {
    uint8_t len;
    uint8_t b[16];
};

/* A chunk of a file that arrived ahead of the bytes before it. */
struct smb_chunk {
    struct smb_chunk *next;           /* by offset */
    uint64_t offset;
    uint32_t len;
    uint8_t  data[];
};

/* One file in one direction. */
struct smb_tx {
    struct app_tx tx;                 /* first */
    uint8_t  dir;                     /* enum app_dir the data goes: APP_TO_SERVER a write */
    uint8_t  version;                 /* 1: SMB1, 2: SMB2/3 */
    struct smb_key key;
    uint16_t command;                 /* the last command that carried its data */
    uint8_t  keep_full;               /* file.data stopped: limit, gap or memory */
    struct app_file file;             /* named by name (file.name_len bytes) */
    struct app_file_md md;            /* its digest contexts while it is open */
    char    *name;                    /* UTF-8, NUL-terminated, on app_mem; NULL: unknown */
    struct app_bytes data;            /* file.data: the in-order bytes kept */
    uint64_t tracked;                 /* the file offset in-order data reached */
    struct smb_chunk *ooo;            /* chunks past tracked, waiting */
    uint32_t ooo_bytes;
};

/* file.data of tx in direction dir: 1 with *p, *n when it has bytes. */
int smb_tx_file_data(const struct smb_tx *tx, enum app_dir dir, const uint8_t **p, uint32_t *n);
/* The file of tx in direction dir, NULL when its data goes the other way. */
const struct app_file *smb_tx_file(const struct smb_tx *tx, enum app_dir dir);

extern const struct app_parser app_parser_smb;

#endif
