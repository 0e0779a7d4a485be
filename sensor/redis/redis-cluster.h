/* redis-cluster.h - commands routed over one Redis server or a Redis
 * Cluster, pipelined per node, on hiredis 0.14 (which speaks to one node).
 *
 * A client (struct rcl) is either a single node (redis.server: host and
 * port, or a unix socket) or a cluster reached through seed nodes
 * ("host:port"). The caller hands a batch of commands to rcl_exec() and
 * gets one result per command, in its own order, whatever the nodes:
 *
 * - Routing: each command's keys are found by a table of commands
 *   (rcl_cmd_keys()); their slot is CRC16 (XMODEM) of the key's hash tag,
 *   modulo 16384 (the Redis Cluster specification). A command whose keys
 *   are not all in one slot, or that the table does not know, is refused
 *   before anything is sent, with an error naming the keys (also on a
 *   single node: the layout must stay cluster-shaped). MULTI/EXEC and
 *   blocking reads are refused: use a script. SCAN goes to the node of
 *   its MATCH pattern's hash tag, which must be literal ("p:{tag}:*").
 * - Pipelining: each round writes every node's commands at once (one write
 *   per node), then reads the replies back in order: a batch costs one
 *   round trip per node when nothing is redirected.
 * - The slot map comes from CLUSTER SHARDS (Redis 7), else CLUSTER SLOTS,
 *   read at the first rcl_exec(), after MOVED, CLUSTERDOWN and a lost node.
 * - MOVED: the slot is pointed at the new owner, the map is read again and
 *   the command resent. ASK: ASKING and the command go to the target, the
 *   map unchanged. TRYAGAIN, CLUSTERDOWN and an unreachable node: resent
 *   after a doubling wait, at most max_retries times. EVALSHA answered
 *   NOSCRIPT is resent after SCRIPT LOAD of a script given to rcl_script().
 * - Order: on a cluster, two commands of one batch whose first keys are
 *   equal are never in flight together; the second is sent once the first
 *   is answered, and not at all when the first fails. So per key, what was
 *   applied is always a prefix of the caller's sequence (the alert and
 *   tally scripts drop what is not above the last sequence or flush id,
 *   so a later command applied before an earlier one would lose the
 *   earlier). On one node a pipeline keeps that order by itself.
 *
 * The process must ignore SIGPIPE (hiredis 0.14 writes with write(), so a
 * write to a node that died would raise it); the sensor and the console do.
 *
 * Threads: a client belongs to one thread. Its counters (struct
 * rcl_stats) are updated with STATS_ADD() and may be read from any thread.
 */
#ifndef LW_REDIS_CLUSTER_H
#define LW_REDIS_CLUSTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "stats.h"

#define RCL_SLOTS 16384
#define RCL_MAX_NODES 512       /* nodes one client knows (masters and replicas) */
#define RCL_MAX_SEEDS 32

struct rcl;

struct rcl_config {
    /* Cluster: nseeds > 0 seed nodes "host:port" ("[v6]:port"). Else the
     * single node server (host, or a unix socket path starting with '/')
     * and port. */
    const char *const *seeds;
    size_t nseeds;
    const char *server;
    int port;
    const char *user, *pass;    /* AUTH [user] pass on every node; "" or NULL: none */
    int db;                     /* SELECT on a single node; must be 0 on a cluster */
    struct timeval tv_connect, tv_cmd;
    unsigned max_redirects;     /* MOVED/ASK per command (0: 5) */
    unsigned max_retries;       /* TRYAGAIN, CLUSTERDOWN, node unreachable (0: 5) */
    uint64_t retry_usec;        /* first wait, doubling (0: 100 ms) */
    uint64_t retry_max_usec;    /* longest wait (0: 1 s) */
    int wait_replicas;          /* > 0: WAIT for that many replicas after each node's
                                 * part, at most as many as its master has online */
    int wait_msec;              /* WAIT's timeout (0: 100) */
};

/* What the client did, cumulative. nodes and masters are gauges. */
struct rcl_stats {
    uint64_t nodes;             /* nodes in the slot map (1 on a single node) */
    uint64_t masters;           /* nodes that own slots */
    uint64_t map_refreshes;     /* slot maps read */
    uint64_t moved, ask;        /* redirects followed, by kind */
    uint64_t redirects;         /* moved + ask */
    uint64_t tryagain, clusterdown;
    uint64_t failovers;         /* slots seen moving to a node that was a replica */
    uint64_t node_failures;     /* connections refused or lost */
    uint64_t script_loads;      /* SCRIPT LOAD after NOSCRIPT */
    uint64_t round_trips;       /* one node's part of a round written and answered */
    uint64_t commands;          /* commands written (resends included) */
    uint64_t refused;           /* commands refused before sending (cross-slot, unknown) */
    uint64_t failed;            /* commands reported not applied or in doubt */
    uint64_t unreplicated;      /* commands answered but WAIT saw too few replicas */
};

extern const struct stats_module rcl_stats_module;

/* One command: argc arguments, argvlen NULL when they are C strings. */
struct rcl_cmd {
    int argc;
    const char *const *argv;
    const size_t *argvlen;
};

enum rcl_status {
    RCL_OK = 0,                 /* answered: reply is Redis's (an error reply too) */
    RCL_NOT_SENT,               /* not applied: given up before or after sending
                                 * (redirects, retries, node down, an earlier
                                 * command on the same key failed) */
    RCL_IN_DOUBT,               /* sent, no answer: may have been applied */
    RCL_REFUSED,                /* never sent: keys in several slots, or unknown command */
};

struct rcl_result {
    redisReply *reply;          /* always set: Redis's reply, or an error reply
                                 * made here saying why (owned by the caller:
                                 * rcl_results_free()) */
    uint8_t status;             /* enum rcl_status */
    uint8_t unreplicated;       /* RCL_OK, but WAIT saw fewer replicas than asked */
};

/* Checks the configuration and copies it. Connects nothing yet. Returns
 * NULL with err set on a bad seed, SELECT asked on a cluster, or out of
 * memory. */
struct rcl *rcl_open(const struct rcl_config *cfg, char *err, size_t errlen);
void rcl_close(struct rcl *c);
/* Connects now (a single node, or the seeds and the slot map), so that
 * start-up can report a wrong address or password. Returns 0, or -1 with
 * err set. rcl_exec() connects by itself when needed. */
int rcl_connect(struct rcl *c, char *err, size_t errlen);
/* Whether it is a cluster client. */
int rcl_is_cluster(const struct rcl *c);

/* Remembers a Lua script so that EVALSHA answered NOSCRIPT is resent after
 * SCRIPT LOAD on that node; writes its SHA1 (40 hex digits and NUL) to
 * sha. The body is copied. Returns 0, or -1 out of memory. */
int rcl_script(struct rcl *c, const char *body, char sha[41]);

/* Sends cmds[0..n) and fills res[0..n) (see enum rcl_status): pipelined,
 * routed, redirected and retried as the header says. Returns how many are
 * RCL_OK (their replies may still be error replies). */
size_t rcl_exec(struct rcl *c, const struct rcl_cmd *cmds, size_t n, struct rcl_result *res);
/* Frees the replies of res[0..n). */
void rcl_results_free(struct rcl_result *res, size_t n);

/* The client's counters. */
const struct rcl_stats *rcl_stats(const struct rcl *c);
/* The last connection or map error, "" when none. */
const char *rcl_errstr(const struct rcl *c);

/* ---- the parts, for the tests */

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0) of buf[0..len). */
uint16_t rcl_crc16(const char *buf, size_t len);
/* The slot of a key: CRC16 of the text between the first '{' and the
 * next '}' when that is not empty, else of the whole key; mod 16384. */
unsigned rcl_key_slot(const char *key, size_t len);

/* The keys of a command: their argument positions in idx[0..max), by the
 * command table. Returns how many (0 for a command without keys), or -1
 * for a command the table does not know or refuses (MULTI, blocking
 * reads), or a malformed one (numkeys out of range). */
int rcl_cmd_keys(int argc, const char *const *argv, const size_t *argvlen, int *idx, int max);

/* A redirect error reply: "MOVED <slot> <host>:<port>" or "ASK ...".
 * Returns 1 (MOVED) or 2 (ASK) with slot, host and port set; 0 when it is
 * no redirect or malformed. */
int rcl_parse_redirect(const char *s, size_t len, unsigned *slot, char *host, size_t hostlen, int *port);
/* "host:port", "[v6]:port" or "v6:port" (the last colon). Returns 0 or -1. */
int rcl_parse_hostport(const char *s, size_t len, char *host, size_t hostlen, int *port);

/* A slot map read from a reply, before it is applied to a client. */
struct rcl_map_node {
    char host[128];
    int port;
    char id[48];                /* node id ("" when the reply has none) */
    int master;                 /* 1 master, 0 replica */
    int replicas;               /* a master: its replicas online (SHARDS health
                                 * "online"; SLOTS lists no failed ones) */
};
struct rcl_map {
    struct rcl_map_node *nodes;
    size_t nnodes, cnodes;
    uint16_t owner[RCL_SLOTS];  /* index into nodes; RCL_NONE when unassigned */
};
#define RCL_NONE 0xffffu

/* Parses a CLUSTER SHARDS reply (RESP2: each shard a flat array of
 * "slots" [start, end, ...] and "nodes" [flat maps of id, ip, endpoint,
 * port, role, health]) into m (zeroed by the caller, freed with
 * rcl_map_free()). The owner of a shard's slots is its master whose health
 * is "online", else its first master. asked is the host of the node that
 * answered, for an empty or "?" endpoint. Returns 0, or -1 malformed. */
int rcl_map_from_shards(struct rcl_map *m, const redisReply *r, const char *asked);
/* The same for a CLUSTER SLOTS reply: [start, end, [host, port, id], replicas...]. */
int rcl_map_from_slots(struct rcl_map *m, const redisReply *r, const char *asked);
void rcl_map_free(struct rcl_map *m);

#endif
