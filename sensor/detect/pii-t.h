/* pii-t.h - personal-data types and counters, apart from the scanner's
 * code (pii.h), so the summaries (geo-summary.h), the Redis tallies and
 * the alert writer can embed the counters without including the scanner.
 *
 * Only counts are kept anywhere: never the matched values, so no log,
 * summary or tally built from these can become the leak it reports.
 */
#ifndef LW_PII_T_H
#define LW_PII_T_H

#include <stdint.h>

/* The detectors, in the order their counts are written. */
enum pii_type {
    PII_CN_ID = 0,           /* "cn-id": 18-character resident identity number */
    PII_BANK_CARD,           /* "bank-card": payment card number (Luhn, issuer prefix) */
    PII_CN_MOBILE,           /* "cn-mobile": mainland mobile number */
    PII_EMAIL,               /* "email" */
    PII_PASSPORT_CN,         /* "passport-cn": E or G and 8 digits */
    PII_TYPE_COUNT
};

/* Type masks (struct pii_opts.types, struct pii_keyword.types). */
#define PII_T_CN_ID        (1u << PII_CN_ID)
#define PII_T_BANK_CARD    (1u << PII_BANK_CARD)
#define PII_T_CN_MOBILE    (1u << PII_CN_MOBILE)
#define PII_T_EMAIL        (1u << PII_EMAIL)
#define PII_T_PASSPORT_CN  (1u << PII_PASSPORT_CN)
#define PII_T_ALL          ((1u << PII_TYPE_COUNT) - 1u)
/* The types found in digit runs (the rest is email). */
#define PII_T_NUMBERS      (PII_T_CN_ID | PII_T_BANK_CARD | PII_T_CN_MOBILE | PII_T_PASSPORT_CN)

/* Validated occurrences of each type in one buffer or one body. */
struct pii_counts {
    uint64_t n[PII_TYPE_COUNT];
};

/* A summary's counters: one per (scope, country) row of a geo summary,
 * per Redis bucket, ... Zero-initialised; pii_tally_add() adds one scanned
 * body (a transaction's direction), pii_tally_merge() another tally. */
struct pii_tally {
    uint64_t n[PII_TYPE_COUNT];  /* occurrences of each type */
    uint64_t bodies;             /* scanned bodies with at least one occurrence */
};

#endif
