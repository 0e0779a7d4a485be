/* fuzz_pii.c - libFuzzer target: the personal-data scanner and the `pii`
 * keyword (sensor/detect/pii.c).
 *
 * Input: [types][seed][text]. The text up to its first '\n' is also parsed
 * as a keyword value; the whole text is the body. Beyond memory errors,
 * the run aborts when the scanner disagrees with itself:
 *   - the body scanned whole, in pieces (sizes from seed, so a number,
 *     an escape or a 64-byte block is cut anywhere) and byte by byte must
 *     count the same;
 *   - each type of the mask must count the same scanned alone and with
 *     every other type;
 *   - no more items than bytes;
 *   - a parsed keyword must match the body exactly when its evaluation of
 *     the counts does;
 *   - the counts' JSON must be well-formed.
 */
#include <stdlib.h>

#include "fuzz-common.h"
#include "json.h"
#include "pii.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void scan_pieces(const uint8_t *b, size_t n, const struct pii_opts *o, uint32_t seed, int gap_at,
                        struct pii_counts *out)
{
    struct pii_stream s;
    size_t k = 0;

    pii_stream_init(&s, o);
    while (k < n) {
        size_t piece;

        seed = seed * 1103515245u + 12345u;
        piece = 1 + (seed >> 16) % (seed & 0x100u ? 200u : 7u);
        if (piece > n - k)
            piece = n - k;
        if (gap_at >= 0 && k == (size_t)gap_at)
            pii_stream_gap(&s);
        pii_stream_feed(&s, b + k, piece);
        k += piece;
    }
    pii_stream_end(&s);
    *out = s.counts;
}

static void check_keyword(const uint8_t *text, size_t n, const uint8_t *body, size_t blen, uint32_t today,
                          const struct pii_counts *all)
{
    struct pii_keyword kw;
    struct pii_counts c;
    char val[256], err[128];
    size_t len = 0;

    while (len < n && len < sizeof val - 1 && text[len] != '\n')
        len++;
    memcpy(val, text, len);
    val[len] = '\0';
    if (pii_keyword_parse(val, &kw, err, sizeof err) < 0) {
        if (strncmp(err, "pii: ", 5) != 0)
            abort();
        return;
    }
    if (kw.types == 0 || (kw.types & ~PII_T_ALL))
        abort();
    if (pii_keyword_match(&kw, body, blen, today, &c) != pii_keyword_eval(&kw, all))
        abort();
}

static void check_json(const struct pii_counts *c, uint32_t types)
{
    struct pii_tally t = { { 0 }, 0 };
    struct jbuf j;

    pii_tally_add(&t, c);
    jbuf_init(&j);
    jbuf_open_object(&j, NULL);
    pii_counts_json(&j, "pii", c, types);
    pii_tally_json(&j, "tally", &t);
    jbuf_close_object(&j);
    if (jbuf_ok(&j) && !fuzz_json_ok(j.buf, j.len))
        abort();
    jbuf_free(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pii_opts all, one;
    struct pii_counts whole, c;
    uint64_t sum = 0;
    uint32_t seed;

    if (size < 2)
        return 0;
    all.types = PII_T_ALL;
    all.today = data[0] & 0x80u ? 0 : 20240601u;
    one = all;
    one.types = data[0] & PII_T_ALL ? data[0] & PII_T_ALL : PII_T_ALL;
    seed = data[1];
    data += 2;
    size -= 2;

    pii_scan(data, size, &all, &whole);
    for (int t = 0; t < PII_TYPE_COUNT; t++)
        sum += whole.n[t];
    if (sum > size)
        abort();
    scan_pieces(data, size, &all, seed, -1, &c);
    if (memcmp(&c, &whole, sizeof c) != 0)
        abort();
    if (size <= 4096) {
        struct pii_stream s;

        pii_stream_init(&s, &all);
        for (size_t i = 0; i < size; i++)
            pii_stream_feed(&s, data + i, 1);
        pii_stream_end(&s);
        if (memcmp(&s.counts, &whole, sizeof whole) != 0)
            abort();
    }
    pii_scan(data, size, &one, &c);
    for (int t = 0; t < PII_TYPE_COUNT; t++)
        if (c.n[t] != (one.types & (1u << t) ? whole.n[t] : 0))
            abort();
    /* a gap halfway: what is cut is dropped; no oracle beyond the sanitizers */
    scan_pieces(data, size, &all, seed, (int)(size / 2), &c);
    check_keyword(data, size, data, size, all.today, &whole);
    check_json(&whole, one.types);
    return 0;
}
