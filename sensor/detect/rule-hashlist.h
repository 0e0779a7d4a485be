/* rule-hashlist.h - the digest lists of filemd5, filesha1 and filesha256
 * (struct rule_hashlist in rule-t.h): read from a file as Suricata reads
 * them, and looked up by the matcher.
 *
 * The file has a digest per line in hex, either case: a line's leading run
 * of hex digits is the digest and must be exactly two digits per byte;
 * whatever follows the run (",comment", blanks) is ignored, and a line that
 * does not start with a hex digit (empty, a comment) is skipped.
 */
#ifndef LW_RULE_HASHLIST_H
#define LW_RULE_HASHLIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "rule-t.h"

/* Reads the digests of len bytes (16, 20 or 32) from f into h (sorted,
 * duplicates dropped; h->negated is left as it is). shown names the file
 * in messages. Returns 0, or -1 with a one-line reason in err ("shown:LINE:
 * ...") and h empty. */
int rule_hashlist_read(struct rule_hashlist *h, FILE *f, const char *shown, uint8_t len, char *err,
                       size_t errlen);

/* Whether digest d (h->len bytes) is in h. */
int rule_hashlist_has(const struct rule_hashlist *h, const uint8_t *d);

void rule_hashlist_free(struct rule_hashlist *h);

#endif
