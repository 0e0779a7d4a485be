/* rule-class.h - classification.config: "config classification:
 * name,description,priority" lines, the table classtype refers to. */
#ifndef LW_RULE_CLASS_H
#define LW_RULE_CLASS_H

#include "rule-t.h"

/* Loads "config classification: name,description,priority" lines. Returns
 * the table (free with rule_classes_free()) or NULL with err filled
 * ("file:line: reason" in err->msg). */
struct rule_classes *rule_classes_load(const char *path, struct rule_error *err);
void rule_classes_free(struct rule_classes *c);
const struct rule_class *rule_classes_find(const struct rule_classes *c, const char *name);

#endif
