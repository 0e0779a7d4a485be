/* pii.h - personal-data detectors: count validated identity numbers, card
 * numbers, mobile numbers, email addresses and passport numbers in a
 * buffer, in one pass, without allocating; the `pii` rule keyword; the
 * JSON of counts for alerts and summaries.
 *
 * Only counts leave this module. Nothing here keeps, returns or writes a
 * matched value.
 *
 * ---- How bytes are read (one pass, bounded work per byte) ----
 *
 * A streaming decoder sits in front of the detectors, in the same pass:
 *   - URL encoding: %XX (either case) is the byte XX; a '%' not followed by
 *     two hex digits is itself. One level only: "%2540" is "%40", not '@'.
 *   - JSON string escapes: \n \r \t \b \f are a line break (a boundary,
 *     never a separator), \" \\ \/ are the character, \uXXXX is the
 *     character when below 0x80 and a non-ASCII placeholder otherwise.
 *     Another character after '\' leaves the '\' as it is.
 *   - A decoded character is never decoded again ("%5Cn" is '\' 'n').
 * A literal '+' (a space in form bodies) separates digit groups like a
 * space does. So form, JSON, CSV, multipart and plain-text bodies are read
 * the same way, whatever their Content-Type; HTML entities, base64 and
 * full-width digits are not decoded (compressed bodies are the
 * application layer's to inflate).
 *
 * ---- What counts (on the decoded characters) ----
 *
 * Digits. A group is a maximal run of ASCII digits. Groups joined by
 * exactly one separator (' ', '-' or '+') form a token. A group does not
 * belong to a token when it follows a letter, '@', a '.' after a digit (a
 * decimal fraction) or lies in an email's domain: such a group counts only
 * as a passport number (below). A token or group counts only when the
 * character after its last digit is not a letter, not '@' and not a '.'
 * followed by a digit (so "13800138000.5" and "13800138000abc" do not
 * count); an identity number's final 'X'/'x' must likewise be followed by
 * such a boundary. Digits inside a longer run never count, and a number
 * written with separators counts only when the whole token is that number:
 * "6222 0212 3456 7890" is a card, "123 138 0013 8000" is nothing. A token
 * that is no number as a whole counts its groups that are each a number
 * on their own ("13800138000 13900139000" is two mobile numbers). A token
 * counts as one type at most, first of: cn-id, bank-card, cn-mobile.
 *
 *   cn-id        17 digits and a check character (digit, 'X' or 'x') per
 *                GB 11643-1999 (ISO 7064 MOD 11-2); written as one group
 *                or 6-8-4 ("110101 19900307 123X"). The first two digits
 *                are a province code (11-15 21-23 31-37 41-46 50-54 61-65
 *                71 81 82 83); digits 7-14 are a real calendar date
 *                YYYYMMDD (Gregorian leap years), from 19000101 to the
 *                reference date (pii_opts.today) included.
 *   bank-card    Luhn-valid, as one group or in groups of four with a last
 *                group of 1-3 (4-6-5 for American Express), with an issuer
 *                prefix and length of:
 *                  UnionPay 62, 81 (16-19 digits); Visa 4 (16-19);
 *                  Mastercard 51-55, 2221-2720 (16); American Express 34,
 *                  37 (15); JCB 3528-3589 (16-19); Discover 6011, 644-649,
 *                  65 (16-19); Maestro 5018 5020 5038 5893 6304 6759
 *                  6761-6763 (16-19); Mir 2200-2204 (16-19).
 *                American Express counts although it has 15 digits: it is
 *                a card network like the others, and 15 digits are taken
 *                only with its two prefixes and the 4-6-5 layout. Diners
 *                Club's 14-digit numbers and cards shorter than 16 digits
 *                of the other networks do not count.
 *   cn-mobile    11 digits 1[3-9]XXXXXXXXX, as one group or 3-4-4, with an
 *                optional country code before it: 86 or 0086, as a group
 *                of its own or run together with the number ("+86 138
 *                0013 8000", "0086-13800138000", "8613800138000"; the '+'
 *                is a boundary like any other).
 *   passport-cn  'E', 'G' (or 'e', 'g') directly followed by a group of
 *                exactly 8 digits, the letter not preceded by a letter or
 *                digit ("E12345678"). The newer format with a second letter
 *                (EA1234567) is not counted.
 *   email        local@domain: the character before '@' is one of
 *                [A-Za-z0-9_+-] (so the local part is at least one
 *                character and does not end in '.'); the domain is two or
 *                more labels of [A-Za-z0-9-] (1-63 characters, not
 *                beginning or ending with '-', 253 in all) separated by
 *                single dots; the last label (the TLD) is two or more
 *                letters, or "xn--" and more, and not a common file
 *                extension (so "icon@2x.png" is not an address). The domain
 *                ends at the first other character, or at a '.' not
 *                followed by a label; an address whose domain is followed
 *                by '@' does not count. Quoted local parts, IP-literal and
 *                UTF-8 domains are not recognised.
 *
 * Counting is independent of the type mask: a type counts the same
 * whether it is scanned alone or with the others; the mask only saves
 * work (email alone skips every digit, numbers alone skip validation of
 * the others).
 *
 * ---- Speed ----
 *
 * While no candidate is open, bytes are classified 64 at a time (SSE2)
 * and passed over unless they are '%', '\', '@' or the first digit of a
 * run that may count: 8 digits or more, or followed by a separator or an
 * escape (a shorter run followed by anything else can be nothing, and
 * passing over it leaves the same context). With email alone, digits are
 * passed over too. A run that stands alone is decided in place; the rest
 * goes through the machines one character at a time, with bounded work
 * per byte (at most 6 decoded characters per input byte, one validation
 * of at most 19 digits per group and per token). tests/bench/bench_pii
 * measures it ("make bench").
 */
#ifndef LW_PII_H
#define LW_PII_H

#include <stddef.h>
#include <stdint.h>
#include "pii-t.h"
#include "rule-t.h"

struct jbuf;

/* What to look for. */
struct pii_opts {
    uint32_t types;          /* PII_T_* mask; 0: nothing is scanned */
    uint32_t today;          /* reference date YYYYMMDD (UTC) for cn-id birth dates: none
                              * after it counts; 0: no upper bound */
};

#define PII_NUM_MAX     19u  /* digits of the longest number (a 19-digit card) */
#define PII_MAX_GROUPS  5u   /* groups of the longest layout (4-4-4-4-3) */
#define PII_EXT_MAX     4u   /* label characters kept to tell "xn--" and file extensions */

/* The scanner's state across the pieces of one body. Plain data (120
 * bytes on x86-64, counts included): it may be embedded in a transaction,
 * copied, or reset by pii_stream_init(); it owns nothing. */
struct pii_stream {
    struct pii_opts   opts;
    struct pii_counts counts;        /* what has been counted so far */
    /* decoder */
    uint8_t  dst;                    /* decoder state */
    uint8_t  dlen;                   /* raw characters held in dbuf */
    uint8_t  dbuf[6];                /* "%X" or "\uXXX" not complete yet */
    uint8_t  prev, prev2;            /* the last two decoded characters */
    uint8_t  gap;                    /* bytes were lost right before the next character */
    /* digits */
    uint8_t  nst;                    /* number machine state */
    uint8_t  gflags;                 /* current group: in a token, passport candidate */
    uint8_t  glen, tlen;             /* digits in the group, in the token (capped at NUM_MAX + 1) */
    uint8_t  ngroups;                /* groups in the token (capped at MAX_GROUPS + 1) */
    uint8_t  single;                 /* a group counted on its own, held until the token ends (type + 1) */
    uint8_t  glens[PII_MAX_GROUPS];
    uint8_t  gdig[PII_NUM_MAX], tdig[PII_NUM_MAX];
    /* email domain */
    uint8_t  est;                    /* email machine state */
    uint8_t  elab;                   /* characters of the current label (capped) */
    uint8_t  eflags;                 /* current label: letters only, "xn--" seen, ends in '-' */
    uint8_t  enlab;                  /* labels finished (capped) */
    uint8_t  etld;                   /* the last finished label may end the domain */
    uint8_t  ext[PII_EXT_MAX];       /* first characters of the label, lower case */
    uint16_t elen;                   /* domain characters */
};

/* Counts the occurrences of opts->types in buf[0..len) (one whole body:
 * a number at the end of buf counts) into *out, which is overwritten. */
void pii_scan(const uint8_t *buf, size_t len, const struct pii_opts *opts, struct pii_counts *out);

/* A body in pieces: pii_stream_init(), then pii_stream_feed() per piece in
 * order, then pii_stream_end(). A number or address split between pieces
 * (two TCP segments, two body chunks, inside a %XX escape) counts once,
 * as if the body came whole. Counts accumulate in s->counts; each is final
 * once the character after the item has been fed, all of them after
 * pii_stream_end(). After pii_stream_end() the stream may be fed again as
 * a new body with the counts going on (pii_stream_init() zeroes them). */
void pii_stream_init(struct pii_stream *s, const struct pii_opts *opts);
void pii_stream_feed(struct pii_stream *s, const uint8_t *buf, size_t len);
/* Bytes were lost at this point (a gap in the stream): what is half seen
 * is dropped uncounted, and digits right after the gap do not count (they
 * may be the tail of a longer number); items complete before it stay. */
void pii_stream_gap(struct pii_stream *s);
void pii_stream_end(struct pii_stream *s);

/* "cn-id", "bank-card", ... for enum pii_type; NULL past the end. */
const char *pii_type_name(enum pii_type t);
/* The type named by s[0..n), or -1. */
int pii_type_lookup(const char *s, size_t n);
/* The UTC date YYYYMMDD of a Unix time (for pii_opts.today). */
uint32_t pii_date_from_unix(int64_t secs);

/* ------------------------------------------------------------------ the `pii` rule keyword */

/* pii: <type>[|<type>...][, count <op> N];
 * The count is the sum of the listed types' counts in the buffer; op is
 * one of > >= < <= = != and N a decimal from 0 to 4294967295. Without the
 * count clause the keyword means count >= 1. A type listed twice, and a
 * comparison no count can satisfy (< 0, > 4294967295), are errors. */
/* struct pii_keyword is in rule-t.h: a rule's match entries hold it. */

/* Parses the keyword's value (the text after "pii:", without the ';').
 * Returns 0 with *kw filled, or -1 with err (errlen bytes, may be 0) set to
 * a one-line reason and *kw unspecified. */
int pii_keyword_parse(const char *val, struct pii_keyword *kw, char *err, size_t errlen);
/* Whether counts already taken (e.g. the transaction's, with every type)
 * satisfy the keyword. */
int pii_keyword_eval(const struct pii_keyword *kw, const struct pii_counts *c);
/* Scans buf[0..len) for the keyword's types (today as in pii_opts) and
 * evaluates it; the counts go to *out when out is not NULL (for the
 * alert). Returns 1 on a match, 0 otherwise. */
int pii_keyword_match(const struct pii_keyword *kw, const uint8_t *buf, size_t len, uint32_t today,
                      struct pii_counts *out);

/* ------------------------------------------------------------------ output, summaries */

/* Writes "key": {"cn-id": 12, "bank-card": 0, ...} with the types of the
 * mask, in enum order, zeros included (the alert's "pii" object). Counts
 * only: there is no way to give this a matched value. */
void pii_counts_json(struct jbuf *j, const char *key, const struct pii_counts *c, uint32_t types);

/* Adds one scanned body's counts (bodies counts it when it had any). */
void pii_tally_add(struct pii_tally *t, const struct pii_counts *c);
/* Whether one body's counts hold anything (what makes it a body with
 * personal data). */
int pii_counts_any(const struct pii_counts *c);
/* Adds src into dst (two workers' rows, two intervals). */
void pii_tally_merge(struct pii_tally *dst, const struct pii_tally *src);
/* Whether anything was counted. */
int pii_tally_any(const struct pii_tally *t);
/* Writes "key": {"cn-id": .., "bank-card": .., "cn-mobile": .., "email":
 * .., "passport-cn": .., "bodies": ..}, every member always present (the
 * geo summary writes it only for rows where pii_tally_any()). */
void pii_tally_json(struct jbuf *j, const char *key, const struct pii_tally *t);

#endif
