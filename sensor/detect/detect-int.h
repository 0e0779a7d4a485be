/* detect-int.h - what the rule matcher (detect.c) and the engine builder
 * (detect-build.c) share: the compiled engine's layout, the per-thread
 * scratch and the per-flow state. Nothing outside sensor/detect includes it;
 * detect.h is the public contract.
 */
#ifndef LW_DETECT_INT_H
#define LW_DETECT_INT_H

#include <hs/hs.h>
#include <stddef.h>
#include <stdint.h>
#include "detect.h"
#include "rule-t.h"

struct pcre2_real_match_data_8;

/* A port set spanning more ports than this goes to the any-port group:
 * copying a rule into thousands of buckets would buy nothing. */
#define DETECT_SMALL_PORTSET 128
/* Content/pcre attempts per rule and buffer, so hostile payloads cannot make
 * backtracking over relative chains explode (Suricata's
 * inspection_recursion_limit plays the same role). */
#define DETECT_MATCH_BUDGET  3000
#define DETECT_NONE          UINT32_MAX
#define DETECT_NPORTS        65536u
/* A stream rule whose match may span any number of bytes: it sees all the
 * history the stream keeps (stream.inspect-window). */
#define DETECT_REACH_ANY     UINT32_MAX

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

/* Which DPI metadata a flow-level rule reads, so a flow is offered only
 * the rules its kind of metadata can satisfy. FK_NONE: no sticky buffer
 * (ndpi-protocol and the like), or buffers of several kinds. */
enum { FK_NONE = 0, FK_HTTP, FK_TLS, FK_DNS, FK_SSH, FK_COUNT };

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
    uint32_t      *flowl[FK_COUNT], nflowl[FK_COUNT]; /* flow-level rules by kind */
    uint32_t      *flowa[FK_COUNT], nflowa[FK_COUNT]; /* ... those without a sticky fast pattern */
    struct {
        uint32_t      *pat, npat;    /* pattern id -> rank, flow-level rules */
        hs_database_t *db;
    } sb[RULE_BUF_COUNT];            /* per sticky buffer ([0] unused) */
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
    uint8_t flow_level;
    uint8_t iponly;              /* decided by addresses and protocol alone */
    uint8_t kind;                /* FK_*, flow-level rules */
    uint8_t smode;               /* SM_* */
    uint8_t hist;                /* a stream rule whose match can start before its
                                  * fast pattern: remembered in struct dhist */
    uint32_t reach;              /* SM_STREAM/BOTH: longest span of a match, bytes */
};

struct detect_engine {
    uint64_t gen;                /* unique per compiled engine (addresses are reused) */
    struct rule_list *list;
    struct drule *rules;
    size_t n;
    struct dgroup *groups;
    size_t ngroups, capgroups;
    struct dclass cls[DC_COUNT];
    struct detect_engine_stats st;
};

struct detect_thread {
    const struct detect_engine *e;
    hs_scratch_t *scratch;
    struct pcre2_real_match_data_8 *md;
    uint64_t *cand;              /* candidate ranks, a bit each: sorted and deduplicated for free */
    uint64_t *scand;             /* ... to try on the stream */
    size_t nwords, lo, hi;       /* words [lo, hi) of either may hold bits */
    int prefilter;
    uint32_t found[DETECT_FOUND_MAX];  /* hist rules whose pattern is in this chunk */
    uint32_t nfound;             /* may pass DETECT_FOUND_MAX: some were not kept */
    detect_geo_fn geo;           /* geoip: the worker's lookup, NULL: geoip never matches */
    void *geo_arg;
    struct lw_slab *slab;        /* per-flow state from here; NULL: malloc */
};

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

/* What detect hangs on f->detect. */
struct detect_flow {
    uint8_t flow_rules_done;     /* flow-level rules ran for this flow */
    struct dhist *hist;          /* [2], TCP flows with stream data */
};


/* The next entry of buffer buf in r's match list at or after i, -1 none. */
static inline int next_sm(const struct rule *r, int i, uint8_t buf)
{
    for (; i >= 0 && (uint32_t)i < r->nsm; i++)
        if (r->sm[i].buf == buf)
            return i;
    return -1;
}

static inline int sm_negated(const struct rule_sm *sm)
{
    if (sm->type == RULE_SM_CONTENT)
        return (sm->u.c.flags & RULE_CT_NEGATED) != 0;
    return (sm->u.p.flags & RULE_PCRE_NEGATED) != 0;
}

/* Whether a pcre can only match at its start position (^ without m, \A,
 * the A flag). */
int detect_pcre_anchored(const struct rule_pcre *pc);

/* Which kind of DPI metadata (FK_*) sticky buffer b comes from. */
uint8_t detect_buffer_kind(int b);

#endif
