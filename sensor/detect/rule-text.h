/* rule-text.h - small text helpers shared by the rule language's files
 * (rule options, rule files, classification.config, threshold.config). */
#ifndef LW_RULE_TEXT_H
#define LW_RULE_TEXT_H

#include <stdint.h>

/* Strips blanks (and a trailing CR/LF) around s, in place; returns the
 * first non-blank character. */
char *rule_trim(char *s);

/* Makes room for element n of the array *v of *cap elements of size
 * bytes, doubling it (from 4) when full. 0, or -1 when out of memory (*v
 * unchanged). */
int rule_grow(void **v, uint32_t *cap, uint32_t n, size_t size);

#endif
