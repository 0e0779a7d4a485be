/* rule-load.h - rule files: loading every rule of a set of files, globs
 * and folders, and the report of what did not load and why (linkwatch -T,
 * reload replies). */
#ifndef LW_RULE_LOAD_H
#define LW_RULE_LOAD_H

#include <stdio.h>
#include "rule-t.h"

struct lw_config;

#define RULE_MAX_TEXT           (64u << 10)  /* longest rule, continuations joined */
#define RULE_REPORT_MAX_ERRORS  1000    /* error lines kept; all are counted */

struct rule_reason {
    char  *text;                   /* rule_error.agg */
    size_t count;
};

struct rule_load_report {
    size_t files;                  /* rule files read */
    size_t loaded;                 /* rules kept */
    size_t failed;                 /* rules refused (parse errors, duplicate sids) */
    size_t skipped;                /* rules whose requires: this sensor does not meet */
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

#endif
