/* rule-paths.h - checking the rule paths before the first load.
 *
 * A rule file named with -S or in rules.files that cannot be read stops
 * linkwatch with the file's name and the reason, instead of running with
 * fewer rules than the operator asked for (a typo in -S used to run with
 * none). Only a pattern of the default rules.files that matches nothing,
 * as on a machine with no rules installed, is a warning.
 */
#ifndef LW_RULE_PATHS_H
#define LW_RULE_PATHS_H

#include <stddef.h>

#include "config.h"

/* Checks that each of the n paths gives something to load: a file that
 * opens for reading, a folder whose *.rules files do, or a glob pattern
 * whose matches do. A pattern or folder that matches nothing is an error
 * too, unless may_be_empty (then the loader's warning says so). Returns 0,
 * or -1 with "rule file PATH: reason" in err. */
int rule_paths_check(const char *const *paths, size_t n, int may_be_empty, char *err, size_t errlen);

/* 1 when cfg's rules.files is the built-in default (the shipped
 * configuration's), 0 when the configuration or --set changed it. */
int rule_files_default(const struct lw_config *cfg);

#endif
