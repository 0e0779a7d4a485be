/* rule-vars.h - address and port expressions of rule headers ($VARIABLES,
 * lists, negation, ranges) compiled into sorted range sets, and matching
 * an address or a port against them. */
#ifndef LW_RULE_VARS_H
#define LW_RULE_VARS_H

#include "packet-t.h"
#include "rule-t.h"

struct lw_config;

#define RULE_VAR_MAX_DEPTH      16      /* $A -> $B -> ...; also stops cycles */

/* Parses a header address ("any", "10.0.0.0/8", "1.2.3.4-1.2.3.9",
 * "[a,![b,c]]", "!$HOME_NET", ...) resolving variables from cfg's
 * address-groups. On success fills *out (free with rule_addrset_free())
 * and returns 0; on error -1 with err filled and *out empty. A set that
 * matches nothing is an error. */
int  rule_addrset_parse(struct rule_addrset *out, const char *expr,
                        const struct lw_config *cfg, struct rule_error *err);
/* The same for ports ("any", "80", "1024:", ":1023", "[80,!8080:8090]",
 * "$HTTP_PORTS") with cfg's port-groups. */
int  rule_portset_parse(struct rule_portset *out, const char *expr,
                        const struct lw_config *cfg, struct rule_error *err);
void rule_addrset_free(struct rule_addrset *s);
void rule_portset_free(struct rule_portset *s);

/* 1 when a (family 4 or 6) is in s, else 0. */
int rule_addr_match(const struct rule_addrset *s, const struct lw_addr *a);
int rule_port_match(const struct rule_portset *s, uint16_t port);

#endif
