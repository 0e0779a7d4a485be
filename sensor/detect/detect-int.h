/* detect-int.h - what the files of the detection engine share: the
 * compiled engine's layout, the per-thread scratch and the per-flow state.
 * Nothing outside sensor/detect includes it; detect.h is the public
 * contract.
 *
 * detect-build.c    orders and classifies rules, builds groups and databases
 * detect.c          runs an engine on a packet: candidates, then rules
 * detect-tx.c       runs the flow-level rules on an application-layer transaction
 * detect-match.c    runs one view of a rule over one buffer (content, pcre,
 *                   isdataat, byte_*, base64)
 * detect-state.c    flowbits, flowint, xbits, stream_size, events, bypass
 * detect-transform.c, detect-buffer.c, detect-ndpi.c, detect-app.c  (their headers)
 */
#ifndef LW_DETECT_INT_H
#define LW_DETECT_INT_H

#include <hs/hs.h>
#include <stddef.h>
#include <stdint.h>
#include "detect-buffer.h"
#include "detect-transform.h"
#include "detect.h"
#include "pii.h"
#include "rule-t.h"

struct dpi_result;
struct pcre2_real_match_data_8;
struct threshold_ctx;

/* A port set spanning more ports than this goes to the any-port group:
 * copying a rule into thousands of buckets would buy nothing. */
#define DETECT_SMALL_PORTSET 128
/* Match attempts per rule and buffer, so hostile payloads cannot make
 * backtracking over relative chains explode (Suricata's
 * inspection_recursion_limit plays the same role). */
#define DETECT_MATCH_BUDGET  3000
#define DETECT_NONE          UINT32_MAX
#define DETECT_NPORTS        65536u
/* A stream rule whose match may span any number of bytes: it sees all the
 * history the stream keeps (stream.inspect-window). */
#define DETECT_REACH_ANY     UINT32_MAX
/* Instances of a multi-buffer (each DNS query, each certificate) looked at. */
#define DETECT_MAX_INSTANCES 64
/* Zeroed bytes after a pcre's copied subject (PCRE2's JIT reads a SIMD
 * word past the end). */
#define DETECT_PCRE_SLACK    16
/* Bytes base64_decode decodes at most. */
#define DETECT_B64_MAX       (64u << 10)
/* Flowbits and flowints a flow holds at most (memory bound); more are
 * dropped and counted. */
#define DETECT_FLOW_MAX_BITS 64
#define DETECT_FLOW_MAX_INTS 32

/* Candidate sets: rules to try on the packet's payload, on the stream. */
#define CAND_PKT             1u
#define CAND_STREAM          2u
/* Stream rules remembered per flow direction because their fast pattern
 * went into the history (struct dhist), and found per packet. */
#define DETECT_HIST_MAX      8
#define DETECT_FOUND_MAX     32

enum { DC_TCP = 0, DC_UDP, DC_ICMP, DC_OTHER, DC_COUNT };

/* What a payload rule inspects on a TCP packet of a reassembled flow
 * (rules/README.md, "Stream reassembly"). Elsewhere every rule sees the
 * packet. */
enum {
    SM_PACKET = 0,   /* the packet's payload only */
    SM_STREAM,       /* the reassembled stream only */
    SM_BOTH,         /* both: its positions are anchored to a buffer start */
};

/* Which application metadata a flow-level rule reads, so a flow is offered
 * only the rules its kind of metadata can satisfy. FK_NONE: no sticky
 * buffer (ndpi-protocol and the like), or buffers of several kinds.
 * FK_FILE: only file keywords (file.data, filesize, filemd5, ...) on a
 * rule whose header names no application: they run on the transactions
 * of every parser that carries files (HTTP, SMB, ftp-data). */
enum { FK_NONE = 0, FK_HTTP, FK_TLS, FK_DNS, FK_SSH, FK_SMB, FK_FTP, FK_FTPDATA, FK_FILE, FK_COUNT };

/* A sticky buffer as the prefilter sees it: a buffer and the transforms
 * the rules whose fast pattern is in it apply (one per distinct chain). */
struct dvkey {
    uint8_t buf;
    uint8_t late_fp;               /* a late rule has its fast pattern here, though the buffer
                                    * itself is not late: scanned on later looks too */
    const struct rule_view *rep;   /* a view with this buffer and chain */
};

/* IP-only rules indexed by address (detect-iponly.c): per family, by the
 * source ([0]) or destination ([1]) ranges of each rule's narrower side;
 * the rules with two broad sides in broad4/broad6. */
struct diponly {
    uint32_t *broad4, nbroad4, *broad6, nbroad6;
    struct diponly_e4 *v4[2];
    struct diponly_e6 *v6[2];
    uint32_t n4[2], n6[2];
};

/* The flow-level rules of one group whose fast pattern is in one vkey. */
struct dsticky {
    uint32_t *pat, npat;           /* pattern id -> rank */
    uint32_t maxlen;               /* the longest pattern */
    uint8_t eager;                 /* a rule that does not wait for a body has its pattern here */
    hs_database_t *db;
};

/* The rules that may apply to one (class, port) bucket, split by how they
 * become candidates. All lists hold ranks (indices in engine->rules) in
 * ascending order, except pat[], indexed by Hyperscan pattern id. */
struct dgroup {
    uint64_t       hash;         /* of all[], to share equal buckets */
    uint32_t      *all, nall;    /* every rank of the bucket */
    uint32_t      *pkt, npkt;    /* packet rules: always + prefiltered */
    uint32_t      *always, nalways;
    uint32_t      *salways, nsalways; /* ... those that also inspect the stream */
    uint32_t       sreach;       /* largest reach of its stream rules, 0 none */
    uint32_t       maxfp;        /* longest fast pattern of its stream rules */
    uint32_t      *iponly, niponly;  /* IP-only rules: first packet each way of a flow */
    struct diponly ipx;          /* ... indexed by address */
    uint32_t      *flowl[FK_COUNT], nflowl[FK_COUNT]; /* flow-level rules by kind */
    uint32_t      *flowa[FK_COUNT], nflowa[FK_COUNT]; /* ... those without a sticky fast pattern */
    struct dsticky *sb;          /* [engine nvkeys] */
    uint32_t      *pat, npat;    /* pattern id -> rank */
    hs_database_t *db;
};

struct dclass {
    uint32_t any;                /* group index of the any-port group */
    uint32_t *dmap, *smap;       /* port -> group index or DETECT_NONE; NULL: none */
};

struct drule {
    const struct rule *r;
    int32_t fp;                  /* sm index of the fast pattern (payload for packet
                                  * rules, a sticky buffer for flow-level ones), -1 none */
    uint16_t fpkey;              /* flow-level rules: the dvkey of the fast pattern */
    int16_t pview;               /* view of the payload, -1 none */
    uint8_t flow_level;
    uint8_t bothdirs;            /* flow-level on buffers each side has: matched each way */
    uint8_t iponly;              /* decided by addresses and protocol alone */
    uint8_t kind;                /* FK_*, flow-level rules */
    uint8_t smode;               /* SM_* */
    uint8_t late;                /* flow-level: reads what grows after the headers (bodies,
                                  * certificates, hassh): run again as a transaction grows */
    uint8_t hist;                /* a stream rule whose match can start before its
                                  * fast pattern: remembered in struct dhist */
    uint8_t body;                /* DETECT_BODY_*: the bodies a flow-level rule reads */
    uint32_t reach;              /* SM_STREAM/BOTH: longest span of a match, bytes */
};

/* The side (0 request, 1 response) of the HTTP body buffer b seen in
 * direction dir (file.data is the body of the direction), -1 when b is
 * no body. */
static inline int detect_body_side(unsigned b, uint8_t dir)
{
    switch (b) {
    case RULE_BUF_HTTP_REQUEST_BODY:  return 0;
    case RULE_BUF_HTTP_RESPONSE_BODY: return 1;
    case RULE_BUF_FILE_DATA:          return dir & 1;
    default:                          return -1;
    }
}

/* struct drule.body */
#define DETECT_BODY_TS  0x01u        /* http.request_body */
#define DETECT_BODY_TC  0x02u        /* http.response_body */
#define DETECT_BODY_DIR 0x04u        /* file.data: the body of the direction inspected */

struct detect_engine {
    uint64_t gen;                /* unique per compiled engine (addresses are reused) */
    struct rule_list *list;
    struct drule *rules;
    size_t n;
    struct dgroup *groups;
    size_t ngroups, capgroups;
    struct dclass cls[DC_COUNT];
    struct dvkey *vkeys;
    size_t nvkeys;
    uint32_t *held;              /* ranks of the pkthdr and decode-event rules: also run
                                  * on packets the decoder held or refused that carry events */
    size_t nheld;
    struct detect_engine_stats st;
};

struct detect_thread {
    const struct detect_engine *e;
    struct threshold_ctx *th;    /* of the packet being run (xbits live there) */
    hs_scratch_t *scratch;
    struct pcre2_real_match_data_8 *md;
    uint64_t *cand;              /* candidate ranks, a bit each: sorted and deduplicated for free */
    uint64_t *scand;             /* ... to try on the stream */
    size_t nwords, lo, hi;       /* words [lo, hi) of either may hold bits */
    int prefilter;
    int tx_end;                  /* detect_tx() on the flow's end: bodies are as long as they get */
    uint32_t found[DETECT_FOUND_MAX];  /* hist rules whose pattern is in this chunk */
    uint32_t nfound;             /* may pass DETECT_FOUND_MAX: some were not kept */
    detect_geo_fn geo;           /* geoip: the worker's lookup, NULL: geoip never matches */
    void *geo_arg;
    struct detect_xbuf xb;       /* transform work buffers */
    struct detect_xbuf pxb;      /* ... for the prefilter's scans */
    uint8_t *b64;                /* base64_decode's output, DETECT_B64_MAX bytes */
    uint8_t *pad;                /* a transaction's buffer copied for a pcre, with slack */
    size_t padcap;
    uint64_t dropped_bits;       /* flowbits/flowints not kept (DETECT_FLOW_MAX_*) */
    struct lw_slab *slab;        /* per-flow state from here; NULL: malloc */
    /* pii keyword: the day of the packet being run (birth dates after it do
     * not count), and the counts of the last view a pii entry matched in,
     * kept while that view matched (the alert's "pii" object). */
    uint64_t pii_day;            /* Unix day of pii_today */
    uint32_t pii_today;          /* YYYYMMDD, 0 before the first packet */
    struct pii_counts pii_try;   /* of the view being matched */
    struct pii_counts pii;       /* of the last view that matched with a pii entry */
};

/* The packet's time (capture time, microseconds) for the pii keyword. */
static inline void detect_thread_time(struct detect_thread *t, uint64_t ts_usec)
{
    uint64_t day = ts_usec / 86400000000u;

    if (day != t->pii_day || t->pii_today == 0) {
        t->pii_day = day;
        t->pii_today = pii_date_from_unix((int64_t)(day * 86400u));
    }
}

/* Stream rules of one flow direction whose fast pattern went into the
 * history, so that the history need not be scanned again on every packet:
 * a rule stays a candidate while new data starts at or before `until'
 * (after that its window cannot reach the pattern). While new data starts
 * before rescan_until the history is scanned all the same: more rules were
 * found than kept, or the list was not kept by this engine. */
struct dhist {
    uint64_t gen;                /* the ranks are those of the engine of this gen */
    uint64_t rescan_until;
    uint32_t n;
    uint32_t rank[DETECT_HIST_MAX];
    uint64_t until[DETECT_HIST_MAX];
};

/* A growing body (file.data, http.request_body, http.response_body) is
 * prefiltered as it grows: a transaction direction's body scanned up to
 * `scanned' in one sticky database (vkey, group) is scanned again only
 * from there (less the longest pattern but one), and the rules whose
 * patterns the part before held stay candidates, from rank[]. A body whose
 * part before held more than DETECT_BODY_RANKS is scanned whole each time
 * (full), as is one with no entry (evicted, or none yet): correct, only
 * slower. Entries are let go with their transaction (or the oldest first). */
#define DETECT_BODY_RANKS 256
#define DETECT_BODY_MAX   8
struct dbody {
    uint64_t gen;                /* of the engine whose ranks these are; 0: unused */
    uint64_t tx_id;
    uint32_t scanned;
    uint16_t vkey, group;
    uint8_t  dir, full, proto;   /* proto: enum app_proto */
    uint16_t n, cap;
    uint32_t *rank;              /* [cap], malloc'd; kept when the entry is reused */
};

struct dflowint {
    uint64_t name;
    uint32_t value;
};

/* A rule that matched a transaction (in one direction, for a rule on
 * buffers each side has): it is not run on it (that way) again. The rule
 * is known by gid:sid, which a reload keeps (its rank in the engine does
 * not), so a reload neither repeats an alert on a transaction nor
 * silences another rule on it. */
struct dtxmatch {
    uint64_t tx_id;
    uint64_t rule;               /* detect_rule_key() */
    uint8_t  slot;               /* a direction, or DETECT_TX_ANYDIR */
};

/* Transactions' matches a flow remembers at most (the oldest are let go). */
#define DETECT_TX_MATCH_MAX  1024

/* What detect hangs on the flow (f->detect): bookkeeping and the flow's rule
 * state. Flowbits and flowints are kept by name hash, so they survive a
 * reload. */
struct detect_flow {
    uint8_t flow_rules_done;     /* flow-level rules ran for this flow */
    uint8_t bypass;              /* a bypass rule matched: no more inspection */
    uint8_t tx_kind;             /* FK_* whose rules run on the flow's transactions, FK_NONE none yet */
    uint8_t nbits, nints;
    uint32_t ntxm, captxm;       /* txm: rules that matched transactions */
    struct dtxmatch *txm;
    struct dhist *hist;          /* [2], TCP flows with stream data */
    struct dbody *body;          /* [DETECT_BODY_MAX], flows with bodies */
    uint64_t *bits;              /* set flowbits, DETECT_FLOW_MAX_BITS room */
    struct dflowint *ints;       /* flowints, DETECT_FLOW_MAX_INTS room */
};

/* ------------------------------------------------------------------ helpers */

/* The next entry of view `view' in r's match list at or after i, -1 none. */
static inline int next_sm(const struct rule *r, int i, int view)
{
    for (; i >= 0 && (uint32_t)i < r->nsm; i++)
        if (r->sm[i].view == view)
            return i;
    return -1;
}

static inline int sm_negated(const struct rule_sm *sm)
{
    if (sm->type == RULE_SM_CONTENT)
        return (sm->u.c.flags & RULE_CT_NEGATED) != 0;
    if (sm->type == RULE_SM_PCRE)
        return (sm->u.p.flags & RULE_PCRE_NEGATED) != 0;
    return 0;
}

/* The view of r on buffer b (without transforms: the payload, base64_data
 * have none), -1 when r has none. */
static inline int view_of(const struct rule *r, unsigned b)
{
    for (uint32_t i = 0; i < r->nviews; i++)
        if (r->views[i].buf == b)
            return (int)i;
    return -1;
}

/* Whether a pcre can only match at its start position (^ without m, \A,
 * the A flag). */
int detect_pcre_anchored(const struct rule_pcre *pc);

/* Whether the position entry sm reads depends on the previous match
 * (relative content, pcre /R, relative isdataat/byte_ and base64_decode). */
int detect_sm_relative(const struct rule_sm *sm);

/* Which kind of application metadata (FK_*) sticky buffer b comes from. */
uint8_t detect_buffer_kind(int b);
/* Whether rules of kind k (FK_*) may read buffer b: its own kind's, and
 * the file buffers for every kind that carries files. */
int detect_buffer_in_kind(int b, int k);
/* Whether the transactions of kind k carry files (HTTP, SMB, ftp-data). */
int detect_kind_has_files(int k);

/* Which kind of buffers (FK_*) keep changing after a transaction's headers
 * (bodies, certificates, hassh): rules on them run again as it grows. */
int detect_buffer_late(int b);

/* ------------------------------------------------------------------ running (detect.c) */

/* Where a match goes: fn, or with a transaction tx_fn (tx the one matched). */
struct detect_sink {
    detect_alert_fn fn;
    detect_tx_alert_fn tx_fn;
    void *arg;
    const struct app_tx *tx;
};

/* Marks rank in the candidate sets given (CAND_*). */
static inline void detect_cand_add(struct detect_thread *t, uint32_t rank, unsigned sets)
{
    size_t w = rank >> 6;
    uint64_t bit = 1ull << (rank & 63);

    if (sets & CAND_PKT)
        t->cand[w] |= bit;
    if (sets & CAND_STREAM)
        t->scand[w] |= bit;
    if (w < t->lo)
        t->lo = w;
    if (w + 1 > t->hi)
        t->hi = w + 1;
}

void detect_cand_clear(struct detect_thread *t);
void detect_add_list(struct detect_thread *t, const uint32_t *v, uint32_t n, unsigned sets);
int detect_class_of(uint8_t proto);
/* Adds the group of port in map (DETECT_NONE: none) to g[*ng]. */
void detect_add_group(const struct detect_engine *e, const uint32_t *map, uint16_t port,
                      const struct dgroup **g, int *ng);

/* Flow-level candidates of kind k from group g: those without a sticky
 * fast pattern, and those whose pattern is in src's buffers (the flow's
 * summary, or src->tx): one-sided buffers on their side, buffers each side
 * has in direction dir (-1: both). late_only: only the buffers that grow
 * after the headers (detect_buffer_late()). A rule whose buffers span
 * kinds cannot match (one kind of metadata per flow), so FK_NONE scans
 * nothing. */
void detect_add_flow_rules(struct detect_thread *t, const struct dgroup *g, const struct detect_src *src,
                           int k, int dir, int late_only);

/* The whole rule on packet p: on transaction tx of protocol proto (enum
 * app_proto), or with tx NULL on the flow's summary, in orientation
 * p->dir. 1 on a match. */
int detect_match_rule(struct detect_thread *t, const struct drule *d, const struct packet *p,
                      struct flow *f, const struct dpi_result *dr, const struct app_tx *tx, unsigned proto);

/* A copy of p as seen from direction dir of its flow. */
void detect_packet_view(struct packet *v, const struct packet *p, uint8_t dir);

/* A packet made from f's key (no payload, ts = f->last_ts), for rules run
 * at flow end. */
void detect_flow_packet(struct packet *p, struct flow *f);

/* A rule matched packet ap (a view of the packet for flow-level rules):
 * its state changes, then the alert to k unless noalert or a threshold
 * says otherwise. Returns 1 when the rule is a pass rule (nothing after it
 * runs for this packet). */
int detect_matched(struct detect_thread *t, struct threshold_ctx *th, const struct drule *d,
                   const struct packet *ap, struct flow *f, const struct detect_sink *k);

/* ------------------------------------------------------------------ transactions' matches (detect-state.c) */

/* The kind of flow-level rules (FK_*) a parser's transactions carry
 * (proto: enum app_proto), FK_NONE for none. */
int detect_tx_kind_of(unsigned proto);

/* The kind of flow-level rules (FK_*) f's transactions carry: those of its
 * parser, once it has one; the flow's summary then runs none of them. */
int detect_tx_kind(const struct flow *f);

/* A rule's identity in the transactions' matches: gid:sid. */
static inline uint64_t detect_rule_key(const struct drule *d)
{
    return (uint64_t)d->r->gid << 32 | d->r->sid;
}

/* Whether rule (detect_rule_key()) matched transaction tx_id in slot (detect_tx_slot()). */
int detect_tx_matched(const struct detect_flow *df, uint64_t tx_id, uint64_t rule, uint8_t slot);

/* A transaction done both ways is not inspected again: its matches go. */
void detect_tx_matched_forget(struct detect_flow *df, uint64_t tx_id);
/* ... and its bodies' prefilter memory (struct dbody). */
void detect_body_forget(struct detect_flow *df, uint64_t tx_id);

/* Where a flow-level rule's match on a transaction is kept: per direction
 * for a rule on buffers each side has (it alerts once each way), else one
 * slot for the transaction (DETECT_TX_ANYDIR). */
#define DETECT_TX_ANYDIR 2
static inline uint8_t detect_tx_slot(const struct drule *d, uint8_t dir)
{
    return d->bothdirs ? dir : DETECT_TX_ANYDIR;
}

/* Notes that rule (detect_rule_key()) matched transaction tx_id of f in
 * slot (a direction, or DETECT_TX_ANYDIR: detect_tx_slot()). */
void detect_tx_matched_add(struct detect_thread *t, struct flow *f, uint64_t tx_id, uint64_t rule, uint8_t slot);

/* ------------------------------------------------------------------ matching (detect-match.c) */

/* The matches of view `view' of r over d[0, len): positions are indices
 * into d, origin is where the buffer starts in those terms (0, or minus
 * the stream offset of d[0] for a window of the stream, so offset, depth
 * and absolute byte keywords count from the stream's start). vars holds
 * the rule's byte_extract / byte_math variables across its views. An
 * empty buffer never matches. Returns 1 on a match. */
int detect_match_view(struct detect_thread *t, const struct rule *r, int view,
                      const uint8_t *d, uint32_t len, int64_t origin, uint64_t *vars);

/* View `view' of r on sticky buffer instances from src (detect-buffer.h):
 * each instance in turn (one, or several for a multi-buffer), transformed,
 * its bsize checked, its matches run. Returns 1 when an instance matches. */
int detect_inspect_view(struct detect_thread *t, const struct rule *r, int view,
                        const struct detect_src *src, uint64_t *vars);

/* ------------------------------------------------------------------ IP-only index (detect-iponly.c) */

/* Indexes the IP-only rules ranks[0, n) of e. 0, or -1 when out of
 * memory (diponly_free() cleans up either way). */
int diponly_build(struct diponly *ix, const struct detect_engine *e, const uint32_t *ranks, uint32_t n);
/* Calls add(arg, rank) for each IP-only rule whose addresses may match p
 * (a rank may come twice; every rule that matches p comes). */
void diponly_candidates(const struct diponly *ix, const struct packet *p, void (*add)(void *, uint32_t),
                        void *arg);
void diponly_free(struct diponly *ix);

/* ------------------------------------------------------------------ state (detect-state.c) */

/* Zeroed per-flow state, from the worker's slab when it gave one (free
 * with lw_slab_release()). */
void *detect_flow_new(const struct detect_thread *t, size_t n);
/* The flow's detect state, made on first use (NULL without memory). */
struct detect_flow *detect_flow_state(const struct detect_thread *t, struct flow *f);

/* r's state tests (flowbits, flowint, xbits isset/isnotset, stream_size,
 * events) on p of flow f (may be NULL). 1 when they all hold. */
int detect_state_match(struct detect_thread *t, const struct rule *r, const struct packet *p,
                       struct flow *f, const struct detect_src *src);

/* r's flowint keywords in order, as Suricata runs them once the rest of
 * the rule matched: a change (=, +, -) is made, a test stops the rule
 * when it fails (changes before it stay). 1 when all tests held. */
int detect_flowint_run(struct detect_thread *t, const struct rule *r, struct flow *f);

/* r matched p: its flowbits and xbits changes, and bypass. */
void detect_state_apply(struct detect_thread *t, const struct rule *r, const struct packet *p,
                        struct flow *f);

/* Header keywords a packet carries (tos, id, fragbits, fragoffset, ipopts,
 * seq, ack, window, icmp_id, icmp_seq, icmpv6.mtu). 1 when they all hold. */
int detect_header_match(const struct rule *r, const struct packet *p);

#endif
