/* ruletest.h - rule-engine helpers shared by the unit tests. */
#ifndef LW_RULETEST_H
#define LW_RULETEST_H

#include "detect.h"

/* An engine over the given rule texts (NULL-terminated), parsed without
 * variables or classification; fails the running cmocka test on any
 * parse or compile error. */
struct detect_engine *ruletest_engine(const char *const *texts);

#endif
