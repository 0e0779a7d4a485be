/* ruletest.h - rule-engine helpers shared by the unit tests. */
#ifndef LW_RULETEST_H
#define LW_RULETEST_H

#include <stdint.h>
#include "detect.h"
#include "dpi.h"

/* An engine over the given rule texts (NULL-terminated), parsed without
 * variables or classification; fails the running cmocka test on any
 * parse or compile error, and when the engine finds a rule it can never
 * reach (detect_engine_check(); rules waiting for an application-layer
 * parser are allowed). */
struct detect_engine *ruletest_engine(const char *const *texts);

/* A final DPI result of the given protocol names with room after it for
 * one of each metadata block (point r->http etc. at r + 1). Free with
 * free(). */
struct dpi_result *ruletest_dpi(const char *protocol, const char *app_proto);

/* A packet from 10.0.0.1:40000 to 192.0.2.1:80 of protocol proto carrying
 * payload[0, len), TTL 64, TCP flags ACK|PSH. */
void ruletest_packet(struct packet *p, uint8_t proto, const uint8_t *payload, uint32_t len);

/* The flow of ruletest_packet()'s packets, established, DPI result r (may
 * be NULL); p is its first packet, from the initiator. */
void ruletest_flow(struct flow *f, struct packet *p, struct dpi_result *r);

/* A small linear congruential generator for the random equivalence
 * tests: the next 24-bit number of *state. */
uint32_t ruletest_rand(uint32_t *state);

/* The alerts of detect_tx() (ruletest_tx_alert as its callback): each
 * one counted, the sids of the first RULETEST_ALERTS kept. */
#define RULETEST_ALERTS 16
struct ruletest_alerts {
    size_t n;
    uint32_t sid[RULETEST_ALERTS];
};
void ruletest_tx_alert(void *arg, const struct rule *r, const struct packet *p, struct flow *f,
                       const struct app_tx *tx);
/* How many of the kept alerts are of rule sid. */
size_t ruletest_count(const struct ruletest_alerts *a, uint32_t sid);

#endif
