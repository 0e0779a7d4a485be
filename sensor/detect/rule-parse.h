/* rule-parse.h - the Suricata rule language subset: parse rule text into
 * struct rule.
 *
 * Every refused rule gets one reason. An unknown or unsupported keyword is
 * always "keyword 'x' is not supported"; the loader (rule-load.h) prefixes
 * "file:line: ". Address and port expressions (rule-vars.h) resolve
 * $VARIABLES from the config's vars and compile to sorted range sets.
 *
 * This header also includes the rule language's other parts (variables,
 * classification, loading files), so that one include gives a caller the
 * whole of it.
 */
#ifndef LW_RULE_PARSE_H
#define LW_RULE_PARSE_H

#include <stdio.h>
#include "rule-buffers.h"
#include "rule-class.h"
#include "rule-t.h"
#include "rule-vars.h"

struct lw_config;

/* What a rule is parsed against. cfg (address-groups, port-groups) may be
 * NULL: every $VAR is then unknown. classes may be NULL: classtype names
 * are then not checked and rule->cls stays NULL. */
struct rule_parse_env {
    const struct lw_config     *cfg;
    const struct rule_classes  *classes;
    const char                 *file;    /* the rule's file (filemd5 lists are found
                                          * beside it); NULL: none */
};

/* ------------------------------------------------------------------ rules */

/* Parses one complete rule (no trailing backslashes, no comment). On
 * success *out is a new rule the caller frees with rule_free() and 0 is
 * returned; on error -1 with err filled and *out NULL. */
int  rule_parse(const char *text, const struct rule_parse_env *env,
                struct rule **out, struct rule_error *err);
void rule_free(struct rule *r);

const char *rule_action_name(enum rule_action a);

/* Prints every keyword the parser accepts, with what it means and one
 * example, as the rows of a Markdown table (linkwatch -T --list-keywords;
 * rules/README.md holds the same table): the keyword table, then the
 * sticky buffers and the legacy content modifiers of the buffer table. */
void rule_keywords_print(FILE *out);

static inline int rule_tcpflags_match(const struct rule_tcpflags *f, uint8_t pkt)
{
    uint8_t v = (uint8_t)(pkt & ~f->ignore);

    if (!f->set)
        return 1;
    switch (f->mode) {
    case RULE_FLAGS_PLUS: return (v & f->flags) == f->flags;
    case RULE_FLAGS_ANY:  return (v & f->flags) != 0;
    case RULE_FLAGS_NOT:  return (v & f->flags) != f->flags;
    default:              return v == f->flags;
    }
}

#endif
