/* rule-parse.h - the Suricata rule language subset: parse rule text into
 * struct rule, load rule files, report what did not load and why.
 *
 * Every refused rule gets one reason. An unknown or unsupported keyword is
 * always "keyword 'x' is not supported"; the loader prefixes "file:line: ".
 * Address and port expressions (rule-vars.c) resolve $VARIABLES from the
 * config's vars and compile to sorted range sets.
 */
#ifndef LW_RULE_PARSE_H
#define LW_RULE_PARSE_H

#include <stdio.h>
#include "rule-t.h"

struct lw_config;

#define RULE_ERR_LEN            512
#define RULE_VAR_MAX_DEPTH      16      /* $A -> $B -> ...; also stops cycles */
#define RULE_MAX_TEXT           (64u << 10)  /* longest rule, continuations joined */
#define RULE_REPORT_MAX_ERRORS  1000    /* error lines kept; all are counted */

/* One refusal: msg is the full reason, agg the same reason without the
 * values that differ from rule to rule ("bad pcre"), for the report's
 * reason counts. Neither carries file:line. */
struct rule_error {
    char msg[RULE_ERR_LEN];
    char agg[RULE_ERR_LEN];
};

/* What a rule is parsed against. cfg (address-groups, port-groups) may be
 * NULL: every $VAR is then unknown. classes may be NULL: classtype names
 * are then not checked and rule->cls stays NULL. */
struct rule_parse_env {
    const struct lw_config     *cfg;
    const struct rule_classes  *classes;
};

/* ------------------------------------------------------------------ rules */

/* Parses one complete rule (no trailing backslashes, no comment). On
 * success *out is a new rule the caller frees with rule_free() and 0 is
 * returned; on error -1 with err filled and *out NULL. */
int  rule_parse(const char *text, const struct rule_parse_env *env,
                struct rule **out, struct rule_error *err);
void rule_free(struct rule *r);

/* "payload", "dns.query", "tls.sni", ... (Suricata's names). */
const char *rule_buffer_name(enum rule_buffer b);
const char *rule_action_name(enum rule_action a);

static inline int rule_cmp_match(const struct rule_cmp *c, uint32_t v)
{
    switch (c->op) {
    case RULE_CMP_EQ:    return v == c->a;
    case RULE_CMP_NE:    return v != c->a;
    case RULE_CMP_LT:    return v < c->a;
    case RULE_CMP_LE:    return v <= c->a;
    case RULE_CMP_GT:    return v > c->a;
    case RULE_CMP_GE:    return v >= c->a;
    case RULE_CMP_RANGE: return v > c->a && v < c->b;
    default:             return 1;
    }
}

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

/* ------------------------------------------------------------------ addresses and ports (rule-vars.c) */

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

/* ------------------------------------------------------------------ classification.config */

/* Loads "config classification: name,description,priority" lines. Returns
 * the table (free with rule_classes_free()) or NULL with err filled
 * ("file:line: reason" in err->msg). */
struct rule_classes *rule_classes_load(const char *path, struct rule_error *err);
void rule_classes_free(struct rule_classes *c);
const struct rule_class *rule_classes_find(const struct rule_classes *c, const char *name);

/* ------------------------------------------------------------------ loading files */

struct rule_reason {
    char  *text;                   /* rule_error.agg */
    size_t count;
};

struct rule_load_report {
    size_t files;                  /* rule files read */
    size_t loaded;                 /* rules kept */
    size_t failed;                 /* rules refused (parse errors, duplicate sids) */
    size_t errors;                 /* failed + file and classification errors */
    char **lines;                  /* the first RULE_REPORT_MAX_ERRORS errors, "file:line: reason" */
    size_t nlines;
    struct rule_reason *reasons;   /* refused rules per reason, most frequent first */
    size_t nreasons;
    uint64_t usec;                 /* time spent loading */
};

/* Loads every rule of every file named by paths (glob(3) patterns; a
 * directory means every *.rules file in it). Relative paths are used as given: the
 * caller resolves them against the config's folder. Rules are parsed with
 * cfg's variables and the classification at classification_path (NULL:
 * none); a classification that cannot be read is reported and loading
 * goes on without it. Refused rules, duplicate sids (gid:sid; the first
 * one is kept) and unreadable files are counted and listed in *rep, which
 * the caller frees with rule_load_report_free(). Returns the rules (free
 * with rule_list_free()), or NULL only when out of memory. */
struct rule_list *ruleset_load_files(const char *const *paths, size_t n,
                                     const struct lw_config *cfg,
                                     const char *classification_path,
                                     struct rule_load_report *rep);
void rule_list_free(struct rule_list *l);
void rule_load_report_free(struct rule_load_report *rep);

/* Prints the report as linkwatch -T shows it: every kept error line, a
 * "rules: N loaded, M failed" count, and the top most frequent reasons. */
void rule_load_report_print(const struct rule_load_report *rep, FILE *out, size_t top);

/* linkwatch -T: loads, prints the report to out, frees everything.
 * Returns 0 when there was no error at all, 1 otherwise (2 when out of
 * memory). */
int ruleset_check(const char *const *paths, size_t n, const struct lw_config *cfg,
                  const char *classification_path, FILE *out);

#endif
