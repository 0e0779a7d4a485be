/* detect-tx.c - the flow-level rules on application-layer transactions
 * (detect_tx(), detect.h): which rules a transaction's direction is due,
 * run through the matcher of detect.c; the memory of the rules that
 * matched each transaction is per-flow state (detect-state.c). */
#include <stdlib.h>
#include <string.h>

#include "app-layer.h"
#include "detect-app.h"
#include "detect-int.h"
#include "dpi.h"
#include "rule-buffers.h"

/* ---------------------------------------------------------------- running */

struct txrun {
    const struct detect_engine *e;
    struct detect_thread *t;
    struct threshold_ctx *th;
    const struct packet *p;
    struct flow *f;
    const struct dpi_result *dr;
    struct app_tx *tx;
    unsigned proto;
    int kind;
    struct detect_sink sink;
    int end;                     /* the flow ends: the last look */
};

/* The groups of f's ports, both ways (flow-level rules match in either
 * orientation), and the class's any-port group. Returns how many. */
static int tx_groups(const struct detect_engine *e, const struct flow *f, const struct dgroup **g)
{
    const struct dclass *c = &e->cls[detect_class_of(f->key.proto)];
    int ng = 0;

    if (f->key.proto == 6 || f->key.proto == 17 || f->key.proto == 132) {
        detect_add_group(e, c->dmap, f->key.dport, g, &ng);
        detect_add_group(e, c->smap, f->key.sport, g, &ng);
        detect_add_group(e, c->dmap, f->key.sport, g, &ng);
        detect_add_group(e, c->smap, f->key.dport, g, &ng);
    }
    g[ng++] = &e->groups[c->any];
    return ng;
}

/* Whether candidate d is due on direction dir of the transaction: a rule
 * of the transaction's kind, of that direction, that has not matched it
 * (that way, for a rule on buffers each side has); on a later look only a
 * rule that reads what grows. */
static int tx_due(const struct txrun *x, const struct detect_flow *df, const struct drule *d, uint8_t dir,
                  int first)
{
    uint8_t rd = d->r->dir;

    if (!d->flow_level || (d->kind != x->kind && !(d->kind == FK_FILE && detect_kind_has_files(x->kind))) ||
        (!first && !d->late))
        return 0;
    if ((rd == RULE_DIR_TOSERVER && dir != 0) || (rd == RULE_DIR_TOCLIENT && dir != 1))
        return 0;
    /* A pii count on a body is the whole body's: the rule waits for the
     * direction to be done (or the flow to end), so that its alert says
     * what the body held, not what had arrived when the count was reached. */
    if (d->r->pii_types && d->late && x->tx->progress[dir] != APP_PROG_DONE && !x->end)
        return 0;
    /* A body rule waits for the body's minimal inspect size or its end. */
    if (d->body && !x->end &&
        (((d->body & DETECT_BODY_TS) && detect_body_waits(x->proto, x->tx, 0)) ||
         ((d->body & DETECT_BODY_TC) && detect_body_waits(x->proto, x->tx, 1)) ||
         ((d->body & DETECT_BODY_DIR) && detect_body_waits(x->proto, x->tx, dir))))
        return 0;
    return !detect_tx_matched(df, x->tx->id, detect_rule_key(d), detect_tx_slot(d, dir));
}

/* Direction dir of the transaction: its due rules, candidates first.
 * Returns 1 when a pass rule matched (nothing more for this transaction). */
static int tx_run_dir(struct txrun *x, uint8_t dir, int first)
{
    struct detect_thread *t = x->t;
    const struct detect_src src = { NULL, x->f, x->tx, dir, (uint8_t)x->proto };
    const struct dgroup *g[5];
    int ng = tx_groups(x->e, x->f, g);
    struct packet view;

    t->th = x->th;
    for (int i = 0; i < ng; i++) {
        detect_add_flow_rules(t, g[i], &src, x->kind, dir, !first);
        if (detect_kind_has_files(x->kind))
            detect_add_flow_rules(t, g[i], &src, FK_FILE, dir, !first);
    }
    detect_packet_view(&view, x->p, dir);
    for (size_t w = t->lo; w < t->hi; w++) {
        uint64_t bits = t->cand[w];

        t->cand[w] = t->scand[w] = 0;
        while (bits) {
            uint32_t rank = (uint32_t)(w << 6) + (uint32_t)__builtin_ctzll(bits);
            const struct drule *d = &x->e->rules[rank];
            struct detect_flow *df = detect_flow_state(t, x->f);

            bits &= bits - 1;
            if (df == NULL || !tx_due(x, df, d, dir, first) ||
                !detect_match_rule(t, d, &view, x->f, x->dr, x->tx, x->proto))
                continue;
            detect_tx_matched_add(t, x->f, x->tx->id, detect_rule_key(d), detect_tx_slot(d, dir));
            if (detect_matched(t, x->th, d, &view, x->f, &x->sink)) {
                detect_cand_clear(t);
                return 1;
            }
        }
    }
    t->lo = t->nwords;
    t->hi = 0;
    return 0;
}

void detect_tx(const struct detect_engine *e, struct detect_thread *t, struct threshold_ctx *th,
               const struct packet *p, struct flow *f, unsigned proto, struct app_tx *tx,
               detect_tx_alert_fn on_alert, void *arg)
{
    struct txrun x = { e, t, th, p, f, dpi_flow_result(f), tx, proto, detect_tx_kind_of(proto),
                       { NULL, on_alert, arg, tx }, p == NULL };
    struct detect_flow *df;
    struct packet fp;

    if (x.kind == FK_NONE || !e->st.flow_level || (df = detect_flow_state(t, f)) == NULL || df->bypass)
        return;
    df->tx_kind = (uint8_t)x.kind;
    if (p == NULL) {
        detect_flow_packet(&fp, f);
        x.p = &fp;
    }
    detect_thread_time(t, x.p->ts);
    t->tx_end = x.end;
    for (uint8_t dir = 0; dir < 2; dir++) {
        uint32_t stamp = detect_app_stamp((enum app_proto)proto, tx, dir);
        int first = tx->detect_progress[dir] == 0;

        /* Nothing new: skipped, but for the flow's end on a direction not
         * done, whose waiting rules (pii on a body) get their last look. */
        if (stamp == 0 || (stamp == tx->detect_progress[dir] && !(x.end && tx->progress[dir] != APP_PROG_DONE)))
            continue;
        /* Only the body grew, and it is still too short to inspect: no
         * rule can be due that was not due before. */
        if (!first && !x.end && detect_app_stamp_body_only(stamp, tx->detect_progress[dir]) &&
            detect_body_waits((enum app_proto)proto, tx, dir)) {
            tx->detect_progress[dir] = stamp;
            continue;
        }
        tx->detect_progress[dir] = stamp;
        if (tx_run_dir(&x, dir, first) || df->bypass)
            break;
        detect_body_looked((enum app_proto)proto, tx, dir);
    }
    if (tx->progress[0] == APP_PROG_DONE && tx->progress[1] == APP_PROG_DONE) {
        detect_tx_matched_forget(df, tx->id);
        detect_body_forget(df, tx->id);
    }
}
