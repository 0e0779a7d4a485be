/* detect-transform.h - the transforms of a rule's view (dotprefix,
 * to_lowercase, ..., to_sha256), applied to a buffer before its matches. */
#ifndef LW_DETECT_TRANSFORM_H
#define LW_DETECT_TRANSFORM_H

#include <stdint.h>
#include "rule-t.h"

struct pcre2_real_match_data_8;

/* A buffer transforms are applied past is cut to this many bytes. */
#define DETECT_XFORM_MAX (1u << 20)

/* Two growing work buffers a chain of transforms alternates between (one
 * per detection thread). */
struct detect_xbuf {
    uint8_t *b[2];
    uint32_t cap[2];
};

/* Applies v's transforms in order to in[0, len); *out points at the result
 * (in itself when v has none), valid until the next call with xb. md is
 * match data for pcrexform. Returns 0, or -1 when out of memory. */
int detect_transform(struct detect_xbuf *xb, const struct rule_view *v, const uint8_t *in, uint32_t len,
                     struct pcre2_real_match_data_8 *md, const uint8_t **out, uint32_t *outlen);

void detect_xbuf_free(struct detect_xbuf *xb);

/* Decodes base64 in[0, len) into out (room for len * 3 / 4 + 3 bytes),
 * Suricata's relaxed way: characters outside the alphabet are skipped,
 * decoding stops at the first '='. Returns the decoded length. */
uint32_t detect_base64_decode(const uint8_t *in, uint32_t len, uint8_t *out);

#endif
